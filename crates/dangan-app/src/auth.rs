//! Sign-in and accounts: argon2id password hashes; random bearer tokens of which only the
//! SHA-256 is stored; lock-out with back-off after repeated failures; forced change of generated
//! passwords; sign-out here or everywhere; staff accounts managed by the security officer.
//!
//! Tokens carry a prefix that says what they are: `dgs_` a staff session, `dgp_` an insured
//! person's session, `dgt_` a machine client's API token.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use dangan_domain::id_number::IdNumber;
use dangan_store::users::{self, UserId};
use dangan_store::{insured, persons, tokens};

use crate::audit::{Op, Outcome, anonymous};
use crate::roles::{Actor, Role, Subject, UseCase};
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

const BAD_CREDENTIALS: &str = "用户名或密码不正确";
const STAFF_PREFIX: &str = "dgs_";
const INSURED_PREFIX: &str = "dgp_";
/// The prefix of machine clients' API tokens.
pub(crate) const TOKEN_PREFIX: &str = "dgt_";
/// Failed sign-ins allowed before the account locks.
const FREE_ATTEMPTS: i64 = 5;
/// The first lock lasts this long; each further failure doubles it, up to an hour.
const FIRST_LOCK_SECS: i64 = 60;
const MAX_LOCK_SECS: i64 = 3600;

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

/// Hashes a password with argon2id on a blocking thread (it takes tens of milliseconds).
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the account does not exist, so that a
/// wrong username takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hs0xqU0OLHm0H2t9mH1wNH4a7H6bJ4v8XKSyJgJ3K6o";

/// The counter and lock after an attempt.
fn after_attempt(ok: bool, failed: i64, now: DateTime<Utc>) -> (i64, Option<DateTime<Utc>>) {
    if ok {
        return (0, None);
    }
    let failed = failed + 1;
    if failed < FREE_ATTEMPTS {
        return (failed, None);
    }
    let doublings = u32::try_from(failed - FREE_ATTEMPTS)
        .unwrap_or(u32::MAX)
        .min(10);
    let secs = (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS);
    (failed, Some(now + chrono::Duration::seconds(secs)))
}

