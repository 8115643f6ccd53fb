//! The recursive-descent parser of [`super::syntax`]: `list := and_or ((; | newline) and_or)*`,
//! `and_or := pipeline ((&& | ||) pipeline)*`, `pipeline := [!] simple (| simple)*`.

use super::syntax::{AndOr, Cond, Part, Pipeline, Simple, SyntaxError, Tok};

/// How the shell names an operator token in messages.
pub(super) fn op_name(t: &Tok) -> &'static str {
    match t {
        Tok::And => "&&",
        Tok::Or => "||",
        Tok::Pipe => "|",
        Tok::Semi => ";",
        Tok::Newline => "newline",
        Tok::Word(_) | Tok::Redir(_) => "word",
    }
}

/// Parses tokens (with line numbers) into and-or lists.
pub(super) fn list(toks: Vec<(Tok, u32)>) -> Result<Vec<AndOr>, SyntaxError> {
    Parser { toks, i: 0 }.list()
}

struct Parser {
    toks: Vec<(Tok, u32)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn error(&self) -> SyntaxError {
        match self.toks.get(self.i) {
            Some((Tok::Newline, line)) => SyntaxError::Unexpected {
                token: "newline".into(),
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

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.i += 1;
        }
    }

    fn list(mut self) -> Result<Vec<AndOr>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            if self.peek().is_none() {
                return Ok(out);
            }
            out.push(self.and_or()?);
            match self.peek() {
                None => return Ok(out),
                Some(Tok::Semi | Tok::Newline) => self.i += 1,
                Some(_) => return Err(self.error()),
            }
        }
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let cond = match self.peek() {
                Some(Tok::And) => Cond::And,
                Some(Tok::Or) => Cond::Or,
                _ => return Ok(AndOr { first, rest }),
            };
            self.i += 1;
            self.skip_newlines();
            rest.push((cond, self.pipeline()?));
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        let mut p = Pipeline::default();
        if let Some(Tok::Word(w)) = self.peek()
            && *w == vec![Part::Lit("!".to_string())]
        {
            p.negate = true;
            self.i += 1;
        }
        p.cmds.push(self.simple()?);
        while self.peek() == Some(&Tok::Pipe) {
            self.i += 1;
            self.skip_newlines();
            p.cmds.push(self.simple()?);
        }
        Ok(p)
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
