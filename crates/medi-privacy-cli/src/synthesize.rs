//! `medi-privacy synthesize`: a differentially private synthetic table from noisy marginals
//! (see `privacy_anon::synthetic` for the method and its guarantee).
//!
//! ```text
//! medi-privacy synthesize --data adult.csv --dataset adult --ledger ledger.sqlite \
//!     --epsilon 1 --delta 1e-6 --columns age:17:90:8,sex,race,education,salary-class \
//!     --out synthetic.csv --report utility.json --target salary-class
//! ```
//!
//! The whole (ε, δ) is reserved on the dataset's budget before any noise is drawn and committed
//! after. The output table is written under a temporary name, the release is recorded in the
//! audit log (`--audit-log`: columns, rows, cost, the selected tree's column pairs — never a
//! data value), and only then is the file moved into place. The utility report compares the
//! synthetic table with the real one: it is for the custodian and is not private.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use privacy_anon::synthetic::{self, CategoricalTable, ColumnSpec, SynthesisRequest};
use privacy_core::{AuditEvent, AuditEventKind, AuditSink, NullAuditSink, SecureRng};

/// Arguments of `synthesize`.
#[derive(Args)]
pub(crate) struct SynthesizeArgs {
    /// The data file: CSV (delimiter sniffed) or Parquet, one row per patient.
    #[arg(long)]
    data: PathBuf,
    /// The total ε of the release.
    #[arg(long)]
    epsilon: String,
    /// The total δ of the release, in (0, 1) (the noise is discrete Gaussian, zCDP).
    #[arg(long)]
    delta: String,
    /// The ledger file (SQLite).
    #[arg(long, default_value = crate::DEFAULT_LEDGER)]
    ledger: PathBuf,
    /// The dataset whose budget is charged.
    #[arg(long)]
    dataset: String,
    /// Comma-separated columns: `name` (categorical) or `name:lo:hi:bins` (numeric, binned
    /// over public bounds).
    #[arg(long, value_delimiter = ',', required = true)]
    columns: Vec<String>,
    /// Rows to generate (default: the noisy number of records).
    #[arg(long)]
    rows: Option<usize>,
    /// Where to write the synthetic table (`.parquet` for Parquet, else CSV).
    #[arg(long)]
    out: PathBuf,
    /// Write the utility report (JSON; computed from the real data, not private) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The column the report's classifier predicts (default: the last of `--columns`).
    #[arg(long)]
    target: Option<String>,
    /// Record the release in this audit log.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Print the outcome as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Who asks (charged and recorded).
    #[arg(long, env = "USER", default_value = "analyst")]
    principal: String,
}

/// Runs the command.
pub(crate) fn run(args: &SynthesizeArgs) -> Result<()> {
    crate::check_name("dataset", &args.dataset)?;
    crate::check_name("principal", &args.principal)?;
    let cost = crate::parse_cost(&args.epsilon, &args.delta)?;
    if cost.delta.is_zero() {
        return Err(anyhow!("invalid delta: synthesize needs δ > 0 (its noise is Gaussian)"));
    }
    let specs = args.columns.iter().map(|c| ColumnSpec::parse(c)).collect::<Result<Vec<_>, _>>()?;
    let frame = privacy_dp::read_table(&args.data, Default::default())
        .with_context(|| format!("cannot read {}", args.data.display()))?;
    let real = CategoricalTable::encode(&frame, &specs)?;
    let target = args.target.clone().unwrap_or_else(|| real.names[real.names.len() - 1].clone());
    if !real.names.contains(&target) {
        return Err(anyhow!("the target {target:?} is not one of --columns"));
    }
    let audit: Arc<dyn AuditSink + Send + Sync> = match &args.audit_log {
        Some(path) => Arc::new(crate::audit::open_log(path)?),
        None => Arc::new(NullAuditSink),
    };
    // The ledger reports its reservation and commit (or refusal) to the same log.
    let ledger = crate::open_existing_ledger(&args.ledger)?.with_audit(audit.clone());
    let mut rng = SecureRng::from_os_entropy()?;
    let request = SynthesisRequest {
        dataset: args.dataset.clone(),
        principal: args.principal.clone(),
        epsilon: cost.epsilon,
        delta: cost.delta,
        rows: args.rows,
    };
    // The outputs must be new files (never the data, the ledger, the log or anything else
    // that exists) and writable, before any budget is charged.
    for path in std::iter::once(&args.out).chain(&args.report) {
        if path.exists() {
            return Err(anyhow!(
                "{} already exists; refusing to overwrite it (nothing was charged)",
                path.display()
            ));
        }
    }
    let temporary = partial(&args.out);
    std::fs::File::create(&temporary).with_context(|| {
        format!("cannot write the output table {}; nothing was charged", temporary.display())
    })?;
    let synthesis = match synthetic::synthesize(&real, &request, &ledger, &mut rng) {
        Ok(synthesis) => synthesis,
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(e.into());
        }
    };
    let mut frame = synthesis.table.to_frame()?;
    privacy_anon::run::write_table(&mut frame, &temporary, None)?;
    let edges: Vec<String> = synthesis
        .model
        .edges
        .iter()
        .map(|&(p, c)| format!("{} -> {}", real.names[p], real.names[c]))
        .collect();
    let event = AuditEvent::new(AuditEventKind::Release, args.principal.as_str())
        .with_dataset(args.dataset.as_str())
        .with_detail("kind", "synthetic_data")
        .with_detail("method", "mst_discrete_gaussian")
        .with_detail("epsilon", cost.epsilon.to_string())
        .with_detail("delta", cost.delta.to_string())
        .with_detail("rho", synthesis.model.rho)
        .with_detail("columns", real.names.clone())
        .with_detail("tree", edges.clone())
        .with_detail("rows", synthesis.table.rows() as u64);
    if let Err(e) = audit.record(&event) {
        let _ = std::fs::remove_file(&temporary);
        return Err(anyhow::Error::new(e).context(
            "the release could not be recorded; no table was written (the budget stays charged)",
        ));
    }
    std::fs::rename(&temporary, &args.out)
        .with_context(|| format!("cannot move the table into place at {}", args.out.display()))?;
    let report = synthetic::utility_report(&real, &synthesis.table, Some(&target), 5)?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let out = serde_json::json!({
            "dataset": args.dataset,
            "output": args.out,
            "rows": synthesis.table.rows(),
            "epsilon": cost.epsilon.to_string(),
            "delta": cost.delta.to_string(),
            "rho": synthesis.model.rho,
            "tree": edges,
            "utility": report,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "synthesized {} rows of {} columns into {} (charged ε={}, δ={} to {:?}; ρ = {:.6})",
            synthesis.table.rows(),
            real.names.len(),
            args.out.display(),
            cost.epsilon,
            cost.delta,
            args.dataset,
            synthesis.model.rho
        );
        println!("tree: {}", edges.join(", "));
        println!(
            "utility (not private): 1-way TV mean {:.4} max {:.4}; 2-way TV mean {:.4} max {:.4}",
            report.one_way_mean, report.one_way_max, report.two_way_mean, report.two_way_max
        );
        if let Some(c) = &report.classifier {
            println!(
                "classifier for {:?} on {} held-out real rows: trained on real {:.4}, on synthetic {:.4}, majority {:.4}",
                c.target, c.test_records, c.train_real_accuracy, c.train_synthetic_accuracy, c.majority_accuracy
            );
        }
    }
    Ok(())
}

fn partial(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "synthetic".into(), |n| n.to_string_lossy());
    // The extension stays last, so the format is the destination's.
    path.with_file_name(format!(".partial-{name}"))
}
