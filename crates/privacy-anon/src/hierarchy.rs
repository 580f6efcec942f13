//! Generalization hierarchies: how a quasi-identifying value becomes less specific, level by
//! level, until it says nothing.
//!
//! A hierarchy is a table with one row per leaf value (a value that may occur in the data),
//! followed by its ancestors, most specific first: `39;35-39;30-39;20-39;*`. That is the common
//! format of ARX and sdcMicro, read here from CSV separated by `;` or `,` with no header. It
//! can also be built in code ([`crate::hierarchy_builder`]): numeric intervals with top and
//! bottom coding, date truncation, prefix masking.
//!
//! Every level must be a function of the level below it (a label never has two parents), so
//! that generalization along the hierarchy is a tree and the lattice search may roll class
//! statistics up from a more specific node; a hierarchy that breaks this is refused.
//!
//! Internally values are dictionary-encoded: leaf `i` generalizes at level `l` to label code
//! `map[l][i]`. The trade-off is memory (one `u32` per leaf and level) for O(1) generalization
//! of any record at any level, which is what makes the search fast.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::AnonError;

/// The label every suppressed or fully generalized value shows.
pub const ROOT_LABEL: &str = "*";

/// A generalization hierarchy of one column, dictionary-encoded.
#[derive(Clone, Debug)]
pub struct Hierarchy {
    column: String,
    leaf_index: FxHashMap<String, u32>,
    /// Per level, the distinct labels of that level.
    labels: Vec<Vec<String>>,
    /// Per level, leaf code → label code.
    map: Vec<Vec<u32>>,
    /// Per level and label, how many leaves lie under the label (its domain share times the
    /// number of leaves).
    leaves_under: Vec<Vec<u32>>,
    /// The leaves as numbers, when every leaf parses as a finite number.
    numeric: Option<Vec<f64>>,
}

impl Hierarchy {
    /// Builds a hierarchy from its rows (leaf first, then ancestors, most specific first).
    pub fn from_rows(column: &str, rows: Vec<Vec<String>>) -> Result<Self, AnonError> {
        let invalid =
            |reason: String| AnonError::InvalidHierarchy { column: column.to_owned(), reason };
        let width = rows.first().map(Vec::len).ok_or_else(|| invalid("it has no rows".into()))?;
        if width == 0 {
            return Err(invalid("its first row is empty".into()));
        }
        let mut leaf_index = FxHashMap::default();
        let mut unique_rows = Vec::with_capacity(rows.len());
        for (line, row) in rows.into_iter().enumerate() {
            if row.len() != width {
                return Err(invalid(format!(
                    "row {} has {} levels, the first row has {width}",
                    line + 1,
                    row.len()
                )));
            }
            match leaf_index.get(&row[0]) {
                Some(&i) if unique_rows[i as usize] == row => continue,
                Some(_) => {
                    return Err(invalid(format!(
                        "row {} repeats a leaf with other ancestors",
                        line + 1
                    )))
                }
                None => {
                    leaf_index.insert(row[0].clone(), to_u32(unique_rows.len())?);
                    unique_rows.push(row);
                }
            }
        }
        let (labels, map) = encode_levels(&unique_rows, width);
        check_tree(&map, &labels).map_err(invalid)?;
        let leaves_under = count_leaves_under(&map, &labels);
        let numeric = unique_rows.iter().map(|r| parse_number(&r[0])).collect::<Option<Vec<_>>>();
        Ok(Self { column: column.to_owned(), leaf_index, labels, map, leaves_under, numeric })
    }

