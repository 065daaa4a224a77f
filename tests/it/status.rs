//! `kubectl kuul status` against the real local cluster: every health state produced for
//! real, `--check` exit codes, filters, output formats, and next run times checked against
//! an independent computation. status lives only in the umbrella, so each check runs
//! through kubectl's plugin lookup and through `kubectl-kuul` itself.
//!
//! How each state is made:
//! - failing: a run whose pod fails with exit code 3 (kwok's failure stage labels);
//! - suspended: `spec.suspend: true`;
//! - unschedulable: a nodeSelector to a pool no node is in;
//! - stuck: a Job of the `CronJob` with `spec.managedBy` set to a name of the test's, so
//!   the Job controller leaves it alone, whose status the test writes: started two hours
//!   ago, still active, past the template's `activeDeadlineSeconds`;
//! - overdue: a `CronJob` scheduled every minute whose Jobs an admission policy refuses,
//!   so the real controller misses its starts; status reports it once the first start is
//!   more than the 60 s grace late.

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use k8s_openapi::api::batch::v1::CronJob;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kuul_tests::{
    AdmissionDenial, Lines, TestNamespace, Via, YEARLY, active_test_run, assert_exit, kuul,
    kwok_failure, merged, text,
};
use serde_json::{Value, json};

fn cronjob(name: &str, schedule: &str, spec: &Value, pod: &Value) -> CronJob {
    let mut value = json!({
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": name }
        },
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": { "labels": { "kuul.io/job": name } },
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 600,
                    "template": {
                        "metadata": {
                            "labels": merged(&json!({ "kuul.io/job": name }), &pod["labels"]),
                            "annotations": pod["annotations"].clone()
                        },
                        "spec": {
                            "restartPolicy": "Never",
                            "nodeSelector": pod.get("nodeSelector").cloned()
                                .unwrap_or(json!({ "kuul.io/pool": "prod" })),
                            "containers": [{
                                "name": "work",
                                "image": "kuul-base:busybox",
                                "command": ["/bin/sh", "-c", "echo work"]
                            }]
                        }
                    }
                }
            }
        }
    });
    let spec_obj = value["spec"].as_object_mut().expect("spec");
    if let Some(extra) = spec.as_object() {
        spec_obj.extend(extra.clone());
    }
    serde_json::from_value(value).expect("a valid CronJob")
}

async fn create(ns: &TestNamespace, cronjob: &CronJob) -> CronJob {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), cronjob)
        .await
        .expect("create CronJob")
}

/// Health of each job in `status -o json`, by name.
fn healths(ns: &TestNamespace, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    let output = kuul(Via::Umbrella, "status", ns, &all);
    let stdout = text(&output.stdout);
    let value: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    value
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["health"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until the policy is enforced: a server dry run of an `overdue-` Job is denied.
async fn until_jobs_denied(denial: &AdmissionDenial, namespace: &str) {
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": { "name": "overdue-probe" },
        "spec": { "template": { "spec": { "restartPolicy": "Never",
            "containers": [{ "name": "c", "image": "kuul-base:busybox" }] } } }
    });
    let path = std::env::temp_dir().join(format!("{namespace}-probe.json"));
    std::fs::write(&path, job.to_string()).expect("write probe");
    let path = path.to_str().expect("utf-8 temp path");
    denial
        .until_enforced(&["-n", namespace, "create", "--dry-run=server", "-f", path])
        .await;
}

