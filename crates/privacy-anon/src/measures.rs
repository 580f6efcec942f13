//! Utility and re-identification risk of a release, computed in one pass over its classes.
//!
//! Utility (suppressed records count as fully generalized, see [`crate::metric`]): loss (ARX's
//! definition), precision, non-uniform entropy, discernibility, average equivalence class size.
//!
//! Risk, over the records that are released (El Emam 2013, *Guide to the De-Identification of
//! Personal Health Information*; Dankar & El Emam 2010):
//! - **prosecutor**: the attacker knows the target is in the data; a record's risk is 1 / its
//!   class size. Highest, average (= classes / records) and the share of records whose risk
//!   exceeds a threshold.
//! - **journalist**: the attacker does not know; a record's risk is 1 / the number of
//!   population records in its class. Needs a population table; without one it equals the
//!   prosecutor risk, which is an upper bound.
//! - **marketer**: the expected share of records re-identified when every record is attacked:
//!   classes / records (prosecutor) or Σ class size / population class size / records.
//! - **sample uniques**, and **population uniques**: the share of the population that is alone
//!   in its class, estimated from the class-size frequencies of the release and the sampling
//!   fraction f (records / population), with two models:
//!   - Zayatz (1991): the sample uniques times the probability that a sample unique comes from a
//!     population unique, the sample's class-size distribution standing in for the
//!     population's, with hypergeometric sampling; divided by f to count the population's
//!     uniques.
//!   - Pitman (Hoshino 2001): the class sizes follow Pitman's two-parameter sampling formula;
//!     θ and α are fitted by maximum likelihood (Newton's method on the exact score
//!     equations), and the population's uniques are `Γ(θ+1)/Γ(θ+α) · N^α` (Hoshino 2001, eq. 14;
//!     the expected number of singletons of a Pitman partition of N).
//!
//!   Both are shares of the population size N = records / f. The reported `population_uniques`
//!   follows the decision rule of Dankar, El Emam, Neisa and Roffey (2012, *BMC Med Inform Decis
//!   Mak* 12:66), as ARX applies it without the SNB model: Pitman when f ≤ 0.1 and its fit
//!   converges, otherwise Zayatz. Which model was used is reported.

use serde::Serialize;

use crate::encode::EncodedTable;
use crate::groups::{bits_for, dense_ids};
use crate::release::Release;

/// Utility of a release.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Utility {
    /// ARX's loss metric in [0, 1].
    pub loss: f64,
    /// Loss per quasi-identifier, in job order.
    pub loss_per_attribute: Vec<f64>,
    /// Generalization height in [0, 1] (1 − Sweeney's precision).
    pub precision_loss: f64,
    /// Non-uniform entropy, bits.
    pub non_uniform_entropy: f64,
    /// Discernibility.
    pub discernibility: f64,
    /// Average equivalence class size (suppressed records count as one class).
    pub average_class_size: f64,
}

/// Re-identification risk of a release.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Risk {
    /// Released (not suppressed) records.
    pub records: u64,
    /// Equivalence classes among them.
    pub classes: u64,
    /// The smallest class.
    pub smallest_class: u64,
    /// Prosecutor risk: highest record risk.
    pub prosecutor_highest: f64,
    /// Prosecutor risk: average record risk.
    pub prosecutor_average: f64,
    /// Share of records whose prosecutor risk exceeds `threshold`.
    pub prosecutor_records_at_risk: f64,
    /// Journalist risk: highest.
    pub journalist_highest: f64,
    /// Journalist risk: average.
    pub journalist_average: f64,
    /// Share of records whose journalist risk exceeds `threshold`.
    pub journalist_records_at_risk: f64,
    /// Marketer risk (journalist variant when a population is given).
    pub marketer: f64,
    /// Whether journalist figures come from a population table.
    pub population_table: bool,
    /// The risk threshold used for "records at risk".
    pub threshold: f64,
    /// Share of released records alone in their class.
    pub sample_uniques: f64,
    /// Zayatz's estimate of the share of the population that is unique.
    pub population_uniques_zayatz: f64,
    /// Pitman's estimate of the same share; `None` when the maximum-likelihood fit of θ and α
    /// did not converge (then Zayatz is used).
    pub population_uniques_pitman: Option<f64>,
    /// The estimate chosen by Dankar et al.'s decision rule (see the module docs).
    pub population_uniques: f64,
    /// Which model gave `population_uniques`: `none` (no sample unique, or a census),
    /// `pitman` or `zayatz`.
    pub population_uniqueness_model: &'static str,
    /// The sampling fraction the estimate assumes.
    pub sampling_fraction: f64,
}

