//! The Safe Harbor scanner: which of the 18 identifier kinds remain in a table.
//!
//! For every column it decides the column's kind ([`recognize_column`]: from the name, the
//! values, or a job's declaration) and then counts, per identifier kind, the values that still
//! carry it:
//! - a value in a strong identifier format (an email address, a dashed SSN, a full date, a
//!   UUID, …) counts for that format's kind wherever it occurs;
//! - a value in a weak format (five digits, a Luhn-valid number) counts only when four fifths
//!   of the column are in that format;
//! - in a column whose kind is an identifier kind, every value that is not in a form Safe
//!   Harbor permits for that kind counts: for ZIP codes three unrestricted digits or `000`; for
//!   dates a year (birth years only when they imply an age under 90) or `90+`; for ages numbers
//!   up to 89 or `90+`; for every kind a fully masked value or a redaction placeholder;
//! - in prose, the free-text detector's spans count for their kinds.
//!
//! Keyed pseudonyms and tokens are counted apart: they are not the identifier, but they are
//! derived from it (see [`crate::pseudonym`]).
//!
//! The findings never hold a value: only column names, kinds, counts and how the kind was
//! recognised. They are the input of the compliance report's "Safe Harbor findings" (the CLI
//! converts them to `privacy_audit::compliance::SafeHarborFindings`, kinds one to one).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::kinds::{ColumnKind, IdentifierKind};
use super::recognize::{classify, kind_from_name, ValueClass, ValueProfile, WEAK_SHARE};
use super::zip3::Zip3Table;
use crate::date_text::is_year;
use crate::detect::Detector;
use crate::text_table::TextTable;

/// How the scanner judges permitted forms.
#[derive(Clone, Debug)]
pub struct ScanOptions<'a> {
    /// The restricted ZIP3 table.
    pub zip3: &'a Zip3Table,
    /// The year ages are computed at: a birth year `y` implies an age over 89 when
    /// `reference_year − y ≥ 90`.
    pub reference_year: i32,
    /// Column kinds declared by a job (they replace recognition).
    pub declared: &'a BTreeMap<String, ColumnKind>,
}

/// How a column's kind was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recognition {
    /// The kind.
    pub kind: ColumnKind,
    /// The kind the name announced.
    pub by_name: Option<ColumnKind>,
    /// The kind the values announced, and how many values support it.
    pub by_values: Option<(ColumnKind, u64)>,
    /// Whether a job declared the kind.
    pub declared: bool,
    /// Non-empty values.
    pub non_empty: u64,
}

impl Recognition {
    /// The evidence in words, without any value: `name (ssn); values: 1171 of 1171 ssn`.
    pub fn evidence(&self) -> String {
        let mut parts = Vec::new();
        if self.declared {
            parts.push("declared in the job".to_owned());
        }
        if let Some(k) = self.by_name {
            parts.push(format!("column name ({k})"));
        }
        if let Some((k, n)) = self.by_values {
            parts.push(format!("values: {n} of {} in {k} format", self.non_empty));
        }
        if parts.is_empty() {
            parts.push("no identifier recognised".to_owned());
        }
        parts.join("; ")
    }
}

/// Decides a column's kind from its name and values (a declared kind wins).
pub fn recognize_column(
    name: &str,
    values: &[Option<String>],
    declared: Option<ColumnKind>,
) -> Recognition {
    let profile = ValueProfile::of(values.iter().map(Option::as_deref));
    let by_name = kind_from_name(name);
    let by_values = profile.kind();
    let kind = match (declared, by_name, by_values) {
        (Some(k), _, _) => k,
        (None, Some(n), Some((v, _))) => stricter(n, v),
        (None, Some(n), None) => n,
        (None, None, Some((v, _))) => v,
        (None, None, None) => ColumnKind::NotIdentifying,
    };
    Recognition {
        kind,
        by_name,
        by_values,
        declared: declared.is_some(),
        non_empty: profile.non_empty,
    }
}

/// Of a name's and the values' kinds, the one Safe Harbor treats more strictly (the name wins
/// ties, and a more specific date or code kind of the name is kept over the values' generic
/// one).
fn stricter(name: ColumnKind, values: ColumnKind) -> ColumnKind {
    use ColumnKind as C;
    let same_family = matches!(
        (name, values),
        (C::BirthDate | C::Date, C::Date)
            | (
                C::MedicalRecordNumber
                    | C::HealthPlanNumber
                    | C::AccountNumber
                    | C::LicenseNumber
                    | C::DeviceIdentifier,
                C::UniqueIdentifier
            )
    );
    if same_family || name == values {
        return name;
    }
    let strictness = |k: ColumnKind| k.safe_harbor_rule(false).strictness();
    if strictness(values) > strictness(name) {
        values
    } else {
        name
    }
}

/// One identifier kind still present in a column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindFinding {
    /// The kind.
    pub kind: IdentifierKind,
    /// Values that carry it.
    pub count: u64,
    /// Whether the column's name (or the job) gave the kind.
    pub by_name: bool,
    /// Values in the kind's format.
    pub by_format: u64,
    /// Values whose prose holds such an identifier.
    pub in_text: u64,
}

