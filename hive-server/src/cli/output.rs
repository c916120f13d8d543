//! Everything the CLI prints goes through here: the server's JSON as it
//! came (`--json`), tables and lines for people, progress and errors on
//! stderr.
//!
//! Rust ignores SIGPIPE, so a plain `println!` into a pipe whose reader has
//! gone (`hive task list | head -1`) panics. Here a closed stdout ends the
//! process at once with exit code 0: the reader took what it wanted, which
//! is not an error.

use std::io::Write;

use serde_json::Value;

use crate::client::Reply;

/// How a command prints: tables for people, or the server's JSON.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// Print the server's JSON instead of tables.
    pub json: bool,
}

impl Out {
    /// Output in the chosen form.
    pub fn new(json: bool) -> Self {
        Out { json }
    }

    /// The server's answer exactly as it was sent.
    pub fn json_reply(&self, reply: &Reply) {
        let text = reply.text.trim_end();
        stdout(&format!("{text}\n"));
    }

    /// JSON the CLI put together (e.g. `hive status`'s two answers).
    pub fn json_value(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        stdout(&format!("{text}\n"));
    }

    /// One line for people.
    pub fn line(&self, text: &str) {
        stdout(&format!("{text}\n"));
    }

    /// A table for people.
    pub fn table(&self, table: &Table) {
        stdout(&table.render());
    }

    /// Prints `reply` as JSON, or as `human` says.
    pub fn reply(&self, reply: &Reply, human: impl FnOnce(&Value) -> String) {
        if self.json {
            self.json_reply(reply);
        } else {
            let text = human(&reply.value);
            stdout(&format!("{}\n", text.trim_end()));
        }
    }
}

/// Writes to stdout; a closed pipe ends the process cleanly (exit 0), any
/// other write error with exit 1.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(super::exit::OK);
        }
        error(&format!("cannot write the output: {e}"));
        std::process::exit(super::exit::ERROR);
    }
}

/// A progress line on stderr (never fails: progress is not the answer).
pub fn progress(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// An error on stderr, prefixed `hive:`.
pub fn error(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "hive: {text}");
}

/// A JSON value as a table cell: strings without quotes, lists joined
/// with commas, `null` as `-`.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A timestamp cell: RFC 3339 shortened to seconds, `T` as a space.
pub fn time(value: &Value) -> String {
    match value.as_str() {
        Some(t) if t.len() >= 19 => format!("{} {}Z", &t[..10], &t[11..19]),
        _ => text(value),
    }
}

/// Columns padded to their widest cell.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: a header line, then one line per row.
    pub fn render(&self) -> String {
        let cell = |cells: &[String], i: usize| {
            cells
                .get(i)
                .map(|c| c.replace(['\n', '\t'], " "))
                .unwrap_or_default()
        };
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                std::iter::once(&self.headers)
                    .chain(&self.rows)
                    .map(|r| cell(r, i).chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let c = cell(row, i);
                if i + 1 == widths.len() {
                    line.push_str(&c);
                } else {
                    let pad = width.saturating_sub(c.chars().count());
                    line.push_str(&c);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_pads_its_columns() {
        let mut t = Table::new(&["ID", "STATUS"]);
        t.row(vec!["a-long-id".into(), "pending".into()]);
        t.row(vec!["b".into()]);
        assert_eq!(t.render(), "ID         STATUS\na-long-id  pending\nb\n");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn cells_read_as_words() {
        assert_eq!(text(&json!(null)), "-");
        assert_eq!(text(&json!("x")), "x");
        assert_eq!(text(&json!(["a", "b"])), "a,b");
        assert_eq!(text(&json!([])), "-");
        assert_eq!(text(&json!(3)), "3");
        assert_eq!(
            time(&json!("2026-12-07T05:55:01.123Z")),
            "2026-12-07 05:55:01Z"
        );
    }
}
