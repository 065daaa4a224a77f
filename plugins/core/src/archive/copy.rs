//! Copying finished runs from the cluster into a store: what `archive` does, and what
//! `prune --archive` will do before it deletes a run.
//!
//! The runs of any number of `CronJob`s are read with two paginated lists (their Jobs and
//! their Pods), keeping of each object only what a record needs, so that memory grows
//! with the runs retained, not with their objects. A store is listed once per job to
//! learn which runs it holds. Each run is then copied on its own ([`copy_run`]): the
//! logs of its newest pod's containers, then `run.json`, each written only if absent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;
use kube::api::LogParams;

use super::store::{Created, Store};
use super::{ArchivedLog, ArchivedRun, FORMAT, RECORD_FILE, RunFolder, encode_log};
use crate::bulk::Bulk;
use crate::client::Cluster;
use crate::error::{Error, Operation, VERSION};
use crate::history::{JobFacts, PodFacts, RunRecord};
use crate::kuul_job::JOB_LABEL;
use crate::printer::Printer;
use crate::runs::CONTROLLER_UID_LABEL;

/// One finished run, as read from the cluster, to be archived.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub folder: RunFolder,
    /// The cluster's name as given (the folder's may differ, see [`super::cluster_folder`]).
    pub cluster: String,
    /// The Job's uid.
    pub uid: String,
    pub record: RunRecord,
    pub image: Option<String>,
    pub spec_hash: Option<String>,
    /// The containers of its newest pod (init containers first), and whether each ran.
    pub containers: Vec<(String, bool)>,
}

impl FinishedRun {
    /// `job` as it is now, a run of the Kuul job `kuul_job`, with its `pods`, filed under
    /// `cluster_name`: a run read on its own rather than listed with its job's others.
    pub fn of(job: &Job, kuul_job: &str, pods: &[Pod], cluster_name: &str) -> Self {
        let facts: Vec<PodFacts> = pods.iter().map(PodFacts::of).collect();
        let record = JobFacts::of(job).record(&facts.iter().collect::<Vec<_>>());
        let containers = record
            .pod
            .as_deref()
            .and_then(|name| {
                pods.iter()
                    .find(|p| p.metadata.name.as_deref() == Some(name))
            })
            .map(containers_of)
            .unwrap_or_default();
        Self {
            folder: RunFolder {
                cluster: super::cluster_folder(cluster_name),
                namespace: job.metadata.namespace.clone().unwrap_or_default(),
                job: kuul_job.to_owned(),
                run: record.run.clone(),
            },
            cluster: cluster_name.to_owned(),
            uid: job.metadata.uid.clone().unwrap_or_default(),
            record,
            image: main_image(job),
            spec_hash: super::spec_hash(job),
            containers,
        }
    }
}

/// The pods of the run `job`, by the controller-uid label its pods carry.
pub async fn pods_of_run(cluster: &Cluster, job: &Job) -> Result<Vec<Pod>, Error> {
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let selector = format!("{CONTROLLER_UID_LABEL}={uid}");
    cluster
        .list_selected(job.metadata.namespace.as_deref(), &selector, "pods")
        .await
}

/// The runs of the selected jobs: the finished ones, and how many are still in progress.
#[derive(Debug, Default)]
pub struct Runs {
    /// Newest first within each job.
    pub finished: Vec<FinishedRun>,
    pub in_progress: usize,
}

/// What is kept of a Job while the lists are read.
struct JobEntry {
    namespace: String,
    /// The Kuul job it is a run of.
    job: String,
    facts: JobFacts,
    image: Option<String>,
    spec_hash: Option<String>,
}

/// What is kept of a Pod.
struct PodEntry {
    name: String,
    facts: PodFacts,
    containers: Vec<(String, bool)>,
}

