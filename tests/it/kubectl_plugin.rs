//! Proves that the plugins work through kubectl's own plugin mechanism, as users run
//! them: the kubectl built with the local cluster finds `kubectl-kuul*` on PATH, picks the
//! longest matching name (`kubectl-kuul-run_now` before `kubectl-kuul run-now`), and the
//! umbrella talks to the cluster.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use kuul_tests::{bin, kubeconfig, kubectl, path_with, text};

/// Runs the test cluster's kubectl with `path` as PATH and the test kubeconfig.
fn run_kubectl(path: &OsString, args: &[&str]) -> Output {
    Command::new(kubectl())
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("run kubectl")
}

#[test]
fn kubectl_kuul_version_reports_client_and_server() {
    let plugins = bin("kubectl-kuul");
    let path = path_with(plugins.parent().expect("plugin folder"));

    let ours = run_kubectl(&path, &["kuul", "version"]);
    assert!(
        ours.status.success(),
        "kubectl kuul version failed: {}",
        text(&ours.stderr)
    );
    let stdout = text(&ours.stdout);

    // The server version kubectl itself reports for the same cluster.
    let reference = run_kubectl(&path, &["version", "-o", "json"]);
    assert!(
        reference.status.success(),
        "kubectl version: {}",
        text(&reference.stderr)
    );
    let reference: serde_json::Value =
        serde_json::from_slice(&reference.stdout).expect("kubectl version JSON");
    let server = reference["serverVersion"]["gitVersion"]
        .as_str()
        .expect("server gitVersion");

    assert_eq!(
        stdout,
        format!(
            "Client Version: v{}\nServer Version: {server}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn flags_before_the_subcommand_reach_the_umbrella() {
    // kubectl stops matching plugin names at the first flag, so this runs
    // `kubectl-kuul -n kube-system version -o json`.
    let plugins = bin("kubectl-kuul");
    let path = path_with(plugins.parent().expect("plugin folder"));
    let out = run_kubectl(
        &path,
        &["kuul", "-n", "kube-system", "version", "-o", "json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("version JSON");
    assert!(
        json["serverVersion"]["gitVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1."))
    );
}

/// Writes an executable `name` into `dir` that records its own name in `marker` and then
/// runs the real binary, so a test can tell which file kubectl chose.
fn recording_plugin(dir: &Path, name: &str, marker: &Path) {
    let real = bin(name);
    let script = format!(
        "#!/bin/sh\necho {name} >> '{}'\nexec '{}' \"$@\"\n",
        marker.display(),
        real.display()
    );
    let file = dir.join(name);
    std::fs::write(&file, script).expect("write plugin wrapper");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn run_now_resolves_to_its_own_binary_then_to_the_umbrella() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("chosen");
    let plugins = dir.path().join("bin");
    std::fs::create_dir(&plugins).expect("plugin folder");
    recording_plugin(&plugins, "kubectl-kuul", &marker);
    recording_plugin(&plugins, "kubectl-kuul-run_now", &marker);
    let path = path_with(&plugins);

    let thin = run_kubectl(&path, &["kuul", "run-now", "--help"]);
    assert!(thin.status.success(), "{}", text(&thin.stderr));
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "kubectl-kuul-run_now\n"
    );
    assert!(
        text(&thin.stdout).contains("kubectl kuul run-now"),
        "{}",
        text(&thin.stdout)
    );

    std::fs::remove_file(plugins.join("kubectl-kuul-run_now")).expect("remove thin plugin");
    std::fs::remove_file(&marker).expect("reset marker");
    let umbrella = run_kubectl(&path, &["kuul", "run-now", "--help"]);
    assert!(umbrella.status.success(), "{}", text(&umbrella.stderr));
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "kubectl-kuul\n"
    );
    assert_eq!(
        text(&umbrella.stdout),
        text(&thin.stdout),
        "both must behave the same"
    );
}
