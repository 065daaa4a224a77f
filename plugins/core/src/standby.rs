//! Standby clusters and failover: the marks that say which cluster runs a job and which
//! one only holds it ready, so that the same job never runs on two clusters at once.
//!
//! A job on a standby cluster is suspended with kuul's suspension marks (who, why, when:
//! [`crate::maintenance`]) and [`STANDBY_FOR`], naming the active cluster. A failover
//! suspends the job on the cluster it leaves the same way, then resumes it on the one it
//! goes to, which records [`FAILED_OVER_FROM`] so that `apply` keeps the roles as the
//! failover left them. All of it is written by the suspend field manager, so that a
//! later suspend, resume or failover replaces it whole. This module decides without I/O.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::batch::v1::CronJob;
use serde_json::{Value, json};

use crate::maintenance::{SUSPEND_REASON, SUSPENDED_AT, SUSPENDED_BY};

/// Annotation on a standby cluster's job: the context of the cluster that runs it.
pub const STANDBY_FOR: &str = "kuul.io/standby-for";

/// Annotation on a job a failover made active: the context of the cluster it left.
pub const FAILED_OVER_FROM: &str = "kuul.io/failed-over-from";

/// The annotation `key` of `cronjob`.
fn annotation<'a>(cronjob: &'a CronJob, key: &str) -> Option<&'a str> {
    cronjob
        .metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The active cluster a standby job waits for, when it is one: suspended and marked.
pub fn standby_for(cronjob: &CronJob) -> Option<&str> {
    let suspended = cronjob.spec.suspend == Some(true);
    annotation(cronjob, STANDBY_FOR).filter(|_| suspended)
}

/// The cluster a job was failed over from, when a failover made it active here.
pub fn failed_over_from(cronjob: &CronJob) -> Option<&str> {
    let active = cronjob.spec.suspend != Some(true);
    annotation(cronjob, FAILED_OVER_FROM).filter(|_| active)
}

/// The apply configuration that holds a job ready on a standby cluster (or on the cluster
/// a failover leaves): suspended, with kuul's marks, `reason` and [`STANDBY_FOR`]
/// `active`.
pub fn standby_patch(
    namespace: &str,
    name: &str,
    active: &str,
    reason: &str,
    by: Option<&str>,
    at: DateTime<Utc>,
) -> Value {
    let mut annotations = serde_json::Map::new();
    if let Some(by) = by {
        annotations.insert(SUSPENDED_BY.to_owned(), by.into());
    }
    annotations.insert(SUSPEND_REASON.to_owned(), reason.into());
    annotations.insert(
        SUSPENDED_AT.to_owned(),
        at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
    );
    annotations.insert(STANDBY_FOR.to_owned(), active.into());
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"suspend": true},
    })
}

/// The apply configuration that makes a job active on the cluster a failover goes to:
/// `spec.suspend: false` and [`FAILED_OVER_FROM`] `from` (and [`SUSPEND_PENDING_ON`] when
/// `from` could not be reached); the suspension and standby marks, not sent, are dropped.
pub fn activate_patch(namespace: &str, name: &str, from: &str, pending: bool) -> Value {
    let mut annotations = serde_json::Map::new();
    annotations.insert(FAILED_OVER_FROM.to_owned(), from.into());
    if pending {
        annotations.insert(SUSPEND_PENDING_ON.to_owned(), from.into());
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"suspend": false},
    })
}

/// What `apply` does about a job's role on a standby cluster, from its live object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStandby {
    /// New here: created suspended, then marked.
    Create,
    /// Active here without a failover's say-so: suspended and marked.
    Mark,
    /// Held ready already, or suspended for maintenance: left as it is.
    Keep,
    /// Active because a failover made it so: left active, as the failover left it.
    ActiveByFailover,
}

/// [`OnStandby`] for the live `CronJob` (`None`: not on the cluster yet).
pub fn on_standby(live: Option<&CronJob>) -> OnStandby {
    match live {
        None => OnStandby::Create,
        Some(cronjob) if failed_over_from(cronjob).is_some() => OnStandby::ActiveByFailover,
        Some(cronjob) if cronjob.spec.suspend == Some(true) => OnStandby::Keep,
        Some(_) => OnStandby::Mark,
    }
}

