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
use privacy_anon::{AttributeKind, PrivacyModel};
use privacy_audit::compliance::{
    tagged_text, ChargePoint, DatasetBudget, JobSummary, LedgerSnapshot, Measure, MeasureKind,
    ProjectDescription, RiskSummary,
};
use privacy_audit::report::digest::{LogDigest, ReportLimits};
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
    /// An anonymization job file (TOML, as `anonymize --job` takes); repeat for several.
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
    let log = LogDigest::read(&args.audit_log, ReportLimits::default())?;
    let project = match &args.project {
        Some(path) => ProjectDescription::from_toml(&read_text(path)?)?,
        None => ProjectDescription::default(),
    };
    Ok(ReportInputs {
        log_name: file_name(&args.audit_log),
        verification,
        log,
        ledger: args.ledger.as_deref().map(ledger_snapshot).transpose()?,
        jobs: args.jobs.iter().map(|p| job_summary(p, &project)).collect::<Result<_>>()?,
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

/// Risk reports: the JSON report `anonymize` writes (`[output] report = ...`), or a risk
/// summary in `privacy_audit`'s own shape, or an array of either. Named after the file's stem
/// unless the object names its job.
fn risk_reports(paths: &[PathBuf]) -> Result<Vec<RiskSummary>> {
    let mut out = Vec::new();
    for path in paths {
        let value: serde_json::Value = read_json(path)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let items = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            out.push(risk_report(&item, &stem).with_context(|| {
                format!("{} is not an anonymization report or risk summary", path.display())
            })?);
        }
    }
    Ok(out)
}

/// One risk report, checked to carry at least one risk figure.
fn risk_report(value: &serde_json::Value, stem: &str) -> Result<RiskSummary> {
    if !value.is_object() {
        anyhow::bail!("not a JSON object");
    }
    let job = value.get("job").and_then(serde_json::Value::as_str).unwrap_or(stem);
    let mut risk = RiskSummary::from_anonymizer_json(value, job);
    if risk.dataset.is_none() {
        risk.dataset = value.get("data").and_then(serde_json::Value::as_str).map(str::to_owned);
    }
    let figures = [risk.prosecutor_max, risk.prosecutor_avg, risk.marketer, risk.sample_uniques];
    if figures.iter().all(Option::is_none) && risk.population_uniques.is_none() {
        anyhow::bail!("it holds no risk figure");
    }
    Ok(risk)
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

/// What an anonymization job file says, parsed with `privacy_anon::Job` (which refuses unknown
/// keys): its name (the file's stem), the data it reads (as its runs name it in the log), the
/// data categories from each column's `kind`, and the measures from its models, hierarchies,
/// suppression limit and search. Purpose and retention come from the project description's
/// `[jobs.NAME]` table, since a job file cannot carry them.
// FIXME: only anonymization jobs are read; de-identification (Safe Harbor) job files are refused
// until their parser is wired in here the same way.
pub(crate) fn job_summary(path: &Path, project: &ProjectDescription) -> Result<JobSummary> {
    let job = privacy_anon::Job::from_file(path)
        .with_context(|| format!("{} is not an anonymization job file", path.display()))?;
    let source = file_name(path);
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let described = name.as_ref().and_then(|n| project.jobs.get(n)).cloned().unwrap_or_default();
    let mut measures = Vec::new();
    let mut measure = |kind, description: String, key: &str| {
        measures.push(Measure { kind, description, source: format!("{source}: {key}") });
    };
    for model in &job.models {
        let description = tagged_text(&serde_json::to_value(model)?);
        measure(model_kind(model), description, "models");
    }
    let generalized: Vec<&str> =
        job.attributes_of(AttributeKind::QuasiIdentifying).map(|a| a.name.as_str()).collect();
    if !generalized.is_empty() {
        let text = format!("generalization hierarchies for {}", generalized.join(", "));
        measure(MeasureKind::Generalization, text, "attributes.hierarchy");
    }
    let removed: Vec<&str> =
        job.attributes_of(AttributeKind::Identifying).map(|a| a.name.as_str()).collect();
    if !removed.is_empty() {
        let text = format!("direct identifiers removed: {}", removed.join(", "));
        measure(MeasureKind::Other, text, "attributes.kind");
    }
    let suppression = format!("suppression limit {} of records", job.limits.suppression);
    measure(MeasureKind::Suppression, suppression, "limits.suppression");
    let search = serde_json::to_value(job.search)?;
    measure(MeasureKind::Other, format!("search: {}", tagged_text(&search)), "search");
    measures.sort_by(|a, b| (a.kind, &a.description).cmp(&(b.kind, &b.description)));
    Ok(JobSummary {
        source,
        name,
        data: Some(job.data.path.display().to_string()),
        purpose: described.purpose,
        data_categories: data_categories(&job),
        measures,
        retention: described.retention,
    })
}

/// `quasi-identifying: age, sex` and so on, one line per column role, in a fixed order.
fn data_categories(job: &privacy_anon::Job) -> Vec<String> {
    let kinds = [
        AttributeKind::Identifying,
        AttributeKind::QuasiIdentifying,
        AttributeKind::Sensitive,
        AttributeKind::Insensitive,
    ];
    kinds
        .into_iter()
        .filter_map(|kind| {
            let names: Vec<&str> = job.attributes_of(kind).map(|a| a.name.as_str()).collect();
            let label = serde_json::to_value(kind).ok()?.as_str()?.to_owned();
            (!names.is_empty()).then(|| format!("{label}: {}", names.join(", ")))
        })
        .collect()
}

fn model_kind(model: &PrivacyModel) -> MeasureKind {
    match model {
        PrivacyModel::KAnonymity { .. } | PrivacyModel::KMap { .. } => MeasureKind::KAnonymity,
        PrivacyModel::DistinctLDiversity { .. }
        | PrivacyModel::EntropyLDiversity { .. }
        | PrivacyModel::RecursiveClDiversity { .. } => MeasureKind::LDiversity,
        PrivacyModel::TCloseness { .. } => MeasureKind::TCloseness,
        _ => MeasureKind::Other,
    }
}
