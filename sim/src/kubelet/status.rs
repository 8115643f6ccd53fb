//! Container and pod status as the kubelet reports them: per-container `state`/`lastState`
//! (waiting with a reason, running, terminated with exit code and reason), `restartCount`,
//! `ready`, `started`; the pod `phase` from kubelet's `getPhase` rules and the conditions
//! `PodReadyToStartContainers`, `Initialized`, `ContainersReady`, `Ready`, `PodScheduled`.

use serde_json::{Value, json};

use crate::store::now_rfc3339;

/// One container instance's state.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Not running: `ContainerCreating`, `ErrImagePull`, `CrashLoopBackOff`, …
    Waiting {
        /// The reason.
        reason: String,
        /// The message, if any.
        message: Option<String>,
    },
    /// Running since.
    Running {
        /// RFC 3339.
        started_at: String,
    },
    /// Finished.
    Terminated {
        /// Exit code (128 + signal when killed).
        exit_code: i32,
        /// `Completed`, `Error`, `StartError`, …
        reason: String,
        /// The runtime's message, if any.
        message: Option<String>,
        /// RFC 3339, empty when it never started.
        started_at: String,
        /// RFC 3339.
        finished_at: String,
    },
}

impl State {
    /// A waiting state.
    pub fn waiting(reason: &str, message: Option<String>) -> Self {
        State::Waiting {
            reason: reason.to_string(),
            message,
        }
    }

    /// A terminated state now, with the kubelet's reason for the exit code.
    pub fn exited(exit_code: i32, started_at: &str) -> Self {
        State::Terminated {
            exit_code,
            reason: if exit_code == 0 { "Completed" } else { "Error" }.to_string(),
            message: None,
            started_at: started_at.to_string(),
            finished_at: now_rfc3339(),
        }
    }

    fn to_json(&self, container_id: &str) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if let Some(m) = message {
                    w["message"] = json!(m);
                }
                json!({"waiting": w})
            }
            State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            State::Terminated {
                exit_code,
                reason,
                message,
                started_at,
                finished_at,
            } => {
                let mut t = json!({"exitCode": exit_code, "reason": reason, "finishedAt": finished_at,
                    "startedAt": if started_at.is_empty() { Value::Null } else { json!(started_at) }});
                if let Some(m) = message {
                    t["message"] = json!(m);
                }
                if !container_id.is_empty() {
                    t["containerID"] = json!(container_id);
                }
                json!({"terminated": t})
            }
        }
    }
}

/// What the kubelet knows of one container.
#[derive(Clone, Debug)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Image as written in the spec.
    pub image: String,
    /// Set once the image was pulled.
    pub image_id: Option<String>,
    /// The current instance's id (`sim://…`), empty before the first start.
    pub container_id: String,
    /// Current state.
    pub state: State,
    /// The previous instance's final state.
    pub last: Option<(State, String)>,
    /// Restarts so far.
    pub restart_count: u32,
    /// Readiness.
    pub ready: bool,
    /// Startup probe passed (or none).
    pub started: bool,
}

impl Container {
    /// A container not started yet.
    pub fn new(spec: &Value) -> Self {
        Self {
            name: spec["name"].as_str().unwrap_or("").to_string(),
            image: spec["image"].as_str().unwrap_or("").to_string(),
            image_id: None,
            container_id: String::new(),
            state: State::waiting("ContainerCreating", None),
            last: None,
            restart_count: 0,
            ready: false,
            started: false,
        }
    }

    fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// The `containerStatuses[]` entry.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"name": self.name, "image": self.image, "imageID": self.image_id.clone().unwrap_or_default(),
            "ready": self.ready, "started": self.running() && self.started, "restartCount": self.restart_count,
            "state": self.state.to_json(&self.container_id), "lastState": {}});
        if !self.container_id.is_empty() {
            v["containerID"] = json!(self.container_id);
        }
        if let Some((last, id)) = &self.last {
            v["lastState"] = last.to_json(id);
        }
        v
    }
}

/// kubelet's `getPhase`: Pending while a container waits to start for the first time (or
/// init containers run), Running while any runs or restarts, else Succeeded/Failed.
pub fn phase(init_done: bool, containers: &[Container], restart_policy: &str) -> &'static str {
    if !init_done {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in containers {
        match &c.state {
            State::Running { .. } => running += 1,
            State::Terminated { exit_code, .. } => {
                stopped += 1;
                if *exit_code == 0 {
                    succeeded += 1;
                }
            }
            State::Waiting { .. } if c.last.is_some() => stopped += 1,
            State::Waiting { .. } => waiting += 1,
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    match restart_policy {
        _ if stopped == 0 => "Pending",
        "Always" => "Running",
        "OnFailure" if stopped == succeeded => "Succeeded",
        "OnFailure" => "Running",
        _ if stopped == succeeded => "Succeeded",
        _ => "Failed",
    }
}

fn condition(t: &str, ok: bool, reason: Option<(&str, String)>) -> Value {
    let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
    if let Some((r, m)) = reason.filter(|_| !ok) {
        c["reason"] = json!(r);
        if !m.is_empty() {
            c["message"] = json!(m);
        }
    }
    c
}

/// The pod's conditions.
pub fn conditions(
    phase: &str,
    init: &[Container],
    init_done: bool,
    containers: &[Container],
) -> Value {
    let terminal = matches!(phase, "Succeeded" | "Failed");
    let unready: Vec<&str> = containers
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let ready = unready.is_empty() && !terminal;
    let why = if terminal {
        ("PodCompleted", String::new())
    } else {
        (
            "ContainersNotReady",
            format!("containers with unready status: [{}]", unready.join(" ")),
        )
    };
    let pending_init: Vec<&str> = init
        .iter()
        .filter(|c| !matches!(c.state, State::Terminated { exit_code: 0, .. }))
        .map(|c| c.name.as_str())
        .collect();
    let init_reason = (
        "ContainersNotInitialized",
        format!(
            "containers with incomplete status: [{}]",
            pending_init.join(" ")
        ),
    );
    json!([
        condition("PodReadyToStartContainers", !terminal, None),
        condition(
            "Initialized",
            init_done || terminal && pending_init.is_empty(),
            Some(init_reason)
        ),
        condition("Ready", ready, Some(why.clone())),
        condition("ContainersReady", ready, Some(why)),
        condition("PodScheduled", true, None),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(state: State, last: bool) -> Container {
        let mut x = Container::new(&json!({"name": "a", "image": "busybox"}));
        x.state = state;
        if last {
            x.last = Some((State::exited(1, ""), String::new()));
        }
        x
    }

    #[test]
    fn phases_follow_kubelet_rules() {
        let run = State::Running {
            started_at: String::new(),
        };
        let crash = State::waiting("CrashLoopBackOff", None);
        assert_eq!(
            phase(
                true,
                &[c(State::waiting("ErrImagePull", None), false)],
                "Always"
            ),
            "Pending"
        );
        assert_eq!(phase(true, &[c(crash, true)], "Always"), "Running");
        assert_eq!(phase(true, &[c(run, false)], "Never"), "Running");
        assert_eq!(
            phase(true, &[c(State::exited(0, ""), false)], "Never"),
            "Succeeded"
        );
        assert_eq!(
            phase(true, &[c(State::exited(3, ""), false)], "Never"),
            "Failed"
        );
        assert_eq!(phase(false, &[], "Always"), "Pending");
    }
}
