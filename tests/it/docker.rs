//! The Docker tier: a real daemon, a real local registry with real credentials, and the
//! locally made base image. Needs `tests/docker/up` (`make test` runs it); its exports are:
//! `KUUL_TEST_REGISTRY`, `KUUL_TEST_REGISTRY_USER`, `KUUL_TEST_REGISTRY_PASSWORD`,
//! `KUUL_TEST_BASE_IMAGE` (and `DOCKER_HOST` when the daemon is not the default one).
//!
//! Every name the test makes is unique, so tests may run in parallel; what it makes is
//! removed at the end, also when an assertion fails.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
use kuul_tests::{docker, harness_env, image_cmd, text, unique};

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

/// The socket of the harness's daemon: `DOCKER_HOST` when it is a unix socket, else the
/// default one.
fn daemon_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A Kuul image project on the base image, with a file named after it, built as `NAME:1`.
fn small_project(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {}\nRUN echo {name} >/built\n",
            harness_env("KUUL_TEST_BASE_IMAGE")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("kuul-image.yaml"),
        format!("name: {name}\nversion: '1'\ntests: []\n"),
    )
    .unwrap();
}

/// `image build` in `dir` with the environment `env`, and nothing of the machine's
/// Docker settings.
fn build_with(dir: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = image_cmd(dir);
    cmd.env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.arg("build").output().expect("kubectl-kuul-image runs")
}

/// Whether `image build` made `NAME:1` in the harness's daemon; removes it.
async fn built_then_removed(name: &str) -> bool {
    let docker = docker().await;
    let built = docker.inspect_image(&format!("{name}:1")).await.is_ok();
    let _ = docker
        .remove_image(
            &format!("{name}:1"),
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
    built
}

/// The one `error: ` line of `stderr`, which must have exactly one.
fn only_error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}

/// A context store in `config` with context `name` at `host`, as `docker context
/// create` writes it (the folder is the SHA-256 of the name).
fn write_context(config: &Path, name: &str, id: &str, host: &str) {
    let meta = config.join("contexts/meta").join(id);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
    )
    .unwrap();
}

#[tokio::test]
async fn image_build_reaches_the_daemon_through_a_docker_context() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-context");
    small_project(work.path(), &name);
    // The context points at a path of its own (a link to the daemon's socket), so a
    // build that works went through it and not through the default socket.
    let config = work.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let link = work.path().join("daemon.sock");
    std::os::unix::fs::symlink(daemon_socket(), &link).unwrap();
    // The folders are the SHA-256 of the names, as the docker CLI names them.
    let id = sha256_of("kuul-it");
    write_context(
        &config,
        "kuul-it",
        &id,
        &format!("unix://{}", link.display()),
    );
    let gone = sha256_of("kuul-gone");
    write_context(
        &config,
        "kuul-gone",
        &gone,
        "unix:///nonexistent/kuul/docker.sock",
    );

    let by_env = build_with(
        work.path(),
        &[
            ("DOCKER_CONFIG", &config),
            ("DOCKER_CONTEXT", Path::new("kuul-it")),
        ],
    );
    std::fs::write(
        config.join("config.json"),
        r#"{"currentContext": "kuul-gone"}"#,
    )
    .unwrap();
    let by_config = build_with(work.path(), &[("DOCKER_CONFIG", &config)]);
    let unknown = build_with(
        work.path(),
        &[
            ("DOCKER_CONFIG", &config),
            ("DOCKER_CONTEXT", Path::new("kuul-nope")),
        ],
    );
    let built = built_then_removed(&name).await;

    assert!(
        by_env.status.success(),
        "DOCKER_CONTEXT: {}",
        text(&by_env.stderr)
    );
    assert!(built, "the image is not in the daemon");
    // currentContext in config.json is followed too: to its missing socket.
    assert_eq!(
        by_config.status.code(),
        Some(1),
        "{}",
        text(&by_config.stderr)
    );
    assert!(
        text(&by_config.stderr).contains("unix:///nonexistent/kuul/docker.sock"),
        "{}",
        text(&by_config.stderr)
    );
    let stderr = text(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1), "{stderr}");
    let first = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "error: Docker context \"kuul-nope\" (from DOCKER_CONTEXT) does not exist: there is no {}",
            config
                .join("contexts/meta")
                .join(sha256_of("kuul-nope"))
                .join("meta.json")
                .display()
        )
    );
    assert!(!stderr.contains("\nhint: start Docker"), "{stderr}");
}

