//! Authentication (bearer token → user) and authorization (deny rules; everything else is
//! allowed, as for a cluster-admin). Deny rules are how faults make an identity lose access.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::http::HeaderMap;

use super::error::{ApiError, ApiResult};
use crate::store::ResKey;

/// A rule that forbids `user` the listed verbs on the listed resources ("*" = any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenyRule {
    /// Who installed the rule (for removal), e.g. a Fault's name.
    pub owner: String,
    /// User name, e.g. `system:serviceaccount:gke-mcs:gke-mcs-importer`, or "*".
    pub user: String,
    /// Verbs (`get`, `list`, `watch`, `create`, ...), or "*".
    pub verbs: Vec<String>,
    /// Resources as `resource` or `resource.group`, or "*".
    pub resources: Vec<String>,
    /// Namespaces, empty = all.
    pub namespaces: Vec<String>,
}

/// Identities and rules of one cluster.
#[derive(Default)]
pub struct Auth {
    tokens: RwLock<HashMap<String, String>>,
    rules: RwLock<Vec<DenyRule>>,
}

fn any_or(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x == "*" || x == v)
}

impl Auth {
    /// Registers a bearer token for `user`.
    pub fn add_token(&self, token: &str, user: &str) {
        let mut t = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        t.insert(token.to_string(), user.to_string());
    }

    /// Adds a deny rule.
    pub fn add_rule(&self, rule: DenyRule) {
        self.rules
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
    }

    /// Removes every rule installed by `owner`.
    pub fn remove_rules(&self, owner: &str) {
        let mut r = self.rules.write().unwrap_or_else(|e| e.into_inner());
        r.retain(|x| x.owner != owner);
    }

    /// The user behind the request's bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> ApiResult<String> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let t = self.tokens.read().unwrap_or_else(|e| e.into_inner());
        t.get(token.trim()).cloned().ok_or(ApiError::Unauthorized)
    }

    /// The owner (e.g. Fault name) of the first deny rule that forbids `user` `verb` on
    /// `res` in `namespace`; None when allowed.
    pub fn denied_by(
        &self,
        user: &str,
        verb: &str,
        res: &ResKey,
        namespace: Option<&str>,
    ) -> Option<String> {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        rules
            .iter()
            .find(|r| {
                (r.user == "*" || r.user == user)
                    && any_or(&r.verbs, verb)
                    && (any_or(&r.resources, &res.resource)
                        || any_or(&r.resources, &res.qualified()))
                    && (r.namespaces.is_empty()
                        || namespace.is_some_and(|n| any_or(&r.namespaces, n)))
            })
            .map(|r| r.owner.clone())
    }

    /// The groups an identity belongs to, as kube-apiserver's authenticators add them: the
    /// fleet's admin is in `system:masters` (as kubeadm's and kind's admin kubeconfig user
    /// was), service accounts in `system:serviceaccounts[:NS]`, everyone in
    /// `system:authenticated`.
    pub fn groups(user: &str) -> Vec<String> {
        let mut g = Vec::new();
        if user == "admin" {
            g.push("system:masters".to_string());
        }
        if let Some(rest) = user.strip_prefix("system:serviceaccount:") {
            g.push("system:serviceaccounts".to_string());
            if let Some(ns) = rest.split(':').next() {
                g.push(format!("system:serviceaccounts:{ns}"));
            }
        }
        g.push("system:authenticated".to_string());
        g
    }

    /// Fails with 403 when a deny rule matches.
    pub fn authorize(
        &self,
        user: &str,
        verb: &str,
        res: &ResKey,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> ApiResult<()> {
        if self.denied_by(user, verb, res, namespace).is_none() {
            return Ok(());
        }
        let subject = match name {
            Some(n) => format!("{} \"{n}\"", res.qualified()),
            None => res.qualified(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        Err(ApiError::Forbidden {
            message: format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                res.resource, res.group
            ),
            res: Some(res.clone()),
            name: name.unwrap_or_default().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_deny_rules() {
        let a = Auth::default();
        a.add_token("t1", "alice");
        let mut h = HeaderMap::new();
        assert!(matches!(a.authenticate(&h), Err(ApiError::Unauthorized)));
        h.insert("authorization", "Bearer t1".parse().unwrap());
        assert_eq!(a.authenticate(&h).unwrap(), "alice");
        let ep = ResKey::new("", "endpoints");
        a.add_rule(DenyRule {
            owner: "f1".into(),
            user: "alice".into(),
            verbs: vec!["list".into(), "watch".into()],
            resources: vec!["endpoints".into()],
            namespaces: vec![],
        });
        let err = a
            .authorize("alice", "list", &ep, Some("app"), None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "endpoints is forbidden: User \"alice\" cannot list resource \"endpoints\" in API group \"\" in the namespace \"app\""
        );
        assert!(
            a.authorize("alice", "get", &ep, Some("app"), Some("x"))
                .is_ok()
        );
        assert!(a.authorize("bob", "list", &ep, Some("app"), None).is_ok());
        a.remove_rules("f1");
        assert!(a.authorize("alice", "list", &ep, Some("app"), None).is_ok());
    }
}
