//! Threshold exponential ElGamal: n sites generate a joint key so that any `t` of them can
//! decrypt together and no `t − 1` of them can alone.
//!
//! Key generation is Pedersen's dealerless protocol (Pedersen, EUROCRYPT '91, "A threshold
//! cryptosystem without a trusted party"; the "JF-DKG" of Gennaro, Jarecki, Krawczyk, Rabin):
//! every site `i` deals a random polynomial `f_i` of degree `t − 1` with Feldman commitments
//! `A_ik = a_ik·G` and a Schnorr proof of knowing `a_i0` (so no site can choose its
//! contribution as a function of the others' — the rogue-key attack); site `j` keeps
//! `x_j = Σ_i f_i(j)`, checked against the commitments. The joint key is `Y = Σ_i A_i0`, whose
//! secret `x = Σ_i f_i(0)` nobody holds. Each site's verification key `Y_j = x_j·G` is public,
//! computable from the commitments.
//!
//! Decryption: site `j` publishes `D_j = x_j·c₁` with a Chaum–Pedersen proof that
//! `log_G Y_j = log_{c₁} D_j`; any `t` valid shares give `x·c₁ = Σ λ_j D_j` (Lagrange at 0), and
//! `m·G = c₂ − x·c₁`. Invalid shares are refused, not combined.
//!
//! Threat model: up to `t − 1` sites malicious (they see nothing of a plaintext they cannot
//! decrypt alone, and cannot make a wrong share pass); key generation must be run over
//! authenticated channels with private channels for the shares. [`super::distributed`] runs
//! it over a [`crate::transport::Transport`] (the TLS mesh between processes), with the
//! complaint round that disqualifies a site whose share fails [`verify_share`]; the functions
//! here are its building blocks, and [`finish_keygen_qualified`] completes key generation
//! over the qualified dealers only. Known caveat: in JF-DKG a
//! malicious site can bias the distribution of `Y` (GJKR, EUROCRYPT '99); Gennaro et al. (CT-RSA
//! 2003, "Secure Applications of Pedersen's Distributed Key Generation Protocol") show the
//! resulting ElGamal-type schemes keep their security, which is what is used here.
//!
//! Wire formats (all through [`crate::wire::WireReader`]): [`DealerMessage`],
//! [`DecryptionShare`], [`ThresholdPublicKey`] and [`KeyShare`] have `to_bytes`/`from_bytes`.
//! A decoded public key (and so a key share) is checked to be *consistent*: its `n`
//! verification keys and the joint key must lie on one polynomial of degree below `t` in the
//! exponent. The check is one multiscalar multiplication with a random element of the dual
//! Reed–Solomon code (weights `λ_j·g(j)`, `λ_j = (−1)^(n−j)/(j!(n−j)!)`, `g` of degree `n − t`
//! derived by hashing the encoding), which any inconsistent set passes with probability at
//! most `1/ℓ` for a fixed `g`.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use privacy_core::SecureRng;

use super::{Ciphertext, PublicKey, SecretKey};
use crate::audit::AuditContext;
use crate::error::{MpcError, Result};
use crate::group::{decode_point, decode_public_point, decode_scalar, random_scalar};
use crate::wire::{ObjectType, WireReader, WireWriter};
use crate::zkp::chaum_pedersen::{ChaumPedersenProof, DlogEquality};
use crate::zkp::schnorr::SchnorrProof;

/// The most sites a threshold key has.
pub const MAX_SITES: u32 = 1000;
/// The longest key-generation session identifier accepted (bytes).
pub const MAX_SESSION_BYTES: usize = 1024;

/// A site index field: 4 bytes, in 1..=[`MAX_SITES`].
fn site_field(r: &mut WireReader<'_>, what: &'static str) -> Result<u32> {
    let bytes: [u8; 4] = r.array().map_err(|_| MpcError::Malformed { what, reason: "index" })?;
    let index = u32::from_be_bytes(bytes);
    if index == 0 || index > MAX_SITES {
        return Err(MpcError::InvalidShareId);
    }
    Ok(index)
}

/// `t` of `n` sites must cooperate to decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThresholdParams {
    threshold: u32,
    sites: u32,
}

