//! Real kubectl (when installed) against the exec websocket: output, exit code, runtime errors.

use std::net::SocketAddr;
use std::process::{Output, Stdio};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::process::Command;

use super::ws::exec_handler;
use super::{TestResult, World};

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe-0","namespace":"app","uid":"1"},"spec":{"containers":[{"name":"probe","image":"busybox"}]},"status":{"phase":"Running"}}"#;

const CORE: &str = r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#;
const GROUPS: &str = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#;
const V1: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]}]}"#;

fn json(body: &'static str) -> axum::routing::MethodRouter<crate::exec::ExecEnv> {
    get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() })
}

async fn server() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let world = World::start("busybox").await?;
    let app = Router::new()
        .route("/api", json(CORE))
        .route("/apis", json(GROUPS))
        .route("/api/v1", json(V1))
        .route("/api/v1/namespaces/app/pods/probe-0", json(POD))
        .route("/api/v1/namespaces/{ns}/pods/{pod}/exec", get(exec_handler))
        .with_state(world.env);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .await
}

#[tokio::test]
async fn kubectl_exec_over_websocket() -> TestResult {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .await
        .is_err()
    {
        panic!(
            "kubectl is required for this test: install it (.ci/run installs Debian's kubernetes-client when missing)"
        );
    }
    let addr = server().await?;
    let path = std::env::temp_dir().join(format!("exec-kubeconfig-{}", addr.port()));
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: app\ncurrent-context: c\n"
    );
    tokio::fs::write(&path, config).await?;
    let script = "hostname; echo err >&2; exit 3";
    let out = kubectl(&path, &["exec", "probe-0", "--", "sh", "-c", script]).await?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "probe-0\n",
        "{stderr}"
    );
    assert!(stderr.starts_with("err\n"), "{stderr}");
    assert!(
        stderr.contains("command terminated with exit code 3"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(3));
    let out = kubectl(&path, &["exec", "probe-0", "--", "nosuch"]).await?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.starts_with("error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec"),
        "{stderr}"
    );
    assert!(stderr.contains("exec: \"nosuch\": executable file not found in $PATH: unknown"));
    assert_eq!(out.status.code(), Some(1));
    let out = kubectl(&path, &["exec", "probe-0", "--", "cat", "/etc/resolv.conf"]).await?;
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("search app.svc.cluster.local "));
    assert_eq!(out.status.code(), Some(0));
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&path)
        .args(["exec", "-i", "probe-0", "--", "sh"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    stdin.write_all(b"echo via-stdin; exit 5\n").await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via-stdin\n");
    assert_eq!(out.status.code(), Some(5));
    let _ = tokio::fs::remove_file(&path).await;
    Ok(())
}
