//! `kubectl kuul logs NAME`: what a Kuul job's runs printed.
//!
//! `kubectl logs` needs a pod name, and a `CronJob`'s pods change name every run. This
//! command finds the runs as `history` does ([`crate::job_runs::retained_runs`]), picks
//! the newest (or `--run N`, `--run JOBNAME`), and prints its pod's logs; `--all` prints
//! every retained run oldest first under a header, so an operator can page to the run
//! where something changed. `-f` follows a run in progress through [`crate::watch`],
//! waiting for its pod to start. A run whose pod is gone is named, with the runs whose
//! logs remain.

use std::time::Duration;

use clap::Args;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use crate::cli::{BlockedTimeoutArgs, KubeArgs, sum_of_units};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::history::{RunRecord, zone_of};
use crate::job_runs::retained_runs;
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
    sum_of_units(
        text,
        &[
            ("h", Duration::from_secs(3600)),
            ("m", Duration::from_secs(60)),
            ("s", Duration::from_secs(1)),
        ],
    )
    .filter(|d| !d.is_zero())
    .ok_or_else(|| format!("invalid duration {text:?}: use units like 30s, 10m, 1h30m"))
}

impl KuulCommand for LogsArgs {
    const NAME: &'static str = "logs";
    const ABOUT: &'static str = "Show the logs of a Kuul job's runs.";
    const LONG_ABOUT: &'static str = include_str!("help/logs.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        check_job_name("NAME", &self.name)?;
        let cluster = Cluster::connect(&kube).await?;
        let (cronjob, records) = retained_runs(&cluster, &self.name, printer).await?;
        if records.is_empty() {
            return Err(Error::Halted {
                message: format!("cronjob {:?} has no retained runs", self.name),
                hint: Some(format!(
                    "`kubectl kuul run-now {} --follow` starts one and shows its logs",
                    self.name
                )),
            });
        }
        let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), cluster.namespace());
        if self.all {
            let zone = zone_of(&cronjob);
            for (index, record) in records.iter().rev().enumerate() {
                if index > 0 {
                    printer.data("\n")?;
                }
                printer.line(format_args!(
                    "=== run {} · {} · {} ===",
                    record.run,
                    record.trigger.describe(zone),
                    record.result
                ))?;
                match &record.pod {
                    Some(pod) => {
                        if let Err(error) = self.print_log(&cluster, &pods, pod, printer).await {
                            if matches!(error, Error::StdoutClosed) {
                                return Err(error);
                            }
                            printer.warn(format_args!("run {}: {error}", record.run));
                        }
                    }
                    None => printer.line("(its pod is gone: no logs left)")?,
                }
            }
            return Ok(());
        }
        let record = self.pick(&records)?;
        if self.follow && !record.result.is_finished() {
            let job = Api::<Job>::namespaced(cluster.client().clone(), cluster.namespace())
                .get(&record.run)
                .await
                .map_err(|source| {
                    cluster.error(
                        Operation::new("get", "jobs")
                            .named(&record.run)
                            .in_namespace(cluster.namespace()),
                        source,
                    )
                })?;
            let options = WaitOptions {
                follow: true,
                timeout: None,
                blocked_timeout: self.blocked.blocked_timeout.0,
            };
            return watch::until_finished(&cluster, &job, options, printer).await;
        }
        let Some(pod) = &record.pod else {
            return Err(gone(record, &records));
        };
        self.print_log(&cluster, &pods, pod, printer).await
    }
}

impl LogsArgs {
    /// The run `--run` names, or the newest.
    fn pick<'a>(&self, records: &'a [RunRecord]) -> Result<&'a RunRecord, Error> {
        let names = || {
            records
                .iter()
                .map(|r| r.run.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.run {
            None => Ok(&records[0]),
            Some(RunChoice::Newest(n)) => records.get(n - 1).ok_or_else(|| Error::Halted {
                message: format!(
                    "cronjob {:?} has {} retained runs; there is no run {n}",
                    self.name,
                    records.len()
                ),
                hint: Some(format!("the runs, newest first: {}", names())),
            }),
            Some(RunChoice::Named(job)) => {
                records
                    .iter()
                    .find(|r| &r.run == job)
                    .ok_or_else(|| Error::Halted {
                        message: format!(
                            "job {job:?} is not a retained run of cronjob {:?}",
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

/// The error for a run whose pod is gone, naming the runs whose logs remain.
fn gone(record: &RunRecord, records: &[RunRecord]) -> Error {
    let with_logs: Vec<&str> = records
        .iter()
        .filter(|r| r.pod.is_some())
        .map(|r| r.run.as_str())
        .collect();
    let hint = if with_logs.is_empty() {
        "no retained run has a pod left".to_owned()
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
        assert!(parse_since("0s").is_err());
        assert!(parse_since("ten").is_err());
    }

    #[test]
    fn a_run_without_pod_names_the_runs_that_have_logs() {
        let records = [
            record("b-3", None),
            record("b-2", Some("b-2-x")),
            record("b-1", Some("b-1-y")),
        ];
        let error = gone(&records[0], &records);
        assert_eq!(
            error.to_string(),
            "run b-3 has no pod left (pruned or deleted): its logs are gone"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("runs with logs, newest first: b-2, b-1 (pick one with --run)")
        );
    }
}
