//! Registry credentials, found where `docker login` leaves them.
//!
//! Teams already log in with `docker login`, so push reads the same places Docker does:
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), its `auths` entries,
//! and the credential helpers named by `credHelpers` (per registry) or `credsStore`
//! (for all), asked with `docker-credential-<helper> get`. Parsing is pure and tested;
//! running a helper is the only I/O.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

/// The registry Docker means when a reference names none.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// The parts of Docker's config.json that hold credentials.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerConfig {
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    pub cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    pub creds_store: Option<String>,
    /// The Docker context `docker context use` chose.
    #[serde(default)]
    pub current_context: Option<String>,
}

/// One `auths` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthEntry {
    /// base64 of `user:password`.
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    pub identity_token: Option<String>,
}

/// Where credentials for a registry come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Stored in config.json.
    Stored { username: String, password: String },
    /// An OAuth identity token in config.json.
    Token(String),
    /// `docker-credential-<helper>`.
    Helper(String),
    /// Nothing: push anonymously.
    None,
}

impl DockerConfig {
    /// Reads config.json; a missing file means no credentials.
    pub fn load() -> Result<Self, String> {
        match config_path() {
            Some(path) => Self::read(&path),
            None => Ok(Self::default()),
        }
    }

    /// Reads the config.json at `path`; a missing file means no credentials.
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!(
                "cannot read {}: {}",
                path.display(),
                kuul_core::error::io_cause(&e)
            )),
        }
    }

    /// Where `registry`'s credentials are, as Docker looks: a per-registry helper, then
    /// `auths` (also under its `https://` spelling), then the default store.
    pub fn source(&self, registry: &str) -> Result<Source, String> {
        if let Some(helper) = self.cred_helpers.get(registry) {
            return Ok(Source::Helper(helper.clone()));
        }
        let entry = self
            .auths
            .iter()
            .find(|(key, _)| same_registry(key, registry));
        if let Some((key, entry)) = entry {
            if let Some(token) = &entry.identity_token {
                return Ok(Source::Token(token.clone()));
            }
            if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
                return Ok(Source::Stored {
                    username: username.clone(),
                    password: password.clone(),
                });
            }
            if let Some(auth) = &entry.auth {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        format!("the auth of {key:?} in config.json is not base64 of user:password")
                    })?;
                let (username, password) = decoded.split_once(':').ok_or_else(|| {
                    format!("the auth of {key:?} in config.json is not user:password")
                })?;
                return Ok(Source::Stored {
                    username: username.to_owned(),
                    password: password.to_owned(),
                });
            }
        }
        Ok(self
            .creds_store
            .clone()
            .map_or(Source::None, Source::Helper))
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn config_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("config.json"))
}

/// Docker's configuration folder: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker"))
}

/// Whether a config.json key names `registry` (`https://host/v1/` names `host`).
fn same_registry(key: &str, registry: &str) -> bool {
    let host = |s: &str| {
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.split('/').next().unwrap_or(s).to_owned()
    };
    key == registry || host(key) == host(registry)
}

/// The names Docker Hub goes by in image references; `docker login` stores all of them
/// under [`DOCKER_HUB`].
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// The registry of an image reference, as the key `docker login` stores its credentials
/// under: the first component when that has a `.` or `:` or is `localhost`, except that
/// Docker Hub (unqualified names, `docker.io/...`) is [`DOCKER_HUB`].
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if DOCKER_HUB_HOSTS.contains(&first) => DOCKER_HUB.to_owned(),
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_owned(),
        _ => DOCKER_HUB.to_owned(),
    }
}

/// The credentials bollard sends for `registry`.
pub fn docker_credentials(username: &str, password: &str, registry: &str) -> DockerCredentials {
    DockerCredentials {
        username: Some(username.to_owned()),
        password: Some(password.to_owned()),
        serveraddress: Some(registry.to_owned()),
        ..DockerCredentials::default()
    }
}

/// Turns a source into credentials, running the helper if there is one.
pub async fn resolve(source: Source, registry: &str) -> Result<Option<DockerCredentials>, String> {
    match source {
        Source::None => Ok(None),
        Source::Stored { username, password } => {
            Ok(Some(docker_credentials(&username, &password, registry)))
        }
        Source::Token(token) => Ok(Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(registry.to_owned()),
            ..DockerCredentials::default()
        })),
        Source::Helper(helper) => run_helper(&helper, registry).await,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

