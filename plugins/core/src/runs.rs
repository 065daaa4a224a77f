//! Manual runs of a `CronJob`: the Job `run-now` creates, its name, whether it would
//! overlap a run in progress, and how a finished run is described.
//!
//! A manual run has to look exactly like the one `kubectl create job --from=cronjob/NAME`
//! makes, so that history limits, garbage collection and every tool that recognises
//! manual runs treat it the same way. All of it is pure: it takes the objects the
//! command read from the cluster and returns what to send or print, so it is tested
//! with fixtures, without a cluster.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Set on every manual run, by kubectl and by kuul; scheduled runs lack it.
pub const INSTANTIATE_ANNOTATION: &str = "cronjob.kubernetes.io/instantiate";
/// Who started a manual run, when the API server told us.
pub const TRIGGERED_BY_ANNOTATION: &str = "kuul.io/triggered-by";
/// A random id `run-now` gives each Job it creates. A create sent again after its answer
/// was lost (a 5xx, a throttled retry that had gone through) is refused with 409
/// `AlreadyExists`; the Job found under the name is this very run only if it carries the
/// same id, so one `run-now` never starts two runs and never takes another's run for its own.
pub const RUN_ID_ANNOTATION: &str = "kuul.io/run-id";
pub use crate::kuul_job::JOB_LABEL;
/// The label the Job controller puts on a Job's pods, with the Job's uid.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// Who stopped a run (`stop`, `suspend --stop-running`, `failover --stop-running`): the
/// user the API server knows.
pub const STOPPED_BY_ANNOTATION: &str = "kuul.io/stopped-by";
/// When a run was stopped, RFC 3339 in UTC.
pub const STOPPED_AT_ANNOTATION: &str = "kuul.io/stopped-at";
/// Why a run was stopped (`--reason`), when one was given.
pub const STOP_REASON_ANNOTATION: &str = "kuul.io/stop-reason";
/// The server-side apply field manager of a stopped run's deadline and stop annotations.
pub const STOP_FIELD_MANAGER: &str = "kuul-stop";

