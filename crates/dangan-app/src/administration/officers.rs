//! 三员分立 enforced — two officers for an officer account (双人审批).
//!
//! The security officer manages the business accounts (archivist, handler, window) alone. An
//! account of one of the three officers (administrator, security officer, auditor) is another
//! matter: creating one, changing any account into or out of an officer role, or disabling,
//! enabling or unlocking one takes two officers. The security officer requests it
//! ([`App::request_account_change`]); another officer — the administrator or another security
//! officer, never the requester and never the target — approves it
//! ([`App::approve_account_request`]), and only then does it happen, in the approving
//! transaction. The approver receives the generated one-time password of a created account: the
//! requester never sees it. Both steps and every refusal are in the operation log. The server's
//! console (`dangan user add`, acting as the system) is the one path that needs no second
//! officer: whoever holds the server's shell holds the database anyway.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_store::Tx;
use dangan_store::account_requests::{
    self, AccountRequestId, AccountRequestRow, Decision, NewAccountRequest,
};
use dangan_store::users::{self, UserId, UserRow};

use crate::administration::accounts::{
    UserView, check_display_name, check_username, generate_password, hash_password, user_view,
};
use dangan_domain::account::{AccountRequestKind, AccountRequestState};
use dangan_domain::code::Code;

use crate::administration::roles::{Actor, Role, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// The refusal of an officer-account change tried by one officer alone.
pub(crate) fn two_officers_required() -> AppError {
    AppError::Denied {
        code: "two_officers_required",
        message: "系统管理员、安全保密员、安全审计员的账号（新建、改变角色、停用、启用、解锁）须由安全保密员提出申请，经另一名三员（系统管理员或另一名安全保密员，非申请人、非当事人）批准后生效；或在服务器上用 dangan user add 办理".to_owned(),
    }
}

/// A request as entered by the security officer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountRequestInput {
    /// `create`: a new officer account; `change`: the role or state of an existing account.
    pub kind: String,
    /// With `create`: the new account's sign-in name.
    pub username: Option<String>,
    /// With `create`: the new account's display name (default: the username).
    pub display_name: Option<String>,
    /// With `change`: the account's row id.
    pub user_id: Option<i64>,
    /// The role asked for: admin, archivist, handler, window, auditor, security_officer.
    pub role: String,
    /// With `change`: disable the account (`false` enables it).
    #[serde(default)]
    pub disabled: bool,
    /// 申请理由 — why (at most 200 characters).
    pub reason: String,
}

/// A request as shown.
#[derive(Debug, Clone, Serialize)]
pub struct AccountRequestView {
    /// Row id.
    pub id: AccountRequestId,
    /// `create` or `change`.
    pub kind: AccountRequestKind,
    /// The account to change (`change`).
    pub target_user_id: Option<UserId>,
    /// Sign-in name of the new account, or of the target when asked.
    pub username: String,
    /// Display name of the new account, or of the target when asked.
    pub display_name: String,
    /// The target's role when asked (`change`).
    pub from_role: Option<Role>,
    /// The target's disabled state when asked (`change`).
    pub from_disabled: Option<bool>,
    /// The role asked for.
    pub role: Role,
    /// Whether the account is to be disabled.
    pub disabled: bool,
    /// 申请理由
    pub reason: String,
    /// The requesting officer's sign-in name.
    pub requested_by: String,
    /// When asked.
    pub requested_at: DateTime<Utc>,
    /// `pending`, `approved` or `rejected`.
    pub state: AccountRequestState,
    /// The deciding officer's sign-in name.
    pub decided_by: Option<String>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The decider's note.
    pub decision_note: Option<String>,
    /// The account an approved `create` made.
    pub created_user_id: Option<UserId>,
}

/// An approved request and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovedRequest {
    /// The request, now approved.
    pub request: AccountRequestView,
    /// The account created or changed.
    pub user: UserView,
    /// 初始密码 — the generated first password of a created account, shown to the approver this
    /// once (to be changed at first sign-in); absent for a change.
    pub initial_password: Option<String>,
}

fn stored_role(code: &str) -> AppResult<Role> {
    Role::parse(code).map_err(|_| AppError::Internal(format!("unknown stored role {code}")))
}

