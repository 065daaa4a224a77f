//! Shell completion through the real kubectl: `kubectl __complete kuul ...` is what a
//! shell's kubectl completion runs on TAB. kubectl finds `kubectl_complete-kuul` on PATH
//! (or `kubectl_complete-kuul-run_now` when the thin plugin is there) and prints its
//! answer, so these tests see what a user's shell would offer: subcommands, flags,
//! `CronJob` names from a test namespace, and pool and node names from the cluster.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use k8s_openapi::api::batch::v1::CronJob;
use kube::api::{Api, PostParams};
use kuul_tests::{TestNamespace, YEARLY, assert_exit, bin, kubeconfig, kubectl, path_with, text};
use serde_json::json;

/// A folder holding links to the given built binaries, the only plugins kubectl sees.
fn plugin_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in names {
        symlink(bin(name), dir.path().join(name)).expect("link a plugin");
    }
    dir
}

/// The candidates kubectl prints for `kubectl __complete kuul WORDS...`, and the final
/// `:N` directive line.
fn complete(dir: &Path, words: &[&str]) -> (Vec<String>, String) {
    let output = Command::new(kubectl())
        .args(["__complete", "kuul"])
        .args(words)
        .env("PATH", path_with(dir))
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("run kubectl __complete");
    let stdout = assert_exit(&output, 0, &format!("kubectl __complete kuul {words:?}"));
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let directive = lines.pop().unwrap_or_default();
    let values = lines
        .into_iter()
        .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    (values, directive)
}

fn umbrella_only() -> tempfile::TempDir {
    plugin_dir(&["kubectl-kuul", "kubectl_complete-kuul"])
}

async fn create_cronjobs(ns: &TestNamespace, names: &[&str]) {
    let api: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    for name in names {
        let cronjob: CronJob = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": {
                "schedule": YEARLY,
                "suspend": true,
                "jobTemplate": { "spec": { "template": { "spec": {
                    "restartPolicy": "Never",
                    "containers": [{ "name": "work", "image": "busybox" }]
                } } } }
            }
        }))
        .expect("a CronJob");
        api.create(&PostParams::default(), &cronjob)
            .await
            .expect("create CronJob");
    }
}

#[test]
fn subcommands_and_flags() {
    let dir = umbrella_only();
    let (values, directive) = complete(dir.path(), &[""]);
    for expected in [
        "run-now",
        "suspend",
        "label-nodes",
        "rbac",
        "completion",
        "version",
    ] {
        assert!(
            values.contains(&expected.to_owned()),
            "{expected} in {values:?}"
        );
    }
    assert!(!values.contains(&"__complete".to_owned()), "{values:?}");
    assert_eq!(directive, ":4");

    let (values, _) = complete(dir.path(), &["ru"]);
    assert_eq!(values, ["run-now"]);

    let (values, directive) = complete(dir.path(), &["run-now", "--"]);
    for expected in ["--namespace", "--context", "--wait", "--follow"] {
        assert!(
            values.contains(&expected.to_owned()),
            "{expected} in {values:?}"
        );
    }
    assert_eq!(directive, ":4");

    let (values, _) = complete(dir.path(), &["rbac", ""]);
    assert_eq!(values, ["viewer", "operator", "label-nodes", "archiver"]);
}

#[tokio::test]
async fn cronjob_names_of_the_namespace_given_with_n() {
    let ns = TestNamespace::new("complete-cronjobs").await;
    create_cronjobs(&ns, &["backup-db", "backup-files", "rotate-certs"]).await;
    let dir = umbrella_only();

    let (values, directive) = complete(dir.path(), &["-n", ns.name(), "run-now", ""]);
    assert_eq!(values, ["backup-db", "backup-files", "rotate-certs"]);
    assert_eq!(directive, ":4");

    // The namespace may follow the subcommand, and the typed prefix filters.
    let (values, _) = complete(dir.path(), &["suspend", "--namespace", ns.name(), "back"]);
    assert_eq!(values, ["backup-db", "backup-files"]);

    // The namespace flag's value itself completes to namespaces.
    let (values, _) = complete(dir.path(), &["run-now", "-n", "complete-cronjobs-"]);
    assert!(values.contains(&ns.name().to_owned()), "{values:?}");
}

#[tokio::test]
async fn thin_plugins_on_path_complete_through_their_own_link() {
    let ns = TestNamespace::new("complete-thin").await;
    create_cronjobs(&ns, &["nightly"]).await;
    // An archive install: the thin plugin is found first, so kubectl asks for
    // kubectl_complete-kuul-run_now, a link to the completer.
    let dir = plugin_dir(&[
        "kubectl-kuul",
        "kubectl-kuul-run_now",
        "kubectl_complete-kuul",
    ]);
    symlink(
        bin("kubectl_complete-kuul"),
        dir.path().join("kubectl_complete-kuul-run_now"),
    )
    .expect("link");
    let (values, directive) = complete(dir.path(), &["run-now", "-n", ns.name(), ""]);
    assert_eq!(values, ["nightly"]);
    assert_eq!(directive, ":4");
}

