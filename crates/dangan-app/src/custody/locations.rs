//! 存放位置 — where each sealed volume stands (S3.1): placing (上架), moving (移架), taking out of
//! the room (出库) and returning (归库), archive boxes (档案盒), and the designation of important
//! records (重要档案) that may stand only in a fire safe. Every form takes what a barcode scanner
//! types: a volume's spine code (`V00000123`) or its archive number, a place's code
//! (`K01-A-1-2`), a box's code (`B00000012`).

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_domain::room::{
    self, BOX_CODE_PREFIX, LocationState, MoveKind, format_decimal, parse_volume_code,
};
use dangan_domain::volume::VolumeState;
use dangan_store::Tx;
use dangan_store::locations::{
    self, BoxId, BoxRow, LocationRow, MoveRow, NewMove, PlaceUse, Placement, StandingVolume,
};
use dangan_store::rooms::{self, PlaceId, PlaceRow, RoomId, RoomRow};
use dangan_store::volumes::{self, VolumeId, VolumeRow};

use crate::administration::roles::{Actor, UseCase};
use crate::custody::rooms::room_not_found;
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult};

/// The code of an archive box's label: `B00000012`.
pub fn box_code(id: BoxId) -> String {
    format!("{BOX_CODE_PREFIX}{:08}", id.0)
}

/// The box a scanned code names, if it is a box code.
pub fn parse_box_code(code: &str) -> Option<BoxId> {
    let rest = code.trim().strip_prefix(['B', 'b'])?;
    if rest.is_empty() || rest.len() > 12 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|id| *id > 0).map(BoxId)
}

/// Where to put a volume: a place's code or a box's code, as typed or scanned.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlaceVolumeInput {
    /// 位置条码 — a place's code (`K01-A-1-2`) or a box's code (`B00000012`).
    pub to: String,
    /// 原因 (optional for a move).
    pub reason: Option<String>,
}

/// Taking a volume out of the room.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TakeOutInput {
    /// 出库原因 (修复, 数字化, 调阅 …).
    pub reason: String,
}

/// A new archive box.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BoxInput {
    /// 内宽 (mm): what volumes may fill.
    pub inner_mm: String,
    /// 外宽 (mm): what the box takes on a shelf (default: inner + 10).
    pub outer_mm: Option<String>,
    /// The place it stands on (a place code); none to place it later.
    pub place: Option<String>,
}

/// Where a volume stands, as shown on its page and its prints.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeLocationView {
    /// The volume.
    pub volume_id: VolumeId,
    /// Its spine code (`V00000123`).
    pub code: String,
    /// Designated for the fire safe.
    pub fire_safe_required: bool,
    /// Where it is now; `None` if never placed.
    pub location: Option<LocationRow>,
    /// Its place (code, name, room).
    pub place: Option<PlaceRow>,
    /// The room of that place.
    pub room: Option<RoomRow>,
    /// The box's code, when in a box.
    pub box_code: Option<String>,
    /// 存放位置 as one line (`一号库房 K01-A-1-2（盒 B00000012）`, `出库：修复`, `未上架`).
    pub summary: String,
    /// Every move, oldest first.
    pub moves: Vec<MoveRow>,
}

/// A storage place with what stands there.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceView {
    /// The place.
    pub place: PlaceRow,
    /// Its room.
    pub room: RoomRow,
    /// Millimetres used (rounded up).
    pub used_mm: i64,
    /// Millimetres free (capacity − used), for a storage place.
    pub free_mm: Option<i64>,
    /// The volumes standing there.
    pub volumes: Vec<StandingVolume>,
    /// The boxes standing there, with their codes.
    pub boxes: Vec<BoxView>,
}

/// A box as shown.
#[derive(Debug, Clone, Serialize)]
pub struct BoxView {
    /// The row.
    pub row: BoxRow,
    /// Its label code.
    pub code: String,
    /// Millimetres used inside (rounded up).
    pub used_mm: i64,
}

