//! Loading patient tables and preparing them for private aggregation.
//!
//! Three steps happen here, all before any privacy budget is touched:
//! 1. **Reading** a CSV file (delimiter sniffed from the header line, or given) or a Parquet file
//!    (recognised by its `PAR1` magic bytes) into a polars [`DataFrame`]. Column types are
//!    inferred from every row, so a column that mixes numbers and text is a text column, never
//!    a silently truncated numeric one.
//! 2. **Bounding contributions** per privacy unit: with a unit column (a patient identifier) and
//!    a bound `k`, only the first `k` rows of each unit, in file order, take part in any
//!    aggregate. The kept set of a unit depends on that unit's rows alone, so adding or removing
//!    one patient changes at most `k` kept rows: the neighbouring relation of every guarantee in
//!    this crate ([`NeighbouringRelation::AddRemoveUnit`]). Without a unit column each row is
//!    its own unit (`k = 1`), which is only correct when the file holds one row per patient.
//! 3. **Reading numeric columns** as `f64` chunks, with missing values (nulls) skipped and
//!    non-finite values (NaN, ±∞) handled by an explicit [`NonFinitePolicy`].
//!
//! Trade-off: truncation keeps the first `k` rows rather than a random `k`, which is
//! deterministic and cheap but can bias a statistic when a patient's rows are ordered by the
//! value being measured. Integer identifiers are first scanned once: sorted identifiers need no
//! table at all (and no mask when no patient exceeds `k`), dense ones are counted in an array,
//! and only the rest pay for a hash table.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;
use privacy_core::NeighbouringRelation;

use crate::error::DpError;

/// What to do with NaN and infinite values in a column a numeric query reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonFinitePolicy {
    /// Refuse the whole call before any budget is charged (the default).
    #[default]
    Refuse,
    /// Treat them as missing: the row is left out of that column's sum and mean (it still
    /// counts in `count()`). Dropping is a per-row map, so sensitivity is unchanged.
    Drop,
}

/// How many rows one privacy unit may contribute, and which column identifies the unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionBound {
    /// The column that identifies a privacy unit (a patient); `None` means one row per unit.
    pub unit_column: Option<String>,
    /// The most rows one unit contributes after truncation; at least 1. In grouped queries
    /// (histograms and `by`), the most rows one unit contributes to each group.
    pub max_rows_per_unit: u64,
    /// The most groups one unit may touch in grouped queries; required with a unit column
    /// when a query is grouped (see [`crate::grouped`]).
    pub max_groups_per_unit: Option<u64>,
}

impl ContributionBound {
    /// One row per privacy unit: the file is assumed to hold one row per patient.
    pub fn one_row_per_unit() -> Self {
        Self { unit_column: None, max_rows_per_unit: 1, max_groups_per_unit: None }
    }

    /// The same bound with at most `groups` groups per unit in grouped queries.
    pub fn with_max_groups_per_unit(mut self, groups: u64) -> Result<Self, DpError> {
        if groups == 0 {
            return Err(DpError::InvalidContribution(
                "max groups per unit must be at least 1".into(),
            ));
        }
        self.max_groups_per_unit = Some(groups);
        Ok(self)
    }

    /// At most `max_rows_per_unit` rows for each distinct value of `unit_column`.
    pub fn per_unit(
        unit_column: impl Into<String>,
        max_rows_per_unit: u64,
    ) -> Result<Self, DpError> {
        if max_rows_per_unit == 0 {
            return Err(DpError::InvalidContribution(
                "max rows per unit must be at least 1".into(),
            ));
        }
        Ok(Self {
            unit_column: Some(unit_column.into()),
            max_rows_per_unit,
            max_groups_per_unit: None,
        })
    }

    /// The neighbouring relation the guarantees are stated for.
    pub fn relation(&self) -> NeighbouringRelation {
        NeighbouringRelation::AddRemoveUnit { max_rows_per_unit: self.max_rows_per_unit }
    }
}

