//! The real node of the local cluster (`kuul-real-1`, pool `real`: kubelet, containerd,
//! runc, CNI), where containers really run: the product's whole loop end to end, and the
//! failures only a real kubelet produces (image pulls, OOM kills, missing Secrets, a
//! container stopped mid-run). Images come from the local registry with its htpasswd
//! credentials, through the pod's image pull secret. Needs `tests/integration` (or
//! `make test`): the cluster with its real node, Docker and the registry.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kuul_tests::{
    REAL_NODE, TestBucket, TestNamespace, Via, YEARLY, assert_exit, bin, eventually, harness_env,
    image_cmd, image_push, kubectl_ok, kuul, status_json, text, unique, until_health,
};
use serde_json::{Value, json};
/// The image pull secret each test namespace gets.
const PULL_SECRET: &str = "kuul-registry";

/// Builds the Kuul image project in `dir` on the local base image and pushes it to
/// the local registry with its credentials; returns the pushed `REPOSITORY:VERSION`.
fn build_and_push(dir: &Path, name: &str, version: &str) -> String {
    let base = format!("BASE_IMAGE={}", harness_env("KUUL_TEST_BASE_IMAGE"));
    let build = image_cmd(dir)
        .args(["build", "--build-arg", &base])
        .output()
        .unwrap();
    assert_exit(&build, 0, "image build");
    let target = format!("{}/kuul-it", harness_env("KUUL_TEST_REGISTRY"));
    let pushed = image_push(
        dir,
        &target,
        &harness_env("KUUL_TEST_REGISTRY_USER"),
        &harness_env("KUUL_TEST_REGISTRY_PASSWORD"),
    );
    assert_exit(&pushed, 0, "image push");
    format!("{target}/{name}:{version}")
}

/// The local base image, pushed once per test process to the registry: what the tests
/// that need no image of their own run.
fn registry_busybox() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let work = tempfile::tempdir().unwrap();
        let name = unique("kuul-it-busybox");
        std::fs::write(
            work.path().join("Dockerfile"),
            format!("FROM {}\n", harness_env("KUUL_TEST_BASE_IMAGE")),
        )
        .unwrap();
        std::fs::write(
            work.path().join("kuul-image.yaml"),
            format!("name: {name}\nversion: '1'\ntests: []\n"),
        )
        .unwrap();
        build_and_push(work.path(), &name, "1")
    })
}

/// A namespace with the registry's credentials as an image pull secret.
async fn namespace(prefix: &str) -> TestNamespace {
    let ns = TestNamespace::new(prefix).await;
    let registry = harness_env("KUUL_TEST_REGISTRY");
    let (user, password) = (
        harness_env("KUUL_TEST_REGISTRY_USER"),
        harness_env("KUUL_TEST_REGISTRY_PASSWORD"),
    );
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config =
        json!({ "auths": { registry: { "username": user, "password": password, "auth": auth } } });
    let secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": PULL_SECRET },
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": { ".dockerconfigjson": config.to_string() }
    }))
    .unwrap();
    Api::<Secret>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the image pull secret");
    ns
}

/// `new NAME --apply` on the dedicated pool real with the pull secret, then `extra` and
/// the command.
fn new_job(ns: &TestNamespace, name: &str, image: &str, extra: &[&str], command: &[&str]) {
    new_job_at(ns, name, image, YEARLY, extra, command);
}

/// [`new_job`] on `schedule`.
fn new_job_at(
    ns: &TestNamespace,
    name: &str,
    image: &str,
    schedule: &str,
    extra: &[&str],
    command: &[&str],
) {
    let mut args = vec![
        name,
        "--image",
        image,
        "--schedule",
        schedule,
        "--pool",
        "real",
        // The real node is tainted for its pool: only jobs meant for it land there.
        "--dedicated",
        "--image-pull-secret",
        PULL_SECRET,
        "--apply",
    ];
    args.extend_from_slice(extra);
    if !command.is_empty() {
        args.push("--");
        args.extend_from_slice(command);
    }
    let output = kuul(Via::Umbrella, "new", ns, &args);
    assert_exit(&output, 0, "new --apply");
}

