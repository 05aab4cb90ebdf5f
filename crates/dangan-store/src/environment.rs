//! 环境监测 — data loggers of each room, every temperature and humidity reading, and the alerts
//! out-of-range readings raise (S7.1). A logger's reading is stored once per timestamp, so a
//! replayed batch adds nothing; at most one alert per room and measure is open at a time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::environment::{AlertState, Measure, ReadingSource};

use crate::rooms::RoomId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a data logger.
    LoggerId
);
id_type!(
    /// The row id of an environment alert.
    AlertId
);

/// A registered data logger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LoggerRow {
    /// Row id.
    pub id: LoggerId,
    /// 记录仪编号 (as it names itself in its export and its batches).
    pub code: String,
    /// Its room.
    pub room_id: RoomId,
    /// Registered at.
    pub created_at: DateTime<Utc>,
}

/// Registers a logger in a room; `None` when its code is taken.
pub async fn insert_logger(
    tx: &mut Tx,
    code: &str,
    room: RoomId,
    now: DateTime<Utc>,
) -> StoreResult<Option<LoggerId>> {
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO environment_loggers (code, room_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(code)
        .bind(room)
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    Ok(id.map(LoggerId))
}

/// The loggers of a room (or of every room), by code.
pub async fn loggers(tx: &mut Tx, room: Option<RoomId>) -> StoreResult<Vec<LoggerRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, code, room_id, created_at FROM environment_loggers WHERE $1 = 0 OR room_id = $1 ORDER BY code")
            .bind(room.map_or(0, |r| r.0))
            .fetch_all(c)
            .await
    })?)
}

/// The logger with this code.
pub async fn logger_by_code(tx: &mut Tx, code: &str) -> StoreResult<Option<LoggerRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, code, room_id, created_at FROM environment_loggers WHERE code = $1")
            .bind(code)
            .fetch_optional(c)
            .await
    })?)
}

/// A reading: when, temperature (tenths of a degree), humidity (tenths of a per cent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Reading {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Tenths of a degree.
    pub temperature_dc: i64,
    /// Tenths of a per cent.
    pub humidity_pm: i64,
}

/// Rows of one multi-row insert: 7 parameters each, well under SQLite's 32,766.
const CHUNK: usize = 500;

/// Stores readings of a room (from a logger, or manual with none) and returns those that were
/// new: a logger's reading whose timestamp is stored already is skipped.
pub async fn insert_readings(
    tx: &mut Tx,
    room: RoomId,
    logger: Option<LoggerId>,
    source: ReadingSource,
    readings: &[Reading],
    now: DateTime<Utc>,
) -> StoreResult<Vec<Reading>> {
    let mut new = Vec::new();
    for chunk in readings.chunks(CHUNK) {
        let values = (0..chunk.len())
            .map(|i| {
                format!(
                    "($1, $2, $3, ${}, ${}, ${}, $4)",
                    3 * i + 5,
                    3 * i + 6,
                    3 * i + 7
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO environment_readings (room_id, logger_id, source, at, temperature_dc, humidity_pm, created_at)
             VALUES {values} ON CONFLICT (logger_id, at) DO NOTHING
             RETURNING at, temperature_dc, humidity_pm"
        );
        let rows: Vec<Reading> = on_conn!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(room)
                .bind(logger)
                .bind(source.code())
                .bind(now);
            for r in chunk {
                q = q.bind(r.at).bind(r.temperature_dc).bind(r.humidity_pm);
            }
            q.fetch_all(c).await
        })?;
        new.extend(rows);
    }
    new.sort_by_key(|r| r.at);
    Ok(new)
}

/// A room's readings since `from`, oldest first.
pub async fn readings_since(
    tx: &mut Tx,
    room: RoomId,
    from: DateTime<Utc>,
) -> StoreResult<Vec<Reading>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT at, temperature_dc, humidity_pm FROM environment_readings WHERE room_id = $1 AND at >= $2 ORDER BY at")
            .bind(room)
            .bind(from)
            .fetch_all(c)
            .await
    })?)
}

