//! `kubectl-kuul`: every kuul command in one kubectl plugin, the one krew installs.
//!
//! Connection flags are global so they may come before the subcommand, because kubectl
//! stops looking up plugin names at the first flag: `kubectl kuul -n ops run-now backup`
//! reaches this binary as `kubectl-kuul -n ops run-now backup`.

use clap::{Parser, Subcommand};
use kuul_core::commands::{
    ApplyArgs, DiffArgs, LabelNodesArgs, NewArgs, PruneArgs, ResumeArgs, SuspendArgs, VersionArgs,
};
use kuul_core::commands::{ArchiveArgs, CompletionArgs, FailoverArgs, RbacArgs, SetFieldArgs};
use kuul_core::commands::{HistoryArgs, LogsArgs, StatusArgs, StopArgs};
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
    #[command(name = StatusArgs::NAME, visible_alias = "list", about = StatusArgs::ABOUT, long_about = StatusArgs::long_help())]
    Status(StatusArgs),
    #[command(name = HistoryArgs::NAME, about = HistoryArgs::ABOUT, long_about = HistoryArgs::long_help())]
    History(HistoryArgs),
    #[command(name = LogsArgs::NAME, about = LogsArgs::ABOUT, long_about = LogsArgs::long_help())]
    Logs(LogsArgs),
    #[command(name = NewArgs::NAME, about = NewArgs::ABOUT, long_about = NewArgs::long_help())]
    New(NewArgs),
    #[command(name = RunNowCommand::NAME, about = RunNowCommand::ABOUT, long_about = RunNowCommand::long_help())]
    RunNow(RunNowCommand),
    #[command(name = SuspendArgs::NAME, about = SuspendArgs::ABOUT, long_about = SuspendArgs::long_help())]
    Suspend(SuspendArgs),
    #[command(name = ResumeArgs::NAME, about = ResumeArgs::ABOUT, long_about = ResumeArgs::long_help())]
    Resume(ResumeArgs),
    #[command(name = StopArgs::NAME, about = StopArgs::ABOUT, long_about = StopArgs::long_help())]
    Stop(StopArgs),
    #[command(name = PruneArgs::NAME, about = PruneArgs::ABOUT, long_about = PruneArgs::long_help())]
    Prune(PruneArgs),
    #[command(name = ArchiveArgs::NAME, about = ArchiveArgs::ABOUT, long_about = ArchiveArgs::long_help())]
    Archive(ArchiveArgs),
    #[command(name = SetFieldArgs::NAME, about = SetFieldArgs::ABOUT, long_about = SetFieldArgs::long_help())]
    Set(SetFieldArgs),
    #[command(name = LabelNodesArgs::NAME, about = LabelNodesArgs::ABOUT, long_about = LabelNodesArgs::long_help())]
    LabelNodes(LabelNodesArgs),
    #[command(name = ImageArgs::NAME, about = ImageArgs::ABOUT, long_about = ImageArgs::long_help())]
    Image(ImageArgs),
    #[command(name = VersionArgs::NAME, about = VersionArgs::ABOUT, long_about = VersionArgs::long_help())]
    Version(VersionArgs),
    #[command(name = RbacArgs::NAME, about = RbacArgs::ABOUT, long_about = RbacArgs::long_help())]
    Rbac(RbacArgs),
    #[command(name = CompletionArgs::NAME, about = CompletionArgs::ABOUT, long_about = CompletionArgs::LONG_ABOUT)]
    Completion(CompletionArgs),
    #[command(name = ApplyArgs::NAME, about = ApplyArgs::ABOUT, long_about = ApplyArgs::long_help())]
    Apply(ApplyArgs),
    #[command(name = DiffArgs::NAME, about = DiffArgs::ABOUT, long_about = DiffArgs::long_help())]
    Diff(DiffArgs),
    #[command(name = FailoverArgs::NAME, about = FailoverArgs::ABOUT, long_about = FailoverArgs::long_help())]
    Failover(FailoverArgs),
}

