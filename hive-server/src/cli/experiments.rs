//! `hive experiments …`: start an experiment on an agent's prompt, list
//! them, read one's status (arms, estimates with their confidence
//! sequences, the decision), stop one, approve a winner's promotion.

use clap::Subcommand;
use serde_json::{json, Value};

use super::encode;
use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum ExperimentCommand {
    /// Tries versions of an agent's prompt against the one its label
    /// points at.
    Start {
        /// The agent.
        agent: String,
        /// A version to try (repeat for several).
        #[arg(long = "variant", required = true)]
        variants: Vec<String>,
        /// Who starts it.
        #[arg(long)]
        by: String,
        /// The label the winner moves.
        #[arg(long, default_value = "production")]
        label: String,
        /// success or score.
        #[arg(long, default_value = "success", value_parser = ["success", "score"])]
        metric: String,
        /// The error rate, in (0, 0.5].
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Observations per arm before deciding.
        #[arg(long, default_value_t = 20)]
        min_samples: u64,
        /// Observations per arm at most.
        #[arg(long, default_value_t = 1000)]
        max_samples: u64,
        /// Stop a variant costing more than this fraction over the
        /// control's cost per task (0.5: +50 %).
        #[arg(long)]
        max_cost_increase: Option<f64>,
        /// Stop a variant whose p95 run time exceeds the control's by more
        /// than this fraction.
        #[arg(long)]
        max_p95_increase: Option<f64>,
        /// Stop a variant whose dead-letter rate exceeds the control's by
        /// more than this (absolute: 0.05 is five points).
        #[arg(long)]
        max_error_rate_increase: Option<f64>,
        /// Thompson sampling after this many observations (else equal
        /// shares).
        #[arg(long)]
        thompson_after: Option<u64>,
        /// Observations of a promoted version to watch (0: none).
        #[arg(long, default_value_t = 200)]
        watch_samples: u64,
        /// Who approves the winner's promotion in advance (needed to move
        /// a protected label without waiting).
        #[arg(long)]
        approved_by: Option<String>,
        /// The assignment seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Experiments, newest first.
    List {
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only the active ones.
        #[arg(long)]
        active: bool,
    },
    /// One experiment: its arms with samples, estimates and confidence
    /// sequences, and the decision.
    Status {
        /// The experiment's id.
        id: String,
    },
    /// Stops an active experiment (no label moves).
    Stop {
        /// The experiment's id.
        id: String,
        /// Who stops it.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Approves a winner's promotion (the label moves, the watch begins).
    Approve {
        /// The experiment's id.
        id: String,
        /// Who approves (not its starter).
        #[arg(long)]
        by: String,
    },
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_string(), |x| format!("{x:.digits$}"))
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_string(), |x| format!("{:.1} %", 100.0 * x))
}

