//! Container images as the node's runtime sees them: reference parsing (an unparsable
//! reference is `InvalidImageName`, as kubelet's `applyDefaultImageTag` reports it), the
//! pull outcome, and which program the image runs by default.
//!
//! The fleet has no registry. Images it emulates (see [`Family`]) pull at once; any other
//! image runs as the generic stand-in. An image that cannot exist fails to pull with
//! containerd's error text:
//! - a registry host under a reserved top-level domain (`.invalid`, `.test`, `.example`,
//!   RFC 2606 / RFC 6761: such names never resolve) → `no such host` (a fact of DNS);
//! - the tag `doesnotexist` → `not found` (a **simulation convention**, documented in the
//!   README, for reproducing a typo'd tag).

/// An image family the fleet emulates, or the generic stand-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// GKE's whereami sample: an HTTP server on `$PORT` (8080).
    Whereami,
    /// `busybox`: default command `sh` (exits at once without a terminal).
    Busybox,
    /// `alpine`: default command `/bin/sh`.
    Alpine,
    /// `curlimages/curl`: default command `curl` (prints usage, exit 2).
    Curl,
    /// `nicolaka/netshoot`: default command `zsh` (exits at once without a terminal).
    Netshoot,
    /// `alpine/socat`: entrypoint `socat`.
    Socat,
    /// `debian`, `ubuntu`, `python`: default `bash`/`python3` (exit at once without a terminal).
    Debian,
    /// `pause`: sleeps until signalled.
    Pause,
    /// Any other image: the generic stand-in (serves the declared ports).
    Generic,
}

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (`docker.io` when omitted).
    pub domain: String,
    /// Repository path (`library/busybox`).
    pub path: String,
    /// Tag (`latest` when neither tag nor digest is given), empty with a digest only.
    pub tag: String,
    /// `sha256:…`, if given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// The fully qualified reference containerd reports (`docker.io/library/busybox:1.36`).
    pub fn full(&self) -> String {
        let mut s = format!("{}/{}", self.domain, self.path);
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The repository's last path component (`busybox`, `whereami`).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Which family the fleet runs it as.
    pub fn family(&self) -> Family {
        let name = self.name();
        let path = self.path.as_str();
        match name {
            n if n.starts_with("whereami") => Family::Whereami,
            "busybox" => Family::Busybox,
            "alpine" => Family::Alpine,
            "curl" => Family::Curl,
            "netshoot" => Family::Netshoot,
            "socat" => Family::Socat,
            "debian" | "ubuntu" | "python" => Family::Debian,
            "pause" => Family::Pause,
            _ if path.ends_with("/busybox") => Family::Busybox,
            _ => Family::Generic,
        }
    }
}

fn path_component_ok(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut prev_sep = String::new();
    for &ch in b {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            if !matches!(prev_sep.as_str(), "" | "." | "_" | "__")
                && !prev_sep.bytes().all(|x| x == b'-')
            {
                return false;
            }
            prev_sep.clear();
        } else if matches!(ch, b'.' | b'_' | b'-') {
            prev_sep.push(ch as char);
        } else {
            return false;
        }
    }
    true
}

fn domain_like(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// Parses `reference` like `reference.ParseNormalizedNamed`; the error is its message.
pub fn parse(reference: &str) -> Result<ImageRef, String> {
    let invalid = || "invalid reference format".to_string();
    if reference.is_empty() || reference.len() > 255 || reference.contains(char::is_whitespace) {
        return Err(invalid());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => {
            let ok = d.split_once(':').is_some_and(|(algo, hex)| {
                !algo.is_empty() && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !ok {
                return Err(invalid());
            }
            (r, Some(d.to_string()))
        }
        None => (reference, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], rest[i + 1..].to_string()),
        _ => (rest, String::new()),
    };
    if !tag.is_empty() {
        let t = tag.as_bytes();
        let ok = t.len() <= 128
            && (t[0].is_ascii_alphanumeric() || t[0] == b'_')
            && t.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return Err(invalid());
        }
    } else if rest.ends_with(':') {
        return Err(invalid());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let domain = if parts.len() > 1 && domain_like(parts[0]) {
        parts.remove(0).to_string()
    } else {
        "docker.io".to_string()
    };
    if parts
        .iter()
        .any(|p| p.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err("invalid reference format: repository name must be lowercase".into());
    }
    if parts.is_empty() || !parts.iter().all(|p| path_component_ok(p)) {
        return Err(invalid());
    }
    let mut path = parts.join("/");
    if domain == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    let tag = if tag.is_empty() && digest.is_none() {
        "latest".to_string()
    } else {
        tag
    };
    Ok(ImageRef {
        domain,
        path,
        tag,
        digest,
    })
}

/// Why a pull fails: containerd's gRPC status code and description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullError {
    /// The `rpc error: …` text kubelet puts in its `Failed` event and waiting message.
    pub message: String,
}

/// The pull outcome of a parsed reference (no registry is ever contacted).
pub fn pull(r: &ImageRef) -> Result<(), PullError> {
    let full = r.full();
    let host = r.domain.split(':').next().unwrap_or("");
    let reserved = [".invalid", ".test", ".example"];
    if reserved.iter().any(|tld| host.ends_with(tld))
        || matches!(host, "invalid" | "test" | "example")
    {
        let manifest = if r.tag.is_empty() {
            r.digest.clone().unwrap_or_default()
        } else {
            r.tag.clone()
        };
        return Err(PullError {
            message: format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": failed to do request: Head \"https://{}/v2/{}/manifests/{manifest}\": dial tcp: lookup {host}: no such host",
                r.domain, r.path
            ),
        });
    }
    if r.tag == "doesnotexist" {
        return Err(PullError {
            message: format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
            ),
        });
    }
    Ok(())
}