/// Computes utility and risk of `release` of `table`.
pub fn measure(
    table: &EncodedTable,
    release: &Release,
    threshold: f64,
    sampling_fraction: f64,
) -> (Utility, Risk) {
    let n = release.rows();
    let pop_rows = release.population_cells.as_ref().map_or(0, |p| p.first().map_or(0, Vec::len));
    let bits: Vec<u32> = release.columns.iter().map(|c| bits_for(c.labels.len())).collect();
    // Suppressed records are left out of classes: they get their own id, dropped below.
    let code = |i: usize, d: usize| -> u32 {
        if i < n {
            release.columns[d].cells[i]
        } else {
            release.population_cells.as_ref().map_or(0, |p| p[d][i - n])
        }
    };
    let (class_of, firsts) = dense_ids(n + pop_rows, &bits, code);
    let mut count = vec![0u64; firsts.len()];
    let mut pcount = vec![0u64; firsts.len()];
    for (i, &c) in class_of.iter().enumerate() {
        if i < n {
            if !release.suppressed[i] {
                count[c as usize] += 1;
            }
        } else {
            pcount[c as usize] += 1;
        }
    }
    let utility = utility(table, release, &count);
    let risk = risk(&count, (pop_rows > 0).then_some(&pcount[..]), threshold, sampling_fraction);
    (utility, risk)
}

fn utility(table: &EncodedTable, release: &Release, count: &[u64]) -> Utility {
    let n = release.rows() as f64;
    let suppressed = release.suppressed_count() as f64;
    let mut loss_per_attribute = Vec::new();
    let mut precision = 0.0;
    let mut entropy = 0.0;
    for (d, column) in release.columns.iter().enumerate() {
        let (mut share, mut height, mut bits) = (0.0, 0.0, 0.0);
        for (row, &cell) in column.cells.iter().enumerate() {
            if release.suppressed[row] {
                continue;
            }
            let info = column.info[cell as usize];
            share += f64::from(info.leaves) / f64::from(column.domain);
            height += info.height;
            bits += f64::from(info.records.max(1)).log2();
        }
        share += suppressed;
        height += suppressed;
        bits += suppressed * n.max(1.0).log2();
        let min = n / f64::from(column.domain);
        loss_per_attribute.push(if n - min <= 0.0 {
            0.0
        } else {
            ((share - min) / (n - min)).max(0.0)
        });
        precision += if n > 0.0 { height / n } else { 0.0 };
        let mut leaf_counts = vec![0u32; table.quasi[d].hierarchy.leaf_count()];
        table.quasi[d].codes.iter().for_each(|&c| leaf_counts[c as usize] += 1);
        let base: f64 = leaf_counts
            .iter()
            .filter(|&&k| k > 0)
            .map(|&k| f64::from(k) * f64::from(k).log2())
            .sum();
        entropy += bits - base;
    }
    let dims = release.columns.len().max(1) as f64;
    let loss = (loss_per_attribute.iter().map(|l| (1.0 + l).ln()).sum::<f64>() / dims).exp() - 1.0;
    let kept: Vec<u64> = count.iter().copied().filter(|&c| c > 0).collect();
    let discernibility = kept.iter().map(|&c| (c * c) as f64).sum::<f64>() + suppressed * n;
    let classes = kept.len() as f64 + if suppressed > 0.0 { 1.0 } else { 0.0 };
    Utility {
        loss,
        loss_per_attribute,
        precision_loss: precision / dims,
        non_uniform_entropy: entropy,
        discernibility,
        average_class_size: if classes > 0.0 { n / classes } else { 0.0 },
    }
}

