//! Dates and time bounds in query strings: one range, the years 1900–2999, on every endpoint
//! that takes one, so nothing answers with a date outside what `YYYY-MM-DD` can say.

use crate::harness::*;
use reqwest::StatusCode;

/// 1900-01-01T00:00Z and 3000-01-01T00:00Z in milliseconds since the epoch.
const FIRST_MS: i64 = -2_208_988_800_000;
const END_MS: i64 = 32_503_680_000_000;

#[tokio::test]
async fn a_trends_window_ending_in_the_year_zero_is_refused_not_answered_with_a_negative_year() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let trends = format!("/v1/patients/{}/trends", patient.user_id);
    // The request of the report: it answered 200 with "from":"-001-12-14".
    for query in [
        "?to=0000-01-10",
        "?from=0000-01-01&to=0000-01-10",
        "?from=1899-12-31",
        "?to=3000-01-01",
        "?from=9999-12-31&to=9999-12-31",
    ] {
        for token in [&patient.access, &counselor.access] {
            let body = assert_error(
                app.get(&format!("{trends}{query}"), Some(token)).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_query",
            )
            .await;
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("1900–2999"), "{query}: {message}");
        }
    }
    // The edges of the range are answered, and a default window never reaches before it.
    for (query, from, to) in [
        ("?to=1900-01-10", "1900-01-01", "1900-01-10"),
        ("?from=1900-01-01&to=1900-01-01", "1900-01-01", "1900-01-01"),
        ("?from=2999-12-04&to=2999-12-31", "2999-12-04", "2999-12-31"),
        ("?to=2999-12-31", "2999-12-04", "2999-12-31"),
    ] {
        let (status, body) = status_and_json(
            app.get(&format!("{trends}{query}"), Some(&patient.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(
            (body["from"].as_str(), body["to"].as_str()),
            (Some(from), Some(to)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn every_date_and_time_bound_of_a_query_is_held_to_the_years_1900_to_2999() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let base = format!("/v1/patients/{}", patient.user_id);

    let hours = format!("{base}/iop-hours");
    for query in [
        "?from=0000-01-10",
        "?to=3000-01-01",
        "?from=1899-12-31&to=1900-01-07",
    ] {
        assert_error(
            app.get(&format!("{hours}{query}"), Some(&patient.access))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        )
        .await;
    }
    for query in [
        "?from=1900-01-01&to=1900-01-07",
        "?from=2999-12-25&to=2999-12-31",
    ] {
        let (status, body) = status_and_json(
            app.get(&format!("{hours}{query}"), Some(&patient.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }

    for list in ["checkins", "exercises", "sessions", "access-log"] {
        let path = format!("{base}/{list}");
        for query in [
            format!("?from={}", i64::MIN),
            format!("?from={}", FIRST_MS - 1),
            format!("?to={}", END_MS + 1),
            format!("?from=0&to={}", i64::MAX),
        ] {
            let body = assert_error(
                app.get(&format!("{path}{query}"), Some(&patient.access))
                    .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_query",
            )
            .await;
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("1900–2999"), "{list}{query}: {message}");
        }
        let query = format!("?from={FIRST_MS}&to={END_MS}");
        let (status, body) = status_and_json(
            app.get(&format!("{path}{query}"), Some(&patient.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}{query}: {body}");
    }
}
