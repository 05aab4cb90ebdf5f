//! 导出 Excel — the lists staff work from as .xlsx downloads, each through the same use-case
//! (and so the same access check) as its page, and logged as an export.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use dangan_app::access::persons::{PersonQuery, PersonSummary};
use dangan_app::administration::tasks::TaskQuery;
use dangan_app::ids::PersonId;
use dangan_app::{Actor, AppError, AppResult};
use dangan_domain::business::BusinessClass;
use dangan_domain::code::label_or_code;
use dangan_domain::id_number::Sex;

use super::{failure, staff};
use crate::extract::AppState;
use crate::ui::session::Visitor;
use crate::ui::xlsx::{MAX_ROWS, Sheet, download};

/// The answer to an export: the file, or the failure page.
fn answer(actor: &Actor, v: &Visitor, r: AppResult<Response>) -> Response {
    r.unwrap_or_else(|e| failure(actor, v, &e))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The filters of the persons list (the page's own; never an identity number).
#[derive(Debug, Deserialize)]
pub struct PersonsExport {
    name: Option<String>,
    division: Option<String>,
}

fn person_row(p: PersonSummary) -> Vec<String> {
    vec![
        p.id.to_string(),
        p.name,
        label_or_code::<Sex>(&p.sex),
        p.id_number_masked,
        format!("{} {}", p.division_code, p.division_name),
        p.status.label().to_owned(),
    ]
}

/// `GET /persons/export.xlsx?name=&division=`: the persons search, every page.
pub async fn persons(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<PersonsExport>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let mut rows = Vec::new();
        for page in 1u32.. {
            let q = PersonQuery {
                name: f.name.clone(),
                division_code: f.division.clone(),
                page: Some(page),
                per_page: Some(200),
                ..PersonQuery::default()
            };
            let found = app.search_persons(&actor, &q).await?;
            let done = found.items.len() < 200;
            rows.extend(found.items.into_iter().map(person_row));
            if done || rows.len() >= MAX_ROWS {
                break;
            }
        }
        let sheet = Sheet {
            name: "参保人",
            headers: vec![
                "编号",
                "姓名",
                "性别",
                "公民身份号码",
                "行政区划",
                "参保状态",
            ],
            rows,
        };
        download(&app, &actor, "persons", "参保人", &[sheet]).await
    }
    .await;
    answer(&actor, &v, r)
}

/// `GET /workbench/export.xlsx`: the signed-in staff member's open tasks.
pub async fn tasks(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let q = TaskQuery {
            state: Some("open".to_owned()),
            ..TaskQuery::default()
        };
        let rows = app
            .tasks(&actor, &q)
            .await?
            .into_iter()
            .map(|t| {
                vec![
                    t.title,
                    t.post.label().to_owned(),
                    t.opened_on.to_string(),
                    t.due_on
                        .map_or_else(|| "期限待定".to_owned(), |d| d.to_string()),
                    opt(t.working_days_left),
                    if t.overdue { "已超期" } else { "待办" }.to_owned(),
                ]
            })
            .collect();
        let sheet = Sheet {
            name: "待办任务",
            headers: vec!["任务", "岗位", "开始", "期限", "剩余工作日", "状态"],
            rows,
        };
        download(&app, &actor, "tasks", "待办任务", &[sheet]).await
    }
    .await;
    answer(&actor, &v, r)
}

/// `GET /supplements/export.xlsx`: every supplement request, open and closed.
pub async fn supplements(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let rows = app
            .supplements(&actor, None)
            .await?
            .into_iter()
            .map(|s| {
                vec![
                    s.id.to_string(),
                    s.event_id.to_string(),
                    s.material_name,
                    s.requested_on.to_string(),
                    opt(s.due_on),
                    s.state.label().to_owned(),
                    s.contacts.join("；"),
                    opt(s.closed_on),
                    s.explanation.unwrap_or_default(),
                ]
            })
            .collect();
        let sheet = Sheet {
            name: "补件",
            headers: vec![
                "编号",
                "业务编号",
                "材料",
                "通知日期",
                "期限",
                "状态",
                "联系记录",
                "办结日期",
                "说明",
            ],
            rows,
        };
        download(&app, &actor, "supplements", "补件", &[sheet]).await
    }
    .await;
    answer(&actor, &v, r)
}

/// The handovers page's filter (a state code, nothing personal).
#[derive(Debug, Deserialize)]
pub struct HandoversExport {
    #[serde(default)]
    state: String,
}

