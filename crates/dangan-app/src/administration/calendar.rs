//! Use-cases of the working-day calendar (工作日历): deadline arithmetic over the loaded years,
//! and loading a year from the State Council's notice (as a TSV file an administrator edits).

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::calendar::{SpecialDay, WorkCalendar};
use dangan_domain::code::Code;
use dangan_domain::workflow::TaskKind;
use dangan_store::{Store, Tx, calendar};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

pub(crate) fn day_rows(days: &[SpecialDay]) -> Vec<calendar::DayRow> {
    days.iter()
        .map(|d| calendar::DayRow {
            day: d.date,
            kind: d.kind,
            name: d.name.clone(),
        })
        .collect()
}

/// Reads every loaded year from the store into a calendar.
pub(crate) async fn load_from_store(store: &Store) -> AppResult<WorkCalendar> {
    let mut tx = store.begin().await?;
    let cal = calendar_in(&mut tx).await?;
    tx.rollback().await?;
    Ok(cal)
}

/// Gives every open task without a due date (its due year's calendar was missing) its date,
/// by the calendar as it stands in `tx`; tasks whose due year is still missing stay undated.
/// Batched: one UPDATE per kind and opening date. Returns how many tasks got a date.
async fn date_undated_tasks(app: &App, tx: &mut Tx) -> AppResult<u64> {
    let cal = calendar_in(tx).await?;
    let mut dated = 0;
    for kind in TaskKind::ALL {
        let days = app.deadline_days(*kind);
        for opened in calendar::undated_task_openings(tx, kind.code()).await? {
            if let Ok(due) = cal.add_working_days(opened, days) {
                dated += calendar::date_undated_tasks(tx, kind.code(), opened, due).await?;
            }
        }
    }
    Ok(dated)
}

/// The calendar of every year loaded as seen in `tx`.
async fn calendar_in(tx: &mut Tx) -> AppResult<WorkCalendar> {
    let years = calendar::years(tx).await?;
    let days = calendar::all_days(tx).await?;
    let years = years
        .iter()
        .map(|y| {
            i32::try_from(y.year)
                .map_err(|_| AppError::Internal(format!("calendar year {}", y.year)))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let days = days
        .into_iter()
        .map(|d| {
            Ok(SpecialDay {
                date: d.day,
                kind: d.kind,
                name: d.name,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    WorkCalendar::new(years, days).map_err(|e| AppError::Internal(e.to_string()))
}

/// A loaded calendar year as listed to users.
#[derive(Debug, Clone, Serialize)]
pub struct YearView {
    /// The year.
    pub year: i64,
    /// Where it came from.
    pub source: String,
    /// When it was loaded.
    pub loaded_at: chrono::DateTime<Utc>,
    /// By whom.
    pub loaded_by: String,
    /// Its special days.
    pub days: Vec<SpecialDay>,
}

impl App {
    /// The calendar in force (a cheap clone of a shared pointer).
    pub fn work_calendar(&self) -> Arc<WorkCalendar> {
        match self.calendar.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The date `days` working days after `from` (S2: deadlines count working days). A date in a
    /// year whose calendar is not loaded is an error, never a guess.
    pub async fn add_working_days(
        &self,
        actor: &Actor,
        from: NaiveDate,
        days: u32,
    ) -> AppResult<NaiveDate> {
        self.authorize(actor, UseCase::ReadReference).await?;
        if days > 3660 {
            return Err(AppError::invalid_with(
                "invalid_days",
                Some("days"),
                "工作日天数应为0至3660之间的整数",
            ));
        }
        self.work_calendar()
            .add_working_days(from, days)
            .map_err(|e| AppError::invalid("from", &e))
    }

    /// The loaded years with their special days.
    pub async fn calendar_years(&self, actor: &Actor) -> AppResult<Vec<YearView>> {
        self.authorize(actor, UseCase::ReadReference).await?;
        let mut tx = self.store.begin().await?;
        let years = calendar::years(&mut tx).await?;
        tx.rollback().await?;
        let cal = self.work_calendar();
        Ok(years
            .into_iter()
            .map(|y| YearView {
                days: i32::try_from(y.year)
                    .map(|yr| cal.special_days(yr))
                    .unwrap_or_default(),
                year: y.year,
                source: y.source,
                loaded_at: y.loaded_at,
                loaded_by: y.loaded_by,
            })
            .collect())
    }

    /// Loads (or replaces) the years in a calendar TSV file (`date<TAB>holiday|workday<TAB>name`,
    /// with a `# years: …` line). Returns the years loaded. Nothing is written if any line is
    /// wrong.
    pub async fn load_calendar(
        &self,
        actor: &Actor,
        tsv: &str,
        source: &str,
    ) -> AppResult<Vec<i32>> {
        self.authorize(actor, UseCase::EditCalendar).await?;
        let (years, days) =
            dangan_domain::calendar::parse_tsv(tsv).map_err(|e| AppError::invalid("file", &e))?;
        // Validate the whole file as a calendar before touching the database.
        let parsed =
            WorkCalendar::new(years.clone(), days).map_err(|e| AppError::invalid("file", &e))?;
        let source = source.trim();
        let source = if source.is_empty() { "manual" } else { source };
        let now = Utc::now();
        let mut tx = self.store.begin_write().await?;
        for &year in &years {
            let rows = day_rows(&parsed.special_days(year));
            calendar::replace_year(
                &mut tx,
                i64::from(year),
                &rows,
                source,
                &actor.username,
                now,
            )
            .await?;
        }
        let dated = date_undated_tasks(self, &mut tx).await?;
        let years_text = years
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let op = Op::new("calendar.load", "calendar", years_text)
            .detail(format!("{source}; {dated} open tasks dated"));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        let fresh = load_from_store(&self.store).await?;
        match self.calendar.write() {
            Ok(mut guard) => *guard = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(years)
    }
}
