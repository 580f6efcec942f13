//! Privacy models: what a released table must satisfy, and whether the search may prune on it.
//!
//! | model | guarantee (per equivalence class of quasi-identifiers) | source |
//! |---|---|---|
//! | k-anonymity | every class has ≥ k records | Samarati & Sweeney 1998 |
//! | distinct l-diversity | ≥ l distinct sensitive values | Machanavajjhala et al. 2007 |
//! | entropy l-diversity | entropy of the sensitive values ≥ ln l | ibid. |
//! | recursive (c,l)-diversity | r₁ < c·(r_l + … + r_m), r sorted counts | ibid. |
//! | t-closeness | EMD(class distribution, table distribution) ≤ t | Li, Li, Venkatasubramanian 2007 |
//! | δ-presence | δmin ≤ records / population records ≤ δmax | Nergiz, Atzori, Clifton 2007 |
//! | k-map | ≥ k population records share the class | Sweeney 2002; El Emam & Dankar 2008 |
//! | average risk | mean prosecutor risk (classes / records) ≤ max | El Emam 2013 |
//! | sample uniqueness | share of records alone in their class ≤ max | ibid. |
//!
//! The threat model of all of them: an attacker who knows the quasi-identifiers of a target
//! (and, for k-map and δ-presence, the population table) and links them to the release. None of
//! them protects against an attacker with other background knowledge; differential privacy does
//! (see `privacy-dp`).
//!
//! **Suppression convention.** A class that fails a class-level model is suppressed (its
//! quasi-identifiers become `*` and its records are flagged); a transformation is acceptable if
//! at most the suppression limit of records is suppressed. Table-level models (average risk,
//! sample uniqueness) are then checked on the records that remain; if they fail, the smallest
//! classes are suppressed too, while the limit allows. Suppressed records are excluded from
//! every check and from utility.
//!
//! **Monotonicity** (declared per model, [`PrivacyModel::monotone`]): a model is monotone if
//! every generalization of a node that satisfies it within the suppression limit also satisfies
//! it, under the convention above. Then anonymity is monotone on the lattice and the search
//! (see [`crate::search`]) skips the check of every specialization of a node known to fail, and
//! — without suppression, where the metric is monotone too — prunes the generalizations of an
//! acceptable node.
//! - k-anonymity, distinct l-diversity and k-map are monotone **with** suppression: a class of
//!   a generalization is a union of classes of the node; if one of them passes, the union is at
//!   least as large, as diverse, as populous, and passes. So a failing class of the
//!   generalization is a union of failing classes, and it never suppresses more records.
//! - Entropy and recursive l-diversity and t-closeness are monotone only **without**
//!   suppression: the union of classes that all pass passes (entropy is concave; recursive
//!   diversity is preserved by merging, Machanavajjhala et al. 2007, §4.3; the EMD is convex in
//!   the class distribution), but merging a passing class with a failing one can fail, so a
//!   generalization can suppress more records (a test in `tests/search.rs` builds such a case).
//! - Average risk and sample uniqueness (table-level) are monotone without suppression
//!   (generalization only merges classes: fewer classes, no new unique), not with it, where the
//!   smallest classes are suppressed to meet them.
//! - δ-presence is not monotone (a merged class can have a larger or smaller δ).
//!
//! Property tests (`tests/search.rs`) check the claims with suppression on random tables, and
//! that the tagged search equals brute force.

use serde::{Deserialize, Serialize};

use crate::encode::EncodedTable;
use crate::error::AnonError;
use crate::hierarchy::Hierarchy;

/// How t-closeness measures the distance between two distributions of a sensitive attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmdKind {
    /// Every two distinct values are at distance 1 (total variation distance).
    Equal,
    /// The m distinct values of the table are ordered (numbers by value first, then other
    /// text, see [`ordered_cmp`]); distance between the i-th and j-th is |i − j| / (m − 1).
    Ordered,
    /// Distance is the height of the lowest common ancestor in the attribute's hierarchy,
    /// divided by the hierarchy's height.
    Hierarchical,
}