fn risk(count: &[u64], pcount: Option<&[u64]>, threshold: f64, fraction: f64) -> Risk {
    let mut records = 0u64;
    let mut classes = 0u64;
    let mut smallest = u64::MAX;
    let mut uniques = 0u64;
    let mut p_at_risk = 0u64;
    let (mut j_high, mut j_sum, mut j_at_risk) = (0.0f64, 0.0f64, 0u64);
    for (c, &size) in count.iter().enumerate() {
        if size == 0 {
            continue;
        }
        records += size;
        classes += 1;
        smallest = smallest.min(size);
        uniques += u64::from(size == 1);
        if 1.0 / size as f64 > threshold {
            p_at_risk += size;
        }
        // The population contains the data, so a class has at least its own records there.
        let population = pcount.map_or(size, |p| p[c].max(size));
        let j = 1.0 / population as f64;
        j_high = j_high.max(j);
        j_sum += size as f64 * j;
        if j > threshold {
            j_at_risk += size;
        }
    }
    let share = |x: f64| if records > 0 { x / records as f64 } else { 0.0 };
    let uniqueness = population_uniqueness(count, records, fraction);
    Risk {
        records,
        classes,
        smallest_class: if classes > 0 { smallest } else { 0 },
        prosecutor_highest: if classes > 0 { 1.0 / smallest as f64 } else { 0.0 },
        prosecutor_average: share(classes as f64),
        prosecutor_records_at_risk: share(p_at_risk as f64),
        journalist_highest: j_high,
        journalist_average: share(j_sum),
        journalist_records_at_risk: share(j_at_risk as f64),
        marketer: share(j_sum),
        population_table: pcount.is_some(),
        threshold,
        sample_uniques: share(uniques as f64),
        population_uniques_zayatz: uniqueness.zayatz,
        population_uniques_pitman: uniqueness.pitman,
        population_uniques: uniqueness.chosen,
        population_uniqueness_model: uniqueness.model,
        sampling_fraction: fraction,
    }
}

/// Population-uniqueness estimates of a release, as shares of the population.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniqueness {
    /// Zayatz's estimate.
    pub zayatz: f64,
    /// Pitman's estimate, when its fit converged.
    pub pitman: Option<f64>,
    /// The one chosen by Dankar et al.'s rule.
    pub chosen: f64,
    /// `none`, `pitman` or `zayatz`.
    pub model: &'static str,
}

/// Zayatz's and Pitman's estimates of the share of the population that is unique, and the one
/// Dankar et al.'s rule picks, for classes of sizes `count` (zeros ignored) holding `n`
/// records sampled with fraction `fraction` from the population.
pub fn population_uniqueness(count: &[u64], n: u64, fraction: f64) -> Uniqueness {
    let uniques = count.iter().filter(|&&c| c == 1).count();
    if uniques == 0 || n == 0 || fraction.is_nan() || fraction <= 0.0 {
        return Uniqueness { zayatz: 0.0, pitman: Some(0.0), chosen: 0.0, model: "none" };
    }
    let fraction = fraction.min(1.0);
    let population = n as f64 / fraction;
    if fraction >= 1.0 {
        // A census: the sample uniques are the population uniques.
        let share = uniques as f64 / n as f64;
        return Uniqueness { zayatz: share, pitman: Some(share), chosen: share, model: "none" };
    }
    let zayatz = (zayatz(count, n, fraction) / population).clamp(0.0, 1.0);
    let pitman = pitman(count, n, fraction).map(|u| (u / population).clamp(0.0, 1.0));
    match pitman {
        Some(p) if fraction <= 0.1 => Uniqueness { zayatz, pitman, chosen: p, model: "pitman" },
        _ => Uniqueness { zayatz, pitman, chosen: zayatz, model: "zayatz" },
    }
}

