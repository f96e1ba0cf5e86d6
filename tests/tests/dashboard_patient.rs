//! The dashboard's patient page, black-box: a counselor signs in through the real sign-in form
//! (cookies and CSRF by hand, redirects not followed, as a browser sees them), opens a patient
//! whose check-ins, exercises and sessions were pushed by phones, and the page's charts carry the
//! numbers computed here; every view lands in the patient's access log; a patient the API would
//! refuse is a 404 page with nothing of theirs on it.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use sync_core::DocKind;
use uuid::Uuid;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-10-01 00:00 in New York (UTC−5 then), a Thursday.
const OCT_1: i64 = 1_790_830_800_000;
const NY: i64 = -300;
const OCTOBER: &str = "?from=2026-10-01&to=2026-10-28";

/// A browser: its own cookie jar of one session, no automatic redirects.
struct Browser<'a> {
    app: &'a TestApp,
    client: Client,
    cookie: String,
}

/// The value of cookie `name` in the response's `Set-Cookie` headers.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The value of attribute `attr` in the first tag that contains `marker`.
fn attr(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!(" {attr}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(tag[from..from + len].to_string())
}

impl<'a> Browser<'a> {
    /// Signs in through the form, as a person would.
    async fn sign_in(app: &'a TestApp, email: &str) -> Browser<'a> {
        let client = Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let form = client
            .get(app.url("/dashboard/sign-in"))
            .send()
            .await
            .unwrap();
        let pre = set_cookie(form.headers(), "tether_sign_in").expect("a sign-in cookie");
        let html = form.text().await.unwrap();
        let csrf = attr(&html, "name=\"csrf\"", "value").expect("a csrf field");
        let response = client
            .post(app.url("/dashboard/sign-in"))
            .header(COOKIE, format!("tether_sign_in={pre}"))
            .form(&[
                ("email", email),
                ("password", USER_PASSWORD),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in refused");
        let session = set_cookie(response.headers(), "tether_dashboard").expect("a session");
        Browser {
            app,
            client,
            cookie: format!("tether_dashboard={session}"),
        }
    }

    /// GETs a dashboard path: status, headers, body.
    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let response = self
            .client
            .get(self.app.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }
}

fn checkin(phone: &mut Phone, at: i64, intensity: i64, triggers: &[&str], lapse: bool) {
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    phone.write(patient, DocKind::Checkin, doc, "recorded_at", json!(at));
    phone.write(patient, DocKind::Checkin, doc, "tz_offset_min", json!(NY));
    phone.write(
        patient,
        DocKind::Checkin,
        doc,
        "intensity",
        json!(intensity),
    );
    for t in triggers {
        let field = format!("triggers/{t}");
        phone.write(patient, DocKind::Checkin, doc, &field, json!(true));
    }
    if lapse {
        phone.write(patient, DocKind::Checkin, doc, "lapse", json!(true));
    }
}

fn exercise(phone: &mut Phone, at: i64, skill: &str, before: i64, after: i64) {
    let patient = phone.session.user_id;
    let doc = Uuid::now_v7();
    for (field, value) in [
        ("skill", json!(skill)),
        ("started_at", json!(at)),
        ("tz_offset_min", json!(NY)),
        ("craving_before", json!(before)),
        ("craving_after", json!(after)),
    ] {
        phone.write(patient, DocKind::Exercise, doc, field, value);
    }
}

fn session(counselor: &mut Phone, patient: Uuid, at: i64, status: &str, attendance: Option<&str>) {
    let doc = Uuid::now_v7();
    for (field, value) in [
        ("kind", json!("group")),
        ("title", json!("Process group")),
        ("starts_at", json!(at)),
        ("duration_min", json!(180)),
        ("status", json!(status)),
    ] {
        counselor.write(patient, DocKind::Session, doc, field, value);
    }
    if let Some(a) = attendance {
        counselor.write(patient, DocKind::Session, doc, "attendance", json!(a));
    }
}

/// October 2026 of one patient: check-ins on four local days (one outside the range on the
/// 29th), one lapse, two exercises, and sessions attended, missed, cancelled and out of range.
async fn october(app: &TestApp, counselor: &mut Phone, phone: &mut Phone) {
    let at = |d: i64, h: i64, m: i64| OCT_1 + (d - 1) * DAY + h * HOUR + m * 60_000;
    checkin(phone, at(1, 8, 0), 3, &["stress"], false);
    checkin(phone, at(1, 21, 0), 7, &["stress", "lonely"], false);
    checkin(phone, at(2, 13, 0), 5, &["tired"], false);
    checkin(phone, at(4, 23, 30), 9, &["lonely"], true);
    checkin(phone, at(10, 10, 0), 4, &[], false);
    checkin(phone, at(29, 10, 0), 6, &["boredom"], false);
    exercise(phone, at(1, 21, 30), "urge_surfing", 7, 3);
    exercise(phone, at(2, 13, 30), "paced_breathing", 5, 4);
    let body = phone.push(app).await;
    assert_eq!(body["rejected"], json!([]), "{body}");
    let id = phone.session.user_id;
    session(counselor, id, at(3, 18, 0), "scheduled", Some("attended"));
    session(counselor, id, at(6, 18, 0), "scheduled", Some("absent"));
    session(counselor, id, at(20, 18, 0), "cancelled", None);
    session(counselor, id, at(30, 18, 0), "scheduled", None);
    let body = counselor.push(app).await;
    assert_eq!(body["rejected"], json!([]), "{body}");
}

async fn access_log(app: &TestApp, patient: &Session) -> Vec<Value> {
    let (status, body) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/access-log", patient.user_id),
            Some(&patient.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_patient_page_draws_the_expected_points_lapses_sessions_and_weeks() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut counselor = Phone::new(app.counselor(&admin).await);
    let mut phone = Phone::new(app.patient(&counselor.session).await);
    october(&app, &mut counselor, &mut phone).await;
    let browser = Browser::sign_in(&app, &counselor.session.email).await;

    let path = format!("/dashboard/patients/{}{OCTOBER}", phone.session.user_id);
    let (status, headers, html) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert!(html.contains("Pat Patient"));
    assert!(
        html.contains("<title>Patient · Tether</title>"),
        "no name in the title"
    );

    let chart = |id: &str, data: &str| attr(&html, &format!("id=\"{id}\""), data);
    // Days with check-ins in range: the 1st, 2nd, 4th and 10th (the 29th is outside).
    assert_eq!(chart("craving-chart", "data-points").as_deref(), Some("4"));
    assert_eq!(chart("craving-chart", "data-lapses").as_deref(), Some("1"));
    // Attended and missed; the cancelled one and the one on the 30th are not drawn.
    assert_eq!(
        chart("craving-chart", "data-sessions").as_deref(),
        Some("2")
    );
    assert_eq!(
        chart("craving-chart", "data-from").as_deref(),
        Some("2026-10-01")
    );
    assert_eq!(
        chart("craving-chart", "data-to").as_deref(),
        Some("2026-10-28")
    );
    assert_eq!(html.matches("class=\"point\"").count(), 4);
    // Five check-ins in range, each at its own weekday and hour.
    assert_eq!(chart("heatmap-chart", "data-cells").as_deref(), Some("5"));
    // stress, lonely, tired.
    assert_eq!(chart("triggers-chart", "data-bars").as_deref(), Some("3"));
    // urge surfing (−4) above paced breathing (−1).
    assert_eq!(chart("skills-chart", "data-bars").as_deref(), Some("2"));
    let urge = html.find(">urge surfing<").unwrap();
    let paced = html.find(">paced breathing<").unwrap();
    assert!(urge < paced, "the bigger craving drop ranks first");
    // Weeks starting 28 Sep, 5, 12, 19 and 26 Oct; a patient on no track is an adult.
    assert_eq!(chart("hours-chart", "data-weeks").as_deref(), Some("5"));
    assert_eq!(chart("hours-chart", "data-minimum").as_deref(), Some("9"));
    assert!(html.contains("minimum 9 h/week (adult)"));
    // The daily table under the chart: the 1st had cravings 3 and 7.
    assert!(html.contains("<td>2026-10-01</td><td class=\"num\">2</td><td class=\"num\">5.0</td><td class=\"num\">7</td>"));
    // Axis labels with units, and the attendance in words.
    assert!(html.contains(">Craving (0–10)<"));
    assert!(html.contains(">Hours per week<"));
    assert!(html.contains("1 attended, 0 late, 0 left early, 1 missed, 0 excused"));
    // The sessions of the range, newest first, the cancelled one included and marked so.
    let table = &html[html.find("id=\"sessions-in-range\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr class=\"status-").count(), 3, "{table}");
    let cancelled = table.find(">cancelled<").unwrap();
    let absent = table.find(">absent<").unwrap();
    let attended = table.find(">attended<").unwrap();
    assert!(cancelled < absent && absent < attended, "{table}");
    // Skills by the trigger active in the 3 hours before the exercise.
    assert!(html.contains("<td>Tired</td><td>paced breathing (+1.0, 1 time)</td>"));
    assert!(html.contains("<td>Lonely</td><td>urge surfing (+4.0, 1 time)</td>"));
}

#[tokio::test]
async fn opening_a_patient_page_is_written_to_their_access_log_and_shown_on_the_page() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    assert!(access_log(&app, &patient).await.is_empty());
    let browser = Browser::sign_in(&app, &counselor.email).await;

    let (status, _, html) = browser
        .get(&format!("/dashboard/patients/{}", patient.user_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");

    let log = access_log(&app, &patient).await;
    let mut actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["read_iop_hours", "read_sessions", "read_trends"]);
    assert!(log
        .iter()
        .all(|e| e["actor_id"] == json!(counselor.user_id.to_string())));
    let table = &html[html.find("id=\"access-log\"").unwrap()..];
    // In words, the code and the consent's id kept only as data for a script.
    for (action, words) in [
        ("read_iop_hours", "IOP hours"),
        ("read_sessions", "Sessions"),
        ("read_trends", "Trends and risk flags"),
    ] {
        assert!(
            table.contains(&format!("<span data-action=\"{action}\">{words}</span>")),
            "{action}"
        );
    }
    assert!(!table.contains("<code>read_"), "no codes shown");
    let consent = log[0]["consent_id"].as_str().unwrap();
    assert!(
        table.contains(&format!("<span data-consent=\"{consent}\">Given ")),
        "the consent it was read under, in words"
    );
    assert!(table.contains("to the care team</span>"));
}

#[tokio::test]
async fn a_patient_the_api_would_refuse_is_a_404_page_that_shows_and_logs_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let other = app.counselor(&admin).await;
    let unconsented = app.patient_without_consent(&counselor).await;
    let revoked = app.patient(&counselor).await;
    let theirs = app.patient(&other).await;
    let (_, consents) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/consents", revoked.user_id),
            Some(&revoked.access),
        )
        .await,
    )
    .await;
    for c in consents["items"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let response = app
            .client
            .delete(app.url(&format!("/v1/patients/{}/consents/{id}", revoked.user_id)))
            .bearer_auth(&revoked.access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let browser = Browser::sign_in(&app, &counselor.email).await;

    for (who, id) in [
        ("without consent", unconsented.user_id),
        ("after revoking consent", revoked.user_id),
        ("on another counselor's caseload", theirs.user_id),
        ("that does not exist", Uuid::new_v4()),
    ] {
        let (status, headers, html) = browser.get(&format!("/dashboard/patients/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a patient {who}");
        assert!(headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert!(!html.contains("Pat Patient"), "a patient {who}: {html}");
        assert!(!html.contains("craving-chart"), "a patient {who}");
    }
    for patient in [&unconsented, &revoked, &theirs] {
        assert!(access_log(&app, patient).await.is_empty());
    }
}

#[tokio::test]
async fn the_range_picker_defaults_to_eight_weeks_and_refuses_bad_dates_in_words() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let browser = Browser::sign_in(&app, &counselor.email).await;
    let page = format!("/dashboard/patients/{}", patient.user_id);

    let (status, _, html) = browser.get(&page).await;
    assert_eq!(status, StatusCode::OK);
    let from = attr(&html, "name=\"from\"", "value").unwrap();
    let to = attr(&html, "name=\"to\"", "value").unwrap();
    let days = |d: &str| {
        let p: Vec<i64> = d.split('-').map(|x| x.parse().unwrap()).collect();
        // Days since an epoch good enough to subtract two dates of this century.
        let (y, m) = if p[1] <= 2 {
            (p[0] - 1, p[1] + 12)
        } else {
            (p[0], p[1])
        };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + p[2]
    };
    assert_eq!(days(&to) - days(&from), 55, "{from} to {to}");
    assert!(html.contains("aria-current=\"true\" class=\"current\">8 weeks<"));
    // A blank field (a cleared date input) is the default.
    let (status, _, _) = browser.get(&format!("{page}?from=&to=")).await;
    assert_eq!(status, StatusCode::OK);

    for (query, words) in [
        ("?from=2026-13-01", "like 2026-03-31"),
        ("?from=10/01/2026", "like 2026-03-31"),
        ("?from=2026-10-28&to=2026-10-01", "must not be after"),
        ("?from=2020-01-01&to=2026-10-01", "at most 100 weeks"),
    ] {
        let (status, headers, html) = browser.get(&format!("{page}{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(html.contains(words), "{query}: {html}");
        assert!(!html.contains("craving-chart"));
    }
    // A bad range logs no read.
    assert_eq!(
        access_log(&app, &patient).await.len(),
        2 * 3,
        "the two views shown wrote three entries each; the refused ranges none"
    );
    let (status, _, _) = browser.get("/dashboard/patients/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_patient_page_needs_a_dashboard_session_and_escapes_what_staff_typed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let email = format!("patient-{}@example.test", Uuid::new_v4().simple());
    let (status, enrolled) = status_and_json(
        app.post(
            "/v1/patients",
            Some(&counselor.access),
            &json!({ "email": email, "display_name": "<script>alert(1)</script> & Co" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let patient = app
        .activate(enrolled["enrollment_code"].as_str().unwrap(), &email)
        .await;
    app.consent(
        &patient,
        &json!({ "grantee": "care_team", "purpose": "treatment" }),
    )
    .await;
    let page = format!("/dashboard/patients/{}", patient.user_id);

    let no_redirects = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let anonymous = no_redirects.get(app.url(&page)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(anonymous.headers()[LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/dashboard/sign-in"));
    // A bearer token is not a dashboard session.
    let with_token = no_redirects
        .get(app.url(&page))
        .bearer_auth(&counselor.access)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::SEE_OTHER);

    let browser = Browser::sign_in(&app, &counselor.email).await;
    let (status, _, html) = browser.get(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)"));
    // askama writes numeric character references.
    assert!(
        html.contains(">&#60;script&#62;alert(1)&#60;/script&#62; &#38; Co</h1>"),
        "escaped, not dropped"
    );
}
