//! `kubectl kuul set` against the real local cluster: each subcommand changes its field
//! and only its field, as field manager kuul-set; a value already set changes nothing;
//! a job set's job is refused (and the others still changed) until `--force`, after
//! which `diff -f` shows the drift and `apply -f` puts it back; dry runs print a diff and
//! write nothing; runs in progress are told; bad input exits 2 and writes nothing. `set`
//! exists only in the umbrella, so it runs through kubectl and the umbrella.

use std::time::Duration;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::PodSpec;
use kube::api::Api;
use kuul_tests::{TestNamespace, Via, YEARLY, active_test_run, assert_exit, kuul, text};

/// Makes a kuul job with `kubectl kuul new --apply`.
fn new_job(namespace: &str, name: &str) {
    assert_exit(
        &kuul(
            Via::Umbrella,
            "new",
            namespace,
            &[
                name,
                "--image",
                "kuul-base:busybox",
                "--schedule",
                YEARLY,
                "--pool",
                "internal",
                "--apply",
            ],
        ),
        0,
        "kubectl kuul new --apply",
    );
}

async fn get(ns: &TestNamespace, name: &str) -> CronJob {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get cronjob {name}: {e}"))
}

fn pod(cronjob: &CronJob) -> &PodSpec {
    cronjob
        .spec
        .job_template
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("a pod template")
}

