//! 档案材料交接表 — closed-loop handover (S4.2). The collection post lists the materials it hands
//! over; the archive post confirms the list item by item, recording differences (missing,
//! damaged, extra). Both sides and their times are kept; a confirmed list never changes.
//! Confirming marks the paper received, turns a missing item into a supplement request, closes
//! the collection tasks that are complete and opens the organising task (S2.2: 3 working days).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::catalogue::MaterialCode;
use dangan_domain::code::Code;
use dangan_domain::material::MaterialStatus;
use dangan_domain::workflow::{HandoverState, LineResult};
use dangan_store::Tx;
use dangan_store::events::{self, EventId, MaterialId};
use dangan_store::handovers::{self, HandoverId, HandoverItemId, HandoverRow, ItemRow};
use dangan_store::persons::PersonId;

use crate::access::person_archive::PaperState;
use crate::administration::roles::{Actor, UseCase, allowed};
use crate::administration::tasks::Kind;
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult, today};

/// A line handed over.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HandoverItemInput {
    /// The material item.
    pub material_id: i64,
    /// 数量 (default 1).
    pub quantity: Option<i64>,
}

/// A new handover list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HandoverInput {
    /// The lines.
    pub items: Vec<HandoverItemInput>,
    /// 备注
    pub note: Option<String>,
}

/// The receipt of one line.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReceiptInput {
    /// The line's id.
    pub item_id: i64,
    /// `ok`, `missing` or `damaged`.
    pub result: String,
    /// 差异说明
    pub note: Option<String>,
}

/// A material found on receipt that was not on the list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExtraInput {
    /// 材料名称
    pub name: String,
    /// 数量
    pub quantity: Option<i64>,
    /// 说明
    pub note: Option<String>,
}

/// The archive post's confirmation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfirmInput {
    /// One receipt per line of the list.
    pub items: Vec<ReceiptInput>,
    /// Extra materials found.
    #[serde(default)]
    pub extras: Vec<ExtraInput>,
}

/// A line as shown.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverItemView {
    /// Line id.
    pub id: HandoverItemId,
    /// The material.
    pub material_id: Option<MaterialId>,
    /// 材料名称
    pub name: String,
    /// 数量
    pub quantity: i64,
    /// 形成日期
    pub formation_date: Option<NaiveDate>,
    /// The person.
    pub person_id: Option<PersonId>,
    /// 参保人姓名
    pub person_name: Option<String>,
    /// 公民身份号码 (masked).
    pub id_number_masked: Option<String>,
    /// The business event.
    pub event_id: Option<EventId>,
    /// On receipt: `ok`, `missing`, `damaged` or `extra`.
    pub result: Option<LineResult>,
    /// 差异说明
    pub note: Option<String>,
}

/// A handover list as shown and printed.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverView {
    /// Row id.
    pub id: HandoverId,
    /// `open` or `confirmed`.
    pub state: HandoverState,
    /// 备注
    pub note: Option<String>,
    /// 移交人
    pub handed_over_by: String,
    /// 移交人's username (the same person may not confirm).
    pub handed_over_by_user: String,
    /// 移交时间
    pub handed_over_at: DateTime<Utc>,
    /// 接收人
    pub received_by: Option<String>,
    /// 接收时间
    pub received_at: Option<DateTime<Utc>>,
    /// The lines.
    pub items: Vec<HandoverItemView>,
}

impl HandoverView {
    /// Whether `actor` may confirm this list now: it is open, the role receives handovers
    /// (档案岗), and the actor did not hand it over (闭环交接). A page offers the confirmation
    /// only then: otherwise it would always be refused.
    pub fn may_confirm(&self, actor: &Actor) -> bool {
        self.state.is_open()
            && allowed(actor.role, UseCase::ReceiveHandover)
            && actor.username != self.handed_over_by_user
    }
}

