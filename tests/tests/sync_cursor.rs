//! The pull cursor stays small whatever the caseload (read positions are kept on the server, per
//! device), and keeping them there loses nothing: not after a lost answer, not when a device
//! starts over, not when two pulls of one device race.

use crate::harness::*;
use crate::phone::Phone;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use sync_core::{DocKind, FieldState, Op};
use uuid::Uuid;

/// The most a cursor may weigh, whatever the caseload.
const SMALL: usize = 64;

/// Runs SQL on the test's database directly (to build a large caseload in a second instead of
/// activating thousands of accounts, each a deliberately slow password hash).
fn execute(app: &TestApp, sql: &str) {
    match backend() {
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(&app.db.url).unwrap();
            diesel::connection::SimpleConnection::batch_execute(
                &mut c,
                "PRAGMA busy_timeout = 10000",
            )
            .unwrap();
            diesel::connection::SimpleConnection::batch_execute(&mut c, sql).unwrap();
        }
        Backend::Postgres(_) => {
            let mut c = PgConnection::establish(&app.db.url).unwrap();
            diesel::connection::SimpleConnection::batch_execute(&mut c, sql).unwrap();
        }
    }
}

#[derive(QueryableByName)]
struct Issued {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    issued: i64,
}

/// The last epoch handed out to `device` (it moves with every write of the device's pull state).
fn issued(app: &TestApp, device: Uuid) -> i64 {
    let sql = format!("SELECT issued FROM pull_cursors WHERE device_id = '{device}'");
    let rows: Vec<Issued> = match backend() {
        Backend::Sqlite => diesel::sql_query(sql)
            .load(&mut SqliteConnection::establish(&app.db.url).unwrap())
            .unwrap(),
        Backend::Postgres(_) => diesel::sql_query(sql)
            .load(&mut PgConnection::establish(&app.db.url).unwrap())
            .unwrap(),
    };
    rows.first().map_or(0, |r| r.issued)
}

/// Enrolls `n` consenting patients onto `counselor`'s care team, straight into the database
/// (synthetic accounts that never sign in); returns their ids.
fn seed_caseload(app: &TestApp, counselor: &Session, n: usize) -> Vec<Uuid> {
    let now = 1_764_000_000_000i64;
    let patients: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let clinic = format!(
        "(SELECT clinic_id FROM users WHERE id = '{}')",
        counselor.user_id
    );
    let mut sql = String::new();
    for chunk in patients.chunks(500) {
        let users: Vec<String> = chunk
            .iter()
            .map(|p| {
                format!(
                    "('{p}', {clinic}, 'patient', 'p-{}@example.test', 'Synthetic Patient', NULL, {now}, NULL)",
                    p.simple()
                )
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO users (id, clinic_id, role, email, display_name, password_hash, created_at, activated_at) VALUES {};\n",
            users.join(",")
        ));
        let team: Vec<String> = chunk
            .iter()
            .map(|p| format!("('{}', '{p}', {now})", counselor.user_id))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO care_team (counselor_id, patient_id, created_at) VALUES {};\n",
            team.join(",")
        ));
        let consents: Vec<String> = chunk
            .iter()
            .map(|p| {
                format!(
                    "('{}', '{p}', 'care_team', NULL, 'treatment in the IOP', {now}, NULL, NULL)",
                    Uuid::new_v4()
                )
            })
            .collect();
        sql.push_str(&format!(
            "INSERT INTO consents (id, patient_id, grantee, counselor_id, purpose, created_at, expires_at, revoked_at) VALUES {};\n",
            consents.join(",")
        ));
    }
    execute(app, &sql);
    patients
}

/// One pull; returns the status and body.
async fn pull(
    app: &TestApp,
    token: &str,
    cursor: Option<&str>,
    limit: usize,
) -> (StatusCode, Value) {
    let mut url = format!("/v1/sync/pull?limit={limit}");
    if let Some(c) = cursor {
        url.push_str(&format!("&cursor={c}"));
    }
    status_and_json(app.get(&url, Some(token)).await).await
}

fn changes(body: &Value) -> Vec<FieldState> {
    serde_json::from_value(body["changes"].clone()).unwrap()
}

/// Pulls from `cursor` until `has_more` is false, checking every cursor's size; returns the op
/// ids received and the last cursor.
async fn drain(
    app: &TestApp,
    token: &str,
    mut cursor: Option<String>,
    limit: usize,
) -> (Vec<Uuid>, String) {
    let mut ops = Vec::new();
    loop {
        let (status, body) = pull(app, token, cursor.as_deref(), limit).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let next = body["cursor"].as_str().unwrap().to_string();
        assert!(next.len() < SMALL, "a cursor of {} bytes", next.len());
        ops.extend(changes(&body).into_iter().map(|c| c.op));
        cursor = Some(next);
        if !body["has_more"].as_bool().unwrap() {
            return (ops, cursor.unwrap());
        }
    }
}

