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
    let db = TestDb::create();
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
