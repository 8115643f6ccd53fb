//! Real kubectl against `mcs-harness sim up`: containers live and die as a kubelet runs them
//! (exit codes, CrashLoopBackOff, images), deletion is graceful (Terminating, terminating
//! endpoints), StatefulSets and Jobs work, UDP Services answer `nc -u`, `kubectl cp` copies
//! files, and exec works over SPDY for clients that do not speak websockets.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Lines, SimProcess};

/// Polls `f` (every 50 ms) until it returns Some, panicking after `secs` with `what`.
fn until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn watch(sim: &SimProcess, args: &[&str]) -> (std::process::Child, Lines) {
    let mut child = sim
        .kubectl()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl watch");
    let lines = Lines::of(&mut child);
    (child, lines)
}

fn jsonpath(sim: &SimProcess, what: &str, path: &str) -> String {
    let out = sim.run(&["get", what, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn probe_pod(sim: &SimProcess, name: &str, image: &str) {
    sim.ok(&[
        "run",
        name,
        &format!("--image={image}"),
        "--",
        "sleep",
        "3600",
    ]);
    sim.ok(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{name}"),
        "--timeout=30s",
    ]);
}

#[test]
fn exit_codes_crash_loops_and_images_behave_like_a_kubelet() {
    let sim = SimProcess::start();
    let (mut w, mut lines) = watch(&sim, &["get", "pods", "-w", "--no-headers"]);
    // The watch must be running before the pods start: kubectl lists, then watches from
    // the list's version, so once a first pod shows, no later transition is missed (a slow
    // kubectl start on a loaded machine otherwise missed the first Error).
    probe_pod(&sim, "sentinel", "busybox");
    lines.until(20, |l| l.iter().any(|x| x.starts_with("sentinel ")));
    sim.ok(&["run", "fail", "--image=busybox", "--", "sh", "-c", "exit 3"]);
    sim.ok(&["run", "noargs", "--image=busybox"]);
    sim.ok(&[
        "run",
        "done",
        "--image=busybox",
        "--restart=Never",
        "--",
        "true",
    ]);
    sim.ok(&[
        "run",
        "noimg",
        "--image=registry.invalid/x:1",
        "--restart=Never",
        "--",
        "sleep",
        "9",
    ]);
    let started = Instant::now();
    let restarts = until(10, "fail to restart twice", || {
        let n: u32 = jsonpath(
            &sim,
            "pod/fail",
            "{.status.containerStatuses[0].restartCount}",
        )
        .parse()
        .ok()?;
        (n >= 2).then_some(n)
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{restarts} restarts too late"
    );
    let seen = lines.until(10, |l| {
        let of = |pod: &str, status: &str| {
            l.iter()
                .any(|x| x.starts_with(&format!("{pod} ")) && x.contains(status))
        };
        of("fail", " Error ")
            && of("fail", "CrashLoopBackOff")
            && of("noargs", "CrashLoopBackOff")
            && of("done", "Completed")
            && (of("noimg", "ErrImagePull") || of("noimg", "ImagePullBackOff"))
    });
    let first_error = seen
        .iter()
        .position(|l| l.starts_with("fail ") && l.contains(" Error "));
    let first_loop = seen
        .iter()
        .position(|l| l.starts_with("fail ") && l.contains("CrashLoopBackOff"));
    assert!(
        first_error < first_loop,
        "Error before CrashLoopBackOff: {seen:?}"
    );
    let _ = w.kill();
    let last = jsonpath(
        &sim,
        "pod/fail",
        "{.status.containerStatuses[0].lastState.terminated.exitCode}",
    );
    assert_eq!(last, "3");
    let events = sim.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=fail",
    ]);
    for reason in ["Scheduled", "Pulled", "Created", "Started", "BackOff"] {
        assert!(events.contains(reason), "{reason} missing: {events}");
    }
    let exec = sim.run(&["exec", "done", "--", "echo", "x"]);
    assert!(
        !exec.status.success(),
        "exec into a completed pod is refused"
    );
    let logs = sim.run(&["logs", "fail", "--previous"]);
    assert!(logs.status.success(), "{logs:?}");
    let none = sim.run(&["logs", "done", "--previous"]);
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("previous terminated container"),
        "{none:?}"
    );
}

const LIVENESS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  containers:
  - name: w
    image: us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20
    livenessProbe: {httpGet: {path: /status/500, port: 8080}, failureThreshold: 1, periodSeconds: 1}
"#;

