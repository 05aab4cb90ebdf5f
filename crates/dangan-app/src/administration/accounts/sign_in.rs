//! Signing in, one procedure for both kinds of account: admitted past the address throttle and
//! the concurrency limit, the attempt reserved in the database, one argon2id verification
//! whatever the account's state, the refusal alike for every reason, then a new session.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::id_number::IdNumber;
use dangan_store::insured::{self, SessionKind};
use dangan_store::persons::{self, PersonRow};
use dangan_store::users::{self, UserRow};

use super::lockout::{Attempt, MAX_LOCK_SECS, lock_after, max_lock_secs};
use super::passwords::{DUMMY_HASH, random_token, token_digest, verify_password};
use super::sessions::{insured_actor, staff_actor};
use super::{AccountId, AccountKind, UNKNOWN_ACCOUNT};
use crate::administration::roles::Actor;
use crate::security::audit::{Op, Outcome, anonymous};
use crate::{App, AppError, AppResult, today};

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    /// The bearer token; shown once, stored only as a digest.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The account still has a generated password that must be changed first.
    pub must_change_password: bool,
    /// The signed-in actor.
    pub user: Actor,
}

/// The account a sign-in names, as found, with whom it belongs to.
enum Holder {
    /// A staff account.
    Staff(UserRow),
    /// An insured person's account; `masked` is the identity number as logged.
    Insured {
        person: PersonRow,
        account: insured::AccountRow,
        masked: String,
    },
}

impl Holder {
    fn id(&self) -> AccountId {
        match self {
            Holder::Staff(u) => AccountId::Staff(u.id),
            Holder::Insured { person, .. } => AccountId::Insured(person.id),
        }
    }

    fn object_id(&self) -> String {
        match self {
            Holder::Staff(u) => u.id.to_string(),
            Holder::Insured { person, .. } => person.id.to_string(),
        }
    }

    fn password_hash(&self) -> &str {
        match self {
            Holder::Staff(u) => &u.password_hash,
            Holder::Insured { account, .. } => &account.password_hash,
        }
    }

    fn must_change_password(&self) -> bool {
        match self {
            Holder::Staff(u) => u.must_change_password,
            Holder::Insured { account, .. } => account.must_change_password,
        }
    }

    /// Only staff accounts can be disabled (an insured person's account is closed by resetting
    /// it at the window).
    fn disabled(&self) -> bool {
        match self {
            Holder::Staff(u) => u.disabled,
            Holder::Insured { .. } => false,
        }
    }

    /// The longest lock: shorter for the three officers, whose names anyone may type.
    fn max_lock_secs(&self) -> i64 {
        match self {
            Holder::Staff(u) => max_lock_secs(&u.role),
            Holder::Insured { .. } => MAX_LOCK_SECS,
        }
    }

    /// The name a failed sign-in is logged under.
    fn logged_name(&self) -> &str {
        match self {
            Holder::Staff(u) => &u.username,
            Holder::Insured { masked, .. } => masked,
        }
    }

    fn actor(&self, source: &str) -> AppResult<Actor> {
        match self {
            Holder::Staff(u) => staff_actor(u, source),
            Holder::Insured {
                person, account, ..
            } => Ok(insured_actor(
                person.id,
                &person.id_number,
                &person.name,
                account.must_change_password,
                source,
            )),
        }
    }
}

/// Why a sign-in on an existing account is refused, as logged, if it is.
fn refusal(attempt: Attempt, verified: bool, disabled: bool) -> Option<(&'static str, Outcome)> {
    if attempt == Attempt::Locked {
        Some(("locked", Outcome::Denied))
    } else if disabled {
        Some(("disabled", Outcome::Failed))
    } else if !verified {
        Some(("wrong password", Outcome::Failed))
    } else {
        None
    }
}

impl App {
    /// Signs a staff user in with username and password, from `source` (the client address).
    pub async fn login(&self, username: &str, password: &str, source: &str) -> AppResult<Login> {
        let username = username.trim();
        // No account has such a name, and PostgreSQL cannot even compare (or log) a text with a
        // NUL in it: a malformed request, refused before any lookup or lock-out counting.
        if username.chars().any(char::is_control) {
            return Err(AppError::invalid_with(
                "invalid_username",
                Some("username"),
                "用户名不能含控制字符",
            ));
        }
        let _admitted = self.admit_sign_in(source)?;
        let mut tx = self.store.begin().await?;
        let user = users::find_by_username(&mut tx, username).await?;
        tx.rollback().await?;
        let holder = user.map(Holder::Staff);
        self.sign_in(AccountKind::Staff, holder, password, source, false)
            .await
    }

    /// Signs an insured person in with identity number and password (S8.1), on the web
    /// (`/my`, the API).
    pub async fn login_insured(
        &self,
        id_number: &str,
        password: &str,
        source: &str,
    ) -> AppResult<Login> {
        self.sign_in_insured(id_number, password, source, false)
            .await
    }

