//! `kubectl kuul stop`: end the runs in progress of Kuul jobs, now.
//!
//! A run that has gone wrong (a hung backup, a job hammering a database) has to end now,
//! at 3 a.m., without hunting for its Job and pod. This command finds the selected jobs'
//! runs in progress, scheduled and manual, or the one `--run` names, and stops each as
//! [`crate::job_runs::stop`] does: its Job gets a deadline already passed and the stop
//! annotations, the Job controller marks it failed and terminates its pods, and the run
//! stays in `history` as failed, `stopped by USER`. A run is said to be stopped only
//! once the Job controller has marked it so; one it has not marked within `--timeout` is
//! named, with exit 1. `--and-suspend` first suspends the jobs as `suspend` does, so
//! that their schedule does not start them again.
//!
//! With an archive (`--archive URL`, or the kuul config's `archive:`; `--no-archive` for
//! none) each run's logs are read first, since the Job controller deletes its pods when
//! it fails it; the run is stopped, and once failed it is written to the archive as
//! [`crate::archive::copy`] writes a finished run, with those logs. A run whose logs
//! could not be read is not stopped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;

use crate::archive::copy::{self, Copied, FinishedRun, Logs};
use crate::archive::open::{Archive, Target};

use crate::bulk::Bulk;
use crate::cli::{
    ArchiveSourceArgs, DryRun, DryRunArgs, JobSelectionArgs, KubeArgs, parse_request_timeout,
};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::job_runs::{self, runs_in_progress, unconfirmed};
use crate::maintenance::carry_out::{apply, planned_from, select};
use crate::maintenance::{self, Action, FIELD_MANAGER, MaintenanceStep, Selection};
use crate::printer::Printer;
use crate::runs::{self, StopMark, Stopping};

/// Arguments of `kubectl kuul stop`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    /// Stop only this run: the name of its Job, as `history` lists it (with one job name)
    #[arg(long, value_name = "JOBNAME")]
    pub run: Option<String>,

    /// Also suspend the jobs, as `suspend` does, so that their schedule does not start
    /// them again
    #[arg(long)]
    pub and_suspend: bool,

    /// With --and-suspend: why; recorded as kuul.io/suspend-reason on the jobs and
    /// kuul.io/stop-reason on the runs
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// How long to wait for the Job controller to mark each run failed
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_timeout,
        allow_hyphen_values = true
    )]
    pub timeout: Duration,

    #[command(flatten)]
    pub archive: ArchiveSourceArgs,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

/// `--timeout`: a kubectl-style duration of more than 0, since a stop is only said done
/// once seen done.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_request_timeout(text)?.0 {
        Some(limit) => Ok(limit),
        None => Err(format!(
            "invalid duration {text:?}: the wait for the Job controller needs more than 0, e.g. 30s or 2m"
        )),
    }
}

