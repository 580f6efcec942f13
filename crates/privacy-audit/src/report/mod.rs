//! The compliance report: one [`Document`] built from the verified log and the plain inputs,
//! rendered as a self-contained HTML page and as Markdown with its charts beside it.
//!
//! **Deterministic:** the same inputs give the same bytes. Nothing reads the clock, the host or
//! the working directory; every collection is ordered; floating-point figures are printed with a
//! fixed format; charts use no system font. The report is dated by the log's last entry, not by
//! when it was generated.

pub mod chart;
pub mod document;
pub mod html;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::compliance::expert;
use crate::compliance::gdpr::{self, GdprInputs};
use crate::compliance::{
    guarantee_text, value_text, JobSummary, LedgerSnapshot, LogFacts, ProjectDescription,
    RiskSummary, SafeHarborFindings,
};
use crate::error::AuditError;
use crate::read::LoggedEntries;
use crate::verify::Verification;
use chart::Series;
use document::{Block, Document, Field, Figure, Section, Table};

/// Everything a report is built from.
#[derive(Clone, Debug)]
pub struct ReportInputs {
    /// The log's name as shown in the report (its file name).
    pub log_name: String,
    /// The verification of the log.
    pub verification: Verification,
    /// Its entries.
    pub entries: LoggedEntries,
    /// The budget ledger, if given.
    pub ledger: Option<LedgerSnapshot>,
    /// Job file summaries.
    pub jobs: Vec<JobSummary>,
    /// The project description (empty when none was given).
    pub project: ProjectDescription,
    /// Safe Harbor scans.
    pub safe_harbor: Vec<SafeHarborFindings>,
    /// Risk summaries given besides those recorded in the log.
    pub risks: Vec<RiskSummary>,
}

/// A rendered report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedReport {
    /// `report.html`.
    pub html: String,
    /// `report.md`.
    pub markdown: String,
    /// The chart files the Markdown links to: (file name, SVG).
    pub figures: Vec<(String, String)>,
    /// `gdpr-article-30.md`, the record on its own for editing.
    pub article30: String,
    /// `gdpr-dpia.md`, the DPIA on its own for editing.
    pub dpia: String,
}

/// A number with up to 12 decimals and no trailing zeros (ε and δ amounts are exact to 10⁻¹²
/// and 10⁻¹⁸; δ below 10⁻⁶ is shown in scientific notation).
pub fn number(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-6 {
        return format!("{x:e}");
    }
    let text = format!("{x:.12}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A probability with four decimals.
pub fn probability(x: f64) -> String {
    format!("{x:.4}")
}

/// Builds the report and renders it.
pub fn render(inputs: &ReportInputs) -> Result<RenderedReport, AuditError> {
    let facts = LogFacts::from_entries(&inputs.entries.entries);
    let mut risks = facts.risks.clone();
    name_runs_after_jobs(&mut risks, &inputs.jobs);
    risks.extend(inputs.risks.iter().cloned());
    let gdpr_inputs = GdprInputs {
        project: &inputs.project,
        facts: &facts,
        jobs: &inputs.jobs,
        ledger: inputs.ledger.as_ref(),
        risks: &risks,
        safe_harbor: &inputs.safe_harbor,
    };
    let article30 = gdpr::article30(&gdpr_inputs);
    let dpia = gdpr::dpia(&gdpr_inputs);
    let mut sections = vec![verification_section(inputs)];
    sections.extend(budget_sections(inputs)?);
    sections.push(releases_section(inputs));
    sections.push(refusals_section(inputs));
    sections.push(anonymization_section(&risks));
    sections.push(safe_harbor_section(&inputs.safe_harbor));
    sections.push(expert::section(&risks, &inputs.project.expert_determination));
    sections.push(other_events_section(inputs));
    sections.push(article30.clone());
    sections.push(dpia.clone());
    let title = format!("medi-privacy compliance report: {}", inputs.log_name);
    let document = Document { title, sections };
    let figures = document
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .filter_map(|b| match b {
            Block::Figure(f) => Some((f.file.clone(), f.svg.clone())),
            _ => None,
        })
        .collect();
    let alone = |title: &str, section: Section| {
        markdown::render(&Document { title: title.to_owned(), sections: vec![section] })
    };
    Ok(RenderedReport {
        html: html::render(&document),
        markdown: markdown::render(&document),
        figures,
        article30: alone("Record of processing activities (GDPR Article 30)", article30),
        dpia: alone("Data protection impact assessment (GDPR Article 35)", dpia),
    })
}

/// Names each logged run that carries no job name (`entry 7 (data.csv)`) after the job file
/// that reads the same data (`adult-k5, entry 7`), when exactly one given job does.
fn name_runs_after_jobs(risks: &mut [RiskSummary], jobs: &[JobSummary]) {
    for risk in risks.iter_mut().filter(|r| r.job.starts_with("entry ")) {
        let mut matching = jobs.iter().filter(|j| j.data.is_some() && j.data == risk.dataset);
        let (Some(job), None) = (matching.next(), matching.next()) else { continue };
        let name = job.name.clone().unwrap_or_else(|| job.source.clone());
        let entry = risk.job.split(" (").next().unwrap_or_default().to_owned();
        risk.job = format!("{name}, {entry}");
    }
}

/// Writes the report into `dir` (created if needed); returns the files written.
pub fn write(dir: &Path, report: &RenderedReport) -> Result<Vec<PathBuf>, AuditError> {
    std::fs::create_dir_all(dir)?;
    let mut files = vec![
        ("report.html".to_owned(), report.html.as_str()),
        ("report.md".to_owned(), report.markdown.as_str()),
        ("gdpr-article-30.md".to_owned(), report.article30.as_str()),
        ("gdpr-dpia.md".to_owned(), report.dpia.as_str()),
    ];
    files.extend(report.figures.iter().map(|(name, svg)| (name.clone(), svg.as_str())));
    let mut written = Vec::new();
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content)?;
        written.push(path);
    }
    Ok(written)
}

