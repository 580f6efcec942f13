//! GDPR documents: the record of processing activities (Article 30(1)) and the data protection
//! impact assessment (Article 35(7)), filled with what the project description, the job files
//! and the audit log know.
//!
//! Each known value names its source. Questions the law leaves to people — necessity and
//! proportionality, the assessment of risks to the rights and freedoms of data subjects, the
//! data protection officer's advice, the decision — are marked fields for a person.

use super::inputs::{JobSummary, LedgerSnapshot, Measure, RiskSummary, SafeHarborFindings};
use super::project::ProjectDescription;
use super::LogFacts;
use crate::report::document::{Block, Field, Section, Table};
use crate::report::number;

/// Every input the GDPR documents draw on.
#[derive(Clone, Copy, Debug)]
pub struct GdprInputs<'a> {
    /// The project description (possibly empty).
    pub project: &'a ProjectDescription,
    /// What the log says.
    pub facts: &'a LogFacts,
    /// What the job files say.
    pub jobs: &'a [JobSummary],
    /// The ledger, if given.
    pub ledger: Option<&'a LedgerSnapshot>,
    /// Risk figures of anonymized releases.
    pub risks: &'a [RiskSummary],
    /// Safe Harbor scans.
    pub safe_harbor: &'a [SafeHarborFindings],
}

fn joined(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join("; "))
}

fn job_values(jobs: &[JobSummary], pick: impl Fn(&JobSummary) -> Option<String>) -> Vec<String> {
    jobs.iter().filter_map(|j| pick(j).map(|v| format!("{v} (job {})", j.source))).collect()
}

fn purposes(inputs: &GdprInputs<'_>) -> Vec<String> {
    let mut all = inputs.project.processing.purposes.clone();
    all.extend(job_values(inputs.jobs, |j| j.purpose.clone()));
    all
}

fn categories(inputs: &GdprInputs<'_>) -> Vec<String> {
    let mut all = inputs.project.processing.data_categories.clone();
    for job in inputs.jobs {
        all.extend(job.data_categories.iter().map(|c| format!("{c} (job {})", job.source)));
    }
    all
}

fn retention(inputs: &GdprInputs<'_>) -> Option<String> {
    let mut all: Vec<String> = inputs.project.processing.retention.iter().cloned().collect();
    all.extend(job_values(inputs.jobs, |j| j.retention.clone()));
    joined(&all)
}

fn all_measures(inputs: &GdprInputs<'_>) -> Vec<Measure> {
    let mut all = inputs.facts.measures.clone();
    all.extend(inputs.jobs.iter().flat_map(|j| j.measures.iter().cloned()));
    all
}

fn measures_table(measures: &[Measure]) -> Table {
    let mut table = Table::new(&["measure", "what", "source"]);
    for m in measures {
        table.rows.push(vec![m.kind.label().into(), m.description.clone(), m.source.clone()]);
    }
    table
}

/// The Article 30(1) record of processing activities.
pub fn article30(inputs: &GdprInputs<'_>) -> Section {
    let (c, p) = (&inputs.project.controller, &inputs.project.processing);
    let mut section = Section::new("gdpr-article-30", "GDPR Article 30 record of processing", 2);
    section.text(
        "Record of processing activities under Article 30(1) GDPR, drafted from the project \
         description, the job files and the audit log. Review and complete the marked fields.",
    );
    let mut recipients = p.recipients.clone();
    let principals: Vec<String> = inputs.facts.principals.iter().cloned().collect();
    if !principals.is_empty() {
        recipients
            .push(format!("users who received results (audit log): {}", principals.join(", ")));
    }
    let mut security = p.security_measures.clone();
    security.push(
        "tamper-evident audit log: SHA-256 hash chain, Merkle tree, signed checkpoints".into(),
    );
    security.extend(
        all_measures(inputs).iter().map(|m| format!("{}: {}", m.kind.label(), m.description)),
    );
    let joint = joined(&c.joint_controllers);
    section.push(Block::Fields(vec![
        Field::known_or_person("(a) Controller", c.name.clone(), "name of the controller"),
        Field::known_or_person(
            "(a) Contact details",
            c.contact.clone(),
            "controller's contact details",
        ),
        Field::known_or_person("(a) Joint controllers", joint, "joint controllers, or 'none'"),
        Field::known_or_person(
            "(a) Representative",
            c.representative.clone(),
            "Art. 27 representative, or 'not required'",
        ),
        Field::known_or_person(
            "(a) Data protection officer",
            c.dpo.clone(),
            "the DPO's name and contact",
        ),
        Field::known_or_person(
            "Processing activity",
            p.name.clone(),
            "a name for this processing activity",
        ),
        Field::known_or_person(
            "(b) Purposes",
            joined(&purposes(inputs)),
            "the purposes of the processing",
        ),
        Field::known_or_person(
            "Legal basis",
            p.legal_basis.clone(),
            "legal basis under Art. 6 and, for health data, Art. 9(2)",
        ),
        Field::known_or_person(
            "(c) Categories of data subjects",
            joined(&p.data_subjects),
            "categories of data subjects",
        ),
        Field::known_or_person(
            "(c) Categories of personal data",
            joined(&categories(inputs)),
            "categories of personal data",
        ),
        Field::known_or_person(
            "(d) Categories of recipients",
            joined(&recipients),
            "categories of recipients",
        ),
        Field::known_or_person(
            "(e) Transfers to third countries",
            p.third_country_transfers.clone(),
            "transfers to third countries and safeguards, or 'none'",
        ),
        Field::known_or_person(
            "(f) Time limits for erasure",
            retention(inputs),
            "envisaged time limits for erasure",
        ),
        Field::known("(g) Technical and organisational measures", security.join("; ")),
    ]));
    let mut table =
        Table::new(&["dataset", "first entry", "last entry", "entries by kind", "principals"]);
    for (name, d) in &inputs.facts.datasets {
        let kinds: Vec<String> = d.kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let who: Vec<&str> = d.principals.iter().map(String::as_str).collect();
        let name = if name.is_empty() { "(no dataset)".to_owned() } else { name.clone() };
        table.rows.push(vec![
            name,
            d.first.clone(),
            d.last.clone(),
            kinds.join(", "),
            who.join(", "),
        ]);
    }
    section.text("Operations recorded in the audit log, by dataset:");
    section.push(Block::Table(table));
    section
}

