//! What `image build` must know of a Dockerfile before it sends it: its stages (for
//! `--target`), whether it needs `BuildKit`, and the images its `FROM`s pull (whose
//! registries' credentials the daemon needs).
//!
//! kuul builds through the Docker API's classic builder, which every daemon has, the
//! same for dockerd 20.10 as for Docker Desktop. `BuildKit`-only syntax (a `# syntax=`
//! frontend, heredocs, `RUN --mount`, `COPY --chmod`, ...) would fail there several
//! steps in, with a message about an unknown instruction or option; so it is found
//! here, before anything is built, and named with its line. This reads the Dockerfile
//! as Docker's parser does where it matters: parser directives only at the top, the
//! `escape` directive, continuation lines and comments within them.

use std::collections::BTreeMap;

/// A Dockerfile construct the classic builder does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsBuildKit {
    /// 1-based line where the construct is.
    pub line: usize,
    /// What it is, e.g. `a heredoc (<<EOF)`.
    pub what: String,
}

/// What `image build` reads from a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// The named stages (`FROM image AS name`), lower-cased as Docker compares them.
    pub stages: Vec<String>,
    /// The first `BuildKit`-only construct, if any.
    pub needs_buildkit: Option<NeedsBuildKit>,
    /// The `ARG`s before the first `FROM`, the only ones a `FROM` can use, with their
    /// defaults.
    pub global_args: Vec<(String, Option<String>)>,
    /// The image of each `FROM` as written (`${BASE_IMAGE}` unexpanded), unless it names
    /// an earlier stage.
    pub froms: Vec<String>,
}

/// Flags of RUN, COPY and ADD that only `BuildKit` knows.
const BUILDKIT_FLAGS: &[(&str, &str)] = &[
    ("RUN", "--mount"),
    ("RUN", "--network"),
    ("RUN", "--security"),
    ("COPY", "--chmod"),
    ("COPY", "--link"),
    ("COPY", "--parents"),
    ("COPY", "--exclude"),
    ("ADD", "--chmod"),
    ("ADD", "--link"),
    ("ADD", "--checksum"),
    ("ADD", "--keep-git-dir"),
    ("ADD", "--exclude"),
];

impl Dockerfile {
    /// Reads the text of a Dockerfile. Pure.
    pub fn parse(text: &str) -> Self {
        let mut escape = '\\';
        let mut in_directives = true;
        let mut result = Self::default();
        let mut instruction = String::new();
        let mut start = 0;
        for (index, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if in_directives {
                if let Some((key, value)) = directive(trimmed) {
                    match key.as_str() {
                        "syntax" => {
                            result.first(index + 1, format!("a `# syntax={value}` frontend"));
                        }
                        "escape" if value == "`" => escape = '`',
                        _ => {}
                    }
                    continue;
                }
                in_directives = false;
            }
            // Comments and blank lines, also within a continued instruction, are skipped.
            if trimmed.starts_with('#') || (trimmed.is_empty() && instruction.is_empty()) {
                continue;
            }
            if instruction.is_empty() {
                start = index + 1;
            }
            if let Some(continued) = trimmed.strip_suffix(escape) {
                instruction.push_str(continued);
                instruction.push(' ');
            } else {
                instruction.push_str(trimmed);
                result.instruction(start, &instruction);
                instruction.clear();
            }
        }
        if !instruction.is_empty() {
            result.instruction(start, &instruction);
        }
        result
    }

    fn first(&mut self, line: usize, what: String) {
        if self.needs_buildkit.is_none() {
            self.needs_buildkit = Some(NeedsBuildKit { line, what });
        }
    }

