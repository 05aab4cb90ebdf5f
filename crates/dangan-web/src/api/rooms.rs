//! `/api/v1/rooms…`, `/api/v1/volumes/{id}/location…`, `/api/v1/stocktakes…`: the paper archive
//! room (库房) — rooms and their places, where each sealed volume stands, stocktakes — and the
//! label sheets and the stocktake report as A4 print views. Thin handlers over
//! `dangan_app::custody`; the wire types live here.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::custody::locations::{self as loc, Label, VolumeLocationView};
use dangan_app::custody::rooms as app_rooms;
use dangan_app::custody::stocktake::{self as st, StocktakeReport};
use dangan_app::ids::{PlaceId, RoomId, StocktakeId, VolumeId};

use crate::api::print::{Heading, render};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// An archive room.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Room {
    /// 库房编号
    pub id: i64,
    /// Code (the root of its places' codes).
    pub code: String,
    /// 库房名称
    pub name: String,
    /// 面积 (m², decimal text).
    pub area_m2: String,
    /// 与服务区分开
    pub separate_from_service: bool,
    /// 温度范围 (`14–24 ℃`).
    pub temp_range: String,
    /// 湿度范围 (`45–60 %`).
    pub rh_range: String,
}

impl From<app_rooms::RoomView> for Room {
    fn from(r: app_rooms::RoomView) -> Room {
        Room {
            id: r.room.id.0,
            code: r.room.code,
            name: r.room.name,
            area_m2: r.area_m2,
            separate_from_service: r.room.separate_from_service,
            temp_range: r.temp_range,
            rh_range: r.rh_range,
        }
    }
}

/// A room as sent: numbers as decimal text.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewRoom {
    /// 库房编号: upper-case letters and digits, 1–12 (ignored on change).
    #[serde(default)]
    pub code: String,
    /// 库房名称
    pub name: String,
    /// 面积 in m² (up to two decimals).
    pub area_m2: String,
    /// 与办公、服务区分开 (S3.1).
    #[serde(default)]
    pub separate_from_service: bool,
    /// 温度下限 ℃ (default 14).
    pub temp_min: Option<String>,
    /// 温度上限 ℃ (default 24).
    pub temp_max: Option<String>,
    /// 湿度下限 % (default 45).
    pub rh_min: Option<String>,
    /// 湿度上限 % (default 60).
    pub rh_max: Option<String>,
}

impl From<NewRoom> for app_rooms::RoomInput {
    fn from(r: NewRoom) -> app_rooms::RoomInput {
        app_rooms::RoomInput {
            code: r.code,
            name: r.name,
            area_m2: r.area_m2,
            separate_from_service: r.separate_from_service,
            temp_min: r.temp_min,
            temp_max: r.temp_max,
            rh_min: r.rh_min,
            rh_max: r.rh_max,
        }
    }
}

/// A place as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPlace {
    /// The place it stands in; none for a unit standing in the room.
    pub parent_id: Option<i64>,
    /// `shelving`（密集架）, `cabinet`（档案柜）, `fire_safe`（防火保险箱）, `column`（列）,
    /// `section`（节）, `shelf`（层）, `position`（位）.
    pub kind: String,
    /// Its own part of the code (letters and digits).
    pub segment: String,
    /// 名称 (default from kind and segment).
    pub name: Option<String>,
    /// 容量 (mm) of a place that holds volumes.
    pub capacity_mm: Option<String>,
}

/// A place of a room, with its use.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    /// 位置编号
    pub id: i64,
    /// The place it stands in.
    pub parent_id: Option<i64>,
    /// 位置类型 code.
    pub kind: String,
    /// 位置类型 in Chinese.
    pub kind_label: String,
    /// Its label's code (`K01-A-1-2`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Own capacity (mm), for a place that holds volumes.
    pub capacity_mm: Option<i64>,
    /// A fire safe or inside one.
    pub fire_safe: bool,
    /// Depth in the room's tree.
    pub depth: usize,
    /// Capacity (mm) of it and the places under it.
    pub total_capacity_mm: i64,
    /// Used (mm) on it and under it.
    pub used_mm: i64,
    /// Volumes on it and under it.
    pub volumes: i64,
}

