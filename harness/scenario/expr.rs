//! The small expression language of `wait.for`, parsed at load time.
//!
//! Grammar: `PATH [| length] OP [VALUE]`
//!
//! - `PATH` starts with `.` and is a chain of `.field`, `["field.with.dots"]`, `[N]`
//!   (list index) and `[field=value]` (first list element whose `field` equals `value`),
//!   e.g. `.status.conditions[type=Ready].status`. `.` alone is the whole object.
//! - `| length` replaces the value by the length of a list, map or string.
//! - `OP` is one of `==`, `!=`, `>=`, `<=`, `>`, `<` (followed by a value), or `exists`,
//!   `absent` (no value).
//! - `VALUE` is a JSON literal (`2`, `"x"`, `true`, `null`) or a bare word (`True`).
//!
//! A missing path satisfies only `absent` (and `!=`); `.` of an absent object (null) is
//! missing, so `. absent` waits for an object to be gone.

use serde_json::Value;
use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Map field.
    Field(String),
    /// List index.
    Index(usize),
    /// First list element whose field equals the value.
    Select(String, Value),
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `exists`
    Exists,
    /// `absent`
    Absent,
}

/// A parsed `wait.for` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The path from the object root.
    pub path: Vec<Segment>,
    /// Whether `| length` was applied.
    pub length: bool,
    /// The operator.
    pub op: Op,
    /// The right-hand side (`None` for `exists` / `absent`).
    pub value: Option<Value>,
    source: String,
}

const OPS: [(&str, Op); 8] = [
    ("==", Op::Eq),
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("exists", Op::Exists),
    ("absent", Op::Absent),
];

const HINT: &str = "write PATH [| length] OP VALUE, e.g. `.subsets[0].addresses | length == 2` \
                    or `.status.loadBalancer exists`";

impl Expr {
    /// Parses an expression; the error says what is wrong and shows the expected form.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let src = text.trim();
        let (lhs, op, rhs) = split_op(src)
            .ok_or_else(|| format!("invalid expression {src:?}: no operator found; {HINT}"))?;
        let (path_text, length) = match lhs.split_once('|') {
            Some((p, f)) if f.trim() == "length" => (p.trim(), true),
            Some((_, f)) => {
                return Err(format!(
                    "invalid expression {src:?}: unknown filter {:?}: only `length` is supported",
                    f.trim()
                ));
            }
            None => (lhs.trim(), false),
        };
        let path = parse_path(path_text).map_err(|e| format!("invalid expression {src:?}: {e}"))?;
        let rhs = rhs.trim();
        let value = match op {
            Op::Exists | Op::Absent if rhs.is_empty() => None,
            Op::Exists | Op::Absent => {
                return Err(format!(
                    "invalid expression {src:?}: `exists`/`absent` take no value, found {rhs:?}"
                ));
            }
            _ if rhs.is_empty() => {
                return Err(format!(
                    "invalid expression {src:?}: missing value after operator; {HINT}"
                ));
            }
            _ => Some(parse_value(rhs)),
        };
        if matches!(op, Op::Ge | Op::Le | Op::Gt | Op::Lt)
            && !value.as_ref().is_some_and(Value::is_number)
        {
            return Err(format!(
                "invalid expression {src:?}: ordering operators need a number on the right"
            ));
        }
        Ok(Expr {
            path,
            length,
            op,
            value,
            source: src.to_string(),
        })
    }

    /// The value the expression looks at in `obj` (after `| length`), if present.
    pub fn observe(&self, obj: &Value) -> Option<Value> {
        // A wait hands an absent object over as null: `.` of it is absent too, so that
        // `. absent` / `. exists` say whether the object exists.
        if self.path.is_empty() && obj.is_null() {
            return None;
        }
        let mut cur = obj;
        for seg in &self.path {
            cur = match seg {
                Segment::Field(f) => cur.get(f)?,
                Segment::Index(i) => cur.get(*i)?,
                Segment::Select(f, v) => cur
                    .as_array()?
                    .iter()
                    .find(|e| e.get(f).is_some_and(|x| loose_eq(x, v)))?,
            };
        }
        if !self.length {
            return Some(cur.clone());
        }
        let n = match cur {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.chars().count(),
            Value::Null => 0,
            _ => return None,
        };
        Some(Value::from(n))
    }

    /// Whether the expression holds for `obj`.
    pub fn eval(&self, obj: &Value) -> bool {
        let seen = self.observe(obj);
        let (Some(seen), Some(want)) = (seen.as_ref(), self.value.as_ref()) else {
            return match self.op {
                Op::Exists => seen.is_some(),
                Op::Absent => seen.is_none(),
                Op::Ne => true,
                _ => false,
            };
        };
        let ord = || seen.as_f64()?.partial_cmp(&want.as_f64()?);
        match self.op {
            Op::Eq => loose_eq(seen, want),
            Op::Ne => !loose_eq(seen, want),
            Op::Ge => ord().is_some_and(|o| o.is_ge()),
            Op::Le => ord().is_some_and(|o| o.is_le()),
            Op::Gt => ord().is_some_and(|o| o.is_gt()),
            Op::Lt => ord().is_some_and(|o| o.is_lt()),
            Op::Exists => true,
            Op::Absent => false,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Equality with numbers compared by value and bare strings compared to scalars' text.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), other) | (other, Value::String(s)) => match other {
            Value::Bool(b) => s == if *b { "true" } else { "false" },
            Value::Null => s == "null",
            Value::Number(n) => s.parse::<f64>().ok() == n.as_f64(),
            _ => a == b,
        },
        _ => a == b,
    }
}

