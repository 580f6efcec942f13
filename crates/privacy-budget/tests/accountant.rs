//! Integration tests of the Rényi-DP accountant: the issue-4 reference value, the closed forms
//! of each curve, composition, the conversions, input validation, calibration, and property
//! tests of monotonicity in steps, sampling rate, noise and δ.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use privacy_budget::accountant::rdp::{
    calibrate_sampled_gaussian, compose, Conversion, OrderGrid, RdpAccountant, RdpCurve,
    RdpMechanism,
};
use privacy_budget::accountant::AccountantError;
use proptest::prelude::*;

/// ε of `steps` runs of the sampled Gaussian at δ, with the default conversion.
fn sampled_epsilon(grid: &OrderGrid, sigma: f64, rate: f64, steps: u64, delta: f64) -> f64 {
    let step = RdpMechanism::sampled_gaussian(sigma, rate).unwrap().curve(grid).unwrap();
    compose(&step, steps).to_epsilon(delta, Conversion::BalleEtAl2020).unwrap().epsilon
}

fn close(got: f64, expected: f64, relative: f64) -> bool {
    (got - expected).abs() <= relative * expected.abs().max(1e-300)
}

#[test]
fn reference_dp_sgd_run_gives_the_dp_accounting_value() {
    let mut accountant = RdpAccountant::new();
    accountant.compose(&RdpMechanism::sampled_gaussian(1.1, 0.01).unwrap(), 10_000).unwrap();
    let result = accountant.epsilon(1e-5).unwrap();
    assert!((result.epsilon - 5.632).abs() <= 0.001, "ε = {}", result.epsilon);
    assert_eq!(result.order, 4.7);
    // The independent prototype (Python, libm erfc and lgamma) gives 5.631992368569072.
    assert!((result.epsilon - 5.631_992_368_569_072).abs() < 1e-9, "ε = {}", result.epsilon);
}

#[test]
fn coarse_grid_gives_a_slightly_larger_reference_value() {
    let mut orders = vec![1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5];
    orders.extend((5..=64).map(f64::from));
    orders.extend([80.0, 96.0, 128.0, 160.0, 192.0, 256.0, 512.0, 1024.0]);
    let grid = OrderGrid::new(orders).unwrap();
    let epsilon = sampled_epsilon(&grid, 1.1, 0.01, 10_000, 1e-5);
    assert!((epsilon - 5.638_749_942_591_389).abs() < 1e-9, "ε = {epsilon}");
}

#[test]
fn sampled_gaussian_matches_independent_values() {
    // (q, σ, α, ε(α)) from the independent prototype.
    let reference = [
        (0.01, 1.1, 1.5, 9.554_528_556_023_283e-5),
        (0.01, 1.1, 2.0, 0.000_128_510_081_605_155),
        (0.01, 1.1, 4.7, 0.000_317_788_071_810_673_94),
        (0.01, 1.1, 10.9, 0.001_404_899_641_479_456_4),
        (0.01, 1.1, 32.0, 8.469_416_433_675_926),
        (0.01, 1.1, 256.0, 101.161_894_290_028_6),
        (0.2, 0.7, 1.5, 0.127_766_561_974_184_23),
        (0.2, 0.7, 4.7, 2.754_248_795_929_742_6),
        (0.2, 0.7, 10.9, 9.350_441_588_454_961),
        (0.5, 3.0, 1.5, 0.021_413_356_320_820_975),
        (0.5, 3.0, 4.7, 0.073_666_077_405_702_75),
        (0.5, 3.0, 256.0, 13.526_356_817_425_285),
    ];
    for (rate, sigma, order, expected) in reference {
        let grid = OrderGrid::new(vec![order]).unwrap();
        let curve = RdpMechanism::sampled_gaussian(sigma, rate).unwrap().curve(&grid).unwrap();
        let got = curve.values()[0];
        // The prototype cuts its series at an absolute e⁻³⁰, hence the absolute term.
        let tolerance = 1e-10 * expected + 1e-12;
        let message = format!("q={rate} σ={sigma} α={order}: {got} vs {expected}");
        assert!((got - expected).abs() <= tolerance, "{message}");
    }
}

#[test]
fn full_sampling_is_the_plain_gaussian_and_no_sampling_is_free() {
    let grid = OrderGrid::default();
    for sigma in [0.3, 1.1, 8.0] {
        let sampled = RdpMechanism::sampled_gaussian(sigma, 1.0).unwrap().curve(&grid).unwrap();
        let plain = RdpMechanism::gaussian(sigma).unwrap().curve(&grid).unwrap();
        assert_eq!(sampled, plain);
        for (&order, &value) in grid.as_slice().iter().zip(plain.values()) {
            assert_eq!(value, order / (2.0 * sigma * sigma));
        }
        let none = RdpMechanism::sampled_gaussian(sigma, 0.0).unwrap().curve(&grid).unwrap();
        assert_eq!(none, RdpCurve::zero(&grid));
    }
}

