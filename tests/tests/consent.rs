//! Consent (42 CFR Part 2): staff see a patient only with an active consent AND a care-team
//! assignment; revocation or expiry cuts access at once, for reads, pulls and writes alike; every
//! staff read is in the patient's access log.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sync_core::DocKind;
use uuid::Uuid;

/// Every per-patient staff read: the three read models, trends and the IOP hours ledger.
const LISTS: [&str; 5] = ["checkins", "exercises", "sessions", "trends", "iop-hours"];

/// What a counselor can do with a patient's records right now, through every staff path.
#[derive(Debug, PartialEq, Eq)]
struct Reach {
    lists: Vec<StatusCode>,
    on_caseload: bool,
    pulled: usize,
    push_code: Option<String>,
}

async fn reach(app: &TestApp, counselor: &mut Phone, patient: Uuid) -> Reach {
    let mut lists = Vec::new();
    for kind in LISTS {
        let r = app
            .get(
                &format!("/v1/patients/{patient}/{kind}"),
                Some(&counselor.session.access),
            )
            .await;
        lists.push(r.status());
    }
    let (status, caseload) = status_and_json(
        app.get("/v1/caseload", Some(&counselor.session.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let on_caseload = caseload["patients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["patient_id"] == patient.to_string());
    // A fresh cursor every time: what would a new device of this counselor get?
    counselor.cursor = None;
    let pulled = counselor.pull_all(app, 100).await;
    let op = counselor.make_op(
        patient,
        DocKind::Session,
        Uuid::now_v7(),
        "title",
        json!("Check-in call"),
    );
    let body = counselor.push_ops(app, &[op]).await;
    let push_code = body["rejected"][0]["code"].as_str().map(str::to_string);
    Reach {
        lists,
        on_caseload,
        pulled,
        push_code,
    }
}

fn allowed(pulled: usize) -> Reach {
    Reach {
        lists: vec![StatusCode::OK; LISTS.len()],
        on_caseload: true,
        pulled,
        push_code: None,
    }
}

fn refused() -> Reach {
    Reach {
        lists: vec![StatusCode::NOT_FOUND; LISTS.len()],
        on_caseload: false,
        pulled: 0,
        push_code: Some("not_your_patient".into()),
    }
}

#[tokio::test]
async fn consent_opens_access_and_revocation_closes_it_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let mut patient = Phone::new(app.patient_without_consent(&counselor.session).await);
    let id = patient.session.user_id;
    patient.checkin(6, &["stress"]);
    patient.push(&app).await;

    // Assigned, but no consent yet: nothing.
    assert_eq!(reach(&app, &mut counselor, id).await, refused());

    let consent = app
        .consent(
            &patient.session,
            &json!({ "grantee": "care_team", "purpose": "treatment" }),
        )
        .await;
    assert_eq!(consent["active"], true);
    // The check-in (4 fields); the session title the counselor pushed is its own echo.
    assert_eq!(reach(&app, &mut counselor, id).await, allowed(4));

    let response = app
        .client
        .delete(app.url(&format!(
            "/v1/patients/{id}/consents/{}",
            consent["id"].as_str().unwrap()
        )))
        .bearer_auth(&patient.session.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(reach(&app, &mut counselor, id).await, refused());

    let (_, list) = status_and_json(
        app.get(
            &format!("/v1/patients/{id}/consents"),
            Some(&patient.session.access),
        )
        .await,
    )
    .await;
    assert_eq!(list["items"][0]["active"], false);
    assert!(list["items"][0]["revoked_at"].is_i64());
}

#[tokio::test]
async fn an_expired_consent_gives_no_access() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let mut patient = Phone::new(app.patient_without_consent(&counselor.session).await);
    let id = patient.session.user_id;
    patient.checkin(3, &[]);
    patient.push(&app).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    app.consent(
        &patient.session,
        &json!({ "grantee": "care_team", "purpose": "one-off review", "expires_at": now + 1_500 }),
    )
    .await;
    let before = app
        .get(
            &format!("/v1/patients/{id}/checkins"),
            Some(&counselor.session.access),
        )
        .await;
    assert_eq!(before.status(), StatusCode::OK);
    // Wait out the consent's lifetime: expiry is the behaviour under test.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    assert_eq!(reach(&app, &mut counselor, id).await, refused());
}

#[tokio::test]
async fn a_consent_naming_one_counselor_covers_only_that_counselor_on_the_care_team() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let on_team = app.counselor(&admin).await;
    let named_elsewhere = app.counselor(&admin).await;
    let mut patient = Phone::new(app.patient_without_consent(&on_team).await);
    let id = patient.session.user_id;
    patient.checkin(5, &[]);
    patient.push(&app).await;

    // The consent names a counselor who is not on the care team: neither may see anything.
    app.consent(
        &patient.session,
        &json!({ "grantee": "counselor", "counselor_id": named_elsewhere.user_id, "purpose": "second opinion" }),
    )
    .await;
    assert_eq!(
        reach(&app, &mut Phone::new(on_team.clone()), id).await,
        refused()
    );
    assert_eq!(
        reach(&app, &mut Phone::new(named_elsewhere), id).await,
        refused()
    );

    // Naming the counselor who is on the team opens it for them.
    app.consent(
        &patient.session,
        &json!({ "grantee": "counselor", "counselor_id": on_team.user_id, "purpose": "treatment" }),
    )
    .await;
    assert_eq!(reach(&app, &mut Phone::new(on_team), id).await, allowed(3));
}

#[tokio::test]
async fn every_staff_read_is_in_the_patients_access_log_and_only_the_patient_reads_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut patient = Phone::new(app.patient(&counselor).await);
    let id = patient.session.user_id;
    patient.checkin(7, &["lonely"]);
    patient.push(&app).await;

    // The patient's own reads are not logged; the counselor's are, one entry per read.
    for kind in LISTS {
        app.get(
            &format!("/v1/patients/{id}/{kind}"),
            Some(&patient.session.access),
        )
        .await;
        app.get(
            &format!("/v1/patients/{id}/{kind}"),
            Some(&counselor.access),
        )
        .await;
    }
    app.get("/v1/caseload", Some(&counselor.access)).await;
    let mut team = Phone::new(counselor.clone());
    team.pull_all(&app, 100).await;
    // A pull that returns nothing of the patient is not a read of their records.
    team.pull_all(&app, 100).await;

    let (status, log) = status_and_json(
        app.get(
            &format!("/v1/patients/{id}/access-log"),
            Some(&patient.session.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "sync_pull",
            "read_caseload",
            "read_iop_hours",
            "read_trends",
            "read_sessions",
            "read_exercises",
            "read_checkins"
        ]
    );
    let (_, consents) = status_and_json(
        app.get(
            &format!("/v1/patients/{id}/consents"),
            Some(&patient.session.access),
        )
        .await,
    )
    .await;
    for entry in entries {
        assert_eq!(entry["actor_id"], counselor.user_id.to_string());
        assert_eq!(entry["actor_name"], "Cora Counselor");
        assert_eq!(entry["actor_role"], "counselor");
        assert_eq!(entry["consent_id"], consents["items"][0]["id"]);
    }

    // Staff may not read it; strangers cannot tell the patient exists.
    assert_error(
        app.get(
            &format!("/v1/patients/{id}/access-log"),
            Some(&counselor.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let other = app.patient(&counselor).await;
    assert_error(
        app.get(
            &format!("/v1/patients/{id}/access-log"),
            Some(&other.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn only_the_patient_gives_or_withdraws_consent_and_bad_consents_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let other = app.patient(&counselor).await;
    let id = patient.user_id;
    let path = format!("/v1/patients/{id}/consents");
    let good = json!({ "grantee": "care_team", "purpose": "treatment" });

    assert_error(
        app.post(&path, Some(&counselor.access), &good).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(&path, Some(&other.access), &good).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post(&path, Some(&admin.access), &good).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "grantee": "care_team", "purpose": "  " }),
            "invalid_purpose",
        ),
        (
            json!({ "grantee": "care_team", "purpose": "x".repeat(201) }),
            "invalid_purpose",
        ),
        (
            json!({ "grantee": "care_team", "purpose": "t", "expires_at": 1_000 }),
            "invalid_expiry",
        ),
        (
            json!({ "grantee": "counselor", "purpose": "t" }),
            "invalid_grantee",
        ),
        (
            json!({ "grantee": "care_team", "purpose": "t", "counselor_id": counselor.user_id }),
            "invalid_grantee",
        ),
        (
            json!({ "grantee": "counselor", "purpose": "t", "counselor_id": admin.user_id }),
            "unknown_counselor",
        ),
    ];
    for (body, code) in cases {
        assert_error(
            app.post(&path, Some(&patient.access), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    assert_error(
        app.post(
            &path,
            Some(&patient.access),
            &json!({ "grantee": "everyone", "purpose": "t" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;

    // Withdrawing: only the patient, only their own consents; twice is fine.
    let (_, list) = status_and_json(app.get(&path, Some(&patient.access)).await).await;
    let consent = list["items"][0]["id"].as_str().unwrap().to_string();
    let delete = |token: String, url: String| {
        let client = app.client.clone();
        async move { client.delete(url).bearer_auth(token).send().await.unwrap() }
    };
    let url = app.url(&format!("{path}/{consent}"));
    assert_error(
        delete(counselor.access.clone(), url.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let other_url = app.url(&format!(
        "/v1/patients/{}/consents/{consent}",
        other.user_id
    ));
    assert_error(
        delete(other.access.clone(), other_url).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        delete(patient.access.clone(), url.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(patient.access.clone(), url).await.status(),
        StatusCode::NO_CONTENT
    );
    let missing = app.url(&format!("{path}/{}", Uuid::new_v4()));
    assert_error(
        delete(patient.access.clone(), missing).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
