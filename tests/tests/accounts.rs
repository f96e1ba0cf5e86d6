//! Who may create which accounts, and how bad account data is refused.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn only_an_admin_may_create_counselors() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    for session in [&counselor, &patient] {
        assert_error(
            app.post(
                "/v1/clinicians",
                Some(&session.access),
                &json!({ "email": "new@clinic.test", "display_name": "New" }),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    assert_error(
        app.post(
            "/v1/clinicians",
            None,
            &json!({ "email": "new@clinic.test", "display_name": "New" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
}

#[tokio::test]
async fn a_patient_may_not_enroll_patients() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    assert_error(
        app.post(
            "/v1/patients",
            Some(&patient.access),
            &json!({ "email": "friend@example.test", "display_name": "Friend" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn an_admin_enrolls_a_patient_onto_a_named_counselors_care_team() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    assert_error(
        app.post(
            "/v1/patients",
            Some(&admin.access),
            &json!({ "email": "p1@example.test", "display_name": "P One" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "counselor_required",
    )
    .await;
    // An admin is not a counselor, and neither is a made-up id.
    for id in [admin.user_id, uuid::Uuid::new_v4()] {
        assert_error(
            app.post(
                "/v1/patients",
                Some(&admin.access),
                &json!({ "email": "p1@example.test", "display_name": "P One", "counselor_id": id }),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_counselor",
        )
        .await;
    }
    let (status, body) = status_and_json(
        app.post(
            "/v1/patients",
            Some(&admin.access),
            &json!({ "email": "p1@example.test", "display_name": "P One", "counselor_id": counselor.user_id }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["counselor_id"], counselor.user_id.to_string());
    assert_eq!(body["enrollment_code"].as_str().unwrap().len(), 14);
}

#[tokio::test]
async fn an_email_can_belong_to_one_account_of_a_clinic_only_whatever_its_case() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let first = app
        .post(
            "/v1/patients",
            Some(&counselor.access),
            &json!({ "email": "Sam@Example.test", "display_name": "Sam" }),
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_error(
        app.post(
            "/v1/patients",
            Some(&counselor.access),
            &json!({ "email": " sam@example.TEST ", "display_name": "Sam again" }),
        )
        .await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
}

#[tokio::test]
async fn malformed_account_fields_are_refused_with_their_own_codes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_error(
        app.post(
            "/v1/clinicians",
            Some(&admin.access),
            &json!({ "email": "nope", "display_name": "X" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
    )
    .await;
    assert_error(
        app.post(
            "/v1/clinicians",
            Some(&admin.access),
            &json!({ "email": "ok@clinic.test", "display_name": "  " }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_name",
    )
    .await;
    assert_error(
        app.post(
            "/v1/clinicians",
            Some(&admin.access),
            &json!({ "email": "ok@clinic.test", "display_name": "X", "role": "admin" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
}