    fn instruction(&mut self, line: usize, text: &str) {
        let mut words = text.split_whitespace();
        let Some(keyword) = words.next().map(str::to_ascii_uppercase) else {
            return;
        };
        let args: Vec<&str> = words.collect();
        if keyword == "FROM" {
            let plain: Vec<&str> = args
                .iter()
                .copied()
                .filter(|a| !a.starts_with("--"))
                .collect();
            // The first FROM names no earlier stage, so `froms` is empty until it.
            if let Some(image) = plain.first()
                && !self.stages.contains(&image.to_ascii_lowercase())
            {
                self.froms.push((*image).to_owned());
            }
            if let [_, as_word, name] = plain.as_slice()
                && as_word.eq_ignore_ascii_case("as")
            {
                self.stages.push(name.to_ascii_lowercase());
            }
            return;
        }
        if keyword == "ARG" && self.froms.is_empty() {
            for arg in args {
                self.global_args.push(match arg.split_once('=') {
                    Some((name, value)) => (name.to_owned(), Some(unquote(value).to_owned())),
                    None => (arg.to_owned(), None),
                });
            }
            return;
        }
        if !matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            return;
        }
        for arg in args.iter().take_while(|a| a.starts_with("--")) {
            let flag = arg.split_once('=').map_or(*arg, |(flag, _)| flag);
            if BUILDKIT_FLAGS.contains(&(keyword.as_str(), flag)) {
                self.first(line, format!("`{keyword} {flag}`"));
            }
        }
        if let Some(heredoc) = args.iter().find_map(|a| heredoc(a)) {
            self.first(line, format!("a heredoc (<<{heredoc})"));
        }
    }
}

impl Dockerfile {
    /// The images the `FROM`s pull, each once: the `ARG`s before the first `FROM`
    /// expanded (`build_args` over their defaults, as `docker build` does), without
    /// `scratch` and stages. Pure.
    pub fn base_images(&self, build_args: &BTreeMap<String, String>) -> Vec<String> {
        let mut values = BTreeMap::new();
        for (name, default) in &self.global_args {
            let value = build_args
                .get(name)
                .cloned()
                .or_else(|| default.as_deref().and_then(|d| expand(d, &values)));
            if let Some(value) = value {
                values.insert(name.clone(), value);
            }
        }
        let mut images: Vec<String> = Vec::new();
        for from in &self.froms {
            let Some(image) = expand(from, &values) else {
                continue;
            };
            let lower = image.to_ascii_lowercase();
            if !image.is_empty()
                && lower != "scratch"
                && !self.stages.contains(&lower)
                && !images.contains(&image)
            {
                images.push(image);
            }
        }
        images
    }
}

