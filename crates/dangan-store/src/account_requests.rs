//! 三员账号申请 — requests for a change to an officer account (双人审批): one officer asks, another
//! decides. A request is decided once: the decision is an update conditional on the row still
//! being pending, so two approvers racing on one request cannot both act on it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::account::{AccountRequestKind, AccountRequestState};

use crate::users::UserId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an account request.
    AccountRequestId
);

/// A request to insert.
#[derive(Debug, Clone)]
pub struct NewAccountRequest<'a> {
    /// `create` (a new account) or `change` (role or state of an existing one).
    pub kind: AccountRequestKind,
    /// The account to change (`None` for `create`).
    pub target_user_id: Option<UserId>,
    /// The new account's sign-in name, or the target's as it was when asked.
    pub username: &'a str,
    /// The new account's display name, or the target's.
    pub display_name: &'a str,
    /// The target's role when asked (`change`): approval checks it is still the same.
    pub from_role: Option<&'a str>,
    /// The target's disabled state when asked (`change`).
    pub from_disabled: Option<bool>,
    /// The role asked for.
    pub role: &'a str,
    /// Whether the account is to be disabled.
    pub disabled: bool,
    /// Why (申请理由).
    pub reason: &'a str,
    /// The requesting officer.
    pub requested_by: UserId,
    /// The requesting officer's sign-in name.
    pub requested_by_name: &'a str,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AccountRequestRow {
    /// Row id.
    pub id: AccountRequestId,
    /// 新建账号 or 变更账号.
    #[sqlx(try_from = "String")]
    pub kind: AccountRequestKind,
    /// The account to change.
    pub target_user_id: Option<UserId>,
    /// Sign-in name of the new account or of the target.
    pub username: String,
    /// Display name of the new account or of the target.
    pub display_name: String,
    /// The target's role when asked.
    pub from_role: Option<String>,
    /// The target's disabled state when asked.
    pub from_disabled: Option<bool>,
    /// The role asked for.
    pub role: String,
    /// Whether the account is to be disabled.
    pub disabled: bool,
    /// Why.
    pub reason: String,
    /// Requesting officer.
    pub requested_by: UserId,
    /// Requesting officer's sign-in name.
    pub requested_by_name: String,
    /// When asked.
    pub requested_at: DateTime<Utc>,
    /// 待处理, 已批准 or 已驳回.
    #[sqlx(try_from = "String")]
    pub state: AccountRequestState,
    /// Deciding officer.
    pub decided_by: Option<UserId>,
    /// Deciding officer's sign-in name.
    pub decided_by_name: Option<String>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's note (a rejection's reason).
    pub decision_note: Option<String>,
    /// The account an approved `create` made.
    pub created_user_id: Option<UserId>,
}

const COLUMNS: &str = "id, kind, target_user_id, username, display_name, from_role, from_disabled, role, disabled, reason, requested_by, requested_by_name, requested_at, state, decided_by, decided_by_name, decided_at, decision_note, created_user_id";

/// Records a pending request.
pub async fn insert(
    tx: &mut Tx,
    r: &NewAccountRequest<'_>,
    now: DateTime<Utc>,
) -> StoreResult<AccountRequestId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO account_requests (kind, target_user_id, username, display_name, from_role, from_disabled, role, disabled, reason, requested_by, requested_by_name, requested_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending') RETURNING id",
        )
        .bind(r.kind.code())
        .bind(r.target_user_id)
        .bind(r.username)
        .bind(r.display_name)
        .bind(r.from_role)
        .bind(r.from_disabled)
        .bind(r.role)
        .bind(r.disabled)
        .bind(r.reason)
        .bind(r.requested_by)
        .bind(r.requested_by_name)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(AccountRequestId(id))
}

/// The request with this id.
pub async fn get(tx: &mut Tx, id: AccountRequestId) -> StoreResult<Option<AccountRequestRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM account_requests WHERE id = $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// Requests newest first: only the pending ones, or all of them; at most `limit`.
pub async fn list(
    tx: &mut Tx,
    pending_only: bool,
    limit: i64,
) -> StoreResult<Vec<AccountRequestRow>> {
    let filter = if pending_only {
        "WHERE state = 'pending'"
    } else {
        ""
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM account_requests {filter} ORDER BY id DESC LIMIT $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(limit).fetch_all(c).await)?)
}

/// A decision on a request.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// 已批准 or 已驳回.
    pub state: AccountRequestState,
    /// The deciding officer.
    pub by: UserId,
    /// The deciding officer's sign-in name.
    pub by_name: &'a str,
    /// A note (a rejection's reason).
    pub note: Option<&'a str>,
}

/// Decides a request if it is still pending; `false` when it was not (already decided, or no
/// such request), and then nothing changes. Called first in the deciding transaction, so the
/// row stays locked (PostgreSQL) or the database write-locked (SQLite) until the change it
/// approves is committed with it.
pub async fn decide(
    tx: &mut Tx,
    id: AccountRequestId,
    d: &Decision<'_>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE account_requests SET state = $1, decided_by = $2, decided_by_name = $3, decided_at = $4, decision_note = $5
             WHERE id = $6 AND state = 'pending'",
        )
        .bind(d.state.code())
        .bind(d.by)
        .bind(d.by_name)
        .bind(now)
        .bind(d.note)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Records the account an approved `create` request made.
pub async fn set_created_user(tx: &mut Tx, id: AccountRequestId, user: UserId) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE account_requests SET created_user_id = $1 WHERE id = $2")
            .bind(user)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
