//! Secure comparison of shared integers by bit decomposition, over Z_2^64.
//!
//! To learn whether x < y for shared x and y, the parties compute the sign bit of d = x − y.
//! With an edaBit (random r shared additively and bit by bit) they open c = d + r, which is
//! uniform and so reveals nothing, and then compute the bits of d = c − r = c + ¬r + 1 with a
//! binary adder whose one operand, c, is public: generate bits g = c ∧ ¬r and propagate bits
//! p = c ⊕ ¬r are local, and the carries follow from a Kogge–Stone parallel prefix in
//! log₂ 64 = 6 rounds of AND gates, each evaluated with a 64-lane Beaver AND triple. The sign
//! of d is p₆₃ ⊕ carry₆₃. (Damgård, Fitzi, Kiltz, Nielsen, Toft 2006, "Unconditionally secure
//! constant-rounds multi-party computation for equality, comparison, bits and exponentiation";
//! Escudero, Ghosh, Keller, Rachuri, Scholl 2020, "Improved primitives for MPC over mixed
//! arithmetic-binary circuits", for edaBits.)
//!
//! Precondition: |x − y| < 2^63, e.g. both inputs in [−2^62, 2^62). Outside it the sign bit
//! wraps and the answer is wrong; [`secure_less_than`] checks each party's own inputs.
//! Threat model: semi-honest, up to n − 1 corrupted parties, with a dealer that colludes with
//! no party. Cost: 7 rounds and 12 AND triples plus one edaBit per comparison, batched.

use privacy_core::SecureRng;

use super::arith::{open_tagged, share_inputs};
use super::message::{self, tag};
use super::preprocessing::{BitPreprocessing, BitTriple};
use super::{audited, owner_inputs, RunContext, SEMI_HONEST_WITH_DEALER};
use crate::error::MpcError;
use crate::ring::Z64;
use crate::transport::{broadcast_round, Transport};

/// XOR shares of the bits [x_k < y_k], one word per comparison with the bit in lane 0.
pub fn less_than(
    transport: &mut dyn Transport,
    preprocessing: &mut dyn BitPreprocessing,
    x: &[Z64],
    y: &[Z64],
) -> Result<Vec<u64>, MpcError> {
    if x.len() != y.len() {
        return Err(MpcError::InvalidInput("operands of different lengths".into()));
    }
    let first = transport.party() == 0;
    let edabits = preprocessing.edabits(x.len())?;
    let masked: Vec<Z64> =
        x.iter().zip(y).zip(&edabits).map(|((x, y), r)| *x - *y + r.arith).collect();
    let opened = open_tagged(transport, tag::OPEN, &masked)?;
    // Bits of ¬r (party 0 flips every bit), then g = c ∧ ¬r and p = c ⊕ ¬r.
    let not_r: Vec<u64> = edabits.iter().map(|e| if first { !e.bits } else { e.bits }).collect();
    let mut generate: Vec<u64> = not_r.iter().zip(&opened).map(|(u, c)| u & c.0).collect();
    let propagate: Vec<u64> =
        not_r.iter().zip(&opened).map(|(u, c)| if first { u ^ c.0 } else { *u }).collect();
    // The carry-in of 1 at lane 0: carry₁ = g₀ ⊕ p₀.
    for (g, p) in generate.iter_mut().zip(&propagate) {
        *g ^= p & 1;
    }
    let carries = parallel_prefix(transport, preprocessing, generate, propagate.clone())?;
    Ok(propagate.iter().zip(&carries).map(|(p, g)| ((p >> 63) ^ (g >> 62)) & 1).collect())
}

/// Kogge–Stone: after the six rounds, lane i of the result is the carry into lane i + 1.
fn parallel_prefix(
    transport: &mut dyn Transport,
    preprocessing: &mut dyn BitPreprocessing,
    mut generate: Vec<u64>,
    mut propagate: Vec<u64>,
) -> Result<Vec<u64>, MpcError> {
    for shift in [1u32, 2, 4, 8, 16, 32] {
        let mut left = propagate.clone();
        left.extend_from_slice(&propagate);
        let mut right: Vec<u64> = generate.iter().map(|g| g << shift).collect();
        right.extend(propagate.iter().map(|p| p << shift));
        let products = and(transport, preprocessing, &left, &right)?;
        let (carry_terms, spans) = products.split_at(generate.len());
        for ((g, term), (p, span)) in
            generate.iter_mut().zip(carry_terms).zip(propagate.iter_mut().zip(spans))
        {
            *g ^= term;
            *p = *span;
        }
    }
    Ok(generate)
}

/// XOR shares of x ∧ y, lane by lane, with Beaver AND triples. One round.
pub fn and(
    transport: &mut dyn Transport,
    preprocessing: &mut dyn BitPreprocessing,
    x: &[u64],
    y: &[u64],
) -> Result<Vec<u64>, MpcError> {
    let triples: Vec<BitTriple> = preprocessing.bit_triples(x.len())?;
    let mut masked = Vec::with_capacity(2 * x.len());
    masked.extend(x.iter().zip(&triples).map(|(x, t)| x ^ t.a));
    masked.extend(y.iter().zip(&triples).map(|(y, t)| y ^ t.b));
    let opened = open_xor(transport, tag::BIT_AND, &masked)?;
    let (d, e) = opened.split_at(x.len());
    let first = transport.party() == 0;
    Ok(triples
        .iter()
        .zip(d.iter().zip(e))
        .map(|(t, (d, e))| t.c ^ (d & t.b) ^ (e & t.a) ^ if first { d & e } else { 0 })
        .collect())
}