/// The fieldsV1 of the kuul-set manager's Apply (or Update, for a merge patch) entry, as
/// JSON text.
fn owned_by_kuul_set(cronjob: &CronJob) -> String {
    cronjob
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.manager.as_deref() == Some("kuul-set"))
        .filter_map(|entry| entry.fields_v1.as_ref())
        .map(|fields| fields.0.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `set ARGS` on the job `name` and returns its stdout, stderr and the job after.
async fn set(ns: &TestNamespace, via: Via, args: &[&str], name: &str) -> (String, String, CronJob) {
    let output = kuul(via, "set", ns.name(), args);
    let stdout = assert_exit(&output, 0, &format!("{via:?} set {args:?}"));
    (stdout, text(&output.stderr), get(ns, name).await)
}

#[tokio::test]
async fn each_subcommand_changes_its_field_only_as_kuul_set() {
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let ns = TestNamespace::new("set-fields").await;
        new_job(ns.name(), "backup");
        let original = get(&ns, "backup").await;

        let (out, _, job) = set(
            &ns,
            via,
            &["schedule", "backup", "0 3 * * *", "--tz", "Europe/Berlin"],
            "backup",
        )
        .await;
        assert_eq!(job.spec.schedule, "0 3 * * *");
        assert_eq!(job.spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert!(
            out.contains(r#"cronjob.batch/backup: schedule "0 0 1 1 *" (the cluster's time zone) -> "0 3 * * *" (Europe/Berlin)"#),
            "{out}"
        );
        assert!(out.contains("next runs (Europe/Berlin): "), "{out}");
        assert!(out.contains(" 03:00 CET"), "{out}");
        let owned = owned_by_kuul_set(&job);
        assert!(
            owned.contains("f:schedule") && owned.contains("f:timeZone"),
            "{owned}"
        );
        let mut expected = original.spec.clone();
        expected.schedule = "0 3 * * *".to_owned();
        expected.time_zone = Some("Europe/Berlin".to_owned());
        assert_eq!(job.spec, expected, "only the schedule changed");

        let (out, _, job) = set(&ns, via, &["image", "backup", "kuul-base:v2"], "backup").await;
        assert_eq!(
            pod(&job).containers[0].image.as_deref(),
            Some("kuul-base:v2")
        );
        assert!(
            out.contains("cronjob.batch/backup: image kuul-base:busybox -> kuul-base:v2"),
            "{out}"
        );
        assert!(owned_by_kuul_set(&job).contains("f:image"));

        let (out, err, job) = set(
            &ns,
            via,
            &["pool", "backup", "real", "--dedicated"],
            "backup",
        )
        .await;
        let selector = pod(&job).node_selector.clone().unwrap_or_default();
        assert_eq!(
            selector.get("kuul.io/pool").map(String::as_str),
            Some("real")
        );
        let tolerations = pod(&job).tolerations.clone().unwrap_or_default();
        assert_eq!(tolerations.len(), 1, "{tolerations:?}");
        assert_eq!(tolerations[0].value.as_deref(), Some("real"));
        assert_eq!(
            job.metadata.labels.as_ref().unwrap()["kuul.io/pool"],
            "real"
        );
        assert!(
            out.contains("cronjob.batch/backup: pool internal -> real (dedicated)"),
            "{out}"
        );
        assert!(
            !err.contains("no ready node"),
            "the real node is ready: {err}"
        );
        let (out, err, job) = set(&ns, via, &["pool", "backup", "nowhere"], "backup").await;
        assert!(
            pod(&job).tolerations.is_none(),
            "the old pool's toleration went"
        );
        assert!(out.contains("pool real (dedicated) -> nowhere"), "{out}");
        assert!(
            err.contains(r#"pool "nowhere" has no ready node"#),
            "a pool without nodes is warned of: {err}"
        );

        let (out, _, job) = set(
            &ns,
            via,
            &["resources", "backup", "--memory", "256Mi"],
            "backup",
        )
        .await;
        let resources = pod(&job).containers[0].resources.clone().unwrap();
        for side in [resources.limits.unwrap(), resources.requests.unwrap()] {
            assert_eq!(side["memory"].0, "256Mi");
            assert_eq!(side["cpu"].0, "100m", "cpu left as it was");
        }
        assert!(
            out.contains("resources cpu 100m, memory 128Mi -> cpu 100m, memory 256Mi"),
            "{out}"
        );

        let (_, _, job) = set(
            &ns,
            via,
            &["history", "backup", "--succeeded", "7"],
            "backup",
        )
        .await;
        assert_eq!(job.spec.successful_jobs_history_limit, Some(7));
        assert_eq!(
            job.spec.failed_jobs_history_limit,
            Some(3),
            "left as it was"
        );

        let deadline = |job: &CronJob| {
            job.spec
                .job_template
                .spec
                .as_ref()
                .and_then(|s| s.active_deadline_seconds)
        };
        let (out, _, job) = set(&ns, via, &["deadline", "backup", "2h"], "backup").await;
        assert_eq!(deadline(&job), Some(7200));
        assert!(out.contains("deadline none -> 2h"), "{out}");
        let (out, _, job) = set(&ns, via, &["deadline", "backup", "none"], "backup").await;
        assert_eq!(deadline(&job), None);
        assert!(out.contains("deadline 2h -> none"), "{out}");

        let (_, _, job) = set(&ns, via, &["concurrency", "backup", "replace"], "backup").await;
        assert_eq!(job.spec.concurrency_policy.as_deref(), Some("Replace"));
        let (_, err, _) = set(&ns, via, &["concurrency", "backup", "Allow"], "backup").await;
        assert!(err.contains("can overlap"), "{err}");

        // A value already set sends nothing.
        let before = job_version(&ns, "backup").await;
        let (out, _, job) = set(
            &ns,
            via,
            &["history", "backup", "--succeeded", "7"],
            "backup",
        )
        .await;
        assert!(
            out.contains("cronjob.batch/backup: history unchanged"),
            "{out}"
        );
        assert_eq!(job.metadata.resource_version, before);
    }
}

async fn job_version(ns: &TestNamespace, name: &str) -> Option<String> {
    get(ns, name).await.metadata.resource_version
}

/// Writes a jobs file of set `set` with `names` into a fresh directory.
fn set_repo(set: &str, names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut text =
        format!("set: {set}\ndefaults:\n  image: kuul-base:busybox\n  pool: internal\njobs:\n");
    for name in names {
        text.push_str(&format!("  - name: {name}\n    schedule: '@daily'\n"));
    }
    std::fs::write(dir.path().join("jobs.yaml"), text).expect("write a jobs file");
    dir
}

#[tokio::test]
async fn a_job_sets_job_is_refused_until_forced_and_diff_shows_the_drift() {
    let ns = TestNamespace::new("set-owned").await;
    let n = ns.name();
    let dir = set_repo("team-s", &["alpha"]);
    let files = dir.path().to_str().expect("utf-8 path");
    assert_exit(&kuul(Via::Umbrella, "apply", n, &["-f", files]), 0, "apply");
    new_job(n, "solo");
    let alpha = job_version(&ns, "alpha").await;

    for via in Via::FOR_UMBRELLA_COMMANDS {
        let output = kuul(via, "set", n, &["schedule", "alpha", "solo", "@hourly"]);
        assert_exit(&output, 1, "a set's job among others");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("alpha belongs to set team-s, applied from files; change it there, or pass --force (the next apply puts it back)"),
            "{stderr}"
        );
        assert!(
            stderr.contains("could not set the schedule of 1 of 2 job(s): alpha"),
            "{stderr}"
        );
        assert_eq!(job_version(&ns, "alpha").await, alpha, "alpha untouched");
        assert_eq!(
            get(&ns, "solo").await.spec.schedule,
            "@hourly",
            "solo changed"
        );
    }

    let (out, _, job) = set(
        &ns,
        Via::Umbrella,
        &["schedule", "alpha", "@hourly", "--force"],
        "alpha",
    )
    .await;
    assert!(out.contains(r#"schedule "@daily""#), "{out}");
    assert_eq!(job.spec.schedule, "@hourly");
    let diff = kuul(Via::Umbrella, "diff", n, &["-f", files]);
    let shown = assert_exit(&diff, 1, "diff -f after set --force");
    assert!(
        shown.contains("-  schedule: \"@hourly\"\n+  schedule: \"@daily\""),
        "{shown}"
    );
    assert_exit(
        &kuul(Via::Umbrella, "apply", n, &["-f", files]),
        0,
        "apply again",
    );
    assert_eq!(
        get(&ns, "alpha").await.spec.schedule,
        "@daily",
        "apply put it back"
    );
}

#[tokio::test]
async fn dry_runs_print_a_diff_and_write_nothing() {
    let ns = TestNamespace::new("set-dry").await;
    new_job(ns.name(), "backup");
    let before = job_version(&ns, "backup").await;
    for via in Via::FOR_UMBRELLA_COMMANDS {
        for dry_run in ["--dry-run", "--dry-run=client", "--dry-run=server"] {
            let output = kuul(
                via,
                "set",
                ns.name(),
                &["image", "backup", "kuul-base:v9", dry_run],
            );
            let stdout = assert_exit(&output, 0, &format!("{via:?} {dry_run}"));
            assert!(
                stdout.contains(
                    "-          - image: kuul-base:busybox\n+          - image: kuul-base:v9"
                ),
                "{dry_run}: {stdout}"
            );
            assert!(stdout.contains("dry run)"), "{stdout}");
            assert_eq!(job_version(&ns, "backup").await, before, "{dry_run} wrote");
        }
    }
}

#[tokio::test]
async fn runs_in_progress_are_told_they_keep_the_old_spec() {
    let ns = TestNamespace::new("set-running").await;
    new_job(ns.name(), "backup");
    let owner = get(&ns, "backup").await;
    active_test_run(
        ns.client(),
        ns.name(),
        &owner,
        "backup-manual",
        Duration::ZERO,
    )
    .await;
    let (_, err, _) = set(
        &ns,
        Via::Umbrella,
        &["image", "backup", "kuul-base:v2"],
        "backup",
    )
    .await;
    assert!(
        err.contains("1 run(s) of backup in progress (backup-manual) keep the old image; the next run has the new one"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_input_exits_2_and_writes_nothing() {
    let ns = TestNamespace::new("set-bad").await;
    let n = ns.name();
    new_job(n, "backup");
    let before = ns.versions::<CronJob>().await;
    let cases: [(&[&str], &str); 20] = [
        (
            &["schedule", "backup"],
            "set schedule needs the job names and then a SCHEDULE",
        ),
        (&["schedule"], "set schedule needs a SCHEDULE"),
        (
            &["schedule", "backup", "61 * * * *"],
            r#"invalid SCHEDULE "61 * * * *""#,
        ),
        (
            &["schedule", "backup", "@daily", "--tz", "Mars/Base"],
            r#"invalid --tz "Mars/Base""#,
        ),
        (
            &["image", "backup", "Not An Image"],
            r#"invalid IMAGE "Not An Image""#,
        ),
        (
            &["pool", "backup", "bad pool"],
            r#"invalid POOL "bad pool""#,
        ),
        (&["resources", "backup"], "nothing to set"),
        (
            &["resources", "backup", "--cpu", "-1"],
            r#"invalid --cpu "-1""#,
        ),
        (
            &["resources", "backup", "--memory", "1GB"],
            "is not a Kubernetes quantity",
        ),
        (&["history", "backup"], "nothing to set"),
        (&["history", "backup", "--succeeded", "-1"], "--succeeded"),
        (&["deadline", "backup", "0"], r#"invalid DURATION "0""#),
        (
            &["deadline", "backup", "forever"],
            r#"invalid DURATION "forever""#,
        ),
        (
            &["concurrency", "backup", "Sometimes"],
            r#"invalid POLICY "Sometimes""#,
        ),
        (
            &["schedule", "-l", "a=b=c", "@daily"],
            r#"invalid --selector "a=b=c""#,
        ),
        (
            &["schedule", "--all", "backup", "@daily"],
            "cannot be combined",
        ),
        (
            &["schedule", "Backup_DB", "@daily"],
            r#"invalid NAME "Backup_DB""#,
        ),
        (
            &["image", "backup", "kuul-base:v2", "--dry-run=all"],
            "--dry-run",
        ),
        (&["frobnicate", "backup"], "frobnicate"),
        (
            &["pool", "backup", "prod", "--dedicated=yes"],
            "--dedicated",
        ),
    ];
    for via in Via::FOR_UMBRELLA_COMMANDS {
        for (args, expected) in cases {
            let output = kuul(via, "set", n, args);
            assert_exit(&output, 2, &format!("{via:?} set {args:?}"));
            assert!(output.stdout.is_empty(), "set {args:?}");
            let stderr = text(&output.stderr);
            assert!(stderr.contains(expected), "{via:?} set {args:?}: {stderr}");
        }
    }
    assert_eq!(
        ns.versions::<CronJob>().await,
        before,
        "bad input changed a CronJob"
    );
}
