//! Errors of every kuul command, and the one place that turns them into exit codes.
//!
//! A kuul error must tell an operator, in one sentence, which operation failed on which
//! object and why, plus an optional `hint:` line saying what to do. kube's errors are
//! precise but read like debug dumps, so they are translated here, keeping the original
//! as the `source` for anyone who walks the chain. Exit codes are decided only by
//! [`Error::exit_status`], so scripts and CI can rely on them: 0 success, 1 the operation
//! failed, 2 invalid input or usage, 4 the periodic work itself failed.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::process::ExitCode;

use kube::config::{KubeconfigError, LoadDataError};

/// The version every kuul binary reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binaries were built from (see build.rs): `unknown` without git.
pub const COMMIT: &str = env!("KUUL_GIT_COMMIT");

/// What `--version` prints after the binary's name, e.g. `0.1.0 (commit abc1234)`.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KUUL_GIT_COMMIT"),
    ")"
);

/// How a kuul process ends, as seen by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked (also: stdout was closed by the reader, as in `| head`).
    Success = 0,
    /// The operation failed: unreachable, forbidden, not found, conflict, timeout.
    Failed = 1,
    /// Invalid input or usage.
    Usage = 2,
    /// The periodic work itself failed (a watched run, an image test case, a health check).
    WorkFailed = 4,
    /// The user pressed Ctrl-C, as a shell reports a process ended by SIGINT.
    Interrupted = 130,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}

/// What a request was trying to do, so that an error can name it.
///
/// `resource` is the plural API resource (`cronjobs`), as RBAC and kubectl name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    verb: &'static str,
    resource: &'static str,
    name: Option<Box<str>>,
    namespace: Option<Box<str>>,
}

impl Operation {
    /// An operation on a kind of resource, e.g. `Operation::new("list", "cronjobs")`.
    pub fn new(verb: &'static str, resource: &'static str) -> Self {
        Self {
            verb,
            resource,
            name: None,
            namespace: None,
        }
    }

    /// The same operation on one named object.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// The same operation within a namespace.
    #[must_use]
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into().into_boxed_str());
        self
    }

    /// `cronjobs "backup"` or `cronjobs`.
    fn object(&self) -> String {
        match &self.name {
            Some(name) => format!("{} {name:?}", self.resource),
            None => self.resource.to_owned(),
        }
    }

    /// ` in namespace "ops"` or nothing.
    fn where_(&self) -> String {
        self.namespace
            .as_ref()
            .map(|ns| format!(" in namespace {ns:?}"))
            .unwrap_or_default()
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.verb, self.object(), self.where_())
    }
}

/// The API server a command talks to, so that connection errors can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The server URL from the kubeconfig cluster, or `--server`.
    pub server: String,
    /// The kubeconfig context that selected it: `in-cluster` for the pod's service
    /// account, empty when `--server` alone chose it.
    pub context: String,
}

impl Endpoint {
    /// ` of context "ops"` after `lead` (` of`, ` for`), or ` (context "ops")` when `lead`
    /// is ` (`; nothing when no context chose the server.
    fn naming(&self, lead: &str) -> String {
        match (self.context.is_empty(), lead) {
            (true, _) => String::new(),
            (false, " (") => format!(" (context {:?})", self.context),
            (false, lead) => format!("{lead} context {:?}", self.context),
        }
    }
}

