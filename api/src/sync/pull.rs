//! Pull: the current state of every field changed after the caller's cursor, for every patient
//! the caller may read, page by page.
//!
//! Cost grows with what changed, not with history: each field appears once, at its latest
//! value, however often it was edited. A device is not sent back the field states it wrote itself
//! (unless another write has since won), so a push followed by a pull costs nothing extra.
//!
//! **Where a device has read** is kept on the server, per device of the access token and per
//! patient ([`crate::repo::pull_positions`]); the cursor is a small token naming an epoch of it
//! (`v2.<epoch>`), whatever the caseload. The positions the device has acknowledged have epoch
//! `acked`; the page sent last and not yet acknowledged has its own, `pending`, and its positions
//! (only of the patients it advanced) are kept beside them. A phone stores a cursor only after it
//! applied the page, so a pull that presents:
//! - the pending epoch acknowledges that page: its positions become the acknowledged ones;
//! - the acknowledged epoch is a retry after a lost answer: the pending page is discarded and
//!   read again from the acknowledged positions (nothing is lost);
//! - no cursor starts over: the device's positions are dropped and everything is sent;
//! - anything else is refused with 422 `invalid_cursor` (the phone pulls without a cursor).
//!
//! An idle pull (nothing new since the cursor) is reads only — the device's state and the heads
//! of its readable patients' streams in one statement — writes nothing and answers with the same
//! cursor; when that cursor is the pending epoch, its acknowledgement waits for the next page.
//! Every other pull writes its new state in one write transaction (on SQLite through the
//! group-commit writer) that applies only if the device's row is still as the pull read it: two
//! pulls of one device at once cannot both win; the later reads again (and the phone holding the
//! earlier's cursor is told `invalid_cursor` next time and starts over). Epochs are never reused.

use crate::access::{self, ReadAction, Standing};
use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::repo::pull_positions::{self, Change, CursorRow, DeviceState, Positions};
use crate::repo::sync_store;
use crate::sync::cursor::{self, Cursor};
use std::collections::HashMap;
use sync_core::FieldState;
use uuid::Uuid;

/// How often a pull reads again after another pull of the same device changed its state first.
const ATTEMPTS: usize = 4;

/// One page of changes: the body of a pull answer ([`sync_core::wire::PullResponse`]) but the
/// receipt.
#[derive(Debug)]
pub struct PullPage {
    /// Latest state of each changed field, in stream order per patient.
    pub changes: Vec<FieldState>,
    /// Where the next pull starts.
    pub cursor: String,
    /// More changes are waiting: pull again with `cursor` now.
    pub has_more: bool,
}

/// Where a pull starts, given the cursor it presented and the device's stored epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// No cursor: from nothing.
    Scratch,
    /// The pending page's epoch: that page was applied.
    Acknowledge,
    /// The acknowledged epoch: from the acknowledged positions.
    Acknowledged,
}

/// Judges the presented cursor against the device's epochs.
pub fn start(presented: Option<Cursor>, stored: Option<CursorRow>) -> Result<Start, ApiError> {
    let row = stored.unwrap_or(CursorRow::NEVER);
    match presented {
        None => Ok(Start::Scratch),
        Some(c) if Some(c.epoch) == row.pending => Ok(Start::Acknowledge),
        Some(c) if c.epoch == row.acked => Ok(Start::Acknowledged),
        Some(_) => Err(cursor::invalid()),
    }
}

/// Where `stream` is read from, for a pull that starts at `start`.
pub fn base(start: Start, stream: &pull_positions::Stream) -> i64 {
    match start {
        Start::Scratch => 0,
        Start::Acknowledge => stream.pending.unwrap_or(stream.seq),
        Start::Acknowledged => stream.seq,
    }
}

/// Whether the pull writes nothing and answers with the cursor it was given: no readable stream
/// has moved past where the cursor puts the device, no unreadable patient is held, and the
/// cursor is where the device stands. That is the acknowledged epoch with nothing pending, or
/// the pending epoch itself: its acknowledgement is left for the next pull that has something
/// to send (promoting it then is the same as now), so a caught-up phone's syncs never write.
pub fn is_idle(start: Start, state: &DeviceState) -> bool {
    let nothing_new = state.streams.iter().all(|s| s.head <= base(start, s));
    let nothing_held = state.unreadable.is_empty();
    nothing_new
        && nothing_held
        && match (start, state.cursor) {
            // A device that never pulled and has nothing to read: epoch 0 stays unstored.
            (Start::Scratch, None) | (Start::Acknowledge, _) => true,
            (Start::Scratch, Some(_)) => false,
            (Start::Acknowledged, row) => row.is_none_or(|r| r.pending.is_none()),
        }
}

