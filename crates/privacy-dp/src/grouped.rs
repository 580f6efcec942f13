//! Grouped statistics: histograms over declared categories, and statistics per group with
//! unknown keys through private partition selection, under per-patient bounds on groups.
//!
//! # Contribution bounds per patient
//!
//! A patient (privacy unit) may touch at most `G` groups (`max_groups_per_unit`) and
//! contribute at most `K` rows to each (`max_rows_per_unit`, read as rows per group here).
//! [`truncate_groups`] enforces both before anything is aggregated: going through the rows in
//! file order, a row is kept if its (patient, group) pair already has fewer than `K` kept rows,
//! or if the pair is new and the patient has fewer than `G` groups; otherwise it is dropped.
//! So each patient keeps **the rows of its first `G` groups (in the order they first appear),
//! the first `K` rows of each** — a rule that depends on that patient's rows alone, so adding
//! or removing one patient changes at most `G` groups, each by at most `K` rows. Without a
//! unit column every row is its own patient (`G = K = 1`). For a histogram, values are mapped
//! to their bins (a declared category or the "other" bin) before truncation, so the bins are
//! the groups.
//!
//! # Known categories
//!
//! `histogram(col, [a, b, c])` counts the rows whose value, as text, is a listed category, and
//! puts every other row (missing values too) in one more bin, released with key `null`. The
//! bins are declared, so every bin is released, whatever the data: each bin's count gets noise
//! for a sensitivity of `K` at `ε/G` (or `ρ/G`), which composes over the at most `G` bins a
//! patient touches to ε (or ρ). The release is ε-DP (or ρ-zCDP) with no δ.
//!
//! # Unknown keys: partition selection
//!
//! When the groups are the values found in the data (`count() by col`, `histogram(col)`,
//! `mean(c, lo, hi) by col`, …), releasing a group's key reveals that some patient has it. Each
//! group's number of distinct patients `u_g` gets noise `X_g` calibrated as a count of
//! sensitivity 1 at a per-group share, and the group is released only if `u_g + X_g ≥ T`
//! (Korolova, Kenthapadi, Mishra, Ntoulas 2009; Wilson, Zhang, Lam, Desfontaines,
//! Simmons-Marengo, Gipson 2020, "Differentially private SQL with bounded user contribution";
//! Desfontaines, Voss, Gipson, Mandayam 2022, "Differentially private partition selection").
//! The threshold is `T = 1 + m` with the least `m` such that `G·P(X ≥ m) ≤ δ_s·e^(−ε)`:
//! `m = ⌈t·(ln G + ln(1/δ_s) + ε)⌉ + 1` for discrete Laplace noise of scale t (its tail is
//! `P(X ≥ m) = p^m/(1 + p) ≤ e^(−m/t)`), and `m = ⌈σ·√(2(ln G + ln(1/δ_s) + ε))⌉ + 1` for
//! the discrete Gaussian (σ²-subgaussian: Canonne, Kamath, Steinke 2020, so
//! `P(X ≥ m) ≤ exp(−m²/(2σ²))`); the `+ 1` absorbs the rounding of the `f64` logarithm.
//!
//! **Guarantee: (ε, δ)-DP** for add/remove of one patient, with `δ = δ_c + δ_s` (proof in
//! `docs/proofs/partition-selection.md`). The groups in both neighbours get the released
//! values of an (ε, δ_c)-DP mechanism (pure ε and δ_c = 0 with Laplace noise; zCDP converted
//! at δ_c with Gaussian noise); a group the added patient creates holds `u_g = 1` and is
//! released with probability at most `P(X ≥ m)`, so the event "some new group appears" has
//! probability at most `G·P(X ≥ m) ≤ δ_s·e^(−ε)`. In the direction of adding the patient that
//! event costs `δ_s·e^(−ε) ≤ δ_s`; in the direction of removing it, it costs
//! `e^ε·δ_s·e^(−ε) = δ_s`. The δ cost is explicit: a group-by with unknown keys needs a δ
//! share > 0 and is refused without one; with Gaussian noise the share is halved between δ_c
//! and δ_s.
//!
//! **Statistics per group.** `count() by` with `K = 1` releases the selection count itself
//! (rows and patients coincide). Every other statistic spends half the query's budget on
//! selection and half on the statistic, which is computed per released group exactly as the
//! scalar statistic is (the same exact integers, grids and intervals) at `ε/G` (or `ρ/G`) and
//! row bound `K`: each patient affects at most `G` groups, so the per-group releases compose
//! to the statistic's share. Medians and quantiles per group are pure ε-DP exponential
//! mechanisms, so their selection always uses Laplace noise. Released groups are listed in
//! the order of their keys (declared order for histograms), never in the data's order.
//!
//! Trade-off: small groups vanish (those below about `T` patients), and half the budget goes
//! to selection; in return no key is released that a single patient could have put there.

use num_bigint::{BigInt, BigUint};
use polars::prelude::*;
use privacy_core::guarantee::epsilon_delta_to_rho_tight;
use privacy_core::{
    CoreError, DeltaAmount, EpsilonAmount, Measurement, NeighbouringRelation, PrivacyCost,
    PrivacyGuarantee, RhoAmount, SecureRng, Sensitivity,
};
use serde::Serialize;

