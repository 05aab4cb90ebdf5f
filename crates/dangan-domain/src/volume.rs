//! 组卷 — planning volumes (案卷) from archived material items (S5.1, S5.2).
//!
//! Items are grouped by year (年度) and business class (业务类别). Inside a group they are
//! ordered by the insured person's division code (行政区划代码), then the person's identity
//! number, then the item's formation date (形成日期), then the item's id, so that the order is
//! total and rebuilding the plan from the same items always gives the same volumes. For one
//! person this is formation-time order, as S5.2 asks.
//!
//! Each group is cut greedily, in that order, into consecutive volumes of at most
//! [`VolumeRules::max_thickness_mm`] (2 cm by default). An item is as thick as the sheets it is
//! printed on: `ceil(pages / pages_per_sheet) × sheet_thickness_mm`. Thicknesses are summed in
//! whole micrometres, so floating-point rounding can never let a volume exceed the limit.
//!
//! [`contents`] lists a planned volume's 卷内目录 (序号, 材料名称, 形成日期, 页数, 备注 and the
//! page range of each item). Binding (left binding, 1.5–2 cm margin) is recorded elsewhere, not
//! simulated here; the volume serial and archive number are allocated by the store
//! ([`crate::archive_number`]).

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::business::BusinessClass;

/// Micrometres per millimetre: the internal unit of thickness.
const UM_PER_MM: f64 = 1000.0;
/// The largest allowed volume thickness, in millimetres.
const MAX_VOLUME_MM: f64 = 100.0;
/// The largest allowed sheet thickness, in millimetres.
const MAX_SHEET_MM: f64 = 2.0;

/// The physical rules of 组卷: how thick a volume may be and how thick a sheet is.
///
/// Thicknesses are kept in whole micrometres; values given in millimetres are rounded to the
/// nearest micrometre (0.001 mm), far below what a ruler can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeRules {
    max_um: u64,
    sheet_um: u64,
    pages_per_sheet: u32,
}

impl VolumeRules {
    /// Validates and builds the rules.
    ///
    /// `max_thickness_mm` must be in (0, 100] mm, `sheet_thickness_mm` in (0, 2] mm, both at
    /// least 0.001 mm after rounding, and a volume must hold at least one sheet.
    /// `pages_per_sheet` is 1 (single-sided) or 2 (double-sided).
    pub fn new(
        max_thickness_mm: f64,
        sheet_thickness_mm: f64,
        pages_per_sheet: u32,
    ) -> Result<VolumeRules, VolumeError> {
        let invalid = |reason: String| Err(VolumeError::InvalidRules(reason));
        let max_um = to_um(max_thickness_mm, MAX_VOLUME_MM);
        let Some(max_um) = max_um else {
            return invalid(format!(
                "每卷最大厚度应大于0且不超过100毫米（精确到0.001毫米），当前为{max_thickness_mm}毫米"
            ));
        };
        let Some(sheet_um) = to_um(sheet_thickness_mm, MAX_SHEET_MM) else {
            return invalid(format!(
                "单页纸张厚度应大于0且不超过2毫米（精确到0.001毫米），当前为{sheet_thickness_mm}毫米"
            ));
        };
        if !(1..=2).contains(&pages_per_sheet) {
            return invalid(format!(
                "每张纸的页数应为1（单面）或2（双面），当前为{pages_per_sheet}"
            ));
        }
        if sheet_um > max_um {
            return invalid(format!(
                "每卷最大厚度{max_thickness_mm}毫米小于单页纸张厚度{sheet_thickness_mm}毫米，一卷连一张纸都装不下"
            ));
        }
        Ok(VolumeRules {
            max_um,
            sheet_um,
            pages_per_sheet,
        })
    }

    /// The largest thickness of one volume, in millimetres (as rounded to 0.001 mm).
    pub fn max_thickness_mm(&self) -> f64 {
        um_to_mm(self.max_um)
    }

    /// The thickness of one sheet, in millimetres (as rounded to 0.001 mm).
    pub fn sheet_thickness_mm(&self) -> f64 {
        um_to_mm(self.sheet_um)
    }

