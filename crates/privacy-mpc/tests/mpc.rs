//! privacy-mpc end to end: protocols over the real TLS mesh on loopback, property tests of the
//! sharing schemes and protocols against plaintext computation, and negative vectors for every
//! parser of received bytes.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use curve25519_dalek::Scalar;
use privacy_core::{AuditEvent, AuditEventKind, AuditSink, CoreError, NullAuditSink, SecureRng};
use privacy_mpc::protocol::preprocessing::DealRequest;
use privacy_mpc::protocol::stats::{secure_mean, secure_sum, secure_total, secure_variance};
use privacy_mpc::protocol::{compare, RunContext, TrustedDealer};
use privacy_mpc::psi::{parse_hello, run_psi, PsiKey, PsiMode};
use privacy_mpc::ring::Ring;
use privacy_mpc::sharing::shamir::{recover_bytes, recover_scalar};
use privacy_mpc::sharing::{
    reconstruct_additive, share_additive, FeldmanCommitments, Shamir, ShamirShare,
};
use privacy_mpc::transport::memory::InProcessTransport;
use privacy_mpc::transport::rendezvous::{coordinate, join};
use privacy_mpc::transport::{InProcessNetwork, NetworkCa, TlsIdentity, TlsOptions, Transport};
use privacy_mpc::{MpcError, Z64};
use proptest::prelude::*;

/// Records events in memory.
#[derive(Default)]
struct MemorySink(Mutex<Vec<AuditEvent>>);

impl AuditSink for MemorySink {
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

fn run_parties<T: Send + 'static>(
    parties: usize,
    seed: u64,
    body: impl Fn(usize, &mut InProcessTransport, &mut SecureRng) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let body = Arc::new(body);
    let handles: Vec<_> = InProcessNetwork::transports(parties)
        .into_iter()
        .enumerate()
        .map(|(party, mut transport)| {
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let mut rng =
                    SecureRng::seeded_for_tests_only(seed.wrapping_mul(31) + party as u64);
                body(party, &mut transport, &mut rng)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn options() -> TlsOptions {
    TlsOptions { message_timeout: Duration::from_secs(30), setup_timeout: Duration::from_secs(20) }
}

fn loopback() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// Starts a site that joins `coordinator` and runs `body` on the mesh.
fn site<T: Send + 'static>(
    identity: TlsIdentity,
    coordinator: String,
    protocol: &'static str,
    body: impl FnOnce(&mut dyn Transport) -> T + Send + 'static,
) -> std::thread::JoinHandle<Result<T, MpcError>> {
    std::thread::spawn(move || {
        let (listener, addr) = loopback();
        let mut mesh = join(
            &coordinator,
            "coordinator",
            Some(&listener),
            &addr,
            &identity,
            protocol,
            &options(),
        )?;
        Ok(body(&mut mesh))
    })
}

#[test]
fn secure_total_and_psi_run_over_the_tls_mesh() {
    let ca = NetworkCa::generate("test network").unwrap();
    let (listener, addr) = loopback();
    let sites: Vec<_> = ["hospital-b", "hospital-a"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            site(ca.identity(name).unwrap(), addr.clone(), "secure-sum", move |t| {
                let mut rng = SecureRng::seeded_for_tests_only(100 + i as u64);
                let context = RunContext { audit: &NullAuditSink, principal: "site" };
                (t.party(), secure_total(t, &mut rng, &context, &[10 * (i as i128 + 1)]))
            })
        })
        .collect();
    let coordinator = ca.identity("coordinator").unwrap();
    let mut rng = SecureRng::seeded_for_tests_only(99);
    let mut mesh =
        coordinate(&listener, &coordinator, "secure-sum", 3, &options(), &mut rng).unwrap();
    let sink = MemorySink::default();
    let context = RunContext { audit: &sink, principal: "coordinator" };
    let total = secure_total(&mut mesh, &mut rng, &context, &[-5]);
    let sites: Vec<_> = sites.into_iter().map(|s| s.join().unwrap()).collect();
    assert_eq!(total.unwrap(), vec![25], "sites: {sites:?}");
    let mut numbers = Vec::new();
    for s in sites {
        let (party, total) = s.unwrap();
        let total = total.unwrap();
        assert_eq!(total, vec![25]);
        numbers.push(party);
    }
    // Sites are numbered by name: hospital-a is 1, hospital-b is 2.
    assert_eq!(numbers, vec![2, 1]);
    let events = sink.0.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditEventKind::ProtocolRun);
    assert_eq!(events[0].details["protocol"], "secure-sum");
    assert_eq!(events[0].details["parties"], 3);
    assert_eq!(events[0].details["outcome"], "completed");
    drop(events);

