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
///
/// `--cluster`, `--user` and the flags after them change what the kubeconfig selects, as
/// kubectl's do (client-go's clientcmd overrides); [`crate::kubeconfig::select`] applies
/// them. A command whose own `--cluster` or `--user` means something else (`rbac`)
/// flattens [`KubeconfigEntryArgs`] so that its own flags win, as `kubectl create
/// rolebinding --user` wins over kubectl's global `--user`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config, else
    /// the pod's service account when run in a pod)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use (default: its current-context); apply,
    /// diff, status, history, logs, suspend, resume, stop, prune and label-nodes --list take
    /// it more than once, one cluster each, other commands use the last one given
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub context: Vec<String>,

    /// The namespace to work in (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// How long to wait for a single server request before giving up, e.g. 30s, 1m, 2m30s (0: no limit)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<RequestTimeout>,

    /// The name of the kubeconfig cluster to use (default: the context's)
    #[arg(id = CLUSTER_ID, long = "cluster", global = true, value_name = "NAME", value_parser = non_empty)]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use (default: the context's)
    #[arg(id = USER_ID, long = "user", global = true, value_name = "NAME", value_parser = non_empty)]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server; HTTPS when only HOST:PORT is given
    #[arg(short = 's', long, global = true, value_name = "URL", value_parser = non_empty)]
    pub server: Option<String>,

    /// Path to the certificate authority's certificate file, to check the server's with
    #[arg(long, global = true, value_name = "PATH")]
    pub certificate_authority: Option<PathBuf>,

    /// Do not check the server's certificate: the connection is then open to
    /// man-in-the-middle attacks
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = false,
        default_missing_value = "true",
        hide_default_value = true,
        hide_possible_values = true,
        action = clap::ArgAction::Set
    )]
    pub insecure_skip_tls_verify: bool,

    /// The name to check the server's certificate against (default: the server's host name)
    #[arg(long, global = true, value_name = "NAME", value_parser = non_empty)]
    pub tls_server_name: Option<String>,

    /// Bearer token to authenticate with, in place of the kubeconfig user's token, password
    /// or login plugin
    #[arg(long, global = true, value_name = "TOKEN", value_parser = bearer_token)]
    pub token: Option<BearerToken>,

    /// Path to a client certificate file for TLS (with --client-key)
    #[arg(long, global = true, value_name = "PATH")]
    pub client_certificate: Option<PathBuf>,

    /// Path to the client certificate's key file (with --client-certificate)
    #[arg(long, global = true, value_name = "PATH")]
    pub client_key: Option<PathBuf>,

    /// Act as this user: a user name, or a service account as
    /// system:serviceaccount:NAMESPACE:NAME
    #[arg(long = "as", global = true, value_name = "USER", value_parser = non_empty)]
    pub impersonate: Option<String>,

    /// Act as a member of this group (repeatable; with --as)
    #[arg(long = "as-group", global = true, value_name = "GROUP", value_parser = non_empty, action = clap::ArgAction::Append)]
    pub impersonate_groups: Vec<String>,

    /// Act as the user with this UID (with --as)
    #[arg(long = "as-uid", global = true, value_name = "UID", value_parser = non_empty)]
    pub impersonate_uid: Option<String>,
}

/// The clap id of kubectl's `--cluster`, which [`KubeconfigEntryArgs`] shares.
const CLUSTER_ID: &str = "kubeconfig-cluster";
/// The clap id of kubectl's `--user`, which [`KubeconfigEntryArgs`] shares.
const USER_ID: &str = "kubeconfig-user";

impl KubeArgs {
    /// The context to use: the last `--context` given, as kubectl takes the last value of
    /// a repeated flag. The commands that work on several clusters use every one
    /// ([`crate::clusters::selected`]).
    pub fn context(&self) -> Option<&str> {
        self.context.last().map(String::as_str)
    }

