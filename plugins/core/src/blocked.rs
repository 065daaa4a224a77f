//! Why a run cannot start.
//!
//! The commonest way a periodic job breaks is that its run never starts: its image cannot
//! be pulled, a Secret it reads is missing, no node of its pool has room for it, or a
//! quota or an admission policy forbids its pod. None of these fails the Job: its pod
//! sits Pending, or the Job controller cannot create one at all, and the Job stays active
//! forever, so under `concurrencyPolicy: Forbid` every later scheduled run is skipped.
//! This module reads, from a pod's status or from the Job's `FailedCreate` events, the
//! [`Blocker`] that keeps a run from starting, in words an operator can act on. It does
//! no I/O.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use crate::time::rfc3339;

/// How long a run may be in progress without its pod running before it counts as
/// blocked: long enough for a pull or a scheduling retry to succeed, short enough that a
/// monitoring check notices within a minute.
pub const BLOCKED_GRACE: TimeDelta = TimeDelta::seconds(30);

/// The reason of the Job controller's event when it cannot create a pod.
pub const FAILED_CREATE: &str = "FailedCreate";

/// The field selector of the events that say a Job cannot create its pods.
pub fn failed_create_selector() -> String {
    format!("involvedObject.kind=Job,reason={FAILED_CREATE}")
}

/// Container waiting reasons that mean its image cannot be pulled.
const IMAGE_REASONS: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "ErrImageInspect",
    "SignatureValidationFailed",
];

/// Container waiting reasons that mean the container cannot be created or started as
/// configured (a missing Secret or `ConfigMap`, a bad command, a failing hook).
const CONFIG_REASONS: [&str; 5] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreCreateHookError",
    "PreStartHookError",
];

/// What kind of thing keeps a run from starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BlockerKind {
    /// The scheduler finds no node for the pod (resources, selector, taints).
    Unschedulable,
    /// The image cannot be pulled.
    ImagePull,
    /// The container cannot be created or started as configured.
    Configuration,
    /// The Job controller cannot create the pod (quota, admission, `PodSecurity`).
    PodNotCreated,
}

/// Why a run cannot start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    pub kind: BlockerKind,
    /// Kubernetes' own word for it: `ErrImagePull`, `CreateContainerConfigError`,
    /// `Unschedulable`, `FailedCreate`.
    pub reason: String,
    /// Kubernetes' own message, as it gave it.
    pub message: String,
    /// The container that waits, for image and configuration problems.
    pub container: Option<String>,
    /// The image that cannot be pulled.
    pub image: Option<String>,
    /// When Kubernetes last said so, where it says.
    #[serde(with = "rfc3339")]
    pub seen: Option<DateTime<Utc>>,
}

