//! The wire types of `api/workflow.rs` (tasks, handover lists, supplements, volumes,
//! corrections, damage and loss), kept apart for size: that module holds the handlers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::administration::tasks;
use dangan_app::intake::handovers;
use dangan_app::organising::volumes;
use dangan_app::problems::{corrections, damage, supplements};

use super::all;
use super::ids::{HandoverId, MaterialId, SupplementId, TaskId, VolumeId};

/// A task as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// Row id.
    pub id: TaskId,
    /// `collection`, `receipt` (接收交接), `organising` or `supplement`.
    pub kind: String,
    /// `collection` (收集岗) or `organising` (整理岗).
    pub post: String,
    /// What it is about: `event`, `handover` or `supplement`, and its id.
    pub subject_kind: String,
    /// The subject's id.
    pub subject_id: i64,
    /// What to do.
    pub title: String,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Due on; absent while the due year's holiday calendar is not loaded (an alert, never a
    /// guess).
    pub due_on: Option<NaiveDate>,
    /// `open` or `done`.
    pub state: String,
    /// Open and past its due date.
    pub overdue: bool,
    /// Working days left (negative when overdue), when computable.
    pub working_days_left: Option<i64>,
    /// While `due_on` cannot be computed: why (期限待定，某年工作日历未载入).
    pub due_pending: Option<String>,
    /// The business event it is about (for a handover, one of its events when all its lines
    /// are of one person).
    pub event_id: Option<super::ids::EventId>,
    /// The person it is about.
    pub person_id: Option<super::ids::PersonId>,
    /// 参保人姓名
    pub person_name: Option<String>,
    /// 公民身份号码, masked.
    pub id_number_masked: Option<String>,
}

impl From<tasks::TaskView> for TaskView {
    fn from(t: tasks::TaskView) -> TaskView {
        TaskView {
            id: TaskId(t.id.0),
            kind: t.kind.to_string(),
            post: t.post.to_string(),
            subject_kind: t.subject_kind.to_string(),
            subject_id: t.subject_id,
            title: t.title,
            opened_on: t.opened_on,
            due_on: t.due_on,
            state: t.state.to_string(),
            overdue: t.overdue,
            working_days_left: t.working_days_left,
            due_pending: t.due_pending,
            event_id: t.event_id.map(|id| super::ids::EventId(id.0)),
            person_id: t.person_id.map(|id| super::ids::PersonId(id.0)),
            person_name: t.person_name,
            id_number_masked: t.id_number_masked,
        }
    }
}

/// Filters of the task list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `collection` or `organising`.
    #[param(pattern = "^(collection|organising)$")]
    pub post: Option<String>,
    /// `open`, `overdue` or `done`.
    #[param(pattern = "^(open|overdue|done)$")]
    pub state: Option<String>,
}

impl From<TaskQuery> for tasks::TaskQuery {
    fn from(q: TaskQuery) -> tasks::TaskQuery {
        tasks::TaskQuery {
            post: q.post,
            state: q.state,
        }
    }
}

/// A line handed over.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct HandoverItemInput {
    /// The material item.
    #[schema(minimum = 1)]
    pub material_id: i64,
    /// 数量 (default 1).
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: Option<i64>,
}

impl From<HandoverItemInput> for handovers::HandoverItemInput {
    fn from(i: HandoverItemInput) -> handovers::HandoverItemInput {
        handovers::HandoverItemInput {
            material_id: i.material_id,
            quantity: i.quantity,
        }
    }
}

/// A new handover list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct HandoverInput {
    /// The lines.
    #[schema(min_items = 1, max_items = 500)]
    pub items: Vec<HandoverItemInput>,
    /// 备注
    pub note: Option<String>,
}

impl From<HandoverInput> for handovers::HandoverInput {
    fn from(h: HandoverInput) -> handovers::HandoverInput {
        handovers::HandoverInput {
            items: all(h.items),
            note: h.note,
        }
    }
}

/// The receipt of one line.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReceiptInput {
    /// The line's id.
    #[schema(minimum = 1)]
    pub item_id: i64,
    /// `ok`, `missing` or `damaged`.
    #[schema(pattern = "^(ok|missing|damaged)$")]
    pub result: String,
    /// 差异说明
    pub note: Option<String>,
}

