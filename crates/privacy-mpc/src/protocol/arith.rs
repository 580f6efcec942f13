//! Arithmetic on additively shared vectors: inputting values and opening shares.
//!
//! A shared value is held as one ring element per party, adding up to the value. Addition and
//! multiplication by a public constant are local; [`super::beaver`] multiplies two shared
//! values. Opening reveals the value to every party (and nothing else: the shares are uniform
//! given the value).

use zeroize::Zeroize;

use privacy_core::SecureRng;

use super::message::{self, tag};
use crate::error::MpcError;
use crate::ring::Ring;
use crate::sharing::additive::split_additive;
use crate::transport::{broadcast_round, exchange_round, Transport};

/// Every party inputs a vector of the same length; returns `shares[p][k]`, this party's share
/// of party p's k-th value. One round.
pub fn share_inputs<R: Ring>(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    inputs: &[R],
) -> Result<Vec<Vec<R>>, MpcError> {
    let (me, parties) = (transport.party(), transport.parties());
    // outgoing[j][k]: party j's share of my k-th input.
    let mut outgoing: Vec<Vec<R>> = vec![Vec::with_capacity(inputs.len()); parties];
    for value in inputs {
        let mut parts = split_additive(*value, parties, rng);
        for (j, part) in parts.iter().enumerate() {
            outgoing[j].push(*part);
        }
        parts.zeroize();
    }
    let mut messages: Vec<Vec<u8>> =
        outgoing.iter().map(|v| message::encode(tag::INPUT_SHARES, v)).collect();
    let received = exchange_round(transport, &messages);
    messages.iter_mut().for_each(Zeroize::zeroize);
    let received = received?;
    let mut shares = Vec::with_capacity(parties);
    for (p, bytes) in received.iter().enumerate() {
        if p == me {
            shares.push(std::mem::take(&mut outgoing[me]));
        } else {
            shares.push(message::decode(tag::INPUT_SHARES, bytes, inputs.len())?);
        }
    }
    outgoing.iter_mut().for_each(Zeroize::zeroize);
    Ok(shares)
}

/// The element-wise sum of every party's input vector, as shares.
pub fn sum_of_inputs<R: Ring>(shares: &[Vec<R>]) -> Vec<R> {
    let width = shares.first().map_or(0, Vec::len);
    (0..width).map(|k| shares.iter().fold(R::ZERO, |acc, v| acc + v[k])).collect()
}

/// Opens shared values to every party. One round.
pub fn open<R: Ring>(transport: &mut dyn Transport, shares: &[R]) -> Result<Vec<R>, MpcError> {
    open_tagged(transport, tag::OPEN, shares)
}

pub(crate) fn open_tagged<R: Ring>(
    transport: &mut dyn Transport,
    step: u8,
    shares: &[R],
) -> Result<Vec<R>, MpcError> {
    let me = transport.party();
    let received = broadcast_round(transport, &message::encode(step, shares))?;
    let mut values = shares.to_vec();
    for (p, bytes) in received.iter().enumerate() {
        if p == me {
            continue;
        }
        for (v, s) in values.iter_mut().zip(message::decode::<R>(step, bytes, shares.len())?) {
            *v = *v + s;
        }
    }
    Ok(values)
}

/// Adds a public constant to a shared value: only party 0 adds it.
pub fn add_public<R: Ring>(party: usize, share: R, constant: R) -> R {
    if party == 0 {
        share + constant
    } else {
        share
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::run_parties;
    use crate::ring::Z64;

    #[test]
    fn inputs_sum_and_open_to_the_plaintext() {
        let results = run_parties(3, 1, |party, t, rng| {
            let inputs = [Z64(party as u64 + 1), Z64(10 * party as u64)];
            let shares = share_inputs(t, rng, &inputs).unwrap();
            open(t, &sum_of_inputs(&shares)).unwrap()
        });
        for r in results {
            assert_eq!(r, vec![Z64(6), Z64(30)]);
        }
    }

    #[test]
    fn a_short_vector_from_a_peer_is_refused() {
        let results = run_parties(2, 2, |party, t, rng| {
            let inputs = vec![Z64(1); 1 + party];
            share_inputs(t, rng, &inputs).map(|_| ())
        });
        assert!(results.iter().all(|r| matches!(r, Err(MpcError::Malformed { .. }))));
    }
}
