//! `kubectl kuul suspend` and `resume` against the real local cluster: a maintenance
//! window round trip (marks set, then cleared by server-side apply), jobs suspended by
//! hand and `CronJob`s kuul does not manage left alone, `new --apply` never resuming a
//! suspended job, `--stop-running` stopping runs (kept, failed) and their pods, the missed-runs warning
//! and `--skip-missed`, jobs that do not exist reported while the rest is done, dry
//! runs and bad input changing nothing. Commands run through kubectl, the plugin
//! binaries and the umbrella. Jobs use a schedule that does not fire during a test.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ListParams};
use kube::runtime::wait::{await_condition, conditions};
use kuul_tests::{
    AdmissionDenial, TestNamespace, Via, YEARLY, assert_exit, eventually, kubectl_ok, kuul,
    start_manual_run, text, until_stopped,
};

const REASON: &str = "kuul.io/suspend-reason";
const BY: &str = "kuul.io/suspended-by";
const AT: &str = "kuul.io/suspended-at";
/// How long the Job controller may take to fail a stopped run (kuul itself waits 30 s).
const STOPPED: Duration = Duration::from_secs(30);

/// The table row of `name` (its first cell, or second with a NAMESPACE column), with
/// the column padding collapsed to single spaces.
fn row(table: &str, name: &str) -> String {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|line| line.split(' ').take(2).any(|cell| cell == name))
        .unwrap_or_else(|| panic!("no row {name:?} in\n{table}"))
}

/// Makes a kuul job with `kubectl kuul new --apply` plus extra flags.
fn new_job(namespace: &str, name: &str, extra: &[&str]) {
    let mut args = vec![
        name,
        "--image",
        "kuul-base:busybox",
        "--schedule",
        YEARLY,
        "--apply",
    ];
    args.extend_from_slice(extra);
    assert_exit(
        &kuul(Via::Plugin, "new", namespace, &args),
        0,
        "kubectl kuul new --apply",
    );
}

async fn get(namespace: &TestNamespace, name: &str) -> CronJob {
    Api::<CronJob>::namespaced(namespace.client(), namespace.name())
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get cronjob {name}: {e}"))
}

fn suspended(cronjob: &CronJob) -> bool {
    cronjob.spec.suspend == Some(true)
}

fn marks(cronjob: &CronJob) -> BTreeMap<String, String> {
    cronjob
        .metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| [REASON, BY, AT].contains(&key.as_str()))
        .collect()
}

/// The field manager that owns `spec.suspend`.
fn suspend_owner(cronjob: &CronJob) -> Vec<String> {
    cronjob
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0["f:spec"].get("f:suspend").is_some())
        })
        .filter_map(|entry| entry.manager.clone())
        .collect()
}

