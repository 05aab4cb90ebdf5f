//! Use-cases of business events (业务事件) and their material items (材料): recording with the
//! completeness check of the filing catalogue (前置审核, S4.1), idempotent on the source
//! system's external id, and reading back with the completeness recomputed against the
//! catalogue version the event was filed under.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::business::BusinessType;
use dangan_domain::catalogue::{Catalogue, MaterialCode};
use dangan_domain::id_number::IdNumber;
use dangan_domain::material::{self, Carrier};
use dangan_domain::retention::Retention;
use dangan_store::Tx;
use dangan_store::events::{self, EventId, MaterialId, NewEvent, NewMaterial};
use dangan_store::persons::{self, PersonId};

use crate::administration::catalogue::current;
use crate::administration::roles::{Actor, UseCase};
use crate::administration::tasks::Kind;
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult, today};

mod reads;

pub use reads::{EventView, MaterialView};
pub(crate) use reads::{load_view as load_event, view};

/// The conflict code of a repeated (source system, external id).
pub(crate) const DUPLICATE_EXTERNAL_ID: &str = "duplicate_external_id";

/// The source system name of events entered in Dangan itself.
pub const LOCAL_SOURCE: &str = "dangan";

/// A business event as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventInput {
    /// The person's row id (or give `id_number`).
    pub person_id: Option<i64>,
    /// The person's identity number (or give `person_id`).
    pub id_number: Option<String>,
    /// Business type code or Chinese name.
    pub business_type: String,
    /// 办理日期, `YYYY-MM-DD`.
    pub business_date: String,
    /// 经办人 (default: the signed-in user's name).
    pub handler: Option<String>,
    /// The sending system (default `dangan`).
    pub source_system: Option<String>,
    /// The sending system's id of this event; makes the request idempotent.
    pub external_id: Option<String>,
    /// 备注
    pub remarks: Option<String>,
    /// The materials handed in.
    #[serde(default)]
    pub materials: Vec<MaterialInput>,
}

/// A material item as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MaterialInput {
    /// Material type code from the catalogue.
    pub material_code: String,
    /// 形成日期, `YYYY-MM-DD` (default: the business date).
    pub formation_date: Option<String>,
    /// 页数
    pub pages: i64,
    /// `paper` (default), `electronic` or `both`.
    pub carrier: Option<String>,
    /// Retention code; default from the catalogue; may be longer, never shorter.
    pub retention: Option<String>,
    /// 备注
    pub remarks: Option<String>,
}

/// The outcome of recording an event.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// False when the source system's external id was already recorded: the existing event is
    /// returned and nothing was written.
    pub created: bool,
    /// The event.
    pub event: EventView,
}

fn parse_date(field: &str, s: &str, label: &str) -> AppResult<NaiveDate> {
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::invalid_with(
            "invalid_date",
            Some(field),
            format!("{label}“{}”不是有效日期，格式应为YYYY-MM-DD", s.trim()),
        )
    })?;
    if date > today() {
        return Err(AppError::invalid_with(
            "date_in_future",
            Some(field),
            format!("{label}{date}晚于今天，请核对"),
        ));
    }
    if date.year_ce().1 < 1950 {
        return Err(AppError::invalid_with(
            "invalid_date",
            Some(field),
            format!("{label}{date}过早，请核对"),
        ));
    }
    Ok(date)
}

use chrono::Datelike;

/// A validated material, ready to insert.
struct ValidMaterial {
    code: MaterialCode,
    name: String,
    formation_date: NaiveDate,
    pages: i64,
    carrier: Carrier,
    retention: Retention,
    remarks: Option<String>,
}

fn longer_or_equal(a: Retention, b: Retention) -> bool {
    match (a.years(), b.years()) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(x), Some(y)) => x >= y,
    }
}