/// `GET /handovers/export.xlsx?state=`: the handover lists of the page, in the same order,
/// every page of them.
pub async fn handovers(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<HandoversExport>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let mut rows = Vec::new();
        loop {
            let found = app
                .handover_page(&actor, Some(&f.state), Some(500), Some(rows.len() as i64))
                .await?;
            let done = found.items.len() < 500;
            rows.extend(found.items.into_iter().map(|h| {
                let person = match (h.person_name, h.id_number_masked) {
                    (Some(n), Some(m)) if h.persons > 1 => format!("{n} {m} 等 {} 人", h.persons),
                    (Some(n), Some(m)) => format!("{n} {m}"),
                    _ => String::new(),
                };
                vec![
                    h.id.to_string(),
                    h.state.label().to_owned(),
                    person,
                    h.items.to_string(),
                    h.handed_over_by,
                    crate::ui::beijing::time(&h.handed_over_at),
                    h.received_by.unwrap_or_default(),
                    h.received_at
                        .as_ref()
                        .map(crate::ui::beijing::time)
                        .unwrap_or_default(),
                ]
            }));
            if done || rows.len() >= MAX_ROWS {
                break;
            }
        }
        let sheet = Sheet {
            name: "交接单",
            headers: vec![
                "交接单",
                "状态",
                "参保人",
                "件数",
                "移交人",
                "移交时间",
                "接收人",
                "接收时间",
            ],
            rows,
        };
        download(&app, &actor, "handovers", "交接单", &[sheet]).await
    }
    .await;
    answer(&actor, &v, r)
}

/// The volumes page's filters.
#[derive(Debug, Deserialize)]
pub struct VolumesExport {
    year: i32,
    class: String,
}

/// `GET /volumes/export.xlsx?year=&class=`: the volumes of a year and class, and every line of
/// their 卷内目录 on a second sheet.
pub async fn volumes(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<VolumesExport>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let class = BusinessClass::parse(&f.class).map_err(|e| AppError::invalid("class", &e))?;
        let volumes = app.volumes(&actor, f.year, class).await?;
        let number = |n: &Option<String>| n.clone().unwrap_or_else(|| "（草稿）".to_owned());
        let mut lines = Vec::new();
        let mut rows = Vec::new();
        for vol in &volumes {
            rows.push(vec![
                number(&vol.archive_number),
                vol.year.to_string(),
                vol.business_class_name.clone(),
                if vol.sealed_at.is_some() {
                    "已封卷"
                } else {
                    "草稿"
                }
                .to_owned(),
                vol.contents.len().to_string(),
                vol.pages.to_string(),
                format!("{:.1}", vol.thickness_mm),
                opt(vol.sealed_by.as_ref()),
                vol.sealed_at
                    .as_ref()
                    .map(crate::ui::beijing::time)
                    .unwrap_or_default(),
            ]);
            for c in &vol.contents {
                lines.push(vec![
                    number(&vol.archive_number),
                    c.seq.to_string(),
                    c.person_name.clone(),
                    c.id_number_masked.clone(),
                    c.name.clone(),
                    c.formation_date.to_string(),
                    c.pages.to_string(),
                    format!("{}-{}", c.start_page, c.end_page),
                    c.remarks.clone(),
                ]);
            }
        }
        let sheets = [
            Sheet {
                name: "案卷",
                headers: vec![
                    "档号",
                    "年度",
                    "业务类别",
                    "状态",
                    "件数",
                    "页数",
                    "厚度（毫米）",
                    "立卷人",
                    "封卷时间",
                ],
                rows,
            },
            Sheet {
                name: "卷内目录",
                headers: vec![
                    "档号",
                    "序号",
                    "参保人",
                    "公民身份号码",
                    "材料名称",
                    "形成日期",
                    "页数",
                    "页号",
                    "备注",
                ],
                rows: lines,
            },
        ];
        download(&app, &actor, "volumes", "案卷与卷内目录", &sheets).await
    }
    .await;
    answer(&actor, &v, r)
}

/// `GET /persons/{id}/corrections/export.xlsx`: a person's corrections (under the same
/// query-register rule as the page).
pub async fn corrections(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let rows = app
            .corrections(&actor, PersonId(id))
            .await?
            .into_iter()
            .map(|c| {
                vec![
                    c.id.to_string(),
                    c.field.label().to_owned(),
                    c.old_value,
                    c.new_value,
                    c.basis,
                    c.corrected_by,
                    crate::ui::beijing::time(&c.corrected_at),
                ]
            })
            .collect();
        let sheet = Sheet {
            name: "更正记录",
            headers: vec![
                "编号",
                "更正项目",
                "原值",
                "新值",
                "依据",
                "更正人",
                "更正时间",
            ],
            rows,
        };
        download(&app, &actor, "corrections", "更正记录", &[sheet]).await
    }
    .await;
    answer(&actor, &v, r)
}
