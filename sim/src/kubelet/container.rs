//! One container's life on the node, as the kubelet drives it: pull the image (events
//! `Pulling`/`Pulled`, or `ErrImagePull` → `ImagePullBackOff` with back-off), build the
//! environment (`CreateContainerConfigError`), create and start the process (`Created`,
//! `Started`, or `StartError`), probe it, and when it exits restart it per `restartPolicy`
//! with CrashLoopBackOff (first restart at once, then 10 s doubling to 300 s, reset after
//! 10 minutes of quiet — kubelet's back-off, on the compressed clock); a failed liveness or
//! startup probe kills it (`Killing`) and it restarts. On pod termination: `Killing`,
//! preStop hook, SIGTERM, SIGKILL when the grace period ends.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::image::{self, Family};
use super::process;
use super::runtime::PodCtx;
use super::status::State;
use crate::events::{self, Kind as EvKind, Source};
use crate::exec::Process;
use crate::store::now_rfc3339;

/// kubelet's back-off: initial and maximum delay (simulated seconds).
const BACKOFF_INITIAL: f64 = 10.0;
const BACKOFF_MAX: f64 = 300.0;

/// CrashLoopBackOff / ImagePullBackOff state of one container.
#[derive(Default)]
struct Backoff {
    current: Option<f64>,
    updated: Option<Instant>,
}

impl Backoff {
    /// The delay before the next try (0 the first time), as `flowcontrol.Backoff` computes
    /// it; `quiet` resets it after 2 × max of no failures.
    fn next(&mut self, ctx: &PodCtx) -> f64 {
        let reset = ctx.cluster.time.secs(2.0 * BACKOFF_MAX);
        if self.updated.is_some_and(|t| t.elapsed() > reset) {
            self.current = None;
        }
        self.updated = Some(Instant::now());
        let delay = self.current.unwrap_or(0.0);
        self.current = Some(match self.current {
            None => BACKOFF_INITIAL,
            Some(d) => (d * 2.0).min(BACKOFF_MAX),
        });
        delay
    }
}

/// Which container of the pod.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    init: bool,
    idx: usize,
}

fn spec(ctx: &PodCtx, s: Slot) -> Value {
    let f = if s.init {
        "initContainers"
    } else {
        "containers"
    };
    ctx.pod["spec"][f][s.idx].clone()
}

fn field_path(s: Slot, name: &str) -> String {
    let f = if s.init {
        "initContainers"
    } else {
        "containers"
    };
    format!("spec.{f}{{{name}}}")
}

pub(super) struct Run<'a> {
    pub(super) ctx: &'a Arc<PodCtx>,
    pub(super) slot: Slot,
    pub(super) spec: Value,
    pub(super) name: String,
}

impl Run<'_> {
    pub(super) fn event(&self, kind: EvKind, reason: &str, message: &str) {
        let host = self.ctx.cluster.node_name();
        let src = Source {
            component: "kubelet",
            host: Some(&host),
        };
        let fp = field_path(self.slot, &self.name);
        events::record(
            &self.ctx.cluster,
            &self.ctx.pod,
            Some(&fp),
            kind,
            reason,
            message,
            src,
        );
    }

    pub(super) fn set(&self, f: impl FnOnce(&mut super::status::Container)) {
        self.ctx.update(self.slot.init, self.slot.idx, f);
    }

    /// Sleeps `secs` simulated seconds; false when the pod is being stopped meanwhile.
    async fn sleep(&self, secs: f64) -> bool {
        let mut stop = self.ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(self.ctx.cluster.time.secs(secs)) => self.ctx.stopping().is_none(),
            _ = super::supervise::stopped(&mut stop) => false,
        }
    }

    fn pod_ref(&self) -> String {
        format!(
            "{}_{}({})",
            self.ctx.name(),
            crate::store::Meta(&self.ctx.pod).namespace(),
            self.ctx.uid()
        )
    }
}

