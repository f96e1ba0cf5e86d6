//! Server configuration, read once at start-up from the environment and command-line flags and
//! passed explicitly to everything that needs it. There is no global configuration.
//!
//! | variable | flag | default | meaning |
//! |---|---|---|---|
//! | `TETHER_BIND` | `--bind` | `127.0.0.1:8080` | address and port to listen on (port 0 picks a free port) |
//! | `DATABASE_URL` | `--database-url` | `./tether.db` | a SQLite file path or `sqlite://path`, or `postgres://…` |
//! | `TETHER_DB_POOL_SIZE` | | `8` | database connections in the pool |
//! | `TETHER_DB_TIMEOUT_MS` | | `5000` | how long a request waits for a pooled connection before a 503 |
//! | `TETHER_SQLITE_WAL_RESTART_MIB` | | `64` | SQLite: write-ahead log size past which the checkpointer starts the log over, when no reader holds it |
//! | `TETHER_JWT_SECRET` | | none | HMAC key for access tokens, at least 32 bytes; required outside development mode |
//! | `TETHER_DEV` | `--dev` | off | development mode: an ephemeral signing key when none is set, said loudly in the log |
//! | `TETHER_ACCESS_TTL_SECS` | | `900` | access-token lifetime (15 minutes) |
//! | `TETHER_REFRESH_TTL_SECS` | | `2592000` | refresh-token lifetime (30 days) |
//! | `TETHER_SESSION_MAX_AGE_SECS` | | `7776000` | absolute lifetime of a sign-in (90 days): however often it is refreshed, a session older than this is ended and its owner signs in again |
//! | `TETHER_ENROLLMENT_TTL_SECS` | | `259200` | enrollment-code lifetime (72 hours) |
//! | `TETHER_MAX_BODY_BYTES` | | `1048576` | largest accepted request body |
//! | `TETHER_LOGIN_MAX_FAILURES` | | `5` | sign-in attempts on one account from one client address per window before 429 (activation is limited per address: a code has 60 random bits and expires) |
//! | `TETHER_LOGIN_ACCOUNT_MAX_ATTEMPTS` | | `100` | sign-in attempts on one account from all addresses per window before addresses the account has not signed in from get 429; its own addresses and devices are never locked out (see `auth::rate_limit`) |
//! | `TETHER_ADDR_MAX_ATTEMPTS` | | `30` | sign-in, refresh and activation attempts per client address per window |
//! | `TETHER_RATE_WINDOW_SECS` | | `900` | the rate-limit window |
//! | `TETHER_TRUST_PROXY` | | off | take the client address from `X-Forwarded-For` (only behind a trusted proxy) |
//! | `TETHER_TRUSTED_PROXY_HOPS` | | `1` | with `TETHER_TRUST_PROXY`, how many proxies of yours append to `X-Forwarded-For`: the client is the entry that many places from the right (what the outermost of your proxies saw), never a value the client wrote |
//! | `TETHER_MAX_BATCH_OPS` | | `1000` | most ops in one push |
//! | `TETHER_MAX_PUSH_BYTES` | | `8388608` | largest push body (8 MiB) |
//! | `TETHER_MAX_CLOCK_AHEAD_MS` | | `300000` | how far ahead of server time an op's clock may be (5 minutes) |
//! | `TETHER_MAX_PULL_LIMIT` | | `1000` | most changes in one pull page |
//! | `TETHER_FLAG_HIGH_INTENSITY` | | `8` | a craving at or above this in the last `TETHER_FLAG_HIGH_INTENSITY_HOURS` (48) is flagged |
//! | `TETHER_FLAG_HIGH_INTENSITY_HOURS` | | `48` | see above |
//! | `TETHER_FLAG_CRISIS_LAPSE_INTENSITY` | | `9` | a lapse at or above this craving is a crisis |
//! | `TETHER_FLAG_CRISIS_HOURS` | | `72` | a crisis stays an urgent flag this long after it was made or arrived |
//! | `TETHER_FLAG_LAPSE_DAYS` | | `7` | a lapse stays flagged this many days |
//! | `TETHER_FLAG_NO_CHECKIN_DAYS` | | `3` | days without a check-in before it is flagged |
//! | `TETHER_FLAG_MISSED_SESSIONS` | | `2` | consecutive missed sessions before it is flagged |
//! | `TETHER_FLAG_BASELINE_Z` | | `2.0` | z-score of the last 3 days' cravings over the patient's own baseline that is flagged |
//! | `TETHER_DASHBOARD_IDLE_MINUTES` | | `15` | the counselor dashboard signs a browser out after this many minutes without a request (HIPAA automatic logoff); fractions allowed |
//! | `TETHER_SHUTDOWN_SECS` | | `30` | how long in-flight requests may run after SIGTERM |
//! | `TETHER_LOG` | | `info` | log filter (tracing `EnvFilter` syntax) |
//! | `TETHER_LOG_FORMAT` | | `json` | `json` or `pretty` |

