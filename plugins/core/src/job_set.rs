//! Job sets as code: the jobs files of `kubectl kuul apply -f` and `diff -f`, read,
//! checked and rendered into the `CronJob`s they stand for.
//!
//! Teams keep their periodic jobs in a repository and let automation apply them, so a
//! file must fail review, not the cluster: every job goes through the same renderer and
//! validators as `kubectl kuul new` ([`KuulJob`], or the team's Jinja template), a key
//! kuul does not know is an error with its file and line, and all errors of all files are
//! collected so that one run lists everything to fix. Nothing here does network I/O; the
//! files are read, then everything else is pure.
//!
//! A file has three parts: `set:` names the job set (the label `kuul.io/set` on each
//! `CronJob`, which pruning selects by); `defaults:` holds what every job gets unless it
//! says otherwise; `jobs:` lists the jobs. Several files may be given (or a directory of
//! `*.yaml`/`*.yml` files); they must name the same set, and job names must be unique
//! within a namespace.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::CronJob;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::Config;
use crate::error::Error;
use crate::kuul_job::{Defaults, Invalid, KuulJob, Request, check_cronjob, check_label_value};
use crate::template;
use crate::yaml;

/// The label naming the job set a `CronJob` belongs to.
pub const SET_LABEL: &str = "kuul.io/set";

/// One jobs file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsFile {
    set: Spanned<String>,
    #[serde(default)]
    defaults: JobFields,
    #[serde(default)]
    jobs: Vec<Spanned<JobEntry>>,
}

/// A job of the `jobs:` list: its name and schedule, and any field of `defaults:` but the
/// namespace. The shared fields are spelt out rather than flattened in, because the
/// parser can only point at the line of an unknown key in a struct it reads directly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JobEntry {
    name: String,
    schedule: String,
    /// Suspended (`true`) or running (`false`); left out, the cluster's value stays.
    suspend: Option<bool>,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    image: Option<String>,
    tz: Option<String>,
    pool: Option<String>,
    dedicated: Option<bool>,
    resources: Option<Resources>,
    history_limits: Option<HistoryLimits>,
    active_deadline: Option<Scalar>,
    starting_deadline: Option<Scalar>,
    working_dir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, Scalar>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    image_pull_secrets: Option<Vec<String>>,
    template: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, Scalar>,
}

impl JobEntry {
    /// The fields this job shares with `defaults:`.
    fn fields(&self) -> JobFields {
        JobFields {
            namespace: None,
            image: self.image.clone(),
            tz: self.tz.clone(),
            pool: self.pool.clone(),
            dedicated: self.dedicated,
            resources: self.resources.clone(),
            history_limits: self.history_limits.clone(),
            active_deadline: self.active_deadline.clone(),
            starting_deadline: self.starting_deadline.clone(),
            working_dir: self.working_dir.clone(),
            env: self.env.clone(),
            labels: self.labels.clone(),
            image_pull_secrets: self.image_pull_secrets.clone(),
            template: self.template.clone(),
            vars: self.vars.clone(),
        }
    }
}

/// What `defaults:` may set, and each job may override.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JobFields {
    /// The namespace of every job of the file (`defaults:` only).
    namespace: Option<String>,
    image: Option<String>,
    tz: Option<String>,
    pool: Option<String>,
    dedicated: Option<bool>,
    resources: Option<Resources>,
    history_limits: Option<HistoryLimits>,
    active_deadline: Option<Scalar>,
    starting_deadline: Option<Scalar>,
    working_dir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, Scalar>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    image_pull_secrets: Option<Vec<String>>,
    /// A Jinja template file, relative to the jobs file.
    template: Option<String>,
    /// Variables of the template.
    #[serde(default)]
    vars: BTreeMap<String, Scalar>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resources {
    cpu: Option<Scalar>,
    memory: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryLimits {
    successful: Option<i32>,
    failed: Option<i32>,
}

/// A value that may be written as a number or a string (`cpu: 1`, `startingDeadline: 300`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Integer(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Integer(n) => write!(f, "{n}"),
            Scalar::Float(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Text(text) => f.write_str(text),
        }
    }
}

