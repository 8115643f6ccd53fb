//! The fleet's cluster DNS against real clients: `dig` (Debian `dnsutils`) and a real
//! BusyBox `nslookup` (Debian `busybox-static`, unpacked by `.ci/run`, never installed),
//! over loopback. What a CoreDNS of the kubeadm/kind Corefile answers: PTR records, SERVFAIL
//! for names nobody serves, pod A records, TTL 30, a 120-pod headless Service (UDP: TC with
//! the records that fit; TCP: all 120), and with the upstream flavour the KEP-1645 names
//! (`dns-version.clusterset.local`, `<hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local`).
//!
//! Tools: `$MCS_DIG` / `$MCS_BUSYBOX`, else `dig` / `busybox` on PATH, else the busybox that
//! `.ci/run` unpacks in `target/ci-tools/busybox`. When one is missing the test says so on
//! stderr and returns — unless `$CI` or `$MCS_REQUIRE_DNS_TOOLS` is set, then it fails.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{
    Api, ApiResource, AttachParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use mcs_importer::Flavour;
use serde_json::json;
use support::eventually;

const NS: &str = "dnst";

/// Whether a missing tool fails the test instead of skipping it.
fn tools_required() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|s| !s.is_empty() && s != "0" && s != "false");
    set("CI") || set("MCS_REQUIRE_DNS_TOOLS")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `$var`, else `name` on PATH, else `fallback` when it exists.
fn find(var: &str, name: &str, fallback: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    on_path(name).or(fallback.filter(|p| p.is_file()))
}

/// dig and busybox, or `None` after saying loudly why the test does not run.
fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let unpacked = target.join("ci-tools/busybox/bin/busybox");
    let dig = find("MCS_DIG", "dig", None);
    let busybox = find("MCS_BUSYBOX", "busybox", Some(unpacked));
    match (dig, busybox) {
        (Some(d), Some(b)) => Some((d, b)),
        (d, b) => {
            let missing: Vec<&str> = [(d.is_none(), "dig (Debian dnsutils)"), (b.is_none(),
                "busybox (Debian busybox-static: apt-get download busybox-static && dpkg-deb -x … target/ci-tools/busybox, as .ci/run does)")]
                .into_iter()
                .filter_map(|(m, what)| m.then_some(what))
                .collect();
            let msg = format!("{test}: not found: {}", missing.join(", "));
            assert!(
                !tools_required(),
                "{msg}; $CI or $MCS_REQUIRE_DNS_TOOLS is set, so this fails"
            );
            eprintln!("SKIPPED {msg}");
            None
        }
    }
}

struct Out {
    stdout: String,
    code: Option<i32>,
}

/// Runs a tool to completion; the test runtime keeps serving DNS meanwhile
/// (`block_in_place` hands this worker's tasks to the other one).
fn run(bin: &Path, args: &[String]) -> Out {
    let out =
        tokio::task::block_in_place(|| Command::new(bin).args(args).output()).expect("run tool");
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        code: out.status.code(),
    }
}

/// `dig @server -p port ARGS +time=2 +tries=1`.
fn dig(bin: &Path, server: SocketAddr, args: &[&str]) -> Out {
    let mut a = vec![
        format!("@{}", server.ip()),
        "-p".into(),
        server.port().to_string(),
        "+time=2".into(),
        "+tries=1".into(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    run(bin, &a)
}

/// `busybox nslookup [-type=T] NAME SERVER` (the server must listen on port 53).
fn nslookup(bin: &Path, server: SocketAddr, args: &[&str]) -> Out {
    assert_eq!(server.port(), 53, "busybox nslookup only asks port 53");
    let mut a = vec!["nslookup".to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.push(server.ip().to_string());
    run(bin, &a)
}

/// The records of dig's answer section (`+noall +answer` output), one per line, split.
fn records(out: &Out) -> Vec<Vec<String>> {
    out.stdout
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn status(out: &Out) -> String {
    let at = out
        .stdout
        .find("status: ")
        .map_or("", |i| &out.stdout[i + 8..]);
    at.split(',').next().unwrap_or("").to_string()
}

fn reverse(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(_) => unreachable!("the fleet is IPv4"),
    }
}

async fn create<K>(c: &kube::Client, obj: serde_json::Value)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let o: K = serde_json::from_value(obj).expect("object");
    Api::<K>::namespaced(c.clone(), NS)
        .create(&PostParams::default(), &o)
        .await
        .expect("create");
}

async fn namespace(c: &kube::Client) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

fn sleeper(name: &str, replicas: u32) -> serde_json::Value {
    json!({"metadata": {"name": name}, "spec": {"replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
            {"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
             "ports": [{"name": "http", "containerPort": 80}]}]}}}})
}