impl ThresholdParams {
    /// `1 ≤ t ≤ n ≤ 1000`.
    pub fn new(threshold: u32, sites: u32) -> Result<Self> {
        if threshold == 0 || threshold > sites || sites > MAX_SITES {
            return Err(MpcError::InvalidParameter("threshold needs 1 <= t <= n <= 1000"));
        }
        Ok(Self { threshold, sites })
    }

    /// `t`.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// `n`.
    pub fn sites(&self) -> u32 {
        self.sites
    }
}

/// What site `i` broadcasts: its Feldman commitments and a proof of knowing its constant term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealerMessage {
    /// The dealing site, 1..=n.
    pub sender: u32,
    /// `A_ik = a_ik·G`, k = 0..t.
    pub commitments: Vec<RistrettoPoint>,
    /// Knowledge of `a_i0`.
    pub proof: SchnorrProof,
}

impl DealerMessage {
    /// The wire encoding: sender, commitments, proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let points: Vec<u8> =
            self.commitments.iter().flat_map(|p| p.compress().to_bytes()).collect();
        WireWriter::new(ObjectType::ThresholdDealerMessage)
            .field(&self.sender.to_be_bytes())
            .field(&points)
            .field(&self.proof.to_bytes())
            .finish()
    }

    /// Decodes a dealer message: a sender in 1..=1000, 1 to 1000 canonical commitments, a
    /// canonical proof. Whether it fits the parameters and the proof holds is
    /// [`verify_message`]'s business.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "threshold dealer message";
        let mut r = WireReader::new(bytes, ObjectType::ThresholdDealerMessage, what)?;
        let sender = site_field(&mut r, what)?;
        let points = r.field(32 * MAX_SITES as usize)?;
        if points.is_empty() || points.len() % 32 != 0 {
            return Err(MpcError::Malformed { what, reason: "commitment list" });
        }
        let commitments =
            points.chunks(32).map(|c| decode_point(c, what)).collect::<Result<Vec<_>>>()?;
        let proof = SchnorrProof::from_bytes(r.field(128)?)?;
        r.finish()?;
        Ok(Self { sender, commitments, proof })
    }
}

/// Site `i`'s dealing: the broadcast message and the private share for each site.
pub struct Dealing {
    /// Broadcast to every site.
    pub message: DealerMessage,
    /// `f_i(j)` for `j = 1..=n` (index `j − 1`): send each to its site over a private channel.
    pub shares: Vec<Scalar>,
}

impl std::fmt::Debug for Dealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dealing").field("message", &self.message).finish_non_exhaustive()
    }
}

impl Drop for Dealing {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.shares.iter_mut().for_each(Zeroize::zeroize);
    }
}

fn dealer_context(session: &[u8], sender: u32) -> Vec<u8> {
    let mut context = b"elgamal-dkg/".to_vec();
    context.extend_from_slice(&(session.len() as u64).to_be_bytes());
    context.extend_from_slice(session);
    context.extend_from_slice(&sender.to_be_bytes());
    context
}

/// `Σ_k A_k · j^k`: the public image of a polynomial at `j`.
fn evaluate_commitments(commitments: &[RistrettoPoint], j: u32) -> RistrettoPoint {
    let x = Scalar::from(j);
    let mut power = Scalar::ONE;
    let powers: Vec<Scalar> = commitments
        .iter()
        .map(|_| {
            let current = power;
            power *= x;
            current
        })
        .collect();
    RistrettoPoint::vartime_multiscalar_mul(&powers, commitments)
}

/// Site `sender` (1..=n) deals its polynomial for `session` (a unique identifier of this key
/// generation, bound into every proof).
pub fn deal(
    params: ThresholdParams,
    sender: u32,
    session: &[u8],
    rng: &mut SecureRng,
) -> Result<Dealing> {
    if sender == 0 || sender > params.sites {
        return Err(MpcError::InvalidParameter("site index outside 1..=n"));
    }
    let coefficients: Vec<Scalar> = (0..params.threshold).map(|_| random_scalar(rng)).collect();
    let commitments = coefficients.iter().map(RistrettoPoint::mul_base).collect();
    let proof = SchnorrProof::prove(
        &dealer_context(session, sender),
        &RISTRETTO_BASEPOINT_POINT,
        &coefficients[0],
        rng,
    );
    let shares = (1..=params.sites).map(|j| horner(&coefficients, j)).collect();
    let mut coefficients = coefficients;
    zeroize::Zeroize::zeroize(&mut coefficients);
    Ok(Dealing { message: DealerMessage { sender, commitments, proof }, shares })
}