/// Everything that can make a kuul command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kubeconfig file could not be read or parsed.
    #[error("{}", kubeconfig_message(origin, source))]
    Kubeconfig {
        /// Where the kubeconfig came from: a path, or the `KUBECONFIG` list.
        origin: String,
        source: KubeconfigError,
    },

    /// Neither `--kubeconfig`, `KUBECONFIG`, nor `~/.kube/config` gave a kubeconfig.
    #[error("no kubeconfig found: {searched}")]
    NoKubeconfig { searched: String },

    /// `--context` names a context the kubeconfig does not define.
    #[error(
        "context {context:?} not found in {origin} (available: {})",
        list(available)
    )]
    ContextNotFound {
        context: String,
        origin: String,
        available: Vec<String>,
    },

    /// `--cluster` or `--user` names an entry the kubeconfig does not define, or the
    /// context names a cluster it does not define.
    #[error(
        "{kind} {name:?} not found in {origin} (available: {})",
        list(available)
    )]
    EntryNotFound {
        /// `cluster` or `user`.
        kind: &'static str,
        name: String,
        origin: String,
        available: Vec<String>,
    },

    /// No `--context` and the kubeconfig sets no `current-context`.
    #[error("{origin} sets no current-context (available: {})", list(available))]
    NoCurrentContext {
        origin: String,
        available: Vec<String>,
    },

    /// Credentials could not be obtained (exec plugin, token file, client certificate).
    #[error("cannot get credentials{}: {cause}", endpoint.naming(" for"))]
    Credentials {
        endpoint: Endpoint,
        cause: String,
        source: Box<kube::Error>,
    },

    /// The API server could not be reached at all.
    #[error("cannot reach the Kubernetes API server at {}{}: {cause}", endpoint.server, endpoint.naming(" ("))]
    Unreachable {
        endpoint: Endpoint,
        cause: String,
        source: Box<kube::Error>,
    },

    /// The request did not finish in time.
    #[error("timed out trying to {operation} at {}{}", endpoint.server, endpoint.naming(" ("))]
    Timeout {
        operation: Operation,
        endpoint: Endpoint,
        source: Box<kube::Error>,
    },

    /// The API server rejected the credentials (401).
    #[error("the API server at {} rejected the credentials{} (Unauthorized)", endpoint.server, endpoint.naming(" of"))]
    Unauthorized {
        endpoint: Endpoint,
        source: Box<kube::Error>,
    },

    /// RBAC does not allow the operation (403).
    #[error("forbidden: {}", forbidden_message(operation, source))]
    Forbidden {
        operation: Operation,
        source: Box<kube::Error>,
    },

    /// The object, or its namespace, does not exist (404).
    #[error("{}{} not found", operation.object(), operation.where_())]
    NotFound {
        operation: Operation,
        source: Box<kube::Error>,
    },

    /// Someone else changed the object meanwhile, or it already exists (409).
    #[error("conflict while trying to {operation}: {message}")]
    Conflict {
        operation: Operation,
        message: String,
        source: Box<kube::Error>,
    },

    /// Any other answer from the API server.
    #[error("cannot {operation}: {message}")]
    Api {
        operation: Operation,
        message: String,
        source: Box<kube::Error>,
    },

    /// The request failed on the client side for another reason.
    #[error("cannot {operation}: {cause}")]
    Request {
        operation: Operation,
        cause: String,
        source: Box<kube::Error>,
    },

    /// The local Docker daemon (for Kuul images) could not do what was asked.
    #[error("cannot {operation} (Docker daemon at {host}): {cause}")]
    Docker {
        operation: String,
        host: String,
        cause: String,
        source: Box<dyn StdError + Send + Sync>,
    },

    /// The archive's store (a folder, S3-compatible object storage) failed a read or a
    /// write, or refused the credentials.
    #[error("cannot {operation} {location}: {cause}")]
    Store {
        operation: &'static str,
        /// The store's URL, or an object's: the store's URL and the object's path in it.
        location: String,
        cause: String,
        /// Whether the store refused the credentials: every other write would fail alike.
        denied: bool,
        source: Box<dyn StdError + Send + Sync>,
    },

    /// The user asked for something that cannot be done as asked.
    #[error("{message}")]
    InvalidInput {
        message: String,
        hint: Option<String>,
    },

    /// A job's container, run locally (`run-now --local`), exited with `code`, which the
    /// process passes on as its own exit code, as `docker run` does.
    #[error("{message}")]
    ContainerExited { code: u8, message: String },

    /// The periodic work itself failed (not kuul, not the cluster).
    #[error("{message}")]
    WorkFailed { message: String },

    /// A watched run cannot start (its image, its configuration, no room, a quota) and
    /// has been so for the blocked timeout: the periodic work is not being done.
    #[error("{message}")]
    Blocked { message: String, hint: String },

    /// `diff` found what applying would change: exit 1 as `kubectl diff`, though nothing
    /// went wrong.
    #[error("{message}")]
    Differs { message: String },

    /// kuul stopped short of what was asked: it refused to start work that would
    /// collide with work in progress, or gave up waiting (a timeout, the object went away).
    #[error("{message}")]
    Halted {
        message: String,
        hint: Option<String>,
    },

    /// The user pressed Ctrl-C while kuul waited; the work goes on.
    #[error("{message}")]
    Interrupted { message: String, hint: String },

    /// Writing the output failed for another reason than a closed pipe.
    #[error("cannot write output: {}", io_cause(source))]
    Output { source: io::Error },

    /// The async runtime could not start (out of threads or file descriptors).
    #[error("cannot start: {}", io_cause(source))]
    Startup { source: io::Error },

    /// The reader closed stdout (`kubectl kuul ... | head`): not a failure, stop quietly.
    #[error("stdout was closed")]
    StdoutClosed,
}

