//! 库房检查 — the custody post's pages: every room with today's check and the open environment
//! alerts (`/custody`), and one room (`/custody/rooms/{id}`): the daily check form, the month's
//! records and their print views, the 30-day chart of temperature and humidity (server-rendered
//! SVG, no script), the alerts with the action taken, the room's loggers and the CSV import.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::custody::checks::{CheckInput, CheckMonth, ItemInput};
use dangan_app::custody::environment::{AlertView, ChartPoint, RoomEnvironment};
use dangan_app::custody::rooms::RoomView;
use dangan_app::ids::{AlertId, ChecklistItemId, RoomId};
use dangan_app::{Actor, AppError, UseCase};
/// An item of the daily check's form.
#[derive(Debug, Clone)]
pub(super) struct ChecklistItem {
    id: i64,
    name: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "custody.html")]
pub(super) struct CustodyPage {
    shell: Shell,
    rooms: Vec<(RoomView, bool)>,
    alerts: Vec<AlertView>,
    checklist: Vec<ChecklistItem>,
    may_configure: bool,
    error: String,
}

#[derive(Template)]
#[template(path = "custody_room.html")]
pub(super) struct CustodyRoomPage {
    shell: Shell,
    env: RoomEnvironment,
    room: RoomView,
    month: CheckMonth,
    checklist: Vec<ChecklistItem>,
    checked_today: bool,
    may_record: bool,
    may_configure: bool,
    may_import: bool,
    chart: String,
    error: String,
    done: String,
}

fn may(actor: &Actor, uc: UseCase) -> bool {
    dangan_app::administration::roles::allowed(actor.role, uc)
}

/// `GET /custody`: every room, whether today's check is recorded, and the open alerts.
pub async fn custody(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_index(&app, &actor, &v, String::new()).await
}

