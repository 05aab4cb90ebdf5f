//! 库房与排架 — rooms and their places, where each sealed volume stands, archive boxes, and
//! stocktakes (盘点). Every form that asks for a volume or a place takes what a USB barcode
//! scanner types (it ends with Enter, which submits the form).

use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::Actor;
use dangan_app::administration::roles::allowed;
use dangan_app::custody::locations::{
    BoxInput, Found, PlaceView, PlaceVolumeInput, RoomLayout, TakeOutInput, VolumeLocationView,
    percent,
};
use dangan_app::custody::rooms::{PlaceInput, RoomInput, RoomView};
use dangan_app::custody::stocktake::{ScanInput, StartStocktake, StocktakeReport};
use dangan_app::ids::{PlaceId, RoomId, StocktakeId, VolumeId};
use dangan_app::problems::damage::LossInput;
use dangan_app::{AppError, UseCase};
use dangan_domain::code::Code;
use dangan_domain::room::PlaceKind;
use serde::Deserialize;

fn may(actor: &Actor, uc: UseCase) -> bool {
    allowed(actor.role, uc)
}

#[derive(Template)]
#[template(path = "rooms.html")]
struct RoomsPage {
    shell: Shell,
    rooms: Vec<RoomView>,
    can_configure: bool,
    form: RoomForm,
    error: String,
    field: String,
}

/// The room form (create and change).
#[derive(Debug, Default, Deserialize)]
pub struct RoomForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    area_m2: String,
    #[serde(default)]
    separate_from_service: Option<String>,
    #[serde(default)]
    temp_min: String,
    #[serde(default)]
    temp_max: String,
    #[serde(default)]
    rh_min: String,
    #[serde(default)]
    rh_max: String,
}

impl RoomForm {
    fn input(&self) -> RoomInput {
        let opt = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        RoomInput {
            code: self.code.clone(),
            name: self.name.clone(),
            area_m2: self.area_m2.clone(),
            separate_from_service: self.separate_from_service.is_some(),
            temp_min: opt(&self.temp_min),
            temp_max: opt(&self.temp_max),
            rh_min: opt(&self.rh_min),
            rh_max: opt(&self.rh_max),
        }
    }
}

fn field_of(e: &AppError) -> String {
    e.field().unwrap_or("").to_owned()
}