/// One place of a room's layout, with its use.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutPlace {
    /// The place.
    pub place: PlaceRow,
    /// Depth in the tree (0 for a unit).
    pub depth: usize,
    /// For a storage place: used mm (rounded up), volumes and boxes; for a place that holds
    /// others: the sum of its storage places.
    pub used_mm: i64,
    /// Capacity (mm): its own, or the sum under it.
    pub capacity_mm: i64,
    /// Volumes standing on it or under it.
    pub volumes: i64,
}

/// A room with its places and their use.
#[derive(Debug, Clone, Serialize)]
pub struct RoomLayout {
    /// The room.
    pub room: crate::custody::rooms::RoomView,
    /// Its places, a parent before its children.
    pub places: Vec<LayoutPlace>,
    /// Capacity of the room (mm).
    pub capacity_mm: i64,
    /// Used (mm).
    pub used_mm: i64,
}

/// What a scanned code names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// A volume.
    Volume(VolumeId),
    /// A box.
    Box(BoxId),
    /// A place.
    Place(PlaceRow),
}

/// Micrometres as whole millimetres, rounded up.
fn mm(um: i64) -> i64 {
    (um + 999) / 1000
}

fn conflict(code: &'static str, field: Option<&str>, message: String) -> AppError {
    AppError::Conflict {
        code,
        field: field.map(str::to_owned),
        message,
    }
}

fn volume_not_found(raw: &str) -> AppError {
    AppError::not_found(
        "volume_not_found",
        format!(
            "未找到案卷“{}”：请扫描书脊条码（V 开头）或输入完整档号",
            raw.trim().chars().take(40).collect::<String>()
        ),
    )
}

fn place_not_found(raw: &str) -> AppError {
    AppError::not_found(
        "place_not_found",
        format!(
            "未找到位置“{}”：请扫描架位标签或档案盒标签上的条码",
            raw.trim().chars().take(40).collect::<String>()
        ),
    )
}

/// Resolves what a scanner (or a person) typed as a volume: a spine code or an archive number.
pub(crate) async fn resolve_volume(tx: &mut Tx, raw: &str) -> AppResult<Option<VolumeId>> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 80 || t.chars().any(char::is_control) {
        return Ok(None);
    }
    if let Some(id) = parse_volume_code(t) {
        return Ok(volumes::get(tx, VolumeId(id)).await?.map(|v| v.id));
    }
    Ok(locations::volume_by_archive_number(tx, t).await?)
}

/// The place a scanned or typed code names. A place code is upper-case letters, digits and `-`
/// (lower case is raised); anything else — Chinese, control characters, a NUL — names no place
/// and is never sent to the database.
pub(crate) async fn place_by_scanned(tx: &mut Tx, raw: &str) -> AppResult<Option<PlaceRow>> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 120 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Ok(None);
    }
    Ok(rooms::place_by_code(tx, &t.to_ascii_uppercase()).await?)
}

/// Resolves a scanned code: a volume, a box or a place.
pub(crate) async fn resolve_scan(tx: &mut Tx, raw: &str) -> AppResult<Option<Scanned>> {
    let t = raw.trim();
    if let Some(b) = parse_box_code(t) {
        return Ok(locations::box_row(tx, b).await?.map(|b| Scanned::Box(b.id)));
    }
    if let Some(v) = resolve_volume(tx, t).await? {
        return Ok(Some(Scanned::Volume(v)));
    }
    Ok(place_by_scanned(tx, t).await?.map(Scanned::Place))
}

/// The sealed volume a code names, or why not.
async fn sealed_volume(tx: &mut Tx, raw: &str) -> AppResult<VolumeRow> {
    let id = resolve_volume(tx, raw)
        .await?
        .ok_or_else(|| volume_not_found(raw))?;
    let v = volumes::get(tx, id)
        .await?
        .ok_or_else(|| volume_not_found(raw))?;
    if v.state != VolumeState::Sealed {
        return Err(conflict(
            "volume_not_sealed",
            Some("volume"),
            "只有已封卷的案卷才能上架".to_owned(),
        ));
    }
    Ok(v)
}

/// The number a volume is known by in messages: its archive number, else its spine code.
fn volume_name(v: &VolumeRow) -> String {
    v.archive_number
        .clone()
        .unwrap_or_else(|| room::volume_code(v.id.0))
}

