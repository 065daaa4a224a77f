//! `kubectl kuul stop` against the real local cluster and its real Job controller: a run
//! in progress stopped (its Job failed as DeadlineExceeded with kuul's stop marks, its
//! pod gone, `history` saying who stopped it), "nothing running" as no error, `--run`
//! picking one of two runs, `--and-suspend` with its marks, a missing job named while the
//! rest is stopped, dry runs changing nothing, and a run the Job controller does not act
//! on reported as not stopped. Runs in progress are runs of a pool without nodes: their
//! Jobs are active, their pods pending (kwok completes pods on its nodes at once); the
//! real node's test is in `real_node.rs`.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kuul_tests::{
    TestNamespace, Via, YEARLY, active_test_run, assert_exit, eventually, kuul, kuul_cronjob,
    start_manual_run, text, until_stopped,
};
use serde_json::{Value, json};

/// The command waited for the Job controller: a stopped run is failed already, give or
/// take the read that checks it.
const SEEN: Duration = Duration::from_secs(5);

/// A kuul job whose runs stay pending (pool `nowhere` has no node).
fn new_stuck_job(namespace: &str, name: &str) {
    let args = [
        name,
        "--image",
        "kuul-base:busybox",
        "--schedule",
        YEARLY,
        "--pool",
        "nowhere",
        "--apply",
    ];
    assert_exit(
        &kuul(Via::Umbrella, "new", namespace, &args),
        0,
        "kubectl kuul new --apply",
    );
}

/// Starts the manual run `run` of `job` and waits until its Job is active (its pod
/// pending).
async fn start_run(ns: &TestNamespace, job: &str, run: &str) {
    start_manual_run(ns, job, run).await;
}

async fn pods_of(ns: &TestNamespace, run: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(ns.client(), ns.name())
        .list(&ListParams::default().labels(&format!("job-name={run}")))
        .await
        .expect("list pods")
        .items
}

/// Waits until `run` has no pod left.
async fn pods_gone(ns: &TestNamespace, run: &str) {
    eventually(Duration::from_secs(60), "the run's pods gone", || async {
        pods_of(ns, run).await.is_empty().then_some(())
    })
    .await;
}

async fn job(ns: &TestNamespace, name: &str) -> Job {
    Api::<Job>::namespaced(ns.client(), ns.name())
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get job {name}: {e}"))
}

fn active(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_none_or(|c| !c.iter().any(|c| c.status == "True"))
}

fn history(ns: &TestNamespace, name: &str) -> Vec<Value> {
    let output = kuul(Via::Umbrella, "history", ns, &[name, "-o", "json"]);
    serde_json::from_str(&assert_exit(&output, 0, "history -o json")).unwrap()
}

#[tokio::test]
async fn stop_ends_a_run_in_progress_and_history_says_who_stopped_it() {
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let ns = TestNamespace::new("stop-run").await;
        new_stuck_job(ns.name(), "stuck");
        start_run(&ns, "stuck", "stuck-manual-1").await;
        assert_eq!(pods_of(&ns, "stuck-manual-1").await.len(), 1);

        let output = kuul(via, "stop", &ns, &["stuck"]);
        let stdout = assert_exit(&output, 0, "stop");
        assert_eq!(
            stdout,
            format!("stopped run {}/stuck-manual-1 (cronjob stuck)\n", ns.name())
        );
        assert!(
            text(&output.stderr).contains("stopped 1 run(s) of 1 job(s)"),
            "{}",
            text(&output.stderr)
        );
        let stopped = until_stopped(ns.client(), ns.name(), "stuck-manual-1", SEEN).await;
        let annotations = stopped.metadata.annotations.clone().unwrap_or_default();
        assert!(
            annotations.contains_key("kuul.io/stopped-by"),
            "{annotations:?}"
        );
        assert!(
            !annotations.contains_key("kuul.io/stop-reason"),
            "{annotations:?}"
        );
        // Owned by kuul-stop, so that no other writer takes the deadline back silently.
        let managers: Vec<String> = stopped
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter(|entry| {
                entry
                    .fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0["f:spec"].get("f:activeDeadlineSeconds").is_some())
            })
            .filter_map(|entry| entry.manager.clone())
            .collect();
        assert_eq!(managers, ["kuul-stop"]);
        pods_gone(&ns, "stuck-manual-1").await;

        let runs = history(&ns, "stuck");
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0]["result"], "Failed", "{runs:?}");
        let reason = runs[0]["reason"].as_str().unwrap_or_default();
        assert!(reason.starts_with("stopped by "), "{runs:?}");
        let table = assert_exit(
            &kuul(Via::Umbrella, "history", &ns, &["stuck"]),
            0,
            "history",
        );
        assert!(table.contains("stopped by "), "{table}");

        // Again: nothing left to stop.
        let again = kuul(via, "stop", &ns, &["stuck"]);
        assert_eq!(assert_exit(&again, 0, "stop again"), "");
        assert!(
            text(&again.stderr).contains("nothing running"),
            "{}",
            text(&again.stderr)
        );
    }
}

