//! `kubectl kuul apply -f` and `diff -f` against the real local cluster: a re-apply
//! writes nothing (resourceVersions stay), an edit updates only its job, `--prune`
//! deletes exactly the set's unlisted jobs (never another set's or unmanaged ones), a job
//! suspended for maintenance stays suspended, an invalid file writes nothing and exits 2
//! listing every error, diff exits 0 or 1, two kubeconfig contexts are applied together
//! (and an unreachable one does not stop the other), and examples/jobs-repo applies.
//! apply and diff exist only in the umbrella, so they run through kubectl (which falls
//! back to `kubectl-kuul apply`) and through the umbrella itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Timelike;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, ListParams};
use kube::config::{Kubeconfig, NamedContext};
use kuul_tests::{
    FakeNodes, TestNamespace, Via, assert_exit, eventually, kubeconfig, kubectl, kubectl_ok, kuul,
    text,
};
use serde_json::json;

/// The annotation the CronJob controller puts on a scheduled run: the time it was due.
const SCHEDULED: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// Writes `files` (name, text) into a fresh directory.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).expect("write a jobs file");
    }
    dir
}

fn jobs_file(set: &str, jobs: &[(&str, &str)]) -> String {
    let mut text =
        format!("set: {set}\ndefaults:\n  image: kuul-base:busybox\n  pool: internal\njobs:\n");
    for (name, schedule) in jobs {
        text.push_str(&format!("  - name: {name}\n    schedule: '{schedule}'\n"));
    }
    text
}

/// Resources written the way the API server does not store them (it keeps `500m` and
/// `1Gi`), which must not count as a change on re-apply.
fn with_odd_quantities(file: &str) -> String {
    file.replace(
        "  pool: internal\n",
        "  pool: internal\n  resources: {cpu: 0.5, memory: 1024Mi}\n",
    )
}

/// The rows of a summary table as (job, action, detail).
fn rows(table: &str) -> Vec<(String, String, String)> {
    table
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line
                .split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (
                cells[0].to_owned(),
                cells.get(1).copied().unwrap_or_default().to_owned(),
                cells
                    .get(2..)
                    .map(|rest| rest.join(" "))
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn actions(table: &str) -> BTreeMap<String, String> {
    rows(table)
        .into_iter()
        .map(|(job, action, _)| (job, action))
        .collect()
}

fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("utf-8 temp path")
}

#[tokio::test]
async fn reapplying_writes_nothing_and_an_edit_updates_only_its_job() {
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let namespace = TestNamespace::new("apply-idem").await;
        let api: Api<CronJob> = Api::namespaced(namespace.client(), namespace.name());
        let jobs = [
            ("alpha", "@daily"),
            ("beta", "0 3 * * *"),
            ("gamma", "*/10 * * * *"),
        ];
        let dir = repo(&[(
            "jobs.yaml",
            &with_odd_quantities(&jobs_file("team-a", &jobs)),
        )]);
        let first = kuul(via, "apply", namespace.name(), &["-f", path(&dir)]);
        let table = assert_exit(&first, 0, "first apply");
        assert!(table.starts_with("JOB     ACTION    DETAIL\n"), "{table}");
        assert!(actions(&table).values().all(|a| a == "created"), "{table}");
        let stored = api.get("beta").await.expect("beta applied");
        let labels = stored.metadata.labels.unwrap();
        assert_eq!(labels["kuul.io/set"], "team-a");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kuul");
        let before = namespace.versions::<CronJob>().await;
        assert_eq!(before.len(), 3);

        let again = kuul(via, "apply", namespace.name(), &["-f", path(&dir)]);
        let table = assert_exit(&again, 0, "re-apply");
        assert!(
            actions(&table).values().all(|a| a == "unchanged"),
            "{table}"
        );
        assert_eq!(
            namespace.versions::<CronJob>().await,
            before,
            "a re-apply must write nothing"
        );

        let edited = [
            ("alpha", "@daily"),
            ("beta", "0 4 * * *"),
            ("gamma", "*/10 * * * *"),
        ];
        let edited = with_odd_quantities(&jobs_file("team-a", &edited));
        std::fs::write(dir.path().join("jobs.yaml"), edited).unwrap();
        let table = assert_exit(
            &kuul(via, "apply", namespace.name(), &["-f", path(&dir)]),
            0,
            "apply an edit",
        );
        let done = actions(&table);
        assert_eq!(done["beta"], "updated", "{table}");
        assert_eq!(done["alpha"], "unchanged", "{table}");
        let after = namespace.versions::<CronJob>().await;
        assert_ne!(after["beta"], before["beta"]);
        assert_eq!(after["alpha"], before["alpha"]);
        assert_eq!(after["gamma"], before["gamma"]);
        assert_eq!(api.get("beta").await.unwrap().spec.schedule, "0 4 * * *");
    }
}

