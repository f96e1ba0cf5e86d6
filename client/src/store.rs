//! The phone's local store: one SQLite file holding this device's replica, its HLC, the outbox
//! of unsynced ops, the pull cursor and the session.
//!
//! Why SQLite and one transaction per step: a phone can die at any instant (battery, the OS
//! killing the app). A local write updates the replica, the clock, the device sequence and the
//! outbox in one transaction, so a check-in is either fully recorded and queued or not at all; a
//! push result and a pull page are each applied in one transaction too, so an interrupted sync
//! leaves a state from which the next sync simply carries on.
//!
//! The replica is stored as field registers. Which write wins a register is sync-core's decision
//! ([`sync_core::wins`], the order every replica and the server use): a merge reads the stamps
//! stored for the documents it touches, lets sync-core pick each field's winner, and writes only
//! the winners (see [`merge_fields`]).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde_json::Value;
use sync_core::op::op_id;
use sync_core::{Clock, ClockError, DocKey, DocKind, FieldState, Hlc, Op, Rejection};
use uuid::Uuid;

use crate::secret::Secret;

/// The client schema, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How far ahead of local time a pulled HLC may be before the clock refuses to follow it. The
/// server already refuses ops more than its own bound ahead; this only protects the local clock.
const MAX_OBSERVE_DRIFT_MS: u64 = 24 * 3_600_000;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("local database error: {0}")]
    Db(#[from] diesel::result::Error),
    /// The file could not be opened.
    #[error("cannot open the local database: {0}")]
    Open(String),
    /// The schema could not be brought up to date.
    #[error("cannot prepare the local database: {0}")]
    Migration(String),
    /// No one has signed in on this device yet.
    #[error("this device is not signed in; run `tether login` or `tether activate` first")]
    NotSignedIn,
    /// A value failed sync-core's schema (the same check the server makes).
    #[error("{0}")]
    Invalid(Rejection),
    /// The device clock cannot issue a timestamp.
    #[error("device clock: {0}")]
    Clock(#[from] ClockError),
    /// A stored row does not parse (the file was edited by hand, or is from a newer version).
    #[error("the local database holds an unreadable {0}")]
    Corrupt(&'static str),
}

/// Who this device is and where its clock and sequence stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The server this device syncs with.
    pub server_url: String,
    /// The signed-in account (for a patient, the `patient` of their records).
    pub user_id: Uuid,
    /// `patient`, `counselor` or `admin`.
    pub role: String,
    /// Sign-in email.
    pub email: String,
    /// This device's id on the server.
    pub device_id: Uuid,
    /// The next `device_seq` a local op gets.
    pub next_seq: u64,
    /// The largest HLC issued or observed.
    pub last_hlc: Option<Hlc>,
    /// Correction added to the wall clock (after the server reported it ahead).
    pub clock_offset_ms: i64,
}

impl DeviceInfo {
    /// The HLC node id of this device: 8 bytes of its device id, as every Tether phone does.
    pub fn node(&self) -> u64 {
        node_of(self.device_id)
    }
}

/// The HLC node id for a device id.
pub fn node_of(device_id: Uuid) -> u64 {
    let b = device_id.as_bytes();
    u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}

/// The session tokens. `Debug` redacts them.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Secret,
    /// When the access token expires, ms UTC.
    pub access_expires_ms: i64,
}

/// Where syncing stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// The cursor of the last pull page applied.
    pub cursor: Option<String>,
    /// When the last sync completed, ms UTC.
    pub last_sync_ms: Option<i64>,
    /// Why the last sync stopped, if it failed.
    pub last_error: Option<String>,
}

/// An op the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEntry {
    /// Its `device_seq`.
    pub device_seq: u64,
    /// Its id.
    pub op_id: Uuid,
    /// The server's code.
    pub code: String,
    /// The server's message.
    pub message: String,
}

/// One field to write locally: which document, which field, what value.
#[derive(Debug, Clone)]
pub struct FieldWrite {
    /// The document.
    pub key: DocKey,
    /// Field name (`triggers/stress` for a set element).
    pub field: String,
    /// The value.
    pub value: Value,
}

