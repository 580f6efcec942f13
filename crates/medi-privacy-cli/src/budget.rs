//! `medi-privacy budget init | allocate | show | history | plan`: create budgets, hand budget
//! down a hierarchy, inspect a budget and its event journal, and plan a training run's noise.
//!
//! Every command but `plan` works on the SQLite ledger; `plan` only computes. Budgets are
//! named; a budget allocated from another (`allocate --parent hospital --child cardio`) can be
//! charged like any dataset budget (`analyze --dataset cardio`), and its parent has that much
//! less left. Trade-off: `plan` evaluates the PLD accountant at its default grid step, which
//! takes about a second in total for a calibration; `--discretization` trades accuracy for
//! speed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use privacy_audit::AuditLog;
use privacy_budget::accountant::pld::{self, PldAccountant, PldMechanism, PldOptions};
use privacy_budget::accountant::rdp::{calibrate_sampled_gaussian, OrderGrid, RdpAccountant};
use privacy_budget::allocation::{split_equal, split_weighted};
use privacy_budget::SqliteLedger;
use privacy_core::{AuditEvent, AuditEventKind, AuditSink, PrivacyCost};
use serde_json::{json, Value};

use crate::{check_name, error_chain, open_existing_ledger, parse_cost, principal, DEFAULT_LEDGER};

