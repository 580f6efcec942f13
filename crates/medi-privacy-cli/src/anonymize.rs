//! `medi-privacy anonymize --job job.toml`: runs an anonymization job (see
//! `privacy_anon::job` for the file format), prints the chosen transformation and the report,
//! and writes the output table. With `--audit-log`, the run is recorded there as an
//! `anonymization_run` event (parameters, transformation and risk figures, never data values).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use privacy_core::{AuditSink, NullAuditSink};

/// Arguments of `anonymize`.
#[derive(Args)]
pub(crate) struct AnonymizeArgs {
    /// The job file (TOML): data, hierarchies, models, limits, output.
    #[arg(long)]
    job: PathBuf,
    /// Record the run in this audit log.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Who runs the job (recorded in the audit log).
    #[arg(long, env = "USER", default_value = "analyst")]
    principal: String,
}

/// Runs the job and prints the report.
pub(crate) fn run(args: &AnonymizeArgs) -> Result<()> {
    let job = privacy_anon::Job::from_file(&args.job)?;
    let audit: Box<dyn AuditSink> = match &args.audit_log {
        Some(path) => Box::new(crate::audit::open_log(path)?),
        None => Box::new(NullAuditSink),
    };
    let outcome =
        privacy_anon::run_job(&job, audit.as_ref(), &args.principal).with_context(|| {
            format!("the job {} did not complete; nothing was written", args.job.display())
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome.report)?);
    } else {
        print!("{}", outcome.report.to_text());
    }
    Ok(())
}