    /// Pages printed on one sheet: 1 (single-sided) or 2 (double-sided).
    pub fn pages_per_sheet(&self) -> u32 {
        self.pages_per_sheet
    }

    /// The thickness of one item of `pages` pages, in millimetres:
    /// `ceil(pages / pages_per_sheet) × sheet_thickness_mm`.
    pub fn thickness_mm(&self, pages: u32) -> f64 {
        um_to_mm(self.thickness_um(pages))
    }

    /// The thickness of one item of `pages` pages, in micrometres.
    fn thickness_um(&self, pages: u32) -> u64 {
        u64::from(pages.div_ceil(self.pages_per_sheet)) * self.sheet_um
    }
}

impl Default for VolumeRules {
    /// 2 cm volumes of single-sided 0.1 mm sheets.
    fn default() -> Self {
        VolumeRules {
            max_um: 20_000,
            sheet_um: 100,
            pages_per_sheet: 1,
        }
    }
}

/// Converts a thickness in millimetres in (0, `upper`] to whole micrometres, or `None` if it is
/// out of range, not finite, or rounds to zero.
fn to_um(mm: f64, upper: f64) -> Option<u64> {
    if !(mm > 0.0 && mm <= upper) {
        return None;
    }
    // In range, so the product is at most 100 000 and the cast is exact.
    let um = (mm * UM_PER_MM).round() as u64;
    (um > 0).then_some(um)
}

/// Converts whole micrometres back to millimetres.
fn um_to_mm(um: u64) -> f64 {
    // Every value that reaches here is below 2^53, so the conversion is exact.
    um as f64 / UM_PER_MM
}

/// One archived material item, with what 组卷 needs to know about it and its person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeItem {
    /// The material item's row id.
    pub item_id: i64,
    /// 年度 — the year of the business the item belongs to.
    pub year: i32,
    /// 业务类别 — the class of that business.
    pub class: BusinessClass,
    /// 行政区划代码 — the insured person's six-digit division code.
    pub division_code: String,
    /// The insured person's identity number, used for ordering only.
    pub id_number: String,
    /// 形成日期 — when the material was formed.
    pub formation_date: NaiveDate,
    /// 材料名称 — the name of the material.
    pub name: String,
    /// 页数 — the number of pages (at least 1).
    pub pages: u32,
    /// 备注 — remarks, e.g. a 补件 note.
    pub remarks: Option<String>,
}

impl VolumeItem {
    /// The total order of S5.1: year, class, division code, identity number, formation date,
    /// item id. The remaining fields only break ties between items that share an id (which the
    /// caller should never pass), so that even then the plan does not depend on input order.
    fn plan_order(&self, other: &VolumeItem) -> Ordering {
        (
            self.year,
            self.class,
            &self.division_code,
            &self.id_number,
            self.formation_date,
            self.item_id,
        )
            .cmp(&(
                other.year,
                other.class,
                &other.division_code,
                &other.id_number,
                other.formation_date,
                other.item_id,
            ))
            .then_with(|| {
                (&self.name, self.pages, &self.remarks).cmp(&(
                    &other.name,
                    other.pages,
                    &other.remarks,
                ))
            })
    }
}

/// One planned volume (案卷): consecutive items of one year and class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedVolume {
    /// 年度 of every item in the volume.
    pub year: i32,
    /// 业务类别 of every item in the volume.
    pub class: BusinessClass,
    /// The items, in volume order.
    pub items: Vec<VolumeItem>,
    /// The total number of pages.
    pub pages: u32,
    /// The total thickness in millimetres; never more than the rules' limit.
    pub thickness_mm: f64,
}

/// One row of a volume's 卷内目录 (contents list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentsRow {
    /// 序号 — the position of the item in the volume, from 1.
    pub seq: u32,
    /// 材料名称
    pub name: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: u32,
    /// 页号 of the item's first page; pages run from 1 through the volume.
    pub start_page: u32,
    /// 页号 of the item's last page.
    pub end_page: u32,
    /// 备注
    pub remarks: Option<String>,
    /// The material item's row id.
    pub item_id: i64,
}

crate::code_enum! {
    /// 案卷状态 — a draft volume is rebuilt and annotated freely; a sealed one (封卷) has its
    /// archive number and never changes.
    pub enum VolumeState: "案卷状态" {
        /// 草稿
        Draft = ("draft", "草稿"),
        /// 已封卷
        Sealed = ("sealed", "已封卷"),
    }
}

