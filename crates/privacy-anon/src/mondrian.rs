//! Mondrian multidimensional local recoding (LeFevre, DeWitt, Ramakrishnan 2006), respecting
//! hierarchies for categorical quasi-identifiers.
//!
//! The table is split recursively. A numeric quasi-identifier (every hierarchy leaf a number) is
//! cut at the median of the partition; a categorical one is split into the children of the
//! partition's current hierarchy node, so a released categorical value is always a label of its
//! hierarchy. A cut is allowed only if every resulting part satisfies all class-level privacy
//! models (the same [`CompiledModels`] as the lattice search), so every final partition — an
//! equivalence class — satisfies them; the attribute with the widest normalized range is tried
//! first. Table-level models are then enforced by suppressing the smallest partitions within
//! the limit.
//!
//! Trade-off: local recoding keeps much more detail than full-domain generalization (different
//! partitions may generalize the same value differently), at the price of a table whose values
//! are not from one level of each hierarchy. Numeric ranges are released as `[min-max]` of the
//! partition's values.

use crate::encode::EncodedTable;
use crate::error::AnonError;
use crate::models::{ClassView, CompiledModels};
use crate::release::{LabelInfo, Release, ReleasedColumn, Transformation};

/// Checks `rows` as one class against the class-level models.
pub(crate) fn rows_ok(table: &EncodedTable, models: &CompiledModels, rows: &[u32]) -> bool {
    let hists: Vec<(Vec<u32>, Vec<u32>)> = table
        .sensitive
        .iter()
        .map(|s| {
            let mut counts: rustc_hash::FxHashMap<u32, u32> = Default::default();
            rows.iter().for_each(|&r| *counts.entry(s.codes[r as usize]).or_default() += 1);
            counts.into_iter().unzip()
        })
        .collect();
    let views: Vec<(&[u32], &[u32])> =
        hists.iter().map(|(v, c)| (v.as_slice(), c.as_slice())).collect();
    models.class_ok(&ClassView { count: rows.len() as u32, pcount: 0, hists: &views })
}

/// Suppresses failing classes, then the smallest ones until the table-level models hold;
/// refuses past `limit`.
pub(crate) fn suppress_classes(
    table: &EncodedTable,
    models: &CompiledModels,
    classes: &[Vec<u32>],
    limit: u64,
) -> Result<Vec<bool>, AnonError> {
    let mut suppressed = vec![false; table.rows];
    let mut kept: Vec<&Vec<u32>> = Vec::new();
    let mut count = 0u64;
    for class in classes {
        if rows_ok(table, models, class) {
            kept.push(class);
        } else {
            class.iter().for_each(|&r| suppressed[r as usize] = true);
            count += class.len() as u64;
        }
    }
    kept.sort_by_key(|c| c.len());
    let mut records: u64 = kept.iter().map(|c| c.len() as u64).sum();
    let mut uniques = kept.iter().filter(|c| c.len() == 1).count() as u64;
    let mut next = 0;
    while !models.table_ok(records, (kept.len() - next) as u64, uniques) && next < kept.len() {
        let class = kept[next];
        class.iter().for_each(|&r| suppressed[r as usize] = true);
        count += class.len() as u64;
        records -= class.len() as u64;
        uniques -= u64::from(class.len() == 1);
        next += 1;
    }
    if count > limit || !models.table_ok(records, (kept.len() - next) as u64, uniques) {
        return Err(AnonError::NoSolution { limit, searched: classes.len() as u64 });
    }
    Ok(suppressed)
}

/// How one quasi-identifier is split.
enum Axis {
    /// Numeric: the rank of each leaf in value order, and the sorted values.
    Numeric { rank: Vec<u32>, sorted: Vec<f64> },
    /// Categorical: split along the hierarchy.
    Categorical,
}

/// A partition's region on one quasi-identifier.
#[derive(Clone, Copy)]
enum Region {
    /// A numeric range, recomputed from the partition's rows.
    Range,
    /// The hierarchy label `code` at `level`; `level == levels` is the virtual root.
    Node(usize, u32),
}

