//! Correlated randomness for multiplication and comparison, and the trusted dealer that
//! produces it.
//!
//! Multiplying shared values needs Beaver triples (shares of random a, b and c = a·b); secure
//! comparison needs AND triples on bits, edaBits (a random r shared both in Z_2^64 and bit by
//! bit) and daBits (a random bit shared both ways). The protocols ask for them through
//! [`Preprocessing`] and [`BitPreprocessing`] only, so a generator based on oblivious transfer
//! (Gilboa 1999; Keller, Orsini, Scholl 2016) or on Paillier encryption can replace the dealer
//! without touching them.
//!
//! [`TrustedDealer`] is the simplest generator: one party (or a separate process) that draws
//! the values from [`SecureRng`] and hands each party its shares. Security assumption: the
//! dealer follows the protocol and colludes with no party; it learns nothing about the inputs
//! (the material is independent of them), but a dealer that pooled its knowledge with a party
//! would let it unmask every opened value. Trade-off: no expensive cryptography in the
//! offline phase, at the price of one more trusted role.

use std::collections::VecDeque;

use rand_core::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use crate::error::MpcError;
use crate::ring::{Ring, Z64};

/// One party's shares of a Beaver triple (a, b, c = a·b).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BeaverTriple<R: Ring> {
    /// Share of a.
    pub a: R,
    /// Share of b.
    pub b: R,
    /// Share of c = a·b.
    pub c: R,
}

/// One party's XOR shares of 64 independent AND triples (a, b, c = a ∧ b), one per bit lane.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BitTriple {
    /// Share of a.
    pub a: u64,
    /// Share of b.
    pub b: u64,
    /// Share of c = a ∧ b.
    pub c: u64,
}

/// One party's shares of an edaBit: a random r ∈ Z_2^64 shared additively and bit by bit.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EdaBit {
    /// Additive share of r.
    pub arith: Z64,
    /// XOR share of r's 64 bits.
    pub bits: u64,
}

/// One party's shares of a daBit: a random bit β shared additively and by XOR (lane 0).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DaBit {
    /// Additive share of β.
    pub arith: Z64,
    /// XOR share of β in bit 0.
    pub bit: u64,
}

impl<R: Ring> std::fmt::Debug for BeaverTriple<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeaverTriple(..)")
    }
}

/// A source of Beaver triples over the ring `R`.
pub trait Preprocessing<R: Ring> {
    /// `count` triples for this party, or an error when none are left.
    fn triples(&mut self, count: usize) -> Result<Vec<BeaverTriple<R>>, MpcError>;
}

/// A source of the binary material secure comparison uses.
pub trait BitPreprocessing {
    /// `count` 64-lane AND triples.
    fn bit_triples(&mut self, count: usize) -> Result<Vec<BitTriple>, MpcError>;
    /// `count` edaBits.
    fn edabits(&mut self, count: usize) -> Result<Vec<EdaBit>, MpcError>;
    /// `count` daBits.
    fn dabits(&mut self, count: usize) -> Result<Vec<DaBit>, MpcError>;
}

/// How much material to deal.
#[derive(Clone, Copy, Debug, Default)]
pub struct DealRequest {
    /// Beaver triples.
    pub triples: usize,
    /// 64-lane AND triples.
    pub bit_triples: usize,
    /// edaBits.
    pub edabits: usize,
    /// daBits.
    pub dabits: usize,
}

/// A trusted dealer for `parties` parties.
// FIXME: the dealer must be trusted not to collude with any party; an OT-based (Keller, Orsini,
// Scholl 2016) or Paillier-based generator implementing `Preprocessing` would remove that trust.
#[derive(Debug)]
pub struct TrustedDealer {
    parties: usize,
}

/// One party's material from the dealer; implements both preprocessing traits.
pub struct DealerStock<R: Ring> {
    triples: VecDeque<BeaverTriple<R>>,
    bit_triples: VecDeque<BitTriple>,
    edabits: VecDeque<EdaBit>,
    dabits: VecDeque<DaBit>,
}

impl TrustedDealer {
    /// A dealer for 2 or more parties.
    pub fn new(parties: usize) -> Result<Self, MpcError> {
        if parties < 2 {
            return Err(MpcError::InvalidParameter("a dealer serves at least 2 parties"));
        }
        Ok(Self { parties })
    }