async fn render_rooms(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    form: RoomForm,
    error: Option<&AppError>,
) -> Response {
    match app.rooms(actor).await {
        Ok(rooms) => html(&RoomsPage {
            shell: shell(actor, v, "/rooms"),
            rooms,
            can_configure: may(actor, UseCase::ConfigureRooms),
            form,
            error: error.map(ToString::to_string).unwrap_or_default(),
            field: error.map(field_of).unwrap_or_default(),
        }),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /rooms`: 库房与排架 — the rooms, a box for scanned codes, and (to configure) a new room.
pub async fn rooms(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let form = RoomForm {
        temp_min: "14".into(),
        temp_max: "24".into(),
        rh_min: "45".into(),
        rh_max: "60".into(),
        separate_from_service: Some("on".into()),
        ..RoomForm::default()
    };
    render_rooms(&app, &actor, &v, form, None).await
}

/// `POST /rooms`: adds a room.
pub async fn room_create(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<RoomForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.create_room(&actor, &f.input()).await {
        Ok(r) => Redirect::to(&format!("/rooms/{}", r.room.id)).into_response(),
        Err(e) if belongs_on_form(&e) => render_rooms(&app, &actor, &v, f, Some(&e)).await,
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The scan box: any code.
#[derive(Debug, Deserialize)]
pub struct ScanQuery {
    #[serde(default)]
    code: String,
}

/// `GET /scan?code=`: where a scanned code leads — a volume's page, a place's page (a box: the
/// place it stands on).
pub async fn scan(State(app): State<AppState>, v: Visitor, Query(q): Query<ScanQuery>) -> Response {
    let actor = staff_or_redirect!(v);
    match app.lookup_code(&actor, &q.code).await {
        Ok(Found::Volume(id)) => Redirect::to(&format!("/volumes/{id}")).into_response(),
        Ok(Found::Place(code) | Found::Box(_, Some(code))) => {
            Redirect::to(&format!("/places/{code}")).into_response()
        }
        Ok(Found::Box(code, None)) => failure(
            &actor,
            &v,
            &AppError::not_found("box_not_placed", format!("档案盒 {code} 尚未上架")),
        ),
        Err(e) => failure(&actor, &v, &e),
    }
}

#[derive(Template)]
#[template(path = "room.html")]
struct RoomPage {
    shell: Shell,
    layout: RoomLayout,
    use_percent: String,
    stocktakes: Vec<StocktakeLine>,
    kinds: Vec<(&'static str, &'static str)>,
    can_configure: bool,
    can_stocktake: bool,
    form: RoomForm,
    place_form: PlaceForm,
    error: String,
    field: String,
}

/// A stocktake as listed on a room's page (times in Beijing).
struct StocktakeLine {
    id: i64,
    scope: String,
    state: &'static str,
    started: String,
    by: String,
}

/// The place form.
#[derive(Debug, Default, Deserialize)]
pub struct PlaceForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    segment: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    capacity_mm: String,
}

async fn render_room(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: RoomId,
    form: Option<RoomForm>,
    place_form: PlaceForm,
    error: Option<&AppError>,
) -> Response {
    let layout = match app.room_layout(actor, id).await {
        Ok(l) => l,
        Err(e) => return failure(actor, v, &e),
    };
    let stocktakes = match app.stocktakes(actor, id).await {
        Ok(s) => s,
        Err(e) => return failure(actor, v, &e),
    };
    let codes: std::collections::HashMap<PlaceId, String> = layout
        .places
        .iter()
        .map(|p| (p.place.id, p.place.code.clone()))
        .collect();
    let r = &layout.room;
    let form = form.unwrap_or_else(|| RoomForm {
        code: r.room.code.clone(),
        name: r.room.name.clone(),
        area_m2: r.area_m2.clone(),
        separate_from_service: r.room.separate_from_service.then(|| "on".to_owned()),
        temp_min: dangan_domain::room::format_decimal(r.room.temp_min_dc, 1),
        temp_max: dangan_domain::room::format_decimal(r.room.temp_max_dc, 1),
        rh_min: dangan_domain::room::format_decimal(r.room.rh_min_pm, 1),
        rh_max: dangan_domain::room::format_decimal(r.room.rh_max_pm, 1),
        ..RoomForm::default()
    });
    html(&RoomPage {
        shell: shell(actor, v, "/rooms"),
        use_percent: percent(layout.used_mm, layout.capacity_mm),
        stocktakes: stocktakes
            .into_iter()
            .map(|s| StocktakeLine {
                id: s.id.0,
                scope: s
                    .place_id
                    .and_then(|p| codes.get(&p).cloned())
                    .unwrap_or_else(|| "全库".to_owned()),
                state: s.state.label(),
                started: crate::ui::beijing::time(&s.started_at),
                by: s.started_by,
            })
            .collect(),
        kinds: PlaceKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        can_configure: may(actor, UseCase::ConfigureRooms),
        can_stocktake: may(actor, UseCase::TakeStock),
        form,
        place_form,
        error: error.map(ToString::to_string).unwrap_or_default(),
        field: error.map(field_of).unwrap_or_default(),
        layout,
    })
}

/// `GET /rooms/{id}`: a room — its places with what they hold, its stocktakes, its settings.
pub async fn room(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    render_room(
        &app,
        &actor,
        &v,
        RoomId(id),
        None,
        PlaceForm::default(),
        None,
    )
    .await
}

/// `POST /rooms/{id}`: changes a room (name, area, separation, thresholds).
pub async fn room_update(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<RoomForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.update_room(&actor, RoomId(id), &f.input()).await {
        Ok(_) => Redirect::to(&format!("/rooms/{id}")).into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_room(
                &app,
                &actor,
                &v,
                RoomId(id),
                Some(f),
                PlaceForm::default(),
                Some(&e),
            )
            .await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /rooms/{id}/places`: adds a place.
pub async fn place_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<PlaceForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let parent_id = match f.parent_id.trim() {
        "" => None,
        p => match p.parse() {
            Ok(p) => Some(PlaceId(p)),
            Err(_) => {
                let e = AppError::invalid_with("invalid_parent", Some("parent_id"), "上级位置无效");
                return render_room(&app, &actor, &v, RoomId(id), None, f, Some(&e)).await;
            }
        },
    };
    let input = PlaceInput {
        parent_id,
        kind: f.kind.clone(),
        segment: f.segment.clone(),
        name: Some(f.name.clone()),
        capacity_mm: Some(f.capacity_mm.clone()),
    };
    match app.add_place(&actor, RoomId(id), &input).await {
        Ok(_) => Redirect::to(&format!("/rooms/{id}#places")).into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_room(&app, &actor, &v, RoomId(id), None, f, Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The stocktake form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    place: String,
}

/// `POST /rooms/{id}/stocktakes`: starts a stocktake of the room or of one unit.
pub async fn stocktake_start(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<StartForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = StartStocktake {
        place: Some(f.place.clone()),
    };
    match app.start_stocktake(&actor, RoomId(id), &input).await {
        Ok(r) => Redirect::to(&format!("/stocktakes/{}", r.stocktake.id)).into_response(),
        Err(e) if belongs_on_form(&e) || matches!(e, AppError::NotFound { .. }) => {
            render_room(
                &app,
                &actor,
                &v,
                RoomId(id),
                None,
                PlaceForm::default(),
                Some(&e),
            )
            .await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

#[derive(Template)]
#[template(path = "place.html")]
struct PlacePage {
    shell: Shell,
    p: PlaceView,
    can_place: bool,
    volume: String,
    error: String,
}

async fn render_place(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    code: &str,
    volume: String,
    error: Option<&AppError>,
) -> Response {
    match app.place_detail(actor, code).await {
        Ok(p) => html(&PlacePage {
            shell: shell(actor, v, "/rooms"),
            p,
            can_place: may(actor, UseCase::PlaceVolumes),
            volume,
            error: error.map(ToString::to_string).unwrap_or_default(),
        }),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /places/{code}`: a place — what stands there, and a form to put volumes on it.
pub async fn place(State(app): State<AppState>, v: Visitor, Path(code): Path<String>) -> Response {
    let actor = staff_or_redirect!(v);
    render_place(&app, &actor, &v, &code, String::new(), None).await
}

/// Putting a volume on this place (or into a box of it).
#[derive(Debug, Deserialize)]
pub struct PutForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    volume: String,
    /// A box of this place, when the volume goes into it.
    #[serde(default)]
    into: String,
}

/// `POST /places/{code}/volumes`: 上架 — a scanned volume put on this place (or into one of its
/// boxes). The form comes back ready for the next scan.
pub async fn place_put(
    State(app): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    Form(f): Form<PutForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let to = if f.into.trim().is_empty() {
        code.clone()
    } else {
        f.into.clone()
    };
    let input = PlaceVolumeInput { to, reason: None };
    match app.place_volume(&actor, &f.volume, &input).await {
        Ok(_) => Redirect::to(&format!("/places/{code}")).into_response(),
        Err(e) if belongs_on_form(&e) || matches!(e, AppError::NotFound { .. }) => {
            render_place(&app, &actor, &v, &code, f.volume, Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// A new box.
#[derive(Debug, Deserialize)]
pub struct BoxForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    inner_mm: String,
    #[serde(default)]
    outer_mm: String,
}

/// `POST /places/{code}/boxes`: a new archive box standing on this place.
pub async fn box_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    Form(f): Form<BoxForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = BoxInput {
        inner_mm: f.inner_mm.clone(),
        outer_mm: Some(f.outer_mm.clone()),
        place: Some(code.clone()),
    };
    match app.create_box(&actor, &input).await {
        Ok(_) => Redirect::to(&format!("/places/{code}")).into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_place(&app, &actor, &v, &code, String::new(), Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

#[derive(Template)]
#[template(path = "volume.html")]
struct VolumePage {
    shell: Shell,
    vol: dangan_app::organising::volumes::VolumeView,
    at: VolumeLocationView,
    moves: Vec<MoveLine>,
    can_place: bool,
    error: String,
}

struct MoveLine {
    kind: &'static str,
    from: String,
    to: String,
    reason: String,
    at: String,
    by: String,
}

async fn render_volume(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: VolumeId,
    error: Option<&AppError>,
) -> Response {
    let vol = match app.volume(actor, id).await {
        Ok(x) => x,
        Err(e) => return failure(actor, v, &e),
    };
    let at = match app.volume_location(actor, id).await {
        Ok(x) => x,
        Err(e) => return failure(actor, v, &e),
    };
    let place_of = |code: &Option<String>, b: Option<dangan_app::ids::BoxId>| {
        let mut s = code.clone().unwrap_or_default();
        if let Some(b) = b {
            s.push_str(&format!(
                "（{}）",
                dangan_app::custody::locations::box_code(b)
            ));
        }
        s
    };
    let moves = at
        .moves
        .iter()
        .map(|m| MoveLine {
            kind: m.kind.label(),
            from: place_of(&m.from_code, m.from_box_id),
            to: place_of(&m.to_code, m.to_box_id),
            reason: m.reason.clone().unwrap_or_default(),
            at: crate::ui::beijing::time(&m.at),
            by: m.by_user.clone(),
        })
        .collect();
    html(&VolumePage {
        shell: shell(actor, v, "/rooms"),
        can_place: may(actor, UseCase::PlaceVolumes) && vol.sealed_at.is_some(),
        vol,
        at,
        moves,
        error: error.map(ToString::to_string).unwrap_or_default(),
    })
}

/// `GET /volumes/{id}`: a volume — its number, where it stands, its moves; place, take out,
/// designate.
pub async fn volume(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    render_volume(&app, &actor, &v, VolumeId(id), None).await
}

/// Where to, or why out.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

async fn volume_result(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: i64,
    r: Result<VolumeLocationView, AppError>,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/volumes/{id}")).into_response(),
        Err(e) if belongs_on_form(&e) || matches!(e, AppError::NotFound { .. }) => {
            render_volume(app, actor, v, VolumeId(id), Some(&e)).await
        }
        Err(e) => failure(actor, v, &e),
    }
}

/// `POST /volumes/{id}/place`: 上架, 移架 or 归库 to a scanned place or box.
pub async fn volume_place(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = PlaceVolumeInput {
        to: f.to.clone(),
        reason: Some(f.reason.clone()),
    };
    let r = app
        .place_volume(&actor, &dangan_domain::room::volume_code(id), &input)
        .await;
    volume_result(&app, &actor, &v, id, r).await
}

/// `POST /volumes/{id}/take-out`: 出库 with the reason.
pub async fn volume_take_out(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = TakeOutInput {
        reason: f.reason.clone(),
    };
    let r = app
        .take_out_volume(&actor, &dangan_domain::room::volume_code(id), &input)
        .await;
    volume_result(&app, &actor, &v, id, r).await
}

/// Designation.
#[derive(Debug, Deserialize)]
pub struct DesignateForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    required: String,
}

/// `POST /volumes/{id}/designate`: 指定 (or lift) 重要档案.
pub async fn volume_designate(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<DesignateForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let r = app
        .designate_volume(&actor, VolumeId(id), f.required == "1")
        .await;
    volume_result(&app, &actor, &v, id, r).await
}

#[derive(Template)]
#[template(path = "stocktake.html")]
struct StocktakePage {
    shell: Shell,
    r: StocktakeReport,
    started: String,
    closed: String,
    open: bool,
    can_scan: bool,
    can_report_loss: bool,
    place: String,
    error: String,
    field: String,
}

async fn render_stocktake(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: StocktakeId,
    place: String,
    error: Option<&AppError>,
) -> Response {
    match app.stocktake_report(actor, id).await {
        Ok(r) => html(&StocktakePage {
            shell: shell(actor, v, "/rooms"),
            started: crate::ui::beijing::time(&r.stocktake.started_at),
            closed: r
                .stocktake
                .closed_at
                .as_ref()
                .map(crate::ui::beijing::time)
                .unwrap_or_default(),
            open: r.stocktake.state == dangan_domain::room::StocktakeState::Open,
            can_scan: may(actor, UseCase::TakeStock),
            can_report_loss: may(actor, UseCase::RecordDamage),
            place,
            error: error.map(ToString::to_string).unwrap_or_default(),
            field: error.map(field_of).unwrap_or_default(),
            r,
        }),
        Err(e) => failure(actor, v, &e),
    }
}

/// The place being counted, kept across scans.
#[derive(Debug, Default, Deserialize)]
pub struct StocktakeQuery {
    #[serde(default)]
    place: String,
}

/// `GET /stocktakes/{id}`: a stocktake — the scan form (place first, then the spines) and the
/// result so far.
pub async fn stocktake(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<StocktakeQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render_stocktake(&app, &actor, &v, StocktakeId(id), q.place, None).await
}

/// One scan.
#[derive(Debug, Deserialize)]
pub struct ScanForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    code: String,
}

/// `POST /stocktakes/{id}/scans`: a code scanned at the place being counted; back to the form,
/// the place kept, ready for the next spine.
pub async fn stocktake_scan(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<ScanForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = ScanInput {
        place: f.place.clone(),
        code: f.code.clone(),
    };
    match app.stocktake_scan(&actor, StocktakeId(id), &input).await {
        Ok(_) => Redirect::to(&format!(
            "/stocktakes/{id}?place={}#scan",
            urlencode(f.place.trim())
        ))
        .into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_stocktake(&app, &actor, &v, StocktakeId(id), f.place, Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `place=` for a URL: the codes are ASCII letters, digits and `-`; anything else is dropped.
fn urlencode(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The close button.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// `POST /stocktakes/{id}/close`: 完成盘点.
pub async fn stocktake_close(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.close_stocktake(&actor, StocktakeId(id)).await {
        Ok(_) => Redirect::to(&format!("/stocktakes/{id}")).into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_stocktake(&app, &actor, &v, StocktakeId(id), String::new(), Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// A loss report of a missing volume.
#[derive(Debug, Deserialize)]
pub struct LossForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    volume_id: i64,
    #[serde(default)]
    reported_to: String,
    #[serde(default)]
    note: String,
}

/// `POST /stocktakes/{id}/losses`: 报失 — a volume the stocktake did not find, through the loss
/// procedure.
pub async fn stocktake_loss(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<LossForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = LossInput {
        reported_to: f.reported_to.clone(),
        note: Some(f.note.clone()),
    };
    match app
        .report_stocktake_loss(&actor, StocktakeId(id), VolumeId(f.volume_id), &input)
        .await
    {
        Ok(_) => Redirect::to("/incidents?kind=loss").into_response(),
        Err(e) if belongs_on_form(&e) => {
            render_stocktake(&app, &actor, &v, StocktakeId(id), String::new(), Some(&e)).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}