fn validate_materials(
    catalogue: &Catalogue,
    business: BusinessType,
    business_date: NaiveDate,
    inputs: &[MaterialInput],
) -> AppResult<Vec<ValidMaterial>> {
    if inputs.len() > 200 {
        return Err(AppError::invalid_with(
            "too_many_materials",
            Some("materials"),
            "一次业务最多登记200件材料",
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (i, m) in inputs.iter().enumerate() {
        let field = |f: &str| format!("materials[{i}].{f}");
        let code = MaterialCode::parse(&m.material_code)
            .map_err(|e| AppError::invalid(&field("material_code"), &e))?;
        let entry = catalogue
            .entry(business, &code)
            .map_err(|e| AppError::invalid(&field("material_code"), &e))?;
        let formation_date = match &m.formation_date {
            Some(s) => parse_date(&field("formation_date"), s, "形成日期")?,
            None => business_date,
        };
        let pages = material::pages(m.pages).map_err(|e| AppError::invalid(&field("pages"), &e))?;
        let carrier = match &m.carrier {
            Some(c) => Carrier::parse(c).map_err(|e| AppError::invalid(&field("carrier"), &e))?,
            None => Carrier::Paper,
        };
        let retention = match &m.retention {
            Some(r) => {
                Retention::parse(r).map_err(|e| AppError::invalid(&field("retention"), &e))?
            }
            None => entry.retention,
        };
        if !longer_or_equal(retention, entry.retention) {
            return Err(AppError::invalid_with(
                "retention_shorter_than_catalogue",
                Some(&field("retention")),
                format!(
                    "保管期限不能短于归档范围规定的“{}”（{}）",
                    entry.retention.label(),
                    entry.name
                ),
            ));
        }
        let remarks = material::remarks(m.remarks.as_deref())
            .map_err(|e| AppError::invalid(&field("remarks"), &e))?;
        out.push(ValidMaterial {
            code,
            name: entry.name.clone(),
            formation_date,
            pages: i64::from(pages),
            carrier,
            retention,
            remarks,
        });
    }
    Ok(out)
}

fn unknown_person(field: &str) -> AppError {
    AppError::invalid_with(
        "unknown_person",
        Some(field),
        "未找到该参保人：请先办理参保登记，或核对参保人信息",
    )
}

/// An event whose fields passed the checks that need no database.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEvent {
    business: BusinessType,
    business_date: NaiveDate,
    pub(crate) source_system: String,
    pub(crate) external_id: Option<String>,
    handler: String,
    remarks: Option<String>,
    person_id: Option<i64>,
    id_number: Option<IdNumber>,
    pub(crate) materials: Vec<MaterialInput>,
}

/// What [`App::insert_event`] did.
pub(crate) enum Inserted {
    /// The (source system, external id) was recorded before: this is that event.
    Existing(EventId),
    /// Recorded now, with its materials' ids in the order given.
    New(EventId, Vec<MaterialId>),
}

/// What [`App::plan_event`] found.
enum Planned {
    /// The (source system, external id) was recorded before: this is that event.
    Existing(EventId),
    /// A new event, ready to write.
    New(EventPlan),
}

/// What recording a new event needs, read before it is written.
struct EventPlan {
    /// The external id as stored (identity numbers in it masked and keyed).
    external_id: Option<String>,
    person: PersonId,
    /// The catalogue version in force when the event arrived.
    version: i64,
    materials: Vec<ValidMaterial>,
    /// Required materials not among them (应归未归).
    missing: Vec<(MaterialCode, String)>,
}

/// Checks an event's own fields (the person and the materials are checked against the
/// database and the catalogue when it is inserted).
pub(crate) fn prepare_event(actor: &Actor, input: &EventInput) -> AppResult<PreparedEvent> {
    let business = BusinessType::parse(&input.business_type)
        .map_err(|e| AppError::invalid("business_type", &e))?;
    let business_date = parse_date("business_date", &input.business_date, "办理日期")?;
    let source_system = text::optional(
        "source_system",
        input.source_system.as_deref(),
        40,
        "来源系统",
    )?
    .unwrap_or_else(|| LOCAL_SOURCE.to_owned());
    let external_id = text::optional(
        "external_id",
        input.external_id.as_deref(),
        100,
        "来源业务编号",
    )?;
    // A business entered with no material and no source id is a mistake (nothing ticked on the
    // form): nothing would tie a second try to it, so it would become an empty duplicate. An
    // event from a source system may come without materials (they all become supplement
    // requests): its id makes a retry a replay.
    if input.materials.is_empty() && external_id.is_none() {
        return Err(AppError::invalid_with(
            "no_materials",
            Some("materials"),
            "请至少勾选一件收到的材料：没有任何材料的业务不能登记",
        ));
    }
    let handler = text::optional("handler", input.handler.as_deref(), 30, "经办人")?
        .unwrap_or_else(|| actor.display_name.clone());
    let remarks = material::remarks(input.remarks.as_deref())
        .map_err(|e| AppError::invalid("remarks", &e))?;
    let id_number = match (&input.person_id, &input.id_number) {
        (None, Some(s)) => {
            Some(IdNumber::parse(s, today()).map_err(|e| AppError::invalid("id_number", &e))?)
        }
        (Some(_), _) => None,
        (None, None) => {
            return Err(AppError::invalid_with(
                "person_required",
                Some("person_id"),
                "请指定参保人（person_id 或 id_number）",
            ));
        }
    };
    Ok(PreparedEvent {
        business,
        business_date,
        source_system,
        external_id,
        handler,
        remarks,
        person_id: input.person_id,
        id_number,
        materials: input.materials.clone(),
    })
}

impl App {
    /// Records a business event with its materials, all or nothing. The response carries the
    /// completeness result: missing required materials (应归未归) do not stop the recording,
    /// a material outside the catalogue (过度归档) does. A repeated (source system, external
    /// id) returns the existing event with `created: false`.
    pub async fn record_event(&self, actor: &Actor, input: &EventInput) -> AppResult<Recorded> {
        match self.record_event_once(actor, input).await {
            // Two deliveries of the same event raced (PostgreSQL lets both check before either
            // inserts): the loser returns what the winner stored.
            Err(AppError::Conflict {
                code: DUPLICATE_EXTERNAL_ID,
                ..
            }) => self.record_event_once(actor, input).await,
            other => other,
        }
    }

    async fn record_event_once(&self, actor: &Actor, input: &EventInput) -> AppResult<Recorded> {
        self.authorize(actor, UseCase::WriteEvents).await?;
        let prepared = prepare_event(actor, input)?;
        // What the event needs from the database is read first, in a read transaction, so the
        // writers' queue is held only for the writes themselves (measured: on SQLite a round
        // trip to the connection costs more than the commit).
        let mut read = self.begin_read().await?;
        let planned = self.plan_event(&mut read, &prepared).await?;
        read.rollback().await?;
        let (event_id, created) = match planned {
            Planned::Existing(id) => {
                let mut tx = self.store.begin_write().await?;
                self.log_replay(&mut tx, actor, id).await?;
                tx.commit().await?;
                (id, false)
            }
            // Group commit: the events arriving together share one transaction and one
            // commit; each answer still waits for that commit.
            Planned::New(plan) => {
                let written: AppResult<_> = dangan_store::grouped!(&self.store, tx => self.write_event(tx, actor, &prepared, &plan));
                (written?.0, true)
            }
        };
        let mut read = self.begin_read().await?;
        let event = view(&mut read, event_id).await?;
        read.rollback().await?;
        Ok(Recorded { created, event })
    }

    /// Records a prepared event inside the caller's write transaction, or finds the one
    /// already recorded under its (source system, external id) and logs the replay.
    pub(crate) async fn insert_event(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        p: &PreparedEvent,
    ) -> AppResult<Inserted> {
        Ok(match self.plan_event(tx, p).await? {
            Planned::Existing(id) => {
                self.log_replay(tx, actor, id).await?;
                Inserted::Existing(id)
            }
            Planned::New(plan) => {
                let (id, materials) = self.write_event(tx, actor, p, &plan).await?;
                Inserted::New(id, materials)
            }
        })
    }

    async fn log_replay(&self, tx: &mut Tx, actor: &Actor, id: EventId) -> AppResult<()> {
        let op = Op::new("event.record", "event", id).detail("replay of a recorded external id");
        self.log_in(tx, actor, &op, Outcome::Ok).await
    }

    /// Reads what recording `p` needs: an event already recorded under its external id, or the
    /// person, the catalogue version in force and the validated materials. Writes nothing.
    async fn plan_event(&self, tx: &mut Tx, p: &PreparedEvent) -> AppResult<Planned> {
        let external_id = p.external_id.as_deref().map(|e| self.stored_source_key(e));
        if let Some(ext) = &external_id
            && let Some(existing) = events::find_by_external_id(tx, &p.source_system, ext).await?
        {
            return Ok(Planned::Existing(existing.id));
        }
        let person = match (p.person_id, &p.id_number) {
            (Some(id), _) => persons::get(tx, PersonId(id))
                .await?
                .ok_or_else(|| unknown_person("person_id"))?,
            (None, Some(n)) => persons::find_by_id_number(tx, n.as_str())
                .await?
                .ok_or_else(|| unknown_person("id_number"))?,
            (None, None) => return Err(unknown_person("person_id")),
        };
        let (version, catalogue) = current(tx).await?;
        let materials = validate_materials(&catalogue, p.business, p.business_date, &p.materials)?;
        let codes: Vec<&MaterialCode> = materials.iter().map(|m| &m.code).collect();
        // 前置审核 (S4.1): what is missing becomes supplement requests at once, never nothing.
        let missing = catalogue
            .check(p.business, codes)
            .missing
            .into_iter()
            .map(|m| (m.material_code, m.name))
            .collect();
        Ok(Planned::New(EventPlan {
            external_id,
            person: person.id,
            version,
            materials,
            missing,
        }))
    }

    /// Writes a planned event: the event, its materials, the collection task, the supplement
    /// requests for what is missing and the log entry. A second delivery of the same external
    /// id racing this one fails here on the unique key (`DUPLICATE_EXTERNAL_ID`).
    async fn write_event(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        p: &PreparedEvent,
        plan: &EventPlan,
    ) -> AppResult<(EventId, Vec<MaterialId>)> {
        let now = Utc::now();
        let new = NewEvent {
            person_id: plan.person,
            business_type: p.business.code(),
            business_date: p.business_date,
            handler: &p.handler,
            source_system: &p.source_system,
            external_id: plan.external_id.as_deref(),
            catalogue_version: plan.version,
            remarks: p.remarks.as_deref(),
            created_by: &actor.username,
        };
        let event_id = events::insert(tx, &new, now).await?;
        let materials = &plan.materials;
        let mut material_ids = Vec::with_capacity(materials.len());
        for m in materials {
            let new_material = NewMaterial {
                material_code: m.code.as_str(),
                name: &m.name,
                formation_date: m.formation_date,
                pages: m.pages,
                carrier: m.carrier,
                retention: m.retention,
                appraisal_due: m.retention.appraisal_due(m.formation_date),
                remarks: m.remarks.as_deref(),
            };
            let id = events::insert_material(tx, event_id, &new_material, now).await?;
            if m.carrier == Carrier::Electronic {
                // Born-digital material has no paper to hand over: it is with the archive now.
                events::mark_received(tx, id, today()).await?;
            }
            material_ids.push(id);
        }
        if materials.iter().any(|m| m.carrier != Carrier::Electronic) {
            let title = format!("移交{}材料（业务 {event_id}）", p.business.name());
            self.open_task(tx, Kind::Collection, event_id.0, &title, p.business_date)
                .await?;
        }
        self.request_supplements(tx, actor, event_id, &plan.missing, p.business_date)
            .await?;
        let op = Op::new("event.record", "event", event_id).detail(format!(
            "person {} {} {} materials",
            plan.person,
            p.business.code(),
            materials.len()
        ));
        self.log_in(tx, actor, &op, Outcome::Ok).await?;
        Ok((event_id, material_ids))
    }
}