#[tokio::test]
async fn every_health_state_for_real_and_check_exit_codes() {
    let ns = TestNamespace::new("kuul-status-health").await;
    // The overdue job goes first: its first start is the one the test waits for.
    // Refuses every Job named overdue-*, so the controller's starts of `overdue` fail.
    let denial = AdmissionDenial::new(
        ns.name(),
        "CREATE",
        "jobs",
        "!object.metadata.name.startsWith('overdue-')",
        "overdue runs are refused by the test",
    );
    until_jobs_denied(&denial, ns.name()).await;
    let overdue = create(
        &ns,
        &cronjob(
            "overdue",
            "* * * * *",
            &json!({ "startingDeadlineSeconds": 10 }),
            &json!({}),
        ),
    )
    .await;
    create(&ns, &cronjob("healthy", YEARLY, &json!({}), &json!({}))).await;
    create(
        &ns,
        &cronjob("failing", YEARLY, &json!({}), &kwok_failure(3)),
    )
    .await;
    create(
        &ns,
        &cronjob("paused", YEARLY, &json!({ "suspend": true }), &json!({})),
    )
    .await;
    let nowhere = json!({ "nodeSelector": { "kuul.io/pool": "nowhere" } });
    create(&ns, &cronjob("homeless", YEARLY, &json!({}), &nowhere)).await;
    let stuck = create(&ns, &cronjob("stuck", YEARLY, &json!({}), &json!({}))).await;
    active_test_run(
        ns.client(),
        ns.name(),
        &stuck,
        "stuck-manual-run",
        Duration::from_secs(7200),
    )
    .await;

    let ran = kuul(Via::Umbrella, "run-now", &ns, &["failing", "--wait"]);
    assert_exit(&ran, 4, "the failing job's run");
    let ran = kuul(Via::Umbrella, "run-now", &ns, &["healthy", "--wait"]);
    assert_exit(&ran, 0, "the healthy job's run");

    // The overdue job's first start is due at the minute after its creation; the
    // controller's attempt is refused, and 60 s later status calls it overdue.
    let created = overdue
        .metadata
        .creation_timestamp
        .as_ref()
        .unwrap()
        .0
        .as_second();
    let due = (created / 60 + 1) * 60;
    let wait = due + 60 + 3 - Utc::now().timestamp();
    if let Ok(wait) = u64::try_from(wait) {
        // Time passing, not a wait for a condition: overdue is a verdict on the clock,
        // due only once the grace has run out, and nothing in the cluster changes then.
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }

    let expected = [
        ("failing", "failing"),
        ("healthy", "ok"),
        ("homeless", "unschedulable"),
        ("overdue", "overdue"),
        ("paused", "suspended"),
        ("stuck", "stuck"),
    ];
    let as_owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(healths(&ns, &[]), as_owned(&expected));

    for via in Via::FOR_UMBRELLA_COMMANDS {
        let table = assert_exit(
            &kuul(via, "status", &ns, &[]),
            0,
            &format!("{via:?} status"),
        );
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME "), "{table}");
        assert!(lines[0].trim_end().ends_with("RECENT   HEALTH"), "{table}");
        for (name, health) in expected {
            let row = lines
                .iter()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{via:?}: no row for {name}: {table}"));
            assert!(row.trim_end().ends_with(health), "{via:?} {row}");
        }
        let failing = lines.iter().find(|l| l.starts_with("failing ")).unwrap();
        // Not a terminal: the RECENT strip in ASCII.
        assert!(failing.contains(" x "), "{failing}");
        let healthy = lines.iter().find(|l| l.starts_with("healthy ")).unwrap();
        assert!(healthy.contains(" + "), "{healthy}");
        let paused = lines.iter().find(|l| l.starts_with("paused ")).unwrap();
        assert!(paused.contains(" yes "), "{paused}");

        let check = kuul(via, "status", &ns, &["--check"]);
        let problems = assert_exit(&check, 4, &format!("{via:?} status --check"));
        let mut named: Vec<&str> = problems
            .lines()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        named.sort_unstable();
        assert_eq!(
            named,
            ["failing", "homeless", "overdue", "stuck"],
            "{problems}"
        );
        assert!(
            problems.contains("failing failing: run failing-manual-")
                && problems.contains("exit code 3"),
            "{problems}"
        );
        assert!(
            // Started two hours ago: kubectl writes 120 to 179 minutes as minutes.
            problems.contains("stuck stuck: run stuck-manual-run has been active 12")
                && problems.contains("m, past its deadline of 600s"),
            "{problems}"
        );
        assert!(
            problems.contains("no ready node in pool \"nowhere\""),
            "{problems}"
        );
        assert!(problems.contains("no run ever started"), "{problems}");
        let stderr = text(&check.stderr);
        assert!(
            stderr.contains(
                "4 of 6 jobs need attention: 1 failing, 1 overdue, 1 stuck, 1 unschedulable"
            ),
            "{stderr}"
        );

        let calm = kuul(via, "status", &ns, &["healthy", "paused", "--check"]);
        assert_eq!(assert_exit(&calm, 0, &format!("{via:?} calm --check")), "");
    }

    // The alias, filters and other formats.
    let listed = kuul(Via::Umbrella, "list", &ns, &["-o", "name"]);
    assert_eq!(
        assert_exit(&listed, 0, "list -o name").lines().count(),
        6,
        "{}",
        text(&listed.stdout)
    );
    assert_eq!(
        healths(&ns, &["--pool", "nowhere"]),
        as_owned(&[("homeless", "unschedulable")])
    );
    let wide = assert_exit(
        &kuul(Via::Umbrella, "status", &ns, &["-o", "wide", "healthy"]),
        0,
        "wide",
    );
    assert!(
        wide.contains("kuul-base:busybox") && wide.contains("600s"),
        "{wide}"
    );
    let yaml = assert_exit(
        &kuul(Via::Umbrella, "status", &ns, &["-o", "yaml", "stuck"]),
        0,
        "yaml",
    );
    assert!(yaml.contains("health: stuck"), "{yaml}");
    let missing = kuul(Via::Umbrella, "status", &ns, &["healthy", "no-such-job"]);
    assert_exit(&missing, 1, "a missing name");
    assert!(
        text(&missing.stderr).contains("no-such-job"),
        "{}",
        text(&missing.stderr)
    );
    let all = assert_exit(
        &kuul(
            Via::Umbrella,
            "status",
            &ns,
            &["-A", "-l", "kuul.io/job=stuck"],
        ),
        0,
        "-A",
    );
    assert!(all.starts_with("NAMESPACE "), "{all}");
    assert!(all.contains(ns.name()), "{all}");
}