impl Error {
    /// The exit status this error ends the process with. The only place that decides it.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::StdoutClosed => ExitStatus::Success,
            Error::InvalidInput { .. } => ExitStatus::Usage,
            Error::WorkFailed { .. } | Error::ContainerExited { .. } | Error::Blocked { .. } => {
                ExitStatus::WorkFailed
            }
            Error::Interrupted { .. } => ExitStatus::Interrupted,
            Error::Kubeconfig { .. }
            | Error::NoKubeconfig { .. }
            | Error::ContextNotFound { .. }
            | Error::EntryNotFound { .. }
            | Error::NoCurrentContext { .. }
            | Error::Credentials { .. }
            | Error::Unreachable { .. }
            | Error::Timeout { .. }
            | Error::Halted { .. }
            | Error::Differs { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::NotFound { .. }
            | Error::Conflict { .. }
            | Error::Api { .. }
            | Error::Request { .. }
            | Error::Output { .. }
            | Error::Startup { .. }
            | Error::Docker { .. }
            | Error::Store { .. } => ExitStatus::Failed,
        }
    }

    /// The process's exit code: the [`ExitStatus`], except that a locally run container's
    /// own exit code is passed on.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::ContainerExited { code, .. } => ExitCode::from(*code),
            other => other.exit_status().into(),
        }
    }

    /// What to do about it, printed as a second `hint:` line where there is advice.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoKubeconfig { .. } => Some(
                "pass --kubeconfig PATH or set KUBECONFIG, or give --server URL and credentials"
                    .to_owned(),
            ),
            Error::NoCurrentContext { .. } => Some("pass --context NAME".to_owned()),
            // rustls's words for a server certificate that does not check out.
            Error::Unreachable { cause, .. } if cause.starts_with("invalid peer certificate") => {
                Some(
                    "check the server's certificate against its CA with --certificate-authority, and --tls-server-name if it is issued for another name"
                        .to_owned(),
                )
            }
            Error::Unreachable { .. } => Some(
                "check that the cluster is up and that --context, --server or KUBECONFIG select the right one"
                    .to_owned(),
            ),
            Error::Unauthorized { .. } => {
                Some("your credentials may have expired: log in to the cluster again".to_owned())
            }
            Error::Forbidden { operation, .. } => {
                let namespace = operation.namespace.as_ref().map(|ns| format!(" -n {ns}"));
                let role = crate::rbac::granting(operation.verb, operation.resource).map(|role| {
                    let reach = match (role, &namespace) {
                        (crate::rbac::Persona::LabelNodes, _) | (_, None) => " --cluster",
                        (_, Some(namespace)) => namespace,
                    };
                    format!(" (`kubectl kuul rbac {}{reach}` prints one)", role.cli_name())
                });
                Some(format!(
                    "ask a cluster admin for RBAC that allows it{}; `kubectl auth can-i {} {}{}` checks",
                    role.unwrap_or_default(),
                    operation.verb,
                    operation.resource,
                    namespace.as_deref().unwrap_or_default()
                ))
            }
            Error::Docker { host, .. } if host.starts_with("ssh://") => Some(format!(
                "`{} docker version` must work first: your ssh key (agent or config), the host in known_hosts, and the docker CLI on the host",
                ssh_command(host)
            )),
            Error::Docker { .. } => {
                Some("start Docker (e.g. `sudo systemctl start docker`), or set DOCKER_HOST to its socket".to_owned())
            }
            Error::Timeout { .. } => Some("raise --request-timeout, or retry".to_owned()),
            Error::Store { denied: true, .. } => Some(
                "check the store's credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
                    .to_owned(),
            ),
            Error::InvalidInput { hint, .. } | Error::Halted { hint, .. } => hint.clone(),
            Error::Interrupted { hint, .. } | Error::Blocked { hint, .. } => Some(hint.clone()),
            // The sentence says it all: what was wrong with the file, which context exists,
            // what the server answered, or the work's own failure.
            Error::Kubeconfig { .. }
            | Error::ContextNotFound { .. }
            | Error::EntryNotFound { .. }
            | Error::Credentials { .. }
            | Error::NotFound { .. }
            | Error::Conflict { .. }
            | Error::Api { .. }
            | Error::Request { .. }
            | Error::Store { denied: false, .. }
            | Error::ContainerExited { .. }
            | Error::WorkFailed { .. }
            | Error::Differs { .. }
            | Error::Output { .. }
            | Error::Startup { .. }
            | Error::StdoutClosed => None,
        }
    }

    /// Whether the message is the command's answer rather than a failure of kuul (`diff`
    /// found differences): it is printed as is, without the `error: ` prefix, though the
    /// exit status still tells scripts.
    pub fn is_verdict(&self) -> bool {
        matches!(self, Error::Differs { .. })
    }

    /// What the user reads on stderr: `error: SENTENCE`, then `hint: ADVICE` where there is
    /// advice; a verdict as it is; nothing for a closed stdout.
    pub fn report(&self) -> String {
        if matches!(self, Error::StdoutClosed) {
            return String::new();
        }
        if self.is_verdict() {
            return format!("{self}\n");
        }
        match self.hint() {
            Some(hint) => format!("error: {self}\nhint: {hint}\n"),
            None => format!("error: {self}\n"),
        }
    }

    /// Translates a kube error from `operation` against `endpoint` into one sentence.
    pub fn from_kube(source: kube::Error, operation: Operation, endpoint: &Endpoint) -> Self {
        let endpoint = endpoint.clone();
        let source = Box::new(source);
        if let kube::Error::Api(status) = source.as_ref() {
            let message = if status.message.is_empty() {
                format!("{} {}", status.code, status.reason)
            } else {
                status.message.clone()
            };
            return match status.code {
                401 => Error::Unauthorized { endpoint, source },
                403 => Error::Forbidden { operation, source },
                404 => Error::NotFound { operation, source },
                409 => Error::Conflict {
                    operation,
                    message,
                    source,
                },
                408 | 504 => Error::Timeout {
                    operation,
                    endpoint,
                    source,
                },
                _ => Error::Api {
                    operation,
                    message,
                    source,
                },
            };
        }
        if matches!(*source, kube::Error::Auth(_))
            || find_in_chain::<kube::client::AuthError>(source.as_ref())
        {
            let cause = credentials_cause(source.as_ref());
            return Error::Credentials {
                endpoint,
                cause,
                source,
            };
        }
        if let kube::Error::HyperError(_) | kube::Error::Service(_) = source.as_ref() {
            if innermost_io(source.as_ref()).is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
            {
                return Error::Timeout {
                    operation,
                    endpoint,
                    source,
                };
            }
            let cause = short_cause(source.as_ref());
            return Error::Unreachable {
                endpoint,
                cause,
                source,
            };
        }
        let cause = short_cause(source.as_ref());
        Error::Request {
            operation,
            cause,
            source,
        }
    }

    /// A failed Docker `operation` against the daemon at `host`, in one sentence.
    pub fn docker(
        operation: impl Into<String>,
        host: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        let cause = short_cause(&source);
        Error::Docker {
            operation: operation.into(),
            host: host.into(),
            cause,
            source: Box::new(source),
        }
    }

    /// A failed read or write of the archive's store: `cause` says why in a few words, or
    /// else the innermost error of `source` does.
    pub fn store(
        operation: &'static str,
        location: impl Into<String>,
        denied: bool,
        cause: Option<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Error::Store {
            operation,
            location: location.into(),
            cause: cause.unwrap_or_else(|| short_cause(&source)),
            denied,
            source: Box::new(source),
        }
    }
}

