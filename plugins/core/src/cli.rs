//! Flags shared by kuul commands.
//!
//! kubectl users type these flags from muscle memory, so they are spelled exactly as
//! kubectl spells them and defined once, here, so that every binary (the umbrella and
//! each thin plugin) agrees on spelling, help text and defaults. They are `global` so
//! they may come before the subcommand: kubectl's plugin lookup stops at the first
//! flag, which makes `kubectl kuul -n ops run-now backup` a real invocation.
//!
//! The flag groups that several commands take (`-o`, `--dry-run`, `--blocked-timeout`,
//! the job selection of `suspend` and `resume`) are defined here too, once, so that the
//! commands spell and check them alike and none borrows them from another.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::kuul_job::check_job_name;
use crate::maintenance::Selection;
use crate::selector;

/// How to reach the cluster: kubectl's connection flags.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use (default: its current-context); apply and
    /// diff take it more than once, one cluster each, other commands use the last one given
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub context: Vec<String>,

    /// The namespace to work in (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// How long to wait for a single server request before giving up, e.g. 30s, 1m, 2m30s (0: no limit)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<RequestTimeout>,
}

impl KubeArgs {
    /// The context to use: the last `--context` given, as kubectl takes the last value of
    /// a repeated flag. Only `apply` and `diff` use every one (one cluster each).
    pub fn context(&self) -> Option<&str> {
        self.context.last().map(String::as_str)
    }
}

/// `--blocked-timeout` of the commands that wait for a run (run-now, logs -f).
#[derive(Debug, Clone, Args)]
pub struct BlockedTimeoutArgs {
    /// Stop waiting, with exit 4, once the run has been unable to start this long (image
    /// cannot be pulled, missing Secret, no room on any node, quota); 0 waits on
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = parse_request_timeout,
        default_value = "2m"
    )]
    pub blocked_timeout: RequestTimeout,
}

/// A `--request-timeout` value; `None` inside means kubectl's "0": no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Option<Duration>);

/// Parses kubectl's duration spelling: a plain number of seconds, or Go-style units
/// (`h`, `m`, `s`, `ms`) concatenated, as in `1m30s`. Other duration flags use it too.
pub fn parse_request_timeout(text: &str) -> Result<RequestTimeout, String> {
    let invalid = || {
        format!("invalid duration {text:?}: use a number of seconds or units like 30s, 5m, 1h30m")
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        let limit = (seconds > 0).then(|| Duration::from_secs(seconds));
        return Ok(RequestTimeout(limit));
    }
    let total = sum_of_units(
        text,
        &[
            ("h", Duration::from_secs(3600)),
            ("m", Duration::from_secs(60)),
            ("s", Duration::from_secs(1)),
            ("ms", Duration::from_millis(1)),
        ],
    )
    .ok_or_else(invalid)?;
    Ok(RequestTimeout((!total.is_zero()).then_some(total)))
}

/// Sums a duration written as whole numbers with units, one after the other, as in
/// `1h30m`; `units` gives each accepted unit and its length. `None` when the text is not
/// of that form (an unknown unit, a number without a unit, an overflow). Every duration
/// flag of kuul reads its value with this, each with the units it accepts.
pub fn sum_of_units(text: &str, units: &[(&str, Duration)]) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let value: u32 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (_, length) = units.iter().find(|(unit, _)| *unit == &rest[..unit_len])?;
        total = total.checked_add(length.checked_mul(value)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// How a command that prints Kubernetes objects prints them (`-o`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// The `-o` formats, as kubectl names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable columns
    #[default]
    Table,
    /// Columns with extra detail
    Wide,
    /// JSON, for scripts
    Json,
    /// YAML, for people and `GitOps` tools
    Yaml,
    /// `kind/name` per line, for piping into other commands
    Name,
}

/// `--dry-run` of commands that write, as kubectl spells it.
#[derive(Debug, Clone, Copy, Default, Args)]
#[command(next_help_heading = "Writing")]
pub struct DryRunArgs {
    /// Only show what would be written: "client" sends nothing, "server" has the API
    /// server validate the change without storing it; a bare --dry-run means client
    #[arg(
        long = "dry-run",
        value_enum,
        value_name = "STRATEGY",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = DryRun::None,
        default_missing_value = "client"
    )]
    pub dry_run: DryRun,
}

/// The `--dry-run` strategies kubectl knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Write for real
    #[default]
    None,
    /// Print what would be sent; contact the cluster only to read
    Client,
    /// Send with dryRun=All: validated and admitted by the API server, stored nowhere
    Server,
}

impl DryRun {
    /// Whether anything is to be written for real.
    pub fn writes(self) -> bool {
        self == Self::None
    }
}

/// Which jobs to work on: names, `-l`, or `--all`. Shared by `suspend` and `resume`.
#[derive(Debug, Clone, Args)]
pub struct JobSelectionArgs {
    /// Names of the Kuul jobs (their `CronJob`s)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Pick the jobs by label selector, e.g. kuul.io/pool=prod
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Pick every kuul-managed job of the namespace
    #[arg(long)]
    pub all: bool,