#[tokio::test]
async fn maintenance_round_trip_marks_then_clears_and_leaves_others_alone() {
    for via in Via::ALL {
        let ns = TestNamespace::new("maint-round-trip").await;
        let n = ns.name();
        new_job(n, "backup", &[]);
        new_job(n, "smoke", &[]);
        new_job(n, "by-hand", &[]);
        kubectl_ok(&[
            "-n",
            n,
            "patch",
            "cronjob",
            "by-hand",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ]);
        kubectl_ok(&[
            "-n",
            n,
            "create",
            "cronjob",
            "foreign",
            "--image=kuul-base:busybox",
            "--schedule",
            YEARLY,
        ]);
        let before = Timestamp::now() - SignedDuration::from_secs(2);

        let out = assert_exit(
            &kuul(via, "suspend", n, &["--all", "--reason", "db upgrade"]),
            0,
            "suspend --all",
        );
        assert!(out.starts_with("NAME "), "{via:?}: {out}");
        assert!(
            row(&out, "backup") == "backup active suspended db upgrade",
            "{via:?}: {out}"
        );
        for name in ["backup", "smoke"] {
            let cronjob = get(&ns, name).await;
            assert!(suspended(&cronjob), "{via:?} {name}");
            let marks = marks(&cronjob);
            assert_eq!(marks[REASON], "db upgrade");
            assert!(!marks[BY].is_empty(), "{marks:?}");
            let at: Timestamp = marks[AT].parse().expect("suspended-at is RFC 3339");
            assert!(
                marks[AT].ends_with('Z') && at >= before && at <= Timestamp::now(),
                "{marks:?}"
            );
            assert_eq!(suspend_owner(&cronjob), ["kuul-suspend"]);
        }
        let by_hand = get(&ns, "by-hand").await;
        assert!(
            suspended(&by_hand) && marks(&by_hand).is_empty(),
            "already suspended: left as is"
        );
        let foreign = get(&ns, "foreign").await;
        assert!(
            !suspended(&foreign) && marks(&foreign).is_empty(),
            "unmanaged: untouched"
        );

        // A re-apply with the kuul-apply manager neither resumes nor unmarks.
        new_job(n, "backup", &["--cpu", "200m"]);
        let backup = get(&ns, "backup").await;
        assert!(
            suspended(&backup),
            "{via:?}: new --apply resumed a suspended job"
        );
        assert_eq!(marks(&backup)[REASON], "db upgrade");

        let out = assert_exit(&kuul(via, "resume", n, &["--all"]), 0, "resume --all");
        assert!(
            row(&out, "by-hand") == "by-hand suspended (not by kuul) suspended (left: not by kuul)",
            "{out}"
        );
        for name in ["backup", "smoke"] {
            let cronjob = get(&ns, name).await;
            assert!(!suspended(&cronjob), "{via:?} {name} still suspended");
            assert!(
                marks(&cronjob).is_empty(),
                "{via:?} {name}: apply left {:?}",
                marks(&cronjob)
            );
        }
        assert!(
            suspended(&get(&ns, "by-hand").await),
            "suspended by hand: stays"
        );
        assert!(!suspended(&get(&ns, "foreign").await));

        // Unmanaged jobs: named they are suspended; --all resumes them only when included.
        assert_exit(&kuul(via, "suspend", n, &["foreign"]), 0, "suspend foreign");
        let err = kuul(via, "resume", n, &["--all"]);
        assert_exit(&err, 0, "resume --all");
        assert!(
            text(&err.stderr).contains(&format!(
                "without app.kubernetes.io/managed-by=kuul: {n}/foreign"
            )),
            "{}",
            text(&err.stderr)
        );
        assert!(
            suspended(&get(&ns, "foreign").await),
            "--all resumed an unmanaged job"
        );
        assert_exit(
            &kuul(
                via,
                "resume",
                n,
                &["--all", "--include-unmanaged", "--include-unmarked"],
            ),
            0,
            "resume everything",
        );
        for name in ["foreign", "by-hand"] {
            assert!(!suspended(&get(&ns, name).await), "{via:?} {name}");
        }
    }
}

#[tokio::test]
async fn all_namespaces_with_a_selector_shows_the_namespace() {
    let first = TestNamespace::new("maint-all-ns").await;
    let second = TestNamespace::new("maint-all-ns").await;
    let window = format!("window={}", first.name());
    for ns in [&first, &second] {
        new_job(ns.name(), "nightly", &["--label", &window]);
        new_job(ns.name(), "other", &[]);
    }
    for via in Via::ALL {
        let out = assert_exit(
            &kuul(via, "suspend", "default", &["-A", "-l", &window]),
            0,
            "suspend -A -l",
        );
        assert!(out.starts_with("NAMESPACE "), "{out}");
        for ns in [&first, &second] {
            assert!(out.contains(ns.name()), "{out}");
            assert!(suspended(&get(ns, "nightly").await));
            assert!(!suspended(&get(ns, "other").await));
        }
        assert_exit(
            &kuul(via, "resume", "default", &["-A", "-l", &window]),
            0,
            "resume -A -l",
        );
        for ns in [&first, &second] {
            assert!(!suspended(&get(ns, "nightly").await), "{via:?}");
        }
    }
}

