//! 业务事件 — business events and the material items (材料) filed with them.

use chrono::{DateTime, NaiveDate, Utc};
use dangan_domain::business::BusinessType;
use dangan_domain::material::{Carrier, MaterialStatus};
use dangan_domain::retention::Retention;
use serde::Serialize;

use crate::persons::PersonId;
use crate::{Conn, StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a business event.
    EventId
);
id_type!(
    /// The row id of a material item.
    MaterialId
);

/// A business event to insert.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The insured person.
    pub person_id: PersonId,
    /// Business type code.
    pub business_type: &'a str,
    /// 办理日期 — the date the business was completed.
    pub business_date: NaiveDate,
    /// 经办人 — who handled it.
    pub handler: &'a str,
    /// The system the event came from (`dangan` when entered here).
    pub source_system: &'a str,
    /// The source system's id of the event; unique per source.
    pub external_id: Option<&'a str>,
    /// The catalogue version the completeness check used.
    pub catalogue_version: i64,
    /// 备注
    pub remarks: Option<&'a str>,
    /// The user who recorded it.
    pub created_by: &'a str,
}

/// A stored business event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EventRow {
    /// Row id.
    pub id: EventId,
    /// The insured person.
    pub person_id: PersonId,
    /// 业务类型
    #[sqlx(try_from = "String")]
    pub business_type: BusinessType,
    /// 办理日期
    pub business_date: NaiveDate,
    /// 经办人
    pub handler: String,
    /// Source system.
    pub source_system: String,
    /// The source system's id.
    pub external_id: Option<String>,
    /// Catalogue version checked against.
    pub catalogue_version: i64,
    /// 备注
    pub remarks: Option<String>,
    /// Recorded by.
    pub created_by: String,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

/// A material item to insert.
#[derive(Debug, Clone)]
pub struct NewMaterial<'a> {
    /// Material type code.
    pub material_code: &'a str,
    /// 材料名称
    pub name: &'a str,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: i64,
    /// 载体
    pub carrier: Carrier,
    /// 保管期限
    pub retention: Retention,
    /// Appraisal due date (none for permanent material).
    pub appraisal_due: Option<NaiveDate>,
    /// 备注
    pub remarks: Option<&'a str>,
}

/// A stored material item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MaterialRow {
    /// Row id.
    pub id: MaterialId,
    /// The event it belongs to.
    pub event_id: EventId,
    /// Material type code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: i64,
    /// 载体
    #[sqlx(try_from = "String")]
    pub carrier: Carrier,
    /// 保管期限
    #[sqlx(try_from = "String")]
    pub retention: Retention,
    /// Appraisal due date.
    pub appraisal_due: Option<NaiveDate>,
    /// 备注
    pub remarks: Option<String>,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
    /// 正常, 材料缺失, 损毁 or 档案丢失.
    #[sqlx(try_from = "String")]
    pub status: MaterialStatus,
    /// When the archive post received the paper (or when an electronic item was recorded).
    pub received_on: Option<NaiveDate>,
    /// The supplement request this item fulfils (补件), if it is a supplemented material.
    pub supplement_id: Option<i64>,
    /// The volume it is filed in, once organised.
    pub volume_id: Option<i64>,
}

const EVENT_COLUMNS: &str = "id, person_id, business_type, business_date, handler, source_system, external_id, catalogue_version, remarks, created_by, created_at";
const MATERIAL_COLUMNS: &str = "id, event_id, material_code, name, formation_date, pages, carrier, retention, appraisal_due, remarks, created_at, status, received_on, supplement_id, volume_id";
/// [`MATERIAL_COLUMNS`] of `material_items` joined as `m`, for a join that reads
/// [`MaterialRow`]s beside other tables' columns.
pub(crate) const MATERIAL_COLUMNS_M: &str = "m.id, m.event_id, m.material_code, m.name, m.formation_date, m.pages, m.carrier, m.retention, m.appraisal_due, m.remarks, m.created_at, m.status, m.received_on, m.supplement_id, m.volume_id";

/// Inserts an event. A repeated (source, external id) is
/// `Conflict("business_events_source_system_external_id_key")`.
pub async fn insert(tx: &mut Tx, e: &NewEvent<'_>, now: DateTime<Utc>) -> StoreResult<EventId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO business_events (person_id, business_type, business_date, handler, source_system, external_id, catalogue_version, remarks, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(e.person_id)
        .bind(e.business_type)
        .bind(e.business_date)
        .bind(e.handler)
        .bind(e.source_system)
        .bind(e.external_id)
        .bind(e.catalogue_version)
        .bind(e.remarks)
        .bind(e.created_by)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(EventId(id))
}

