//! The main job: plan a call's queries, reserve their cost, release, commit, and record.
//!
//! [`run`] follows the protocol of `privacy_core::ledger` — **plan → record the request →
//! reserve → release → commit → record the releases** — so that:
//! - the whole cost of a call is known and reserved in one ledger transaction before any noise
//!   is drawn; a call that would overspend is refused and releases nothing;
//! - every failure before the reservation (an unknown column, a NaN under the refuse policy, a
//!   bad split) charges nothing;
//! - once noise has been drawn the charge stays, even if a later step fails (an answer may be
//!   lost; a budget is never under-charged);
//! - a request entry is appended to the audit log before the reservation, so a log that cannot
//!   be written stops the call before it costs anything;
//! - releases are returned only after their audit entries are durable, and every refusal is
//!   recorded too. Audit entries carry parameters and released (noisy) values, never a data
//!   value or a true statistic; for grouped releases only the number of groups, never a key.
//!
//! **Budget split.** A call spends exactly its `(ε, δ)`. Queries that name their own share get
//! it; the rest is split evenly (exactly, in fixed-point units) across the others. δ goes only
//! to the queries that spend it — those with Gaussian noise, and those that select groups by
//! private partition selection; the exponential mechanism of medians and quantiles spends none.
//! Basic composition (Dwork & Roth 2014, Theorem 3.16) makes the call `(Σεᵢ, Σδᵢ)`-DP.
//!
//! **Mechanism.** With `δ = 0` every query uses discrete Laplace noise (pure εᵢ-DP). With
//! `δ > 0` (or `--mechanism gaussian`) every noisy sum and count uses the discrete Gaussian,
//! calibrated so that the query is (εᵢ, δᵢ)-DP by the tighter of two rigorous routes
//! ([`crate::noise::gaussian_budget`]): the exact privacy profile of the discrete Gaussian
//! (Canonne, Kamath, Steinke 2020, Theorem 7) for a single scalar draw, or zCDP at the
//! Canonne–Kamath–Steinke conversion (Corollary 13) for statistics of several draws and for
//! per-group vectors. `--mechanism laplace` with `δ > 0` keeps Laplace noise and spends δ
//! only on partition selection.
//!
//! **Tuning.** [`explain`] costs every query, reports its mechanism, sensitivity, noise scale
//! and 95% half-width, and, for queries with a target (`error=`), the ε that target needs —
//! from the parameters alone, without reading a data value, charging or releasing anything.

use std::path::Path;

use polars::prelude::DataFrame;
use privacy_core::{
    AuditEvent, AuditEventKind, AuditSink, BudgetLedger, BudgetStatus, ChargeRequest, CoreError,
    DeltaAmount, EpsilonAmount, GuaranteeRecord, Measurement, PrivacyCost, PrivacyGuarantee,
    SecureRng,
};
use serde::Serialize;

use crate::error::DpError;
use crate::grouped::{DpGrouped, GroupBound, GroupEstimate, GroupedStatistic, Grouping};
use crate::noise::{gaussian_budget, NoiseBudget};
use crate::quantile::DpQuantile;
use crate::query::{BoundedColumn, Query, Statistic};
use crate::stats::{Bounds, DpCount, DpMean, DpSum, Estimate, Interval};
use crate::table::{read_table, BoundedTable, ContributionBound, NonFinitePolicy, ReadOptions};
use crate::tuning::{forecast, Forecast};
use crate::variance::DpVariance;

/// Which noise to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismChoice {
    /// Laplace when the call's δ is 0, Gaussian otherwise.
    #[default]
    Auto,
    /// Discrete Laplace (pure ε-DP); δ is spent only by partition selection.
    Laplace,
    /// Discrete Gaussian (charged as (ε, δ)); the call's δ must be > 0.
    Gaussian,
}

/// Everything one call asks for.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// The dataset whose budget is charged.
    pub dataset: String,
    /// Who asks.
    pub principal: String,
    /// What the call spends in total.
    pub budget: PrivacyCost,
    /// The queries, in order.
    pub queries: Vec<Query>,
    /// The privacy unit and the per-unit bounds.
    pub contribution: ContributionBound,
    /// What to do with NaN and infinite values.
    pub non_finite: NonFinitePolicy,
    /// Which noise to use.
    pub mechanism: MechanismChoice,
}

impl AnalysisRequest {
    /// Whether noisy sums and counts use the discrete Gaussian, or a typed refusal of an
    /// inconsistent choice.
    pub fn gaussian(&self) -> Result<bool, DpError> {
        let delta_zero = self.budget.delta.is_zero();
        let selects = self.queries.iter().any(Query::selects_partitions);
        match (self.mechanism, delta_zero) {
            (MechanismChoice::Auto, zero) => Ok(!zero),
            (MechanismChoice::Laplace, true) => Ok(false),
            (MechanismChoice::Laplace, false) if selects => Ok(false),
            (MechanismChoice::Laplace, false) => Err(DpError::InvalidMechanism(
                "laplace noise gives pure ε-DP and spends no δ; omit --delta or choose gaussian"
                    .into(),
            )),
            (MechanismChoice::Gaussian, false) => Ok(true),
            (MechanismChoice::Gaussian, true) => {
                Err(DpError::InvalidMechanism("gaussian noise needs a δ > 0".into()))
            }
        }
    }

    /// Which queries spend δ (module docs).
    pub fn delta_consumers(&self) -> Result<Vec<bool>, DpError> {
        let gaussian = self.gaussian()?;
        Ok(self.queries.iter().map(|q| spends_delta(q, gaussian)).collect())
    }
}