/// A run of `job` that stays Pending (its pool has no node), and its pod.
async fn pending_run(ns: &TestNamespace, job: &str, run: &str) -> (Job, Pod) {
    start_manual_run(ns, job, run).await;
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pod = pods
        .list(&ListParams::default().labels(&format!("job-name={run}")))
        .await
        .expect("list the run's pods")
        .items
        .pop()
        .expect("the run has a pod");
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );
    (jobs.get(run).await.expect("get run"), pod)
}

async fn gone<K>(api: Api<K>, object: &K)
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned
        + Send
        + 'static,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let uid = object.meta().uid.clone().unwrap_or_default();
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(api, &name, conditions::is_deleted(&uid)),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} still exists after 60s"))
    .expect("watch deletion");
}

#[tokio::test]
async fn stop_running_stops_the_runs_and_their_pods() {
    for via in Via::ALL {
        let ns = TestNamespace::new("maint-stop").await;
        new_job(ns.name(), "stuck", &["--pool", "nowhere"]);
        let (run, pod) = pending_run(&ns, "stuck", "stuck-manual-1").await;

        let dry = assert_exit(
            &kuul(
                via,
                "suspend",
                ns.name(),
                &["stuck", "--stop-running", "--dry-run"],
            ),
            0,
            "dry run",
        );
        assert!(dry.contains("suspended (dry run)"), "{dry}");
        let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
        assert!(
            jobs.get_opt("stuck-manual-1").await.unwrap().is_some(),
            "dry run deleted the run"
        );
        assert!(!suspended(&get(&ns, "stuck").await), "dry run suspended");

        let out = assert_exit(
            &kuul(
                via,
                "suspend",
                ns.name(),
                &["stuck", "--stop-running", "--reason", "stop now"],
            ),
            0,
            "--stop-running",
        );
        assert!(out.lines().next().unwrap().ends_with("STOPPED"), "{out}");
        assert!(out.lines().nth(1).unwrap().ends_with(" 1"), "{out}");
        assert!(suspended(&get(&ns, "stuck").await));
        // The run is kept, failed as stopped, with who and why; its pod is gone.
        let stopped = until_stopped(ns.client(), ns.name(), "stuck-manual-1", STOPPED).await;
        assert_eq!(stopped.metadata.uid, run.metadata.uid);
        let annotations = stopped.metadata.annotations.unwrap_or_default();
        assert_eq!(
            annotations.get("kuul.io/stop-reason").map(String::as_str),
            Some("stop now")
        );
        assert!(
            annotations.contains_key("kuul.io/stopped-by"),
            "{annotations:?}"
        );
        gone(Api::<Pod>::namespaced(ns.client(), ns.name()), &pod).await;

        // Running it again finds nothing left to stop.
        let again = assert_exit(
            &kuul(via, "suspend", ns.name(), &["stuck", "--stop-running"]),
            0,
            "again",
        );
        assert!(
            again.contains("suspended (unchanged)") && again.trim_end().ends_with('0'),
            "{again}"
        );
    }
}

#[tokio::test]
async fn missing_names_are_reported_and_the_rest_is_done() {
    for via in Via::ALL {
        let ns = TestNamespace::new("maint-missing").await;
        new_job(ns.name(), "backup", &[]);
        let output = kuul(via, "suspend", ns.name(), &["backup", "ghost"]);
        assert_exit(&output, 1, "a missing name fails the command");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(r#"cronjobs "ghost""#) && stderr.contains("not found"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "could not suspend 1 of 2 job(s): {}/ghost",
                ns.name()
            )),
            "{stderr}"
        );
        assert!(
            suspended(&get(&ns, "backup").await),
            "the job that exists was not suspended"
        );
        let output = kuul(via, "resume", ns.name(), &["ghost", "backup"]);
        assert_exit(&output, 1, "resume with a missing name");
        assert!(!suspended(&get(&ns, "backup").await));
    }
}

