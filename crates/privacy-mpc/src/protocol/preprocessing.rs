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
//!
//! Across processes, the dealer is its own process ([`super::dealer`]): it sends each site its
//! [`DealerStock`] in the strict byte format of [`DealerStock::to_bytes`], which binds the
//! stock to one mesh session and one party number, so material dealt for one run or one seat
//! is refused at another.

use std::collections::VecDeque;

use rand_core::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::ring::{Ring, Z64};
use crate::transport::MAX_MESSAGE_BYTES;

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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

impl DealRequest {
    /// The bytes of one party's stock of this request over the ring `R`, or `None` when the
    /// count overflows.
    pub fn stock_bytes<R: Ring>(&self) -> Option<usize> {
        let items = [
            self.triples.checked_mul(3 * R::ENCODED_LEN)?,
            self.bit_triples.checked_mul(24)?,
            self.edabits.checked_mul(16)?,
            self.dabits.checked_mul(16)?,
        ];
        items.iter().try_fold(STOCK_HEADER_LEN, |acc, n| acc.checked_add(*n))
    }

    /// Refuses a request whose stock would not fit in one transport message (64 MiB).
    pub fn check_fits<R: Ring>(&self) -> Result<(), MpcError> {
        match self.stock_bytes::<R>() {
            Some(bytes) if bytes <= MAX_MESSAGE_BYTES => Ok(()),
            _ => Err(MpcError::InvalidInput(
                "the requested preprocessing exceeds one 64 MiB message".into(),
            )),
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        for count in [self.triples, self.bit_triples, self.edabits, self.dabits] {
            w.u64(count as u64);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, MpcError> {
        let mut next = || -> Result<usize, MpcError> {
            usize::try_from(r.u64()?).map_err(|_| MpcError::OutOfRange {
                what: "a preprocessing count",
                reason: "above the address space",
            })
        };
        Ok(Self { triples: next()?, bit_triples: next()?, edabits: next()?, dabits: next()? })
    }
}

/// What a stock is bound to: the mesh session it was dealt for and the party it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockBinding {
    /// The session identifier of the mesh ([`crate::transport::TlsMesh::session`]).
    pub session: [u8; 16],
    /// The party number, 0..parties.
    pub party: u16,
    /// The number of computing parties.
    pub parties: u16,
}

const STOCK_MAGIC: &[u8; 8] = b"mpc-prep";
const STOCK_VERSION: u8 = 1;
/// Magic, version, ring, binding and the four counts.
const STOCK_HEADER_LEN: usize = 8 + 1 + 1 + 16 + 2 + 2 + 4 * 8;

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
        let mut stocks: Vec<DealerStock<R>> =
            (0..n).map(|_| DealerStock::with_capacity(request)).collect();
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

impl<R: Ring> DealerStock<R> {
    /// How much material is left.
    pub fn remaining(&self) -> DealRequest {
        DealRequest {
            triples: self.triples.len(),
            bit_triples: self.bit_triples.len(),
            edabits: self.edabits.len(),
            dabits: self.dabits.len(),
        }
    }

    /// The versioned encoding: magic, version, ring, `binding`, the four counts, then the
    /// items. Secret: a stock is one party's shares.
    pub fn to_bytes(&self, binding: StockBinding) -> zeroize::Zeroizing<Vec<u8>> {
        let remaining = self.remaining();
        // A stock built by the dealer is bounded by the request, checked to fit one message.
        let mut w = Writer::with_capacity(remaining.stock_bytes::<R>().unwrap_or(0));
        w.bytes(STOCK_MAGIC).u8(STOCK_VERSION).u8(R::TAG).bytes(&binding.session);
        w.u16(binding.party).u16(binding.parties);
        remaining.encode(&mut w);
        for t in &self.triples {
            for v in [t.a, t.b, t.c] {
                v.encode(w.buffer());
            }
        }
        for t in &self.bit_triples {
            w.u64(t.a).u64(t.b).u64(t.c);
        }
        for e in &self.edabits {
            w.u64(e.arith.0).u64(e.bits);
        }
        for d in &self.dabits {
            w.u64(d.arith.0).u64(d.bit);
        }
        zeroize::Zeroizing::new(w.finish())
    }

    /// Parses [`DealerStock::to_bytes`], refusing another ring, another session or seat than
    /// `expected`, counts the bytes cannot hold (before allocating) and non-canonical elements.
    pub fn from_bytes(bytes: &[u8], expected: StockBinding) -> Result<Self, MpcError> {
        const WHAT: &str = "preprocessing stock";
        let mut r = Reader::new(bytes, WHAT);
        if r.take(8)? != STOCK_MAGIC {
            return Err(MpcError::Malformed { what: WHAT, reason: "magic" });
        }
        r.version(STOCK_VERSION)?;
        if r.u8()? != R::TAG {
            return Err(MpcError::ProtocolMismatch("the stock is for another ring"));
        }
        let binding = StockBinding { session: r.array()?, party: r.u16()?, parties: r.u16()? };
        if binding != expected {
            return Err(MpcError::ProtocolMismatch(
                "the stock was dealt for another session or party",
            ));
        }
        let counts = DealRequest::decode(&mut r)?;
        if counts.stock_bytes::<R>() != Some(bytes.len()) {
            return Err(MpcError::Malformed { what: WHAT, reason: "counts do not match the data" });
        }
        let mut stock = Self::with_capacity(counts);
        for _ in 0..counts.triples {
            let mut next = || R::decode(r.take(R::ENCODED_LEN)?);
            let (a, b, c) = (next()?, next()?, next()?);
            stock.triples.push_back(BeaverTriple { a, b, c });
        }
        for _ in 0..counts.bit_triples {
            stock.bit_triples.push_back(BitTriple { a: r.u64()?, b: r.u64()?, c: r.u64()? });
        }
        for _ in 0..counts.edabits {
            stock.edabits.push_back(EdaBit { arith: Z64(r.u64()?), bits: r.u64()? });
        }
        for _ in 0..counts.dabits {
            stock.dabits.push_back(DaBit { arith: Z64(r.u64()?), bit: r.u64()? });
        }
        r.finish()?;
        Ok(stock)
    }

    fn with_capacity(request: DealRequest) -> Self {
        DealerStock {
            triples: VecDeque::with_capacity(request.triples),
            bit_triples: VecDeque::with_capacity(request.bit_triples),
            edabits: VecDeque::with_capacity(request.edabits),
            dabits: VecDeque::with_capacity(request.dabits),
        }
    }
}

impl<R: Ring> std::fmt::Debug for DealerStock<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DealerStock").field("remaining", &self.remaining()).finish()
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

    #[test]
    fn stocks_round_trip_bound_to_their_seat() {
        use curve25519_dalek::Scalar;
        let mut rng = SecureRng::seeded_for_tests_only(4);
        let request = DealRequest { triples: 3, bit_triples: 2, edabits: 1, dabits: 2 };
        let stocks = TrustedDealer::new(2).unwrap().deal::<Scalar>(request, &mut rng);
        let seat = StockBinding { session: [9; 16], party: 1, parties: 2 };
        let bytes = stocks[1].to_bytes(seat);
        assert_eq!(bytes.len(), request.stock_bytes::<Scalar>().unwrap());
        let mut back = DealerStock::<Scalar>::from_bytes(&bytes, seat).unwrap();
        assert_eq!(back.remaining(), request);
        let mut original = DealerStock::<Scalar>::from_bytes(&bytes, seat).unwrap();
        assert!(back.triples(3).unwrap()[2].c == original.triples(3).unwrap()[2].c);
        assert!(format!("{back:?}").contains("remaining"));
        for other in [
            StockBinding { party: 0, ..seat },
            StockBinding { session: [8; 16], ..seat },
            StockBinding { parties: 3, ..seat },
        ] {
            assert!(matches!(
                DealerStock::<Scalar>::from_bytes(&bytes, other),
                Err(MpcError::ProtocolMismatch(_))
            ));
        }
        assert!(matches!(
            DealerStock::<Z64>::from_bytes(&bytes, seat),
            Err(MpcError::ProtocolMismatch(_))
        ));
        let mut short = bytes.to_vec();
        short.pop();
        assert!(matches!(
            DealerStock::<Scalar>::from_bytes(&short, seat),
            Err(MpcError::Malformed { .. })
        ));
        // A count the data cannot hold is refused before anything is allocated.
        let mut lying = bytes.to_vec();
        lying[30..38].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(DealerStock::<Scalar>::from_bytes(&lying, seat).is_err());
        let huge = DealRequest { triples: 1 << 40, ..DealRequest::default() };
        assert!(huge.check_fits::<Scalar>().is_err());
    }
}
