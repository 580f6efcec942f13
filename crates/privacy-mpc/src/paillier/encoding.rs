//! Encodings of signed integers, signed fixed-point reals and packed vectors into Paillier
//! plaintexts (`Z_N`), with overflow detected on decoding.
//!
//! **Signed integers** ([`IntegerEncoding`]): a declared bound `B` with `2B < N`; `v ∈ [0, B]`
//! encodes as `v`, `v ∈ [−B, 0)` as `N + v`. Decoding accepts `[0, B]` and `[N − B, N)` and
//! refuses the gap between them with [`MpcError::PlaintextOverflow`]. A homomorphic result whose
//! true value `v` satisfies `B < |v| < N − B` therefore fails loudly instead of wrapping; only
//! a result past `N − B` in magnitude could wrap into the valid range unnoticed. With the
//! default `B = ⌊(N − 1)/3⌋` (as python-paillier), the sum or difference of two in-range values
//! is always either exact or refused. The gap is what turns overflow from silent to loud: it is
//! checked, not hoped for.
//!
//! **Signed fixed-point** ([`FixedPointEncoding`]): a declared number `f` of fractional bits;
//! `x` encodes as the integer `round(x · 2^f)` (ties to even, computed exactly from the `f64`'s
//! bits, no floating-point product) under an [`IntegerEncoding`]. Sums keep the scale; a
//! product with an integer scalar keeps it too.
//!
//! **Packing** ([`Packing`]): `s` slots of `b + h` bits each, where `b` bounds each value and
//! `h = ⌈log₂ k⌉` headroom bits let up to `k` packed ciphertexts be added without a carry
//! crossing into the next slot. Signed values are offset by `2^(b−1)`; unpacking a sum of `k`
//! subtracts `k · 2^(b−1)` per slot. Overflow of the top slot past `N` is impossible by
//! construction (`s · (b + h) < bits(N)`); a slot exceeding what `k` summands can produce is
//! refused on unpacking.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, ToPrimitive, Zero};

use super::keys::PublicKey;
use crate::error::{MpcError, Result};

/// Signed integers in `[−B, B]`, with the gap `(B, N − B)` detecting overflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegerEncoding {
    n: BigUint,
    max_abs: BigUint,
}

impl IntegerEncoding {
    /// The encoding with bound `max_abs`; refuses `2 · max_abs + 1 ≥ N` (no gap left).
    pub fn new(key: &PublicKey, max_abs: BigUint) -> Result<Self> {
        if &max_abs * 2u32 + 1u32 >= *key.n() {
            return Err(MpcError::InvalidParameter(
                "the encoding bound must leave a gap below N/2",
            ));
        }
        Ok(Self { n: key.n().clone(), max_abs })
    }

    /// The default bound `⌊(N − 1)/3⌋`: any sum or difference of two encoded values is either
    /// exact or refused on decoding.
    pub fn with_default_bound(key: &PublicKey) -> Self {
        Self { n: key.n().clone(), max_abs: (key.n() - 1u32) / 3u32 }
    }

    /// The bound `B`.
    pub fn max_abs(&self) -> &BigUint {
        &self.max_abs
    }

    /// The plaintext of `v`; refuses `|v| > B`.
    pub fn encode(&self, v: &BigInt) -> Result<BigUint> {
        if v.magnitude() > &self.max_abs {
            return Err(MpcError::EncodingRange("integer beyond the encoding bound"));
        }
        Ok(match v.sign() {
            Sign::Minus => &self.n - v.magnitude(),
            _ => v.magnitude().clone(),
        })
    }

    /// The plaintext of an `i64`.
    pub fn encode_i64(&self, v: i64) -> Result<BigUint> {
        self.encode(&BigInt::from(v))
    }

    /// The integer a plaintext encodes; [`MpcError::PlaintextOverflow`] in the gap.
    pub fn decode(&self, m: &BigUint) -> Result<BigInt> {
        if m >= &self.n {
            return Err(MpcError::PlaintextOverflow);
        }
        if m <= &self.max_abs {
            return Ok(BigInt::from_biguint(Sign::Plus, m.clone()));
        }
        let negative = &self.n - m;
        if negative <= self.max_abs {
            return Ok(BigInt::from_biguint(Sign::Minus, negative));
        }
        Err(MpcError::PlaintextOverflow)
    }

