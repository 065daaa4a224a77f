//! `kubectl kuul image test`: run a Kuul image's test cases as Kubernetes would run them.
//!
//! Each case of kuul-image.yaml becomes one container ([`crate::spec`]), run to its end
//! with its output captured ([`crate::runner`]) and judged ([`crate::expect`]); cases
//! run in parallel with a bound, so a long suite stays quick without swamping the
//! daemon. The result is a table, and exit code 4 when a case failed. Ctrl-C removes
//! every container the run started before kuul exits. `--from-cronjob` runs a live
//! `CronJob`'s container instead ([`crate::local_run`]).

use std::path::{Path, PathBuf};

use clap::Args;
use futures_util::StreamExt;
use kuul_core::kuul_job::{check_image, check_job_name};
use kuul_core::{Error, KubeArgs, Printer};

use crate::docker;
use crate::expect::{self, Verdict};
use crate::project::{self, Case, Project};
use crate::report::{self, CaseResult};
use crate::runner::{self, ContainerOutcome, Output};
use crate::spec::ContainerSpec;

/// Arguments of `kubectl kuul image test`.
// The field docs are the `--help` text, where backticks around CronJob would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// The Kuul image project (default: the current directory)
    #[arg(long, value_name = "DIR", conflicts_with = "from_cronjob")]
    pub dir: Option<PathBuf>,

    /// Image to test (default: NAME:VERSION from kuul-image.yaml, as `build` tagged it)
    #[arg(long, value_name = "IMAGE", conflicts_with = "from_cronjob")]
    pub image: Option<String>,

    /// Run only this case; repeatable
    #[arg(long = "case", value_name = "NAME", conflicts_with = "from_cronjob")]
    pub cases: Vec<String>,

    /// How many cases run at the same time
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,

    /// Instead of the cases, run this CronJob's container locally with its command,
    /// args, env, workingDir, user and limits, and exit with its exit code
    #[arg(long, value_name = "NAME")]
    pub from_cronjob: Option<String>,

    /// With --from-cronjob: NAME=VALUE lines for env vars the cluster keeps in Secrets or
    /// ConfigMaps
    #[arg(long, value_name = "FILE", requires = "from_cronjob")]
    pub env_file: Option<PathBuf>,
}

impl TestArgs {
    /// The cases `--case` picks (all without it); each must exist, and there must be one.
    fn selected_cases<'a>(&self, project: &'a Project, dir: &Path) -> Result<Vec<&'a Case>, Error> {
        if let Some(unknown) = self
            .cases
            .iter()
            .find(|n| !project.tests.iter().any(|c| &c.name == *n))
        {
            let names: Vec<&str> = project.tests.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::InvalidInput {
                message: format!(
                    "invalid --case {unknown:?}: kuul-image.yaml has no such test case"
                ),
                hint: Some(format!("its cases: {}", names.join(", "))),
            });
        }
        let cases: Vec<&Case> = project
            .tests
            .iter()
            .filter(|c| self.cases.is_empty() || self.cases.contains(&c.name))
            .collect();
        if cases.is_empty() {
            return Err(Error::InvalidInput {
                message: format!("{} has no test cases", dir.join(project::FILE).display()),
                hint: Some(
                    "add some under tests:, each `- name: NAME` with what it runs and expects; `kubectl kuul image init NAME --dir DIR` writes an example"
                        .to_owned(),
                ),
            });
        }
        Ok(cases)
    }

    pub async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        if let Some(name) = &self.from_cronjob {
            check_job_name("--from-cronjob", name)?;
            return crate::local_run::run(&kube, name, self.env_file.as_deref(), printer).await;
        }
        if let Some(image) = &self.image {
            check_image("--image", image)?;
        }
        let dir = project::dir_or_current(self.dir.as_deref());
        let project = Project::load(&dir)?;
        let cases = self.selected_cases(&project, &dir)?;
        let image = self.image.clone().unwrap_or_else(|| project.image(None));
        let daemon = docker::connect().await?;
        if daemon.docker.inspect_image(&image).await.is_err() {
            return Err(Error::Halted {
                message: format!("image {image} is not in the local Docker daemon"),
                hint: Some(
                    "build it first with `kubectl kuul image build`, or pass --image".to_owned(),
                ),
            });
        }
        let run_id = runner::new_run_id();
        printer.info(format_args!(
            "testing {image}: {} cases, {} at a time",
            cases.len(),
            self.parallel
        ));
        let runs = futures_util::stream::iter(cases.iter().enumerate())
            .map(|(index, case)| {
                let spec = ContainerSpec::from_case(case, &image);
                let (daemon, run_id) = (&daemon, &run_id);
                async move {
                    let result = match runner::run(daemon, &spec, run_id, Output::Capture).await {
                        Ok(outcome) => CaseResult {
                            case: case.name.clone(),
                            verdict: expect::judge(&case.expect, &outcome),
                            outcome,
                        },
                        Err(error) => CaseResult {
                            case: case.name.clone(),
                            outcome: ContainerOutcome::default(),
                            verdict: Verdict::Failed(error.to_string()),
                        },
                    };
                    printer.info(format_args!(
                        "{} {}",
                        if result.verdict == Verdict::Passed {
                            "PASS"
                        } else {
                            "FAIL"
                        },
                        result.case
                    ));
                    (index, result)
                }
            })
            .buffer_unordered(usize::from(self.parallel))
            .collect::<Vec<_>>();
        let mut results = runner::interruptible(&daemon, &run_id, async { Ok(runs.await) }).await?;
        results.sort_by_key(|(index, _)| *index);
        let results: Vec<CaseResult> = results.into_iter().map(|(_, r)| r).collect();
        printer.data(&report::results_table(&results).to_string())?;
        let failed = results
            .iter()
            .filter(|r| r.verdict != Verdict::Passed)
            .count();
        if failed > 0 {
            return Err(Error::WorkFailed {
                message: format!("{failed} of {} test cases of {image} failed", results.len()),
            });
        }
        Ok(())
    }
}
