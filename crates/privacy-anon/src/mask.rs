//! Masking, redaction and top/bottom coding of single values.
//!
//! - [`Mask`] replaces a value's characters by `*`, optionally keeping a few at either end
//!   (`***-**-6789`). It never reveals the whole value: when the kept characters would cover
//!   it, everything is masked. Note that HHS's guidance counts partial identifiers such as the
//!   last four SSN digits as identifying (HHS 2012 guidance, §3): a partially masked identifier column is still
//!   a Safe Harbor finding, and `deidentify` refuses to write it unless the job keeps the kind.
//! - [`REDACTED`] is the placeholder that replaces a whole value; free-text redaction
//!   (identifiers inside prose) is [`crate::detect::Detector::redact`].
//! - [`TopBottomCoder`] replaces numbers at or above a top bound by the category `T+` and at or
//!   below a bottom bound by `<=B` (so ages with `top = 90` become `90+`, the single category
//!   Safe Harbor allows for ages over 89); numbers in between are kept as written.

use serde::{Deserialize, Serialize};

/// The placeholder of a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Masks characters of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    /// Characters kept at the start.
    pub keep_first: usize,
    /// Characters kept at the end.
    pub keep_last: usize,
}

impl Mask {
    /// `value` with its characters masked; separators (`-`, space, `.`, `/`) are kept in place
    /// when anything is kept, so the format stays readable.
    pub fn apply(&self, value: &str) -> String {
        let chars: Vec<char> = value.chars().collect();
        let significant = chars.iter().filter(|c| c.is_alphanumeric()).count();
        if self.keep_first + self.keep_last >= significant {
            return "*".repeat(chars.len().max(1));
        }
        let mut seen = 0;
        chars
            .iter()
            .map(|&c| {
                if !c.is_alphanumeric() {
                    return if self.keep_first + self.keep_last == 0 { '*' } else { c };
                }
                seen += 1;
                if seen <= self.keep_first || seen > significant - self.keep_last {
                    c
                } else {
                    '*'
                }
            })
            .collect()
    }
}

/// Top and bottom coding of numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopBottomCoder {
    /// Numbers at or below it become `<=bottom`.
    pub bottom: Option<f64>,
    /// Numbers at or above it become `top+`.
    pub top: Option<f64>,
}

impl TopBottomCoder {
    /// The coded value; `None` if `value` is not a finite number.
    pub fn apply(&self, value: &str) -> Option<String> {
        let x: f64 = value.trim().parse().ok().filter(|x: &f64| x.is_finite())?;
        if let Some(top) = self.top.filter(|t| x >= *t) {
            return Some(format!("{}+", number(top)));
        }
        if let Some(bottom) = self.bottom.filter(|b| x <= *b) {
            return Some(format!("<={}", number(bottom)));
        }
        Some(value.to_owned())
    }

    /// Whether `value` is an output of this coder (a category, or a number strictly between
    /// the bounds).
    pub fn is_output(&self, value: &str) -> bool {
        let v = value.trim();
        if self.top.is_some_and(|t| v == format!("{}+", number(t))) {
            return true;
        }
        if self.bottom.is_some_and(|b| v == format!("<={}", number(b))) {
            return true;
        }
        v.parse::<f64>().is_ok_and(|x| {
            x.is_finite() && self.top.is_none_or(|t| x < t) && self.bottom.is_none_or(|b| x > b)
        })
    }
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(Mask { keep_first: 0, keep_last: 4 }.apply("123-45-6789"), "***-**-6789");
        assert_eq!(Mask::default().apply("123-45-6789"), "***********");
        assert_eq!(Mask { keep_first: 2, keep_last: 2 }.apply("abc"), "***", "never reveals all");
        assert_eq!(Mask { keep_first: 1, keep_last: 0 }.apply("José"), "J***");
    }

    #[test]
    fn top_and_bottom_coding() {
        let ages = TopBottomCoder { bottom: None, top: Some(90.0) };
        assert_eq!(ages.apply("95").as_deref(), Some("90+"));
        assert_eq!(ages.apply("90").as_deref(), Some("90+"));
        assert_eq!(ages.apply("89.5").as_deref(), Some("89.5"));
        assert_eq!(ages.apply("x"), None);
        assert_eq!(ages.apply("NaN"), None);
        let money = TopBottomCoder { bottom: Some(0.5), top: Some(1e6) };
        assert_eq!(money.apply("0.1").as_deref(), Some("<=0.5"));
        assert_eq!(money.apply("2000000").as_deref(), Some("1000000+"));
        assert!(money.is_output("1000000+") && money.is_output("3.5") && !money.is_output("1e7"));
    }
}
