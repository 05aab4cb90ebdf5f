//! `/api/v1/equipment…` and `/api/v1/rooms/checks`, `/api/v1/rooms/capacity`: the equipment
//! register of the archive rooms, its inspections, the rules checked per room, and the capacity
//! of the rooms with the projection of when they fill (S3.1). Thin handlers over
//! `dangan_app::custody::{equipment, capacity}`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::custody::{capacity, equipment};
use dangan_app::ids::{EquipmentId, RoomId};

use super::wire::all;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// The row id of an item of equipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct EquipmentIdWire(pub i64);

/// An item as registered or changed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EquipmentInput {
    /// The room it stands in.
    pub room_id: i64,
    /// 设备类型: `compact_shelving` 密集架, `dehumidifier` 除湿机, `th_recorder` 温湿度记录仪,
    /// `fire_safe` 防火保险箱, `extinguisher` 灭火器, `camera` 监控摄像头, `smoke_alarm` 烟雾报警器.
    #[schema(
        pattern = "^(compact_shelving|dehumidifier|th_recorder|fire_safe|extinguisher|camera|smoke_alarm)$"
    )]
    pub kind: String,
    /// 名称 (at most 40 characters).
    pub name: String,
    /// 型号
    pub model: Option<String>,
    /// 编号 (serial number)
    pub serial_no: Option<String>,
    /// 安装日期 `YYYY-MM-DD`, not in the future.
    pub installed_on: String,
    /// 检查周期 in months, 1–60.
    #[schema(minimum = 1, maximum = 60)]
    pub interval_months: i64,
}

impl From<EquipmentInput> for equipment::EquipmentInput {
    fn from(i: EquipmentInput) -> equipment::EquipmentInput {
        equipment::EquipmentInput {
            room_id: i.room_id,
            kind: i.kind,
            name: i.name,
            model: i.model,
            serial_no: i.serial_no,
            installed_on: i.installed_on,
            interval_months: i.interval_months,
        }
    }
}

/// An inspection as recorded.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InspectionInput {
    /// 检查日期 `YYYY-MM-DD`; today when absent.
    pub inspected_on: Option<String>,
    /// `normal` 正常 or `abnormal` 异常.
    #[schema(pattern = "^(normal|abnormal)$")]
    pub result: String,
    /// 说明; required for 异常.
    pub note: Option<String>,
}

impl From<InspectionInput> for equipment::InspectionInput {
    fn from(i: InspectionInput) -> equipment::InspectionInput {
        equipment::InspectionInput {
            inspected_on: i.inspected_on,
            result: i.result,
            note: i.note,
        }
    }
}

/// Why an item is retired.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RetireInput {
    /// 停用原因 (at most 200 characters).
    pub reason: String,
}

/// The register as asked for in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegisterQuery {
    /// Only the items of this room.
    #[param(minimum = 1)]
    pub room_id: Option<i64>,
}

/// An item as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EquipmentView {
    /// Row id.
    pub id: EquipmentIdWire,
    /// Its room.
    pub room_id: i64,
    /// The room's code.
    pub room_code: String,
    /// The room's name.
    pub room_name: String,
    /// 设备类型 code.
    pub kind: String,
    /// 设备类型 in Chinese.
    pub kind_label: String,
    /// 名称
    pub name: String,
    /// 型号
    pub model: Option<String>,
    /// 编号
    pub serial_no: Option<String>,
    /// 安装日期
    pub installed_on: NaiveDate,
    /// 检查周期 (months).
    pub interval_months: i64,
    /// 上次检查
    pub last_inspected_on: Option<NaiveDate>,
    /// 下次检查 (one interval after the last inspection or installation).
    pub next_due_on: NaiveDate,
    /// The inspection task's due date: the first working day on or after `next_due_on`; absent
    /// while that year's calendar is not loaded, or for a retired item.
    pub due_on: Option<NaiveDate>,
    /// In service and past due.
    pub overdue: bool,
    /// `in_service` 在用 or `retired` 已停用.
    #[schema(pattern = "^(in_service|retired)$")]
    pub state: String,
    /// Retired on.
    pub retired_on: Option<NaiveDate>,
    /// Why it was retired.
    pub retire_reason: Option<String>,
}