impl From<ReceiptInput> for handovers::ReceiptInput {
    fn from(r: ReceiptInput) -> handovers::ReceiptInput {
        handovers::ReceiptInput {
            item_id: r.item_id,
            result: r.result,
            note: r.note,
        }
    }
}

/// A material found on receipt that was not on the list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ExtraInput {
    /// 材料名称
    pub name: String,
    /// 数量
    pub quantity: Option<i64>,
    /// 说明
    pub note: Option<String>,
}

impl From<ExtraInput> for handovers::ExtraInput {
    fn from(e: ExtraInput) -> handovers::ExtraInput {
        handovers::ExtraInput {
            name: e.name,
            quantity: e.quantity,
            note: e.note,
        }
    }
}

/// The archive post's confirmation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ConfirmInput {
    /// One receipt per line of the list.
    pub items: Vec<ReceiptInput>,
    /// Extra materials found.
    #[serde(default)]
    pub extras: Vec<ExtraInput>,
}

impl From<ConfirmInput> for handovers::ConfirmInput {
    fn from(c: ConfirmInput) -> handovers::ConfirmInput {
        handovers::ConfirmInput {
            items: all(c.items),
            extras: all(c.extras),
        }
    }
}

/// A line as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HandoverItemView {
    /// Line id.
    pub id: i64,
    /// The material.
    pub material_id: Option<MaterialId>,
    /// 材料名称
    pub name: String,
    /// 数量
    pub quantity: i64,
    /// 形成日期
    pub formation_date: Option<NaiveDate>,
    /// The person.
    pub person_id: Option<i64>,
    /// 参保人姓名
    pub person_name: Option<String>,
    /// 公民身份号码 (masked).
    pub id_number_masked: Option<String>,
    /// The business event.
    pub event_id: Option<i64>,
    /// On receipt: `ok`, `missing`, `damaged` or `extra`.
    pub result: Option<String>,
    /// 差异说明
    pub note: Option<String>,
}

impl From<handovers::HandoverItemView> for HandoverItemView {
    fn from(i: handovers::HandoverItemView) -> HandoverItemView {
        HandoverItemView {
            id: i.id.0,
            material_id: i.material_id.map(|id| MaterialId(id.0)),
            name: i.name,
            quantity: i.quantity,
            formation_date: i.formation_date,
            person_id: i.person_id.map(|p| p.0),
            person_name: i.person_name,
            id_number_masked: i.id_number_masked,
            event_id: i.event_id.map(|e| e.0),
            result: i.result.map(|r| r.to_string()),
            note: i.note,
        }
    }
}

/// A handover list as listed (the 交接 list): its state, counts and (first) person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HandoverSummary {
    /// Row id.
    pub id: HandoverId,
    /// `open` (待确认) or `confirmed` (已确认).
    pub state: String,
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
    /// The (first) person.
    pub person_id: Option<super::ids::PersonId>,
    /// The (first) person's name.
    pub person_name: Option<String>,
    /// The (first) person's identity number, masked.
    pub id_number_masked: Option<String>,
}

impl From<handovers::HandoverSummary> for HandoverSummary {
    fn from(h: handovers::HandoverSummary) -> HandoverSummary {
        HandoverSummary {
            id: HandoverId(h.id.0),
            state: h.state.to_string(),
            handed_over_by: h.handed_over_by,
            handed_over_at: h.handed_over_at,
            received_by: h.received_by,
            received_at: h.received_at,
            items: h.items,
            persons: h.persons,
            person_id: h.person_id.map(|id| super::ids::PersonId(id.0)),
            person_name: h.person_name,
            id_number_masked: h.id_number_masked,
        }
    }
}

/// One page of handover lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HandoverListPage {
    /// The lists of this page: open ones first, then newest first.
    pub items: Vec<HandoverSummary>,
    /// Lists in the state, in all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Lists skipped.
    pub offset: i64,
}