    /// Parses the CSV form: one row per leaf, `;` or `,` separated (the separator is `;` when
    /// the first non-blank line contains one), no header, no quoting. Blank lines are skipped.
    pub fn from_csv_bytes(column: &str, bytes: &[u8]) -> Result<Self, AnonError> {
        let text = std::str::from_utf8(bytes).map_err(|_| AnonError::InvalidHierarchy {
            column: column.to_owned(),
            reason: "the file is not UTF-8 text".into(),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .collect();
        let separator = if lines.first().is_some_and(|l| l.contains(';')) { ';' } else { ',' };
        let rows = lines
            .iter()
            .map(|l| l.split(separator).map(|f| f.trim().to_owned()).collect())
            .collect();
        Self::from_rows(column, rows)
    }

    /// Reads the CSV form from a file.
    pub fn from_csv_file(column: &str, path: &Path) -> Result<Self, AnonError> {
        let bytes = std::fs::read(path).map_err(|e| AnonError::Io {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        Self::from_csv_bytes(column, &bytes)
    }

    /// A hierarchy of one level: the values themselves, never generalized (used for sensitive
    /// attributes that need a dictionary but no generalization).
    pub fn flat(column: &str, values: &[String]) -> Result<Self, AnonError> {
        Self::from_rows(column, values.iter().map(|v| vec![v.clone()]).collect())
    }

    /// The column this hierarchy belongs to.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The number of levels, the leaves included (a hierarchy `value;*` has two).
    pub fn levels(&self) -> usize {
        self.map.len()
    }

    /// The number of leaves.
    pub fn leaf_count(&self) -> usize {
        self.map[0].len()
    }

    /// The code of a leaf value.
    pub fn leaf_code(&self, value: &str) -> Option<u32> {
        self.leaf_index.get(value).copied()
    }

    /// The label code of leaf `leaf` at `level`.
    #[inline]
    pub fn generalize(&self, level: usize, leaf: u32) -> u32 {
        self.map[level][leaf as usize]
    }

    /// The leaf → label table of one level.
    pub fn level_map(&self, level: usize) -> &[u32] {
        &self.map[level]
    }

    /// The text of label `code` at `level`.
    pub fn label(&self, level: usize, code: u32) -> &str {
        &self.labels[level][code as usize]
    }

    /// The number of distinct labels at `level`.
    pub fn label_count(&self, level: usize) -> usize {
        self.labels[level].len()
    }

    /// How many leaves lie under label `code` of `level`.
    pub fn leaves_under(&self, level: usize, code: u32) -> u32 {
        self.leaves_under[level][code as usize]
    }

    /// The leaves as numbers, if every leaf is a finite number.
    pub fn numeric_leaves(&self) -> Option<&[f64]> {
        self.numeric.as_deref()
    }

    /// Adds a leaf for missing values. With `as_root`, it is the fully generalized value at
    /// every level and counts as covering the whole domain; otherwise it is its own category up
    /// to the last level, which it shares with the other values when that level is one root.
    pub(crate) fn with_missing_leaf(
        mut self,
        label: &str,
        as_root: bool,
    ) -> Result<Self, AnonError> {
        if self.leaf_index.contains_key(label) {
            return Ok(self);
        }
        let top = self.levels() - 1;
        let single_root = self.labels[top].len() == 1;
        let mut row = Vec::with_capacity(self.levels());
        for level in 0..self.levels() {
            let own = if as_root {
                ROOT_LABEL.to_owned()
            } else if level == top && single_root && top > 0 {
                self.labels[top][0].clone()
            } else {
                label.to_owned()
            };
            row.push(if level == 0 { label.to_owned() } else { own });
        }
        let mut rows = self.rows();
        rows.push(row);
        let numeric = self.numeric.take();
        let mut rebuilt = Self::from_rows(&self.column, rows)?;
        if as_root {
            let leaf = rebuilt.leaf_count() as u32 - 1;
            let total = rebuilt.leaf_count() as u32;
            for level in 0..rebuilt.levels() {
                let code = rebuilt.map[level][leaf as usize];
                rebuilt.leaves_under[level][code as usize] = total;
            }
        }
        // Numeric order and distances ignore the missing leaf; it has no number.
        rebuilt.numeric = numeric.map(|mut v| {
            v.push(f64::NAN);
            v
        });
        Ok(rebuilt)
    }

    /// The hierarchy as rows of labels, leaf first.
    pub fn rows(&self) -> Vec<Vec<String>> {
        (0..self.leaf_count() as u32)
            .map(|leaf| {
                (0..self.levels())
                    .map(|l| self.label(l, self.generalize(l, leaf)).to_owned())
                    .collect()
            })
            .collect()
    }
}

fn to_u32(n: usize) -> Result<u32, AnonError> {
    u32::try_from(n).map_err(|_| AnonError::InvalidParameter {
        name: "hierarchy".into(),
        reason: "more than 2^32 values".into(),
    })
}

/// Numbers as the data holds them: decimal text, no surrounding blanks, finite.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn encode_levels(rows: &[Vec<String>], width: usize) -> (Vec<Vec<String>>, Vec<Vec<u32>>) {
    let mut labels = Vec::with_capacity(width);
    let mut map = Vec::with_capacity(width);
    for level in 0..width {
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut level_labels = Vec::new();
        let codes = rows
            .iter()
            .map(|row| {
                *index.entry(row[level].as_str()).or_insert_with(|| {
                    level_labels.push(row[level].clone());
                    // Fewer labels than rows, and rows were counted into a u32 already.
                    (level_labels.len() - 1) as u32
                })
            })
            .collect();
        labels.push(level_labels);
        map.push(codes);
    }
    (labels, map)
}

/// Refuses a label with two different parents: generalization must be a tree.
fn check_tree(map: &[Vec<u32>], labels: &[Vec<String>]) -> Result<(), String> {
    for level in 0..map.len().saturating_sub(1) {
        let mut parent = vec![u32::MAX; labels[level].len()];
        for (leaf, &code) in map[level].iter().enumerate() {
            let up = map[level + 1][leaf];
            let slot = &mut parent[code as usize];
            if *slot == u32::MAX {
                *slot = up;
            } else if *slot != up {
                return Err(format!(
                    "the label {:?} at level {level} has two parents, {:?} and {:?}",
                    labels[level][code as usize],
                    labels[level + 1][*slot as usize],
                    labels[level + 1][up as usize]
                ));
            }
        }
    }
    Ok(())
}

fn count_leaves_under(map: &[Vec<u32>], labels: &[Vec<String>]) -> Vec<Vec<u32>> {
    map.iter()
        .zip(labels)
        .map(|(codes, names)| {
            let mut counts = vec![0u32; names.len()];
            for &c in codes {
                counts[c as usize] += 1;
            }
            counts
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_semicolon_rows_and_generalizes() {
        let h =
            Hierarchy::from_csv_bytes("age", b"29;[20,30[;*\n22;[20,30[;*\n43;>=40;*\n\n").unwrap();
        assert_eq!(h.levels(), 3);
        assert_eq!(h.leaf_count(), 3);
        let leaf = h.leaf_code("22").unwrap();
        assert_eq!(h.label(1, h.generalize(1, leaf)), "[20,30[");
        assert_eq!(h.leaves_under(1, h.generalize(1, leaf)), 2);
        assert_eq!(h.leaves_under(2, 0), 3);
        assert_eq!(h.numeric_leaves().unwrap(), &[29.0, 22.0, 43.0]);
    }

    #[test]
    fn refuses_ragged_rows_and_two_parents() {
        let ragged = Hierarchy::from_csv_bytes("x", b"a,b,*\nc,*\n").unwrap_err();
        assert!(matches!(ragged, AnonError::InvalidHierarchy { .. }), "{ragged}");
        let dag = Hierarchy::from_csv_bytes("x", b"a;g;*\nb;g;**\n").unwrap_err();
        assert!(dag.to_string().contains("two parents"), "{dag}");
        let empty = Hierarchy::from_csv_bytes("x", b"\n\n").unwrap_err();
        assert!(matches!(empty, AnonError::InvalidHierarchy { .. }));
    }

    #[test]
    fn missing_leaf_is_own_category_or_root() {
        let h = Hierarchy::from_csv_bytes("sex", b"Male;*\nFemale;*\n").unwrap();
        let own = h.clone().with_missing_leaf("", false).unwrap();
        let m = own.leaf_code("").unwrap();
        assert_eq!(own.label(0, own.generalize(0, m)), "");
        assert_eq!(own.label(1, own.generalize(1, m)), "*");
        let root = h.with_missing_leaf("", true).unwrap();
        let m = root.leaf_code("").unwrap();
        assert_eq!(root.leaves_under(1, root.generalize(1, m)), 3);
    }
}