/// Finds the operator outside brackets and quotes: returns (lhs, op, rhs).
fn split_op(src: &str) -> Option<(&str, Op, &str)> {
    let (mut depth, mut quoted) = (0i32, false);
    for (i, c) in src.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if quoted || depth > 0 => {}
            _ => {
                let rest = &src[i..];
                for (tok, op) in OPS {
                    let word = tok.starts_with(char::is_alphabetic);
                    let bounded = !word || src[..i].ends_with(char::is_whitespace);
                    if rest.starts_with(tok) && bounded {
                        return Some((&src[..i], op, &rest[tok.len()..]));
                    }
                }
            }
        }
    }
    None
}

fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn parse_path(text: &str) -> Result<Vec<Segment>, String> {
    let mut rest = text
        .strip_prefix('.')
        .ok_or_else(|| format!("path {text:?} must start with `.`, e.g. `.status.replicas`"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in path {text:?}"))?;
            out.push(parse_bracket(&r[..end])?);
            rest = r[end + 1..].strip_prefix('.').unwrap_or(&r[end + 1..]);
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let field = &rest[..end];
        if field.is_empty()
            || !field
                .chars()
                .all(|c| c.is_alphanumeric() || "_-/".contains(c))
        {
            return Err(format!(
                "invalid field {field:?} in path {text:?}; quote it as [\"...\"]"
            ));
        }
        out.push(Segment::Field(field.to_string()));
        rest = &rest[end..];
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    Ok(out)
}

fn parse_bracket(inner: &str) -> Result<Segment, String> {
    let inner = inner.trim();
    if let Ok(i) = inner.parse::<usize>() {
        return Ok(Segment::Index(i));
    }
    if let Ok(Value::String(s)) = serde_json::from_str::<Value>(inner) {
        return Ok(Segment::Field(s));
    }
    if let Some((f, v)) = inner.split_once('=') {
        let f = f.trim();
        if !f.is_empty() {
            return Ok(Segment::Select(f.to_string(), parse_value(v.trim())));
        }
    }
    Err(format!(
        "invalid selector [{inner}]: use [N], [\"field\"] or [field=value]"
    ))
}
