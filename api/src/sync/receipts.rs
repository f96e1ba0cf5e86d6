//! Completeness receipts: what a device can be told is safely at the clinic.
//!
//! Every op carries its device's dense sequence number (1, 2, 3, …). The server keeps the
//! contiguous high-water mark (every seq ≤ it has been received and judged) and the seqs it holds
//! above it; the holes between are the gaps the phone should re-send.

use std::collections::BTreeSet;
use sync_core::wire::Receipt;
use uuid::Uuid;

/// Most gap ranges reported at once; a phone re-sends these first and learns the rest next time.
pub const MAX_REPORTED_GAPS: usize = 100;

/// A device's receipt state after new seqs arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// New high-water mark.
    pub high_water: i64,
    /// Seqs still held above it.
    pub pending: BTreeSet<i64>,
}

/// Folds newly judged seqs into a device's state: the high-water mark climbs through every
/// contiguous seq, the rest wait above it. Seqs at or below the mark change nothing.
pub fn advance(
    high_water: i64,
    pending: &BTreeSet<i64>,
    arrived: impl IntoIterator<Item = i64>,
) -> Advance {
    let mut pending: BTreeSet<i64> = pending
        .iter()
        .copied()
        .filter(|s| *s > high_water)
        .collect();
    pending.extend(arrived.into_iter().filter(|s| *s > high_water));
    let mut high_water = high_water;
    while pending.remove(&(high_water + 1)) {
        high_water += 1;
    }
    Advance {
        high_water,
        pending,
    }
}

/// The seqs as one unbroken run `(lowest, highest)`, repeats allowed, or `None` (empty, or a
/// hole inside). A receipt standing just below such a run, with nothing pending, advances to its
/// top: what [`advance`] would give, without reading the pending seqs first.
pub fn unbroken_run(seqs: &[i64]) -> Option<(i64, i64)> {
    let distinct: BTreeSet<i64> = seqs.iter().copied().collect();
    let (&low, &high) = (distinct.first()?, distinct.last()?);
    let span = usize::try_from(high.checked_sub(low)?).ok()?;
    (span.checked_add(1)? == distinct.len()).then_some((low, high))
}

/// What a push or pull answer tells `device_id` about its own ops, from its stored state.
/// The database holds sequence numbers as BIGINT; every one stored is at least 1 and the mark
/// starts at 0, so none is lost on the way to the wire's unsigned numbers.
pub fn receipt(device_id: Uuid, high_water: i64, pending: &BTreeSet<i64>) -> Receipt {
    let seq = |s: i64| u64::try_from(s).unwrap_or_default();
    Receipt {
        device_id,
        high_water: seq(high_water),
        gaps: gaps(high_water, pending)
            .into_iter()
            .map(|[from, to]| [seq(from), seq(to)])
            .collect(),
    }
}

/// The missing ranges between `high_water` and the highest pending seq.
pub fn gaps(high_water: i64, pending: &BTreeSet<i64>) -> Vec<[i64; 2]> {
    let mut gaps = Vec::new();
    let mut expected = high_water + 1;
    for &seq in pending.iter().filter(|s| **s > high_water) {
        if seq > expected {
            gaps.push([expected, seq - 1]);
            if gaps.len() == MAX_REPORTED_GAPS {
                break;
            }
        }
        expected = seq + 1;
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbroken_run_is_found_with_repeats_and_a_hole_breaks_it() {
        assert_eq!(unbroken_run(&[7, 5, 6, 6]), Some((5, 7)));
        assert_eq!(unbroken_run(&[3]), Some((3, 3)));
        assert_eq!(unbroken_run(&[5, 7]), None);
        assert_eq!(unbroken_run(&[]), None);
        // Where it applies, it agrees with `advance` from just below the run.
        let next = advance(4, &BTreeSet::new(), [7, 5, 6]);
        assert_eq!((next.high_water, next.pending.is_empty()), (7, true));
    }

    fn set(s: &[i64]) -> BTreeSet<i64> {
        s.iter().copied().collect()
    }

    #[test]
    fn contiguous_seqs_raise_the_high_water_mark() {
        let a = advance(0, &set(&[]), [1, 2, 3]);
        assert_eq!(a.high_water, 3);
        assert!(a.pending.is_empty());
    }

    #[test]
    fn a_hole_holds_the_mark_until_it_is_filled() {
        let a = advance(0, &set(&[]), [1, 2, 5, 6, 9]);
        assert_eq!(a.high_water, 2);
        assert_eq!(gaps(a.high_water, &a.pending), vec![[3, 4], [7, 8]]);
        let b = advance(a.high_water, &a.pending, [3, 4]);
        assert_eq!(b.high_water, 6);
        assert_eq!(gaps(b.high_water, &b.pending), vec![[7, 8]]);
        let c = advance(b.high_water, &b.pending, [8, 7]);
        assert_eq!((c.high_water, c.pending.len()), (9, 0));
    }

    #[test]
    fn old_and_repeated_seqs_change_nothing() {
        let a = advance(5, &set(&[7]), [1, 5, 7, 7]);
        assert_eq!(a.high_water, 5);
        assert_eq!(a.pending, set(&[7]));
    }

    #[test]
    fn the_gap_list_is_bounded() {
        let pending: BTreeSet<i64> = (0..1_000).map(|i| i * 2 + 2).collect();
        assert_eq!(gaps(0, &pending).len(), MAX_REPORTED_GAPS);
    }
}
