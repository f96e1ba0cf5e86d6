//! Proof that the suite ran on the backend it was asked to: a PostgreSQL run that silently fell
//! back to SQLite would otherwise pass unnoticed.

use crate::harness::*;

#[tokio::test]
async fn the_suite_runs_on_the_backend_ci_asked_for() {
    let expected = std::env::var("TETHER_EXPECT_BACKEND").unwrap_or_default();
    let app = spawn_app().await;
    match backend() {
        Backend::Postgres(_) => {
            assert!(app.db.url.starts_with("postgres"), "{}", app.db.url);
            assert!(
                app.log().contains(r#""database":"postgres://"#),
                "the server does not report PostgreSQL:\n{}",
                app.log()
            );
            assert_ne!(
                expected, "sqlite",
                "TEST_POSTGRES_URL is set but SQLite was expected"
            );
        }
        Backend::Sqlite => {
            assert!(
                app.log().contains(r#""database":"sqlite:"#),
                "{}",
                app.log()
            );
            assert_ne!(
                expected, "postgres",
                "TETHER_EXPECT_BACKEND=postgres but TEST_POSTGRES_URL is not set: the PostgreSQL run would be skipped"
            );
        }
    }
}