use crate::error::DpError;
use crate::noise::{ratio_to_f64, IntegerNoise, NoiseBudget};
use crate::quantile::QuantileEngine;
use crate::stats::{
    big_to_f64, scalar_sensitivity, Bounds, ClampedColumn, CountEngine, Estimate, Interval,
    MeanEngine, SumEngine,
};
use crate::table::{column, BoundedTable, NonFinitePolicy};
use crate::variance::{for_each_finite_value, Moments, VarianceEngine};

/// Marks a row that truncation drops.
pub(crate) const DROPPED: u32 = u32::MAX;

/// The per-patient bounds of grouped statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBound {
    /// The most groups one patient may touch (`G`), at least 1.
    pub max_groups_per_unit: u64,
    /// The most rows one patient may contribute to each group (`K`), at least 1.
    pub max_rows_per_group: u64,
}

impl GroupBound {
    /// Checked bounds: both at least 1.
    pub fn new(max_groups_per_unit: u64, max_rows_per_group: u64) -> Result<Self, DpError> {
        if max_groups_per_unit == 0 || max_rows_per_group == 0 {
            return Err(DpError::InvalidContribution(
                "max groups per unit and max rows per group must be at least 1".into(),
            ));
        }
        Ok(Self { max_groups_per_unit, max_rows_per_group })
    }
}

/// The result of [`truncate_groups`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// Per row: its group id, or [`u32::MAX`] when the row is dropped.
    pub group_of_row: Vec<u32>,
    /// Per group: the number of distinct units with a kept row in it.
    pub units_per_group: Vec<u64>,
}

/// Keeps each unit's rows of its first `G` groups (in order of first appearance), the first
/// `K` rows of each (module docs).
///
/// FIXME: "first in file order" can bias a statistic when a file is ordered by something that
/// matters (e.g. by visit date, keeping a patient's earliest wards); a keyed pseudo-random
/// choice per patient (a hash of the unit and a per-call secret) would be as sound and unbiased. `units[i]` and `groups[i]` are row `i`'s unit and group
/// (dense ids, groups below `n_groups`); without `units`, every row is its own unit.
pub fn truncate_groups(
    units: Option<&[u32]>,
    groups: &[u32],
    n_groups: usize,
    bound: GroupBound,
) -> Truncation {
    let mut units_per_group = vec![0u64; n_groups];
    let Some(units) = units else {
        groups.iter().for_each(|&g| units_per_group[g as usize] += 1);
        return Truncation { group_of_row: groups.to_vec(), units_per_group };
    };
    let mut rows: PlHashMap<(u32, u32), u64> = PlHashMap::default();
    let mut groups_of_unit: PlHashMap<u32, u64> = PlHashMap::default();
    let group_of_row = units
        .iter()
        .zip(groups)
        .map(|(&u, &g)| {
            if let Some(kept) = rows.get_mut(&(u, g)) {
                if *kept < bound.max_rows_per_group {
                    *kept += 1;
                    return g;
                }
                return DROPPED;
            }
            let touched = groups_of_unit.entry(u).or_insert(0);
            if *touched < bound.max_groups_per_unit {
                *touched += 1;
                rows.insert((u, g), 1);
                units_per_group[g as usize] += 1;
                g
            } else {
                DROPPED
            }
        })
        .collect();
    Truncation { group_of_row, units_per_group }
}

/// Dense ids of a column's values as text (missing values are the key `None`), in order of
/// first appearance; with `categories`, the listed values get ids `0..n` in list order and
/// every other value (and missing) the id `n`, key `None`.
pub(crate) fn group_ids(
    frame: &DataFrame,
    name: &str,
    categories: Option<&[String]>,
) -> Result<(Vec<Option<String>>, Vec<u32>), DpError> {
    let text = text_column(frame, name)?;
    let values = text.str().map_err(|e| DpError::InvalidContribution(e.to_string()))?;
    let too_many = || DpError::InvalidContribution(format!("column {name:?} has too many groups"));
    if let Some(categories) = categories {
        let index: PlHashMap<&str, u32> =
            categories.iter().enumerate().map(|(i, c)| (c.as_str(), i as u32)).collect();
        let other = u32::try_from(categories.len()).map_err(|_| too_many())?;
        let ids = values.iter().map(|v| v.and_then(|v| index.get(v).copied()).unwrap_or(other));
        let keys = categories.iter().cloned().map(Some).chain(std::iter::once(None)).collect();
        return Ok((keys, ids.collect()));
    }
    let mut index: PlHashMap<Option<&str>, u32> = PlHashMap::default();
    let mut keys = Vec::new();
    let mut ids = Vec::with_capacity(values.len());
    for value in values.iter() {
        let next = u32::try_from(keys.len()).ok().filter(|&n| n < DROPPED).ok_or_else(too_many)?;
        let id = *index.entry(value).or_insert_with(|| {
            keys.push(value.map(str::to_owned));
            next
        });
        ids.push(id);
    }
    Ok((keys, ids))
}