/// Annotation on a job a failover made active while the cluster it left could not be
/// reached: that cluster's context, where the job still has to be suspended.
pub const SUSPEND_PENDING_ON: &str = "kuul.io/suspend-pending-on";

/// What a failover does to a job on the cluster it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// Suspend it there and mark it standby for the other cluster.
    Suspend,
    /// It is held there already, standby for the other cluster.
    AlreadyStandby,
    /// The cluster cannot be reached (`--from-unreachable`): recorded on the other side.
    Unreachable,
    /// The job is not there.
    Missing,
}

/// What a failover does to a job on the cluster it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrive {
    /// Resume it there (it is suspended).
    Resume,
    /// It runs there already; the failover mark is written all the same.
    AlreadyActive,
    /// The job is not there: nothing is done on either side.
    Missing,
}

/// One job's failover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverStep {
    pub namespace: String,
    pub name: String,
    pub leave: Leave,
    pub arrive: Arrive,
    /// `startingDeadlineSeconds` is missing on the arriving side: resuming would start
    /// the runs it missed at once (unless `--skip-missed`).
    pub no_deadline: bool,
}

impl FailoverStep {
    /// Whether the failover of this job writes anything.
    pub fn writes(&self) -> bool {
        self.arrive != Arrive::Missing
    }
}

/// The failover of the selected jobs: those on the arriving cluster (`to`) and on the
/// leaving one (`from`, `None` when it cannot be reached), matched by namespace and name,
/// sorted.
pub fn plan_failover(
    from: Option<&[CronJob]>,
    to: &[CronJob],
    to_context: &str,
) -> Vec<FailoverStep> {
    let key = |c: &CronJob| {
        (
            c.metadata.namespace.clone().unwrap_or_default(),
            c.metadata.name.clone().unwrap_or_default(),
        )
    };
    let mut keys: Vec<(String, String)> = to.iter().map(key).collect();
    keys.extend(from.unwrap_or_default().iter().map(key));
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(namespace, name)| {
            let find = |jobs: &[CronJob]| -> Option<CronJob> {
                jobs.iter()
                    .find(|c| key(c) == (namespace.clone(), name.clone()))
                    .cloned()
            };
            let leave = match from {
                None => Leave::Unreachable,
                Some(jobs) => match find(jobs) {
                    None => Leave::Missing,
                    Some(job) if standby_for(&job) == Some(to_context) => Leave::AlreadyStandby,
                    Some(_) => Leave::Suspend,
                },
            };
            let arriving = find(to);
            let arrive = match &arriving {
                None => Arrive::Missing,
                Some(job) if job.spec.suspend == Some(true) => Arrive::Resume,
                Some(_) => Arrive::AlreadyActive,
            };
            let no_deadline = arriving
                .as_ref()
                .is_some_and(|job| job.spec.starting_deadline_seconds.is_none());
            FailoverStep {
                namespace,
                name,
                leave,
                arrive,
                no_deadline,
            }
        })
        .collect()
}

/// The FROM cell of the failover table: what becomes of the job on the leaving cluster.
pub fn leave_word(leave: Leave, arrive: Arrive) -> &'static str {
    match (leave, arrive) {
        (_, Arrive::Missing) => "left as it is",
        (Leave::Suspend, _) => "suspended, standby",
        (Leave::AlreadyStandby, _) => "standby (unchanged)",
        (Leave::Unreachable, _) => "unreachable: suspended when next reached",
        (Leave::Missing, _) => "not there",
    }
}