#[tokio::test]
async fn nothing_running_is_said_and_no_error() {
    let ns = TestNamespace::new("stop-idle").await;
    new_stuck_job(ns.name(), "idle");
    let output = kuul(Via::Umbrella, "stop", &ns, &["idle"]);
    assert_eq!(assert_exit(&output, 0, "stop with nothing running"), "");
    assert!(
        text(&output.stderr).contains("nothing running"),
        "{}",
        text(&output.stderr)
    );
    let output = kuul(Via::Umbrella, "stop", &ns, &["--all"]);
    assert_exit(&output, 0, "stop --all with nothing running");
}

#[tokio::test]
async fn run_picks_one_of_two_runs() {
    let ns = TestNamespace::new("stop-one").await;
    new_stuck_job(ns.name(), "stuck");
    start_run(&ns, "stuck", "stuck-manual-1").await;
    start_run(&ns, "stuck", "stuck-manual-2").await;

    let output = kuul(
        Via::Umbrella,
        "stop",
        &ns,
        &["stuck", "--run", "stuck-manual-2"],
    );
    let stdout = assert_exit(&output, 0, "stop --run");
    assert_eq!(
        stdout,
        format!("stopped run {}/stuck-manual-2 (cronjob stuck)\n", ns.name())
    );
    until_stopped(ns.client(), ns.name(), "stuck-manual-2", SEEN).await;
    let other = job(&ns, "stuck-manual-1").await;
    assert!(active(&other), "{other:?}");
    assert!(
        other
            .spec
            .as_ref()
            .unwrap()
            .active_deadline_seconds
            .is_none()
    );
    assert_eq!(pods_of(&ns, "stuck-manual-1").await.len(), 1);

    // The run stopped is finished now: nothing to stop, and no error.
    let output = kuul(
        Via::Umbrella,
        "stop",
        &ns,
        &["stuck", "--run", "stuck-manual-2"],
    );
    assert_exit(&output, 0, "stop --run of a finished run");
    assert!(
        text(&output.stderr).contains("has failed already"),
        "{}",
        text(&output.stderr)
    );
    // A run that does not exist is an error naming it and the namespace.
    let output = kuul(Via::Umbrella, "stop", &ns, &["stuck", "--run", "stuck-x"]);
    assert_exit(&output, 1, "stop --run of no such run");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("stuck-x") && stderr.contains(ns.name()),
        "{stderr}"
    );
}

