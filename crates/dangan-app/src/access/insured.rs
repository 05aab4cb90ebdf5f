//! Insured persons online (S8.1): the staff open an account for a person (a generated password
//! handed over at the window, to be changed at first sign-in); the person then sees their own
//! enrolment, business and materials, and nothing of anybody else's.
//!
//! A clerk acts for a person (opening or resetting the account, the kiosk's staff-assisted
//! sign-in) only on a recorded basis (谁查询、谁登记): a query the clerk registered for that
//! person, or the person present with their identity card, whose full number the clerk reads from
//! the card — it must be the person's, and the use is entered in the query register as a query
//! by the person themselves, with the action as its purpose. Masked lists never give a clerk the
//! full number, so the card cannot be claimed for a stranger picked from a list.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_domain::id_number::IdNumber;
use dangan_store::persons::{self, PersonId, PersonRow};
use dangan_store::{Tx, insured, register};

use crate::access::persons::PersonView;
use crate::administration::accounts::{generate_password, hash_password};
use crate::administration::roles::{Actor, Grant, Subject, UseCase};
use crate::intake::events::EventView;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// 办理依据 — on what a clerk acts for a person, as sent by a form or the API.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"basis": "card", "id_number": "11010519491231002X"}))]
pub struct BasisInput {
    /// `query`: the clerk registered a query for this person (查询登记) within the query window;
    /// `card`: the person is here with their identity card (本人持卡在场).
    #[schema(pattern = "^(query|card)$")]
    pub basis: String,
    /// With `card`: the full identity number read from the card; it must be the person's.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
}

/// A parsed basis.
#[derive(Debug, Clone)]
pub enum Basis {
    /// A query registered by this clerk for the person.
    Query,
    /// The person present with their identity card: the number read from it.
    Card(IdNumber),
}

impl Basis {
    /// Parses `basis` (`query` or `card`) and, for `card`, the number read from the card.
    pub fn parse(basis: &str, card_number: Option<&str>) -> AppResult<Basis> {
        match basis.trim() {
            "query" => Ok(Basis::Query),
            "card" => {
                let n = card_number
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        AppError::invalid_with(
                            "card_number_required",
                            Some("id_number"),
                            "参保人本人持卡在场时，须填写从身份证读取的完整公民身份号码",
                        )
                    })?;
                IdNumber::parse(n, today())
                    .map(Basis::Card)
                    .map_err(|e| AppError::invalid("id_number", &e))
            }
            _ => Err(AppError::invalid_with(
                "basis_required",
                Some("basis"),
                "请选择办理依据：query（已为该参保人办理查询登记）或 card（参保人本人持身份证在场）",
            )),
        }
    }

    /// Parses an API body.
    pub fn from_input(input: &BasisInput) -> AppResult<Basis> {
        Basis::parse(&input.basis, input.id_number.as_deref())
    }
}

impl App {
    /// Checks, inside `tx`, the basis on which `actor` acts for `person` (`purpose` names the
    /// action, in Chinese). `Ok(Err(refusal))` when it does not hold: the caller rolls back and
    /// calls [`App::deny`]. With a card, the use is entered in the query register as a query
    /// by the person themselves. Returns the detail for the log entry of the action.
    pub(crate) async fn check_basis(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        person: &PersonRow,
        basis: &Basis,
        purpose: &str,
    ) -> AppResult<Result<String, AppError>> {
        // The console acts as the system, on the server: no clerk to vouch for.
        let Some(staff) = actor.user_id() else {
            return Ok(if actor.subject == Subject::System {
                Ok("basis=console".to_owned())
            } else {
                Err(AppError::Forbidden)
            });
        };
        match basis {
            Basis::Query => Ok(
                match self
                    .archive_access(tx, actor, Grant::Registered, person.id)
                    .await?
                {
                    None => Ok("basis=query".to_owned()),
                    Some(_) => Err(AppError::Denied {
                        code: "query_registration_required",
                        message: "须先为该参保人办理查询登记（谁查询、谁登记），或在参保人本人持身份证在场时选择“本人持卡在场”并读取身份证号码".to_owned(),
                    }),
                },
            ),
            Basis::Card(id) if id.as_str() != person.id_number => Ok(Err(AppError::Denied {
                code: "id_card_mismatch",
                message: "所读身份证号码与该参保人不符：只能为持本人身份证在场的参保人办理".to_owned(),
            })),
            Basis::Card(id) => {
                let masked = id.masked();
                let hmac = self.keys.pii_hmac(id.as_str());
                let q = register::NewQuery {
                    person_id: person.id,
                    enquirer_name: &person.name,
                    enquirer_id_masked: &masked,
                    enquirer_id_hmac: &hmac,
                    question: purpose,
                    purpose,
                    staff_user_id: staff,
                    staff_name: &actor.display_name,
                };
                let qid = register::insert(tx, &q, Utc::now()).await?;
                Ok(Ok(format!("basis=card; query {qid} by the person")))
            }
        }
    }
}

/// An opened account: the generated password is shown once, to be handed to the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenedAccount {
    /// The person.
    pub person_id: PersonId,
    /// The generated first password.
    pub initial_password: String,
}

impl App {
    /// Opens (or resets) a person's online account with a generated password that must be
    /// changed at first sign-in, on the clerk's `basis` (a registered query, or the person
    /// present with their card). Any session of the person ends. Logged with the clerk.
    pub async fn open_insured_account(
        &self,
        actor: &Actor,
        person: PersonId,
        basis: &BasisInput,
    ) -> AppResult<OpenedAccount> {
        self.authorize(actor, UseCase::ManageInsuredAccounts)
            .await?;
        let basis = Basis::from_input(basis)?;
        let password = generate_password()?;
        let hash = hash_password(password.clone()).await?;
        let mut tx = self.store.begin_write().await?;
        let Some(row) = persons::get(&mut tx, person).await? else {
            return Err(crate::access::persons::person_not_found());
        };
        let op = Op::new("insured.account_open", "person", person);
        let detail = match self
            .check_basis(&mut tx, actor, &row, &basis, "开通或重置网上查询账户")
            .await?
        {
            Ok(detail) => detail,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(self.deny(actor, op, refusal).await);
            }
        };
        insured::upsert(&mut tx, person, &hash, true, Utc::now()).await?;
        self.log_in(&mut tx, actor, &op.detail(detail), Outcome::Ok)
            .await?;
        tx.commit().await?;
        Ok(OpenedAccount {
            person_id: person,
            initial_password: password,
        })
    }

    pub(crate) fn own_person(actor: &Actor) -> AppResult<PersonId> {
        match actor.subject {
            Subject::Insured(p) => Ok(p),
            _ => Err(AppError::not_found("not_found", "未找到该记录")),
        }
    }

    /// The signed-in insured person's own record.
    pub async fn my_person(&self, actor: &Actor) -> AppResult<PersonView> {
        let p = App::own_person(actor)?;
        self.person(actor, p).await
    }

    /// The signed-in insured person's own business and materials.
    pub async fn my_events(&self, actor: &Actor) -> AppResult<Vec<EventView>> {
        let p = App::own_person(actor)?;
        self.person_events(actor, p).await
    }
}