/// Reads the runs of `cronjobs` in `scope` (a namespace, or every one): one list of
/// Jobs and one of Pods, narrowed by the kuul job label when every `CronJob`'s template
/// carries it. `cluster_name` is the cluster's name in the archive
/// ([`super::open::Archive::cluster`]).
pub async fn runs_of(
    cluster: &Cluster,
    cronjobs: &[CronJob],
    scope: Option<&str>,
    cluster_name: &str,
) -> Result<Runs, Error> {
    if cronjobs.is_empty() {
        return Ok(Runs::default());
    }
    // The CronJobs by uid: a Job belongs to the one that controls it.
    let owners: HashMap<&str, &str> = cronjobs
        .iter()
        .filter_map(|c| Some((c.metadata.uid.as_deref()?, c.metadata.name.as_deref()?)))
        .collect();
    let selector = if cronjobs
        .iter()
        .all(|c| crate::runs::runs_selector(c).is_some())
    {
        JOB_LABEL
    } else {
        ""
    };
    read_runs(cluster, scope, selector, cluster_name, |facts, _| {
        let owner = facts.controller.as_deref()?;
        owners.get(owner).map(|name| (*name).to_owned())
    })
    .await
}

/// Reads the runs `selector` picks in `scope` (which must hold the kuul job label, as
/// `prune`'s does), each filed under the Kuul job its label names, whether or not its
/// `CronJob` still exists.
pub async fn runs_labelled(
    cluster: &Cluster,
    scope: Option<&str>,
    selector: &str,
    cluster_name: &str,
) -> Result<Runs, Error> {
    read_runs(cluster, scope, selector, cluster_name, |_, job| {
        job.metadata.labels.as_ref()?.get(JOB_LABEL).cloned()
    })
    .await
}

/// One list of Jobs and one of Pods with `selector`, the Jobs `job_of` files under a
/// Kuul job kept, joined into runs.
async fn read_runs(
    cluster: &Cluster,
    scope: Option<&str>,
    selector: &str,
    cluster_name: &str,
    job_of: impl Fn(&JobFacts, &Job) -> Option<String>,
) -> Result<Runs, Error> {
    let (jobs, pods) = tokio::try_join!(
        cluster.list_selected_map(scope, selector, "jobs", |job: Job| {
            let facts = JobFacts::of(&job);
            let name = job_of(&facts, &job)?;
            Some(JobEntry {
                namespace: job.metadata.namespace.clone().unwrap_or_default(),
                job: name,
                image: main_image(&job),
                spec_hash: super::spec_hash(&job),
                facts,
            })
        }),
        cluster.list_selected_map(scope, selector, "pods", |pod: Pod| PodEntry {
            name: pod.metadata.name.clone().unwrap_or_default(),
            facts: PodFacts::of(&pod),
            containers: containers_of(&pod),
        }),
    )?;
    let mut pods_by_job: HashMap<String, Vec<PodEntry>> = HashMap::new();
    for pod in pods {
        if let Some(uid) = pod.facts.job_uid.clone() {
            pods_by_job.entry(uid).or_default().push(pod);
        }
    }
    let folder_of_cluster = super::cluster_folder(cluster_name);
    let mut runs = Runs::default();
    for job in jobs.into_iter().flatten() {
        if job.facts.in_progress() {
            runs.in_progress += 1;
            continue;
        }
        let pods = pods_by_job.remove(&job.facts.uid).unwrap_or_default();
        let facts: Vec<&PodFacts> = pods.iter().map(|p| &p.facts).collect();
        let record = job.facts.record(&facts);
        let containers = record
            .pod
            .as_deref()
            .and_then(|name| pods.iter().find(|p| p.name == name))
            .map(|pod| pod.containers.clone())
            .unwrap_or_default();
        runs.finished.push(FinishedRun {
            folder: RunFolder {
                cluster: folder_of_cluster.clone(),
                namespace: job.namespace,
                job: job.job,
                run: record.run.clone(),
            },
            cluster: cluster_name.to_owned(),
            uid: job.facts.uid.clone(),
            record,
            image: job.image,
            spec_hash: job.spec_hash,
            containers,
        });
    }
    runs.finished.sort_by(|a, b| {
        (&a.folder.namespace, &a.folder.job, b.record.created).cmp(&(
            &b.folder.namespace,
            &b.folder.job,
            a.record.created,
        ))
    });
    Ok(runs)
}

/// The image of the main container of a Job's pod template: the one
/// `kubectl.kubernetes.io/default-container` names, else the first.
fn main_image(job: &Job) -> Option<String> {
    let template = &job.spec.as_ref()?.template;
    let containers = &template.spec.as_ref()?.containers;
    let named = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"));
    named
        .and_then(|name| containers.iter().find(|c| &c.name == name))
        .or_else(|| containers.first())
        .and_then(|c| c.image.clone())
}

