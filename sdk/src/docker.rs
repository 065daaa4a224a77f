//! The connection to the local Docker daemon that builds and tests Kuul images.
//!
//! Connecting is shared by `image build`, `image test`, `image push` and `run-now
//! --local`, and has two traps. Which daemon: Docker Desktop, colima, `OrbStack` and
//! rootless setups point the docker CLI at theirs with a Docker context, not at
//! /var/run/docker.sock, so the daemon is found as the docker CLI finds it
//! ([`endpoint`]): `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), else
//! the context named by `DOCKER_CONTEXT` or by `currentContext` in Docker's config.json,
//! read from the context store. And which API version: bollard asks for its own, newer
//! one unless told otherwise, which older daemons (Debian's dockerd 20.10 speaks API
//! 1.41) refuse. So every connection negotiates the version first, which also tells at
//! once, in one line, when no daemon answers.

use std::path::{Path, PathBuf};

use bollard::errors::Error as DockerError;
use bollard::{API_DEFAULT_VERSION, Docker};
use kuul_core::Error;
use serde::Deserialize;

use crate::credentials;

/// Where the daemon is when neither `DOCKER_HOST` nor a context names one.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The context that means "no context": `DOCKER_HOST` or the default socket.
const DEFAULT_CONTEXT: &str = "default";

/// Seconds a request may take, as bollard's own default.
const TIMEOUT: u64 = 120;

/// How long a failed connection to an `ssh://` daemon waits for `ssh` to say why.
#[cfg(unix)]
const SSH_FAILURE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connected daemon and its address, for messages.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub docker: Docker,
    pub host: String,
    /// The bridge an `ssh://` daemon is reached through: it lives as long as the client.
    #[expect(dead_code, reason = "held, not read: dropping it closes the bridge")]
    pub(crate) bridge: Bridge,
}

/// What carries the connections to an `ssh://` daemon ([`crate::ssh`]).
#[cfg(unix)]
pub(crate) type Bridge = Option<std::sync::Arc<crate::ssh::SshBridge>>;
/// No `ssh://` daemons on Windows.
#[cfg(not(unix))]
pub(crate) type Bridge = Option<std::sync::Arc<()>>;

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

/// Where the daemon is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///path`, `tcp://host:port`, ...
    pub host: String,
    /// Client certificate, key and CA, for a daemon behind TLS.
    pub tls: Option<Tls>,
    /// Where the address came from, for messages: `DOCKER_HOST`, `context "colima"`.
    pub origin: String,
}

/// The TLS files of a daemon, named as Docker names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Tls {
    fn in_dir(dir: &Path) -> Self {
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// The parts of a context's meta.json that say where its daemon is.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContextMeta {
    #[serde(default)]
    endpoints: std::collections::BTreeMap<String, ContextEndpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContextEndpoint {
    #[serde(default)]
    host: Option<String>,
}

/// Finds the daemon as the docker CLI does: `DOCKER_HOST` (TLS when `DOCKER_TLS_VERIFY`
/// is set, with the files in `DOCKER_CERT_PATH`, default the config folder), else the
/// context named by `DOCKER_CONTEXT`, else config.json's `currentContext`; the context
/// `default`, or none, is the local socket. A context is read from the store in the
/// config folder (`$DOCKER_CONFIG`, default `~/.docker`):
/// `contexts/meta/<sha256 of its name>/meta.json` holds `Endpoints.docker.Host`, and
/// `contexts/tls/<sha256>/docker/` its TLS files, if any. Reads files only.
///
/// # Errors
///
/// One sentence naming the context and where it was looked for, when it is not there
/// or its meta.json is not one.
pub fn endpoint(
    env: impl Fn(&str) -> Option<String>,
    config_dir: Option<&Path>,
) -> Result<Endpoint, String> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(host) = env("DOCKER_HOST") {
        let tls = env("DOCKER_TLS_VERIFY").map(|_| {
            let dir = env("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .or_else(|| config_dir.map(Path::to_path_buf))
                .unwrap_or_default();
            Tls::in_dir(&dir)
        });
        return Ok(Endpoint {
            host,
            tls,
            origin: "DOCKER_HOST".to_owned(),
        });
    }
    let (name, from) = if let Some(name) = env("DOCKER_CONTEXT") {
        (name, "DOCKER_CONTEXT")
    } else {
        let current = match config_dir {
            Some(dir) => credentials::DockerConfig::read(&dir.join("config.json"))?
                .current_context
                .filter(|c| !c.is_empty()),
            None => None,
        };
        match current {
            Some(name) => (name, "currentContext in config.json"),
            None => (DEFAULT_CONTEXT.to_owned(), ""),
        }
    };
    if name == DEFAULT_CONTEXT {
        return Ok(Endpoint {
            host: DEFAULT_HOST.to_owned(),
            tls: None,
            origin: "the default socket".to_owned(),
        });
    }
    let store = config_dir
        .unwrap_or(Path::new("~/.docker"))
        .join("contexts");
    let id = sha256_hex(&name);
    let meta_path = store.join("meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "Docker context {name:?} (from {from}) does not exist: there is no {}",
                meta_path.display()
            )
        } else {
            format!(
                "cannot read Docker context {name:?} (from {from}): {}: {}",
                meta_path.display(),
                kuul_core::error::io_cause(&e)
            )
        }
    })?;
    let meta: ContextMeta = serde_json::from_str(&text).map_err(|e| {
        format!(
            "cannot read Docker context {name:?}: {}: {e}",
            meta_path.display()
        )
    })?;
    let host = meta
        .endpoints
        .get("docker")
        .and_then(|e| e.host.clone())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            format!(
                "Docker context {name:?} names no daemon: {} has no Endpoints.docker.Host",
                meta_path.display()
            )
        })?;
    let tls_dir = store.join("tls").join(&id).join("docker");
    let tls = tls_dir
        .join("ca.pem")
        .is_file()
        .then(|| Tls::in_dir(&tls_dir));
    Ok(Endpoint {
        host,
        tls,
        origin: format!("context {name:?}"),
    })
}

