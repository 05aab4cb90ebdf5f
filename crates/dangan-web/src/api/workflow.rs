//! From business to shelf: tasks, handover lists, supplements, volumes, corrections, damage and
//! loss. Thin handlers over the use-cases of `dangan-app`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::ids::{HandoverId, MaterialId, PersonId, SupplementId, VolumeId};
use dangan_domain::business::BusinessClass;

use super::wire::all;
use super::wire::workflow::{
    ConfirmInput, ContactInput, CorrectionInput, CorrectionView, DamageInput, FulfilInput,
    HandoverInput, HandoverListPage, HandoverListQuery, HandoverView, LossInput, LossSteps,
    MaterialIncidents, RepairInput, SupplementView, TaskQuery, TaskView, VolumeView,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// `GET /api/v1/tasks?post=collection|organising&state=open|overdue|done`.
#[utoipa::path(
    get,
    path = "/tasks",
    tag = "workflow",
    params(
        TaskQuery,
    ),
    responses(
        (status = 200, description = "任务 — tasks", body = Vec<TaskView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_tasks(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    Ok(Json(all(app.tasks(&actor, &q.into()).await?)))
}

/// `GET /api/v1/handovers?state=open|confirmed&limit=&offset=`: the handover lists (交接), open
/// ones first, then newest first; each names its (first) person with the masked number.
#[utoipa::path(
    get,
    path = "/handovers",
    tag = "workflow",
    params(
        HandoverListQuery,
    ),
    responses(
        (status = 200, description = "交接单 — one page of handover lists", body = HandoverListPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_handovers(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<HandoverListQuery>,
) -> Result<Json<HandoverListPage>, ApiError> {
    let page = app
        .handover_page(&actor, q.state.as_deref(), q.limit, q.offset)
        .await?;
    Ok(Json(page.into()))
}

/// `POST /api/v1/handovers`: the collection post hands materials over (201).
#[utoipa::path(
    post,
    path = "/handovers",
    tag = "workflow",
    request_body = HandoverInput,
    responses(
        (status = 201, description = "交接单 — the handover list", body = HandoverView),
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
pub async fn create_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<HandoverInput>,
) -> Result<(StatusCode, Json<HandoverView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_handover(&actor, &input.into()).await?.into()),
    ))
}

/// `GET /api/v1/handovers/{id}`.
#[utoipa::path(
    get,
    path = "/handovers/{id}",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "交接单编号 — the handover list's row id"),
    ),
    responses(
        (status = 200, description = "交接单 — the handover list", body = HandoverView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<HandoverView>, ApiError> {
    Ok(Json(
        app.handover(&actor, HandoverId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}

/// `POST /api/v1/handovers/{id}/confirm`: the archive post confirms item by item.
#[utoipa::path(
    post,
    path = "/handovers/{id}/confirm",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "交接单编号 — the handover list's row id"),
    ),
    request_body = ConfirmInput,
    responses(
        (status = 200, description = "已确认 — confirmed", body = HandoverView),
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
pub async fn confirm_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> Result<Json<HandoverView>, ApiError> {
    Ok(Json(
        app.confirm_handover(&actor, HandoverId(row_id(&id, "id")?), &input.into())
            .await?
            .into(),
    ))
}

/// Filter of the supplement list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// `open`、`supplemented` 或 `missing`（不填为全部）— the state to list.
    #[param(pattern = "^(open|supplemented|missing)$")]
    state: Option<String>,
}

/// `GET /api/v1/supplements?state=open|supplemented|missing`.
#[utoipa::path(
    get,
    path = "/supplements",
    tag = "workflow",
    params(
        StateQuery,
    ),
    responses(
        (status = 200, description = "补件 — supplement requests", body = Vec<SupplementView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_supplements(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<Vec<SupplementView>>, ApiError> {
    let supplements = app.supplements(&actor, q.state.as_deref()).await?;
    Ok(Json(all(supplements)))
}

/// `POST /api/v1/supplements/{id}/contact`: records whom was contacted and how.
#[utoipa::path(
    post,
    path = "/supplements/{id}/contact",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "补件编号 — the supplement request's row id"),
    ),
    request_body = ContactInput,
    responses(
        (status = 200, description = "已记录 — recorded", body = SupplementView),
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
pub async fn contact_supplement(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Json<SupplementView>, ApiError> {
    Ok(Json(
        app.contact_for_supplement(&actor, SupplementId(row_id(&id, "id")?), &input.into())
            .await?
            .into(),
    ))
}

/// `POST /api/v1/supplements/{id}/fulfil`: files the supplemented material (marked 补件).
#[utoipa::path(
    post,
    path = "/supplements/{id}/fulfil",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "补件编号 — the supplement request's row id"),
    ),
    request_body = FulfilInput,
    responses(
        (status = 200, description = "已补件 — supplemented", body = SupplementView),
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
pub async fn fulfil_supplement(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FulfilInput>,
) -> Result<Json<SupplementView>, ApiError> {
    Ok(Json(
        app.fulfil_supplement(&actor, SupplementId(row_id(&id, "id")?), &input.into())
            .await?
            .into(),
    ))
}

/// The explanation of a closure.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CloseForm {
    /// 情况说明 — why the material cannot be obtained.
    explanation: String,
}

/// `POST /api/v1/supplements/{id}/close`: closes as 材料缺失 with an explanation.
#[utoipa::path(
    post,
    path = "/supplements/{id}/close",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "补件编号 — the supplement request's row id"),
    ),
    request_body = CloseForm,
    responses(
        (status = 200, description = "已结案为材料缺失 — closed as missing", body = SupplementView),
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
pub async fn close_supplement(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<CloseForm>,
) -> Result<Json<SupplementView>, ApiError> {
    Ok(Json(
        app.close_supplement_as_missing(
            &actor,
            SupplementId(row_id(&id, "id")?),
            &form.explanation,
        )
        .await?
        .into(),
    ))
}

/// Year and class of a volume build or list.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupForm {
    /// 年度 — the year.
    #[schema(minimum = 1950, maximum = 2200)]
    #[param(minimum = 1950, maximum = 2200)]
    year: i32,
    /// 业务类别代码 — the business class code.
    #[schema(pattern = "^(registration|contribution|benefit|transfer)$")]
    #[param(pattern = "^(registration|contribution|benefit|transfer)$")]
    business_class: String,
}

fn class(s: &str) -> Result<BusinessClass, ApiError> {
    BusinessClass::parse(s)
        .map_err(|e| ApiError::from(dangan_app::AppError::invalid("business_class", &e)))
}

/// `POST /api/v1/volumes/build` with `{"year", "business_class"}`: rebuilds the drafts.
#[utoipa::path(
    post,
    path = "/volumes/build",
    tag = "workflow",
    request_body = GroupForm,
    responses(
        (status = 200, description = "重新组卷后的草稿 — the rebuilt drafts", body = Vec<VolumeView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn build_volumes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(f): ApiJson<GroupForm>,
) -> Result<Json<Vec<VolumeView>>, ApiError> {
    let volumes = app
        .build_volumes(&actor, f.year, class(&f.business_class)?)
        .await?;
    Ok(Json(all(volumes)))
}

/// `GET /api/v1/volumes?year=&business_class=`.
#[utoipa::path(
    get,
    path = "/volumes",
    tag = "workflow",
    params(
        GroupForm,
    ),
    responses(
        (status = 200, description = "案卷 — volumes", body = Vec<VolumeView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_volumes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(f): ApiQuery<GroupForm>,
) -> Result<Json<Vec<VolumeView>>, ApiError> {
    let volumes = app
        .volumes(&actor, f.year, class(&f.business_class)?)
        .await?;
    Ok(Json(all(volumes)))
}

/// `GET /api/v1/volumes/{id}`: a volume with its contents list.
#[utoipa::path(
    get,
    path = "/volumes/{id}",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "案卷编号 — the volume's row id"),
    ),
    responses(
        (status = 200, description = "案卷及卷内目录 — the volume and its contents", body = VolumeView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<VolumeView>, ApiError> {
    Ok(Json(
        app.volume(&actor, VolumeId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}

/// `POST /api/v1/volumes/{id}/seal`: allocates the archive number and freezes the volume.
#[utoipa::path(
    post,
    path = "/volumes/{id}/seal",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "案卷编号 — the volume's row id"),
        SealQuery,
    ),
    responses(
        (status = 200, description = "已封卷 — sealed", body = VolumeView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn seal_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SealQuery>,
) -> Result<Json<VolumeView>, ApiError> {
    use dangan_app::organising::volumes::FailedScans;
    let failed = if q.acknowledge_failed_scans.unwrap_or(false) {
        FailedScans::Acknowledged
    } else {
        FailedScans::Refuse
    };
    Ok(Json(
        app.seal_volume(&actor, VolumeId(row_id(&id, "id")?), failed)
            .await?
            .into(),
    ))
}

/// The seal's acknowledgement of failed scans.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SealQuery {
    /// `true`: seal even though scans of the volume failed the four-property check (四性检测);
    /// without it such a seal is refused with 409 `failed_scans_not_acknowledged`.
    acknowledge_failed_scans: Option<bool>,
}

/// A 备考 note.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoteForm {
    /// 备考 — the note.
    note: String,
}

/// `PUT /api/v1/volumes/{id}/note`: the 备考 note of a draft (a sealed volume refuses).
#[utoipa::path(
    put,
    path = "/volumes/{id}/note",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "案卷编号 — the volume's row id"),
    ),
    request_body = NoteForm,
    responses(
        (status = 200, description = "已保存 — saved", body = VolumeView),
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
pub async fn set_volume_note(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(f): ApiJson<NoteForm>,
) -> Result<Json<VolumeView>, ApiError> {
    Ok(Json(
        app.set_volume_note(&actor, VolumeId(row_id(&id, "id")?), &f.note)
            .await?
            .into(),
    ))
}

/// `POST /api/v1/persons/{id}/corrections`: corrects a field with proof (201).
#[utoipa::path(
    post,
    path = "/persons/{id}/corrections",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    request_body = CorrectionInput,
    responses(
        (status = 201, description = "已更正 — corrected", body = CorrectionView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn correct_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<(StatusCode, Json<CorrectionView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.correct_person(&actor, PersonId(row_id(&id, "id")?), &input.into())
                .await?
                .into(),
        ),
    ))
}

/// `GET /api/v1/persons/{id}/corrections`: the modification records.
#[utoipa::path(
    get,
    path = "/persons/{id}/corrections",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    responses(
        (status = 200, description = "修改记录 — the corrections", body = Vec<CorrectionView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_corrections(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<CorrectionView>>, ApiError> {
    let corrections = app
        .corrections(&actor, PersonId(row_id(&id, "id")?))
        .await?;
    Ok(Json(all(corrections)))
}

/// `POST /api/v1/materials/{id}/damage`.
#[utoipa::path(
    post,
    path = "/materials/{id}/damage",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "材料编号 — the material's row id"),
    ),
    request_body = DamageInput,
    responses(
        (status = 200, description = "损毁与丢失记录 — damage and loss history", body = MaterialIncidents),
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
pub async fn record_damage(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DamageInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_damage(&actor, MaterialId(row_id(&id, "id")?), &input.into())
            .await?
            .into(),
    ))
}

/// `POST /api/v1/damage/{id}/repair`.
#[utoipa::path(
    post,
    path = "/damage/{id}/repair",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "损毁记录编号 — the damage report's row id"),
    ),
    request_body = RepairInput,
    responses(
        (status = 200, description = "损毁与丢失记录 — damage and loss history", body = MaterialIncidents),
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
pub async fn record_repair(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RepairInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_repair(&actor, row_id(&id, "id")?, &input.into())
            .await?
            .into(),
    ))
}

