//! 设备与容量 — the equipment register of the archive rooms with the rules checked per room
//! (`/equipment`), one item with its inspections (`/equipment/{id}`), and the capacity of the
//! rooms with the projection of when they fill (`/capacity`). A refused form shows the page again
//! with its error and its input kept.

use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::custody::capacity::{CapacityReport, RoomCapacity};
use dangan_app::custody::equipment::{
    EquipmentDetail, EquipmentInput, EquipmentView, InspectionInput, RoomChecks,
};
use dangan_app::ids::EquipmentId;
use dangan_app::{Actor, UseCase};
use dangan_domain::code::Code;
use dangan_domain::equipment::{CheckOutcome, EquipmentKind, EquipmentState, InspectionResult};
use dangan_domain::room::format_decimal;
use serde::Deserialize;

/// An item as a line of the register.
pub(super) struct ItemLine {
    id: i64,
    room: String,
    kind: &'static str,
    name: String,
    model: String,
    serial_no: String,
    installed_on: String,
    interval: String,
    last: String,
    due: String,
    overdue: bool,
    retired: bool,
    state: &'static str,
}

fn due_text(v: &EquipmentView) -> String {
    match (v.item.state, v.due_on) {
        (EquipmentState::Retired, _) => "—".to_owned(),
        (_, Some(d)) if d == v.item.next_due_on => d.to_string(),
        (_, Some(d)) => format!("{d}（应检 {}，遇非工作日顺延）", v.item.next_due_on),
        (_, None) => format!("{}（期限待定：工作日历未载入）", v.item.next_due_on),
    }
}

impl From<&EquipmentView> for ItemLine {
    fn from(v: &EquipmentView) -> ItemLine {
        let i = &v.item;
        ItemLine {
            id: i.id.0,
            room: format!("{} {}", i.room_code, i.room_name),
            kind: i.kind.label(),
            name: i.name.clone(),
            model: i.model.clone().unwrap_or_default(),
            serial_no: i.serial_no.clone().unwrap_or_default(),
            installed_on: i.installed_on.to_string(),
            interval: format!("{} 个月", i.interval_months),
            last: i
                .last_inspected_on
                .map_or_else(|| "尚未检查".to_owned(), |d| d.to_string()),
            due: due_text(v),
            overdue: v.overdue,
            retired: i.state == EquipmentState::Retired,
            state: i.state.label(),
        }
    }
}

/// A rule checked for a room, as a line.
pub(super) struct CheckLine {
    title: &'static str,
    outcome: &'static str,
    class: &'static str,
    detail: String,
}

/// A room with its checks.
pub(super) struct RoomCheckLines {
    room: String,
    checks: Vec<CheckLine>,
}

fn check_lines(rooms: Vec<RoomChecks>) -> Vec<RoomCheckLines> {
    rooms
        .into_iter()
        .map(|r| RoomCheckLines {
            room: format!("{} {}", r.code, r.name),
            checks: r
                .checks
                .into_iter()
                .map(|c| CheckLine {
                    title: c.title,
                    outcome: c.outcome.label(),
                    class: match c.outcome {
                        CheckOutcome::Pass => "ok",
                        CheckOutcome::Fail => "error",
                        CheckOutcome::Skipped => "muted",
                    },
                    detail: c.detail,
                })
                .collect(),
        })
        .collect()
}

/// The registration form as posted (and kept when refused).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EquipmentForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    room_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    serial_no: String,
    #[serde(default)]
    installed_on: String,
    #[serde(default)]
    interval_months: String,
}

impl EquipmentForm {
    fn input(&self) -> EquipmentInput {
        EquipmentInput {
            room_id: self.room_id.trim().parse().unwrap_or(0),
            kind: self.kind.clone(),
            name: self.name.clone(),
            model: Some(self.model.clone()),
            serial_no: Some(self.serial_no.clone()),
            installed_on: self.installed_on.clone(),
            // Unreadable is out of range: the use-case says what is allowed.
            interval_months: self.interval_months.trim().parse().unwrap_or(0),
        }
    }
}

#[derive(Template)]
#[template(path = "equipment.html")]
pub(super) struct EquipmentPage {
    shell: Shell,
    rooms: Vec<RoomCheckLines>,
    items: Vec<ItemLine>,
    error: String,
    done: String,
    can_configure: bool,
    /// Rooms to choose from: (id, code and name).
    room_choices: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    form: EquipmentForm,
}

impl EquipmentPage {
    fn room_selected(&self, id: &i64) -> bool {
        self.form.room_id.trim() == id.to_string()
    }

    fn kind_selected(&self, code: &str) -> bool {
        self.form.kind == code
    }
}