/// A handover list as listed (交接 page): pending ones first.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverSummary {
    /// Row id.
    pub id: HandoverId,
    /// 待确认 or 已确认.
    pub state: HandoverState,
    /// 移交人
    pub handed_over_by: String,
    /// 移交时间
    pub handed_over_at: DateTime<Utc>,
    /// 接收人
    pub received_by: Option<String>,
    /// 接收时间
    pub received_at: Option<DateTime<Utc>>,
    /// Lines handed over.
    pub items: i64,
    /// Different persons on the list.
    pub persons: i64,
    /// The (first) person's row id.
    pub person_id: Option<PersonId>,
    /// The (first) person's name.
    pub person_name: Option<String>,
    /// The (first) person's identity number, masked.
    pub id_number_masked: Option<String>,
}

fn summary(l: handovers::ListedHandover) -> HandoverSummary {
    let person = l.person;
    HandoverSummary {
        id: l.row.id,
        state: l.row.state,
        handed_over_by: l.row.created_by_name,
        handed_over_at: l.row.created_at,
        received_by: l.row.confirmed_by_name,
        received_at: l.row.confirmed_at,
        items: l.items,
        persons: l.persons,
        person_id: person.as_ref().map(|p| p.id),
        id_number_masked: person.as_ref().map(|p| p.id_number.masked()),
        person_name: person.map(|p| p.name),
    }
}

fn quantity(field: &str, q: Option<i64>) -> AppResult<i64> {
    let q = q.unwrap_or(1);
    if (1..=999).contains(&q) {
        Ok(q)
    } else {
        Err(AppError::invalid_with(
            "invalid_quantity",
            Some(field),
            "数量应为1至999之间的整数",
        ))
    }
}

/// The receipt of one listed line, checked.
struct Receipt<'a> {
    line: &'a ItemRow,
    result: LineResult,
    note: Option<String>,
}

/// An extra material found on receipt, checked.
struct Extra {
    name: String,
    quantity: i64,
    note: Option<String>,
}

fn already_confirmed() -> AppError {
    AppError::Conflict {
        code: "handover_already_confirmed",
        field: None,
        message: "该交接单已确认，不能再修改".to_owned(),
    }
}

/// The list, if it exists and is still open.
async fn open_handover(tx: &mut Tx, id: HandoverId) -> AppResult<HandoverRow> {
    let h = handovers::get(tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("handover_not_found", "未找到该交接单"))?;
    if h.state != HandoverState::Open {
        return Err(already_confirmed());
    }
    Ok(h)
}

/// Checks the receipts against the list: each names a line of it once, with 已收到, 缺失 or 破损;
/// every line is confirmed; a difference has its note. Returned in the list's order.
fn check_receipts<'a>(lines: &'a [ItemRow], input: &[ReceiptInput]) -> AppResult<Vec<Receipt<'a>>> {
    let mut by_line: BTreeMap<HandoverItemId, &ReceiptInput> = BTreeMap::new();
    let mut results: BTreeMap<HandoverItemId, LineResult> = BTreeMap::new();
    for (i, r) in input.iter().enumerate() {
        let item = HandoverItemId(r.item_id);
        if !lines.iter().any(|l| l.id == item) {
            return Err(AppError::invalid_with(
                "unknown_item",
                Some(&format!("items[{i}].item_id")),
                "该行不属于此交接单",
            ));
        }
        let result = LineResult::from_code(r.result.as_str())
            .filter(|x| LineResult::RECEIPTS.contains(x))
            .ok_or_else(|| {
                AppError::invalid_with(
                    "invalid_result",
                    Some(&format!("items[{i}].result")),
                    "接收结果应为 ok（已收到）、missing（缺失）或 damaged（破损）",
                )
            })?;
        if by_line.insert(item, r).is_some() {
            return Err(AppError::invalid_with(
                "duplicate_item",
                Some(&format!("items[{i}].item_id")),
                "同一行重复确认",
            ));
        }
        results.insert(item, result);
    }
    let unconfirmed: Vec<&str> = lines
        .iter()
        .filter(|l| !by_line.contains_key(&l.id))
        .map(|l| l.name.as_str())
        .collect();
    if !unconfirmed.is_empty() {
        return Err(AppError::invalid_with(
            "handover_items_unconfirmed",
            Some("items"),
            format!("请逐项确认：尚未确认 {}", unconfirmed.join("、")),
        ));
    }
    lines
        .iter()
        .map(|line| {
            let result = results[&line.id];
            let note = text::optional("note", by_line[&line.id].note.as_deref(), 200, "差异说明")?;
            if result.needs_note() && note.is_none() {
                return Err(AppError::invalid_with(
                    "difference_note_required",
                    Some("items"),
                    format!("“{}”与清单不符，请填写差异说明", line.name),
                ));
            }
            Ok(Receipt { line, result, note })
        })
        .collect()
}

