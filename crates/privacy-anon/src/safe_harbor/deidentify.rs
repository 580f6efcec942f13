//! The de-identification run: plan a rule per column, apply it, scan the output, and refuse to
//! write an output that still holds an identifier kind it was told to remove.
//!
//! Order of the guarantees: (1) every column gets a kind (job declaration, else name and
//! values) and a rule (job column, else job kind rule, else the profile); impossible plans
//! (a keyed rule without a key, `generalize` on a kind that has no generalized form) are
//! refused before anything is computed; (2) rules are applied column by column; (3) the output
//! is scanned ([`super::scan`]) with the input's kinds, and any identifier kind found in a
//! column whose rule is not `keep` (or, for `shift`, other than dates) stops the run with
//! [`AnonError::IdentifiersRemain`], naming columns, kinds and counts, never values; (4) only
//! then does the caller write the table and record the audit event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::job::{ColumnSpec, DateShiftSpec, DeidJob};
use super::kinds::{ColumnKind, IdentifierKind, Rule};
use super::scan::{recognize_column, scan, Recognition, ScanOptions, ScanReport};
use super::zip3::Zip3Table;
use super::AGE_90_OR_OLDER;
use crate::date_text::{is_year, DateCell};
use crate::dateshift::DateShifter;
use crate::detect::Detector;
use crate::error::AnonError;
use crate::keyring::KeyRing;
use crate::mask::{Mask, TopBottomCoder};
use crate::pseudonym::Pseudonymizer;
use crate::text_table::TextTable;

/// Everything a run needs besides the table.
pub struct DeidOptions<'a> {
    /// The job's overrides (an empty job is the plain profile).
    pub job: &'a DeidJob,
    /// The key ring, when given.
    pub keys: Option<&'a KeyRing>,
    /// The restricted ZIP3 table.
    pub zip3: &'a Zip3Table,
    /// The date ages are computed at.
    pub reference_date: time::Date,
}

/// What was done to one column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// The column.
    pub column: String,
    /// Its kind and the evidence.
    pub recognition: Recognition,
    /// The rule applied.
    pub rule: Rule,
    /// Where the rule came from: `profile`, `job kind rule`, `job column`.
    pub rule_source: String,
    /// The pseudonym or token domain.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub domain: Option<String>,
    /// Values changed.
    pub changed: u64,
    /// Values emptied because the rule could not apply to them (e.g. a non-date in a date
    /// column), counted, never shown.
    pub blanked: u64,
    /// Identifier spans replaced in free text.
    pub redacted_spans: u64,
}

/// The Safe Harbor verdict on the output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the output meets the Safe Harbor removal requirement as far as software can
    /// tell (45 CFR 164.514(b)(2)(i)); the "no actual knowledge" requirement of (ii) is a
    /// person's.
    pub met: bool,
    /// Why not, or what to review.
    pub notes: Vec<String>,
}

/// The report of a run (JSON and text), free of data values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeidReport {
    /// The profile.
    pub profile: String,
    /// The input table's name.
    pub input: String,
    /// Rows.
    pub rows: u64,
    /// The date ages were computed at.
    pub reference_date: String,
    /// The restricted ZIP3 table's version.
    pub zip3_table_version: String,
    /// The key version used, if a key was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_version: Option<u32>,
    /// The public id of that key version.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_id: Option<String>,
    /// Date shifting, if configured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_shift: Option<DateShiftSpec>,
    /// Every input column, in order.
    pub columns: Vec<ColumnReport>,
    /// The scan of the output.
    pub verification: ScanReport,
    /// The verdict.
    pub safe_harbor: Verdict,
}

/// The output and its report.
#[derive(Debug)]
pub struct DeidOutcome {
    /// The de-identified table.
    pub table: TextTable,
    /// The report.
    pub report: DeidReport,
}

struct Plan {
    recognition: Recognition,
    rule: Rule,
    source: &'static str,
    spec: Option<ColumnSpec>,
    domain: Option<String>,
}

