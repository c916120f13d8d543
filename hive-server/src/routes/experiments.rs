//! Experiments on agents' prompts: start one (`POST /experiments`), list
//! them, read one with its arms' figures and confidence sequences, stop
//! one, approve a winner's promotion, and read its task assignments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::experiment::{
    Allocation, Experiment, ExperimentId, ExperimentReport, Guardrails, Metric, NewExperiment,
};
use hive_core::prompt::PromptVersionId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{in_range, parse_id, JsonBody, QueryParams};
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// The body of `POST /experiments`. Unset fields take the defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StartExperiment)]
pub(crate) struct Start {
    /// The agent whose prompt is tried.
    agent: String,
    /// The versions tried against the control (1–8, the agent's).
    #[schema(value_type = Vec<uuid::Uuid>)]
    variants: Vec<String>,
    /// Who starts it.
    started_by: String,
    /// The label the winner moves (default `production`).
    label: Option<String>,
    /// The control; default (and it must be) the version the label points
    /// at.
    #[schema(value_type = Option<uuid::Uuid>)]
    control: Option<String>,
    /// `success` (default) or `score`.
    metric: Option<Metric>,
    /// The guardrails (none by default).
    guardrails: Option<Guardrails>,
    /// The error rate, in (0, 0.5] (default 0.05).
    alpha: Option<f64>,
    /// Observations per arm before anything is decided (default 20).
    min_samples: Option<u64>,
    /// Observations per arm at most (default 1000).
    max_samples: Option<u64>,
    /// The split (default equal shares).
    allocation: Option<Allocation>,
    /// The assignment seed (default drawn).
    seed: Option<u64>,
    /// Observations of a promoted version to watch (default 200; 0: none).
    watch_samples: Option<u64>,
    /// The share of the watch's tasks held back on the replaced version,
    /// in [0, 0.5] (default 0.2).
    watch_holdback: Option<f64>,
    /// Who approves, in advance, moving a protected label to the winner
    /// (and back); without it a winner of a protected label waits for
    /// `POST /experiments/{id}/approve`.
    approved_by: Option<String>,
}

