//! `kubectl kuul logs NAME`: what a Kuul job's runs printed.
//!
//! `kubectl logs` needs a pod name, and a `CronJob`'s pods change name every run. This
//! command finds the runs as `history` does ([`crate::job_runs::retained_runs`]), picks
//! the newest (or `--run N`, `--run JOBNAME`), and prints its pod's logs; `--all` prints
//! every retained run oldest first under a header, so an operator can page to the run
//! where something changed. `-f` follows a run in progress through [`crate::watch`],
//! waiting for its pod to start. A run whose pod is gone is named, with the runs whose
//! logs remain.

use std::cell::Cell;
use std::time::Duration;

use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use chrono_tz::Tz;

use crate::archive::open::Archive;
use crate::archive::read::{StoredRun, last_lines};
use crate::cli::{
    ArchiveSourceArgs, BlockedTimeoutArgs, ContextsArgs, GO_UNITS, KubeArgs, sum_of_units,
};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::history::{ListedRun, RunRecord, Source, zone_of};
use crate::job_runs::{ClusterRuns, JobRuns, across_clusters, read_job_runs};
use crate::kuul_job::check_job_name;
use crate::printer::Printer;
use crate::watch::{self, WaitOptions};

/// Arguments of `kubectl kuul logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Name of the Kuul job (its `CronJob`)
    pub name: String,

    /// Which run: N for the N-th newest (1 is the newest), or the run's Job name
    #[arg(long, value_name = "N|JOBNAME", conflicts_with = "all")]
    pub run: Option<RunChoice>,

    /// Every retained run, oldest first, each under a header
    #[arg(long)]
    pub all: bool,

    /// Follow the run while it runs, waiting for it to start; exits 4 if it fails
    #[arg(short = 'f', long, conflicts_with_all = ["all", "since", "tail"])]
    pub follow: bool,

    #[command(flatten)]
    pub blocked: BlockedTimeoutArgs,

    /// Only lines newer than this, e.g. 30s, 10m, 1h
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<Duration>,

    /// Only the last N lines of each run
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,

    #[command(flatten)]
    pub archive: ArchiveSourceArgs,

    #[command(flatten)]
    pub contexts: ContextsArgs,
}

/// A `--run` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunChoice {
    /// The N-th newest, from 1.
    Newest(usize),
    /// The Job of this name.
    Named(String),
}

impl std::str::FromStr for RunChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
            return match text.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Self::Newest(n)),
                _ => Err(format!(
                    "invalid run {text:?}: 1 is the newest run, 2 the one before"
                )),
            };
        }
        crate::runs::check_job_name(text)
            .map(|()| Self::Named(text.to_owned()))
            .map_err(|e| e.replace("--name", "--run"))
    }
}

fn parse_since(text: &str) -> Result<Duration, String> {
    sum_of_units(text, &GO_UNITS)
        .filter(|d| !d.is_zero())
        // The API takes whole seconds: a part of one counts as one, as kubectl rounds.
        .map(|d| Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)))
        .ok_or_else(|| format!("invalid duration {text:?}: use units like 30s, 1.5s, 10m, 1h30m"))
}