/// De-identifies `table` (named `name` in the report).
pub fn deidentify(
    table: &TextTable,
    name: &str,
    options: &DeidOptions<'_>,
) -> Result<DeidOutcome, AnonError> {
    for spec in &options.job.columns {
        table.column(&spec.name)?;
    }
    let plans: Vec<Plan> = table
        .names
        .iter()
        .zip(&table.columns)
        .map(|(column, values)| plan(column, values, options))
        .collect::<Result<_, _>>()?;
    let shift = prepare_shift(table, &plans, options)?;
    let pseudonymizer = options.keys.map(Pseudonymizer::new);
    let mut names = Vec::new();
    let mut columns = Vec::new();
    let mut reports = Vec::new();
    for ((column, values), plan) in table.names.iter().zip(&table.columns).zip(plans) {
        let mut report = ColumnReport {
            column: column.clone(),
            recognition: plan.recognition.clone(),
            rule: plan.rule,
            rule_source: plan.source.to_owned(),
            domain: plan.domain.clone(),
            changed: 0,
            blanked: 0,
            redacted_spans: 0,
        };
        if plan.rule != Rule::Remove {
            let context =
                Context { options, pseudonymizer: pseudonymizer.as_ref(), shift: shift.as_ref() };
            let out = apply(&plan, values, &context, &mut report)?;
            names.push(column.clone());
            columns.push(out);
        }
        reports.push(report);
    }
    let output = TextTable::new(names, columns)?;
    let declared: BTreeMap<String, ColumnKind> =
        reports.iter().map(|r| (r.column.clone(), r.recognition.kind)).collect();
    let scan_options = ScanOptions {
        zip3: options.zip3,
        reference_year: options.reference_date.year(),
        declared: &declared,
    };
    let verification = scan(&output, name, &scan_options);
    check_output(&reports, &verification)?;
    let safe_harbor = verdict(&reports, &verification, options.job);
    let report = DeidReport {
        profile: "safe-harbor".into(),
        input: name.to_owned(),
        rows: table.rows() as u64,
        reference_date: iso(options.reference_date),
        zip3_table_version: options.zip3.version().to_owned(),
        key_version: options.keys.map(KeyRing::active_version),
        key_id: options.keys.map(|k| k.key_id(k.active_version())),
        date_shift: options.job.date_shift.clone(),
        columns: reports,
        verification,
        safe_harbor,
    };
    tracing::info!(
        rows = report.rows,
        columns = report.columns.len(),
        met = report.safe_harbor.met,
        "de-identified a table"
    );
    Ok(DeidOutcome { table: output, report })
}

fn iso(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn plan(
    column: &str,
    values: &[Option<String>],
    options: &DeidOptions<'_>,
) -> Result<Plan, AnonError> {
    let spec = options.job.column(column).cloned();
    let recognition = recognize_column(column, values, spec.as_ref().and_then(|s| s.kind));
    let kind = recognition.kind;
    let keyed = options.keys.is_some();
    let (rule, source) = if let Some(rule) = spec.as_ref().and_then(|s| s.rule) {
        (rule, "job column")
    } else if let Some(rule) = kind.identifier().and_then(|k| options.job.rules.get(&k)) {
        (*rule, "job kind rule")
    } else if options.job.date_shift.is_some()
        && matches!(kind, ColumnKind::Date | ColumnKind::BirthDate)
    {
        (Rule::Shift, "job date_shift")
    } else {
        (kind.safe_harbor_rule(keyed), "profile")
    };
    let fail = |reason: &str| AnonError::RuleFailed {
        column: column.to_owned(),
        rule: rule.as_str().to_owned(),
        reason: reason.to_owned(),
    };
    if rule == Rule::Generalize
        && !matches!(
            kind,
            ColumnKind::Zip | ColumnKind::BirthDate | ColumnKind::Date | ColumnKind::Age
        )
    {
        return Err(fail("generalize applies to ZIP codes, dates and ages; choose another rule"));
    }
    if rule.needs_key() && !keyed {
        return Err(AnonError::KeyRequired {
            column: column.to_owned(),
            rule: rule.as_str().to_owned(),
        });
    }
    if rule == Rule::Shift && options.job.date_shift.is_none() {
        return Err(fail("shift needs a [date_shift] section naming the patient column"));
    }
    if rule == Rule::Tokenize && !cfg!(feature = "reversible-tokens") {
        return Err(fail("tokens need privacy-anon's `reversible-tokens` feature"));
    }
    if rule == Rule::TopBottomCode
        && spec.as_ref().is_none_or(|s| s.top.is_none() && s.bottom.is_none())
    {
        return Err(fail("top-bottom-code needs top or bottom in the job"));
    }
    let domain = matches!(rule, Rule::Pseudonymize | Rule::Tokenize).then(|| {
        spec.as_ref().and_then(|s| s.domain.clone()).unwrap_or_else(|| default_domain(column))
    });
    Ok(Plan { recognition, rule, source, spec, domain })
}

/// The column name in lower case, other characters as `_`, at most 64.
pub fn default_domain(column: &str) -> String {
    let d: String = column
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(crate::pseudonym::MAX_DOMAIN_LEN)
        .collect();
    if d.is_empty() {
        "column".into()
    } else {
        d
    }
}

/// The date offset of every row's patient (`None` where the patient id is missing).
struct Shift {
    offsets: Vec<Option<i64>>,
}

fn prepare_shift(
    table: &TextTable,
    plans: &[Plan],
    options: &DeidOptions<'_>,
) -> Result<Option<Shift>, AnonError> {
    let (Some(spec), Some(keys)) = (&options.job.date_shift, options.keys) else { return Ok(None) };
    if !plans.iter().any(|p| p.rule == Rule::Shift) {
        return Ok(None);
    }
    let ids = table.column(&spec.patient)?;
    let shifter = DateShifter::new(keys, spec.max_days, spec.allow_zero)?;
    let offsets = ids
        .iter()
        .map(|id| {
            id.as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| shifter.offset(&spec.domain, v))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(Shift { offsets }))
}

struct Context<'a, 'b> {
    options: &'a DeidOptions<'b>,
    pseudonymizer: Option<&'a Pseudonymizer>,
    shift: Option<&'a Shift>,
}

fn apply(
    plan: &Plan,
    values: &[Option<String>],
    cx: &Context<'_, '_>,
    report: &mut ColumnReport,
) -> Result<Vec<Option<String>>, AnonError> {
    let kind = plan.recognition.kind;
    let spec = plan.spec.clone().unwrap_or_default();
    let mut out = Vec::with_capacity(values.len());
    for (row, value) in values.iter().enumerate() {
        let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) else {
            out.push(value.clone());
            continue;
        };
        let new: Option<String> = match plan.rule {
            Rule::Remove => None,
            Rule::Keep => Some(v.to_owned()),
            Rule::Generalize => generalize(kind, v, cx.options),
            Rule::Pseudonymize => {
                let domain = plan.domain.as_deref().unwrap_or("column");
                cx.pseudonymizer.map(|p| p.pseudonym(domain, v))
            }
            Rule::Tokenize => {
                tokenize(cx.options.keys, plan.domain.as_deref().unwrap_or("column"), v)?
            }
            Rule::Shift => cx.shift.and_then(|s| {
                let offset = s.offsets.get(row).copied().flatten()?;
                DateShifter::shift(
                    v,
                    offset,
                    kind == ColumnKind::Date || kind == ColumnKind::BirthDate,
                )
            }),
            Rule::Mask => Some(
                Mask {
                    keep_first: spec.keep_first.unwrap_or(0),
                    keep_last: spec.keep_last.unwrap_or(0),
                }
                .apply(v),
            ),
            Rule::Redact => {
                let (text, spans) = Detector::global().redact(v);
                report.redacted_spans += spans.len() as u64;
                Some(text)
            }
            Rule::TopBottomCode => TopBottomCoder { bottom: spec.bottom, top: spec.top }.apply(v),
        };
        match new {
            Some(n) => {
                report.changed += u64::from(n != v);
                out.push(Some(n));
            }
            None => {
                report.blanked += 1;
                out.push(None);
            }
        }
    }
    Ok(out)
}