async fn run_helper(helper: &str, registry: &str) -> Result<Option<DockerCredentials>, String> {
    use tokio::io::AsyncWriteExt as _;
    let program = format!("docker-credential-{helper}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program} (named in Docker's config.json): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .await
            .map_err(|e| format!("cannot talk to {program}: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // Helpers say "credentials not found in native keychain" when there are none.
        if stdout.contains("not found") {
            return Ok(None);
        }
        return Err(format!("{program} get failed: {}", stdout.trim()));
    }
    let answer: HelperAnswer = serde_json::from_str(&stdout)
        .map_err(|e| format!("{program} answered something other than credentials: {e}"))?;
    if answer.username == "<token>" {
        return Ok(Some(DockerCredentials {
            identitytoken: Some(answer.secret),
            serveraddress: Some(registry.to_owned()),
            ..DockerCredentials::default()
        }));
    }
    Ok(Some(docker_credentials(
        &answer.username,
        &answer.secret,
        registry,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn auths_decode_user_and_password() {
        // base64("kuul:s3cret:with-colon")
        let c = config(
            r#"{"auths": {"127.0.0.1:5000": {"auth": "a3V1bDpzM2NyZXQ6d2l0aC1jb2xvbg=="}}}"#,
        );
        assert_eq!(
            c.source("127.0.0.1:5000").unwrap(),
            Source::Stored {
                username: "kuul".to_owned(),
                password: "s3cret:with-colon".to_owned()
            }
        );
        assert_eq!(c.source("other:5000").unwrap(), Source::None);
        let bad = config(r#"{"auths": {"r.io": {"auth": "%%%"}}}"#);
        assert!(bad.source("r.io").unwrap_err().contains("not base64"));
    }

    #[test]
    fn helpers_win_over_auths_and_the_store_is_the_fallback() {
        let c = config(
            r#"{"auths": {"https://r.io/v1/": {"identitytoken": "tok"}, "a.io": {"auth": "YTpi"}},
                "credHelpers": {"a.io": "ecr-login"}, "credsStore": "pass"}"#,
        );
        assert_eq!(
            c.source("a.io").unwrap(),
            Source::Helper("ecr-login".to_owned())
        );
        assert_eq!(c.source("r.io").unwrap(), Source::Token("tok".to_owned()));
        assert_eq!(c.source("x.io").unwrap(), Source::Helper("pass".to_owned()));
    }

    #[test]
    fn the_registry_of_a_reference() {
        assert_eq!(registry_of("127.0.0.1:5000/team/img:1"), "127.0.0.1:5000");
        assert_eq!(
            registry_of("registry.example.com/ops/img"),
            "registry.example.com"
        );
        assert_eq!(registry_of("localhost/img"), "localhost");
        assert_eq!(registry_of("team/img:1"), DOCKER_HUB);
        assert_eq!(registry_of("img"), DOCKER_HUB);
        for hub in [
            "docker.io/team/img:1",
            "docker.io/library/busybox",
            "index.docker.io/team/img",
            "registry-1.docker.io/team/img",
        ] {
            assert_eq!(registry_of(hub), DOCKER_HUB, "{hub}");
        }
        assert_eq!(registry_of("docker.example.io/img"), "docker.example.io");
    }

    #[test]
    fn docker_hub_logins_are_found_under_the_key_docker_login_writes() {
        // What `docker login` leaves in config.json for Docker Hub (base64 of hub:pw).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "aHViOnB3"}, "r.io": {"auth": "cjpx"}}}"#,
        )
        .unwrap();
        let c = DockerConfig::read(&path).unwrap();
        let hub = Source::Stored {
            username: "hub".to_owned(),
            password: "pw".to_owned(),
        };
        for image in ["docker.io/team/img:1", "team/img", "busybox"] {
            assert_eq!(c.source(&registry_of(image)).unwrap(), hub, "{image}");
        }
        // Other registries are still looked up by their host.
        assert_eq!(
            c.source(&registry_of("r.io/team/img")).unwrap(),
            Source::Stored {
                username: "r".to_owned(),
                password: "q".to_owned()
            }
        );
    }
}
