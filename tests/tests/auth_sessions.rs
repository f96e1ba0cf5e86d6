//! Session revocation and lifetime (issue 18, defects 10c and 10e): signing out or a detected
//! refresh-token reuse ends the session's access tokens on the next request, and a session ends
//! at its absolute lifetime however often it is refreshed.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/v1/auth/refresh", None, &json!({ "refresh_token": token }))
        .await
}

#[tokio::test]
async fn an_access_token_is_refused_on_the_next_request_after_its_device_signs_out() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let other_device = app.login(&patient.email, USER_PASSWORD).await;
    assert_eq!(app.get("/v1/me", Some(&patient.access)).await.status(), 200);

    let out = app
        .post("/v1/auth/logout", Some(&patient.access), &json!({}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/v1/me", Some(&patient.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    // A signed-out phone's push is not accepted.
    assert_error(
        app.post(
            "/v1/sync/push",
            Some(&patient.access),
            &json!({ "ops": [] }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    // The patient's other phone is another session and goes on.
    assert_eq!(
        app.get("/v1/me", Some(&other_device.access)).await.status(),
        200
    );
    let everywhere = app
        .post(
            "/v1/auth/logout",
            Some(&other_device.access),
            &json!({ "all_devices": true }),
        )
        .await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/v1/me", Some(&other_device.access)).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[tokio::test]
async fn a_detected_refresh_token_reuse_ends_the_sessions_access_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, renewed) = status_and_json(refresh(&app, &admin.refresh).await).await;
    let thief = renewed["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/v1/me", Some(&thief)).await.status(), 200);
    // The old refresh token comes back: two parties hold the session.
    assert_error(
        refresh(&app, &admin.refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    for token in [&thief, &admin.access] {
        assert_error(
            app.get("/v1/me", Some(token)).await,
            StatusCode::UNAUTHORIZED,
            "session_revoked",
        )
        .await;
    }
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let app = spawn_app_with(&[("TETHER_SESSION_MAX_AGE_SECS", "3")]).await;
    let admin = app.admin().await;
    let mut token = admin.refresh.clone();
    let mut access = admin.access.clone();
    for _ in 0..2 {
        let (status, body) = status_and_json(refresh(&app, &token).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["refresh_expires_in"].as_u64().unwrap() <= 3, "{body}");
        token = body["refresh_token"].as_str().unwrap().to_string();
        access = body["access_token"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_error(
        refresh(&app, &token).await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    assert_error(
        app.get("/v1/me", Some(&access)).await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    // Signing in again starts a new session.
    let again = app.admin().await;
    assert_eq!(app.get("/v1/me", Some(&again.access)).await.status(), 200);
}
