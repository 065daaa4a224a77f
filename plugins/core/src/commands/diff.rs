//! `kubectl kuul diff -f`: what `apply -f` would change, as a unified diff per job.
//!
//! Reviewers of a jobs repository want to see, on the pull request, what a merge will do
//! to each cluster. This prints, for every job that would be created, updated or (with
//! `--prune`) pruned, a unified diff of the live `CronJob` (reduced to what kuul manages)
//! against the desired one, and exits like `kubectl diff`: 0 when nothing would change,
//! 1 when something would. It is `apply --diff` under its own name; the work is shared
//! in [`crate::commands::apply`].

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::commands::apply::{Mode, SetArgs, file_help, run_set};
use crate::error::Error;
use crate::printer::Printer;

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
        "Show what `kubectl kuul apply -f` would change, as a unified diff of the live CronJob against the desired one for each job that would be created, updated or (with --prune) pruned. Only the fields kuul manages are compared, so what the API server adds is not a change. Nothing is written. Exit code as kubectl diff: 0 nothing would change, 1 something would (or a job conflicts with a CronJob outside the set, or a cluster failed), 2 invalid files or flags.\n\nExamples:\n  kubectl kuul diff -f jobs.yaml\n  kubectl kuul diff -f jobs/ --prune --contexts 'kuul-*'",
        file_help!()
    );

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        run_set(&self.set, Mode::Diff, kube, printer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help() {
        let mut command = crate::run::plugin_command::<DiffArgs>().term_width(100);
        insta::assert_snapshot!(command.render_long_help().to_string());
    }
}