impl From<equipment::EquipmentView> for EquipmentView {
    fn from(v: equipment::EquipmentView) -> EquipmentView {
        let i = v.item;
        EquipmentView {
            id: EquipmentIdWire(i.id.0),
            room_id: i.room_id.0,
            room_code: i.room_code,
            room_name: i.room_name,
            kind: i.kind.code().to_owned(),
            kind_label: i.kind.label().to_owned(),
            name: i.name,
            model: i.model,
            serial_no: i.serial_no,
            installed_on: i.installed_on,
            interval_months: i.interval_months,
            last_inspected_on: i.last_inspected_on,
            next_due_on: i.next_due_on,
            due_on: v.due_on,
            overdue: v.overdue,
            state: i.state.code().to_owned(),
            retired_on: i.retired_on,
            retire_reason: i.retire_reason,
        }
    }
}

/// An inspection as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionView {
    /// 检查日期
    pub inspected_on: NaiveDate,
    /// `normal` or `abnormal`.
    #[schema(pattern = "^(normal|abnormal)$")]
    pub result: String,
    /// 说明
    pub note: Option<String>,
    /// Who recorded it.
    pub by_user: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// An item with its inspections, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EquipmentDetail {
    /// The item.
    pub item: EquipmentView,
    /// Its inspections.
    pub inspections: Vec<InspectionView>,
}

impl From<equipment::EquipmentDetail> for EquipmentDetail {
    fn from(d: equipment::EquipmentDetail) -> EquipmentDetail {
        EquipmentDetail {
            item: d.view.into(),
            inspections: d
                .inspections
                .into_iter()
                .map(|i| InspectionView {
                    inspected_on: i.inspected_on,
                    result: i.result.code().to_owned(),
                    note: i.note,
                    by_user: i.by_user,
                    recorded_at: i.recorded_at,
                })
                .collect(),
        }
    }
}

/// A rule checked for a room.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckView {
    /// `extinguishers`, `separate_from_service`, `dehumidifier` or `th_recorder`.
    pub rule: String,
    /// What the rule says.
    pub title: String,
    /// `pass` 合格, `fail` 不合格 or `skipped` (with the reason in `detail`).
    #[schema(pattern = "^(pass|fail|skipped)$")]
    pub outcome: String,
    /// The outcome in Chinese.
    pub outcome_label: String,
    /// What was found, or why it was skipped.
    pub detail: String,
}

/// The rules checked for one room.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomChecksView {
    /// The room.
    pub room_id: i64,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The rules.
    pub checks: Vec<CheckView>,
}

impl From<equipment::RoomChecks> for RoomChecksView {
    fn from(r: equipment::RoomChecks) -> RoomChecksView {
        RoomChecksView {
            room_id: r.room_id.0,
            code: r.code,
            name: r.name,
            checks: r
                .checks
                .into_iter()
                .map(|c| CheckView {
                    rule: c.rule.to_owned(),
                    title: c.title.to_owned(),
                    outcome: c.outcome.code().to_owned(),
                    outcome_label: c.outcome.label().to_owned(),
                    detail: c.detail,
                })
                .collect(),
        }
    }
}

/// When the shelves fill, or why that cannot be said.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionView {
    /// Years until full, in tenths (33 = 3.3 years).
    pub years_tenths: Option<i64>,
    /// Why no projection was made.
    pub skipped: Option<String>,
    /// As staff read it.
    pub text: String,
}

impl From<capacity::Projection> for ProjectionView {
    fn from(p: capacity::Projection) -> ProjectionView {
        ProjectionView {
            years_tenths: p.years_tenths,
            skipped: p.skipped,
            text: p.text,
        }
    }
}