/// The `ssh` command line that reaches the daemon host `ssh://[USER@]HOST[:PORT]`.
fn ssh_command(host: &str) -> String {
    let target = host.trim_start_matches("ssh://").trim_end_matches('/');
    match target.rsplit_once(':') {
        Some((destination, port)) if port.parse::<u16>().is_ok() => {
            format!("ssh -p {port} {destination}")
        }
        _ => format!("ssh {target}"),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn kubeconfig_message(origin: &str, source: &KubeconfigError) -> String {
    match source {
        KubeconfigError::ReadConfig(io, path) => {
            format!(
                "cannot read kubeconfig {}: {}",
                path.display(),
                io_cause(io)
            )
        }
        KubeconfigError::LoadCertificateAuthority(LoadDataError::ReadFile(io, path))
        | KubeconfigError::LoadClientCertificate(LoadDataError::ReadFile(io, path))
        | KubeconfigError::LoadClientKey(LoadDataError::ReadFile(io, path)) => format!(
            "cannot read {}, which {origin} names: {}",
            path.display(),
            io_cause(io)
        ),
        other => format!("invalid {origin}: {}", short_cause(other)),
    }
}

/// `User "NAME" may not create jobs in namespace "ops"`, with the user the API server
/// names in its message; without one, `not allowed to create jobs ...`.
fn forbidden_message(operation: &Operation, source: &kube::Error) -> String {
    let user = match source {
        kube::Error::Api(status) => status
            .message
            .split_once("User \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(user, _)| user.to_owned()),
        _ => None,
    };
    match user {
        Some(user) => format!("User {user:?} may not {operation}"),
        None => format!("not allowed to {operation}"),
    }
}

fn find_in_chain<E: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<E>() {
            return true;
        }
        current = e.source();
    }
    false
}

fn credentials_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = Some(error);
    while let Some(e) = current {
        // kube's own text for this embeds the whole captured output.
        if let Some(kube::client::AuthError::AuthExecRun { out, .. }) = e.downcast_ref() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return match stderr.lines().map(str::trim).find(|l| !l.is_empty()) {
                Some(line) => format!("the exec credential plugin failed ({}): {line}", out.status),
                None => format!("the exec credential plugin failed ({})", out.status),
            };
        }
        current = e.source();
    }
    short_cause(error)
}

