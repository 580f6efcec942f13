//! Multiplication of shared values with Beaver triples (Beaver 1991, "Efficient multiparty
//! protocols using circuit randomization", CRYPTO).
//!
//! To multiply shared x and y with a triple (a, b, c = a·b), the parties open d = x − a and
//! e = y − b, then each computes its share of x·y = c + d·b + e·a + d·e (the public term d·e
//! added by party 0 only). d and e are x and y masked by uniform a and b, so opening them
//! reveals nothing. Semi-honest secure against n − 1 corruptions given a dealer that colludes
//! with no party; one round for any number of products.

use curve25519_dalek::Scalar;

use privacy_core::SecureRng;

use super::arith::{open, open_tagged, share_inputs};
use super::message::tag;
use super::preprocessing::Preprocessing;
use super::{audited, owner_inputs, RunContext, SEMI_HONEST_WITH_DEALER};
use crate::error::MpcError;
use crate::ring::Ring;
use crate::transport::Transport;

/// The bound on the factors of [`secure_product`]: |v| < 2^62, so products stay below 2^124
/// in magnitude and read back exactly from the scalar field.
pub const PRODUCT_INPUT_BOUND: i64 = super::OWNER_INPUT_BOUND;

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

/// Party `a` and party `b` each hold a vector of `count` integers in (−2^62, 2^62); every
/// party learns the element-wise products, and nothing else (the other parties input nothing,
/// so this also runs among n > 2 parties). One Beaver triple over the scalar field per product.
/// Audited as `secure-product`.
#[allow(clippy::too_many_arguments)] // Two owners, their inputs and the run's context.
pub fn secure_product(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    preprocessing: &mut dyn Preprocessing<Scalar>,
    context: &RunContext<'_>,
    owners: (usize, usize),
    values: &[i64],
    count: usize,
) -> Result<Vec<i128>, MpcError> {
    audited(context, "secure-product", SEMI_HONEST_WITH_DEALER, transport, |t| {
        let mine: Vec<Scalar> = owner_inputs(t, owners, values, count, "product inputs")?;
        let shares = share_inputs(t, rng, &mine)?;
        let products = multiply(t, preprocessing, &shares[owners.0], &shares[owners.1])?;
        open(t, &products)?
            .into_iter()
            .map(|p| {
                p.to_i128().ok_or(MpcError::OutOfRange {
                    what: "a product",
                    reason: "magnitude above 2^126",
                })
            })
            .collect()
    })
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

    #[test]
    fn secure_products_are_exact_at_the_bound() {
        let a: Vec<i64> = vec![(1 << 62) - 1, -3, 0, -(1 << 62) + 1];
        let b: Vec<i64> = vec![(1 << 62) - 1, 7, -5, (1 << 62) - 1];
        let expected: Vec<i128> =
            a.iter().zip(&b).map(|(x, y)| i128::from(*x) * i128::from(*y)).collect();
        let mut rng = privacy_core::SecureRng::seeded_for_tests_only(7);
        let request = DealRequest { triples: a.len(), ..DealRequest::default() };
        let stocks = TrustedDealer::new(3).unwrap().deal::<Scalar>(request, &mut rng);
        let stocks = std::sync::Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let results = run_parties(3, 8, move |party, t, rng| {
            let mut stock = stocks.lock().unwrap()[party].take().unwrap();
            let context = RunContext { audit: &privacy_core::NullAuditSink, principal: "t" };
            let values = match party {
                1 => a.clone(),
                2 => b.clone(),
                _ => Vec::new(),
            };
            let product = secure_product(t, rng, &mut stock, &context, (1, 2), &values, 4);
            let too_big = secure_product(t, rng, &mut stock, &context, (1, 2), &[1 << 62], 1);
            (product, too_big)
        });
        for (product, too_big) in results {
            assert_eq!(product.unwrap(), expected);
            assert!(too_big.is_err());
        }
    }
}
