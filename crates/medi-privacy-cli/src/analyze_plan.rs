//! `analyze --explain` and `analyze --split accuracy`: planning a call before it runs.
//!
//! **Explain** prints what a call would do — each query's share of ε and δ, its mechanism,
//! sensitivity, noise scale, 95% half-width and, for queries with an `error=` target, the ε
//! that target needs — and stops. It opens no ledger, writes no audit entry, draws no noise and
//! reads no data value: with `--data` it reads the file only to check the columns' names and
//! types (`privacy_dp::explain`).
//!
//! **Accuracy split.** Queries without an `epsilon=` share must name a target (`error=`, the
//! 95% half-width they should reach); the ε left after the named shares is split by
//! `privacy_budget::allocation::split_by_accuracy`, with privacy-dp's forecasts
//! (`privacy_dp::half_width_at`) as the error model of each query, so that every query reaches
//! the same fraction of its target. The shares are then given to privacy-dp as explicit
//! `epsilon=` shares: privacy-dp never depends on privacy-budget (the layering check enforces
//! it); only this binary uses both.

use anyhow::{anyhow, bail, Context, Result};
use privacy_budget::allocation::{split_by_accuracy, ErrorModel};
use privacy_core::{EpsilonAmount, PrivacyCost};
use privacy_dp::analysis::split_budget_for;
use privacy_dp::{half_width_at, AnalysisRequest, ReadOptions};

use crate::{build_request, delimiter_byte, output, AnalyzeArgs, SplitArg};

/// How a call's ε was split, for the output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SplitReport {
    /// `equal` or `accuracy`.
    pub(crate) strategy: &'static str,
    /// For the accuracy split: the common ratio error/target (≤ 1: every target is met).
    pub(crate) ratio: Option<f64>,
}

/// Applies the chosen split to `request`: with `accuracy`, every query without a share gets an
/// explicit one (module docs); with `equal`, nothing changes (privacy-dp splits evenly).
pub(crate) fn apply_split(
    request: &mut AnalysisRequest,
    split: SplitArg,
    assumed_rows: Option<u64>,
) -> Result<SplitReport> {
    if matches!(split, SplitArg::Equal) {
        return Ok(SplitReport { strategy: "equal", ratio: None });
    }
    let free: Vec<usize> =
        (0..request.queries.len()).filter(|&i| request.queries[i].epsilon.is_none()).collect();
    if free.is_empty() {
        return Ok(SplitReport { strategy: "accuracy", ratio: None });
    }
    if let Some(&i) = free.iter().find(|&&i| request.queries[i].error.is_none()) {
        bail!(
            "--split accuracy needs an error= target (or an epsilon= share) on every query; \
             {} has neither",
            request.queries[i]
        );
    }
    let gaussian = request.gaussian()?;
    let consumers = request.delta_consumers()?;
    // The δ shares do not depend on how ε is split; an even ε split is used only to get them.
    let deltas: Vec<_> = split_budget_for(request.budget, &request.queries, &consumers)?
        .into_iter()
        .map(|c| c.delta)
        .collect();
    let named = request.queries.iter().filter_map(|q| q.epsilon).map(|e| e.units()).sum::<u64>();
    let left =
        request.budget.epsilon.units().checked_sub(named).filter(|&u| u > 0).ok_or_else(|| {
            anyhow!("the queries' epsilon shares leave nothing for the accuracy split")
        })?;
    let left = EpsilonAmount::from_units(left);
    let models: Vec<Box<dyn ErrorModel>> = free
        .iter()
        .map(|&i| {
            let (query, delta) = (request.queries[i].clone(), deltas[i]);
            let contribution = request.contribution.clone();
            Box::new(move |epsilon: f64| {
                half_width_at(&query, epsilon, delta, gaussian, &contribution, assumed_rows)
            }) as Box<dyn ErrorModel>
        })
        .collect();
    for (&i, model) in free.iter().zip(&models) {
        if !model.error(left.to_f64()).is_finite() {
            bail!(
                "the error of {} cannot be forecast{}",
                request.queries[i],
                " (means, variances and standard deviations need --assume-rows)"
            );
        }
    }
    let pairs: Vec<(&dyn ErrorModel, f64)> = free
        .iter()
        .zip(&models)
        .map(|(&i, m)| (m.as_ref(), request.queries[i].error.unwrap_or(f64::INFINITY)))
        .collect();
    let total = PrivacyCost { epsilon: left, delta: privacy_core::DeltaAmount::ZERO };
    let allocation = split_by_accuracy(total, &pairs).context("the accuracy split failed")?;
    for (&i, share) in free.iter().zip(&allocation.shares) {
        if share.epsilon.is_zero() {
            bail!("the accuracy split left no ε for {}", request.queries[i]);
        }
        request.queries[i].epsilon = Some(share.epsilon);
    }
    Ok(SplitReport { strategy: "accuracy", ratio: Some(allocation.ratio) })
}

/// `analyze --explain`: the plan, printed; nothing charged, released or logged.
pub(crate) fn explain(args: &AnalyzeArgs) -> Result<()> {
    let mut request = build_request(args).map_err(|(_, e)| e)?;
    let split = apply_split(&mut request, args.split, args.assume_rows)?;
    let frame = match &args.data {
        Some(path) => {
            let options =
                ReadOptions { delimiter: args.delimiter.map(delimiter_byte).transpose()? };
            Some(privacy_dp::read_table(path, options)?)
        }
        None => None,
    };
    let explanation = privacy_dp::explain(&request, frame.as_ref(), args.assume_rows)
        .context("cannot plan this call")?;
    output::print_explanation(&args.dataset, &explanation, &split, args.json)
}
