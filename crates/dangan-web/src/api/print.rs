//! Print views (A4, HTML with print CSS): the handover list (档案材料交接表) and, for a volume, its
//! cover (案卷封面), spine label (脊背), contents list (卷内目录) and 备考表, rendered from
//! `templates/print/` (askama escapes every value), each headed by the agency and its 全宗号.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;

use dangan_app::ids::{HandoverId, VolumeId};
use dangan_app::intake::handovers::HandoverView;
use dangan_app::organising::volumes::VolumeView;

use crate::error::ApiError;
use crate::extract::{AppState, Auth, row_id};

/// What heads every print: the agency's name and its 全宗号 (fonds number) when configured.
pub(crate) struct Heading {
    pub(crate) agency: String,
    pub(crate) fonds: Option<String>,
}

impl Heading {
    pub(crate) fn of(app: &AppState) -> Heading {
        let s = app.settings();
        Heading {
            agency: s.agency_name.clone(),
            fonds: s.fonds.clone().filter(|f| !f.trim().is_empty()),
        }
    }
}

/// 档案材料交接表.
#[derive(Template)]
#[template(path = "print/handover.html")]
struct HandoverPrint {
    head: Heading,
    h: HandoverView,
}

/// 案卷封面、脊背、卷内目录、备考表.
#[derive(Template)]
#[template(path = "print/volume.html")]
struct VolumePrint {
    head: Heading,
    number: String,
    first: String,
    last: String,
    retention: String,
    notes: String,
    /// 存放位置 (or 未上架).
    place: String,
    /// The spine's barcode (inline SVG) and the code it carries.
    barcode: String,
    code: String,
    v: VolumeView,
}

pub(crate) fn render(t: &impl Template) -> Result<Html<String>, ApiError> {
    t.render()
        .map(Html)
        .map_err(|e| ApiError::from(dangan_app::AppError::Internal(format!("print: {e}"))))
}

fn volume_print(head: Heading, v: VolumeView, place: String) -> VolumePrint {
    let date = |c: Option<&dangan_app::organising::volumes::ContentsLine>| {
        c.map(|c| c.formation_date.to_string()).unwrap_or_default()
    };
    let retention = v
        .retention
        .as_deref()
        .map(|r| {
            dangan_domain::retention::Retention::parse(r)
                .map(|r| r.label().to_owned())
                .unwrap_or_else(|_| r.to_owned())
        })
        .unwrap_or_default();
    let notes: Vec<&str> = v
        .contents
        .iter()
        .filter(|c| !c.remarks.is_empty())
        .map(|c| c.remarks.as_str())
        .collect();
    VolumePrint {
        head,
        number: v
            .archive_number
            .clone()
            .unwrap_or_else(|| "（未封卷，尚无档号）".to_owned()),
        first: date(v.contents.first()),
        last: date(v.contents.last()),
        retention,
        notes: notes.join("；"),
        place,
        barcode: crate::ui::barcode::svg_fit(
            &dangan_domain::room::volume_code(v.id.0),
            60.0,
            12.0,
            true,
        ),
        code: dangan_domain::room::volume_code(v.id.0),
        v,
    }
}

/// `GET /api/v1/handovers/{id}/print`.
#[utoipa::path(
    get,
    path = "/handovers/{id}/print",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "交接单编号 — the handover list's row id"),
    ),
    responses(
        (status = 200, description = "档案材料交接表（A4 打印页）— the printable handover list", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn print_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let h = app.handover(&actor, HandoverId(row_id(&id, "id")?)).await?;
    render(&HandoverPrint {
        head: Heading::of(&app),
        h,
    })
}

/// `GET /api/v1/volumes/{id}/print`: cover, spine label, contents list and 备考表.
#[utoipa::path(
    get,
    path = "/volumes/{id}/print",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "案卷编号 — the volume's row id"),
    ),
    responses(
        (status = 200, description = "案卷封面、脊背、卷内目录和备考表（A4 打印页）— the printable volume", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn print_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let id = VolumeId(row_id(&id, "id")?);
    let v = app.volume(&actor, id).await?;
    let place = app.volume_location(&actor, id).await?.summary;
    render(&volume_print(Heading::of(&app), v, place))
}