/// Whether `query` spends δ: Gaussian noise (except the exponential mechanism of ungrouped
/// quantiles), or partition selection.
fn spends_delta(query: &Query, gaussian: bool) -> bool {
    let quantile = matches!(query.statistic, Statistic::Median(_) | Statistic::Quantile { .. });
    query.selects_partitions() || (gaussian && !quantile)
}

/// One statistic, ready to run (boxed: the measurements differ much in size).
#[derive(Clone, Debug)]
pub(crate) enum PlannedMeasurement {
    Count(Box<DpCount>),
    Sum(Box<DpSum>),
    Mean(Box<DpMean>),
    Variance(Box<DpVariance>),
    Quantile(Box<DpQuantile>),
    Grouped(Box<DpGrouped>),
}

/// What a planned measurement released.
enum Output {
    Scalar(Estimate),
    Quantile(crate::quantile::QuantileEstimate),
    Grouped(crate::grouped::GroupedEstimate),
}

impl PlannedMeasurement {
    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Output, DpError> {
        Ok(match self {
            Self::Count(m) => Output::Scalar(m.release(table, rng)?),
            Self::Sum(m) => Output::Scalar(m.release(table, rng)?),
            Self::Mean(m) => Output::Scalar(m.release(table, rng)?),
            Self::Variance(m) => Output::Scalar(m.release(table, rng)?),
            Self::Quantile(m) => Output::Quantile(m.release(table, rng)?),
            Self::Grouped(m) => Output::Grouped(m.release(table, rng)?),
        })
    }

    pub(crate) fn guarantee(&self) -> PrivacyGuarantee {
        match self {
            Self::Count(m) => m.guarantee(),
            Self::Sum(m) => m.guarantee(),
            Self::Mean(m) => m.guarantee(),
            Self::Variance(m) => m.guarantee(),
            Self::Quantile(m) => m.guarantee(),
            Self::Grouped(m) => m.guarantee(),
        }
    }
}

/// The per-patient bounds of grouped queries: `G = K = 1` without a unit column; with one,
/// `G` must be declared and `K` is the rows-per-unit bound read per group.
pub fn group_bound(contribution: &ContributionBound) -> Result<GroupBound, DpError> {
    match (&contribution.unit_column, contribution.max_groups_per_unit) {
        (None, _) => GroupBound::new(1, 1),
        (Some(_), Some(g)) => GroupBound::new(g, contribution.max_rows_per_unit),
        (Some(unit), None) => Err(DpError::InvalidContribution(format!(
            "grouped queries with privacy unit {unit:?} need a bound on the groups one unit may \
             touch (--max-groups-per-unit)"
        ))),
    }
}

/// The measurement of one query charged `cost`, from parameters only (no data is read).
pub(crate) fn build_measurement(
    query: &Query,
    cost: PrivacyCost,
    gaussian: bool,
    contribution: &ContributionBound,
    policy: NonFinitePolicy,
) -> Result<PlannedMeasurement, DpError> {
    let k = contribution.max_rows_per_unit;
    let bounded = query.statistic.bounded_column();
    let bounds = bounded.as_ref().map(|c| Bounds::new(&c.column, c.lower, c.upper)).transpose()?;
    if query.is_grouped() {
        let (column, statistic) = grouped_statistic(&query.statistic, bounds)?;
        let grouping = Grouping {
            by: query.group_column().unwrap_or_default().to_owned(),
            categories: match &query.statistic {
                Statistic::Histogram { categories, .. } => categories.clone(),
                _ => None,
            },
            unit: contribution.unit_column.clone(),
            bound: group_bound(contribution)?,
        };
        let grouped =
            DpGrouped::new(statistic, column.as_deref(), grouping, policy, cost, gaussian)?;
        return Ok(PlannedMeasurement::Grouped(Box::new(grouped)));
    }
    let noise = |parts: usize| -> Result<NoiseBudget, DpError> {
        if !gaussian {
            if !cost.delta.is_zero() {
                return Err(DpError::InvalidSplit(format!(
                    "query {query} has a δ share, but laplace noise spends none"
                )));
            }
            return Ok(NoiseBudget::Pure(cost.epsilon));
        }
        if cost.delta.is_zero() {
            return Err(DpError::InvalidSplit(format!(
                "query {query} has a δ share of 0, but gaussian noise needs δ > 0"
            )));
        }
        gaussian_budget(cost, parts, false)
    };
    let column = bounded.as_ref().map(|c| c.column.as_str()).unwrap_or_default();
    let bounds = bounds.unwrap_or_else(unreachable_bounds);
    Ok(match &query.statistic {
        Statistic::Count => PlannedMeasurement::Count(Box::new(DpCount::new(k, noise(1)?, cost)?)),
        Statistic::Sum { .. } => PlannedMeasurement::Sum(Box::new(DpSum::new(
            column,
            bounds,
            policy,
            k,
            noise(1)?,
            cost,
        )?)),
        Statistic::Mean { .. } => PlannedMeasurement::Mean(Box::new(DpMean::new(
            column,
            bounds,
            policy,
            k,
            noise(2)?,
            cost,
        )?)),
        Statistic::Variance(_) | Statistic::StdDev(_) => {
            let std = matches!(query.statistic, Statistic::StdDev(_));
            let variance = DpVariance::new(column, bounds, policy, k, noise(3)?, cost, std)?;
            PlannedMeasurement::Variance(Box::new(variance))
        }
        Statistic::Median(_) | Statistic::Quantile { .. } => {
            if !cost.delta.is_zero() {
                return Err(DpError::InvalidSplit(format!(
                    "query {query} is pure ε-DP (exponential mechanism) and spends no δ"
                )));
            }
            let q = match &query.statistic {
                Statistic::Quantile { q, .. } => *q,
                _ => 0.5,
            };
            let quantile = DpQuantile::new(column, q, bounds, policy, k, cost.epsilon, cost)?;
            PlannedMeasurement::Quantile(Box::new(quantile))
        }
        Statistic::Histogram { .. } => {
            return Err(DpError::InvalidMechanism("internal: histograms are grouped".into()))
        }
    })
}

