//! 补件 — supplement requests (S4.3, S9.1). Missing required materials of a recorded business
//! become requests due in five working days. Staff record whom they contacted and how; a request
//! ends either with the supplemented material — a new item marked 补件 with its date, the
//! original record left as it was — or closed as 材料缺失 with an explanation.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::catalogue::MaterialCode;
use dangan_domain::material::{self, Carrier};
use dangan_domain::workflow::SupplementState;
use dangan_store::Tx;
use dangan_store::events::{self, EventId, MaterialId, NewMaterial};
use dangan_store::persons::PersonId;
use dangan_store::supplements::{self, ListedSupplement, SupplementId, SupplementRow};

use crate::administration::roles::{Actor, UseCase};
use crate::administration::tasks::Kind;
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult, today};

/// A request as shown.
#[derive(Debug, Clone, Serialize)]
pub struct SupplementView {
    /// Row id.
    pub id: SupplementId,
    /// The business event lacking the material.
    pub event_id: EventId,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub material_name: String,
    /// Requested on.
    pub requested_on: NaiveDate,
    /// Due on.
    pub due_on: Option<NaiveDate>,
    /// `open`, `supplemented` or `missing`.
    pub state: SupplementState,
    /// Contacts made.
    pub contacts: Vec<String>,
    /// The supplemented material.
    pub fulfilled_by: Option<MaterialId>,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// The explanation.
    pub explanation: Option<String>,
    /// The business type of the event (its name), filled in lists.
    pub business_name: Option<String>,
    /// 办理日期 of the event, filled in lists.
    pub business_date: Option<NaiveDate>,
    /// The person, filled in lists.
    pub person_id: Option<PersonId>,
    /// 参保人姓名, filled in lists.
    pub person_name: Option<String>,
    /// 公民身份号码, masked; filled in lists.
    pub id_number_masked: Option<String>,
}

/// A listed request with its event and person.
fn listed_view(l: ListedSupplement) -> SupplementView {
    let person = l.person;
    SupplementView {
        business_name: Some(l.business_type.name().to_owned()),
        business_date: Some(l.business_date),
        person_id: person.as_ref().map(|p| p.id),
        id_number_masked: person.as_ref().map(|p| p.id_number.masked()),
        person_name: person.map(|p| p.name),
        ..view(l.row)
    }
}

fn view(r: SupplementRow) -> SupplementView {
    SupplementView {
        id: r.id,
        event_id: r.event_id,
        material_code: r.material_code,
        material_name: r.material_name,
        requested_on: r.requested_on,
        due_on: r.due_on,
        state: r.state,
        contacts: r.contacts.lines().map(str::to_owned).collect(),
        fulfilled_by: r.fulfilled_by,
        closed_on: r.closed_on,
        explanation: r.explanation,
        business_name: None,
        business_date: None,
        person_id: None,
        person_name: None,
        id_number_masked: None,
    }
}

/// A contact made about a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactInput {
    /// `phone`, `sms`, `visit`, `letter` or `window`.
    pub method: String,
    /// Whom (the insured person, a relative, the village assistant …).
    pub who: String,
    /// What was agreed.
    pub note: String,
}

/// The supplemented material.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FulfilInput {
    /// 形成日期 of the supplemented material (default today).
    pub formation_date: Option<String>,
    /// 页数
    pub pages: i64,
    /// `paper` (default), `electronic` or `both`.
    pub carrier: Option<String>,
    /// How it was obtained, e.g. "2023年6月通过税务部门补件".
    pub explanation: String,
}

fn not_open() -> AppError {
    AppError::Conflict {
        code: "supplement_closed",
        field: None,
        message: "该补件请求已结案，不能再修改".to_owned(),
    }
}

/// The supplemented material as checked.
struct CheckedFulfilment {
    pages: u32,
    carrier: Carrier,
    formation_date: NaiveDate,
    explanation: String,
}

