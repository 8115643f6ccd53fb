//! Build script: records the git commit for `mcs-harness --version`.
//!
//! `MCS_HARNESS_GIT_COMMIT` (e.g. a Docker build argument, since `.dockerignore` keeps
//! `.git` out of the build context) wins; else `git rev-parse --short=12 HEAD` when the
//! source is a git checkout. A tree without git (a source tarball) builds fine and reports
//! `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=MCS_HARNESS_GIT_COMMIT");
    let from_env = std::env::var("MCS_HARNESS_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let commit = from_env.or_else(|| {
        let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
        // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
        for path in [
            git(&["rev-parse", "--git-path", "HEAD"]),
            git(&["symbolic-ref", "-q", "HEAD"])
                .and_then(|r| git(&["rev-parse", "--git-path", &r])),
            git(&["rev-parse", "--git-path", "packed-refs"]),
        ]
        .into_iter()
        .flatten()
        {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
        // No `-dirty` mark: the script reruns only when HEAD moves, so it would go stale.
        Some(commit)
    });
    if let Some(c) = commit {
        println!("cargo:rustc-env=MCS_HARNESS_GIT_COMMIT={c}");
    }
}
