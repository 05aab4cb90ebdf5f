//! 整理 — building the year's volumes (组卷) and sealing them (封卷).

use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use dangan_app::Actor;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "volumes.html")]
pub(super) struct VolumesPage {
    shell: Shell,
    year: i32,
    class: String,
    classes: Vec<(String, String)>,
    volumes: Vec<dangan_app::organising::volumes::VolumeView>,
    error: String,
}

/// Year and class in the URL.
#[derive(Debug, Default, Deserialize)]
pub struct VolumeFilters {
    year: Option<i32>,
    class: Option<String>,
}

pub(super) async fn render_volumes(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    year: i32,
    class: String,
    error: String,
) -> Response {
    use dangan_domain::business::BusinessClass;
    let classes = BusinessClass::ALL
        .into_iter()
        .map(|c| (c.code().to_owned(), c.name().to_owned()))
        .collect();
    let volumes = match BusinessClass::parse(&class) {
        Ok(c) => match app.volumes(actor, year, c).await {
            Ok(v) => v,
            Err(e) => return failure(actor, v, &e),
        },
        Err(_) => Vec::new(),
    };
    html(&VolumesPage {
        shell: shell(actor, v, "/volumes"),
        year,
        class,
        classes,
        volumes,
        error,
    })
}

/// `GET /volumes?year=&class=`: 整理 — the volumes of a year and class.
pub async fn volumes(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<VolumeFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let year = f.year.unwrap_or_else(|| dangan_app::today().year());
    let class = f.class.unwrap_or_else(|| "registration".to_owned());
    render_volumes(&app, &actor, &v, year, class, String::new()).await
}

/// The build form.
#[derive(Debug, Deserialize)]
pub struct BuildForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    year: i32,
    class: String,
}

/// `POST /volumes/build`: 组卷 — (re)builds the draft volumes of a year and class.
pub async fn volumes_build(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<BuildForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let class = match dangan_domain::business::BusinessClass::parse(&f.class) {
        Ok(c) => c,
        Err(e) => return render_volumes(&app, &actor, &v, f.year, f.class, e.to_string()).await,
    };
    match app.build_volumes(&actor, f.year, class).await {
        Ok(_) => {
            Redirect::to(&format!("/volumes?year={}&class={}", f.year, f.class)).into_response()
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render_volumes(&app, &actor, &v, f.year, f.class, e.to_string()).await,
    }
}

#[derive(Template)]
#[template(path = "volume_seal.html")]
pub(super) struct VolumeSealPage {
    shell: Shell,
    volume: dangan_app::organising::volumes::VolumeView,
    can_withdraw: bool,
}

/// `GET /volumes/{id}/seal`: 封卷确认 — the scans of the volume whose four-property check
/// failed, each with its reasons and withdraw form, and the confirmation to seal anyway.
pub async fn volume_seal_confirm(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
) -> Response {
    let actor = staff_or_redirect!(v);
    match app.volume(&actor, dangan_app::ids::VolumeId(id)).await {
        Ok(volume) => html(&VolumeSealPage {
            shell: shell(&actor, &v, "/volumes"),
            can_withdraw: dangan_app::administration::roles::allowed(
                actor.role,
                dangan_app::UseCase::IngestScans,
            ),
            volume,
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The seal form: `acknowledge=1` when sent from the confirmation page listing failed scans.
#[derive(Debug, Deserialize)]
pub struct SealForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    acknowledge: Option<String>,
}

/// `POST /volumes/{id}/seal`: 封卷 — numbers the volume; irreversible (the page asks first).
/// A volume holding scans that failed the four-property check goes to the confirmation page
/// first, unless the form acknowledges them.
pub async fn volume_seal(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<SealForm>,
) -> Response {
    use dangan_app::organising::volumes::FailedScans;
    let actor = staff_form_or_return!(v, &f.csrf);
    let vid = dangan_app::ids::VolumeId(id);
    let failed = if f.acknowledge.is_some() {
        FailedScans::Acknowledged
    } else {
        match app.volume(&actor, vid).await {
            Ok(vol) if !vol.failed_scans.is_empty() => {
                return Redirect::to(&format!("/volumes/{id}/seal")).into_response();
            }
            Ok(_) => FailedScans::Refuse,
            Err(e) => return failure(&actor, &v, &e),
        }
    };
    match app.seal_volume(&actor, vid, failed).await {
        Ok(vol) => Redirect::to(&format!(
            "/volumes?year={}&class={}",
            vol.year, vol.business_class
        ))
        .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}
