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

/// An op's JSON text with its `value` replaced by raw JSON text: a lone surrogate such as
/// `"\ud800"` is valid JSON syntax but can be no `serde_json::Value`.
fn with_raw_value(op: &sync_core::Op, raw_value: &str) -> String {
    let mut v = as_json(op);
    v["value"] = json!("__RAW_VALUE__");
    v.to_string().replace("\"__RAW_VALUE__\"", raw_value)
}

/// Pushes a body given as text.
async fn push_text(app: &TestApp, token: &str, body: String) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/v1/sync/push"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn no_text_value_of_one_op_fails_its_push_and_the_crisis_checkin_beside_it_is_stored() {
    let (app, counselor, mut phone, _) = setup().await;
    let patient = phone.session.user_id;
    let crisis = Uuid::now_v7();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // A crisis check-in (craving 9 and a lapse) and a note whose tab and line breaks are text.
    let multiline = "line one\nline two\twith a tab\r\n";
    let good: Vec<sync_core::Op> = [
        ("recorded_at", json!(now_ms)),
        ("tz_offset_min", json!(-300)),
        ("intensity", json!(9)),
        ("lapse", json!(true)),
        ("substance", json!("alcohol")),
        ("note", json!(multiline)),
    ]
    .into_iter()
    .map(|(field, value)| phone.make_op(patient, DocKind::Checkin, crisis, field, value))
    .collect();
    let mut texts: Vec<String> = good.iter().map(|op| as_json(op).to_string()).collect();

    // One op per text field and bad character, each of a document of its own (so each would be
    // its field's winner): NUL, other C0 controls, DEL, a C1 control (each refused
    // `control_character`), and lone surrogates (no Unicode text at all: `malformed_op`).
    let text_fields = [
        (DocKind::Checkin, "note"),
        (DocKind::Checkin, "context"),
        (DocKind::Exercise, "note"),
        (DocKind::Session, "rsvp_note"),
        (DocKind::Session, "title"),
        (DocKind::Session, "location"),
    ];
    let bad_values = [
        (r#""a\u0000b SECRET""#, "control_character"),
        (r#""\u0000""#, "control_character"),
        (r#""SECRET\u0007 bell""#, "control_character"),
        (r#""\u001b[2J SECRET""#, "control_character"),
        (r#""SECRET\u007f""#, "control_character"),
        (r#""SECRET \u0085 next line""#, "control_character"),
        (r#""\ud800 SECRET""#, "malformed_op"),
        (r#""SECRET \udfff""#, "malformed_op"),
    ];
    let mut expected: Vec<(usize, Uuid, &str)> = Vec::new();
    for (kind, field) in text_fields {
        for (raw, code) in bad_values {
            let op = phone.make_op(patient, kind, Uuid::now_v7(), field, Value::Null);
            expected.push((texts.len(), op.id, code));
            texts.push(with_raw_value(&op, raw));
        }
    }
    let body = format!(r#"{{"ops":[{}]}}"#, texts.join(","));

    // Twice: a retry of the very same batch is answered alike, with the good ops as duplicates.
    for attempt in 0..2 {
        let (status, answer) = push_text(&app, &phone.session.access, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "attempt {attempt}: {answer}");
        let good_ids: Vec<Value> = good.iter().map(|op| json!(op.id.to_string())).collect();
        let stored = if attempt == 0 {
            "accepted"
        } else {
            "duplicates"
        };
        assert_eq!(
            answer[stored],
            json!(good_ids),
            "attempt {attempt}: {answer}"
        );
        let rejected = answer["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), expected.len(), "{answer}");
        for (r, (index, id, code)) in rejected.iter().zip(&expected) {
            assert_eq!(r["index"], json!(index), "{r}");
            assert_eq!(r["id"], json!(id.to_string()), "{r}");
            assert_eq!(r["code"], json!(code), "{r}");
            let message = r["message"].as_str().unwrap();
            assert!(!message.contains("SECRET"), "{message}");
        }
        assert!(answer["crisis_resources"].is_object(), "{answer}");
    }

    // The crisis check-in is stored, visible to the counselor, its note exactly as written.
    let (status, list) = status_and_json(
        app.get(
            &format!("/v1/patients/{patient}/checkins"),
            Some(&counselor.session.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(crisis.to_string()))
        .unwrap_or_else(|| panic!("the crisis check-in is listed: {list}"));
    assert_eq!(item["intensity"], 9, "{item}");
    assert_eq!(item["lapse"], true, "{item}");
    assert_eq!(item["note"], multiline, "{item}");
    assert!(!app.log().contains("SECRET"));
}

#[tokio::test]
async fn every_other_stored_text_with_a_control_character_is_refused_with_a_clear_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let cases: Vec<(&str, &Session, Value, &str)> = vec![
        (
            "/v1/patients",
            &counselor,
            json!({"email": "pat-nul@example.test", "display_name": "Pat\u{0}Patient"}),
            "invalid_name",
        ),
        (
            "/v1/patients",
            &counselor,
            json!({"email": "pat\u{0}@example.test", "display_name": "Pat"}),
            "invalid_email",
        ),
        (
            "/v1/clinicians",
            &admin,
            json!({"email": "cora-nul@clinic.test", "display_name": "Cora\u{1b}[2J"}),
            "invalid_name",
        ),
    ];
    for (path, who, body, code) in cases {
        let response = app.post(path, Some(&who.access), &body).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let patient = app.patient_without_consent(&counselor).await;
    let response = app
        .post(
            &format!("/v1/patients/{}/consents", patient.user_id),
            Some(&patient.access),
            &json!({"grantee": "care_team", "purpose": "treatment\u{0}"}),
        )
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_purpose",
    )
    .await;
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({"email": patient.email, "password": USER_PASSWORD, "device_name": "Pixel\u{0}"}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_name").await;
}

#[tokio::test]
async fn a_rejection_never_quotes_the_value_and_names_the_op_whose_id_was_readable() {
    let (app, _, mut phone, _) = setup().await;
    let patient = phone.session.user_id;
    let mut cases: Vec<(Uuid, Value, &str)> = Vec::new();
    for key in ["device_seq", "doc", "patient", "hlc", "kind", "field"] {
        let op = phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(3));
        let mut v = as_json(&op);
        v[key] = if key == "field" {
            json!(["SECRET patient words"])
        } else {
            json!("SECRET patient words")
        };
        let code = if key == "kind" {
            "unknown_kind"
        } else {
            "malformed_op"
        };
        cases.push((op.id, v, code));
    }
    // A key the op shape does not have, named in patient words.
    let op = phone.make_op(patient, DocKind::Checkin, Uuid::now_v7(), "mood", json!(3));
    let mut v = as_json(&op);
    v["SECRET patient words"] = json!(1);
    cases.push((op.id, v, "malformed_op"));
    let ops: Vec<Value> = cases.iter().map(|(_, v, _)| v.clone()).collect();
    let (status, body) = status_and_json(
        app.post(
            "/v1/sync/push",
            Some(&phone.session.access),
            &json!({ "ops": ops }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), cases.len(), "{body}");
    for (r, (id, _, code)) in rejected.iter().zip(&cases) {
        assert_eq!(r["id"], json!(id.to_string()), "{r}");
        assert_eq!(r["code"], json!(code), "{r}");
        let message = r["message"].as_str().unwrap();
        assert!(!message.contains("SECRET"), "{r}");
    }
    assert!(!app.log().contains("SECRET"));
}
