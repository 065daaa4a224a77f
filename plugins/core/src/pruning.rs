//! Which finished runs `kubectl kuul prune` deletes, and why it keeps the others.
//!
//! Pruning is destructive, so the decision is made here, from plain values and a fixed
//! `now`, where it can be tested with fixtures; the command only lists, shows the plan
//! and deletes. A run is a Job labelled `kuul.io/job` (kuul's job template stamps the
//! label on every scheduled run and `run-now` copies it onto manual ones), so one
//! label-selected list finds every run without reading the `CronJob`s. A run that has not
//! finished is never planned; a manual run (`cronjob.kubernetes.io/instantiate: manual`)
//! only with `--include-manual`. `--keep N` keeps the newest N of each job's runs that
//! the other filters leave, and `--older-than` then spares runs that finished recently.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::cli::sum_of_units;
use crate::kuul_job::JOB_LABEL;
use crate::runs::{CONTROLLER_UID_LABEL, INSTANTIATE_ANNOTATION};
use crate::table::Table;
use crate::time::{age, utc};

/// How a finished run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ending {
    Succeeded,
    Failed,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ending::Succeeded => "Succeeded",
            Ending::Failed => "Failed",
        })
    }
}

/// One run of a Kuul job: a Job, reduced to what the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub namespace: String,
    /// The Kuul job it belongs to (its `kuul.io/job` label).
    pub job: String,
    /// The Job's name.
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    /// `None` while the run is active (or has not started).
    pub outcome: Option<Ending>,
    /// When it finished; `None` while active.
    pub finished: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    /// Started by hand (`run-now`, `kubectl create job --from`).
    pub manual: bool,
    /// How many of its Pods exist.
    pub pods: usize,
}

impl Run {
    /// The run a Job is, or `None` for a Job without the `kuul.io/job` label.
    pub fn of(job: &Job, pods: usize) -> Option<Self> {
        let meta = &job.metadata;
        let kuul_job = meta.labels.as_ref()?.get(JOB_LABEL)?.clone();
        let (outcome, finished) = match finish(job) {
            Some((outcome, at)) => (
                Some(outcome),
                at.or(meta.creation_timestamp.as_ref().map(utc)),
            ),
            None => (None, None),
        };
        Some(Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            job: kuul_job,
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            outcome,
            finished,
            created: meta.creation_timestamp.as_ref().map(utc),
            manual: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(INSTANTIATE_ANNOTATION))
                .is_some_and(|v| v == "manual"),
            pods,
        })
    }
}

/// How a Job ended and when: its true `Complete` or `Failed` condition, timed by the
/// condition's transition, else `status.completionTime`.
pub fn finish(job: &Job) -> Option<(Ending, Option<DateTime<Utc>>)> {
    let status = job.status.as_ref()?;
    status
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.status == "True")
        .find_map(|c| {
            let outcome = match c.type_.as_str() {
                "Complete" => Ending::Succeeded,
                "Failed" => Ending::Failed,
                _ => return None,
            };
            let at = c
                .last_transition_time
                .as_ref()
                .or(status.completion_time.as_ref())
                .map(utc);
            Some((outcome, at))
        })
}

/// The rules of one prune, as the flags gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Keep the newest N runs of each job.
    pub keep: Option<usize>,
    /// Only delete runs that finished longer ago than this.
    pub older_than: Option<TimeDelta>,
    /// Only delete runs that ended this way.
    pub outcome: Option<Ending>,
    /// Manual runs are deleted too.
    pub include_manual: bool,
}

/// Why a run stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kept {
    /// It has not finished.
    Active,
    /// A manual run, and `--include-manual` was not given.
    Manual,
    /// It ended the other way than `--failed`/`--succeeded` asked for.
    OtherOutcome,
    /// Among its job's newest N.
    Newest,
    /// It finished within `--older-than`.
    Recent,
}

impl Kept {
    /// How the summary names the reason.
    pub fn reason(self) -> &'static str {
        match self {
            Kept::Active => "not finished",
            Kept::Manual => "manual (--include-manual deletes them)",
            Kept::OtherOutcome => "other result",
            Kept::Newest => "newest per job (--keep)",
            Kept::Recent => "finished recently (--older-than)",
        }
    }
}

