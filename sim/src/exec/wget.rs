//! busybox 1.36 `wget` (networking/wget.c): `wget [-q] [-O FILE|-] [-T SEC] [-U AGENT]
//! [-S] [--spider] [--header STR] URL…`.
//!
//! `-T` (default 900 s) bounds the connect and every read, as busybox's alarm/poll do; the
//! kernel gives up a connect after ~127 s on its own. Files other than `-O -` are not kept.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::args::{self, OptSpec, opt};
use super::dns::lookup_v4;
use super::http::{self, HttpError, Limits, Response, Url, UrlError, parse_url};
use super::{ExecEnv, ExecOutput};

/// How long the kernel retries a SYN before `connect` fails with `ETIMEDOUT`.
pub const KERNEL_CONNECT_TIMEOUT: Duration = Duration::from_secs(127);

const SPECS: &[OptSpec] = &[
    opt(Some('c'), "continue", false),
    opt(Some('q'), "quiet", false),
    opt(Some('S'), "server-response", false),
    opt(Some('O'), "output-document", true),
    opt(Some('o'), "output-file", true),
    opt(Some('P'), "directory-prefix", true),
    opt(Some('Y'), "proxy", true),
    opt(Some('U'), "user-agent", true),
    opt(Some('T'), "timeout", true),
    opt(Some('t'), "tries", true),
    opt(Some('n'), "n", true),
    opt(None, "header", true),
    opt(None, "spider", false),
    opt(None, "no-check-certificate", false),
];

const USAGE: &str = "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[--no-check-certificate] [-P DIR] [-U AGENT] [-T SEC] URL...\n\nRetrieve files via HTTP or FTP\n";

struct Opts {
    quiet: bool,
    spider: bool,
    show_headers: bool,
    output: Option<String>,
    agent: String,
    headers: Vec<String>,
    timeout: Option<Duration>,
}

/// Runs `wget ARGS`.
pub async fn wget(env: &ExecEnv, argv: &[String]) -> ExecOutput {
    let parsed = match args::parse(SPECS, argv) {
        Ok(p) if !p.args.is_empty() => p,
        Ok(_) => return ExecOutput::fail(1, USAGE),
        Err(e) => return ExecOutput::fail(1, format!("wget: {e}\n{USAGE}")),
    };
    let timeout = match parsed.last("timeout").map(str::parse::<u64>) {
        None => Some(Duration::from_secs(900)),
        Some(Ok(0)) => None,
        Some(Ok(n)) => Some(Duration::from_secs(n)),
        Some(Err(_)) => {
            let v = parsed.last("timeout").unwrap_or_default();
            return ExecOutput::fail(1, format!("wget: invalid number '{v}'\n"));
        }
    };
    let opts = Opts {
        quiet: parsed.flag("quiet"),
        spider: parsed.flag("spider"),
        show_headers: parsed.flag("server-response"),
        output: parsed.last("output-document").map(str::to_string),
        agent: parsed.last("user-agent").unwrap_or("Wget").to_string(),
        headers: parsed
            .all("header")
            .into_iter()
            .map(str::to_string)
            .collect(),
        timeout,
    };
    let mut out = ExecOutput::default();
    for url in &parsed.args {
        if let Err(msg) = download(env, &opts, url, &mut out).await {
            out.stderr
                .extend_from_slice(format!("wget: {msg}\n").as_bytes());
            out.code = 1;
            break;
        }
    }
    out
}

async fn download(env: &ExecEnv, o: &Opts, raw: &str, out: &mut ExecOutput) -> Result<(), String> {
    let mut url = parse_url(raw).map_err(|e| match e {
        UrlError::Scheme(_) => format!("not an http or ftp url: {raw}"),
        UrlError::Malformed => format!("bad address '{raw}'"),
    })?;
    for _ in 0..16 {
        let resp = fetch(env, o, &url, out).await?;
        if o.show_headers {
            let mut text = format!("  {}\n", resp.status_line);
            for (k, v) in &resp.headers {
                text += &format!("  {k}: {v}\n");
            }
            out.stderr.extend_from_slice(text.as_bytes());
        }
        match resp.status {
            200..=204 => {}
            300..=303 | 307 | 308 => {
                if let Some(loc) = resp.header("location") {
                    url = redirect(&url, loc)?;
                    continue;
                }
            }
            _ => {
                return Err(format!(
                    "server returned error: {}",
                    sanitize(&resp.status_line)
                ));
            }
        }
        save(o, &url, &resp, out);
        return Ok(());
    }
    Err("too many redirections".to_string())
}