/// The newest run of `history NAME -o json`.
fn newest_run(ns: &TestNamespace, name: &str) -> Value {
    let output = kuul(Via::Umbrella, "history", ns, &[name, "-o", "json"]);
    let runs: Value = serde_json::from_str(&assert_exit(&output, 0, "history -o json")).unwrap();
    runs[0].clone()
}

/// The image's entrypoint: its `sleep 1` paces the work under test, so that a follower
/// can be seen to stream the lines as they come; the test itself does not sleep.
const TICKS: &str = r#"#!/bin/sh
# Prints a line a second for five seconds, so that a follower can be seen to stream.
set -eu
for i in 1 2 3 4 5; do
    echo "tick $i"
    sleep 1
done
if [ -w /dev/termination-log ]; then echo "ok: 5 ticks" > /dev/termination-log; fi
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_loop_runs_on_the_real_node() {
    // image init, build, test, push.
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-loop");
    let init = image_cmd(work.path())
        .args(["init", &name])
        .output()
        .unwrap();
    assert_exit(&init, 0, "image init");
    let project = work.path().join(&name);
    std::fs::write(project.join("entrypoint.sh"), TICKS).unwrap();
    std::fs::write(
        project.join("kuul-image.yaml"),
        format!(
            "name: {name}\nversion: '1'\ntests:\n  - name: ticks\n    network: none\n    expect:\n      exitCode: 0\n      stdout: {{contains: ['tick 5']}}\n      terminationMessage: {{matches: ['^ok: 5 ticks$']}}\n"
        ),
    )
    .unwrap();
    let image = build_and_push(&project, &name, "1");
    let test = image_cmd(&project).arg("test").output().unwrap();
    assert_exit(&test, 0, "image test");

    let ns = namespace("real-loop").await;
    new_job(&ns, "loop", &image, &[], &[]);

    // run-now --follow: each line arrives while the container still runs.
    let mut child = Via::Kubectl
        .command("run-now")
        .args(["-n", ns.name(), "loop", "--follow", "--timeout", "3m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<(Instant, String)> = BufReader::new(stdout)
        .lines()
        .map(|line| (Instant::now(), line.unwrap()))
        .collect();
    let followed = child.wait_with_output().unwrap();
    let stderr = text(&followed.stderr);
    assert_eq!(
        followed.status.code(),
        Some(0),
        "run-now --follow: {stderr}"
    );
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    let ticks: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|l| l.starts_with("tick "))
        .collect();
    assert_eq!(
        ticks,
        ["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"],
        "{texts:?}"
    );
    let first = lines.iter().find(|(_, l)| l == "tick 1").unwrap().0;
    let last = lines.iter().find(|(_, l)| l == "tick 5").unwrap().0;
    assert!(
        last - first >= Duration::from_secs(3),
        "the lines came together ({:?} apart), not as the container printed them",
        last - first
    );
    assert!(
        stderr.contains("kuul-real-1"),
        "progress names the node: {stderr}"
    );

    let run = newest_run(&ns, "loop");
    assert_eq!(run["result"], "Succeeded", "{run}");
    assert_eq!(run["exitCode"], 0);
    assert_eq!(run["message"], "ok: 5 ticks");
    assert_eq!(run["node"], "kuul-real-1");

    let logs = kuul(Via::Kubectl, "logs", &ns, &["loop", "--run", "1"]);
    let logged = assert_exit(&logs, 0, "logs --run 1");
    assert_eq!(logged, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");

    // The SDK runs the CronJob's container locally as the cluster ran it.
    let local = Command::new(bin("kubectl-kuul-image"))
        .args(["test", "--from-cronjob", "loop", "-n", ns.name()])
        .env("KUBECONFIG", kuul_tests::kubeconfig())
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", text(&local.stderr));
    assert_eq!(text(&local.stdout), logged);
}

#[tokio::test]
async fn an_oom_kill_is_reported_as_oomkilled_and_the_job_as_failing() {
    let ns = namespace("real-oom").await;
    new_job(
        &ns,
        "hog",
        registry_busybox(),
        &["--memory", "32Mi"],
        &["sh", "-c", "dd if=/dev/zero of=/dev/null bs=256M"],
    );
    let output = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["hog", "--wait", "--timeout", "2m"],
    );
    let stderr = text(&output.stderr);
    assert_exit(&output, 4, "run-now --wait of a run killed for memory");
    assert!(stderr.contains("OOMKilled"), "{stderr}");
    let run = newest_run(&ns, "hog");
    assert_eq!(run["result"], "Failed", "{run}");
    assert_eq!(run["reason"], "OOMKilled");
    assert_eq!(run["exitCode"], 137);
    let status = status_json(&ns, "hog");
    assert_eq!(status["health"], "failing", "{status}");
}

#[tokio::test]
async fn a_wrong_image_tag_is_blocked_naming_the_pull_error() {
    let ns = namespace("real-pull").await;
    let busybox = registry_busybox();
    let missing = format!("{}:no-such-tag", busybox.rsplit_once(':').unwrap().0);
    new_job(&ns, "typo", &missing, &[], &["echo", "never"]);
    let started = Instant::now();
    let output = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["typo", "--wait", "--blocked-timeout", "20s"],
    );
    let stderr = text(&output.stderr);
    assert_exit(
        &output,
        4,
        "run-now --wait of a run whose image cannot be pulled",
    );
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains(&format!("image {missing} cannot be pulled")),
        "{stderr}"
    );
    assert!(
        stderr.contains("ErrImagePull") || stderr.contains("ImagePullBackOff"),
        "{stderr}"
    );

    let status = until_health(&ns, "typo", "blocked").await;
    assert_eq!(status["blocked"]["kind"], "imagePull", "{status}");
    let check = kuul(Via::Kubectl, "status", &ns, &["--check"]);
    let line = assert_exit(&check, 4, "status --check");
    assert!(line.contains("typo blocked: run typo-manual-"), "{line}");
    assert!(
        line.contains("ErrImagePull") || line.contains("ImagePullBackOff"),
        "{line}"
    );
}

