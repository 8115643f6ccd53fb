//! The recursive-descent parser of [`super::syntax`]: `list := and_or ((; | & | newline)
//! and_or)*`, `and_or := pipeline ((&& | ||) pipeline)*`, `pipeline := [!] command (|
//! command)*`, `command := simple | while | until | for | if | { list }`. Reserved words
//! are recognised only where a command starts (and `do`/`done`/`then`/… where they close).

use super::syntax::{AndOr, Command, Cond, Part, Pipeline, Simple, SyntaxError, Tok, Word};

/// How the shell names an operator token in messages.
pub(super) fn op_name(t: &Tok) -> &'static str {
    match t {
        Tok::And => "&&",
        Tok::Or => "||",
        Tok::Pipe => "|",
        Tok::Semi => ";",
        Tok::Amp => "&",
        Tok::Newline => "newline",
        Tok::Word(_) | Tok::Redir(_) => "word",
    }
}

/// Parses tokens (with line numbers) into and-or lists.
pub(super) fn list(toks: Vec<(Tok, u32)>) -> Result<Vec<AndOr>, SyntaxError> {
    let mut p = Parser { toks, i: 0 };
    let out = p.list(&[])?;
    match p.toks.get(p.i) {
        None => Ok(out),
        Some(_) => Err(p.error()),
    }
}

/// Words that start a compound command.
const OPENERS: &[&str] = &["while", "until", "for", "if", "{"];

struct Parser {
    toks: Vec<(Tok, u32)>,
    i: usize,
}

/// A word that is a plain literal (a reserved word candidate).
fn literal(w: &Word) -> Option<&str> {
    match w.as_slice() {
        [Part::Lit(s)] => Some(s.as_str()),
        _ => None,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => literal(w),
            _ => None,
        }
    }

    fn error(&self) -> SyntaxError {
        match self.toks.get(self.i) {
            Some((Tok::Newline, line)) => SyntaxError::Unexpected {
                token: "newline".into(),
                line: *line,
            },
            Some((Tok::Word(w), line)) => SyntaxError::Unexpected {
                token: format!("\"{}\"", literal(w).unwrap_or("word")),
                line: *line,
            },
            Some((t, line)) => SyntaxError::Unexpected {
                token: format!("\"{}\"", op_name(t)),
                line: *line,
            },
            None => SyntaxError::Unexpected {
                token: "end of file".into(),
                line: self.toks.last().map_or(1, |(_, l)| *l),
            },
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline | Tok::Semi)) {
            self.i += 1;
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.i += 1;
        }
    }

    /// A list ending at EOF or before one of the reserved words in `stop`.
    fn list(&mut self, stop: &[&str]) -> Result<Vec<AndOr>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_separators();
            if self.peek().is_none() || self.peek_word().is_some_and(|w| stop.contains(&w)) {
                return Ok(out);
            }
            let mut ao = self.and_or()?;
            match self.peek() {
                None => {}
                Some(Tok::Semi | Tok::Newline) => self.i += 1,
                Some(Tok::Amp) => {
                    ao.background = true;
                    self.i += 1;
                }
                Some(_) if self.peek_word().is_some_and(|w| stop.contains(&w)) => {}
                Some(_) => return Err(self.error()),
            }
            out.push(ao);
        }
    }

    /// Consumes the reserved word `w` or fails.
    fn expect(&mut self, w: &str) -> Result<(), SyntaxError> {
        if self.peek_word() == Some(w) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// A non-empty list closed by one of `stop`.
    fn body(&mut self, stop: &[&str]) -> Result<Vec<AndOr>, SyntaxError> {
        let l = self.list(stop)?;
        if l.is_empty() {
            return Err(self.error());
        }
        Ok(l)
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let cond = match self.peek() {
                Some(Tok::And) => Cond::And,
                Some(Tok::Or) => Cond::Or,
                _ => {
                    return Ok(AndOr {
                        first,
                        rest,
                        background: false,
                    });
                }
            };
            self.i += 1;
            self.skip_newlines();
            rest.push((cond, self.pipeline()?));
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        let mut p = Pipeline::default();
        if self.peek_word() == Some("!") {
            p.negate = true;
            self.i += 1;
        }
        p.cmds.push(self.command()?);
        while self.peek() == Some(&Tok::Pipe) {
            self.i += 1;
            self.skip_newlines();
            p.cmds.push(self.command()?);
        }
        Ok(p)
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let Some(w) = self.peek_word().filter(|w| OPENERS.contains(w)) else {
            return self.simple().map(Command::Simple);
        };
        let w = w.to_string();
        self.i += 1;
        match w.as_str() {
            "while" | "until" => {
                let cond = self.body(&["do"])?;
                self.expect("do")?;
                let body = self.body(&["done"])?;
                self.expect("done")?;
                Ok(Command::Loop {
                    cond,
                    body,
                    until: w == "until",
                })
            }
            "for" => self.for_loop(),
            "if" => self.if_cmd(),
            _ => {
                let body = self.body(&["}"])?;
                self.expect("}")?;
                Ok(Command::Group(body))
            }
        }
    }

    fn for_loop(&mut self) -> Result<Command, SyntaxError> {
        let name = self
            .peek_word()
            .map(String::from)
            .ok_or_else(|| self.error())?;
        self.i += 1;
        let mut words = Vec::new();
        self.skip_newlines();
        if self.peek_word() == Some("in") {
            self.i += 1;
            while let Some(Tok::Word(w)) = self.peek() {
                words.push(w.clone());
                self.i += 1;
            }
        }
        self.skip_separators();
        self.expect("do")?;
        let body = self.body(&["done"])?;
        self.expect("done")?;
        Ok(Command::For { name, words, body })
    }

    fn if_cmd(&mut self) -> Result<Command, SyntaxError> {
        let mut branches = Vec::new();
        loop {
            let cond = self.body(&["then"])?;
            self.expect("then")?;
            let body = self.body(&["elif", "else", "fi"])?;
            branches.push((cond, body));
            match self.peek_word() {
                Some("elif") => self.i += 1,
                Some("else") => {
                    self.i += 1;
                    let otherwise = Some(self.body(&["fi"])?);
                    self.expect("fi")?;
                    return Ok(Command::If {
                        branches,
                        otherwise,
                    });
                }
                _ => {
                    self.expect("fi")?;
                    return Ok(Command::If {
                        branches,
                        otherwise: None,
                    });
                }
            }
        }
    }

    fn simple(&mut self) -> Result<Simple, SyntaxError> {
        let mut cmd = Simple {
            line: self.toks.get(self.i).map_or(1, |(_, l)| *l),
            ..Simple::default()
        };
        while let Some((tok, _)) = self.toks.get(self.i) {
            match tok {
                Tok::Word(w) => cmd.words.push(w.clone()),
                Tok::Redir(r) => cmd.redirs.push(r.clone()),
                _ => break,
            }
            self.i += 1;
        }
        if cmd.words.is_empty() && cmd.redirs.is_empty() {
            return Err(self.error());
        }
        Ok(cmd)
    }
}