#[test]
fn sampled_gaussian_approaches_the_plain_gaussian_as_the_rate_approaches_one() {
    let grid = OrderGrid::new(vec![1.5, 2.0, 4.7, 16.0]).unwrap();
    let plain = RdpMechanism::gaussian(2.0).unwrap().curve(&grid).unwrap();
    let near = RdpMechanism::sampled_gaussian(2.0, 1.0 - 1e-9).unwrap().curve(&grid).unwrap();
    for (a, b) in near.values().iter().zip(plain.values()) {
        assert!(close(*a, *b, 1e-6), "{a} vs {b}");
    }
}

#[test]
fn laplace_curve_matches_its_closed_form() {
    let orders = vec![1.5, 2.0, 3.0, 10.0, 64.0];
    let grid = OrderGrid::new(orders.clone()).unwrap();
    for scale in [0.5, 1.0, 4.0] {
        let curve = RdpMechanism::laplace(scale).unwrap().curve(&grid).unwrap();
        for (&a, &got) in orders.iter().zip(curve.values()) {
            // Mironov 2017, Proposition 6, evaluated directly.
            let inner = a / (2.0 * a - 1.0) * ((a - 1.0) / scale).exp()
                + (a - 1.0) / (2.0 * a - 1.0) * (-a / scale).exp();
            let expected = inner.ln() / (a - 1.0);
            assert!(close(got, expected, 1e-12), "λ={scale} α={a}: {got} vs {expected}");
            // Pure (1/λ)-DP bounds every order.
            assert!(got <= 1.0 / scale * (1.0 + 1e-15));
        }
    }
    // Far out the curve approaches 1/λ without overflowing.
    let far = OrderGrid::new(vec![65_536.0]).unwrap();
    let value = RdpMechanism::laplace(0.01).unwrap().curve(&far).unwrap().values()[0];
    assert!(value.is_finite() && close(value, 100.0, 1e-3), "{value}");
}

#[test]
fn randomized_response_curve_matches_its_closed_form() {
    let orders = vec![1.5, 2.0, 3.0, 10.0];
    let grid = OrderGrid::new(orders.clone()).unwrap();
    for p in [0.6, 0.75, 0.9] {
        let curve = RdpMechanism::randomized_response(p).unwrap().curve(&grid).unwrap();
        let mirrored = RdpMechanism::randomized_response(1.0 - p).unwrap().curve(&grid).unwrap();
        for ((&a, &got), &mirror) in orders.iter().zip(curve.values()).zip(mirrored.values()) {
            // Mironov 2017, Table II, evaluated directly.
            let q: f64 = 1.0 - p;
            let expected =
                (p.powf(a) * q.powf(1.0 - a) + q.powf(a) * p.powf(1.0 - a)).ln() / (a - 1.0);
            assert!(close(got, expected, 1e-12), "p={p} α={a}: {got} vs {expected}");
            assert!(close(mirror, got, 1e-12));
            assert!(got <= (p / q).ln());
        }
    }
    let fair = RdpMechanism::randomized_response(0.5).unwrap().curve(&grid).unwrap();
    assert!(fair.values().iter().all(|&v| v.abs() < 1e-15));
}

#[test]
fn compositions_add_order_by_order() {
    let grid = OrderGrid::default();
    let gaussian = RdpMechanism::gaussian(3.0).unwrap();
    let laplace = RdpMechanism::laplace(2.0).unwrap();
    let mut accountant = RdpAccountant::new();
    accountant.compose(&gaussian, 3).unwrap();
    accountant.compose(&laplace, 2).unwrap();
    accountant.compose(&laplace, 0).unwrap();
    let g = gaussian.curve(&grid).unwrap();
    let l = laplace.curve(&grid).unwrap();
    let expected = g.add(&g).unwrap().add(&g).unwrap().add(&l.add(&l).unwrap()).unwrap();
    for (a, b) in accountant.curve().values().iter().zip(expected.values()) {
        assert!(close(*a, *b, 1e-15));
    }
    let other = OrderGrid::new(vec![2.0, 3.0]).unwrap();
    assert_eq!(g.add(&RdpCurve::zero(&other)), Err(AccountantError::OrderMismatch));
}

#[test]
fn zero_steps_cost_nothing() {
    let mut accountant = RdpAccountant::new();
    accountant.compose(&RdpMechanism::sampled_gaussian(1.1, 0.01).unwrap(), 0).unwrap();
    for conversion in [Conversion::BalleEtAl2020, Conversion::Mironov2017] {
        assert_eq!(accountant.epsilon_with(1e-5, conversion).unwrap().epsilon, 0.0);
    }
}

