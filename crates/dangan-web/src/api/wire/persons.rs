//! A person as shown, and one page of a search (persons, the query register).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_app::access::persons as app;

use super::ids::PersonId;

/// A person in full (one person's record: the identity number is shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    /// Row id.
    pub id: PersonId,
    /// 公民身份号码
    pub id_number: String,
    /// 姓名
    pub name: String,
    /// `male` / `female`
    pub sex: String,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// Age today.
    pub age: i32,
    /// 行政区划代码
    pub division_code: String,
    /// Full division name.
    pub division_name: String,
    /// 参保状态 code.
    pub status: String,
    /// 参保身份 code.
    pub identity: String,
    /// 参保身份 label.
    pub identity_label: String,
    /// 缴费档次
    pub tier: Option<i64>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
}

impl From<app::PersonView> for PersonView {
    fn from(p: app::PersonView) -> PersonView {
        PersonView {
            id: PersonId(p.id.0),
            id_number: p.id_number.as_str().to_owned(),
            name: p.name,
            sex: p.sex,
            birth_date: p.birth_date,
            age: p.age,
            division_code: p.division_code,
            division_name: p.division_name,
            status: p.status.code().to_owned(),
            identity: p.identity.to_string(),
            identity_label: p.identity_label,
            tier: p.tier,
            created_at: p.created_at,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Matches in all pages; when `more` is true, only those counted: a broad search counts
    /// 1,000 matches past the end of its page and stops there.
    pub total: i64,
    /// There are more matches than `total` (show "more than `total`"; the next pages exist).
    pub more: bool,
    /// This page's number.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

impl<A, T: From<A>> From<app::Page<A>> for Page<T> {
    fn from(p: app::Page<A>) -> Page<T> {
        Page {
            items: super::all(p.items),
            total: p.total,
            more: p.more,
            page: p.page,
            per_page: p.per_page,
        }
    }
}
