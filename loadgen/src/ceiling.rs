//! The ceiling: the fastest plain insert of rows equal to the op log's, into one table with the
//! same columns (key columns compared as bytes, as the log's are) and the log's own keys
//! (primary key on the UUIDv7 id, unique
//! `(device_id, device_seq)`, index `(patient_id, doc_id)`; no foreign keys, nothing else), in
//! the same database as the run. The log's two partial indexes of field winners (`ops_stream`,
//! `ops_winner`) are the merged state's keys, which a push maintains on top of the log: they
//! are not part of the ceiling, which would only make it lower.
//! SQLite: `INSERT` in immediate transactions with the server's pragmas, both as one prepared
//! statement per row and as multi-row statements of several sizes (which is fastest depends on
//! the machine, so every variant is measured and the best counts).
//! PostgreSQL: `COPY … FROM STDIN` (text format), one per transaction.

use crate::client::{checkin_value, CHECKIN_FIELDS};
use crate::cpu::CpuMeter;
use crate::Res;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::{Duration, Instant};
use sync_core::Clock;
use uuid::Uuid;

diesel::table! {
    load_ceiling (id) {
        id -> Text,
        patient_id -> Text,
        kind -> Text,
        doc_id -> Text,
        field -> Text,
        value -> Text,
        hlc -> Text,
        device_seq -> BigInt,
        author_id -> Text,
        device_id -> Text,
        received_at -> BigInt,
        seq -> Nullable<BigInt>,
    }
}

/// A row equal to an `ops` row.
#[derive(Insertable)]
// No defaultable columns, so diesel writes a true multi-row INSERT on SQLite (with them it
// would run one statement per row).
#[diesel(table_name = load_ceiling, treat_none_as_default_value = false)]
struct Row {
    id: String,
    patient_id: String,
    kind: String,
    doc_id: String,
    field: String,
    value: String,
    hlc: String,
    device_seq: i64,
    author_id: String,
    device_id: String,
    received_at: i64,
    seq: Option<i64>,
}

/// The table, its key columns typed as the op log's: `KEY_TEXT` is `TEXT` on SQLite (which compares
/// text as bytes) and `TEXT COLLATE "C"` on PostgreSQL (migration 000009).
const CREATE: &str = "
DROP TABLE IF EXISTS load_ceiling;
CREATE TABLE load_ceiling (
    id           KEY_TEXT PRIMARY KEY NOT NULL,
    patient_id   KEY_TEXT NOT NULL,
    kind         KEY_TEXT NOT NULL,
    doc_id       KEY_TEXT NOT NULL,
    field        KEY_TEXT NOT NULL,
    value        TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    device_seq   BIGINT NOT NULL,
    author_id    TEXT NOT NULL,
    device_id    KEY_TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    seq          BIGINT
);
CREATE UNIQUE INDEX load_ceiling_device_seq ON load_ceiling (device_id, device_seq);
CREATE INDEX load_ceiling_patient_doc ON load_ceiling (patient_id, doc_id);
";

/// [`CREATE`] for one backend.
fn create_sql(postgres: bool) -> String {
    CREATE.replace(
        "KEY_TEXT",
        if postgres {
            "TEXT COLLATE \"C\""
        } else {
            "TEXT"
        },
    )
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `count` rows of check-ins from `devices` devices of as many patients.
fn rows(count: usize, devices: usize) -> Res<Vec<Row>> {
    let devices: Vec<(String, String)> = (0..devices.max(1))
        .map(|_| (Uuid::now_v7().to_string(), Uuid::now_v7().to_string()))
        .collect();
    let mut clock: Clock<fn() -> u64> = Clock::new(7, wall_ms as fn() -> u64, 300_000);
    let mut out = Vec::with_capacity(count);
    let mut seqs = vec![0_i64; devices.len()];
    let mut doc = Uuid::now_v7().to_string();
    for i in 0..count {
        let d = (i / 6) % devices.len();
        let field = CHECKIN_FIELDS[i % 6];
        if i % 6 == 0 {
            doc = Uuid::now_v7().to_string();
        }
        let (patient, device) = &devices[d];
        seqs[d] += 1;
        out.push(Row {
            id: Uuid::now_v7().to_string(),
            patient_id: patient.clone(),
            kind: "checkin".into(),
            doc_id: doc.clone(),
            field: field.into(),
            value: checkin_value(field, i as u64, wall_ms()).to_string(),
            hlc: clock.now()?.to_string(),
            device_seq: seqs[d],
            author_id: patient.clone(),
            device_id: device.clone(),
            received_at: i64::try_from(wall_ms())?,
            // Each new check-in field is its field's winner, stream-numbered, as in a push.
            seq: Some(i64::try_from(i)? + 1),
        });
    }
    Ok(out)
}

/// How the ceiling's rows are written.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    /// PostgreSQL `COPY`, one per transaction.
    Copy,
    /// SQLite `INSERT`s of this many rows per statement (1: one cached prepared statement run
    /// once per row).
    Insert { rows_per_statement: usize },
    /// SQLite multi-row `INSERT`s of fixed sizes, each prepared once (what the server does).
    CachedChunks,
}