impl KuulCommand for LogsArgs {
    const NAME: &'static str = "logs";
    const ABOUT: &'static str = "Show the logs of a Kuul job's runs.";
    const LONG_ABOUT: &'static str = include_str!("help/logs.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        check_job_name("NAME", &self.name)?;
        let target = self.archive.target()?;
        let contexts = clusters::selected(&self.contexts, &kube)?;
        let kept = if target.is_some() {
            "retained or archived"
        } else {
            "retained"
        };
        let (runs, sides, unreachable) = if contexts.len() > 1 {
            let across =
                across_clusters(&kube, &contexts, &self.name, target.as_ref(), printer).await?;
            let sides: Vec<Side> = across
                .sides
                .into_iter()
                .map(|(context, side)| Side::of(Some(context), side.cluster, side.archive))
                .collect();
            (across.runs, sides, across.unreachable)
        } else {
            let side = read_job_runs(&kube, &self.name, target.as_ref(), printer).await?;
            let ClusterRuns {
                cluster,
                archive,
                runs,
            } = side;
            (runs, vec![Side::of(None, cluster, archive)], Vec::new())
        };
        if runs.listed.is_empty() {
            clusters::unreachable(&unreachable, contexts.len())?;
            return Err(Error::Halted {
                message: format!("cronjob {:?} has no {kept} runs", self.name),
                hint: Some(format!(
                    "`kubectl kuul run-now {} --follow` starts one and shows its logs",
                    self.name
                )),
            });
        }
        let reader = Reader {
            args: &self,
            sides: &sides,
            runs: &runs,
            printer,
            since_told: Cell::new(false),
        };
        if self.all {
            reader.all().await?;
        } else {
            let run = self.pick(&runs.listed, kept)?;
            if self.follow && !run.record.result.is_finished() {
                return reader.follow(run).await;
            }
            reader.one(run).await?;
        }
        if let Some(error) = runs.archive_failed {
            return Err(error);
        }
        clusters::unreachable(&unreachable, contexts.len())
    }
}

/// One cluster whose runs are listed: its connection and its archive.
struct Side {
    /// Its kubeconfig context, when several clusters are read.
    context: Option<String>,
    cluster: Cluster,
    pods: Api<Pod>,
    archive: Option<Archive>,
}

impl Side {
    fn of(context: Option<String>, cluster: Cluster, archive: Option<Archive>) -> Self {
        let pods = Api::namespaced(cluster.client().clone(), cluster.namespace());
        Self {
            context,
            cluster,
            pods,
            archive,
        }
    }
}

/// What prints a run's logs: from its pod while its cluster has one, else from the
/// archive.
struct Reader<'a> {
    args: &'a LogsArgs,
    sides: &'a [Side],
    runs: &'a JobRuns,
    printer: Printer,
    /// Whether the warning that `--since` does not apply to archived logs was given.
    since_told: Cell<bool>,
}

