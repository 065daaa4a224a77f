//! `kubectl kuul prune`: delete finished runs of Kuul jobs.
//!
//! Old runs pile up (and with them their pods and logs) when history limits are high,
//! when runs were started by hand, or when Jobs were deleted with `--cascade=orphan`.
//! prune lists the runs once (paginated), lets [`crate::pruning`] decide, shows the plan
//! and, with `--yes`, deletes the Jobs with propagation Background so the garbage
//! collector removes their Pods. Each delete carries preconditions on the Job's uid and
//! resourceVersion: a Job that changed since the plan (recreated under the same name,
//! or its status edited) is read again and only deleted if it is still finished. A
//! finished Job never runs again by itself (Complete and Failed are terminal in the Job
//! controller), so the recheck only matters for those edits, and it makes "never deletes
//! an active Job" hold even then.

use std::collections::{BTreeMap, HashSet};

use chrono::{TimeDelta, Utc};
use clap::Args;
use futures_util::future;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};

use crate::archive::copy;
use crate::archive::open::{Archive, Target};
use crate::bulk::{self, Bulk};
use crate::cli::{ArchiveSourceArgs, ContextsArgs, HeadersArgs, KubeArgs};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::kuul_job::{JOB_LABEL, check_job_name};
use crate::printer::Printer;
use crate::pruning::{Ending, OrphanPod, Policy, PrunePlan, Run, finish, parse_older_than};
use crate::selector;
use crate::table::Table;

/// How often a Job that changed since the plan is read again before giving up.
const ATTEMPTS: usize = 3;

/// Arguments of `kubectl kuul prune`.
// Each flag is a yes/no choice of the user's; clap needs them as separate fields.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub headers: HeadersArgs,

    /// Only the runs of these Kuul jobs (default: all)
    #[arg(value_name = "JOBNAME")]
    pub jobs: Vec<String>,

    /// Only runs (Jobs) whose labels match, e.g. team=ops
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Prune in every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Keep the newest N finished runs of each job
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32))]
    pub keep: Option<u32>,

    /// Only runs that finished longer ago than this, e.g. 7d, 12h, 30m, 1d12h
    #[arg(long, value_name = "DURATION", value_parser = parse_older_than)]
    pub older_than: Option<TimeDelta>,

    /// Only failed runs
    #[arg(long, conflicts_with = "succeeded")]
    pub failed: bool,

    /// Only successful runs
    #[arg(long)]
    pub succeeded: bool,

    /// Also manual runs (run-now, kubectl create job --from), which are kept otherwise
    #[arg(long)]
    pub include_manual: bool,

    /// Also delete finished Pods of Kuul jobs whose Job no longer exists
    #[arg(long)]
    pub orphans: bool,

    /// Delete; without it prune only shows the plan
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub archive: ArchiveSourceArgs,

    #[command(flatten)]
    pub contexts: ContextsArgs,
}

impl PruneArgs {
    fn policy(&self) -> Policy {
        let outcome = if self.failed {
            Some(Ending::Failed)
        } else if self.succeeded {
            Some(Ending::Succeeded)
        } else {
            None
        };
        Policy {
            keep: self.keep.map(|n| n as usize),
            older_than: self.older_than,
            outcome,
            include_manual: self.include_manual,
        }
    }

    /// The label selector of the runs: the kuul job label (one of the named jobs), and
    /// the user's. Checked before anything is sent.
    fn selectors(&self) -> Result<(String, Option<String>), Error> {
        for name in &self.jobs {
            check_job_name("JOBNAME", name)?;
        }
        let runs = if self.jobs.is_empty() {
            JOB_LABEL.to_owned()
        } else {
            format!("{JOB_LABEL} in ({})", self.jobs.join(","))
        };
        let Some(user) = &self.selector else {
            return Ok((runs, None));
        };
        selector::check("--selector", user)?;
        Ok((runs.clone(), Some(format!("{runs},{user}"))))
    }
}

