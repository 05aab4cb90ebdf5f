//! 本人查询 — the insured person's self-service pages, at home (`/my`) and at the kiosk.

use super::persons::{EventNode, MaterialNode};
use super::signin::CsrfForm;
use super::{csrf_refused, html, sign_in_failed};
use crate::extract::AppState;
use crate::ui::session::{Visitor, set_cookie};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::Role;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "my.html")]
pub(super) struct MyPage {
    ledger: dangan_app::access::ledger::Ledger,
    kiosk: bool,
    idle_seconds: u32,
    csrf: String,
    signed_in: bool,
    error: String,
    name: String,
    id_number_masked: String,
    division: String,
    status: String,
    events: Vec<EventNode>,
}

pub(super) fn my_signed_out(kiosk: bool, error: String, idle_seconds: u32) -> MyPage {
    MyPage {
        ledger: dangan_app::access::ledger::Ledger {
            years: Vec::new(),
            benefits: Vec::new(),
        },
        kiosk,
        idle_seconds,
        csrf: String::new(),
        signed_in: false,
        error,
        name: String::new(),
        id_number_masked: String::new(),
        division: String::new(),
        status: String::new(),
        events: Vec::new(),
    }
}

pub(super) async fn render_my(app: &AppState, v: &Visitor, kiosk: bool) -> Response {
    let idle = app.settings().kiosk_idle_seconds;
    let Some(actor) = v.actor.as_ref().filter(|a| a.role == Role::Insured) else {
        return html(&my_signed_out(kiosk, String::new(), idle));
    };
    if actor.must_change_password {
        return Redirect::to("/account/password").into_response();
    }
    let (p, events, ledger) = match (
        app.my_person(actor).await,
        app.my_events(actor).await,
        app.my_ledger(actor).await,
    ) {
        (Ok(p), Ok(e), Ok(l)) => (p, e, l),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return html(&my_signed_out(kiosk, e.to_string(), idle));
        }
    };
    html(&MyPage {
        ledger,
        kiosk,
        idle_seconds: idle,
        csrf: v.csrf(),
        signed_in: true,
        error: String::new(),
        name: p.name,
        id_number_masked: p.id_number.masked(),
        division: p.division_name,
        status: p.status.label().to_owned(),
        events: events
            .into_iter()
            .map(|e| EventNode {
                id: e.id.0,
                awaiting_handover: false,
                open_handovers: Vec::new(),
                business: e.business_type_name,
                date: e.business_date.to_string(),
                complete: e.completeness.complete,
                missing: e.completeness.missing.into_iter().map(|m| m.name).collect(),
                materials: e
                    .materials
                    .into_iter()
                    .map(|m| MaterialNode {
                        id: m.id.0,
                        name: m.name,
                        pages: m.pages,
                        status_label: m.status_label,
                        supplemented: m.supplemented,
                        remarks: String::new(),
                        paper: String::new(),
                        volume: String::new(),
                        files: Vec::new(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// `GET /my`: 个人查询 — the insured person's own enrolment and archived materials.
pub async fn my(State(app): State<AppState>, v: Visitor) -> Response {
    render_my(&app, &v, false).await
}

/// `GET /kiosk`: the self-service machine's full-screen page.
pub async fn kiosk(State(app): State<AppState>, v: Visitor) -> Response {
    render_my(&app, &v, true).await
}

/// The insured sign-in form.
#[derive(Debug, Deserialize)]
pub struct MyLoginForm {
    id_number: String,
    password: String,
}

pub(super) async fn insured_login(
    app: &AppState,
    v: &Visitor,
    f: MyLoginForm,
    kiosk: bool,
) -> Response {
    let back = if kiosk { "/kiosk" } else { "/my" };
    let signed_in = if kiosk {
        app.login_insured_kiosk(&f.id_number, &f.password, &v.source)
            .await
    } else {
        app.login_insured(&f.id_number, &f.password, &v.source)
            .await
    };
    match signed_in {
        Ok(l) => {
            let mut r = Redirect::to(back).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) => sign_in_failed(
            html(&my_signed_out(
                kiosk,
                e.to_string(),
                app.settings().kiosk_idle_seconds,
            )),
            &e,
        ),
    }
}

/// `POST /my/login`
pub async fn my_login(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<MyLoginForm>,
) -> Response {
    insured_login(&app, &v, f, false).await
}

/// `POST /kiosk/login`
pub async fn kiosk_login(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<MyLoginForm>,
) -> Response {
    insured_login(&app, &v, f, true).await
}

pub(super) async fn insured_logout(
    app: &AppState,
    v: &Visitor,
    csrf: &str,
    back: &str,
) -> Response {
    if let (Some(a), Some(t)) = (&v.actor, &v.token) {
        if !v.csrf_ok(csrf) {
            return csrf_refused();
        }
        let _ = app.logout(a, t, false).await;
    }
    let mut r = Redirect::to(back).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, v.secure));
    r
}

/// `POST /my/logout`
pub async fn my_logout(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    insured_logout(&app, &v, &f.csrf, "/my").await
}

/// `POST /kiosk/logout`: also what the idle timer and the card-removal button send.
pub async fn kiosk_logout(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    insured_logout(&app, &v, &f.csrf, "/kiosk").await
}