/// One problem in the jobs files: where, which job, which field, what is wrong, and
/// what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub job: Option<String>,
    pub field: Option<String>,
    pub message: String,
    pub allowed: Option<String>,
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(job) = &self.job {
            write!(f, ": job {job}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A job of the set, rendered and checked; its namespace is decided per cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredJob {
    pub name: String,
    /// The file's `defaults.namespace`, if it sets one.
    pub namespace: Option<String>,
    /// The `CronJob` to apply, with the set label and without a namespace.
    pub cronjob: CronJob,
    pub file: PathBuf,
    pub line: u64,
}

/// Every job of one set, from one or more files.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSet {
    pub name: String,
    pub jobs: Vec<DesiredJob>,
    /// The namespaces the files name in `defaults.namespace` (`None`: the cluster's).
    pub namespaces: Vec<Option<String>>,
}

/// The files `-f` names: files as given, directories as their `*.yaml` and `*.yml`
/// files, sorted, not recursing.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|error| unreadable(path, &error))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            if found.is_empty() {
                return Err(Error::InvalidInput {
                    message: format!(
                        "invalid -f {}: the directory holds no *.yaml or *.yml file",
                        path.display()
                    ),
                    hint: Some(
                        "-f takes a jobs file, or a directory whose *.yaml and *.yml files are jobs files (subdirectories are not read)"
                            .to_owned(),
                    ),
                });
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn unreadable(path: &Path, error: &std::io::Error) -> Error {
    Error::InvalidInput {
        message: format!(
            "cannot read -f {}: {}",
            path.display(),
            crate::error::io_cause(error)
        ),
        hint: Some("check the path given with -f".to_owned()),
    }
}

/// Reads, checks and renders the files; any problem in any of them fails the whole set
/// with every problem listed (exit 2).
pub fn load(paths: &[PathBuf], config: &Config) -> Result<JobSet, Error> {
    let mut sources = Vec::new();
    for path in expand_paths(paths)? {
        let text = std::fs::read_to_string(&path).map_err(|error| unreadable(&path, &error))?;
        let template_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let templates = TemplateSource::Files(template_dir);
        sources.push((path, text, templates));
    }
    let files: Vec<(&Path, &str, &TemplateSource)> = sources
        .iter()
        .map(|(path, text, templates)| (path.as_path(), text.as_str(), templates))
        .collect();
    build(&files, config).map_err(|errors| invalid_set(&errors))
}

/// Where a file's templates come from: files beside it, or (in tests) given texts.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Files(PathBuf),
    Texts(BTreeMap<String, String>),
}

impl TemplateSource {
    fn read(&self, name: &str) -> Result<(PathBuf, String), String> {
        match self {
            TemplateSource::Files(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path)
                    .map(|text| (path.clone(), text))
                    .map_err(|error| {
                        format!(
                            "cannot read template {}: {}",
                            path.display(),
                            crate::error::io_cause(&error)
                        )
                    })
            }
            TemplateSource::Texts(texts) => texts
                .get(name)
                .map(|text| (PathBuf::from(name), text.clone()))
                .ok_or_else(|| format!("cannot read template {name}: no such file")),
        }
    }
}

/// What to read when a problem does not say what would be right.
const KEYS_HINT: &str = "`kubectl kuul apply --help` shows a jobs file and lists its keys";

