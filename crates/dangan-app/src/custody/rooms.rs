//! 库房与架位 — rooms and the tree of places inside them, configured by the agency (S3.1).

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_domain::code::Code;
use dangan_domain::room::{self, PlaceKind, format_decimal, parse_decimal};
use dangan_store::rooms::{
    self, NewPlace, NewRoom, PlaceId, PlaceRow, RoomId, RoomRow, Thresholds,
};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult};

/// The guide's range of temperature: 14–24 ℃, in tenths.
pub const DEFAULT_TEMP_DC: (i64, i64) = (140, 240);
/// A room's area: 0.01–100,000 m², in dm².
const MAX_AREA_DM2: (i64, i64) = (1, 10_000_000);
/// The guide's range of relative humidity: 45–60 %, in tenths.
pub const DEFAULT_RH_PM: (i64, i64) = (450, 600);

/// A room as entered on the form or sent to the API. Numbers are typed as decimals.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoomInput {
    /// 库房编号 (letters and digits; the root of every label code in the room). Ignored on change.
    #[serde(default)]
    pub code: String,
    /// 库房名称
    pub name: String,
    /// 面积 in m² (up to two decimals).
    pub area_m2: String,
    /// 与服务区分开 (S3.1).
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

/// A place as entered: under a unit or directly in the room.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlaceInput {
    /// The place it stands in; none for a unit standing in the room.
    pub parent_id: Option<PlaceId>,
    /// 位置类型 code (`shelving`, `cabinet`, `fire_safe`, `column`, `section`, `shelf`,
    /// `position`).
    pub kind: String,
    /// Its own part of the code (`A`, `03`, `2`), appended to its parent's code.
    pub segment: String,
    /// 名称 (default: the kind and the segment, `第2层`).
    pub name: Option<String>,
    /// 容量 in mm of shelf, for a storage place.
    pub capacity_mm: Option<String>,
}

/// A room as shown: its thresholds and area as staff read them.
#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    /// The row.
    pub room: RoomRow,
    /// 面积 (m²) as text.
    pub area_m2: String,
    /// 温度范围 as text (`14–24 ℃`).
    pub temp_range: String,
    /// 湿度范围 as text (`45–60 %`).
    pub rh_range: String,
}

impl From<RoomRow> for RoomView {
    fn from(room: RoomRow) -> RoomView {
        RoomView {
            area_m2: format_decimal(room.area_dm2, 2),
            temp_range: format!(
                "{}–{} ℃",
                format_decimal(room.temp_min_dc, 1),
                format_decimal(room.temp_max_dc, 1)
            ),
            rh_range: format!(
                "{}–{} %",
                format_decimal(room.rh_min_pm, 1),
                format_decimal(room.rh_max_pm, 1)
            ),
            room,
        }
    }
}

fn decimal(field: &str, label: &str, raw: &str, places: u32, range: (i64, i64)) -> AppResult<i64> {
    parse_decimal(raw, places)
        .filter(|v| (range.0..=range.1).contains(v))
        .ok_or_else(|| {
            AppError::invalid_with(
                "invalid_number",
                Some(field),
                format!(
                    "{label}应为 {}–{} 之间的数（最多 {places} 位小数），收到“{}”",
                    format_decimal(range.0, places),
                    format_decimal(range.1, places),
                    raw.trim().chars().take(20).collect::<String>()
                ),
            )
        })
}

fn optional_decimal(
    field: &str,
    label: &str,
    raw: Option<&str>,
    default: i64,
    range: (i64, i64),
) -> AppResult<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => decimal(field, label, s, 1, range),
    }
}

/// Checks the thresholds: temperature −20–50 ℃, humidity 0–100 %, each minimum below its maximum.
pub(crate) fn check_thresholds(input: &RoomInput) -> AppResult<Thresholds> {
    let t = Thresholds {
        temp_min_dc: optional_decimal(
            "temp_min",
            "温度下限",
            input.temp_min.as_deref(),
            DEFAULT_TEMP_DC.0,
            (-200, 500),
        )?,
        temp_max_dc: optional_decimal(
            "temp_max",
            "温度上限",
            input.temp_max.as_deref(),
            DEFAULT_TEMP_DC.1,
            (-200, 500),
        )?,
        rh_min_pm: optional_decimal(
            "rh_min",
            "湿度下限",
            input.rh_min.as_deref(),
            DEFAULT_RH_PM.0,
            (0, 1000),
        )?,
        rh_max_pm: optional_decimal(
            "rh_max",
            "湿度上限",
            input.rh_max.as_deref(),
            DEFAULT_RH_PM.1,
            (0, 1000),
        )?,
    };
    if t.temp_min_dc >= t.temp_max_dc {
        return Err(AppError::invalid_with(
            "invalid_range",
            Some("temp_max"),
            "温度上限应高于下限",
        ));
    }
    if t.rh_min_pm >= t.rh_max_pm {
        return Err(AppError::invalid_with(
            "invalid_range",
            Some("rh_max"),
            "湿度上限应高于下限",
        ));
    }
    Ok(t)
}

