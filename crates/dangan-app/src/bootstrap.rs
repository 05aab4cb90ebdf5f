//! First start and every start: migrations, then the seed data an empty database needs. Seeding
//! never overwrites what an administrator changed: the catalogue is seeded only when no version
//! exists, and a builtin calendar year only when that year is not loaded.

use chrono::Utc;
use dangan_domain::calendar::WorkCalendar;
use dangan_domain::catalogue::default_entries;
use dangan_store::{Store, calendar, catalogue, users};

use crate::AppResult;
use crate::auth::{generate_password, hash_password};
use crate::calendar::day_rows;
use crate::catalogue::entry_row;
use crate::roles::Role;

/// What start-up did.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// Migration versions applied now.
    pub migrations_applied: Vec<i64>,
    /// The catalogue version seeded now, if any.
    pub catalogue_seeded: Option<i64>,
    /// Calendar years seeded now.
    pub calendar_years_seeded: Vec<i32>,
    /// The first administrator's generated password, when the account was created now.
    /// Printed once by `dangan serve`; never logged.
    pub admin_password: Option<String>,
}

/// The username of the administrator created on first start.
pub const FIRST_ADMIN: &str = "admin";

pub(crate) async fn run(store: &Store) -> AppResult<Bootstrap> {
    let report = store.migrate().await?;
    let mut out = Bootstrap {
        migrations_applied: report.applied,
        ..Bootstrap::default()
    };
    let now = Utc::now();

    let mut tx = store.begin_write().await?;
    if catalogue::current_version(&mut tx).await?.is_none() {
        let rows: Vec<_> = default_entries().iter().map(entry_row).collect();
        let v =
            catalogue::insert_version(&mut tx, &rows, "system", "内置默认归档范围", now).await?;
        out.catalogue_seeded = Some(v);
    }
    let loaded: Vec<i64> = calendar::years(&mut tx)
        .await?
        .iter()
        .map(|y| y.year)
        .collect();
    let builtin = WorkCalendar::builtin();
    for year in builtin.years() {
        if !loaded.contains(&i64::from(year)) {
            let days = day_rows(&builtin.special_days(year));
            calendar::replace_year(&mut tx, i64::from(year), &days, "builtin", "system", now)
                .await?;
            out.calendar_years_seeded.push(year);
        }
    }
    if users::count(&mut tx).await? == 0 {
        let password = generate_password()?;
        let hash = hash_password(password.clone()).await?;
        users::insert(
            &mut tx,
            FIRST_ADMIN,
            "系统管理员",
            Role::Admin.code(),
            &hash,
            true,
            now,
        )
        .await?;
        out.admin_password = Some(password);
    }
    tx.commit().await?;
    Ok(out)
}