fn verification_section(inputs: &ReportInputs) -> Section {
    let v = &inputs.verification;
    let mut section = Section::new("verification", "Audit log verification", 2);
    if v.is_ok() {
        section.text(format!(
            "The log is intact: {} entries, hash chain and Merkle tree consistent with every \
             checkpoint.",
            v.entries
        ));
    } else {
        section.push(Block::Alert(format!(
            "The log FAILED verification with {} problem(s); the figures below are read from a \
             damaged log.",
            v.problems.len()
        )));
        section.push(Block::List(v.problems.iter().map(ToString::to_string).collect()));
    }
    let c = &v.checkpoints;
    let signatures = match (&c.key, c.signatures) {
        (Some(key), crate::SignatureCheck::Verified) => format!("verified with key {key}"),
        (Some(key), _) => format!("FAILED with key {key}"),
        (None, _) => "not checked (no public key given)".to_owned(),
    };
    let last = inputs.entries.entries.last().map(|e| e.time.clone()).unwrap_or_default();
    section.push(Block::Fields(vec![
        Field::known("Log", inputs.log_name.clone()),
        Field::known("Entries", v.entries.to_string()),
        Field::known("Last entry", last),
        Field::known("Last hash", v.last_hash.clone()),
        Field::known("Merkle root", v.root.clone()),
        Field::known("Signed checkpoints", c.count.to_string()),
        Field::known(
            "Latest checkpoint",
            c.latest_size.map_or("none".into(), |s| {
                format!("size {s}, {}", c.latest_time.clone().unwrap_or_default())
            }),
        ),
        Field::known("Signatures", signatures),
        Field::known("Entries not yet covered by a checkpoint", c.unsigned_entries.to_string()),
        Field::known("Unreadable lines", inputs.entries.unreadable.to_string()),
    ]));
    section
}

fn unix(time: &str) -> Option<f64> {
    OffsetDateTime::parse(time, &Rfc3339).ok().map(|t| t.unix_timestamp() as f64)
}

/// A running total and the points it passed through.
type Running = (f64, Vec<(f64, f64)>);
/// `(time, principal, ε)` of one charge or release.
type Spend = (String, String, f64);
/// A dataset's (total ε, total δ, spent ε, spent δ), when the ledger gives them, and its spends.
type DatasetSpends = (Option<(f64, f64, f64, f64)>, Vec<Spend>);

