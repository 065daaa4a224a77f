//! The result table of `image test`: one row per case, as kubectl would print it.
//!
//! Built from results alone (no Docker), so its layout and wording are unit-tested.

use kuul_core::table::Table;
use kuul_core::time::elapsed_tenths;

use crate::expect::Verdict;
use crate::runner::ContainerOutcome;

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
            elapsed_tenths(result.outcome.duration),
            why,
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
             too-big   FAIL     137    2m5s       OOMKilled: over the limit\n"
        );
    }
}