#[tokio::test]
async fn prune_deletes_exactly_the_unlisted_jobs_of_the_set() {
    let namespace = TestNamespace::new("apply-prune").await;
    let ns = namespace.name();
    let api: Api<CronJob> = Api::namespaced(namespace.client(), ns);
    let ours = repo(&[(
        "jobs.yaml",
        &jobs_file(
            "team-a",
            &[
                ("keep", "@daily"),
                ("drop", "@daily"),
                ("drop-runs", "@daily"),
            ],
        ),
    )]);
    let theirs = repo(&[("jobs.yaml", &jobs_file("team-b", &[("theirs", "@daily")]))]);
    assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&ours)]),
        0,
        "apply set a",
    );
    assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&theirs)]),
        0,
        "apply set b",
    );
    let unmanaged = std::process::Command::new(kubectl())
        .env("KUBECONFIG", kubeconfig())
        .args([
            "-n",
            ns,
            "create",
            "cronjob",
            "by-hand",
            "--image=busybox",
            "--schedule=@daily",
        ])
        .output()
        .unwrap();
    assert_exit(&unmanaged, 0, "kubectl create cronjob");
    for (cronjob, run) in [("drop", "drop-run"), ("drop-runs", "drop-runs-run")] {
        let created = std::process::Command::new(kubectl())
            .env("KUBECONFIG", kubeconfig())
            .args([
                "-n",
                ns,
                "create",
                "job",
                run,
                &format!("--from=cronjob/{cronjob}"),
            ])
            .output()
            .unwrap();
        assert_exit(&created, 0, "kubectl create job --from");
    }

    std::fs::write(
        ours.path().join("jobs.yaml"),
        jobs_file("team-a", &[("keep", "@daily")]),
    )
    .unwrap();
    let diff = kuul(Via::Umbrella, "diff", ns, &["-f", path(&ours), "--prune"]);
    let shown = assert_exit(&diff, 1, "diff --prune shows the prunes");
    assert!(shown.contains("--- live cronjob.batch/drop -n"), "{shown}");
    assert!(
        !shown.contains("theirs") && !shown.contains("by-hand"),
        "{shown}"
    );

    let without_prune = kuul(Via::Umbrella, "apply", ns, &["-f", path(&ours)]);
    assert_eq!(
        actions(&assert_exit(&without_prune, 0, "apply without --prune")),
        BTreeMap::from([("keep".to_owned(), "unchanged".to_owned())])
    );
    assert!(
        api.get_opt("drop").await.unwrap().is_some(),
        "nothing pruned without --prune"
    );

    // drop-runs goes first, with its runs; drop then without them.
    std::fs::write(
        ours.path().join("jobs.yaml"),
        jobs_file("team-a", &[("keep", "@daily"), ("drop", "@daily")]),
    )
    .unwrap();
    let table = assert_exit(
        &kuul(
            Via::Kubectl,
            "apply",
            ns,
            &["-f", path(&ours), "--prune", "--prune-runs"],
        ),
        0,
        "apply --prune --prune-runs",
    );
    assert_eq!(actions(&table)["drop-runs"], "pruned", "{table}");
    std::fs::write(
        ours.path().join("jobs.yaml"),
        jobs_file("team-a", &[("keep", "@daily")]),
    )
    .unwrap();
    let table = assert_exit(
        &kuul(Via::Kubectl, "apply", ns, &["-f", path(&ours), "--prune"]),
        0,
        "apply --prune",
    );
    assert_eq!(
        actions(&table),
        BTreeMap::from([
            ("keep".to_owned(), "unchanged".to_owned()),
            ("drop".to_owned(), "pruned".to_owned()),
        ])
    );
    // Deleting while orphaning the runs leaves the CronJob a moment with a finalizer.
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(left, ["by-hand", "keep", "theirs"]);

    let jobs: Api<Job> = Api::namespaced(namespace.client(), ns);
    assert!(
        jobs.get_opt("drop-run").await.unwrap().is_some(),
        "runs stay without --prune-runs"
    );
    let gone = jobs.get_opt("drop-runs-run").await.unwrap();
    assert!(
        gone.is_none_or(|run| run.metadata.deletion_timestamp.is_some()),
        "--prune-runs deletes the runs before it returns"
    );
    eventually(
        Duration::from_secs(60),
        "the run deleted by --prune-runs gone",
        || async {
            jobs.get_opt("drop-runs-run")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_job_suspended_for_maintenance_stays_suspended() {
    let namespace = TestNamespace::new("apply-suspended").await;
    let ns = namespace.name();
    let api: Api<CronJob> = Api::namespaced(namespace.client(), ns);
    let dir = repo(&[("jobs.yaml", &jobs_file("team-a", &[("nightly", "@daily")]))]);
    assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]),
        0,
        "apply",
    );
    let suspended = kuul(
        Via::Umbrella,
        "suspend",
        ns,
        &["nightly", "--reason", "db upgrade"],
    );
    assert_exit(&suspended, 0, "kubectl kuul suspend");
    let table = assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]),
        0,
        "re-apply",
    );
    assert_eq!(actions(&table)["nightly"], "unchanged", "{table}");
    assert_eq!(api.get("nightly").await.unwrap().spec.suspend, Some(true));

    // A file that says suspend: false resumes it on purpose.
    let resumed = format!(
        "{}    suspend: false\n",
        jobs_file("team-a", &[("nightly", "@daily")])
    );
    std::fs::write(dir.path().join("jobs.yaml"), resumed).unwrap();
    let table = assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]),
        0,
        "resume",
    );
    assert_eq!(actions(&table)["nightly"], "updated", "{table}");
    assert_eq!(api.get("nightly").await.unwrap().spec.suspend, Some(false));
}

