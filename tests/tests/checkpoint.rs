//! SQLite's WAL checkpoints beside an outside reader (issue 18): a backup or an open `sqlite3`
//! shell holding a read transaction must not stall the server's writes. SQLite only: on
//! PostgreSQL these tests return at once.

use crate::harness::*;
use crate::phone::Phone;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use serde_json::json;
use std::time::{Duration, Instant};
use sync_core::DocKind;
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

fn logged_ops(conn: &mut SqliteConnection) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS n FROM ops")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// Frames in the log now (a passive checkpoint, which never waits and changes nothing anyone
/// can see).
fn log_frames(conn: &mut SqliteConnection) -> i32 {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
        .get_result::<Checkpoint>(conn)
        .unwrap()
        .log
}

/// `batches` pushes of `per_batch` check-in ops from each of `phones`, all at once; returns the
/// slowest push. Every push must answer 200 with every op accepted.
async fn push_from(
    app: &TestApp,
    phones: &mut [Phone],
    batches: usize,
    per_batch: usize,
) -> Duration {
    let tasks = phones.iter_mut().map(|phone| async move {
        let mut slowest = Duration::ZERO;
        for _ in 0..batches {
            let patient = phone.session.user_id;
            while phone.outbox.len() < per_batch {
                let doc = Uuid::now_v7();
                phone.write(
                    patient,
                    DocKind::Checkin,
                    doc,
                    "recorded_at",
                    json!(1_780_000_000_000_i64),
                );
                phone.write(patient, DocKind::Checkin, doc, "tz_offset_min", json!(-300));
                phone.write(patient, DocKind::Checkin, doc, "intensity", json!(5));
                phone.write(
                    patient,
                    DocKind::Checkin,
                    doc,
                    "triggers/stress",
                    json!(true),
                );
            }
            let sent = phone.outbox.len();
            let started = Instant::now();
            let body = phone.push(app).await;
            slowest = slowest.max(started.elapsed());
            assert_eq!(body["accepted"].as_array().unwrap().len(), sent, "{body}");
            assert!(phone.outbox.is_empty());
        }
        slowest
    });
    let tasks: Vec<_> = tasks.collect();
    join_all(tasks).await.into_iter().max().unwrap_or_default()
}

/// Joins futures without a dependency on the `futures` crate.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

async fn phones(app: &TestApp, n: usize) -> Vec<Phone> {
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Phone::new(app.patient(&counselor).await));
    }
    out
}

#[tokio::test]
async fn an_outside_reader_holding_a_read_transaction_does_not_stall_or_fail_pushes() {
    if backend() != Backend::Sqlite {
        return;
    }
    // The log is started over past 1 MiB instead of 64, so a few thousand ops pass it.
    let app = spawn_app_with(&[("TETHER_SQLITE_WAL_RESTART_MIB", "1")]).await;
    let mut phones = phones(&app, 6).await;

    // A backup, or someone's sqlite3 shell: a read transaction that stays open.
    let mut reader = SqliteConnection::establish(&app.db.url).unwrap();
    reader.batch_execute("BEGIN").unwrap();
    let seen = logged_ops(&mut reader);

    // Pushes that write several MiB of log while the reader stays: every one answers 200 with
    // every op stored (the harness's pool gives up on a connection after 5 s with a 503).
    let (batches, per_batch) = (8, 200);
    push_from(&app, &mut phones, batches, per_batch).await;
    let mut other = SqliteConnection::establish(&app.db.url).unwrap();
    let written = (phones.len() * batches * per_batch) as i64;
    assert_eq!(logged_ops(&mut other) - seen, written);
    assert!(
        log_frames(&mut other) > 256,
        "the pushes should have grown the log past the restart size"
    );
    // The reader still sees its snapshot.
    assert_eq!(logged_ops(&mut reader), seen);
    reader.batch_execute("COMMIT").unwrap();

    // Once the reader has gone, the log starts over (the next write begins it again).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        push_from(&app, &mut phones[..1], 1, 4).await;
        if log_frames(&mut other) < 256 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the log did not start over after the reader left"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A measurement, not a test (`cargo test -p tether-tests --test blackbox -- --ignored
/// --nocapture measure_`): push throughput and the slowest push with and without an outside
/// reader holding a read transaction, the log started over past 1 MiB.
#[tokio::test]
#[ignore = "a measurement; run by hand"]
async fn measure_pushes_beside_an_outside_reader() {
    if backend() != Backend::Sqlite {
        return;
    }
    let app = spawn_app_with(&[("TETHER_SQLITE_WAL_RESTART_MIB", "1")]).await;
    let mut phones = phones(&app, 4).await;
    let (batches, per_batch) = (25, 100);
    let ops = (phones.len() * batches * per_batch) as f64;
    for with_reader in [false, true, false] {
        let mut reader = SqliteConnection::establish(&app.db.url).unwrap();
        if with_reader {
            reader.batch_execute("BEGIN").unwrap();
            logged_ops(&mut reader);
        }
        let started = Instant::now();
        let slowest = push_from(&app, &mut phones, batches, per_batch).await;
        let took = started.elapsed();
        if with_reader {
            reader.batch_execute("COMMIT").unwrap();
        }
        println!(
            "reader {}: {} ops in {:.2} s = {:.0} ops/s, slowest push {:.0} ms",
            if with_reader { "held" } else { "none" },
            ops,
            took.as_secs_f64(),
            ops / took.as_secs_f64(),
            slowest.as_secs_f64() * 1000.0
        );
    }
}