/// How to read a data file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The CSV delimiter; `None` sniffs it from the header line.
    pub delimiter: Option<u8>,
}

/// Reads a CSV or Parquet file into a data frame.
pub fn read_table(path: &Path, options: ReadOptions) -> Result<DataFrame, DpError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| DpError::Io { path: shown.clone(), reason: e.kind().to_string() })?;
    read_table_bytes(bytes, &shown, options)
}

/// Parses CSV or Parquet bytes; `name` is used in error messages only.
///
/// This is the untrusted-input surface that the `read_table` fuzz target exercises.
pub fn read_table_bytes(
    bytes: Vec<u8>,
    name: &str,
    options: ReadOptions,
) -> Result<DataFrame, DpError> {
    let malformed =
        |e: PolarsError| DpError::MalformedData { path: name.to_owned(), reason: e.to_string() };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DpError::EmptyData(name.to_owned()));
    }
    if std::str::from_utf8(&bytes).is_err() && !bytes.starts_with(b"PAR1") {
        return Err(DpError::MalformedData {
            path: name.to_owned(),
            reason: "not UTF-8 text".into(),
        });
    }
    // polars is a large parser of untrusted bytes; a panic inside it on some malformed input
    // must still end as a typed error of ours, so it is contained here.
    let parsed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_frame(bytes, options)));
    let frame = match parsed {
        Ok(result) => result.map_err(malformed)?,
        Err(_) => {
            return Err(DpError::MalformedData {
                path: name.to_owned(),
                reason: "the parser failed on this input".into(),
            })
        }
    };
    if frame.width() == 0 {
        return Err(DpError::EmptyData(name.to_owned()));
    }
    refuse_duplicate_columns(&frame)?;
    Ok(frame)
}

/// polars renames a repeated CSV header to `name_duplicated_N`; a query for `name` would then
/// silently read only the first of them, so such a file is refused.
fn refuse_duplicate_columns(frame: &DataFrame) -> Result<(), DpError> {
    let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
    for name in &names {
        if let Some((original, n)) = name.rsplit_once("_duplicated_") {
            if n.chars().all(|c| c.is_ascii_digit()) && names.contains(&original) {
                return Err(DpError::DuplicateColumn(original.to_owned()));
            }
        }
    }
    Ok(())
}

/// Removes blank lines outside quoted fields. polars reads a blank line as a record whose every
/// field is missing, so without this a trailing empty line would be counted as a patient.
fn drop_blank_lines(bytes: Vec<u8>) -> Vec<u8> {
    let mut quoted = false;
    let mut blank_outside_quotes = false;
    for line in bytes.split(|&b| b == b'\n') {
        if !quoted && matches!(line, [] | [b'\r']) {
            blank_outside_quotes = true;
            break;
        }
        quoted ^= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    }
    if !blank_outside_quotes {
        return bytes;
    }
    let (mut out, mut quoted) = (Vec::with_capacity(bytes.len()), false);
    for line in bytes.split(|&b| b == b'\n') {
        if quoted || !matches!(line, [] | [b'\r']) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        quoted ^= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    }
    out
}

fn parse_frame(bytes: Vec<u8>, options: ReadOptions) -> PolarsResult<DataFrame> {
    if bytes.starts_with(b"PAR1") {
        return ParquetReader::new(Cursor::new(bytes)).finish();
    }
    let bytes = drop_blank_lines(bytes);
    let separator = options.delimiter.unwrap_or_else(|| sniff_delimiter(&bytes));
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .with_raise_if_empty(true)
        .map_parse_options(|p| p.with_separator(separator))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
}