/// The TO cell of the failover table: what becomes of the job on the arriving cluster.
pub fn arrive_word(arrive: Arrive) -> &'static str {
    match arrive {
        Arrive::Resume => "resumed, active",
        Arrive::AlreadyActive => "active (unchanged)",
        Arrive::Missing => "not there: apply the set with --standby first",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cronjob(suspend: bool, annotations: &[(&str, &str)]) -> CronJob {
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        serde_json::from_value(json!({
            "metadata": { "name": "backup", "annotations": annotations },
            "spec": { "schedule": "0 2 * * *", "suspend": suspend, "jobTemplate": {} }
        }))
        .unwrap()
    }

    #[test]
    fn roles_come_from_the_marks_and_the_suspension_together() {
        let standby = cronjob(true, &[(STANDBY_FOR, "eu-1")]);
        assert_eq!(standby_for(&standby), Some("eu-1"));
        // Marked but resumed by hand: not a standby any more.
        assert_eq!(standby_for(&cronjob(false, &[(STANDBY_FOR, "eu-1")])), None);
        let failed_over = cronjob(false, &[(FAILED_OVER_FROM, "eu-1")]);
        assert_eq!(failed_over_from(&failed_over), Some("eu-1"));
        assert_eq!(
            failed_over_from(&cronjob(true, &[(FAILED_OVER_FROM, "eu-1")])),
            None
        );
    }

    #[test]
    fn apply_holds_standby_jobs_ready_and_leaves_a_failovers_choice() {
        assert_eq!(on_standby(None), OnStandby::Create);
        assert_eq!(on_standby(Some(&cronjob(false, &[]))), OnStandby::Mark);
        assert_eq!(
            on_standby(Some(&cronjob(true, &[(STANDBY_FOR, "eu-1")]))),
            OnStandby::Keep
        );
        assert_eq!(
            on_standby(Some(&cronjob(false, &[(FAILED_OVER_FROM, "eu-1")]))),
            OnStandby::ActiveByFailover
        );
    }

    #[test]
    fn the_patches_carry_the_marks() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
            .unwrap()
            .to_utc();
        let patch = standby_patch("ops", "backup", "eu-1", "standby for eu-1", Some("ana"), at);
        assert_eq!(patch["spec"]["suspend"], true);
        let annotations = &patch["metadata"]["annotations"];
        assert_eq!(annotations[STANDBY_FOR], "eu-1");
        assert_eq!(annotations[SUSPEND_REASON], "standby for eu-1");
        assert_eq!(annotations[SUSPENDED_BY], "ana");
        assert_eq!(annotations[SUSPENDED_AT], "2026-12-02T08:00:00Z");
        let patch = activate_patch("ops", "backup", "eu-1", false);
        assert_eq!(patch["spec"]["suspend"], false);
        assert_eq!(patch["metadata"]["annotations"][FAILED_OVER_FROM], "eu-1");
        assert_eq!(
            patch["metadata"]["annotations"]
                .as_object()
                .map(serde_json::Map::len),
            Some(1)
        );
        let pending = activate_patch("ops", "backup", "eu-1", true);
        assert_eq!(
            pending["metadata"]["annotations"][SUSPEND_PENDING_ON],
            "eu-1"
        );
    }

    fn named(name: &str, suspend: bool, annotations: &[(&str, &str)]) -> CronJob {
        let mut job = cronjob(suspend, annotations);
        job.metadata.name = Some(name.to_owned());
        job.metadata.namespace = Some("ops".to_owned());
        job
    }

    #[test]
    fn a_failover_suspends_where_it_leaves_and_resumes_where_it_goes() {
        let from = [
            named("backup", false, &[]),
            named("report", true, &[(STANDBY_FOR, "eu-2")]),
            named("only-here", false, &[]),
        ];
        let to = [
            named("backup", true, &[(STANDBY_FOR, "eu-1")]),
            named("report", false, &[(FAILED_OVER_FROM, "eu-1")]),
        ];
        let plan = plan_failover(Some(&from), &to, "eu-2");
        let steps: Vec<(&str, Leave, Arrive)> = plan
            .iter()
            .map(|s| (s.name.as_str(), s.leave, s.arrive))
            .collect();
        assert_eq!(
            steps,
            [
                ("backup", Leave::Suspend, Arrive::Resume),
                ("only-here", Leave::Suspend, Arrive::Missing),
                ("report", Leave::AlreadyStandby, Arrive::AlreadyActive),
            ]
        );
        assert!(
            !plan[1].writes(),
            "a job missing where it goes is not touched"
        );
        assert_eq!(leave_word(plan[1].leave, plan[1].arrive), "left as it is");
        assert!(plan[0].no_deadline);
        let unreachable = plan_failover(None, &to, "eu-2");
        assert!(unreachable.iter().all(|s| s.leave == Leave::Unreachable));
    }
}