/// A privacy model as written in a job file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum PrivacyModel {
    /// Every class has at least `k` records.
    KAnonymity {
        /// The least class size, ≥ 1.
        k: u32,
    },
    /// Every class has at least `l` distinct values of `attribute`.
    DistinctLDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// The least number of distinct values, ≥ 1.
        l: u32,
    },
    /// The entropy of `attribute` in every class is at least ln `l`.
    EntropyLDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// l ≥ 1 (need not be an integer).
        l: f64,
    },
    /// Recursive (c,l)-diversity of `attribute`.
    RecursiveClDiversity {
        /// The sensitive attribute.
        attribute: String,
        /// c > 0.
        c: f64,
        /// l ≥ 2.
        l: u32,
    },
    /// The distribution of `attribute` in every class is within EMD `t` of the table's.
    TCloseness {
        /// The sensitive attribute.
        attribute: String,
        /// t in [0, 1].
        t: f64,
        /// The ground distance.
        distance: EmdKind,
    },
    /// The probability that a population member is in the data, given the release, lies in
    /// [`delta_min`, `delta_max`]. Needs a population table.
    DeltaPresence {
        /// Lower bound, in [0, 1].
        delta_min: f64,
        /// Upper bound, in [delta_min, 1].
        delta_max: f64,
    },
    /// Every class matches at least `k` records of the population. Needs a population table.
    KMap {
        /// The least population class size, ≥ 1.
        k: u32,
    },
    /// The average prosecutor risk (kept classes / kept records) is at most `max`.
    AverageRisk {
        /// In (0, 1].
        max: f64,
    },
    /// The share of kept records that are alone in their class is at most `max`.
    SampleUniqueness {
        /// In [0, 1].
        max: f64,
    },
}

impl PrivacyModel {
    /// The model's name, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::KAnonymity { .. } => "k-anonymity",
            Self::DistinctLDiversity { .. } => "distinct-l-diversity",
            Self::EntropyLDiversity { .. } => "entropy-l-diversity",
            Self::RecursiveClDiversity { .. } => "recursive-cl-diversity",
            Self::TCloseness { .. } => "t-closeness",
            Self::DeltaPresence { .. } => "delta-presence",
            Self::KMap { .. } => "k-map",
            Self::AverageRisk { .. } => "average-risk",
            Self::SampleUniqueness { .. } => "sample-uniqueness",
        }
    }

    /// Whether every generalization of a node satisfying this model satisfies it too, under
    /// the suppression convention of this module, when up to `suppression_limit` records may be
    /// suppressed.
    pub fn monotone(&self, suppression_limit: u64) -> bool {
        match self {
            Self::KAnonymity { .. } | Self::DistinctLDiversity { .. } | Self::KMap { .. } => true,
            Self::EntropyLDiversity { .. }
            | Self::RecursiveClDiversity { .. }
            | Self::TCloseness { .. }
            | Self::AverageRisk { .. }
            | Self::SampleUniqueness { .. } => suppression_limit == 0,
            Self::DeltaPresence { .. } => false,
        }
    }

    /// The sensitive attribute the model protects, if any.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            Self::DistinctLDiversity { attribute, .. }
            | Self::EntropyLDiversity { attribute, .. }
            | Self::RecursiveClDiversity { attribute, .. }
            | Self::TCloseness { attribute, .. } => Some(attribute),
            _ => None,
        }
    }

    /// Whether the model needs a population table.
    pub fn needs_population(&self) -> bool {
        matches!(self, Self::DeltaPresence { .. } | Self::KMap { .. })
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let ok = match self {
            Self::KAnonymity { k } | Self::KMap { k } => *k >= 1,
            Self::DistinctLDiversity { l, .. } => *l >= 1,
            Self::EntropyLDiversity { l, .. } => l.is_finite() && *l >= 1.0,
            Self::RecursiveClDiversity { c, l, .. } => c.is_finite() && *c > 0.0 && *l >= 2,
            Self::TCloseness { t, .. } => (0.0..=1.0).contains(t),
            Self::DeltaPresence { delta_min, delta_max } => {
                (0.0..=1.0).contains(delta_min)
                    && (0.0..=1.0).contains(delta_max)
                    && delta_min <= delta_max
            }
            Self::AverageRisk { max } => *max > 0.0 && *max <= 1.0,
            Self::SampleUniqueness { max } => (0.0..=1.0).contains(max),
        };
        if ok {
            Ok(())
        } else {
            Err("a parameter is out of range (see the model's documentation)".into())
        }
    }
}

/// A class-level check, compiled against the encoded table.
#[derive(Clone, Debug)]
enum ClassCheck {
    K(u32),
    Distinct { attr: usize, l: u32 },
    Entropy { attr: usize, log_l: f64 },
    Recursive { attr: usize, c: f64, l: u32 },
    Closeness { attr: usize, t: f64, emd: Emd },
    Presence { min: f64, max: f64 },
    KMap(u32),
}

/// A table-level check.
#[derive(Clone, Copy, Debug)]
enum TableCheck {
    AverageRisk(f64),
    Uniqueness(f64),
}

