//! The self-modifier: the repositories it may change (`GET /repositories`)
//! and change sets — propose one, list them, read one with its gates'
//! logs, approve (approver scope), reject, revert.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use hive_core::meta::ProposalId;
use hive_core::selfmod::{
    ChangeSet, ChangeSetId, ChangeSource, ChangeStatus, NewChangeSet, Policy,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{in_range, parse_id, JsonBody, QueryParams};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// A repository the self-modifier may change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Repository {
    /// Its name in change sets.
    name: String,
    /// The branch changes merge into.
    target: String,
    /// Its policy: allowed and critical paths, tests, the gates' commands.
    policy: Policy,
}

/// The repositories the self-modifier may change (`[[repositories]]` of
/// hive.toml), with their policies.
#[utoipa::path(
    get,
    path = "/repositories",
    tag = "changes",
    operation_id = "list_repositories",
    responses((status = 200, description = "the repositories, by name", body = Vec<Repository>))
)]
pub(crate) async fn repositories(State(state): State<AppState>) -> Json<Vec<Repository>> {
    Json(
        state
            .hive
            .changes()
            .repositories()
            .iter()
            .map(|r| Repository {
                name: r.name.clone(),
                target: r.target.clone(),
                policy: r.policy.clone(),
            })
            .collect(),
    )
}

/// The body of `POST /changes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProposeChange)]
pub(crate) struct Propose {
    /// The repository, by name.
    repository: String,
    /// One line: the commit's subject.
    title: String,
    /// The commit's body.
    #[serde(default)]
    description: String,
    /// The change: `{"kind": "patch", "patch": "<unified diff>"}` or
    /// `{"kind": "agent", "prompt": "…"}` (the repository's coding
    /// command writes it).
    source: ChangeSource,
    /// The meta-agent's proposal it carries out.
    #[serde(default)]
    proposal: Option<ProposalId>,
}

/// Proposes a change set: it is stored and its first step queued; it then
/// goes through the gates on its own — worktree from the target's head,
/// generation, static gate, sandboxed tests restored from the base,
/// benchmark, approval when critical, fast-forward with a rollback tag,
/// watch, revert on failure.
#[utoipa::path(
    post,
    path = "/changes",
    tag = "changes",
    operation_id = "propose_change",
    request_body = Propose,
    responses(
        (status = 201, description = "the change set, running", body = ChangeSet),
        (status = 400, description = "malformed: a bad title, an empty patch or prompt, a prompt for a repository without a coding command", body = ErrorBody),
        (status = 404, description = "no such repository", body = ErrorBody),
    )
)]
pub(crate) async fn propose(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<Propose>,
) -> ApiResult<(StatusCode, Json<ChangeSet>)> {
    let new = NewChangeSet {
        repository: body.repository,
        title: body.title,
        description: body.description,
        source: body.source,
        proposal: body.proposal,
        requested_by: match caller {
            Caller::Approver(name) => Some(name),
            Caller::Plain => None,
        },
    };
    Ok((
        StatusCode::CREATED,
        Json(state.hive.changes().propose(new).await?),
    ))
}

/// Filters of `GET /changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this repository's.
    repository: Option<String>,
    /// Only in this status.
    #[param(inline)]
    status: Option<ChangeStatus>,
    /// At most this many, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Change sets, newest first.
#[utoipa::path(
    get,
    path = "/changes",
    tag = "changes",
    operation_id = "list_changes",
    params(ListQuery),
    responses(
        (status = 200, description = "the change sets, newest first", body = Vec<ChangeSet>),
        (status = 400, description = "a bad repository name, status or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<ChangeSet>>> {
    let limit = in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    Ok(Json(
        state
            .hive
            .changes()
            .list(q.repository.as_deref(), q.status, limit)
            .await?,
    ))
}

/// One change set with each step's log, its diff statistics, the static
/// verdict, the benchmark's interval and the decision.
#[utoipa::path(
    get,
    path = "/changes/{id}",
    tag = "changes",
    operation_id = "get_change",
    params(("id" = uuid::Uuid, Path, description = "the change set's id")),
    responses(
        (status = 200, description = "the change set", body = ChangeSet),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such change set", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ChangeSet>> {
    let id: ChangeSetId = parse_id("change set", &id)?;
    Ok(Json(state.hive.changes().get(id).await?))
}

/// The body of `POST /changes/{id}/approve`, `/reject` and `/revert`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DecideChange)]
pub(crate) struct Decide {
    /// Why.
    #[serde(default)]
    reason: String,
    /// Who (a rejection's or revert's; an approval is always by the
    /// approver whose token was presented).
    #[serde(default)]
    by: Option<String>,
}

impl Decide {
    fn by(&self, caller: &Caller) -> String {
        match caller {
            Caller::Approver(name) => name.clone(),
            Caller::Plain => self.by.clone().unwrap_or_else(|| "api".into()),
        }
    }
}

/// Approves a critical change set waiting for it; it then merges. Needs a
/// token with the approver scope: who approved, when and why are stored.
#[utoipa::path(
    post,
    path = "/changes/{id}/approve",
    tag = "changes",
    operation_id = "approve_change",
    params(("id" = uuid::Uuid, Path, description = "the change set's id")),
    request_body = Decide,
    responses(
        (status = 200, description = "the change set, approved and on to its merge", body = ChangeSet),
        (status = 400, description = "malformed", body = ErrorBody),
        (status = 403, description = "the token lacks the approver scope", body = ErrorBody),
        (status = 404, description = "no such change set", body = ErrorBody),
        (status = 409, description = "it is not waiting for an approval", body = ErrorBody),
    )
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Decide>,
) -> ApiResult<Json<ChangeSet>> {
    let by = caller.approver()?;
    let id: ChangeSetId = parse_id("change set", &id)?;
    Ok(Json(
        state.hive.changes().approve(id, by, &body.reason).await?,
    ))
}

/// Rejects a change set that has not merged; the target never moves.
#[utoipa::path(
    post,
    path = "/changes/{id}/reject",
    tag = "changes",
    operation_id = "reject_change",
    params(("id" = uuid::Uuid, Path, description = "the change set's id")),
    request_body = Decide,
    responses(
        (status = 200, description = "the change set, rejected", body = ChangeSet),
        (status = 400, description = "malformed", body = ErrorBody),
        (status = 404, description = "no such change set", body = ErrorBody),
        (status = 409, description = "it has merged or ended", body = ErrorBody),
    )
)]
pub(crate) async fn reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Decide>,
) -> ApiResult<Json<ChangeSet>> {
    let id: ChangeSetId = parse_id("change set", &id)?;
    let by = body.by(&caller);
    Ok(Json(
        state.hive.changes().reject(id, &by, &body.reason).await?,
    ))
}

/// Reverts a merged change set by a new commit on its target (history is
/// never rewritten).
#[utoipa::path(
    post,
    path = "/changes/{id}/revert",
    tag = "changes",
    operation_id = "revert_change",
    params(("id" = uuid::Uuid, Path, description = "the change set's id")),
    request_body = Decide,
    responses(
        (status = 200, description = "the change set, reverted", body = ChangeSet),
        (status = 400, description = "malformed", body = ErrorBody),
        (status = 404, description = "no such change set", body = ErrorBody),
        (status = 409, description = "it has not merged, or the revert does not apply cleanly", body = ErrorBody),
    )
)]
pub(crate) async fn revert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Decide>,
) -> ApiResult<Json<ChangeSet>> {
    let id: ChangeSetId = parse_id("change set", &id)?;
    let by = body.by(&caller);
    Ok(Json(
        state.hive.changes().revert(id, &by, &body.reason).await?,
    ))
}