/// The device's epochs after a pull that started at `start` and, when `advanced`, sent a page
/// that moved some position. Every change takes a new `issued`, so no epoch is handed out twice.
pub fn next_epochs(start: Start, before: Option<CursorRow>, advanced: bool) -> CursorRow {
    let row = before.unwrap_or(CursorRow::NEVER);
    let mut issued = row.issued;
    let mut take = || {
        issued += 1;
        issued
    };
    let acked = match start {
        Start::Scratch => take(),
        Start::Acknowledge => row.pending.unwrap_or(row.acked),
        Start::Acknowledged => row.acked,
    };
    let pending = advanced.then(&mut take);
    let issued = issued.max(row.issued + 1);
    CursorRow {
        acked,
        pending,
        issued,
    }
}

/// Reads one page. Patients are read in id order; within a patient, changes in stream order.
pub fn pull(
    conn: &mut DbConnection,
    caller: &AuthUser,
    cursor: Option<&str>,
    limit: usize,
) -> Result<PullPage, ApiError> {
    let presented = cursor.map(Cursor::decode).transpose()?;
    let device = caller.device_id.to_string();
    for _ in 0..ATTEMPTS {
        let readable = access::readable_patients(conn, caller)?;
        let ids: Vec<String> = readable.iter().map(|(p, _)| p.to_string()).collect();
        let state = pull_positions::load(conn, &device, &ids, presented.is_none())?;
        let start = start(presented, state.cursor)?;
        if is_idle(start, &state) {
            let at = presented.map_or(CursorRow::NEVER.acked, |c| c.epoch);
            return Ok(PullPage {
                changes: Vec::new(),
                cursor: Cursor { epoch: at }.encode(),
                has_more: false,
            });
        }
        let standing: HashMap<String, Standing> = ids
            .into_iter()
            .zip(readable.iter().map(|(_, s)| *s))
            .collect();
        let page = read_page(conn, &device, start, &state, limit)?;
        let after = next_epochs(start, state.cursor, !page.positions.is_empty());
        let change = Change {
            before: state.cursor,
            after,
            positions: match start {
                Start::Scratch => Positions::Drop,
                Start::Acknowledge => Positions::Promote,
                Start::Acknowledged if state.cursor.is_some_and(|r| r.pending.is_some()) => {
                    Positions::Discard
                }
                Start::Acknowledged => Positions::Keep,
            },
            // Issue 21's seam: these are the patients the device may no longer hold; a pull
            // will tell it so, durably. For now their positions are only dropped.
            forget: state.unreadable,
            pending: page.positions,
        };
        let reads: Vec<(Uuid, Standing)> = page
            .read
            .iter()
            .filter_map(|p| Some((Uuid::parse_str(p).ok()?, *standing.get(p)?)))
            .collect();
        let caller = *caller;
        let writer_device = device.clone();
        let saved = db::group_commit::write(conn, move |conn| {
            if !pull_positions::save(conn, &writer_device, &change)? {
                return Ok(false);
            }
            // Logged in the same transaction, before the data is returned: a read that cannot
            // be logged fails.
            for (patient, standing) in reads {
                access::record_read(conn, &caller, patient, standing, ReadAction::Pull)?;
            }
            Ok(true)
        })?;
        if saved {
            let epoch = after.pending.unwrap_or(after.acked);
            return Ok(PullPage {
                changes: page.changes,
                cursor: Cursor { epoch }.encode(),
                has_more: page.has_more,
            });
        }
    }
    // Other pulls of this device kept changing its state first: the phone retries shortly.
    Err(ApiError::Unavailable)
}

/// A page read from the streams, not yet saved.
struct Page {
    changes: Vec<FieldState>,
    has_more: bool,
    /// How far each patient the page advanced was read.
    positions: Vec<(String, i64)>,
    /// The patients whose changes the page returns (their reads are logged).
    read: Vec<String>,
}

