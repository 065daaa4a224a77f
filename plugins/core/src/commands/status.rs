//! `kubectl kuul status` (alias `list`): every Kuul job at a glance, its next run, its
//! last results and whether it is healthy.
//!
//! The picture is read with a fixed number of paginated list calls whatever the number
//! of jobs: the `CronJob`s, the Jobs labelled `kuul.io/job`, their Pods and the Nodes,
//! listed concurrently and joined in memory by owner uid; [`crate::health`] judges each
//! job. `--watch` keeps the same objects in memory by watch and redraws on every change
//! (on a terminal in place, otherwise one table per change). `--check` prints only the
//! problems and exits 4 when there is one, for monitoring systems.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::pin::pin;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use futures_util::{StreamExt, stream};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, watcher};
use kube::runtime::{WatchStreamExt, reflector as reflect};

use crate::blocked::{self, Blocker};
use crate::cli::{ContextsArgs, KubeArgs, OutputArgs, OutputFormat};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::health::{self, Health, JobStatus, Layout};
use crate::history::{JobFacts, PodFacts, RunRecord};
use crate::kuul_job::{JOB_LABEL, MANAGED_BY, MANAGER, check_job_name, check_pool};
use crate::printer::Printer;
use crate::retry::Backoff;
use crate::selector;
use crate::watch::{Interruption, Reconnecting, failure, interruption};

/// How long `--watch` lets changes settle before it redraws.
const SETTLE: Duration = Duration::from_millis(300);
/// How often `--watch` redraws on a terminal without changes, so ages stay true.
const REFRESH: Duration = Duration::from_secs(30);

/// Arguments of `kubectl kuul status`.
// The field docs are the `--help` text, where backticks would show.
#[allow(clippy::doc_markdown)]
// Each flag is a yes/no choice of the user's; clap needs them as separate fields.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Only these Kuul jobs (default: every CronJob labelled app.kubernetes.io/managed-by=kuul)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Only jobs (CronJobs) whose labels match, e.g. team=ops
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Jobs of every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Only jobs that run in this pool
    #[arg(long, value_name = "POOL")]
    pub pool: Option<String>,

    /// Also show CronJobs without app.kubernetes.io/managed-by=kuul (made another way,
    /// such as the template.yaml recipe); their runs are found among every Job of the
    /// namespace, by owner
    #[arg(long)]
    pub include_unmanaged: bool,

    /// Keep watching and redraw on every change
    #[arg(short = 'w', long, conflicts_with = "check")]
    pub watch: bool,

    /// Print only the jobs that are failing, overdue, stuck, blocked or unschedulable;
    /// exit 4 if there is one, 0 otherwise
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub contexts: ContextsArgs,

    /// kuul config file, for poolLabelKey (default: ./kuul.yaml, then $KUUL_CONFIG, then
    /// ~/.config/kuul/config.yaml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl StatusArgs {
    /// Rejects bad names, selectors, pools and combinations before anything is sent.
    fn check_input(&self) -> Result<(), Error> {
        for name in &self.names {
            check_job_name("NAME", name)?;
        }
        if let Some(user) = &self.selector {
            selector::check("--selector", user)?;
        }
        if let Some(pool) = &self.pool {
            check_pool("--pool", pool)?;
        }
        let format = self.output.output;
        if self.watch && !matches!(format, OutputFormat::Table | OutputFormat::Wide) {
            return Err(Error::InvalidInput {
                message: format!(
                    "--watch redraws a table: it cannot be combined with -o {}",
                    format_name(format)
                ),
                hint: Some("use -o table or -o wide with --watch".to_owned()),
            });
        }
        Ok(())
    }

    /// The label selector of the `CronJob` list: the user's, and unless jobs are named,
    /// kuul's own label.
    fn cronjob_selector(&self) -> String {
        let managed = format!("{MANAGED_BY}={MANAGER}");
        let mut parts: Vec<&str> = Vec::new();
        if self.names.is_empty() && !self.include_unmanaged {
            parts.push(&managed);
        }
        if let Some(user) = &self.selector {
            parts.push(user);
        }
        parts.join(",")
    }
}

/// `--watch` with several clusters.
fn watch_one() -> Error {
    Error::InvalidInput {
        message:
            "--watch follows one cluster: --contexts and a repeated --context do not go with it"
                .to_owned(),
        hint: Some("name one --context with --watch".to_owned()),
    }
}

fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Table => "table",
        OutputFormat::Wide => "wide",
        OutputFormat::Json => "json",
        OutputFormat::Yaml => "yaml",
        OutputFormat::Name => "name",
    }
}

impl KuulCommand for StatusArgs {
    const NAME: &'static str = "status";
    const ABOUT: &'static str = "Show every Kuul job: next run, last results, health.";
    const LONG_ABOUT: &'static str = include_str!("help/status.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.output.headers);
        self.check_input()?;
        if self.watch && (self.contexts.contexts.is_some() || kube.context.len() > 1) {
            return Err(watch_one());
        }
        let contexts = clusters::selected(&self.contexts, &kube)?;
        let config = Config::load(self.config.as_deref())?;
        let pool_key = config.defaults.pool_label_key.clone();
        if contexts.len() > 1 {
            return self.across(&kube, &contexts, &pool_key, printer).await;
        }
        let cluster = Cluster::connect(&kube).await?;
        let namespace = (!self.all_namespaces).then(|| cluster.namespace().to_owned());
        if self.watch {
            return watch(&self, &cluster, namespace.as_deref(), &pool_key, printer).await;
        }
        let statuses = self.read(&cluster, &pool_key, printer).await?;
        let missing = self.missing(&statuses);
        self.print(&statuses, false, printer)?;
        if statuses.is_empty() && self.names.is_empty() && !self.include_unmanaged {
            self.hint_unmanaged(&cluster, namespace.as_deref(), printer)
                .await;
        }
        if !missing.is_empty() {
            let place = namespace.as_deref().map_or_else(
                || "in any namespace".to_owned(),
                |ns| format!("in namespace {ns:?}"),
            );
            return Err(not_found(&missing, &place));
        }
        if self.check {
            return verdict(&statuses, &[], printer);
        }
        Ok(())
    }
}

impl StatusArgs {
    /// The selected jobs of one cluster, judged: a fixed number of paginated lists.
    async fn read(
        &self,
        cluster: &Cluster,
        pool_key: &str,
        printer: Printer,
    ) -> Result<Vec<JobStatus>, Error> {
        let namespace = (!self.all_namespaces).then(|| cluster.namespace().to_owned());
        let cronjob_selector = self.cronjob_selector();
        let ns = namespace.as_deref();
        // Runs of CronJobs kuul did not make carry no kuul.io/job label: they are found
        // among all, by owner.
        let runs = if self.include_unmanaged {
            ""
        } else {
            JOB_LABEL
        };
        let (cronjobs, jobs, pods, nodes) = tokio::join!(
            cluster.list_selected_map(ns, &cronjob_selector, "cronjobs", |mut cj: CronJob| {
                health::trim_cronjob(&mut cj);
                cj
            }),
            cluster.list_selected_map(ns, runs, "jobs", |job: Job| JobFacts::of(&job)),
            cluster.list_selected_map(ns, runs, "pods", |pod: Pod| PodFacts::of(&pod)),
            cluster.nodes(),
        );
        let (cronjobs, jobs, pods) = (cronjobs?, jobs?, pods?);
        let nodes = match nodes {
            Ok(nodes) => Some(nodes),
            Err(error @ Error::Forbidden { .. }) => {
                printer.warn(format_args!(
                    "{error}; pools are not checked for ready nodes"
                ));
                None
            }
            Err(error) => return Err(error),
        };
        // Only a run without a pod needs the events, which say why it has none.
        let failed_creates = if lacks_pods(&jobs, &pods) {
            cluster.failed_creates(ns, printer).await?
        } else {
            HashMap::new()
        };
        let picture = Picture {
            cronjobs: &cronjobs,
            jobs: &jobs,
            pods: &pods,
            nodes: nodes.as_deref(),
            failed_creates: &failed_creates,
        };
        Ok(self.statuses(picture, pool_key))
    }

