//! `kubectl-kuul`: every kuul command in one kubectl plugin, the one krew installs.
//!
//! Connection flags are global so they may come before the subcommand, because kubectl
//! stops looking up plugin names at the first flag: `kubectl kuul -n ops run-now backup`
//! reaches this binary as `kubectl-kuul -n ops run-now backup`.

use clap::{Parser, Subcommand};
use kuul_core::commands::{
    ApplyArgs, DiffArgs, LabelNodesArgs, NewArgs, PruneArgs, ResumeArgs, SuspendArgs, VersionArgs,
};
use kuul_core::commands::{CompletionArgs, RbacArgs};
use kuul_core::commands::{HistoryArgs, LogsArgs, StatusArgs};
use kuul_core::{KubeArgs, KuulCommand};
use kuul_sdk::image::ImageArgs;
// run-now plus --local, which needs Docker: see kuul_sdk::run_now.
use kuul_sdk::run_now::RunNowCommand;

/// The command line of `kubectl kuul`.
#[derive(Debug, Parser)]
#[command(
    about = "Run a team's periodic operations work as Kubernetes CronJobs.",
    name = "kubectl-kuul",
    bin_name = "kubectl kuul",
    version = kuul_core::LONG_VERSION,
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    kube: KubeArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(name = StatusArgs::NAME, visible_alias = "list", about = StatusArgs::ABOUT, long_about = StatusArgs::LONG_ABOUT)]
    Status(StatusArgs),
    #[command(name = HistoryArgs::NAME, about = HistoryArgs::ABOUT, long_about = HistoryArgs::LONG_ABOUT)]
    History(HistoryArgs),
    #[command(name = LogsArgs::NAME, about = LogsArgs::ABOUT, long_about = LogsArgs::LONG_ABOUT)]
    Logs(LogsArgs),
    #[command(name = NewArgs::NAME, about = NewArgs::ABOUT, long_about = NewArgs::LONG_ABOUT)]
    New(NewArgs),
    #[command(name = RunNowCommand::NAME, about = RunNowCommand::ABOUT, long_about = RunNowCommand::LONG_ABOUT)]
    RunNow(RunNowCommand),
    #[command(name = SuspendArgs::NAME, about = SuspendArgs::ABOUT, long_about = SuspendArgs::LONG_ABOUT)]
    Suspend(SuspendArgs),
    #[command(name = ResumeArgs::NAME, about = ResumeArgs::ABOUT, long_about = ResumeArgs::LONG_ABOUT)]
    Resume(ResumeArgs),
    #[command(name = PruneArgs::NAME, about = PruneArgs::ABOUT, long_about = PruneArgs::LONG_ABOUT)]
    Prune(PruneArgs),
    #[command(name = LabelNodesArgs::NAME, about = LabelNodesArgs::ABOUT, long_about = LabelNodesArgs::LONG_ABOUT)]
    LabelNodes(LabelNodesArgs),
    #[command(name = ImageArgs::NAME, about = ImageArgs::ABOUT, long_about = ImageArgs::LONG_ABOUT)]
    Image(ImageArgs),
    #[command(name = VersionArgs::NAME, about = VersionArgs::ABOUT, long_about = VersionArgs::LONG_ABOUT)]
    Version(VersionArgs),
    #[command(name = RbacArgs::NAME, about = RbacArgs::ABOUT, long_about = RbacArgs::LONG_ABOUT)]
    Rbac(RbacArgs),
    #[command(name = CompletionArgs::NAME, about = CompletionArgs::ABOUT, long_about = CompletionArgs::LONG_ABOUT)]
    Completion(CompletionArgs),
    #[command(name = ApplyArgs::NAME, about = ApplyArgs::ABOUT, long_about = ApplyArgs::LONG_ABOUT)]
    Apply(ApplyArgs),
    #[command(name = DiffArgs::NAME, about = DiffArgs::ABOUT, long_about = DiffArgs::LONG_ABOUT)]
    Diff(DiffArgs),
}

fn main() -> std::process::ExitCode {
    kuul_core::run::main(|cli: Cli, printer| async move {
        let kube = cli.kube;
        match cli.command {
            Command::Status(args) => args.run(kube, printer).await,
            Command::History(args) => args.run(kube, printer).await,
            Command::Logs(args) => args.run(kube, printer).await,
            Command::New(args) => args.run(kube, printer).await,
            Command::RunNow(args) => args.run(kube, printer).await,
            Command::Suspend(args) => args.run(kube, printer).await,
            Command::Resume(args) => args.run(kube, printer).await,
            Command::Prune(args) => args.run(kube, printer).await,
            Command::LabelNodes(args) => args.run(kube, printer).await,
            Command::Image(args) => args.run(kube, printer).await,
            Command::Version(args) => args.run(kube, printer).await,
            Command::Rbac(args) => args.run(kube, printer).await,
            Command::Completion(args) => {
                args.run(<Cli as clap::CommandFactory>::command(), &printer)
            }
            Command::Apply(args) => args.run(kube, printer).await,
            Command::Diff(args) => args.run(kube, printer).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_flags_may_come_before_the_subcommand() {
        // What kubectl hands over for `kubectl kuul -n ops --context prod run-now backup`.
        let cli = Cli::try_parse_from([
            "kubectl-kuul",
            "-n",
            "ops",
            "--context",
            "prod",
            "run-now",
            "backup",
        ])
        .unwrap();
        assert_eq!(cli.kube.namespace.as_deref(), Some("ops"));
        assert_eq!(cli.kube.context(), Some("prod"));
        assert!(matches!(cli.command, Command::RunNow(run_now) if run_now.args.name == "backup"));
    }

    #[test]
    fn global_flags_may_come_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["kubectl-kuul", "version", "--kubeconfig", "/k", "--client"])
                .unwrap();
        assert_eq!(
            cli.kube.kubeconfig.as_deref(),
            Some(std::path::Path::new("/k"))
        );
        assert!(matches!(cli.command, Command::Version(args) if args.client));
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
