//! `pods/exec` emulation: what a command run inside a simulated pod prints and returns.
//!
//! A probe pod's image decides which tools exist ([`image`]): busybox images have `sh`,
//! `nslookup`, `wget`, `nc` and `tar`; curl images add `curl`; alpine/socat adds `socat`;
//! netshoot has a bind-style `nslookup`, `nc` and `socat`; whereami (python-slim) has a dash
//! shell and none of the network tools. The same interpreter runs a container's own
//! command (the kubelet's main process), with its output streamed to the container log. Commands behave like
//! busybox 1.36 / curl 8 / dash: same output, same exit codes, and the lookups and
//! connections are performed for real, from the pod's cluster (DNS over UDP to the cluster DNS
//! server, TCP only through [`crate::net::Network`]).
//!
//! [`ws`] speaks the Kubernetes exec websocket protocol (`v5.channel.k8s.io`,
//! `v4.channel.k8s.io`) so that kubectl and kube-rs can drive [`run`].

mod args;
mod builtins;
mod curl;
mod dns;
mod env;
mod fs;
mod http;
pub mod image;
mod nc;
mod nslookup;
mod parser;
mod shell;
mod shell_exec;
mod socat;
pub mod spdy;
mod spdy_headers;
mod status;
mod syntax;
mod tar;
mod tools;
mod wget;
pub mod ws;

#[cfg(test)]
mod tests;

pub use env::{ExecEnv, OutputSink, Process};
pub use fs::Fs;
pub use image::Flavour;
pub use ws::{StreamOptions, command_from_query, serve, serve_with};

/// What a finished command produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Bytes written to standard output.
    pub stdout: Vec<u8>,
    /// Bytes written to standard error.
    pub stderr: Vec<u8>,
    /// Exit status (0 = success).
    pub code: i32,
}

impl ExecOutput {
    /// An output with only an exit code.
    pub fn code(code: i32) -> Self {
        Self {
            code,
            ..Self::default()
        }
    }

    /// A successful output printing `stdout`.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// A failed output printing `stderr`.
    pub fn fail(code: i32, stderr: impl Into<Vec<u8>>) -> Self {
        Self {
            stderr: stderr.into(),
            code,
            ..Self::default()
        }
    }
}

/// Runs argv inside the pod described by env, as its image's shell/tools would.
///
/// When `argv[0]` does not exist in the image, the result mimics the container runtime:
/// exit code 127 and `exec: "CMD": executable file not found in $PATH` on stderr (the
/// websocket layer reports that case as the runtime's `InternalError` instead, see
/// [`image::start_failure`]).
pub async fn run(env: &ExecEnv, argv: &[String]) -> ExecOutput {
    run_with_stdin(env, argv, &[]).await
}

/// [`run`] with the bytes the command reads on standard input.
pub async fn run_with_stdin(env: &ExecEnv, argv: &[String], stdin: &[u8]) -> ExecOutput {
    let flavour = Flavour::of(&env.image);
    if let Some(failure) = image::start_failure(flavour, argv) {
        return ExecOutput::fail(127, format!("{}\n", failure.short));
    }
    tools::run_tool(env, flavour, argv.to_vec(), stdin.to_vec()).await
}
