//! Times as staff and insured persons read them: Beijing time (Asia/Shanghai), in one format
//! (`2026-12-06 08:05:09`, or the date alone), on every page and print. Templates call these
//! by path, e.g. `{{ crate::ui::beijing::time(h.handed_over_at) }}`.

use chrono::{DateTime, Utc};

/// An instant as Beijing time, to the second.
pub fn time(at: &DateTime<Utc>) -> String {
    dangan_app::local_time(*at)
}

/// The Beijing date of an instant (`2026-12-06`).
pub fn date(at: &DateTime<Utc>) -> String {
    dangan_app::local_date(*at).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_between_midnight_and_eight_utc_shows_the_next_beijing_day() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time(&at), "2026-12-06 07:30:00");
        assert_eq!(date(&at), "2026-12-06");
    }
}