    /// Several clusters, read concurrently, in one table with a CONTEXT column: a job's
    /// rows from each cluster side by side. A cluster that cannot be read is one line
    /// naming its context, the others are shown, and the exit status is 1 (`--check`
    /// counts it as a problem).
    async fn across(
        &self,
        kube: &KubeArgs,
        contexts: &[Option<String>],
        pool_key: &str,
        printer: Printer,
    ) -> Result<(), Error> {
        clusters::settle_failovers(kube, contexts, self.all_namespaces, printer).await;
        let results = clusters::each_on_threads(kube, contexts, |kube| async move {
            let cluster = Cluster::connect(&kube).await?;
            self.read(&cluster, pool_key, printer).await
        });
        let clusters::Reached { sides, unreachable } = clusters::reached(results, printer)?;
        let mut statuses: Vec<JobStatus> = sides
            .into_iter()
            .flat_map(|(context, found)| {
                found.into_iter().map(move |mut status| {
                    status.context = Some(context.clone());
                    status
                })
            })
            .collect();
        statuses.sort_by(|a, b| {
            (&a.namespace, &a.name, &a.context).cmp(&(&b.namespace, &b.name, &b.context))
        });
        let missing = if unreachable.is_empty() {
            self.missing(&statuses)
        } else {
            // A job missing from what could be read may be on a cluster that could not.
            Vec::new()
        };
        self.print(&statuses, true, printer)?;
        if !missing.is_empty() {
            let place = if self.all_namespaces {
                "in any namespace of any cluster".to_owned()
            } else {
                "in the namespace of any cluster".to_owned()
            };
            return Err(not_found(&missing, &place));
        }
        if self.check {
            return verdict(&statuses, &unreachable, printer);
        }
        clusters::unreachable(&unreachable, contexts.len())
    }
}

/// Everything status reads, as listed.
#[derive(Clone, Copy)]
struct Picture<'a> {
    cronjobs: &'a [CronJob],
    jobs: &'a [JobFacts],
    pods: &'a [PodFacts],
    nodes: Option<&'a [Node]>,
    /// Why a Job cannot create its pod, by the Job's uid.
    failed_creates: &'a HashMap<String, Blocker>,
}

/// Whether a run in progress has no pod.
fn lacks_pods(jobs: &[JobFacts], pods: &[PodFacts]) -> bool {
    let with_pods: HashSet<&str> = pods.iter().filter_map(|p| p.job_uid.as_deref()).collect();
    jobs.iter()
        .any(|job| job.in_progress() && !with_pods.contains(job.uid.as_str()))
}

impl StatusArgs {
    /// The selected jobs, judged, sorted by namespace and name.
    fn statuses(&self, picture: Picture<'_>, pool_key: &str) -> Vec<JobStatus> {
        let now = Utc::now();
        let mut runs_by_owner: HashMap<&str, Vec<&JobFacts>> = HashMap::new();
        for job in picture.jobs {
            if let Some(owner) = job.controller.as_deref() {
                runs_by_owner.entry(owner).or_default().push(job);
            }
        }
        let mut pods_by_run: HashMap<&str, Vec<&PodFacts>> = HashMap::new();
        for pod in picture.pods {
            if let Some(uid) = pod.job_uid.as_deref() {
                pods_by_run.entry(uid).or_default().push(pod);
            }
        }
        let view = health::ClusterView {
            nodes: picture.nodes,
            pool_key,
            now,
        };
        let mut statuses: Vec<JobStatus> = picture
            .cronjobs
            .iter()
            .filter(|cj| {
                self.names.is_empty()
                    || self
                        .names
                        .iter()
                        .any(|n| cj.metadata.name.as_deref() == Some(n.as_str()))
            })
            .filter(|cj| {
                self.pool
                    .as_deref()
                    .is_none_or(|pool| crate::pools::targeted_pool(cj, pool_key) == Some(pool))
            })
            .map(|cj| {
                let uid = cj.metadata.uid.as_deref().unwrap_or_default();
                let records: Vec<RunRecord> = runs_by_owner
                    .get(uid)
                    .into_iter()
                    .flatten()
                    .map(|job| {
                        let pods = pods_by_run
                            .get(job.uid.as_str())
                            .cloned()
                            .unwrap_or_default();
                        let mut record = job.record(&pods);
                        if let Some(blocker) = picture.failed_creates.get(&job.uid) {
                            record.cannot_create(blocker);
                        }
                        record
                    })
                    .collect();
                health::assess(cj, &records, view)
            })
            .collect();
        statuses.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        statuses
    }