/// The ready pod IPs of `app`, once there are `n`.
async fn pod_ips(c: &kube::Client, app: &str, n: usize) -> Vec<IpAddr> {
    let pods: Api<Pod> = Api::namespaced(c.clone(), NS);
    eventually(60, &format!("{n} {app} pods with IPs"), || async {
        let list = pods
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .ok()?;
        let ips: Vec<IpAddr> = list
            .items
            .iter()
            .filter_map(|p| p.status.as_ref()?.pod_ip.as_ref()?.parse().ok())
            .collect();
        (ips.len() == n).then_some(ips)
    })
    .await
}

/// stdout of `nslookup ARGS` run by the sim's emulated busybox in pod `probe`.
async fn emulated_nslookup(c: &kube::Client, args: &[&str]) -> String {
    use tokio::io::AsyncReadExt;
    let pods: Api<Pod> = Api::namespaced(c.clone(), NS);
    let mut argv = vec!["nslookup"];
    argv.extend(args);
    let ap = AttachParams::default()
        .stdout(true)
        .stderr(false)
        .stdin(false);
    let mut p = pods.exec("probe", argv, &ap).await.expect("exec");
    let mut out = String::new();
    if let Some(mut so) = p.stdout() {
        so.read_to_string(&mut out).await.expect("stdout");
    }
    out
}

