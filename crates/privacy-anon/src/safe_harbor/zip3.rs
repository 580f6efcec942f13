//! The restricted three-digit ZIP prefixes: a versioned, replaceable table.
//!
//! 45 CFR 164.514(b)(2)(i)(B) lets the first three digits of a ZIP code stay only where the
//! area they cover holds more than 20,000 people by the current Census; the others become
//! `000`. Which prefixes those are changes with each Census, so the list is data, not code:
//! the built-in table is `data/hipaa/zip3-restricted-census2000.csv` (the 17 prefixes of HHS's
//! 2012 guidance, from the 2000 Census), and a job may name another file in the same format.
//! The table's version is carried into every report, so a release says which list it used.
//!
//! Format: UTF-8 lines; `#` starts a comment; exactly one comment `# version: NAME`; the first
//! non-comment line is the header `zip3`; then one three-digit prefix per line, no duplicates.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::AnonError;

// FIXME: the built-in table is HHS's 2000-Census list; HHS says to use current Census data once
// published. Deriving a table from the 2020 Census ZCTA populations would replace it.
const BUILT_IN: &str = include_str!("../../../../data/hipaa/zip3-restricted-census2000.csv");

/// The largest table accepted (there are at most 1,000 three-digit prefixes).
const MAX_LINES: usize = 5_000;

/// A table of restricted three-digit ZIP prefixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zip3Table {
    version: String,
    restricted: BTreeSet<[u8; 3]>,
}

impl Zip3Table {
    /// The built-in table (HHS 2012 guidance, 2000 Census), version `hhs-2012-census2000`.
    pub fn built_in() -> Self {
        // The built-in text is a constant checked by the `built_in_table_is_the_hhs_list` test.
        #[allow(clippy::expect_used)]
        Self::parse(BUILT_IN, "built-in").expect("the built-in ZIP3 table is valid")
    }

    /// Reads a table from a file.
    pub fn from_file(path: &Path) -> Result<Self, AnonError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnonError::Io {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a table; `name` appears in errors only.
    pub fn parse(text: &str, name: &str) -> Result<Self, AnonError> {
        let fail = |line: usize, reason: &str| AnonError::InvalidZip3Table {
            path: name.to_owned(),
            line,
            reason: reason.to_owned(),
        };
        let mut version: Option<String> = None;
        let mut header = false;
        let mut restricted = BTreeSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            if line_no > MAX_LINES {
                return Err(fail(line_no, "too many lines"));
            }
            let line = raw.trim();
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(v) = comment.trim().strip_prefix("version:") {
                    let v = v.trim();
                    let valid = !v.is_empty()
                        && v.len() <= 64
                        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                    if !valid {
                        return Err(fail(line_no, "the version must be 1-64 of [A-Za-z0-9-_.]"));
                    }
                    if version.replace(v.to_owned()).is_some() {
                        return Err(fail(line_no, "a second version line"));
                    }
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            if !header {
                if line != "zip3" {
                    return Err(fail(line_no, "the first line must be the header `zip3`"));
                }
                header = true;
                continue;
            }
            let b = line.as_bytes();
            if b.len() != 3 || !b.iter().all(u8::is_ascii_digit) {
                return Err(fail(line_no, "not a three-digit prefix"));
            }
            if !restricted.insert([b[0], b[1], b[2]]) {
                return Err(fail(line_no, "a prefix listed twice"));
            }
        }
        if !header {
            return Err(fail(1, "no `zip3` header"));
        }
        let version = version.ok_or_else(|| fail(1, "no `# version:` line"))?;
        Ok(Self { version, restricted })
    }

    /// The table's version, e.g. `hhs-2012-census2000`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many prefixes are restricted.
    pub fn len(&self) -> usize {
        self.restricted.len()
    }

    /// Whether no prefix is restricted.
    pub fn is_empty(&self) -> bool {
        self.restricted.is_empty()
    }

    /// Whether the three digits `prefix` are restricted.
    pub fn is_restricted(&self, prefix: &str) -> bool {
        let b = prefix.as_bytes();
        b.len() == 3 && self.restricted.contains(&[b[0], b[1], b[2]])
    }

    /// The Safe Harbor form of a ZIP code (`02138`, `02138-4512`): its first three digits, or
    /// `000` for a restricted prefix; `None` if `zip` is not a five-digit or ZIP+4 code.
    pub fn generalize(&self, zip: &str) -> Option<String> {
        let zip = zip.trim();
        let b = zip.as_bytes();
        let five = b.len() >= 5 && b[..5].iter().all(u8::is_ascii_digit);
        let plus4 = b.len() == 10 && b[5] == b'-' && b[6..].iter().all(u8::is_ascii_digit);
        if !five || !(b.len() == 5 || plus4) {
            return None;
        }
        let prefix = &zip[..3];
        Some(if self.is_restricted(prefix) { "000".to_owned() } else { prefix.to_owned() })
    }

    /// Whether `value` is an allowed Safe Harbor ZIP output: three digits, unrestricted, or
    /// `000`.
    pub fn is_permitted_output(&self, value: &str) -> bool {
        let b = value.trim().as_bytes();
        b.len() == 3
            && b.iter().all(u8::is_ascii_digit)
            && (b == b"000" || !self.is_restricted(value.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_table_is_the_hhs_list() {
        let t = Zip3Table::built_in();
        assert_eq!(t.version(), "hhs-2012-census2000");
        let listed = "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893";
        assert_eq!(t.len(), 17);
        for p in listed.split(' ') {
            assert!(t.is_restricted(p), "{p}");
        }
        assert_eq!(t.generalize("03601").as_deref(), Some("000"));
        assert_eq!(t.generalize("02138-4512").as_deref(), Some("021"));
        assert_eq!(t.generalize("2138"), None);
        assert_eq!(t.generalize("0213A"), None);
        assert!(t.is_permitted_output("021") && t.is_permitted_output("000"));
        assert!(!t.is_permitted_output("036") && !t.is_permitted_output("02138"));
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let cases = [
            ("zip3\n036\n", 1, "version"),
            ("# version: x\n036\n", 2, "header"),
            ("# version: x\nzip3\n36\n", 3, "three-digit"),
            ("# version: x\nzip3\n036\n036\n", 4, "twice"),
            ("# version: x\n# version: y\nzip3\n", 2, "second"),
            ("# version: a b\nzip3\n", 1, "version"),
        ];
        for (text, line, reason) in cases {
            match Zip3Table::parse(text, "t") {
                Err(AnonError::InvalidZip3Table { line: l, reason: r, .. }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(r.contains(reason), "{text:?}: {r}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let custom = Zip3Table::parse("# version: census-2020\nzip3\n021\n", "t").unwrap();
        assert_eq!(custom.generalize("02138").as_deref(), Some("000"));
    }
}
