//! Tables as kubectl prints them: upper-case headers, left-aligned columns separated by
//! three spaces, no trailing blanks.
//!
//! Operators read kuul's tables next to `kubectl get` output and pipe them into `awk` and
//! `column`, so every command that prints rows builds a [`Table`] and prints its
//! rendering instead of formatting columns by hand. Building the rows is the command's
//! pure logic; this module only lays them out.

use std::fmt;

/// The gap kubectl's printer leaves between columns.
const GAP: &str = "   ";

/// Rows of text cells under a header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, upper-cased as kubectl prints them.
    pub fn new<H: AsRef<str>>(headers: impl IntoIterator<Item = H>) -> Self {
        Self {
            headers: headers
                .into_iter()
                .map(|h| h.as_ref().to_uppercase())
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row. It must have one cell per header.
    pub fn row<C: fmt::Display>(&mut self, cells: impl IntoIterator<Item = C>) {
        let row: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        assert_eq!(
            row.len(),
            self.headers.len(),
            "a table row needs one cell per column"
        );
        self.rows.push(row);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many rows were added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows of `parts`, tables with the same columns, under one header with a column
    /// `header` in front holding each part's label: several clusters' tables as one, a
    /// CONTEXT column first. `None` when there is no part.
    pub fn stacked(header: &str, parts: Vec<(String, Table)>) -> Option<Table> {
        let mut parts = parts.into_iter();
        let (label, first) = parts.next()?;
        let mut headers = vec![header.to_uppercase()];
        headers.extend(first.headers.iter().cloned());
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (label, part) in std::iter::once((label, first)).chain(parts) {
            assert_eq!(
                part.headers,
                headers[1..],
                "stacked tables need the same columns"
            );
            rows.extend(part.rows.into_iter().map(|row| {
                let mut cells = vec![label.clone()];
                cells.extend(row);
                cells
            }));
        }
        Some(Table { headers, rows })
    }
}

impl Table {
    /// The rows without the header line, laid out by the rows alone, as kubectl's
    /// `--no-headers` prints them.
    pub fn rows_only(&self) -> String {
        let mut text = String::new();
        let _ = self.lay_out(&mut text, false);
        text
    }

    fn lay_out(&self, f: &mut impl fmt::Write, header: bool) -> fmt::Result {
        let mut widths: Vec<usize> = if header {
            self.headers.iter().map(|h| h.chars().count()).collect()
        } else {
            vec![0; self.headers.len()]
        };
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let headers = header.then_some(&self.headers);
        for line in headers.into_iter().chain(&self.rows) {
            let mut text = String::new();
            for (column, (cell, width)) in line.iter().zip(&widths).enumerate() {
                if column > 0 {
                    text.push_str(GAP);
                }
                text.push_str(cell);
                let pad = width - cell.chars().count();
                text.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

impl fmt::Display for Table {
    /// The header line and the rows, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lay_out(f, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_headers_only_the_rows_set_the_widths() {
        let mut table = Table::new(["name", "a-long-header"]);
        table.row(["backup", "x"]);
        table.row(["db", "yy"]);
        assert_eq!(table.rows_only(), "backup   x\ndb       yy\n");
        assert_eq!(Table::new(["name"]).rows_only(), "");
    }

    #[test]
    fn columns_align_like_kubectl_get() {
        let mut table = Table::new(["name", "schedule", "suspend"]);
        table.row(["backup-db", "0 2 * * *", "False"]);
        table.row(["smoke", "*/5 * * * *", "True"]);
        assert_eq!(
            table.to_string(),
            "NAME        SCHEDULE      SUSPEND\n\
             backup-db   0 2 * * *     False\n\
             smoke       */5 * * * *   True\n"
        );
    }

    #[test]
    fn several_clusters_tables_stack_under_a_context_column() {
        let part = |rows: &[&str]| {
            let mut table = Table::new(["job", "run"]);
            for row in rows {
                table.row([*row, "r"]);
            }
            table
        };
        let stacked = Table::stacked(
            "context",
            vec![
                ("eu-1".to_owned(), part(&["backup"])),
                ("eu-2".to_owned(), part(&["backup", "smoke"])),
            ],
        )
        .unwrap();
        assert_eq!(
            stacked.to_string(),
            "CONTEXT   JOB      RUN\n\
             eu-1      backup   r\n\
             eu-2      backup   r\n\
             eu-2      smoke    r\n"
        );
        assert_eq!(Table::stacked("context", Vec::new()), None);
    }

    #[test]
    fn empty_last_cells_leave_no_trailing_blanks() {
        let mut table = Table::new(["name", "reason"]);
        table.row(["a", ""]);
        table.row(["bb", "kernel upgrade"]);
        let text = table.to_string();
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text:?}");
        assert_eq!(text.lines().nth(1), Some("a"));
    }

    #[test]
    fn width_counts_characters_not_bytes() {
        let mut table = Table::new(["reason", "by"]);
        table.row(["Wartung über Nacht", "jörg"]);
        assert_eq!(
            table.to_string(),
            "REASON               BY\nWartung über Nacht   jörg\n"
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let table = Table::new(["namespace", "name"]);
        assert!(table.is_empty());
        assert_eq!(table.len(), 0);
        assert_eq!(table.to_string(), "NAMESPACE   NAME\n");
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_row_with_a_missing_cell_is_a_bug() {
        Table::new(["a", "b"]).row(["only one"]);
    }
}