/// Runs container `idx` (init or main) until it is done for good; true when it succeeded
/// (an init container exited 0).
pub(super) async fn run(ctx: Arc<PodCtx>, init: bool, idx: usize) -> bool {
    let slot = Slot { init, idx };
    let spec = spec(&ctx, slot);
    let name = spec["name"].as_str().unwrap_or("").to_string();
    let r = Run {
        ctx: &ctx,
        slot,
        spec,
        name,
    };
    let io = ctx.cluster.node_io.container(ctx.uid(), &r.name);
    let mut backoff = Backoff::default();
    let mut pull_backoff = Backoff::default();
    loop {
        if ctx.stopping().is_some() {
            return false;
        }
        let Some(family) = pull(&r, &mut pull_backoff).await else {
            return false;
        };
        let vars = match super::envvars::resolve(&ctx.cluster, &ctx.pod, &r.spec, ctx.ip) {
            Ok(v) => v,
            Err(msg) => {
                r.set(|c| {
                    c.state = State::waiting("CreateContainerConfigError", Some(msg.clone()))
                });
                r.event(EvKind::Warning, "Failed", &format!("Error: {msg}"));
                if !r.sleep(backoff.next(&ctx).max(BACKOFF_INITIAL)).await {
                    return false;
                }
                continue;
            }
        };
        let code = run_once(&r, family, &vars, &io).await;
        if ctx.stopping().is_some() {
            return false;
        }
        let restart = match (init, ctx.restart_policy()) {
            (_, "Never") => false,
            (true, _) | (_, "OnFailure") => code != 0,
            _ => true,
        };
        if !restart {
            return code == 0;
        }
        // The exited instance becomes `lastState` once the kubelet decides to restart it.
        r.set(|c| c.last = Some((c.state.clone(), c.container_id.clone())));
        let delay = backoff.next(&ctx);
        if delay > 0.0 {
            let msg = format!(
                "back-off {}s restarting failed container={} pod={}",
                delay,
                r.name,
                r.pod_ref()
            );
            r.set(|c| c.state = State::waiting("CrashLoopBackOff", Some(msg)));
            let ev = format!(
                "Back-off restarting failed container {} in pod {}",
                r.name,
                r.pod_ref()
            );
            r.event(EvKind::Warning, "BackOff", &ev);
            if !r.sleep(delay).await {
                return false;
            }
        }
        r.set(|c| c.restart_count += 1);
    }
}

/// Pulls the image per `imagePullPolicy`; `None` when the pod stops first.
async fn pull(r: &Run<'_>, backoff: &mut Backoff) -> Option<Family> {
    let spec_image = r.spec["image"].as_str().unwrap_or("").to_string();
    let parsed = match image::parse(&spec_image) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!(
                "Failed to apply default image tag \"{spec_image}\": couldn't parse image name \"{spec_image}\": {e}"
            );
            r.set(|c| c.state = State::waiting("InvalidImageName", Some(msg.clone())));
            r.event(EvKind::Warning, "InspectFailed", &msg);
            r.event(EvKind::Warning, "Failed", "Error: InvalidImageName");
            let mut stop = r.ctx.stop.clone();
            let _ = super::supervise::stopped(&mut stop).await;
            return None;
        }
    };
    let policy = r.spec["imagePullPolicy"].as_str().unwrap_or("IfNotPresent");
    let present = r.ctx.cluster.node_io.has_image(&parsed.full());
    if present && policy != "Always" {
        r.event(
            EvKind::Normal,
            "Pulled",
            &format!("Container image \"{spec_image}\" already present on machine"),
        );
        return Some(parsed.family());
    }
    loop {
        if policy == "Never" {
            let msg = format!(
                "Container image \"{spec_image}\" is not present with pull policy of Never"
            );
            r.set(|c| c.state = State::waiting("ErrImageNeverPull", Some(msg.clone())));
            r.event(EvKind::Warning, "ErrImageNeverPull", &msg);
            r.sleep(BACKOFF_MAX).await.then_some(())?;
            continue;
        }
        r.event(
            EvKind::Normal,
            "Pulling",
            &format!("Pulling image \"{spec_image}\""),
        );
        if !r.sleep(1.0).await {
            return None;
        }
        match image::pull(&parsed) {
            Ok(()) => {
                r.ctx.cluster.node_io.add_image(&parsed.full());
                let msg = format!(
                    "Successfully pulled image \"{spec_image}\" in 1s (1s including waiting). Image size: 4194304 bytes."
                );
                r.event(EvKind::Normal, "Pulled", &msg);
                r.set(|c| c.image_id = Some(format!("sim://{}", parsed.full())));
                return Some(parsed.family());
            }
            Err(e) => {
                r.event(
                    EvKind::Warning,
                    "Failed",
                    &format!("Failed to pull image \"{spec_image}\": {}", e.message),
                );
                r.event(EvKind::Warning, "Failed", "Error: ErrImagePull");
                r.set(|c| c.state = State::waiting("ErrImagePull", Some(e.message.clone())));
                let delay = backoff.next(r.ctx).max(BACKOFF_INITIAL);
                if !r.sleep(BACKOFF_INITIAL.min(delay) / 2.0).await {
                    return None;
                }
                let msg = format!(
                    "Back-off pulling image \"{spec_image}\": ErrImagePull: {}",
                    e.message
                );
                r.set(|c| c.state = State::waiting("ImagePullBackOff", Some(msg)));
                r.event(
                    EvKind::Normal,
                    "BackOff",
                    &format!("Back-off pulling image \"{spec_image}\""),
                );
                r.event(EvKind::Warning, "Failed", "Error: ImagePullBackOff");
                if !r.sleep(delay).await {
                    return None;
                }
            }
        }
    }
}

