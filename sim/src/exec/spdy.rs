//! The SPDY/3.1 half of the exec protocol, as kubelet serves it to client-go's
//! `remotecommand.NewSPDYExecutor` (kubectl ≤ 1.29, and later kubectl with
//! `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`; the upstream MCS conformance suite):
//!
//! 1. the client asks for `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version` offers;
//!    the server answers 101 with the chosen version (`v4.channel.k8s.io` preferred);
//! 2. the client opens one stream per channel (SYN_STREAM, header `streamtype`: `error`,
//!    `stdin`, `stdout`, `stderr`, `resize`); the server replies (SYN_REPLY) to each;
//! 3. once every expected stream is there the command runs (stdin until its stream's FIN);
//!    stdout/stderr go out as DATA frames, the `metav1.Status` on the error stream (v4),
//!    then every stream is closed (FIN) and the connection ends.
//!
//! Header blocks are one zlib stream per direction with the SPDY/3 dictionary.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::spdy_headers::Headers;
use super::ws::{StreamOptions, reads_stdin};
use super::{ExecEnv, run_with_stdin, status};

/// Versions served, in order of preference.
const VERSIONS: [&str; 4] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];
const CONTROL: u16 = 0x8000;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 1;
const MAX_DATA: usize = 32 * 1024;

/// Whether the request asks for a SPDY/3.1 upgrade.
pub fn requested(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.eq_ignore_ascii_case("SPDY/3.1"))
}

/// The version to speak, from the client's `X-Stream-Protocol-Version` offers.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let offered: Vec<String> = headers
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_string()))
        .collect();
    VERSIONS
        .into_iter()
        .find(|v| offered.iter().any(|o| o == v))
}

/// Answers the upgrade (101) and runs the session once the connection is handed over.
pub fn serve(
    headers: &HeaderMap,
    on_upgrade: Option<hyper::upgrade::OnUpgrade>,
    argv: Vec<String>,
    env: ExecEnv,
    opts: StreamOptions,
) -> Response {
    let Some(version) = negotiate(headers) else {
        let msg = format!(
            "unable to upgrade: unable to negotiate protocol: client supports none of [{}]",
            VERSIONS.join(" ")
        );
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(status::bad_request(&msg)),
        )
            .into_response();
    };
    let Some(on_upgrade) = on_upgrade else {
        return (StatusCode::BAD_REQUEST, "connection cannot be upgraded").into_response();
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let io = TokioIo::new(upgraded);
            session(io, version == VERSIONS[0], argv, env, opts).await;
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    h.insert(
        "x-stream-protocol-version",
        HeaderValue::from_static(version),
    );
    resp
}

/// One parsed frame.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    Control {
        kind: u16,
        flags: u8,
        data: Vec<u8>,
    },
    Data {
        stream: u32,
        flags: u8,
        data: Vec<u8>,
    },
}

async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Frame> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    if len > 16 << 20 {
        return Err(std::io::Error::other("spdy frame too large"));
    }
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).await?;
    let flags = head[4];
    if head[0] & 0x80 != 0 {
        Ok(Frame::Control {
            kind: u16::from_be_bytes([head[2], head[3]]),
            flags,
            data,
        })
    } else {
        let stream = u32::from_be_bytes([head[0] & 0x7f, head[1], head[2], head[3]]);
        Ok(Frame::Data {
            stream,
            flags,
            data,
        })
    }
}

fn control(kind: u16, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&(CONTROL | 3).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    out
}

fn data_frame(stream: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    out
}

/// The streams of one exec session, by type.
#[derive(Default)]
struct Streams {
    by_type: HashMap<String, u32>,
}

impl Streams {
    fn has_all(&self, opts: &StreamOptions) -> bool {
        let need = |t: &str, on: bool| !on || self.by_type.contains_key(t);
        need("error", true)
            && need("stdin", opts.stdin)
            && need("stdout", opts.stdout)
            && need("stderr", opts.stderr && !opts.tty)
            && need("resize", opts.tty)
    }
}

/// Frames from the client, read by a task of their own.
async fn reader(mut r: impl AsyncRead + Unpin, tx: tokio::sync::mpsc::Sender<Frame>) {
    while let Ok(f) = read_frame(&mut r).await {
        if tx.send(f).await.is_err() {
            return;
        }
    }
}

struct Session<W> {
    w: W,
    headers: Headers,
    streams: Streams,
    stdin: Vec<u8>,
    stdin_done: bool,
}