fn view(r: AccountRequestRow) -> AppResult<AccountRequestView> {
    Ok(AccountRequestView {
        id: r.id,
        kind: r.kind,
        target_user_id: r.target_user_id,
        username: r.username,
        display_name: r.display_name,
        from_role: r.from_role.as_deref().map(stored_role).transpose()?,
        from_disabled: r.from_disabled,
        role: stored_role(&r.role)?,
        disabled: r.disabled,
        reason: r.reason,
        requested_by: r.requested_by_name,
        requested_at: r.requested_at,
        state: r.state,
        decided_by: r.decided_by_name,
        decided_at: r.decided_at,
        decision_note: r.decision_note,
        created_user_id: r.created_user_id,
    })
}

fn not_found() -> AppError {
    AppError::not_found("request_not_found", "未找到该账号申请")
}

fn decided() -> AppError {
    AppError::Conflict {
        code: "request_decided",
        field: None,
        message: "该申请已被处理（批准或驳回），不能再次处理".to_owned(),
    }
}

fn approval_not_needed() -> AppError {
    AppError::invalid_with(
        "approval_not_needed",
        Some("role"),
        "不涉及三员账号的调整无需审批：业务人员账号由安全保密员在“用户与角色”中直接新建或调整",
    )
}

/// The detail of a request in the log: what it asks, without any password.
fn describe(r: &AccountRequestRow) -> String {
    match r.target_user_id {
        None => format!("create {} {}", r.username, r.role),
        Some(u) => format!(
            "change user {u} ({}) {}→{} disabled={}",
            r.username,
            r.from_role.as_deref().unwrap_or(""),
            r.role,
            r.disabled
        ),
    }
}