/// A room with its places.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomLayout {
    /// The room.
    pub room: Room,
    /// Capacity of the room (mm).
    pub capacity_mm: i64,
    /// Used (mm).
    pub used_mm: i64,
    /// Its places, a parent before its children.
    pub places: Vec<Place>,
}

/// Where to put a volume.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PlaceVolume {
    /// A place's code (`K01-A-1-2`) or a box's code (`B00000012`), as scanned.
    pub to: String,
    /// 原因
    pub reason: Option<String>,
}

/// Taking a volume out.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TakeOut {
    /// 出库原因
    pub reason: String,
}

/// A move of a volume.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Move {
    /// `place`（上架）, `move`（移架）, `take_out`（出库）, `return`（归库）.
    pub kind: String,
    /// In Chinese.
    pub kind_label: String,
    /// From (place code).
    pub from: Option<String>,
    /// To (place code).
    pub to: Option<String>,
    /// 原因
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
}

/// Where a volume stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VolumeLocation {
    /// 案卷编号
    pub volume_id: i64,
    /// Its spine code (`V00000123`).
    pub code: String,
    /// Designated for the fire safe (重要档案).
    pub fire_safe_required: bool,
    /// `in_place`（在架）or `out`（出库）; none before it is placed.
    pub state: Option<String>,
    /// Its place's code.
    pub place: Option<String>,
    /// Its box's code.
    pub box_code: Option<String>,
    /// 存放位置 as one line.
    pub summary: String,
    /// Every move, oldest first.
    pub moves: Vec<Move>,
}

impl From<VolumeLocationView> for VolumeLocation {
    fn from(v: VolumeLocationView) -> VolumeLocation {
        VolumeLocation {
            volume_id: v.volume_id.0,
            code: v.code,
            fire_safe_required: v.fire_safe_required,
            state: v.location.as_ref().map(|l| l.state.code().to_owned()),
            place: v.place.map(|p| p.code),
            box_code: v.box_code,
            summary: v.summary,
            moves: v
                .moves
                .into_iter()
                .map(|m| Move {
                    kind: m.kind.code().to_owned(),
                    kind_label: m.kind.label().to_owned(),
                    from: m.from_code,
                    to: m.to_code,
                    reason: m.reason,
                    at: m.at,
                    by: m.by_user,
                })
                .collect(),
        }
    }
}

/// Starting a stocktake.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewStocktake {
    /// The unit counted (its code); the whole room when absent.
    pub place: Option<String>,
}

/// One scan.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Scan {
    /// The place being counted (its label's code).
    pub place: String,
    /// A spine code, an archive number or a box's code.
    pub code: String,
}

/// One line of a stocktake's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StocktakeLine {
    /// `in_place`（账实相符）, `elsewhere`（位置不符）, `missing`（未找到）, `unexpected`（账外）.
    pub outcome: String,
    /// In Chinese.
    pub outcome_label: String,
    /// The volume.
    pub volume_id: Option<i64>,
    /// The code (spine code, or as scanned).
    pub code: String,
    /// 档号
    pub archive_number: Option<String>,
    /// Where the register had it.
    pub expected_place: Option<String>,
    /// Where it was scanned.
    pub scanned_place: Option<String>,
}

/// A stocktake with its result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stocktake {
    /// 盘点号
    pub id: i64,
    /// 库房编号
    pub room_id: i64,
    /// The unit's code, or the room's.
    pub scope: String,
    /// `open`（盘点中）or `closed`（已完成）.
    pub state: String,
    /// Started at.
    pub started_at: DateTime<Utc>,
    /// By.
    pub started_by: String,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
    /// Volumes expected.
    pub expected: usize,
    /// Scans taken.
    pub scans: usize,
    /// Lines of each outcome: `in_place`, `elsewhere`, `missing`, `unexpected`.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Every line.
    pub lines: Vec<StocktakeLine>,
}