#[tokio::test]
async fn a_counselor_who_reads_two_thousand_patients_pulls_every_change_with_a_small_cursor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patients = seed_caseload(&app, &counselor, 2_000);
    // The counselor's desk computer schedules a session for every patient; their laptop pulls.
    let mut desk = Phone::new(app.login(&counselor.email, USER_PASSWORD).await);
    let laptop = app.login(&counselor.email, USER_PASSWORD).await;
    let ops: Vec<Op> = patients
        .iter()
        .map(|p| {
            desk.make_op(
                *p,
                DocKind::Session,
                Uuid::now_v7(),
                "title",
                json!("Relapse prevention group"),
            )
        })
        .collect();
    for batch in ops.chunks(1_000) {
        let body = desk.push_ops(&app, batch).await;
        assert_eq!(body["rejected"], json!([]), "{body}");
    }

    let (received, cursor) = drain(&app, &laptop.access, None, 500).await;
    let expected: HashSet<Uuid> = ops.iter().map(|op| op.id).collect();
    assert_eq!(received.len(), expected.len());
    assert_eq!(received.into_iter().collect::<HashSet<_>>(), expected);

    // Idle: nothing new, the same cursor, and the device's pull state is not written.
    let before = issued(&app, laptop.device_id);
    for _ in 0..3 {
        let (status, body) = pull(&app, &laptop.access, Some(&cursor), 500).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["cursor"], cursor.as_str());
        assert_eq!(body["changes"], json!([]));
        assert_eq!(body["has_more"], false);
    }
    assert_eq!(issued(&app, laptop.device_id), before);

    // One more change reaches the laptop, and only that one.
    let one = desk.make_op(
        patients[1_234],
        DocKind::Session,
        Uuid::now_v7(),
        "title",
        json!("Family session"),
    );
    desk.push_ops(&app, std::slice::from_ref(&one)).await;
    let (received, _) = drain(&app, &laptop.access, Some(cursor), 500).await;
    assert_eq!(received, vec![one.id]);
}

/// A clinic with one patient who logs check-ins on a phone and reads them on a tablet.
async fn patient_with_two_devices() -> (TestApp, Phone, Session) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let phone = app.patient(&counselor).await;
    let tablet = app.login(&phone.email, USER_PASSWORD).await;
    (app, Phone::new(phone), tablet)
}

