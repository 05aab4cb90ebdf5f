//! 用户与角色 and the insured person's online account: the security officer's business
//! accounts, the two-officer requests for officer accounts (the request form, and the pending
//! requests with approve/reject for the other officers), and opening or resetting an insured
//! person's account on a recorded basis.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use dangan_app::administration::accounts::BasisInput;
use dangan_app::administration::accounts::UserView;
use dangan_app::administration::officers::{AccountRequestInput, AccountRequestView};
use dangan_app::ids::{AccountRequestId, PersonId, UserId};
use dangan_app::{Actor, AppError, Role, UseCase};

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;

/// A pending request as the page lists it (times in Beijing time).
#[derive(Debug, Clone)]
pub struct RequestLine {
    id: i64,
    summary: String,
    reason: String,
    requested_by: String,
    requested_at: String,
    can_approve: bool,
    can_reject: bool,
}

fn role_label(r: Option<Role>) -> &'static str {
    r.map_or("", Role::label)
}

fn line(actor: &Actor, r: AccountRequestView) -> RequestLine {
    let own = r.requested_by == actor.username;
    let about_me = r.target_user_id.is_some() && r.target_user_id == actor.user_id();
    let summary = match r.target_user_id {
        None => format!(
            "新建{}账号 {}（{}）",
            r.role.label(),
            r.username,
            r.display_name
        ),
        Some(_) => format!(
            "调整账号 {}（{}）：{}{} → {}{}",
            r.username,
            r.display_name,
            role_label(r.from_role),
            if r.from_disabled == Some(true) {
                "（已停用）"
            } else {
                ""
            },
            r.role.label(),
            if r.disabled { "（停用）" } else { "" }
        ),
    };
    RequestLine {
        id: r.id.0,
        summary,
        reason: r.reason,
        requested_by: r.requested_by,
        requested_at: dangan_app::local_time(r.requested_at),
        can_approve: !own && !about_me,
        can_reject: !about_me,
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    shell: Shell,
    can_manage: bool,
    can_request: bool,
    users: Vec<UserView>,
    business_roles: Vec<(String, String)>,
    officer_roles: Vec<(String, String)>,
    staff_roles: Vec<(String, String)>,
    requests: Vec<RequestLine>,
    notice: String,
    created: String,
    password: String,
    error: String,
}

/// What a page shows besides the lists: a notice, a created account with its one-time
/// password, an error.
#[derive(Debug, Default)]
struct Outcome {
    notice: String,
    created: String,
    password: String,
    error: String,
}

fn roles(filter: impl Fn(Role) -> bool) -> Vec<(String, String)> {
    Role::STAFF
        .into_iter()
        .filter(|r| filter(*r))
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect()
}

async fn render_users(app: &AppState, actor: &Actor, v: &Visitor, o: Outcome) -> Response {
    let can_manage = dangan_app::administration::roles::allowed(actor.role, UseCase::ManageUsers);
    let users = if can_manage {
        match app.users(actor).await {
            Ok(u) => u,
            Err(e) => return failure(actor, v, &e),
        }
    } else {
        Vec::new()
    };
    let requests = match app.account_requests(actor, None).await {
        Ok(r) => r.into_iter().map(|r| line(actor, r)).collect(),
        Err(e) => return failure(actor, v, &e),
    };
    with_error_status(
        html(&UsersPage {
            shell: shell(actor, v, "/users"),
            can_manage,
            can_request: dangan_app::administration::roles::allowed(
                actor.role,
                UseCase::RequestOfficerChange,
            ),
            users,
            business_roles: roles(|r| !r.is_officer()),
            officer_roles: roles(Role::is_officer),
            staff_roles: roles(|_| true),
            requests,
            notice: o.notice,
            created: o.created,
            password: o.password,
            error: o.error.clone(),
        }),
        !o.error.is_empty(),
    )
}

fn error(e: &AppError) -> Outcome {
    Outcome {
        error: e.to_string(),
        ..Outcome::default()
    }
}

/// `GET /users`: 用户与角色 (security officer; the administrator sees the requests to decide).
pub async fn users(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_users(&app, &actor, &v, Outcome::default()).await
}

/// The new-user form.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    username: String,
    #[serde(default)]
    display_name: String,
    role: String,
}

