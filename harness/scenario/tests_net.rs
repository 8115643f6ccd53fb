//! Unit tests of the issue-17 network assertions: `expectDns` record types and answers,
//! and `expectConnect`, as parsed and as refused (with the position).

use super::*;

fn steps(body: &str) -> Result<Vec<Step>, ScenarioError> {
    let text = format!("name: net\nclusters: [a, b]\nflavour: upstream\nsteps:\n{body}");
    parse(&text, "net.yaml").map(|s| s.steps)
}

fn err(body: &str) -> String {
    match steps(body) {
        Ok(_) => panic!("accepted: {body}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn typed_dns_answers_parse() {
    let s = steps(
        r#"  - expectDns: {from: a, name: x.y, type: SRV, answer: {srv: [{port: 42, target: "h.{{ namespace }}.svc"}]}}
  - expectDns: {from: a, name: x.y, type: SRV, answer: {count: 2, port: 42}}
  - expectDns: {from: b, name: x.y, type: AAAA, answer: {count: 0}}
  - expectDns: {from: b, name: x.y, type: A, answer: {pod: hello-ss-0, cluster: a}}
  - expectDns: {from: b, name: x.y, answer: cluster-ip}
  - expectDns: {from: b, name: x.y, type: SRV, answer: nxdomain}
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dns: Vec<(Option<DnsType>, DnsAnswer)> = s
        .iter()
        .map(|st| match &st.action {
            Action::ExpectDns(d) => (d.record_type, d.answer.value.clone()),
            other => panic!("{}", other.kind()),
        })
        .collect();
    assert_eq!(
        dns[0],
        (
            Some(DnsType::SRV),
            DnsAnswer::Srv {
                srv: vec![SrvRecordDoc {
                    port: 42,
                    target: "h.{{ namespace }}.svc".into()
                }]
            }
        )
    );
    assert_eq!(
        dns[1].1,
        DnsAnswer::Count {
            count: 2,
            port: Some(42)
        }
    );
    assert_eq!(dns[2].0, Some(DnsType::AAAA));
    assert_eq!(
        dns[3].1,
        DnsAnswer::Pod {
            pod: "hello-ss-0".into(),
            cluster: "a".into()
        }
    );
    assert_eq!(dns[4], (None, DnsAnswer::Keyword("cluster-ip".into())));
}

#[test]
fn typed_dns_answers_must_fit_the_type() {
    let cases = [
        (
            "  - expectDns: {from: a, name: x.y, answer: {srv: [{port: 1, target: t}]}}\n",
            "needs `type: SRV`",
        ),
        (
            "  - expectDns: {from: a, name: x.y, type: SRV, answer: import-ip}\n",
            "does not fit `type: SRV`",
        ),
        (
            "  - expectDns: {from: a, name: x.y, type: SRV, answer: [10.0.0.1]}\n",
            "addresses do not fit",
        ),
        (
            "  - expectDns: {from: a, name: x.y, answer: {count: 1, port: 42}}\n",
            "`port` in a count answer needs `type: SRV`",
        ),
        (
            "  - expectDns: {from: a, name: x.y, answer: {pod: p, cluster: c}}\n",
            "cluster \"c\" is not declared",
        ),
        (
            "  - expectDns: {from: a, name: x.y, type: MX, answer: nxdomain}\n",
            "MX",
        ),
    ];
    for (body, want) in cases {
        let e = err(body);
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.starts_with("net.yaml:5:"), "{e}");
    }
}

#[test]
fn expect_connect_defaults_and_errors() {
    let s = steps(
        "  - expectConnect: {from: a, host: h.x, port: 42, protocol: UDP, contains: pod ip, servedBy: [b], hold: 10}\n  - expectConnect: {from: b, host: h.x, port: 42, reachable: false}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Action::ExpectConnect(c) = &s[0].action else {
        panic!("expectConnect")
    };
    assert_eq!(c.protocol, Protocol::UDP);
    assert_eq!((c.hold, c.contains.as_deref()), (Some(10), Some("pod ip")));
    assert!(c.reachable);
    let Action::ExpectConnect(c) = &s[1].action else {
        panic!("expectConnect")
    };
    assert_eq!(
        (c.protocol, c.reachable, c.send.is_none()),
        (Protocol::TCP, false, true)
    );
    for (body, want) in [
        (
            "  - expectConnect: {from: a, host: h, port: 42, send: \"a;rm\"}\n",
            "letters, digits",
        ),
        (
            "  - expectConnect: {from: c, host: h, port: 42}\n",
            "not declared",
        ),
        ("  - expectConnect: {from: a, host: h, port: 0}\n", "port 0"),
        (
            "  - expectConnect: {from: a, host: h, port: 42, hold: 0}\n",
            "hold: 0",
        ),
        (
            "  - expectConnect: {from: a, host: h, port: 42, reachable: false, servedBy: [a]}\n",
            "servedBy needs",
        ),
        ("  - expectConnect: {from: a, host: h, port: 70000}\n", "5:"),
        (
            "  - expectConnect: {from: a, host: \"{{ nope }}\", port: 1}\n",
            "nope",
        ),
    ] {
        let e = err(body);
        assert!(e.contains(want), "{body}: {e}");
    }
}