/// Checks the extra materials found on receipt: each with a name, a quantity and its note.
fn check_extras(input: &[ExtraInput]) -> AppResult<Vec<Extra>> {
    let mut extras = Vec::with_capacity(input.len());
    for (i, e) in input.iter().enumerate() {
        let field = format!("extras[{i}].name");
        let name = text::optional(&field, Some(&e.name), 60, "材料名称")?.ok_or_else(|| {
            AppError::invalid_with("invalid_text", Some(&field), "请填写多出材料的名称")
        })?;
        let quantity = quantity(&format!("extras[{i}].quantity"), e.quantity)?;
        let note = text::optional(&format!("extras[{i}].note"), e.note.as_deref(), 200, "说明")?;
        extras.push(Extra {
            name,
            quantity,
            note,
        });
    }
    Ok(extras)
}

impl App {
    async fn handover_view(&self, tx: &mut Tx, id: HandoverId) -> AppResult<HandoverView> {
        let h = handovers::get(tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("handover_not_found", "未找到该交接单"))?;
        let items = handovers::items_with_persons(tx, id)
            .await?
            .into_iter()
            .map(|l| {
                let (it, person) = (l.item, l.person);
                HandoverItemView {
                    id: it.id,
                    material_id: it.material_id,
                    name: it.name,
                    quantity: it.quantity,
                    formation_date: it.formation_date,
                    person_id: it.person_id,
                    person_name: person.as_ref().map(|p| p.name.clone()),
                    id_number_masked: person.as_ref().map(|p| p.id_number.masked()),
                    event_id: it.event_id,
                    result: it.result.map(|r| r.0),
                    note: it.note,
                }
            })
            .collect();
        Ok(HandoverView {
            id: h.id,
            state: h.state,
            note: h.note,
            handed_over_by: h.created_by_name,
            handed_over_by_user: h.created_by,
            handed_over_at: h.created_at,
            received_by: h.confirmed_by_name,
            received_at: h.confirmed_at,
            items,
        })
    }

    /// Hands over the paper of one business event that is still awaiting handover (待移交, see
    /// [`PaperState`]): the 移交 action of a person's archive page. Paper already on a list
    /// or received is left out; none left is `nothing_to_hand_over`.
    pub async fn hand_over_event(&self, actor: &Actor, event: EventId) -> AppResult<HandoverView> {
        self.authorize(actor, UseCase::HandOver).await?;
        let ev = self.event(actor, event).await?;
        let mut tx = self.begin_read().await?;
        let lists: BTreeMap<MaterialId, (HandoverId, HandoverState)> =
            handovers::of_persons_materials(&mut tx, ev.person_id)
                .await?
                .into_iter()
                .map(|l| (l.material_id, (l.handover_id, l.state)))
                .collect();
        tx.rollback().await?;
        let items: Vec<HandoverItemInput> = ev
            .materials
            .iter()
            .filter(|m| {
                PaperState::of(
                    m.carrier,
                    m.status,
                    m.received_on,
                    lists.get(&m.id).copied(),
                ) == PaperState::AwaitingHandover
            })
            .map(|m| HandoverItemInput {
                material_id: m.id.0,
                quantity: Some(1),
            })
            .collect();
        if items.is_empty() {
            return Err(AppError::Conflict {
                code: "nothing_to_hand_over",
                field: None,
                message: "该业务的纸质材料已全部移交或已接收，无需再移交".to_owned(),
            });
        }
        self.create_handover(actor, &HandoverInput { items, note: None })
            .await
    }

