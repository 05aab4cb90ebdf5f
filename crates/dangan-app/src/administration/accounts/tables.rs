//! Where each kind of account is kept — staff in `users` and their sessions, insured persons in
//! `insured_accounts` and `insured_sessions` — behind one set of calls, so that the sign-in,
//! the sessions and the password change are written once for both kinds.

use chrono::{DateTime, Utc};

use dangan_store::insured::SessionKind;
use dangan_store::{Tx, insured, users};

use super::{AccountId, AccountKind};
use crate::AppResult;

impl AccountId {
    /// Counts a sign-in attempt unless the account is locked: the failures so far, or `None`
    /// when the account is locked.
    pub(super) async fn reserve_attempt(
        self,
        tx: &mut Tx,
        now: DateTime<Utc>,
    ) -> AppResult<Option<i64>> {
        Ok(match self {
            AccountId::Staff(id) => users::reserve_attempt(tx, id, now).await?,
            AccountId::Insured(id) => insured::reserve_attempt(tx, id, now).await?,
        })
    }

    /// Locks the account until `until`.
    pub(super) async fn lock(self, tx: &mut Tx, until: DateTime<Utc>) -> AppResult<()> {
        match self {
            AccountId::Staff(id) => users::lock(tx, id, until).await?,
            AccountId::Insured(id) => insured::lock(tx, id, until).await?,
        }
        Ok(())
    }

    /// Clears the failure counter and the lock after a successful sign-in.
    pub(super) async fn reset_attempts(self, tx: &mut Tx) -> AppResult<()> {
        match self {
            AccountId::Staff(id) => users::reset_attempts(tx, id).await?,
            AccountId::Insured(id) => insured::reset_attempts(tx, id).await?,
        }
        Ok(())
    }

    /// Records a session by its token's digest. `how` says how an insured person's session was
    /// opened (staff sessions are all alike).
    pub(super) async fn insert_session(
        self,
        tx: &mut Tx,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        how: SessionKind,
    ) -> AppResult<()> {
        match self {
            AccountId::Staff(id) => {
                users::insert_session(tx, token_hash, id, now, expires_at).await?
            }
            AccountId::Insured(id) => {
                insured::insert_session(tx, token_hash, id, now, expires_at, how).await?
            }
        }
        Ok(())
    }

    /// The account's password hash (none when the account is gone).
    pub(super) async fn password_hash(self, tx: &mut Tx) -> AppResult<Option<String>> {
        Ok(match self {
            AccountId::Staff(id) => users::get(tx, id).await?.map(|u| u.password_hash),
            AccountId::Insured(id) => insured::get(tx, id).await?.map(|a| a.password_hash),
        })
    }

    /// Sets a new password hash (which clears a forced change) and ends every session of the
    /// account but `keep_session`.
    pub(super) async fn set_password(
        self,
        tx: &mut Tx,
        hash: &str,
        keep_session: &str,
    ) -> AppResult<()> {
        match self {
            AccountId::Staff(id) => users::set_password(tx, id, hash, keep_session).await?,
            AccountId::Insured(id) => insured::set_password(tx, id, hash, keep_session).await?,
        }
        Ok(())
    }

    /// Ends the session with this token digest, or every session of the account.
    pub(super) async fn end_sessions(
        self,
        tx: &mut Tx,
        token_hash: &str,
        everywhere: bool,
    ) -> AppResult<()> {
        match self {
            AccountId::Staff(id) if everywhere => users::delete_all_sessions(tx, id).await?,
            AccountId::Staff(_) => users::delete_session(tx, token_hash).await?,
            AccountId::Insured(_) => insured::delete_sessions(tx, token_hash, everywhere).await?,
        }
        Ok(())
    }
}

impl AccountKind {
    /// Ends one session of this kind (when it was left unused too long).
    pub(super) async fn end_session(self, tx: &mut Tx, token_hash: &str) -> AppResult<()> {
        match self {
            AccountKind::Staff => users::delete_session(tx, token_hash).await?,
            AccountKind::Insured => insured::delete_sessions(tx, token_hash, false).await?,
        }
        Ok(())
    }

    /// Records that a session of this kind was used at `now`.
    pub(super) async fn touch_session(
        self,
        tx: &mut Tx,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        match self {
            AccountKind::Staff => users::touch_session(tx, token_hash, now).await?,
            AccountKind::Insured => insured::touch_session(tx, token_hash, now).await?,
        }
        Ok(())
    }
}