#[cfg(feature = "reversible-tokens")]
fn tokenize(
    keys: Option<&KeyRing>,
    domain: &str,
    value: &str,
) -> Result<Option<String>, AnonError> {
    let Some(keys) = keys else { return Ok(None) };
    Ok(Some(crate::tokenize::Tokenizer::new(keys)?.tokenize(domain, value)?))
}

#[cfg(not(feature = "reversible-tokens"))]
fn tokenize(
    _keys: Option<&KeyRing>,
    _domain: &str,
    _value: &str,
) -> Result<Option<String>, AnonError> {
    // `plan` refuses the rule without the feature, so this is never reached with values.
    Ok(None)
}

/// The Safe Harbor form of one value of a ZIP, date or age column; `None` if it is not one.
pub fn generalize(kind: ColumnKind, value: &str, options: &DeidOptions<'_>) -> Option<String> {
    let v = value.trim();
    let year = || is_year(v).or_else(|| DateCell::parse(v, true).map(|c| c.date.year()));
    match kind {
        ColumnKind::Zip => options.zip3.generalize(v),
        ColumnKind::Date => {
            if v == AGE_90_OR_OLDER {
                return Some(v.to_owned());
            }
            year().map(|y| y.to_string())
        }
        ColumnKind::BirthDate => {
            if v == AGE_90_OR_OLDER {
                return Some(v.to_owned());
            }
            // A birth year y implies an age over 89 at the reference date for some birthday in
            // that year when reference_year − y ≥ 90 (45 CFR 164.514(b)(2)(i)(C)).
            year().map(|y| {
                if options.reference_date.year() - y >= 90 {
                    AGE_90_OR_OLDER.to_owned()
                } else {
                    y.to_string()
                }
            })
        }
        ColumnKind::Age => {
            if v == AGE_90_OR_OLDER {
                return Some(v.to_owned());
            }
            TopBottomCoder { bottom: None, top: Some(90.0) }.apply(v)
        }
        _ => None,
    }
}

