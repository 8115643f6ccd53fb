//! nslookup, wget, curl and the pod files, with exact output and exit codes.

use hickory_proto::rr::RecordType;

use super::{TestResult, WHEREAMI, World, expect, text};

fn header(w: &World) -> String {
    format!(
        "Server:\t\t127.0.0.1\nAddress:\t127.0.0.1:{}\n\n",
        w.dns_port()
    )
}

#[tokio::test]
async fn nslookup_fqdn_prints_a_then_empty_aaaa() -> TestResult {
    let w = World::start("busybox:1.36").await?;
    let out = w.run(&["nslookup", "whereami.app.svc.cluster.local"]).await;
    let stdout = format!(
        "{}Name:\twhereami.app.svc.cluster.local\nAddress: 10.0.1.5\n\n\n",
        header(&w)
    );
    assert_eq!(text(&out), expect(&stdout, "", 0));
    Ok(())
}

#[tokio::test]
async fn nslookup_nxdomain_exits_1() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.run(&["nslookup", "nope.app.svc.cluster.local"]).await;
    let line = "** server can't find nope.app.svc.cluster.local: NXDOMAIN\n\n";
    assert_eq!(
        text(&out),
        expect(&format!("{}{line}{line}", header(&w)), "", 1)
    );
    Ok(())
}

#[tokio::test]
async fn nslookup_short_name_queries_every_search_domain() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.run(&["nslookup", "whereami"]).await;
    let nx = |d: &str| format!("** server can't find whereami.{d}: NXDOMAIN\n\n");
    let stdout = format!(
        "{}Name:\twhereami.app.svc.cluster.local\nAddress: 10.0.1.5\n\n{}{}\n{}{}",
        header(&w),
        nx("svc.cluster.local"),
        nx("cluster.local"),
        nx("svc.cluster.local"),
        nx("cluster.local"),
    );
    assert_eq!(text(&out), expect(&stdout, "", 1));
    let log = w.dns_log.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(log.len(), 6);
    assert!(log.iter().all(|(n, _)| n != "whereami"), "{log:?}");
    assert_eq!(
        log.iter().filter(|(_, t)| *t == RecordType::AAAA).count(),
        3
    );
    Ok(())
}

#[tokio::test]
async fn nslookup_servfail_and_timeout() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w
        .run(&["nslookup", "-type=a", "broken.app.svc.cluster.local"])
        .await;
    let line = "** server can't find broken.app.svc.cluster.local: SERVFAIL\n\n";
    assert_eq!(text(&out), expect(&format!("{}{line}", header(&w)), "", 1));
    let out = w
        .run(&["nslookup", "-timeout=1", "silent.app.svc.cluster.local"])
        .await;
    let msg = ";; connection timed out; no servers could be reached\n\n";
    assert_eq!(text(&out), expect(msg, "", 1));
    Ok(())
}

#[tokio::test]
async fn netshoot_nslookup_uses_search_and_ndots() -> TestResult {
    let w = World::start("nicolaka/netshoot:v0.13").await?;
    let head = format!(
        "Server:\t\t127.0.0.1\nAddress:\t127.0.0.1#{}\n\n",
        w.dns_port()
    );
    let out = w.run(&["nslookup", "whereami"]).await;
    let ok = format!("{head}Name:\twhereami.app.svc.cluster.local\nAddress: 10.0.1.5\n\n");
    assert_eq!(text(&out), expect(&ok, "", 0));
    let out = w.run(&["nslookup", "nope"]).await;
    let nx = format!("{head}** server can't find nope: NXDOMAIN\n\n");
    assert_eq!(text(&out), expect(&nx, "", 1));
    Ok(())
}

#[tokio::test]
async fn wget_prints_body_and_sends_busybox_request() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.run(&["wget", "-qO-", "-T", "2", "http://whereami"]).await;
    assert_eq!(text(&out), expect(WHEREAMI, "", 0));
    let req = w.http_log.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(
        req,
        vec!["GET / HTTP/1.1\r\nHost: whereami\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n"]
    );
    let out = w
        .run(&[
            "wget",
            "-q",
            "-O",
            "-",
            "whereami.app.svc.clusterset.local:8080/chunked",
        ])
        .await;
    assert_eq!(text(&out), expect("hello\n", "", 0));
    Ok(())
}

#[tokio::test]
async fn wget_errors_as_busybox() -> TestResult {
    let w = World::start("busybox").await?;
    let cases = [
        (
            "http://refused/",
            "wget: can't connect to remote host (10.0.1.6): Connection refused\n",
        ),
        (
            "http://whereami/missing",
            "wget: server returned error: HTTP/1.1 404 Not Found\n",
        ),
        ("http://nope:8080/", "wget: bad address 'nope:8080'\n"),
        ("http://blackhole/", "wget: download timed out\n"),
        ("http://whereami/slow", "wget: download timed out\n"),
    ];
    for (url, err) in cases {
        let out = w.run(&["wget", "-qO-", "-T", "1", url]).await;
        assert_eq!(text(&out), expect("", err, 1), "{url}");
    }
    Ok(())
}

