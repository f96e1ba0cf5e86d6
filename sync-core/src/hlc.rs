//! Hybrid logical clock: the order of every op.
//!
//! A [`Hlc`] is `(wall_ms, counter, node)`, compared in that order. Wall time keeps timestamps
//! close to real time (useful for audit and for "what happened today"), the counter orders events
//! inside one millisecond or while the local wall clock is behind a remote one, and the node id
//! breaks the last ties so two devices never issue equal timestamps.
//!
//! The text form is fixed-width lowercase hex, `wwwwwwwwwwww-cccccccc-nnnnnnnnnnnnnnnn`
//! (12 + 8 + 16 digits), so sorting the strings sorts the timestamps: a database can order or
//! compare the TEXT column directly. Parsing accepts exactly that form and nothing else, so one
//! timestamp has exactly one spelling.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest wall time the 12-hex-digit text form can hold (2^48 - 1 ms, about year 10889).
pub const MAX_WALL_MS: u64 = (1 << 48) - 1;

/// Length of the text form in bytes.
pub const TEXT_LEN: usize = 12 + 1 + 8 + 1 + 16;

/// A hybrid logical clock timestamp, totally ordered by `(wall_ms, counter, node)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    wall_ms: u64,
    counter: u32,
    node: u64,
}

impl Hlc {
    /// Builds a timestamp; fails if `wall_ms` does not fit the fixed-width text form.
    pub fn new(wall_ms: u64, counter: u32, node: u64) -> Result<Self, ClockError> {
        if wall_ms > MAX_WALL_MS {
            return Err(ClockError::WallOutOfRange { wall_ms });
        }
        Ok(Self {
            wall_ms,
            counter,
            node,
        })
    }

    /// Milliseconds since the Unix epoch (UTC) of the physical part.
    pub fn wall_ms(&self) -> u64 {
        self.wall_ms
    }

    /// Logical counter within one `wall_ms`.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// Node (device) id that issued this timestamp.
    pub fn node(&self) -> u64 {
        self.node
    }
}

impl Hlc {
    /// The text form, written digit by digit into a fixed buffer: every op a server stores is
    /// spelled out once, and `format!` with widths and padding cost a twentieth of a push's CPU
    /// outside the database.
    pub fn to_text(&self) -> [u8; TEXT_LEN] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        fn put(out: &mut [u8], mut v: u64) {
            for b in out.iter_mut().rev() {
                *b = HEX[(v & 0xf) as usize];
                v >>= 4;
            }
        }
        let mut out = [b'-'; TEXT_LEN];
        put(&mut out[..12], self.wall_ms);
        put(&mut out[13..21], u64::from(self.counter));
        put(&mut out[22..], self.node);
        out
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_text();
        // Hex digits and '-' only: always UTF-8.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// The text did not have the exact form `wwwwwwwwwwww-cccccccc-nnnnnnnnnnnnnnnn` (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an HLC must be 12-8-16 lowercase hex digits separated by '-'")]
pub struct HlcParseError;

fn hex_field(bytes: &[u8]) -> Result<u64, HlcParseError> {
    let mut v: u64 = 0;
    for &b in bytes {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return Err(HlcParseError),
        };
        v = (v << 4) | u64::from(d);
    }
    Ok(v)
}

impl FromStr for Hlc {
    type Err = HlcParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != TEXT_LEN || b[12] != b'-' || b[21] != b'-' {
            return Err(HlcParseError);
        }
        let wall_ms = hex_field(&b[0..12])?;
        let counter = u32::try_from(hex_field(&b[13..21])?).map_err(|_| HlcParseError)?;
        let node = hex_field(&b[22..38])?;
        Ok(Self {
            wall_ms,
            counter,
            node,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Hlc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HLC string wwwwwwwwwwww-cccccccc-nnnnnnnnnnnnnnnn")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hlc, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Why the clock refused to issue or accept a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A remote timestamp is further ahead of local wall time than the configured bound. The
    /// sender's clock is wrong; it should re-stamp its ops from a corrected clock.
    #[error(
        "timestamp is {ahead_ms} ms ahead of local time; at most {max_drift_ms} ms is allowed"
    )]
    TooFarAhead {
        /// Wall time of the remote timestamp.
        remote_wall_ms: u64,
        /// Local wall time when it was checked.
        local_wall_ms: u64,
        /// How far ahead it was.
        ahead_ms: u64,
        /// The configured bound.
        max_drift_ms: u64,
    },
    /// More than `u32::MAX` events inside one millisecond of logical time.
    #[error("HLC counter overflow")]
    CounterOverflow,
    /// A wall time beyond [`MAX_WALL_MS`].
    #[error("wall time {wall_ms} ms does not fit an HLC")]
    WallOutOfRange {
        /// The offending wall time.
        wall_ms: u64,
    },
}

