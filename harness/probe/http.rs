//! HTTP probes: busybox `wget -S -qO- -T SECS URL`, or `curl -sS -m SECS -w FORMAT URL` on
//! images that have curl (curlimages/curl, netshoot), and the parsers of their outputs and of
//! the whereami JSON body that says which backend answered.

use std::time::Duration;

use serde_json::Value;

use super::error::Result;
use super::pod::ProbePod;

/// Marks the `-w` trailer curl appends after the body: `\n` + marker + the status code.
const CURL_MARKER: &str = "@@mcs-probe http_code=";

/// The `-w` format: the marker on its own line (curl expands `\n` itself).
const CURL_WRITE_OUT: &str = "\\n@@mcs-probe http_code=%{http_code}\\n";

/// Time granted beyond the tool's own timeout before the exec is abandoned.
const EXEC_MARGIN: Duration = Duration::from_secs(15);

/// The outcome of an HTTP request from inside a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResult {
    /// HTTP status when a response arrived.
    pub status: Option<u16>,
    /// Response body (may be empty).
    pub body: String,
    /// Error text when no response arrived (connection refused, timed out, bad address...),
    /// or when the transfer broke after the status line.
    pub error: Option<String>,
    /// Which backend answered, parsed from whereami JSON (`cluster_name`, `pod_name`,
    /// `pod_ip`) when the body is whereami JSON.
    pub backend: Option<Backend>,
}

/// The backend that served a request, as whereami reports itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Backend {
    /// `cluster_name` (null on kind, where whereami has no GCE metadata server).
    pub cluster: Option<String>,
    /// `pod_name`.
    pub pod: String,
    /// `pod_ip`.
    pub pod_ip: Option<String>,
}

/// Which HTTP client the pod's image provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Wget,
    Curl,
}

fn client_for(image: &str) -> Client {
    let repo = image
        .rsplit('/')
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase();
    if repo.starts_with("curl") || repo.starts_with("netshoot") {
        Client::Curl
    } else {
        Client::Wget
    }
}

impl ProbePod {
    /// Fetches `url` with busybox `wget -S -qO- -T SECS URL` (whole seconds, rounded up) or,
    /// on curl/netshoot images, `curl -sS -m SECS -w FORMAT URL`, and parses the status, the
    /// body and the whereami backend.
    pub async fn http(&self, url: &str, timeout: Duration) -> Result<HttpResult> {
        // wget's -T bounds the connect and each read, not the whole transfer.
        let limit = timeout.saturating_mul(2).saturating_add(EXEC_MARGIN);
        match client_for(&self.image) {
            Client::Wget => {
                let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
                let secs = secs.max(1).to_string();
                let argv = ["wget", "-S", "-qO-", "-T", secs.as_str(), url];
                let out = self.exec_within(&argv, limit).await?;
                Ok(parse_wget(&out.stdout, &out.stderr, out.exit_code))
            }
            Client::Curl => {
                let secs = format!("{:.3}", timeout.as_secs_f64().max(0.001));
                let argv = [
                    "curl",
                    "-sS",
                    "-m",
                    secs.as_str(),
                    "-w",
                    CURL_WRITE_OUT,
                    url,
                ];
                let out = self.exec_within(&argv, limit).await?;
                Ok(parse_curl(&out.stdout, &out.stderr, out.exit_code))
            }
        }
    }
}

/// The status code of an `HTTP/1.1 503 Service Unavailable` status line.
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    parts.next().filter(|p| p.starts_with("HTTP/"))?;
    parts
        .next()?
        .parse()
        .ok()
        .filter(|c| (100..=999).contains(c))
}

/// Parses busybox `wget -S -qO- URL`: headers on stderr (`  HTTP/1.1 200 OK`, the last status
/// line wins after redirects), body on stdout, errors as `wget: ...` lines on stderr.
/// `server returned error: HTTP/1.1 503 ...` is a response (status 503, no error); other
/// `wget:` messages are errors.
pub fn parse_wget(stdout: &str, stderr: &str, exit_code: i32) -> HttpResult {
    let mut status = None;
    let mut error = None;
    for line in stderr.lines() {
        let line = line.trim();
        if let Some(code) = status_code(line) {
            status = Some(code);
        } else if let Some(msg) = line.strip_prefix("wget: ") {
            match msg.strip_prefix("server returned error: ") {
                Some(s) if status_code(s).is_some() => status = status_code(s),
                _ => error = Some(line.to_string()),
            }
        }
    }
    if exit_code != 0 && status.is_none() && error.is_none() {
        error = Some(unexplained("wget", stderr, exit_code));
    }
    let body = stdout.to_string();
    let backend = parse_backend(&body);
    HttpResult {
        status,
        body,
        error,
        backend,
    }
}

/// Parses `curl -sS -w '\n@@mcs-probe http_code=%{http_code}\n' URL`: the body, then the
/// trailer (`000` when no response arrived); errors as `curl: (N) ...` on stderr.
pub fn parse_curl(stdout: &str, stderr: &str, exit_code: i32) -> HttpResult {
    let (body, code) = match stdout.rfind(CURL_MARKER) {
        Some(at) => {
            let body = &stdout[..at];
            let body = body.strip_suffix('\n').unwrap_or(body);
            let code = stdout[at + CURL_MARKER.len()..].trim();
            (body, code.parse::<u16>().ok())
        }
        None => (stdout, None),
    };
    let status = code.filter(|c| *c != 0);
    let error = match exit_code {
        0 => None,
        _ => Some(
            stderr
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("curl: ("))
                .map(String::from)
                .unwrap_or_else(|| unexplained("curl", stderr, exit_code)),
        ),
    };
    let body = body.to_string();
    let backend = parse_backend(&body);
    HttpResult {
        status,
        body,
        error,
        backend,
    }
}

fn unexplained(tool: &str, stderr: &str, exit_code: i32) -> String {
    match stderr.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("{tool} exited with code {exit_code}: {line}"),
        None => format!("{tool} exited with code {exit_code}"),
    }
}

/// The backend of a whereami JSON body (`pod_name` required; `cluster_name` and `pod_ip`
/// optional, null on kind), or `None` for any other body.
pub fn parse_backend(body: &str) -> Option<Backend> {
    let v: Value = serde_json::from_str(body.trim()).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(Backend {
        cluster: text("cluster_name").filter(|s| !s.is_empty()),
        pod: text("pod_name").filter(|s| !s.is_empty())?,
        pod_ip: text("pod_ip").filter(|s| !s.is_empty()),
    })
}