#[test]
fn pool_and_node_names_from_the_cluster() {
    let dir = umbrella_only();
    // The local cluster's kwok nodes: kuul-prod-1, kuul-prod-2 (prod),
    // kuul-internal-1 (internal), kuul-spare-1 (no pool). Other tests may add nodes.
    let (pools, _) = complete(dir.path(), &["label-nodes", ""]);
    assert!(pools.contains(&"prod".to_owned()), "{pools:?}");
    assert!(pools.contains(&"internal".to_owned()), "{pools:?}");
    let (pools, _) = complete(dir.path(), &["new", "x", "--pool", "pr"]);
    assert_eq!(pools, ["prod"]);

    let (nodes, directive) = complete(dir.path(), &["label-nodes", "prod", "kuul-"]);
    for node in [
        "kuul-prod-1",
        "kuul-prod-2",
        "kuul-internal-1",
        "kuul-spare-1",
    ] {
        assert!(nodes.contains(&node.to_owned()), "{node} in {nodes:?}");
    }
    assert_eq!(directive, ":4");
    let (nodes, _) = complete(dir.path(), &["label-nodes", "--remove", "kuul-spare"]);
    assert_eq!(nodes, ["kuul-spare-1"]);
}

#[test]
fn completion_install_writes_completers_that_kubectl_uses() {
    // A krew install: kubectl-kuul alone, no compiled completer.
    let dir = plugin_dir(&["kubectl-kuul"]);
    let output = Command::new(bin("kubectl-kuul"))
        .args(["completion", "install"])
        .env("PATH", path_with(dir.path()))
        .output()
        .expect("run completion install");
    assert_exit(&output, 0, "completion install");
    assert!(
        text(&output.stderr).contains("kubectl_complete-kuul"),
        "{}",
        text(&output.stderr)
    );
    assert!(dir.path().join("kubectl_complete-kuul").is_file());

    let (values, directive) = complete(dir.path(), &["run-now", "--fol"]);
    assert_eq!(values, ["--follow"]);
    assert_eq!(directive, ":4");
}

/// `krew uninstall` leaves the completers behind; `completion uninstall` removes exactly
/// what `install` wrote, says so, and exits 0 when there is nothing left.
#[test]
fn completion_uninstall_removes_what_install_wrote() {
    let dir = plugin_dir(&["kubectl-kuul", "kubectl-kuul-run_now"]);
    // A file install did not write stays.
    std::fs::write(dir.path().join("kubectl_complete-kuul-mine"), "#!/bin/sh\n").unwrap();
    let kuul = |args: &[&str]| {
        Command::new(bin("kubectl-kuul"))
            .args(args)
            .env("PATH", path_with(dir.path()))
            .output()
            .expect("run kubectl-kuul")
    };
    assert_exit(&kuul(&["completion", "install"]), 0, "completion install");
    assert!(dir.path().join("kubectl_complete-kuul").is_file());
    assert!(dir.path().join("kubectl_complete-kuul-run_now").is_file());

    let output = kuul(&["completion", "uninstall"]);
    assert_exit(&output, 0, "completion uninstall");
    let said = text(&output.stderr);
    for name in ["kubectl_complete-kuul", "kubectl_complete-kuul-run_now"] {
        assert!(!dir.path().join(name).exists(), "{name} is removed");
        assert!(
            said.contains(&format!("removed {}\n", dir.path().join(name).display())),
            "{said}"
        );
    }
    assert!(dir.path().join("kubectl_complete-kuul-mine").is_file());
    assert!(dir.path().join("kubectl-kuul").exists());

    let again = kuul(&["completion", "uninstall"]);
    assert_exit(&again, 0, "completion uninstall with nothing to remove");
    assert!(
        text(&again.stderr).contains("nothing to remove"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn completion_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubectl-kuul"),
        ("fish", "complete -c kubectl-kuul"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = Command::new(bin("kubectl-kuul"))
            .args(["completion", shell])
            .output()
            .expect("run completion");
        let script = assert_exit(&output, 0, shell);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        assert!(script.contains("run-now"), "{shell} names run-now");
    }
    let output = Command::new(bin("kubectl-kuul"))
        .args(["completion", "tcsh"])
        .output()
        .expect("run completion");
    assert_exit(&output, 2, "an unknown shell is a usage error");
}
