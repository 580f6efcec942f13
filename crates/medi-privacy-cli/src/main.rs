//! `medi-privacy`: private statistics over patient files, with a durable privacy budget and a
//! tamper-evident audit log.
//!
//! Exit codes: 0 success; 1 the request was refused or failed (the message says why, and no
//! budget was charged unless noise had already been drawn); 2 the command line is malformed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use privacy_budget::SqliteLedger;
use privacy_core::{
    AuditEvent, AuditEventKind, AuditSink, DeltaAmount, EpsilonAmount, NullAuditSink, PrivacyCost,
};
use privacy_dp::{
    parse_query, AnalysisRequest, BoundedTable, ContributionBound, MechanismChoice,
    NonFinitePolicy, ReadOptions,
};

mod analyze_plan;
mod anonymize;
mod audit;
mod budget;
mod certs;
mod deidentify;
mod demo;
mod mpc_common;
mod output;
mod paillier;
mod pprl;
mod psi;
mod report;
mod secure_sum;
mod synthesize;

/// The ledger used when `--ledger` is not given, in the working directory.
pub(crate) const DEFAULT_LEDGER: &str = "medi-privacy-ledger.sqlite";

#[derive(Parser)]
#[command(
    name = "medi-privacy",
    version,
    about = "Differentially private statistics over patient data, with a durable privacy budget and a tamper-evident audit log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, allocate, inspect and plan privacy budgets.
    #[command(subcommand)]
    Budget(budget::BudgetCommand),
    /// Release differentially private statistics of a CSV or Parquet file.
    Analyze(AnalyzeArgs),
    /// Verify, sign and prove the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write the compliance report (HTML and Markdown) from the audit log and the ledger.
    Report(report::ReportArgs),
    /// Run the whole path on the bundled Adult census data, in a temporary folder.
    Demo,
    /// Anonymize a table as a TOML job describes (k-anonymity, l-diversity, t-closeness, ...).
    Anonymize(anonymize::AnonymizeArgs),
    /// Remove, generalize or pseudonymize direct identifiers (HIPAA Safe Harbor profile).
    Deidentify(deidentify::DeidentifyArgs),
    /// Report which of the 18 HIPAA Safe Harbor identifier kinds a table still holds.
    HipaaScan(deidentify::ScanArgs),
    /// Create, rotate and map the key ring of pseudonyms and date shifts.
    #[command(subcommand)]
    PseudonymKey(deidentify::KeyCommand),
    /// Private set intersection of a CSV column with one other site, over TLS.
    #[command(subcommand)]
    Psi(psi::PsiCommand),
    /// Bloom-filter record linkage: encode records, link encodings.
    #[command(subcommand)]
    Pprl(pprl::PprlCommand),
    /// Total a numeric column across n sites with secret sharing, over TLS.
    #[command(subcommand)]
    SecureSum(secure_sum::SecureSumCommand),
    /// Certificates for a research network (pilots and tests).
    #[command(subcommand)]
    Certs(certs::CertsCommand),
    /// Paillier encryption on files: key generation, encryption, addition, decryption.
    #[command(subcommand)]
    Paillier(paillier::PaillierCommand),
    /// A differentially private synthetic table from noisy marginals, charged to the budget.
    Synthesize(synthesize::SynthesizeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum MechanismArg {
    /// Laplace when δ = 0, Gaussian otherwise.
    Auto,
    /// Discrete Laplace noise (pure ε-DP).
    Laplace,
    /// Discrete Gaussian noise (zCDP, charged as (ε, δ)).
    Gaussian,
}

#[derive(Clone, Copy, ValueEnum)]
enum NonFiniteArg {
    /// Refuse the call when a queried column holds NaN or infinity.
    Refuse,
    /// Leave such values out of sums and means.
    Drop,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SplitArg {
    /// Queries without an `epsilon=` share split the rest evenly.
    Equal,
    /// Queries without a share get ε in proportion to what their `error=` targets need.
    Accuracy,
}

/// The query forms, as `analyze --help` lists them.
const QUERY_HELP: &str = "QUERIES:
  count()                         rows (after the contribution bounds)
  sum(col, lo, hi)                sum of col, each value clamped to [lo, hi]
  mean(col, lo, hi)               mean of col's non-missing values clamped to [lo, hi]
  var(col, lo, hi)                their variance (dividing by n), at most (hi - lo)^2/4
  std(col, lo, hi)                their standard deviation
  median(col, lo, hi)             their median (exponential mechanism, pure ε-DP)
  quantile(col, 0.9, lo, hi)      their q-quantile, 0 <= q <= 1
  histogram(col, [a, b, c])       rows per listed value, and one bin (key null) for all others
  histogram(col)                  rows per value, values found by private partition selection
  count() by col                  any statistic above per value of col, groups found by
  mean(col, lo, hi) by col          private partition selection (needs δ > 0); also
  sum(col, lo, hi) by col           var, std, median and quantile ... by col
  Options inside the parentheses: epsilon=0.5 and delta=1e-7 (the query's own share),
  error=2 (target 95% half-width, in ranks for median/quantile: for --explain and
  --split accuracy), e.g. mean(age, 17, 90, epsilon=0.5) by sex.
  Column names and categories with spaces or symbols go in double quotes or backticks.
  With --privacy-unit, a patient contributes at most --max-rows-per-unit rows (per group
  in grouped queries) and, in grouped queries, to at most --max-groups-per-unit groups.";

#[derive(Args)]
#[command(after_help = QUERY_HELP)]
pub(crate) struct AnalyzeArgs {
    /// The ledger file (SQLite).
    #[arg(long, default_value = DEFAULT_LEDGER)]
    ledger: PathBuf,
    /// The dataset whose budget is charged.
    #[arg(long)]
    dataset: String,
    /// The data file: CSV (delimiter sniffed) or Parquet. Optional with --explain, which
    /// then reads only its column names and types.
    #[arg(long, required_unless_present = "explain")]
    data: Option<PathBuf>,
    /// What this call spends in total, split across queries without a share (see --split).
    #[arg(long)]
    epsilon: String,
    /// Total δ of this call; δ > 0 selects Gaussian noise and allows partition selection.
    #[arg(long, default_value = "0")]
    delta: String,
    /// The column identifying a privacy unit (patient). Without it each row is one unit.
    #[arg(long, requires = "max_rows_per_unit")]
    privacy_unit: Option<String>,
    /// The most rows one unit contributes (to each group, in grouped queries); later rows of a
    /// unit are dropped before aggregating.
    #[arg(long, requires = "privacy_unit")]
    max_rows_per_unit: Option<u64>,
    /// In grouped queries, the most groups one unit may touch (its first ones, in file order).
    #[arg(long, requires = "privacy_unit")]
    max_groups_per_unit: Option<u64>,
    /// A query; repeat for several (see QUERIES below).
    #[arg(long = "query", required = true)]
    queries: Vec<String>,
    /// How queries without an `epsilon=` share split the rest of --epsilon.
    #[arg(long, value_enum, default_value = "equal")]
    split: SplitArg,
    /// Print the plan (shares, mechanisms, sensitivities, noise, 95% half-widths, the ε each
    /// `error=` target needs) and stop: nothing is charged, released or logged.
    #[arg(long)]
    explain: bool,
    /// The number of values to assume when forecasting the error of means, variances and
    /// standard deviations (per group when grouped): public knowledge, never read from data.
    #[arg(long)]
    assume_rows: Option<u64>,
    /// Append releases and refusals to this audit log.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// The CSV delimiter (one character), instead of sniffing it.
    #[arg(long)]
    delimiter: Option<char>,
    /// The noise mechanism.
    #[arg(long, value_enum, default_value = "auto")]
    mechanism: MechanismArg,
    /// What to do with NaN and infinite values in a queried column.
    #[arg(long, value_enum, default_value = "refuse")]
    non_finite: NonFiniteArg,
    /// Who is asking (recorded in the ledger and the audit log).
    #[arg(long, env = "USER", default_value = "analyst")]
    principal: String,
}

fn main() -> ExitCode {
    quiet_contained_parser_panics();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MEDI_PRIVACY_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// polars' CSV reader panics on some malformed inputs (e.g. a lone `"` in a numeric field);
/// `privacy_dp::read_table` contains those panics and returns a typed error, so their default
/// report ("thread panicked at …") would only confuse. Every other panic is reported as usual.
fn quiet_contained_parser_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_polars = info.location().is_some_and(|l| l.file().contains("/polars-"));
        if in_polars {
            tracing::debug!(location = ?info.location(), "contained a panic inside the data parser");
        } else {
            default(info);
        }
    }));
}

