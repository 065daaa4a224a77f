//! Shell completion: `kubectl kuul completion bash|zsh|fish|powershell|install`, and the
//! answers behind `kubectl kuul <TAB>`.
//!
//! kubectl (1.26+) completes a plugin by running `kubectl_complete-kuul` with the words
//! typed so far; that thin binary asks `kubectl-kuul __complete WORDS...`, and this
//! module answers in cobra's protocol: one candidate per line (`value<TAB>description`),
//! then `:N`, the directive. Subcommands and flags come from the umbrella's clap
//! definition, so they never drift from the real command line; `CronJob`, node and pool
//! names come from the cluster, quickly and quietly (a completion never prints errors).
//! krew cannot install the `kubectl_complete-kuul` file (krew issue 812), so
//! `completion install` writes a small script next to the plugin instead, and
//! `completion uninstall` removes those scripts again (`kubectl krew uninstall` does not).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Command, FromArgMatches as _, ValueEnum};
use clap_complete::Shell;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::Api;
use kube::api::{ListParams, ObjectMeta};

use crate::cli::{KubeArgs, RequestTimeout};
use crate::client::Cluster;
use crate::config::Config;
use crate::error::Error;
use crate::printer::Printer;

/// The hidden first argument of `kubectl-kuul` that asks for completions.
pub const REQUEST: &str = "__complete";

/// cobra's directive: the shell must not fall back to file names.
const NO_FILE_COMPLETION: u8 = 4;
/// cobra's default directive: the shell may complete file names.
const FILE_COMPLETION: u8 = 0;

/// How long a completion may wait for the cluster before giving up silently.
const CLUSTER_WAIT: Duration = Duration::from_secs(5);

/// Arguments of `kubectl kuul completion`.
#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish or powershell: print a script completing `kubectl-kuul`; install:
    /// write kubectl_complete-kuul next to the plugin so `kubectl kuul <TAB>` completes;
    /// uninstall: remove what install wrote
    #[arg(value_enum, value_name = "SHELL|install|uninstall")]
    pub target: CompletionTarget,

    /// Where `install` writes kubectl_complete-kuul, and `uninstall` removes it from
    /// (default: the folder of the kubectl-kuul on PATH, e.g. ~/.krew/bin)
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// What `completion` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionTarget {
    Bash,
    Zsh,
    Fish,
    Powershell,
    /// Write kubectl_complete-kuul for kubectl's plugin completion
    Install,
    /// Remove the completers that `install` wrote
    Uninstall,
}

/// The file name kubectl looks for.
pub const COMPLETER_NAME: &str = "kubectl_complete-kuul";

/// The line that marks a completer as written by `install`, so that `uninstall` removes
/// those and nothing else (not the compiled completers of an archive install).
const WRITTEN_BY: &str = "# Written by `kubectl kuul completion install`";

/// A completer script that `install` writes; `subcommand` for a thin plugin's, whose
/// words start after the subcommand. kubectl-kuul is found on PATH, so the script
/// survives `kubectl krew upgrade`.
pub fn completer_script(subcommand: Option<&str>) -> String {
    let words = subcommand.map(|s| format!("{s} ")).unwrap_or_default();
    format!(
        "#!/bin/sh\n\
         {WRITTEN_BY}: kubectl (1.26+) runs this file to\n\
         # complete `kubectl kuul {words}...`.\n\
         exec kubectl-kuul {REQUEST} {words}\"$@\"\n"
    )
}

/// The completers for `dir`: kubectl_complete-kuul, and one per thin plugin there
/// (kubectl asks `kubectl_complete-kuul-run_now` when it runs kubectl-kuul-run_now).
fn completers(dir: &Path) -> Vec<(String, String)> {
    let mut out = vec![(COMPLETER_NAME.to_owned(), completer_script(None))];
    let mut thin: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let name = name
                .strip_suffix(std::env::consts::EXE_SUFFIX)
                .unwrap_or(&name);
            Some(name.strip_prefix("kubectl-kuul-")?.to_owned())
        })
        .collect();
    thin.sort();
    for plugin in thin {
        let subcommand = plugin.replace('_', "-");
        out.push((
            format!("{COMPLETER_NAME}-{plugin}"),
            completer_script(Some(&subcommand)),
        ));
    }
    out
}