/// Refuses a storage place that is not one, or too full for `um` more.
async fn check_room_on_place(tx: &mut Tx, place: &PlaceRow, um: i64) -> AppResult<()> {
    let Some(capacity) = place.capacity_mm else {
        return Err(conflict(
            "place_not_storage",
            Some("to"),
            format!(
                "“{}”（{}）不直接存放案卷：请扫描其下的层或位",
                place.code,
                place.kind.label()
            ),
        ));
    };
    let used = locations::used_um(tx, place.id).await?;
    if used + um > capacity * 1000 {
        return Err(conflict(
            "place_full",
            Some("to"),
            format!(
                "“{}”已放不下：容量 {capacity} 毫米，已用 {} 毫米，剩余 {} 毫米，需要 {} 毫米",
                place.code,
                mm(used),
                (capacity - mm(used)).max(0),
                mm(um)
            ),
        ));
    }
    Ok(())
}

fn check_fire_safe(v: &VolumeRow, designated: bool, place: &PlaceRow) -> AppResult<()> {
    if designated && !place.fire_safe {
        return Err(conflict(
            "fire_safe_required",
            Some("to"),
            format!(
                "案卷“{}”是重要档案，只能存放在防火保险箱内；“{}”不是防火位置",
                volume_name(v),
                place.code
            ),
        ));
    }
    Ok(())
}

impl App {
    /// Places a sealed volume on a place or in a box (上架), moves it (移架), or returns it to
    /// the room (归库) — which of these follows from where it is now. Refused: a volume not sealed,
    /// a place that holds no volumes, a place or box too full, an important record outside a fire
    /// safe.
    pub async fn place_volume(
        &self,
        actor: &Actor,
        volume: &str,
        input: &PlaceVolumeInput,
    ) -> AppResult<VolumeLocationView> {
        self.authorize(actor, UseCase::PlaceVolumes).await?;
        let reason = text::optional("reason", input.reason.as_deref(), 100, "原因")?;
        let mut tx = self.store.begin_write().await?;
        let v = sealed_volume(&mut tx, volume).await?;
        let designated = locations::fire_safe_required(&mut tx, v.id)
            .await?
            .unwrap_or(false);
        let before = locations::location(&mut tx, v.id).await?;
        let (place, in_box) = match resolve_scan(&mut tx, &input.to).await? {
            Some(Scanned::Place(p)) => (p, None),
            Some(Scanned::Box(b)) => {
                let b = locations::box_row(&mut tx, b)
                    .await?
                    .ok_or_else(|| place_not_found(&input.to))?;
                let Some(pid) = b.place_id else {
                    return Err(conflict(
                        "box_not_placed",
                        Some("to"),
                        format!("档案盒 {} 尚未上架：请先把档案盒放到架位上", box_code(b.id)),
                    ));
                };
                let place = rooms::place(&mut tx, pid)
                    .await?
                    .ok_or_else(|| AppError::Internal("box place vanished".to_owned()))?;
                (place, Some(b))
            }
            _ => return Err(place_not_found(&input.to)),
        };
        check_fire_safe(&v, designated, &place)?;
        let same = before.as_ref().is_some_and(|l| {
            l.state == LocationState::InPlace
                && l.place_id == Some(place.id)
                && l.box_id == in_box.as_ref().map(|b| b.id)
        });
        if same {
            return Err(conflict(
                "already_there",
                Some("to"),
                format!("案卷“{}”已在此位置", volume_name(&v)),
            ));
        }
        match &in_box {
            Some(b) => {
                let used = locations::box_used_um(&mut tx, b.id).await?;
                if used + v.thickness_um > b.inner_mm * 1000 {
                    return Err(conflict(
                        "box_full",
                        Some("to"),
                        format!(
                            "档案盒 {} 已放不下：内宽 {} 毫米，已用 {} 毫米，需要 {} 毫米",
                            box_code(b.id),
                            b.inner_mm,
                            mm(used),
                            mm(v.thickness_um)
                        ),
                    ));
                }
            }
            None => check_room_on_place(&mut tx, &place, v.thickness_um).await?,
        }
        let kind = match &before {
            None => MoveKind::Place,
            Some(l) if l.state == LocationState::Out => MoveKind::Return,
            Some(_) => MoveKind::Move,
        };
        locations::relocate(
            &mut tx,
            before.as_ref(),
            &Placement {
                volume: v.id,
                place: Some(place.id),
                in_box: in_box.as_ref().map(|b| b.id),
                state: LocationState::InPlace,
                out_reason: None,
                by: &actor.username,
            },
            kind,
            reason.as_deref(),
            Utc::now(),
        )
        .await?;
        let action = match kind {
            MoveKind::Place => "volume.place",
            MoveKind::Return => "volume.return",
            _ => "volume.move",
        };
        self.finish_move(
            tx,
            actor,
            Op::new(action, "volume", v.id).detail(format!(
                "{} → {}{}",
                volume_name(&v),
                place.code,
                in_box
                    .as_ref()
                    .map_or(String::new(), |b| format!(" {}", box_code(b.id)))
            )),
            v.id,
        )
        .await
    }