/// A finished Pod whose Job no longer exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanPod {
    pub namespace: String,
    pub job: String,
    pub name: String,
    pub uid: String,
    pub outcome: Ending,
    pub finished: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
}

/// What a prune deletes and what it keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    /// Runs to delete, by namespace, job and finishing time.
    pub delete: Vec<Run>,
    /// Orphaned pods to delete (with `--orphans`).
    pub orphans: Vec<OrphanPod>,
    /// How many runs stay, per reason.
    pub kept: BTreeMap<Kept, usize>,
}

impl PrunePlan {
    /// Decides, for every run, whether `policy` deletes it at `now`.
    pub fn new(runs: Vec<Run>, policy: &Policy, now: DateTime<Utc>) -> Self {
        let mut kept = BTreeMap::new();
        let mut by_job: BTreeMap<(String, String), Vec<Run>> = BTreeMap::new();
        for run in runs {
            let reason = match run.outcome {
                None => Some(Kept::Active),
                Some(_) if run.manual && !policy.include_manual => Some(Kept::Manual),
                Some(outcome) if policy.outcome.is_some_and(|wanted| wanted != outcome) => {
                    Some(Kept::OtherOutcome)
                }
                Some(_) => None,
            };
            match reason {
                Some(reason) => *kept.entry(reason).or_insert(0) += 1,
                None => by_job
                    .entry((run.namespace.clone(), run.job.clone()))
                    .or_default()
                    .push(run),
            }
        }
        let mut delete = Vec::new();
        for mut runs in by_job.into_values() {
            // Newest first; equal times by name, the greater first (scheduled run names
            // grow with time), as `history` orders them, so the plan is the same every
            // time and keeps the runs `history` lists first.
            runs.sort_by(|a, b| (&b.finished, &b.name).cmp(&(&a.finished, &a.name)));
            for (index, run) in runs.into_iter().enumerate() {
                let reason = if policy.keep.is_some_and(|keep| index < keep) {
                    Some(Kept::Newest)
                } else if policy
                    .older_than
                    .is_some_and(|age| !finished_before(run.finished, now - age))
                {
                    Some(Kept::Recent)
                } else {
                    None
                };
                match reason {
                    Some(reason) => *kept.entry(reason).or_insert(0) += 1,
                    None => delete.push(run),
                }
            }
        }
        delete.sort_by(|a, b| {
            (&a.namespace, &a.job, a.finished, &a.name).cmp(&(
                &b.namespace,
                &b.job,
                b.finished,
                &b.name,
            ))
        });
        Self {
            delete,
            orphans: Vec::new(),
            kept,
        }
    }

    /// Adds the finished Pods among `pods` whose Job is none of `job_uids` and that
    /// `policy`'s result and age filters allow (`--keep` counts runs, not pods).
    pub fn add_orphans(
        &mut self,
        pods: &[Pod],
        job_uids: &HashSet<String>,
        policy: &Policy,
        now: DateTime<Utc>,
    ) {
        let mut orphans: Vec<OrphanPod> = pods
            .iter()
            .filter_map(|pod| orphan(pod, job_uids))
            .filter(|pod| policy.outcome.is_none_or(|wanted| wanted == pod.outcome))
            .filter(|pod| {
                policy
                    .older_than
                    .is_none_or(|age| finished_before(pod.finished, now - age))
            })
            .collect();
        orphans
            .sort_by(|a, b| (&a.namespace, &a.job, &a.name).cmp(&(&b.namespace, &b.job, &b.name)));
        self.orphans = orphans;
    }

    /// How many runs stay, over all reasons.
    pub fn kept_total(&self) -> usize {
        self.kept.values().sum()
    }

    /// How many distinct jobs the deleted runs belong to.
    pub fn jobs(&self) -> usize {
        self.delete
            .iter()
            .map(|run| (&run.namespace, &run.job))
            .collect::<HashSet<_>>()
            .len()
    }

