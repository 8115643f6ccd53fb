//! The shell's builtins (`exit`, `export`, `wait`, `break`, `test`/`[`, …), word expansion
//! and the hand-over of other commands to the image's executables.

use super::image::basename;
use super::shell::{Flow, Shell};
use super::syntax::{Part, Word};
use super::{ExecOutput, builtins, tools};

impl Shell<'_> {
    pub(super) async fn execute(&mut self, line: u32, argv: &[String], stdin: &[u8]) -> ExecOutput {
        let Some(cmd) = argv.first() else {
            return ExecOutput::code(0);
        };
        match cmd.as_str() {
            ":" | "true" | "cd" | "set" | "unset" | "trap" => return ExecOutput::code(0),
            "false" => return ExecOutput::code(1),
            "echo" => return builtins::echo(&argv[1..]),
            "exit" => return self.exit_builtin(line, argv.get(1)),
            "export" | "readonly" => {
                for a in &argv[1..] {
                    if let Some((k, v)) = a.split_once('=') {
                        self.vars.insert(k.to_string(), v.to_string());
                    }
                }
                return ExecOutput::code(0);
            }
            "wait" => {
                self.wait_jobs().await;
                return ExecOutput::code(0);
            }
            "break" | "continue" => {
                self.flow = if cmd == "break" {
                    Flow::Break
                } else {
                    Flow::Continue
                };
                return ExecOutput::code(0);
            }
            "test" => return test(&argv[1..]),
            "[" => {
                return match argv.last().map(String::as_str) {
                    Some("]") => test(&argv[1..argv.len() - 1]),
                    _ => ExecOutput::fail(2, "sh: missing ]\n"),
                };
            }
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
    pub(super) fn expand(&self, word: &Word) -> Vec<String> {
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

/// `test EXPR`: the string, integer and (container file) tests scripts use.
fn test(args: &[String]) -> ExecOutput {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let truth = match a.as_slice() {
        [] => false,
        ["!", rest @ ..] => {
            let inner: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            return ExecOutput::code(i32::from(test(&inner).code == 0));
        }
        [s] => !s.is_empty(),
        ["-n", s] => !s.is_empty(),
        ["-z", s] => s.is_empty(),
        [x, "=" | "==", y] => x == y,
        [x, "!=", y] => x != y,
        [x, op @ ("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"), y] => {
            match (x.trim().parse::<i64>(), y.trim().parse::<i64>()) {
                (Ok(x), Ok(y)) => match *op {
                    "-eq" => x == y,
                    "-ne" => x != y,
                    "-lt" => x < y,
                    "-le" => x <= y,
                    "-gt" => x > y,
                    _ => x >= y,
                },
                _ => return ExecOutput::fail(2, format!("sh: {x}: bad number\n")),
            }
        }
        _ => return ExecOutput::fail(2, "sh: test: unknown operand\n"),
    };
    ExecOutput::code(i32::from(!truth))
}
