//! `kubectl kuul rbac` proven with real credentials: the printed roles are applied with
//! the test cluster's kubectl, bound to ServiceAccounts of a test namespace, and the
//! commands then run with tokens minted for those accounts (TokenRequest, as
//! `kubectl create token` does). A viewer reads but cannot start a run, and is told which
//! permission is missing; it runs status, history and logs; an operator does the
//! writing commands; label-nodes needs its own cluster role.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, ListParams, PostParams};
use kuul_tests::{TestNamespace, assert_exit, bin, kubeconfig, kubectl, path_with, text};
use serde_json::{Value, json};

/// Runs the test cluster's kubectl as its admin, with `stdin` piped in.
fn admin_kubectl(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(kubectl())
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("kubectl output")
}

/// `kubectl kuul rbac ARGS | kubectl apply -f -`.
fn grant(args: &[&str]) {
    let printed = Command::new(bin("kubectl-kuul"))
        .arg("rbac")
        .args(args)
        .output()
        .expect("run kubectl kuul rbac");
    let yaml = assert_exit(&printed, 0, &format!("rbac {args:?}"));
    let applied = admin_kubectl(&["apply", "-f", "-"], &yaml);
    assert_exit(
        &applied,
        0,
        &format!("kubectl apply of rbac {args:?}:\n{yaml}"),
    );
}

/// A kubeconfig for the service account `name` of `ns`, with a token from the
/// TokenRequest API, for the test cluster's server.
fn kubeconfig_for(ns: &TestNamespace, name: &str, dir: &Path) -> PathBuf {
    let token = admin_kubectl(&["create", "token", name, "-n", ns.name()], "");
    let token = assert_exit(&token, 0, "kubectl create token");
    let view = admin_kubectl(&["config", "view", "--raw", "--minify", "-o", "json"], "");
    let view: Value = serde_json::from_str(&assert_exit(&view, 0, "config view")).expect("JSON");
    let cluster = view["clusters"][0]["cluster"].clone();
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "test", "cluster": cluster }],
        "users": [{ "name": name, "user": { "token": token.trim() } }],
        "contexts": [{ "name": name, "context": {
            "cluster": "test", "user": name, "namespace": ns.name()
        } }],
        "current-context": name,
    });
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    path
}

/// `kubectl kuul ARGS` through the real kubectl with `config`'s credentials.
fn kuul_as(config: &Path, args: &[&str]) -> Output {
    let plugins = bin("kubectl-kuul");
    Command::new(kubectl())
        .arg("kuul")
        .args(args)
        .env("PATH", path_with(plugins.parent().expect("plugin folder")))
        .env("KUBECONFIG", config)
        .output()
        .expect("run kubectl kuul")
}

/// `kubectl auth can-i VERB RESOURCE` with `config`'s credentials.
fn can_i(config: &Path, verb: &str, resource: &str, namespace: &str) -> bool {
    let output = Command::new(kubectl())
        .args(["auth", "can-i", verb, resource, "-n", namespace])
        .env("KUBECONFIG", config)
        .output()
        .expect("kubectl auth can-i");
    text(&output.stdout).trim() == "yes"
}

async fn create_service_accounts(ns: &TestNamespace, names: &[&str]) {
    let api: Api<ServiceAccount> = Api::namespaced(ns.client(), ns.name());
    for name in names {
        let account: ServiceAccount =
            serde_json::from_value(json!({ "metadata": { "name": name } })).expect("SA");
        api.create(&PostParams::default(), &account)
            .await
            .expect("create ServiceAccount");
    }
}

/// Deletes the cluster-wide objects a test made (`kind/name`), also when it fails.
/// Each cluster role is used by one test only, so no other test loses it meanwhile.
struct ClusterScoped(Vec<String>);

impl Drop for ClusterScoped {
    fn drop(&mut self) {
        for object in &self.0 {
            let deleted = admin_kubectl(&["delete", object, "--ignore-not-found"], "");
            if !deleted.status.success() {
                eprintln!("warning: cannot delete {object}");
            }
        }
    }
}

