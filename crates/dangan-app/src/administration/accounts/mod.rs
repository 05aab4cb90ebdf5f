//! Sign-in and accounts: argon2id password hashes; random bearer tokens of which only the
//! SHA-256 is stored; lock-out with back-off after repeated failures; forced change of generated
//! passwords; sign-out here or everywhere; staff accounts managed by the security officer.
//!
//! A sign-in withstands guessing and flooding (issue 13 §4; the policy is written down in
//! `docs/ARCHITECTURE.md`, Authentication):
//! - an address with too many recent failures is refused before anything is looked up
//!   (`Settings::sign_in_failures_per_address`, 429);
//! - at most `Settings::sign_in_concurrency` sign-ins wait for the password check (429 past it),
//!   which runs on a few dedicated threads (`hashing.rs`);
//! - each attempt on an existing account is *reserved* in the database before the password is
//!   checked — one conditional `UPDATE` that raises the failure counter unless the account is
//!   locked — so parallel guesses cannot all read the same counter: at most [`FREE_ATTEMPTS`]
//!   guesses are checked before the lock holds, and a success resets the counter;
//! - an unknown name, a wrong password, a disabled and a locked account all answer alike and
//!   all cost one argon2id verification;
//! - the log names the account only when it exists (a "username" that is no account may be a
//!   password typed into the wrong field).
//!
//! Tokens carry a prefix that says what they are: `dgs_` a staff session, `dgp_` an insured
//! person's session, `dgt_` a machine client's API token.

pub(crate) mod throttle;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use dangan_domain::id_number::IdNumber;
use dangan_store::users::{self, UserId};
use dangan_store::{insured, persons, tokens};

use crate::adapters::hashing;
use crate::administration::accounts::throttle::{retry_minutes, retry_secs};
use crate::administration::roles::{Actor, Role, Subject, UseCase};
use crate::security::audit::{Op, Outcome, anonymous};
use crate::{App, AppError, AppResult, today};

/// A successful sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// A staff user as shown to the security officer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Row id.
    pub id: UserId,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Locked until, after repeated failed sign-ins.
    pub locked_until: Option<DateTime<Utc>>,
}

/// The one answer to a failed staff sign-in, whatever the reason (unknown name, wrong password,
/// disabled or locked account): a different answer would tell a guesser which names exist and
/// which accounts are locked.
const BAD_CREDENTIALS: &str = "用户名或密码不正确。连续多次登录失败后账号将被临时锁定，请稍后再试";
/// The same for an insured person's sign-in.
const BAD_INSURED_CREDENTIALS: &str =
    "公民身份号码或密码不正确。连续多次登录失败后账号将被临时锁定，请稍后再试";
/// The name logged for a sign-in with a name that is no account: what was typed may be a
/// password typed into the wrong field, so it is never written down.
pub const UNKNOWN_ACCOUNT: &str = "（不存在的账号）";
const STAFF_PREFIX: &str = "dgs_";
const INSURED_PREFIX: &str = "dgp_";
/// The prefix of machine clients' API tokens.
pub(crate) const TOKEN_PREFIX: &str = "dgt_";
/// Failed sign-ins allowed before the account locks.
pub const FREE_ATTEMPTS: i64 = 5;
/// The first lock lasts this long; each further failure doubles it, up to [`MAX_LOCK_SECS`].
const FIRST_LOCK_SECS: i64 = 60;
/// The longest lock of an account.
const MAX_LOCK_SECS: i64 = 15 * 60;
/// The longest lock of the three officers' accounts (系统管理员, 安全保密员, 安全审计员):
/// anyone may type their names, and a long lock would keep them from their work.
const MAX_OFFICER_LOCK_SECS: i64 = 5 * 60;
/// A kiosk session's idle limit is the kiosk's own idle time plus this, so that the kiosk's
/// sign-out after its idle time still finds its session.
const KIOSK_GRACE: Duration = Duration::from_secs(10);
/// A session's `last_seen_at` is written when it is older than this (or a quarter of the idle
/// limit, whichever is less), not on every request.
const TOUCH_AFTER: Duration = Duration::from_secs(60);

