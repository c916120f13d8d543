//! Every clause of a storage contract names its conformance tests, and
//! every conformance test is named by a clause.
//!
//! A trait's `# Contract` section opens with a sentence linking its suite
//! (``[`crate::conformance::queue`]``), and each clause — a `- **Title.** …`
//! item — ends with the names of its tests in parentheses:
//! `` (`claims_by_priority_then_fifo`) ``. The suite's public functions are
//! those tests (macro support is `#[doc(hidden)]`), and its
//! `*_conformance_tests!` macro stamps each of them for every backend.
//! Without this check a clause could lose its test, or a test its clause,
//! and nobody would notice until the two had drifted apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::rust_files;

/// The lines of the first `# Contract` section of a file's doc comments,
/// without their `///`: from the heading to the next heading or the end of
/// the doc comment. Headings inside code examples do not count.
fn contract_section(source: &str) -> Option<Vec<&str>> {
    let mut section: Option<Vec<&str>> = None;
    let mut in_code = false;
    for line in source.lines() {
        let trimmed = line.trim_start();
        let doc = match trimmed.strip_prefix("///") {
            Some(rest) if !rest.starts_with('/') => Some(rest.strip_prefix(' ').unwrap_or(rest)),
            _ => None,
        };
        match (doc, section.as_mut()) {
            (None, Some(_)) => break,
            (None, None) => in_code = false,
            (Some(text), open) => {
                if text.starts_with("```") {
                    in_code = !in_code;
                }
                let heading = !in_code && text.starts_with("# ");
                match open {
                    Some(_) if heading => break,
                    Some(lines) => lines.push(text),
                    None if heading && text.trim_end() == "# Contract" => {
                        section = Some(Vec::new());
                    }
                    None => {}
                }
            }
        }
    }
    section
}

