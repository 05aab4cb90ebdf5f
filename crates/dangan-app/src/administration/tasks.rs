//! 工作任务 — deadlines of the posts (S2.1 collection 1 working day, S2.2 organising 3, S4.3
//! supplements 5; configurable). Tasks are opened by the use-cases that create the work and closed
//! by the ones that finish it; this module lists them per post and computes due dates.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::calendar::CalendarError;
use dangan_domain::workflow::{Post, SubjectKind, TaskFilter, TaskKind, TaskState};
use dangan_store::Tx;
use dangan_store::events::EventId;
use dangan_store::persons::{PersonBrief, PersonId};
use dangan_store::tasks::{self, TaskId};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppResult, text, today};

/// A task as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    /// Row id.
    pub id: TaskId,
    /// `collection`, `receipt`, `organising` or `supplement`.
    pub kind: TaskKind,
    /// `collection` (收集岗) or `organising` (整理岗).
    pub post: Post,
    /// What it is about: `event`, `handover` or `supplement`, and its id.
    pub subject_kind: SubjectKind,
    /// The subject's id.
    pub subject_id: i64,
    /// What to do.
    pub title: String,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Due on; absent while the due year's holiday calendar is not loaded (an alert, never a
    /// guess).
    pub due_on: Option<NaiveDate>,
    /// `open` or `done`.
    pub state: TaskState,
    /// Open and past its due date.
    pub overdue: bool,
    /// Working days left (negative when overdue), when computable.
    pub working_days_left: Option<i64>,
    /// While `due_on` cannot be computed: "期限待定（2027 年工作日历未载入）".
    pub due_pending: Option<String>,
    /// The business event it is about (for a handover, one of its events when all its lines
    /// are of one person); filled in lists.
    pub event_id: Option<EventId>,
    /// The person it is about; filled in lists.
    pub person_id: Option<PersonId>,
    /// 参保人姓名
    pub person_name: Option<String>,
    /// 公民身份号码, masked.
    pub id_number_masked: Option<String>,
}

/// Filters of the task list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskQuery {
    /// `collection` or `organising`.
    pub post: Option<String>,
    /// `open`, `overdue` or `done`.
    pub state: Option<String>,
}

// The kinds of task (the use-cases that open and close them say `Kind`).
pub(crate) use dangan_domain::workflow::TaskKind as Kind;

impl App {
    /// The date `days` working days after `from`, or `None` when a year on the way has no
    /// calendar loaded (logged as a warning; the task shows the gap as an alert).
    pub(crate) fn due_date(&self, from: NaiveDate, days: u32) -> Option<NaiveDate> {
        match self.work_calendar().add_working_days(from, days) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, "deadline not computable");
                None
            }
        }
    }

    /// Opens a task about a subject, due the configured number of working days after `from`
    /// (the business date for collection, the receipt for organising, the finding of the lack
    /// for supplements).
    pub(crate) async fn open_task(
        &self,
        tx: &mut Tx,
        kind: Kind,
        subject_id: i64,
        title: &str,
        from: NaiveDate,
    ) -> AppResult<Option<NaiveDate>> {
        let due = self.due_date(from, self.deadline_days(kind));
        tasks::open(tx, kind, subject_id, title, from, due, Utc::now()).await?;
        Ok(due)
    }

    /// The configured working days of a kind of task.
    pub(crate) fn deadline_days(&self, kind: Kind) -> u32 {
        match kind {
            // The archive post receives within the collection deadline: S2.1's collection is
            // done only when the paper is confirmed received (docs/ui/flows.md).
            Kind::Collection | Kind::Receipt => self.settings.deadlines.collection_days,
            Kind::Organising => self.settings.deadlines.organising_days,
            Kind::Supplement => self.settings.deadlines.supplement_days,
            // The daily check is due the working day it is for; an inspection on its due date.
            Kind::CustodyCheck | Kind::Inspection => 0,
        }
    }

    /// Closes the open tasks of a kind about a subject.
    pub(crate) async fn close_task(
        &self,
        tx: &mut Tx,
        kind: Kind,
        subject_id: i64,
    ) -> AppResult<()> {
        tasks::close(tx, kind, subject_id, Utc::now()).await?;
        Ok(())
    }

    fn task_view(
        &self,
        t: tasks::TaskRow,
        event_id: Option<EventId>,
        person: Option<PersonBrief>,
    ) -> TaskView {
        let now = today();
        let left = t
            .due_on
            .filter(|_| t.state == TaskState::Open)
            .and_then(|d| self.work_calendar().working_days_between(now, d).ok());
        let due_pending = match (t.due_on, t.state) {
            (None, TaskState::Open) => match self
                .work_calendar()
                .add_working_days(t.opened_on, self.deadline_days(t.kind))
            {
                Err(CalendarError::YearNotLoaded(y)) => {
                    Some(format!("期限待定（{y} 年工作日历未载入）"))
                }
                _ => Some("期限待定".to_owned()),
            },
            _ => None,
        };
        TaskView {
            due_pending,
            overdue: t.state == TaskState::Open && t.due_on.is_some_and(|d| d < now),
            working_days_left: left,
            id: t.id,
            kind: t.kind,
            post: t.post,
            subject_kind: t.subject_kind,
            subject_id: t.subject_id,
            title: t.title,
            opened_on: t.opened_on,
            due_on: t.due_on,
            state: t.state,
            event_id,
            person_id: person.as_ref().map(|p| p.id),
            id_number_masked: person.as_ref().map(|p| p.id_number.masked()),
            person_name: person.map(|p| p.name),
        }
    }

    /// Tasks of a post by due date; `state=overdue` gives the open ones past their date. Each
    /// names its person (masked identity number), so the list is a logged read.
    pub async fn tasks(&self, actor: &Actor, q: &TaskQuery) -> AppResult<Vec<TaskView>> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let post = text::code_filter::<Post>("post", "invalid_post", q.post.as_deref())?;
        let state = text::code_filter::<TaskFilter>("state", "invalid_state", q.state.as_deref())?;
        let mut tx = self.begin_read().await?;
        let rows = tasks::list(&mut tx, post, state, today(), 500).await?;
        let op = Op::new("task.list", "task", "").detail(format!("{} tasks", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows
            .into_iter()
            .map(|r| self.task_view(r.task, r.event_id, r.person))
            .collect())
    }

    /// The tasks about one subject (a business event, a handover, a supplement).
    pub async fn tasks_for(
        &self,
        actor: &Actor,
        subject_kind: SubjectKind,
        subject_id: i64,
    ) -> AppResult<Vec<TaskView>> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.store.begin().await?;
        let rows = tasks::for_subject(&mut tx, subject_kind, subject_id).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|t| self.task_view(t, None, None))
            .collect())
    }
}