/// The error for the problems of a set: one problem in one sentence with what would be
/// right as the hint; several as a list, each with what would be right.
fn invalid_set(errors: &[SetError]) -> Error {
    if let [error] = errors {
        return Error::InvalidInput {
            message: error.to_string(),
            hint: Some(
                error
                    .allowed
                    .clone()
                    .unwrap_or_else(|| KEYS_HINT.to_owned()),
            ),
        };
    }
    let lines: Vec<String> = errors
        .iter()
        .map(|error| match &error.allowed {
            Some(allowed) => format!("{error}; {allowed}"),
            None => error.to_string(),
        })
        .collect();
    Error::InvalidInput {
        message: format!(
            "the jobs files have {} errors; nothing was applied:\n  {}",
            errors.len(),
            lines.join("\n  ")
        ),
        hint: Some(format!("fix them and run again; {KEYS_HINT}")),
    }
}

/// Parses and renders `files` (path, text, where its templates are): the pure core of
/// [`load`].
pub fn build(
    files: &[(&Path, &str, &TemplateSource)],
    config: &Config,
) -> Result<JobSet, Vec<SetError>> {
    let mut errors = Vec::new();
    let mut set_name: Option<(String, PathBuf)> = None;
    let mut jobs: Vec<DesiredJob> = Vec::new();
    let mut namespaces = Vec::new();
    for (path, text, templates) in files {
        let file = match serde_saphyr::from_str::<JobsFile>(text) {
            Ok(file) => file,
            Err(error) => {
                errors.push(unreadable_file(path, text, &error));
                continue;
            }
        };
        let set = &file.set;
        errors.extend(set_errors(
            &set.value,
            set.referenced.line(),
            path,
            set_name.as_ref(),
        ));
        if set_name.is_none() {
            set_name = Some((set.value.clone(), path.to_path_buf()));
        }
        namespaces.push(file.defaults.namespace.clone());
        for entry in &file.jobs {
            let line = entry.referenced.line();
            let job = &entry.value;
            let error = |problem: FieldProblem| SetError {
                file: path.to_path_buf(),
                line: Some(line),
                job: Some(job.name.clone()),
                field: problem.field,
                message: problem.message,
                allowed: problem.allowed,
            };
            match render(job, &file.defaults, &set.value, templates, config) {
                Ok(cronjob) => {
                    let namespace = file.defaults.namespace.clone();
                    if let Some(first) = jobs
                        .iter()
                        .find(|other| other.name == job.name && other.namespace == namespace)
                    {
                        let at = if first.file == *path {
                            format!("line {}", first.line)
                        } else {
                            format!("{}:{}", first.file.display(), first.line)
                        };
                        errors.push(error(FieldProblem::new(
                            "name",
                            format!("{:?} is listed twice (first at {at})", job.name),
                            "job names are unique within a namespace: rename or remove one",
                        )));
                        continue;
                    }
                    jobs.push(DesiredJob {
                        name: job.name.clone(),
                        namespace,
                        cronjob,
                        file: path.to_path_buf(),
                        line,
                    });
                }
                Err(problems) => errors.extend(problems.into_iter().map(error)),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let name = set_name.map(|(name, _)| name).unwrap_or_default();
    namespaces.dedup();
    Ok(JobSet {
        name,
        jobs,
        namespaces,
    })
}

/// A file the parser could not read into a jobs file: where, and in which job, it
/// stopped, and why.
fn unreadable_file(path: &Path, text: &str, error: &serde_saphyr::Error) -> SetError {
    let problem = yaml::problem(text, error);
    // `jobs.resources.cpu` in job `a` reads as the job's `resources.cpu`.
    let (job, field) = match (problem.key.as_deref(), &problem.item) {
        (Some("jobs"), Some(job)) => (Some(job.clone()), None),
        (Some(key), Some(job)) if key.starts_with("jobs.") => {
            (Some(job.clone()), Some(key["jobs.".len()..].to_owned()))
        }
        (key, _) => (None, key.map(str::to_owned)),
    };
    let allowed = problem.allowed.or_else(|| match (&field, &job) {
        (Some(field), _) => key_hint(field).map(str::to_owned),
        (None, Some(_)) => problem.message.starts_with("missing key").then(|| {
            "every job has a name: and a schedule:, e.g. `- name: backup` with `schedule: '0 2 * * *'`"
                .to_owned()
        }),
        (None, None) => Some(
            "a jobs file is a mapping of set:, defaults: and jobs:; `kubectl kuul apply --help` shows one"
                .to_owned(),
        ),
    });
    SetError {
        file: path.to_path_buf(),
        line: problem.line,
        job,
        field,
        message: problem.message,
        allowed,
    }
}

/// What a key of a jobs file takes, as the hint when its value has the wrong type or
/// shape.
fn key_hint(key: &str) -> Option<&'static str> {
    Some(match key.strip_prefix("defaults.").unwrap_or(key) {
        "set" => "the name of the job set, e.g. set: team-ops",
        "jobs" => "a list of jobs, each `- name: NAME` with its schedule: and other keys",
        "defaults" => "a mapping of what every job gets, e.g. defaults: {image: IMAGE, pool: prod}",
        "historyLimits" => "historyLimits: {successful: N, failed: N}",
        "historyLimits.successful" | "historyLimits.failed" => {
            "the number of runs to keep, 0 or more"
        }
        "resources" => "resources: {cpu: 500m, memory: 512Mi}",
        "suspend" => "true (suspended) or false (running); left out, the cluster's value stays",
        "dedicated" => "true to tolerate the pool's taint, or false",
        "env" => "a mapping of NAME: VALUE, e.g. env: {REGION: eu}",
        "labels" => "a mapping of KEY: VALUE, e.g. labels: {team: ops}",
        "vars" => "a mapping of NAME: VALUE, e.g. vars: {team: ops}",
        "command" => "a list of words, e.g. command: [./backup.sh, --full]",
        "args" => "a list of words, e.g. args: [prod-db]",
        "imagePullSecrets" => "a list of Secret names, e.g. imagePullSecrets: [registry-login]",
        _ => return None,
    })
}

/// What is wrong with a file's `set:` (at `line`): empty, not a label value, or not the
/// set of the first file (`first`).
fn set_errors(
    set: &str,
    line: u64,
    path: &Path,
    first: Option<&(String, PathBuf)>,
) -> Vec<SetError> {
    let at = |problem: FieldProblem| SetError {
        file: path.to_path_buf(),
        line: Some(line),
        job: None,
        field: problem.field,
        message: problem.message,
        allowed: problem.allowed,
    };
    let mut errors = Vec::new();
    if set.is_empty() {
        errors.push(at(FieldProblem::new(
            "set",
            "is empty".to_owned(),
            "the name of the job set, e.g. set: team-ops",
        )));
    } else if let Err(invalid) = check_label_value("set", set) {
        errors.push(at(FieldProblem::from(invalid)));
    }
    if let Some((name, first)) = first
        && name != set
    {
        errors.push(at(FieldProblem::new(
            "set",
            format!("{set:?} differs from {:?} in {}", name, first.display()),
            "the files given together make one job set: apply each set on its own",
        )));
    }
    errors
}

/// The file's key for a field the renderer names by its `new` flag.
fn file_key(field: &str) -> String {
    match field.trim_start_matches("--") {
        "NAME" => "name".to_owned(),
        "tz" => "tz".to_owned(),
        "cpu" => "resources.cpu".to_owned(),
        "memory" => "resources.memory".to_owned(),
        "history-success" => "historyLimits.successful".to_owned(),
        "history-failed" => "historyLimits.failed".to_owned(),
        "image-pull-secret" => "imagePullSecrets".to_owned(),
        "label" => "labels".to_owned(),
        other => {
            let mut key = String::new();
            let mut upper = false;
            for c in other.chars() {
                if c == '-' {
                    upper = true;
                } else if upper {
                    key.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    key.push(c);
                }
            }
            key
        }
    }
}

/// What is wrong with one field of a job (named as the file names it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldProblem {
    field: Option<String>,
    message: String,
    allowed: Option<String>,
}

impl FieldProblem {
    fn new(field: &str, message: String, allowed: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            message,
            allowed: Some(allowed.to_owned()),
        }
    }
}

