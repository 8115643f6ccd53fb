//! The image's `/bin/sh` (busybox ash, or dash on Debian images): `sh -c SCRIPT`, or a script
//! read from stdin, interpreted over [`super::syntax`].

use std::collections::HashMap;

use super::image::basename;
use super::syntax::{self, AndOr, Cond, Part, Pipeline, Simple, SyntaxError, Target, Word};
use super::{ExecEnv, ExecOutput, Flavour, builtins, tools};

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
        let msg = if flavour.dash() {
            format!("sh: 0: cannot open {file}: No such file\n")
        } else {
            format!("sh: can't open '{file}': No such file or directory\n")
        };
        return ExecOutput::fail(if flavour.dash() { 2 } else { 127 }, msg);
    } else {
        (String::from_utf8_lossy(stdin).into_owned(), &[][..])
    };
    let list = match syntax::parse(&script) {
        Ok(list) => list,
        Err(e) => return ExecOutput::fail(2, syntax_message(flavour, &e)),
    };
    let mut shell = Shell {
        env,
        flavour,
        errexit,
        status: 0,
        exit: None,
        vars: HashMap::new(),
        out: Vec::new(),
        err: Vec::new(),
        stdin: stdin.to_vec(),
    };
    shell.run_list(&list).await;
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

/// Where a descriptor's bytes end up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    Out,
    Err,
    Null,
}

struct Shell<'a> {
    env: &'a ExecEnv,
    flavour: Flavour,
    errexit: bool,
    status: i32,
    exit: Option<i32>,
    vars: HashMap<String, String>,
    out: Vec<u8>,
    err: Vec<u8>,
    stdin: Vec<u8>,
}

impl Shell<'_> {
    async fn run_list(&mut self, list: &[AndOr]) {
        for and_or in list {
            self.run_and_or(and_or).await;
            if self.exit.is_some() {
                return;
            }
            if self.errexit && self.status != 0 {
                self.exit = Some(self.status);
                return;
            }
        }
    }

    async fn run_and_or(&mut self, and_or: &AndOr) {
        self.status = self.run_pipeline(&and_or.first).await;
        for (cond, p) in &and_or.rest {
            if self.exit.is_some() {
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
            let (out, c) = self.run_simple(cmd, &input).await;
            code = c;
            if i == last {
                self.out.extend_from_slice(&out);
            } else {
                input = out;
            }
            if self.exit.is_some() {
                break;
            }
        }
        if p.negate { i32::from(code == 0) } else { code }
    }

    /// Runs one command; returns what it wrote to its (redirected) stdout, and its status.
    async fn run_simple(&mut self, cmd: &Simple, stdin: &[u8]) -> (Vec<u8>, i32) {
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
                return (Vec::new(), 1);
            }
        };
        let out = self.execute(cmd.line, argv, &input).await;
        let mut to_out = Vec::new();
        for (bytes, sink) in [(out.stdout, sinks[0]), (out.stderr, sinks[1])] {
            match sink {
                Sink::Out => to_out.extend_from_slice(&bytes),
                Sink::Err => self.err.extend_from_slice(&bytes),
                Sink::Null => {}
            }
        }
        (to_out, out.code)
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
                    input = builtins::pod_file(self.env, &path)
                        .ok_or_else(|| self.cannot_open(cmd.line, &path))?
                        .into_bytes();
                }
                Target::File(_) => {
                    if let Some(s) = slot {
                        sinks[s] = Sink::Null;
                    }
                }
                Target::Dup(m) => {
                    let from = match m {
                        1 => sinks[0],
                        2 => sinks[1],
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

    async fn execute(&mut self, line: u32, argv: &[String], stdin: &[u8]) -> ExecOutput {
        let Some(cmd) = argv.first() else {
            return ExecOutput::code(0);
        };
        match cmd.as_str() {
            ":" | "true" | "cd" | "export" | "set" | "unset" => return ExecOutput::code(0),
            "false" => return ExecOutput::code(1),
            "echo" => return builtins::echo(&argv[1..]),
            "exit" => return self.exit_builtin(line, argv.get(1)),
            _ => {}
        }
        if !self.flavour.has(basename(cmd)) || cmd.is_empty() {
            let msg = if self.flavour.dash() {
                format!("sh: {line}: {cmd}: not found\n")
            } else {
                format!("sh: {cmd}: not found\n")
            };
            return ExecOutput::fail(127, msg);
        }
        tools::run_tool(self.env, self.flavour, argv.to_vec(), stdin.to_vec()).await
    }

    fn exit_builtin(&mut self, line: u32, arg: Option<&String>) -> ExecOutput {
        let code = match arg.map(|a| a.parse::<i64>()) {
            None => self.status,
            Some(Ok(n)) => (n & 0xff) as i32,
            Some(Err(_)) => {
                let a = arg.map_or("", String::as_str);
                let msg = if self.flavour.dash() {
                    format!("sh: {line}: exit: Illegal number: {a}\n")
                } else {
                    format!("sh: exit: Illegal number: {a}\n")
                };
                self.exit = Some(2);
                return ExecOutput::fail(2, msg);
            }
        };
        self.exit = Some(code);
        ExecOutput::code(code)
    }

    fn lookup(&self, name: &str) -> String {
        match name {
            "?" => self.status.to_string(),
            "$" => "1".to_string(),
            "0" => "sh".to_string(),
            "#" => "0".to_string(),
            _ => self
                .vars
                .get(name)
                .cloned()
                .or_else(|| builtins::variable(self.env, name))
                .unwrap_or_default(),
        }
    }

    /// Expands a word into fields (unquoted variables are split on whitespace).
    fn expand(&self, word: &Word) -> Vec<String> {
        let mut fields = Vec::new();
        let (mut cur, mut have) = (String::new(), false);
        for part in word {
            match part {
                Part::Lit(s) => {
                    cur.push_str(s);
                    have = true;
                }
                Part::Var { name, quoted: true } => {
                    cur.push_str(&self.lookup(name));
                    have = true;
                }
                Part::Var {
                    name,
                    quoted: false,
                } => {
                    let value = self.lookup(name);
                    for (i, piece) in value.split_whitespace().enumerate() {
                        if i > 0 {
                            fields.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(piece);
                        have = true;
                    }
                }
            }
        }
        if have {
            fields.push(cur);
        }
        fields
    }
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
