//! The image's `/bin/sh` (busybox ash, or dash on Debian images): `sh -c SCRIPT`, or a script
//! read from stdin, interpreted over [`super::syntax`]. Background jobs (`&`) run as tasks
//! that end with the shell; loops yield to the runtime between iterations. When the process
//! has an output sink (a container's main process) output is streamed to it after every
//! command, so `kubectl logs -f` follows a `while` loop.

use std::collections::HashMap;

use tokio::task::JoinHandle;

use super::syntax::{self, AndOr, Command, Cond, Pipeline, Simple, SyntaxError, Target};
use super::{ExecEnv, ExecOutput, Flavour, builtins};
use crate::net::BoxFuture;

/// `sh [-e] [-c SCRIPT [NAME ARGS…]]`; without `-c` the script is read from stdin.
pub async fn sh(env: &ExecEnv, flavour: Flavour, args: &[String], stdin: &[u8]) -> ExecOutput {
    let (mut command, mut errexit, mut i) = (false, false, 0);
    while let Some(a) = args.get(i).filter(|a| a.len() > 1 && a.starts_with('-')) {
        command |= a.contains('c');
        errexit |= a.contains('e');
        i += 1;
    }
    let (script, stdin) = if command {
        match args.get(i) {
            Some(s) => (s.clone(), stdin),
            None => return ExecOutput::fail(2, "sh: -c requires an argument\n"),
        }
    } else if let Some(file) = args.get(i) {
        match env.process.fs.read(file) {
            Some(text) => (String::from_utf8_lossy(&text).into_owned(), stdin),
            None => {
                let msg = if flavour.dash() {
                    format!("sh: 0: cannot open {file}: No such file\n")
                } else {
                    format!("sh: can't open '{file}': No such file or directory\n")
                };
                return ExecOutput::fail(if flavour.dash() { 2 } else { 127 }, msg);
            }
        }
    } else {
        (String::from_utf8_lossy(stdin).into_owned(), &[][..])
    };
    let list = match syntax::parse(&script) {
        Ok(list) => list,
        Err(e) => return ExecOutput::fail(2, syntax_message(flavour, &e)),
    };
    let mut shell = Shell::new(env, flavour, errexit, HashMap::new(), stdin.to_vec());
    shell.run_list(&list).await;
    shell.flush();
    ExecOutput {
        code: shell.exit.unwrap_or(shell.status),
        stdout: shell.out,
        stderr: shell.err,
    }
}

/// The shell's syntax error message (ash or dash wording).
fn syntax_message(flavour: Flavour, e: &SyntaxError) -> String {
    match (flavour.dash(), e) {
        (false, e) => format!("sh: syntax error: {e}\n"),
        (true, SyntaxError::Unexpected { token, line }) => {
            format!("sh: {line}: Syntax error: {token} unexpected\n")
        }
        (true, SyntaxError::Unterminated { line }) => {
            format!("sh: {line}: Syntax error: Unterminated quoted string\n")
        }
    }
}

/// Loop iterations between two short pauses (a busy loop must not starve the fleet).
const YIELD_EVERY: u32 = 64;

/// Control flow out of a loop body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Normal,
    Break,
    Continue,
}

/// Aborts background jobs when the shell ends (the container's processes die with it).
struct Jobs(Vec<JoinHandle<()>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        for j in &self.0 {
            j.abort();
        }
    }
}

pub(super) struct Shell<'a> {
    pub(super) env: &'a ExecEnv,
    pub(super) flavour: Flavour,
    errexit: bool,
    pub(super) status: i32,
    pub(super) exit: Option<i32>,
    pub(super) flow: Flow,
    pub(super) vars: HashMap<String, String>,
    pub(super) out: Vec<u8>,
    pub(super) err: Vec<u8>,
    stdin: Vec<u8>,
    /// Nesting of output captures (pipeline stages, redirections): no streaming inside.
    capture: u32,
    jobs: Jobs,
    iterations: u32,
}

impl<'a> Shell<'a> {
    fn new(
        env: &'a ExecEnv,
        flavour: Flavour,
        errexit: bool,
        vars: HashMap<String, String>,
        stdin: Vec<u8>,
    ) -> Self {
        Self {
            env,
            flavour,
            errexit,
            status: 0,
            exit: None,
            flow: Flow::Normal,
            vars,
            out: Vec::new(),
            err: Vec::new(),
            stdin,
            capture: 0,
            jobs: Jobs(Vec::new()),
            iterations: 0,
        }
    }

