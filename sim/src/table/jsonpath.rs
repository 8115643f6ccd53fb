//! The JSONPath subset used by CRD `additionalPrinterColumns` (k8s.io/client-go
//! `util/jsonpath` with missing keys allowed): `.a.b`, `.a[0]`, `.a[-1]`, `.a[1:3]`,
//! `.a[*].b`, `.*`, `..b`, `.a['key.with.dots']` and filters such as
//! `[?(@.type=="Ready")]`, `[?(@.count>1)]`, `[?(@.name)]`. An optional `{...}`
//! wrapper and leading `$` are accepted.

use std::cmp::Ordering;

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Field(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Wildcard,
    Descend,
    Filter(Box<Filter>),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    left: Vec<Seg>,
    op: Option<&'static str>,
    right: Option<Operand>,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Lit(Value),
    Path(Vec<Seg>),
}

/// Evaluates `path` against `root`; missing keys simply produce no result.
pub(super) fn eval<'a>(path: &str, root: &'a Value) -> Result<Vec<&'a Value>, String> {
    Ok(apply(&parse(path)?, vec![root]))
}

fn parse(path: &str) -> Result<Vec<Seg>, String> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(p)
        .trim();
    let chars: Vec<char> = p.strip_prefix('$').unwrap_or(p).chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                segs.push(Seg::Descend);
                i += 2;
                if chars.get(i) != Some(&'[') {
                    i = read_name(&chars, i, &mut segs);
                }
            }
            '.' => i = read_name(&chars, i + 1, &mut segs),
            '[' => {
                let end = closing_bracket(&chars, i)
                    .ok_or_else(|| format!("unterminated '[' in {path:?}"))?;
                let inner: String = chars[i + 1..end].iter().collect();
                segs.push(bracket(inner.trim())?);
                i = end + 1;
            }
            _ => i = read_name(&chars, i, &mut segs),
        }
    }
    Ok(segs)
}

fn read_name(chars: &[char], start: usize, segs: &mut Vec<Seg>) -> usize {
    let end = chars[start..]
        .iter()
        .position(|c| matches!(c, '.' | '['))
        .map_or(chars.len(), |n| start + n);
    let name: String = chars[start..end].iter().collect();
    match name.as_str() {
        "" => {}
        "*" => segs.push(Seg::Wildcard),
        _ => segs.push(Seg::Field(name)),
    }
    end
}

fn closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let (mut quote, mut depth) = (None, 0);
    for (i, &c) in chars.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ']') if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    s.strip_prefix(q)?.strip_suffix(q)
}

fn bracket(inner: &str) -> Result<Seg, String> {
    if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        return Ok(Seg::Filter(Box::new(filter(f.trim())?)));
    }
    if inner == "*" {
        return Ok(Seg::Wildcard);
    }
    if let Some(name) = unquote(inner) {
        return Ok(Seg::Field(name.to_owned()));
    }
    let int = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("invalid array index {inner:?}"))
    };
    let opt = |s: &str| {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            int(s).map(Some)
        }
    };
    match inner.split(':').collect::<Vec<_>>().as_slice() {
        [one] => int(one).map(Seg::Index),
        [a, b] | [a, b, _] => Ok(Seg::Slice(opt(a)?, opt(b)?)),
        _ => Err(format!("invalid array slice {inner:?}")),
    }
}

fn filter(expr: &str) -> Result<Filter, String> {
    let (mut quote, mut found) = (None, None);
    for (i, c) in expr.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, _) => {
                let ops = ["==", "!=", "<=", ">=", "<", ">"];
                if let Some(op) = ops.into_iter().find(|op| expr[i..].starts_with(op)) {
                    found = Some((i, op));
                    break;
                }
            }
        }
    }
    let operand = |s: &str| -> Result<Vec<Seg>, String> {
        let s = s.trim();
        let rel = s
            .strip_prefix('@')
            .ok_or_else(|| format!("filter operand {s:?} must start with '@'"))?;
        parse(rel)
    };
    let Some((at, op)) = found else {
        return Ok(Filter {
            left: operand(expr)?,
            op: None,
            right: None,
        });
    };
    let right = expr[at + op.len()..].trim();
    let right = if right.starts_with('@') {
        Operand::Path(operand(right)?)
    } else if let Some(s) = unquote(right) {
        Operand::Lit(Value::from(s))
    } else {
        Operand::Lit(
            serde_json::from_str(right).map_err(|_| format!("invalid filter literal {right:?}"))?,
        )
    };
    Ok(Filter {
        left: operand(&expr[..at])?,
        op: Some(op),
        right: Some(right),
    })
}

fn apply<'a>(segs: &[Seg], mut cur: Vec<&'a Value>) -> Vec<&'a Value> {
    for seg in segs {
        cur = cur.into_iter().flat_map(|v| step(seg, v)).collect();
    }
    cur
}

