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
use dangan_domain::change::{FieldValue, PersonField};
use dangan_domain::code::{Code, label_or_code};
use dangan_domain::material::MaterialStatus;
use dangan_domain::person::{InsuranceStatus, InsuredIdentity};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "material.html")]
pub(super) struct MaterialPage {
    shell: Shell,
    person: i64,
    material: i64,
    incidents: dangan_app::problems::damage::MaterialIncidents,
    /// 当前状态, as its Chinese label.
    status: String,
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
                status: label_or_code::<MaterialStatus>(&incidents.status),
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
    /// The field being corrected, and every field to choose from.
    field: PersonField,
    fields: Vec<(&'static str, &'static str, bool)>,
    /// The choices of a coded field (code, label, selected); empty for a typed value.
    values: Vec<(String, String, bool)>,
    form: CorrectionForm,
    materials: Vec<(i64, String, bool)>,
    corrections: Vec<CorrectionRow>,
    error: String,
}

/// A modification record as staff read it: the field and coded values by their labels.
pub(super) struct CorrectionRow {
    field: &'static str,
    old_value: String,
    new_value: String,
    basis: String,
    corrected_by: String,
    corrected_at: chrono::DateTime<chrono::Utc>,
}

impl From<dangan_app::problems::corrections::CorrectionView> for CorrectionRow {
    fn from(c: dangan_app::problems::corrections::CorrectionView) -> Self {
        let shown =
            |v: &str| FieldValue::parse(c.field, v).map_or_else(|_| v.to_owned(), |v| v.label());
        CorrectionRow {
            field: c.field.label(),
            old_value: shown(&c.old_value),
            new_value: shown(&c.new_value),
            basis: c.basis,
            corrected_by: c.corrected_by,
            corrected_at: c.corrected_at,
        }
    }
}

/// The choices of a coded field: a status or an identity is picked, never typed.
fn value_choices(field: PersonField, current: &str) -> Vec<(String, String, bool)> {
    let pick = |code: String, label: String| {
        let selected = code == current.trim();
        (code, label, selected)
    };
    match field {
        PersonField::Status => InsuranceStatus::ALL
            .into_iter()
            .map(|s| pick(s.code().to_owned(), s.label().to_owned()))
            .collect(),
        PersonField::Identity => InsuredIdentity::all()
            .map(|i| pick(i.code(), format!("{} {}", i.code(), i.label())))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) async fn render_correction(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    form: CorrectionForm,
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
    let proof = form.proof_material_id.trim().parse::<i64>().ok();
    let materials = events
        .into_iter()
        .flat_map(|e| {
            let date = e.business_date;
            e.materials
                .into_iter()
                .map(move |m| (m.id.0, format!("{date} {}", m.name), Some(m.id.0) == proof))
        })
        .collect();
    let field = PersonField::from_code(form.field.trim()).unwrap_or(PersonField::Name);
    with_error_status(
        html(&CorrectionPage {
            shell: shell(actor, v, "/persons"),
            person,
            field,
            fields: PersonField::ALL
                .iter()
                .map(|f| (f.code(), f.label(), *f == field))
                .collect(),
            values: value_choices(field, &form.new_value),
            form,
            materials,
            corrections: corrections.into_iter().map(CorrectionRow::from).collect(),
            error: error.clone(),
        }),
        !error.is_empty(),
    )
}

/// The field chosen to correct (`?field=status`).
#[derive(Debug, Default, Deserialize)]
pub struct FieldChoice {
    #[serde(default)]
    field: String,
}

/// `GET /persons/{id}/corrections?field=`: 更正 — the modification records and the form for
/// the chosen field.
pub async fn corrections(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<FieldChoice>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let form = CorrectionForm {
        field: q.field,
        ..CorrectionForm::default()
    };
    render_correction(&app, &actor, &v, id, form, String::new()).await
}

/// The correction form.
#[derive(Debug, Default, Deserialize)]
pub struct CorrectionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    field: String,
    new_value: String,
    #[serde(default)]
    proof_material_id: String,
    basis: String,
}

/// `POST /persons/{id}/corrections`: corrects a field with its proof (an archived material),
/// or shows the form again with its input and the error.
pub async fn correction_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CorrectionForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = dangan_app::problems::corrections::CorrectionInput {
        field: f.field.clone(),
        new_value: f.new_value.clone(),
        proof_material_id: f.proof_material_id.trim().parse().ok(),
        basis: f.basis.clone(),
    };
    match app.correct_person(&actor, PersonId(id), &input).await {
        Ok(_) => Redirect::to(&format!("/persons/{id}/corrections")).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_correction(&app, &actor, &v, id, f, e.to_string()).await,
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
        Err(AppError::Forbidden) => refused("该工作人员无权协助参保人查询".to_owned()),
        Err(e) => refused(e.to_string()),
    }
}
