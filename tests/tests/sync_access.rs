//! No patient's records reach anyone who may not see them, through any endpoint.

use crate::harness::*;
use crate::phone::Phone;
use reqwest::StatusCode;

#[tokio::test]
async fn only_the_patient_and_their_care_team_can_read_their_records() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let outsider_counselor = app.counselor(&admin).await;
    let mut patient = Phone::new(app.patient(&counselor).await);
    let other_patient = app.patient(&outsider_counselor).await;
    patient.checkin(8, &["pain"]);
    patient.push(&app).await;
    let id = patient.session.user_id;

    for kind in ["checkins", "exercises", "sessions"] {
        let path = format!("/v1/patients/{id}/{kind}");
        for allowed in [&patient.session, &counselor] {
            let r = app.get(&path, Some(&allowed.access)).await;
            assert_eq!(r.status(), StatusCode::OK, "{kind}");
        }
        for refused in [&other_patient, &outsider_counselor, &admin] {
            assert_error(
                app.get(&path, Some(&refused.access)).await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        assert_error(
            app.get(&path, None).await,
            StatusCode::UNAUTHORIZED,
            "missing_token",
        )
        .await;
        // A patient that does not exist looks exactly like one the caller may not see.
        let nobody = uuid::Uuid::new_v4();
        assert_error(
            app.get(
                &format!("/v1/patients/{nobody}/{kind}"),
                Some(&counselor.access),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    // Pulls: the care team gets the check-in, nobody else does.
    let mut team = Phone::new(counselor);
    assert_eq!(team.pull_all(&app, 100).await, 4);
    for outsider in [other_patient, outsider_counselor, admin] {
        let mut phone = Phone::new(outsider);
        assert_eq!(phone.pull_all(&app, 100).await, 0);
    }
}