/// Placeholder bounds for statistics that read no column (never used by them).
fn unreachable_bounds() -> Bounds {
    // 0 < 1, both finite and within range: `Bounds::new` accepts them.
    Bounds::new("", 0.0, 1.0).unwrap_or_else(|_| unreachable!("[0, 1] is valid bounds"))
}

/// The per-group statistic of a grouped query, and the column it reads.
fn grouped_statistic(
    statistic: &Statistic,
    bounds: Option<Bounds>,
) -> Result<(Option<String>, GroupedStatistic), DpError> {
    let column = statistic.bounded_column().map(|c: BoundedColumn| c.column);
    let b = || bounds.ok_or_else(|| DpError::InvalidMechanism("internal: missing bounds".into()));
    let grouped = match statistic {
        Statistic::Count | Statistic::Histogram { .. } => GroupedStatistic::Count,
        Statistic::Sum { .. } => GroupedStatistic::Sum(b()?),
        Statistic::Mean { .. } => GroupedStatistic::Mean(b()?),
        Statistic::Variance(_) => GroupedStatistic::Variance { bounds: b()?, std: false },
        Statistic::StdDev(_) => GroupedStatistic::Variance { bounds: b()?, std: true },
        Statistic::Median(_) => GroupedStatistic::Quantile { bounds: b()?, q: 0.5 },
        Statistic::Quantile { q, .. } => GroupedStatistic::Quantile { bounds: b()?, q: *q },
    };
    Ok((column, grouped))
}

/// A query with its share of the budget and its measurement.
#[derive(Clone, Debug)]
pub struct PlannedQuery {
    /// The query.
    pub query: Query,
    /// Its share of the call's budget.
    pub cost: PrivacyCost,
    measurement: PlannedMeasurement,
}

impl PlannedQuery {
    /// The guarantee the query's release gives.
    pub fn guarantee(&self) -> PrivacyGuarantee {
        self.measurement.guarantee()
    }

    /// The expected error of the query's release, before it runs; `assumed_rows` (a public
    /// assumption, never read from the data) is needed for means, variances and standard
    /// deviations, whose error depends on the number of values.
    pub fn forecast(&self, assumed_rows: Option<u64>) -> Forecast {
        forecast(&self.measurement, assumed_rows)
    }
}

/// A call's queries, costed and checked against the data, before anything is charged.
#[derive(Clone, Debug)]
pub struct AnalysisPlan {
    queries: Vec<PlannedQuery>,
    total: PrivacyCost,
}

impl AnalysisPlan {
    /// The planned queries.
    pub fn queries(&self) -> &[PlannedQuery] {
        &self.queries
    }

    /// What the call will charge.
    pub fn total_cost(&self) -> PrivacyCost {
        self.total
    }
}

/// One released statistic, as printed and recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Release {
    /// The query as written (normalised).
    pub query: String,
    /// `count`, `sum`, `mean`, `var`, `std`, `median`, `quantile` or `histogram`.
    pub statistic: &'static str,
    /// The column read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The grouping column of a grouped release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The differentially private value; not a number (`null` in JSON) for grouped releases,
    /// whose values are in `groups`.
    pub value: f64,
    /// The ε share this query spent.
    pub epsilon: f64,
    /// The δ share this query spent.
    pub delta: f64,
    /// The noise mechanism.
    pub mechanism: &'static str,
    /// The noise scale in data units (see [`Estimate::noise_scale`]); per group for grouped
    /// releases, 0 for the exponential mechanism.
    pub noise_scale: f64,
    /// A 95% confidence interval for the true value; `null` for quantiles (see
    /// [`crate::quantile`]) and grouped releases.
    pub ci95: Option<Interval>,
    /// The summation (or quantile) grid step, when the statistic sums or ranks values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<f64>,
    /// For quantiles: the 95% bound on the rank error, in values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_error95: Option<f64>,
    /// For grouped releases: one value per released group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupEstimate>>,
    /// For group-bys with unknown keys: the selection threshold on a group's noisy patients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    /// The guarantee of this release.
    pub guarantee: GuaranteeRecord,
}

/// What a successful call produced.
#[derive(Clone, Debug)]
pub struct AnalysisOutcome {
    /// One release per query, in order.
    pub releases: Vec<Release>,
    /// What this call charged.
    pub charged: PrivacyCost,
    /// The dataset's budget after the call.
    pub status: BudgetStatus,
}

