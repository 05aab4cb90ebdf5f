//! 更正 — corrections of a person's archived data (S9.2): the modification record and the outbox
//! that carries each correction back to the business system.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::change::{FieldValue, PersonField};

use crate::events::MaterialId;
use crate::persons::PersonId;
use crate::sealing::OUTBOX_PAYLOAD;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a modification record (更正记录).
    CorrectionId
);

/// A modification record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CorrectionRow {
    /// Row id.
    pub id: CorrectionId,
    /// The person.
    pub person_id: PersonId,
    /// The field changed.
    #[sqlx(try_from = "String")]
    pub field: PersonField,
    /// Old value (identity numbers masked).
    pub old_value: String,
    /// New value.
    pub new_value: String,
    /// The proof document (a material of the person).
    pub proof_material_id: MaterialId,
    /// 依据
    pub basis: String,
    /// Who.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A modification record to write.
#[derive(Debug, Clone)]
pub struct NewCorrection<'a> {
    /// The person.
    pub person: PersonId,
    /// The field changed.
    pub field: PersonField,
    /// Old value.
    pub old_value: &'a str,
    /// New value.
    pub new_value: &'a str,
    /// The proof document.
    pub proof: MaterialId,
    /// 依据
    pub basis: &'a str,
    /// Who.
    pub by: &'a str,
}

/// Records a correction and queues it for the business system, in the caller's transaction.
pub async fn insert(
    tx: &mut Tx,
    r: &NewCorrection<'_>,
    payload: &str,
    now: DateTime<Utc>,
) -> StoreResult<CorrectionId> {
    let person = r.person;
    let id: CorrectionId = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO corrections (person_id, field, old_value, new_value, proof_material_id, basis, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(person)
        .bind(r.field.code())
        .bind(r.old_value)
        .bind(r.new_value)
        .bind(r.proof)
        .bind(r.basis)
        .bind(r.by)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    let sealed = tx.seal_text(OUTBOX_PAYLOAD, &person.to_string(), payload)?;
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO outbox (kind, person_id, payload, created_at) VALUES ('correction', $1, $2, $3)")
            .bind(person)
            .bind(&sealed)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(id)
}

/// A person's modification records, oldest first.
pub async fn for_person(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<CorrectionRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, person_id, field, old_value, new_value, proof_material_id, basis, created_by, created_at FROM corrections WHERE person_id = $1 ORDER BY id")
            .bind(person)
            .fetch_all(c)
            .await
    })?)
}

/// Undelivered outbox payloads, oldest first: (id, kind, person, payload).
pub async fn pending_outbox(
    tx: &mut Tx,
    limit: i64,
) -> StoreResult<Vec<(i64, String, PersonId, String)>> {
    let sql = format!(
        "SELECT id, kind, person_id, payload FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT {}",
        limit.clamp(1, 1000)
    );
    let rows: Vec<(i64, String, PersonId, String)> =
        on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?;
    rows.into_iter()
        .map(|(id, kind, person, payload)| {
            let payload = tx.open_text(OUTBOX_PAYLOAD, &person.to_string(), &payload)?;
            Ok((id, kind, person, payload))
        })
        .collect()
}

/// Writes a corrected person field.
pub async fn update_person_field(
    tx: &mut Tx,
    person: PersonId,
    value: &FieldValue,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let column = match value.field() {
        PersonField::Name => "name",
        PersonField::Division => "division_code",
        PersonField::Status => "status",
        PersonField::Identity => "identity",
        PersonField::Tier => "tier",
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE persons SET {column} = $1, updated_at = $2 WHERE id = $3"
    ));
    match value {
        FieldValue::Tier(t) => {
            let yuan = i64::from(t.yuan());
            on_conn!(tx, c => sqlx::query(sql).bind(yuan).bind(now).bind(person).execute(c).await.map(|r| r.rows_affected()))?
        }
        other => {
            let text = other.text();
            on_conn!(tx, c => sqlx::query(sql).bind(text).bind(now).bind(person).execute(c).await.map(|r| r.rows_affected()))?
        }
    };
    Ok(())
}