impl KindFinding {
    /// How it was recognised, in words (for `privacy_audit`'s `IdentifierFinding::note`).
    pub fn note(&self) -> String {
        let mut parts = Vec::new();
        if self.by_name {
            parts.push("by column name".to_owned());
        }
        if self.by_format > 0 {
            parts.push(format!("{} values in its format", self.by_format));
        }
        if self.in_text > 0 {
            parts.push(format!("{} values with it in free text", self.in_text));
        }
        parts.join("; ")
    }
}

/// What the scanner found in one column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnScan {
    /// The column.
    pub column: String,
    /// Its kind and how it was decided.
    pub recognition: Recognition,
    /// The identifier kinds that remain, in the regulation's order.
    pub findings: Vec<KindFinding>,
    /// Keyed pseudonyms in it.
    pub pseudonyms: u64,
    /// Reversible tokens in it.
    pub tokens: u64,
}

/// The scan of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The table's name (its file name).
    pub table: String,
    /// Rows scanned.
    pub rows: u64,
    /// The ZIP3 table's version used.
    pub zip3_table_version: String,
    /// The reference year for ages.
    pub reference_year: i32,
    /// Every column, in table order.
    pub columns: Vec<ColumnScan>,
}

impl ScanReport {
    /// The identifier kinds that remain anywhere in the table.
    pub fn remaining(&self) -> BTreeSet<IdentifierKind> {
        self.columns.iter().flat_map(|c| c.findings.iter().map(|f| f.kind)).collect()
    }

    /// A readable summary (no values).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Safe Harbor scan of {} ({} rows; ZIP3 table {}; ages at {})\n",
            self.table, self.rows, self.zip3_table_version, self.reference_year
        );
        for c in &self.columns {
            let status = if c.findings.is_empty() {
                "clean".to_owned()
            } else {
                format!("{} kind(s) remain", c.findings.len())
            };
            out.push_str(&format!(
                "  {:<24} {:<22} {}  [{}]\n",
                c.column,
                c.recognition.kind.as_str(),
                status,
                c.recognition.evidence()
            ));
            for f in &c.findings {
                out.push_str(&format!("      {} — {} values ({})\n", f.kind, f.count, f.note()));
            }
            if c.pseudonyms + c.tokens > 0 {
                out.push_str(&format!(
                    "      {} keyed pseudonyms, {} tokens (derived from identifiers)\n",
                    c.pseudonyms, c.tokens
                ));
            }
        }
        let remaining = self.remaining();
        if remaining.is_empty() {
            out.push_str("No Safe Harbor identifier kind was found.\n");
        } else {
            let kinds: Vec<String> =
                remaining.iter().map(|k| format!("({})", k.letter())).collect();
            out.push_str(&format!("Identifier kinds remaining: {}\n", kinds.join(" ")));
        }
        out
    }
}

/// Scans every column of `table`.
pub fn scan(table: &TextTable, name: &str, options: &ScanOptions<'_>) -> ScanReport {
    let columns = table
        .names
        .iter()
        .zip(&table.columns)
        .map(|(column, values)| scan_column(column, values, options))
        .collect();
    ScanReport {
        table: name.to_owned(),
        rows: table.rows() as u64,
        zip3_table_version: options.zip3.version().to_owned(),
        reference_year: options.reference_year,
        columns,
    }
}

/// Scans one column.
pub fn scan_column(
    column: &str,
    values: &[Option<String>],
    options: &ScanOptions<'_>,
) -> ColumnScan {
    let recognition = recognize_column(column, values, options.declared.get(column).copied());
    let named_kind = (recognition.declared || recognition.by_name == Some(recognition.kind))
        .then_some(recognition.kind)
        .or_else(|| recognition.by_values.map(|(k, _)| k).filter(|k| *k == recognition.kind));
    let weak_share = |count: u64| count as f64 >= WEAK_SHARE * recognition.non_empty.max(1) as f64;
    let profile_weak = ValueProfile::of(values.iter().map(Option::as_deref)).weak;
    let mut counts: BTreeMap<IdentifierKind, KindFinding> = BTreeMap::new();
    let (mut pseudonyms, mut tokens) = (0, 0);
    for value in values.iter().flatten().map(String::as_str).filter(|v| !v.trim().is_empty()) {
        let class = classify(value);
        let mut hits: BTreeMap<IdentifierKind, (bool, bool, bool)> = BTreeMap::new();
        match class {
            ValueClass::Pseudonym => pseudonyms += 1,
            ValueClass::Token => tokens += 1,
            ValueClass::Strong(k) => {
                if let Some(id) = k.identifier() {
                    if !permitted(recognition.kind, value, options) {
                        hits.entry(id).or_default().1 = true;
                    }
                }
            }
            ValueClass::Weak(k) => {
                if let Some(id) = k
                    .identifier()
                    .filter(|_| weak_share(profile_weak.get(&k).copied().unwrap_or(0)))
                {
                    if !permitted(recognition.kind, value, options) {
                        hits.entry(id).or_default().1 = true;
                    }
                }
            }
            _ => {}
        }
        if let Some(id) = named_kind.and_then(ColumnKind::identifier) {
            let derived = matches!(class, ValueClass::Pseudonym | ValueClass::Token);
            if !derived && !permitted(recognition.kind, value, options) {
                hits.entry(id).or_default().0 = true;
            }
        }
        if matches!(class, ValueClass::Text) || recognition.kind == ColumnKind::FreeText {
            for span in Detector::global().find(value) {
                hits.entry(span.kind.identifier()).or_default().2 = true;
            }
        }
        for (kind, (name, format, text)) in hits {
            let f = counts.entry(kind).or_insert(KindFinding {
                kind,
                count: 0,
                by_name: false,
                by_format: 0,
                in_text: 0,
            });
            f.count += 1;
            f.by_name |= name;
            f.by_format += u64::from(format);
            f.in_text += u64::from(text);
        }
    }
    ColumnScan {
        column: column.to_owned(),
        recognition,
        findings: counts.into_values().collect(),
        pseudonyms,
        tokens,
    }
}

