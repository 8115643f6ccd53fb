//! The exec websocket protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`): binary frames whose
//! first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize; v5 adds
//! 255 = "close channel" from the client).
//!
//! Like kubelet, the server first sends an empty frame on the lowest writable channel, then the
//! command's stdout and stderr, then the `Status` on channel 3, then closes with code 1000.
//! With `stdin`, commands that read it (`sh` without `-c`, `cat`) wait for its end (channel
//! 255 on v5, the websocket closing on v4); output arrives when the command ends (no
//! streaming; a tty session collects typed lines until Ctrl-D, then runs them).

use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::image::{Flavour, basename, start_failure};
use super::{ExecEnv, ExecOutput, run_with_stdin, status};

/// Subprotocols served, in order of preference.
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const CLOSE: u8 = 255;
/// Ctrl-D typed on a terminal.
const EOT: u8 = 4;
const FRAME: usize = 32 * 1024;
const DRAIN: Duration = Duration::from_secs(2);

/// The `stdin`/`stdout`/`stderr`/`tty` query parameters of an exec request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// The client sends stdin.
    pub stdin: bool,
    /// The client wants stdout.
    pub stdout: bool,
    /// The client wants stderr.
    pub stderr: bool,
    /// A terminal: stderr is merged into stdout.
    pub tty: bool,
}