/// Runs Mondrian over `table`.
pub fn mondrian(
    table: &EncodedTable,
    models: &CompiledModels,
    limit: u64,
) -> Result<Release, AnonError> {
    if table.population.is_some() {
        return Err(AnonError::InvalidParameter {
            name: "method".into(),
            reason: "mondrian does not support population-based models; use the lattice search"
                .into(),
        });
    }
    let axes: Vec<Axis> = table.quasi.iter().map(axis).collect();
    let all: Vec<u32> = (0..table.rows as u32).collect();
    if !rows_ok(table, models, &all) {
        return Err(AnonError::NoSolution { limit, searched: 1 });
    }
    let root: Vec<Region> = table
        .quasi
        .iter()
        .zip(&axes)
        .map(|(c, a)| match a {
            Axis::Numeric { .. } => Region::Range,
            Axis::Categorical => Region::Node(c.hierarchy.levels(), 0),
        })
        .collect();
    let mut stack = vec![(all, root)];
    let mut finals: Vec<(Vec<u32>, Vec<Region>)> = Vec::new();
    while let Some((rows, regions)) = stack.pop() {
        match split(table, models, &axes, &rows, &regions) {
            Some(parts) => stack.extend(parts),
            None => finals.push((rows, regions)),
        }
    }
    let classes: Vec<Vec<u32>> = finals.iter().map(|(r, _)| r.clone()).collect();
    let suppressed = suppress_classes(table, models, &classes, limit)?;
    Ok(build_release(table, &axes, &finals, suppressed))
}

fn axis(column: &crate::encode::EncodedColumn) -> Axis {
    match column.hierarchy.numeric_leaves() {
        Some(values) if column.missing_count == 0 => {
            let mut order: Vec<u32> = (0..values.len() as u32).collect();
            order.sort_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
            let mut rank = vec![0u32; values.len()];
            order.iter().enumerate().for_each(|(r, &leaf)| rank[leaf as usize] = r as u32);
            Axis::Numeric { rank, sorted: order.iter().map(|&l| values[l as usize]).collect() }
        }
        _ => Axis::Categorical,
    }
}

type Part = (Vec<u32>, Vec<Region>);