fn main() -> std::process::ExitCode {
    kuul_core::run::main(|cli: Cli, printer| async move {
        let kube = cli.kube;
        match cli.command {
            Command::Status(args) => args.run(kube, printer).await,
            Command::History(args) => args.run(kube, printer).await,
            Command::Logs(args) => args.run(kube, printer).await,
            Command::New(args) => args.run(kube, printer).await,
            Command::Set(args) => args.run(kube, printer).await,
            Command::RunNow(args) => args.run(kube, printer).await,
            Command::Suspend(args) => args.run(kube, printer).await,
            Command::Resume(args) => args.run(kube, printer).await,
            Command::Stop(args) => args.run(kube, printer).await,
            Command::Prune(args) => args.run(kube, printer).await,
            Command::Archive(args) => args.run(kube, printer).await,
            Command::LabelNodes(args) => args.run(kube, printer).await,
            Command::Image(args) => args.run(kube, printer).await,
            Command::Version(args) => args.run(kube, printer).await,
            Command::Rbac(args) => args.run(kube, printer).await,
            Command::Completion(args) => {
                args.run(<Cli as clap::CommandFactory>::command(), &printer)
            }
            Command::Apply(args) => args.run(kube, printer).await,
            Command::Diff(args) => args.run(kube, printer).await,
            Command::Failover(args) => args.run(kube, printer).await,
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

    /// rbac's own `--cluster` and `--user` (a `ClusterRole`, who to bind) win over
    /// kubectl's, as in `kubectl create rolebinding --user`; kubectl's still count before
    /// the subcommand.
    #[test]
    fn rbac_keeps_its_own_cluster_and_user() {
        let cli = Cli::try_parse_from([
            "kubectl-kuul",
            "rbac",
            "viewer",
            "--cluster",
            "--user",
            "alice",
        ])
        .unwrap();
        assert!(
            matches!(&cli.command, Command::Rbac(rbac) if rbac.cluster && rbac.user == ["alice"])
        );
        assert_eq!(cli.kube.cluster, None);
        assert_eq!(cli.kube.user, None);
        let cli = Cli::try_parse_from([
            "kubectl-kuul",
            "--user",
            "admin",
            "--cluster",
            "prod",
            "rbac",
            "viewer",
            "--user",
            "alice",
        ])
        .unwrap();
        assert_eq!(cli.kube.user.as_deref(), Some("admin"));
        assert_eq!(cli.kube.cluster.as_deref(), Some("prod"));
        assert!(matches!(&cli.command, Command::Rbac(rbac) if rbac.user == ["alice"]));
        let cli = Cli::try_parse_from(["kubectl-kuul", "status", "--user", "admin"]).unwrap();
        assert_eq!(cli.kube.user.as_deref(), Some("admin"));
    }

    /// Every command's `--help`, as users read it and scripts (and completions) rely on
    /// it: a change in the text shows up as a snapshot diff to review.
    #[test]
    fn help_of_every_command() {
        use clap::CommandFactory;
        fn each(command: &mut clap::Command, path: &str) {
            let text = command.render_long_help().to_string();
            insta::with_settings!({
                snapshot_suffix => path.replace(' ', "_"),
                filters => vec![(r"\d+\.\d+\.\d+ \(commit \w+\)", "[VERSION]")],
                prepend_module_to_snapshot => false,
            }, {
                insta::assert_snapshot!("help", text);
            });
            // clap's own `help` subcommand prints what the rest already shows.
            for sub in command
                .get_subcommands_mut()
                .filter(|sub| sub.get_name() != "help")
            {
                let path = format!("{path} {}", sub.get_name());
                each(sub, &path);
            }
        }
        let mut root = Cli::command().term_width(100);
        root.build();
        each(&mut root, "kuul");
    }

    /// The thin plugins (`kubectl-kuul-suspend`, ...) say the same as the umbrella's
    /// subcommands, with their own usage line.
    #[test]
    fn help_of_the_thin_plugins() {
        fn snapshot(mut command: clap::Command) {
            let name = command.get_name().to_owned();
            let text = command.render_long_help().to_string();
            insta::with_settings!({ snapshot_suffix => name, prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!("help", text);
            });
        }
        use kuul_core::run::plugin_command;
        snapshot(plugin_command::<NewArgs>().term_width(100));
        snapshot(plugin_command::<RunNowCommand>().term_width(100));
        snapshot(plugin_command::<SuspendArgs>().term_width(100));
        snapshot(plugin_command::<ResumeArgs>().term_width(100));
        snapshot(plugin_command::<PruneArgs>().term_width(100));
        snapshot(plugin_command::<LabelNodesArgs>().term_width(100));
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