/// Splits `budget` across `queries`: named shares first, the rest evenly; δ only across the
/// queries marked in `delta_consumers` (a named δ share on any other is refused).
pub fn split_budget_for(
    budget: PrivacyCost,
    queries: &[Query],
    delta_consumers: &[bool],
) -> Result<Vec<PrivacyCost>, DpError> {
    if queries.is_empty() {
        return Err(DpError::InvalidSplit("no queries given".into()));
    }
    let eps: Vec<Option<u64>> = queries.iter().map(|q| q.epsilon.map(|e| e.units())).collect();
    let eps = split_units(budget.epsilon.units(), &eps, "epsilon", true)?;
    let mut consumers = Vec::new();
    for (query, &consumes) in queries.iter().zip(delta_consumers) {
        match (consumes, query.delta) {
            (true, named) => consumers.push(named.map(|d| d.units())),
            (false, Some(d)) if !d.is_zero() => {
                return Err(DpError::InvalidSplit(format!(
                    "query {query} names a δ share, but spends no δ"
                )))
            }
            (false, _) => {}
        }
    }
    let mut del = if consumers.is_empty() {
        if !budget.delta.is_zero() {
            return Err(DpError::InvalidSplit(
                "the call has a δ, but no query spends δ; omit --delta".into(),
            ));
        }
        Vec::new()
    } else {
        split_units(budget.delta.units(), &consumers, "delta", false)?
    }
    .into_iter();
    Ok(eps
        .into_iter()
        .zip(delta_consumers)
        .map(|(e, &consumes)| PrivacyCost {
            epsilon: EpsilonAmount::from_units(e),
            delta: DeltaAmount::from_units(if consumes { del.next().unwrap_or(0) } else { 0 }),
        })
        .collect())
}

/// Splits `budget` across `queries` when every query spends δ (the split of a call whose
/// queries all use the same noise): named shares first, the rest evenly.
pub fn split_budget(budget: PrivacyCost, queries: &[Query]) -> Result<Vec<PrivacyCost>, DpError> {
    let consumers = vec![!budget.delta.is_zero(); queries.len()];
    split_budget_for(budget, queries, &consumers)
}

fn split_units(
    total: u64,
    named: &[Option<u64>],
    name: &str,
    positive: bool,
) -> Result<Vec<u64>, DpError> {
    let fixed = named.iter().flatten().try_fold(0u64, |acc, &x| acc.checked_add(x));
    let fixed = fixed.ok_or_else(|| DpError::InvalidSplit(format!("{name} shares overflow")))?;
    let rest = total.checked_sub(fixed).ok_or_else(|| {
        DpError::InvalidSplit(format!(
            "the queries' {name} shares add up to more than the call's {name}"
        ))
    })?;
    let free = named.iter().filter(|s| s.is_none()).count();
    if free == 0 {
        if rest != 0 {
            return Err(DpError::InvalidSplit(format!(
                "every query names its {name} share, but the shares do not add up to the call's {name}"
            )));
        }
        return Ok(named.iter().map(|s| s.unwrap_or(0)).collect());
    }
    let n = free as u64;
    let (share, extra) = (rest / n, rest % n);
    if positive && share == 0 {
        return Err(DpError::InvalidSplit(format!(
            "no {name} is left for the queries without a share"
        )));
    }
    let mut handed = 0u64;
    Ok(named
        .iter()
        .map(|s| {
            s.unwrap_or_else(|| {
                handed += 1;
                share + u64::from(handed <= extra)
            })
        })
        .collect())
}

/// Costs every query from its parameters alone: no data is read.
pub fn plan_parameters(request: &AnalysisRequest) -> Result<AnalysisPlan, DpError> {
    let gaussian = request.gaussian()?;
    let consumers = request.delta_consumers()?;
    let shares = split_budget_for(request.budget, &request.queries, &consumers)?;
    let queries = request
        .queries
        .iter()
        .zip(shares)
        .map(|(query, cost)| {
            let measurement = build_measurement(
                query,
                cost,
                gaussian,
                &request.contribution,
                request.non_finite,
            )?;
            Ok(PlannedQuery { query: query.clone(), cost, measurement })
        })
        .collect::<Result<Vec<_>, DpError>>()?;
    Ok(AnalysisPlan { queries, total: request.budget })
}

/// Checks that every column a query names exists, with a usable type; with `values`, also
/// reads numeric columns under the non-finite policy (which refuses NaN and infinities).
fn check_columns(
    request: &AnalysisRequest,
    frame: &DataFrame,
    table: Option<&BoundedTable>,
) -> Result<(), DpError> {
    for query in &request.queries {
        if let Some(column) = query.statistic.bounded_column() {
            match table {
                Some(t) => drop(t.numeric_column(
                    &column.column,
                    &query.to_string(),
                    request.non_finite,
                )?),
                None => check_numeric_type(frame, &column.column, &query.to_string())?,
            }
        }
        if let Some(by) = query.group_column() {
            crate::table::column(frame, by)?;
        }
    }
    Ok(())
}

/// The column exists and has a numeric type (its values are not read).
fn check_numeric_type(frame: &DataFrame, name: &str, query: &str) -> Result<(), DpError> {
    let col = crate::table::column(frame, name)?;
    if !col.dtype().is_primitive_numeric() {
        return Err(DpError::NonNumericColumn {
            column: name.to_owned(),
            dtype: col.dtype().to_string(),
            query: query.to_owned(),
        });
    }
    Ok(())
}

/// Costs every query and checks it against the data. Nothing is charged or drawn.
pub fn plan(request: &AnalysisRequest, table: &BoundedTable) -> Result<AnalysisPlan, DpError> {
    let plan = plan_parameters(request)?;
    check_columns(request, table.frame(), Some(table))?;
    Ok(plan)
}

