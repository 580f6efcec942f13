//! Empirical privacy audits: every mechanism is run many times on two neighbouring inputs,
//! and a lower confidence bound on its privacy loss is compared with the claimed ε.
//!
//! For each output bucket `b` with `p_b = P(M(x) ∈ b)` and `p′_b = P(M(x′) ∈ b)`, a
//! mechanism that is ε-DP has `ln(p_b/p′_b) ≤ ε`. From `N` draws per side, the audit takes a
//! lower confidence bound for `p_b` and an upper one for `p′_b` (Wilson score intervals at 5
//! standard errors, each violated with probability below about 3·10⁻⁷, and valid for empty
//! buckets, whose upper bound is about `25/N`) and reports
//! `ε̂ = max_b ln(p_b,low/p′_b,high)` over buckets and both directions. A correct mechanism
//! fails (`ε̂ > ε`) only if one of its bounds is violated: with at most 2·120 bounds per audit,
//! a false-failure rate below 10⁻⁴ per audit, and the seeds are fixed, so the outcome is
//! reproducible. For (ε, δ) mechanisms, the audit bounds `P(S|x) − e^ε·P(S|x′)` from below
//! over tail sets `S`; for ρ-zCDP, it bounds the Rényi divergence of order 2 between the
//! bucketed output laws from below and compares it with `2ρ` (bucketing is post-processing,
//! so it can only lower the divergence).
//!
//! Each audit is shown to have power by a deliberately broken mechanism kept here: the same
//! mechanism with too little noise (half, or a wrongly declared sensitivity), or a known
//! published bug (sparse vector whose query noise ignores the cutoff, top-k that spends ε per
//! round), or a floating-point Laplace sampler of the textbook kind, whose outputs an observer
//! can test for membership in the set of values its noise can take (Mironov 2012). The audit
//! must catch each.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::collections::BTreeMap;

use num_bigint::BigInt;
use num_traits::ToPrimitive;
use privacy_core::SecureRng;
use privacy_dp::mechanism::{
    AboveThreshold, ExponentialMechanism, GaussianCalibration, GaussianMechanism,
    GeometricMechanism, LaplaceMechanism, RandomizedResponse, ReportNoisyMax,
};
use privacy_dp::sampler::DiscreteLaplace;
use rand_core::RngCore;

const Z: f64 = 5.0;

/// Output buckets of `n` runs of a mechanism.
fn histogram(n: usize, mut run: impl FnMut() -> i64) -> BTreeMap<i64, u64> {
    let mut h = BTreeMap::new();
    for _ in 0..n {
        *h.entry(run()).or_insert(0) += 1;
    }
    h
}

/// The Wilson score interval for a binomial proportion at `Z` standard errors.
fn bounds(count: u64, n: usize) -> (f64, f64) {
    let (p, n) = (count as f64 / n as f64, n as f64);
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    (centre - half, centre + half)
}

/// The lower confidence bound `ε̂` on the privacy loss between two output histograms.
fn epsilon_lower_bound(a: &BTreeMap<i64, u64>, b: &BTreeMap<i64, u64>, n: usize) -> f64 {
    let keys: Vec<i64> = a.keys().chain(b.keys()).copied().collect();
    let mut worst = 0.0f64;
    for k in keys {
        let (ca, cb) = (a.get(&k).copied().unwrap_or(0), b.get(&k).copied().unwrap_or(0));
        for (x, y) in [(ca, cb), (cb, ca)] {
            let (x_low, _) = bounds(x, n);
            let (_, y_high) = bounds(y, n);
            if x_low > 0.0 && y_high > 0.0 {
                worst = worst.max((x_low / y_high).ln());
            }
        }
    }
    worst
}

/// Runs an audit of `claim` on two samplers of neighbouring inputs.
fn audit(n: usize, claim: f64, x: impl FnMut() -> i64, x_prime: impl FnMut() -> i64) -> f64 {
    let (a, b) = (histogram(n, x), histogram(n, x_prime));
    let estimate = epsilon_lower_bound(&a, &b, n);
    eprintln!("claimed ε = {claim}, audited lower bound {estimate:.3}");
    estimate
}

