//! 环境监测 — temperature and humidity readings of the archive rooms and the alerts they raise
//! (S7.1). Readings come from data loggers (the API, scope `environment:write`), from a logger's
//! CSV export imported on the room's page, and from the daily check (source `manual`).
//!
//! - A logger's reading is stored once per (logger, timestamp): a replayed batch stores nothing
//!   twice and says how many readings were new.
//! - A new reading outside the room's thresholds raises an alert for its measure (温度 or 湿度)
//!   unless one is open: exactly one open alert per room and measure. The alert is logged
//!   (`alert.raise`), shown on the 工作台, and queued in the webhook outbox as an
//!   `environment_alert` delivered in order with the room's other alerts.
//! - An alert closes (`alert.close`, and an `environment_alert_closed` item) once an action has
//!   been recorded (`alert.action`) AND a reading taken after that action is back in range.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::code::Code;
use dangan_domain::environment::{self, Band, Measure, ReadingSource};
use dangan_domain::room::{format_decimal, parse_decimal};
use dangan_store::Tx;
use dangan_store::environment::{self as store, AlertId, AlertRow, LoggerId, LoggerRow, Reading};
use dangan_store::outbox;
use dangan_store::rooms::{self, RoomId, RoomRow};

use super::rooms::room_not_found;
use crate::adapters::encodings::decode_gb18030;
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome, stamp};
use crate::{App, AppError, AppResult, local_time, text};

/// The most readings one API batch may carry.
pub const MAX_BATCH: usize = 5000;
/// The most rows one CSV import may carry (a month of one reading a minute).
pub const MAX_IMPORT_ROWS: usize = 50_000;
/// The days of the room page's chart.
pub const CHART_DAYS: i64 = 30;

/// A temperature as typed (℃, one decimal), in tenths: −40–80 ℃.
pub(crate) fn parse_temperature(field: &str, raw: &str) -> AppResult<i64> {
    parse_decimal(raw, 1)
        .filter(|v| (-400..=800).contains(v))
        .ok_or_else(|| {
            AppError::invalid_with(
                "invalid_temperature",
                Some(field),
                format!(
                    "温度应为 −40–80 之间的数（℃，最多 1 位小数），收到“{}”",
                    raw.trim().chars().take(20).collect::<String>()
                ),
            )
        })
}

/// A relative humidity as typed (%, one decimal), in tenths: 0–100 %.
pub(crate) fn parse_humidity(field: &str, raw: &str) -> AppResult<i64> {
    parse_decimal(raw, 1)
        .filter(|v| (0..=1000).contains(v))
        .ok_or_else(|| {
            AppError::invalid_with(
                "invalid_humidity",
                Some(field),
                format!(
                    "相对湿度应为 0–100 之间的数（%，最多 1 位小数），收到“{}”",
                    raw.trim().chars().take(20).collect::<String>()
                ),
            )
        })
}

/// One reading of an API batch.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadingInput {
    /// When (RFC 3339, with its offset).
    pub at: String,
    /// ℃
    pub temperature: f64,
    /// %
    pub humidity: f64,
}

/// A batch from a data logger: `{logger, readings: [{at, temperature, humidity}]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadingBatch {
    /// The logger's code, as registered to its room.
    pub logger: String,
    /// At most [`MAX_BATCH`] readings.
    pub readings: Vec<ReadingInput>,
}

/// What a batch or an import stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadingsStored {
    /// Readings received.
    pub received: usize,
    /// Readings that were new (the rest were stored already).
    pub stored: usize,
    /// Alerts raised by them.
    pub alerts_raised: usize,
    /// Alerts closed by them.
    pub alerts_closed: usize,
}

/// An alert as shown.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// The row.
    pub alert: AlertRow,
    /// 温度 26.5 ℃，超出 14–24 ℃
    pub summary: String,
    /// Raised at (Beijing time).
    pub raised: String,
    /// The reading's time (Beijing time).
    pub reading: String,
    /// The action's time (Beijing time).
    pub action_time: String,
    /// Closed at (Beijing time).
    pub closed: String,
}

/// A point of the 30-day chart: the hour's average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChartPoint {
    /// The hour's start.
    pub at: DateTime<Utc>,
    /// Tenths of a degree.
    pub temperature_dc: i64,
    /// Tenths of a per cent.
    pub humidity_pm: i64,
}