/// A pod's containers, init containers first, each with whether it ever ran (only those
/// have logs).
fn containers_of(pod: &Pod) -> Vec<(String, bool)> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let status = pod.status.as_ref();
    let ran = |statuses: Option<&Vec<ContainerStatus>>, name: &str| {
        statuses
            .into_iter()
            .flatten()
            .find(|s| s.name == name)
            .is_some_and(|s| {
                let state = s.state.as_ref();
                state.is_some_and(|s| s.running.is_some() || s.terminated.is_some())
                    || s.last_state
                        .as_ref()
                        .is_some_and(|s| s.terminated.is_some())
            })
    };
    let init = spec.init_containers.iter().flatten().map(|c| {
        let statuses = status.and_then(|s| s.init_container_statuses.as_ref());
        (c.name.clone(), ran(statuses, &c.name))
    });
    let main = spec.containers.iter().map(|c| {
        let statuses = status.and_then(|s| s.container_statuses.as_ref());
        (c.name.clone(), ran(statuses, &c.name))
    });
    init.chain(main).collect()
}

/// The runs of one job folder the store holds complete (their `run.json` is there),
/// listing only from `oldest` on: the runs the cluster retains sort there or later.
pub async fn archived_runs(
    store: &Store,
    folder: &RunFolder,
    oldest: &str,
) -> Result<HashSet<String>, Error> {
    let names = store.list(&folder.job_parts(), Some(oldest)).await?;
    Ok(names
        .iter()
        .filter_map(|name| name.strip_suffix(&format!("/{RECORD_FILE}")))
        .filter(|run| !run.contains('/'))
        .map(str::to_owned)
        .collect())
}

/// What [`copy_run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copied {
    /// The run is in the store now; `lost` says why logs are missing, if any are.
    Archived { lost: Option<String> },
    /// Another archiver wrote it meanwhile.
    AlreadyThere,
}

/// Copies one finished run into the store: each log of its newest pod's containers that
/// ran, then `run.json`, each only if absent. A run killed half-way has no `run.json`,
/// so it is copied again next time; its logs already there stay as they are.
pub async fn copy_run(
    cluster: &Cluster,
    store: &Store,
    run: &FinishedRun,
) -> Result<Copied, Error> {
    let logs = match &run.record.pod {
        None => Logs {
            lost: vec!["its pod was gone when it was archived".to_owned()],
            ..Logs::default()
        },
        Some(pod) => read_logs(cluster, &run.folder.namespace, pod, &run.containers).await?,
    };
    write_run(store, run, logs, None).await
}

/// The logs of a run's pod, read from the cluster and not written yet: what
/// [`write_run`] writes.
#[derive(Debug, Default)]
pub struct Logs {
    /// Each log's entry in the record and its bytes (gzipped when large).
    pub read: Vec<(ArchivedLog, Vec<u8>)>,
    /// Why logs are missing, when some are.
    pub lost: Vec<String>,
}

/// Reads the log of each of `containers` of `pod` that ran. A pod deleted meanwhile, or
/// a log the node no longer has (400), is a log lost, said in [`Logs::lost`]; any other
/// failure is the error.
pub async fn read_logs(
    cluster: &Cluster,
    namespace: &str,
    pod: &str,
    containers: &[(String, bool)],
) -> Result<Logs, Error> {
    let mut logs = Logs::default();
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), namespace);
    for (container, ran) in containers {
        if !ran {
            logs.lost.push(format!("container {container} never ran"));
            continue;
        }
        let params = LogParams {
            container: Some(container.clone()),
            ..LogParams::default()
        };
        match api.logs(pod, &params).await {
            Ok(text) => logs.read.push(encode_log(container, text.as_bytes())),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                logs.lost
                    .push("its pod was deleted while its logs were read".to_owned());
                break;
            }
            // The node has no log for it (removed, never kept): asking again would not
            // help, so the run is archived without it.
            Err(kube::Error::Api(status)) if status.code == 400 => {
                logs.lost
                    .push(format!("container {container}: {}", status.message));
            }
            Err(source) => {
                return Err(cluster.error(
                    Operation::new("get logs of", "pods")
                        .named(pod)
                        .in_namespace(namespace),
                    source,
                ));
            }
        }
    }
    Ok(logs)
}

