//! Every rejection code, each next to a good op that still lands: one bad op never sinks a batch.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::DocKind;
use uuid::Uuid;

async fn setup() -> (TestApp, Phone, Phone, Phone) {
    setup_with(&[]).await
}

async fn setup_with(env: &[(&str, &str)]) -> (TestApp, Phone, Phone, Phone) {
    let app = spawn_app_with(env).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let stranger = app.patient(&counselor).await;
    (
        app,
        Phone::new(counselor),
        Phone::new(patient),
        Phone::new(stranger),
    )
}

/// Pushes `[good, bad]` and checks that the bad op is rejected with `code` while the good one is
/// accepted.
async fn rejected_beside_a_good_op(app: &TestApp, phone: &mut Phone, bad: Value, code: &str) {
    let patient = phone.session.user_id;
    let good = phone.make_op(
        patient,
        DocKind::Checkin,
        Uuid::now_v7(),
        "intensity",
        json!(4),
    );
    let (status, body) = status_and_json(
        app.post(
            "/v1/sync/push",
            Some(&phone.session.access),
            &json!({ "ops": [good, bad] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], json!([good.id.to_string()]), "{body}");
    let rejected = &body["rejected"][0];
    assert_eq!(rejected["index"], 1, "{body}");
    assert_eq!(rejected["code"], code, "{body}");
    assert!(rejected["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn as_json(op: &sync_core::Op) -> Value {
    serde_json::to_value(op).unwrap()
}

#[tokio::test]
async fn schema_violations_are_rejected_with_their_own_codes() {
    let (app, _, mut phone, _) = setup().await;
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("intensity", json!(11), "out_of_range"),
        ("intensity", json!("high"), "wrong_type"),
        ("note", json!("x".repeat(2_001)), "too_long"),
        ("substance", json!("unobtainium"), "unknown_enum_value"),
        ("triggers/not-a-trigger", json!(true), "invalid_set_element"),
        ("favourite_colour", json!("blue"), "unknown_field"),
    ];
    for (field, value, code) in cases {
        let op = phone.make_op(patient, DocKind::Checkin, doc, field, value);
        rejected_beside_a_good_op(&app, &mut phone, as_json(&op), code).await;
    }
    let session = Uuid::now_v7();
    let mut op = phone.make_op(patient, DocKind::Session, session, "rsvp", json!("yes"));
    op.kind = DocKind::Session;
    op.field = "telehealth_url".into();
    op.value = json!("http://insecure.example/room");
    // The URL check runs before the policy check (a patient may not write it either way).
    let body = as_json(&op);
    rejected_beside_a_good_op(&app, &mut phone, body, "invalid_url").await;
}

#[tokio::test]
async fn malformed_ops_are_rejected_without_sinking_the_batch() {
    let (app, _, mut phone, _) = setup().await;
    let patient = phone.session.user_id;
    let mut op =
        as_json(&phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(3)));
    op["kind"] = json!("diary");
    rejected_beside_a_good_op(&app, &mut phone, op, "unknown_kind").await;
    rejected_beside_a_good_op(&app, &mut phone, json!({ "id": "nope" }), "malformed_op").await;
    rejected_beside_a_good_op(&app, &mut phone, json!(42), "malformed_op").await;

    let mut op = phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(3));
    op.id = Uuid::new_v4();
    rejected_beside_a_good_op(&app, &mut phone, as_json(&op), "invalid_op_id").await;
    let mut op = phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(3));
    op.device_seq = 0;
    rejected_beside_a_good_op(&app, &mut phone, as_json(&op), "invalid_device_seq").await;
}

#[tokio::test]
async fn a_patient_may_not_write_a_sessions_time_or_attendance() {
    let (app, _, mut phone, _) = setup().await;
    let patient = phone.session.user_id;
    let session = Uuid::now_v7();
    for (field, value) in [
        ("starts_at", json!(1_900_000_000_000i64)),
        ("attendance", json!("attended")),
    ] {
        let op = phone.make_op(patient, DocKind::Session, session, field, value);
        rejected_beside_a_good_op(&app, &mut phone, as_json(&op), "forbidden_field").await;
    }
}