impl From<Invalid> for FieldProblem {
    /// A rejection by [`KuulJob::new`] or [`check_cronjob`], its field named as the file
    /// names it.
    fn from(invalid: Invalid) -> Self {
        // `the value "ops team" is ...` is about a part of the value, after a colon.
        let colon = if invalid.problem.starts_with("the ") {
            ":"
        } else {
            ""
        };
        Self {
            field: Some(file_key(&invalid.field)),
            message: format!("{:?}{colon} {}", invalid.value, invalid.problem),
            allowed: Some(invalid.allowed),
        }
    }
}

impl From<Error> for FieldProblem {
    /// A template's or its variables' error, which names the template itself.
    fn from(error: Error) -> Self {
        let message = error.to_string();
        Self {
            field: Some("template".to_owned()),
            allowed: error.hint(),
            message: message
                .strip_prefix("template ")
                .map_or_else(|| message.clone(), str::to_owned),
        }
    }
}

/// The job's fields over the file's defaults, as the flags of `new` would give them.
fn request(job: &JobEntry, defaults: &JobFields) -> Result<Request, FieldProblem> {
    let own = &job.fields();
    let pick = |get: fn(&JobFields) -> Option<String>| get(own).or_else(|| get(defaults));
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in defaults.env.iter().chain(&own.env) {
        env.insert(key.clone(), value.to_string());
    }
    let mut labels: BTreeMap<String, String> = defaults.labels.clone();
    labels.extend(own.labels.clone());
    if let Some(value) = labels.get(SET_LABEL) {
        return Err(FieldProblem::new(
            "labels",
            format!("{SET_LABEL}={value} is kuul's label for the job set"),
            "kuul sets it from `set:`; leave it out of labels",
        ));
    }
    let image = pick(|f| f.image.clone()).ok_or_else(|| {
        FieldProblem::new(
            "image",
            "is missing".to_owned(),
            "give image: in the job, or in defaults: for every job",
        )
    })?;
    let resources = |get: fn(&Resources) -> Option<String>| {
        own.resources
            .as_ref()
            .and_then(get)
            .or_else(|| defaults.resources.as_ref().and_then(get))
    };
    let limits = |get: fn(&HistoryLimits) -> Option<i32>| {
        own.history_limits
            .as_ref()
            .and_then(get)
            .or_else(|| defaults.history_limits.as_ref().and_then(get))
    };
    let request = Request {
        name: job.name.clone(),
        namespace: defaults.namespace.clone(),
        image,
        schedule: job.schedule.clone(),
        time_zone: pick(|f| f.tz.clone()),
        pool: pick(|f| f.pool.clone()),
        dedicated: own.dedicated.or(defaults.dedicated).unwrap_or(false),
        cpu: resources(|r| r.cpu.as_ref().map(ToString::to_string)),
        memory: resources(|r| r.memory.clone()),
        env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        working_dir: pick(|f| f.working_dir.clone()),
        active_deadline: pick(|f| f.active_deadline.as_ref().map(ToString::to_string)),
        starting_deadline: pick(|f| f.starting_deadline.as_ref().map(ToString::to_string)),
        history_success: limits(|l| l.successful),
        history_failed: limits(|l| l.failed),
        image_pull_secrets: own
            .image_pull_secrets
            .clone()
            .or_else(|| defaults.image_pull_secrets.clone())
            .unwrap_or_default(),
        labels: labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        command: job.command.clone().unwrap_or_default(),
    };
    for (field, value) in [
        ("historyLimits.successful", request.history_success),
        ("historyLimits.failed", request.history_failed),
    ] {
        if let Some(n) = value.filter(|n| *n < 0) {
            return Err(FieldProblem::new(
                field,
                format!("{n} is negative"),
                "the number of runs to keep, 0 or more",
            ));
        }
    }
    Ok(request)
}