#[tokio::test]
async fn and_suspend_suspends_with_marks_then_stops() {
    let ns = TestNamespace::new("stop-suspend").await;
    new_stuck_job(ns.name(), "stuck");
    start_run(&ns, "stuck", "stuck-manual-1").await;

    let output = kuul(
        Via::Kubectl,
        "stop",
        &ns,
        &[
            "stuck",
            "--and-suspend",
            "--reason",
            "hammering the primary",
        ],
    );
    let stdout = assert_exit(&output, 0, "stop --and-suspend");
    assert_eq!(
        stdout,
        format!(
            "suspended cronjob {n}/stuck\nstopped run {n}/stuck-manual-1 (cronjob stuck)\n",
            n = ns.name()
        )
    );
    let cronjob = Api::<CronJob>::namespaced(ns.client(), ns.name())
        .get("stuck")
        .await
        .unwrap();
    assert_eq!(cronjob.spec.suspend, Some(true));
    let marks = cronjob.metadata.annotations.unwrap_or_default();
    assert_eq!(
        marks.get("kuul.io/suspend-reason").map(String::as_str),
        Some("hammering the primary")
    );
    assert!(marks.contains_key("kuul.io/suspended-by"), "{marks:?}");
    assert!(marks.contains_key("kuul.io/suspended-at"), "{marks:?}");
    let stopped = until_stopped(ns.client(), ns.name(), "stuck-manual-1", SEEN).await;
    assert_eq!(
        stopped
            .metadata
            .annotations
            .unwrap_or_default()
            .get("kuul.io/stop-reason")
            .map(String::as_str),
        Some("hammering the primary")
    );
    let runs = history(&ns, "stuck");
    assert_eq!(runs[0]["message"], "hammering the primary", "{runs:?}");
    let status = kuul_tests::status_json(ns.name(), "stuck");
    assert_eq!(status["health"], "suspended", "{status}");
}

#[tokio::test]
async fn a_missing_job_is_named_and_the_rest_is_stopped() {
    let ns = TestNamespace::new("stop-missing").await;
    new_stuck_job(ns.name(), "stuck");
    start_run(&ns, "stuck", "stuck-manual-1").await;
    let output = kuul(Via::Umbrella, "stop", &ns, &["ghost", "stuck"]);
    let stdout = assert_exit(&output, 1, "stop with a missing job");
    assert!(stdout.contains("stopped run"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(r#"cronjobs "ghost""#) && stderr.contains(ns.name()),
        "{stderr}"
    );
    until_stopped(ns.client(), ns.name(), "stuck-manual-1", SEEN).await;
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let ns = TestNamespace::new("stop-dry").await;
    new_stuck_job(ns.name(), "stuck");
    start_run(&ns, "stuck", "stuck-manual-1").await;
    for dry_run in ["--dry-run", "--dry-run=server"] {
        let output = kuul(
            Via::Umbrella,
            "stop",
            &ns,
            &["stuck", "--and-suspend", dry_run],
        );
        let stdout = assert_exit(&output, 0, dry_run);
        assert!(
            stdout.contains("would stop run") && stdout.contains("dry run)"),
            "{stdout}"
        );
    }
    let run = job(&ns, "stuck-manual-1").await;
    assert!(active(&run), "{run:?}");
    assert!(run.spec.as_ref().unwrap().active_deadline_seconds.is_none());
    let annotations = run.metadata.annotations.unwrap_or_default();
    assert!(
        !annotations.contains_key("kuul.io/stopped-at"),
        "{annotations:?}"
    );
    let cronjob = Api::<CronJob>::namespaced(ns.client(), ns.name())
        .get("stuck")
        .await
        .unwrap();
    assert_ne!(cronjob.spec.suspend, Some(true));
}

/// A Job the Job controller leaves alone (`spec.managedBy` another controller) is not
/// failed by its deadline: stop must not call it stopped.
#[tokio::test]
async fn a_run_not_failed_in_time_is_not_called_stopped() {
    let ns = TestNamespace::new("stop-unconfirmed").await;
    let cronjob = kuul_cronjob("other", YEARLY, false, "nowhere", &json!({}));
    let cronjob = Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &cronjob)
        .await
        .expect("create the CronJob");
    active_test_run(
        ns.client(),
        ns.name(),
        &cronjob,
        "other-held",
        Duration::from_secs(60),
    )
    .await;
    let output = kuul(Via::Umbrella, "stop", &ns, &["other", "--timeout", "3s"]);
    let stdout = assert_exit(&output, 1, "stop of a run nobody fails");
    assert!(!stdout.contains("stopped run"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "asked to stop run {}/other-held, but the Job controller has not marked it failed after 3s (is kube-controller-manager running?)",
            ns.name()
        )),
        "{stderr}"
    );
    let held = job(&ns, "other-held").await;
    assert!(active(&held), "{held:?}");
    // The deadline is what the run had run: about a minute.
    let deadline = held.spec.unwrap().active_deadline_seconds.unwrap();
    assert!((60..120).contains(&deadline), "{deadline}");
}

