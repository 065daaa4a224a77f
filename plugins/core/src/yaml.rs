//! The YAML files people write by hand (jobs files, kuul config files, `kuul-image.yaml`)
//! and what a template renders: a parser's complaint, reworded to name the line, the key,
//! the value and what the key takes.
//!
//! serde-saphyr knows where it stopped but speaks in its own terms ("invalid i32",
//! "expected mapping start", "duplicate mapping key: set, set `DuplicateKeyPolicy` in
//! Options"). Here each complaint becomes a [`Problem`] in kuul's words; the key is read
//! back from the text at the parser's position (the keys open on that line, then the
//! block keys above it), so `historyLimits: {successful: many}` is reported as
//! `historyLimits.successful: "many" is not a whole number`. Pure: no I/O.

use std::fmt;

use serde_saphyr::Error as YamlError;

/// One thing wrong with a YAML text, as a person should read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based line the parser stopped at, where it knows it.
    pub line: Option<u64>,
    /// The key whose value is wrong, dotted (`historyLimits.successful`), where it can
    /// be told; `None` at the top of the document, or when the message names the key.
    pub key: Option<String>,
    /// The `name:` of the list item the problem is in (a job, a test case), if any.
    pub item: Option<String>,
    /// What is wrong, e.g. `"many" is not a whole number`.
    pub message: String,
    /// What would be right, where the parser says (the keys a mapping takes).
    pub allowed: Option<String>,
}

impl Problem {
    /// `:LINE`, to follow a file's name, or nothing where the line is not known.
    pub fn at_line(&self) -> String {
        self.line
            .map_or_else(String::new, |line| format!(":{line}"))
    }

    /// What would be right: the parser's word, else what `for_key` says the key takes,
    /// else `otherwise`.
    pub fn hint(&self, for_key: fn(&str) -> Option<&'static str>, otherwise: &str) -> String {
        self.allowed
            .clone()
            .or_else(|| self.key.as_deref().and_then(for_key).map(str::to_owned))
            .unwrap_or_else(|| otherwise.to_owned())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Whether `text` holds no YAML at all: nothing, blank lines or comments.
pub fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'))
}

/// `error`, met while reading `text`, as a [`Problem`].
pub fn problem(text: &str, error: &YamlError) -> Problem {
    let error = error.without_snippet();
    let at = error.location().map(|l| (l.line(), l.column()));
    let line = at.map(|(line, _)| line);
    let (key, item) = at.map_or((None, None), |(line, column)| {
        context_at(text, line, column)
    });
    let value = at.map(|(line, column)| value_at(text, line, column));
    let value = value.as_deref().unwrap_or_default();
    let plain = |message: String| Problem {
        line,
        key: key.clone(),
        item: item.clone(),
        message,
        allowed: None,
    };
    match error {
        YamlError::Eof { .. } => Problem {
            key: None,
            ..plain("has no content: the file is empty or only comments".to_owned())
        },
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => Problem {
            allowed: Some(format!("the keys here are {}", expected.join(", "))),
            ..plain(format!("unknown key {field:?}"))
        },
        YamlError::SerdeMissingField { field, .. } => plain(format!("missing key {field:?}")),
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => Problem {
            allowed: Some(format!("one of {}", expected.join(", "))),
            ..plain(format!("{variant:?} is not allowed"))
        },
        YamlError::DuplicateMappingKey { key: dup, .. } => Problem {
            allowed: Some("give each key once".to_owned()),
            ..plain(match dup {
                Some(dup) => format!("key {dup:?} is given twice"),
                None => "a key is given twice".to_owned(),
            })
        },
        YamlError::InvalidScalar { ty, .. } => {
            plain(format!("{value:?} is not {}", scalar_kind(ty)))
        }
        YamlError::InvalidBooleanStrict { .. } => plain(format!("{value:?} is not true or false")),
        YamlError::Unexpected { expected, .. } => plain(format!(
            "expected {}, found {}",
            node_kind(expected),
            found_at(text, at)
        )),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => plain(format!("expected {expected}, found {unexpected}")),
        YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => plain(format!("{unexpected} is not {expected}")),
        YamlError::MultipleDocuments { .. } => Problem {
            key: None,
            ..plain("holds more than one YAML document (a `---` line)".to_owned())
        },
        YamlError::Message { msg, .. } => plain(msg.clone()),
        other => {
            let why = other.to_string();
            let why = without_location(&why);
            Problem {
                key: None,
                allowed: why
                    .contains("tabs")
                    .then(|| "indent with spaces: YAML does not allow tabs".to_owned()),
                ..plain(format!("is not valid YAML: {why}"))
            }
        }
    }
}

/// serde's name for a scalar type, as a person calls it.
fn scalar_kind(ty: &str) -> String {
    match ty {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "bool" | "boolean" => "true or false".to_owned(),
        other => format!("a {other}"),
    }
}

/// The parser's name for the node it wanted, as a person calls it.
fn node_kind(expected: &str) -> String {
    match expected {
        "mapping start" => "a mapping (KEY: VALUE lines, or {KEY: VALUE})".to_owned(),
        "sequence start" => "a list (`- ITEM` lines, or [A, B])".to_owned(),
        "string scalar" => "a text value".to_owned(),
        other => other.to_owned(),
    }
}

/// What the text holds at the parser's position: a list, a mapping or a value.
fn found_at(text: &str, at: Option<(u64, u64)>) -> String {
    let Some((line, column)) = at else {
        return "something else".to_owned();
    };
    let rest = rest_of_line(text, line, column);
    let rest = rest.trim_end();
    if rest.starts_with('[') || rest == "-" || rest.starts_with("- ") {
        "a list".to_owned()
    } else if rest.starts_with('{') || inline_keys(&format!("{rest} ")).len() == 1 {
        "a mapping".to_owned()
    } else {
        format!("{:?}", value_at(text, line, column))
    }
}

/// The line `line` (1-based) from `column` (1-based, in characters) on.
fn rest_of_line(text: &str, line: u64, column: u64) -> &str {
    let Some(current) = usize::try_from(line)
        .ok()
        .and_then(|line| text.lines().nth(line.checked_sub(1)?))
    else {
        return "";
    };
    let skip = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    let start = current
        .char_indices()
        .nth(skip)
        .map_or(current.len(), |(at, _)| at);
    &current[start..]
}

/// The scalar that starts at the position, unquoted: up to a `,`, `]`, `}` or ` #`
/// outside quotes, or the end of the line.
fn value_at(text: &str, line: u64, column: u64) -> String {
    let rest = rest_of_line(text, line, column);
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let inner = &rest[1..];
        return inner
            .find(quote)
            .map_or(inner, |end| &inner[..end])
            .to_owned();
    }
    let end = rest
        .find([',', ']', '}'])
        .into_iter()
        .chain(rest.find(" #"))
        .min()
        .unwrap_or(rest.len());
    rest[..end].trim().to_owned()
}

