//! Both backends' migrations describe the same schema history, and every migration can be undone.

use crate::harness::*;
use api::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::MigrationHarness;

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite: Vec<String> = MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let postgres: Vec<String> = MigrationSource::<Pg>::migrations(&POSTGRES_MIGRATIONS)
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = fresh_database();
    match backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&db.url).unwrap();
            let applied = conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .unwrap()
                .len();
            assert!(applied > 0);
            conn.revert_all_migrations(SQLITE_MIGRATIONS).unwrap();
            assert_eq!(
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .unwrap()
                    .len(),
                applied
            );
        }
        Backend::Postgres(_) => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            let applied = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .unwrap()
                .len();
            assert!(applied > 0);
            conn.revert_all_migrations(POSTGRES_MIGRATIONS).unwrap();
            assert_eq!(
                conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .unwrap()
                    .len(),
                applied
            );
        }
    }
}

/// A field's winner as the `field_state` table, and later view, shows it.
#[derive(Debug, PartialEq, diesel::QueryableByName)]
struct Winner {
    #[diesel(sql_type = diesel::sql_types::Text)]
    op_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    field: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
}

/// An op log of three ops, two of them the winners of their fields (the third superseded).
const SYNCED: &str = "
INSERT INTO ops VALUES
    ('op-1', 'p', 'checkin', 'd', 'mood', '3', 'h1', 1, 'a', 'dev', 0),
    ('op-2', 'p', 'checkin', 'd', 'mood', '4', 'h2', 2, 'a', 'dev', 0),
    ('op-3', 'p', 'checkin', 'd', 'intensity', '5', 'h3', 3, 'a', 'dev', 0);
INSERT INTO field_state VALUES
    ('p', 'checkin', 'd', 'mood', '4', 'h2', 'op-2', 'dev', 7),
    ('p', 'checkin', 'd', 'intensity', '5', 'h3', 'op-3', 'dev', 8);
";
const WINNERS: &str = "SELECT op_id, field, value, seq FROM field_state ORDER BY seq";
const MARKS: &str =
    "SELECT id AS op_id, field, value, seq FROM ops WHERE seq IS NOT NULL ORDER BY seq";

/// Moving the winners into the op log (and back) keeps every field's winner and stream number.
fn winners_survive_the_move<C, DB>(
    conn: &mut C,
    migrations: fn() -> diesel_migrations::EmbeddedMigrations,
    load: fn(&mut C, &str) -> Vec<Winner>,
) where
    DB: diesel::backend::Backend,
    C: Connection<Backend = DB> + MigrationHarness<DB>,
    diesel_migrations::EmbeddedMigrations: MigrationSource<DB>,
{
    while !conn
        .applied_migrations()
        .unwrap()
        .iter()
        .any(|v| v.to_string().ends_with("000007"))
    {
        conn.run_next_migration(migrations()).unwrap();
    }
    conn.batch_execute(SYNCED).unwrap();
    let before: Vec<Winner> = load(conn, WINNERS);
    assert_eq!(before.len(), 2);

    let moved = conn.run_next_migration(migrations()).unwrap();
    assert!(moved.to_string().ends_with("000008"), "{moved}");
    let marked: Vec<Winner> = load(conn, MARKS);
    assert_eq!(marked, before, "the log's marks are the old winners");
    let viewed: Vec<Winner> = load(conn, WINNERS);
    assert_eq!(viewed, before, "the view shows the old winners");

    conn.revert_last_migration(migrations()).unwrap();
    let back: Vec<Winner> = load(conn, WINNERS);
    assert_eq!(back, before, "undone, the table holds them again");
}

#[test]
fn field_winners_survive_their_move_into_the_op_log() {
    let db = fresh_database();
    match backend() {
        Backend::Sqlite => winners_survive_the_move(
            &mut SqliteConnection::establish(&db.url).unwrap(),
            || SQLITE_MIGRATIONS,
            |c, q| diesel::RunQueryDsl::load(diesel::sql_query(q), c).unwrap(),
        ),
        Backend::Postgres(_) => winners_survive_the_move(
            &mut PgConnection::establish(&db.url).unwrap(),
            || POSTGRES_MIGRATIONS,
            |c, q| diesel::RunQueryDsl::load(diesel::sql_query(q), c).unwrap(),
        ),
    }
}

/// The versions of issue 18's migrations, newest first: pull positions, per-clinic emails,
/// sessions.
const HARDENING: [&str; 3] = ["20261203180005", "20261203100002", "20261203100001"];

/// Takes a database back to before the hardening migrations, data and all.
fn revert_hardening(db: &TestDatabase) {
    fn revert<DB, C>(conn: &mut C, migrations: fn() -> diesel_migrations::EmbeddedMigrations)
    where
        DB: diesel::backend::Backend,
        C: MigrationHarness<DB>,
        diesel_migrations::EmbeddedMigrations: MigrationSource<DB>,
    {
        for name in HARDENING {
            let reverted = conn.revert_last_migration(migrations()).unwrap();
            assert!(
                reverted.to_string().ends_with(name),
                "{reverted} is not {name}"
            );
        }
    }
    match backend() {
        Backend::Sqlite => revert(&mut SqliteConnection::establish(&db.url).unwrap(), || {
            SQLITE_MIGRATIONS
        }),
        Backend::Postgres(_) => revert(&mut PgConnection::establish(&db.url).unwrap(), || {
            POSTGRES_MIGRATIONS
        }),
    }
}

/// A clinic in use, upgraded: the server starts on a database whose accounts, sign-ins and
/// records were made before the hardening migrations, and nobody notices but the new rules.
#[tokio::test]
async fn a_database_in_use_before_the_hardening_migrations_upgrades_with_everyone_signed_in() {
    use crate::phone::Phone;
    use reqwest::StatusCode;
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let counselor = app.counselor(&admin).await;
    let patient = app.patient(&counselor).await;
    let mut phone = Phone::new(patient.clone());
    phone.checkin(6, &["stress"]);
    phone.push(&app).await;

    app.restart_after(revert_hardening);

    // The phone's sign-in goes on: its access token names a session the upgrade made of its
    // refresh-token family, and the refresh token still rotates.
    assert_eq!(
        app.get("/v1/me", Some(&patient.access)).await.status(),
        StatusCode::OK
    );
    let (status, refreshed) = status_and_json(
        app.post(
            "/v1/auth/refresh",
            None,
            &serde_json::json!({ "refresh_token": patient.refresh }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    // Passwords survived the rebuilt accounts table, and the records their owners wrote.
    let again = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, checkins) = status_and_json(
        app.get(
            &format!("/v1/patients/{}/checkins", patient.user_id),
            Some(&counselor.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checkins}");
    assert_eq!(checkins["items"].as_array().unwrap().len(), 1, "{checkins}");
    // And the new rule holds: an email is unique within its clinic only.
    let (status, body) = status_and_json(
        app.post(
            "/v1/clinicians",
            Some(&again.access),
            &serde_json::json!({ "email": counselor.email, "display_name": "Twin" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}
