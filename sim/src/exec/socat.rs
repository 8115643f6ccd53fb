//! A `socat` subset, as the upstream MCS conformance suite's hello pods and common echo
//! servers run it: `socat [-v…] [-d…] ADDR1 ADDR2` with
//! - `TCP-LISTEN:PORT` / `TCP4-LISTEN` / `tcp-l` and `UDP-LISTEN:PORT` / `udp-l`, options
//!   `fork`, `reuseaddr`, `crlf` (others are accepted and ignored);
//! - `SYSTEM:CMD` (run by `sh -c`) and `EXEC:CMD`: a `cat` echoes the peer's data, any other
//!   command's output is sent to the peer (one datagram per reply on UDP);
//! - `-`/`STDIO` with `TCP:HOST:PORT` / `UDP:HOST:PORT` (a client, like `nc`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::{ExecEnv, ExecOutput, Flavour, tools};

/// One socat address.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Addr {
    Listen {
        udp: bool,
        port: u16,
        fork: bool,
        crlf: bool,
    },
    Command {
        shell: bool,
        cmd: String,
    },
    Stdio,
    Connect {
        udp: bool,
        host: String,
        port: u16,
    },
}

fn parse_addr(s: &str) -> Result<Addr, String> {
    if matches!(s, "-" | "STDIO" | "stdio" | "STDIN" | "STDOUT") {
        return Ok(Addr::Stdio);
    }
    let (kind, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("unknown device/address \"{s}\""))?;
    let kind = kind.to_ascii_uppercase();
    match kind.as_str() {
        "SYSTEM" | "EXEC" => Ok(Addr::Command {
            shell: kind == "SYSTEM",
            cmd: rest.to_string(),
        }),
        "TCP-LISTEN" | "TCP4-LISTEN" | "TCP-L" | "TCP4-L" | "UDP-LISTEN" | "UDP4-LISTEN"
        | "UDP-L" | "UDP4-L" => {
            let mut parts = rest.split(',');
            let port = parts
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| format!("{s}: invalid port"))?;
            let opts: Vec<&str> = parts.collect();
            Ok(Addr::Listen {
                udp: kind.starts_with("UDP"),
                port,
                fork: opts.contains(&"fork"),
                crlf: opts.contains(&"crlf"),
            })
        }
        "TCP" | "TCP4" | "UDP" | "UDP4" => {
            let target = rest.split(',').next().unwrap_or("");
            let (host, port) = target
                .rsplit_once(':')
                .ok_or_else(|| format!("{s}: wrong number of parameters"))?;
            let port = port.parse().map_err(|_| format!("{s}: invalid port"))?;
            Ok(Addr::Connect {
                udp: kind.starts_with("UDP"),
                host: host.to_string(),
                port,
            })
        }
        _ => Err(format!("unknown device/address \"{kind}\"")),
    }
}

fn socat_error(msg: &str) -> ExecOutput {
    let now = jiff::Timestamp::now().strftime("%Y/%m/%d %H:%M:%S");
    ExecOutput::fail(1, format!("{now} socat[1] E {msg}\n"))
}