/// One job through `new`'s renderer: its fields over the file's defaults over the config.
fn render(
    job: &JobEntry,
    defaults: &JobFields,
    set: &str,
    templates: &TemplateSource,
    config: &Config,
) -> Result<CronJob, Vec<FieldProblem>> {
    let own = &job.fields();
    let pick = |get: fn(&JobFields) -> Option<String>| get(own).or_else(|| get(defaults));
    let request = request(job, defaults).map_err(|problem| vec![problem])?;
    let kuul_job = every_problem(request, &config.defaults).map_err(|problems| {
        problems
            .into_iter()
            .map(FieldProblem::from)
            .collect::<Vec<_>>()
    })?;
    let mut cronjob = if let Some(name) = pick(|f| f.template.clone()) {
        let (path, source) = templates.read(&name).map_err(|message| {
            vec![FieldProblem::new(
                "template",
                message,
                "a Jinja template file, relative to the jobs file",
            )]
        })?;
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in defaults.vars.iter().chain(&own.vars) {
            vars.insert(key.clone(), value.to_string());
        }
        let items: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let variables = template::variables(&items).map_err(|error| {
            vec![FieldProblem {
                field: Some("vars".to_owned()),
                ..FieldProblem::from(error)
            }]
        })?;
        template::render(&source, &path, &kuul_job, &variables)
            .map_err(|error| vec![FieldProblem::from(error)])?
    } else if !own.vars.is_empty() || !defaults.vars.is_empty() {
        return Err(vec![FieldProblem::new(
            "vars",
            "are given without a template".to_owned(),
            "vars: are the variables of template:; set template: too, or drop vars:",
        )]);
    } else {
        kuul_job.to_cronjob()
    };
    if let Some(args) = &job.args {
        let Some(container) = cronjob
            .spec
            .job_template
            .spec
            .as_mut()
            .and_then(|spec| spec.template.spec.as_mut())
            .and_then(|pod| pod.containers.first_mut())
        else {
            return Err(vec![FieldProblem::new(
                "args",
                "has no container to go to: the template renders none".to_owned(),
                "a template whose CronJob has a container",
            )]);
        };
        container.args = Some(args.clone());
    }
    check_cronjob(&cronjob).map_err(|invalid| vec![FieldProblem::from(invalid)])?;
    cronjob.metadata.namespace = None;
    cronjob
        .metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SET_LABEL.to_owned(), set.to_owned());
    cronjob.spec.suspend = job.suspend;
    Ok(cronjob)
}