    /// Decodes to an `i64`; a valid value that does not fit is an error too.
    pub fn decode_i64(&self, m: &BigUint) -> Result<i64> {
        self.decode(m)?.to_i64().ok_or(MpcError::OutOfRange {
            what: "decoded integer",
            reason: "does not fit in 64 bits",
        })
    }
}

/// Signed fixed-point reals with `frac_bits` fractional bits over an [`IntegerEncoding`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedPointEncoding {
    integer: IntegerEncoding,
    frac_bits: u32,
}

impl FixedPointEncoding {
    /// Reals scaled by `2^frac_bits` (at most 1022, the `f64` exponent range), encoded with
    /// `integer`.
    pub fn new(integer: IntegerEncoding, frac_bits: u32) -> Result<Self> {
        if frac_bits > 1022 {
            return Err(MpcError::InvalidParameter("at most 1022 fractional bits"));
        }
        Ok(Self { integer, frac_bits })
    }

    /// The declared scale, in fractional bits.
    pub fn frac_bits(&self) -> u32 {
        self.frac_bits
    }

    /// The integer encoding underneath.
    pub fn integer(&self) -> &IntegerEncoding {
        &self.integer
    }

    /// `round(x · 2^f)`, ties to even, exactly.
    pub fn scale(&self, x: f64) -> Result<BigInt> {
        if !x.is_finite() {
            return Err(MpcError::EncodingRange("not a finite number"));
        }
        let (mantissa, exponent) = decompose(x);
        let shift = i64::from(exponent) + i64::from(self.frac_bits);
        let magnitude = if shift >= 0 {
            BigUint::from(mantissa) << shift.unsigned_abs()
        } else {
            round_shift_right(&BigUint::from(mantissa), shift.unsigned_abs())
        };
        let sign = if x.is_sign_negative() { Sign::Minus } else { Sign::Plus };
        Ok(BigInt::from_biguint(sign, magnitude))
    }

    /// The plaintext of `x`.
    pub fn encode(&self, x: f64) -> Result<BigUint> {
        self.integer.encode(&self.scale(x)?)
    }

    /// The scaled integer a plaintext encodes (exact; divide by `2^f` for the real).
    pub fn decode_scaled(&self, m: &BigUint) -> Result<BigInt> {
        self.integer.decode(m)
    }

    /// The nearest `f64` to the encoded real (exact when it fits in 53 bits).
    pub fn decode(&self, m: &BigUint) -> Result<f64> {
        let scaled = self.integer.decode(m)?;
        let value = scaled.to_f64().unwrap_or(f64::NAN) * 2f64.powi(-(self.frac_bits as i32));
        if value.is_finite() {
            Ok(value)
        } else {
            Err(MpcError::OutOfRange { what: "decoded real", reason: "beyond the f64 range" })
        }
    }
}

/// `|x| = mantissa · 2^exponent` exactly.
fn decompose(x: f64) -> (u64, i32) {
    let bits = x.to_bits();
    let exponent_field = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    if exponent_field == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exponent_field - 1075)
    }
}

/// `round(x / 2^s)`, ties to even.
fn round_shift_right(x: &BigUint, s: u64) -> BigUint {
    let quotient = x >> s;
    let remainder = x - (&quotient << s);
    let half = BigUint::one() << (s - 1);
    if remainder > half || (remainder == half && quotient.bit(0)) {
        quotient + 1u32
    } else {
        quotient
    }
}

/// Several bounded values in one plaintext, with headroom for sums of up to `max_summands`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    value_bits: u32,
    slot_bits: u32,
    slots: usize,
    max_summands: u64,
}

impl Packing {
    /// `slots` slots for values of `value_bits` bits (1..=64), summable `max_summands` times
    /// (≥ 1); refuses a layout that does not fit below `N`.
    pub fn new(key: &PublicKey, value_bits: u32, max_summands: u64, slots: usize) -> Result<Self> {
        if !(1..=64).contains(&value_bits) || max_summands == 0 || slots == 0 {
            return Err(MpcError::InvalidParameter(
                "packing needs 1..=64 value bits, k ≥ 1, s ≥ 1",
            ));
        }
        let slot_bits = value_bits + headroom_bits(max_summands);
        if slots > Self::max_slots_for(key, slot_bits) {
            return Err(MpcError::InvalidParameter("too many slots for the modulus"));
        }
        Ok(Self { value_bits, slot_bits, slots, max_summands })
    }

