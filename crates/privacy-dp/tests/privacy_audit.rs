//! Empirical privacy audits: every mechanism is run many times on two neighbouring inputs,
//! and a lower confidence bound on its privacy loss is compared with the claimed ε.
//!
//! For each output bucket `b` with `p_b = P(M(x) ∈ b)` and `p′_b = P(M(x′) ∈ b)`, a
//! mechanism that is ε-DP has `ln(p_b/p′_b) ≤ ε`. From `N` draws per side, the audit takes a
//! lower confidence bound for `p_b` and an upper one for `p′_b` (normal approximation, 5
//! standard errors each, so each is violated with probability below 3·10⁻⁷) and reports
//! `ε̂ = max_b ln(p_b,low/p′_b,high)` over buckets and both directions. A correct mechanism
//! fails (`ε̂ > ε`) only if one of at most 2·40 bounds is violated: a false-failure rate below
//! 3·10⁻⁵ per audit, and the seeds are fixed, so the outcome is reproducible. For (ε, δ)
//! mechanisms, the audit bounds `P(S|x) − e^ε·P(S|x′)` from below over tail sets `S`.
//!
//! Each audit is shown to have power by a deliberately broken mechanism kept here: the same
//! mechanism with half the noise, still claiming the original ε, which the audit must catch.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::collections::BTreeMap;

use num_bigint::BigInt;
use num_traits::ToPrimitive;
use privacy_core::SecureRng;
use privacy_dp::mechanism::{
    AboveThreshold, ExponentialMechanism, GaussianCalibration, GaussianMechanism,
    GeometricMechanism, LaplaceMechanism, RandomizedResponse, ReportNoisyMax,
};

const Z: f64 = 5.0;

/// Output buckets of `n` runs of a mechanism.
fn histogram(n: usize, mut run: impl FnMut() -> i64) -> BTreeMap<i64, u64> {
    let mut h = BTreeMap::new();
    for _ in 0..n {
        *h.entry(run()).or_insert(0) += 1;
    }
    h
}

fn bounds(count: u64, n: usize) -> (f64, f64) {
    let p = count as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    (p - Z * se, p + Z * se)
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

#[test]
fn gaussian_mechanism_keeps_its_delta() {
    // (ε, δ) = (1, 0.05): large enough for 2·10⁵ draws to see. The audit bounds
    // P(Y ≥ c | x) − e^ε·P(Y ≥ c | x′) from below over thresholds c.
    let mut rng = SecureRng::seeded_for_tests_only(1004);
    let n = 200_000;
    let (epsilon, delta) = (1.0f64, 0.05);
    let audit_delta = |m: &GaussianMechanism, rng: &mut SecureRng| {
        let mut r2 = rng.fork();
        let bucket = |v: f64| (v * 4.0).floor().clamp(-40.0, 40.0) as i64;
        let a = histogram(n, || bucket(m.release(1.0, rng).unwrap()));
        let b = histogram(n, || bucket(m.release(0.0, &mut r2).unwrap()));
        let tail = |h: &BTreeMap<i64, u64>, c: i64| h.range(c..).map(|(_, v)| v).sum::<u64>();
        (-40..=40)
            .map(|c| bounds(tail(&a, c), n).0 - epsilon.exp() * bounds(tail(&b, c), n).1)
            .fold(f64::MIN, f64::max)
    };
    let good =
        GaussianMechanism::new(1.0, GaussianCalibration::Analytic { epsilon, delta }).unwrap();
    let d = audit_delta(&good, &mut rng);
    assert!(d <= delta, "audited δ {d} > {delta}");
    // Broken: a quarter of the variance, still claiming (1, 0.05).
    let weak = GaussianCalibration::Analytic { epsilon, delta: 0.4 };
    let broken = GaussianMechanism::new(1.0, weak).unwrap();
    assert!(broken.sigma() < good.sigma() * 0.7);
    let d = audit_delta(&broken, &mut rng);
    assert!(d > delta, "broken Gaussian not caught: audited δ {d}");
}
