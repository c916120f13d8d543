//! The one follower of the hive's task events: it remembers each task
//! between its events (submitted → first claim → end) and turns events into
//! [`Observation`]s — a task started after waiting so long, ended after
//! running so long, with its type, its agent and what it spent. Both the
//! Prometheus counters (`super`) and the dashboard's window
//! ([`super::series`]) are fed from these, so the feed is followed once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hive_core::events::Event;
use hive_core::queue::TaskId;
use hive_core::Hive;

/// Tasks remembered between their events; beyond it a task's type and
/// submit time are read from the queue.
pub const MAX_REMEMBERED: usize = 100_000;
/// Worker → agent names remembered.
const MAX_NAMES: usize = 1_000;

/// What one task event meant.
#[derive(Debug, PartialEq)]
pub(crate) enum Observation {
    /// Not a change the metrics count.
    Nothing,
    /// A task was submitted.
    Submitted,
    /// An attempt started; `wait` (seconds from submit) on the first.
    Started {
        task_type: String,
        wait: Option<f64>,
    },
    /// An attempt ended.
    Ended {
        task_type: String,
        outcome: Outcome,
        /// Seconds from its claim, when the claim was seen.
        run: Option<f64>,
        /// The agent's name and what the attempt spent, when the result
        /// reported it (`task.completed`'s `spend`).
        spend: Option<(String, Spend)>,
    },
    /// A dead-lettered task was sent back to pending.
    Retried { task_type: String },
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    /// Failed, to be retried.
    Failed,
    DeadLettered,
}

/// Tokens and dollars one attempt reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spend {
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cost_usd: Option<f64>,
}

/// A running attempt.
struct Running {
    task_type: String,
    worker: String,
    at: DateTime<Utc>,
}

/// What is remembered of tasks between their events.
#[derive(Default)]
pub(crate) struct TaskFollower {
    /// Submitted, not started yet: when.
    submitted: HashMap<String, DateTime<Utc>>,
    running: HashMap<String, Running>,
    /// Agent names by worker id.
    names: HashMap<String, String>,
}

impl TaskFollower {
    /// Forgets every task (after a resync: events were missed).
    pub(crate) fn forget(&mut self) {
        self.submitted.clear();
        self.running.clear();
    }

    pub(crate) async fn on(&mut self, event: &Event, hive: &Hive) -> Observation {
        let id = event.subject.as_str();
        match event.kind.as_str() {
            "task.submitted" => {
                if self.submitted.len() < MAX_REMEMBERED {
                    self.submitted.insert(id.to_string(), event.at);
                }
                Observation::Submitted
            }
            "task.claimed" => {
                let task_type = match event.data["type"].as_str() {
                    Some(t) => t.to_string(),
                    None => read(hive, id).await.map_or_else(unknown, |(t, _)| t),
                };
                let first = event.data["attempt"].as_u64() == Some(1);
                let submitted = match self.submitted.remove(id) {
                    Some(at) => Some(at),
                    None if first => read(hive, id).await.map(|(_, at)| at),
                    None => None,
                };
                if self.running.len() < MAX_REMEMBERED {
                    let worker = event.data["worker"].as_str().unwrap_or_default();
                    self.running.insert(
                        id.to_string(),
                        Running {
                            task_type: task_type.clone(),
                            worker: worker.to_string(),
                            at: event.at,
                        },
                    );
                }
                Observation::Started {
                    task_type,
                    wait: submitted.filter(|_| first).map(|at| seconds(at, event.at)),
                }
            }
            kind @ ("task.completed" | "task.failed" | "task.dead_lettered") => {
                self.submitted.remove(id);
                let outcome = match kind {
                    "task.completed" => Outcome::Completed,
                    "task.failed" => Outcome::Failed,
                    _ => Outcome::DeadLettered,
                };
                let running = self.running.remove(id);
                let task_type = match &running {
                    Some(r) => r.task_type.clone(),
                    None => type_of(event, hive).await,
                };
                let spend = match event.data.get("spend") {
                    Some(s) => {
                        let agent = match &running {
                            Some(r) => self.name(hive, &r.worker).await,
                            None => unknown(),
                        };
                        Some((
                            agent,
                            Spend {
                                input_tokens: s["input_tokens"].as_u64().unwrap_or(0),
                                output_tokens: s["output_tokens"].as_u64().unwrap_or(0),
                                cost_usd: s["cost_usd"].as_f64(),
                            },
                        ))
                    }
                    None => None,
                };
                Observation::Ended {
                    task_type,
                    outcome,
                    run: running.map(|r| seconds(r.at, event.at)),
                    spend,
                }
            }
            "task.retried" => Observation::Retried {
                task_type: type_of(event, hive).await,
            },
            "task.released" | "task.cancelled" => {
                self.running.remove(id);
                if event.kind == "task.cancelled" {
                    self.submitted.remove(id);
                }
                Observation::Nothing
            }
            _ => Observation::Nothing,
        }
    }

    /// The name of the agent behind `worker`, remembered.
    async fn name(&mut self, hive: &Hive, worker: &str) -> String {
        if let Some(name) = self.names.get(worker) {
            return name.clone();
        }
        let name = match hive.agent_name(worker).await {
            Ok(Some(name)) => name,
            _ => unknown(),
        };
        if self.names.len() < MAX_NAMES {
            self.names.insert(worker.to_string(), name.clone());
        }
        name
    }
}

fn unknown() -> String {
    "unknown".to_string()
}

/// The task's type: from the event's data, else read from the queue.
async fn type_of(event: &Event, hive: &Hive) -> String {
    match event.data["type"].as_str() {
        Some(t) => t.to_string(),
        None => read(hive, &event.subject)
            .await
            .map_or_else(unknown, |(t, _)| t),
    }
}

/// Task `id`'s type and submission time, read from the queue (for tasks
/// not remembered).
async fn read(hive: &Hive, id: &str) -> Option<(String, DateTime<Utc>)> {
    let id: TaskId = id.parse().ok()?;
    let task = hive.queue().get(id).await.ok()?;
    Some((task.task_type, task.created_at))
}

/// Seconds from `from` to `to`, never negative (clocks of two processes).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).to_std().map_or(0.0, |d| d.as_secs_f64())
}
