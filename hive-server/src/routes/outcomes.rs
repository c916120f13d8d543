//! Outcomes: what each finished task achieved and spent (`GET /outcomes`),
//! and the metrics over them by agent, prompt version, task type or
//! experiment arm (`GET /outcomes/metrics`).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use hive_core::outcome::{GroupBy, Metrics, Outcome, OutcomeFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{in_range, QueryParams};
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// A query struct with the filter both routes share, and `$extra`.
macro_rules! outcome_query {
    ($(#[$doc:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub(crate) struct $name {
            /// Only this agent's (by name).
            agent: Option<String>,
            /// Only tasks of this type.
            #[serde(rename = "type")]
            task_type: Option<String>,
            /// Only this prompt version's.
            prompt_version: Option<String>,
            /// Only this experiment's.
            experiment: Option<String>,
            /// Finished at or after this instant (RFC 3339).
            since: Option<DateTime<Utc>>,
            /// Finished before this instant (RFC 3339).
            until: Option<DateTime<Utc>>,
            $($extra)*
        }

        impl $name {
            fn filter(&self) -> OutcomeFilter {
                OutcomeFilter {
                    agent: self.agent.clone(),
                    task_type: self.task_type.clone(),
                    prompt_version: self.prompt_version.clone(),
                    experiment: self.experiment.clone(),
                    since: self.since,
                    until: self.until,
                }
            }
        }
    };
}

outcome_query! {
    /// Filters and size of `GET /outcomes`.
    ListQuery {
        /// At most this many, newest first (1–1000, default 100).
        #[param(minimum = 1, maximum = 1000)]
        limit: Option<usize>,
    }
}

outcome_query! {
    /// Filters and grouping of `GET /outcomes/metrics`.
    MetricsQuery {
        /// One group per agent, prompt version, task type or experiment
        /// arm, or `all` (the default): one group.
        #[param(inline)]
        group_by: Option<GroupBy>,
    }
}

/// The outcomes of finished tasks, newest first: one per task an agent
/// completed or dead-lettered, with its agent, prompt version, experiment
/// arm, attempts, wait and run time, tokens, cost and score.
#[utoipa::path(
    get,
    path = "/outcomes",
    tag = "outcomes",
    operation_id = "list_outcomes",
    params(ListQuery),
    responses(
        (status = 200, description = "the outcomes, newest first", body = Vec<Outcome>),
        (status = 400, description = "a bad limit or time", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<Outcome>>> {
    let limit = in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    Ok(Json(state.hive.list_outcomes(&q.filter(), limit).await?))
}

/// Metrics over the outcomes the filter passes, per group: tasks, successes
/// and dead letters with their rates, retries, p50/p95 run time and p50
/// wait (nearest rank), tokens, cost and cost per task, and the mean
/// verifier score.
#[utoipa::path(
    get,
    path = "/outcomes/metrics",
    tag = "outcomes",
    operation_id = "outcome_metrics",
    params(MetricsQuery),
    responses(
        (status = 200, description = "one entry per group, ordered by key (none first)", body = Vec<Metrics>),
        (status = 400, description = "a bad time or group", body = ErrorBody),
    )
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<MetricsQuery>,
) -> ApiResult<Json<Vec<Metrics>>> {
    let group_by = q.group_by.unwrap_or_default();
    Ok(Json(state.hive.metrics(&q.filter(), group_by).await?))
}
