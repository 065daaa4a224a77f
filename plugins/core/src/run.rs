//! The `main` of every kuul binary, so that all of them start, fail and exit alike.
//!
//! Parsing, the runtime, printing the error once and choosing the exit code happen here
//! and nowhere else: a thin plugin binary and the umbrella `kubectl-kuul` must behave
//! identically, because kubectl runs whichever of them it finds first on PATH.

use std::future::Future;
use std::process::ExitCode;

use clap::{Args, Command, FromArgMatches, Parser};

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::commands::completion;
use crate::error::{Error, ExitStatus, LONG_VERSION};
use crate::printer::Printer;

/// Runs a binary whose arguments are the clap parser `P`: parses the command line (usage
/// errors exit 2, `--help` and `--version` exit 0, as clap decides), runs `command`,
/// prints its error once and returns the exit code. `__complete WORDS...` answers
/// kubectl's plugin completion instead (see [`completion`]).
pub fn main<P, F, Fut>(command: F) -> ExitCode
where
    P: Parser,
    F: FnOnce(P, Printer) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some(completion::REQUEST) {
        return completion::respond(P::command(), &args.collect::<Vec<_>>());
    }
    let parsed = match P::try_parse() {
        Ok(parsed) => parsed,
        Err(error) => return clap_exit(&error),
    };
    execute(command(parsed, Printer::new()))
}

/// Runs the thin plugin binary of one command, e.g. `kubectl-kuul-run_now`.
///
/// Its usage line reads `kubectl kuul run-now ...` and `--version` prints
/// `kubectl-kuul-run-now 0.1.0 (commit abc1234)`, exactly as `kubectl-kuul run-now` does.
pub fn plugin<C: KuulCommand>() -> ExitCode {
    let matches = match plugin_command::<C>().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return clap_exit(&error),
    };
    let parsed = KubeArgs::from_arg_matches(&matches)
        .and_then(|kube| C::from_arg_matches(&matches).map(|args| (kube, args)));
    let (kube, args) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return clap_exit(&error),
    };
    execute(args.run(kube, Printer::new()))
}

/// The clap command of a thin plugin binary.
pub fn plugin_command<C: KuulCommand>() -> Command {
    let command = Command::new(format!("kubectl-kuul-{}", C::NAME))
        .bin_name(format!("kubectl kuul {}", C::NAME))
        .version(LONG_VERSION);
    // The help text is set last: augmenting with an `Args` struct may set its own.
    KubeArgs::augment_args(C::augment_args(command))
        .about(C::ABOUT)
        .long_about(C::long_help())
}

fn clap_exit(error: &clap::Error) -> ExitCode {
    // Help piped into a closed reader is not worth a panic.
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(ExitStatus::Usage as u8))
}

fn execute(work: impl Future<Output = Result<(), Error>>) -> ExitCode {
    let printer = Printer::new();
    // One thread is plenty for a CLI and starts fastest.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            printer.error(&Error::Startup { source });
            return ExitStatus::Failed.into();
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitStatus::Success.into(),
        Err(error) => {
            printer.error(&error);
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::RunNowArgs;

    #[test]
    fn thin_plugin_reads_like_the_umbrella_subcommand() {
        let mut command = plugin_command::<RunNowArgs>();
        let usage = command.render_usage().to_string();
        assert_eq!(usage, "Usage: kubectl kuul run-now [OPTIONS] <NAME>");
        assert_eq!(
            command.render_version(),
            format!("kubectl-kuul-run-now {LONG_VERSION}\n")
        );
    }

    #[test]
    fn thin_plugin_accepts_kubectl_flags_around_its_arguments() {
        let matches = plugin_command::<RunNowArgs>()
            .try_get_matches_from([
                "kubectl-kuul-run_now",
                "-n",
                "ops",
                "backup",
                "--context",
                "prod",
                "--request-timeout=1m",
            ])
            .unwrap();
        let kube = KubeArgs::from_arg_matches(&matches).unwrap();
        let args = RunNowArgs::from_arg_matches(&matches).unwrap();
        assert_eq!(kube.namespace.as_deref(), Some("ops"));
        assert_eq!(kube.context(), Some("prod"));
        assert_eq!(
            kube.request_timeout.unwrap().0,
            Some(std::time::Duration::from_secs(60))
        );
        assert_eq!(args.name, "backup");
    }

    #[test]
    fn usage_errors_exit_2() {
        let error = plugin_command::<RunNowArgs>()
            .try_get_matches_from(["kubectl-kuul-run_now", "--bogus"])
            .unwrap_err();
        assert_eq!(error.exit_code(), ExitStatus::Usage as i32);
    }
}
