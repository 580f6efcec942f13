//! MDAV microaggregation (Domingo-Ferrer & Mateo-Sanz 2002; Domingo-Ferrer & Torra 2005) of
//! numeric quasi-identifiers.
//!
//! Records are grouped into clusters of at least k (k from the job's k-anonymity model) by the
//! "maximum distance to average vector" heuristic on standardized values: take the record
//! farthest from the centroid and the record farthest from it, form a group of each one's k
//! nearest records, repeat; the last 2k − 1 or fewer records form one or two groups. Every
//! quasi-identifier of a record is then replaced by its group's mean, so each group is one
//! equivalence class of at least k records. Groups are checked against the same class-level
//! models as the search; failing groups are suppressed within the limit.
//!
//! Trade-off: MDAV is quadratic in the number of records (O(n²/k) distance evaluations), and
//! it perturbs values (a mean is not a true value) where generalization only coarsens them.

use crate::encode::EncodedTable;
use crate::error::AnonError;
use crate::job::Job;
use crate::models::{CompiledModels, PrivacyModel};
use crate::mondrian::suppress_classes;
use crate::release::{LabelInfo, Release, ReleasedColumn, Transformation};

/// Runs MDAV over `table`'s quasi-identifiers, which must all be numeric.
pub fn mdav(
    table: &EncodedTable,
    models: &CompiledModels,
    job: &Job,
    limit: u64,
) -> Result<Release, AnonError> {
    let k = job
        .models
        .iter()
        .filter_map(|m| match m {
            PrivacyModel::KAnonymity { k } => Some(*k as usize),
            _ => None,
        })
        .max()
        .ok_or_else(|| AnonError::InvalidParameter {
            name: "method".into(),
            reason: "mdav needs a k-anonymity model to size its groups".into(),
        })?;
    let values = numeric_matrix(table)?;
    let groups = groups(&standardize(&values, table.rows), table.rows, table.quasi.len(), k);
    let groups = merge_equal_labels(&values, groups);
    let suppressed = suppress_classes(table, models, &groups, limit)?;
    Ok(release(table, &values, &groups, suppressed))
}

/// `values[d][row]`, refusing non-numeric or missing values.
fn numeric_matrix(table: &EncodedTable) -> Result<Vec<Vec<f64>>, AnonError> {
    table
        .quasi
        .iter()
        .map(|c| match c.hierarchy.numeric_leaves() {
            Some(leaves) if c.missing_count == 0 => {
                Ok(c.codes.iter().map(|&l| leaves[l as usize]).collect())
            }
            _ => Err(AnonError::InvalidParameter {
                name: c.name.clone(),
                reason: "mdav needs numeric quasi-identifiers without missing values".into(),
            }),
        })
        .collect()
}

/// Row-major standardized values (mean 0, standard deviation 1 per attribute).
fn standardize(values: &[Vec<f64>], rows: usize) -> Vec<f64> {
    let dims = values.len();
    let mut out = vec![0.0; rows * dims];
    for (d, column) in values.iter().enumerate() {
        let mean = column.iter().sum::<f64>() / rows.max(1) as f64;
        let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows.max(1) as f64;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        for (r, v) in column.iter().enumerate() {
            out[r * dims + d] = (v - mean) / sd;
        }
    }
    out
}

fn distance(x: &[f64], row: usize, dims: usize, point: &[f64]) -> f64 {
    x[row * dims..(row + 1) * dims].iter().zip(point).map(|(a, b)| (a - b) * (a - b)).sum()
}

fn centroid(x: &[f64], rows: &[u32], dims: usize) -> Vec<f64> {
    let mut c = vec![0.0; dims];
    for &r in rows {
        for d in 0..dims {
            c[d] += x[r as usize * dims + d];
        }
    }
    c.iter_mut().for_each(|v| *v /= rows.len().max(1) as f64);
    c
}

fn farthest(x: &[f64], rows: &[u32], dims: usize, point: &[f64]) -> u32 {
    let mut best = (f64::NEG_INFINITY, rows[0]);
    for &r in rows {
        let dist = distance(x, r as usize, dims, point);
        if dist > best.0 {
            best = (dist, r);
        }
    }
    best.1
}

/// Removes and returns the `k` records of `remaining` nearest to record `center`.
fn take_nearest(
    x: &[f64],
    remaining: &mut Vec<u32>,
    dims: usize,
    center: u32,
    k: usize,
) -> Vec<u32> {
    let point: Vec<f64> = x[center as usize * dims..(center as usize + 1) * dims].to_vec();
    let mut scored: Vec<(f64, u32)> =
        remaining.iter().map(|&r| (distance(x, r as usize, dims, &point), r)).collect();
    scored.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let group: Vec<u32> = scored[..k].iter().map(|&(_, r)| r).collect();
    let rest: Vec<u32> = scored[k..].iter().map(|&(_, r)| r).collect();
    *remaining = rest;
    group
}

