//! `kubectl kuul history NAME`: the retained runs of a Kuul job, newest first.
//!
//! One get (the `CronJob`) and two paginated lists (its Jobs and their Pods, by the
//! `kuul.io/job` label) give every run's trigger, timing, result, exit code, reason, node
//! and termination message, read by [`crate::job_runs::retained_runs`] (which `logs`
//! uses too); [`crate::history`] joins and lays them out. With an archive (`--archive`,
//! or the config's `archive:`) the job's archived runs are read at the same time and
//! listed with the retained ones, newest first, a SOURCE column saying where each is.

use chrono::Utc;
use chrono_tz::Tz;
use clap::Args;

use crate::archive::open::Archive;
use crate::cli::{ArchiveSourceArgs, ContextsArgs, KubeArgs, OutputArgs, OutputFormat};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::history;
use crate::job_runs::{JobRuns, across_clusters, retained_and_archived_runs, retained_runs};
use crate::kuul_job::check_job_name;
use crate::printer::Printer;

/// Arguments of `kubectl kuul history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Name of the Kuul job (its `CronJob`)
    pub name: String,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub archive: ArchiveSourceArgs,

    #[command(flatten)]
    pub contexts: ContextsArgs,
}

impl KuulCommand for HistoryArgs {
    const NAME: &'static str = "history";
    const ABOUT: &'static str = "Show the retained runs of a Kuul job.";
    const LONG_ABOUT: &'static str = include_str!("help/history.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.output.headers);
        check_job_name("NAME", &self.name)?;
        let target = self.archive.target()?;
        let contexts = clusters::selected(&self.contexts, &kube)?;
        if contexts.len() > 1 {
            let across =
                across_clusters(&kube, &contexts, &self.name, target.as_ref(), printer).await?;
            self.print_listed(&across.runs, target.is_some(), printer)?;
            if let Some(error) = across.runs.archive_failed {
                return Err(error);
            }
            return clusters::unreachable(&across.unreachable, contexts.len());
        }
        let archive = target.map(|t| t.open(&kube)).transpose()?;
        let cluster = Cluster::connect(&kube).await?;
        if let Some(archive) = archive {
            return self.with_archive(&cluster, &archive, printer).await;
        }
        let (cronjob, records) = retained_runs(&cluster, &self.name, printer).await?;
        match self.output.output {
            OutputFormat::Json => printer.json(&records),
            OutputFormat::Yaml => printer.yaml(&records),
            OutputFormat::Name => {
                for record in &records {
                    printer.line(format_args!("job.batch/{}", record.run))?;
                }
                Ok(())
            }
            OutputFormat::Table | OutputFormat::Wide => {
                if records.is_empty() {
                    printer.info(format_args!("cronjob {:?} has no retained runs", self.name));
                    return Ok(());
                }
                let table = history::table(&records, history::zone_of(&cronjob), Utc::now());
                printer.table(&table)
            }
        }
    }
}

impl HistoryArgs {
    /// The retained and the archived runs together, with where each was found.
    async fn with_archive(
        &self,
        cluster: &Cluster,
        archive: &Archive,
        printer: Printer,
    ) -> Result<(), Error> {
        let runs = retained_and_archived_runs(cluster, &self.name, archive, printer).await?;
        self.print_listed(&runs, true, printer)?;
        runs.archive_failed.map_or(Ok(()), Err)
    }
}

impl HistoryArgs {
    /// Listed runs (with an archive, or of several clusters), as `-o` asks: with
    /// `sources`, the SOURCE column.
    fn print_listed(&self, runs: &JobRuns, sources: bool, printer: Printer) -> Result<(), Error> {
        match self.output.output {
            OutputFormat::Json => printer.json(&runs.listed),
            OutputFormat::Yaml => printer.yaml(&runs.listed),
            OutputFormat::Name => {
                for run in &runs.listed {
                    printer.line(format_args!("job.batch/{}", run.record.run))?;
                }
                Ok(())
            }
            OutputFormat::Table | OutputFormat::Wide => {
                if runs.listed.is_empty() {
                    let kept = if sources {
                        "retained or archived"
                    } else {
                        "retained"
                    };
                    printer.info(format_args!("cronjob {:?} has no {kept} runs", self.name));
                    return Ok(());
                }
                let zone = runs.cronjob.as_ref().map_or(Tz::UTC, history::zone_of);
                let table = history::listed_table(&runs.listed, sources, zone, Utc::now());
                printer.table(&table)
            }
        }
    }
}