impl Reader<'_> {
    /// Every run, oldest first, each under a header; a run whose logs cannot be read is
    /// a warning, and the others are still printed.
    async fn all(&self) -> Result<(), Error> {
        let zone = self.runs.cronjob.as_ref().map_or(Tz::UTC, zone_of);
        for (index, run) in self.runs.listed.iter().rev().enumerate() {
            let record = &run.record;
            if index > 0 {
                self.printer.data("\n")?;
            }
            let context = run
                .context
                .as_ref()
                .map(|context| format!(" · {context}"))
                .unwrap_or_default();
            self.printer.line(format_args!(
                "=== run {}{context} · {} · {} ===",
                record.run,
                record.trigger.describe(zone),
                record.result
            ))?;
            match self.one(run).await {
                Ok(()) => {}
                Err(Error::StdoutClosed) => return Err(Error::StdoutClosed),
                Err(Error::Halted { message, .. }) if self.has_no_logs(run) => {
                    self.printer.line(format_args!("({message})"))?;
                }
                Err(error) => self
                    .printer
                    .warn(format_args!("run {}: {error}", record.run)),
            }
        }
        Ok(())
    }

    /// Whether neither the cluster nor the archive has logs of `run`.
    fn has_no_logs(&self, run: &ListedRun) -> bool {
        let in_cluster = run.source != Source::Archive && run.record.pod.is_some();
        let archived = self
            .runs
            .archived_copy(run)
            .is_some_and(|stored| !stored.record.logs.is_empty());
        !in_cluster && !archived
    }

    /// The cluster `run` was read from.
    fn side(&self, run: &ListedRun) -> &Side {
        self.sides
            .iter()
            .find(|side| side.context == run.context)
            .unwrap_or(&self.sides[0])
    }

    /// The logs of one run: its pod's while the cluster has it, else the archived copy's.
    async fn one(&self, run: &ListedRun) -> Result<(), Error> {
        let archived = self.runs.archived_copy(run);
        let side = self.side(run);
        if let (Some(pod), true) = (&run.record.pod, run.source != Source::Archive) {
            match self
                .args
                .print_log(&side.cluster, &side.pods, pod, self.printer)
                .await
            {
                // The pod went between the list and the read: the archive may have it.
                Err(Error::NotFound { .. }) if archived.is_some() => {}
                done => return done,
            }
        }
        match (archived, &side.archive) {
            (Some(stored), Some(archive)) => self.print_archived(archive, stored).await,
            _ => Err(gone(&run.record, &self.runs.listed)),
        }
    }

    /// Follows a run in progress through [`crate::watch`].
    async fn follow(&self, run: &ListedRun) -> Result<(), Error> {
        let cluster = &self.side(run).cluster;
        let namespace = cluster.namespace();
        let job = Api::<Job>::namespaced(cluster.client().clone(), namespace)
            .get(&run.record.run)
            .await
            .map_err(|source| {
                cluster.error(
                    Operation::new("get", "jobs")
                        .named(&run.record.run)
                        .in_namespace(namespace),
                    source,
                )
            })?;
        let options = WaitOptions {
            follow: true,
            timeout: None,
            blocked_timeout: self.args.blocked.blocked_timeout.0,
        };
        watch::until_finished(cluster, &job, options, self.printer).await
    }

    /// The archived logs of a run: each container's, under a line naming it when there
    /// are several; `--tail` applies, `--since` cannot (the lines carry no time).
    async fn print_archived(&self, archive: &Archive, stored: &StoredRun) -> Result<(), Error> {
        let record = &stored.record;
        if record.logs.is_empty() {
            let why = record.logs_lost.as_deref().unwrap_or("it had none");
            return Err(Error::Halted {
                message: format!("run {} was archived without logs: {why}", record.record.run),
                hint: None,
            });
        }
        if self.args.since.is_some() && !self.since_told.replace(true) {
            self.printer.warn(format_args!(
                "--since does not apply to archived logs (their lines carry no time): printing them whole"
            ));
        }
        for remark in record.log_remarks() {
            self.printer.warn(remark);
        }
        for log in &record.logs {
            if record.logs.len() > 1 {
                self.printer
                    .line(format_args!("--- container {} ---", log.container))?;
            }
            let bytes = archive.log(&stored.folder, log).await?;
            let bytes = match self.args.tail {
                Some(n) => last_lines(&bytes, usize::try_from(n).unwrap_or(usize::MAX)),
                None => &bytes,
            };
            let text = String::from_utf8_lossy(bytes);
            if text.is_empty() || text.ends_with('\n') {
                self.printer.data(&text)?;
            } else {
                self.printer.line(text)?;
            }
        }
        Ok(())
    }
}

impl LogsArgs {
    /// The run `--run` names, or the newest, among the runs `kept` (retained, or
    /// retained or archived) names.
    fn pick<'a>(&self, runs: &'a [ListedRun], kept: &str) -> Result<&'a ListedRun, Error> {
        let names = || {
            runs.iter()
                .map(|r| r.record.run.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.run {
            None => Ok(&runs[0]),
            Some(RunChoice::Newest(n)) => runs.get(n - 1).ok_or_else(|| Error::Halted {
                message: format!(
                    "cronjob {:?} has {} {kept} runs; there is no run {n}",
                    self.name,
                    runs.len()
                ),
                hint: Some(format!("the runs, newest first: {}", names())),
            }),
            Some(RunChoice::Named(job)) => {
                runs.iter()
                    .find(|r| &r.record.run == job)
                    .ok_or_else(|| Error::Halted {
                        message: format!(
                            "job {job:?} is not a {kept} run of cronjob {:?}",
                            self.name
                        ),
                        hint: Some(format!("the runs, newest first: {}", names())),
                    })
            }
        }
    }

    async fn print_log(
        &self,
        cluster: &Cluster,
        pods: &Api<Pod>,
        pod: &str,
        printer: Printer,
    ) -> Result<(), Error> {
        let params = LogParams {
            since_seconds: self
                .since
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            tail_lines: self.tail.map(i64::from),
            ..LogParams::default()
        };
        let text = pods.logs(pod, &params).await.map_err(|source| {
            cluster.error(
                Operation::new("get logs of", "pods")
                    .named(pod)
                    .in_namespace(cluster.namespace()),
                source,
            )
        })?;
        if text.is_empty() || text.ends_with('\n') {
            printer.data(&text)
        } else {
            printer.line(text)
        }
    }
}

