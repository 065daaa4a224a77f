//! `kubectl kuul apply -f`: make one or more clusters run exactly the jobs of a job set.
//!
//! Teams keep their jobs in a repository (see `examples/jobs-repo/`) and let automation
//! apply them on every merge, to every Kuul cluster they run so that no single cluster is
//! a point of failure. Checking the files, planning each cluster and writing it are
//! [`crate::set_run`]'s, shared with `diff`; this module adds what only `apply` takes:
//! `--prune-runs`, `--dry-run`, and `--diff`, which makes it `diff`.

use clap::Args;

use crate::cli::{DryRun, DryRunArgs, KubeArgs};
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;
use crate::set_run::{Mode, SetArgs, run_set};

/// Arguments of `kubectl kuul apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub set: SetArgs,

    /// With --prune: delete the pruned jobs' runs (Jobs and Pods) too; otherwise they are
    /// kept for inspection until `kubectl kuul prune` removes them
    #[arg(long, requires = "prune")]
    pub prune_runs: bool,

    /// Only show a unified diff of live against desired for each job that would change,
    /// and exit 1 if any would (like `kubectl kuul diff`)
    #[arg(long)]
    pub diff: bool,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl KuulCommand for ApplyArgs {
    const NAME: &'static str = "apply";
    const ABOUT: &'static str =
        "Create, update and prune CronJobs so that clusters run exactly a job set's jobs.";
    const LONG_ABOUT: &'static str = concat!(
        include_str!("help/apply.txt"),
        "\n",
        include_str!("help/jobs-file.txt")
    );

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let mode = if self.diff {
            Mode::Diff
        } else {
            Mode::Apply {
                dry_run: self.dry_run.dry_run,
                prune_runs: self.prune_runs,
            }
        };
        if self.diff && self.dry_run.dry_run != DryRun::None {
            return Err(Error::InvalidInput {
                message: "--diff and --dry-run do not go together".to_owned(),
                hint: Some("--diff never writes; drop --dry-run".to_owned()),
            });
        }
        run_set(&self.set, mode, kube, printer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_repeats_for_apply_and_other_commands_take_the_last() {
        use clap::FromArgMatches;
        let matches = crate::run::plugin_command::<ApplyArgs>()
            .try_get_matches_from([
                "kubectl-kuul-apply",
                "--context",
                "eu-1",
                "-f",
                "jobs.yaml",
                "--context",
                "eu-2",
            ])
            .unwrap();
        let kube = KubeArgs::from_arg_matches(&matches).unwrap();
        assert_eq!(kube.context, ["eu-1", "eu-2"]);
        assert_eq!(kube.context(), Some("eu-2"));
        let args = ApplyArgs::from_arg_matches(&matches).unwrap();
        assert_eq!(args.set.files, [std::path::PathBuf::from("jobs.yaml")]);
    }
}