/// One class as the checks see it.
#[derive(Clone, Copy, Debug)]
pub struct ClassView<'a> {
    /// Records of the data in the class.
    pub count: u32,
    /// Records of the population in the class.
    pub pcount: u32,
    /// Per sensitive attribute, the class's `(values, counts)`.
    pub hists: &'a [(&'a [u32], &'a [u32])],
}

/// The models of a job, compiled for fast evaluation.
#[derive(Clone, Debug)]
pub struct CompiledModels {
    class_checks: Vec<ClassCheck>,
    table_checks: Vec<TableCheck>,
    monotone: bool,
    /// Which sensitive attributes the checks read (the search rolls up only those).
    pub needs_histograms: bool,
}

impl CompiledModels {
    /// Compiles `models` against `table`, checking parameters, attributes and population.
    pub fn compile(
        models: &[PrivacyModel],
        table: &EncodedTable,
        suppression_limit: u64,
    ) -> Result<Self, AnonError> {
        if models.is_empty() {
            return Err(AnonError::InvalidParameter {
                name: "models".into(),
                reason: "at least one privacy model is needed".into(),
            });
        }
        let mut class_checks = Vec::new();
        let mut table_checks = Vec::new();
        for model in models {
            let invalid =
                |reason: String| AnonError::InvalidModel { model: model.name().into(), reason };
            model.validate().map_err(invalid)?;
            if model.needs_population() && table.population.is_none() {
                return Err(invalid("needs a population table ([population] in the job)".into()));
            }
            let attr = match model.attribute() {
                Some(name) => Some(table.sensitive_index(name).ok_or_else(|| {
                    invalid(format!("{name:?} is not a sensitive attribute of the job"))
                })?),
                None => None,
            };
            let attr_index = attr.unwrap_or(0);
            match model {
                PrivacyModel::KAnonymity { k } => class_checks.push(ClassCheck::K(*k)),
                PrivacyModel::KMap { k } => class_checks.push(ClassCheck::KMap(*k)),
                PrivacyModel::DistinctLDiversity { l, .. } => {
                    class_checks.push(ClassCheck::Distinct { attr: attr_index, l: *l })
                }
                PrivacyModel::EntropyLDiversity { l, .. } => {
                    class_checks.push(ClassCheck::Entropy { attr: attr_index, log_l: l.ln() })
                }
                PrivacyModel::RecursiveClDiversity { c, l, .. } => {
                    class_checks.push(ClassCheck::Recursive { attr: attr_index, c: *c, l: *l })
                }
                PrivacyModel::TCloseness { t, distance, .. } => {
                    let column = &table.sensitive[attr_index];
                    let emd =
                        Emd::new(*distance, &column.hierarchy, &column.codes).map_err(invalid)?;
                    class_checks.push(ClassCheck::Closeness { attr: attr_index, t: *t, emd })
                }
                PrivacyModel::DeltaPresence { delta_min, delta_max } => {
                    class_checks.push(ClassCheck::Presence { min: *delta_min, max: *delta_max })
                }
                PrivacyModel::AverageRisk { max } => {
                    table_checks.push(TableCheck::AverageRisk(*max))
                }
                PrivacyModel::SampleUniqueness { max } => {
                    table_checks.push(TableCheck::Uniqueness(*max))
                }
            }
        }
        let monotone = models.iter().all(|m| m.monotone(suppression_limit));
        let needs_histograms = class_checks.iter().any(|c| {
            matches!(
                c,
                ClassCheck::Distinct { .. }
                    | ClassCheck::Entropy { .. }
                    | ClassCheck::Recursive { .. }
                    | ClassCheck::Closeness { .. }
            )
        });
        Ok(Self { class_checks, table_checks, monotone, needs_histograms })
    }

    /// Whether all models are monotone for this job's suppression limit.
    pub fn monotone(&self) -> bool {
        self.monotone
    }

    /// Whether a class satisfies every class-level model.
    pub fn class_ok(&self, class: &ClassView<'_>) -> bool {
        self.class_checks.iter().all(|check| check_class(check, class))
    }

    /// Whether the table-level models hold for kept classes of these sizes.
    pub fn table_ok(&self, kept_records: u64, kept_classes: u64, kept_uniques: u64) -> bool {
        self.table_checks.iter().all(|check| match *check {
            TableCheck::AverageRisk(max) => {
                kept_records == 0 || kept_classes as f64 <= max * kept_records as f64
            }
            TableCheck::Uniqueness(max) => {
                kept_records == 0 || kept_uniques as f64 <= max * kept_records as f64
            }
        })
    }