/// The image's ENTRYPOINT and CMD (as their Dockerfiles set them).
pub fn defaults(family: Family) -> (&'static [&'static str], &'static [&'static str]) {
    match family {
        Family::Busybox => (&[], &["sh"]),
        Family::Alpine => (&[], &["/bin/sh"]),
        Family::Curl => (&[], &["curl"]),
        Family::Netshoot => (&[], &["zsh"]),
        Family::Socat => (&["socat"], &[]),
        Family::Debian => (&[], &["bash"]),
        Family::Whereami | Family::Pause | Family::Generic => (&[], &[]),
    }
}

/// The argv a container runs: `command` replaces ENTRYPOINT (and drops CMD), `args`
/// replaces CMD (Kubernetes' documented rule).
pub fn argv(family: Family, command: &[String], args: &[String]) -> Vec<String> {
    let (entry, cmd) = defaults(family);
    let mut out: Vec<String> = if command.is_empty() {
        entry.iter().map(|s| s.to_string()).collect()
    } else {
        command.to_vec()
    };
    if !args.is_empty() {
        out.extend(args.iter().cloned());
    } else if command.is_empty() {
        out.extend(cmd.iter().map(|s| s.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_like_docker() {
        let r = parse("busybox").unwrap();
        assert_eq!(r.full(), "docker.io/library/busybox:latest");
        assert_eq!(r.family(), Family::Busybox);
        let r = parse("us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.20").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.tag.as_str()),
            ("us-docker.pkg.dev", "v1.2.20")
        );
        assert_eq!(r.family(), Family::Whereami);
        assert_eq!(
            parse("localhost:5000/tools").unwrap().domain,
            "localhost:5000"
        );
        assert_eq!(
            parse("alpine/socat:1.7.4.4").unwrap().family(),
            Family::Socat
        );
        assert_eq!(parse("nginx:1.25").unwrap().family(), Family::Generic);
        for bad in ["", "Busybox", "busybox:", "a b", "busybox:-x", "-x", "a//b"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse("busybox@sha256:0123456789abcdef0123456789abcdef").is_ok());
    }

    #[test]
    fn images_that_cannot_exist_fail_to_pull() {
        let r = parse("registry.invalid/does-not-exist:nope").unwrap();
        let e = pull(&r).unwrap_err().message;
        assert!(e.contains("lookup registry.invalid: no such host"), "{e}");
        let e = pull(&parse("busybox:doesnotexist").unwrap())
            .unwrap_err()
            .message;
        assert!(
            e.ends_with("docker.io/library/busybox:doesnotexist: not found"),
            "{e}"
        );
        assert!(pull(&parse("busybox:1.36").unwrap()).is_ok());
    }

    #[test]
    fn command_and_args_replace_entrypoint_and_cmd() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(argv(Family::Busybox, &[], &[]), s(&["sh"]));
        assert_eq!(
            argv(Family::Socat, &[], &s(&["-v", "A", "B"])),
            s(&["socat", "-v", "A", "B"])
        );
        assert_eq!(argv(Family::Socat, &s(&["sh"]), &[]), s(&["sh"]));
        assert_eq!(
            argv(Family::Busybox, &[], &s(&["sleep", "1"])),
            s(&["sleep", "1"])
        );
    }
}
