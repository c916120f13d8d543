//! `hive change …`: the self-modifier's change sets — propose one (a patch
//! or a prompt for the repository's coding command), list them, show one
//! with its gates' logs, approve (an approver's token), reject, revert —
//! and `hive repositories`, the repositories it may change.

use std::io::Read;

use clap::{ArgGroup, Subcommand};
use serde_json::{json, Value};

use super::encode;
use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum ChangeCommand {
    /// Change sets, newest first.
    List {
        /// Only this repository's.
        #[arg(long)]
        repository: Option<String>,
        /// Only in this status (running, awaiting_approval, watching, done,
        /// rejected, reverted, failed).
        #[arg(long)]
        status: Option<String>,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One change set: where it stands, its commits, what it changes, what
    /// the gates found, the decision, and each step's log.
    Show {
        /// The change set's id.
        id: String,
    },
    /// Proposes a change set; it then goes through the gates on its own.
    /// Prints its id.
    #[command(group(ArgGroup::new("source").required(true).args(["patch", "prompt"])))]
    Propose {
        /// The repository, by name (`hive repositories`).
        #[arg(long)]
        repository: String,
        /// One line: the commit's subject.
        #[arg(long)]
        title: String,
        /// A unified diff (as `git diff` prints it) to apply; `-` reads it
        /// from stdin.
        #[arg(long, value_name = "FILE")]
        patch: Option<String>,
        /// What the repository's coding command is to do.
        #[arg(long, value_name = "TEXT")]
        prompt: Option<String>,
        /// The commit's body.
        #[arg(long)]
        description: Option<String>,
    },
    /// Approves a critical change set waiting for it (needs a token with
    /// the approver scope: the approver is who the token names).
    Approve {
        /// The change set's id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Rejects a change set that has not merged; the target never moves.
    Reject {
        /// The change set's id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who rejects (an approver's token names its approver instead).
        #[arg(long)]
        by: Option<String>,
    },
    /// Reverts a merged change set by a new commit on its target.
    Revert {
        /// The change set's id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who reverts (an approver's token names its approver instead).
        #[arg(long)]
        by: Option<String>,
    },
}

const HEADERS: &[&str] = &[
    "ID",
    "STATUS",
    "STEP",
    "REPOSITORY",
    "TITLE",
    "RISK",
    "+INS/-DEL",
];

/// `+ins/-del` of a change set's diff, `-` before it is known.
fn lines(c: &Value) -> String {
    let d = &c["diff"];
    if d.is_object() {
        format!(
            "+{}/-{}",
            output::text(&d["insertions"]),
            output::text(&d["deletions"])
        )
    } else {
        "-".into()
    }
}

fn row(c: &Value) -> Vec<String> {
    vec![
        output::text(&c["id"]),
        output::text(&c["status"]),
        output::text(&c["step"]),
        output::text(&c["repository"]),
        output::text(&c["title"]),
        output::text(&c["risk"]),
        lines(c),
    ]
}

/// A figure with `digits` decimals, `—` when absent.
fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_string(), |x| format!("{x:.digits$}"))
}