/// Zayatz (1991): the number of population uniques, estimated as the sample uniques times the
/// probability that a sample unique comes from a population unique (the class-size
/// distribution of the sample standing in for the population's, hypergeometric sampling),
/// divided by the sampling fraction.
pub fn zayatz(count: &[u64], n: u64, fraction: f64) -> f64 {
    let uniques = count.iter().filter(|&&c| c == 1).count() as f64;
    if uniques == 0.0 || n == 0 {
        return 0.0;
    }
    if fraction >= 1.0 {
        return uniques;
    }
    let population = n as f64 / fraction;
    let mut sizes: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    for &c in count.iter().filter(|&&c| c > 0) {
        *sizes.entry(c).or_default() += 1.0;
    }
    let classes: f64 = sizes.values().sum();
    let mut denominator = 0.0;
    for (&size, &f) in &sizes {
        denominator += f / classes * hypergeometric_one(population, size, n as f64);
    }
    let numerator = uniques / classes * hypergeometric_one(population, 1, n as f64);
    if denominator <= 0.0 {
        return uniques;
    }
    uniques * numerator / denominator / fraction
}

/// P(X = 1) for X hypergeometric: `successes` marked among `population`, `draws` drawn:
/// i · (n/N) · Π_{j=0}^{i−2} (N − n − j) / Π_{j=1}^{i−1} (N − j), in log space.
fn hypergeometric_one(population: f64, successes: u64, draws: f64) -> f64 {
    let i = successes as f64;
    let mut log = i.ln() + (draws / population).ln();
    for j in 0..successes.saturating_sub(1) {
        let num = population - draws - j as f64;
        if num <= 0.0 {
            return 0.0;
        }
        log += num.ln() - (population - (j + 1) as f64).ln();
    }
    log.exp()
}

/// Pitman's model (Hoshino 2001): the number of population uniques, `Γ(θ+1)/Γ(θ+α) · N^α`
/// with θ, α the maximum-likelihood estimates from the sample's class sizes and N = n / f.
/// `None` when the fit does not converge to a point with 0 < α < 1 and θ > −α, or the result
/// is not in [0, N].
///
/// The log-likelihood of a sample of n records in K classes, `f_j` of size j, is (Pitman 1995)
/// `Σ_{i=1}^{K−1} ln(θ + iα) − Σ_{i=1}^{n−1} ln(θ + i) + Σ_j f_j Σ_{k=1}^{j−1} ln(k − α)`;
/// Newton's method solves its score equations with the exact Hessian (all sums are evaluated
/// term by term, O(n) per iteration), with step halving to stay in the parameter space and
/// decrease the score.
pub fn pitman(count: &[u64], n: u64, fraction: f64) -> Option<f64> {
    let fit = PitmanFit::new(count, n)?;
    let (theta, alpha) = fit.solve()?;
    let population = n as f64 / fraction;
    let log = libm::lgamma(theta + 1.0) - libm::lgamma(theta + alpha) + alpha * population.ln();
    let uniques = log.exp();
    (uniques.is_finite() && (0.0..=population).contains(&uniques)).then_some(uniques)
}

/// The sufficient statistics of Pitman's likelihood.
struct PitmanFit {
    /// Classes K.
    classes: u64,
    /// Records n.
    records: u64,
    /// `weights[k]`, k ≥ 1: classes of size > k (the multiplicity of ln(k − α)).
    weights: Vec<f64>,
    /// Classes of size 1.
    singletons: u64,
}

impl PitmanFit {
    fn new(count: &[u64], n: u64) -> Option<Self> {
        let sizes: Vec<u64> = count.iter().copied().filter(|&c| c > 0).collect();
        let classes = sizes.len() as u64;
        let largest = sizes.iter().copied().max()? as usize;
        let mut at = vec![0f64; largest + 1];
        sizes.iter().for_each(|&s| at[s as usize] += 1.0);
        // weights[k] = Σ_{j > k} f_j.
        let mut weights = vec![0f64; largest + 1];
        let mut above = 0.0;
        for k in (1..=largest).rev() {
            weights[k] = above;
            above += at[k];
        }
        let singletons = sizes.iter().filter(|&&s| s == 1).count() as u64;
        // All classes unique or one class: the likelihood has no interior maximum.
        (classes >= 2 && singletons < classes && n > classes).then_some(Self {
            classes,
            records: n,
            weights,
            singletons,
        })
    }

