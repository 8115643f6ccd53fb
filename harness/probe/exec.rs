//! Running a command in the probe pod through `pods/exec` (websocket), collecting stdout,
//! stderr and the exit code from the exec Status. Transport failures are retried; a command
//! that ran and failed is returned as it is.

use std::time::Duration;

use backon::Retryable;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::{ProbeError, Result};
use super::pod::{ProbePod, api_backoff};

/// Upper bound of a command run through [`ProbePod::exec`]: the probes' tools bound their own
/// duration; this only guards against a stream that never ends.
pub(super) const EXEC_LIMIT: Duration = Duration::from_secs(120);

/// Buffer between the websocket task and our readers (kube's default is 1 KiB).
const BUFFER: usize = 64 * 1024;

/// What a command printed and how it exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    /// Exit code (0 = success).
    pub exit_code: i32,
}

impl ProbePod {
    /// Runs `argv` in the pod and collects stdout, stderr and the exit code (exec Status
    /// `Success` → 0, `Failure` with reason `NonZeroExitCode` → its `ExitCode` cause).
    /// Transport failures (connect/upgrade errors, 5xx/429, connection reset, stream closed
    /// without status) are retried with exponential backoff (50 ms..1 s, 8 retries); a command
    /// that ran and failed is not retried: its output is returned.
    pub async fn exec(&self, argv: &[&str]) -> Result<ExecOutput> {
        self.exec_within(argv, EXEC_LIMIT).await
    }

    /// [`Self::exec`] with each attempt bounded by `limit`.
    pub(super) async fn exec_within(&self, argv: &[&str], limit: Duration) -> Result<ExecOutput> {
        (|| self.exec_once(argv, limit))
            .retry(api_backoff())
            .when(ProbeError::is_transient)
            .notify(|e, after| {
                tracing::debug!(cluster = %self.cluster, error = %e, ?after, "exec failed; retrying")
            })
            .await
    }

    async fn exec_once(&self, argv: &[&str], limit: Duration) -> Result<ExecOutput> {
        match tokio::time::timeout(limit, self.run(argv)).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::ExecTimeout {
                command: argv.join(" "),
                pod: self.pod_ref(),
                limit,
            }),
        }
    }

    async fn run(&self, argv: &[&str]) -> Result<ExecOutput> {
        let ap = AttachParams::default()
            .container(self.container.clone())
            .stdin(false)
            .stdout(true)
            .stderr(true)
            .max_stdout_buf_size(BUFFER)
            .max_stderr_buf_size(BUFFER);
        let api = kube::Api::<k8s_openapi::api::core::v1::Pod>::namespaced(
            self.client.clone(),
            &self.namespace,
        );
        let proc = api
            .exec(&self.name, argv.iter().copied(), &ap)
            .await
            .map_err(|source| ProbeError::ExecConnect {
                command: argv.join(" "),
                pod: self.pod_ref(),
                source: Box::new(source),
            })?;
        let (stdout, stderr, status) = self.collect(argv, proc).await?;
        let exit_code = self.exit_code(argv, status)?;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            exit_code,
        })
    }

    /// Drains stdout and stderr while the websocket task runs, then takes the Status.
    async fn collect(
        &self,
        argv: &[&str],
        mut proc: AttachedProcess,
    ) -> Result<(Vec<u8>, Vec<u8>, Option<Status>)> {
        let status = proc.take_status();
        let (out, err) = (proc.stdout(), proc.stderr());
        let mut reads = std::pin::pin!(async { tokio::join!(read_all(out), read_all(err)) });
        let mut joined = std::pin::pin!(proc.join());
        // The task shuts the streams down only when it ends cleanly; when it fails, the
        // readers would wait forever, so whichever ends first decides.
        let (out, err) = tokio::select! {
            biased;
            r = &mut reads => r,
            j = &mut joined => match j {
                Ok(()) => reads.await,
                Err(e) => {
                    return Err(self.stream_error(argv, "receive failed", Some(Box::new(e))));
                }
            },
        };
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        Ok((out, err, status))
    }

    fn stream_error(
        &self,
        argv: &[&str],
        detail: &str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ProbeError {
        ProbeError::ExecStream {
            command: argv.join(" "),
            pod: self.pod_ref(),
            detail: detail.to_string(),
            source,
        }
    }

    fn exit_code(&self, argv: &[&str], status: Option<Status>) -> Result<i32> {
        let Some(status) = status else {
            return Err(self.stream_error(argv, "closed without an exit status", None));
        };
        match exit_code(&status) {
            Some(code) => Ok(code),
            None => Err(ProbeError::ExecFailed {
                command: argv.join(" "),
                pod: self.pod_ref(),
                reason: status.reason.unwrap_or_else(|| "Unknown".to_string()),
                message: status.message.unwrap_or_default(),
            }),
        }
    }
}

async fn read_all<R: AsyncRead + Unpin>(r: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        // A read error can only follow a broken stream, which the task reports.
        let _ = r.read_to_end(&mut buf).await;
    }
    buf
}

/// The exit code an exec Status reports, or `None` when the command did not run.
pub(super) fn exit_code(status: &Status) -> Option<i32> {
    match status.status.as_deref() {
        Some("Success") => Some(0),
        Some("Failure") if status.reason.as_deref() == Some("NonZeroExitCode") => status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.reason.as_deref() == Some("ExitCode"))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse().ok()),
        _ => None,
    }
}