    let (listener, addr) = loopback();
    let peer = site(ca.identity("hospital-a").unwrap(), addr, "psi", |t| {
        let mut rng = SecureRng::seeded_for_tests_only(7);
        let ids: Vec<String> = ["p1", "p2", "p3"].iter().map(|s| (*s).to_owned()).collect();
        let context = RunContext { audit: &NullAuditSink, principal: "a" };
        run_psi(t, &mut rng, &context, &ids, PsiMode::Intersection).unwrap()
    });
    let mut mesh = coordinate(&listener, &coordinator, "psi", 2, &options(), &mut rng).unwrap();
    let ids: Vec<String> = ["P-3", "p4", "p1"].iter().map(|s| (*s).to_owned()).collect();
    let mine = run_psi(&mut mesh, &mut rng, &context, &ids, PsiMode::Intersection).unwrap();
    assert_eq!(mine.rows, Some(vec![0, 2]));
    assert_eq!(peer.join().unwrap().unwrap().rows, Some(vec![0, 2]));
}

#[test]
fn a_dealer_serves_its_group_and_refuses_a_site_claiming_another_seat() {
    use privacy_mpc::protocol::dealer::{fetch_stock, request_stock, serve_stock, StockRequest};
    use privacy_mpc::protocol::DealRequest;
    let ca = NetworkCa::generate("test network").unwrap();
    let (dealer_listener, dealer_addr) = loopback();
    let dealer_id = ca.identity("dealer").unwrap();
    let request = DealRequest { triples: 3, ..DealRequest::default() };
    let dealer = std::thread::spawn(move || {
        let mut rng = SecureRng::seeded_for_tests_only(40);
        let sink = MemorySink::default();
        let context = RunContext { audit: &sink, principal: "dealer" };
        let report = serve_stock(&dealer_listener, &dealer_id, 2, &options(), &mut rng, &context);
        let events = sink.0.lock().unwrap();
        (report, events[0].details["protocol"].clone())
    });
    // A site of the network claims hospital-a's seat of a made-up mesh: its certificate names
    // someone else, so the dealer refuses it and keeps waiting for the real group.
    let liar = ca.identity("hospital-x").unwrap();
    let fake = StockRequest {
        session: [1; 16],
        roster: vec!["hospital-a".into(), "hospital-x".into()],
        party: 0,
        ring: 2,
        request,
    };
    let refused = request_stock::<Scalar>(&dealer_addr, "dealer", &liar, &fake, &options());
    assert!(matches!(refused, Err(MpcError::Transport(_))), "{refused:?}");
    let (listener, addr) = loopback();
    let id_b = ca.identity("hospital-b").unwrap();
    let dealer_for_b = dealer_addr.clone();
    let b = std::thread::spawn(move || {
        let (own, own_addr) = loopback();
        let mesh = join(&addr, "coordinator", Some(&own), &own_addr, &id_b, "beaver", &options())?;
        fetch_stock::<Scalar>(&dealer_for_b, "dealer", &id_b, &mesh, request, &options())
            .map(|s| s.remaining())
    });
    let coordinator = ca.identity("coordinator").unwrap();
    let mut rng = SecureRng::seeded_for_tests_only(41);
    let mesh = coordinate(&listener, &coordinator, "beaver", 2, &options(), &mut rng).unwrap();
    let mine =
        fetch_stock::<Scalar>(&dealer_addr, "dealer", &coordinator, &mesh, request, &options())
            .unwrap();
    assert_eq!(mine.remaining(), request);
    assert_eq!(b.join().unwrap().unwrap(), request);
    let (report, protocol) = dealer.join().unwrap();
    let report = report.unwrap();
    assert_eq!(report.roster, vec!["coordinator".to_owned(), "hospital-b".to_owned()]);
    assert_eq!(report.refused, 1);
    assert_eq!(protocol, "preprocessing-dealer");
}