fn clamp_bucket(v: f64) -> i64 {
    v.floor().clamp(-12.0, 12.0) as i64
}

#[test]
fn geometric_mechanism_keeps_its_epsilon_and_a_broken_one_is_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(1000);
    let n = 200_000;
    let run = |m: &GeometricMechanism, v: i64, rng: &mut SecureRng| {
        m.release(&BigInt::from(v), rng).unwrap().to_i64().unwrap().clamp(-12, 12)
    };
    let good = GeometricMechanism::new(1.0, 1).unwrap();
    let (g1, g2) = (good.clone(), good);
    let mut r2 = rng.fork();
    let e = audit(n, 1.0, || run(&g1, 0, &mut rng), || run(&g2, 1, &mut r2));
    assert!(e <= 1.0, "audited {e} > 1");
    assert!(e > 0.8, "the audit should come close to the true ε = 1, got {e}");
    // Broken: calibrated for ε = 2 but claiming ε = 1.
    let broken = GeometricMechanism::new(2.0, 1).unwrap();
    let (b1, b2) = (broken.clone(), broken);
    let mut r3 = rng.fork();
    let e = audit(n, 1.0, || run(&b1, 0, &mut rng), || run(&b2, 1, &mut r3));
    assert!(e > 1.0, "broken mechanism not caught: {e}");
}

#[test]
fn laplace_mechanism_on_the_grid_keeps_its_epsilon() {
    let mut rng = SecureRng::seeded_for_tests_only(1001);
    let n = 200_000;
    for (mechanism_epsilon, must_pass) in [(1.0, true), (2.0, false)] {
        let m = LaplaceMechanism::new(mechanism_epsilon, 1.0).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            1.0,
            || clamp_bucket(m.release(0.0, &mut rng).unwrap()),
            || clamp_bucket(m.release(1.0, &mut r2).unwrap()),
        );
        assert_eq!(e <= 1.0, must_pass, "ε̂ = {e} for a mechanism at ε = {mechanism_epsilon}");
    }
    let bounded = LaplaceMechanism::new(1.0, 1.0).unwrap().bounded_time().unwrap();
    let mut r2 = rng.fork();
    let e = audit(
        n,
        1.0,
        || clamp_bucket(bounded.release(0.0, &mut rng).unwrap()),
        || clamp_bucket(bounded.release(1.0, &mut r2).unwrap()),
    );
    assert!(e <= 1.0, "bounded-time Laplace audited at {e}");
}

#[test]
fn exponential_mechanism_and_report_noisy_max_keep_their_epsilon() {
    let mut rng = SecureRng::seeded_for_tests_only(1002);
    let n = 100_000;
    // Neighbouring utilities: every score moves by at most Δ = 1, in both directions.
    let (u, u_prime) = ([0.0, 1.0, 2.0, 1.0], [1.0, 0.0, 1.0, 2.0]);
    for (mechanism_epsilon, must_pass) in [(1.0, true), (2.5, false)] {
        let em = ExponentialMechanism::new(mechanism_epsilon, 1.0).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            1.0,
            || em.select(&u, &mut rng).unwrap() as i64,
            || em.select(&u_prime, &mut r2).unwrap() as i64,
        );
        assert_eq!(e <= 1.0, must_pass, "exponential mechanism ε̂ = {e}");
        let rnm = ReportNoisyMax::new(mechanism_epsilon, 1.0).unwrap();
        let mut r3 = rng.fork();
        let e = audit(
            n,
            1.0,
            || rnm.select(&u, &mut rng).unwrap() as i64,
            || rnm.select(&u_prime, &mut r3).unwrap() as i64,
        );
        assert_eq!(e <= 1.0, must_pass, "report-noisy-max ε̂ = {e}");
    }
}

