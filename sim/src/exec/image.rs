//! Which tools an image has, decided from the image reference.
//!
//! The emulation knows a few image families; anything unknown is treated as busybox (an image
//! with a POSIX shell and the busybox applets).

/// An image family: its shell dialect and tool set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `busybox` and any unknown image: ash, busybox applets (`nslookup`, `wget`, …).
    Busybox,
    /// `curlimages/curl`: Alpine busybox plus curl.
    Curl,
    /// `nicolaka/netshoot`: curl, bind-tools `nslookup`, wget, bash, nc, socat.
    Netshoot,
    /// `alpine/socat`: Alpine busybox plus socat.
    Socat,
    /// Debian-slim based images (whereami, python): dash, coreutils; no wget/curl/nslookup.
    Debian,
    /// Images without any shell or tools (distroless, pause).
    NoShell,
}

/// How the container runtime reports a command that cannot be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartFailure {
    /// The Go `exec` error, e.g. `exec: "foo": executable file not found in $PATH`.
    pub short: String,
}

impl StartFailure {
    /// The runtime (containerd + runc) error text wrapping [`Self::short`].
    pub fn oci_message(&self) -> String {
        format!(
            "OCI runtime exec failed: exec failed: unable to start container process: {}: unknown",
            self.short
        )
    }
}

const SHELL_TOOLS: &[&str] = &[
    "sh", "cat", "echo", "hostname", "true", "false", "sleep", "env", "tail", "touch", "rm",
    "mkdir", "ls", "tar", "test", "[",
];
const BUSYBOX_TOOLS: &[&str] = &["ash", "busybox", "nslookup", "wget", "nc"];

impl Flavour {
    /// The family of `image` (a reference such as `docker.io/library/busybox:1.36`).
    pub fn of(image: &str) -> Self {
        let lower = image.to_ascii_lowercase();
        let repo = lower.split('@').next().unwrap_or_default();
        let repo = match repo.rfind(':') {
            Some(i) if !repo[i..].contains('/') => &repo[..i],
            _ => repo,
        };
        let has = |s: &str| repo.contains(s);
        if has("netshoot") {
            Self::Netshoot
        } else if has("socat") {
            Self::Socat
        } else if has("curl") {
            Self::Curl
        } else if has("distroless") || has("pause") {
            Self::NoShell
        } else if has("whereami") || has("python") || has("debian") || has("ubuntu") {
            Self::Debian
        } else {
            Self::Busybox
        }
    }

    /// Whether the executable `name` (a basename) exists in the image.
    pub fn has(self, name: &str) -> bool {
        let shell = SHELL_TOOLS.contains(&name);
        match self {
            Self::NoShell => false,
            Self::Debian => shell || matches!(name, "bash" | "dash"),
            Self::Busybox => shell || BUSYBOX_TOOLS.contains(&name),
            Self::Curl => shell || BUSYBOX_TOOLS.contains(&name) || name == "curl",
            Self::Socat => shell || BUSYBOX_TOOLS.contains(&name) || name == "socat",
            Self::Netshoot => {
                shell
                    || matches!(
                        name,
                        "bash" | "curl" | "nslookup" | "wget" | "busybox" | "nc" | "socat"
                    )
            }
        }
    }

    /// Whether the shell is dash (Debian), whose messages carry a line number.
    pub fn dash(self) -> bool {
        self == Self::Debian
    }
}

/// The basename of a command path (`/bin/sh` → `sh`).
pub fn basename(cmd: &str) -> &str {
    cmd.rsplit('/').next().unwrap_or(cmd)
}

/// The runtime error when `argv[0]` cannot be executed in an image of `flavour`, or `None`.
pub fn start_failure(flavour: Flavour, argv: &[String]) -> Option<StartFailure> {
    let Some(cmd) = argv.first() else {
        return Some(StartFailure {
            short: "exec: no command".to_string(),
        });
    };
    if flavour.has(basename(cmd)) && !cmd.is_empty() {
        return None;
    }
    let short = if cmd.contains('/') {
        format!("exec: \"{cmd}\": stat {cmd}: no such file or directory")
    } else {
        format!("exec: \"{cmd}\": executable file not found in $PATH")
    };
    Some(StartFailure { short })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_from_references() {
        assert_eq!(Flavour::of("busybox:1.36"), Flavour::Busybox);
        assert_eq!(Flavour::of("curlimages/curl:8.5.0"), Flavour::Curl);
        assert_eq!(Flavour::of("nicolaka/netshoot"), Flavour::Netshoot);
        assert_eq!(
            Flavour::of("us-docker.pkg.dev/google-samples/containers/gke/whereami:v1.2.22"),
            Flavour::Debian
        );
        assert_eq!(Flavour::of("registry.k8s.io/pause:3.9"), Flavour::NoShell);
        assert_eq!(Flavour::of("localhost:5000/tools"), Flavour::Busybox);
    }

    #[test]
    fn tool_sets() {
        assert!(Flavour::Busybox.has("wget") && !Flavour::Busybox.has("curl"));
        assert!(Flavour::Curl.has("curl") && Flavour::Curl.has("nslookup"));
        assert!(Flavour::Debian.has("sh") && !Flavour::Debian.has("wget"));
        assert!(!Flavour::NoShell.has("sh"));
    }

    #[test]
    fn start_failures_name_the_command() {
        let argv = |s: &str| vec![s.to_string()];
        assert_eq!(start_failure(Flavour::Busybox, &argv("/bin/sh")), None);
        let f = start_failure(Flavour::Busybox, &argv("ps2")).map(|f| f.short);
        assert_eq!(
            f.as_deref(),
            Some("exec: \"ps2\": executable file not found in $PATH")
        );
        let f = start_failure(Flavour::Debian, &argv("/usr/bin/wget")).map(|f| f.short);
        assert_eq!(
            f.as_deref(),
            Some("exec: \"/usr/bin/wget\": stat /usr/bin/wget: no such file or directory")
        );
    }
}
