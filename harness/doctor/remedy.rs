//! What to do about each diagnosis: the remedy text printed under the first broken link
//! (one function per [`DiagnosisId`], named in its table in `id`). Commands name the cluster as `--context <cluster>` (the logical name,
//! which is the kubeconfig context unless `--cluster NAME=CONTEXT` renamed it) and use the
//! placeholder `PROJECT_ID` where a GCP project is needed (the CLI fills it in when known).

use mcs_importer::Flavour;

use super::id::DiagnosisId;
use super::profile::Implementation;

/// The GKE importer's Kubernetes service account, as IAM names it (the classic member form;
/// the doctor also accepts the `principal://…` form, see `gcloud::is_importer_member`).
pub fn gke_importer_member(project: &str) -> String {
    format!("serviceAccount:{project}.svc.id.goog[gke-mcs/gke-mcs-importer]")
}

/// Google's health-check source ranges, which MCS's `gke-<cluster>-<hash>-mcsd` firewall rule
/// allows (gke-reality.md §1.6).
pub const HEALTH_CHECK_RANGES: &str = "130.211.0.0/22, 35.191.0.0/16";

/// The IAM role GKE's importer needs.
pub const NETWORK_VIEWER: &str = "roles/compute.networkViewer";

/// The `gcloud` command granting the importer its role.
pub fn iam_grant_command(project: &str) -> String {
    format!(
        "gcloud projects add-iam-policy-binding {project} --member \"{}\" --role \"{NETWORK_VIEWER}\"",
        gke_importer_member(project)
    )
}

/// Where a remedy applies.
pub struct Scope<'a> {
    /// Flavour of the fleet.
    pub flavour: Flavour,
    /// Upstream: the implementation profile the doctor judged by.
    pub implementation: Option<Implementation>,
    /// Namespace of the service.
    pub namespace: &'a str,
    /// The service.
    pub service: &'a str,
    /// Cluster of the broken link.
    pub cluster: &'a str,
}

impl Scope<'_> {
    fn kubectl(&self) -> String {
        format!("kubectl --context {} -n {}", self.cluster, self.namespace)
    }

    /// The Traffic Director check of the service's endpoints (GKE, gke-reality.md §1.6):
    /// MCS programs backend services `gkemcs-<ns>-<svc>-tcp-<port>` whose health checks
    /// decide which endpoints are imported.
    fn traffic_director(&self) -> String {
        format!(
            "on GKE the imported endpoints follow Traffic Director's health checks: \
             `gcloud compute backend-services get-health gkemcs-{}-{}-tcp-PORT --global --project \
             PROJECT_ID` (PORT: the service port), and the importer's `Update from <zone> with N \
             negs` log lines",
            self.namespace, self.service
        )
    }

    fn mcsd_firewall(&self) -> String {
        format!(
            "the MCS firewall rule `gke-{}-<hash>-mcsd` (priority 900) must allow the fleet's pod \
             ranges and Google's health-check ranges {HEALTH_CHECK_RANGES}: `gcloud compute \
             firewall-rules list --filter name~mcsd --project PROJECT_ID`",
            self.cluster
        )
    }

    fn api_version(&self) -> String {
        match self.flavour {
            Flavour::Gke => format!("{}/{}", self.flavour.group(), self.flavour.version()),
            // mcs-api v0.5 stores v1beta1 and still serves v1alpha1 (gke-reality.md §4).
            Flavour::Upstream => format!(
                "{}/v1beta1, or v1alpha1 where only that is served",
                self.flavour.group()
            ),
        }
    }

    fn importer_logs(&self) -> String {
        match (self.flavour, self.implementation) {
            (Flavour::Gke, _) => format!(
                "kubectl --context {} -n gke-mcs logs deploy/gke-mcs-importer --tail 50 (GKE) \
                 or the output of `mcs-harness importer` (kind)",
                self.cluster
            ),
            (Flavour::Upstream, Some(i)) => format!("the logs of {}", i.profile().controller),
            (Flavour::Upstream, None) => "the logs of your MCS controller (e.g. the mcs-api \
                                          controller, Submariner lighthouse, Cilium clustermesh)"
                .to_string(),
        }
    }
}

/// The remedy of diagnosis `id` in `scope` (the function its row in `id` names).
pub fn remedy(id: DiagnosisId, s: &Scope<'_>) -> String {
    id.remedy(s)
}

