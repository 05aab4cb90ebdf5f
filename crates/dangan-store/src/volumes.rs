//! 案卷 — volumes: drafts planned from received materials, then sealed with an archive number.
//! A sealed volume is never changed: every update here is conditional on `state = 'draft'`.

use chrono::{DateTime, Utc};
use dangan_domain::volume::VolumeState;
use serde::Serialize;

use crate::events::{MATERIAL_COLUMNS_M, MaterialId, MaterialRow};
use crate::persons::{BRIEF_COLUMNS, PersonBrief, PersonId, StoredBrief};
use crate::{StoreError, StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a volume.
    VolumeId
);

/// A stored volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct VolumeRow {
    /// Row id.
    pub id: VolumeId,
    /// 年度
    pub year: i64,
    /// Business class code.
    pub business_class: String,
    /// Position within (year, class) among this build's volumes.
    pub position: i64,
    /// `draft` or `sealed`.
    #[sqlx(try_from = "String")]
    pub state: VolumeState,
    /// 档号, once sealed.
    pub archive_number: Option<String>,
    /// Total pages.
    pub pages: i64,
    /// Thickness in micrometres.
    pub thickness_um: i64,
    /// 备考 notes.
    pub note: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Sealed at.
    pub sealed_at: Option<DateTime<Utc>>,
    /// Sealed by.
    pub sealed_by: Option<String>,
}

const COLUMNS: &str = "id, year, business_class, position, state, archive_number, pages, thickness_um, note, created_at, sealed_at, sealed_by";

/// Deletes the draft volumes of (year, class) and frees their materials.
pub async fn delete_drafts(tx: &mut Tx, year: i64, class: &str) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE material_items SET volume_id = NULL WHERE volume_id IN (SELECT id FROM volumes WHERE year = $1 AND business_class = $2 AND state = 'draft')")
            .bind(year)
            .bind(class)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM volume_items WHERE volume_id IN (SELECT id FROM volumes WHERE year = $1 AND business_class = $2 AND state = 'draft')")
            .bind(year)
            .bind(class)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM volumes WHERE year = $1 AND business_class = $2 AND state = 'draft'")
            .bind(year)
            .bind(class)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Creates a draft volume with its items in order.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn insert_draft(
    tx: &mut Tx,
    year: i64,
    class: &str,
    position: i64,
    pages: i64,
    thickness_um: i64,
    items: &[MaterialId],
    now: DateTime<Utc>,
) -> StoreResult<VolumeId> {
    let id: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO volumes (year, business_class, position, state, pages, thickness_um, created_at) VALUES ($1, $2, $3, 'draft', $4, $5, $6) RETURNING id",
        )
        .bind(year)
        .bind(class)
        .bind(position)
        .bind(pages)
        .bind(thickness_um)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    for (seq, m) in items.iter().enumerate() {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX) + 1;
        on_conn!(tx, c => {
            sqlx::query("INSERT INTO volume_items (volume_id, material_id, seq) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(m)
                .bind(seq)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
        on_conn!(tx, c => {
            sqlx::query("UPDATE material_items SET volume_id = $1 WHERE id = $2")
                .bind(id)
                .bind(m)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
    }
    Ok(VolumeId(id))
}

/// One volume.
pub async fn get(tx: &mut Tx, id: VolumeId) -> StoreResult<Option<VolumeRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM volumes WHERE id = $1"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// The volumes of (year, class), drafts and sealed, in order.
pub async fn list(tx: &mut Tx, year: i64, class: &str) -> StoreResult<Vec<VolumeRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM volumes WHERE year = $1 AND business_class = $2 ORDER BY state DESC, archive_number, position, id"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(year).bind(class).fetch_all(c).await)?)
}

/// The material ids of a volume in order.
pub async fn item_ids(tx: &mut Tx, id: VolumeId) -> StoreResult<Vec<MaterialId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT material_id FROM volume_items WHERE volume_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(c)
            .await
    })?)
}

/// The volumes holding materials of a person's archive (one statement).
pub async fn of_person(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<VolumeRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM volumes WHERE id IN (
             SELECT m.volume_id FROM material_items m JOIN business_events e ON e.id = m.event_id
             WHERE e.person_id = $1 AND m.volume_id IS NOT NULL)
         ORDER BY id"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(person).fetch_all(c).await)?)
}

/// A line of a volume as read for its contents list (卷内目录): the material and its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentsRow {
    /// The material.
    pub material: MaterialRow,
    /// 参保人 — whose archive it belongs to.
    pub person: PersonBrief,
}

#[derive(sqlx::FromRow)]
struct StoredContents {
    #[sqlx(flatten)]
    material: MaterialRow,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// The materials of a volume in order, each with its person: one statement joining the
/// volume's items, the materials, their events and persons (never a read per material).
pub async fn contents(tx: &mut Tx, id: VolumeId) -> StoreResult<Vec<ContentsRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {MATERIAL_COLUMNS_M}, {BRIEF_COLUMNS}
         FROM volume_items vi
         JOIN material_items m ON m.id = vi.material_id
         JOIN business_events e ON e.id = m.event_id
         LEFT JOIN persons p ON p.id = e.person_id
         WHERE vi.volume_id = $1 ORDER BY vi.seq"
    ));
    let rows: Vec<StoredContents> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_all(c).await)?;
    rows.into_iter()
        .map(|r| {
            let material = r.material;
            let person = r.person.open(tx)?.ok_or_else(|| StoreError::Corrupt {
                table: "business_events",
                reason: format!("material {} has no person", material.id),
            })?;
            Ok(ContentsRow { material, person })
        })
        .collect()
}

/// Seals a draft with its archive number; false when it is not a draft.
pub async fn seal(
    tx: &mut Tx,
    id: VolumeId,
    archive_number: &str,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE volumes SET state = 'sealed', archive_number = $1, sealed_by = $2, sealed_at = $3 WHERE id = $4 AND state = 'draft'")
            .bind(archive_number)
            .bind(by)
            .bind(now)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Sets the 备考 note of a draft; false when sealed.
pub async fn set_note(tx: &mut Tx, id: VolumeId, note: &str) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE volumes SET note = $1 WHERE id = $2 AND state = 'draft'")
            .bind(note)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}