/// The error for a run whose pod is gone and that no archive holds, naming the runs
/// whose logs remain.
fn gone(record: &RunRecord, runs: &[ListedRun]) -> Error {
    let with_logs: Vec<&str> = runs
        .iter()
        .filter(|r| r.archived.is_some() || (r.source != Source::Archive && r.record.pod.is_some()))
        .map(|r| r.record.run.as_str())
        .collect();
    let hint = if with_logs.is_empty() {
        "no run has logs left; `kubectl kuul archive` keeps runs' logs after their pods are gone"
            .to_owned()
    } else {
        format!(
            "runs with logs, newest first: {} (pick one with --run)",
            with_logs.join(", ")
        )
    };
    Error::Halted {
        message: format!(
            "run {} has no pod left (pruned or deleted): its logs are gone",
            record.run
        ),
        hint: Some(hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{RunResult, Trigger};

    fn record(run: &str, pod: Option<&str>) -> RunRecord {
        RunRecord {
            run: run.to_owned(),
            trigger: Trigger::Scheduled { at: None },
            created: None,
            started: None,
            finished: None,
            result: RunResult::Succeeded,
            exit_code: Some(0),
            reason: None,
            node: None,
            message: None,
            pod: pod.map(str::to_owned),
            blocker: None,
            stopped: None,
        }
    }

    #[test]
    fn run_takes_a_position_or_a_job_name() {
        assert_eq!("2".parse::<RunChoice>(), Ok(RunChoice::Newest(2)));
        assert_eq!(
            "backup-db-29000060".parse::<RunChoice>(),
            Ok(RunChoice::Named("backup-db-29000060".to_owned()))
        );
        assert!("0".parse::<RunChoice>().is_err());
        assert!(
            "Not_A_Job"
                .parse::<RunChoice>()
                .unwrap_err()
                .contains("--run")
        );
        assert!(parse_since("10m").is_ok());
        assert_eq!(parse_since("1.5s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_since("500ms"), Ok(Duration::from_secs(1)));
        assert!(parse_since("0s").is_err());
        assert!(parse_since("ten").is_err());
    }

    #[test]
    fn a_run_without_pod_names_the_runs_that_have_logs() {
        let records = vec![
            record("b-3", None),
            record("b-2", Some("b-2-x")),
            record("b-1", Some("b-1-y")),
        ];
        let runs = crate::history::merge(records, &[]);
        let error = gone(&runs[0].record, &runs);
        assert_eq!(
            error.to_string(),
            "run b-3 has no pod left (pruned or deleted): its logs are gone"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("runs with logs, newest first: b-2, b-1 (pick one with --run)")
        );
        // An archived copy has logs too, though its pod is gone.
        let archived = [record("b-3", Some("b-3-z"))];
        let runs = crate::history::merge(vec![record("b-3", None)], &archived);
        assert_eq!(runs[0].source, Source::Both);
        let none = crate::history::merge(vec![record("b-3", None)], &[]);
        assert!(
            gone(&none[0].record, &none)
                .hint()
                .unwrap()
                .starts_with("no run has logs left; `kubectl kuul archive`")
        );
        assert_eq!(
            gone(&runs[0].record, &runs).hint().as_deref(),
            Some("runs with logs, newest first: b-3 (pick one with --run)")
        );
    }
}
