//! Anonymization of patient tables.
//!
//! What this crate provides (anonymization by generalization, the `anonymize` job):
//! - [`encode`]: the data model — column tags, missing-value policies, the dictionary-encoded
//!   table — and [`hierarchy`] / [`hierarchy_builder`]: generalization hierarchies from CSV or
//!   built in code (intervals with top/bottom coding, dates, prefix masking).
//! - [`models`]: k-anonymity, distinct/entropy/recursive l-diversity, t-closeness (equal,
//!   ordered, hierarchical EMD), δ-presence, k-map, average-risk and sample-uniqueness
//!   thresholds, each declaring whether it is monotone.
//! - [`search`]: optimal full-domain generalization with a suppression limit (a bound-pruned,
//!   parallel lattice walk with roll-up of class statistics, [`groups`]) and a time-bounded
//!   heuristic; [`metric`]: the utility metrics it optimizes. [`mondrian`] (local recoding)
//!   and [`mdav`] (microaggregation) are the alternatives, checked against the same models.
//! - [`release`]: the released table and the explicit suppression flag; [`measures`]: utility
//!   and risk in one pass; [`verify`]: independent re-checking of the output text;
//!   [`report`]: the JSON and readable report.
//! - [`job`] and [`run`]: the TOML job file and the whole `anonymize` run, reported to the
//!   audit sink as an `AnonymizationRun` event.
//! - [`synthetic`]: differentially private synthetic data from noisy 1- and 2-way marginals
//!   (MST-style, charged through [`privacy_core::BudgetLedger`]), with a utility report of
//!   marginal distances and a train-on-synthetic classifier ([`classify`]).
//!
//! Direct identifiers (the `deidentify` command):
//! - [`safe_harbor`]: HIPAA Safe Harbor as an executable profile (the 18 identifier kinds,
//!   column recognition from names and values, the restricted ZIP3 table, dates to years, ages
//!   over 89) and the scanner that says which kinds remain;
//! - [`keyring`], [`pseudonym`], [`dateshift`]: keyed HMAC-SHA-256 pseudonyms with domains and
//!   key rotation, and per-patient consistent date shifting; `tokenize` (feature
//!   `reversible-tokens`): reversible AES-SIV tokens;
//! - [`mask`]: masking, redaction and top/bottom coding; [`detect`]: identifiers in free text;
//! - [`text_table`]: the lossless all-text table they work on; [`date_text`]: dates as text.
//!
//! Main design decision: the search never touches strings. Every column is dictionary-encoded
//! once; a lattice node's classes are rolled up from a more specific node's classes through
//! integer level maps. The trade-off is memory for the encoded table and the cached classes of
//! one lattice height.

pub mod classify;
pub mod date_text;
pub mod dateshift;
pub mod detect;
pub mod encode;
pub mod error;
pub mod groups;
pub mod hierarchy;
pub mod hierarchy_builder;
pub mod job;
pub mod keyring;
pub mod mask;
pub mod mdav;
pub mod measures;
pub mod metric;
pub mod models;
pub mod mondrian;
pub mod pseudonym;
pub mod release;
pub mod report;
pub mod run;
pub mod safe_harbor;
pub mod search;
pub mod synthetic;
pub mod text_table;
#[cfg(feature = "reversible-tokens")]
pub mod tokenize;
pub mod verify;

pub use encode::{AttributeKind, EncodedColumn, EncodedTable, MissingPolicy};
pub use error::AnonError;
pub use hierarchy::Hierarchy;
pub use job::Job;
pub use metric::{Metric, MetricTables};
pub use models::{CompiledModels, EmdKind, PrivacyModel};
pub use release::{Release, SUPPRESSED_COLUMN};
pub use report::Report;
pub use run::{run_job, RunOutcome};
pub use search::{Problem, SearchOutcome};
pub use verify::{verify, Verification};