fn locked_error(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    let minutes = ((until - now).num_seconds() + 59) / 60;
    AppError::Denied {
        code: "account_locked",
        message: format!("连续登录失败次数过多，账号已临时锁定，请{minutes}分钟后再试"),
    }
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
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let user = users::find_by_username(&mut tx, username).await?;
        tx.rollback().await?;
        let who = anonymous(username, source);
        let op = Op::new(
            "auth.login",
            "user",
            user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
        );
        if let Some(until) = user
            .as_ref()
            .and_then(|u| u.locked_until)
            .filter(|t| *t > now)
        {
            self.log(&who, &op.clone().detail("locked"), Outcome::Denied)
                .await?;
            return Err(locked_error(until, now));
        }
        let hash = user
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
        let verified = verify_password(password.to_owned(), hash).await;
        let Some(user) = user else {
            self.log(&who, &op.detail("unknown user"), Outcome::Failed)
                .await?;
            return Err(AppError::Unauthenticated(BAD_CREDENTIALS.to_owned()));
        };
        let ok = verified && !user.disabled;
        let (failed, locked_until) = after_attempt(ok, user.failed_attempts, now);
        let mut tx = self.store.begin_write().await?;
        users::record_attempt(&mut tx, user.id, failed, locked_until).await?;
        if !ok {
            let detail = if user.disabled {
                "disabled"
            } else {
                "wrong password"
            };
            self.log_in(&mut tx, &who, &op.detail(detail), Outcome::Failed)
                .await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated(BAD_CREDENTIALS.to_owned()));
        }
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

    /// Signs an insured person in with identity number and password (S8.1).
    pub async fn login_insured(
        &self,
        id_number: &str,
        password: &str,
        source: &str,
    ) -> AppResult<Login> {
        let now = Utc::now();
        let masked = dangan_domain::id_number::mask(id_number.trim());
        let who = anonymous(&masked, source);
        let id =
            IdNumber::parse(id_number, today()).map_err(|e| AppError::invalid("id_number", &e))?;
        let mut tx = self.store.begin().await?;
        let person = persons::find_by_id_number(&mut tx, id.as_str()).await?;
        let account = match &person {
            Some(p) => insured::get(&mut tx, p.id).await?,
            None => None,
        };
        tx.rollback().await?;
        let op = Op::new(
            "auth.insured_login",
            "person",
            person
                .as_ref()
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
        );
        if let Some(until) = account
            .as_ref()
            .and_then(|a| a.locked_until)
            .filter(|t| *t > now)
        {
            self.log(&who, &op.clone().detail("locked"), Outcome::Denied)
                .await?;
            return Err(locked_error(until, now));
        }
        let hash = account
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
        let verified = verify_password(password.to_owned(), hash).await;
        let (Some(person), Some(account)) = (person, account) else {
            self.log(&who, &op.detail("no account"), Outcome::Failed)
                .await?;
            return Err(AppError::Unauthenticated(
                "公民身份号码或密码不正确".to_owned(),
            ));
        };
        let (failed, locked_until) = after_attempt(verified, account.failed_attempts, now);
        let mut tx = self.store.begin_write().await?;
        insured::record_attempt(&mut tx, person.id, failed, locked_until).await?;
        if !verified {
            self.log_in(&mut tx, &who, &op.detail("wrong password"), Outcome::Failed)
                .await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated(
                "公民身份号码或密码不正确".to_owned(),
            ));
        }
        let token = random_token(INSURED_PREFIX)?;
        let expires_at = now + session_ttl(self)?;
        insured::insert_session(
            &mut tx,
            &token_digest(&token),
            person.id,
            now,
            expires_at,
            false,
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
        let basis = crate::insured::Basis::parse(basis, Some(id.as_str()))?;
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
            true,
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
    /// from `source`.
    pub async fn authenticate(&self, token: &str, source: &str) -> AppResult<Actor> {
        let expired = || AppError::Unauthenticated("登录已失效，请重新登录".to_owned());
        let digest = token_digest(token);
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let actor = if token.starts_with(STAFF_PREFIX) {
            match users::user_for_session(&mut tx, &digest, now).await? {
                Some(u) => staff_actor(&u, source)?,
                None => return Err(expired()),
            }
        } else if token.starts_with(INSURED_PREFIX) {
            let Some((pid, must_change)) = insured::session(&mut tx, &digest, now).await? else {
                return Err(expired());
            };
            let p = persons::get(&mut tx, pid).await?.ok_or_else(expired)?;
            insured_actor(pid, &p.id_number, &p.name, must_change, source)
        } else if token.starts_with(TOKEN_PREFIX) {
            let t = tokens::find_active(&mut tx, &digest)
                .await?
                .ok_or_else(|| AppError::Unauthenticated("接口令牌无效或已吊销".to_owned()))?;
            Actor {
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
            }
        } else {
            return Err(expired());
        };
        tx.rollback().await?;
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
                .deny(actor, op, crate::officers::two_officers_required())
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
                .deny(actor, op, crate::officers::two_officers_required())
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
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
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
    fn the_lock_starts_after_five_failures_and_doubles_up_to_an_hour() {
        let now = Utc::now();
        assert_eq!(after_attempt(false, 3, now), (4, None));
        let (n, lock) = after_attempt(false, 4, now);
        assert_eq!(n, 5);
        assert_eq!(lock.unwrap() - now, chrono::Duration::seconds(60));
        assert_eq!(
            after_attempt(false, 5, now).1.unwrap() - now,
            chrono::Duration::seconds(120)
        );
        assert_eq!(
            after_attempt(false, 40, now).1.unwrap() - now,
            chrono::Duration::seconds(3600)
        );
        assert_eq!(after_attempt(true, 40, now), (0, None));
    }
}