    /// Takes a volume out of the room (出库) with the reason; it is returned by placing it again.
    pub async fn take_out_volume(
        &self,
        actor: &Actor,
        volume: &str,
        input: &TakeOutInput,
    ) -> AppResult<VolumeLocationView> {
        self.authorize(actor, UseCase::PlaceVolumes).await?;
        let reason = text::required("reason", &input.reason, 100, "出库原因")?;
        let mut tx = self.store.begin_write().await?;
        let v = sealed_volume(&mut tx, volume).await?;
        let before = locations::location(&mut tx, v.id)
            .await?
            .filter(|l| l.state == LocationState::InPlace)
            .ok_or_else(|| {
                conflict(
                    "volume_not_in_place",
                    None,
                    format!("案卷“{}”不在架上，不能出库", volume_name(&v)),
                )
            })?;
        locations::relocate(
            &mut tx,
            Some(&before),
            &Placement {
                volume: v.id,
                place: None,
                in_box: None,
                state: LocationState::Out,
                out_reason: Some(&reason),
                by: &actor.username,
            },
            MoveKind::TakeOut,
            Some(&reason),
            Utc::now(),
        )
        .await?;
        self.finish_move(
            tx,
            actor,
            Op::new("volume.take_out", "volume", v.id)
                .detail(format!("{}: {reason}", volume_name(&v))),
            v.id,
        )
        .await
    }

    /// Designates a volume as an important record (重要档案, e.g. 原始参保登记册) that may stand
    /// only in a fire safe, or lifts that. Refused while it stands outside a fire safe.
    pub async fn designate_volume(
        &self,
        actor: &Actor,
        volume: VolumeId,
        required: bool,
    ) -> AppResult<VolumeLocationView> {
        self.authorize(actor, UseCase::PlaceVolumes).await?;
        let mut tx = self.store.begin_write().await?;
        let v = volumes::get(&mut tx, volume)
            .await?
            .ok_or_else(|| volume_not_found(&volume.to_string()))?;
        if required
            && let Some(l) = locations::location(&mut tx, v.id).await?
            && let Some(pid) = l.place_id
            && let Some(p) = rooms::place(&mut tx, pid).await?
            && !p.fire_safe
        {
            return Err(conflict(
                "fire_safe_required",
                None,
                format!(
                    "案卷“{}”现存放于“{}”，不是防火位置：请先移入防火保险箱，再指定为重要档案",
                    volume_name(&v),
                    p.code
                ),
            ));
        }
        locations::set_fire_safe_required(&mut tx, v.id, required).await?;
        self.finish_move(
            tx,
            actor,
            Op::new("volume.designate", "volume", v.id).detail(format!(
                "{}: {}",
                volume_name(&v),
                if required {
                    "重要档案（防火保险箱）"
                } else {
                    "取消重要档案"
                }
            )),
            v.id,
        )
        .await
    }