impl CompletionArgs {
    /// The subcommand as typed after `kubectl kuul`.
    pub const NAME: &'static str = "completion";
    /// One line for command lists.
    pub const ABOUT: &'static str = "Set up shell completion for kubectl kuul.";
    /// The paragraph `--help` shows.
    pub const LONG_ABOUT: &'static str = "Set up shell completion.\n\n\
        `kubectl kuul <TAB>` is completed by kubectl itself (1.26+), which runs an executable \
        named kubectl_complete-kuul from PATH: release archives ship it, and for krew \
        installs `kubectl kuul completion install` writes it next to the plugin. It \
        completes subcommands, flags, and CronJob, node and pool names from the cluster.\n\n\
        bash, zsh, fish and powershell print a script that completes the kubectl-kuul \
        binary when it is run directly.\n\n\
        Examples:\n  \
        kubectl kuul completion install\n  \
        kubectl kuul completion uninstall    # before `kubectl krew uninstall kuul`\n  \
        kubectl-kuul completion bash > ~/.local/share/bash-completion/completions/kubectl-kuul";

    /// Does the work for the umbrella whose clap definition is `command`.
    pub fn run(self, command: Command, printer: &Printer) -> Result<(), Error> {
        let shell = match self.target {
            CompletionTarget::Install => return install(self.dir, *printer),
            CompletionTarget::Uninstall => return uninstall(self.dir, *printer),
            CompletionTarget::Bash => Shell::Bash,
            CompletionTarget::Zsh => Shell::Zsh,
            CompletionTarget::Fish => Shell::Fish,
            CompletionTarget::Powershell => Shell::PowerShell,
        };
        if self.dir.is_some() {
            return Err(Error::InvalidInput {
                message: "--dir applies to `completion install` and `uninstall` only".to_owned(),
                hint: Some("drop --dir, or run `completion install --dir DIR`".to_owned()),
            });
        }
        let mut command = command.bin_name("kubectl-kuul");
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "kubectl-kuul", &mut script);
        printer.data(&String::from_utf8_lossy(&script))
    }
}

/// Writes the completer script into `dir`, or next to the kubectl-kuul found on PATH.
fn install(dir: Option<PathBuf>, printer: Printer) -> Result<(), Error> {
    let dir = match dir {
        Some(dir) => dir,
        None => plugin_dir().ok_or_else(|| Error::InvalidInput {
            message: "kubectl-kuul is not on PATH, so kubectl could not run it either".to_owned(),
            hint: Some("add its folder to PATH, or pass --dir DIR".to_owned()),
        })?,
    };
    for (name, script) in completers(&dir) {
        let path = dir.join(name);
        write_executable(&path, &script).map_err(|source| Error::InvalidInput {
            message: format!(
                "cannot write {}: {}",
                path.display(),
                crate::error::io_cause(&source)
            ),
            hint: Some("pass --dir with a writable folder on PATH".to_owned()),
        })?;
        printer.info(format!("wrote {}", path.display()));
    }
    printer.info(
        "`kubectl kuul <TAB>` now completes (kubectl 1.26+, with kubectl's shell completion set up)",
    );
    Ok(())
}