    /// Creates a handover list of materials (collection post).
    pub async fn create_handover(
        &self,
        actor: &Actor,
        input: &HandoverInput,
    ) -> AppResult<HandoverView> {
        self.authorize(actor, UseCase::HandOver).await?;
        if input.items.is_empty() || input.items.len() > 500 {
            return Err(AppError::invalid_with(
                "invalid_items",
                Some("items"),
                "交接单应列出1至500件材料",
            ));
        }
        let note = text::optional("note", input.note.as_deref(), 200, "备注")?;
        let mut seen = BTreeSet::new();
        let mut tx = self.store.begin_write().await?;
        let id = handovers::insert(
            &mut tx,
            note.as_deref(),
            &actor.username,
            &actor.display_name,
            Utc::now(),
        )
        .await?;
        for (i, line) in input.items.iter().enumerate() {
            let field = format!("items[{i}].material_id");
            let q = quantity(&format!("items[{i}].quantity"), line.quantity)?;
            let mid = MaterialId(line.material_id);
            if !seen.insert(mid) {
                return Err(AppError::invalid_with(
                    "duplicate_item",
                    Some(&field),
                    "同一件材料在交接单中重复列出",
                ));
            }
            let m = events::material(&mut tx, mid).await?.ok_or_else(|| {
                AppError::invalid_with("unknown_material", Some(&field), "未找到该材料")
            })?;
            if !m.carrier.has_paper() {
                return Err(AppError::invalid_with(
                    "no_paper",
                    Some(&field),
                    format!("“{}”为电子材料，没有纸质件需要交接", m.name),
                ));
            }
            if m.status == MaterialStatus::Lost {
                return Err(AppError::invalid_with(
                    "material_lost",
                    Some(&field),
                    format!("“{}”已登记为档案丢失", m.name),
                ));
            }
            if handovers::material_listed(&mut tx, mid).await? {
                return Err(AppError::Conflict {
                    code: "material_already_handed_over",
                    field: Some(field),
                    message: format!("“{}”已在其他交接单中，不能重复交接", m.name),
                });
            }
            let event = events::get(&mut tx, m.event_id)
                .await?
                .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
            handovers::insert_item(
                &mut tx,
                id,
                Some(mid),
                &m.name,
                q,
                Some(m.formation_date),
                Some(event.person_id),
                Some(m.event_id),
                None,
                None,
            )
            .await?;
        }
        // The archive post's 工作台 shows the list to receive (接收交接).
        let title = format!("接收交接单 {id}（{} 件）", input.items.len());
        self.open_task(&mut tx, Kind::Receipt, id.0, &title, today())
            .await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("handover.create", "handover", id)
                .detail(format!("{} items", input.items.len())),
            Outcome::Ok,
        )
        .await?;
        let view = self.handover_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Confirms a list item by item (archive post). Every line needs a result; the receiver
    /// cannot be the person who handed over; a confirmed list cannot be confirmed again.
    pub async fn confirm_handover(
        &self,
        actor: &Actor,
        id: HandoverId,
        input: &ConfirmInput,
    ) -> AppResult<HandoverView> {
        self.authorize(actor, UseCase::ReceiveHandover).await?;
        let mut tx = self.store.begin_write().await?;
        let h = open_handover(&mut tx, id).await?;
        if h.created_by == actor.username {
            return Err(AppError::invalid_with(
                "same_person",
                None,
                "移交人与接收人不能为同一人（闭环交接须双方确认）",
            ));
        }
        let lines = handovers::items(&mut tx, id).await?;
        let receipts = check_receipts(&lines, &input.items)?;
        let extras = check_extras(&input.extras)?;
        let mut events_touched = BTreeSet::new();
        for r in &receipts {
            if let Some(event) = self.receive_line(&mut tx, actor, r).await? {
                events_touched.insert(event);
            }
        }
        for e in &extras {
            handovers::insert_item(
                &mut tx,
                id,
                None,
                &e.name,
                e.quantity,
                None,
                None,
                None,
                Some(LineResult::Extra),
                e.note.as_deref(),
            )
            .await?;
        }
        let now = Utc::now();
        if !handovers::confirm(&mut tx, id, &actor.username, &actor.display_name, now).await? {
            return Err(already_confirmed());
        }
        for event in events_touched {
            self.close_collection_if_complete(&mut tx, event).await?;
        }
        self.close_task(&mut tx, Kind::Receipt, id.0).await?;
        let title = format!("整理交接单 {id} 的材料");
        self.open_task(&mut tx, Kind::Organising, id.0, &title, today())
            .await?;
        let op = Op::new("handover.confirm", "handover", id);
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let view = self.handover_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Records one line's receipt: its result, and the material's fate — received (damaged
    /// ones marked 损毁), or marked 材料缺失 with a supplement request (补件). Returns the
    /// material's business event.
    async fn receive_line(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        r: &Receipt<'_>,
    ) -> AppResult<Option<EventId>> {
        handovers::set_result(tx, r.line.id, r.result, r.note.as_deref()).await?;
        let Some(mid) = r.line.material_id else {
            return Ok(None);
        };
        let m = events::material(tx, mid)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        match r.result.material_status() {
            Some(MaterialStatus::Missing) => {
                events::set_material_status(tx, mid, MaterialStatus::Missing).await?;
                let code = MaterialCode::parse(&m.material_code)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                let lack = [(code, m.name.clone())];
                self.request_supplements(tx, actor, m.event_id, &lack, today())
                    .await?;
            }
            status => {
                events::mark_received(tx, mid, today()).await?;
                if let Some(status) = status {
                    events::set_material_status(tx, mid, status).await?;
                }
            }
        }
        Ok(Some(m.event_id))
    }

    /// Closes an event's collection task once every paper material is received or accounted
    /// for as missing.
    async fn close_collection_if_complete(&self, tx: &mut Tx, event: EventId) -> AppResult<()> {
        let materials = events::materials(tx, event).await?;
        let done = materials.iter().all(|m| {
            !m.carrier.has_paper() || m.received_on.is_some() || m.status == MaterialStatus::Missing
        });
        if done {
            self.close_task(tx, Kind::Collection, event.0).await?;
        }
        Ok(())
    }

    /// One handover list (logged: it names persons).
    pub async fn handover(&self, actor: &Actor, id: HandoverId) -> AppResult<HandoverView> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.begin_read().await?;
        let view = self.handover_view(&mut tx, id).await?;
        let op = Op::new("handover.read", "handover", id);
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(view)
    }

    /// Handover lists (交接), pending ones first, in a state (`open`, `confirmed`; all when
    /// absent); each names its person (masked identity number): a logged read.
    pub async fn handovers(
        &self,
        actor: &Actor,
        state: Option<&str>,
    ) -> AppResult<Vec<HandoverSummary>> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let state = text::code_filter::<HandoverState>("state", "invalid_state", state)?;
        let mut tx = self.begin_read().await?;
        let rows = handovers::list(&mut tx, state, 500).await?;
        let op = Op::new("handover.list", "handover", "").detail(format!("{} lists", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows.into_iter().map(summary).collect())
    }

    /// One page of [`App::handovers`] (the API's list): `limit` lists (1–500, default 50) after
    /// `offset`, with the count of all in the state. A logged read like the page's.
    pub async fn handover_page(
        &self,
        actor: &Actor,
        state: Option<&str>,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> AppResult<HandoverListPage> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let state = text::code_filter::<HandoverState>("state", "invalid_state", state)?;
        let limit = limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(AppError::invalid_with(
                "invalid_limit",
                Some("limit"),
                "limit 应在1至500之间",
            ));
        }
        let offset = offset.unwrap_or(0);
        if !(0..=1_000_000).contains(&offset) {
            return Err(AppError::invalid_with(
                "invalid_offset",
                Some("offset"),
                "offset 应在0至1000000之间",
            ));
        }
        let mut tx = self.begin_read().await?;
        let total = handovers::count(&mut tx, state).await?;
        let rows = handovers::list_page(&mut tx, state, limit, offset).await?;
        let op = Op::new("handover.list", "handover", "").detail(format!("{} lists", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(HandoverListPage {
            items: rows.into_iter().map(summary).collect(),
            total,
            limit,
            offset,
        })
    }
}

/// One page of handover lists.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverListPage {
    /// The lists of this page, open ones first, then newest first.
    pub items: Vec<HandoverSummary>,
    /// Lists in the state, in all pages.
    pub total: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Lists skipped.
    pub offset: i64,
}