    /// Adds an archive box, on a place or not yet placed.
    pub async fn create_box(&self, actor: &Actor, input: &BoxInput) -> AppResult<BoxView> {
        self.authorize(actor, UseCase::PlaceVolumes).await?;
        let number = |field: &str, label: &str, raw: &str| -> AppResult<i64> {
            raw.trim()
                .parse::<i64>()
                .ok()
                .filter(|v| (1..=2000).contains(v))
                .ok_or_else(|| {
                    AppError::invalid_with(
                        "invalid_width",
                        Some(field),
                        format!("{label}应为 1–2000 之间的整数（毫米）"),
                    )
                })
        };
        let inner = number("inner_mm", "内宽", &input.inner_mm)?;
        let outer = match input
            .outer_mm
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => number("outer_mm", "外宽", s)?,
            None => inner + 10,
        };
        if outer < inner {
            return Err(AppError::invalid_with(
                "invalid_width",
                Some("outer_mm"),
                "外宽不能小于内宽",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let target = match input
            .place
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(code) => {
                let p = place_by_scanned(&mut tx, code)
                    .await?
                    .ok_or_else(|| place_not_found(code))?;
                check_room_on_place(&mut tx, &p, outer * 1000).await?;
                Some(p)
            }
        };
        let now = Utc::now();
        let id = locations::insert_box(&mut tx, inner, outer, now).await?;
        if let Some(p) = &target {
            locations::set_box_place(&mut tx, id, p.id).await?;
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("box.create", "archive_box", id).detail(format!(
                "{} {inner}/{outer} mm{}",
                box_code(id),
                target
                    .as_ref()
                    .map_or(String::new(), |p| format!(" → {}", p.code))
            )),
            Outcome::Ok,
        )
        .await?;
        let row = locations::box_row(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("box vanished".to_owned()))?;
        tx.commit().await?;
        Ok(BoxView {
            code: box_code(id),
            row,
            used_mm: 0,
        })
    }

    /// Moves a box (and every volume in it) to another place.
    pub async fn move_box(&self, actor: &Actor, code: &str, to: &str) -> AppResult<BoxView> {
        self.authorize(actor, UseCase::PlaceVolumes).await?;
        let mut tx = self.store.begin_write().await?;
        let b = match parse_box_code(code) {
            Some(id) => locations::box_row(&mut tx, id).await?,
            None => None,
        }
        .ok_or_else(|| {
            AppError::not_found(
                "box_not_found",
                format!(
                    "未找到档案盒“{}”",
                    code.trim().chars().take(20).collect::<String>()
                ),
            )
        })?;
        let p = place_by_scanned(&mut tx, to)
            .await?
            .ok_or_else(|| place_not_found(to))?;
        if b.place_id == Some(p.id) {
            return Err(conflict(
                "already_there",
                Some("to"),
                format!("档案盒 {} 已在此位置", box_code(b.id)),
            ));
        }
        if !p.fire_safe && locations::box_holds_designated(&mut tx, b.id).await? {
            return Err(conflict(
                "fire_safe_required",
                Some("to"),
                format!(
                    "档案盒 {} 内有重要档案，只能存放在防火保险箱内",
                    box_code(b.id)
                ),
            ));
        }
        check_room_on_place(&mut tx, &p, b.outer_mm * 1000).await?;
        let now = Utc::now();
        locations::set_box_place(&mut tx, b.id, p.id).await?;
        locations::insert_move(
            &mut tx,
            &NewMove {
                volume: None,
                moved_box: Some(b.id),
                kind: if b.place_id.is_some() {
                    MoveKind::Move
                } else {
                    MoveKind::Place
                },
                from_place: b.place_id,
                from_box: None,
                to_place: Some(p.id),
                to_box: None,
                reason: None,
                by: &actor.username,
            },
            now,
        )
        .await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("box.move", "archive_box", b.id).detail(format!(
                "{} → {}",
                box_code(b.id),
                p.code
            )),
            Outcome::Ok,
        )
        .await?;
        let row = locations::box_row(&mut tx, b.id)
            .await?
            .ok_or_else(|| AppError::Internal("box vanished".to_owned()))?;
        let used = locations::box_used_um(&mut tx, b.id).await?;
        tx.commit().await?;
        Ok(BoxView {
            code: box_code(b.id),
            row,
            used_mm: mm(used),
        })
    }

