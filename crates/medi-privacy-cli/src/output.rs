//! What the commands print: a readable table by default, one JSON object with `--json`.

use anyhow::Result;
use privacy_core::PrivacyCost;
use privacy_dp::{AnalysisOutcome, Explanation, Release};
use serde_json::{json, Value};

use crate::analyze_plan::SplitReport;

/// `{"epsilon": …, "delta": …}` as JSON numbers.
fn cost_json(cost: PrivacyCost) -> Value {
    json!({ "epsilon": cost.epsilon.to_f64(), "delta": cost.delta.to_f64() })
}

/// `{"strategy": …}` and, for the accuracy split, its ratio.
fn split_json(split: &SplitReport) -> Value {
    match split.ratio {
        Some(ratio) => json!({ "strategy": split.strategy, "accuracy_ratio": ratio }),
        None => json!({ "strategy": split.strategy }),
    }
}

/// A line on the accuracy split, when there was one.
fn print_split(split: &SplitReport) {
    if let Some(ratio) = split.ratio {
        let verdict = if ratio <= 1.0 { "every target is met" } else { "the targets are not met" };
        println!("split by accuracy: each query reaches {ratio:.3} of its target ({verdict})");
    }
}

/// Prints the releases of one `analyze` call and the budget left.
pub(crate) fn print_outcome(
    dataset: &str,
    outcome: &AnalysisOutcome,
    split: &SplitReport,
    as_json: bool,
) -> Result<()> {
    let status = outcome.status;
    if as_json {
        let value = json!({
            "dataset": dataset,
            "releases": outcome.releases,
            "split": split_json(split),
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
    print_split(split);
    let width = outcome.releases.iter().map(|r| r.query.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:>14}  {:>10}  {:>10}  {:<17}  {:>12}  95% interval",
        "query", "value", "ε", "δ", "mechanism", "noise scale"
    );
    for r in &outcome.releases {
        println!(
            "{:<width$}  {:>14}  {:>10}  {:>10}  {:<17}  {:>12}  {}",
            r.query,
            fmt_num(r.value),
            fmt_num(r.epsilon),
            fmt_num(r.delta),
            r.mechanism,
            fmt_num(r.noise_scale),
            interval_text(r),
        );
        print_groups(r, width);
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

/// The interval column: the 95% interval, a quantile's rank bound, or a grouped release's size.
fn interval_text(r: &Release) -> String {
    match (&r.ci95, r.rank_error95, &r.groups) {
        (Some(ci), _, _) => format!("[{}, {}]", fmt_num(ci.lower), fmt_num(ci.upper)),
        (None, Some(rank), _) => format!("rank within ±{} of the best", fmt_num(rank)),
        (None, None, Some(groups)) => match r.threshold {
            Some(t) => format!("{} groups (kept at ≥ {t} noisy patients)", groups.len()),
            None => format!("{} groups", groups.len()),
        },
        (None, None, None) => "-".to_owned(),
    }
}

/// One indented line per released group.
fn print_groups(r: &Release, width: usize) {
    for g in r.groups.iter().flatten() {
        let key =
            g.key.as_deref().map_or_else(|| "(other or missing)".to_owned(), |k| format!("{k:?}"));
        let interval = match (&g.ci95, g.rank_error95) {
            (Some(ci), _) => format!("[{}, {}]", fmt_num(ci.lower), fmt_num(ci.upper)),
            (None, Some(rank)) => format!("rank within ±{}", fmt_num(rank)),
            (None, None) => "-".to_owned(),
        };
        let inner = width.saturating_sub(2);
        println!("  {key:<inner$}  {:>14}  {interval}", fmt_num(g.value));
    }
}

/// Prints the plan of `analyze --explain`.
pub(crate) fn print_explanation(
    dataset: &str,
    explanation: &Explanation,
    split: &SplitReport,
    as_json: bool,
) -> Result<()> {
    if as_json {
        let value = json!({
            "dataset": dataset,
            "explain": true,
            "queries": explanation.queries,
            "split": split_json(split),
            "total": explanation.total,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "plan for dataset {dataset:?} (nothing is charged, released or logged): ε={} δ={}",
        fmt_num(explanation.total.epsilon),
        fmt_num(explanation.total.delta)
    );
    print_split(split);
    let width = explanation.queries.iter().map(|q| q.query.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:>10}  {:>10}  {:<17}  {:>12}  {:>12}  {:>16}  target → ε needed",
        "query", "ε", "δ", "mechanism", "sensitivity", "noise scale", "95% half-width"
    );
    for q in &explanation.queries {
        let f = &q.forecast;
        let half_width = match f.half_width95 {
            Some(w) if f.error_unit == "rank" => format!("{} ranks", fmt_num(w)),
            Some(w) => fmt_num(w),
            None => "needs rows".to_owned(),
        };
        let target = match (q.target_error, q.epsilon_for_target, &q.note) {
            (Some(t), Some(e), _) => format!("{} → ε {}", fmt_num(t), fmt_num(e)),
            (Some(t), None, Some(note)) => format!("{}: {note}", fmt_num(t)),
            _ => "-".to_owned(),
        };
        println!(
            "{:<width$}  {:>10}  {:>10}  {:<17}  {:>12}  {:>12}  {:>16}  {target}",
            q.query,
            fmt_num(q.epsilon),
            fmt_num(q.delta),
            f.mechanism,
            fmt_num(f.sensitivity),
            fmt_num(f.noise_scale),
            half_width,
        );
        if let Some(t) = f.threshold {
            println!("  groups are released when their noisy number of patients reaches {t}");
        }
    }
    Ok(())
}

/// Four significant digits, without exponent for ordinary magnitudes; `-` for a value that is
/// not a number (a grouped release's scalar).
fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "-".to_owned()
    } else if x == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e9).contains(&x.abs()) {
        let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}
