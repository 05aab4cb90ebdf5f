//! 交接 — handing paper materials to the archive post and confirming them line by line.

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dangan_domain::material::MaterialStatus;

#[derive(Template)]
#[template(path = "handover.html")]
pub(super) struct HandoverPage {
    shell: Shell,
    h: dangan_app::intake::handovers::HandoverView,
    error: String,
}

/// `GET /handovers/{id}`: a handover list, to confirm item by item.
pub async fn handover(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    match app.handover(&actor, dangan_app::ids::HandoverId(id)).await {
        Ok(h) => html(&HandoverPage {
            shell: shell(&actor, &v, "/workbench"),
            h,
            error: String::new(),
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /events/{id}/handover`: 移交 — hands the event's paper materials not yet received
/// to the archive post.
pub async fn event_handover(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let event = match app.event(&actor, dangan_app::ids::EventId(id)).await {
        Ok(e) => e,
        Err(e) => return failure(&actor, &v, &e),
    };
    let items: Vec<_> = event
        .materials
        .iter()
        .filter(|m| {
            m.carrier.has_paper() && m.received_on.is_none() && m.status != MaterialStatus::Missing
        })
        .map(|m| dangan_app::intake::handovers::HandoverItemInput {
            material_id: m.id.0,
            quantity: Some(1),
        })
        .collect();
    let input = dangan_app::intake::handovers::HandoverInput { items, note: None };
    match app.create_handover(&actor, &input).await {
        Ok(h) => Redirect::to(&format!("/handovers/{}", h.id)).into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /handovers/{id}/confirm`: every line's result (`r_{item}` = ok, missing, damaged).
pub async fn handover_confirm(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !v.csrf_ok(csrf) {
        return csrf_refused();
    }
    let items = fields
        .iter()
        .filter_map(|(k, val)| {
            k.strip_prefix("r_")
                .and_then(|i| i.parse::<i64>().ok())
                .map(|item_id| dangan_app::intake::handovers::ReceiptInput {
                    item_id,
                    result: val.clone(),
                    note: None,
                })
        })
        .collect();
    let input = dangan_app::intake::handovers::ConfirmInput {
        items,
        extras: Vec::new(),
    };
    let hid = dangan_app::ids::HandoverId(id);
    match app.confirm_handover(&actor, hid, &input).await {
        Ok(_) => Redirect::to(&format!("/handovers/{id}")).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => match app.handover(&actor, hid).await {
            Ok(h) => {
                let mut r = html(&HandoverPage {
                    shell: shell(&actor, &v, "/workbench"),
                    h,
                    error: e.to_string(),
                });
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e2) => failure(&actor, &v, &e2),
        },
    }
}
