//! Two-party private set intersection by commutative exponentiation (ECDH-PSI) over
//! Ristretto255, with an intersection mode and a cardinality-only mode.
//!
//! Each party hashes its identifiers to the group (H = SHA-512 then Ristretto255's
//! `from_uniform_bytes`, two Elligator maps), raises them to its secret key, shuffles and
//! sends them. Each raises the other's points to its own key and sends them back: since
//! (H(x)^a)^b = (H(x)^b)^a, an identifier both hold gives the same point on both sides.
//!
//! - **Intersection mode**: the doubly blinded points go back in the order received, so each
//!   party learns which of its own identifiers the other also holds.
//! - **Cardinality mode**: they go back shuffled, so each party learns only how many.
//!
//! Either way each party also learns the size of the other's set. Guarantee: semi-honest
//! security against one corrupted party of two, under the decisional Diffie–Hellman
//! assumption in Ristretto255 with H modelled as a random oracle (Meadows 1986; Huberman,
//! Franklin, Hogg 1999, "Enhancing privacy and trust in electronic communities"; De Cristofaro,
//! Tsudik 2010, "Practical private set intersection protocols with linear complexity"). Not
//! malicious secure: a deviating party can make the other's result wrong, or query
//! identifiers it does not hold (it could do the latter by inputting them anyway).
//!
//! **Normalisation** ([`normalise_identifier`]): Unicode NFKC, lower-casing, NFKC again, then
//! removal of all white space and of the separators `-`, `.`, `/` and `_`. So
//! " 943-476 5919 " and "9434765919" match, as do "ＡＢ-12" and "ab12". An identifier that is
//! empty after normalisation is skipped; duplicates are sent once (the output lists every row
//! that carries a matching identifier).
//!
//! Speed: a pass costs one scalar multiplication per element; compression of the results is
//! batched (one field inversion for the whole set, via the "double and compress" of
//! curve25519-dalek, with the key halved beforehand so the doubling restores it).

use std::collections::{HashMap, HashSet};

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::Scalar;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha512};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::group::decode_public_point;
use crate::protocol::{audited, RunContext, ThreatModel};
use crate::transport::Transport;

/// The threat model of ECDH-PSI.
pub const PSI_THREAT_MODEL: ThreatModel = ThreatModel {
    adversary: "semi-honest",
    corrupted: "1 of 2",
    assumptions: "ddh in ristretto255; hash to group as a random oracle; set sizes are revealed",
};

/// The domain separator of the hash to the group.
const HASH_DOMAIN: &[u8] = b"medi-privacy/psi/ristretto255/v1\0";
/// The hello's magic; its last character is the protocol version.
const HELLO_MAGIC: &[u8; 8] = b"mpc-psi1";
const CHUNK_VERSION: u8 = 1;
const CHUNK_TAG: u8 = 0x50;
/// Points per message (32 MiB).
const CHUNK_POINTS: usize = 1 << 20;
/// The largest set a party accepts from its peer (2^28 identifiers).
pub const MAX_SET_SIZE: u64 = 1 << 28;

/// What the parties learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsiMode {
    /// Which of its own identifiers the other party also holds.
    Intersection,
    /// Only how many identifiers both hold.
    Cardinality,
}

impl PsiMode {
    fn byte(self) -> u8 {
        match self {
            Self::Intersection => 1,
            Self::Cardinality => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Intersection => "ecdh-psi/intersection",
            Self::Cardinality => "ecdh-psi/cardinality",
        }
    }
}

/// What one party learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PsiOutcome {
    /// Rows (positions in the input) whose identifier is in the intersection; `None` in
    /// cardinality mode.
    pub rows: Option<Vec<usize>>,
    /// Distinct identifiers in the intersection.
    pub cardinality: usize,
    /// Distinct identifiers this party put in.
    pub own_size: usize,
    /// Distinct identifiers the other party put in.
    pub peer_size: usize,
    /// Input rows skipped because their identifier was empty after normalisation.
    pub skipped_empty: usize,
}

/// Normalises an identifier (see the module documentation); `None` if nothing is left.
pub fn normalise_identifier(raw: &str) -> Option<String> {
    let lowered: String = raw.nfkc().flat_map(char::to_lowercase).collect();
    let normalised: String = lowered
        .nfkc()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '/' | '_'))
        .collect();
    (!normalised.is_empty()).then_some(normalised)
}

