//! The counselor dashboard over HTTP, as a browser with JavaScript off sees it: sign-in for
//! counselors only, cookie flags, CSRF, idle logoff, the caseload, the schedule page and its
//! writes reaching a phone, and 404 pages for patients without consent.
//!
//! `Browser` keeps cookies by hand (reading `Set-Cookie`, sending `Cookie`) and never follows
//! redirects, so every test sees exactly what the server answered.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use sync_core::{DocKey, DocKind};
use uuid::Uuid;

const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A cookie-keeping, non-redirecting HTTP client.
struct Browser<'a> {
    app: &'a TestApp,
    client: Client,
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` value received, for checking flags.
    set_cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let value = value.to_str().unwrap().to_string();
            let (name, rest) = value.split_once('=').unwrap();
            let cookie_value = rest.split(';').next().unwrap().to_string();
            if value.contains("Max-Age=0") || cookie_value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), cookie_value);
            }
            self.set_cookies.push(value);
        }
    }

    async fn get(&mut self, path: &str) -> Response {
        let response = self
            .client
            .get(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let response = self
            .client
            .post(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Opens the sign-in page and posts the form; returns the answer to the post.
    async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        let page = self.get("/dashboard/sign-in").await;
        assert_eq!(page.status(), StatusCode::OK);
        let token = csrf_of(&page.text().await.unwrap());
        self.post(
            "/dashboard/sign-in",
            &[
                ("email", email),
                ("password", password),
                ("csrf", token.as_str()),
            ],
        )
        .await
    }

    /// Signs in as `who`, who must be a counselor.
    async fn sign_in_as(&mut self, who: &Session) {
        let response = self.sign_in(&who.email, USER_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/dashboard/caseload");
        assert!(self.cookies.contains_key("tether_dashboard"));
    }

    /// GETs a page that must answer 200 with HTML; returns the HTML.
    async fn page(&mut self, path: &str) -> String {
        let response = self.get(path).await;
        let status = response.status();
        let html = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        html
    }
}

/// Every `token_hash` in the dashboard's session table, read straight from the database.
fn stored_session_hashes(app: &TestApp) -> Vec<String> {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        token_hash: String,
    }
    let query = "SELECT token_hash FROM dashboard_sessions";
    let rows: Vec<Row> = match backend() {
        Backend::Sqlite => {
            let mut conn = diesel::SqliteConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
        Backend::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(query).load(&mut conn).unwrap()
        }
    };
    rows.into_iter().map(|r| r.token_hash).collect()
}

/// The first hidden `csrf` field's value in a page.
fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The counselor's desk (a device of theirs) pushes a session for `patient` starting at
/// `starts_at`; returns its id.
async fn schedule_session(app: &TestApp, desk: &mut Phone, patient: Uuid, starts_at: i64) -> Uuid {
    let doc = Uuid::now_v7();
    for (field, value) in [
        ("kind", json!("group")),
        ("title", json!("Evening group")),
        ("starts_at", json!(starts_at)),
        ("duration_min", json!(180)),
        ("status", json!("scheduled")),
    ] {
        desk.write(patient, DocKind::Session, doc, field, value);
    }
    let pushed = desk.push(app).await;
    assert_eq!(pushed["accepted"].as_array().unwrap().len(), 5, "{pushed}");
    doc
}

#[tokio::test]
async fn a_counselor_signs_in_and_sees_the_caseload_most_urgent_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let calm = app.patient(&counselor).await;
    let in_crisis = app.patient(&counselor).await;
    let private = app.patient_without_consent(&counselor).await;

    let mut phone = Phone::new(calm.clone());
    phone.checkin(3, &["stress"]);
    phone.push(&app).await;
    let mut phone = Phone::new(in_crisis.clone());
    let doc = phone.checkin(9, &["stress"]);
    phone.write(
        in_crisis.user_id,
        DocKind::Checkin,
        doc,
        "crisis",
        json!(true),
    );
    let pushed = phone.push(&app).await;
    assert!(
        pushed["rejected"].as_array().unwrap().is_empty(),
        "{pushed}"
    );

    let mut browser = Browser::new(&app);
    browser.sign_in_as(&counselor).await;
    let html = browser.page("/dashboard/caseload").await;
    let crisis_at = html
        .find(&format!(r#"data-patient="{}""#, in_crisis.user_id))
        .expect("the patient in crisis is listed");
    let calm_at = html
        .find(&format!(r#"data-patient="{}""#, calm.user_id))
        .expect("the calm patient is listed");
    assert!(crisis_at < calm_at, "the crisis comes first");
    assert!(html.contains("URGENT"));
    // Each row has a craving sparkline, a picture whose label reads the values out.
    assert_eq!(html.matches(r#"class="sparkline""#).count(), 2);
    assert_eq!(
        html.matches(r#"data-points="1""#).count(),
        2,
        "one day with check-ins each"
    );
    assert!(html.contains("1 patient needs a call now"));
    assert!(
        !html.contains(&private.user_id.to_string()),
        "no consent, no row"
    );

    // The page is the API's caseload: the same rows, in the same order, access-logged.
    let (_, api) = status_and_json(app.get("/v1/caseload", Some(&counselor.access)).await).await;
    let ids: Vec<&str> = api["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["patient_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [in_crisis.user_id.to_string(), calm.user_id.to_string()]
    );
    let (_, log) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/access-log", calm.user_id),
            Some(&calm.access),
        )
        .await,
    )
    .await;
    let caseload_reads = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "read_caseload")
        .count();
    assert_eq!(caseload_reads, 2, "the page and the API call: {log}");
}

#[tokio::test]
async fn patients_and_admins_cannot_sign_in_to_the_dashboard() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;

    for (email, password, who) in [
        (ADMIN_EMAIL, ADMIN_PASSWORD, "Admins"),
        (patient.email.as_str(), USER_PASSWORD, "Patients"),
    ] {
        let mut browser = Browser::new(&app);
        let response = browser.sign_in(email, password).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let html = response.text().await.unwrap();
        assert!(html.contains("The dashboard is for counselors"), "{html}");
        assert!(html.contains(who), "{html}");
        assert!(!browser.cookies.contains_key("tether_dashboard"));
        let response = browser.get("/dashboard/caseload").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/dashboard/sign-in?reason=required");
    }

    // A wrong password gets the same words as an unknown email, and no session.
    for email in [counselor.email.as_str(), "nobody@clinic.test"] {
        let mut browser = Browser::new(&app);
        let response = browser.sign_in(email, "not the password at all").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("The email or password is wrong."));
        assert!(!browser.cookies.contains_key("tether_dashboard"));
    }
}

#[tokio::test]
async fn every_form_post_without_the_right_csrf_token_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let mut desk = Phone::new(counselor.clone());
    let session = schedule_session(&app, &mut desk, patient.user_id, now_ms() - HOUR_MS).await;

    // Sign-in without the double-submit token, or with one that is not the cookie's.
    let mut browser = Browser::new(&app);
    browser.get("/dashboard/sign-in").await;
    for token in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let response = browser
            .post(
                "/dashboard/sign-in",
                &[
                    ("email", counselor.email.as_str()),
                    ("password", USER_PASSWORD),
                    ("csrf", token),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!browser.cookies.contains_key("tether_dashboard"));
    }

    browser.sign_in_as(&counselor).await;
    let html = browser
        .page(&format!("/dashboard/patients/{}/schedule", patient.user_id))
        .await;
    let token = csrf_of(&html);
    let attendance = format!(
        "/dashboard/patients/{}/sessions/{session}/attendance",
        patient.user_id
    );
    // A forged post (another site cannot know the token) changes nothing.
    for forged in [
        vec![("attendance", "absent")],
        vec![("attendance", "absent"), ("csrf", "forged")],
    ] {
        let response = browser.post(&attendance, &forged).await;
        assert!(
            matches!(
                response.status(),
                StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
            ),
            "{}",
            response.status()
        );
        assert!(response
            .headers()
            .get(CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let (_, sessions) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/sessions", patient.user_id),
            Some(&counselor.access),
        )
        .await,
    )
    .await;
    assert_eq!(sessions["items"][0]["attendance"], json!(null));
    // Signing out needs the token too.
    let response = browser
        .post("/dashboard/sign-out", &[("csrf", "forged")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    browser.page("/dashboard/caseload").await;
    // With the page's own token, the same post goes through.
    let response = browser
        .post(
            &attendance,
            &[("attendance", "absent"), ("csrf", token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_and_no_page_is_cached() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as(&counselor).await;
    let session_cookie = browser
        .set_cookies
        .iter()
        .find(|c| c.starts_with("tether_dashboard=") && !c.contains("Max-Age=0"))
        .unwrap()
        .clone();
    for flag in [
        "; HttpOnly",
        "; Secure",
        "; SameSite=Strict",
        "; Path=/dashboard",
    ] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    assert!(
        !session_cookie.contains("Max-Age"),
        "a browser-session cookie"
    );
    assert!(browser.set_cookies.iter().all(|c| c.contains("; HttpOnly")
        && c.contains("; Secure")
        && c.contains("; SameSite=Strict")));

    for path in [
        "/dashboard/caseload",
        "/dashboard/sign-in",
        "/dashboard/no-such-page",
    ] {
        let response = browser.get(path).await;
        assert_eq!(
            response.headers().get(CACHE_CONTROL).unwrap(),
            "no-store",
            "{path}"
        );
        let csp = response
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    // The database holds only a hash of the session token, and no log line holds either the
    // token or the password.
    let token = browser.cookies["tether_dashboard"].clone();
    let stored = stored_session_hashes(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 64);
    assert!(!stored[0].contains(&token) && !token.contains(&stored[0]));
    let log = app.log();
    assert!(!log.contains(&token), "the session token reached the log");
    assert!(!log.contains(USER_PASSWORD), "the password reached the log");

    // Signing in again replaces the session: the old token is dead at once.
    let old_token = token.clone();
    browser.sign_in_as(&counselor).await;
    assert_ne!(browser.cookies["tether_dashboard"], old_token);
    let mut thief = Browser::new(&app);
    thief.cookies.insert("tether_dashboard".into(), old_token);
    assert_eq!(
        thief.get("/dashboard/caseload").await.status(),
        StatusCode::SEE_OTHER
    );

    // Signing out ends the session on the server, not only in this browser.
    let token = csrf_of(&browser.page("/dashboard/caseload").await);
    let stolen = browser.cookies["tether_dashboard"].clone();
    let response = browser
        .post("/dashboard/sign-out", &[("csrf", token.as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/sign-in?reason=signed_out");
    assert!(!browser.cookies.contains_key("tether_dashboard"));
    browser.cookies.insert("tether_dashboard".into(), stolen);
    let response = browser.get("/dashboard/caseload").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// `TETHER_DASHBOARD_IDLE_MINUTES` for three seconds.
const IDLE_OF_THREE_SECONDS: &str = "0.05";

/// A counselor signed in to the dashboard of `app`, and their caseload page.
async fn signed_in_on_the_caseload(app: &TestApp) -> (Browser<'_>, String) {
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut browser = Browser::new(app);
    browser.sign_in_as(&counselor).await;
    let html = browser.page("/dashboard/caseload").await;
    (browser, html)
}

#[tokio::test]
async fn a_dashboard_left_idle_signs_the_counselor_out() {
    let app = spawn_app_with(&[("TETHER_DASHBOARD_IDLE_MINUTES", IDLE_OF_THREE_SECONDS)]).await;
    let (mut browser, html) = signed_in_on_the_caseload(&app).await;
    // The page leaves itself a little after the idle time, so nothing stays on screen.
    assert!(
        html.contains(r#"<meta http-equiv="refresh" content="8">"#),
        "{html}"
    );
    assert!(html.contains("signed out after 3 seconds without activity"));

    // Activity keeps the session alive past the idle time…
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        browser.page("/dashboard/caseload").await;
    }
    // …and three seconds without any ends it.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let response = browser.get("/dashboard/caseload").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/sign-in?reason=idle");
    let html = browser.page("/dashboard/sign-in?reason=idle").await;
    assert!(html.contains("signed out after a period of inactivity"));
    // The session is over on the server: the old cookie does not come back to life.
    assert!(!browser.cookies.contains_key("tether_dashboard"));
}

#[tokio::test]
async fn the_idle_warnings_stay_signed_in_button_keeps_the_session_and_needs_the_pages_token() {
    let app = spawn_app_with(&[("TETHER_DASHBOARD_IDLE_MINUTES", IDLE_OF_THREE_SECONDS)]).await;
    let (mut browser, html) = signed_in_on_the_caseload(&app).await;
    // The warning is on every signed-in page, hidden until the script shows it; without
    // scripts the page still leaves itself.
    assert!(html.contains(r#"<body data-idle-secs="3">"#), "{html}");
    assert!(html.contains(r#"<script src="/dashboard/idle.js" defer></script>"#));
    assert!(html.contains(r#"<noscript><meta http-equiv="refresh" content="8"></noscript>"#));
    assert!(html.contains(r#"role="alertdialog""#) && html.contains("Stay signed in"));
    let script = browser.get("/dashboard/idle.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    let token = csrf_of(&html);

    let forged = browser
        .post("/dashboard/keep-alive", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Pressing the button every 1.5 s keeps the session past the idle time, without a page load.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let kept = browser
            .post("/dashboard/keep-alive", &[("csrf", token.as_str())])
            .await;
        assert_eq!(kept.status(), StatusCode::NO_CONTENT);
    }
    let response = browser.get("/dashboard/caseload").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Unanswered, the session ends as before.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let late = browser
        .post("/dashboard/keep-alive", &[("csrf", token.as_str())])
        .await;
    assert_eq!(late.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&late), "/dashboard/sign-in?reason=idle");
}

#[tokio::test]
async fn a_patient_without_consent_is_a_404_page_and_never_data() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let other_counselor = app.counselor(&admin).await;
    let private = app.patient_without_consent(&counselor).await;
    let shared = app.patient(&counselor).await;
    let mut desk = Phone::new(counselor.clone());
    let session = schedule_session(&app, &mut desk, shared.user_id, now_ms() - HOUR_MS).await;

    let mut browser = Browser::new(&app);
    browser.sign_in_as(&counselor).await;
    let token = csrf_of(&browser.page("/dashboard/caseload").await);
    for path in [
        format!("/dashboard/patients/{}/schedule", private.user_id),
        format!("/dashboard/patients/{}/schedule", Uuid::new_v4()),
        "/dashboard/patients/not-a-uuid/schedule".to_string(),
        "/dashboard/no-such-page".to_string(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response
            .headers()
            .get(CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains("There is nothing here"), "{html}");
        // Still signed in: the page keeps the navigation and the sign-out button.
        assert!(
            html.contains(r#"<nav aria-label="Main">"#) && html.contains("Sign out"),
            "{path}: {html}"
        );
        assert!(!html.contains("Evening group"));
    }
    // `/dashboard` opens the caseload; the stylesheet is served by the binary itself.
    let response = browser.get("/dashboard").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/caseload");
    let response = browser.get("/dashboard/dashboard.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get(CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    // The JSON API keeps its JSON errors.
    assert_error(
        app.get("/v1/no-such-endpoint", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Another counselor (not on the care team) cannot see or change the shared patient.
    let mut stranger = Browser::new(&app);
    stranger.sign_in_as(&other_counselor).await;
    let stranger_token = csrf_of(&stranger.page("/dashboard/caseload").await);
    let response = stranger
        .get(&format!("/dashboard/patients/{}/schedule", shared.user_id))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = stranger
        .post(
            &format!(
                "/dashboard/patients/{}/sessions/{session}/attendance",
                shared.user_id
            ),
            &[("attendance", "absent"), ("csrf", stranger_token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Withdrawing consent cuts the dashboard at once, for reads and writes.
    browser
        .page(&format!("/dashboard/patients/{}/schedule", shared.user_id))
        .await;
    let (_, consents) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/consents", shared.user_id),
            Some(&shared.access),
        )
        .await,
    )
    .await;
    let consent = consents["items"][0]["id"].as_str().unwrap().to_string();
    let revoked = app
        .client
        .delete(app.url(&format!(
            "/v1/patients/{}/consents/{consent}",
            shared.user_id
        )))
        .bearer_auth(&shared.access)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let response = browser
        .get(&format!("/dashboard/patients/{}/schedule", shared.user_id))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = browser
        .post(
            &format!(
                "/dashboard/patients/{}/sessions/{session}/attendance",
                shared.user_id
            ),
            &[("attendance", "attended"), ("csrf", token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!browser
        .page("/dashboard/caseload")
        .await
        .contains(&shared.user_id.to_string()));
}

#[tokio::test]
async fn attendance_reschedule_and_cancel_on_the_dashboard_reach_the_patients_phone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let mut desk = Phone::new(counselor.clone());
    let past = schedule_session(&app, &mut desk, patient.user_id, now_ms() - 2 * HOUR_MS).await;
    let next = schedule_session(&app, &mut desk, patient.user_id, now_ms() + 48 * HOUR_MS).await;
    let later = schedule_session(&app, &mut desk, patient.user_id, now_ms() + 96 * HOUR_MS).await;
    let mut phone = Phone::new(patient.clone());
    phone.pull_all(&app, 100).await;
    let key = |doc| DocKey {
        patient: patient.user_id,
        kind: DocKind::Session,
        doc,
    };
    assert_eq!(phone.replica.get(&key(past), "attendance"), None);

    let mut browser = Browser::new(&app);
    browser.sign_in_as(&counselor).await;
    let schedule = format!("/dashboard/patients/{}/schedule", patient.user_id);
    let html = browser.page(&schedule).await;
    assert!(html.contains(&past.to_string()) && html.contains(&next.to_string()));
    // An unmarked session's selector offers no mark until the counselor picks one: a click on
    // "Mark" must not record an attendance nobody chose.
    let selector = &html[html.find(&format!("id=\"mark-{past}\"")).unwrap()..];
    let selector = &selector[..selector.find("</select>").unwrap()];
    assert!(
        selector.contains(r#"<option value="" selected disabled>Not marked</option>"#),
        "{selector}"
    );
    assert_eq!(selector.matches("selected").count(), 1, "{selector}");
    let token = csrf_of(&html);
    let base = format!("/dashboard/patients/{}/sessions", patient.user_id);

    let response = browser
        .post(
            &format!("{base}/{past}/attendance"),
            &[("attendance", "attended"), ("csrf", token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{schedule}?done=attendance"));
    // Two days ahead, 17:30 in the patient's zone (UTC: no track, no check-in yet).
    let new_start =
        ((now_ms() + 48 * HOUR_MS) / 86_400_000) * 86_400_000 + 17 * HOUR_MS + HOUR_MS / 2;
    let local = {
        let secs = new_start / 1000;
        let days = secs / 86_400;
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{d:02}T17:30")
    };
    let response = browser
        .post(
            &format!("{base}/{next}/reschedule"),
            &[("starts_at", local.as_str()), ("csrf", token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = browser
        .post(
            &format!("{base}/{later}/cancel"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The phone's next pull carries all three changes.
    phone.pull_all(&app, 100).await;
    assert_eq!(
        phone.replica.get(&key(past), "attendance"),
        Some(&json!("attended"))
    );
    assert_eq!(
        phone.replica.get(&key(next), "starts_at"),
        Some(&json!(new_start))
    );
    assert_eq!(
        phone.replica.get(&key(later), "status"),
        Some(&json!("cancelled"))
    );
    // Opening the schedule page was a staff read of the patient's sessions: it is in their log.
    let (_, log) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/access-log", patient.user_id),
            Some(&patient.access),
        )
        .await,
    )
    .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read_sessions"
                && e["actor_id"] == counselor.user_id.to_string()),
        "{log}"
    );
    let html = browser.page(&format!("{schedule}?done=attendance")).await;
    assert!(html.contains("Attendance saved"));
    assert!(html.contains(r#"data-attendance="attended""#));
    assert!(html.contains("✕ cancelled"));
    assert!(html.contains(&format!("{base}/{later}/restore")));

    // A cancellation made by mistake is undone the same way, and the phone hears of it too.
    let response = browser
        .post(
            &format!("{base}/{later}/restore"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(location(&response), format!("{schedule}?done=restored"));
    phone.pull_all(&app, 100).await;
    assert_eq!(
        phone.replica.get(&key(later), "status"),
        Some(&json!("scheduled"))
    );

    // Bad values get a clear page, and nothing is written.
    for (path, form) in [
        (
            format!("{base}/{past}/attendance"),
            vec![("attendance", "asleep")],
        ),
        (
            format!("{base}/{next}/attendance"),
            vec![("attendance", "attended")],
        ),
        (
            format!("{base}/{next}/reschedule"),
            vec![("starts_at", "next tuesday")],
        ),
    ] {
        let mut form = form.clone();
        form.push(("csrf", token.as_str()));
        let response = browser.post(&path, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
    }
    let before = phone.replica.get(&key(next), "attendance").cloned();
    phone.pull_all(&app, 100).await;
    assert_eq!(phone.replica.get(&key(next), "attendance").cloned(), before);
    assert_eq!(before, None);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_dashboard_sign_in_like_the_api() {
    let app = spawn_app_with(&[("TETHER_LOGIN_MAX_FAILURES", "2")]).await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let mut browser = Browser::new(&app);
    for _ in 0..2 {
        let response = browser.sign_in(&counselor.email, "a wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked now, even with the right password; the page says when to come back.
    let response = browser.sign_in(&counselor.email, USER_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));
    assert!(!browser.cookies.contains_key("tether_dashboard"));
    // The API shares the same counter.
    assert_error(
        app.post(
            "/v1/auth/login",
            None,
            &json!({ "email": counselor.email, "password": USER_PASSWORD }),
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
}
