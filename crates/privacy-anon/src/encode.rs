//! The anonymization data model: column tags, missing-value policies, and the
//! dictionary-encoded table the search works on.
//!
//! Every quasi-identifier is encoded as one `u32` leaf code per record, against its hierarchy;
//! every sensitive attribute as one value code per record. A value absent from a hierarchy is
//! an error naming the column and the value, never a silent drop. Missing values (nulls) follow
//! the column's [`MissingPolicy`], and how many there were is kept for the report.
//!
//! Trade-off: encoding copies each used column once into a compact integer form; everything
//! afterwards (grouping, rolling up, checking) works on integers and never on strings.

use polars::prelude::{DataFrame, DataType};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;

/// The leaf label that stands for a missing value.
pub const MISSING_LABEL: &str = "";

/// The role of a column in an anonymization job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AttributeKind {
    /// A direct identifier (name, record number): removed from the output.
    Identifying,
    /// A quasi-identifier (age, ZIP, sex): generalized until the privacy models hold.
    QuasiIdentifying,
    /// A sensitive attribute (diagnosis, salary): kept, and protected by l-diversity or
    /// t-closeness when those models are asked for.
    Sensitive,
    /// Anything else: kept unchanged.
    Insensitive,
}

/// What a missing value (an empty cell) of a column means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MissingPolicy {
    /// Refuse the job if the column has any missing value (the default).
    #[default]
    Refuse,
    /// Missing is a category of its own, kept apart from every value up to the hierarchy's
    /// root (which it joins when that level is a single `*`).
    OwnCategory,
    /// Missing could be any value: it is treated like a suppressed cell, the root `*` at every
    /// level, and costs full information loss. Records with it only share a class with records
    /// that are also `*` in that column, which under-counts class sizes and so errs on the
    /// safe side.
    // FIXME: this is not the wildcard semantics of Ciglic et al. (a NULL joining any class it
    // could match); implementing that needs class sizes over compatible records.
    MatchesAnything,
}

/// One dictionary-encoded column.
#[derive(Clone, Debug)]
pub struct EncodedColumn {
    /// The column name.
    pub name: String,
    /// Its hierarchy (a flat one for a sensitive attribute without a hierarchy).
    pub hierarchy: Hierarchy,
    /// The leaf code of each record.
    pub codes: Vec<u32>,
    /// The missing-value policy applied.
    pub missing: MissingPolicy,
    /// How many records had a missing value.
    pub missing_count: usize,
}

/// The text of a column, one entry per record, `None` for a missing value.
pub fn column_text(frame: &DataFrame, name: &str) -> Result<Vec<Option<String>>, AnonError> {
    let column = frame.column(name).map_err(|_| AnonError::UnknownColumn(name.to_owned()))?;
    let cast = column.cast(&DataType::String).map_err(|e| AnonError::InvalidParameter {
        name: name.to_owned(),
        reason: format!("cannot read the column as text: {e}"),
    })?;
    let text = cast.str().map_err(|e| AnonError::InvalidParameter {
        name: name.to_owned(),
        reason: format!("cannot read the column as text: {e}"),
    })?;
    Ok(text.iter().map(|v| v.map(str::to_owned)).collect())
}

/// The distinct non-missing values of some columns' text, sorted (numerically when every value
/// is a number), for the hierarchy builders.
pub fn distinct_values<'a>(columns: impl IntoIterator<Item = &'a [Option<String>]>) -> Vec<String> {
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    for column in columns {
        seen.extend(column.iter().flatten().map(String::as_str));
    }
    let mut values: Vec<String> = seen.into_iter().map(str::to_owned).collect();
    let numbers: Option<Vec<f64>> =
        values.iter().map(|v| crate::hierarchy::parse_number(v)).collect();
    match numbers {
        Some(_) => values.sort_by(|a, b| {
            let (x, y) =
                (a.trim().parse::<f64>().unwrap_or(0.0), b.trim().parse::<f64>().unwrap_or(0.0));
            x.total_cmp(&y).then_with(|| a.cmp(b))
        }),
        None => values.sort(),
    }
    values
}