fn horner(coefficients: &[Scalar], j: u32) -> Scalar {
    let x = Scalar::from(j);
    coefficients.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a)
}

/// Checks a dealer's broadcast: `t` commitments, a sender in 1..=n, and the proof of knowing
/// the constant term (bound to `session` and the sender).
pub fn verify_message(
    params: ThresholdParams,
    session: &[u8],
    message: &DealerMessage,
) -> Result<()> {
    if message.commitments.len() != params.threshold as usize
        || message.sender == 0
        || message.sender > params.sites
    {
        return Err(MpcError::InvalidParameter("dealer message of the wrong shape"));
    }
    message.proof.verify(
        &dealer_context(session, message.sender),
        &RISTRETTO_BASEPOINT_POINT,
        &message.commitments[0],
    )
}

/// Checks that `share` is the dealer's polynomial at `recipient`, against its commitments
/// (Feldman): `share·G = Σ_k A_k·recipient^k`.
pub fn check_share_value(message: &DealerMessage, recipient: u32, share: &Scalar) -> Result<()> {
    if RistrettoPoint::mul_base(share) != evaluate_commitments(&message.commitments, recipient) {
        return Err(MpcError::ProofRejected("feldman share"));
    }
    Ok(())
}

/// Checks a dealer's broadcast (shape and proof) and the share it sent to `recipient`.
pub fn verify_share(
    params: ThresholdParams,
    session: &[u8],
    message: &DealerMessage,
    recipient: u32,
    share: &Scalar,
) -> Result<()> {
    verify_message(params, session, message)?;
    check_share_value(message, recipient, share)
}

/// The public side of a threshold key: the joint key and every site's verification key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdPublicKey {
    params: ThresholdParams,
    session: Vec<u8>,
    joint: PublicKey,
    verification: Vec<RistrettoPoint>,
}

impl ThresholdPublicKey {
    /// The joint public key to encrypt under.
    pub fn joint(&self) -> &PublicKey {
        &self.joint
    }

    /// `t` and `n`.
    pub fn params(&self) -> ThresholdParams {
        self.params
    }

    /// The key-generation session this key came from.
    pub fn session(&self) -> &[u8] {
        &self.session
    }

    /// The wire encoding: threshold, sites, session, joint key, the `n` verification keys.
    pub fn to_bytes(&self) -> Vec<u8> {
        let keys: Vec<u8> =
            self.verification.iter().flat_map(|p| p.compress().to_bytes()).collect();
        WireWriter::new(ObjectType::ThresholdPublicKey)
            .u64(u64::from(self.params.threshold))
            .u64(u64::from(self.params.sites))
            .field(&self.session)
            .field(self.joint.point().compress().as_bytes())
            .field(&keys)
            .finish()
    }

