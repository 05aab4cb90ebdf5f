//! From business to shelf: tasks, handover lists, supplements, volumes, corrections, damage and
//! loss. Thin handlers over the use-cases of `dangan-app`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::corrections::{CorrectionInput, CorrectionView};
use dangan_app::damage::{DamageInput, LossInput, LossSteps, MaterialIncidents, RepairInput};
use dangan_app::handovers::{ConfirmInput, HandoverInput, HandoverView};
use dangan_app::ids::{HandoverId, MaterialId, PersonId, SupplementId, VolumeId};
use dangan_app::supplements::{ContactInput, FulfilInput, SupplementView};
use dangan_app::tasks::{TaskQuery, TaskView};
use dangan_app::volumes::VolumeView;
use dangan_domain::business::BusinessClass;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// `GET /api/v1/tasks?post=collection|organising&state=open|overdue|done`.
pub async fn list_tasks(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    Ok(Json(app.tasks(&actor, &q).await?))
}

/// `POST /api/v1/handovers`: the collection post hands materials over (201).
pub async fn create_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<HandoverInput>,
) -> Result<(StatusCode, Json<HandoverView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_handover(&actor, &input).await?),
    ))
}

/// `GET /api/v1/handovers/{id}`.
pub async fn get_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<HandoverView>, ApiError> {
    Ok(Json(
        app.handover(&actor, HandoverId(row_id(&id, "id")?)).await?,
    ))
}

/// `POST /api/v1/handovers/{id}/confirm`: the archive post confirms item by item.
pub async fn confirm_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConfirmInput>,
) -> Result<Json<HandoverView>, ApiError> {
    Ok(Json(
        app.confirm_handover(&actor, HandoverId(row_id(&id, "id")?), &input)
            .await?,
    ))
}

/// Filter of the supplement list.
#[derive(Debug, Deserialize)]
pub struct StateQuery {
    state: Option<String>,
}

/// `GET /api/v1/supplements?state=open|supplemented|missing`.
pub async fn list_supplements(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<Vec<SupplementView>>, ApiError> {
    Ok(Json(app.supplements(&actor, q.state.as_deref()).await?))
}

/// `POST /api/v1/supplements/{id}/contact`: records whom was contacted and how.
pub async fn contact_supplement(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Json<SupplementView>, ApiError> {
    Ok(Json(
        app.contact_for_supplement(&actor, SupplementId(row_id(&id, "id")?), &input)
            .await?,
    ))
}

/// `POST /api/v1/supplements/{id}/fulfil`: files the supplemented material (marked 补件).
pub async fn fulfil_supplement(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FulfilInput>,
) -> Result<Json<SupplementView>, ApiError> {
    Ok(Json(
        app.fulfil_supplement(&actor, SupplementId(row_id(&id, "id")?), &input)
            .await?,
    ))
}

/// The explanation of a closure.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    explanation: String,
}

/// `POST /api/v1/supplements/{id}/close`: closes as 材料缺失 with an explanation.
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
        .await?,
    ))
}

/// Year and class of a volume build or list.
#[derive(Debug, Deserialize)]
pub struct GroupForm {
    year: i32,
    business_class: String,
}

fn class(s: &str) -> Result<BusinessClass, ApiError> {
    BusinessClass::parse(s)
        .map_err(|e| ApiError::from(dangan_app::AppError::invalid("business_class", &e)))
}

/// `POST /api/v1/volumes/build` with `{"year", "business_class"}`: rebuilds the drafts.
pub async fn build_volumes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(f): ApiJson<GroupForm>,
) -> Result<Json<Vec<VolumeView>>, ApiError> {
    Ok(Json(
        app.build_volumes(&actor, f.year, class(&f.business_class)?)
            .await?,
    ))
}

/// `GET /api/v1/volumes?year=&business_class=`.
pub async fn list_volumes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(f): ApiQuery<GroupForm>,
) -> Result<Json<Vec<VolumeView>>, ApiError> {
    Ok(Json(
        app.volumes(&actor, f.year, class(&f.business_class)?)
            .await?,
    ))
}

/// `GET /api/v1/volumes/{id}`: a volume with its contents list.
pub async fn get_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<VolumeView>, ApiError> {
    Ok(Json(
        app.volume(&actor, VolumeId(row_id(&id, "id")?)).await?,
    ))
}

/// `POST /api/v1/volumes/{id}/seal`: allocates the archive number and freezes the volume.
pub async fn seal_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<VolumeView>, ApiError> {
    Ok(Json(
        app.seal_volume(&actor, VolumeId(row_id(&id, "id")?))
            .await?,
    ))
}

/// A 备考 note.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    note: String,
}

/// `PUT /api/v1/volumes/{id}/note`: the 备考 note of a draft (a sealed volume refuses).
pub async fn set_volume_note(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(f): ApiJson<NoteForm>,
) -> Result<Json<VolumeView>, ApiError> {
    Ok(Json(
        app.set_volume_note(&actor, VolumeId(row_id(&id, "id")?), &f.note)
            .await?,
    ))
}

/// `POST /api/v1/persons/{id}/corrections`: corrects a field with proof (201).
pub async fn correct_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<(StatusCode, Json<CorrectionView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.correct_person(&actor, PersonId(row_id(&id, "id")?), &input)
                .await?,
        ),
    ))
}

/// `GET /api/v1/persons/{id}/corrections`: the modification records.
pub async fn list_corrections(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<CorrectionView>>, ApiError> {
    Ok(Json(
        app.corrections(&actor, PersonId(row_id(&id, "id")?))
            .await?,
    ))
}

/// `GET /api/v1/outbox`: corrections waiting to be sent to the business system.
pub async fn list_outbox(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(app.pending_outbox(&actor).await?))
}

/// `POST /api/v1/materials/{id}/damage`.
pub async fn record_damage(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DamageInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_damage(&actor, MaterialId(row_id(&id, "id")?), &input)
            .await?,
    ))
}

/// `POST /api/v1/damage/{id}/repair`.
pub async fn record_repair(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RepairInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_repair(&actor, row_id(&id, "id")?, &input)
            .await?,
    ))
}

/// `POST /api/v1/materials/{id}/loss`: reports a loss (the item becomes 档案丢失).
pub async fn record_loss(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LossInput>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.record_loss(&actor, MaterialId(row_id(&id, "id")?), &input)
            .await?,
    ))
}

/// `PUT /api/v1/losses/{id}/steps`: the emergency checklist.
pub async fn loss_steps(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(steps): ApiJson<LossSteps>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.update_loss_steps(&actor, row_id(&id, "id")?, &steps)
            .await?,
    ))
}

/// `GET /api/v1/materials/{id}/incidents`: damage and loss history.
pub async fn material_incidents(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<MaterialIncidents>, ApiError> {
    Ok(Json(
        app.material_incidents(&actor, MaterialId(row_id(&id, "id")?))
            .await?,
    ))
}