impl<W: AsyncWrite + Unpin> Session<W> {
    /// Handles one client frame; false when the client went away.
    async fn on_frame(&mut self, f: Frame) -> bool {
        match f {
            Frame::Control {
                kind: SYN_STREAM,
                data,
                ..
            } if data.len() >= 10 => {
                let id = u32::from_be_bytes([data[0] & 0x7f, data[1], data[2], data[3]]);
                let h = self.headers.decode(&data[10..]).unwrap_or_default();
                let ty = h
                    .get("streamtype")
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default();
                self.streams.by_type.insert(ty, id);
                let block = self.headers.encode(&[]);
                let mut reply = id.to_be_bytes().to_vec();
                reply.extend_from_slice(&block);
                self.w
                    .write_all(&control(SYN_REPLY, 0, &reply))
                    .await
                    .is_ok()
            }
            Frame::Control {
                kind: PING, data, ..
            } => self.w.write_all(&control(PING, 0, &data)).await.is_ok(),
            Frame::Control { kind: GOAWAY, .. } => false,
            Frame::Control {
                kind: RST_STREAM,
                data,
                ..
            } => {
                let id = data
                    .get(..4)
                    .map(|d| u32::from_be_bytes([d[0] & 0x7f, d[1], d[2], d[3]]));
                if id.is_some() && id == self.streams.by_type.get("stdin").copied() {
                    self.stdin_done = true;
                }
                true
            }
            Frame::Data {
                stream,
                flags,
                data,
            } => {
                if Some(stream) == self.streams.by_type.get("stdin").copied() {
                    self.stdin.extend_from_slice(&data);
                    self.stdin_done |= flags & FLAG_FIN != 0;
                }
                true
            }
            Frame::Control { .. } => true,
        }
    }

    async fn send(&mut self, ty: &str, data: &[u8]) -> bool {
        let Some(&id) = self.streams.by_type.get(ty) else {
            return true;
        };
        for chunk in data.chunks(MAX_DATA) {
            if self.w.write_all(&data_frame(id, 0, chunk)).await.is_err() {
                return false;
            }
        }
        true
    }
}

async fn session(
    io: impl AsyncRead + AsyncWrite + Send + 'static,
    v4: bool,
    argv: Vec<String>,
    env: ExecEnv,
    opts: StreamOptions,
) {
    let (r, w) = tokio::io::split(io);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let reading = tokio::spawn(reader(r, tx));
    let mut s = Session {
        w,
        headers: Headers::default(),
        streams: Streams::default(),
        stdin: Vec::new(),
        stdin_done: false,
    };
    let wants_stdin = opts.stdin && reads_stdin(&argv);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(s.streams.has_all(&opts) && (!wants_stdin || s.stdin_done)) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(f)) => {
                if !s.on_frame(f).await {
                    reading.abort();
                    return;
                }
            }
            _ => {
                reading.abort();
                return;
            }
        }
    }
    let stdin = std::mem::take(&mut s.stdin);
    let run = run_with_stdin(&env, &argv, &stdin);
    tokio::pin!(run);
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            f = rx.recv() => {
                let alive = match f {
                    Some(f) => s.on_frame(f).await,
                    None => false,
                };
                if !alive {
                    reading.abort();
                    return;
                }
            }
        }
    };
    let (mut stdout, mut stderr) = (out.stdout, out.stderr);
    if opts.tty {
        stdout.append(&mut stderr);
    }
    let failure = super::image::start_failure(super::Flavour::of(&env.image), &argv);
    let doc = match (&failure, out.code) {
        (Some(f), _) => status::internal_error(&f.oci_message()),
        (None, 0) => status::success(),
        (None, code) => status::exit_code(&argv, code),
    };
    if failure.is_some() {
        stdout.clear();
        stderr.clear();
    }
    let ok = s.send("stdout", &stdout).await && s.send("stderr", &stderr).await;
    // v4 reports the Status on the error stream; older versions only an error's text.
    let error_doc = match (v4, out.code == 0 && failure.is_none()) {
        (true, _) => doc.into_bytes(),
        (false, true) => Vec::new(),
        (false, false) => format!(
            "command terminated with non-zero exit code: exit status {}",
            out.code
        )
        .into_bytes(),
    };
    if ok && s.send("error", &error_doc).await {
        let ids: Vec<u32> = s.streams.by_type.values().copied().collect();
        for id in ids {
            let _ = s.w.write_all(&data_frame(id, FLAG_FIN, &[])).await;
        }
        let _ = s.w.flush().await;
        // Give the client a moment to read and close, as the kubelet does.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            while let Some(f) = rx.recv().await {
                if !s.on_frame(f).await {
                    break;
                }
            }
        })
        .await;
    }
    let _ = s.w.shutdown().await;
    reading.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_frames_have_spdy3_headers() {
        let frame = control(SYN_REPLY, 0, &[0, 0, 0, 1]);
        assert_eq!(&frame[..4], &[0x80, 0x03, 0x00, 0x02]);
    }
}