/// Removes the completers that `install` wrote into `dir` (or next to the kubectl-kuul on
/// PATH): the files named kubectl_complete-kuul* that carry install's marker line.
/// Nothing to remove is not an error.
fn uninstall(dir: Option<PathBuf>, printer: Printer) -> Result<(), Error> {
    let dir = match dir {
        Some(dir) => dir,
        None => plugin_dir().ok_or_else(|| Error::InvalidInput {
            message: "kubectl-kuul is not on PATH, so the folder of its completers is unknown"
                .to_owned(),
            hint: Some("pass --dir DIR, e.g. --dir ~/.krew/bin".to_owned()),
        })?,
    };
    let written = written_completers(&dir);
    for path in &written {
        std::fs::remove_file(path).map_err(|source| Error::InvalidInput {
            message: format!(
                "cannot remove {}: {}",
                path.display(),
                crate::error::io_cause(&source)
            ),
            hint: None,
        })?;
        printer.info(format!("removed {}", path.display()));
    }
    if written.is_empty() {
        printer.info(format!(
            "no completers written by `completion install` in {}: nothing to remove",
            dir.display()
        ));
    }
    Ok(())
}

/// The files in `dir` that `install` wrote, sorted.
fn written_completers(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(COMPLETER_NAME))
        })
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                bytes
                    .split(|&b| b == b'\n')
                    .nth(1)
                    .is_some_and(|line| line.starts_with(WRITTEN_BY.as_bytes()))
            })
        })
        .collect();
    out.sort();
    out
}

/// The folder of the first kubectl-kuul on PATH.
fn plugin_dir() -> Option<PathBuf> {
    let name = format!("kubectl-kuul{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| dir.join(&name).is_file())
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// What the word under the cursor should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Fixed candidates, `(value, description)`.
    Fixed(Vec<(String, String)>),
    /// Names of `CronJobs` in the namespace.
    CronJobs,
    /// Names of nodes.
    Nodes,
    /// Names of pools (values of the pool label on nodes).
    Pools,
    /// Names of namespaces.
    Namespaces,
    /// A file name: the shell completes it.
    Files,
    /// Nothing to offer.
    Nothing,
}

/// A completion request, worked out from the words alone. Pure, for tests.
#[derive(Debug, Clone)]
pub struct Request {
    pub wanted: Wanted,
    /// The word under the cursor; candidates start with it.
    pub prefix: String,
    /// The connection flags typed so far (-n, --context, --kubeconfig, --as, --token, ...),
    /// so that names come from the cluster, namespace and identity the command will use.
    pub kube: KubeArgs,
}

/// Which cluster names a subcommand's positional argument `index` takes.
fn positional(subcommand: &str, index: usize) -> Wanted {
    match (subcommand, index) {
        // From "schedule" on: `set FIELD NAME... VALUE`, job names first.
        (
            "run-now" | "suspend" | "resume" | "stop" | "status" | "list" | "history" | "logs"
            | "schedule" | "image" | "pool" | "resources" | "deadline" | "concurrency",
            _,
        ) => Wanted::CronJobs,
        ("label-nodes", 0) => Wanted::Pools,
        ("label-nodes", _) => Wanted::Nodes,
        _ => Wanted::Nothing,
    }
}

/// Which cluster names a flag's value takes, by the flag's id.
fn flag_value(id: &str) -> Option<Wanted> {
    match id {
        "namespace" => Some(Wanted::Namespaces),
        "pool" => Some(Wanted::Pools),
        "remove" => Some(Wanted::Nodes),
        _ => None,
    }
}

/// Works out what to complete from `words`, everything typed after `kubectl kuul`
/// (the last one is the word under the cursor, maybe empty).
pub fn request(mut root: Command, words: &[String]) -> Request {
    root.build();
    let (current, typed) = words
        .split_last()
        .map_or(("", &[][..]), |(last, rest)| (last.as_str(), rest));
    let mut command = &root;
    let mut path: Vec<String> = Vec::new();
    let mut positionals = 0usize;
    let mut pending: Option<&clap::Arg> = None;
    let mut kube = Vec::new();
    for word in typed {
        if let Some(arg) = pending.take() {
            remember(&mut kube, arg.get_id().as_str(), Some(word));
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v)));
            if let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(name)) {
                match value {
                    Some(value) => remember(&mut kube, arg.get_id().as_str(), Some(value)),
                    None if takes_value(arg)
                        && arg.get_num_args().is_none_or(|n| n.min_values() > 0) =>
                    {
                        pending = Some(arg);
                    }
                    None => remember(&mut kube, arg.get_id().as_str(), None),
                }
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = shorts.chars();
            let first = chars.next();
            let rest: String = chars.collect();
            let arg = command.get_arguments().find(|a| a.get_short() == first);
            match arg.filter(|arg| takes_value(arg)) {
                Some(arg) if rest.is_empty() => pending = Some(arg),
                Some(arg) => remember(
                    &mut kube,
                    arg.get_id().as_str(),
                    Some(rest.trim_start_matches('=')),
                ),
                None => {}
            }
        } else if positionals == 0
            && let Some(sub) = command.find_subcommand(word)
        {
            path.push(sub.get_name().to_owned());
            command = sub;
        } else {
            positionals += 1;
        }
    }
    let wanted = if let Some(arg) = pending {
        flag_value(arg.get_id().as_str()).unwrap_or_else(|| values_of(arg))
    } else if current.starts_with('-') {
        Wanted::Fixed(flags(command))
    } else if positionals == 0 && command.has_subcommands() {
        Wanted::Fixed(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .map(|s| (s.get_name().to_owned(), about(s.get_about())))
                .collect(),
        )
    } else {
        let subcommand = path.last().map_or("", String::as_str);
        match positional(subcommand, positionals) {
            Wanted::Nothing => command
                .get_positionals()
                .nth(positionals)
                .or_else(|| {
                    command
                        .get_positionals()
                        .last()
                        .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
                })
                .map_or(Wanted::Nothing, values_of),
            wanted => wanted,
        }
    };
    Request {
        wanted,
        prefix: current.to_owned(),
        kube: connection(&kube),
    }
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
}