/// The suite a contract section links: `queue` for
/// ``[`crate::conformance::queue`]``.
fn linked_suite(section: &[&str]) -> Option<String> {
    let text = section.join(" ");
    let start = text.find("[`crate::conformance::")? + "[`crate::conformance::".len();
    let name: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The clauses of a contract section: each list item (`- …` or `1. …`)
/// with its indented continuation lines, joined into one line.
fn clauses(section: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in section {
        let item = line
            .strip_prefix("- ")
            .or_else(|| numbered_item(line))
            .map(str::trim);
        match item {
            Some(text) => {
                out.push(text.to_string());
                open = true;
            }
            None if open && line.starts_with(' ') && !line.trim().is_empty() => {
                if let Some(last) = out.last_mut() {
                    last.push(' ');
                    last.push_str(line.trim());
                }
            }
            None => open = false,
        }
    }
    out
}

/// The text of a numbered list item (`12. text`), if `line` is one.
fn numbered_item(line: &str) -> Option<&str> {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    line[digits..].strip_prefix(". ")
}

fn is_test_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The tests a clause names: its closing parenthesis holding only
/// backticked names, `` (`a`, `b`) ``. `None` when it does not end so.
fn named_tests(clause: &str) -> Option<Vec<String>> {
    let body = clause.trim_end().strip_suffix(')')?;
    let list = &body[body.rfind('(')? + 1..];
    list.split(',')
        .map(|item| {
            let name = item.trim().strip_prefix('`')?.strip_suffix('`')?;
            is_test_name(name).then(|| name.to_string())
        })
        .collect()
}

/// A clause's bold title, to name it in a report.
fn title(clause: &str) -> String {
    clause
        .strip_prefix("**")
        .and_then(|rest| rest.split("**").next())
        .map(str::to_string)
        .unwrap_or_else(|| clause.chars().take(40).collect())
}

/// The suite's clause functions: every `pub fn` or `pub async fn` at the
/// top level of the file but those marked `#[doc(hidden)]`.
fn clause_functions(suite: &str) -> Vec<String> {
    let lines: Vec<&str> = suite.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line
            .strip_prefix("pub async fn ")
            .or_else(|| line.strip_prefix("pub fn "))
        else {
            continue;
        };
        let hidden = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
            .any(|l| l.trim() == "#[doc(hidden)]");
        if !hidden {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out
}

/// The names the suite's `*_conformance_tests!` macro stamps into tests:
/// the list after `$harness;` in its call of the stamping macro.
fn stamped(suite: &str) -> BTreeSet<String> {
    let Some(start) = suite.find("!($harness;") else {
        return BTreeSet::new();
    };
    let list = &suite[start + "!($harness;".len()..];
    let list = &list[..list.find(')').unwrap_or(list.len())];
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// What keeps a contract and its suite from naming each other exactly:
/// clauses that name no test or a test the suite lacks, clause functions
/// no clause names, and clause functions the suite's macro does not stamp.
/// Empty when they match.
fn contract_gaps(contract_doc: &str, conformance_src: &str) -> Vec<String> {
    let Some(section) = contract_section(contract_doc) else {
        return vec!["no `# Contract` section".to_string()];
    };
    let functions = clause_functions(conformance_src);
    let mut gaps = Vec::new();
    let mut named = BTreeSet::new();
    for clause in clauses(&section) {
        let title = title(&clause);
        match named_tests(&clause) {
            None => gaps.push(format!(
                "clause **{title}** does not end with the names of its tests, as in (`its_test`)"
            )),
            Some(tests) => {
                for test in tests {
                    if !functions.contains(&test) {
                        gaps.push(format!(
                            "clause **{title}** names `{test}`, which is no clause function of the suite"
                        ));
                    }
                    named.insert(test);
                }
            }
        }
    }
    let stamped = stamped(conformance_src);
    for function in &functions {
        if !named.contains(function) {
            gaps.push(format!("`{function}` is named by no clause"));
        }
        if !stamped.contains(function) {
            gaps.push(format!(
                "`{function}` is not stamped by the suite's `*_conformance_tests!` macro"
            ));
        }
    }
    gaps
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn contract_clauses_name_their_tests() {
    let src = super::workspace_root().join("hive-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // Suite module → the contract files linking it.
    let mut contracts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut gaps = Vec::new();
    for file in &files {
        let text = read(file);
        let Some(suite) = contract_section(&text).and_then(|s| linked_suite(&s)) else {
            continue;
        };
        let shown = file
            .strip_prefix(&src)
            .unwrap_or(file)
            .display()
            .to_string();
        let suite_file = src.join("conformance").join(format!("{suite}.rs"));
        if suite_file.exists() {
            for gap in contract_gaps(&text, &read(&suite_file)) {
                gaps.push(format!("{shown} ~ conformance/{suite}.rs: {gap}"));
            }
        } else {
            gaps.push(format!(
                "{shown}: links conformance::{suite}, which has no file"
            ));
        }
        contracts.entry(suite).or_default().push(shown);
    }
    for suite in std::fs::read_dir(src.join("conformance")).expect("read conformance/") {
        let name = suite
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "mod") else {
            continue;
        };
        match contracts.get(module).map(Vec::len) {
            Some(1) => {}
            Some(_) => gaps.push(format!(
                "conformance/{name} is linked by several contracts: {:?}",
                contracts[module]
            )),
            None => gaps.push(format!(
                "conformance/{name} is linked by no `# Contract` section"
            )),
        }
    }
    assert!(
        contracts.len() >= 7,
        "found only the contracts of {:?}",
        contracts.keys().collect::<Vec<_>>()
    );
    assert!(
        gaps.is_empty(),
        "contracts and conformance suites disagree:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn contract_gaps_catches_each_kind_of_drift() {
    let contract = r#"
/// A store.
///
/// ```
/// # fn main() {}
/// ```
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::store`].
///
/// - **Kept.** It keeps things, across
///   two lines. (`keeps_things`, `keeps_more`)
/// - **Lost.** Its test is gone. (`missing_test`)
/// - **Untested.** Its last parentheses name no test. (`_hive.…`)
/// - **Bare.** No test list at all.
///
/// # Errors
/// - **Not a clause.** (`outside_the_section`)
pub trait Store {}
"#;
    let suite = r#"
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::__store_clauses!($harness;
            keeps_things,
            keeps_more,
            unnamed_test,
        );
    };
}

#[doc(hidden)]
pub async fn run_clause(h: &dyn Harness) {}

fn helper() {}

/// Keeps.
pub async fn keeps_things(h: &dyn Harness) {}

pub fn keeps_more(h: &dyn Harness) {}

pub async fn unnamed_test(h: &dyn Harness) {}

pub async fn unstamped_test(h: &dyn Harness) {}
"#;
    assert_eq!(
        contract_gaps(contract, suite),
        vec![
            "clause **Lost.** names `missing_test`, which is no clause function of the suite",
            "clause **Untested.** does not end with the names of its tests, as in (`its_test`)",
            "clause **Bare.** does not end with the names of its tests, as in (`its_test`)",
            "`unnamed_test` is named by no clause",
            "`unstamped_test` is named by no clause",
            "`unstamped_test` is not stamped by the suite's `*_conformance_tests!` macro",
        ]
    );
    assert_eq!(
        contract_section(contract).and_then(|s| linked_suite(&s)),
        Some("store".to_string())
    );
    assert_eq!(
        contract_gaps("/// A store.\npub trait Store {}", suite),
        vec!["no `# Contract` section"]
    );
}
