//! `medi-privacy deidentify`, `hipaa-scan` and `pseudonym-key`: direct identifiers.
//!
//! - `deidentify --profile safe-harbor --data IN --out OUT [--key-file K]` applies the Safe
//!   Harbor profile (`privacy_anon::safe_harbor`), with overrides from `--job`, scans its own
//!   output and writes it only if no identifier kind it was told to remove remains. The output
//!   is written to a temporary file, the run is recorded in `--audit-log` (a `deidentification`
//!   event: profile, columns, kinds, rules, counts — never a value), and only then is the file
//!   renamed into place, so the log never misses a release and a refused run leaves nothing.
//! - `hipaa-scan --data IN` reports which of the 18 identifier kinds a table still holds.
//! - `pseudonym-key new|rotate|map` creates the key ring (mode 0600), adds a key version, and
//!   maps old pseudonyms to new ones for the key holder.
//!
//! `--findings F` (both commands) writes the scan as the compliance report's Safe Harbor input
//! (`medi-privacy report --safe-harbor F`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use privacy_anon::keyring::KeyRing;
use privacy_anon::safe_harbor::{
    self, DeidJob, DeidOptions, DeidReport, ScanOptions, ScanReport, Zip3Table,
};
use privacy_anon::text_table::TextTable;
use privacy_audit::compliance::{ColumnFinding, IdentifierFinding, SafeHarborFindings};
use privacy_core::{AuditEvent, AuditEventKind, AuditSink, NullAuditSink};
use serde_json::{json, Value};

/// The profiles of `deidentify`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Profile {
    /// HIPAA Safe Harbor, 45 CFR 164.514(b)(2).
    SafeHarbor,
}

/// Arguments of `deidentify`.
#[derive(Args)]
pub(crate) struct DeidentifyArgs {
    /// The de-identification profile.
    #[arg(long, value_enum)]
    profile: Profile,
    /// The table (CSV, delimiter sniffed, or Parquet).
    #[arg(long)]
    data: PathBuf,
    /// Where to write the de-identified table (`.parquet` writes Parquet; never overwritten
    /// by a refused run).
    #[arg(long)]
    out: PathBuf,
    /// The key ring for pseudonyms, tokens and date shifts (`pseudonym-key new` makes one).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Overrides of kinds and rules (TOML; see `privacy_anon::safe_harbor::job`).
    #[arg(long)]
    job: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the output scan as Safe Harbor findings for `medi-privacy report --safe-harbor`.
    #[arg(long)]
    findings: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Record the run in this audit log.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// The CSV delimiter (one ASCII character) instead of sniffing it.
    #[arg(long)]
    delimiter: Option<char>,
    /// Who runs it (recorded in the audit log).
    #[arg(long, env = "USER", default_value = "analyst")]
    principal: String,
}

/// Arguments of `hipaa-scan`.
#[derive(Args)]
pub(crate) struct ScanArgs {
    /// The table (CSV or Parquet).
    #[arg(long)]
    data: PathBuf,
    /// A deidentify job whose column kinds, reference date and ZIP3 table apply.
    #[arg(long)]
    job: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Write the findings for `medi-privacy report --safe-harbor`.
    #[arg(long)]
    findings: Option<PathBuf>,
    /// Exit with code 1 when any identifier kind remains.
    #[arg(long)]
    fail_on_findings: bool,
    /// The CSV delimiter instead of sniffing it.
    #[arg(long)]
    delimiter: Option<char>,
}

