//! The Docker tier: a real daemon, a real local registry with real credentials, and the
//! locally made base image. Needs `tests/docker/up` (`make test` runs it); its exports are:
//! `KUUL_TEST_REGISTRY`, `KUUL_TEST_REGISTRY_USER`, `KUUL_TEST_REGISTRY_PASSWORD`,
//! `KUUL_TEST_BASE_IMAGE` (and `DOCKER_HOST` when the daemon is not the default one).
//!
//! Every name the test makes is unique, so tests may run in parallel; what it makes is
//! removed at the end, also when an assertion fails.

use anyhow::{Context, Result, bail, ensure};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    LogsOptionsBuilder, PushImageOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};
use kuul_tests::{docker, harness_env, unique};

/// The exit code the test image's script ends with.
const EXIT_CODE: i64 = 7;

struct Setup {
    registry: String,
    user: String,
    password: String,
    base_image: String,
}

impl Setup {
    fn from_env() -> Self {
        Self {
            registry: harness_env("KUUL_TEST_REGISTRY"),
            user: harness_env("KUUL_TEST_REGISTRY_USER"),
            password: harness_env("KUUL_TEST_REGISTRY_PASSWORD"),
            base_image: harness_env("KUUL_TEST_BASE_IMAGE"),
        }
    }

    fn credentials(&self, password: &str) -> DockerCredentials {
        DockerCredentials {
            username: Some(self.user.clone()),
            password: Some(password.to_owned()),
            serveraddress: Some(self.registry.clone()),
            ..Default::default()
        }
    }
}

/// Names unique to this run of this test.
struct Names {
    unique: String,
    /// Built here, never pushed: `kuul-test-local/<unique>:v1`.
    local_repo: String,
    /// `127.0.0.1:PORT/kuul-test/<unique>`, pushed with tag `v1`.
    remote_repo: String,
}

impl Names {
    fn new(registry: &str) -> Self {
        let unique = unique("t");
        Self {
            local_repo: format!("kuul-test-local/{unique}"),
            remote_repo: format!("{registry}/kuul-test/{unique}"),
            unique,
        }
    }

    fn greeting(&self) -> String {
        format!("hello from kuul test image {}", self.unique)
    }
}

/// Appends one regular file to a ustar archive.
fn tar_file(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    assert!(name.len() < 100, "tar name too long: {name}");
    let mut h = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut h, 108, b"0000000\0"); // uid
    put(&mut h, 116, b"0000000\0"); // gid
    put(&mut h, 124, format!("{:011o}\0", data.len()).as_bytes());
    put(&mut h, 136, b"00000000000\0"); // mtime
    put(&mut h, 148, b"        "); // checksum, counted as spaces
    h[156] = b'0'; // regular file
    put(&mut h, 257, b"ustar\x0000");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// The build context: a Dockerfile on the local base image and a script that prints a
/// known line and exits with `EXIT_CODE`.
fn build_context(base_image: &str, names: &Names) -> Vec<u8> {
    let dockerfile = format!("FROM {base_image}\nCOPY hello.sh /hello.sh\nCMD [\"/hello.sh\"]\n");
    let script = format!("#!/bin/sh\necho '{}'\nexit {EXIT_CODE}\n", names.greeting());
    let mut tar = Vec::new();
    tar_file(&mut tar, "Dockerfile", 0o644, dockerfile.as_bytes());
    tar_file(&mut tar, "hello.sh", 0o755, script.as_bytes());
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

async fn build(docker: &Docker, setup: &Setup, names: &Names) -> Result<()> {
    let tag = format!("{}:v1", names.local_repo);
    let options = BuildImageOptionsBuilder::default()
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .networkmode("none")
        .build();
    let context = build_context(&setup.base_image, names);
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut log = String::new();
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("building {tag}; output so far:\n{log}"))?;
        if let Some(s) = info.stream {
            log.push_str(&s);
        }
        if let Some(e) = info.error_detail.and_then(|d| d.message) {
            bail!("building {tag} failed: {e}\n{log}");
        }
    }
    docker
        .inspect_image(&tag)
        .await
        .with_context(|| format!("{tag} missing after the build:\n{log}"))?;
    Ok(())
}