impl KuulCommand for StopArgs {
    const NAME: &'static str = "stop";
    const ABOUT: &'static str = "Stop the runs in progress of Kuul jobs, now.";
    const LONG_ABOUT: &'static str = include_str!("help/stop.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let selection = self.check()?;
        let reason = self.reason.as_deref().map(str::trim);
        let target = self.archive.target()?;
        let contexts = clusters::selected(&self.jobs.contexts, &kube)?;
        let several = contexts.len() > 1;
        let results = clusters::each(&kube, &contexts, |kube| {
            self.on_cluster(kube, &selection, reason, target.as_ref(), printer)
        })
        .await;
        let mut stopped = 0;
        let mut archived = 0;
        let mut jobs = 0;
        let mut undone = Vec::new();
        let mut unreachable = Vec::new();
        let mut nothing_said = false;
        for (context, result) in results {
            let context = context.filter(|_| several);
            let prefix = context
                .as_deref()
                .map(|context| format!("{context}: "))
                .unwrap_or_default();
            match result {
                Ok(outcome) => {
                    jobs += outcome.jobs;
                    nothing_said |= outcome.nothing_running_said;
                    for line in &outcome.lines {
                        printer.line(format_args!("{prefix}{line}"))?;
                    }
                    for note in &outcome.notes {
                        printer.info(format_args!("{prefix}{note}"));
                    }
                    stopped += outcome.stopped;
                    archived += outcome.archived;
                    undone.extend(
                        outcome
                            .undone
                            .into_iter()
                            .map(|(name, error)| (format!("{prefix}{name}"), error)),
                    );
                }
                Err(error) => match context {
                    Some(context) => {
                        clusters::report(printer, &context, &error);
                        unreachable.push(context);
                    }
                    None => return Err(error),
                },
            }
        }
        let verb = if self.dry_run.dry_run.writes() {
            "stopped"
        } else {
            "would stop"
        };
        let archived = match &target {
            Some(target) if self.dry_run.dry_run.writes() => {
                format!("; archived {archived} to {}", target.url)
            }
            Some(target) => format!(", archiving them to {}", target.url),
            None => String::new(),
        };
        if stopped > 0 {
            printer.info(format_args!(
                "{verb} {stopped} run(s) of {jobs} job(s){archived}{}",
                self.dry_run.dry_run.suffix()
            ));
        } else if undone.is_empty() && unreachable.is_empty() && !nothing_said {
            printer.info("nothing running: no run of the selected jobs is in progress");
        }
        if !undone.is_empty() {
            for (_, error) in &undone {
                printer.error(error);
            }
            let names: Vec<&str> = undone.iter().map(|(name, _)| name.as_str()).collect();
            return Err(Error::Halted {
                message: format!(
                    "not everything selected was stopped ({} left): {}",
                    undone.len(),
                    names.join(", ")
                ),
                hint: Some(
                    "fix the cause and run the same command again: it stops only what still runs"
                        .to_owned(),
                ),
            });
        }
        clusters::unreachable(&unreachable, contexts.len())
    }
}

/// What came of one cluster's part.
#[derive(Debug, Default)]
struct ClusterOutcome {
    /// The lines of what was done, for stdout.
    lines: Vec<String>,
    /// What is worth saying on stderr but is no failure.
    notes: Vec<String>,
    /// How many runs were stopped (or would be, in a dry run).
    stopped: usize,
    /// How many stopped runs were written to the archive.
    archived: usize,
    /// The archive's URL, in a dry run with one.
    archive_to: Option<String>,
    /// How many jobs had runs stopped.
    jobs: usize,
    /// The jobs and runs not done, by `namespace/name`, and why.
    undone: Vec<(String, Error)>,
    /// A note said already that a job has nothing running, and why.
    nothing_running_said: bool,
}

impl ClusterOutcome {
    /// Takes in what came of stopping `pick`: a line, a note or a run not done; whether
    /// it counts as stopped (or would be, in a dry run).
    fn take(
        &mut self,
        pick: &Picked,
        result: Result<Stopping, Error>,
        dry_run: DryRun,
        timeout: Duration,
    ) -> bool {
        let namespace = pick.job.metadata.namespace.as_deref().unwrap_or_default();
        let name = pick.job.metadata.name.as_deref().unwrap_or_default();
        let run = format!("run {namespace}/{name} (cronjob {})", pick.cronjob);
        let stopped = match result {
            Ok(Stopping::Pending) if !dry_run.writes() => {
                let archive = self
                    .archive_to
                    .as_deref()
                    .map(|url| format!(" and archive it to {url}"))
                    .unwrap_or_default();
                let line = format!("would stop {run}{archive}{}", dry_run.suffix());
                self.lines.push(line);
                true
            }
            Ok(Stopping::Pending) => {
                let error = unconfirmed(namespace, name, timeout);
                self.undone.push((format!("{namespace}/{name}"), error));
                false
            }
            Ok(Stopping::Stopped) => {
                self.lines.push(format!("stopped {run}"));
                true
            }
            Ok(Stopping::Terminating) => {
                let line = format!("stopped {run}: failed, its pods still terminating");
                self.lines.push(line);
                true
            }
            Ok(Stopping::Succeeded) => {
                let note = format!("{run} succeeded before it could be stopped");
                self.notes.push(note);
                false
            }
            Ok(Stopping::Gone) => {
                let note = format!("{run} was deleted meanwhile: its pods go with it");
                self.notes.push(note);
                false
            }
            Err(error) => {
                self.undone.push((format!("{namespace}/{name}"), error));
                false
            }
        };
        self.stopped += usize::from(stopped);
        stopped
    }