/// `POST /users`: creates a business account; the generated password is shown once.
pub async fn user_create(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<UserForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let role = match Role::parse(&f.role) {
        Ok(r) => r,
        Err(e) => return render_users(&app, &actor, &v, error(&e)).await,
    };
    let display = Some(f.display_name.trim()).filter(|s| !s.is_empty());
    match app.add_user(&actor, &f.username, display, role, None).await {
        Ok((u, pw)) => {
            let o = Outcome {
                created: u.username,
                password: pw.unwrap_or_default(),
                ..Outcome::default()
            };
            render_users(&app, &actor, &v, o).await
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_users(&app, &actor, &v, error(&e)).await,
    }
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

/// `POST /users/{id}/role`: changes a business account's role or state.
pub async fn user_role(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let result = match Role::parse(&f.role) {
        Ok(role) => app
            .set_user_role(&actor, UserId(id), role, f.disabled.is_some())
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_users(&app, &actor, &v, error(&e)).await,
    }
}

/// The users page after an action: its outcome shown, or the error beside the forms (or as a
/// page of its own when it does not belong there).
async fn after(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    r: Result<Outcome, AppError>,
) -> Response {
    match r {
        Ok(o) => render_users(app, actor, v, o).await,
        Err(e) if !belongs_on_form(&e) => failure(actor, v, &e),
        Err(e) => render_users(app, actor, v, error(&e)).await,
    }
}

/// `POST /users/{id}/password-reset`: 重置密码 — a generated password, shown once.
pub async fn user_password_reset(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let r = app
        .reset_user_password(&actor, UserId(id))
        .await
        .map(|r| Outcome {
            notice: format!(
                "已重置账号 {}（{}）的密码，并已解锁、结束其全部会话。",
                r.user.username, r.user.display_name
            ),
            created: r.user.username,
            password: r.initial_password,
            ..Outcome::default()
        });
    after(&app, &actor, &v, r).await
}

/// `POST /users/{id}/unlock`: 解锁 — ends the lock after repeated failed sign-ins.
pub async fn user_unlock(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let r = app.unlock_user(&actor, UserId(id)).await.map(|u| Outcome {
        notice: format!("已解锁账号 {}（{}）。", u.username, u.display_name),
        ..Outcome::default()
    });
    after(&app, &actor, &v, r).await
}

/// The request form (新建三员账号 or 调整账号).
#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    user_id: Option<i64>,
    role: String,
    #[serde(default)]
    disabled: Option<String>,
    reason: String,
}

/// `POST /users/requests`: the security officer asks; another officer decides.
pub async fn request_create(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<RequestForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = AccountRequestInput {
        kind: f.kind,
        username: Some(f.username).filter(|s| !s.trim().is_empty()),
        display_name: Some(f.display_name).filter(|s| !s.trim().is_empty()),
        user_id: f.user_id,
        role: f.role,
        disabled: f.disabled.is_some(),
        reason: f.reason,
    };
    match app.request_account_change(&actor, &input).await {
        Ok(r) => {
            let o = Outcome {
                notice: format!("已提出申请（第 {} 号），待另一名三员批准后生效", r.id),
                ..Outcome::default()
            };
            render_users(&app, &actor, &v, o).await
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_users(&app, &actor, &v, error(&e)).await,
    }
}

/// A decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /users/requests/{id}/approve`: the second officer approves; a new account's one-time
/// password is shown to them, once.
pub async fn request_approve(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app
        .approve_account_request(&actor, AccountRequestId(id))
        .await
    {
        Ok(done) => {
            let o = Outcome {
                notice: format!("已批准第 {id} 号申请并生效"),
                created: if done.initial_password.is_some() {
                    done.user.username
                } else {
                    String::new()
                },
                password: done.initial_password.unwrap_or_default(),
                ..Outcome::default()
            };
            render_users(&app, &actor, &v, o).await
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_users(&app, &actor, &v, error(&e)).await,
    }
}

/// `POST /users/requests/{id}/reject`
pub async fn request_reject(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app
        .reject_account_request(&actor, AccountRequestId(id), Some(&f.note))
        .await
    {
        Ok(_) => {
            let o = Outcome {
                notice: format!("已驳回第 {id} 号申请"),
                ..Outcome::default()
            };
            render_users(&app, &actor, &v, o).await
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_users(&app, &actor, &v, error(&e)).await,
    }
}

// ---------------------------------------------------------------- insured online account

#[derive(Template)]
#[template(path = "account_opened.html")]
struct AccountOpenedPage {
    shell: Shell,
    person: i64,
    password: String,
}

/// The open-account form: the basis, and with `card` the number read from the card.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    id_number: String,
}

/// `POST /persons/{id}/account`: opens or resets the person's online account (a registered
/// query, or the person present with their card); the generated password is shown once.
pub async fn account_open(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<AccountForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let basis = BasisInput {
        basis: f.basis,
        id_number: Some(f.id_number).filter(|s| !s.trim().is_empty()),
    };
    match app.open_insured_account(&actor, PersonId(id), &basis).await {
        Ok(opened) => html(&AccountOpenedPage {
            shell: shell(&actor, &v, "/persons"),
            person: id,
            password: opened.initial_password,
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}
