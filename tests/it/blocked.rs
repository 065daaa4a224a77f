//! Runs that cannot start, on the kwok nodes of the local cluster: a request larger than
//! any node of the pool (the scheduler's refusal) and a `ResourceQuota` of zero pods (the
//! Job controller's `FailedCreate` events). Each must be named, with Kubernetes' own
//! message, by `new`'s fit warning, `run-now --wait` and `logs -f` (exit 4 after
//! `--blocked-timeout`), `history` (REASON) and `status` (health blocked, `--check` exit 4, `-o json`). The
//! failures only a real kubelet produces (image pulls, missing Secrets) are in
//! `real_node.rs`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ResourceQuota;
use kube::api::{Api, PostParams};
use kuul_tests::{TestNamespace, Via, YEARLY, assert_exit, kuul, text, until_health};
use serde_json::{Value, json};

/// `new NAME --apply` on pool prod with these resources; returns stderr.
fn new_job(ns: &TestNamespace, name: &str, cpu: &str, memory: &str) -> String {
    let output = kuul(
        Via::Umbrella,
        "new",
        ns,
        &[
            name,
            "--image",
            "kuul-base:busybox",
            "--schedule",
            YEARLY,
            "--pool",
            "prod",
            "--cpu",
            cpu,
            "--memory",
            memory,
            "--apply",
            "--",
            "echo",
            "hi",
        ],
    );
    assert_exit(&output, 0, "new --apply");
    text(&output.stderr)
}

/// Waits until status calls the job blocked (after the 30 s grace), then checks
/// `--check` and returns the JSON entry.
async fn until_blocked(ns: &TestNamespace, name: &str) -> Value {
    let status = until_health(ns, name, "blocked").await;
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let check = kuul(via, "status", ns, &["--check"]);
        let stdout = assert_exit(&check, 4, "status --check of a blocked job");
        assert!(
            stdout.contains(&format!("{name} blocked: run ")),
            "{stdout}"
        );
        assert!(
            text(&check.stderr).contains("1 blocked"),
            "{}",
            text(&check.stderr)
        );
    }
    status
}

/// `run-now --wait` with a short blocked timeout: exit 4 naming the cause, soon.
fn run_now_gives_up(ns: &TestNamespace, name: &str, expected: &str) {
    for via in Via::ALL {
        let started = Instant::now();
        let output = kuul(
            via,
            "run-now",
            ns,
            &[name, "--wait", "--blocked-timeout", "5s", "--force"],
        );
        let stderr = text(&output.stderr);
        assert_exit(&output, 4, "run-now --wait of a run that cannot start");
        assert!(stderr.contains(expected), "{via:?}: {stderr}");
        assert!(stderr.contains("kubectl delete job"), "{via:?}: {stderr}");
        // Told when it appears (a warning), not only at the end (the error).
        let told = stderr.find("cannot start: ");
        let ended = stderr.find("cannot start (for ");
        assert!(
            told.is_some() && ended.is_some() && told < ended,
            "{via:?}: the reason was not printed while waiting: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{via:?}: took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_request_larger_than_any_node_is_blocked_with_the_schedulers_message() {
    let ns = TestNamespace::new("blocked-cpu").await;
    let warned = new_job(&ns, "big", "64", "64Mi");
    assert!(
        warned.contains("job big requests cpu 64") && warned.contains("largest: cpu 8"),
        "new did not warn that no node fits: {warned}"
    );
    run_now_gives_up(&ns, "big", "Insufficient cpu");

    let history = kuul(Via::Umbrella, "history", &ns, &["big"]);
    let table = assert_exit(&history, 0, "history");
    assert!(
        table.contains("Pending") && table.contains("Unschedulable"),
        "{table}"
    );
    assert!(table.contains("Insufficient cpu"), "{table}");

    let status = until_blocked(&ns, "big").await;
    assert_eq!(status["blocked"]["kind"], "unschedulable", "{status}");
    assert_eq!(status["blocked"]["reason"], "Unschedulable");
    let problem = status["problem"].as_str().unwrap();
    assert!(problem.contains("cannot start for"), "{problem}");
    assert!(
        problem.contains("its pod cannot be scheduled: 0/"),
        "{problem}"
    );
    // Manual runs do not hold back the schedule under Forbid; the sentence does not say so.
    assert_eq!(status["blocked"]["blocksSchedule"], false);
    assert!(!problem.contains("no scheduled run"), "{problem}");
}

#[tokio::test]
async fn a_quota_of_zero_pods_is_blocked_with_the_quota_message() {
    let ns = TestNamespace::new("blocked-quota").await;
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": { "name": "no-pods" },
        "spec": { "hard": { "pods": "0" } }
    }))
    .unwrap();
    Api::<ResourceQuota>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &quota)
        .await
        .expect("create quota");
    let warned = new_job(&ns, "quota", "50m", "32Mi");
    assert!(
        !warned.contains("requests cpu"),
        "a small job fits: {warned}"
    );
    run_now_gives_up(&ns, "quota", "exceeded quota");

    let history = kuul(Via::Umbrella, "history", &ns, &["quota"]);
    let table = assert_exit(&history, 0, "history");
    assert!(
        table.contains("Pending") && table.contains("FailedCreate"),
        "{table}"
    );
    assert!(table.contains("exceeded quota: no-pods"), "{table}");

    // logs -f of a run that has not started for longer than the blocked timeout stops at
    // once, with the reason.
    let started = Instant::now();
    let follow = kuul(
        Via::Kubectl,
        "logs",
        &ns,
        &["quota", "-f", "--blocked-timeout", "3s"],
    );
    let stderr = text(&follow.stderr);
    assert_exit(&follow, 4, "logs -f of a run that cannot start");
    assert!(stderr.contains("exceeded quota: no-pods"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    let status = until_blocked(&ns, "quota").await;
    assert_eq!(status["blocked"]["kind"], "podNotCreated", "{status}");
    let problem = status["problem"].as_str().unwrap();
    assert!(
        problem.contains("the Job cannot create its pod (FailedCreate: pods ")
            && problem.contains("exceeded quota: no-pods"),
        "{problem}"
    );
}