#[test]
fn randomized_response_and_sparse_vector_keep_their_epsilon() {
    let mut rng = SecureRng::seeded_for_tests_only(1003);
    let n = 100_000;
    for (mechanism_epsilon, must_pass) in [(1.0, true), (1.6, false)] {
        let rr = RandomizedResponse::k_ary(mechanism_epsilon, 3).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            1.0,
            || rr.respond(0, &mut rng).unwrap() as i64,
            || rr.respond(1, &mut r2).unwrap() as i64,
        );
        assert_eq!(e <= 1.0, must_pass, "randomized response ε̂ = {e}");
    }
    // Sparse vector: the output is the index of the first ⊤; neighbours shift every answer by
    // at most 1 (here: all up by one, the direction that moves the ⊤ earliest).
    let answers = [0i64, 1, 2, 3, 4, 5, 6, 7];
    let first_above = |svt: &AboveThreshold, shift: i64, rng: &mut SecureRng| {
        let mut session = svt.start(rng).unwrap();
        for (i, a) in answers.iter().enumerate() {
            if session.test(a + shift, rng).unwrap() {
                return i as i64;
            }
        }
        answers.len() as i64
    };
    for (mechanism_epsilon, must_pass) in [(1.0, true), (4.0, false)] {
        let svt = AboveThreshold::new(mechanism_epsilon, 1, 4, 1, false).unwrap();
        let mut r2 = rng.fork();
        let e = audit(n, 1.0, || first_above(&svt, 0, &mut rng), || first_above(&svt, 1, &mut r2));
        assert_eq!(e <= 1.0, must_pass, "sparse vector ε̂ = {e}");
    }
}

/// A lower confidence bound on `max_c P(Y ≥ c | x) − e^ε·P(Y ≥ c | x′)` over thresholds `c`,
/// for releases of `m` at `x = 1` and `x′ = 0`, bucketed by a quarter unit.
fn audit_delta(m: &GaussianMechanism, epsilon: f64, n: usize, rng: &mut SecureRng) -> f64 {
    let mut r2 = rng.fork();
    let bucket = |v: f64| (v * 4.0).floor().clamp(-40.0, 40.0) as i64;
    let a = histogram(n, || bucket(m.release(1.0, rng).unwrap()));
    let b = histogram(n, || bucket(m.release(0.0, &mut r2).unwrap()));
    let tail = |h: &BTreeMap<i64, u64>, c: i64| h.range(c..).map(|(_, v)| v).sum::<u64>();
    let delta = (-40..=40)
        .map(|c| bounds(tail(&a, c), n).0 - epsilon.exp() * bounds(tail(&b, c), n).1)
        .fold(f64::MIN, f64::max);
    eprintln!("at ε = {epsilon}, audited lower bound on δ {delta:.6}");
    delta
}

#[test]
fn gaussian_mechanism_keeps_its_delta() {
    // (ε, δ) = (1, 0.05): large enough for 2·10⁵ draws to see. The audit bounds
    // P(Y ≥ c | x) − e^ε·P(Y ≥ c | x′) from below over thresholds c.
    let mut rng = SecureRng::seeded_for_tests_only(1004);
    let n = 200_000;
    let (epsilon, delta) = (1.0f64, 0.05);
    let good =
        GaussianMechanism::new(1.0, GaussianCalibration::Analytic { epsilon, delta }).unwrap();
    let d = audit_delta(&good, epsilon, n, &mut rng);
    assert!(d <= delta, "audited δ {d} > {delta}");
    let bounded = good.clone().bounded_time().unwrap();
    let d = audit_delta(&bounded, epsilon, n, &mut rng);
    assert!(d <= delta, "bounded-time Gaussian: audited δ {d} > {delta}");
    // Broken: a quarter of the variance, still claiming (1, 0.05).
    let weak = GaussianCalibration::Analytic { epsilon, delta: 0.4 };
    let broken = GaussianMechanism::new(1.0, weak).unwrap();
    assert!(broken.sigma() < good.sigma() * 0.7);
    let d = audit_delta(&broken, epsilon, n, &mut rng);
    assert!(d > delta, "broken Gaussian not caught: audited δ {d}");
}

