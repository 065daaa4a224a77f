//! `kubectl kuul image build`: build a Kuul image with the local Docker daemon.
//!
//! The build must be the one `docker build` would do (same context, same
//! `.dockerignore`, same Dockerfile), tagged so that a test run and a `CronJob` can name
//! it: `name:version` for people and `name:<git sha>` for tracing an image back to its
//! commit. Its output is noise when it works and the only clue when it does not, so a
//! terminal sees a one-line progress display, a pipe sees the steps, and the full log is
//! shown with `-v` or when a step fails. The daemon pulls the `FROM` images itself, but
//! only with the credentials the client sends along, so the build sends those of their
//! registries, found as push finds them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptionsBuilder, TagImageOptionsBuilder};
use clap::Args;
use futures_util::StreamExt;
use indicatif::ProgressBar;
use kuul_core::kuul_job::check_registry;
use kuul_core::{Error, Printer};

use crate::credentials;
use crate::docker::{self, Daemon};
use crate::dockerfile::Dockerfile;
use crate::dockerignore::{self, DockerIgnore};
use crate::project::{self, Project};

/// How many lines of the failing step's output the error shows.
const TAIL: usize = 20;

/// Arguments of `kubectl kuul image build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// The Kuul image project (default: the current directory)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The Dockerfile, relative to the current directory or absolute, as for docker build
    /// (default: DIR/Dockerfile)
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Build-time variable for the Dockerfile, overriding kuul-image.yaml's buildArgs; a
    /// bare NAME takes the value of the environment variable NAME, and is left out when
    /// that is unset; repeatable
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
    pub build_args: Vec<String>,

    /// Build up to this stage of a multi-stage Dockerfile (FROM ... AS STAGE)
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,

    /// Pull the FROM images even when the daemon has them, for their newest versions
    #[arg(long)]
    pub pull: bool,

    /// Label for the image; repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Build every step again instead of reusing cached layers
    #[arg(long)]
    pub no_cache: bool,

    /// Target platform, e.g. linux/amd64 (where the daemon supports it)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Registry to prefix the tags with, e.g. registry.example.com/ops (default:
    /// kuul-image.yaml's registry, else none)
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,

    /// Show the full build log
    #[arg(short, long)]
    pub verbose: bool,
}

impl BuildArgs {
    pub async fn run(self, printer: Printer) -> Result<(), Error> {
        let dir = project::dir_or_current(self.dir.as_deref());
        let project = Project::load(&dir)?;
        let mut build_args = project.build_args.clone();
        for arg in &self.build_args {
            if let Some((name, value)) = parse_build_arg(arg, |name| std::env::var(name).ok())? {
                build_args.insert(name, value);
            }
        }
        let labels = self
            .labels
            .iter()
            .map(|label| parse_label(label))
            .collect::<Result<HashMap<_, _>, _>>()?;
        if let Some(platform) = &self.platform {
            check_platform(platform)?;
        }
        if let Some(registry) = &self.registry {
            check_registry("--registry", registry)?;
        }
        let dockerfile = DockerfileIn::find(&dir, self.file.as_deref())?;
        let base_images = dockerfile
            .check(self.target.as_deref())?
            .base_images(&build_args);
        let context = build_context(&dir, &dockerfile)?;
        let repository = project.repository(self.registry.as_deref());
        let mut tags = vec![format!("{repository}:{}", project.version)];
        match git_short_sha(&dir).await {
            Some(sha) => tags.push(format!("{repository}:{sha}")),
            None => printer.info(format_args!(
                "{} is not in a git repository: tagging {} only",
                dir.display(),
                tags[0]
            )),
        }

        let daemon = docker::connect().await?;
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&dockerfile.name)
            .t(&tags[0])
            .labels(&labels)
            .rm(true)
            .forcerm(true)
            .nocache(self.no_cache)
            .buildargs(&build_args.into_iter().collect::<HashMap<_, _>>());
        if let Some(platform) = &self.platform {
            options = options.platform(platform);
        }
        if let Some(target) = &self.target {
            options = options.target(target);
        }
        if self.pull {
            options = options.pull("1");
        }
        let registry_config = registry_config(&daemon, &base_images, self.pull, printer).await;
        let progress = Progress::new(self.verbose, printer);
        let mut stream = daemon.docker.build_image(
            options.build(),
            registry_config,
            Some(bollard::body_full(context.into())),
        );
        let mut log = BuildLog::default();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(progress.failed(&log, &error));
                }
                Err(e) => {
                    progress.finish();
                    return Err(daemon.error(format!("build {}", tags[0]), e));
                }
            };
            if let Some(text) = info.stream {
                for line in log.push(&text) {
                    progress.line(&line);
                }
            }
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(progress.failed(&log, &message));
            }
        }
        progress.finish();
        for tag in &tags[1..] {
            let (repo, tag_name) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
            let options = TagImageOptionsBuilder::default()
                .repo(repo)
                .tag(tag_name)
                .build();
            daemon
                .docker
                .tag_image(&tags[0], Some(options))
                .await
                .map_err(|e| daemon.error(format!("tag {} as {tag}", tags[0]), e))?;
        }
        for tag in &tags {
            printer.line(tag)?;
        }
        Ok(())
    }
}

