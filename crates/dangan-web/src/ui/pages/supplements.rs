//! 补件 — the supplement requests, each naming its person and business, and their actions. A
//! refused action shows the page again with that form open and its input kept.

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
    /// The role may act on requests (the forms always fail otherwise, and are not shown).
    can_manage: bool,
    /// 载体 choices: (code, label).
    carriers: Vec<(&'static str, &'static str)>,
    /// The refused form (request id and its fields), shown again as entered.
    kept: Option<(i64, SupplementForm)>,
}

impl SupplementsPage {
    /// The refused form of this request and action, if it is the one.
    fn kept_form(
        &self,
        id: &dangan_app::ids::SupplementId,
        action: &str,
    ) -> Option<&SupplementForm> {
        self.kept
            .as_ref()
            .filter(|(k, f)| *k == id.0 && f.action == action)
            .map(|(_, f)| f)
    }

    /// Whether this form was the refused one (it opens again).
    fn is_kept(&self, id: &dangan_app::ids::SupplementId, action: &str) -> bool {
        self.kept_form(id, action).is_some()
    }

    /// A field of the refused form as entered, or `default`.
    fn kept<'a>(
        &'a self,
        id: &dangan_app::ids::SupplementId,
        action: &str,
        field: &str,
        default: &'a str,
    ) -> &'a str {
        let Some(f) = self.kept_form(id, action) else {
            return default;
        };
        match field {
            "method" => &f.method,
            "who" => &f.who,
            "note" => &f.note,
            "pages" => &f.pages,
            "carrier" => &f.carrier,
            _ => &f.explanation,
        }
    }
}

pub(super) async fn render_supplements(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    error: String,
    kept: Option<(i64, SupplementForm)>,
) -> Response {
    match app.supplements(actor, Some("open")).await {
        Ok(items) => with_error_status(
            html(&SupplementsPage {
                shell: shell(actor, v, "/supplements"),
                items,
                error: error.clone(),
                can_manage: dangan_app::administration::roles::allowed(
                    actor.role,
                    dangan_app::UseCase::ManageSupplements,
                ),
                carriers: super::events::carriers(),
                kept,
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /supplements`: 补件 — open requests, oldest due first.
pub async fn supplements(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_supplements(&app, &actor, &v, String::new(), None).await
}

/// A supplement action: `contact`, `fulfil` or `missing`, with its fields.
#[derive(Debug, Clone, Deserialize)]
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
                    method: f.method.clone(),
                    who: f.who.clone(),
                    note: f.note.clone(),
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
                    carrier: Some(f.carrier.clone()).filter(|c| !c.is_empty()),
                    explanation: f.explanation.clone(),
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
        Err(e) => render_supplements(&app, &actor, &v, e.to_string(), Some((id, f))).await,
    }
}
