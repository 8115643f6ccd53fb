//! A minimal HTTP/1.1 client for wget and curl: URL parsing, one GET over a stream from
//! [`crate::net::Network`], response framing by `Content-Length`, chunked encoding or close.

use std::io;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Largest response body kept.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Scheme, lowercase (`http` when the URL had none).
    pub scheme: String,
    /// Host name or IP literal.
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// The authority as written (`host` or `host:port`), for `Host:` and messages.
    pub authority: String,
    /// Request target, starting with `/` (query included, fragment dropped).
    pub target: String,
}

/// Why a URL was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UrlError {
    /// A scheme other than http.
    #[error("unsupported scheme {0}")]
    Scheme(String),
    /// No host, or an invalid port.
    #[error("malformed url")]
    Malformed,
}

/// Parses `url` (`http://host[:port][/path]`, scheme optional).
pub fn parse_url(url: &str) -> Result<Url, UrlError> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), url),
    };
    if scheme != "http" {
        return Err(UrlError::Scheme(scheme));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let path = path.split('#').next().unwrap_or_default();
    let target = match path.chars().next() {
        None => "/".to_string(),
        Some('/') => path.to_string(),
        Some(_) => format!("/{path}"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| UrlError::Malformed)?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(UrlError::Malformed);
    }
    Ok(Url {
        scheme,
        host: host.to_string(),
        port,
        authority: authority.to_string(),
        target,
    })
}

/// A received response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The status line, without CR/LF (`HTTP/1.1 404 Not Found`).
    pub status_line: String,
    /// Header fields in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A failure after the connection was established.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The deadline or the idle timeout passed.
    #[error("timed out with {received} bytes received")]
    Timeout {
        /// Body bytes received so far.
        received: usize,
        /// Body size announced by the server, if any.
        expected: Option<usize>,
    },
    /// The server closed the connection without sending anything.
    #[error("empty reply from server")]
    Empty,
    /// The server closed the connection in the middle of the body.
    #[error("connection closed prematurely")]
    Premature,
    /// The response could not be parsed.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// A socket error.
    #[error("socket error")]
    Io(#[source] io::Error),
}

/// Time limits of a transfer: an overall deadline (curl `-m`) and/or an idle limit per read
/// (wget `-T`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Absolute end of the operation.
    pub deadline: Option<Instant>,
    /// Longest wait for any single read.
    pub idle: Option<Duration>,
}

impl Limits {
    fn until(&self) -> Option<Instant> {
        let idle = self.idle.map(|d| Instant::now() + d);
        match (self.deadline, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
    limits: Limits,
    body_read: usize,
    expected: Option<usize>,
}

impl Reader {
    /// Reads more bytes into the buffer; false at EOF.
    async fn fill(&mut self) -> Result<bool, HttpError> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk);
        let n = match self.limits.until() {
            Some(t) => tokio::time::timeout_at(t, read)
                .await
                .map_err(|_| self.timeout())?,
            None => read.await,
        }
        .map_err(HttpError::Io)?;
        self.eof = n == 0;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    fn timeout(&self) -> HttpError {
        HttpError::Timeout {
            received: self.body_read,
            expected: self.expected,
        }
    }

    /// Takes one CRLF-terminated line (without the terminator).
    async fn line(&mut self) -> Result<Option<String>, HttpError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Takes exactly `n` bytes, or fails as premature close.
    async fn exact(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), HttpError> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(HttpError::Premature);
            }
        }
        out.extend(self.buf.drain(..n));
        self.body_read += n;
        Ok(())
    }
}

/// Sends `request` on `stream` and reads one response (interim 1xx responses skipped).
pub async fn exchange(
    mut stream: TcpStream,
    request: &[u8],
    limits: Limits,
    head: bool,
) -> Result<Response, HttpError> {
    stream.write_all(request).await.map_err(HttpError::Io)?;
    let mut r = Reader {
        stream,
        buf: Vec::new(),
        eof: false,
        limits,
        body_read: 0,
        expected: None,
    };
    loop {
        let mut resp = read_head(&mut r).await?;
        if (100..200).contains(&resp.status) {
            continue;
        }
        if !head && resp.status != 204 && resp.status != 304 {
            resp.body = read_body(&mut r, &resp).await?;
        }
        return Ok(resp);
    }
}

async fn read_head(r: &mut Reader) -> Result<Response, HttpError> {
    let status_line = match r.line().await? {
        Some(l) => l,
        None => return Err(HttpError::Empty),
    };
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(code))) if v.starts_with("HTTP/") => code,
        _ => return Err(HttpError::Malformed(status_line)),
    };
    let mut headers = Vec::new();
    loop {
        let Some(line) = r.line().await? else {
            return Err(HttpError::Premature);
        };
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Response {
        status,
        status_line,
        headers,
        body: Vec::new(),
    })
}

async fn read_body(r: &mut Reader, resp: &Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let line = r.line().await?.ok_or(HttpError::Premature)?;
            let size_hex = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| HttpError::Malformed(format!("bad chunk length '{line}'")))?;
            if size == 0 || body.len() + size > MAX_BODY {
                return Ok(body);
            }
            r.exact(size, &mut body).await?;
            r.line().await?;
        }
    }
    if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Malformed(format!("content-length {len} is garbage")))?;
        r.expected = Some(len);
        r.exact(len.min(MAX_BODY), &mut body).await?;
        return Ok(body);
    }
    while r.fill().await? {
        if r.buf.len() > MAX_BODY {
            break;
        }
    }
    r.body_read += r.buf.len();
    body.append(&mut r.buf);
    Ok(body)
}

/// The strerror text of a socket error, as libc prints it.
pub fn strerror(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "Connection refused",
        io::ErrorKind::TimedOut => "Connection timed out",
        io::ErrorKind::HostUnreachable => "No route to host",
        io::ErrorKind::NetworkUnreachable => "Network is unreachable",
        io::ErrorKind::ConnectionReset => "Connection reset by peer",
        io::ErrorKind::BrokenPipe => "Broken pipe",
        io::ErrorKind::AddrNotAvailable => "Address not available",
        _ => "I/O error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() -> Result<(), UrlError> {
        let u = parse_url("http://whereami.app.svc:8080/healthz?x=1#frag")?;
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.target.as_str()
            ),
            (
                "whereami.app.svc",
                8080,
                "whereami.app.svc:8080",
                "/healthz?x=1"
            )
        );
        let u = parse_url("10.0.0.1")?;
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        assert_eq!(
            parse_url("https://x").err(),
            Some(UrlError::Scheme("https".into()))
        );
        assert_eq!(
            parse_url("http://x:99999/").err(),
            Some(UrlError::Malformed)
        );
        Ok(())
    }
}
