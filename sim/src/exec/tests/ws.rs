//! The exec websocket protocol against tokio-tungstenite and kube-rs clients.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message, http::HeaderValue};

use super::{TestResult, World};
use crate::exec::{ExecEnv, StreamOptions, command_from_query, serve_with, status};

pub(super) async fn exec_handler(
    State(env): State<ExecEnv>,
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    match command_from_query(&pairs) {
        Ok(argv) => serve_with(ws, &headers, argv, env, StreamOptions::from_query(&pairs)),
        Err(msg) => (StatusCode::BAD_REQUEST, msg).into_response(),
    }
}

async fn server(image: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let world = World::start(image).await?;
    let app = Router::new()
        .route("/api/v1/namespaces/{ns}/pods/{pod}/exec", get(exec_handler))
        .with_state(world.env);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// What a client saw: the selected subprotocol, binary frames, the close code.
struct Session {
    protocol: Option<String>,
    frames: Vec<Vec<u8>>,
    close: Option<u16>,
}

async fn exec(
    addr: SocketAddr,
    query: &str,
    protocols: &str,
    stdin: Option<&[u8]>,
) -> Result<Session, tungstenite::Error> {
    let url = format!("ws://{addr}/api/v1/namespaces/app/pods/probe-0/exec?{query}");
    let mut req = url.into_client_request()?;
    let value = HeaderValue::from_str(protocols).map_err(tungstenite::http::Error::from)?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", value);
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await?;
    let protocol = resp
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(data) = stdin {
        ws.send(Message::binary([&[0u8][..], data].concat()))
            .await?;
        ws.send(Message::binary(vec![255u8, 0])).await?;
    }
    let (mut frames, mut close) = (Vec::new(), None);
    while let Some(msg) = ws.next().await {
        match msg? {
            Message::Binary(b) => frames.push(b.to_vec()),
            Message::Close(f) => close = f.map(|f| u16::from(f.code)),
            _ => {}
        }
    }
    Ok(Session {
        protocol,
        frames,
        close,
    })
}

fn frame(channel: u8, data: &str) -> Vec<u8> {
    [&[channel][..], data.as_bytes()].concat()
}

#[tokio::test]
async fn success_on_v5() -> TestResult {
    let addr = server("busybox").await?;
    let query = "command=echo&command=hello&stdout=true&stderr=true&container=probe";
    let s = exec(addr, query, "v5.channel.k8s.io", None).await?;
    assert_eq!(s.protocol.as_deref(), Some("v5.channel.k8s.io"));
    assert_eq!(
        s.frames,
        vec![vec![1], frame(1, "hello\n"), frame(3, &status::success())]
    );
    assert_eq!(s.close, Some(1000));
    Ok(())
}

#[tokio::test]
async fn non_zero_exit_status() -> TestResult {
    let addr = server("busybox").await?;
    let query =
        "command=sh&command=-c&command=echo%20oops%20%3E%262%3B%20exit%203&stdout=true&stderr=true";
    let s = exec(addr, query, "v4.channel.k8s.io", None).await?;
    assert_eq!(s.protocol.as_deref(), Some("v4.channel.k8s.io"));
    let argv = ["sh", "-c", "echo oops >&2; exit 3"].map(String::from);
    let doc = status::exit_code(&argv, 3);
    assert!(doc.contains(r#""message":"command terminated with non-zero exit code: error executing command [sh -c echo oops >&2; exit 3], exit code 3""#));
    assert_eq!(s.frames, vec![vec![1], frame(2, "oops\n"), frame(3, &doc)]);
    assert_eq!(s.close, Some(1000));
    Ok(())
}

#[tokio::test]
async fn protocol_negotiation() -> TestResult {
    let addr = server("busybox").await?;
    let offered = "base64.channel.k8s.io, v4.channel.k8s.io, v5.channel.k8s.io";
    let s = exec(addr, "command=true", offered, None).await?;
    assert_eq!(s.protocol.as_deref(), Some("v5.channel.k8s.io"));
    match exec(addr, "command=true", "channel.k8s.io", None).await {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 400);
            let body =
                String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned();
            assert!(
                body.contains(r#""reason":"BadRequest","code":400"#),
                "{body}"
            );
        }
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("upgrade without a known subprotocol succeeded".into()),
    }
    Ok(())
}

#[tokio::test]
async fn missing_executable_is_a_runtime_error() -> TestResult {
    let addr = server("busybox").await?;
    let s = exec(
        addr,
        "command=nosuch&stdout=true",
        "v5.channel.k8s.io",
        None,
    )
    .await?;
    assert_eq!(s.frames.len(), 2, "{:?}", s.frames);
    let doc = String::from_utf8_lossy(&s.frames[1][1..]).into_owned();
    assert_eq!(s.frames[1][0], 3);
    assert!(doc.starts_with(r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \""#), "{doc}");
    assert!(doc.contains(r#"OCI runtime exec failed: exec failed: unable to start container process: exec: \"nosuch\": executable file not found in $PATH: unknown"#), "{doc}");
    assert!(doc.contains(r#""reason":"InternalError","details":{"causes":[{"message":"error executing command in container: "#), "{doc}");
    assert!(doc.ends_with(r#"$PATH: unknown"}]},"code":500}"#), "{doc}");
    assert_eq!(s.close, Some(1000));
    Ok(())
}

#[tokio::test]
async fn stdin_until_close_channel() -> TestResult {
    let addr = server("busybox").await?;
    let query = "command=cat&stdin=true&stdout=true&stderr=true";
    let s = exec(addr, query, "v5.channel.k8s.io", Some(b"piped data")).await?;
    assert_eq!(
        s.frames,
        vec![
            vec![1],
            frame(1, "piped data"),
            frame(3, &status::success())
        ]
    );
    Ok(())
}

#[tokio::test]
async fn kube_rs_exec_reads_output_and_status() -> TestResult {
    let addr = server("curlimages/curl").await?;
    let config = kube::Config::new(format!("http://{addr}").parse()?);
    let client = kube::Client::try_from(config)?;
    let pods: Api<Pod> = Api::namespaced(client, "app");
    let script = "hostname; wget -qO- -T 1 http://refused/; exit 7";
    let params = AttachParams::default().stdout(true).stderr(true);
    let mut proc = pods.exec("probe-0", ["sh", "-c", script], &params).await?;
    let (mut out, mut err) = (String::new(), String::new());
    let mut stdout = proc.stdout().ok_or("no stdout")?;
    let mut stderr = proc.stderr().ok_or("no stderr")?;
    let status = proc.take_status().ok_or("no status")?;
    let (r1, r2) = tokio::join!(
        stdout.read_to_string(&mut out),
        stderr.read_to_string(&mut err)
    );
    r1?;
    r2?;
    let status = status.await.ok_or("status missing")?;
    assert_eq!(out, "probe-0\n");
    assert_eq!(
        err,
        "wget: can't connect to remote host (10.0.1.6): Connection refused\n"
    );
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.and_then(|d| d.causes).unwrap_or_default();
    assert_eq!(causes.first().and_then(|c| c.message.as_deref()), Some("7"));
    assert_eq!(
        causes.first().and_then(|c| c.reason.as_deref()),
        Some("ExitCode")
    );
    proc.join().await?;
    Ok(())
}
