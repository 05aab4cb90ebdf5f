//! The steps that draw one demo person for [`super::demo::DemoPeople`]: the 公民身份号码 (identity
//! number), the name, the 参保身份 (insured identity) and tier, the enrolment date, and the
//! business events of the person's life. The order of the draws from the generator is part of
//! the output: the same seed must keep giving the same persons.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use dangan_domain::business::BusinessType;
use dangan_domain::catalogue::Catalogue;
use dangan_domain::id_number::{IdNumber, check_char};
use dangan_domain::person::InsuredIdentity;

use super::demo::{DemoEvent, DemoMaterial};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "欧阳",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "玉兰", "文", "华", "红",
    "春梅", "志强", "国庆", "淑珍", "德明", "海燕", "小红", "桂兰", "永福", "金凤", "长生",
];
const TIERS: &[i64] = &[
    100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1500, 2000,
];

fn date_in(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + chrono::Duration::days(rng.random_range(0..=span))
}

/// A drawn identity number with the county, age and birth date it encodes.
pub(super) struct DrawnNumber {
    pub(super) division_code: &'static str,
    pub(super) age: i32,
    pub(super) birth: NaiveDate,
    pub(super) id_number: IdNumber,
}

/// Draws a county, an age, a birth date and a sequence number, and makes the identity number of
/// them; `None` when that number was drawn before or does not parse (the caller draws again).
pub(super) fn draw_id_number(
    rng: &mut ChaCha8Rng,
    counties: &[&'static str],
    seen: &mut HashSet<String>,
    today: NaiveDate,
) -> Option<DrawnNumber> {
    let division_code = counties[rng.random_range(0..counties.len())];
    let age = rng.random_range(16..=92);
    let birth = date_in(
        rng,
        NaiveDate::from_ymd_opt(today.year() - age - 1, today.month(), 1).unwrap_or(today),
        NaiveDate::from_ymd_opt(today.year() - age, today.month(), 1).unwrap_or(today),
    );
    let seq = rng.random_range(0..1000u32);
    let body = format!("{division_code}{}{seq:03}", birth.format("%Y%m%d"));
    let mut id = body.clone();
    id.push(check_char(body.as_bytes()));
    if !seen.insert(id.clone()) {
        return None;
    }
    let id_number = IdNumber::parse(&id, today).ok()?;
    Some(DrawnNumber {
        division_code,
        age,
        birth,
        id_number,
    })
}

/// Draws a 姓名 (name): a common surname and a common given name.
pub(super) fn draw_name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// Draws the insured identity: ordinary for 88 persons in 100, one of the 特殊群体 (special
/// groups) for the others.
pub(super) fn draw_identity(rng: &mut ChaCha8Rng) -> InsuredIdentity {
    if rng.random_range(0..100) < 88 {
        InsuredIdentity::ORDINARY
    } else {
        let all: Vec<_> = InsuredIdentity::all()
            .filter(|i| i.is_special_group())
            .collect();
        all[rng.random_range(0..all.len())]
    }
}

/// Draws the 缴费档次 (contribution tier).
pub(super) fn draw_tier(rng: &mut ChaCha8Rng) -> i64 {
    TIERS[rng.random_range(0..TIERS.len())]
}

/// Draws the 参保 (enrolment) date: from the age of sixteen, not before 2014, until a month
/// before `today`.
pub(super) fn draw_enrolment(
    rng: &mut ChaCha8Rng,
    birth: NaiveDate,
    today: NaiveDate,
) -> NaiveDate {
    let enrol_from = (birth + chrono::Duration::days(16 * 366))
        .max(NaiveDate::from_ymd_opt(2014, 1, 1).unwrap_or(today));
    date_in(
        rng,
        enrol_from,
        enrol_from.max(today - chrono::Duration::days(30)),
    )
    .min(today)
}

/// The business events of one person's life, in the order they are drawn.
pub(super) struct History<'a> {
    catalogue: &'a Catalogue,
    seed: u64,
    /// The stream's event counter, for external ids unique per seed.
    event_serial: &'a mut u64,
    events: Vec<DemoEvent>,
}