/// Where the parser's position sits: the dotted key it belongs to (the keys open on its
/// line before it, flow mappings included, under the block keys of the lines above with
/// less indentation), and the `name:` of the innermost list item around it.
fn context_at(text: &str, line: u64, column: u64) -> (Option<String>, Option<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(index) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
        return (None, None);
    };
    let Some(current) = lines.get(index) else {
        return (None, None);
    };
    let skip = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    let start = current
        .char_indices()
        .nth(skip)
        .map_or(current.len(), |(at, _)| at);
    let before = &current[..start];
    let body = before.trim_start_matches([' ', '-']);
    let mut path = inline_keys(body);
    let mut item = None;
    if before.trim_start().starts_with('-') {
        item = name_in(&lines[index..], before.len() - body.len());
    }
    // Where this line's keys sit; a position with no key before it is a node that
    // starts on a line of its own, so its key is the block key above it.
    let mut limit = if path.is_empty() {
        before.chars().count()
    } else {
        before.len() - body.len()
    };
    for (above_index, above) in lines[..index].iter().enumerate().rev() {
        if limit == 0 {
            break;
        }
        let content = above.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = above.len() - content.len();
        if indent >= limit {
            continue;
        }
        let entry = content.trim_start_matches(['-', ' ']);
        let entry_indent = above.len() - entry.len();
        let keys = inline_keys(entry);
        if entry_indent < limit && entry.trim_end().ends_with(':') && keys.len() == 1 {
            path.insert(0, keys[0].clone());
            limit = indent;
        } else if content.starts_with('-') {
            // The list item holding the position: its key is the one above it, which
            // may sit at the item's own indentation.
            if item.is_none() {
                item = name_in(&lines[above_index..=index], entry_indent);
            }
            limit = indent + 1;
        } else {
            break;
        }
    }
    ((!path.is_empty()).then(|| path.join(".")), item)
}

/// The `name:` of a list item: `lines` start with its `- ` line, whose keys sit at
/// `indent`.
fn name_in(lines: &[&str], indent: usize) -> Option<String> {
    for (at, line) in lines.iter().enumerate() {
        let content = line.trim_start_matches(' ');
        let entry = if at == 0 {
            content.trim_start_matches(['-', ' '])
        } else if content.is_empty() || content.starts_with('#') {
            continue;
        } else if line.len() - content.len() < indent {
            return None;
        } else if line.len() - content.len() == indent {
            content
        } else {
            continue;
        };
        if let Some(value) = entry.strip_prefix("name:") {
            let value = value.split(" #").next().unwrap_or_default().trim();
            let value = value.trim_matches(['"', '\'']);
            return (!value.is_empty()).then(|| value.to_owned());
        }
    }
    None
}