    /// Signs an insured person in on the self-service machine (`/kiosk`): the session ends
    /// after the kiosk's idle time (plus a few seconds), on the server too.
    pub async fn login_insured_kiosk(
        &self,
        id_number: &str,
        password: &str,
        source: &str,
    ) -> AppResult<Login> {
        self.sign_in_insured(id_number, password, source, true)
            .await
    }

    async fn sign_in_insured(
        &self,
        id_number: &str,
        password: &str,
        source: &str,
        kiosk: bool,
    ) -> AppResult<Login> {
        let id =
            IdNumber::parse(id_number, today()).map_err(|e| AppError::invalid("id_number", &e))?;
        let _admitted = self.admit_sign_in(source)?;
        let mut tx = self.store.begin().await?;
        let person = persons::find_by_id_number(&mut tx, id.as_str()).await?;
        let account = match &person {
            Some(p) => insured::get(&mut tx, p.id).await?,
            None => None,
        };
        tx.rollback().await?;
        let holder = match (person, account) {
            (Some(person), Some(account)) => Some(Holder::Insured {
                person,
                account,
                masked: id.masked(),
            }),
            _ => None,
        };
        self.sign_in(AccountKind::Insured, holder, password, source, kiosk)
            .await
    }

    /// The sign-in of either kind once the account is looked up (`None`: no such account).
    async fn sign_in(
        &self,
        kind: AccountKind,
        holder: Option<Holder>,
        password: &str,
        source: &str,
        kiosk: bool,
    ) -> AppResult<Login> {
        let now = Utc::now();
        let attempt = match &holder {
            None => Attempt::Unknown,
            Some(h) => self.reserve_attempt(h, now).await?,
        };
        // Every attempt costs one verification, so that neither an unknown name nor a locked
        // account answers faster than a wrong password.
        let hash = match (&holder, attempt) {
            (Some(h), Attempt::Reserved) => h.password_hash().to_owned(),
            _ => DUMMY_HASH.to_owned(),
        };
        let verified = verify_password(password.to_owned(), hash).await;
        let (action, object, unknown) = kind.sign_in_log();
        let op = Op::new(
            action,
            object,
            holder.as_ref().map(Holder::object_id).unwrap_or_default(),
        );
        let refused = || AppError::Unauthenticated(kind.bad_credentials().to_owned());
        let Some(holder) = holder else {
            self.log(
                &anonymous(UNKNOWN_ACCOUNT, source),
                &op.detail(unknown),
                Outcome::Failed,
            )
            .await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        };
        if let Some((detail, outcome)) = refusal(attempt, verified, holder.disabled()) {
            let who = anonymous(holder.logged_name(), source);
            self.log(&who, &op.detail(detail), outcome).await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        }
        self.open_session(kind, &holder, &op, now, source, kiosk)
            .await
    }

    /// Counts the attempt on an existing account (locking it when this was one failure too
    /// many), unless it is locked already.
    async fn reserve_attempt(&self, holder: &Holder, now: DateTime<Utc>) -> AppResult<Attempt> {
        let id = holder.id();
        let mut tx = self.store.begin_write().await?;
        let reserved = id.reserve_attempt(&mut tx, now).await?;
        if let Some(until) = reserved.and_then(|n| lock_after(n, holder.max_lock_secs(), now)) {
            id.lock(&mut tx, until).await?;
        }
        tx.commit().await?;
        Ok(if reserved.is_some() {
            Attempt::Reserved
        } else {
            Attempt::Locked
        })
    }

    /// A successful sign-in: the failure counter reset, a new session, the log entry.
    async fn open_session(
        &self,
        kind: AccountKind,
        holder: &Holder,
        op: &Op,
        now: DateTime<Utc>,
        source: &str,
        kiosk: bool,
    ) -> AppResult<Login> {
        let mut tx = self.store.begin_write().await?;
        holder.id().reset_attempts(&mut tx).await?;
        let token = random_token(kind.token_prefix())?;
        let expires_at = now + self.session_ttl()?;
        let how = SessionKind {
            assisted: false,
            kiosk,
        };
        holder
            .id()
            .insert_session(&mut tx, &token_digest(&token), now, expires_at, how)
            .await?;
        let actor = holder.actor(source)?;
        self.log_in(&mut tx, &actor, op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: holder.must_change_password(),
            user: actor,
        })
    }

    fn session_ttl(&self) -> AppResult<chrono::Duration> {
        chrono::Duration::from_std(self.settings.session_ttl)
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_account_is_denied_and_a_disabled_or_wrong_one_failed() {
        let detail = |attempt, verified, disabled| {
            refusal(attempt, verified, disabled).map(|(d, o)| (d, matches!(o, Outcome::Denied)))
        };
        assert_eq!(detail(Attempt::Locked, true, false), Some(("locked", true)));
        assert_eq!(
            detail(Attempt::Reserved, true, true),
            Some(("disabled", false))
        );
        assert_eq!(
            detail(Attempt::Reserved, false, true),
            Some(("disabled", false))
        );
        assert_eq!(
            detail(Attempt::Reserved, false, false),
            Some(("wrong password", false))
        );
        assert_eq!(detail(Attempt::Reserved, true, false), None);
    }
}