/// Reads up to `limit` changes of the streams in `state` past where `start` puts the device.
/// Only patients with something new are visited (their heads are known), one stream at a time;
/// a stream read to its end is read through its head, which holes (numbers reserved and not
/// used) and the device's own writes would otherwise keep ahead of the position.
fn read_page(
    conn: &mut DbConnection,
    device: &str,
    start: Start,
    state: &DeviceState,
    limit: usize,
) -> Result<Page, ApiError> {
    let mut page = Page {
        changes: Vec::new(),
        has_more: false,
        positions: Vec::new(),
        read: Vec::new(),
    };
    'patients: for stream in &state.streams {
        let from = base(start, stream);
        if stream.head <= from {
            continue;
        }
        let mut position = from;
        let returned_before = page.changes.len();
        loop {
            let room = limit - page.changes.len();
            let want = i64::try_from(room + 1).unwrap_or(i64::MAX);
            let rows = sync_store::fields_after(conn, &stream.patient_id, position, want)?;
            let exhausted = rows.len() <= room;
            for row in rows {
                if page.changes.len() == limit {
                    page.has_more = true;
                    if position > from {
                        page.positions.push((stream.patient_id.clone(), position));
                    }
                    if page.changes.len() > returned_before {
                        page.read.push(stream.patient_id.clone());
                    }
                    break 'patients;
                }
                position = row.seq;
                if row.device_id != device {
                    page.changes.push(row.into_state()?);
                }
            }
            if exhausted {
                // Everything up to the head read first is visible: a stream's numbers become
                // visible in the order they were handed out (its row lock), and the rows were
                // read after the head.
                position = position.max(stream.head);
                break;
            }
        }
        page.positions.push((stream.patient_id.clone(), position));
        if page.changes.len() > returned_before {
            page.read.push(stream.patient_id.clone());
        }
    }
    Ok(page)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use pull_positions::Stream;

    fn row(acked: i64, pending: Option<i64>, issued: i64) -> Option<CursorRow> {
        Some(CursorRow {
            acked,
            pending,
            issued,
        })
    }

    fn stream(head: i64, seq: i64, pending: Option<i64>) -> Stream {
        Stream {
            patient_id: "p".into(),
            head,
            seq,
            pending,
        }
    }

    #[test]
    fn the_pending_epoch_acknowledges_the_acknowledged_epoch_retries_and_others_are_refused() {
        let stored = row(3, Some(5), 5);
        assert_eq!(start(None, stored).unwrap(), Start::Scratch);
        assert_eq!(
            start(Some(Cursor { epoch: 5 }), stored).unwrap(),
            Start::Acknowledge
        );
        assert_eq!(
            start(Some(Cursor { epoch: 3 }), stored).unwrap(),
            Start::Acknowledged
        );
        for epoch in [0, 4, 6] {
            assert_eq!(
                start(Some(Cursor { epoch }), stored).unwrap_err().code(),
                "invalid_cursor"
            );
        }
        // A device that never pulled stands at epoch 0.
        assert_eq!(
            start(Some(Cursor { epoch: 0 }), None).unwrap(),
            Start::Acknowledged
        );
        assert!(start(Some(Cursor { epoch: 1 }), None).is_err());
    }

    #[test]
    fn a_pull_is_idle_only_when_nothing_is_new_pending_or_held() {
        let caught_up = DeviceState {
            cursor: row(3, None, 4),
            streams: vec![],
            unreadable: vec![],
        };
        assert!(is_idle(Start::Acknowledged, &caught_up));
        assert!(!is_idle(Start::Scratch, &caught_up));
        let pending = DeviceState {
            cursor: row(3, Some(4), 4),
            streams: vec![stream(9, 2, Some(9))],
            unreadable: vec![],
        };
        assert!(!is_idle(Start::Acknowledged, &pending));
        // Acknowledging a page with nothing after it is left for the next page.
        assert!(is_idle(Start::Acknowledge, &pending));
        let more = DeviceState {
            cursor: row(3, Some(4), 4),
            streams: vec![stream(10, 2, Some(9))],
            unreadable: vec![],
        };
        assert!(!is_idle(Start::Acknowledge, &more));
        let moved = DeviceState {
            cursor: row(3, None, 4),
            streams: vec![stream(9, 2, None)],
            unreadable: vec![],
        };
        assert!(!is_idle(Start::Acknowledged, &moved));
        let held = DeviceState {
            cursor: row(3, None, 4),
            streams: vec![],
            unreadable: vec!["q".into()],
        };
        assert!(!is_idle(Start::Acknowledged, &held));
        assert!(is_idle(Start::Scratch, &DeviceState::default()));
    }

    #[test]
    fn a_retry_reads_from_the_acknowledged_position_and_an_acknowledgement_from_the_pending_one() {
        let s = stream(9, 2, Some(7));
        assert_eq!(base(Start::Acknowledged, &s), 2);
        assert_eq!(base(Start::Acknowledge, &s), 7);
        assert_eq!(base(Start::Scratch, &s), 0);
        assert_eq!(base(Start::Acknowledge, &stream(9, 2, None)), 2);
    }

    #[test]
    fn every_change_of_the_epochs_takes_a_new_one_and_none_is_reused() {
        let before = row(3, Some(5), 5);
        let ack = next_epochs(Start::Acknowledge, before, true);
        assert_eq!(ack, row(5, Some(6), 6).unwrap());
        let ack_idle = next_epochs(Start::Acknowledge, before, false);
        assert_eq!(ack_idle, row(5, None, 6).unwrap());
        let retry = next_epochs(Start::Acknowledged, before, true);
        assert_eq!(retry, row(3, Some(6), 6).unwrap());
        let retry_idle = next_epochs(Start::Acknowledged, before, false);
        assert_eq!(retry_idle, row(3, None, 6).unwrap());
        let scratch = next_epochs(Start::Scratch, before, true);
        assert_eq!(scratch, row(6, Some(7), 7).unwrap());
        let first = next_epochs(Start::Scratch, None, false);
        assert_eq!(first, row(1, None, 1).unwrap());
        let first_page = next_epochs(Start::Acknowledged, None, true);
        assert_eq!(first_page, row(0, Some(1), 1).unwrap());
    }
}
