//! A running container instance under the kubelet's watch: its probes (startup, then
//! readiness and liveness, every `periodSeconds` on the compressed clock), the kill after a
//! failed liveness/startup probe, and graceful stop (preStop hook, SIGTERM, SIGKILL when the
//! grace period ends).

use std::sync::Arc;

use serde_json::Value;

use super::container::{Run, Slot};
use super::probe::{self, Kind};
use super::process::{OnTerm, Started};
use super::runtime::PodCtx;
use crate::events::Kind as EvKind;

/// How an instance ended: its own exit code, or killed (SIGKILL: 137).
pub(super) enum Exit {
    Code(i32),
    Killed(i32),
}

/// Waits for the process to exit while probing it; kills it on a failed liveness/startup
/// probe or when the pod terminates.
pub(super) async fn supervise(
    r: &Run<'_>,
    mut proc: Started,
    env: Option<crate::exec::ExecEnv>,
) -> Exit {
    let (kill_tx, mut kill_rx) = tokio::sync::mpsc::channel::<String>(1);
    let probes = tokio::spawn(probe_loop(
        r.ctx.clone(),
        r.slot,
        r.spec.clone(),
        env.clone(),
        kill_tx,
    ));
    let _probes = AbortOnDrop(probes);
    let mut stop = r.ctx.stop.clone();
    tokio::select! {
        code = &mut proc.task => Exit::Code(code.unwrap_or(137)),
        Some(why) = kill_rx.recv() => {
            r.event(EvKind::Normal, "Killing", &why);
            let grace = r.ctx.pod["spec"]["terminationGracePeriodSeconds"].as_f64().unwrap_or(30.0);
            kill(r, proc, grace, env).await
        }
        _ = stopped(&mut stop) => {
            r.event(EvKind::Normal, "Killing", &format!("Stopping container {}", r.name));
            let grace = r.ctx.stopping().unwrap_or(0.0);
            kill(r, proc, grace, env).await
        }
    }
}

