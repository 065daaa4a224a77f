//! `kubectl kuul image` against a real Docker daemon, the real local registry (htpasswd)
//! and, for `--from-cronjob` and `run-now --local`, the real local cluster. Needs
//! `tests/integration` (or `make test`), which exports `KUUL_TEST_REGISTRY`,
//! `KUUL_TEST_REGISTRY_USER`, `KUUL_TEST_REGISTRY_PASSWORD`, `KUUL_TEST_BASE_IMAGE` and
//! the cluster's kubeconfig.
//!
//! Every image, project and namespace a test makes has a unique name; images are removed
//! at the end.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, PushImageOptionsBuilder,
    RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;
use kuul_tests::{
    TestNamespace, Via, bin, container_output, docker, eventually, harness_env, image_cmd,
    image_push, kubeconfig, text, unique,
};

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

async fn remove_images(docker: &Docker, images: &[String]) {
    for image in images {
        let force = RemoveImageOptionsBuilder::default().force(true).build();
        let _ = docker.remove_image(image, Some(force), None).await;
    }
}

/// Writes a project that tests `kuul-base:busybox` directly (no build needed).
fn project_on_base(dir: &Path, name: &str, tests: &str) {
    let tests = if tests.is_empty() {
        "tests: []\n".to_owned()
    } else {
        format!("tests:\n{tests}")
    };
    let yaml = format!("name: {name}\nversion: '1'\n{tests}");
    std::fs::write(dir.join("kuul-image.yaml"), yaml).unwrap();
}

#[tokio::test]
async fn the_template_inits_builds_and_passes_its_own_tests() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-template");
    let init = run(image_cmd(work.path()).args(["init", &name]));
    assert!(init.status.success(), "init: {}", text(&init.stderr));
    let project = work.path().join(&name);
    let again = run(image_cmd(work.path()).args(["init", &name]));
    assert_eq!(again.status.code(), Some(2), "init into a non-empty dir");
    assert!(text(&again.stderr).contains("exists and is not empty"));

    // A git checkout, so the build also tags the commit.
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(&project)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    let sha = text(
        &Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(&project)
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_owned();

    let base = format!("BASE_IMAGE={}", harness_env("KUUL_TEST_BASE_IMAGE"));
    let build = run(image_cmd(&project).args(["build", "--build-arg", &base]));
    let tags = vec![format!("{name}:0.1.0"), format!("{name}:{sha}")];
    let docker = docker().await;
    let test = run(image_cmd(&project).arg("test"));
    remove_images(&docker, &tags).await;

    assert!(build.status.success(), "build: {}", text(&build.stderr));
    assert_eq!(text(&build.stdout), format!("{}\n{}\n", tags[0], tags[1]));
    assert!(text(&build.stderr).contains("Step 2/6 : FROM ${BASE_IMAGE}"));
    let table = text(&test.stdout);
    assert!(test.status.success(), "test: {table}{}", text(&test.stderr));
    assert!(table.starts_with("CASE "), "{table}");
    for case in [
        "works",
        "dry-run",
        "reports-failure",
        "rejects-unknown-arguments",
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(case) && l.contains(" PASS ")),
            "{case} did not pass:\n{table}"
        );
    }
}

