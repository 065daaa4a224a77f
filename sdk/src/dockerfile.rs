//! What `image build` must know of a Dockerfile before it sends it: its stages (for
//! `--target`) and whether it needs `BuildKit`.
//!
//! kuul builds through the Docker API's classic builder, which every daemon has, the
//! same for dockerd 20.10 as for Docker Desktop. `BuildKit`-only syntax (a `# syntax=`
//! frontend, heredocs, `RUN --mount`, `COPY --chmod`, ...) would fail there several
//! steps in, with a message about an unknown instruction or option; so it is found
//! here, before anything is built, and named with its line. This reads the Dockerfile
//! as Docker's parser does where it matters: parser directives only at the top, the
//! `escape` directive, continuation lines and comments within them.

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
            if let [_, as_word, name] = plain.as_slice()
                && as_word.eq_ignore_ascii_case("as")
            {
                self.stages.push(name.to_ascii_lowercase());
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
}