use crate::secret::Secret;
use std::collections::HashMap;
use std::time::Duration;

/// The smallest accepted signing key: 256 bits, the HMAC-SHA-256 block of entropy.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, zero set-up.
    Sqlite,
    /// The production backend.
    Postgres,
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The URL as given (may hold a password: never logged; see [`DatabaseSettings::redacted`]).
    pub url: Secret<String>,
    /// The engine the URL selects.
    pub backend: Backend,
    /// Pool size.
    pub pool_size: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// SQLite: log frames (4 KiB pages) past which the checkpointer starts the write-ahead log
    /// over (`TETHER_SQLITE_WAL_RESTART_MIB`; 64 MiB by default).
    pub wal_restart_frames: i32,
}

/// Log frames in a MiB (SQLite's default page is 4 KiB).
const FRAMES_PER_MIB: i32 = 256;

/// Log frames past which the SQLite checkpointer starts the log over by default: 64 MiB.
const DEFAULT_WAL_RESTART_FRAMES: i32 = 64 * FRAMES_PER_MIB;

impl DatabaseSettings {
    /// Builds database settings from a URL, picking the backend by its scheme.
    pub fn from_url(url: &str, pool_size: u32, acquire_timeout: Duration) -> Self {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        Self {
            url: Secret::new(url.to_string()),
            backend,
            pool_size,
            acquire_timeout,
            wal_restart_frames: DEFAULT_WAL_RESTART_FRAMES,
        }
    }

    /// What the connection string points at, safe to log: for SQLite the file, for PostgreSQL
    /// the host, port and database, without the user, the password or any parameter.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite:{}", self.sqlite_path()),
            Backend::Postgres => format!("postgres://{}", postgres_target(self.url.expose())),
        }
    }

    /// The SQLite file path with any `sqlite://` or `sqlite:` prefix removed.
    pub fn sqlite_path(&self) -> &str {
        let url = self.url.expose().as_str();
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url)
    }
}

/// `host:port/database` of a PostgreSQL URL, with libpq's defaults (`localhost`, 5432, the
/// database named after the user) filled in where the URL leaves them out. Nothing before the
/// `@` (user, password) and nothing after the `?` is kept.
fn postgres_target(url: &str) -> String {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .unwrap_or(url);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (userinfo, host_port),
        None => ("", authority),
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    let host_port = if host_port.is_empty() {
        "localhost"
    } else {
        host_port
    };
    let has_port = match host_port.rsplit_once(':') {
        // An IPv6 literal holds colons of its own: `[::1]` has no port, `[::1]:5433` has one.
        Some((host, _)) => {
            !host_port.ends_with(']') && (!host.starts_with('[') || host.ends_with(']'))
        }
        None => false,
    };
    let port = if has_port { "" } else { ":5432" };
    let database = match (database, user) {
        ("", "") => "(the user's database)",
        ("", user) => user,
        (database, _) => database,
    };
    format!("{host_port}{port}/{database}")
}

/// Token and code lifetimes and the signing key.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// HMAC-SHA-256 key for access tokens.
    pub jwt_secret: Secret<Vec<u8>>,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_ttl: Duration,
    /// Enrollment-code lifetime.
    pub enrollment_ttl: Duration,
    /// Absolute lifetime of a session (one sign-in on one device), however often refreshed.
    pub session_max_age: Duration,
    /// True when the key was generated for this process (development mode without a key): tokens
    /// die with the process and cannot be shared between servers.
    pub ephemeral_key: bool,
}

