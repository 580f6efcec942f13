//! Secure sum, mean and variance across n sites.
//!
//! | protocol | reveals to every party | threat model | rounds |
//! |---|---|---|---|
//! | [`secure_sum`] | the element-wise total of the inputs (in the ring) | semi-honest, n − 1 of n | 2 |
//! | [`secure_total`] | the exact integer totals | semi-honest, n − 1 of n | 2 |
//! | [`secure_mean`] | the total and the count | semi-honest, n − 1 of n | 2 |
//! | [`secure_variance`] | the count N and N·Σx² − (Σx)², not Σx nor Σx² | semi-honest, n − 1 of n, trusted dealer | 4 |
//!
//! The sum is the classic protocol: each party splits its input into n additive shares, sends
//! one to each party, adds what it receives and broadcasts that partial sum. Any n − 1 parties
//! see n − 1 uniform shares of the last party's input plus the total, which they could compute
//! from the total and their own inputs anyway (the simulation argument of Goldreich 2004,
//! §7.3). Outputs are exact: [`secure_total`], [`secure_mean`] and [`secure_variance`] work in
//! the scalar field (order ≈ 2^252), check the magnitude of each party's own inputs, and refuse
//! to read back a result outside ±2^126 instead of wrapping. None of these outputs is
//! differentially private: publish them only where the total itself may be published, or add
//! noise (e.g. with `privacy-dp`) before release.

use curve25519_dalek::Scalar;

use privacy_core::SecureRng;

use super::arith::{open, share_inputs, sum_of_inputs};
use super::beaver::multiply;
use super::preprocessing::Preprocessing;
use super::{audited, RunContext, SEMI_HONEST_DISHONEST_MAJORITY, SEMI_HONEST_WITH_DEALER};
use crate::error::MpcError;
use crate::ring::Ring;
use crate::transport::Transport;

/// The largest magnitude of one party's local total accepted by [`secure_total`] (2^100): with
/// at most 65535 parties the total stays below 2^116, inside the readable range.
pub const MAX_LOCAL_TOTAL: u128 = 1 << 100;
/// The most values one party may contribute to [`secure_variance`] (2^40).
pub const MAX_VARIANCE_COUNT: usize = 1 << 40;

/// Element-wise total of every party's input vector, in the ring `R` (so it wraps modulo 2^64
/// for [`crate::Z64`]; bound the inputs or use [`secure_total`]). Every party must input a
/// vector of the same length. Audited as `secure-sum`.
pub fn secure_sum<R: Ring>(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    context: &RunContext<'_>,
    inputs: &[R],
) -> Result<Vec<R>, MpcError> {
    audited(context, "secure-sum", SEMI_HONEST_DISHONEST_MAJORITY, transport, |t| {
        sum_round(t, rng, inputs)
    })
}

fn sum_round<R: Ring>(
    t: &mut dyn Transport,
    rng: &mut SecureRng,
    inputs: &[R],
) -> Result<Vec<R>, MpcError> {
    let shares = share_inputs(t, rng, inputs)?;
    open(t, &sum_of_inputs(&shares))
}

fn exact_totals(
    t: &mut dyn Transport,
    rng: &mut SecureRng,
    local: &[i128],
) -> Result<Vec<i128>, MpcError> {
    if local.iter().any(|v| v.unsigned_abs() > MAX_LOCAL_TOTAL) {
        return Err(MpcError::OutOfRange {
            what: "a local total",
            reason: "magnitude above 2^100",
        });
    }
    let inputs: Vec<Scalar> = local.iter().map(|v| Scalar::from_i128(*v)).collect();
    sum_round(t, rng, &inputs)?
        .into_iter()
        .map(|s| {
            s.to_i128()
                .ok_or(MpcError::OutOfRange { what: "the total", reason: "magnitude above 2^126" })
        })
        .collect()
}

/// Exact integer totals over the scalar field: each party inputs its local totals (each at most
/// [`MAX_LOCAL_TOTAL`] in magnitude). Audited as `secure-sum`.
pub fn secure_total(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    context: &RunContext<'_>,
    local: &[i128],
) -> Result<Vec<i128>, MpcError> {
    audited(context, "secure-sum", SEMI_HONEST_DISHONEST_MAJORITY, transport, |t| {
        exact_totals(t, rng, local)
    })
}

/// The result of [`secure_mean`]: the total and the count, both revealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeanResult {
    /// Σ of all parties' values.
    pub total: i128,
    /// How many values were summed.
    pub count: u64,
}

impl MeanResult {
    /// total / count, or `None` when no value was contributed.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total as f64 / self.count as f64)
    }
}

/// Mean of values spread over the parties: each inputs its local total and count. Reveals the
/// total and the count. Audited as `secure-mean`.
pub fn secure_mean(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    context: &RunContext<'_>,
    local_total: i128,
    local_count: u64,
) -> Result<MeanResult, MpcError> {
    audited(context, "secure-mean", SEMI_HONEST_DISHONEST_MAJORITY, transport, |t| {
        let totals = exact_totals(t, rng, &[local_total, i128::from(local_count)])?;
        let count = u64::try_from(totals[1]).map_err(|_| MpcError::OutOfRange {
            what: "the count",
            reason: "negative or above 2^64",
        })?;
        Ok(MeanResult { total: totals[0], count })
    })
}