/// Checks the supplemented material as entered: its pages, carrier (default paper), 形成日期
/// (formation date: not in the future, default today) and the 补件说明 (how it was obtained).
fn check_fulfilment(input: &FulfilInput) -> AppResult<CheckedFulfilment> {
    let pages = material::pages(input.pages).map_err(|e| AppError::invalid("pages", &e))?;
    let carrier = match &input.carrier {
        Some(c) => Carrier::parse(c).map_err(|e| AppError::invalid("carrier", &e))?,
        None => Carrier::Paper,
    };
    let formation_date = match input
        .formation_date
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                AppError::invalid_with(
                    "invalid_date",
                    Some("formation_date"),
                    format!("形成日期“{s}”格式应为YYYY-MM-DD"),
                )
            })?;
            if d > today() {
                return Err(AppError::invalid_with(
                    "date_in_future",
                    Some("formation_date"),
                    "形成日期晚于今天，请核对",
                ));
            }
            d
        }
        None => today(),
    };
    let explanation = text::required("explanation", &input.explanation, 200, "补件说明")?;
    Ok(CheckedFulfilment {
        pages,
        carrier,
        formation_date,
        explanation,
    })
}

/// Records the supplemented material on the request's event, named and kept as the catalogue
/// of the event's version says.
async fn insert_supplied_material(
    tx: &mut Tx,
    req: &SupplementRow,
    checked: &CheckedFulfilment,
) -> AppResult<MaterialId> {
    let event = events::get(tx, req.event_id)
        .await?
        .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
    let business = event.business_type;
    let catalogue =
        crate::administration::catalogue::at_version(tx, event.catalogue_version).await?;
    let code =
        MaterialCode::parse(&req.material_code).map_err(|e| AppError::Internal(e.to_string()))?;
    let entry = catalogue
        .entry(business, &code)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let remarks = format!("补件（{}）：{}", today(), checked.explanation);
    let new = NewMaterial {
        material_code: code.as_str(),
        name: &entry.name,
        formation_date: checked.formation_date,
        pages: i64::from(checked.pages),
        carrier: checked.carrier,
        retention: entry.retention,
        appraisal_due: entry.retention.appraisal_due(checked.formation_date),
        remarks: Some(&remarks),
    };
    Ok(events::insert_material(tx, req.event_id, &new, Utc::now()).await?)
}

impl App {
    /// Opens a request (and its task) for each missing required material of an event. `from`
    /// is when the lack was found: the business date at pre-review, the receipt date when a
    /// handed-over item turned out missing.
    pub(crate) async fn request_supplements(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        event: EventId,
        missing: &[(MaterialCode, String)],
        from: NaiveDate,
    ) -> AppResult<()> {
        for (code, name) in missing {
            let due = self.due_date(from, self.settings.deadlines.supplement_days);
            let id = supplements::insert(
                tx,
                event,
                code.as_str(),
                name,
                from,
                due,
                &actor.username,
                Utc::now(),
            )
            .await?;
            self.open_task(
                tx,
                Kind::Supplement,
                id.0,
                &format!("补件：{name}（业务 {event}）"),
                from,
            )
            .await?;
        }
        Ok(())
    }

    async fn open_request(&self, tx: &mut Tx, id: SupplementId) -> AppResult<SupplementRow> {
        let row = supplements::get(tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("supplement_not_found", "未找到该补件请求"))?;
        if row.state != SupplementState::Open {
            return Err(not_open());
        }
        Ok(row)
    }

    /// Requests in a state (`open`, `supplemented`, `missing`; all when absent), each with its
    /// business and person (masked identity number): a logged read.
    pub async fn supplements(
        &self,
        actor: &Actor,
        state: Option<&str>,
    ) -> AppResult<Vec<SupplementView>> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let state = text::code_filter::<SupplementState>("state", "invalid_state", state)?;
        let mut tx = self.begin_read().await?;
        let rows = supplements::list(&mut tx, state, 1000).await?;
        let op =
            Op::new("supplement.list", "supplement", "").detail(format!("{} requests", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows.into_iter().map(listed_view).collect())
    }