    /// Decodes a threshold public key: valid parameters, a session of at most
    /// [`MAX_SESSION_BYTES`], a joint key that is not the identity, `n` canonical verification
    /// keys, all on one polynomial of degree below `t` (see the module documentation).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "threshold public key";
        let mut r = WireReader::new(bytes, ObjectType::ThresholdPublicKey, what)?;
        let threshold = u32::try_from(r.u64()?).map_err(|_| MpcError::InvalidKey("threshold"))?;
        let sites = u32::try_from(r.u64()?).map_err(|_| MpcError::InvalidKey("site count"))?;
        let params = ThresholdParams::new(threshold, sites)?;
        let session = r.field(MAX_SESSION_BYTES)?.to_vec();
        let joint = decode_public_point(r.field(32)?, what)?;
        let keys = r.field(32 * MAX_SITES as usize)?;
        if keys.len() != 32 * sites as usize {
            return Err(MpcError::Malformed { what, reason: "one verification key per site" });
        }
        let verification =
            keys.chunks(32).map(|k| decode_point(k, what)).collect::<Result<Vec<_>>>()?;
        r.finish()?;
        check_on_one_polynomial(params, &joint, &verification, bytes)?;
        Ok(Self { params, session, joint: PublicKey::from_point(joint)?, verification })
    }

    /// `Y_j = x_j·G` of site `j` (1..=n).
    pub fn verification_key(&self, j: u32) -> Option<&RistrettoPoint> {
        self.verification.get((j as usize).checked_sub(1)?)
    }

    /// Combines at least `t` decryption shares of `c` from distinct sites into `m·G`, after
    /// verifying each share's proof. Any invalid share is an error naming no value.
    pub fn combine(&self, c: &Ciphertext, shares: &[DecryptionShare]) -> Result<RistrettoPoint> {
        let mut seen = Vec::new();
        for share in shares {
            if seen.contains(&share.index) {
                return Err(MpcError::InvalidParameter("two shares from one site"));
            }
            self.verify_share(c, share)?;
            seen.push(share.index);
        }
        if seen.len() < self.params.threshold as usize {
            return Err(MpcError::InvalidParameter("fewer decryption shares than the threshold"));
        }
        Ok(self.interpolate(c, &shares[..self.params.threshold as usize]))
    }

    /// Checks one share of `c`: a site in 1..=n and a valid proof.
    pub fn verify_share(&self, c: &Ciphertext, share: &DecryptionShare) -> Result<()> {
        let key = self
            .verification_key(share.index)
            .ok_or(MpcError::InvalidParameter("share index outside 1..=n"))?;
        let statement =
            DlogEquality { g: RISTRETTO_BASEPOINT_POINT, a: *key, h: c.c1, b: share.point };
        share.proof.verify(&share_context(&self.session, share.index), &statement)
    }

    /// `m·G` from `t` shares already verified, from distinct sites.
    pub(crate) fn interpolate(&self, c: &Ciphertext, shares: &[DecryptionShare]) -> RistrettoPoint {
        let indices: Vec<u32> = shares.iter().map(|s| s.index).collect();
        let x_c1: RistrettoPoint =
            shares.iter().map(|s| s.point * lagrange_at_zero(&indices, s.index)).sum();
        c.c2 - x_c1
    }
}

/// The dual-code check of the module documentation: `Σ_j λ_j·g(j)·P_j = 0` for `P_0` the joint
/// key and `P_j` the verification keys, with `g` of degree `n − t` derived from `seed`.
fn check_on_one_polynomial(
    params: ThresholdParams,
    joint: &RistrettoPoint,
    verification: &[RistrettoPoint],
    seed: &[u8],
) -> Result<()> {
    let (n, t) = (params.sites as usize, params.threshold as usize);
    let mut factorials = Vec::with_capacity(n + 1);
    let mut running = Scalar::ONE;
    for j in 0..=n {
        if j > 0 {
            running *= Scalar::from(j as u64);
        }
        factorials.push(running);
    }
    // j! (n − j)! is a product of integers below ℓ, hence never 0 modulo ℓ.
    let mut lambdas: Vec<Scalar> = (0..=n).map(|j| factorials[j] * factorials[n - j]).collect();
    Scalar::batch_invert(&mut lambdas);
    let digest = Sha512::digest(seed);
    let coefficients: Vec<Scalar> = (0..=(n - t) as u64)
        .map(|k| {
            let mut h = Sha512::new();
            h.update(b"medi-privacy/v1/threshold-key-check");
            h.update(digest);
            h.update(k.to_be_bytes());
            Scalar::from_bytes_mod_order_wide(&h.finalize().into())
        })
        .collect();
    let weights = (0..=n).map(|j| {
        let lambda = if (n - j) % 2 == 1 { -lambdas[j] } else { lambdas[j] };
        lambda * horner(&coefficients, j as u32)
    });
    let points = std::iter::once(joint).chain(verification);
    if RistrettoPoint::vartime_multiscalar_mul(weights, points).is_identity() {
        Ok(())
    } else {
        Err(MpcError::InvalidKey("verification keys do not lie on one polynomial"))
    }
}

/// `λ_j = Π_{k ≠ j} k / (k − j)` modulo ℓ (indices distinct, non-zero).
fn lagrange_at_zero(indices: &[u32], j: u32) -> Scalar {
    let (num, den) =
        indices.iter().filter(|&&k| k != j).fold((Scalar::ONE, Scalar::ONE), |(n, d), &k| {
            (n * Scalar::from(k), d * (Scalar::from(k) - Scalar::from(j)))
        });
    num * den.invert()
}