    /// Named jobs that were not found.
    fn missing(&self, statuses: &[JobStatus]) -> Vec<String> {
        let found: BTreeSet<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
        self.names
            .iter()
            .filter(|n| !found.contains(n.as_str()))
            .cloned()
            .collect()
    }

    fn print(&self, statuses: &[JobStatus], contexts: bool, printer: Printer) -> Result<(), Error> {
        let shown: Vec<JobStatus> = if self.check {
            statuses
                .iter()
                .filter(|s| s.health.is_problem())
                .cloned()
                .collect()
        } else {
            statuses.to_vec()
        };
        match self.output.output {
            OutputFormat::Json => printer.json(&shown),
            OutputFormat::Yaml => printer.yaml(&shown),
            OutputFormat::Name => {
                for status in &shown {
                    printer.line(format_args!("cronjob.batch/{}", status.name))?;
                }
                Ok(())
            }
            OutputFormat::Table | OutputFormat::Wide if self.check => {
                for status in &shown {
                    printer.line(problem_line(status, self.all_namespaces))?;
                }
                Ok(())
            }
            format @ (OutputFormat::Table | OutputFormat::Wide) => {
                if shown.is_empty() {
                    printer.info(self.nothing_found());
                    return Ok(());
                }
                let table =
                    health::table(&shown, self.layout(format, contexts, printer), Utc::now());
                printer.table(&table)
            }
        }
    }

    fn layout(&self, format: OutputFormat, contexts: bool, printer: Printer) -> Layout {
        Layout {
            contexts,
            wide: format == OutputFormat::Wide,
            namespaces: self.all_namespaces,
            ascii: printer.ascii(),
        }
    }

    /// When no Kuul job was found: says how many `CronJob`s there are that kuul did not
    /// make, which `--include-unmanaged` shows (teams coming from the template.yaml
    /// recipe have only those).
    async fn hint_unmanaged(&self, cluster: &Cluster, namespace: Option<&str>, printer: Printer) {
        let selector = self.selector.as_deref().unwrap_or_default();
        let unmanaged = cluster
            .list_selected_map(namespace, selector, "cronjobs", |cj: CronJob| {
                !crate::maintenance::is_managed(&cj)
            })
            .await;
        let count = unmanaged.map_or(0, |all| all.into_iter().filter(|u| *u).count());
        if count > 0 {
            printer.info(format_args!(
                "{count} CronJob(s) here have no {MANAGED_BY}={MANAGER} label (made another way, such as the template.yaml recipe): --include-unmanaged shows them"
            ));
        }
    }

    fn nothing_found(&self) -> String {
        if self.selector.is_some() || self.pool.is_some() {
            "no Kuul job matches".to_owned()
        } else {
            format!("no Kuul jobs (CronJobs labelled {MANAGED_BY}={MANAGER}) found")
        }
    }
}

/// `ops/backup-db failing: run backup-db-2900 failed with exit code 3 (Error)`.
fn problem_line(status: &JobStatus, namespaces: bool) -> String {
    let name = if namespaces {
        format!("{}/{}", status.namespace, status.name)
    } else {
        status.name.clone()
    };
    let name = match &status.context {
        Some(context) => format!("{context}: {name}"),
        None => name,
    };
    match &status.problem {
        Some(problem) => format!("{name} {}: {problem}", status.health),
        None => format!("{name} {}", status.health),
    }
}

/// `--check`'s outcome: exit 4 naming how many jobs need attention, and the clusters
/// that could not be read, which are problems too.
fn verdict(statuses: &[JobStatus], unreachable: &[String], printer: Printer) -> Result<(), Error> {
    let problems = statuses.iter().filter(|s| s.health.is_problem()).count();
    if problems == 0 && unreachable.is_empty() {
        printer.info(format_args!(
            "all {} selected jobs are healthy (or suspended)",
            statuses.len()
        ));
        return Ok(());
    }
    let mut counts: Vec<String> = Vec::new();
    for health in [
        Health::Failing,
        Health::Overdue,
        Health::Stuck,
        Health::Blocked,
        Health::Unschedulable,
    ] {
        let n = statuses.iter().filter(|s| s.health == health).count();
        if n > 0 {
            counts.push(format!("{n} {health}"));
        }
    }
    let clusters = match unreachable.len() {
        0 => String::new(),
        1 => format!("; cluster {} could not be read", unreachable[0]),
        n => format!(
            "; {n} clusters could not be read: {}",
            unreachable.join(", ")
        ),
    };
    if problems == 0 {
        return Err(Error::WorkFailed {
            message: format!(
                "no job needs attention{}",
                clusters.replacen("; ", ", but ", 1)
            ),
        });
    }
    Err(Error::WorkFailed {
        message: format!(
            "{problems} of {} jobs need attention: {}{clusters}",
            statuses.len(),
            counts.join(", ")
        ),
    })
}