/// `pseudonym-key` subcommands.
#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a new key ring (one 256-bit key, mode 0600; never overwrites).
    New {
        /// The key file to create.
        #[arg(long)]
        key_file: PathBuf,
        /// Record the key generation (key id only) in this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
    /// Add a new key version; later runs use it, old versions stay for `map`.
    Rotate {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
        /// Record the rotation in this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
    /// For the key holder: map the old pseudonyms of a column's identifiers to new ones
    /// (CSV `old,new`, no identifier in it).
    Map {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
        /// The table holding the original identifiers.
        #[arg(long)]
        data: PathBuf,
        /// The identifier column.
        #[arg(long)]
        column: String,
        /// The pseudonym domain.
        #[arg(long)]
        domain: String,
        /// The old key version.
        #[arg(long)]
        from: u32,
        /// The new key version (default: the active one).
        #[arg(long)]
        to: Option<u32>,
        /// Where to write the map.
        #[arg(long)]
        out: PathBuf,
    },
}

fn delimiter(c: Option<char>) -> Result<Option<u8>> {
    c.map(|c| {
        u8::try_from(c)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| anyhow!("the delimiter must be one ASCII character"))
    })
    .transpose()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn load_job(path: Option<&Path>) -> Result<DeidJob> {
    Ok(match path {
        Some(p) => DeidJob::from_file(p)?,
        None => DeidJob::default(),
    })
}

fn zip3_of(job: &DeidJob) -> Result<Zip3Table> {
    Ok(match &job.zip3_table {
        Some(p) => Zip3Table::from_file(p)?,
        None => Zip3Table::built_in(),
    })
}

fn reference_date(job: &DeidJob) -> time::Date {
    job.reference_date
        .as_deref()
        .and_then(safe_harbor::job::parse_reference_date)
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
}

/// Runs `deidentify`.
pub(crate) fn run(args: &DeidentifyArgs) -> Result<()> {
    crate::check_name("principal", &args.principal)?;
    let Profile::SafeHarbor = args.profile;
    let job = load_job(args.job.as_deref())?;
    let zip3 = zip3_of(&job)?;
    let keys = args.key_file.as_deref().map(KeyRing::load).transpose()?;
    let audit: Box<dyn AuditSink> = match &args.audit_log {
        Some(path) => Box::new(crate::audit::open_log(path)?),
        None => Box::new(NullAuditSink),
    };
    let input = TextTable::read(&args.data, delimiter(args.delimiter)?)?;
    let options = DeidOptions {
        job: &job,
        keys: keys.as_ref(),
        zip3: &zip3,
        reference_date: reference_date(&job),
    };
    let name = file_name(&args.data);
    let outcome = safe_harbor::deidentify(&input, &name, &options).with_context(|| {
        format!("{} was not de-identified; nothing was written", args.data.display())
    })?;
    let staged = stage(&args.out)?;
    outcome.table.write(staged.path(), delimiter(args.delimiter)?)?;
    audit
        .record(&event(&outcome.report, &args.principal, &file_name(&args.out)))
        .context("the run could not be recorded in the audit log; nothing was written")?;
    staged
        .persist(&args.out)
        .map_err(|e| anyhow!("cannot write {}: {}", args.out.display(), e.error))?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&outcome.report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.findings {
        write_findings(path, &outcome.report.verification)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome.report)?);
    } else {
        print!("{}", outcome.report.to_text());
    }
    Ok(())
}