/// One site's share of a threshold key.
pub struct KeyShare {
    index: u32,
    secret: SecretKey,
    public: ThresholdPublicKey,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyShare(site {}, {:?})", self.index, self.public.joint)
    }
}

fn share_context(session: &[u8], index: u32) -> Vec<u8> {
    let mut context = b"elgamal-threshold-share/".to_vec();
    context.extend_from_slice(&dealer_context(session, index));
    context
}

/// Site `me` finishes key generation from all `n` broadcasts and the `n` shares it received
/// (`shares[i]` from the dealer of `messages[i]`), verifying each; records a `KeyGeneration`
/// event with the joint key's fingerprint.
pub fn finish_keygen(
    params: ThresholdParams,
    me: u32,
    session: &[u8],
    messages: &[DealerMessage],
    shares: &[Scalar],
    audit: &AuditContext<'_>,
) -> Result<KeyShare> {
    if messages.len() != params.sites as usize || shares.len() != messages.len() {
        return Err(MpcError::InvalidParameter("need one dealing from every site"));
    }
    let mut senders: Vec<u32> = messages.iter().map(|m| m.sender).collect();
    senders.sort_unstable();
    if senders != (1..=params.sites).collect::<Vec<_>>() {
        return Err(MpcError::InvalidParameter("dealings must come from sites 1..=n once each"));
    }
    finish_keygen_qualified(params, me, session, messages, shares, audit)
}

/// Site `me` finishes key generation from the dealings of the *qualified* sites only (those
/// not disqualified by the complaint round of [`super::distributed`]): `messages` and
/// `shares` (aligned) from distinct senders, at least `n − t + 1` of them, so that at least one
/// is honest when at most `t − 1` sites are corrupted. The joint key is the sum of the
/// qualified constant terms; every site still holds a share. Verifies each share and records
/// a `KeyGeneration` event with the joint key's fingerprint.
pub fn finish_keygen_qualified(
    params: ThresholdParams,
    me: u32,
    session: &[u8],
    messages: &[DealerMessage],
    shares: &[Scalar],
    audit: &AuditContext<'_>,
) -> Result<KeyShare> {
    if me == 0 || me > params.sites {
        return Err(MpcError::InvalidParameter("site index outside 1..=n"));
    }
    if session.len() > MAX_SESSION_BYTES {
        return Err(MpcError::InvalidParameter("session identifier longer than 1024 bytes"));
    }
    let needed = (params.sites - params.threshold + 1) as usize;
    if shares.len() != messages.len() || messages.len() < needed {
        return Err(MpcError::InvalidParameter(
            "fewer than n - t + 1 qualified dealings: more than t - 1 sites misbehaved",
        ));
    }
    let mut senders: Vec<u32> = messages.iter().map(|m| m.sender).collect();
    senders.sort_unstable();
    senders.dedup();
    if senders.len() != messages.len() {
        return Err(MpcError::InvalidParameter("two dealings from one site"));
    }
    for (message, share) in messages.iter().zip(shares) {
        verify_share(params, session, message, me, share)?;
    }
    let x: Scalar = shares.iter().sum();
    let joint = PublicKey::from_point(messages.iter().map(|m| m.commitments[0]).sum())?;
    let verification = (1..=params.sites)
        .map(|j| messages.iter().map(|m| evaluate_commitments(&m.commitments, j)).sum())
        .collect();
    let public = ThresholdPublicKey { params, session: session.to_vec(), joint, verification };
    let algorithm =
        format!("elgamal-ristretto255-threshold-{}-of-{}", params.threshold, params.sites);
    audit.key_generated(&algorithm, 255, &public.joint.fingerprint_hex())?;
    Ok(KeyShare { index: me, secret: SecretKey::from_scalar(x), public })
}

impl KeyShare {
    /// The site's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The threshold public key.
    pub fn public(&self) -> &ThresholdPublicKey {
        &self.public
    }

