//! Whether a test case's container did what its `expect` says, and if not, why.
//!
//! Kept apart from running containers so the rules can be tested with fixed outcomes.
//! The first reason found is the one reported, in the order an operator would look:
//! killed (timeout, out of memory), exit code, output, termination message, duration.

use kuul_core::time::elapsed_tenths;

use crate::project::{Expect, TextExpect};
use crate::runner::ContainerOutcome;

/// A case's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(String),
}

/// Judges `outcome` against `expect`.
pub fn judge(expect: &Expect, outcome: &ContainerOutcome) -> Verdict {
    match first_failure(expect, outcome) {
        Some(why) => Verdict::Failed(why),
        None => Verdict::Passed,
    }
}

fn first_failure(expect: &Expect, outcome: &ContainerOutcome) -> Option<String> {
    if outcome.timed_out {
        return Some(format!(
            "timed out: killed after {}",
            elapsed_tenths(outcome.duration)
        ));
    }
    if outcome.oom_killed {
        return Some("OOMKilled: the container used more memory than its limit".to_owned());
    }
    if outcome.likely_oom_killed {
        return Some(
            "OOMKilled (probably): SIGKILLed under its memory limit, though Docker reported no out-of-memory event"
                .to_owned(),
        );
    }
    match outcome.exit_code {
        Some(code) if code == expect.exit_code => {}
        Some(code) => {
            return Some(format!(
                "exit code {code}, expected {}{}",
                expect.exit_code,
                last_line(&outcome.stderr)
                    .or_else(|| last_line(&outcome.stdout))
                    .map(|l| format!(" (last output: {l:?})"))
                    .unwrap_or_default()
            ));
        }
        None => return Some("the container reported no exit code".to_owned()),
    }
    if let Some(why) = text_failure("stdout", &expect.stdout, &outcome.stdout) {
        return Some(why);
    }
    if let Some(why) = text_failure("stderr", &expect.stderr, &outcome.stderr) {
        return Some(why);
    }
    if let Some(wanted) = &expect.termination_message {
        match &outcome.termination_message {
            Some(message) => {
                if let Some(why) = text_failure("termination message", wanted, message.trim_end()) {
                    return Some(why);
                }
            }
            None => {
                return Some(
                    "termination message not readable: the Docker daemon is not on this machine"
                        .to_owned(),
                );
            }
        }
    }
    if let Some(max) = expect.max_duration
        && outcome.duration > max.0
    {
        return Some(format!(
            "took {}, more than maxDuration {}",
            elapsed_tenths(outcome.duration),
            elapsed_tenths(max.0)
        ));
    }
    None
}

fn text_failure(what: &str, expect: &TextExpect, text: &str) -> Option<String> {
    if let Some(missing) = expect.contains.iter().find(|s| !text.contains(s.as_str())) {
        return Some(format!("{what} does not contain {missing:?}"));
    }
    if let Some(unmatched) = expect.matches.iter().find(|p| !p.0.is_match(text)) {
        return Some(format!("{what} does not match /{}/", unmatched.0.as_str()));
    }
    if let Some(found) = expect
        .not_contains
        .iter()
        .find(|s| text.contains(s.as_str()))
    {
        return Some(format!("{what} contains {found:?}"));
    }
    None
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().rev().map(str::trim).find(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::project::Project;

    fn expect(yaml: &str) -> Expect {
        let text = format!("name: x\nversion: '1'\ntests:\n  - name: a\n    expect:\n{yaml}");
        Project::parse(&text, std::path::Path::new("k.yaml"))
            .unwrap()
            .tests
            .remove(0)
            .expect
    }

    fn exited(code: i64, stdout: &str) -> ContainerOutcome {
        ContainerOutcome {
            exit_code: Some(code),
            duration: Duration::from_millis(1500),
            stdout: stdout.to_owned(),
            termination_message: Some("ok: 3 tables\n".to_owned()),
            ..ContainerOutcome::default()
        }
    }

    fn why(expect: &Expect, outcome: &ContainerOutcome) -> String {
        match judge(expect, outcome) {
            Verdict::Failed(why) => why,
            Verdict::Passed => panic!("passed: {outcome:?}"),
        }
    }

    #[test]
    fn defaults_want_exit_0_and_nothing_else() {
        let none = Expect::default();
        assert_eq!(judge(&none, &exited(0, "")), Verdict::Passed);
        assert_eq!(
            why(&none, &exited(2, "boom\n\n")),
            "exit code 2, expected 0 (last output: \"boom\")"
        );
    }

    #[test]
    fn output_checks_report_the_first_that_fails() {
        let e = expect(
            "      stdout: {contains: [done], matches: ['tables: \\d+'], notContains: [WARN]}\n",
        );
        assert_eq!(judge(&e, &exited(0, "tables: 3\ndone\n")), Verdict::Passed);
        assert_eq!(
            why(&e, &exited(0, "tables: 3\n")),
            "stdout does not contain \"done\""
        );
        assert_eq!(
            why(&e, &exited(0, "done\n")),
            "stdout does not match /tables: \\d+/"
        );
        assert_eq!(
            why(&e, &exited(0, "tables: 1 done WARN")),
            "stdout contains \"WARN\""
        );
        let err = expect("      stderr: {notContains: [panic]}\n");
        let mut outcome = exited(0, "");
        outcome.stderr = "thread panicked".to_owned();
        assert_eq!(why(&err, &outcome), "stderr contains \"panic\"");
    }

    #[test]
    fn killed_containers_say_how() {
        let e = Expect::default();
        let mut oom = exited(137, "");
        oom.oom_killed = true;
        assert_eq!(
            why(&e, &oom),
            "OOMKilled: the container used more memory than its limit"
        );
        let mut likely = exited(137, "");
        likely.likely_oom_killed = true;
        assert!(
            why(&e, &likely).starts_with("OOMKilled (probably): SIGKILLed under its memory limit")
        );
        let mut slow = exited(137, "");
        slow.timed_out = true;
        slow.duration = Duration::from_secs(2);
        assert_eq!(why(&e, &slow), "timed out: killed after 2.0s");
    }

    #[test]
    fn termination_message_and_duration() {
        let e = expect(
            "      exitCode: 3\n      terminationMessage: {matches: ['^ok: \\d+ tables$']}\n      maxDuration: 1s\n",
        );
        let mut outcome = exited(3, "");
        outcome.duration = Duration::from_millis(900);
        assert_eq!(judge(&e, &outcome), Verdict::Passed);
        outcome.termination_message = Some(String::new());
        assert_eq!(
            why(&e, &outcome),
            "termination message does not match /^ok: \\d+ tables$/"
        );
        outcome.termination_message = Some("ok: 3 tables".to_owned());
        outcome.duration = Duration::from_millis(1500);
        assert_eq!(why(&e, &outcome), "took 1.5s, more than maxDuration 1.0s");
    }
}
