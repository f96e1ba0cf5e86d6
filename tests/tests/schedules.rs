//! Schedules: program tracks, the sessions enrolling a patient writes, and the IOP hours ledger.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use sync_core::{DocKey, DocKind};
use uuid::Uuid;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn weekdays() -> Value {
    json!(["mon", "tue", "wed", "thu", "fri"])
}

/// A New York evening track starting Monday 2026-03-02: the US DST change is Sunday 2026-03-08.
fn evening_track(weeks: i64, schedule: Value) -> Value {
    json!({
        "name": "Evening IOP",
        "time_zone": "America/New_York",
        "population": "adult",
        "start_date": "2026-03-02",
        "weeks": weeks,
        "schedule": schedule,
    })
}

fn slot(from_week: i64, days: Value, minutes: i64) -> Value {
    json!({"from_week": from_week, "days": days, "start_time": "18:00",
           "duration_min": minutes, "kind": "group", "title": "Evening group"})
}

pub(crate) async fn create_track(app: &TestApp, counselor: &Session, body: &Value) -> Value {
    let (status, track) =
        status_and_json(app.post("/v1/tracks", Some(&counselor.access), body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{track}");
    track
}

/// Asks for a patient's enrollment in a track, as a counselor's screen would.
pub(crate) async fn enroll(
    app: &TestApp,
    counselor: &Session,
    track: &Value,
    patient: Uuid,
) -> reqwest::Response {
    app.post(
        &format!("/v1/tracks/{}/enrollments", track["id"].as_str().unwrap()),
        Some(&counselor.access),
        &json!({ "patient_id": patient }),
    )
    .await
}

async fn enroll_in(
    app: &TestApp,
    counselor: &Session,
    track: &Value,
    patient: Uuid,
) -> (StatusCode, Value) {
    status_and_json(enroll(app, counselor, track, patient).await).await
}

/// Every session of the patient, through the read model, following pages.
pub(crate) async fn sessions(app: &TestApp, reader: &Session, patient: Uuid) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/v1/patients/{patient}/sessions?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = status_and_json(app.get(&url, Some(&reader.access)).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn session_docs(phone: &Phone) -> Vec<DocKey> {
    phone
        .replica
        .doc_keys()
        .into_iter()
        .filter(|k| k.kind == DocKind::Session)
        .collect()
}

async fn ledger(app: &TestApp, reader: &Session, patient: Uuid, query: &str) -> Value {
    let (status, body) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/iop-hours{query}"),
            Some(&reader.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_evening_group_stays_at_six_pm_local_across_the_us_dst_change() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let track = create_track(
        &app,
        &counselor,
        &evening_track(2, json!([slot(1, weekdays(), 180)])),
    )
    .await;
    assert_eq!(track["end_date"], "2026-03-15");
    assert_eq!(track["sessions_per_patient"], 10);
    let (status, enrolled) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    assert_eq!(enrolled["sessions_created"], 10);

    let stored = sessions(&app, &counselor, patient.user_id).await;
    assert_eq!(stored.len(), 10);
    let mut starts: Vec<i64> = stored
        .iter()
        .map(|s| s["starts_at"].as_i64().unwrap())
        .collect();
    starts.sort();
    // 2026-03-08 07:00 UTC is 02:00 EST, when New York springs forward.
    let change = 1_772_953_200_000_i64;
    for start in &starts {
        let utc_hour = start.rem_euclid(DAY_MS) / HOUR_MS;
        if *start < change {
            assert_eq!(utc_hour, 23, "18:00 EST is 23:00 UTC");
        } else {
            assert_eq!(utc_hour, 22, "18:00 EDT is 22:00 UTC");
        }
    }
    assert_eq!(starts.iter().filter(|s| **s < change).count(), 5);
    for s in &stored {
        assert_eq!(s["kind"], "group");
        assert_eq!(s["title"], "Evening group");
        assert_eq!(s["duration_min"], 180);
        assert_eq!(s["status"], "scheduled");
    }
    // The response says the same in local terms.
    for s in enrolled["sessions"].as_array().unwrap() {
        assert_eq!(s["local_start_time"], "18:00");
    }
    let ids: BTreeSet<&str> = enrolled["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let stored_ids: BTreeSet<&str> = stored.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, stored_ids);

    let (status, fetched) = status_and_json(
        app.get(
            &format!("/v1/tracks/{}", track["id"].as_str().unwrap()),
            Some(&counselor.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, track);
}

#[tokio::test]
async fn a_track_steps_down_from_five_to_three_days_a_week() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let schedule = json!([
        slot(1, weekdays(), 180),
        slot(3, json!(["mon", "wed", "fri"]), 180)
    ]);
    let track = create_track(&app, &counselor, &evening_track(4, schedule)).await;
    let (status, enrolled) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let per_week: Vec<usize> = (1..=4)
        .map(|w| {
            enrolled["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["week"] == w)
                .count()
        })
        .collect();
    assert_eq!(per_week, vec![5, 5, 3, 3]);
    let days_of_week_3: Vec<&str> = enrolled["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["week"] == 3)
        .map(|s| s["local_date"].as_str().unwrap())
        .collect();
    assert_eq!(
        days_of_week_3,
        vec!["2026-03-16", "2026-03-18", "2026-03-20"]
    );
    assert_eq!(sessions(&app, &patient, patient.user_id).await.len(), 16);
}

#[tokio::test]
async fn enrolling_a_patient_twice_writes_no_duplicate_sessions() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let track = create_track(
        &app,
        &counselor,
        &evening_track(2, json!([slot(1, weekdays(), 180)])),
    )
    .await;
    let (first_status, first) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    let (second_status, second) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    assert_eq!(first_status, StatusCode::CREATED);
    assert_eq!(second_status, StatusCode::OK, "{second}");
    assert_eq!(second["sessions_created"], 0);
    assert_eq!(second["sessions_existing"], 10);
    assert_eq!(
        first["sessions"], second["sessions"],
        "the same deterministic ids"
    );
    assert_eq!(sessions(&app, &counselor, patient.user_id).await.len(), 10);

    let mut phone = Phone::new(patient.clone());
    phone.pull_all(&app, 100).await;
    assert_eq!(session_docs(&phone).len(), 10);

    // Another patient on the same track gets their own sessions.
    let other = app.patient(&counselor).await;
    let (_, theirs) = enroll_in(&app, &counselor, &track, other.user_id).await;
    assert_eq!(theirs["sessions_created"], 10);
    assert_ne!(theirs["sessions"][0]["id"], first["sessions"][0]["id"]);
    assert_eq!(sessions(&app, &counselor, patient.user_id).await.len(), 10);
}

#[tokio::test]
async fn the_patients_phone_receives_the_sessions_and_can_rsvp() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let track = create_track(
        &app,
        &counselor,
        &evening_track(1, json!([slot(1, weekdays(), 180)])),
    )
    .await;
    let (_, enrolled) = enroll_in(&app, &counselor, &track, patient.user_id).await;

    let mut phone = Phone::new(patient.clone());
    phone.pull_all(&app, 7).await;
    let docs = session_docs(&phone);
    assert_eq!(docs.len(), 5);
    let first: Uuid = enrolled["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let key = *docs.iter().find(|k| k.doc == first).unwrap();
    assert_eq!(
        phone.replica.get(&key, "starts_at"),
        Some(&enrolled["sessions"][0]["starts_at"])
    );
    assert_eq!(phone.replica.get(&key, "status"), Some(&json!("scheduled")));

    phone.write(
        patient.user_id,
        DocKind::Session,
        first,
        "rsvp",
        json!("yes"),
    );
    let pushed = phone.push(&app).await;
    assert_eq!(pushed["accepted"].as_array().unwrap().len(), 1, "{pushed}");
    let stored = sessions(&app, &counselor, patient.user_id).await;
    let answered = stored
        .iter()
        .find(|s| s["id"] == first.to_string())
        .unwrap();
    assert_eq!(answered["rsvp"], "yes");
    // The patient may not move the session.
    let moved = phone.make_op(
        patient.user_id,
        DocKind::Session,
        first,
        "starts_at",
        json!(1_800_000_000_000_i64),
    );
    let refused = phone.push_ops(&app, &[moved]).await;
    assert_eq!(
        refused["rejected"][0]["code"], "forbidden_field",
        "{refused}"
    );
}

#[tokio::test]
async fn a_session_rescheduled_by_the_counselor_reaches_the_phone_and_survives_reenrollment() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let track = create_track(
        &app,
        &counselor,
        &evening_track(1, json!([slot(1, weekdays(), 180)])),
    )
    .await;
    let (_, enrolled) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    let mut phone = Phone::new(patient.clone());
    phone.pull_all(&app, 100).await;

    let doc: Uuid = enrolled["sessions"][2]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let moved = enrolled["sessions"][2]["starts_at"].as_i64().unwrap() + HOUR_MS;
    let mut desk = Phone::new(counselor.clone());
    desk.write(
        patient.user_id,
        DocKind::Session,
        doc,
        "starts_at",
        json!(moved),
    );
    let pushed = desk.push(&app).await;
    assert_eq!(pushed["accepted"].as_array().unwrap().len(), 1, "{pushed}");

    phone.pull_all(&app, 100).await;
    let key = DocKey {
        patient: patient.user_id,
        kind: DocKind::Session,
        doc,
    };
    assert_eq!(phone.replica.get(&key, "starts_at"), Some(&json!(moved)));

    // Enrolling again does not move it back.
    let (status, again) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["sessions_created"], 0);
    phone.pull_all(&app, 100).await;
    assert_eq!(phone.replica.get(&key, "starts_at"), Some(&json!(moved)));
    assert_eq!(session_docs(&phone).len(), 5);
}

#[tokio::test]
async fn the_iop_hours_ledger_reports_exact_weekly_hours_against_the_nine_hour_line() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    // Week 1: five 3-hour groups; week 2 steps down to two.
    let schedule = json!([
        slot(1, weekdays(), 180),
        slot(2, json!(["mon", "wed"]), 180)
    ]);
    let track = create_track(&app, &counselor, &evening_track(2, schedule)).await;
    let (_, enrolled) = enroll_in(&app, &counselor, &track, patient.user_id).await;
    let all = enrolled["sessions"].as_array().unwrap();
    let id = |i: usize| -> Uuid { all[i]["id"].as_str().unwrap().parse().unwrap() };

    // Week 1: attended, late, left early, absent, excused. Week 2: Monday cancelled.
    let mut desk = Phone::new(counselor.clone());
    for (i, mark) in ["attended", "late", "left_early", "absent", "excused"]
        .iter()
        .enumerate()
    {
        desk.write(
            patient.user_id,
            DocKind::Session,
            id(i),
            "attendance",
            json!(mark),
        );
    }
    desk.write(
        patient.user_id,
        DocKind::Session,
        id(5),
        "status",
        json!("cancelled"),
    );
    desk.write(
        patient.user_id,
        DocKind::Session,
        id(6),
        "attendance",
        json!("attended"),
    );
    let pushed = desk.push(&app).await;
    assert_eq!(pushed["accepted"].as_array().unwrap().len(), 7, "{pushed}");

    let expected = [
        // (week_start, scheduled minutes, attended minutes)
        ("2026-03-02", 5 * 180, 3 * 180),
        ("2026-03-09", 180, 180),
    ];
    for reader in [&counselor, &patient] {
        let body = ledger(&app, reader, patient.user_id, "").await;
        assert_eq!(body["population"], "adult");
        assert_eq!(body["minimum_hours_per_week"], 9.0);
        assert_eq!(body["time_zone"], "America/New_York");
        assert_eq!(body["track_id"], track["id"]);
        let weeks = body["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), expected.len(), "{body}");
        for (week, (start, scheduled, attended)) in weeks.iter().zip(expected) {
            assert_eq!(week["week_start"], start);
            assert_eq!(week["scheduled_minutes"], scheduled);
            assert_eq!(week["attended_minutes"], attended);
            assert_eq!(week["scheduled_hours"], scheduled as f64 / 60.0);
            assert_eq!(week["attended_hours"], attended as f64 / 60.0);
            assert_eq!(week["meets_minimum_scheduled"], scheduled >= 540);
            assert_eq!(week["meets_minimum_attended"], attended >= 540);
        }
    }
    // Week 1 attended exactly 9 hours: on the line counts as meeting it.
    let body = ledger(
        &app,
        &counselor,
        patient.user_id,
        "?from=2026-03-04&to=2026-03-04",
    )
    .await;
    assert_eq!(body["weeks"].as_array().unwrap().len(), 1);
    assert_eq!(body["weeks"][0]["meets_minimum_attended"], true);

    // The counselor's reads are in the patient's access log.
    let (_, log) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/access-log", patient.user_id),
            Some(&patient.access),
        )
        .await,
    )
    .await;
    let reads = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "read_iop_hours")
        .count();
    assert_eq!(reads, 2, "{log}");

    assert_error(
        app.get(
            &format!(
                "/v1/patients/{}/iop-hours?from=2026-03-10&to=2026-03-01",
                patient.user_id
            ),
            Some(&counselor.access),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn an_adolescent_track_is_measured_against_six_hours() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let mut body = evening_track(1, json!([slot(1, json!(["tue", "thu"]), 180)]));
    body["population"] = json!("adolescent");
    let track = create_track(&app, &counselor, &body).await;
    enroll_in(&app, &counselor, &track, patient.user_id).await;
    let body = ledger(&app, &patient, patient.user_id, "").await;
    assert_eq!(body["minimum_hours_per_week"], 6.0);
    assert_eq!(body["weeks"][0]["scheduled_minutes"], 360);
    assert_eq!(body["weeks"][0]["meets_minimum_scheduled"], true);
    assert_eq!(body["weeks"][0]["meets_minimum_attended"], false);
}

#[tokio::test]
async fn only_a_counselor_who_may_act_for_the_patient_can_enroll_them_or_read_their_hours() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let stranger = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let unconsented = app.patient_without_consent(&counselor).await;
    let body = evening_track(1, json!([slot(1, weekdays(), 180)]));

    assert_error(
        app.post("/v1/tracks", Some(&patient.access), &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post("/v1/tracks", None, &body).await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
    let track = create_track(&app, &counselor, &body).await;

    let (status, refused) = enroll_in(&app, &stranger, &track, patient.user_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, refused) = enroll_in(&app, &counselor, &track, unconsented.user_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, refused) = enroll_in(&app, &counselor, &track, Uuid::new_v4()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    assert_eq!(
        sessions(&app, &unconsented, unconsented.user_id)
            .await
            .len(),
        0
    );
    assert_eq!(sessions(&app, &patient, patient.user_id).await.len(), 0);

    let (status, _) = status_and_json(
        app.post(
            &format!("/v1/tracks/{}/enrollments", Uuid::new_v4()),
            Some(&counselor.access),
            &json!({ "patient_id": patient.user_id }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for reader in [&stranger, &unconsented] {
        assert_error(
            app.get(
                &format!("/v1/patients/{}/iop-hours", patient.user_id),
                Some(&reader.access),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_error(
        app.get(
            &format!("/v1/tracks/{}", track["id"].as_str().unwrap()),
            Some(&patient.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn an_invalid_track_is_refused_with_a_code_that_names_the_problem() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let good = evening_track(2, json!([slot(1, weekdays(), 180)]));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("time_zone", json!("Mars/Olympus_Mons"), "unknown_time_zone"),
        ("start_date", json!("2026-02-30"), "invalid_date"),
        ("weeks", json!(53), "invalid_weeks"),
        ("population", json!("senior"), "invalid_population"),
        ("schedule", json!([]), "invalid_schedule"),
        (
            "schedule",
            json!([slot(1, json!(["someday"]), 180)]),
            "invalid_days",
        ),
        (
            "schedule",
            json!([slot(1, weekdays(), 721)]),
            "invalid_duration",
        ),
        (
            "schedule",
            json!([{"from_week": 1, "days": ["mon"], "start_time": "25:00", "duration_min": 60, "kind": "group"}]),
            "invalid_time",
        ),
        (
            "schedule",
            json!([{"from_week": 1, "days": ["mon"], "start_time": "18:00", "duration_min": 60, "kind": "yoga"}]),
            "unknown_session_kind",
        ),
    ];
    for (field, value, code) in cases {
        let mut body = good.clone();
        body[field] = value;
        assert_error(
            app.post("/v1/tracks", Some(&counselor.access), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
}