/// One query of an [`Explanation`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryExplanation {
    /// The query as written (normalised).
    pub query: String,
    /// Its ε share.
    pub epsilon: f64,
    /// Its δ share.
    pub delta: f64,
    /// The guarantee its release would give.
    pub guarantee: GuaranteeRecord,
    /// Mechanism, sensitivity, noise scale, 95% half-width and selection threshold.
    #[serde(flatten)]
    pub forecast: Forecast,
    /// The target half-width the query named (`error=`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<f64>,
    /// The ε share that target needs (with the query's δ share), if it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon_for_target: Option<f64>,
    /// Why the ε for the target could not be found (e.g. a mean without assumed rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a call would do, before it runs: from the parameters and the columns' names and
/// types only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// One entry per query, in order.
    pub queries: Vec<QueryExplanation>,
    /// What the call would charge.
    pub total: PrivacyCostRecord,
}

/// A privacy cost as JSON numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PrivacyCostRecord {
    /// ε.
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
}

/// Plans a call without running it: for each query its share, guarantee, mechanism,
/// sensitivity, noise scale and 95% half-width (for means, variances and standard deviations
/// at `assumed_rows` values, a public assumption), and for queries with a target error the ε
/// that target needs. With `frame`, the columns' names and types are checked; no value is read,
/// nothing is charged or drawn.
pub fn explain(
    request: &AnalysisRequest,
    frame: Option<&DataFrame>,
    assumed_rows: Option<u64>,
) -> Result<Explanation, DpError> {
    let plan = plan_parameters(request)?;
    if let Some(frame) = frame {
        check_columns(request, frame, None)?;
    }
    let gaussian = request.gaussian()?;
    let queries = plan
        .queries
        .iter()
        .map(|planned| {
            let target = planned.query.error.map(|target| {
                crate::tuning::epsilon_for_error(
                    &planned.query,
                    planned.cost.delta,
                    gaussian,
                    &request.contribution,
                    assumed_rows,
                    target,
                )
            });
            let (epsilon_for_target, note) = match target {
                Some(Ok(e)) => (Some(e.to_f64()), None),
                Some(Err(e)) => (None, Some(e.to_string())),
                None => (None, None),
            };
            Ok(QueryExplanation {
                query: planned.query.to_string(),
                epsilon: planned.cost.epsilon.to_f64(),
                delta: planned.cost.delta.to_f64(),
                guarantee: planned.guarantee().into(),
                forecast: planned.forecast(assumed_rows),
                target_error: planned.query.error,
                epsilon_for_target,
                note,
            })
        })
        .collect::<Result<Vec<_>, DpError>>()?;
    let total = PrivacyCostRecord {
        epsilon: plan.total.epsilon.to_f64(),
        delta: plan.total.delta.to_f64(),
    };
    Ok(Explanation { queries, total })
}

/// Releases every planned query without a ledger (the caller accounts for the cost).
pub fn release_all(
    plan: &AnalysisPlan,
    table: &BoundedTable,
    rng: &mut SecureRng,
) -> Result<Vec<Release>, DpError> {
    plan.queries
        .iter()
        .map(|planned| {
            let mut release = Release {
                query: planned.query.to_string(),
                statistic: planned.query.statistic.name(),
                column: planned.query.statistic.column().map(str::to_owned),
                by: planned.query.group_by.clone(),
                value: f64::NAN,
                epsilon: planned.cost.epsilon.to_f64(),
                delta: planned.cost.delta.to_f64(),
                mechanism: "",
                noise_scale: 0.0,
                ci95: None,
                grid: None,
                rank_error95: None,
                groups: None,
                threshold: None,
                guarantee: planned.guarantee().into(),
            };
            match planned.measurement.release(table, rng)? {
                Output::Scalar(e) => {
                    release.value = e.value;
                    release.mechanism = e.mechanism;
                    release.noise_scale = e.noise_scale;
                    release.ci95 = Some(e.ci95);
                    release.grid = e.grid;
                }
                Output::Quantile(q) => {
                    release.value = q.value;
                    release.mechanism = q.mechanism;
                    release.grid = Some(q.grid);
                    release.rank_error95 = Some(q.rank_error95);
                }
                Output::Grouped(g) => {
                    release.mechanism = g.mechanism;
                    release.noise_scale = g.noise_scale;
                    release.grid = g.grid;
                    release.threshold = g.threshold;
                    release.groups = Some(g.groups);
                }
            }
            Ok(release)
        })
        .collect()
}

/// Runs a whole call against a ledger and an audit sink (see the module docs).
pub fn run(
    request: &AnalysisRequest,
    table: &BoundedTable,
    ledger: &dyn BudgetLedger,
    audit: &dyn AuditSink,
    rng: &mut SecureRng,
) -> Result<AnalysisOutcome, DpError> {
    let result = run_inner(request, table, ledger, audit, rng);
    if let Err(error) = &result {
        // A failure to record the refusal itself is reported in place of the original error:
        // an operation whose record is missing must not look like a clean refusal.
        if !matches!(error, DpError::Core(privacy_core::CoreError::Audit(_))) {
            record_refusal(audit, request, error)?;
        }
    }
    result
}

