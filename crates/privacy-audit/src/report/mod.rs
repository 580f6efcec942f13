//! The compliance report: one [`Document`] built from the verified log and the plain inputs,
//! rendered as a self-contained HTML page and as Markdown with its charts beside it.
//!
//! **Deterministic:** the same inputs give the same bytes. Nothing reads the clock, the host or
//! the working directory; every collection is ordered; floating-point figures are printed with a
//! fixed format; charts use no system font. The report is dated by the log's last entry, not by
//! when it was generated.

pub mod chart;
pub mod digest;
pub mod document;
pub mod html;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::compliance::expert;
use crate::compliance::gdpr::{self, GdprInputs};
use crate::compliance::{
    guarantee_text, value_text, JobSummary, LedgerSnapshot, ProjectDescription, RiskSummary,
    SafeHarborFindings,
};
use crate::error::AuditError;
use crate::read::LoggedEntry;
use crate::verify::Verification;
use chart::Series;
use digest::{DatasetSpend, Latest, LogDigest, SpendBuilder, SpendSeries};
use document::{Block, Document, Field, Figure, Section, Table};

/// Everything a report is built from.
#[derive(Clone, Debug)]
pub struct ReportInputs {
    /// The log's name as shown in the report (its file name).
    pub log_name: String,
    /// The verification of the log.
    pub verification: Verification,
    /// What its entries say, gathered in one streaming pass ([`LogDigest::read`]).
    pub log: LogDigest,
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
    let facts = &inputs.log.facts;
    let mut risks = facts.risks.clone();
    name_runs_after_jobs(&mut risks, &inputs.jobs);
    risks.extend(inputs.risks.iter().cloned());
    let gdpr_inputs = GdprInputs {
        project: &inputs.project,
        facts,
        jobs: &inputs.jobs,
        ledger: inputs.ledger.as_ref(),
        risks: &risks,
        safe_harbor: &inputs.safe_harbor,
    };
    let article30 = gdpr::article30(&gdpr_inputs);
    let dpia = gdpr::dpia(&gdpr_inputs);
    let mut sections = vec![verification_section(inputs)];
    sections.extend(budget_sections(inputs)?);
    sections.push(releases_section(&inputs.log));
    sections.push(refusals_section(&inputs.log));
    sections.push(anonymization_section(&risks, facts.anonymization_runs));
    sections.push(safe_harbor_section(&inputs.safe_harbor));
    sections.push(expert::section(&risks, &inputs.project.expert_determination));
    sections.push(federated_section(&inputs.log.federated));
    sections.push(other_events_section(&inputs.log));
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

/// Names each logged run that carries no job name (`entry 7 (data.csv)`: logs written before
/// runs recorded their job) after the job file that reads the same data (`adult-k5, entry 7`),
/// when exactly one given job does.
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
    let last = inputs.log.last_time.clone().unwrap_or_default();
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
        Field::known("Unreadable lines", inputs.log.unreadable.to_string()),
    ]));
    section
}

/// A dataset's (total ε, total δ, spent ε, spent δ), when the ledger gives them, and its series.
type DatasetBudgetView = (Option<(f64, f64, f64, f64)>, DatasetSpend);

/// Chart lines of one quantity: all principals, then each principal.
fn chart_series(spend: &DatasetSpend, pick: fn(&digest::SpendPoint) -> f64) -> Vec<Series> {
    let line = |name: &str, s: &SpendSeries| Series {
        name: name.to_owned(),
        points: s.points.iter().map(|p| (p.time, pick(p))).collect(),
    };
    let mut out = vec![line("all principals", &spend.total)];
    out.extend(spend.principals.iter().map(|(name, s)| line(name, s)));
    out
}

/// One subsection per dataset: its budget and charts of ε (and δ, when any is spent or
/// budgeted) spent over time, per principal and in total. From the ledger when given
/// (committed and reserved charges), otherwise from the log's releases.
fn budget_sections(inputs: &ReportInputs) -> Result<Vec<Section>, AuditError> {
    let mut out = vec![Section::new("budget", "Privacy budget spent over time", 2)];
    let mut datasets: BTreeMap<String, DatasetBudgetView> = BTreeMap::new();
    match &inputs.ledger {
        Some(ledger) => {
            out[0].text("From the budget ledger: committed and reserved charges, per principal.");
            let mut totals = BTreeMap::new();
            let mut spends = SpendBuilder::new(digest::ReportLimits::default().points);
            for d in &ledger.datasets {
                spends.touch(&d.dataset);
                let mut charges: Vec<_> =
                    d.charges.iter().filter(|c| c.state != "cancelled").collect();
                charges.sort_by(|a, b| a.time.cmp(&b.time));
                for c in charges {
                    spends.add(&d.dataset, &c.principal, &c.time, c.epsilon, c.delta);
                }
                let figures = (d.total_epsilon, d.total_delta, d.spent_epsilon, d.spent_delta);
                totals.insert(d.dataset.clone(), figures);
            }
            for (name, spend) in spends.finish() {
                let figures = totals.get(&name).copied();
                datasets.insert(name, (figures, spend));
            }
        }
        None => {
            out[0].text("No ledger was given: ε and δ released per principal, from the audit log.");
            for (name, spend) in &inputs.log.released {
                datasets.insert(name.clone(), (None, spend.clone()));
            }
        }
    }
    if datasets.is_empty() {
        out[0].text("No budget was spent.");
    }
    for (index, (name, (totals, spend))) in datasets.into_iter().enumerate() {
        let mut section = Section::new(&format!("budget-{index}"), &format!("Dataset {name}"), 3);
        let (total_epsilon, total_delta) = totals.map_or((0.0, 0.0), |t| (t.0, t.1));
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
        let epsilon = chart_series(&spend, |p| p.epsilon);
        let svg = chart::budget_chart(&format!("ε spent on {name}"), &epsilon, total_epsilon, "ε")?;
        section.push(Block::Figure(Figure {
            file: format!("budget-{index}.svg"),
            caption: format!("Cumulative ε spent on dataset {name}, per principal and in total"),
            svg,
        }));
        if spend.total.delta > 0.0 || total_delta > 0.0 {
            let delta = chart_series(&spend, |p| p.delta);
            let svg = chart::budget_chart(&format!("δ spent on {name}"), &delta, total_delta, "δ")?;
            section.push(Block::Figure(Figure {
                file: format!("budget-{index}-delta.svg"),
                caption: format!(
                    "Cumulative δ spent on dataset {name}, per principal and in total"
                ),
                svg,
            }));
        }
        out.push(section);
    }
    Ok(out)
}

