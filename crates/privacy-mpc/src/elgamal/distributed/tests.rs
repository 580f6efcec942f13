//! Key generation and joint decryption among in-process sites, honest and cheating.

use std::sync::{Arc, OnceLock};

use privacy_core::{NullAuditSink, SecureRng};

use super::*;
use crate::elgamal::threshold::{Dealing, ThresholdPublicKey};
use crate::protocol::testing::run_parties;

fn table() -> &'static DiscreteLogTable {
    static TABLE: OnceLock<DiscreteLogTable> = OnceLock::new();
    TABLE.get_or_init(|| DiscreteLogTable::new(12).unwrap())
}

fn audit() -> AuditContext<'static> {
    AuditContext::new(&NullAuditSink, "site")
}

/// How site 1 (party 0) behaves in a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Site1 {
    Honest,
    /// Sends site 2 a wrong share and answers the complaint with the right one.
    BadShareGoodAnswer,
    /// Sends site 2 a wrong share and answers the complaint with the same wrong one.
    BadShareBadAnswer,
    /// Proves knowledge for another session (an invalid broadcast).
    BadProof,
}

fn keygen(params: ThresholdParams, seed: u64, site1: Site1) -> Vec<Result<KeyGeneration>> {
    run_parties(params.sites() as usize, seed, move |party, t, rng| {
        let session = b"tally-2026";
        if party != 0 || site1 == Site1::Honest {
            return generate_key(t, params, session, rng, &audit());
        }
        let (dealing, answers) = match site1 {
            Site1::BadProof => {
                let other = deal(params, 1, b"another session", rng).unwrap();
                let answers = other.shares.clone();
                (other, answers)
            }
            _ => {
                let honest = deal(params, 1, session, rng).unwrap();
                let mut shares = honest.shares.clone();
                shares[1] += Scalar::ONE;
                let answers = if site1 == Site1::BadShareGoodAnswer {
                    honest.shares.clone()
                } else {
                    shares.clone()
                };
                (Dealing { message: honest.message.clone(), shares }, answers)
            }
        };
        Keygen::complete(t, params, session, &dealing, &answers, &audit())
    })
}

/// Every site's share, checking each site disqualified exactly `disqualified`.
fn shares_of(results: Vec<Result<KeyGeneration>>, disqualified: &[u32]) -> Vec<KeyShare> {
    results
        .into_iter()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.disqualified, disqualified);
            r.share
        })
        .collect()
}

fn joint_key(results: &[Result<KeyGeneration>]) -> ThresholdPublicKey {
    let first = results[0].as_ref().unwrap().share.public().clone();
    for r in results {
        assert_eq!(r.as_ref().unwrap().share.public(), &first, "sites disagree on the key");
    }
    first
}

/// Decrypts `values` (encrypted under the joint key) with the sites `chosen` (indices into
/// `shares`), each on its own in-process party.
fn decrypt_with(
    shares: Vec<KeyShare>,
    chosen: &[usize],
    values: &[i64],
    seed: u64,
) -> Vec<Result<Vec<i64>>> {
    let public = shares[0].public().clone();
    let mut rng = SecureRng::seeded_for_tests_only(seed);
    let ciphertexts: Arc<Vec<Ciphertext>> =
        Arc::new(values.iter().map(|v| public.joint().encrypt(*v, &mut rng)).collect());
    let mut shares: Vec<Option<KeyShare>> = shares.into_iter().map(Some).collect();
    let picked: Vec<KeyShare> = chosen.iter().map(|i| shares[*i].take().unwrap()).collect();
    let picked = std::sync::Mutex::new(picked.into_iter().map(Some).collect::<Vec<_>>());
    run_parties(chosen.len(), seed + 1, move |party, t, rng| {
        let share = picked.lock().unwrap()[party].take().unwrap();
        decrypt_jointly_values(t, &share, &ciphertexts, table(), (-(1 << 15), 16), rng, &audit())
    })
}

#[test]
fn honest_sites_agree_and_any_t_of_them_decrypt() {
    let params = ThresholdParams::new(3, 5).unwrap();
    let results = keygen(params, 1, Site1::Honest);
    joint_key(&results);
    let shares = shares_of(results, &[]);
    // Key shares survive their encoding (a site stores its share between the two phases).
    let shares: Vec<KeyShare> =
        shares.iter().map(|s| KeyShare::from_bytes(&s.to_bytes()).unwrap()).collect();
    let values = [120, -87, 0, 301];
    for r in decrypt_with(shares, &[4, 1, 2], &values, 2) {
        assert_eq!(r.unwrap(), values);
    }
}

#[test]
fn too_few_sites_cannot_decrypt() {
    let params = ThresholdParams::new(3, 4).unwrap();
    let shares: Vec<KeyShare> =
        keygen(params, 3, Site1::Honest).into_iter().map(|r| r.unwrap().share).collect();
    for r in decrypt_with(shares, &[0, 3], &[5], 4) {
        assert!(matches!(r, Err(MpcError::TooFewShares { given: 2, needed: 3 })), "{r:?}");
    }
}