impl KuulCommand for PruneArgs {
    const NAME: &'static str = "prune";
    const ABOUT: &'static str = "Delete finished runs of Kuul jobs.";
    const LONG_ABOUT: &'static str = include_str!("help/prune.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.headers);
        let (runs_selector, user_selector) = self.selectors()?;
        let policy = self.policy();
        let target = self.archive.target()?;
        let contexts = clusters::selected(&self.contexts, &kube)?;
        let selectors = Selectors {
            runs: &runs_selector,
            user: user_selector.as_deref(),
        };
        if contexts.len() > 1 {
            return self
                .across(
                    &kube,
                    &contexts,
                    target.as_ref(),
                    selectors,
                    &policy,
                    printer,
                )
                .await;
        }
        let archive = target.map(|t| t.open(&kube)).transpose()?;
        let cluster = Cluster::connect(&kube).await?;
        let now = Utc::now();
        let (mut plan, namespace) = self.plan(&cluster, selectors, &policy, now).await?;
        let empty = plan.delete.is_empty() && plan.orphans.is_empty();
        if !self.yes || empty {
            if !empty {
                printer.table(&plan.table(now, self.all_namespaces))?;
            }
            printer.info(summary(&plan, archive.as_ref().map(|a| a.store.url())));
            return Ok(());
        }
        let deleted = carry_out(
            &cluster,
            archive.as_ref(),
            &mut plan,
            namespace.as_deref(),
            selectors.of_runs(),
            printer,
        )
        .await;
        deleted.and_then(|line| printer.line(line))
    }
}

/// The label selectors of the runs: the kuul job label (of the named jobs), and with the
/// user's `-l` both.
#[derive(Clone, Copy)]
struct Selectors<'a> {
    runs: &'a str,
    user: Option<&'a str>,
}

impl Selectors<'_> {
    /// What the runs are listed with.
    fn of_runs(&self) -> &str {
        self.user.unwrap_or(self.runs)
    }
}