    /// Whether there are table-level models.
    pub fn has_table_checks(&self) -> bool {
        !self.table_checks.is_empty()
    }
}

fn check_class(check: &ClassCheck, class: &ClassView<'_>) -> bool {
    match *check {
        ClassCheck::K(k) => class.count >= k,
        ClassCheck::KMap(k) => class.pcount >= k,
        // FIXME: only classes with released records are checked; population members in
        // classes absent from the release have δ = 0. Checking them needs a policy for δmin > 0.
        ClassCheck::Presence { min, max } => {
            class.pcount > 0 && {
                let delta = f64::from(class.count) / f64::from(class.pcount);
                delta >= min && delta <= max
            }
        }
        ClassCheck::Distinct { attr, l } => class.hists[attr].0.len() as u64 >= u64::from(l),
        ClassCheck::Entropy { attr, log_l } => entropy(class.hists[attr].1) >= log_l - 1e-12,
        ClassCheck::Recursive { attr, c, l } => recursive_ok(class.hists[attr].1, c, l),
        ClassCheck::Closeness { attr, t, ref emd } => {
            let (values, counts) = class.hists[attr];
            emd.distance(values, counts) <= t + 1e-12
        }
    }
}

/// Natural-log entropy of a histogram's counts.
pub fn entropy(counts: &[u32]) -> f64 {
    let total: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    if total == 0.0 {
        return 0.0;
    }
    -counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            p * p.ln()
        })
        .sum::<f64>()
}

/// Recursive (c,l)-diversity: r₁ < c·(r_l + … + r_m) with r sorted in decreasing order.
pub fn recursive_ok(counts: &[u32], c: f64, l: u32) -> bool {
    let l = l as usize;
    if counts.len() < l {
        return false;
    }
    let mut sorted: Vec<u32> = counts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let tail: u64 = sorted[l - 1..].iter().map(|&r| u64::from(r)).sum();
    f64::from(sorted[0]) < c * tail as f64
}

/// Earth mover's distance from a class's distribution to the table's, for one sensitive
/// attribute and ground distance.
#[derive(Clone, Debug)]
pub struct Emd {
    kind: EmdKind,
    /// The table's distribution over value codes.
    q: Vec<f64>,
    /// Ordered: the rank of each value code among the values present in the table.
    rank: Vec<u32>,
    /// Ordered: how many distinct values the table holds (the ordered domain's size m).
    ordered_size: usize,
    /// Hierarchical: the hierarchy's level maps and label counts.
    levels: Vec<Vec<u32>>,
    label_counts: Vec<usize>,
}

impl Emd {
    /// Prepares the distance for an attribute with `hierarchy` and the table's `codes`.
    pub fn new(kind: EmdKind, hierarchy: &Hierarchy, codes: &[u32]) -> Result<Self, String> {
        let m = hierarchy.leaf_count();
        let mut q = vec![0.0; m];
        for &c in codes {
            q[c as usize] += 1.0;
        }
        let n = codes.len().max(1) as f64;
        q.iter_mut().for_each(|v| *v /= n);
        let present: Vec<bool> = q.iter().map(|&v| v > 0.0).collect();
        let (rank, ordered_size) = if kind == EmdKind::Ordered {
            ordered_ranks(hierarchy, &present)
        } else {
            (Vec::new(), 0)
        };
        if kind == EmdKind::Hierarchical && hierarchy.levels() < 2 {
            return Err(
                "hierarchical distance needs a hierarchy for the sensitive attribute".into()
            );
        }
        let levels = (0..hierarchy.levels()).map(|l| hierarchy.level_map(l).to_vec()).collect();
        let label_counts = (0..hierarchy.levels()).map(|l| hierarchy.label_count(l)).collect();
        Ok(Self { kind, q, rank, ordered_size, levels, label_counts })
    }

    /// The distance of the class histogram `(values, counts)` from the table's distribution.
    pub fn distance(&self, values: &[u32], counts: &[u32]) -> f64 {
        let total: f64 = counts.iter().map(|&c| f64::from(c)).sum();
        if total == 0.0 {
            return 0.0;
        }
        match self.kind {
            EmdKind::Equal => {
                // ½ Σ|p − q| over the domain; values absent from the class contribute q.
                let inside: f64 = values
                    .iter()
                    .zip(counts)
                    .map(|(&v, &c)| {
                        let q = self.q[v as usize];
                        (f64::from(c) / total - q).abs() - q
                    })
                    .sum();
                (0.5 * (1.0 + inside)).max(0.0)
            }
            EmdKind::Ordered => self.ordered(values, counts, total),
            EmdKind::Hierarchical => self.hierarchical(values, counts, total),
        }
    }

