//! Reading a Kuul job's runs from the cluster, for the commands that act on them.
//!
//! Several commands need the same reads: `run-now` and `suspend --stop-running` the runs
//! still in progress, `history` and `logs` every retained run. Stopping a run
//! ([`stop`]) lives here too, for `stop`, `suspend --stop-running` and
//! `failover --stop-running` alike. The reads live here, below
//! the commands, so that rewriting one command cannot break another; what the objects
//! mean is decided by the pure modules [`crate::runs`] and [`crate::history`].

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::archive::open::{Archive, Target};
use crate::archive::read::{JobArchive, StoredRun};
use crate::bulk::Bulk;
use crate::cli::{DryRun, KubeArgs};
use crate::client::Cluster;
use crate::error::{Error, Operation};
use crate::history::{ListedRun, RunRecord, merge, newest_runs_first, pods_of, runs_of};
use crate::printer::Printer;
use crate::runs::{self, STOP_FIELD_MANAGER, StopMark, Stopping};

/// The unfinished Jobs the `CronJob` controls, read page by page from its namespace;
/// narrowed by the kuul job label when its template has one, and always checked by owner
/// uid.
pub async fn runs_in_progress(cluster: &Cluster, cronjob: &CronJob) -> Result<Vec<Job>, Error> {
    let namespace = cronjob
        .metadata
        .namespace
        .as_deref()
        .unwrap_or(cluster.namespace());
    let selector = runs::runs_selector(cronjob).unwrap_or_default();
    let all = cluster
        .list_selected::<Job>(Some(namespace), &selector, "jobs")
        .await?;
    let running = runs::runs_in_progress(cronjob, &all);
    Ok(running.into_iter().cloned().collect())
}

/// The `CronJob` `name` in the cluster's namespace and its runs, newest first: one get
/// and two paginated lists (Jobs and Pods by the kuul job label, or every Job and Pod of
/// the namespace when its template lacks that label).
pub async fn retained_runs(
    cluster: &Cluster,
    name: &str,
    printer: Printer,
) -> Result<(CronJob, Vec<RunRecord>), Error> {
    let namespace = cluster.namespace();
    let cronjob: CronJob = cluster.get(namespace, name, "cronjobs").await?;
    let selector = runs::runs_selector(&cronjob).unwrap_or_default();
    let (jobs, pods) = tokio::try_join!(
        cluster.list_selected::<Job>(Some(namespace), &selector, "jobs"),
        cluster.list_selected::<Pod>(Some(namespace), &selector, "pods"),
    )?;
    let runs = runs_of(&cronjob, &jobs);
    let mut records: Vec<RunRecord> = runs
        .iter()
        .map(|job| RunRecord::of(job, &pods_of(job, &pods)))
        .collect();
    // A run without a pod: only the Job controller's events say why.
    if records.iter().any(RunRecord::lacks_pod) {
        let failed_creates = cluster.failed_creates(Some(namespace), printer).await?;
        for (record, job) in records.iter_mut().zip(&runs) {
            let uid = job.metadata.uid.as_deref().unwrap_or_default();
            if let Some(blocker) = failed_creates.get(uid) {
                record.cannot_create(blocker);
            }
        }
    }
    Ok((cronjob, records))
}

/// A job's runs from the cluster and from an archive, for `history` and `logs` with
/// `--archive`.
#[derive(Debug)]
pub struct JobRuns {
    /// The `CronJob`; `None` when it is gone from the cluster and only the archive knows
    /// the job.
    pub cronjob: Option<CronJob>,
    /// Every run, newest first, with where it was found.
    pub listed: Vec<ListedRun>,
    /// The archived runs [`ListedRun::archived`] points into.
    pub archived: Vec<StoredRun>,
    /// When the archive could not be read (and a warning said why): the cluster's runs
    /// are listed all the same, and the command ends with this error once it has shown
    /// them.
    pub archive_failed: Option<Error>,
}

impl JobRuns {
    /// The runs the cluster retains, without an archive.
    pub fn retained(cronjob: CronJob, records: Vec<RunRecord>) -> Self {
        Self {
            cronjob: Some(cronjob),
            listed: merge(records, &[]),
            archived: Vec::new(),
            archive_failed: None,
        }
    }

    /// The archived copy of `run`, if the archive holds it.
    pub fn archived_copy(&self, run: &ListedRun) -> Option<&StoredRun> {
        run.archived.and_then(|at| self.archived.get(at))
    }
}