/// Dense ids of the unit column's values (which may not be missing).
pub(crate) fn unit_ids(frame: &DataFrame, name: &str) -> Result<Vec<u32>, DpError> {
    let text = text_column(frame, name)?;
    if text.null_count() > 0 {
        return Err(DpError::InvalidContribution(format!(
            "privacy unit column {name:?} has missing values; every row must name its unit"
        )));
    }
    let values = text.str().map_err(|e| DpError::InvalidContribution(e.to_string()))?;
    let mut index: PlHashMap<&str, u32> = PlHashMap::default();
    values
        .iter()
        .map(|v| {
            let next = u32::try_from(index.len()).map_err(|_| {
                DpError::InvalidContribution(format!("column {name:?} has too many units"))
            })?;
            Ok(*index.entry(v.unwrap_or_default()).or_insert(next))
        })
        .collect()
}

/// A column cast to text.
fn text_column(frame: &DataFrame, name: &str) -> Result<Column, DpError> {
    column(frame, name)?
        .cast(&DataType::String)
        .map_err(|e| DpError::InvalidContribution(format!("column {name:?}: {e}")))
}

/// A budget divided by `groups` (rounded down: the parts compose to at most the whole).
fn per_group(budget: NoiseBudget, groups: u64) -> Result<NoiseBudget, DpError> {
    let none_left =
        || DpError::InvalidSplit(format!("the share is too small to divide over {groups} groups"));
    let divided = match budget {
        NoiseBudget::Pure(e) => NoiseBudget::Pure(EpsilonAmount::from_units(e.units() / groups)),
        NoiseBudget::Zcdp(r) => NoiseBudget::Zcdp(RhoAmount::from_units(r.units() / groups)),
        NoiseBudget::Approximate { .. } => {
            return Err(DpError::InvalidMechanism("per-group noise uses zCDP, not (ε, δ)".into()))
        }
    };
    match divided {
        NoiseBudget::Pure(e) if e.is_zero() => Err(none_left()),
        NoiseBudget::Zcdp(r) if r.is_zero() => Err(none_left()),
        other => Ok(other),
    }
}

/// Noise on per-group counts and the threshold a group's noisy count must reach.
///
/// FIXME: the δ of new groups is bounded by a union bound over the `G` groups of a patient and
/// the selection always takes half of the query's ε; the exact `1 − (1 − p)^G` and the optimal
/// selection rules of Desfontaines et al. 2022 would release smaller groups.
#[derive(Clone, Debug)]
pub(crate) struct PartitionSelection {
    noise: IntegerNoise,
    threshold: u64,
}

impl PartitionSelection {
    /// Selection by `noise` on counts that a new group holds at most `new_count` of, for
    /// patients in at most `groups` groups, so that new groups appear with probability at
    /// most `delta·e^(−epsilon)` (module docs).
    pub(crate) fn new(
        noise: IntegerNoise,
        new_count: u64,
        groups: u64,
        delta: DeltaAmount,
        epsilon: EpsilonAmount,
    ) -> Result<Self, DpError> {
        if delta.is_zero() || !delta.is_valid_delta() {
            return Err(DpError::InvalidSplit(
                "a group-by with unknown keys needs a δ share in (0, 1) for partition selection"
                    .into(),
            ));
        }
        // ln G + ln(1/δ) + ε, each rounded up: a larger exponent only raises the threshold.
        let log_term =
            ((groups as f64).ln() - delta.to_f64().ln() + epsilon.to_f64()) * (1.0 + 1e-9) + 1e-12;
        let m = match &noise {
            IntegerNoise::Laplace(l) => ratio_to_f64(l.scale()) * log_term,
            IntegerNoise::Gaussian(g) => {
                ratio_to_f64(g.sigma_squared()).sqrt() * (2.0 * log_term).sqrt()
            }
        };
        let m = (m * (1.0 + 1e-9)).ceil() + 1.0;
        if !m.is_finite() || m >= 2f64.powi(62) {
            return Err(CoreError::invalid("delta", "too small for a selection threshold").into());
        }
        Ok(Self { noise, threshold: new_count + m as u64 })
    }

    /// The noisy count of a group, and whether it reaches the threshold.
    fn draw(&self, count: u64, rng: &mut SecureRng) -> Result<(BigInt, bool), DpError> {
        let noisy = BigInt::from(count) + self.noise.sample(rng)?;
        let kept = noisy >= BigInt::from(self.threshold);
        Ok((noisy, kept))
    }

    pub(crate) fn threshold(&self) -> u64 {
        self.threshold
    }

    pub(crate) fn noise(&self) -> &IntegerNoise {
        &self.noise
    }
}

/// The statistic computed in each group.
#[derive(Clone, Debug)]
pub(crate) enum GroupEngine {
    Count(CountEngine),
    Sum(SumEngine),
    Mean(MeanEngine),
    Variance(VarianceEngine),
    Quantile(QuantileEngine),
}

