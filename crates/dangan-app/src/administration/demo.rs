//! Synthetic demo data (`dangan demo-data`, `serve --demo`, the benchmarks): insured persons with
//! valid identity numbers from real division codes, plausible ages, tiers and special groups,
//! with their business events and materials over several years. Deterministic for a seed: the
//! same seed yields the same persons, events and materials.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use dangan_domain::business::BusinessType;
use dangan_domain::catalogue::Catalogue;
use dangan_domain::division;
use dangan_domain::material::Carrier;
use dangan_domain::person::PersonName;
use dangan_domain::retention::Retention;
use dangan_store::events::{self, NewEvent, NewMaterial};
use dangan_store::persons::{self, NewPerson};

use super::demo_person::{
    DrawnNumber, History, draw_enrolment, draw_id_number, draw_identity, draw_name, draw_tier,
};
use crate::administration::catalogue::current;
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// One generated person with its history.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    /// 公民身份号码
    pub id_number: String,
    /// 姓名
    pub name: String,
    /// `male` / `female`
    pub sex: &'static str,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// County of residence.
    pub division_code: &'static str,
    /// 参保状态 code.
    pub status: &'static str,
    /// 缴费档次
    pub tier: i64,
    /// 参保身份 code.
    pub identity: String,
    /// Business events, oldest first.
    pub events: Vec<DemoEvent>,
}

impl DemoPerson {
    /// The person as a store row to insert.
    pub fn as_new_person(&self) -> NewPerson<'_> {
        NewPerson {
            id_number: &self.id_number,
            name: &self.name,
            sex: self.sex,
            birth_date: self.birth_date,
            division_code: self.division_code,
            status: self.status,
            tier: Some(self.tier),
            identity: &self.identity,
        }
    }
}

/// One generated business event.
#[derive(Debug, Clone)]
pub struct DemoEvent {
    /// Business type.
    pub business_type: BusinessType,
    /// 办理日期
    pub date: NaiveDate,
    /// External id in the simulated business system (unique per seed).
    pub external_id: String,
    /// Materials: (code, name, pages, retention code, appraisal due).
    pub materials: Vec<DemoMaterial>,
}

/// One generated material.
#[derive(Debug, Clone)]
pub struct DemoMaterial {
    /// Material code.
    pub code: String,
    /// 材料名称
    pub name: String,
    /// 页数
    pub pages: i64,
    /// Retention code.
    pub retention: Retention,
    /// 鉴定到期日
    pub appraisal_due: Option<NaiveDate>,
}

/// The counties of one prefecture (湘潭市, 4303) as the demo agency's service area.
const DEMO_PREFIX: &str = "4303";

/// The reference date of generated histories, so that data does not depend on the run date.
fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or(NaiveDate::MIN)
}

fn counties() -> Vec<&'static str> {
    let list: Vec<&'static str> = division::all()
        .iter()
        .filter(|d| d.code.starts_with(DEMO_PREFIX) && d.level == division::DivisionLevel::County)
        .map(|d| d.code)
        .collect();
    if list.is_empty() {
        vec!["110105"]
    } else {
        list
    }
}

/// An endless, deterministic stream of demo persons: the same seed gives the same persons,
/// events and materials, in the same order.
#[derive(Debug)]
pub struct DemoPeople<'a> {
    rng: ChaCha8Rng,
    counties: Vec<&'static str>,
    today: NaiveDate,
    seen: HashSet<String>,
    event_serial: u64,
    seed: u64,
    catalogue: &'a Catalogue,
}

/// The stream of demo persons for `seed` against `catalogue` (materials are the catalogue's
/// required ones, with one in ten events missing one so that completeness shows).
pub fn people(seed: u64, catalogue: &Catalogue) -> DemoPeople<'_> {
    DemoPeople {
        rng: ChaCha8Rng::seed_from_u64(seed),
        counties: counties(),
        today: reference_date(),
        seen: HashSet::new(),
        event_serial: 0,
        seed,
        catalogue,
    }
}

/// The first `n` persons of [`people`].
pub fn generate(seed: u64, n: usize, catalogue: &Catalogue) -> Vec<DemoPerson> {
    people(seed, catalogue).take(n).collect()
}

