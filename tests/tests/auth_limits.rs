//! Sign-in throttling (issue 18, defects 10b, 10d and 14): attempts are counted before the
//! password is judged, a guesser is stopped per (account, address) without locking the owner
//! out, and behind a proxy the address is the one the proxy appended.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Signs in as `email` from `address` (as the proxy reports it); returns status and body.
async fn login_from(app: &TestApp, address: &str, body: &Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(body)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

fn wrong(email: &str) -> Value {
    json!({ "email": email, "password": "not the password at all" })
}

fn right(email: &str, password: &str) -> Value {
    json!({ "email": email, "password": password, "device_name": "phone" })
}

#[tokio::test]
async fn twenty_simultaneous_wrong_sign_ins_from_twenty_addresses_meet_the_account_limit() {
    let app = spawn_app_with(&[
        ("TETHER_TRUST_PROXY", "1"),
        ("TETHER_LOGIN_ACCOUNT_MAX_ATTEMPTS", "5"),
    ])
    .await;
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let request = app
                .client
                .post(app.url("/v1/auth/login"))
                .header("x-forwarded-for", format!("198.51.100.{}", i + 1))
                .json(&wrong(ADMIN_EMAIL));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    // Each attempt is counted before its password is judged: exactly five reach argon2.
    assert_eq!((refused, limited), (5, 15), "{statuses:?}");
}

#[tokio::test]
async fn an_attackers_failures_from_other_addresses_do_not_stop_the_patient_from_their_own() {
    let app = spawn_app_with(&[
        ("TETHER_TRUST_PROXY", "1"),
        ("TETHER_LOGIN_MAX_FAILURES", "3"),
        ("TETHER_LOGIN_ACCOUNT_MAX_ATTEMPTS", "10"),
    ])
    .await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let email = patient.email.clone();
    let home = "192.0.2.10";
    let (status, _) = login_from(&app, home, &right(&email, USER_PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);

    // One address guessing is stopped after its three attempts...
    for _ in 0..3 {
        let (status, body) = login_from(&app, "203.0.113.1", &wrong(&email)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = login_from(&app, "203.0.113.1", &right(&email, USER_PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // ...and that is no lockout: the patient signs in from home.
    let (status, body) = login_from(&app, home, &right(&email, USER_PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Guessing spread over many addresses meets the account's ceiling...
    let mut limited = false;
    for i in 2..20 {
        let (status, _) = login_from(&app, &format!("203.0.113.{i}"), &wrong(&email)).await;
        limited |= status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "the account-wide ceiling never answered 429");
    let (status, _) = login_from(&app, "203.0.113.99", &right(&email, USER_PASSWORD)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...which still does not keep the patient out from home, or from a new network on the
    // phone that signed in before.
    let (status, body) = login_from(&app, home, &right(&email, USER_PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = login_from(
        &app,
        "198.51.100.200",
        &json!({ "email": email, "password": USER_PASSWORD, "device_id": patient.device_id }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn rotating_the_leftmost_forwarded_for_does_not_escape_the_address_limit() {
    let app = spawn_app_with(&[
        ("TETHER_TRUST_PROXY", "1"),
        ("TETHER_ADDR_MAX_ATTEMPTS", "3"),
    ])
    .await;
    // The client writes any X-Forwarded-For it likes; our proxy appends what it saw.
    for i in 0..3 {
        let (status, _) = login_from(
            &app,
            &format!("10.9.9.{i}, 203.0.113.50"),
            &wrong(&format!("guess{i}@clinic.test")),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(
        &app,
        "10.9.9.99, 203.0.113.50",
        &right(ADMIN_EMAIL, ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Another client behind the same proxy is someone else.
    let (status, body) = login_from(
        &app,
        "10.9.9.99, 203.0.113.51",
        &right(ADMIN_EMAIL, ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn with_two_trusted_proxies_the_client_is_the_second_entry_from_the_right() {
    let app = spawn_app_with(&[
        ("TETHER_TRUST_PROXY", "1"),
        ("TETHER_TRUSTED_PROXY_HOPS", "2"),
        ("TETHER_ADDR_MAX_ATTEMPTS", "2"),
    ])
    .await;
    for i in 0..2 {
        let (status, _) = login_from(
            &app,
            &format!("10.1.1.{i}, 203.0.113.60, 10.0.0.{i}"),
            &wrong(ADMIN_EMAIL),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = login_from(
        &app,
        "10.1.1.7, 203.0.113.60, 10.0.0.7",
        &right(ADMIN_EMAIL, ADMIN_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