/// Named jobs that are not there; `place` says where they were looked for.
fn not_found(missing: &[String], place: &str) -> Error {
    Error::Halted {
        message: format!("no CronJob named {} {place}", missing.join(", ")),
        hint: Some("`kubectl kuul status` lists the Kuul jobs there are".to_owned()),
    }
}

/// `--watch`: keeps `CronJob`s, Jobs, Pods, Nodes and the Jobs' `FailedCreate` events in
/// memory by watch and redraws when they change (and, on a terminal, every [`REFRESH`]
/// so ages stay true). A restarting API server, a dropped connection or 410 Gone do not
/// end it: the watches resume with backoff, and a line on stderr says so once.
async fn watch(
    args: &StatusArgs,
    cluster: &Cluster,
    namespace: Option<&str>,
    pool_key: &str,
    printer: Printer,
) -> Result<(), Error> {
    let client = cluster.client().clone();
    let (cronjobs, cronjob_writer) = reflector::store::<CronJob>();
    let (jobs, job_writer) = reflector::store::<Job>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let (nodes, node_writer) = reflector::store::<Node>();
    let (failed_create_events, event_writer) = reflector::store::<Event>();
    let stores = Stores {
        cronjobs,
        jobs,
        pods,
        nodes,
        failed_create_events,
    };
    let cronjob_api: Api<CronJob> = scoped(&client, namespace);
    let job_api: Api<Job> = scoped(&client, namespace);
    let pod_api: Api<Pod> = scoped(&client, namespace);
    let event_api: Api<Event> = scoped(&client, namespace);
    let runs = watcher::Config::default().labels(JOB_LABEL);
    let events = stream::select_all([
        init_done(reflect(
            cronjob_writer,
            watcher(
                cronjob_api,
                watcher::Config::default().labels(&args.cronjob_selector()),
            ),
        )),
        init_done(reflect(job_writer, watcher(job_api, runs.clone()))),
        init_done(reflect(pod_writer, watcher(pod_api, runs))),
        init_done(reflect(
            node_writer,
            watcher(Api::<Node>::all(client), watcher::Config::default()),
        )),
        init_done(reflect(
            event_writer,
            watcher(
                event_api,
                watcher::Config::default().fields(&blocked::failed_create_selector()),
            ),
        )),
    ]);
    let mut events = pin!(events);
    let terminal = printer.redraws();
    let mut last = String::new();
    let mut interrupted = pin!(tokio::signal::ctrl_c());
    let mut watching = Watching {
        cluster,
        namespace,
        printer,
        reconnecting: Reconnecting::new(cluster),
        lists_done: 0,
    };
    loop {
        let wait = tokio::time::sleep(if terminal { REFRESH } else { Duration::MAX / 4 });
        tokio::select! {
            event = events.next() => match event {
                Some(event) => watching.take(event)?,
                None => return Ok(()),
            },
            () = wait => {}
            _ = &mut interrupted => return Ok(()),
        }
        // Take in what else arrives meanwhile, then draw once.
        let settle = tokio::time::sleep(SETTLE);
        let mut settle = pin!(settle);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => watching.take(event)?,
                    None => break,
                },
                () = &mut settle => break,
            }
        }
        if watching.lists_done < 5 {
            continue;
        }
        let text = stores.text(args, pool_key, printer);
        if terminal {
            // Clear the screen and draw from its top left.
            printer.data(&format!("\x1b[2J\x1b[H{text}"))?;
        } else if text != last {
            if !last.is_empty() {
                printer.data("\n")?;
            }
            printer.data(&text)?;
        }
        last = text;
    }
}

