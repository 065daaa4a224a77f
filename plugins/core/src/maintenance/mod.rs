//! Maintenance windows: which `CronJob`s `suspend` and `resume` change, and how.
//!
//! A maintenance window suspends many jobs at once and must resume exactly those later,
//! without waking jobs that someone paused for another reason, without touching
//! `CronJob`s kuul does not manage, and without a burst of missed runs when a job comes
//! back. Those decisions are made here, from the `CronJob`s as read, with no I/O, so
//! they are unit-tested; [`carry_out`] reads, writes what the plan says, and prints the
//! rows built here, for both commands.
//!
//! kuul marks a job it suspended with three annotations ([`SUSPENDED_BY`],
//! [`SUSPEND_REASON`], [`SUSPENDED_AT`]) written together with `spec.suspend: true` by a
//! server-side apply as field manager [`FIELD_MANAGER`]. `new --apply` writes as
//! `kuul-apply` and never sends `spec.suspend`, so a re-apply cannot resume the job.
//! Resuming applies `spec.suspend: false` as the same manager without the annotations,
//! which makes the API server remove them, since that manager no longer sends them.

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::batch::v1::CronJob;
use serde_json::{Value, json};

use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::table::Table;

pub mod carry_out;

/// The server-side apply field manager of `spec.suspend` and the suspend annotations.
pub const FIELD_MANAGER: &str = "kuul-suspend";
/// The field manager of the starting deadline `resume --skip-missed` sets. It is not
/// [`FIELD_MANAGER`]: that manager's next apply (a later suspend) does not send the
/// deadline and would make the API server remove it again.
pub const SKIP_MISSED_MANAGER: &str = "kuul-skip-missed";
/// Who suspended the job: the user the API server knows.
pub const SUSPENDED_BY: &str = "kuul.io/suspended-by";
/// Why the job was suspended (`--reason`).
pub const SUSPEND_REASON: &str = "kuul.io/suspend-reason";
/// When the job was suspended, RFC 3339 in UTC.
pub const SUSPENDED_AT: &str = "kuul.io/suspended-at";
/// The annotations that mark a job as suspended by kuul.
pub const MARKS: [&str; 3] = [SUSPENDED_BY, SUSPEND_REASON, SUSPENDED_AT];
/// The `startingDeadlineSeconds` that `resume --skip-missed` sets on a job without one.
/// The `CronJob` controller then starts only a run whose time passed at most a minute
/// ago, so the runs missed while suspended are skipped, while a run due at the moment of
/// resuming still starts even if the controller is a few seconds late. Jobs made by
/// `new` already have a deadline (300 s by default).
pub const SKIP_MISSED_DEADLINE_SECONDS: i64 = 60;

/// How the jobs to work on were chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Jobs named on the command line: the operator means exactly these.
    Named(Vec<String>),
    /// The jobs a `-l` selector picks.
    Selector(String),
    /// `--all`: the kuul-managed jobs of the namespace, or of all namespaces.
    All,
}

impl Selection {
    /// Whether jobs were picked in bulk rather than by name; bulk picks leave out
    /// `CronJob`s kuul does not manage unless `--include-unmanaged`.
    pub fn is_bulk(&self) -> bool {
        !matches!(self, Selection::Named(_))
    }
}

/// A job's state as maintenance sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not suspended: it runs on its schedule.
    Active,
    /// Suspended, with kuul's annotations.
    Suspended,
    /// Suspended some other way (`kubectl patch`, another tool): no kuul annotations.
    SuspendedUnmarked,
}

impl State {
    /// The state of `cronjob`.
    pub fn of(cronjob: &CronJob) -> Self {
        let suspended = cronjob.spec.suspend == Some(true);
        match (suspended, is_marked(cronjob)) {
            (false, _) => State::Active,
            (true, true) => State::Suspended,
            (true, false) => State::SuspendedUnmarked,
        }
    }

    fn word(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Suspended => "suspended",
            State::SuspendedUnmarked => "suspended (not by kuul)",
        }
    }
}