/// The local SQLite store of one device.
pub struct Store {
    conn: SqliteConnection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

#[derive(QueryableByName)]
struct DeviceRow {
    #[diesel(sql_type = Text)]
    server_url: String,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    device_id: String,
    #[diesel(sql_type = BigInt)]
    next_seq: i64,
    #[diesel(sql_type = Nullable<Text>)]
    last_hlc: Option<String>,
    #[diesel(sql_type = BigInt)]
    clock_offset_ms: i64,
}

#[derive(QueryableByName)]
struct CredentialsRow {
    #[diesel(sql_type = Text)]
    access_token: String,
    #[diesel(sql_type = Text)]
    refresh_token: String,
    #[diesel(sql_type = BigInt)]
    access_expires_ms: i64,
}

#[derive(QueryableByName)]
struct SyncRow {
    #[diesel(sql_type = Nullable<Text>)]
    cursor: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_sync_ms: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

#[derive(QueryableByName)]
struct FieldRow {
    #[diesel(sql_type = Text)]
    patient: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    doc: String,
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = Text)]
    hlc: String,
    #[diesel(sql_type = Text)]
    op: String,
}

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = BigInt)]
    device_seq: i64,
    #[diesel(sql_type = Text)]
    op: String,
}

#[derive(QueryableByName)]
struct RejectedRow {
    #[diesel(sql_type = BigInt)]
    device_seq: i64,
    #[diesel(sql_type = Text)]
    op_id: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    message: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl FieldRow {
    fn into_state(self) -> Result<FieldState, StoreError> {
        let bad = || StoreError::Corrupt("field");
        Ok(FieldState {
            patient: self.patient.parse().map_err(|_| bad())?,
            kind: DocKind::parse(&self.kind).map_err(|_| bad())?,
            doc: self.doc.parse().map_err(|_| bad())?,
            field: self.field,
            value: serde_json::from_str(&self.value).map_err(|_| bad())?,
            hlc: self.hlc.parse().map_err(|_| bad())?,
            op: self.op.parse().map_err(|_| bad())?,
        })
    }
}

/// A register's stamp as stored: what an incoming state must beat.
#[derive(QueryableByName)]
struct StampRow {
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = Text)]
    hlc: String,
    #[diesel(sql_type = Text)]
    op: String,
}

/// The stamp `(hlc, op id)` of every field stored for one document.
fn stored_stamps(
    conn: &mut SqliteConnection,
    key: &DocKey,
) -> Result<HashMap<String, (Hlc, Uuid)>, StoreError> {
    let rows: Vec<StampRow> = diesel::sql_query(
        "SELECT field, hlc, op FROM fields WHERE patient = ? AND kind = ? AND doc = ?",
    )
    .bind::<Text, _>(key.patient.to_string())
    .bind::<Text, _>(key.kind.as_str())
    .bind::<Text, _>(key.doc.to_string())
    .load(conn)?;
    let bad = || StoreError::Corrupt("field");
    rows.into_iter()
        .map(|r| {
            let stamp = (
                r.hlc.parse().map_err(|_| bad())?,
                r.op.parse().map_err(|_| bad())?,
            );
            Ok((r.field, stamp))
        })
        .collect()
}

/// Merges field states into the replica table. sync-core decides each field's winner among its
/// stored register and the states (in any order, repeats allowed); SQL only reads the stored
/// stamps, one statement per document, and writes each field won, once, at its final state.
/// Runs inside the caller's transaction.
fn merge_fields(conn: &mut SqliteConnection, states: &[FieldState]) -> Result<(), StoreError> {
    let mut stamps: HashMap<DocKey, HashMap<String, (Hlc, Uuid)>> = HashMap::new();
    let mut won: BTreeMap<(DocKey, &str), &FieldState> = BTreeMap::new();
    for s in states {
        let key = s.key();
        let held = match stamps.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(stored_stamps(conn, &key)?),
        };
        let beats = held
            .get(&s.field)
            .is_none_or(|(hlc, op)| sync_core::wins((&s.hlc, &s.op), (hlc, op)));
        if beats {
            held.insert(s.field.clone(), (s.hlc, s.op));
            won.insert((key, &s.field), s);
        }
    }
    for s in won.into_values() {
        write_field(conn, s)?;
    }
    Ok(())
}

/// Stores a register that sync-core judged the winner of its field.
fn write_field(conn: &mut SqliteConnection, s: &FieldState) -> Result<(), StoreError> {
    diesel::sql_query(
        "INSERT INTO fields (patient, kind, doc, field, value, hlc, op) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (patient, kind, doc, field) DO UPDATE \
         SET value = excluded.value, hlc = excluded.hlc, op = excluded.op",
    )
    .bind::<Text, _>(s.patient.to_string())
    .bind::<Text, _>(s.kind.as_str())
    .bind::<Text, _>(s.doc.to_string())
    .bind::<Text, _>(&s.field)
    .bind::<Text, _>(s.value.to_string())
    .bind::<Text, _>(s.hlc.to_string())
    .bind::<Text, _>(s.op.to_string())
    .execute(conn)?;
    Ok(())
}