/// The longest name a Job may have: its name becomes a pod label value.
const MAX_JOB_NAME: usize = 63;
const MANUAL_INFIX: &str = "-manual-";
const SUFFIX_LEN: usize = 5;
/// The alphabet Kubernetes uses for generated names: no vowels, so no words, and no
/// characters that are easily confused.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The Job that runs `cronjob` once, now, named `name`.
///
/// Built as `kubectl create job --from=cronjob/...` builds it: the annotation
/// `cronjob.kubernetes.io/instantiate: manual` under the template's own annotations, the
/// template's labels only, a controller reference to the `CronJob` without
/// blockOwnerDeletion (which would need RBAC on `cronjobs/finalizers`), and the
/// template's spec as it is. kuul adds who triggered it, when that is known.
pub fn manual_job(cronjob: &CronJob, name: &str, triggered_by: Option<&str>) -> Job {
    let template = &cronjob.spec.job_template;
    let template_meta = template.metadata.as_ref();
    let mut annotations =
        BTreeMap::from([(INSTANTIATE_ANNOTATION.to_owned(), "manual".to_owned())]);
    if let Some(own) = template_meta.and_then(|m| m.annotations.as_ref()) {
        annotations.extend(own.clone());
    }
    if let Some(user) = triggered_by {
        annotations.insert(TRIGGERED_BY_ANNOTATION.to_owned(), user.to_owned());
    }
    let owner = OwnerReference {
        api_version: "batch/v1".to_owned(),
        kind: "CronJob".to_owned(),
        name: cronjob.metadata.name.clone().unwrap_or_default(),
        uid: cronjob.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: cronjob.metadata.namespace.clone(),
            annotations: Some(annotations),
            labels: template_meta.and_then(|m| m.labels.clone()),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// Marks `job` as the run with the id `run_id` ([`RUN_ID_ANNOTATION`]).
pub fn mark_run(job: &mut Job, run_id: &str) {
    job.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(RUN_ID_ANNOTATION.to_owned(), run_id.to_owned());
}

/// Whether `job` is the run marked with `run_id`.
pub fn is_run(job: &Job, run_id: &str) -> bool {
    job.metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(RUN_ID_ANNOTATION))
        .is_some_and(|id| id == run_id)
}

/// A new run id: fifteen random name characters.
pub fn new_run_id() -> String {
    (0..3).map(|_| random_suffix()).collect()
}

/// `CRONJOB-manual-SUFFIX`, with the `CronJob`'s name cut so the whole fits in 63
/// characters.
pub fn manual_run_name(cronjob: &str, suffix: &str) -> String {
    let room = MAX_JOB_NAME - MANUAL_INFIX.len() - suffix.len();
    let stem: String = cronjob.chars().take(room).collect();
    format!("{stem}{MANUAL_INFIX}{suffix}")
}

/// Five random characters from the alphabet Kubernetes uses for generated names.
pub fn random_suffix() -> String {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    let mut bits = hasher.finish();
    let base = SUFFIX_ALPHABET.len() as u64;
    (0..SUFFIX_LEN)
        .map(|_| {
            // The remainder is below the alphabet's length, so it indexes it.
            let index = usize::try_from(bits % base).unwrap_or_default();
            bits /= base;
            char::from(SUFFIX_ALPHABET[index])
        })
        .collect()
}

/// Checks a Job name given with `--name`: a DNS-1123 label (lowercase letters, digits
/// and `-`, starting and ending with a letter or digit) of at most 63 characters.
pub fn check_job_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() {
        return Err("--name must not be empty".to_owned());
    }
    if name.len() > MAX_JOB_NAME {
        return Err(format!(
            "--name {name:?} has {} characters; a Job name has at most {MAX_JOB_NAME}",
            name.len()
        ));
    }
    let inner_ok = name.chars().all(|c| allowed(c) || c == '-');
    let ends_ok = name.starts_with(allowed) && name.ends_with(allowed);
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err(format!(
            "--name {name:?} is not a valid Job name: use lowercase letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// How a Job ended, from its conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Succeeded,
    Failed {
        /// The condition's reason, e.g. `BackoffLimitExceeded`.
        reason: Option<String>,
        message: Option<String>,
    },
}

/// `Some` once the Job has a true `Complete` or `Failed` condition.
pub fn finished(job: &Job) -> Option<Finished> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some(Finished::Succeeded),
            "Failed" => Some(Finished::Failed {
                reason: c.reason.clone(),
                message: c.message.clone(),
            }),
            _ => None,
        })
}

/// The label selector that narrows the list of a `CronJob`'s runs, when its template
/// carries the kuul job label; without one, every Job must be listed and checked.
pub fn runs_selector(cronjob: &CronJob) -> Option<String> {
    let labels = cronjob
        .spec
        .job_template
        .metadata
        .as_ref()?
        .labels
        .as_ref()?;
    labels
        .get(JOB_LABEL)
        .map(|value| format!("{JOB_LABEL}={value}"))
}

/// The Jobs among `jobs` that `cronjob` controls and that have not finished: scheduled
/// runs and manual ones alike, since the controller's `status.active` omits manual runs.
pub fn runs_in_progress<'a>(cronjob: &CronJob, jobs: &'a [Job]) -> Vec<&'a Job> {
    let Some(uid) = cronjob.metadata.uid.as_deref() else {
        return Vec::new();
    };
    jobs.iter()
        .filter(|job| controlled_by(job, uid))
        .filter(|job| finished(job).is_none())
        .collect()
}

/// Whether the `CronJob` with `uid` controls `job` (is its controller owner).
pub fn controlled_by(job: &Job, uid: &str) -> bool {
    job.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.uid == uid && owner.controller == Some(true))
}

/// The runs a `CronJob` made before kuul took it over (`--adopt`): the Jobs among `jobs`
/// it controls that lack the kuul job label, and their Pods among `pods` that lack it too.
/// Every command finds a Kuul job's runs by that label, so until these carry it they are
/// invisible to `status`, `history`, `logs`, `stop` and `prune`.
pub fn unlabelled_runs<'a>(
    uid: &str,
    jobs: &'a [Job],
    pods: &'a [Pod],
) -> (Vec<&'a Job>, Vec<&'a Pod>) {
    let lacks_label = |meta: &ObjectMeta| {
        meta.labels
            .as_ref()
            .is_none_or(|labels| !labels.contains_key(JOB_LABEL))
    };
    let runs: Vec<&Job> = jobs
        .iter()
        .filter(|job| lacks_label(&job.metadata) && controlled_by(job, uid))
        .collect();
    let run_uids: Vec<&str> = runs
        .iter()
        .filter_map(|job| job.metadata.uid.as_deref())
        .collect();
    let run_pods = pods
        .iter()
        .filter(|pod| lacks_label(&pod.metadata))
        .filter(|pod| {
            pod.metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get(CONTROLLER_UID_LABEL))
                .is_some_and(|job_uid| run_uids.contains(&job_uid.as_str()))
        })
        .collect();
    (runs, run_pods)
}