/// Adds the missing-value leaf the policy needs, or refuses missing values.
pub fn prepare_hierarchy(
    hierarchy: Hierarchy,
    missing: MissingPolicy,
    missing_count: usize,
) -> Result<Hierarchy, AnonError> {
    match missing {
        _ if missing_count == 0 => Ok(hierarchy),
        MissingPolicy::Refuse => Err(AnonError::MissingValues {
            column: hierarchy.column().to_owned(),
            count: missing_count,
        }),
        MissingPolicy::OwnCategory => hierarchy.with_missing_leaf(MISSING_LABEL, false),
        MissingPolicy::MatchesAnything => hierarchy.with_missing_leaf(MISSING_LABEL, true),
    }
}

/// Encodes a column's text against its (prepared) hierarchy.
pub fn encode_column(
    text: &[Option<String>],
    hierarchy: Hierarchy,
    missing: MissingPolicy,
) -> Result<EncodedColumn, AnonError> {
    let missing_count = text.iter().filter(|v| v.is_none()).count();
    let hierarchy = prepare_hierarchy(hierarchy, missing, missing_count)?;
    let codes = encode_codes(text, &hierarchy)?;
    Ok(EncodedColumn {
        name: hierarchy.column().to_owned(),
        hierarchy,
        codes,
        missing,
        missing_count,
    })
}

/// Leaf codes of `text` in `hierarchy` (which must already hold the missing leaf if needed).
pub fn encode_codes(text: &[Option<String>], hierarchy: &Hierarchy) -> Result<Vec<u32>, AnonError> {
    text.iter()
        .map(|v| {
            let value = v.as_deref().unwrap_or(MISSING_LABEL);
            hierarchy.leaf_code(value).ok_or_else(|| match v {
                Some(value) => AnonError::ValueNotInHierarchy {
                    column: hierarchy.column().to_owned(),
                    value: value.clone(),
                },
                None => {
                    AnonError::MissingValues { column: hierarchy.column().to_owned(), count: 1 }
                }
            })
        })
        .collect()
}

/// The table the search works on: encoded quasi-identifiers and sensitive attributes, and,
/// when a population table is given, its quasi-identifiers encoded with the same dictionaries.
#[derive(Clone, Debug)]
pub struct EncodedTable {
    /// The number of records.
    pub rows: usize,
    /// The quasi-identifiers, in job order.
    pub quasi: Vec<EncodedColumn>,
    /// The sensitive attributes, in job order.
    pub sensitive: Vec<EncodedColumn>,
    /// The population's quasi-identifier codes, one vector per quasi-identifier.
    pub population: Option<Vec<Vec<u32>>>,
}

impl EncodedTable {
    /// The hierarchies of the quasi-identifiers.
    pub fn hierarchies(&self) -> Vec<&Hierarchy> {
        self.quasi.iter().map(|c| &c.hierarchy).collect()
    }

    /// The index of a sensitive attribute by name.
    pub fn sensitive_index(&self, name: &str) -> Option<usize> {
        self.sensitive.iter().position(|c| c.name == name)
    }

    /// The number of population records, if a population was given.
    pub fn population_rows(&self) -> Option<usize> {
        self.population.as_ref().map(|p| p.first().map_or(0, Vec::len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_owned)).collect()
    }

    #[test]
    fn unknown_values_and_refused_missing_values_are_errors() {
        let h = Hierarchy::from_csv_bytes("sex", b"Male;*\nFemale;*\n").unwrap();
        let e =
            encode_column(&text(&[Some("Male"), Some("Other")]), h.clone(), MissingPolicy::Refuse)
                .unwrap_err();
        assert!(e.to_string().contains("\"Other\"") && e.to_string().contains("sex"), "{e}");
        let e = encode_column(&text(&[None]), h.clone(), MissingPolicy::Refuse).unwrap_err();
        assert!(matches!(e, AnonError::MissingValues { count: 1, .. }));
        let ok =
            encode_column(&text(&[None, Some("Male")]), h, MissingPolicy::OwnCategory).unwrap();
        assert_eq!(ok.missing_count, 1);
        assert_eq!(ok.codes, vec![2, 0]);
    }

    #[test]
    fn distinct_values_sort_numbers_as_numbers() {
        let a = text(&[Some("10"), Some("9"), None, Some("10")]);
        assert_eq!(distinct_values([a.as_slice()]), vec!["9".to_owned(), "10".to_owned()]);
    }
}