#[tokio::test]
async fn failing_cases_exit_4_with_their_reasons() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-failing");
    // too-slow's `sleep 30` is a case under test (work that outlasts its timeout), not a
    // wait of the test's.
    project_on_base(
        work.path(),
        &name,
        r"  - name: passes
    command: [sh, -c, 'echo fine; echo ok > /dev/termination-log']
    expect: {stdout: {contains: [fine]}, terminationMessage: {contains: [ok]}}
  - name: wrong-exit
    command: [sh, -c, 'echo broke >&2; exit 3']
  - name: wrong-output
    command: [sh, -c, 'echo hello']
    expect: {stdout: {matches: ['^bye']}}
  - name: too-big
    command: [sh, -c, 'head -c 200m /dev/zero | tail > /dev/null']
    resources: {memory: 32Mi}
  - name: too-slow
    command: [sleep, '30']
    timeout: 1s
",
    );
    let started = Instant::now();
    let output =
        run(image_cmd(work.path()).args(["test", "--image", &harness_env("KUUL_TEST_BASE_IMAGE")]));
    let table = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(4),
        "{table}{}",
        text(&output.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the timeout did not kill"
    );
    let row = |case: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{case} ")))
            .unwrap_or_else(|| panic!("no row {case}:\n{table}"))
            .to_owned()
    };
    assert!(row("passes").contains(" PASS "), "{table}");
    assert!(
        row("wrong-exit").contains("exit code 3, expected 0 (last output: \"broke\")"),
        "{table}"
    );
    assert!(
        row("wrong-output").contains("stdout does not match /^bye/"),
        "{table}"
    );
    assert!(
        row("too-big").contains(" 137 ") && row("too-big").contains("OOMKilled"),
        "{table}"
    );
    assert!(
        row("too-slow").contains("timed out: killed after 1."),
        "{table}"
    );
    assert!(
        text(&output.stderr).contains("error: 4 of 5 test cases"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn ctrl_c_leaves_no_container_behind() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-ctrl-c");
    let marker = unique("marker");
    // `sleep 300`: two cases that run until they are interrupted, the case under test.
    project_on_base(
        work.path(),
        &name,
        &format!(
            "  - name: a\n    command: [sleep, '300']\n    env: {{MARKER: {marker}}}\n  - name: b\n    command: [sleep, '300']\n    env: {{MARKER: {marker}}}\n"
        ),
    );
    let docker = docker().await;
    let mut child = image_cmd(work.path())
        .args(["test", "--image", &harness_env("KUUL_TEST_BASE_IMAGE")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ours are the running containers of the SDK whose env holds the marker.
    let ours = |docker: Docker| {
        let marker = marker.clone();
        async move {
            let filters = HashMap::from([("label", vec!["kuul.io/image-test".to_owned()])]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            let mut count = 0;
            for c in docker.list_containers(Some(options)).await.unwrap() {
                let id = c.id.unwrap();
                if let Ok(info) = docker.inspect_container(&id, None).await {
                    let env = info.config.and_then(|c| c.env).unwrap_or_default();
                    if env.contains(&format!("MARKER={marker}")) {
                        count += 1;
                    }
                }
            }
            count
        }
    };
    eventually(
        Duration::from_secs(30),
        "both test containers started",
        || async { (ours(docker.clone()).await >= 2).then_some(()) },
    )
    .await;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted; removed 2 container(s)"),
        "{stderr}"
    );
    assert_eq!(ours(docker.clone()).await, 0, "containers left behind");
}

/// A project in a new folder whose image, built, holds a file named after it: the
/// folder and the image's name (`prefix-...`).
fn built_hello_image(prefix: &str) -> (tempfile::TempDir, String) {
    let work = tempfile::tempdir().unwrap();
    let name = unique(prefix);
    std::fs::write(
        work.path().join("Dockerfile"),
        format!(
            "FROM {}\nCOPY hello.txt /hello-{name}.txt\n",
            harness_env("KUUL_TEST_BASE_IMAGE")
        ),
    )
    .unwrap();
    std::fs::write(work.path().join("hello.txt"), &name).unwrap();
    project_on_base(work.path(), &name, "");
    let build = run(image_cmd(work.path()).arg("build"));
    assert!(build.status.success(), "build: {}", text(&build.stderr));
    (work, name)
}

#[tokio::test]
async fn push_prints_a_digest_that_pulls_with_htpasswd_auth_and_a_wrong_password_is_one_clear_error()
 {
    let registry = harness_env("KUUL_TEST_REGISTRY");
    let user = harness_env("KUUL_TEST_REGISTRY_USER");
    let password = harness_env("KUUL_TEST_REGISTRY_PASSWORD");
    let (work, name) = built_hello_image("kuul-it-push");
    let target = format!("{registry}/kuul-test");
    let repository = format!("{target}/{name}");
    let docker = docker().await;

    let push = |password: &str| image_push(work.path(), &target, &user, password);
    let wrong = push("not-the-password");
    let pushed = push(&password);

    // With the credentials of `docker login` in config.json instead of flags.
    let config_dir = work.path().join(".docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#);
    std::fs::write(config_dir.join("config.json"), config).unwrap();
    let from_config = run(image_cmd(work.path()).args(["push", "--registry", &target]));

    let digest_line = text(&pushed.stdout);
    let digest = digest_line
        .trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned());
    remove_images(&docker, &[format!("{name}:1"), format!("{repository}:1")]).await;

    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stderr));
    let wrong_err = text(&wrong.stderr);
    assert!(
        wrong_err.starts_with(&format!("error: registry {registry} refused the credentials of user {user}: unauthorized\nhint: ")),
        "{wrong_err}"
    );
    assert_eq!(wrong_err.lines().count(), 2, "{wrong_err}");
    assert!(pushed.status.success(), "push: {}", text(&pushed.stderr));
    assert!(
        digest_line.starts_with(&format!("{repository}@sha256:")),
        "{digest_line}"
    );
    assert!(
        text(&pushed.stderr).contains("layer"),
        "no layer progress: {}",
        text(&pushed.stderr)
    );
    assert!(
        from_config.status.success(),
        "push with config.json: {}",
        text(&from_config.stderr)
    );
    assert_eq!(text(&from_config.stdout), digest_line);

    // Pull by digest, with the registry's credentials, into a daemon that no longer has it.
    let reference = format!("{repository}@{}", digest.unwrap());
    let credentials = DockerCredentials {
        username: Some(user.clone()),
        password: Some(password.clone()),
        serveraddress: Some(registry.clone()),
        ..Default::default()
    };
    let options = CreateImageOptionsBuilder::default()
        .from_image(&reference)
        .build();
    let mut pull = docker.create_image(Some(options), None, Some(credentials));
    while let Some(item) = pull.next().await {
        let info = item.unwrap_or_else(|e| panic!("pulling {reference}: {e}"));
        assert!(info.error_detail.is_none(), "pulling {reference}: {info:?}");
    }
    let pulled = docker.inspect_image(&reference).await;
    remove_images(&docker, std::slice::from_ref(&reference)).await;
    assert!(pulled.is_ok(), "{reference} missing after the pull");
}

/// An auth.json as `podman login` writes it: under each key, the harness registry's
/// user with the password given for that key.
fn podman_auth_json(entries: &[(&str, &str)]) -> String {
    let user = harness_env("KUUL_TEST_REGISTRY_USER");
    let entries: Vec<String> = entries
        .iter()
        .map(|(key, password)| {
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!(r#""{key}": {{"auth": "{auth}"}}"#)
        })
        .collect();
    format!(r#"{{"auths": {{{}}}}}"#, entries.join(", "))
}

#[tokio::test]
async fn push_with_no_docker_login_uses_podmans_auth_json_and_its_wrong_password_is_one_clear_error()
 {
    let registry = harness_env("KUUL_TEST_REGISTRY");
    let user = harness_env("KUUL_TEST_REGISTRY_USER");
    let password = harness_env("KUUL_TEST_REGISTRY_PASSWORD");
    let (work, name) = built_hello_image("kuul-it-podman");
    let target = format!("{registry}/kuul-test");
    let repository = format!("{target}/{name}");
    // Docker's config has no login: the credentials are Podman's.
    let docker_config = tempfile::tempdir().unwrap();
    let podman = tempfile::tempdir().unwrap();
    let push = |env: &[(&str, &Path)]| {
        let mut cmd = image_cmd(work.path());
        cmd.env("DOCKER_CONFIG", docker_config.path())
            .args(["push", "--registry", &target]);
        for (name, value) in env {
            cmd.env(name, value);
        }
        run(&mut cmd)
    };

    // $REGISTRY_AUTH_FILE: the most specific key that holds the repository wins, here the
    // namespace's over the registry's (whose password is wrong).
    let file = podman.path().join("authfile.json");
    std::fs::write(
        &file,
        podman_auth_json(&[(&registry, "not-the-password"), (&target, &password)]),
    )
    .unwrap();
    let from_authfile = push(&[("REGISTRY_AUTH_FILE", &file)]);

    // $XDG_RUNTIME_DIR/containers/auth.json, where `podman login` writes, with a wrong
    // password.
    let runtime = podman.path().join("run");
    std::fs::create_dir_all(runtime.join("containers")).unwrap();
    std::fs::write(
        runtime.join("containers/auth.json"),
        podman_auth_json(&[(&registry, "not-the-password")]),
    )
    .unwrap();
    let wrong = push(&[("XDG_RUNTIME_DIR", &runtime)]);

    // $XDG_CONFIG_HOME/containers/auth.json, read when the runtime file has nothing for
    // the registry.
    std::fs::write(
        runtime.join("containers/auth.json"),
        podman_auth_json(&[("other.example.com", "x")]),
    )
    .unwrap();
    let config_home = podman.path().join("config");
    std::fs::create_dir_all(config_home.join("containers")).unwrap();
    std::fs::write(
        config_home.join("containers/auth.json"),
        podman_auth_json(&[(&registry, &password)]),
    )
    .unwrap();
    let from_config_home = push(&[
        ("XDG_RUNTIME_DIR", &runtime),
        ("XDG_CONFIG_HOME", &config_home),
    ]);

    // A malformed auth.json is named in the error.
    std::fs::write(&file, "{\"auths\": {").unwrap();
    let malformed = push(&[("REGISTRY_AUTH_FILE", &file)]);

    let docker = docker().await;
    remove_images(&docker, &[format!("{name}:1"), format!("{repository}:1")]).await;

    assert!(
        from_authfile.status.success(),
        "push with $REGISTRY_AUTH_FILE: {}",
        text(&from_authfile.stderr)
    );
    let digest_line = text(&from_authfile.stdout);
    assert!(
        digest_line.starts_with(&format!("{repository}@sha256:")),
        "{digest_line}"
    );
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stderr));
    let wrong_err = text(&wrong.stderr);
    assert!(
        wrong_err.starts_with(&format!("error: registry {registry} refused the credentials of user {user}: unauthorized\nhint: ")),
        "{wrong_err}"
    );
    assert_eq!(wrong_err.lines().count(), 2, "{wrong_err}");
    assert!(
        from_config_home.status.success(),
        "push with $XDG_CONFIG_HOME: {}",
        text(&from_config_home.stderr)
    );
    assert_eq!(text(&from_config_home.stdout), digest_line);
    assert_eq!(
        malformed.status.code(),
        Some(1),
        "{}",
        text(&malformed.stderr)
    );
    assert!(
        text(&malformed.stderr).starts_with(&format!("error: cannot read {}: ", file.display())),
        "{}",
        text(&malformed.stderr)
    );
}

#[tokio::test]
async fn from_cronjob_runs_the_jobs_container_with_its_command_env_and_limits() {
    let ns = TestNamespace::new("kuul-image-local").await;
    let job = "local-run";
    // The job's work; its `sleep 2` keeps the container running while the test
    // inspects it.
    let script = "echo \"$GREETING in $(pwd)\"; sleep 2; exit 3";
    let base = harness_env("KUUL_TEST_BASE_IMAGE");
    let new = run(Command::new(bin("kubectl-kuul-new"))
        .env("KUBECONFIG", kubeconfig())
        .args([
            job,
            "-n",
            ns.name(),
            "--image",
            &base,
            "--schedule",
            "@daily",
            "--memory",
            "48Mi",
            "--cpu",
            "250m",
            "--env",
            "GREETING=hello-from-cronjob",
            "--working-dir",
            "/tmp",
            "--apply",
            "--",
            "sh",
            "-c",
            script,
        ]));
    assert!(new.status.success(), "new: {}", text(&new.stderr));
    let docker = docker().await;

    let child = Command::new(bin("kubectl-kuul-image"))
        .env("KUBECONFIG", kubeconfig())
        .args(["test", "--from-cronjob", job, "-n", ns.name()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Inspect the container while it runs: its config is the CronJob's.
    let filters = HashMap::from([("label", vec![format!("kuul.io/job={job}")])]);
    let info = eventually(Duration::from_secs(20), "the local container", || async {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let found = docker.list_containers(Some(options)).await.unwrap();
        let mut ours = None;
        for c in found {
            let info = docker
                .inspect_container(c.id.as_deref().unwrap(), None)
                .await;
            if let Ok(info) = info
                && info
                    .config
                    .as_ref()
                    .and_then(|c| c.env.as_ref())
                    .is_some_and(|e| e.iter().any(|v| v == "GREETING=hello-from-cronjob"))
            {
                ours = Some(info);
            }
        }
        ours
    })
    .await;
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "hello-from-cronjob in /tmp\n");
    assert!(text(&output.stderr).contains("error: the container exited with code 3"));

    let config = info.config.unwrap();
    assert_eq!(
        config.entrypoint,
        Some(vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()])
    );
    assert_eq!(config.working_dir.as_deref(), Some("/tmp"));
    let host = info.host_config.unwrap();
    assert_eq!(host.memory, Some(48 << 20));
    assert_eq!(host.nano_cpus, Some(250_000_000));

    // run-now --local is the same run, through the run-now binaries.
    for via in [Via::Plugin, Via::Umbrella, Via::Kubectl] {
        let local = run(via
            .command("run-now")
            .args([job, "--local", "-n", ns.name()]));
        assert_eq!(
            local.status.code(),
            Some(3),
            "{via:?}: {}",
            text(&local.stderr)
        );
        assert_eq!(
            text(&local.stdout),
            "hello-from-cronjob in /tmp\n",
            "{via:?}"
        );
    }
    let bad =
        run(Via::Umbrella
            .command("run-now")
            .args([job, "--local", "--wait", "-n", ns.name()]));
    assert_eq!(bad.status.code(), Some(2), "--local with --wait");
}

#[test]
fn init_with_a_path_names_the_image_after_the_last_folder() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-init-path");
    let path = work.path().join("some").join("path").join(&name);
    let init = run(image_cmd(work.path()).args(["init", path.to_str().unwrap()]));
    assert!(init.status.success(), "init: {}", text(&init.stderr));
    let yaml = std::fs::read_to_string(path.join("kuul-image.yaml")).unwrap();
    assert!(yaml.contains(&format!("name: {name}\n")), "{yaml}");
    // A path that ends in no folder name is bad input, as is a bad last folder.
    for bad in ["/", "x/Upper"] {
        let out = run(image_cmd(work.path()).args(["init", bad]));
        assert_eq!(
            out.status.code(),
            Some(2),
            "init {bad}: {}",
            text(&out.stderr)
        );
    }
}