impl Default for StreamOptions {
    /// What `kubectl exec POD -- CMD` asks for.
    fn default() -> Self {
        Self {
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }
}

impl StreamOptions {
    /// Reads `stdin`, `stdout`, `stderr`, `tty` (`true`/`1`) from the query string.
    pub fn from_query(raw: &[(String, String)]) -> Self {
        let get = |k: &str, default: bool| {
            raw.iter()
                .rev()
                .find(|(key, _)| key == k)
                .map_or(default, |(_, v)| {
                    matches!(v.as_str(), "true" | "1" | "True")
                })
        };
        Self {
            stdin: get("stdin", false),
            stdout: get("stdout", true),
            stderr: get("stderr", true),
            tty: get("tty", false),
        }
    }
}

/// The command from the query string (`command` repeated); error text for 400 when missing.
pub fn command_from_query(raw: &[(String, String)]) -> Result<Vec<String>, String> {
    let argv: Vec<String> = raw
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if argv.is_empty() {
        return Err("you must specify at least one command for the container".to_string());
    }
    Ok(argv)
}

/// Handles an exec websocket upgrade: negotiates the subprotocol, runs `argv` with `env`, streams the result.
pub fn serve(
    ws: WebSocketUpgrade,
    headers: &HeaderMap,
    argv: Vec<String>,
    env: ExecEnv,
) -> Response {
    serve_with(ws, headers, argv, env, StreamOptions::default())
}

/// [`serve`] with the stream options of the request (see [`StreamOptions::from_query`]).
pub fn serve_with(
    ws: WebSocketUpgrade,
    headers: &HeaderMap,
    argv: Vec<String>,
    env: ExecEnv,
    opts: StreamOptions,
) -> Response {
    let ws = ws.protocols(PROTOCOLS);
    let Some(version) = ws.selected_protocol().and_then(|p| p.to_str().ok()) else {
        return no_protocol(headers);
    };
    let v5 = version == PROTOCOLS[0];
    ws.on_upgrade(move |socket| session(socket, v5, argv, env, opts))
}

fn no_protocol(headers: &HeaderMap) -> Response {
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let msg = format!(
        "unable to upgrade connection: none of the requested subprotocols [{}] is supported (want {} or {})",
        offered.join(", "),
        PROTOCOLS[0],
        PROTOCOLS[1]
    );
    let body = status::bad_request(&msg);
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Whether the command reads its standard input.
pub(crate) fn reads_stdin(argv: &[String]) -> bool {
    let args = argv.get(1..).unwrap_or_default();
    match argv.first().map(|c| basename(c)) {
        Some("sh" | "ash" | "bash" | "dash") => {
            !args.iter().any(|a| a.starts_with('-') && a.contains('c'))
        }
        Some("cat") => args.is_empty() || args.iter().any(|a| a == "-"),
        Some("tar") => args
            .first()
            .is_some_and(|a| a.contains('x') || a.contains('t')),
        Some("nc" | "socat") => true,
        _ => false,
    }
}

async fn session(
    mut socket: WebSocket,
    v5: bool,
    argv: Vec<String>,
    env: ExecEnv,
    opts: StreamOptions,
) {
    let first = if opts.stdout {
        STDOUT
    } else if opts.stderr && !opts.tty {
        STDERR
    } else {
        ERROR
    };
    if socket.send(Message::binary(vec![first])).await.is_err() {
        return;
    }
    let flavour = Flavour::of(&env.image);
    if let Some(failure) = start_failure(flavour, &argv) {
        let error = format!(
            "error executing command in container: failed to exec in container: failed to start exec \"{}\": {}",
            exec_id(),
            failure.oci_message()
        );
        finish(socket, &[], &[], status::internal_error(&error)).await;
        return;
    }
    let stdin = if opts.stdin && reads_stdin(&argv) {
        match read_stdin(&mut socket, v5, opts.tty).await {
            Some(bytes) => bytes,
            None => return,
        }
    } else {
        Vec::new()
    };
    let Some(out) = run_watching(&mut socket, &env, &argv, &stdin).await else {
        return;
    };
    let doc = if out.code == 0 {
        status::success()
    } else {
        status::exit_code(&argv, out.code)
    };
    let (mut stdout, mut stderr) = (out.stdout, out.stderr);
    if opts.tty {
        stdout.append(&mut stderr);
    }
    if !opts.stdout {
        stdout.clear();
    }
    if !opts.stderr {
        stderr.clear();
    }
    finish(socket, &stdout, &stderr, doc).await;
}

/// Collects stdin frames until the client signals its end (on a tty: Ctrl-D); `None` when
/// the client left.
async fn read_stdin(socket: &mut WebSocket, v5: bool, tty: bool) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        match socket.recv().await {
            Some(Ok(Message::Binary(b))) => match b.first() {
                Some(&STDIN) if tty => {
                    let typed = &b[1..];
                    let end = typed.iter().position(|&c| c == EOT);
                    let text = &typed[..end.unwrap_or(typed.len())];
                    data.extend(text.iter().map(|&c| if c == b'\r' { b'\n' } else { c }));
                    if end.is_some() {
                        return Some(data);
                    }
                }
                Some(&STDIN) => data.extend_from_slice(&b[1..]),
                Some(&CLOSE) if v5 && b.get(1) == Some(&STDIN) => return Some(data),
                _ => {}
            },
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return if v5 { None } else { Some(data) };
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Runs the command while answering the client (pings, late stdin); `None` when it left.
async fn run_watching(
    socket: &mut WebSocket,
    env: &ExecEnv,
    argv: &[String],
    stdin: &[u8],
) -> Option<ExecOutput> {
    let run = run_with_stdin(env, argv, stdin);
    tokio::pin!(run);
    loop {
        tokio::select! {
            out = &mut run => return Some(out),
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends output, the status, closes with 1000 and waits briefly for the client's close.
async fn finish(mut socket: WebSocket, stdout: &[u8], stderr: &[u8], doc: String) {
    for (channel, data) in [(STDOUT, stdout), (STDERR, stderr)] {
        for chunk in data.chunks(FRAME) {
            let mut frame = Vec::with_capacity(chunk.len() + 1);
            frame.push(channel);
            frame.extend_from_slice(chunk);
            if socket.send(Message::binary(frame)).await.is_err() {
                return;
            }
        }
    }
    let mut frame = vec![ERROR];
    frame.extend_from_slice(doc.as_bytes());
    if socket.send(Message::binary(frame)).await.is_err() {
        return;
    }
    let close = CloseFrame {
        code: 1000,
        reason: "".into(),
    };
    if socket.send(Message::Close(Some(close))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(DRAIN, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// A container-runtime exec id (64 hex digits).
fn exec_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