fn run_inner(
    request: &AnalysisRequest,
    table: &BoundedTable,
    ledger: &dyn BudgetLedger,
    audit: &dyn AuditSink,
    rng: &mut SecureRng,
) -> Result<AnalysisOutcome, DpError> {
    let plan = plan(request, table)?;
    // Written before the reservation: if the log cannot take an entry, nothing is charged.
    audit.record(&request_event(request))?;
    let reservation = ledger.reserve(&ChargeRequest {
        dataset: request.dataset.clone(),
        principal: request.principal.clone(),
        cost: plan.total_cost(),
        description: query_texts(request).join("; "),
    })?;
    tracing::info!(dataset = %request.dataset, epsilon = %plan.total.epsilon, delta = %plan.total.delta, queries = plan.queries.len(), "budget reserved");
    // From here on noise is drawn: the charge is committed whatever happens next.
    let released = release_all(&plan, table, rng);
    ledger.commit(reservation)?;
    let releases = released?;
    for release in &releases {
        audit.record(&release_event(request, release)).map_err(|error| match error {
            CoreError::Audit(reason) => CoreError::Audit(format!(
                "{reason}; the charge of {} stands, because noise had been drawn",
                plan.total
            )),
            other => other,
        })?;
    }
    let status = ledger.status(&request.dataset)?;
    Ok(AnalysisOutcome { releases, charged: plan.total, status })
}

/// The queries of a request as normalised text.
fn query_texts(request: &AnalysisRequest) -> Vec<String> {
    request.queries.iter().map(Query::to_string).collect()
}

/// An event about `request`: who, which dataset, and the contribution bound it runs under.
fn event(kind: AuditEventKind, request: &AnalysisRequest) -> AuditEvent {
    let unit = request.contribution.unit_column.clone().unwrap_or_else(|| "row".into());
    let event = AuditEvent::new(kind, &request.principal)
        .with_dataset(&request.dataset)
        .with_detail("privacy_unit", unit)
        .with_detail("max_rows_per_unit", request.contribution.max_rows_per_unit);
    match request.contribution.max_groups_per_unit {
        Some(groups) => event.with_detail("max_groups_per_unit", groups),
        None => event,
    }
}

fn request_event(request: &AnalysisRequest) -> AuditEvent {
    event(AuditEventKind::Request, request)
        .with_detail("queries", query_texts(request))
        .with_detail("epsilon", request.budget.epsilon.to_string())
        .with_detail("delta", request.budget.delta.to_string())
}

/// The audit entry of a release: its parameters and released value. A grouped release records
/// how many groups it released, never their keys (which are data values) or their values.
fn release_event(request: &AnalysisRequest, release: &Release) -> AuditEvent {
    let mut event = event(AuditEventKind::Release, request)
        .with_guarantee(release.guarantee.clone())
        .with_detail("query", release.query.as_str())
        .with_detail("mechanism", release.mechanism)
        .with_detail("epsilon", release.epsilon)
        .with_detail("delta", release.delta)
        .with_detail("noise_scale", release.noise_scale);
    if let Some(groups) = &release.groups {
        event = event.with_detail("groups_released", groups.len());
        if let Some(threshold) = release.threshold {
            event = event.with_detail("selection_threshold", threshold);
        }
        return event;
    }
    event = event.with_detail("released_value", release.value);
    if let Some(ci) = release.ci95 {
        event = event.with_detail("ci95", vec![ci.lower, ci.upper]);
    }
    event
}

/// Records that a call was refused, with a reason that holds no data value.
pub fn record_refusal(
    audit: &dyn AuditSink,
    request: &AnalysisRequest,
    error: &DpError,
) -> Result<(), DpError> {
    let refusal = event(AuditEventKind::Refusal, request)
        .with_detail("reason_code", error.code())
        .with_detail("reason", error.audit_reason())
        .with_detail("queries", query_texts(request))
        .with_detail("requested_epsilon", request.budget.epsilon.to_string())
        .with_detail("requested_delta", request.budget.delta.to_string());
    audit.record(&refusal)?;
    Ok(())
}

/// A patient table with the declarations a private analysis needs: the privacy unit and
/// clamping bounds for the columns to summarise. The bounds are declared, never read off the
/// data.
#[derive(Clone, Debug)]
pub struct PatientData {
    frame: DataFrame,
    contribution: ContributionBound,
    columns: Vec<(String, f64, f64)>,
}

impl PatientData {
    /// A table with one row per patient and no columns declared yet.
    pub fn new(frame: DataFrame) -> Self {
        Self { frame, contribution: ContributionBound::one_row_per_unit(), columns: Vec::new() }
    }

    /// Reads a CSV or Parquet file (see [`read_table`]).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, DpError> {
        Ok(Self::new(read_table(path.as_ref(), ReadOptions::default())?))
    }

    /// Declares the patient-identifier column and how many rows one patient may contribute.
    pub fn with_privacy_unit(
        mut self,
        column: &str,
        max_rows_per_unit: u64,
    ) -> Result<Self, DpError> {
        self.contribution = ContributionBound::per_unit(column, max_rows_per_unit)?;
        Ok(self)
    }

    /// Declares a numeric column to summarise and the bounds its values are clamped to.
    pub fn with_bounds(mut self, column: &str, lower: f64, upper: f64) -> Result<Self, DpError> {
        Bounds::new(column, lower, upper)?;
        self.columns.push((column.to_owned(), lower, upper));
        Ok(self)
    }
}

/// What [`analyze_with_privacy`] releases.
#[derive(Clone, Debug)]
pub struct Statistics {
    /// The private number of rows.
    pub count: Release,
    /// The private mean of each declared column, in declaration order.
    pub means: Vec<Release>,
    /// What the whole analysis spent (basic composition of its releases).
    pub total: PrivacyCost,
}