async fn render_register(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    error: String,
    form: EquipmentForm,
) -> Response {
    let items = match app.equipment_register(actor, None).await {
        Ok(items) => items,
        Err(e) => return failure(actor, v, &e),
    };
    let checks = match app.room_checks(actor).await {
        Ok(c) => c,
        Err(e) => return failure(actor, v, &e),
    };
    let rooms = match app.rooms(actor).await {
        Ok(r) => r,
        Err(e) => return failure(actor, v, &e),
    };
    let form = EquipmentForm {
        interval_months: if form.interval_months.is_empty() {
            "12".to_owned()
        } else {
            form.interval_months
        },
        ..form
    };
    with_error_status(
        html(&EquipmentPage {
            shell: shell(actor, v, "/equipment"),
            rooms: check_lines(checks),
            items: items.iter().map(ItemLine::from).collect(),
            error: error.clone(),
            done: String::new(),
            can_configure: dangan_app::administration::roles::allowed(
                actor.role,
                UseCase::ConfigureRooms,
            ),
            room_choices: rooms
                .into_iter()
                .map(|r| (r.room.id.0, format!("{} {}", r.room.code, r.room.name)))
                .collect(),
            kinds: EquipmentKind::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            form,
        }),
        !error.is_empty(),
    )
}

/// `GET /equipment`: the rules checked per room, the register, and the registration form.
pub async fn equipment(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_register(&app, &actor, &v, String::new(), EquipmentForm::default()).await
}

/// `POST /equipment`: register an item; its page opens.
pub async fn equipment_create(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<EquipmentForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.register_equipment(&actor, &f.input()).await {
        Ok(e) => Redirect::to(&format!("/equipment/{}?done=created", e.item.id.0)).into_response(),
        Err(e) if belongs_on_form(&e) => render_register(&app, &actor, &v, e.to_string(), f).await,
        Err(e) => failure(&actor, &v, &e),
    }
}

/// An inspection as a line.
pub(super) struct InspectionLine {
    on: String,
    result: &'static str,
    abnormal: bool,
    note: String,
    by: String,
    recorded: String,
}

/// The inspection and retirement forms as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InspectForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    inspected_on: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "equipment_item.html")]
pub(super) struct ItemPage {
    shell: Shell,
    item: ItemLine,
    retire_reason: String,
    inspections: Vec<InspectionLine>,
    error: String,
    done: String,
    can_inspect: bool,
    can_configure: bool,
    results: Vec<(&'static str, &'static str)>,
    form: InspectForm,
    today: String,
}

impl ItemPage {
    fn result_selected(&self, code: &str) -> bool {
        self.form.result == code
    }
}

/// What a `?done=` on the item page says.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn item_page(
    actor: &Actor,
    v: &Visitor,
    d: &EquipmentDetail,
    error: String,
    done: String,
    form: InspectForm,
) -> Response {
    let allowed = |uc| dangan_app::administration::roles::allowed(actor.role, uc);
    with_error_status(
        html(&ItemPage {
            shell: shell(actor, v, "/equipment"),
            item: ItemLine::from(&d.view),
            retire_reason: d.view.item.retire_reason.clone().unwrap_or_default(),
            inspections: d
                .inspections
                .iter()
                .map(|i| InspectionLine {
                    on: i.inspected_on.to_string(),
                    result: i.result.label(),
                    abnormal: i.result == InspectionResult::Abnormal,
                    note: i.note.clone().unwrap_or_default(),
                    by: i.by_user.clone(),
                    recorded: crate::ui::beijing::time(&i.recorded_at),
                })
                .collect(),
            error: error.clone(),
            done,
            can_inspect: allowed(UseCase::RecordCustody),
            can_configure: allowed(UseCase::ConfigureRooms),
            results: InspectionResult::ALL
                .iter()
                .map(|r| (r.code(), r.label()))
                .collect(),
            form,
            today: dangan_app::today().to_string(),
        }),
        !error.is_empty(),
    )
}

/// `GET /equipment/{id}`: one item, its inspections, and the forms to record an inspection or
/// retire it.
pub async fn equipment_item(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let done = match q.done.as_deref() {
        Some("created") => "设备已登记，已按检查周期生成设备检查任务。",
        Some("inspected") => "检查已登记，下次检查任务已生成。",
        Some("retired") => "设备已停用。",
        _ => "",
    };
    match app.equipment_item(&actor, EquipmentId(id)).await {
        Ok(d) => item_page(
            &actor,
            &v,
            &d,
            String::new(),
            done.to_owned(),
            InspectForm::default(),
        ),
        Err(e) => failure(&actor, &v, &e),
    }
}