/// The error and its causes, `: `-separated, leaving out a cause whose text the message before
/// it already contains (many library errors repeat their source in their own message).
pub(crate) fn error_chain(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Refuses an empty name, one with control characters (a newline in a principal could forge
/// lines in `budget show`) and one too long to record in the audit log beside the ledger.
pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(anyhow!("the {what} name must be non-empty and free of control characters"));
    }
    let max = privacy_budget::MAX_DATASET_NAME_CHARS;
    if name.chars().count() > max {
        return Err(anyhow!("the {what} name is longer than {max} characters"));
    }
    Ok(())
}

/// Opens an existing ledger; only `budget init` creates one, so a mistyped path is an error
/// rather than a new, empty ledger.
pub(crate) fn open_existing_ledger(path: &Path) -> Result<SqliteLedger> {
    // An empty file is no ledger either: SQLite would silently make it one.
    if !path.is_file() || path.metadata().map_or(true, |m| m.len() == 0) {
        return Err(anyhow!(
            "no ledger at {}; create one with `medi-privacy budget init --ledger {} ...`",
            path.display(),
            path.display()
        ));
    }
    SqliteLedger::open(path).with_context(|| format!("cannot open the ledger {}", path.display()))
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Budget(command) => {
            budget::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze(args) if args.explain => {
            analyze_plan::explain(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze(args) => {
            let (outcome, split) = analyze(&args)?;
            output::print_outcome(&args.dataset, &outcome, &split, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(command) => audit::run(command),
        Command::Report(args) => report::run(&args),
        Command::Demo => {
            demo::run()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Anonymize(args) => {
            anonymize::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Deidentify(args) => {
            deidentify::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::HipaaScan(args) => {
            let found = deidentify::scan(&args)?;
            Ok(if found { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Command::PseudonymKey(command) => {
            deidentify::key(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Psi(command) => psi::run(command),
        Command::Pprl(command) => pprl::run(command),
        Command::SecureSum(command) => secure_sum::run(command),
        Command::Certs(command) => certs::run(command),
        Command::Paillier(command) => {
            paillier::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Synthesize(args) => synthesize::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

/// Parses an ε and a δ as exact decimals, refusing ε = 0 and δ ≥ 1.
pub(crate) fn parse_cost(epsilon: &str, delta: &str) -> Result<PrivacyCost> {
    let epsilon = EpsilonAmount::parse_decimal(epsilon)?;
    if epsilon.is_zero() {
        return Err(anyhow!("invalid epsilon: must be > 0 (got {:?})", epsilon.to_string()));
    }
    let delta = DeltaAmount::parse_decimal(delta)?;
    if !delta.is_valid_delta() {
        return Err(anyhow!("invalid delta: must be in [0, 1) (got {delta})"));
    }
    Ok(PrivacyCost { epsilon, delta })
}

pub(crate) fn principal() -> String {
    std::env::var("USER").unwrap_or_else(|_| "analyst".to_owned())
}

/// Runs `analyze`; every refusal is recorded in the audit log when one is given, and the
/// ledger reports each charge (reserved, committed, cancelled, refused) to the same log as a
/// `budget_charge` entry. Every append is synced before it returns, and `privacy_dp::run`
/// returns the release only after its own entries and the ledger's are written, so nothing is
/// printed before the log holds all of them. Returns the outcome and how the budget was split.
pub(crate) fn analyze(
    args: &AnalyzeArgs,
) -> Result<(privacy_dp::AnalysisOutcome, analyze_plan::SplitReport)> {
    let log = args.audit_log.as_deref().map(audit::open_log).transpose()?.map(Arc::new);
    let audit: Arc<dyn AuditSink + Send + Sync> = match &log {
        Some(log) => log.clone(),
        None => Arc::new(NullAuditSink),
    };
    let refuse = |code: &str, error: anyhow::Error| -> anyhow::Error {
        // What the analyst typed, cut short: it names columns and parameters, not data.
        let cut = |text: &str| text.chars().take(200).collect::<String>();
        let event = AuditEvent::new(AuditEventKind::Refusal, &args.principal)
            .with_dataset(cut(&args.dataset))
            .with_detail("reason_code", code)
            .with_detail("queries", args.queries.iter().map(|q| cut(q)).collect::<Vec<_>>())
            .with_detail("requested_epsilon", cut(&args.epsilon))
            .with_detail("requested_delta", cut(&args.delta));
        match audit.record(&event) {
            Ok(()) => error,
            Err(audit_error) => {
                error.context(format!("and the refusal could not be recorded: {audit_error}"))
            }
        }
    };
    let mut request = build_request(args).map_err(|(code, e)| refuse(code, e))?;
    let split = analyze_plan::apply_split(&mut request, args.split, args.assume_rows)
        .map_err(|e| refuse("invalid_budget_split", e))?;
    let data = args
        .data
        .as_deref()
        .ok_or_else(|| anyhow!("--data is required"))
        .map_err(|e| refuse("invalid_parameter", e))?;
    let mut ledger = open_existing_ledger(&args.ledger).map_err(|e| refuse("ledger_failure", e))?;
    if let Some(log) = &log {
        ledger = ledger.with_audit(log.clone());
    }
    if let Err(e) = ledger.status(&args.dataset) {
        return Err(refuse("unknown_dataset", e.into()));
    }
    let options = ReadOptions {
        delimiter: args
            .delimiter
            .map(delimiter_byte)
            .transpose()
            .map_err(|e| refuse("invalid_delimiter", e))?,
    };
    let frame = privacy_dp::read_table(data, options).map_err(|e| refuse(e.code(), e.into()))?;
    let table = BoundedTable::new(frame, request.contribution.clone())
        .map_err(|e| refuse(e.code(), e.into()))?;
    let mut rng = privacy_core::SecureRng::from_os_entropy()?;
    // `run` records its own refusals (plan errors, budget exceeded) and the releases.
    let outcome = privacy_dp::run(&request, &table, &ledger, audit.as_ref(), &mut rng)
        .with_context(|| format!("nothing was released from {}", data.display()))?;
    Ok((outcome, split))
}

pub(crate) fn delimiter_byte(c: char) -> Result<u8> {
    u8::try_from(c)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| anyhow!("the delimiter must be one ASCII character"))
}

pub(crate) fn build_request(
    args: &AnalyzeArgs,
) -> Result<AnalysisRequest, (&'static str, anyhow::Error)> {
    check_name("dataset", &args.dataset).map_err(|e| ("invalid_name", e))?;
    check_name("principal", &args.principal).map_err(|e| ("invalid_name", e))?;
    let budget = parse_cost(&args.epsilon, &args.delta).map_err(|e| ("invalid_parameter", e))?;
    let queries = args
        .queries
        .iter()
        .map(|q| parse_query(q))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ("query_parse_error", e.into()))?;
    let invalid = |e: privacy_dp::DpError| ("invalid_contribution_bound", e.into());
    let contribution = match (&args.privacy_unit, args.max_rows_per_unit) {
        (Some(unit), Some(k)) => ContributionBound::per_unit(unit, k).map_err(invalid)?,
        _ => ContributionBound::one_row_per_unit(),
    };
    let contribution = match args.max_groups_per_unit {
        Some(g) => contribution.with_max_groups_per_unit(g).map_err(invalid)?,
        None => contribution,
    };
    Ok(AnalysisRequest {
        dataset: args.dataset.clone(),
        principal: args.principal.clone(),
        budget,
        queries,
        contribution,
        non_finite: match args.non_finite {
            NonFiniteArg::Refuse => NonFinitePolicy::Refuse,
            NonFiniteArg::Drop => NonFinitePolicy::Drop,
        },
        mechanism: match args.mechanism {
            MechanismArg::Auto => MechanismChoice::Auto,
            MechanismArg::Laplace => MechanismChoice::Laplace,
            MechanismArg::Gaussian => MechanismChoice::Gaussian,
        },
    })
}

impl AnalyzeArgs {
    /// Arguments for an analysis of `data` with default options, for the demo.
    pub(crate) fn for_demo(
        ledger: PathBuf,
        audit_log: PathBuf,
        data: PathBuf,
        epsilon: &str,
        queries: &[&str],
    ) -> Self {
        Self {
            ledger,
            dataset: "adult".into(),
            data: Some(data),
            epsilon: epsilon.into(),
            delta: "0".into(),
            privacy_unit: None,
            max_rows_per_unit: None,
            max_groups_per_unit: None,
            queries: queries.iter().map(|q| (*q).to_owned()).collect(),
            split: SplitArg::Equal,
            explain: false,
            assume_rows: None,
            audit_log: Some(audit_log),
            json: false,
            delimiter: None,
            mechanism: MechanismArg::Auto,
            non_finite: NonFiniteArg::Refuse,
            principal: "demo".into(),
        }
    }
}
