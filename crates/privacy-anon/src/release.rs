//! A released table in encoded form: for each quasi-identifier, the label of every record, what
//! each label covers, and which records are suppressed.
//!
//! All three transformations (full-domain generalization, Mondrian, MDAV) produce a [`Release`],
//! so utility, risk and the independent verification are computed one way for all of them.
//!
//! **Suppression convention.** A suppressed record keeps its row (so the table's size and its
//! non-identifying columns are unchanged) but every quasi-identifier shows `*` and the column
//! [`SUPPRESSED_COLUMN`] is `true`. Readers of a release exclude flagged rows from every privacy
//! check and from utility; the flag is an ordinary boolean column, so it survives CSV and Parquet
//! round trips, and a `*` that is a real hierarchy label is never mistaken for suppression.

use serde::Serialize;

use crate::encode::EncodedTable;
use crate::hierarchy::ROOT_LABEL;

/// The name of the output column that flags suppressed records.
pub const SUPPRESSED_COLUMN: &str = "anon_suppressed";

/// What one released label of a quasi-identifier covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelInfo {
    /// Leaves of the hierarchy under the label (its domain share times the domain size).
    pub leaves: u32,
    /// Records of the input whose value lies under the label.
    pub records: u32,
    /// Its height as a fraction of the hierarchy's (0 for a leaf, 1 for the root).
    pub height: f64,
}

/// One released quasi-identifier.
#[derive(Clone, Debug)]
pub struct ReleasedColumn {
    /// The column name.
    pub name: String,
    /// The distinct output labels.
    pub labels: Vec<String>,
    /// What each label covers.
    pub info: Vec<LabelInfo>,
    /// The label of each record.
    pub cells: Vec<u32>,
    /// The size of the column's domain (hierarchy leaves).
    pub domain: u32,
}

/// How the release was made.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Transformation {
    /// One hierarchy level per quasi-identifier.
    FullDomain {
        /// `(column, level)` pairs, in job order.
        levels: Vec<(String, usize)>,
        /// Whether the node is proven optimal for the metric.
        optimal: bool,
    },
    /// Mondrian multidimensional local recoding.
    Mondrian {
        /// The number of partitions.
        partitions: usize,
    },
    /// MDAV microaggregation.
    Mdav {
        /// The number of groups.
        groups: usize,
    },
}

/// A released table, encoded.
#[derive(Clone, Debug)]
pub struct Release {
    /// The quasi-identifiers, in job order.
    pub columns: Vec<ReleasedColumn>,
    /// Which records are suppressed.
    pub suppressed: Vec<bool>,
    /// How it was made.
    pub transformation: Transformation,
    /// For full-domain releases with a population: the label of each population record per
    /// quasi-identifier, to count population matches.
    pub population_cells: Option<Vec<Vec<u32>>>,
}

impl Release {
    /// The number of records.
    pub fn rows(&self) -> usize {
        self.suppressed.len()
    }

    /// The output text of column `c` for record `row` (`*` when suppressed).
    pub fn text(&self, c: usize, row: usize) -> &str {
        if self.suppressed[row] {
            ROOT_LABEL
        } else {
            let column = &self.columns[c];
            &column.labels[column.cells[row] as usize]
        }
    }

    /// The number of suppressed records.
    pub fn suppressed_count(&self) -> u64 {
        self.suppressed.iter().filter(|&&s| s).count() as u64
    }
}

/// The release of full-domain node `levels`, with `suppressed` records flagged.
pub fn full_domain(
    table: &EncodedTable,
    levels: &[usize],
    suppressed: Vec<bool>,
    optimal: bool,
) -> Release {
    let columns = table
        .quasi
        .iter()
        .zip(levels)
        .map(|(column, &level)| {
            let h = &column.hierarchy;
            let mut records = vec![0u32; h.label_count(level)];
            for &leaf in &column.codes {
                records[h.generalize(level, leaf) as usize] += 1;
            }
            let height = if h.levels() > 1 { level as f64 / (h.levels() - 1) as f64 } else { 0.0 };
            let info = (0..h.label_count(level) as u32)
                .map(|label| LabelInfo {
                    leaves: h.leaves_under(level, label),
                    records: records[label as usize],
                    height,
                })
                .collect();
            ReleasedColumn {
                name: column.name.clone(),
                labels: (0..h.label_count(level) as u32)
                    .map(|l| h.label(level, l).to_owned())
                    .collect(),
                info,
                cells: column.codes.iter().map(|&leaf| h.generalize(level, leaf)).collect(),
                domain: h.leaf_count() as u32,
            }
        })
        .collect();
    let population_cells = table.population.as_ref().map(|pop| {
        pop.iter()
            .zip(&table.quasi)
            .zip(levels)
            .map(|((codes, column), &level)| {
                codes.iter().map(|&leaf| column.hierarchy.generalize(level, leaf)).collect()
            })
            .collect()
    });
    Release {
        columns,
        suppressed,
        transformation: Transformation::FullDomain {
            levels: table
                .quasi
                .iter()
                .map(|c| c.name.clone())
                .zip(levels.iter().copied())
                .collect(),
            optimal,
        },
        population_cells,
    }
}
