//! 查询登记 — the query register (谁查询、谁登记, S2.4). Before staff open a person's archive they
//! register who asks (name, identity number), what and why; the register keeps it with the time
//! and the staff member, and is searchable and exportable. The enquirer's number is kept masked
//! for display and as a keyed hash (HMAC under the agency's key) for search.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::id_number::IdNumber;
use dangan_domain::person::PersonName;
use dangan_store::persons::{self, PersonId};
use dangan_store::register::{self, NewQuery, QueryFilter, QueryId, QueryRow};

use crate::access::persons::Page;
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult, today};

/// A registration as entered at the window.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryInput {
    /// The person whose archive will be opened.
    pub person_id: i64,
    /// 查询人姓名
    pub enquirer_name: String,
    /// 查询人公民身份号码
    pub enquirer_id_number: String,
    /// 查询内容
    pub question: String,
    /// 查询目的
    pub purpose: String,
}

/// A registration as shown.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// Row id.
    pub id: QueryId,
    /// The person asked about.
    pub person_id: PersonId,
    /// 查询人姓名
    pub enquirer_name: String,
    /// 查询人公民身份号码 (masked).
    pub enquirer_id_masked: String,
    /// 查询内容
    pub question: String,
    /// 查询目的
    pub purpose: String,
    /// 经办人
    pub staff_name: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when the staff member may open the archive on this registration.
    pub valid_until: DateTime<Utc>,
    /// 参保人姓名 (filled in searches).
    pub person_name: Option<String>,
    /// The person's identity number, masked (filled in searches).
    pub id_number_masked: Option<String>,
}

/// Search criteria of the register.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterQuery {
    /// The person asked about.
    pub person_id: Option<i64>,
    /// The enquirer's identity number (matched through its keyed hash).
    pub enquirer_id_number: Option<String>,
    /// Enquirer name prefix.
    pub enquirer_name: Option<String>,
    /// The person asked about: a name prefix, or a whole identity number (found through the
    /// person's blind index).
    pub person: Option<String>,
    /// This purpose exactly (查询目的, one of [`App::register_purposes`]).
    pub purpose: Option<String>,
    /// From this date (Asia/Shanghai), inclusive.
    pub from: Option<String>,
    /// To this date (Asia/Shanghai), inclusive.
    pub to: Option<String>,
    /// Page from 1.
    pub page: Option<u32>,
    /// Page size (1–500, default 50).
    pub per_page: Option<u32>,
}

/// The start (UTC) of a Beijing date entered as `YYYY-MM-DD`; the Chinese error names `field`.
pub(crate) fn day_start(field: &str, s: &str) -> AppResult<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::invalid_with(
            "invalid_date",
            Some(field),
            format!("日期“{}”格式应为YYYY-MM-DD", s.trim()),
        )
    })?;
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(Utc.from_utc_datetime(&(local - chrono::Duration::hours(8))))
}

impl App {
    fn view_of(&self, r: QueryRow) -> QueryView {
        let window = chrono::Duration::from_std(self.settings.query_window).unwrap_or_default();
        QueryView {
            id: r.id,
            person_id: r.person_id,
            enquirer_name: r.enquirer_name,
            enquirer_id_masked: r.enquirer_id_masked,
            question: r.question,
            purpose: r.purpose,
            staff_name: r.staff_name,
            valid_until: r.created_at + window,
            created_at: r.created_at,
            person_name: None,
            id_number_masked: None,
        }
    }

    /// Registers a query; afterwards the staff member may open that person's archive for the
    /// configured window (default four hours).
    pub async fn register_query(&self, actor: &Actor, input: &QueryInput) -> AppResult<QueryView> {
        self.authorize(actor, UseCase::RegisterQuery).await?;
        let Some(staff) = actor.user_id() else {
            return Err(AppError::Forbidden);
        };
        let name = PersonName::parse(&input.enquirer_name)
            .map_err(|e| AppError::invalid("enquirer_name", &e))?;
        let id = IdNumber::parse(&input.enquirer_id_number, today())
            .map_err(|e| AppError::invalid("enquirer_id_number", &e))?;
        let question = text::required("question", &input.question, 200, "查询内容")?;
        let purpose = text::required("purpose", &input.purpose, 200, "查询目的")?;
        let mut tx = self.store.begin_write().await?;
        let person = persons::get(&mut tx, PersonId(input.person_id))
            .await?
            .ok_or_else(|| {
                AppError::invalid_with("unknown_person", Some("person_id"), "未找到该参保人")
            })?;
        let masked = id.masked();
        let hmac = self.keys.pii_hmac(id.as_str());
        let new = NewQuery {
            person_id: person.id,
            enquirer_name: name.as_str(),
            enquirer_id_masked: &masked,
            enquirer_id_hmac: &hmac,
            question: &question,
            purpose: &purpose,
            staff_user_id: staff,
            staff_name: &actor.display_name,
        };
        let qid = register::insert(&mut tx, &new, Utc::now()).await?;
        let op = Op::new("query.register", "person", person.id)
            .detail(format!("query {qid}; enquirer {masked}"));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let row = register::get(&mut tx, qid)
            .await?
            .ok_or_else(|| AppError::Internal("registration not found".to_owned()))?;
        tx.commit().await?;
        Ok(self.view_of(row))
    }