/// What one group releases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupEstimate {
    /// The group's key as text; `null` for missing values (group-by) or for the bin of every
    /// other value (histogram with declared categories).
    pub key: Option<String>,
    /// The group's differentially private value.
    pub value: f64,
    /// A 95% interval for the group's true value (none for quantiles).
    pub ci95: Option<Interval>,
    /// For quantiles: the 95% bound on the rank error (see [`crate::quantile`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_error95: Option<f64>,
}

/// What a grouped statistic releases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupedEstimate {
    /// The released groups, in key order (declared order for histograms).
    pub groups: Vec<GroupEstimate>,
    /// The noise mechanism of the per-group statistic.
    pub mechanism: &'static str,
    /// The per-group noise scale in data units (see [`Estimate::noise_scale`]).
    pub noise_scale: f64,
    /// The selection threshold on a group's noisy number of patients, for unknown keys.
    pub threshold: Option<u64>,
    /// The grid step of the per-group statistic, when it sums or ranks values.
    pub grid: Option<f64>,
}

/// Which statistic a grouped query computes in each group.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GroupedStatistic {
    /// Rows per group.
    Count,
    /// Sum of a column clamped to bounds.
    Sum(Bounds),
    /// Mean of a column clamped to bounds.
    Mean(Bounds),
    /// Variance (or, with `std`, standard deviation) of a column clamped to bounds.
    Variance {
        /// The bounds.
        bounds: Bounds,
        /// Release the square root.
        std: bool,
    },
    /// The q-quantile of a column clamped to bounds.
    Quantile {
        /// The bounds.
        bounds: Bounds,
        /// The quantile in [0, 1].
        q: f64,
    },
}

/// Where the groups come from.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    /// The column whose values are the groups.
    pub by: String,
    /// Declared categories (a histogram), or `None` for partition selection.
    pub categories: Option<Vec<String>>,
    /// The privacy-unit column, or `None` for one row per unit.
    pub unit: Option<String>,
    /// The per-patient bounds (`G = K = 1` without a unit column).
    pub bound: GroupBound,
}

/// A statistic per group, under per-patient group bounds (module docs).
#[derive(Clone, Debug)]
pub struct DpGrouped {
    grouping: Grouping,
    column: Option<String>,
    policy: NonFinitePolicy,
    cost: PrivacyCost,
    guarantee: PrivacyGuarantee,
    selection: Option<PartitionSelection>,
    /// `count() by` with `K = 1`: the selection count is the released count.
    reuse_selection: bool,
    engine: GroupEngine,
}

impl DpGrouped {
    /// A grouped statistic charged `cost`; `gaussian` selects discrete Gaussian noise (zCDP per
    /// group, converted with the query's δ), otherwise discrete Laplace. `column` is the
    /// column the statistic reads (none for counts).
    pub fn new(
        statistic: GroupedStatistic,
        column: Option<&str>,
        grouping: Grouping,
        policy: NonFinitePolicy,
        cost: PrivacyCost,
        gaussian: bool,
    ) -> Result<Self, DpError> {
        let (g, k) = (grouping.bound.max_groups_per_unit, grouping.bound.max_rows_per_group);
        let selects = grouping.categories.is_none();
        let quantile = matches!(statistic, GroupedStatistic::Quantile { .. });
        let gaussian = gaussian && !quantile;
        let reuse_selection = selects && k == 1 && statistic == GroupedStatistic::Count;
        if !selects && !gaussian && !cost.delta.is_zero() {
            return Err(DpError::InvalidSplit(
                "a histogram of declared categories with laplace noise spends no δ".into(),
            ));
        }
        if selects && cost.delta.is_zero() {
            return Err(DpError::InvalidSplit(
                "a group-by with unknown keys needs δ > 0 for private partition selection; \
                 give --delta, or declare the categories: histogram(col, [a, b, ...])"
                    .into(),
            ));
        }
        // δ for selection, and what is left to convert zCDP.
        let (delta_selection, delta_conversion) = match (selects, gaussian) {
            (true, true) => {
                let halves = cost.delta.split(2)?;
                (halves[1], halves[0])
            }
            (true, false) => (cost.delta, DeltaAmount::ZERO),
            (false, _) => (DeltaAmount::ZERO, cost.delta),
        };
        let common = if gaussian {
            NoiseBudget::Zcdp(epsilon_delta_to_rho_tight(cost.epsilon, delta_conversion)?)
        } else {
            NoiseBudget::Pure(cost.epsilon)
        };
        let parts = if selects && !reuse_selection { common.split(2)? } else { vec![common] };
        let statistic_budget = per_group(*parts.last().unwrap_or(&common), g)?;
        let engine = group_engine(&statistic, column, policy, k, statistic_budget)?;
        let selection = if selects {
            let (contribution, budget) =
                if reuse_selection { (k, statistic_budget) } else { (1, per_group(parts[0], g)?) };
            let noise = IntegerNoise::calibrate(&BigUint::from(contribution), budget)?;
            Some(PartitionSelection::new(noise, 1, g, delta_selection, cost.epsilon)?)
        } else {
            None
        };
        let guarantee = match (selects, gaussian) {
            (false, false) => PrivacyGuarantee::Pure { epsilon: cost.epsilon },
            (false, true) => common.guarantee(),
            (true, _) => PrivacyGuarantee::Approximate { epsilon: cost.epsilon, delta: cost.delta },
        };
        Ok(Self {
            grouping,
            column: column.map(str::to_owned),
            policy,
            cost,
            guarantee,
            selection,
            reuse_selection,
            engine,
        })
    }