pub(crate) fn endpoints_empty(s: &Scope<'_>) -> String {
    match s.flavour {
        Flavour::Gke => format!("{}; {}", importer_work(s), s.traffic_director()),
        Flavour::Upstream => importer_work(s),
    }
}

pub(crate) fn endpoints_stale(s: &Scope<'_>) -> String {
    match s.flavour {
        Flavour::Gke => format!("{}; {}", endpoints_empty(s), s.mcsd_firewall()),
        Flavour::Upstream => importer_work(s),
    }
}

pub(crate) fn propagating(_: &Scope<'_>) -> String {
    "wait and run the doctor again: MCS propagation takes up to 5 minutes on GKE (up to 20 \
     for the first service of a fleet, and a membership in state PENDING is still being set \
     up)"
    .to_string()
}

pub(crate) fn service_missing(s: &Scope<'_>) -> String {
    let (k, svc, ns) = (s.kubectl(), s.service, s.namespace);
    format!(
        "create Service {ns}/{svc} in cluster {} ({k} apply -f app.yaml), or delete the \
         ServiceExport there ({k} delete serviceexport {svc})",
        s.cluster
    )
}

pub(crate) fn external_name(_: &Scope<'_>) -> String {
    "ExternalName Services cannot be exported: export a ClusterIP (or headless) Service with a \
     selector instead"
        .to_string()
}

pub(crate) fn selector_matches_nothing(s: &Scope<'_>) -> String {
    let (k, svc) = (s.kubectl(), s.service);
    format!(
        "make spec.selector of Service {svc} match the pod template labels (compare `{k} get \
         svc {svc} -o yaml` with `{k} get pods --show-labels`), or scale the workload up"
    )
}

pub(crate) fn pods_not_ready(s: &Scope<'_>) -> String {
    let k = s.kubectl();
    format!(
        "find out why the pods are not ready: `{k} describe pods -l <selector>` (readiness \
         probe, image pull, crash loop) and `{k} logs <pod>`"
    )
}

pub(crate) fn export_not_exported(s: &Scope<'_>) -> String {
    let (k, svc) = (s.kubectl(), s.service);
    format!(
        "export the Service: apply a ServiceExport named {svc} (apiVersion {}) in the cluster \
         that runs it, then check its conditions: `{k} get serviceexport {svc} -o yaml`",
        s.api_version()
    )
}

pub(crate) fn export_conflict(s: &Scope<'_>) -> String {
    let (k, svc) = (s.kubectl(), s.service);
    format!(
        "make the exported Services agree (ports, type, session affinity) in every exporting \
         cluster; the oldest export wins until they do. See the Conflict condition: `{k} get \
         serviceexport {svc} -o yaml`"
    )
}

pub(crate) fn namespace_missing(s: &Scope<'_>) -> String {
    format!(
        "create the namespace to opt in: `kubectl --context {} create namespace {}` (MCS imports \
         only into clusters where the namespace exists)",
        s.cluster, s.namespace
    )
}

/// Remedies of DNS and reachability (GKE parts: gke-reality.md §1.6, §1.7, §2 F1, F2, F6).
pub(crate) fn dns_answer(s: &Scope<'_>) -> String {
    let (svc, ns, c) = (s.service, s.namespace, s.cluster);
    format!(
        "the cluster DNS does not serve the import's address for \
         {svc}.{ns}.svc.clusterset.local: on GKE MCS keeps it in a private Cloud DNS zone \
         `gke-multi-cluster-service-*` of the fleet host project (`gcloud dns managed-zones \
         list --filter name~gke-multi-cluster-service --project PROJECT_ID`; MCS has been seen \
         deleting it, and `gcloud container fleet multi-cluster-services describe` shows the \
         membership states); with Shared VPC across projects the zone is visible only to the \
         fleet host project's clusters, so service-project clusters get NXDOMAIN (a known GKE \
         gap); on kind check the clusterset.local entries of the CoreDNS ConfigMap (`kubectl \
         --context {c} -n kube-system get configmap coredns -o yaml`)"
    )
}

pub(crate) fn dns_failed(s: &Scope<'_>) -> String {
    format!(
        "the cluster DNS fails: check the DNS pods (`kubectl --context {} -n kube-system get \
         pods -l k8s-app=kube-dns`) and their logs, and the pod's /etc/resolv.conf; GKE \
         Autopilot (and clusters using Cloud DNS) have no kube-dns pods: check the cluster's \
         Cloud DNS configuration instead",
        s.cluster
    )
}

