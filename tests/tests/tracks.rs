//! Tracks hardened (issue 18): a track is judged whole when it is defined, an enrollment writes
//! all its sessions or none, a track holds what a real program holds, and a caller who may not
//! post is refused before the body is read.

use crate::harness::*;
use crate::phone::Phone;
use crate::schedules::{create_track, enroll, sessions};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The most sessions a track may hold in a week, in a day and in all, and its most weeks
/// (`api::schedule::recurrence`).
const PER_WEEK: usize = 10;
const PER_DAY: usize = 3;
const MAX_SESSIONS: usize = 200;
const MAX_WEEKS: i64 = 26;

fn slot(days: Value, start: &str) -> Value {
    json!({"from_week": 1, "days": days, "start_time": start,
           "duration_min": 60, "kind": "group", "title": "Group"})
}

fn every_day() -> Value {
    json!(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
}

fn track(time_zone: &str, start_date: &str, weeks: i64, schedule: Value) -> Value {
    json!({
        "name": "Hardened IOP",
        "time_zone": time_zone,
        "population": "adult",
        "start_date": start_date,
        "weeks": weeks,
        "schedule": schedule,
    })
}

/// The largest schedule accepted: two sessions on every weekday and none at weekends (ten a
/// week, the most), for as many weeks as make the most sessions.
fn largest() -> Value {
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    track(
        "America/New_York",
        "2026-03-02",
        (MAX_SESSIONS / PER_WEEK) as i64,
        json!([slot(weekdays.clone(), "09:00"), slot(weekdays, "13:00")]),
    )
}

/// The patient's session ids, through the read model; no session appears twice.
async fn session_ids(app: &TestApp, reader: &Session, patient: Uuid) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in sessions(app, reader, patient).await {
        assert!(out.insert(item["id"].as_str().unwrap().to_string()));
    }
    out
}

/// Runs one statement straight on the test's database, as an operator (or an older server) would.
fn execute(app: &TestApp, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    match backend() {
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        Backend::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
    };
}

/// How many ops the log holds for a patient.
fn logged_ops(app: &TestApp, patient: Uuid) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!("SELECT COUNT(*) AS n FROM ops WHERE patient_id = '{patient}'");
    match backend() {
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql)
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n
        }
        Backend::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql)
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n
        }
    }
}