#[test]
fn mironov_conversion_is_looser_than_balle_et_al() {
    let mut accountant = RdpAccountant::new();
    accountant.compose(&RdpMechanism::sampled_gaussian(1.1, 0.01).unwrap(), 10_000).unwrap();
    let balle = accountant.epsilon(1e-5).unwrap().epsilon;
    let mironov = accountant.epsilon_with(1e-5, Conversion::Mironov2017).unwrap().epsilon;
    // The independent prototype gives 6.278710279146146 at α = 4.9 on dp-accounting's grid.
    assert!((mironov - 6.278_710_279_146_146).abs() < 1e-9, "{mironov}");
    assert!(balle < mironov);
}

#[test]
fn epsilon_amount_rounds_up() {
    let mut accountant = RdpAccountant::new();
    accountant.compose(&RdpMechanism::gaussian(5.0).unwrap(), 10).unwrap();
    let result = accountant.epsilon(1e-6).unwrap();
    assert!(result.to_amount().unwrap().to_f64() >= result.epsilon);
}

#[test]
fn invalid_inputs_give_typed_errors() {
    use AccountantError as E;
    let nm = "noise_multiplier";
    assert_eq!(RdpMechanism::gaussian(0.0), Err(E::NonPositiveNoise { name: nm }));
    assert_eq!(RdpMechanism::gaussian(-1.0), Err(E::NonPositiveNoise { name: nm }));
    assert_eq!(RdpMechanism::gaussian(f64::NAN), Err(E::NonFinite { name: nm }));
    assert_eq!(RdpMechanism::laplace(f64::INFINITY), Err(E::NonFinite { name: nm }));
    assert_eq!(RdpMechanism::sampled_gaussian(1.0, 1.5), Err(E::SamplingRateOutOfRange));
    assert_eq!(RdpMechanism::sampled_gaussian(1.0, -0.1), Err(E::SamplingRateOutOfRange));
    assert_eq!(
        RdpMechanism::sampled_gaussian(1.0, f64::NAN),
        Err(E::NonFinite { name: "sampling_rate" })
    );
    assert_eq!(RdpMechanism::randomized_response(1.0), Err(E::ProbabilityOutOfRange));
    assert_eq!(RdpMechanism::randomized_response(0.0), Err(E::ProbabilityOutOfRange));
    for bad in [vec![], vec![1.0], vec![2.0, 0.5], vec![f64::NAN], vec![1e9]] {
        assert_eq!(RdpAccountant::with_orders(bad), Err(E::InvalidOrders));
    }
    let accountant = RdpAccountant::new();
    for delta in [0.0, 1.0, -1e-5, 2.0] {
        assert_eq!(accountant.epsilon(delta), Err(E::DeltaOutOfRange));
    }
    assert_eq!(accountant.epsilon(f64::NAN), Err(E::NonFinite { name: "delta" }));
    let grid = OrderGrid::default();
    assert_eq!(calibrate_sampled_gaussian(&grid, 0.01, 100, 0.0, 1e-5), Err(E::NonPositiveEpsilon));
    assert_eq!(
        calibrate_sampled_gaussian(&grid, 0.01, 100, f64::INFINITY, 1e-5),
        Err(E::NonFinite { name: "target_epsilon" })
    );
    assert_eq!(calibrate_sampled_gaussian(&grid, 0.01, 100, 1.0, 0.0), Err(E::DeltaOutOfRange));
    assert_eq!(
        calibrate_sampled_gaussian(&grid, 2.0, 100, 1.0, 1e-5),
        Err(E::SamplingRateOutOfRange)
    );
    assert_eq!(
        calibrate_sampled_gaussian(&grid, 0.0, 100, 1.0, 1e-5),
        Err(E::CalibrationOutOfRange)
    );
    assert_eq!(
        calibrate_sampled_gaussian(&grid, 0.01, 0, 1.0, 1e-5),
        Err(E::CalibrationOutOfRange)
    );
}

#[test]
fn calibration_returns_the_smallest_noise_that_meets_the_target() {
    let grid = OrderGrid::default();
    for (rate, steps, target, delta) in [(0.01, 1_000, 2.0, 1e-5), (0.1, 50, 0.5, 1e-6)] {
        let sigma = calibrate_sampled_gaussian(&grid, rate, steps, target, delta).unwrap();
        assert!(sampled_epsilon(&grid, sigma, rate, steps, delta) <= target, "σ* = {sigma}");
        let less = sigma * (1.0 - 1e-4);
        assert!(sampled_epsilon(&grid, less, rate, steps, delta) > target, "σ* = {sigma}");
    }
    // The reference run: asking for its own ε back gives its own noise multiplier.
    let sigma = calibrate_sampled_gaussian(&grid, 0.01, 10_000, 5.631_992_4, 1e-5).unwrap();
    assert!((sigma - 1.1).abs() < 1e-5, "σ* = {sigma}");
}