/// A stored alert, with its room's code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AlertRow {
    /// Row id.
    pub id: AlertId,
    /// The room.
    pub room_id: RoomId,
    /// 库房编号
    pub room_code: String,
    /// 库房名称
    pub room_name: String,
    /// 温度 or 湿度.
    #[sqlx(try_from = "String")]
    pub measure: Measure,
    /// 未解除 or 已解除.
    #[sqlx(try_from = "String")]
    pub state: AlertState,
    /// Raised at.
    pub raised_at: DateTime<Utc>,
    /// The reading that raised it: when, and its value in tenths.
    pub reading_at: DateTime<Utc>,
    /// Its value in tenths.
    pub value: i64,
    /// The action taken (已开启除湿机).
    pub action: Option<String>,
    /// When the action was recorded.
    pub action_at: Option<DateTime<Utc>>,
    /// Who recorded it.
    pub action_by: Option<String>,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
}

const ALERT_SELECT: &str = "SELECT a.id, a.room_id, r.code AS room_code, r.name AS room_name, a.measure, a.state, a.raised_at, a.reading_at, a.value, a.action, a.action_at, a.action_by, a.closed_at
     FROM environment_alerts a JOIN rooms r ON r.id = a.room_id";

/// Raises an alert unless one of the room and measure is open; `None` then.
pub async fn raise_alert(
    tx: &mut Tx,
    room: RoomId,
    measure: Measure,
    reading: &Reading,
    value: i64,
    now: DateTime<Utc>,
) -> StoreResult<Option<AlertId>> {
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO environment_alerts (room_id, measure, state, raised_at, reading_at, value)
             VALUES ($1, $2, 'open', $3, $4, $5)
             ON CONFLICT (room_id, measure) WHERE state = 'open' DO NOTHING RETURNING id",
        )
        .bind(room)
        .bind(measure.code())
        .bind(now)
        .bind(reading.at)
        .bind(value)
        .fetch_optional(c)
        .await
    })?;
    Ok(id.map(AlertId))
}

/// Alerts: the open ones (of a room, or every room), or a room's last `limit` of any state.
pub async fn alerts(
    tx: &mut Tx,
    room: Option<RoomId>,
    open_only: bool,
    limit: i64,
) -> StoreResult<Vec<AlertRow>> {
    let sql = format!(
        "{ALERT_SELECT} WHERE ($1 = 0 OR a.room_id = $1) AND (a.state = 'open' OR NOT $2)
         ORDER BY a.state DESC, a.id DESC LIMIT {}",
        limit.clamp(1, 500)
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(room.map_or(0, |r| r.0))
            .bind(open_only)
            .fetch_all(c)
            .await
    })?)
}

/// One alert.
pub async fn alert(tx: &mut Tx, id: AlertId) -> StoreResult<Option<AlertRow>> {
    let sql = format!("{ALERT_SELECT} WHERE a.id = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?)
}

/// Records the action taken on an open alert; false when it is not open.
pub async fn record_action(
    tx: &mut Tx,
    id: AlertId,
    action: &str,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE environment_alerts SET action = $1, action_by = $2, action_at = $3 WHERE id = $4 AND state = 'open'")
            .bind(action)
            .bind(by)
            .bind(now)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })?)
}

/// Closes a room's open alerts that have an action recorded and a reading taken after it back
/// inside the room's thresholds; returns those closed.
pub async fn close_recovered(
    tx: &mut Tx,
    room: RoomId,
    now: DateTime<Utc>,
) -> StoreResult<Vec<AlertId>> {
    let ids: Vec<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "UPDATE environment_alerts SET state = 'closed', closed_at = $1
             WHERE room_id = $2 AND state = 'open' AND action_at IS NOT NULL
               AND EXISTS (
                 SELECT 1 FROM environment_readings e JOIN rooms r ON r.id = e.room_id
                 WHERE e.room_id = environment_alerts.room_id AND e.at > environment_alerts.action_at
                   AND CASE WHEN environment_alerts.measure = 'temperature'
                            THEN e.temperature_dc BETWEEN r.temp_min_dc AND r.temp_max_dc
                            ELSE e.humidity_pm BETWEEN r.rh_min_pm AND r.rh_max_pm END)
             RETURNING id",
        )
        .bind(now)
        .bind(room)
        .fetch_all(c)
        .await
    })?;
    Ok(ids.into_iter().map(AlertId).collect())
}