/// `text` with every line indented by `by`.
fn indented(text: &str, by: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("{by}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A change set for people.
fn describe(c: &Value) -> String {
    let mut out = Vec::new();
    let mut field = |label: &str, value: String| out.push(format!("{label:<12}{value}"));
    field("change set", output::text(&c["id"]));
    field(
        "repository",
        format!(
            "{} (into {})",
            output::text(&c["repository"]),
            output::text(&c["target"])
        ),
    );
    field("title", output::text(&c["title"]));
    if c["description"].as_str().is_some_and(|d| !d.is_empty()) {
        field("description", output::text(&c["description"]));
    }
    field("status", output::text(&c["status"]));
    field("step", output::text(&c["step"]));
    field("risk", output::text(&c["risk"]));
    field("requested", output::text(&c["requested_by"]));
    field("created", output::time(&c["created_at"]));
    field("branch", output::text(&c["branch"]));
    field("base", output::text(&c["base_commit"]));
    field("head", output::text(&c["head_commit"]));
    field("merged", output::text(&c["merged_commit"]));
    field("revert", output::text(&c["revert_commit"]));
    field("rollback", output::text(&c["rollback_tag"]));
    if !c["approval_deadline"].is_null() {
        field("deadline", output::time(&c["approval_deadline"]));
    }
    let v = &c["static_verdict"];
    if v.is_object() {
        let mut said = vec![if v["refused"].as_array().is_none_or(Vec::is_empty) {
            format!("passed, {} lines", output::text(&v["lines"]))
        } else {
            format!("refused: {}", output::text(&v["refused"]))
        }];
        for (key, words) in [
            ("critical", "critical"),
            ("added_tests", "added tests"),
            ("changed_tests", "changed tests"),
        ] {
            if v[key].as_array().is_some_and(|a| !a.is_empty()) {
                said.push(format!("{words}: {}", output::text(&v[key])));
            }
        }
        field("static", said.join("; "));
    } else {
        field("static", "-".into());
    }
    let b = &c["bench"];
    if b.is_object() {
        field(
            "bench",
            format!(
                "ratio {}, {} % interval [{}, {}], allowed up to {}: {}",
                num(&b["ratio"], 3),
                b["confidence"]
                    .as_f64()
                    .map_or_else(|| "—".into(), |x| format!("{:.0}", x * 100.0)),
                num(&b["low"], 3),
                num(&b["high"], 3),
                b["max_slowdown"]
                    .as_f64()
                    .map_or_else(|| "—".into(), |x| format!("{:.3}", 1.0 + x)),
                if b["passed"].as_bool() == Some(true) {
                    "passed"
                } else {
                    "slower"
                }
            ),
        );
    } else {
        field("bench", "-".into());
    }
    let d = &c["decision"];
    if d.is_object() {
        field(
            "decision",
            format!(
                "by {} at {}{}",
                output::text(&d["by"]),
                output::time(&d["at"]),
                d["reason"]
                    .as_str()
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        );
    } else {
        field("decision", "-".into());
    }
    field("reason", output::text(&c["reason"]));
    let mut text = out.join("\n");
    let diff = &c["diff"];
    if diff.is_object() {
        text.push_str(&format!(
            "\n\ndiff: {} files, +{} -{}\n",
            output::text(&diff["files"]),
            output::text(&diff["insertions"]),
            output::text(&diff["deletions"])
        ));
        let mut table = output::Table::new(&["FILE", "KIND", "+INS", "-DEL", "NOTE"]);
        for f in diff["changes"].as_array().cloned().unwrap_or_default() {
            let mut note = Vec::new();
            if let Some(old) = f["old_path"].as_str() {
                note.push(format!("from {old}"));
            }
            for flag in ["symlink", "executable", "binary"] {
                if f[flag].as_bool() == Some(true) {
                    note.push(flag.to_string());
                }
            }
            table.row(vec![
                output::text(&f["path"]),
                output::text(&f["kind"]),
                output::text(&f["insertions"]),
                output::text(&f["deletions"]),
                note.join(", "),
            ]);
        }
        text.push_str(table.render().trim_end());
    }
    let logs = c["logs"].as_array().cloned().unwrap_or_default();
    text.push_str("\n\nsteps:");
    if logs.is_empty() {
        text.push_str(" none yet");
    }
    for l in logs {
        text.push_str(&format!(
            "\n{} (attempt {}) {}: {}",
            output::text(&l["step"]),
            output::text(&l["attempt"]),
            if l["passed"].as_bool() == Some(true) {
                "passed"
            } else {
                "failed"
            },
            output::text(&l["summary"])
        ));
        if let Some(o) = l["output"].as_str().filter(|o| !o.trim().is_empty()) {
            text.push('\n');
            text.push_str(&indented(o, "    "));
        }
    }
    text
}

/// A decision's one-line answer.
fn decided(c: &Value) -> String {
    format!(
        "change set {} {}",
        output::text(&c["id"]),
        output::text(&c["status"])
    )
}

/// The patch `--patch` names: a file, or stdin for `-`.
fn read_patch(path: &str) -> Result<String, ClientError> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| ClientError(format!("cannot read the patch from stdin: {e}")))?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| ClientError(format!("cannot read the patch {path}: {e}")))
    }
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: ChangeCommand,
) -> Result<i32, ClientError> {
    match command {
        ChangeCommand::List {
            repository,
            status,
            limit,
        } => {
            let mut path = format!("/changes?limit={limit}");
            if let Some(r) = repository {
                path.push_str(&format!("&repository={}", encode(&r)));
            }
            if let Some(s) = status {
                path.push_str(&format!("&status={}", encode(&s)));
            }
            let reply = client.get(&path).await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let mut table = output::Table::new(HEADERS);
            for c in reply.value.as_array().cloned().unwrap_or_default() {
                table.row(row(&c));
            }
            if table.is_empty() {
                out.line("no change sets");
            } else {
                out.table(&table);
            }
        }
        ChangeCommand::Show { id } => {
            let reply = client.get(&format!("/changes/{}", encode(&id))).await?;
            out.reply(&reply, describe);
        }
        ChangeCommand::Propose {
            repository,
            title,
            patch,
            prompt,
            description,
        } => {
            let source = match (patch, prompt) {
                (Some(file), _) => json!({"kind": "patch", "patch": read_patch(&file)?}),
                (None, Some(prompt)) => json!({"kind": "agent", "prompt": prompt}),
                (None, None) => {
                    return Err(ClientError("give --patch FILE or --prompt TEXT".into()))
                }
            };
            let mut body = json!({"repository": repository, "title": title, "source": source});
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            let reply = client.post("/changes", &body).await?;
            out.reply(&reply, |c| output::text(&c["id"]));
        }
        ChangeCommand::Approve { id, reason } => {
            let reply = client
                .post(
                    &format!("/changes/{}/approve", encode(&id)),
                    &json!({ "reason": reason }),
                )
                .await?;
            out.reply(&reply, decided);
        }
        ChangeCommand::Reject { id, reason, by } => {
            let reply = client
                .post(
                    &format!("/changes/{}/reject", encode(&id)),
                    &json!({ "reason": reason, "by": by }),
                )
                .await?;
            out.reply(&reply, decided);
        }
        ChangeCommand::Revert { id, reason, by } => {
            let reply = client
                .post(
                    &format!("/changes/{}/revert", encode(&id)),
                    &json!({ "reason": reason, "by": by }),
                )
                .await?;
            out.reply(&reply, |c| {
                format!("{} by {}", decided(c), output::text(&c["revert_commit"]))
            });
        }
    }
    Ok(exit::OK)
}