/// The run records under `dir` (a folder store), by path.
fn records(dir: &std::path::Path) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read the store folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.file_name().is_some_and(|n| n == "run.json") {
                let record = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                let below = path.strip_prefix(dir).unwrap().display().to_string();
                found.push((below, record));
            }
        }
    }
    found
}

/// `--archive`: a bad URL is refused before anything, a dry run says what it would
/// archive, and a stop writes the run's record (failed, stopped by USER, a note that its
/// logs were read at the stop) to the archive once the Job controller has failed it. The
/// pod of a run of a pool without nodes never ran: its record says so.
#[tokio::test]
async fn archive_saves_the_stopped_run_to_the_archive() {
    let ns = TestNamespace::new("stop-archive").await;
    new_stuck_job(ns.name(), "stuck");
    start_run(&ns, "stuck", "stuck-manual-1").await;
    let store = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", store.path().display());

    let bad = kuul(
        Via::Umbrella,
        "stop",
        &ns,
        &["stuck", "--archive", "gs://b/x"],
    );
    assert_exit(&bad, 2, "stop --archive with a bad URL");
    assert!(
        text(&bad.stderr).contains("invalid --archive \"gs://b/x\""),
        "{}",
        text(&bad.stderr)
    );
    let dry = kuul(
        Via::Umbrella,
        "stop",
        &ns,
        &["stuck", "--archive", &url, "--dry-run"],
    );
    let stdout = assert_exit(&dry, 0, "stop --archive --dry-run");
    assert_eq!(
        stdout,
        format!(
            "would stop run {}/stuck-manual-1 (cronjob stuck) and archive it to {} (dry run)\n",
            ns.name(),
            store.path().display()
        )
    );
    assert!(active(&job(&ns, "stuck-manual-1").await));
    assert!(records(store.path()).is_empty());

    let output = kuul(Via::Umbrella, "stop", &ns, &["stuck", "--archive", &url]);
    let stdout = assert_exit(&output, 0, "stop --archive");
    let folder = format!("kwok-kuul/{}/stuck/stuck-manual-1", ns.name());
    assert_eq!(
        stdout,
        format!(
            "stopped run {}/stuck-manual-1 (cronjob stuck)\narchived {folder} (no logs: container stuck never ran)\n",
            ns.name()
        )
    );
    assert!(
        text(&output.stderr).contains(&format!(
            "stopped 1 run(s) of 1 job(s); archived 1 to {}",
            store.path().display()
        )),
        "{}",
        text(&output.stderr)
    );
    let records = records(store.path());
    assert_eq!(records.len(), 1, "{records:?}");
    let (path, record) = &records[0];
    assert_eq!(path, &format!("{folder}/run.json"));
    assert_eq!(record["result"], "Failed", "{record}");
    assert!(
        record["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("stopped by ")),
        "{record}"
    );
    assert!(record["stopped"]["at"].is_string(), "{record}");
    assert!(
        record["logsNote"]
            .as_str()
            .is_some_and(|n| n.starts_with("read by kubectl kuul stop at ")),
        "{record}"
    );
    assert_eq!(record["logsLost"], "container stuck never ran", "{record}");
    // The same as history says of it.
    let run = &history(&ns, "stuck")[0];
    assert_eq!(run["reason"], record["reason"], "{run}");
    // Stopped already: a second stop has nothing to do and archives nothing again.
    let again = kuul(Via::Umbrella, "stop", &ns, &["stuck", "--archive", &url]);
    assert_exit(&again, 0, "stop --archive again");
}