/// The result of [`secure_variance`]: the count N and D = N·Σx² − (Σx)² = N²·(population
/// variance), both revealed; the sum and the sum of squares are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarianceResult {
    /// N, the number of values.
    pub count: u64,
    /// N·Σx² − (Σx)², exact.
    pub scaled: i128,
}

impl VarianceResult {
    /// The sample variance D / (N (N − 1)), or `None` for fewer than two values.
    pub fn sample_variance(&self) -> Option<f64> {
        (self.count >= 2).then(|| {
            let n = self.count as f64;
            self.scaled as f64 / (n * (n - 1.0))
        })
    }

    /// The population variance D / N², or `None` for no value.
    pub fn population_variance(&self) -> Option<f64> {
        (self.count >= 1).then(|| self.scaled as f64 / (self.count as f64).powi(2))
    }
}

/// Variance of values spread over the parties, revealing only N and N·Σx² − (Σx)²: the
/// parties share (count, Σx, Σx²), open the count, compute [D] = N·[Σx²] − [Σx]·[Σx] with one
/// Beaver triple, and open D. Audited as `secure-variance`.
pub fn secure_variance(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    preprocessing: &mut dyn Preprocessing<Scalar>,
    context: &RunContext<'_>,
    values: &[i64],
) -> Result<VarianceResult, MpcError> {
    audited(context, "secure-variance", SEMI_HONEST_WITH_DEALER, transport, |t| {
        if values.len() > MAX_VARIANCE_COUNT {
            return Err(MpcError::OutOfRange {
                what: "a party's values",
                reason: "more than 2^40",
            });
        }
        let local = local_moments(values);
        let shares = share_inputs(t, rng, &local)?;
        let [count, sum, squares]: [Scalar; 3] = sum_of_inputs(&shares)
            .try_into()
            .map_err(|_| MpcError::Malformed { what: "variance inputs", reason: "width" })?;
        let n = open(t, &[count])?[0];
        let count = n
            .to_i128()
            .and_then(|c| u64::try_from(c).ok())
            .ok_or(MpcError::OutOfRange { what: "the count", reason: "negative or above 2^64" })?;
        let square_of_sum = multiply(t, preprocessing, &[sum], &[sum])?[0];
        let scaled =
            open(t, &[n * squares - square_of_sum])?[0].to_i128().ok_or(MpcError::OutOfRange {
                what: "the variance numerator",
                reason: "above 2^126",
            })?;
        Ok(VarianceResult { count, scaled })
    })
}

/// (count, Σx, Σx²) in the scalar field, exact: |x|² < 2^126 and at most 2^40 terms keep every
/// sum far below the field's order.
fn local_moments(values: &[i64]) -> [Scalar; 3] {
    let mut sum = Scalar::ZERO;
    let mut squares = Scalar::ZERO;
    for v in values {
        let x = Scalar::from_i128(i128::from(*v));
        sum += x;
        squares += x * x;
    }
    [Scalar::from(values.len() as u64), sum, squares]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::preprocessing::{DealRequest, TrustedDealer};
    use crate::protocol::testing::run_parties;
    use crate::ring::Z64;
    use privacy_core::NullAuditSink;

    const CONTEXT: RunContext<'static> = RunContext { audit: &NullAuditSink, principal: "t" };

    #[test]
    fn sum_and_mean_equal_the_plaintext() {
        let results = run_parties(4, 20, |party, t, rng| {
            let sum = secure_sum(t, rng, &CONTEXT, &[Z64(party as u64)]).unwrap();
            let total = secure_total(t, rng, &CONTEXT, &[-(party as i128) * (1 << 90)]).unwrap();
            let mean = secure_mean(t, rng, &CONTEXT, 10 * party as i128, 2).unwrap();
            (sum, total, mean)
        });
        for (sum, total, mean) in results {
            assert_eq!(sum, vec![Z64(6)]);
            assert_eq!(total, vec![-6 * (1 << 90)]);
            assert_eq!(mean, MeanResult { total: 60, count: 8 });
            assert_eq!(mean.mean(), Some(7.5));
        }
    }

    #[test]
    fn local_totals_beyond_the_bound_are_refused() {
        let results = run_parties(2, 21, |_, t, rng| {
            secure_total(t, rng, &CONTEXT, &[i128::MAX]).map(|_| ())
        });
        assert!(results.iter().all(|r| matches!(r, Err(MpcError::OutOfRange { .. }))));
    }

    #[test]
    fn variance_equals_the_plaintext() {
        let data: Vec<Vec<i64>> = vec![vec![1, 2, 3], vec![10, -4], vec![7, 7, 7, 100]];
        let all: Vec<i128> = data.iter().flatten().map(|v| i128::from(*v)).collect();
        let n = all.len() as i128;
        let s: i128 = all.iter().sum();
        let q: i128 = all.iter().map(|v| v * v).sum();
        let mut rng = SecureRng::seeded_for_tests_only(22);
        let request = DealRequest { triples: 1, ..DealRequest::default() };
        let stocks = TrustedDealer::new(3).unwrap().deal::<Scalar>(request, &mut rng);
        let stocks = std::sync::Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let results = run_parties(3, 23, move |party, t, rng| {
            let mut stock = stocks.lock().unwrap()[party].take().unwrap();
            secure_variance(t, rng, &mut stock, &CONTEXT, &data[party]).unwrap()
        });
        for r in results {
            assert_eq!(r, VarianceResult { count: n as u64, scaled: n * q - s * s });
        }
    }
}