/// Keeps a connection flag (one of [`KubeArgs`], by its clap id) as `--LONG=VALUE`, or
/// `--LONG` without a value, for [`connection`]. The long name is [`KubeArgs`]'s own,
/// also where a command names the flag otherwise (`rbac --kubeconfig-user`).
fn remember(kube: &mut Vec<String>, id: &str, value: Option<&str>) {
    let parser = KubeArgs::augment_args(Command::new("kubectl-kuul"));
    let Some(long) = parser
        .get_arguments()
        .find(|arg| arg.get_id() == id)
        .and_then(clap::Arg::get_long)
    else {
        return;
    };
    kube.push(match value {
        Some(value) => format!("--{long}={value}"),
        None => format!("--{long}"),
    });
}

/// The connection flags typed so far, parsed as the commands parse them; when they do
/// not parse (a half-typed value), none are used rather than failing the completion.
fn connection(flags: &[String]) -> KubeArgs {
    let parser = KubeArgs::augment_args(Command::new("kubectl-kuul"));
    let words = std::iter::once("kubectl-kuul").chain(flags.iter().map(String::as_str));
    parser
        .try_get_matches_from(words)
        .ok()
        .and_then(|matches| KubeArgs::from_arg_matches(&matches).ok())
        .unwrap_or_default()
}

/// The fixed values of an argument (a value enum), files for path arguments, or nothing.
fn values_of(arg: &clap::Arg) -> Wanted {
    let values = arg.get_possible_values();
    if !values.is_empty() {
        return Wanted::Fixed(
            values
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| (v.get_name().to_owned(), about(v.get_help())))
                .collect(),
        );
    }
    let path_named = arg.get_value_names().is_some_and(|names| {
        names
            .iter()
            .any(|n| ["PATH", "FILE", "DIR"].contains(&n.as_str()))
    });
    match arg.get_value_hint() {
        clap::ValueHint::FilePath | clap::ValueHint::DirPath | clap::ValueHint::AnyPath => {
            Wanted::Files
        }
        _ if path_named => Wanted::Files,
        _ => Wanted::Nothing,
    }
}