/// Resolves when the pod is asked to stop (true), or its runtime is gone (false); owns
/// nothing across awaits.
pub(super) async fn stopped(rx: &mut tokio::sync::watch::Receiver<Option<f64>>) -> bool {
    rx.wait_for(Option::is_some).await.is_ok()
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// preStop, SIGTERM, then SIGKILL at the end of `grace` simulated seconds.
async fn kill(
    r: &Run<'_>,
    mut proc: Started,
    grace: f64,
    env: Option<crate::exec::ExecEnv>,
) -> Exit {
    let t = r.ctx.cluster.time;
    let deadline = tokio::time::Instant::now() + t.secs(grace);
    if let Some(env) = env.filter(|_| grace > 0.0) {
        let hook = pre_stop(r, env);
        if tokio::time::timeout_at(deadline, hook).await.is_err() {
            let msg = format!("PreStopHook failed: exceeded grace period of {grace}s");
            r.event(EvKind::Warning, "FailedPreStopHook", &msg);
        }
    }
    let exit = match proc.on_term {
        OnTerm::Exit { secs, code } => {
            let at = (tokio::time::Instant::now() + t.secs(secs)).min(deadline);
            tokio::select! {
                c = &mut proc.task => Exit::Code(c.unwrap_or(137)),
                _ = tokio::time::sleep_until(at) => if at < deadline { Exit::Code(code) } else { Exit::Killed(137) },
            }
        }
        OnTerm::Ignore => tokio::select! {
            c = &mut proc.task => Exit::Code(c.unwrap_or(137)),
            _ = tokio::time::sleep_until(deadline) => Exit::Killed(137),
        },
    };
    proc.task.abort();
    exit
}

/// Runs the `lifecycle.preStop` hook (`exec`, `sleep`, `httpGet`), on the compressed clock.
async fn pre_stop(r: &Run<'_>, mut env: crate::exec::ExecEnv) {
    let hook = &r.spec["lifecycle"]["preStop"];
    let t = r.ctx.cluster.time;
    if let Some(s) = hook["sleep"]["seconds"].as_f64() {
        tokio::time::sleep(t.secs(s)).await;
    } else if let Some(cmd) = hook["exec"]["command"].as_array() {
        let argv: Vec<String> = cmd
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        env.process.sink = None;
        env.process.sleep_cap = None;
        env.process.sleep_scale = 1.0 / t.factor();
        let out = crate::exec::run(&env, &argv).await;
        if out.code != 0 {
            let msg = format!(
                "PreStopHook failed: command {argv:?} exited with {}: {}",
                out.code,
                String::from_utf8_lossy(&out.stderr)
            );
            r.event(EvKind::Warning, "FailedPreStopHook", &msg);
        }
    } else if hook["httpGet"].is_object() {
        let _ = probe::run(
            &serde_json::json!({"httpGet": hook["httpGet"].clone()}),
            &r.spec,
            r.ctx.ip,
            None,
        )
        .await;
    }
}

/// Startup, readiness and liveness probes of one running instance.
async fn probe_loop(
    ctx: Arc<PodCtx>,
    slot: Slot,
    spec: Value,
    env: Option<crate::exec::ExecEnv>,
    kill: tokio::sync::mpsc::Sender<String>,
) {
    let name = spec["name"].as_str().unwrap_or("").to_string();
    let r = Run {
        ctx: &ctx,
        slot,
        spec: spec.clone(),
        name: name.clone(),
    };
    let t = ctx.cluster.time;
    let period = |k: Kind| {
        spec[k.field()]["periodSeconds"]
            .as_f64()
            .unwrap_or(10.0)
            .max(1.0)
    };
    let threshold = |k: Kind, f: &str, d: u64| spec[k.field()][f].as_u64().unwrap_or(d).max(1);
    let has = |k: Kind| spec[k.field()].is_object();
    let started_at = tokio::time::Instant::now();
    let mut started = !has(Kind::Startup);
    let mut ready = false;
    let (mut fails, mut oks) = ([0u64; 3], 0u64);
    if !has(Kind::Readiness) && started {
        ready = true;
        r.set(|c| c.ready = true);
    }
    loop {
        let kinds: Vec<Kind> = if !started {
            vec![Kind::Startup]
        } else {
            [Kind::Readiness, Kind::Liveness]
                .into_iter()
                .filter(|k| has(*k))
                .collect()
        };
        let step = kinds.iter().map(|k| period(*k)).fold(10.0f64, f64::min);
        for k in kinds {
            let delay = spec[k.field()]["initialDelaySeconds"]
                .as_f64()
                .unwrap_or(0.0);
            if started_at.elapsed() < t.secs(delay) {
                continue;
            }
            let result = probe::run(&spec[k.field()], &spec, ctx.ip, env.as_ref()).await;
            let i = k as usize;
            match result {
                Ok(()) => {
                    fails[i] = 0;
                    match k {
                        Kind::Startup => {
                            started = true;
                            ready = !has(Kind::Readiness);
                            r.set(|c| {
                                c.started = true;
                                c.ready = ready;
                            });
                        }
                        Kind::Readiness => {
                            oks += 1;
                            if !ready && oks >= threshold(k, "successThreshold", 1) {
                                ready = true;
                                r.set(|c| c.ready = true);
                            }
                        }
                        Kind::Liveness => {}
                    }
                }
                Err(msg) => {
                    fails[i] += 1;
                    oks = 0;
                    r.event(
                        EvKind::Warning,
                        "Unhealthy",
                        &format!("{} probe failed: {msg}", k.title()),
                    );
                    let limit = threshold(k, "failureThreshold", 3);
                    match k {
                        Kind::Readiness if ready && fails[i] >= limit => {
                            ready = false;
                            r.set(|c| c.ready = false);
                        }
                        Kind::Liveness | Kind::Startup if fails[i] >= limit => {
                            let why = format!(
                                "Container {name} failed {} probe, will be restarted",
                                k.title().to_lowercase()
                            );
                            let _ = kill.send(why).await;
                            return;
                        }
                        _ => {}
                    }
                }
            }
        }
        tokio::time::sleep(t.secs(step)).await;
    }
}