/// The Article 35(7) data protection impact assessment, as a draft.
pub fn dpia(inputs: &GdprInputs<'_>) -> Section {
    let p = &inputs.project.processing;
    let mut section =
        Section::new("gdpr-dpia", "GDPR Article 35 data protection impact assessment", 2);
    section.text(
        "Draft DPIA under Article 35(7) GDPR. Sections (a) and (d) are filled from the project \
         description, the job files and the audit log; the assessments in (b) and (c) and the \
         sign-off are for the controller, with the advice of the data protection officer \
         (Article 35(2)).",
    );
    let operations: Vec<String> = inputs
        .facts
        .datasets
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, d)| {
            let kinds: Vec<String> = d.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            format!("dataset {name}: {} ({} to {})", kinds.join(", "), d.first, d.last)
        })
        .collect();
    section.push(Block::Fields(vec![
        Field::known_or_person("(a) Processing operations", joined(&operations), "the processing operations"),
        Field::known_or_person("(a) Purposes", joined(&purposes(inputs)), "the purposes"),
        Field::known_or_person("(a) Data categories", joined(&categories(inputs)), "the categories of personal data"),
        Field::known_or_person("(a) Legitimate interest pursued", p.legal_basis.clone(), "the legal basis or legitimate interest"),
        Field::person("(b) Necessity and proportionality", "why each data category and operation is necessary for the purposes, and why less intrusive means do not suffice"),
        Field::person("(c) Risks to the rights and freedoms of data subjects", "likelihood and severity of each risk (re-identification, inference, misuse), using the evidence below"),
    ]));
    section.push(Block::Text("(c) Evidence for the risk assessment:".into()));
    section.push(Block::List(risk_evidence(inputs)));
    section.push(Block::Text("(d) Measures envisaged to address the risks:".into()));
    section.push(Block::Table(measures_table(&all_measures(inputs))));
    section.push(Block::Fields(vec![
        Field::known_or_person("(d) Retention", retention(inputs), "retention and deletion rules"),
        Field::person("Residual risk", "the risk remaining after the measures, and whether prior consultation (Art. 36) is required"),
        Field::person("DPO advice", "the data protection officer's advice and whether it was followed"),
        Field::person("Decision", "approved by, role, date"),
    ]));
    section
}

fn risk_evidence(inputs: &GdprInputs<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for d in inputs.ledger.map(|l| l.datasets.as_slice()).unwrap_or_default() {
        out.push(format!(
            "dataset {}: privacy budget ε = {} spent of {}, δ = {} of {} (budget ledger)",
            d.dataset,
            number(d.spent_epsilon),
            number(d.total_epsilon),
            number(d.spent_delta),
            number(d.total_delta)
        ));
    }
    for r in inputs.risks {
        let figure = |name: &str, v: Option<f64>| v.map(|v| format!("{name} {}", number(v)));
        let figures: Vec<String> = [
            figure("highest prosecutor risk", r.prosecutor_max),
            figure("marketer risk", r.marketer),
            figure("sample uniques", r.sample_uniques),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.push(format!("anonymized release {}: {}", r.job, figures.join(", ")));
    }
    for scan in inputs.safe_harbor {
        let kinds: usize = scan.columns.iter().map(|c| c.identifiers.len()).sum();
        out.push(format!(
            "Safe Harbor scan of {}: {kinds} identifier finding(s) in {} column(s)",
            scan.table,
            scan.columns.iter().filter(|c| !c.identifiers.is_empty()).count()
        ));
    }
    if out.is_empty() {
        out.push("no budget, risk or Safe Harbor figures were given".into());
    }
    out
}
