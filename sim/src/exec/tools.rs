//! Dispatch of an argv to the emulated executable that would run it.

use super::image::basename;
use super::{ExecEnv, ExecOutput, Flavour, builtins, curl, nc, nslookup, shell, socat, tar, wget};
use crate::net::BoxFuture;

/// Runs the executable `argv[0]` (known to exist in the image) with `stdin`.
pub fn run_tool(
    env: &ExecEnv,
    flavour: Flavour,
    argv: Vec<String>,
    stdin: Vec<u8>,
) -> BoxFuture<'_, ExecOutput> {
    Box::pin(async move {
        let Some(cmd) = argv.first() else {
            return ExecOutput::code(0);
        };
        let args = &argv[1..];
        match basename(cmd) {
            "sh" | "ash" | "bash" | "dash" => shell::sh(env, flavour, args, &stdin).await,
            "busybox" => busybox(env, args, stdin).await,
            "echo" => builtins::echo(args),
            "cat" => builtins::cat(env, flavour, args, &stdin),
            "hostname" => ExecOutput::ok(format!("{}\n", env.pod)),
            "true" => ExecOutput::code(0),
            "false" => ExecOutput::code(1),
            "sleep" => builtins::sleep(env, args).await,
            "tail" => builtins::tail(env, args).await,
            "touch" | "rm" | "mkdir" => builtins::files(env, basename(cmd), args),
            "ls" => builtins::ls(env, args),
            "tar" => tar::tar(env, args, &stdin),
            "nc" => nc::nc(env, args, &stdin).await,
            "socat" => socat::socat(env, args, &stdin).await,
            "test" | "[" => {
                shell::sh(env, flavour, &["-c".to_string(), shell_quote(&argv)], &[]).await
            }
            "env" => builtins::env_vars(env),
            "nslookup" if flavour == Flavour::Netshoot => nslookup::bind(env, args).await,
            "nslookup" => nslookup::busybox(env, args).await,
            "wget" => wget::wget(env, args).await,
            "curl" => curl::curl(env, args).await,
            other => ExecOutput::fail(127, format!("{other}: not found\n")),
        }
    })
}

/// argv as one shell command line (for `test` run as an executable).
fn shell_quote(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `busybox APPLET ARGS…`, the multi-call binary.
async fn busybox(env: &ExecEnv, args: &[String], stdin: Vec<u8>) -> ExecOutput {
    let Some(applet) = args.first() else {
        return ExecOutput::ok("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n");
    };
    let known = Flavour::Busybox.has(applet) && !matches!(applet.as_str(), "busybox" | "curl");
    if !known {
        return ExecOutput::fail(1, format!("{applet}: applet not found\n"));
    }
    run_tool(env, Flavour::Busybox, args.to_vec(), stdin).await
}