    /// Streams pending output to the sink (if any, and not capturing).
    fn flush(&mut self) {
        let Some(sink) = &self.env.process.sink else {
            return;
        };
        if self.capture > 0 {
            return;
        }
        sink.write(false, &std::mem::take(&mut self.out));
        sink.write(true, &std::mem::take(&mut self.err));
    }

    fn stop(&self) -> bool {
        self.exit.is_some() || self.flow != Flow::Normal
    }

    pub(super) fn run_list<'s>(&'s mut self, list: &'s [AndOr]) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            for and_or in list {
                if and_or.background {
                    self.spawn(and_or.clone());
                    self.status = 0;
                    continue;
                }
                self.run_and_or(and_or).await;
                if self.stop() {
                    return;
                }
                if self.errexit && self.status != 0 {
                    self.exit = Some(self.status);
                    return;
                }
            }
        })
    }

    /// `LIST &`: a job with a copy of the shell's variables, output streamed or dropped.
    fn spawn(&mut self, and_or: AndOr) {
        let env = self.env.clone();
        let (flavour, vars) = (self.flavour, self.vars.clone());
        self.jobs.0.retain(|j| !j.is_finished());
        self.jobs.0.push(tokio::spawn(async move {
            let mut sub = Shell::new(&env, flavour, false, vars, Vec::new());
            sub.run_and_or(&and_or).await;
            sub.flush();
        }));
    }

    /// `wait`: until every background job ended.
    pub(super) async fn wait_jobs(&mut self) {
        for j in std::mem::take(&mut self.jobs.0) {
            let _ = j.await;
        }
    }

    async fn run_and_or(&mut self, and_or: &AndOr) {
        self.status = self.run_pipeline(&and_or.first).await;
        for (cond, p) in &and_or.rest {
            if self.stop() {
                return;
            }
            let go = match cond {
                Cond::And => self.status == 0,
                Cond::Or => self.status != 0,
            };
            if go {
                self.status = self.run_pipeline(p).await;
            }
        }
    }

    async fn run_pipeline(&mut self, p: &Pipeline) -> i32 {
        let mut input = std::mem::take(&mut self.stdin);
        let mut code = 0;
        let last = p.cmds.len().saturating_sub(1);
        for (i, cmd) in p.cmds.iter().enumerate() {
            if i == last {
                code = self.run_command(cmd, &input).await;
            } else {
                let (out, c) = self.captured(cmd, &input).await;
                input = out;
                code = c;
            }
            if self.exit.is_some() {
                break;
            }
        }
        if p.negate { i32::from(code == 0) } else { code }
    }

    /// Runs `cmd` collecting what it writes to stdout.
    async fn captured(&mut self, cmd: &Command, stdin: &[u8]) -> (Vec<u8>, i32) {
        let saved = std::mem::take(&mut self.out);
        self.capture += 1;
        let code = self.run_command(cmd, stdin).await;
        self.capture -= 1;
        (std::mem::replace(&mut self.out, saved), code)
    }

    fn run_command<'s>(&'s mut self, cmd: &'s Command, stdin: &'s [u8]) -> BoxFuture<'s, i32> {
        Box::pin(async move {
            match cmd {
                Command::Simple(s) => self.run_simple(s, stdin).await,
                Command::Group(body) => {
                    self.stdin = stdin.to_vec();
                    self.run_list(body).await;
                    self.status
                }
                Command::If {
                    branches,
                    otherwise,
                } => {
                    for (cond, body) in branches {
                        self.run_list(cond).await;
                        if self.stop() {
                            return self.status;
                        }
                        if self.status == 0 {
                            self.run_list(body).await;
                            return self.status;
                        }
                    }
                    if let Some(body) = otherwise {
                        self.run_list(body).await;
                        return self.status;
                    }
                    0
                }
                Command::Loop { cond, body, until } => self.run_loop(cond, body, *until).await,
                Command::For { name, words, body } => self.run_for(name, words, body).await,
            }
        })
    }

    async fn pause_now_and_then(&mut self) {
        self.iterations = self.iterations.wrapping_add(1);
        if self.iterations.is_multiple_of(YIELD_EVERY) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }

    async fn run_loop(&mut self, cond: &[AndOr], body: &[AndOr], until: bool) -> i32 {
        let mut code = 0;
        loop {
            self.pause_now_and_then().await;
            self.run_list(cond).await;
            if self.exit.is_some() || (self.status == 0) == until {
                break;
            }
            self.run_list(body).await;
            code = self.status;
            match std::mem::replace(&mut self.flow, Flow::Normal) {
                Flow::Break => break,
                Flow::Continue | Flow::Normal => {}
            }
            if self.exit.is_some() {
                break;
            }
        }
        code
    }

    async fn run_for(&mut self, name: &str, words: &[syntax::Word], body: &[AndOr]) -> i32 {
        let mut values = Vec::new();
        for w in words {
            values.extend(self.expand(w));
        }
        let mut code = 0;
        for v in values {
            self.pause_now_and_then().await;
            self.vars.insert(name.to_string(), v);
            self.run_list(body).await;
            code = self.status;
            if std::mem::replace(&mut self.flow, Flow::Normal) == Flow::Break || self.exit.is_some()
            {
                break;
            }
        }
        code
    }

    /// Runs one command; its stdout goes to the shell's stdout unless redirected.
    async fn run_simple(&mut self, cmd: &Simple, stdin: &[u8]) -> i32 {
        let mut argv = Vec::new();
        for w in &cmd.words {
            argv.extend(self.expand(w));
        }
        let assignments = argv.iter().take_while(|w| is_assignment(w)).count();
        let (assigns, argv) = argv.split_at(assignments);
        if argv.is_empty() {
            for a in assigns {
                if let Some((k, v)) = a.split_once('=') {
                    self.vars.insert(k.to_string(), v.to_string());
                }
            }
        }
        let (sinks, input) = match self.redirections(cmd, stdin) {
            Ok(r) => r,
            Err(msg) => {
                self.err.extend_from_slice(msg.as_bytes());
                return 1;
            }
        };
        let out = self.execute(cmd.line, argv, &input).await;
        for (bytes, sink) in [(out.stdout, &sinks[0]), (out.stderr, &sinks[1])] {
            match sink {
                Sink::Out => self.out.extend_from_slice(&bytes),
                Sink::Err => self.err.extend_from_slice(&bytes),
                Sink::Null => {}
                Sink::File(path, append) => {
                    if let Err(e) = self.env.process.fs.write(path, &bytes, *append) {
                        self.err
                            .extend_from_slice(format!("sh: write error: {e}\n").as_bytes());
                    }
                }
            }
        }
        self.flush();
        out.code
    }

    /// Applies redirections: sinks for fd 1 and 2, and the command's stdin.
    fn redirections(&self, cmd: &Simple, stdin: &[u8]) -> Result<([Sink; 2], Vec<u8>), String> {
        let mut sinks = [Sink::Out, Sink::Err];
        let mut input = stdin.to_vec();
        for r in &cmd.redirs {
            let slot = match r.fd {
                1 => Some(0),
                2 => Some(1),
                _ => None,
            };
            match &r.target {
                Target::Input(w) => {
                    let path = self.expand(w).concat();
                    input = builtins::read_file(self.env, &path)
                        .ok_or_else(|| self.cannot_open(cmd.line, &path))?;
                }
                Target::File(w, append) => {
                    let path = self.expand(w).concat();
                    if let Some(s) = slot {
                        sinks[s] = match path.as_str() {
                            "/dev/null" => Sink::Null,
                            "/dev/stdout" => Sink::Out,
                            "/dev/stderr" => Sink::Err,
                            _ => {
                                if !*append {
                                    let _ = self.env.process.fs.write(&path, b"", false);
                                }
                                Sink::File(path, true)
                            }
                        };
                    }
                }
                Target::Dup(m) => {
                    let from = match m {
                        1 => sinks[0].clone(),
                        2 => sinks[1].clone(),
                        _ => Sink::Null,
                    };
                    if let Some(s) = slot {
                        sinks[s] = from;
                    }
                }
            }
        }
        Ok((sinks, input))
    }

    fn cannot_open(&self, line: u32, path: &str) -> String {
        if self.flavour.dash() {
            format!("sh: {line}: cannot open {path}: No such file\n")
        } else {
            format!("sh: can't open '{path}': No such file or directory\n")
        }
    }
}

/// Where a descriptor's bytes end up.
#[derive(Clone, PartialEq, Eq)]
enum Sink {
    Out,
    Err,
    Null,
    File(String, bool),
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        None => false,
    }
}