impl Blocker {
    /// What keeps a pod from running, if anything does: a waiting container's reason, or
    /// the scheduler's refusal. `None` for a pod that runs, has ended, or is merely on
    /// its way (`ContainerCreating`, a pull in progress).
    pub fn of_pod(pod: &Pod) -> Option<Self> {
        let status = pod.status.as_ref()?;
        if !matches!(status.phase.as_deref(), None | Some("Pending")) {
            return None;
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        if let Some(blocker) = containers.into_iter().find_map(waiting) {
            return Some(blocker);
        }
        let refused = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
            .filter(|c| c.reason.as_deref() == Some("Unschedulable"))?;
        Some(Self {
            kind: BlockerKind::Unschedulable,
            reason: "Unschedulable".to_owned(),
            message: refused.message.clone().unwrap_or_default(),
            container: None,
            image: None,
            seen: refused.last_transition_time.as_ref().map(crate::time::utc),
        })
    }

    /// What a Job's newest `FailedCreate` event says, among `events` (any Job's).
    pub fn of_event(event: &Event) -> Option<Self> {
        if event.reason.as_deref() != Some(FAILED_CREATE) {
            return None;
        }
        let message = event.message.clone().unwrap_or_default();
        // The Job controller prefixes what the API server answered.
        let message = message
            .strip_prefix("Error creating: ")
            .map_or(message.clone(), str::to_owned);
        Some(Self {
            kind: BlockerKind::PodNotCreated,
            reason: FAILED_CREATE.to_owned(),
            message,
            container: None,
            image: None,
            seen: event_time(event),
        })
    }

    /// The cause in words: `image X cannot be pulled (ErrImagePull: not found)`.
    pub fn cause(&self) -> String {
        let detail = if self.message.is_empty() {
            self.reason.clone()
        } else {
            format!("{}: {}", self.reason, self.message)
        };
        match self.kind {
            BlockerKind::Unschedulable if self.message.is_empty() => {
                "its pod cannot be scheduled".to_owned()
            }
            BlockerKind::Unschedulable => {
                format!("its pod cannot be scheduled: {}", self.message)
            }
            BlockerKind::ImagePull => {
                // Pull errors nest their causes ("failed to pull ...: failed to resolve
                // ...: not found"); the last one says what is wrong.
                let cause = self
                    .message
                    .rsplit(": ")
                    .next()
                    .filter(|c| !c.is_empty())
                    .map_or(self.reason.clone(), |c| format!("{}: {c}", self.reason));
                match &self.image {
                    Some(image) => format!("image {image} cannot be pulled ({cause})"),
                    None => format!("its image cannot be pulled ({cause})"),
                }
            }
            BlockerKind::Configuration => match &self.container {
                Some(container) => {
                    format!("container {container} cannot be created ({detail})")
                }
                None => format!("its container cannot be created ({detail})"),
            },
            BlockerKind::PodNotCreated => {
                format!("the Job cannot create its pod ({detail})")
            }
        }
    }
}

fn waiting(container: &ContainerStatus) -> Option<Blocker> {
    let waiting = container.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    let kind = if IMAGE_REASONS.contains(&reason) {
        BlockerKind::ImagePull
    } else if CONFIG_REASONS.contains(&reason) {
        BlockerKind::Configuration
    } else {
        return None;
    };
    Some(Blocker {
        kind,
        reason: reason.to_owned(),
        message: waiting.message.clone().unwrap_or_default(),
        container: Some(container.name.clone()),
        image: (kind == BlockerKind::ImagePull && !container.image.is_empty())
            .then(|| container.image.clone()),
        seen: None,
    })
}

fn event_time(event: &Event) -> Option<DateTime<Utc>> {
    event
        .last_timestamp
        .as_ref()
        .map(crate::time::utc)
        .or_else(|| {
            event
                .event_time
                .as_ref()
                .map(|t| crate::time::utc(&Time(t.0)))
        })
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(crate::time::utc)
        })
}

/// Keeps in `known` the newer of it and `candidate` (by when Kubernetes said so; the
/// later one wins a tie, as events arrive in order).
pub fn keep_newest(known: &mut Option<Blocker>, candidate: Blocker) {
    if known.as_ref().is_none_or(|k| k.seen <= candidate.seen) {
        *known = Some(candidate);
    }
}

/// The newest `FailedCreate` blocker of each Job among `events`, by the Job's uid.
pub fn failed_creates(events: &[Event]) -> HashMap<String, Blocker> {
    let mut newest: HashMap<String, Option<Blocker>> = HashMap::new();
    for event in events {
        let (Some(uid), Some(blocker)) =
            (event.involved_object.uid.clone(), Blocker::of_event(event))
        else {
            continue;
        };
        keep_newest(newest.entry(uid).or_default(), blocker);
    }
    newest
        .into_iter()
        .filter_map(|(uid, blocker)| Some((uid, blocker?)))
        .collect()
}

/// A run that cannot start, as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockedRun {
    /// The Job's name.
    pub run: String,
    #[serde(flatten)]
    pub blocker: Blocker,
    /// Since when the run has been waiting (the Job's creation).
    #[serde(with = "rfc3339")]
    pub since: Option<DateTime<Utc>>,
    /// Whether it keeps every later scheduled run from starting: a scheduled run under
    /// `concurrencyPolicy: Forbid` (the controller does not count manual runs).
    pub blocks_schedule: bool,
}