    /// The selection, for unknown keys.
    pub(crate) fn selection(&self) -> Option<&PartitionSelection> {
        self.selection.as_ref()
    }

    /// Whether the selection count is the released count (`count() by` with `K = 1`).
    pub(crate) fn reuses_selection(&self) -> bool {
        self.reuse_selection
    }

    /// The per-group statistic.
    pub(crate) fn engine(&self) -> &GroupEngine {
        &self.engine
    }

    /// The grouping.
    pub fn grouping(&self) -> &Grouping {
        &self.grouping
    }
}

/// The per-group statistic's engine for a row bound `k` and a per-group budget.
fn group_engine(
    statistic: &GroupedStatistic,
    column: Option<&str>,
    policy: NonFinitePolicy,
    k: u64,
    budget: NoiseBudget,
) -> Result<GroupEngine, DpError> {
    let name = column.unwrap_or_default();
    Ok(match statistic {
        GroupedStatistic::Count => GroupEngine::Count(CountEngine::new(k, budget)?),
        GroupedStatistic::Sum(bounds) => {
            GroupEngine::Sum(SumEngine::new(ClampedColumn::new(name, *bounds, policy), k, budget)?)
        }
        GroupedStatistic::Mean(bounds) => GroupEngine::Mean(MeanEngine::new(
            ClampedColumn::new(name, *bounds, policy),
            k,
            budget,
        )?),
        GroupedStatistic::Variance { bounds, std } => {
            GroupEngine::Variance(VarianceEngine::new(*bounds, k, budget, *std)?)
        }
        GroupedStatistic::Quantile { bounds, q } => {
            let NoiseBudget::Pure(epsilon) = budget else {
                return Err(DpError::InvalidMechanism("quantiles are pure ε-DP".into()));
            };
            GroupEngine::Quantile(QuantileEngine::new(*bounds, *q, k, epsilon)?)
        }
    })
}

/// The exact per-group inputs of a statistic.
enum GroupInputs {
    Rows(Vec<u64>),
    Sums(Vec<i128>, Vec<u64>),
    Moments(Vec<Moments>),
    Indices(Vec<Vec<u64>>),
}

impl DpGrouped {
    fn inputs(
        &self,
        table: &BoundedTable,
        truncation: &Truncation,
        n_groups: usize,
    ) -> Result<GroupInputs, DpError> {
        let group_of = &truncation.group_of_row;
        if let GroupEngine::Count(_) = self.engine {
            let mut rows = vec![0u64; n_groups];
            group_of.iter().filter(|&&g| g != DROPPED).for_each(|&g| rows[g as usize] += 1);
            return Ok(GroupInputs::Rows(rows));
        }
        let name = self.column.as_deref().unwrap_or_default();
        let values = table.float_column(name, "grouped statistic")?;
        let kept = |row: usize| group_of[row] != DROPPED;
        let mut inputs = match &self.engine {
            GroupEngine::Variance(_) => GroupInputs::Moments(vec![Moments::default(); n_groups]),
            GroupEngine::Quantile(_) => GroupInputs::Indices(vec![Vec::new(); n_groups]),
            _ => GroupInputs::Sums(vec![0; n_groups], vec![0; n_groups]),
        };
        let clamped = match &self.engine {
            GroupEngine::Sum(e) => Some(e.values()),
            GroupEngine::Mean(e) => Some(e.values()),
            _ => None,
        };
        for_each_finite_value(&values, kept, name, self.policy, |row, x| {
            let g = group_of[row] as usize;
            match (&mut inputs, &self.engine, clamped) {
                (GroupInputs::Moments(m), GroupEngine::Variance(e), _) => {
                    m[g].add(e.grid().index(x))
                }
                (GroupInputs::Indices(v), GroupEngine::Quantile(e), _) => {
                    v[g].push(e.grid().index(x))
                }
                (GroupInputs::Sums(totals, counts), _, Some(c)) => {
                    totals[g] += i128::from(c.clamped_index(x));
                    counts[g] += 1;
                }
                _ => {}
            }
        })?;
        Ok(inputs)
    }

    /// The release of group `g`.
    fn group_estimate(
        &self,
        inputs: &GroupInputs,
        g: usize,
        rng: &mut SecureRng,
    ) -> Result<(f64, Option<Interval>, Option<f64>), DpError> {
        let scalar = |e: Estimate| (e.value, Some(e.ci95), None);
        Ok(match (&self.engine, inputs) {
            (GroupEngine::Count(e), GroupInputs::Rows(rows)) => scalar(e.estimate(rows[g], rng)?),
            (GroupEngine::Sum(e), GroupInputs::Sums(totals, _)) => {
                scalar(e.estimate(totals[g], rng)?)
            }
            (GroupEngine::Mean(e), GroupInputs::Sums(totals, counts)) => {
                scalar(e.estimate(totals[g], counts[g], rng)?)
            }
            (GroupEngine::Variance(e), GroupInputs::Moments(m)) => scalar(e.estimate(m[g], rng)?),
            (GroupEngine::Quantile(e), GroupInputs::Indices(v)) => {
                let q = e.estimate(v[g].clone(), rng)?;
                (q.value, None, Some(q.rank_error95))
            }
            _ => {
                return Err(DpError::InvalidMechanism(
                    "internal: inputs do not match the statistic".into(),
                ))
            }
        })
    }

