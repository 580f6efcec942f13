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
//!   value or a true statistic.
//!
//! Budget split: a call spends exactly its `(ε, δ)`. Queries that name their own share get it;
//! the rest is split evenly (exactly, in fixed-point units) across the others. Basic composition
//! (Dwork & Roth 2014, Theorem 3.16) makes the call `(Σεᵢ, Σδᵢ)`-DP.
//!
//! Mechanism: with `δ = 0` every query uses discrete Laplace noise (pure εᵢ-DP); with `δ > 0`
//! every query uses the discrete Gaussian at the largest ρᵢ whose Bun–Steinke conversion at δᵢ
//! costs at most εᵢ (`privacy_core::guarantee::epsilon_delta_to_rho`), so it is ρᵢ-zCDP and
//! hence (εᵢ, δᵢ)-DP (Bun & Steinke 2016, Proposition 1.3).

use std::path::Path;

use polars::prelude::DataFrame;
use privacy_core::guarantee::epsilon_delta_to_rho;
use privacy_core::{
    AuditEvent, AuditEventKind, AuditSink, BudgetLedger, BudgetStatus, ChargeRequest, CoreError,
    DeltaAmount, EpsilonAmount, GuaranteeRecord, Measurement, PrivacyCost, PrivacyGuarantee,
    SecureRng,
};
use serde::Serialize;

use crate::error::DpError;
use crate::noise::NoiseBudget;
use crate::query::{Query, Statistic};
use crate::stats::{Bounds, DpCount, DpMean, DpSum, Estimate, Interval};
use crate::table::{read_table, BoundedTable, ContributionBound, NonFinitePolicy, ReadOptions};

/// Which noise to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismChoice {
    /// Laplace when the call's δ is 0, Gaussian otherwise.
    #[default]
    Auto,
    /// Discrete Laplace (pure ε-DP); the call's δ must be 0.
    Laplace,
    /// Discrete Gaussian (ρ-zCDP, charged as (ε, δ)); the call's δ must be > 0.
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
    /// The privacy unit and the per-unit row bound.
    pub contribution: ContributionBound,
    /// What to do with NaN and infinite values.
    pub non_finite: NonFinitePolicy,
    /// Which noise to use.
    pub mechanism: MechanismChoice,
}

/// One statistic, ready to run (boxed: the measurements differ much in size).
#[derive(Clone, Debug)]
enum PlannedMeasurement {
    Count(Box<DpCount>),
    Sum(Box<DpSum>),
    Mean(Box<DpMean>),
}

impl PlannedMeasurement {
    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        match self {
            Self::Count(m) => m.release(table, rng),
            Self::Sum(m) => m.release(table, rng),
            Self::Mean(m) => m.release(table, rng),
        }
    }

    fn guarantee(&self) -> PrivacyGuarantee {
        match self {
            Self::Count(m) => m.guarantee(),
            Self::Sum(m) => m.guarantee(),
            Self::Mean(m) => m.guarantee(),
        }
    }
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
    /// `count`, `sum` or `mean`.
    pub statistic: &'static str,
    /// The column read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The differentially private value.
    pub value: f64,
    /// The ε share this query spent.
    pub epsilon: f64,
    /// The δ share this query spent.
    pub delta: f64,
    /// The noise mechanism.
    pub mechanism: &'static str,
    /// The noise scale in data units (see [`Estimate::noise_scale`]).
    pub noise_scale: f64,
    /// A 95% confidence interval for the true value.
    pub ci95: Interval,
    /// The summation grid step, for sums and means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<f64>,
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

