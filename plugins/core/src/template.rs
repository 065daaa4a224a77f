//! `CronJob`s from a team's own Jinja template (`new --template FILE --set key=value`).
//!
//! Teams that need more than the built-in rendering (sidecars, volumes, tolerations)
//! keep a template, and teams coming from Ansible know Jinja, so templates are rendered
//! with minijinja. A template sees the validated job as `job` (the fields of
//! [`KuulJob`], camelCase) and each `--set` value as a top-level variable. Its output
//! is parsed into a typed `CronJob` and checked like the built-in rendering, so a
//! template cannot produce something `new` would refuse from flags.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::batch::v1::CronJob;
use minijinja::{Environment, UndefinedBehavior};

use crate::error::Error;
use crate::kuul_job::{KuulJob, check_cronjob, stamp_kuul_labels};
use crate::yaml;

/// `--set KEY=VALUE` items as template variables; `job` is taken.
pub fn variables(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut variables = BTreeMap::new();
    for item in items {
        let invalid = |problem: &str| {
            Error::InvalidInput {
            message: format!("invalid --set {item:?}: {problem}"),
            hint: Some(
                "KEY=VALUE, where KEY is letters, digits and '_', not starting with a digit, and not job"
                    .to_owned(),
            ),
        }
        };
        let Some((key, value)) = item.split_once('=') else {
            return Err(invalid("has no '='"));
        };
        let identifier = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(invalid(&format!("{key:?} is not a template variable name")));
        }
        if key == "job" {
            return Err(invalid(
                "job is taken: the template sees the Kuul job as `job`",
            ));
        }
        variables.insert(key.to_owned(), value.to_owned());
    }
    Ok(variables)
}

/// What a template is to produce, as the hint of its errors.
const SHAPE: &str = "a template renders one batch/v1 CronJob as YAML; `kubectl kuul new` without --template prints one to start from";

/// What a template can use, as the hint of an undefined variable.
const SEES: &str = "a template sees `job` (name, namespace, image, schedule, timeZone, pool, dedicated, poolLabelKey, cpu, memory, env, workingDir, command, activeDeadlineSeconds, startingDeadlineSeconds, historySuccess, historyFailed, imagePullSecrets, labels) and each --set variable";

