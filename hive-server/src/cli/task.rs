//! `hive task …`: submit (and wait for the end), list a page at a time
//! (oldest or newest first), get, why it waits, cancel, retry a
//! dead-lettered one, wait for one.
//!
//! Waiting polls the task and, while it has not started, the server's own
//! reason (`GET /tasks/{id}/why`), printing each change on stderr; the
//! exit code says how it ended ([`super::exit`]).

use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{self, progress, Out, Table};
use super::{encode, exit, json_arg};
use crate::client::{ApiClient, ClientError, Reply};

#[derive(Subcommand, Debug)]
pub(crate) enum TaskCommand {
    /// Submits a task and prints it; with --wait, follows it to its end.
    #[command(after_help = super::EXIT_CODES)]
    Submit {
        /// The task's type.
        task_type: String,
        /// Its payload, as JSON.
        #[arg(long, default_value = "null")]
        payload: String,
        /// Capabilities it requires, comma-separated.
        #[arg(long, value_delimiter = ',')]
        requires: Vec<String>,
        /// Priority, 1 (most urgent) to 9 [server default: 5].
        #[arg(long)]
        priority: Option<u8>,
        /// Ids of tasks that must complete first, comma-separated.
        #[arg(long, value_delimiter = ',')]
        depends_on: Vec<String>,
        /// Not to run before this long from now (e.g. 30s, 500ms, 5m).
        #[arg(long, value_parser = duration)]
        delay: Option<Duration>,
        /// Attempts allowed before it is dead-lettered [server default: 3].
        #[arg(long)]
        max_attempts: Option<u32>,
        /// The hard limit on one attempt's run time (e.g. 30s, 5m).
        #[arg(long, value_parser = duration)]
        attempt_timeout: Option<Duration>,
        /// A second submit with the same key answers the first task.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// A W3C trace context to carry with the task
        /// (00-<trace id>-<parent id>-<flags>), sent as the `traceparent`
        /// header: the agent that runs it logs its trace id.
        #[arg(long, env = "TRACEPARENT")]
        traceparent: Option<String>,
        /// Follows the task to its end, printing its status and why it
        /// waits on stderr; the exit code says how it ended.
        #[arg(long)]
        wait: bool,
        /// With --wait: gives up after this long (e.g. 30s, 2m) with exit
        /// code 6.
        #[arg(long, value_parser = duration, requires = "wait")]
        timeout: Option<Duration>,
    },
    /// Waits for a task to end, printing its status and why it waits.
    #[command(after_help = super::EXIT_CODES)]
    Wait {
        /// Its id.
        id: String,
        /// Gives up after this long (e.g. 30s, 2m) with exit code 6.
        #[arg(long, value_parser = duration)]
        timeout: Option<Duration>,
    },
    /// Prints one task.
    Get {
        /// Its id.
        id: String,
    },
    /// Lists tasks, a page at a time, oldest first (or --newest-first).
    List {
        /// Only these statuses, comma-separated (pending, waiting, delayed,
        /// assigned, in_progress, completed, failed, cancelled,
        /// dead_lettered).
        #[arg(long)]
        status: Option<String>,
        /// Only this type.
        #[arg(long = "type")]
        task_type: Option<String>,
        /// Only tasks this agent (id) holds or last held.
        #[arg(long)]
        agent: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// The page after this task id (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
        /// The most recently submitted first.
        #[arg(long)]
        newest_first: bool,
    },
    /// Says why a task is not running.
    Why {
        /// Its id.
        id: String,
    },
    /// Cancels a task.
    Cancel {
        /// Its id.
        id: String,
    },
    /// Sends a dead-lettered task back to pending with a fresh attempt
    /// budget (as `hive dead-letters retry`).
    Retry {
        /// Its id.
        id: String,
    },
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: TaskCommand,
) -> Result<i32, ClientError> {
    match command {
        TaskCommand::Submit {
            task_type,
            payload,
            requires,
            priority,
            depends_on,
            delay,
            max_attempts,
            attempt_timeout,
            idempotency_key,
            traceparent,
            wait,
            timeout,
        } => {
            let mut body = json!({
                "type": task_type,
                "payload": json_arg("--payload", &payload)?,
                "capabilities": requires,
                "depends_on": depends_on,
            });
            if let Some(p) = priority {
                body["priority"] = json!(p);
            }
            if let Some(d) = delay {
                body["delay_ms"] = json!(millis(d));
            }
            if let Some(n) = max_attempts {
                body["max_attempts"] = json!(n);
            }
            if let Some(t) = attempt_timeout {
                body["timeout_ms"] = json!(millis(t));
            }
            if let Some(key) = idempotency_key {
                body["idempotency_key"] = json!(key);
            }
            let headers: Vec<(&str, &str)> = traceparent
                .as_deref()
                .map(|tp| ("traceparent", tp))
                .into_iter()
                .collect();
            let created = client
                .call_with(reqwest::Method::POST, "/tasks", Some(&body), &headers)
                .await?;
            if !wait {
                out.reply(&created, |v| {
                    let first = if v["deduplicated"] == json!(true) {
                        "an earlier task has this idempotency key:"
                    } else {
                        "submitted:"
                    };
                    format!("{first}\n{}", describe(&v["task"]))
                });
                return Ok(exit::OK);
            }
            let id = output::text(&created.value["task"]["id"]);
            progress(&format!("{id}: submitted"));
            follow(client, out, &id, timeout).await
        }
        TaskCommand::Wait { id, timeout } => follow(client, out, &id, timeout).await,
        TaskCommand::Get { id } => {
            let task = client.get(&format!("/tasks/{}", encode(&id))).await?;
            out.reply(&task, describe);
            Ok(exit::OK)
        }
        TaskCommand::Why { id } => {
            let why = client.get(&format!("/tasks/{}/why", encode(&id))).await?;
            out.reply(&why, |v| output::text(&v["reason"]));
            Ok(exit::OK)
        }
        TaskCommand::Cancel { id } => {
            let task = client
                .post(&format!("/tasks/{}/cancel", encode(&id)), &json!({}))
                .await?;
            out.reply(&task, describe);
            Ok(exit::OK)
        }
        TaskCommand::Retry { id } => {
            let task = client
                .post(&format!("/dead-letters/{}/retry", encode(&id)), &json!({}))
                .await?;
            out.reply(&task, describe);
            Ok(exit::OK)
        }
        TaskCommand::List {
            status,
            task_type,
            agent,
            limit,
            after,
            newest_first,
        } => {
            let mut query = vec![format!("limit={limit}")];
            for (key, value) in [
                ("status", status),
                ("type", task_type),
                ("agent", agent),
                ("after", after),
            ] {
                if let Some(v) = value {
                    query.push(format!("{key}={}", encode(&v)));
                }
            }
            if newest_first {
                query.push("order=desc".into());
            }
            let page = client.get(&format!("/tasks?{}", query.join("&"))).await?;
            if out.json {
                out.json_reply(&page);
                return Ok(exit::OK);
            }
            out.table(&task_table(page.value["tasks"].as_array()));
            if let Some(next) = page.value["next"].as_str() {
                progress(&format!("more: --after {next}"));
            }
            Ok(exit::OK)
        }
    }
}