#[tokio::test]
async fn bad_input_exits_2_before_reading_the_cluster() {
    let ns = TestNamespace::new("kuul-status-input").await;
    for (command, args) in [
        ("status", &["Bad_Name"][..]),
        ("status", &["-l", "a in ("]),
        ("status", &["--pool", "Not A Pool"]),
        ("status", &["--watch", "-o", "json"]),
        ("history", &["Bad_Name"]),
        ("logs", &["backup", "--run", "0"]),
        ("logs", &["backup", "--since", "soon"]),
        ("logs", &["backup", "-f", "--all"]),
    ] {
        for via in Via::FOR_UMBRELLA_COMMANDS {
            let output = kuul(via, command, &ns, args);
            assert_exit(&output, 2, &format!("{via:?} {command} {args:?}"));
        }
    }
}

/// The first minute strictly after `after` whose local wall-clock time in `zone` matches
/// `minute hour day month` (each `None` for `*`), found by stepping through every minute:
/// a schedule time that a spring-forward gap skips never matches, one in a repeated
/// autumn hour matches at its first occurrence.
fn next_by_brute_force(zone: Tz, after: DateTime<Utc>, fields: [Option<u32>; 4]) -> DateTime<Utc> {
    let start = after.timestamp() / 60 + 1;
    for minute in start..start + 60 * 24 * 366 * 2 {
        let at = Utc.timestamp_opt(minute * 60, 0).unwrap();
        let local = at.with_timezone(&zone);
        let wall = [local.minute(), local.hour(), local.day(), local.month()];
        if fields
            .iter()
            .zip(wall)
            .all(|(f, w)| f.is_none_or(|f| f == w))
        {
            return at;
        }
    }
    panic!("no match within two years");
}

#[tokio::test]
async fn next_runs_match_an_independent_computation_across_zones_and_dst() {
    let ns = TestNamespace::new("kuul-status-next").await;
    // (name, schedule, zone, fields): daily and hourly runs, and runs on the days the
    // clocks change in Europe and the US (02:30 on the last Sunday of March 2027 does
    // not exist in Berlin; 01:30 on 7 November 2027 happens twice in New York).
    let cases: [(&str, &str, &str, [Option<u32>; 4]); 6] = [
        (
            "daily-berlin",
            "0 2 * * *",
            "Europe/Berlin",
            [Some(0), Some(2), None, None],
        ),
        (
            "hourly-kolkata",
            "15 * * * *",
            "Asia/Kolkata",
            [Some(15), None, None, None],
        ),
        (
            "daily-utc",
            "45 23 * * *",
            "Etc/UTC",
            [Some(45), Some(23), None, None],
        ),
        (
            "spring-gap",
            "30 2 28 3 *",
            "Europe/Berlin",
            [Some(30), Some(2), Some(28), Some(3)],
        ),
        (
            "autumn-repeat",
            "30 1 7 11 *",
            "America/New_York",
            [Some(30), Some(1), Some(7), Some(11)],
        ),
        (
            "sydney-april",
            "0 2 4 4 *",
            "Australia/Sydney",
            [Some(0), Some(2), Some(4), Some(4)],
        ),
    ];
    for (name, schedule, zone, _) in &cases {
        create(
            &ns,
            &cronjob(name, schedule, &json!({ "timeZone": zone }), &json!({})),
        )
        .await;
    }
    let before = Utc::now();
    let output = kuul(Via::Umbrella, "status", &ns, &["-o", "json"]);
    let after = Utc::now();
    let stdout = assert_exit(&output, 0, "status -o json");
    let statuses: Vec<Value> = serde_json::from_str(&stdout).expect("JSON");
    for (name, _, zone, fields) in cases {
        let zone: Tz = zone.parse().unwrap();
        let status = statuses
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {stdout}"));
        let next: DateTime<Utc> = status["nextRun"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("{name}: no nextRun: {status}"))
            .to_utc();
        let candidates = [
            next_by_brute_force(zone, before, fields),
            next_by_brute_force(zone, after, fields),
        ];
        assert!(
            candidates.contains(&next),
            "{name}: status says {next}, brute force says {candidates:?}"
        );
        assert!(next.year() <= before.year() + 2, "{name}: {next}");
    }
}