/// One room's shelf, or all rooms together.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomCapacityView {
    /// The room; absent for the total.
    pub room_id: Option<i64>,
    /// Its code (`合计` for the total).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Storage places.
    pub places: i64,
    /// Volumes in place.
    pub volumes: i64,
    /// Capacity, µm.
    pub capacity_um: i64,
    /// Used, µm.
    pub used_um: i64,
    /// Free, µm.
    pub free_um: i64,
    /// Used share of the capacity, ‰.
    pub used_permille: Option<i64>,
    /// When it fills if every new volume goes here.
    pub projection: ProjectionView,
}

impl From<capacity::RoomCapacity> for RoomCapacityView {
    fn from(r: capacity::RoomCapacity) -> RoomCapacityView {
        RoomCapacityView {
            room_id: r.room_id.map(|RoomId(id)| id),
            code: r.code,
            name: r.name,
            places: r.places,
            volumes: r.volumes,
            capacity_um: r.capacity_um,
            used_um: r.used_um,
            free_um: r.free_um,
            used_permille: r.used_permille,
            projection: r.projection.into(),
        }
    }
}

/// An amount in one year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CapacityYear {
    /// The year.
    pub year: i64,
    /// µm sealed, or enrolments.
    pub amount: i64,
    /// Volumes sealed, or enrolments.
    pub count: i64,
}

fn years(rows: Vec<dangan_app::custody::capacity::YearRow>) -> Vec<CapacityYear> {
    rows.into_iter()
        .map(|r| CapacityYear {
            year: r.year,
            amount: r.amount,
            count: r.count,
        })
        .collect()
}

/// The archive's growth.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrowthView {
    /// µm sealed per year, averaged over the window.
    pub um_per_year: Option<i64>,
    /// The full years averaged, or why none.
    pub window: String,
    /// Why there is no rate.
    pub skipped: Option<String>,
    /// Sealed volumes per year.
    pub history: Vec<CapacityYear>,
}

/// Insured persons beside the growth.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonsGrowthView {
    /// 参保人 now.
    pub persons: i64,
    /// Enrolments per year, averaged over the window.
    pub enrolments_per_year: Option<i64>,
    /// The window, or why none.
    pub window: String,
    /// Sealed archive per insured person, µm.
    pub um_per_person: Option<i64>,
    /// When all rooms fill at enrolments × archive per person.
    pub projection: ProjectionView,
    /// Enrolments per year.
    pub history: Vec<CapacityYear>,
}

/// The capacity of every room and the projection of when they fill.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CapacityView {
    /// Each room.
    pub rooms: Vec<RoomCapacityView>,
    /// All rooms together.
    pub total: RoomCapacityView,
    /// Sealed volumes.
    pub sealed_volumes: i64,
    /// Their thickness, µm.
    pub sealed_um: i64,
    /// Growth of the archive.
    pub growth: GrowthView,
    /// Insured persons.
    pub persons: PersonsGrowthView,
}

impl From<capacity::CapacityReport> for CapacityView {
    fn from(c: capacity::CapacityReport) -> CapacityView {
        CapacityView {
            rooms: all(c.rooms),
            total: c.total.into(),
            sealed_volumes: c.sealed_volumes,
            sealed_um: c.sealed_um,
            growth: GrowthView {
                um_per_year: c.growth.um_per_year,
                window: c.growth.window,
                skipped: c.growth.skipped,
                history: years(c.growth.history),
            },
            persons: PersonsGrowthView {
                persons: c.persons.persons,
                enrolments_per_year: c.persons.enrolments_per_year,
                window: c.persons.window,
                um_per_person: c.persons.um_per_person,
                projection: c.persons.projection.into(),
                history: years(c.persons.history),
            },
        }
    }
}