/// Starts an experiment: from now on the agent's tasks are split between
/// the control and the variants when leased, and after every observation
/// the sequential test decides whether to go on, promote a winner, or stop
/// for futility or on a guardrail.
#[utoipa::path(
    post,
    path = "/experiments",
    tag = "experiments",
    operation_id = "start_experiment",
    request_body = Start,
    responses(
        (status = 201, description = "the running experiment", body = Experiment, links(
            ("get" = (operation_id = "get_experiment", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "malformed; α outside (0, 0.5]; a minimum over the maximum; a version of another agent; a control the label does not point at", body = ErrorBody),
        (status = 404, description = "an unknown version, or an agent without the label", body = ErrorBody),
        (status = 409, description = "the label already has an active experiment", body = ErrorBody),
    )
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Start>,
) -> ApiResult<(StatusCode, Json<Experiment>)> {
    let variants = body
        .variants
        .iter()
        .map(|v| parse_id::<PromptVersionId>("prompt version", v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut new = NewExperiment::new(body.agent, variants, body.started_by);
    if let Some(l) = body.label {
        new.label = l;
    }
    if let Some(c) = body.control {
        new.control = Some(parse_id("prompt version", &c)?);
    }
    new.metric = body.metric.unwrap_or(new.metric);
    new.guardrails = body.guardrails.unwrap_or_default();
    new.alpha = body.alpha.unwrap_or(new.alpha);
    new.min_samples = body.min_samples.unwrap_or(new.min_samples);
    new.max_samples = body.max_samples.unwrap_or(new.max_samples);
    new.allocation = body.allocation.unwrap_or_default();
    new.seed = body.seed;
    new.watch_samples = body.watch_samples.unwrap_or(new.watch_samples);
    new.watch_holdback = body.watch_holdback.unwrap_or(new.watch_holdback);
    new.approved_by = body.approved_by;
    Ok((
        StatusCode::CREATED,
        Json(state.hive.experiments().start(new).await?),
    ))
}

/// Filters of `GET /experiments`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this agent's.
    agent: Option<String>,
    /// Only the active ones (running, awaiting approval or watching).
    active: Option<bool>,
    /// At most this many, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Experiments, newest first.
#[utoipa::path(
    get,
    path = "/experiments",
    tag = "experiments",
    operation_id = "list_experiments",
    params(ListQuery),
    responses(
        (status = 200, description = "the experiments, newest first", body = Vec<Experiment>),
        (status = 400, description = "a bad agent name or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<Experiment>>> {
    let limit = in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    Ok(Json(
        state
            .hive
            .experiments()
            .list(q.agent.as_deref(), q.active.unwrap_or(false), limit)
            .await?,
    ))
}

/// One experiment with a look taken now: per arm the samples, the mean of
/// the primary metric, the difference from the control with its
/// confidence sequence, success and error rates, tokens and cost per
/// task and p95 run time; the watched version's figures during a watch.
#[utoipa::path(
    get,
    path = "/experiments/{id}",
    tag = "experiments",
    operation_id = "get_experiment",
    params(("id" = uuid::Uuid, Path, description = "the experiment's id")),
    responses(
        (status = 200, description = "the experiment and its figures", body = ExperimentReport),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such experiment", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ExperimentReport>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    Ok(Json(state.hive.experiments().report(id).await?))
}

/// The body of `POST /experiments/{id}/stop`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StopExperiment)]
pub(crate) struct Stop {
    /// Who stops it.
    by: String,
    /// Why.
    reason: Option<String>,
}

/// Stops an active experiment by hand; no label moves.
#[utoipa::path(
    post,
    path = "/experiments/{id}/stop",
    tag = "experiments",
    operation_id = "stop_experiment",
    params(("id" = uuid::Uuid, Path, description = "the experiment's id")),
    request_body = Stop,
    responses(
        (status = 200, description = "the finished experiment", body = Experiment),
        (status = 400, description = "malformed, or a bad name", body = ErrorBody),
        (status = 404, description = "no such experiment", body = ErrorBody),
        (status = 409, description = "it is already finished, or changed at the same moment", body = ErrorBody),
    )
)]
pub(crate) async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Stop>,
) -> ApiResult<Json<Experiment>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    Ok(Json(
        state
            .hive
            .experiments()
            .stop(id, &body.by, body.reason.as_deref())
            .await?,
    ))
}

/// The body of `POST /experiments/{id}/approve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApproveExperiment)]
pub(crate) struct Approve {
    /// Who approves (not its starter).
    by: String,
}

/// Approves the promotion of a winner waiting for it: the label moves and
/// the watch begins.
#[utoipa::path(
    post,
    path = "/experiments/{id}/approve",
    tag = "experiments",
    operation_id = "approve_experiment",
    params(("id" = uuid::Uuid, Path, description = "the experiment's id")),
    request_body = Approve,
    responses(
        (status = 200, description = "the experiment, promoted", body = Experiment),
        (status = 400, description = "malformed, or approved by its starter", body = ErrorBody),
        (status = 404, description = "no such experiment", body = ErrorBody),
        (status = 409, description = "it is not awaiting approval", body = ErrorBody),
    )
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Approve>,
) -> ApiResult<Json<Experiment>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    Ok(Json(state.hive.experiments().approve(id, &body.by).await?))
}

/// A task's arm.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskArm {
    /// The task.
    #[schema(value_type = uuid::Uuid)]
    task_id: String,
    /// Its arm (`control`, `variant-1`, …, `watch`).
    arm: String,
}

/// Every task the experiment assigned, with its arm, in the order
/// assigned. Assignments are kept: a task keeps its arm across retries
/// and restarts.
#[utoipa::path(
    get,
    path = "/experiments/{id}/assignments",
    tag = "experiments",
    operation_id = "experiment_assignments",
    params(("id" = uuid::Uuid, Path, description = "the experiment's id")),
    responses(
        (status = 200, description = "the assignments", body = Vec<TaskArm>),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such experiment", body = ErrorBody),
    )
)]
pub(crate) async fn assignments(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TaskArm>>> {
    let id: ExperimentId = parse_id("experiment", &id)?;
    let x = state.hive.experiments();
    x.store().get(id).await?;
    let rows = x.store().assignments(id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(t, arm)| TaskArm {
                task_id: t.to_string(),
                arm,
            })
            .collect(),
    ))
}