/// What maintenance does to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Suspend it and mark it.
    Suspend,
    /// Already suspended: listed, left as it is (its runs are still stopped with
    /// `--stop-running`, so that running the command again finishes that too).
    KeepSuspended,
    /// Resume it and remove kuul's marks.
    Resume(MissedRuns),
    /// Not suspended and unmarked: nothing to resume.
    KeepActive,
    /// Suspended some other way, and neither named nor `--include-unmarked`.
    KeepUnmarked,
    /// Held ready on a standby cluster: only `failover` makes it run here, so that it
    /// never runs on two clusters at once.
    KeepStandby,
}

/// What happens to the runs a job missed while suspended, when it is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissedRuns {
    /// It has a starting deadline (or was not suspended): nothing piles up.
    Bounded,
    /// No starting deadline: Kubernetes starts the missed runs at once; warn.
    StartAtOnce,
    /// No starting deadline, `--skip-missed`: set one first.
    Skip,
}

/// One job's place in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceStep {
    /// The kubeconfig context of its cluster, when several clusters are worked on.
    pub context: Option<String>,
    pub namespace: String,
    pub name: String,
    pub was: State,
    pub action: Action,
    /// The suspend reason the row shows: the new one when suspending, the recorded one
    /// otherwise.
    pub reason: Option<String>,
}

impl MaintenanceStep {
    /// Whether carrying out the step writes the `CronJob`.
    pub fn writes(&self) -> bool {
        matches!(self.action, Action::Suspend | Action::Resume(_))
    }
}

/// What to do to each selected job, and which were left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenancePlan {
    pub steps: Vec<MaintenanceStep>,
    /// Picked in bulk but without `app.kubernetes.io/managed-by=kuul`: left alone
    /// (`namespace/name`).
    pub unmanaged: Vec<String>,
}

/// The plan for `suspend`: mark and suspend every selected job not yet suspended.
pub fn plan_suspend(
    cronjobs: &[CronJob],
    selection: &Selection,
    include_unmanaged: bool,
    reason: Option<&str>,
) -> MaintenancePlan {
    plan(cronjobs, selection, include_unmanaged, |cronjob, was| {
        if was == State::Active {
            (Action::Suspend, reason.map(str::to_owned))
        } else {
            (Action::KeepSuspended, recorded_reason(cronjob))
        }
    })
}

/// Options of `resume` that shape its plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumeOptions {
    pub include_unmanaged: bool,
    /// Resume jobs suspended some other way even when picked in bulk.
    pub include_unmarked: bool,
    pub skip_missed: bool,
}

/// The plan for `resume`: resume the jobs kuul suspended; a job suspended another way
/// only when named or with `--include-unmarked`. An active job that still carries
/// kuul's marks (resumed by hand) gets them cleared.
pub fn plan_resume(
    cronjobs: &[CronJob],
    selection: &Selection,
    options: ResumeOptions,
) -> MaintenancePlan {
    let named = !selection.is_bulk();
    plan(
        cronjobs,
        selection,
        options.include_unmanaged,
        |cronjob, was| {
            let action = match was {
                _ if crate::standby::standby_for(cronjob).is_some() => Action::KeepStandby,
                State::Active if is_marked(cronjob) => Action::Resume(MissedRuns::Bounded),
                State::Active => Action::KeepActive,
                State::SuspendedUnmarked if !named && !options.include_unmarked => {
                    Action::KeepUnmarked
                }
                State::Suspended | State::SuspendedUnmarked => {
                    let deadline = cronjob.spec.starting_deadline_seconds;
                    Action::Resume(match (deadline, options.skip_missed) {
                        (Some(_), _) => MissedRuns::Bounded,
                        (None, false) => MissedRuns::StartAtOnce,
                        (None, true) => MissedRuns::Skip,
                    })
                }
            };
            (action, recorded_reason(cronjob))
        },
    )
}