/// Cumulative ε per principal and in total, from `(time, principal, ε)` in time order.
fn cumulative(points: &[Spend]) -> Vec<Series> {
    let mut per: BTreeMap<&str, Running> = BTreeMap::new();
    let mut total = (0.0, Vec::new());
    for (time, principal, epsilon) in points {
        let Some(t) = unix(time) else { continue };
        let entry = per.entry(principal.as_str()).or_default();
        entry.0 += epsilon;
        entry.1.push((t, entry.0));
        total.0 += epsilon;
        total.1.push((t, total.0));
    }
    let mut series = vec![Series { name: "all principals".into(), points: total.1 }];
    series.extend(per.into_iter().map(|(name, (_, points))| Series { name: name.into(), points }));
    series
}

/// One subsection per dataset: its budget and a chart of ε spent over time. From the ledger
/// when given (committed and reserved charges), otherwise from the log's releases.
fn budget_sections(inputs: &ReportInputs) -> Result<Vec<Section>, AuditError> {
    let mut out = vec![Section::new("budget", "Privacy budget spent over time", 2)];
    let mut datasets: BTreeMap<String, DatasetSpends> = BTreeMap::new();
    match &inputs.ledger {
        Some(ledger) => {
            out[0].text("From the budget ledger: committed and reserved charges, per principal.");
            for d in &ledger.datasets {
                let points = d
                    .charges
                    .iter()
                    .filter(|c| c.state != "cancelled")
                    .map(|c| (c.time.clone(), c.principal.clone(), c.epsilon))
                    .collect();
                let totals = (d.total_epsilon, d.total_delta, d.spent_epsilon, d.spent_delta);
                datasets.insert(d.dataset.clone(), (Some(totals), points));
            }
        }
        None => {
            out[0].text("No ledger was given: ε released per principal, from the audit log.");
            for e in inputs.entries.entries.iter().filter(|e| e.kind() == "release") {
                let epsilon = e.detail("epsilon").and_then(Value::as_f64).unwrap_or(0.0);
                let dataset = e.field("dataset").unwrap_or_default().to_owned();
                let principal = e.field("principal").unwrap_or_default().to_owned();
                datasets.entry(dataset).or_default().1.push((e.time.clone(), principal, epsilon));
            }
        }
    }
    if datasets.is_empty() {
        out[0].text("No budget was spent.");
    }
    for (index, (name, (totals, mut points))) in datasets.into_iter().enumerate() {
        points.sort_by(|a, b| a.0.cmp(&b.0));
        let mut section = Section::new(&format!("budget-{index}"), &format!("Dataset {name}"), 3);
        let total = totals.map_or(0.0, |t| t.0);
        if let Some((te, td, se, sd)) = totals {
            let mut table = Table::new(&["", "ε", "δ"]);
            table.rows.push(vec!["total".into(), number(te), number(td)]);
            table.rows.push(vec!["spent".into(), number(se), number(sd)]);
            table.rows.push(vec![
                "remaining".into(),
                number((te - se).max(0.0)),
                number((td - sd).max(0.0)),
            ]);
            section.push(Block::Table(table));
        }
        let svg = chart::budget_chart(&format!("ε spent on {name}"), &cumulative(&points), total)?;
        section.push(Block::Figure(Figure {
            file: format!("budget-{index}.svg"),
            caption: format!("Cumulative ε spent on dataset {name}, per principal and in total"),
            svg,
        }));
        out.push(section);
    }
    Ok(out)
}

fn releases_section(inputs: &ReportInputs) -> Section {
    let mut section = Section::new("releases", "Releases and their guarantees", 2);
    let mut table =
        Table::new(&["entry", "time", "dataset", "principal", "query", "mechanism", "guarantee"]);
    for e in inputs.entries.entries.iter().filter(|e| e.kind() == "release") {
        let detail = |k| e.detail(k).map(value_text).unwrap_or_default();
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.field("dataset").unwrap_or_default().into(),
            e.field("principal").unwrap_or_default().into(),
            detail("query"),
            detail("mechanism"),
            guarantee_text(&e.event).unwrap_or_default(),
        ]);
    }
    section.text(format!("{} release(s).", table.rows.len()));
    section.push(Block::Table(table));
    section
}

