//! The deidentify job file (TOML): overrides of the `safe-harbor` profile.
//!
//! ```toml
//! profile = "safe-harbor"              # the only profile so far
//! reference_date = "2025-01-01"        # ages are computed at this date (default: today, UTC)
//! zip3_table = "zip3-census2020.csv"   # replaces the built-in restricted ZIP3 table
//!
//! [rules]                              # the rule of every column of a Safe Harbor kind
//! other_unique_identifiers = "remove"
//!
//! [[columns]]                          # one column: its kind, rule and options
//! name = "PATIENT"
//! kind = "unique-identifier"           # see ColumnKind; `not-identifying` for false positives
//! rule = "pseudonymize"
//! domain = "patient"                   # same domain in every table ⇒ same pseudonyms
//!
//! [[columns]]
//! name = "SSN"
//! rule = "mask"
//! keep_last = 4                        # (refused at verification: still identifying)
//!
//! [[columns]]
//! name = "HEALTHCARE_EXPENSES"
//! rule = "top-bottom-code"
//! top = 1000000
//!
//! [date_shift]                         # shift dates per patient instead of keeping the year
//! patient = "PATIENT"                  # the column holding the patient's identifier
//! domain = "patient"
//! max_days = 365                       # offsets in [-365, 365]
//! allow_zero = false
//! ```
//!
//! Rules: `remove`, `generalize` (ZIP codes, dates, ages), `keep`, `pseudonymize`, `tokenize`
//! (feature `reversible-tokens`), `shift` (dates, with `[date_shift]`), `mask`, `redact`
//! (identifiers in free text), `top-bottom-code`. Unknown keys are errors, so a misspelt
//! option never silently does nothing. Relative paths are relative to the job file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::kinds::{ColumnKind, IdentifierKind, Rule};
use crate::error::AnonError;

/// A parsed deidentify job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeidJob {
    /// The profile; only `safe-harbor`.
    #[serde(default)]
    pub profile: Option<String>,
    /// The date ages are computed at (`YYYY-MM-DD`).
    #[serde(default)]
    pub reference_date: Option<String>,
    /// A replacement restricted-ZIP3 table.
    #[serde(default)]
    pub zip3_table: Option<PathBuf>,
    /// The rule per identifier kind.
    #[serde(default)]
    pub rules: BTreeMap<IdentifierKind, Rule>,
    /// Per-column overrides.
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
    /// Per-patient date shifting.
    #[serde(default)]
    pub date_shift: Option<DateShiftSpec>,
}

/// One column's override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column.
    pub name: String,
    /// Its kind (replaces recognition).
    #[serde(default)]
    pub kind: Option<ColumnKind>,
    /// Its rule (replaces the kind's rule).
    #[serde(default)]
    pub rule: Option<Rule>,
    /// The pseudonym or token domain (default: the column name in lower case).
    #[serde(default)]
    pub domain: Option<String>,
    /// `mask`: characters kept at the start.
    #[serde(default)]
    pub keep_first: Option<usize>,
    /// `mask`: characters kept at the end.
    #[serde(default)]
    pub keep_last: Option<usize>,
    /// `top-bottom-code`: the top bound.
    #[serde(default)]
    pub top: Option<f64>,
    /// `top-bottom-code`: the bottom bound.
    #[serde(default)]
    pub bottom: Option<f64>,
}

/// Per-patient date shifting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateShiftSpec {
    /// The column holding the patient identifier.
    pub patient: String,
    /// The patient identifier's domain (as for pseudonyms).
    pub domain: String,
    /// Offsets lie in `[-max_days, max_days]`.
    pub max_days: u32,
    /// Whether an offset of 0 is allowed.
    #[serde(default)]
    pub allow_zero: bool,
}

/// The largest job file read.
const MAX_JOB_BYTES: usize = 1 << 20;