    /// The plan as a table: JOB, RUN, RESULT, FINISHED, AGE, PODS, with NAMESPACE in
    /// front when `namespaces`. Orphaned pods show as `pod/NAME`.
    pub fn table(&self, now: DateTime<Utc>, namespaces: bool) -> Table {
        let mut header = vec!["JOB", "RUN", "RESULT", "FINISHED", "AGE", "PODS"];
        if namespaces {
            header.insert(0, "NAMESPACE");
        }
        let mut table = Table::new(header);
        let runs = self.delete.iter().map(|run| {
            (
                &run.namespace,
                vec![
                    run.job.clone(),
                    run.name.clone(),
                    run.outcome.map_or_else(String::new, |o| o.to_string()),
                    timestamp(run.finished),
                    age(run.created, now),
                    run.pods.to_string(),
                ],
            )
        });
        let orphans = self.orphans.iter().map(|pod| {
            (
                &pod.namespace,
                vec![
                    pod.job.clone(),
                    format!("pod/{}", pod.name),
                    pod.outcome.to_string(),
                    timestamp(pod.finished),
                    age(pod.created, now),
                    "-".to_owned(),
                ],
            )
        });
        for (namespace, mut row) in runs.chain(orphans) {
            if namespaces {
                row.insert(0, namespace.clone());
            }
            table.row(row);
        }
        table
    }
}

/// Whether a run that finished at `finished` did so before `cutoff`; a run without a
/// time counts as old, since it cannot be shown to be recent.
fn finished_before(finished: Option<DateTime<Utc>>, cutoff: DateTime<Utc>) -> bool {
    finished.is_none_or(|at| at < cutoff)
}

/// The orphan a Pod is: finished, labelled `kuul.io/job`, made by a Job not in `job_uids`.
fn orphan(pod: &Pod, job_uids: &HashSet<String>) -> Option<OrphanPod> {
    let meta = &pod.metadata;
    let job = meta.labels.as_ref()?.get(JOB_LABEL)?.clone();
    let status = pod.status.as_ref()?;
    let outcome = match status.phase.as_deref()? {
        "Succeeded" => Ending::Succeeded,
        "Failed" => Ending::Failed,
        _ => return None,
    };
    // A Job deleted with `--cascade=orphan` leaves its pods without owner references,
    // but the controller's uid label stays.
    let owner = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Job" && o.controller == Some(true))
        .map(|o| o.uid.clone())
        .or_else(|| meta.labels.as_ref()?.get(CONTROLLER_UID_LABEL).cloned())?;
    if job_uids.contains(&owner) {
        return None;
    }
    let finished = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(utc)
        .max()
        .or(meta.creation_timestamp.as_ref().map(utc));
    Some(OrphanPod {
        namespace: meta.namespace.clone().unwrap_or_default(),
        job,
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        outcome,
        finished,
        created: meta.creation_timestamp.as_ref().map(utc),
    })
}

/// `2025-03-28T12:00:00Z`, or `<unknown>`.
fn timestamp(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "<unknown>".to_owned(), crate::time::stamp)
}