#[test]
fn calibration_reports_unreachable_targets() {
    let grid = OrderGrid::default();
    // With q = 1 and one step, ε ≥ 1/(2σ²)-ish: a target of 1e-9 needs σ far above 10⁶.
    let result = calibrate_sampled_gaussian(&grid, 1.0, 1, 1e-9, 1e-12);
    assert_eq!(result, Err(AccountantError::CalibrationOutOfRange));
}

/// A small grid keeps the property tests fast; monotonicity holds order by order.
fn property_grid() -> OrderGrid {
    OrderGrid::new(vec![1.5, 2.0, 3.5, 4.7, 8.0, 10.9, 16.0, 32.0, 64.0, 256.0]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn epsilon_grows_with_steps(
        sigma in 0.5f64..5.0, rate in 1e-4f64..0.5, steps in 1u64..5_000, extra in 1u64..5_000,
        delta in 1e-10f64..1e-2,
    ) {
        let grid = property_grid();
        let fewer = sampled_epsilon(&grid, sigma, rate, steps, delta);
        let more = sampled_epsilon(&grid, sigma, rate, steps + extra, delta);
        prop_assert!(more >= fewer * (1.0 - 1e-12), "{fewer} > {more}");
    }

    #[test]
    fn epsilon_grows_with_the_sampling_rate(
        sigma in 0.5f64..5.0, rate in 1e-4f64..0.9, factor in 1.0f64..2.0, steps in 1u64..5_000,
        delta in 1e-10f64..1e-2,
    ) {
        let grid = property_grid();
        let lower = sampled_epsilon(&grid, sigma, rate, steps, delta);
        let higher = sampled_epsilon(&grid, sigma, (rate * factor).min(1.0), steps, delta);
        prop_assert!(higher >= lower * (1.0 - 1e-9), "{lower} > {higher}");
    }

    #[test]
    fn epsilon_shrinks_with_noise(
        sigma in 0.5f64..5.0, factor in 1.0f64..2.0, rate in 1e-4f64..1.0, steps in 1u64..5_000,
        delta in 1e-10f64..1e-2,
    ) {
        let grid = property_grid();
        let noisy = sampled_epsilon(&grid, sigma * factor, rate, steps, delta);
        let plain = sampled_epsilon(&grid, sigma, rate, steps, delta);
        prop_assert!(noisy <= plain * (1.0 + 1e-9), "{noisy} > {plain}");
    }

    #[test]
    fn epsilon_shrinks_with_delta(
        sigma in 0.5f64..5.0, rate in 1e-4f64..1.0, steps in 1u64..5_000,
        delta in 1e-10f64..1e-2, factor in 1.0f64..50.0,
    ) {
        let grid = property_grid();
        let curve = compose(&RdpMechanism::sampled_gaussian(sigma, rate).unwrap()
            .curve(&grid).unwrap(), steps);
        for conversion in [Conversion::BalleEtAl2020, Conversion::Mironov2017] {
            let strict = curve.to_epsilon(delta, conversion).unwrap().epsilon;
            let loose = curve.to_epsilon(delta * factor, conversion).unwrap().epsilon;
            prop_assert!(loose <= strict, "{loose} > {strict}");
        }
    }

    #[test]
    fn conversion_is_never_negative_or_nan(
        sigma in 1e-2f64..1e3, rate in 0.0f64..1.0, steps in 0u64..1_000_000,
        ln_delta in -690.0f64..-1e-9, order_shift in 0.0f64..0.5,
    ) {
        let orders = property_grid().as_slice().iter().map(|a| a + order_shift).collect();
        let grid = OrderGrid::new(orders).unwrap();
        let step = RdpMechanism::sampled_gaussian(sigma, rate).unwrap().curve(&grid).unwrap();
        let curve = compose(&step, steps);
        for conversion in [Conversion::BalleEtAl2020, Conversion::Mironov2017] {
            let result = curve.to_epsilon(ln_delta.exp(), conversion).unwrap();
            prop_assert!(result.epsilon >= 0.0, "{}", result.epsilon);
        }
    }
}

mod pld {
    //! The PLD accountant: the issue-4 reference values, closed forms at the edges, agreement
    //! with the exact composition of randomized response, and monotonicity.

    use privacy_budget::accountant::pld::{PldAccountant, PldMechanism, PldOptions};
    use privacy_budget::accountant::AccountantError;
    use proptest::prelude::*;

    fn accountant(h: f64) -> PldAccountant {
        PldAccountant::with_options(PldOptions { discretization: h, tail_mass: 1e-15 }).unwrap()
    }

    /// The exact (ε, δ) curve of the Gaussian mechanism (Balle & Wang 2018, Theorem 8), by
    /// bisection on δ(ε) = Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ), with libm's erfc.
    fn analytic_gaussian_epsilon(sigma: f64, delta: f64) -> f64 {
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let curve = |e: f64| phi(0.5 / sigma - e * sigma) - e.exp() * phi(-0.5 / sigma - e * sigma);
        let (mut lo, mut hi) = (0.0, 100.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if curve(mid) > delta {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    #[test]
    fn reference_dp_sgd_run_gives_the_dp_accounting_value() {
        let mut pld = PldAccountant::new();
        pld.compose(&PldMechanism::sampled_gaussian(1.1, 0.01).unwrap(), 10_000);
        let bounds = pld.epsilon(1e-5).unwrap();
        assert!((bounds.upper - 5.1926).abs() <= 0.001, "{bounds:?}");
        // The true value lies in the error bars, which are a few hundredths wide.
        assert!(bounds.lower <= bounds.upper && bounds.upper - bounds.lower < 0.05, "{bounds:?}");
        // Tighter than Rényi DP at the same point (5.632).
        assert!(bounds.upper < 5.6);
    }

    #[test]
    fn single_gaussian_gives_the_analytic_value() {
        let exact = analytic_gaussian_epsilon(1.0, 1e-5);
        assert!((exact - 4.377_178).abs() < 1e-6, "{exact}");
        let mut pld = PldAccountant::new();
        pld.compose(&PldMechanism::gaussian(1.0).unwrap(), 1);
        let bounds = pld.epsilon(1e-5).unwrap();
        assert!(bounds.upper >= exact && bounds.upper - exact < 1e-4, "{bounds:?}");
        assert!(bounds.lower <= exact, "{bounds:?}");
        for (sigma, delta) in [(0.5, 1e-3), (2.0, 1e-6), (5.0, 1e-9)] {
            let exact = analytic_gaussian_epsilon(sigma, delta);
            let mut pld = accountant(1e-4);
            pld.compose(&PldMechanism::gaussian(sigma).unwrap(), 1);
            let bounds = pld.epsilon(delta).unwrap();
            let message = format!("σ={sigma} δ={delta}: {bounds:?} vs {exact}");
            assert!(bounds.upper >= exact && bounds.upper - exact < 1e-4, "{message}");
            assert!(bounds.lower <= exact, "{message}");
        }
    }

    #[test]
    fn gaussian_compositions_equal_one_gaussian_with_the_combined_noise() {
        // k runs with σ compose to one run with σ/√k: the Gaussian PLD is closed under
        // convolution, so this checks the FFT composition against the analytic curve.
        let exact = analytic_gaussian_epsilon(4.0 / 10.0, 1e-6);
        let mut pld = accountant(1e-4);
        pld.compose(&PldMechanism::gaussian(4.0).unwrap(), 100);
        let bounds = pld.epsilon(1e-6).unwrap();
        assert!(bounds.upper >= exact && bounds.upper - exact < 1e-3, "{bounds:?} vs {exact}");
        assert!(bounds.lower <= exact, "{bounds:?} vs {exact}");
    }

    #[test]
    fn randomized_response_composes_exactly_like_a_binomial() {
        // k runs of RR with loss ±a: the loss is a·(2B − k), B ~ Bin(k, p), under P, and
        // δ(ε) = Σ_b P(B = b)(1 − e^(ε − a(2b − k)))₊ exactly. With a on the grid there is no
        // discretization error at all.
        let (p, k): (f64, u64) = (0.75, 20);
        let a = (p / (1.0 - p)).ln();
        let epsilon = 2.0;
        let mut exact = 0.0;
        let mut ln_choose = 0.0_f64;
        for b in 0..=k {
            if b > 0 {
                ln_choose += ((k - b + 1) as f64 / b as f64).ln();
            }
            let loss = a * (2.0 * b as f64 - k as f64);
            let prob = (ln_choose + b as f64 * p.ln() + (k - b) as f64 * (1.0 - p).ln()).exp();
            exact += prob * (-(epsilon - loss).exp_m1()).max(0.0);
        }
        let mut pld = accountant(1e-4);
        pld.compose(&PldMechanism::randomized_response(p).unwrap(), k);
        let bounds = pld.delta(epsilon).unwrap();
        assert!(bounds.upper >= exact * (1.0 - 1e-9), "{bounds:?} vs {exact}");
        assert!(bounds.upper <= exact * (1.0 + 1e-3) + 1e-12, "{bounds:?} vs {exact}");
        assert!(bounds.lower <= exact * (1.0 + 1e-9), "{bounds:?} vs {exact}");
    }

    #[test]
    fn laplace_is_pure_and_full_sampling_is_the_plain_mechanism() {
        // One Laplace run of scale 1 is exactly 1-DP: δ(1) = 0 and ε at any δ is below 1.
        let mut pld = accountant(1e-4);
        pld.compose(&PldMechanism::laplace(1.0).unwrap(), 1);
        assert!(pld.delta(1.0 + 1e-3).unwrap().upper < 1e-12);
        let bounds = pld.epsilon(1e-9).unwrap();
        assert!(bounds.upper <= 1.0 + 1e-4 && bounds.upper > 0.99, "{bounds:?}");
        // Sampling rate 1 is the plain mechanism; rate 0 costs nothing.
        for (plain, sampled) in [
            (PldMechanism::gaussian(1.3).unwrap(), PldMechanism::sampled_gaussian(1.3, 1.0)),
            (PldMechanism::laplace(2.0).unwrap(), PldMechanism::sampled_laplace(2.0, 1.0)),
        ] {
            assert_eq!(plain, sampled.unwrap());
        }
        let mut none = PldAccountant::new();
        none.compose(&PldMechanism::sampled_gaussian(1.0, 0.0).unwrap(), 1_000);
        none.compose(&PldMechanism::gaussian(1.0).unwrap(), 0);
        let bounds = none.epsilon(1e-5).unwrap();
        assert_eq!((bounds.upper, bounds.lower), (0.0, 0.0));
    }

    #[test]
    fn invalid_inputs_give_typed_errors() {
        use AccountantError as E;
        let nm = "noise_multiplier";
        assert_eq!(PldMechanism::gaussian(0.0), Err(E::NonPositiveNoise { name: nm }));
        assert_eq!(PldMechanism::laplace(f64::NAN), Err(E::NonFinite { name: nm }));
        assert_eq!(PldMechanism::sampled_gaussian(1.0, 1.1), Err(E::SamplingRateOutOfRange));
        assert_eq!(PldMechanism::randomized_response(1.0), Err(E::ProbabilityOutOfRange));
        for (h, tail) in [(0.0, 1e-15), (2.0, 1e-15), (f64::NAN, 1e-15), (1e-3, 0.0), (1e-3, 0.1)] {
            let options = PldOptions { discretization: h, tail_mass: tail };
            assert_eq!(PldAccountant::with_options(options), Err(E::InvalidDiscretization));
        }
        let pld = PldAccountant::new();
        assert_eq!(pld.epsilon(0.0), Err(E::DeltaOutOfRange));
        assert_eq!(pld.epsilon(f64::NAN), Err(E::NonFinite { name: "delta" }));
        assert_eq!(pld.delta(-1.0), Err(E::NonPositiveEpsilon));
    }

    /// ε of `steps` sampled-Gaussian runs on a coarse grid (fast enough for property tests).
    fn coarse_epsilon(sigma: f64, rate: f64, steps: u64, delta: f64) -> (f64, f64) {
        let mut pld = accountant(2e-3);
        pld.compose(&PldMechanism::sampled_gaussian(sigma, rate).unwrap(), steps);
        let bounds = pld.epsilon(delta).unwrap();
        (bounds.upper, bounds.lower)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn upper_epsilon_is_monotone_and_never_negative_or_nan(
            sigma in 0.6f64..4.0, rate in 1e-3f64..1.0, steps in 1u64..400,
            delta in 1e-9f64..1e-2, factor in 1.0f64..2.0, extra in 1u64..400,
        ) {
            let (base, lower) = coarse_epsilon(sigma, rate, steps, delta);
            prop_assert!(base >= 0.0 && !base.is_nan() && lower <= base, "{} {}", base, lower);
            let more_steps = coarse_epsilon(sigma, rate, steps + extra, delta).0;
            prop_assert!(more_steps >= base - 1e-9, "steps: {} < {}", more_steps, base);
            let more_rate = coarse_epsilon(sigma, (rate * factor).min(1.0), steps, delta).0;
            prop_assert!(more_rate >= base - 1e-9, "rate: {} < {}", more_rate, base);
            let more_noise = coarse_epsilon(sigma * factor, rate, steps, delta).0;
            prop_assert!(more_noise <= base + 1e-9, "noise: {} > {}", more_noise, base);
            let more_delta = coarse_epsilon(sigma, rate, steps, (delta * factor).min(0.5)).0;
            prop_assert!(more_delta <= base + 1e-9, "delta: {} > {}", more_delta, base);
        }
    }
}

mod composition_and_adaptive {
    //! Composition theorems, zCDP, subsampling without replacement, filters, odometers and
    //! allocation strategies.

    use privacy_budget::accountant::composition::{
        advanced, advanced_heterogeneous, basic, kairouz_closed_form, optimal_homogeneous,
    };
    use privacy_budget::accountant::filter::{
        AdvancedFilter, BasicFilter, RenyiFilter, ZcdpFilter,
    };
    use privacy_budget::accountant::odometer::ZcdpOdometer;
    use privacy_budget::accountant::rdp::{OrderGrid, RdpMechanism};
    use privacy_budget::accountant::zcdp::{zcdp_epsilon, ZcdpAccountant, ZcdpConversion};
    use privacy_budget::accountant::AccountantError;
    use privacy_budget::allocation::{split_by_accuracy, split_equal, ErrorModel};
    use privacy_core::{DeltaAmount, EpsilonAmount, PrivacyCost};
    use proptest::prelude::*;

    #[test]
    fn optimal_composition_is_below_the_closed_forms_and_basic_composition() {
        for (epsilon, k) in [(0.1, 10u64), (0.05, 1_000), (0.5, 50), (1.0, 3)] {
            let delta = 1e-6;
            let exact = optimal_homogeneous(epsilon, 0.0, k, delta).unwrap();
            let (kov, _) = kairouz_closed_form(epsilon, 0.0, k, delta).unwrap();
            let (drv, _) = advanced(epsilon, 0.0, k, delta).unwrap();
            let (sum, _) = basic(&vec![(epsilon, 0.0); k as usize]).unwrap();
            assert!(exact <= kov + 1e-9 && kov <= sum + 1e-9, "ε={epsilon} k={k}: {exact} {kov}");
            assert!(exact <= drv + 1e-9, "ε={epsilon} k={k}: {exact} > {drv}");
        }
        // With δ > 0 per mechanism, a target below 1 − (1−δ)^k cannot be met.
        assert_eq!(optimal_homogeneous(0.1, 1e-3, 10, 1e-3), Err(AccountantError::DeltaOutOfRange));
        let (e, d) = advanced_heterogeneous(&[(0.1, 1e-7), (0.2, 0.0)], 1e-6).unwrap();
        assert!(e > 0.0 && (d - 1.1e-6).abs() < 1e-18);
    }

    #[test]
    fn optimal_composition_of_many_steps_matches_a_direct_binomial_sum() {
        // k = 2 at ε: losses 2ε, 0, −2ε with P-masses e^(2ε)/(1+e^ε)², 2e^ε/(1+e^ε)², 1/(1+e^ε)².
        let epsilon: f64 = 0.3;
        let result = optimal_homogeneous(epsilon, 0.0, 2, 1e-3).unwrap();
        let norm = (1.0 + epsilon.exp()).powi(2);
        let delta_at = |e: f64| {
            ((2.0 * epsilon).exp() - e.exp()).max(0.0) / norm
                + (2.0 * epsilon.exp() - e.exp() * 2.0 * epsilon.exp()).max(0.0) / norm
        };
        assert!((delta_at(result) - 1e-3).abs() < 1e-12, "{result}");
    }

    #[test]
    fn zcdp_composes_by_adding_rho() {
        let mut zcdp = ZcdpAccountant::new();
        zcdp.compose_gaussian(2.0, 8).unwrap();
        zcdp.compose_pure(0.5).unwrap();
        assert!((zcdp.rho() - (1.0 + 0.125)).abs() < 1e-15);
        let bs = zcdp.epsilon(1e-5, ZcdpConversion::BunSteinke2016).unwrap();
        assert!((bs - (1.125 + 2.0 * (1.125 * (1e5f64).ln()).sqrt())).abs() < 1e-12);
        assert!(zcdp.epsilon(1e-5, ZcdpConversion::default()).unwrap() < bs);
        assert_eq!(zcdp_epsilon(0.0, 1e-5, ZcdpConversion::default()).unwrap(), 0.0);
        assert_eq!(zcdp.compose_rho(f64::NAN), Err(AccountantError::NonFinite { name: "rho" }));
    }

    #[test]
    fn subsampling_without_replacement_lies_between_nothing_and_the_full_mechanism() {
        let grid = OrderGrid::new(vec![1.5, 2.0, 3.0, 8.0, 32.0]).unwrap();
        for base in [
            RdpMechanism::gaussian(1.0).unwrap(),
            RdpMechanism::laplace(1.0).unwrap(),
            RdpMechanism::randomized_response(0.75).unwrap(),
        ] {
            let full = base.curve(&grid).unwrap();
            let none = RdpMechanism::sampled_without_replacement(base, 0.0).unwrap();
            assert!(none.curve(&grid).unwrap().values().iter().all(|v| *v == 0.0));
            let all = RdpMechanism::sampled_without_replacement(base, 1.0).unwrap();
            assert_eq!(all.curve(&grid).unwrap(), full);
            let mut previous = vec![0.0; 5];
            for rate in [0.001, 0.01, 0.1] {
                let sampled = RdpMechanism::sampled_without_replacement(base, rate).unwrap();
                let values = sampled.curve(&grid).unwrap().values().to_vec();
                for (v, p) in values.iter().zip(&previous) {
                    assert!(v.is_finite() && *v >= *p, "{base:?} {rate}: {values:?}");
                }
                previous = values;
            }
            let poisson = RdpMechanism::poisson_sampled(base, 0.01).unwrap();
            assert!(poisson
                .curve(&grid)
                .unwrap()
                .values()
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0));
            assert_eq!(
                RdpMechanism::poisson_sampled(poisson, 0.5),
                Err(AccountantError::UnsupportedSubsampling)
            );
        }
    }

    #[test]
    fn odometer_readings_never_fall_and_filters_refuse_invalid_targets() {
        let mut odometer = ZcdpOdometer::new(1e-6, 1e-3).unwrap();
        let first = odometer.reading();
        odometer.record_rho(0.5).unwrap();
        assert!(odometer.reading() > first);
        assert_eq!(
            BasicFilter::new(f64::NAN, 0.0),
            Err(AccountantError::NonFinite { name: "epsilon" })
        );
        assert_eq!(AdvancedFilter::new(1.0, 1e-6, 1e-5), Err(AccountantError::DeltaOutOfRange));
        assert_eq!(ZcdpFilter::new(-1.0), Err(AccountantError::NonPositiveEpsilon));
    }

    #[test]
    fn k_equal_shares_allow_exactly_k_spends() {
        let total = PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal("1").unwrap(),
            delta: DeltaAmount::parse_decimal("1e-6").unwrap(),
        };
        for k in [1usize, 3, 7, 1000] {
            let shares = split_equal(total, k).unwrap();
            let sum = shares.iter().try_fold(PrivacyCost::ZERO, |a, s| a.checked_add(*s)).unwrap();
            assert_eq!((shares.len(), sum), (k, total));
        }
    }

    #[test]
    fn accuracy_allocation_equalises_the_ratio_to_each_target() {
        // Laplace counts: 95% half-width 3/ε; a sum with sensitivity 100: 300/ε.
        let count = |e: f64| 3.0 / e;
        let sum = |e: f64| 300.0 / e;
        let total = PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal("1").unwrap(),
            delta: DeltaAmount::ZERO,
        };
        let queries: [(&dyn ErrorModel, f64); 2] = [(&count, 10.0), (&sum, 500.0)];
        let result = split_by_accuracy(total, &queries).unwrap();
        let e: Vec<f64> = result.shares.iter().map(|s| s.epsilon.to_f64()).collect();
        assert_eq!(
            result.shares[0].epsilon.checked_add(result.shares[1].epsilon).unwrap(),
            total.epsilon
        );
        // Both reach the same fraction of their target, and it is below 1 (both met).
        let ratios = [count(e[0]) / 10.0, sum(e[1]) / 500.0];
        assert!((ratios[0] - ratios[1]).abs() < 1e-6 * ratios[0], "{ratios:?}");
        assert!(result.ratio < 1.0 && (result.ratio - ratios[0]).abs() < 1e-6, "{result:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn filters_never_accept_past_their_budget(
            requests in proptest::collection::vec((0.0f64..0.3, 0.0f64..1e-7), 1..200),
        ) {
            let mut basic = BasicFilter::new(1.0, 1e-6).unwrap();
            let mut advanced = AdvancedFilter::new(1.0, 1e-6, 5e-7).unwrap();
            let mut renyi = RenyiFilter::new(16.0, 2.0, 1e-6).unwrap();
            let (mut sum, mut squares, mut deltas, mut rdp) = (0.0, 0.0, 0.0, 0.0);
            for (e, d) in requests {
                if basic.try_spend(e, d).unwrap() {
                    sum += e;
                }
                if advanced.try_spend(e, d).unwrap() {
                    squares += e * e;
                    deltas += d;
                }
                let curve = 16.0 * e * e / 2.0;
                if renyi.try_spend(curve).unwrap() {
                    rdp += curve;
                }
            }
            prop_assert!(sum <= 1.0 + 1e-12);
            prop_assert!(squares / 2.0 + (2.0 * (2e6f64).ln() * squares).sqrt() <= 1.0 + 1e-12);
            prop_assert!(deltas <= 5e-7 + 1e-18);
            let converted = rdp + (-1.0 / 16.0f64).ln_1p() - ((1e-6f64).ln() + 16f64.ln()) / 15.0;
            prop_assert!(converted <= 2.0 + 1e-9, "{}", converted);
        }

        #[test]
        fn optimal_composition_is_monotone(
            epsilon in 0.01f64..1.0, k in 1u64..300, extra in 1u64..100,
            delta in 1e-10f64..1e-3,
        ) {
            let base = optimal_homogeneous(epsilon, 0.0, k, delta).unwrap();
            prop_assert!(base >= 0.0 && base <= k as f64 * epsilon + 1e-9);
            prop_assert!(optimal_homogeneous(epsilon, 0.0, k + extra, delta).unwrap() >= base - 1e-9);
            prop_assert!(optimal_homogeneous(epsilon, 0.0, k, delta * 2.0).unwrap() <= base + 1e-9);
        }
    }
}
