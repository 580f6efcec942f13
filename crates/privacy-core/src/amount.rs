//! Exact fixed-point privacy amounts: ε and ρ in units of 10⁻¹², δ in units of 10⁻¹⁸.
//!
//! Budgets are added, split and compared as integers, so composition never drifts through
//! floating-point rounding. Values enter either exactly, from a decimal string such as `"0.1"`
//! or `"1e-5"`, or from an `f64` with an explicit rounding direction: [`up`](EpsilonAmount::from_f64_up)
//! for anything that is a cost (the privacy actually lost may not be under-stated) and
//! [`down`](EpsilonAmount::from_f64_down) for anything that is an allowance.
//!
//! Converting an `f64` is exact: an `f64` is a dyadic rational `m·2^e`, and `m·2^e·10^d` is
//! computed in 128-bit integers before the single rounding step.

use std::fmt;

use crate::error::CoreError;

macro_rules! fixed_amount {
    ($(#[$doc:meta])* $name:ident, $param:literal, $digits:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// Number of decimal digits after the point that one unit represents.
            pub const DECIMALS: u32 = $digits;
            /// Units per whole 1.0.
            pub const UNITS_PER_ONE: u64 = 10u64.pow($digits);
            /// The zero amount.
            pub const ZERO: Self = Self(0);

            /// The amount of `units` × 10^-DECIMALS.
            pub const fn from_units(units: u64) -> Self {
                Self(units)
            }

            /// The amount in units of 10^-DECIMALS.
            pub const fn units(self) -> u64 {
                self.0
            }

            /// Whether the amount is zero.
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }

            /// The nearest `f64` (for display and for calibrating noise, which must then use
            /// a conservative rounding of its own).
            pub fn to_f64(self) -> f64 {
                // Two exact integer-to-float steps and one division: error below 1 ulp.
                (self.0 / Self::UNITS_PER_ONE) as f64
                    + (self.0 % Self::UNITS_PER_ONE) as f64 / Self::UNITS_PER_ONE as f64
            }

            /// Parses a decimal such as `0.25`, `3`, `1e-5` or `2.5E-3` exactly.
            ///
            /// A value that needs more than `DECIMALS` decimal places, a negative value, or
            /// one above the largest representable amount is refused.
            pub fn parse_decimal(text: &str) -> Result<Self, CoreError> {
                parse_fixed(text, $digits, $param).map(Self)
            }

            /// Converts a finite, non-negative `f64`, rounding up to the next unit.
            pub fn from_f64_up(value: f64) -> Result<Self, CoreError> {
                f64_to_fixed(value, $digits, true, $param).map(Self)
            }

            /// Converts a finite, non-negative `f64`, rounding down to the previous unit.
            pub fn from_f64_down(value: f64) -> Result<Self, CoreError> {
                f64_to_fixed(value, $digits, false, $param).map(Self)
            }

            /// `self + other`, or an error on overflow.
            pub fn checked_add(self, other: Self) -> Result<Self, CoreError> {
                self.0.checked_add(other.0).map(Self).ok_or(CoreError::AmountOverflow($param))
            }

            /// `self - other`, or `None` when `other > self`.
            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map(Self)
            }

            /// `self - other`, floored at zero.
            pub fn saturating_sub(self, other: Self) -> Self {
                Self(self.0.saturating_sub(other.0))
            }

            /// Splits the amount into `parts` amounts that add up to exactly `self`.
            ///
            /// Every part is `self / parts` rounded down; the remainder is handed out one unit
            /// at a time to the first parts, so no unit is lost or invented.
            pub fn split(self, parts: usize) -> Result<Vec<Self>, CoreError> {
                split_units(self.0, parts, $param).map(|v| v.into_iter().map(Self).collect())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&format_fixed(self.0, $digits))
            }
        }
    };
}

fixed_amount!(
    /// An ε amount (pure or approximate DP), exact to 10⁻¹².
    EpsilonAmount, "epsilon", 12
);
fixed_amount!(
    /// A δ amount, exact to 10⁻¹⁸. Valid δ values are below 1.
    DeltaAmount, "delta", 18
);
fixed_amount!(
    /// A ρ amount (zero-concentrated DP), exact to 10⁻¹².
    RhoAmount, "rho", 12
);

impl DeltaAmount {
    /// Whether this δ lies in the valid range [0, 1).
    pub const fn is_valid_delta(self) -> bool {
        self.0 < Self::UNITS_PER_ONE
    }
}

fn split_units(total: u64, parts: usize, name: &'static str) -> Result<Vec<u64>, CoreError> {
    let n = u64::try_from(parts).map_err(|_| CoreError::AmountOverflow(name))?;
    if n == 0 {
        return Err(CoreError::invalid(name, "cannot split into zero parts"));
    }
    let (share, rest) = (total / n, total % n);
    Ok((0..n).map(|i| share + u64::from(i < rest)).collect())
}