fn step<'a>(seg: &Seg, v: &'a Value) -> Vec<&'a Value> {
    match (seg, v) {
        (Seg::Field(k), Value::Object(m)) => m.get(k).into_iter().collect(),
        (Seg::Index(i), Value::Array(a)) => {
            let idx = if *i < 0 { a.len() as i64 + i } else { *i };
            usize::try_from(idx)
                .ok()
                .and_then(|n| a.get(n))
                .into_iter()
                .collect()
        }
        (Seg::Slice(from, to), Value::Array(a)) => {
            let len = a.len() as i64;
            let clamp = |x: i64| {
                usize::try_from(if x < 0 { (len + x).max(0) } else { x.min(len) }).unwrap_or(0)
            };
            let (s, e) = (clamp(from.unwrap_or(0)), clamp(to.unwrap_or(len)));
            a.get(s..e.max(s))
                .map_or_else(Vec::new, |x| x.iter().collect())
        }
        (Seg::Wildcard, Value::Array(a)) => a.iter().collect(),
        (Seg::Wildcard, Value::Object(m)) => {
            let mut pairs: Vec<_> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            pairs.into_iter().map(|(_, v)| v).collect()
        }
        (Seg::Descend, v) => {
            let mut out = Vec::new();
            descendants(v, &mut out);
            out
        }
        (Seg::Filter(f), Value::Array(a)) => a.iter().filter(|e| f.pass(e)).collect(),
        _ => Vec::new(),
    }
}

fn descendants<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<_> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            pairs.into_iter().for_each(|(_, x)| descendants(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| descendants(x, out)),
        _ => {}
    }
}

impl Filter {
    fn pass(&self, elem: &Value) -> bool {
        let lefts = apply(&self.left, vec![elem]);
        let (Some(op), Some(right)) = (self.op, &self.right) else {
            return !lefts.is_empty();
        };
        let rights = match right {
            Operand::Lit(v) => vec![v],
            Operand::Path(p) => apply(p, vec![elem]),
        };
        let ([l], [r]) = (lefts.as_slice(), rights.as_slice()) else {
            return false;
        };
        let ord = match (l, r) {
            (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) if matches!(op, "==" | "!=") => Some(a.cmp(b)),
            _ => None,
        };
        ord.is_some_and(|o| match op {
            "==" => o == Ordering::Equal,
            "!=" => o != Ordering::Equal,
            "<" => o == Ordering::Less,
            ">" => o == Ordering::Greater,
            "<=" => o != Ordering::Greater,
            _ => o != Ordering::Less,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"ips": ["10.0.0.1", "10.0.0.2", "10.0.0.3"], "ports": [{"port": 80}, {"port": 443}]},
            "status": {"conditions": [
                {"type": "Synced", "status": "False", "count": 1},
                {"type": "Ready", "status": "True", "count": 5}
            ]}
        })
    }

    fn run(path: &str) -> Vec<Value> {
        let d = doc();
        eval(path, &d).unwrap().into_iter().cloned().collect()
    }

    #[test]
    fn dotted_fields_and_wrappers() {
        assert_eq!(run(".metadata.name"), vec![json!("a")]);
        assert_eq!(run("{.metadata.name}"), vec![json!("a")]);
        assert_eq!(run("$.metadata.name"), vec![json!("a")]);
        assert!(run(".metadata.missing.deeper").is_empty());
    }

    #[test]
    fn indexes_slices_and_wildcards() {
        assert_eq!(run(".spec.ips[0]"), vec![json!("10.0.0.1")]);
        assert_eq!(run(".spec.ips[-1]"), vec![json!("10.0.0.3")]);
        assert!(run(".spec.ips[7]").is_empty());
        assert_eq!(
            run(".spec.ips[1:]"),
            vec![json!("10.0.0.2"), json!("10.0.0.3")]
        );
        assert_eq!(run(".spec.ports[*].port"), vec![json!(80), json!(443)]);
        assert_eq!(run(".spec.ports[0].port"), vec![json!(80)]);
        assert_eq!(run(".metadata.*").len(), 2);
    }

    #[test]
    fn quoted_keys_with_dots() {
        assert_eq!(
            run(".metadata.labels['app.kubernetes.io/name']"),
            vec![json!("web")]
        );
        assert_eq!(
            run(r#".metadata.labels["app.kubernetes.io/name"]"#),
            vec![json!("web")]
        );
    }

    #[test]
    fn filters() {
        assert_eq!(
            run(r#".status.conditions[?(@.type=="Ready")].status"#),
            vec![json!("True")]
        );
        assert_eq!(
            run(".status.conditions[?(@.type=='Synced')].status"),
            vec![json!("False")]
        );
        assert_eq!(
            run(r#".status.conditions[?(@.type!="Ready")].type"#),
            vec![json!("Synced")]
        );
        assert_eq!(
            run(".status.conditions[?(@.count>2)].type"),
            vec![json!("Ready")]
        );
        assert_eq!(
            run(".status.conditions[?(@.count<=1)].type"),
            vec![json!("Synced")]
        );
        assert_eq!(run(".status.conditions[?(@.count)].type").len(), 2);
        assert!(run(r#".status.conditions[?(@.type=="Gone")].status"#).is_empty());
    }

    #[test]
    fn recursive_descent() {
        assert_eq!(run("..port"), vec![json!(80), json!(443)]);
    }

    #[test]
    fn parse_errors() {
        assert!(eval(".a[", &json!({})).is_err());
        assert!(eval(".a[x]", &json!({})).is_err());
        assert!(eval(".a[?(type==1)]", &json!({})).is_err());
    }
}