/// Limits on sign-in and activation attempts.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Attempts per (account, client address) pair per window.
    pub account_max_failures: u32,
    /// Attempts per account from all addresses per window, before addresses and devices the
    /// account has not signed in from are refused.
    pub account_max_attempts: u32,
    /// Attempts per client address per window.
    pub address_max_attempts: u32,
    /// Window length.
    pub window: Duration,
    /// Whether `X-Forwarded-For` names the client.
    pub trust_proxy: bool,
    /// How many trusted proxies append to `X-Forwarded-For` (at least 1).
    pub trusted_proxy_hops: u32,
}

/// Sync protocol limits.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Most ops in one push.
    pub max_batch_ops: usize,
    /// Largest push body in bytes.
    pub max_push_bytes: usize,
    /// How far ahead of server time an op's HLC may be.
    pub max_clock_ahead_ms: u64,
    /// Most changes in one pull page.
    pub max_pull_limit: usize,
}

/// Log output.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `EnvFilter` directives.
    pub filter: String,
    /// JSON lines (for machines) or pretty text (for people).
    pub json: bool,
}

/// The counselor dashboard.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    /// A browser session with no request for this long is ended (automatic logoff).
    pub idle_timeout: Duration,
}

/// Trend settings, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendSettings {
    /// Risk-flag thresholds.
    pub flags: FlagSettings,
    /// How long before an exercise a check-in's triggers count as what the patient was coping
    /// with.
    pub skill_trigger_lookback_hours: i64,
    /// Slope (points per day) below which a trend reads as flat.
    pub flat_slope: f64,
    /// Days of daily means the baseline is built from.
    pub baseline_days: i64,
}

impl Default for TrendSettings {
    fn default() -> Self {
        Self {
            flags: FlagSettings::default(),
            skill_trigger_lookback_hours: 3,
            flat_slope: 0.05,
            baseline_days: 56,
        }
    }
}

/// Risk-flag thresholds, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagSettings {
    /// A craving at or above this is "high".
    pub high_intensity: i64,
    /// …within this many hours.
    pub high_intensity_hours: i64,
    /// A lapse at or above this intensity is a crisis, not a trend.
    pub crisis_lapse_intensity: i64,
    /// A crisis check-in stays an urgent flag this long after it was made or arrived.
    pub crisis_hours: i64,
    /// A lapse stays flagged this many days.
    pub lapse_days: i64,
    /// Days without a check-in before it is flagged.
    pub no_checkin_days: i64,
    /// Consecutive missed sessions before it is flagged.
    pub missed_sessions: usize,
    /// z-score of recent cravings over the patient's own baseline that is flagged.
    pub baseline_z: f64,
    /// Days counted as "recent" against the baseline.
    pub recent_days: i64,
    /// Fewest baseline days for the comparison to mean anything.
    pub min_baseline_days: usize,
    /// Weight of each new day in the baseline's moving average.
    pub ewma_alpha: f64,
    /// Craving slope (points per day over the last week) that counts as rising.
    pub rising_slope: f64,
    /// Mood slope (points per day) that counts as falling.
    pub falling_mood_slope: f64,
}

impl Default for FlagSettings {
    fn default() -> Self {
        Self {
            high_intensity: 8,
            high_intensity_hours: 48,
            crisis_lapse_intensity: 9,
            crisis_hours: 72,
            lapse_days: 7,
            no_checkin_days: 3,
            missed_sessions: 2,
            baseline_z: 2.0,
            recent_days: 3,
            min_baseline_days: 7,
            ewma_alpha: 0.2,
            rising_slope: 0.15,
            falling_mood_slope: -0.1,
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub bind: String,
    /// Database.
    pub database: DatabaseSettings,
    /// Auth.
    pub auth: AuthSettings,
    /// Rate limits.
    pub rate_limit: RateLimitSettings,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Sync limits.
    pub sync: SyncSettings,
    /// Trend and risk-flag thresholds.
    pub trends: TrendSettings,
    /// The counselor dashboard.
    pub dashboard: DashboardSettings,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_timeout: Duration,
    /// Development mode (ephemeral key allowed).
    pub dev_mode: bool,
    /// Logging.
    pub log: LogSettings,
}

/// A configuration problem that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable or flag has a value that does not parse.
    #[error("{name} has an invalid value: {reason}")]
    Invalid {
        /// The variable or flag.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// No signing key outside development mode.
    #[error(
        "TETHER_JWT_SECRET is not set. Set it to a random string of at least {MIN_JWT_SECRET_BYTES} bytes \
         (for example `openssl rand -base64 48`), or start with --dev for local development"
    )]
    MissingJwtSecret,
    /// A signing key too short to be safe.
    #[error("TETHER_JWT_SECRET is too short: it needs at least {MIN_JWT_SECRET_BYTES} bytes")]
    WeakJwtSecret,
    /// An unknown command-line flag.
    #[error("unknown flag {0} (see --help)")]
    UnknownFlag(String),
}

