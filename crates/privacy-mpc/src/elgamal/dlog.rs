//! Discrete logarithms of `m·G` for `m` in a declared range, by baby-step giant-step with a
//! fixed number of steps.
//!
//! For a range `[lo, lo + 2^bits)` and a table of `2^baby` baby steps `j·G`, decryption always
//! walks all `2^(bits − baby)` giant steps `M − lo·G − i·2^baby·G`, whether or not it has already
//! found `m`, and reports not-found only at the end. So the number of group operations, of
//! point compressions and of table look-ups does not depend on the plaintext.
//!
//! **What is not constant-time**: the look-ups go to a bucket chosen by the looked-up point,
//! and the final candidate check runs once per hit, so memory accesses depend on the plaintext.
//! An attacker sharing the machine's caches could learn something about `m` from them; a remote
//! observer timing whole decryptions sees only noise from them. Closing this would take an
//! oblivious table scan, which costs `2^baby` per step.
//!
//! **Table layout (compact, exact).** A baby step is stored under a 48-bit key taken from the
//! encoding of `2·j·G` (Ristretto's batched `double_and_compress` needs one field inversion per
//! batch of points instead of one inverse square root per point): the key's top bits choose a
//! bucket, and the bucket keeps the next 32 bits and `j`, sorted. So a table of `2^baby`
//! entries takes `8·2^baby` bytes plus `4·2^(baby−4)` of bucket offsets (8.25 MiB for
//! `baby = 20`). Keys are not unique: two baby steps with equal keys are both kept, and a
//! look-up returns every entry under its key, each confirmed by recomputing `m·G`. So a key
//! collision can neither give a wrong answer nor hide the right one: a plaintext in range is
//! always found (the earlier single-slot map could drop a colliding step and then fail
//! spuriously, with probability about 2⁻²⁴ per table).
//!
//! Cost: building the `2^20` table takes `2^20` point additions and batched compressions
//! (under a second on one core of a quiet 2020s server; see `benches/RESULTS-mpc-proto.md`);
//! a 32-bit decryption then takes `2^12` giant steps. [`DiscreteLogTable::solve_batch`] walks the
//! giant steps of many ciphertexts together, so points of different ciphertexts share one
//! inversion: with short ranges (one giant step each) that is most of the work.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::error::{MpcError, Result};
use crate::group::scalar_from_i64;

/// Points compressed per batch (one inversion each).
const BATCH: usize = 1024;
/// Average entries per bucket: `2^4`.
const BUCKET_SPREAD_BITS: u32 = 4;

/// A precomputed baby-step table, reusable for every decryption over ranges of up to
/// `baby_bits + 32` bits.
pub struct DiscreteLogTable {
    baby_bits: u32,
    bucket_bits: u32,
    /// `starts[b]..starts[b + 1]` are the entries of bucket `b`.
    starts: Vec<u32>,
    /// The 32 key bits after the bucket bits, sorted within each bucket.
    fragments: Vec<u32>,
    /// The baby step `j` of each entry.
    steps: Vec<u32>,
    /// `2^baby_bits · G`.
    giant: RistrettoPoint,
}

impl std::fmt::Debug for DiscreteLogTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DiscreteLogTable({} baby bits)", self.baby_bits)
    }
}

/// 63 bits of the encoding of `2P` (its lowest bit is always 0 for a canonical encoding).
fn key(compressed: &CompressedRistretto) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&compressed.as_bytes()[..8]);
    u64::from_le_bytes(prefix) >> 1
}

