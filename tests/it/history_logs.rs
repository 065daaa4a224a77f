//! `kubectl kuul history` and `kubectl kuul logs` against the real local cluster: runs
//! started by the `CronJob` controller and by `run-now`, told apart; each run's logs
//! (served by kwok from CRI-format files) picked with `--run`, printed with `--all`,
//! followed with `-f` while the run waits for a node; and a run whose pod is gone. Both
//! commands live only in the umbrella, so each check runs through kubectl's plugin lookup
//! and through `kubectl-kuul` itself.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kuul_tests::{
    FakeNodes, Lines, TestNamespace, Via, YEARLY, assert_exit, eventually, kuul, kuul_cronjob,
    kwok_failure, text,
};
use serde_json::{Value, json};

fn cronjob(name: &str, schedule: &str, suspend: bool, pool: &str) -> CronJob {
    let spec = json!({
        "concurrencyPolicy": "Allow",
        "successfulJobsHistoryLimit": 5,
        "failedJobsHistoryLimit": 5
    });
    kuul_cronjob(name, schedule, suspend, pool, &spec)
}

async fn create(ns: &TestNamespace, cronjob: &CronJob) {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), cronjob)
        .await
        .expect("create CronJob");
}

/// The pod of the Job `job`, once the Job controller has made it.
async fn pod_of(ns: &TestNamespace, job: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let selector = format!("batch.kubernetes.io/job-name={job}");
    eventually(
        Duration::from_secs(30),
        &format!("a pod of job {job}"),
        || async {
            let list = pods
                .list(&ListParams::default().labels(&selector))
                .await
                .expect("list pods");
            list.items.into_iter().find_map(|p| p.metadata.name)
        },
    )
    .await
}

/// Runs `logs` until its stdout is `expected` (kwok picks up new Logs objects shortly
/// after they are made).
async fn logs_eventually(ns: &TestNamespace, args: &[&str], expected: &str) {
    eventually(
        Duration::from_secs(20),
        &format!("logs {args:?} printing {expected:?}"),
        || async {
            let output = kuul(Via::Umbrella, "logs", ns, args);
            if output.status.success() && text(&output.stdout) == expected {
                return Some(());
            }
            eprintln!(
                "logs {args:?}: exit {:?}\nstdout: {}\nstderr: {}",
                output.status.code(),
                text(&output.stdout),
                text(&output.stderr)
            );
            None
        },
    )
    .await;
}

#[tokio::test]
async fn history_tells_scheduled_runs_from_manual_ones() {
    let ns = TestNamespace::new("kuul-history").await;
    create(&ns, &cronjob("tick", "* * * * *", false, "prod")).await;
    let manual = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["tick", "--name", "tick-by-hand", "--wait"],
    );
    assert_exit(&manual, 0, "run-now");

    // The controller starts a run at the next full minute.
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let scheduled = eventually(
        Duration::from_secs(75),
        "a scheduled run finished",
        || async {
            let list = jobs.list(&ListParams::default()).await.expect("list Jobs");
            list.items
                .into_iter()
                .find(|j| {
                    j.metadata.name.as_deref() != Some("tick-by-hand")
                        && j.status
                            .as_ref()
                            .and_then(|s| s.completion_time.as_ref())
                            .is_some()
                })
                .and_then(|job| job.metadata.name)
        },
    )
    .await;
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .patch(
            "tick",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "suspend": true } })),
        )
        .await
        .expect("suspend tick");

    for via in Via::FOR_UMBRELLA_COMMANDS {
        let table = assert_exit(
            &kuul(via, "history", &ns, &["tick"]),
            0,
            &format!("{via:?} history"),
        );
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("RUN ")
                && lines[0].contains("TRIGGER")
                && lines[0].contains("EXIT CODE"),
            "{table}"
        );
        let row = |run: &str| {
            *lines
                .iter()
                .find(|l| l.starts_with(run))
                .unwrap_or_else(|| panic!("no row for {run}: {table}"))
        };
        let by_hand = row("tick-by-hand");
        assert!(by_hand.contains("manual by "), "{by_hand}");
        assert!(
            by_hand.contains("Succeeded") && by_hand.contains(" kuul-prod-"),
            "{by_hand}"
        );
        let on_time = row(&scheduled);
        assert!(on_time.contains("scheduled at 20"), "{on_time}");
        assert!(on_time.contains(" UTC "), "{on_time}");
    }
    let json_out = assert_exit(
        &kuul(Via::Umbrella, "history", &ns, &["tick", "-o", "json"]),
        0,
        "json",
    );
    let records: Vec<Value> = serde_json::from_str(&json_out).expect("JSON");
    let kind = |run: &str| {
        records
            .iter()
            .find(|r| r["run"] == run)
            .map(|r| r["trigger"]["kind"].clone())
    };
    assert_eq!(kind("tick-by-hand"), Some(json!("manual")));
    assert_eq!(kind(&scheduled), Some(json!("scheduled")));
    let scheduled_record = records
        .iter()
        .find(|r| r["run"] == scheduled.as_str())
        .unwrap();
    assert!(
        scheduled_record["trigger"]["at"]
            .as_str()
            .unwrap()
            .ends_with(":00Z")
    );
    assert_eq!(scheduled_record["exitCode"], json!(0));
    // Newest first.
    assert_eq!(records[0]["run"], json!(scheduled));

    let none = kuul(Via::Umbrella, "history", &ns, &["no-such-job"]);
    assert_exit(&none, 1, "history of a missing job");
}

