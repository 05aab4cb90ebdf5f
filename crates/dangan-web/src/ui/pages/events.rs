//! 业务 — entering a business with its materials.

use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use dangan_app::Actor;
use serde::Deserialize;

/// A catalogue line offered on the business form, with what was entered for it.
#[derive(Debug, Clone)]
pub struct MaterialChoice {
    code: String,
    name: String,
    required: bool,
    /// Ticked as received.
    checked: bool,
    /// 页数 as entered (default 1).
    pages: String,
    /// 载体 code as chosen (default paper).
    carrier: String,
}

/// The business form as entered: its type, its date and every field posted (none on a new
/// form), so that a refused form comes back as it was.
pub(super) struct EnteredEvent {
    business_type: String,
    date: String,
    fields: Vec<(String, String)>,
}

impl EnteredEvent {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Template)]
#[template(path = "event_new.html")]
pub(super) struct EventNewPage {
    shell: Shell,
    person: i64,
    types: Vec<(String, String)>,
    business_type: String,
    date: String,
    choices: Vec<MaterialChoice>,
    /// 载体 choices: (code, label).
    carriers: Vec<(&'static str, &'static str)>,
    error: String,
}

/// The business type in the URL (a code, nothing personal).
#[derive(Debug, Default, Deserialize)]
pub struct TypeQuery {
    #[serde(rename = "type")]
    business_type: Option<String>,
}

pub(super) async fn event_form(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    entered: EnteredEvent,
    error: String,
) -> Response {
    let business_type = entered.business_type.clone();
    let types = dangan_domain::business::BusinessType::ALL
        .into_iter()
        .map(|b| (b.code().to_owned(), b.name().to_owned()))
        .collect();
    let choices = match app.catalogue(actor).await {
        Ok(cat) => cat
            .entries
            .into_iter()
            .filter(|e| e.business_type.code() == business_type)
            .map(|e| {
                let code = e.material_code.to_string();
                MaterialChoice {
                    checked: entered.get(&format!("m_{code}")) == Some("on"),
                    pages: entered.get(&format!("p_{code}")).unwrap_or("1").to_owned(),
                    carrier: entered
                        .get(&format!("c_{code}"))
                        .unwrap_or("paper")
                        .to_owned(),
                    code,
                    name: e.name,
                    required: e.required,
                }
            })
            .collect(),
        Err(e) => return failure(actor, v, &e),
    };
    with_error_status(
        html(&EventNewPage {
            shell: shell(actor, v, "/persons"),
            person,
            types,
            business_type,
            date: entered.date,
            choices,
            carriers: carriers(),
            error: error.clone(),
        }),
        !error.is_empty(),
    )
}

/// `GET /persons/{id}/events/new?type=`: 业务登记 — the materials of the chosen business type.
pub async fn event_new(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<TypeQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let business_type = q.business_type.unwrap_or_else(|| "enrolment".to_owned());
    let today = dangan_app::today().to_string();
    let entered = EnteredEvent {
        business_type,
        date: today,
        fields: Vec::new(),
    };
    event_form(&app, &actor, &v, id, entered, String::new()).await
}

#[derive(Template)]
#[template(path = "event_done.html")]
pub(super) struct EventDonePage {
    shell: Shell,
    person: i64,
    business: String,
    complete: bool,
    missing: Vec<String>,
}

/// `POST /persons/{id}/events`: records the business; what is missing becomes supplement
/// requests at once, and the page says so.
pub async fn event_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !v.csrf_ok(&get("_csrf")) {
        return csrf_refused();
    }
    let business_type = get("business_type");
    let date = get("business_date");
    let mut materials = Vec::new();
    for (name, value) in &fields {
        if let Some(code) = name.strip_prefix("m_")
            && value == "on"
        {
            let pages = get(&format!("p_{code}")).trim().parse::<i64>().unwrap_or(0);
            materials.push(dangan_app::intake::events::MaterialInput {
                material_code: code.to_owned(),
                pages,
                carrier: Some(get(&format!("c_{code}"))).filter(|c| !c.is_empty()),
                ..dangan_app::intake::events::MaterialInput::default()
            });
        }
    }
    let input = dangan_app::intake::events::EventInput {
        person_id: Some(id),
        business_type: business_type.clone(),
        business_date: date.clone(),
        materials,
        ..dangan_app::intake::events::EventInput::default()
    };
    match app.record_event(&actor, &input).await {
        Ok(r) => html(&EventDonePage {
            shell: shell(&actor, &v, "/persons"),
            person: id,
            business: r.event.business_type_name,
            complete: r.event.completeness.complete,
            missing: r
                .event
                .completeness
                .missing
                .into_iter()
                .map(|m| m.name)
                .collect(),
        }),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => {
            let entered = EnteredEvent {
                business_type,
                date,
                fields,
            };
            event_form(&app, &actor, &v, id, entered, e.to_string()).await
        }
    }
}

/// The 载体 choices of a form: (code, Chinese label), from the one list of labels.
pub(super) fn carriers() -> Vec<(&'static str, &'static str)> {
    use dangan_domain::code::Code;
    dangan_domain::material::Carrier::ALL
        .iter()
        .map(|c| (c.code(), c.label()))
        .collect()
}
