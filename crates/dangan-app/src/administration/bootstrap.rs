//! First start and every start: migrations, then the seed data an empty database needs. Seeding
//! never overwrites what an administrator changed: the catalogue is seeded only when no version
//! exists, and a builtin calendar year only when that year is not loaded.

use chrono::Utc;
use dangan_domain::audit::{ChainKey, EntryContent};
use dangan_domain::calendar::WorkCalendar;
use dangan_domain::catalogue::default_entries;
use dangan_store::audit;
use dangan_store::{Store, calendar, catalogue, users};

use crate::security::audit::stamp;

use crate::AppResult;
use crate::administration::accounts::{generate_password, hash_password};
use crate::administration::calendar::day_rows;
use crate::administration::catalogue::entry_row;
use crate::administration::roles::Role;

/// What start-up did.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// Migration versions applied now.
    pub migrations_applied: Vec<i64>,
    /// The catalogue version seeded now, if any.
    pub catalogue_seeded: Option<i64>,
    /// Calendar years seeded now.
    pub calendar_years_seeded: Vec<i32>,
    /// The accounts created now (first start): username, role and generated password.
    /// Printed once by `dangan serve`; never logged.
    pub initial_accounts: Vec<(String, Role, String)>,
}

impl Bootstrap {
    /// The generated password of an account created now.
    pub fn password_of(&self, username: &str) -> Option<&str> {
        self.initial_accounts
            .iter()
            .find(|(u, _, _)| u == username)
            .map(|(_, _, p)| p.as_str())
    }
}

/// The username of the administrator (系统管理员) created on first start.
pub const FIRST_ADMIN: &str = "admin";
/// The username of the security officer (安全保密员) created on first start.
pub const FIRST_SECURITY_OFFICER: &str = "secadmin";
/// The username of the auditor (安全审计员) created on first start.
pub const FIRST_AUDITOR: &str = "auditor";

pub(crate) async fn run(
    store: &Store,
    log_key: &ChainKey,
    migrations_applied: Vec<i64>,
) -> AppResult<Bootstrap> {
    let mut out = Bootstrap {
        migrations_applied,
        ..Bootstrap::default()
    };
    let now = Utc::now();

    let mut tx = store.begin_write().await?;
    dangan_store::wait_for_setup(&mut tx).await?;
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
        // 三员分立: the three officers exist from the first start, each with its own password.
        for (username, role) in [
            (FIRST_ADMIN, Role::Admin),
            (FIRST_SECURITY_OFFICER, Role::SecurityOfficer),
            (FIRST_AUDITOR, Role::Auditor),
        ] {
            let password = generate_password()?;
            let hash = hash_password(password.clone()).await?;
            let id = users::insert(
                &mut tx,
                username,
                role.label(),
                role.code(),
                &hash,
                true,
                now,
            )
            .await?;
            let entry = EntryContent {
                at: stamp(now),
                actor_kind: "system".to_owned(),
                actor_name: "system".to_owned(),
                role: Role::Admin.code().to_owned(),
                source: "start".to_owned(),
                action: "user.create".to_owned(),
                target_kind: "user".to_owned(),
                target_id: id.to_string(),
                detail: format!("{username} {}", role.code()),
                outcome: "ok".to_owned(),
                ..EntryContent::default()
            };
            audit::append(&mut tx, &[entry], log_key).await?;
            out.initial_accounts
                .push((username.to_owned(), role, password));
        }
    }
    tx.commit().await?;
    Ok(out)
}