/// The hex SHA-256 of `text`, by coreutils' sha256sum.
fn sha256_of(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// A CA, and a server (127.0.0.1) and client certificate it signed, in `dir`: ca.pem,
/// server-cert.pem, server-key.pem, cert.pem, key.pem.
fn certificates(dir: &Path, ca_name: &str) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "1",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-subj",
    ];
    let subject = format!("/CN={ca_name}");
    ca.push(&subject);
    ca.extend(ec);
    openssl(dir, &ca);
    for (who, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{who}.ext")), ext).unwrap();
        let key = format!("{who}-key.pem");
        let csr = format!("{who}.csr");
        let mut req = vec![
            "req",
            "-new",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=kuul-test",
        ];
        req.extend(ec);
        openssl(dir, &req);
        let cert = format!("{who}-cert.pem");
        let extfile = format!("{who}.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "1",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-out",
                &cert,
                "-extfile",
                &extfile,
            ],
        );
    }
    std::fs::copy(dir.join("client-cert.pem"), dir.join("cert.pem")).unwrap();
    std::fs::copy(dir.join("client-key.pem"), dir.join("key.pem")).unwrap();
}

/// The TLS front of `tests/docker/tls-proxy`, stopped when dropped.
struct TlsProxy {
    child: std::process::Child,
    port: String,
}

impl TlsProxy {
    fn start(certs: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/tls-proxy");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(certs.join("server-cert.pem"))
            .arg(certs.join("server-key.pem"))
            .arg(certs.join("ca.pem"))
            .arg(daemon_socket())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/docker/tls-proxy");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().to_owned();
        assert!(port.parse::<u16>().is_ok(), "tls-proxy printed {line:?}");
        Self { child, port }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn image_build_reaches_a_daemon_behind_tls_and_a_client_without_its_ca_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-tls");
    small_project(work.path(), &name);
    let certs = work.path().join("certs");
    let strangers = work.path().join("strangers");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::create_dir_all(&strangers).unwrap();
    certificates(&certs, "kuul-test-ca");
    // A client whose CA and certificate come from another authority.
    certificates(&strangers, "another-ca");
    let proxy = TlsProxy::start(&certs);
    let host = format!("tcp://127.0.0.1:{}", proxy.port);
    let host = Path::new(&host);
    let verify = Path::new("1");

    let trusted = build_with(
        work.path(),
        &[
            ("DOCKER_HOST", host),
            ("DOCKER_TLS_VERIFY", verify),
            ("DOCKER_CERT_PATH", &certs),
        ],
    );
    let stranger = build_with(
        work.path(),
        &[
            ("DOCKER_HOST", host),
            ("DOCKER_TLS_VERIFY", verify),
            ("DOCKER_CERT_PATH", &strangers),
        ],
    );
    let no_files = build_with(
        work.path(),
        &[
            ("DOCKER_HOST", host),
            ("DOCKER_TLS_VERIFY", verify),
            ("DOCKER_CERT_PATH", work.path()),
        ],
    );
    drop(proxy);
    let built = built_then_removed(&name).await;

    assert!(
        trusted.status.success(),
        "with the CA: {}",
        text(&trusted.stderr)
    );
    assert!(built, "the image is not in the daemon");
    let stderr = text(&stranger.stderr);
    assert_eq!(stranger.status.code(), Some(1), "{stderr}");
    let error = only_error_line(&stderr);
    assert!(
        error.contains(&host.display().to_string()) && error.contains("invalid peer certificate"),
        "{stderr}"
    );
    let stderr = text(&no_files.stderr);
    assert_eq!(no_files.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot connect to Docker at {} (from DOCKER_HOST) with TLS: {} is missing",
            host.display(),
            work.path().join("ca.pem").display()
        )),
        "{stderr}"
    );
}