impl<'a> History<'a> {
    /// An empty history.
    pub(super) fn new(catalogue: &'a Catalogue, seed: u64, event_serial: &'a mut u64) -> Self {
        History {
            catalogue,
            seed,
            event_serial,
            events: Vec::new(),
        }
    }

    /// Adds one event with the catalogue's required materials (one to four pages each); one
    /// event in ten lacks one of them, so that completeness shows.
    pub(super) fn push(
        &mut self,
        rng: &mut ChaCha8Rng,
        business_type: BusinessType,
        date: NaiveDate,
    ) {
        *self.event_serial += 1;
        let mut materials: Vec<DemoMaterial> = self
            .catalogue
            .entries_for(business_type)
            .filter(|e| e.required)
            .map(|e| DemoMaterial {
                code: e.material_code.as_str().to_owned(),
                name: e.name.clone(),
                pages: rng.random_range(1..=4),
                retention: e.retention,
                appraisal_due: e.retention.appraisal_due(date),
            })
            .collect();
        if materials.len() > 1 && rng.random_range(0..10) == 0 {
            materials.pop();
        }
        self.events.push(DemoEvent {
            business_type,
            date,
            external_id: format!("DEMO-{}-{:09}", self.seed, *self.event_serial),
            materials,
        });
    }

    /// 缴费 — a contribution in eight years of ten, from the year of enrolment until sixty.
    pub(super) fn contributions(
        &mut self,
        rng: &mut ChaCha8Rng,
        enrolled: NaiveDate,
        sixty: NaiveDate,
        today: NaiveDate,
    ) {
        let mut year = enrolled.year();
        while year < today.year() && NaiveDate::from_ymd_opt(year, 3, 1).unwrap_or(today) < sixty {
            if rng.random_range(0..10) < 8 {
                let d = NaiveDate::from_ymd_opt(
                    year,
                    rng.random_range(3..=11),
                    rng.random_range(1..=28),
                )
                .unwrap_or(today);
                self.push(rng, BusinessType::Contribution, d.max(enrolled));
            }
            year += 1;
        }
    }

    /// 待遇 — from sixty: the benefit claim, a 资格认证 (eligibility certification) each year
    /// after, and for one person in four past 85 a cancellation. The person's status after.
    pub(super) fn benefits(
        &mut self,
        rng: &mut ChaCha8Rng,
        claim: NaiveDate,
        age: i32,
        today: NaiveDate,
    ) -> &'static str {
        self.push(rng, BusinessType::BenefitClaim, claim);
        let mut y = claim.year() + 1;
        while y <= today.year() {
            let d = NaiveDate::from_ymd_opt(y, rng.random_range(1..=6), rng.random_range(1..=28))
                .unwrap_or(today);
            self.push(rng, BusinessType::EligibilityCertification, d);
            y += 1;
        }
        if age > 85 && rng.random_range(0..4) == 0 {
            let d = date_in(rng, claim, today);
            self.push(rng, BusinessType::Cancellation, d);
            return "terminated";
        }
        "active"
    }

    /// Before sixty: one person in fifty 转出 (transfers out). The person's status after.
    pub(super) fn maybe_transfer_out(
        &mut self,
        rng: &mut ChaCha8Rng,
        enrolled: NaiveDate,
        today: NaiveDate,
    ) -> &'static str {
        if rng.random_range(0..50) == 0 {
            let d = date_in(rng, enrolled, today);
            self.push(rng, BusinessType::TransferOut, d);
            return "terminated";
        }
        "active"
    }

    /// The events, oldest first.
    pub(super) fn into_events(mut self) -> Vec<DemoEvent> {
        self.events.sort_by_key(|e| e.date);
        self.events
    }
}