/// The labels `cronjob`'s template gives its Jobs and its Pods, which an earlier run gets
/// when kuul adopts the `CronJob`: the merge patch of each (it only adds labels).
pub fn run_label_patches(cronjob: &CronJob) -> (Value, Value) {
    let template = &cronjob.spec.job_template;
    let job_labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
    let pod_labels = template
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|m| m.labels.clone());
    let patch = |labels: Option<BTreeMap<String, String>>| json!({ "metadata": { "labels": labels.unwrap_or_default() } });
    (patch(job_labels), patch(pod_labels))
}

/// Who stops a run, when and why: what the stop annotations record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopMark {
    /// The user the API server knows; `None` when it could not say.
    pub by: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    pub at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl StopMark {
    /// The stop recorded on `job`, if kuul stopped it.
    pub fn of(job: &Job) -> Option<Self> {
        let annotations = job.metadata.annotations.as_ref()?;
        let at = annotations.get(STOPPED_AT_ANNOTATION);
        let by = annotations.get(STOPPED_BY_ANNOTATION);
        if at.is_none() && by.is_none() {
            return None;
        }
        Some(Self {
            by: by.filter(|by| !by.is_empty()).cloned(),
            at: at
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            reason: annotations
                .get(STOP_REASON_ANNOTATION)
                .filter(|reason| !reason.is_empty())
                .cloned(),
        })
    }

    /// `stopped by ana`, or `stopped` when who is not known.
    pub fn describe(&self) -> String {
        match &self.by {
            Some(by) => format!("stopped by {by}"),
            None => "stopped".to_owned(),
        }
    }
}

/// The `activeDeadlineSeconds` that stops `job` at once: the whole seconds it has run by
/// `now` (at least 1, the least the API server takes), never more than a deadline it
/// already has. The Job controller then finds the deadline passed, marks the Job failed
/// with reason `DeadlineExceeded` and terminates its pods; the Job stays, so the run
/// stays in `history`. A client clock ahead of the API server's only delays the stop by
/// the difference (the controller wakes up when the deadline comes).
pub fn stop_deadline(job: &Job, now: DateTime<Utc>) -> i64 {
    let started = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(crate::time::utc);
    let ran = started.map_or(0, |started| (now - started).num_seconds());
    let deadline = ran.max(1);
    match job.spec.as_ref().and_then(|s| s.active_deadline_seconds) {
        Some(own) if own < deadline => own.max(1),
        _ => deadline,
    }
}

/// The apply configuration that stops `job` (see [`stop_deadline`]) and records
/// [`StopMark`]: only the fields [`STOP_FIELD_MANAGER`] owns.
pub fn stop_patch(job: &Job, mark: &StopMark, now: DateTime<Utc>) -> Value {
    let mut annotations = serde_json::Map::new();
    if let Some(by) = &mark.by {
        annotations.insert(STOPPED_BY_ANNOTATION.to_owned(), by.as_str().into());
    }
    if let Some(reason) = &mark.reason {
        annotations.insert(STOP_REASON_ANNOTATION.to_owned(), reason.as_str().into());
    }
    let at = mark.at.unwrap_or(now);
    annotations.insert(
        STOPPED_AT_ANNOTATION.to_owned(),
        at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job.metadata.name,
            "namespace": job.metadata.namespace,
            "annotations": annotations,
        },
        "spec": {"activeDeadlineSeconds": stop_deadline(job, now)},
    })
}