/// A private count and the private mean of every declared column, spending `epsilon` in total
/// (pure ε-DP, split evenly). Noise comes from a fresh OS-keyed [`SecureRng`].
///
/// This charges no ledger: the caller is responsible for the budget. Use [`run`] with a
/// `privacy_budget` ledger to charge and refuse durably.
pub fn analyze_with_privacy(patients: &PatientData, epsilon: f64) -> Result<Statistics, DpError> {
    let epsilon = EpsilonAmount::from_f64_down(epsilon)?;
    let mut queries = vec![Query::new(Statistic::Count)];
    queries.extend(patients.columns.iter().map(|(column, lower, upper)| {
        Query::new(Statistic::Mean { column: column.clone(), lower: *lower, upper: *upper })
    }));
    let request = AnalysisRequest {
        dataset: String::new(),
        principal: String::new(),
        budget: PrivacyCost { epsilon, delta: DeltaAmount::ZERO },
        queries,
        contribution: patients.contribution.clone(),
        non_finite: NonFinitePolicy::Refuse,
        mechanism: MechanismChoice::Laplace,
    };
    PrivacyGuarantee::pure(epsilon)?;
    let table = BoundedTable::new(patients.frame.clone(), patients.contribution.clone())?;
    let plan = plan(&request, &table)?;
    let mut rng = SecureRng::from_os_entropy()?;
    let mut releases = release_all(&plan, &table, &mut rng)?.into_iter();
    let count = releases.next().ok_or_else(|| DpError::InvalidSplit("no queries given".into()))?;
    Ok(Statistics { count, means: releases.collect(), total: plan.total })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::query::parse_query;

    fn queries(texts: &[&str]) -> Vec<Query> {
        texts.iter().map(|t| parse_query(t).unwrap()).collect()
    }

    fn cost(e: &str, d: &str) -> PrivacyCost {
        PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal(e).unwrap(),
            delta: DeltaAmount::parse_decimal(d).unwrap(),
        }
    }

    #[test]
    fn split_is_even_and_exact() {
        let shares =
            split_budget(cost("1", "0"), &queries(&["count()", "count()", "count()"])).unwrap();
        let units: Vec<u64> = shares.iter().map(|s| s.epsilon.units()).collect();
        assert_eq!(units.iter().sum::<u64>(), EpsilonAmount::UNITS_PER_ONE);
        assert_eq!(units, vec![333_333_333_334, 333_333_333_333, 333_333_333_333]);
    }

    #[test]
    fn named_shares_are_honoured() {
        let q = queries(&["count(epsilon=0.7)", "mean(a, 0, 1)", "sum(a, 0, 1)"]);
        let shares = split_budget(cost("1", "0"), &q).unwrap();
        assert_eq!(shares[0].epsilon.to_string(), "0.7");
        assert_eq!(shares[1].epsilon.to_string(), "0.15");
        assert_eq!(shares[2].epsilon.to_string(), "0.15");
        assert!(split_budget(cost("1", "0"), &queries(&["count(epsilon=2)"])).is_err());
        assert!(split_budget(cost("1", "0"), &queries(&["count(epsilon=0.5)"])).is_err());
        assert!(split_budget(cost("1", "0"), &queries(&["count(epsilon=1)", "count()"])).is_err());
        assert!(split_budget(cost("1", "0"), &[]).is_err());
    }

    fn request(texts: &[&str], budget: PrivacyCost) -> AnalysisRequest {
        AnalysisRequest {
            dataset: "d".into(),
            principal: "p".into(),
            budget,
            queries: queries(texts),
            contribution: ContributionBound::one_row_per_unit(),
            non_finite: NonFinitePolicy::Refuse,
            mechanism: MechanismChoice::Auto,
        }
    }

    #[test]
    fn delta_goes_only_to_the_queries_that_spend_it() {
        let r = request(&["median(a, 0, 1)", "count()", "count() by b"], cost("3", "0.000002"));
        assert_eq!(r.delta_consumers().unwrap(), vec![false, true, true]);
        let plan = plan_parameters(&r).unwrap();
        let deltas: Vec<String> = plan.queries().iter().map(|q| q.cost.delta.to_string()).collect();
        assert_eq!(deltas, vec!["0", "0.000001", "0.000001"]);
        assert_eq!(plan.queries()[0].guarantee().kind(), "pure");
        assert_eq!(plan.queries()[1].guarantee().kind(), "approximate", "exact profile, one draw");
        assert_eq!(plan.queries()[2].guarantee().kind(), "approximate");
        // Laplace noise with a δ is allowed when partition selection spends it.
        let mut laplace = request(&["count() by b", "sum(a, 0, 1)"], cost("1", "1e-6"));
        laplace.mechanism = MechanismChoice::Laplace;
        let plan = plan_parameters(&laplace).unwrap();
        assert_eq!(plan.queries()[1].cost.delta, DeltaAmount::ZERO);
        assert_eq!(plan.queries()[0].cost.delta.to_string(), "0.000001");
        // A δ nobody spends, a named δ on a pure query, or selection without δ: refused.
        assert!(plan_parameters(&request(&["median(a, 0, 1)"], cost("1", "1e-6"))).is_err());
        assert!(plan_parameters(&request(
            &["median(a, 0, 1, delta=1e-6)", "count()"],
            cost("1", "1e-6")
        ))
        .is_err());
        assert!(matches!(
            plan_parameters(&request(&["count() by b"], cost("1", "0"))),
            Err(DpError::InvalidSplit(_))
        ));
    }

    #[test]
    fn grouped_queries_with_a_unit_need_a_group_bound() {
        let mut r = request(&["count() by b"], cost("1", "1e-6"));
        r.contribution = ContributionBound::per_unit("pid", 3).unwrap();
        assert!(matches!(plan_parameters(&r), Err(DpError::InvalidContribution(_))));
        r.contribution = r.contribution.clone().with_max_groups_per_unit(2).unwrap();
        let plan = plan_parameters(&r).unwrap();
        assert!(plan.queries()[0].forecast(None).threshold.is_some());
    }

    #[test]
    fn explain_needs_no_data_and_reports_targets() {
        let r = request(
            &["count(error=10)", "mean(age, 0, 100, error=1)", "median(age, 0, 100)"],
            cost("1", "0"),
        );
        let e = explain(&r, None, Some(1000)).unwrap();
        assert_eq!(e.queries[1].note, None);
        assert_eq!(e.queries.len(), 3);
        let count = &e.queries[0];
        assert_eq!(count.forecast.mechanism, "discrete_laplace");
        assert!(count.epsilon_for_target.unwrap() < count.epsilon, "10 rows is easy at ε 1/3");
        assert!(e.queries[1].forecast.half_width95.unwrap() > 0.0);
        assert_eq!(e.queries[2].forecast.error_unit, "rank");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["queries"][0]["target_error"], 10.0);
        assert_eq!(json["total"]["epsilon"], 1.0);
        // Columns are checked by name and type only.
        let frame = crate::table::read_table_bytes(
            b"age,name\n1.5,x\nNaN,y\n".to_vec(),
            "t",
            ReadOptions::default(),
        )
        .unwrap();
        // (A NaN is not read.)
        let checked = explain(&r, Some(&frame), None);
        let checked = checked.unwrap();
        assert!(
            checked.queries[1].note.as_deref().unwrap().contains("--assume-rows"),
            "{checked:?}"
        );
        let bad = request(&["mean(name, 0, 1)"], cost("1", "0"));
        assert!(matches!(explain(&bad, Some(&frame), None), Err(DpError::NonNumericColumn { .. })));
    }

    #[test]
    fn releases_of_every_kind_have_the_documented_shape() {
        let mut csv = String::from("age,sex\n");
        for i in 0..400 {
            csv += &format!("{},{}\n", 20 + i % 50, if i % 3 == 0 { "F" } else { "M" });
        }
        let frame =
            crate::table::read_table_bytes(csv.into_bytes(), "t", ReadOptions::default()).unwrap();
        let table = BoundedTable::new(frame, ContributionBound::one_row_per_unit()).unwrap();
        let r = request(
            &[
                "var(age, 0, 100)",
                "std(age, 0, 100)",
                "median(age, 0, 100)",
                "histogram(sex, [F, M])",
                "mean(age, 0, 100) by sex",
            ],
            cost("20", "0.00001"),
        );
        let plan = plan(&r, &table).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(61);
        let releases = release_all(&plan, &table, &mut rng).unwrap();
        let json = serde_json::to_value(&releases).unwrap();
        let truth_var = {
            let ages: Vec<f64> = (0..400).map(|i| f64::from(20 + i % 50)).collect();
            let m = ages.iter().sum::<f64>() / 400.0;
            ages.iter().map(|a| (a - m).powi(2)).sum::<f64>() / 400.0
        };
        // Within two 95% half-widths (a miss has probability far below 5%).
        for (release, truth) in [(&releases[0], truth_var), (&releases[1], truth_var.sqrt())] {
            let ci = release.ci95.unwrap();
            assert!((release.value - truth).abs() <= ci.upper - ci.lower, "{release:?}");
        }
        assert!((releases[2].value - 44.0).abs() < 3.0, "{:?}", releases[2]);
        assert!(json[2]["ci95"].is_null() && json[2]["rank_error95"].is_number());
        assert!(json[3]["value"].is_null() && json[3]["ci95"].is_null());
        assert_eq!(json[3]["groups"][0]["key"], "F");
        assert_eq!(json[3]["groups"][2]["key"], serde_json::Value::Null, "the other bin");
        assert_eq!(json[4]["by"], "sex");
        assert!(json[4]["threshold"].is_number());
        let groups = json[4]["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        assert!(groups[0]["ci95"]["lower"].is_number());
        // The audit entry of a grouped release names no key.
        let event = release_event(&r, &releases[4]);
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("\"F\"") && text.contains("groups_released"), "{text}");
    }

    #[test]
    fn analyze_with_privacy_releases_count_and_means() {
        let csv = "age,bmi\n".to_owned()
            + &(0..500).map(|i| format!("{},{}", 20 + i % 50, 25)).collect::<Vec<_>>().join("\n");
        let frame =
            crate::table::read_table_bytes(csv.into_bytes(), "t", ReadOptions::default()).unwrap();
        let patients = PatientData::new(frame)
            .with_bounds("age", 0.0, 100.0)
            .unwrap()
            .with_bounds("bmi", 10.0, 60.0)
            .unwrap();
        let stats = analyze_with_privacy(&patients, 30.0).unwrap();
        assert_eq!(stats.means.len(), 2);
        assert!((stats.count.value - 500.0).abs() < 30.0, "{:?}", stats.count);
        assert!((stats.means[0].value - 44.5).abs() < 3.0, "{:?}", stats.means[0]);
        assert_eq!(stats.total.epsilon.to_string(), "30");
        assert!(analyze_with_privacy(&patients, f64::NAN).is_err());
        assert!(analyze_with_privacy(&patients, 0.0).is_err());
    }
}