/// Pure drift check, for a server judging an incoming op against its own `now_ms`.
///
/// Ok when `remote.wall_ms() <= now_ms + max_drift_ms`. Timestamps in the past are always fine:
/// an offline phone legitimately syncs days-old ops.
pub fn check_drift(remote: Hlc, now_ms: u64, max_drift_ms: u64) -> Result<(), ClockError> {
    if remote.wall_ms > now_ms.saturating_add(max_drift_ms) {
        return Err(ClockError::TooFarAhead {
            remote_wall_ms: remote.wall_ms,
            local_wall_ms: now_ms,
            ahead_ms: remote.wall_ms - now_ms,
            max_drift_ms,
        });
    }
    Ok(())
}

/// A source of physical time in milliseconds since the Unix epoch (UTC).
///
/// Injected so that tests can drive time (including backwards) and so the crate never reads a
/// clock on its own. Any `FnMut() -> u64` closure is a source.
pub trait WallClock {
    /// Current wall time in ms since the Unix epoch.
    fn now_ms(&mut self) -> u64;
}

impl<F: FnMut() -> u64> WallClock for F {
    fn now_ms(&mut self) -> u64 {
        self()
    }
}

/// Wall time from `std::time::SystemTime`.
///
/// Compiles everywhere, but on `wasm32-unknown-unknown` `SystemTime::now()` panics at run time:
/// a browser/phone build must inject its own source (e.g. a closure over `Date.now()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// Issues strictly increasing timestamps for one node.
#[derive(Debug, Clone)]
pub struct Clock<W> {
    source: W,
    node: u64,
    max_drift_ms: u64,
    last: Hlc,
}

impl<W: WallClock> Clock<W> {
    /// A clock for `node`, reading wall time from `source`, refusing remote timestamps more than
    /// `max_drift_ms` ahead of local wall time.
    pub fn new(node: u64, source: W, max_drift_ms: u64) -> Self {
        Self {
            source,
            node,
            max_drift_ms,
            last: Hlc {
                wall_ms: 0,
                counter: 0,
                node,
            },
        }
    }

    /// Resumes a clock after a restart from the last timestamp it issued or observed, so a
    /// device whose wall clock went backwards while off still never repeats a timestamp.
    pub fn resume(node: u64, source: W, max_drift_ms: u64, last: Hlc) -> Self {
        let mut c = Self::new(node, source, max_drift_ms);
        c.last = Hlc { node, ..last };
        c
    }

    /// The largest timestamp issued or observed so far (with this clock's node id).
    pub fn last(&self) -> Hlc {
        self.last
    }

    fn wall(&mut self) -> Result<u64, ClockError> {
        let wall_ms = self.source.now_ms();
        if wall_ms > MAX_WALL_MS {
            return Err(ClockError::WallOutOfRange { wall_ms });
        }
        Ok(wall_ms)
    }

    /// Issues a new timestamp, strictly greater than every one issued or observed before, even
    /// when the wall clock went backwards.
    pub fn now(&mut self) -> Result<Hlc, ClockError> {
        let pt = self.wall()?;
        let next = if pt > self.last.wall_ms {
            Hlc {
                wall_ms: pt,
                counter: 0,
                node: self.node,
            }
        } else {
            Hlc {
                wall_ms: self.last.wall_ms,
                counter: self
                    .last
                    .counter
                    .checked_add(1)
                    .ok_or(ClockError::CounterOverflow)?,
                node: self.node,
            }
        };
        self.last = next;
        Ok(next)
    }