/// A random token with a prefix: 32 random bytes in hex.
pub(crate) fn random_token(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// A generated password: 16 characters from an alphabet without look-alikes (0/O, 1/l/I), at
/// least one letter and one digit.
pub fn generate_password() -> AppResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::Internal(format!("random source: {e}")))?;
        // 256 is not a multiple of 56, so some characters are very slightly more likely;
        // 16 characters from 56 still give over 90 bits.
        let p: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        if check_password_policy(&p).is_ok() {
            return Ok(p);
        }
    }
}

/// SHA-256 of a token, as stored.
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The password policy: 10–128 characters with at least one letter and one digit.
pub fn check_password_policy(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    let ok = (10..=128).contains(&n)
        && password.chars().any(|c| c.is_ascii_alphabetic())
        && password.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_with(
            "weak_password",
            Some("password"),
            "密码不符合要求：长度应为10至128位，且同时包含字母和数字",
        ))
    }
}

/// Hashes a password with argon2id on one of the hashing threads (it takes tens of
/// milliseconds and 19 MiB).
pub async fn hash_password(password: String) -> AppResult<String> {
    hashing::hash(password).await
}

async fn verify_password(password: String, hash: String) -> bool {
    hashing::verify(password, hash).await
}

/// A hash of a random password, verified against when the account does not exist, so that a
/// wrong username takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hs0xqU0OLHm0H2t9mH1wNH4a7H6bJ4v8XKSyJgJ3K6o";

/// The lock that the `failed`-th reserved attempt sets: none before [`FREE_ATTEMPTS`], then one
/// minute doubling with each further attempt, at most `max_secs`.
fn lock_after(failed: i64, max_secs: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
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

/// The longest lock of an account with this role code.
fn max_lock_secs(role: &str) -> i64 {
    match Role::parse(role) {
        Ok(Role::Admin | Role::SecurityOfficer | Role::Auditor) => MAX_OFFICER_LOCK_SECS,
        _ => MAX_LOCK_SECS,
    }
}

/// What the database said about a sign-in attempt before the password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// The account exists and is not locked; the attempt is counted.
    Reserved,
    /// The account is locked: the password is not checked.
    Locked,
    /// No such account.
    Unknown,
}

/// How long a session may go unused, and how stale its `last_seen_at` may get before it is
/// written again.
fn idle_limits(limit: Duration, grace: Option<Duration>) -> (Duration, Duration) {
    let mut touch = TOUCH_AFTER.min(limit / 4);
    if let Some(g) = grace {
        touch = touch.min(g);
    }
    (limit + grace.unwrap_or_default(), touch)
}

