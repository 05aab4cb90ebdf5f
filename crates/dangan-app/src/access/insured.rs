//! What an insured person reads of their own archive (S8.1): their enrolment, business and
//! materials, and nothing of anybody else's. Their account is in `administration/accounts/`.

use dangan_store::persons::PersonId;

use crate::access::persons::PersonView;
use crate::administration::roles::{Actor, Subject};
use crate::intake::events::EventView;
use crate::{App, AppError, AppResult};

impl App {
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
