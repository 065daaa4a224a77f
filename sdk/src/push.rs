//! `kubectl kuul image push`: send a built Kuul image to the team's registry.
//!
//! A push is the hand-over to the cluster, so it must say exactly what arrived: the
//! digest (which a `CronJob` can pin) is printed on stdout. Credentials come from where
//! `docker login` or `podman login` put them, or from `--username` and
//! `--password-stdin` for CI; a refused password is one clear line, not a stream of
//! daemon JSON. Registries drop connections now and then, so transient failures are
//! retried a few times.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use clap::Args;
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kuul_core::kuul_job::check_registry;
use kuul_core::{Error, Printer};

use crate::credentials;
use crate::docker::{self, Daemon};
use crate::project::{self, Project};

/// How many times one tag is tried before giving up on a transient failure.
const ATTEMPTS: u32 = 3;

/// Arguments of `kubectl kuul image push`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The Kuul image project (default: the current directory)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Registry to push to, e.g. registry.example.com/ops (default: kuul-image.yaml's
    /// registry)
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Registry user (default: the credentials of `docker login`, else of `podman login`)
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the registry password from stdin (with --username)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

impl PushArgs {
    pub async fn run(self, printer: Printer) -> Result<(), Error> {
        let dir = project::dir_or_current(self.dir.as_deref());
        let project = Project::load(&dir)?;
        if let Some(registry) = &self.registry {
            check_registry("--registry", registry)?;
        }
        let Some(registry_path) = self.registry.as_deref().or(project.registry.as_deref()) else {
            return Err(Error::InvalidInput {
                message: format!("no registry to push {} to", project.name),
                hint: Some(
                    "pass --registry HOST[/PATH], or set registry: in kuul-image.yaml".to_owned(),
                ),
            });
        };
        let repository = project.repository(Some(registry_path));
        let registry = credentials::registry_of(&repository);
        let password = if self.password_stdin {
            Some(read_password()?)
        } else {
            None
        };
        let daemon = docker::connect().await?;
        let credentials = if let (Some(user), Some(password)) = (&self.username, password) {
            Some(credentials::docker_credentials(user, &password, &registry))
        } else {
            credentials::for_image(&repository)
                .await
                .map_err(|message| Error::Halted {
                    message,
                    hint: None,
                })?
        };
        let user = credentials.as_ref().and_then(|c| c.username.clone());

        let tags = local_tags(&daemon, &project, &repository).await?;
        let mut digests = Vec::new();
        for tag in &tags {
            let digest = push_with_retries(
                &daemon,
                &repository,
                tag,
                credentials.clone(),
                user.as_deref(),
                printer,
            )
            .await?;
            printer.info(format_args!("pushed {repository}:{tag}"));
            if !digests.contains(&digest) {
                digests.push(digest);
            }
        }
        for digest in digests {
            printer.line(format_args!("{repository}@{digest}"))?;
        }
        Ok(())
    }
}

/// The tags to push (`version`, and the git-sha tag when it was built), each present
/// as `repository:tag`; an image built without the registry prefix is tagged with it.
async fn local_tags(
    daemon: &Daemon,
    project: &Project,
    repository: &str,
) -> Result<Vec<String>, Error> {
    let version = project.version.to_string();
    let candidates = [
        repository.to_owned(),
        project.repository(None),
        project.name.to_string(),
    ];
    let mut tags = Vec::new();
    let sha_tag = git_tag_of(daemon, &candidates, &version).await;
    for tag in std::iter::once(version.clone()).chain(sha_tag) {
        let mut found = None;
        for candidate in &candidates {
            if daemon
                .docker
                .inspect_image(&format!("{candidate}:{tag}"))
                .await
                .is_ok()
            {
                found = Some(candidate.clone());
                break;
            }
        }
        let Some(source) = found else {
            return Err(Error::Halted {
                message: format!("image {repository}:{tag} is not in the local Docker daemon"),
                hint: Some("build it first with `kubectl kuul image build`".to_owned()),
            });
        };
        if source != repository {
            let options = TagImageOptionsBuilder::default()
                .repo(repository)
                .tag(&tag)
                .build();
            daemon
                .docker
                .tag_image(&format!("{source}:{tag}"), Some(options))
                .await
                .map_err(|e| {
                    daemon.error(format!("tag {source}:{tag} as {repository}:{tag}"), e)
                })?;
        }
        tags.push(tag);
    }
    Ok(tags)
}

/// The other tag `build` gave the version's image: the git sha, if any.
async fn git_tag_of(daemon: &Daemon, candidates: &[String], version: &str) -> Option<String> {
    for candidate in candidates {
        if let Ok(image) = daemon
            .docker
            .inspect_image(&format!("{candidate}:{version}"))
            .await
        {
            let prefix = format!("{candidate}:");
            return image
                .repo_tags
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t.strip_prefix(&prefix))
                .find(|t| *t != version && t.len() >= 7 && t.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_owned);
        }
    }
    None
}