impl PruneArgs {
    /// The plan for the cluster, from one paginated list of Jobs and one of Pods (and of
    /// all the kuul Jobs with `--orphans` and `-l`), and the namespace it covers (`None`:
    /// every namespace).
    async fn plan(
        &self,
        cluster: &Cluster,
        selectors: Selectors<'_>,
        policy: &Policy,
        now: chrono::DateTime<Utc>,
    ) -> Result<(PrunePlan, Option<String>), Error> {
        let namespace = (!self.all_namespaces).then(|| cluster.namespace().to_owned());
        let selector = selectors.of_runs();
        // Each Job is reduced to its run as its page arrives: the plan needs no more, and
        // tens of thousands of whole Jobs would not fit in a small heap. (The selector
        // always holds the kuul job label, so every Job listed is a run.)
        let reduce = |job: Job| Run::of(&job, 0);
        let (runs, pods) = tokio::try_join!(
            cluster.list_selected_map(namespace.as_deref(), selector, "jobs", reduce),
            cluster.list_selected::<Pod>(namespace.as_deref(), selector, "pods"),
        )?;
        let mut pods_per_job: BTreeMap<&str, usize> = BTreeMap::new();
        for pod in &pods {
            if let Some(owner) = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.kind == "Job")
            {
                *pods_per_job.entry(owner.uid.as_str()).or_insert(0) += 1;
            }
        }
        let runs: Vec<Run> = runs
            .into_iter()
            .flatten()
            .map(|mut run| {
                run.pods = pods_per_job.get(run.uid.as_str()).copied().unwrap_or(0);
                run
            })
            .collect();
        // Whether a pod's Job exists is decided against every kuul run, not only those the
        // user's selector picked; without one, the runs listed are all of them.
        let listed_uids: Option<HashSet<String>> = (self.orphans && selectors.user.is_none())
            .then(|| runs.iter().map(|run| run.uid.clone()).collect());
        let mut plan = PrunePlan::new(runs, policy, now);
        if self.orphans {
            let uids = if let Some(uids) = listed_uids {
                uids
            } else {
                let uid = |job: Job| job.metadata.uid;
                cluster
                    .list_selected_map(namespace.as_deref(), selectors.runs, "jobs", uid)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect()
            };
            plan.add_orphans(&pods, &uids, policy, now);
        }
        Ok((plan, namespace))
    }

    /// Several clusters: each planned concurrently, the plans in one table with a
    /// CONTEXT column and a summary line per cluster; with `--yes` each carried out on
    /// its own cluster. A cluster that cannot be read is one line naming it, the others
    /// go on, and the exit status is 1.
    async fn across(
        &self,
        kube: &KubeArgs,
        contexts: &[Option<String>],
        target: Option<&Target>,
        selectors: Selectors<'_>,
        policy: &Policy,
        printer: Printer,
    ) -> Result<(), Error> {
        let now = Utc::now();
        let planned = clusters::each(kube, contexts, |kube| async move {
            let archive = target.map(|t| t.open(&kube)).transpose()?;
            let cluster = Cluster::connect(&kube).await?;
            let (plan, namespace) = self.plan(&cluster, selectors, policy, now).await?;
            Ok((cluster, archive, plan, namespace))
        })
        .await;
        let clusters::Reached {
            mut sides,
            unreachable,
        } = clusters::reached(planned, printer)?;
        if !self.yes {
            let tables = sides
                .iter()
                .filter(|(_, (_, _, plan, _))| !plan.delete.is_empty() || !plan.orphans.is_empty())
                .map(|(context, (_, _, plan, _))| {
                    (context.clone(), plan.table(now, self.all_namespaces))
                })
                .collect();
            if let Some(table) = Table::stacked("context", tables) {
                printer.table(&table)?;
            }
            for (context, (_, archive, plan, _)) in &sides {
                let url = archive.as_ref().map(|a| a.store.url());
                printer.info(format_args!("context {context}: {}", summary(plan, url)));
            }
            return clusters::unreachable(&unreachable, contexts.len());
        }
        let carried = future::join_all(sides.iter_mut().map(
            |(context, (cluster, archive, plan, namespace))| async move {
                let line = carry_out(
                    cluster,
                    archive.as_ref(),
                    plan,
                    namespace.as_deref(),
                    selectors.of_runs(),
                    printer,
                )
                .await;
                (context.clone(), line)
            },
        ))
        .await;
        let mut failed = Vec::new();
        for (context, line) in carried {
            match line {
                Ok(line) => printer.line(format_args!("context {context}: {line}"))?,
                Err(Error::StdoutClosed) => return Err(Error::StdoutClosed),
                Err(error) => {
                    clusters::report(printer, &context, &error);
                    failed.push(context);
                }
            }
        }
        if !failed.is_empty() {
            return Err(Error::Halted {
                message: format!(
                    "prune did not finish on {} of {} clusters: {}",
                    failed.len(),
                    contexts.len(),
                    failed.join(", ")
                ),
                hint: Some("fix the causes above and run the same prune again".to_owned()),
            });
        }
        clusters::unreachable(&unreachable, contexts.len())
    }
}

/// Carries out a cluster's plan, archiving first when there is an archive; returns the
/// summary line of what was deleted.
async fn carry_out(
    cluster: &Cluster,
    archive: Option<&Archive>,
    plan: &mut PrunePlan,
    namespace: Option<&str>,
    selector: &str,
    printer: Printer,
) -> Result<String, Error> {
    if plan.delete.is_empty() && plan.orphans.is_empty() {
        return Ok(summary(plan, None));
    }
    let not_archived = match archive {
        Some(archive) => {
            archive_first(cluster, archive, plan, namespace, selector, printer).await?
        }
        None => Vec::new(),
    };
    execute(cluster, plan, printer, not_archived).await
}