#[tokio::test]
async fn a_missing_secret_is_blocked_with_create_container_config_error() {
    let ns = namespace("real-secret").await;
    let cronjob: CronJob = serde_json::from_value(json!({
        "metadata": {
            "name": "needs-secret",
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": "needs-secret" }
        },
        "spec": {
            "schedule": YEARLY,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": { "labels": { "kuul.io/job": "needs-secret" } },
                "spec": { "backoffLimit": 0, "template": {
                    "metadata": { "labels": { "kuul.io/job": "needs-secret" } },
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": { "kuul.io/pool": "real" },
                        "tolerations": [{ "key": "kuul.io/pool", "operator": "Equal",
                            "value": "real", "effect": "NoSchedule" }],
                        "imagePullSecrets": [{ "name": PULL_SECRET }],
                        "containers": [{
                            "name": "work", "image": registry_busybox(),
                            "command": ["sh", "-c", "echo $DB_PASSWORD"],
                            "env": [{ "name": "DB_PASSWORD", "valueFrom": {
                                "secretKeyRef": { "name": "db-password", "key": "password" } } }]
                        }]
                    }
                }}
            }
        }
    }))
    .unwrap();
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &cronjob)
        .await
        .unwrap();
    let output = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["needs-secret", "--wait", "--blocked-timeout", "15s"],
    );
    let stderr = text(&output.stderr);
    assert_exit(
        &output,
        4,
        "run-now --wait of a run whose Secret is missing",
    );
    assert!(stderr.contains("CreateContainerConfigError"), "{stderr}");
    assert!(stderr.contains("db-password"), "{stderr}");

    let status = until_health(&ns, "needs-secret", "blocked").await;
    assert_eq!(
        status["blocked"]["reason"], "CreateContainerConfigError",
        "{status}"
    );
    let run = newest_run(&ns, "needs-secret");
    assert_eq!(run["result"], "Pending");
    assert_eq!(run["reason"], "CreateContainerConfigError");
}

