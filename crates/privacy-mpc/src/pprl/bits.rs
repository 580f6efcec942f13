//! Fixed-length bit vectors: the Bloom filters of record linkage.
//!
//! Bit i lives in byte i / 8 at mask 0x80 >> (i mod 8) when serialised, the big-endian bit
//! order clkhash's files use, so a filter's base64 text reads the same way in both tools.
//! In memory the bits are packed into `u64` words so that Dice similarities cost a few
//! popcounts.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::error::MpcError;

/// A bit vector of fixed length (a multiple of 8).
#[derive(Clone, PartialEq, Eq)]
pub struct BitVector {
    words: Vec<u64>,
    bits: usize,
}

impl std::fmt::Debug for BitVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An encoding is pseudonymous personal data: show its size only.
        write!(f, "BitVector({} bits)", self.bits)
    }
}

impl BitVector {
    /// All zeros.
    pub fn zeros(bits: usize) -> Self {
        Self { words: vec![0; bits.div_ceil(64)], bits }
    }

    /// The length in bits.
    pub fn len(&self) -> usize {
        self.bits
    }

    /// True for a zero-length vector.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// Sets bit `i` (below the length).
    pub fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Bit `i` (below the length).
    pub fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// The number of ones.
    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// The number of positions set in both.
    pub fn count_common(&self, other: &Self) -> u32 {
        self.words.iter().zip(&other.words).map(|(a, b)| (a & b).count_ones()).sum()
    }

    /// Halves the vector by XOR-ing its two halves (one XOR fold).
    pub(crate) fn fold(&self) -> Self {
        let half = self.bits / 2;
        let mut out = Self::zeros(half);
        for i in 0..half {
            if self.get(i) ^ self.get(i + half) {
                out.set(i);
            }
        }
        out
    }

    /// The vector followed by its complement, with the bits then moved by `permutation`
    /// (output bit k is input bit permutation[k]).
    pub(crate) fn balanced(&self, permutation: &[u32]) -> Self {
        let mut out = Self::zeros(2 * self.bits);
        for (k, source) in permutation.iter().enumerate() {
            let source = *source as usize;
            let bit =
                if source < self.bits { self.get(source) } else { !self.get(source - self.bits) };
            if bit {
                out.set(k);
            }
        }
        out
    }

    /// Bytes in clkhash's bit order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.bits / 8];
        for i in (0..self.bits).filter(|i| self.get(*i)) {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
        bytes
    }

    /// Parses bytes in clkhash's bit order.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut out = Self::zeros(bytes.len() * 8);
        for (i, byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.set(8 * i + bit);
                }
            }
        }
        out
    }

    /// Base64 text of [`BitVector::to_bytes`].
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_bytes())
    }

    /// Parses base64 text holding exactly `bits` bits.
    pub fn from_base64(text: &str, bits: usize) -> Result<Self, MpcError> {
        let bytes = BASE64
            .decode(text)
            .map_err(|_| MpcError::Malformed { what: "encoding file", reason: "invalid base64" })?;
        if bytes.len() * 8 != bits {
            return Err(MpcError::Malformed { what: "encoding file", reason: "filter length" });
        }
        Ok(Self::from_bytes(&bytes))
    }
}

/// Dice similarity 2|A ∩ B| / (|A| + |B|); 0 when both are empty.
pub fn dice(a: &BitVector, b: &BitVector) -> f64 {
    let total = a.count_ones() + b.count_ones();
    if total == 0 {
        return 0.0;
    }
    2.0 * f64::from(a.count_common(b)) / f64::from(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_base64_fold_and_balance() {
        let mut v = BitVector::zeros(16);
        v.set(0);
        v.set(9);
        assert_eq!(v.to_bytes(), vec![0x80, 0x40]);
        assert_eq!(BitVector::from_base64(&v.to_base64(), 16).unwrap(), v);
        assert!(BitVector::from_base64(&v.to_base64(), 8).is_err());
        assert!(BitVector::from_base64("***", 16).is_err());
        let folded = v.fold();
        assert_eq!((folded.len(), folded.count_ones()), (8, 2));
        let identity: Vec<u32> = (0..32).collect();
        let balanced = v.balanced(&identity);
        assert_eq!(balanced.count_ones(), 16);
        assert!(balanced.get(0) && !balanced.get(16) && balanced.get(17));
        let mut w = BitVector::zeros(16);
        w.set(0);
        assert!((dice(&v, &w) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(dice(&BitVector::zeros(8), &BitVector::zeros(8)), 0.0);
    }
}
