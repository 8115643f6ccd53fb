//! busybox `nc`: client (`nc [-v] [-u] [-z] [-w SECS] [-4] HOST PORT`, stdin sent, replies
//! printed) and listener (`nc -l [-k] [-u] [-p] PORT`, bound on the pod IP). Connections go
//! through the simulated network, so a Service VIP, a partition or an address outside the
//! fleet behaves as it would from a pod.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::args::{opt, parse};
use super::dns::{ResolveError, lookup_v4};
use super::http::strerror;
use super::{ExecEnv, ExecOutput};

const SPECS: &[super::args::OptSpec] = &[
    opt(Some('l'), "listen", false),
    opt(Some('k'), "keep-open", false),
    opt(Some('u'), "udp", false),
    opt(Some('v'), "verbose", false),
    opt(Some('z'), "zero", false),
    opt(Some('n'), "numeric", false),
    opt(Some('4'), "ipv4", false),
    opt(Some('w'), "wait", true),
    opt(Some('p'), "port", true),
];

/// How long a client without `-w` waits for a connection (the kernel's SYN retries take
/// about two minutes; a simulated pod waits this long instead).
const CONNECT_DEFAULT: Duration = Duration::from_secs(10);

fn usage() -> ExecOutput {
    ExecOutput::fail(
        1,
        "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen\n",
    )
}

/// `nc ARGS…` with `stdin`.
pub async fn nc(env: &ExecEnv, args: &[String], stdin: &[u8]) -> ExecOutput {
    let p = match parse(SPECS, args) {
        Ok(p) => p,
        Err(e) => return ExecOutput::fail(1, format!("nc: {e}\n")),
    };
    let wait = match p.last("wait").map(str::parse::<f64>) {
        None => None,
        Some(Ok(s)) if s >= 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => return ExecOutput::fail(1, "nc: invalid number\n"),
    };
    if p.flag("listen") {
        let port = p.last("port").or_else(|| p.args.last().map(String::as_str));
        let Some(port) = port.and_then(|s| s.parse::<u16>().ok()) else {
            return usage();
        };
        let addr = SocketAddr::new(IpAddr::V4(env.pod_ip), port);
        return match p.flag("udp") {
            true => listen_udp(env, addr, stdin, wait).await,
            false => listen_tcp(env, addr, stdin, p.flag("keep-open")).await,
        };
    }
    let [host, port] = p.args.as_slice() else {
        return usage();
    };
    let Ok(port) = port.parse::<u16>() else {
        return ExecOutput::fail(1, format!("nc: bad port '{port}'\n"));
    };
    let ip = match lookup_v4(env, host).await {
        Ok(ips) => ips[0],
        Err(ResolveError::NotFound | ResolveError::Timeout) => {
            return ExecOutput::fail(1, format!("nc: bad address '{host}'\n"));
        }
    };
    let addr = SocketAddr::new(IpAddr::V4(ip), port);
    let client = Client {
        env,
        host,
        addr,
        wait,
        verbose: p.flag("verbose"),
    };
    match (p.flag("udp"), p.flag("zero")) {
        (true, _) => client.udp(stdin).await,
        (false, zero) => client.tcp(stdin, zero).await,
    }
}

struct Client<'a> {
    env: &'a ExecEnv,
    host: &'a str,
    addr: SocketAddr,
    wait: Option<Duration>,
    verbose: bool,
}