#[test]
fn liveness_failures_restart_and_logs_follow() {
    let sim = SimProcess::start();
    sim.ok_stdin(&["apply", "-f", "-"], LIVENESS);
    until(10, "a liveness restart", || {
        let n: u32 = jsonpath(
            &sim,
            "pod/live",
            "{.status.containerStatuses[0].restartCount}",
        )
        .parse()
        .ok()?;
        (n >= 1).then_some(())
    });
    let events = sim.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=live",
    ]);
    assert!(events.contains("Liveness probe failed: "), "{events}");
    assert!(
        events.contains("failed liveness probe, will be restarted"),
        "{events}"
    );

    let script = "while true; do echo tick; sleep 0.2; done";
    sim.ok(&[
        "run",
        "ticker",
        "--image=busybox:1.36",
        "--",
        "sh",
        "-c",
        script,
    ]);
    sim.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/ticker",
        "--timeout=30s",
    ]);
    let (mut f, mut lines) = watch(&sim, &["logs", "-f", "ticker"]);
    // A follower keeps receiving lines written after it started.
    lines.until(10, |l| l.iter().filter(|x| *x == "tick").count() >= 5);
    let _ = f.kill();
}

const TERMINATING: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: t}
spec:
  selector: {app: t}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: slow, labels: {app: t}}
spec:
  terminationGracePeriodSeconds: 300
  containers:
  - name: app
    image: us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /healthz, port: 8080}}
    lifecycle: {preStop: {exec: {command: [sleep, "200"]}}}
"#;

const SLOW_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: sl}
spec:
  replicas: 2
  selector: {matchLabels: {app: sl}}
  template:
    metadata: {labels: {app: sl}}
    spec:
      terminationGracePeriodSeconds: 300
      containers: [{name: s, image: "busybox:1.36", command: [sleep, "3600"]}]
"#;

#[test]
fn deletion_is_graceful_and_endpoints_show_terminating() {
    let sim = SimProcess::start();
    sim.ok_stdin(&["apply", "-f", "-"], TERMINATING);
    sim.ok(&["wait", "--for=condition=Ready", "pod/slow", "--timeout=30s"]);
    let (mut w, mut lines) = watch(&sim, &["get", "pod", "slow", "-w", "--no-headers"]);
    lines.until(10, |l| !l.is_empty());
    let started = Instant::now();
    sim.ok(&["delete", "pod", "slow", "--wait=false"]);
    let cond = until(10, "a terminating endpoint", || {
        let c = jsonpath(
            &sim,
            "endpointslices",
            "{.items[?(@.metadata.labels.kubernetes\\.io/service-name==\"t\")].endpoints[0].conditions}",
        );
        c.contains("\"terminating\":true").then_some(c)
    });
    assert!(
        cond.contains("\"ready\":false") && cond.contains("\"serving\":true"),
        "{cond}"
    );
    let ep = jsonpath(&sim, "endpoints/t", "{.subsets[*].addresses[*].ip}");
    assert!(
        ep.trim().is_empty(),
        "a terminating pod leaves Endpoints: {ep}"
    );
    lines.until(10, |l| l.iter().any(|x| x.contains("Terminating")));
    sim.ok(&["wait", "--for=delete", "pod/slow", "--timeout=30s"]);
    // preStop sleep 200 s on the 100x clock: 2 s, within the 300 s (3 s) grace period.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    let _ = w.kill();

    // Foreground deletion: the owner stays (finalizer) until its pods are gone.
    sim.ok_stdin(&["apply", "-f", "-"], SLOW_DEPLOYMENT);
    sim.ok(&["rollout", "status", "deploy/sl", "--timeout=30s"]);
    sim.ok(&[
        "delete",
        "deploy",
        "sl",
        "--cascade=foreground",
        "--wait=false",
    ]);
    let fins = jsonpath(&sim, "deploy/sl", "{.metadata.finalizers}");
    assert!(fins.contains("foregroundDeletion"), "{fins}");
    let pods = jsonpath(&sim, "pods", "{.items[*].metadata.deletionTimestamp}");
    assert!(!pods.trim().is_empty(), "its pods terminate first: {pods}");
    sim.ok(&["wait", "--for=delete", "deploy/sl", "--timeout=30s"]);
    assert_eq!(jsonpath(&sim, "pods", "{.items[*].metadata.name}"), "");
}

const STATEFUL: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: w
        image: us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}}
"#;

