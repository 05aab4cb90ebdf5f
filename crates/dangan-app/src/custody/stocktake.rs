//! 盘点 — stocktaking a room or a shelving unit: the register's view is recorded when it starts,
//! each volume is scanned where it stands (the place's label first, then the spines, or a box's
//! label for every volume registered in it), and the result sorts every volume into 账实相符
//! (in place), 位置不符 (elsewhere in the scope), 未找到 (missing) and 账外 (unexpected). The
//! result is kept (what was expected and every scan stay) and printable; a missing volume can be
//! reported lost through the loss procedure.

use std::collections::HashMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_domain::material::MaterialStatus;
use dangan_domain::room::{self, StocktakeOutcome, StocktakeState, outcome};
use dangan_store::damage;
use dangan_store::events;
use dangan_store::locations::{self, StocktakeId, StocktakeRow};
use dangan_store::rooms::{self, PlaceRow, RoomId, RoomRow};
use dangan_store::volumes::{self, VolumeId};

use crate::administration::roles::{Actor, UseCase};
use crate::custody::locations::{Scanned, box_code, place_by_scanned, resolve_scan};
use crate::custody::rooms::room_not_found;
use crate::problems::damage::LossInput;
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult};

/// Starting a stocktake.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StartStocktake {
    /// The unit (or any place) whose places are counted, as its code; the whole room when blank.
    pub place: Option<String>,
}

/// One scan: where, and what.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScanInput {
    /// The place being counted (its label's code).
    pub place: String,
    /// What was scanned there: a spine code, an archive number or a box's code.
    pub code: String,
}

/// One line of a stocktake's result.
#[derive(Debug, Clone, Serialize)]
pub struct StocktakeLine {
    /// The outcome.
    pub outcome: StocktakeOutcome,
    /// The volume, if the code named one.
    pub volume_id: Option<VolumeId>,
    /// The code as scanned (for an unexpected code that names no volume), or the spine code.
    pub code: String,
    /// Its archive number.
    pub archive_number: Option<String>,
    /// Where the register had it (in this scope).
    pub expected_place: Option<String>,
    /// Where it was scanned (last scan).
    pub scanned_place: Option<String>,
}

/// A stocktake with its result.
#[derive(Debug, Clone, Serialize)]
pub struct StocktakeReport {
    /// The stocktake.
    pub stocktake: StocktakeRow,
    /// Its room.
    pub room: RoomRow,
    /// The scope: the unit's code, or the room's.
    pub scope: String,
    /// Volumes the register expected.
    pub expected: usize,
    /// Scans taken.
    pub scans: usize,
    /// Counts by outcome, in the order of [`StocktakeOutcome::ALL`].
    pub counts: Vec<(StocktakeOutcome, usize)>,
    /// Every line: missing first, then elsewhere, unexpected, in place.
    pub lines: Vec<StocktakeLine>,
}

fn stocktake_not_found() -> AppError {
    AppError::not_found("stocktake_not_found", "未找到该盘点")
}

/// Whether `place` lies in the scope `scope` (a unit's code: itself or under it; `None`: the
/// whole room).
fn in_scope(place: &PlaceRow, room: RoomId, scope: Option<&str>) -> bool {
    place.room_id == room
        && scope.is_none_or(|s| place.code == s || place.code.starts_with(&format!("{s}-")))
}

