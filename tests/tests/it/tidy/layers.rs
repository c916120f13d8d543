//! The rooms of hive-core import only the rooms below them.
//!
//! [`LAYERS`] says which top-level module of `hive-core/src` may import
//! which other; [`layer_breaks`] finds every `crate::<module>` path in a
//! file's code (in `use` lines, grouped `use crate::{a, b::c}` trees and
//! inline paths; comments, doc comments and strings do not count) that the
//! table does not allow. Unit tests (`#[cfg(test)]` modules) are held to the
//! same table: none needs an exception. A room also never reaches into
//! another room's backend module (`crate::queue::sqlite::…`): what backends
//! of several rooms share goes down into `storage/`.

use super::rust_files;

/// The bottom: the error type, clocks, the names rooms share and the
/// builder-setter macro. Every module above them may import them.
const BOTTOM: [&str; 5] = ["error", "time", "names", "setters", "trace"];

/// Which top-level module may import which others, besides itself and
/// (above the bottom) [`BOTTOM`]; an entry `module::Item` allows that item (and what is below it)
/// only. From the bottom up: the bottom, then plumbing and providers, the
/// stores, agents, what builds on agents, and the facade; `conformance`
/// imports the contracts it tests.
const LAYERS: &[(&str, &[&str])] = &[
    // The bottom: the error type imports nothing; clocks and names may
    // use it.
    ("error", &[]),
    ("time", &["error"]),
    ("names", &["error"]),
    ("setters", &[]),
    ("trace", &["error"]),
    // Plumbing of the three engines, the one way to run a child process,
    // and the model providers (whose ledger books usage against a task id).
    ("storage", &[]),
    ("sandbox", &[]),
    ("llm", &["queue::TaskId"]),
    // The stores, on the plumbing; context embeds through the providers.
    ("queue", &["storage"]),
    ("broker", &["storage"]),
    ("session", &["storage"]),
    // Outcomes of finished tasks, the prompt registry, and experiments on
    // prompts that read both.
    ("outcome", &["storage", "queue::TaskId"]),
    ("prompt", &["storage"]),
    ("experiment", &["storage", "queue", "outcome", "prompt"]),
    // The meta-agent: reads outcomes and tasks, asks a model, writes
    // prompt versions, experiments and proposals.
    (
        "meta",
        &["storage", "queue", "outcome", "prompt", "experiment", "llm"],
    ),
    ("context", &["storage", "llm"]),
    // Verifiers score results: by a function, a command, or a model.
    ("verify", &["sandbox", "llm", "queue"]),
    // Agents use the stores.
    (
        "agent",
        &[
            "storage",
            "llm",
            "queue",
            "broker",
            "session",
            "context",
            "outcome",
            "prompt",
            "experiment",
            "verify",
        ],
    ),
    // Decorators over the stores, and the agents that build on `agent`.
    (
        "events",
        &["storage", "queue", "broker", "session", "agent"],
    ),
    (
        "llm_agent",
        &["sandbox", "llm", "queue", "context", "agent", "prompt"],
    ),
    ("coding", &["sandbox", "llm", "queue", "agent"]),
    ("webhook", &["queue", "agent"]),
    // The self-modifier: change sets as queue tasks run by its agent, gate
    // commands in the sandbox; a change set may carry a meta-agent
    // proposal's id; the benchmark gate draws from the seeded generator.
    (
        "selfmod",
        &[
            "storage",
            "sandbox",
            "queue",
            "agent",
            "meta::ProposalId",
            "experiment::stats",
        ],
    ),
    // Agents declared as data, built into any of the kinds above.
    (
        "declared",
        &[
            "sandbox",
            "llm",
            "queue",
            "agent",
            "llm_agent",
            "coding",
            "webhook",
        ],
    ),
    // The facade wires everything.
    (
        "hive",
        &[
            "storage",
            "sandbox",
            "llm",
            "queue",
            "broker",
            "session",
            "context",
            "agent",
            "events",
            "llm_agent",
            "coding",
            "webhook",
            "declared",
            "outcome",
            "prompt",
            "experiment",
            "meta",
            "verify",
            "selfmod",
        ],
    ),
    // The suites test the contracts.
    (
        "conformance",
        &[
            "queue",
            "broker",
            "session",
            "context",
            "agent",
            "events",
            "outcome",
            "experiment",
            "prompt",
            "meta",
            "selfmod",
        ],
    ),
];

/// What the crate root re-exports, by the module that defines it.
const ROOT_ITEMS: &[(&str, &str)] = &[("Error", "error"), ("Result", "error"), ("Hive", "hive")];

/// Backend modules, each private to its room.
const BACKENDS: [&str; 3] = ["sqlite", "redis", "postgres"];

