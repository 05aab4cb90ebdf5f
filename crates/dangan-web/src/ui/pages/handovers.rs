//! 交接 — handing paper materials to the archive post, the lists waiting for receipt, and
//! confirming a list line by line.

use std::collections::BTreeMap;

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::Actor;
use dangan_app::intake::handovers::{HandoverSummary, HandoverView, ReceiptInput};
use dangan_domain::code::Code;
use dangan_domain::workflow::HandoverState;
use serde::Deserialize;

/// What the receiver entered for one line: the result code and the 差异说明.
#[derive(Debug, Clone, Default)]
pub struct Entered {
    result: String,
    note: String,
}

#[derive(Template)]
#[template(path = "handover.html")]
pub(super) struct HandoverPage {
    shell: Shell,
    h: HandoverView,
    /// The confirmation is offered (open, a receiving role, not the person who handed over).
    may_confirm: bool,
    /// Why it is not offered on an open list.
    hint: String,
    /// What was entered, by line id, shown again after an error.
    entered: BTreeMap<i64, Entered>,
    error: String,
}

impl HandoverPage {
    fn new(actor: &Actor, v: &Visitor, h: HandoverView) -> HandoverPage {
        let may_confirm = h.may_confirm(actor);
        let hint = if may_confirm || !h.state.is_open() {
            ""
        } else if actor.username == h.handed_over_by_user {
            "您是本单的移交人：须由档案岗的其他人员逐项确认接收（闭环交接）。"
        } else {
            "本单待档案岗逐项确认接收。"
        };
        HandoverPage {
            shell: shell(actor, v, "/handovers"),
            h,
            may_confirm,
            hint: hint.to_owned(),
            entered: BTreeMap::new(),
            error: String::new(),
        }
    }

    /// Whether `result` was chosen for the line.
    fn chosen(&self, item: &dangan_app::ids::HandoverItemId, result: &str) -> bool {
        self.entered
            .get(&item.0)
            .is_some_and(|e| e.result == result)
    }

    /// The 差异说明 entered for the line.
    fn note_of(&self, item: &dangan_app::ids::HandoverItemId) -> &str {
        self.entered.get(&item.0).map_or("", |e| e.note.as_str())
    }
}

/// `GET /handovers/{id}`: a handover list, to confirm item by item.
pub async fn handover(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    match app.handover(&actor, dangan_app::ids::HandoverId(id)).await {
        Ok(h) => html(&HandoverPage::new(&actor, &v, h)),
        Err(e) => failure(&actor, &v, &e),
    }
}

#[derive(Template)]
#[template(path = "handovers.html")]
pub(super) struct HandoversPage {
    shell: Shell,
    lists: Vec<HandoverSummary>,
    /// The state filter's code (empty: all).
    state: String,
    states: Vec<(&'static str, &'static str)>,
}

/// The state filter of the list (a code, nothing personal).
#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    state: String,
}

/// `GET /handovers?state=`: 交接 — the handover lists, waiting ones first.
pub async fn handovers(
    State(app): State<AppState>,
    v: Visitor,
    Query(q): Query<StateQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    match app.handovers(&actor, Some(&q.state)).await {
        Ok(lists) => html(&HandoversPage {
            shell: shell(&actor, &v, "/handovers"),
            lists,
            state: q.state,
            states: HandoverState::ALL
                .iter()
                .map(|s| (s.code(), s.label()))
                .collect(),
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /events/{id}/handover`: 移交 — hands the event's paper still awaiting handover
/// to the archive post.
pub async fn event_handover(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app
        .hand_over_event(&actor, dangan_app::ids::EventId(id))
        .await
    {
        Ok(h) => Redirect::to(&format!("/handovers/{}", h.id)).into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The receipts of a confirmation form: `r_{line}` = ok, missing or damaged and `n_{line}` =
/// its 差异说明, by line id.
fn entered(fields: &[(String, String)]) -> BTreeMap<i64, Entered> {
    let mut by_line: BTreeMap<i64, Entered> = BTreeMap::new();
    for (k, val) in fields {
        let (slot, line) = match (k.strip_prefix("r_"), k.strip_prefix("n_")) {
            (Some(line), _) => (0, line),
            (_, Some(line)) => (1, line),
            _ => continue,
        };
        let Ok(line) = line.parse::<i64>() else {
            continue;
        };
        let e = by_line.entry(line).or_default();
        if slot == 0 {
            e.result = val.clone();
        } else {
            e.note = val.trim().to_owned();
        }
    }
    by_line
}

/// `POST /handovers/{id}/confirm`: every line's result (`r_{item}` = ok, missing, damaged)
/// and, for a difference, its 差异说明 (`n_{item}`). After an error the page comes back with
/// every choice and note as entered.
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
    let entered = entered(&fields);
    let items = entered
        .iter()
        .filter(|(_, e)| !e.result.is_empty())
        .map(|(line, e)| ReceiptInput {
            item_id: *line,
            result: e.result.clone(),
            note: Some(e.note.clone()).filter(|n| !n.is_empty()),
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
                let mut page = HandoverPage::new(&actor, &v, h);
                page.entered = entered;
                page.error = e.to_string();
                with_error_status(html(&page), true)
            }
            Err(e2) => failure(&actor, &v, &e2),
        },
    }
}
