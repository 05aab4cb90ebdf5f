//! Use-cases of insured persons (参保人): register, read, search.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::division::DivisionCode;
use dangan_domain::id_number::IdNumber;
use dangan_domain::person::{ContributionTier, InsuranceStatus, InsuredIdentity, PersonName};
use dangan_store::persons::{self, NewPerson, PersonFilter, PersonId, PersonRow};

use crate::administration::accounts::throttle::{retry_minutes, retry_secs};
use crate::administration::roles::{Actor, Role, Subject, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// A person as entered by staff or sent by the business system.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonInput {
    /// 公民身份号码 (18 characters; a lower-case x is accepted).
    pub id_number: String,
    /// 姓名
    pub name: String,
    /// 行政区划代码 of the county of residence (6 digits).
    pub division_code: String,
    /// 参保状态 code (default `active`).
    pub status: Option<String>,
    /// 缴费档次 in yuan per year.
    pub tier: Option<i64>,
    /// 参保身份 code (default `011`).
    pub identity: Option<String>,
}

/// A person in full (one person's record: the identity number is shown).
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// Row id.
    pub id: PersonId,
    /// 公民身份号码
    pub id_number: IdNumber,
    /// 姓名
    pub name: String,
    /// 性别: `male` / `female` (a code of `dangan_domain::id_number::Sex`).
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
    pub status: InsuranceStatus,
    /// 参保身份 code.
    pub identity: String,
    /// 参保身份 label.
    pub identity_label: String,
    /// 缴费档次
    pub tier: Option<i64>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
}

/// A person in a list: the identity number is masked.
#[derive(Debug, Clone, Serialize)]
pub struct PersonSummary {
    /// Row id.
    pub id: PersonId,
    /// Masked identity number (`110105***********X`: division and check character).
    pub id_number_masked: String,
    /// 姓名
    pub name: String,
    /// 性别: `male` / `female` (a code of `dangan_domain::id_number::Sex`).
    pub sex: String,
    /// 行政区划代码
    pub division_code: String,
    /// Full division name.
    pub division_name: String,
    /// 参保状态 code.
    pub status: InsuranceStatus,
}

/// Search criteria; at least one is required.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonQuery {
    /// Exact identity number.
    pub id_number: Option<String>,
    /// Text the name contains anywhere (明 finds 王明 and 李明华).
    pub name: Option<String>,
    /// County-level division code.
    pub division_code: Option<String>,
    /// Page number from 1.
    pub page: Option<u32>,
    /// Page size (1–200, default 50).
    pub per_page: Option<u32>,
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
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

fn division_name(code: &str) -> String {
    dangan_domain::division::lookup(code).map_or_else(|| code.to_owned(), |d| d.full_name())
}

pub(crate) fn view(row: PersonRow) -> PersonView {
    let age = row.id_number.age_at(today());
    let identity_label = InsuredIdentity::parse(&row.identity)
        .map_or("其他", |i| i.label())
        .to_owned();
    PersonView {
        id: row.id,
        division_name: division_name(&row.division_code),
        id_number: row.id_number,
        name: row.name,
        sex: row.sex,
        birth_date: row.birth_date,
        age,
        division_code: row.division_code,
        status: row.status,
        identity: row.identity,
        identity_label,
        tier: row.tier,
        created_at: row.created_at,
    }
}

fn summary(row: PersonRow) -> PersonSummary {
    PersonSummary {
        id: row.id,
        id_number_masked: row.id_number.masked(),
        division_name: division_name(&row.division_code),
        name: row.name,
        sex: row.sex,
        division_code: row.division_code,
        status: row.status,
    }
}

/// A validated person, ready to store.
pub(crate) struct ValidPerson {
    pub id_number: IdNumber,
    pub name: PersonName,
    pub division: DivisionCode,
    pub status: InsuranceStatus,
    pub tier: Option<ContributionTier>,
    pub identity_code: String,
}

pub(crate) fn validate(input: &PersonInput, today: NaiveDate) -> AppResult<ValidPerson> {
    Ok(ValidPerson {
        id_number: IdNumber::parse(&input.id_number, today)
            .map_err(|e| AppError::invalid("id_number", &e))?,
        name: PersonName::parse(&input.name).map_err(|e| AppError::invalid("name", &e))?,
        division: DivisionCode::parse(&input.division_code)
            .map_err(|e| AppError::invalid("division_code", &e))?,
        status: match &input.status {
            Some(s) => InsuranceStatus::parse(s).map_err(|e| AppError::invalid("status", &e))?,
            None => InsuranceStatus::Active,
        },
        tier: input
            .tier
            .map(ContributionTier::new)
            .transpose()
            .map_err(|e| AppError::invalid("tier", &e))?,
        identity_code: match &input.identity {
            Some(s) => InsuredIdentity::parse(s).map_err(|e| AppError::invalid("identity", &e))?,
            None => InsuredIdentity::ORDINARY,
        }
        .code(),
    })
}

impl ValidPerson {
    pub(crate) fn as_new(&self) -> NewPerson<'_> {
        NewPerson {
            id_number: self.id_number.as_str(),
            name: self.name.as_str(),
            sex: self.id_number.sex().code(),
            birth_date: self.id_number.birth_date(),
            division_code: self.division.as_str(),
            status: self.status.code(),
            tier: self.tier.map(i64::from),
            identity: &self.identity_code,
        }
    }
}