#[tokio::test]
async fn suspend_stop_running_terminates_a_real_container() {
    let ns = namespace("real-stop").await;
    new_job(
        &ns,
        "long",
        registry_busybox(),
        &[],
        // The work under test: a container that runs until it is stopped (300 s is far
        // longer than the test), not a wait of the test's.
        &[
            "sh",
            "-c",
            "trap 'echo stopping; exit 143' TERM; echo started; sleep 300 & wait",
        ],
    );
    let started = kuul(Via::Umbrella, "run-now", &ns, &["long"]);
    assert_exit(&started, 0, "run-now");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let running = eventually(Duration::from_secs(90), "the pod running", || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        list.items
            .into_iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    })
    .await;
    assert_eq!(
        running.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some("kuul-real-1")
    );
    let logs = kuul(Via::Umbrella, "logs", &ns, &["long"]);
    assert_eq!(
        assert_exit(&logs, 0, "logs of the running run"),
        "started\n"
    );

    let stop = kuul(
        Via::Kubectl,
        "suspend",
        &ns,
        &["long", "--stop-running", "--reason", "test"],
    );
    assert_exit(&stop, 0, "suspend --stop-running");
    // The Job controller fails the run and has the kubelet stop the container: the pod
    // goes, the run stays, failed as stopped.
    eventually(Duration::from_secs(90), "the pod gone", || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        list.items.is_empty().then_some(())
    })
    .await;
    let run = newest_run(&ns, "long");
    assert_eq!(run["result"], "Failed", "{run}");
    assert!(
        run["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("stopped"),
        "{run}"
    );
    assert_eq!(run["stopped"]["reason"], "test", "{run}");
    let status = status_json(&ns, "long");
    assert_eq!(status["health"], "suspended", "{status}");
}

/// The sandbox image every pod of the real node runs (tests/cluster/lib.sh), so present
/// there without a registry: its process waits for SIGTERM and exits, a container that
/// runs until it is stopped.
const PAUSE_IMAGE: &str = "kuul.local/pause:1";

#[tokio::test]
async fn stop_terminates_a_real_container_and_history_shows_it_stopped() {
    kuul_tests::require_real_node().await;
    let ns = TestNamespace::new("real-stop-cmd").await;
    let args = [
        "forever",
        "--image",
        PAUSE_IMAGE,
        "--schedule",
        YEARLY,
        "--pool",
        "real",
        "--dedicated",
        "--apply",
    ];
    assert_exit(&kuul(Via::Umbrella, "new", &ns, &args), 0, "new --apply");
    let started = kuul(Via::Umbrella, "run-now", &ns, &["forever"]);
    assert_exit(&started, 0, "run-now");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let running = eventually(Duration::from_secs(90), "the container running", || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        list.items.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
                })
        })
    })
    .await;
    assert_eq!(
        running.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some(REAL_NODE)
    );
    let pod = running.metadata.name.clone().unwrap();
    let run = running
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("job-name"))
        .cloned()
        .unwrap();

    let stop = kuul(Via::Kubectl, "stop", &ns, &["forever"]);
    let stdout = assert_exit(&stop, 0, "stop");
    assert!(
        stdout.starts_with(&format!(
            "stopped run {}/{run} (cronjob forever)",
            ns.name()
        )),
        "{stdout}"
    );
    // The kubelet stopped the container: the pod is gone (a pod is removed only once
    // its containers have ended), and the run stays, failed as stopped.
    eventually(Duration::from_secs(60), "the pod gone", || async {
        pods.get_opt(&pod).await.unwrap().is_none().then_some(())
    })
    .await;
    kuul_tests::until_stopped(ns.client(), ns.name(), &run, Duration::from_secs(30)).await;
    let newest = newest_run(&ns, "forever");
    assert_eq!(newest["run"], run.as_str(), "{newest}");
    assert_eq!(newest["result"], "Failed", "{newest}");
    assert!(
        newest["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("stopped by "),
        "{newest}"
    );
    let history = kuul(Via::Umbrella, "history", &ns, &["forever"]);
    let table = assert_exit(&history, 0, "history");
    assert!(
        table.contains("Failed") && table.contains("stopped by "),
        "{table}"
    );
}

