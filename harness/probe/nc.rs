//! TCP/UDP probes (issue 17): `sh -c "echo SEND | nc [-u] -w SECS HOST PORT"` in the probe
//! pod, as the upstream MCS conformance suite's connectivity specs run it. busybox, netshoot
//! and alpine images ship `nc`; the reply is what the peer wrote back.

use std::time::Duration;

use super::error::Result;
use super::pod::ProbePod;

/// Time granted beyond `nc -w` (connect, DNS) before the exec is abandoned.
const EXEC_MARGIN: Duration = Duration::from_secs(15);

/// What one `nc` exchange gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NcResult {
    /// What the peer sent back (lossy UTF-8).
    pub reply: String,
    /// The tool's own messages (`nc: bad address …`, `can't connect …`).
    pub stderr: String,
    /// Exit code of the pipeline (nc's).
    pub exit_code: i32,
}

impl ProbePod {
    /// Sends `send` (shell-safe text, checked at load) with `echo SEND | nc [-u] -w SECS HOST
    /// PORT` and returns the reply.
    pub async fn nc(
        &self,
        host: &str,
        port: u16,
        udp: bool,
        send: &str,
        wait_secs: u32,
    ) -> Result<NcResult> {
        let udp = if udp { " -u" } else { "" };
        let script = format!("echo '{send}' | nc{udp} -w {wait_secs} {host} {port}");
        let limit = Duration::from_secs(u64::from(wait_secs) * 2) + EXEC_MARGIN;
        let out = self.exec_within(&["sh", "-c", &script], limit).await?;
        Ok(NcResult {
            reply: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        })
    }
}