impl App {
    /// Adds an archive room (库房).
    pub async fn create_room(&self, actor: &Actor, input: &RoomInput) -> AppResult<RoomView> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let code = room::code_segment(&input.code).map_err(|e| AppError::invalid("code", &e))?;
        let name = text::required("name", &input.name, 40, "库房名称")?;
        let area_dm2 = decimal("area_m2", "面积（平方米）", &input.area_m2, 2, MAX_AREA_DM2)?;
        let thresholds = check_thresholds(input)?;
        let mut tx = self.store.begin_write().await?;
        let id = rooms::insert_room(
            &mut tx,
            &NewRoom {
                code: &code,
                name: &name,
                area_dm2,
                separate_from_service: input.separate_from_service,
                thresholds,
            },
            Utc::now(),
        )
        .await?
        .ok_or_else(|| AppError::Conflict {
            code: "room_code_taken",
            field: Some("code".to_owned()),
            message: format!("库房编号“{code}”已被使用"),
        })?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("room.create", "room", id).detail(format!("{code} {name}")),
            Outcome::Ok,
        )
        .await?;
        let row = rooms::room(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("room vanished".to_owned()))?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Changes a room's name, area, separation and thresholds.
    pub async fn update_room(
        &self,
        actor: &Actor,
        id: RoomId,
        input: &RoomInput,
    ) -> AppResult<RoomView> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let name = text::required("name", &input.name, 40, "库房名称")?;
        let area_dm2 = decimal("area_m2", "面积（平方米）", &input.area_m2, 2, MAX_AREA_DM2)?;
        let thresholds = check_thresholds(input)?;
        let mut tx = self.store.begin_write().await?;
        if !rooms::update_room(
            &mut tx,
            id,
            &name,
            area_dm2,
            input.separate_from_service,
            thresholds,
        )
        .await?
        {
            return Err(room_not_found());
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("room.update", "room", id).detail(format!(
                "{name}; {}–{} ℃; {}–{} %",
                format_decimal(thresholds.temp_min_dc, 1),
                format_decimal(thresholds.temp_max_dc, 1),
                format_decimal(thresholds.rh_min_pm, 1),
                format_decimal(thresholds.rh_max_pm, 1)
            )),
            Outcome::Ok,
        )
        .await?;
        let row = rooms::room(&mut tx, id).await?.ok_or_else(room_not_found)?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Every room.
    pub async fn rooms(&self, actor: &Actor) -> AppResult<Vec<RoomView>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let rows = rooms::rooms(&mut tx).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(RoomView::from).collect())
    }

    /// One room.
    pub async fn room(&self, actor: &Actor, id: RoomId) -> AppResult<RoomView> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let row = rooms::room(&mut tx, id).await?.ok_or_else(room_not_found)?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// The places of a room, a parent before its children.
    pub async fn room_places(&self, actor: &Actor, id: RoomId) -> AppResult<Vec<PlaceRow>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        rooms::room(&mut tx, id).await?.ok_or_else(room_not_found)?;
        let rows = rooms::places_of_room(&mut tx, id).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Adds a place to a room: a unit in the room, or a column, section, shelf or position in
    /// its parent. A storage place has a capacity; a place under a fire safe is fire-safe.
    pub async fn add_place(
        &self,
        actor: &Actor,
        room_id: RoomId,
        input: &PlaceInput,
    ) -> AppResult<PlaceRow> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let kind = PlaceKind::decode(input.kind.trim()).map_err(|e| {
            AppError::invalid_with("invalid_place_kind", Some("kind"), e.to_string())
        })?;
        let segment =
            room::code_segment(&input.segment).map_err(|e| AppError::invalid("segment", &e))?;
        let name = match text::optional("name", input.name.as_deref(), 40, "名称")? {
            Some(n) => n,
            None => default_name(kind, &segment),
        };
        let capacity_mm = match input
            .capacity_mm
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .and_then(|v| room::check_capacity(v).ok())
                    .ok_or_else(|| {
                        AppError::invalid_with(
                            "invalid_capacity",
                            Some("capacity_mm"),
                            "容量应为 1–100000 之间的整数（毫米）",
                        )
                    })?,
            ),
        };
        let mut tx = self.store.begin_write().await?;
        let room = rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let parent = match input.parent_id {
            None => None,
            Some(p) => Some(
                rooms::place(&mut tx, p)
                    .await?
                    .filter(|p| p.room_id == room_id)
                    .ok_or_else(|| {
                        AppError::not_found("place_not_found", "未找到该库房中的上级位置")
                    })?,
            ),
        };
        room::check_kind(parent.as_ref().map(|p| p.kind), kind)
            .map_err(|e| AppError::invalid("kind", &e))?;
        if let Some(p) = &parent
            && p.capacity_mm.is_some()
        {
            return Err(AppError::Conflict {
                code: "parent_is_storage_place",
                field: Some("parent_id".to_owned()),
                message: format!(
                    "“{}”是直接存放案卷的位置（有容量），不能再分下级位置",
                    p.code
                ),
            });
        }
        let code = room::place_code(parent.as_ref().map_or(&room.code, |p| &p.code), &segment);
        let fire_safe = kind == PlaceKind::FireSafe || parent.as_ref().is_some_and(|p| p.fire_safe);
        let id = rooms::insert_place(
            &mut tx,
            &NewPlace {
                room_id,
                parent_id: parent.as_ref().map(|p| p.id),
                kind,
                code: &code,
                name: &name,
                capacity_mm,
                fire_safe,
            },
            Utc::now(),
        )
        .await?
        .ok_or_else(|| AppError::Conflict {
            code: "place_code_taken",
            field: Some("segment".to_owned()),
            message: format!("位置编号“{code}”已存在"),
        })?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("place.create", "place", id).detail(format!(
                "{code} {}{}",
                kind.label(),
                capacity_mm.map_or(String::new(), |c| format!(" {c} mm"))
            )),
            Outcome::Ok,
        )
        .await?;
        let row = rooms::place(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("place vanished".to_owned()))?;
        tx.commit().await?;
        Ok(row)
    }
}