/// Splits `budget` across `queries`: named shares first, the rest evenly.
pub fn split_budget(budget: PrivacyCost, queries: &[Query]) -> Result<Vec<PrivacyCost>, DpError> {
    if queries.is_empty() {
        return Err(DpError::InvalidSplit("no queries given".into()));
    }
    let eps: Vec<Option<u64>> = queries.iter().map(|q| q.epsilon.map(|e| e.units())).collect();
    let del: Vec<Option<u64>> = queries.iter().map(|q| q.delta.map(|d| d.units())).collect();
    let eps = split_units(budget.epsilon.units(), &eps, "epsilon", true)?;
    let del = split_units(budget.delta.units(), &del, "delta", false)?;
    Ok(eps
        .into_iter()
        .zip(del)
        .map(|(e, d)| PrivacyCost {
            epsilon: EpsilonAmount::from_units(e),
            delta: DeltaAmount::from_units(d),
        })
        .collect())
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

/// Costs every query and checks it against the data. Nothing is charged or drawn.
pub fn plan(request: &AnalysisRequest, table: &BoundedTable) -> Result<AnalysisPlan, DpError> {
    let gaussian =
        match (request.mechanism, request.budget.delta.is_zero()) {
            (MechanismChoice::Auto, zero) => !zero,
            (MechanismChoice::Laplace, true) => false,
            (MechanismChoice::Laplace, false) => return Err(DpError::InvalidMechanism(
                "laplace noise gives pure ε-DP and spends no δ; omit --delta or choose gaussian"
                    .into(),
            )),
            (MechanismChoice::Gaussian, false) => true,
            (MechanismChoice::Gaussian, true) => {
                return Err(DpError::InvalidMechanism("gaussian noise needs a δ > 0".into()))
            }
        };
    let shares = split_budget(request.budget, &request.queries)?;
    let k = request.contribution.max_rows_per_unit;
    let mut queries = Vec::with_capacity(shares.len());
    for (query, cost) in request.queries.iter().zip(shares) {
        let budget = if gaussian {
            if cost.delta.is_zero() {
                return Err(DpError::InvalidSplit(format!(
                    "query {query} has a δ share of 0, but gaussian noise needs δ > 0"
                )));
            }
            NoiseBudget::Zcdp(epsilon_delta_to_rho(cost.epsilon, cost.delta)?)
        } else {
            if !cost.delta.is_zero() {
                return Err(DpError::InvalidSplit(format!(
                    "query {query} has a δ share, but laplace noise spends none"
                )));
            }
            NoiseBudget::Pure(cost.epsilon)
        };
        let policy = request.non_finite;
        let measurement = match &query.statistic {
            Statistic::Count => PlannedMeasurement::Count(Box::new(DpCount::new(k, budget, cost)?)),
            Statistic::Sum { column, lower, upper } | Statistic::Mean { column, lower, upper } => {
                table.numeric_column(column, &query.to_string(), policy)?;
                let bounds = Bounds::new(column, *lower, *upper)?;
                if matches!(query.statistic, Statistic::Sum { .. }) {
                    let sum = DpSum::new(column, bounds, policy, k, budget, cost)?;
                    PlannedMeasurement::Sum(Box::new(sum))
                } else {
                    let mean = DpMean::new(column, bounds, policy, k, budget, cost)?;
                    PlannedMeasurement::Mean(Box::new(mean))
                }
            }
        };
        queries.push(PlannedQuery { query: query.clone(), cost, measurement });
    }
    Ok(AnalysisPlan { queries, total: request.budget })
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
            let estimate = planned.measurement.release(table, rng)?;
            Ok(Release {
                query: planned.query.to_string(),
                statistic: planned.query.statistic.name(),
                column: planned.query.statistic.column().map(str::to_owned),
                value: estimate.value,
                epsilon: planned.cost.epsilon.to_f64(),
                delta: planned.cost.delta.to_f64(),
                mechanism: estimate.mechanism,
                noise_scale: estimate.noise_scale,
                ci95: estimate.ci95,
                grid: estimate.grid,
                guarantee: planned.guarantee().into(),
            })
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
    AuditEvent::new(kind, &request.principal)
        .with_dataset(&request.dataset)
        .with_detail("privacy_unit", unit)
        .with_detail("max_rows_per_unit", request.contribution.max_rows_per_unit)
}

fn request_event(request: &AnalysisRequest) -> AuditEvent {
    event(AuditEventKind::Request, request)
        .with_detail("queries", query_texts(request))
        .with_detail("epsilon", request.budget.epsilon.to_string())
        .with_detail("delta", request.budget.delta.to_string())
}

fn release_event(request: &AnalysisRequest, release: &Release) -> AuditEvent {
    event(AuditEventKind::Release, request)
        .with_guarantee(release.guarantee.clone())
        .with_detail("query", release.query.as_str())
        .with_detail("mechanism", release.mechanism)
        .with_detail("epsilon", release.epsilon)
        .with_detail("delta", release.delta)
        .with_detail("noise_scale", release.noise_scale)
        .with_detail("released_value", release.value)
        .with_detail("ci95", vec![release.ci95.lower, release.ci95.upper])
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
    let mut queries = vec![Query { statistic: Statistic::Count, epsilon: None, delta: None }];
    queries.extend(patients.columns.iter().map(|(column, lower, upper)| Query {
        statistic: Statistic::Mean { column: column.clone(), lower: *lower, upper: *upper },
        epsilon: None,
        delta: None,
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
