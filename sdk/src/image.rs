//! `kubectl kuul image`: the command group for Kuul images.
//!
//! Each subcommand lives in its own module (`init`, `build`, `image_test`, `push`); this
//! one only names them in the CLI and dispatches, so the umbrella and
//! `kubectl-kuul-image` offer the same commands.

use clap::{Args, Subcommand};
use kuul_core::{Error, KubeArgs, KuulCommand, Printer};

use crate::build::BuildArgs;
use crate::image_test::TestArgs;
use crate::init::InitArgs;
use crate::push::PushArgs;

/// Arguments of `kubectl kuul image`.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// What to do with a Kuul image.
#[derive(Debug, Clone, Subcommand)]
pub enum ImageCommand {
    /// Create a new Kuul image project from the image template.
    #[command(
        long_about = "Create a new Kuul image project from the image template: a \
        Dockerfile (ARG BASE_IMAGE, a non-root user), an entry script that writes its result \
        to /dev/termination-log, kuul-image.yaml with test cases, a .dockerignore and a \
        README. Refuses a non-empty directory unless --force."
    )]
    Init(InitArgs),
    /// Build a Kuul image with the local Docker daemon.
    #[command(
        long_about = "Build a Kuul image from its project directory with the local Docker \
        daemon (DOCKER_HOST is honoured), honouring .dockerignore, and tag it NAME:VERSION \
        and NAME:GIT-SHA. Shows progress on a terminal, the steps otherwise, and the full \
        log with -v or when a step fails (exit 1)."
    )]
    Build(BuildArgs),
    /// Run a Kuul image's test cases in local containers.
    #[command(
        long_about = "Run the test cases of kuul-image.yaml, each in a local container \
        started as Kubernetes would start the job's pod (command, args, env, workingDir, \
        user, CPU and memory limits, timeout, network), in parallel, and print a table \
        CASE RESULT EXIT DURATION WHY. Exits 4 when a case failed. Containers are removed \
        afterwards, also on Ctrl-C.\n\nWith --from-cronjob NAME, runs that CronJob's \
        container from the cluster locally instead and exits with its exit code."
    )]
    Test(TestArgs),
    /// Push a Kuul image to its registry.
    #[command(
        long_about = "Push a built Kuul image (NAME:VERSION, and NAME:GIT-SHA when built in \
        a git checkout) to its registry, with the credentials of `docker login` (else of \
        `podman login`) or --username and --password-stdin, and print the pushed digest as \
        REPOSITORY@DIGEST."
    )]
    Push(PushArgs),
}

impl KuulCommand for ImageArgs {
    const NAME: &'static str = "image";
    const ABOUT: &'static str = "Build, test and push Kuul images with Docker.";
    const LONG_ABOUT: &'static str = "Build, test and push Kuul images: the container images \
        Kuul jobs run. Images are built and tested with the local Docker daemon (DOCKER_HOST \
        is honoured) before they are pushed to a registry.";

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        match self.command {
            ImageCommand::Init(args) => args.run(printer),
            ImageCommand::Build(args) => args.run(printer).await,
            ImageCommand::Test(args) => args.run(kube, printer).await,
            ImageCommand::Push(args) => args.run(printer).await,
        }
    }
}
