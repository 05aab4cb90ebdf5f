//! 三员账号双人审批 — requests for officer accounts: asked by the security officer, approved or
//! rejected by another officer (thin handlers over `dangan_app::administration::officers`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::administration::officers::{
    AccountRequestInput, AccountRequestView, ApprovedRequest,
};
use dangan_app::ids::AccountRequestId;

use crate::error::ApiError;
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
        Json(app.request_account_change(&actor, &input).await?),
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
    Ok(Json(
        app.account_requests(&actor, q.state.as_deref()).await?,
    ))
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
    Ok(Json(app.approve_account_request(&actor, id).await?))
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
            .await?,
    ))
}