/// H(identifier): SHA-512 with a domain separator, mapped to Ristretto255.
pub fn hash_to_group(normalised: &str) -> RistrettoPoint {
    let mut hasher = Sha512::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(normalised.as_bytes());
    let digest: [u8; 64] = hasher.finalize().into();
    RistrettoPoint::from_uniform_bytes(&digest)
}

/// A party's secret exponent, stored halved (see the module documentation). Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PsiKey {
    half: Scalar,
}

impl PsiKey {
    /// A fresh random non-zero key.
    pub fn random(rng: &mut SecureRng) -> Self {
        loop {
            let key = Scalar::random(rng);
            if key != Scalar::ZERO {
                return Self { half: key * Scalar::from(2u8).invert() };
            }
        }
    }

    /// A fixed key for the fuzz targets, which need no secrecy.
    #[doc(hidden)]
    pub fn from_fixed_for_fuzzing() -> Self {
        Self { half: Scalar::from(7u8) }
    }

    /// First pass: H(x)^k for each identifier, compressed (in input order).
    pub fn blind(&self, normalised: &[String]) -> Vec<[u8; 32]> {
        let points: Vec<RistrettoPoint> =
            normalised.iter().map(|id| self.half * hash_to_group(id)).collect();
        compress_doubled(&points)
    }

    /// Second pass: P^k for each received point; refuses non-canonical encodings and the
    /// identity.
    pub fn reblind(&self, received: &[[u8; 32]]) -> Result<Vec<[u8; 32]>, MpcError> {
        let points = received
            .iter()
            .map(|bytes| decode_public_point(bytes, "psi set").map(|p| self.half * p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(compress_doubled(&points))
    }
}

impl std::fmt::Debug for PsiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PsiKey(..)")
    }
}

fn compress_doubled(points: &[RistrettoPoint]) -> Vec<[u8; 32]> {
    RistrettoPoint::double_and_compress_batch(points).into_iter().map(|c| c.to_bytes()).collect()
}

/// Distinct normalised identifiers, and for each the input rows carrying it.
fn distinct(identifiers: &[String]) -> (Vec<String>, Vec<Vec<usize>>, usize) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let (mut ids, mut rows, mut skipped) = (Vec::new(), Vec::<Vec<usize>>::new(), 0);
    for (row, raw) in identifiers.iter().enumerate() {
        let Some(id) = normalise_identifier(raw) else {
            skipped += 1;
            continue;
        };
        let slot = *index.entry(id.clone()).or_insert_with(|| {
            ids.push(id);
            rows.push(Vec::new());
            ids.len() - 1
        });
        rows[slot].push(row);
    }
    (ids, rows, skipped)
}

/// Runs ECDH-PSI with the one other party of a two-party transport. Audited as
/// `ecdh-psi/intersection` or `ecdh-psi/cardinality`.
pub fn run_psi(
    transport: &mut dyn Transport,
    rng: &mut SecureRng,
    context: &RunContext<'_>,
    identifiers: &[String],
    mode: PsiMode,
) -> Result<PsiOutcome, MpcError> {
    audited(context, mode.label(), PSI_THREAT_MODEL, transport, |t| {
        if t.parties() != 2 {
            return Err(MpcError::InvalidInput("psi runs between exactly two parties".into()));
        }
        psi_rounds(t, rng, identifiers, mode)
    })
}

fn psi_rounds(
    t: &mut dyn Transport,
    rng: &mut SecureRng,
    identifiers: &[String],
    mode: PsiMode,
) -> Result<PsiOutcome, MpcError> {
    let peer = 1 - t.party();
    let (ids, rows, skipped_empty) = distinct(identifiers);
    t.send(peer, &hello(mode, ids.len() as u64))?;
    let peer_size = parse_hello(&t.receive(peer)?, mode)?;
    let key = PsiKey::random(rng);
    // order[k] is the distinct identifier sent k-th.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.shuffle(rng);
    let shuffled: Vec<String> = order.iter().map(|i| ids[*i].clone()).collect();
    let theirs = exchange_points(t, peer, &key.blind(&shuffled), peer_size, CHUNK_POINTS)?;
    let mut theirs_twice = key.reblind(&theirs)?;
    if mode == PsiMode::Cardinality {
        theirs_twice.shuffle(rng);
    }
    let mine_twice = exchange_points(t, peer, &theirs_twice, ids.len(), CHUNK_POINTS)?;
    let common: HashSet<[u8; 32]> = theirs_twice.into_iter().collect();
    let hits: Vec<usize> =
        (0..mine_twice.len()).filter(|k| common.contains(&mine_twice[*k])).collect();
    let rows = (mode == PsiMode::Intersection).then(|| {
        let mut out: Vec<usize> = hits.iter().flat_map(|k| rows[order[*k]].clone()).collect();
        out.sort_unstable();
        out
    });
    Ok(PsiOutcome { rows, cardinality: hits.len(), own_size: ids.len(), peer_size, skipped_empty })
}

