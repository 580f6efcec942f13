//! Independent verification of a released table, from its text alone.
//!
//! The search decides with integer codes, roll-ups and pruning; this module re-derives every
//! figure from the output strings with the plainest possible code (a hash map from the tuple of
//! quasi-identifier texts to its records), so that a bug in the fast path cannot certify its
//! own output. Rows flagged in [`crate::release::SUPPRESSED_COLUMN`] are excluded. It is also
//! the measuring tool for any table (k, distinct and entropy l, t of an existing release).
//!
//! Ordered and equal-distance EMD are recomputed here independently; the hierarchical EMD
//! reuses [`crate::models::Emd`] with the attribute's hierarchy.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::hierarchy::Hierarchy;
use crate::models::{entropy, ordered_cmp, recursive_ok, Emd, EmdKind, PrivacyModel};

/// A sensitive column as text, with its hierarchy when hierarchical EMD is needed.
pub struct SensitiveText<'a> {
    /// The column name.
    pub name: &'a str,
    /// One value per record (suppressed records included: they belong to the table's
    /// distribution).
    pub values: &'a [String],
    /// The attribute's hierarchy, if any.
    pub hierarchy: Option<&'a Hierarchy>,
}

/// One model, re-checked.
#[derive(Clone, Debug, Serialize)]
pub struct ModelCheck {
    /// The model.
    pub model: PrivacyModel,
    /// The value measured (e.g. the smallest class for k-anonymity, the largest EMD for
    /// t-closeness).
    pub measured: f64,
    /// Whether the model holds.
    pub satisfied: bool,
}

/// What the verification found.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// Released records.
    pub records: u64,
    /// Their classes.
    pub classes: u64,
    /// The smallest class (the table's k).
    pub k: u64,
    /// Each model of the job, re-checked.
    pub models: Vec<ModelCheck>,
    /// Per sensitive attribute: smallest number of distinct values in a class.
    pub distinct_l: BTreeMap<String, u64>,
    /// Per sensitive attribute: smallest exp(entropy) of a class.
    pub entropy_l: BTreeMap<String, f64>,
    /// Per sensitive attribute: largest equal-distance EMD of a class.
    pub t_equal: BTreeMap<String, f64>,
    /// Per sensitive attribute: largest ordered EMD of a class.
    pub t_ordered: BTreeMap<String, f64>,
}

