//! `--idle-pull N,…`: what a caught-up device's pull costs a counselor who reads N patients.
//!
//! For each caseload size the counselor's care team grows to N consenting patients, each with one
//! session field written by another device of the counselor (put straight into the database: the
//! patients are synthetic and never sign in, and activating thousands of accounts would be mostly
//! password hashing). A fresh device of the counselor pulls to the head, then pulls again and
//! again with the cursor it was given, one pull at a time: nothing is new, so every one of them
//! is idle. Printed: µs per idle pull (wall time, client included) and the cursor's length.

use crate::client::{Api, Session};
use crate::stats::Latencies;
use crate::Res;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use std::time::{Duration, Instant};
use tether_test_support::TestDatabase;
use uuid::Uuid;

/// Pulls before the measured ones (connections, caches, prepared statements).
const WARM_UP: usize = 20;

/// One caseload size's figures.
pub struct IdleRun {
    /// Patients the counselor reads.
    pub caseload: usize,
    /// The cursor's length, in bytes.
    pub cursor_len: usize,
    /// Mean wall time per idle pull.
    pub mean: Duration,
    /// Their percentiles.
    pub lat: Latencies,
}

fn execute(db: &TestDatabase, sql: &str) -> Res<()> {
    if db.is_postgres() {
        PgConnection::establish(&db.url)?.batch_execute(sql)?;
    } else {
        let mut c = SqliteConnection::establish(&db.url)?;
        c.batch_execute("PRAGMA busy_timeout = 10000")?;
        c.batch_execute(sql)?;
    }
    Ok(())
}

/// Adds `n` consenting patients to `counselor`'s care team, each with one session title written
/// by `writer` (a device of the counselor) as stream number 1 of the patient's stream.
fn seed(db: &TestDatabase, counselor: &Session, writer: Uuid, n: usize, first_seq: u64) -> Res<()> {
    let now = 1_764_000_000_000u64;
    let clinic = format!(
        "(SELECT clinic_id FROM users WHERE id = '{}')",
        counselor.user_id
    );
    let node = 0x5eed_u64;
    let mut sql = String::from("BEGIN;\n");
    let patients: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    for (c, chunk) in patients.chunks(500).enumerate() {
        let mut users = Vec::new();
        let mut team = Vec::new();
        let mut consents = Vec::new();
        let mut streams = Vec::new();
        let mut ops = Vec::new();
        for (i, p) in chunk.iter().enumerate() {
            let k = first_seq + (c * 500 + i) as u64;
            users.push(format!(
                "('{p}', {clinic}, 'patient', 'p-{}@load.test', 'Synthetic Patient', NULL, {now}, NULL)",
                p.simple()
            ));
            team.push(format!("('{}', '{p}', {now})", counselor.user_id));
            consents.push(format!(
                "('{}', '{p}', 'care_team', NULL, 'treatment in the IOP', {now}, NULL, NULL)",
                Uuid::new_v4()
            ));
            streams.push(format!("('{p}', 1)"));
            ops.push(format!(
                "('{}', '{p}', 'session', '{}', 'title', '\"Group\"', '{:012x}-{:08x}-{node:016x}', {k}, '{}', '{writer}', {now}, 1)",
                Uuid::now_v7(),
                Uuid::now_v7(),
                now,
                k,
                counselor.user_id
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO users (id, clinic_id, role, email, display_name, password_hash, created_at, activated_at) VALUES {};\n\
             INSERT INTO care_team (counselor_id, patient_id, created_at) VALUES {};\n\
             INSERT INTO consents (id, patient_id, grantee, counselor_id, purpose, created_at, expires_at, revoked_at) VALUES {};\n\
             INSERT INTO patient_streams (patient_id, head) VALUES {};\n\
             INSERT INTO ops (id, patient_id, kind, doc_id, field, value, hlc, device_seq, author_id, device_id, received_at, seq) VALUES {};\n",
            users.join(","),
            team.join(","),
            consents.join(","),
            streams.join(","),
            ops.join(",")
        ));
    }
    sql.push_str("COMMIT;\n");
    execute(db, &sql)?;
    // On PostgreSQL, the statistics autovacuum would gather after such a burst: without them
    // the planner takes the grown tables for empty ones.
    if db.is_postgres() {
        execute(db, "ANALYZE")?;
    }
    Ok(())
}

/// Grows the caseload to each of `sizes` in turn and measures `reps` idle pulls at each.
pub async fn run(
    api: &Api,
    db: &TestDatabase,
    counselor: &Session,
    sizes: &[usize],
    reps: usize,
) -> Res<Vec<IdleRun>> {
    // The counselor's first device wrote the sessions; each measuring device is a new one.
    let writer = counselor.device_id;
    let mut seeded = 0usize;
    let mut out = Vec::new();
    for &caseload in sizes {
        if caseload > seeded {
            seed(db, counselor, writer, caseload - seeded, seeded as u64 + 1)?;
            seeded = caseload;
        }
        let device = api.another_device(counselor).await?;
        let mut cursor = None;
        loop {
            let (page, _) = api.pull(&device.access, cursor.as_deref(), 1_000).await?;
            cursor = Some(page.cursor);
            if !page.has_more {
                break;
            }
        }
        let cursor = cursor.unwrap_or_default();
        let mut lat = Latencies::default();
        let mut total = Duration::ZERO;
        for i in 0..WARM_UP + reps {
            let started = Instant::now();
            let (page, _) = api.pull(&device.access, Some(&cursor), 1_000).await?;
            let took = started.elapsed();
            if !page.changes.is_empty() || page.has_more {
                return Err("an idle pull returned changes".into());
            }
            if i >= WARM_UP {
                lat.push(took);
                total += took;
            }
        }
        out.push(IdleRun {
            caseload,
            cursor_len: cursor.len(),
            mean: total / u32::try_from(reps).unwrap_or(u32::MAX),
            lat,
        });
    }
    Ok(out)
}