/// Why a set of items cannot be planned into volumes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeError {
    /// The volume rules are out of range; the text says which value, in Chinese.
    #[error("组卷规则无效：{0}")]
    InvalidRules(String),
    /// One item alone is thicker than a volume may be.
    #[error(
        "材料（编号{item_id}）厚{thickness_mm}毫米，超过每卷{max_mm}毫米的上限，无法装入一卷；请将该材料拆分为若干部分分别登记后再组卷"
    )]
    ItemTooThick {
        /// The material item's row id.
        item_id: i64,
        /// Its thickness in millimetres.
        thickness_mm: f64,
        /// The volume limit in millimetres.
        max_mm: f64,
    },
    /// An item has no pages.
    #[error("材料（编号{item_id}）页数为0，请填写实际页数后再组卷")]
    ZeroPages {
        /// The material item's row id.
        item_id: i64,
    },
}

impl Rejection for VolumeError {
    fn code(&self) -> &'static str {
        match self {
            VolumeError::InvalidRules(_) => "invalid_volume_rules",
            VolumeError::ItemTooThick { .. } => "item_too_thick",
            VolumeError::ZeroPages { .. } => "zero_pages",
        }
    }
}

/// Plans the volumes of `items` under `rules` (S5.1, S5.2).
///
/// Volumes come ordered by year, then class (in [`BusinessClass::ALL`] order), then their
/// sequence within the group; the items inside each volume in the order described in the module
/// documentation. Each group is cut greedily: an item goes into the current volume unless that
/// would make it thicker than the limit, in which case it starts the next one. The result does
/// not depend on the order of `items`.
///
/// Fails on the first offending item in that order: [`VolumeError::ZeroPages`] for an item
/// without pages, [`VolumeError::ItemTooThick`] for an item thicker than a whole volume.
pub fn plan_volumes(
    mut items: Vec<VolumeItem>,
    rules: &VolumeRules,
) -> Result<Vec<PlannedVolume>, VolumeError> {
    items.sort_by(VolumeItem::plan_order);

    let mut volumes = Vec::new();
    let mut current: Option<(PlannedVolume, u64)> = None;
    for item in items {
        if item.pages == 0 {
            return Err(VolumeError::ZeroPages {
                item_id: item.item_id,
            });
        }
        let thickness = rules.thickness_um(item.pages);
        if thickness > rules.max_um {
            return Err(VolumeError::ItemTooThick {
                item_id: item.item_id,
                thickness_mm: um_to_mm(thickness),
                max_mm: rules.max_thickness_mm(),
            });
        }
        let fits = current.as_ref().is_some_and(|(volume, um)| {
            volume.year == item.year && volume.class == item.class && um + thickness <= rules.max_um
        });
        if !fits {
            volumes.extend(current.take().map(|(volume, _)| volume));
        }
        let (volume, um) = current.get_or_insert_with(|| {
            (
                PlannedVolume {
                    year: item.year,
                    class: item.class,
                    items: Vec::new(),
                    pages: 0,
                    thickness_mm: 0.0,
                },
                0,
            )
        });
        *um += thickness;
        // A volume holds at most 100 000 sheets of at most 2 pages, so this cannot overflow.
        volume.pages += item.pages;
        volume.thickness_mm = um_to_mm(*um);
        volume.items.push(item);
    }
    volumes.extend(current.map(|(volume, _)| volume));
    Ok(volumes)
}