fn plan(
    cronjobs: &[CronJob],
    selection: &Selection,
    include_unmanaged: bool,
    decide: impl Fn(&CronJob, State) -> (Action, Option<String>),
) -> MaintenancePlan {
    let mut plan = MaintenancePlan::default();
    for cronjob in cronjobs {
        let namespace = cronjob.metadata.namespace.clone().unwrap_or_default();
        let name = cronjob.metadata.name.clone().unwrap_or_default();
        if selection.is_bulk() && !include_unmanaged && !is_managed(cronjob) {
            plan.unmanaged.push(format!("{namespace}/{name}"));
            continue;
        }
        let was = State::of(cronjob);
        let (action, reason) = decide(cronjob, was);
        plan.steps.push(MaintenanceStep {
            context: None,
            namespace,
            name,
            was,
            action,
            reason,
        });
    }
    plan.steps
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    plan.unmanaged.sort();
    plan
}

/// Whether `cronjob` carries `app.kubernetes.io/managed-by=kuul`.
pub fn is_managed(cronjob: &CronJob) -> bool {
    cronjob
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(MANAGED_BY))
        .is_some_and(|value| value == MANAGER)
}

/// Whether `cronjob` carries any of kuul's suspend annotations.
pub fn is_marked(cronjob: &CronJob) -> bool {
    cronjob
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| MARKS.iter().any(|key| annotations.contains_key(*key)))
}

fn recorded_reason(cronjob: &CronJob) -> Option<String> {
    cronjob
        .metadata
        .annotations
        .as_ref()?
        .get(SUSPEND_REASON)
        .filter(|reason| !reason.is_empty())
        .cloned()
}

/// The apply configuration that suspends and marks a job: only the fields the
/// `kuul-suspend` manager owns. `by` is left out when the API server could not say who
/// we are, the reason when none was given.
pub fn suspend_patch(
    step: &MaintenanceStep,
    by: Option<&str>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Value {
    let mut annotations = serde_json::Map::new();
    if let Some(by) = by {
        annotations.insert(SUSPENDED_BY.to_owned(), by.into());
    }
    if let Some(reason) = reason {
        annotations.insert(SUSPEND_REASON.to_owned(), reason.into());
    }
    annotations.insert(
        SUSPENDED_AT.to_owned(),
        at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": step.name, "namespace": step.namespace, "annotations": annotations},
        "spec": {"suspend": true},
    })
}

/// The apply configuration that resumes a job: `spec.suspend: false` and no
/// annotations, so the API server drops the ones this manager wrote.
pub fn resume_patch(step: &MaintenanceStep) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": step.name, "namespace": step.namespace},
        "spec": {"suspend": false},
    })
}

/// The apply configuration of `--skip-missed`, sent as [`SKIP_MISSED_MANAGER`] before
/// the job is resumed.
pub fn skip_missed_patch(step: &MaintenanceStep) -> Value {
    skip_missed_patch_for(&step.namespace, &step.name)
}

/// [`skip_missed_patch`] of the `CronJob` `name` in `namespace` (`failover --skip-missed`).
pub fn skip_missed_patch_for(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"startingDeadlineSeconds": SKIP_MISSED_DEADLINE_SECONDS},
    })
}

/// A JSON merge patch that removes kuul's marks whoever owns them: the fallback when
/// another field manager shares them and the apply therefore kept them.
pub fn unmark_patch() -> Value {
    let nulls: serde_json::Map<String, Value> = MARKS
        .iter()
        .map(|key| ((*key).to_owned(), Value::Null))
        .collect();
    json!({"metadata": {"annotations": nulls}})
}

/// How carrying out a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Nothing was written: a dry run; `stopped` runs would have been deleted.
    DryRun { stopped: usize },
    /// Written (or nothing to write); `stopped` runs were deleted.
    Written { stopped: usize },
    /// The write failed; the error is reported separately.
    Failed,
}

/// How the table of `suspend` or `resume` is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Jobs of several clusters: a CONTEXT column.
    pub contexts: bool,
    /// Jobs from several namespaces: a NAMESPACE column.
    pub all_namespaces: bool,
    /// `--stop-running`: a STOPPED column with the number of runs deleted.
    pub stop_running: bool,
}