#[tokio::test]
async fn an_invalid_file_writes_nothing_and_lists_every_error() {
    let namespace = TestNamespace::new("apply-invalid").await;
    let ns = namespace.name();
    let good = jobs_file("team-a", &[("fine", "@daily")]);
    let bad = "set: team-a\ndefaults:\n  image: kuul-base:busybox\njobs:\n  - name: Bad_Name\n    schedule: '@daily'\n  - name: late\n    schedule: '0 0 * * 8'\n  - name: zone\n    schedule: '@daily'\n    tz: Mars/Olympus\n";
    let dir = repo(&[("a.yaml", &good), ("b.yaml", bad)]);
    for command in ["apply", "diff"] {
        let output = kuul(Via::Umbrella, command, ns, &["-f", path(&dir)]);
        assert_exit(&output, 2, "invalid files");
        let errors = text(&output.stderr);
        assert!(
            errors.contains("have 3 errors; nothing was applied"),
            "{errors}"
        );
        assert!(
            errors.contains("b.yaml:5: job Bad_Name: name: "),
            "{errors}"
        );
        assert!(
            errors.contains("b.yaml:7: job late: schedule: \"0 0 * * 8\""),
            "{errors}"
        );
        assert!(
            errors.contains("b.yaml:9: job zone: tz: \"Mars/Olympus\""),
            "{errors}"
        );
    }
    let typo = repo(&[(
        "jobs.yaml",
        "set: team-a\njobs:\n  - name: a\n    schedule: '@daily'\n    imagee: x\n",
    )]);
    let output = kuul(Via::Umbrella, "apply", ns, &["-f", path(&typo)]);
    assert_exit(&output, 2, "unknown key");
    assert!(
        text(&output.stderr).contains("jobs.yaml:5: job a: unknown key \"imagee\""),
        "{}",
        text(&output.stderr)
    );
    assert!(
        namespace.versions::<CronJob>().await.is_empty(),
        "nothing may be written"
    );
}

