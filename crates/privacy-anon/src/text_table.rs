//! A lossless, all-text view of a table, for de-identification.
//!
//! De-identification must not change what it does not touch: a ZIP code `01013` read as the
//! integer 1013, or a float re-printed with other digits, would be a silent wrong answer. So
//! [`TextTable`] keeps every cell as the exact text of the file. CSV is read and written with
//! the `csv` crate (RFC 4180 quoting; the delimiter is sniffed from the header line or given);
//! Parquet is read with polars and every column cast to text. An empty CSV field is a missing
//! value and is written back empty.
//!
//! Trade-off: cells are owned `String`s, column-major, which costs memory for very wide or very
//! long tables, but lets every transform work one column at a time.

use std::path::Path;

use polars::prelude::*;

use crate::error::AnonError;

/// A table of text cells, column-major; `None` is a missing value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextTable {
    /// The column names, in file order.
    pub names: Vec<String>,
    /// `columns[c][r]`: the cell of column `c` in row `r`.
    pub columns: Vec<Vec<Option<String>>>,
}

impl TextTable {
    /// A table from names and columns of equal length.
    pub fn new(names: Vec<String>, columns: Vec<Vec<Option<String>>>) -> Result<Self, AnonError> {
        if names.len() != columns.len() {
            return Err(malformed("table", "as many names as columns are needed"));
        }
        if let Some(first) = columns.first() {
            if columns.iter().any(|c| c.len() != first.len()) {
                return Err(malformed("table", "columns of different lengths"));
            }
        }
        refuse_duplicates(&names)?;
        Ok(Self { names, columns })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The index of the column `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The column `name`, or an error naming it.
    pub fn column(&self, name: &str) -> Result<&[Option<String>], AnonError> {
        self.index(name)
            .map(|i| self.columns[i].as_slice())
            .ok_or_else(|| AnonError::UnknownColumn(name.to_owned()))
    }

    /// Reads a CSV (delimiter sniffed unless given) or Parquet file (by its `PAR1` magic).
    pub fn read(path: &Path, delimiter: Option<u8>) -> Result<Self, AnonError> {
        let bytes = std::fs::read(path).map_err(|e| AnonError::Io {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string(), delimiter)
    }

    /// Parses CSV or Parquet bytes; `name` appears in error messages only.
    pub fn from_bytes(bytes: &[u8], name: &str, delimiter: Option<u8>) -> Result<Self, AnonError> {
        if bytes.starts_with(b"PAR1") {
            return read_parquet(bytes, name);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| malformed(name, "not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(malformed(name, "the file is empty"));
        }
        let separator = delimiter.unwrap_or_else(|| privacy_dp::table::sniff_delimiter(bytes));
        read_csv(text, name, separator)
    }

    /// Writes CSV (`delimiter`, default `,`) or, for a `.parquet` path, Parquet (all columns
    /// as text).
    pub fn write(&self, path: &Path, delimiter: Option<u8>) -> Result<(), AnonError> {
        let fail = |reason: String| AnonError::Output { path: path.display().to_string(), reason };
        let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if parquet {
            let mut frame = self.to_frame().map_err(|e| fail(e.to_string()))?;
            let file = std::fs::File::create(path).map_err(|e| fail(e.kind().to_string()))?;
            return ParquetWriter::new(file)
                .finish(&mut frame)
                .map(|_| ())
                .map_err(|e| fail(e.to_string()));
        }
        let bytes = self.to_csv(delimiter.unwrap_or(b','))?;
        std::fs::write(path, bytes).map_err(|e| fail(e.kind().to_string()))
    }

    /// The table as CSV bytes.
    pub fn to_csv(&self, delimiter: u8) -> Result<Vec<u8>, AnonError> {
        let fail = |e: csv::Error| AnonError::Output { path: "csv".into(), reason: e.to_string() };
        let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
        writer.write_record(&self.names).map_err(fail)?;
        for r in 0..self.rows() {
            let record = self.columns.iter().map(|c| c[r].as_deref().unwrap_or(""));
            writer.write_record(record).map_err(fail)?;
        }
        writer
            .into_inner()
            .map_err(|e| AnonError::Output { path: "csv".into(), reason: e.to_string() })
    }

    /// The table as a polars frame of string columns.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let columns: Vec<Column> = self
            .names
            .iter()
            .zip(&self.columns)
            .map(|(n, c)| Column::new(n.as_str().into(), c.clone()))
            .collect();
        DataFrame::new(self.rows(), columns)
    }
}

fn malformed(name: &str, reason: &str) -> AnonError {
    AnonError::MalformedTable { path: name.to_owned(), reason: reason.to_owned() }
}

fn refuse_duplicates(names: &[String]) -> Result<(), AnonError> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n.as_str()) {
            return Err(AnonError::DuplicateColumn(n.clone()));
        }
    }
    Ok(())
}

fn read_csv(text: &str, name: &str, separator: u8) -> Result<TextTable, AnonError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let describe = |e: csv::Error| {
        // The csv crate's messages name positions and field counts, not field contents.
        let reason = match e.position() {
            Some(p) => format!("malformed CSV at line {}", p.line()),
            None => "malformed CSV".to_owned(),
        };
        malformed(name, &reason)
    };
    let names: Vec<String> =
        reader.headers().map_err(describe)?.iter().map(str::to_owned).collect();
    if names.is_empty() || names.iter().all(String::is_empty) {
        return Err(malformed(name, "no header line"));
    }
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.map_err(describe)?;
        if record.len() == 1 && record.get(0) == Some("") && names.len() > 1 {
            continue; // A blank line is not a record.
        }
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            column.push((!field.is_empty()).then(|| field.to_owned()));
        }
    }
    TextTable::new(names, columns)
}

fn read_parquet(bytes: &[u8], name: &str) -> Result<TextTable, AnonError> {
    let parsed = std::panic::catch_unwind(|| {
        ParquetReader::new(std::io::Cursor::new(bytes.to_vec())).finish()
    });
    let frame = match parsed {
        Ok(Ok(frame)) => frame,
        Ok(Err(e)) => return Err(malformed(name, &e.to_string())),
        Err(_) => return Err(malformed(name, "the Parquet parser failed on this input")),
    };
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let columns = names
        .iter()
        .map(|n| crate::encode::column_text(&frame, n))
        .collect::<Result<Vec<_>, _>>()?;
    TextTable::new(names, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_keeps_every_cell_exactly() {
        let csv = "id;zip;note\n1;01013;\"a; b\"\n2;;1334.8799999999999\n";
        let t = TextTable::from_bytes(csv.as_bytes(), "t", None).unwrap();
        assert_eq!(t.names, ["id", "zip", "note"]);
        assert_eq!(t.column("zip").unwrap(), [Some("01013".into()), None]);
        let out = String::from_utf8(t.to_csv(b';').unwrap()).unwrap();
        assert_eq!(out, csv);
    }

    #[test]
    fn bad_tables_are_typed_errors() {
        let dup = TextTable::from_bytes(b"a,a\n1,2\n", "t", None).unwrap_err();
        assert!(matches!(dup, AnonError::DuplicateColumn(ref c) if c == "a"), "{dup}");
        let ragged = TextTable::from_bytes(b"a,b\n1,2,3\n", "t", None).unwrap_err();
        assert!(matches!(ragged, AnonError::MalformedTable { .. }), "{ragged}");
        assert!(TextTable::from_bytes(b"  \n", "t", None).is_err());
        assert!(TextTable::from_bytes(&[0xff, 0xfe], "t", None).is_err());
    }
}