fn check_output(reports: &[ColumnReport], scan: &ScanReport) -> Result<(), AnonError> {
    let mut problems = Vec::new();
    for column in &scan.columns {
        let Some(report) = reports.iter().find(|r| r.column == column.column) else { continue };
        for f in &column.findings {
            let allowed = match report.rule {
                Rule::Keep => true,
                Rule::Shift => f.kind == IdentifierKind::Dates,
                _ => false,
            };
            if !allowed {
                problems.push(format!(
                    "{:?}: ({}) {} in {} values",
                    column.column,
                    f.kind.letter(),
                    f.kind.label(),
                    f.count
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AnonError::IdentifiersRemain(problems.join("; ")))
    }
}

fn verdict(reports: &[ColumnReport], scan: &ScanReport, job: &DeidJob) -> Verdict {
    let mut notes = Vec::new();
    let mut met = true;
    for column in &scan.columns {
        let declared_safe =
            job.column(&column.column).is_some_and(|s| s.kind == Some(ColumnKind::NotIdentifying));
        for f in &column.findings {
            if declared_safe {
                notes.push(format!("column {:?}: the job declares it not identifying, though {} values look like ({}) {}; confirm", column.column, f.count, f.kind.letter(), f.kind.label()));
            } else {
                met = false;
                notes.push(format!(
                    "column {:?} keeps ({}) {} in {} values",
                    column.column,
                    f.kind.letter(),
                    f.kind.label(),
                    f.count
                ));
            }
        }
    }
    for r in reports {
        match r.rule {
            Rule::Pseudonymize | Rule::Tokenize => {
                met = false;
                notes.push(format!(
                    "column {:?} holds keyed {} derived from identifiers: 45 CFR 164.514(c) permits only re-identification codes not derived from information about the individual; remove it (no --key-file) for Safe Harbor, or have the release covered by Expert Determination",
                    r.column,
                    if r.rule == Rule::Pseudonymize { "pseudonyms" } else { "tokens" }
                ));
            }
            Rule::Shift => {
                met = false;
                notes.push(format!("column {:?} keeps shifted dates: Safe Harbor allows only the year", r.column));
            }
            Rule::Redact => notes.push(format!(
                "column {:?} is free text: {} identifier spans were redacted, but names and unusual formats are not detected; review it by hand or drop it",
                r.column, r.redacted_spans
            )),
            _ => {}
        }
        if r.blanked > 0 {
            notes.push(format!(
                "column {:?}: {} values could not take the rule {} and were emptied",
                r.column, r.blanked, r.rule
            ));
        }
    }
    notes.push("Safe Harbor also requires that no one releasing the data knows a way to identify anyone from what remains (45 CFR 164.514(b)(2)(ii)); that is for a person to confirm".into());
    Verdict { met, notes }
}

impl DeidReport {
    /// A readable report (no values).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "De-identification of {} with profile {} ({} rows; ages at {}; ZIP3 table {})\n",
            self.input, self.profile, self.rows, self.reference_date, self.zip3_table_version
        );
        if let (Some(v), Some(id)) = (self.key_version, &self.key_id) {
            out.push_str(&format!("Key version {v} (key id {id})\n"));
        }
        if let Some(s) = &self.date_shift {
            out.push_str(&format!(
                "Dates shifted per patient ({} in domain {}) by up to ±{} days\n",
                s.patient, s.domain, s.max_days
            ));
        }
        out.push_str(&format!("  {:<24} {:<22} {:<16} {}\n", "column", "kind", "rule", "evidence"));
        for c in &self.columns {
            let mut rule = c.rule.as_str().to_owned();
            if let Some(d) = &c.domain {
                rule.push_str(&format!(" ({d})"));
            }
            out.push_str(&format!(
                "  {:<24} {:<22} {:<16} {}",
                c.column,
                c.recognition.kind.as_str(),
                rule,
                c.recognition.evidence()
            ));
            if c.rule_source != "profile" {
                out.push_str(&format!(" [{}]", c.rule_source));
            }
            if c.blanked > 0 {
                out.push_str(&format!(" [{} emptied]", c.blanked));
            }
            out.push('\n');
        }
        let remaining = self.verification.remaining();
        if remaining.is_empty() {
            out.push_str("Output scan: no Safe Harbor identifier kind remains.\n");
        } else {
            let kinds: Vec<String> =
                remaining.iter().map(|k| format!("({})", k.letter())).collect();
            out.push_str(&format!("Output scan: kinds kept by the job: {}\n", kinds.join(" ")));
        }
        out.push_str(&format!(
            "Safe Harbor: {}\n",
            if self.safe_harbor.met { "met (removal requirement)" } else { "NOT met" }
        ));
        for n in &self.safe_harbor.notes {
            out.push_str(&format!("  - {n}\n"));
        }
        out
    }
}