fn format_fixed(units: u64, digits: u32) -> String {
    let one = 10u64.pow(digits);
    let (whole, frac) = (units / one, units % one);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

fn parse_fixed(text: &str, digits: u32, name: &'static str) -> Result<u64, CoreError> {
    let bad = |reason: &str| CoreError::invalid(name, format!("{reason} (got {text:?})"));
    let text = text.trim();
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = text[i + 1..].parse().map_err(|_| bad("malformed exponent"))?;
            (&text[..i], exp)
        }
        None => (text, 0),
    };
    let mantissa = mantissa.strip_prefix('+').unwrap_or(mantissa);
    if mantissa.starts_with('-') {
        return Err(bad("must not be negative"));
    }
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = int_part.chars().chain(frac_part.chars());
    if int_part.len() + frac_part.len() == 0 || !all_digits.clone().all(|c| c.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    let mut value: u128 = 0;
    for c in all_digits {
        let d = u128::from(c as u8 - b'0');
        value =
            value.checked_mul(10).and_then(|v| v.checked_add(d)).ok_or_else(|| bad("too large"))?;
    }
    // value × 10^(exponent − |frac| + digits) is the amount in units.
    let shift = i64::from(exponent) - frac_part.len() as i64 + i64::from(digits);
    let units = if shift >= 0 {
        let factor = u32::try_from(shift).ok().and_then(|s| 10u128.checked_pow(s));
        factor.and_then(|f| value.checked_mul(f)).ok_or_else(|| bad("too large"))?
    } else if value == 0 {
        0
    } else {
        let divisor = u32::try_from(-shift).ok().and_then(|s| 10u128.checked_pow(s));
        match divisor {
            Some(d) if value.is_multiple_of(d) => value / d,
            _ => return Err(bad(&format!("needs more than {digits} decimal places"))),
        }
    };
    u64::try_from(units).map_err(|_| bad("too large"))
}

fn f64_to_fixed(
    value: f64,
    digits: u32,
    round_up: bool,
    name: &'static str,
) -> Result<u64, CoreError> {
    if !value.is_finite() || value < 0.0 {
        return Err(CoreError::invalid(name, "must be finite and non-negative"));
    }
    if value == 0.0 {
        return Ok(0);
    }
    let bits = value.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // value = mantissa · 2^exp exactly.
    let (mantissa, exp) =
        if raw_exp == 0 { (frac, -1074) } else { (frac | (1u64 << 52), raw_exp - 1075) };
    let scaled = u128::from(mantissa) * 10u128.pow(digits);
    let units = if exp >= 0 {
        u32::try_from(exp)
            .ok()
            .and_then(|e| scaled.checked_shl(e).filter(|v| v >> e == scaled))
            .ok_or(CoreError::AmountOverflow(name))?
    } else if exp <= -128 {
        u128::from(round_up && scaled > 0)
    } else {
        let shift = (-exp) as u32;
        let floor = scaled >> shift;
        let exact = floor << shift == scaled;
        floor + u128::from(round_up && !exact)
    };
    u64::try_from(units).map_err(|_| CoreError::AmountOverflow(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parsing_is_exact() {
        let a = EpsilonAmount::parse_decimal("0.1").unwrap();
        let b = EpsilonAmount::parse_decimal("0.2").unwrap();
        let c = EpsilonAmount::parse_decimal("0.3").unwrap();
        assert_eq!(a.checked_add(b).unwrap(), c);
        assert_eq!(DeltaAmount::parse_decimal("1e-5").unwrap().units(), 10_000_000_000_000);
        assert_eq!(EpsilonAmount::parse_decimal("2.5E-3").unwrap().to_string(), "0.0025");
        assert_eq!(EpsilonAmount::parse_decimal("+4").unwrap().to_string(), "4");
    }

    #[test]
    fn decimal_parsing_refuses_bad_text() {
        for bad in ["", "-1", "abc", "1e", "0.1.2", "1e-13", "nan", "inf", "1e400", "."] {
            assert!(EpsilonAmount::parse_decimal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn float_conversion_rounds_in_the_asked_direction() {
        // 0.1 as f64 is slightly above 0.1, so up gives one more unit than down.
        let up = EpsilonAmount::from_f64_up(0.1).unwrap().units();
        let down = EpsilonAmount::from_f64_down(0.1).unwrap().units();
        assert_eq!((down, up), (100_000_000_000, 100_000_000_001));
        assert_eq!(EpsilonAmount::from_f64_up(2.0).unwrap().units(), 2_000_000_000_000);
        assert_eq!(EpsilonAmount::from_f64_up(1e-300).unwrap().units(), 1);
        assert_eq!(EpsilonAmount::from_f64_down(1e-300).unwrap().units(), 0);
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e30] {
            assert!(EpsilonAmount::from_f64_up(bad).is_err());
        }
    }

    #[test]
    fn split_hands_out_the_remainder() {
        let total = EpsilonAmount::from_units(10);
        let parts = total.split(3).unwrap();
        assert_eq!(parts.iter().map(|p| p.units()).collect::<Vec<_>>(), vec![4, 3, 3]);
        assert!(total.split(0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn split_parts_sum_to_total(units in 0u64..u64::MAX / 2, parts in 1usize..64) {
            let split = EpsilonAmount::from_units(units).split(parts).unwrap();
            proptest::prop_assert_eq!(split.len(), parts);
            proptest::prop_assert_eq!(split.iter().map(|p| p.units()).sum::<u64>(), units);
        }

        #[test]
        fn float_rounding_brackets_the_value(x in 0.0f64..1e6) {
            let up = EpsilonAmount::from_f64_up(x).unwrap();
            let down = EpsilonAmount::from_f64_down(x).unwrap();
            proptest::prop_assert!(up.units() - down.units() <= 1);
            proptest::prop_assert!(down.to_f64() <= x * (1.0 + 1e-15));
            proptest::prop_assert!(up.to_f64() >= x * (1.0 - 1e-15));
        }

        #[test]
        fn display_round_trips(units in 0u64..u64::MAX) {
            let a = DeltaAmount::from_units(units);
            proptest::prop_assert_eq!(DeltaAmount::parse_decimal(&a.to_string()).unwrap(), a);
        }
    }
}
