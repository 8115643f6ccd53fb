//! Small tools every shell image has: `echo`, `cat`, `hostname`, `true`, `false`, `sleep`,
//! `env`, `tail -f`, `touch`, `rm`, `mkdir`, `ls`, and the pod files they read
//! (`/etc/resolv.conf`, `/etc/hostname`, `/etc/hosts`, then the container's written files).

use std::time::Duration;

use super::{ExecEnv, ExecOutput, Flavour};

/// Longest real sleep an exec'd `sleep` performs.
pub const SLEEP_CAP: Duration = Duration::from_secs(30);

/// A file as the container reads it: written files first, then the pod's own.
pub fn read_file(env: &ExecEnv, path: &str) -> Option<Vec<u8>> {
    env.process
        .fs
        .read(path)
        .or_else(|| pod_file(env, path).map(String::into_bytes))
}

/// The content of a file the pod has, or `None`.
pub fn pod_file(env: &ExecEnv, path: &str) -> Option<String> {
    match path {
        "/etc/resolv.conf" => Some(resolv_conf(env)),
        "/etc/hostname" => Some(format!("{}\n", env.pod)),
        "/etc/hosts" => Some(format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{}\t{}\n",
            env.pod_ip, env.pod
        )),
        "/dev/null" => Some(String::new()),
        _ => None,
    }
}

/// The kubelet-written resolv.conf.
pub fn resolv_conf(env: &ExecEnv) -> String {
    format!(
        "search {}\nnameserver {}\noptions ndots:{}\n",
        env.search.join(" "),
        env.nameserver.ip(),
        env.ndots
    )
}

/// `echo [-n] [-e] ARGS…` (busybox echo: `-e` interprets `\n`, `\t`, `\\`, `\c`).
pub fn echo(args: &[String]) -> ExecOutput {
    let (mut newline, mut escapes, mut i) = (true, false, 0);
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-E" => escapes = false,
            "-ne" | "-en" => (newline, escapes) = (false, true),
            _ => break,
        }
        i += 1;
    }
    let mut text = args[i..].join(" ");
    if escapes {
        match unescape(&text) {
            (t, true) => return ExecOutput::ok(t),
            (t, false) => text = t,
        }
    }
    if newline {
        text.push('\n');
    }
    ExecOutput::ok(text)
}