/// Whether `value` is a form Safe Harbor permits in a column of `kind`.
pub fn permitted(kind: ColumnKind, value: &str, options: &ScanOptions<'_>) -> bool {
    let v = value.trim();
    if matches!(classify(v), ValueClass::Masked) {
        return true;
    }
    match kind {
        ColumnKind::Zip => options.zip3.is_permitted_output(v),
        ColumnKind::BirthDate => {
            v == super::AGE_90_OR_OLDER
                || is_year(v).is_some_and(|y| options.reference_year - y < 90)
        }
        ColumnKind::Date => v == super::AGE_90_OR_OLDER || is_year(v).is_some(),
        ColumnKind::Age => {
            v == super::AGE_90_OR_OLDER
                || v.starts_with("<=")
                || v.parse::<f64>().is_ok_and(|a| a.is_finite() && a < 90.0)
        }
        ColumnKind::NotIdentifying | ColumnKind::FreeText => {
            !matches!(classify(v), ValueClass::Strong(_))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(names: &[&str], rows: &[&[&str]]) -> TextTable {
        let columns = (0..names.len())
            .map(|c| rows.iter().map(|r| (!r[c].is_empty()).then(|| r[c].to_owned())).collect())
            .collect();
        TextTable::new(names.iter().map(|n| (*n).to_owned()).collect(), columns).unwrap()
    }

    #[test]
    fn finds_what_remains_and_nothing_in_permitted_forms() {
        let zip3 = Zip3Table::built_in();
        let declared = BTreeMap::new();
        let options = ScanOptions { zip3: &zip3, reference_year: 2024, declared: &declared };
        let t = table(
            &["x", "ZIP", "zip3", "BIRTHDATE", "birth_year", "age", "notes", "CODE"],
            &[
                &[
                    "123-45-6789",
                    "02138",
                    "021",
                    "1980-02-01",
                    "1980",
                    "45",
                    "call 617-555-0142",
                    "444814009",
                ],
                &["234-56-7890", "03601", "000", "1920-05-01", "1920", "95", "fine", "40055000"],
                &["345-67-8901", "", "036", "", "90+", "90+", "", "10509002"],
            ],
        );
        let report = scan(&t, "t.csv", &options);
        let find = |c: &str| report.columns.iter().find(|s| s.column == c).unwrap();
        let kinds =
            |c: &str| find(c).findings.iter().map(|f| (f.kind, f.count)).collect::<Vec<_>>();
        assert_eq!(kinds("x"), [(IdentifierKind::SocialSecurityNumbers, 3)]);
        assert_eq!(find("x").recognition.kind, ColumnKind::Ssn);
        assert_eq!(kinds("ZIP"), [(IdentifierKind::GeographicSubdivisions, 2)]);
        assert_eq!(
            kinds("zip3"),
            [(IdentifierKind::GeographicSubdivisions, 1)],
            "036 is restricted"
        );
        assert_eq!(kinds("BIRTHDATE"), [(IdentifierKind::Dates, 2)]);
        assert_eq!(
            kinds("birth_year"),
            [(IdentifierKind::Dates, 1)],
            "1920 implies an age over 89"
        );
        assert_eq!(kinds("age"), [(IdentifierKind::Dates, 1)]);
        assert_eq!(kinds("notes"), [(IdentifierKind::TelephoneNumbers, 1)]);
        assert!(kinds("CODE").is_empty(), "codes are not identifiers");
        let remaining = report.remaining();
        assert_eq!(remaining.len(), 4);
        let text = report.to_text();
        for value in ["123-45-6789", "02138", "1980-02-01", "617-555-0142"] {
            assert!(!text.contains(value), "the report shows no value: {value}");
        }
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("6789") && !json.contains("0142"));
    }
}
