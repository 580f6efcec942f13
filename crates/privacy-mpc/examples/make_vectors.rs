//! Writes `tests/vectors/generated.json`, negative (and a few positive) vectors in the style of
//! Project Wycheproof for the parsers and verifiers of `privacy-mpc` that have no hand-written
//! vectors, and seed inputs for the fuzz targets `mpc_threshold` and `mpc_norm_proof`.
//!
//! Run from the repository root: `cargo run -p privacy-mpc --example make_vectors`. The
//! randomness is seeded, so the output only changes when the cases or the formats do. Every
//! case names the result it must give (`valid`, or the `MpcError` variant); the test
//! `generated_vectors_give_their_named_results` in `tests/mpc.rs` checks them. Proof vectors
//! carry their statement, so they test verification (a rejected proof), not only decoding.

#![allow(clippy::unwrap_used)] // A generator: any failure is a bug to see at once.
#![allow(clippy::print_stdout)] // It reports what it wrote.

use std::path::Path;

use curve25519_dalek::constants::{RISTRETTO_BASEPOINT_COMPRESSED, RISTRETTO_BASEPOINT_POINT};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::Scalar;
use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::threshold::{deal, finish_keygen, Dealing, ThresholdParams};
use privacy_mpc::group::hash_to_group;
use privacy_mpc::protocol::dealer::StockRequest;
use privacy_mpc::protocol::{DealRequest, TrustedDealer};
use privacy_mpc::sharing::{share_additive, Shamir};
use privacy_mpc::wire::{ObjectType, WireWriter};
use privacy_mpc::zkp::transcript::{transcript, TranscriptExt};
use privacy_mpc::zkp::SchnorrProof;
use privacy_mpc::zkp::{ChaumPedersenProof, CommittedVector, DlogEquality, NormBound, RangeProof};
use privacy_mpc::{PedersenGenerators, Z64};
use serde_json::{json, Value};

/// ℓ, the group order, little-endian: a non-canonical scalar.
const ORDER: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
/// 2^255 − 1: a non-canonical field element, so a non-canonical point.
const BAD_POINT: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";

struct Groups {
    groups: Vec<Value>,
    count: u64,
}

impl Groups {
    fn group(&mut self, kind: &str, notes: &str, cases: Vec<(Value, &str, Option<&str>)>) {
        let tests: Vec<Value> = cases
            .into_iter()
            .map(|(mut case, comment, error)| {
                self.count += 1;
                case["tcId"] = json!(self.count);
                case["comment"] = json!(comment);
                case["result"] = json!(if error.is_some() { "invalid" } else { "valid" });
                if let Some(error) = error {
                    case["error"] = json!(error);
                }
                case
            })
            .collect();
        self.groups.push(json!({ "type": kind, "notes": notes, "tests": tests }));
    }
}

fn input(bytes: &[u8]) -> Value {
    json!({ "input": hex::encode(bytes) })
}

fn text(value: &str) -> Value {
    json!({ "text": value })
}

fn with(bytes: &[u8], at: usize, replacement: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + replacement.len()].copy_from_slice(replacement);
    out
}

fn appended(bytes: &[u8], extra: &[u8]) -> Vec<u8> {
    [bytes, extra].concat()
}