    /// The score (∂L/∂θ, ∂L/∂α) and the Hessian [[a, b], [b, c]].
    fn derivatives(&self, theta: f64, alpha: f64) -> ([f64; 2], [f64; 3]) {
        let (mut g1, mut g2, mut h11, mut h12, mut h22) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 1..self.classes {
            let i = i as f64;
            let d = theta + i * alpha;
            g1 += 1.0 / d;
            g2 += i / d;
            h11 -= 1.0 / (d * d);
            h12 -= i / (d * d);
            h22 -= i * i / (d * d);
        }
        for i in 1..self.records {
            let d = theta + i as f64;
            g1 -= 1.0 / d;
            h11 += 1.0 / (d * d);
        }
        for (k, &w) in self.weights.iter().enumerate().skip(1) {
            if w > 0.0 {
                let d = k as f64 - alpha;
                g2 -= w / d;
                h22 -= w / (d * d);
            }
        }
        ([g1, g2], [h11, h12, h22])
    }

    fn feasible(theta: f64, alpha: f64) -> bool {
        alpha > 0.0 && alpha < 1.0 && theta > -alpha && theta.is_finite()
    }

    fn solve(&self) -> Option<(f64, f64)> {
        // Start: the share of singleton classes approximates α for large samples; θ from the
        // mean class count of the Ewens case, kept positive.
        let mut alpha = (self.singletons as f64 / self.classes as f64).clamp(0.05, 0.95);
        let mut theta = (self.classes as f64 / (self.records as f64).ln().max(1.0)).max(0.5);
        let norm = |g: [f64; 2]| g[0].abs() + g[1].abs();
        let (mut g, mut h) = self.derivatives(theta, alpha);
        for _ in 0..200 {
            if norm(g) < 1e-9 * (1.0 + self.records as f64).ln() {
                return Some((theta, alpha));
            }
            let det = h[0] * h[2] - h[1] * h[1];
            if !det.is_finite() || det == 0.0 {
                return None;
            }
            // Newton step: −H⁻¹ g.
            let step_t = -(h[2] * g[0] - h[1] * g[1]) / det;
            let step_a = -(h[0] * g[1] - h[1] * g[0]) / det;
            let mut scale = 1.0;
            loop {
                let (t, a) = (theta + scale * step_t, alpha + scale * step_a);
                if Self::feasible(t, a) {
                    let (g_new, h_new) = self.derivatives(t, a);
                    if norm(g_new) < norm(g) || scale < 1e-6 {
                        theta = t;
                        alpha = a;
                        g = g_new;
                        h = h_new;
                        break;
                    }
                }
                scale *= 0.5;
                if scale < 1e-12 {
                    return None;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zayatz_is_the_sample_uniques_for_a_census_and_fewer_for_a_sample() {
        let count = [1, 1, 2, 5, 1];
        assert_eq!(zayatz(&count, 10, 1.0), 3.0);
        let estimate = zayatz(&count, 10, 0.1);
        assert!(estimate > 0.0 && estimate.is_finite(), "{estimate}");
        assert!((hypergeometric_one(10.0, 1, 10.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zayatz_by_hand() {
        // Classes {1, 1, 2}: n = 4, f = 0.5, N = 8. P(X=1) for a class of size 1 is 4/8; for
        // size 2 it is C(2,1)·C(6,3)/C(8,4) = 40/70 = 4/7. P(unique | sample unique) =
        // (2/3 · 1/2) / (2/3 · 1/2 + 1/3 · 4/7) = 7/11; population uniques 2 · 7/11 / 0.5 =
        // 28/11, a share 28/11 / 8 = 7/22 of the population.
        assert!((zayatz(&[1, 1, 2], 4, 0.5) - 28.0 / 11.0).abs() < 1e-12);
        let u = population_uniqueness(&[1, 1, 2], 4, 0.5);
        assert!((u.zayatz - 7.0 / 22.0).abs() < 1e-12, "{u:?}");
        assert_eq!(u.model, "zayatz", "f > 0.1 uses Zayatz");
        // Bug 1: a sample of uniques at f = 0.1 is at most the whole population, never 1000%.
        let all_unique = vec![1u64; 100];
        let u = population_uniqueness(&all_unique, 100, 0.1);
        assert!(u.zayatz <= 1.0 && u.chosen <= 1.0, "{u:?}");
    }

    #[test]
    fn pitman_fit_solves_the_score_equations_and_matches_hand_values() {
        // Classes: 30 of size 1, 10 of size 2, 5 of size 3, 2 of size 10 (n = 85, K = 47).
        let mut count = vec![1u64; 30];
        count.extend([2u64; 10]);
        count.extend([3u64; 5]);
        count.extend([10u64; 2]);
        let n: u64 = count.iter().sum();
        let fit = PitmanFit::new(&count, n).unwrap();
        let (theta, alpha) = fit.solve().unwrap();
        assert!(alpha > 0.0 && alpha < 1.0 && theta > -alpha, "{theta} {alpha}");
        // Reference: the log-likelihood maximized directly (SciPy 1.15 Nelder–Mead, not its
        // score equations) gives θ = 22.80066, α = 0.340283 and 78.4938 uniques at N = 850.
        assert!((theta - 22.80066).abs() < 1e-3 && (alpha - 0.340283).abs() < 1e-5);
        assert!((pitman(&count, n, 0.1).unwrap() - 78.4938).abs() < 1e-2);
        // The score, summed directly from its definition, vanishes at the estimate.
        let k = count.len();
        let g1: f64 = (1..k).map(|i| 1.0 / (theta + i as f64 * alpha)).sum::<f64>()
            - (1..n).map(|i| 1.0 / (theta + i as f64)).sum::<f64>();
        let g2: f64 = (1..k).map(|i| i as f64 / (theta + i as f64 * alpha)).sum::<f64>()
            - count
                .iter()
                .map(|&j| (1..j).map(|q| 1.0 / (q as f64 - alpha)).sum::<f64>())
                .sum::<f64>();
        assert!(g1.abs() < 1e-7 && g2.abs() < 1e-7, "{g1} {g2}");
        // The uniques formula at the estimate: Γ(θ+1)/Γ(θ+α) · N^α, N = 850.
        let expected =
            (libm::lgamma(theta + 1.0) - libm::lgamma(theta + alpha)).exp() * 850f64.powf(alpha);
        assert!((pitman(&count, n, 0.1).unwrap() - expected).abs() < 1e-9);
        // By hand at θ = 1, α = ½, N = 10⁴: Γ(2)/Γ(3/2) · 100 = 100 · 2/√π = 112.837917.
        let by_hand = (libm::lgamma(2.0) - libm::lgamma(1.5)).exp() * 1e4f64.powf(0.5);
        assert!((by_hand - 112.837_916_709_551).abs() < 1e-6);
        // At f ≤ 0.1 the decision rule reports Pitman.
        let u = population_uniqueness(&count, n, 0.1);
        assert_eq!(u.model, "pitman");
        assert!((u.chosen - expected / 850.0).abs() < 1e-12);
        // No uniques: nothing to estimate.
        assert_eq!(population_uniqueness(&[2, 3], 5, 0.1).chosen, 0.0);
    }

    #[test]
    fn risk_figures_of_small_classes() {
        let r = risk(&[1, 2, 5, 0], None, 0.2, 1.0);
        assert_eq!((r.records, r.classes, r.smallest_class), (8, 3, 1));
        assert_eq!(r.prosecutor_highest, 1.0);
        assert!((r.prosecutor_average - 3.0 / 8.0).abs() < 1e-12);
        assert!((r.prosecutor_records_at_risk - 3.0 / 8.0).abs() < 1e-12);
        assert!((r.sample_uniques - 1.0 / 8.0).abs() < 1e-12);
        assert_eq!(r.journalist_highest, r.prosecutor_highest);
    }
}