/// A watch's events, retried with backoff, each reduced to whether it says the first full
/// list has arrived.
fn init_done<K: 'static + Send>(
    events: impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
) -> futures_util::stream::BoxStream<'static, Result<bool, watcher::Error>> {
    events
        .backoff(Backoff::for_watches())
        .map(|e| e.map(|event| matches!(event, watcher::Event::InitDone)))
        .boxed()
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

fn owned<K: kube::Resource + Clone>(store: &Store<K>) -> Vec<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    store.state().iter().map(|k| K::clone(k)).collect()
}

/// The objects `--watch` keeps in memory, as its watches last told.
struct Stores {
    cronjobs: Store<CronJob>,
    jobs: Store<Job>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    failed_create_events: Store<Event>,
}

impl Stores {
    /// The table (or the sentence that nothing matched) of the jobs as they are now.
    fn text(&self, args: &StatusArgs, pool_key: &str, printer: Printer) -> String {
        let (cronjobs, nodes) = (owned(&self.cronjobs), owned(&self.nodes));
        let jobs: Vec<JobFacts> = self.jobs.state().iter().map(|j| JobFacts::of(j)).collect();
        let pods: Vec<PodFacts> = self.pods.state().iter().map(|p| PodFacts::of(p)).collect();
        let failed_creates = blocked::failed_creates(&owned(&self.failed_create_events));
        let picture = Picture {
            cronjobs: &cronjobs,
            jobs: &jobs,
            pods: &pods,
            nodes: Some(&nodes),
            failed_creates: &failed_creates,
        };
        let statuses = args.statuses(picture, pool_key);
        if statuses.is_empty() {
            return format!("{}\n", args.nothing_found());
        }
        health::table(
            &statuses,
            args.layout(args.output.output, false, printer),
            Utc::now(),
        )
        .to_string()
    }
}

/// What `--watch` keeps between events, besides the objects.
struct Watching<'a> {
    cluster: &'a Cluster,
    namespace: Option<&'a str>,
    printer: Printer,
    reconnecting: Reconnecting,
    /// Each watch says once when its first full list has arrived; draw only after all five.
    lists_done: usize,
}

impl Watching<'_> {
    /// Takes in one event: counts a full list, and tells when an outage starts (once) and
    /// ends; 410 Gone and a quiet watch timing out are routine and not told. The watches
    /// ride all of them out by themselves; an error that no retry mends ends `--watch`.
    fn take(&mut self, event: Result<bool, watcher::Error>) -> Result<(), Error> {
        match event {
            Ok(init_done) => {
                self.lists_done += usize::from(init_done);
                if let Some(line) = self.reconnecting.back() {
                    self.printer.info(line);
                }
            }
            Err(error) => match interruption(&error) {
                Some(Interruption::Outage(cause)) => {
                    if let Some(line) = self.reconnecting.lost(&cause) {
                        self.printer.warn(line);
                    }
                }
                Some(Interruption::Routine) => {}
                None => {
                    return Err(failure(self.cluster, operation(self.namespace), error));
                }
            },
        }
        Ok(())
    }
}

/// What a failed watch of `--watch` names.
fn operation(namespace: Option<&str>) -> Operation {
    let operation = Operation::new("watch", "cronjobs, jobs, pods, nodes and events");
    match namespace {
        Some(ns) => operation.in_namespace(ns),
        None => operation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<StatusArgs, clap::Error> {
        crate::cli::try_parse(args)
    }

    #[test]
    fn named_jobs_are_shown_whoever_made_them() {
        let all = parse(&["-l", "team=ops"]).unwrap();
        assert_eq!(
            all.cronjob_selector(),
            "app.kubernetes.io/managed-by=kuul,team=ops"
        );
        let named = parse(&["backup-db", "-l", "team=ops"]).unwrap();
        assert_eq!(named.cronjob_selector(), "team=ops");
        assert_eq!(parse(&["backup-db"]).unwrap().cronjob_selector(), "");
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for bad in [
            &["Backup_DB"][..],
            &["-l", "team in (ops"],
            &["--pool", "Not A Pool"],
            &["--watch", "-o", "json"],
        ] {
            let error = parse(bad).unwrap().check_input().unwrap_err();
            assert_eq!(
                error.exit_status(),
                crate::error::ExitStatus::Usage,
                "{bad:?}: {error}"
            );
        }
        assert!(parse(&["--watch", "--check"]).is_err());
    }
}