#[tokio::test]
async fn logs_pick_runs_print_all_and_name_the_gone() {
    let ns = TestNamespace::new("kuul-logs").await;
    create(&ns, &cronjob("report", YEARLY, true, "prod")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    for n in 1..=2 {
        let run = format!("report-run-{n}");
        let out = kuul(
            Via::Umbrella,
            "run-now",
            &ns,
            &["report", "--name", &run, "--wait"],
        );
        assert_exit(&out, 0, &run);
    }
    // The third run fails with exit code 3.
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .patch(
            "report",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "jobTemplate": { "spec": { "template": {
                "metadata": kwok_failure(3)
            }}}}})),
        )
        .await
        .expect("make report fail");
    let out = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["report", "--name", "report-run-3", "--wait"],
    );
    assert_exit(&out, 4, "the failing run");
    for n in 1..=3 {
        let pod = pod_of(&ns, &format!("report-run-{n}")).await;
        let first = format!("run {n} starts");
        let last = format!("run {n} ends");
        ns.serve_log(dir.path(), &pod, &[&first, &last]).await;
    }
    logs_eventually(&ns, &["report"], "run 3 starts\nrun 3 ends\n").await;
    logs_eventually(&ns, &["report", "--run", "2"], "run 2 starts\nrun 2 ends\n").await;
    logs_eventually(
        &ns,
        &["report", "--run", "report-run-1"],
        "run 1 starts\nrun 1 ends\n",
    )
    .await;

    for via in Via::FOR_UMBRELLA_COMMANDS {
        let newest = kuul(via, "logs", &ns, &["report", "--tail", "1"]);
        assert_eq!(
            assert_exit(&newest, 0, &format!("{via:?} --tail")),
            "run 3 ends\n"
        );
        let all = assert_exit(
            &kuul(via, "logs", &ns, &["report", "--all"]),
            0,
            &format!("{via:?} --all"),
        );
        let headers: Vec<&str> = all.lines().filter(|l| l.starts_with("=== ")).collect();
        assert_eq!(headers.len(), 3, "{all}");
        assert!(
            headers[0].starts_with("=== run report-run-1 · manual by "),
            "{all}"
        );
        assert!(headers[0].ends_with("· Succeeded ==="), "{all}");
        assert!(
            headers[2].starts_with("=== run report-run-3 ") && headers[2].ends_with("· Failed ==="),
            "{all}"
        );
        let order: Vec<&str> = all.lines().filter(|l| l.ends_with("starts")).collect();
        assert_eq!(
            order,
            ["run 1 starts", "run 2 starts", "run 3 starts"],
            "{all}"
        );
        let beyond = kuul(via, "logs", &ns, &["report", "--run", "4"]);
        assert_exit(&beyond, 1, "--run 4 of 3");
        assert!(
            text(&beyond.stderr).contains("has 3 retained runs"),
            "{}",
            text(&beyond.stderr)
        );
    }

    // A run whose pod is gone: said so, with the runs that still have logs.
    let pod = pod_of(&ns, "report-run-1").await;
    Api::<Pod>::namespaced(ns.client(), ns.name())
        .delete(&pod, &DeleteParams::default().grace_period(0))
        .await
        .expect("delete pod");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    eventually(
        Duration::from_secs(30),
        &format!("pod {pod} deleted"),
        || async {
            pods.get_opt(&pod)
                .await
                .expect("get pod")
                .is_none()
                .then_some(())
        },
    )
    .await;
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let gone = kuul(via, "logs", &ns, &["report", "--run", "report-run-1"]);
        assert_exit(&gone, 1, &format!("{via:?} gone"));
        let stderr = text(&gone.stderr);
        assert!(
            stderr.contains("run report-run-1 has no pod left"),
            "{stderr}"
        );
        assert!(
            stderr.contains("runs with logs, newest first: report-run-3, report-run-2"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn follow_waits_for_the_run_to_start_and_streams_it() {
    let ns = TestNamespace::new("kuul-logs-follow").await;
    let pool = format!("follow-{}", ns.suffix());
    create(&ns, &cronjob("late", YEARLY, true, &pool)).await;
    let out = kuul(
        Via::Umbrella,
        "run-now",
        &ns,
        &["late", "--name", "late-run"],
    );
    assert_exit(&out, 0, "run-now");
    let pod = pod_of(&ns, "late-run").await;
    let dir = tempfile::tempdir().expect("temp dir");
    ns.serve_log(dir.path(), &pod, &["waited for a node", "done"])
        .await;

    // No node is in the pool yet: the run is Pending when -f starts, and the node comes
    // only once -f has said so.
    let mut follower = Via::Umbrella
        .command("logs")
        .args(["-n", ns.name(), "late", "-f"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start logs -f");
    let mut progress = Lines::of(follower.stderr.take().expect("piped stderr"));
    progress.until(
        Duration::from_secs(30),
        "logs -f telling the run Pending",
        |line| line.contains("Pending"),
    );
    let _node = FakeNodes::create(&ns, &["follow"], &json!({ "kuul.io/pool": pool })).await;

    let output = tokio::task::spawn_blocking(move || follower.wait_with_output())
        .await
        .expect("join")
        .expect("logs -f output");
    let stderr = progress.all();
    assert_eq!(output.status.code(), Some(0), "logs -f: {stderr}");
    assert_eq!(text(&output.stdout), "waited for a node\ndone\n");
    assert!(stderr.contains("Pending"), "{stderr}");
    assert!(stderr.contains("job.batch/late-run succeeded"), "{stderr}");
}