/// The credentials of the registries the daemon will pull `FROM` images from (all of
/// them with `--pull`, else those it lacks), by registry, as `docker build` sends them.
/// Credentials that cannot be found are a warning: the image may be public.
async fn registry_config(
    daemon: &Daemon,
    images: &[String],
    pull: bool,
    printer: Printer,
) -> Option<HashMap<String, DockerCredentials>> {
    let mut config = HashMap::new();
    for image in images {
        let registry = credentials::registry_of(image);
        if config.contains_key(&registry)
            || (!pull && daemon.docker.inspect_image(image).await.is_ok())
        {
            continue;
        }
        match credentials::for_image(image).await {
            Ok(Some(found)) => {
                config.insert(registry, found);
            }
            Ok(None) => {}
            Err(message) => {
                printer.warn(format_args!(
                    "{message}; the daemon pulls {image} without credentials"
                ));
            }
        }
    }
    (!config.is_empty()).then_some(config)
}

/// The build log, split into Dockerfile steps, so a failure can show its step.
#[derive(Debug, Default)]
struct BuildLog {
    lines: Vec<String>,
    /// Where the current step's lines start.
    step_start: usize,
    partial: String,
}

impl BuildLog {
    /// Adds streamed text; returns the complete lines it finished.
    fn push(&mut self, text: &str) -> Vec<String> {
        self.partial.push_str(text);
        let mut done = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            let line = line.trim_end().to_owned();
            if line.starts_with("Step ") {
                self.step_start = self.lines.len();
            }
            self.lines.push(line.clone());
            done.push(line);
        }
        done
    }

    /// The step that was running, e.g. `Step 3/7 : RUN make`.
    fn step(&self) -> Option<&str> {
        self.lines
            .get(self.step_start)
            .filter(|l| l.starts_with("Step "))
            .map(String::as_str)
    }

    /// The last lines of the current step's output.
    fn tail(&self) -> &[String] {
        let step = &self.lines[(self.step_start + 1).min(self.lines.len())..];
        &step[step.len().saturating_sub(TAIL)..]
    }
}

/// Shows the build as it goes: a spinner on a terminal, step lines otherwise, every
/// line with `-v`.
struct Progress {
    spinner: Option<ProgressBar>,
    verbose: bool,
    printer: Printer,
}

impl Progress {
    fn new(verbose: bool, printer: Printer) -> Self {
        let spinner = if verbose {
            None
        } else {
            printer.spinner("{spinner} {elapsed:>4} {msg}", "")
        };
        Self {
            spinner,
            verbose,
            printer,
        }
    }

