//! The connection to the local Docker daemon that builds and tests Kuul images.
//!
//! Connecting is shared by `image build`, `image test`, `image push` and the Docker
//! integration tests, and has one trap: bollard asks for its own, newer API version
//! unless told otherwise, which older daemons (Debian's dockerd 20.10 speaks API 1.41)
//! refuse. So every connection negotiates the version first.

use bollard::Docker;
use kuul_core::Error;

/// Where the daemon is when `DOCKER_HOST` is not set.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Connects to the Docker daemon named by `DOCKER_HOST` (a `unix://` socket or a
/// `tcp://`/`http://` address), else the local socket, and agrees on an API version
/// both sides speak. Costs one request (`GET /version`).
///
/// # Errors
///
/// [`Error::Docker`] naming the daemon address when the socket is missing, the daemon
/// does not answer, or the answer is not Docker's.
pub async fn connect() -> Result<Docker, Error> {
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| DEFAULT_HOST.to_owned());
    let docker = Docker::connect_with_defaults()
        .map_err(|source| Error::docker("connect to Docker", &host, source))?;
    docker
        .negotiate_version()
        .await
        .map_err(|source| Error::docker("agree on an API version", &host, source))
}
