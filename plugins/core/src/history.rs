//! The runs of a Kuul job as `history` shows them: what started each run, when, how long
//! it took, how it ended and what its container said.
//!
//! A `CronJob` keeps only its last few Jobs and says little about them; the answers an
//! operator needs (was this run scheduled or started by hand, and by whom; which exit
//! code; on which node; what message the job left) are spread over the Job's
//! annotations and conditions and its pod's container status. This module joins a
//! `CronJob`'s Jobs and their pods, as listed, into one [`RunRecord`] per run and lays them
//! out as a table. It does no I/O ([`crate::job_runs`] reads the objects); times are
//! relative to a `now` the caller passes.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};
use serde::{Deserialize, Serialize};

use crate::blocked::Blocker;
use crate::pruning::{self, Ending};
use crate::runs::{
    CONTROLLER_UID_LABEL, INSTANTIATE_ANNOTATION, StopMark, TRIGGERED_BY_ANNOTATION,
};
use crate::table::Table;
use crate::time::rfc3339;

/// Set by the `CronJob` controller on each Job it creates: the scheduled time it stands for.
pub const SCHEDULED_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// What started a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Trigger {
    /// The `CronJob` controller, for the scheduled time `at` (when the Job records it).
    Scheduled {
        #[serde(with = "rfc3339")]
        at: Option<DateTime<Utc>>,
    },
    /// A person or a tool (`run-now`, `kubectl create job --from`), `by` whom if known.
    Manual { by: Option<String> },
}

impl Trigger {
    /// Reads a Job's annotations.
    pub fn of(job: &Job) -> Self {
        let annotations = job.metadata.annotations.as_ref();
        let get = |key: &str| annotations.and_then(|a| a.get(key));
        if get(INSTANTIATE_ANNOTATION).is_some_and(|v| v == "manual") {
            return Self::Manual {
                by: get(TRIGGERED_BY_ANNOTATION).cloned(),
            };
        }
        let at = get(SCHEDULED_ANNOTATION)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        Self::Scheduled { at }
    }

    /// Whether a person started the run.
    pub fn is_manual(&self) -> bool {
        matches!(self, Self::Manual { .. })
    }