fn hello(mode: PsiMode, size: u64) -> Vec<u8> {
    let mut w = Writer::with_capacity(18);
    w.bytes(HELLO_MAGIC).u8(mode.byte()).u64(size);
    w.finish()
}

/// Parses the peer's hello: refuses another mode and sets above [`MAX_SET_SIZE`].
pub fn parse_hello(bytes: &[u8], mode: PsiMode) -> Result<usize, MpcError> {
    let mut r = Reader::new(bytes, "psi hello");
    if r.take(8)? != HELLO_MAGIC {
        return Err(MpcError::Malformed { what: "psi hello", reason: "magic" });
    }
    if r.u8()? != mode.byte() {
        return Err(MpcError::ProtocolMismatch("the peer runs psi in another mode"));
    }
    let size = r.u64()?;
    r.finish()?;
    if size > MAX_SET_SIZE {
        return Err(MpcError::OutOfRange {
            what: "the peer's set",
            reason: "more than 2^28 identifiers",
        });
    }
    // size <= 2^28 fits in usize.
    Ok(size as usize)
}

/// Sends `points` and receives `expected` points, `per_chunk` to a message, in lock step (send
/// chunk k, then receive the peer's chunk k), so at most two chunks per direction are ever in
/// flight and a bounded receive queue ([`crate::transport::tls`]) never stalls both sides.
fn exchange_points(
    t: &mut dyn Transport,
    peer: usize,
    points: &[[u8; 32]],
    expected: usize,
    per_chunk: usize,
) -> Result<Vec<[u8; 32]>, MpcError> {
    let mut outgoing = points.chunks(per_chunk);
    let mut received = Vec::with_capacity(expected);
    let chunks = points.len().div_ceil(per_chunk).max(expected.div_ceil(per_chunk));
    for index in 0..chunks {
        if let Some(chunk) = outgoing.next() {
            t.send(peer, &encode_chunk(index, chunk))?;
        }
        let want = per_chunk.min(expected.saturating_sub(index * per_chunk));
        if want > 0 {
            received.extend(parse_chunk(&t.receive(peer)?, index, want)?);
        }
    }
    Ok(received)
}

fn encode_chunk(index: usize, chunk: &[[u8; 32]]) -> Vec<u8> {
    let mut w = Writer::with_capacity(14 + 32 * chunk.len());
    // There are at most MAX_SET_SIZE / CHUNK_POINTS chunks, so the index fits in u32.
    w.u8(CHUNK_VERSION).u8(CHUNK_TAG).u32(index as u32).u64(chunk.len() as u64);
    for p in chunk {
        w.bytes(p);
    }
    w.finish()
}