#[test]
fn classic_gaussian_keeps_its_delta_and_a_wrong_sensitivity_is_caught() {
    // The classic formula at (0.9, 0.05), inside its range ε < 1.
    let mut rng = SecureRng::seeded_for_tests_only(1006);
    let n = 200_000;
    let (epsilon, delta) = (0.9f64, 0.05);
    let classic = GaussianCalibration::Classic { epsilon, delta };
    let good = GaussianMechanism::new(1.0, classic).unwrap();
    let d = audit_delta(&good, epsilon, n, &mut rng);
    assert!(d <= delta, "classic Gaussian: audited δ {d} > {delta}");
    // Broken: calibrated for a sensitivity of 0.25 and used on neighbours 1 apart.
    let broken = GaussianMechanism::new(0.25, classic).unwrap();
    let d = audit_delta(&broken, epsilon, n, &mut rng);
    assert!(d > delta, "classic Gaussian with a wrong sensitivity not caught: δ {d}");
}

/// The δ at which ρ-zCDP implies (ε, δ)-DP, by Canonne, Kamath and Steinke (2020,
/// Corollary 13): `δ = exp((α − 1)(αρ − ε))/(α − 1) · (1 − 1/α)^α` for every `α > 1`; the
/// minimum over a grid of α is still a valid δ.
fn zcdp_delta(rho: f64, epsilon: f64) -> f64 {
    (1..2000)
        .map(|i| 1.0 + f64::from(i) * 0.01)
        .map(|a| ((a - 1.0) * (a * rho - epsilon)).exp() / (a - 1.0) * (1.0 - 1.0 / a).powf(a))
        .fold(1.0, f64::min)
}

#[test]
fn zcdp_gaussian_keeps_its_rho_and_a_broken_one_is_caught() {
    // ρ-zCDP implies (ε, δ(ε))-DP for every ε (CKS 2020, Corollary 13); the audit checks the
    // claim at ε = 0.5 and 0.9, where δ(ε) ≈ 0.10 and 0.027 are large enough to see.
    let mut rng = SecureRng::seeded_for_tests_only(1007);
    let n = 200_000;
    let rho = 0.125;
    let good = GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho }).unwrap();
    // Broken: twice the claimed ρ (σ = √2 instead of 2), still claiming ρ = 1/8.
    let broken = GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho: 2.0 * rho }).unwrap();
    let mut caught = false;
    for epsilon in [0.5, 0.9] {
        let claim = zcdp_delta(rho, epsilon);
        let d = audit_delta(&good, epsilon, n, &mut rng);
        eprintln!("ρ = {rho}: at ε = {epsilon}, δ(ε) = {claim:.4}, audited {d:.4}");
        assert!(d <= claim, "zCDP Gaussian: audited δ {d} > {claim} at ε = {epsilon}");
        let d = audit_delta(&broken, epsilon, n, &mut rng);
        eprintln!("broken: audited {d:.4}");
        caught |= d > claim;
    }
    assert!(caught, "the zCDP Gaussian with twice the claimed ρ was not caught");
}

#[test]
fn binary_randomized_response_keeps_its_epsilon() {
    let mut rng = SecureRng::seeded_for_tests_only(1008);
    let n = 100_000;
    let run = |rr: &RandomizedResponse, truth: bool, rng: &mut SecureRng| {
        i64::from(rr.respond_bool(truth, rng).unwrap())
    };
    for (mechanism_epsilon, bounded, must_pass) in
        [(1.0, false, true), (1.0, true, true), (1.3, false, false)]
    {
        let mut rr = RandomizedResponse::binary(mechanism_epsilon).unwrap();
        if bounded {
            rr = rr.bounded_time().unwrap();
        }
        let mut r2 = rng.fork();
        let e = audit(n, 1.0, || run(&rr, false, &mut rng), || run(&rr, true, &mut r2));
        assert_eq!(e <= 1.0, must_pass, "binary randomized response ε̂ = {e} ({bounded})");
        if must_pass {
            assert!(e > 0.9, "a tight audit of binary randomized response gives ε̂ ≈ ε: {e}");
        }
    }
}

