//! 容量规划 — how full each archive room is and when it will be full (S3.1).
//!
//! Capacity is the sum of the shelf length of a room's storage places; used is what stands on
//! them (volumes outside boxes by their thickness, boxes by their outside width; a volume taken
//! out counts for nothing). The projection divides the free length by the archive's growth: the
//! thickness of volumes sealed per year, averaged over the last three full years (Beijing time)
//! from the first year with any. Beside it, the insured persons, their enrolments per year over
//! the same window, and the archive per person, with the projection they give. Where there is no
//! history the projection is skipped with its reason, never guessed.

use chrono::Datelike;
use serde::Serialize;

use dangan_domain::equipment::{self, Rate, YearAmount};
use dangan_domain::room::format_decimal;
use dangan_store::capacity;
/// An amount in one year (sealed µm, or enrolments), as the store sums it.
pub use dangan_store::capacity::YearRow;
use dangan_store::rooms::RoomId;

use crate::administration::roles::{Actor, UseCase};
use crate::{App, AppResult, today};

/// When the shelves fill at a yearly growth, or why it cannot be said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Projection {
    /// Years until full, in tenths (33 = 3.3 years); absent when skipped.
    pub years_tenths: Option<i64>,
    /// The reason it was skipped.
    pub skipped: Option<String>,
    /// As staff read it: `约 3.3 年`, `已满`, or `未预测：…`.
    pub text: String,
}

impl Projection {
    fn of(free_um: i64, per_year_um: Result<i64, String>) -> Projection {
        match per_year_um.and_then(|g| equipment::tenths_of_years_until_full(free_um, g)) {
            Ok(0) => Projection {
                years_tenths: Some(0),
                skipped: None,
                text: "已满".to_owned(),
            },
            Ok(t) => Projection {
                years_tenths: Some(t),
                skipped: None,
                text: format!("约 {} 年", format_decimal(t, 1)),
            },
            Err(reason) => Projection {
                years_tenths: None,
                text: format!("未预测：{reason}"),
                skipped: Some(reason),
            },
        }
    }
}

/// One room's shelf (or the total of all rooms).
#[derive(Debug, Clone, Serialize)]
pub struct RoomCapacity {
    /// The room; absent for the total.
    pub room_id: Option<RoomId>,
    /// Its code (`合计` for the total).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Storage places.
    pub places: i64,
    /// Volumes in place.
    pub volumes: i64,
    /// Capacity, µm (the places' millimetres × 1000).
    pub capacity_um: i64,
    /// Used, µm.
    pub used_um: i64,
    /// Free, µm (negative when over-filled).
    pub free_um: i64,
    /// Used as a share of capacity, tenths of a per cent; absent without capacity.
    pub used_permille: Option<i64>,
    /// When it fills if all new volumes go here.
    pub projection: Projection,
}

/// The archive's growth: sealed volumes per year and the rate averaged.
#[derive(Debug, Clone, Serialize)]
pub struct Growth {
    /// Thickness sealed per year, µm, averaged over `years` full years; absent when skipped.
    pub um_per_year: Option<i64>,
    /// The full years averaged (`2023–2025`), or why none.
    pub window: String,
    /// Why there is no rate.
    pub skipped: Option<String>,
    /// Sealed volumes per year: year, µm, count — every year with any.
    pub history: Vec<YearRow>,
}

/// Insured persons beside the growth.
#[derive(Debug, Clone, Serialize)]
pub struct PersonsGrowth {
    /// 参保人 now.
    pub persons: i64,
    /// Enrolments (参保登记) per year averaged over the same window; absent when skipped.
    pub enrolments_per_year: Option<i64>,
    /// The window, or why there is none.
    pub window: String,
    /// Sealed archive per insured person, µm; absent without persons.
    pub um_per_person: Option<i64>,
    /// When all rooms fill at enrolments × archive per person.
    pub projection: Projection,
    /// Enrolments per year — every year with any.
    pub history: Vec<YearRow>,
}

/// The capacity of every room, the total, and the projection of when they fill.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// Each room.
    pub rooms: Vec<RoomCapacity>,
    /// All rooms together.
    pub total: RoomCapacity,
    /// Sealed volumes: count and µm.
    pub sealed_volumes: i64,
    /// Their total thickness, µm.
    pub sealed_um: i64,
    /// Growth of the archive.
    pub growth: Growth,
    /// Insured persons and the projection by them.
    pub persons: PersonsGrowth,
}

