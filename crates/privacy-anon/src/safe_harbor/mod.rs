//! HIPAA Safe Harbor as an executable profile, and the scanner that checks it.
//!
//! 45 CFR 164.514(b)(2)(i) lists eighteen kinds of identifiers, (A) to (R), that must be
//! removed "of the individual or of relatives, employers, or household members of the
//! individual" for health information to count as de-identified by the Safe Harbor method, and
//! (ii) adds that the covered entity must have no actual knowledge that what remains could
//! identify anyone. This module makes (i) executable:
//!
//! - [`kinds`]: the 18 [`IdentifierKind`]s, the finer [`ColumnKind`]s columns are recognised
//!   as, and the [`Rule`]s applied to them;
//! - [`recognize`]: column kinds from names and from values (a column of SSNs named `x` is SSNs);
//! - [`zip3`]: the versioned, replaceable table of restricted three-digit ZIP prefixes;
//! - [`scan`]: the checker — which kinds remain in a table, with counts and value-free
//!   evidence;
//! - [`job`]: the TOML job that overrides kinds and rules;
//! - [`deidentify`](mod@deidentify): the run, which verifies its own output with the scanner.
//!
//! The profile's rules, each with its legal source (the regulation's paragraph, and HHS's
//! "Guidance Regarding Methods for De-identification of Protected Health Information", 26 Nov
//! 2012, "the guidance"):
//!
//! | column kind | rule | source |
//! | --- | --- | --- |
//! | names, street addresses, cities, counties, birthplaces, geocodes | remove | (A), (B) |
//! | ZIP codes | first three digits; `000` for prefixes of ≤ 20,000 people | (B)(1)–(2); guidance §3.3 (table version in every report) |
//! | dates (admission, discharge, death, events) | the year | (C); guidance §3.4 |
//! | birth dates | the year, or `90+` when the year implies an age over 89 | (C): ages over 89 and dates indicative of them aggregate into one category of 90 or older |
//! | ages | unchanged up to 89, otherwise `90+` | (C) |
//! | telephone, fax, email, SSN, account, licence, vehicle, device, URL, IP, biometric, photo | remove | (D)–(G), (J)–(Q) |
//! | medical record numbers, other unique codes | remove, or a keyed pseudonym with `--key-file` | (H), (R); see [`crate::pseudonym`] on 164.514(c) |
//! | health plan numbers | remove | (I) |
//! | free text | identifiers found by [`crate::detect`] redacted; flagged for review | (A)–(R) |
//! | everything else (state, diagnosis codes, measurements) | keep | the state is the smallest area (B) allows |
//!
//! Ages are computed at a reference date (the job's `reference_date`, by default the day of the
//! run): a birth year `y` becomes `90+` when `reference_year − y ≥ 90`, since then some birthday
//! in that year gives an age of 90 or more. This collapses more than needed for people who died
//! young long ago; it never collapses less.

pub mod deidentify;
pub mod job;
pub mod kinds;
pub mod recognize;
pub mod scan;
pub mod zip3;

pub use deidentify::{deidentify, ColumnReport, DeidOptions, DeidOutcome, DeidReport, Verdict};
pub use job::{ColumnSpec, DateShiftSpec, DeidJob};
pub use kinds::{ColumnKind, IdentifierKind, Rule};
pub use scan::{scan, ColumnScan, KindFinding, Recognition, ScanOptions, ScanReport};
pub use zip3::Zip3Table;

/// The single category of ages over 89 (and of birth years implying them).
pub const AGE_90_OR_OLDER: &str = "90+";