    /// The mechanism name, noise scale (data units) and grid of the per-group statistic.
    pub(crate) fn noise_summary(&self) -> (&'static str, f64, Option<f64>) {
        match &self.engine {
            GroupEngine::Count(e) => (e.noise().mechanism(), e.noise().scale(), None),
            GroupEngine::Sum(e) => {
                (e.noise().mechanism(), e.noise().scale() * e.step(), Some(e.step()))
            }
            GroupEngine::Mean(e) => {
                (e.noises().0.mechanism(), e.noises().0.scale() * e.step(), Some(e.step()))
            }
            GroupEngine::Variance(e) => {
                let g = e.grid().step();
                (e.noises()[1].mechanism(), e.noises()[1].scale() * g * g, Some(g))
            }
            GroupEngine::Quantile(e) => ("exponential", 0.0, Some(e.grid().step())),
        }
    }
}

impl Measurement for DpGrouped {
    type Input = BoundedTable;
    type Output = GroupedEstimate;
    type Error = DpError;

    /// Add/remove one unit of at most `G·K` rows.
    fn relation(&self) -> NeighbouringRelation {
        let b = self.grouping.bound;
        let rows = b.max_groups_per_unit.saturating_mul(b.max_rows_per_group);
        NeighbouringRelation::AddRemoveUnit { max_rows_per_unit: rows }
    }

    /// The L1 sensitivity of the per-group counts, `G·K`, and their L2 sensitivity `√G·K`.
    fn sensitivity(&self) -> Sensitivity {
        let b = self.grouping.bound;
        let l1 = b.max_groups_per_unit as f64 * b.max_rows_per_group as f64;
        let l2 = (b.max_groups_per_unit as f64).sqrt() * b.max_rows_per_group as f64;
        Sensitivity::new(l1, l2.min(l1)).unwrap_or_else(|_| scalar_sensitivity(l1))
    }

    fn guarantee(&self) -> PrivacyGuarantee {
        self.guarantee
    }

    fn cost(&self) -> Result<PrivacyCost, CoreError> {
        Ok(self.cost)
    }