/// The register a local op writes.
fn state_of(op: &Op) -> FieldState {
    FieldState {
        patient: op.patient,
        kind: op.kind,
        doc: op.doc,
        field: op.field.clone(),
        value: op.value.clone(),
        hlc: op.hlc,
        op: op.id,
    }
}

fn device_row(conn: &mut SqliteConnection) -> Result<Option<DeviceInfo>, StoreError> {
    let rows: Vec<DeviceRow> = diesel::sql_query(
        "SELECT server_url, user_id, role, email, device_id, next_seq, last_hlc, clock_offset_ms \
         FROM device WHERE id = 1",
    )
    .load(conn)?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(None);
    };
    let bad = || StoreError::Corrupt("device record");
    Ok(Some(DeviceInfo {
        server_url: r.server_url,
        user_id: r.user_id.parse().map_err(|_| bad())?,
        role: r.role,
        email: r.email,
        device_id: r.device_id.parse().map_err(|_| bad())?,
        next_seq: to_u64(r.next_seq),
        last_hlc: match r.last_hlc {
            Some(h) => Some(h.parse().map_err(|_| bad())?),
            None => None,
        },
        clock_offset_ms: r.clock_offset_ms,
    }))
}

fn save_clock(conn: &mut SqliteConnection, last: Hlc, next_seq: u64) -> Result<(), StoreError> {
    diesel::sql_query("UPDATE device SET last_hlc = ?, next_seq = ? WHERE id = 1")
        .bind::<Text, _>(last.to_string())
        .bind::<BigInt, _>(to_i64(next_seq))
        .execute(conn)?;
    Ok(())
}

/// The device's clock as it stood at its last save, reading corrected wall time from `wall`.
fn clock_for<'a>(
    device: &DeviceInfo,
    wall: &'a mut dyn FnMut() -> u64,
    max_drift_ms: u64,
) -> Clock<impl FnMut() -> u64 + 'a> {
    let offset = device.clock_offset_ms;
    let source = move || {
        let now = i64::try_from(wall()).unwrap_or(i64::MAX);
        u64::try_from(now.saturating_add(offset)).unwrap_or(0)
    };
    match device.last_hlc {
        Some(last) => Clock::resume(device.node(), source, max_drift_ms, last),
        None => Clock::new(device.node(), source, max_drift_ms),
    }
}