impl App {
    /// Starts a stocktake of a room or of one of its units; refused while another stocktake of
    /// the room is open.
    pub async fn start_stocktake(
        &self,
        actor: &Actor,
        room_id: RoomId,
        input: &StartStocktake,
    ) -> AppResult<StocktakeReport> {
        self.authorize(actor, UseCase::TakeStock).await?;
        let mut tx = self.store.begin_write().await?;
        let room = rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let unit = match input
            .place
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(code) => Some(
                place_by_scanned(&mut tx, code)
                    .await?
                    .filter(|p| p.room_id == room_id)
                    .ok_or_else(|| {
                        AppError::not_found(
                            "place_not_found",
                            format!(
                                "本库房中没有位置“{}”",
                                code.chars().take(30).collect::<String>()
                            ),
                        )
                    })?,
            ),
        };
        if let Some(open) = locations::open_stocktake_of_room(&mut tx, room_id).await? {
            return Err(AppError::Conflict {
                code: "stocktake_open",
                field: None,
                message: format!("本库房已有进行中的盘点（第 {open} 号），请先完成它"),
            });
        }
        let id = locations::start_stocktake(
            &mut tx,
            room_id,
            unit.as_ref().map(|u| (u.id, u.code.as_str())),
            &actor.username,
            Utc::now(),
        )
        .await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("stocktake.start", "stocktake", id).detail(format!(
                "{} {}",
                room.code,
                unit.as_ref().map_or("全库", |u| u.code.as_str())
            )),
            Outcome::Ok,
        )
        .await?;
        let report = report(&mut tx, id).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Records a scan at a place of an open stocktake: a volume (spine code or archive number),
    /// a box (every volume registered in it), or a code that names nothing (kept, 账外).
    pub async fn stocktake_scan(
        &self,
        actor: &Actor,
        id: StocktakeId,
        input: &ScanInput,
    ) -> AppResult<StocktakeReport> {
        self.authorize(actor, UseCase::TakeStock).await?;
        let code = text::required("code", &input.code, 80, "条码")?;
        let mut tx = self.store.begin_write().await?;
        let st = locations::stocktake(&mut tx, id)
            .await?
            .ok_or_else(stocktake_not_found)?;
        if st.state != StocktakeState::Open {
            return Err(AppError::Conflict {
                code: "stocktake_closed",
                field: None,
                message: "该盘点已完成，不能再扫描".to_owned(),
            });
        }
        let scope = match st.place_id {
            Some(p) => rooms::place(&mut tx, p).await?.map(|p| p.code),
            None => None,
        };
        let place = match resolve_scan(&mut tx, &input.place).await? {
            Some(Scanned::Place(p)) => p,
            _ => {
                return Err(AppError::invalid_with(
                    "place_not_found",
                    Some("place"),
                    format!(
                        "“{}”不是架位条码：请先扫描架位标签",
                        input.place.trim().chars().take(30).collect::<String>()
                    ),
                ));
            }
        };
        if !in_scope(&place, st.room_id, scope.as_deref()) {
            return Err(AppError::invalid_with(
                "place_out_of_scope",
                Some("place"),
                format!("位置“{}”不在本次盘点范围内", place.code),
            ));
        }
        let now = Utc::now();
        let by = actor.username.clone();
        let named = match resolve_scan(&mut tx, &code).await? {
            Some(Scanned::Volume(v)) => vec![(code.clone(), Some(v))],
            Some(Scanned::Box(b)) => locations::volumes_in_box(&mut tx, b)
                .await?
                .into_iter()
                .map(|v| {
                    (
                        format!("{} {}", box_code(b), room::volume_code(v.0)),
                        Some(v),
                    )
                })
                .collect(),
            Some(Scanned::Place(p)) => {
                return Err(AppError::invalid_with(
                    "not_a_volume",
                    Some("code"),
                    format!(
                        "“{}”是架位条码，不是案卷：请扫描案卷书脊或档案盒条码",
                        p.code
                    ),
                ));
            }
            None => vec![(code.clone(), None)],
        };
        for (scanned, volume) in &named {
            locations::insert_scan(&mut tx, id, scanned, *volume, place.id, &by, now).await?;
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("stocktake.scan", "stocktake", id)
                .detail(format!("{} @ {}", code, place.code)),
            Outcome::Ok,
        )
        .await?;
        let report = report(&mut tx, id).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Closes a stocktake; its result stays as it is.
    pub async fn close_stocktake(
        &self,
        actor: &Actor,
        id: StocktakeId,
    ) -> AppResult<StocktakeReport> {
        self.authorize(actor, UseCase::TakeStock).await?;
        let mut tx = self.store.begin_write().await?;
        locations::stocktake(&mut tx, id)
            .await?
            .ok_or_else(stocktake_not_found)?;
        if !locations::close_stocktake(&mut tx, id, &actor.username, Utc::now()).await? {
            return Err(AppError::Conflict {
                code: "stocktake_closed",
                field: None,
                message: "该盘点已完成".to_owned(),
            });
        }
        let report = report(&mut tx, id).await?;
        let counts = report
            .counts
            .iter()
            .map(|(o, n)| format!("{}{n}", o.label()))
            .collect::<Vec<_>>()
            .join("，");
        self.log_in(
            &mut tx,
            actor,
            &Op::new("stocktake.close", "stocktake", id).detail(counts),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// A stocktake with its result.
    pub async fn stocktake_report(
        &self,
        actor: &Actor,
        id: StocktakeId,
    ) -> AppResult<StocktakeReport> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let r = report(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// The stocktakes of a room, newest first.
    pub async fn stocktakes(&self, actor: &Actor, room: RoomId) -> AppResult<Vec<StocktakeRow>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        rooms::room(&mut tx, room)
            .await?
            .ok_or_else(room_not_found)?;
        let rows = locations::stocktakes_of_room(&mut tx, room).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Reports a volume that a closed stocktake did not find as lost: every material in it not
    /// yet reported lost gets a loss report (the loss procedure of 破损与丢失) and is marked
    /// 档案丢失.
    pub async fn report_stocktake_loss(
        &self,
        actor: &Actor,
        id: StocktakeId,
        volume: VolumeId,
        input: &LossInput,
    ) -> AppResult<usize> {
        self.authorize(actor, UseCase::TakeStock).await?;
        self.authorize(actor, UseCase::RecordDamage).await?;
        let reported_to = text::required("reported_to", &input.reported_to, 60, "报告对象")?;
        let mut tx = self.store.begin_write().await?;
        let r = report(&mut tx, id).await?;
        if r.stocktake.state != StocktakeState::Closed {
            return Err(AppError::Conflict {
                code: "stocktake_open",
                field: None,
                message: "盘点完成后才能对未找到的案卷报失".to_owned(),
            });
        }
        if !r
            .lines
            .iter()
            .any(|l| l.volume_id == Some(volume) && l.outcome == StocktakeOutcome::Missing)
        {
            return Err(AppError::Conflict {
                code: "volume_not_missing",
                field: None,
                message: "该案卷在本次盘点中不是“未找到”，不能按盘点缺失报失".to_owned(),
            });
        }
        let note = format!(
            "第 {id} 号盘点未找到该案卷（{}）{}",
            room::volume_code(volume.0),
            input
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map_or(String::new(), |n| format!("：{n}"))
        );
        let note = text::required("note", &note, 300, "情况说明")?;
        let now = Utc::now();
        let mut reported = Vec::new();
        for m in volumes::item_ids(&mut tx, volume).await? {
            let Some(row) = events::material(&mut tx, m).await? else {
                continue;
            };
            if row.status == MaterialStatus::Lost {
                continue;
            }
            damage::insert_loss(&mut tx, m, &reported_to, Some(&note), &actor.username, now)
                .await?;
            events::set_material_status(&mut tx, m, MaterialStatus::Lost).await?;
            reported.push(m.to_string());
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("stocktake.report_loss", "stocktake", id).detail(format!(
                "{}: materials {}",
                room::volume_code(volume.0),
                reported.join(",")
            )),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(reported.len())
    }
}

/// The result of a stocktake from what was expected and every scan: the last scan of a volume
/// says where it was found.
async fn report(tx: &mut dangan_store::Tx, id: StocktakeId) -> AppResult<StocktakeReport> {
    let st = locations::stocktake(tx, id)
        .await?
        .ok_or_else(stocktake_not_found)?;
    let room = rooms::room(tx, st.room_id)
        .await?
        .ok_or_else(room_not_found)?;
    let scope = match st.place_id {
        Some(p) => rooms::place(tx, p)
            .await?
            .map_or_else(|| room.code.clone(), |p| p.code),
        None => room.code.clone(),
    };
    let expected = locations::expected(tx, id).await?;
    let scans = locations::scans(tx, id).await?;
    // The last scan of each volume; codes naming no volume stand on their own.
    let mut last: HashMap<VolumeId, &locations::ScanRow> = HashMap::new();
    let mut unknown = Vec::new();
    for s in &scans {
        match s.volume_id {
            Some(v) => {
                last.insert(v, s);
            }
            None => unknown.push(s),
        }
    }
    let mut lines = Vec::new();
    for e in &expected {
        let scanned = last.remove(&e.volume_id);
        if let Some(o) = outcome(Some(e.place_id), scanned.map(|s| s.place_id)) {
            lines.push(StocktakeLine {
                outcome: o,
                volume_id: Some(e.volume_id),
                code: room::volume_code(e.volume_id.0),
                archive_number: e.archive_number.clone(),
                expected_place: Some(e.place_code.clone()),
                scanned_place: scanned.map(|s| s.place_code.clone()),
            });
        }
    }
    let mut rest: Vec<_> = last.into_values().collect();
    rest.sort_by_key(|s| (s.place_code.clone(), s.volume_id));
    for s in rest {
        lines.push(StocktakeLine {
            outcome: StocktakeOutcome::Unexpected,
            volume_id: s.volume_id,
            code: s
                .volume_id
                .map_or_else(|| s.scanned_code.clone(), |v| room::volume_code(v.0)),
            archive_number: s.archive_number.clone(),
            expected_place: None,
            scanned_place: Some(s.place_code.clone()),
        });
    }
    for s in unknown {
        lines.push(StocktakeLine {
            outcome: StocktakeOutcome::Unexpected,
            volume_id: None,
            code: s.scanned_code.clone(),
            archive_number: None,
            expected_place: None,
            scanned_place: Some(s.place_code.clone()),
        });
    }
    let rank = |o: StocktakeOutcome| match o {
        StocktakeOutcome::Missing => 0,
        StocktakeOutcome::Elsewhere => 1,
        StocktakeOutcome::Unexpected => 2,
        StocktakeOutcome::InPlace => 3,
    };
    lines.sort_by_key(|l| rank(l.outcome));
    let counts = [
        StocktakeOutcome::InPlace,
        StocktakeOutcome::Elsewhere,
        StocktakeOutcome::Missing,
        StocktakeOutcome::Unexpected,
    ]
    .into_iter()
    .map(|o| (o, lines.iter().filter(|l| l.outcome == o).count()))
    .collect();
    Ok(StocktakeReport {
        expected: expected.len(),
        scans: scans.len(),
        stocktake: st,
        room,
        scope,
        counts,
        lines,
    })
}
