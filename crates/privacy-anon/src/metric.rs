//! Utility metrics the search optimizes, with the lower bounds that let it prune.
//!
//! | metric | definition (suppressed records count as fully generalized) | monotone |
//! |---|---|---|
//! | `loss` | ARX's Loss: per attribute, Σ records · (domain share of the label), normalized to [0, 1] by (x − n/|D|)/(n − n/|D|); attributes combined by the geometric mean of (1 + x), minus 1 (Iyengar 2002; Prasser et al., ARX) | no suppression |
//! | `precision` | mean over attributes and records of level / height (Sweeney 2002's Prec is 1 minus this) | no suppression |
//! | `entropy` | non-uniform entropy, Σ records · attributes of log₂(records under the label / records with the value), in bits (Gionis & Tassa 2009) | no suppression |
//! | `discernibility` | Σ kept classes |C|² + suppressed · n (Bayardo & Agrawal 2005) | no suppression |
//! | `aecs` | n / (kept classes + 1 if any record is suppressed) (LeFevre et al. 2006) | no suppression |
//!
//! The domain of an attribute is its hierarchy's leaves (ARX's convention, so a hierarchy that
//! lists ages 1..100 has a domain of 100 even if the data holds 74 of them).
//!
//! Lower bound of a node: the metric with no record suppressed (every record at its
//! generalized label). It depends on the levels only, is monotone along the lattice, and never
//! exceeds the metric, since a suppressed record costs at least what it would cost generalized.

use serde::{Deserialize, Serialize};

use crate::encode::EncodedTable;
use crate::groups::Groups;

/// The utility metric that the search minimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Metric {
    /// ARX's Loss metric (geometric aggregation).
    #[default]
    Loss,
    /// Generalization height (1 − Sweeney's precision).
    Precision,
    /// Non-uniform entropy in bits.
    Entropy,
    /// Discernibility.
    Discernibility,
    /// Average equivalence class size.
    Aecs,
}

/// Per-attribute costs of each label, prepared for one table.
#[derive(Clone, Debug)]
pub struct MetricTables {
    metric: Metric,
    records: f64,
    /// `cost[d][level][label]`: what one record at that label costs on attribute `d`.
    cost: Vec<Vec<Vec<f64>>>,
    /// `suppressed[d]`: what one suppressed record costs on attribute `d`.
    suppressed: Vec<f64>,
    /// `bound[d][level]`: the attribute's total cost with every record generalized.
    bound: Vec<Vec<f64>>,
    /// Per attribute, the constant subtracted from raw sums (entropy's Σ log₂ value counts) or
    /// n / |D| for the loss normalization.
    offset: Vec<f64>,
}