fn random_bytes() -> [u8; 10] {
    let mut out = [0u8; 10];
    out.copy_from_slice(&Uuid::new_v4().as_bytes()[..10]);
    out
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let url = path
            .to_str()
            .ok_or_else(|| StoreError::Open("the path is not valid UTF-8".into()))?;
        let conn = SqliteConnection::establish(url).map_err(|e| StoreError::Open(e.to_string()))?;
        Self::prepare(conn, true)
    }

    /// A store that lives in memory only (tests and the load simulator).
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn =
            SqliteConnection::establish(":memory:").map_err(|e| StoreError::Open(e.to_string()))?;
        Self::prepare(conn, false)
    }

    fn prepare(mut conn: SqliteConnection, file: bool) -> Result<Self, StoreError> {
        // FULL: a check-in the app said was saved survives power loss, not just an app crash.
        // The busy timeout lets two `tether` commands on one store wait for each other.
        let pragmas = if file {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;"
        } else {
            "PRAGMA busy_timeout = 10000;"
        };
        conn.batch_execute(pragmas)?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { conn })
    }

    /// Who this device is, if anyone signed in.
    pub fn device(&mut self) -> Result<Option<DeviceInfo>, StoreError> {
        device_row(&mut self.conn)
    }

    /// Records a sign-in. The same account on the same device keeps everything. The same account
    /// given a new device id keeps its replica and outbox, renumbering the unsynced ops for the
    /// new device's sequence (same ids, same content). Those the server already stored under
    /// the old device (their answers were lost) come back as duplicates and leave the outbox like
    /// any acknowledged op, never as rejected work; they credit nothing to the new device's
    /// receipt, whose `high_water` then stays below their new numbers. That gap is harmless:
    /// the outbox is pruned only up to `high_water` and otherwise by the ids each answer
    /// acknowledges, and the gap list is never acted on. Another account starts from an empty
    /// store: one person's records never stay on a phone someone else signs in to.
    pub fn sign_in(
        &mut self,
        server_url: &str,
        user: &crate::wire::UserView,
        device_id: Uuid,
        creds: &Credentials,
    ) -> Result<(), StoreError> {
        self.conn.immediate_transaction(|c| {
            let previous = device_row(c)?;
            let same_user = previous
                .as_ref()
                .is_some_and(|p| p.user_id == user.id && p.server_url == server_url);
            if !same_user {
                c.batch_execute(
                    "DELETE FROM fields; DELETE FROM outbox; DELETE FROM rejected; \
                     DELETE FROM sync_state; DELETE FROM credentials; DELETE FROM device;",
                )?;
            }
            let (next_seq, last_hlc, offset) = match previous.filter(|_| same_user) {
                Some(p) if p.device_id == device_id => (p.next_seq, p.last_hlc, p.clock_offset_ms),
                Some(p) => {
                    // A new device id: its sequence starts again at 1.
                    let ops = outbox_rows(c, i64::MAX)?;
                    c.batch_execute("DELETE FROM outbox")?;
                    let mut seq = 1u64;
                    for (_, mut op) in ops {
                        op.device_seq = seq;
                        insert_outbox(c, &op)?;
                        seq += 1;
                    }
                    (seq, p.last_hlc, p.clock_offset_ms)
                }
                None => (1, None, 0),
            };
            diesel::sql_query("DELETE FROM device").execute(c)?;
            diesel::sql_query(
                "INSERT INTO device (id, server_url, user_id, role, email, device_id, next_seq, \
                 last_hlc, clock_offset_ms) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind::<Text, _>(server_url)
            .bind::<Text, _>(user.id.to_string())
            .bind::<Text, _>(&user.role)
            .bind::<Text, _>(&user.email)
            .bind::<Text, _>(device_id.to_string())
            .bind::<BigInt, _>(to_i64(next_seq))
            .bind::<Nullable<Text>, _>(last_hlc.map(|h| h.to_string()))
            .bind::<BigInt, _>(offset)
            .execute(c)?;
            set_credentials(c, creds)?;
            Ok(())
        })
    }

    /// The session tokens, if signed in.
    pub fn credentials(&mut self) -> Result<Option<Credentials>, StoreError> {
        let rows: Vec<CredentialsRow> = diesel::sql_query(
            "SELECT access_token, refresh_token, access_expires_ms FROM credentials WHERE id = 1",
        )
        .load(&mut self.conn)?;
        Ok(rows.into_iter().next().map(|r| Credentials {
            access_token: Secret::new(r.access_token),
            refresh_token: Secret::new(r.refresh_token),
            access_expires_ms: r.access_expires_ms,
        }))
    }

    /// Replaces the session tokens (after a refresh).
    pub fn set_credentials(&mut self, creds: &Credentials) -> Result<(), StoreError> {
        set_credentials(&mut self.conn, creds)
    }

    /// Forgets the session tokens (sign-out, or a session the server revoked). The replica and
    /// outbox stay: signing in again carries on where this left off.
    pub fn clear_credentials(&mut self) -> Result<(), StoreError> {
        diesel::sql_query("DELETE FROM credentials").execute(&mut self.conn)?;
        Ok(())
    }

    /// Where syncing stands.
    pub fn sync_state(&mut self) -> Result<SyncState, StoreError> {
        let rows: Vec<SyncRow> = diesel::sql_query(
            "SELECT cursor, last_sync_ms, last_error FROM sync_state WHERE id = 1",
        )
        .load(&mut self.conn)?;
        Ok(rows
            .into_iter()
            .next()
            .map(|r| SyncState {
                cursor: r.cursor,
                last_sync_ms: r.last_sync_ms,
                last_error: r.last_error,
            })
            .unwrap_or_default())
    }

    /// Records the end of a sync: its time when it completed, or why it stopped.
    pub fn finish_sync(&mut self, now_ms: i64, error: Option<&str>) -> Result<(), StoreError> {
        ensure_sync_row(&mut self.conn)?;
        match error {
            None => diesel::sql_query(
                "UPDATE sync_state SET last_sync_ms = ?, last_error = NULL WHERE id = 1",
            )
            .bind::<BigInt, _>(now_ms)
            .execute(&mut self.conn)?,
            Some(e) => diesel::sql_query("UPDATE sync_state SET last_error = ? WHERE id = 1")
                .bind::<Text, _>(e)
                .execute(&mut self.conn)?,
        };
        Ok(())
    }

    /// Forgets the pull cursor, so the next pull starts from the beginning (after a re-stamp,
    /// values the local replica once judged older than its future-stamped ops must come back).
    pub fn reset_cursor(&mut self) -> Result<(), StoreError> {
        ensure_sync_row(&mut self.conn)?;
        diesel::sql_query("UPDATE sync_state SET cursor = NULL WHERE id = 1")
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// Writes fields locally: each gets the next HLC and `device_seq`, is checked against
    /// sync-core's schema, merged into the replica and queued in the outbox, all in one
    /// transaction. Returns the ops in the order written.
    pub fn write(
        &mut self,
        writes: &[FieldWrite],
        wall: &mut dyn FnMut() -> u64,
        max_drift_ms: u64,
    ) -> Result<Vec<Op>, StoreError> {
        self.conn.immediate_transaction(|c| {
            let device = device_row(c)?.ok_or(StoreError::NotSignedIn)?;
            let mut clock = clock_for(&device, wall, max_drift_ms);
            let mut seq = device.next_seq;
            let mut ops = Vec::with_capacity(writes.len());
            for w in writes {
                let hlc = clock.now()?;
                let op = Op {
                    id: op_id(&hlc, &random_bytes()),
                    patient: w.key.patient,
                    kind: w.key.kind,
                    doc: w.key.doc,
                    field: w.field.clone(),
                    value: w.value.clone(),
                    hlc,
                    device_seq: seq,
                };
                sync_core::validate(&op).map_err(StoreError::Invalid)?;
                insert_outbox(c, &op)?;
                seq += 1;
                ops.push(op);
            }
            let written: Vec<FieldState> = ops.iter().map(state_of).collect();
            merge_fields(c, &written)?;
            save_clock(c, clock.last(), seq)?;
            Ok(ops)
        })
    }

    /// How many ops wait to be pushed.
    pub fn outbox_len(&mut self) -> Result<u64, StoreError> {
        let rows: Vec<Count> =
            diesel::sql_query("SELECT COUNT(*) AS n FROM outbox").load(&mut self.conn)?;
        Ok(rows.first().map_or(0, |r| to_u64(r.n)))
    }

    /// The oldest `limit` unsynced ops, in `device_seq` order.
    pub fn outbox_batch(&mut self, limit: usize) -> Result<Vec<Op>, StoreError> {
        Ok(
            outbox_rows(&mut self.conn, i64::try_from(limit).unwrap_or(i64::MAX))?
                .into_iter()
                .map(|(_, op)| op)
                .collect(),
        )
    }

    /// Applies a push answer in one transaction: drops what the server acknowledged (stored,
    /// already held, or held according to the receipt), and moves ops refused for good to the
    /// `rejected` table. Returns how many ops left the outbox.
    pub fn settle_push(
        &mut self,
        acknowledged: &[Uuid],
        refused: &[(Uuid, String, String)],
        high_water: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.conn.immediate_transaction(|c| {
            let before = count(c, "SELECT COUNT(*) AS n FROM outbox")?;
            for id in acknowledged {
                diesel::sql_query("DELETE FROM outbox WHERE op_id = ?")
                    .bind::<Text, _>(id.to_string())
                    .execute(c)?;
            }
            for (id, code, message) in refused {
                diesel::sql_query(
                    "INSERT OR REPLACE INTO rejected (device_seq, op_id, op, code, message) \
                     SELECT device_seq, op_id, op, ?, ? FROM outbox WHERE op_id = ?",
                )
                .bind::<Text, _>(code)
                .bind::<Text, _>(message)
                .bind::<Text, _>(id.to_string())
                .execute(c)?;
                diesel::sql_query("DELETE FROM outbox WHERE op_id = ?")
                    .bind::<Text, _>(id.to_string())
                    .execute(c)?;
            }
            if let Some(hw) = high_water {
                prune_by_receipt(c, hw)?;
            }
            let after = count(c, "SELECT COUNT(*) AS n FROM outbox")?;
            Ok(before.saturating_sub(after))
        })
    }

    /// Applies one pull page in one transaction: merges the changes, advances the clock past
    /// them, drops outbox ops the receipt says the server holds, and saves the cursor.
    pub fn apply_pull(
        &mut self,
        changes: &[FieldState],
        cursor: &str,
        high_water: u64,
        wall: &mut dyn FnMut() -> u64,
    ) -> Result<(), StoreError> {
        self.conn.immediate_transaction(|c| {
            let device = device_row(c)?.ok_or(StoreError::NotSignedIn)?;
            let mut clock = clock_for(&device, wall, MAX_OBSERVE_DRIFT_MS);
            for s in changes {
                // The same schema check as for a local write: a bad state never enters the store.
                sync_core::schema::validate_value(s.kind, &s.field, &s.value)
                    .map_err(StoreError::Invalid)?;
                // A state stamped far in the future is merged (every replica must agree) but the
                // local clock does not jump after it.
                let _ = clock.observe(s.hlc);
            }
            merge_fields(c, changes)?;
            save_clock(c, clock.last(), device.next_seq)?;
            prune_by_receipt(c, high_water)?;
            ensure_sync_row(c)?;
            diesel::sql_query("UPDATE sync_state SET cursor = ? WHERE id = 1")
                .bind::<Text, _>(cursor)
                .execute(c)?;
            Ok(())
        })
    }

    /// Re-stamps unsynced ops after the server said this device's clock runs ahead: the clock
    /// is corrected by `offset_ms` (server time minus local time) and restarted from the
    /// corrected time (or from the latest stamp it keeps, if later), and each outbox op stamped
    /// after `server_time_ms` gets a new HLC, in `device_seq` order (same id, same `device_seq`:
    /// the server refused them, so it never stored them). Ops stamped before the server's time
    /// keep their stamp: one the server stored but whose answer was lost must be sent again
    /// unchanged, or it would come back `op_id_conflict`. Registers the replica holds from
    /// re-stamped ops are re-stamped too, and the pull cursor is reset so that values the
    /// replica judged older than the future-stamped ops are pulled again and merged under the
    /// corrected stamps.
    pub fn restamp(
        &mut self,
        offset_ms: i64,
        server_time_ms: i64,
        wall: &mut dyn FnMut() -> u64,
        max_drift_ms: u64,
    ) -> Result<usize, StoreError> {
        self.conn.immediate_transaction(|c| {
            let mut device = device_row(c)?.ok_or(StoreError::NotSignedIn)?;
            let server_now = u64::try_from(server_time_ms).unwrap_or(0);
            let (future, kept): (Vec<_>, Vec<_>) = outbox_rows(c, i64::MAX)?
                .into_iter()
                .partition(|(_, op)| op.hlc.wall_ms() > server_now);
            device.clock_offset_ms = offset_ms;
            device.last_hlc = kept.iter().map(|(_, op)| op.hlc).max();
            diesel::sql_query("UPDATE device SET clock_offset_ms = ? WHERE id = 1")
                .bind::<BigInt, _>(offset_ms)
                .execute(c)?;
            let mut clock = clock_for(&device, wall, max_drift_ms);
            let ops = future;
            for (_, op) in &ops {
                let hlc = clock.now()?;
                let mut fresh = op.clone();
                fresh.hlc = hlc;
                diesel::sql_query("UPDATE outbox SET op = ? WHERE device_seq = ?")
                    .bind::<Text, _>(op_json(&fresh)?)
                    .bind::<BigInt, _>(to_i64(op.device_seq))
                    .execute(c)?;
                diesel::sql_query(
                    "UPDATE fields SET hlc = ? WHERE patient = ? AND kind = ? AND doc = ? \
                     AND field = ? AND op = ?",
                )
                .bind::<Text, _>(hlc.to_string())
                .bind::<Text, _>(op.patient.to_string())
                .bind::<Text, _>(op.kind.as_str())
                .bind::<Text, _>(op.doc.to_string())
                .bind::<Text, _>(&op.field)
                .bind::<Text, _>(op.id.to_string())
                .execute(c)?;
            }
            save_clock(c, clock.last(), device.next_seq)?;
            ensure_sync_row(c)?;
            diesel::sql_query("UPDATE sync_state SET cursor = NULL WHERE id = 1").execute(c)?;
            Ok(ops.len())
        })
    }

    /// Ops the server refused for good.
    pub fn rejected(&mut self) -> Result<Vec<RejectedEntry>, StoreError> {
        let rows: Vec<RejectedRow> = diesel::sql_query(
            "SELECT device_seq, op_id, code, message FROM rejected ORDER BY device_seq",
        )
        .load(&mut self.conn)?;
        rows.into_iter()
            .map(|r| {
                Ok(RejectedEntry {
                    device_seq: to_u64(r.device_seq),
                    op_id: r
                        .op_id
                        .parse()
                        .map_err(|_| StoreError::Corrupt("rejected op"))?,
                    code: r.code,
                    message: r.message,
                })
            })
            .collect()
    }

    /// Every document of `kind` (of `patient`, when given) with its fields, by document key.
    pub fn documents(
        &mut self,
        kind: DocKind,
        patient: Option<Uuid>,
    ) -> Result<BTreeMap<DocKey, Vec<(String, Value)>>, StoreError> {
        let rows: Vec<FieldRow> = match patient {
            Some(p) => diesel::sql_query(
                "SELECT patient, kind, doc, field, value, hlc, op FROM fields \
                 WHERE kind = ? AND patient = ?",
            )
            .bind::<Text, _>(kind.as_str())
            .bind::<Text, _>(p.to_string())
            .load(&mut self.conn)?,
            None => diesel::sql_query(
                "SELECT patient, kind, doc, field, value, hlc, op FROM fields WHERE kind = ?",
            )
            .bind::<Text, _>(kind.as_str())
            .load(&mut self.conn)?,
        };
        let mut docs: BTreeMap<DocKey, Vec<(String, Value)>> = BTreeMap::new();
        for r in rows {
            let s = r.into_state()?;
            docs.entry(s.key()).or_default().push((s.field, s.value));
        }
        Ok(docs)
    }

    /// The whole replica as sync-core field states (for comparing replicas).
    pub fn states(&mut self) -> Result<Vec<FieldState>, StoreError> {
        let rows: Vec<FieldRow> =
            diesel::sql_query("SELECT patient, kind, doc, field, value, hlc, op FROM fields")
                .load(&mut self.conn)?;
        rows.into_iter().map(FieldRow::into_state).collect()
    }
}

fn count(c: &mut SqliteConnection, sql: &str) -> Result<u64, StoreError> {
    let rows: Vec<Count> = diesel::sql_query(sql).load(c)?;
    Ok(rows.first().map_or(0, |r| to_u64(r.n)))
}

fn ensure_sync_row(c: &mut SqliteConnection) -> Result<(), StoreError> {
    diesel::sql_query("INSERT OR IGNORE INTO sync_state (id) VALUES (1)").execute(c)?;
    Ok(())
}

fn set_credentials(c: &mut SqliteConnection, creds: &Credentials) -> Result<(), StoreError> {
    diesel::sql_query(
        "INSERT OR REPLACE INTO credentials (id, access_token, refresh_token, access_expires_ms) \
         VALUES (1, ?, ?, ?)",
    )
    .bind::<Text, _>(creds.access_token.expose())
    .bind::<Text, _>(creds.refresh_token.expose())
    .bind::<BigInt, _>(creds.access_expires_ms)
    .execute(c)?;
    Ok(())
}

fn op_json(op: &Op) -> Result<String, StoreError> {
    serde_json::to_string(op).map_err(|_| StoreError::Corrupt("op"))
}

fn insert_outbox(c: &mut SqliteConnection, op: &Op) -> Result<(), StoreError> {
    diesel::sql_query("INSERT INTO outbox (device_seq, op_id, op) VALUES (?, ?, ?)")
        .bind::<BigInt, _>(to_i64(op.device_seq))
        .bind::<Text, _>(op.id.to_string())
        .bind::<Text, _>(op_json(op)?)
        .execute(c)?;
    Ok(())
}

fn outbox_rows(c: &mut SqliteConnection, limit: i64) -> Result<Vec<(u64, Op)>, StoreError> {
    let rows: Vec<OutboxRow> =
        diesel::sql_query("SELECT device_seq, op FROM outbox ORDER BY device_seq LIMIT ?")
            .bind::<BigInt, _>(limit)
            .load(c)?;
    rows.into_iter()
        .map(|r| {
            let op: Op = serde_json::from_str(&r.op).map_err(|_| StoreError::Corrupt("op"))?;
            Ok((to_u64(r.device_seq), op))
        })
        .collect()
}

/// Everything up to the receipt's high-water mark has reached the server (stored, a duplicate,
/// or refused for good): it leaves the outbox even when the answer that said so was lost.
fn prune_by_receipt(c: &mut SqliteConnection, high_water: u64) -> Result<(), StoreError> {
    diesel::sql_query("DELETE FROM outbox WHERE device_seq <= ?")
        .bind::<BigInt, _>(to_i64(high_water))
        .execute(c)?;
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use crate::wire::UserView;
    use serde_json::json;

    fn signed_in() -> Store {
        let mut store = Store::in_memory().unwrap();
        let user = UserView {
            id: Uuid::now_v7(),
            role: "patient".into(),
            email: "pat@example.test".into(),
            display_name: "Pat".into(),
        };
        let creds = Credentials {
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            access_expires_ms: 0,
        };
        store
            .sign_in("http://server", &user, Uuid::now_v7(), &creds)
            .unwrap();
        store
    }

    fn write(key: DocKey, field: &str, value: Value) -> FieldWrite {
        FieldWrite {
            key,
            field: field.into(),
            value,
        }
    }

    #[test]
    fn a_note_with_a_control_character_is_refused_on_the_phone_as_on_the_server() {
        let mut store = signed_in();
        let patient = store.device().unwrap().unwrap().user_id;
        let key = DocKey {
            patient,
            kind: DocKind::Checkin,
            doc: Uuid::now_v7(),
        };
        let mut wall = || 1_800_000_000_000u64;
        let refused = store.write(&[write(key, "note", json!("a\u{0}b"))], &mut wall, 300_000);
        assert!(matches!(
            refused,
            Err(StoreError::Invalid(r)) if r.code == sync_core::RejectCode::ControlCharacter
        ));
        assert_eq!(store.outbox_len().unwrap(), 0);
        let kept = [write(key, "note", json!("two\nlines\tand a tab"))];
        assert_eq!(store.write(&kept, &mut wall, 300_000).unwrap().len(), 1);
    }

    #[test]
    fn a_local_write_is_all_or_nothing() {
        let mut store = signed_in();
        let patient = store.device().unwrap().unwrap().user_id;
        let key = DocKey {
            patient,
            kind: DocKind::Checkin,
            doc: Uuid::now_v7(),
        };
        let mut wall = || 1_800_000_000_000u64;
        let bad = [
            write(key, "intensity", json!(7)),
            write(key, "intensity_typo", json!(7)),
        ];
        assert!(matches!(
            store.write(&bad, &mut wall, 300_000),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(store.outbox_len().unwrap(), 0);
        assert!(store.states().unwrap().is_empty());
        assert_eq!(store.device().unwrap().unwrap().next_seq, 1);

        let good = [
            write(key, "intensity", json!(7)),
            write(key, "triggers/stress", json!(true)),
        ];
        let ops = store.write(&good, &mut wall, 300_000).unwrap();
        assert_eq!(
            ops.iter().map(|o| o.device_seq).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(ops[0].hlc < ops[1].hlc);
        assert_eq!(store.outbox_len().unwrap(), 2);
        assert_eq!(store.device().unwrap().unwrap().next_seq, 3);
    }

    #[test]
    fn the_replica_keeps_the_latest_stamp_whatever_the_order_and_the_clock_never_goes_back() {
        let mut store = signed_in();
        let patient = store.device().unwrap().unwrap().user_id;
        let key = DocKey {
            patient,
            kind: DocKind::Checkin,
            doc: Uuid::now_v7(),
        };
        let mut late = || 1_800_000_000_000u64;
        let written = store
            .write(&[write(key, "intensity", json!(3))], &mut late, 300_000)
            .unwrap();
        let state = |hlc_ms: u64, value: i64| FieldState {
            patient,
            kind: DocKind::Checkin,
            doc: key.doc,
            field: "intensity".into(),
            value: json!(value),
            hlc: sync_core::Hlc::new(hlc_ms, 0, 99).unwrap(),
            op: Uuid::now_v7(),
        };
        // An older remote value loses; a newer one wins; applying either again changes nothing.
        let older = state(1_700_000_000_000, 1);
        let newer = state(1_800_000_000_500, 9);
        let mut wall = || 1_800_000_000_000u64;
        for s in [&newer, &older, &newer, &older] {
            store
                .apply_pull(std::slice::from_ref(s), "c", 0, &mut wall)
                .unwrap();
        }
        let states = store.states().unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].value, json!(9));
        // The local clock moved past the newer remote stamp, even though the wall clock did not.
        let mut early = || 1_000_000_000_000u64;
        let next = store
            .write(&[write(key, "mood", json!(2))], &mut early, 300_000)
            .unwrap();
        assert!(next[0].hlc > newer.hlc && next[0].hlc > written[0].hlc);
        // The receipt clears what the server holds.
        store.apply_pull(&[], "c2", 1, &mut wall).unwrap();
        assert_eq!(store.outbox_len().unwrap(), 1);
        assert_eq!(store.sync_state().unwrap().cursor.as_deref(), Some("c2"));
    }
}
