//! 工作任务 — work with a working-day deadline: collection (收集, 1 day), organising (整理, 3 days),
//! supplements (补件, 5 days). A task points at what it is about (`subject_kind`, `subject_id`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::workflow::{Post, SubjectKind, TaskFilter, TaskKind, TaskState};

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

/// Tasks of a post (or all posts), `open`, `overdue` (open and due before `today`), `done` or
/// all; by due date.
pub async fn list(
    tx: &mut Tx,
    post: Option<Post>,
    state: Option<TaskFilter>,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<TaskRow>> {
    let mut clauses = vec!["($1 = '' OR post = $1)".to_owned()];
    match state {
        Some(TaskFilter::Open) => clauses.push("state = 'open'".into()),
        Some(TaskFilter::Overdue) => clauses.push("state = 'open' AND due_on < $2".into()),
        Some(TaskFilter::Done) => clauses.push("state = 'done'".into()),
        None => {}
    }
    clauses.push("$2 = $2".into());
    let sql = format!(
        "SELECT id, kind, post, subject_kind, subject_id, title, opened_on, due_on, state, done_at FROM tasks WHERE {} ORDER BY due_on IS NULL DESC, due_on, id LIMIT {}",
        clauses.join(" AND "),
        limit.clamp(1, 1000)
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(post.map_or("", Post::code)).bind(today).fetch_all(c).await
    })?)
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