#[test]
fn statefulset_pods_have_stable_names_and_dns_and_jobs_complete() {
    let sim = SimProcess::start();
    sim.ok_stdin(&["apply", "-f", "-"], STATEFUL);
    sim.ok(&["rollout", "status", "sts/web", "--timeout=30s"]);
    let names = jsonpath(&sim, "pods", "{.items[*].metadata.name}");
    assert_eq!(
        names.split_whitespace().collect::<Vec<_>>(),
        vec!["web-0", "web-1"]
    );
    probe_pod(&sim, "probe", "busybox:1.36");
    for pod in ["web-0", "web-1"] {
        let ip = jsonpath(&sim, &format!("pod/{pod}"), "{.status.podIP}");
        let out = sim.ok(&[
            "exec",
            "probe",
            "--",
            "nslookup",
            &format!("{pod}.web.default.svc.cluster.local"),
        ]);
        assert!(out.contains(&format!("Address: {ip}")), "{out}");
    }
    sim.ok(&[
        "create",
        "job",
        "pi",
        "--image=busybox:1.36",
        "--",
        "sh",
        "-c",
        "echo 3.14",
    ]);
    sim.ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=30s",
    ]);
    assert_eq!(sim.ok(&["logs", "job/pi"]), "3.14\n");
}

const UDP: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: echo, labels: {app: echo}}
spec:
  containers:
  - name: udp
    image: alpine/socat:1.7.4.4
    args: ["-v", "UDP-LISTEN:5353,fork", "SYSTEM:echo pong from $(MY_POD_IP)"]
    env: [{name: MY_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
"#;

#[test]
fn udp_services_answer_nc_and_kubectl_cp_copies_files() {
    let sim = SimProcess::start();
    sim.ok_stdin(&["apply", "-f", "-"], UDP);
    sim.ok(&["wait", "--for=condition=Ready", "pod/echo", "--timeout=30s"]);
    probe_pod(&sim, "probe", "busybox:1.36");
    let ip = jsonpath(&sim, "pod/echo", "{.status.podIP}");
    let out = until(10, "a UDP answer through the Service", || {
        let o = sim.run(&[
            "exec",
            "probe",
            "--",
            "sh",
            "-c",
            "echo ping | nc -u -w 1 echo.default.svc.cluster.local 53",
        ]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.contains("pong").then_some(text)
    });
    assert_eq!(out, format!("pong from {ip}\n"));

    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("hello.txt");
    std::fs::write(&src, "copied through tar\n").expect("write");
    sim.ok(&["cp", &src.display().to_string(), "probe:/tmp/hello.txt"]);
    assert_eq!(
        sim.ok(&["exec", "probe", "--", "cat", "/tmp/hello.txt"]),
        "copied through tar\n"
    );
    let back = dir.path().join("back.txt");
    sim.ok(&["cp", "probe:/tmp/hello.txt", &back.display().to_string()]);
    assert_eq!(
        std::fs::read_to_string(&back).expect("read"),
        "copied through tar\n"
    );
}

/// A kubectl that only speaks SPDY: `$MCS_KUBECTL_SPDY` (e.g. Debian's 1.20, which .ci/run
/// unpacks), else kubectl with websockets switched off (client-go's SPDY executor).
fn spdy_kubectl(sim: &SimProcess) -> Command {
    let mut c = match std::env::var_os("MCS_KUBECTL_SPDY") {
        Some(bin) => Command::new(bin),
        None => Command::new("kubectl"),
    };
    c.env("KUBECONFIG", &sim.kubeconfig)
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
        .arg("--cache-dir")
        .arg(sim.dir.path().join("spdy-cache"));
    c
}

#[test]
fn exec_works_over_spdy() {
    let sim = SimProcess::start();
    probe_pod(&sim, "probe", "busybox:1.36");
    // -v=7 shows the request headers: X-Stream-Protocol-Version is the SPDY executor's.
    let verbose = spdy_kubectl(&sim)
        .args(["-v=7", "exec", "probe", "--", "true"])
        .output()
        .expect("kubectl");
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains("X-Stream-Protocol-Version"),
        "the SPDY executor was used: {log}"
    );
    let out = spdy_kubectl(&sim)
        .args([
            "exec",
            "probe",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .output()
        .expect("kubectl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("err\n"), "{stderr}");
    let mut child = spdy_kubectl(&sim)
        .args(["exec", "-i", "probe", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubectl");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(b"through stdin\n").expect("stdin");
    }
    let out = child.wait_with_output().expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
}
