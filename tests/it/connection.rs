//! Connecting the way kubectl does, against the real API server: a ServiceAccount token
//! with `--server` and no kubeconfig at all, impersonation that RBAC judges, the TLS
//! flags, `--cluster`/`--user` picking other kubeconfig entries, client certificates
//! from flags, and kuul run in a pod on the real node with nothing but its service
//! account (in-cluster configuration).
//!
//! Grants come from `kubectl kuul rbac viewer`, applied by the cluster's admin. Only its
//! namespaced Role and RoleBinding are applied: the ClusterRole for reading Nodes is
//! shared with the rbac tests, which delete it; status goes on without Nodes (with a
//! warning), and these tests leave nothing outside their namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, LogParams, PostParams};
use kuul_tests::{
    REAL_NODE, TestNamespace, Via, YEARLY, assert_exit, bin, eventually, kubectl_ok, kuul,
    require_real_node, text,
};
use serde_json::{Value, json};

/// How the harness's admin reaches the API server, as files: its URL, the CA's
/// certificate, the admin's client certificate and key.
struct Admin {
    server: String,
    ca: PathBuf,
    certificate: PathBuf,
    key: PathBuf,
}

impl Admin {
    /// From the harness kubeconfig's current context, whose CA and client certificate
    /// are files (kwokctl writes them so).
    fn of_harness() -> Self {
        let view = kubectl_ok(&["config", "view", "--minify", "-o", "json"]);
        let view: Value = serde_json::from_str(&view).expect("kubectl config view prints JSON");
        let (cluster, user) = (&view["clusters"][0]["cluster"], &view["users"][0]["user"]);
        let file = |entry: &Value, key: &str| {
            let path = entry[key].as_str().unwrap_or_else(|| {
                panic!("the harness kubeconfig names no {key} file: these tests pass it as a flag")
            });
            PathBuf::from(path)
        };
        Self {
            server: cluster["server"].as_str().expect("the server").to_owned(),
            ca: file(cluster, "certificate-authority"),
            certificate: file(user, "client-certificate"),
            key: file(user, "client-key"),
        }
    }

    /// A kubeconfig in `dir` of `clusters` and `users` (name and entry as JSON), with one
    /// context of `cluster` and `user` in `namespace`.
    fn write_kubeconfig(
        dir: &Path,
        clusters: &[(&str, Value)],
        users: &[(&str, Value)],
        (cluster, user, namespace): (&str, &str, &str),
    ) -> PathBuf {
        let named = |entries: &[(&str, Value)], key: &str| -> Vec<Value> {
            entries
                .iter()
                .map(|(name, entry)| json!({ "name": name, key: entry }))
                .collect()
        };
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": named(clusters, "cluster"),
            "users": named(users, "user"),
            "contexts": [{ "name": "test", "context": {
                "cluster": cluster, "user": user, "namespace": namespace
            } }],
            "current-context": "test",
        });
        let path = dir.join("kubeconfig.yaml");
        std::fs::write(&path, config.to_string()).expect("write a kubeconfig");
        path
    }

    fn path(path: &Path) -> &str {
        path.to_str().expect("a UTF-8 path")
    }
}

