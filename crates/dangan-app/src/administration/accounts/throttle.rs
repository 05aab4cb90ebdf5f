//! Sliding-window counters kept in memory: failed sign-ins per client address, exact
//! identity-number searches per staff account or token.
//!
//! In memory, per process: a restart forgets them, and with several servers on one PostgreSQL
//! database each counts on its own (the limits then hold per server). The account lock-out,
//! which must hold everywhere, is in the database (`lockout.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most; past this, expired keys are dropped, and if that is not enough a new
/// key is not tracked (the map cannot grow without bound under a flood of made-up keys).
const MAX_KEYS: usize = 100_000;

/// At most `limit` events per key in any `window`.
#[derive(Debug)]
pub(crate) struct Throttle {
    limit: usize,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// A throttle of `limit` events per `window`; a limit of 0 never refuses.
    pub(crate) fn new(limit: u32, window: Duration) -> Throttle {
        Throttle {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// When `key` has used up its events in the window ending `now`: how long until the
    /// oldest of them leaves it.
    pub(crate) fn blocked(&self, key: &str, now: Instant) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let q = events.get_mut(key)?;
        self.expire(q, now);
        if q.len() >= self.limit {
            q.front()
                .map(|oldest| self.window.saturating_sub(now - *oldest))
        } else {
            None
        }
    }

    /// Counts an event of `key` at `now`; returns whether the key has now used up the window.
    pub(crate) fn record(&self, key: &str, now: Instant) -> bool {
        if self.limit == 0 {
            return false;
        }
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if !events.contains_key(key) && events.len() >= MAX_KEYS {
            let window = self.window;
            events.retain(|_, q| q.back().is_some_and(|t| now - *t < window));
            if events.len() >= MAX_KEYS {
                return false;
            }
        }
        let q = events.entry(key.to_owned()).or_default();
        self.expire(q, now);
        q.push_back(now);
        while q.len() > self.limit {
            q.pop_front();
        }
        q.len() >= self.limit
    }

    /// Counts an event of `key` unless the window is used up; then refuses with the wait.
    pub(crate) fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.blocked(key, now) {
            Some(wait) => Err(wait),
            None => {
                self.record(key, now);
                Ok(())
            }
        }
    }

    fn expire(&self, q: &mut VecDeque<Instant>, now: Instant) {
        while q.front().is_some_and(|t| now - *t >= self.window) {
            q.pop_front();
        }
    }
}

/// Whole seconds to wait, at least one (for `Retry-After`).
pub(crate) fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Whole minutes to wait, at least one (for a message).
pub(crate) fn retry_minutes(wait: Duration) -> u64 {
    retry_secs(wait).div_ceil(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_event_in_the_window_is_refused_until_the_oldest_leaves_it() {
        let t = Throttle::new(10, Duration::from_secs(900));
        let start = Instant::now();
        for i in 0..10 {
            assert!(t.take("10.0.0.1", start + Duration::from_secs(i)).is_ok());
        }
        let wait = t
            .take("10.0.0.1", start + Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(840));
        assert!(t.take("10.0.0.2", start).is_ok(), "other keys are apart");
        assert!(t.take("10.0.0.1", start + Duration::from_secs(900)).is_ok());
        assert_eq!(retry_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_minutes(Duration::from_secs(61)), 2);
    }

    #[test]
    fn a_limit_of_zero_never_refuses() {
        let t = Throttle::new(0, Duration::from_secs(1));
        let now = Instant::now();
        for _ in 0..100 {
            assert!(t.take("k", now).is_ok());
        }
    }
}
