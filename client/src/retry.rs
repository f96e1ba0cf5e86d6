//! When to try again: exponential backoff with full jitter, so a fleet of phones coming back
//! online together does not hammer a recovering server in lock-step.

use std::time::Duration;

use rand::Rng;

/// How many times and how patiently to retry network errors, 5xx and 429.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay is longer than this (a `Retry-After` included).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(250),
            max: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 for the first retry): uniform in
    /// `[0, min(max, base * 2^(retry-1))]`, or the server's `Retry-After` when it gave one
    /// (capped at `max`).
    pub fn delay(&self, retry: u32, retry_after_secs: Option<u64>) -> Duration {
        if let Some(secs) = retry_after_secs {
            return Duration::from_secs(secs).min(self.max);
        }
        let exp = retry.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.max);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_under_the_cap_and_are_jittered() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1_000),
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(3, None) <= Duration::from_millis(400));
            let d = p.delay(9, None);
            assert!(d <= Duration::from_millis(1_000));
            seen.insert(d);
        }
        assert!(seen.len() > 10, "delays are not jittered: {seen:?}");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(2)), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(3_600)), p.max);
    }
}
