//! 补件 — the supplement requests and their actions.

use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::{Actor, AppError};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "supplements.html")]
pub(super) struct SupplementsPage {
    shell: Shell,
    items: Vec<dangan_app::problems::supplements::SupplementView>,
    error: String,
}

pub(super) async fn render_supplements(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    error: String,
) -> Response {
    match app.supplements(actor, Some("open")).await {
        Ok(items) => with_error_status(
            html(&SupplementsPage {
                shell: shell(actor, v, "/supplements"),
                items,
                error: error.clone(),
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /supplements`: 补件 — open requests, oldest due first.
pub async fn supplements(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_supplements(&app, &actor, &v, String::new()).await
}

/// A supplement action: `contact`, `fulfil` or `missing`, with its fields.
#[derive(Debug, Deserialize)]
pub struct SupplementForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    pages: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    explanation: String,
}

/// `POST /supplements/{id}`
pub async fn supplement_action(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<SupplementForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let sid = dangan_app::ids::SupplementId(id);
    let result = match f.action.as_str() {
        "contact" => app
            .contact_for_supplement(
                &actor,
                sid,
                &dangan_app::problems::supplements::ContactInput {
                    method: f.method,
                    who: f.who,
                    note: f.note,
                },
            )
            .await
            .map(|_| ()),
        "fulfil" => app
            .fulfil_supplement(
                &actor,
                sid,
                &dangan_app::problems::supplements::FulfilInput {
                    formation_date: None,
                    pages: f.pages.trim().parse().unwrap_or(0),
                    carrier: Some(f.carrier).filter(|c| !c.is_empty()),
                    explanation: f.explanation,
                },
            )
            .await
            .map(|_| ()),
        "missing" => app
            .close_supplement_as_missing(&actor, sid, &f.explanation)
            .await
            .map(|_| ()),
        _ => Err(AppError::invalid_with(
            "invalid_action",
            Some("action"),
            "未知的操作",
        )),
    };
    match result {
        Ok(()) => Redirect::to("/supplements").into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_supplements(&app, &actor, &v, e.to_string()).await,
    }
}