fn redirect(url: &Url, location: &str) -> Result<Url, String> {
    if location.starts_with('/') {
        return Ok(Url {
            target: location.to_string(),
            ..url.clone()
        });
    }
    parse_url(location).map_err(|_| format!("not an http or ftp url: {location}"))
}

/// busybox's `sanitize_string`: cut at the first control character.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .take_while(|c| !c.is_control())
        .collect()
}

async fn fetch(
    env: &ExecEnv,
    o: &Opts,
    url: &Url,
    out: &mut ExecOutput,
) -> Result<Response, String> {
    let bad = || format!("bad address '{}'", url.authority);
    let ip = *lookup_v4(env, &url.host)
        .await
        .map_err(|_| bad())?
        .first()
        .ok_or_else(bad)?;
    let addr = SocketAddr::from((ip, url.port));
    if !o.quiet {
        let line = format!("Connecting to {} ({addr})\n", url.authority);
        out.stderr.extend_from_slice(line.as_bytes());
    }
    let budget = o
        .timeout
        .map_or(KERNEL_CONNECT_TIMEOUT, |t| t.min(KERNEL_CONNECT_TIMEOUT));
    let start = Instant::now();
    let stream = env
        .net
        .connect(&env.cluster, addr, budget)
        .await
        .map_err(|e| {
            let alarm = o.timeout.is_some_and(|t| start.elapsed() >= t);
            if alarm {
                "download timed out".to_string()
            } else {
                format!(
                    "can't connect to remote host ({ip}): {}",
                    http::strerror(&e)
                )
            }
        })?;
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nConnection: close\r\n",
        url.target, url.authority, o.agent
    );
    for h in &o.headers {
        req += &format!("{h}\r\n");
    }
    req += "\r\n";
    let limits = Limits {
        deadline: None,
        idle: o.timeout,
    };
    http::exchange(stream, req.as_bytes(), limits, false)
        .await
        .map_err(|e| match e {
            HttpError::Timeout { .. } => "download timed out".to_string(),
            HttpError::Empty => "error getting response".to_string(),
            HttpError::Io(e) => format!("error getting response: {}", http::strerror(&e)),
            HttpError::Premature => "connection closed prematurely".to_string(),
            HttpError::Malformed(m) => m,
        })
}

fn save(o: &Opts, url: &Url, resp: &Response, out: &mut ExecOutput) {
    if o.spider {
        if !o.quiet {
            out.stderr.extend_from_slice(b"remote file exists\n");
        }
        return;
    }
    let to_stdout = o.output.as_deref() == Some("-");
    let name = o.output.clone().unwrap_or_else(|| {
        let last = url.target.split('?').next().unwrap_or_default();
        match last.rsplit('/').next() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => "index.html".to_string(),
        }
    });
    if !o.quiet {
        let start = if to_stdout {
            "writing to stdout\n".to_string()
        } else {
            format!("saving to '{name}'\n")
        };
        let shown = if to_stdout { "-" } else { name.as_str() };
        let bar = format!(
            "{shown:<20} 100% |********************************| {:>5}  0:00:00 ETA\n",
            resp.body.len()
        );
        let end = if to_stdout {
            "written to stdout\n".to_string()
        } else {
            format!("'{name}' saved\n")
        };
        out.stderr
            .extend_from_slice(format!("{start}{bar}{end}").as_bytes());
    }
    if to_stdout {
        out.stdout.extend_from_slice(&resp.body);
    }
}