/// The table of what changed: \[NAMESPACE,\] NAME, WAS, NOW, REASON\[, STOPPED\].
pub fn table(rows: &[(MaintenanceStep, Done)], layout: Layout) -> Table {
    let mut headers = Vec::new();
    if layout.contexts {
        headers.push("context");
    }
    if layout.all_namespaces {
        headers.push("namespace");
    }
    headers.extend(["name", "was", "now", "reason"]);
    if layout.stop_running {
        headers.push("stopped");
    }
    let mut table = Table::new(headers);
    for (step, done) in rows {
        let mut cells = Vec::new();
        if layout.contexts {
            cells.push(step.context.clone().unwrap_or_default());
        }
        if layout.all_namespaces {
            cells.push(step.namespace.clone());
        }
        cells.push(step.name.clone());
        cells.push(step.was.word().to_owned());
        cells.push(now(step, *done));
        cells.push(step.reason.clone().unwrap_or_default());
        if layout.stop_running {
            cells.push(match done {
                Done::Written { stopped } | Done::DryRun { stopped } => stopped.to_string(),
                Done::Failed => "-".to_owned(),
            });
        }
        table.row(cells);
    }
    table
}

/// The NOW cell: the state after the step, or what went wrong.
fn now(step: &MaintenanceStep, done: Done) -> String {
    let after = match step.action {
        Action::Suspend => "suspended",
        Action::KeepSuspended => "suspended (unchanged)",
        Action::Resume(MissedRuns::Skip) => "active, missed runs skipped",
        Action::Resume(_) => "active",
        Action::KeepActive => "active (unchanged)",
        Action::KeepUnmarked => "suspended (left: not by kuul)",
        Action::KeepStandby => "suspended (standby: `kubectl kuul failover` runs it here)",
    };
    match done {
        Done::Failed => format!("failed, still {}", step.was.word()),
        Done::DryRun { .. } if step.writes() => format!("{after} (dry run)"),
        Done::DryRun { .. } | Done::Written { .. } => after.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use k8s_openapi::api::batch::v1::CronJobSpec;
    use kube::api::ObjectMeta;

    use super::*;

    fn cronjob(
        name: &str,
        suspend: Option<bool>,
        managed: bool,
        marks: &[(&str, &str)],
    ) -> CronJob {
        CronJob {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some("ops".to_owned()),
                labels: managed.then(|| [(MANAGED_BY.to_owned(), MANAGER.to_owned())].into()),
                annotations: (!marks.is_empty()).then(|| {
                    marks
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect()
                }),
                ..ObjectMeta::default()
            },
            spec: CronJobSpec {
                schedule: "0 2 * * *".to_owned(),
                suspend,
                starting_deadline_seconds: Some(300),
                ..CronJobSpec::default()
            },
            ..CronJob::default()
        }
    }

    fn without_deadline(mut cronjob: CronJob) -> CronJob {
        cronjob.spec.starting_deadline_seconds = None;
        cronjob
    }

    const MARKED: &[(&str, &str)] = &[
        (SUSPENDED_BY, "ana"),
        (SUSPEND_REASON, "db upgrade"),
        (SUSPENDED_AT, "2026-03-01T22:00:00Z"),
    ];

    fn actions(plan: &MaintenancePlan) -> Vec<(&str, Action)> {
        plan.steps
            .iter()
            .map(|s| (s.name.as_str(), s.action))
            .collect()
    }

    #[test]
    fn states_tell_kuul_suspends_from_others() {
        assert_eq!(State::of(&cronjob("a", None, true, &[])), State::Active);
        assert_eq!(
            State::of(&cronjob("a", Some(false), true, &[])),
            State::Active
        );
        assert_eq!(
            State::of(&cronjob("a", Some(true), true, MARKED)),
            State::Suspended
        );
        assert_eq!(
            State::of(&cronjob("a", Some(true), true, &[])),
            State::SuspendedUnmarked
        );
    }

    #[test]
    fn suspend_all_suspends_active_managed_jobs_and_lists_the_rest() {
        let jobs = [
            cronjob("web-smoke", Some(false), true, &[]),
            cronjob("backup", None, true, &[]),
            cronjob("paused", Some(true), true, MARKED),
            cronjob("by-hand", Some(true), true, &[]),
            cronjob("foreign", Some(false), false, &[]),
        ];
        let plan = plan_suspend(&jobs, &Selection::All, false, Some("kernel upgrade"));
        assert_eq!(
            actions(&plan),
            [
                ("backup", Action::Suspend),
                ("by-hand", Action::KeepSuspended),
                ("paused", Action::KeepSuspended),
                ("web-smoke", Action::Suspend),
            ]
        );
        assert_eq!(plan.unmanaged, ["ops/foreign"]);
        assert_eq!(plan.steps[0].reason.as_deref(), Some("kernel upgrade"));
        assert_eq!(plan.steps[2].reason.as_deref(), Some("db upgrade"));
        assert_eq!(plan.steps[1].reason, None);
    }

    #[test]
    fn unmanaged_jobs_are_touched_when_named_or_included() {
        let jobs = [cronjob("foreign", None, false, &[])];
        let named = Selection::Named(vec!["foreign".to_owned()]);
        assert_eq!(
            actions(&plan_suspend(&jobs, &named, false, None)),
            [("foreign", Action::Suspend)]
        );
        let selector = Selection::Selector("team=ops".to_owned());
        assert!(plan_suspend(&jobs, &selector, false, None).steps.is_empty());
        assert_eq!(
            actions(&plan_suspend(&jobs, &selector, true, None)),
            [("foreign", Action::Suspend)]
        );
        let resume = ResumeOptions::default();
        let suspended = [cronjob("foreign", Some(true), false, MARKED)];
        assert_eq!(
            plan_resume(&suspended, &Selection::All, resume).unmanaged,
            ["ops/foreign"]
        );
    }

    #[test]
    fn resume_leaves_standby_jobs_to_failover_even_named() {
        let mut standby = MARKED.to_vec();
        standby.push((crate::standby::STANDBY_FOR, "eu-1"));
        let jobs = [cronjob("backup", Some(true), true, &standby)];
        for selection in [Selection::All, Selection::Named(vec!["backup".to_owned()])] {
            let plan = plan_resume(&jobs, &selection, ResumeOptions::default());
            assert_eq!(actions(&plan), [("backup", Action::KeepStandby)]);
        }
    }

    #[test]
    fn resume_all_wakes_only_what_kuul_suspended() {
        let jobs = [
            cronjob("paused", Some(true), true, MARKED),
            cronjob("by-hand", Some(true), true, &[]),
            cronjob("running", Some(false), true, &[]),
            cronjob("stale-marks", Some(false), true, MARKED),
        ];
        let plan = plan_resume(&jobs, &Selection::All, ResumeOptions::default());
        assert_eq!(
            actions(&plan),
            [
                ("by-hand", Action::KeepUnmarked),
                ("paused", Action::Resume(MissedRuns::Bounded)),
                ("running", Action::KeepActive),
                ("stale-marks", Action::Resume(MissedRuns::Bounded)),
            ]
        );
        let options = ResumeOptions {
            include_unmarked: true,
            ..ResumeOptions::default()
        };
        let plan = plan_resume(&jobs, &Selection::All, options);
        assert_eq!(plan.steps[0].action, Action::Resume(MissedRuns::Bounded));
    }

    #[test]
    fn a_named_job_is_resumed_however_it_was_suspended() {
        let jobs = [cronjob("by-hand", Some(true), true, &[])];
        let named = Selection::Named(vec!["by-hand".to_owned()]);
        let plan = plan_resume(&jobs, &named, ResumeOptions::default());
        assert_eq!(
            actions(&plan),
            [("by-hand", Action::Resume(MissedRuns::Bounded))]
        );
    }

    #[test]
    fn missed_runs_warn_or_are_skipped_only_without_a_deadline() {
        let jobs = [
            without_deadline(cronjob("no-deadline", Some(true), true, MARKED)),
            cronjob("deadline", Some(true), true, MARKED),
            without_deadline(cronjob("active", Some(false), true, MARKED)),
        ];
        let plan = plan_resume(&jobs, &Selection::All, ResumeOptions::default());
        assert_eq!(
            actions(&plan),
            [
                ("active", Action::Resume(MissedRuns::Bounded)),
                ("deadline", Action::Resume(MissedRuns::Bounded)),
                ("no-deadline", Action::Resume(MissedRuns::StartAtOnce)),
            ]
        );
        let skip = ResumeOptions {
            skip_missed: true,
            ..ResumeOptions::default()
        };
        let plan = plan_resume(&jobs, &Selection::All, skip);
        assert_eq!(plan.steps[2].action, Action::Resume(MissedRuns::Skip));
    }

    fn step(name: &str, was: State, action: Action, reason: Option<&str>) -> MaintenanceStep {
        MaintenanceStep {
            context: None,
            namespace: "ops".to_owned(),
            name: name.to_owned(),
            was,
            action,
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn patches_carry_only_the_suspend_managers_fields() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 22, 0, 5).unwrap();
        let backup = step("backup", State::Active, Action::Suspend, None);
        assert_eq!(
            suspend_patch(&backup, Some("ana"), Some("db upgrade"), at),
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "backup", "namespace": "ops", "annotations": {
                    "kuul.io/suspended-by": "ana",
                    "kuul.io/suspend-reason": "db upgrade",
                    "kuul.io/suspended-at": "2026-03-01T22:00:05Z",
                }},
                "spec": {"suspend": true},
            })
        );
        let anonymous = suspend_patch(&backup, None, None, at);
        assert_eq!(
            anonymous["metadata"]["annotations"],
            json!({"kuul.io/suspended-at": "2026-03-01T22:00:05Z"})
        );
        let resume = resume_patch(&backup);
        assert_eq!(resume["spec"], json!({"suspend": false}));
        assert!(resume["metadata"].get("annotations").is_none());
        assert_eq!(
            skip_missed_patch(&backup)["spec"],
            json!({"startingDeadlineSeconds": 60})
        );
        assert_eq!(
            unmark_patch(),
            json!({"metadata": {"annotations": {
                "kuul.io/suspended-by": null,
                "kuul.io/suspend-reason": null,
                "kuul.io/suspended-at": null,
            }}})
        );
    }

    #[test]
    fn the_table_says_what_changed() {
        let rows = [
            (
                step("backup", State::Active, Action::Suspend, Some("db upgrade")),
                Done::Written { stopped: 2 },
            ),
            (
                step(
                    "paused",
                    State::Suspended,
                    Action::KeepSuspended,
                    Some("older"),
                ),
                Done::Written { stopped: 0 },
            ),
            (
                step("smoke", State::Active, Action::Suspend, Some("db upgrade")),
                Done::Failed,
            ),
        ];
        let layout = Layout {
            contexts: false,
            all_namespaces: true,
            stop_running: true,
        };
        assert_eq!(
            table(&rows, layout).to_string(),
            "NAMESPACE   NAME     WAS         NOW                     REASON       STOPPED\n\
             ops         backup   active      suspended               db upgrade   2\n\
             ops         paused   suspended   suspended (unchanged)   older        0\n\
             ops         smoke    active      failed, still active    db upgrade   -\n"
        );
    }

    #[test]
    fn resume_rows_and_dry_runs() {
        let rows = [
            (
                step(
                    "by-hand",
                    State::SuspendedUnmarked,
                    Action::KeepUnmarked,
                    None,
                ),
                Done::DryRun { stopped: 0 },
            ),
            (
                step(
                    "nightly",
                    State::Suspended,
                    Action::Resume(MissedRuns::Skip),
                    Some("db"),
                ),
                Done::DryRun { stopped: 0 },
            ),
            (
                step(
                    "web",
                    State::Suspended,
                    Action::Resume(MissedRuns::Bounded),
                    Some("db"),
                ),
                Done::Written { stopped: 0 },
            ),
        ];
        let layout = Layout {
            contexts: false,
            all_namespaces: false,
            stop_running: false,
        };
        assert_eq!(
            table(&rows, layout).to_string(),
            "NAME      WAS                       NOW                                     REASON\n\
             by-hand   suspended (not by kuul)   suspended (left: not by kuul)\n\
             nightly   suspended                 active, missed runs skipped (dry run)   db\n\
             web       suspended                 active                                  db\n"
        );
    }
}