/// The arms table of a report.
fn arms(report: &Value) -> output::Table {
    let mut table = output::Table::new(&[
        "ARM",
        "VERSION",
        "STATE",
        "SAMPLES",
        "MEAN",
        "DIFF [CS]",
        "SUCCESS",
        "TOKENS/TASK",
        "P95 MS",
    ]);
    let rows = report["arms"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .chain(report["watch"].as_object().map(|_| report["watch"].clone()));
    for a in rows {
        let d = &a["difference"];
        table.row(vec![
            output::text(&a["name"]),
            output::text(&a["version"]).chars().take(8).collect(),
            output::text(&a["state"]),
            output::text(&a["samples"]),
            num(&a["mean"], 3),
            if d.is_object() {
                format!(
                    "{} [{}, {}]",
                    num(&d["estimate"], 3),
                    num(&d["lower"], 3),
                    num(&d["upper"], 3)
                )
            } else {
                "—".into()
            },
            pct(&a["success_rate"]),
            num(&a["tokens_per_task"], 1),
            output::text(&a["p95_run_ms"]),
        ]);
    }
    table
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: ExperimentCommand,
) -> Result<i32, ClientError> {
    match command {
        ExperimentCommand::Start {
            agent,
            variants,
            by,
            label,
            metric,
            alpha,
            min_samples,
            max_samples,
            max_cost_increase,
            max_p95_increase,
            max_error_rate_increase,
            thompson_after,
            watch_samples,
            approved_by,
            seed,
        } => {
            let mut body = json!({
                "agent": agent, "variants": variants, "started_by": by, "label": label,
                "metric": metric, "alpha": alpha, "min_samples": min_samples,
                "max_samples": max_samples, "watch_samples": watch_samples,
                "guardrails": {
                    "max_cost_increase": max_cost_increase,
                    "max_p95_increase": max_p95_increase,
                    "max_error_rate_increase": max_error_rate_increase,
                },
            });
            if let Some(b) = thompson_after {
                body["allocation"] = json!({"kind": "thompson", "burn_in": b});
            }
            if let Some(a) = approved_by {
                body["approved_by"] = json!(a);
            }
            if let Some(s) = seed {
                body["seed"] = json!(s);
            }
            let reply = client.post("/experiments", &body).await?;
            out.reply(&reply, |v| {
                format!(
                    "experiment {} on {} ({}): {} arms, running",
                    output::text(&v["id"]),
                    output::text(&v["agent"]),
                    output::text(&v["label"]),
                    v["arms"].as_array().map_or(0, Vec::len)
                )
            });
        }
        ExperimentCommand::List { agent, active } => {
            let mut path = format!("/experiments?active={active}");
            if let Some(a) = agent {
                path.push_str(&format!("&agent={}", encode(&a)));
            }
            let reply = client.get(&path).await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let mut table =
                output::Table::new(&["ID", "STARTED", "AGENT", "LABEL", "STATUS", "DECISION"]);
            for e in reply.value.as_array().cloned().unwrap_or_default() {
                table.row(vec![
                    output::text(&e["id"]),
                    output::time(&e["created_at"]),
                    output::text(&e["agent"]),
                    output::text(&e["label"]),
                    output::text(&e["status"]),
                    output::text(&e["decision"]["kind"]),
                ]);
            }
            if table.is_empty() {
                out.line("no experiments");
            } else {
                out.table(&table);
            }
        }
        ExperimentCommand::Status { id } => {
            let reply = client.get(&format!("/experiments/{}", encode(&id))).await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let e = &reply.value["experiment"];
            out.line(&format!(
                "experiment {} on {} ({}), {} — α {}, {} to {} per arm, {} assigned, {} observed",
                output::text(&e["id"]),
                output::text(&e["agent"]),
                output::text(&e["label"]),
                output::text(&e["status"]),
                output::text(&e["alpha"]),
                output::text(&e["min_samples"]),
                output::text(&e["max_samples"]),
                output::text(&reply.value["assigned"]),
                output::text(&reply.value["observations"]),
            ));
            out.table(&arms(&reply.value));
            if e["decision"].is_object() {
                out.line(&format!(
                    "decision: {} — {}",
                    output::text(&e["decision"]["kind"]),
                    output::text(&e["decision"]["reason"])
                ));
            }
            if e["watch"].is_object() {
                let w = &e["watch"];
                out.line(&format!(
                    "watch: {} — {}",
                    w["verdict"].as_str().unwrap_or("watching"),
                    output::text(&w["reason"])
                ));
            }
        }
        ExperimentCommand::Stop { id, by, reason } => {
            let mut body = json!({ "by": by });
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let reply = client
                .post(&format!("/experiments/{}/stop", encode(&id)), &body)
                .await?;
            out.reply(&reply, |v| {
                format!("experiment {} stopped", output::text(&v["id"]))
            });
        }
        ExperimentCommand::Approve { id, by } => {
            let reply = client
                .post(
                    &format!("/experiments/{}/approve", encode(&id)),
                    &json!({ "by": by }),
                )
                .await?;
            out.reply(&reply, |v| {
                format!(
                    "experiment {} promoted; {}",
                    output::text(&v["id"]),
                    output::text(&v["status"])
                )
            });
        }
    }
    Ok(exit::OK)
}