fn main() {
    let mut rng = SecureRng::seeded_for_tests_only(20261204);
    let mut g = Groups { groups: Vec::new(), count: 0 };
    shares(&mut g, &mut rng);
    messages(&mut g);
    preprocessing(&mut g, &mut rng);
    threshold(&mut g, &mut rng);
    norm(&mut g, &mut rng);
    linkage(&mut g);
    schnorr(&mut g, &mut rng);
    chaum_pedersen(&mut g, &mut rng);
    range(&mut g, &mut rng);
    let doc = json!({
        "algorithm": "privacy-mpc parsers and verifiers",
        "generator": "cargo run -p privacy-mpc --example make_vectors",
        "schema": "Wycheproof-style vectors: each case gives `valid` or the named MpcError variant",
        "numberOfTests": g.count,
        "testGroups": g.groups,
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tests/vectors/generated.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    println!("wrote {} vectors to {}", g.count, path.display());
}

fn shares(g: &mut Groups, rng: &mut SecureRng) {
    let z64 = share_additive(Z64(42), 3, rng).unwrap()[1].to_bytes();
    g.group(
        "AdditiveShareZ64",
        "version, kind, dealing (16), index and parties (u16 LE), value (8 bytes LE)",
        vec![
            (input(&z64), "share 1 of 3", None),
            (input(&with(&z64, 0, &[2])), "unknown version", Some("UnsupportedVersion")),
            (input(&with(&z64, 1, &[2])), "a scalar share's kind", Some("Malformed")),
            (
                input(&with(&z64, 18, &[3, 0])),
                "index equal to the party count",
                Some("InvalidShareId"),
            ),
            (input(&with(&z64, 20, &[1, 0])), "one party", Some("InvalidShareId")),
            (input(&appended(&z64, &[0])), "trailing byte", Some("Malformed")),
            (input(&z64[..z64.len() - 1]), "truncated value", Some("Malformed")),
        ],
    );
    let scalar = share_additive(Scalar::from(42u8), 2, rng).unwrap()[0].to_bytes();
    g.group(
        "AdditiveShareScalar",
        "as AdditiveShareZ64 with a 32-byte canonical scalar",
        vec![
            (input(&scalar), "share 0 of 2", None),
            (
                input(&with(&scalar, 22, &hex::decode(ORDER).unwrap())),
                "value = l",
                Some("NonCanonical"),
            ),
            (input(&with(&scalar, 1, &[1])), "a z2^64 share's kind", Some("Malformed")),
        ],
    );
    let (_, commitments) =
        Shamir::new(3, 5).unwrap().share_scalar_pedersen(&Scalar::from(7u8), rng);
    let bytes = commitments.to_bytes();
    g.group(
        "PedersenCommitments",
        "version, count (u64 LE), 32-byte commitments; the identity is refused everywhere",
        vec![
            (input(&bytes), "three commitments", None),
            (input(&with(&bytes, 9, &[0; 32])), "identity C_0", Some("OutOfRange")),
            (
                input(&with(&bytes, 9 + 64, &hex::decode(BAD_POINT).unwrap())),
                "non-canonical C_2",
                Some("NonCanonical"),
            ),
            (input(&with(&bytes, 1, &[0])), "count 0", Some("Malformed")),
            (input(&with(&bytes, 1, &[4])), "count beyond the data", Some("Malformed")),
            (input(&with(&bytes, 0, &[9])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
}

fn protocol_message(step: u8, elements: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![1, step];
    out.extend((elements.len() as u64).to_le_bytes());
    elements.iter().for_each(|e| out.extend_from_slice(e));
    out
}

fn messages(g: &mut Groups) {
    let z = protocol_message(2, &[&7u64.to_le_bytes(), &9u64.to_le_bytes()]);
    g.group(
        "ProtocolMessageZ64",
        "version, step, count (u64 LE), elements; count must match the data",
        vec![
            (input(&z), "two elements of an opening", None),
            (input(&with(&z, 0, &[2])), "unknown version", Some("UnsupportedVersion")),
            (input(&with(&z, 2, &[3])), "count beyond the data", Some("Malformed")),
            (
                input(&appended(&z, &[1, 2, 3])),
                "a partial element after the last",
                Some("Malformed"),
            ),
            (input(&[]), "empty", Some("Malformed")),
        ],
    );
    let one = Scalar::ONE.to_bytes();
    let s = protocol_message(1, &[&one]);
    g.group(
        "ProtocolMessageScalar",
        "as ProtocolMessageZ64 with canonical 32-byte scalars",
        vec![
            (input(&s), "one input share", None),
            (
                input(&with(&s, 10, &hex::decode(ORDER).unwrap())),
                "element = l",
                Some("NonCanonical"),
            ),
        ],
    );
    let mut hello = b"mpc-mesh".to_vec();
    hello.push(1);
    hello.extend([5u8; 16]);
    hello.extend([3, 0, 2, 0, 1, 0]);
    g.group(
        "MeshHello",
        "magic 'mpc-mesh', version, session (16), parties, from, to (u16 LE)",
        vec![
            (input(&hello), "party 2 to party 1 of 3", None),
            (input(&with(&hello, 0, b"x")), "bad magic", Some("Malformed")),
            (input(&with(&hello, 8, &[2])), "unknown version", Some("UnsupportedVersion")),
            (input(&hello[..30]), "truncated", Some("Malformed")),
            (input(&appended(&hello, &[0])), "trailing byte", Some("Malformed")),
        ],
    );
    let text_field = |t: &[u8]| [&[t.len() as u8][..], t].concat();
    let join = [
        &b"mpc-join"[..],
        &[1],
        &text_field(b"secure-sum"),
        &text_field(b"hospital-a"),
        &text_field(b"10.0.0.1:7500"),
    ]
    .concat();
    g.group(
        "JoinRequest",
        "magic 'mpc-join', version, protocol, name, address (u8 length, UTF-8)",
        vec![
            (input(&join), "hospital-a joins a secure sum", None),
            (input(&with(&join, 21, &[0xff])), "a name that is not UTF-8", Some("Malformed")),
            (input(&with(&join, 9, &[200])), "a length past the end", Some("Malformed")),
            (input(&with(&join, 8, &[0])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
    let mut roster = b"mpc-rost".to_vec();
    roster.push(1);
    roster.extend([6u8; 16]);
    roster.extend([1, 0, 2, 0]);
    roster.extend(text_field(b"coordinator"));
    roster.extend(text_field(b""));
    roster.extend(text_field(b"hospital-a"));
    roster.extend(text_field(b"10.0.0.1:7501"));
    g.group(
        "Roster",
        "magic 'mpc-rost', version, session, you, count (u16 LE), (name, address) per party",
        vec![
            (input(&roster), "party 1 of 2", None),
            (input(&with(&roster, 25, &[0])), "you = 0 (the coordinator)", Some("Malformed")),
            (input(&with(&roster, 25, &[2])), "you beyond the roster", Some("Malformed")),
            (input(&with(&roster, 27, &[1])), "a roster of one", Some("Malformed")),
            (input(&with(&roster, 8, &[3])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
    let mut chunk = vec![1u8, 0x50];
    chunk.extend(0u32.to_le_bytes());
    chunk.extend(1u64.to_le_bytes());
    chunk.extend(RISTRETTO_BASEPOINT_COMPRESSED.as_bytes());
    g.group(
        "PsiChunk",
        "version, tag 0x50, chunk index (u32 LE, here 0), count (u64 LE), 32-byte points",
        vec![
            (input(&chunk), "chunk 0 with one point", None),
            (input(&with(&chunk, 0, &[2])), "unknown version", Some("UnsupportedVersion")),
            (input(&with(&chunk, 1, &[0x51])), "another tag", Some("Malformed")),
            (input(&with(&chunk, 2, &[1])), "chunk 1 where 0 is due", Some("Malformed")),
            (input(&with(&chunk, 6, &[2])), "count beyond the data", Some("Malformed")),
        ],
    );
}

fn preprocessing(g: &mut Groups, rng: &mut SecureRng) {
    let request = DealRequest { triples: 2, bit_triples: 1, edabits: 1, dabits: 1 };
    let stocks = TrustedDealer::new(2).unwrap().deal::<Scalar>(request, rng);
    let seat = privacy_mpc::fuzzing::fuzz_binding(1);
    let stock = stocks[1].to_bytes(seat).to_vec();
    g.group(
        "DealerStockScalar",
        "decoded for session 07..07, party 1 of 2: magic, version, ring, binding, counts, items",
        vec![
            (input(&stock), "two triples and one of each bit item", None),
            (input(&with(&stock, 26, &[0])), "dealt for party 0", Some("ProtocolMismatch")),
            (input(&with(&stock, 10, &[8])), "dealt for another session", Some("ProtocolMismatch")),
            (input(&with(&stock, 9, &[1])), "a z2^64 stock", Some("ProtocolMismatch")),
            (
                input(&with(&stock, 30, &[3])),
                "three triples declared, two present",
                Some("Malformed"),
            ),
            (
                input(&with(&stock, 62, &hex::decode(ORDER).unwrap())),
                "a triple element = l",
                Some("NonCanonical"),
            ),
            (input(&with(&stock, 8, &[2])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
    let ask = StockRequest {
        session: [4; 16],
        roster: vec!["hospital-a".into(), "hospital-b".into()],
        party: 1,
        ring: 2,
        request: DealRequest { triples: 10, ..DealRequest::default() },
    };
    let bytes = ask.to_bytes();
    let huge = StockRequest {
        request: DealRequest { triples: 1 << 30, ..DealRequest::default() },
        ..ask.clone()
    };
    let bad_name = StockRequest { roster: vec!["hospital a".into(), "b".into()], ..ask.clone() };
    g.group(
        "StockRequest",
        "magic 'mpc-preq', version, ring, session, party, roster, four counts (u64 LE)",
        vec![
            (input(&bytes), "ten scalar triples for party 1", None),
            (input(&with(&bytes, 9, &[9])), "unknown ring", Some("Malformed")),
            (input(&with(&bytes, 26, &[2])), "party beyond the roster", Some("Malformed")),
            (input(&huge.to_bytes()), "a stock larger than one message", Some("InvalidInput")),
            (input(&bad_name.to_bytes()), "a party name that is no DNS name", Some("InvalidInput")),
            (input(&with(&bytes, 8, &[0])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
}

fn threshold(g: &mut Groups, rng: &mut SecureRng) {
    let params = ThresholdParams::new(2, 3).unwrap();
    let dealings: Vec<Dealing> =
        (1..=3).map(|i| deal(params, i, b"vectors", rng).unwrap()).collect();
    let messages: Vec<_> = dealings.iter().map(|d| d.message.clone()).collect();
    let sink = NullAuditSink;
    let audit = AuditContext::new(&sink, "vectors");
    let sites: Vec<_> = (1..=3u32)
        .map(|j| {
            let shares: Vec<Scalar> = dealings.iter().map(|d| d.shares[j as usize - 1]).collect();
            finish_keygen(params, j, b"vectors", &messages, &shares, &audit).unwrap()
        })
        .collect();
    let message = messages[0].to_bytes();
    // Header 5, sender field 4 + 4, commitments field length at 13, points from 17.
    let schnorr =
        SchnorrProof::prove(b"x", &RISTRETTO_BASEPOINT_POINT, &Scalar::ONE, rng).to_bytes();
    let other_proof =
        [&message[..17 + 64], &(schnorr.len() as u32).to_be_bytes(), &schnorr].concat();
    g.group(
        "ThresholdDealerMessage",
        "wire object 16: sender (u32 BE), t commitments, Schnorr proof; its validity for a key generation is checked later",
        vec![
            (input(&message), "site 1's broadcast, t = 2", None),
            (input(&with(&message, 9, &0u32.to_be_bytes())), "sender 0", Some("InvalidShareId")),
            (input(&with(&message, 17, &hex::decode(BAD_POINT).unwrap())), "non-canonical A_0", Some("NonCanonical")),
            (input(&with(&message, 13, &63u32.to_be_bytes())), "commitments not a multiple of 32 bytes", Some("Malformed")),
            (input(&with(&message, 4, &[17])), "a decryption share's tag", Some("WrongObjectType")),
            (input(&other_proof), "a proof of another statement still decodes (verify_message refuses it)", None),
        ],
    );
    let joint = sites[0].public().clone();
    let c = joint.joint().encrypt(5, rng);
    let share = sites[1].decryption_share(&c, rng, &audit).unwrap().to_bytes();
    g.group(
        "ThresholdDecryptionShare",
        "wire object 17: index (u32 BE), D = x_j·c1, Chaum–Pedersen proof",
        vec![
            (input(&share), "site 2's share", None),
            (input(&with(&share, 9, &0u32.to_be_bytes())), "index 0", Some("InvalidShareId")),
            (input(&with(&share, 9, &1001u32.to_be_bytes())), "index 1001", Some("InvalidShareId")),
            (
                input(&with(&share, 17, &hex::decode(BAD_POINT).unwrap())),
                "non-canonical D",
                Some("NonCanonical"),
            ),
            (input(&with(&share, 3, &[2])), "unknown version", Some("UnsupportedVersion")),
        ],
    );
    let public = joint.to_bytes();
    // Fields: threshold (4 + 8) at 5, sites at 17, session (4 + 7) at 29, joint (4 + 32) at
    // 40, keys (4 + 96) at 76.
    let last = public.len() - 32;
    let moved = with(&public, last, RISTRETTO_BASEPOINT_COMPRESSED.as_bytes());
    g.group(
        "ThresholdPublicKey",
        "wire object 19: t, n (u64 BE), session, joint key, n verification keys on one polynomial of degree < t",
        vec![
            (input(&public), "a 2-of-3 key", None),
            (input(&moved), "Y_3 moved off the polynomial", Some("InvalidKey")),
            (input(&with(&public, 9, &4u64.to_be_bytes())), "t = 4 > n", Some("InvalidParameter")),
            (input(&with(&public, 44, &[0; 32])), "identity joint key", Some("OutOfRange")),
            (input(&with(&public, 76, &64u32.to_be_bytes())[..public.len() - 32]), "two verification keys for three sites", Some("Malformed")),
        ],
    );
    let key = sites[2].to_bytes().to_vec();
    let other_secret = sites[0].to_bytes()[17..49].to_vec();
    g.group(
        "ThresholdKeyShare",
        "wire object 18: index, secret share, public key; the secret must match the index's verification key",
        vec![
            (input(&key), "site 3's share", None),
            (input(&with(&key, 17, &other_secret)), "site 1's secret under index 3", Some("InvalidKey")),
            (input(&with(&key, 9, &4u32.to_be_bytes())), "index 4 of 3", Some("InvalidShareId")),
            (input(&with(&key, 17, &hex::decode(ORDER).unwrap())), "secret = l", Some("NonCanonical")),
        ],
    );
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/mpc_threshold");
    std::fs::create_dir_all(&seeds).unwrap();
    for (name, bytes) in [
        ("dealer_message", &message),
        ("decryption_share", &share),
        ("public_key", &public),
        ("key_share", &key),
    ] {
        std::fs::write(seeds.join(name), bytes).unwrap();
    }
}

fn norm(g: &mut Groups, rng: &mut SecureRng) {
    let gens = PedersenGenerators::standard();
    let vector = CommittedVector::commit(&gens, &[300, -4, 0], rng).unwrap();
    let l2 = NormBound::L2 { coordinate_bits: 16, squared_norm: 90_016 };
    let proof = vector.prove(b"fl-round-1", &gens, &l2, rng).unwrap().to_bytes();
    let linf = NormBound::LInf { max_abs: 300 };
    let linf_proof = vector.prove(b"fl-round-1", &gens, &linf, rng).unwrap().to_bytes();
    let commitments = vector.commitments_to_bytes();
    // Header 5, name (4 + 12) at 5, statement (4 + 15) at 21: kind 25, bits 26, bound 27..35,
    // dimension 35..39, chunk bits 39; squares (4 + 96) at 40, so Q_0 at 44.
    let q0 = CompressedRistretto::from_slice(&proof[44..76]).unwrap().decompress().unwrap();
    let forged = (q0 - RISTRETTO_BASEPOINT_POINT * Scalar::from(90_000u64)).compress();
    let statement = |bound: &NormBound| match bound {
        NormBound::L2 { coordinate_bits, squared_norm } => {
            json!({ "norm": "l2", "coordinateBits": coordinate_bits, "squaredNorm": squared_norm })
        }
        NormBound::LInf { max_abs } => json!({ "norm": "linf", "maxAbs": max_abs }),
    };
    let case = |context: &[u8], bound: &NormBound, commitments: &[u8], proof: &[u8]| json!({ "context": hex::encode(context), "statement": statement(bound), "commitments": hex::encode(commitments), "proof": hex::encode(proof) });
    let tight = NormBound::L2 { coordinate_bits: 16, squared_norm: 90_015 };
    let reordered = {
        let mut list: Vec<Vec<u8>> = commitments[9..].chunks(32).map(<[u8]>::to_vec).collect();
        list.swap(0, 1);
        [&commitments[..9], &list.concat()].concat()
    };
    g.group(
        "BoundedNormVerify",
        "commitments (wire object 20) and a proof (wire object 8, 'bounded-norm') verified for the statement; the vector is (300, -4, 0)",
        vec![
            (case(b"fl-round-1", &l2, &commitments, &proof), "||v||^2 = 90016 <= 90016", None),
            (case(b"fl-round-1", &tight, &commitments, &proof), "the server enforces 90015", Some("ProofRejected")),
            (case(b"fl-round-1", &tight, &commitments, &with(&proof, 27, &90_015u64.to_be_bytes())), "the proof's header edited to claim 90015", Some("ProofRejected")),
            (case(b"fl-round-2", &l2, &commitments, &proof), "another round's context", Some("ProofRejected")),
            (case(b"fl-round-1", &l2, &reordered, &proof), "commitments reordered", Some("ProofRejected")),
            (case(b"fl-round-1", &l2, &commitments, &with(&proof, 44, forged.as_bytes())), "Q_0 commits to 300^2 - 90000 (a false square)", Some("ProofRejected")),
            (case(b"fl-round-1", &linf, &commitments, &linf_proof), "||v||_inf = 300 <= 300", None),
            (case(b"fl-round-1", &NormBound::LInf { max_abs: 299 }, &commitments, &linf_proof), "the server enforces 299", Some("ProofRejected")),
        ],
    );
    g.group(
        "BoundedNormDecode",
        "the proof's strict decoder alone",
        vec![
            (input(&with(&proof, 25, &[3])), "unknown statement kind", Some("Malformed")),
            (input(&with(&proof, 26, &[12])), "12-bit coordinates", Some("InvalidParameter")),
            (
                input(&with(&proof, 35, &0u32.to_be_bytes())),
                "dimension 0",
                Some("InvalidParameter"),
            ),
            (
                input(&with(&proof, 35, &4u32.to_be_bytes())),
                "dimension 4 with three squares",
                Some("Malformed"),
            ),
            (input(&with(&proof, 39, &[11])), "chunks of 2^11", Some("Malformed")),
            (
                input(&with(&proof, 44, &hex::decode(BAD_POINT).unwrap())),
                "non-canonical Q_0",
                Some("NonCanonical"),
            ),
            (input(&appended(&proof, &[0])), "trailing byte", Some("Malformed")),
            (
                input(&with(&linf_proof, 25, &[1])),
                "an l-infinity proof relabelled l2",
                Some("InvalidParameter"),
            ),
        ],
    );
    g.group(
        "CommitmentVector",
        "wire object 20: one field of 32-byte canonical commitments",
        vec![
            (input(&commitments), "three commitments", None),
            (
                input(&WireWriter::new(ObjectType::CommitmentVector).field(&[]).finish()),
                "no commitment",
                Some("Malformed"),
            ),
            (
                input(&WireWriter::new(ObjectType::CommitmentVector).field(&[0; 33]).finish()),
                "33 bytes",
                Some("Malformed"),
            ),
            (
                input(&with(&commitments, 9, &hex::decode(BAD_POINT).unwrap())),
                "non-canonical C_0",
                Some("NonCanonical"),
            ),
        ],
    );
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/mpc_norm_proof");
    std::fs::create_dir_all(&seeds).unwrap();
    for (name, bytes) in
        [("l2_proof", &proof), ("linf_proof", &linf_proof), ("commitments", &commitments)]
    {
        std::fs::write(seeds.join(name), bytes).unwrap();
    }
}

fn linkage(g: &mut Groups) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema = std::fs::read_to_string(root.join("data/febrl1/linkage-schema.json")).unwrap();
    let value: Value = serde_json::from_str(&schema).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = value.clone();
        f(&mut v);
        serde_json::to_string(&v).unwrap()
    };
    g.group(
        "LinkageSchema",
        "clkhash version 3 schemas (the FEBRL example, then edits of it)",
        vec![
            (text(&schema), "data/febrl1/linkage-schema.json", None),
            (text(&edit(&|v| v["version"] = json!(2))), "schema version 2", Some("InvalidSchema")),
            (
                text(&edit(&|v| {
                    v["features"][1]["hashing"]["hash"] = json!({ "type": "doubleHash" })
                })),
                "doubleHash, broken by Kroll and Steinmetzer 2015",
                Some("InvalidSchema"),
            ),
            (
                text(&edit(&|v| v["clkConfig"]["l"] = json!(1 << 20))),
                "a filter of 2^20 bits",
                Some("InvalidSchema"),
            ),
            (text(&edit(&|v| v["features"] = json!([]))), "no features", Some("InvalidSchema")),
            (text("{\"version\": 3"), "not JSON", Some("InvalidSchema")),
        ],
    );
    let bits = "gA==";
    let file = |clks: &str, bits_meta: usize, extra: &str| {
        format!("{{\"clks\": {clks}, \"x-medi-privacy\": {{\"version\": 1, \"level\": \"record\", \"bits\": {bits_meta}, \"schema\": \"abc\", \"features\": [\"name\"]{extra}}}}}")
    };
    g.group(
        "EncodingFile",
        "record-level CLK files: clkhash's 'clks' list and the x-medi-privacy metadata",
        vec![
            (text(&file(&format!("[\"{bits}\"]"), 8, "")), "one 8-bit filter", None),
            (
                text(&file(&format!("[\"{bits}\"]"), 16, "")),
                "a filter shorter than declared",
                Some("Malformed"),
            ),
            (text(&file("[\"***\"]", 8, "")), "invalid base64", Some("Malformed")),
            (
                text(&file(&format!("[\"{bits}\"]"), 8, ", \"extra\": 1")),
                "an unknown key",
                Some("Malformed"),
            ),
            (
                text(&file(&format!("[\"{bits}\"]"), 12, "")),
                "a length that is not a multiple of 8",
                Some("Malformed"),
            ),
            (
                text(&file(&format!("[\"{bits}\"]"), 8, "").replace("\"record\"", "\"field\"")),
                "field level without 'fbfs'",
                Some("Malformed"),
            ),
        ],
    );
}

/// The weak Fiat–Shamir challenge: the commitment and context only, not the statement.
fn weak_challenge(
    protocol: &'static [u8],
    context: &[u8],
    points: &[(&'static [u8], &RistrettoPoint)],
) -> Scalar {
    let mut t = transcript(protocol);
    t.append_message(b"context", context);
    for (label, p) in points {
        t.append_point(label, p);
    }
    t.challenge_scalar(b"c")
}

fn schnorr(g: &mut Groups, rng: &mut SecureRng) {
    let b = RISTRETTO_BASEPOINT_POINT;
    let x = Scalar::random(rng);
    let y = b * x;
    let proof = SchnorrProof::prove(b"dkg/site-1", &b, &x, rng);
    let bytes = proof.to_bytes();
    let case = |context: &[u8], base: &RistrettoPoint, public: &RistrettoPoint, proof: &[u8]| json!({ "context": hex::encode(context), "base": hex::encode(base.compress().as_bytes()), "public": hex::encode(public.compress().as_bytes()), "proof": hex::encode(proof) });
    let h = hash_to_group(b"medi-privacy/vectors/h");
    // A forgery that passes a weak Fiat–Shamir check (challenge over R only): pick R and s,
    // then solve for the public key Y = (s·B − R)/c.
    let r = RistrettoPoint::random(rng);
    let s = Scalar::random(rng);
    let c = weak_challenge(b"schnorr", b"dkg/site-1", &[(b"R", &r)]);
    let forged_y = (b * s - r) * c.invert();
    let forged = WireWriter::new(ObjectType::Proof)
        .field(b"schnorr")
        .field(r.compress().as_bytes())
        .field(s.as_bytes())
        .finish();
    // Response + 1 stays canonical.
    let response_at = bytes.len() - 32;
    let bumped = with(
        &bytes,
        response_at,
        (Scalar::from_canonical_bytes(bytes[response_at..].try_into().unwrap()).unwrap()
            + Scalar::ONE)
            .as_bytes(),
    );
    g.group(
        "SchnorrVerify",
        "proof of knowledge of log_B Y, verified for (context, B, Y)",
        vec![
            (case(b"dkg/site-1", &b, &y, &bytes), "valid", None),
            (
                case(b"dkg/site-2", &b, &y, &bytes),
                "another context (replay for another site)",
                Some("ProofRejected"),
            ),
            (
                case(b"dkg/site-1", &b, &(y + b), &bytes),
                "another public key",
                Some("ProofRejected"),
            ),
            (
                case(b"dkg/site-1", &h, &(h * x), &bytes),
                "another base with the same secret",
                Some("ProofRejected"),
            ),
            (case(b"dkg/site-1", &b, &y, &bumped), "response + 1", Some("ProofRejected")),
            (
                case(b"dkg/site-1", &b, &forged_y, &forged),
                "weak Fiat-Shamir forgery: Y chosen after the challenge",
                Some("ProofRejected"),
            ),
            (
                case(b"dkg/site-1", &b, &y, &with(&bytes, 20, &[0; 32])),
                "identity commitment R",
                Some("ProofRejected"),
            ),
        ],
    );
}

fn chaum_pedersen(g: &mut Groups, rng: &mut SecureRng) {
    let base = RISTRETTO_BASEPOINT_POINT;
    let h = hash_to_group(b"medi-privacy/vectors/c1");
    let x = Scalar::random(rng);
    let st = DlogEquality { g: base, a: base * x, h, b: h * x };
    let proof = ChaumPedersenProof::prove(b"share/3", &st, &x, rng).to_bytes();
    let case = |context: &[u8], st: &DlogEquality, proof: &[u8]| {
        let enc = |p: &RistrettoPoint| hex::encode(p.compress().as_bytes());
        json!({ "context": hex::encode(context), "g": enc(&st.g), "a": enc(&st.a), "h": enc(&st.h), "b": enc(&st.b), "proof": hex::encode(proof) })
    };
    let (r1, r2, s) =
        (RistrettoPoint::random(rng), RistrettoPoint::random(rng), Scalar::random(rng));
    let c = weak_challenge(b"chaum-pedersen", b"share/3", &[(b"R1", &r1), (b"R2", &r2)]);
    let forged_st =
        DlogEquality { g: base, a: (base * s - r1) * c.invert(), h, b: (h * s - r2) * c.invert() };
    let forged = WireWriter::new(ObjectType::Proof)
        .field(b"chaum-pedersen")
        .field(r1.compress().as_bytes())
        .field(r2.compress().as_bytes())
        .field(s.as_bytes())
        .finish();
    g.group(
        "ChaumPedersenVerify",
        "proof that log_G A = log_H B, verified for (context, G, A, H, B); a threshold decryption share's shape",
        vec![
            (case(b"share/3", &st, &proof), "valid", None),
            (case(b"share/4", &st, &proof), "another site's context", Some("ProofRejected")),
            (case(b"share/3", &DlogEquality { b: st.b + h, ..st }, &proof), "B off by H: a wrong decryption share", Some("ProofRejected")),
            (case(b"share/3", &DlogEquality { g: h, a: st.b, h: base, b: st.a }, &proof), "the two halves swapped", Some("ProofRejected")),
            (case(b"share/3", &forged_st, &forged), "weak Fiat-Shamir forgery: statement chosen after the challenge", Some("ProofRejected")),
            (case(b"share/3", &st, &with(&proof, proof.len() - 32, &hex::decode(ORDER).unwrap())), "response = l", Some("NonCanonical")),
        ],
    );
}

fn range(g: &mut Groups, rng: &mut SecureRng) {
    let gens = PedersenGenerators::standard();
    let values = [0u64, 255, 17];
    let blindings: Vec<Scalar> = values.iter().map(|_| Scalar::random(rng)).collect();
    let commit = |v: u64, r: &Scalar| hex::encode(gens.commit(&Scalar::from(v), r).to_bytes());
    let commitments: Vec<String> =
        values.iter().zip(&blindings).map(|(v, r)| commit(*v, r)).collect();
    let proof =
        RangeProof::prove(b"counts", &gens, &values, &blindings, 8, rng).unwrap().to_bytes();
    let case = |context: &[u8], bits: u32, commitments: &[String], proof: &[u8]| json!({ "context": hex::encode(context), "bits": bits, "commitments": commitments, "proof": hex::encode(proof) });
    let mut over = commitments.clone();
    over[1] = commit(256, &blindings[1]);
    // The bulletproof starts at 18 (header 5, name 4 + 5, length 4): A, S, T1, T2, then t_x.
    let t_x = with(&proof, 18 + 128, Scalar::ONE.as_bytes());
    g.group(
        "RangeVerify",
        "aggregated bulletproof that each commitment (v·G + r·H) holds a value below 2^bits",
        vec![
            (case(b"counts", 8, &commitments, &proof), "0, 255 and 17 in 8 bits", None),
            (
                case(b"counts", 8, &over, &proof),
                "the second commitment holds 256",
                Some("ProofRejected"),
            ),
            (
                case(b"counts", 16, &commitments, &proof),
                "checked as a 16-bit proof",
                Some("ProofRejected"),
            ),
            (case(b"totals", 8, &commitments, &proof), "another context", Some("ProofRejected")),
            (
                case(b"counts", 8, &commitments[..2], &proof),
                "one commitment left out",
                Some("ProofRejected"),
            ),
            (case(b"counts", 8, &commitments, &t_x), "t_x replaced by 1", Some("ProofRejected")),
        ],
    );
}
