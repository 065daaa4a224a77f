//! Stamps the git commit into every kuul binary, for `--version` and `kubectl kuul version`.
//!
//! A release build sets `KUUL_GIT_COMMIT`; otherwise the commit comes from git, and a
//! build from a source tarball without `.git` says `unknown` rather than failing.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KUUL_GIT_COMMIT");
    let commit = std::env::var("KUUL_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KUUL_GIT_COMMIT={}", commit.trim());
}

/// The short commit of HEAD, and the files whose change means HEAD moved.
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=7", "HEAD"])?;
    for file in ["HEAD", "packed-refs"] {
        watch(git(&["rev-parse", "--git-path", file]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &branch]));
    }
    Some(commit)
}

/// Reruns this script when `path` changes; a missing file would rerun it on every build.
fn watch(path: Option<String>) {
    if let Some(path) = path.filter(|path| Path::new(path).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
