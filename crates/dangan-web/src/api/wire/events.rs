//! Business events with their materials, as submitted (`POST /events`, the `event` part of
//! `POST /archive`) and as shown (events, a person's events, the insured person's own).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::intake::events as app;

use super::codes;
use super::ids::{EventId, MaterialId, PersonId};

/// A business event as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"person_id": 1, "business_type": "contribution", "business_date": "2025-03-01", "materials": [{"material_code": "contribution_voucher", "pages": 1}]}))]
pub struct EventInput {
    /// The person's row id (or give `id_number`).
    #[schema(minimum = 1)]
    pub person_id: Option<i64>,
    /// The person's identity number (or give `person_id`).
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// Business type code or Chinese name.
    pub business_type: String,
    /// 办理日期, `YYYY-MM-DD`.
    #[schema(format = Date)]
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

impl From<EventInput> for app::EventInput {
    fn from(e: EventInput) -> app::EventInput {
        app::EventInput {
            person_id: e.person_id,
            id_number: e.id_number,
            business_type: e.business_type,
            business_date: e.business_date,
            handler: e.handler,
            source_system: e.source_system,
            external_id: e.external_id,
            remarks: e.remarks,
            materials: e.materials.into_iter().map(Into::into).collect(),
        }
    }
}

/// A material item as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MaterialInput {
    /// Material type code from the catalogue.
    pub material_code: String,
    /// 形成日期, `YYYY-MM-DD` (default: the business date).
    #[schema(format = Date)]
    pub formation_date: Option<String>,
    /// 页数
    #[schema(minimum = 1, maximum = 2000)]
    pub pages: i64,
    /// `paper` (default), `electronic` or `both`.
    #[schema(pattern = "^(paper|electronic|both)$")]
    pub carrier: Option<String>,
    /// Retention code; default from the catalogue; may be longer, never shorter.
    pub retention: Option<String>,
    /// 备注
    pub remarks: Option<String>,
}

impl From<MaterialInput> for app::MaterialInput {
    fn from(m: MaterialInput) -> app::MaterialInput {
        app::MaterialInput {
            material_code: m.material_code,
            formation_date: m.formation_date,
            pages: m.pages,
            carrier: m.carrier,
            retention: m.retention,
            remarks: m.remarks,
        }
    }
}

/// A material item as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// Carrier code.
    pub carrier: String,
    /// Retention code.
    pub retention: String,
    /// 鉴定到期日 (none when permanent).
    pub appraisal_due: Option<NaiveDate>,
    /// 备注
    pub remarks: Option<String>,
    /// `normal`, `missing`, `damaged` or `lost`.
    pub status: String,
    /// The mark shown beside the item: 正常, 补件, 材料缺失, 损毁 or 档案丢失.
    pub status_label: String,
    /// A supplemented material (补件), never the original.
    pub supplemented: bool,
    /// When the archive post received it.
    pub received_on: Option<NaiveDate>,
    /// The volume it is filed in.
    pub volume_id: Option<i64>,
}

impl From<app::MaterialView> for MaterialView {
    fn from(m: app::MaterialView) -> MaterialView {
        MaterialView {
            id: MaterialId(m.id.0),
            material_code: m.material_code.to_string(),
            name: m.name,
            formation_date: m.formation_date,
            pages: m.pages,
            carrier: m.carrier.to_string(),
            retention: m.retention.to_string(),
            appraisal_due: m.appraisal_due,
            remarks: m.remarks,
            status: m.status.to_string(),
            status_label: m.status_label,
            supplemented: m.supplemented,
            received_on: m.received_on,
            volume_id: m.volume_id,
        }
    }
}

/// A required material that an event lacks (应归未归).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MissingMaterial {
    /// The material code.
    #[schema(value_type = codes::MaterialCode)]
    pub material_code: String,
    /// The material's Chinese name.
    pub name: String,
}

/// The result of a completeness check of one business event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Completeness {
    /// True when no required material is missing and nothing is out of scope.
    pub complete: bool,
    /// 应归未归 — required materials not present.
    pub missing: Vec<MissingMaterial>,
    /// 过度归档 — material codes present that the catalogue does not list for this business.
    #[schema(value_type = Vec<codes::MaterialCode>)]
    pub out_of_scope: Vec<String>,
}

impl From<dangan_domain::catalogue::Completeness> for Completeness {
    fn from(c: dangan_domain::catalogue::Completeness) -> Completeness {
        Completeness {
            complete: c.complete,
            missing: c
                .missing
                .into_iter()
                .map(|m| MissingMaterial {
                    material_code: m.material_code.into(),
                    name: m.name,
                })
                .collect(),
            out_of_scope: c.out_of_scope.into_iter().map(String::from).collect(),
        }
    }
}

/// A business event as shown, with its completeness.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// Row id.
    pub id: EventId,
    /// The person.
    pub person_id: PersonId,
    /// Business type code.
    pub business_type: String,
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

impl From<app::EventView> for EventView {
    fn from(e: app::EventView) -> EventView {
        EventView {
            id: EventId(e.id.0),
            person_id: PersonId(e.person_id.0),
            business_type: e.business_type.code().to_owned(),
            business_type_name: e.business_type_name,
            business_class: e.business_class,
            business_date: e.business_date,
            handler: e.handler,
            source_system: e.source_system,
            external_id: e.external_id,
            catalogue_version: e.catalogue_version,
            remarks: e.remarks,
            created_by: e.created_by,
            created_at: e.created_at,
            materials: e.materials.into_iter().map(Into::into).collect(),
            completeness: e.completeness.into(),
        }
    }
}