impl DiscreteLogTable {
    /// Builds the table of `2^baby_bits` baby steps (1 ≤ `baby_bits` ≤ 24).
    pub fn new(baby_bits: u32) -> Result<Self> {
        if !(1..=24).contains(&baby_bits) {
            return Err(MpcError::InvalidParameter("baby-step bits outside 1..=24"));
        }
        let bucket_bits = baby_bits.saturating_sub(BUCKET_SPREAD_BITS);
        let size = 1usize << baby_bits;
        // (bucket ‖ fragment, j), sorted below into the bucketed layout.
        let mut entries: Vec<(u64, u32)> = Vec::with_capacity(size);
        let mut point = RistrettoPoint::default();
        let mut batch = Vec::with_capacity(BATCH);
        while entries.len() < size {
            batch.clear();
            for _ in entries.len()..(entries.len() + BATCH).min(size) {
                batch.push(point);
                point += RISTRETTO_BASEPOINT_POINT;
            }
            for compressed in RistrettoPoint::double_and_compress_batch(&batch) {
                // j < 2^24, so it fits in u32.
                let j = entries.len() as u32;
                entries.push((Self::split(bucket_bits, key(&compressed)), j));
            }
        }
        entries.sort_unstable();
        let mut starts = Vec::with_capacity((1 << bucket_bits) + 1);
        let mut next = 0usize;
        for bucket in 0..=(1u64 << bucket_bits) {
            while next < size && entries[next].0 >> 32 < bucket {
                next += 1;
            }
            // next <= size <= 2^24 fits in u32.
            starts.push(next as u32);
        }
        // The low 32 bits of the combined key are the fragment.
        let fragments = entries.iter().map(|(k, _)| *k as u32).collect();
        let steps = entries.iter().map(|(_, j)| *j).collect();
        let giant = RISTRETTO_BASEPOINT_POINT * Scalar::from(1u64 << baby_bits);
        Ok(Self { baby_bits, bucket_bits, starts, fragments, steps, giant })
    }

    /// `bucket << 32 | fragment` of a 63-bit key.
    fn split(bucket_bits: u32, key: u64) -> u64 {
        let bucket = if bucket_bits == 0 { 0 } else { key >> (63 - bucket_bits) };
        let fragment = (key >> (31 - bucket_bits)) & u64::from(u32::MAX);
        bucket << 32 | fragment
    }

    /// The number of baby-step bits.
    pub fn baby_bits(&self) -> u32 {
        self.baby_bits
    }

    /// The bytes the table occupies (its arrays, not counting the struct itself).
    pub fn memory_bytes(&self) -> usize {
        4 * (self.starts.len() + self.fragments.len() + self.steps.len())
    }

    /// Every baby step stored under the key of `compressed`.
    fn candidates(&self, compressed: &CompressedRistretto) -> &[u32] {
        let split = Self::split(self.bucket_bits, key(compressed));
        // The bucket index is below 2^bucket_bits, the fragment is the low 32 bits.
        let (bucket, fragment) = ((split >> 32) as usize, split as u32);
        let (start, end) = (self.starts[bucket] as usize, self.starts[bucket + 1] as usize);
        let bucket_fragments = &self.fragments[start..end];
        let first = bucket_fragments.partition_point(|f| *f < fragment);
        let count = bucket_fragments[first..].iter().take_while(|f| **f == fragment).count();
        &self.steps[start + first..start + first + count]
    }

    /// The `m ∈ [lo, lo + 2^bits)` with `point = m·G`; [`MpcError::DiscreteLogOutOfRange`]
    /// otherwise. `bits` is at most `baby_bits + 32` and at most 62. Always `2^(bits − baby)`
    /// giant steps (at least one).
    pub fn solve(&self, point: &RistrettoPoint, lo: i64, bits: u32) -> Result<i64> {
        self.solve_batch(std::slice::from_ref(point), lo, bits)?
            .pop()
            .unwrap_or(Err(MpcError::DiscreteLogOutOfRange))
    }