    fn line(&self, line: &str) {
        match &self.spinner {
            Some(bar) if line.starts_with("Step ") => bar.set_message(line.to_owned()),
            None if self.verbose || line.starts_with("Step ") => self.printer.info(line),
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }

    /// Ends the display and turns a failed step into the error: the full log first
    /// (unless `-v` showed it), then the step and its last lines in the error itself.
    fn failed(&self, log: &BuildLog, message: &str) -> Error {
        self.finish();
        if !self.verbose {
            for line in &log.lines {
                self.printer.info(line);
            }
        }
        let step = log.step().map_or_else(String::new, |s| format!(" at {s}"));
        let tail = log.tail();
        let hint = if tail.is_empty() {
            "fix the Dockerfile and build again".to_owned()
        } else {
            format!("last output of the step:\n  {}", tail.join("\n  "))
        };
        Error::Halted {
            message: format!("the build failed{step}: {}", message.trim()),
            hint: Some(hint),
        }
    }
}

/// `NAME=VALUE` of `--build-arg`, or a bare `NAME` whose value is the environment
/// variable `NAME` (`env`), left out when that is unset, as `docker build` does.
fn parse_build_arg(
    arg: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, Error> {
    let (name, value) = match arg.split_once('=') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (arg, None),
    };
    if !project::valid_env_name(name) {
        return Err(Error::InvalidInput {
            message: format!(
                "invalid --build-arg {arg:?}: {name:?} is not a variable name (letters, digits, '_', '-' and '.', not starting with a digit)"
            ),
            hint: Some("NAME=VALUE of an ARG of the Dockerfile, or NAME to pass the environment's value, e.g. --build-arg BASE_IMAGE=debian:bookworm-slim".to_owned()),
        });
    }
    Ok(value
        .or_else(|| env(name))
        .map(|value| (name.to_owned(), value)))
}

/// `KEY=VALUE` of `--label`.
fn parse_label(arg: &str) -> Result<(String, String), Error> {
    let problem = match arg.split_once('=') {
        Some(("", _)) => "the KEY is empty",
        Some((key, value)) => return Ok((key.to_owned(), value.to_owned())),
        None => "has no '='",
    };
    Err(Error::InvalidInput {
        message: format!("invalid --label {arg:?}: {problem}"),
        hint: Some(
            "KEY=VALUE (VALUE may be empty), e.g. --label org.opencontainers.image.source=https://git.example.com/ops/backup"
                .to_owned(),
        ),
    })
}

/// The name the context gives a Dockerfile from outside it (`-f` elsewhere), as
/// `docker build` sends such a file along under a name of its own.
const OUTSIDE_DOCKERFILE: &str = ".kuul-dockerfile";

/// The Dockerfile of a build: its text, and its name in the context.
#[derive(Debug, Clone)]
pub struct DockerfileIn {
    /// Its path in the context, `/`-separated; [`OUTSIDE_DOCKERFILE`] when it is outside.
    pub name: String,
    /// Its text, sent under `name` when it is outside the context.
    pub text: String,
    /// Where it was read, for messages.
    pub path: PathBuf,
    pub outside: bool,
}

impl DockerfileIn {
    /// The Dockerfile of `-f` (relative to the current directory, as `docker build`
    /// reads it), else `dir`'s `Dockerfile`.
    pub fn find(dir: &Path, file: Option<&Path>) -> Result<Self, Error> {
        let path = file.map_or_else(|| dir.join("Dockerfile"), Path::to_path_buf);
        let missing = |why: String| {
            match file {
            Some(_) => Error::InvalidInput {
                message: format!("invalid -f/--file {}: {why}", path.display()),
                hint: Some(
                    "the path of a Dockerfile, relative to the current directory or absolute, as for docker build"
                        .to_owned(),
                ),
            },
            None => Error::InvalidInput {
                message: format!("{} has no Dockerfile", dir.display()),
                hint: Some(
                    "a Kuul image project holds its Dockerfile next to kuul-image.yaml, or pass -f PATH"
                        .to_owned(),
                ),
            },
        }
        };
        if !path.is_file() {
            return Err(missing("is not a file".to_owned()));
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| missing(kuul_core::error::io_cause(&e)))?;
        let inside = match (dir.canonicalize(), path.canonicalize()) {
            (Ok(dir), Ok(file)) => file.strip_prefix(&dir).ok().map(|relative| {
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            }),
            _ => None,
        };
        Ok(match inside {
            Some(name) => Self {
                name,
                text,
                path,
                outside: false,
            },
            None => Self {
                name: OUTSIDE_DOCKERFILE.to_owned(),
                text,
                path,
                outside: true,
            },
        })
    }

    /// Checks that the classic builder can build it, and that `target` is one of its
    /// stages; returns what was read of it.
    pub fn check(&self, target: Option<&str>) -> Result<Dockerfile, Error> {
        let parsed = Dockerfile::parse(&self.text);
        if let Some(needs) = &parsed.needs_buildkit {
            return Err(Error::InvalidInput {
                message: format!(
                    "{}:{} uses {}, which needs BuildKit; kuul builds with the Docker API's classic builder",
                    self.path.display(),
                    needs.line,
                    needs.what
                ),
                hint: Some(
                    "use classic Dockerfile syntax (a script file COPYed in instead of a heredoc, no RUN --mount), or build with docker buildx and test the image with kubectl kuul image test --image"
                        .to_owned(),
                ),
            });
        }
        if let Some(target) = target
            && !parsed.stages.contains(&target.to_ascii_lowercase())
        {
            let stages = if parsed.stages.is_empty() {
                "it names none (FROM IMAGE AS STAGE)".to_owned()
            } else {
                format!("its stages are {}", parsed.stages.join(", "))
            };
            return Err(Error::InvalidInput {
                message: format!(
                    "invalid --target {target:?}: {} has no such stage",
                    self.path.display()
                ),
                hint: Some(stages),
            });
        }
        Ok(parsed)
    }
}

/// `os/arch[/variant]`, as Docker spells platforms.
fn check_platform(platform: &str) -> Result<(), Error> {
    let parts: Vec<&str> = platform.split('/').collect();
    let valid = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            message: format!("invalid --platform {platform:?}: is not OS/ARCH[/VARIANT]"),
            hint: Some(
                "a platform as Docker names it, e.g. linux/amd64 or linux/arm64/v8".to_owned(),
            ),
        })
    }
}