    /// Advances the clock past a timestamp received from another node, so that everything this
    /// node issues afterwards orders after it. Refuses (and does not advance) when `remote` is
    /// more than `max_drift_ms` ahead of local wall time: one bad clock must not drag every
    /// replica into the future.
    pub fn observe(&mut self, remote: Hlc) -> Result<(), ClockError> {
        let pt = self.wall()?;
        check_drift(remote, pt, self.max_drift_ms)?;
        let wall_ms = pt.max(self.last.wall_ms).max(remote.wall_ms);
        let counter = if wall_ms == self.last.wall_ms && wall_ms == remote.wall_ms {
            self.last.counter.max(remote.counter)
        } else if wall_ms == self.last.wall_ms {
            self.last.counter
        } else if wall_ms == remote.wall_ms {
            remote.counter
        } else {
            // Physical time moved past both: a fresh millisecond.
            self.last = Hlc {
                wall_ms,
                counter: 0,
                node: self.node,
            };
            return Ok(());
        };
        // The next `now()` increments from here; the observed timestamp itself is never reissued
        // because `now()` adds one when wall time has not moved on.
        self.last = Hlc {
            wall_ms,
            counter,
            node: self.node,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hlc(w: u64, c: u32, n: u64) -> Hlc {
        Hlc::new(w, c, n).unwrap()
    }

    #[test]
    fn text_form_is_fixed_width_lowercase_hex() {
        let h = hlc(0x018f_3a2b_4c5d, 7, 0xab);
        assert_eq!(h.to_string(), "018f3a2b4c5d-00000007-00000000000000ab");
        assert_eq!(h.to_string().len(), TEXT_LEN);
        assert_eq!(h.to_string().parse::<Hlc>().unwrap(), h);
    }

    #[test]
    fn text_form_matches_the_padded_hex_of_each_part_at_the_extremes() {
        for (w, c, n) in [
            (0, 0, 0),
            (MAX_WALL_MS, u32::MAX, u64::MAX),
            (1, 0x8000_0000, 0x0123_4567_89ab_cdef),
        ] {
            assert_eq!(
                hlc(w, c, n).to_string(),
                format!("{w:012x}-{c:08x}-{n:016x}")
            );
        }
    }

    #[test]
    fn parsing_rejects_any_other_spelling() {
        for bad in [
            "",
            "018F3A2B4C5D-00000007-00000000000000ab",
            "018f3a2b4c5d-00000007-00000000000000a",
            "018f3a2b4c5d_00000007-00000000000000ab",
            "+18f3a2b4c5d-00000007-00000000000000ab",
            "018f3a2b4c5d-00000007-00000000000000abc",
        ] {
            assert_eq!(bad.parse::<Hlc>(), Err(HlcParseError), "{bad}");
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let h = hlc(1, 2, 3);
        let j = serde_json::to_string(&h).unwrap();
        assert_eq!(j, "\"000000000001-00000002-0000000000000003\"");
        assert_eq!(serde_json::from_str::<Hlc>(&j).unwrap(), h);
    }

    #[test]
    fn wall_time_beyond_48_bits_is_refused() {
        assert!(matches!(
            Hlc::new(MAX_WALL_MS + 1, 0, 0),
            Err(ClockError::WallOutOfRange { .. })
        ));
    }

    #[test]
    fn a_remote_timestamp_too_far_ahead_is_a_typed_error() {
        let mut clock = Clock::new(1, || 1_000, 500);
        let err = clock.observe(hlc(1_501, 0, 2)).unwrap_err();
        assert_eq!(
            err,
            ClockError::TooFarAhead {
                remote_wall_ms: 1_501,
                local_wall_ms: 1_000,
                ahead_ms: 501,
                max_drift_ms: 500
            }
        );
        assert!(clock.observe(hlc(1_500, 0, 2)).is_ok());
        assert!(check_drift(hlc(1_500, 9, 2), 1_000, 500).is_ok());
        assert!(check_drift(hlc(0, 0, 2), 1_000, 0).is_ok());
    }

    #[test]
    fn observing_a_remote_timestamp_orders_later_issues_after_it() {
        let mut clock = Clock::new(1, || 1_000, 10_000);
        let remote = hlc(5_000, 41, 2);
        clock.observe(remote).unwrap();
        let next = clock.now().unwrap();
        assert!(next > remote);
        assert_eq!(next, hlc(5_000, 42, 1));
    }

    #[test]
    fn counter_overflow_is_a_typed_error_not_a_panic() {
        let mut clock = Clock::resume(1, || 10, 0, hlc(10, u32::MAX, 1));
        assert_eq!(clock.now(), Err(ClockError::CounterOverflow));
    }
}
