//! Staff accounts (工作人员账号), managed by the security officer: created with a given or a
//! generated password, listed, given a role, disabled. Officer accounts need a second officer
//! (`officers.rs`, 三员分立).

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_store::users::{self, UserId};

use super::passwords::{check_password_policy, generate_password, hash_password};
use crate::administration::roles::{Actor, Role, Subject, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A staff user as shown to the security officer.
#[derive(Debug, Clone, Serialize)]
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
    /// Locked now (the lock has not ended yet).
    pub locked: bool,
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
        locked: u.locked_until.is_some_and(|t| t > Utc::now()),
    })
}

impl App {
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
            return Err(user_not_found());
        };
        let op = Op::new("user.update", "user", id)
            .detail(format!("role={} disabled={disabled}", role.code()));
        // Checked in the writing transaction: the target's role cannot change in between.
        let officer_involved =
            role.is_officer() || Role::parse(&current.role).is_ok_and(Role::is_officer);
        if let Some(refusal) = officers_need_two(actor, officer_involved) {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        if !users::set_role(&mut tx, id, role.code(), disabled).await? {
            return Err(user_not_found());
        }
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = users::get(&mut tx, id).await?.ok_or_else(user_not_found)?;
        tx.commit().await?;
        user_view(&row)
    }
}

/// A staff account given a new password by the security officer: shown once, to be changed at
/// the next sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordReset {
    /// The account after the reset (unlocked).
    pub user: UserView,
    /// The generated password, shown once.
    pub initial_password: String,
}

impl App {
    /// 重置密码: gives a business account a generated password that must be changed at the next
    /// sign-in, unlocks it and ends its sessions. Not the officer's own account, and not an
    /// officer account (those need a second officer, 三员分立).
    pub async fn reset_user_password(&self, actor: &Actor, id: UserId) -> AppResult<PasswordReset> {
        self.authorize(actor, UseCase::ManageUsers).await?;
        let op = Op::new("user.password_reset", "user", id);
        let password = generate_password()?;
        let hash = hash_password(password.clone()).await?;
        let mut tx = self.store.begin_write().await?;
        if let Some(refusal) = officer_account_refusal(&mut tx, actor, id).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        users::reset_password(&mut tx, id, &hash).await?;
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = users::get(&mut tx, id).await?.ok_or_else(user_not_found)?;
        tx.commit().await?;
        Ok(PasswordReset {
            user: user_view(&row)?,
            initial_password: password,
        })
    }

    /// 解锁: clears a business account's lock and failure counter after repeated failed
    /// sign-ins, before the lock would end by itself. The same limits as a password reset.
    pub async fn unlock_user(&self, actor: &Actor, id: UserId) -> AppResult<UserView> {
        self.authorize(actor, UseCase::ManageUsers).await?;
        let op = Op::new("user.unlock", "user", id);
        let mut tx = self.store.begin_write().await?;
        if let Some(refusal) = officer_account_refusal(&mut tx, actor, id).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        users::reset_attempts(&mut tx, id).await?;
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = users::get(&mut tx, id).await?.ok_or_else(user_not_found)?;
        tx.commit().await?;
        user_view(&row)
    }
}

/// Checks the account a security officer resets or unlocks: not their own, existing, and the
/// refusal (to log as a denial) when it is an officer account, which needs a second officer.
async fn officer_account_refusal(
    tx: &mut dangan_store::Tx,
    actor: &Actor,
    id: UserId,
) -> AppResult<Option<AppError>> {
    if actor.user_id() == Some(id) {
        return Err(AppError::invalid_with(
            "own_account",
            Some("id"),
            "不能重置或解锁本人账号；请使用“修改密码”",
        ));
    }
    let Some(current) = users::get(tx, id).await? else {
        return Err(user_not_found());
    };
    let officer = Role::parse(&current.role).is_ok_and(Role::is_officer);
    Ok(officers_need_two(actor, officer))
}

/// An officer's account (三员) is changed only through a request another officer approves: the
/// refusal when one is involved and the actor is a person (the system, e.g. at set-up, may).
fn officers_need_two(actor: &Actor, officer_involved: bool) -> Option<AppError> {
    (officer_involved && actor.subject != Subject::System)
        .then(crate::administration::officers::two_officers_required)
}

fn user_not_found() -> AppError {
    AppError::not_found("user_not_found", "未找到该用户")
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