impl DeidJob {
    /// Reads a job file; relative paths become relative to its folder.
    pub fn from_file(path: &Path) -> Result<Self, AnonError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| AnonError::Io { path: shown.clone(), reason: e.kind().to_string() })?;
        let mut job = Self::parse(&text, &shown)?;
        if let (Some(table), Some(dir)) = (&job.zip3_table, path.parent()) {
            if table.is_relative() {
                job.zip3_table = Some(dir.join(table));
            }
        }
        Ok(job)
    }

    /// Parses and checks a job's text; `name` appears in errors only.
    pub fn parse(text: &str, name: &str) -> Result<Self, AnonError> {
        let invalid = |reason: String| AnonError::InvalidJob { path: name.to_owned(), reason };
        if text.len() > MAX_JOB_BYTES {
            return Err(invalid("larger than 1 MiB".into()));
        }
        let job: Self = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        if job.profile.as_deref().is_some_and(|p| p != "safe-harbor") {
            return Err(invalid("the only profile is `safe-harbor`".into()));
        }
        if let Some(date) = &job.reference_date {
            parse_reference_date(date)
                .ok_or_else(|| invalid("reference_date must be YYYY-MM-DD".into()))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &job.columns {
            if !seen.insert(c.name.as_str()) {
                return Err(invalid(format!("column {:?} is listed twice", c.name)));
            }
            c.check().map_err(invalid)?;
        }
        if let Some(shift) = &job.date_shift {
            crate::pseudonym::check_domain(&shift.domain).map_err(|e| invalid(e.to_string()))?;
            if shift.max_days == 0 || shift.max_days > crate::dateshift::MAX_RANGE_DAYS {
                return Err(invalid(format!(
                    "date_shift.max_days must be in 1..={}",
                    crate::dateshift::MAX_RANGE_DAYS
                )));
            }
        }
        Ok(job)
    }

    /// The override of column `name`, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl ColumnSpec {
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if let Some(domain) = &self.domain {
            crate::pseudonym::check_domain(domain).map_err(|e| format!("column {name:?}: {e}"))?;
        }
        let masking = self.keep_first.is_some() || self.keep_last.is_some();
        if masking && self.rule != Some(Rule::Mask) {
            return Err(format!("column {name:?}: keep_first/keep_last go with rule = \"mask\""));
        }
        let coding = self.top.is_some() || self.bottom.is_some();
        if coding != (self.rule == Some(Rule::TopBottomCode)) {
            return Err(format!("column {name:?}: rule = \"top-bottom-code\" needs top or bottom, and only it takes them"));
        }
        if [self.top, self.bottom].iter().flatten().any(|x| !x.is_finite()) {
            return Err(format!("column {name:?}: top and bottom must be finite"));
        }
        if let (Some(b), Some(t)) = (self.bottom, self.top) {
            if b >= t {
                return Err(format!("column {name:?}: bottom must be below top"));
            }
        }
        if self.domain.is_some()
            && !matches!(self.rule, None | Some(Rule::Pseudonymize | Rule::Tokenize))
        {
            return Err(format!("column {name:?}: a domain goes with pseudonymize or tokenize"));
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` as a date.
pub fn parse_reference_date(text: &str) -> Option<time::Date> {
    let cell = crate::date_text::DateCell::parse(text, false)?;
    (cell.layout == crate::date_text::Layout::Iso('-') && cell.suffix.is_empty())
        .then_some(cell.date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
profile = "safe-harbor"
reference_date = "2025-01-01"
[rules]
other_unique_identifiers = "remove"
[[columns]]
name = "PATIENT"
kind = "unique-identifier"
rule = "pseudonymize"
domain = "patient"
[[columns]]
name = "HEALTHCARE_EXPENSES"
rule = "top-bottom-code"
top = 1000000
[date_shift]
patient = "PATIENT"
domain = "patient"
max_days = 365
"#;
        let job = DeidJob::parse(text, "job.toml").unwrap();
        assert_eq!(job.rules[&IdentifierKind::OtherUniqueIdentifiers], Rule::Remove);
        assert_eq!(job.column("PATIENT").unwrap().domain.as_deref(), Some("patient"));
        assert_eq!(job.date_shift.as_ref().unwrap().max_days, 365);
    }

    #[test]
    fn mistakes_are_errors() {
        for (text, needle) in [
            ("profil = \"safe-harbor\"", "unknown field"),
            ("profile = \"expert\"", "only profile"),
            ("reference_date = \"01/02/2025\"", "reference_date"),
            ("[[columns]]\nname = \"a\"\nrule = \"obliterate\"", "unknown variant"),
            ("[[columns]]\nname = \"a\"\n[[columns]]\nname = \"a\"", "twice"),
            ("[[columns]]\nname = \"a\"\nkeep_last = 4", "mask"),
            ("[[columns]]\nname = \"a\"\nrule = \"top-bottom-code\"", "top or bottom"),
            ("[[columns]]\nname = \"a\"\nrule = \"top-bottom-code\"\ntop = 1\nbottom = 2", "below"),
            (
                "[[columns]]\nname = \"a\"\nrule = \"pseudonymize\"\ndomain = \"Bad Domain\"",
                "domain",
            ),
            ("[date_shift]\npatient = \"p\"\ndomain = \"patient\"\nmax_days = 0", "max_days"),
            ("[rules]\nnames = \"shred\"", "unknown variant"),
        ] {
            let err = DeidJob::parse(text, "j").unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