impl MetricTables {
    /// Prepares `metric` for `table`.
    pub fn new(metric: Metric, table: &EncodedTable) -> Self {
        let n = table.rows as f64;
        let mut cost = Vec::new();
        let mut suppressed = Vec::new();
        let mut bound = Vec::new();
        let mut offset = Vec::new();
        for column in &table.quasi {
            let h = &column.hierarchy;
            let leaves = h.leaf_count();
            let mut leaf_counts = vec![0u32; leaves];
            column.codes.iter().for_each(|&c| leaf_counts[c as usize] += 1);
            let height = (h.levels() - 1).max(1) as f64;
            let per_level: Vec<Vec<f64>> = (0..h.levels())
                .map(|level| {
                    let mut records_under = vec![0u32; h.label_count(level)];
                    for (leaf, &k) in leaf_counts.iter().enumerate() {
                        records_under[h.generalize(level, leaf as u32) as usize] += k;
                    }
                    (0..h.label_count(level) as u32)
                        .map(|label| match metric {
                            Metric::Loss => f64::from(h.leaves_under(level, label)) / leaves as f64,
                            Metric::Precision => {
                                if h.levels() == 1 {
                                    0.0
                                } else {
                                    level as f64 / height
                                }
                            }
                            Metric::Entropy => {
                                f64::from(records_under[label as usize].max(1)).log2()
                            }
                            Metric::Discernibility | Metric::Aecs => 0.0,
                        })
                        .collect()
                })
                .collect();
            let dim_bound = (0..h.levels())
                .map(|level| {
                    leaf_counts
                        .iter()
                        .enumerate()
                        .map(|(leaf, &k)| {
                            f64::from(k)
                                * per_level[level][h.generalize(level, leaf as u32) as usize]
                        })
                        .sum()
                })
                .collect();
            suppressed.push(match metric {
                Metric::Entropy => n.max(1.0).log2(),
                _ => 1.0,
            });
            offset.push(match metric {
                Metric::Loss => n / leaves as f64,
                Metric::Entropy => leaf_counts
                    .iter()
                    .filter(|&&k| k > 0)
                    .map(|&k| f64::from(k) * f64::from(k).log2())
                    .sum(),
                _ => 0.0,
            });
            cost.push(per_level);
            bound.push(dim_bound);
        }
        Self { metric, records: n, cost, suppressed, bound, offset }
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The value of the metric for classes `groups` at `levels`, where `kept[c]` says whether
    /// class `c` is released (population-only classes are ignored).
    pub fn value(
        &self,
        groups: &Groups,
        levels: &[usize],
        hierarchies: &[&crate::Hierarchy],
        kept: &[bool],
    ) -> f64 {
        let mut kept_classes = 0u64;
        let mut suppressed = 0u64;
        let mut squares = 0f64;
        let mut per_dim = vec![0.0; self.cost.len()];
        for (class, &is_kept) in kept.iter().enumerate().take(groups.len()) {
            let count = groups.count[class];
            if count == 0 {
                continue;
            }
            if !is_kept {
                suppressed += u64::from(count);
                continue;
            }
            kept_classes += 1;
            squares += f64::from(count) * f64::from(count);
            if matches!(self.metric, Metric::Loss | Metric::Precision | Metric::Entropy) {
                let rep = groups.rep(class);
                for (d, total) in per_dim.iter_mut().enumerate() {
                    let label = hierarchies[d].generalize(levels[d], rep[d]);
                    *total += f64::from(count) * self.cost[d][levels[d]][label as usize];
                }
            }
        }
        for (d, total) in per_dim.iter_mut().enumerate() {
            *total += suppressed as f64 * self.suppressed[d];
        }
        match self.metric {
            Metric::Discernibility => squares + suppressed as f64 * self.records,
            Metric::Aecs => self.records / (kept_classes + u64::from(suppressed > 0)).max(1) as f64,
            _ => self.combine(&per_dim),
        }
    }

    /// Whether [`Self::lower_bound`] equals the metric of a node where no record is suppressed
    /// (loss, precision, entropy); discernibility and AECS use a constant bound.
    pub fn bound_is_exact_without_suppression(&self) -> bool {
        matches!(self.metric, Metric::Loss | Metric::Precision | Metric::Entropy)
    }

    /// The lower bound of the metric at `levels` (see the module docs).
    pub fn lower_bound(&self, levels: &[usize]) -> f64 {
        match self.metric {
            Metric::Discernibility => self.records,
            Metric::Aecs => 1.0_f64.min(self.records),
            _ => {
                let sums: Vec<f64> =
                    levels.iter().enumerate().map(|(d, &l)| self.bound[d][l]).collect();
                self.combine(&sums)
            }
        }
    }

    /// Per-attribute normalized values, for the report (loss and precision only).
    pub fn per_attribute(&self, sums: &[f64]) -> Vec<f64> {
        sums.iter().enumerate().map(|(d, &s)| self.normalize(d, s)).collect()
    }

    fn normalize(&self, d: usize, sum: f64) -> f64 {
        let n = self.records;
        match self.metric {
            Metric::Loss => {
                let min = self.offset[d];
                if n - min <= 0.0 {
                    0.0
                } else {
                    ((sum - min) / (n - min)).max(0.0)
                }
            }
            Metric::Precision => {
                if n == 0.0 {
                    0.0
                } else {
                    sum / n
                }
            }
            Metric::Entropy => sum - self.offset[d],
            Metric::Discernibility | Metric::Aecs => sum,
        }
    }

    fn combine(&self, sums: &[f64]) -> f64 {
        let dims = sums.len().max(1) as f64;
        match self.metric {
            Metric::Loss => {
                let log_mean: f64 =
                    (0..sums.len()).map(|d| (1.0 + self.normalize(d, sums[d])).ln()).sum::<f64>()
                        / dims;
                log_mean.exp() - 1.0
            }
            Metric::Precision => {
                (0..sums.len()).map(|d| self.normalize(d, sums[d])).sum::<f64>() / dims
            }
            Metric::Entropy => (0..sums.len()).map(|d| self.normalize(d, sums[d])).sum(),
            Metric::Discernibility | Metric::Aecs => 0.0,
        }
    }
}
