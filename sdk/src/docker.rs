//! The connection to the local Docker daemon that builds and tests Kuul images.
//!
//! Connecting is shared by `image build`, `image test`, `image push` and `run-now
//! --local`, and has one trap: bollard asks for its own, newer API version unless told
//! otherwise, which older daemons (Debian's dockerd 20.10 speaks API 1.41) refuse. So
//! every connection negotiates the version first, which also tells at once, in one line,
//! when no daemon answers.

use bollard::Docker;
use bollard::errors::Error as DockerError;
use kuul_core::Error;

/// Where the daemon is when `DOCKER_HOST` is not set.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A connected daemon and its address, for messages.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub docker: Docker,
    pub host: String,
}

impl Daemon {
    /// Whether the daemon runs on this machine (a unix socket), so that it can mount our
    /// files into containers.
    pub fn is_local(&self) -> bool {
        self.host.starts_with("unix://") || self.host.starts_with('/')
    }

    /// A failed Docker `operation`, in one sentence naming the daemon. The daemon's own
    /// message is kept as it is: it is usually the most precise thing to show.
    pub fn error(&self, operation: impl Into<String>, source: DockerError) -> Error {
        let operation = operation.into();
        match &source {
            DockerError::DockerResponseServerError { message, .. } => Error::Halted {
                message: format!("cannot {operation}: {}", message.trim()),
                hint: None,
            },
            _ => Error::docker(operation, &self.host, source),
        }
    }
}

/// Connects to the Docker daemon named by `DOCKER_HOST` (a `unix://` socket or a
/// `tcp://`/`http://` address), else the local socket, and agrees on an API version
/// both sides speak. Costs one request (`GET /version`).
///
/// # Errors
///
/// [`Error::Docker`] naming the daemon address when the socket is missing, the daemon
/// does not answer, or the answer is not Docker's.
pub async fn connect() -> Result<Daemon, Error> {
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_owned());
    let docker = Docker::connect_with_defaults()
        .map_err(|source| Error::docker("connect to Docker", &host, source))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|source| Error::docker("connect to Docker", &host, source))?;
    Ok(Daemon { docker, host })
}