/// A room's environment: thresholds, loggers, alerts and the chart's points.
#[derive(Debug, Clone, Serialize)]
pub struct RoomEnvironment {
    /// The room.
    pub room: RoomRow,
    /// Its loggers.
    pub loggers: Vec<LoggerRow>,
    /// Its open alerts first, then the last closed ones.
    pub alerts: Vec<AlertView>,
    /// Hourly averages of the last [`CHART_DAYS`] days.
    pub points: Vec<ChartPoint>,
    /// The chart's start.
    pub from: DateTime<Utc>,
    /// The chart's end.
    pub to: DateTime<Utc>,
}

fn band(room: &RoomRow, m: Measure) -> Band {
    match m {
        Measure::Temperature => Band {
            min: room.temp_min_dc,
            max: room.temp_max_dc,
        },
        Measure::Humidity => Band {
            min: room.rh_min_pm,
            max: room.rh_max_pm,
        },
    }
}

fn value_of(r: &Reading, m: Measure) -> i64 {
    match m {
        Measure::Temperature => r.temperature_dc,
        Measure::Humidity => r.humidity_pm,
    }
}

fn unit(m: Measure) -> &'static str {
    match m {
        Measure::Temperature => "℃",
        Measure::Humidity => "%",
    }
}

/// `温度 26.5 ℃，超出 14–24 ℃`.
fn summary(m: Measure, value: i64, b: Band) -> String {
    let side = if value > b.max { "高于" } else { "低于" };
    format!(
        "{} {} {}，{side}范围 {}–{} {}",
        m.label(),
        format_decimal(value, 1),
        unit(m),
        format_decimal(b.min, 1),
        format_decimal(b.max, 1),
        unit(m)
    )
}

fn alert_view(a: AlertRow, room: Option<&RoomRow>) -> AlertView {
    let b = room.map_or(Band { min: 0, max: 0 }, |r| band(r, a.measure));
    AlertView {
        summary: summary(a.measure, a.value, b),
        raised: local_time(a.raised_at),
        reading: local_time(a.reading_at),
        action_time: a.action_at.map(local_time).unwrap_or_default(),
        closed: a.closed_at.map(local_time).unwrap_or_default(),
        alert: a,
    }
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
}

/// A time of a logger's export: RFC 3339 with its offset, or a local time without zone taken as
/// Beijing time (`2026-12-07 08:00:00`, `2026-12-07 08:00`, `2026/12/07 08:00:00`, `T` or space).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.replace('/', "-").replace('T', " ");
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
    .and_then(|n| beijing().from_local_datetime(&n).single())
    .map(|t| t.with_timezone(&Utc))
}

/// The text of an export: UTF-8 (with or without BOM), else GB18030.
fn decode_export(bytes: &[u8]) -> AppResult<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => decode_gb18030(bytes).ok_or_else(|| {
            AppError::invalid_with(
                "invalid_encoding",
                Some("file"),
                "文件既不是 UTF-8 也不是 GB18030 编码，请从记录仪软件重新导出 CSV",
            )
        }),
    }
}

/// The readings of a CSV export (`time,temperature,humidity`; a header line is skipped); the
/// first bad row is refused with its line number, and nothing is kept.
pub fn parse_export(text: &str) -> AppResult<Vec<Reading>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line
            .split([',', '\t', ';'])
            .map(|c| c.trim().trim_matches('"').trim())
            .collect();
        // The header of the export (time,temperature,humidity or 时间,温度,湿度).
        if out.is_empty()
            && n <= 2
            && cols.first().is_some_and(|c| {
                parse_time(c).is_none() && !c.starts_with(|ch: char| ch.is_ascii_digit())
            })
        {
            continue;
        }
        let bad = |why: &str| {
            AppError::invalid_with(
                "invalid_csv_row",
                Some("file"),
                format!("第 {n} 行：{why}。文件未导入，请改正后重新导入"),
            )
        };
        if cols.len() < 3 {
            return Err(bad("应有时间、温度、湿度三列"));
        }
        let at = parse_time(cols[0]).ok_or_else(|| {
            bad(&format!(
                "时间“{}”无法识别（应如 2026-12-07 08:00:00）",
                short(cols[0])
            ))
        })?;
        let temperature_dc = parse_decimal(cols[1], 1)
            .filter(|v| (-400..=800).contains(v))
            .ok_or_else(|| bad(&format!("温度“{}”不是 −40–80 之间的数", short(cols[1]))))?;
        let humidity_pm = parse_decimal(cols[2], 1)
            .filter(|v| (0..=1000).contains(v))
            .ok_or_else(|| bad(&format!("湿度“{}”不是 0–100 之间的数", short(cols[2]))))?;
        out.push(Reading {
            at,
            temperature_dc,
            humidity_pm,
        });
        if out.len() > MAX_IMPORT_ROWS {
            return Err(bad(&format!("一次最多导入 {MAX_IMPORT_ROWS} 条读数")));
        }
    }
    if out.is_empty() {
        return Err(AppError::invalid_with(
            "empty_import",
            Some("file"),
            "文件中没有读数（应有时间、温度、湿度三列）",
        ));
    }
    Ok(out)
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(30).collect()
}