/// `hive repositories`: the repositories the self-modifier may change.
pub(crate) async fn repositories(client: &ApiClient, out: &Out) -> Result<i32, ClientError> {
    let reply = client.get("/repositories").await?;
    if out.json {
        out.json_reply(&reply);
        return Ok(exit::OK);
    }
    let mut table = output::Table::new(&["NAME", "TARGET", "ALLOWED"]);
    for r in reply.value.as_array().cloned().unwrap_or_default() {
        table.row(vec![
            output::text(&r["name"]),
            output::text(&r["target"]),
            output::text(&r["policy"]["allowed"]),
        ]);
    }
    if table.is_empty() {
        out.line("no repositories");
    } else {
        out.table(&table);
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_set_reads_for_people() {
        let c = json!({
            "id": "0190-x", "repository": "app", "target": "main", "title": "Add mul",
            "description": "", "status": "done", "step": "merge", "risk": "normal",
            "requested_by": null, "created_at": "2026-12-07T05:55:01.123Z",
            "branch": "hive/change/0190", "base_commit": "aaa", "head_commit": "bbb",
            "merged_commit": "bbb", "revert_commit": null, "rollback_tag": "hive/rollback/0190-x",
            "approval_deadline": null,
            "diff": {"files": 1, "insertions": 2, "deletions": 0, "changes": [
                {"path": "src/mul.sh", "old_path": null, "kind": "added", "symlink": false,
                 "executable": false, "binary": false, "insertions": 2, "deletions": 0}]},
            "static_verdict": {"refused": [], "critical": [], "added_tests": ["tests/t.sh"],
                               "changed_tests": [], "lines": 2},
            "bench": {"ratio": 1.01, "low": 0.95, "high": 1.05, "confidence": 0.95,
                      "max_slowdown": 0.1, "passed": true, "base_ms": [], "candidate_ms": []},
            "decision": {"by": "carol", "at": "2026-12-07T05:56:00Z", "reason": "fine"},
            "reason": null,
            "logs": [{"step": "tests", "attempt": 1, "passed": true, "summary": "the tests pass",
                      "output": "== the change\nok\n", "started_at": "x", "finished_at": "y"}],
        });
        let text = describe(&c);
        for want in [
            "status      done",
            "rollback    hive/rollback/0190-x",
            "static      passed, 2 lines; added tests: tests/t.sh",
            "bench       ratio 1.010, 95 % interval [0.950, 1.050], allowed up to 1.100: passed",
            "decision    by carol at 2026-12-07 05:56:00Z: fine",
            "src/mul.sh  added",
            "tests (attempt 1) passed: the tests pass\n    == the change\n    ok",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        assert_eq!(row(&c)[6], "+2/-0");
    }
}