/// Writes `run` into the store with `logs`: the logs first, then `run.json` (with
/// `note` on its logs, if any), each only if absent.
pub async fn write_run(
    store: &Store,
    run: &FinishedRun,
    logs: Logs,
    note: Option<String>,
) -> Result<Copied, Error> {
    let parts = run.folder.parts();
    let mut entries = Vec::with_capacity(logs.read.len());
    for (entry, bytes) in logs.read {
        let file = [parts[0], parts[1], parts[2], parts[3], entry.file.as_str()];
        // A log already there was written whole by an earlier attempt at this run.
        store.create(&file, bytes).await?;
        entries.push(entry);
    }
    let lost = logs.lost;
    let archived = ArchivedRun {
        format: FORMAT,
        cluster: run.cluster.clone(),
        namespace: run.folder.namespace.clone(),
        job: run.folder.job.clone(),
        uid: run.uid.clone(),
        record: run.record.clone(),
        image: run.image.clone(),
        spec_hash: run.spec_hash.clone(),
        logs: entries,
        logs_lost: (!lost.is_empty()).then(|| lost.join("; ")),
        logs_note: note,
        archived_at: Some(Utc::now()),
        archived_by: format!("kuul {VERSION}"),
    };
    let record = [parts[0], parts[1], parts[2], parts[3], RECORD_FILE];
    match store.create(&record, archived.to_json()).await? {
        Created::Written => Ok(Copied::Archived {
            lost: archived.logs_lost,
        }),
        Created::AlreadyThere => Ok(Copied::AlreadyThere),
    }
}

/// What [`archive_runs`] did.
#[derive(Debug, Default)]
pub struct Archiving {
    /// The uids of the runs the store holds now: archived now, or already there.
    pub held: HashSet<String>,
    pub archived: usize,
    pub already_there: usize,
    /// What could not be archived (a run, or a job whose folder could not be listed), and
    /// why.
    pub failures: Vec<(String, Error)>,
}

