//! kuul under API Priority and Fairness throttling, for real: a ServiceAccount of the
//! test's namespace gets a priority level of its own with one concurrency share and no
//! queue (`tests/cluster/throttle`), so that whatever of its requests finds no free seat
//! is rejected by the API server with 429 and a Retry-After; nobody else is affected. An
//! `apply` of 100 jobs as that account succeeds, and `run-now` under a load that keeps
//! the account's seats taken starts exactly the runs it was asked for. The API server's
//! own metrics prove that requests were rejected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kuul_tests::{
    TestNamespace, Throttled, Via, YEARLY, assert_exit, kubeconfig, rejected_requests, text,
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

// Two threads: the load runs while the test waits for run-now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_starts_exactly_one_run_each_time_while_throttled() {
    const RUNS: usize = 3;
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
    let rejected_before = rejected_requests(&kubeconfig(), &throttled.priority_level());

    // Keep the account's few seats taken: reads of its own, as fast as they are answered.
    let stop = Arc::new(AtomicBool::new(false));
    let load = load(&throttled, &stop).await;
    let mut throttled_runs = 0;
    for n in 0..RUNS {
        let name = format!("once-{n}");
        let output = as_throttled(&throttled, "run-now", &["once", "--name", &name]);
        let stdout = assert_exit(&output, 0, &format!("run-now {name}"));
        assert_eq!(stdout, format!("job.batch/{name} created\n"));
        let stderr = text(&output.stderr);
        throttled_runs += usize::from(stderr.contains("answered 429 Too Many Requests"));
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("the load ends");
    }

    let rejected = rejected_requests(&kubeconfig(), &throttled.priority_level()) - rejected_before;
    eprintln!(
        "the API server rejected {rejected} requests of the account with 429; \
         {throttled_runs} of {RUNS} run-now retried"
    );
    assert!(throttled_runs > 0, "run-now was never throttled");
    let jobs = Api::<Job>::namespaced(ns.client(), ns.name())
        .list(&ListParams::default().labels("kuul.io/job=once"))
        .await
        .expect("list Jobs");
    let mut names: Vec<String> = jobs
        .items
        .iter()
        .filter_map(|job| job.metadata.name.clone())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..RUNS).map(|n| format!("once-{n}")).collect();
    assert_eq!(names, expected, "exactly one Job per run-now");
    let mut ids: Vec<&String> = jobs
        .items
        .iter()
        .filter_map(|job| job.metadata.annotations.as_ref()?.get("kuul.io/run-id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RUNS, "each run has its own id");
}

/// Tasks that list the account's CronJobs over and over, twelve at a time, until `stop`.
async fn load(throttled: &Throttled, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    let config = Kubeconfig::read_from(throttled.kubeconfig()).expect("the throttled kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .expect("a client config");
    // The load takes its 429s as they come.
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("a client");
    let namespace = client.default_namespace().to_owned();
    (0..12)
        .map(|_| {
            let api: Api<CronJob> = Api::namespaced(client.clone(), &namespace);
            let stop = Arc::clone(stop);
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if api.list(&ListParams::default()).await.is_err() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect()
}