/// "N entries; the latest M are listed" for a table of a [`Latest`].
fn listed<T>(latest: &Latest<T>, what: &str) -> String {
    match latest.omitted() {
        0 => format!("{} {what}.", latest.total),
        omitted => format!(
            "{} {what}; the latest {} are listed below ({omitted} earlier ones are counted in \
             the summary, and each remains in the log).",
            latest.total,
            latest.total - omitted
        ),
    }
}

fn releases_section(log: &LogDigest) -> Section {
    let mut section = Section::new("releases", "Releases and their guarantees", 2);
    section.text(listed(&log.releases, "release(s)"));
    let mut summary =
        Table::new(&["dataset", "mechanism", "guarantee", "releases", "first", "last"]);
    for ((dataset, mechanism, guarantee), group) in &log.release_groups {
        summary.rows.push(vec![
            dataset.clone(),
            mechanism.clone(),
            guarantee.clone(),
            group.count.to_string(),
            group.first.clone(),
            group.last.clone(),
        ]);
    }
    section.push(Block::Table(summary));
    let mut table =
        Table::new(&["entry", "time", "dataset", "principal", "query", "mechanism", "guarantee"]);
    for e in log.releases.items() {
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
    section.push(Block::Table(table));
    section
}

fn refusals_section(log: &LogDigest) -> Section {
    let mut section = Section::new("refusals", "Refused requests", 2);
    section.text(format!("{} Nothing was released for them.", listed(&log.refusals, "refusal(s)")));
    let mut summary = Table::new(&["dataset", "reason", "refusals"]);
    for ((dataset, reason), count) in &log.refusal_groups {
        summary.rows.push(vec![dataset.clone(), reason.clone(), count.to_string()]);
    }
    section.push(Block::Table(summary));
    let mut table = Table::new(&["entry", "time", "dataset", "principal", "reason"]);
    for e in log.refusals.items() {
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.field("dataset").unwrap_or_default().into(),
            e.field("principal").unwrap_or_default().into(),
            e.detail("reason_code").map(value_text).unwrap_or_default(),
        ]);
    }
    section.push(Block::Table(table));
    section
}

fn anonymization_section(risks: &[RiskSummary], logged_runs: u64) -> Section {
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
    section.text(format!(
        "{} anonymized release(s) listed ({logged_runs} anonymization run(s) in the log).",
        risks.len()
    ));
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

/// The details of an event as `key: value` pairs, for the tables of events without their own
/// columns.
fn details_text(e: &LoggedEntry) -> String {
    let details = e.event.get("details").and_then(Value::as_object);
    let summary: Vec<String> =
        details.into_iter().flatten().map(|(k, v)| format!("{k}: {}", value_text(v))).collect();
    summary.join("; ")
}

// FIXME: nothing emits `federated_round` yet (privacy-fl is a stub); this section and the sink's
// safeguards against gradients are exercised only by a synthetic event in the tests.
fn federated_section(rounds: &Latest<LoggedEntry>) -> Section {
    let mut section = Section::new("federated", "Federated learning rounds", 2);
    section.text(format!(
        "{} Each entry states the round, the sites, the aggregation and the differential privacy \
         parameters of the update; never a gradient or a model update.",
        listed(rounds, "round(s)")
    ));
    let mut table =
        Table::new(&["entry", "time", "principal", "dataset", "guarantee", "round details"]);
    for e in rounds.items() {
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.field("principal").unwrap_or_default().into(),
            e.field("dataset").unwrap_or_default().into(),
            guarantee_text(&e.event).unwrap_or_default(),
            details_text(e),
        ]);
    }
    section.push(Block::Table(table));
    section
}

fn other_events_section(log: &LogDigest) -> Section {
    let mut section = Section::new("other-events", "Other recorded events", 2);
    section.text(format!(
        "Budget creation and charges, de-identification runs, key generation, protocol runs, \
         decryptions and log maintenance: {}",
        listed(&log.others, "entries")
    ));
    let mut kinds = Table::new(&["kind", "entries"]);
    for (kind, count) in &log.kinds {
        kinds.rows.push(vec![kind.clone(), count.to_string()]);
    }
    if log.facts.capped {
        section.push(Block::Alert(format!(
            "The log names more than {} distinct datasets, principals, mechanisms, guarantees or \
             measures; the lists in this report stop at that many (counts still cover every \
             entry).",
            crate::compliance::MAX_DISTINCT
        )));
    }
    section.push(Block::Text("Entries of every kind in the log:".into()));
    section.push(Block::Table(kinds));
    let mut table = Table::new(&["entry", "time", "kind", "principal", "dataset", "details"]);
    for e in log.others.items() {
        table.rows.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.kind().into(),
            e.field("principal").unwrap_or_default().into(),
            e.field("dataset").unwrap_or_default().into(),
            details_text(e),
        ]);
    }
    section.push(Block::Table(table));
    section
}
