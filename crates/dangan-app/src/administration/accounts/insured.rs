//! Insured persons' online accounts (参保人网上账户, S8.1, S8.2): the staff open an account for a
//! person (a generated password handed over at the window, to be changed at first sign-in), and
//! a window clerk may open a kiosk session for a person who is present (工作人员协助确认).
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
use dangan_store::insured::SessionKind;
use dangan_store::persons::{self, PersonId, PersonRow};
use dangan_store::{Tx, insured, register};

use super::passwords::{generate_password, hash_password, random_token, token_digest};
use super::sessions::insured_actor;
use super::sign_in::Login;
use super::{AccountId, AccountKind};
use crate::administration::roles::{Actor, Grant, Subject, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// 办理依据 — on what a clerk acts for a person, as sent by a form or the API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BasisInput {
    /// `query`: the clerk registered a query for this person (查询登记) within the query window;
    /// `card`: the person is here with their identity card (本人持卡在场).
    pub basis: String,
    /// With `card`: the full identity number read from the card; it must be the person's.
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
            Basis::Card(id) if *id != person.id_number => Ok(Err(AppError::Denied {
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
#[derive(Debug, Clone, Serialize)]
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

    /// 工作人员协助确认 (S8.2): a window clerk opens a kiosk session for a person without their
    /// password, on a recorded `basis` (`query`: the clerk registered a query for that person;
    /// `card`: the person is present and `id_number` was read from their card, entered in the
    /// query register as the person's own query). The session lasts 15 minutes; the clerk is
    /// logged with it.
    pub async fn assisted_insured_login(
        &self,
        staff: &Actor,
        id_number: &str,
        basis: &str,
        source: &str,
    ) -> AppResult<Login> {
        self.authorize(staff, UseCase::ManageInsuredAccounts)
            .await?;
        let id =
            IdNumber::parse(id_number, today()).map_err(|e| AppError::invalid("id_number", &e))?;
        let basis = Basis::parse(basis, Some(id.as_str()))?;
        let mut tx = self.store.begin_write().await?;
        let Some(person) = persons::find_by_id_number(&mut tx, id.as_str()).await? else {
            tx.rollback().await?;
            return Err(AppError::not_found("person_not_found", "未找到该参保人"));
        };
        let op = Op::new("auth.insured_assisted", "person", person.id);
        let basis_detail = match self
            .check_basis(&mut tx, staff, &person, &basis, "自助查询机协助登录")
            .await?
        {
            Ok(detail) => detail,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(self.deny(staff, op, refusal).await);
            }
        };
        let now = Utc::now();
        let token = random_token(AccountKind::Insured.token_prefix())?;
        let expires_at = now + chrono::Duration::minutes(15);
        let how = SessionKind {
            assisted: true,
            kiosk: true,
        };
        AccountId::Insured(person.id)
            .insert_session(&mut tx, &token_digest(&token), now, expires_at, how)
            .await?;
        let op = op.detail(format!("confirmed by {}; {basis_detail}", staff.username));
        self.log_in(&mut tx, staff, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(Login {
            token,
            expires_at,
            must_change_password: false,
            user: insured_actor(person.id, &person.id_number, &person.name, false, source),
        })
    }
}