/// The 卷内目录 of a planned volume: one row per item, in volume order, with 序号 from 1 and
/// page numbers (页号) running from 1 through the volume without gaps.
///
/// The person's identity number is deliberately not included; the caller adds what it needs.
pub fn contents(volume: &PlannedVolume) -> Vec<ContentsRow> {
    let mut next_page: u32 = 1;
    volume
        .items
        .iter()
        .zip(1u32..)
        .map(|(item, seq)| {
            let start_page = next_page;
            next_page = next_page.saturating_add(item.pages);
            ContentsRow {
                seq,
                name: item.name.clone(),
                formation_date: item.formation_date,
                pages: item.pages,
                start_page,
                // A zero-page item (only in a hand-built volume) gets the empty range n..n-1.
                end_page: next_page - 1,
                remarks: item.remarks.clone(),
                item_id: item.item_id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_volume_state_is_draft_or_sealed_and_nothing_else_is_read_back() {
        assert_eq!(
            VolumeState::try_from("draft".to_owned()),
            Ok(VolumeState::Draft)
        );
        assert_eq!(
            VolumeState::try_from("sealed".to_owned()),
            Ok(VolumeState::Sealed)
        );
        let e = VolumeState::try_from("Sealed".to_owned()).unwrap_err();
        assert!(e.to_string().contains("案卷状态"), "{e}");
        assert_eq!(VolumeState::Sealed.label(), "已封卷");
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn item(item_id: i64, year: i32, class: BusinessClass, pages: u32) -> VolumeItem {
        VolumeItem {
            item_id,
            year,
            class,
            division_code: "110105".to_owned(),
            id_number: "11010519491231002X".to_owned(),
            formation_date: d(year, 3, 1),
            name: format!("材料{item_id}"),
            pages,
            remarks: None,
        }
    }

    fn ids(volume: &PlannedVolume) -> Vec<i64> {
        volume.items.iter().map(|i| i.item_id).collect()
    }

    #[test]
    fn the_default_rules_are_two_centimetre_volumes_of_single_sided_tenth_millimetre_sheets() {
        let rules = VolumeRules::default();
        assert_eq!(rules.max_thickness_mm(), 20.0);
        assert_eq!(rules.sheet_thickness_mm(), 0.1);
        assert_eq!(rules.pages_per_sheet(), 1);
        assert_eq!(VolumeRules::new(20.0, 0.1, 1), Ok(rules));
    }

    #[test]
    fn an_item_is_as_thick_as_the_sheets_its_pages_need() {
        let single = VolumeRules::default();
        assert_eq!(single.thickness_mm(3), 0.3);
        let double = VolumeRules::new(20.0, 0.1, 2).unwrap();
        assert_eq!(double.thickness_mm(3), 0.2);
        assert_eq!(double.thickness_mm(4), 0.2);
        assert_eq!(double.thickness_mm(1), 0.1);
    }

    #[test]
    fn a_group_of_250_one_page_items_is_cut_into_volumes_of_200_and_50_items() {
        let items = (1..=250)
            .map(|n| item(n, 2023, BusinessClass::Registration, 1))
            .collect();
        let volumes = plan_volumes(items, &VolumeRules::default()).unwrap();
        assert_eq!(volumes.len(), 2);
        assert_eq!(volumes[0].items.len(), 200);
        assert_eq!(volumes[0].pages, 200);
        assert_eq!(volumes[0].thickness_mm, 20.0);
        assert_eq!(volumes[1].items.len(), 50);
        assert_eq!(volumes[1].thickness_mm, 5.0);
        assert_eq!(ids(&volumes[0]), (1..=200).collect::<Vec<_>>());
        assert_eq!(ids(&volumes[1]), (201..=250).collect::<Vec<_>>());
    }

    #[test]
    fn thicknesses_that_do_not_add_up_in_binary_still_fill_a_volume_exactly() {
        // 0.07 summed ten times is 0.7000000000000002 in f64; in micrometres it is 700.
        let rules = VolumeRules::new(0.7, 0.07, 1).unwrap();
        let items = (1..=11)
            .map(|n| item(n, 2023, BusinessClass::Benefit, 1))
            .collect();
        let volumes = plan_volumes(items, &rules).unwrap();
        assert_eq!(volumes.len(), 2);
        assert_eq!(volumes[0].items.len(), 10);
        assert_eq!(volumes[0].thickness_mm, 0.7);
        assert_eq!(volumes[1].items.len(), 1);
    }

    #[test]
    fn an_item_exactly_as_thick_as_the_limit_fills_a_volume_on_its_own() {
        let items = vec![
            item(1, 2023, BusinessClass::Benefit, 1),
            item(2, 2023, BusinessClass::Benefit, 200),
            item(3, 2023, BusinessClass::Benefit, 1),
        ];
        let volumes = plan_volumes(items, &VolumeRules::default()).unwrap();
        let cut: Vec<_> = volumes.iter().map(ids).collect();
        assert_eq!(cut, vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn no_items_plan_no_volumes() {
        assert_eq!(
            plan_volumes(Vec::new(), &VolumeRules::default()),
            Ok(vec![])
        );
    }

    #[test]
    fn items_of_different_years_or_classes_never_share_a_volume() {
        let items = vec![
            item(1, 2024, BusinessClass::Registration, 1),
            item(2, 2023, BusinessClass::Transfer, 1),
            item(3, 2023, BusinessClass::Registration, 1),
            item(4, 2023, BusinessClass::Contribution, 1),
            item(5, 2023, BusinessClass::Registration, 1),
            item(6, 2023, BusinessClass::Benefit, 1),
        ];
        let volumes = plan_volumes(items, &VolumeRules::default()).unwrap();
        let groups: Vec<_> = volumes.iter().map(|v| (v.year, v.class, ids(v))).collect();
        assert_eq!(
            groups,
            vec![
                (2023, BusinessClass::Registration, vec![3, 5]),
                (2023, BusinessClass::Contribution, vec![4]),
                (2023, BusinessClass::Benefit, vec![6]),
                (2023, BusinessClass::Transfer, vec![2]),
                (2024, BusinessClass::Registration, vec![1]),
            ]
        );
    }

    #[test]
    fn within_a_volume_the_order_is_division_then_id_number_then_formation_date_then_id() {
        let at = |item_id, division: &str, id_number: &str, formed| VolumeItem {
            division_code: division.to_owned(),
            id_number: id_number.to_owned(),
            formation_date: formed,
            ..item(item_id, 2023, BusinessClass::Contribution, 2)
        };
        let items = vec![
            at(1, "110106", "110106195001010011", d(2023, 1, 5)),
            at(2, "110105", "110105196001010012", d(2023, 2, 1)),
            at(3, "110105", "110105195001010013", d(2023, 6, 1)),
            at(4, "110105", "110105195001010013", d(2023, 1, 9)),
            at(5, "110105", "11010519500101001X", d(2023, 1, 1)),
            at(7, "110105", "110105196001010012", d(2023, 2, 1)),
            at(6, "110105", "110105196001010012", d(2023, 2, 1)),
        ];
        let volumes = plan_volumes(items, &VolumeRules::default()).unwrap();
        assert_eq!(volumes.len(), 1);
        assert_eq!(ids(&volumes[0]), vec![4, 3, 5, 2, 6, 7, 1]);
    }

    #[test]
    fn contents_rows_number_items_from_one_and_pages_run_through_the_volume() {
        let mut a = item(10, 2023, BusinessClass::Registration, 3);
        a.formation_date = d(2023, 1, 1);
        let mut b = item(11, 2023, BusinessClass::Registration, 1);
        b.formation_date = d(2023, 2, 1);
        b.remarks = Some("补件：2023-05-06补交".to_owned());
        let mut c = item(12, 2023, BusinessClass::Registration, 4);
        c.formation_date = d(2023, 3, 1);
        let volumes = plan_volumes(vec![c, b, a], &VolumeRules::default()).unwrap();
        let rows = contents(&volumes[0]);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| (r.seq, r.item_id, r.pages, r.start_page, r.end_page))
            .collect();
        assert_eq!(
            summary,
            vec![(1, 10, 3, 1, 3), (2, 11, 1, 4, 4), (3, 12, 4, 5, 8)]
        );
        assert_eq!(rows[1].name, "材料11");
        assert_eq!(rows[1].formation_date, d(2023, 2, 1));
        assert_eq!(rows[1].remarks.as_deref(), Some("补件：2023-05-06补交"));
        assert_eq!(volumes[0].pages, 8);
    }

    #[test]
    fn an_item_thicker_than_the_limit_is_refused_with_its_id() {
        let items = vec![
            item(1, 2023, BusinessClass::Benefit, 10),
            item(42, 2023, BusinessClass::Benefit, 201),
        ];
        let err = plan_volumes(items, &VolumeRules::default()).unwrap_err();
        assert_eq!(
            err,
            VolumeError::ItemTooThick {
                item_id: 42,
                thickness_mm: 20.1,
                max_mm: 20.0
            }
        );
        assert_eq!(err.code(), "item_too_thick");
        let message = err.to_string();
        assert!(message.contains("42"), "{message}");
        assert!(message.contains("20.1毫米"), "{message}");
        assert!(message.contains("拆分"), "{message}");
    }

    #[test]
    fn a_double_sided_item_of_400_pages_fits_a_two_centimetre_volume() {
        let rules = VolumeRules::new(20.0, 0.1, 2).unwrap();
        let items = vec![item(1, 2023, BusinessClass::Benefit, 400)];
        let volumes = plan_volumes(items, &rules).unwrap();
        assert_eq!(volumes[0].thickness_mm, 20.0);
        assert_eq!(volumes[0].pages, 400);
    }

    #[test]
    fn a_zero_page_item_is_refused() {
        let items = vec![
            item(1, 2023, BusinessClass::Benefit, 10),
            item(7, 2023, BusinessClass::Benefit, 0),
        ];
        let err = plan_volumes(items, &VolumeRules::default()).unwrap_err();
        assert_eq!(err, VolumeError::ZeroPages { item_id: 7 });
        assert_eq!(err.code(), "zero_pages");
        assert!(err.to_string().contains("页数为0"));
    }

    #[test]
    fn invalid_rules_are_refused() {
        for (max, sheet, pages_per_sheet) in [
            (0.0, 0.1, 1),
            (-20.0, 0.1, 1),
            (100.5, 0.1, 1),
            (f64::NAN, 0.1, 1),
            (f64::INFINITY, 0.1, 1),
            (0.0001, 0.0001, 1),
            (20.0, 0.0, 1),
            (20.0, 2.5, 1),
            (20.0, f64::NAN, 1),
            (20.0, 0.0004, 1),
            (20.0, 0.1, 0),
            (20.0, 0.1, 3),
            (1.0, 1.5, 1),
        ] {
            let err = VolumeRules::new(max, sheet, pages_per_sheet).unwrap_err();
            assert_eq!(
                err.code(),
                "invalid_volume_rules",
                "{max} {sheet} {pages_per_sheet}"
            );
            assert!(err.to_string().starts_with("组卷规则无效："), "{err}");
        }
    }

    #[test]
    fn the_bounds_of_the_rules_are_allowed() {
        assert!(VolumeRules::new(100.0, 2.0, 2).is_ok());
        assert!(VolumeRules::new(0.001, 0.001, 1).is_ok());
        assert!(VolumeRules::new(2.0, 2.0, 1).is_ok());
    }

    const CLASSES: [BusinessClass; 4] = BusinessClass::ALL;

    /// Items drawn from small pools, so that groups, persons and dates often coincide.
    fn arb_item(item_id: impl Strategy<Value = i64>) -> impl Strategy<Value = VolumeItem> {
        (
            item_id,
            2021i32..=2023,
            0usize..4,
            prop::sample::select(vec!["110105", "110106", "130102"]),
            prop::sample::select(vec![
                "110105195001010011",
                "11010519500101001X",
                "130102196512120027",
            ]),
            0i64..20,
            1u32..=120,
            prop::option::of("[a-z]{0,3}"),
        )
            .prop_map(
                |(item_id, year, class, division, id_number, day, pages, remarks)| VolumeItem {
                    item_id,
                    year,
                    class: CLASSES[class],
                    division_code: division.to_owned(),
                    id_number: id_number.to_owned(),
                    formation_date: d(year, 1, 1) + chrono::Duration::days(day),
                    name: format!("材料{pages}"),
                    pages,
                    remarks,
                },
            )
    }

    /// Items with distinct ids 0..n.
    fn arb_items(max: usize) -> impl Strategy<Value = Vec<VolumeItem>> {
        prop::collection::vec(arb_item(Just(0)), 0..max).prop_map(|mut items| {
            for (n, item) in items.iter_mut().enumerate() {
                item.item_id = n as i64;
            }
            items
        })
    }

    fn arb_rules() -> impl Strategy<Value = VolumeRules> {
        (
            2u32..=1000,
            prop::sample::select(vec![0.05, 0.07, 0.1, 0.12, 0.2]),
            1u32..=2,
        )
            .prop_map(|(max_tenths, sheet, pages_per_sheet)| {
                VolumeRules::new(f64::from(max_tenths) / 10.0, sheet, pages_per_sheet).unwrap()
            })
    }

    fn um(mm: f64) -> i64 {
        (mm * 1000.0).round() as i64
    }

    proptest! {
        #[test]
        fn volumes_never_exceed_the_limit_for_random_items(
            items in arb_items(300), rules in arb_rules()
        ) {
            match plan_volumes(items.clone(), &rules) {
                Ok(volumes) => {
                    let limit = um(rules.max_thickness_mm());
                    for (n, volume) in volumes.iter().enumerate() {
                        let sum: i64 = volume.items.iter().map(|i| um(rules.thickness_mm(i.pages))).sum();
                        prop_assert_eq!(sum, um(volume.thickness_mm));
                        prop_assert!(sum <= limit, "{} > {}", sum, limit);
                        prop_assert!(volume.thickness_mm <= rules.max_thickness_mm());
                        prop_assert_eq!(volume.pages, volume.items.iter().map(|i| i.pages).sum::<u32>());
                        // Greedy: the next volume of the same group did not fit into this one.
                        if let Some(next) = volumes.get(n + 1)
                            && (next.year, next.class) == (volume.year, volume.class)
                        {
                            let first = um(rules.thickness_mm(next.items[0].pages));
                            prop_assert!(sum + first > limit);
                        }
                    }
                }
                Err(VolumeError::ItemTooThick { item_id, thickness_mm, max_mm }) => {
                    let culprit = items.iter().find(|i| i.item_id == item_id).unwrap();
                    prop_assert_eq!(thickness_mm, rules.thickness_mm(culprit.pages));
                    prop_assert!(um(thickness_mm) > um(max_mm));
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn every_item_appears_in_exactly_one_volume(items in arb_items(300)) {
            let volumes = plan_volumes(items.clone(), &VolumeRules::default()).unwrap();
            let mut seen: BTreeMap<i64, &VolumeItem> = BTreeMap::new();
            for volume in &volumes {
                for item in &volume.items {
                    prop_assert_eq!((item.year, item.class), (volume.year, volume.class));
                    prop_assert!(seen.insert(item.item_id, item).is_none(), "{} twice", item.item_id);
                }
            }
            prop_assert_eq!(seen.len(), items.len());
            for item in &items {
                prop_assert_eq!(seen.get(&item.item_id).copied(), Some(item));
            }
        }

        #[test]
        fn planning_is_deterministic_regardless_of_input_order(
            (items, shuffled) in prop::collection::vec(arb_item(0i64..30), 0..200)
                .prop_flat_map(|items| (Just(items.clone()), Just(items).prop_shuffle())),
            rules in arb_rules(),
        ) {
            prop_assert_eq!(plan_volumes(items, &rules), plan_volumes(shuffled, &rules));
        }

        #[test]
        fn volumes_and_their_items_follow_the_plan_order(items in arb_items(300)) {
            let volumes = plan_volumes(items, &VolumeRules::default()).unwrap();
            let flat: Vec<&VolumeItem> = volumes.iter().flat_map(|v| &v.items).collect();
            for pair in flat.windows(2) {
                prop_assert_eq!(pair[0].plan_order(pair[1]), Ordering::Less);
            }
        }

        #[test]
        fn contents_pages_run_from_one_to_the_total_without_gaps(items in arb_items(300)) {
            for volume in plan_volumes(items, &VolumeRules::default()).unwrap() {
                let rows = contents(&volume);
                prop_assert_eq!(rows.len(), volume.items.len());
                let mut expected = 1;
                for (n, (row, item)) in rows.iter().zip(&volume.items).enumerate() {
                    prop_assert_eq!(row.seq as usize, n + 1);
                    prop_assert_eq!(row.item_id, item.item_id);
                    prop_assert_eq!(row.start_page, expected);
                    prop_assert_eq!(row.end_page - row.start_page + 1, row.pages);
                    expected = row.end_page + 1;
                }
                prop_assert_eq!(expected - 1, volume.pages);
            }
        }
    }
}
