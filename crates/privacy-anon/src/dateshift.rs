//! Per-patient consistent date shifting.
//!
//! Every date of a patient moves by the same number of days, derived from the key and the
//! patient's identifier: `offset = index − N` (skipping 0 unless allowed), where
//! `index = u128(first 16 bytes of HMAC-SHA-256(K_s, len(domain) ‖ domain ‖ id)) mod m`,
//! `m = 2N` (or `2N + 1` when 0 is allowed) and `K_s` the ring's date-shift subkey.
//!
//! Guarantees:
//! - **Intervals are preserved** within a patient, across tables and runs with the same key:
//!   an admission and discharge 3 days apart stay 3 days apart, and a condition's onset keeps
//!   its distance to the patient's birth date, because every table derives the offset from the
//!   same (key, domain, patient id).
//! - **The offset lies in [−N, N]**, never 0 unless allowed, and is close to uniform on that
//!   range: the modulo bias is below m/2¹²⁸. Without the key the offsets are pseudorandom
//!   (HMAC as a PRF, see [`crate::pseudonym`]).
//!
//! Limits: shifted dates are still dates. Safe Harbor (45 CFR 164.514(b)(2)(i)(C)) requires all
//! elements of dates except the year to be removed, so a release with shifted dates is not Safe
//! Harbor de-identified; it suits Expert Determination or pseudonymized research data. One
//! date known to an attacker (a birth date) reveals the patient's offset and so all their
//! dates; the offsets of other patients stay hidden. Weekdays and seasons are not preserved.

use zeroize::Zeroizing;

use crate::date_text::DateCell;
use crate::error::AnonError;
use crate::keyring::{KeyRing, Purpose};
use crate::pseudonym::{check_domain, mac};

/// The largest shift range accepted, in days (about 27 years).
pub const MAX_RANGE_DAYS: u32 = 10_000;

/// Shifts dates by per-patient keyed offsets.
pub struct DateShifter {
    key: Zeroizing<[u8; 32]>,
    max_days: u32,
    allow_zero: bool,
}

impl std::fmt::Debug for DateShifter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DateShifter")
            .field("max_days", &self.max_days)
            .field("allow_zero", &self.allow_zero)
            .finish_non_exhaustive()
    }
}

impl DateShifter {
    /// Offsets in `[-max_days, max_days]` (0 excluded unless `allow_zero`), with the ring's
    /// active key version.
    pub fn new(ring: &KeyRing, max_days: u32, allow_zero: bool) -> Result<Self, AnonError> {
        if max_days == 0 || max_days > MAX_RANGE_DAYS {
            return Err(AnonError::InvalidParameter {
                name: "max_days".into(),
                reason: format!("must be in 1..={MAX_RANGE_DAYS}"),
            });
        }
        let key =
            ring.subkey::<32>(ring.active_version(), Purpose::DateShift).ok_or_else(|| {
                AnonError::InvalidParameter {
                    name: "key".into(),
                    reason: "the key ring is empty".into(),
                }
            })?;
        Ok(Self { key, max_days, allow_zero })
    }

    /// The offset in days of the patient `id` in `domain`.
    pub fn offset(&self, domain: &str, id: &str) -> Result<i64, AnonError> {
        check_domain(domain)?;
        let tag = mac(&self.key[..], domain, id.trim());
        let mut first = [0u8; 16];
        first.copy_from_slice(&tag[..16]);
        let x = u128::from_be_bytes(first);
        let n = i64::from(self.max_days);
        let m = 2 * u128::from(self.max_days) + u128::from(self.allow_zero);
        // The remainder is below 2N + 1 ≤ 20,001, so it fits in an i64.
        let index = (x % m) as i64;
        Ok(if self.allow_zero || index < n { index - n } else { index - n + 1 })
    }

    /// `text` (one date, in any layout of [`crate::date_text`]) moved by `offset` days, in the
    /// same layout; `None` if `text` is not a date or the result leaves the calendar.
    pub fn shift(text: &str, offset: i64, compact: bool) -> Option<String> {
        let cell = DateCell::parse(text, compact)?;
        let shifted = cell.date.checked_add(time::Duration::days(offset))?;
        (1..=9999).contains(&shifted.year()).then(|| cell.render(shifted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("medi-privacy-keyring 1\nkey 1 {}\n", "42".repeat(32))).unwrap()
    }

    #[test]
    fn offsets_are_consistent_in_range_and_never_zero() {
        let shifter = DateShifter::new(&ring(), 3, false).unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for i in 0..6000 {
            let o = shifter.offset("patient", &format!("p{i}")).unwrap();
            assert!((-3..=3).contains(&o) && o != 0, "{o}");
            *seen.entry(o).or_insert(0u32) += 1;
        }
        assert_eq!(seen.len(), 6, "every offset occurs: {seen:?}");
        // Each of the 6 offsets has probability 1/6, so each count is Binomial(6000, 1/6):
        // mean 1000, sd 28.9; 850..1150 is ±5.2 sd, false failure rate < 10⁻⁶ per offset.
        assert!(seen.values().all(|c| (850..=1150).contains(c)), "{seen:?}");
        let a = shifter.offset("patient", "p1").unwrap();
        assert_eq!(
            a,
            DateShifter::new(&ring(), 3, false).unwrap().offset("patient", " p1").unwrap()
        );
        let with_zero = DateShifter::new(&ring(), 1, true).unwrap();
        let zeros = (0..300)
            .filter(|i| with_zero.offset("patient", &format!("p{i}")).unwrap() == 0)
            .count();
        assert!(zeros > 0, "0 is allowed when asked");
        assert!(DateShifter::new(&ring(), 0, false).is_err());
    }

    #[test]
    fn shifting_keeps_intervals_and_layout() {
        let o = -17;
        let admit = DateShifter::shift("2014-07-08T15:35:36Z", o, false).unwrap();
        let discharge = DateShifter::shift("2014-07-11", o, false).unwrap();
        assert_eq!(admit, "2014-06-21T15:35:36Z");
        assert_eq!(discharge, "2014-06-24");
        assert_eq!(DateShifter::shift("3/1/2016", -1, false).unwrap(), "2/29/2016");
        assert!(DateShifter::shift("not a date", 3, false).is_none());
    }
}