#[tokio::test]
async fn diff_exits_1_when_something_would_change_and_0_otherwise() {
    let namespace = TestNamespace::new("apply-diff").await;
    let ns = namespace.name();
    let dir = repo(&[("jobs.yaml", &jobs_file("team-a", &[("report", "@daily")]))]);
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let output = kuul(via, "diff", ns, &["-f", path(&dir)]);
        let shown = assert_exit(&output, 1, "diff before apply");
        assert!(
            shown.contains("+++ desired cronjob.batch/report -n"),
            "{shown}"
        );
        assert!(shown.contains("+  schedule: \"@daily\""), "{shown}");
    }
    let output = kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir), "--diff"]);
    assert_exit(&output, 1, "apply --diff before apply");
    assert!(
        namespace.versions::<CronJob>().await.is_empty(),
        "--diff writes nothing"
    );
    let dry = kuul(
        Via::Umbrella,
        "apply",
        ns,
        &["-f", path(&dir), "--dry-run=server"],
    );
    assert!(assert_exit(&dry, 0, "server dry run").contains("server dry run"));
    assert!(
        namespace.versions::<CronJob>().await.is_empty(),
        "a server dry run stores nothing"
    );

    assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]),
        0,
        "apply",
    );
    for via in Via::FOR_UMBRELLA_COMMANDS {
        let output = kuul(via, "diff", ns, &["-f", path(&dir)]);
        assert_eq!(assert_exit(&output, 0, "diff after apply"), "");
    }
    std::fs::write(
        dir.path().join("jobs.yaml"),
        jobs_file("team-a", &[("report", "@hourly")]),
    )
    .unwrap();
    let shown = assert_exit(
        &kuul(Via::Umbrella, "diff", ns, &["-f", path(&dir)]),
        1,
        "diff of an edit",
    );
    assert!(
        shown.contains("-  schedule: \"@daily\"\n+  schedule: \"@hourly\""),
        "{shown}"
    );
}

#[tokio::test]
async fn a_cronjob_outside_the_set_is_only_taken_with_adopt() {
    let namespace = TestNamespace::new("apply-adopt").await;
    let ns = namespace.name();
    let created = std::process::Command::new(kubectl())
        .env("KUBECONFIG", kubeconfig())
        .args([
            "-n",
            ns,
            "create",
            "cronjob",
            "cleanup",
            "--image=busybox",
            "--schedule=@daily",
        ])
        .output()
        .unwrap();
    assert_exit(&created, 0, "kubectl create cronjob");
    let dir = repo(&[(
        "jobs.yaml",
        &jobs_file("team-a", &[("cleanup", "@hourly"), ("other", "@daily")]),
    )]);
    let output = kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]);
    let table = assert_exit(&output, 1, "a conflict fails the apply");
    let found = rows(&table);
    assert_eq!(found[0].0, "cleanup");
    assert_eq!(found[0].1, "failed");
    assert!(
        found[0]
            .2
            .contains(&format!("cronjob {ns}/cleanup is not managed by kuul")),
        "{table}"
    );
    assert_eq!(found[1].1, "created", "other jobs go on");
    let api: Api<CronJob> = Api::namespaced(namespace.client(), ns);
    assert_eq!(api.get("cleanup").await.unwrap().spec.schedule, "@daily");
    let table = assert_exit(
        &kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir), "--adopt"]),
        0,
        "--adopt",
    );
    assert_eq!(actions(&table)["cleanup"], "updated", "{table}");
    assert_eq!(api.get("cleanup").await.unwrap().spec.schedule, "@hourly");
}