/// The hex SHA-256 of a context's name: its folder in the context store.
fn sha256_hex(name: &str) -> String {
    use std::fmt::Write as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    digest.as_ref().iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Connects to the Docker daemon found as the docker CLI finds it ([`endpoint`]) and
/// agrees on an API version both sides speak. Costs one request (`GET /version`).
///
/// # Errors
///
/// [`Error::Docker`] naming the daemon address when the socket is missing, the daemon
/// does not answer, or the answer is not Docker's; [`Error::Halted`] when the context
/// or the TLS files named are not there, or the address is one kuul cannot reach.
pub async fn connect() -> Result<Daemon, Error> {
    let endpoint = endpoint(|name| std::env::var(name).ok(), credentials::config_dir().as_deref())
        .map_err(|message| Error::Halted {
            message,
            hint: Some(
                "`docker context ls` lists the contexts; unset DOCKER_CONTEXT or run `docker context use default` for the local socket"
                    .to_owned(),
            ),
        })?;
    let host = endpoint.host.clone();
    let (docker, bridge) = if host.starts_with("ssh://") {
        ssh_client(&endpoint)?
    } else {
        (client(&endpoint)?, None)
    };
    let docker = match docker.negotiate_version().await {
        Ok(docker) => docker,
        Err(source) => {
            // Over ssh the connection only closes: ssh's own words, once it has ended, say
            // why.
            let why = ssh_failure(bridge.as_deref()).await;
            return Err(match why {
                Some(why) => Error::docker("connect to Docker", &host, std::io::Error::other(why)),
                None => Error::docker("connect to Docker", &host, source),
            });
        }
    };
    Ok(Daemon {
        docker,
        host,
        bridge,
    })
}

/// A client for `endpoint`, sending nothing yet.
fn client(endpoint: &Endpoint) -> Result<Docker, Error> {
    let host = endpoint.host.as_str();
    let failed = |source| Error::docker("connect to Docker", host, source);
    let Some(tls) = &endpoint.tls else {
        return if host.starts_with("https://") {
            Err(Error::Halted {
                message: format!(
                    "cannot connect to Docker at {host} (from {}): an https:// daemon needs DOCKER_TLS_VERIFY=1 and its certificates in DOCKER_CERT_PATH",
                    endpoint.origin
                ),
                hint: None,
            })
        } else {
            Docker::connect_with_host(host).map_err(failed)
        };
    };
    for file in [&tls.ca, &tls.cert, &tls.key] {
        if !file.is_file() {
            return Err(Error::Halted {
                message: format!(
                    "cannot connect to Docker at {host} (from {}) with TLS: {} is missing",
                    endpoint.origin,
                    file.display()
                ),
                hint: Some(
                    "DOCKER_CERT_PATH names the folder of ca.pem, cert.pem and key.pem (default ~/.docker)"
                        .to_owned(),
                ),
            });
        }
    }
    // bollard's TLS asks rustls for the process's provider: ring, as kube's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Docker::connect_with_ssl(
        host,
        &tls.key,
        &tls.cert,
        &tls.ca,
        TIMEOUT,
        API_DEFAULT_VERSION,
    )
    .map_err(failed)
}

/// A client for an `ssh://[USER@]HOST[:PORT]` daemon, as the docker CLI reaches one: the
/// system's `ssh` (with the user's ssh config, agent and known hosts) runs
/// `docker system dial-stdio` on HOST, which needs the docker CLI there
/// ([`crate::ssh`]); with the bridge that must live as long as the client.
#[cfg(unix)]
fn ssh_client(endpoint: &Endpoint) -> Result<(Docker, Bridge), Error> {
    let host = endpoint.host.as_str();
    let args = crate::ssh::ssh_args(host).map_err(|why| Error::Halted {
        message: format!("cannot connect to Docker (from {}): {why}", endpoint.origin),
        hint: None,
    })?;
    let failed = |source| Error::docker("connect to Docker", host, source);
    let bridge = crate::ssh::SshBridge::start(args).map_err(failed)?;
    let docker = Docker::connect_with_unix(&bridge.address(), TIMEOUT, API_DEFAULT_VERSION)
        .map_err(|source| Error::docker("connect to Docker", host, source))?;
    Ok((docker, Some(std::sync::Arc::new(bridge))))
}

