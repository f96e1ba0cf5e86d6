//! Whether an email has an account at another clinic is not observable (issue 18, defect 10a):
//! emails are unique per clinic, and sign-in finds the account by its password.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
const OTHER_ADMIN: &str = "admin@other-clinic.test";

/// Creates the admin of a second clinic on the same database, as an operator would.
fn create_other_clinic(app: &TestApp) {
    let out = admin_create(&app.db.url, OTHER_ADMIN, "Other Clinic", ADMIN_PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn shape(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn activate(app: &TestApp, code: &str, password: &str) -> Value {
    let (status, body) = status_and_json(
        app.post(
            "/v1/auth/activate",
            None,
            &json!({ "code": code, "password": password, "device_name": "phone" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Value {
    let (status, body) = status_and_json(
        app.post(
            "/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn enrolling_an_email_another_clinic_uses_looks_exactly_like_enrolling_an_unused_one() {
    let app = spawn_app().await;
    create_other_clinic(&app);
    let here = app.admin().await;
    let there = app.login(OTHER_ADMIN, ADMIN_PASSWORD).await;
    let counselor_here = app.counselor(&here).await;
    let counselor_there = app.counselor(&there).await;

    // Sam is a patient of the other clinic.
    let enroll = |token: String, email: &'static str| {
        let app = &app;
        async move {
            status_and_json(
                app.post(
                    "/v1/patients",
                    Some(&token),
                    &json!({ "email": email, "display_name": "Sam" }),
                )
                .await,
            )
            .await
        }
    };
    let (status, sam_there) = enroll(counselor_there.access.clone(), "sam@example.test").await;
    assert_eq!(status, StatusCode::CREATED);
    activate(
        &app,
        sam_there["enrollment_code"].as_str().unwrap(),
        "Sam's password there",
    )
    .await;

    // Here, enrolling Sam's address and an unused one answer alike.
    let (used_status, used) = enroll(counselor_here.access.clone(), "sam@example.test").await;
    let (new_status, unused) = enroll(counselor_here.access.clone(), "new@example.test").await;
    assert_eq!(
        (used_status, new_status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(shape(&used), shape(&unused), "{used} vs {unused}");
    // So do clinicians: the other clinic's counselor's address is free here.
    let (status, body) = status_and_json(
        app.post(
            "/v1/clinicians",
            Some(&here.access),
            &json!({ "email": counselor_there.email, "display_name": "Cora here" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The code works, and each password opens its own clinic's account.
    let sam_here = activate(
        &app,
        used["enrollment_code"].as_str().unwrap(),
        "Sam's password here",
    )
    .await;
    assert_eq!(
        sam_here["user"]["clinic_id"],
        here_clinic(&app, &here).await
    );
    let signed_here = sign_in(&app, "sam@example.test", "Sam's password here").await;
    let signed_there = sign_in(&app, "Sam@Example.test", "Sam's password there").await;
    assert_eq!(signed_here["user"]["id"], sam_here["user"]["id"]);
    assert_ne!(signed_there["user"]["id"], sam_here["user"]["id"]);
    assert_ne!(
        signed_here["user"]["clinic_id"],
        signed_there["user"]["clinic_id"]
    );

    // Inside one clinic an address is still one account.
    let (status, body) = enroll(counselor_here.access.clone(), "sam@example.test").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "email_taken");
}

async fn here_clinic(app: &TestApp, admin: &Session) -> Value {
    let (_, me) = status_and_json(app.get("/v1/me", Some(&admin.access)).await).await;
    me["user"]["clinic_id"].clone()
}