impl App {
    /// 申请 — the security officer asks for an officer-account change: a new officer account
    /// (`create`), or a change into, out of or within an officer role, or disabling, enabling
    /// or unlocking an officer (`change`). Nothing changes until another officer approves.
    pub async fn request_account_change(
        &self,
        actor: &Actor,
        input: &AccountRequestInput,
    ) -> AppResult<AccountRequestView> {
        self.authorize(actor, UseCase::RequestOfficerChange).await?;
        let Some(me) = actor.user_id() else {
            return Err(AppError::Forbidden);
        };
        let role = Role::parse(&input.role)?;
        let reason = crate::text::required("reason", &input.reason, 200, "申请理由")?;
        let mut tx = self.store.begin_write().await?;
        let subject = match AccountRequestKind::from_code(input.kind.trim()) {
            Some(AccountRequestKind::Create) => new_officer_account(&mut tx, input, role).await?,
            Some(AccountRequestKind::Change) => {
                let target = requested_account(&mut tx, input).await?;
                if target.id == me {
                    tx.rollback().await?;
                    let op = Op::new("user.request", "user", target.id)
                        .detail(format!("own account → {}", role.code()));
                    return Err(self
                        .deny(
                            actor,
                            op,
                            AppError::Denied {
                                code: "own_account",
                                message: "不能申请调整本人账号：须由其他三员提出".to_owned(),
                            },
                        )
                        .await);
                }
                account_to_change(target, role)?
            }
            _ => {
                return Err(AppError::invalid_with(
                    "invalid_kind",
                    Some("kind"),
                    "申请类型应为 create（新建三员账号）或 change（调整账号角色或状态）",
                ));
            }
        };
        let RequestSubject {
            target,
            username,
            display_name,
            from_role,
            from_disabled,
        } = subject;
        let id = account_requests::insert(
            &mut tx,
            &NewAccountRequest {
                kind: if target.is_some() {
                    AccountRequestKind::Change
                } else {
                    AccountRequestKind::Create
                },
                target_user_id: target,
                username: &username,
                display_name: &display_name,
                from_role: from_role.map(Role::code),
                from_disabled,
                role: role.code(),
                disabled: target.is_some() && input.disabled,
                reason: &reason,
                requested_by: me,
                requested_by_name: &actor.username,
            },
            Utc::now(),
        )
        .await?;
        let row = account_requests::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("request vanished".to_owned()))?;
        let op = Op::new("user.request", "account_request", id).detail(describe(&row));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        view(row)
    }

    /// The account requests, newest first: `pending` (the default) or `all` (also the decided
    /// ones), at most 200. For the officers who may request or decide.
    pub async fn account_requests(
        &self,
        actor: &Actor,
        state: Option<&str>,
    ) -> AppResult<Vec<AccountRequestView>> {
        self.authorize(actor, UseCase::ApproveOfficerChange).await?;
        let all = match state.map(str::trim) {
            None | Some("" | "pending") => false,
            Some("all") => true,
            Some(_) => {
                return Err(AppError::invalid_with(
                    "invalid_state",
                    Some("state"),
                    "state 应为 pending（待处理）或 all（全部）",
                ));
            }
        };
        let mut tx = self.store.begin().await?;
        let rows = account_requests::list(&mut tx, !all, 200).await?;
        tx.rollback().await?;
        rows.into_iter().map(view).collect()
    }

    /// 批准 — a second officer approves a pending request; the change it asks for happens now,
    /// in the same transaction. The approver may be neither the requester nor the target, and a
    /// target changed since the request makes it stale (to be rejected and asked again). For a
    /// new account the generated first password is returned to the approver, once.
    pub async fn approve_account_request(
        &self,
        actor: &Actor,
        id: AccountRequestId,
    ) -> AppResult<ApprovedRequest> {
        self.authorize(actor, UseCase::ApproveOfficerChange).await?;
        let Some(me) = actor.user_id() else {
            return Err(AppError::Forbidden);
        };
        // Hashing takes tens of milliseconds: done before the writing transaction.
        let password = self.password_for_new_account(id).await?;
        let op = Op::new("user.request_approve", "account_request", id);
        let mut tx = self.store.begin_write().await?;
        let row = account_requests::get(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        if row.state != AccountRequestState::Pending {
            return Err(decided());
        }
        if let Some(refusal) = approval_refusal(&row, me) {
            tx.rollback().await?;
            return Err(self.deny(actor, op.detail(describe(&row)), refusal).await);
        }
        let role = stored_role(&row.role)?;
        // Claim the request first: a second approver racing on it finds it decided.
        let decision = Decision {
            state: AccountRequestState::Approved,
            by: me,
            by_name: &actor.username,
            note: None,
        };
        if !account_requests::decide(&mut tx, id, &decision, Utc::now()).await? {
            return Err(decided());
        }
        let (user, initial_password, change) =
            carry_out_request(&mut tx, id, &row, role, password).await?;
        self.log_in(&mut tx, actor, &op.detail(describe(&row)), Outcome::Ok)
            .await?;
        self.log_in(&mut tx, actor, &change, Outcome::Ok).await?;
        let user = users::get(&mut tx, user)
            .await?
            .ok_or_else(|| AppError::Internal("user vanished".to_owned()))?;
        let decided_row = account_requests::get(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(ApprovedRequest {
            request: view(decided_row)?,
            user: user_view(&user)?,
            initial_password,
        })
    }

    /// The first password of the account a `create` request would make, generated and hashed
    /// (tens of milliseconds, so before the writing transaction): (plain, hash); `None` for a
    /// `change` or an unknown request.
    async fn password_for_new_account(
        &self,
        id: AccountRequestId,
    ) -> AppResult<Option<(String, String)>> {
        let mut tx = self.store.begin().await?;
        let first = account_requests::get(&mut tx, id).await?;
        tx.rollback().await?;
        Ok(match first {
            Some(r) if r.target_user_id.is_none() => {
                let p = generate_password()?;
                Some((p.clone(), hash_password(p).await?))
            }
            _ => None,
        })
    }

    /// 驳回 — an officer rejects a pending request (the requester may withdraw their own; the
    /// target may not reject a request about themselves), with an optional note.
    pub async fn reject_account_request(
        &self,
        actor: &Actor,
        id: AccountRequestId,
        note: Option<&str>,
    ) -> AppResult<AccountRequestView> {
        self.authorize(actor, UseCase::ApproveOfficerChange).await?;
        let Some(me) = actor.user_id() else {
            return Err(AppError::Forbidden);
        };
        let note = crate::text::optional("note", note, 200, "驳回说明")?;
        let op = Op::new("user.request_reject", "account_request", id);
        let mut tx = self.store.begin_write().await?;
        let row = account_requests::get(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        if row.state != AccountRequestState::Pending {
            return Err(decided());
        }
        if row.target_user_id == Some(me) {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    op.detail(describe(&row)),
                    AppError::Denied {
                        code: "own_account",
                        message: "不能处理涉及本人账号的申请：须由其他三员处理".to_owned(),
                    },
                )
                .await);
        }
        let decision = Decision {
            state: AccountRequestState::Rejected,
            by: me,
            by_name: &actor.username,
            note: note.as_deref(),
        };
        if !account_requests::decide(&mut tx, id, &decision, Utc::now()).await? {
            return Err(decided());
        }
        self.log_in(&mut tx, actor, &op.detail(describe(&row)), Outcome::Ok)
            .await?;
        let row = account_requests::get(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        view(row)
    }
}

/// Who a request is about: the account to change, or the new account, and what it was when
/// asked.
struct RequestSubject {
    target: Option<UserId>,
    username: String,
    display_name: String,
    from_role: Option<Role>,
    from_disabled: Option<bool>,
}

/// The subject of a `create` request: a new officer account whose name is free.
async fn new_officer_account(
    tx: &mut Tx,
    input: &AccountRequestInput,
    role: Role,
) -> AppResult<RequestSubject> {
    let username = check_username(input.username.as_deref().unwrap_or(""))?;
    let display_name = check_display_name(input.display_name.as_deref(), username)?;
    if !role.is_officer() {
        return Err(approval_not_needed());
    }
    if users::find_by_username(tx, username).await?.is_some() {
        return Err(AppError::Conflict {
            code: "username_taken",
            field: Some("username".to_owned()),
            message: "该用户名已被使用，请换一个".to_owned(),
        });
    }
    Ok(RequestSubject {
        target: None,
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        from_role: None,
        from_disabled: None,
    })
}

/// The account a `change` request names.
async fn requested_account(tx: &mut Tx, input: &AccountRequestInput) -> AppResult<UserRow> {
    let id = input.user_id.filter(|i| *i > 0).ok_or_else(|| {
        AppError::invalid_with("user_required", Some("user_id"), "请选择要调整的账号")
    })?;
    users::get(tx, UserId(id))
        .await?
        .ok_or_else(|| AppError::not_found("user_not_found", "未找到该用户"))
}

/// The subject of a `change` request of `target` into `role`: only a change into, out of or
/// within an officer role needs a request.
fn account_to_change(target: UserRow, role: Role) -> AppResult<RequestSubject> {
    let from = stored_role(&target.role)?;
    if !from.is_officer() && !role.is_officer() {
        return Err(approval_not_needed());
    }
    Ok(RequestSubject {
        target: Some(target.id),
        username: target.username,
        display_name: target.display_name,
        from_role: Some(from),
        from_disabled: Some(target.disabled),
    })
}

/// Why officer `me` may not approve the request: their own request, or one about their own
/// account.
fn approval_refusal(row: &AccountRequestRow, me: UserId) -> Option<AppError> {
    if row.requested_by == me {
        Some(AppError::Denied {
            code: "own_request",
            message: "不能批准本人提出的申请：须由另一名三员批准".to_owned(),
        })
    } else if row.target_user_id == Some(me) {
        Some(AppError::Denied {
            code: "own_account",
            message: "不能批准涉及本人账号的申请：须由其他三员批准".to_owned(),
        })
    } else {
        None
    }
}

/// Does what an approved request asks: changes the target's role and state (unless it changed
/// since the request), or creates the account with its first password. The account, the first
/// password of a created one, and the log entry of the change.
async fn carry_out_request(
    tx: &mut Tx,
    id: AccountRequestId,
    row: &AccountRequestRow,
    role: Role,
    password: Option<(String, String)>,
) -> AppResult<(UserId, Option<String>, Op)> {
    Ok(match (row.target_user_id, password) {
        (Some(target), _) => {
            let current = users::get(tx, target).await?;
            let stale = current.as_ref().is_none_or(|u| {
                Some(u.role.as_str()) != row.from_role.as_deref()
                    || Some(u.disabled) != row.from_disabled
            });
            if stale {
                return Err(AppError::Conflict {
                    code: "request_stale",
                    field: None,
                    message: "该账号在提出申请后已有变动：请驳回本申请，按现状重新申请".to_owned(),
                });
            }
            users::set_role(tx, target, role.code(), row.disabled).await?;
            let change = Op::new("user.update", "user", target).detail(format!(
                "role={} disabled={}; request {id} by {}",
                role.code(),
                row.disabled,
                row.requested_by_name
            ));
            (target, None, change)
        }
        (None, Some((plain, hash))) => {
            let uid = users::insert(
                tx,
                &row.username,
                &row.display_name,
                role.code(),
                &hash,
                true,
                Utc::now(),
            )
            .await?;
            account_requests::set_created_user(tx, id, uid).await?;
            let change = Op::new("user.create", "user", uid).detail(format!(
                "{} {}; request {id} by {}",
                row.username,
                role.code(),
                row.requested_by_name
            ));
            (uid, Some(plain), change)
        }
        // The request was created between the two reads: ask again.
        (None, None) => return Err(decided()),
    })
}