/// Runs `program` with `args`, panicking with its stderr when it fails; its stdout.
fn run_ok(program: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// An sshd on a free port of 127.0.0.1 whose one authorized key may run nothing but
/// `docker system dial-stdio` against the harness's daemon, and a folder with an `ssh`
/// that is the system's with a config of the test's own (that key, and the sshd's host
/// key as the one known host), to put first in a child's PATH: as a user's
/// ~/.ssh/config would set it up, without touching the user's. Dropped: sshd stops.
struct SshDaemon {
    sshd: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SshDaemon {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        for key in ["host_key", "client_key"] {
            run_ok(
                "ssh-keygen",
                &["-q", "-t", "ed25519", "-N", "", "-f", &path(key)],
                &[],
            );
        }
        let public = std::fs::read_to_string(path("client_key.pub")).unwrap();
        std::fs::write(
            path("authorized_keys"),
            format!(
                "command=\"exec env DOCKER_HOST=unix://{} docker system dial-stdio\",restrict {public}",
                daemon_socket().display()
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        std::fs::write(
            path("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nPermitRootLogin prohibit-password\nPidFile none\n",
                path("host_key"),
                path("authorized_keys")
            ),
        )
        .unwrap();
        let host_key = std::fs::read_to_string(path("host_key.pub")).unwrap();
        std::fs::write(
            path("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .unwrap();
        for (folder, identity) in [("bin", Some(path("client_key"))), ("bin-no-key", None)] {
            let config = path(&format!("{folder}.config"));
            let identity = identity
                .map(|key| format!("  IdentityFile {key}\n"))
                .unwrap_or_default();
            std::fs::write(
                &config,
                format!(
                    "Host *\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
                     StrictHostKeyChecking yes\n  BatchMode yes\n  IdentitiesOnly yes\n{identity}",
                    path("known_hosts")
                ),
            )
            .unwrap();
            std::fs::create_dir_all(path(folder)).unwrap();
            let ssh = dir.path().join(folder).join("ssh");
            std::fs::write(
                &ssh,
                format!("#!/bin/sh\nexec /usr/bin/ssh -F {config} \"$@\"\n"),
            )
            .unwrap();
            std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        // sshd refuses to start without its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = path("sshd.log");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f", &path("sshd_config")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("/usr/sbin/sshd runs (tests/docker/up installs openssh-server)");
        let daemon = Self { sshd, port, dir };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "sshd did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        daemon
    }

    /// A PATH whose `ssh` logs in with the key (`with_key`) or offers none.
    fn path(&self, with_key: bool) -> std::ffi::OsString {
        let folder = self
            .dir
            .path()
            .join(if with_key { "bin" } else { "bin-no-key" });
        let mut paths = vec![folder];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).unwrap()
    }

    /// `ssh://USER@127.0.0.1:PORT`, as the user running the tests.
    fn host(&self) -> String {
        let user = run_ok("id", &["-un"], &[]);
        format!("ssh://{}@127.0.0.1:{}", user.trim(), self.port)
    }
}

impl Drop for SshDaemon {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

#[tokio::test]
async fn image_build_reaches_a_daemon_over_ssh_and_a_refused_login_is_one_line() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-ssh");
    small_project(work.path(), &name);
    let sshd = SshDaemon::start();
    let host = sshd.host();
    let with_key = sshd.path(true);
    let over_ssh = build_with(
        work.path(),
        &[
            ("DOCKER_HOST", Path::new(&host)),
            ("PATH", Path::new(&with_key)),
        ],
    );
    let no_key_path = sshd.path(false);
    let no_key = build_with(
        work.path(),
        &[
            ("DOCKER_HOST", Path::new(&host)),
            ("PATH", Path::new(&no_key_path)),
        ],
    );
    drop(sshd);
    let built = built_then_removed(&name).await;

    assert!(
        over_ssh.status.success(),
        "over ssh: {}",
        text(&over_ssh.stderr)
    );
    assert!(built, "the image is not in the daemon");
    let stderr = text(&no_key.stderr);
    assert_eq!(no_key.status.code(), Some(1), "{stderr}");
    let error = only_error_line(&stderr);
    assert!(
        error.starts_with(&format!(
            "error: cannot connect to Docker (Docker daemon at {host}): ssh: "
        )) && error.contains("Permission denied (publickey)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "hint: `ssh -p {} ",
            host.rsplit(':').next().unwrap_or_default()
        )) && stderr.contains(" docker version` must work first"),
        "{stderr}"
    );
}