/// Where a run being stopped is, as its Job says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    /// Still running: the Job controller has not acted yet.
    Pending,
    /// The Job controller has decided that it failed and is terminating its pods
    /// (`FailureTarget`, set first since Kubernetes 1.31); `Failed` follows once the
    /// pods are gone, which a container that ignores SIGTERM delays by its grace period.
    Terminating,
    /// The Job controller marked it failed (`Failed`): its pods are gone.
    Stopped,
    /// It succeeded before the stop took effect.
    Succeeded,
    /// The Job was deleted meanwhile (its pods go with it).
    Gone,
}

/// Where `job`, being stopped, is.
pub fn stopping(job: &Job) -> Stopping {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.status == "True");
    let mut state = Stopping::Pending;
    for condition in conditions {
        state = match (condition.type_.as_str(), state) {
            ("Failed", _) => return Stopping::Stopped,
            ("FailureTarget", Stopping::Pending) => Stopping::Terminating,
            ("Complete" | "SuccessCriteriaMet", _) => Stopping::Succeeded,
            (_, state) => state,
        };
    }
    state
}

/// What to do about runs already in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlap {
    /// Nothing is running.
    Clear,
    /// Something runs, and the `CronJob` allows overlapping runs (or `--force`).
    Tolerated { running: Vec<String> },
    /// Something runs and the `CronJob` forbids overlapping runs.
    Refused { running: Vec<String> },
}

/// Decides whether a manual run may start while `running` (Job names) are in progress.
///
/// Only `concurrencyPolicy: Forbid` refuses: the API server defaults an unset policy to
/// `Allow`, and `Replace` replaces scheduled runs, which run-now does not do for
/// a manual one.
pub fn overlap(cronjob: &CronJob, running: &[&Job], force: bool) -> Overlap {
    let mut running: Vec<String> = running
        .iter()
        .filter_map(|job| job.metadata.name.clone())
        .collect();
    running.sort();
    if running.is_empty() {
        return Overlap::Clear;
    }
    let forbid = cronjob.spec.concurrency_policy.as_deref() == Some("Forbid");
    if forbid && !force {
        Overlap::Refused { running }
    } else {
        Overlap::Tolerated { running }
    }
}