/// Archives `runs`: each job's folder is listed once to skip the runs already there, and
/// the rest are copied at most [`Bulk`]'s bound at a time, with a line per run archived
/// when `announce` (over a progress bar on a terminal). A store that refuses the
/// credentials ends it, since every write would fail alike: the runs not started are
/// left, and the refusal is the error.
pub async fn archive_runs(
    cluster: &Cluster,
    store: &Store,
    runs: &[FinishedRun],
    printer: Printer,
    announce: bool,
) -> Result<Archiving, Error> {
    let mut archiving = Archiving::default();
    let (present, unlisted) = already_archived(store, runs).await?;
    let mut to_copy = Vec::new();
    for run in runs {
        if present.contains(&run.folder) {
            archiving.already_there += 1;
            archiving.held.insert(run.uid.clone());
        } else if !unlisted.contains_key(&run.folder.job_parts()) {
            to_copy.push(run);
        }
    }
    // A job whose folder could not be listed is one failure, and none of its runs is
    // copied: whether they are there already is not known.
    for (job, error) in unlisted {
        archiving.failures.push((job.join("/"), error));
    }
    let progress = printer.bars().map(|bars| {
        let bar = bars.add(ProgressBar::new(to_copy.len() as u64));
        bar.set_style(
            ProgressStyle::with_template("{spinner} archiving runs {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let refused = AtomicBool::new(false);
    let outcomes = Bulk::default()
        .run(to_copy, |run| {
            let (progress, refused) = (&progress, &refused);
            async move {
                if refused.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let copied = copy_run(cluster, store, run).await;
                if matches!(copied, Err(Error::Store { denied: true, .. })) {
                    refused.store(true, Ordering::Relaxed);
                }
                let copied = copied?;
                let line = match &copied {
                    Copied::Archived { lost: Some(lost) } => {
                        format!("archived {} (no logs: {lost})", run.folder)
                    }
                    Copied::Archived { lost: None } => format!("archived {}", run.folder),
                    Copied::AlreadyThere => String::new(),
                };
                if let Some(bar) = progress {
                    bar.inc(1);
                }
                if announce && !line.is_empty() {
                    match progress {
                        Some(bar) => bar.suspend(|| printer.line(&line))?,
                        None => printer.line(&line)?,
                    }
                }
                Ok(Some(copied))
            }
        })
        .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut refusal = None;
    for outcome in outcomes {
        let run = outcome.item;
        match outcome.result {
            Ok(Some(copied)) => {
                match copied {
                    Copied::Archived { .. } => archiving.archived += 1,
                    Copied::AlreadyThere => archiving.already_there += 1,
                }
                archiving.held.insert(run.uid.clone());
            }
            Ok(None) => {}
            Err(error @ Error::Store { denied: true, .. }) => {
                refusal.get_or_insert(error);
            }
            Err(Error::StdoutClosed) => return Err(Error::StdoutClosed),
            Err(error) => archiving.failures.push((run.folder.to_string(), error)),
        }
    }
    refusal.map_or(Ok(archiving), Err)
}

/// The run folders the store holds complete, from one listing per job, and the jobs
/// whose listing failed, with why; a store that refuses the credentials is the error.
async fn already_archived<'a>(
    store: &Store,
    runs: &'a [FinishedRun],
) -> Result<(HashSet<RunFolder>, HashMap<[&'a str; 3], Error>), Error> {
    // Each job's folder, and its run that sorts first: the listing starts there.
    let mut jobs: BTreeMap<[&str; 3], (&RunFolder, &str)> = BTreeMap::new();
    for run in runs {
        let entry = jobs
            .entry(run.folder.job_parts())
            .or_insert((&run.folder, &run.folder.run));
        if run.folder.run.as_str() < entry.1 {
            entry.1 = &run.folder.run;
        }
    }
    let outcomes = Bulk::default()
        .run(jobs.into_values(), |(folder, oldest)| async move {
            archived_runs(store, folder, oldest).await
        })
        .await;
    let mut present = HashSet::new();
    let mut unlisted = HashMap::new();
    for outcome in outcomes {
        let (folder, _) = outcome.item;
        match outcome.result {
            Ok(names) => present.extend(names.into_iter().map(|run| RunFolder {
                run,
                ..folder.clone()
            })),
            Err(error @ Error::Store { denied: true, .. }) => return Err(error),
            Err(error) => {
                unlisted.insert(folder.job_parts(), error);
            }
        }
    }
    Ok((present, unlisted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_that_never_ran_have_no_logs() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "b-1-x" },
            "spec": {
                "initContainers": [{ "name": "fetch" }],
                "containers": [{ "name": "work" }, { "name": "sidecar" }]
            },
            "status": {
                "initContainerStatuses": [{ "name": "fetch", "image": "i", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": { "terminated": { "exitCode": 0 } } }],
                "containerStatuses": [
                    { "name": "work", "image": "i", "imageID": "", "ready": false,
                      "restartCount": 0, "state": { "terminated": { "exitCode": 1 } } },
                    { "name": "sidecar", "image": "i", "imageID": "", "ready": false,
                      "restartCount": 0, "state": { "waiting": { "reason": "ErrImagePull" } } }
                ]
            }
        }))
        .unwrap();
        assert_eq!(
            containers_of(&pod),
            [
                ("fetch".to_owned(), true),
                ("work".to_owned(), true),
                ("sidecar".to_owned(), false)
            ]
        );
    }

    #[test]
    fn the_main_image_is_the_default_containers() {
        let job = |annotations: serde_json::Value| -> Job {
            serde_json::from_value(json!({ "spec": { "template": {
                "metadata": { "annotations": annotations },
                "spec": { "containers": [
                    { "name": "proxy", "image": "envoy:1" },
                    { "name": "work", "image": "kuul/backup:3" }
                ]}
            }}}))
            .unwrap()
        };
        assert_eq!(main_image(&job(json!({}))).as_deref(), Some("envoy:1"));
        assert_eq!(
            main_image(&job(
                json!({ "kubectl.kubernetes.io/default-container": "work" })
            ))
            .as_deref(),
            Some("kuul/backup:3")
        );
    }
}
