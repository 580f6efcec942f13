//! `medi-privacy report`: gathers the audit log, the budget ledger, job files, Safe Harbor
//! findings and risk reports, converts them into `privacy-audit`'s plain inputs, and writes the
//! compliance report (HTML, Markdown, charts, and the GDPR documents on their own).
//!
//! This is the one implementation: `cargo xtask compliance-report` runs this command. The
//! conversions live here because `privacy-audit` may not depend on the ledger or the anonymizer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use privacy_audit::compliance::{
    ChargePoint, DatasetBudget, JobSummary, LedgerSnapshot, Measure, MeasureKind,
    ProjectDescription, RiskSummary,
};
use privacy_audit::report::{self, ReportInputs};
use privacy_audit::{AuditVerifyingKey, VerifyOptions};

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The audit log (JSON lines).
    #[arg(long)]
    audit_log: PathBuf,
    /// The budget ledger (SQLite), for budgets and charges over time.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// A job file (TOML: anonymize, deidentify or analysis job); repeat for several.
    #[arg(long = "job")]
    jobs: Vec<PathBuf>,
    /// The project description (TOML): controller, purposes, retention, thresholds.
    #[arg(long)]
    project: Option<PathBuf>,
    /// The public key checkpoints must be signed with.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// The checkpoint file (default: beside the log).
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// Safe Harbor findings of a table (JSON); repeat for several.
    #[arg(long = "safe-harbor")]
    safe_harbor: Vec<PathBuf>,
    /// A risk report of an anonymized release (JSON object or array); repeat for several.
    #[arg(long = "risk-report")]
    risk_reports: Vec<PathBuf>,
    /// The folder to write the report into (created if needed).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: &ReportArgs) -> Result<ExitCode> {
    let inputs = gather(args)?;
    let ok = inputs.verification.is_ok();
    let rendered = report::render(&inputs)?;
    let written = report::write(&args.out, &rendered)
        .with_context(|| format!("cannot write the report into {}", args.out.display()))?;
    for file in &written {
        println!("wrote {}", file.display());
    }
    if ok {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "the report was written, but the audit log FAILED verification (see its first section)"
    );
    Ok(ExitCode::FAILURE)
}