/// Archives each run of the plan before it is deleted, and takes out of the plan the runs
/// that could not be archived: they are returned, with why, and stay in the cluster. A
/// store that refuses the credentials ends the command before anything is deleted.
async fn archive_first(
    cluster: &Cluster,
    archive: &Archive,
    plan: &mut PrunePlan,
    scope: Option<&str>,
    selector: &str,
    printer: Printer,
) -> Result<Vec<(String, Option<Error>)>, Error> {
    archive.store.check().await?;
    let doomed: HashSet<&str> = plan.delete.iter().map(|run| run.uid.as_str()).collect();
    let mut runs = copy::runs_labelled(cluster, scope, selector, &archive.cluster).await?;
    runs.finished
        .retain(|run| doomed.contains(run.uid.as_str()));
    let archiving =
        copy::archive_runs(cluster, &archive.store, &runs.finished, printer, false).await?;
    let mut not_archived: Vec<(String, Option<Error>)> = Vec::new();
    let mut why: BTreeMap<String, Error> = BTreeMap::new();
    for (what, error) in archiving.failures {
        why.insert(what, error);
    }
    let folders: BTreeMap<&str, String> = runs
        .finished
        .iter()
        .map(|run| (run.uid.as_str(), run.folder.to_string()))
        .collect();
    let (kept, gone): (Vec<Run>, Vec<Run>) = std::mem::take(&mut plan.delete)
        .into_iter()
        .partition(|run| archiving.held.contains(&run.uid));
    for run in gone {
        let folder = folders.get(run.uid.as_str());
        // A run's own failure, else its job folder's (a listing that failed).
        let error = folder.and_then(|f| {
            why.remove(f).or_else(|| {
                let job = f.rsplit_once('/').map_or(f.as_str(), |(job, _)| job);
                why.get(job).map(|e| Error::Halted {
                    message: format!("cannot archive it: {e}"),
                    hint: None,
                })
            })
        });
        let error = error.unwrap_or_else(|| Error::Halted {
            message: "it was not found among the finished runs when it was to be archived"
                .to_owned(),
            hint: None,
        });
        not_archived.push((
            format!(
                "job {}/{} (not archived, so not deleted)",
                run.namespace, run.name
            ),
            Some(error),
        ));
    }
    plan.delete = kept;
    printer.info(format_args!(
        "archived {} {} to {}{}",
        archiving.archived,
        if archiving.archived == 1 {
            "run"
        } else {
            "runs"
        },
        archive.store.url(),
        if archiving.already_there > 0 {
            format!("; {} already there", archiving.already_there)
        } else {
            String::new()
        }
    ));
    Ok(not_archived)
}

/// The plan in one sentence, under its table.
fn summary(plan: &PrunePlan, archive: Option<&str>) -> String {
    if plan.delete.is_empty() && plan.orphans.is_empty() {
        return format!("nothing to prune{}", kept_clause(plan));
    }
    let archiving = match archive {
        Some(url) if !plan.delete.is_empty() => format!(", archiving each run to {url} first"),
        _ => String::new(),
    };
    format!(
        "would delete {}{}{archiving}{}; pass --yes to delete",
        runs_phrase(plan.delete.len(), plan.jobs()),
        orphans_phrase(plan.orphans.len()),
        kept_clause(plan)
    )
}

fn runs_phrase(runs: usize, jobs: usize) -> String {
    format!(
        "{runs} {} of {jobs} {}",
        if runs == 1 { "run" } else { "runs" },
        if jobs == 1 { "job" } else { "jobs" }
    )
}

fn orphans_phrase(orphans: usize) -> String {
    match orphans {
        0 => String::new(),
        1 => " and 1 orphaned pod".to_owned(),
        n => format!(" and {n} orphaned pods"),
    }
}

/// `; keeping 5 (3 not finished, 2 newest per job (--keep))` or nothing.
fn kept_clause(plan: &PrunePlan) -> String {
    if plan.kept.is_empty() {
        return String::new();
    }
    let reasons: Vec<String> = plan
        .kept
        .iter()
        .map(|(reason, count)| format!("{count} {}", reason.reason()))
        .collect();
    format!("; keeping {} ({})", plan.kept_total(), reasons.join(", "))
}

/// What became of one delete that did not fail.
enum Deleted {
    /// Deleted now.
    Done,
    /// Someone else deleted it first.
    Gone,
    /// It is running again (or is another object under the same name): left alone.
    Active,
}