/// Parses an `--older-than` value: numbers with units `d`, `h`, `m`, `s`, written
/// together, as in `7d`, `12h`, `1d12h`, `1.5h`, `30m`.
pub fn parse_older_than(text: &str) -> Result<TimeDelta, String> {
    let invalid = || {
        format!(
            "invalid duration {text:?}: use numbers with units d, h, m or s, e.g. 7d, 12h, 1d12h, 1.5h, 30m"
        )
    };
    let total = sum_of_units(
        text,
        &[
            ("d", Duration::from_secs(86_400)),
            ("h", Duration::from_secs(3600)),
            ("m", Duration::from_secs(60)),
            ("s", Duration::from_secs(1)),
        ],
    )
    .ok_or_else(invalid)?;
    if total.is_zero() {
        return Err(format!(
            "{text:?} is zero: give a duration above zero, e.g. 7d"
        ));
    }
    TimeDelta::from_std(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 28, 12, 0, 0).unwrap()
    }

    fn hours_ago(hours: i64) -> String {
        (now() - TimeDelta::hours(hours)).to_rfc3339()
    }

    /// A Job of `kuul_job` that finished `hours` ago with `condition`, or is active.
    fn job(name: &str, kuul_job: &str, condition: Option<(&str, i64)>, manual: bool) -> Job {
        let mut annotations = json!({});
        if manual {
            annotations = json!({ INSTANTIATE_ANNOTATION: "manual" });
        }
        let status = match condition {
            Some((type_, hours)) => json!({
                "conditions": [{ "type": type_, "status": "True", "lastTransitionTime": hours_ago(hours) }]
            }),
            None => json!({ "active": 1 }),
        };
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "ops", "uid": format!("uid-{name}"),
                "resourceVersion": "7", "creationTimestamp": hours_ago(100),
                "labels": { JOB_LABEL: kuul_job }, "annotations": annotations
            },
            "status": status
        }))
        .unwrap()
    }

    fn deleted(plan: &PrunePlan) -> Vec<&str> {
        plan.delete.iter().map(|run| run.name.as_str()).collect()
    }

    /// backup: five successes (1h..5h ago), one failure (6h), one active, one manual (2h);
    /// report: two successes (10h, 20h).
    fn fixture() -> Vec<Run> {
        let runs = [
            ("backup-1", "backup", Some(("Complete", 1)), false),
            ("backup-2", "backup", Some(("Complete", 2)), false),
            ("backup-3", "backup", Some(("Complete", 3)), false),
            ("backup-4", "backup", Some(("Complete", 4)), false),
            ("backup-5", "backup", Some(("Complete", 5)), false),
            ("backup-6", "backup", Some(("Failed", 6)), false),
            ("backup-active", "backup", None, false),
            ("backup-manual", "backup", Some(("Complete", 2)), true),
            ("report-1", "report", Some(("Complete", 10)), false),
            ("report-2", "report", Some(("Complete", 20)), false),
        ];
        runs.iter()
            .filter_map(|&(name, kuul_job, condition, manual)| {
                Run::of(&job(name, kuul_job, condition, manual), 1)
            })
            .collect()
    }

    #[test]
    fn without_policies_every_finished_scheduled_run_goes() {
        let plan = PrunePlan::new(fixture(), &Policy::default(), now());
        assert_eq!(
            deleted(&plan),
            [
                "backup-6", "backup-5", "backup-4", "backup-3", "backup-2", "backup-1", "report-2",
                "report-1"
            ]
        );
        assert_eq!(
            plan.kept,
            BTreeMap::from([(Kept::Active, 1), (Kept::Manual, 1)])
        );
        assert_eq!(plan.jobs(), 2);
    }

    #[test]
    fn keep_spares_the_newest_per_job() {
        let policy = Policy {
            keep: Some(2),
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture(), &policy, now());
        assert_eq!(
            deleted(&plan),
            ["backup-6", "backup-5", "backup-4", "backup-3"]
        );
        assert_eq!(plan.kept[&Kept::Newest], 4);
        assert_eq!(plan.kept_total(), 6);
    }

    #[test]
    fn runs_that_ended_together_are_kept_by_the_greater_name_as_history_lists_them() {
        let runs: Vec<Run> = ["tie-001", "tie-003", "tie-002"]
            .iter()
            .filter_map(|name| Run::of(&job(name, "tie", Some(("Complete", 1)), false), 1))
            .collect();
        let policy = Policy {
            keep: Some(1),
            ..Policy::default()
        };
        assert_eq!(
            deleted(&PrunePlan::new(runs, &policy, now())),
            ["tie-001", "tie-002"]
        );
    }

    #[test]
    fn older_than_spares_recent_runs_at_a_fixed_clock() {
        let policy = Policy {
            older_than: Some(parse_older_than("4h").unwrap()),
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture(), &policy, now());
        // Finished exactly 4h ago is not older than 4h.
        assert_eq!(
            deleted(&plan),
            ["backup-6", "backup-5", "report-2", "report-1"]
        );
        assert_eq!(plan.kept[&Kept::Recent], 4);
    }

    #[test]
    fn keep_and_older_than_combine() {
        let policy = Policy {
            keep: Some(1),
            older_than: Some(TimeDelta::hours(15)),
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture(), &policy, now());
        assert_eq!(deleted(&plan), ["report-2"]);
    }

    #[test]
    fn outcome_filter_and_manual_runs() {
        let failed = Policy {
            outcome: Some(Ending::Failed),
            ..Policy::default()
        };
        assert_eq!(
            deleted(&PrunePlan::new(fixture(), &failed, now())),
            ["backup-6"]
        );
        let succeeded = Policy {
            outcome: Some(Ending::Succeeded),
            include_manual: true,
            keep: Some(5),
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture(), &succeeded, now());
        // The manual run counts among the newest once it is included.
        assert_eq!(deleted(&plan), ["backup-5"]);
        assert_eq!(plan.kept[&Kept::OtherOutcome], 1);
    }

    #[test]
    fn active_runs_are_never_planned() {
        let policy = Policy {
            include_manual: true,
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture(), &policy, now());
        assert!(!deleted(&plan).contains(&"backup-active"));
        assert_eq!(plan.kept, BTreeMap::from([(Kept::Active, 1)]));
    }

    #[test]
    fn jobs_without_the_kuul_label_are_not_runs() {
        let mut other = job("x", "backup", Some(("Complete", 1)), false);
        other.metadata.labels = None;
        assert_eq!(Run::of(&other, 0), None);
    }

    fn pod(name: &str, phase: &str, owner: Option<&str>, uid_label: Option<&str>) -> Pod {
        let mut labels = json!({ JOB_LABEL: "backup" });
        if let Some(uid) = uid_label {
            labels[CONTROLLER_UID_LABEL] = json!(uid);
        }
        let owners = owner.map_or_else(|| json!([]), |uid| {
            json!([{ "apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": uid, "controller": true }])
        });
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "ops", "uid": format!("pod-{name}"),
                "creationTimestamp": hours_ago(30), "labels": labels, "ownerReferences": owners
            },
            "status": {
                "phase": phase,
                "containerStatuses": [{
                    "name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                    "state": { "terminated": { "exitCode": 0, "finishedAt": hours_ago(29) } }
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn orphans_are_finished_pods_of_jobs_that_are_gone() {
        let pods = [
            pod(
                "of-live-job",
                "Succeeded",
                Some("uid-live"),
                Some("uid-live"),
            ),
            pod(
                "owner-gone",
                "Succeeded",
                Some("uid-gone"),
                Some("uid-gone"),
            ),
            pod("cascade-orphaned", "Failed", None, Some("uid-gone")),
            pod("still-running", "Running", None, Some("uid-gone")),
            pod("no-job-at-all", "Succeeded", None, None),
        ];
        let live = HashSet::from(["uid-live".to_owned()]);
        let mut plan = PrunePlan::default();
        plan.add_orphans(&pods, &live, &Policy::default(), now());
        let names: Vec<&str> = plan.orphans.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["cascade-orphaned", "owner-gone"]);
        assert_eq!(plan.orphans[0].outcome, Ending::Failed);

        let recent_only = Policy {
            older_than: Some(TimeDelta::days(2)),
            ..Policy::default()
        };
        plan.add_orphans(&pods, &live, &recent_only, now());
        assert!(plan.orphans.is_empty());
        let succeeded = Policy {
            outcome: Some(Ending::Succeeded),
            ..Policy::default()
        };
        plan.add_orphans(&pods, &live, &succeeded, now());
        assert_eq!(plan.orphans.len(), 1);
    }

    #[test]
    fn plan_table() {
        let policy = Policy {
            keep: Some(1),
            ..Policy::default()
        };
        let plan = PrunePlan::new(fixture()[8..].to_vec(), &policy, now());
        assert_eq!(
            plan.table(now(), false).to_string(),
            "JOB      RUN        RESULT      FINISHED               AGE    PODS\n\
             report   report-2   Succeeded   2025-03-27T16:00:00Z   4d4h   1\n"
        );
        let with_namespace = plan.table(now(), true).to_string();
        assert!(
            with_namespace.starts_with("NAMESPACE   JOB"),
            "{with_namespace}"
        );
        assert!(
            with_namespace
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("ops         report")
        );
    }

    #[test]
    fn older_than_spellings() {
        assert_eq!(parse_older_than("7d"), Ok(TimeDelta::days(7)));
        assert_eq!(parse_older_than("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_older_than("30m"), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse_older_than("1d12h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse_older_than("90s"), Ok(TimeDelta::seconds(90)));
        assert_eq!(parse_older_than("1.5h"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_older_than("0.5d"), Ok(TimeDelta::hours(12)));
        for bad in [
            "",
            "7",
            "d",
            "7x",
            "-1d",
            "1.5",
            "7 d",
            "1w",
            "99999999999999999d",
        ] {
            assert!(parse_older_than(bad).is_err(), "{bad:?} accepted");
        }
    }
}