/// The best allowed split of a partition, widest attribute first.
fn split(
    table: &EncodedTable,
    models: &CompiledModels,
    axes: &[Axis],
    rows: &[u32],
    regions: &[Region],
) -> Option<Vec<Part>> {
    let mut order: Vec<(f64, usize)> =
        (0..axes.len()).map(|d| (width(table, axes, d, rows, regions[d]), d)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (w, d) in order {
        if w <= 0.0 {
            break;
        }
        let parts = match &axes[d] {
            Axis::Numeric { rank, .. } => {
                numeric_cut(&table.quasi[d].codes, rank, rows, regions, d)
            }
            Axis::Categorical => category_cut(&table.quasi[d], rows, regions, d),
        };
        if let Some(parts) = parts {
            if parts.iter().all(|(r, _)| rows_ok(table, models, r)) {
                return Some(parts);
            }
        }
    }
    None
}

fn width(table: &EncodedTable, axes: &[Axis], d: usize, rows: &[u32], region: Region) -> f64 {
    let column = &table.quasi[d];
    match (&axes[d], region) {
        (Axis::Numeric { rank, sorted }, _) => {
            let (lo, hi) = rows.iter().fold((u32::MAX, 0), |(lo, hi), &r| {
                let k = rank[column.codes[r as usize] as usize];
                (lo.min(k), hi.max(k))
            });
            let span = sorted[sorted.len() - 1] - sorted[0];
            if span <= 0.0 {
                0.0
            } else {
                (sorted[hi as usize] - sorted[lo as usize]) / span
            }
        }
        (Axis::Categorical, Region::Node(level, code)) => {
            if level == 0 {
                return 0.0;
            }
            let h = &column.hierarchy;
            let leaves = if level >= h.levels() {
                h.leaf_count() as u32
            } else {
                h.leaves_under(level, code)
            };
            f64::from(leaves) / h.leaf_count() as f64
        }
        (Axis::Categorical, Region::Range) => 0.0,
    }
}

fn numeric_cut(
    codes: &[u32],
    rank: &[u32],
    rows: &[u32],
    regions: &[Region],
    d: usize,
) -> Option<Vec<Part>> {
    let mut ranks: Vec<u32> = rows.iter().map(|&r| rank[codes[r as usize] as usize]).collect();
    let mid = (ranks.len() / 2).saturating_sub(usize::from(ranks.len().is_multiple_of(2)));
    let (_, &mut median, _) = ranks.select_nth_unstable(mid);
    let side = |cut: u32| -> (Vec<u32>, Vec<u32>) {
        rows.iter().partition(|&&r| rank[codes[r as usize] as usize] <= cut)
    };
    let (mut left, mut right) = side(median);
    if right.is_empty() {
        (left, right) = side(median.checked_sub(1)?);
    }
    if left.is_empty() || right.is_empty() {
        return None;
    }
    let with = |part: Vec<u32>| {
        let mut regions = regions.to_vec();
        regions[d] = Region::Range;
        (part, regions)
    };
    Some(vec![with(left), with(right)])
}

fn category_cut(
    column: &crate::encode::EncodedColumn,
    rows: &[u32],
    regions: &[Region],
    d: usize,
) -> Option<Vec<Part>> {
    let Region::Node(level, _) = regions[d] else { return None };
    if level == 0 {
        return None;
    }
    let h = &column.hierarchy;
    let child_level = level - 1;
    let mut children: rustc_hash::FxHashMap<u32, Vec<u32>> = Default::default();
    for &r in rows {
        children.entry(h.generalize(child_level, column.codes[r as usize])).or_default().push(r);
    }
    if children.len() < 2 {
        // One child only: descend without splitting, so deeper levels can be tried.
        let (&code, _) = children.iter().next()?;
        let mut regions = regions.to_vec();
        regions[d] = Region::Node(child_level, code);
        return Some(vec![(rows.to_vec(), regions)]);
    }
    let mut parts: Vec<Part> = children
        .into_iter()
        .map(|(code, part)| {
            let mut regions = regions.to_vec();
            regions[d] = Region::Node(child_level, code);
            (part, regions)
        })
        .collect();
    parts.sort_by_key(|(rows, _)| rows[0]);
    Some(parts)
}

fn build_release(
    table: &EncodedTable,
    axes: &[Axis],
    finals: &[Part],
    suppressed: Vec<bool>,
) -> Release {
    let columns = table
        .quasi
        .iter()
        .enumerate()
        .map(|(d, column)| {
            let h = &column.hierarchy;
            let mut labels: Vec<String> = Vec::new();
            let mut info = Vec::new();
            let mut index: rustc_hash::FxHashMap<String, u32> = Default::default();
            let mut cells = vec![0u32; table.rows];
            let leaf_records = {
                let mut c = vec![0u32; h.leaf_count()];
                column.codes.iter().for_each(|&l| c[l as usize] += 1);
                c
            };
            for (rows, regions) in finals {
                let (label, li) =
                    describe(h, &axes[d], regions[d], &leaf_records, &column.codes, rows);
                let id = *index.entry(label.clone()).or_insert_with(|| {
                    labels.push(label);
                    info.push(li);
                    (labels.len() - 1) as u32
                });
                rows.iter().for_each(|&r| cells[r as usize] = id);
            }
            ReleasedColumn {
                name: column.name.clone(),
                labels,
                info,
                cells,
                domain: h.leaf_count() as u32,
            }
        })
        .collect();
    Release {
        columns,
        suppressed,
        transformation: Transformation::Mondrian { partitions: finals.len() },
        population_cells: None,
    }
}

fn describe(
    h: &crate::Hierarchy,
    axis: &Axis,
    region: Region,
    leaf_records: &[u32],
    codes: &[u32],
    rows: &[u32],
) -> (String, LabelInfo) {
    let domain = h.leaf_count();
    match (axis, region) {
        (Axis::Numeric { rank, sorted }, _) => {
            let (lo, hi) = rows.iter().fold((u32::MAX, 0), |(lo, hi), &r| {
                let k = rank[codes[r as usize] as usize];
                (lo.min(k), hi.max(k))
            });
            let (a, b) = (sorted[lo as usize], sorted[hi as usize]);
            let label = if lo == hi { format!("{a}") } else { format!("[{a}-{b}]") };
            let records = (0..domain)
                .filter(|&l| (lo..=hi).contains(&rank[l]))
                .map(|l| leaf_records[l])
                .sum();
            let leaves = hi - lo + 1;
            let height = if domain > 1 { f64::from(leaves - 1) / (domain - 1) as f64 } else { 0.0 };
            (label, LabelInfo { leaves, records, height })
        }
        (Axis::Categorical, Region::Node(level, code)) if level < h.levels() => {
            let records = (0..domain)
                .filter(|&l| h.generalize(level, l as u32) == code)
                .map(|l| leaf_records[l])
                .sum();
            let height = if h.levels() > 1 { level as f64 / (h.levels() - 1) as f64 } else { 0.0 };
            (
                h.label(level, code).to_owned(),
                LabelInfo { leaves: h.leaves_under(level, code), records, height },
            )
        }
        _ => (
            crate::hierarchy::ROOT_LABEL.to_owned(),
            LabelInfo { leaves: domain as u32, records: codes.len() as u32, height: 1.0 },
        ),
    }
}
