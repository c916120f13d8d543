//! `hive metrics`: the server's rolling window of task metrics (`GET
//! /metrics/series`, what the dashboard charts) as a table, newest
//! interval first, and the spend per agent.

use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

/// `hive metrics`'s flags.
#[derive(clap::Args, Debug)]
pub(crate) struct MetricsArgs {
    /// How many of the newest intervals to show.
    #[arg(long, default_value_t = 12)]
    last: usize,
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    args: MetricsArgs,
) -> Result<i32, ClientError> {
    let page = client.get("/metrics/series").await?;
    if out.json {
        out.json_reply(&page);
        return Ok(exit::OK);
    }
    let v = &page.value;
    let every = output::text(&v["interval_secs"]);
    out.line(&format!(
        "per {every} s interval, newest first (since {}):",
        output::time(&v["since"])
    ));
    let mut table = output::Table::new(&[
        "AT",
        "SUBMITTED",
        "COMPLETED",
        "FAILED",
        "DEAD",
        "PENDING",
        "RUNNING",
        "WAIT P50/P95 MS",
        "RUN P50/P95 MS",
    ]);
    let intervals = v["intervals"].as_array().cloned().unwrap_or_default();
    for s in intervals.iter().rev().take(args.last) {
        let running = s["depth"]["assigned"].as_u64().unwrap_or(0)
            + s["depth"]["in_progress"].as_u64().unwrap_or(0);
        let pair = |a: &str, b: &str| format!("{}/{}", ms(&s[a]), ms(&s[b]));
        let at = if s["partial"] == true {
            format!("{} (so far)", output::time(&s["at"]))
        } else {
            output::time(&s["at"])
        };
        table.row(vec![
            at,
            output::text(&s["submitted"]),
            output::text(&s["completed"]),
            output::text(&s["failed"]),
            output::text(&s["dead_lettered"]),
            output::text(&s["depth"]["pending"]),
            running.to_string(),
            pair("wait_p50_ms", "wait_p95_ms"),
            pair("run_p50_ms", "run_p95_ms"),
        ]);
    }
    out.table(&table);
    let spend = v["spend"].as_array().cloned().unwrap_or_default();
    if spend.is_empty() {
        out.line("no model spend recorded");
    } else {
        let mut table =
            output::Table::new(&["AGENT", "TASKS", "INPUT TOKENS", "OUTPUT TOKENS", "USD"]);
        for row in &spend {
            table.row(vec![
                output::text(&row["agent"]),
                output::text(&row["tasks"]),
                output::text(&row["input_tokens"]),
                output::text(&row["output_tokens"]),
                format!("{:.4}", row["cost_usd"].as_f64().unwrap_or(0.0)),
            ]);
        }
        out.table(&table);
    }
    Ok(exit::OK)
}

/// Milliseconds to one decimal, `-` for none.
fn ms(value: &serde_json::Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}