#[test]
fn top_k_keeps_its_epsilon_and_spending_epsilon_per_round_is_caught() {
    // Top-2 of four candidates; the output is the ordered pair. Neighbours: every score moves
    // by at most Δ = 1.
    let mut rng = SecureRng::seeded_for_tests_only(1009);
    let n = 100_000;
    let (u, u_prime) = ([2.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]);
    let pair = |top: Vec<usize>| (top[0] * 4 + top[1]) as i64;
    // Correct: ε = 1 in total, ε/2 per round. Broken: ε = 1 per round (the peeling loop not
    // splitting its budget), still claiming ε = 1 in total.
    for (mechanism_epsilon, must_pass) in [(1.0, true), (2.0, false)] {
        let rnm = ReportNoisyMax::new(mechanism_epsilon, 1.0).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            1.0,
            || pair(rnm.top_k(&u, 2, &mut rng).unwrap()),
            || pair(rnm.top_k(&u_prime, 2, &mut r2).unwrap()),
        );
        assert_eq!(e <= 1.0, must_pass, "top-k ε̂ = {e} at ε = {mechanism_epsilon} per top-k");
    }
}

/// Sparse vector with a cutoff `c` that does **not** scale its query noise with `c` (query
/// noise `Lap(4Δ/ε)` instead of `Lap(4cΔ/ε)`): one of the published variants that are not
/// ε-DP (Lyu, Su, Li 2017, §3). Kept to show that the audit catches it.
struct SparseVectorWithoutCutoffScaling {
    threshold: i64,
    cutoff: usize,
    threshold_noise: DiscreteLaplace,
    query_noise: DiscreteLaplace,
}

impl SparseVectorWithoutCutoffScaling {
    fn new(epsilon: f64, threshold: i64, cutoff: usize) -> Self {
        let scale = |s: f64| {
            let r = num_rational::Ratio::<num_bigint::BigInt>::from_float(s / epsilon).unwrap();
            let (numer, denom) = (r.numer().to_biguint().unwrap(), r.denom().to_biguint().unwrap());
            DiscreteLaplace::new(num_rational::Ratio::new(numer, denom)).unwrap()
        };
        Self { threshold, cutoff, threshold_noise: scale(2.0), query_noise: scale(4.0) }
    }

    fn run(&self, answers: &[i64], rng: &mut SecureRng) -> Vec<usize> {
        let noisy_threshold =
            self.threshold as f64 + to_f64(&self.threshold_noise.sample(rng).unwrap());
        let mut above = vec![];
        for (i, a) in answers.iter().enumerate() {
            let noisy = *a as f64 + to_f64(&self.query_noise.sample(rng).unwrap());
            if noisy >= noisy_threshold {
                above.push(i);
                if above.len() == self.cutoff {
                    break;
                }
            }
        }
        above
    }
}

fn to_f64(x: &BigInt) -> f64 {
    x.to_f64().unwrap()
}

