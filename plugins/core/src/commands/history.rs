//! `kubectl kuul history NAME`: the retained runs of a Kuul job, newest first.
//!
//! One get (the `CronJob`) and two paginated lists (its Jobs and their Pods, by the
//! `kuul.io/job` label) give every run's trigger, timing, result, exit code, reason, node
//! and termination message, read by [`crate::job_runs::retained_runs`] (which `logs`
//! uses too); [`crate::history`] joins and lays them out.

use chrono::Utc;
use clap::Args;

use crate::cli::{KubeArgs, OutputArgs, OutputFormat};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::history;
use crate::job_runs::retained_runs;
use crate::kuul_job::check_job_name;
use crate::printer::Printer;

/// Arguments of `kubectl kuul history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Name of the Kuul job (its `CronJob`)
    pub name: String,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl KuulCommand for HistoryArgs {
    const NAME: &'static str = "history";
    const ABOUT: &'static str = "Show the retained runs of a Kuul job.";
    const LONG_ABOUT: &'static str = include_str!("help/history.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        check_job_name("NAME", &self.name)?;
        let cluster = Cluster::connect(&kube).await?;
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
                printer.data(&table.to_string())
            }
        }
    }
}