/// The archiver image, built from `images/archiver` with kuul's own SDK (prepare, build,
/// test, push), once per test process; returns the pushed reference.
fn archiver_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("archiver");
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/archiver");
        let prepared = Command::new(folder.join("prepare"))
            .arg(bin("kubectl-kuul"))
            .arg(&dir)
            .output()
            .expect("run images/archiver/prepare");
        assert_exit(&prepared, 0, "images/archiver/prepare");
        let build = image_cmd(&dir).arg("build").output().unwrap();
        assert_exit(&build, 0, "image build of the archiver");
        let test = image_cmd(&dir).arg("test").output().unwrap();
        assert_exit(&test, 0, "image test of the archiver");
        let target = format!("{}/kuul-it", harness_env("KUUL_TEST_REGISTRY"));
        let pushed = image_push(
            &dir,
            &target,
            &harness_env("KUUL_TEST_REGISTRY_USER"),
            &harness_env("KUUL_TEST_REGISTRY_PASSWORD"),
        );
        assert_exit(&pushed, 0, "image push of the archiver");
        let yaml = std::fs::read_to_string(dir.join("kuul-image.yaml")).unwrap();
        let version = yaml
            .lines()
            .find_map(|line| line.strip_prefix("version: "))
            .expect("kuul-image.yaml names a version")
            .trim()
            .to_owned();
        format!("{target}/kuul-archiver:{version}")
    })
}

/// `archive --install` on the real node: the archiver image from `images/archiver`, a
/// Kuul job running every minute that keeps one succeeded run, and an archiver every
/// minute. The `CronJob` controller deletes each run once the next one succeeds; the
/// archiver has copied it by then, logs and all.
#[tokio::test]
async fn the_installed_archiver_keeps_runs_the_history_limit_deletes() {
    let ns = namespace("kuul-archiver").await;
    let image = archiver_image();
    let bucket = TestBucket::new("archiver");
    let (key, secret) = bucket.keys();
    let credentials: Secret = serde_json::from_value(json!({
        "metadata": { "name": "kuul-archive-s3" },
        "stringData": {
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1"
        }
    }))
    .unwrap();
    Api::<Secret>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &credentials)
        .await
        .expect("create the store's Secret");
    // A run a minute, each printing a line and then taking 40 s: the next one starts
    // while it runs, and it is deleted once that one has succeeded.
    new_job_at(
        &ns,
        "ticker",
        registry_busybox(),
        "* * * * *",
        &["--history-success", "1"],
        &["sh", "-c", "echo \"tick from $(hostname)\"; sleep 40"],
    );

    let install = [
        "ticker",
        "--install",
        "--to",
        &bucket.url(),
        "--endpoint",
        bucket.endpoint(),
        "--every",
        "1m",
        "--image",
        image,
        "--secret",
        "kuul-archive-s3",
        "--pool",
        "real",
        "--dedicated",
        "--image-pull-secret",
        PULL_SECRET,
    ];
    let installed = kuul(Via::Umbrella, "archive", &ns, &install);
    let stdout = assert_exit(&installed, 0, "archive --install");
    for object in [
        "serviceaccount/kuul-archiver",
        "role.rbac.authorization.k8s.io/kuul-archiver",
        "rolebinding.rbac.authorization.k8s.io/kuul-archiver",
        "cronjob.batch/kuul-archiver",
    ] {
        assert!(
            stdout.contains(&format!("{object} serverside-applied")),
            "{stdout}"
        );
    }
    // The local cluster runs no kube-proxy, so the service address in the pod leads
    // nowhere: as in connection.rs, the archiver's pods use the host's network and the
    // API server's own address, which is also where the test store listens.
    let server = kubectl_ok(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    let address = server.trim().trim_start_matches("https://");
    let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
    let cronjobs: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    cronjobs
        .patch(
            "kuul-archiver",
            &PatchParams::default(),
            &Patch::Strategic(json!({ "spec": { "jobTemplate": { "spec": { "template": {
                "spec": {
                    "hostNetwork": true,
                    "containers": [{ "name": "kuul-archiver", "env": [
                        { "name": "KUBERNETES_SERVICE_HOST", "value": host },
                        { "name": "KUBERNETES_SERVICE_PORT", "value": port },
                    ]}]
                }
            }}}}})),
        )
        .await
        .expect("patch the archiver for the harness's network");

    // A ticker run the cluster no longer has, in the store with its log.
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let folder = format!("kwok-kuul/{}/ticker/", ns.name());
    let (run, log) = eventually(
        Duration::from_secs(360),
        "a deleted run in the store",
        || async {
            let objects = bucket.objects().await;
            for path in objects.keys() {
                let Some(run) = path
                    .strip_prefix(&folder)
                    .and_then(|rest| rest.strip_suffix("/run.json"))
                else {
                    continue;
                };
                if jobs.get_opt(run).await.ok()?.is_none() {
                    let log = bucket.get(&format!("{folder}{run}/ticker.log")).await;
                    return Some((run.to_owned(), text(&log)));
                }
            }
            None
        },
    )
    .await;
    assert!(log.starts_with("tick from "), "{run}: {log}");
    let record: Value =
        serde_json::from_slice(&bucket.get(&format!("{folder}{run}/run.json")).await).unwrap();
    assert_eq!(record["result"], "Succeeded", "{record}");
    assert_eq!(record["node"], REAL_NODE, "{record}");
    // The archiver itself is a Kuul job, seen and judged like any other.
    let archiver = newest_run(&ns, "kuul-archiver");
    assert_eq!(archiver["result"], "Succeeded", "{archiver}");
    // history reads the deleted run back from the archive.
    let mut history = Via::Umbrella.command("history");
    history.args([
        "-n",
        ns.name(),
        "ticker",
        "-o",
        "json",
        "--archive",
        &bucket.url(),
    ]);
    let history = bucket.credentials(&mut history).output().unwrap();
    let listed: Value =
        serde_json::from_str(&assert_exit(&history, 0, "history --archive")).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["run"] == run.as_str() && r["source"] == "archive"),
        "{listed}"
    );
}