/// The files of the context that `docker build` would send, listed from inside an image
/// built from it: `COPY . /ctx/`.
async fn context_listing(docker: &Docker, image: &str) -> Vec<String> {
    let listing = container_output(docker, image, &["ls", "-A", "/ctx"]).await;
    let mut names: Vec<String> = listing.lines().map(str::to_owned).collect();
    names.sort();
    names
}

#[tokio::test]
async fn dockerignore_classes_negate_only_with_a_caret_as_docker_build_does() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-ignore");
    project_on_base(work.path(), &name, "");
    std::fs::write(
        work.path().join("Dockerfile"),
        format!(
            "FROM {}\nCOPY . /ctx/\n",
            harness_env("KUUL_TEST_BASE_IMAGE")
        ),
    )
    .unwrap();
    for file in ["xz", "!z", "az", "qw", "aw"] {
        std::fs::write(work.path().join(file), file).unwrap();
    }
    // [!x] is the class of '!' and 'x' (Go's filepath.Match), [^q] is "not q".
    std::fs::write(work.path().join(".dockerignore"), "[!x]z\n[^q]w\n").unwrap();
    let ours = format!("{name}:1");
    let theirs = format!("{name}:docker");
    let build = run(image_cmd(work.path()).arg("build"));
    // The same context through the docker CLI itself (its classic builder filters the
    // context on the client, with moby's pattern matcher).
    let docker_build = run(Command::new("docker")
        .args(["build", "-q", "-t", &theirs, "."])
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(work.path()));
    let docker = docker().await;
    let (kept, docker_kept) = if build.status.success() && docker_build.status.success() {
        (
            context_listing(&docker, &ours).await,
            context_listing(&docker, &theirs).await,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    remove_images(&docker, &[ours, theirs]).await;
    assert!(build.status.success(), "build: {}", text(&build.stderr));
    assert!(
        docker_build.status.success(),
        "docker build: {}",
        text(&docker_build.stderr)
    );
    assert_eq!(
        kept,
        [".dockerignore", "Dockerfile", "az", "kuul-image.yaml", "qw"]
    );
    assert_eq!(kept, docker_kept, "docker build kept other files");
}

/// Pushes `image` to the registry as `repository:tag`.
async fn push_as(docker: &Docker, image: &str, repository: &str, tag: &str) {
    let options = TagImageOptionsBuilder::default()
        .repo(repository)
        .tag(tag)
        .build();
    docker.tag_image(image, Some(options)).await.unwrap();
    let credentials = DockerCredentials {
        username: Some(harness_env("KUUL_TEST_REGISTRY_USER")),
        password: Some(harness_env("KUUL_TEST_REGISTRY_PASSWORD")),
        serveraddress: Some(harness_env("KUUL_TEST_REGISTRY")),
        ..Default::default()
    };
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut push = docker.push_image(repository, Some(options), Some(credentials));
    while let Some(item) = push.next().await {
        let info = item.unwrap_or_else(|e| panic!("pushing {repository}:{tag}: {e}"));
        assert!(
            info.error_detail.is_none(),
            "pushing {repository}:{tag}: {info:?}"
        );
    }
}

/// A config.json in a folder of its own with the harness registry's login, as
/// `docker login` writes it; for `DOCKER_CONFIG`.
fn docker_login_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        harness_env("KUUL_TEST_REGISTRY_USER"),
        harness_env("KUUL_TEST_REGISTRY_PASSWORD")
    ));
    let config = format!(
        r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
        harness_env("KUUL_TEST_REGISTRY")
    );
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