/// `source` with its comments, and the contents of its string and
/// character literals, blanked out (newlines kept, so lines still count).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('#' | '"'))
            && prev.is_none_or(|p| !ident(p) || (p == 'b' && (i < 2 || !ident(chars[i - 2]))))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('r');
            i += 2 + hashes;
            out.push_str(&" ".repeat(1 + hashes));
            while i < chars.len() {
                let closes = chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes;
                if closes {
                    out.push_str(&" ".repeat(1 + hashes));
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                for &s in chars.iter().skip(i).take(skip) {
                    blank(&mut out, s);
                }
                i += skip;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal, not a lifetime.
            let end = if next == Some('\\') {
                chars[i + 3..]
                    .iter()
                    .position(|&q| q == '\'')
                    .map_or(chars.len(), |p| i + 3 + p)
            } else {
                i + 2
            };
            for &s in chars.iter().take(end + 1).skip(i) {
                blank(&mut out, s);
            }
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The paths of a use tree or path that starts at `code[*at..]` (just after
/// `crate::`), each as where it starts and its segments: `{a, b::{c, d}}`
/// gives `a`, `b::c` and `b::d`. A glob ends its path.
fn tree_paths(code: &[char], at: &mut usize) -> Vec<(usize, Vec<String>)> {
    let skip_blank = |at: &mut usize| {
        while *at < code.len() && code[*at].is_whitespace() {
            *at += 1;
        }
    };
    skip_blank(at);
    if code.get(*at) == Some(&'{') {
        *at += 1;
        let mut out = Vec::new();
        loop {
            skip_blank(at);
            match code.get(*at) {
                Some('}') | None => {
                    *at += 1;
                    return out;
                }
                Some(',') => *at += 1,
                _ => {
                    let before = *at;
                    out.extend(tree_paths(code, at));
                    // Skip what follows a path (`as name`) up to its separator.
                    while *at < code.len() && !matches!(code[*at], ',' | '}') {
                        *at += 1;
                    }
                    if *at == before {
                        *at += 1;
                    }
                }
            }
        }
    }
    let start = *at;
    while *at < code.len() && (code[*at].is_alphanumeric() || code[*at] == '_') {
        *at += 1;
    }
    let name: String = code[start..*at].iter().collect();
    if name.is_empty() {
        if code.get(*at) == Some(&'*') {
            *at += 1;
        }
        return vec![(start, Vec::new())];
    }
    if code.get(*at) == Some(&':') && code.get(*at + 1) == Some(&':') {
        *at += 2;
        let mut paths = tree_paths(code, at);
        for (path_start, path) in &mut paths {
            *path_start = start;
            path.insert(0, name.clone());
        }
        paths
    } else {
        vec![(start, vec![name])]
    }
}

/// Every `crate::…` path in the code of `source`, with its line.
fn crate_paths(source: &str) -> Vec<(usize, Vec<String>)> {
    let code: Vec<char> = code_only(source).chars().collect();
    let line_of = |at: usize| 1 + code[..at].iter().filter(|&&c| c == '\n').count();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let starts = code[i..].starts_with(&['c', 'r', 'a', 't', 'e', ':', ':'])
            && i.checked_sub(1)
                .is_none_or(|p| !(code[p].is_alphanumeric() || matches!(code[p], '_' | '$')));
        if starts {
            let mut at = i + "crate::".len();
            for (start, path) in tree_paths(&code, &mut at) {
                if !path.is_empty() {
                    out.push((line_of(start), path));
                }
            }
        }
        i += 1;
    }
    out
}

/// How the file at `file` (a path below `hive-core/src`, such as
/// `session/sqlite.rs`) breaks `layers`: one line per `crate::` path it may
/// not use, naming file, line and rule. Empty when it keeps to them.
fn layer_breaks(file: &str, source: &str, layers: &[(&str, &[&str])]) -> Vec<String> {
    let module = file
        .split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs");
    if module == "lib" {
        return Vec::new();
    }
    let Some((_, allowed)) = layers.iter().find(|(m, _)| *m == module) else {
        return vec![format!(
            "{file}: module `{module}` is not in the layer table"
        )];
    };
    let bottom: &[&str] = if BOTTOM.contains(&module) {
        &[]
    } else {
        &BOTTOM
    };
    let may_import: Vec<&str> = bottom.iter().chain(allowed.iter()).copied().collect();
    let rule = match may_import.as_slice() {
        [] => format!("`{module}` imports no other module"),
        some => format!("`{module}` may import {}", some.join(", ")),
    };
    let mut breaks = Vec::new();
    for (line, mut path) in crate_paths(source) {
        if let Some((_, home)) = ROOT_ITEMS.iter().find(|(item, _)| *item == path[0]) {
            path.insert(0, home.to_string());
        }
        let target = path[0].as_str();
        let shown = path.join("::");
        if target == module {
            continue;
        }
        if !layers.iter().any(|(m, _)| *m == target) {
            breaks.push(format!(
                "{file}:{line}: `crate::{shown}`: `{target}` is not in the layer table"
            ));
            continue;
        }
        let permitted = may_import.iter().any(|entry| {
            let entry: Vec<&str> = entry.split("::").collect();
            path.len() >= entry.len() && path.iter().zip(&entry).all(|(a, b)| a == b)
        });
        let backend = path.get(1).filter(|b| BACKENDS.contains(&b.as_str()));
        if !permitted {
            breaks.push(format!("{file}:{line}: `crate::{shown}`: {rule}"));
        } else if let Some(backend) = backend.filter(|_| target != "storage") {
            breaks.push(format!(
                "{file}:{line}: `crate::{shown}` reaches into the {backend} backend of `{target}`; \
                 what backends share belongs in storage/"
            ));
        }
    }
    breaks
}

#[test]
fn rooms_import_only_the_rooms_below_them() {
    let src = super::workspace_root().join("hive-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files", files.len());
    let breaks: Vec<String> = files
        .iter()
        .flat_map(|path| {
            let file = path.strip_prefix(&src).unwrap_or(path).to_string_lossy();
            let text = std::fs::read_to_string(path).expect("read a source file");
            layer_breaks(&file, &text, LAYERS)
        })
        .collect();
    assert!(breaks.is_empty(), "layering broken:\n{}", breaks.join("\n"));
}

#[test]
fn the_layer_table_names_only_modules_that_exist() {
    let src = super::workspace_root().join("hive-core/src");
    let stale: Vec<&str> = LAYERS
        .iter()
        .map(|(module, _)| *module)
        .filter(|m| !src.join(m).is_dir() && !src.join(format!("{m}.rs")).is_file())
        .collect();
    assert!(
        stale.is_empty(),
        "LAYERS names modules that do not exist: {stale:?}"
    );
}

#[test]
fn layer_breaks_finds_each_kind_of_import() {
    let source = r##"//! A session file that imports what it should not.
//! Docs may mention crate::agent::AgentId freely.

use crate::error::Result;
use crate::agent::AgentId;
use crate::{
    storage::Engine,
    agent::{AgentRecord, registry::AgentRegistry as Registry},
};
use crate::Error;
use crate::session::Session;

/// A link to [`crate::agent::AgentRegistry`] is fine.
fn f() -> Option<crate::llm::Usage> {
    let s = "crate::agent::AgentId in a string";
    let r = r#"crate::agent::AgentId in a raw string"#;
    let c = '"';
    let id = crate::queue::sqlite::SqliteQueue::open(); // crate::agent in a comment
    /* crate::agent::AgentId in a block comment */
    None
}

macro_rules! m {
    () => { $crate::agent::AgentId::new() };
}

#[cfg(test)]
mod tests {
    use crate::agent::AgentId;
}
"##;
    let layers: &[(&str, &[&str])] = &[
        ("session", &["storage"]),
        ("agent", &[]),
        ("error", &[]),
        ("storage", &[]),
        ("llm", &[]),
        ("queue", &[]),
    ];
    let rule = "`session` may import error, time, names, setters, trace, storage";
    assert_eq!(
        layer_breaks("session/x.rs", source, layers),
        vec![
            format!("session/x.rs:5: `crate::agent::AgentId`: {rule}"),
            format!("session/x.rs:8: `crate::agent::AgentRecord`: {rule}"),
            format!("session/x.rs:8: `crate::agent::registry::AgentRegistry`: {rule}"),
            format!("session/x.rs:14: `crate::llm::Usage`: {rule}"),
            format!("session/x.rs:18: `crate::queue::sqlite::SqliteQueue::open`: {rule}"),
            format!("session/x.rs:29: `crate::agent::AgentId`: {rule}"),
        ]
    );
    let hive_layers: &[(&str, &[&str])] = &[("hive", &["queue"]), ("queue", &[])];
    assert_eq!(
        layer_breaks("hive/x.rs", "use crate::queue::{open, redis::RedisQueue};", hive_layers),
        vec![
            "hive/x.rs:1: `crate::queue::redis::RedisQueue` reaches into the redis backend of `queue`; \
             what backends share belongs in storage/"
        ]
    );
    assert_eq!(
        layer_breaks("llm/ledger.rs", "use crate::queue::TaskId;\nuse crate::queue::Task;", LAYERS),
        vec![
            "llm/ledger.rs:2: `crate::queue::Task`: `llm` may import error, time, names, setters, trace, queue::TaskId"
        ]
    );
    assert_eq!(
        layer_breaks(
            "time.rs",
            "use crate::error::Error;\nuse crate::names;",
            LAYERS
        ),
        vec!["time.rs:2: `crate::names`: `time` may import error"]
    );
    assert_eq!(
        layer_breaks("error.rs", "use crate::time::now;", LAYERS),
        vec!["error.rs:1: `crate::time::now`: `error` imports no other module"]
    );
    assert_eq!(
        layer_breaks("nowhere.rs", "", layers),
        vec!["nowhere.rs: module `nowhere` is not in the layer table"]
    );
}