    /// Checks what the connection flags say on their own, before anything is read from
    /// the kubeconfig or sent: flags that go together are given together, and the files
    /// they name can be read. A mistake is a usage error (exit 2) naming the flag.
    pub fn check(&self) -> Result<(), Error> {
        let usage = |message: String, hint: Option<&str>| Error::InvalidInput {
            message,
            hint: hint.map(str::to_owned),
        };
        match (&self.client_certificate, &self.client_key) {
            (Some(_), None) => {
                return Err(usage(
                    "--client-certificate needs --client-key".to_owned(),
                    Some("pass the certificate's key file with --client-key PATH"),
                ));
            }
            (None, Some(_)) => {
                return Err(usage(
                    "--client-key needs --client-certificate".to_owned(),
                    Some("pass the certificate file with --client-certificate PATH"),
                ));
            }
            _ => {}
        }
        if self.certificate_authority.is_some() && self.insecure_skip_tls_verify {
            return Err(usage(
                "--certificate-authority and --insecure-skip-tls-verify exclude each other"
                    .to_owned(),
                Some(
                    "check the server's certificate with --certificate-authority, or do not check it",
                ),
            ));
        }
        for (flag, path) in [
            ("--certificate-authority", &self.certificate_authority),
            ("--client-certificate", &self.client_certificate),
            ("--client-key", &self.client_key),
        ] {
            if let Some(path) = path
                && let Err(error) = std::fs::File::open(path)
            {
                return Err(usage(
                    format!(
                        "cannot read {flag} {}: {}",
                        path.display(),
                        crate::error::io_cause(&error)
                    ),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// The flags given that pin one cluster or one identity, which cannot apply to several
    /// contexts at once (`apply -f` with more than one `--context`).
    pub fn single_cluster_flags(&self) -> Vec<&'static str> {
        [
            ("--cluster", self.cluster.is_some()),
            ("--user", self.user.is_some()),
            ("--server", self.server.is_some()),
            (
                "--certificate-authority",
                self.certificate_authority.is_some(),
            ),
            ("--tls-server-name", self.tls_server_name.is_some()),
            ("--token", self.token.is_some()),
            ("--client-certificate", self.client_certificate.is_some()),
            ("--client-key", self.client_key.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// kubectl's `--cluster` and `--user` in a command whose own `--cluster` and `--user`
/// mean something else (`rbac`: a `ClusterRole`, the user to bind). clap adds a global
/// flag to a subcommand only when the subcommand has no argument of the same id, so
/// flattening this (same ids, other names, hidden) lets the command's own flags win
/// there without a clash; kubectl's flags stay reachable as `--kubeconfig-cluster` and
/// `--kubeconfig-user`, and before the subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeconfigEntryArgs {
    /// The name of the kubeconfig cluster to use
    #[arg(id = CLUSTER_ID, long = "kubeconfig-cluster", hide = true, value_name = "NAME", value_parser = non_empty)]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use
    #[arg(id = USER_ID, long = "kubeconfig-user", hide = true, value_name = "NAME", value_parser = non_empty)]
    pub user: Option<String>,
}

/// A `--token` value, kept out of debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// The token itself, to send.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

fn bearer_token(text: &str) -> Result<BearerToken, String> {
    non_empty(text).map(BearerToken)
}

/// A flag value that must not be empty: `--token "$TOKEN"` with TOKEN unset would
/// otherwise quietly fall back to the kubeconfig's credentials.
fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("the value is empty".to_owned())
    } else {
        Ok(text.to_owned())
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

/// The units Go's `time.ParseDuration` (so kubectl's duration flags) takes, and their
/// lengths.
pub const GO_UNITS: [(&str, Duration); 8] = [
    ("h", Duration::from_secs(3600)),
    ("m", Duration::from_secs(60)),
    ("s", Duration::from_secs(1)),
    ("ms", Duration::from_millis(1)),
    ("us", Duration::from_micros(1)),
    ("\u{b5}s", Duration::from_micros(1)),
    ("\u{3bc}s", Duration::from_micros(1)),
    ("ns", Duration::from_nanos(1)),
];

/// Parses kubectl's duration spelling: a plain number of seconds, or numbers with Go's
/// units one after the other, as in `1m30s`, `1.5s`, `500ms`. Other duration flags use it
/// too.
pub fn parse_request_timeout(text: &str) -> Result<RequestTimeout, String> {
    let invalid = || {
        format!(
            "invalid duration {text:?}: use a number of seconds or units like 30s, 1.5s, 500ms, 5m, 1h30m"
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        let limit = (seconds > 0).then(|| Duration::from_secs(seconds));
        return Ok(RequestTimeout(limit));
    }
    let total = sum_of_units(text, &GO_UNITS).ok_or_else(invalid)?;
    Ok(RequestTimeout((!total.is_zero()).then_some(total)))
}

/// Sums a duration written as numbers with units, one after the other, as in `1h30m` or
/// `1.5s` (a number may have a fraction, as Go's `time.ParseDuration` allows); `units`
/// gives each accepted unit and its length. `None` when the text is not of that form (an
/// unknown unit, a number without a unit, a sign, an overflow). Every duration flag of
/// kuul reads its value with this, each with the units it accepts.
pub fn sum_of_units(text: &str, units: &[(&str, Duration)]) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let whole_len = rest.find(|c: char| !c.is_ascii_digit())?;
        let whole = &rest[..whole_len];
        rest = &rest[whole_len..];
        let mut fraction = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let len = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            fraction = &after_dot[..len];
            rest = &after_dot[len..];
        }
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (_, length) = units.iter().find(|(unit, _)| *unit == &rest[..unit_len])?;
        rest = &rest[unit_len..];
        let nanos = length.as_nanos();
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut part = whole.checked_mul(nanos)?;
        // The fraction's digits, as Go counts them: to the nanosecond, the rest dropped.
        let mut scale = nanos;
        for digit in fraction.bytes() {
            scale /= 10;
            part = part.checked_add(u128::from(digit - b'0') * scale)?;
        }
        total = total.checked_add(part)?;
    }
    let seconds = u64::try_from(total / 1_000_000_000).ok()?;
    let nanos = u32::try_from(total % 1_000_000_000).ok()?;
    Some(Duration::new(seconds, nanos))
}

/// How a command that prints Kubernetes objects prints them (`-o`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub headers: HeadersArgs,
}

/// `--no-headers`, for every command that prints a table.
#[derive(Debug, Clone, Copy, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct HeadersArgs {
    /// Print the table's rows without the header line, as kubectl's --no-headers
    #[arg(long)]
    pub no_headers: bool,
}

impl HeadersArgs {
    /// Whether the header line is printed.
    pub fn shown(self) -> bool {
        !self.no_headers
    }
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

/// A number of finished runs to keep (`new --history-success`, `set history --succeeded`, ...).
pub fn runs_to_keep(text: &str) -> Result<i32, String> {
    text.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        format!(
            "a number of runs to keep is a whole number from 0 to {}",
            i32::MAX
        )
    })
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

    /// ` (dry run)`, ` (server dry run)`, or nothing when writing for real: the end of a
    /// line that says what was done.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Client => " (dry run)",
            Self::Server => " (server dry run)",
        }
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

    #[command(flatten)]
    pub contexts: ContextsArgs,
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

/// `--contexts GLOB`: several clusters at once, beside `--context` given more than once.
#[derive(Debug, Clone, Default, Args)]
pub struct ContextsArgs {
    /// Every kubeconfig context whose name matches GLOB ('*' any text, '?' one character),
    /// one cluster each; instead of --context
    // Not under the Kubernetes heading: a thin plugin and the umbrella order that heading
    // differently, and their help must be the same.
    #[arg(long, value_name = "GLOB")]
    pub contexts: Option<String>,
}

/// How to reach an archive's store, besides its URL: shared by `archive` and the
/// commands that read or fill an archive (`history`, `logs`, `prune`).
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    #[arg(
        long,
        value_name = "URL",
        help = "The S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL, the AWS profile's, else AWS)"
    )]
    pub endpoint: Option<String>,

    /// The cluster's folder in the store (default: the kubeconfig's cluster name)
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,

    #[arg(
        long,
        value_name = "FILE",
        help = "Read the kuul config from FILE (default: ./kuul.yaml, $KUUL_CONFIG, ~/.config/kuul/config.yaml)"
    )]
    pub config: Option<PathBuf>,
}

