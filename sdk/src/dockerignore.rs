//! `.dockerignore`, read as `docker build` reads it, so `image build` sends the same
//! context the team's `docker build` would.
//!
//! The rules: one pattern per line, `#` comments and blank lines skipped, a leading `/`
//! ignored; `*` matches within one path component, `?` one character, `[a-z]` classes
//! (negated by `[^a-z]` only: `[!a]` is the class of `!` and `a`), `\` escapes, and a `**` component any number of components; `!` re-includes. The last
//! pattern that matches a path, or any of its parent directories, decides; so `build/`
//! leaves out everything below `build`.

/// The parsed patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    exception: bool,
    components: Vec<String>,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let components: Vec<String> = clean(pattern);
                (!components.is_empty()).then_some(Rule {
                    exception,
                    components,
                })
            })
            .collect();
        Self { rules }
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut excluded = false;
        for rule in &self.rules {
            // The path itself or one of its parents.
            let matched =
                (1..=parts.len()).any(|n| match_components(&rule.components, &parts[..n]));
            if matched {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether some pattern re-includes paths, so that a left-out directory must still
    /// be walked.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }
}

/// A line of a `.dockerignore` that `docker build` refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern {
    /// 1-based.
    pub line: usize,
    pub pattern: String,
    pub why: &'static str,
}

/// Checks every pattern of a `.dockerignore` as `docker build` does before it builds
/// (moby's patternmatcher asks Go's `filepath.Match` for its syntax errors): a class
/// `[...]` must be closed and hold at least one character, a `\` must escape something,
/// and `!` needs a pattern after it.
pub fn check(text: &str) -> Result<(), BadPattern> {
    for (index, line) in text.lines().enumerate() {
        let pattern = line.trim();
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        let bad = |why| BadPattern {
            line: index + 1,
            pattern: pattern.to_owned(),
            why,
        };
        let body = match pattern.strip_prefix('!') {
            Some("") => return Err(bad("a '!' needs a pattern after it")),
            Some(rest) => rest.trim(),
            None => pattern,
        };
        pattern_syntax(body.as_bytes()).map_err(bad)?;
    }
    Ok(())
}