/// `socat ARGS…` with `stdin`.
pub async fn socat(env: &ExecEnv, args: &[String], stdin: &[u8]) -> ExecOutput {
    let addrs: Vec<&String> = args
        .iter()
        .filter(|a| !(a.starts_with('-') && a.len() > 1))
        .collect();
    let [a, b] = addrs.as_slice() else {
        let msg = format!(
            "exactly 2 addresses required (there are {}); use option \"-h\" for help",
            addrs.len()
        );
        return socat_error(&msg);
    };
    let (a, b) = match (parse_addr(a), parse_addr(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return socat_error(&e),
    };
    match (a, b) {
        (
            Addr::Listen {
                udp,
                port,
                fork,
                crlf,
            },
            Addr::Command { shell, cmd },
        )
        | (
            Addr::Command { shell, cmd },
            Addr::Listen {
                udp,
                port,
                fork,
                crlf,
            },
        ) => {
            let server = Server {
                env: Arc::new(child_env(env)),
                shell,
                cmd,
                crlf,
                fork,
            };
            let addr = SocketAddr::new(IpAddr::V4(env.pod_ip), port);
            match udp {
                false => server.tcp(addr).await,
                true => server.udp(addr).await,
            }
        }
        (Addr::Stdio, Addr::Connect { udp, host, port })
        | (Addr::Connect { udp, host, port }, Addr::Stdio) => {
            let mut args = vec!["-w".to_string(), "2".to_string()];
            if udp {
                args.push("-u".into());
            }
            args.extend([host, port.to_string()]);
            super::nc::nc(env, &args, stdin).await
        }
        _ => socat_error("this address combination is not emulated by mcs-sim"),
    }
}

/// The env of a forked child: its output goes to the peer, not the container's log.
fn child_env(env: &ExecEnv) -> ExecEnv {
    let mut e = env.clone();
    e.process.sink = None;
    e
}

struct Server {
    env: Arc<ExecEnv>,
    shell: bool,
    cmd: String,
    crlf: bool,
    fork: bool,
}

impl Server {
    fn echoes(&self) -> bool {
        let first = self.cmd.split_whitespace().next().unwrap_or("");
        super::image::basename(first) == "cat" && self.cmd.split_whitespace().count() == 1
    }

    fn argv(&self) -> Vec<String> {
        match self.shell {
            true => vec!["sh".into(), "-c".into(), self.cmd.clone()],
            false => self.cmd.split_whitespace().map(String::from).collect(),
        }
    }

    async fn reply(env: &ExecEnv, argv: Vec<String>, input: Vec<u8>, crlf: bool) -> Vec<u8> {
        let flavour = Flavour::of(&env.image);
        let out = tools::run_tool(env, flavour, argv, input).await;
        match crlf {
            true => String::from_utf8_lossy(&out.stdout)
                .replace('\n', "\r\n")
                .into_bytes(),
            false => out.stdout,
        }
    }

    async fn tcp(self, addr: SocketAddr) -> ExecOutput {
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => return socat_error(&format!("bind(5, {{AF=2 {addr}}}, 16): {e}")),
        };
        let this = Arc::new(self);
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return ExecOutput::code(1);
            };
            let conn = this.clone().serve(s);
            if this.fork {
                tokio::spawn(conn);
            } else {
                conn.await;
                return ExecOutput::code(0);
            }
        }
    }

    async fn serve(self: Arc<Self>, mut s: TcpStream) {
        if self.echoes() {
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            return;
        }
        let data = Self::reply(&self.env, self.argv(), Vec::new(), self.crlf).await;
        let _ = s.write_all(&data).await;
        let _ = s.shutdown().await;
        // Drain what the peer still sends, as socat does until its -t timeout.
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), s.read(&mut buf)).await;
    }

    async fn udp(self, addr: SocketAddr) -> ExecOutput {
        let sock = match UdpSocket::bind(addr).await {
            Ok(s) => Arc::new(s),
            Err(e) => return socat_error(&format!("bind(5, {{AF=2 {addr}}}, 16): {e}")),
        };
        let mut buf = vec![0u8; 65_536];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return ExecOutput::code(1);
            };
            let data = buf[..n].to_vec();
            let (env, argv, crlf, echo) = (self.env.clone(), self.argv(), self.crlf, self.echoes());
            let sock = sock.clone();
            let answer = async move {
                let reply = match echo {
                    true => data,
                    false => Self::reply(&env, argv, data, crlf).await,
                };
                let _ = sock.send_to(&reply, peer).await;
            };
            if self.fork {
                tokio::spawn(answer);
            } else {
                answer.await;
                return ExecOutput::code(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("TCP-LISTEN:42,crlf,reuseaddr,fork"),
            Ok(Addr::Listen {
                udp: false,
                port: 42,
                fork: true,
                crlf: true
            })
        );
        assert_eq!(
            parse_addr("udp-l:53,fork"),
            Ok(Addr::Listen {
                udp: true,
                port: 53,
                fork: true,
                crlf: false
            })
        );
        assert_eq!(
            parse_addr("SYSTEM:echo pod ip 1.2.3.4"),
            Ok(Addr::Command {
                shell: true,
                cmd: "echo pod ip 1.2.3.4".into()
            })
        );
        assert_eq!(
            parse_addr("TCP:hello.ns.svc:42"),
            Ok(Addr::Connect {
                udp: false,
                host: "hello.ns.svc".into(),
                port: 42
            })
        );
        assert!(parse_addr("FOO:1").is_err());
    }
}