    /// `scheduled at 2026-03-01 02:00 CET`, `manual by ana`.
    pub fn describe(&self, zone: Tz) -> String {
        match self {
            Self::Scheduled { at: Some(at) } => {
                format!(
                    "scheduled at {}",
                    at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
                )
            }
            Self::Scheduled { at: None } => "scheduled".to_owned(),
            Self::Manual { by: Some(by) } => format!("manual by {by}"),
            Self::Manual { by: None } => "manual".to_owned(),
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunResult {
    /// Created; no pod runs yet (or it waits for a node).
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl RunResult {
    /// Whether the run has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl std::fmt::Display for RunResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// One run of a Kuul job; `run.json` in the archive holds it too ([`crate::archive`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The Job's name.
    pub run: String,
    pub trigger: Trigger,
    #[serde(with = "rfc3339")]
    pub created: Option<DateTime<Utc>>,
    /// When the Job controller started it.
    #[serde(with = "rfc3339")]
    pub started: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339")]
    pub finished: Option<DateTime<Utc>>,
    pub result: RunResult,
    /// The exit code of the main container of its newest pod, once it ended.
    pub exit_code: Option<i32>,
    /// Why it failed: the container's reason (`Error`, `OOMKilled`) or the Job's
    /// (`BackoffLimitExceeded`, `DeadlineExceeded`); for a run in progress, why it cannot
    /// start (`ErrImagePull`, `Unschedulable`, `FailedCreate`).
    pub reason: Option<String>,
    pub node: Option<String>,
    /// The container's termination message, if the job wrote one; for a run that cannot
    /// start, Kubernetes' message saying why.
    pub message: Option<String>,
    /// Its newest pod, whose logs `logs` shows; `None` once the pods are gone.
    pub pod: Option<String>,
    /// Why a run in progress cannot start, if something keeps it from starting.
    pub blocker: Option<Blocker>,
    /// Who stopped the run, when and why, when kuul stopped it (`stop`, `--stop-running`);
    /// its `reason` then reads `stopped by USER`. Absent from older archived runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopMark>,
}

/// What a run's record takes from its Job. `status` keeps one per Job listed, where it
/// could not keep the Jobs themselves at scale: a `Job` value is 2.6 KB before any of its
/// strings, and 20,000 of them would take over 100 MB.
#[derive(Debug, Clone)]
pub struct JobFacts {
    /// The Job's uid, which its pods carry in their controller-uid label.
    pub uid: String,
    /// The uid of the `CronJob` that controls it, if one does.
    pub controller: Option<String>,
    name: String,
    trigger: Trigger,
    created: Option<DateTime<Utc>>,
    started: Option<DateTime<Utc>>,
    finish: Option<(Ending, Option<DateTime<Utc>>)>,
    active: bool,
    failure_reason: Option<String>,
    stopped: Option<StopMark>,
}

impl JobFacts {
    pub fn of(job: &Job) -> Self {
        let status = job.status.as_ref();
        Self {
            uid: job.metadata.uid.clone().unwrap_or_default(),
            controller: job
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "CronJob")
                .map(|o| o.uid.clone()),
            name: job.metadata.name.clone().unwrap_or_default(),
            trigger: Trigger::of(job),
            created: job
                .metadata
                .creation_timestamp
                .as_ref()
                .map(crate::time::utc),
            started: status
                .and_then(|s| s.start_time.as_ref())
                .map(crate::time::utc),
            finish: pruning::finish(job),
            active: status.and_then(|s| s.active).unwrap_or(0) > 0,
            failure_reason: status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .find(|c| c.type_ == "Failed" && c.status == "True")
                .and_then(|c| c.reason.clone()),
            stopped: StopMark::of(job),
        }
    }

    /// Whether the run has not finished yet.
    pub fn in_progress(&self) -> bool {
        self.finish.is_none()
    }

    /// The run's record, given its pods (any order; the newest one describes the run).
    pub fn record(&self, pods: &[&PodFacts]) -> RunRecord {
        let newest = pods.iter().max_by_key(|p| p.created).copied();
        let result = match self.finish {
            Some((Ending::Succeeded, _)) => RunResult::Succeeded,
            Some((Ending::Failed, _)) => RunResult::Failed,
            None => match newest.and_then(|p| p.phase.as_deref()) {
                Some("Running") => RunResult::Running,
                None if self.active => RunResult::Running,
                _ => RunResult::Pending,
            },
        };
        let terminated = newest.and_then(|p| p.terminated.as_ref());
        let container_reason = terminated
            .filter(|t| t.exit_code != 0)
            .and_then(|t| t.reason.clone());
        let message = terminated
            .and_then(|t| t.message.as_deref())
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(str::to_owned);
        let blocker = newest
            .and_then(|p| p.blocker.clone())
            .filter(|_| !result.is_finished());
        // A run kuul stopped failed because it was stopped: that is its reason, not the
        // DeadlineExceeded the stop was carried out with or the SIGTERM's exit code.
        let stopped = self.stopped.clone().filter(|_| result == RunResult::Failed);
        RunRecord {
            run: self.name.clone(),
            trigger: self.trigger.clone(),
            created: self.created,
            started: self.started,
            finished: self.finish.and_then(|(_, at)| at),
            result,
            exit_code: terminated.map(|t| t.exit_code),
            reason: stopped
                .as_ref()
                .map(StopMark::describe)
                .or(container_reason)
                .or_else(|| self.failure_reason.clone())
                .or_else(|| blocker.as_ref().map(|b| b.reason.clone())),
            node: newest.and_then(|p| p.node.clone()),
            message: stopped
                .as_ref()
                .and_then(|s| s.reason.clone())
                .or(message)
                .or_else(|| blocker.as_ref().map(|b| b.message.clone())),
            pod: newest.and_then(|p| p.name.clone()),
            blocker,
            stopped,
        }
    }
}

/// What a run's record takes from one of its pods (see [`JobFacts`]).
#[derive(Debug, Clone)]
pub struct PodFacts {
    /// The uid of the Job it belongs to (its controller-uid label).
    pub job_uid: Option<String>,
    name: Option<String>,
    created: Option<DateTime<Utc>>,
    phase: Option<String>,
    node: Option<String>,
    /// How its main container ended, once it has.
    terminated: Option<ContainerStateTerminated>,
    /// What keeps it from running, if anything.
    blocker: Option<Blocker>,
}

impl PodFacts {
    pub fn of(pod: &Pod) -> Self {
        Self {
            job_uid: pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTROLLER_UID_LABEL))
                .cloned(),
            name: pod.metadata.name.clone(),
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map(crate::time::utc),
            phase: pod.status.as_ref().and_then(|s| s.phase.clone()),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            terminated: main_terminated(pod).cloned(),
            blocker: Blocker::of_pod(pod),
        }
    }
}

impl RunRecord {
    /// Joins a Job with its pods (any order; the newest one describes the run).
    pub fn of(job: &Job, pods: &[&Pod]) -> Self {
        let pods: Vec<PodFacts> = pods.iter().map(|p| PodFacts::of(p)).collect();
        JobFacts::of(job).record(&pods.iter().collect::<Vec<_>>())
    }

