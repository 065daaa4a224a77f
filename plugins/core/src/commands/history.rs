//! `kubectl kuul history NAME`: the retained runs of a Kuul job, newest first.
//!
//! One get (the `CronJob`) and two paginated lists (its Jobs and their Pods, by the
//! `kuul.io/job` label) give every run's trigger, timing, result, exit code, reason, node
//! and termination message; [`crate::history`] joins and lays them out. `logs` reads the
//! runs the same way, through [`retained_runs`].

use chrono::Utc;
use clap::Args;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use crate::cli::{KubeArgs, OutputArgs, OutputFormat};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::history::{self, RunRecord, pods_of, runs_of};
use crate::kuul_job::check_job_name;
use crate::printer::Printer;
use crate::runs;

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

/// The `CronJob` `name` in the cluster's namespace and its runs, newest first: one get
/// and two paginated lists (Jobs and Pods by the kuul job label, or every Job and Pod of
/// the namespace when its template lacks that label).
pub(crate) async fn retained_runs(
    cluster: &Cluster,
    name: &str,
    printer: Printer,
) -> Result<(CronJob, Vec<RunRecord>), Error> {
    let namespace = cluster.namespace();
    let cronjob = Api::<CronJob>::namespaced(cluster.client().clone(), namespace)
        .get(name)
        .await
        .map_err(|source| {
            cluster.error(
                Operation::new("get", "cronjobs")
                    .named(name)
                    .in_namespace(namespace),
                source,
            )
        })?;
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
