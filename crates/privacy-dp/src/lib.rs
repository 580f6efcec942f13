//! Differential privacy for patient tables: exact noise samplers, and private count, sum and
//! mean over polars data frames, each with its guarantee stated before it runs.
//!
//! What this crate provides:
//! - [`sampler`]: exact samplers for Bernoulli(exp(−γ)), the discrete Laplace and the discrete
//!   Gaussian (Canonne, Kamath, Steinke 2020), on rationals, with no floating point, 128-bit
//!   fast paths, batched random bits, and bounded-time discrete Laplace, discrete Gaussian and
//!   exp(−γ) coin.
//! - [`mechanism`]: the mechanism library — Laplace and Gaussian on power-of-two grids, the
//!   geometric mechanism, the exponential mechanism (with a base measure), report-noisy-max and
//!   top-k, sparse vector, randomized response — each with its guarantee, relation and proof.
//! - [`noise`]: integer noise calibrated exactly to an integer sensitivity and a fixed-point ε
//!   or ρ.
//! - [`stats`]: [`DpCount`], [`DpSum`] and [`DpMean`] as [`privacy_core::Measurement`]s.
//! - [`table`]: reading CSV and Parquet, per-patient contribution bounds, numeric columns.
//! - [`query`]: the query language of `medi-privacy analyze`.
//! - [`analysis`]: the whole call — plan, reserve, release, commit, record — and the one-line
//!   [`analyze_with_privacy`].
//!
//! Main design decision: **no floating point between the data and the noise.** Counts are
//! integers; sums are exact integer sums of values quantized to a power-of-two grid; noise is an
//! exact integer draw with a rational scale. This closes Mironov's 2012 attack on floating-point
//! Laplace noise and the float-summation sensitivity gaps of Casacuberta et al. 2022. The
//! trade-off is resolution: a sum's grid step is 2⁻⁴⁰ of its bound, and bounds are limited to
//! ±2⁶⁰. The exact samplers' running time depends on the value drawn; the bounded-time modes
//! (see [`sampler`]) do not, at a δ cost below 10⁻³⁰ per draw.
//!
//! The neighbouring relation of every guarantee is add/remove of one privacy unit (patient),
//! whose rows are truncated to at most `k` before aggregation.

pub mod analysis;
pub mod error;
pub mod grouped;
#[cfg(test)]
mod laws;
pub mod mechanism;
pub mod noise;
pub mod quantile;
pub mod query;
pub mod sampler;
pub mod stats;
pub mod table;
#[cfg(test)]
mod test_support;
pub mod tuning;
pub mod variance;

pub use analysis::{
    analyze_with_privacy, explain, group_bound, plan, plan_parameters, run, AnalysisOutcome,
    AnalysisPlan, AnalysisRequest, Explanation, MechanismChoice, PatientData, QueryExplanation,
    Release, Statistics,
};
pub use error::DpError;
pub use grouped::{
    truncate_groups, DpGrouped, GroupBound, GroupEstimate, GroupedEstimate, GroupedStatistic,
    Grouping, Truncation,
};
pub use mechanism::{ExponentialMechanism, MechanismError};
pub use noise::{gaussian_budget, IntegerNoise, NoiseBudget};
pub use quantile::{DpQuantile, QuantileEstimate};
pub use query::{parse_query, BoundedColumn, Query, QueryParseError, Statistic};
pub use stats::{Bounds, DpCount, DpMean, DpSum, Estimate, Interval};
pub use table::{
    read_table, read_table_bytes, BoundedTable, ContributionBound, NonFinitePolicy, ReadOptions,
};
pub use tuning::{epsilon_for_error, half_width_at, Forecast};
pub use variance::DpVariance;