/// A kubeconfig with the test cluster under one context per namespace, plus one that
/// points at a closed port.
fn kubeconfig_with_contexts(dir: &Path, namespaces: &[&str]) -> PathBuf {
    let mut config = Kubeconfig::read_from(kubeconfig()).expect("test kubeconfig");
    let current = config.current_context.clone().expect("a current context");
    let base: NamedContext = config
        .contexts
        .iter()
        .find(|c| c.name == current)
        .cloned()
        .expect("the current context");
    let cluster = base
        .context
        .as_ref()
        .expect("context details")
        .cluster
        .clone();
    let named = |name: &str, namespace: Option<&str>, cluster: &str| {
        let mut context = base.clone();
        context.name = name.to_owned();
        if let Some(details) = context.context.as_mut() {
            details.namespace = namespace.map(str::to_owned);
            cluster.clone_into(&mut details.cluster);
        }
        context
    };
    let mut contexts: Vec<NamedContext> = namespaces
        .iter()
        .enumerate()
        .map(|(index, namespace)| named(&format!("kuul-{index}"), Some(namespace), &cluster))
        .collect();
    let mut closed = config
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .cloned()
        .expect("the current cluster");
    closed.name = "closed-port".to_owned();
    if let Some(details) = closed.cluster.as_mut() {
        details.server = Some("https://127.0.0.1:1".to_owned());
    }
    config.clusters.push(closed);
    contexts.push(named("down", None, "closed-port"));
    config.contexts = contexts;
    config.current_context = Some("kuul-0".to_owned());
    let path = dir.join("kubeconfig.json");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn several_contexts_are_applied_each_in_its_namespace() {
    let first = TestNamespace::new("apply-ctx-a").await;
    let second = TestNamespace::new("apply-ctx-b").await;
    let dir = repo(&[(
        "jobs.yaml",
        &jobs_file("team-a", &[("everywhere", "@daily")]),
    )]);
    let config = kubeconfig_with_contexts(dir.path(), &[first.name(), second.name()]);
    let run = |args: &[&str]| {
        std::process::Command::new(kuul_tests::bin("kubectl-kuul"))
            .arg("apply")
            .args(["--kubeconfig", config.to_str().unwrap(), "-f"])
            .arg(dir.path().join("jobs.yaml"))
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["--context", "kuul-0", "--context", "kuul-1"]);
    let shown = assert_exit(&output, 0, "two contexts");
    assert!(shown.contains("context kuul-0:\nJOB"), "{shown}");
    assert!(shown.contains("context kuul-1:\nJOB"), "{shown}");
    for namespace in [&first, &second] {
        let api: Api<CronJob> = Api::namespaced(namespace.client(), namespace.name());
        assert!(
            api.get_opt("everywhere").await.unwrap().is_some(),
            "{}",
            namespace.name()
        );
    }
    let output = run(&["--contexts", "kuul-*"]);
    let shown = assert_exit(&output, 0, "--contexts glob");
    assert_eq!(
        shown.matches("everywhere   unchanged").count(),
        2,
        "{shown}"
    );

    let output = run(&["--contexts", "*", "--request-timeout", "5s"]);
    let shown = assert_exit(&output, 1, "one cluster down");
    assert_eq!(
        shown.matches("everywhere   unchanged").count(),
        2,
        "{shown}"
    );
    let errors = text(&output.stderr);
    assert!(errors.contains("context down: skipped"), "{errors}");
    assert!(errors.contains("1 of 3 cluster(s) failed"), "{errors}");

    let output = run(&["--contexts", "nothing-*"]);
    assert_exit(&output, 2, "a glob that matches nothing");
}

#[tokio::test]
async fn the_example_jobs_repo_applies() {
    let namespace = TestNamespace::new("apply-example").await;
    let ns = namespace.name();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jobs-repo/jobs.yaml");
    let example = example.to_str().unwrap();
    let output = kuul(Via::Kubectl, "apply", ns, &["-f", example]);
    let table = assert_exit(&output, 0, "apply examples/jobs-repo");
    let done = actions(&table);
    assert_eq!(done.len(), 4, "{table}");
    assert!(done.values().all(|a| a == "created"), "{table}");
    let api: Api<CronJob> = Api::namespaced(namespace.client(), ns);
    let pool = |cronjob: &CronJob| {
        cronjob
            .spec
            .job_template
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .node_selector
            .as_ref()
            .unwrap()["kuul.io/pool"]
            .clone()
    };
    assert_eq!(pool(&api.get("backup-db").await.unwrap()), "prod");
    assert_eq!(pool(&api.get("smoke-staging").await.unwrap()), "internal");
    let report = api.get("cert-expiry").await.unwrap();
    assert_eq!(
        report.metadata.annotations.unwrap()["ops.example.com/report-bucket"],
        "ops-reports"
    );
    assert_eq!(report.metadata.labels.unwrap()["kuul.io/set"], "team-ops");
    let diff = kuul(Via::Umbrella, "diff", ns, &["-f", example]);
    assert_eq!(assert_exit(&diff, 0, "the example re-diffs clean"), "");
}

/// Not a timed assertion: applies 500 jobs and reports how long it took, then checks the
/// re-apply writes nothing.
#[tokio::test]
async fn five_hundred_jobs_in_one_command() {
    let namespace = TestNamespace::new("apply-500").await;
    let ns = namespace.name();
    let names: Vec<String> = (0..500).map(|i| format!("job-{i:03}")).collect();
    let jobs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "@daily")).collect();
    let dir = repo(&[("jobs.yaml", &jobs_file("bulk", &jobs))]);
    let started = Instant::now();
    let output = kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]);
    let created = started.elapsed();
    let table = assert_exit(&output, 0, "apply 500");
    assert_eq!(table.matches("   created").count(), 500);
    let started = Instant::now();
    let output = kuul(Via::Umbrella, "apply", ns, &["-f", path(&dir)]);
    let unchanged = started.elapsed();
    assert_eq!(
        assert_exit(&output, 0, "re-apply 500")
            .matches("   unchanged")
            .count(),
        500
    );
    eprintln!("apply of 500 jobs: created in {created:?}, re-applied (unchanged) in {unchanged:?}");
    assert_eq!(namespace.versions::<CronJob>().await.len(), 500);
}