/// The keys still open at the end of `text`, a line cut at the parser's position:
/// `resources: {cpu: ` gives `resources`, `cpu`.
fn inline_keys(text: &str) -> Vec<String> {
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut depth = 0;
    let mut token_start = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => {
                depth += 1;
                token_start = at + 1;
            }
            '}' | ']' => {
                open.retain(|(d, _)| *d < depth);
                depth = depth.saturating_sub(1);
                token_start = at + 1;
            }
            ',' => {
                open.retain(|(d, _)| *d < depth);
                token_start = at + 1;
            }
            '#' if text[..at].ends_with(' ') || at == 0 => break,
            ':' if chars.peek().is_none_or(|(_, next)| *next == ' ') => {
                let key = text[token_start..at].trim().trim_matches(['"', '\'']);
                open.retain(|(d, _)| *d < depth);
                if !key.is_empty() {
                    open.push((depth, key.to_owned()));
                }
                token_start = at + 1;
            }
            _ => {}
        }
    }
    open.into_iter().map(|(_, key)| key).collect()
}

/// A parser message without its trailing ` at line L, column C`.
fn without_location(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct File {
        set: String,
        #[serde(default)]
        jobs: Vec<Job>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Job {
        name: String,
        suspend: Option<bool>,
        history_limits: Option<Limits>,
        #[serde(default)]
        env: BTreeMap<String, String>,
        command: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        successful: Option<i32>,
    }

    fn read(text: &str) -> String {
        let error = serde_saphyr::from_str::<File>(text).unwrap_err();
        let problem = problem(text, &error);
        let line = problem.line.map_or_else(String::new, |l| format!("{l}: "));
        let allowed = problem
            .allowed
            .as_ref()
            .map_or_else(String::new, |a| format!(" [{a}]"));
        format!("{line}{problem}{allowed}")
    }

    #[test]
    fn wrong_types_name_the_dotted_key_and_the_value() {
        let job = "set: ops\njobs:\n  - name: a\n";
        assert_eq!(
            read(&format!("{job}    historyLimits: {{successful: many}}\n")),
            "4: jobs.historyLimits.successful: \"many\" is not a whole number"
        );
        assert_eq!(
            read(&format!("{job}    historyLimits:\n      successful: 1.5\n")),
            "5: jobs.historyLimits.successful: \"1.5\" is not a whole number"
        );
        assert_eq!(
            read(&format!("{job}    suspend: maybe # not sure\n")),
            "4: jobs.suspend: \"maybe\" is not true or false"
        );
    }

    #[test]
    fn shapes_say_what_was_expected_and_what_was_found() {
        assert_eq!(
            read("- set: ops\n"),
            "1: expected a mapping (KEY: VALUE lines, or {KEY: VALUE}), found a list"
        );
        assert_eq!(
            read("echo hi\n"),
            "1: expected a mapping (KEY: VALUE lines, or {KEY: VALUE}), found \"echo hi\""
        );
        assert_eq!(
            read("set: ops\njobs:\n  backup:\n    name: a\n"),
            "3: jobs: expected a list (`- ITEM` lines, or [A, B]), found a mapping"
        );
        assert_eq!(
            read("set: ops\njobs:\n  - name: a\n    env: [A=1]\n"),
            "4: jobs.env: expected a mapping (KEY: VALUE lines, or {KEY: VALUE}), found a list"
        );
        assert_eq!(
            read("set: ops\njobs:\n  - name: a\n    command: ls -l\n"),
            "4: jobs.command: expected a list (`- ITEM` lines, or [A, B]), found \"ls -l\""
        );
        assert_eq!(
            read("set: [a, b]\n"),
            "1: set: expected a text value, found a list"
        );
    }

    #[test]
    fn keys_unknown_missing_or_twice() {
        assert_eq!(
            read("set: ops\njobs:\n  - name: a\n    nmae: b\n"),
            "4: jobs: unknown key \"nmae\" [the keys here are name, suspend, historyLimits, env, command]"
        );
        assert_eq!(read("jobs: []\n"), "1: missing key \"set\"");
        assert_eq!(
            read("set: ops\njobs: []\nset: web\n"),
            "3: key \"set\" is given twice [give each key once]"
        );
    }

    #[test]
    fn the_list_item_is_named_by_its_name() {
        let text = "set: ops\njobs:\n  - name: a\n  - name: b # the second\n    suspend: 2\n";
        let error = serde_saphyr::from_str::<File>(text).unwrap_err();
        assert_eq!(problem(text, &error).item.as_deref(), Some("b"));
        let text = "set: ops\njobs:\n- suspend: true\n  name: c\n  nmae: d\n";
        let error = serde_saphyr::from_str::<File>(text).unwrap_err();
        let problem = problem(text, &error);
        assert_eq!(problem.item.as_deref(), Some("c"));
        assert_eq!(problem.key.as_deref(), Some("jobs"));
    }

    #[test]
    fn empty_files_and_syntax_errors() {
        assert_eq!(
            read("# nothing\n"),
            "2: has no content: the file is empty or only comments"
        );
        assert_eq!(
            read("set: \"ops\njobs: []\n"),
            "1: is not valid YAML: unclosed quote"
        );
    }
}