    /// Deals the requested material; element p of the result goes to party p.
    pub fn deal<R: Ring>(&self, request: DealRequest, rng: &mut SecureRng) -> Vec<DealerStock<R>> {
        let n = self.parties;
        let mut stocks: Vec<DealerStock<R>> = (0..n)
            .map(|_| DealerStock {
                triples: VecDeque::with_capacity(request.triples),
                bit_triples: VecDeque::with_capacity(request.bit_triples),
                edabits: VecDeque::with_capacity(request.edabits),
                dabits: VecDeque::with_capacity(request.dabits),
            })
            .collect();
        for _ in 0..request.triples {
            let (a, b) = (R::random(rng), R::random(rng));
            let (sa, sb, sc) = (split(a, n, rng), split(b, n, rng), split(a * b, n, rng));
            for (p, stock) in stocks.iter_mut().enumerate() {
                stock.triples.push_back(BeaverTriple { a: sa[p], b: sb[p], c: sc[p] });
            }
        }
        for _ in 0..request.bit_triples {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            let (sa, sb, sc) =
                (xor_split(a, n, rng), xor_split(b, n, rng), xor_split(a & b, n, rng));
            for (p, stock) in stocks.iter_mut().enumerate() {
                stock.bit_triples.push_back(BitTriple { a: sa[p], b: sb[p], c: sc[p] });
            }
        }
        for _ in 0..request.edabits {
            let r = rng.next_u64();
            let (arith, bits) = (split(Z64(r), n, rng), xor_split(r, n, rng));
            for (p, stock) in stocks.iter_mut().enumerate() {
                stock.edabits.push_back(EdaBit { arith: arith[p], bits: bits[p] });
            }
        }
        for _ in 0..request.dabits {
            let beta = rng.next_u64() & 1;
            let (arith, bit) = (split(Z64(beta), n, rng), xor_split(beta, n, rng));
            for (p, stock) in stocks.iter_mut().enumerate() {
                stock.dabits.push_back(DaBit { arith: arith[p], bit: bit[p] });
            }
        }
        stocks
    }
}

fn split<R: Ring>(value: R, n: usize, rng: &mut SecureRng) -> Vec<R> {
    crate::sharing::additive::split_additive(value, n, rng)
}

/// XOR shares: n − 1 random words and the value XOR all of them.
pub(crate) fn xor_split(value: u64, n: usize, rng: &mut SecureRng) -> Vec<u64> {
    let mut shares: Vec<u64> = (1..n).map(|_| rng.next_u64()).collect();
    shares.push(shares.iter().fold(value, |acc, s| acc ^ s));
    shares
}

fn take<T>(queue: &mut VecDeque<T>, count: usize, what: &'static str) -> Result<Vec<T>, MpcError> {
    if queue.len() < count {
        return Err(MpcError::PreprocessingExhausted(what));
    }
    Ok(queue.drain(..count).collect())
}

impl<R: Ring> Preprocessing<R> for DealerStock<R> {
    fn triples(&mut self, count: usize) -> Result<Vec<BeaverTriple<R>>, MpcError> {
        take(&mut self.triples, count, "beaver triples")
    }
}

impl<R: Ring> BitPreprocessing for DealerStock<R> {
    fn bit_triples(&mut self, count: usize) -> Result<Vec<BitTriple>, MpcError> {
        take(&mut self.bit_triples, count, "and triples")
    }

    fn edabits(&mut self, count: usize) -> Result<Vec<EdaBit>, MpcError> {
        take(&mut self.edabits, count, "edabits")
    }

    fn dabits(&mut self, count: usize) -> Result<Vec<DaBit>, MpcError> {
        take(&mut self.dabits, count, "dabits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dealt_material_is_consistent_and_runs_out() {
        let mut rng = SecureRng::seeded_for_tests_only(3);
        let request = DealRequest { triples: 2, bit_triples: 2, edabits: 2, dabits: 2 };
        let mut stocks = TrustedDealer::new(3).unwrap().deal::<Z64>(request, &mut rng);
        let triples: Vec<_> = stocks.iter_mut().map(|s| s.triples(2).unwrap()).collect();
        for k in 0..2 {
            let sum = |f: &dyn Fn(&BeaverTriple<Z64>) -> Z64| {
                triples.iter().fold(Z64(0), |acc, t| acc + f(&t[k]))
            };
            assert_eq!(sum(&|t| t.a) * sum(&|t| t.b), sum(&|t| t.c));
        }
        let bits: Vec<_> = stocks.iter_mut().map(|s| s.bit_triples(1).unwrap()).collect();
        let xor = |f: &dyn Fn(&BitTriple) -> u64| bits.iter().fold(0, |acc, t| acc ^ f(&t[0]));
        assert_eq!(xor(&|t| t.a) & xor(&|t| t.b), xor(&|t| t.c));
        let eda: Vec<_> = stocks.iter_mut().map(|s| s.edabits(1).unwrap()).collect();
        let r_arith = eda.iter().fold(Z64(0), |acc, e| acc + e[0].arith);
        assert_eq!(r_arith.0, eda.iter().fold(0, |acc, e| acc ^ e[0].bits));
        let da: Vec<_> = stocks.iter_mut().map(|s| s.dabits(2).unwrap()).collect();
        for k in 0..2 {
            let arith = da.iter().fold(Z64(0), |acc, d| acc + d[k].arith);
            assert_eq!(arith.0, da.iter().fold(0, |acc, d| acc ^ d[k].bit));
        }
        assert!(matches!(stocks[0].triples(1), Err(MpcError::PreprocessingExhausted(_))));
        assert!(TrustedDealer::new(1).is_err());
    }
}