async fn refused_on_item(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: EquipmentId,
    e: &dangan_app::AppError,
    form: InspectForm,
) -> Response {
    if !belongs_on_form(e) {
        return failure(actor, v, e);
    }
    match app.equipment_item(actor, id).await {
        Ok(d) => item_page(actor, v, &d, e.to_string(), String::new(), form),
        Err(e) => failure(actor, v, &e),
    }
}

/// `POST /equipment/{id}/inspect`: record an inspection.
pub async fn equipment_inspect(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<InspectForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = InspectionInput {
        inspected_on: Some(f.inspected_on.clone()),
        result: f.result.clone(),
        note: Some(f.note.clone()),
    };
    match app.record_inspection(&actor, EquipmentId(id), &input).await {
        Ok(_) => Redirect::to(&format!("/equipment/{id}?done=inspected")).into_response(),
        Err(e) => refused_on_item(&app, &actor, &v, EquipmentId(id), &e, f).await,
    }
}

/// `POST /equipment/{id}/retire`: retire an item.
pub async fn equipment_retire(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<InspectForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app
        .retire_equipment(&actor, EquipmentId(id), &f.reason)
        .await
    {
        Ok(_) => Redirect::to(&format!("/equipment/{id}?done=retired")).into_response(),
        Err(e) => refused_on_item(&app, &actor, &v, EquipmentId(id), &e, f).await,
    }
}

/// A room's shelf as a line, lengths in millimetres.
pub(super) struct CapacityLine {
    room: String,
    places: i64,
    volumes: i64,
    capacity: String,
    used: String,
    free: String,
    share: String,
    projection: String,
}

fn mm(um: i64) -> String {
    format!("{} mm", format_decimal(um / 100, 1))
}

impl From<&RoomCapacity> for CapacityLine {
    fn from(r: &RoomCapacity) -> CapacityLine {
        CapacityLine {
            room: format!("{} {}", r.code, r.name),
            places: r.places,
            volumes: r.volumes,
            capacity: mm(r.capacity_um),
            used: mm(r.used_um),
            free: mm(r.free_um),
            share: r
                .used_permille
                .map_or_else(|| "—".to_owned(), |p| format!("{} %", format_decimal(p, 1))),
            projection: r.projection.text.clone(),
        }
    }
}

/// A year of history as a line.
pub(super) struct YearLine {
    year: i64,
    amount: String,
    count: i64,
}

#[derive(Template)]
#[template(path = "capacity.html")]
pub(super) struct CapacityPage {
    shell: Shell,
    rooms: Vec<CapacityLine>,
    total: CapacityLine,
    sealed: String,
    growth: String,
    window: String,
    sealed_years: Vec<YearLine>,
    persons: i64,
    enrolments: String,
    enrol_window: String,
    per_person: String,
    persons_projection: String,
    enrol_years: Vec<YearLine>,
}

fn capacity_page(actor: &Actor, v: &Visitor, c: &CapacityReport) -> CapacityPage {
    CapacityPage {
        shell: shell(actor, v, "/equipment"),
        rooms: c.rooms.iter().map(CapacityLine::from).collect(),
        total: CapacityLine::from(&c.total),
        sealed: format!("{} 卷，共 {}", c.sealed_volumes, mm(c.sealed_um)),
        growth: c
            .growth
            .um_per_year
            .map_or_else(|| "—".to_owned(), |g| format!("每年约 {}", mm(g))),
        window: c.growth.window.clone(),
        sealed_years: c
            .growth
            .history
            .iter()
            .map(|y| YearLine {
                year: y.year,
                amount: mm(y.amount),
                count: y.count,
            })
            .collect(),
        persons: c.persons.persons,
        enrolments: c
            .persons
            .enrolments_per_year
            .map_or_else(|| "—".to_owned(), |n| format!("每年约 {n} 人")),
        enrol_window: c.persons.window.clone(),
        per_person: c
            .persons
            .um_per_person
            .map_or_else(|| "—".to_owned(), |u| format!("每人约 {}", mm(u))),
        persons_projection: c.persons.projection.text.clone(),
        enrol_years: c
            .persons
            .history
            .iter()
            .map(|y| YearLine {
                year: y.year,
                amount: format!("{} 人", y.amount),
                count: y.count,
            })
            .collect(),
    }
}

/// `GET /capacity`: shelf capacity, used and free per room, and when the rooms fill.
pub async fn capacity(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    match app.capacity(&actor).await {
        Ok(c) => html(&capacity_page(&actor, &v, &c)),
        Err(e) => failure(&actor, &v, &e),
    }
}