#[tokio::test]
async fn run_now_local_pulls_only_the_latest_tag_of_an_untagged_image() {
    let registry = harness_env("KUUL_TEST_REGISTRY");
    let base = harness_env("KUUL_TEST_BASE_IMAGE");
    let docker = docker().await;
    let repository = format!("{registry}/kuul-test/{}", unique("kuul-it-pull"));
    let tags = [
        format!("{repository}:latest"),
        format!("{repository}:other"),
    ];
    // Two tags of one repository in the registry, none in the daemon.
    push_as(&docker, &base, &repository, "latest").await;
    push_as(&docker, &base, &repository, "other").await;
    remove_images(&docker, &tags).await;

    let ns = TestNamespace::new("kuul-image-pull").await;
    let job = "pull-tag";
    let new = run(Command::new(bin("kubectl-kuul-new"))
        .env("KUBECONFIG", kubeconfig())
        .args([
            job,
            "-n",
            ns.name(),
            "--image",
            &repository,
            "--schedule",
            "@daily",
            "--apply",
            "--",
            "echo",
            "pulled",
        ]));
    assert!(new.status.success(), "new: {}", text(&new.stderr));
    let config = docker_login_config();
    let local = run(Via::Umbrella
        .command("run-now")
        .env("DOCKER_CONFIG", config.path())
        .args([job, "--local", "-n", ns.name()]));
    let latest = docker.inspect_image(&tags[0]).await.is_ok();
    let other = docker.inspect_image(&tags[1]).await.is_ok();
    remove_images(&docker, &tags).await;

    assert!(
        local.status.success(),
        "run-now --local: {}",
        text(&local.stderr)
    );
    assert_eq!(text(&local.stdout), "pulled\n");
    assert!(
        text(&local.stderr).contains(&format!("pulling {repository}:latest")),
        "{}",
        text(&local.stderr)
    );
    assert!(latest, "{} was not pulled", tags[0]);
    assert!(!other, "{} was pulled too: the pull named no tag", tags[1]);
}

