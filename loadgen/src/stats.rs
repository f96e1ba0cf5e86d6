//! Latency percentiles and rates.

use std::time::Duration;

/// Latencies of one kind of request.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    /// Records one request.
    pub fn push(&mut self, d: Duration) {
        self.samples.push(d);
    }

    /// Adds another set.
    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    /// The `p`-th percentile (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted
            .get(index)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0)
    }

    /// `p50 / p95 / p99` in ms, for a table cell.
    pub fn summary(&self) -> String {
        format!(
            "{:.1} / {:.1} / {:.1}",
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0)
        )
    }
}

/// Items per second.
pub fn rate(items: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        items as f64 / secs
    } else {
        f64::NAN
    }
}
