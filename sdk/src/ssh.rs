//! `ssh://` Docker daemons, reached as the docker CLI reaches them: for each connection
//! the system's `ssh` runs `docker system dial-stdio` on the host, whose stdin and stdout
//! then carry the Docker API. The user's ssh config, agent and known hosts apply, as they
//! do for `docker`.
//!
//! kuul listens on a unix socket of its own, in a private temporary folder, and bridges
//! each connection to one such `ssh`; the client then talks to a local socket like any
//! other. When `ssh` fails (a refused key, an unknown host, no docker CLI there), its
//! last line of stderr is kept, so that the error says why rather than "connection
//! closed". Building the command line ([`ssh_args`]) is pure and tested.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncReadExt as _;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::Command;
use tokio::sync::watch;

/// What `ssh` runs on the daemon's host, as the docker CLI runs it.
const DIAL_STDIO: [&str; 3] = ["docker", "system", "dial-stdio"];

/// The `ssh` arguments that reach `host` (`ssh://[USER@]HOST[:PORT]`) and run
/// `docker system dial-stdio` there; the error says what is wrong with `host`.
pub fn ssh_args(host: &str) -> Result<Vec<String>, String> {
    let rest = host
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("{host:?} is not an ssh:// address"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return Err(format!(
            "{host:?} has a path after the host; ssh:// addresses are ssh://[USER@]HOST[:PORT]"
        ));
    }
    let (user, address) = match rest.rsplit_once('@') {
        Some((user, address)) => (Some(user), address),
        None => (None, rest),
    };
    let (name, port) = match address.rsplit_once(':') {
        // `[::1]:22`, or a bare IPv6 address in brackets.
        _ if address.starts_with('[') => match address.rsplit_once("]:") {
            Some((name, port)) => (name.trim_start_matches('['), Some(port)),
            None => (address.trim_matches(|c| c == '[' || c == ']'), None),
        },
        Some((name, port)) => (name, Some(port)),
        None => (address, None),
    };
    if name.is_empty() || user.is_some_and(str::is_empty) {
        return Err(format!(
            "{host:?} names no host; ssh:// addresses are ssh://[USER@]HOST[:PORT]"
        ));
    }
    if let Some(port) = port.filter(|p| p.parse::<u16>().is_err()) {
        return Err(format!(
            "{host:?} has the port {port:?}, not a number up to 65535"
        ));
    }
    let mut args: Vec<String> = ["-o", "ConnectTimeout=30", "-T"]
        .map(str::to_owned)
        .to_vec();
    if let Some(user) = user {
        args.extend(["-l".to_owned(), user.to_owned()]);
    }
    if let Some(port) = port {
        args.extend(["-p".to_owned(), port.to_owned()]);
    }
    args.extend(["--".to_owned(), name.to_owned()]);
    args.extend(DIAL_STDIO.map(str::to_owned));
    Ok(args)
}

/// A local socket whose every connection is one `ssh` to the daemon's host. The socket
/// and its folder go when it is dropped, and so do the bridges still open.
#[derive(Debug)]
pub struct SshBridge {
    socket: PathBuf,
    /// Why the last `ssh` that failed did, in its own words.
    failure: Arc<watch::Sender<Option<String>>>,
    accepting: tokio::task::JoinHandle<()>,
    // Last: the folder goes once nothing listens in it.
    _dir: tempfile::TempDir,
}

impl SshBridge {
    /// Listens for connections to bridge to `ssh` with `args` ([`ssh_args`]).
    pub fn start(args: Vec<String>) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("kuul-ssh-").tempdir()?;
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket)?;
        let failure = Arc::new(watch::Sender::new(None));
        let args = Arc::new(args);
        let accepting = tokio::spawn({
            let failure = Arc::clone(&failure);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(bridge(stream, Arc::clone(&args), Arc::clone(&failure)));
                }
            }
        });
        Ok(Self {
            socket,
            failure,
            accepting,
            _dir: dir,
        })
    }

    /// The socket, as a `unix://` address.
    pub fn address(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Why the last `ssh` that failed did, in its own words, waiting up to `limit` for
    /// one to end: a closed connection is seen before its `ssh` has exited.
    pub async fn failure_within(&self, limit: std::time::Duration) -> Option<String> {
        let mut failure = self.failure.subscribe();
        let said = tokio::time::timeout(limit, failure.wait_for(Option::is_some)).await;
        said.ok()?.ok().and_then(|f| f.clone())
    }
}

impl Drop for SshBridge {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Carries one connection over a new `ssh`, until either side closes.
async fn bridge(
    mut stream: UnixStream,
    args: Arc<Vec<String>>,
    failure: Arc<watch::Sender<Option<String>>>,
) {
    let say = |why: String| {
        failure.send_replace(Some(why));
    };
    let child = Command::new("ssh")
        .args(args.iter())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            say(format!(
                "cannot run ssh: {}",
                kuul_core::error::io_cause(&e)
            ));
            return;
        }
    };
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut remote = tokio::io::join(stdout, stdin);
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut remote).await;
    drop(remote);
    let ended = child.wait().await;
    let errors = errors.await.unwrap_or_default();
    if ended.is_ok_and(|status| !status.success()) {
        let last = errors
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or("ssh failed and said nothing");
        say(format!("ssh: {last}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(host: &str) -> String {
        ssh_args(host).map_or_else(|e| e, |a| a.join(" "))
    }

    #[test]
    fn user_and_port_become_ssh_flags_and_the_host_runs_dial_stdio() {
        assert_eq!(
            args("ssh://ops@build-1:2222"),
            "-o ConnectTimeout=30 -T -l ops -p 2222 -- build-1 docker system dial-stdio"
        );
        assert_eq!(
            args("ssh://build-1"),
            "-o ConnectTimeout=30 -T -- build-1 docker system dial-stdio"
        );
        assert_eq!(
            args("ssh://me@[::1]:22/"),
            "-o ConnectTimeout=30 -T -l me -p 22 -- ::1 docker system dial-stdio"
        );
    }

    #[test]
    fn a_path_a_bad_port_or_no_host_is_refused() {
        assert!(args("ssh://build-1/var/run/docker.sock").contains("has a path after the host"));
        assert!(args("ssh://build-1:ssh").contains("has the port \"ssh\""));
        assert!(args("ssh://ops@").contains("names no host"));
        assert!(args("ssh://@build-1").contains("names no host"));
        assert!(args("tcp://build-1").contains("is not an ssh:// address"));
    }
}
