//! Tether's pure merge engine, shared by every phone and the server so both validate and merge
//! exactly alike.
//!
//! - [`hlc`]: hybrid logical clock timestamps that order every change.
//! - [`op`]: the op (one field of one document set to one value), its wire format, and the
//!   last-writer-wins comparison [`op::wins`].
//! - [`schema`]: the document schemas as data, and [`schema::validate`].
//! - [`policy`]: who may write which field, and [`policy::may_write`].
//! - [`replica`]: an in-memory replica with merge and delta state.
//! - [`view`]: typed read views (check-in, exercise, session, plan) and the tombstone rule.
//! - [`kinds`]: every record kind, declared once: its fields, who writes them, its typed view,
//!   its input builder [`Writes`] and its read-model table.
//! - [`reject`]: the stable rejection codes.
//! - [`text`]: which characters text may hold, for ops and for every other stored string.
//! - [`wire`]: the sync protocol's JSON bodies (push, pull, receipt, error), for every side.
//!
//! No I/O, no async, no database, no clock read or random number except through what the caller
//! injects; builds for `wasm32-unknown-unknown`.
//!
//! Two phones of one patient, offline, then synced through deltas:
//!
//! ```
//! use serde_json::json;
//! use sync_core::hlc::Clock;
//! use sync_core::op::{op_id, DocKind, Op};
//! use sync_core::replica::Replica;
//! use uuid::Uuid;
//!
//! let patient = Uuid::from_u128(1);
//! let checkin = Uuid::from_u128(2);
//! let op = |clock: &mut Clock<fn() -> u64>, seq: u64, field: &str, value| {
//!     let hlc = clock.now().unwrap();
//!     Op {
//!         id: op_id(&hlc, &[seq as u8; 10]),
//!         patient,
//!         kind: DocKind::Checkin,
//!         doc: checkin,
//!         field: field.into(),
//!         value,
//!         hlc,
//!         device_seq: seq,
//!     }
//! };
//! let mut phone_clock: Clock<fn() -> u64> = Clock::new(0xa, || 1_720_000_000_000, 60_000);
//! let mut tablet_clock: Clock<fn() -> u64> = Clock::new(0xb, || 1_720_000_000_500, 60_000);
//!
//! let mut phone = Replica::new();
//! phone.apply(op(&mut phone_clock, 1, "recorded_at", json!(1_720_000_000_000_i64))).unwrap();
//! phone.apply(op(&mut phone_clock, 2, "intensity", json!(6))).unwrap();
//! phone.apply(op(&mut phone_clock, 3, "triggers/stress", json!(true))).unwrap();
//!
//! let mut tablet = Replica::new();
//! // Written later (higher HLC): wins over the phone's 6 on every replica.
//! tablet.apply(op(&mut tablet_clock, 1, "intensity", json!(4))).unwrap();
//! tablet.apply(op(&mut tablet_clock, 2, "triggers/lonely", json!(true))).unwrap();
//!
//! // Exchange deltas since the last version each saw of the other (here: everything).
//! let to_tablet = phone.changes_since(0);
//! let to_phone = tablet.changes_since(0);
//! tablet.apply_delta(to_tablet).unwrap();
//! phone.apply_delta(to_phone).unwrap();
//!
//! assert_eq!(phone.states(), tablet.states());
//! let seen = &phone.checkins()[0];
//! assert_eq!(seen.intensity, Some(4));
//! assert_eq!(seen.triggers, ["lonely", "stress"]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod field;
pub mod hlc;
pub mod kinds;
pub mod op;
pub mod policy;
pub mod reject;
pub mod replica;
pub mod schema;
pub mod text;
pub mod view;
pub mod wire;

pub use hlc::{check_drift, Clock, ClockError, Hlc};
pub use kinds::Writes;
pub use op::{wins, Author, DocKind, Op, Role};
pub use policy::{may_write, Relation};
pub use reject::{RejectCode, Rejection};
pub use replica::{ApplyOutcome, DocKey, FieldState, Replica};
pub use schema::validate;
pub use view::{CheckIn, Exercise, Plan, Session, View};
