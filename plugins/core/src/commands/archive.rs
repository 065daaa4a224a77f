//! `kubectl kuul archive --to URL`: copy every finished run of the selected Kuul jobs
//! (its record and its logs) to a folder or S3-compatible object storage, so that runs
//! outlive the history limits and `prune`.
//!
//! The flags are checked first (the store URL, the endpoint, the cluster's name), then
//! the store is asked once whether it takes the credentials, the runs are read
//! ([`crate::archive::copy::runs_of`]), each job's folder in the store is listed once to
//! skip the runs already there, and the rest are copied with [`Bulk`], one failure not
//! stopping the others. A store that refuses the credentials stops everything at once,
//! since every write would fail alike.

use clap::Args;

use crate::archive::copy;
use crate::archive::open::{self, Archive, Target};
use crate::cli::{JobSelectionArgs, KubeArgs, StoreArgs};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::maintenance::carry_out::select;
use crate::maintenance::is_managed;
use crate::printer::Printer;

/// Arguments of `kubectl kuul archive`.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    // Help in `help = ...`: clippy would have the URLs of a doc comment in backticks,
    // which clap would show.
    #[arg(
        long,
        value_name = "URL",
        help = "The store: s3://BUCKET/PREFIX, file:///PATH or a folder (default: the config's archive)"
    )]
    pub to: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl KuulCommand for ArchiveArgs {
    const NAME: &'static str = "archive";
    const ABOUT: &'static str =
        "Copy the finished runs of Kuul jobs (records and logs) to a folder or S3.";
    const LONG_ABOUT: &'static str = include_str!("help/archive.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let selection = self.jobs.selection()?;
        let target = self.target()?;
        let Archive {
            store,
            cluster: cluster_name,
        } = target.open(&kube)?;
        let cluster = Cluster::connect(&kube).await?;
        // A refused credential says so once, before anything is read.
        store.check().await?;

        let (cronjobs, mut failures) =
            select(&cluster, &selection, self.jobs.all_namespaces).await?;
        let (cronjobs, unmanaged): (Vec<_>, Vec<_>) = cronjobs
            .into_iter()
            .partition(|c| !selection.is_bulk() || self.jobs.include_unmanaged || is_managed(c));
        if !unmanaged.is_empty() {
            printer.info(format_args!(
                "left alone {} CronJob(s) kuul does not manage (name them, or pass --include-unmanaged)",
                unmanaged.len()
            ));
        }
        let scope = (!self.jobs.all_namespaces).then(|| cluster.namespace());
        let runs = copy::runs_of(&cluster, &cronjobs, scope, &cluster_name).await?;

        let archiving = copy::archive_runs(&cluster, &store, &runs.finished, printer, true).await?;
        failures.extend(archiving.failures);
        let tally = Tally {
            archived: archiving.archived,
            skipped: archiving.already_there,
            failed: failures.len(),
            in_progress: runs.in_progress,
        };
        for (what, error) in &failures {
            printer.warn(format_args!("{what}: {error}"));
        }
        printer.line(tally.summary(store.url()))?;
        if tally.failed > 0 {
            return Err(Error::Halted {
                message: format!(
                    "{} of the runs could not be archived (see above)",
                    tally.failed
                ),
                hint: Some("run the same archive again: it copies only what is missing".to_owned()),
            });
        }
        Ok(())
    }
}

impl ArchiveArgs {
    /// The store (`--to`, else the config's `archive`), with the other flags checked
    /// before anything is read.
    fn target(&self) -> Result<Target, Error> {
        open::target("--to", self.to.as_deref(), &self.store)?.ok_or_else(|| Error::InvalidInput {
            message: "no store to archive to".to_owned(),
            hint: Some(
                "pass --to s3://BUCKET/PREFIX or --to FOLDER, or set `archive:` in the kuul config"
                    .to_owned(),
            ),
        })
    }
}

/// What became of the runs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    archived: usize,
    skipped: usize,
    failed: usize,
    in_progress: usize,
}

impl Tally {
    /// `archived 3 runs to s3://b/p; 12 already there; 1 failed; 2 in progress not archived`.
    fn summary(&self, store: &str) -> String {
        let runs = |n: usize| if n == 1 { "run" } else { "runs" };
        let mut summary = format!(
            "archived {} {} to {store}",
            self.archived,
            runs(self.archived)
        );
        for (count, what) in [
            (self.skipped, "already there"),
            (self.failed, "failed"),
            (self.in_progress, "in progress, not archived"),
        ] {
            if count > 0 {
                summary = format!("{summary}; {count} {what}");
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_every_run() {
        let tally = Tally {
            archived: 3,
            skipped: 12,
            failed: 1,
            in_progress: 2,
        };
        assert_eq!(
            tally.summary("s3://kuul-logs/prod"),
            "archived 3 runs to s3://kuul-logs/prod; 12 already there; 1 failed; 2 in progress, not archived"
        );
        assert_eq!(
            Tally {
                archived: 1,
                ..Tally::default()
            }
            .summary("/var/kuul"),
            "archived 1 run to /var/kuul"
        );
    }
}
