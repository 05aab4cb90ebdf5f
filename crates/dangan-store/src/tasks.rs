//! 工作任务 — work with a working-day deadline: collection (收集, 1 day), organising (整理, 3 days),
//! supplements (补件, 5 days). A task points at what it is about (`subject_kind`, `subject_id`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::workflow::{Post, SubjectKind, TaskFilter, TaskKind, TaskState};

use crate::events::EventId;
use crate::persons::{BRIEF_COLUMNS, PersonBrief, StoredBrief};
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a task.
    TaskId
);

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TaskRow {
    /// Row id.
    pub id: TaskId,
    /// What kind of work.
    #[sqlx(try_from = "String")]
    pub kind: TaskKind,
    /// The post (岗位) that must do it.
    #[sqlx(try_from = "String")]
    pub post: Post,
    /// What it is about.
    #[sqlx(try_from = "String")]
    pub subject_kind: SubjectKind,
    /// The subject's id.
    pub subject_id: i64,
    /// What to do, in Chinese.
    pub title: String,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Due on; `None` when the calendar of the due year is not loaded yet.
    pub due_on: Option<NaiveDate>,
    /// 待办 or 已办结.
    #[sqlx(try_from = "String")]
    pub state: TaskState,
    /// When it was done.
    pub done_at: Option<DateTime<Utc>>,
}

/// Opens a task.
pub async fn open(
    tx: &mut Tx,
    kind: TaskKind,
    subject_id: i64,
    title: &str,
    opened_on: NaiveDate,
    due_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> StoreResult<TaskId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO tasks (kind, post, subject_kind, subject_id, title, opened_on, due_on, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING id",
        )
        .bind(kind.code())
        .bind(kind.post().code())
        .bind(kind.subject().code())
        .bind(subject_id)
        .bind(title)
        .bind(opened_on)
        .bind(due_on)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(TaskId(id))
}

/// Closes the open tasks of a kind about a subject.
pub async fn close(
    tx: &mut Tx,
    kind: TaskKind,
    subject_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE tasks SET state = 'done', done_at = $1 WHERE kind = $2 AND subject_kind = $3 AND subject_id = $4 AND state = 'open'")
            .bind(now)
            .bind(kind.code())
            .bind(kind.subject().code())
            .bind(subject_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?)
}

/// A task as listed, with what it leads to: the business event it is about (for a handover,
/// one of its events when all its lines are of one person) and that event's person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTask {
    /// The task.
    pub task: TaskRow,
    /// The business event.
    pub event_id: Option<EventId>,
    /// The person the work is about.
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredListed {
    #[sqlx(flatten)]
    task: TaskRow,
    event_id: Option<EventId>,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// The list's joins: a task's business event — itself, its supplement's, or its handover's
/// when every line is of one person — and that event's person. One statement for the whole
/// list (no query per row).
const SUBJECT_JOINS: &str = "LEFT JOIN supplements s ON t.subject_kind = 'supplement' AND s.id = t.subject_id
     LEFT JOIN business_events e ON e.id = CASE t.subject_kind
         WHEN 'event' THEN t.subject_id
         WHEN 'supplement' THEN s.event_id
         WHEN 'handover' THEN (SELECT CASE WHEN COUNT(DISTINCT hi.person_id) = 1 THEN MIN(hi.event_id) END
                               FROM handover_items hi WHERE hi.handover_id = t.subject_id)
     END
     LEFT JOIN persons p ON p.id = e.person_id";

/// Tasks of a post (or all posts), `open`, `overdue` (open and due before `today`), `done` or
/// all; by due date, those without one first; each with its event and person.
pub async fn list(
    tx: &mut Tx,
    post: Option<Post>,
    state: Option<TaskFilter>,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<ListedTask>> {
    let mut clauses = vec!["($1 = '' OR t.post = $1)".to_owned()];
    match state {
        Some(TaskFilter::Open) => clauses.push("t.state = 'open'".into()),
        Some(TaskFilter::Overdue) => clauses.push("t.state = 'open' AND t.due_on < $2".into()),
        Some(TaskFilter::Done) => clauses.push("t.state = 'done'".into()),
        None => {}
    }
    clauses.push("$2 = $2".into());
    let sql = format!(
        "SELECT t.id, t.kind, t.post, t.subject_kind, t.subject_id, t.title, t.opened_on, t.due_on, t.state, t.done_at,
                e.id AS event_id, {BRIEF_COLUMNS}
         FROM tasks t {SUBJECT_JOINS}
         WHERE {} ORDER BY t.due_on IS NULL DESC, t.due_on, t.id LIMIT {}",
        clauses.join(" AND "),
        limit.clamp(1, 1000)
    );
    let rows: Vec<StoredListed> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(post.map_or("", Post::code)).bind(today).fetch_all(c).await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(ListedTask {
                task: r.task,
                event_id: r.event_id,
                person: r.person.open(tx)?,
            })
        })
        .collect()
}

/// The tasks about a subject.
pub async fn for_subject(
    tx: &mut Tx,
    subject_kind: SubjectKind,
    subject_id: i64,
) -> StoreResult<Vec<TaskRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, kind, post, subject_kind, subject_id, title, opened_on, due_on, state, done_at FROM tasks WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id")
            .bind(subject_kind.code())
            .bind(subject_id)
            .fetch_all(c)
            .await
    })?)
}
