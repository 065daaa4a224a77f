//! Checking a `-l/--selector` before anything is sent.
//!
//! A typo in a selector must stop a bulk command with exit 2 before it reads or writes
//! anything, and say what is wrong, instead of surfacing as an API server error (exit 1)
//! halfway through. The grammar is the one kubectl and the API server accept for label
//! selectors: comma-separated requirements `key`, `!key`, `key=value`, `key==value`,
//! `key!=value`, `key in (a,b)`, `key notin (a,b)`, and `key>N` / `key<N` with integers.
//! The string is still sent as typed: the API server remains the one that applies it.

use crate::error::Error;
use crate::kuul_job::{Invalid, check_label_key, check_label_value};

const SYNTAX: &str =
    "comma-separated requirements like app=web, tier!=db, env in (prod,staging), !canary";

/// Checks a selector given with `flag` (e.g. `--selector`).
pub fn check(flag: &str, selector: &str) -> Result<(), Error> {
    problem(selector).map_err(|problem| Error::InvalidInput {
        message: format!("invalid {flag} {selector:?}: {problem}"),
        hint: Some(format!("a label selector is {SYNTAX}")),
    })
}

/// What is wrong with `selector`, if anything.
fn problem(selector: &str) -> Result<(), String> {
    if selector.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    for requirement in requirements(selector)? {
        check_requirement(requirement.trim())?;
    }
    Ok(())
}

/// Splits at the commas that are not inside `( )`.
fn requirements(selector: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0_u32;
    let mut start = 0;
    for (at, c) in selector.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            '(' => return Err("has nested parentheses".to_owned()),
            ')' if depth == 1 => depth = 0,
            ')' => return Err("has a ')' without '('".to_owned()),
            ',' if depth == 0 => {
                parts.push(&selector[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("has a '(' without ')'".to_owned());
    }
    parts.push(&selector[start..]);
    Ok(parts)
}

fn check_requirement(requirement: &str) -> Result<(), String> {
    if requirement.is_empty() {
        return Err("has an empty requirement (two commas, or a comma at an end)".to_owned());
    }
    if let Some(key) = requirement.strip_prefix('!') {
        return key_ok(key.trim());
    }
    if let Some(at) = requirement.find(['=', '!', '<', '>']) {
        let key = requirement[..at].trim();
        let rest = &requirement[at..];
        let (operator, value) = ["==", "!=", "=", "<", ">"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|value| (*op, value.trim())))
            .ok_or_else(|| format!("{requirement:?} has no operator after {key:?}"))?;
        key_ok(key)?;
        if matches!(operator, "<" | ">") {
            return value
                .parse::<i64>()
                .map(|_| ())
                .map_err(|_| format!("{key}{operator} needs an integer, not {value:?}"));
        }
        return value_ok(value);
    }
    let mut words = requirement.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    if rest.is_empty() {
        return key_ok(key);
    }
    key_ok(key)?;
    let values = rest
        .strip_prefix("notin")
        .or_else(|| rest.strip_prefix("in"))
        .map(str::trim_start)
        .and_then(|list| list.strip_prefix('('))
        .and_then(|list| list.strip_suffix(')'))
        .ok_or_else(|| format!("{requirement:?} is not `{key} in (...)` or `{key} notin (...)`"))?;
    for value in values.split(',') {
        value_ok(value.trim())?;
    }
    Ok(())
}

fn key_ok(key: &str) -> Result<(), String> {
    check_label_key("key", key).map_err(|invalid| describe(&invalid))
}

fn value_ok(value: &str) -> Result<(), String> {
    check_label_value("value", value).map_err(|invalid| describe(&invalid))
}

fn describe(invalid: &Invalid) -> String {
    format!("{} {:?} {}", invalid.field, invalid.value, invalid.problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_kubectl_accepts_passes() {
        for good in [
            "app=web",
            "app==web",
            "app!=web",
            "!canary",
            "canary",
            "app.kubernetes.io/managed-by=kuul,kuul.io/pool in (prod, internal)",
            "env notin (a,b),tier",
            "kuul.io/window=night , team = ops",
            "priority>5",
            "app=",
        ] {
            assert!(problem(good).is_ok(), "{good:?}: {:?}", problem(good));
        }
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("", "is empty"),
            ("app=web,", "empty requirement"),
            ("app=we b", "value \"we b\" is not a valid label value"),
            ("a=b=c", "value \"b=c\""),
            ("-bad=x", "key \"-bad\" is not a valid label key"),
            ("env in (a,b", "'(' without ')'"),
            ("env in a,b)", "')' without '('"),
            ("env within (a)", "is not `env in (...)`"),
            ("priority>high", "needs an integer"),
            ("app=~web", "value \"~web\""),
        ];
        for (bad, expected) in cases {
            let problem = problem(bad).unwrap_err();
            assert!(problem.contains(expected), "{bad:?}: {problem}");
        }
    }

    #[test]
    fn the_error_names_the_flag_and_is_a_usage_error() {
        let error = check("--selector", "a=b=c").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"invalid --selector "a=b=c": value "b=c" is not a valid label value"#
        );
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        assert!(error.hint().unwrap().contains("env in (prod,staging)"));
    }
}