/// Renders `source` (the template's text, `origin` its path for errors) for `job`, then
/// parses and checks the `CronJob` it produced and puts kuul's labels on it.
pub fn render(
    source: &str,
    origin: &Path,
    job: &KuulJob,
    variables: &BTreeMap<String, String>,
) -> Result<CronJob, Error> {
    let failed = |what: String, hint: &str| Error::InvalidInput {
        message: format!("template {}{what}", origin.display()),
        hint: Some(hint.to_owned()),
    };
    let mut environment = Environment::new();
    // A misspelt variable is an error, not an empty string in a manifest.
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    let mut context: BTreeMap<String, minijinja::Value> = variables
        .iter()
        .map(|(key, value)| (key.clone(), minijinja::Value::from(value.clone())))
        .collect();
    context.insert(
        "job".to_owned(),
        minijinja::Value::from(minijinja::value::Serde(job)),
    );
    let rendered = environment.render_str(source, context).map_err(|error| {
        let line = error.line().map_or_else(String::new, |l| format!(":{l}"));
        let detail = error.detail().map_or_else(String::new, |d| format!(": {d}"));
        let hint = if error.kind() == minijinja::ErrorKind::UndefinedError {
            SEES
        } else {
            "the template language is Jinja (minijinja): https://docs.rs/minijinja/latest/minijinja/syntax/"
        };
        failed(
            format!("{line} cannot be rendered: {}{detail}", error.kind()),
            hint,
        )
    })?;
    if yaml::is_blank(&rendered) {
        return Err(failed(
            " rendered nothing (only blank lines or comments)".to_owned(),
            SHAPE,
        ));
    }
    // Where in the output the parser stopped, since the template's own lines differ.
    let output_line = |problem: &yaml::Problem| {
        problem
            .line
            .map_or_else(String::new, |l| format!(" (line {l} of its output)"))
    };
    let object: serde_json::Value = serde_saphyr::from_str(&rendered).map_err(|error| {
        let problem = yaml::problem(&rendered, &error);
        failed(
            format!(": its output {problem}{}", output_line(&problem)),
            SHAPE,
        )
    })?;
    let field = |name: &str| object.get(name).and_then(serde_json::Value::as_str);
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if (api_version, kind) != (Some("batch/v1"), Some("CronJob")) {
        let shown = |value: Option<&str>, key: &str| {
            value.map_or_else(|| format!("no {key}"), |v| format!("{key} {v}"))
        };
        return Err(failed(
            format!(
                " rendered {}, {}: not a batch/v1 CronJob",
                shown(api_version, "apiVersion"),
                shown(kind, "kind")
            ),
            SHAPE,
        ));
    }
    let mut cronjob: CronJob = serde_saphyr::from_str(&rendered).map_err(|error| {
        let problem = yaml::problem(&rendered, &error);
        failed(
            format!(
                " rendered a CronJob that does not read: {problem}{}",
                output_line(&problem)
            ),
            SHAPE,
        )
    })?;
    stamp_kuul_labels(&mut cronjob);
    check_cronjob(&cronjob).map_err(|invalid| {
        let mut error = Error::from(invalid);
        if let Error::InvalidInput { message, .. } = &mut error {
            *message = format!("{message} (rendered by template {})", origin.display());
        }
        error
    })?;
    Ok(cronjob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuul_job::{Defaults, Request};

    fn job() -> KuulJob {
        KuulJob::new(
            Request {
                name: "smoke".to_owned(),
                image: "kuul-base:busybox".to_owned(),
                schedule: "*/5 * * * *".to_owned(),
                pool: Some("internal".to_owned()),
                ..Request::default()
            },
            &Defaults::default(),
        )
        .unwrap()
    }

    const TEMPLATE: &str = include_str!("../../../tests/fixtures/new/template.yaml.j2");

    #[test]
    fn a_template_sees_the_job_and_set_values() {
        let variables = variables(&["team=ops".to_owned()]).unwrap();
        let cronjob = render(TEMPLATE, Path::new("t.j2"), &job(), &variables).unwrap();
        assert_eq!(cronjob.metadata.name.as_deref(), Some("smoke"));
        assert_eq!(cronjob.metadata.labels.as_ref().unwrap()["team"], "ops");
        assert_eq!(
            cronjob.metadata.labels.as_ref().unwrap()["kuul.io/job"],
            "smoke"
        );
        let spec = cronjob.spec;
        assert_eq!(spec.schedule, "*/5 * * * *");
        let pod = spec.job_template.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.node_selector.unwrap()["kuul.io/pool"], "internal");
        assert_eq!(
            pod.tolerations.unwrap()[0].value.as_deref(),
            Some("internal")
        );
    }

    #[test]
    fn template_output_is_checked() {
        let bad = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x}\nspec:\n  schedule: '0 0 * * 7'\n  jobTemplate: {spec: {template: {spec: {containers: [{name: x, image: i}]}}}}\n";
        let error = render(bad, Path::new("t.j2"), &job(), &BTreeMap::new()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(r#"invalid spec.schedule "0 0 * * 7""#),
            "{error}"
        );
        assert!(
            error.to_string().ends_with("(rendered by template t.j2)"),
            "{error}"
        );
    }

    #[test]
    fn undefined_variables_and_non_cronjobs_are_errors() {
        let error = |source: &str| {
            render(source, Path::new("t.j2"), &job(), &BTreeMap::new())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("a: 1\nb: {{ nope }}"),
            "template t.j2:2 cannot be rendered: undefined value: `nope` is undefined"
        );
        assert_eq!(
            error("apiVersion: v1\nkind: Pod\n"),
            "template t.j2 rendered apiVersion v1, kind Pod: not a batch/v1 CronJob"
        );
        assert_eq!(
            error("{# later #}\n"),
            "template t.j2 rendered nothing (only blank lines or comments)"
        );
        assert_eq!(
            error("a: 1\n---\nb: 2\n"),
            "template t.j2: its output holds more than one YAML document (a `---` line) (line 3 of its output)"
        );
        assert_eq!(
            error("apiVersion: batch/v1\nkind: CronJob\nspec: {schedule: [1]}\n"),
            "template t.j2 rendered a CronJob that does not read: spec.schedule: expected a text value, found a list (line 3 of its output)"
        );
        assert!(variables(&["job=x".to_owned()]).is_err());
        assert!(variables(&["a-b=x".to_owned()]).is_err());
    }
}