impl From<handovers::HandoverListPage> for HandoverListPage {
    fn from(p: handovers::HandoverListPage) -> HandoverListPage {
        HandoverListPage {
            items: all(p.items),
            total: p.total,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// Filter and page of the handover list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HandoverListQuery {
    /// `open`（待确认）or `confirmed`（已确认）; all when absent.
    #[param(pattern = "^(open|confirmed)$")]
    pub state: Option<String>,
    /// Page size (1–500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Lists to skip (0–1000000, default 0).
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<i64>,
}

/// A handover list as shown and printed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HandoverView {
    /// Row id.
    pub id: HandoverId,
    /// `open` or `confirmed`.
    pub state: String,
    /// 备注
    pub note: Option<String>,
    /// 移交人
    pub handed_over_by: String,
    /// 移交时间
    pub handed_over_at: DateTime<Utc>,
    /// 接收人
    pub received_by: Option<String>,
    /// 接收时间
    pub received_at: Option<DateTime<Utc>>,
    /// The lines.
    pub items: Vec<HandoverItemView>,
}

impl From<handovers::HandoverView> for HandoverView {
    fn from(h: handovers::HandoverView) -> HandoverView {
        HandoverView {
            id: HandoverId(h.id.0),
            state: h.state.to_string(),
            note: h.note,
            handed_over_by: h.handed_over_by,
            handed_over_at: h.handed_over_at,
            received_by: h.received_by,
            received_at: h.received_at,
            items: all(h.items),
        }
    }
}

/// A request as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupplementView {
    /// Row id.
    pub id: SupplementId,
    /// The business event lacking the material.
    pub event_id: super::ids::EventId,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub material_name: String,
    /// Requested on.
    pub requested_on: NaiveDate,
    /// Due on.
    pub due_on: Option<NaiveDate>,
    /// `open`, `supplemented` or `missing`.
    pub state: String,
    /// Contacts made.
    pub contacts: Vec<String>,
    /// The supplemented material.
    pub fulfilled_by: Option<MaterialId>,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// The explanation.
    pub explanation: Option<String>,
    /// The business type of the event (its name); filled in lists.
    pub business_name: Option<String>,
    /// 办理日期 of the event; filled in lists.
    pub business_date: Option<NaiveDate>,
    /// The person; filled in lists.
    pub person_id: Option<super::ids::PersonId>,
    /// 参保人姓名; filled in lists.
    pub person_name: Option<String>,
    /// 公民身份号码, masked; filled in lists.
    pub id_number_masked: Option<String>,
}

impl From<supplements::SupplementView> for SupplementView {
    fn from(s: supplements::SupplementView) -> SupplementView {
        SupplementView {
            id: SupplementId(s.id.0),
            event_id: super::ids::EventId(s.event_id.0),
            material_code: s.material_code.to_string(),
            material_name: s.material_name,
            requested_on: s.requested_on,
            due_on: s.due_on,
            state: s.state.to_string(),
            contacts: s.contacts,
            fulfilled_by: s.fulfilled_by.map(|id| MaterialId(id.0)),
            closed_on: s.closed_on,
            explanation: s.explanation,
            business_name: s.business_name,
            business_date: s.business_date,
            person_id: s.person_id.map(|id| super::ids::PersonId(id.0)),
            person_name: s.person_name,
            id_number_masked: s.id_number_masked,
        }
    }
}

/// A contact made about a request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ContactInput {
    /// `phone`, `sms`, `visit`, `letter` or `window`.
    #[schema(pattern = "^(phone|sms|visit|letter|window)$")]
    pub method: String,
    /// Whom (the insured person, a relative, the village assistant …).
    pub who: String,
    /// What was agreed.
    pub note: String,
}

impl From<ContactInput> for supplements::ContactInput {
    fn from(c: ContactInput) -> supplements::ContactInput {
        supplements::ContactInput {
            method: c.method,
            who: c.who,
            note: c.note,
        }
    }
}

/// The supplemented material.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FulfilInput {
    /// 形成日期 of the supplemented material (default today).
    #[schema(format = Date)]
    pub formation_date: Option<String>,
    /// 页数
    #[schema(minimum = 1, maximum = 2000)]
    pub pages: i64,
    /// `paper` (default), `electronic` or `both`.
    #[schema(pattern = "^(paper|electronic|both)$")]
    pub carrier: Option<String>,
    /// How it was obtained, e.g. "2023年6月通过税务部门补件".
    pub explanation: String,
}

impl From<FulfilInput> for supplements::FulfilInput {
    fn from(f: FulfilInput) -> supplements::FulfilInput {
        supplements::FulfilInput {
            formation_date: f.formation_date,
            pages: f.pages,
            carrier: f.carrier,
            explanation: f.explanation,
        }
    }
}

