//! Label and field selectors with Kubernetes apimachinery semantics.
//!
//! [`LabelSelector::parse`] implements the `labels.Parse` grammar (`a=b`, `a==b`,
//! `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`), including its
//! validation of keys and values; [`FieldSelector`] implements `fields.ParseSelector`
//! (`=`, `==`, `!=` with `\,` `\=` `\\` escapes) plus the per-resource field tables
//! that decide which field paths a resource accepts.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::validate::{is_label_value, is_qualified_name};

/// Why a selector could not be parsed or used; callers map every variant to HTTP 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The label selector text does not follow the grammar.
    #[error("unable to parse requirement in label selector {selector:?}: {detail}")]
    Syntax {
        /// Full selector text.
        selector: String,
        /// What was found and what was expected.
        detail: String,
    },
    /// A label key is not a valid qualified name.
    #[error("invalid label key {key:?} in selector {selector:?}: {detail}")]
    InvalidKey {
        /// Full selector text.
        selector: String,
        /// Offending key.
        key: String,
        /// Kubernetes' qualified-name message.
        detail: String,
    },
    /// A label value is not valid (or not an integer for `>`/`<`).
    #[error("invalid label value {value:?} for key {key:?} in selector {selector:?}: {detail}")]
    InvalidValue {
        /// Full selector text.
        selector: String,
        /// Key the value belongs to.
        key: String,
        /// Offending value.
        value: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A metav1.LabelSelector JSON value is malformed.
    #[error("invalid label selector {selector}: {detail}")]
    Json {
        /// The JSON text of the selector.
        selector: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A field selector term has no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm {
        /// Full selector text.
        selector: String,
        /// Offending term.
        term: String,
    },
    /// A field selector value has a bad escape or an unescaped `,`/`=`.
    #[error("invalid field selector {selector:?}: {detail}")]
    FieldValue {
        /// Full selector text.
        selector: String,
        /// What is wrong.
        detail: String,
    },
    /// The field path is not selectable for the resource.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: BTreeSet<String>,
}

impl Requirement {
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels.and_then(|l| l.get(&self.key)).map(label_text);
        let contained = value.as_ref().is_some_and(|v| self.values.contains(v));
        match self.op {
            Op::Equals | Op::DoubleEquals | Op::In => contained,
            Op::NotEquals | Op::NotIn => !contained,
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let have = value.and_then(|v| v.parse::<i64>().ok());
                let want = self
                    .values
                    .iter()
                    .next()
                    .and_then(|v| v.parse::<i64>().ok());
                match (have, want) {
                    (Some(h), Some(w)) if self.op == Op::GreaterThan => h > w,
                    (Some(h), Some(w)) => h < w,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.iter().cloned().collect::<Vec<_>>().join(",");
        match self.op {
            Op::Exists => write!(f, "{}", self.key),
            Op::DoesNotExist => write!(f, "!{}", self.key),
            Op::Equals => write!(f, "{}={values}", self.key),
            Op::DoubleEquals => write!(f, "{}=={values}", self.key),
            Op::NotEquals => write!(f, "{}!={values}", self.key),
            Op::In => write!(f, "{} in ({values})", self.key),
            Op::NotIn => write!(f, "{} notin ({values})", self.key),
            Op::GreaterThan => write!(f, "{}>{values}", self.key),
            Op::LessThan => write!(f, "{}<{values}", self.key),
        }
    }
}

fn label_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// A parsed label selector: a conjunction of requirements, or "nothing".
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object (what `""` parses to).
    pub fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no object (a nil `metav1.LabelSelector`).
    pub fn nothing() -> Self {
        Self {
            reqs: Vec::new(),
            nothing: true,
        }
    }

    /// True when the selector has no requirements and matches everything
    /// (Kubernetes' `Selector.Empty()`; false for [`LabelSelector::nothing`]).
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty() && !self.nothing
    }

    /// Parses `labelSelector=` query syntax; blank text selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Parser {
            toks: lex(s),
            pos: 0,
            src: s,
        }
        .parse()?;
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            reqs,
            nothing: false,
        })
    }

    /// Whether an object with `labels` (its `metadata.labels`, if any) is selected.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.reqs.iter().all(|r| r.matches(labels))
    }

    /// From a `metav1.LabelSelector` JSON value (`matchLabels`, `matchExpressions`),
    /// as used by Deployments and ReplicaSets.
    ///
    /// Follows `metav1.LabelSelectorAsSelector`: `null` (absent) gives
    /// [`LabelSelector::nothing`], `{}` gives [`LabelSelector::everything`].
    pub fn from_label_selector_json(v: &Value) -> Result<Self, SelectorError> {
        if v.is_null() {
            return Ok(Self::nothing());
        }
        let err = |detail: String| SelectorError::Json {
            selector: v.to_string(),
            detail,
        };
        let obj = v
            .as_object()
            .ok_or_else(|| err("must be an object".into()))?;
        let mut reqs = Vec::new();
        for (k, val) in obj
            .get("matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let val = val
                .as_str()
                .ok_or_else(|| err(format!("matchLabels[{k}] must be a string")))?;
            reqs.push(requirement(
                k,
                Op::Equals,
                [val.to_owned()].into(),
                &v.to_string(),
            )?);
        }
        let exprs = obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let op = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => {
                    return Err(err(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let values = e
                .get("values")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let values = values.iter().map(label_text).collect();
            reqs.push(requirement(key, op, values, &v.to_string())?);
        }
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            reqs,
            nothing: false,
        })
    }

    /// Service-style equality selector (`spec.selector: {app: x}`).
    ///
    /// Like `labels.SelectorFromSet`, an empty map selects everything; a Service
    /// without a selector must be special-cased by the caller (it gets no endpoints).
    pub fn from_map(m: &Map<String, Value>) -> Self {
        let mut reqs: Vec<Requirement> = m
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                op: Op::Equals,
                values: [label_text(v)].into(),
            })
            .collect();
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            reqs,
            nothing: false,
        }
    }
}