#[tokio::test]
async fn build_takes_a_dockerfile_elsewhere_a_target_labels_and_build_args_from_the_env() {
    let work = tempfile::tempdir().unwrap();
    let name = unique("kuul-it-stages");
    project_on_base(work.path(), &name, "");
    let base = harness_env("KUUL_TEST_BASE_IMAGE");
    // A multi-stage Dockerfile at another path: the target stage copies from the first,
    // and the stage after it must not be built into the image.
    std::fs::create_dir_all(work.path().join("docker")).unwrap();
    std::fs::write(
        work.path().join("docker/Dockerfile.multi"),
        format!(
            "FROM {base} AS build\nARG GREETING=default\nRUN echo \"$GREETING\" >/built.txt\n\
             FROM {base} AS final\nCOPY --from=build /built.txt /final.txt\n\
             FROM final AS extra\nRUN touch /extra.txt\n"
        ),
    )
    .unwrap();
    let image = format!("{name}:1");
    let build = run(image_cmd(work.path())
        .env("GREETING", "hello-from-the-env")
        .env_remove("UNSET_ARG")
        .args([
            "build",
            "-f",
            "docker/Dockerfile.multi",
            "--target",
            "final",
            "--label",
            "team=ops",
            "--label",
            "empty=",
            "--build-arg",
            "GREETING",
            "--build-arg",
            "UNSET_ARG",
        ]));
    let docker = docker().await;
    let (files, labels) = if build.status.success() {
        let files = container_output(
            &docker,
            &image,
            &["sh", "-c", "cat /final.txt; ls /extra.txt 2>&1 || true"],
        )
        .await;
        let labels = docker
            .inspect_image(&image)
            .await
            .unwrap()
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default();
        (files, labels)
    } else {
        (String::new(), HashMap::new())
    };
    remove_images(&docker, std::slice::from_ref(&image)).await;
    assert!(build.status.success(), "build: {}", text(&build.stderr));
    let mut lines = files.lines();
    assert_eq!(lines.next(), Some("hello-from-the-env"), "{files}");
    assert!(
        lines.next().is_some_and(|l| l.contains("No such file")),
        "the stage after the target was built: {files}"
    );
    assert_eq!(labels.get("team").map(String::as_str), Some("ops"));
    assert_eq!(labels.get("empty").map(String::as_str), Some(""));
}

