//! Sign-in, activation, refresh rotation with reuse detection, sign-out, and token errors.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_patient_is_enrolled_activates_signs_in_refreshes_and_signs_out() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;

    // The counselor enrolls; the patient types the code on the phone.
    let enrolled = app.enroll(&counselor).await;
    assert_eq!(enrolled["counselor_id"], counselor.user_id.to_string());
    let code = enrolled["enrollment_code"].as_str().unwrap();
    let email = enrolled["email"].as_str().unwrap();
    let phone = app
        .activate(&code.to_lowercase().replace('-', " "), email)
        .await;

    let (status, me) = status_and_json(app.get("/v1/me", Some(&phone.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["role"], "patient");
    assert_eq!(me["user"]["id"], enrolled["id"]);
    assert_eq!(me["device_id"], phone.device_id.to_string());

    // Sign in again with the password chosen at activation, on a second device.
    let tablet = app.login(email, USER_PASSWORD).await;
    assert_ne!(tablet.device_id, phone.device_id);

    // Refresh rotates: a new pair, same device.
    let (status, rotated) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": phone.refresh }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["device_id"], phone.device_id.to_string());
    let next_refresh = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(next_refresh, phone.refresh);
    let (status, _) = status_and_json(
        app.get("/v1/me", Some(rotated["access_token"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Sign out on the tablet: its refresh token stops working; the phone's session survives.
    let response = app
        .post("/v1/auth/logout", Some(&tablet.access), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": tablet.refresh }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    let (status, _) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": next_refresh }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;

    // The phone refreshes (the legitimate holder now has `second`).
    let (_, body) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": patient.refresh }),
        )
        .await,
    )
    .await;
    let second = body["refresh_token"].as_str().unwrap().to_string();

    // A thief replays the first token: refused, and the family is revoked…
    assert_error(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": patient.refresh }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    // …so the token the phone holds no longer works either: both must sign in again.
    assert_error(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": second }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    // Signing in again works.
    app.login(&patient.email, USER_PASSWORD).await;
}

#[tokio::test]
async fn sign_out_everywhere_revokes_every_device() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let phone = app.patient(&counselor).await;
    let tablet = app.login(&phone.email, USER_PASSWORD).await;
    let response = app
        .post(
            "/v1/auth/logout",
            Some(&phone.access),
            &json!({ "all_devices": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for session in [&phone, &tablet] {
        assert_error(
            app.post(
                "/v1/auth/refresh",
                None,
                &json!({ "refresh_token": session.refresh }),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        )
        .await;
    }
}

#[tokio::test]
async fn signing_in_again_with_a_device_id_keeps_the_device() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "device_id": admin.device_id }),
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["device_id"], admin.device_id.to_string());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    for (email, password) in [
        (ADMIN_EMAIL, "not the password"),
        ("nobody@clinic.test", ADMIN_PASSWORD),
        ("not an email", ADMIN_PASSWORD),
    ] {
        assert_error(
            app.post(
                "/v1/auth/login",
                None,
                &json!({ "email": email, "password": password }),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
}

#[tokio::test]
async fn an_unknown_enrollment_code_is_refused() {
    let app = spawn_app().await;
    for code in ["AAAA-BBBB-CCCC", "too short", "!!!!-!!!!-!!!!"] {
        assert_error(
            app.post(
                "/v1/auth/activate",
                None,
                &json!({ "code": code, "password": USER_PASSWORD, "device_name": "phone" }),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_enrollment_code",
        )
        .await;
    }
}

#[tokio::test]
async fn an_enrollment_code_works_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    let code = enrolled["enrollment_code"].as_str().unwrap();
    app.activate(code, enrolled["email"].as_str().unwrap())
        .await;
    assert_error(
        app.post(
            "/v1/auth/activate",
            None,
            &json!({ "code": code, "password": "another long password", "device_name": "phone" }),
        )
        .await,
        StatusCode::CONFLICT,
        "enrollment_code_used",
    )
    .await;
    // The password set by the first activation still stands.
    app.login(enrolled["email"].as_str().unwrap(), USER_PASSWORD)
        .await;
}

#[tokio::test]
async fn an_expired_enrollment_code_is_refused() {
    let app = spawn_app_with(&[("TETHER_ENROLLMENT_TTL_SECS", "2")]).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    // Wait out the two-second lifetime of the code (this is the behaviour under test, not a wait
    // for the server).
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_error(
        app.post(
            "/v1/auth/activate",
            None,
            &json!({
                "code": enrolled["enrollment_code"],
                "password": USER_PASSWORD,
                "device_name": "phone"
            }),
        )
        .await,
        StatusCode::GONE,
        "enrollment_code_expired",
    )
    .await;
}

#[tokio::test]
async fn a_weak_password_is_refused_at_activation_and_the_code_survives() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let enrolled = app.enroll(&counselor).await;
    assert_error(
        app.post(
            "/v1/auth/activate",
            None,
            &json!({ "code": enrolled["enrollment_code"], "password": "short", "device_name": "phone" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    )
    .await;
    app.activate(
        enrolled["enrollment_code"].as_str().unwrap(),
        enrolled["email"].as_str().unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_missing_tampered_or_expired_access_token_is_refused_with_its_own_code() {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let app = spawn_app().await;
    let admin = app.admin().await;

    assert_error(
        app.get("/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    )
    .await;
    let response = app
        .client
        .get(app.url("/v1/me"))
        .header("authorization", "Basic YWRtaW46cGFzcw==")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "missing_token").await;

    // Flip one character of the signature.
    let mut tampered = admin.access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_error(
        app.get("/v1/me", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(
        app.get("/v1/me", Some("not.a.jwt")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |iat: u64, exp: u64, typ: &str| {
        json!({
            "sub": admin.user_id, "role": "admin", "clinic": uuid::Uuid::new_v4(),
            "dev": admin.device_id, "iat": iat, "exp": exp, "typ": typ
        })
    };
    let sign = |claims: &serde_json::Value, key: &str| {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let expired = sign(&claims(now - 3_600, now - 1_800, "access"), JWT_SECRET);
    assert_error(
        app.get("/v1/me", Some(&expired)).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    let wrong_key = sign(
        &claims(now, now + 600, "access"),
        "some-other-key-that-is-long-enough-too",
    );
    assert_error(
        app.get("/v1/me", Some(&wrong_key)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let wrong_type = sign(&claims(now, now + 600, "refresh"), JWT_SECRET);
    assert_error(
        app.get("/v1/me", Some(&wrong_type)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_or_expired_refresh_token_is_refused() {
    let app = spawn_app_with(&[("TETHER_REFRESH_TTL_SECS", "1")]).await;
    assert_error(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": "0".repeat(64) }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    let admin = app.admin().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_error(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": admin.refresh }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_expired",
    )
    .await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_the_window_even_with_the_right_password() {
    let app = spawn_app_with(&[("TETHER_LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..3 {
        assert_error(
            app.post(
                "/v1/auth/login",
                None,
                &json!({ "email": ADMIN_EMAIL, "password": "wrong password" }),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    let response = app
        .post(
            "/v1/auth/login",
            None,
            &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry_after > 0 && retry_after <= 900,
        "retry-after {retry_after}"
    );
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn a_successful_sign_in_clears_earlier_failures() {
    let app = spawn_app_with(&[("TETHER_LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..2 {
        let r = app
            .post(
                "/v1/auth/login",
                None,
                &json!({ "email": ADMIN_EMAIL, "password": "wrong password" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    app.admin().await;
    for _ in 0..2 {
        let r = app
            .post(
                "/v1/auth/login",
                None,
                &json!({ "email": ADMIN_EMAIL, "password": "wrong password" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    app.admin().await;
}

#[tokio::test]
async fn one_address_cannot_make_unlimited_attempts_across_accounts() {
    let app = spawn_app_with(&[("TETHER_ADDR_MAX_ATTEMPTS", "4")]).await;
    for i in 0..4 {
        let r = app
            .post(
                "/v1/auth/login",
                None,
                &json!({ "email": format!("guess{i}@clinic.test"), "password": "wrong password" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_error(
        app.post(
            "/v1/auth/login",
            None,
            &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    assert_error(
        app.post(
            "/v1/auth/activate",
            None,
            &json!({ "code": "AAAA-BBBB-CCCC", "password": USER_PASSWORD, "device_name": "phone" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_enrollment_code",
    )
    .await;
}

#[tokio::test]
async fn a_sign_out_request_with_a_wrong_body_signs_out_nobody() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // A typo must not quietly sign out only this device when "everywhere" was meant.
    assert_error(
        app.post(
            "/v1/auth/logout",
            Some(&admin.access),
            &json!({ "all_device": true }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        app.post(
            "/v1/auth/logout",
            Some(&admin.access),
            &json!({ "all_devices": "yes" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    let response = app
        .client
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&admin.access)
        .header("content-type", "text/plain")
        .body("all_devices=true")
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // The session survived all three.
    let (status, _) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &json!({ "refresh_token": admin.refresh }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // No body at all signs out this device.
    let response = app
        .client
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