/// Inserts a material item of an event.
pub async fn insert_material(
    tx: &mut Tx,
    event: EventId,
    m: &NewMaterial<'_>,
    now: DateTime<Utc>,
) -> StoreResult<MaterialId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO material_items (event_id, material_code, name, formation_date, pages, carrier, retention, appraisal_due, remarks, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(event)
        .bind(m.material_code)
        .bind(m.name)
        .bind(m.formation_date)
        .bind(m.pages)
        .bind(m.carrier.code())
        .bind(m.retention.code())
        .bind(m.appraisal_due)
        .bind(m.remarks)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(MaterialId(id))
}

/// The event with this id.
pub async fn get(tx: &mut Tx, id: EventId) -> StoreResult<Option<EventRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM business_events WHERE id = $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// The event a source system sent with this external id.
pub async fn find_by_external_id(
    tx: &mut Tx,
    source_system: &str,
    external_id: &str,
) -> StoreResult<Option<EventRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM business_events WHERE source_system = $1 AND external_id = $2"
    ));
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sql).bind(source_system).bind(external_id).fetch_optional(c).await
    })?)
}

/// The events of a person, oldest first.
pub async fn list_for_person(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<EventRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM business_events WHERE person_id = $1 ORDER BY business_date, id"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(person).fetch_all(c).await)?)
}

/// The material items of an event, in the order they were recorded.
pub async fn materials(tx: &mut Tx, event: EventId) -> StoreResult<Vec<MaterialRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {MATERIAL_COLUMNS} FROM material_items WHERE event_id = $1 ORDER BY id"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(event).fetch_all(c).await)?)
}

/// How many events are stored.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    Ok(
        on_conn!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM business_events").fetch_one(c).await)?,
    )
}

/// One material item.
pub async fn material(tx: &mut Tx, id: MaterialId) -> StoreResult<Option<MaterialRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {MATERIAL_COLUMNS} FROM material_items WHERE id = $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// Locks a material item for the rest of the write transaction, so that two uploads of the
/// same scan to it cannot both find it absent. SQLite's `BEGIN IMMEDIATE` already serialises
/// writers; PostgreSQL takes a row lock.
pub async fn lock_material(tx: &mut Tx, id: MaterialId) -> StoreResult<()> {
    if let Conn::Postgres(t) = &mut tx.conn {
        sqlx::query("SELECT id FROM material_items WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **t)
            .await?;
    }
    Ok(())
}

/// Sets a material's life-cycle status.
pub async fn set_material_status(
    tx: &mut Tx,
    id: MaterialId,
    status: MaterialStatus,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE material_items SET status = $1 WHERE id = $2")
            .bind(status.code())
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Marks a material as received by the archive post on `day`.
pub async fn mark_received(tx: &mut Tx, id: MaterialId, day: NaiveDate) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE material_items SET received_on = $1 WHERE id = $2 AND received_on IS NULL")
            .bind(day)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Links a supplemented material to its request.
pub async fn set_supplement(tx: &mut Tx, id: MaterialId, supplement: i64) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE material_items SET supplement_id = $1 WHERE id = $2")
            .bind(supplement)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A material ready to be filed in a volume, with what ordering needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FilableRow {
    /// The material.
    pub id: MaterialId,
    /// 业务类型 of its event.
    #[sqlx(try_from = "String")]
    pub business_type: BusinessType,
    /// Business date of its event.
    pub business_date: NaiveDate,
    /// The person's division code.
    pub division_code: String,
    /// The person's identity number (ordering only; never shown).
    pub id_number: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 材料名称
    pub name: String,
    /// 页数
    pub pages: i64,
    /// 备注
    pub remarks: Option<String>,
    /// Whether it is a supplemented material.
    pub supplement_id: Option<i64>,
}

/// Received, not lost, not yet in a sealed volume: the materials a volume build may use,
/// for business dated in `year`.
pub async fn filable(tx: &mut Tx, year: i32) -> StoreResult<Vec<FilableRow>> {
    /// A row with the person's number as stored.
    #[derive(sqlx::FromRow)]
    struct Stored {
        #[sqlx(flatten)]
        row: FilableRow,
        person_id: PersonId,
        id_number_hmac: Option<String>,
    }
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX);
    let rows: Vec<Stored> = on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT m.id, e.business_type, e.business_date, p.division_code, p.id_number_enc AS id_number, e.person_id, p.id_number_hmac, m.formation_date, m.name, m.pages, m.remarks, m.supplement_id
             FROM material_items m
             JOIN business_events e ON e.id = m.event_id
             JOIN persons p ON p.id = e.person_id
             LEFT JOIN volumes v ON v.id = m.volume_id
             WHERE m.received_on IS NOT NULL AND m.status <> 'lost'
               AND (m.volume_id IS NULL OR v.state = 'draft')
               AND e.business_date >= $1 AND e.business_date < $2
             ORDER BY m.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await
    })?;
    let fields = tx.fields()?;
    rows.into_iter()
        .map(|mut r| {
            r.row.id_number = crate::persons::open_id_number(
                fields,
                r.person_id,
                r.id_number_hmac.as_deref(),
                &r.row.id_number,
            )?;
            Ok(r.row)
        })
        .collect()
}
