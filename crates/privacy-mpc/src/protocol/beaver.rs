//! Multiplication of shared values with Beaver triples (Beaver 1991, "Efficient multiparty
//! protocols using circuit randomization", CRYPTO).
//!
//! To multiply shared x and y with a triple (a, b, c = a·b), the parties open d = x − a and
//! e = y − b, then each computes its share of x·y = c + d·b + e·a + d·e (the public term d·e
//! added by party 0 only). d and e are x and y masked by uniform a and b, so opening them
//! reveals nothing. Semi-honest secure against n − 1 corruptions given a dealer that colludes
//! with no party; one round for any number of products.

use super::arith::open_tagged;
use super::message::tag;
use super::preprocessing::Preprocessing;
use crate::error::MpcError;
use crate::ring::Ring;
use crate::transport::Transport;

/// Shares of x_k · y_k for each k, from shares of x and y. One round.
pub fn multiply<R: Ring>(
    transport: &mut dyn Transport,
    preprocessing: &mut dyn Preprocessing<R>,
    x: &[R],
    y: &[R],
) -> Result<Vec<R>, MpcError> {
    if x.len() != y.len() {
        return Err(MpcError::InvalidInput("factors of different lengths".into()));
    }
    let triples = preprocessing.triples(x.len())?;
    let mut masked = Vec::with_capacity(2 * x.len());
    masked.extend(x.iter().zip(&triples).map(|(x, t)| *x - t.a));
    masked.extend(y.iter().zip(&triples).map(|(y, t)| *y - t.b));
    let opened = open_tagged(transport, tag::BEAVER, &masked)?;
    let (d, e) = opened.split_at(x.len());
    let first = transport.party() == 0;
    Ok(triples
        .iter()
        .zip(d.iter().zip(e))
        .map(|(t, (d, e))| {
            let share = t.c + *d * t.b + *e * t.a;
            if first {
                share + *d * *e
            } else {
                share
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::Scalar;

    use super::*;
    use crate::protocol::arith::{open, share_inputs};
    use crate::protocol::preprocessing::{DealRequest, TrustedDealer};
    use crate::protocol::testing::run_parties;

    #[test]
    fn products_equal_the_plaintext() {
        let mut rng = privacy_core::SecureRng::seeded_for_tests_only(5);
        let request = DealRequest { triples: 2, ..DealRequest::default() };
        let stocks = TrustedDealer::new(3).unwrap().deal::<Scalar>(request, &mut rng);
        let stocks = std::sync::Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let results = run_parties(3, 6, move |party, t, rng| {
            let mut stock = stocks.lock().unwrap()[party].take().unwrap();
            let inputs = [Scalar::from(party as u64 + 2)];
            let shares = share_inputs(t, rng, &inputs).unwrap();
            // (2·3) and (3·4) from parties 0, 1 and 2.
            let x = [shares[0][0], shares[1][0]];
            let y = [shares[1][0], shares[2][0]];
            let product = multiply(t, &mut stock, &x, &y).unwrap();
            open(t, &product).unwrap()
        });
        for r in results {
            assert_eq!(r, vec![Scalar::from(6u8), Scalar::from(12u8)]);
        }
    }
}