/// Carries out the plan: deletes concurrently, and returns the summary line; what was not
/// deleted, `not_archived` (runs left because they could not be archived) among it, is
/// printed and is the error.
async fn execute(
    cluster: &Cluster,
    plan: &PrunePlan,
    printer: Printer,
    not_archived: Vec<(String, Option<Error>)>,
) -> Result<String, Error> {
    let bulk = Bulk::default();
    let (runs, orphans) = tokio::join!(
        bulk.run(&plan.delete, |run| delete_run(cluster, run)),
        bulk.run(&plan.orphans, |pod| delete_orphan(cluster, pod)),
    );
    let left = not_archived.len();
    let mut undone: Vec<(String, Option<Error>)> = not_archived;
    let mut count = |results: Vec<(String, Result<Deleted, Option<Error>>)>| {
        let mut tally = [0usize; 3];
        for (name, result) in results {
            match result {
                Ok(Deleted::Done) => tally[0] += 1,
                Ok(Deleted::Gone) => tally[1] += 1,
                Ok(Deleted::Active) => tally[2] += 1,
                Err(failure) => undone.push((name, failure)),
            }
        }
        tally
    };
    let [runs_deleted, runs_gone, runs_active] = count(
        runs.into_iter()
            .map(|o| {
                (
                    format!("job {}/{}", o.item.namespace, o.item.name),
                    o.done(),
                )
            })
            .collect(),
    );
    let [orphans_deleted, orphans_gone, _] = count(
        orphans
            .into_iter()
            .map(|o| {
                (
                    format!("pod {}/{}", o.item.namespace, o.item.name),
                    o.done(),
                )
            })
            .collect(),
    );
    let failed = undone.len();
    let mut summary = format!(
        "deleted {}{}",
        runs_phrase(runs_deleted, plan.jobs()),
        orphans_phrase(orphans_deleted)
    );
    let gone = runs_gone + orphans_gone;
    if gone > 0 {
        summary = format!("{summary}; {gone} already gone");
    }
    if runs_active > 0 {
        summary = format!("{summary}; kept {runs_active} that became active since the plan");
    }
    summary.push_str(&kept_clause(plan));
    if failed > 0 {
        summary = format!("{summary}; {failed} not deleted");
    }
    if failed > 0 {
        printer.line(&summary)?;
        let total = plan.delete.len() + plan.orphans.len() + left;
        return Err(bulk::undone(printer, "delete", "object(s)", total, undone));
    }
    Ok(summary)
}

/// Deletes one run if it is still the finished Job the plan saw: a precondition on its
/// uid and resourceVersion; when that fails, the Job is read again and deleted only if
/// it is the same Job and still finished.
async fn delete_run(cluster: &Cluster, run: &Run) -> Result<Deleted, Error> {
    let api: Api<Job> = Api::namespaced(cluster.client().clone(), &run.namespace);
    let operation = |verb| {
        Operation::new(verb, "jobs")
            .named(&run.name)
            .in_namespace(&run.namespace)
    };
    let mut resource_version = run.resource_version.clone();
    for _ in 0..ATTEMPTS {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(run.uid.clone()),
                resource_version: Some(resource_version.clone()),
            }),
            ..DeleteParams::background()
        };
        match api.delete(&run.name, &params).await {
            Ok(_) => return Ok(Deleted::Done),
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Deleted::Gone),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let Some(job) = api
                    .get_opt(&run.name)
                    .await
                    .map_err(|source| cluster.error(operation("get"), source))?
                else {
                    return Ok(Deleted::Gone);
                };
                let same = job.metadata.uid.as_deref() == Some(run.uid.as_str());
                if !same || finish(&job).is_none() {
                    return Ok(Deleted::Active);
                }
                resource_version = job.metadata.resource_version.unwrap_or_default();
            }
            Err(source) => return Err(cluster.error(operation("delete"), source)),
        }
    }
    Err(Error::Halted {
        message: format!(
            "job {:?} in namespace {:?} kept changing while being deleted; left alone",
            run.name, run.namespace
        ),
        hint: Some("run the same prune again".to_owned()),
    })
}