    /// Records that the Job cannot create its pod, as its `FailedCreate` event says, when
    /// the run is in progress and has no pod.
    pub fn cannot_create(&mut self, blocker: &Blocker) {
        if self.result.is_finished() || self.pod.is_some() {
            return;
        }
        self.reason = Some(blocker.reason.clone());
        self.message = Some(blocker.message.clone());
        self.blocker = Some(blocker.clone());
    }

    /// Whether the Job has no pod while in progress: only its events can say why.
    pub fn lacks_pod(&self) -> bool {
        !self.result.is_finished() && self.pod.is_none()
    }

    /// How long it ran: until it finished, or until `now` while it runs.
    pub fn duration(&self, now: DateTime<Utc>) -> Option<chrono::TimeDelta> {
        let started = self.started?;
        let until = if self.result.is_finished() {
            self.finished?
        } else {
            now
        };
        Some((until - started).max(chrono::TimeDelta::zero()))
    }
}

/// The Jobs among `jobs` that `cronjob` controls (scheduled and manual runs alike),
/// newest first.
pub fn runs_of<'a>(cronjob: &CronJob, jobs: &'a [Job]) -> Vec<&'a Job> {
    let Some(uid) = cronjob.metadata.uid.as_deref() else {
        return Vec::new();
    };
    let mut runs: Vec<&Job> = jobs
        .iter()
        .filter(|job| crate::runs::controlled_by(job, uid))
        .collect();
    newest_first(&mut runs);
    runs
}

/// Sorts runs newest first: by creation, then by name (scheduled run names grow with time).
pub fn newest_first(runs: &mut [&Job]) {
    runs.sort_by(|a, b| {
        let key = |j: &Job| {
            (
                j.metadata.creation_timestamp.as_ref().map(crate::time::utc),
                j.metadata.name.clone(),
            )
        };
        key(b).cmp(&key(a))
    });
}

/// The pods of `job` among `pods`, found by the controller-uid label the Job controller sets.
pub fn pods_of<'a>(job: &Job, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let Some(uid) = job.metadata.uid.as_deref() else {
        return Vec::new();
    };
    pods.iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTROLLER_UID_LABEL))
                .is_some_and(|v| v == uid)
        })
        .collect()
}

/// The time zone a `CronJob`'s schedule is read in: `spec.timeZone`, else UTC (what the
/// controller's own clock is on every managed control plane).
pub fn zone_of(cronjob: &CronJob) -> Tz {
    cronjob
        .spec
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// Where `history` found a run, when it reads an archive as well as the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// Only the cluster retains it (not archived yet).
    Cluster,
    /// Only the archive holds it: the cluster deleted it.
    Archive,
    /// The cluster retains it and the archive holds a copy.
    Both,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cluster => "cluster",
            Self::Archive => "archive",
            Self::Both => "both",
        })
    }
}