/// Go's `filepath.Match` syntax errors of one pattern.
fn pattern_syntax(mut rest: &[u8]) -> Result<(), &'static str> {
    let unclosed = "a '[' without its ']'";
    while let Some((&c, after)) = rest.split_first() {
        rest = after;
        match c {
            b'\\' => match rest.split_first() {
                Some((_, after)) => rest = after,
                None => return Err("a '\\' at the end escapes nothing"),
            },
            b'[' => {
                if let Some(after) = rest.strip_prefix(b"^") {
                    rest = after;
                }
                let mut ranges = 0;
                loop {
                    match rest.split_first() {
                        None => return Err(unclosed),
                        Some((b']', after)) if ranges > 0 => {
                            rest = after;
                            break;
                        }
                        Some((b']' | b'-', _)) => {
                            return Err("a class [...] needs a character before ']' or '-'");
                        }
                        Some(_) => {}
                    }
                    rest = class_member(rest).ok_or(unclosed)?;
                    if let Some(after) = rest.strip_prefix(b"-") {
                        if matches!(after.first(), None | Some(b']' | b'-')) {
                            return Err("a range in [...] needs an end after '-'");
                        }
                        rest = class_member(after).ok_or(unclosed)?;
                    }
                    ranges += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One character of a class, maybe escaped; what follows it, which must not be empty
/// (the class is still open).
fn class_member(pattern: &[u8]) -> Option<&[u8]> {
    let ([b'\\', _, rest @ ..] | [_, rest @ ..]) = pattern else {
        return None;
    };
    (!rest.is_empty()).then_some(rest)
}

/// A pattern's components, cleaned as Go's `filepath.Clean` would (`.` and empty
/// components dropped, `..` pops), without a leading `/`.
fn clean(pattern: &str) -> Vec<String> {
    let mut components: Vec<String> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            other => components.push(other.to_owned()),
        }
    }
    components
}

fn match_components(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_components(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, path_rest)) => {
                glob(first.as_bytes(), name.as_bytes()) && match_components(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Matches one component against one glob component (`*`, `?`, `[...]`, `\`).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && glob(rest, &name[1..]),
        Some((b'[', rest)) => match (class(rest, name.first().copied()), name.split_first()) {
            (Some((true, after)), Some((_, name_rest))) => glob(after, name_rest),
            _ => false,
        },
        Some((b'\\', rest)) if !rest.is_empty() => {
            name.first() == rest.first() && glob(&rest[1..], &name[1..])
        }
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

/// Matches `c` against a class whose `[` is already consumed; returns whether it matched
/// and the pattern after the `]`, or `None` for a malformed class (it then matches
/// nothing, as Go reports `ErrBadPattern`).
fn class(pattern: &[u8], c: Option<u8>) -> Option<(bool, &[u8])> {
    let c = c?;
    // Only '^' negates, as in Go's filepath.Match; '!' is an ordinary member, unlike
    // in shell globs.
    let (negated, mut rest) = match pattern.first() {
        Some(b'^') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        match rest.first()? {
            b']' if !first => return Some((matched != negated, &rest[1..])),
            _ => {
                let (low, after) = class_char(rest)?;
                let (high, after) = match after {
                    [b'-', tail @ ..] if tail.first() != Some(&b']') => class_char(tail)?,
                    _ => (low, after),
                };
                matched |= (low..=high).contains(&c);
                rest = after;
            }
        }
        first = false;
    }
}

fn class_char(pattern: &[u8]) -> Option<(u8, &[u8])> {
    match pattern {
        [b'\\', c, rest @ ..] | [c, rest @ ..] => Some((*c, rest)),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text)
    }

    #[test]
    fn comments_blank_lines_and_leading_slashes() {
        let rules = ignore("# a comment\n\n  /secret.env  \n./build/\n");
        assert!(rules.excludes("secret.env"));
        assert!(rules.excludes("build/out/app"));
        assert!(!rules.excludes("src/secret.env"));
        assert!(!rules.excludes("Dockerfile"));
    }

    #[test]
    fn stars_stay_within_one_component_and_double_stars_cross() {
        let rules = ignore("*.log\n**/*.tmp\ndocs/*/draft.md\n");
        assert!(rules.excludes("app.log"));
        assert!(!rules.excludes("logs/app.log"));
        assert!(rules.excludes("a.tmp"));
        assert!(rules.excludes("deep/down/b.tmp"));
        assert!(rules.excludes("docs/v1/draft.md"));
        assert!(!rules.excludes("docs/v1/v2/draft.md"));
        assert!(ignore("**\n").excludes("any/thing"));
    }

    #[test]
    fn the_last_matching_rule_wins_and_exceptions_reinclude() {
        let rules = ignore("*.md\n!README.md\ntests\n!tests/keep\n");
        assert!(rules.excludes("CHANGES.md"));
        assert!(!rules.excludes("README.md"));
        assert!(rules.excludes("tests/a.txt"));
        assert!(!rules.excludes("tests/keep"));
        assert!(rules.has_exceptions());
        assert!(!ignore("x").has_exceptions());
        // A later plain rule excludes again.
        assert!(ignore("!a\na\n").excludes("a"));
    }

    #[test]
    fn question_marks_classes_and_escapes() {
        let rules = ignore("file?.txt\n[a-c]*.bin\n[^x]y\nstar\\*\n");
        assert!(rules.excludes("file1.txt"));
        assert!(!rules.excludes("file10.txt"));
        assert!(rules.excludes("b-data.bin"));
        assert!(!rules.excludes("d-data.bin"));
        assert!(rules.excludes("zy"));
        assert!(!rules.excludes("xy"));
        assert!(rules.excludes("star*"));
        assert!(!rules.excludes("starry"));
        // A malformed class matches nothing.
        assert!(!ignore("[abc\n").excludes("a"));
    }

    #[test]
    fn patterns_docker_refuses_are_named_with_their_line() {
        for good in [
            "*.md\n!README.md\n",
            "[a-c]*.bin\n[^x]y\nstar\\*\n",
            "# [\n\n**/*.tmp\n",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for (text, line, why) in [
            ("build\n[abc\n", 2, "a '[' without its ']'"),
            (
                "[]a]\n",
                1,
                "a class [...] needs a character before ']' or '-'",
            ),
            ("[a-]\n", 1, "a range in [...] needs an end after '-'"),
            ("tmp\\\n", 1, "a '\\' at the end escapes nothing"),
            ("!\n", 1, "a '!' needs a pattern after it"),
        ] {
            let bad = check(text).unwrap_err();
            assert_eq!((bad.line, bad.why), (line, why), "{text:?}");
        }
    }

    #[test]
    fn only_a_caret_negates_a_class_as_in_go() {
        // Go's filepath.Match (and so docker build) reads [!x] as the class of '!' and
        // 'x'; a shell would read it as "not x".
        let bang = ignore("[!x]z\n");
        assert!(bang.excludes("xz"));
        assert!(bang.excludes("!z"));
        assert!(!bang.excludes("az"));
        let caret = ignore("[^x]z\n");
        assert!(caret.excludes("az"));
        assert!(caret.excludes("!z"));
        assert!(!caret.excludes("xz"));
        assert_eq!(check("[!x]z\n[^x]z\n"), Ok(()));
    }

    #[test]
    fn dot_dot_is_cleaned() {
        assert!(ignore("a/../b\n").excludes("b"));
    }
}