/// `POST /api/v1/materials/{id}/loss`: reports a loss (the item becomes 档案丢失).
#[utoipa::path(
    post,
    path = "/materials/{id}/loss",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "材料编号 — the material's row id"),
    ),
    request_body = LossInput,
    responses(
        (status = 200, description = "损毁与丢失记录 — damage and loss history", body = MaterialIncidents),
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
pub async fn record_loss(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LossInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_loss(&actor, MaterialId(row_id(&id, "id")?), &input.into())
            .await?
            .into(),
    ))
}

/// `PUT /api/v1/losses/{id}/steps`: the emergency checklist.
#[utoipa::path(
    put,
    path = "/losses/{id}/steps",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "丢失记录编号 — the loss report's row id"),
    ),
    request_body = LossSteps,
    responses(
        (status = 200, description = "损毁与丢失记录 — damage and loss history", body = MaterialIncidents),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn loss_steps(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(steps): ApiJson<LossSteps>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.update_loss_steps(&actor, row_id(&id, "id")?, &steps.into())
            .await?
            .into(),
    ))
}

/// `GET /api/v1/materials/{id}/incidents`: damage and loss history.
#[utoipa::path(
    get,
    path = "/materials/{id}/incidents",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "材料编号 — the material's row id"),
    ),
    responses(
        (status = 200, description = "损毁与丢失记录 — damage and loss history", body = MaterialIncidents),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn material_incidents(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.material_incidents(&actor, MaterialId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}