/// Runs `image` to the end; returns its exit code and its output (stdout and stderr).
async fn run(docker: &Docker, image: &str, name: &str) -> Result<(i64, String)> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker
        .create_container(Some(options), body)
        .await
        .with_context(|| format!("creating container {name} from {image}"))?;
    let result = async {
        docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .with_context(|| format!("starting {name}"))?;
        let mut waits = docker.wait_container(name, None);
        let code = match waits.next().await {
            Some(Ok(r)) => r.status_code,
            // bollard reports a non-zero exit as an error.
            Some(Err(DockerError::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(e).with_context(|| format!("waiting for {name}")),
            None => bail!("no wait result for {name}"),
        };
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let output: Vec<LogOutput> = docker
            .logs(name, Some(options))
            .try_collect()
            .await
            .with_context(|| format!("reading the logs of {name}"))?;
        let text = output.iter().map(ToString::to_string).collect::<String>();
        Ok((code, text))
    }
    .await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(name, Some(remove))
        .await
        .with_context(|| format!("removing container {name}"))?;
    result
}

async fn assert_runs(docker: &Docker, image: &str, names: &Names, run_name: &str) -> Result<()> {
    let container = format!("kuul-test-{}-{run_name}", names.unique);
    let (code, output) = run(docker, image, &container).await?;
    ensure!(
        output.lines().any(|l| l == names.greeting()),
        "{image} printed {output:?}, not the line {:?}",
        names.greeting()
    );
    ensure!(
        code == EXIT_CODE,
        "{image} exited with {code}, not {EXIT_CODE}"
    );
    Ok(())
}

async fn push(docker: &Docker, repo: &str, credentials: Option<DockerCredentials>) -> Result<()> {
    let options = PushImageOptionsBuilder::default().tag("v1").build();
    let mut stream = docker.push_image(repo, Some(options), credentials);
    while let Some(item) = stream.next().await {
        let info = item?;
        if let Some(e) = info.error_detail.and_then(|d| d.message) {
            bail!("{e}");
        }
    }
    Ok(())
}

async fn pull(docker: &Docker, repo: &str, credentials: DockerCredentials) -> Result<()> {
    let options = CreateImageOptionsBuilder::default()
        .from_image(repo)
        .tag("v1")
        .build();
    let mut stream = docker.create_image(Some(options), None, Some(credentials));
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("pulling {repo}:v1"))?;
        if let Some(e) = info.error_detail.and_then(|d| d.message) {
            bail!("pulling {repo}:v1: {e}");
        }
    }
    Ok(())
}

async fn untag(docker: &Docker, image: &str) -> Result<()> {
    let options = RemoveImageOptionsBuilder::default().build();
    docker
        .remove_image(image, Some(options), None)
        .await
        .with_context(|| format!("removing {image}"))?;
    Ok(())
}

async fn exists(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

async fn build_run_push_pull(docker: &Docker, setup: &Setup, names: &Names) -> Result<()> {
    let local = format!("{}:v1", names.local_repo);
    let remote = format!("{}:v1", names.remote_repo);

    build(docker, setup, names).await?;
    assert_runs(docker, &local, names, "built").await?;

    let tag = TagImageOptionsBuilder::default()
        .repo(&names.remote_repo)
        .tag("v1")
        .build();
    docker
        .tag_image(&local, Some(tag))
        .await
        .with_context(|| format!("tagging {local} as {remote}"))?;

    // The registry's auth is real: no credentials, or a wrong password, are refused.
    let anonymous = push(docker, &names.remote_repo, None).await;
    ensure!(
        anonymous.is_err(),
        "pushing {remote} without credentials was accepted"
    );
    let wrong = push(
        docker,
        &names.remote_repo,
        Some(setup.credentials("not-the-password")),
    )
    .await;
    ensure!(
        wrong.is_err(),
        "pushing {remote} with a wrong password was accepted"
    );

    push(
        docker,
        &names.remote_repo,
        Some(setup.credentials(&setup.password)),
    )
    .await
    .with_context(|| format!("pushing {remote} with credentials"))?;

    // Drop every local name of the image, so the pull must fetch it from the registry.
    untag(docker, &remote).await?;
    untag(docker, &local).await?;
    ensure!(
        !exists(docker, &remote).await,
        "{remote} still present after removal"
    );

    pull(
        docker,
        &names.remote_repo,
        setup.credentials(&setup.password),
    )
    .await?;
    ensure!(
        exists(docker, &remote).await,
        "{remote} missing after the pull"
    );
    assert_runs(docker, &remote, names, "pulled").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_from_local_base_runs_pushes_with_auth_and_pulls_back() {
    let setup = Setup::from_env();
    let docker = docker().await;
    assert!(
        exists(&docker, &setup.base_image).await,
        "base image {} is missing: run tests/integration, or eval \"$(tests/docker/up)\"",
        setup.base_image
    );
    let names = Names::new(&setup.registry);

    let result = build_run_push_pull(&docker, &setup, &names).await;

    // Clean up whatever exists of ours, whether or not the test passed.
    let mut leftovers = Vec::new();
    for image in [
        format!("{}:v1", names.remote_repo),
        format!("{}:v1", names.local_repo),
    ] {
        if exists(&docker, &image).await {
            let force = RemoveImageOptionsBuilder::default().force(true).build();
            if let Err(e) = docker.remove_image(&image, Some(force), None).await {
                leftovers.push(format!("{image}: {e}"));
            }
        }
    }

    if let Err(e) = result {
        panic!("{e:#}");
    }
    assert!(leftovers.is_empty(), "could not remove: {leftovers:?}");
}