impl App {
    /// Registers an insured person. A second registration of the same identity number is a
    /// conflict (`person_exists`) and writes nothing.
    pub async fn create_person(&self, actor: &Actor, input: &PersonInput) -> AppResult<PersonView> {
        self.authorize(actor, UseCase::WritePersons).await?;
        let valid = validate(input, today())?;
        let new = valid.as_new();
        let mut tx = self.store.begin_write().await?;
        let id = persons::insert(&mut tx, &new, Utc::now()).await?;
        let row = persons::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("inserted person not found".to_owned()))?;
        let op = Op::new("person.create", "person", id).detail(valid.id_number.masked());
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(view(row))
    }

    /// One person's record (opening the archive: staff need a query registration, an insured
    /// person reaches only their own). Every read is logged.
    pub async fn person(&self, actor: &Actor, id: PersonId) -> AppResult<PersonView> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("person.read", "person", id);
        let mut tx = self.begin_read().await?;
        let row = persons::get(&mut tx, id).await?;
        // Staff learn that an id names nobody; an insured person learns nothing about ids
        // that are not theirs, whether or not they exist.
        let refusal = match &row {
            None if actor.role != Role::Insured => None,
            _ => self.archive_access(&mut tx, actor, g, id).await?,
        };
        if let Some(refusal) = refusal {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        let Some(row) = row else {
            self.end_read(tx, actor, &op, Outcome::NotFound).await?;
            return Err(person_not_found());
        };
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(view(row))
    }

    /// Searches persons by identity number, text in the name and/or division; lists mask identity
    /// numbers.
    pub async fn search_persons(
        &self,
        actor: &Actor,
        q: &PersonQuery,
    ) -> AppResult<Page<PersonSummary>> {
        self.authorize(actor, UseCase::SearchPersons).await?;
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let id_number = blank(&q.id_number)
            .map(|s| IdNumber::parse(&s, today()).map_err(|e| AppError::invalid("id_number", &e)))
            .transpose()?;
        let name = blank(&q.name);
        // Control characters never occur in a name, and PostgreSQL cannot even compare a text
        // with a NUL in it: refused here, not left to fail as a 500 in the query.
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 30 || n.chars().any(char::is_control))
        {
            return Err(AppError::invalid_with(
                "invalid_name",
                Some("name"),
                "姓名查询条件不能超过30个字，且不能含控制字符",
            ));
        }
        let division = blank(&q.division_code)
            .map(|s| DivisionCode::parse(&s).map_err(|e| AppError::invalid("division_code", &e)))
            .transpose()?;
        if id_number.is_none() && name.is_none() && division.is_none() {
            return Err(AppError::invalid_with(
                "empty_query",
                None,
                "请至少输入一个查询条件：公民身份号码、姓名或行政区划",
            ));
        }
        if let Some(id) = &id_number {
            self.admit_exact_search(actor, id).await?;
        }
        let page = q.page.unwrap_or(1).max(1);
        let per_page = q.per_page.unwrap_or(50).clamp(1, 200);
        let detail = format!(
            "id_number={} name={} division={}",
            id_number.as_ref().map(IdNumber::masked).unwrap_or_default(),
            name.as_deref().unwrap_or(""),
            division.as_ref().map(|d| d.as_str()).unwrap_or("")
        );
        let filter = PersonFilter {
            id_number: id_number.map(|i| i.as_str().to_owned()),
            name,
            division_code: division.map(|d| d.as_str().to_owned()),
            limit: i64::from(per_page),
            offset: i64::from(page - 1) * i64::from(per_page),
        };
        let mut tx = self.begin_read().await?;
        let found = persons::search(&mut tx, &filter).await?;
        let more = if found.more { "+" } else { "" };
        let op = Op::new("person.search", "person", "")
            .detail(format!("{detail}; {}{more} matches", found.total));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(Page {
            items: found.rows.into_iter().map(summary).collect(),
            total: found.total,
            more: found.more,
            page,
            per_page,
        })
    }
}

impl App {
    /// Counts a search by exact identity number against the caller's window, or refuses it
    /// (logged). Lists show an identity number masked to its division and check character
    /// (≈ 1.7 million candidates, `docs/domain-decisions.md`); without a limit a clerk could
    /// still try them all by exact search.
    async fn admit_exact_search(&self, actor: &Actor, id: &IdNumber) -> AppResult<()> {
        let key = match actor.subject {
            Subject::User(u) => format!("user:{u}"),
            Subject::Token(t) => format!("token:{t}"),
            Subject::Insured(p) => format!("insured:{p}"),
            Subject::System => return Ok(()),
        };
        let Err(wait) = self.exact_searches.take(&key, Instant::now()) else {
            return Ok(());
        };
        let op = Op::new("person.search", "person", "").detail(format!(
            "id_number={}; exact-search limit reached",
            id.masked()
        ));
        self.log(actor, &op, Outcome::Denied).await?;
        Err(AppError::TooMany {
            code: "too_many_exact_searches",
            message: format!(
                "按公民身份号码查询过于频繁：每{}分钟最多{}次，请{}分钟后再试",
                self.settings.exact_search_window.as_secs().div_ceil(60),
                self.settings.exact_searches,
                retry_minutes(wait)
            ),
            retry_after: retry_secs(wait),
        })
    }
}

pub(crate) fn person_not_found() -> AppError {
    AppError::not_found("person_not_found", "未找到该参保人")
}