    fn release(
        &self,
        table: &BoundedTable,
        rng: &mut SecureRng,
    ) -> Result<GroupedEstimate, DpError> {
        let frame = table.frame();
        let (keys, ids) = group_ids(frame, &self.grouping.by, self.grouping.categories.as_deref())?;
        let units = self.grouping.unit.as_deref().map(|u| unit_ids(frame, u)).transpose()?;
        let truncation = truncate_groups(units.as_deref(), &ids, keys.len(), self.grouping.bound);
        let inputs = self.inputs(table, &truncation, keys.len())?;
        let mut groups = Vec::new();
        for (g, key) in keys.iter().enumerate() {
            let (value, ci95, rank_error95) = match &self.selection {
                None => self.group_estimate(&inputs, g, rng)?,
                Some(selection) => {
                    // Groups with no kept row are not in the data: nothing is drawn for them.
                    if truncation.units_per_group[g] == 0 {
                        continue;
                    }
                    let (noisy, kept) = selection.draw(truncation.units_per_group[g], rng)?;
                    if !kept {
                        continue;
                    }
                    if self.reuse_selection {
                        let value = big_to_f64(&noisy);
                        let w = selection.noise.half_width(0.05);
                        (
                            value,
                            Some(Interval { lower: (value - w).max(0.0), upper: value + w }),
                            None,
                        )
                    } else {
                        self.group_estimate(&inputs, g, rng)?
                    }
                }
            };
            groups.push(GroupEstimate { key: key.clone(), value, ci95, rank_error95 });
        }
        if self.selection.is_some() {
            // Key order, missing last: never the order in which groups appear in the file.
            groups.sort_by(|a, b| match (&a.key, &b.key) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        let (mechanism, noise_scale, grid) = self.noise_summary();
        Ok(GroupedEstimate {
            groups,
            mechanism,
            noise_scale,
            threshold: self.selection.as_ref().map(PartitionSelection::threshold),
            grid,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::table::ContributionBound;
    use crate::test_support::table;

    fn cost(e: &str, d: &str) -> PrivacyCost {
        PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal(e).unwrap(),
            delta: DeltaAmount::parse_decimal(d).unwrap(),
        }
    }

    fn grouping(
        by: &str,
        categories: Option<Vec<&str>>,
        unit: Option<&str>,
        g: u64,
        k: u64,
    ) -> Grouping {
        Grouping {
            by: by.into(),
            categories: categories.map(|c| c.into_iter().map(str::to_owned).collect()),
            unit: unit.map(str::to_owned),
            bound: GroupBound::new(g, k).unwrap(),
        }
    }

    proptest! {
        /// Adversarial units — many rows, many groups, interleaved — never exceed the bounds,
        /// and what a unit keeps depends on its own rows only.
        #[test]
        fn truncation_enforces_the_bounds_for_adversarial_units(
            rows in prop::collection::vec((0u32..6, 0u32..12), 0..300),
            g in 1u64..4,
            k in 1u64..4,
            removed in 0u32..6,
        ) {
            let (units, groups): (Vec<u32>, Vec<u32>) = rows.iter().copied().unzip();
            let bound = GroupBound::new(g, k).unwrap();
            let t = truncate_groups(Some(&units), &groups, 12, bound);
            let mut per_pair: HashMap<(u32, u32), u64> = HashMap::new();
            let mut per_unit: HashMap<u32, HashSet<u32>> = HashMap::new();
            for (i, &kept) in t.group_of_row.iter().enumerate() {
                if kept != DROPPED {
                    prop_assert_eq!(kept, groups[i]);
                    *per_pair.entry((units[i], kept)).or_default() += 1;
                    per_unit.entry(units[i]).or_default().insert(kept);
                }
            }
            prop_assert!(per_pair.values().all(|&n| n <= k));
            prop_assert!(per_unit.values().all(|s| s.len() as u64 <= g));
            for (grp, &n) in t.units_per_group.iter().enumerate() {
                let distinct = per_unit.values().filter(|s| s.contains(&(grp as u32))).count() as u64;
                prop_assert_eq!(n, distinct);
            }
            // Maximal: a dropped row's unit already had K rows in that group, or G other groups
            // when the row came.
            let mut seen_pairs: HashMap<(u32, u32), u64> = HashMap::new();
            let mut seen_groups: HashMap<u32, HashSet<u32>> = HashMap::new();
            for (i, &kept) in t.group_of_row.iter().enumerate() {
                let (u, grp) = (units[i], groups[i]);
                let pair = seen_pairs.get(&(u, grp)).copied().unwrap_or(0);
                let touched = seen_groups.get(&u).map_or(0, |s| s.len() as u64);
                let new_group = pair == 0;
                let allowed = if new_group { touched < g } else { pair < k };
                prop_assert_eq!(kept != DROPPED, allowed);
                if allowed {
                    *seen_pairs.entry((u, grp)).or_default() += 1;
                    seen_groups.entry(u).or_default().insert(grp);
                }
            }
            // Removing one unit leaves every other unit's kept rows as they were.
            let others: Vec<usize> = (0..units.len()).filter(|&i| units[i] != removed).collect();
            let (u2, g2): (Vec<u32>, Vec<u32>) = others.iter().map(|&i| (units[i], groups[i])).unzip();
            let t2 = truncate_groups(Some(&u2), &g2, 12, bound);
            for (j, &i) in others.iter().enumerate() {
                prop_assert_eq!(t2.group_of_row[j], t.group_of_row[i]);
            }
        }
    }

    #[test]
    fn truncation_keeps_the_first_groups_and_rows_of_each_unit() {
        // Unit 0 visits groups 5, 5, 5, 7, 8, 7; with G = 2 and K = 2 it keeps 5, 5, 7, 7.
        let units = [0, 0, 0, 0, 0, 0, 1];
        let groups = [5, 5, 5, 7, 8, 7, 8];
        let t = truncate_groups(Some(&units), &groups, 9, GroupBound::new(2, 2).unwrap());
        assert_eq!(t.group_of_row, vec![5, 5, DROPPED, 7, DROPPED, 7, 8]);
        assert_eq!(t.units_per_group[5..], [1, 0, 1, 1]);
        let one_per_row = truncate_groups(None, &groups, 9, GroupBound::new(1, 1).unwrap());
        assert_eq!(one_per_row.units_per_group[5..], [3, 0, 2, 2]);
        assert!(GroupBound::new(0, 1).is_err() && GroupBound::new(1, 0).is_err());
    }

    #[test]
    fn histogram_of_declared_categories_releases_every_bin_in_order() {
        let mut rng = SecureRng::seeded_for_tests_only(41);
        let mut csv = String::from("sex\n");
        csv += &"Male\n".repeat(600);
        csv += &"Female\n".repeat(300);
        csv += &"x\n".repeat(50);
        let t = table(&csv, ContributionBound::one_row_per_unit());
        let grouping = grouping("sex", Some(vec!["Female", "Male", "Other"]), None, 1, 1);
        let h = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            grouping,
            NonFinitePolicy::Refuse,
            cost("10", "0"),
            false,
        )
        .unwrap();
        assert_eq!(h.guarantee().kind(), "pure");
        let e = h.release(&t, &mut rng).unwrap();
        let keys: Vec<Option<&str>> = e.groups.iter().map(|g| g.key.as_deref()).collect();
        assert_eq!(keys, vec![Some("Female"), Some("Male"), Some("Other"), None]);
        for (group, truth) in e.groups.iter().zip([300.0, 600.0, 0.0, 50.0]) {
            assert!((group.value - truth).abs() < 5.0, "{group:?}");
        }
        assert_eq!(e.threshold, None);
        // A δ share with laplace noise is refused: declared bins spend none.
        let grouping = grouping_for("sex");
        assert!(DpGrouped::new(
            GroupedStatistic::Count,
            None,
            grouping,
            NonFinitePolicy::Refuse,
            cost("1", "1e-6"),
            false
        )
        .is_err());
    }

    fn grouping_for(by: &str) -> Grouping {
        grouping(by, Some(vec!["a"]), None, 1, 1)
    }

    #[test]
    fn partition_selection_keeps_large_groups_and_drops_a_single_patient() {
        let mut rng = SecureRng::seeded_for_tests_only(42);
        let mut csv = String::from("pid,dx,cost\n");
        for p in 0..400 {
            csv += &format!("p{p},flu,{}\n", p % 10);
            csv += &format!("p{p},flu,{}\n", p % 10);
            if p < 150 {
                csv += &format!("p{p},asthma,5\n");
            }
        }
        csv += "lonely,rare-disease,9\n";
        let t = table(&csv, ContributionBound::per_unit("pid", 2).unwrap());
        let by = || grouping("dx", None, Some("pid"), 2, 2);
        let count = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            by(),
            NonFinitePolicy::Refuse,
            cost("2", "1e-6"),
            false,
        )
        .unwrap();
        assert_eq!(count.guarantee().kind(), "approximate");
        let threshold = count.selection().unwrap().threshold();
        for _ in 0..20 {
            let e = count.release(&t, &mut rng).unwrap();
            let keys: Vec<&str> = e.groups.iter().map(|g| g.key.as_deref().unwrap()).collect();
            assert_eq!(keys, vec!["asthma", "flu"], "sorted, and the single patient never shows");
            assert!((e.groups[1].value - 800.0).abs() < 30.0, "{e:?}");
            assert_eq!(e.threshold, Some(threshold));
        }
        let mean = DpGrouped::new(
            GroupedStatistic::Mean(Bounds::new("cost", 0.0, 10.0).unwrap()),
            Some("cost"),
            by(),
            NonFinitePolicy::Refuse,
            cost("4", "1e-6"),
            true,
        )
        .unwrap();
        let e = mean.release(&t, &mut rng).unwrap();
        assert_eq!(e.mechanism, "discrete_gaussian");
        let flu = e.groups.iter().find(|g| g.key.as_deref() == Some("flu")).unwrap();
        assert!((flu.value - 4.5).abs() < 0.5, "{flu:?}");
        let ci = flu.ci95.unwrap();
        assert!(ci.lower <= 4.5 && 4.5 <= ci.upper, "{flu:?}");
    }

    #[test]
    fn selection_thresholds_follow_the_tail_bounds() {
        let laplace = IntegerNoise::calibrate(
            &BigUint::from(1u32),
            NoiseBudget::Pure(EpsilonAmount::parse_decimal("1").unwrap()),
        )
        .unwrap();
        let delta = DeltaAmount::parse_decimal("1e-6").unwrap();
        let epsilon = EpsilonAmount::parse_decimal("1").unwrap();
        // m = ⌈1·(ln 3 + ln 10⁶ + 1)⌉ + 1 = ⌈15.9⌉ + 1 = 17, T = 18.
        let s = PartitionSelection::new(laplace.clone(), 1, 3, delta, epsilon).unwrap();
        assert_eq!(s.threshold(), 18);
        // Its tail: 3·P(X ≥ 17) = 3·p¹⁷/(1 + p) ≤ δ·e^(−ε).
        let p = (-1.0f64).exp();
        assert!(3.0 * p.powi(17) / (1.0 + p) <= 1e-6 * (-1.0f64).exp());
        assert!(PartitionSelection::new(laplace, 1, 3, DeltaAmount::ZERO, epsilon).is_err());
        let rho = NoiseBudget::Zcdp(RhoAmount::parse_decimal("0.5").unwrap());
        let gauss = IntegerNoise::calibrate(&BigUint::from(1u32), rho).unwrap();
        let s = PartitionSelection::new(gauss, 1, 1, delta, epsilon).unwrap();
        // σ = 1: m = ⌈√(2·(13.8155 + 1))⌉ + 1 = ⌈5.443⌉ + 1 = 7.
        assert_eq!(s.threshold(), 8);
    }

    #[test]
    fn unknown_keys_need_delta_and_budgets_divide_over_groups() {
        let by = grouping("dx", None, None, 1, 1);
        let err = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            by.clone(),
            NonFinitePolicy::Refuse,
            cost("1", "0"),
            false,
        );
        assert!(matches!(err, Err(DpError::InvalidSplit(_))));
        let many = grouping("dx", Some(vec!["a"]), Some("pid"), 3, 1);
        let h = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            many,
            NonFinitePolicy::Refuse,
            cost("3", "0"),
            false,
        )
        .unwrap();
        // ε/G = 1 per bin at sensitivity K = 1: Laplace scale 1.
        let GroupEngine::Count(e) = h.engine() else { panic!("count") };
        assert!((e.noise().scale() - 1.0).abs() < 1e-12);
        assert_eq!(h.sensitivity().l1(), 3.0);
    }
}
