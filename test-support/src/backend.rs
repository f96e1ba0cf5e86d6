//! Which database engine a run uses, and how the test suite's environment chooses it.

/// The variable that turns the black-box suite from SQLite to PostgreSQL: the URL of a server
/// where each test may create (and drop) a database of its own.
pub const TEST_POSTGRES_URL: &str = "TEST_POSTGRES_URL";

/// Which database a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL, dropped afterwards.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `TEST_POSTGRES_URL` is set to something other than blanks, SQLite
    /// otherwise: the same rule CI relies on to run the suite once per backend.
    pub fn from_env() -> Self {
        Self::from_test_postgres_url(std::env::var(TEST_POSTGRES_URL).ok())
    }

    fn from_test_postgres_url(value: Option<String>) -> Self {
        match value {
            Some(url) if !url.trim().is_empty() => Self::Postgres(url),
            _ => Self::Sqlite,
        }
    }

    /// The engine's name as reports print it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn only_a_non_blank_test_postgres_url_chooses_postgresql() {
        assert_eq!(Backend::from_test_postgres_url(None), Backend::Sqlite);
        assert_eq!(
            Backend::from_test_postgres_url(Some("  ".into())),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_test_postgres_url(Some("postgres://h/db".into())),
            Backend::Postgres("postgres://h/db".into())
        );
    }
}
