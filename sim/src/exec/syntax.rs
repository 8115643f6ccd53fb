//! POSIX-ish shell syntax for `sh -c`: words with single/double quotes, backslashes and `$VAR`
//! expansions; `;`, newlines, `&&`, `||`, `|`, `!`, `&` (background); redirections `N>FILE`,
//! `N>>FILE`, `N>&M`, `<FILE`; compound commands `while`/`until … do … done`,
//! `for NAME [in WORDS] do … done`, `if … then … [elif …] [else …] fi` and `{ …; }`.
//! Subshells `( … )` and command substitution `$( … )` are not supported.

use thiserror::Error;

use super::parser::{self, op_name};

/// A piece of a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Literal text (quoted or not).
    Lit(String),
    /// `$NAME` / `${NAME}`; `quoted` inside double quotes (no field splitting).
    Var { name: String, quoted: bool },
}

/// A shell word before expansion.
pub type Word = Vec<Part>;

/// Where a redirection sends a descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `>FILE` (`>>FILE` when the flag is set): written to the container's files.
    File(Word, bool),
    /// `>&M`.
    Dup(u32),
    /// `<FILE`.
    Input(Word),
}

/// `fd` redirected to `target`; `append` for `>>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redir {
    /// The descriptor redirected.
    pub fd: u32,
    /// Where it goes.
    pub target: Target,
}

/// A simple command: words and redirections, with the line it starts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simple {
    /// Words (assignments and argv).
    pub words: Vec<Word>,
    /// Redirections in order.
    pub redirs: Vec<Redir>,
    /// 1-based line number.
    pub line: u32,
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A simple command.
    Simple(Simple),
    /// `while COND; do BODY; done` (`until` when the flag is set).
    Loop {
        /// The condition list.
        cond: Vec<AndOr>,
        /// The body.
        body: Vec<AndOr>,
        /// `until` (run while the condition fails).
        until: bool,
    },
    /// `for NAME in WORDS; do BODY; done`.
    For {
        /// The variable.
        name: String,
        /// The words (None: `"$@"`, empty here).
        words: Vec<Word>,
        /// The body.
        body: Vec<AndOr>,
    },
    /// `if C1; then B1; elif C2; then B2; else B3; fi`.
    If {
        /// Conditions and their bodies, in order.
        branches: Vec<(Vec<AndOr>, Vec<AndOr>)>,
        /// The `else` body.
        otherwise: Option<Vec<AndOr>>,
    },
    /// `{ LIST; }`.
    Group(Vec<AndOr>),
}

/// `[!] cmd | cmd …`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Whether the status is negated.
    pub negate: bool,
    /// Stages.
    pub cmds: Vec<Command>,
}

/// `&&` or `||`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// `pipeline (&& | ||) pipeline …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    /// First pipeline.
    pub first: Pipeline,
    /// Conditional continuations.
    pub rest: Vec<(Cond, Pipeline)>,
    /// Ended by `&`: runs in the background.
    pub background: bool,
}

/// A parse failure, reported by the shell as `syntax error`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SyntaxError {
    /// An unexpected token (`"&&"`, `newline`, `end of file`, …).
    #[error("unexpected {token}")]
    Unexpected {
        /// The token as the shell names it.
        token: String,
        /// Line number.
        line: u32,
    },
    /// A quote that never closes.
    #[error("unterminated quoted string")]
    Unterminated {
        /// Line number.
        line: u32,
    },
}

/// A lexical token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// A word.
    Word(Word),
    /// A redirection with its target.
    Redir(Redir),
    /// `;`.
    Semi,
    /// `&`.
    Amp,
    /// A newline.
    Newline,
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `|`.
    Pipe,
}

/// Parses a script into its list of and-or lists.
pub fn parse(src: &str) -> Result<Vec<AndOr>, SyntaxError> {
    let toks = Lexer::new(src).run()?;
    parser::list(toks)
}

#[derive(Default)]
struct WordBuf {
    parts: Vec<Part>,
    lit: String,
    started: bool,
    digits_only: bool,
}

impl WordBuf {
    fn push(&mut self, c: char, quoted: bool) {
        if !self.started {
            self.digits_only = true;
        }
        self.digits_only &= !quoted && c.is_ascii_digit();
        self.started = true;
        self.lit.push(c);
    }

    fn var(&mut self, name: String, quoted: bool) {
        self.started = true;
        self.digits_only = false;
        if !self.lit.is_empty() {
            self.parts.push(Part::Lit(std::mem::take(&mut self.lit)));
        }
        self.parts.push(Part::Var { name, quoted });
    }

    fn take(&mut self) -> Option<Word> {
        if !self.started {
            return None;
        }
        if !self.lit.is_empty() || self.parts.is_empty() {
            self.parts.push(Part::Lit(std::mem::take(&mut self.lit)));
        }
        self.started = false;
        Some(std::mem::take(&mut self.parts))
    }
}

struct Lexer {
    s: Vec<char>,
    i: usize,
    line: u32,
    out: Vec<(Tok, u32)>,
    word: WordBuf,
    pending: Option<(u32, bool)>,
    appending: bool,
}

