//! No egress: a simulated pod never opens a socket outside the fleet. Every socket of the
//! fleet network is opened by its `Dialer`; here a recording dialer proves that an attempt
//! to reach a documentation address (203.0.113.1, RFC 5737) with wget, curl, nc (TCP and
//! UDP) times out like a cluster without a route, and that nothing was dialled — while a
//! connection to an address of the fleet is dialled (the control: the recorder works).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcs_sim::Cluster;
use mcs_sim::exec::{ExecEnv, Process, run};
use mcs_sim::net::{BoxFuture, Dialer, FleetNet, Network, SystemDialer};

/// Records every address asked for, then dials it with the system dialer (which refuses
/// anything outside loopback).
#[derive(Default)]
struct Recorder(Mutex<Vec<SocketAddr>>);

impl Recorder {
    fn seen(&self) -> Vec<SocketAddr> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Dialer for Recorder {
    fn tcp(&self, addr: SocketAddr) -> BoxFuture<'_, std::io::Result<tokio::net::TcpStream>> {
        if let Ok(mut v) = self.0.lock() {
            v.push(addr);
        }
        SystemDialer.tcp(addr)
    }

    fn udp(&self, addr: SocketAddr) -> BoxFuture<'_, std::io::Result<tokio::net::UdpSocket>> {
        if let Ok(mut v) = self.0.lock() {
            v.push(addr);
        }
        SystemDialer.udp(addr)
    }
}

fn env(net: Arc<FleetNet>, image: &str, plan_octet: u8) -> ExecEnv {
    ExecEnv {
        cluster: "a".into(),
        namespace: "app".into(),
        pod: "probe".into(),
        pod_ip: Ipv4Addr::new(127, plan_octet, 0, 9),
        image: image.into(),
        nameserver: SocketAddr::from(([127, plan_octet, 128, 10], 53)),
        search: vec!["app.svc.cluster.local".into()],
        ndots: 5,
        net,
        process: Process::default(),
    }
}

#[tokio::test]
async fn egress_to_a_documentation_address_times_out_without_a_socket() {
    let recorder = Arc::new(Recorder::default());
    let net = Arc::new(FleetNet::with_dialer(recorder.clone()));
    let plan = mcs_sim::net::AddressPlan::new(201);
    let api: SocketAddr = ([127, 1, 1, 1], 1).into();
    let cluster = Arc::new(Cluster::with_network("a", api, 100, plan, net.clone()));
    net.register(&cluster);
    let target: SocketAddr = ([203, 0, 113, 1], 80).into();

    let started = Instant::now();
    let err = net
        .connect("a", target, Duration::from_millis(300))
        .await
        .err()
        .map(|e| e.kind());
    assert_eq!(err, Some(std::io::ErrorKind::TimedOut));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "a timeout, not a refusal"
    );

    let busybox = env(net.clone(), "busybox:1.36", 201);
    let out = run(
        &busybox,
        &[
            "wget".into(),
            "-qO-".into(),
            "-T".into(),
            "1".into(),
            "http://203.0.113.1/".into(),
        ],
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "wget: download timed out\n"
    );
    assert_eq!(out.code, 1);
    let out = run(
        &busybox,
        &[
            "nc".into(),
            "-w".into(),
            "1".into(),
            "203.0.113.1".into(),
            "80".into(),
        ],
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "nc: can't connect to remote host (203.0.113.1): Connection timed out\n"
    );
    let argv: Vec<String> = ["sh", "-c", "echo hi | nc -u -w 1 203.0.113.1 53"]
        .map(String::from)
        .to_vec();
    let out = run(&busybox, &argv).await;
    assert_eq!(
        (out.code, out.stdout.is_empty()),
        (0, true),
        "UDP: nothing ever answers"
    );
    let curl = env(net.clone(), "curlimages/curl:8.5.0", 201);
    let out = run(
        &curl,
        &[
            "curl".into(),
            "-sS".into(),
            "-m".into(),
            "1".into(),
            "http://203.0.113.1/".into(),
        ],
    )
    .await;
    assert_eq!(out.code, 28, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        recorder.seen().is_empty(),
        "dialled outside the fleet: {:?}",
        recorder.seen()
    );

    // Control: an address of the fleet (a pod IP) is dialled for real.
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::new(127, 201, 0, 77), 0)).await;
    let Ok(listener) = listener else {
        return; // 127.201.0.77 not bindable here: the negative half above still holds
    };
    let addr = listener.local_addr().expect("addr");
    assert!(net.connect("a", addr, Duration::from_secs(2)).await.is_ok());
    assert_eq!(recorder.seen(), vec![addr]);
}
