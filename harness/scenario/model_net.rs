//! Scenario types of the network assertions added for KEP-1645 conformance (issue 17):
//! the record type of `expectDns`, its SRV answers, and `expectConnect` (a TCP or UDP
//! exchange with busybox `nc` from a probe pod, as the upstream suite's connectivity specs
//! do with `echo hi | nc …`).

use schemars::JsonSchema;
use serde::Deserialize;

use super::model::SpannedStr;

/// The DNS record type `expectDns` queries (`nslookup -type=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum DnsType {
    /// IPv4 addresses only.
    A,
    /// IPv6 addresses only.
    #[allow(clippy::upper_case_acronyms)]
    AAAA,
    /// Service records (`priority weight port target`).
    #[allow(clippy::upper_case_acronyms)]
    SRV,
}

impl DnsType {
    /// The `nslookup -type=` value.
    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::AAAA => "AAAA",
            DnsType::SRV => "SRV",
        }
    }
}

/// One expected SRV record: its port and target (templated; compared without a trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SrvRecordDoc {
    /// The record's port.
    pub port: u16,
    /// The record's target name, e.g. `hello.{{ namespace }}.svc.clusterset.local`.
    pub target: String,
}

/// Transport of `expectConnect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Protocol {
    /// A TCP connection: stdin sent, the reply read until the peer closes or `nc -w` expires.
    #[default]
    #[allow(clippy::upper_case_acronyms)]
    TCP,
    /// One UDP datagram sent, replies read until `nc -w` expires.
    #[allow(clippy::upper_case_acronyms)]
    UDP,
}

/// `expectConnect`: `echo SEND | nc [-u] -w 2 HOST PORT` in the probe pod of `from`, and
/// what the reply must (or must not) contain.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectConnectAction {
    /// Cluster whose probe pod connects.
    #[schemars(with = "String")]
    pub from: SpannedStr,
    /// Host name or IP (templated), e.g. `hello.{{ namespace }}.svc.clusterset.local`.
    #[schemars(with = "String")]
    pub host: SpannedStr,
    /// Port.
    pub port: u16,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Protocol,
    /// What is sent (default `hi`, as the upstream suite sends); letters, digits, space and
    /// `.-_:` only, since it goes through `echo` in a shell.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub send: Option<SpannedStr>,
    /// Text the reply must contain (default: any reply at all), e.g. `pod ip`.
    #[serde(default)]
    pub contains: Option<String>,
    /// `true` (default): the reply must contain `contains`; `false`: no attempt may (the
    /// step fails at the first reply that does, as Gomega's `Consistently`).
    #[serde(default = "super::model::yes")]
    pub reachable: bool,
    /// The reply must name (by pod IP) a ready backend pod of the host's Service in one of
    /// these clusters.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub served_by: Option<Vec<SpannedStr>>,
    /// Consecutive passing attempts required (default 1; the upstream suite's
    /// `MustPassRepeatedly`).
    #[serde(default)]
    pub hold: Option<u32>,
    /// `nc -w` seconds per attempt (default 2, as upstream).
    #[serde(default)]
    pub wait_seconds: Option<u32>,
}
