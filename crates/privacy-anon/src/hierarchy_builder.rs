//! Hierarchies built in code rather than read from a file: numeric intervals with top and
//! bottom coding, date truncation (day → month → year), and prefix masking (ZIP `02138` →
//! `0213*` → `021**` → …).
//!
//! Each builder takes the distinct values of the column and returns an ordinary
//! [`Hierarchy`], so the search treats built and file hierarchies alike. The trade-off: a built
//! hierarchy covers exactly the values present, so its domain (and the loss metric's domain
//! shares) is the data's, where a file hierarchy may list values absent from the data.

use serde::{Deserialize, Serialize};

use crate::error::AnonError;
use crate::hierarchy::{parse_number, Hierarchy, ROOT_LABEL};

/// Numeric intervals: level 1 cuts the line into intervals of `width` starting at `origin`;
/// each further level multiplies the width by the next factor; the last level is `*`. Values
/// below `bottom` become `<bottom` and values at or above `top` become `>=top` at every level
/// above the leaves (bottom and top coding).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalSpec {
    /// The width of the level-1 intervals; finite and > 0.
    pub width: f64,
    /// Integer factors ≥ 2 by which each further level widens the intervals.
    #[serde(default)]
    pub factors: Vec<u32>,
    /// Where the intervals start (default: `bottom`, or 0).
    #[serde(default)]
    pub origin: Option<f64>,
    /// Values below this are bottom-coded.
    #[serde(default)]
    pub bottom: Option<f64>,
    /// Values at or above this are top-coded.
    #[serde(default)]
    pub top: Option<f64>,
}

/// Builds an interval hierarchy over the distinct numeric `values` of `column`.
pub fn intervals(
    column: &str,
    values: &[String],
    spec: &IntervalSpec,
) -> Result<Hierarchy, AnonError> {
    check_interval_spec(column, spec)?;
    let origin = spec.origin.or(spec.bottom).unwrap_or(0.0);
    let mut widths = vec![spec.width];
    for &f in &spec.factors {
        let last = widths[widths.len() - 1];
        widths.push(last * f64::from(f));
    }
    let rows = values
        .iter()
        .map(|text| {
            let v = parse_number(text).ok_or_else(|| AnonError::ValueNotInHierarchy {
                column: column.to_owned(),
                value: text.clone(),
            })?;
            let mut row = vec![text.clone()];
            row.extend(widths.iter().map(|&w| interval_label(v, origin, w, spec)));
            row.push(ROOT_LABEL.to_owned());
            Ok(row)
        })
        .collect::<Result<Vec<_>, AnonError>>()?;
    Hierarchy::from_rows(column, rows)
}

pub(crate) fn check_interval_spec(column: &str, spec: &IntervalSpec) -> Result<(), AnonError> {
    let invalid = |reason: &str| AnonError::InvalidHierarchy {
        column: column.to_owned(),
        reason: reason.to_owned(),
    };
    if !(spec.width.is_finite() && spec.width > 0.0) {
        return Err(invalid("the interval width must be finite and > 0"));
    }
    if [spec.origin, spec.bottom, spec.top].iter().flatten().any(|v| !v.is_finite()) {
        return Err(invalid("origin, bottom and top must be finite numbers"));
    }
    if spec.factors.iter().any(|&f| f < 2) {
        return Err(invalid("every widening factor must be at least 2"));
    }
    if let (Some(b), Some(t)) = (spec.bottom, spec.top) {
        if b >= t || b.is_nan() || t.is_nan() {
            return Err(invalid("the bottom code must be below the top code"));
        }
    }
    Ok(())
}