/// The most frequent of `,` `;` tab `|` in the first line outside double quotes; `,` on a tie
/// or when none occurs.
pub fn sniff_delimiter(bytes: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in bytes.iter().take_while(|&&b| b != b'\n') {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// A data frame with its contribution bound applied: which rows take part in aggregates.
#[derive(Clone, Debug)]
pub struct BoundedTable {
    /// Cloning a data frame only clones reference-counted column handles.
    frame: DataFrame,
    bound: ContributionBound,
    /// `keep[i]` says whether row `i` survives truncation; `None` keeps every row.
    keep: Option<Vec<bool>>,
}

impl BoundedTable {
    /// Applies `bound` to `frame` (one pass over the unit column).
    pub fn new(frame: DataFrame, bound: ContributionBound) -> Result<Self, DpError> {
        if bound.max_rows_per_unit == 0 {
            return Err(DpError::InvalidContribution(
                "max rows per unit must be at least 1".into(),
            ));
        }
        let keep = match &bound.unit_column {
            None => None,
            Some(name) => truncation_mask(column(&frame, name)?, bound.max_rows_per_unit)?,
        };
        Ok(Self { frame, bound, keep })
    }

    /// The underlying frame.
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// The contribution bound applied.
    pub fn bound(&self) -> &ContributionBound {
        &self.bound
    }

    /// The number of rows that survive truncation.
    pub fn kept_rows(&self) -> u64 {
        match &self.keep {
            None => self.frame.height() as u64,
            Some(keep) => keep.iter().filter(|&&k| k).count() as u64,
        }
    }

    /// The truncation mask, when there is one.
    pub fn mask(&self) -> Option<&[bool]> {
        self.keep.as_deref()
    }

    /// The named column as `f64`, after checking that it is numeric (NaN and infinities are
    /// left in; the aggregations count and exclude them).
    pub fn float_column(&self, name: &str, query: &str) -> Result<Float64Chunked, DpError> {
        self.numeric_column(name, query, NonFinitePolicy::Drop)
    }

    /// The named column as `f64`, after checking that it is numeric and, under
    /// [`NonFinitePolicy::Refuse`], that it holds no NaN or infinity.
    pub fn numeric_column(
        &self,
        name: &str,
        query: &str,
        policy: NonFinitePolicy,
    ) -> Result<Float64Chunked, DpError> {
        let col = column(&self.frame, name)?;
        let dtype = col.dtype();
        if !dtype.is_primitive_numeric() {
            return Err(DpError::NonNumericColumn {
                column: name.to_owned(),
                dtype: dtype.to_string(),
                query: query.to_owned(),
            });
        }
        let series = col.as_materialized_series().cast(&DataType::Float64).map_err(|e| {
            DpError::NonNumericColumn {
                column: name.to_owned(),
                dtype: e.to_string(),
                query: query.to_owned(),
            }
        })?;
        let values = series
            .f64()
            .map_err(|_| DpError::NonNumericColumn {
                column: name.to_owned(),
                dtype: dtype.to_string(),
                query: query.to_owned(),
            })?
            .clone();
        if policy == NonFinitePolicy::Refuse {
            let count = values
                .downcast_iter()
                .map(|chunk| match chunk.validity() {
                    None => chunk.values().iter().filter(|v| !v.is_finite()).count(),
                    Some(valid) => chunk
                        .values()
                        .iter()
                        .zip(valid.iter())
                        .filter(|(v, ok)| *ok && !v.is_finite())
                        .count(),
                })
                .sum::<usize>();
            if count > 0 {
                return Err(DpError::NonFiniteValues { column: name.to_owned(), count });
            }
        }
        Ok(values)
    }
}

/// Looks a column up, naming the columns that exist when it is missing.
pub fn column<'f>(frame: &'f DataFrame, name: &str) -> Result<&'f Column, DpError> {
    frame.column(name).map_err(|_| DpError::UnknownColumn {
        column: name.to_owned(),
        available: frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Marks the first `k` rows of every unit. `None` when no row would be dropped.
fn truncation_mask(unit: &Column, k: u64) -> Result<Option<Vec<bool>>, DpError> {
    if unit.null_count() > 0 {
        return Err(DpError::InvalidContribution(format!(
            "privacy unit column {:?} has missing values; every row must name its unit",
            unit.name().as_str()
        )));
    }
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    let keep = if unit.dtype().is_integer() {
        let ints =
            unit.cast(&DataType::Int64).map_err(|e| DpError::InvalidContribution(e.to_string()))?;
        let ints = ints.i64().map_err(|e| DpError::InvalidContribution(e.to_string()))?;
        // One contiguous slice (a copy only when the column came in several chunks).
        let ints = ints.rechunk();
        let keys = ints.cont_slice().map_err(|e| DpError::InvalidContribution(e.to_string()))?;
        match integer_layout(keys, k) {
            IntegerLayout::SortedWithinBound => return Ok(None),
            IntegerLayout::Sorted => mask_first_k_sorted(keys, k),
            IntegerLayout::Dense { min, range } => mask_first_k_dense(keys, k, min, range),
            IntegerLayout::Other => mask_first_k(keys.iter(), keys.len(), k),
        }
    } else {
        let text = unit
            .cast(&DataType::String)
            .map_err(|e| DpError::InvalidContribution(e.to_string()))?;
        let text = text.str().map_err(|e| DpError::InvalidContribution(e.to_string()))?;
        mask_first_k(text.iter().map(Option::unwrap_or_default), unit.len(), k)
    };
    Ok(keep.contains(&false).then_some(keep))
}

/// What one pass over integer unit identifiers found, to pick the cheapest exact truncation.
#[derive(Debug, PartialEq, Eq)]
enum IntegerLayout {
    /// Non-decreasing, and no run is longer than `k`: nothing to drop.
    SortedWithinBound,
    /// Non-decreasing: runs are whole units, counted without any table.
    Sorted,
    /// Identifiers in `[min, min + range)`, with `range` at most twice the row count: counted in
    /// an array.
    Dense {
        /// The smallest identifier.
        min: i64,
        /// One past the largest identifier, minus `min`.
        range: usize,
    },
    /// Anything else: counted in a hash table.
    Other,
}

fn integer_layout(keys: &[i64], k: u32) -> IntegerLayout {
    // Branch-free block folds, so that each of these passes vectorizes.
    let pairs = keys.len().saturating_sub(1);
    let sorted = (0..pairs).step_by(4096).all(|start| {
        let end = (start + 4096).min(pairs);
        keys[start..end].iter().zip(&keys[start + 1..=end]).fold(true, |ok, (a, b)| ok & (a <= b))
    });
    if sorted {
        // In a sorted column a unit has more than k rows exactly when some key equals the key
        // k places further on (checked in branch-free blocks, like the sort check).
        let k = k as usize;
        let long_run = k < keys.len() && {
            let pairs = keys.len() - k;
            (0..pairs).step_by(4096).any(|start| {
                let end = (start + 4096).min(pairs);
                keys[start..end]
                    .iter()
                    .zip(&keys[start + k..end + k])
                    .fold(false, |hit, (a, b)| hit | (a == b))
            })
        };
        return if long_run { IntegerLayout::Sorted } else { IntegerLayout::SortedWithinBound };
    }
    let (min, max) =
        keys.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &key| (lo.min(key), hi.max(key)));
    let range = (i128::from(max) - i128::from(min) + 1) as u128;
    match usize::try_from(range) {
        Ok(range) if range <= keys.len().saturating_mul(2) => IntegerLayout::Dense { min, range },
        _ => IntegerLayout::Other,
    }
}

/// Truncation of non-decreasing keys: each run is one whole unit, so row `i` is among the
/// first `k` rows of its unit exactly when `i < k` or `keys[i − k] ≠ keys[i]` (a run that
/// reaches back `k` places has `k` earlier rows of the same unit). One vectorizable pass.
fn mask_first_k_sorted(keys: &[i64], k: u32) -> Vec<bool> {
    let k = (k as usize).min(keys.len());
    let mut keep = vec![true; keys.len()];
    for ((kept, a), b) in keep[k..].iter_mut().zip(keys).zip(&keys[k..]) {
        *kept = a != b;
    }
    keep
}

/// Truncation of keys within `[min, min + range)`, counted in an array (of bytes when `k` is
/// small, so the counts stay in cache).
fn mask_first_k_dense(keys: &[i64], k: u32, min: i64, range: usize) -> Vec<bool> {
    // `min <= key < min + range` by construction of the layout, and `range` fits a usize.
    let slot = |key: i64| (i128::from(key) - i128::from(min)) as usize;
    if k < u32::from(u8::MAX) {
        let mut seen = vec![0u8; range];
        keys.iter()
            .map(|&key| {
                let n = &mut seen[slot(key)];
                *n = n.saturating_add(1);
                u32::from(*n) <= k
            })
            .collect()
    } else {
        let mut seen = vec![0u32; range];
        keys.iter()
            .map(|&key| {
                let n = &mut seen[slot(key)];
                *n = n.saturating_add(1);
                *n <= k
            })
            .collect()
    }
}

/// `keep[i]` is true for the first `k` occurrences of each key, counted in a hash table.
fn mask_first_k<K>(keys: impl Iterator<Item = K>, len: usize, k: u32) -> Vec<bool>
where
    K: std::hash::Hash + Eq,
{
    let mut seen: PlHashMap<K, u32> =
        PlHashMap::with_capacity_and_hasher(len / 4, Default::default());
    keys.map(|key| {
        let n = seen.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        *n <= k
    })
    .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    fn frame(csv: &str) -> DataFrame {
        read_table_bytes(csv.as_bytes().to_vec(), "test.csv", ReadOptions::default()).unwrap()
    }

    #[test]
    fn sniffs_the_delimiter() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1;2;3"), b';');
        assert_eq!(sniff_delimiter(b"a,b\n"), b',');
        assert_eq!(sniff_delimiter(b"\"x;y\",b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
        let df = frame("sex;age\nMale;39\nFemale;50\n");
        assert_eq!(df.shape(), (2, 2));
        // Blank lines are not records; an all-missing record (",") is, and so is a blank line
        // inside a quoted field.
        assert_eq!(frame("x,y\n1,2\n\n3,4\n\r\n\n\n").shape(), (2, 2));
        assert_eq!(frame("x\n1\n\n2\n").height(), 2);
        assert_eq!(frame("x,y\n1,2\n,\n").height(), 2);
        assert_eq!(frame("x,y\n\"a\n\nb\",2\n").height(), 1);
    }

    #[test]
    fn empty_and_malformed_input_is_refused() {
        let read = |s: &[u8]| read_table_bytes(s.to_vec(), "t", ReadOptions::default());
        assert!(matches!(read(b""), Err(DpError::EmptyData(_))));
        assert!(matches!(read(b"  \n"), Err(DpError::EmptyData(_))));
        assert!(matches!(read(b"a,b\n1,2,3,4\n"), Err(DpError::MalformedData { .. })));
        assert!(matches!(read(&[0xff, 0xfe, b'\n']), Err(DpError::MalformedData { .. })));
        assert!(matches!(read(b"PAR1garbage"), Err(DpError::MalformedData { .. })));
        assert!(
            matches!(read(b"age,age\n30,20\n"), Err(DpError::DuplicateColumn(c)) if c == "age")
        );
        // Found by the read_table fuzz target: polars 0.55 panics on this input (a lone quote in
        // a numeric field); the panic is contained and reported as malformed data.
        assert!(matches!(read(b",\n4,e\"\n\""), Err(DpError::MalformedData { .. })));
    }

    #[test]
    fn numeric_columns_are_checked() {
        let df = frame("id,age,name,x\n1,30,a,1.5\n2,40,b,NaN\n");
        let table = BoundedTable::new(df.clone(), ContributionBound::one_row_per_unit()).unwrap();
        assert!(table.numeric_column("age", "q", NonFinitePolicy::Refuse).is_ok());
        assert!(matches!(
            table.numeric_column("name", "q", NonFinitePolicy::Refuse),
            Err(DpError::NonNumericColumn { .. })
        ));
        assert!(matches!(
            table.numeric_column("nope", "q", NonFinitePolicy::Refuse),
            Err(DpError::UnknownColumn { .. })
        ));
        assert!(matches!(
            table.numeric_column("x", "q", NonFinitePolicy::Refuse),
            Err(DpError::NonFiniteValues { count: 1, .. })
        ));
        assert!(table.numeric_column("x", "q", NonFinitePolicy::Drop).is_ok());
    }

    #[test]
    fn truncation_keeps_the_first_k_rows_of_each_unit() {
        let df = frame("pid,v\n1,1\n1,2\n1,3\n2,4\n3,5\n3,6\n");
        let t =
            BoundedTable::new(df.clone(), ContributionBound::per_unit("pid", 2).unwrap()).unwrap();
        assert_eq!(t.mask().unwrap(), &[true, true, false, true, true, true]);
        let df = frame("pid,v\na,1\nb,2\na,3\na,4\nb,5\nb,6\n");
        let t =
            BoundedTable::new(df.clone(), ContributionBound::per_unit("pid", 2).unwrap()).unwrap();
        assert_eq!(t.mask().unwrap(), &[true, true, true, false, true, false]);
        assert_eq!(t.kept_rows(), 4);
        let t =
            BoundedTable::new(df.clone(), ContributionBound::per_unit("pid", 3).unwrap()).unwrap();
        assert!(t.mask().is_none());
        assert!(ContributionBound::per_unit("pid", 0).is_err());
        let df = frame("pid,v\n1,1\n,2\n");
        assert!(matches!(
            BoundedTable::new(df.clone(), ContributionBound::per_unit("pid", 1).unwrap()),
            Err(DpError::InvalidContribution(_))
        ));
    }

    fn reference_mask(keys: &[i64], k: u32) -> Vec<bool> {
        let mut seen = std::collections::HashMap::new();
        keys.iter()
            .map(|key| {
                let n = seen.entry(*key).or_insert(0u32);
                *n += 1;
                *n <= k
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn integer_layouts_agree_with_the_reference(
            mut keys in proptest::collection::vec(-3i64..40, 0..80),
            sort in proptest::bool::ANY,
            spread in proptest::bool::ANY,
            k in 1u32..4,
        ) {
            if spread {
                keys.iter_mut().for_each(|x| *x *= 1 << 40);
            }
            if sort {
                keys.sort_unstable();
            }
            let expected = reference_mask(&keys, k);
            let it = || keys.iter().copied();
            let got = match integer_layout(&keys, k) {
                IntegerLayout::SortedWithinBound => vec![true; keys.len()],
                IntegerLayout::Sorted => mask_first_k_sorted(&keys, k),
                IntegerLayout::Dense { min, range } => mask_first_k_dense(&keys, k, min, range),
                IntegerLayout::Other => mask_first_k(it(), keys.len(), k),
            };
            proptest::prop_assert_eq!(got, expected.clone());
            if sort {
                // The run-comparison mask holds for every sorted column, long runs or not.
                proptest::prop_assert_eq!(mask_first_k_sorted(&keys, k), expected);
            }
        }

        #[test]
        fn hash_table_mask_agrees_with_the_reference(keys in proptest::collection::vec(0u8..6, 0..60), k in 1u32..4) {
            let mut seen = std::collections::HashMap::new();
            let expected: Vec<bool> = keys.iter().map(|key| {
                let n = seen.entry(*key).or_insert(0u32);
                *n += 1;
                *n <= k
            }).collect();
            proptest::prop_assert_eq!(mask_first_k(keys.iter(), keys.len(), k), expected);
        }
    }
}
