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
//! - **sample uniques**, and **population uniques** estimated with Zayatz's (1991) method from
//!   the class-size frequencies and the sampling fraction.

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
    /// Zayatz's estimate of the share of released records unique in the population.
    pub population_uniques_zayatz: f64,
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
        population_uniques_zayatz: share(zayatz(count, records, fraction)),
        sampling_fraction: fraction,
    }
}

/// Zayatz (1991): the number of population uniques, estimated as the sample uniques times the
/// probability that a sample unique comes from a population unique, with the class-size
/// distribution of the sample standing in for the population's and hypergeometric sampling.
// FIXME: Zayatz uses the sample's class sizes for the population's; Pitman's estimator
// (Hoshino 2001) is more accurate at small sampling fractions and should be offered too.
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
