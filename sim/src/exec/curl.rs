//! curl 8 (`curlimages/curl`, netshoot): `curl [-sSfLiI] [-m SECS] [--connect-timeout SECS]
//! [-o FILE] [-w FORMAT] [-H HDR] [-A UA] [-X METHOD] URL…`.
//!
//! Exit codes and error lines follow curl 8 (lib/multi.c `multi_handle_timeout`,
//! lib/connect.c, lib/http.c): 6 could not resolve, 7 failed to connect, 22 `-f` on ≥ 400,
//! 28 timeout, 52 empty reply, 56 receive failure. `-m` bounds the whole operation; the
//! connect phase alone defaults to 300 s. The progress meter (shown without `-s`) is an
//! approximation of curl's.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::args::{self, ArgError, OptSpec, Parsed, opt};
use super::dns::lookup_v4;
use super::http::{self, HttpError, Limits, Response, Url, UrlError, parse_url};
use super::{ExecEnv, ExecOutput};

const SPECS: &[OptSpec] = &[
    opt(Some('s'), "silent", false),
    opt(Some('S'), "show-error", false),
    opt(Some('f'), "fail", false),
    opt(None, "fail-with-body", false),
    opt(Some('L'), "location", false),
    opt(Some('v'), "verbose", false),
    opt(Some('i'), "include", false),
    opt(Some('I'), "head", false),
    opt(Some('o'), "output", true),
    opt(Some('O'), "remote-name", false),
    opt(Some('w'), "write-out", true),
    opt(Some('m'), "max-time", true),
    opt(None, "connect-timeout", true),
    opt(Some('H'), "header", true),
    opt(Some('A'), "user-agent", true),
    opt(Some('X'), "request", true),
    opt(Some('k'), "insecure", false),
    opt(Some('4'), "ipv4", false),
    opt(None, "retry", true),
    opt(None, "http1.1", false),
    opt(None, "no-progress-meter", false),
    opt(Some('q'), "disable", false),
];

const TRY_HELP: &str = "curl: try 'curl --help' or 'curl --manual' for more information\n";
const USER_AGENT: &str = "curl/8.11.1";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

struct Opts {
    silent: bool,
    show_error: bool,
    meter: bool,
    fail: bool,
    follow: bool,
    include: bool,
    head: bool,
    discard: bool,
    write_out: Option<String>,
    max_time: Option<Duration>,
    connect_timeout: Option<Duration>,
    headers: Vec<String>,
    agent: String,
    method: String,
}

/// A curl error: exit code and message.
struct Failure(i32, String);

/// What `-w` can report about a transfer.
#[derive(Default)]
struct Info {
    http_code: u16,
    remote: Option<SocketAddr>,
    size: usize,
    url: String,
    redirects: u32,
    content_type: String,
}

/// Runs `curl ARGS`.
pub async fn curl(env: &ExecEnv, argv: &[String]) -> ExecOutput {
    let parsed = match args::parse(SPECS, argv) {
        Ok(p) => p,
        Err(ArgError::Unknown(o)) => {
            return ExecOutput::fail(2, format!("curl: option {o}: is unknown\n{TRY_HELP}"));
        }
        Err(ArgError::Missing(o)) => {
            return ExecOutput::fail(
                2,
                format!("curl: option {o}: requires parameter\n{TRY_HELP}"),
            );
        }
    };
    if parsed.args.is_empty() {
        return ExecOutput::fail(2, format!("curl: no URL specified\n{TRY_HELP}"));
    }
    let o = match options(&parsed) {
        Ok(o) => o,
        Err(out) => return out,
    };
    let mut out = ExecOutput::default();
    for url in &parsed.args {
        one_url(env, &o, url, &mut out).await;
    }
    out
}