/// Interprets echo escapes; the flag is set when `\c` stopped output.
fn unescape(s: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('c') => return (out, true),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

/// `cat [FILE…]`: pod files, or stdin without operands (or for `-`).
pub fn cat(env: &ExecEnv, flavour: Flavour, args: &[String], stdin: &[u8]) -> ExecOutput {
    if args.is_empty() {
        return ExecOutput::ok(stdin.to_vec());
    }
    let mut out = ExecOutput::default();
    for path in args {
        if path == "-" {
            out.stdout.extend_from_slice(stdin);
            continue;
        }
        match read_file(env, path) {
            Some(data) => out.stdout.extend_from_slice(&data),
            None => {
                let msg = if flavour == Flavour::Debian {
                    format!("cat: {path}: No such file or directory\n")
                } else {
                    format!("cat: can't open '{path}': No such file or directory\n")
                };
                out.stderr.extend_from_slice(msg.as_bytes());
                out.code = 1;
            }
        }
    }
    out
}

/// `sleep N` (seconds, fractions allowed, `inf`); in exec sessions capped at [`SLEEP_CAP`].
pub async fn sleep(env: &ExecEnv, args: &[String]) -> ExecOutput {
    let Some(arg) = args.first() else {
        return ExecOutput::fail(1, "sleep: missing operand\n");
    };
    let secs = match arg.trim_end_matches('s') {
        "inf" | "infinity" => f64::INFINITY,
        n => match n.parse::<f64>() {
            Ok(v) if v >= 0.0 => v,
            _ => return ExecOutput::fail(1, format!("sleep: invalid number '{arg}'\n")),
        },
    };
    let cap = env.process.sleep_cap;
    let secs = secs * env.process.sleep_scale;
    match (secs.is_finite(), cap) {
        (true, Some(cap)) => tokio::time::sleep(Duration::from_secs_f64(secs).min(cap)).await,
        (false, Some(cap)) => tokio::time::sleep(cap).await,
        (true, None) if secs < 1e9 => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
        _ => std::future::pending::<()>().await,
    }
    ExecOutput::code(0)
}

/// `tail [-f] [-n N] FILE`: with `-f`, follows until killed (no file grows here).
pub async fn tail(env: &ExecEnv, args: &[String]) -> ExecOutput {
    let follow = args.iter().any(|a| a == "-f" || a == "-F");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut out = ExecOutput::default();
    for f in &files {
        match read_file(env, f) {
            Some(d) => {
                let text = String::from_utf8_lossy(&d).into_owned();
                let lines: Vec<&str> = text.lines().collect();
                let start = lines.len().saturating_sub(10);
                for l in &lines[start..] {
                    out.stdout.extend_from_slice(format!("{l}\n").as_bytes());
                }
            }
            None => {
                out.stderr.extend_from_slice(
                    format!("tail: can't open '{f}': No such file or directory\n").as_bytes(),
                );
                out.code = 1;
            }
        }
    }
    if follow && out.code == 0 {
        if let Some(sink) = &env.process.sink {
            sink.write(false, &std::mem::take(&mut out.stdout));
        }
        let cap = env.process.sleep_cap;
        match cap {
            Some(cap) => tokio::time::sleep(cap).await,
            None => std::future::pending::<()>().await,
        }
    }
    out
}

/// `touch`, `rm [-rf]`, `mkdir [-p]`: the container's writable files.
pub fn files(env: &ExecEnv, cmd: &str, args: &[String]) -> ExecOutput {
    let fs = &env.process.fs;
    let force = args.iter().any(|a| a.starts_with('-') && a.contains('f'));
    let mut out = ExecOutput::default();
    for path in args.iter().filter(|a| !a.starts_with('-')) {
        match cmd {
            "touch" => {
                if fs.read(path).is_none() && !fs.is_dir(path) {
                    let _ = fs.write(path, b"", false);
                }
            }
            "mkdir" => fs.mkdir(path),
            _ => {
                if !fs.remove(path) && !force {
                    out.stderr.extend_from_slice(
                        format!("rm: can't remove '{path}': No such file or directory\n")
                            .as_bytes(),
                    );
                    out.code = 1;
                }
            }
        }
    }
    out
}

/// `ls [DIR|FILE…]`: names in the container's written files.
pub fn ls(env: &ExecEnv, args: &[String]) -> ExecOutput {
    let paths: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let paths = if paths.is_empty() { vec!["/"] } else { paths };
    let mut out = ExecOutput::default();
    for p in paths {
        if env.process.fs.read(p).is_some() || pod_file(env, p).is_some() {
            out.stdout.extend_from_slice(format!("{p}\n").as_bytes());
        } else if env.process.fs.is_dir(p) {
            for n in env.process.fs.list(p) {
                out.stdout.extend_from_slice(format!("{n}\n").as_bytes());
            }
        } else {
            out.stderr
                .extend_from_slice(format!("ls: {p}: No such file or directory\n").as_bytes());
            out.code = 1;
        }
    }
    out
}

/// `env`: the container environment of a pod.
pub fn env_vars(env: &ExecEnv) -> ExecOutput {
    let mut text = format!(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME={}\n",
        env.pod
    );
    for (k, v) in &env.process.vars {
        text.push_str(&format!("{k}={v}\n"));
    }
    text.push_str("HOME=/root\n");
    ExecOutput::ok(text)
}

/// A shell variable as the pod's shell sees it.
pub fn variable(env: &ExecEnv, name: &str) -> Option<String> {
    if let Some(v) = env.var(name) {
        return Some(v.to_string());
    }
    match name {
        "HOSTNAME" => Some(env.pod.clone()),
        "HOME" => Some("/root".to_string()),
        "PATH" => Some("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
        _ => None,
    }
}