/// Checks the request as `new` does, but reports every invalid field, not only the first:
/// after each rejection the field is set aside (left out, or given a valid stand-in) and
/// the request checked again. A field rejected twice stops the search.
fn every_problem(mut request: Request, defaults: &Defaults) -> Result<KuulJob, Vec<Invalid>> {
    let mut problems: Vec<Invalid> = Vec::new();
    loop {
        match KuulJob::new(request.clone(), defaults) {
            Ok(job) if problems.is_empty() => return Ok(job),
            Ok(_) => return Err(problems),
            Err(invalid) => {
                let again = problems.iter().any(|p| p.field == invalid.field);
                let set_aside = !again && set_aside(&mut request, &invalid.field);
                problems.push(invalid);
                if !set_aside {
                    return Err(problems);
                }
            }
        }
    }
}

/// Replaces a rejected field (named as `new` names it) by something that passes; false
/// for a field that cannot be set aside.
fn set_aside(request: &mut Request, field: &str) -> bool {
    match field {
        "NAME" => "stand-in".clone_into(&mut request.name),
        "--namespace" => request.namespace = None,
        "--image" => "stand-in".clone_into(&mut request.image),
        "--schedule" => "@daily".clone_into(&mut request.schedule),
        "--tz" => request.time_zone = None,
        "--pool" | "--dedicated" => {
            request.pool = None;
            request.dedicated = false;
        }
        "--cpu" => request.cpu = None,
        "--memory" => request.memory = None,
        "--env" => request.env.clear(),
        "--working-dir" => request.working_dir = None,
        "--active-deadline" => request.active_deadline = None,
        "--starting-deadline" => request.starting_deadline = None,
        "--image-pull-secret" => request.image_pull_secrets.clear(),
        "--label" => request.labels.clear(),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../tests/fixtures/new/template.yaml.j2");

    fn build_one(text: &str) -> Result<JobSet, Vec<SetError>> {
        let templates = TemplateSource::Texts(BTreeMap::from([(
            "cronjob.yaml.j2".to_owned(),
            TEMPLATE.to_owned(),
        )]));
        build(
            &[(Path::new("jobs.yaml"), text, &templates)],
            &Config::merge(&[]),
        )
    }

    const GOOD: &str = "\
set: ops
defaults:
  namespace: ops
  image: registry.example.com/ops/kuul:v3
  pool: internal
  resources: {cpu: 1, memory: 256Mi}
  startingDeadline: 120
  env: {REGION: eu}
jobs:
  - name: backup-db
    schedule: '0 2 * * *'
    tz: Europe/Berlin
    pool: prod
    command: [./backup.sh]
    args: [prod-db]
    env: {MODE: full}
  - name: smoke
    schedule: '*/5 * * * *'
    template: cronjob.yaml.j2
    vars: {team: web}
    suspend: true
";

    #[test]
    fn jobs_get_defaults_the_set_label_and_their_own_fields() {
        let set = build_one(GOOD).unwrap();
        assert_eq!(set.name, "ops");
        assert_eq!(set.namespaces, [Some("ops".to_owned())]);
        let backup = &set.jobs[0];
        assert_eq!(backup.line, 10);
        assert_eq!(backup.namespace.as_deref(), Some("ops"));
        let cronjob = &backup.cronjob;
        assert_eq!(cronjob.metadata.namespace, None);
        let labels = cronjob.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[SET_LABEL], "ops");
        assert_eq!(labels["kuul.io/pool"], "prod");
        assert_eq!(cronjob.spec.suspend, None);
        assert_eq!(cronjob.spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(cronjob.spec.starting_deadline_seconds, Some(120));
        let pod = cronjob.spec.job_template.spec.as_ref().unwrap();
        let container = &pod.template.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            container.command.as_deref(),
            Some(&["./backup.sh".to_owned()][..])
        );
        assert_eq!(container.args.as_deref(), Some(&["prod-db".to_owned()][..]));
        let env: Vec<(String, String)> = container
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            env,
            [
                ("MODE".to_owned(), "full".to_owned()),
                ("REGION".to_owned(), "eu".to_owned())
            ]
        );
        let limits = container
            .resources
            .as_ref()
            .unwrap()
            .limits
            .as_ref()
            .unwrap();
        assert_eq!(limits["cpu"].0, "1");
        let smoke = &set.jobs[1].cronjob;
        assert_eq!(smoke.spec.suspend, Some(true));
        assert_eq!(smoke.metadata.labels.as_ref().unwrap()["team"], "web");
        assert_eq!(smoke.metadata.labels.as_ref().unwrap()[SET_LABEL], "ops");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let errors =
            build_one("set: ops\njobs:\n  - name: a\n    schedule: '@daily'\n    imagee: x\n")
                .unwrap_err();
        assert_eq!(errors.len(), 1);
        let text = errors[0].to_string();
        assert!(
            text.starts_with("jobs.yaml:5: job a: unknown key \"imagee\""),
            "{text}"
        );
        let allowed = errors[0].allowed.as_deref().unwrap_or_default();
        assert!(
            allowed.starts_with("the keys here are name, schedule"),
            "{allowed}"
        );
    }

    #[test]
    fn every_invalid_job_is_reported_with_file_line_job_and_field() {
        let text = "\
set: ops
defaults:
  image: kuul-base:busybox
jobs:
  - name: Bad_Name
    schedule: '@daily'
  - name: ok
    schedule: '@daily'
  - name: late
    schedule: '0 0 * * 8'
  - name: zone
    schedule: '@daily'
    tz: Mars/Olympus
  - name: ok
    schedule: '@hourly'
  - name: hungry
    schedule: '@daily'
    resources: {memory: lots}
";
        let errors: Vec<String> = build_one(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(
            errors[0].starts_with("jobs.yaml:5: job Bad_Name: name: "),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("jobs.yaml:9: job late: schedule: \"0 0 * * 8\""),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("jobs.yaml:11: job zone: tz: "),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].starts_with(
                "jobs.yaml:14: job ok: name: \"ok\" is listed twice (first at line 7)"
            ),
            "{}",
            errors[3]
        );
        assert!(
            errors[4].starts_with("jobs.yaml:16: job hungry: resources.memory: "),
            "{}",
            errors[4]
        );
    }

    #[test]
    fn every_invalid_field_of_one_job_is_reported() {
        let text = "set: ops\njobs:\n  - name: multi\n    image: UPPER/case\n    schedule: '61 * * * *'\n    tz: Nowhere\n    resources: {cpu: -1}\n    env: {1BAD: x}\n";
        let errors: Vec<String> = build_one(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let fields: Vec<&str> = errors
            .iter()
            .map(|e| e.split(": ").nth(2).unwrap_or_default())
            .collect();
        assert_eq!(
            fields,
            ["image", "schedule", "tz", "resources.cpu", "env"],
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .all(|e| e.starts_with("jobs.yaml:3: job multi: "))
        );
    }

    #[test]
    fn files_must_agree_on_the_set_and_jobs_need_an_image() {
        let templates = TemplateSource::Texts(BTreeMap::new());
        let a = "set: ops\njobs:\n  - {name: a, schedule: '@daily', image: kuul-base:busybox}\n";
        let b = "set: web\njobs:\n  - {name: b, schedule: '@daily'}\n";
        let errors = build(
            &[
                (Path::new("a.yaml"), a, &templates),
                (Path::new("b.yaml"), b, &templates),
            ],
            &Config::merge(&[]),
        )
        .unwrap_err();
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(
            errors[0].starts_with("b.yaml:1: set: \"web\" differs from \"ops\" in a.yaml"),
            "{}",
            errors[0]
        );
        assert_eq!(errors[1], "b.yaml:3: job b: image: is missing");
    }

    #[test]
    fn a_missing_template_and_kuul_labels_are_errors() {
        let text = "set: ops\ndefaults: {image: kuul-base:busybox}\njobs:\n  - {name: a, schedule: '@daily', template: nope.j2}\n  - {name: b, schedule: '@daily', labels: {kuul.io/set: x}}\n";
        let errors: Vec<String> = build_one(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors[0].contains("job a: template: cannot read template nope.j2"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("job b: labels: kuul.io/set=x is kuul's label for the job set"),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn invalid_sets_exit_2_listing_every_error() {
        let error = invalid_set(&build_one("set: ''\njobs: []\n").unwrap_err());
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        assert_eq!(error.to_string(), "jobs.yaml:1: set: is empty");
        assert_eq!(
            error.hint().as_deref(),
            Some("the name of the job set, e.g. set: team-ops")
        );
        let two = invalid_set(&build_one("set: ''\njobs: [{name: A, schedule: x}]\n").unwrap_err());
        let text = two.to_string();
        assert!(
            text.starts_with("the jobs files have 2 errors; nothing was applied:\n  jobs.yaml:1: set: is empty; the name of the job set"),
            "{text}"
        );
    }

    #[test]
    fn field_names_follow_the_file() {
        assert_eq!(file_key("--active-deadline"), "activeDeadline");
        assert_eq!(file_key("--working-dir"), "workingDir");
        assert_eq!(file_key("--schedule"), "schedule");
        assert_eq!(file_key("NAME"), "name");
    }
}
