//! Helpers shared by the ledger test binaries: amounts, requests, and the backends the same
//! tests run against (a fresh SQLite file; with the `postgres` feature, a fresh schema in the
//! database named by `MEDI_PRIVACY_TEST_POSTGRES_URL`).

#![allow(dead_code, clippy::unwrap_used, reason = "each test binary uses part of this")]

use std::path::PathBuf;

use privacy_budget::{BudgetError, BudgetStore, SqliteLedger};
use privacy_core::{ChargeRequest, CoreError, DeltaAmount, EpsilonAmount, PrivacyCost};

pub(crate) fn eps(text: &str) -> EpsilonAmount {
    EpsilonAmount::parse_decimal(text).unwrap()
}

pub(crate) fn delta(text: &str) -> DeltaAmount {
    DeltaAmount::parse_decimal(text).unwrap()
}

pub(crate) fn cost(epsilon: &str, d: &str) -> PrivacyCost {
    PrivacyCost { epsilon: eps(epsilon), delta: delta(d) }
}

pub(crate) fn request(dataset: &str, cost: PrivacyCost) -> ChargeRequest {
    ChargeRequest {
        dataset: dataset.to_owned(),
        principal: "analyst".to_owned(),
        description: "count(*)".to_owned(),
        cost,
    }
}

pub(crate) fn is_budget_exceeded(err: &BudgetError) -> bool {
    matches!(err, BudgetError::Core(CoreError::BudgetExceeded { .. }))
}

/// Where a backend's data lives, so that more connections (threads, processes) can be opened.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL whose connections use one schema of their own.
    Postgres(String),
}

impl Location {
    /// A new connection to the ledger.
    pub(crate) fn open(&self) -> Box<dyn BudgetStore> {
        match self {
            Self::Sqlite(path) => Box::new(SqliteLedger::open(path).unwrap()),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => Box::new(privacy_budget::PostgresLedger::connect(url).unwrap()),
            #[cfg(not(feature = "postgres"))]
            Self::Postgres(_) => unreachable!("postgres locations exist only with the feature"),
        }
    }

    /// The command-line form, for worker processes: `sqlite:PATH` or `postgres:URL`.
    pub(crate) fn to_arg(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => format!("postgres:{url}"),
        }
    }

    pub(crate) fn from_arg(arg: &str) -> Self {
        match arg.split_once(':') {
            Some(("sqlite", path)) => Self::Sqlite(PathBuf::from(path)),
            Some(("postgres", url)) => Self::Postgres(url.to_owned()),
            _ => panic!("bad location {arg}"),
        }
    }
}

/// A fresh, empty ledger; the guard keeps its storage alive.
pub(crate) struct Fresh {
    pub(crate) location: Location,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn fresh_sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::Sqlite(dir.path().join("ledger.db"));
    Fresh { location, _dir: Some(dir) }
}

/// The environment variable naming the test database.
pub(crate) const POSTGRES_URL: &str = "MEDI_PRIVACY_TEST_POSTGRES_URL";
/// Set (as CI does) to make a missing URL a failure instead of a skip.
pub(crate) const POSTGRES_REQUIRED: &str = "MEDI_PRIVACY_REQUIRE_POSTGRES";

/// A fresh schema in the test database, or `None` (with a note) when no URL is set locally.
/// Panics when `MEDI_PRIVACY_REQUIRE_POSTGRES` is set and the URL is not, so CI cannot skip.
#[cfg(feature = "postgres")]
pub(crate) fn fresh_postgres(name: &str) -> Option<Fresh> {
    let Ok(url) = std::env::var(POSTGRES_URL) else {
        assert!(
            std::env::var_os(POSTGRES_REQUIRED).is_none(),
            "{POSTGRES_REQUIRED} is set but {POSTGRES_URL} is not"
        );
        eprintln!("skipped: {POSTGRES_URL} is not set");
        return None;
    };
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "t_{}_{}_{}",
        name.chars().filter(char::is_ascii_alphanumeric).take(30).collect::<String>(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
    .to_lowercase();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-csearch_path%3D{schema}");
    Some(Fresh { location: Location::Postgres(scoped), _dir: None })
}