fn options(parsed: &Parsed) -> Result<Opts, ExecOutput> {
    let secs = |name: &str| -> Result<Option<Duration>, ExecOutput> {
        match parsed.last(name).map(str::parse::<f64>) {
            None => Ok(None),
            Some(Ok(v)) if v.is_finite() && v >= 0.0 => Ok(Some(Duration::from_secs_f64(v))),
            Some(_) => Err(ExecOutput::fail(
                2,
                format!("curl: option --{name}: expected a proper numerical parameter\n{TRY_HELP}"),
            )),
        }
    };
    let (max_time, connect_timeout) = match (secs("max-time"), secs("connect-timeout")) {
        (Ok(m), Ok(c)) => (m.filter(|d| !d.is_zero()), c.filter(|d| !d.is_zero())),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let silent = parsed.flag("silent");
    let head = parsed.flag("head");
    Ok(Opts {
        silent,
        show_error: parsed.flag("show-error"),
        meter: !silent && !parsed.flag("no-progress-meter"),
        fail: parsed.flag("fail"),
        follow: parsed.flag("location"),
        include: parsed.flag("include") || head,
        head,
        discard: parsed.last("output").is_some_and(|f| f != "-") || parsed.flag("remote-name"),
        write_out: parsed.last("write-out").map(str::to_string),
        max_time,
        connect_timeout,
        headers: parsed
            .all("header")
            .into_iter()
            .map(str::to_string)
            .collect(),
        agent: parsed.last("user-agent").unwrap_or(USER_AGENT).to_string(),
        method: parsed
            .last("request")
            .unwrap_or(if head { "HEAD" } else { "GET" })
            .to_string(),
    })
}

async fn one_url(env: &ExecEnv, o: &Opts, url: &str, out: &mut ExecOutput) {
    let start = Instant::now();
    let deadline = o.max_time.map(|t| start + t);
    let mut info = Info::default();
    let result = match transfer(env, o, url, &mut info, start, deadline).await {
        Ok(resp) if o.fail && resp.status >= 400 => Err(Failure(
            22,
            format!("The requested URL returned error: {}", resp.status),
        )),
        other => other,
    };
    if o.meter {
        out.stderr
            .extend_from_slice(meter(info.size, result.is_ok()).as_bytes());
    }
    match result {
        Ok(resp) => {
            if !o.discard {
                if o.include {
                    out.stdout.extend_from_slice(raw_head(&resp).as_bytes());
                }
                out.stdout.extend_from_slice(&resp.body);
            }
        }
        Err(Failure(code, msg)) => {
            if !o.silent || o.show_error {
                out.stderr
                    .extend_from_slice(format!("curl: ({code}) {msg}\n").as_bytes());
            }
            out.code = code;
        }
    }
    if let Some(fmt) = &o.write_out {
        let elapsed = start.elapsed();
        write_out(fmt, &info, out, elapsed);
    }
}

async fn transfer(
    env: &ExecEnv,
    o: &Opts,
    raw: &str,
    info: &mut Info,
    start: Instant,
    deadline: Option<Instant>,
) -> Result<Response, Failure> {
    let mut url = parse_url(raw).map_err(|e| match e {
        UrlError::Scheme(s) => Failure(1, format!("Protocol \"{s}\" not supported")),
        UrlError::Malformed => Failure(3, "URL rejected: Malformed input to a URL function".into()),
    })?;
    for _ in 0..=50 {
        info.url = format!("{}://{}{}", url.scheme, url.authority, url.target);
        let resp = once(env, o, &url, info, start, deadline).await?;
        let location = resp.header("location").map(str::to_string);
        match location {
            Some(loc) if o.follow && (300..400).contains(&resp.status) => {
                info.redirects += 1;
                url = if loc.starts_with('/') {
                    Url { target: loc, ..url }
                } else {
                    parse_url(&loc).map_err(|_| Failure(1, "Unsupported redirect".into()))?
                };
            }
            _ => return Ok(resp),
        }
    }
    Err(Failure(47, "Maximum (50) redirects followed".into()))
}

fn ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

async fn once(
    env: &ExecEnv,
    o: &Opts,
    url: &Url,
    info: &mut Info,
    start: Instant,
    deadline: Option<Instant>,
) -> Result<Response, Failure> {
    let lookup = lookup_v4(env, &url.host);
    let resolved = match deadline {
        Some(d) => tokio::time::timeout_at(d, lookup).await.map_err(|_| {
            Failure(
                28,
                format!("Resolving timed out after {} milliseconds", ms(start)),
            )
        })?,
        None => lookup.await,
    };
    let not_found = || Failure(6, format!("Could not resolve host: {}", url.host));
    let ip = *resolved
        .map_err(|_| not_found())?
        .first()
        .ok_or_else(not_found)?;
    let addr = SocketAddr::from((ip, url.port));
    info.remote = Some(addr);
    let mut budget = o.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    if let Some(d) = deadline {
        budget = budget.min(d.saturating_duration_since(Instant::now()));
    }
    let connect_start = Instant::now();
    let stream = env
        .net
        .connect(&env.cluster, addr, budget)
        .await
        .map_err(|e| connect_failure(&e, url, start, connect_start.elapsed() >= budget))?;
    let req = request(o, url);
    let limits = Limits {
        deadline,
        idle: None,
    };
    let resp = http::exchange(stream, req.as_bytes(), limits, o.head || o.method == "HEAD")
        .await
        .map_err(|e| transfer_failure(e, start))?;
    info.http_code = resp.status;
    info.size = resp.body.len();
    info.content_type = resp.header("content-type").unwrap_or_default().to_string();
    Ok(resp)
}

/// The request curl sends (no `Connection: close`: curl keeps connections alive).
fn request(o: &Opts, url: &Url) -> String {
    let host = if url.port == 80 {
        url.host.clone()
    } else {
        url.authority.clone()
    };
    let mut req = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: */*\r\n",
        o.method, url.target, o.agent
    );
    for h in &o.headers {
        req += &format!("{h}\r\n");
    }
    req += "\r\n";
    req
}

fn connect_failure(e: &io::Error, url: &Url, start: Instant, budget_spent: bool) -> Failure {
    if e.kind() == io::ErrorKind::TimedOut && budget_spent {
        return Failure(
            28,
            format!("Connection timed out after {} milliseconds", ms(start)),
        );
    }
    let code = if e.kind() == io::ErrorKind::TimedOut {
        28
    } else {
        7
    };
    Failure(
        code,
        format!(
            "Failed to connect to {} port {} after {} ms: Couldn't connect to server",
            url.host,
            url.port,
            ms(start)
        ),
    )
}

fn transfer_failure(e: HttpError, start: Instant) -> Failure {
    match e {
        HttpError::Timeout { received, expected } => {
            let of = expected.map_or(String::new(), |t| format!(" out of {t}"));
            Failure(
                28,
                format!(
                    "Operation timed out after {} milliseconds with {received}{of} bytes received",
                    ms(start)
                ),
            )
        }
        HttpError::Empty => Failure(52, "Empty reply from server".into()),
        HttpError::Io(e) => Failure(56, format!("Recv failure: {}", http::strerror(&e))),
        HttpError::Premature => Failure(
            18,
            "transfer closed with outstanding read data remaining".into(),
        ),
        HttpError::Malformed(_) => Failure(8, "Weird server reply".into()),
    }
}

fn raw_head(resp: &Response) -> String {
    let mut s = format!("{}\r\n", resp.status_line);
    for (k, v) in &resp.headers {
        s += &format!("{k}: {v}\r\n");
    }
    s + "\r\n"
}

/// curl's progress meter as printed to a pipe (approximate: rates are not computed).
fn meter(size: usize, done: bool) -> String {
    let head = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n";
    let zero = "  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0";
    if !done {
        return format!("{head}\r{zero}\n");
    }
    let n = if size < 100_000 {
        size.to_string()
    } else {
        format!("{}k", size / 1024)
    };
    format!(
        "{head}\r{zero}\r100 {n:>5}  100 {n:>5}    0     0  {n:>5}      0 --:--:-- --:--:-- --:--:-- {n:>5}\n"
    )
}

/// Expands a `-w` format after the transfer.
fn write_out(fmt: &str, info: &Info, out: &mut ExecOutput, elapsed: Duration) {
    let mut text = String::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%{")
            && let Some(end) = after.find('}')
        {
            let var = &after[..end];
            match variable(var, info, out.code, elapsed) {
                Some(v) => text += &v,
                None => out.stderr.extend_from_slice(
                    format!("curl: unknown --write-out variable: '{var}'\n").as_bytes(),
                ),
            }
            rest = &after[end + 1..];
            continue;
        }
        let (piece, skip) = match (c, rest[c.len_utf8()..].chars().next()) {
            ('%', Some('%')) => ("%".to_string(), 2),
            ('\\', Some('n')) => ("\n".to_string(), 2),
            ('\\', Some('r')) => ("\r".to_string(), 2),
            ('\\', Some('t')) => ("\t".to_string(), 2),
            _ => (c.to_string(), c.len_utf8()),
        };
        text += &piece;
        rest = &rest[skip..];
    }
    out.stdout.extend_from_slice(text.as_bytes());
}

fn variable(name: &str, info: &Info, exit: i32, elapsed: Duration) -> Option<String> {
    Some(match name {
        "http_code" | "response_code" => format!("{:03}", info.http_code),
        "exitcode" => exit.to_string(),
        "remote_ip" => info.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        "remote_port" => info
            .remote
            .map(|a| a.port().to_string())
            .unwrap_or_default(),
        "size_download" => info.size.to_string(),
        "url_effective" | "url" => info.url.clone(),
        "num_redirects" => info.redirects.to_string(),
        "content_type" => info.content_type.clone(),
        "time_total" => format!("{:.6}", elapsed.as_secs_f64()),
        _ => return None,
    })
}
