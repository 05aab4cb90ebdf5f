//! 更正、损毁、丢失 — corrections of a person's data, damage and loss of materials, and the
//! window clerk's assisted kiosk query.

use super::my::my_signed_out;
use super::{Shell, csrf_refused, failure, html, shell, sign_in_failed, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::{Visitor, set_cookie};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::ids::PersonId;
use dangan_app::{Actor, AppError};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "material.html")]
pub(super) struct MaterialPage {
    shell: Shell,
    person: i64,
    material: i64,
    incidents: dangan_app::problems::damage::MaterialIncidents,
    error: String,
}

pub(super) async fn render_material(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    material: i64,
    error: String,
) -> Response {
    match app
        .material_incidents(actor, dangan_app::ids::MaterialId(material))
        .await
    {
        Ok(incidents) => with_error_status(
            html(&MaterialPage {
                shell: shell(actor, v, "/persons"),
                person,
                material,
                incidents,
                error: error.clone(),
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// The person a material is shown under (kept in the URL for the way back).
#[derive(Debug, Default, Deserialize)]
pub struct PersonRef {
    person: Option<i64>,
}

/// `GET /materials/{id}?person=`: 损毁与丢失 — a material's damage and loss history.
pub async fn material(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<PersonRef>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render_material(&app, &actor, &v, q.person.unwrap_or(0), id, String::new()).await
}

/// A damage or loss report.
#[derive(Debug, Deserialize)]
pub struct IncidentForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    #[serde(default)]
    person: i64,
    #[serde(default)]
    degree: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    reported_to: String,
    #[serde(default)]
    note: String,
}

/// `POST /materials/{id}/incidents`: records damage (损毁) or a loss (丢失).
pub async fn material_incident(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<IncidentForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let mid = dangan_app::ids::MaterialId(id);
    let result = match f.kind.as_str() {
        "damage" => app
            .record_damage(
                &actor,
                mid,
                &dangan_app::problems::damage::DamageInput {
                    degree: f.degree,
                    cause: f.cause,
                    repair_by: None,
                    institution: None,
                },
            )
            .await
            .map(|_| ()),
        "loss" => app
            .record_loss(
                &actor,
                mid,
                &dangan_app::problems::damage::LossInput {
                    reported_to: f.reported_to,
                    note: Some(f.note).filter(|n| !n.trim().is_empty()),
                },
            )
            .await
            .map(|_| ()),
        _ => Err(AppError::invalid_with(
            "invalid_kind",
            Some("kind"),
            "未知的登记类型",
        )),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/materials/{id}?person={}", f.person)).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_material(&app, &actor, &v, f.person, id, e.to_string()).await,
    }
}

#[derive(Template)]
#[template(path = "correction.html")]
pub(super) struct CorrectionPage {
    shell: Shell,
    person: i64,
    materials: Vec<(i64, String)>,
    corrections: Vec<dangan_app::problems::corrections::CorrectionView>,
    error: String,
}

pub(super) async fn render_correction(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    error: String,
) -> Response {
    let pid = PersonId(person);
    let (events, corrections) = match (
        app.person_events(actor, pid).await,
        app.corrections(actor, pid).await,
    ) {
        (Ok(e), Ok(c)) => (e, c),
        (Err(e), _) | (_, Err(e)) => return failure(actor, v, &e),
    };
    let materials = events
        .into_iter()
        .flat_map(|e| {
            let date = e.business_date;
            e.materials
                .into_iter()
                .map(move |m| (m.id.0, format!("{date} {}", m.name)))
        })
        .collect();
    with_error_status(
        html(&CorrectionPage {
            shell: shell(actor, v, "/persons"),
            person,
            materials,
            corrections,
            error: error.clone(),
        }),
        !error.is_empty(),
    )
}

/// `GET /persons/{id}/corrections`: 更正 — the modification records and the form.
pub async fn corrections(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    render_correction(&app, &actor, &v, id, String::new()).await
}

/// The correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    field: String,
    new_value: String,
    #[serde(default)]
    proof_material_id: String,
    basis: String,
}

/// `POST /persons/{id}/corrections`: corrects a field with its proof (an archived material).
pub async fn correction_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CorrectionForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = dangan_app::problems::corrections::CorrectionInput {
        field: f.field,
        new_value: f.new_value,
        proof_material_id: f.proof_material_id.trim().parse().ok(),
        basis: f.basis,
    };
    match app.correct_person(&actor, PersonId(id), &input).await {
        Ok(_) => Redirect::to(&format!("/persons/{id}/corrections")).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_correction(&app, &actor, &v, id, e.to_string()).await,
    }
}

/// The staff-assisted kiosk form.
#[derive(Debug, Deserialize)]
pub struct AssistedForm {
    id_number: String,
    /// `card` (the person is here with their card) or `query` (the clerk registered a query).
    #[serde(default)]
    basis: String,
    staff_username: String,
    staff_password: String,
}

/// `POST /kiosk/assisted`: 工作人员协助确认 — a window clerk signs in on the kiosk for a person,
/// on a recorded basis (the person present with the card the number was read from, or a query
/// the clerk registered); the clerk's own session ends at once.
pub async fn kiosk_assisted(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<AssistedForm>,
) -> Response {
    let idle = app.settings().kiosk_idle_seconds;
    let refused = |msg: String| {
        let mut r = html(&my_signed_out(true, msg, idle));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r
    };
    let staff = match app
        .login(f.staff_username.trim(), &f.staff_password, &v.source)
        .await
    {
        Ok(l) => l,
        Err(e) => return sign_in_failed(refused(e.to_string()), &e),
    };
    let opened = app
        .assisted_insured_login(&staff.user, &f.id_number, &f.basis, &v.source)
        .await;
    let _ = app.logout(&staff.user, &staff.token, false).await;
    match opened {
        Ok(l) => {
            let mut r = Redirect::to("/kiosk").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) if e.code() == "forbidden" => refused("该工作人员无权协助参保人查询".to_owned()),
        Err(e) => refused(e.to_string()),
    }
}