    /// Where a volume stands, with its moves.
    pub async fn volume_location(
        &self,
        actor: &Actor,
        volume: VolumeId,
    ) -> AppResult<VolumeLocationView> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.store.begin().await?;
        volumes::get(&mut tx, volume)
            .await?
            .ok_or_else(|| volume_not_found(&volume.to_string()))?;
        let view = self.location_view(&mut tx, volume).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Logs the change of a volume's place, reads where it stands now and commits.
    async fn finish_move(
        &self,
        mut tx: Tx,
        actor: &Actor,
        op: Op,
        volume: VolumeId,
    ) -> AppResult<VolumeLocationView> {
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let view = self.location_view(&mut tx, volume).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub(crate) async fn location_view(
        &self,
        tx: &mut Tx,
        volume: VolumeId,
    ) -> AppResult<VolumeLocationView> {
        let location = locations::location(tx, volume).await?;
        let place = match location.as_ref().and_then(|l| l.place_id) {
            Some(p) => rooms::place(tx, p).await?,
            None => None,
        };
        let room = match &place {
            Some(p) => rooms::room(tx, p.room_id).await?,
            None => None,
        };
        let box_code = location.as_ref().and_then(|l| l.box_id).map(box_code);
        let summary = match (&location, &place, &room) {
            (None, _, _) => "未上架".to_owned(),
            (Some(l), _, _) if l.state == LocationState::Out => format!(
                "出库：{}",
                l.out_reason.as_deref().unwrap_or("（未注明原因）")
            ),
            (Some(_), Some(p), Some(r)) => format!(
                "{} {}{}",
                r.name,
                p.code,
                box_code
                    .as_ref()
                    .map_or(String::new(), |b| format!("（档案盒 {b}）"))
            ),
            _ => "未上架".to_owned(),
        };
        Ok(VolumeLocationView {
            volume_id: volume,
            code: room::volume_code(volume.0),
            fire_safe_required: locations::fire_safe_required(tx, volume)
                .await?
                .unwrap_or(false),
            summary,
            moves: locations::moves_of_volume(tx, volume).await?,
            location,
            place,
            room,
            box_code,
        })
    }

    /// A place by its code (as scanned) with what stands there.
    pub async fn place_detail(&self, actor: &Actor, code: &str) -> AppResult<PlaceView> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let place = place_by_scanned(&mut tx, code)
            .await?
            .ok_or_else(|| place_not_found(code))?;
        let room = rooms::room(&mut tx, place.room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let used = locations::used_um(&mut tx, place.id).await?;
        let volumes = locations::volumes_at(&mut tx, place.id).await?;
        let mut boxes = Vec::new();
        for b in locations::boxes_at(&mut tx, place.id).await? {
            let used = locations::box_used_um(&mut tx, b.id).await?;
            boxes.push(BoxView {
                code: box_code(b.id),
                row: b,
                used_mm: mm(used),
            });
        }
        tx.commit().await?;
        Ok(PlaceView {
            used_mm: mm(used),
            free_mm: place.capacity_mm.map(|c| (c - mm(used)).max(0)),
            place,
            room,
            volumes,
            boxes,
        })
    }

    /// A room with its places, each with its use; a place that holds others shows the sums of
    /// the storage places under it.
    pub async fn room_layout(&self, actor: &Actor, id: RoomId) -> AppResult<RoomLayout> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let room = rooms::room(&mut tx, id).await?.ok_or_else(room_not_found)?;
        let places = rooms::places_of_room(&mut tx, id).await?;
        let uses = locations::use_of_room(&mut tx, id).await?;
        tx.commit().await?;
        Ok(layout(room, places, &uses))
    }
}

