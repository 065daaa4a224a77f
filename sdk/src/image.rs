//! `kubectl kuul image`: the command group for Kuul images.
//!
//! Only the commands' places in the CLI exist so far; their flags and behaviour are
//! designed in their own issues, and until then each says so instead of pretending.

use clap::{Args, Subcommand};
use kuul_core::{Error, KubeArgs, KuulCommand, Printer};

/// Arguments of `kubectl kuul image`.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// What to do with a Kuul image.
#[derive(Debug, Clone, Subcommand)]
pub enum ImageCommand {
    /// Create a new Kuul image directory from the image template.
    #[command(
        long_about = "Create a new Kuul image directory from the image template: a \
        Dockerfile, an entry script and test cases to start from."
    )]
    Init,
    /// Build a Kuul image with the local Docker daemon.
    #[command(
        long_about = "Build a Kuul image from its directory with the local Docker \
        daemon, tagged for the team's registry."
    )]
    Build,
    /// Run a Kuul image's test cases in local containers.
    #[command(
        long_about = "Run a Kuul image's test cases, each in a local container, and \
        report which passed. Fails with exit code 4 when a test case fails."
    )]
    Test,
    /// Push a Kuul image to its registry.
    #[command(
        long_about = "Push a built and tested Kuul image to its registry, so that \
        Kuul jobs on the cluster can run it."
    )]
    Push,
}

impl ImageCommand {
    /// The full command as typed, for messages.
    fn name(&self) -> &'static str {
        match self {
            ImageCommand::Init => "image init",
            ImageCommand::Build => "image build",
            ImageCommand::Test => "image test",
            ImageCommand::Push => "image push",
        }
    }
}

impl KuulCommand for ImageArgs {
    const NAME: &'static str = "image";
    const ABOUT: &'static str = "Build, test and push Kuul images with Docker.";
    const LONG_ABOUT: &'static str = "Build, test and push Kuul images: the container images \
        Kuul jobs run. Images are built and tested with the local Docker daemon (DOCKER_HOST \
        is honoured) before they are pushed to a registry.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: self.command.name(),
        })
    }
}