/// Verifies a released table given as text: `quasi[c][row]`, the sensitive columns, the
/// suppression flags, and (for k-map and δ-presence) the population's generalized
/// quasi-identifiers `population[c][row]`.
pub fn verify(
    quasi: &[Vec<String>],
    sensitive: &[SensitiveText<'_>],
    suppressed: &[bool],
    population: Option<&[Vec<String>]>,
    models: &[PrivacyModel],
) -> Verification {
    let rows = suppressed.len();
    let mut classes: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
    for row in (0..rows).filter(|&r| !suppressed[r]) {
        classes.entry(quasi.iter().map(|c| c[row].as_str()).collect()).or_default().push(row);
    }
    let mut pop_counts: HashMap<Vec<&str>, u64> = HashMap::new();
    if let Some(pop) = population {
        for row in 0..pop.first().map_or(0, Vec::len) {
            *pop_counts.entry(pop.iter().map(|c| c[row].as_str()).collect()).or_default() += 1;
        }
    }
    let records = classes.values().map(|v| v.len() as u64).sum::<u64>();
    let k = classes.values().map(|v| v.len() as u64).min().unwrap_or(0);
    let mut out = Verification {
        records,
        classes: classes.len() as u64,
        k,
        models: Vec::new(),
        distinct_l: BTreeMap::new(),
        entropy_l: BTreeMap::new(),
        t_equal: BTreeMap::new(),
        t_ordered: BTreeMap::new(),
    };
    for s in sensitive {
        let stats = AttributeStats::new(s, classes.values());
        out.distinct_l.insert(s.name.to_owned(), stats.distinct);
        out.entropy_l.insert(s.name.to_owned(), stats.entropy_l);
        out.t_equal.insert(s.name.to_owned(), stats.t_equal);
        out.t_ordered.insert(s.name.to_owned(), stats.t_ordered);
    }
    out.models = models.iter().map(|m| check(m, &out, sensitive, &classes, &pop_counts)).collect();
    out
}

fn check(
    model: &PrivacyModel,
    v: &Verification,
    sensitive: &[SensitiveText<'_>],
    classes: &HashMap<Vec<&str>, Vec<usize>>,
    pop: &HashMap<Vec<&str>, u64>,
) -> ModelCheck {
    let attr = |name: &str| sensitive.iter().find(|s| s.name == name);
    let (measured, satisfied) = match model {
        PrivacyModel::KAnonymity { k } => (v.k as f64, v.records == 0 || v.k >= u64::from(*k)),
        PrivacyModel::DistinctLDiversity { attribute, l } => {
            let d = v.distinct_l.get(attribute).copied().unwrap_or(0);
            (d as f64, v.records == 0 || d >= u64::from(*l))
        }
        PrivacyModel::EntropyLDiversity { attribute, l } => {
            let e = v.entropy_l.get(attribute).copied().unwrap_or(0.0);
            (e, v.records == 0 || e >= l - 1e-9)
        }
        PrivacyModel::RecursiveClDiversity { attribute, c, l } => {
            let ok = attr(attribute).is_some_and(|s| {
                classes.values().all(|rows| recursive_ok(&counts_of(s.values, rows), *c, *l))
            });
            (f64::from(u8::from(ok)), ok)
        }
        PrivacyModel::TCloseness { attribute, t, distance } => {
            let worst = match distance {
                EmdKind::Equal => v.t_equal.get(attribute).copied(),
                EmdKind::Ordered => v.t_ordered.get(attribute).copied(),
                EmdKind::Hierarchical => {
                    attr(attribute).and_then(|s| hierarchical_worst(s, classes))
                }
            }
            .unwrap_or(f64::INFINITY);
            (worst, worst <= t + 1e-9)
        }
        PrivacyModel::KMap { k } => {
            let least =
                classes.keys().map(|key| pop.get(key).copied().unwrap_or(0)).min().unwrap_or(0);
            (least as f64, v.records == 0 || least >= u64::from(*k))
        }
        PrivacyModel::DeltaPresence { delta_min, delta_max } => {
            let deltas: Vec<f64> = classes
                .iter()
                .map(|(key, rows)| match pop.get(key) {
                    Some(&p) if p > 0 => rows.len() as f64 / p as f64,
                    _ => f64::INFINITY,
                })
                .collect();
            let ok = deltas.iter().all(|&d| d >= *delta_min && d <= *delta_max);
            (deltas.iter().copied().fold(0.0, f64::max), ok)
        }
        PrivacyModel::AverageRisk { max } => {
            let avg = if v.records == 0 { 0.0 } else { v.classes as f64 / v.records as f64 };
            (avg, avg <= max + 1e-12)
        }
        PrivacyModel::SampleUniqueness { max } => {
            let uniques = classes.values().filter(|r| r.len() == 1).count() as f64;
            let share = if v.records == 0 { 0.0 } else { uniques / v.records as f64 };
            (share, share <= max + 1e-12)
        }
    };
    ModelCheck { model: model.clone(), measured, satisfied }
}

fn counts_of(values: &[String], rows: &[usize]) -> Vec<u32> {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for &r in rows {
        *counts.entry(values[r].as_str()).or_default() += 1;
    }
    counts.into_values().collect()
}

struct AttributeStats {
    distinct: u64,
    entropy_l: f64,
    t_equal: f64,
    t_ordered: f64,
}

impl AttributeStats {
    fn new<'a>(s: &SensitiveText<'_>, classes: impl Iterator<Item = &'a Vec<usize>>) -> Self {
        // The table's distribution, over every record; the ordered domain is the distinct values
        // present, in the order of `ordered_cmp` (numbers by value, then other text).
        let mut domain: Vec<&str> = s.values.iter().map(String::as_str).collect();
        domain.sort_unstable();
        domain.dedup();
        domain.sort_by(|a, b| ordered_cmp(a, b));
        let index: HashMap<&str, usize> = domain.iter().enumerate().map(|(i, v)| (*v, i)).collect();
        let n = s.values.len().max(1) as f64;
        let mut q = vec![0.0; domain.len()];
        s.values.iter().for_each(|v| q[index[v.as_str()]] += 1.0 / n);
        let mut out =
            Self { distinct: u64::MAX, entropy_l: f64::INFINITY, t_equal: 0.0, t_ordered: 0.0 };
        let mut any = false;
        for rows in classes {
            any = true;
            let mut p = vec![0.0; domain.len()];
            rows.iter().for_each(|&r| p[index[s.values[r].as_str()]] += 1.0 / rows.len() as f64);
            let counts = counts_of(s.values, rows);
            out.distinct = out.distinct.min(counts.len() as u64);
            out.entropy_l = out.entropy_l.min(entropy(&counts).exp());
            let equal: f64 = p.iter().zip(&q).map(|(a, b)| (a - b).abs()).sum::<f64>() / 2.0;
            out.t_equal = out.t_equal.max(equal);
            if domain.len() > 1 {
                let mut running = 0.0;
                let mut total = 0.0;
                for (a, b) in p.iter().zip(&q) {
                    running += a - b;
                    total += f64::abs(running);
                }
                out.t_ordered = out.t_ordered.max(total / (domain.len() - 1) as f64);
            }
        }
        if !any {
            out.distinct = 0;
            out.entropy_l = 0.0;
        }
        out
    }
}

fn hierarchical_worst(
    s: &SensitiveText<'_>,
    classes: &HashMap<Vec<&str>, Vec<usize>>,
) -> Option<f64> {
    let h = s.hierarchy?;
    let codes: Option<Vec<u32>> = s.values.iter().map(|v| h.leaf_code(v)).collect();
    let codes = codes?;
    let emd = Emd::new(EmdKind::Hierarchical, h, &codes).ok()?;
    let mut worst: f64 = 0.0;
    for rows in classes.values() {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        rows.iter().for_each(|&r| *counts.entry(codes[r]).or_default() += 1);
        let (values, counts): (Vec<u32>, Vec<u32>) = counts.into_iter().unzip();
        worst = worst.max(emd.distance(&values, &counts));
    }
    Some(worst)
}