/// `kubectl-kuul ARGS` with no configuration of its own: `KUBECONFIG` unset, a `HOME`
/// without `.kube/config`, and not in a pod, so that only the flags say where to go.
fn without_kubeconfig(home: &Path, args: &[&str]) -> Output {
    Command::new(bin("kubectl-kuul"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("run kubectl-kuul")
}

/// `kubectl-kuul ARGS` with only the kubeconfig `config`.
fn with_kubeconfig(config: &Path, args: &[&str]) -> Output {
    Command::new(bin("kubectl-kuul"))
        .args(args)
        .env("KUBECONFIG", config)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("NO_COLOR", "1")
        .output()
        .expect("run kubectl-kuul")
}

/// Grants the `kubectl kuul rbac viewer` Role of `ns` to the `grantees` (its flags,
/// e.g. `--user alice`), as the cluster's admin applies it: the namespaced documents.
fn grant_viewer(ns: &str, grantees: &[&str]) {
    let printed = Command::new(bin("kubectl-kuul"))
        .args(["rbac", "viewer", "-n", ns, "-o", "json"])
        .args(grantees)
        .output()
        .expect("run kubectl kuul rbac");
    let list: Value = serde_json::from_str(&assert_exit(&printed, 0, "rbac viewer -o json"))
        .expect("rbac prints a JSON List");
    let namespaced: Vec<Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| matches!(item["kind"].as_str(), Some("Role" | "RoleBinding")))
        .cloned()
        .collect();
    assert_eq!(namespaced.len(), 2, "a Role and its binding: {list}");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("viewer.json");
    let manifests = json!({ "apiVersion": "v1", "kind": "List", "items": namespaced });
    std::fs::write(&file, manifests.to_string()).expect("write the grant");
    kubectl_ok(&["apply", "-f", Admin::path(&file)]);
}

/// A kuul job in `ns`, made by the admin, that does not run while the test does.
fn new_job(ns: &TestNamespace, name: &str) {
    let args = [
        name,
        "--image",
        "busybox:1.36",
        "--schedule",
        YEARLY,
        "--apply",
    ];
    let made = kuul(Via::Umbrella, "new", ns, &args);
    assert_exit(&made, 0, "new --apply");
}

/// A namespace with the job `nightly` and a ServiceAccount `account`, granted the viewer
/// Role.
async fn with_viewer_account(prefix: &str, account: &str) -> TestNamespace {
    let ns = TestNamespace::new(prefix).await;
    new_job(&ns, "nightly");
    kubectl_ok(&["create", "serviceaccount", account, "-n", ns.name()]);
    let account = format!("{}:{account}", ns.name());
    grant_viewer(ns.name(), &["--serviceaccount", &account]);
    ns
}

/// Runs `command` until it exits 0 (RBAC sees a new binding within moments), then
/// returns its stdout; fails with the last output after 30 s.
async fn until_allowed(what: &str, command: impl Fn() -> Output) -> String {
    eventually(Duration::from_secs(30), what, || {
        let output = command();
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        async move {
            if output.status.success() {
                Some(stdout)
            } else {
                eprintln!("{what}: exit {:?}: {stderr}", output.status.code());
                None
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_service_account_token_and_server_need_no_kubeconfig() {
    let ns = with_viewer_account("kuul-conn-token", "ci").await;
    // A real token of the TokenRequest API, as `kubectl create token` mints it.
    let token = kubectl_ok(&["create", "token", "ci", "-n", ns.name()]);
    let token = token.trim();
    let admin = Admin::of_harness();
    let home = tempfile::tempdir().unwrap();
    let connect = [
        "-n",
        ns.name(),
        "--server",
        &admin.server,
        "--certificate-authority",
        Admin::path(&admin.ca),
        "--token",
        token,
    ];
    let status = until_allowed("status with the token", || {
        without_kubeconfig(home.path(), &[&["status"][..], &connect].concat())
    })
    .await;
    assert!(status.contains("nightly"), "{status}");

    // The token's own user is judged: a viewer may not start a run.
    let run = without_kubeconfig(
        home.path(),
        &[&["run-now", "nightly"][..], &connect].concat(),
    );
    assert_exit(&run, 1, "run-now as the viewer");
    let stderr = text(&run.stderr);
    let account = format!("system:serviceaccount:{}:ci", ns.name());
    assert!(
        stderr.contains(&format!("forbidden: User {account:?} may not create jobs")),
        "{stderr}"
    );

    // Without the CA, the server's certificate does not check out, and the hint says so.
    let untrusted = [
        "status",
        "-n",
        ns.name(),
        "--server",
        &admin.server,
        "--token",
        token,
    ];
    let untrusted = without_kubeconfig(home.path(), &untrusted);
    assert_exit(&untrusted, 1, "status without the CA");
    let stderr = text(&untrusted.stderr);
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");
    assert!(stderr.contains("--certificate-authority"), "{stderr}");

    // Without the flags there is nothing to go on, and the error says where kuul looked.
    let nothing = without_kubeconfig(home.path(), &["status", "-n", ns.name()]);
    assert_exit(&nothing, 1, "status with nothing to connect with");
    let stderr = text(&nothing.stderr);
    assert!(stderr.contains("no kubeconfig found"), "{stderr}");
    assert!(
        stderr.contains("KUBERNETES_SERVICE_HOST is not set"),
        "{stderr}"
    );
}

#[tokio::test]
async fn impersonation_is_judged_by_rbac() {
    let ns = TestNamespace::new("kuul-conn-as").await;
    new_job(&ns, "nightly");
    grant_viewer(ns.name(), &["--user", "alice", "--group", "kuul-readers"]);
    // Through kubectl, as users type it: kubectl hands every flag to the plugin.
    let status = until_allowed("status --as alice", || {
        kuul(Via::Kubectl, "status", &ns, &["--as", "alice"])
    })
    .await;
    assert!(status.contains("nightly"), "{status}");

    let run = kuul(Via::Kubectl, "run-now", &ns, &["nightly", "--as", "alice"]);
    assert_exit(&run, 1, "run-now --as alice");
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains(r#"forbidden: User "alice" may not create jobs"#),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubectl auth can-i create jobs"),
        "the hint names the verb and resource: {stderr}"
    );

    // bob is nobody, unless he acts in the group the role is bound to.
    let bob = kuul(Via::Umbrella, "status", &ns, &["--as", "bob"]);
    assert_exit(&bob, 1, "status --as bob");
    let stderr = text(&bob.stderr);
    assert!(
        stderr.contains(r#"forbidden: User "bob" may not list cronjobs"#),
        "{stderr}"
    );
    let grouped = ["--as", "bob", "--as-group", "kuul-readers"];
    let grouped = kuul(Via::Umbrella, "status", &ns, &grouped);
    assert!(assert_exit(&grouped, 0, "status --as bob --as-group").contains("nightly"));

    // A group without a user to act as is refused before anything is sent.
    let alone = kuul(
        Via::Umbrella,
        "status",
        &ns,
        &["--as-group", "kuul-readers"],
    );
    assert_exit(&alone, 2, "--as-group without --as");
    assert!(text(&alone.stderr).contains("--as-group needs --as"));
}

#[tokio::test]
async fn tls_flags_decide_how_the_server_is_checked() {
    let ns = TestNamespace::new("kuul-conn-tls").await;
    new_job(&ns, "nightly");
    let dir = tempfile::tempdir().unwrap();
    let admin = Admin::of_harness();
    // The admin's credentials, but no CA: the server's certificate cannot be checked.
    let config = Admin::write_kubeconfig(
        dir.path(),
        &[("harness", json!({ "server": admin.server }))],
        &[(
            "admin",
            json!({
                "client-certificate": Admin::path(&admin.certificate),
                "client-key": Admin::path(&admin.key),
            }),
        )],
        ("harness", "admin", ns.name()),
    );
    let untrusted = with_kubeconfig(&config, &["status"]);
    assert_exit(&untrusted, 1, "status without a CA");
    assert!(text(&untrusted.stderr).contains("invalid peer certificate"));

    let insecure = with_kubeconfig(&config, &["status", "--insecure-skip-tls-verify"]);
    assert!(assert_exit(&insecure, 0, "--insecure-skip-tls-verify").contains("nightly"));
    let checked = ["status", "--certificate-authority", Admin::path(&admin.ca)];
    let checked = with_kubeconfig(&config, &checked);
    assert!(assert_exit(&checked, 0, "--certificate-authority").contains("nightly"));

    // The certificate is checked against --tls-server-name, not the address.
    let name = |name: &str| {
        let args = [
            "status",
            "--certificate-authority",
            Admin::path(&admin.ca),
            "--tls-server-name",
            name,
        ];
        with_kubeconfig(&config, &args)
    };
    assert!(
        assert_exit(&name("kubernetes"), 0, "--tls-server-name kubernetes").contains("nightly")
    );
    let wrong = name("kuul.invalid");
    assert_exit(&wrong, 1, "--tls-server-name kuul.invalid");
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains(r#"not valid for name "kuul.invalid""#),
        "{stderr}"
    );
}

#[tokio::test]
async fn cluster_user_and_client_certificate_flags_pick_the_credentials() {
    let ns = TestNamespace::new("kuul-conn-entries").await;
    new_job(&ns, "nightly");
    let dir = tempfile::tempdir().unwrap();
    let admin = Admin::of_harness();
    let ca = Admin::path(&admin.ca);
    // The context points at a closed port with a made-up token; the kubeconfig also
    // holds the real server and the admin.
    let config = Admin::write_kubeconfig(
        dir.path(),
        &[
            (
                "closed",
                json!({ "server": "https://127.0.0.1:1", "certificate-authority": ca }),
            ),
            (
                "harness",
                json!({ "server": admin.server, "certificate-authority": ca }),
            ),
        ],
        &[
            ("stranger", json!({ "token": "not-a-real-token" })),
            (
                "admin",
                json!({
                    "client-certificate": Admin::path(&admin.certificate),
                    "client-key": Admin::path(&admin.key),
                }),
            ),
        ],
        ("closed", "stranger", ns.name()),
    );
    let closed = with_kubeconfig(&config, &["status", "--request-timeout", "5s"]);
    assert_exit(&closed, 1, "status at the closed port");
    assert!(
        text(&closed.stderr)
            .contains("cannot reach the Kubernetes API server at https://127.0.0.1:1/")
    );

    let stranger = with_kubeconfig(&config, &["status", "--cluster", "harness"]);
    assert_exit(&stranger, 1, "--cluster harness as the stranger");
    assert!(
        text(&stranger.stderr)
            .contains(r#"rejected the credentials of context "test" (Unauthorized)"#),
        "{}",
        text(&stranger.stderr)
    );
    let admin_user = ["status", "--cluster", "harness", "--user", "admin"];
    let admin_user = with_kubeconfig(&config, &admin_user);
    assert!(assert_exit(&admin_user, 0, "--cluster harness --user admin").contains("nightly"));

    let unknown = with_kubeconfig(&config, &["status", "--user", "nobody"]);
    assert_exit(&unknown, 1, "--user nobody");
    assert!(
        text(&unknown.stderr).contains(r#"user "nobody" not found in KUBECONFIG="#),
        "{}",
        text(&unknown.stderr)
    );

    // The admin's certificate from flags, instead of the stranger's token.
    let (certificate, key) = (Admin::path(&admin.certificate), Admin::path(&admin.key));
    let flags = [
        "status",
        "--cluster",
        "harness",
        "--client-certificate",
        certificate,
        "--client-key",
        key,
    ];
    let certified = with_kubeconfig(&config, &flags);
    assert!(
        assert_exit(&certified, 0, "--client-certificate and --client-key").contains("nightly")
    );
    let half = [
        "status",
        "--cluster",
        "harness",
        "--client-certificate",
        certificate,
    ];
    let half = with_kubeconfig(&config, &half);
    assert_exit(&half, 2, "--client-certificate alone");
    assert!(text(&half.stderr).contains("--client-certificate needs --client-key"));
    let missing = dir.path().join("missing.key");
    let missing = [
        "status",
        "--client-certificate",
        certificate,
        "--client-key",
        Admin::path(&missing),
    ];
    let missing = with_kubeconfig(&config, &missing);
    assert_exit(&missing, 2, "an unreadable --client-key");
    assert!(
        text(&missing.stderr).contains("cannot read --client-key"),
        "{}",
        text(&missing.stderr)
    );
}

/// kuul in a pod on the real node, with nothing but the pod's service account: no
/// kubeconfig, no flags. The debug binary is the host's, so the pod mounts it with the
/// host's libraries (the real node is this machine) into an image the node already has.
/// The local cluster runs no kube-proxy, so the service address kubelet puts into
/// `KUBERNETES_SERVICE_HOST` leads nowhere: the pod uses the host's network and names the
/// API server's own address there, the way a cluster's kube-proxy would lead to it.
#[tokio::test]
async fn in_a_pod_the_service_account_is_enough() {
    require_real_node().await;
    let ns = with_viewer_account("kuul-conn-pod", "kuul").await;
    let admin = Admin::of_harness();
    let address = admin
        .server
        .strip_prefix("https://")
        .expect("an https server")
        .trim_end_matches('/');
    let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
    let image = node_image().await;
    let binary = bin("kubectl-kuul");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "kuul-status" },
        "spec": {
            "serviceAccountName": "kuul",
            "restartPolicy": "Never",
            "hostNetwork": true,
            "nodeSelector": { "kuul.io/pool": "real" },
            "tolerations": [{
                "key": "kuul.io/pool", "operator": "Equal", "value": "real",
                "effect": "NoSchedule"
            }],
            "securityContext": { "runAsUser": 0 },
            "containers": [{
                "name": "kuul",
                "image": image,
                "imagePullPolicy": "Never",
                "command": ["/kuul/kubectl-kuul", "status"],
                "env": [
                    { "name": "KUBERNETES_SERVICE_HOST", "value": host },
                    { "name": "KUBERNETES_SERVICE_PORT", "value": port },
                    { "name": "NO_COLOR", "value": "1" },
                ],
                "volumeMounts": [
                    { "name": "kuul", "mountPath": "/kuul/kubectl-kuul", "readOnly": true },
                    { "name": "lib", "mountPath": "/lib", "readOnly": true },
                    { "name": "lib64", "mountPath": "/lib64", "readOnly": true },
                ],
            }],
            "volumes": [
                { "name": "kuul", "hostPath": { "path": binary, "type": "File" } },
                { "name": "lib", "hostPath": { "path": "/lib", "type": "Directory" } },
                { "name": "lib64", "hostPath": { "path": "/lib64", "type": "Directory" } },
            ],
        }
    }))
    .expect("a Pod");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create the pod");
    let exit_code = eventually(Duration::from_secs(120), "the pod's kuul to finish", || {
        let pods = pods.clone();
        async move {
            let pod = pods.get("kuul-status").await.ok()?;
            let status = pod.status?;
            eprintln!("pod phase {:?}", status.phase);
            let state = status.container_statuses?.first()?.state.clone()?;
            Some(state.terminated?.exit_code)
        }
    })
    .await;
    let logs = pods
        .logs("kuul-status", &LogParams::default())
        .await
        .expect("the pod's logs");
    assert_eq!(exit_code, 0, "kuul status in the pod: {logs}");
    // The table, of the pod's own namespace (from the service account), with the job.
    assert!(logs.contains("NAME"), "{logs}");
    assert!(
        logs.lines()
            .any(|line| line.starts_with("nightly ") && line.contains("0 0 1 1 *")),
        "{logs}"
    );
}

/// An image the real node already has (its pause image, which it never pulls), to run
/// the host's binary in.
async fn node_image() -> String {
    let nodes: Api<Node> = Api::all(kuul_tests::client().await);
    let node = nodes.get(REAL_NODE).await.expect("the real node");
    node.status
        .and_then(|status| status.images)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|image| image.names.unwrap_or_default())
        .find(|name| name.contains("pause"))
        .unwrap_or_else(|| panic!("{REAL_NODE} reports no pause image among its images"))
}
