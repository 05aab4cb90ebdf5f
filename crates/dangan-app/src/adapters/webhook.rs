//! The webhook HTTP client: one POST with the given headers, timed, never following a redirect
//! (a webhook that moved is a configuration fault to see), its failure described without the
//! URL. The delivery protocol (what is signed, when to retry) is `integration/outbox/`.

use std::time::{Duration, Instant};

use crate::{AppError, AppResult};

/// The longest error text kept for the delivery log.
const MAX_ERROR_CHARS: usize = 500;

/// An HTTP client for one delivery round.
pub(crate) struct WebhookClient {
    client: reqwest::Client,
    timeout: Duration,
}

/// How one POST went.
pub(crate) struct Posted {
    /// How long it took.
    pub duration_ms: i64,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// `None` when acknowledged (a 2xx status).
    pub error: Option<String>,
}

impl WebhookClient {
    /// A client whose requests time out after `timeout`.
    pub(crate) fn new(timeout: Duration) -> AppResult<WebhookClient> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::Internal(format!("webhook client: {e}")))?;
        Ok(WebhookClient { client, timeout })
    }

    /// POSTs a JSON `body` with `headers` to `url`.
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Posted {
        let clock = Instant::now();
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let result = request.body(body).send().await;
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, error) = match result {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("HTTP {}", r.status())),
            ),
            Err(e) => (None, Some(describe(e, self.timeout))),
        };
        Posted {
            duration_ms,
            status,
            error,
        }
    }
}

/// An error and its causes, without the URL, shortened for the delivery log.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    let text = if e.is_timeout() {
        format!(
            "超时：{} 秒内无应答 (timed out after {:?})",
            timeout.as_secs(),
            timeout
        )
    } else {
        let head = if e.is_connect() {
            "无法连接 (connection failed)"
        } else {
            "请求失败 (request failed)"
        };
        let e = e.without_url();
        let mut text = format!("{head}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}