    /// This site's decryption share of `c`, with its proof; records a `Decryption` event.
    pub fn decryption_share(
        &self,
        c: &Ciphertext,
        rng: &mut SecureRng,
        audit: &AuditContext<'_>,
    ) -> Result<DecryptionShare> {
        let mut shares = self.decryption_shares(std::slice::from_ref(c), rng, audit)?;
        shares.pop().ok_or(MpcError::InvalidInput("no ciphertext".into()))
    }

    /// This site's decryption shares of every ciphertext, with proofs; records one
    /// `Decryption` event for the batch, before any share is computed.
    pub fn decryption_shares(
        &self,
        ciphertexts: &[Ciphertext],
        rng: &mut SecureRng,
        audit: &AuditContext<'_>,
    ) -> Result<Vec<DecryptionShare>> {
        audit.decrypted(
            "elgamal-ristretto255-threshold-share",
            &self.public.joint.fingerprint_hex(),
            ciphertexts.len(),
        )?;
        let x = self.secret.scalar();
        let own_key = RistrettoPoint::mul_base(x);
        let context = share_context(&self.public.session, self.index);
        Ok(ciphertexts
            .iter()
            .map(|c| {
                let point = c.c1 * x;
                let statement =
                    DlogEquality { g: RISTRETTO_BASEPOINT_POINT, a: own_key, h: c.c1, b: point };
                let proof = ChaumPedersenProof::prove(&context, &statement, x, rng);
                DecryptionShare { index: self.index, point, proof }
            })
            .collect())
    }

    /// The wire encoding: index, secret share, public key. Secret: store it readable by the
    /// site only.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            WireWriter::new(ObjectType::ThresholdKeyShare)
                .field(&self.index.to_be_bytes())
                .field(self.secret.scalar().as_bytes())
                .field(&self.public.to_bytes())
                .finish(),
        )
    }

    /// Decodes a key share: a consistent public key ([`ThresholdPublicKey::from_bytes`]), an
    /// index in 1..=n and a canonical secret whose public image is that site's verification
    /// key (so a damaged or mismatched file is refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "threshold key share";
        let mut r = WireReader::new(bytes, ObjectType::ThresholdKeyShare, what)?;
        let index = site_field(&mut r, what)?;
        let secret = SecretKey::from_scalar(decode_scalar(r.field(32)?, what)?);
        let public = ThresholdPublicKey::from_bytes(r.field(64 + MAX_SESSION_BYTES + 32 * 1001)?)?;
        r.finish()?;
        let expected = public.verification_key(index).ok_or(MpcError::InvalidShareId)?;
        if RistrettoPoint::mul_base(secret.scalar()) != *expected {
            return Err(MpcError::InvalidKey(
                "the secret share does not match its verification key",
            ));
        }
        Ok(Self { index, secret, public })
    }
}

/// `D_j = x_j·c₁` with a proof of correctness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionShare {
    /// The site, 1..=n.
    pub index: u32,
    /// `x_j·c₁`.
    pub point: RistrettoPoint,
    /// `log_G Y_j = log_{c₁} D_j`.
    pub proof: ChaumPedersenProof,
}

/// The encoding of a Chaum–Pedersen proof: header, name, three 32-byte fields.
const CHAUM_PEDERSEN_BYTES: usize = 5 + (4 + 14) + 3 * (4 + 32);
/// The encoding of a [`DecryptionShare`]: header, index, point, proof.
pub(crate) const DECRYPTION_SHARE_MAX_BYTES: usize =
    5 + (4 + 4) + (4 + 32) + (4 + CHAUM_PEDERSEN_BYTES);

impl DecryptionShare {
    /// The wire encoding: index, point, proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::ThresholdDecryptionShare)
            .field(&self.index.to_be_bytes())
            .field(self.point.compress().as_bytes())
            .field(&self.proof.to_bytes())
            .finish()
    }

    /// Decodes a share: an index in 1..=1000, a canonical point, a canonical proof (which
    /// [`ThresholdPublicKey::verify_share`] checks).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "threshold decryption share";
        let mut r = WireReader::new(bytes, ObjectType::ThresholdDecryptionShare, what)?;
        let index = site_field(&mut r, what)?;
        let point = decode_point(r.field(32)?, what)?;
        let proof = ChaumPedersenProof::from_bytes(r.field(CHAUM_PEDERSEN_BYTES)?)?;
        r.finish()?;
        Ok(Self { index, point, proof })
    }
}
