//! Insured persons online (S8.1): the staff open an account for a person (a generated password
//! handed over at the window, to be changed at first sign-in); the person then sees their own
//! enrolment, business and materials, and nothing of anybody else's.

use chrono::Utc;
use serde::Serialize;

use dangan_store::insured;
use dangan_store::persons::{self, PersonId};

use crate::audit::{Op, Outcome};
use crate::auth::{generate_password, hash_password};
use crate::events::EventView;
use crate::persons::PersonView;
use crate::roles::{Actor, Subject, UseCase};
use crate::{App, AppError, AppResult};

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
    /// changed at first sign-in. Any session of the person ends.
    pub async fn open_insured_account(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> AppResult<OpenedAccount> {
        self.authorize(actor, UseCase::ManageInsuredAccounts)
            .await?;
        let password = generate_password()?;
        let hash = hash_password(password.clone()).await?;
        let mut tx = self.store.begin_write().await?;
        if persons::get(&mut tx, person).await?.is_none() {
            return Err(crate::persons::person_not_found());
        }
        insured::upsert(&mut tx, person, &hash, true, Utc::now()).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("insured.account_open", "person", person),
            Outcome::Ok,
        )
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