/// Tasks as a table.
pub(crate) fn task_table(tasks: Option<&Vec<Value>>) -> Table {
    let mut table = Table::new(&[
        "ID", "TYPE", "STATUS", "PRI", "ATTEMPTS", "CREATED", "WORKER",
    ]);
    for t in tasks.into_iter().flatten() {
        table.row(vec![
            output::text(&t["id"]),
            output::text(&t["task_type"]),
            output::text(&t["status"]),
            output::text(&t["priority"]),
            format!(
                "{}/{}",
                output::text(&t["attempts"]),
                output::text(&t["max_attempts"])
            ),
            output::time(&t["created_at"]),
            output::text(&t["worker"]),
        ]);
    }
    table
}

/// One task, a field a line.
pub(crate) fn describe(t: &Value) -> String {
    let requires = match t["capabilities"].as_array() {
        Some(c) if !c.is_empty() => output::text(&t["capabilities"]),
        _ => "no capabilities".into(),
    };
    let mut lines = vec![
        ("id", output::text(&t["id"])),
        ("type", output::text(&t["task_type"])),
        ("status", output::text(&t["status"])),
        ("priority", output::text(&t["priority"])),
        ("requires", requires),
        (
            "attempts",
            format!(
                "{} of {}",
                output::text(&t["attempts"]),
                output::text(&t["max_attempts"])
            ),
        ),
        ("created", output::time(&t["created_at"])),
    ];
    if t["dependencies"].as_array().is_some_and(|d| !d.is_empty()) {
        lines.push(("depends on", output::text(&t["dependencies"])));
    }
    for (label, key) in [
        ("runs at", "run_at"),
        ("started", "started_at"),
        ("finished", "finished_at"),
    ] {
        if !t[key].is_null() {
            lines.push((label, output::time(&t[key])));
        }
    }
    for (label, key) in [
        ("worker", "worker"),
        ("idempotency key", "idempotency_key"),
        ("traceparent", "traceparent"),
        ("error", "error"),
    ] {
        if !t[key].is_null() {
            lines.push((label, output::text(&t[key])));
        }
    }
    if !t["result"].is_null() {
        lines.push(("result", t["result"].to_string()));
    }
    lines.push(("payload", t["payload"].to_string()));
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(label, value)| format!("{label:width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How often a waited-for task is looked at.
const POLL: Duration = Duration::from_millis(250);

/// Follows task `id` to its end or `timeout`: prints each status change
/// and each change of the server's reason for waiting on stderr, then the
/// task on stdout; answers the exit code for how it ended.
async fn follow(
    client: &ApiClient,
    out: &Out,
    id: &str,
    timeout: Option<Duration>,
) -> Result<i32, ClientError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let path = format!("/tasks/{}", encode(id));
    let mut last_status = String::new();
    let mut last_reason = String::new();
    loop {
        let task = client.get(&path).await?;
        let status = output::text(&task.value["status"]);
        if status != last_status {
            progress(&format!("{id}: {status}"));
            last_status.clone_from(&status);
        }
        if let Some(code) = ended(&status) {
            finish(out, &task, code);
            return Ok(code);
        }
        if matches!(status.as_str(), "pending" | "waiting" | "delayed") {
            // The reason is advice: a server that cannot give it does not
            // stop the wait.
            if let Ok(why) = client.get(&format!("{path}/why")).await {
                let reason = output::text(&why.value["reason"]);
                if reason != last_reason {
                    progress(&format!("{id}: waiting: {reason}"));
                    last_reason = reason;
                }
            }
        } else {
            last_reason.clear();
        }
        let pause = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let mut gave_up = format!(
                        "gave up after {}; the task is still {status}",
                        show_duration(timeout.unwrap_or_default())
                    );
                    if !last_reason.is_empty() {
                        gave_up.push_str(&format!(": {last_reason}"));
                    }
                    output::error(&gave_up);
                    out.reply(&task, describe);
                    return Ok(exit::TIMED_OUT);
                }
                left.min(POLL)
            }
            None => POLL,
        };
        tokio::time::sleep(pause).await;
    }
}

