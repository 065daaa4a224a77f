//! Registry credentials, found where `docker login` or `podman login` leaves them.
//!
//! Teams already log in with `docker login`, so push reads the same places Docker does:
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), its `auths` entries,
//! and the credential helpers named by `credHelpers` (per registry) or `credsStore`
//! (for all), asked with `docker-credential-<helper> get`. Teams on Podman log in with
//! `podman login`, which writes a containers auth.json instead; when Docker's config has
//! nothing for a registry, the auth files are read in the order containers-auth.json(5)
//! gives: `$REGISTRY_AUTH_FILE` alone when it is set, else
//! `$XDG_RUNTIME_DIR/containers/auth.json` then `$XDG_CONFIG_HOME/containers/auth.json`
//! (default `~/.config/containers/auth.json`). Parsing is pure and tested; reading the
//! files and running a helper is the only I/O.

use std::collections::BTreeMap;
use std::ffi::OsString;
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
    /// Stored in config.json or an auth.json.
    Stored { username: String, password: String },
    /// An OAuth identity token in config.json or an auth.json.
    Token(String),
    /// `docker-credential-<helper>`, asked for the credentials of `server` (the name the
    /// login stored them under).
    Helper { helper: String, server: String },
    /// Nothing: push anonymously.
    None,
}

impl AuthEntry {
    /// The credentials of this entry, stored under `key` in `file` (which messages
    /// name): its identity token, its username and password, or its `auth`; `None` when
    /// it has none of them.
    fn source(&self, key: &str, file: &str) -> Result<Option<Source>, String> {
        if let Some(token) = &self.identity_token {
            return Ok(Some(Source::Token(token.clone())));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(Source::Stored {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                format!("the auth of {key:?} in {file} is not base64 of user:password")
            })?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("the auth of {key:?} in {file} is not user:password"))?;
        Ok(Some(Source::Stored {
            username: username.to_owned(),
            password: password.to_owned(),
        }))
    }
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
        let helper = |helper: &String| Source::Helper {
            helper: helper.clone(),
            server: registry.to_owned(),
        };
        if let Some(name) = self.cred_helpers.get(registry) {
            return Ok(helper(name));
        }
        let entry = self
            .auths
            .iter()
            .find(|(key, _)| same_registry(key, registry));
        if let Some((key, entry)) = entry
            && let Some(found) = entry.source(key, "config.json")?
        {
            return Ok(found);
        }
        Ok(self.creds_store.as_ref().map_or(Source::None, helper))
    }
}

/// A containers auth.json, as `podman login` (or Buildah's, or Skopeo's) writes it: the
/// same `auths` entries as Docker's config.json, keyed by registry host or by a
/// repository path within one, and per-registry `credHelpers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthFile {
    /// Where it was read, for messages.
    #[serde(skip)]
    pub path: PathBuf,
    /// Credentials by key: `host`, `host/namespace` or `host/namespace/repo`.
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    /// Credential helpers by registry host.
    #[serde(default)]
    pub cred_helpers: BTreeMap<String, String>,
}

impl AuthFile {
    /// Reads the auth.json at `path`; a missing file has no credentials.
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_owned(),
                ..Self::default()
            }),
            Err(e) => Err(format!(
                "cannot read {}: {}",
                path.display(),
                kuul_core::error::io_cause(&e)
            )),
        }
    }

    /// Parses `text`, the content of the auth.json at `path`. Pure.
    pub fn parse(text: &str, path: &Path) -> Result<Self, String> {
        let file: Self = serde_json::from_str(text)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            ..file
        })
    }

    /// Where this file has the credentials for `image`, as Podman looks: the credential
    /// helper of its registry, else the `auths` entry with the most specific key that
    /// holds its repository (`host/namespace/repo`, then `host/namespace`, then
    /// `host`), else one keyed by the registry's URL (`https://host/v1/`). Pure.
    pub fn source(&self, image: &str) -> Result<Source, String> {
        let repository = auth_file_key(image);
        let host = repository.split('/').next().unwrap_or(&repository);
        if let Some(helper) = self.cred_helpers.get(host) {
            return Ok(Source::Helper {
                helper: helper.clone(),
                server: host.to_owned(),
            });
        }
        let file = self.path.display().to_string();
        let mut key = repository.as_str();
        loop {
            if let Some(entry) = self.auths.get(key) {
                return Ok(entry.source(key, &file)?.unwrap_or(Source::None));
            }
            match key.rsplit_once('/') {
                Some((parent, _)) => key = parent,
                None => break,
            }
        }
        let registry = auth_key_registry(host);
        match self
            .auths
            .iter()
            .find(|(key, _)| auth_key_registry(key) == registry)
        {
            Some((key, entry)) => Ok(entry.source(key, &file)?.unwrap_or(Source::None)),
            None => Ok(Source::None),
        }
    }
}

