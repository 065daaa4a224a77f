//! kuul under API Priority and Fairness throttling, for real: a ServiceAccount of the
//! test's namespace gets a priority level of its own with one concurrency share and no
//! queue (`tests/cluster/throttle`), so that whatever of its requests finds no free seat
//! is rejected by the API server with 429 and a Retry-After; nobody else is affected. An
//! `apply` of 100 jobs as that account succeeds, and `run-now` while every seat of the
//! account is taken (by creates a webhook holds) starts exactly one run once seats free
//! up. The API server's own metrics prove that requests were rejected.

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kuul_tests::{
    TestNamespace, Throttled, Via, YEARLY, assert_exit, eventually, kubeconfig, kubectl_ok,
    priority_level_metric, rejected_requests, text,
};
use serde_json::json;

/// `kubectl kuul COMMAND ARGS` as the throttled account.
fn as_throttled(throttled: &Throttled, command: &str, args: &[&str]) -> std::process::Output {
    Via::Umbrella
        .command(command)
        .env("KUBECONFIG", throttled.kubeconfig())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run kubectl kuul {command}: {e}"))
}

#[tokio::test]
async fn apply_of_100_jobs_succeeds_while_the_api_server_rejects_requests() {
    const JOBS: usize = 100;
    let ns = TestNamespace::new("faults-apply-throttled").await;
    let throttled = Throttled::new(&ns, "kuul-apply");
    let rejected_before = rejected_requests(&kubeconfig(), &throttled.priority_level());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut file =
        "set: throttled\ndefaults:\n  image: kuul-base:busybox\n  pool: internal\njobs:\n"
            .to_owned();
    for n in 0..JOBS {
        file.push_str(&format!("  - name: job-{n:03}\n    schedule: '{YEARLY}'\n"));
    }
    std::fs::write(dir.path().join("jobs.yaml"), file).expect("write the jobs file");

    let output = as_throttled(
        &throttled,
        "apply",
        &["-f", dir.path().to_str().expect("utf-8 path")],
    );
    let stderr = text(&output.stderr);
    assert_exit(&output, 0, "apply as the throttled account");
    let rejected = rejected_requests(&kubeconfig(), &throttled.priority_level()) - rejected_before;
    eprintln!("the API server rejected {rejected} of apply's requests with 429; stderr: {stderr}");
    assert!(rejected > 0, "nothing was throttled");
    assert!(
        stderr.contains("the API server answered 429 Too Many Requests; retrying"),
        "{stderr}"
    );
    let cronjobs = Api::<CronJob>::namespaced(ns.client(), ns.name())
        .list(&ListParams::default().labels("kuul.io/set=throttled"))
        .await
        .expect("list CronJobs");
    assert_eq!(cronjobs.items.len(), JOBS);
}

/// `run-now` while every seat of its account's priority level is taken (by creates that a
/// webhook holds, [`SlowCreates`]): its requests are rejected with 429 until the seats
/// free up, it retries them, and it starts exactly one run.
// Two threads: the held creates wait for their answers while the test waits for run-now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_starts_exactly_one_run_while_throttled() {
    let ns = TestNamespace::new("faults-run-now-throttled").await;
    let cronjob: CronJob = serde_json::from_value(json!({
        "metadata": {
            "name": "once",
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": "once" }
        },
        "spec": {
            "schedule": YEARLY, "suspend": true, "concurrencyPolicy": "Allow",
            "jobTemplate": { "spec": { "backoffLimit": 0, "template": {
                "metadata": { "labels": { "kuul.io/job": "once" } },
                "spec": { "restartPolicy": "Never", "nodeSelector": { "kuul.io/pool": "prod" },
                    "containers": [{ "name": "work", "image": "kuul-base:busybox" }] }
            }}}
        }
    }))
    .expect("a valid CronJob");
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &cronjob)
        .await
        .expect("create the CronJob");
    let throttled = Throttled::new(&ns, "kuul-run-now");
    let slow = SlowCreates::new(&ns).await;
    let level = throttled.priority_level();
    let rejected_before = rejected_requests(&kubeconfig(), &level);

    let held = slow.take_every_seat(&throttled, &level).await;
    let started = Instant::now();
    let output = as_throttled(&throttled, "run-now", &["once", "--name", "once-run"]);
    let took = started.elapsed();
    let stdout = assert_exit(&output, 0, "run-now while throttled");
    assert_eq!(stdout, "job.batch/once-run created\n");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the API server answered 429 Too Many Requests; retrying"),
        "{stderr}"
    );
    for create in held {
        create.await.expect("a held create ends");
    }
    let rejected = rejected_requests(&kubeconfig(), &level) - rejected_before;
    eprintln!(
        "run-now had {rejected} requests rejected with 429 and started its run after {took:?}"
    );
    assert!(rejected > 0);

    let jobs = Api::<Job>::namespaced(ns.client(), ns.name())
        .list(&ListParams::default().labels("kuul.io/job=once"))
        .await
        .expect("list Jobs");
    let names: Vec<Option<String>> = jobs.items.iter().map(|j| j.metadata.name.clone()).collect();
    assert_eq!(names, [Some("once-run".to_owned())], "exactly one run");
}

