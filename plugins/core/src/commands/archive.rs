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

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::archive::RunFolder;
use crate::archive::copy::{self, Copied, FinishedRun, archived_runs, copy_run};
use crate::archive::open::{self, Archive, Target};
use crate::archive::store::Store;
use crate::bulk::Bulk;
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

        let (present, listing_failures) = already_archived(&store, &runs.finished).await?;
        failures.extend(listing_failures);
        let (skipped, to_copy): (Vec<&FinishedRun>, Vec<&FinishedRun>) = runs
            .finished
            .iter()
            .partition(|run| present.contains(&run.folder));

        let mut tally = Tally {
            skipped: skipped.len(),
            in_progress: runs.in_progress,
            ..Tally::default()
        };
        copy_all(
            &cluster,
            &store,
            to_copy,
            printer,
            &mut tally,
            &mut failures,
        )
        .await?;
        tally.failed = failures.len();
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

/// Copies `runs`, at most [`Bulk`]'s bound at a time, printing a line per archived run
/// (over a progress bar on a terminal), counting into `tally` and collecting failures.
/// A store that refuses the credentials ends it: the runs not started are left, and the
/// refusal is the error.
async fn copy_all(
    cluster: &Cluster,
    store: &Store,
    runs: Vec<&FinishedRun>,
    printer: Printer,
    tally: &mut Tally,
    failures: &mut Vec<(String, Error)>,
) -> Result<(), Error> {
    let progress = printer.bars().map(|bars| {
        let bar = bars.add(ProgressBar::new(runs.len() as u64));
        bar.set_style(
            ProgressStyle::with_template("{spinner} archiving runs {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let refused = AtomicBool::new(false);
    let outcomes = Bulk::default()
        .run(runs, |run| {
            let (progress, refused) = (&progress, &refused);
            async move {
                if refused.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let copied = copy_run(cluster, store, run).await;
                if matches!(copied, Err(Error::Store { denied: true, .. })) {
                    refused.store(true, Ordering::Relaxed);
                }
                let copied = copied?;
                if let Copied::Archived { lost } = &copied {
                    let line = match lost {
                        Some(lost) => format!("archived {} (no logs: {lost})", run.folder),
                        None => format!("archived {}", run.folder),
                    };
                    match progress {
                        Some(bar) => {
                            bar.inc(1);
                            bar.suspend(|| printer.line(&line))?;
                        }
                        None => printer.line(&line)?,
                    }
                }
                Ok(Some(copied))
            }
        })
        .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut refusal = None;
    for outcome in outcomes {
        match outcome.result {
            Ok(Some(Copied::Archived { .. })) => tally.archived += 1,
            Ok(Some(Copied::AlreadyThere)) => tally.skipped += 1,
            Ok(None) => {}
            Err(error @ Error::Store { denied: true, .. }) => {
                refusal.get_or_insert(error);
            }
            Err(Error::StdoutClosed) => return Err(Error::StdoutClosed),
            Err(error) => failures.push((outcome.item.folder.to_string(), error)),
        }
    }
    refusal.map_or(Ok(()), Err)
}

/// The run folders the store holds complete, from one listing per job; a job whose
/// listing failed is a failure of its own (its runs are not copied), unless the store
/// refused the credentials, which ends the command.
async fn already_archived(
    store: &Store,
    runs: &[FinishedRun],
) -> Result<(HashSet<RunFolder>, Vec<(String, Error)>), Error> {
    // Each job's folder, and its run that sorts first: the listing starts there.
    let mut jobs: BTreeMap<[&str; 3], (&RunFolder, &str)> = BTreeMap::new();
    for run in runs {
        let entry = jobs
            .entry(run.folder.job_parts())
            .or_insert((&run.folder, &run.folder.run));
        if run.folder.run.as_str() < entry.1 {
            entry.1 = &run.folder.run;
        }
    }
    let outcomes = Bulk::default()
        .run(jobs.into_values(), |(folder, oldest)| async move {
            archived_runs(store, folder, oldest).await
        })
        .await;
    let mut present = HashSet::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        let (folder, _) = outcome.item;
        match outcome.result {
            Ok(names) => present.extend(names.into_iter().map(|run| RunFolder {
                run,
                ..folder.clone()
            })),
            Err(error @ Error::Store { denied: true, .. }) => return Err(error),
            Err(error) => failures.push((folder.job_parts().join("/"), error)),
        }
    }
    Ok((present, failures))
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