impl From<StocktakeReport> for Stocktake {
    fn from(r: StocktakeReport) -> Stocktake {
        Stocktake {
            id: r.stocktake.id.0,
            room_id: r.room.id.0,
            scope: r.scope,
            state: r.stocktake.state.code().to_owned(),
            started_at: r.stocktake.started_at,
            started_by: r.stocktake.started_by,
            closed_at: r.stocktake.closed_at,
            expected: r.expected,
            scans: r.scans,
            counts: r
                .counts
                .iter()
                .map(|(o, n)| (o.code().to_owned(), *n))
                .collect(),
            lines: r
                .lines
                .into_iter()
                .map(|l| StocktakeLine {
                    outcome: l.outcome.code().to_owned(),
                    outcome_label: l.outcome.label().to_owned(),
                    volume_id: l.volume_id.map(|v| v.0),
                    code: l.code,
                    archive_number: l.archive_number,
                    expected_place: l.expected_place,
                    scanned_place: l.scanned_place,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/rooms`.
#[utoipa::path(get, path = "/rooms", tag = "rooms",
    responses(
        (status = 200, description = "库房 — every archive room", body = Vec<Room>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_rooms(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<Room>>, ApiError> {
    Ok(Json(
        app.rooms(&actor)
            .await?
            .into_iter()
            .map(Room::from)
            .collect(),
    ))
}

/// `POST /api/v1/rooms`.
#[utoipa::path(post, path = "/rooms", tag = "rooms", request_body = NewRoom,
    responses(
        (status = 201, description = "新增库房 — the room added", body = Room),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_room(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(body): ApiJson<NewRoom>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    let r = app.create_room(&actor, &body.into()).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// `GET /api/v1/rooms/{id}`: the room with its places and their use.
#[utoipa::path(get, path = "/rooms/{id}", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "库房编号")),
    responses(
        (status = 200, description = "库房与架位 — the room and its places", body = RoomLayout),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_room(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<RoomLayout>, ApiError> {
    let l = app.room_layout(&actor, RoomId(row_id(&id, "id")?)).await?;
    Ok(Json(RoomLayout {
        capacity_mm: l.capacity_mm,
        used_mm: l.used_mm,
        places: l
            .places
            .into_iter()
            .map(|p| Place {
                id: p.place.id.0,
                parent_id: p.place.parent_id.map(|x| x.0),
                kind: p.place.kind.code().to_owned(),
                kind_label: p.place.kind.label().to_owned(),
                code: p.place.code,
                name: p.place.name,
                capacity_mm: p.place.capacity_mm,
                fire_safe: p.place.fire_safe,
                depth: p.depth,
                total_capacity_mm: p.capacity_mm,
                used_mm: p.used_mm,
                volumes: p.volumes,
            })
            .collect(),
        room: l.room.into(),
    }))
}

/// `PUT /api/v1/rooms/{id}`: changes name, area, separation and thresholds.
#[utoipa::path(put, path = "/rooms/{id}", tag = "rooms", request_body = NewRoom,
    params(("id" = i64, Path, minimum = 1, description = "库房编号")),
    responses(
        (status = 200, description = "修改库房 — the room as changed", body = Room),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn update_room(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewRoom>,
) -> Result<Json<Room>, ApiError> {
    let r = app
        .update_room(&actor, RoomId(row_id(&id, "id")?), &body.into())
        .await?;
    Ok(Json(r.into()))
}

/// `POST /api/v1/rooms/{id}/places`.
#[utoipa::path(post, path = "/rooms/{id}/places", tag = "rooms", request_body = NewPlace,
    params(("id" = i64, Path, minimum = 1, description = "库房编号")),
    responses(
        (status = 201, description = "新增架位 — the place added (its use is in the room's layout)", body = Place),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn create_place(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewPlace>,
) -> Result<(StatusCode, Json<Place>), ApiError> {
    let room = RoomId(row_id(&id, "id")?);
    let input = app_rooms::PlaceInput {
        parent_id: body.parent_id.map(PlaceId),
        kind: body.kind,
        segment: body.segment,
        name: body.name,
        capacity_mm: body.capacity_mm,
    };
    let p = app.add_place(&actor, room, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(Place {
            id: p.id.0,
            parent_id: p.parent_id.map(|x| x.0),
            kind: p.kind.code().to_owned(),
            kind_label: p.kind.label().to_owned(),
            code: p.code,
            name: p.name,
            capacity_mm: p.capacity_mm,
            fire_safe: p.fire_safe,
            depth: 0,
            total_capacity_mm: p.capacity_mm.unwrap_or(0),
            used_mm: 0,
            volumes: 0,
        }),
    ))
}

/// `GET /api/v1/volumes/{id}/location`.
#[utoipa::path(get, path = "/volumes/{id}/location", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "案卷编号")),
    responses(
        (status = 200, description = "存放位置与存放记录 — where the volume stands and its moves", body = VolumeLocation),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_location(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<VolumeLocation>, ApiError> {
    let v = app
        .volume_location(&actor, VolumeId(row_id(&id, "id")?))
        .await?;
    Ok(Json(v.into()))
}

/// `POST /api/v1/volumes/{id}/location`: 上架, 移架 or 归库.
#[utoipa::path(post, path = "/volumes/{id}/location", tag = "rooms", request_body = PlaceVolume,
    params(("id" = i64, Path, minimum = 1, description = "案卷编号")),
    responses(
        (status = 200, description = "上架、移架或归库 — where it stands now", body = VolumeLocation),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn place_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PlaceVolume>,
) -> Result<Json<VolumeLocation>, ApiError> {
    let code = dangan_domain::room::volume_code(row_id(&id, "id")?);
    let input = loc::PlaceVolumeInput {
        to: body.to,
        reason: body.reason,
    };
    Ok(Json(app.place_volume(&actor, &code, &input).await?.into()))
}

/// `POST /api/v1/volumes/{id}/take-out`: 出库.
#[utoipa::path(post, path = "/volumes/{id}/take-out", tag = "rooms", request_body = TakeOut,
    params(("id" = i64, Path, minimum = 1, description = "案卷编号")),
    responses(
        (status = 200, description = "出库 — where it stands now", body = VolumeLocation),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn take_out_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TakeOut>,
) -> Result<Json<VolumeLocation>, ApiError> {
    let code = dangan_domain::room::volume_code(row_id(&id, "id")?);
    let input = loc::TakeOutInput {
        reason: body.reason,
    };
    Ok(Json(
        app.take_out_volume(&actor, &code, &input).await?.into(),
    ))
}

/// `POST /api/v1/rooms/{id}/stocktakes`.
#[utoipa::path(post, path = "/rooms/{id}/stocktakes", tag = "rooms", request_body = NewStocktake,
    params(("id" = i64, Path, minimum = 1, description = "库房编号")),
    responses(
        (status = 201, description = "开始盘点 — the stocktake with what the register expects", body = Stocktake),
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
pub async fn start_stocktake(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewStocktake>,
) -> Result<(StatusCode, Json<Stocktake>), ApiError> {
    let r = app
        .start_stocktake(
            &actor,
            RoomId(row_id(&id, "id")?),
            &st::StartStocktake { place: body.place },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// `GET /api/v1/stocktakes/{id}`.
#[utoipa::path(get, path = "/stocktakes/{id}", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "盘点号")),
    responses(
        (status = 200, description = "盘点结果 — the stocktake and its result", body = Stocktake),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_stocktake(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stocktake>, ApiError> {
    let r = app
        .stocktake_report(&actor, StocktakeId(row_id(&id, "id")?))
        .await?;
    Ok(Json(r.into()))
}

/// `POST /api/v1/stocktakes/{id}/scans`.
#[utoipa::path(post, path = "/stocktakes/{id}/scans", tag = "rooms", request_body = Scan,
    params(("id" = i64, Path, minimum = 1, description = "盘点号")),
    responses(
        (status = 200, description = "盘点扫描 — the result so far", body = Stocktake),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
    )
)]
pub async fn scan_stocktake(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Scan>,
) -> Result<Json<Stocktake>, ApiError> {
    let r = app
        .stocktake_scan(
            &actor,
            StocktakeId(row_id(&id, "id")?),
            &st::ScanInput {
                place: body.place,
                code: body.code,
            },
        )
        .await?;
    Ok(Json(r.into()))
}

/// `POST /api/v1/stocktakes/{id}/close`.
#[utoipa::path(post, path = "/stocktakes/{id}/close", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "盘点号")),
    responses(
        (status = 200, description = "完成盘点 — the result as kept", body = Stocktake),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    )
)]
pub async fn close_stocktake(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stocktake>, ApiError> {
    let r = app
        .close_stocktake(&actor, StocktakeId(row_id(&id, "id")?))
        .await?;
    Ok(Json(r.into()))
}

/// A sheet of labels.
#[derive(Template)]
#[template(path = "print/labels.html")]
struct LabelSheet {
    title: String,
    labels: Vec<(Label, String)>,
}

fn sheet(title: String, labels: Vec<Label>) -> Result<Html<String>, ApiError> {
    let labels = labels
        .into_iter()
        .map(|l| {
            let svg = crate::ui::barcode::svg_fit(&l.code, 62.0, 11.0, false);
            (l, svg)
        })
        .collect();
    render(&LabelSheet { title, labels })
}

/// `GET /api/v1/rooms/{id}/labels`: the labels of every place and box of a room (A4 sheets of
/// 3 × 8 labels, each with its Code 128 barcode).
#[utoipa::path(get, path = "/rooms/{id}/labels", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "库房编号")),
    responses(
        (status = 200, description = "架位与档案盒标签（A4 标签纸）— the printable label sheet", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn room_labels(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let labels = app.room_labels(&actor, RoomId(row_id(&id, "id")?)).await?;
    sheet("架位与档案盒标签".to_owned(), labels)
}

/// Which volumes' spine labels.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpineQuery {
    /// 年度
    #[param(minimum = 1900, maximum = 2200)]
    pub year: i32,
    /// Business class code (`registration`, `collection`, `benefit`, `transfer`).
    pub class: String,
}

/// `GET /api/v1/volumes/labels?year=&class=`: the spine labels of the sealed volumes of a year
/// and class, each with its archive number and its barcode.
#[utoipa::path(get, path = "/volumes/labels", tag = "rooms",
    params(SpineQuery),
    responses(
        (status = 200, description = "案卷脊背条码标签（A4 标签纸）— the printable spine labels", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn spine_labels(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<SpineQuery>,
) -> Result<Html<String>, ApiError> {
    let class = dangan_domain::business::BusinessClass::parse(&q.class)
        .map_err(|e| dangan_app::AppError::invalid("class", &e))?;
    let labels = app
        .volumes(&actor, q.year, class)
        .await?
        .into_iter()
        .filter_map(|v| {
            v.archive_number.map(|n| Label {
                title: n,
                subtitle: format!("{} 年 · {}", v.year, v.business_class_name),
                code: dangan_domain::room::volume_code(v.id.0),
            })
        })
        .collect();
    sheet("案卷脊背标签".to_owned(), labels)
}

/// The stocktake report.
#[derive(Template)]
#[template(path = "print/stocktake.html")]
struct StocktakePrint {
    head: Heading,
    r: StocktakeReport,
    started: String,
    closed: String,
}

/// `GET /api/v1/stocktakes/{id}/print`: 盘点报告 — every line with its outcome, for signatures.
#[utoipa::path(get, path = "/stocktakes/{id}/print", tag = "rooms",
    params(("id" = i64, Path, minimum = 1, description = "盘点号")),
    responses(
        (status = 200, description = "盘点报告（A4 打印页）— the printable stocktake report", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn print_stocktake(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let r = app
        .stocktake_report(&actor, StocktakeId(row_id(&id, "id")?))
        .await?;
    render(&StocktakePrint {
        head: Heading::of(&app),
        started: crate::ui::beijing::time(&r.stocktake.started_at),
        closed: r
            .stocktake
            .closed_at
            .as_ref()
            .map(crate::ui::beijing::time)
            .unwrap_or_default(),
        r,
    })
}