#[tokio::test]
async fn wget_verbose_and_redirect() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.run(&["wget", "-O-", "http://whereami/redirect"]).await;
    let (stdout, stderr, code) = text(&out);
    assert_eq!((stdout.as_str(), code), (WHEREAMI, 0));
    assert!(
        stderr.starts_with("Connecting to whereami (10.0.1.5:80)\nConnecting to whereami (10.0.1.5:80)\nwriting to stdout\n"),
        "{stderr}"
    );
    assert!(stderr.ends_with("written to stdout\n"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn curl_body_and_request() -> TestResult {
    let w = World::start("curlimages/curl:8.11.1").await?;
    let url = "http://whereami.app.svc.clusterset.local:8080/";
    let out = w.run(&["curl", "-s", "-m", "2", url]).await;
    assert_eq!(text(&out), expect(WHEREAMI, "", 0));
    let req = w.http_log.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(
        req,
        vec![
            "GET / HTTP/1.1\r\nHost: whereami.app.svc.clusterset.local:8080\r\nUser-Agent: curl/8.11.1\r\nAccept: */*\r\n\r\n"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn curl_write_out_and_fail() -> TestResult {
    let w = World::start("curlimages/curl").await?;
    let out = w
        .run(&[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://whereami/missing",
        ])
        .await;
    assert_eq!(text(&out), expect("404", "", 0));
    let out = w.run(&["curl", "-s", "http://whereami/missing"]).await;
    assert_eq!(text(&out), expect("nope\n", "", 0));
    let out = w.run(&["curl", "-sf", "http://whereami/missing"]).await;
    assert_eq!(text(&out), expect("", "", 22));
    let out = w
        .run(&[
            "curl",
            "-sSf",
            "-w",
            "%{http_code}\\n",
            "http://whereami/missing",
        ])
        .await;
    let err = "curl: (22) The requested URL returned error: 404\n";
    assert_eq!(text(&out), expect("404\n", err, 22));
    Ok(())
}

#[tokio::test]
async fn curl_connection_errors() -> TestResult {
    let w = World::start("nicolaka/netshoot").await?;
    let out = w.run(&["curl", "-sS", "http://nope/"]).await;
    assert_eq!(
        text(&out),
        expect("", "curl: (6) Could not resolve host: nope\n", 6)
    );
    let out = w
        .run(&["curl", "-sS", "-w", "%{http_code}", "http://refused/"])
        .await;
    let (stdout, stderr, code) = text(&out);
    assert_eq!((stdout.as_str(), code), ("000", 7));
    assert!(
        stderr.starts_with("curl: (7) Failed to connect to refused port 80 after "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(" ms: Couldn't connect to server\n"),
        "{stderr}"
    );
    let out = w.run(&["curl", "-s", "-m", "1", "http://blackhole/"]).await;
    assert_eq!(text(&out), expect("", "", 28));
    let out = w
        .run(&["curl", "-sS", "-m", "1", "http://whereami/slow"])
        .await;
    let (_, stderr, code) = text(&out);
    assert_eq!(code, 28);
    assert!(
        stderr.starts_with("curl: (28) Operation timed out after "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(" milliseconds with 0 bytes received\n"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn curl_without_silent_shows_meter_and_error() -> TestResult {
    let w = World::start("curlimages/curl").await?;
    let out = w.run(&["curl", "-m", "1", "http://blackhole/"]).await;
    let (stdout, stderr, code) = text(&out);
    assert_eq!((stdout.as_str(), code), ("", 28));
    assert!(stderr.starts_with("  % Total    % Received"), "{stderr}");
    assert!(
        stderr.contains("curl: (28) Connection timed out after "),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn pod_files_and_identity() -> TestResult {
    let w = World::start("busybox").await?;
    let resolv = "search app.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions ndots:5\n";
    assert_eq!(
        text(&w.run(&["cat", "/etc/resolv.conf"]).await),
        expect(resolv, "", 0)
    );
    assert_eq!(
        text(&w.run(&["hostname"]).await),
        expect("probe-0\n", "", 0)
    );
    assert_eq!(
        text(&w.run(&["cat", "/etc/hostname"]).await),
        expect("probe-0\n", "", 0)
    );
    let out = w.run(&["cat", "/nope"]).await;
    let err = "cat: can't open '/nope': No such file or directory\n";
    assert_eq!(text(&out), expect("", err, 1));
    Ok(())
}

#[tokio::test]
async fn missing_executables() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.run(&["nosuch", "x"]).await;
    let err = "exec: \"nosuch\": executable file not found in $PATH\n";
    assert_eq!(text(&out), expect("", err, 127));
    let out = w.run(&["curl", "http://whereami"]).await;
    let err = "exec: \"curl\": executable file not found in $PATH\n";
    assert_eq!(text(&out), expect("", err, 127));
    let w =
        World::start("us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.22").await?;
    let out = w.sh("wget -qO- http://whereami").await;
    assert_eq!(text(&out), expect("", "sh: 1: wget: not found\n", 127));
    let out = w.run(&["nslookup", "whereami"]).await;
    let err = "exec: \"nslookup\": executable file not found in $PATH\n";
    assert_eq!(text(&out), expect("", err, 127));
    Ok(())
}