/// The exit code of a status that ends a task; `None` while it may still
/// run.
fn ended(status: &str) -> Option<i32> {
    match status {
        "completed" => Some(exit::OK),
        "failed" => Some(exit::FAILED),
        "dead_lettered" => Some(exit::DEAD_LETTERED),
        "cancelled" => Some(exit::CANCELLED),
        _ => None,
    }
}

/// Prints the ended task, and on stderr why it did not complete.
fn finish(out: &Out, task: &Reply, code: i32) {
    let t = &task.value;
    let error = t["error"].as_str().unwrap_or("no error recorded");
    match code {
        exit::FAILED => output::error(&format!("the task failed: {error}")),
        exit::DEAD_LETTERED => output::error(&format!(
            "the task was dead-lettered after {} attempt(s): {error}",
            output::text(&t["attempts"])
        )),
        exit::CANCELLED => output::error("the task was cancelled"),
        _ => {}
    }
    out.reply(task, describe);
}

/// Milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration as typed: a whole number with `ms`, `s`, `m` or `h`; a bare
/// number is seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        format!(
            "{text:?} is not a duration: use e.g. 500ms, 30s, 5m or 1h (a bare number is seconds)"
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(bad()),
    };
    ms.map(Duration::from_millis).ok_or_else(bad)
}

/// A duration as `duration` reads it back.
fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_units() {
        for (text, ms) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("30", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
        ] {
            assert_eq!(duration(text), Ok(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "s", "1.5s", "5d", "-1", "99999999999999999999h"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert_eq!(show_duration(Duration::from_secs(2)), "2s");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn each_end_has_its_exit_code() {
        assert_eq!(
            [
                "completed",
                "failed",
                "dead_lettered",
                "cancelled",
                "pending"
            ]
            .map(ended),
            [
                Some(exit::OK),
                Some(exit::FAILED),
                Some(exit::DEAD_LETTERED),
                Some(exit::CANCELLED),
                None
            ]
        );
    }

    #[test]
    fn a_task_without_requirements_says_so_in_words() {
        let text = describe(&json!({ "id": "x", "capabilities": [], "payload": null }));
        assert!(text.contains("requires  no capabilities"), "{text}");
    }
}
