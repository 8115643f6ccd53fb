//! busybox `tar`, enough for `kubectl cp`: `tar -xmf - [-C DIR]` unpacks the archive on
//! stdin into the container's files (kubectl cp to a pod), `tar cf - PATH…` writes one to
//! stdout (kubectl cp from a pod), `tar tf -` lists. Leading `/` is stripped from member
//! names, as tar does.

use std::io::Read;

use super::{ExecEnv, ExecOutput};

struct Mode {
    op: char,
    file: Option<String>,
    dir: String,
    verbose: bool,
    paths: Vec<String>,
}

fn parse(args: &[String]) -> Result<Mode, String> {
    let mut m = Mode {
        op: ' ',
        file: None,
        dir: "/".into(),
        verbose: false,
        paths: Vec::new(),
    };
    let mut it = args.iter().enumerate().peekable();
    while let Some((i, a)) = it.next() {
        if a.starts_with("--") {
            continue; // --no-same-owner, --no-same-permissions: nothing to do here
        }
        let bundled = i == 0 && !a.starts_with('-');
        let letters = if bundled {
            a.as_str()
        } else {
            a.strip_prefix('-').unwrap_or("")
        };
        if letters.is_empty() || (!bundled && !a.starts_with('-')) {
            m.paths.push(a.clone());
            continue;
        }
        for c in letters.chars() {
            match c {
                'x' | 'c' | 't' => m.op = c,
                'v' => m.verbose = true,
                'f' => m.file = it.next().map(|(_, v)| v.clone()),
                'C' => m.dir = it.next().map(|(_, v)| v.clone()).unwrap_or_default(),
                'm' | 'o' | 'p' | 'z' => {}
                other => return Err(format!("tar: invalid option -- '{other}'")),
            }
        }
    }
    Ok(m)
}

/// `tar ARGS…` with `stdin` (the archive for `-x`/`-t`).
pub fn tar(env: &ExecEnv, args: &[String], stdin: &[u8]) -> ExecOutput {
    let m = match parse(args) {
        Ok(m) => m,
        Err(e) => return ExecOutput::fail(1, format!("{e}\n")),
    };
    if m.file.as_deref().is_some_and(|f| f != "-") {
        return ExecOutput::fail(1, "tar: only archives on stdin/stdout are emulated\n");
    }
    match m.op {
        'x' | 't' => extract(env, &m, stdin),
        'c' => create(env, &m),
        _ => ExecOutput::fail(1, "tar: need to specify one of -c, -t, -x\n"),
    }
}

fn extract(env: &ExecEnv, m: &Mode, stdin: &[u8]) -> ExecOutput {
    let mut out = ExecOutput::default();
    let mut archive = tar::Archive::new(stdin);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(_) => return ExecOutput::fail(1, "tar: short read\n"),
    };
    for entry in entries {
        let Ok(mut entry) = entry else {
            return ExecOutput::fail(1, "tar: invalid tar magic\n");
        };
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if m.op == 't' || m.verbose {
            out.stdout.extend_from_slice(format!("{name}\n").as_bytes());
        }
        if m.op == 't' {
            continue;
        }
        let path = format!("{}/{}", m.dir, name.trim_start_matches('/'));
        if entry.header().entry_type().is_dir() {
            env.process.fs.mkdir(&path);
            continue;
        }
        let mut data = Vec::new();
        if entry.read_to_end(&mut data).is_err() {
            return ExecOutput::fail(1, "tar: short read\n");
        }
        if let Err(e) = env.process.fs.write(&path, &data, false) {
            return ExecOutput::fail(1, format!("tar: can't open '{name}': {e}\n"));
        }
    }
    out
}

fn create(env: &ExecEnv, m: &Mode) -> ExecOutput {
    let mut builder = tar::Builder::new(Vec::new());
    let mut err = Vec::new();
    let mut warned = false;
    for p in &m.paths {
        let full = if p.starts_with('/') {
            p.clone()
        } else {
            format!("{}/{p}", m.dir)
        };
        let files = env.process.fs.files_under(&full);
        let single = super::builtins::read_file(env, &full);
        if files.is_empty() && single.is_none() {
            err.extend_from_slice(format!("tar: {p}: No such file or directory\n").as_bytes());
            continue;
        }
        if p.starts_with('/') && !warned {
            err.extend_from_slice(b"tar: removing leading '/' from member names\n");
            warned = true;
        }
        let list = if files.is_empty() {
            vec![(full.clone(), single.unwrap_or_default())]
        } else {
            files
        };
        for (path, data) in list {
            let rel = match p.starts_with('/') {
                true => path.trim_start_matches('/').to_string(),
                false => path
                    .strip_prefix(&format!("{}/", super::fs::normalize(&m.dir)))
                    .unwrap_or(&path)
                    .trim_start_matches('/')
                    .to_string(),
            };
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(jiff::Timestamp::now().as_second().max(0) as u64);
            if builder.append_data(&mut h, &rel, data.as_slice()).is_err() {
                return ExecOutput::fail(1, format!("tar: {rel}: name too long\n"));
            }
        }
    }
    let code = i32::from(!err.is_empty() && builder.get_ref().is_empty());
    match builder.into_inner() {
        Ok(stdout) => ExecOutput {
            stdout,
            stderr: err,
            code,
        },
        Err(_) => ExecOutput::fail(1, "tar: write error\n"),
    }
}
