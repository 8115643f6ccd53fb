//! GNU-style option parsing for the emulated tools: clustered short options (`-qO-`,
//! `-sSm 2`), long options (`--max-time=2`, `--timeout 2`), options after operands, `--`.

use thiserror::Error;

/// One option a tool accepts.
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    /// The short letter, if any.
    pub short: Option<char>,
    /// The long name (also the canonical key).
    pub long: &'static str,
    /// Whether the option takes a value.
    pub arg: bool,
}

/// Shorthand for an [`OptSpec`].
pub const fn opt(short: Option<char>, long: &'static str, arg: bool) -> OptSpec {
    OptSpec { short, long, arg }
}

/// Why a command line was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArgError {
    /// An option that is not in the spec (as written).
    #[error("unrecognized option '{0}'")]
    Unknown(String),
    /// An option that needs a value got none (as written).
    #[error("option requires an argument: {0}")]
    Missing(String),
}

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Options in order, by long name.
    pub opts: Vec<(&'static str, Option<String>)>,
    /// Operands.
    pub args: Vec<String>,
}

impl Parsed {
    /// Whether the option was given.
    pub fn flag(&self, long: &str) -> bool {
        self.opts.iter().any(|(k, _)| *k == long)
    }

    /// The value of the last occurrence of the option.
    pub fn last(&self, long: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| *k == long)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value given for the option.
    pub fn all(&self, long: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(k, _)| *k == long)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }
}

/// Parses `args` (without the program name) against `specs`.
pub fn parse(specs: &[OptSpec], args: &[String]) -> Result<Parsed, ArgError> {
    let mut out = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.args.extend(it.by_ref().cloned());
        } else if let Some(long) = a.strip_prefix("--") {
            parse_long(specs, long, &mut it, &mut out)?;
        } else if a.len() > 1 && a.starts_with('-') {
            parse_short(specs, &a[1..], &mut it, &mut out)?;
        } else {
            out.args.push(a.clone());
        }
    }
    Ok(out)
}

fn parse_long<'a>(
    specs: &[OptSpec],
    long: &str,
    rest: &mut impl Iterator<Item = &'a String>,
    out: &mut Parsed,
) -> Result<(), ArgError> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (long, None),
    };
    let spec = specs
        .iter()
        .find(|s| s.long == name)
        .ok_or_else(|| ArgError::Unknown(format!("--{name}")))?;
    let value = match (spec.arg, inline) {
        (true, Some(v)) => Some(v),
        (true, None) => Some(
            rest.next()
                .cloned()
                .ok_or_else(|| ArgError::Missing(format!("--{name}")))?,
        ),
        (false, _) => None,
    };
    out.opts.push((spec.long, value));
    Ok(())
}

fn parse_short<'a>(
    specs: &[OptSpec],
    cluster: &str,
    rest: &mut impl Iterator<Item = &'a String>,
    out: &mut Parsed,
) -> Result<(), ArgError> {
    for (i, c) in cluster.char_indices() {
        let spec = specs
            .iter()
            .find(|s| s.short == Some(c))
            .ok_or_else(|| ArgError::Unknown(format!("-{c}")))?;
        if !spec.arg {
            out.opts.push((spec.long, None));
            continue;
        }
        let tail = &cluster[i + c.len_utf8()..];
        let value = if tail.is_empty() {
            rest.next()
                .cloned()
                .ok_or_else(|| ArgError::Missing(format!("-{c}")))?
        } else {
            tail.to_string()
        };
        out.opts.push((spec.long, Some(value)));
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptSpec] = &[
        opt(Some('q'), "quiet", false),
        opt(Some('O'), "output-document", true),
        opt(Some('T'), "timeout", true),
    ];

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn clusters_longs_and_operands() -> Result<(), ArgError> {
        let p = parse(SPECS, &argv("-qO- http://a -T 3 --timeout=4"))?;
        assert!(p.flag("quiet"));
        assert_eq!(p.last("output-document"), Some("-"));
        assert_eq!(p.last("timeout"), Some("4"));
        assert_eq!(p.all("timeout"), vec!["3", "4"]);
        assert_eq!(p.args, vec!["http://a".to_string()]);
        Ok(())
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(SPECS, &argv("-x")).err(),
            Some(ArgError::Unknown("-x".into()))
        );
        assert_eq!(
            parse(SPECS, &argv("-T")).err(),
            Some(ArgError::Missing("-T".into()))
        );
    }
}