/// A line of the contents list (卷内目录).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContentsLine {
    /// 序号
    pub seq: u32,
    /// 参保人 — the name of the person whose archive the material belongs to.
    pub person_name: String,
    /// 公民身份号码 (masked).
    pub id_number_masked: String,
    /// 材料名称
    pub name: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: u32,
    /// 页号 (from–to inside the volume).
    pub start_page: u32,
    /// 页号 (to).
    pub end_page: u32,
    /// 备注 (with 补件 / 损毁 / 档案丢失 marks).
    pub remarks: String,
    /// The material.
    pub material_id: i64,
}

impl From<volumes::ContentsLine> for ContentsLine {
    fn from(l: volumes::ContentsLine) -> ContentsLine {
        ContentsLine {
            seq: l.seq,
            person_name: l.person_name,
            id_number_masked: l.id_number_masked,
            name: l.name,
            formation_date: l.formation_date,
            pages: l.pages,
            start_page: l.start_page,
            end_page: l.end_page,
            remarks: l.remarks,
            material_id: l.material_id,
        }
    }
}

/// A volume as shown and printed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VolumeView {
    /// Row id.
    pub id: VolumeId,
    /// 年度
    pub year: i64,
    /// Business class code.
    pub business_class: String,
    /// Business class name.
    pub business_class_name: String,
    /// `draft` or `sealed`.
    pub state: String,
    /// 档号 (once sealed).
    pub archive_number: Option<String>,
    /// 总页数
    pub pages: i64,
    /// 厚度 in millimetres.
    pub thickness_mm: f64,
    /// 备考 notes.
    pub note: Option<String>,
    /// Sealed at.
    pub sealed_at: Option<DateTime<Utc>>,
    /// Sealed by.
    pub sealed_by: Option<String>,
    /// The longest retention of its items (保管期限).
    pub retention: Option<String>,
    /// 卷内目录
    pub contents: Vec<ContentsLine>,
}

impl From<volumes::VolumeView> for VolumeView {
    fn from(v: volumes::VolumeView) -> VolumeView {
        VolumeView {
            id: VolumeId(v.id.0),
            year: v.year,
            business_class: v.business_class.to_string(),
            business_class_name: v.business_class_name,
            state: v.state.to_string(),
            archive_number: v.archive_number.map(|n| n.to_string()),
            pages: v.pages,
            thickness_mm: v.thickness_mm,
            note: v.note,
            sealed_at: v.sealed_at,
            sealed_by: v.sealed_by,
            retention: v.retention.map(|r| r.to_string()),
            contents: all(v.contents),
        }
    }
}

/// A correction as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CorrectionInput {
    /// `name`, `division_code`, `status`, `tier` or `identity`.
    #[schema(pattern = "^(name|division_code|status|tier|identity)$")]
    pub field: String,
    /// The corrected value.
    pub new_value: String,
    /// The proof: a material item of this person.
    pub proof_material_id: Option<i64>,
    /// 依据 — what the proof shows.
    pub basis: String,
}

impl From<CorrectionInput> for corrections::CorrectionInput {
    fn from(c: CorrectionInput) -> corrections::CorrectionInput {
        corrections::CorrectionInput {
            field: c.field,
            new_value: c.new_value,
            proof_material_id: c.proof_material_id,
            basis: c.basis,
        }
    }
}

/// A modification record as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectionView {
    /// Row id.
    pub id: i64,
    /// The field.
    pub field: String,
    /// Old value.
    pub old_value: String,
    /// New value.
    pub new_value: String,
    /// The proof document.
    pub proof_material_id: MaterialId,
    /// 依据
    pub basis: String,
    /// Who.
    pub corrected_by: String,
    /// When.
    pub corrected_at: DateTime<Utc>,
}

impl From<corrections::CorrectionView> for CorrectionView {
    fn from(c: corrections::CorrectionView) -> CorrectionView {
        CorrectionView {
            id: c.id.0,
            field: c.field.to_string(),
            old_value: c.old_value,
            new_value: c.new_value,
            proof_material_id: MaterialId(c.proof_material_id.0),
            basis: c.basis,
            corrected_by: c.corrected_by,
            corrected_at: c.corrected_at,
        }
    }
}

/// A damage report as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DamageInput {
    /// `light` or `heavy`.
    #[schema(pattern = "^(light|heavy)$")]
    pub degree: String,
    /// 原因: damp, insects, tears, fading …
    pub cause: String,
    /// `in_house` or `outside` (default: in-house for light, outside for heavy).
    #[schema(pattern = "^(in_house|outside)$")]
    pub repair_by: Option<String>,
    /// The outside institution (required when repaired outside).
    pub institution: Option<String>,
}