impl Iterator for DemoPeople<'_> {
    type Item = DemoPerson;

    fn next(&mut self) -> Option<DemoPerson> {
        let drawn = loop {
            if let Some(drawn) =
                draw_id_number(&mut self.rng, &self.counties, &mut self.seen, self.today)
            {
                break drawn;
            }
        };
        let DrawnNumber {
            division_code,
            age,
            birth,
            id_number,
        } = drawn;
        let (rng, today) = (&mut self.rng, self.today);
        let name = draw_name(rng);
        debug_assert!(PersonName::parse(&name).is_ok());
        let identity = draw_identity(rng);
        let tier = draw_tier(rng);
        let enrolled = draw_enrolment(rng, birth, today);
        let mut history = History::new(self.catalogue, self.seed, &mut self.event_serial);
        history.push(rng, BusinessType::Enrolment, enrolled);
        if identity.is_special_group() {
            history.push(rng, BusinessType::SpecialGroup, enrolled);
        }
        let sixty = NaiveDate::from_ymd_opt(birth.year() + 60, birth.month(), 1).unwrap_or(today);
        history.contributions(rng, enrolled, sixty, today);
        let status = if sixty <= today {
            history.benefits(rng, sixty.max(enrolled), age, today)
        } else {
            history.maybe_transfer_out(rng, enrolled, today)
        };
        Some(DemoPerson {
            id_number: id_number.as_str().to_owned(),
            name,
            sex: if id_number.sex() == dangan_domain::id_number::Sex::Male {
                "male"
            } else {
                "female"
            },
            birth_date: birth,
            division_code,
            status,
            tier,
            identity: identity.code(),
            events: history.into_events(),
        })
    }
}

/// The source-system name of generated events.
pub const DEMO_SOURCE: &str = "demo";

/// Counts of what a demo load wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoReport {
    /// Persons written.
    pub persons: usize,
    /// Persons skipped because their identity number was already registered.
    pub skipped: usize,
    /// Events written.
    pub events: usize,
    /// Materials written.
    pub materials: usize,
}

/// Writes one person with its events and materials through the store.
pub async fn insert_person(
    tx: &mut dangan_store::Tx,
    p: &DemoPerson,
    catalogue_version: i64,
    by: &str,
) -> AppResult<(usize, usize)> {
    let now = Utc::now();
    let person_id = persons::insert(tx, &p.as_new_person(), now).await?;
    let mut materials = 0;
    for e in &p.events {
        let event_id = events::insert(
            tx,
            &NewEvent {
                person_id,
                business_type: e.business_type.code(),
                business_date: e.date,
                handler: "演示数据",
                source_system: DEMO_SOURCE,
                external_id: Some(&e.external_id),
                catalogue_version,
                remarks: None,
                created_by: by,
            },
            now,
        )
        .await?;
        for m in &e.materials {
            events::insert_material(
                tx,
                event_id,
                &NewMaterial {
                    material_code: &m.code,
                    name: &m.name,
                    formation_date: e.date,
                    pages: m.pages,
                    carrier: Carrier::Paper,
                    retention: m.retention,
                    appraisal_due: m.appraisal_due,
                    remarks: None,
                },
                now,
            )
            .await?;
            materials += 1;
        }
    }
    Ok((p.events.len(), materials))
}

/// The demo person's contributions (each year from enrolment until the year before turning 60,
/// up to 2025) and, from 60, benefit payments for 2025, as the business system would sync them.
pub async fn insert_ledger(tx: &mut dangan_store::Tx, p: &DemoPerson) -> AppResult<()> {
    use chrono::Datelike;
    use dangan_store::ledger::{self, BenefitPayment, Contribution};
    let now = Utc::now();
    let Some(row) = persons::find_by_id_number(tx, &p.id_number).await? else {
        return Ok(());
    };
    let Some(first) = p.events.first() else {
        return Ok(());
    };
    let sixty = p.birth_date.year() + 60;
    for year in first.date.year()..=2025.min(sixty - 1) {
        let paid_on = NaiveDate::from_ymd_opt(year, 6, 15).unwrap_or(first.date);
        ledger::upsert_contribution(
            tx,
            &Contribution {
                person_id: row.id,
                source_system: DEMO_SOURCE.to_owned(),
                source_id: format!("C{}-{year}", row.id),
                year,
                tier: p.tier,
                personal_fen: p.tier * 100,
                subsidy_fen: (30 + p.tier / 20) * 100,
                collective_fen: 0,
                paid_on,
                channel: "银行代扣".to_owned(),
            },
            now,
        )
        .await?;
    }
    if sixty <= 2025 {
        for month in 1..=12 {
            ledger::upsert_benefit(
                tx,
                &BenefitPayment {
                    person_id: row.id,
                    source_system: DEMO_SOURCE.to_owned(),
                    source_id: format!("B{}-2025-{month:02}", row.id),
                    month: format!("2025-{month:02}"),
                    amount_fen: (180 + p.tier / 10) * 100,
                    status: "paid".to_owned(),
                },
                now,
            )
            .await?;
        }
    }
    Ok(())
}

