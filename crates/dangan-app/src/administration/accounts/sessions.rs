//! Sessions of both kinds of account: a bearer token to its actor (ending a session left unused
//! past its idle limit), sign-out here or everywhere, and the change of one's own password.
//! API tokens of machine clients are resolved here too, as every bearer token is.

use std::time::Duration;

use chrono::{DateTime, Utc};

use dangan_domain::id_number::IdNumber;
use dangan_store::persons::{self, PersonId};
use dangan_store::users::{self, UserRow};
use dangan_store::{Tx, insured, tokens};

use super::passwords::{
    TOKEN_PREFIX, check_password_policy, hash_password, token_digest, verify_password,
};
use super::{AccountId, AccountKind};
use crate::administration::roles::{Actor, Role, Subject, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A kiosk session's idle limit is the kiosk's own idle time plus this, so that the kiosk's
/// sign-out after its idle time still finds its session.
const KIOSK_GRACE: Duration = Duration::from_secs(10);
/// A session's `last_seen_at` is written when it is older than this (or a quarter of the idle
/// limit, whichever is less), not on every request.
const TOUCH_AFTER: Duration = Duration::from_secs(60);

/// How long a session may go unused, and how stale its `last_seen_at` may get before it is
/// written again.
fn idle_limits(limit: Duration, grace: Option<Duration>) -> (Duration, Duration) {
    let mut touch = TOUCH_AFTER.min(limit / 4);
    if let Some(g) = grace {
        touch = touch.min(g);
    }
    (limit + grace.unwrap_or_default(), touch)
}

/// The actor of a staff account.
pub(super) fn staff_actor(u: &UserRow, source: &str) -> AppResult<Actor> {
    Ok(Actor {
        subject: Subject::User(u.id),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: Role::parse(&u.role)
            .map_err(|_| AppError::Internal(format!("user {} has unknown role", u.id)))?,
        must_change_password: u.must_change_password,
        scopes: Vec::new(),
        source: source.to_owned(),
    })
}

/// The actor of an insured person's account: known in the log by the masked identity number.
pub(super) fn insured_actor(
    pid: PersonId,
    id_number: &IdNumber,
    name: &str,
    must_change: bool,
    source: &str,
) -> Actor {
    Actor {
        subject: Subject::Insured(pid),
        username: id_number.masked(),
        display_name: name.to_owned(),
        role: Role::Insured,
        must_change_password: must_change,
        scopes: Vec::new(),
        source: source.to_owned(),
    }
}

/// A session found by its token: who, when last used, and its idle limits.
struct Session {
    actor: Actor,
    last_seen: DateTime<Utc>,
    limits: (Duration, Duration),
}

impl App {
    /// The actor behind a bearer token (staff session, insured session or API token), seen
    /// from `source`. A session unused for longer than its idle limit ends here.
    pub async fn authenticate(&self, token: &str, source: &str) -> AppResult<Actor> {
        let expired = || AppError::Unauthenticated("登录已失效，请重新登录".to_owned());
        let digest = token_digest(token);
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let kind = AccountKind::of_token(token);
        let session = match kind {
            Some(kind) => self.session(&mut tx, kind, &digest, now, source).await?,
            None if token.starts_with(TOKEN_PREFIX) => {
                let actor = self.token_actor(&mut tx, &digest, source).await?;
                tx.rollback().await?;
                return Ok(actor);
            }
            None => None,
        };
        let (Some(kind), Some(session)) = (kind, session) else {
            return Err(expired());
        };
        tx.rollback().await?;
        self.keep_alive(kind, &digest, &session, now).await?;
        Ok(session.actor)
    }

    /// The unexpired session of this kind with this token digest.
    async fn session(
        &self,
        tx: &mut Tx,
        kind: AccountKind,
        digest: &str,
        now: DateTime<Utc>,
        source: &str,
    ) -> AppResult<Option<Session>> {
        match kind {
            AccountKind::Staff => {
                let Some(s) = users::user_for_session(tx, digest, now).await? else {
                    return Ok(None);
                };
                Ok(Some(Session {
                    actor: staff_actor(&s.user, source)?,
                    last_seen: s.last_seen_at,
                    limits: idle_limits(self.settings.session_idle, None),
                }))
            }
            AccountKind::Insured => {
                let Some(s) = insured::session(tx, digest, now).await? else {
                    return Ok(None);
                };
                let Some(p) = persons::get(tx, s.person_id).await? else {
                    return Ok(None);
                };
                let limits = if s.kiosk {
                    let kiosk = Duration::from_secs(u64::from(self.settings.kiosk_idle_seconds));
                    idle_limits(kiosk, Some(KIOSK_GRACE))
                } else {
                    idle_limits(self.settings.session_idle, None)
                };
                let must_change = s.must_change_password;
                Ok(Some(Session {
                    actor: insured_actor(s.person_id, &p.id_number, &p.name, must_change, source),
                    last_seen: s.last_seen_at,
                    limits,
                }))
            }
        }
    }

    /// The machine client behind an API token.
    async fn token_actor(&self, tx: &mut Tx, digest: &str, source: &str) -> AppResult<Actor> {
        let t = tokens::find_active(tx, digest)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("接口令牌无效或已吊销".to_owned()))?;
        Ok(Actor {
            subject: Subject::Token(t.id),
            username: t.name.clone(),
            display_name: t.name.clone(),
            role: Role::Machine,
            must_change_password: false,
            scopes: t
                .scopes
                .split_whitespace()
                .filter_map(UseCase::from_scope)
                .collect(),
            source: source.to_owned(),
        })
    }

    /// Ends a session unused past its idle limit, or records its use when the recorded one is
    /// getting stale.
    async fn keep_alive(
        &self,
        kind: AccountKind,
        digest: &str,
        session: &Session,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let (limit, touch) = session.limits;
        let unused = (now - session.last_seen).to_std().unwrap_or_default();
        if unused > limit {
            let mut tx = self.store.begin_write().await?;
            kind.end_session(&mut tx, digest).await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated(
                "长时间未操作，登录已失效，请重新登录".to_owned(),
            ));
        }
        if unused > touch {
            let mut tx = self.store.begin_write().await?;
            kind.touch_session(&mut tx, digest, now).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Ends the session of a token, or every session of its owner when `everywhere`.
    pub async fn logout(&self, actor: &Actor, token: &str, everywhere: bool) -> AppResult<()> {
        self.authorize(actor, UseCase::OwnAccount).await?;
        let mut tx = self.store.begin_write().await?;
        if let Some(account) = AccountId::of(actor.subject) {
            account
                .end_sessions(&mut tx, &token_digest(token), everywhere)
                .await?;
        }
        let action = if everywhere {
            "auth.logout_everywhere"
        } else {
            "auth.logout"
        };
        self.log_in(&mut tx, actor, &Op::new(action, "session", ""), Outcome::Ok)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the caller's own password after checking the current one; every other session
    /// of the account ends, the caller's stays.
    pub async fn change_password(
        &self,
        actor: &Actor,
        token: &str,
        current: &str,
        new: &str,
    ) -> AppResult<()> {
        self.authorize(actor, UseCase::OwnAccount).await?;
        check_password_policy(new)?;
        if new == current {
            return Err(AppError::invalid_with(
                "password_unchanged",
                Some("new_password"),
                "新密码不能与当前密码相同",
            ));
        }
        let account = AccountId::of(actor.subject);
        let mut tx = self.store.begin().await?;
        let hash = match account {
            Some(a) => a.password_hash(&mut tx).await?,
            None => None,
        };
        tx.rollback().await?;
        let (account, hash) = account.zip(hash).ok_or(AppError::Forbidden)?;
        let op = Op::new("auth.password_change", "account", "");
        if !verify_password(current.to_owned(), hash).await {
            self.log(actor, &op.detail("wrong current password"), Outcome::Failed)
                .await?;
            return Err(AppError::invalid_with(
                "wrong_password",
                Some("current_password"),
                "当前密码不正确",
            ));
        }
        let new_hash = hash_password(new.to_owned()).await?;
        let mut tx = self.store.begin_write().await?;
        account
            .set_password(&mut tx, &new_hash, &token_digest(token))
            .await?;
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_sessions_are_written_often_enough_never_to_end_before_the_kiosk_idle_time() {
        let idle = Duration::from_secs(60);
        let (limit, touch) = idle_limits(idle, Some(KIOSK_GRACE));
        assert_eq!(limit, Duration::from_secs(70));
        // The recorded use lags at most `touch` behind: the session ends after at least
        // limit − touch ≥ the kiosk's own idle time.
        assert!(limit - touch >= idle);
        let (limit, touch) = idle_limits(Duration::from_secs(30 * 60), None);
        assert_eq!(
            (limit, touch),
            (Duration::from_secs(1800), Duration::from_secs(60))
        );
    }
}
