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
//! authenticated channels with private channels for the shares (the transport is the caller's,
//! e.g. `privacy-mpc`'s TLS transport), and a site whose share fails [`verify_share`] must be
//! excluded by the others (complaint handling is the caller's). Known caveat: in JF-DKG a
//! malicious site can bias the distribution of `Y` (GJKR, EUROCRYPT '99); Gennaro et al. (CT-RSA
//! 2003, "Secure Applications of Pedersen's Distributed Key Generation Protocol") show the
//! resulting ElGamal-type schemes keep their security, which is what is used here.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

use privacy_core::SecureRng;

use super::{Ciphertext, PublicKey, SecretKey};
use crate::audit::AuditContext;
use crate::error::{MpcError, Result};
use crate::group::random_scalar;
use crate::zkp::chaum_pedersen::{ChaumPedersenProof, DlogEquality};
use crate::zkp::schnorr::SchnorrProof;

/// `t` of `n` sites must cooperate to decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThresholdParams {
    threshold: u32,
    sites: u32,
}

impl ThresholdParams {
    /// `1 ≤ t ≤ n ≤ 1000`.
    pub fn new(threshold: u32, sites: u32) -> Result<Self> {
        if threshold == 0 || threshold > sites || sites > 1000 {
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

/// Checks a dealer's broadcast (shape and proof) and the share it sent to `recipient`.
pub fn verify_share(
    params: ThresholdParams,
    session: &[u8],
    message: &DealerMessage,
    recipient: u32,
    share: &Scalar,
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
    )?;
    if RistrettoPoint::mul_base(share) != evaluate_commitments(&message.commitments, recipient) {
        return Err(MpcError::ProofRejected("feldman share"));
    }
    Ok(())
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

    /// `Y_j = x_j·G` of site `j` (1..=n).
    pub fn verification_key(&self, j: u32) -> Option<&RistrettoPoint> {
        self.verification.get((j as usize).checked_sub(1)?)
    }

    /// Combines at least `t` decryption shares of `c` from distinct sites into `m·G`, after
    /// verifying each share's proof. Any invalid share is an error naming no value.
    pub fn combine(&self, c: &Ciphertext, shares: &[DecryptionShare]) -> Result<RistrettoPoint> {
        let mut seen = Vec::new();
        for share in shares {
            let key = self
                .verification_key(share.index)
                .ok_or(MpcError::InvalidParameter("share index outside 1..=n"))?;
            if seen.contains(&share.index) {
                return Err(MpcError::InvalidParameter("two shares from one site"));
            }
            let statement =
                DlogEquality { g: RISTRETTO_BASEPOINT_POINT, a: *key, h: c.c1, b: share.point };
            share.proof.verify(&share_context(&self.session, share.index), &statement)?;
            seen.push(share.index);
        }
        if seen.len() < self.params.threshold as usize {
            return Err(MpcError::InvalidParameter("fewer decryption shares than the threshold"));
        }
        let used = &shares[..self.params.threshold as usize];
        let indices: Vec<u32> = used.iter().map(|s| s.index).collect();
        let x_c1: RistrettoPoint =
            used.iter().map(|s| s.point * lagrange_at_zero(&indices, s.index)).sum();
        Ok(c.c2 - x_c1)
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
        let x = self.secret.scalar();
        let point = c.c1 * x;
        let statement = DlogEquality {
            g: RISTRETTO_BASEPOINT_POINT,
            a: RistrettoPoint::mul_base(x),
            h: c.c1,
            b: point,
        };
        let proof = ChaumPedersenProof::prove(
            &share_context(&self.public.session, self.index),
            &statement,
            x,
            rng,
        );
        audit.decrypted(
            "elgamal-ristretto255-threshold-share",
            &self.public.joint.fingerprint_hex(),
            1,
        )?;
        Ok(DecryptionShare { index: self.index, point, proof })
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
