//! Scenario `labels`: checked with Kubernetes' rules for label keys and values, so that a
//! label written here could also be put on an object (and a selector reads the same way as
//! `kubectl get -l`). Source: Kubernetes docs, "Labels and Selectors" — syntax and
//! character set (a fact of Kubernetes, applied here by choice).

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::ScenarioError;
use super::validate::Ctx;

/// A label name (the key without prefix, or a value): at most 63 characters, alphanumerics,
/// `-`, `_` and `.`, starting and ending with an alphanumeric. Values may also be empty.
pub fn is_name(s: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge(s.chars().next())
        && edge(s.chars().last())
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters.
pub fn is_key(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => {
            let part_ok = |p: &str| {
                !p.is_empty()
                    && p.len() <= 63
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !p.starts_with('-')
                    && !p.ends_with('-')
            };
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(part_ok)
                && is_name(name)
        }
        None => is_name(s),
    }
}

/// A label value: empty, or a label name.
pub fn is_value(s: &str) -> bool {
    s.is_empty() || is_name(s)
}

/// Checks `labels`; the error points at the mapping.
pub(super) fn validate(
    ctx: &Ctx,
    labels: Option<&Spanned<BTreeMap<String, String>>>,
) -> Result<BTreeMap<String, String>, ScenarioError> {
    let Some(labels) = labels else {
        return Ok(BTreeMap::new());
    };
    for (k, v) in &labels.value {
        if !is_key(k) {
            return Err(ctx.err(
                &labels.referenced,
                format!(
                    "label key {k:?} is not a Kubernetes label key: use [prefix/]name, the name \
                     at most 63 letters, digits, '-', '_' or '.', starting and ending with a \
                     letter or digit"
                ),
            ));
        }
        if !is_value(v) {
            return Err(ctx.err(
                &labels.referenced,
                format!(
                    "label {k}: value {v:?} is not a Kubernetes label value: at most 63 letters, \
                     digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)"
                ),
            ));
        }
    }
    Ok(labels.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_follow_kubernetes() {
        for ok in ["suite", "mcs-harness.dev/suite", "a.b_c-d", "x"] {
            assert!(is_key(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a/b/c",
            "UPPER.dev/x",
            "/x",
            "x/",
            &"a".repeat(64),
        ] {
            assert!(!is_key(bad), "{bad}");
        }
        assert!(is_value(""));
        assert!(is_value("Basic_1.0"));
        assert!(!is_value("has space"));
        assert!(!is_value("trailing-"));
    }
}