    /// Whether the run `pick`, whose logs were read before the stop, is to be archived
    /// now that the stop came to `state`: only once failed, when its record is final.
    fn archivable<'a>(
        &mut self,
        pick: &'a Picked,
        state: Option<Stopping>,
        logs: Captured,
    ) -> Option<(&'a Picked, Captured)> {
        match state {
            // A run whose pods are still terminating is failed once they are gone:
            // [`archive_stopped`] waits for that.
            Some(Stopping::Stopped | Stopping::Terminating) => return Some((pick, logs)),
            Some(Stopping::Succeeded) => self.notes.push(format!(
                "run {} (cronjob {}) is not archived by stop: it ended by itself; kubectl kuul archive keeps finished runs",
                pick.name(),
                pick.cronjob
            )),
            _ => {}
        }
        None
    }
}

/// A run picked to stop, with the job it belongs to.
#[derive(Clone)]
struct Picked {
    cronjob: String,
    job: Job,
}

impl Picked {
    /// `namespace/name` of its Job.
    fn name(&self) -> String {
        format!(
            "{}/{}",
            self.job.metadata.namespace.as_deref().unwrap_or_default(),
            self.job.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

/// What `--archive` read of a run before stopping it: its pods then, and their logs.
struct Captured {
    pods: Vec<Pod>,
    logs: Logs,
    at: DateTime<Utc>,
}

/// Reads the logs of `pick`'s newest pod (each container that ran), before it is stopped.
async fn capture(cluster: &Cluster, archive: &Archive, pick: &Picked) -> Result<Captured, Error> {
    let at = Utc::now();
    let pods = copy::pods_of_run(cluster, &pick.job).await?;
    let run = FinishedRun::of(&pick.job, &pick.cronjob, &pods, &archive.cluster);
    let logs = match &run.record.pod {
        None => Logs {
            lost: vec!["it had no pod when it was stopped".to_owned()],
            ..Logs::default()
        },
        Some(pod) => copy::read_logs(cluster, &run.folder.namespace, pod, &run.containers).await?,
    };
    Ok(Captured { pods, logs, at })
}

/// Reads the logs of each of `picked` before it is stopped; returns the runs whose logs
/// were read, with them. A run whose logs could not be read is put in `undone`: it is
/// not stopped, so that running the same command again saves them and stops it.
async fn capture_all(
    cluster: &Cluster,
    archive: &Archive,
    picked: Vec<Picked>,
    outcome: &mut ClusterOutcome,
) -> (Vec<Picked>, Vec<Option<Captured>>) {
    let reads = Bulk::default()
        .run(picked.iter(), |pick| async move {
            capture(cluster, archive, pick).await
        })
        .await;
    let mut readable = Vec::new();
    let mut captured = Vec::new();
    for attempted in reads {
        let pick = attempted.item;
        match attempted.result {
            Ok(logs) => {
                readable.push(pick.clone());
                captured.push(Some(logs));
            }
            Err(error) => outcome
                .undone
                .push((pick.name(), not_stopped(pick, &error))),
        }
    }
    (readable, captured)
}

/// Writes the stopped run `pick` to the archive: its record as the Job is now (failed,
/// stopped by USER), with the logs `captured` before the stop. Returns its folder.
async fn archive_stopped(
    cluster: &Cluster,
    archive: &Archive,
    pick: &Picked,
    captured: Captured,
    timeout: Duration,
    printer: Printer,
) -> Result<(String, Copied), Error> {
    let namespace = pick.job.metadata.namespace.clone().unwrap_or_default();
    let name = pick.job.metadata.name.clone().unwrap_or_default();
    // The Job controller marks it failed once its pods are gone: within their grace
    // period (30s unless the job says otherwise), and `--timeout` more.
    let grace = pick
        .job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    let limit = Duration::from_secs(u64::try_from(grace).unwrap_or(0)) + timeout;
    let watched = [(namespace.clone(), name.clone())];
    let seen = crate::watch::until_stopped(cluster, &watched, limit, printer).await?;
    if seen.first() != Some(&Stopping::Stopped) {
        return Err(Error::Halted {
            message: format!(
                "the Job controller had not marked it failed after {}, so its record is not final; the logs read before the stop are not saved",
                crate::time::elapsed(limit)
            ),
            hint: None,
        });
    }
    let job = kube::Api::<Job>::namespaced(cluster.client().clone(), &namespace)
        .get(&name)
        .await
        .map_err(|source| {
            cluster.error(
                Operation::new("get", "jobs")
                    .named(name.clone())
                    .in_namespace(namespace.clone()),
                source,
            )
        })?;
    // Its pods are going or gone; those read before the stop say where it ran.
    let mut pods = copy::pods_of_run(cluster, &job).await?;
    if pods.is_empty() {
        pods = captured.pods;
    }
    let run = FinishedRun::of(&job, &pick.cronjob, &pods, &archive.cluster);
    let note = format!(
        "read by kubectl kuul stop at {}, just before it stopped the run (the Job controller then deleted its pods): what the run printed after that is not here",
        captured
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let copied = copy::write_run(&archive.store, &run, captured.logs, Some(note)).await?;
    Ok((run.folder.to_string(), copied))
}

/// The error of a run left running because its logs could not be read.
fn not_stopped(pick: &Picked, error: &Error) -> Error {
    Error::Halted {
        message: format!(
            "run {} (cronjob {}) not stopped: its logs could not be saved: {error}",
            pick.name(),
            pick.cronjob
        ),
        hint: error.hint(),
    }
}

/// The error of a run stopped but not written to the archive.
fn not_archived(pick: &Picked, why: &str) -> Error {
    Error::Halted {
        message: format!(
            "run {} (cronjob {}) was stopped but not archived: {why}",
            pick.name(),
            pick.cronjob
        ),
        hint: None,
    }
}

impl StopArgs {
    /// Checks the flags on their own, before anything is read; returns the selection.
    fn check(&self) -> Result<Selection, Error> {
        let selection = self.jobs.selection()?;
        let usage = |message: String, hint: &str| Error::InvalidInput {
            message,
            hint: Some(hint.to_owned()),
        };
        if let Some(run) = &self.run {
            match &selection {
                Selection::Named(names) if names.len() == 1 => {}
                _ => {
                    return Err(usage(
                        format!("--run {run} picks a run of one job: name exactly that job"),
                        "e.g. kubectl kuul stop backup --run backup-29000060 (the runs: kubectl kuul history backup)",
                    ));
                }
            }
            runs::check_job_name(run).map_err(|message| Error::InvalidInput {
                message: message.replace("--name", "--run"),
                hint: None,
            })?;
        }
        match self.reason.as_deref().map(str::trim) {
            Some("") => Err(usage(
                format!(
                    "invalid --reason {:?}: it is blank",
                    self.reason.clone().unwrap_or_default()
                ),
                "say why, e.g. --and-suspend --reason 'database upgrade'",
            )),
            Some(_) if !self.and_suspend => Err(usage(
                "--reason goes with --and-suspend: it is recorded on the suspended jobs".to_owned(),
                "add --and-suspend, or drop --reason",
            )),
            _ => Ok(selection),
        }
    }

    /// Stops the selected runs of the cluster `kube` selects (suspending their jobs
    /// first with `--and-suspend`).
    async fn on_cluster(
        &self,
        kube: KubeArgs,
        selection: &Selection,
        reason: Option<&str>,
        target: Option<&Target>,
        printer: Printer,
    ) -> Result<ClusterOutcome, Error> {
        let archive = target.map(|t| t.open(&kube)).transpose()?;
        let cluster = Cluster::connect(&kube).await?;
        let dry_run = self.dry_run.dry_run;
        // A store that cannot be written is found before anything is changed.
        if let Some(archive) = &archive
            && dry_run != DryRun::Client
        {
            archive.store.check().await?;
        }
        let (selected, user) = tokio::join!(
            select(&cluster, selection, self.jobs.all_namespaces),
            cluster.user_name()
        );
        let (cronjobs, failures) = selected?;
        let mut outcome = ClusterOutcome {
            undone: failures,
            archive_to: archive.as_ref().map(|a| a.store.url().to_owned()),
            ..ClusterOutcome::default()
        };
        let plan =
            maintenance::plan_suspend(&cronjobs, selection, self.jobs.include_unmanaged, reason);
        maintenance::carry_out::report_plan(
            printer,
            &cluster,
            &plan,
            selection,
            self.jobs.all_namespaces,
        );
        let at = Utc::now();
        let by = user.as_deref();

        // The jobs first, so that their schedule starts nothing new while their runs stop.
        if self.and_suspend {
            self.suspend(&cluster, &plan.steps, by, reason, at, &mut outcome)
                .await;
        }

        let picks = Bulk::default()
            .run(plan.steps.iter(), |step| {
                let cluster = &cluster;
                let cronjob = planned_from(&cronjobs, step);
                async move { self.pick(cluster, cronjob).await }
            })
            .await;
        let mut picked: Vec<Picked> = Vec::new();
        for attempted in picks {
            let step = attempted.item;
            match attempted.result {
                Ok(Ok(runs)) => picked.extend(runs),
                Ok(Err(note)) => {
                    outcome.notes.push(note);
                    outcome.nothing_running_said = true;
                }
                Err(error) => outcome
                    .undone
                    .push((format!("{}/{}", step.namespace, step.name), error)),
            }
        }

        let mark = StopMark {
            by: by.map(str::to_owned),
            at: Some(at),
            reason: reason.map(str::to_owned),
        };
        // With an archive, each run's logs are read before it is stopped; a run whose
        // logs could not be read is left running.
        let archive = archive.filter(|_| dry_run.writes());
        let mut captured: Vec<Option<Captured>> = Vec::new();
        if let Some(archive) = &archive {
            (picked, captured) = capture_all(&cluster, archive, picked, &mut outcome).await;
        }
        let jobs: Vec<Job> = picked.iter().map(|p| p.job.clone()).collect();
        let results =
            job_runs::stop(&cluster, &jobs, &mark, dry_run, self.timeout, printer).await?;
        let mut with_runs = std::collections::BTreeSet::new();
        let mut to_archive = Vec::new();
        for (at, (pick, result)) in picked.iter().zip(results).enumerate() {
            let state = result.as_ref().ok().copied();
            if outcome.take(pick, result, dry_run, self.timeout) {
                let namespace = pick.job.metadata.namespace.clone().unwrap_or_default();
                with_runs.insert((namespace, pick.cronjob.clone()));
            }
            if let Some(logs) = captured.get_mut(at).and_then(Option::take) {
                to_archive.extend(outcome.archivable(pick, state, logs));
            }
        }
        outcome.jobs = with_runs.len();
        if let Some(archive) = &archive {
            self.archive(&cluster, archive, to_archive, &mut outcome, printer)
                .await;
        }
        Ok(outcome)
    }

    /// Writes the stopped runs to the archive, with the logs read before each was
    /// stopped: a line each, a failure in `undone`.
    async fn archive(
        &self,
        cluster: &Cluster,
        archive: &Archive,
        runs: Vec<(&Picked, Captured)>,
        outcome: &mut ClusterOutcome,
        printer: Printer,
    ) {
        let writes =
            futures_util::future::join_all(runs.into_iter().map(|(pick, logs)| async move {
                (
                    pick,
                    archive_stopped(cluster, archive, pick, logs, self.timeout, printer).await,
                )
            }))
            .await;
        for (pick, written) in writes {
            match written {
                Ok((folder, Copied::Archived { lost: None })) => {
                    outcome.lines.push(format!("archived {folder}"));
                    outcome.archived += 1;
                }
                Ok((folder, Copied::Archived { lost: Some(lost) })) => {
                    outcome
                        .lines
                        .push(format!("archived {folder} (no logs: {lost})"));
                    outcome.archived += 1;
                }
                Ok((folder, Copied::AlreadyThere)) => {
                    outcome
                        .notes
                        .push(format!("{folder} was in the archive already"));
                    outcome.archived += 1;
                }
                Err(error) => outcome
                    .undone
                    .push((pick.name(), not_archived(pick, &error.to_string()))),
            }
        }
    }

    /// Suspends and marks the jobs of `steps` not suspended yet, as `suspend` does
    /// (field manager `kuul-suspend`); a line each on stdout, a failure in `undone`.
    async fn suspend(
        &self,
        cluster: &Cluster,
        steps: &[MaintenanceStep],
        by: Option<&str>,
        reason: Option<&str>,
        at: chrono::DateTime<Utc>,
        outcome: &mut ClusterOutcome,
    ) {
        let dry_run = self.dry_run.dry_run;
        let suspends = Bulk::default()
            .run(steps.iter(), |step| async move {
                if step.action == Action::Suspend && dry_run != DryRun::Client {
                    let patch = maintenance::suspend_patch(step, by, reason, at);
                    apply(cluster, step, FIELD_MANAGER, &patch, dry_run).await?;
                }
                Ok(())
            })
            .await;
        for attempted in suspends {
            let step = attempted.item;
            let job = format!("{}/{}", step.namespace, step.name);
            match (attempted.result, step.action) {
                (Ok(()), Action::Suspend) => outcome
                    .lines
                    .push(format!("suspended cronjob {job}{}", dry_run.suffix())),
                (Ok(()), _) => outcome
                    .notes
                    .push(format!("cronjob {job} was suspended already")),
                (Err(error), _) => outcome.undone.push((job, error)),
            }
        }
    }

    /// The runs of `cronjob` to stop: those in progress, or the one `--run` names.
    /// `Ok(Err(note))` when there is nothing to stop and a word to say about it.
    async fn pick(
        &self,
        cluster: &Cluster,
        cronjob: &CronJob,
    ) -> Result<Result<Vec<Picked>, String>, Error> {
        let name = cronjob.metadata.name.clone().unwrap_or_default();
        let namespace = cronjob.metadata.namespace.clone().unwrap_or_default();
        let running = runs_in_progress(cluster, cronjob).await?;
        let picked = |jobs: Vec<Job>| {
            jobs.into_iter()
                .map(|job| Picked {
                    cronjob: name.clone(),
                    job,
                })
                .collect()
        };
        // A run the Job controller is failing already (pods terminating) needs no stop.
        let (running, failing): (Vec<Job>, Vec<Job>) = running
            .into_iter()
            .partition(|job| runs::stopping(job) == Stopping::Pending);
        let Some(run) = &self.run else {
            if running.is_empty() && !failing.is_empty() {
                return Ok(Err(failing_note(&namespace, &name, &failing)));
            }
            return Ok(Ok(picked(running)));
        };
        if let Some(job) = failing
            .iter()
            .find(|job| job.metadata.name.as_deref() == Some(run.as_str()))
        {
            return Ok(Err(failing_note(
                &namespace,
                &name,
                std::slice::from_ref(job),
            )));
        }
        let (chosen, _): (Vec<Job>, Vec<Job>) = running
            .into_iter()
            .partition(|job| job.metadata.name.as_deref() == Some(run.as_str()));
        if !chosen.is_empty() {
            return Ok(Ok(picked(chosen)));
        }
        // Not in progress: finished (nothing to stop), another job's, or no such run.
        let job: Option<Job> = kube::Api::<Job>::namespaced(cluster.client().clone(), &namespace)
            .get_opt(run)
            .await
            .map_err(|source| {
                cluster.error(
                    Operation::new("get", "jobs")
                        .named(run.clone())
                        .in_namespace(namespace.clone()),
                    source,
                )
            })?;
        let owned = job.as_ref().is_some_and(|job| {
            cronjob
                .metadata
                .uid
                .as_deref()
                .is_some_and(|uid| runs::controlled_by(job, uid))
        });
        match (job, owned) {
            (Some(job), true) => {
                let ended = match runs::finished(&job) {
                    Some(runs::Finished::Succeeded) => "succeeded",
                    _ => "failed",
                };
                Ok(Err(format!(
                    "nothing running: run {namespace}/{run} (cronjob {name}) has {ended} already"
                )))
            }
            (found, _) => Err(Error::Halted {
                message: format!(
                    "run {run} of cronjob {name} not found in namespace {namespace:?}{}",
                    if found.is_some() {
                        ": that Job is not one of its runs"
                    } else {
                        ""
                    }
                ),
                hint: Some(format!(
                    "its runs: kubectl kuul history {name} -n {namespace}"
                )),
            }),
        }
    }
}

/// Says that `failing` runs of the cronjob `name` are ending already.
fn failing_note(namespace: &str, name: &str, failing: &[Job]) -> String {
    let runs: Vec<String> = failing
        .iter()
        .map(|job| {
            format!(
                "{namespace}/{}",
                job.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    format!(
        "nothing running: run(s) {} (cronjob {name}) failed already, their pods terminating",
        runs.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;
    use crate::error::ExitStatus;

    fn check(words: &[&str]) -> Result<Selection, Error> {
        try_parse::<StopArgs>(words).unwrap().check()
    }

    #[test]
    fn names_selector_or_all_and_one_run() {
        assert!(check(&["backup"]).is_ok());
        assert!(check(&["--all", "-A"]).is_ok());
        assert!(check(&["backup", "--run", "backup-29000060"]).is_ok());
        assert!(check(&["backup", "--and-suspend", "--reason", "hung"]).is_ok());
        let args = try_parse::<StopArgs>(&["backup"]).unwrap();
        assert_eq!(args.timeout, Duration::from_secs(30));
    }

    #[test]
    fn bad_input_is_a_usage_error_naming_the_flag() {
        for (words, says) in [
            (&["-l", "a=b", "--run", "x"][..], "--run x"),
            (&["a", "b", "--run", "x"], "--run x"),
            (&["backup", "--run", "Backup_1"], "--run"),
            (
                &["backup", "--reason", "hung"],
                "--reason goes with --and-suspend",
            ),
            (&["backup", "--and-suspend", "--reason", " "], "--reason"),
            (&[], "no jobs given"),
        ] {
            let error = check(words).unwrap_err();
            assert_eq!(error.exit_status(), ExitStatus::Usage, "{words:?}");
            assert!(error.to_string().contains(says), "{words:?}: {error}");
        }
        for (words, says) in [
            (
                &["backup", "--archive", "gs://b/x"][..],
                "invalid --archive \"gs://b/x\"",
            ),
            (
                &["backup", "--endpoint", "http://127.0.0.1:9000"],
                "--endpoint needs an archive",
            ),
        ] {
            let args = try_parse::<StopArgs>(words).unwrap();
            let error = args.archive.target().unwrap_err();
            assert_eq!(error.exit_status(), ExitStatus::Usage, "{words:?}");
            assert!(error.to_string().contains(says), "{words:?}: {error}");
        }
        assert!(try_parse::<StopArgs>(&["backup", "--archive", "/a", "--no-archive"]).is_err());
        for timeout in ["-3", "0", "soon"] {
            let error = try_parse::<StopArgs>(&["backup", "--timeout", timeout]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{timeout}");
        }
    }
}
