//! Empirical privacy audits of the statistics over data frames: each statistic is released
//! many times on two neighbouring tables (one patient more or less), and a lower confidence
//! bound on its privacy loss is compared with the claimed ε (and δ).
//!
//! Method (as in `privacy_audit.rs`): outputs are put in buckets (post-processing, which cannot
//! raise the privacy loss); for each bucket `b` the audit takes a lower confidence bound for
//! `P(M(x) ∈ b)` and an upper one for `P(M(x′) ∈ b)`, 5 standard errors each (each violated with
//! probability below 3·10⁻⁷), and reports `ε̂ = max_b ln(p_low/p′_high)` over buckets and both
//! directions. For (ε, δ) claims it bounds `P(S | x) − e^ε·P(S | x′)` from below over the tail
//! sets (or the event) `S` and compares with δ. A correct statistic fails only when one of at
//! most 2·60 bounds is violated: a false-failure rate below 4·10⁻⁵ per audit, and the seeds
//! are fixed, so each outcome is reproducible.
//!
//! Each audit is shown to have power by a deliberately broken twin kept here: the same
//! statistic whose noise is calibrated for a larger ε (or δ) than the one it claims — what a
//! sensitivity computed from the wrong bound does — which the audit must catch.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::collections::BTreeMap;

use privacy_core::{DeltaAmount, EpsilonAmount, Measurement, PrivacyCost, SecureRng};
use privacy_dp::{
    read_table_bytes, BoundedTable, Bounds, ContributionBound, DpCount, DpGrouped, DpMean,
    DpQuantile, DpSum, DpVariance, GroupBound, GroupedStatistic, Grouping, NoiseBudget,
    NonFinitePolicy, ReadOptions,
};

const Z: f64 = 5.0;

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

/// `ε̂` of a statistic run `n` times on each neighbour, its outputs bucketed by `run`.
fn audit(n: usize, what: &str, x: impl FnMut() -> i64, x_prime: impl FnMut() -> i64) -> f64 {
    let (a, b) = (histogram(n, x), histogram(n, x_prime));
    let estimate = epsilon_lower_bound(&a, &b, n);
    eprintln!("{what}: audited ε lower bound {estimate:.3}");
    estimate
}

/// The lower confidence bound on `max_S P(S | x) − e^ε·P(S | x′)` over upper and lower tails.
fn delta_lower_bound(a: &BTreeMap<i64, u64>, b: &BTreeMap<i64, u64>, n: usize, eps: f64) -> f64 {
    let keys: Vec<i64> = a.keys().chain(b.keys()).copied().collect();
    let upper = |h: &BTreeMap<i64, u64>, c: i64| h.range(c..).map(|(_, v)| v).sum::<u64>();
    let lower = |h: &BTreeMap<i64, u64>, c: i64| h.range(..=c).map(|(_, v)| v).sum::<u64>();
    let mut worst = f64::MIN;
    for &c in &keys {
        for (x, y) in [(a, b), (b, a)] {
            for tail in [upper, lower] {
                let d = bounds(tail(x, c), n).0 - eps.exp() * bounds(tail(y, c), n).1;
                worst = worst.max(d);
            }
        }
    }
    worst
}

fn table(csv: &str, bound: ContributionBound) -> BoundedTable {
    let frame = read_table_bytes(csv.as_bytes().to_vec(), "t", ReadOptions::default()).unwrap();
    BoundedTable::new(frame, bound).unwrap()
}

/// A one-column table `v` of the given values, one row per patient.
fn values(xs: &[f64]) -> BoundedTable {
    let csv: String = std::iter::once("v".to_owned())
        .chain(xs.iter().map(|x| format!("{x}")))
        .collect::<Vec<_>>()
        .join("\n");
    table(&csv, ContributionBound::one_row_per_unit())
}

fn eps(e: f64) -> EpsilonAmount {
    EpsilonAmount::from_f64_down(e).unwrap()
}

fn claim(e: f64) -> PrivacyCost {
    PrivacyCost { epsilon: eps(e), delta: DeltaAmount::ZERO }
}

/// The budgets of a statistic and of its broken twin, both claiming ε = 1.
fn calibrations(broken_by: f64) -> [(NoiseBudget, bool); 2] {
    [(NoiseBudget::Pure(eps(1.0)), true), (NoiseBudget::Pure(eps(broken_by)), false)]
}

fn bucket(v: f64, scale: f64, reach: i64) -> i64 {
    ((v * scale).floor() as i64).clamp(-reach, reach)
}