/// The default name of a place: `第2层`, `A列`, `密集架A`.
fn default_name(kind: PlaceKind, segment: &str) -> String {
    let n = segment.trim_start_matches('0');
    let n = if n.is_empty() { segment } else { n };
    match kind {
        PlaceKind::Column | PlaceKind::Section | PlaceKind::Shelf | PlaceKind::Position
            if n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("第{n}{}", kind.label())
        }
        PlaceKind::Column | PlaceKind::Section | PlaceKind::Shelf | PlaceKind::Position => {
            format!("{segment}{}", kind.label())
        }
        _ => format!("{}{segment}", kind.label()),
    }
}

/// The room was not found.
pub(crate) fn room_not_found() -> AppError {
    AppError::not_found("room_not_found", "未找到该库房")
}

impl App {
    /// The demonstration room (`serve --demo`): 一号档案库房 K01 of 40 m², separate from the
    /// service area, with a compact shelving unit A of two columns of five 900 mm shelves and a
    /// fire safe S with one 300 mm shelf. Nothing when any room exists already; `true` when made.
    pub async fn load_demo_room(&self, actor: &Actor) -> AppResult<bool> {
        if !self.rooms(actor).await?.is_empty() {
            return Ok(false);
        }
        let room = self
            .create_room(
                actor,
                &RoomInput {
                    code: "K01".into(),
                    name: "一号档案库房".into(),
                    area_m2: "40".into(),
                    separate_from_service: true,
                    ..RoomInput::default()
                },
            )
            .await?
            .room
            .id;
        let place =
            |parent: Option<PlaceId>, kind: &str, segment: &str, cap: Option<&str>| PlaceInput {
                parent_id: parent,
                kind: kind.into(),
                segment: segment.into(),
                name: None,
                capacity_mm: cap.map(str::to_owned),
            };
        let unit = self
            .add_place(actor, room, &place(None, "shelving", "A", None))
            .await?;
        for column in ["1", "2"] {
            let c = self
                .add_place(actor, room, &place(Some(unit.id), "column", column, None))
                .await?;
            for shelf in ["1", "2", "3", "4", "5"] {
                self.add_place(actor, room, &place(Some(c.id), "shelf", shelf, Some("900")))
                    .await?;
            }
        }
        let safe = self
            .add_place(actor, room, &place(None, "fire_safe", "S", None))
            .await?;
        self.add_place(
            actor,
            room,
            &place(Some(safe.id), "shelf", "1", Some("300")),
        )
        .await?;
        Ok(true)
    }
}
