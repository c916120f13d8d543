//! `hive outcomes …`: what finished tasks achieved and spent (`list`), and
//! the metrics over them by agent, prompt version, task type or experiment
//! arm (`metrics`).

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::exit;
use super::output::{self, Out};
use super::task::duration;
use crate::client::{ApiClient, ClientError};

/// The filter both subcommands take.
#[derive(Args, Debug)]
pub(crate) struct Filter {
    /// Only this agent's (by name).
    #[arg(long)]
    agent: Option<String>,
    /// Only tasks of this type.
    #[arg(long = "type")]
    task_type: Option<String>,
    /// Only this prompt version's.
    #[arg(long = "version")]
    prompt_version: Option<String>,
    /// Only this experiment's.
    #[arg(long)]
    experiment: Option<String>,
    /// Only tasks that finished within this long (e.g. 30m, 24h).
    #[arg(long, value_parser = duration)]
    since: Option<Duration>,
}

impl Filter {
    /// The query string of the filter, each pair `&`-prefixed.
    fn query(&self) -> Result<String, ClientError> {
        let mut q = String::new();
        for (name, value) in [
            ("agent", &self.agent),
            ("type", &self.task_type),
            ("prompt_version", &self.prompt_version),
            ("experiment", &self.experiment),
        ] {
            if let Some(v) = value {
                q.push_str(&format!("&{name}={}", super::encode(v)));
            }
        }
        if let Some(ago) = self.since {
            let ago = chrono::Duration::from_std(ago)
                .map_err(|_| ClientError("--since is too long".into()))?;
            let since =
                (chrono::Utc::now() - ago).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            q.push_str(&format!("&since={}", super::encode(&since)));
        }
        Ok(q)
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum OutcomeCommand {
    /// The outcomes of finished tasks, newest first.
    List {
        #[command(flatten)]
        filter: Filter,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Success rate, latency, retries, dead letters and spend, per group.
    Metrics {
        #[command(flatten)]
        filter: Filter,
        /// One row per agent, prompt_version, task_type or arm; `all` for
        /// one row.
        #[arg(long, default_value = "agent", value_parser = ["all", "agent", "prompt_version", "task_type", "arm"])]
        by: String,
    },
}

fn money(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_string(), |c| format!("${c:.4}"))
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: OutcomeCommand,
) -> Result<i32, ClientError> {
    match command {
        OutcomeCommand::List { filter, limit } => {
            let page = client
                .get(&format!("/outcomes?limit={limit}{}", filter.query()?))
                .await?;
            if out.json {
                out.json_reply(&page);
                return Ok(exit::OK);
            }
            let mut table = output::Table::new(&[
                "FINISHED",
                "TASK",
                "TYPE",
                "AGENT",
                "VERSION",
                "ARM",
                "ENDED",
                "TRIES",
                "RUN MS",
                "TOKENS IN/OUT",
                "COST",
            ]);
            for o in page.value.as_array().cloned().unwrap_or_default() {
                table.row(vec![
                    output::time(&o["finished_at"]),
                    output::text(&o["task_id"]),
                    output::text(&o["task_type"]),
                    output::text(&o["agent"]),
                    output::text(&o["prompt_version"]),
                    output::text(&o["arm"]),
                    output::text(&o["status"]),
                    output::text(&o["attempts"]),
                    output::text(&o["run_ms"]),
                    format!(
                        "{}/{}",
                        output::text(&o["input_tokens"]),
                        output::text(&o["output_tokens"])
                    ),
                    money(&o["cost_usd"]),
                ]);
            }
            if table.is_empty() {
                out.line("no outcomes match");
            } else {
                out.table(&table);
            }
        }
        OutcomeCommand::Metrics { filter, by } => {
            let page = client
                .get(&format!(
                    "/outcomes/metrics?group_by={by}{}",
                    filter.query()?
                ))
                .await?;
            if out.json {
                out.json_reply(&page);
                return Ok(exit::OK);
            }
            let mut table = output::Table::new(&[
                "GROUP",
                "TASKS",
                "SUCCESS",
                "DEAD",
                "RETRIES",
                "RUN P50/P95 MS",
                "WAIT P50 MS",
                "COST",
                "COST/TASK",
                "SCORE",
            ]);
            for m in page.value.as_array().cloned().unwrap_or_default() {
                let rate = |k: &str| {
                    m[k].as_f64()
                        .map_or_else(|| "—".to_string(), |r| format!("{:.1} %", 100.0 * r))
                };
                table.row(vec![
                    m["key"].as_str().unwrap_or("(none)").to_string(),
                    output::text(&m["tasks"]),
                    rate("success_rate"),
                    rate("dead_letter_rate"),
                    output::text(&m["retries"]),
                    format!(
                        "{}/{}",
                        output::text(&m["p50_run_ms"]),
                        output::text(&m["p95_run_ms"])
                    ),
                    output::text(&m["p50_wait_ms"]),
                    money(&m["cost_usd"]),
                    money(&m["cost_per_task"]),
                    m["mean_score"]
                        .as_f64()
                        .map_or_else(|| "—".to_string(), |s| format!("{s:.3}")),
                ]);
            }
            if table.is_empty() {
                out.line("no outcomes match");
            } else {
                out.table(&table);
            }
        }
    }
    Ok(exit::OK)
}