/// A temporary file beside `out`, so the final rename stays on one file system.
fn stage(out: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let suffix = out.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    tempfile::Builder::new()
        .prefix(".deidentify-")
        .suffix(&suffix)
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

/// The audit event: metadata only (column names, kinds, rules, counts, versions).
fn event(report: &DeidReport, principal: &str, output: &str) -> AuditEvent {
    let columns: Vec<Value> = report
        .columns
        .iter()
        .map(|c| {
            json!({
                "column": c.column,
                "kind": c.recognition.kind.as_str(),
                "evidence": c.recognition.evidence(),
                "rule": c.rule.as_str(),
                "rule_source": c.rule_source,
                "domain": c.domain,
                "changed": c.changed,
                "emptied": c.blanked,
                "redacted_spans": c.redacted_spans,
            })
        })
        .collect();
    // The sink takes arrays of at most 256 items: wider tables are listed in pages.
    let columns = if columns.len() <= 256 {
        Value::Array(columns)
    } else {
        Value::Array(columns.chunks(256).map(|page| Value::Array(page.to_vec())).collect())
    };
    let remaining: Vec<String> =
        report.verification.remaining().iter().map(|k| k.as_str().to_owned()).collect();
    let mut event = AuditEvent::new(AuditEventKind::Deidentification, principal)
        .with_dataset(report.input.clone())
        .with_detail("profile", report.profile.clone())
        .with_detail("output", output)
        .with_detail("records", report.rows)
        .with_detail("columns", columns)
        .with_detail("reference_date", report.reference_date.clone())
        .with_detail("zip3_table_version", report.zip3_table_version.clone())
        .with_detail("remaining_kinds", remaining)
        .with_detail("safe_harbor_met", report.safe_harbor.met);
    if let (Some(v), Some(id)) = (report.key_version, &report.key_id) {
        event = event.with_detail("key_version", v).with_detail("key_fingerprint", id.clone());
    }
    if let Some(s) = &report.date_shift {
        event = event.with_detail("date_shift", json!({"patient_column": s.patient, "domain": s.domain, "max_days": s.max_days, "allow_zero": s.allow_zero}));
    }
    event
}

/// The scan as the compliance report's input (kinds convert one to one by their serde names).
pub(crate) fn to_compliance(scan: &ScanReport) -> Result<SafeHarborFindings> {
    let columns = scan
        .columns
        .iter()
        .filter(|c| !c.findings.is_empty())
        .map(|c| {
            let identifiers = c
                .findings
                .iter()
                .map(|f| {
                    let kind = serde_json::from_value(serde_json::to_value(f.kind)?)?;
                    Ok(IdentifierFinding { kind, count: f.count, note: Some(f.note()) })
                })
                .collect::<Result<_>>()?;
            Ok(ColumnFinding { column: c.column.clone(), identifiers })
        })
        .collect::<Result<_>>()?;
    Ok(SafeHarborFindings { table: scan.table.clone(), rows: scan.rows, columns })
}

fn write_findings(path: &Path, scan: &ScanReport) -> Result<()> {
    let findings = to_compliance(scan)?;
    std::fs::write(path, serde_json::to_vec_pretty(&findings)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `hipaa-scan`; returns whether identifiers remain.
pub(crate) fn scan(args: &ScanArgs) -> Result<bool> {
    let job = load_job(args.job.as_deref())?;
    let zip3 = zip3_of(&job)?;
    let table = TextTable::read(&args.data, delimiter(args.delimiter)?)?;
    for spec in &job.columns {
        table.column(&spec.name)?;
    }
    let declared: std::collections::BTreeMap<_, _> =
        job.columns.iter().filter_map(|c| c.kind.map(|k| (c.name.clone(), k))).collect();
    let options = ScanOptions {
        zip3: &zip3,
        reference_year: reference_date(&job).year(),
        declared: &declared,
    };
    let report = safe_harbor::scan(&table, &file_name(&args.data), &options);
    if let Some(path) = &args.findings {
        write_findings(path, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(!report.remaining().is_empty() && args.fail_on_findings)
}

/// Runs `pseudonym-key`.
pub(crate) fn key(command: &KeyCommand) -> Result<()> {
    let record = |log: &Option<PathBuf>, ring: &KeyRing, action: &str| -> Result<()> {
        if let Some(path) = log {
            let version = ring.active_version();
            let event = AuditEvent::new(AuditEventKind::KeyGeneration, crate::principal())
                .with_detail("algorithm", "hmac-sha256 key ring (hkdf-sha256 subkeys)")
                .with_detail("purpose", "pseudonymization")
                .with_detail("action", action)
                .with_detail("key_version", version)
                .with_detail("key_fingerprint", ring.key_id(version));
            crate::audit::open_log(path)?.record(&event)?;
        }
        Ok(())
    };
    match command {
        KeyCommand::New { key_file, audit_log } => {
            let ring = KeyRing::create_file(key_file)?;
            record(audit_log, &ring, "created")?;
            println!(
                "key ring {} created: version 1, key id {}",
                key_file.display(),
                ring.key_id(1)
            );
        }
        KeyCommand::Rotate { key_file, audit_log } => {
            let version = KeyRing::rotate_file(key_file)?;
            let ring = KeyRing::load(key_file)?;
            record(audit_log, &ring, "rotated")?;
            println!(
                "key ring {}: version {version} active, key id {}",
                key_file.display(),
                ring.key_id(version)
            );
        }
        KeyCommand::Map { key_file, data, column, domain, from, to, out } => {
            let ring = KeyRing::load(key_file)?;
            let table = TextTable::read(data, None)?;
            let values = table.column(column)?.iter().flatten().map(String::as_str);
            let to = to.unwrap_or_else(|| ring.active_version());
            let map = privacy_anon::pseudonym::rotation_map(&ring, domain, *from, to, values)?;
            let mut text = String::from("old,new\n");
            for (old, new) in &map {
                text.push_str(&format!("{old},{new}\n"));
            }
            std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
            println!("{} pseudonyms mapped from version {from} to version {to}", map.len());
        }
    }
    Ok(())
}