fn amounts(rows: &[YearRow]) -> Vec<YearAmount> {
    rows.iter()
        .map(|r| YearAmount {
            year: i32::try_from(r.year).unwrap_or(0),
            amount: r.amount,
        })
        .collect()
}

fn rate_parts(rate: &Rate) -> (Option<i64>, String, Option<String>) {
    match rate {
        Rate::PerYear {
            per_year,
            years,
            from,
            to,
        } => (
            Some(*per_year),
            if from == to {
                format!("{from} 年（{years} 个完整年度）")
            } else {
                format!("{from}–{to} 年（{years} 个完整年度）")
            },
            None,
        ),
        Rate::Skipped(reason) => (None, format!("无：{reason}"), Some(reason.clone())),
    }
}

/// A room's figures: `counts` are its storage places and volumes in place, `lengths` its
/// capacity and used length in µm.
fn room_capacity(
    room_id: Option<RoomId>,
    code: String,
    name: String,
    counts: (i64, i64),
    lengths: (i64, i64),
    growth: &Result<i64, String>,
) -> RoomCapacity {
    let (capacity_um, used_um) = lengths;
    let free_um = capacity_um - used_um;
    let projection = if capacity_um > 0 {
        Projection::of(free_um, growth.clone())
    } else {
        let reason = "没有登记存放位置的容量".to_owned();
        Projection {
            years_tenths: None,
            text: format!("未预测：{reason}"),
            skipped: Some(reason),
        }
    };
    RoomCapacity {
        room_id,
        code,
        name,
        places: counts.0,
        volumes: counts.1,
        capacity_um,
        used_um,
        free_um,
        used_permille: (capacity_um > 0).then(|| used_um * 1000 / capacity_um),
        projection,
    }
}

impl App {
    /// The capacity of every room and the projection of when the rooms fill (S3.1).
    pub async fn capacity(&self, actor: &Actor) -> AppResult<CapacityReport> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let shelves = capacity::room_shelves(&mut tx).await?;
        let sealed = capacity::sealed_per_year(&mut tx).await?;
        let enrolled = capacity::enrolments_per_year(&mut tx).await?;
        let totals = capacity::totals(&mut tx).await?;
        tx.rollback().await?;

        let this_year = today().year();
        let growth_rate = equipment::yearly_rate(&amounts(&sealed), this_year, "封卷");
        let (um_per_year, window, skipped) = rate_parts(&growth_rate);
        let growth_result = um_per_year.ok_or_else(|| skipped.clone().unwrap_or_default());

        let rooms: Vec<RoomCapacity> = shelves
            .into_iter()
            .map(|s| {
                room_capacity(
                    Some(s.room_id),
                    s.code,
                    s.name,
                    (s.places, s.volumes),
                    (s.capacity_mm * 1000, s.used_um),
                    &growth_result,
                )
            })
            .collect();
        let total = room_capacity(
            None,
            "合计".to_owned(),
            "全部库房".to_owned(),
            (
                rooms.iter().map(|r| r.places).sum(),
                rooms.iter().map(|r| r.volumes).sum(),
            ),
            (
                rooms.iter().map(|r| r.capacity_um).sum(),
                rooms.iter().map(|r| r.used_um).sum(),
            ),
            &growth_result,
        );

        let enrol_rate = equipment::yearly_rate(&amounts(&enrolled), this_year, "参保登记");
        let (enrolments_per_year, enrol_window, enrol_skipped) = rate_parts(&enrol_rate);
        let per_person = equipment::um_per_person(totals.sealed_um, totals.persons);
        let by_persons = match (enrolments_per_year, &per_person) {
            (Some(n), Ok(um)) => Ok(n * um),
            (None, _) => Err(enrol_skipped.unwrap_or_default()),
            (_, Err(reason)) => Err(reason.clone()),
        };
        let persons_projection = if total.capacity_um > 0 {
            Projection::of(total.free_um, by_persons)
        } else {
            total.projection.clone()
        };
        Ok(CapacityReport {
            persons: PersonsGrowth {
                persons: totals.persons,
                enrolments_per_year,
                window: enrol_window,
                um_per_person: per_person.ok(),
                projection: persons_projection,
                history: enrolled,
            },
            growth: Growth {
                um_per_year,
                window,
                skipped,
                history: sealed,
            },
            sealed_volumes: totals.sealed_volumes,
            sealed_um: totals.sealed_um,
            rooms,
            total,
        })
    }
}
