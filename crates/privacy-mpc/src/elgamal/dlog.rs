//! Discrete logarithms of `m·G` for `m` in a declared range, by baby-step giant-step with a
//! fixed number of steps.
//!
//! For a range `[lo, lo + 2^bits)` and a table of `2^baby` baby steps `j·G`, decryption always
//! walks all `2^(bits − baby)` giant steps `M − lo·G − i·2^baby·G`, whether or not it has already
//! found `m`, and reports not-found only at the end. So the number of group operations, of
//! point compressions and of table look-ups does not depend on the plaintext.
//!
//! **What is not constant-time**: the look-ups go to a hash map, whose probe sequence and
//! memory accesses depend on the looked-up point, and the final candidate check runs once per
//! hit. An attacker sharing the machine's caches could learn something about `m` from them; a
//! remote observer timing whole decryptions sees only noise from them. Closing this would take
//! an oblivious table scan, which costs `2^baby` per step.
//!
//! Table: the baby steps are stored under the first 8 bytes of the encoding of `2·j·G`
//! (Ristretto's batched `double_and_compress` needs one field inversion per batch instead of
//! one per point), and every hit is confirmed by recomputing the point, so an 8-byte collision
//! can never give a wrong answer. For `baby = 20` the table holds 2²⁰ entries (~24 MiB) and is
//! built once (about a second); a 32-bit decryption then takes 2¹² giant steps.

use std::collections::HashMap;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;

use crate::error::{MpcError, Result};
use crate::group::scalar_from_i64;

/// Points compressed per batch (one inversion each).
const BATCH: usize = 1024;

/// A precomputed baby-step table, reusable for every decryption over ranges of up to
/// `baby_bits + 32` bits.
pub struct DiscreteLogTable {
    baby_bits: u32,
    table: HashMap<u64, u32>,
}

impl std::fmt::Debug for DiscreteLogTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DiscreteLogTable({} baby bits)", self.baby_bits)
    }
}

fn key(bytes: &[u8; 32]) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(prefix)
}

impl DiscreteLogTable {
    /// Builds the table of `2^baby_bits` baby steps (1 ≤ `baby_bits` ≤ 24).
    pub fn new(baby_bits: u32) -> Result<Self> {
        if !(1..=24).contains(&baby_bits) {
            return Err(MpcError::InvalidParameter("baby-step bits outside 1..=24"));
        }
        let size = 1usize << baby_bits;
        let mut table = HashMap::with_capacity(size);
        let mut point = RistrettoPoint::default();
        let mut batch = Vec::with_capacity(BATCH);
        let mut start = 0usize;
        while start < size {
            batch.clear();
            for _ in start..(start + BATCH).min(size) {
                batch.push(point);
                point += RISTRETTO_BASEPOINT_POINT;
            }
            for (offset, compressed) in
                RistrettoPoint::double_and_compress_batch(&batch).iter().enumerate()
            {
                // j < 2^24, so it fits in u32.
                table.entry(key(compressed.as_bytes())).or_insert((start + offset) as u32);
            }
            start += batch.len();
        }
        Ok(Self { baby_bits, table })
    }

    /// The number of baby-step bits.
    pub fn baby_bits(&self) -> u32 {
        self.baby_bits
    }

    /// The `m ∈ [lo, lo + 2^bits)` with `point = m·G`; [`MpcError::DiscreteLogOutOfRange`]
    /// otherwise. `bits` is at most `baby_bits + 32` and at most 62. Always `2^(bits − baby)`
    /// giant steps (at least one).
    pub fn solve(&self, point: &RistrettoPoint, lo: i64, bits: u32) -> Result<i64> {
        if bits > 62 || bits > self.baby_bits + 32 || lo.checked_add(1i64 << bits).is_none() {
            return Err(MpcError::InvalidParameter("range too wide for this table"));
        }
        let giant_bits = bits.saturating_sub(self.baby_bits);
        let giant = RISTRETTO_BASEPOINT_POINT * Scalar::from(1u64 << self.baby_bits);
        let mut current = point - RistrettoPoint::mul_base(&scalar_from_i64(lo));
        let steps = 1u64 << giant_bits;
        let mut found: Option<i64> = None;
        let mut batch = Vec::with_capacity(BATCH);
        let mut first = 0u64;
        while first < steps {
            batch.clear();
            for _ in first..(first + BATCH as u64).min(steps) {
                batch.push(current);
                current -= giant;
            }
            for (offset, compressed) in
                RistrettoPoint::double_and_compress_batch(&batch).iter().enumerate()
            {
                let hit = self.table.get(&key(compressed.as_bytes()));
                let candidate =
                    hit.map(|&j| ((first + offset as u64) << self.baby_bits) + u64::from(j));
                found = found.or(candidate.and_then(|m| self.confirm(point, lo, bits, m)));
            }
            first += batch.len() as u64;
        }
        found.ok_or(MpcError::DiscreteLogOutOfRange)
    }

    /// Confirms a candidate offset `m` (an 8-byte key collision must not give a wrong answer).
    fn confirm(&self, point: &RistrettoPoint, lo: i64, bits: u32, m: u64) -> Option<i64> {
        if m >> bits != 0 {
            return None;
        }
        // m < 2^62 and lo + 2^bits does not overflow, so lo + m fits in i64.
        let value = lo + m as i64;
        (RistrettoPoint::mul_base(&scalar_from_i64(value)) == *point).then_some(value)
    }
}