#[tokio::test]
async fn a_retry_with_the_old_cursor_after_a_lost_answer_loses_nothing() {
    let (app, mut phone, tablet) = patient_with_two_devices().await;
    for _ in 0..4 {
        phone.checkin(6, &["stress"]);
    }
    phone.push(&app).await;
    let mut expected: HashSet<Uuid> = phone.written.iter().map(|op| op.id).collect();

    let (_, first) = pull(&app, &tablet.access, None, 7).await;
    let mut received: HashSet<Uuid> = changes(&first).into_iter().map(|c| c.op).collect();
    let applied = first["cursor"].as_str().unwrap().to_string();
    // The answer to the next pull is lost on the way, twice; meanwhile the phone pushes again.
    let (status, lost) = pull(&app, &tablet.access, Some(&applied), 7).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    assert_eq!(changes(&lost).len(), 7);
    phone.checkin(8, &["cues"]);
    phone.push(&app).await;
    expected.extend(phone.written.iter().map(|op| op.id));
    let (status, lost_again) = pull(&app, &tablet.access, Some(&applied), 7).await;
    assert_eq!(status, StatusCode::OK, "{lost_again}");

    // The tablet retries with the cursor it last stored: everything still arrives.
    let (rest, _) = drain(&app, &tablet.access, Some(applied), 7).await;
    received.extend(rest);
    assert_eq!(received, expected);
    // A lost answer's cursor, were it to turn up, is refused (the tablet would start over).
    let (status, body) = pull(
        &app,
        &tablet.access,
        Some(lost["cursor"].as_str().unwrap()),
        7,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_cursor");
}

#[tokio::test]
async fn a_pull_without_a_cursor_returns_everything_again_and_retires_the_old_cursor() {
    let (app, mut phone, tablet) = patient_with_two_devices().await;
    for _ in 0..3 {
        phone.checkin(4, &["boredom"]);
    }
    phone.push(&app).await;
    let expected: HashSet<Uuid> = phone.written.iter().map(|op| op.id).collect();
    let (first, old) = drain(&app, &tablet.access, None, 4).await;
    assert_eq!(first.into_iter().collect::<HashSet<_>>(), expected);

    let (again, _) = drain(&app, &tablet.access, None, 4).await;
    assert_eq!(again.into_iter().collect::<HashSet<_>>(), expected);
    let (status, body) = pull(&app, &tablet.access, Some(&old), 4).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_cursor");
    // A cursor is the device's own: another device of the same patient cannot use it.
    let other = app.login(&phone.session.email, USER_PASSWORD).await;
    let (status, body) = pull(&app, &other.access, Some(&old), 4).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pulls_of_one_device_at_once_never_make_it_skip_a_change() {
    let app = Arc::new(spawn_app_with(&[("TETHER_DB_POOL_SIZE", "8")]).await);
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let first = app.patient(&counselor).await;
    let patient = first.user_id;
    let tablet = app.login(&first.email, USER_PASSWORD).await;
    let mut pushers = vec![Phone::new(first.clone())];
    pushers.push(Phone::new(app.login(&first.email, USER_PASSWORD).await));

    // Every op writes its own document, so every acknowledged op shows up as a field state.
    let mut work = Vec::new();
    for phone in &mut pushers {
        let batches: Vec<Vec<Op>> = (0..10)
            .map(|_| {
                (0..6)
                    .map(|i| {
                        phone.make_op(
                            patient,
                            DocKind::Checkin,
                            Uuid::now_v7(),
                            "intensity",
                            json!(i),
                        )
                    })
                    .collect()
            })
            .collect();
        work.push((phone.session.access.clone(), batches));
    }
    let done = Arc::new(AtomicBool::new(false));
    let puller = {
        let (app, done, token) = (app.clone(), done.clone(), tablet.access.clone());
        tokio::spawn(async move {
            // What the tablet holds since it last started over, and the cursor it stored.
            let mut held: HashMap<Uuid, Uuid> = HashMap::new();
            let mut cursor: Option<String> = None;
            let mut turn = 0usize;
            let mut restarts = 0usize;
            loop {
                let finished = done.load(Ordering::SeqCst);
                loop {
                    // Every fourth pull, two pulls of the tablet at once; it applies only one of
                    // the two answers (in turn the first and the second) and stores that
                    // answer's cursor.
                    turn += 1;
                    let (status, body) = if turn % 4 == 0 {
                        let (a, b) = tokio::join!(
                            pull(&app, &token, cursor.as_deref(), 20),
                            pull(&app, &token, cursor.as_deref(), 20)
                        );
                        if turn % 8 == 0 {
                            a
                        } else {
                            b
                        }
                    } else {
                        pull(&app, &token, cursor.as_deref(), 20).await
                    };
                    if status == StatusCode::UNPROCESSABLE_ENTITY
                        || status == StatusCode::SERVICE_UNAVAILABLE
                    {
                        assert!(
                            body["error"]["code"] == "invalid_cursor"
                                || body["error"]["code"] == "unavailable",
                            "{body}"
                        );
                        if body["error"]["code"] == "invalid_cursor" {
                            // Start over, holding nothing it cannot get again.
                            held.clear();
                            cursor = None;
                            restarts += 1;
                        }
                        continue;
                    }
                    assert_eq!(status, StatusCode::OK, "{body}");
                    for c in changes(&body) {
                        held.insert(c.doc, c.op);
                    }
                    cursor = Some(body["cursor"].as_str().unwrap().to_string());
                    if !body["has_more"].as_bool().unwrap() {
                        break;
                    }
                }
                if finished {
                    return (held, restarts);
                }
            }
        })
    };
    let mut pusher_tasks = Vec::new();
    for (token, batches) in work {
        let app = app.clone();
        pusher_tasks.push(tokio::spawn(async move {
            let mut acked = HashSet::new();
            for batch in batches {
                let (status, body) = status_and_json(
                    app.post("/v1/sync/push", Some(&token), &json!({ "ops": batch }))
                        .await,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                acked.extend(batch.iter().map(|op| op.id));
            }
            acked
        }));
    }
    let mut acknowledged: HashSet<Uuid> = HashSet::new();
    for task in pusher_tasks {
        acknowledged.extend(task.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let (held, restarts) = puller.await.unwrap();
    let received: HashSet<Uuid> = held.values().copied().collect();
    let missing = acknowledged.difference(&received).count();
    assert_eq!(
        missing, 0,
        "{missing} acknowledged ops never reached the tablet ({restarts} restarts)"
    );
}