/// Kubernetes' canonical text: requirements sorted by key, `a=b,c in (x,y),!d`.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.reqs.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// `labels.NewRequirement`: validates the key, the values and the value count.
fn requirement(
    key: &str,
    op: Op,
    values: BTreeSet<String>,
    sel: &str,
) -> Result<Requirement, SelectorError> {
    if let Err(detail) = is_qualified_name(key) {
        return Err(SelectorError::InvalidKey {
            selector: sel.into(),
            key: key.into(),
            detail,
        });
    }
    let bad = |value: &str, detail: &str| SelectorError::InvalidValue {
        selector: sel.into(),
        key: key.into(),
        value: value.into(),
        detail: detail.into(),
    };
    let first = values.iter().next().cloned().unwrap_or_default();
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            return Err(bad(
                "",
                "for 'in', 'notin' operators, values set can't be empty",
            ));
        }
        Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => {
            return Err(bad(
                &first,
                "exact-match compatibility requires one single value",
            ));
        }
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            return Err(bad(
                &first,
                "values set must be empty for exists and does not exist",
            ));
        }
        Op::GreaterThan | Op::LessThan if first.parse::<i64>().is_err() => {
            return Err(bad(
                &first,
                "for 'Gt', 'Lt' operators, the value must be an integer",
            ));
        }
        _ => {}
    }
    for v in &values {
        is_label_value(v).map_err(|d| bad(v, &d))?;
    }
    Ok(Requirement {
        key: key.into(),
        op,
        values,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Ident(s) => s.as_str(),
            Tok::Bang => "!",
            Tok::Eq => "=",
            Tok::DoubleEq => "==",
            Tok::NotEq => "!=",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::In => "in",
            Tok::NotIn => "notin",
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::Comma => ",",
            Tok::End => "",
        };
        f.write_str(s)
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let special = |c: char| matches!(c, '!' | '=' | '(' | ')' | ',' | '<' | '>');
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let two = |next: Option<&char>, want: char| next == Some(&want);
        let tok = match c {
            c if c.is_whitespace() => continue,
            '!' if two(chars.peek(), '=') => {
                chars.next();
                Tok::NotEq
            }
            '!' => Tok::Bang,
            '=' if two(chars.peek(), '=') => {
                chars.next();
                Tok::DoubleEq
            }
            '=' => Tok::Eq,
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            _ => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek().filter(|n| !n.is_whitespace() && !special(**n)) {
                    word.push(n);
                    chars.next();
                }
                match word.as_str() {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Ident(word),
                }
            }
        };
        toks.push(tok);
    }
    toks.push(Tok::End);
    toks
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).unwrap_or(&Tok::End)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    /// In value position the keywords `in`/`notin` are plain identifiers.
    fn value_of(t: &Tok) -> Option<String> {
        match t {
            Tok::Ident(s) => Some(s.clone()),
            Tok::In | Tok::NotIn => Some(t.to_string()),
            _ => None,
        }
    }

    fn err(&self, found: &Tok, expected: &str) -> SelectorError {
        let detail = format!("found '{found}', expected: {expected}");
        SelectorError::Syntax {
            selector: self.src.into(),
            detail,
        }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut reqs = Vec::new();
        if *self.peek() == Tok::End {
            return Ok(reqs);
        }
        loop {
            reqs.push(self.requirement()?);
            match self.next() {
                Tok::End => return Ok(reqs),
                Tok::Comma => {
                    let t = self.peek();
                    if Self::value_of(t).is_none() && *t != Tok::Bang {
                        return Err(self.err(&t.clone(), "identifier after ','"));
                    }
                }
                t => return Err(self.err(&t, "',' or 'end of string'")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let bang = *self.peek() == Tok::Bang;
        if bang {
            self.pos += 1;
        }
        let key = match self.next() {
            Tok::Ident(k) => k,
            t => return Err(self.err(&t, "identifier")),
        };
        if bang || matches!(self.peek(), Tok::End | Tok::Comma) {
            let op = if bang { Op::DoesNotExist } else { Op::Exists };
            return requirement(&key, op, BTreeSet::new(), self.src);
        }
        let op = match self.next() {
            Tok::Eq => Op::Equals,
            Tok::DoubleEq => Op::DoubleEquals,
            Tok::NotEq => Op::NotEquals,
            Tok::In => Op::In,
            Tok::NotIn => Op::NotIn,
            Tok::Gt => Op::GreaterThan,
            Tok::Lt => Op::LessThan,
            t => return Err(self.err(&t, "one of '=', '==', '!=', 'in', 'notin', '>', '<'")),
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.value_list()?
        } else {
            self.exact_value()?
        };
        requirement(&key, op, values, self.src)
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Ok([String::new()].into());
        }
        let t = self.next();
        Self::value_of(&t)
            .map(|v| [v].into())
            .ok_or_else(|| self.err(&t, "identifier"))
    }

    /// `( v1, v2 )`; like Kubernetes, empty slots (`()`, `(a,)`) stand for `""`.
    fn value_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let t = self.next();
        if t != Tok::Open {
            return Err(self.err(&t, "'('"));
        }
        let mut set = BTreeSet::new();
        let mut expect_value = true;
        loop {
            let t = self.next();
            match (&t, Self::value_of(&t)) {
                (_, Some(v)) if expect_value => {
                    set.insert(v);
                    expect_value = false;
                }
                (Tok::Comma, _) => {
                    if expect_value {
                        set.insert(String::new());
                    }
                    expect_value = true;
                }
                (Tok::Close, _) => {
                    if expect_value {
                        set.insert(String::new());
                    }
                    return Ok(set);
                }
                _ if expect_value => return Err(self.err(&t, "',', ')' or identifier")),
                _ => return Err(self.err(&t, "',' or ')'")),
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    value: String,
    negate: bool,
}

/// A parsed field selector: a conjunction of `field=value` / `field!=value` terms.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parses `fieldSelector=` query syntax (terms joined by unescaped `,`;
    /// operators `=`, `==`, `!=`); blank text selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let bad = || SelectorError::FieldTerm {
                selector: s.into(),
                term: part.clone(),
            };
            let (lhs, op, rhs) = split_term(&part).ok_or_else(bad)?;
            let value = unescape(rhs).map_err(|detail| SelectorError::FieldValue {
                selector: s.into(),
                detail,
            })?;
            terms.push(FieldTerm {
                field: lhs.into(),
                value,
                negate: op == "!=",
            });
        }
        Ok(Self { terms })
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value an `=`/`==` term requires for `field` (e.g. `metadata.name`), if any.
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| !t.negate && t.field == field)
            .map(|t| t.value.as_str())
    }

    /// Rejects fields outside `supported` with `field label not supported: X`.
    pub fn validate(&self, supported: &[&str]) -> Result<(), SelectorError> {
        match self
            .terms
            .iter()
            .find(|t| !supported.contains(&t.field.as_str()))
        {
            Some(t) => Err(SelectorError::UnsupportedField(t.field.clone())),
            None => Ok(()),
        }
    }

    /// Whether `obj` satisfies every term; see [`field_value`] for how fields are read.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms
            .iter()
            .all(|t| (field_value(obj, &t.field) == t.value) != t.negate)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                format!(
                    "{}{}{}",
                    t.field,
                    if t.negate { "!=" } else { "=" },
                    escape(&t.value)
                )
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn split_terms(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut escaped) = (Vec::new(), String::new(), false);
    for c in s.chars() {
        if !escaped && c == ',' {
            out.push(std::mem::take(&mut cur));
            continue;
        }
        escaped = !escaped && c == '\\';
        cur.push(c);
    }
    out.push(cur);
    out
}

fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence: \\{e}")),
                None => return Err("invalid escape sequence: \\".into()),
            },
            ',' | '=' => return Err(format!("unescaped character in value: {c}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace(',', r"\,")
        .replace('=', r"\=")
}

/// Reads a selectable field from a stored (core/v1-form) object: dotted path
/// lookup, missing = `""`, scalars in their string form. A few fields follow the
/// Kubernetes field-set builders instead: `status.podIP` (first of `podIPs`),
/// event `source` (falls back to `reportingComponent`), events.k8s.io names
/// (`regarding.*`, `reportingController`) read their core/v1 counterparts, and
/// boolean/counter fields default to `false`/`0`.
pub fn field_value(obj: &Value, path: &str) -> String {
    let lookup = |p: &str| {
        p.split('.')
            .try_fold(obj, |cur, k| cur.get(k))
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
    };
    let alias = match path {
        "status.podIP" => obj
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .map(str::to_owned),
        "source" => lookup("source.component").filter(|s| !s.is_empty()),
        _ => None,
    };
    if let Some(v) = alias.or_else(|| lookup(path)) {
        return v;
    }
    let fallback = match path {
        "source" | "reportingController" => lookup("reportingComponent"),
        p if p.starts_with("regarding.") => lookup(&p.replacen("regarding.", "involvedObject.", 1)),
        _ => None,
    };
    fallback.unwrap_or_else(|| match path {
        "spec.hostNetwork" | "spec.unschedulable" => "false".into(),
        "status.replicas" | "status.successful" => "0".into(),
        _ => String::new(),
    })
}

const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

const EVENTS_V1_FIELDS: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

/// Field paths selectable for `resource` in `group`: `metadata.name` and
/// `metadata.namespace` plus the resource's own fields (pods, events in both
/// groups, secrets, namespaces, nodes, services, replicasets,
/// replicationcontrollers, jobs, certificatesigningrequests).
pub fn supported_fields(group: &str, resource: &str) -> Vec<&'static str> {
    let extra: &[&str] = match (group, resource) {
        ("", "pods") => POD_FIELDS,
        ("", "events") => EVENT_FIELDS,
        ("events.k8s.io", "events") => EVENTS_V1_FIELDS,
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "services") => &["spec.clusterIP", "spec.type"],
        ("apps", "replicasets") | ("", "replicationcontrollers") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    };
    let mut out = vec!["metadata.name", "metadata.namespace"];
    out.extend_from_slice(extra);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap()
    }

    #[test]
    fn equality_operators() {
        let l = labels(json!({"app": "web", "tier": "fe"}));
        assert!(sel("app=web").matches(Some(&l)));
        assert!(sel("app==web").matches(Some(&l)));
        assert!(!sel("app=db").matches(Some(&l)));
        assert!(sel("app!=db").matches(Some(&l)));
        assert!(!sel("app!=web").matches(Some(&l)));
        assert!(
            sel("missing!=x").matches(Some(&l)),
            "!= matches objects lacking the label"
        );
        assert!(sel("missing!=x").matches(None));
        assert!(sel("app=").matches(Some(&labels(json!({"app": ""})))));
    }

    #[test]
    fn set_and_existence_operators() {
        let l = labels(json!({"app": "web", "env": "prod"}));
        assert!(sel("app in (db, web)").matches(Some(&l)));
        assert!(!sel("app in (db)").matches(Some(&l)));
        assert!(sel("app notin (db)").matches(Some(&l)));
        assert!(!sel("app notin (web,db)").matches(Some(&l)));
        assert!(
            sel("zone notin (a)").matches(Some(&l)),
            "notin matches objects lacking the label"
        );
        assert!(sel("app").matches(Some(&l)));
        assert!(!sel("zone").matches(Some(&l)));
        assert!(sel("!zone").matches(Some(&l)));
        assert!(!sel("!app").matches(Some(&l)));
        assert!(sel("a in ()").matches(Some(&labels(json!({"a": ""})))));
    }

    #[test]
    fn numeric_comparisons() {
        let l = labels(json!({"gen": "5"}));
        assert!(sel("gen>4").matches(Some(&l)));
        assert!(!sel("gen>5").matches(Some(&l)));
        assert!(sel("gen<6").matches(Some(&l)));
        assert!(!sel("other<6").matches(Some(&l)));
    }

    #[test]
    fn conjunction_whitespace_and_canonical_text() {
        let s = sel("  tier = fe ,app in ( web , db ) ,  !legacy,env  ");
        assert_eq!(s.to_string(), "app in (db,web),env,!legacy,tier=fe");
        let l = labels(json!({"app": "web", "tier": "fe", "env": "x"}));
        assert!(s.matches(Some(&l)));
        assert!(!s.matches(Some(&labels(json!({"app": "web", "tier": "fe"})))));
        assert_eq!(
            sel("a!=b,c notin (y,x),d>1").to_string(),
            "a!=b,c notin (x,y),d>1"
        );
    }

    #[test]
    fn keywords_are_values_after_operators() {
        assert!(sel("mode=in").matches(Some(&labels(json!({"mode": "in"})))));
        assert!(sel("mode in (notin)").matches(Some(&labels(json!({"mode": "notin"})))));
    }

    #[test]
    fn blank_selects_everything() {
        for s in ["", "   "] {
            let parsed = sel(s);
            assert!(parsed.is_empty());
            assert!(parsed.matches(None));
        }
    }

    fn syntax(s: &str) -> String {
        match LabelSelector::parse(s) {
            Err(e @ SelectorError::Syntax { .. }) => e.to_string(),
            other => panic!("{s:?}: expected syntax error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_selector_and_problem() {
        assert_eq!(
            syntax("a in x"),
            r#"unable to parse requirement in label selector "a in x": found 'x', expected: '('"#
        );
        assert!(syntax("a in (x").contains("found '', expected: ',' or ')'"));
        assert!(syntax("a=b,").contains("expected: identifier after ','"));
        assert!(syntax("=b").contains("found '=', expected: identifier"));
        assert!(syntax("a b").contains("found 'b', expected: one of"));
        assert!(syntax("!a=b").contains("found '=', expected: ',' or 'end of string'"));
        assert!(syntax("a=(").contains("found '(', expected: identifier"));
        assert!(syntax("a in (x y)").contains("found 'y', expected: ',' or ')'"));
        assert!(syntax("a in (=)").contains("found '=', expected: ',', ')' or identifier"));
    }

    #[test]
    fn key_and_value_validation() {
        let key_err = |s: &str| {
            matches!(
                LabelSelector::parse(s),
                Err(SelectorError::InvalidKey { .. })
            )
        };
        assert!(key_err("-a=b"));
        assert!(key_err("a/b/c=d"));
        assert!(key_err("Example.com/x=y"));
        assert!(key_err(&format!("{}=x", "k".repeat(64))));
        assert!(LabelSelector::parse("example.com/My_key.1=v").is_ok());
        let value_err = |s: &str| {
            matches!(
                LabelSelector::parse(s),
                Err(SelectorError::InvalidValue { .. })
            )
        };
        assert!(value_err("a=-b"));
        assert!(value_err(&format!("a={}", "v".repeat(64))));
        assert!(value_err("a in (ok,-bad)"));
        assert!(value_err("a>x"));
        let e = LabelSelector::parse("-a=b").unwrap_err().to_string();
        assert!(
            e.starts_with(
                r#"invalid label key "-a" in selector "-a=b": name part must consist of"#
            ),
            "{e}"
        );
    }

    #[test]
    fn from_label_selector_json_semantics() {
        let nothing = LabelSelector::from_label_selector_json(&Value::Null).unwrap();
        assert!(!nothing.matches(Some(&labels(json!({"a": "b"})))));
        assert!(!nothing.is_empty());
        let everything = LabelSelector::from_label_selector_json(&json!({})).unwrap();
        assert!(everything.is_empty() && everything.matches(None));
        let s = LabelSelector::from_label_selector_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert_eq!(
            s.to_string(),
            "app=web,env notin (dev),!legacy,team,tier in (be,fe)"
        );
        assert!(s.matches(Some(&labels(
            json!({"app": "web", "tier": "fe", "team": "x"})
        ))));
        assert!(!s.matches(Some(&labels(json!({"app": "web", "tier": "fe"})))));
    }

    #[test]
    fn from_label_selector_json_errors() {
        let err = |v: Value| {
            LabelSelector::from_label_selector_json(&v)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Equals"}]}))
                .contains(r#""Equals" is not a valid label selector operator"#)
        );
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}))
                .contains("values set can't be empty")
        );
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}))
                .contains("values set must be empty")
        );
        assert!(err(json!({"matchLabels": {"a": 1}})).contains("must be a string"));
        assert!(err(json!("app=web")).contains("must be an object"));
    }

    #[test]
    fn from_map_is_equality() {
        let s = LabelSelector::from_map(&labels(json!({"b": "2", "a": "1"})));
        assert_eq!(s.to_string(), "a=1,b=2");
        assert!(s.matches(Some(&labels(json!({"a": "1", "b": "2", "c": "3"})))));
        assert!(!s.matches(Some(&labels(json!({"a": "1"})))));
        assert!(LabelSelector::from_map(&Map::new()).matches(None));
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web-1", "namespace": "prod"},
            "spec": {"nodeName": "node-a", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.1.0.7"}], "ready": true, "replicas": 3}
        })
    }

    #[test]
    fn field_selector_operators() {
        let p = pod();
        let f = |s: &str| FieldSelector::parse(s).unwrap().matches(&p);
        assert!(f("metadata.name=web-1"));
        assert!(f("metadata.name==web-1"));
        assert!(!f("metadata.name!=web-1"));
        assert!(f("metadata.namespace!=default,status.phase=Running"));
        assert!(!f("metadata.namespace=prod,status.phase=Pending"));
        assert!(f("spec.schedulerName="), "missing field reads as empty");
        assert!(f("spec.schedulerName!=default-scheduler"));
        assert!(
            f("status.ready=true") && f("status.replicas=3"),
            "scalars compare as strings"
        );
        assert!(f(""));
    }

    #[test]
    fn field_selector_kubernetes_field_sets() {
        let p = pod();
        assert_eq!(field_value(&p, "status.podIP"), "10.1.0.7");
        assert_eq!(field_value(&p, "spec.hostNetwork"), "false");
        assert_eq!(field_value(&json!({}), "status.replicas"), "0");
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "web-1"}, "reportingComponent": "kubelet"});
        assert_eq!(field_value(&ev, "source"), "kubelet");
        assert_eq!(field_value(&ev, "regarding.name"), "web-1");
        assert_eq!(field_value(&ev, "reportingController"), "kubelet");
        let ev2 = json!({"source": {"component": "scheduler"}, "reportingComponent": "kubelet"});
        assert_eq!(field_value(&ev2, "source"), "scheduler");
    }

    #[test]
    fn field_selector_escapes_and_errors() {
        let obj = json!({"metadata": {"name": "a,b=c\\d"}});
        assert!(
            FieldSelector::parse(r"metadata.name=a\,b\=c\\d")
                .unwrap()
                .matches(&obj)
        );
        let e = FieldSelector::parse("metadata.name").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        let e = FieldSelector::parse(r"a=b\x").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid field selector "a=b\\x": invalid escape sequence: \x"#
        );
        assert!(
            FieldSelector::parse("a=b=c")
                .unwrap_err()
                .to_string()
                .contains("unescaped character in value: =")
        );
        assert!(
            FieldSelector::parse(r"a=b\")
                .unwrap_err()
                .to_string()
                .contains(r"invalid escape sequence: \")
        );
    }

    #[test]
    fn field_selector_validation_and_helpers() {
        let pods = supported_fields("", "pods");
        let s = FieldSelector::parse("spec.nodeName=n,metadata.name=x").unwrap();
        assert!(s.validate(&pods).is_ok());
        assert_eq!(s.required_value("metadata.name"), Some("x"));
        assert_eq!(s.required_value("status.phase"), None);
        assert_eq!(s.to_string(), "metadata.name=x,spec.nodeName=n");
        let bad = FieldSelector::parse("spec.foo=bar").unwrap();
        assert_eq!(
            bad.validate(&pods).unwrap_err().to_string(),
            "field label not supported: spec.foo"
        );
        assert!(
            FieldSelector::parse("type=Opaque")
                .unwrap()
                .validate(&supported_fields("", "secrets"))
                .is_ok()
        );
        assert!(
            FieldSelector::parse("type=Opaque")
                .unwrap()
                .validate(&supported_fields("", "configmaps"))
                .is_err()
        );
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn supported_field_tables() {
        assert_eq!(
            supported_fields("", "configmaps"),
            ["metadata.name", "metadata.namespace"]
        );
        let pods = supported_fields("", "pods");
        for f in [
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ] {
            assert!(pods.contains(&f), "{f}");
        }
        let events = supported_fields("", "events");
        for f in [
            "involvedObject.kind",
            "involvedObject.uid",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ] {
            assert!(events.contains(&f), "{f}");
        }
        assert!(supported_fields("events.k8s.io", "events").contains(&"regarding.name"));
        assert!(supported_fields("", "namespaces").contains(&"status.phase"));
        assert!(supported_fields("apps", "replicasets").contains(&"status.replicas"));
        assert!(supported_fields("", "nodes").contains(&"spec.unschedulable"));
        assert!(supported_fields("", "services").contains(&"spec.type"));
    }
}