/// Creates, starts and runs one instance until it exits, is killed by a probe or stopped.
async fn run_once(
    r: &Run<'_>,
    family: Family,
    vars: &[(String, String)],
    io: &Arc<super::logs::ContainerIo>,
) -> i32 {
    let ctx = r.ctx;
    io.start_instance();
    let process_ctx = Process {
        vars: vars.to_vec(),
        fs: io.fs(),
        sink: Some(io.clone() as Arc<dyn crate::exec::OutputSink>),
        sleep_cap: None,
        sleep_scale: 1.0,
    };
    let env = ctx.exec_env(&r.spec, process_ctx);
    let strs = |f: &str| -> Vec<String> {
        r.spec[f]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(|s| super::envvars::expand(s, vars)))
            .collect()
    };
    let argv = image::argv(family, &strs("command"), &strs("args"));
    let started_at = now_rfc3339();
    let id = format!(
        "sim://{}-{}-{}",
        ctx.uid(),
        r.name,
        uuid::Uuid::new_v4().simple()
    );
    let info = ctx.info(&r.spec, vars);
    let proc = match process::start(family, &r.spec, argv, env.clone(), info, io.clone()) {
        Ok(p) => p,
        Err(msg) => {
            r.event(EvKind::Warning, "Failed", &format!("Error: {msg}"));
            finish(
                r,
                State::Terminated {
                    exit_code: 128,
                    reason: "StartError".into(),
                    message: Some(msg),
                    started_at: String::new(),
                    finished_at: now_rfc3339(),
                },
                &id,
                io,
            );
            return 128;
        }
    };
    r.event(
        EvKind::Normal,
        "Created",
        &format!("Created container: {}", r.name),
    );
    if let Some(note) = &proc.note {
        r.event(EvKind::Normal, "SimulatedImage", note);
    }
    r.event(
        EvKind::Normal,
        "Started",
        &format!("Started container {}", r.name),
    );
    let has_startup = r.spec["startupProbe"].is_object();
    r.set(|c| {
        c.state = State::Running {
            started_at: started_at.clone(),
        };
        c.container_id = id.clone();
        c.started = !has_startup;
        c.ready = false;
    });
    let probe_env = (family != Family::Generic).then_some(env);
    let code = super::supervise::supervise(r, proc, probe_env).await;
    let state = match code {
        super::supervise::Exit::Code(c) => State::exited(c, &started_at),
        super::supervise::Exit::Killed(c) => State::Terminated {
            exit_code: c,
            reason: "Error".into(),
            message: None,
            started_at: started_at.clone(),
            finished_at: now_rfc3339(),
        },
    };
    let code = match &state {
        State::Terminated { exit_code, .. } => *exit_code,
        _ => 0,
    };
    finish(r, state, &id, io);
    code
}

fn finish(r: &Run<'_>, state: State, id: &str, io: &super::logs::ContainerIo) {
    io.end_instance();
    r.set(|c| {
        c.state = state;
        c.container_id = id.to_string();
        c.ready = false;
    });
    r.ctx.report_now();
}
