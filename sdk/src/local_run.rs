//! A live `CronJob`'s container, run here: `image test --from-cronjob` and
//! `run-now --local`.
//!
//! Debugging a failing job is faster on a laptop than on the cluster, but only if the
//! local run is the cluster's run: the `CronJob` is read from the cluster and its first
//! container is run with the same command, args, env, workingDir, user and limits
//! ([`crate::spec::from_cronjob`]), its output streamed, and its exit code passed
//! through as kuul's own. Values the cluster keeps in Secrets and `ConfigMaps` are not
//! read; they are listed, and `--env-file` supplies them.

use std::path::Path;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use k8s_openapi::api::batch::v1::CronJob;
use kuul_core::{Cluster, Error, KubeArgs, Printer};

use crate::credentials;
use crate::docker::{self, Daemon};
use crate::runner::{self, Output};
use crate::spec;

/// Runs `name`'s container locally and passes its exit code through.
pub async fn run(
    kube: &KubeArgs,
    name: &str,
    env_file: Option<&Path>,
    printer: Printer,
) -> Result<(), Error> {
    let env_file = match env_file {
        Some(path) => read_env_file(path)?,
        None => Vec::new(),
    };
    let cluster = Cluster::connect(kube).await?;
    let namespace = cluster.namespace().to_owned();
    let cronjob: CronJob = cluster.get(&namespace, name, "cronjobs").await?;
    let local = spec::from_cronjob(&cronjob, &env_file).map_err(|why| Error::Halted {
        message: format!("cronjob {name:?} in namespace {namespace:?} cannot run locally: {why}"),
        hint: None,
    })?;
    for (var, source) in &local.not_reproduced {
        printer.warn(format_args!(
            "env {var} comes from {source} and is not reproduced; supply it with --env-file"
        ));
    }
    let daemon = docker::connect().await?;
    ensure_image(&daemon, &local.spec.image, printer).await?;
    printer.info(format_args!(
        "running cronjob {name:?}'s container locally: {}",
        local.spec.image
    ));
    let run_id = runner::new_run_id();
    let outcome = runner::interruptible(
        &daemon,
        &run_id,
        runner::run(&daemon, &local.spec, &run_id, Output::Stream(printer)),
    )
    .await?;
    let code = outcome.exit_code.unwrap_or(1);
    let message = if outcome.timed_out {
        format!(
            "the container ran past the job's activeDeadlineSeconds and was killed (exit code {code})"
        )
    } else if outcome.oom_killed {
        format!(
            "the container was OOMKilled: it used more than its memory limit (exit code {code})"
        )
    } else if outcome.likely_oom_killed {
        format!(
            "the container was probably OOMKilled: it was SIGKILLed under its memory limit (exit code {code})"
        )
    } else if code == 0 {
        return Ok(());
    } else {
        format!("the container exited with code {code}")
    };
    Err(Error::ContainerExited {
        code: u8::try_from(code).unwrap_or(1),
        message,
    })
}

fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidInput {
        message: format!(
            "cannot read --env-file {}: {}",
            path.display(),
            kuul_core::error::io_cause(&e)
        ),
        hint: Some("--env-file takes NAME=VALUE lines, as for `docker run --env-file`".to_owned()),
    })?;
    spec::parse_env_file(&text, |name| std::env::var(name).ok()).map_err(|why| {
        Error::InvalidInput {
            message: format!("invalid --env-file {}: {why}", path.display()),
            hint: Some("write one NAME=VALUE per line, as for `docker run --env-file`".to_owned()),
        }
    })
}

/// Pulls the image if the daemon does not have it, as the kubelet would (`IfNotPresent`).
async fn ensure_image(daemon: &Daemon, image: &str, printer: Printer) -> Result<(), Error> {
    if daemon.docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    // An untagged fromImage pulls every tag of the repository: always name one.
    let (repository, tag) = pull_reference(image);
    let separator = if tag.contains(':') { '@' } else { ':' };
    let reference = format!("{repository}{separator}{tag}");
    printer.info(format_args!("pulling {reference}"));
    let creds = credentials::for_image(image)
        .await
        .map_err(|message| Error::Halted {
            message,
            hint: None,
        })?;
    let options = CreateImageOptionsBuilder::default()
        .from_image(repository)
        .tag(tag)
        .build();
    let mut pull = daemon.docker.create_image(Some(options), None, creds);
    while let Some(item) = pull.next().await {
        let info = item.map_err(|e| daemon.error(format!("pull {reference}"), e))?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(Error::Halted {
                message: format!("cannot pull {reference}: {message}"),
                hint: None,
            });
        }
    }
    Ok(())
}

/// What to pull for `image`, as `docker pull` asks the daemon: the repository and its
/// tag, `latest` when the reference names none, or its digest (which the daemon takes
/// in the tag field).
pub fn pull_reference(image: &str) -> (&str, &str) {
    if let Some((repository, digest)) = image.split_once('@') {
        // A tag before a digest is ignored, as Docker does.
        let repository = strip_tag(repository).0;
        return (repository, digest);
    }
    match strip_tag(image) {
        (repository, Some(tag)) => (repository, tag),
        (repository, None) => (repository, "latest"),
    }
}

/// A reference's repository and tag; the tag is after the last ':' of the last
/// component, so `host:5000/team/img` has none.
fn strip_tag(image: &str) -> (&str, Option<&str>) {
    let last = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[last..].rfind(':') {
        Some(colon) => (&image[..last + colon], Some(&image[last + colon + 1..])),
        None => (image, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_always_names_one_tag_or_digest() {
        assert_eq!(pull_reference("busybox"), ("busybox", "latest"));
        assert_eq!(pull_reference("team/img:1.2"), ("team/img", "1.2"));
        assert_eq!(
            pull_reference("127.0.0.1:5723/team/img"),
            ("127.0.0.1:5723/team/img", "latest")
        );
        assert_eq!(
            pull_reference("127.0.0.1:5723/team/img:v2"),
            ("127.0.0.1:5723/team/img", "v2")
        );
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            pull_reference(&format!("r.io:443/img@{digest}")),
            ("r.io:443/img", digest)
        );
        assert_eq!(
            pull_reference(&format!("r.io/img:1@{digest}")),
            ("r.io/img", digest)
        );
    }
}
