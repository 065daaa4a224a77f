//! Reading a Kuul job's runs from the cluster, for the commands that act on them.
//!
//! Several commands need the same reads: `run-now` and `suspend --stop-running` the runs
//! still in progress, `history` and `logs` every retained run. The reads live here, below
//! the commands, so that rewriting one command cannot break another; what the objects
//! mean is decided by the pure modules [`crate::runs`] and [`crate::history`].

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::client::Cluster;
use crate::error::Error;
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