/// A run as `history` lists it with an archive: the cluster's record when the cluster
/// still has the run (it knows what became of it since), else the archive's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedRun {
    /// The kubeconfig context of its cluster, when runs of several clusters are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(flatten)]
    pub record: RunRecord,
    pub source: Source,
    /// Where the run is among the archived runs given to [`merge`], when it is there.
    #[serde(skip)]
    pub archived: Option<usize>,
}

/// The runs the cluster retains and those the archive holds, one entry per run (by its
/// Job's name), newest first.
pub fn merge(retained: Vec<RunRecord>, archived: &[RunRecord]) -> Vec<ListedRun> {
    let index: std::collections::HashMap<&str, usize> = archived
        .iter()
        .enumerate()
        .map(|(at, record)| (record.run.as_str(), at))
        .collect();
    let mut listed: Vec<ListedRun> = Vec::with_capacity(retained.len() + archived.len());
    let mut seen = std::collections::HashSet::new();
    for record in retained {
        let archived = index.get(record.run.as_str()).copied();
        seen.extend(archived);
        let source = if archived.is_some() {
            Source::Both
        } else {
            Source::Cluster
        };
        listed.push(ListedRun {
            context: None,
            record,
            source,
            archived,
        });
    }
    for (at, record) in archived.iter().enumerate() {
        if !seen.contains(&at) {
            listed.push(ListedRun {
                context: None,
                record: record.clone(),
                source: Source::Archive,
                archived: Some(at),
            });
        }
    }
    newest_runs_first(&mut listed);
    listed
}

/// Sorts listed runs newest first: by creation, then by name (scheduled run names grow
/// with time), then by context.
pub fn newest_runs_first(runs: &mut [ListedRun]) {
    runs.sort_by(|a, b| {
        (b.record.created, &b.record.run, &b.context).cmp(&(
            a.record.created,
            &a.record.run,
            &a.context,
        ))
    });
}

/// The history table: RUN, TRIGGER, STARTED, DURATION, RESULT, EXIT CODE, REASON, NODE,
/// MESSAGE, one row per run in the order given.
pub fn table(records: &[RunRecord], zone: Tz, now: DateTime<Utc>) -> Table {
    let listed: Vec<ListedRun> = records
        .iter()
        .map(|record| ListedRun {
            context: None,
            record: record.clone(),
            source: Source::Cluster,
            archived: None,
        })
        .collect();
    listed_table(&listed, false, zone, now)
}

/// The history table of listed runs: a CONTEXT column first when they come from several
/// clusters, and with `sources` (an archive was read) a SOURCE column before MESSAGE.
pub fn listed_table(runs: &[ListedRun], sources: bool, zone: Tz, now: DateTime<Utc>) -> Table {
    let contexts = runs.iter().any(|run| run.context.is_some());
    let mut headers = Vec::new();
    if contexts {
        headers.push("context");
    }
    headers.extend([
        "run",
        "trigger",
        "started",
        "duration",
        "result",
        "exit code",
        "reason",
        "node",
    ]);
    if sources {
        headers.push("source");
    }
    headers.push("message");
    let mut table = Table::new(headers);
    let dash = || "-".to_owned();
    for run in runs {
        let record = &run.record;
        let mut cells = Vec::new();
        if contexts {
            cells.push(run.context.clone().unwrap_or_else(dash));
        }
        cells.extend([
            record.run.clone(),
            record.trigger.describe(zone),
            record.started.map_or_else(dash, |at| {
                format!("{} ago", crate::time::age(Some(at), now))
            }),
            record.duration(now).map_or_else(dash, |d| {
                crate::time::elapsed(d.to_std().unwrap_or_default())
            }),
            record.result.to_string(),
            record.exit_code.map_or_else(dash, |c| c.to_string()),
            record.reason.clone().unwrap_or_else(dash),
            record.node.clone().unwrap_or_else(dash),
        ]);
        if sources {
            cells.push(run.source.to_string());
        }
        cells.push(record.message.clone().unwrap_or_default());
        table.row(cells);
    }
    table
}