fn logger_not_found(code: &str) -> AppError {
    AppError::not_found(
        "logger_not_found",
        format!("未登记的记录仪“{}”：请先在库房页面登记", short(code)),
    )
}

impl App {
    /// Registers a data logger in a room (ConfigureRooms).
    pub async fn add_logger(
        &self,
        actor: &Actor,
        room_id: RoomId,
        code: &str,
    ) -> AppResult<LoggerId> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let code = text::required("code", code, 40, "记录仪编号")?;
        let mut tx = self.store.begin_write().await?;
        rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let id = store::insert_logger(&mut tx, &code, room_id, Utc::now())
            .await?
            .ok_or_else(|| AppError::Conflict {
                code: "logger_code_taken",
                field: Some("code".to_owned()),
                message: format!("记录仪编号“{code}”已登记"),
            })?;
        let op = Op::new("environment.logger", "room", room_id).detail(format!("记录仪 {code}"));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Stores a batch from a data logger (machine tokens with `environment:write`). Idempotent
    /// by (logger, timestamp).
    pub async fn submit_readings(
        &self,
        actor: &Actor,
        batch: &ReadingBatch,
    ) -> AppResult<ReadingsStored> {
        self.authorize(actor, UseCase::SubmitReadings).await?;
        if batch.readings.is_empty() || batch.readings.len() > MAX_BATCH {
            return Err(AppError::invalid_with(
                "invalid_batch_size",
                Some("readings"),
                format!(
                    "一批应有 1–{MAX_BATCH} 条读数，收到 {} 条",
                    batch.readings.len()
                ),
            ));
        }
        let mut readings = Vec::with_capacity(batch.readings.len());
        for (i, r) in batch.readings.iter().enumerate() {
            let field = format!("readings[{i}]");
            let at = DateTime::parse_from_rfc3339(r.at.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    AppError::invalid_with(
                        "invalid_time",
                        Some(&field),
                        format!(
                            "第 {} 条读数的时间“{}”不是带时区的 RFC 3339 时间",
                            i + 1,
                            short(&r.at)
                        ),
                    )
                })?;
            let (t, h) = (
                environment::tenths(r.temperature),
                environment::tenths(r.humidity),
            );
            let (Some(temperature_dc), Some(humidity_pm)) = (t, h) else {
                return Err(AppError::invalid_with(
                    "invalid_reading",
                    Some(&field),
                    format!("第 {} 条读数的温度或湿度无效", i + 1),
                ));
            };
            if !environment::plausible(temperature_dc, humidity_pm) {
                return Err(AppError::invalid_with(
                    "invalid_reading",
                    Some(&field),
                    format!(
                        "第 {} 条读数超出仪器量程（温度 −40–80 ℃，湿度 0–100 %）",
                        i + 1
                    ),
                ));
            }
            readings.push(Reading {
                at,
                temperature_dc,
                humidity_pm,
            });
        }
        self.store_logger_readings(actor, &batch.logger, &readings, ReadingSource::Logger)
            .await
    }

    /// Imports a logger's CSV export (UTF-8 or GB18030; times without zone are Beijing time).
    /// A bad row refuses the whole file with its row number.
    pub async fn import_readings_csv(
        &self,
        actor: &Actor,
        logger: &str,
        bytes: &[u8],
    ) -> AppResult<ReadingsStored> {
        self.authorize(actor, UseCase::SubmitReadings).await?;
        let text = decode_export(bytes)?;
        let readings = parse_export(&text)?;
        self.store_logger_readings(actor, logger, &readings, ReadingSource::Import)
            .await
    }

    async fn store_logger_readings(
        &self,
        actor: &Actor,
        logger: &str,
        readings: &[Reading],
        source: ReadingSource,
    ) -> AppResult<ReadingsStored> {
        // A code with a control character (a NUL above all) names no logger and never reaches
        // the database.
        if logger.chars().any(char::is_control) || logger.chars().count() > 64 {
            return Err(logger_not_found(logger));
        }
        let now = Utc::now();
        let mut tx = self.store.begin_write().await?;
        let logger = store::logger_by_code(&mut tx, logger.trim())
            .await?
            .ok_or_else(|| logger_not_found(logger))?;
        let mut stored = self
            .store_readings(
                &mut tx,
                logger.room_id,
                Some(logger.id),
                source,
                readings,
                now,
            )
            .await?;
        stored.received = readings.len();
        let action = match source {
            ReadingSource::Import => "environment.import",
            _ => "environment.readings",
        };
        let op = Op::new(action, "room", logger.room_id).detail(format!(
            "记录仪 {}；收到 {} 条，新增 {} 条",
            logger.code, stored.received, stored.stored
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores readings of a room in the caller's transaction, then raises the alerts of new
    /// out-of-range readings and closes the alerts they end; each alert logged and queued.
    pub(crate) async fn store_readings(
        &self,
        tx: &mut Tx,
        room_id: RoomId,
        logger: Option<LoggerId>,
        source: ReadingSource,
        readings: &[Reading],
        now: DateTime<Utc>,
    ) -> AppResult<ReadingsStored> {
        let room = rooms::room(tx, room_id).await?.ok_or_else(room_not_found)?;
        let new = store::insert_readings(tx, room_id, logger, source, readings, now).await?;
        let mut out = ReadingsStored {
            received: readings.len(),
            stored: new.len(),
            alerts_raised: 0,
            alerts_closed: 0,
        };
        for m in Measure::ALL.iter().copied() {
            let b = band(&room, m);
            let Some(first) = new.iter().find(|r| !b.contains(value_of(r, m))) else {
                continue;
            };
            let value = value_of(first, m);
            if let Some(id) = store::raise_alert(tx, room_id, m, first, value, now).await? {
                out.alerts_raised += 1;
                let text = summary(m, value, b);
                self.queue_alert(
                    tx,
                    &room,
                    id,
                    m,
                    "environment_alert",
                    &text,
                    first.at,
                    None,
                    now,
                )
                .await?;
                let op = Op::new("alert.raise", "alert", id)
                    .detail(format!("{} {}：{text}", room.code, room.name));
                self.log_in(tx, &Actor::system(), &op, Outcome::Ok).await?;
            }
        }
        if !new.is_empty() {
            for id in store::close_recovered(tx, room_id, now).await? {
                out.alerts_closed += 1;
                let a = store::alert(tx, id)
                    .await?
                    .ok_or_else(|| AppError::Internal("alert vanished".to_owned()))?;
                let text = format!("{}已恢复正常范围", a.measure.label());
                self.queue_alert(
                    tx,
                    &room,
                    id,
                    a.measure,
                    "environment_alert_closed",
                    &text,
                    a.reading_at,
                    a.action.as_deref(),
                    now,
                )
                .await?;
                let op = Op::new("alert.close", "alert", id).detail(format!(
                    "{} {}：{}；处置：{}",
                    room.code,
                    room.name,
                    text,
                    a.action.unwrap_or_default()
                ));
                self.log_in(tx, &Actor::system(), &op, Outcome::Ok).await?;
            }
        }
        Ok(out)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one payload, its fields named at the call"
    )]
    async fn queue_alert(
        &self,
        tx: &mut Tx,
        room: &RoomRow,
        id: AlertId,
        m: Measure,
        kind: &str,
        text: &str,
        reading_at: DateTime<Utc>,
        action: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let b = band(room, m);
        let payload = serde_json::json!({
            "alert_id": id.0,
            "room_code": room.code,
            "room_name": room.name,
            "measure": m.code(),
            "summary": text,
            "min": format_decimal(b.min, 1),
            "max": format_decimal(b.max, 1),
            "reading_at": stamp(reading_at),
            "action": action,
        });
        outbox::queue_for_room(tx, kind, room.id, &payload.to_string(), now).await?;
        Ok(())
    }

    /// Records the action taken on an open alert (已开启除湿机). The alert closes with the
    /// first reading after it that is back in range.
    pub async fn record_alert_action(
        &self,
        actor: &Actor,
        id: AlertId,
        action: &str,
    ) -> AppResult<()> {
        self.authorize(actor, UseCase::RecordCustody).await?;
        let action = text::required("action", action, 100, "处置措施")?;
        let mut tx = self.store.begin_write().await?;
        let a = store::alert(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("alert_not_found", "未找到该环境告警"))?;
        if !store::record_action(&mut tx, id, &action, &actor.username, Utc::now()).await? {
            return Err(AppError::Conflict {
                code: "alert_closed",
                field: None,
                message: "该告警已解除".to_owned(),
            });
        }
        let op = Op::new("alert.action", "alert", id).detail(format!(
            "{} {}：{action}",
            a.room_code,
            a.measure.label()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The open environment alerts of every room (the 工作台's 环境告警).
    pub async fn open_environment_alerts(&self, actor: &Actor) -> AppResult<Vec<AlertView>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let rows = store::alerts(&mut tx, None, true, 100).await?;
        let rooms = rooms::rooms(&mut tx).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let room = rooms.iter().find(|r| r.id == a.room_id);
                alert_view(a, room)
            })
            .collect())
    }

    /// A room's environment: loggers, alerts, and the hourly averages of the last 30 days.
    pub async fn room_environment(
        &self,
        actor: &Actor,
        room_id: RoomId,
    ) -> AppResult<RoomEnvironment> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let to = Utc::now();
        let from = to - chrono::Duration::days(CHART_DAYS);
        let mut tx = self.store.begin().await?;
        let room = rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let loggers = store::loggers(&mut tx, Some(room_id)).await?;
        let alerts = store::alerts(&mut tx, Some(room_id), false, 20).await?;
        let readings = store::readings_since(&mut tx, room_id, from).await?;
        tx.rollback().await?;
        Ok(RoomEnvironment {
            alerts: alerts
                .into_iter()
                .map(|a| alert_view(a, Some(&room)))
                .collect(),
            room,
            loggers,
            points: hourly(&readings),
            from,
            to,
        })
    }
}