impl Lexer {
    fn new(src: &str) -> Self {
        Self {
            s: src.chars().collect(),
            i: 0,
            line: 1,
            out: Vec::new(),
            word: WordBuf::default(),
            pending: None,
            appending: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn run(mut self) -> Result<Vec<(Tok, u32)>, SyntaxError> {
        while let Some(c) = self.peek() {
            self.i += 1;
            self.step(c)?;
        }
        self.flush()?;
        if self.pending.is_some() {
            return Err(self.unexpected("end of file"));
        }
        Ok(self.out)
    }

    fn step(&mut self, c: char) -> Result<(), SyntaxError> {
        match c {
            ' ' | '\t' => self.flush()?,
            '\n' => {
                self.op(Tok::Newline)?;
                self.line += 1;
            }
            '#' if !self.word.started => {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
            }
            ';' => self.op(Tok::Semi)?,
            '&' => {
                let tok = if self.eat('&') { Tok::And } else { Tok::Amp };
                self.op(tok)?;
            }
            '|' => {
                let tok = if self.eat('|') { Tok::Or } else { Tok::Pipe };
                self.op(tok)?;
            }
            '>' | '<' => self.redirect(c)?,
            '(' | ')' => return Err(self.unexpected(&format!("\"{c}\""))),
            '\'' => self.single_quoted()?,
            '"' => self.double_quoted()?,
            '\\' => match self.peek() {
                Some('\n') => {
                    self.i += 1;
                    self.line += 1;
                }
                Some(n) => {
                    self.i += 1;
                    self.word.push(n, true);
                }
                None => self.word.push('\\', false),
            },
            '$' => self.dollar(false),
            c => self.word.push(c, false),
        }
        Ok(())
    }

    fn unexpected(&self, token: &str) -> SyntaxError {
        SyntaxError::Unexpected {
            token: token.to_string(),
            line: self.line,
        }
    }

    fn flush(&mut self) -> Result<(), SyntaxError> {
        let Some(word) = self.word.take() else {
            return Ok(());
        };
        let tok = match self.pending.take() {
            Some((fd, true)) => Tok::Redir(Redir {
                fd,
                target: Target::Input(word),
            }),
            Some((fd, false)) => Tok::Redir(Redir {
                fd,
                target: Target::File(word, self.appending),
            }),
            None => Tok::Word(word),
        };
        self.out.push((tok, self.line));
        Ok(())
    }

    fn op(&mut self, tok: Tok) -> Result<(), SyntaxError> {
        self.flush()?;
        if self.pending.is_some() {
            let name = match tok {
                Tok::Newline => "newline".to_string(),
                Tok::Semi => "\";\"".to_string(),
                ref t => format!("\"{}\"", op_name(t)),
            };
            return Err(self.unexpected(&name));
        }
        self.out.push((tok, self.line));
        Ok(())
    }

    fn redirect(&mut self, c: char) -> Result<(), SyntaxError> {
        let input = c == '<';
        let fd = if self.word.started && self.word.digits_only && self.word.parts.is_empty() {
            let digits = std::mem::take(&mut self.word.lit);
            self.word.started = false;
            digits.parse().unwrap_or(if input { 0 } else { 1 })
        } else {
            self.flush()?;
            if input { 0 } else { 1 }
        };
        if self.pending.is_some() {
            return Err(self.unexpected(&format!("\"{c}\"")));
        }
        self.appending = !input && self.eat('>');
        if self.eat('&') {
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-') {
                self.i += 1;
            }
            let spec: String = self.s[start..self.i].iter().collect();
            let target = match spec.parse::<u32>() {
                Ok(n) => Target::Dup(n),
                Err(_) => Target::File(vec![Part::Lit("/dev/null".to_string())], false),
            };
            self.out.push((Tok::Redir(Redir { fd, target }), self.line));
            return Ok(());
        }
        self.pending = Some((fd, input));
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<(), SyntaxError> {
        self.word.started = true;
        self.word.digits_only = false;
        loop {
            match self.peek() {
                None => return Err(SyntaxError::Unterminated { line: self.line }),
                Some('\'') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => {
                    self.i += 1;
                    if c == '\n' {
                        self.line += 1;
                    }
                    self.word.push(c, true);
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<(), SyntaxError> {
        self.word.started = true;
        self.word.digits_only = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(SyntaxError::Unterminated { line: self.line });
            };
            self.i += 1;
            match c {
                '"' => return Ok(()),
                '$' => self.dollar(true),
                '\\' => match self.peek() {
                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                        self.i += 1;
                        self.word.push(n, true);
                    }
                    Some('\n') => {
                        self.i += 1;
                        self.line += 1;
                    }
                    _ => self.word.push('\\', true),
                },
                c => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    self.word.push(c, true);
                }
            }
        }
    }

    fn dollar(&mut self, quoted: bool) {
        let name = match self.peek() {
            Some('{') => {
                let start = self.i + 1;
                let end = self.s[start..].iter().position(|&c| c == '}');
                match end {
                    Some(len) => {
                        self.i = start + len + 1;
                        self.s[start..start + len].iter().collect()
                    }
                    None => String::new(),
                }
            }
            Some(c @ ('?' | '$' | '#' | '!' | '@' | '*' | '0'..='9')) => {
                self.i += 1;
                c.to_string()
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.i += 1;
                }
                self.s[start..self.i].iter().collect()
            }
            _ => String::new(),
        };
        if name.is_empty() {
            self.word.push('$', quoted);
        } else {
            self.word.var(name, quoted);
        }
    }
}