/// How long a held create keeps its seat: the webhook's timeout.
const HOLD: Duration = Duration::from_secs(8);

/// Creates of ConfigMaps labelled `kuul.io/test-slow` in one namespace that take [`HOLD`]
/// each: a validating webhook that matches only them points at a socket that accepts
/// connections and never answers, and with `failurePolicy: Ignore` the create goes
/// through when the call times out. The webhook is removed on drop.
struct SlowCreates {
    name: String,
    namespace: String,
    _silent: std::net::TcpListener,
}

impl SlowCreates {
    async fn new(ns: &TestNamespace) -> Self {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a local socket");
        let port = silent.local_addr().expect("its address").port();
        let name = format!("kuul-test-slow-{}", ns.name());
        let manifest = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": { "name": name },
            "webhooks": [{
                "name": "slow.kuul.io",
                "clientConfig": { "url": format!("https://127.0.0.1:{port}/") },
                "rules": [{ "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"] }],
                "namespaceSelector": { "matchLabels": {
                    "kubernetes.io/metadata.name": ns.name() } },
                "objectSelector": { "matchLabels": { "kuul.io/test-slow": "true" } },
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": HOLD.as_secs()
            }]
        });
        let path = std::env::temp_dir().join(format!("{name}.json"));
        std::fs::write(&path, manifest.to_string()).expect("write the webhook manifest");
        kubectl_ok(&["apply", "-f", path.to_str().expect("utf-8 temp path")]);
        let slow = Self {
            name,
            namespace: ns.name().to_owned(),
            _silent: silent,
        };
        // The API server calls a new webhook a moment after it is made.
        let configmaps: Api<ConfigMap> = Api::namespaced(ns.client(), ns.name());
        let probe = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        eventually(
            Duration::from_secs(60),
            "the webhook holding creates",
            || async {
                let started = Instant::now();
                let _ = configmaps.create(&probe, &slow.config_map("probe")).await;
                (started.elapsed() >= HOLD / 2).then_some(())
            },
        )
        .await;
        slow
    }

    fn config_map(&self, name: &str) -> ConfigMap {
        serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "kuul.io/test-slow": "true" } }
        }))
        .expect("a valid ConfigMap")
    }

    /// Sends held creates as the throttled account until they take every seat of its
    /// priority level `level`; returns them, to be awaited once they are no longer needed.
    async fn take_every_seat(
        &self,
        throttled: &Throttled,
        level: &str,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let config = Kubeconfig::read_from(throttled.kubeconfig()).expect("its kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
            .await
            .expect("a client config");
        let client = kube::Client::try_from(config).expect("a client");
        let seats = 3;
        let creates = (0..seats)
            .map(|n| {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &self.namespace);
                let config_map = self.config_map(&format!("held-{n}"));
                tokio::spawn(async move {
                    let _ = api.create(&PostParams::default(), &config_map).await;
                })
            })
            .collect();
        eventually(Duration::from_secs(30), "every seat taken", || async {
            let executing = priority_level_metric(
                &kubeconfig(),
                "apiserver_flowcontrol_current_executing_requests",
                level,
            );
            (executing >= seats).then_some(())
        })
        .await;
        creates
    }
}

impl Drop for SlowCreates {
    fn drop(&mut self) {
        let _ = std::process::Command::new(kuul_tests::kubectl())
            .env("KUBECONFIG", kubeconfig())
            .args([
                "delete",
                "validatingwebhookconfiguration",
                &self.name,
                "--ignore-not-found",
            ])
            .output();
    }
}