#[tokio::test]
async fn resume_warns_about_missed_runs_and_skip_missed_sets_a_deadline() {
    for via in Via::ALL {
        let ns = TestNamespace::new("maint-missed").await;
        let n = ns.name();
        for name in ["loose", "skipped"] {
            kubectl_ok(&[
                "-n",
                n,
                "create",
                "cronjob",
                name,
                "--image=kuul-base:busybox",
                "--schedule",
                YEARLY,
            ]);
            kubectl_ok(&[
                "-n",
                n,
                "label",
                "cronjob",
                name,
                "app.kubernetes.io/managed-by=kuul",
            ]);
        }
        assert_exit(&kuul(via, "suspend", n, &["--all"]), 0, "suspend --all");

        let output = kuul(via, "resume", n, &["loose"]);
        assert_exit(&output, 0, "resume loose");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "warning: {n}/loose has no startingDeadlineSeconds"
            )) && stderr.contains("--skip-missed"),
            "{stderr}"
        );
        assert_eq!(get(&ns, "loose").await.spec.starting_deadline_seconds, None);

        let output = kuul(via, "resume", n, &["skipped", "--skip-missed"]);
        let out = assert_exit(&output, 0, "resume --skip-missed");
        assert!(
            !text(&output.stderr).contains("warning"),
            "{}",
            text(&output.stderr)
        );
        assert!(out.contains("active, missed runs skipped"), "{out}");
        let skipped = get(&ns, "skipped").await;
        assert!(!suspended(&skipped));
        assert_eq!(skipped.spec.starting_deadline_seconds, Some(60));

        // A later suspend (same kuul-suspend manager) keeps the deadline.
        assert_exit(&kuul(via, "suspend", n, &["skipped"]), 0, "suspend again");
        assert_eq!(
            get(&ns, "skipped").await.spec.starting_deadline_seconds,
            Some(60)
        );
    }
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let ns = TestNamespace::new("maint-dry").await;
    let n = ns.name();
    new_job(n, "backup", &[]);
    new_job(n, "paused", &[]);
    kubectl_ok(&[
        "-n",
        n,
        "patch",
        "cronjob",
        "paused",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    let before = ns.versions::<CronJob>().await;
    for via in Via::ALL {
        for dry_run in ["--dry-run", "--dry-run=client", "--dry-run=server"] {
            let out = assert_exit(
                &kuul(via, "suspend", n, &["--all", dry_run, "--reason", "r"]),
                0,
                dry_run,
            );
            assert!(out.contains("suspended (dry run)"), "{out}");
            let out = assert_exit(&kuul(via, "resume", n, &["paused", dry_run]), 0, dry_run);
            assert!(out.contains("active (dry run)"), "{out}");
            assert_eq!(
                ns.versions::<CronJob>().await,
                before,
                "{via:?} {dry_run} changed a CronJob"
            );
        }
    }
}

#[tokio::test]
async fn bad_input_exits_2_and_changes_nothing() {
    let ns = TestNamespace::new("maint-bad").await;
    let n = ns.name();
    new_job(n, "backup", &[]);
    let before = ns.versions::<CronJob>().await;
    let cases: [(&str, &[&str], &str); 12] = [
        ("suspend", &[], "no jobs given"),
        ("suspend", &["--all", "backup"], "cannot be combined"),
        (
            "suspend",
            &["-l", "app=web", "backup"],
            "cannot be combined",
        ),
        ("suspend", &["-l", "app=web", "--all"], "cannot be combined"),
        ("suspend", &["-l", "a=b=c"], r#"invalid --selector "a=b=c""#),
        ("suspend", &["-A", "backup"], "-A/--all-namespaces"),
        ("suspend", &["Backup_DB"], r#"invalid NAME "Backup_DB""#),
        ("suspend", &["--all", "--reason", " "], "--reason"),
        ("suspend", &["--all", "--dry-run=all"], "--dry-run"),
        (
            "suspend",
            &["--all", "--stop-running=yes"],
            "--stop-running",
        ),
        (
            "resume",
            &["backup", "--include-unmarked"],
            "--include-unmarked",
        ),
        ("resume", &["--all", "--reason", "x"], "--reason"),
    ];
    for via in Via::ALL {
        for (command, args, expected) in cases {
            let output = kuul(via, command, n, args);
            assert_exit(&output, 2, &format!("{via:?} {command} {args:?}"));
            assert!(output.stdout.is_empty(), "{command} {args:?}");
            let stderr = text(&output.stderr);
            assert!(
                stderr.contains(expected),
                "{via:?} {command} {args:?}: {stderr}"
            );
        }
    }
    assert_eq!(
        ns.versions::<CronJob>().await,
        before,
        "bad input changed a CronJob"
    );
}

/// Waits until the API server enforces the policy: a server dry run of an update of
/// `name` is denied.
async fn until_denied(denial: &AdmissionDenial, namespace: &str, name: &str) {
    denial
        .until_enforced(&[
            "-n",
            namespace,
            "annotate",
            "cronjob",
            name,
            "probe=1",
            "--dry-run=server",
        ])
        .await;
}

#[tokio::test]
async fn one_failed_write_does_not_stop_the_others_and_a_rerun_finishes() {
    let ns = TestNamespace::new("maint-partial").await;
    let n = ns.name();
    for name in ["alpha", "locked", "omega"] {
        new_job(n, name, &[]);
    }
    for via in Via::ALL {
        let denial = AdmissionDenial::new(
            n,
            "UPDATE",
            "cronjobs",
            "object.metadata.name != 'locked'",
            "locked is locked by the test",
        );
        until_denied(&denial, n, "locked").await;
        let output = kuul(via, "suspend", n, &["--all", "--reason", "partial"]);
        let out = assert_exit(&output, 1, "one job cannot be suspended");
        assert_eq!(
            row(&out, "locked"),
            "locked active failed, still active partial"
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains("locked is locked by the test"), "{stderr}");
        assert!(
            stderr.contains(&format!("could not suspend 1 of 3 job(s): {n}/locked")),
            "{stderr}"
        );
        for name in ["alpha", "omega"] {
            assert!(suspended(&get(&ns, name).await), "{via:?} {name}");
        }
        assert!(!suspended(&get(&ns, "locked").await));

        drop(denial);
        // The policy's removal also takes effect a moment later: rerun until it has.
        let finished = eventually(
            Duration::from_secs(30),
            "a rerun once the policy is gone",
            || async {
                let output = kuul(via, "suspend", n, &["--all", "--reason", "partial"]);
                if output.status.success() {
                    return Some(output);
                }
                eprintln!("rerun: {}", text(&output.stderr));
                None
            },
        )
        .await;
        let out = assert_exit(&finished, 0, "the rerun finishes");
        assert_eq!(row(&out, "locked"), "locked active suspended partial");
        assert_eq!(
            row(&out, "alpha"),
            "alpha suspended suspended (unchanged) partial"
        );
        assert_exit(&kuul(via, "resume", n, &["--all"]), 0, "resume --all");
    }
}

#[tokio::test]
async fn marks_edited_by_hand_are_still_cleared() {
    for via in Via::ALL {
        let ns = TestNamespace::new("maint-edited").await;
        let n = ns.name();
        new_job(n, "backup", &[]);
        assert_exit(
            &kuul(via, "suspend", n, &["backup", "--reason", "db upgrade"]),
            0,
            "suspend",
        );
        // Now kubectl-annotate owns the reason, so the kuul-suspend apply alone keeps it.
        kubectl_ok(&[
            "-n",
            n,
            "annotate",
            "--overwrite",
            "cronjob",
            "backup",
            &format!("{REASON}=longer upgrade"),
        ]);
        let out = assert_exit(&kuul(via, "resume", n, &["--all"]), 0, "resume --all");
        assert_eq!(
            row(&out, "backup"),
            "backup suspended active longer upgrade"
        );
        let backup = get(&ns, "backup").await;
        assert!(!suspended(&backup));
        assert!(marks(&backup).is_empty(), "{via:?}: {:?}", marks(&backup));
    }
}