/// `GET /api/v1/equipment?room_id=N`: the register, items in service first.
#[utoipa::path(
    get,
    path = "/equipment",
    tag = "custody",
    params(RegisterQuery),
    responses(
        (status = 200, description = "设备登记 — the register", body = Vec<EquipmentView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_equipment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<RegisterQuery>,
) -> Result<Json<Vec<EquipmentView>>, ApiError> {
    Ok(Json(all(app
        .equipment_register(&actor, q.room_id.map(RoomId))
        .await?)))
}

/// `POST /api/v1/equipment`: register an item (保管员, administrator); its inspection task is
/// opened for its first due date.
#[utoipa::path(
    post,
    path = "/equipment",
    tag = "custody",
    request_body = EquipmentInput,
    responses(
        (status = 201, description = "已登记 — registered", body = EquipmentView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn register_equipment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<EquipmentInput>,
) -> Result<(axum::http::StatusCode, Json<EquipmentView>), ApiError> {
    let view = app.register_equipment(&actor, &input.into()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(view.into())))
}

/// `GET /api/v1/equipment/{id}`: one item with its inspections.
#[utoipa::path(
    get,
    path = "/equipment/{id}",
    tag = "custody",
    params(("id" = i64, Path, minimum = 1, description = "设备编号 — the item's row id")),
    responses(
        (status = 200, description = "设备及检查记录 — the item and its inspections", body = EquipmentDetail),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_equipment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<EquipmentDetail>, ApiError> {
    let id = EquipmentId(row_id(&id, "id")?);
    Ok(Json(app.equipment_item(&actor, id).await?.into()))
}

/// `PUT /api/v1/equipment/{id}`: change an item in service.
#[utoipa::path(
    put,
    path = "/equipment/{id}",
    tag = "custody",
    params(("id" = i64, Path, minimum = 1, description = "设备编号 — the item's row id")),
    request_body = EquipmentInput,
    responses(
        (status = 200, description = "已修改 — changed", body = EquipmentView),
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
pub async fn update_equipment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EquipmentInput>,
) -> Result<Json<EquipmentView>, ApiError> {
    let id = EquipmentId(row_id(&id, "id")?);
    Ok(Json(
        app.update_equipment(&actor, id, &input.into())
            .await?
            .into(),
    ))
}

/// `POST /api/v1/equipment/{id}/retire`: take an item out of service (kept in the register).
#[utoipa::path(
    post,
    path = "/equipment/{id}/retire",
    tag = "custody",
    params(("id" = i64, Path, minimum = 1, description = "设备编号 — the item's row id")),
    request_body = RetireInput,
    responses(
        (status = 200, description = "已停用 — retired", body = EquipmentView),
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
pub async fn retire_equipment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RetireInput>,
) -> Result<Json<EquipmentView>, ApiError> {
    let id = EquipmentId(row_id(&id, "id")?);
    Ok(Json(
        app.retire_equipment(&actor, id, &input.reason)
            .await?
            .into(),
    ))
}

/// `POST /api/v1/equipment/{id}/inspections`: record an inspection (正常, or 异常 with a note);
/// closes the open inspection task and opens the next.
#[utoipa::path(
    post,
    path = "/equipment/{id}/inspections",
    tag = "custody",
    params(("id" = i64, Path, minimum = 1, description = "设备编号 — the item's row id")),
    request_body = InspectionInput,
    responses(
        (status = 200, description = "已登记检查 — the item and its inspections", body = EquipmentDetail),
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
pub async fn record_inspection(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<InspectionInput>,
) -> Result<Json<EquipmentDetail>, ApiError> {
    let id = EquipmentId(row_id(&id, "id")?);
    Ok(Json(
        app.record_inspection(&actor, id, &input.into())
            .await?
            .into(),
    ))
}

/// `GET /api/v1/rooms/checks`: the rules of S3.1 checked for every room (合格, 不合格, or skipped
/// with the reason).
#[utoipa::path(
    get,
    path = "/rooms/checks",
    tag = "custody",
    responses(
        (status = 200, description = "各库房核查结果 — the rules checked per room", body = Vec<RoomChecksView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn room_checks(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<RoomChecksView>>, ApiError> {
    Ok(Json(all(app.room_checks(&actor).await?)))
}

/// `GET /api/v1/rooms/capacity`: shelf capacity, used and free per room and in total, the
/// archive's growth and the projection of when the rooms fill.
#[utoipa::path(
    get,
    path = "/rooms/capacity",
    tag = "custody",
    responses(
        (status = 200, description = "容量与预测 — capacity and projection", body = CapacityView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn room_capacity(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<CapacityView>, ApiError> {
    Ok(Json(app.capacity(&actor).await?.into()))
}