/// `text` with `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}`
/// replaced from `values` (an unset name is empty, as in Docker); `None` when a `${`
/// is not closed.
fn expand(text: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let set = |name: &str| values.get(name).filter(|v| !v.is_empty());
    let mut out = String::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(braced) = rest.strip_prefix('{') {
            let (inner, after) = braced.split_once('}')?;
            rest = after;
            if let Some((name, default)) = inner.split_once(":-") {
                out.push_str(set(name).map_or(default, String::as_str));
            } else if let Some((name, alternative)) = inner.split_once(":+") {
                out.push_str(if set(name).is_some() { alternative } else { "" });
            } else {
                out.push_str(values.get(inner).map_or("", String::as_str));
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(values.get(&rest[..end]).map_or("", String::as_str));
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// `value` without one pair of surrounding quotes.
fn unquote(value: &str) -> &str {
    ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value)
}

/// A parser directive line, `# key=value`, lower-casing the key.
fn directive(line: &str) -> Option<(String, String)> {
    let body = line.strip_prefix('#')?.trim();
    let (key, value) = body.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| (key.to_ascii_lowercase(), value.trim().to_owned()))
}

/// The word of a heredoc opener, `<<EOF`, `<<-EOF`, `<<"EOF"`, at the start of `arg`.
fn heredoc(arg: &str) -> Option<&str> {
    let rest = arg.strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let word = rest.trim_matches(['"', '\'']);
    let word = word
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()?;
    (!word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit())).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(text: &str) -> Option<(usize, String)> {
        Dockerfile::parse(text)
            .needs_buildkit
            .map(|n| (n.line, n.what))
    }

    #[test]
    fn classic_dockerfiles_pass() {
        for text in [
            "FROM busybox\nRUN echo hi\n",
            "# escape=\\\nFROM busybox AS base\nCOPY --chown=1:1 a /a\nRUN echo a \\\n  && echo b\n",
            // A here-string in a shell command is not a heredoc opener.
            "FROM busybox\nRUN cat <<< word\n",
            // A syntax line after the first instruction is a comment.
            "FROM busybox\n# syntax=docker/dockerfile:1\n",
            "FROM --platform=linux/amd64 busybox\nRUN --help-me-not=1\n",
        ] {
            assert_eq!(needs(text), None, "{text}");
        }
    }

    #[test]
    fn buildkit_syntax_is_named_with_its_line() {
        assert_eq!(
            needs("# syntax=docker/dockerfile:1.7\nFROM busybox\n"),
            Some((1, "a `# syntax=docker/dockerfile:1.7` frontend".to_owned()))
        );
        assert_eq!(
            needs("# check=skip=all\n#Syntax = x\nFROM busybox\n"),
            Some((2, "a `# syntax=x` frontend".to_owned()))
        );
        assert_eq!(
            needs("FROM busybox\n\nRUN --mount=type=cache,target=/root/.cache \\\n  make\n"),
            Some((3, "`RUN --mount`".to_owned()))
        );
        assert_eq!(
            needs("FROM busybox\nrun \\\n  # a comment inside\n  --network=none make\n"),
            Some((2, "`RUN --network`".to_owned()))
        );
        assert_eq!(
            needs("FROM busybox\nCOPY --link --chmod=755 a /a\n"),
            Some((2, "`COPY --link`".to_owned()))
        );
        assert_eq!(
            needs("FROM busybox\nRUN <<EOF\necho hi\nEOF\n"),
            Some((2, "a heredoc (<<EOF)".to_owned()))
        );
        assert_eq!(
            needs("FROM busybox\nCOPY <<-\"END\" /f\nx\nEND\n"),
            Some((2, "a heredoc (<<END)".to_owned()))
        );
        // With the escape directive, a backtick continues lines.
        assert_eq!(
            needs("# escape=`\nFROM busybox\nRUN echo `\n  <<EOF\n"),
            Some((3, "a heredoc (<<EOF)".to_owned()))
        );
    }

    #[test]
    fn stages_are_the_named_froms_lower_cased() {
        let file = Dockerfile::parse(
            "FROM busybox AS Build\nFROM --platform=linux/amd64 busybox as final\nFROM build\n",
        );
        assert_eq!(file.stages, ["build", "final"]);
    }

    #[test]
    fn base_images_expand_the_global_args_and_skip_stages_and_scratch() {
        let file = Dockerfile::parse(
            "ARG BASE_IMAGE=\"debian:bookworm-slim\"\nARG REGISTRY TOOLS=tools\n\
             FROM ${BASE_IMAGE} AS Build\nARG LATE=late.io/x\nFROM build\nFROM scratch\n\
             FROM $REGISTRY/${TOOLS}:1 AS tools\nFROM ${MISSING:-busybox}\n\
             FROM --platform=linux/amd64 r.io/x${REGISTRY:+-set} AS final\nFROM FINAL\n\
             FROM $LATE\nFROM ${BASE_IMAGE}\nFROM ${UNCLOSED\n",
        );
        let args = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            file.base_images(&args(&[("REGISTRY", "q.io:5000")])),
            [
                "debian:bookworm-slim",
                "q.io:5000/tools:1",
                "busybox",
                "r.io/x-set"
            ]
        );
        // Build args override defaults; only the ARGs before the first FROM are used.
        assert_eq!(
            file.base_images(&args(&[
                ("BASE_IMAGE", "r.io/base:2"),
                ("REGISTRY", "q.io"),
                ("TOOLS", "kit"),
                ("MISSING", "undeclared.io/y"),
                ("LATE", "late.io/z"),
            ])),
            ["r.io/base:2", "q.io/kit:1", "busybox", "r.io/x-set"]
        );
        assert_eq!(
            expand("r.io/x${R:+-set}$R:1$", &BTreeMap::new()).as_deref(),
            Some("r.io/x:1$")
        );
    }
}