fn staff_actor(u: &users::UserRow, source: &str) -> AppResult<Actor> {
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

/// A staff account as shown.
pub(crate) fn user_view(u: &users::UserRow) -> AppResult<UserView> {
    Ok(UserView {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: Role::parse(&u.role)
            .map_err(|_| AppError::Internal(format!("user {} has unknown role", u.id)))?,
        disabled: u.disabled,
        locked_until: u.locked_until,
    })
}

fn session_ttl(app: &App) -> AppResult<chrono::Duration> {
    chrono::Duration::from_std(app.settings.session_ttl)
        .map_err(|e| AppError::Internal(e.to_string()))
}

impl App {
    /// Lets a sign-in from `source` go on to the password check, or refuses it: the address has
    /// failed too often in the window, or too many sign-ins are waiting already. The permit is
    /// held until the attempt is answered.
    fn admit_sign_in(&self, source: &str) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
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
    async fn sign_in_failed(&self, source: &str) -> AppResult<()> {
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
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let user = users::find_by_username(&mut tx, username).await?;
        tx.rollback().await?;
        let attempt = match &user {
            None => Attempt::Unknown,
            Some(u) => {
                let mut tx = self.store.begin_write().await?;
                let reserved = users::reserve_attempt(&mut tx, u.id, now).await?;
                if let Some(until) =
                    reserved.and_then(|n| lock_after(n, max_lock_secs(&u.role), now))
                {
                    users::lock(&mut tx, u.id, until).await?;
                }
                tx.commit().await?;
                if reserved.is_some() {
                    Attempt::Reserved
                } else {
                    Attempt::Locked
                }
            }
        };
        // Every attempt costs one verification, so that neither an unknown name nor a locked
        // account answers faster than a wrong password.
        let hash = match (&user, attempt) {
            (Some(u), Attempt::Reserved) => u.password_hash.clone(),
            _ => DUMMY_HASH.to_owned(),
        };
        let verified = verify_password(password.to_owned(), hash).await;
        let op = Op::new(
            "auth.login",
            "user",
            user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
        );
        let refused = || AppError::Unauthenticated(BAD_CREDENTIALS.to_owned());
        let Some(user) = user else {
            self.log(
                &anonymous(UNKNOWN_ACCOUNT, source),
                &op.detail("unknown user"),
                Outcome::Failed,
            )
            .await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        };
        let who = anonymous(&user.username, source);
        if attempt == Attempt::Locked {
            self.log(&who, &op.detail("locked"), Outcome::Denied)
                .await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        }
        if !verified || user.disabled {
            let detail = if user.disabled {
                "disabled"
            } else {
                "wrong password"
            };
            self.log(&who, &op.detail(detail), Outcome::Failed).await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        }
        let mut tx = self.store.begin_write().await?;
        users::reset_attempts(&mut tx, user.id).await?;
        let token = random_token(STAFF_PREFIX)?;
        let expires_at = now + session_ttl(self)?;
        users::insert_session(&mut tx, &token_digest(&token), user.id, now, expires_at).await?;
        let actor = staff_actor(&user, source)?;
        self.log_in(&mut tx, &actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: user.must_change_password,
            user: actor,
        })
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
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let person = persons::find_by_id_number(&mut tx, id.as_str()).await?;
        let account = match &person {
            Some(p) => insured::get(&mut tx, p.id).await?,
            None => None,
        };
        tx.rollback().await?;
        let attempt = match (&person, &account) {
            (Some(p), Some(_)) => {
                let mut tx = self.store.begin_write().await?;
                let reserved = insured::reserve_attempt(&mut tx, p.id, now).await?;
                if let Some(until) = reserved.and_then(|n| lock_after(n, MAX_LOCK_SECS, now)) {
                    insured::lock(&mut tx, p.id, until).await?;
                }
                tx.commit().await?;
                if reserved.is_some() {
                    Attempt::Reserved
                } else {
                    Attempt::Locked
                }
            }
            _ => Attempt::Unknown,
        };
        let hash = match (&account, attempt) {
            (Some(a), Attempt::Reserved) => a.password_hash.clone(),
            _ => DUMMY_HASH.to_owned(),
        };
        let verified = verify_password(password.to_owned(), hash).await;
        let op = Op::new(
            "auth.insured_login",
            "person",
            person
                .as_ref()
                .filter(|_| account.is_some())
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
        );
        let refused = || AppError::Unauthenticated(BAD_INSURED_CREDENTIALS.to_owned());
        let (Some(person), Some(account)) = (person, account) else {
            self.log(
                &anonymous(UNKNOWN_ACCOUNT, source),
                &op.detail("no account"),
                Outcome::Failed,
            )
            .await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        };
        let who = anonymous(&id.masked(), source);
        if attempt == Attempt::Locked || !verified {
            let (detail, outcome) = if attempt == Attempt::Locked {
                ("locked", Outcome::Denied)
            } else {
                ("wrong password", Outcome::Failed)
            };
            self.log(&who, &op.detail(detail), outcome).await?;
            self.sign_in_failed(source).await?;
            return Err(refused());
        }
        let mut tx = self.store.begin_write().await?;
        insured::reset_attempts(&mut tx, person.id).await?;
        let token = random_token(INSURED_PREFIX)?;
        let expires_at = now + session_ttl(self)?;
        insured::insert_session(
            &mut tx,
            &token_digest(&token),
            person.id,
            now,
            expires_at,
            insured::SessionKind {
                assisted: false,
                kiosk,
            },
        )
        .await?;
        let actor = insured_actor(
            person.id,
            &person.id_number,
            &person.name,
            account.must_change_password,
            source,
        );
        self.log_in(&mut tx, &actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: account.must_change_password,
            user: actor,
        })
    }

    /// 工作人员协助确认 (S8.2): a window clerk opens a kiosk session for a person without their
    /// password, on a recorded `basis` (`query`: the clerk registered a query for that person;
    /// `card`: the person is present and `id_number` was read from their card, entered in the
    /// query register as the person's own query). The session lasts 15 minutes; the clerk is
    /// logged with it.
    pub async fn assisted_insured_login(
        &self,
        staff: &Actor,
        id_number: &str,
        basis: &str,
        source: &str,
    ) -> AppResult<Login> {
        self.authorize(staff, UseCase::ManageInsuredAccounts)
            .await?;
        let id =
            IdNumber::parse(id_number, today()).map_err(|e| AppError::invalid("id_number", &e))?;
        let basis = crate::access::insured::Basis::parse(basis, Some(id.as_str()))?;
        let mut tx = self.store.begin_write().await?;
        let Some(person) = persons::find_by_id_number(&mut tx, id.as_str()).await? else {
            tx.rollback().await?;
            return Err(AppError::not_found("person_not_found", "未找到该参保人"));
        };
        let op = Op::new("auth.insured_assisted", "person", person.id);
        let basis_detail = match self
            .check_basis(&mut tx, staff, &person, &basis, "自助查询机协助登录")
            .await?
        {
            Ok(detail) => detail,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(self.deny(staff, op, refusal).await);
            }
        };
        let now = Utc::now();
        let token = random_token(INSURED_PREFIX)?;
        let expires_at = now + chrono::Duration::minutes(15);
        insured::insert_session(
            &mut tx,
            &token_digest(&token),
            person.id,
            now,
            expires_at,
            insured::SessionKind {
                assisted: true,
                kiosk: true,
            },
        )
        .await?;
        let op = op.detail(format!("confirmed by {}; {basis_detail}", staff.username));
        self.log_in(&mut tx, staff, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: false,
            user: insured_actor(person.id, &person.id_number, &person.name, false, source),
        })
    }

    /// The actor behind a bearer token (staff session, insured session or API token), seen
    /// from `source`. A session unused for longer than its idle limit ends here.
    pub async fn authenticate(&self, token: &str, source: &str) -> AppResult<Actor> {
        let expired = || AppError::Unauthenticated("登录已失效，请重新登录".to_owned());
        let digest = token_digest(token);
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let (actor, seen) = if token.starts_with(STAFF_PREFIX) {
            match users::user_for_session(&mut tx, &digest, now).await? {
                Some(s) => (
                    staff_actor(&s.user, source)?,
                    Some((
                        s.last_seen_at,
                        idle_limits(self.settings.session_idle, None),
                    )),
                ),
                None => return Err(expired()),
            }
        } else if token.starts_with(INSURED_PREFIX) {
            let Some(s) = insured::session(&mut tx, &digest, now).await? else {
                return Err(expired());
            };
            let p = persons::get(&mut tx, s.person_id)
                .await?
                .ok_or_else(expired)?;
            let limits = if s.kiosk {
                let idle = Duration::from_secs(u64::from(self.settings.kiosk_idle_seconds));
                idle_limits(idle, Some(KIOSK_GRACE))
            } else {
                idle_limits(self.settings.session_idle, None)
            };
            (
                insured_actor(
                    s.person_id,
                    &p.id_number,
                    &p.name,
                    s.must_change_password,
                    source,
                ),
                Some((s.last_seen_at, limits)),
            )
        } else if token.starts_with(TOKEN_PREFIX) {
            let t = tokens::find_active(&mut tx, &digest)
                .await?
                .ok_or_else(|| AppError::Unauthenticated("接口令牌无效或已吊销".to_owned()))?;
            let actor = Actor {
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
            };
            (actor, None)
        } else {
            return Err(expired());
        };
        tx.rollback().await?;
        if let Some((last_seen, (limit, touch))) = seen {
            let unused = (now - last_seen).to_std().unwrap_or_default();
            if unused > limit {
                let mut tx = self.store.begin_write().await?;
                match actor.subject {
                    Subject::Insured(_) => {
                        insured::delete_sessions(&mut tx, &digest, false).await?
                    }
                    _ => users::delete_session(&mut tx, &digest).await?,
                }
                tx.commit().await?;
                return Err(AppError::Unauthenticated(
                    "长时间未操作，登录已失效，请重新登录".to_owned(),
                ));
            }
            if unused > touch {
                let mut tx = self.store.begin_write().await?;
                match actor.subject {
                    Subject::Insured(_) => insured::touch_session(&mut tx, &digest, now).await?,
                    _ => users::touch_session(&mut tx, &digest, now).await?,
                }
                tx.commit().await?;
            }
        }
        Ok(actor)
    }

    /// Ends the session of a token, or every session of its owner when `everywhere`.
    pub async fn logout(&self, actor: &Actor, token: &str, everywhere: bool) -> AppResult<()> {
        self.authorize(actor, UseCase::OwnAccount).await?;
        let mut tx = self.store.begin_write().await?;
        match actor.subject {
            Subject::User(id) if everywhere => users::delete_all_sessions(&mut tx, id).await?,
            Subject::User(_) => users::delete_session(&mut tx, &token_digest(token)).await?,
            Subject::Insured(_) => {
                insured::delete_sessions(&mut tx, &token_digest(token), everywhere).await?
            }
            Subject::Token(_) | Subject::System => {}
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
        let mut tx = self.store.begin().await?;
        let hash = match actor.subject {
            Subject::User(id) => users::get(&mut tx, id).await?.map(|u| u.password_hash),
            Subject::Insured(id) => insured::get(&mut tx, id).await?.map(|a| a.password_hash),
            Subject::Token(_) | Subject::System => None,
        };
        tx.rollback().await?;
        let hash = hash.ok_or(AppError::Forbidden)?;
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
        match actor.subject {
            Subject::User(id) => {
                users::set_password(&mut tx, id, &new_hash, &token_digest(token)).await?
            }
            Subject::Insured(id) => {
                insured::set_password(&mut tx, id, &new_hash, &token_digest(token)).await?
            }
            Subject::Token(_) | Subject::System => {}
        }
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a staff user. With `password` absent a password is generated, returned once, and
    /// must be changed at first sign-in.
    pub async fn add_user(
        &self,
        actor: &Actor,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password: Option<&str>,
    ) -> AppResult<(UserView, Option<String>)> {
        self.authorize(actor, UseCase::ManageUsers).await?;
        let username = check_username(username)?;
        if !role.is_staff() {
            return Err(AppError::invalid_with(
                "invalid_role",
                Some("role"),
                "只能创建工作人员角色的账号",
            ));
        }
        let display_name = check_display_name(display_name, username)?;
        // 三员分立: an officer account needs a second officer (or the console).
        if role.is_officer() && actor.subject != Subject::System {
            let op =
                Op::new("user.create", "user", "").detail(format!("{username} {}", role.code()));
            return Err(self
                .deny(
                    actor,
                    op,
                    crate::administration::officers::two_officers_required(),
                )
                .await);
        }
        let (password, generated) = match password {
            Some(p) => {
                check_password_policy(p)?;
                (p.to_owned(), None)
            }
            None => {
                let p = generate_password()?;
                (p.clone(), Some(p))
            }
        };
        let hash = hash_password(password).await?;
        let mut tx = self.store.begin_write().await?;
        let id = users::insert(
            &mut tx,
            username,
            display_name,
            role.code(),
            &hash,
            generated.is_some(),
            Utc::now(),
        )
        .await?;
        let op = Op::new("user.create", "user", id).detail(format!("{username} {}", role.code()));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = users::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("inserted user not found".to_owned()))?;
        tx.commit().await?;
        Ok((user_view(&row)?, generated))
    }

    /// Every staff user (for the security officer).
    pub async fn users(&self, actor: &Actor) -> AppResult<Vec<UserView>> {
        self.authorize(actor, UseCase::ManageUsers).await?;
        let mut tx = self.store.begin().await?;
        let rows = users::list(&mut tx).await?;
        tx.rollback().await?;
        rows.iter().map(user_view).collect()
    }

    /// Changes a business account's role and enabled state (which also unlocks the account and
    /// ends its sessions). The security officer cannot change their own account, nor an officer
    /// account or make one: those need a second officer ([`App::request_account_change`]).
    pub async fn set_user_role(
        &self,
        actor: &Actor,
        id: UserId,
        role: Role,
        disabled: bool,
    ) -> AppResult<UserView> {
        self.authorize(actor, UseCase::ManageUsers).await?;
        if actor.user_id() == Some(id) {
            return Err(AppError::invalid_with(
                "own_account",
                Some("id"),
                "不能修改本人账号的角色或状态",
            ));
        }
        if !role.is_staff() {
            return Err(AppError::invalid_with(
                "invalid_role",
                Some("role"),
                "只能设置工作人员角色",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let Some(current) = users::get(&mut tx, id).await? else {
            return Err(AppError::not_found("user_not_found", "未找到该用户"));
        };
        let op = Op::new("user.update", "user", id)
            .detail(format!("role={} disabled={disabled}", role.code()));
        // Checked in the writing transaction: the target's role cannot change in between.
        let officer_involved =
            role.is_officer() || Role::parse(&current.role).is_ok_and(Role::is_officer);
        if officer_involved && actor.subject != Subject::System {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    op,
                    crate::administration::officers::two_officers_required(),
                )
                .await);
        }
        if !users::set_role(&mut tx, id, role.code(), disabled).await? {
            return Err(AppError::not_found("user_not_found", "未找到该用户"));
        }
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = users::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("user_not_found", "未找到该用户"))?;
        tx.commit().await?;
        user_view(&row)
    }
}

