//! Small tools every shell image has: `echo`, `cat`, `hostname`, `true`, `false`, `sleep`,
//! `env`, and the pod files they read (`/etc/resolv.conf`, `/etc/hostname`, `/etc/hosts`).

use std::time::Duration;

use super::{ExecEnv, ExecOutput, Flavour};

/// Longest real sleep an exec'd `sleep` performs.
pub const SLEEP_CAP: Duration = Duration::from_secs(30);

/// The content of a file the pod has, or `None`.
pub fn pod_file(env: &ExecEnv, path: &str) -> Option<String> {
    match path {
        "/etc/resolv.conf" => Some(resolv_conf(env)),
        "/etc/hostname" => Some(format!("{}\n", env.pod)),
        "/etc/hosts" => Some(format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{}\t{}\n",
            env.pod_ip, env.pod
        )),
        "/dev/null" => Some(String::new()),
        _ => None,
    }
}

/// The kubelet-written resolv.conf.
pub fn resolv_conf(env: &ExecEnv) -> String {
    format!(
        "search {}\nnameserver {}\noptions ndots:{}\n",
        env.search.join(" "),
        env.nameserver.ip(),
        env.ndots
    )
}

/// `echo [-n] [-e] ARGS…` (busybox echo: `-e` interprets `\n`, `\t`, `\\`, `\c`).
pub fn echo(args: &[String]) -> ExecOutput {
    let (mut newline, mut escapes, mut i) = (true, false, 0);
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-E" => escapes = false,
            "-ne" | "-en" => (newline, escapes) = (false, true),
            _ => break,
        }
        i += 1;
    }
    let mut text = args[i..].join(" ");
    if escapes {
        match unescape(&text) {
            (t, true) => return ExecOutput::ok(t),
            (t, false) => text = t,
        }
    }
    if newline {
        text.push('\n');
    }
    ExecOutput::ok(text)
}

/// Interprets echo escapes; the flag is set when `\c` stopped output.
fn unescape(s: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('c') => return (out, true),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

/// `cat [FILE…]`: pod files, or stdin without operands (or for `-`).
pub fn cat(env: &ExecEnv, flavour: Flavour, args: &[String], stdin: &[u8]) -> ExecOutput {
    if args.is_empty() {
        return ExecOutput::ok(stdin.to_vec());
    }
    let mut out = ExecOutput::default();
    for path in args {
        if path == "-" {
            out.stdout.extend_from_slice(stdin);
            continue;
        }
        match pod_file(env, path) {
            Some(text) => out.stdout.extend_from_slice(text.as_bytes()),
            None => {
                let msg = if flavour == Flavour::Debian {
                    format!("cat: {path}: No such file or directory\n")
                } else {
                    format!("cat: can't open '{path}': No such file or directory\n")
                };
                out.stderr.extend_from_slice(msg.as_bytes());
                out.code = 1;
            }
        }
    }
    out
}

/// `sleep N` (seconds, fractions allowed, `inf`), capped at [`SLEEP_CAP`].
pub async fn sleep(args: &[String]) -> ExecOutput {
    let Some(arg) = args.first() else {
        return ExecOutput::fail(1, "sleep: missing operand\n");
    };
    let secs = match arg.trim_end_matches('s') {
        "inf" | "infinity" => f64::INFINITY,
        n => match n.parse::<f64>() {
            Ok(v) if v >= 0.0 => v,
            _ => return ExecOutput::fail(1, format!("sleep: invalid number '{arg}'\n")),
        },
    };
    let wait = if secs.is_finite() {
        Duration::from_secs_f64(secs).min(SLEEP_CAP)
    } else {
        SLEEP_CAP
    };
    tokio::time::sleep(wait).await;
    ExecOutput::code(0)
}

/// `env`: the container environment of a pod.
pub fn env_vars(env: &ExecEnv) -> ExecOutput {
    ExecOutput::ok(format!(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME={}\nHOME=/root\n",
        env.pod
    ))
}

/// A shell variable as the pod's shell sees it.
pub fn variable(env: &ExecEnv, name: &str) -> Option<String> {
    match name {
        "HOSTNAME" => Some(env.pod.clone()),
        "HOME" => Some("/root".to_string()),
        "PATH" => Some("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
        _ => None,
    }
}