    /// Records a contact about an open request.
    pub async fn contact_for_supplement(
        &self,
        actor: &Actor,
        id: SupplementId,
        input: &ContactInput,
    ) -> AppResult<SupplementView> {
        self.authorize(actor, UseCase::ManageSupplements).await?;
        let method = input.method.trim();
        let label = match method {
            "phone" => "电话",
            "sms" => "短信",
            "visit" => "上门",
            "letter" => "书面通知",
            "window" => "窗口告知",
            _ => {
                return Err(AppError::invalid_with(
                    "invalid_contact_method",
                    Some("method"),
                    "联系方式应为 phone、sms、visit、letter 或 window",
                ));
            }
        };
        let who = text::required("who", &input.who, 30, "联系对象")?;
        let note = text::required("note", &input.note, 200, "联系情况")?;
        let mut tx = self.store.begin_write().await?;
        self.open_request(&mut tx, id).await?;
        let line = format!(
            "{} {label} {who}：{note}（{}）",
            today(),
            actor.display_name
        );
        if !supplements::add_contact(&mut tx, id, &line).await? {
            return Err(not_open());
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("supplement.contact", "supplement", id),
            Outcome::Ok,
        )
        .await?;
        let row = supplements::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("request vanished".to_owned()))?;
        tx.commit().await?;
        Ok(view(row))
    }

    /// Files the supplemented material: a new item of the same type on the same event, marked
    /// 补件 with its date; the request closes as supplemented.
    pub async fn fulfil_supplement(
        &self,
        actor: &Actor,
        id: SupplementId,
        input: &FulfilInput,
    ) -> AppResult<SupplementView> {
        self.authorize(actor, UseCase::ManageSupplements).await?;
        let checked = check_fulfilment(input)?;
        let mut tx = self.store.begin_write().await?;
        let req = self.open_request(&mut tx, id).await?;
        let material = insert_supplied_material(&mut tx, &req, &checked).await?;
        events::set_supplement(&mut tx, material, id.0).await?;
        if checked.carrier == Carrier::Electronic {
            events::mark_received(&mut tx, material, today()).await?;
        }
        if !supplements::close(
            &mut tx,
            id,
            SupplementState::Supplemented,
            Some(material),
            today(),
            &checked.explanation,
        )
        .await?
        {
            return Err(not_open());
        }
        self.close_task(&mut tx, Kind::Supplement, id.0).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("supplement.fulfil", "supplement", id).detail(format!("material {material}")),
            Outcome::Ok,
        )
        .await?;
        let row = supplements::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("request vanished".to_owned()))?;
        tx.commit().await?;
        Ok(view(row))
    }

    /// Closes an open request as 材料缺失; the explanation (e.g. "2023年5月缴费记录缺失，
    /// 2023年6月通过税务部门补件") is required.
    pub async fn close_supplement_as_missing(
        &self,
        actor: &Actor,
        id: SupplementId,
        explanation: &str,
    ) -> AppResult<SupplementView> {
        self.authorize(actor, UseCase::ManageSupplements).await?;
        let explanation = explanation.trim();
        if explanation.is_empty() {
            return Err(AppError::invalid_with(
                "explanation_required",
                Some("explanation"),
                "以“材料缺失”结案须填写情况说明",
            ));
        }
        let explanation = text::required("explanation", explanation, 300, "情况说明")?;
        let mut tx = self.store.begin_write().await?;
        self.open_request(&mut tx, id).await?;
        if !supplements::close(
            &mut tx,
            id,
            SupplementState::Missing,
            None,
            today(),
            &explanation,
        )
        .await?
        {
            return Err(not_open());
        }
        self.close_task(&mut tx, Kind::Supplement, id.0).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("supplement.close_missing", "supplement", id).detail(explanation.clone()),
            Outcome::Ok,
        )
        .await?;
        let row = supplements::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("request vanished".to_owned()))?;
        tx.commit().await?;
        Ok(view(row))
    }
}