fn innermost_io<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut found = None;
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            found = Some(io);
        }
        current = e.source();
    }
    found
}

/// The root cause of an error chain, in a few words: "connection refused", not a dump of
/// every wrapper on the way.
fn short_cause(error: &(dyn StdError + 'static)) -> String {
    if let Some(io) = innermost_io(error) {
        return io_cause(io);
    }
    let mut innermost = error;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    innermost.to_string()
}

/// An I/O error as a person says it: "no such file or directory", "connection refused".
/// An I/O error in a few words, as a sentence's tail: `no such file or directory`.
pub fn io_cause(error: &io::Error) -> String {
    if let Some(inner) = error.get_ref() {
        // A wrapped error (TLS, DNS) carries the useful text itself.
        return short_cause(inner);
    }
    let text = error.to_string();
    // The OS error number adds nothing for a person.
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;
    use std::fmt::Write as _;

    fn endpoint() -> Endpoint {
        Endpoint {
            server: "https://127.0.0.1:6443/".to_owned(),
            context: "ops".to_owned(),
        }
    }

    #[test]
    fn an_ssh_daemon_that_cannot_be_reached_is_hinted_at_with_its_ssh_command() {
        let refused = |host: &str| {
            Error::docker("connect to Docker", host, std::io::Error::other("refused"))
                .hint()
                .unwrap()
        };
        assert!(
            refused("ssh://ops@build-1:2222")
                .starts_with("`ssh -p 2222 ops@build-1 docker version` must work first"),
            "{}",
            refused("ssh://ops@build-1:2222")
        );
        assert!(refused("ssh://build-1").starts_with("`ssh build-1 docker version`"));
        assert!(refused("unix:///var/run/docker.sock").starts_with("start Docker"));
    }

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        let status: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": code, "reason": reason, "message": message,
        }))
        .unwrap();
        kube::Error::Api(Box::new(status))
    }

    fn get_backup() -> Operation {
        Operation::new("get", "cronjobs")
            .named("backup")
            .in_namespace("ops")
    }

    #[test]
    fn not_found_names_object_and_namespace() {
        let err = Error::from_kube(
            api_error(404, "NotFound", "cronjobs.batch \"backup\" not found"),
            get_backup(),
            &endpoint(),
        );
        assert_eq!(
            err.to_string(),
            r#"cronjobs "backup" in namespace "ops" not found"#
        );
        assert_eq!(err.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn forbidden_names_verb_and_resource_with_a_hint() {
        let err = Error::from_kube(
            api_error(403, "Forbidden", "cronjobs.batch is forbidden"),
            Operation::new("list", "cronjobs").in_namespace("ops"),
            &endpoint(),
        );
        assert_eq!(
            err.to_string(),
            r#"forbidden: not allowed to list cronjobs in namespace "ops""#
        );
        assert_eq!(
            err.hint().unwrap(),
            "ask a cluster admin for RBAC that allows it (`kubectl kuul rbac viewer -n ops` prints one); `kubectl auth can-i list cronjobs -n ops` checks"
        );
        assert_eq!(err.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn forbidden_names_the_user_the_server_names() {
        let err = Error::from_kube(
            api_error(
                403,
                "Forbidden",
                r#"jobs.batch is forbidden: User "system:serviceaccount:ops:viewer" cannot create resource "jobs" in API group "batch" in the namespace "ops""#,
            ),
            Operation::new("create", "jobs").in_namespace("ops"),
            &endpoint(),
        );
        assert_eq!(
            err.to_string(),
            r#"forbidden: User "system:serviceaccount:ops:viewer" may not create jobs in namespace "ops""#
        );
        assert!(
            err.hint()
                .unwrap()
                .contains("`kubectl kuul rbac operator -n ops` prints one"),
            "{:?}",
            err.hint()
        );
        let nodes = Error::from_kube(
            api_error(403, "Forbidden", "nodes is forbidden"),
            Operation::new("patch", "nodes").named("n1"),
            &endpoint(),
        );
        assert!(
            nodes
                .hint()
                .unwrap()
                .contains("`kubectl kuul rbac label-nodes --cluster` prints one"),
            "{:?}",
            nodes.hint()
        );
    }

    #[test]
    fn unauthorized_names_server_and_context() {
        let err = Error::from_kube(
            api_error(401, "Unauthorized", ""),
            get_backup(),
            &endpoint(),
        );
        assert_eq!(
            err.to_string(),
            r#"the API server at https://127.0.0.1:6443/ rejected the credentials of context "ops" (Unauthorized)"#
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn conflict_keeps_the_server_message() {
        let err = Error::from_kube(
            api_error(409, "Conflict", "the object has been modified"),
            get_backup(),
            &endpoint(),
        );
        assert_eq!(
            err.to_string(),
            r#"conflict while trying to get cronjobs "backup" in namespace "ops": the object has been modified"#
        );
    }

    #[test]
    fn connection_refused_is_unreachable_with_a_short_cause() {
        // kube reports a failed connect as a service error wrapping the OS error.
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let source = kube::Error::Service(Box::new(io::Error::other(refused)));
        let err = Error::from_kube(source, get_backup(), &endpoint());
        assert_eq!(
            err.to_string(),
            r#"cannot reach the Kubernetes API server at https://127.0.0.1:6443/ (context "ops"): connection refused"#
        );
        assert_eq!(err.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn timed_out_connection_is_a_timeout() {
        let source = kube::Error::Service(Box::new(io::Error::from(io::ErrorKind::TimedOut)));
        let err = Error::from_kube(source, get_backup(), &endpoint());
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert_eq!(err.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn exit_codes() {
        let usage = Error::InvalidInput {
            message: "bad schedule".to_owned(),
            hint: None,
        };
        assert_eq!(usage.exit_status(), ExitStatus::Usage);
        assert_eq!(
            Error::WorkFailed {
                message: "run failed".to_owned()
            }
            .exit_status(),
            ExitStatus::WorkFailed
        );
        assert_eq!(Error::StdoutClosed.exit_status(), ExitStatus::Success);
        assert_eq!(ExitStatus::WorkFailed as u8, 4);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_kubeconfig_names_the_file() {
        let source =
            KubeconfigError::ReadConfig(io::Error::from_raw_os_error(2), "/nonexistent".into());
        let err = Error::Kubeconfig {
            origin: "/nonexistent".to_owned(),
            source,
        };
        assert_eq!(
            err.to_string(),
            "cannot read kubeconfig /nonexistent: no such file or directory"
        );
    }

    #[test]
    fn missing_context_lists_the_available_ones() {
        let err = Error::ContextNotFound {
            context: "nope".to_owned(),
            origin: "kubeconfig /tmp/k".to_owned(),
            available: vec!["a".to_owned(), "b".to_owned()],
        };
        assert_eq!(
            err.to_string(),
            r#"context "nope" not found in kubeconfig /tmp/k (available: a, b)"#
        );
    }

    /// Every kind of error as the user reads it, with its hint: one of each variant, so
    /// that a new variant or a reworded sentence shows up in review.
    #[test]
    #[expect(clippy::too_many_lines, reason = "a table with one error of each kind")]
    fn every_error_as_reported() {
        let boxed = || Box::new(api_error(500, "InternalError", "etcd is down"));
        let endpoint = endpoint();
        let errors = [
            Error::Kubeconfig {
                origin: "/home/op/.kube/config".to_owned(),
                source: KubeconfigError::ReadConfig(
                    io::Error::from_raw_os_error(13),
                    "/home/op/.kube/config".into(),
                ),
            },
            Error::NoKubeconfig {
                searched: "KUBECONFIG is unset and /home/op/.kube/config does not exist".to_owned(),
            },
            Error::ContextNotFound {
                context: "prod".to_owned(),
                origin: "kubeconfig /home/op/.kube/config".to_owned(),
                available: vec!["dev".to_owned(), "staging".to_owned()],
            },
            Error::EntryNotFound {
                kind: "user",
                name: "alice".to_owned(),
                origin: "kubeconfig /home/op/.kube/config".to_owned(),
                available: vec!["admin".to_owned()],
            },
            Error::NoCurrentContext {
                origin: "kubeconfig /home/op/.kube/config".to_owned(),
                available: Vec::new(),
            },
            Error::Credentials {
                endpoint: endpoint.clone(),
                cause: "exec plugin gke-gcloud-auth-plugin not found".to_owned(),
                source: boxed(),
            },
            Error::Unreachable {
                endpoint: endpoint.clone(),
                cause: "connection refused".to_owned(),
                source: boxed(),
            },
            Error::Unreachable {
                endpoint: endpoint.clone(),
                cause: "invalid peer certificate: UnknownIssuer".to_owned(),
                source: boxed(),
            },
            // In a pod, with the service account.
            Error::Unreachable {
                endpoint: Endpoint {
                    server: "https://10.96.0.1:443/".to_owned(),
                    context: "in-cluster".to_owned(),
                },
                cause: "connection refused".to_owned(),
                source: boxed(),
            },
            // --server and --token without a kubeconfig: no context to name.
            Error::from_kube(
                api_error(401, "Unauthorized", ""),
                get_backup(),
                &Endpoint {
                    server: "https://10.0.0.1:6443/".to_owned(),
                    context: String::new(),
                },
            ),
            Error::Timeout {
                operation: Operation::new("list", "cronjobs").in_namespace("ops"),
                endpoint: endpoint.clone(),
                source: boxed(),
            },
            Error::from_kube(api_error(401, "Unauthorized", ""), get_backup(), &endpoint),
            Error::from_kube(
                api_error(403, "Forbidden", "forbidden"),
                Operation::new("create", "jobs").in_namespace("ops"),
                &endpoint,
            ),
            Error::from_kube(api_error(404, "NotFound", ""), get_backup(), &endpoint),
            Error::from_kube(
                api_error(409, "Conflict", "the object has been modified"),
                Operation::new("patch", "cronjobs").named("backup").in_namespace("ops"),
                &endpoint,
            ),
            Error::from_kube(api_error(500, "InternalError", "etcd is down"), get_backup(), &endpoint),
            Error::Request {
                operation: get_backup(),
                cause: "invalid header value".to_owned(),
                source: boxed(),
            },
            Error::docker(
                "build image kuul/backup:1",
                "unix:///var/run/docker.sock",
                io::Error::from_raw_os_error(111),
            ),
            Error::store(
                "write",
                "s3://kuul-logs/prod/kuul/ops/backup/backup-29012345/run.json",
                true,
                Some("access denied (SignatureDoesNotMatch)".to_owned()),
                io::Error::from_raw_os_error(13),
            ),
            Error::store(
                "list",
                "s3://kuul-logs/prod/kuul/ops/backup",
                false,
                None,
                io::Error::from_raw_os_error(111),
            ),
            Error::InvalidInput {
                message: "invalid --schedule \"61 * * * *\": minute 61 is out of range 0-59".to_owned(),
                hint: Some("a schedule has five fields: minute hour day-of-month month day-of-week".to_owned()),
            },
            Error::ContainerExited {
                code: 3,
                message: "the container exited with code 3".to_owned(),
            },
            Error::WorkFailed {
                message: "run backup-manual-x7k2p failed: exit code 1".to_owned(),
            },
            Error::Blocked {
                message: "run backup-manual-x7k2p cannot start for 2m0s: image kuul/backup:nope cannot be pulled".to_owned(),
                hint: "fix the image, then `kubectl kuul run-now backup`".to_owned(),
            },
            Error::Differs {
                message: "2 CronJobs differ from the job set".to_owned(),
            },
            Error::Halted {
                message: "backup has a run in progress (backup-29012345)".to_owned(),
                hint: Some("pass --force to start another anyway".to_owned()),
            },
            Error::Interrupted {
                message: "stopped waiting for backup-manual-x7k2p".to_owned(),
                hint: "it goes on: `kubectl kuul logs backup -f` follows it".to_owned(),
            },
            Error::Output {
                source: io::Error::from_raw_os_error(28),
            },
            Error::Startup {
                source: io::Error::from_raw_os_error(24),
            },
            Error::StdoutClosed,
        ];
        let mut report = String::new();
        for error in &errors {
            let code = match error {
                Error::ContainerExited { code, .. } => *code,
                other => other.exit_status() as u8,
            };
            let _ = writeln!(report, "[exit {code}]\n{}", error.report());
        }
        insta::assert_snapshot!(report);
    }
}