impl Method {
    /// Every method worth trying on a backend.
    pub fn candidates(postgres: bool) -> Vec<Method> {
        if postgres {
            vec![Method::Copy]
        } else {
            let mut methods: Vec<Method> = [1, 100, 1_000]
                .into_iter()
                .map(|rows_per_statement| Method::Insert { rows_per_statement })
                .collect();
            methods.push(Method::CachedChunks);
            methods
        }
    }

    /// A label for the report.
    pub fn label(self) -> String {
        match self {
            Method::Copy => "COPY".into(),
            Method::Insert {
                rows_per_statement: 1,
            } => "INSERT, one row per statement".into(),
            Method::Insert { rows_per_statement } => {
                format!("INSERT, {rows_per_statement} rows per statement")
            }
            Method::CachedChunks => "INSERT, cached 256/64/16/4/1-row statements".into(),
        }
    }
}

/// Writes rows in COPY's text format (tab-separated, backslash escapes).
fn copy_text(rows: &[Row], out: &mut dyn std::io::Write) -> Result<(), std::io::Error> {
    fn esc(s: &str) -> std::borrow::Cow<'_, str> {
        if s.contains(['\\', '\t', '\n', '\r']) {
            s.replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
                .into()
        } else {
            s.into()
        }
    }
    for r in rows {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            esc(&r.id),
            esc(&r.patient_id),
            esc(&r.kind),
            esc(&r.doc_id),
            esc(&r.field),
            esc(&r.value),
            esc(&r.hlc),
            r.device_seq,
            esc(&r.author_id),
            esc(&r.device_id),
            r.received_at,
            r.seq.map_or_else(|| "\\N".to_string(), |n| n.to_string())
        )?;
    }
    Ok(())
}

/// What one ceiling measurement took.
pub struct Spent {
    /// Wall time.
    pub wall: Duration,
    /// CPU time of this process and the database's backends.
    pub cpu: Duration,
}

/// Inserts `count` rows, `per_tx` per transaction, into a fresh table; returns the time taken.
pub fn measure(
    url: &str,
    method: Method,
    count: usize,
    per_tx: usize,
    meter: &CpuMeter,
) -> Res<Spent> {
    let rows = rows(count, 8)?;
    if let Method::Copy = method {
        let mut conn = PgConnection::establish(url)?;
        conn.batch_execute(&create_sql(true))?;
        let cpu = meter.total();
        let started = Instant::now();
        for chunk in rows.chunks(per_tx) {
            conn.transaction(|c| {
                let copy = diesel::copy_from(load_ceiling::table).from_raw_data(
                    load_ceiling::table,
                    |out: &mut dyn std::io::Write| {
                        copy_text(chunk, out)
                            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
                    },
                );
                diesel::prelude::ExecuteCopyFromDsl::execute(copy, c)
            })?;
        }
        let spent = Spent {
            wall: started.elapsed(),
            cpu: meter.total().saturating_sub(cpu),
        };
        conn.batch_execute("DROP TABLE load_ceiling")?;
        Ok(spent)
    } else {
        let mut conn = SqliteConnection::establish(url)?;
        // The server's own pragmas.
        conn.batch_execute(api::db::SQLITE_PRAGMAS)?;
        conn.batch_execute(&create_sql(false))?;
        let per_statement = match method {
            Method::Insert { rows_per_statement } => rows_per_statement.clamp(1, 32_000 / 11),
            Method::CachedChunks => 0,
            Method::Copy => return Err("COPY is PostgreSQL's".into()),
        };
        let cpu = meter.total();
        let started = Instant::now();
        for chunk in rows.chunks(per_tx) {
            conn.immediate_transaction(|c| {
                if per_statement == 0 {
                    api::in_cached_chunks!(chunk, |part| {
                        diesel::insert_into(load_ceiling::table)
                            .values(part)
                            .execute(c)?;
                    });
                } else if per_statement == 1 {
                    for row in chunk {
                        diesel::insert_into(load_ceiling::table)
                            .values(row)
                            .execute(c)?;
                    }
                } else {
                    for part in chunk.chunks(per_statement) {
                        diesel::insert_into(load_ceiling::table)
                            .values(part)
                            .execute(c)?;
                    }
                }
                Ok::<_, diesel::result::Error>(())
            })?;
        }
        let spent = Spent {
            wall: started.elapsed(),
            cpu: meter.total().saturating_sub(cpu),
        };
        conn.batch_execute("DROP TABLE load_ceiling")?;
        Ok(spent)
    }
}