#[test]
fn count_and_sum_keep_their_epsilon_and_broken_twins_are_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(2000);
    let n = 200_000;
    // Neighbours: 30 patients, and the same with one more whose value is the upper bound.
    let base = vec![0.0; 30];
    let mut more = base.clone();
    more.push(1.0);
    let (x, x_prime) = (values(&base), values(&more));
    let bounds = Bounds::new("v", 0.0, 1.0).unwrap();
    for (budget, must_pass) in calibrations(2.0) {
        let count = DpCount::new(1, budget, claim(1.0)).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            "count",
            || bucket(count.release(&x, &mut rng).unwrap().value - 30.0, 1.0, 10),
            || bucket(count.release(&x_prime, &mut r2).unwrap().value - 30.0, 1.0, 10),
        );
        assert_eq!(e <= 1.0, must_pass, "count: ε̂ = {e}");
        let sum = DpSum::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, claim(1.0)).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            "sum",
            || bucket(sum.release(&x, &mut rng).unwrap().value, 1.0, 10),
            || bucket(sum.release(&x_prime, &mut r2).unwrap().value, 1.0, 10),
        );
        assert_eq!(e <= 1.0, must_pass, "sum: ε̂ = {e}");
    }
}

#[test]
fn mean_and_variance_keep_their_epsilon_and_broken_twins_are_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(2001);
    let n = 100_000;
    // Few values, so that one more patient moves the statistics far.
    let base = vec![0.0; 4];
    let mut more = base.clone();
    more.push(1.0);
    let (x, x_prime) = (values(&base), values(&more));
    let bounds = Bounds::new("v", 0.0, 1.0).unwrap();
    for (budget, must_pass) in calibrations(4.0) {
        let mean =
            DpMean::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, claim(1.0)).unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            "mean",
            || bucket(mean.release(&x, &mut rng).unwrap().value, 10.0, 20),
            || bucket(mean.release(&x_prime, &mut r2).unwrap().value, 10.0, 20),
        );
        assert_eq!(e <= 1.0, must_pass, "mean: ε̂ = {e}");
        let var =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, claim(1.0), false)
                .unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            "variance",
            || bucket(var.release(&x, &mut rng).unwrap().value, 40.0, 20),
            || bucket(var.release(&x_prime, &mut r2).unwrap().value, 40.0, 20),
        );
        assert_eq!(e <= 1.0, must_pass, "variance: ε̂ = {e}");
    }
}

#[test]
fn median_keeps_its_epsilon_and_a_broken_twin_is_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(2002);
    let n = 50_000;
    // One value at 0.2, then a second at 0.8: the exact medians move from [0, 0.2] to
    // [0.2, 0.8], the configuration where the exponential mechanism's loss is largest
    // (about 0.7·ε here, against ε claimed).
    let (x, x_prime) = (values(&[0.2]), values(&[0.2, 0.8]));
    let bounds = Bounds::new("v", 0.0, 1.0).unwrap();
    for (mechanism_epsilon, must_pass) in [(1.0, true), (2.0, false)] {
        let median = DpQuantile::new(
            "v",
            0.5,
            bounds,
            NonFinitePolicy::Refuse,
            1,
            eps(mechanism_epsilon),
            claim(1.0),
        )
        .unwrap();
        let mut r2 = rng.fork();
        let e = audit(
            n,
            "median",
            || bucket(median.release(&x, &mut rng).unwrap().value, 10.0, 10),
            || bucket(median.release(&x_prime, &mut r2).unwrap().value, 10.0, 10),
        );
        assert_eq!(e <= 1.0, must_pass, "median at ε = {mechanism_epsilon}: ε̂ = {e}");
    }
}

fn patients(rows: &[(&str, &str)]) -> BoundedTable {
    let mut csv = String::from("pid,dx\n");
    for (pid, dx) in rows {
        csv += &format!("{pid},{dx}\n");
    }
    table(&csv, ContributionBound::per_unit("pid", 1).unwrap())
}

#[test]
fn histogram_keeps_its_epsilon_and_a_broken_twin_is_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(2003);
    let n = 40_000;
    // Patients with up to two diagnoses (G = 2, K = 1); the added patient has both.
    let mut rows: Vec<(String, &str)> = (0..20).map(|i| (format!("p{i}"), "a")).collect();
    rows.extend((0..20).map(|i| (format!("q{i}"), "b")));
    let base: Vec<(&str, &str)> = rows.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let mut more = base.clone();
    more.extend([("new", "a"), ("new", "b")]);
    let (x, x_prime) = (patients(&base), patients(&more));
    let grouping = || Grouping {
        by: "dx".into(),
        categories: Some(vec!["a".into(), "b".into()]),
        unit: Some("pid".into()),
        bound: GroupBound::new(2, 1).unwrap(),
    };
    for (mechanism_epsilon, must_pass) in [(1.0, true), (2.0, false)] {
        let broken = PrivacyCost { epsilon: eps(mechanism_epsilon), delta: DeltaAmount::ZERO };
        let h = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            grouping(),
            NonFinitePolicy::Refuse,
            broken,
            false,
        )
        .unwrap();
        // The pair of bin counts, each bucketed: the joint output, as released.
        let run = |t: &BoundedTable, rng: &mut SecureRng| {
            let e = h.release(t, rng).unwrap();
            let a = bucket(e.groups[0].value - 20.0, 1.0, 5);
            let b = bucket(e.groups[1].value - 20.0, 1.0, 5);
            a * 100 + b
        };
        let mut r2 = rng.fork();
        let e = audit(n, "histogram", || run(&x, &mut rng), || run(&x_prime, &mut r2));
        assert_eq!(e <= 1.0, must_pass, "histogram at ε = {mechanism_epsilon}: ε̂ = {e}");
    }
}