pub(crate) fn unreachable(s: &Scope<'_>) -> String {
    format!(
        "DNS resolves but no HTTP answer comes back from cluster {}: on GKE {}, and \
         NetworkPolicy is not supported for MCS traffic; check NetworkPolicies in {}, that the \
         pods listen on the Service's targetPort, and {}",
        s.cluster,
        s.mcsd_firewall(),
        s.namespace,
        s.traffic_director()
    )
}

pub(crate) fn mcs_not_enabled(s: &Scope<'_>) -> String {
    match s.flavour {
        Flavour::Gke => format!(
            "enable MCS for the fleet and check that cluster {c} is a member: `gcloud container \
             fleet multi-cluster-services enable --project PROJECT_ID`, `gcloud container fleet \
             memberships list --project PROJECT_ID`, then `gcloud container fleet \
             multi-cluster-services describe --project PROJECT_ID` (its membership state should \
             be OK); the CRDs arrive asynchronously: `kubectl --context {c} get crd \
             serviceexports.net.gke.io serviceimports.net.gke.io`",
            c = s.cluster
        ),
        Flavour::Upstream => format!(
            "install the MCS API (the multicluster.x-k8s.io ServiceExport and ServiceImport \
             CRDs) and an MCS controller in cluster {c}: `kubectl --context {c} get crd \
             serviceexports.multicluster.x-k8s.io serviceimports.multicluster.x-k8s.io`",
            c = s.cluster
        ),
    }
}

pub(crate) fn importer_work(s: &Scope<'_>) -> String {
    format!(
        "the importer has not (re)written the imported objects: check its logs ({}) and Warning \
         Events (`{} get events --field-selector type=Warning`); on GKE also check the fleet \
         membership states (`gcloud container fleet multi-cluster-services describe`) and the \
         importer's IAM role ({})",
        s.importer_logs(),
        s.kubectl(),
        NETWORK_VIEWER
    )
}

pub(crate) fn importer_down(s: &Scope<'_>) -> String {
    match s.flavour {
        Flavour::Gke => format!(
            "the importer is not running in cluster {c}: check `kubectl --context {c} -n gke-mcs \
             get pods,events` and that MCS is enabled for the fleet (`gcloud container fleet \
             multi-cluster-services enable --project PROJECT_ID`); on kind start it with \
             `mcs-harness importer --context …`",
            c = s.cluster
        ),
        Flavour::Upstream => format!(
            "the MCS controller is not running: start it (for the simulated importer: \
             `mcs-harness importer --flavour upstream --context …`) and check its logs; its \
             heartbeat is Lease gke-mcs/gke-mcs-importer in cluster {}",
            s.cluster
        ),
    }
}

pub(crate) fn permission(s: &Scope<'_>) -> String {
    let rbac = "on kind or the embedded fleet, let system:serviceaccount:gke-mcs:gke-mcs-importer \
                get, list and watch endpoints and endpointslices in every exporting cluster \
                (on the embedded fleet: delete the Fault that denies it, `kubectl get faults`)";
    match s.flavour {
        Flavour::Gke => format!(
            "grant the importer's identity {NETWORK_VIEWER}:\n  {}\n{rbac}",
            iam_grant_command("PROJECT_ID")
        ),
        Flavour::Upstream => format!(
            "give the MCS controller read access (get, list, watch) to endpointslices in every \
             exporting cluster; {rbac}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_a_remedy_and_a_readme_line() {
        let readme = include_str!("../../README.md");
        for flavour in Flavour::ALL {
            let s = Scope {
                flavour,
                implementation: None,
                namespace: "ns",
                service: "svc",
                cluster: "b",
            };
            for id in DiagnosisId::ALL {
                assert!(!remedy(id, &s).is_empty(), "{id}");
                assert!(readme.contains(&format!("`{id}`")), "README misses {id}");
            }
        }
    }

    #[test]
    fn gke_permission_remedy_is_the_gcloud_command() {
        let s = Scope {
            flavour: Flavour::Gke,
            implementation: None,
            namespace: "ns",
            service: "svc",
            cluster: "b",
        };
        assert!(remedy(DiagnosisId::ImporterPermissionDenied, &s).contains(
            "gcloud projects add-iam-policy-binding PROJECT_ID --member \
             \"serviceAccount:PROJECT_ID.svc.id.goog[gke-mcs/gke-mcs-importer]\" --role \
             \"roles/compute.networkViewer\""
        ));
    }
}