/// The long flags of `command`, global ones included, with their help.
fn flags(command: &Command) -> Vec<(String, String)> {
    command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .filter_map(|a| Some((format!("--{}", a.get_long()?), about(a.get_help()))))
        .collect()
}

/// The first line of a help text, as a description.
fn about(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| {
        t.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_owned()
    })
    .unwrap_or_default()
}

/// cobra's answer: the candidates that start with the prefix, then the directive.
pub fn answer(candidates: &[(String, String)], prefix: &str, directive: u8) -> String {
    let mut out = String::new();
    for (value, description) in candidates.iter().filter(|(v, _)| v.starts_with(prefix)) {
        out.push_str(value);
        if !description.is_empty() {
            out.push('\t');
            out.push_str(description);
        }
        out.push('\n');
    }
    out.push(':');
    out.push_str(&directive.to_string());
    out.push('\n');
    out
}

/// Answers `kubectl-kuul __complete WORDS...` for the umbrella `root`; always exits 0.
pub fn respond(root: Command, words: &[String]) -> ExitCode {
    let request = request(root, words);
    let (candidates, directive) = match &request.wanted {
        Wanted::Fixed(values) => (values.clone(), NO_FILE_COMPLETION),
        Wanted::Files => (Vec::new(), FILE_COMPLETION),
        Wanted::Nothing => (Vec::new(), NO_FILE_COMPLETION),
        wanted => (cluster_names(wanted, &request.kube), NO_FILE_COMPLETION),
    };
    let text = answer(&candidates, &request.prefix, directive);
    // A shell that stopped listening needs no answer.
    let _ = Printer::new().data(&text);
    ExitCode::SUCCESS
}

/// Names from the cluster; none when it cannot be asked in time.
fn cluster_names(wanted: &Wanted, kube: &KubeArgs) -> Vec<(String, String)> {
    let mut kube = kube.clone();
    kube.request_timeout
        .get_or_insert(RequestTimeout(Some(CLUSTER_WAIT)));
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async {
        tokio::time::timeout(CLUSTER_WAIT, lookup(wanted, &kube))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    })
}

async fn lookup(wanted: &Wanted, kube: &KubeArgs) -> Result<Vec<(String, String)>, kube::Error> {
    let Ok(cluster) = Cluster::connect(kube).await else {
        return Ok(Vec::new());
    };
    let client = cluster.client().clone();
    let plain = |items: Vec<ObjectMeta>| {
        items
            .into_iter()
            .filter_map(|m| m.name)
            .map(|name| (name, String::new()))
            .collect::<Vec<_>>()
    };
    Ok(match wanted {
        Wanted::CronJobs => {
            plain(metadata(&Api::<CronJob>::namespaced(client, cluster.namespace())).await?)
        }
        Wanted::Namespaces => plain(metadata(&Api::<Namespace>::all(client)).await?),
        Wanted::Nodes => plain(metadata(&Api::<Node>::all(client)).await?),
        Wanted::Pools => {
            let key = Config::load(None)
                .map(|config| config.defaults.pool_label_key)
                .unwrap_or_default();
            let nodes = metadata(&Api::<Node>::all(client)).await?;
            pools(&nodes, &key)
        }
        _ => Vec::new(),
    })
}

/// The pools of `nodes` (label `key`), each with its node count, sorted.
pub fn pools(nodes: &[ObjectMeta], key: &str) -> Vec<(String, String)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for pool in nodes
        .iter()
        .filter_map(|m| m.labels.as_ref()?.get(key))
        .filter(|pool| !pool.is_empty())
    {
        *counts.entry(pool.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(pool, n)| {
            let nodes = if n == 1 { "node" } else { "nodes" };
            (pool.to_owned(), format!("{n} {nodes}"))
        })
        .collect()
}