#[tokio::test]
async fn a_counselor_may_not_write_a_patients_checkin() {
    let (app, mut counselor, phone, _) = setup().await;
    let patient = phone.session.user_id;
    let op = counselor.make_op(
        patient,
        DocKind::Checkin,
        Uuid::now_v7(),
        "intensity",
        json!(2),
    );
    let (_, body) = status_and_json(
        app.post(
            "/v1/sync/push",
            Some(&counselor.session.access),
            &json!({ "ops": [op] }),
        )
        .await,
    )
    .await;
    assert_eq!(body["rejected"][0]["code"], "forbidden_field", "{body}");
}

#[tokio::test]
async fn nobody_writes_into_a_patient_they_do_not_care_for() {
    let (app, _, mut phone, stranger) = setup().await;
    // A patient writing into another patient's record.
    let op = phone.make_op(
        stranger.session.user_id,
        DocKind::Checkin,
        Uuid::now_v7(),
        "intensity",
        json!(2),
    );
    rejected_beside_a_good_op(&app, &mut phone, as_json(&op), "not_your_patient").await;
    // A counselor who is not on the care team.
    let admin = app.admin().await;
    let mut outsider = Phone::new(app.counselor(&admin).await);
    let op = outsider.make_op(
        phone.session.user_id,
        DocKind::Session,
        Uuid::now_v7(),
        "title",
        json!("x"),
    );
    let (_, body) = status_and_json(
        app.post(
            "/v1/sync/push",
            Some(&outsider.session.access),
            &json!({ "ops": [op] }),
        )
        .await,
    )
    .await;
    assert_eq!(body["rejected"][0]["code"], "not_your_patient", "{body}");
}

#[tokio::test]
async fn an_op_stamped_too_far_in_the_future_is_rejected_and_can_be_restamped() {
    let (app, _, mut phone, _) = setup_with(&[("TETHER_MAX_CLOCK_AHEAD_MS", "60000")]).await;
    let patient = phone.session.user_id;
    let mut op = phone.make_op(
        patient,
        DocKind::Checkin,
        Uuid::now_v7(),
        "intensity",
        json!(5),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    op.hlc = sync_core::Hlc::new(now + 3_600_000, 0, op.hlc.node()).unwrap();
    rejected_beside_a_good_op(&app, &mut phone, as_json(&op), "clock_too_far_ahead").await;
    // The receipt does not count it: the phone re-stamps and re-sends the same op, same seq.
    op.hlc = phone.tick();
    let body = phone.push_ops(&app, std::slice::from_ref(&op)).await;
    assert_eq!(body["accepted"], json!([op.id.to_string()]), "{body}");
}

#[tokio::test]
async fn batch_and_body_limits_have_clear_errors() {
    let (app, _, mut phone, _) = setup_with(&[
        ("TETHER_MAX_BATCH_OPS", "3"),
        ("TETHER_MAX_PUSH_BYTES", "4096"),
    ])
    .await;
    let patient = phone.session.user_id;
    let ops: Vec<_> = (0..4)
        .map(|_| phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(2)))
        .collect();
    assert_error(
        app.post(
            "/v1/sync/push",
            Some(&phone.session.access),
            &json!({ "ops": ops }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "batch_too_large",
    )
    .await;
    let op = phone.make_op(
        patient,
        DocKind::Checkin,
        Uuid::now_v7(),
        "note",
        json!("n".repeat(2_000)),
    );
    let big = vec![op.clone(), op.clone(), op];
    assert_error(
        app.post(
            "/v1/sync/push",
            Some(&phone.session.access),
            &json!({ "ops": big }),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_error(
        app.post("/v1/sync/push", None, &json!({ "ops": [] })).await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
}

#[tokio::test]
async fn a_damaged_cursor_or_limit_is_refused() {
    let (app, _, phone, _) = setup().await;
    let token = Some(phone.session.access.as_str());
    assert_error(
        app.get("/v1/sync/pull?cursor=garbage", token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cursor",
    )
    .await;
    assert_error(
        app.get("/v1/sync/pull?limit=0", token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
    assert_error(
        app.get("/v1/sync/pull?limit=100000", token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
}