#[test]
fn sparse_vector_with_a_cutoff_above_one_keeps_its_epsilon() {
    // c = 3 at ε = 3, threshold 4. Neighbours: eight answers at the threshold, against the
    // same with three of them one above and five one below (each moves by Δ = 1). The output
    // is the list of the first three ⊤ indices. The neighbours were chosen by computing both
    // output laws exactly (summing over the threshold noise) and maximising the audit's
    // expected lower bound at 4·10⁵ runs per side: about 3.8 for the variant whose query noise
    // ignores c (on the output (0, 3, 7)), against about 1.4 for the correct mechanism.
    let mut rng = SecureRng::seeded_for_tests_only(1010);
    let n = 400_000;
    let (epsilon, cutoff, threshold) = (3.0, 3, 4);
    let x = [4i64; 8];
    let x_prime = [5i64, 3, 3, 5, 3, 3, 3, 5];
    let encode = |above: &[usize]| {
        (0..cutoff).fold(0i64, |key, i| key * 9 + above.get(i).map_or(8, |&j| j as i64))
    };
    let correct = |svt: &AboveThreshold, answers: &[i64], rng: &mut SecureRng| {
        let mut session = svt.start(rng).unwrap();
        let mut above = vec![];
        for (i, a) in answers.iter().enumerate() {
            if session.test(*a, rng).unwrap() {
                above.push(i);
                if session.is_exhausted() {
                    break;
                }
            }
        }
        encode(&above)
    };
    let svt = AboveThreshold::new(epsilon, 1, threshold, cutoff, false).unwrap();
    let mut r2 = rng.fork();
    let e = audit(n, epsilon, || correct(&svt, &x, &mut rng), || correct(&svt, &x_prime, &mut r2));
    assert!(e <= epsilon, "sparse vector with c = {cutoff}: ε̂ = {e}");
    let broken = SparseVectorWithoutCutoffScaling::new(epsilon, threshold, cutoff);
    let mut r3 = rng.fork();
    let e = audit(
        n,
        epsilon,
        || encode(&broken.run(&x, &mut rng)),
        || encode(&broken.run(&x_prime, &mut r3)),
    );
    assert!(e > epsilon, "sparse vector without cutoff scaling not caught: ε̂ = {e}");
}

/// The textbook floating-point Laplace mechanism: `x + b·s·(−ln U)` in `f64`, with `U` a
/// 32-bit uniform in `(0, 1]` and `s` a random sign. Its noise takes only the 2³³ values
/// `±fl(−b·ln(k/2³²))`; an observer can test whether `y − x` is one of them (Mironov 2012).
fn naive_float_laplace(x: f64, b: f64, rng: &mut SecureRng) -> f64 {
    let word = rng.next_u64();
    let u = ((word >> 32) + 1) as f64 / 4_294_967_296.0;
    let noise = -b * u.ln();
    if word & 1 == 1 {
        x - noise
    } else {
        x + noise
    }
}

/// Whether `|y|` is a value the naive sampler's noise can take (the attacker's test at x = 0).
fn is_naive_noise_value(y: f64, b: f64) -> bool {
    let t = y.abs();
    let k = ((-t / b).exp() * 4_294_967_296.0).round() as i64;
    (k - 2..=k + 2)
        .filter(|&k| (1..=1i64 << 32).contains(&k))
        .any(|k| -b * (k as f64 / 4_294_967_296.0).ln() == t)
}

#[test]
fn floating_point_laplace_is_caught_and_the_grid_mechanism_is_not() {
    // The post-processing "is y − 0 a possible noise value?" separates x = 0 from x = 1 for
    // the naive sampler with certainty; on the grid mechanism it sees nothing.
    let mut rng = SecureRng::seeded_for_tests_only(1011);
    let n = 100_000;
    let b = 1.0;
    let mut r2 = rng.fork();
    let e = audit(
        n,
        1.0,
        || i64::from(is_naive_noise_value(naive_float_laplace(0.0, b, &mut rng), b)),
        || i64::from(is_naive_noise_value(naive_float_laplace(1.0, b, &mut r2) - 1.0, b)),
    );
    assert!(e > 1.0, "the floating-point Laplace mechanism was not caught: ε̂ = {e}");
    let grid = LaplaceMechanism::new(1.0, 1.0).unwrap();
    let mut r3 = rng.fork();
    let e = audit(
        n,
        1.0,
        || i64::from(is_naive_noise_value(grid.release(0.0, &mut rng).unwrap(), b)),
        || i64::from(is_naive_noise_value(grid.release(1.0, &mut r3).unwrap() - 1.0, b)),
    );
    assert!(e <= 1.0, "the grid Laplace mechanism failed the floating-point test: ε̂ = {e}");
}