#[derive(Subcommand)]
pub(crate) enum BudgetCommand {
    /// Give a dataset its total privacy budget.
    Init {
        /// The ledger file (SQLite).
        #[arg(long, default_value = DEFAULT_LEDGER)]
        ledger: PathBuf,
        /// The dataset's name.
        #[arg(long)]
        dataset: String,
        /// Total ε, a decimal such as 1 or 0.5.
        #[arg(long)]
        epsilon: String,
        /// Total δ, in [0, 1).
        #[arg(long, default_value = "0")]
        delta: String,
        /// Append a budget-created entry to this audit log.
        #[arg(long)]
        audit_log: Option<PathBuf>,
    },
    /// Hand part of a budget to new child budgets (institution → project → analyst).
    Allocate(AllocateArgs),
    /// Show a dataset's budget and every charge against it.
    Show {
        /// The ledger file (SQLite).
        #[arg(long, default_value = DEFAULT_LEDGER)]
        ledger: PathBuf,
        /// The dataset's name.
        #[arg(long)]
        dataset: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Show a budget's event journal: creations, allocations, reservations, commits,
    /// cancellations and refusals, with time, principal, mechanism and parameters.
    History {
        /// The ledger file (SQLite).
        #[arg(long, default_value = DEFAULT_LEDGER)]
        ledger: PathBuf,
        /// The budget's name.
        #[arg(long)]
        dataset: String,
        /// Only the last N entries.
        #[arg(long)]
        limit: Option<u32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Plan a run of the Poisson-sampled Gaussian (DP-SGD): the ε of a noise multiplier, or
    /// the smallest noise multiplier for a target ε (or for what is left of a budget).
    Plan(PlanArgs),
}

#[derive(Args)]
pub(crate) struct AllocateArgs {
    /// The ledger file (SQLite).
    #[arg(long, default_value = DEFAULT_LEDGER)]
    ledger: PathBuf,
    /// The budget to take from.
    #[arg(long)]
    parent: String,
    /// A new budget to create; repeat for several.
    #[arg(long = "child", required = true)]
    children: Vec<String>,
    /// Total ε handed out, split across the children (exactly, to the last 10⁻¹²).
    #[arg(long)]
    epsilon: String,
    /// Total δ handed out, split the same way.
    #[arg(long, default_value = "0")]
    delta: String,
    /// Positive integer weights, one per child (e.g. 2,1,1); equal shares without it.
    #[arg(long, value_delimiter = ',')]
    weights: Option<Vec<u64>>,
    /// Append the allocations (or the refusal) to this audit log.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Who allocates (recorded in the ledger and the audit log).
    #[arg(long, env = "USER", default_value = "analyst")]
    principal: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AccountantArg {
    /// The privacy-loss-distribution accountant (tightest; error bars).
    Pld,
    /// The Rényi-DP accountant.
    Rdp,
    /// Both, side by side.
    Both,
}

#[derive(Args)]
pub(crate) struct PlanArgs {
    /// The sampling rate q of each step (1 for the plain Gaussian).
    #[arg(long)]
    sampling_rate: f64,
    /// The number of steps.
    #[arg(long)]
    steps: u64,
    /// The δ of the target guarantee; defaults to what is left of --dataset's δ.
    #[arg(long)]
    delta: Option<f64>,
    /// Report the ε of this noise multiplier (standard deviation / ℓ2 sensitivity).
    #[arg(long, conflicts_with = "epsilon")]
    noise_multiplier: Option<f64>,
    /// Find the smallest noise multiplier meeting this ε.
    #[arg(long)]
    epsilon: Option<f64>,
    /// Find the smallest noise multiplier meeting what is left of this budget.
    #[arg(long, conflicts_with_all = ["epsilon", "noise_multiplier"])]
    dataset: Option<String>,
    /// The ledger holding --dataset.
    #[arg(long, default_value = DEFAULT_LEDGER)]
    ledger: PathBuf,
    /// Which accountant answers.
    #[arg(long, value_enum, default_value = "both")]
    accountant: AccountantArg,
    /// The PLD grid step (smaller is tighter and slower).
    #[arg(long, default_value_t = pld::DEFAULT_DISCRETIZATION)]
    discretization: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs one `budget` subcommand.
pub(crate) fn run(command: BudgetCommand) -> Result<()> {
    match command {
        BudgetCommand::Init { ledger, dataset, epsilon, delta, audit_log } => {
            init(&ledger, &dataset, &epsilon, &delta, audit_log.as_deref())
        }
        BudgetCommand::Allocate(args) => allocate(&args),
        BudgetCommand::Show { ledger, dataset, json } => {
            show(&open_existing_ledger(&ledger)?, &dataset, json)
        }
        BudgetCommand::History { ledger, dataset, limit, json } => {
            history(&open_existing_ledger(&ledger)?, &dataset, limit, json)
        }
        BudgetCommand::Plan(args) => plan(&args),
    }
}

/// `{"epsilon": …, "delta": …}` as JSON numbers.
fn cost_json(cost: PrivacyCost) -> Value {
    json!({ "epsilon": cost.epsilon.to_f64(), "delta": cost.delta.to_f64() })
}

/// `budget init`: creates a root budget, recording the creation or the refusal.
pub(crate) fn init(
    ledger: &Path,
    dataset: &str,
    epsilon: &str,
    delta: &str,
    audit_log: Option<&Path>,
) -> Result<()> {
    // The log is opened (and verified) first, so a damaged log stops the creation.
    let audit = audit_log.map(crate::audit::open_log).transpose()?;
    let created = check_name("dataset", dataset)
        .and_then(|()| parse_cost(epsilon, delta))
        .and_then(|total| {
            SqliteLedger::open(ledger)?.create_budget(dataset, total)?;
            Ok(total)
        });
    let total = match created {
        Ok(total) => total,
        Err(error) => {
            return Err(record_refusal(audit.as_ref(), dataset, "budget_not_created", error))
        }
    };
    if let Some(audit) = audit {
        let event = AuditEvent::new(AuditEventKind::BudgetCreated, principal())
            .with_dataset(dataset)
            .with_detail("epsilon", total.epsilon.to_string())
            .with_detail("delta", total.delta.to_string());
        audit.record(&event)?;
    }
    println!("dataset {dataset:?}: budget ε={} δ={} created", total.epsilon, total.delta);
    Ok(())
}

/// Records a refusal of a budget command in `audit` (if any) and returns the error.
fn record_refusal(
    audit: Option<&AuditLog>,
    dataset: &str,
    code: &str,
    error: anyhow::Error,
) -> anyhow::Error {
    let Some(audit) = audit else { return error };
    let event = AuditEvent::new(AuditEventKind::Refusal, principal())
        .with_dataset(dataset.chars().take(200).collect::<String>())
        .with_detail("reason_code", code)
        .with_detail("reason", error_chain(&error));
    match audit.record(&event) {
        Ok(()) => error,
        Err(audit_error) => {
            error.context(format!("and the refusal could not be recorded: {audit_error}"))
        }
    }
}

/// `budget allocate`.
fn allocate(args: &AllocateArgs) -> Result<()> {
    let audit = args.audit_log.as_deref().map(crate::audit::open_log).transpose()?.map(Arc::new);
    let shares = allocation_shares(args);
    let outcome = shares.and_then(|children| {
        let mut ledger = open_existing_ledger(&args.ledger)?;
        if let Some(audit) = &audit {
            ledger = ledger.with_audit(audit.clone());
        }
        ledger.allocate(&args.parent, &args.principal, &children)?;
        Ok((ledger, children))
    });
    let (ledger, children) = match outcome {
        Ok(done) => done,
        Err(error) => {
            return Err(record_refusal(audit.as_deref(), &args.parent, "allocation_refused", error))
        }
    };
    let parent = ledger.budget(&args.parent)?;
    if args.json {
        let children: Vec<Value> = children
            .iter()
            .map(|(name, cost)| json!({ "dataset": name, "total": cost_json(*cost) }))
            .collect();
        let value = json!({
            "parent": args.parent,
            "children": children,
            "parent_remaining": cost_json(parent.status.remaining()),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    for (name, cost) in &children {
        println!(
            "budget {name:?}: ε={} δ={} allocated from {:?}",
            cost.epsilon, cost.delta, args.parent
        );
    }
    let left = parent.status.remaining();
    println!("{:?} has ε={} δ={} left", args.parent, left.epsilon, left.delta);
    Ok(())
}

/// The children's names and shares, checked before the ledger is touched.
fn allocation_shares(args: &AllocateArgs) -> Result<Vec<(String, PrivacyCost)>> {
    check_name("principal", &args.principal)?;
    for child in &args.children {
        check_name("child", child)?;
    }
    let total = parse_cost(&args.epsilon, &args.delta)?;
    let shares = match &args.weights {
        Some(weights) if weights.len() != args.children.len() => {
            bail!(
                "give one weight per child ({} children, {} weights)",
                args.children.len(),
                weights.len()
            )
        }
        Some(weights) => split_weighted(total, weights)?,
        None => split_equal(total, args.children.len())?,
    };
    Ok(args.children.iter().cloned().zip(shares).collect())
}

/// `budget show`: the budget, its place in the hierarchy, and every charge against it.
pub(crate) fn show(ledger: &SqliteLedger, dataset: &str, as_json: bool) -> Result<()> {
    let info = ledger.budget(dataset)?;
    let status = info.status;
    let charges = ledger.charges(dataset)?;
    if as_json {
        let charges: Vec<Value> = charges
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "principal": c.principal,
                    "description": c.description,
                    "epsilon": c.cost.epsilon.to_f64(),
                    "delta": c.cost.delta.to_f64(),
                    "state": c.state.as_str(),
                    "created_at": c.created_at,
                })
            })
            .collect();
        let value = json!({
            "dataset": dataset,
            "total": cost_json(status.total),
            "spent": cost_json(status.spent),
            "remaining": cost_json(status.remaining()),
            "charges": charges,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let remaining = status.remaining();
    println!("dataset {dataset:?}");
    if let Some(parent) = &info.parent {
        println!("  allocated from {parent:?}");
    }
    if !info.children.is_empty() {
        println!("  allocated to {}", info.children.join(", "));
    }
    println!("  total      ε={} δ={}", status.total.epsilon, status.total.delta);
    println!("  spent      ε={} δ={}", status.spent.epsilon, status.spent.delta);
    println!("  remaining  ε={} δ={}", remaining.epsilon, remaining.delta);
    println!("  charges: {}", charges.len());
    for c in &charges {
        println!(
            "    #{} {} {} ε={} δ={} by {}: {}",
            c.id, c.created_at, c.state, c.cost.epsilon, c.cost.delta, c.principal, c.description
        );
    }
    Ok(())
}

/// `budget history`.
fn history(ledger: &SqliteLedger, dataset: &str, limit: Option<u32>, as_json: bool) -> Result<()> {
    let entries = ledger.history(dataset, limit)?;
    if as_json {
        let events: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "action": e.action,
                    "charge_id": e.charge_id,
                    "principal": e.principal,
                    "mechanism": e.mechanism,
                    "parameters": e.parameters,
                    "epsilon": e.cost.epsilon.to_f64(),
                    "delta": e.cost.delta.to_f64(),
                    "created_at": e.created_at,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "dataset": dataset, "events": events }))?
        );
        return Ok(());
    }
    println!("history of {dataset:?}: {} entries", entries.len());
    for e in &entries {
        let charge = e.charge_id.map(|id| format!(" #{id}")).unwrap_or_default();
        let what = [e.mechanism.as_str(), e.parameters.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "  {} {:<9}{charge} ε={} δ={} by {} {what}",
            e.created_at, e.action, e.cost.epsilon, e.cost.delta, e.principal
        );
    }
    Ok(())
}

/// The (ε, δ) target of a calibration: `--epsilon`, or what is left of `--dataset`.
fn plan_target(args: &PlanArgs) -> Result<Option<(f64, f64)>> {
    if let Some(epsilon) = args.epsilon {
        let delta = args.delta.ok_or_else(|| anyhow!("--epsilon needs --delta"))?;
        return Ok(Some((epsilon, delta)));
    }
    let Some(dataset) = &args.dataset else { return Ok(None) };
    let left = open_existing_ledger(&args.ledger)?.status(dataset)?.remaining();
    let delta = match args.delta {
        Some(delta) if delta > left.delta.to_f64() => {
            bail!("--delta exceeds the δ left in {dataset:?} ({})", left.delta)
        }
        Some(delta) => delta,
        None => left.delta.to_f64(),
    };
    if left.epsilon.is_zero() || delta <= 0.0 {
        bail!(
            "{dataset:?} has no ε or no δ left to plan with (ε={}, δ={})",
            left.epsilon,
            left.delta
        );
    }
    // The allowance is rounded down (to_f64 is within an ulp; the calibration meets it).
    Ok(Some((left.epsilon.to_f64() * (1.0 - 1e-12), delta)))
}

/// `budget plan`.
fn plan(args: &PlanArgs) -> Result<()> {
    let options = PldOptions { discretization: args.discretization, ..PldOptions::default() };
    let (use_pld, use_rdp) =
        (args.accountant != AccountantArg::Rdp, args.accountant != AccountantArg::Pld);
    let mut value = json!({ "sampling_rate": args.sampling_rate, "steps": args.steps });
    if let Some(sigma) = args.noise_multiplier {
        let delta = args.delta.ok_or_else(|| anyhow!("--noise-multiplier needs --delta"))?;
        value["delta"] = json!(delta);
        value["noise_multiplier"] = json!(sigma);
        if use_rdp {
            let mut rdp = RdpAccountant::new();
            rdp.compose(
                &privacy_budget::RdpMechanism::sampled_gaussian(sigma, args.sampling_rate)?,
                args.steps,
            )?;
            let result = rdp.epsilon(delta)?;
            value["rdp"] = json!({ "epsilon": result.epsilon, "order": result.order });
        }
        if use_pld {
            let mut accountant = PldAccountant::with_options(options)?;
            accountant
                .compose(&PldMechanism::sampled_gaussian(sigma, args.sampling_rate)?, args.steps);
            let bounds = accountant.epsilon(delta)?;
            value["pld"] = json!({ "epsilon": bounds.upper, "epsilon_lower": bounds.lower });
        }
    } else {
        let (epsilon, delta) = plan_target(args)?
            .ok_or_else(|| anyhow!("give --noise-multiplier, --epsilon or --dataset"))?;
        value["delta"] = json!(delta);
        value["target_epsilon"] = json!(epsilon);
        if use_rdp {
            let sigma = calibrate_sampled_gaussian(
                &OrderGrid::default(),
                args.sampling_rate,
                args.steps,
                epsilon,
                delta,
            )
            .context("rdp calibration")?;
            value["rdp"] = json!({ "noise_multiplier": sigma });
        }
        if use_pld {
            let sigma = pld::calibrate_sampled_gaussian(
                options,
                args.sampling_rate,
                args.steps,
                epsilon,
                delta,
            )
            .context("pld calibration")?;
            value["pld"] = json!({ "noise_multiplier": sigma });
        }
    }
    print_plan(&value, args.json)
}

fn print_plan(value: &Value, as_json: bool) -> Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(value)?);
        return Ok(());
    }
    println!(
        "plan: {} steps of the Gaussian on a Poisson sample of rate {}, δ = {}",
        value["steps"], value["sampling_rate"], value["delta"]
    );
    if let Some(target) = value.get("target_epsilon") {
        println!("smallest noise multiplier for ε ≤ {target}:");
        for name in ["pld", "rdp"] {
            if let Some(result) = value.get(name) {
                println!(
                    "  {name}: σ = {:.6}",
                    result["noise_multiplier"].as_f64().unwrap_or(f64::NAN)
                );
            }
        }
        return Ok(());
    }
    println!("noise multiplier σ = {}:", value["noise_multiplier"]);
    if let Some(pld) = value.get("pld") {
        let (upper, lower) = (pld["epsilon"].as_f64(), pld["epsilon_lower"].as_f64());
        println!(
            "  pld: ε = {:.6} (the optimal ε lies in [{:.6}, {:.6}])",
            upper.unwrap_or(f64::NAN),
            lower.unwrap_or(f64::NAN),
            upper.unwrap_or(f64::NAN)
        );
    }
    if let Some(rdp) = value.get("rdp") {
        println!(
            "  rdp: ε = {:.6} (at order {})",
            rdp["epsilon"].as_f64().unwrap_or(f64::NAN),
            rdp["order"]
        );
    }
    Ok(())
}