impl BlockedRun {
    /// `run backup-db-29061120 cannot start for 6m: image ... cannot be pulled (...)`.
    pub fn sentence(&self, now: DateTime<Utc>) -> String {
        let mut text = format!(
            "run {} cannot start for {}: {}",
            self.run,
            crate::time::age(self.since, now),
            self.blocker.cause()
        );
        if self.blocks_schedule {
            text.push_str("; no scheduled run can start until it ends");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: &serde_json::Value) -> Pod {
        serde_json::from_value(json!({ "metadata": { "name": "p" }, "status": status })).unwrap()
    }

    fn waiting_pod(reason: &str, message: &str) -> Pod {
        pod(&json!({
            "phase": "Pending",
            "containerStatuses": [{
                "name": "work", "image": "127.0.0.1:5723/ops/kuul:v9", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": { "waiting": { "reason": reason, "message": message } }
            }]
        }))
    }

    #[test]
    fn image_pull_errors_name_the_image_and_the_last_cause() {
        let message = "failed to pull and unpack image \"127.0.0.1:5723/ops/kuul:v9\": failed to resolve image: 127.0.0.1:5723/ops/kuul:v9: not found";
        for reason in ["ErrImagePull", "ImagePullBackOff"] {
            let blocker = Blocker::of_pod(&waiting_pod(reason, message)).unwrap();
            assert_eq!(blocker.kind, BlockerKind::ImagePull);
            assert_eq!(
                blocker.cause(),
                format!("image 127.0.0.1:5723/ops/kuul:v9 cannot be pulled ({reason}: not found)")
            );
        }
        let bare = Blocker::of_pod(&waiting_pod("InvalidImageName", "")).unwrap();
        assert_eq!(
            bare.cause(),
            "image 127.0.0.1:5723/ops/kuul:v9 cannot be pulled (InvalidImageName)"
        );
    }

    #[test]
    fn a_missing_secret_is_a_configuration_problem() {
        let blocker = Blocker::of_pod(&waiting_pod(
            "CreateContainerConfigError",
            "secret \"db-password\" not found",
        ))
        .unwrap();
        assert_eq!(blocker.kind, BlockerKind::Configuration);
        assert_eq!(
            blocker.cause(),
            "container work cannot be created (CreateContainerConfigError: secret \"db-password\" not found)"
        );
    }

    #[test]
    fn a_pod_on_its_way_or_running_is_not_blocked() {
        assert_eq!(Blocker::of_pod(&waiting_pod("ContainerCreating", "")), None);
        assert_eq!(Blocker::of_pod(&pod(&json!({ "phase": "Pending" }))), None);
        let mut running = waiting_pod("ErrImagePull", "x");
        running.status.as_mut().unwrap().phase = Some("Running".to_owned());
        assert_eq!(Blocker::of_pod(&running), None);
    }

    #[test]
    fn the_schedulers_refusal_is_quoted() {
        let pending = pod(&json!({
            "phase": "Pending",
            "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "lastTransitionTime": "2026-03-02T06:50:00Z",
                "message": "0/4 nodes are available: 2 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
            }]
        }));
        let blocker = Blocker::of_pod(&pending).unwrap();
        assert_eq!(blocker.kind, BlockerKind::Unschedulable);
        assert_eq!(
            blocker.cause(),
            "its pod cannot be scheduled: 0/4 nodes are available: 2 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
        );
        assert!(blocker.seen.is_some());
    }

    fn event(uid: &str, at: &str, message: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": { "name": format!("e-{at}"), "namespace": "ops" },
            "involvedObject": { "kind": "Job", "name": "backup-db-1", "uid": uid },
            "reason": "FailedCreate", "type": "Warning",
            "lastTimestamp": at, "message": message
        }))
        .unwrap()
    }

    #[test]
    fn failed_creates_keep_each_jobs_newest_event() {
        let events = [
            event("a", "2026-03-02T06:50:00Z", "Error creating: old"),
            event(
                "a",
                "2026-03-02T06:55:00Z",
                "Error creating: pods \"backup-db-1-x\" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0",
            ),
            event("b", "2026-03-02T06:51:00Z", "Error creating: other"),
        ];
        let by_uid = failed_creates(&events);
        assert_eq!(by_uid.len(), 2);
        let a = &by_uid["a"];
        assert_eq!(a.kind, BlockerKind::PodNotCreated);
        assert_eq!(
            a.cause(),
            "the Job cannot create its pod (FailedCreate: pods \"backup-db-1-x\" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0)"
        );
        assert_eq!(by_uid["b"].message, "other");
    }

    #[test]
    fn a_blocked_scheduled_run_under_forbid_says_it_blocks_the_schedule() {
        let blocker = Blocker::of_pod(&waiting_pod(
            "ErrImagePull",
            "failed to resolve image: x: not found",
        ))
        .unwrap();
        let run = BlockedRun {
            run: "backup-db-29061120".to_owned(),
            blocker,
            since: Some(crate::history::tests::at("2026-03-02T06:54:00Z")),
            blocks_schedule: true,
        };
        let now = crate::history::tests::at("2026-03-02T07:00:00Z");
        assert_eq!(
            run.sentence(now),
            "run backup-db-29061120 cannot start for 6m: image 127.0.0.1:5723/ops/kuul:v9 cannot be pulled (ErrImagePull: not found); no scheduled run can start until it ends"
        );
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(json["kind"], "imagePull");
        assert_eq!(json["reason"], "ErrImagePull");
        assert_eq!(json["blocksSchedule"], true);
        assert_eq!(json["since"], "2026-03-02T06:54:00Z");
    }
}