/// Parses one chunk of a point set: version, tag, index, count, then 32-byte encodings.
/// Canonicity and the identity are checked when the points are used ([`PsiKey::reblind`]) or
/// compared.
pub fn parse_chunk(bytes: &[u8], index: usize, expected: usize) -> Result<Vec<[u8; 32]>, MpcError> {
    let mut r = Reader::new(bytes, "psi set");
    r.version(CHUNK_VERSION)?;
    r.expect(CHUNK_TAG, "unexpected step")?;
    if r.u32()? as usize != index {
        return Err(MpcError::Malformed { what: "psi set", reason: "chunk out of order" });
    }
    if r.count(32)? != expected {
        return Err(MpcError::Malformed { what: "psi set", reason: "element count" });
    }
    let points = (0..expected).map(|_| r.array::<32>()).collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::run_parties;
    use privacy_core::NullAuditSink;

    const CONTEXT: RunContext<'static> = RunContext { audit: &NullAuditSink, principal: "t" };

    #[test]
    fn normalisation_is_documented_behaviour() {
        assert_eq!(normalise_identifier(" 943-476 5919 ").as_deref(), Some("9434765919"));
        assert_eq!(normalise_identifier("ＡＢ-12").as_deref(), Some("ab12"));
        assert_eq!(normalise_identifier("Anna.Müller_1"), normalise_identifier("annamüller1"));
        assert_eq!(normalise_identifier(" -./_ "), None);
    }

    #[test]
    fn exponentiation_commutes_and_bad_points_are_refused() {
        let mut rng = SecureRng::seeded_for_tests_only(30);
        let (a, b) = (PsiKey::random(&mut rng), PsiKey::random(&mut rng));
        let ids = vec!["x".to_owned(), "y".to_owned()];
        let ab = b.reblind(&a.blind(&ids)).unwrap();
        let ba = a.reblind(&b.blind(&ids)).unwrap();
        assert_eq!(ab, ba);
        assert!(matches!(a.reblind(&[[0u8; 32]]), Err(MpcError::OutOfRange { .. })));
        assert!(matches!(a.reblind(&[[0xffu8; 32]]), Err(MpcError::NonCanonical { .. })));
    }

    fn run(mode: PsiMode) -> Vec<PsiOutcome> {
        run_parties(2, 31, move |party, t, rng| {
            let ids: Vec<String> = if party == 0 {
                ["A-1", "b2", "c3", "", "a1", "zz"].iter().map(|s| (*s).to_owned()).collect()
            } else {
                ["C3", "a1", "q", "r", "s"].iter().map(|s| (*s).to_owned()).collect()
            };
            run_psi(t, rng, &CONTEXT, &ids, mode).unwrap()
        })
    }

    #[test]
    fn intersection_and_cardinality_equal_the_plaintext() {
        let out = run(PsiMode::Intersection);
        assert_eq!(out[0].rows, Some(vec![0, 2, 4]));
        assert_eq!(out[1].rows, Some(vec![0, 1]));
        assert_eq!((out[0].cardinality, out[0].own_size, out[0].peer_size), (2, 4, 5));
        assert_eq!(out[0].skipped_empty, 1);
        let out = run(PsiMode::Cardinality);
        assert!(out.iter().all(|o| o.rows.is_none() && o.cardinality == 2));
    }

    #[test]
    fn sets_of_several_chunks_cross_in_lock_step() {
        let sizes = [7usize, 2];
        let results = run_parties(2, 33, move |party, t, _| {
            let mine: Vec<[u8; 32]> =
                (0..sizes[party]).map(|i| [(10 * party + i) as u8; 32]).collect();
            exchange_points(t, 1 - party, &mine, sizes[1 - party], 3).unwrap()
        });
        assert_eq!(results[0], (0..2).map(|i| [(10 + i) as u8; 32]).collect::<Vec<_>>());
        assert_eq!(results[1], (0..7).map(|i| [i as u8; 32]).collect::<Vec<_>>());
    }

    #[test]
    fn mode_mismatch_and_bad_chunks_are_refused() {
        let results = run_parties(2, 32, |party, t, rng| {
            let mode = if party == 0 { PsiMode::Intersection } else { PsiMode::Cardinality };
            run_psi(t, rng, &CONTEXT, &["a".to_owned()], mode).map(|_| ())
        });
        assert!(results.iter().all(|r| matches!(r, Err(MpcError::ProtocolMismatch(_)))));
        assert!(parse_hello(&hello(PsiMode::Cardinality, MAX_SET_SIZE + 1), PsiMode::Cardinality)
            .is_err());
        let mut chunk = vec![CHUNK_VERSION, CHUNK_TAG, 1, 0, 0, 0];
        chunk.extend_from_slice(&1u64.to_le_bytes());
        chunk.extend_from_slice(&[7u8; 32]);
        assert!(parse_chunk(&chunk, 0, 1).is_err(), "chunk out of order accepted");
        assert!(parse_chunk(&chunk, 1, 2).is_err(), "short chunk accepted");
        assert_eq!(parse_chunk(&chunk, 1, 1).unwrap(), vec![[7u8; 32]]);
        assert_eq!(encode_chunk(1, &[[7u8; 32]]), chunk);
        chunk[0] = 9;
        assert!(matches!(
            parse_chunk(&chunk, 1, 1),
            Err(MpcError::UnsupportedVersion { found: 9, .. })
        ));
    }
}