fn interval_label(v: f64, origin: f64, width: f64, spec: &IntervalSpec) -> String {
    if let Some(b) = spec.bottom.filter(|&b| v < b) {
        return format!("<{}", fmt_number(b));
    }
    if let Some(t) = spec.top.filter(|&t| v >= t) {
        return format!(">={}", fmt_number(t));
    }
    let start = origin + ((v - origin) / width).floor() * width;
    let mut end = start + width;
    // A top code cuts the last interval short, so that it never overlaps `>=top`.
    if let Some(t) = spec.top {
        end = end.min(t);
    }
    format!("[{}, {})", fmt_number(start), fmt_number(end))
}

fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Date truncation over ISO dates `YYYY-MM-DD`: day, then `YYYY-MM`, then `YYYY`, then `*`.
pub fn dates(column: &str, values: &[String]) -> Result<Hierarchy, AnonError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let rows = values
        .iter()
        .map(|text| {
            let date = time::Date::parse(text.trim(), format).map_err(|_| {
                AnonError::ValueNotInHierarchy { column: column.to_owned(), value: text.clone() }
            })?;
            Ok(vec![
                text.clone(),
                format!("{:04}-{:02}", date.year(), u8::from(date.month())),
                format!("{:04}", date.year()),
                ROOT_LABEL.to_owned(),
            ])
        })
        .collect::<Result<Vec<_>, AnonError>>()?;
    Hierarchy::from_rows(column, rows)
}

/// Prefix masking: level `i` replaces the last `i` characters with `*`, until nothing is left;
/// when values differ in length a last `*` level joins them.
pub fn prefix(column: &str, values: &[String]) -> Result<Hierarchy, AnonError> {
    let longest = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    let mut rows: Vec<Vec<String>> = values
        .iter()
        .map(|v| {
            let chars: Vec<char> = v.chars().collect();
            (0..=longest)
                .map(|masked| {
                    let keep = chars.len().saturating_sub(masked);
                    chars[..keep].iter().collect::<String>() + &"*".repeat(chars.len() - keep)
                })
                .collect()
        })
        .collect();
    let tops: std::collections::HashSet<&String> = rows.iter().filter_map(|r| r.last()).collect();
    if tops.len() > 1 || longest == 0 {
        rows.iter_mut().for_each(|r| r.push(ROOT_LABEL.to_owned()));
    }
    Hierarchy::from_rows(column, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn intervals_nest_and_code_the_tails() {
        let spec = IntervalSpec {
            width: 5.0,
            factors: vec![2, 2],
            origin: None,
            bottom: Some(20.0),
            top: Some(80.0),
        };
        let h = intervals("age", &strings(&["17", "23", "39", "85"]), &spec).unwrap();
        assert_eq!(h.levels(), 5);
        let rows = h.rows();
        assert_eq!(rows[0], strings(&["17", "<20", "<20", "<20", "*"]));
        assert_eq!(rows[1], strings(&["23", "[20, 25)", "[20, 30)", "[20, 40)", "*"]));
        assert_eq!(rows[2], strings(&["39", "[35, 40)", "[30, 40)", "[20, 40)", "*"]));
        assert_eq!(rows[3], strings(&["85", ">=80", ">=80", ">=80", "*"]));
        let bad = intervals("age", &strings(&["x"]), &spec).unwrap_err();
        assert!(matches!(bad, AnonError::ValueNotInHierarchy { .. }));
    }

    #[test]
    fn dates_truncate_to_month_and_year() {
        let h = dates("d", &strings(&["2020-02-29", "2020-03-01"])).unwrap();
        assert_eq!(h.rows()[0], strings(&["2020-02-29", "2020-02", "2020", "*"]));
        assert!(dates("d", &strings(&["2021-02-29"])).is_err(), "no 29 February in 2021");
    }

    #[test]
    fn prefixes_mask_from_the_right() {
        let h = prefix("zip", &strings(&["02138", "02139", "0214"])).unwrap();
        assert_eq!(
            h.rows()[0],
            strings(&["02138", "0213*", "021**", "02***", "0****", "*****", "*"])
        );
        assert_eq!(h.rows()[2][1], "021*");
    }
}
