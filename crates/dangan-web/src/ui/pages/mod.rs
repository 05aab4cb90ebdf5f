//! The page handlers, one module per page family (mirroring `templates/`), and what every page
//! shares: the shell around staff pages, rendering, and the answer to a failed use-case.

pub(super) mod accounts;
pub(super) mod audit;
pub(super) mod catalogue;
pub(super) mod custody;
pub(super) mod equipment;
pub(super) mod events;
pub(super) mod export;
pub(super) mod files;
pub(super) mod handovers;
pub(super) mod incident_list;
pub(super) mod incidents;
pub(super) mod jobs;
pub(super) mod my;
pub(super) mod outbox;
pub(super) mod persons;
pub(super) mod queries;
pub(super) mod rooms;
pub(super) mod signin;
pub(super) mod supplements;
pub(super) mod volumes;
pub(super) mod workbench;

use crate::ui::session::Visitor;
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::{Actor, AppError, Role, UseCase};

/// One entry of the left navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub(crate) label: &'static str,
    pub(crate) href: &'static str,
    pub(crate) active: bool,
}

/// What every staff page shows around its content.
#[derive(Debug, Clone)]
pub struct Shell {
    pub(super) user: String,
    pub(super) role: String,
    pub(super) csrf: String,
    pub(super) nav: Vec<NavItem>,
}

/// The navigation: only what the role may use.
pub(super) const NAV: [(&str, &str, UseCase); 17] = [
    ("工作台", "/workbench", UseCase::ReadWorkflow),
    ("参保人", "/persons", UseCase::SearchPersons),
    ("登记参保人", "/persons/new", UseCase::WritePersons),
    ("查询登记", "/queries", UseCase::ReadQueryRegister),
    ("交接", "/handovers", UseCase::ReadWorkflow),
    ("补件", "/supplements", UseCase::ManageSupplements),
    ("整理", "/volumes", UseCase::Organise),
    ("破损与丢失", "/incidents", UseCase::RecordDamage),
    ("库房与排架", "/rooms", UseCase::ReadRoom),
    ("库房检查", "/custody", UseCase::ReadRoom),
    ("设备与容量", "/equipment", UseCase::ReadRoom),
    ("用户与角色", "/users", UseCase::ApproveOfficerChange),
    ("目录与期限", "/catalogue", UseCase::ReadCatalogue),
    ("工作日历", "/catalogue#calendar", UseCase::EditCalendar),
    ("回传业务系统", "/outbox", UseCase::CorrectData),
    ("后台作业", "/jobs", UseCase::ReadJobs),
    ("操作日志", "/audit", UseCase::ReadLog),
];

/// Where each role begins, in order of preference: its tasks, else the log (auditor), else
/// the accounts (security officer), else the persons. A role lands on the first of these that
/// the permission matrix lets it use, so that no sign-in opens a page that refuses it.
const LANDING_PREFERENCE: [&str; 4] = ["/workbench", "/audit", "/users", "/persons"];

/// The page number a list form sent (`page`), from 1: anything unreadable is the first page.
pub(super) fn page_number(page: Option<&str>) -> u32 {
    page.and_then(|p| p.trim().parse().ok())
        .unwrap_or(1)
        .clamp(1, 100_000)
}

/// The page a role lands on after signing in (and at `/`): derived from [`NAV`] and the
/// permission matrix.
pub(super) fn landing(role: Role) -> &'static str {
    let may = |href: &str| {
        NAV.iter()
            .any(|(_, h, uc)| *h == href && dangan_app::administration::roles::allowed(role, *uc))
    };
    LANDING_PREFERENCE
        .into_iter()
        .find(|href| may(href))
        .or_else(|| NAV.iter().find(|(_, h, _)| may(h)).map(|(_, h, _)| *h))
        .unwrap_or("/account/password")
}

