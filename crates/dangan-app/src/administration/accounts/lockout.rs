//! Lock-out: an account locks after [`FREE_ATTEMPTS`] failed sign-ins, with a lock that doubles
//! with each further failure; a client address that fails too often is paused; only so many
//! sign-ins wait for the password check at once.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::throttle::{retry_minutes, retry_secs};
use crate::administration::roles::Role;
use crate::security::audit::{Op, Outcome, anonymous};
use crate::{App, AppError, AppResult};

/// Failed sign-ins allowed before the account locks.
pub const FREE_ATTEMPTS: i64 = 5;
/// The first lock lasts this long; each further failure doubles it, up to [`MAX_LOCK_SECS`].
const FIRST_LOCK_SECS: i64 = 60;
/// The longest lock of an account.
pub(super) const MAX_LOCK_SECS: i64 = 15 * 60;
/// The longest lock of the three officers' accounts (系统管理员, 安全保密员, 安全审计员):
/// anyone may type their names, and a long lock would keep them from their work.
const MAX_OFFICER_LOCK_SECS: i64 = 5 * 60;

/// What the database said about a sign-in attempt before the password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    /// The account exists and is not locked; the attempt is counted.
    Reserved,
    /// The account is locked: the password is not checked.
    Locked,
    /// No such account.
    Unknown,
}

/// The lock that the `failed`-th reserved attempt sets: none before [`FREE_ATTEMPTS`], then one
/// minute doubling with each further attempt, at most `max_secs`.
pub(super) fn lock_after(failed: i64, max_secs: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failed < FREE_ATTEMPTS {
        return None;
    }
    let doublings = u32::try_from(failed - FREE_ATTEMPTS)
        .unwrap_or(u32::MAX)
        .min(20);
    let secs = FIRST_LOCK_SECS
        .checked_shl(doublings)
        .unwrap_or(i64::MAX)
        .min(max_secs);
    Some(now + chrono::Duration::seconds(secs))
}

/// The longest lock of a staff account with this role code.
pub(super) fn max_lock_secs(role: &str) -> i64 {
    match Role::parse(role) {
        Ok(Role::Admin | Role::SecurityOfficer | Role::Auditor) => MAX_OFFICER_LOCK_SECS,
        _ => MAX_LOCK_SECS,
    }
}

impl App {
    /// Lets a sign-in from `source` go on to the password check, or refuses it: the address has
    /// failed too often in the window, or too many sign-ins are waiting already. The permit is
    /// held until the attempt is answered.
    pub(super) fn admit_sign_in(
        &self,
        source: &str,
    ) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
        if let Some(wait) = self.sign_in_failures.blocked(source, Instant::now()) {
            return Err(AppError::TooMany {
                code: "too_many_sign_ins",
                message: format!(
                    "此地址登录失败次数过多，已暂停登录，请{}分钟后再试",
                    retry_minutes(wait)
                ),
                retry_after: retry_secs(wait),
            });
        }
        Arc::clone(&self.sign_in_slots)
            .try_acquire_owned()
            .map_err(|_| AppError::TooMany {
                code: "sign_in_busy",
                message: "登录请求过多，服务器正忙，请稍后再试".to_owned(),
                retry_after: 1,
            })
    }

    /// Counts a failed sign-in against its client address; the failure that uses up the
    /// address's window is logged once (not every refusal after it: a flood must not become a
    /// flood of log writes).
    pub(super) async fn sign_in_failed(&self, source: &str) -> AppResult<()> {
        if self.sign_in_failures.record(source, Instant::now()) {
            let op = Op::new("auth.address_blocked", "address", source).detail(format!(
                "{} failed sign-ins in {} minutes",
                self.settings.sign_in_failures_per_address,
                self.settings.sign_in_window.as_secs() / 60
            ));
            self.log(&anonymous("", source), &op, Outcome::Denied)
                .await?;
            tracing::warn!(
                source,
                "sign-ins from this address paused after repeated failures"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_at_the_fifth_failure_and_doubles_up_to_fifteen_minutes() {
        let now = Utc::now();
        let lock = |n, max| lock_after(n, max, now).map(|t| (t - now).num_seconds());
        assert_eq!(lock(4, MAX_LOCK_SECS), None);
        assert_eq!(lock(5, MAX_LOCK_SECS), Some(60));
        assert_eq!(lock(6, MAX_LOCK_SECS), Some(120));
        assert_eq!(lock(8, MAX_LOCK_SECS), Some(480));
        assert_eq!(lock(9, MAX_LOCK_SECS), Some(900));
        assert_eq!(lock(500, MAX_LOCK_SECS), Some(900));
    }

    #[test]
    fn the_three_officers_are_locked_for_at_most_five_minutes() {
        let now = Utc::now();
        for role in ["admin", "security_officer", "auditor"] {
            let secs = lock_after(40, max_lock_secs(role), now).map(|t| (t - now).num_seconds());
            assert_eq!(secs, Some(300), "{role}");
        }
        assert_eq!(max_lock_secs("archivist"), 900);
    }
}