#[tokio::test]
async fn build_pull_uses_the_registrys_new_base_and_a_build_without_it_the_cached_one() {
    let registry = harness_env("KUUL_TEST_REGISTRY");
    let base = harness_env("KUUL_TEST_BASE_IMAGE");
    let docker = docker().await;
    let work = tempfile::tempdir().unwrap();
    // Two versions of a base image, told apart by /base.txt.
    let version = |which: &str| {
        let name = unique(&format!("kuul-it-base-{which}"));
        let dir = work.path().join(which);
        std::fs::create_dir_all(&dir).unwrap();
        project_on_base(&dir, &name, "");
        std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM {base}\nRUN echo {which} > /base.txt\n"),
        )
        .unwrap();
        let build = run(image_cmd(&dir).arg("build"));
        assert!(
            build.status.success(),
            "build {which}: {}",
            text(&build.stderr)
        );
        format!("{name}:1")
    };
    let old = version("old");
    let new = version("new");
    // The registry has the new base under the tag, the daemon still the old one.
    let base_repository = format!("{registry}/kuul-test/{}", unique("kuul-it-base"));
    let base_image = format!("{base_repository}:1");
    push_as(&docker, &new, &base_repository, "1").await;
    let options = TagImageOptionsBuilder::default()
        .repo(&base_repository)
        .tag("1")
        .build();
    docker.tag_image(&old, Some(options)).await.unwrap();

    let name = unique("kuul-it-pull");
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    project_on_base(&app, &name, "");
    std::fs::write(app.join("Dockerfile"), format!("FROM {base_image}\n")).unwrap();
    let image = format!("{name}:1");
    let config = docker_login_config();
    let build = |pull: bool| {
        let mut cmd = image_cmd(&app);
        cmd.env("DOCKER_CONFIG", config.path()).arg("build");
        if pull {
            cmd.arg("--pull");
        }
        let output = run(&mut cmd);
        (output.status.success(), text(&output.stderr))
    };
    let seen = |docker: Docker| {
        let image = image.clone();
        async move { container_output(&docker, &image, &["cat", "/base.txt"]).await }
    };
    let (cached_ok, cached_log) = build(false);
    let cached = if cached_ok {
        seen(docker.clone()).await
    } else {
        String::new()
    };
    let (pulled_ok, pulled_log) = build(true);
    let pulled = if pulled_ok {
        seen(docker.clone()).await
    } else {
        String::new()
    };
    remove_images(&docker, &[image, base_image, old, new]).await;

    assert!(cached_ok, "build: {cached_log}");
    assert_eq!(cached.trim(), "old", "the build without --pull pulled");
    assert!(pulled_ok, "build --pull: {pulled_log}");
    assert_eq!(
        pulled.trim(),
        "new",
        "the build with --pull used the cached base"
    );
}
