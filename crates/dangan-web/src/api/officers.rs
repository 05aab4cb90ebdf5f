//! 三员账号双人审批 — requests for officer accounts: asked by the security officer, approved or
//! rejected by another officer (thin handlers over `dangan_app::administration::officers`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::administration::officers;
use dangan_app::ids::AccountRequestId;

use super::wire::accounts::{Role, UserView};
use super::wire::{all, ids};
use crate::error::ApiError;

/// A request as entered by the security officer.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"kind": "create", "username": "audit2", "display_name": "王审计", "role": "auditor", "reason": "审计员岗位增补"}))]
pub struct AccountRequestInput {
    /// `create`: a new officer account; `change`: the role or state of an existing account.
    #[schema(pattern = "^(create|change)$")]
    pub kind: String,
    /// With `create`: the new account's sign-in name.
    pub username: Option<String>,
    /// With `create`: the new account's display name (default: the username).
    pub display_name: Option<String>,
    /// With `change`: the account's row id.
    #[schema(minimum = 1)]
    pub user_id: Option<i64>,
    /// The role asked for: admin, archivist, handler, window, auditor, security_officer.
    #[schema(pattern = "^(admin|archivist|handler|window|auditor|security_officer)$")]
    pub role: String,
    /// With `change`: disable the account (`false` enables it).
    #[serde(default)]
    pub disabled: bool,
    /// 申请理由 — why (at most 200 characters).
    pub reason: String,
}

impl From<AccountRequestInput> for officers::AccountRequestInput {
    fn from(i: AccountRequestInput) -> officers::AccountRequestInput {
        officers::AccountRequestInput {
            kind: i.kind,
            username: i.username,
            display_name: i.display_name,
            user_id: i.user_id,
            role: i.role,
            disabled: i.disabled,
            reason: i.reason,
        }
    }
}

/// A request as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountRequestView {
    /// Row id.
    pub id: ids::AccountRequestId,
    /// `create` or `change`.
    pub kind: String,
    /// The account to change (`change`).
    pub target_user_id: Option<ids::UserId>,
    /// Sign-in name of the new account, or of the target when asked.
    pub username: String,
    /// Display name of the new account, or of the target when asked.
    pub display_name: String,
    /// The target's role when asked (`change`).
    pub from_role: Option<Role>,
    /// The target's disabled state when asked (`change`).
    pub from_disabled: Option<bool>,
    /// The role asked for.
    pub role: Role,
    /// Whether the account is to be disabled.
    pub disabled: bool,
    /// 申请理由
    pub reason: String,
    /// The requesting officer's sign-in name.
    pub requested_by: String,
    /// When asked.
    pub requested_at: DateTime<Utc>,
    /// `pending`, `approved` or `rejected`.
    #[schema(pattern = "^(pending|approved|rejected)$")]
    pub state: String,
    /// The deciding officer's sign-in name.
    pub decided_by: Option<String>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's note.
    pub decision_note: Option<String>,
    /// The account an approved `create` made.
    pub created_user_id: Option<ids::UserId>,
}

impl From<officers::AccountRequestView> for AccountRequestView {
    fn from(r: officers::AccountRequestView) -> AccountRequestView {
        AccountRequestView {
            id: ids::AccountRequestId(r.id.0),
            kind: r.kind.to_string(),
            target_user_id: r.target_user_id.map(|id| ids::UserId(id.0)),
            username: r.username,
            display_name: r.display_name,
            from_role: r.from_role.map(Role::from),
            from_disabled: r.from_disabled,
            role: r.role.into(),
            disabled: r.disabled,
            reason: r.reason,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            state: r.state.to_string(),
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_note: r.decision_note,
            created_user_id: r.created_user_id.map(|id| ids::UserId(id.0)),
        }
    }
}

/// An approved request and what it did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApprovedRequest {
    /// The request, now approved.
    pub request: AccountRequestView,
    /// The account created or changed.
    pub user: UserView,
    /// 初始密码 — the generated first password of a created account, shown to the approver this
    /// once (to be changed at first sign-in); absent for a change.
    pub initial_password: Option<String>,
}

impl From<officers::ApprovedRequest> for ApprovedRequest {
    fn from(a: officers::ApprovedRequest) -> ApprovedRequest {
        ApprovedRequest {
            request: a.request.into(),
            user: a.user.into(),
            initial_password: a.initial_password,
        }
    }
}
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// `POST /api/v1/users/requests`: asks for an officer account or an officer-role change (201);
/// nothing changes until another officer approves.
#[utoipa::path(
    post,
    path = "/users/requests",
    tag = "accounts",
    request_body = AccountRequestInput,
    responses(
        (status = 201, description = "已提出，待另一名三员批准 — asked; waits for another officer's approval", body = AccountRequestView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn create_request(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<AccountRequestInput>,
) -> Result<(StatusCode, Json<AccountRequestView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.request_account_change(&actor, &input.into())
                .await?
                .into(),
        ),
    ))
}

/// Which requests to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    /// `pending` (default): those waiting for a decision; `all`: also the decided ones.
    #[param(pattern = "^(pending|all)$")]
    pub state: Option<String>,
}

/// `GET /api/v1/users/requests?state=pending|all`: the account requests, newest first.
#[utoipa::path(
    get,
    path = "/users/requests",
    tag = "accounts",
    params(RequestsQuery),
    responses(
        (status = 200, description = "账号申请，新的在前 — the requests, newest first", body = Vec<AccountRequestView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_requests(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> Result<Json<Vec<AccountRequestView>>, ApiError> {
    let requests = app.account_requests(&actor, q.state.as_deref()).await?;
    Ok(Json(all(requests)))
}

/// `POST /api/v1/users/requests/{id}/approve`: another officer approves; the change happens
/// now. A created account's one-time password is in the answer, for the approver only.
#[utoipa::path(
    post,
    path = "/users/requests/{id}/approve",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "申请编号 — the request's row id"),
    ),
    responses(
        (status = 200, description = "已批准并生效；新账号的初始密码只在此处出现一次 — approved and done; a new account's first password is shown only here", body = ApprovedRequest),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn approve_request(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<ApprovedRequest>, ApiError> {
    let id = AccountRequestId(row_id(&id, "id")?);
    Ok(Json(app.approve_account_request(&actor, id).await?.into()))
}

/// A rejection.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RejectForm {
    /// 驳回说明（可选，不超过200字）— why, optional.
    note: Option<String>,
}

/// `POST /api/v1/users/requests/{id}/reject`: an officer rejects a pending request (the
/// requester may withdraw their own).
#[utoipa::path(
    post,
    path = "/users/requests/{id}/reject",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "申请编号 — the request's row id"),
    ),
    request_body = RejectForm,
    responses(
        (status = 200, description = "已驳回 — rejected", body = AccountRequestView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn reject_request(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<RejectForm>,
) -> Result<Json<AccountRequestView>, ApiError> {
    let id = AccountRequestId(row_id(&id, "id")?);
    Ok(Json(
        app.reject_account_request(&actor, id, form.note.as_deref())
            .await?
            .into(),
    ))
}