    /// With -l or --all: look in every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// With -l or --all: also pick `CronJobs` without app.kubernetes.io/managed-by=kuul
    #[arg(long)]
    pub include_unmanaged: bool,
}

impl JobSelectionArgs {
    /// The selection, or a usage error naming the flags that do not go together.
    pub fn selection(&self) -> Result<Selection, Error> {
        let usage = |message: &str, hint: &str| Error::InvalidInput {
            message: message.to_owned(),
            hint: Some(hint.to_owned()),
        };
        let pick = "name the jobs, or pick them with -l SELECTOR or --all (one of the three)";
        let selection = match (self.names.is_empty(), &self.selector, self.all) {
            (true, None, false) => return Err(usage("no jobs given", pick)),
            (false, None, false) => {
                for name in &self.names {
                    check_job_name("NAME", name)?;
                }
                let mut names = self.names.clone();
                names.sort();
                names.dedup();
                Selection::Named(names)
            }
            (true, Some(selector), false) => {
                selector::check("--selector", selector)?;
                Selection::Selector(selector.clone())
            }
            (true, None, true) => Selection::All,
            (false, _, _) => {
                return Err(usage("job names cannot be combined with -l or --all", pick));
            }
            (true, Some(_), true) => {
                return Err(usage("-l and --all cannot be combined", pick));
            }
        };
        if self.all_namespaces && !selection.is_bulk() {
            return Err(usage(
                "-A/--all-namespaces works with -l or --all, not with job names",
                "names are looked up in one namespace: pass -n NAMESPACE instead",
            ));
        }
        if self.include_unmanaged && !selection.is_bulk() {
            return Err(usage(
                "--include-unmanaged works with -l or --all",
                "named jobs are changed whoever manages them; drop the flag",
            ));
        }
        Ok(selection)
    }
}

/// Parses `words`, what a user types after the command's name, as the flags `A`: for
/// unit tests of a command's or a flag group's parsing and checks.
#[cfg(test)]
pub(crate) fn try_parse<A: Args>(words: &[&str]) -> Result<A, clap::Error> {
    let command = A::augment_args(clap::Command::new("kuul"));
    let matches =
        command.try_get_matches_from(std::iter::once("kuul").chain(words.iter().copied()))?;
    A::from_arg_matches(&matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_accepts_kubectl_spellings() {
        let secs = |s| RequestTimeout(Some(Duration::from_secs(s)));
        assert_eq!(parse_request_timeout("30"), Ok(secs(30)));
        assert_eq!(parse_request_timeout("30s"), Ok(secs(30)));
        assert_eq!(parse_request_timeout("1m30s"), Ok(secs(90)));
        assert_eq!(parse_request_timeout("1h"), Ok(secs(3600)));
        assert_eq!(
            parse_request_timeout("250ms"),
            Ok(RequestTimeout(Some(Duration::from_millis(250))))
        );
        assert_eq!(parse_request_timeout("0"), Ok(RequestTimeout(None)));
        assert_eq!(parse_request_timeout("0s"), Ok(RequestTimeout(None)));
    }

    #[test]
    fn dry_run_takes_kubectl_spellings() {
        let parse = |args: &[&str]| try_parse::<DryRunArgs>(args).map(|args| args.dry_run);
        assert_eq!(parse(&[]).unwrap(), DryRun::None);
        assert_eq!(parse(&["--dry-run"]).unwrap(), DryRun::Client);
        assert_eq!(parse(&["--dry-run=client"]).unwrap(), DryRun::Client);
        assert_eq!(parse(&["--dry-run=server"]).unwrap(), DryRun::Server);
        assert_eq!(parse(&["--dry-run=none"]).unwrap(), DryRun::None);
        assert!(parse(&["--dry-run=all"]).is_err());
        assert!(!DryRun::Server.writes());
    }

    #[test]
    fn request_timeout_rejects_nonsense() {
        for bad in ["", "s", "10x", "1.5s", "-1", "m10"] {
            assert!(parse_request_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn jobs(args: &[&str]) -> JobSelectionArgs {
        try_parse(args).unwrap()
    }

    #[test]
    fn names_selector_or_all() {
        let named = jobs(&["b", "a", "b"]).selection().unwrap();
        assert_eq!(
            named,
            Selection::Named(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            jobs(&["-l", "kuul.io/pool=prod"]).selection().unwrap(),
            Selection::Selector("kuul.io/pool=prod".to_owned())
        );
        let all = jobs(&["--all", "-A", "--include-unmanaged"]);
        assert_eq!(all.selection().unwrap(), Selection::All);
    }

    #[test]
    fn bad_selections_are_usage_errors() {
        for bad in [
            &[][..],
            &["--all", "backup"],
            &["-l", "a=b", "backup"],
            &["-l", "a=b", "--all"],
            &["-l", "a=b=c"],
            &["-A", "backup"],
            &["--include-unmanaged", "backup"],
            &["Backup_DB"],
        ] {
            let error = jobs(bad).selection().unwrap_err();
            assert_eq!(
                error.exit_status(),
                crate::error::ExitStatus::Usage,
                "{bad:?}: {error}"
            );
        }
    }
}