/// An image reference as the containers auth files key it: `host/path`, without tag or
/// digest, Docker Hub's as `docker.io/...` (its official images under `library/`).
pub fn auth_file_key(image: &str) -> String {
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    // A tag is the part after a ':' that no '/' follows (`host:port/path` has none).
    let name = match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    };
    let hub = |path: &str| {
        if path.contains('/') {
            format!("docker.io/{path}")
        } else {
            format!("docker.io/library/{path}")
        }
    };
    match name.split_once('/') {
        Some((first, path)) if DOCKER_HUB_HOSTS.contains(&first) => hub(path),
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => name.to_owned(),
        _ => hub(name),
    }
}

/// The registry an auths key names as a host or URL: `https://host/v1/` and
/// `http://host` name `host`, Docker Hub's hosts are all `docker.io`; a repository path
/// without a scheme (`host/namespace`) stays as it is, so it names no registry alone.
fn auth_key_registry(key: &str) -> &str {
    let host = match key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
    {
        Some(url) => url.split('/').next().unwrap_or(url),
        None => key,
    };
    if DOCKER_HUB_HOSTS.contains(&host) {
        "docker.io"
    } else {
        host
    }
}

/// The containers auth files, in the order containers-auth.json(5) reads them:
/// `$REGISTRY_AUTH_FILE` alone when it is set (Podman's `--authfile` default), else
/// `$XDG_RUNTIME_DIR/containers/auth.json` (where `podman login` writes) when that is
/// set, then `$XDG_CONFIG_HOME/containers/auth.json` (default
/// `$HOME/.config/containers/auth.json`). `env` reads a variable; pure.
pub fn auth_file_paths(env: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let var = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        return vec![file];
    }
    let runtime = var("XDG_RUNTIME_DIR");
    let config = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")));
    runtime
        .into_iter()
        .chain(config)
        .map(|dir| dir.join("containers").join("auth.json"))
        .collect()
}

/// Where the credentials for `image` are: Docker's config.json, else the first of the
/// auth files (in order) that has some. `auth_files` are reads, done as they are
/// reached, so a file after the one that answers is never read. Pure given its inputs.
pub fn first_source(
    image: &str,
    docker: &DockerConfig,
    auth_files: impl IntoIterator<Item = Result<AuthFile, String>>,
) -> Result<Source, String> {
    let source = docker.source(&registry_of(image))?;
    if source != Source::None {
        return Ok(source);
    }
    for file in auth_files {
        let source = file?.source(image)?;
        if source != Source::None {
            return Ok(source);
        }
    }
    Ok(Source::None)
}