#[tokio::test]
async fn viewer_reads_and_operator_changes_jobs_with_real_tokens() {
    let ns = TestNamespace::new("kuul-rbac").await;
    let name = ns.name();
    let _cluster_scoped = ClusterScoped(vec![
        format!("clusterrolebinding/kuul-viewer-nodes-{name}"),
        format!("clusterrolebinding/kuul-operator-nodes-{name}"),
        "clusterrole/kuul-viewer-nodes".to_owned(),
        "clusterrole/kuul-operator-nodes".to_owned(),
    ]);
    create_service_accounts(&ns, &["viewer", "operator"]).await;
    grant(&[
        "viewer",
        "-n",
        name,
        "--serviceaccount",
        &format!("{name}:viewer"),
    ]);
    grant(&[
        "operator",
        "-n",
        name,
        "--serviceaccount",
        &format!("{name}:operator"),
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    let viewer = kubeconfig_for(&ns, "viewer", dir.path());
    let operator = kubeconfig_for(&ns, "operator", dir.path());

    // The operator creates a job, runs it, suspends and resumes it, and prunes runs.
    let created = kuul_as(
        &operator,
        &[
            "new",
            "nightly",
            "--image",
            "kuul-base:busybox",
            "--schedule",
            "0 3 * * *",
            "--apply",
        ],
    );
    assert_exit(&created, 0, "operator: new --apply");
    let started = kuul_as(&operator, &["run-now", "nightly", "--wait"]);
    assert_exit(&started, 0, "operator: run-now --wait");

    // The viewer runs the reading commands on the operator's job and its run.
    let status = kuul_as(&viewer, &["status"]);
    assert!(assert_exit(&status, 0, "viewer: status").contains("nightly"));
    let history = kuul_as(&viewer, &["history", "nightly"]);
    assert!(assert_exit(&history, 0, "viewer: history").contains("manual"));
    // kwok serves no log for this pod, so the cluster admin gets kwok's "no logs found":
    // the viewer must get exactly that too, past RBAC (pods/log), not a forbidden.
    let logs = kuul_as(&viewer, &["logs", "nightly"]);
    let admin_logs = kuul_as(&kubeconfig(), &["logs", "nightly", "-n", name]);
    assert_eq!(
        (logs.status.code(), text(&logs.stderr)),
        (admin_logs.status.code(), text(&admin_logs.stderr)),
        "viewer: logs"
    );
    assert!(
        !text(&logs.stderr).contains("forbidden"),
        "{}",
        text(&logs.stderr)
    );

    assert_exit(
        &kuul_as(&operator, &["suspend", "nightly"]),
        0,
        "operator: suspend",
    );
    assert_exit(
        &kuul_as(&operator, &["resume", "nightly"]),
        0,
        "operator: resume",
    );
    let pruned = kuul_as(&operator, &["prune", "--include-manual", "--yes"]);
    assert_exit(&pruned, 0, "operator: prune --yes");
    let jobs: Api<Job> = Api::namespaced(ns.client(), name);
    let left = jobs.list(&ListParams::default()).await.expect("list Jobs");
    assert!(left.items.is_empty(), "prune deleted the manual run");

    // The viewer sees the version and everything status, history and logs read...
    let version = kuul_as(&viewer, &["version"]);
    assert!(assert_exit(&version, 0, "viewer: version").contains("Server Version: v1."));
    for (verb, resource) in [
        ("list", "cronjobs.batch"),
        ("watch", "cronjobs.batch"),
        ("list", "jobs.batch"),
        ("list", "pods"),
        ("get", "pods/log"),
        ("list", "nodes"),
    ] {
        assert!(
            can_i(&viewer, verb, resource, name),
            "viewer can {verb} {resource}"
        );
    }
    // ... and nothing it would change.
    for (verb, resource) in [
        ("create", "jobs.batch"),
        ("patch", "cronjobs.batch"),
        ("delete", "jobs.batch"),
        ("patch", "nodes"),
    ] {
        assert!(
            !can_i(&viewer, verb, resource, name),
            "viewer cannot {verb} {resource}"
        );
    }
    assert!(
        !can_i(&viewer, "list", "cronjobs.batch", "default"),
        "only its namespace"
    );

    // A viewer's run-now is refused with the missing permission named, not an API dump.
    let refused = kuul_as(&viewer, &["run-now", "nightly"]);
    assert_exit(&refused, 1, "viewer: run-now");
    let stderr = text(&refused.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: forbidden: User \"system:serviceaccount:{name}:viewer\" may not create jobs \"nightly-manual-"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("in namespace \"{name}\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains("system:serviceaccount"),
        "names the user: {stderr}"
    );
    assert!(stderr.contains("kubectl kuul rbac operator"), "{stderr}");
    assert!(
        !stderr.contains("is forbidden: User"),
        "no raw API message: {stderr}"
    );
    let suspended = kuul_as(&viewer, &["suspend", "nightly"]);
    assert_exit(&suspended, 1, "viewer: suspend");
}

#[tokio::test]
async fn label_nodes_needs_its_own_cluster_role() {
    let ns = TestNamespace::new("kuul-rbac-nodes").await;
    let name = ns.name();
    // A cluster-wide binding of the test's own: kuul-label-nodes may be in use.
    let binding = format!("kuul-label-nodes-{name}");
    let _cluster_scoped = ClusterScoped(vec![
        format!("clusterrolebinding/{binding}"),
        "clusterrole/kuul-label-nodes".to_owned(),
    ]);
    create_service_accounts(&ns, &["platform"]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let platform = kubeconfig_for(&ns, "platform", dir.path());

    let refused = kuul_as(&platform, &["label-nodes", "--list"]);
    assert_exit(&refused, 1, "no role: label-nodes --list");
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("forbidden"), "{stderr}");
    // It lists Nodes and CronJobs in every namespace; whichever is refused first is named
    // with a cluster-wide role that allows it.
    assert!(stderr.contains("may not list"), "{stderr}");
    assert!(stderr.contains(" --cluster` prints one"), "{stderr}");

    // The printed ClusterRole, bound under the test's own binding name.
    let printed = Command::new(bin("kubectl-kuul"))
        .args(["rbac", "label-nodes", "-o", "json"])
        .output()
        .expect("rbac label-nodes");
    let list: Value =
        serde_json::from_str(&assert_exit(&printed, 0, "rbac label-nodes")).expect("a JSON List");
    assert_eq!(list["items"][0]["kind"], "ClusterRole");
    let applied = admin_kubectl(&["apply", "-f", "-"], &list.to_string());
    assert_exit(&applied, 0, "apply the ClusterRole");
    let bound: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": { "name": binding },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "kuul-label-nodes" },
        "subjects": [{ "kind": "ServiceAccount", "name": "platform", "namespace": name }]
    }))
    .expect("binding");
    let bindings: Api<ClusterRoleBinding> = Api::all(ns.client());
    bindings
        .create(&PostParams::default(), &bound)
        .await
        .expect("bind kuul-label-nodes");

    let listed = kuul_as(&platform, &["label-nodes", "--list"]);
    let pools = assert_exit(&listed, 0, "label-nodes --list with the cluster role");
    assert!(pools.contains("prod"), "{pools}");
}