    /// [`DiscreteLogTable::solve`] for every point, over one range, with the giant steps of all
    /// points walked together so that their compressions share inversions. The outer error is
    /// a range this table cannot search; each inner result is one point's answer.
    pub fn solve_batch(
        &self,
        points: &[RistrettoPoint],
        lo: i64,
        bits: u32,
    ) -> Result<Vec<Result<i64>>> {
        if bits > 62 || bits > self.baby_bits + 32 || lo.checked_add(1i64 << bits).is_none() {
            return Err(MpcError::InvalidParameter("range too wide for this table"));
        }
        let steps = 1u64 << bits.saturating_sub(self.baby_bits);
        let shift = RistrettoPoint::mul_base(&scalar_from_i64(lo));
        let mut current: Vec<RistrettoPoint> = points.iter().map(|p| p - shift).collect();
        let mut found: Vec<Option<i64>> = vec![None; points.len()];
        // Steps per round: enough that every round compresses about BATCH points.
        let per_round = (BATCH / points.len().max(1)).max(1) as u64;
        let mut batch = Vec::with_capacity(BATCH);
        let mut first = 0u64;
        while first < steps {
            let round = per_round.min(steps - first);
            batch.clear();
            for point in &mut current {
                for _ in 0..round {
                    batch.push(*point);
                    *point -= self.giant;
                }
            }
            let compressed = RistrettoPoint::double_and_compress_batch(&batch);
            for (index, chunk) in compressed.chunks(round as usize).enumerate() {
                for (offset, c) in chunk.iter().enumerate() {
                    let giant_step = first + offset as u64;
                    for &j in self.candidates(c) {
                        let m = (giant_step << self.baby_bits) + u64::from(j);
                        if let Some(value) = self.confirm(&points[index], lo, bits, m) {
                            found[index] = Some(value);
                        }
                    }
                }
            }
            first += round;
        }
        Ok(found.into_iter().map(|f| f.ok_or(MpcError::DiscreteLogOutOfRange)).collect())
    }

    /// Confirms a candidate offset `m`: a key match is only a hint.
    fn confirm(&self, point: &RistrettoPoint, lo: i64, bits: u32, m: u64) -> Option<i64> {
        if m >> bits != 0 {
            return None;
        }
        // m < 2^62 and lo + 2^bits does not overflow, so lo + m fits in i64.
        let value = lo + m as i64;
        (RistrettoPoint::mul_base(&scalar_from_i64(value)) == *point).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offset_of_a_small_table_is_found_exactly_once() {
        for baby in [1, 3, 6] {
            let table = DiscreteLogTable::new(baby).unwrap();
            assert_eq!(table.steps.len(), 1 << baby);
            let points: Vec<RistrettoPoint> =
                (-20i64..44).map(|m| RistrettoPoint::mul_base(&scalar_from_i64(m))).collect();
            let answers = table.solve_batch(&points, -20, 6).unwrap();
            for (m, answer) in (-20i64..44).zip(answers) {
                assert_eq!(answer.unwrap(), m, "baby bits {baby}");
            }
        }
    }

    #[test]
    fn equal_keys_are_both_returned() {
        let mut table = DiscreteLogTable::new(4).unwrap();
        let target = RistrettoPoint::double_and_compress_batch(&[RistrettoPoint::mul_base(
            &Scalar::from(5u8),
        )])[0];
        let split = DiscreteLogTable::split(table.bucket_bits, key(&target));
        // Give every entry the key of 5·G: the look-up must return all sixteen.
        table.fragments.iter_mut().for_each(|f| *f = split as u32);
        table.starts = vec![0, 16];
        assert_eq!(table.candidates(&target).len(), 16);
        let point = RistrettoPoint::mul_base(&Scalar::from(5u8));
        assert_eq!(table.solve(&point, 0, 4).unwrap(), 5);
        // Only the entries under a point's own key are tried: with the doctored table, 11·G
        // (whose key is no longer stored) is not found, which shows the look-up is by key.
        let eleven = RistrettoPoint::mul_base(&Scalar::from(11u8));
        assert!(matches!(table.solve(&eleven, 0, 4), Err(MpcError::DiscreteLogOutOfRange)));
    }

    #[test]
    fn the_layout_is_compact() {
        let table = DiscreteLogTable::new(12).unwrap();
        assert_eq!(table.memory_bytes(), 4 * ((1 << 8) + 1) + 8 * (1 << 12));
    }
}