/// The layout of a room from its places (ordered by code, so a parent comes before its children)
/// and the use of its storage places.
fn layout(room: RoomRow, places: Vec<PlaceRow>, uses: &[PlaceUse]) -> RoomLayout {
    use std::collections::HashMap;
    let by_id: HashMap<PlaceId, &PlaceRow> = places.iter().map(|p| (p.id, p)).collect();
    let depth = |p: &PlaceRow| {
        let mut d = 0;
        let mut cur = p.parent_id;
        while let Some(c) = cur {
            d += 1;
            cur = by_id.get(&c).and_then(|q| q.parent_id);
        }
        d
    };
    // Sums up the tree: every storage place adds its use to itself and its ancestors.
    let mut sums: HashMap<PlaceId, (i64, i64, i64)> = HashMap::new();
    for p in &places {
        let Some(cap) = p.capacity_mm else { continue };
        let u = uses.iter().find(|u| u.place_id == p.id);
        let used = u.map_or(0, |u| u.used_um);
        let vols = u.map_or(0, |u| u.volumes);
        let mut cur = Some(p.id);
        while let Some(c) = cur {
            let e = sums.entry(c).or_default();
            e.0 += used;
            e.1 += cap;
            e.2 += vols;
            cur = by_id.get(&c).and_then(|q| q.parent_id);
        }
    }
    let (mut cap, mut used) = (0, 0);
    for p in &places {
        if p.capacity_mm.is_some() {
            let s = sums.get(&p.id).copied().unwrap_or_default();
            cap += p.capacity_mm.unwrap_or(0);
            used += s.0;
        }
    }
    let out = places
        .iter()
        .map(|p| {
            let s = sums.get(&p.id).copied().unwrap_or_default();
            LayoutPlace {
                depth: depth(p),
                used_mm: mm(s.0),
                capacity_mm: s.1,
                volumes: s.2,
                place: p.clone(),
            }
        })
        .collect();
    RoomLayout {
        room: room.into(),
        places: out,
        capacity_mm: cap,
        used_mm: mm(used),
    }
}

/// A percentage as staff read it (`37.5 %`).
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_owned();
    }
    format!("{} %", format_decimal(part * 1000 / whole, 1))
}

/// What a scanned code leads to (for the scan box of the room pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Found {
    /// A volume.
    Volume(VolumeId),
    /// A box, on a place (its code) or not yet placed.
    Box(String, Option<String>),
    /// A place (its code).
    Place(String),
}

impl App {
    /// What a scanned or typed code names: a volume (spine code or archive number), a box or a
    /// place.
    pub async fn lookup_code(&self, actor: &Actor, code: &str) -> AppResult<Found> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let found = match resolve_scan(&mut tx, code).await? {
            Some(Scanned::Volume(v)) => Found::Volume(v),
            Some(Scanned::Box(b)) => {
                let row = locations::box_row(&mut tx, b)
                    .await?
                    .ok_or_else(|| place_not_found(code))?;
                let place = match row.place_id {
                    Some(p) => rooms::place(&mut tx, p).await?.map(|p| p.code),
                    None => None,
                };
                Found::Box(box_code(b), place)
            }
            Some(Scanned::Place(p)) => Found::Place(p.code),
            None => {
                return Err(AppError::not_found(
                    "code_not_found",
                    format!(
                        "条码“{}”不是本系统的案卷、档案盒或架位",
                        code.trim().chars().take(40).collect::<String>()
                    ),
                ));
            }
        };
        tx.commit().await?;
        Ok(found)
    }
}

/// A label to print: what it says and the code its barcode carries.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    /// The first line (the room, or the volume's archive number).
    pub title: String,
    /// The second line (the place's kind and name, a box, a volume's year and class).
    pub subtitle: String,
    /// The code the barcode carries (ASCII).
    pub code: String,
}

impl App {
    /// The labels of a room: every place (units, columns, sections, shelves, positions) and every
    /// archive box standing in it.
    pub async fn room_labels(&self, actor: &Actor, id: RoomId) -> AppResult<Vec<Label>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let room = rooms::room(&mut tx, id).await?.ok_or_else(room_not_found)?;
        let places = rooms::places_of_room(&mut tx, id).await?;
        let boxes = locations::boxes_of_room(&mut tx, id).await?;
        tx.commit().await?;
        let mut labels: Vec<Label> = places
            .into_iter()
            .map(|p| Label {
                title: room.name.clone(),
                subtitle: if p.name.contains(p.kind.label()) {
                    p.name
                } else {
                    format!("{} {}", p.kind.label(), p.name)
                },
                code: p.code,
            })
            .collect();
        labels.extend(boxes.into_iter().map(|(b, place)| Label {
            title: room.name.clone(),
            subtitle: format!("档案盒 · 存放于 {place}"),
            code: box_code(b),
        }));
        Ok(labels)
    }
}
