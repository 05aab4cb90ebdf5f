//! 回传业务系统 — the corrections waiting to go back to the business system.

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use dangan_app::{Actor, AppError};
use serde::Deserialize;

/// One pending outbox item as the page shows it: no identity number, times in Beijing time.
#[derive(Debug)]
pub(super) struct OutboxLine {
    id: i64,
    person_id: Option<i64>,
    summary: String,
    created: String,
    attempts: i64,
    next: String,
    error: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub(super) struct OutboxPage {
    shell: Shell,
    items: Vec<OutboxLine>,
    error: String,
    done: String,
}

/// The Chinese name of a corrected field.
pub(super) fn field_label(field: &str) -> &str {
    match field {
        "name" => "姓名",
        "division_code" => "行政区划",
        "status" => "参保状态",
        "tier" => "缴费档次",
        "identity" => "参保身份",
        other => other,
    }
}

pub(super) async fn render_outbox(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    error: String,
    done: String,
) -> Response {
    let query = dangan_app::integration::outbox::OutboxQuery {
        state: Some("pending".to_owned()),
        after: None,
        limit: Some(500),
    };
    match app.list_outbox(actor, &query).await {
        Ok(items) => {
            let items = items
                .into_iter()
                .map(|i| {
                    let text = |k: &str| i.payload[k].as_str().unwrap_or_default().to_owned();
                    OutboxLine {
                        id: i.id.0,
                        person_id: i.person_id.map(|p| p.0),
                        summary: if i.kind == "correction" {
                            format!(
                                "更正{}：{} → {}",
                                field_label(&text("field")),
                                text("old_value"),
                                text("new_value")
                            )
                        } else {
                            format!("{}：{}", text("room_name"), text("summary"))
                        },
                        created: dangan_app::local_time(i.created_at),
                        attempts: i.attempts,
                        next: if i.attempts == 0 && i.next_attempt_at.is_none() {
                            "尚未尝试".to_owned()
                        } else {
                            i.next_attempt_at
                                .map(dangan_app::local_time)
                                .unwrap_or_default()
                        },
                        error: i.last_error.unwrap_or_default(),
                    }
                })
                .collect();
            with_error_status(
                html(&OutboxPage {
                    shell: shell(actor, v, "/outbox"),
                    items,
                    error: error.clone(),
                    done,
                }),
                !error.is_empty(),
            )
        }
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /outbox`: corrections waiting to go back to the business system.
pub async fn outbox(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_outbox(&app, &actor, &v, String::new(), String::new()).await
}

/// The re-send form: an outbox id typed in.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
}

pub(super) async fn resend(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: Option<i64>,
) -> Response {
    let Some(id) = id.filter(|n| *n > 0) else {
        return render_outbox(
            app,
            actor,
            v,
            "回传编号应为正整数".to_owned(),
            String::new(),
        )
        .await;
    };
    match app
        .resend_outbox(actor, dangan_app::integration::outbox::OutboxId(id))
        .await
    {
        Ok(_) => {
            let done = format!("已安排重新回传第 {id} 号更正，将立即发送。");
            render_outbox(app, actor, v, String::new(), done).await
        }
        // A number typed into the form that names no correction is the form's error.
        Err(e) if !belongs_on_form(&e) && !matches!(e, AppError::NotFound { .. }) => {
            failure(actor, v, &e)
        }
        Err(e) => render_outbox(app, actor, v, e.to_string(), String::new()).await,
    }
}

/// `POST /outbox/{id}/resend`: send a pending item now, without waiting out its back-off.
pub async fn outbox_resend(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    resend(&app, &actor, &v, Some(id)).await
}

/// `POST /outbox/resend`: send an item again by its number, delivered or not.
pub async fn outbox_resend_by_id(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<ResendForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    resend(&app, &actor, &v, f.id.trim().parse().ok()).await
}
