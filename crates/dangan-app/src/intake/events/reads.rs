//! Reading events back: an event with its materials, its completeness recomputed against the
//! catalogue version it was filed under, and a person's events, each a logged read of the
//! person's archive.

use chrono::{DateTime, NaiveDate, Utc};
use dangan_domain::material::{Carrier, MaterialStatus};
use dangan_domain::retention::Retention;
use serde::Serialize;

use dangan_domain::business::BusinessType;
use dangan_domain::catalogue::{Completeness, MaterialCode};
use dangan_store::Tx;
use dangan_store::events::{self, EventId, EventRow, MaterialId, MaterialRow};
use dangan_store::persons::{self, PersonId};

use crate::administration::catalogue::at_version;
use crate::administration::roles::{Actor, Role, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A material item as shown.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialView {
    /// Row id.
    pub id: MaterialId,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: i64,
    /// Carrier code: `paper`, `electronic` or `both`.
    pub carrier: Carrier,
    /// Retention code: `Y`, `D100`, `D50`, `D30` or `D10`.
    pub retention: Retention,
    /// 鉴定到期日 (none when permanent).
    pub appraisal_due: Option<NaiveDate>,
    /// 备注
    pub remarks: Option<String>,
    /// `normal`, `missing`, `damaged` or `lost`.
    pub status: MaterialStatus,
    /// The mark shown beside the item: 正常, 补件, 材料缺失, 损毁 or 档案丢失.
    pub status_label: String,
    /// A supplemented material (补件), never the original.
    pub supplemented: bool,
    /// When the archive post received it.
    pub received_on: Option<NaiveDate>,
    /// The volume it is filed in.
    pub volume_id: Option<i64>,
}

/// A business event as shown, with its completeness.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Row id.
    pub id: EventId,
    /// The person.
    pub person_id: PersonId,
    /// Business type code.
    pub business_type: BusinessType,
    /// Business type name.
    pub business_type_name: String,
    /// Business class name.
    pub business_class: String,
    /// 办理日期
    pub business_date: NaiveDate,
    /// 经办人
    pub handler: String,
    /// Source system.
    pub source_system: String,
    /// The source system's id.
    pub external_id: Option<String>,
    /// The catalogue version checked against.
    pub catalogue_version: i64,
    /// 备注
    pub remarks: Option<String>,
    /// Recorded by.
    pub created_by: String,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
    /// Materials.
    pub materials: Vec<MaterialView>,
    /// 应归未归 / 过度归档 against the catalogue version.
    pub completeness: Completeness,
}

pub(super) fn material_view(m: MaterialRow) -> MaterialView {
    MaterialView {
        id: m.id,
        material_code: m.material_code,
        name: m.name,
        formation_date: m.formation_date,
        pages: m.pages,
        carrier: m.carrier,
        retention: m.retention,
        appraisal_due: m.appraisal_due,
        remarks: m.remarks,
        status_label: match m.status {
            MaterialStatus::Normal if m.supplement_id.is_some() => "补件",
            s => s.label(),
        }
        .to_owned(),
        status: m.status,
        supplemented: m.supplement_id.is_some(),
        received_on: m.received_on,
        volume_id: m.volume_id,
    }
}

/// Reads an event by id with its materials and completeness.
pub(crate) async fn view(tx: &mut Tx, id: EventId) -> AppResult<EventView> {
    let row = events::get(tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("event {id} not found")))?;
    load_view(tx, row).await
}

/// Reads an event with its materials and recomputes its completeness.
pub(crate) async fn load_view(tx: &mut Tx, row: EventRow) -> AppResult<EventView> {
    let business = row.business_type;
    let materials = events::materials(tx, row.id).await?;
    let catalogue = at_version(tx, row.catalogue_version).await?;
    // A stored code this version cannot read is a fault, never a material left out of the
    // completeness check (which would then report it missing).
    let codes = materials
        .iter()
        .map(|m| {
            MaterialCode::parse(&m.material_code).map_err(|_| {
                AppError::Internal(format!("material {} has an unreadable code", m.id))
            })
        })
        .collect::<AppResult<Vec<MaterialCode>>>()?;
    let completeness = catalogue.check(business, &codes);
    Ok(EventView {
        id: row.id,
        person_id: row.person_id,
        business_type: row.business_type,
        business_type_name: business.name().to_owned(),
        business_class: business.class().name().to_owned(),
        business_date: row.business_date,
        handler: row.handler,
        source_system: row.source_system,
        external_id: row.external_id,
        catalogue_version: row.catalogue_version,
        remarks: row.remarks,
        created_by: row.created_by,
        created_at: row.created_at,
        materials: materials.into_iter().map(material_view).collect(),
        completeness,
    })
}

impl App {
    /// One event with its materials and completeness.
    pub async fn event(&self, actor: &Actor, id: EventId) -> AppResult<EventView> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("event.read", "event", id);
        let mut tx = self.begin_read().await?;
        let Some(row) = events::get(&mut tx, id).await? else {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    op,
                    AppError::not_found("event_not_found", "未找到该业务记录"),
                )
                .await);
        };
        if let Some(refusal) = self
            .archive_access(&mut tx, actor, g, row.person_id)
            .await?
        {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        let view = load_view(&mut tx, row).await?;
        let op = op.detail(format!("person {}", view.person_id));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(view)
    }

    /// Opens a read of a person's archive: the use-case, the access rule (a query
    /// registration for staff, their own for insured persons) and an existing person are
    /// checked, a refusal or a missing person logged under `op`. Returns the read transaction
    /// in which the caller reads, then ends it with [`App::end_read`] under `op`.
    pub(crate) async fn begin_archive_read(
        &self,
        actor: &Actor,
        person: PersonId,
        op: &Op,
    ) -> AppResult<Tx> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let mut tx = self.begin_read().await?;
        let exists = persons::get(&mut tx, person).await?.is_some();
        let refusal = if !exists && actor.role != Role::Insured {
            None
        } else {
            self.archive_access(&mut tx, actor, g, person).await?
        };
        if let Some(refusal) = refusal {
            tx.rollback().await?;
            return Err(self.deny(actor, op.clone(), refusal).await);
        }
        if !exists {
            self.end_read(tx, actor, op, Outcome::NotFound).await?;
            return Err(crate::access::persons::person_not_found());
        }
        Ok(tx)
    }

    /// A person's events, oldest first.
    pub async fn person_events(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> AppResult<Vec<EventView>> {
        let op = Op::new("person.events.read", "person", person);
        let mut tx = self.begin_archive_read(actor, person, &op).await?;
        let rows = events::list_for_person(&mut tx, person).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(load_view(&mut tx, row).await?);
        }
        let op = op.detail(format!("{} events", out.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(out)
    }
}