async fn render_index(app: &AppState, actor: &Actor, v: &Visitor, error: String) -> Response {
    let result = async {
        let rooms = app.rooms(actor).await?;
        let checked = app.rooms_checked_today(actor).await?;
        let alerts = app.open_environment_alerts(actor).await?;
        let checklist = app.custody_checklist(actor, true).await?;
        Ok::<_, AppError>((rooms, checked, alerts, checklist))
    }
    .await;
    match result {
        Ok((rooms, checked, alerts, checklist)) => with_error_status(
            html(&CustodyPage {
                shell: shell(actor, v, "/custody"),
                rooms: rooms
                    .into_iter()
                    .map(|r| {
                        let done = checked.contains(&r.room.id);
                        (r, done)
                    })
                    .collect(),
                alerts,
                checklist: checklist
                    .into_iter()
                    .map(|i| ChecklistItem {
                        id: i.id.0,
                        name: i.name,
                        active: i.active,
                    })
                    .collect(),
                may_configure: may(actor, UseCase::ConfigureRooms),
                error: error.clone(),
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /custody/rooms/{id}`: one room's check, records, chart, alerts and loggers.
pub async fn custody_room(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render_room(&app, &actor, &v, RoomId(id), String::new(), String::new()).await
}

async fn render_room(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: RoomId,
    error: String,
    done: String,
) -> Response {
    let month_text = dangan_app::today().format("%Y-%m").to_string();
    let result = async {
        let room = app.room(actor, id).await?;
        let env = app.room_environment(actor, id).await?;
        let month = app.custody_month(actor, id, &month_text).await?;
        let checklist = app.custody_checklist(actor, false).await?;
        Ok::<_, AppError>((room, env, month, checklist))
    }
    .await;
    match result {
        Ok((room, env, month, checklist)) => {
            let today = dangan_app::today();
            let checked_today = month.days.iter().any(|d| d.date == today);
            let chart = chart(&env);
            with_error_status(
                html(&CustodyRoomPage {
                    shell: shell(actor, v, "/custody"),
                    room,
                    month,
                    checklist: checklist
                        .into_iter()
                        .map(|i| ChecklistItem {
                            id: i.id.0,
                            name: i.name,
                            active: i.active,
                        })
                        .collect(),
                    checked_today,
                    may_record: may(actor, UseCase::RecordCustody),
                    may_configure: may(actor, UseCase::ConfigureRooms),
                    may_import: may(actor, UseCase::SubmitReadings),
                    chart,
                    env,
                    error: error.clone(),
                    done,
                }),
                !error.is_empty(),
            )
        }
        Err(e) => failure(actor, v, &e),
    }
}

/// A form's fields, in order (the check form has one pair per checklist item).
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map_or("", String::as_str)
}

/// What a form's use-case answered: the page again with the message, or the error page.
async fn after(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    id: RoomId,
    r: Result<String, AppError>,
) -> Response {
    match r {
        Ok(done) => render_room(app, actor, v, id, String::new(), done).await,
        Err(e) if belongs_on_form(&e) || matches!(e, AppError::Conflict { .. }) => {
            render_room(app, actor, v, id, e.to_string(), String::new()).await
        }
        Err(e) => failure(actor, v, &e),
    }
}

/// `POST /custody/rooms/{id}/check`: today's check (`temperature`, `humidity`, `note`, and per
/// item `item_{id}` = normal/abnormal with `note_{id}`).
pub async fn custody_check(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Response {
    let f: HashMap<String, String> = fields.into_iter().collect();
    let actor = staff_form_or_return!(v, field(&f, "_csrf"));
    let items = f
        .iter()
        .filter_map(|(k, value)| {
            let item = k.strip_prefix("item_")?.parse::<i64>().ok()?;
            Some(ItemInput {
                item_id: ChecklistItemId(item),
                result: value.clone(),
                note: f.get(&format!("note_{item}")).cloned(),
            })
        })
        .collect();
    let input = CheckInput {
        temperature: field(&f, "temperature").to_owned(),
        humidity: field(&f, "humidity").to_owned(),
        items,
        note: f.get("note").cloned(),
    };
    let r = app
        .record_custody_check(&actor, RoomId(id), &input)
        .await
        .map(|d| format!("已登记 {d} 的日常检查。"));
    after(&app, &actor, &v, RoomId(id), r).await
}

/// `POST /custody/rooms/{id}/loggers`: register a data logger (`code`).
pub async fn custody_logger(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Response {
    let f: HashMap<String, String> = fields.into_iter().collect();
    let actor = staff_form_or_return!(v, field(&f, "_csrf"));
    let code = field(&f, "code").trim().to_owned();
    let r = app
        .add_logger(&actor, RoomId(id), &code)
        .await
        .map(|_| format!("已登记记录仪 {code}。"));
    after(&app, &actor, &v, RoomId(id), r).await
}

/// `POST /custody/rooms/{id}/import`: a logger's CSV export pasted in (`logger`, `csv`).
pub async fn custody_import(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Response {
    let f: HashMap<String, String> = fields.into_iter().collect();
    let actor = staff_form_or_return!(v, field(&f, "_csrf"));
    let r = app
        .import_readings_csv(&actor, field(&f, "logger"), field(&f, "csv").as_bytes())
        .await
        .map(|s| format!("已导入：收到 {} 条，新增 {} 条。", s.received, s.stored));
    after(&app, &actor, &v, RoomId(id), r).await
}

/// `POST /custody/alerts/{id}/action`: the action taken on an alert (`room`, `action`).
pub async fn custody_alert_action(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Response {
    let f: HashMap<String, String> = fields.into_iter().collect();
    let actor = staff_form_or_return!(v, field(&f, "_csrf"));
    let room = RoomId(field(&f, "room").parse().unwrap_or(0));
    let r = app
        .record_alert_action(&actor, AlertId(id), field(&f, "action"))
        .await
        .map(|()| "已登记处置措施；之后的读数恢复正常范围时告警解除。".to_owned());
    if room.0 <= 0 {
        return match r {
            Ok(_) => Redirect::to("/custody").into_response(),
            Err(e) => failure(&actor, &v, &e),
        };
    }
    after(&app, &actor, &v, room, r).await
}

/// `POST /custody/checklist`: add an item (`name`) or retire/restore one (`item`, `active`).
pub async fn custody_checklist(
    State(app): State<AppState>,
    v: Visitor,
    Form(fields): Form<Fields>,
) -> Response {
    let f: HashMap<String, String> = fields.into_iter().collect();
    let actor = staff_form_or_return!(v, field(&f, "_csrf"));
    let r = match field(&f, "item").parse::<i64>() {
        Ok(item) => {
            app.set_checklist_item_active(
                &actor,
                ChecklistItemId(item),
                field(&f, "active") == "true",
            )
            .await
        }
        Err(_) => app
            .add_checklist_item(&actor, field(&f, "name"))
            .await
            .map(|_| ()),
    };
    match r {
        Ok(()) => Redirect::to("/custody").into_response(),
        Err(e) if belongs_on_form(&e) || matches!(e, AppError::Conflict { .. }) => {
            render_index(&app, &actor, &v, e.to_string()).await
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The 30-day chart: temperature above, humidity below, each with the room's threshold band.
fn chart(env: &RoomEnvironment) -> String {
    const W: f64 = 720.0;
    const H: f64 = 140.0;
    const LEFT: f64 = 40.0;
    let span = (env.to - env.from).num_seconds().max(1) as f64;
    let x = |p: &ChartPoint| LEFT + (p.at - env.from).num_seconds() as f64 / span * (W - LEFT);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {}" width="100%" role="img" aria-label="近30天温湿度曲线" id="environment-chart">"#,
        2.0 * H + 30.0
    );
    let panels = [
        (
            "温度 ℃",
            0.0,
            400.0,
            env.room.temp_min_dc,
            env.room.temp_max_dc,
            "#c0392b",
            0,
        ),
        (
            "湿度 %",
            0.0,
            1000.0,
            env.room.rh_min_pm,
            env.room.rh_max_pm,
            "#2471a3",
            1,
        ),
    ];
    for (i, (label, lo, hi, min, max, colour, which)) in panels.into_iter().enumerate() {
        let top = 10.0 + i as f64 * (H + 15.0);
        let y = |v: i64| top + H - ((v as f64 - lo) / (hi - lo)).clamp(0.0, 1.0) * H;
        let _ = write!(
            svg,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{H}" fill="none" stroke="#999"/><rect x="{LEFT}" y="{:.1}" width="{}" height="{:.1}" fill="#d5f5e3" class="band"/><text x="2" y="{:.1}" font-size="10">{label}</text><text x="2" y="{:.1}" font-size="9">{}</text><text x="2" y="{:.1}" font-size="9">{}</text>"##,
            W - LEFT,
            y(max),
            W - LEFT,
            y(min) - y(max),
            top + 12.0,
            y(max) + 3.0,
            dangan_domain::room::format_decimal(max, 1),
            y(min) + 3.0,
            dangan_domain::room::format_decimal(min, 1),
        );
        let points: Vec<String> = env
            .points
            .iter()
            .map(|p| {
                let v = if which == 0 {
                    p.temperature_dc
                } else {
                    p.humidity_pm
                };
                format!("{:.1},{:.1}", x(p), y(v))
            })
            .collect();
        if !points.is_empty() {
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                points.join(" ")
            );
        }
    }
    svg.push_str("</svg>");
    svg
}