    /// Searches the register, newest first.
    pub async fn query_register(
        &self,
        actor: &Actor,
        q: &RegisterQuery,
    ) -> AppResult<Page<QueryView>> {
        self.authorize(actor, UseCase::ReadQueryRegister).await?;
        let hmac = match q
            .enquirer_id_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(
                self.keys.pii_hmac(
                    IdNumber::parse(s, today())
                        .map_err(|e| AppError::invalid("enquirer_id_number", &e))?
                        .as_str(),
                ),
            ),
            None => None,
        };
        let from = q
            .from
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| day_start("from", s))
            .transpose()?;
        let to =
            q.to.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| day_start("to", s).map(|t| t + chrono::Duration::days(1)))
                .transpose()?;
        let page = q.page.unwrap_or(1).clamp(1, 100_000);
        let per_page = q.per_page.unwrap_or(50).clamp(1, 500);
        let person = text::optional("person", q.person.as_deref(), 30, "参保人条件")?;
        let purpose = text::optional("purpose", q.purpose.as_deref(), 200, "查询目的条件")?;
        let mut tx = self.begin_read().await?;
        // A whole identity number names one person (or none: then nothing matches); anything
        // else is the start of a name.
        let (person_id, person_name) = match person {
            Some(p) if p.chars().any(|c| c.is_ascii_digit()) => {
                let id =
                    IdNumber::parse(&p, today()).map_err(|e| AppError::invalid("person", &e))?;
                let found = persons::find_by_id_number(&mut tx, id.as_str()).await?;
                (Some(found.map_or(PersonId(0), |r| r.id)), None)
            }
            Some(p) => (None, Some(p)),
            None => (None, None),
        };
        let filter = QueryFilter {
            person_id: q.person_id.map(PersonId),
            enquirer_id_hmac: hmac,
            enquirer_name: crate::text::optional(
                "enquirer_name",
                q.enquirer_name.as_deref(),
                30,
                "查询人姓名条件",
            )?,
            staff_user_id: None,
            person_name,
            purpose,
            from,
            to,
            limit: i64::from(per_page),
            offset: i64::from(page - 1) * i64::from(per_page),
        };
        // Both person criteria must hold: a row id and a person found by number.
        let person_id = match (q.person_id.map(PersonId), person_id) {
            (Some(a), Some(b)) if a != b => Some(PersonId(0)),
            (a, b) => a.or(b),
        };
        let filter = QueryFilter {
            person_id,
            ..filter
        };
        let (rows, total) = register::search(&mut tx, &filter).await?;
        let op = Op::new("query.search", "register", "").detail(format!("{total} matches"));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(|l| QueryView {
                    person_name: l.person.as_ref().map(|p| p.name.clone()),
                    id_number_masked: l.person.as_ref().map(|p| p.id_number.masked()),
                    ..self.view_of(l.row)
                })
                .collect(),
            total,
            more: false,
            page,
            per_page,
        })
    }

    /// The purposes entered in the register so far (the choices of the page's filter).
    pub async fn register_purposes(&self, actor: &Actor) -> AppResult<Vec<String>> {
        self.authorize(actor, UseCase::ReadQueryRegister).await?;
        let mut tx = self.store.begin().await?;
        let purposes = register::purposes(&mut tx, 200).await?;
        tx.rollback().await?;
        Ok(purposes)
    }

    /// The register as CSV (UTF-8 with BOM so that spreadsheet programs read the Chinese),
    /// at most 100 000 rows, identity numbers masked.
    pub async fn export_query_register(
        &self,
        actor: &Actor,
        q: &RegisterQuery,
    ) -> AppResult<String> {
        let mut all = RegisterQuery {
            page: Some(1),
            per_page: Some(500),
            ..q.clone()
        };
        let mut out = String::from(
            "\u{feff}登记号,参保人编号,查询人姓名,查询人公民身份号码,查询内容,查询目的,经办人,登记时间\r\n",
        );
        let mut written = 0i64;
        loop {
            let page = self.query_register(actor, &all).await?;
            for r in &page.items {
                let cells = [
                    r.id.to_string(),
                    r.person_id.to_string(),
                    r.enquirer_name.clone(),
                    r.enquirer_id_masked.clone(),
                    r.question.clone(),
                    r.purpose.clone(),
                    r.staff_name.clone(),
                    crate::local_time(r.created_at),
                ];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
            written += page.items.len() as i64;
            if page.items.is_empty() || written >= page.total || written >= 100_000 {
                break;
            }
            all.page = all.page.map(|p| p + 1);
        }
        Ok(out)
    }
}

/// Quotes a CSV cell, and neutralises a leading `=`, `+`, `-` or `@` so that a spreadsheet does
/// not run it as a formula (CSV injection).
fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("张三"), "\"张三\"");
        assert_eq!(csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_cell("=1+1"), "\"'=1+1\"");
    }
}