/// The credentials for pushing or pulling `image`, from where `docker login` or
/// `podman login` left them (see [`first_source`]); `None` to go anonymously.
pub async fn for_image(image: &str) -> Result<Option<DockerCredentials>, String> {
    let docker = DockerConfig::load()?;
    let auth_files = auth_file_paths(|name| std::env::var_os(name))
        .into_iter()
        .map(|path| AuthFile::read(&path));
    let source = first_source(image, &docker, auth_files)?;
    resolve(source, &registry_of(image)).await
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
        Source::Helper { helper, server } => run_helper(&helper, &server, registry).await,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// Asks `docker-credential-<helper>` for the credentials it stored for `server`, to be
/// sent to `registry`.
async fn run_helper(
    helper: &str,
    server: &str,
    registry: &str,
) -> Result<Option<DockerCredentials>, String> {
    use tokio::io::AsyncWriteExt as _;
    let program = format!("docker-credential-{helper}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run {program} (named in Docker's config.json or an auth.json): {e}")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
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
        let helper = |helper: &str, server: &str| Source::Helper {
            helper: helper.to_owned(),
            server: server.to_owned(),
        };
        assert_eq!(c.source("a.io").unwrap(), helper("ecr-login", "a.io"));
        assert_eq!(c.source("r.io").unwrap(), Source::Token("tok".to_owned()));
        assert_eq!(c.source("x.io").unwrap(), helper("pass", "x.io"));
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

    fn auth_file(json: &str) -> AuthFile {
        AuthFile::parse(json, Path::new("/run/user/1000/containers/auth.json")).unwrap()
    }

    fn stored(username: &str, password: &str) -> Source {
        Source::Stored {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    #[test]
    fn auth_files_are_read_in_the_order_of_containers_auth_json() {
        let paths = |vars: &[(&str, &str)]| {
            let vars: BTreeMap<String, OsString> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
                .collect();
            auth_file_paths(|name| vars.get(name).cloned())
        };
        let all = [
            ("REGISTRY_AUTH_FILE", "/ci/auth.json"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("XDG_CONFIG_HOME", "/home/u/.cfg"),
            ("HOME", "/home/u"),
        ];
        // REGISTRY_AUTH_FILE is the only file, as for Podman's --authfile.
        assert_eq!(paths(&all), [PathBuf::from("/ci/auth.json")]);
        assert_eq!(
            paths(&all[1..]),
            [
                PathBuf::from("/run/user/1000/containers/auth.json"),
                PathBuf::from("/home/u/.cfg/containers/auth.json"),
            ]
        );
        assert_eq!(
            paths(&[("REGISTRY_AUTH_FILE", ""), ("HOME", "/home/u")]),
            [PathBuf::from("/home/u/.config/containers/auth.json")]
        );
        assert!(paths(&[]).is_empty());
    }

    #[test]
    fn images_are_keyed_as_podman_keys_them() {
        for (image, key) in [
            ("127.0.0.1:5000/team/img:1", "127.0.0.1:5000/team/img"),
            ("127.0.0.1:5000/img", "127.0.0.1:5000/img"),
            ("localhost/img@sha256:abc", "localhost/img"),
            ("quay.io/ns/sub/img:v1@sha256:abc", "quay.io/ns/sub/img"),
            ("busybox", "docker.io/library/busybox"),
            ("busybox:1.36", "docker.io/library/busybox"),
            ("team/img:1", "docker.io/team/img"),
            ("docker.io/team/img", "docker.io/team/img"),
            (
                "index.docker.io/library/busybox",
                "docker.io/library/busybox",
            ),
            ("registry-1.docker.io/team/img:2", "docker.io/team/img"),
        ] {
            assert_eq!(auth_file_key(image), key, "{image}");
        }
    }

    #[test]
    fn the_most_specific_auth_file_key_wins() {
        // base64 of host:h, ns:n, repo:r
        let file = auth_file(
            r#"{"auths": {"r.io": {"auth": "aG9zdDpo"}, "r.io/team": {"auth": "bnM6bg=="},
                "r.io/team/img": {"auth": "cmVwbzpy"}}}"#,
        );
        assert_eq!(file.source("r.io/team/img:1").unwrap(), stored("repo", "r"));
        assert_eq!(file.source("r.io/team/other").unwrap(), stored("ns", "n"));
        assert_eq!(
            file.source("r.io/team/img/sub").unwrap(),
            stored("repo", "r")
        );
        // Keys match whole path components only.
        assert_eq!(file.source("r.io/teams/img").unwrap(), stored("host", "h"));
        assert_eq!(file.source("r.io/img").unwrap(), stored("host", "h"));
        assert_eq!(file.source("other.io/team/img").unwrap(), Source::None);
        assert_eq!(file.source("team/img").unwrap(), Source::None);
    }

    #[test]
    fn docker_hub_is_docker_io_in_auth_files() {
        // What `podman login docker.io` writes (base64 of hub:pw).
        let file = auth_file(r#"{"auths": {"docker.io": {"auth": "aHViOnB3"}}}"#);
        for image in [
            "busybox",
            "team/img:1",
            "docker.io/team/img",
            "index.docker.io/team/img",
        ] {
            assert_eq!(file.source(image).unwrap(), stored("hub", "pw"), "{image}");
        }
        assert_eq!(file.source("quay.io/team/img").unwrap(), Source::None);
        // Keys in Docker's URL form name their host, as Podman reads them too.
        let file = auth_file(
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "aHViOnB3"},
                "http://r.io": {"identitytoken": "tok"}, "q.io/team": {"auth": "aHViOnB3"}}}"#,
        );
        assert_eq!(file.source("team/img").unwrap(), stored("hub", "pw"));
        assert_eq!(
            file.source("r.io/a/b").unwrap(),
            Source::Token("tok".to_owned())
        );
        // A namespace key is not its registry's key.
        assert_eq!(file.source("q.io/other/img").unwrap(), Source::None);
    }

    #[test]
    fn auth_file_helpers_are_per_registry_and_win_over_auths() {
        let file = auth_file(
            r#"{"auths": {"docker.io": {"auth": "aHViOnB3"}, "r.io": {"auth": "aHViOnB3"}},
                "credHelpers": {"docker.io": "pass", "q.io": "secretservice"}}"#,
        );
        assert_eq!(
            file.source("team/img").unwrap(),
            Source::Helper {
                helper: "pass".to_owned(),
                server: "docker.io".to_owned()
            }
        );
        assert_eq!(
            file.source("q.io/team/img:1").unwrap(),
            Source::Helper {
                helper: "secretservice".to_owned(),
                server: "q.io".to_owned()
            }
        );
        assert_eq!(file.source("r.io/img").unwrap(), stored("hub", "pw"));
    }

    #[test]
    fn a_malformed_auth_file_is_named_in_the_error() {
        let path = Path::new("/home/u/.config/containers/auth.json");
        let err = AuthFile::parse(r#"{"auths": {"r.io": "#, path).unwrap_err();
        assert!(
            err.starts_with("cannot read /home/u/.config/containers/auth.json: "),
            "{err}"
        );
        let err = AuthFile::parse(r#"{"auths": []}"#, path).unwrap_err();
        assert!(
            err.contains("/home/u/.config/containers/auth.json"),
            "{err}"
        );
        let bad = AuthFile::parse(r#"{"auths": {"r.io": {"auth": "%%%"}}}"#, path).unwrap();
        assert_eq!(
            bad.source("r.io/img").unwrap_err(),
            "the auth of \"r.io\" in /home/u/.config/containers/auth.json is not base64 of user:password"
        );
    }

    #[test]
    fn auth_files_are_read_from_disk_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = AuthFile::read(&dir.path().join("auth.json")).unwrap();
        assert_eq!(missing.source("r.io/img").unwrap(), Source::None);
        let path = dir.path().join("broken.json");
        std::fs::write(&path, "{").unwrap();
        let err = AuthFile::read(&path).unwrap_err();
        assert!(
            err.starts_with(&format!("cannot read {}: ", path.display())),
            "{err}"
        );
    }

    #[test]
    fn docker_comes_first_then_the_auth_files_in_order() {
        let docker = config(r#"{"auths": {"d.io": {"auth": "aHViOnB3"}}}"#);
        let runtime = || Ok(auth_file(r#"{"auths": {"r.io": {"auth": "cmVwbzpy"}}}"#));
        let config_home = || {
            Ok(auth_file(
                r#"{"auths": {"r.io": {"auth": "bnM6bg=="}, "c.io": {"auth": "bnM6bg=="}}}"#,
            ))
        };
        let broken = || Err("cannot read /broken/auth.json: EOF".to_owned());
        let first =
            |image: &str, files: Vec<Result<AuthFile, String>>| first_source(image, &docker, files);
        // Docker's answer wins; no auth file is read (a broken one does not matter).
        assert_eq!(
            first("d.io/img", vec![broken()]).unwrap(),
            stored("hub", "pw")
        );
        // The first auth file that has the registry answers.
        assert_eq!(
            first("r.io/img", vec![runtime(), config_home(), broken()]).unwrap(),
            stored("repo", "r")
        );
        assert_eq!(
            first("c.io/img", vec![runtime(), config_home()]).unwrap(),
            stored("ns", "n")
        );
        assert_eq!(
            first("x.io/img", vec![runtime(), config_home()]).unwrap(),
            Source::None
        );
        // A broken file that is reached is an error.
        assert_eq!(
            first("x.io/img", vec![runtime(), broken()]).unwrap_err(),
            "cannot read /broken/auth.json: EOF"
        );
        // Docker's store is Docker's answer for every registry.
        let store = config(r#"{"credsStore": "desktop"}"#);
        assert_eq!(
            first_source("r.io/img", &store, vec![runtime()]).unwrap(),
            Source::Helper {
                helper: "desktop".to_owned(),
                server: "r.io".to_owned()
            }
        );
    }
}