#[test]
fn partition_selection_keeps_its_delta_and_a_broken_twin_is_caught() {
    let mut rng = SecureRng::seeded_for_tests_only(2004);
    let n = 50_000;
    // One group of 30 patients; the neighbour adds a patient in that group and in a group of
    // its own (G = 2).
    let rows: Vec<(String, &str)> = (0..30).map(|i| (format!("p{i}"), "common")).collect();
    let base: Vec<(&str, &str)> = rows.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let mut more = base.clone();
    more.extend([("new", "common"), ("new", "rare")]);
    let (x, x_prime) = (patients(&base), patients(&more));
    let grouping = Grouping {
        by: "dx".into(),
        categories: None,
        unit: Some("pid".into()),
        bound: GroupBound::new(2, 1).unwrap(),
    };
    let (epsilon, delta) = (1.0f64, 0.01);
    // Output: whether "rare" is released (event S) and the bucketed count of "common".
    let run = |m: &DpGrouped, t: &BoundedTable, rng: &mut SecureRng| {
        let e = m.release(t, rng).unwrap();
        let rare = e.groups.iter().any(|g| g.key.as_deref() == Some("rare"));
        let common = e.groups.iter().find(|g| g.key.as_deref() == Some("common"));
        let c = common.map_or(-99, |g| bucket(g.value - 30.0, 1.0, 8));
        (i64::from(rare), c)
    };
    for (calibrated_delta, must_pass) in [(delta, true), (0.5, false)] {
        let cost = PrivacyCost {
            epsilon: eps(epsilon),
            delta: DeltaAmount::from_f64_down(calibrated_delta).unwrap(),
        };
        let m = DpGrouped::new(
            GroupedStatistic::Count,
            None,
            grouping.clone(),
            NonFinitePolicy::Refuse,
            cost,
            false,
        )
        .unwrap();
        let mut r2 = rng.fork();
        let a = histogram(n, || run(&m, &x, &mut rng).0);
        let b = histogram(n, || run(&m, &x_prime, &mut r2).0);
        // P(S | x′) − e^ε·P(S | x): the event that the new patient's group appears.
        let d = delta_lower_bound(&b, &a, n, epsilon);
        eprintln!("partition selection calibrated for δ = {calibrated_delta}: δ̂ = {d:.5}");
        assert_eq!(d <= delta, must_pass, "partition selection: audited δ {d} against {delta}");
        if must_pass {
            // The released count of the common group (its noise is the selection's, at ε/G)
            // keeps ε.
            let mut r2 = rng.fork();
            let e = audit(
                n,
                "selection count",
                || run(&m, &x, &mut rng).1,
                || run(&m, &x_prime, &mut r2).1,
            );
            assert!(e <= epsilon, "selection count ε̂ = {e}");
        }
    }
}

#[test]
fn gaussian_count_keeps_its_delta_at_the_exact_profile() {
    // (ε, δ) = (1, 0.05), calibrated by the exact privacy profile: the audit bounds
    // P(Y ≥ c | x) − e^ε·P(Y ≥ c | x′) from below over thresholds c.
    let mut rng = SecureRng::seeded_for_tests_only(2005);
    let n = 200_000;
    let (x, x_prime) = (values(&[0.0; 10]), values(&[0.0; 11]));
    let delta = 0.05;
    for (calibrated_delta, must_pass) in [(delta, true), (0.4, false)] {
        let budget = NoiseBudget::Approximate {
            epsilon: eps(1.0),
            delta: DeltaAmount::from_f64_down(calibrated_delta).unwrap(),
        };
        let cost =
            PrivacyCost { epsilon: eps(1.0), delta: DeltaAmount::from_f64_down(delta).unwrap() };
        let count = DpCount::new(1, budget, cost).unwrap();
        let mut r2 = rng.fork();
        let a = histogram(n, || {
            bucket(count.release(&x_prime, &mut rng).unwrap().value - 10.0, 1.0, 12)
        });
        let b = histogram(n, || bucket(count.release(&x, &mut r2).unwrap().value - 10.0, 1.0, 12));
        let d = delta_lower_bound(&a, &b, n, 1.0);
        eprintln!("gaussian count calibrated for δ = {calibrated_delta}: δ̂ = {d:.4}");
        assert_eq!(d <= delta, must_pass, "gaussian count: audited δ {d} against {delta}");
    }
}