async fn push_with_retries(
    daemon: &Daemon,
    repository: &str,
    tag: &str,
    credentials: Option<DockerCredentials>,
    user: Option<&str>,
    printer: Printer,
) -> Result<String, Error> {
    let mut attempt = 1;
    loop {
        match push_once(daemon, repository, tag, credentials.clone(), printer).await {
            Ok(digest) => return Ok(digest),
            Err(message) if is_auth_failure(&message) => {
                let registry = credentials::registry_of(repository);
                let who = user.map_or_else(
                    || "no credentials".to_owned(),
                    |u| format!("the credentials of user {u}"),
                );
                return Err(Error::Halted {
                    message: format!("registry {registry} refused {who}: unauthorized"),
                    hint: Some(format!(
                        "check the password, or log in with `docker login {registry}` (or `podman login {registry}`), or pass --username and --password-stdin"
                    )),
                });
            }
            Err(message) if attempt < ATTEMPTS && is_transient(&message) => {
                printer.warn(format_args!(
                    "push of {repository}:{tag} failed ({message}); retrying"
                ));
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                attempt += 1;
            }
            Err(message) => {
                return Err(Error::Halted {
                    message: format!("cannot push {repository}:{tag}: {message}"),
                    hint: None,
                });
            }
        }
    }
}

/// One push; returns the digest, or the failure's message.
async fn push_once(
    daemon: &Daemon,
    repository: &str,
    tag: &str,
    credentials: Option<DockerCredentials>,
    printer: Printer,
) -> Result<String, String> {
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = daemon
        .docker
        .push_image(repository, Some(options), credentials);
    let mut layers = LayerProgress::new(printer);
    let mut digest = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                layers.finish();
                return Err(error);
            }
            Err(e) => {
                layers.finish();
                return Err(e.to_string());
            }
        };
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            layers.finish();
            return Err(message);
        }
        let status = info.status.unwrap_or_default();
        if let Some(found) = digest_of(&status) {
            digest = Some(found.to_owned());
        }
        let detail = info.progress_detail.unwrap_or_default();
        layers.update(&status, detail.current, detail.total);
    }
    layers.finish();
    digest.ok_or_else(|| "the daemon reported no digest".to_owned())
}

/// Progress per layer. The push stream does not name layers, so they are told apart by
/// size; done layers are counted from the daemon's `Pushed`/`Layer already exists`.
struct LayerProgress {
    printer: Printer,
    bars: Option<(MultiProgress, Vec<(i64, ProgressBar)>)>,
    layers: usize,
    done: usize,
}

impl LayerProgress {
    fn new(printer: Printer) -> Self {
        let bars = printer.bars().map(|multi| (multi, Vec::new()));
        Self {
            printer,
            bars,
            layers: 0,
            done: 0,
        }
    }

    fn update(&mut self, status: &str, current: Option<i64>, total: Option<i64>) {
        match status {
            "Preparing" => self.layers += 1,
            "Pushed" | "Layer already exists" => {
                self.done += 1;
                let what = if status == "Pushed" {
                    "pushed"
                } else {
                    "already in the registry"
                };
                let line = format!("layer {}/{} {what}", self.done, self.layers.max(self.done));
                match &self.bars {
                    Some((multi, _)) => {
                        let _ = multi.println(line);
                    }
                    None => self.printer.info(line),
                }
            }
            "Pushing" => {
                if let (Some((multi, bars)), Some(current), Some(total)) =
                    (&mut self.bars, current, total)
                {
                    let bar = if let Some((_, bar)) = bars.iter().find(|(size, _)| *size == total) {
                        bar.clone()
                    } else {
                        let bar = multi.add(ProgressBar::new(u64::try_from(total).unwrap_or(0)));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "layer {bytes:>10}/{total_bytes:<10} {wide_bar}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                        bars.push((total, bar.clone()));
                        bar
                    };
                    bar.set_position(u64::try_from(current).unwrap_or(0));
                }
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some((multi, bars)) = &self.bars {
            for (_, bar) in bars {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}

/// The digest in the daemon's last status, `TAG: digest: sha256:... size: N`.
fn digest_of(status: &str) -> Option<&str> {
    let (_, rest) = status.split_once(" digest: ")?;
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then_some(digest)
}

fn is_auth_failure(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn is_transient(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "connection reset",
        "connection refused",
        "broken pipe",
        "timeout",
        "timed out",
        "eof",
        "502 bad gateway",
        "503 service unavailable",
        "504 gateway",
        "500 internal server error",
        "tls handshake",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// `HOST[:PORT][/PATH]`.
fn read_password() -> Result<String, Error> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::InvalidInput {
            message: format!(
                "cannot read the password from stdin: {}",
                kuul_core::error::io_cause(&e)
            ),
            hint: None,
        })?;
    let password = text.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(Error::InvalidInput {
            message: "--password-stdin read an empty password".to_owned(),
            hint: Some("pipe it in: `echo \"$PASSWORD\" | kubectl kuul image push --username USER --password-stdin`".to_owned()),
        });
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_read_from_the_last_status() {
        assert_eq!(
            digest_of("0.1.0: digest: sha256:abc123 size: 527"),
            Some("sha256:abc123")
        );
        assert_eq!(digest_of("Pushed"), None);
    }

    #[test]
    fn failures_are_told_apart() {
        assert!(is_auth_failure("unauthorized: authentication required"));
        assert!(is_auth_failure("no basic auth credentials"));
        assert!(!is_auth_failure("connection reset by peer"));
        assert!(is_transient(
            "Put https://r/v2/: read tcp: connection reset by peer"
        ));
        assert!(is_transient(
            "received unexpected HTTP status: 503 Service Unavailable"
        ));
        assert!(!is_transient("manifest invalid"));
    }

    #[test]
    fn registries_are_checked() {
        let check = |registry| check_registry("--registry", registry);
        assert!(check("127.0.0.1:5000/team").is_ok());
        assert!(check("registry.example.com").is_ok());
        assert!(check("https://r.io").is_err());
        assert!(check("r.io/Team").is_err());
    }
}