fn groups(x: &[f64], rows: usize, dims: usize, k: usize) -> Vec<Vec<u32>> {
    let mut remaining: Vec<u32> = (0..rows as u32).collect();
    let mut out = Vec::new();
    while remaining.len() >= 3 * k {
        let c = centroid(x, &remaining, dims);
        let r = farthest(x, &remaining, dims, &c);
        let r_point: Vec<f64> = x[r as usize * dims..(r as usize + 1) * dims].to_vec();
        let s = farthest(x, &remaining, dims, &r_point);
        out.push(take_nearest(x, &mut remaining, dims, r, k));
        // s may have joined r's group when records coincide; then take the new farthest.
        let s = if remaining.contains(&s) { s } else { farthest(x, &remaining, dims, &r_point) };
        out.push(take_nearest(x, &mut remaining, dims, s, k));
    }
    if remaining.len() >= 2 * k {
        let c = centroid(x, &remaining, dims);
        let r = farthest(x, &remaining, dims, &c);
        out.push(take_nearest(x, &mut remaining, dims, r, k));
    }
    if !remaining.is_empty() {
        out.push(remaining);
    }
    out
}

/// The released text of a group's mean: two decimals.
fn label(vals: &[f64], group: &[u32]) -> String {
    let mean = group.iter().map(|&r| vals[r as usize]).sum::<f64>() / group.len() as f64;
    format!("{mean:.2}")
}

/// Merges groups whose released labels coincide in every quasi-identifier, so that the classes
/// the models are checked on are the classes a reader of the output text sees. A merged group
/// keeps its labels: its mean lies between its parts' means, which round to the same text, and
/// rounding is monotone.
fn merge_equal_labels(values: &[Vec<f64>], groups: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
    let mut by_label: std::collections::HashMap<Vec<String>, usize> =
        std::collections::HashMap::new();
    let mut merged: Vec<Vec<u32>> = Vec::with_capacity(groups.len());
    for group in groups {
        let key: Vec<String> = values.iter().map(|vals| label(vals, &group)).collect();
        match by_label.get(&key) {
            Some(&at) => merged[at].extend(group),
            None => {
                by_label.insert(key, merged.len());
                merged.push(group);
            }
        }
    }
    merged
}

fn release(
    table: &EncodedTable,
    values: &[Vec<f64>],
    groups: &[Vec<u32>],
    suppressed: Vec<bool>,
) -> Release {
    let columns = table
        .quasi
        .iter()
        .zip(values)
        .map(|(column, vals)| {
            let leaves = column.hierarchy.numeric_leaves().unwrap_or(&[]);
            let domain = column.hierarchy.leaf_count();
            let mut leaf_records = vec![0u32; domain];
            column.codes.iter().for_each(|&l| leaf_records[l as usize] += 1);
            let mut labels = Vec::new();
            let mut info = Vec::new();
            let mut cells = vec![0u32; table.rows];
            for group in groups {
                let (lo, hi) =
                    group.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                        (lo.min(vals[r as usize]), hi.max(vals[r as usize]))
                    });
                let covered: Vec<usize> =
                    (0..domain).filter(|&l| leaves[l] >= lo && leaves[l] <= hi).collect();
                let n_covered = covered.len().max(1) as u32;
                info.push(LabelInfo {
                    leaves: n_covered,
                    records: covered.iter().map(|&l| leaf_records[l]).sum(),
                    height: if domain > 1 {
                        f64::from(n_covered - 1) / (domain - 1) as f64
                    } else {
                        0.0
                    },
                });
                labels.push(label(vals, group));
                let id = (labels.len() - 1) as u32;
                group.iter().for_each(|&r| cells[r as usize] = id);
            }
            ReleasedColumn { name: column.name.clone(), labels, info, cells, domain: domain as u32 }
        })
        .collect();
    Release {
        columns,
        suppressed,
        transformation: Transformation::Mdav { groups: groups.len() },
        population_cells: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_whose_labels_coincide_are_merged() {
        // Two groups with means 1.001 and 1.004 print as "1.00"; a third prints "2.00".
        let vals = vec![vec![1.0, 1.002, 1.004, 1.004, 2.0, 2.0]];
        let groups = vec![vec![0, 1], vec![2, 3], vec![4, 5]];
        let merged = merge_equal_labels(&vals, groups);
        assert_eq!(merged, vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert_eq!(label(&vals[0], &merged[0]), "1.00");
    }

    #[test]
    fn groups_have_between_k_and_2k_minus_1_records() {
        let rows = 103;
        let x: Vec<f64> = (0..rows).flat_map(|i| [(i % 17) as f64, (i * 7 % 13) as f64]).collect();
        let gs = groups(&x, rows, 2, 5);
        assert_eq!(gs.iter().map(Vec::len).sum::<usize>(), rows);
        assert!(
            gs.iter().all(|g| g.len() >= 5 && g.len() <= 9),
            "{:?}",
            gs.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }
}
