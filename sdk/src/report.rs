//! The result table of `image test`: one row per case, as kubectl would print it.
//!
//! Built from results alone (no Docker), so its layout and wording are unit-tested.

use std::time::Duration;

use kuul_core::table::Table;

use crate::expect::{ContainerOutcome, Verdict};

/// One case's result, as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub case: String,
    pub outcome: ContainerOutcome,
    pub verdict: Verdict,
}

/// `CASE RESULT EXIT DURATION WHY`, in the order the cases are defined.
pub fn results_table(results: &[CaseResult]) -> Table {
    let mut table = Table::new(["case", "result", "exit", "duration", "why"]);
    for result in results {
        let (word, why) = match &result.verdict {
            Verdict::Passed => ("PASS", String::new()),
            Verdict::Failed(why) => ("FAIL", why.clone()),
        };
        let exit = result
            .outcome
            .exit_code
            .map_or_else(|| "-".to_owned(), |c| c.to_string());
        table.row([
            result.case.clone(),
            word.to_owned(),
            exit,
            duration(result.outcome.duration),
            why,
        ]);
    }
    table
}

/// `0.4s`, `12.0s`, `2m05s`: short, and precise where it matters.
pub fn duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_case_with_the_reason() {
        let passed = CaseResult {
            case: "runs".to_owned(),
            outcome: ContainerOutcome {
                exit_code: Some(0),
                duration: Duration::from_millis(420),
                ..ContainerOutcome::default()
            },
            verdict: Verdict::Passed,
        };
        let failed = CaseResult {
            case: "too-big".to_owned(),
            outcome: ContainerOutcome {
                exit_code: Some(137),
                oom_killed: true,
                duration: Duration::from_secs(125),
                ..ContainerOutcome::default()
            },
            verdict: Verdict::Failed("OOMKilled: over the limit".to_owned()),
        };
        assert_eq!(
            results_table(&[passed, failed]).to_string(),
            "CASE      RESULT   EXIT   DURATION   WHY\n\
             runs      PASS     0      0.4s\n\
             too-big   FAIL     137    2m05s      OOMKilled: over the limit\n"
        );
    }
}