/// Hourly averages of readings in time order (at most 24 × 30 points for the chart).
fn hourly(readings: &[Reading]) -> Vec<ChartPoint> {
    let mut out: Vec<(i64, i64, i64, i64)> = Vec::new();
    for r in readings {
        let hour = r.at.timestamp().div_euclid(3600);
        match out.last_mut() {
            Some(last) if last.0 == hour => {
                last.1 += r.temperature_dc;
                last.2 += r.humidity_pm;
                last.3 += 1;
            }
            _ => out.push((hour, r.temperature_dc, r.humidity_pm, 1)),
        }
    }
    out.into_iter()
        .filter_map(|(hour, t, h, n)| {
            Some(ChartPoint {
                at: DateTime::from_timestamp(hour * 3600, 0)?,
                temperature_dc: t / n,
                humidity_pm: h / n,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_without_zone_is_beijing_time() {
        let t = parse_time("2026-12-07 08:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-07T00:00:00+00:00");
        assert_eq!(parse_time("2026/12/07 08:00"), Some(t));
        assert_eq!(parse_time("2026-12-07T08:00:00+08:00"), Some(t));
        assert_eq!(parse_time("昨天"), None);
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        let e = parse_export("时间,温度,湿度\n2026-12-07 08:00,18.5,50\n2026-12-07 09:00,abc,50\n")
            .unwrap_err();
        assert!(e.to_string().contains("第 3 行"), "{e}");
        let ok = parse_export("time,temperature,humidity\n2026-12-07 08:00,18.5,50\n").unwrap();
        assert_eq!(ok.len(), 1);
    }
}