    fn ordered(&self, values: &[u32], counts: &[u32], total: f64) -> f64 {
        let m = self.ordered_size;
        if m < 2 {
            return 0.0;
        }
        let mut diff = vec![0.0; m];
        for (v, &q) in self.q.iter().enumerate().filter(|(_, &q)| q > 0.0) {
            diff[self.rank[v] as usize] -= q;
        }
        for (&v, &c) in values.iter().zip(counts) {
            diff[self.rank[v as usize] as usize] += f64::from(c) / total;
        }
        let mut running = 0.0;
        let mut sum = 0.0;
        for d in diff {
            running += d;
            sum += running.abs();
        }
        sum / (m - 1) as f64
    }

    fn hierarchical(&self, values: &[u32], counts: &[u32], total: f64) -> f64 {
        let height = (self.levels.len() - 1) as f64;
        // Extra mass of each leaf: p − q.
        let mut extra: Vec<f64> = self.q.iter().map(|q| -q).collect();
        for (&v, &c) in values.iter().zip(counts) {
            extra[v as usize] += f64::from(c) / total;
        }
        let mut cost = 0.0;
        // At each level above the leaves, a node moves min(positive, negative) of its
        // children's extra mass across a distance of its height.
        let mut child_extra = extra.clone();
        for level in 1..self.levels.len() {
            let n = self.label_counts[level];
            let mut pos = vec![0.0; n];
            let mut neg = vec![0.0; n];
            let below = &self.levels[level - 1];
            let mut seen = vec![false; self.label_counts[level - 1]];
            for (leaf, &child) in below.iter().enumerate() {
                let child = child as usize;
                if std::mem::replace(&mut seen[child], true) {
                    continue;
                }
                let parent = self.levels[level][leaf] as usize;
                let e = child_extra[child];
                if e > 0.0 {
                    pos[parent] += e;
                } else {
                    neg[parent] -= e;
                }
            }
            for p in 0..n {
                cost += level as f64 / height * pos[p].min(neg[p]);
            }
            child_extra = pos.iter().zip(&neg).map(|(p, n)| p - n).collect();
        }
        cost
    }
}

/// The order of values for the ordered distance: numbers first, by value (ties by text), then
/// every other text (including the empty missing-value label) in byte order.
///
/// Search ([`Emd`]) and verification ([`crate::verify`]) both order by this rule, over the
/// values present in the table: so a class's distance is the same whichever computes it.
pub fn ordered_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use crate::hierarchy::parse_number;
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Ranks of the leaves present in the table (`present[leaf]`), by [`ordered_cmp`] of their
/// labels, and how many are present. Absent leaves get rank 0 and are never looked up: a
/// class only holds values of the table.
fn ordered_ranks(hierarchy: &Hierarchy, present: &[bool]) -> (Vec<u32>, usize) {
    let m = hierarchy.leaf_count();
    let mut order: Vec<u32> = (0..m as u32).filter(|&l| present[l as usize]).collect();
    order.sort_by(|&a, &b| ordered_cmp(hierarchy.label(0, a), hierarchy.label(0, b)));
    let mut rank = vec![0u32; m];
    for (r, &leaf) in order.iter().enumerate() {
        rank[leaf as usize] = r as u32;
    }
    (rank, order.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_emd_of_the_li_li_venkatasubramanian_example() {
        // Salaries 3..11 (thousands), one record each; the class {3, 4, 5}.
        let values: Vec<String> = (3..=11).map(|v| v.to_string()).collect();
        let h = Hierarchy::flat("salary", &values).unwrap();
        let codes: Vec<u32> = (0..9).collect();
        let emd = Emd::new(EmdKind::Ordered, &h, &codes).unwrap();
        let d = emd.distance(&[0, 1, 2], &[1, 1, 1]);
        assert!((d - 0.375).abs() < 1e-12, "{d}");
        let equal = Emd::new(EmdKind::Equal, &h, &codes).unwrap();
        assert!((equal.distance(&[0, 1, 2], &[1, 1, 1]) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn entropy_and_recursive_diversity() {
        assert!((entropy(&[1, 1]) - 2f64.ln()).abs() < 1e-12);
        assert!(recursive_ok(&[1, 1, 1], 2.0, 2));
        assert!(!recursive_ok(&[101, 1, 1], 2.0, 2));
        assert!(!recursive_ok(&[5], 2.0, 2));
    }
}