/// A valid sign-in name: 2–32 ASCII letters, digits, `_`, `-` or `.`.
pub(crate) fn check_username(username: &str) -> AppResult<&str> {
    let username = username.trim();
    let valid_name = (2..=32).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid_name {
        return Err(AppError::invalid_with(
            "invalid_username",
            Some("username"),
            "用户名应为2至32位字母、数字、下划线、点或连字符",
        ));
    }
    Ok(username)
}

/// A valid display name (default: the username): at most 30 characters, no control characters.
pub(crate) fn check_display_name<'a>(
    display_name: Option<&'a str>,
    username: &'a str,
) -> AppResult<&'a str> {
    let display_name = display_name
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(username);
    if display_name.chars().count() > 30 || display_name.chars().any(char::is_control) {
        return Err(AppError::invalid_with(
            "invalid_display_name",
            Some("display_name"),
            "显示名称不能超过30个字，且不能含控制字符",
        ));
    }
    Ok(display_name)
}

fn insured_actor(
    pid: dangan_store::persons::PersonId,
    id_number: &str,
    name: &str,
    must_change: bool,
    source: &str,
) -> Actor {
    Actor {
        subject: Subject::Insured(pid),
        username: dangan_domain::id_number::mask(id_number),
        display_name: name.to_owned(),
        role: Role::Insured,
        must_change_password: must_change,
        scopes: Vec::new(),
        source: source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_parses_so_unknown_users_cost_a_real_verification() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn generated_passwords_meet_the_policy_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.chars().count(), 16);
        assert!(check_password_policy(&a).is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn short_or_letter_only_passwords_are_refused() {
        assert!(check_password_policy("abc123").is_err());
        assert!(check_password_policy("abcdefghijkl").is_err());
        assert!(check_password_policy("abcdefghij12").is_ok());
    }

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