#[test]
fn a_correctly_answered_complaint_keeps_the_dealer() {
    let params = ThresholdParams::new(2, 3).unwrap();
    let results = keygen(params, 5, Site1::BadShareGoodAnswer);
    joint_key(&results);
    let shares = shares_of(results, &[]);
    // Site 2, which received the bad share, decrypts with the revealed one.
    for r in decrypt_with(shares, &[1, 2], &[-3, 77], 6) {
        assert_eq!(r.unwrap(), vec![-3, 77]);
    }
}

#[test]
fn a_dealer_caught_cheating_is_disqualified_and_the_key_still_works() {
    let params = ThresholdParams::new(2, 4).unwrap();
    for (site1, seed) in [(Site1::BadShareBadAnswer, 7), (Site1::BadProof, 9)] {
        let results = keygen(params, seed, site1);
        joint_key(&results);
        let shares = shares_of(results, &[1]);
        for r in decrypt_with(shares, &[0, 1, 3], &[1000, -1000], seed + 1) {
            assert_eq!(r.unwrap(), vec![1000, -1000]);
        }
    }
}

#[test]
fn more_than_t_minus_one_cheats_stop_key_generation() {
    // With t = 1 no site may cheat (t − 1 = 0): the run refuses to finish with n − 1 dealers.
    let params = ThresholdParams::new(1, 3).unwrap();
    for r in keygen(params, 11, Site1::BadShareBadAnswer) {
        assert!(matches!(r, Err(MpcError::InvalidParameter(_))));
    }
}

#[test]
fn equivocation_aborts_every_honest_site() {
    let params = ThresholdParams::new(2, 3).unwrap();
    let results = run_parties(3, 13, move |party, t, rng| {
        let session = b"s";
        if party != 2 {
            return generate_key(t, params, session, rng, &audit()).map(|_| ());
        }
        // Site 3 deals twice and shows each honest site a different, valid dealing.
        let (a, b) =
            (deal(params, 3, session, rng).unwrap(), deal(params, 3, session, rng).unwrap());
        let header = agreement(params, session);
        let messages = vec![
            deal_message(&header, &a.message.to_bytes(), &a.shares[0]),
            deal_message(&header, &b.message.to_bytes(), &b.shares[1]),
            Vec::new(),
        ];
        exchange_round(t, &messages)?;
        broadcast_round(t, &[VERSION, COMPLAIN])?;
        Ok(())
    });
    for r in &results[..2] {
        assert!(matches!(r, Err(MpcError::ProtocolMismatch(_))), "{r:?}");
    }
}

#[test]
fn a_site_sending_a_forged_decryption_share_is_refused() {
    let params = ThresholdParams::new(2, 3).unwrap();
    let shares: Vec<KeyShare> =
        keygen(params, 15, Site1::Honest).into_iter().map(|r| r.unwrap().share).collect();
    let public = shares[0].public().clone();
    let mut rng = SecureRng::seeded_for_tests_only(16);
    let ciphertexts = Arc::new(vec![public.joint().encrypt(42, &mut rng)]);
    let shares = std::sync::Mutex::new(shares.into_iter().map(Some).collect::<Vec<_>>());
    let results = run_parties(3, 17, move |party, t, rng| {
        let share = shares.lock().unwrap()[party].take().unwrap();
        if party == 2 {
            // A share for another ciphertext, sent under the right header: its proof fails.
            let other = share.public().joint().encrypt(1, rng);
            let forged = share.decryption_shares(&[other], rng, &audit()).unwrap();
            let key = share.public().to_bytes();
            let encoded = ciphertexts[0].to_bytes();
            let header = digest(
                b"medi-privacy/v1/threshold-decrypt/agreement",
                &[key.as_slice(), encoded.as_slice()],
            );
            let mut w = Writer::default();
            w.u8(VERSION).u8(SHARES).bytes(&header).u64(1);
            let bytes = forged[0].to_bytes();
            w.u16(bytes.len() as u16).bytes(&bytes);
            broadcast_round(t, &w.finish())?;
            return Ok(None);
        }
        decrypt_jointly(t, &share, &ciphertexts, rng, &audit()).map(Some)
    });
    for r in &results[..2] {
        let joint = r.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(joint.refused, vec![2]);
        assert_eq!(table().solve(&joint.points[0], 0, 8).unwrap(), 42);
    }
}

#[test]
fn sites_with_different_parameters_refuse_each_other() {
    let results = run_parties(2, 19, |party, t, rng| {
        let params = ThresholdParams::new(1 + party as u32, 2).unwrap();
        generate_key(t, params, b"s", rng, &audit()).map(|_| ())
    });
    assert!(results.iter().all(|r| matches!(r, Err(MpcError::ProtocolMismatch(_)))));
    let wrong = run_parties(2, 20, |_, t, rng| {
        let params = ThresholdParams::new(2, 3).unwrap();
        generate_key(t, params, b"s", rng, &audit()).map(|_| ())
    });
    assert!(wrong.iter().all(|r| matches!(r, Err(MpcError::InvalidInput(_)))));
}