#[tokio::test]
async fn a_track_whose_sessions_could_not_all_be_stored_is_refused_when_it_is_defined() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;

    // 2000-01-01 00:00 in UTC+14 is 1999-12-31 10:00 UTC, before the op schema's earliest time.
    let body = track(
        "Pacific/Kiritimati",
        "2000-01-01",
        1,
        json!([slot(every_day(), "00:00")]),
    );
    let refused = assert_error(
        app.post("/v1/tracks", Some(&counselor.access), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2001–2098"),
        "{refused}"
    );
    for (zone, date) in [
        ("Pacific/Kiritimati", "2099-01-04"),
        ("Pacific/Pago_Pago", "1999-12-27"),
    ] {
        assert_error(
            app.post(
                "/v1/tracks",
                Some(&counselor.access),
                &track(zone, date, 1, json!([slot(every_day(), "00:00")])),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_date",
        )
        .await;
    }

    // The edges of the range: the first day at 00:00 in UTC+14, and the longest track from the
    // last day at 23:59 in UTC-11. Every session of both is written.
    let patient_b = app.patient(&counselor).await;
    for (who, body, expected) in [
        (
            &patient,
            track(
                "Pacific/Kiritimati",
                "2001-01-01",
                1,
                json!([slot(every_day(), "00:00")]),
            ),
            7,
        ),
        (
            &patient_b,
            track(
                "Pacific/Pago_Pago",
                "2098-12-31",
                MAX_WEEKS,
                json!([slot(json!(["mon", "wed", "fri"]), "23:59")]),
            ),
            78,
        ),
    ] {
        let defined = create_track(&app, &counselor, &body).await;
        assert_eq!(defined["sessions_per_patient"], expected);
        let (status, enrolled) =
            status_and_json(enroll(&app, &counselor, &defined, who.user_id).await).await;
        assert_eq!(status, StatusCode::CREATED, "{enrolled}");
        assert_eq!(enrolled["sessions_created"], expected);
        assert_eq!(
            session_ids(&app, &counselor, who.user_id).await.len(),
            expected
        );
    }
}

#[tokio::test]
async fn a_stored_track_that_cannot_be_written_whole_is_refused_at_enrollment_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;

    // A track an older server accepted: Kiritimati from 2000-01-01 at 00:00 every day (its
    // first session precedes the op schema's earliest time), and one of 52 weeks of 50 sessions
    // a day. Each is defined within today's limits and then rewritten in the database.
    let early = create_track(
        &app,
        &counselor,
        &track(
            "Pacific/Kiritimati",
            "2001-01-01",
            1,
            json!([slot(every_day(), "00:00")]),
        ),
    )
    .await;
    execute(
        &app,
        &format!(
            "UPDATE tracks SET start_date = '2000-01-01' WHERE id = '{}'",
            early["id"].as_str().unwrap()
        ),
    );
    let slots: Vec<Value> = (0..50)
        .map(|i| {
            json!({"from_week": 1, "days": every_day(), "start_time": format!("{:02}:{:02}", i / 4 + 6, (i % 4) * 15),
                   "duration_min": 15, "kind": "group", "title": "Group"})
        })
        .collect();
    let huge = create_track(&app, &counselor, &largest()).await;
    execute(
        &app,
        &format!(
            "UPDATE tracks SET weeks = 52, schedule = '{}' WHERE id = '{}'",
            serde_json::to_string(&slots).unwrap(),
            huge["id"].as_str().unwrap()
        ),
    );

    for stored in [&early, &huge] {
        let refused = assert_error(
            enroll(&app, &counselor, stored, patient.user_id).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "track_not_enrollable",
        )
        .await;
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nothing was written"),
            "{refused}"
        );
        // Still readable.
        let (status, _) = status_and_json(
            app.get(
                &format!("/v1/tracks/{}", stored["id"].as_str().unwrap()),
                Some(&counselor.access),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert!(session_ids(&app, &counselor, patient.user_id)
        .await
        .is_empty());
    assert_eq!(logged_ops(&app, patient.user_id), 0);
}

#[tokio::test]
async fn the_largest_accepted_track_enrolls_whole_while_another_patient_pushes_and_one_more_session_is_refused(
) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled_patient = app.patient(&counselor).await;
    let other = app.patient(&counselor).await;

    let biggest = create_track(&app, &counselor, &largest()).await;
    let total = MAX_SESSIONS;
    assert_eq!(biggest["sessions_per_patient"], total);

    // Another patient's phone pushes a check-in while the enrollment is written.
    let mut phone = Phone::new(other.clone());
    phone.checkin(4, &["stress"]);
    let outbox = phone.outbox.len();
    let (enrolled, pushed) = tokio::join!(
        enroll(&app, &counselor, &biggest, enrolled_patient.user_id),
        phone.push(&app)
    );
    let (status, enrolled) = status_and_json(enrolled).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    assert_eq!(enrolled["sessions_created"], total);
    assert_eq!(
        session_ids(&app, &counselor, enrolled_patient.user_id)
            .await
            .len(),
        total
    );
    assert_eq!(logged_ops(&app, enrolled_patient.user_id), 5 * total as i64);
    assert_eq!(pushed["accepted"].as_array().unwrap().len(), outbox);
    assert!(pushed["rejected"].as_array().unwrap().is_empty());
    assert_eq!(logged_ops(&app, other.user_id), outbox as i64);

    // One more of anything is refused, each with its own code.
    let mut over_week = largest();
    over_week["schedule"]
        .as_array_mut()
        .unwrap()
        .push(slot(json!(["sat"]), "10:00"));
    let mut over_day = largest();
    over_day["schedule"] = json!([
        slot(json!(["mon"]), "08:00"),
        slot(json!(["mon"]), "11:00"),
        slot(json!(["mon"]), "14:00"),
        slot(json!(["mon"]), "17:00"),
    ]);
    assert_eq!(PER_DAY, 3);
    let mut over_total = largest();
    over_total["weeks"] = json!(MAX_SESSIONS / PER_WEEK + 1);
    let mut over_weeks = largest();
    over_weeks["weeks"] = json!(MAX_WEEKS + 1);
    over_weeks["schedule"] = json!([slot(json!(["mon"]), "18:00")]);
    for (body, code) in [
        (over_week, "too_many_sessions_per_week"),
        (over_day, "too_many_sessions_per_day"),
        (over_total, "too_many_sessions"),
        (over_weeks, "invalid_weeks"),
    ] {
        assert_error(
            app.post("/v1/tracks", Some(&counselor.access), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
}

#[tokio::test]
async fn concurrent_enrollments_by_one_counselor_each_write_their_sessions_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let a = app.patient(&counselor).await;
    let b = app.patient(&counselor).await;
    let defined = create_track(
        &app,
        &counselor,
        &track(
            "America/Chicago",
            "2026-03-02",
            12,
            json!([slot(json!(["mon", "tue", "thu"]), "18:00")]),
        ),
    )
    .await;
    // The same patient twice at once, and another patient at the same moment.
    let (first, second, third) = tokio::join!(
        enroll(&app, &counselor, &defined, a.user_id),
        enroll(&app, &counselor, &defined, a.user_id),
        enroll(&app, &counselor, &defined, b.user_id),
    );
    let mut created = Vec::new();
    for response in [first, second, third] {
        let (status, body) = status_and_json(response).await;
        assert!(status.is_success(), "{status}: {body}");
        created.push(body["sessions_created"].as_i64().unwrap());
    }
    created[..2].sort();
    assert_eq!(created, vec![0, 36, 36]);
    for patient in [&a, &b] {
        assert_eq!(
            session_ids(&app, &counselor, patient.user_id).await.len(),
            36
        );
        assert_eq!(logged_ops(&app, patient.user_id), 5 * 36);
    }
}

/// A raw POST with a JSON content type and any body text.
async fn post_text(app: &TestApp, path: &str, token: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_caller_who_may_not_post_is_refused_before_the_body_is_judged() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let stranger = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let track_path = format!("/v1/tracks/{}/enrollments", Uuid::new_v4());
    let consents = format!("/v1/patients/{}/consents", patient.user_id);
    let cases: Vec<(&str, &Session, StatusCode, &str)> = vec![
        ("/v1/tracks", &patient, StatusCode::FORBIDDEN, "forbidden"),
        ("/v1/tracks", &admin, StatusCode::FORBIDDEN, "forbidden"),
        (&track_path, &patient, StatusCode::FORBIDDEN, "forbidden"),
        (&track_path, &admin, StatusCode::FORBIDDEN, "forbidden"),
        ("/v1/patients", &patient, StatusCode::FORBIDDEN, "forbidden"),
        (
            "/v1/clinicians",
            &patient,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "/v1/clinicians",
            &counselor,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (&consents, &counselor, StatusCode::FORBIDDEN, "forbidden"),
        (&consents, &stranger, StatusCode::NOT_FOUND, "not_found"),
    ];
    for (path, who, status, code) in cases {
        for body in ["{}", "{\"name\": ", "not json at all", "[1, 2"] {
            let refused = post_text(&app, path, &who.access, body).await;
            let (got, answer) = status_and_json(refused).await;
            assert_eq!(
                (got, answer["error"]["code"].as_str().unwrap()),
                (status, code),
                "POST {path} with {body:?}: {answer}"
            );
        }
    }
    // Whoever may post still has the body judged.
    for (path, who) in [
        ("/v1/tracks", &counselor),
        ("/v1/clinicians", &admin),
        (consents.as_str(), &patient),
    ] {
        assert_error(
            post_text(&app, path, &who.access, "{\"name\": ").await,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        )
        .await;
    }
}

/// A measurement, not a test (`cargo test -p tether-tests --test blackbox -- --ignored
/// --nocapture measure_`): how long the largest accepted enrollment takes, and how long another
/// patient's 3-op pushes take while it is written. Prints figures; asserts only correctness.
#[tokio::test]
#[ignore = "a measurement; run by hand"]
async fn measure_the_largest_enrollment_beside_small_pushes() {
    use std::time::{Duration, Instant};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let other = app.patient(&counselor).await;
    let biggest = create_track(&app, &counselor, &largest()).await;
    let mut phone = Phone::new(other.clone());
    let mut enrolls = Vec::new();
    let mut pushes: Vec<Duration> = Vec::new();
    for _ in 0..8 {
        let patient = app.patient(&counselor).await;
        let done = std::sync::atomic::AtomicBool::new(false);
        let enrolling = async {
            let started = Instant::now();
            let response = enroll(&app, &counselor, &biggest, patient.user_id).await;
            let took = started.elapsed();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(response.status(), StatusCode::CREATED);
            took
        };
        let pushing = async {
            let mut took = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let doc = Uuid::now_v7();
                let p = phone.session.user_id;
                for (f, v) in [
                    ("recorded_at", json!(1_780_000_000_000_i64)),
                    ("tz_offset_min", json!(-300)),
                    ("intensity", json!(3)),
                ] {
                    phone.write(p, sync_core::DocKind::Checkin, doc, f, v);
                }
                let started = Instant::now();
                let body = phone.push(&app).await;
                took.push(started.elapsed());
                assert_eq!(body["accepted"].as_array().unwrap().len(), 3);
            }
            took
        };
        let (e, p) = tokio::join!(enrolling, pushing);
        enrolls.push(e);
        pushes.extend(p);
    }
    enrolls.sort();
    pushes.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "largest enrollment ({} sessions, {} ops): median {:.1} ms, max {:.1} ms over {} runs",
        MAX_SESSIONS,
        5 * MAX_SESSIONS,
        ms(&enrolls[enrolls.len() / 2]),
        ms(enrolls.last().unwrap()),
        enrolls.len()
    );
    println!(
        "another patient's 3-op pushes meanwhile: {} pushes, median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pushes.len(),
        ms(&pushes[pushes.len() / 2]),
        ms(&pushes[pushes.len() * 99 / 100]),
        ms(pushes.last().unwrap())
    );
}