impl Settings {
    /// Reads settings from the process environment and the given flags (`--dev`, `--bind ADDR`,
    /// `--database-url URL`).
    pub fn from_env_and_args(args: &[String]) -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&env, args)
    }

    /// Reads settings from a map of variables and the given flags; the pure core of
    /// [`Settings::from_env_and_args`].
    pub fn from_map(env: &HashMap<String, String>, args: &[String]) -> Result<Self, SettingsError> {
        let mut vars = env.clone();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value = |var: &str| -> Result<(), SettingsError> {
                let v = match inline.clone().or_else(|| iter.next().cloned()) {
                    Some(v) => v,
                    None => {
                        return Err(SettingsError::Invalid {
                            name: name.to_string(),
                            reason: "needs a value".into(),
                        })
                    }
                };
                vars.insert(var.to_string(), v);
                Ok(())
            };
            match name {
                "--dev" => {
                    vars.insert("TETHER_DEV".into(), "1".into());
                }
                "--bind" => value("TETHER_BIND")?,
                "--database-url" => value("DATABASE_URL")?,
                other => return Err(SettingsError::UnknownFlag(other.to_string())),
            }
        }

        let get = |name: &str| vars.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
        let flag = |name: &str| -> Result<bool, SettingsError> {
            match get(name) {
                None => Ok(false),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(other) => Err(SettingsError::Invalid {
                    name: name.into(),
                    reason: format!("expected true or false, got {other:?}"),
                }),
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, SettingsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().map_err(|_| SettingsError::Invalid {
                    name: name.into(),
                    reason: format!("expected a whole number, got {v:?}"),
                }),
            }
        };
        let positive = |name: &str, default: u64| -> Result<u64, SettingsError> {
            let n = number(name, default)?;
            if n == 0 {
                return Err(SettingsError::Invalid {
                    name: name.into(),
                    reason: "must be greater than zero".into(),
                });
            }
            Ok(n)
        };
        let small = |name: &str, default: u64| -> Result<u32, SettingsError> {
            u32::try_from(positive(name, default)?).map_err(|_| SettingsError::Invalid {
                name: name.into(),
                reason: "too large".into(),
            })
        };

        let dev_mode = flag("TETHER_DEV")?;
        let (jwt_secret, ephemeral_key) = match get("TETHER_JWT_SECRET") {
            Some(key) if key.len() >= MIN_JWT_SECRET_BYTES => (key.as_bytes().to_vec(), false),
            Some(_) => return Err(SettingsError::WeakJwtSecret),
            None if dev_mode => (crate::auth::token::random_bytes(48), true),
            None => return Err(SettingsError::MissingJwtSecret),
        };

        let mut database = DatabaseSettings::from_url(
            get("DATABASE_URL").unwrap_or("./tether.db"),
            small("TETHER_DB_POOL_SIZE", 8)?,
            Duration::from_millis(positive("TETHER_DB_TIMEOUT_MS", 5_000)?),
        );
        let default_mib = DEFAULT_WAL_RESTART_FRAMES / FRAMES_PER_MIB;
        database.wal_restart_frames = small(
            "TETHER_SQLITE_WAL_RESTART_MIB",
            u64::try_from(default_mib).unwrap_or(64),
        )
        .ok()
        .and_then(|mib| i32::try_from(mib).ok())
        .and_then(|mib| mib.checked_mul(FRAMES_PER_MIB))
        .ok_or_else(|| SettingsError::Invalid {
            name: "TETHER_SQLITE_WAL_RESTART_MIB".into(),
            reason: "must be a whole number of MiB from 1 to 8191".into(),
        })?;

        Ok(Self {
            bind: get("TETHER_BIND").unwrap_or("127.0.0.1:8080").to_string(),
            database,
            auth: AuthSettings {
                jwt_secret: Secret::new(jwt_secret),
                access_ttl: Duration::from_secs(positive("TETHER_ACCESS_TTL_SECS", 900)?),
                refresh_ttl: Duration::from_secs(positive("TETHER_REFRESH_TTL_SECS", 30 * 86_400)?),
                enrollment_ttl: Duration::from_secs(positive(
                    "TETHER_ENROLLMENT_TTL_SECS",
                    72 * 3_600,
                )?),
                session_max_age: Duration::from_secs(positive(
                    "TETHER_SESSION_MAX_AGE_SECS",
                    90 * 86_400,
                )?),
                ephemeral_key,
            },
            rate_limit: RateLimitSettings {
                account_max_failures: small("TETHER_LOGIN_MAX_FAILURES", 5)?,
                account_max_attempts: small("TETHER_LOGIN_ACCOUNT_MAX_ATTEMPTS", 100)?,
                address_max_attempts: small("TETHER_ADDR_MAX_ATTEMPTS", 30)?,
                window: Duration::from_secs(positive("TETHER_RATE_WINDOW_SECS", 900)?),
                trust_proxy: flag("TETHER_TRUST_PROXY")?,
                trusted_proxy_hops: small("TETHER_TRUSTED_PROXY_HOPS", 1)?,
            },
            max_body_bytes: usize::try_from(positive("TETHER_MAX_BODY_BYTES", 1 << 20)?)
                .unwrap_or(usize::MAX),
            sync: SyncSettings {
                max_batch_ops: usize::try_from(positive("TETHER_MAX_BATCH_OPS", 1_000)?)
                    .unwrap_or(usize::MAX),
                max_push_bytes: usize::try_from(positive("TETHER_MAX_PUSH_BYTES", 8 << 20)?)
                    .unwrap_or(usize::MAX),
                max_clock_ahead_ms: positive("TETHER_MAX_CLOCK_AHEAD_MS", 300_000)?,
                max_pull_limit: usize::try_from(positive("TETHER_MAX_PULL_LIMIT", 1_000)?)
                    .unwrap_or(usize::MAX),
            },
            trends: {
                let mut t = TrendSettings::default();
                let f = &mut t.flags;
                f.high_intensity =
                    i64::try_from(number("TETHER_FLAG_HIGH_INTENSITY", 8)?).unwrap_or(8);
                f.high_intensity_hours =
                    i64::try_from(positive("TETHER_FLAG_HIGH_INTENSITY_HOURS", 48)?).unwrap_or(48);
                f.crisis_lapse_intensity =
                    i64::try_from(number("TETHER_FLAG_CRISIS_LAPSE_INTENSITY", 9)?).unwrap_or(9);
                f.crisis_hours =
                    i64::try_from(positive("TETHER_FLAG_CRISIS_HOURS", 72)?).unwrap_or(72);
                f.lapse_days = i64::try_from(positive("TETHER_FLAG_LAPSE_DAYS", 7)?).unwrap_or(7);
                f.no_checkin_days =
                    i64::try_from(positive("TETHER_FLAG_NO_CHECKIN_DAYS", 3)?).unwrap_or(3);
                f.missed_sessions =
                    usize::try_from(positive("TETHER_FLAG_MISSED_SESSIONS", 2)?).unwrap_or(2);
                f.baseline_z = match get("TETHER_FLAG_BASELINE_Z") {
                    None => 2.0,
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|z| z.is_finite() && *z > 0.0)
                        .ok_or_else(|| SettingsError::Invalid {
                            name: "TETHER_FLAG_BASELINE_Z".into(),
                            reason: format!("expected a positive number, got {v:?}"),
                        })?,
                };
                t
            },
            dashboard: DashboardSettings {
                idle_timeout: match get("TETHER_DASHBOARD_IDLE_MINUTES") {
                    None => Duration::from_secs(15 * 60),
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|m| m.is_finite() && *m > 0.0 && *m <= 24.0 * 60.0)
                        .map(|m| Duration::from_secs_f64(m * 60.0))
                        .ok_or_else(|| SettingsError::Invalid {
                            name: "TETHER_DASHBOARD_IDLE_MINUTES".into(),
                            reason: format!(
                                "expected a number of minutes above 0 and at most 1440, got {v:?}"
                            ),
                        })?,
                },
            },
            shutdown_timeout: Duration::from_secs(number("TETHER_SHUTDOWN_SECS", 30)?),
            dev_mode,
            log: LogSettings {
                filter: get("TETHER_LOG").unwrap_or("info").to_string(),
                json: match get("TETHER_LOG_FORMAT").unwrap_or("json") {
                    "json" => true,
                    "pretty" => false,
                    other => {
                        return Err(SettingsError::Invalid {
                            name: "TETHER_LOG_FORMAT".into(),
                            reason: format!("expected json or pretty, got {other:?}"),
                        })
                    }
                },
            },
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_server_refuses_to_start_without_a_signing_key() {
        let err = Settings::from_map(&env(&[]), &[]).unwrap_err();
        assert!(matches!(err, SettingsError::MissingJwtSecret));
    }

    #[test]
    fn the_server_refuses_a_short_signing_key() {
        let err = Settings::from_map(&env(&[("TETHER_JWT_SECRET", "short")]), &[]).unwrap_err();
        assert!(matches!(err, SettingsError::WeakJwtSecret));
    }

    #[test]
    fn development_mode_generates_a_key_and_defaults_to_sqlite() {
        let s = Settings::from_map(&env(&[]), &["--dev".into()]).unwrap();
        assert!(s.dev_mode);
        assert_eq!(s.auth.jwt_secret.expose().len(), 48);
        assert_eq!(s.database.backend, Backend::Sqlite);
        assert_eq!(s.database.sqlite_path(), "./tether.db");
        assert_eq!(s.auth.access_ttl, Duration::from_secs(900));
    }

    #[test]
    fn a_postgres_url_selects_postgres_and_flags_override_the_environment() {
        let s = Settings::from_map(
            &env(&[
                ("TETHER_JWT_SECRET", &"k".repeat(40)),
                ("TETHER_BIND", "0.0.0.0:1"),
            ]),
            &[
                "--database-url=postgres://u:p@h/db".into(),
                "--bind".into(),
                "127.0.0.1:0".into(),
            ],
        )
        .unwrap();
        assert_eq!(s.database.backend, Backend::Postgres);
        assert_eq!(s.database.redacted(), "postgres://h:5432/db");
        assert_eq!(s.bind, "127.0.0.1:0");
    }

    #[test]
    fn a_malformed_number_is_named_in_the_error() {
        let err = Settings::from_map(&env(&[("TETHER_DB_POOL_SIZE", "many")]), &["--dev".into()])
            .unwrap_err();
        assert!(err.to_string().contains("TETHER_DB_POOL_SIZE"));
    }

    #[test]
    fn the_dashboard_idle_logoff_defaults_to_fifteen_minutes_and_takes_fractions() {
        let s = Settings::from_map(&env(&[]), &["--dev".into()]).unwrap();
        assert_eq!(s.dashboard.idle_timeout, Duration::from_secs(900));
        let s = Settings::from_map(
            &env(&[("TETHER_DASHBOARD_IDLE_MINUTES", "0.05")]),
            &["--dev".into()],
        )
        .unwrap();
        assert_eq!(s.dashboard.idle_timeout, Duration::from_secs(3));
        for bad in ["0", "-1", "soon", "inf"] {
            let err = Settings::from_map(
                &env(&[("TETHER_DASHBOARD_IDLE_MINUTES", bad)]),
                &["--dev".into()],
            )
            .unwrap_err();
            assert!(err.to_string().contains("TETHER_DASHBOARD_IDLE_MINUTES"));
        }
    }

    #[test]
    fn a_postgres_url_is_logged_as_host_port_and_database_only() {
        for (url, logged) in [
            (
                "postgres://u:secret@db.example:6543/tether?sslmode=require",
                "db.example:6543/tether",
            ),
            ("postgresql://u@10.0.0.5/tether", "10.0.0.5:5432/tether"),
            ("postgres://tether@[::1]:5433/", "[::1]:5433/tether"),
            ("postgres://[::1]/x", "[::1]:5432/x"),
            ("postgres:///x", "localhost:5432/x"),
        ] {
            assert_eq!(postgres_target(url), logged, "{url}");
            assert!(!postgres_target(url).contains("secret"));
        }
    }
}