/// Every object's metadata, paginated.
async fn metadata<K>(api: &Api<K>) -> Result<Vec<ObjectMeta>, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list_metadata(&params).await?;
        out.extend(page.items.into_iter().map(|item| item.metadata));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{LabelNodesArgs, NewArgs, RunNowArgs};

    /// An umbrella like kubectl-kuul's, with the commands completion treats specially.
    fn root() -> Command {
        let sub = |name: &'static str, command: Command| command.name(name);
        KubeArgs::augment_args(Command::new("kubectl-kuul"))
            .subcommand(sub("new", NewArgs::augment_args(Command::new("new"))))
            .subcommand(sub(
                "run-now",
                RunNowArgs::augment_args(Command::new("run-now")),
            ))
            .subcommand(sub(
                "label-nodes",
                LabelNodesArgs::augment_args(Command::new("label-nodes")),
            ))
            .subcommand(
                CompletionArgs::augment_args(Command::new("completion"))
                    .about("Set up shell completion."),
            )
    }

    fn words(text: &str) -> Vec<String> {
        let mut words: Vec<String> = text.split(' ').map(str::to_owned).collect();
        if text.is_empty() {
            words = vec![String::new()];
        }
        words
    }

    fn values(request: &Request) -> Vec<&str> {
        match &request.wanted {
            Wanted::Fixed(values) => values.iter().map(|(v, _)| v.as_str()).collect(),
            other => panic!("not fixed: {other:?}"),
        }
    }

    #[test]
    fn subcommands_first_even_after_global_flags() {
        let request = request(root(), &words("-n ops "));
        assert_eq!(
            values(&request),
            ["new", "run-now", "label-nodes", "completion"]
        );
        assert_eq!(request.kube.namespace.as_deref(), Some("ops"));
        assert_eq!(request.prefix, "");
    }

    #[test]
    fn cronjob_names_for_run_now_with_the_namespace_typed_anywhere() {
        for typed in [
            "run-now ",
            "run-now -n ops b",
            "--namespace=ops run-now b",
            "-nops run-now b",
        ] {
            let request = request(root(), &words(typed));
            assert_eq!(request.wanted, Wanted::CronJobs, "{typed}");
            if typed != "run-now " {
                assert_eq!(request.kube.namespace.as_deref(), Some("ops"), "{typed}");
                assert_eq!(request.prefix, "b");
            }
        }
    }

    /// Names come from the cluster as the command would reach it, so every connection
    /// flag typed so far goes to the lookup, boolean ones too.
    #[test]
    fn connection_flags_typed_anywhere_go_to_the_lookup() {
        let typed = "--as bob -s https://10.0.0.1:6443 run-now --token=t --as-group ops \
                     --insecure-skip-tls-verify --dry-run --user admin b";
        let request = request(root(), &words(typed));
        assert_eq!(request.wanted, Wanted::CronJobs);
        assert_eq!(request.prefix, "b");
        let kube = &request.kube;
        assert_eq!(kube.impersonate.as_deref(), Some("bob"));
        assert_eq!(kube.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(
            kube.token.as_ref().map(crate::cli::BearerToken::secret),
            Some("t")
        );
        assert_eq!(kube.impersonate_groups, ["ops"]);
        assert!(kube.insecure_skip_tls_verify);
        assert_eq!(kube.user.as_deref(), Some("admin"));
    }

    #[test]
    fn flags_of_the_subcommand_include_global_ones() {
        let request = request(root(), &words("run-now --"));
        let flags = values(&request);
        assert!(flags.contains(&"--namespace"), "{flags:?}");
        assert!(flags.contains(&"--context"), "{flags:?}");
        assert!(!flags.contains(&"--dedicated"), "{flags:?}");
    }

    #[test]
    fn flag_values_pools_nodes_namespaces_files_and_enums() {
        assert_eq!(
            request(root(), &words("new x --pool ")).wanted,
            Wanted::Pools
        );
        assert_eq!(
            request(root(), &words("label-nodes --remove ")).wanted,
            Wanted::Nodes
        );
        assert_eq!(
            request(root(), &words("label-nodes ")).wanted,
            Wanted::Pools
        );
        assert_eq!(
            request(root(), &words("label-nodes prod ")).wanted,
            Wanted::Nodes
        );
        assert_eq!(request(root(), &words("-n ")).wanted, Wanted::Namespaces);
        assert_eq!(
            request(root(), &words("completion install --dir ")).wanted,
            Wanted::Files
        );
        assert_eq!(
            request(root(), &words("--kubeconfig ")).wanted,
            Wanted::Files
        );
        assert_eq!(
            request(root(), &words("new x --template ")).wanted,
            Wanted::Files
        );
        let shells = request(root(), &words("completion "));
        assert_eq!(
            values(&shells),
            ["bash", "zsh", "fish", "powershell", "install", "uninstall"]
        );
    }

    #[test]
    fn cobra_protocol_filters_by_prefix_and_ends_with_the_directive() {
        let candidates = [
            ("backup".to_owned(), String::new()),
            ("batch".to_owned(), "desc".to_owned()),
            ("clean".to_owned(), String::new()),
        ];
        assert_eq!(answer(&candidates, "ba", 4), "backup\nbatch\tdesc\n:4\n");
        assert_eq!(answer(&[], "", 0), ":0\n");
    }

    #[test]
    fn pools_counted_from_node_labels() {
        let node = |pool: Option<&str>| ObjectMeta {
            labels: pool.map(|p| [("kuul.io/pool".to_owned(), p.to_owned())].into()),
            ..ObjectMeta::default()
        };
        let nodes = [
            node(Some("prod")),
            node(None),
            node(Some("prod")),
            node(Some("internal")),
        ];
        assert_eq!(
            pools(&nodes, "kuul.io/pool"),
            [
                ("internal".to_owned(), "1 node".to_owned()),
                ("prod".to_owned(), "2 nodes".to_owned())
            ]
        );
    }

    #[test]
    fn uninstall_removes_only_what_install_wrote() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubectl-kuul"), "").unwrap();
        std::fs::write(dir.path().join("kubectl-kuul-run_now"), "").unwrap();
        install(Some(dir.path().to_owned()), Printer::new()).unwrap();
        // A compiled completer of an archive install, and another file, stay.
        std::fs::write(dir.path().join("kubectl_complete-kuul-new"), "\x7fELF\n").unwrap();
        assert_eq!(
            written_completers(dir.path()),
            [
                dir.path().join("kubectl_complete-kuul"),
                dir.path().join("kubectl_complete-kuul-run_now")
            ]
        );
        uninstall(Some(dir.path().to_owned()), Printer::new()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "kubectl-kuul",
                "kubectl-kuul-run_now",
                "kubectl_complete-kuul-new"
            ]
        );
        // Nothing left to remove is not an error.
        uninstall(Some(dir.path().to_owned()), Printer::new()).unwrap();
    }

    #[test]
    fn installed_scripts_ask_the_umbrella_one_per_thin_plugin() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "kubectl-kuul",
            "kubectl-kuul-run_now",
            "kubectl-kuul-label_nodes",
            "other",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let scripts = completers(dir.path());
        let names: Vec<&str> = scripts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubectl_complete-kuul",
                "kubectl_complete-kuul-label_nodes",
                "kubectl_complete-kuul-run_now"
            ]
        );
        assert!(scripts[0].1.starts_with("#!/bin/sh\n"));
        assert!(
            scripts[0]
                .1
                .ends_with("\nexec kubectl-kuul __complete \"$@\"\n")
        );
        assert!(
            scripts[2]
                .1
                .ends_with("\nexec kubectl-kuul __complete run-now \"$@\"\n")
        );
    }
}