/// Deletes an orphaned pod, unless it is gone or was replaced under the same name.
async fn delete_orphan(cluster: &Cluster, pod: &OrphanPod) -> Result<Deleted, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), &pod.namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(pod.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api.delete(&pod.name, &params).await {
        Ok(_) => Ok(Deleted::Done),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
            Ok(Deleted::Gone)
        }
        Err(source) => Err(cluster.error(
            Operation::new("delete", "pods")
                .named(&pod.name)
                .in_namespace(&pod.namespace),
            source,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruning::Kept;

    fn args(words: &[&str]) -> PruneArgs {
        crate::cli::try_parse(words).unwrap()
    }

    fn run(namespace: &str, job: &str, name: &str) -> Run {
        Run {
            namespace: namespace.to_owned(),
            job: job.to_owned(),
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            resource_version: "1".to_owned(),
            outcome: Some(Ending::Succeeded),
            finished: None,
            created: None,
            manual: false,
            pods: 1,
        }
    }

    #[test]
    fn flags_make_the_policy() {
        let policy = args(&[
            "--keep",
            "2",
            "--older-than",
            "1d",
            "--failed",
            "--include-manual",
        ])
        .policy();
        assert_eq!(policy.keep, Some(2));
        assert_eq!(policy.older_than, Some(TimeDelta::days(1)));
        assert_eq!(policy.outcome, Some(Ending::Failed));
        assert!(policy.include_manual);
        let policy = args(&["--succeeded"]).policy();
        assert_eq!(policy.outcome, Some(Ending::Succeeded));
        assert_eq!(args(&[]).policy(), Policy::default());
    }

    #[test]
    fn selectors_narrow_to_the_named_jobs_and_add_the_users() {
        assert_eq!(args(&[]).selectors().unwrap(), (JOB_LABEL.to_owned(), None));
        let (runs, user) = args(&["backup", "smoke", "-l", "team=ops"])
            .selectors()
            .unwrap();
        assert_eq!(runs, format!("{JOB_LABEL} in (backup,smoke)"));
        assert_eq!(user.unwrap(), format!("{runs},team=ops"));
    }

    #[test]
    fn bad_names_and_selectors_are_refused_before_anything_is_sent() {
        let error = args(&["Not A Job"]).selectors().unwrap_err();
        assert_eq!(error.exit_status(), crate::ExitStatus::Usage);
        assert!(error.to_string().contains("JOBNAME"), "{error}");
        let error = args(&["-l", "team in ops"]).selectors().unwrap_err();
        assert_eq!(error.exit_status(), crate::ExitStatus::Usage);
        assert!(error.to_string().contains("--selector"), "{error}");
    }

    #[test]
    fn the_summary_counts_runs_jobs_orphans_and_what_stays() {
        let mut plan = PrunePlan::default();
        assert_eq!(summary(&plan, None), "nothing to prune");
        plan.kept.insert(Kept::Active, 1);
        assert_eq!(
            summary(&plan, None),
            "nothing to prune; keeping 1 (1 not finished)"
        );
        plan.delete = vec![
            run("ops", "backup", "backup-1"),
            run("ops", "backup", "backup-2"),
            run("ops", "smoke", "smoke-1"),
        ];
        plan.kept.insert(Kept::Newest, 2);
        assert_eq!(
            summary(&plan, None),
            "would delete 3 runs of 2 jobs; keeping 3 (1 not finished, 2 newest per job (--keep)); pass --yes to delete"
        );
        plan.delete.truncate(1);
        plan.kept.clear();
        plan.orphans = vec![OrphanPod {
            namespace: "ops".to_owned(),
            name: "backup-0-abcde".to_owned(),
            job: "backup".to_owned(),
            uid: "uid-pod".to_owned(),
            outcome: Ending::Failed,
            finished: None,
            created: None,
        }];
        assert_eq!(
            summary(&plan, None),
            "would delete 1 run of 1 job and 1 orphaned pod; pass --yes to delete"
        );
        assert_eq!(
            summary(&plan, Some("s3://kuul-logs/prod")),
            "would delete 1 run of 1 job and 1 orphaned pod, archiving each run to s3://kuul-logs/prod first; pass --yes to delete"
        );
    }
}