/// The runs of the Kuul job `name` the cluster retains and those `archive` holds, read
/// at the same time. A job deleted from the cluster whose runs are archived is listed
/// from the archive, with a warning. An archive that cannot be read is warned about and
/// kept in [`JobRuns::archive_failed`]; a cluster that cannot be read is the error.
pub async fn retained_and_archived_runs(
    cluster: &Cluster,
    name: &str,
    archive: &Archive,
    printer: Printer,
) -> Result<JobRuns, Error> {
    let namespace = cluster.namespace();
    let (retained, stored) = tokio::join!(
        retained_runs(cluster, name, printer),
        archive.runs_of_job(namespace, name)
    );
    let (stored, archive_failed) = match stored {
        Ok(stored) => (stored, None),
        Err(error) => (JobArchive::default(), Some(error)),
    };
    for problem in &stored.unreadable {
        printer.warn(format_args!("left out of the archive's runs: {problem}"));
    }
    let (cronjob, retained) = match retained {
        Ok((cronjob, records)) => (Some(cronjob), records),
        Err(Error::NotFound { .. }) if !stored.runs.is_empty() => {
            printer.warn(format_args!(
                "cronjob {name:?} is not in namespace {namespace:?} (deleted?): these are its archived runs"
            ));
            (None, Vec::new())
        }
        Err(error) => return Err(error),
    };
    let archive_failed = archive_failed.map(|error| {
        printer.warn(format_args!("{error}"));
        Error::Halted {
            message: format!(
                "the archive at {} could not be read: only the runs the cluster retains are shown",
                archive.store.url()
            ),
            hint: Some("once the store answers, run the same command again".to_owned()),
        }
    });
    let records: Vec<RunRecord> = stored
        .runs
        .iter()
        .map(|s| s.record.record.clone())
        .collect();
    Ok(JobRuns {
        cronjob,
        listed: merge(retained, &records),
        archived: stored.runs,
        archive_failed,
    })
}

/// One cluster's side of a job's runs: the connection, the archive it files runs in (its
/// own cluster folder), and the runs.
pub struct ClusterRuns {
    pub cluster: Cluster,
    pub archive: Option<Archive>,
    pub runs: JobRuns,
}

/// The runs of the Kuul job `name` on the cluster `kube` selects: retained, and archived
/// too when `archive` names a store.
pub async fn read_job_runs(
    kube: &KubeArgs,
    name: &str,
    archive: Option<&Target>,
    printer: Printer,
) -> Result<ClusterRuns, Error> {
    let archive = archive.map(|target| target.open(kube)).transpose()?;
    let cluster = Cluster::connect(kube).await?;
    let runs = if let Some(archive) = &archive {
        retained_and_archived_runs(&cluster, name, archive, printer).await?
    } else {
        let (cronjob, records) = retained_runs(&cluster, name, printer).await?;
        JobRuns::retained(cronjob, records)
    };
    Ok(ClusterRuns {
        cluster,
        archive,
        runs,
    })
}

/// A job's runs on several clusters, as one timeline.
pub struct Across {
    /// Every run of every cluster read, newest first, each with its context.
    pub runs: JobRuns,
    /// Each cluster read, by context.
    pub sides: Vec<(String, ClusterRuns)>,
    /// The contexts that could not be read, and why (said on stderr already).
    pub unreachable: Vec<String>,
}

/// The runs of the Kuul job `name` on each of `contexts`, read concurrently and merged
/// into one timeline, newest first, each run naming its context: after a failover, a
/// job's story stays in one place. A cluster that cannot be read is one error line
/// naming its context; a cluster without the job is left out; the job missing from
/// every cluster read is the error.
pub async fn across_clusters(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    name: &str,
    archive: Option<&Target>,
    printer: Printer,
) -> Result<Across, Error> {
    let results = crate::clusters::each(kube, contexts, |kube| async move {
        read_job_runs(&kube, name, archive, printer).await
    })
    .await;
    let mut sides = Vec::new();
    let mut unreachable = Vec::new();
    let mut missing = None;
    for (context, result) in results {
        let context = context.unwrap_or_default();
        match result {
            Ok(side) => sides.push((context, side)),
            Err(error @ Error::NotFound { .. }) => {
                printer.info(format_args!("context {context}: {error}"));
                missing.get_or_insert(error);
            }
            Err(error) => {
                crate::clusters::report(printer, &context, &error);
                unreachable.push(context);
            }
        }
    }
    if let (Some(error), true) = (missing, sides.is_empty() && unreachable.is_empty()) {
        return Err(error);
    }
    let mut merged = JobRuns {
        cronjob: None,
        listed: Vec::new(),
        archived: Vec::new(),
        archive_failed: None,
    };
    for (context, side) in &mut sides {
        let runs = &mut side.runs;
        let offset = merged.archived.len();
        merged.cronjob = merged.cronjob.take().or_else(|| runs.cronjob.clone());
        merged.archived.extend(runs.archived.iter().cloned());
        merged
            .listed
            .extend(runs.listed.iter().cloned().map(|mut run| {
                run.context = Some(context.clone());
                run.archived = run.archived.map(|at| at + offset);
                run
            }));
        if merged.archive_failed.is_none() {
            merged.archive_failed = runs.archive_failed.take();
        }
    }
    newest_runs_first(&mut merged.listed);
    Ok(Across {
        runs: merged,
        sides,
        unreachable,
    })
}

