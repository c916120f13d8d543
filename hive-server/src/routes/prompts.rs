//! The prompt registry: an agent's versions and labels
//! (`GET /prompts/{agent}`), a new version (`POST /prompts/{agent}`), a
//! label moved (`PUT /prompts/{agent}/labels/{label}`) and its history,
//! one version (`GET /prompt-versions/{id}`) and a diff of two.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::prompt::{
    diff, AuthorKind, DiffLine, Label, LabelMove, MoveLabel, NewPromptVersion, PromptVersion,
    PromptVersionId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, JsonBody, QueryParams};
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// An agent's prompts: its versions, oldest first, and its labels.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentPrompts {
    /// Every version, oldest first.
    versions: Vec<PromptVersion>,
    /// Every label, by name.
    labels: Vec<Label>,
}

/// The agent's prompt versions and labels (none for an agent without
/// prompts).
#[utoipa::path(
    get,
    path = "/prompts/{agent}",
    tag = "prompts",
    operation_id = "list_prompts",
    params(("agent" = String, Path, description = "the agent's name")),
    responses(
        (status = 200, description = "its versions and labels", body = AgentPrompts),
        (status = 400, description = "a bad agent name", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(agent): Path<String>,
) -> ApiResult<Json<AgentPrompts>> {
    let prompts = state.hive.prompts();
    Ok(Json(AgentPrompts {
        versions: prompts.versions(&agent).await?,
        labels: prompts.labels(&agent).await?,
    }))
}

/// The body of `POST /prompts/{agent}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreatePrompt)]
pub(crate) struct Create {
    /// The prompt (1–100,000 bytes, not blank).
    text: String,
    /// Who wrote it.
    author: String,
    /// A person (default) or the optimiser.
    author_kind: Option<AuthorKind>,
    /// The version it was derived from (the same agent's).
    #[schema(value_type = Option<uuid::Uuid>)]
    parent: Option<String>,
    /// Why it was written.
    rationale: Option<String>,
}

/// Adds a version of the agent's prompt. Versions are immutable; the same
/// text answers the version the agent already has of it.
#[utoipa::path(
    post,
    path = "/prompts/{agent}",
    tag = "prompts",
    operation_id = "create_prompt",
    params(("agent" = String, Path, description = "the agent's name")),
    request_body = Create,
    responses(
        (status = 201, description = "the version", body = PromptVersion),
        (status = 400, description = "malformed, a bad name, an empty or over-long text, a parent of another agent", body = ErrorBody),
        (status = 404, description = "no such parent", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    JsonBody(body): JsonBody<Create>,
) -> ApiResult<(StatusCode, Json<PromptVersion>)> {
    let mut new = NewPromptVersion::new(agent, body.text, body.author);
    if let Some(p) = body.parent {
        new = new.parent(parse_id("prompt version", &p)?);
    }
    if body.author_kind == Some(AuthorKind::Optimiser) {
        new = new.by_optimiser();
    }
    if let Some(r) = body.rationale {
        new = new.rationale(r);
    }
    Ok((
        StatusCode::CREATED,
        Json(state.hive.prompts().create(new).await?),
    ))
}

/// One prompt version.
#[utoipa::path(
    get,
    path = "/prompt-versions/{id}",
    tag = "prompts",
    operation_id = "get_prompt",
    params(("id" = uuid::Uuid, Path, description = "the version's id")),
    responses(
        (status = 200, description = "the version", body = PromptVersion),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such version", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PromptVersion>> {
    let id: PromptVersionId = parse_id("prompt version", &id)?;
    Ok(Json(state.hive.prompts().get(id).await?))
}

/// The query of `GET /prompt-versions/{id}/diff`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffQuery {
    /// The newer version to compare with.
    #[param(value_type = uuid::Uuid)]
    to: String,
}

/// A diff of two versions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PromptDiff {
    /// The older version.
    from: PromptVersionId,
    /// The newer version.
    to: PromptVersionId,
    /// Lines kept, removed and added, in order.
    lines: Vec<DiffLine>,
    /// The same as text: `  ` kept, `- ` removed, `+ ` added.
    text: String,
}

/// The line diff from this version to another (`?to=`).
#[utoipa::path(
    get,
    path = "/prompt-versions/{id}/diff",
    tag = "prompts",
    operation_id = "diff_prompts",
    params(("id" = uuid::Uuid, Path, description = "the older version's id"), DiffQuery),
    responses(
        (status = 200, description = "the diff", body = PromptDiff),
        (status = 400, description = "an id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such version", body = ErrorBody),
    )
)]
pub(crate) async fn diff_of(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<DiffQuery>,
) -> ApiResult<Json<PromptDiff>> {
    let from: PromptVersionId = parse_id("prompt version", &id)?;
    let to: PromptVersionId = parse_id("prompt version", &q.to)?;
    let (a, b) = (
        state.hive.prompts().get(from).await?,
        state.hive.prompts().get(to).await?,
    );
    let lines = diff(&a.text, &b.text);
    Ok(Json(PromptDiff {
        from,
        to,
        text: hive_core::prompt::diff::render(&lines),
        lines,
    }))
}

/// The body of `PUT /prompts/{agent}/labels/{label}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MoveLabelBody)]
pub(crate) struct Move {
    /// The version to point at (the agent's).
    #[schema(value_type = uuid::Uuid)]
    version: String,
    /// Who moves it.
    by: String,
    /// Who approved: needed for a protected label, and not the mover.
    approved_by: Option<String>,
    /// Why.
    reason: Option<String>,
}

/// Points a label at a version — the only way an agent's prompt changes.
/// An LLM agent reading the label takes the version at its next task.
/// `production` is protected from its first move on: a move needs an
/// approval by someone other than the mover.
#[utoipa::path(
    put,
    path = "/prompts/{agent}/labels/{label}",
    tag = "prompts",
    operation_id = "move_label",
    params(
        ("agent" = String, Path, description = "the agent's name"),
        ("label" = String, Path, description = "the label (`production`, `candidate`, …)"),
    ),
    request_body = Move,
    responses(
        (status = 200, description = "the label where it now points", body = Label),
        (status = 400, description = "malformed, a version of another agent, or a protected label without an approval", body = ErrorBody),
        (status = 404, description = "no such version", body = ErrorBody),
        (status = 409, description = "the label was created at the same moment; move it again", body = ErrorBody),
    )
)]
pub(crate) async fn move_label(
    State(state): State<AppState>,
    Path((agent, label)): Path<(String, String)>,
    JsonBody(body): JsonBody<Move>,
) -> ApiResult<Json<Label>> {
    let version: PromptVersionId = parse_id("prompt version", &body.version)?;
    let mut request = MoveLabel::new(agent, label, version, body.by);
    request.approved_by = body.approved_by;
    request.reason = body.reason;
    Ok(Json(state.hive.move_label(request).await?))
}

/// Every move of a label, oldest first.
#[utoipa::path(
    get,
    path = "/prompts/{agent}/labels/{label}/history",
    tag = "prompts",
    operation_id = "label_history",
    params(
        ("agent" = String, Path, description = "the agent's name"),
        ("label" = String, Path, description = "the label"),
    ),
    responses(
        (status = 200, description = "its moves, numbered 1, 2, 3…", body = Vec<LabelMove>),
        (status = 400, description = "a bad name", body = ErrorBody),
        (status = 404, description = "the label was never set", body = ErrorBody),
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    Path((agent, label)): Path<(String, String)>,
) -> ApiResult<Json<Vec<LabelMove>>> {
    Ok(Json(state.hive.prompts().history(&agent, &label).await?))
}