/// Why `ssh` could not reach the daemon, when it said so in time.
#[cfg(unix)]
async fn ssh_failure(bridge: Option<&crate::ssh::SshBridge>) -> Option<String> {
    bridge?.failure_within(SSH_FAILURE_WAIT).await
}

/// No `ssh://` daemons on Windows.
#[cfg(not(unix))]
#[expect(clippy::unused_async, reason = "the signature of the Unix one")]
async fn ssh_failure(_: Option<&()>) -> Option<String> {
    None
}

/// The bridge listens on a unix socket: not on Windows.
#[cfg(not(unix))]
fn ssh_client(endpoint: &Endpoint) -> Result<(Docker, Bridge), Error> {
    Err(Error::Halted {
        message: format!(
            "cannot connect to Docker at {} (from {}): ssh:// daemons work on Linux and macOS, not on Windows",
            endpoint.host, endpoint.origin
        ),
        hint: Some(
            "forward the remote socket and point DOCKER_HOST at it: ssh -NL 127.0.0.1:2375:/var/run/docker.sock HOST, then DOCKER_HOST=tcp://127.0.0.1:2375"
                .to_owned(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context store in `dir` with context `name` at `host`.
    fn context(dir: &Path, name: &str, host: &str, tls: bool) {
        let id = sha256_hex(name);
        let meta = dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
        if tls {
            let tls = dir.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&tls).unwrap();
            std::fs::write(tls.join("ca.pem"), "").unwrap();
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_context_folder_is_the_sha256_of_its_name() {
        // As `docker context create colima` names it.
        assert_eq!(
            sha256_hex("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn docker_host_comes_first_then_docker_context_then_current_context() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        context(d, "colima", "unix:///home/u/.colima/docker.sock", false);
        context(d, "remote", "tcp://10.0.0.5:2376", true);
        std::fs::write(d.join("config.json"), r#"{"currentContext": "colima"}"#).unwrap();

        let host = endpoint(
            env(&[
                ("DOCKER_HOST", "tcp://h:2375"),
                ("DOCKER_CONTEXT", "remote"),
            ]),
            Some(d),
        )
        .unwrap();
        assert_eq!((host.host.as_str(), host.tls), ("tcp://h:2375", None));
        let remote = endpoint(env(&[("DOCKER_CONTEXT", "remote")]), Some(d)).unwrap();
        assert_eq!(remote.host, "tcp://10.0.0.5:2376");
        let tls_dir = d
            .join("contexts/tls")
            .join(sha256_hex("remote"))
            .join("docker");
        assert_eq!(remote.tls, Some(Tls::in_dir(&tls_dir)));
        assert_eq!(remote.origin, "context \"remote\"");
        let current = endpoint(env(&[("DOCKER_CONTEXT", "")]), Some(d)).unwrap();
        assert_eq!(
            (current.host.as_str(), current.tls),
            ("unix:///home/u/.colima/docker.sock", None)
        );
        let default = endpoint(env(&[("DOCKER_CONTEXT", "default")]), Some(d)).unwrap();
        assert_eq!(default.host, DEFAULT_HOST);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            endpoint(env(&[]), Some(empty.path())).unwrap().host,
            DEFAULT_HOST
        );
    }

    #[test]
    fn an_unknown_context_names_itself_and_where_it_was_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let error = endpoint(env(&[("DOCKER_CONTEXT", "nope")]), Some(dir.path())).unwrap_err();
        assert_eq!(
            error,
            format!(
                "Docker context \"nope\" (from DOCKER_CONTEXT) does not exist: there is no {}",
                dir.path()
                    .join("contexts/meta")
                    .join(sha256_hex("nope"))
                    .join("meta.json")
                    .display()
            )
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext": "gone"}"#,
        )
        .unwrap();
        let error = endpoint(env(&[]), Some(dir.path())).unwrap_err();
        assert!(
            error.starts_with(
                "Docker context \"gone\" (from currentContext in config.json) does not exist"
            ),
            "{error}"
        );
    }

    #[test]
    fn tls_files_come_from_docker_cert_path_else_the_config_folder() {
        let config = Path::new("/home/u/.docker");
        let verify = endpoint(
            env(&[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ]),
            Some(config),
        )
        .unwrap();
        assert_eq!(verify.tls, Some(Tls::in_dir(Path::new("/certs"))));
        let default = endpoint(
            env(&[("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "1")]),
            Some(config),
        )
        .unwrap();
        assert_eq!(default.tls, Some(Tls::in_dir(config)));
        // An empty DOCKER_TLS_VERIFY is unset, as for the docker CLI.
        let plain = endpoint(
            env(&[("DOCKER_HOST", "tcp://h:2375"), ("DOCKER_TLS_VERIFY", "")]),
            Some(config),
        )
        .unwrap();
        assert_eq!(plain.tls, None);
    }
}