fn refusals_section(inputs: &ReportInputs) -> Section {
    let mut section = Section::new("refusals", "Refused requests", 2);
    let mut table = Table::new(&["entry", "time", "dataset", "principal", "reason"]);
    for e in inputs.entries.entries.iter().filter(|e| e.kind() == "refusal") {
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.field("dataset").unwrap_or_default().into(),
            e.field("principal").unwrap_or_default().into(),
            e.detail("reason_code").map(value_text).unwrap_or_default(),
        ]);
    }
    section.text(format!("{} refusal(s); nothing was released for them.", table.rows.len()));
    section.push(Block::Table(table));
    section
}

fn anonymization_section(risks: &[RiskSummary]) -> Section {
    let mut section = Section::new("anonymization", "Anonymization runs and their risk", 2);
    let mut table = Table::new(&[
        "job",
        "models",
        "transformation",
        "records",
        "suppressed",
        "classes",
        "prosecutor max",
        "prosecutor avg",
        "journalist max",
        "marketer",
        "sample uniques",
        "population uniques",
    ]);
    let p = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), probability);
    let n = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    for r in risks {
        table.rows.push(vec![
            r.job.clone(),
            r.models.join(", "),
            r.transformation.clone().unwrap_or_default(),
            n(r.records),
            n(r.suppressed),
            n(r.classes),
            p(r.prosecutor_max),
            p(r.prosecutor_avg),
            p(r.journalist_max),
            p(r.marketer),
            p(r.sample_uniques),
            p(r.population_uniques),
        ]);
    }
    section.text(format!("{} anonymized release(s).", risks.len()));
    section.push(Block::Table(table));
    section
}

fn safe_harbor_section(scans: &[SafeHarborFindings]) -> Section {
    let mut section = Section::new("safe-harbor", "HIPAA Safe Harbor findings", 2);
    section.text(
        "Identifier kinds of 45 CFR 164.514(b)(2)(i) that remain in each scanned table. A table \
         meets the Safe Harbor method only with no finding here and no actual knowledge that the \
         rest could identify a person.",
    );
    if scans.is_empty() {
        section.text("No table was scanned.");
    }
    for scan in scans {
        let mut table = Table::new(&["column", "identifier", "values", "how recognised"]);
        for column in &scan.columns {
            for finding in &column.identifiers {
                table.rows.push(vec![
                    column.column.clone(),
                    format!("({}) {}", finding.kind.letter(), finding.kind.label()),
                    finding.count.to_string(),
                    finding.note.clone().unwrap_or_default(),
                ]);
            }
        }
        let verdict =
            if table.rows.is_empty() { "no identifier found" } else { "identifiers remain" };
        section.push(Block::Text(format!("{} ({} rows): {verdict}.", scan.table, scan.rows)));
        if !table.rows.is_empty() {
            section.push(Block::Table(table));
        }
    }
    section
}

fn other_events_section(inputs: &ReportInputs) -> Section {
    let shown = ["release", "refusal", "request", "anonymization_run"];
    let mut section = Section::new("other-events", "Other recorded events", 2);
    let mut table = Table::new(&["entry", "time", "kind", "principal", "dataset", "details"]);
    for e in inputs.entries.entries.iter().filter(|e| !shown.contains(&e.kind())) {
        let details = e.event.get("details").and_then(Value::as_object);
        let summary: Vec<String> =
            details.into_iter().flatten().map(|(k, v)| format!("{k}: {}", value_text(v))).collect();
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.kind().into(),
            e.field("principal").unwrap_or_default().into(),
            e.field("dataset").unwrap_or_default().into(),
            summary.join("; "),
        ]);
    }
    section.text(format!(
        "Budget creation and charges, de-identification runs, key generation, protocol runs, \
         federated rounds and log maintenance: {} entries.",
        table.rows.len()
    ));
    section.push(Block::Table(table));
    section
}
