//! Reading a Kuul job's runs from the cluster, for the commands that act on them.
//!
//! Several commands need the same reads: `run-now` and `suspend --stop-running` the runs
//! still in progress, `history` and `logs` every retained run. The reads live here, below
//! the commands, so that rewriting one command cannot break another; what the objects
//! mean is decided by the pure modules [`crate::runs`] and [`crate::history`].

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;

use crate::client::Cluster;
use crate::error::Error;
use crate::history::{RunRecord, pods_of, runs_of};
use crate::printer::Printer;
use crate::runs;

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