/// A team coming from the template.yaml recipe: a CronJob made by `kubectl apply` of the
/// recipe's shape (no kuul labels, nodeSelector `kuul-type: periodic`), running every
/// minute, with a scheduled and a manual run behind it. A jobs file naming the same job
/// takes it over with `apply --adopt` between two runs: the CronJob keeps its uid, the
/// schedule goes on with one run per minute (none missed, none twice), the earlier runs
/// are labelled so that `history` and `status` show them beside the later ones.
#[tokio::test]
async fn a_recipe_cronjob_is_adopted_by_a_jobs_file_with_no_run_lost_or_doubled() {
    let ns = TestNamespace::new("apply-recipe").await;
    let name = ns.name();
    let nodes = FakeNodes::create(&ns, &["periodic"], &json!({ "kuul-type": "periodic" })).await;
    nodes.until_ready().await;
    let recipe = tempfile::NamedTempFile::new().expect("a manifest file");
    std::fs::write(
        recipe.path(),
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: smoke-test\nspec:\n  \
         schedule: '* * * * *'\n  concurrencyPolicy: Forbid\n  successfulJobsHistoryLimit: 10\n  \
         jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n        spec:\n          \
         restartPolicy: Never\n          nodeSelector: {kuul-type: periodic}\n          \
         containers:\n          - name: work\n            image: kuul-base:busybox\n            \
         command: [./smoke.sh]\n",
    )
    .expect("write the recipe's manifest");
    kubectl_ok(&[
        "-n",
        name,
        "apply",
        "-f",
        recipe.path().to_str().expect("utf-8 path"),
    ]);
    let cronjobs: Api<CronJob> = Api::namespaced(ns.client(), name);
    let uid = cronjobs
        .get("smoke-test")
        .await
        .expect("the recipe's CronJob")
        .metadata
        .uid;
    let jobs: Api<Job> = Api::namespaced(ns.client(), name);
    let scheduled = || async {
        let mut minutes: Vec<String> = jobs
            .list(&ListParams::default())
            .await
            .expect("list the runs")
            .items
            .iter()
            .filter_map(|job| job.metadata.annotations.as_ref()?.get(SCHEDULED).cloned())
            .collect();
        minutes.sort();
        minutes
    };
    eventually(
        Duration::from_secs(90),
        "the recipe's first run",
        || async { (!scheduled().await.is_empty()).then_some(()) },
    )
    .await;
    kuul_tests::start_manual_run(&ns, "smoke-test", "smoke-test-by-hand").await;

    // Adopted well between two minutes, so that the take-over is what the runs around it
    // are measured against, not a race with the controller.
    let second = chrono::Utc::now().second();
    if !(5..45).contains(&second) {
        tokio::time::sleep(Duration::from_secs(u64::from((65 - second) % 60))).await;
    }
    let dir = repo(&[
        (
            "jobs.yaml",
            "set: legacy\njobs:\n  - name: smoke-test\n    image: kuul-base:busybox\n    \
             schedule: '* * * * *'\n    pool: periodic\n    command: [./smoke.sh]\n    \
             historyLimits: {successful: 10}\n",
        ),
        ("kuul.yaml", "poolLabelKey: kuul-type\n"),
    ]);
    let config = dir.path().join("kuul.yaml");
    let config = config.to_str().expect("utf-8 path");
    let files = dir.path().join("jobs.yaml");
    let files = files.to_str().expect("utf-8 path");
    let before = scheduled().await;
    let refused = kuul(
        Via::Umbrella,
        "apply",
        name,
        &["-f", files, "--config", config],
    );
    assert_exit(&refused, 1, "apply without --adopt");
    let table = assert_exit(
        &kuul(
            Via::Kubectl,
            "apply",
            name,
            &["-f", files, "--config", config, "--adopt"],
        ),
        0,
        "apply --adopt",
    );
    let row = &rows(&table)[0];
    assert_eq!(
        (row.0.as_str(), row.1.as_str()),
        ("smoke-test", "updated"),
        "{table}"
    );
    let earlier = before.len() + 1;
    assert!(
        row.2.contains("adopted: it is not managed by kuul")
            && row
                .2
                .contains(&format!("{earlier} earlier run(s) labelled")),
        "{table}"
    );
    let adopted = cronjobs
        .get("smoke-test")
        .await
        .expect("the adopted CronJob");
    assert_eq!(
        adopted.metadata.uid, uid,
        "taken over in place, not made anew"
    );
    let labels = adopted.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kuul.io/pool").map(String::as_str),
        Some("periodic")
    );

    // The next minute's run comes from the adopted template, on the recipe's nodes.
    let after = eventually(
        Duration::from_secs(90),
        "a run after the adoption",
        || async {
            let minutes = scheduled().await;
            (minutes.len() > before.len()).then_some(minutes)
        },
    )
    .await;
    let minutes: Vec<i64> = after
        .iter()
        .map(|at| {
            chrono::DateTime::parse_from_rfc3339(at)
                .expect("an RFC 3339 scheduled time")
                .timestamp()
                / 60
        })
        .collect();
    let expected: Vec<i64> =
        (minutes[0]..minutes[0] + i64::try_from(minutes.len()).unwrap()).collect();
    assert_eq!(
        minutes, expected,
        "one run per minute, none missed, none twice: {after:?}"
    );
    let runs = jobs
        .list(&ListParams::default())
        .await
        .expect("list the runs")
        .items;
    assert_eq!(
        runs.len(),
        after.len() + 1,
        "the scheduled runs and the manual one"
    );
    for run in &runs {
        let labels = run.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("kuul.io/job").map(String::as_str),
            Some("smoke-test"),
            "every run carries the kuul job label: {:?}",
            run.metadata.name
        );
    }

    let history = assert_exit(
        &kuul(
            Via::Umbrella,
            "history",
            name,
            &["smoke-test", "-o", "name"],
        ),
        0,
        "history",
    );
    assert_eq!(history.lines().count(), runs.len(), "{history}");
    assert!(
        history.contains("job.batch/smoke-test-by-hand"),
        "{history}"
    );
    let status = assert_exit(
        &kuul(
            Via::Umbrella,
            "status",
            name,
            &["--no-headers", "--config", config],
        ),
        0,
        "status",
    );
    assert!(status.starts_with("smoke-test "), "{status}");
    assert!(status.contains("periodic"), "{status}");
}