/// Lines, sorted (record order is shuffled per reply).
fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_local_with_dig_and_busybox() {
    let Some((dig_bin, busybox)) = tools("cluster_local_with_dig_and_busybox") else {
        return;
    };
    let f = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let a = f.client("a").await.unwrap();
    let dns = f.fleet.cluster("a").unwrap().cluster.dns_addr();
    namespace(&a).await;
    create::<Deployment>(&a, sleeper("web", 1)).await;
    create::<Deployment>(&a, sleeper("big", 120)).await;
    let port = json!([{"name": "http", "port": 80, "targetPort": 80}]);
    create::<Service>(
        &a,
        json!({"metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": port}}),
    )
    .await;
    create::<Service>(
        &a,
        json!({"metadata": {"name": "big"},
        "spec": {"clusterIP": "None", "selector": {"app": "big"}, "ports": port}}),
    )
    .await;
    let vip: IpAddr = Api::<Service>::namespaced(a.clone(), NS)
        .get("web")
        .await
        .unwrap()
        .spec
        .unwrap()
        .cluster_ip
        .unwrap()
        .parse()
        .unwrap();
    let big = pod_ips(&a, "big", 120).await;

    // A, TTL 30, authoritative, and busybox's view of it.
    let web = format!("web.{NS}.svc.cluster.local.");
    let out = dig(&dig_bin, dns, &["+noall", "+answer", "+comments", &web]);
    assert!(out.stdout.contains("flags: qr aa rd;"), "{}", out.stdout);
    assert_eq!(
        records(&out),
        vec![vec![
            web.clone(),
            "30".into(),
            "IN".into(),
            "A".into(),
            vip.to_string()
        ]]
    );
    let bb = nslookup(&busybox, dns, &[&web]);
    assert!(
        bb.stdout.contains(&format!("Address: {vip}")),
        "{}",
        bb.stdout
    );

    // PTR of the ClusterIP and of a pod IP behind the headless Service.
    let out = dig(
        &dig_bin,
        dns,
        &["+noall", "+answer", "-x", &vip.to_string()],
    );
    assert_eq!(records(&out)[0][4], web, "{}", out.stdout);
    let pod = big[0];
    let out = dig(
        &dig_bin,
        dns,
        &["+noall", "+answer", "-x", &pod.to_string()],
    );
    let dashed = pod.to_string().replace('.', "-");
    assert_eq!(
        records(&out),
        vec![vec![
            reverse(pod),
            "30".into(),
            "IN".into(),
            "PTR".into(),
            format!("{dashed}.big.{NS}.svc.cluster.local.")
        ]]
    );
    let bb = nslookup(&busybox, dns, &[&vip.to_string()]);
    assert!(
        bb.stdout
            .contains(&format!("name = {}", web.trim_end_matches('.'))),
        "{}",
        bb.stdout
    );
    assert_eq!(bb.code, Some(0));

    // A name outside the cluster zones: no upstream → SERVFAIL, as CoreDNS without forward.
    let out = dig(&dig_bin, dns, &["example.com", "A"]);
    assert_eq!(status(&out), "SERVFAIL", "{}", out.stdout);
    let bb = nslookup(&busybox, dns, &["example.com"]);
    assert!(
        bb.stdout
            .contains("** server can't find example.com: SERVFAIL"),
        "{}",
        bb.stdout
    );
    assert_eq!(bb.code, Some(1));

    // Pod A records (`pods insecure`) and the schema version.
    let name = format!("{dashed}.{NS}.pod.cluster.local.");
    let out = dig(&dig_bin, dns, &["+short", &name]);
    assert_eq!(out.stdout.trim(), pod.to_string());
    let out = dig(
        &dig_bin,
        dns,
        &["+short", "TXT", "dns-version.cluster.local."],
    );
    assert_eq!(out.stdout.trim(), "\"1.1.0\"");
    let out = dig(
        &dig_bin,
        dns,
        &["+noall", "+answer", "SRV", &format!("_http._tcp.{web}")],
    );
    assert_eq!(records(&out)[0][4..], ["0", "100", "80", web.as_str()]);

    // 120 endpoints: UDP without EDNS holds 29 and sets TC; TCP gets all 120; dig's own
    // retry after TC gets all of them too.
    let host = format!("big.{NS}.svc.cluster.local.");
    let out = dig(
        &dig_bin,
        dns,
        &[
            "+noedns",
            "+ignore",
            "+noall",
            "+answer",
            "+comments",
            &host,
        ],
    );
    assert!(out.stdout.contains(" tc "), "TC set: {}", out.stdout);
    let udp = records(&out);
    assert_eq!(udp.len(), 29, "{}", out.stdout);
    assert!(udp.iter().all(|r| big.contains(&r[4].parse().unwrap())));
    for args in [&["+tcp"][..], &[]] {
        let mut a = args.to_vec();
        a.extend(["+noall", "+answer", host.as_str()]);
        let out = dig(&dig_bin, dns, &a);
        let mut got: Vec<IpAddr> = records(&out)
            .iter()
            .map(|r| r[4].parse().unwrap())
            .collect();
        got.sort();
        let mut want = big.clone();
        want.sort();
        assert_eq!(got, want, "{args:?}");
    }
    let bb = nslookup(&busybox, dns, &["-type=a", &host]);
    let shown: Vec<&str> = bb
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Address: "))
        .collect();
    assert_eq!(
        shown.len(),
        29,
        "busybox prints the records that fit: {}",
        bb.stdout
    );
    assert!(shown.iter().all(|ip| big.contains(&ip.parse().unwrap())));

    // The sim's emulated busybox nslookup prints what the real one prints.
    create::<Pod>(
        &a,
        json!({"metadata": {"name": "probe"}, "spec": {"containers": [
        {"name": "p", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(a.clone(), NS);
    eventually(30, "probe running", || async {
        (pods.get("probe").await.ok()?.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    let vip_text = vip.to_string();
    let addresses = |s: &str| s.lines().filter(|l| l.starts_with("Address: ")).count();
    // Which 29 of the 120 fit differs per reply (shuffled): there, compare the shape.
    let shape = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split(": ").next().unwrap_or("").to_string())
            .collect()
    };
    for args in [
        &["-type=a", host.as_str()][..],
        &[vip_text.as_str()],
        &["example.com"],
        &["-type=txt", "dns-version.cluster.local"],
    ] {
        let emulated = emulated_nslookup(&a, args).await;
        let real = nslookup(&busybox, dns, args).stdout;
        assert_eq!(addresses(&emulated), addresses(&real), "{args:?}");
        if args[0] == "-type=a" {
            assert_eq!(shape(&emulated), shape(&real), "{args:?}");
        } else {
            assert_eq!(sorted_lines(&emulated), sorted_lines(&real), "{args:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kep_1645_names_with_dig_and_busybox() {
    let Some((dig_bin, busybox)) = tools("kep_1645_names_with_dig_and_busybox") else {
        return;
    };
    let opts = EmbeddedOptions {
        flavour: Flavour::Upstream,
        ..Default::default()
    };
    let f = EmbeddedFleet::start(&opts).await.unwrap();
    let (a, b) = (f.client("a").await.unwrap(), f.client("b").await.unwrap());
    let dns_b = f.fleet.cluster("b").unwrap().cluster.dns_addr();
    // The cluster id comes from the ClusterProperty the fleet sets up (KEP-2149).
    let gvk = GroupVersionKind::gvk("about.k8s.io", "v1alpha1", "ClusterProperty");
    let props: Api<DynamicObject> = Api::all_with(
        a.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, "clusterproperties"),
    );
    let id = props.get("cluster.clusterset.k8s.io").await.unwrap();
    assert_eq!(id.data["spec"]["value"], "a");

    namespace(&a).await;
    namespace(&b).await;
    let port = json!([{"name": "http", "port": 80, "targetPort": 80}]);
    create::<Service>(
        &a,
        json!({"metadata": {"name": "hl"},
        "spec": {"clusterIP": "None", "selector": {"app": "hl"}, "ports": port}}),
    )
    .await;
    let mut ss = sleeper("hl", 2);
    ss["spec"]["serviceName"] = json!("hl");
    create::<StatefulSet>(&a, ss).await;
    let export: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1",
        "kind": "ServiceExport", "metadata": {"name": "hl"}}))
        .unwrap();
    let gvk = GroupVersionKind::gvk("multicluster.x-k8s.io", "v1alpha1", "ServiceExport");
    Api::<DynamicObject>::namespaced_with(a.clone(), NS, &ApiResource::from_gvk(&gvk))
        .create(&PostParams::default(), &export)
        .await
        .unwrap();
    let ips = pod_ips(&a, "hl", 2).await;

    let out = dig(
        &dig_bin,
        dns_b,
        &["+noall", "+answer", "TXT", "dns-version.clusterset.local."],
    );
    assert_eq!(
        records(&out),
        vec![vec![
            "dns-version.clusterset.local.".to_string(),
            "28800".into(),
            "IN".into(),
            "TXT".into(),
            "\"1.1.0\"".into()
        ]]
    );
    let base = format!("hl.{NS}.svc.clusterset.local.");
    let srv = eventually(30, "two SRV records in b", || async {
        let out = dig(&dig_bin, dns_b, &["+noall", "+answer", "SRV", &base]);
        let r = records(&out);
        (r.len() == 2).then_some(r)
    })
    .await;
    let mut targets: Vec<&str> = srv.iter().map(|r| r[7].as_str()).collect();
    targets.sort();
    let want = [format!("hl-0.a.{base}"), format!("hl-1.a.{base}")];
    assert_eq!(targets, want);
    assert!(
        srv.iter()
            .all(|r| r[1] == "30" && r[4..7] == ["0", "50", "80"]),
        "{srv:?}"
    );
    for host in &want {
        let out = dig(&dig_bin, dns_b, &["+short", host]);
        let ip: IpAddr = out.stdout.trim().parse().expect(&out.stdout);
        assert!(ips.contains(&ip), "{host} → {ip}");
        let bb = nslookup(&busybox, dns_b, &["-type=a", host]);
        assert!(
            bb.stdout.contains(&format!("Address: {ip}")),
            "{}",
            bb.stdout
        );
    }
    // Without the cluster id there is no such name (CoreDNS multicluster).
    let out = dig(&dig_bin, dns_b, &[&format!("hl-0.{base}")]);
    assert_eq!(status(&out), "NXDOMAIN", "{}", out.stdout);
    let out = dig(&dig_bin, dns_b, &["+short", &base]);
    let mut all: Vec<IpAddr> = out.stdout.lines().map(|l| l.parse().unwrap()).collect();
    all.sort();
    let mut want = ips.clone();
    want.sort();
    assert_eq!(all, want);
}