fn gather(args: &ReportArgs) -> Result<ReportInputs> {
    let public_key = args
        .public_key
        .as_deref()
        .map(AuditVerifyingKey::read)
        .transpose()
        .context("cannot use the public key")?;
    let options = VerifyOptions {
        public_key,
        checkpoints: args.checkpoints.clone(),
        ..VerifyOptions::default()
    };
    let verification = privacy_audit::verify_with(&args.audit_log, &options)
        .with_context(|| format!("cannot read the audit log {}", args.audit_log.display()))?;
    let entries = privacy_audit::read::read_entries(&args.audit_log)?;
    let project = match &args.project {
        Some(path) => ProjectDescription::from_toml(&read_text(path)?)?,
        None => ProjectDescription::default(),
    };
    Ok(ReportInputs {
        log_name: file_name(&args.audit_log),
        verification,
        entries,
        ledger: args.ledger.as_deref().map(ledger_snapshot).transpose()?,
        jobs: args.jobs.iter().map(|p| job_summary(p)).collect::<Result<_>>()?,
        project,
        safe_harbor: args.safe_harbor.iter().map(|p| read_json(p)).collect::<Result<_>>()?,
        risks: risk_reports(&args.risk_reports)?,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_text(path)?)
        .with_context(|| format!("{} is not in the expected JSON form", path.display()))
}

fn risk_reports(paths: &[PathBuf]) -> Result<Vec<RiskSummary>> {
    let mut out = Vec::new();
    for path in paths {
        let value: serde_json::Value = read_json(path)?;
        match value {
            serde_json::Value::Array(items) => {
                for item in items {
                    out.push(serde_json::from_value(item).context("not a risk summary")?);
                }
            }
            other => out.push(serde_json::from_value(other).context("not a risk summary")?),
        }
    }
    Ok(out)
}

/// Every dataset of the ledger with its budget and charges.
fn ledger_snapshot(path: &Path) -> Result<LedgerSnapshot> {
    let ledger = crate::open_existing_ledger(path)?;
    let mut datasets = Vec::new();
    for name in ledger.datasets()? {
        let status = ledger.status(&name)?;
        let charges = ledger
            .charges(&name)?
            .into_iter()
            .map(|c| ChargePoint {
                time: c.created_at,
                principal: c.principal,
                epsilon: c.cost.epsilon.to_f64(),
                delta: c.cost.delta.to_f64(),
                state: c.state.as_str().to_owned(),
                description: c.description,
            })
            .collect();
        datasets.push(DatasetBudget {
            dataset: name,
            total_epsilon: status.total.epsilon.to_f64(),
            total_delta: status.total.delta.to_f64(),
            spent_epsilon: status.spent.epsilon.to_f64(),
            spent_delta: status.spent.delta.to_f64(),
            charges,
        });
    }
    datasets.sort_by(|a, b| a.dataset.cmp(&b.dataset));
    Ok(LedgerSnapshot { datasets })
}

/// What a job file says, read from its TOML by key name wherever the key sits.
///
/// FIXME: the anonymize and deidentify job schemas are being written in `privacy-anon`; once
/// they land, parse job files with their parsers and convert the typed jobs here, instead of
/// recognising keys by name (which already names each value's path, so nothing is hidden).
fn job_summary(path: &Path) -> Result<JobSummary> {
    let table: toml::Table = toml::from_str(&read_text(path)?)
        .map_err(|e| anyhow::anyhow!("{} is not TOML: {}", path.display(), e.message()))?;
    let mut summary = JobSummary { source: file_name(path), ..JobSummary::default() };
    walk_job(&toml::Value::Table(table), "", &mut summary);
    summary.measures.sort_by(|a, b| (a.kind, &a.description).cmp(&(b.kind, &b.description)));
    summary.data_categories.sort();
    summary.data_categories.dedup();
    Ok(summary)
}

fn walk_job(value: &toml::Value, path: &str, summary: &mut JobSummary) {
    let toml::Value::Table(table) = value else { return };
    for (key, item) in table {
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        note_job_key(key, &here, item, summary);
        walk_job(item, &here, summary);
        if let toml::Value::Array(items) = item {
            items.iter().for_each(|i| walk_job(i, &here, summary));
        }
    }
}

fn note_job_key(key: &str, path: &str, item: &toml::Value, summary: &mut JobSummary) {
    let text = || match item {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let source = format!("{}: {path}", summary.source);
    let mut measure = |kind, description: String| {
        summary.measures.push(Measure { kind, description, source: source.clone() });
    };
    match key {
        "name" if summary.name.is_none() && item.is_str() => summary.name = Some(text()),
        "purpose" => summary.purpose = Some(text()),
        "retention" => summary.retention = Some(text()),
        "k" => measure(MeasureKind::KAnonymity, format!("k = {}", text())),
        "l" => measure(MeasureKind::LDiversity, format!("l = {}", text())),
        "t" => measure(MeasureKind::TCloseness, format!("t = {}", text())),
        "epsilon" | "delta" => {
            measure(MeasureKind::DifferentialPrivacy, format!("{key} = {}", text()))
        }
        "suppression_limit" | "max_suppression" | "suppression" => {
            measure(MeasureKind::Suppression, format!("suppression limit {}", text()))
        }
        "profile" => {
            measure(MeasureKind::Generalization, format!("de-identification profile {}", text()))
        }
        "key_file" | "pseudonymization" | "pseudonymize" | "tokenize" => measure(
            MeasureKind::Pseudonymization,
            "keyed pseudonymization (key file configured)".into(),
        ),
        "hierarchies" | "hierarchy" => {
            measure(MeasureKind::Generalization, "generalization hierarchies".into())
        }
        "date_shift" | "shift_dates" => {
            measure(MeasureKind::Generalization, "date shifting".into())
        }
        "identifying" | "quasi_identifying" | "sensitive" | "insensitive" | "data_categories" => {
            summary.data_categories.push(format!("{}: {}", key.replace('_', "-"), text()))
        }
        _ => {}
    }
}