/// The archive a command reads runs from, or archives them to before deleting them:
/// `--archive URL`, else the kuul config's `archive:`; `--no-archive` for none.
#[derive(Debug, Clone, Default, Args)]
pub struct ArchiveSourceArgs {
    // Help in `help = ...`: clippy would have the URLs of a doc comment in backticks,
    // which clap would show.
    #[arg(
        long,
        value_name = "URL",
        help = "The archive: s3://BUCKET/PREFIX, file:///PATH or a folder (default: the config's archive)"
    )]
    pub archive: Option<String>,

    /// Leave the archive out, even when the kuul config names one
    #[arg(long, conflicts_with = "archive")]
    pub no_archive: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl ArchiveSourceArgs {
    /// The archive to read (`None` with `--no-archive`, or when neither `--archive` nor
    /// the config names one), its flags checked before anything is read.
    pub fn target(&self) -> Result<Option<crate::archive::open::Target>, Error> {
        if self.no_archive {
            return Ok(None);
        }
        crate::archive::open::target("--archive", self.archive.as_deref(), &self.store)
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
        assert_eq!(
            parse_request_timeout("1.5s"),
            Ok(RequestTimeout(Some(Duration::from_millis(1500))))
        );
        assert_eq!(
            parse_request_timeout(".5m"),
            Ok(RequestTimeout(Some(Duration::from_secs(30))))
        );
        assert_eq!(
            parse_request_timeout("1h0.5m1.25s"),
            Ok(RequestTimeout(Some(Duration::from_millis(3_631_250))))
        );
        assert_eq!(
            parse_request_timeout("1500us"),
            Ok(RequestTimeout(Some(Duration::from_micros(1500))))
        );
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
        for bad in [
            "", "s", "10x", "1.5", "-1", "-1s", "m10", ".s", "1..5s", "1.5.5s", "1d",
        ] {
            assert!(parse_request_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn kube(args: &[&str]) -> KubeArgs {
        try_parse(args).unwrap()
    }

    #[test]
    fn connection_flags_take_kubectl_spellings() {
        let args = kube(&[
            "-s",
            "https://10.0.0.1:6443",
            "--as=bob",
            "--as-group",
            "ops",
            "--as-group=dev",
            "--insecure-skip-tls-verify",
        ]);
        assert_eq!(args.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(args.impersonate.as_deref(), Some("bob"));
        assert_eq!(args.impersonate_groups, ["ops", "dev"]);
        assert!(args.insecure_skip_tls_verify);
        assert!(!kube(&["--insecure-skip-tls-verify=false"]).insecure_skip_tls_verify);
        assert!(!kube(&[]).insecure_skip_tls_verify);
    }

    #[test]
    fn empty_connection_values_are_refused() {
        // `--token "$TOKEN"` with TOKEN unset must not fall back to the kubeconfig's user.
        for flag in ["--token", "--as", "--server", "--cluster", "--user"] {
            let error = try_parse::<KubeArgs>(&[flag, ""]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flag}");
        }
    }

    #[test]
    fn a_token_stays_out_of_debug_output() {
        let args = kube(&["--token", "s3cr3t"]);
        assert_eq!(args.token.as_ref().unwrap().secret(), "s3cr3t");
        assert!(!format!("{args:?}").contains("s3cr3t"));
    }

    #[test]
    fn certificate_and_key_go_together() {
        let error = kube(&["--client-certificate", "/c.crt"])
            .check()
            .unwrap_err();
        assert_eq!(error.to_string(), "--client-certificate needs --client-key");
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        let error = kube(&["--client-key", "/c.key"]).check().unwrap_err();
        assert_eq!(error.to_string(), "--client-key needs --client-certificate");
    }

    #[test]
    fn a_ca_and_insecure_exclude_each_other() {
        let error = kube(&[
            "--certificate-authority",
            "/ca",
            "--insecure-skip-tls-verify",
        ])
        .check()
        .unwrap_err();
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        assert!(error.to_string().contains("exclude each other"), "{error}");
    }

    #[test]
    fn files_the_flags_name_must_be_readable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.crt");
        let present = dir.path().join("present.crt");
        std::fs::write(&present, "pem").unwrap();
        let (missing, present) = (missing.to_str().unwrap(), present.to_str().unwrap());
        for (words, flag) in [
            (
                vec!["--certificate-authority", missing],
                "--certificate-authority",
            ),
            (
                vec!["--client-certificate", missing, "--client-key", present],
                "--client-certificate",
            ),
            (
                vec!["--client-certificate", present, "--client-key", missing],
                "--client-key",
            ),
        ] {
            let error = kube(&words).check().unwrap_err();
            assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
            assert_eq!(
                error.to_string(),
                format!("cannot read {flag} {missing}: no such file or directory")
            );
        }
        let fine = ["--client-certificate", present, "--client-key", present];
        assert!(kube(&fine).check().is_ok());
    }

    #[test]
    fn flags_that_pin_one_cluster() {
        assert!(
            kube(&["--as", "bob", "-n", "ops"])
                .single_cluster_flags()
                .is_empty()
        );
        assert_eq!(
            kube(&["--server", "https://x", "--token", "t"]).single_cluster_flags(),
            ["--server", "--token"]
        );
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