pub(super) fn shell(actor: &Actor, v: &Visitor, active: &str) -> Shell {
    Shell {
        user: actor.display_name.clone(),
        role: actor.role.label().to_owned(),
        csrf: v.csrf(),
        nav: NAV
            .iter()
            .filter(|(_, _, uc)| dangan_app::administration::roles::allowed(actor.role, *uc))
            .map(|(label, href, _)| NavItem {
                label,
                href,
                active: *href == active,
            })
            .collect(),
    }
}

pub(super) fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面生成失败").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessagePage {
    shell: Option<Shell>,
    title: String,
    message: String,
    back: String,
}

pub(super) fn message(
    status: StatusCode,
    shell: Option<Shell>,
    title: &str,
    message: &str,
) -> Response {
    let mut r = html(&MessagePage {
        shell,
        title: title.to_owned(),
        message: message.to_owned(),
        back: "/".to_owned(),
    });
    *r.status_mut() = status;
    r
}

/// A use-case error as a page.
pub(super) fn failure(actor: &Actor, v: &Visitor, e: &AppError) -> Response {
    let status = crate::error::status_of(e);
    let text = match e {
        AppError::Forbidden => "您的角色无权使用此功能。".to_owned(),
        AppError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "系统内部错误，请稍后再试或联系管理员。".to_owned()
        }
        _ => e.to_string(),
    };
    with_status_of(
        message(status, Some(shell(actor, v, "")), "无法完成", &text),
        e,
        status,
    )
}

/// A form page shown again with its error gets 422.
pub(super) fn with_error_status(mut r: Response, failed: bool) -> Response {
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// The signed-in staff member, or a redirect to the sign-in page.
pub(super) fn staff(v: &Visitor) -> Result<&Actor, Redirect> {
    match &v.actor {
        Some(a) if !matches!(a.role, Role::Insured | Role::Machine) => {
            if a.must_change_password {
                Err(Redirect::to("/account/password"))
            } else {
                Ok(a)
            }
        }
        _ => Err(Redirect::to("/")),
    }
}

/// An address that names no page: a Chinese page (404) with a way back, not an empty answer.
pub async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        None,
        "页面不存在",
        "您要访问的页面不存在，可能是网址输入有误或页面已移动。请返回首页重新进入。",
    )
}

/// A form posted from a page of another site (the `Origin` check).
pub fn cross_origin_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        None,
        "请求已拒绝",
        "该表单不是从本系统的页面提交的，已拒绝。请直接在本系统的页面上操作。",
    )
}

/// The page answer to a refusal that says when to try again (429 with `Retry-After`), or
/// `fallback`'s status otherwise.
pub(super) fn with_status_of(mut r: Response, e: &AppError, fallback: StatusCode) -> Response {
    match e.retry_after() {
        Some(secs) => {
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        None => *r.status_mut() = fallback,
    }
    r
}

/// The status of a failed sign-in page: 429 when it says when to try again, 422 for an
/// unreadable identity number, 401 for the rest.
pub(super) fn sign_in_failed(r: Response, e: &AppError) -> Response {
    let fallback = match e {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::UNAUTHORIZED,
    };
    with_status_of(r, e, fallback)
}

pub(super) fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        None,
        "请求已过期",
        "表单已过期或来自其他网站，请返回重新操作。",
    )
}

/// `GET /static/app.css`
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/app.css"),
    )
        .into_response()
}

/// `GET /static/app.js`
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/app.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_staff_role_lands_on_a_page_of_its_navigation_that_it_may_use() {
        for role in Role::STAFF {
            let to = landing(role);
            let (_, _, uc) = NAV
                .iter()
                .find(|(_, h, _)| *h == to)
                .unwrap_or_else(|| panic!("{role:?} lands outside the navigation: {to}"));
            assert!(
                dangan_app::administration::roles::allowed(role, *uc),
                "{role:?} may not use {to}"
            );
        }
        assert_eq!(landing(Role::Auditor), "/audit");
        assert_eq!(landing(Role::SecurityOfficer), "/users");
        assert_eq!(landing(Role::Archivist), "/workbench");
    }
}
