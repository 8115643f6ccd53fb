//! Background probe tasks: one sampling task per probing cluster, DNS and/or HTTP samples
//! at a fixed rate until stopped; answers are attributed to clusters by the answering
//! pod's IP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::ProbeSample;
use crate::probe::{DnsResult, ProbePod};

/// Upper bound of one sample.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A probe that is running.
pub(super) struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Vec<ProbeSample>>>,
    started: Instant,
    started_at: SystemTime,
}

/// What one sampling task needs (owned: it outlives the step that started it).
struct Sampler {
    probe: ProbePod,
    dns: Option<String>,
    url: Option<String>,
    status: u16,
    interval: Duration,
    origin: Instant,
    owners: Arc<Owners>,
}

/// Finds the cluster of a pod IP (answers are attributed by the answering pod's IP).
struct Owners {
    clusters: Vec<(String, Client)>,
    namespace: String,
    map: tokio::sync::Mutex<BTreeMap<String, String>>,
}

impl Owners {
    async fn cluster_of(&self, ip: &str) -> Option<String> {
        let mut map = self.map.lock().await;
        if let Some(c) = map.get(ip) {
            return Some(c.clone());
        }
        // Unknown IP (a new pod): refresh from every cluster's pods in the namespace.
        for (name, client) in &self.clusters {
            let pods = Api::<Pod>::namespaced(client.clone(), &self.namespace);
            let Ok(list) = pods.list(&ListParams::default()).await else {
                continue;
            };
            for p in list.items {
                if let Some(pip) = p.status.and_then(|s| s.pod_ip) {
                    map.insert(pip, name.clone());
                }
            }
        }
        map.get(ip).cloned()
    }
}

/// One probing cluster's sampler: its probe pod and what it samples.
pub(super) struct Lane {
    /// The probe pod.
    pub probe: ProbePod,
    /// Name to resolve each round.
    pub dns: Option<String>,
    /// URL to fetch each round.
    pub url: Option<String>,
}

impl Running {
    /// Starts one sampling task per lane, every `interval`; HTTP answers count as ok with
    /// `status`. `clusters` (in `namespace`) attribute answers; `parent` cancels them all.
    pub(super) fn start(
        lanes: Vec<Lane>,
        status: u16,
        interval: Duration,
        clusters: Vec<(String, Client)>,
        namespace: &str,
        parent: &CancellationToken,
    ) -> Running {
        let owners = Arc::new(Owners {
            clusters,
            namespace: namespace.to_string(),
            map: tokio::sync::Mutex::default(),
        });
        let stop = parent.child_token();
        let (started, started_at) = (Instant::now(), SystemTime::now());
        let tasks = lanes
            .into_iter()
            .map(|l| {
                let sampler = Sampler {
                    probe: l.probe,
                    dns: l.dns,
                    url: l.url,
                    status,
                    interval,
                    origin: started,
                    owners: owners.clone(),
                };
                tokio::spawn(sampler.run(stop.clone()))
            })
            .collect();
        Running {
            stop,
            tasks,
            started,
            started_at,
        }
    }

    /// Stops sampling and returns (start time, duration, samples in time order).
    pub(super) async fn finish(self) -> (SystemTime, Duration, Vec<ProbeSample>) {
        self.stop.cancel();
        let mut samples = Vec::new();
        for t in self.tasks {
            samples.extend(t.await.unwrap_or_default());
        }
        samples.sort_by_key(|s| s.offset);
        (self.started_at, self.started.elapsed(), samples)
    }

    /// Stops sampling without a report (scenario ended early).
    pub(super) fn abort(self) {
        self.stop.cancel();
    }
}

impl Sampler {
    async fn run(self, stop: CancellationToken) -> Vec<ProbeSample> {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return samples,
            }
            if let Some(name) = &self.dns {
                samples.push(self.dns_sample(name).await);
            }
            if let Some(url) = &self.url {
                samples.push(self.http_sample(url).await);
            }
        }
    }

    fn sample(
        &self,
        t0: Instant,
        kind: &str,
        ok: bool,
        served_by: Option<String>,
        detail: String,
    ) -> ProbeSample {
        ProbeSample {
            offset: t0.duration_since(self.origin),
            latency: t0.elapsed(),
            from: self.probe.cluster().to_string(),
            kind: kind.to_string(),
            ok,
            served_by,
            detail,
        }
    }

    async fn dns_sample(&self, name: &str) -> ProbeSample {
        let t0 = Instant::now();
        let (ok, detail) = match tokio::time::timeout(SAMPLE_TIMEOUT, self.probe.dns(name)).await {
            Ok(Ok(DnsResult::Answer(ips))) if !ips.is_empty() => {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                (true, list.join(","))
            }
            Ok(Ok(DnsResult::Answer(_))) => (false, "empty answer".to_string()),
            Ok(Ok(DnsResult::NxDomain)) => (false, "NXDOMAIN".to_string()),
            Ok(Ok(DnsResult::Failed(m))) => (false, m),
            Ok(Err(e)) => (false, format!("probe error: {e}")),
            Err(_) => (false, format!("no answer within {SAMPLE_TIMEOUT:?}")),
        };
        self.sample(t0, "dns", ok, None, detail)
    }

    async fn http_sample(&self, url: &str) -> ProbeSample {
        let t0 = Instant::now();
        let budget = SAMPLE_TIMEOUT.saturating_sub(Duration::from_millis(200));
        let res = tokio::time::timeout(SAMPLE_TIMEOUT, self.probe.http(url, budget)).await;
        let (ok, served_by, detail) = match res {
            Ok(Ok(r)) => {
                let ip = r.backend.as_ref().and_then(|b| b.pod_ip.clone());
                let served_by = match ip {
                    Some(ip) => self.owners.cluster_of(&ip).await,
                    None => None,
                };
                let detail = match (r.status, &r.error) {
                    (Some(s), _) => format!("HTTP {s}"),
                    (None, Some(e)) => e.clone(),
                    (None, None) => "no response".to_string(),
                };
                (r.status == Some(self.status), served_by, detail)
            }
            Ok(Err(e)) => (false, None, format!("probe error: {e}")),
            Err(_) => (
                false,
                None,
                format!("no response within {SAMPLE_TIMEOUT:?}"),
            ),
        };
        self.sample(t0, "http", ok, served_by, detail)
    }
}