#[test]
fn a_site_from_another_network_or_under_another_name_is_refused() {
    let ca = NetworkCa::generate("network").unwrap();
    let stranger_ca = NetworkCa::generate("elsewhere").unwrap();
    let (listener, addr) = loopback();
    let fast = TlsOptions { setup_timeout: Duration::from_secs(3), ..options() };
    let coordinator = ca.identity("coordinator").unwrap();
    let server = std::thread::spawn(move || {
        let mut rng = SecureRng::seeded_for_tests_only(5);
        coordinate(&listener, &coordinator, "secure-sum", 2, &fast, &mut rng).map(|_| ())
    });
    // A certificate of another CA fails the handshake.
    let stranger = stranger_ca.identity("hospital-x").unwrap();
    let refused = join(&addr, "coordinator", None, "127.0.0.1:1", &stranger, "secure-sum", &fast);
    assert!(matches!(refused, Err(MpcError::Tls(_) | MpcError::Transport(_))));
    // A valid certificate of the network whose hello claims another name is refused too.
    let issued = ca.issue("hospital-y").unwrap();
    let liar =
        TlsIdentity::from_pem("hospital-z", &issued.cert_pem, &issued.key_pem, ca.cert_pem());
    let refused =
        join(&addr, "coordinator", None, "127.0.0.1:1", &liar.unwrap(), "secure-sum", &fast);
    assert!(refused.is_err());
    // Expecting the wrong coordinator name fails on the site's side.
    let honest = ca.identity("hospital-b").unwrap();
    let wrong = join(&addr, "someone-else", None, "127.0.0.1:1", &honest, "secure-sum", &fast);
    assert!(matches!(wrong, Err(MpcError::Tls(_))));
    // Nobody valid joined: the coordinator gives up with a typed error.
    assert!(matches!(server.join().unwrap(), Err(MpcError::Transport(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn any_t_of_n_shares_recover_and_fewer_fail(
        secret in proptest::collection::vec(any::<u8>(), 1..80),
        n in 1usize..10,
        t_seed in any::<usize>(),
        pick in any::<u64>(),
    ) {
        let t = 1 + t_seed % n;
        let mut rng = SecureRng::seeded_for_tests_only(pick);
        let shares = Shamir::new(t, n).unwrap().share_bytes(&secret, &mut rng).unwrap();
        // A pseudo-random subset of exactly t shares, in a scrambled order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|i| (pick.rotate_left(*i as u32 * 7) ^ *i as u64, *i));
        let subset: Vec<ShamirShare> = order[..t].iter().map(|i| shares[*i].clone()).collect();
        prop_assert_eq!(recover_bytes(&subset).unwrap().to_vec(), secret.clone());
        let bytes: Vec<ShamirShare> =
            subset.iter().map(|s| ShamirShare::from_bytes(&s.to_bytes()).unwrap()).collect();
        prop_assert_eq!(recover_bytes(&bytes).unwrap().to_vec(), secret.clone());
        let too_few = recover_bytes(&subset[..t - 1]);
        let refused = matches!(too_few, Err(MpcError::TooFewShares { .. }));
        prop_assert!(refused);
    }

    #[test]
    fn scalar_shares_verify_and_round_trip(v in any::<u64>(), n in 2usize..8, seed in any::<u64>()) {
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let scheme = Shamir::new(n / 2 + 1, n).unwrap();
        let (shares, commitments) = scheme.share_scalar_feldman(&Scalar::from(v), &mut rng);
        let commitments = FeldmanCommitments::from_bytes(&commitments.to_bytes()).unwrap();
        for share in &shares {
            commitments.verify(share).unwrap();
        }
        prop_assert_eq!(*recover_scalar(&shares[n - scheme.threshold()..]).unwrap(), Scalar::from(v));
        let additive = share_additive(Z64(v), n, &mut rng).unwrap();
        prop_assert_eq!(reconstruct_additive(&additive).unwrap(), Z64(v));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn sums_means_and_variances_equal_the_plaintext(
        data in proptest::collection::vec(
            proptest::collection::vec(-1_000_000i64..1_000_000, 0..6), 2..5),
        seed in any::<u64>(),
    ) {
        let parties = data.len();
        let all: Vec<i128> = data.iter().flatten().map(|v| i128::from(*v)).collect();
        let (n, s) = (all.len() as i128, all.iter().sum::<i128>());
        let q: i128 = all.iter().map(|v| v * v).sum();
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let request = DealRequest { triples: 1, ..DealRequest::default() };
        let stocks = TrustedDealer::new(parties).unwrap().deal::<Scalar>(request, &mut rng);
        let stocks = Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let data = Arc::new(data);
        let results = run_parties(parties, seed, move |p, t, rng| {
            let context = RunContext { audit: &NullAuditSink, principal: "p" };
            let mine = &data[p];
            let local: i128 = mine.iter().map(|v| i128::from(*v)).sum();
            let ring = mine.iter().fold(Z64(0), |acc, v| acc + Z64::from_i128(i128::from(*v)));
            let sum = secure_sum(t, rng, &context, &[ring]).unwrap()[0];
            let mean = secure_mean(t, rng, &context, local, mine.len() as u64).unwrap();
            let mut stock = stocks.lock().unwrap()[p].take().unwrap();
            let variance = secure_variance(t, rng, &mut stock, &context, mine).unwrap();
            (sum, mean, variance)
        });
        for (sum, mean, variance) in results {
            prop_assert_eq!(sum.to_i128(), Some(s));
            prop_assert_eq!((mean.total, i128::from(mean.count)), (s, n));
            prop_assert_eq!(variance.scaled, n * q - s * s);
        }
    }

    #[test]
    fn comparisons_and_psi_equal_the_plaintext(
        pairs in proptest::collection::vec(
            (-(1i64 << 62) + 1..(1i64 << 62), -(1i64 << 62) + 1..(1i64 << 62)), 1..6),
        a in proptest::collection::btree_set(0u8..40, 0..12),
        b in proptest::collection::btree_set(0u8..40, 0..12),
        seed in any::<u64>(),
    ) {
        let count = pairs.len();
        let expected: Vec<bool> = pairs.iter().map(|(x, y)| x < y).collect();
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let request = DealRequest { bit_triples: 12 * count, edabits: count, ..DealRequest::default() };
        let stocks = TrustedDealer::new(2).unwrap().deal::<Z64>(request, &mut rng);
        let stocks = Mutex::new(stocks.into_iter().map(Some).collect::<Vec<_>>());
        let sets = [a.clone(), b.clone()];
        let results = run_parties(2, seed, move |p, t, rng| {
            let context = RunContext { audit: &NullAuditSink, principal: "p" };
            let mine: Vec<i64> = pairs.iter().map(|(x, y)| if p == 0 { *x } else { *y }).collect();
            let mut stock = stocks.lock().unwrap()[p].take().unwrap();
            let less =
                compare::secure_less_than(t, rng, &mut stock, &context, (0, 1), &mine, count).unwrap();
            let ids: Vec<String> = sets[p].iter().map(|v| format!("id-{v}")).collect();
            let psi = run_psi(t, rng, &context, &ids, PsiMode::Cardinality).unwrap();
            (less, psi.cardinality)
        });
        let common = a.intersection(&b).count();
        for (less, cardinality) in results {
            prop_assert_eq!(&less, &expected);
            prop_assert_eq!(cardinality, common);
        }
    }
}

/// The variant name of an error, as the vectors file spells it.
fn variant(error: &MpcError) -> String {
    let debug = format!("{error:?}");
    debug.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default().to_owned()
}

fn decode_as(kind: &str, bytes: &[u8]) -> Result<(), MpcError> {
    match kind {
        "RistrettoPointDecode" => {
            let key = PsiKey::random(&mut SecureRng::seeded_for_tests_only(1));
            let point: [u8; 32] = bytes.try_into().unwrap();
            let psi = key.reblind(&[point]).map(|_| ());
            // The point as the top coefficient's commitment, after the basepoint (the identity
            // is allowed only as C_0, a secret of 0).
            let mut commitment = vec![1u8];
            commitment.extend_from_slice(&2u64.to_le_bytes());
            commitment.extend_from_slice(
                curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.as_bytes(),
            );
            commitment.extend_from_slice(bytes);
            let feldman = FeldmanCommitments::from_bytes(&commitment).map(|_| ());
            let name = |r: &Result<(), MpcError>| r.as_ref().err().map(variant);
            assert_eq!(name(&psi), name(&feldman), "parsers disagree");
            psi
        }
        "ScalarDecode" => Scalar::decode(bytes).map(|_| ()),
        "ShamirShareDecode" => ShamirShare::from_bytes(bytes).map(|_| ()),
        "FeldmanCommitmentsDecode" => FeldmanCommitments::from_bytes(bytes).map(|_| ()),
        "PsiHelloDecode" => parse_hello(bytes, PsiMode::Intersection).map(|_| ()),
        other => panic!("unknown test group {other}"),
    }
}

#[test]
fn negative_vectors_are_refused_with_the_named_error() {
    let text = include_str!("vectors/negative.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut checked = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let kind = group["type"].as_str().unwrap();
        for case in group["tests"].as_array().unwrap() {
            let input = hex::decode(case["input"].as_str().unwrap()).unwrap();
            let error = decode_as(kind, &input).expect_err(&format!("accepted {case}"));
            assert_eq!(variant(&error), case["error"].as_str().unwrap(), "{case}");
            checked += 1;
        }
    }
    assert_eq!(checked, doc["numberOfTests"].as_u64().unwrap());
}

/// Checks one case of `tests/vectors/generated.json`.
fn check_generated(kind: &str, case: &serde_json::Value) -> Result<(), MpcError> {
    use privacy_mpc::elgamal::threshold::{
        DealerMessage, DecryptionShare, KeyShare, ThresholdPublicKey,
    };
    use privacy_mpc::pprl::{EncodingFile, LinkageSchema};
    use privacy_mpc::protocol::dealer::StockRequest;
    use privacy_mpc::protocol::DealerStock;
    use privacy_mpc::sharing::{AdditiveShare, PedersenCommitments};
    use privacy_mpc::zkp::norm::commitments_from_bytes;
    use privacy_mpc::zkp::{
        BoundedNormProof, ChaumPedersenProof, DlogEquality, NormBound, RangeProof, SchnorrProof,
    };
    use privacy_mpc::{Commitment, PedersenGenerators};
    let field = |name: &str| hex::decode(case[name].as_str().unwrap()).unwrap();
    let point = |name: &str| privacy_mpc::group::decode_point(&field(name), "vector").unwrap();
    let bytes = || field("input");
    let text = || case["text"].as_str().unwrap().to_owned();
    let mut rng = SecureRng::seeded_for_tests_only(77);
    let gens = PedersenGenerators::standard();
    match kind {
        "AdditiveShareZ64" => AdditiveShare::<Z64>::from_bytes(&bytes()).map(drop),
        "AdditiveShareScalar" => AdditiveShare::<Scalar>::from_bytes(&bytes()).map(drop),
        "PedersenCommitments" => PedersenCommitments::from_bytes(&bytes()).map(drop),
        "ProtocolMessageZ64"
        | "ProtocolMessageScalar"
        | "MeshHello"
        | "JoinRequest"
        | "Roster"
        | "PsiChunk" => privacy_mpc::fuzzing::decode(kind, &bytes()),
        "DealerStockScalar" => {
            DealerStock::<Scalar>::from_bytes(&bytes(), privacy_mpc::fuzzing::fuzz_binding(1))
                .map(drop)
        }
        "StockRequest" => StockRequest::from_bytes(&bytes()).map(drop),
        "ThresholdDealerMessage" => DealerMessage::from_bytes(&bytes()).map(drop),
        "ThresholdDecryptionShare" => DecryptionShare::from_bytes(&bytes()).map(drop),
        "ThresholdPublicKey" => ThresholdPublicKey::from_bytes(&bytes()).map(drop),
        "ThresholdKeyShare" => KeyShare::from_bytes(&bytes()).map(drop),
        "CommitmentVector" => commitments_from_bytes(&bytes()).map(drop),
        "BoundedNormDecode" => BoundedNormProof::from_bytes(&bytes()).map(drop),
        "LinkageSchema" => LinkageSchema::from_json(&text()).map(drop),
        "EncodingFile" => EncodingFile::from_json(&text()).map(drop),
        "BoundedNormVerify" => {
            let statement = &case["statement"];
            let bound = match statement["norm"].as_str().unwrap() {
                "l2" => NormBound::L2 {
                    coordinate_bits: statement["coordinateBits"].as_u64().unwrap() as u32,
                    squared_norm: statement["squaredNorm"].as_u64().unwrap(),
                },
                _ => NormBound::LInf { max_abs: statement["maxAbs"].as_u64().unwrap() },
            };
            let commitments = commitments_from_bytes(&field("commitments"))?;
            let proof = BoundedNormProof::from_bytes(&field("proof"))?;
            proof.verify(&field("context"), &gens, &bound, &commitments, &mut rng)
        }
        "SchnorrVerify" => SchnorrProof::from_bytes(&field("proof"))?.verify(
            &field("context"),
            &point("base"),
            &point("public"),
        ),
        "ChaumPedersenVerify" => {
            let statement =
                DlogEquality { g: point("g"), a: point("a"), h: point("h"), b: point("b") };
            ChaumPedersenProof::from_bytes(&field("proof"))?.verify(&field("context"), &statement)
        }
        "RangeVerify" => {
            let commitments = case["commitments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Commitment::from_bytes(&hex::decode(c.as_str().unwrap()).unwrap()))
                .collect::<Result<Vec<_>, _>>()?;
            let bits = case["bits"].as_u64().unwrap() as u32;
            RangeProof::from_bytes(&field("proof"))?.verify(
                &field("context"),
                &gens,
                &commitments,
                bits,
                &mut rng,
            )
        }
        other => panic!("unknown test group {other}"),
    }
}

#[test]
fn generated_vectors_give_their_named_results() {
    let text = include_str!("vectors/generated.json");
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut checked = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let kind = group["type"].as_str().unwrap();
        for case in group["tests"].as_array().unwrap() {
            let outcome = check_generated(kind, case);
            match case["error"].as_str() {
                None => assert!(outcome.is_ok(), "{kind} {}: {outcome:?}", case["comment"]),
                Some(expected) => {
                    let error = outcome.expect_err(&format!("{kind} accepted {}", case["comment"]));
                    assert_eq!(variant(&error), expected, "{kind} {}", case["comment"]);
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, doc["numberOfTests"].as_u64().unwrap());
    assert!(checked >= 120, "only {checked} vectors");
}