impl From<DamageInput> for damage::DamageInput {
    fn from(d: DamageInput) -> damage::DamageInput {
        damage::DamageInput {
            degree: d.degree,
            cause: d.cause,
            repair_by: d.repair_by,
            institution: d.institution,
        }
    }
}

/// A repair result.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RepairInput {
    /// 修复结果
    pub result: String,
    /// Repaired on (default today).
    #[schema(format = Date)]
    pub repaired_on: Option<String>,
}

impl From<RepairInput> for damage::RepairInput {
    fn from(r: RepairInput) -> damage::RepairInput {
        damage::RepairInput {
            result: r.result,
            repaired_on: r.repaired_on,
        }
    }
}

/// A loss report as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LossInput {
    /// Reported to (the agency's leader, the archives bureau …).
    pub reported_to: String,
    /// Circumstances.
    pub note: Option<String>,
}

impl From<LossInput> for damage::LossInput {
    fn from(l: LossInput) -> damage::LossInput {
        damage::LossInput {
            reported_to: l.reported_to,
            note: l.note,
        }
    }
}

/// The emergency checklist of a loss.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LossSteps {
    /// Handover records searched.
    pub searched_handovers: bool,
    /// The insured person contacted.
    pub contacted_person: bool,
    /// The material collected again (a supplement).
    pub recollected: bool,
    /// Notes.
    pub note: Option<String>,
}

impl From<LossSteps> for damage::LossSteps {
    fn from(s: LossSteps) -> damage::LossSteps {
        damage::LossSteps {
            searched_handovers: s.searched_handovers,
            contacted_person: s.contacted_person,
            recollected: s.recollected,
            note: s.note,
        }
    }
}

/// A damage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DamageRow {
    /// Row id.
    pub id: i64,
    /// The material.
    pub material_id: MaterialId,
    /// `light` or `heavy`.
    pub degree: String,
    /// 原因 (damp, insects, tears …).
    pub cause: String,
    /// `in_house` or `outside`.
    pub repair_by: String,
    /// The outside institution.
    pub institution: Option<String>,
    /// 修复结果
    pub result: Option<String>,
    /// Repaired on.
    pub repaired_on: Option<NaiveDate>,
    /// Reported by.
    pub reported_by: String,
    /// Reported at.
    pub reported_at: DateTime<Utc>,
}

/// A loss report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LossRow {
    /// Row id.
    pub id: i64,
    /// The material.
    pub material_id: MaterialId,
    /// Reported to (the leader or body informed).
    pub reported_to: String,
    /// Notes.
    pub note: Option<String>,
    /// Handover records searched.
    pub searched_handovers: bool,
    /// The insured person contacted.
    pub contacted_person: bool,
    /// The material collected again.
    pub recollected: bool,
    /// Reported by.
    pub reported_by: String,
    /// Reported at.
    pub reported_at: DateTime<Utc>,
}

/// The damage and loss history of a material.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialIncidents {
    /// The material.
    pub material_id: MaterialId,
    /// Its status.
    pub status: String,
    /// Damage reports.
    pub damage: Vec<DamageRow>,
    /// Loss reports.
    pub losses: Vec<LossRow>,
}

impl From<damage::MaterialIncidents> for MaterialIncidents {
    fn from(m: damage::MaterialIncidents) -> MaterialIncidents {
        MaterialIncidents {
            material_id: MaterialId(m.material_id.0),
            status: m.status.to_string(),
            damage: m
                .damage
                .into_iter()
                .map(|d| DamageRow {
                    id: d.id,
                    material_id: MaterialId(d.material_id.0),
                    degree: d.degree.to_string(),
                    cause: d.cause,
                    repair_by: d.repair_by.to_string(),
                    institution: d.institution,
                    result: d.result,
                    repaired_on: d.repaired_on,
                    reported_by: d.reported_by,
                    reported_at: d.reported_at,
                })
                .collect(),
            losses: m
                .losses
                .into_iter()
                .map(|l| LossRow {
                    id: l.id,
                    material_id: MaterialId(l.material_id.0),
                    reported_to: l.reported_to,
                    note: l.note,
                    searched_handovers: l.searched_handovers,
                    contacted_person: l.contacted_person,
                    recollected: l.recollected,
                    reported_by: l.reported_by,
                    reported_at: l.reported_at,
                })
                .collect(),
        }
    }
}
