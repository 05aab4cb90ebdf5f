//! API tokens of machine clients (the pension business system): created with explicit scopes,
//! shown once, revocable at any time.
//!
//! A token carries no more than its issuer may do: each scope's use-case must be granted (✔) to
//! the issuer's own role, and the machine scopes that write into archives from outside
//! (`sync:write`, `archive:write`) are issued by the administrator only. So the administrator
//! issues the business system's tokens, the security officer only read-only reference tokens;
//! either may list and revoke any token (revoking is the incident response). The console
//! (`dangan user token`) acts as the system.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_store::tokens::{self, TokenId};

use crate::administration::accounts::{TOKEN_PREFIX, random_token, token_digest};
use crate::administration::roles::{Actor, Grant, Role, Subject, UseCase, grant};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// Scopes only the administrator issues: they let a machine write into archives (a death
/// record, contributions, whole archived businesses) without any person at the agency.
pub const MACHINE_SCOPES: [&str; 2] = ["sync:write", "archive:write"];

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    /// Row id.
    pub id: TokenId,
    /// Name.
    pub name: String,
    /// Scope codes.
    pub scopes: Vec<String>,
    /// Created by.
    pub created_by: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A created token: the secret is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedToken {
    /// The token's listing.
    pub token: TokenView,
    /// The bearer secret.
    pub secret: String,
}

fn view(t: tokens::TokenRow) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        scopes: t.scopes.split_whitespace().map(str::to_owned).collect(),
        created_by: t.created_by,
        created_at: t.created_at,
        revoked_at: t.revoked_at,
    }
}

impl App {
    /// Creates a token with the given scopes (`reference:read`, `catalogue:read`,
    /// `persons:search`, `persons:write`, `events:write`, `files:write`, `sync:write`,
    /// `archive:write`, `environment:write`), each of which the issuer's own role must be granted; the machine
    /// scopes only by the administrator. A refused scope is logged as denied.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[String],
    ) -> AppResult<CreatedToken> {
        self.authorize(actor, UseCase::ManageTokens).await?;
        let name = check_token_name(name)?;
        let codes = token_scopes(scopes)?;
        if actor.subject != Subject::System
            && let Some(refusal) = scope_refusal(actor.role, &codes)
        {
            let op =
                Op::new("token.create", "token", "").detail(format!("{name}: {}", codes.join(" ")));
            return Err(self.deny(actor, op, refusal).await);
        }
        let secret = random_token(TOKEN_PREFIX)?;
        let mut tx = self.store.begin_write().await?;
        let id = tokens::insert(
            &mut tx,
            name,
            &token_digest(&secret),
            &codes.join(" "),
            &actor.username,
            Utc::now(),
        )
        .await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("token.create", "token", id).detail(codes.join(" ")),
            Outcome::Ok,
        )
        .await?;
        let row = tokens::list(&mut tx)
            .await?
            .into_iter()
            .find(|t| t.id == id);
        tx.commit().await?;
        let row = row.ok_or_else(|| AppError::Internal("created token not found".to_owned()))?;
        Ok(CreatedToken {
            token: view(row),
            secret,
        })
    }

    /// Every token, newest first.
    pub async fn tokens(&self, actor: &Actor) -> AppResult<Vec<TokenView>> {
        self.authorize(actor, UseCase::ManageTokens).await?;
        let mut tx = self.store.begin().await?;
        let rows = tokens::list(&mut tx).await?;
        tx.rollback().await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Revokes a token at once.
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> AppResult<()> {
        self.authorize(actor, UseCase::ManageTokens).await?;
        let mut tx = self.store.begin_write().await?;
        if !tokens::revoke(&mut tx, id, Utc::now()).await? {
            return Err(AppError::not_found(
                "token_not_found",
                "未找到该令牌或已吊销",
            ));
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("token.revoke", "token", id),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks a token's name: 2 to 40 letters, digits, dots, underscores or hyphens.
fn check_token_name(name: &str) -> AppResult<&str> {
    let name = name.trim();
    if !(2..=40).contains(&name.len())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(AppError::invalid_with(
            "invalid_token_name",
            Some("name"),
            "令牌名称应为2至40位字母、数字、点、下划线或连字符",
        ));
    }
    Ok(name)
}

/// Checks the scopes (权限范围) asked for a token: at least one, each known; their codes, each
/// once, in the order asked.
fn token_scopes(scopes: &[String]) -> AppResult<Vec<&'static str>> {
    if scopes.is_empty() {
        return Err(AppError::invalid_with(
            "invalid_scope",
            Some("scopes"),
            "请至少选择一个权限范围",
        ));
    }
    let mut codes = Vec::new();
    for s in scopes {
        let uc = UseCase::from_scope(s.trim()).ok_or_else(|| {
            AppError::invalid_with(
                "invalid_scope",
                Some("scopes"),
                format!("权限范围“{}”无效：可选 reference:read、catalogue:read、persons:search、persons:write、events:write、files:write、sync:write、archive:write、environment:write", s.trim()),
            )
        })?;
        if let Some(code) = uc.scope().filter(|c| !codes.contains(c)) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// Why a person of `role` may not issue a token with these scopes: a business system's write
/// scope issued by other than the administrator, or a scope beyond the issuer's own rights.
fn scope_refusal(role: Role, codes: &[&str]) -> Option<AppError> {
    for code in codes {
        let Some(uc) = UseCase::from_scope(code) else {
            continue;
        };
        if MACHINE_SCOPES.contains(code) && role != Role::Admin {
            return Some(AppError::Denied {
                code: "machine_scope_admin_only",
                message: format!(
                    "业务系统写入令牌（{}）只能由系统管理员签发",
                    MACHINE_SCOPES.join("、")
                ),
            });
        } else if grant(role, uc) != Grant::Yes {
            return Some(AppError::Denied {
                code: "scope_beyond_issuer",
                message: format!(
                    "不能签发超出本人权限的令牌：您的角色无权“{}”（{code}）",
                    uc.label()
                ),
            });
        }
    }
    None
}
