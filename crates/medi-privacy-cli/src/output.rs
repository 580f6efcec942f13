//! What the commands print: a readable table by default, one JSON object with `--json`.

use anyhow::Result;
use privacy_core::PrivacyCost;
use privacy_dp::AnalysisOutcome;
use serde_json::{json, Value};

/// `{"epsilon": …, "delta": …}` as JSON numbers.
fn cost_json(cost: PrivacyCost) -> Value {
    json!({ "epsilon": cost.epsilon.to_f64(), "delta": cost.delta.to_f64() })
}

/// Prints the releases of one `analyze` call and the budget left.
pub(crate) fn print_outcome(dataset: &str, outcome: &AnalysisOutcome, as_json: bool) -> Result<()> {
    let status = outcome.status;
    if as_json {
        let value = json!({
            "dataset": dataset,
            "releases": outcome.releases,
            "charged": cost_json(outcome.charged),
            "spent": cost_json(status.spent),
            "remaining": cost_json(status.remaining()),
            "total": cost_json(status.total),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "dataset {dataset:?}: {} releases, this call spent ε={} δ={}",
        outcome.releases.len(),
        outcome.charged.epsilon,
        outcome.charged.delta
    );
    let width = outcome.releases.iter().map(|r| r.query.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:>14}  {:>10}  {:>10}  {:<17}  {:>12}  95% interval",
        "query", "value", "ε", "δ", "mechanism", "noise scale"
    );
    for r in &outcome.releases {
        println!(
            "{:<width$}  {:>14}  {:>10}  {:>10}  {:<17}  {:>12}  [{}, {}]",
            r.query,
            fmt_num(r.value),
            fmt_num(r.epsilon),
            fmt_num(r.delta),
            r.mechanism,
            fmt_num(r.noise_scale),
            fmt_num(r.ci95.lower),
            fmt_num(r.ci95.upper),
        );
    }
    println!(
        "budget of {dataset:?}: spent ε={} δ={} of ε={} δ={}; remaining ε={} δ={}",
        status.spent.epsilon,
        status.spent.delta,
        status.total.epsilon,
        status.total.delta,
        status.remaining().epsilon,
        status.remaining().delta
    );
    Ok(())
}

/// Four significant digits, without exponent for ordinary magnitudes.
fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e9).contains(&x.abs()) {
        let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}