#[tokio::test]
async fn watch_prints_a_new_table_per_change_when_not_on_a_terminal() {
    let ns = TestNamespace::new("kuul-status-watch").await;
    create(&ns, &cronjob("nightly", YEARLY, &json!({}), &json!({}))).await;
    let mut watcher = Via::Umbrella
        .command("status")
        .args(["-n", ns.name(), "--watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start status --watch");
    let mut rows = Lines::of(watcher.stdout.take().expect("piped stdout"));
    let mut next_row = |name: &str| -> String {
        rows.until(
            Duration::from_secs(30),
            &format!("a new row for {name}"),
            |line| line.starts_with(&format!("{name} ")),
        )
    };
    let first = next_row("nightly");
    assert!(first.trim_end().ends_with(" ok"), "{first}");

    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .patch(
            "nightly",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "suspend": true } })),
        )
        .await
        .expect("suspend nightly");
    let second = next_row("nightly");
    assert!(second.trim_end().ends_with(" suspended"), "{second}");

    create(&ns, &cronjob("added", YEARLY, &json!({}), &json!({}))).await;
    let third = next_row("added");
    assert!(third.trim_end().ends_with(" ok"), "{third}");
    watcher.kill().expect("stop status --watch");
    let _ = watcher.wait();
}

/// `--no-headers`, as kubectl's: the rows only, of status and of the maintenance table
/// (`suspend --dry-run`), where without it the header line comes first.
#[tokio::test]
async fn no_headers_prints_only_the_rows() {
    let ns = TestNamespace::new("status-no-headers").await;
    create(&ns, &cronjob("backup", "0 0 1 1 *", &json!({}), &json!({}))).await;
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let with = assert_exit(&kuul(via, "status", &ns, &["backup"]), 0, "status");
        assert!(with.starts_with("NAME "), "{with}");
        let rows = assert_exit(
            &kuul(via, "status", &ns, &["backup", "--no-headers"]),
            0,
            "status --no-headers",
        );
        assert_eq!(rows.lines().count(), 1, "{rows}");
        assert!(rows.starts_with("backup "), "{rows}");
        let table = assert_exit(
            &kuul(
                via,
                "suspend",
                &ns,
                &["backup", "--dry-run", "--no-headers"],
            ),
            0,
            "suspend --dry-run --no-headers",
        );
        assert!(table.starts_with("backup "), "{table}");
    }
}

/// A team coming from the template.yaml recipe: CronJobs without kuul's labels, pinned by
/// `kuul-type: periodic`. `status` finds no Kuul job and says how many CronJobs it left
/// out; `--include-unmanaged` (with `poolLabelKey: kuul-type` in the config) shows them
/// with their pool and their runs, found by owner.
#[tokio::test]
async fn unmanaged_cronjobs_are_hinted_at_and_shown_with_include_unmanaged() {
    let ns = TestNamespace::new("status-legacy").await;
    let legacy: CronJob = serde_json::from_value(json!({
        "metadata": { "name": "legacy-backup" },
        "spec": {
            "schedule": YEARLY,
            "jobTemplate": { "spec": { "backoffLimit": 0, "template": { "spec": {
                "restartPolicy": "Never",
                "nodeSelector": { "kuul-type": "periodic" },
                "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
            } } } }
        }
    }))
    .expect("the recipe's CronJob");
    create(&ns, &legacy).await;
    kuul_tests::start_manual_run(&ns, "legacy-backup", "legacy-backup-manual").await;
    let config = tempfile::NamedTempFile::new().expect("a config file");
    std::fs::write(config.path(), "poolLabelKey: kuul-type\n").expect("write the config");
    let config = config.path().to_str().expect("utf-8 path");
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let plain = kuul(via, "status", &ns, &[]);
        assert_eq!(assert_exit(&plain, 0, "status"), "");
        let stderr = text(&plain.stderr);
        assert!(stderr.contains("no Kuul jobs"), "{stderr}");
        assert!(
            stderr.contains("1 CronJob(s) here have no app.kubernetes.io/managed-by=kuul label (made another way, such as the template.yaml recipe): --include-unmanaged shows them"),
            "{stderr}"
        );
        let shown = assert_exit(
            &kuul(
                via,
                "status",
                &ns,
                &["--include-unmanaged", "--config", config, "--no-headers"],
            ),
            0,
            "status --include-unmanaged",
        );
        let row: Vec<&str> = shown.split("   ").map(str::trim).collect();
        assert_eq!(row[0], "legacy-backup", "{shown}");
        assert!(row.contains(&"periodic"), "the pool by kuul-type: {shown}");
        assert!(
            row.contains(&"0 + 1 manual"),
            "its run, found by owner: {shown}"
        );
    }
}