impl Client<'_> {
    fn open_line(&self) -> Vec<u8> {
        match self.verbose {
            true => format!(
                "{} ({}:{}) open\n",
                self.host,
                self.addr.ip(),
                self.addr.port()
            )
            .into_bytes(),
            false => Vec::new(),
        }
    }

    fn opened(&self) -> ExecOutput {
        ExecOutput {
            stderr: self.open_line(),
            ..ExecOutput::default()
        }
    }

    fn connect_error(&self, e: &std::io::Error) -> ExecOutput {
        let msg = format!(
            "nc: can't connect to remote host ({}): {}\n",
            self.addr.ip(),
            strerror(e)
        );
        ExecOutput::fail(1, msg)
    }

    async fn tcp(&self, stdin: &[u8], zero: bool) -> ExecOutput {
        let timeout = self.wait.unwrap_or(CONNECT_DEFAULT);
        let mut s = match self
            .env
            .net
            .connect(&self.env.cluster, self.addr, timeout)
            .await
        {
            Ok(s) => s,
            Err(e) => return self.connect_error(&e),
        };
        let mut out = self.opened();
        if zero {
            return out;
        }
        if s.write_all(stdin).await.is_err() {
            return out;
        }
        let _ = s.shutdown().await;
        out.stdout = read_until_quiet(&mut s, self.wait).await;
        out
    }

    async fn udp(&self, stdin: &[u8]) -> ExecOutput {
        let timeout = self.wait.unwrap_or(CONNECT_DEFAULT);
        let sock = match self
            .env
            .net
            .udp(&self.env.cluster, self.addr, timeout)
            .await
        {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                // Nothing comes back from an unroutable address: nc just waits out -w.
                return self.opened();
            }
            Err(e) => return self.connect_error(&e),
        };
        let mut out = self.opened();
        if !stdin.is_empty() && sock.send(stdin).await.is_err() {
            return out;
        }
        out.stdout = recv_until_quiet(&sock, self.wait.unwrap_or(CONNECT_DEFAULT)).await;
        out
    }
}

/// Reads until the peer closes, or (with `-w`) until it has been quiet that long.
async fn read_until_quiet(s: &mut TcpStream, wait: Option<Duration>) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let read = s.read(&mut buf);
        let n = match wait {
            Some(w) => match tokio::time::timeout(w, read).await {
                Ok(r) => r,
                Err(_) => break,
            },
            None => read.await,
        };
        match n {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    data
}

async fn recv_until_quiet(sock: &UdpSocket, wait: Duration) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(Ok(n)) = tokio::time::timeout(wait, sock.recv(&mut buf)).await {
        data.extend_from_slice(&buf[..n]);
    }
    data
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> ExecOutput {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "Address in use",
        _ => strerror(e),
    };
    ExecOutput::fail(1, format!("nc: bind: {why} ({addr})\n"))
}

async fn listen_tcp(env: &ExecEnv, addr: SocketAddr, stdin: &[u8], keep: bool) -> ExecOutput {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return bind_error(addr, &e),
    };
    let mut out = ExecOutput::default();
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return out;
        };
        let _ = s.write_all(stdin).await;
        let data = read_until_quiet(&mut s, None).await;
        match &env.process.sink {
            Some(sink) => sink.write(false, &data),
            None => out.stdout.extend_from_slice(&data),
        }
        if !keep {
            return out;
        }
    }
}

async fn listen_udp(
    env: &ExecEnv,
    addr: SocketAddr,
    stdin: &[u8],
    wait: Option<Duration>,
) -> ExecOutput {
    let sock = match UdpSocket::bind(addr).await {
        Ok(s) => s,
        Err(e) => return bind_error(addr, &e),
    };
    let mut out = ExecOutput::default();
    let mut buf = vec![0u8; 65_536];
    let mut answered = false;
    loop {
        let recv = sock.recv_from(&mut buf);
        let got = match wait {
            Some(w) => match tokio::time::timeout(w, recv).await {
                Ok(r) => r,
                Err(_) => return out,
            },
            None => recv.await,
        };
        let Ok((n, peer)) = got else {
            return out;
        };
        match &env.process.sink {
            Some(sink) => sink.write(false, &buf[..n]),
            None => out.stdout.extend_from_slice(&buf[..n]),
        }
        if !answered && !stdin.is_empty() {
            let _ = sock.send_to(stdin, peer).await;
            answered = true;
        }
    }
}