/// The short commit of `dir`'s checkout, if it is one.
async fn git_short_sha(dir: &Path) -> Option<String> {
    let output = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--short", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    let sha = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !sha.is_empty()).then_some(sha)
}

/// The build context of `dir` as a tar archive, without what `.dockerignore` leaves out
/// (the Dockerfile and `.dockerignore` are always sent, as `docker build` does; a
/// Dockerfile from outside `dir` is added under [`OUTSIDE_DOCKERFILE`]).
pub fn build_context(dir: &Path, dockerfile: &DockerfileIn) -> Result<Vec<u8>, Error> {
    let unreadable = |path: &Path, e: std::io::Error| Error::Halted {
        message: format!(
            "cannot read {}: {}",
            path.display(),
            kuul_core::error::io_cause(&e)
        ),
        hint: None,
    };
    let ignore_path = dir.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_path) {
        Ok(text) => {
            dockerignore::check(&text).map_err(|bad| Error::InvalidInput {
                message: format!(
                    "{}:{}: {:?} is not a pattern docker build takes: {}",
                    ignore_path.display(),
                    bad.line,
                    bad.pattern,
                    bad.why
                ),
                hint: Some(
                    "patterns use *, ?, [a-z] and \\ within a path part, ** across parts, and ! to keep a path; one per line"
                        .to_owned(),
                ),
            })?;
            DockerIgnore::parse(&text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(unreadable(&ignore_path, e)),
    };
    let always = [dockerfile.name.as_str(), ".dockerignore"];
    let mut files = BTreeMap::new();
    collect(dir, "", &ignore, &always, &mut files).map_err(|(path, e)| unreadable(&path, e))?;
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    for (name, path) in &files {
        append(&mut tar, path, name).map_err(|e| unreadable(path, e))?;
    }
    if dockerfile.outside {
        let mut header = tar::Header::new_gnu();
        header.set_size(dockerfile.text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, OUTSIDE_DOCKERFILE, dockerfile.text.as_bytes())
            .map_err(|e| unreadable(&dockerfile.path, e))?;
    }
    tar.into_inner().map_err(|e| unreadable(dir, e))
}

/// Adds one file of the context under `name`. Windows has no executable bit: there, as
/// `docker build` does, every file goes in as `-rwxr-xr-x`, so that scripts run.
fn append(tar: &mut tar::Builder<Vec<u8>>, path: &Path, name: &str) -> std::io::Result<()> {
    #[cfg(not(unix))]
    {
        let meta = std::fs::symlink_metadata(path)?;
        if meta.is_file() {
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
            header.set_mode(0o755);
            return tar.append_data(&mut header, name, std::fs::File::open(path)?);
        }
    }
    tar.append_path_with_name(path, name)
}

/// Walks `dir`, adding the files `.dockerignore` keeps under their context names.
fn collect(
    root: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    always: &[&str],
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), (PathBuf, std::io::Error)> {
    let dir = root.join(prefix);
    let entries = std::fs::read_dir(&dir).map_err(|e| (dir.clone(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| (dir.clone(), e))?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().map_err(|e| (entry.path(), e))?;
        let excluded = !always.contains(&name.as_str()) && ignore.excludes(&name);
        let holds_always = always.iter().any(|a| a.starts_with(&format!("{name}/")));
        if kind.is_dir() {
            if !excluded || ignore.has_exceptions() || holds_always {
                collect(root, &format!("{name}/"), ignore, always, files)?;
            }
        } else if !excluded {
            files.insert(name, entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_leaves_out_what_dockerignore_says() {
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, name).unwrap();
        };
        for name in [
            "Dockerfile",
            "run.sh",
            "notes.md",
            "README.md",
            "build/out",
            "secrets/k",
            "keep/a.tmp",
        ] {
            put(name);
        }
        std::fs::write(
            dir.path().join(".dockerignore"),
            "*.md\n!README.md\nbuild\nsecrets/\n**/*.tmp\nDockerfile\n",
        )
        .unwrap();
        let dockerfile = DockerfileIn::find(dir.path(), None).unwrap();
        let archive = build_context(dir.path(), &dockerfile).unwrap();
        let mut names: Vec<String> = tar::Archive::new(archive.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".dockerignore", "Dockerfile", "README.md", "run.sh"]
        );
    }

    #[test]
    fn build_log_knows_the_failing_step_and_its_tail() {
        let mut log = BuildLog::default();
        log.push("Step 1/2 : FROM base\n ---> abc\nStep 2/2 : RUN make\n");
        log.push("compiling\nerror: boo");
        log.push("m\n");
        assert_eq!(log.step(), Some("Step 2/2 : RUN make"));
        assert_eq!(log.tail(), ["compiling", "error: boom"]);
    }

    #[test]
    fn a_dockerfile_elsewhere_is_sent_under_a_name_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let context = dir.path().join("ctx");
        std::fs::create_dir_all(context.join("docker")).unwrap();
        std::fs::write(context.join("docker/Dockerfile.prod"), "FROM a\n").unwrap();
        std::fs::write(context.join(".dockerignore"), "docker\n").unwrap();
        std::fs::write(context.join("docker/other"), "x").unwrap();
        std::fs::write(dir.path().join("Dockerfile.out"), "FROM b\n").unwrap();
        let names = |dockerfile: &DockerfileIn| {
            let archive = build_context(&context, dockerfile).unwrap();
            let mut names: Vec<String> = tar::Archive::new(archive.as_slice())
                .entries()
                .unwrap()
                .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        // Inside the context, even in a folder .dockerignore leaves out.
        let inside =
            DockerfileIn::find(&context, Some(&context.join("docker/Dockerfile.prod"))).unwrap();
        assert_eq!(inside.name, "docker/Dockerfile.prod");
        assert_eq!(names(&inside), [".dockerignore", "docker/Dockerfile.prod"]);
        let outside =
            DockerfileIn::find(&context, Some(&dir.path().join("Dockerfile.out"))).unwrap();
        assert_eq!(outside.name, OUTSIDE_DOCKERFILE);
        assert_eq!(names(&outside), [".dockerignore", OUTSIDE_DOCKERFILE]);
        assert_eq!(
            DockerfileIn::find(&context, Some(&context.join("nope")))
                .unwrap_err()
                .to_string(),
            format!(
                "invalid -f/--file {}: is not a file",
                context.join("nope").display()
            )
        );
    }

    #[test]
    fn targets_and_buildkit_syntax_are_checked_before_the_build() {
        let file = |text: &str| DockerfileIn {
            name: "Dockerfile".to_owned(),
            text: text.to_owned(),
            path: PathBuf::from("proj/Dockerfile"),
            outside: false,
        };
        let staged = file("FROM a AS build\nFROM b AS final\n");
        assert!(staged.check(Some("Build")).is_ok());
        assert!(staged.check(None).is_ok());
        let error = staged.check(Some("test")).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid --target \"test\": proj/Dockerfile has no such stage"
        );
        let error = file("FROM a\nRUN <<EOF\nx\nEOF\n")
            .check(None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "proj/Dockerfile:2 uses a heredoc (<<EOF), which needs BuildKit; kuul builds with the Docker API's classic builder"
        );
    }

    #[test]
    fn flags_are_checked_before_anything_runs() {
        let env = |name: &str| (name == "FROM_ENV").then(|| "env value".to_owned());
        let parse = |arg| parse_build_arg(arg, env);
        assert_eq!(
            parse("A=b=c").unwrap(),
            Some(("A".to_owned(), "b=c".to_owned()))
        );
        assert_eq!(parse("A=").unwrap(), Some(("A".to_owned(), String::new())));
        assert_eq!(
            parse("FROM_ENV").unwrap(),
            Some(("FROM_ENV".to_owned(), "env value".to_owned()))
        );
        assert_eq!(parse("UNSET").unwrap(), None);
        assert!(parse("=x").is_err());
        assert!(parse("2FA").is_err());
        assert_eq!(
            parse_label("a.b=c=d").unwrap(),
            ("a.b".to_owned(), "c=d".to_owned())
        );
        assert_eq!(parse_label("k=").unwrap(), ("k".to_owned(), String::new()));
        assert!(parse_label("novalue").is_err());
        assert!(parse_label("=v").is_err());
        assert!(check_platform("linux/amd64").is_ok());
        assert!(check_platform("linux/arm64/v8").is_ok());
        assert!(check_platform("amd64").is_err());
    }
}