    /// The most slots of `value_bits` bits summable `max_summands` times that fit under `key`.
    pub fn max_slots(key: &PublicKey, value_bits: u32, max_summands: u64) -> usize {
        Self::max_slots_for(key, value_bits + headroom_bits(max_summands.max(1)))
    }

    fn max_slots_for(key: &PublicKey, slot_bits: u32) -> usize {
        // The packed value stays below 2^(bits(N) − 1) < N.
        usize::try_from((key.bits() - 1) / u64::from(slot_bits)).unwrap_or(usize::MAX)
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bits per slot: value bits plus headroom.
    pub fn slot_bits(&self) -> u32 {
        self.slot_bits
    }

    /// Packs unsigned values (each below `2^value_bits`, at most `slots` of them; missing
    /// slots are 0).
    pub fn pack(&self, values: &[u64]) -> Result<BigUint> {
        if values.len() > self.slots {
            return Err(MpcError::EncodingRange("more values than slots"));
        }
        if values.iter().any(|&v| u128::from(v) >> self.value_bits != 0) {
            return Err(MpcError::EncodingRange("value wider than the slot's value bits"));
        }
        Ok(values.iter().rev().fold(BigUint::zero(), |acc, &v| (acc << self.slot_bits) + v))
    }

    /// Unpacks a sum of `summands` packed plaintexts; refuses slots beyond what that many
    /// summands can produce.
    pub fn unpack(&self, m: &BigUint, summands: u64) -> Result<Vec<u128>> {
        if summands == 0 || summands > self.max_summands {
            return Err(MpcError::InvalidParameter("summands outside 1..=max_summands"));
        }
        let total_bits = u64::from(self.slot_bits) * self.slots as u64;
        if m.bits() > total_bits {
            return Err(MpcError::PlaintextOverflow);
        }
        let max_slot = u128::from(summands) * ((1u128 << self.value_bits) - 1);
        let mask = (BigUint::one() << self.slot_bits) - 1u32;
        (0..self.slots)
            .map(|i| {
                let slot = (m >> (u64::from(self.slot_bits) * i as u64)) & &mask;
                slot.to_u128().filter(|&v| v <= max_slot).ok_or(MpcError::PlaintextOverflow)
            })
            .collect()
    }

    fn offset(&self) -> u64 {
        1u64 << (self.value_bits - 1)
    }

    /// Packs signed values in `[−2^(b−1), 2^(b−1))`, offset by `2^(b−1)`.
    pub fn pack_signed(&self, values: &[i64]) -> Result<BigUint> {
        let offset = i128::from(self.offset());
        let mut shifted = values
            .iter()
            .map(|&v| {
                u64::try_from(i128::from(v) + offset)
                    .ok()
                    .filter(|&s| u128::from(s) >> self.value_bits == 0)
                    .ok_or(MpcError::EncodingRange("signed value outside the slot's range"))
            })
            .collect::<Result<Vec<_>>>()?;
        // Empty slots hold an encoded 0, so they decode to 0 whatever the number of summands.
        shifted.resize(self.slots.max(values.len()), self.offset());
        self.pack(&shifted)
    }

    /// Unpacks a sum of `summands` signed packed plaintexts (empty slots decode to 0).
    pub fn unpack_signed(&self, m: &BigUint, summands: u64) -> Result<Vec<i128>> {
        let total_offset = i128::from(summands) * i128::from(self.offset());
        let slots = self.unpack(m, summands)?;
        slots
            .into_iter()
            .map(|v| {
                i128::try_from(v).map(|v| v - total_offset).map_err(|_| MpcError::PlaintextOverflow)
            })
            .collect()
    }
}

/// `⌈log₂ k⌉`: headroom for adding `k` values.
fn headroom_bits(k: u64) -> u32 {
    64 - (k.saturating_sub(1)).leading_zeros()
}
