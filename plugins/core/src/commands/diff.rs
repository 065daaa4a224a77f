//! `kubectl kuul diff -f`: what `apply -f` would change, as a unified diff per job.
//!
//! Reviewers of a jobs repository want to see, on the pull request, what a merge will do
//! to each cluster. This prints, for every job that would be created, updated or (with
//! `--prune`) pruned, a unified diff of the live `CronJob` (reduced to what kuul manages)
//! against the desired one, and exits like `kubectl diff`: 0 when nothing would change,
//! 1 when something would. It is `apply --diff` under its own name; the work is shared
//! in [`crate::set_run`].

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;
use crate::set_run::{Mode, SetArgs, run_set};

/// Arguments of `kubectl kuul diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub set: SetArgs,
}

impl KuulCommand for DiffArgs {
    const NAME: &'static str = "diff";
    const ABOUT: &'static str = "Show what `apply -f` would change, as a unified diff per job.";
    const LONG_ABOUT: &'static str = concat!(
        include_str!("help/diff.txt"),
        "\n",
        include_str!("help/jobs-file.txt")
    );

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        run_set(&self.set, Mode::Diff, kube, printer).await
    }
}