/// The terminated state of a pod's main container: the one `kubectl logs` would pick
/// first, else the first that ended.
fn main_terminated(pod: &Pod) -> Option<&ContainerStateTerminated> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let main = crate::runs::log_container(pod);
    statuses
        .iter()
        .find(|c| Some(&c.name) == main.as_ref())
        .and_then(terminated)
        .or_else(|| statuses.iter().find_map(terminated))
}

fn terminated(c: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    c.state.as_ref()?.terminated.as_ref()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{Value, json};

    pub(crate) fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// A Job of `cronjob-uid`: `result` is `Complete`, `Failed` or `None` (active).
    pub(crate) fn job(
        name: &str,
        created: &str,
        result: Option<&str>,
        finished: &str,
        annotations: &Value,
    ) -> Job {
        let conditions = match result {
            Some(kind) => json!([{
                "type": kind, "status": "True", "lastTransitionTime": finished,
                "reason": if kind == "Failed" { "BackoffLimitExceeded" } else { "Completed" }
            }]),
            None => json!([]),
        };
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "uid": format!("uid-{name}"), "creationTimestamp": created,
                "annotations": annotations,
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": "backup-db",
                    "uid": "cronjob-uid", "controller": true
                }]
            },
            "status": {
                "startTime": created,
                "active": i32::from(result.is_none()),
                "conditions": conditions
            }
        }))
        .unwrap()
    }

    #[test]
    fn facts_keep_what_the_record_needs() {
        let failed = job(
            "backup-db-1",
            "2026-03-01T02:00:00Z",
            Some("Failed"),
            "2026-03-01T02:01:00Z",
            &json!({}),
        );
        let facts = JobFacts::of(&failed);
        assert_eq!(facts.uid, "uid-backup-db-1");
        assert_eq!(facts.controller.as_deref(), Some("cronjob-uid"));
        let oom = pod(
            "backup-db-1",
            "2026-03-01T02:00:05Z",
            Some((137, "OOMKilled", "")),
        );
        let pod_facts = PodFacts::of(&oom);
        assert_eq!(
            pod_facts.job_uid.as_deref(),
            oom.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(CONTROLLER_UID_LABEL))
                .map(String::as_str)
        );
        let record = facts.record(&[&pod_facts]);
        assert_eq!(record.result, RunResult::Failed);
        assert_eq!(record.exit_code, Some(137));
        assert_eq!(record.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(record.pod.as_deref(), Some("backup-db-1-x7k2p"));
        assert_eq!(
            facts.record(&[]).reason.as_deref(),
            Some("BackoffLimitExceeded")
        );
        let mut orphan = failed.clone();
        orphan.metadata.owner_references = None;
        assert_eq!(JobFacts::of(&orphan).controller, None);
    }

    pub(crate) fn pod(job: &str, created: &str, exit: Option<(i32, &str, &str)>) -> Pod {
        let state = match exit {
            Some((code, reason, message)) => json!({ "terminated": {
                "exitCode": code, "reason": reason, "message": message
            }}),
            None => json!({ "running": {} }),
        };
        let phase = match exit {
            Some((0, ..)) => "Succeeded",
            Some(_) => "Failed",
            None => "Running",
        };
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("{job}-x7k2p"), "creationTimestamp": created,
                "labels": { CONTROLLER_UID_LABEL: format!("uid-{job}") }
            },
            "spec": { "nodeName": "kuul-prod-1", "containers": [{ "name": "work" }] },
            "status": {
                "phase": phase,
                "containerStatuses": [{
                    "name": "work", "image": "i", "imageID": "", "ready": false,
                    "restartCount": 0, "state": state
                }]
            }
        }))
        .unwrap()
    }

    fn scheduled(t: &str) -> Value {
        json!({ SCHEDULED_ANNOTATION: t })
    }

    fn fixture() -> (Vec<Job>, Vec<Pod>) {
        let jobs = vec![
            job(
                "backup-db-29000000",
                "2026-03-01T01:00:02Z",
                Some("Complete"),
                "2026-03-01T01:04:10Z",
                &scheduled("2026-03-01T01:00:00Z"),
            ),
            job(
                "backup-db-29000060",
                "2026-03-02T01:00:01Z",
                Some("Failed"),
                "2026-03-02T01:00:40Z",
                &scheduled("2026-03-02T01:00:00Z"),
            ),
            job(
                "backup-db-manual-x2k9q",
                "2026-03-02T08:15:00Z",
                None,
                "",
                &json!({ INSTANTIATE_ANNOTATION: "manual", TRIGGERED_BY_ANNOTATION: "ana" }),
            ),
        ];
        let pods = vec![
            pod(
                "backup-db-29000000",
                "2026-03-01T01:00:03Z",
                Some((0, "Completed", "")),
            ),
            pod(
                "backup-db-29000060",
                "2026-03-02T01:00:02Z",
                Some((3, "Error", "pg_dump: connection refused\nretry later")),
            ),
            pod("backup-db-manual-x2k9q", "2026-03-02T08:15:01Z", None),
        ];
        (jobs, pods)
    }

    fn cronjob() -> CronJob {
        serde_json::from_value(json!({
            "metadata": { "name": "backup-db", "uid": "cronjob-uid" },
            "spec": { "schedule": "0 2 * * *", "timeZone": "Europe/Berlin", "jobTemplate": {} }
        }))
        .unwrap()
    }

    #[test]
    fn records_join_jobs_and_pods_newest_first() {
        let (jobs, pods) = fixture();
        let records: Vec<RunRecord> = runs_of(&cronjob(), &jobs)
            .into_iter()
            .map(|j| RunRecord::of(j, &pods_of(j, &pods)))
            .collect();
        let names: Vec<&str> = records.iter().map(|r| r.run.as_str()).collect();
        assert_eq!(
            names,
            [
                "backup-db-manual-x2k9q",
                "backup-db-29000060",
                "backup-db-29000000"
            ]
        );
        assert_eq!(
            records[0].trigger,
            Trigger::Manual {
                by: Some("ana".to_owned())
            }
        );
        assert_eq!(records[0].result, RunResult::Running);
        let failed = &records[1];
        assert_eq!(failed.result, RunResult::Failed);
        assert_eq!(failed.exit_code, Some(3));
        assert_eq!(failed.reason.as_deref(), Some("Error"));
        assert_eq!(
            failed.message.as_deref(),
            Some("pg_dump: connection refused")
        );
        assert_eq!(records[2].reason, None);
        assert_eq!(records[2].exit_code, Some(0));
    }

    #[test]
    fn a_job_without_pods_keeps_the_jobs_reason() {
        let failed = job(
            "j",
            "2026-03-01T01:00:00Z",
            Some("Failed"),
            "2026-03-01T02:00:00Z",
            &json!({}),
        );
        let record = RunRecord::of(&failed, &[]);
        assert_eq!(record.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(record.pod, None);
        assert_eq!(record.trigger, Trigger::Scheduled { at: None });
        assert_eq!(
            record.duration(at("2030-01-01T00:00:00Z")),
            Some(chrono::TimeDelta::hours(1))
        );
    }

    #[test]
    fn a_stopped_run_says_who_stopped_it_and_why() {
        let marks = json!({
            "kuul.io/stopped-by": "ana",
            "kuul.io/stopped-at": "2026-03-01T01:30:00Z",
            "kuul.io/stop-reason": "hammering the primary"
        });
        let stopped = job(
            "j",
            "2026-03-01T01:00:00Z",
            Some("Failed"),
            "2026-03-01T01:30:02Z",
            &marks,
        );
        let record = RunRecord::of(&stopped, &[]);
        assert_eq!(record.result, RunResult::Failed);
        assert_eq!(record.reason.as_deref(), Some("stopped by ana"));
        assert_eq!(record.message.as_deref(), Some("hammering the primary"));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["reason"], "stopped by ana");
        assert_eq!(
            json["stopped"],
            json!({"by": "ana", "at": "2026-03-01T01:30:00Z", "reason": "hammering the primary"})
        );
        // A run the stop came too late for succeeded: it is not called stopped.
        let done = job(
            "k",
            "2026-03-01T01:00:00Z",
            Some("Complete"),
            "2026-03-01T01:30:01Z",
            &marks,
        );
        let record = RunRecord::of(&done, &[]);
        assert_eq!((record.reason, record.stopped), (None, None));
        // Records without the field (older archives) still read.
        let mut old = serde_json::to_value(RunRecord::of(&done, &[])).unwrap();
        old.as_object_mut().unwrap().remove("stopped");
        assert!(serde_json::from_value::<RunRecord>(old).is_ok());
        assert!(
            !serde_json::to_string(&RunRecord::of(&done, &[]))
                .unwrap()
                .contains("stopped")
        );
    }

    #[test]
    fn jobs_of_other_cronjobs_are_not_runs() {
        let mut other = fixture().0.remove(0);
        other.metadata.owner_references.as_mut().unwrap()[0].uid = "another".to_owned();
        assert!(runs_of(&cronjob(), &[other]).is_empty());
    }

    #[test]
    fn history_table_with_a_fixed_clock() {
        let (jobs, pods) = fixture();
        let records: Vec<RunRecord> = runs_of(&cronjob(), &jobs)
            .into_iter()
            .map(|j| RunRecord::of(j, &pods_of(j, &pods)))
            .collect();
        let now = at("2026-03-02T08:20:00Z");
        insta::assert_snapshot!(table(&records, zone_of(&cronjob()), now).to_string());
    }

    #[test]
    fn retained_and_archived_runs_merge_newest_first() {
        let (jobs, pods) = fixture();
        let retained: Vec<RunRecord> = runs_of(&cronjob(), &jobs)
            .into_iter()
            .map(|j| RunRecord::of(j, &pods_of(j, &pods)))
            .collect();
        // The archive holds the oldest retained run, and two the cluster deleted.
        let mut older = retained[2].clone();
        older.run = "backup-db-28999980".to_owned();
        older.created = Some(at("2026-03-01T01:00:00Z"));
        older.trigger = Trigger::Scheduled { at: older.created };
        older.started = older.created;
        older.finished = Some(at("2026-03-01T01:00:30Z"));
        older.pod = Some("backup-db-28999980-q1".to_owned());
        let mut oldest = older.clone();
        oldest.run = "backup-db-28999920".to_owned();
        oldest.created = Some(at("2026-02-28T01:00:00Z"));
        oldest.trigger = Trigger::Scheduled { at: oldest.created };
        oldest.started = oldest.created;
        oldest.finished = Some(at("2026-02-28T01:00:30Z"));
        let archived = [oldest, retained[2].clone(), older];
        let listed = merge(retained.clone(), &archived);
        let seen: Vec<(&str, Source, Option<usize>)> = listed
            .iter()
            .map(|l| (l.record.run.as_str(), l.source, l.archived))
            .collect();
        assert_eq!(
            seen,
            [
                (retained[0].run.as_str(), Source::Cluster, None),
                (retained[1].run.as_str(), Source::Cluster, None),
                (retained[2].run.as_str(), Source::Both, Some(1)),
                ("backup-db-28999980", Source::Archive, Some(2)),
                ("backup-db-28999920", Source::Archive, Some(0)),
            ]
        );
        let now = at("2026-03-02T08:20:00Z");
        insta::assert_snapshot!(listed_table(&listed, true, zone_of(&cronjob()), now).to_string());
        // In JSON, a run is its record with where it was found.
        let json = serde_json::to_value(&listed[3]).unwrap();
        assert_eq!(json["source"], "archive");
        assert_eq!(json["run"], "backup-db-28999980");
        assert!(json.get("archived").is_none());
    }
}