impl App {
    /// Generates and stores `n` demo persons for `seed`, in batches of 500 per transaction,
    /// calling `progress(done)` after each batch. Persons already registered are skipped, so
    /// running the same seed again adds nothing.
    pub async fn load_demo(
        &self,
        actor: &Actor,
        seed: u64,
        n: usize,
        progress: impl Fn(usize),
    ) -> AppResult<DemoReport> {
        self.authorize(actor, UseCase::WritePersons).await?;
        self.authorize(actor, UseCase::WriteEvents).await?;
        if n > 5_000_000 {
            return Err(AppError::invalid_with(
                "too_many_persons",
                Some("persons"),
                "演示数据最多生成500万人",
            ));
        }
        let mut tx = self.store.begin().await?;
        let (version, catalogue) = current(&mut tx).await?;
        tx.rollback().await?;
        let people = generate(seed, n, &catalogue);
        let mut report = DemoReport::default();
        for batch in people.chunks(500) {
            let mut tx = self.store.begin_write().await?;
            for p in batch {
                if persons::find_by_id_number(&mut tx, &p.id_number)
                    .await?
                    .is_some()
                {
                    report.skipped += 1;
                    continue;
                }
                let (e, m) = insert_person(&mut tx, p, version, &actor.username).await?;
                insert_ledger(&mut tx, p).await?;
                report.persons += 1;
                report.events += e;
                report.materials += m;
            }
            tx.commit().await?;
            progress(report.persons + report.skipped);
        }
        let op = Op::new("demo.load", "person", "").detail(format!(
            "seed {seed}: {} persons, {} events, {} materials",
            report.persons, report.events, report.materials
        ));
        self.log(actor, &op, Outcome::Ok).await?;
        Ok(report)
    }
}

/// A one-page PDF standing in for a scan in the demo: the material, the masked identity number
/// and the date, in Helvetica (ASCII only, so no font needs embedding).
pub fn demo_scan_pdf(lines: &[String]) -> Vec<u8> {
    let mut text =
        String::from("BT /F1 16 Tf 72 770 Td (Dangan demo scan - not a real document) Tj");
    for l in lines {
        let safe: String = l
            .chars()
            .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
            .collect();
        text.push_str(&format!(" 0 -26 Td ({safe}) Tj"));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

impl App {
    /// Gives the materials of the demo persons of `seed` (the first `n`) a generated scan each,
    /// so that a first look can open one. Materials that already have a file are skipped.
    /// Returns how many scans were stored.
    pub async fn load_demo_scans(&self, actor: &Actor, seed: u64, n: usize) -> AppResult<usize> {
        self.authorize(actor, UseCase::IngestScans).await?;
        let mut tx = self.store.begin().await?;
        let (_, catalogue) = current(&mut tx).await?;
        tx.rollback().await?;
        let mut stored = 0;
        for p in generate(seed, n, &catalogue) {
            let mut tx = self.store.begin().await?;
            let Some(row) = persons::find_by_id_number(&mut tx, &p.id_number).await? else {
                tx.rollback().await?;
                continue;
            };
            let events = dangan_store::events::list_for_person(&mut tx, row.id).await?;
            let mut todo = Vec::new();
            for e in events {
                for m in dangan_store::events::materials(&mut tx, e.id).await? {
                    if dangan_store::files::for_material(&mut tx, m.id)
                        .await?
                        .is_empty()
                    {
                        todo.push((e.business_date, e.business_type, m));
                    }
                }
            }
            tx.rollback().await?;
            for (date, business, m) in todo {
                let pdf = demo_scan_pdf(&[
                    format!("material: {}", m.material_code),
                    format!("business: {business} {date}"),
                    format!("insured: {}", dangan_domain::id_number::mask(&p.id_number)),
                    format!("pages: {}", m.pages),
                ]);
                let name = format!("{}-{}.pdf", date.format("%Y"), m.material_code);
                self.ingest_file(actor, m.id, Some(&name), &pdf[..]).await?;
                stored += 1;
            }
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dangan_domain::id_number::IdNumber;

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let cat = Catalogue::builtin();
        let a = generate(7, 50, &cat);
        let b = generate(7, 50, &cat);
        let ids = |v: &[DemoPerson]| v.iter().map(|p| p.id_number.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&generate(8, 50, &cat)));
    }

    #[test]
    fn generated_people_have_valid_numbers_names_and_an_enrolment() {
        let cat = Catalogue::builtin();
        for p in generate(1, 200, &cat) {
            assert!(IdNumber::parse(&p.id_number, reference_date()).is_ok());
            assert!(PersonName::parse(&p.name).is_ok());
            assert!(division::DivisionCode::parse(p.division_code).is_ok());
            assert_eq!(p.events[0].business_type, BusinessType::Enrolment);
            let age = IdNumber::parse(&p.id_number, reference_date())
                .unwrap()
                .age_at(reference_date());
            assert!((16..=93).contains(&age), "{age}");
        }
    }
}