fn open_xor(transport: &mut dyn Transport, step: u8, shares: &[u64]) -> Result<Vec<u64>, MpcError> {
    let me = transport.party();
    let received = broadcast_round(transport, &message::encode_words(step, shares))?;
    let mut values = shares.to_vec();
    for (p, bytes) in received.iter().enumerate() {
        if p != me {
            let theirs = message::decode_words(step, bytes, shares.len())?;
            values.iter_mut().zip(theirs).for_each(|(v, s)| *v ^= s);
        }
    }
    Ok(values)
}

/// Opens XOR-shared bits (lane 0) to every party.
pub fn open_bits(transport: &mut dyn Transport, bits: &[u64]) -> Result<Vec<bool>, MpcError> {
    Ok(open_xor(transport, tag::OPEN_BITS, bits)?.iter().map(|b| b & 1 == 1).collect())
}

/// Converts XOR-shared bits (lane 0) into additive shares of 0 or 1 over Z_2^64, with daBits:
/// open e = b ⊕ β, then [b] = e + [β] − 2e·[β]. One round.
pub fn bits_to_arith(
    transport: &mut dyn Transport,
    preprocessing: &mut dyn BitPreprocessing,
    bits: &[u64],
) -> Result<Vec<Z64>, MpcError> {
    let dabits = preprocessing.dabits(bits.len())?;
    let masked: Vec<u64> = bits.iter().zip(&dabits).map(|(b, d)| (b ^ d.bit) & 1).collect();
    let opened = open_xor(transport, tag::OPEN_BITS, &masked)?;
    let first = transport.party() == 0;
    Ok(opened
        .iter()
        .zip(&dabits)
        .map(|(e, d)| {
            if e & 1 == 0 {
                d.arith
            } else if first {
                Z64(1) - d.arith
            } else {
                -d.arith
            }
        })
        .collect())
}

/// The bound on inputs of [`secure_less_than`]: |v| < 2^62, so differences stay below 2^63.
pub const COMPARISON_INPUT_BOUND: i64 = super::OWNER_INPUT_BOUND;

/// Party `a` and party `b` each hold one vector of integers in (−2^62, 2^62); every party
/// learns, for each k, whether a's k-th value is below b's. All parties take part (the others
/// input nothing), so the protocol also runs among n > 2 parties. Audited as
/// `secure-comparison`.
#[allow(clippy::too_many_arguments)] // Two owners, their inputs and the run's context.
pub fn secure_less_than(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    preprocessing: &mut dyn BitPreprocessing,
    context: &RunContext<'_>,
    owners: (usize, usize),
    values: &[i64],
    count: usize,
) -> Result<Vec<bool>, MpcError> {
    audited(context, "secure-comparison", SEMI_HONEST_WITH_DEALER, transport, |t| {
        let mine: Vec<Z64> = owner_inputs(t, owners, values, count, "comparison inputs")?;
        let shares = share_inputs(t, rng, &mine)?;
        let bits = less_than(t, preprocessing, &shares[owners.0], &shares[owners.1])?;
        open_bits(t, &bits)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::preprocessing::{DealRequest, TrustedDealer};
    use crate::protocol::testing::run_parties;
    use privacy_core::NullAuditSink;

    #[test]
    fn comparisons_match_the_plaintext_at_the_edges() {
        let a: Vec<i64> = vec![0, -1, 5, -5, (1 << 62) - 1, -(1 << 62) + 1, 7, 0, -3];
        let b: Vec<i64> = vec![0, 0, 4, 5, -(1 << 62) + 1, (1 << 62) - 1, 7, -1, -2];
        let expected: Vec<bool> = a.iter().zip(&b).map(|(x, y)| x < y).collect();
        let n = a.len();
        let mut rng = SecureRng::seeded_for_tests_only(9);
        let request = DealRequest { bit_triples: 12 * n, edabits: n, ..DealRequest::default() };
        let stocks = TrustedDealer::new(3).unwrap().deal::<Z64>(request, &mut rng);
        let stocks = std::sync::Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let results = run_parties(3, 10, move |party, t, rng| {
            let mut stock = stocks.lock().unwrap()[party].take().unwrap();
            let context = RunContext { audit: &NullAuditSink, principal: "test" };
            let values = match party {
                0 => a.clone(),
                2 => b.clone(),
                _ => Vec::new(),
            };
            secure_less_than(t, rng, &mut stock, &context, (0, 2), &values, n)
        });
        for r in results {
            assert_eq!(r.unwrap(), expected);
        }
    }

    #[test]
    fn bits_convert_to_arithmetic_shares() {
        let mut rng = SecureRng::seeded_for_tests_only(12);
        let request = DealRequest { dabits: 4, ..DealRequest::default() };
        let stocks = TrustedDealer::new(2).unwrap().deal::<Z64>(request, &mut rng);
        let stocks = std::sync::Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let results = run_parties(2, 13, move |party, t, _rng| {
            let mut stock = stocks.lock().unwrap()[party].take().unwrap();
            // XOR shares of 1, 0, 1, 1: party 0 holds the bits, party 1 zeros.
            let bits = if party == 0 { vec![1, 0, 1, 1] } else { vec![0, 0, 0, 0] };
            let arith = bits_to_arith(t, &mut stock, &bits).unwrap();
            crate::protocol::arith::open(t, &arith).unwrap()
        });
        for r in results {
            assert_eq!(r, vec![Z64(1), Z64(0), Z64(1), Z64(1)]);
        }
    }
}