/// What a pod is doing, as far as a person waiting for it cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProgress {
    pub pod: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`.
    pub phase: String,
    pub node: Option<String>,
    /// Why it is not running yet: a waiting container's reason or the scheduler's
    /// message.
    pub waiting: Option<String>,
}

impl PodProgress {
    /// Reads a pod's status.
    pub fn of(pod: &Pod) -> Self {
        let status = pod.status.as_ref();
        let waiting_container = status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
        let unschedulable = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            .and_then(|c| c.message.clone().or_else(|| c.reason.clone()));
        Self {
            pod: pod.metadata.name.clone().unwrap_or_default(),
            phase: status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".to_owned()),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            waiting: waiting_container.or(unschedulable),
        }
    }

    /// One line: `pod/x Running on kuul-prod-1`, `pod/x Pending: 0/4 nodes are available`.
    pub fn line(&self) -> String {
        let mut line = format!("pod/{} {}", self.pod, self.phase);
        if let Some(node) = &self.node {
            line = format!("{line} on {node}");
        }
        if let Some(waiting) = &self.waiting {
            line = format!("{line}: {waiting}");
        }
        line
    }
}

/// Whether a pod's logs can be read: one of its containers has started.
pub fn has_logs(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.state
                .as_ref()
                .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
                || c.last_state
                    .as_ref()
                    .is_some_and(|s| s.terminated.is_some())
        })
}

/// The container whose logs `--follow` streams: the one named by
/// `kubectl.kubernetes.io/default-container`, as kubectl picks it, else the first.
pub fn log_container(pod: &Pod) -> Option<String> {
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        .cloned();
    annotated.or_else(|| {
        pod.spec
            .as_ref()?
            .containers
            .first()
            .map(|c| c.name.clone())
    })
}

/// Why a run failed, in one sentence: the Job's reason and the exit code and reason of
/// the container that failed in its newest failed pod.
pub fn describe_failure(job: &str, reason: Option<&str>, pods: &[Pod]) -> String {
    let mut sentence = format!("job.batch/{job} failed");
    if let Some(reason) = reason {
        sentence = format!("{sentence} ({reason})");
    }
    let newest_failed = pods
        .iter()
        .filter(|pod| {
            pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
                || terminated_with_error(pod).is_some()
        })
        .max_by_key(|pod| pod.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let Some(pod) = newest_failed else {
        return sentence;
    };
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let Some((container, state)) = terminated_with_error(pod) else {
        let why = pod
            .status
            .as_ref()
            .and_then(|s| s.message.clone().or_else(|| s.reason.clone()));
        return match why {
            Some(why) => format!("{sentence}: pod {name}: {why}"),
            None => format!("{sentence}: pod {name} failed"),
        };
    };
    let mut detail = format!(
        "{sentence}: pod {name} container {container} exited with code {}",
        state.exit_code
    );
    if let Some(reason) = &state.reason {
        detail = format!("{detail} ({reason})");
    }
    if let Some(message) = state.message.as_deref().map(str::trim)
        && !message.is_empty()
    {
        detail = format!("{detail}: {message}");
    }
    detail
}

/// The first container of `pod` that ended with a non-zero exit code, now or in its
/// last restart.
fn terminated_with_error(pod: &Pod) -> Option<(&str, &ContainerStateTerminated)> {
    let status = pod.status.as_ref()?;
    let init = status.init_container_statuses.iter().flatten();
    let main = status.container_statuses.iter().flatten();
    init.chain(main).find_map(|c| {
        let current = c.state.as_ref().and_then(|s| s.terminated.as_ref());
        let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        current
            .filter(|t| t.exit_code != 0)
            .or(last.filter(|t| t.exit_code != 0))
            .map(|t| (c.name.as_str(), t))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cronjob(policy: Option<&str>) -> CronJob {
        let mut spec = json!({
            "schedule": "0 2 * * *",
            "jobTemplate": {
                "metadata": {
                    "labels": { "kuul.io/job": "backup-db", "team": "ops" },
                    "annotations": { "note": "from template", INSTANTIATE_ANNOTATION: "kept" }
                },
                "spec": {
                    "backoffLimit": 0,
                    "template": { "spec": {
                        "restartPolicy": "Never",
                        "containers": [{ "name": "work", "image": "kuul:v3" }]
                    }}
                }
            }
        });
        if let Some(policy) = policy {
            spec["concurrencyPolicy"] = json!(policy);
        }
        serde_json::from_value(json!({
            "metadata": {
                "name": "backup-db", "namespace": "ops", "uid": "cj-uid",
                "labels": { "app.kubernetes.io/managed-by": "kuul" },
                "annotations": { "owner-note": "not copied" }
            },
            "spec": spec
        }))
        .unwrap()
    }

    fn job(name: &str, owner_uid: &str, condition: Option<&str>) -> Job {
        let conditions: Vec<_> = condition
            .map(|c| json!({ "type": c, "status": "True" }))
            .into_iter()
            .collect();
        serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": "backup-db",
                    "uid": owner_uid, "controller": true
                }]
            },
            "status": { "conditions": conditions }
        }))
        .unwrap()
    }

    fn failed_pod(name: &str, created: &str, exit_code: i32) -> Pod {
        serde_json::from_value(json!({
            "metadata": { "name": name, "creationTimestamp": created },
            "spec": { "containers": [{ "name": "work" }], "nodeName": "kuul-prod-1" },
            "status": {
                "phase": "Failed",
                "containerStatuses": [{
                    "name": "work", "image": "kuul:v3", "imageID": "", "ready": false,
                    "restartCount": 0,
                    "state": { "terminated": { "exitCode": exit_code, "reason": "Error" } }
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn unlabelled_runs_are_the_adopted_cronjobs_own_runs_without_the_job_label() {
        let labelled = |mut job: Job, uid: &str, labels: Value| {
            job.metadata.uid = Some(uid.to_owned());
            job.metadata.labels = serde_json::from_value(labels).unwrap();
            job
        };
        let jobs = [
            labelled(
                job("old-1", "cj-uid", Some("Complete")),
                "j1",
                json!({ "app": "backup" }),
            ),
            labelled(job("old-2", "cj-uid", None), "j2", json!(null)),
            labelled(
                job("new-1", "cj-uid", None),
                "j3",
                json!({ JOB_LABEL: "backup-db" }),
            ),
            labelled(job("other", "other-uid", None), "j4", json!(null)),
        ];
        let pod = |name: &str, job_uid: &str, kuul: bool| -> Pod {
            let mut labels = json!({ CONTROLLER_UID_LABEL: job_uid });
            if kuul {
                labels[JOB_LABEL] = json!("backup-db");
            }
            serde_json::from_value(json!({ "metadata": { "name": name, "labels": labels } }))
                .unwrap()
        };
        let pods = [
            pod("old-1-a", "j1", false),
            pod("old-2-a", "j2", false),
            pod("old-2-b", "j2", true),
            pod("new-1-a", "j3", false),
            pod("other-a", "j4", false),
        ];
        let (runs, run_pods) = unlabelled_runs("cj-uid", &jobs, &pods);
        let names = |metas: Vec<&ObjectMeta>| -> Vec<String> {
            metas.into_iter().filter_map(|m| m.name.clone()).collect()
        };
        assert_eq!(
            names(runs.iter().map(|j| &j.metadata).collect()),
            ["old-1", "old-2"]
        );
        assert_eq!(
            names(run_pods.iter().map(|p| &p.metadata).collect()),
            ["old-1-a", "old-2-a"]
        );
    }

    #[test]
    fn an_earlier_run_gets_the_templates_labels_and_nothing_else() {
        let mut adopted = cronjob(None);
        let template = adopted.spec.job_template.spec.as_mut().unwrap();
        template.template.metadata = Some(ObjectMeta {
            labels: Some(BTreeMap::from([(
                JOB_LABEL.to_owned(),
                "backup-db".to_owned(),
            )])),
            ..ObjectMeta::default()
        });
        let (job, pod) = run_label_patches(&adopted);
        assert_eq!(
            job,
            json!({ "metadata": { "labels": { "kuul.io/job": "backup-db", "team": "ops" } } })
        );
        assert_eq!(
            pod,
            json!({ "metadata": { "labels": { "kuul.io/job": "backup-db" } } })
        );
    }

    #[test]
    fn manual_job_is_what_kubectl_create_job_from_makes() {
        let job = manual_job(&cronjob(Some("Forbid")), "backup-db-manual-x2k9p", None);
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(
            value,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": "backup-db-manual-x2k9p",
                    "namespace": "ops",
                    // The template's annotations win over kubectl's marker, as in kubectl.
                    "annotations": { INSTANTIATE_ANNOTATION: "kept", "note": "from template" },
                    "labels": { "kuul.io/job": "backup-db", "team": "ops" },
                    "ownerReferences": [{
                        "apiVersion": "batch/v1", "kind": "CronJob", "name": "backup-db",
                        "uid": "cj-uid", "controller": true
                    }]
                },
                "spec": {
                    "backoffLimit": 0,
                    "template": { "spec": {
                        "restartPolicy": "Never",
                        "containers": [{ "name": "work", "image": "kuul:v3" }]
                    }}
                }
            })
        );
    }

    #[test]
    fn manual_job_marks_manual_and_who_triggered_it() {
        let mut plain = cronjob(None);
        plain.spec.job_template.metadata = None;
        let job = manual_job(&plain, "x", Some("alice@example.com"));
        let annotations = job.metadata.annotations.unwrap();
        assert_eq!(annotations[INSTANTIATE_ANNOTATION], "manual");
        assert_eq!(annotations[TRIGGERED_BY_ANNOTATION], "alice@example.com");
        assert_eq!(
            job.metadata.labels, None,
            "the CronJob's own labels are not copied"
        );
    }

    #[test]
    fn run_names_fit_in_63_characters() {
        assert_eq!(
            manual_run_name("backup-db", "x2k9p"),
            "backup-db-manual-x2k9p"
        );
        let long = "a".repeat(52);
        let name = manual_run_name(&long, "x2k9p");
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}-manual-x2k9p", "a".repeat(50)));
    }

    #[test]
    fn a_run_is_recognised_by_its_id_only() {
        let mut job = manual_job(&cronjob(Some("Forbid")), "backup-db-manual-x2k9p", None);
        let before = job.metadata.annotations.clone().unwrap();
        assert!(!is_run(&job, "abc"), "an unmarked Job is nobody's run");
        let id = new_run_id();
        assert_eq!(id.len(), 15);
        mark_run(&mut job, &id);
        assert!(is_run(&job, &id));
        assert!(!is_run(&job, &new_run_id()));
        let mut after = job.metadata.annotations.unwrap();
        after.remove(RUN_ID_ANNOTATION);
        assert_eq!(after, before, "the other annotations stay");
    }

    #[test]
    fn random_suffixes_are_five_name_characters_and_differ() {
        let a = random_suffix();
        let b = random_suffix();
        assert_eq!(a.len(), 5);
        assert!(a.bytes().all(|c| SUFFIX_ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        assert!(check_job_name(&manual_run_name("backup", &a)).is_ok());
    }

    #[test]
    fn job_names_are_dns_labels() {
        for good in ["a", "backup-1", &"x".repeat(63)] {
            assert_eq!(check_job_name(good), Ok(()), "{good}");
        }
        for bad in ["", "-a", "a-", "Backup", "a_b", "a.b", &"x".repeat(64)] {
            assert!(check_job_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            check_job_name(&"x".repeat(64))
                .unwrap_err()
                .contains("64 characters")
        );
    }

    #[test]
    fn finished_reads_true_conditions_only() {
        assert_eq!(finished(&job("a", "u", None)), None);
        assert_eq!(
            finished(&job("a", "u", Some("Complete"))),
            Some(Finished::Succeeded)
        );
        assert!(matches!(
            finished(&job("a", "u", Some("Failed"))),
            Some(Finished::Failed { .. })
        ));
        assert_eq!(finished(&job("a", "u", Some("Suspended"))), None);
    }

    #[test]
    fn runs_in_progress_are_unfinished_jobs_the_cronjob_controls() {
        let jobs = [
            job("scheduled-running", "cj-uid", None),
            job("manual-done", "cj-uid", Some("Complete")),
            job("manual-failed", "cj-uid", Some("Failed")),
            job("other-cronjobs", "other-uid", None),
        ];
        let running = runs_in_progress(&cronjob(None), &jobs);
        let names: Vec<_> = running.iter().map(|j| j.metadata.name.as_deref()).collect();
        assert_eq!(names, [Some("scheduled-running")]);
    }

    #[test]
    fn only_forbid_refuses_and_force_overrides() {
        let jobs = [job("b", "cj-uid", None), job("a", "cj-uid", None)];
        let running: Vec<&Job> = jobs.iter().collect();
        let names = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            overlap(&cronjob(Some("Forbid")), &running, false),
            Overlap::Refused {
                running: names.clone()
            }
        );
        assert_eq!(
            overlap(&cronjob(Some("Forbid")), &running, true),
            Overlap::Tolerated {
                running: names.clone()
            }
        );
        for policy in [None, Some("Allow"), Some("Replace")] {
            assert_eq!(
                overlap(&cronjob(policy), &running, false),
                Overlap::Tolerated {
                    running: names.clone()
                }
            );
        }
        assert_eq!(
            overlap(&cronjob(Some("Forbid")), &[], false),
            Overlap::Clear
        );
    }

    #[test]
    fn runs_selector_uses_the_kuul_job_label_when_present() {
        assert_eq!(
            runs_selector(&cronjob(None)).as_deref(),
            Some("kuul.io/job=backup-db")
        );
        let mut plain = cronjob(None);
        plain.spec.job_template.metadata = None;
        assert_eq!(runs_selector(&plain), None);
    }

    #[test]
    fn failure_names_job_pod_container_and_exit_code() {
        let pods = [
            failed_pod("backup-db-manual-x2k9p-aaaaa", "2026-01-01T00:00:00Z", 1),
            failed_pod("backup-db-manual-x2k9p-bbbbb", "2026-01-01T00:01:00Z", 3),
        ];
        assert_eq!(
            describe_failure(
                "backup-db-manual-x2k9p",
                Some("BackoffLimitExceeded"),
                &pods
            ),
            "job.batch/backup-db-manual-x2k9p failed (BackoffLimitExceeded): pod backup-db-manual-x2k9p-bbbbb container work exited with code 3 (Error)"
        );
        assert_eq!(
            describe_failure("j", Some("DeadlineExceeded"), &[]),
            "job.batch/j failed (DeadlineExceeded)"
        );
    }

    #[test]
    fn failure_without_exit_code_uses_the_pod_reason() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "p" },
            "status": { "phase": "Failed", "reason": "Evicted", "message": "The node was low on memory." }
        }))
        .unwrap();
        assert_eq!(
            describe_failure("j", None, &[pod]),
            "job.batch/j failed: pod p: The node was low on memory."
        );
    }

    #[test]
    fn progress_lines_show_phase_node_and_why_it_waits() {
        let pending: Pod = serde_json::from_value(json!({
            "metadata": { "name": "p" },
            "status": {
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/4 nodes are available"
                }]
            }
        }))
        .unwrap();
        assert_eq!(
            PodProgress::of(&pending).line(),
            "pod/p Pending: 0/4 nodes are available"
        );
        let failed = failed_pod("q", "2026-01-01T00:00:00Z", 3);
        assert_eq!(
            PodProgress::of(&failed).line(),
            "pod/q Failed on kuul-prod-1"
        );
        assert!(has_logs(&failed));
        assert!(!has_logs(&pending));
        assert_eq!(log_container(&failed).as_deref(), Some("work"));
    }

    fn running_since(started: &str, deadline: Option<i64>) -> Job {
        serde_json::from_value(json!({
            "metadata": { "name": "backup-db-29000060", "namespace": "ops" },
            "spec": {
                "activeDeadlineSeconds": deadline,
                "template": { "spec": { "containers": [] } }
            },
            "status": { "startTime": started, "active": 1 }
        }))
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_stop_sets_the_deadline_to_the_time_run_never_later() {
        let now = at("2026-03-02T02:10:00Z");
        let job = running_since("2026-03-02T02:00:00Z", None);
        assert_eq!(stop_deadline(&job, now), 600);
        // Just started, or a client clock behind the server's: the least the API takes.
        let job = running_since("2026-03-02T02:10:00Z", None);
        assert_eq!(stop_deadline(&job, now), 1);
        let job = running_since("2026-03-02T02:10:30Z", None);
        assert_eq!(stop_deadline(&job, now), 1);
        // A deadline the Job already has is never pushed back.
        let job = running_since("2026-03-02T02:00:00Z", Some(300));
        assert_eq!(stop_deadline(&job, now), 300);
        let job = running_since("2026-03-02T02:00:00Z", Some(3600));
        assert_eq!(stop_deadline(&job, now), 600);
    }

    #[test]
    fn the_stop_patch_holds_the_deadline_and_the_marks_only() {
        let now = at("2026-03-02T02:10:00Z");
        let job = running_since("2026-03-02T02:00:00Z", None);
        let mark = StopMark {
            by: Some("ana".to_owned()),
            at: Some(now),
            reason: Some("hung".to_owned()),
        };
        assert_eq!(
            stop_patch(&job, &mark, now),
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": "backup-db-29000060",
                    "namespace": "ops",
                    "annotations": {
                        STOPPED_BY_ANNOTATION: "ana",
                        STOP_REASON_ANNOTATION: "hung",
                        STOPPED_AT_ANNOTATION: "2026-03-02T02:10:00Z"
                    }
                },
                "spec": { "activeDeadlineSeconds": 600 }
            })
        );
        let mut stopped = job.clone();
        let patch = stop_patch(&job, &mark, now);
        stopped.metadata.annotations =
            serde_json::from_value(patch["metadata"]["annotations"].clone()).unwrap();
        assert_eq!(StopMark::of(&stopped), Some(mark));
        assert_eq!(StopMark::of(&job), None);
        let anonymous = StopMark {
            by: None,
            at: Some(now),
            reason: None,
        };
        let patch = stop_patch(&job, &anonymous, now);
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({ STOPPED_AT_ANNOTATION: "2026-03-02T02:10:00Z" })
        );
        assert_eq!(anonymous.describe(), "stopped");
    }

    #[test]
    fn a_stop_is_seen_once_the_job_controller_fails_the_job() {
        assert_eq!(stopping(&job("a", "cj-uid", None)), Stopping::Pending);
        assert_eq!(
            stopping(&job("a", "cj-uid", Some("FailureTarget"))),
            Stopping::Terminating
        );
        assert_eq!(
            stopping(&job("a", "cj-uid", Some("Failed"))),
            Stopping::Stopped
        );
        assert_eq!(
            stopping(&job("a", "cj-uid", Some("Complete"))),
            Stopping::Succeeded
        );
        assert_eq!(
            stopping(&job("a", "cj-uid", Some("Suspended"))),
            Stopping::Pending
        );
    }
}