/// How long a stop waits for the Job controller to mark each run failed, unless the
/// command says otherwise (`stop --timeout`).
pub const STOP_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// Stops each of `runs` (Jobs in progress), the one way kuul stops a run: a server-side
/// apply as [`STOP_FIELD_MANAGER`] of `spec.activeDeadlineSeconds` set to the time it has
/// run, with the [`StopMark`] as annotations ([`runs::stop_patch`]), then a wait by watch
/// until the Job controller has marked each failed, for at most `limit`. The Job is kept
/// (not deleted) so that the run, failed with `stopped by USER`, stays in `history`.
///
/// Server-side apply rather than a merge patch: every write of kuul is one, and the
/// managed fields then name `kuul-stop` as the owner of the deadline.
///
/// Returns each run's outcome in the order of `runs`: where it is
/// ([`Stopping::Pending`]: not confirmed within `limit`), or why the apply failed. A Job
/// already gone is [`Stopping::Gone`]. `--dry-run=client` sends nothing and `server`
/// has the applies validated; neither waits (each run is then `Pending`).
pub async fn stop(
    cluster: &Cluster,
    runs: &[Job],
    mark: &StopMark,
    dry_run: DryRun,
    limit: Duration,
    printer: Printer,
) -> Result<Vec<Result<Stopping, Error>>, Error> {
    if dry_run == DryRun::Client {
        return Ok(runs.iter().map(|_| Ok(Stopping::Pending)).collect());
    }
    let now = Utc::now();
    let apply = |job: &Job| {
        let name = job.metadata.name.clone().unwrap_or_default();
        let namespace = job
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.namespace().to_owned());
        let patch = runs::stop_patch(job, mark, now);
        async move {
            let api: Api<Job> = Api::namespaced(cluster.client().clone(), &namespace);
            let mut params = PatchParams::apply(STOP_FIELD_MANAGER).force();
            params.dry_run = dry_run == DryRun::Server;
            match api.patch(&name, &params, &Patch::Apply(&patch)).await {
                Ok(_) => Ok(Stopping::Pending),
                Err(kube::Error::Api(status)) if status.is_not_found() => Ok(Stopping::Gone),
                Err(source) => Err(cluster.error(
                    Operation::new("apply", "jobs")
                        .named(name)
                        .in_namespace(namespace),
                    source,
                )),
            }
        }
    };
    let mut outcomes: Vec<Result<Stopping, Error>> = Bulk::default()
        .run(runs, apply)
        .await
        .into_iter()
        .map(|attempted| attempted.result)
        .collect();
    if dry_run == DryRun::Server {
        return Ok(outcomes);
    }
    let asked: Vec<usize> = (0..runs.len())
        .filter(|at| matches!(outcomes[*at], Ok(Stopping::Pending)))
        .collect();
    let watched: Vec<(String, String)> = asked
        .iter()
        .map(|at| {
            let job = &runs[*at];
            (
                job.metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| cluster.namespace().to_owned()),
                job.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    let seen = crate::watch::until_stopped(cluster, &watched, limit, printer).await?;
    for (at, state) in asked.into_iter().zip(seen) {
        outcomes[at] = Ok(state);
    }
    Ok(outcomes)
}

/// The error of a run asked to stop that the Job controller has not marked failed
/// within `limit`: it may still be running, so it must not be called stopped.
pub fn unconfirmed(namespace: &str, job: &str, limit: Duration) -> Error {
    Error::Halted {
        message: format!(
            "asked to stop run {namespace}/{job}, but the Job controller has not marked it failed after {} (is kube-controller-manager running?)",
            crate::time::elapsed(limit)
        ),
        hint: Some(format!(
            "check it with `kubectl get job -n {namespace} {job}`; running the same command again asks again"
        )),
    }
}

/// Stops the unfinished runs of `cronjob` with [`stop`] (for `suspend --stop-running`
/// and `failover --stop-running`), waiting up to [`STOP_CONFIRM_TIMEOUT`]; returns how
/// many there were. A run that ended meanwhile (or whose Job is gone) counts as stopped;
/// one not confirmed in time, or that could not be changed, is the error.
pub async fn stop_runs(
    cluster: &Cluster,
    cronjob: &CronJob,
    mark: &StopMark,
    dry_run: DryRun,
    printer: Printer,
) -> Result<usize, Error> {
    let running = runs_in_progress(cluster, cronjob).await?;
    let outcomes = stop(
        cluster,
        &running,
        mark,
        dry_run,
        STOP_CONFIRM_TIMEOUT,
        printer,
    )
    .await?;
    for (job, outcome) in running.iter().zip(outcomes) {
        match outcome {
            Ok(Stopping::Pending) if dry_run.writes() => {
                let namespace = job.metadata.namespace.as_deref().unwrap_or_default();
                let name = job.metadata.name.as_deref().unwrap_or_default();
                return Err(unconfirmed(namespace, name, STOP_CONFIRM_TIMEOUT));
            }
            Ok(_) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(running.len())
}

/// The field manager of the labels the earlier runs of an adopted `CronJob` get.
pub const ADOPT_FIELD_MANAGER: &str = "kuul-adopt";

/// Labels the runs the `CronJob` with `uid` in `namespace` made before kuul took it over
/// ([`runs::unlabelled_runs`]) as `adopted`'s template labels its runs
/// ([`runs::run_label_patches`]), so that every command sees them: two paginated lists
/// (only what lacks the kuul job label), then one merge patch per Job and per Pod, at
/// most [`crate::bulk::DEFAULT_CONCURRENCY`] at a time. Only labels are added. Returns how
/// many runs were labelled; the error names what could not be, after trying the rest.
pub async fn label_earlier_runs(
    cluster: &Cluster,
    namespace: &str,
    uid: &str,
    adopted: &CronJob,
    server_dry_run: bool,
) -> Result<usize, Error> {
    let unlabelled = format!("!{}", runs::JOB_LABEL);
    let (jobs, pods) = tokio::try_join!(
        cluster.list_selected::<Job>(Some(namespace), &unlabelled, "jobs"),
        cluster.list_selected::<Pod>(Some(namespace), &unlabelled, "pods"),
    )?;
    let (earlier, earlier_pods) = runs::unlabelled_runs(uid, &jobs, &pods);
    if earlier.is_empty() {
        return Ok(0);
    }
    let (job_patch, pod_patch) = runs::run_label_patches(adopted);
    let mut params = PatchParams {
        field_manager: Some(ADOPT_FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    params.dry_run = server_dry_run;
    let (params, job_patch, pod_patch) = (&params, &job_patch, &pod_patch);
    let jobs_api: Api<Job> = Api::namespaced(cluster.client().clone(), namespace);
    let pods_api: Api<Pod> = Api::namespaced(cluster.client().clone(), namespace);
    let (jobs_api, pods_api) = (&jobs_api, &pods_api);
    let names = earlier
        .iter()
        .map(|job| ("jobs", job.metadata.name.clone().unwrap_or_default()))
        .chain(
            earlier_pods
                .iter()
                .map(|pod| ("pods", pod.metadata.name.clone().unwrap_or_default())),
        );
    let outcomes = Bulk::default()
        .run(names, |(resource, name)| async move {
            let operation = || {
                Operation::new("patch", resource)
                    .named(name.clone())
                    .in_namespace(namespace.to_owned())
            };
            let sent = if resource == "jobs" {
                jobs_api
                    .patch(&name, params, &Patch::Merge(job_patch))
                    .await
                    .map(drop)
            } else {
                pods_api
                    .patch(&name, params, &Patch::Merge(pod_patch))
                    .await
                    .map(drop)
            };
            match sent {
                // Gone meanwhile (the controller's history limit): nothing left to label.
                Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
                sent => sent.map_err(|source| cluster.error(operation(), source)),
            }
        })
        .await;
    let failed: Vec<String> = outcomes
        .into_iter()
        .filter_map(|outcome| outcome.result.err().map(|e| e.to_string()))
        .collect();
    match failed.first() {
        None => Ok(earlier.len()),
        Some(first) => Err(Error::Halted {
            message: format!(
                "{} of the runs cronjob {namespace}/{} made before kuul adopted it could not be labelled {}: {first}",
                failed.len(),
                adopted.metadata.name.as_deref().unwrap_or_default(),
                runs::JOB_LABEL,
            ),
            hint: Some(
                "until they are, status, history, logs and stop do not see them; run the same apply --adopt again".to_owned(),
            ),
        }),
    }
}