/// `stop --archive` on the real node: a real container's lines, printed before the stop,
/// are in the archive after it, though the Job controller deleted its pod; `logs --run
/// --archive` reads them back, and the record says stopped by USER.
#[tokio::test]
async fn stop_archive_keeps_the_logs_of_a_real_container() {
    let ns = namespace("real-stop-archive").await;
    new_job(
        &ns,
        "chatty",
        registry_busybox(),
        &[],
        // The work under test: lines, then a run that lasts until it is stopped.
        &["sh", "-c", "echo one; echo two; sleep 300 & wait"],
    );
    let started = kuul(Via::Umbrella, "run-now", &ns, &["chatty"]);
    assert_exit(&started, 0, "run-now");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let running = eventually(Duration::from_secs(90), "the lines printed", || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        let pod = list
            .items
            .into_iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))?;
        let logs = kuul(Via::Umbrella, "logs", &ns, &["chatty"]);
        (text(&logs.stdout) == "one\ntwo\n").then_some(pod)
    })
    .await;
    let run = running
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("job-name"))
        .cloned()
        .unwrap();
    let store = tempfile::tempdir().unwrap();
    let url = store.path().display().to_string();

    let stop = kuul(Via::Kubectl, "stop", &ns, &["chatty", "--archive", &url]);
    let stdout = assert_exit(&stop, 0, "stop --archive");
    let folder = format!("kwok-kuul/{}/chatty/{run}", ns.name());
    assert!(
        stdout.contains(&format!("\narchived {folder}\n")),
        "{stdout}"
    );
    let log = std::fs::read_to_string(store.path().join(&folder).join("chatty.log")).unwrap();
    assert_eq!(log, "one\ntwo\n");
    let record: Value = serde_json::from_slice(
        &std::fs::read(store.path().join(&folder).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["result"], "Failed", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("stopped by ")),
        "{record}"
    );
    assert!(record["logsLost"].is_null(), "{record}");
    assert!(record["logsNote"].is_string(), "{record}");
    eventually(Duration::from_secs(60), "the pod gone", || async {
        let name = running.metadata.name.as_deref().unwrap();
        pods.get_opt(name).await.unwrap().is_none().then_some(())
    })
    .await;
    let logs = kuul(
        Via::Umbrella,
        "logs",
        &ns,
        &["chatty", "--run", &run, "--archive", &url],
    );
    assert_eq!(assert_exit(&logs, 0, "logs --run --archive"), "one\ntwo\n");
}
