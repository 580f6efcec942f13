//! Threshold ElGamal between processes: key generation with a complaint round, and joint
//! decryption, run by the n sites over a [`Transport`] (the TLS mesh between hospitals, or the
//! in-process network in tests).
//!
//! **Key generation** ([`generate_key`]) is the JF-DKG of [`super::threshold`] in four rounds,
//! with the complaint handling of Pedersen (EUROCRYPT '91) and Gennaro, Jarecki, Krawczyk,
//! Rabin (EUROCRYPT '99, "Secure distributed key generation for discrete-log based
//! cryptosystems", §3, steps 1–3 of JF-DKG):
//!
//! 1. *Deal.* Site `i` sends every site `j` its broadcast [`DealerMessage`] (Feldman
//!    commitments, proof of knowledge) and, privately, its share `f_i(j)`.
//! 2. *Complain.* Every site checks each dealer's message and its own share and broadcasts the
//!    dealers whose share failed ([`check_share_value`]), with a digest of every dealer message
//!    it received.
//! 3. *Answer.* Every accused dealer reveals the disputed shares `f_i(j)`; every site sends a
//!    digest of the complaints it received.
//! 4. *Confirm.* Every site sends a digest of the answers it received.
//!
//! A dealer is **disqualified** when its message is invalid (wrong shape, failed proof) or when
//! it leaves a complaint unanswered or answers it with a share that fails its own commitments.
//! An accuser whose complaint is answered correctly uses the revealed share. Key generation
//! then finishes over the qualified dealers ([`finish_keygen_qualified`]), which must number at
//! least `n − t + 1`. Answering a complaint publishes only a share its accuser already holds,
//! so false accusations reveal nothing new.
//!
//! **No broadcast channel is assumed.** The TLS mesh gives authenticated point-to-point links,
//! over which a malicious site could tell different sites different things ("equivocate").
//! The digests of rounds 2–4 catch that: every site compares the digests all others report with
//! its own view of the previous round and aborts with [`MpcError::ProtocolMismatch`] on any
//! difference (Goldwasser and Lindell, J. Cryptology 2005, "Secure multi-party computation
//! without agreement": broadcast with abort). So every site that completes holds the same
//! qualified set, the same joint key and consistent shares.
//!
//! Guarantee: up to `t − 1` malicious sites can neither learn the joint secret, nor bias a
//! completed run into inconsistent keys, nor make an honest site accept a wrong share; they can
//! make the run abort (by sending malformed messages, equivocating or going silent) and, as in
//! every JF-DKG, bias the distribution of the joint key, which ElGamal tolerates (Gennaro et
//! al., CT-RSA 2003). Misbehaviour that can be proved (a bad share, a bad proof) disqualifies
//! the culprit instead of aborting.
//!
//! **Joint decryption** ([`decrypt_jointly`]): every participating site broadcasts its
//! decryption shares of all ciphertexts with Chaum–Pedersen proofs; each site drops every
//! share set that fails a proof (naming the party) and combines the valid sets of the `t`
//! lowest-numbered parties (any `t` valid shares give the same plaintext). Robust: up to (participants − t) sites may send bad shares and the others
//! still decrypt. Every message is read with a strict parser; the sites must agree on the key
//! and the ciphertexts (a digest of both opens each message).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use privacy_core::SecureRng;

use super::threshold::{
    check_share_value, deal, finish_keygen_qualified, verify_message, DealerMessage,
    DecryptionShare, KeyShare, ThresholdParams, DECRYPTION_SHARE_MAX_BYTES,
};
use super::{Ciphertext, DiscreteLogTable};
use crate::audit::AuditContext;
use crate::codec::{Reader, Writer};
use crate::error::{MpcError, Result};
use crate::group::decode_scalar;
use crate::protocol::{audited, RunContext, ThreatModel};
use crate::transport::{broadcast_round, exchange_round, Transport};

/// The threat model of [`generate_key`] and [`decrypt_jointly`].
pub const THRESHOLD_THREAT_MODEL: ThreatModel = ThreatModel {
    adversary: "malicious (with abort)",
    corrupted: "t-1",
    assumptions: "authenticated private channels; a site that cheats provably is disqualified, \
                  any other deviation aborts the run",
};

const VERSION: u8 = 1;
const DEAL: u8 = 0x31;
const COMPLAIN: u8 = 0x32;
const ANSWER: u8 = 0x33;
const CONFIRM: u8 = 0x34;
const SHARES: u8 = 0x41;
/// The longest encoding of a dealer message (1000 commitments and a proof).
const DEALER_MESSAGE_MAX_BYTES: usize = 5 + 3 * 4 + 4 + 32 * 1000 + 128;

/// What one site holds after key generation.
#[derive(Debug)]
pub struct KeyGeneration {
    /// This site's key share (the joint key is `share.public().joint()`).
    pub share: KeyShare,
    /// The dealers (site indices, 1..=n) excluded by the complaint round.
    pub disqualified: Vec<u32>,
}

/// The result of [`decrypt_jointly`] at one site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JointDecryption {
    /// `m·G` for each ciphertext.
    pub points: Vec<RistrettoPoint>,
    /// Transport parties whose shares were refused (malformed, for another key or
    /// ciphertexts, or failing their proofs).
    pub refused: Vec<usize>,
}

fn digest(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Binds the parameters and the session, so that sites configured differently refuse each
/// other before anything else.
fn agreement(params: ThresholdParams, session: &[u8]) -> [u8; 32] {
    let header = [params.threshold().to_le_bytes(), params.sites().to_le_bytes()].concat();
    digest(b"medi-privacy/v1/threshold-dkg/agreement", &[&header, session])
}

/// Runs key generation as site `transport.party() + 1` of `params.sites()` (one site per
/// transport party), for `session` (an identifier unique to this key, the same at every site).
/// Records a `ProtocolRun` event (`threshold-elgamal-keygen`) and the `KeyGeneration` event.
pub fn generate_key(
    transport: &mut dyn Transport,
    params: ThresholdParams,
    session: &[u8],
    rng: &mut SecureRng,
    audit: &AuditContext<'_>,
) -> Result<KeyGeneration> {
    let context = RunContext { audit: audit.sink, principal: audit.principal };
    audited(&context, "threshold-elgamal-keygen", THRESHOLD_THREAT_MODEL, transport, |t| {
        if t.parties() != params.sites() as usize {
            return Err(MpcError::InvalidInput("one transport party per site is needed".into()));
        }
        Keygen::run(t, params, session, rng, audit)
    })
}

/// One dealer's answers to complaints: (accuser, revealed share).
type Answers = Vec<(u32, Scalar)>;

/// One site's view of a key-generation run.
struct Keygen<'a> {
    params: ThresholdParams,
    session: &'a [u8],
    /// This site's index, 1..=n.
    me: u32,
    /// Every dealer's message (index i − 1), as received.
    messages: Vec<DealerMessage>,
    /// The encodings the round-2 digest covers.
    message_bytes: Vec<Vec<u8>>,
    /// `f_i(me)` as received from dealer i.
    shares: Vec<Scalar>,
}

impl Drop for Keygen<'_> {
    fn drop(&mut self) {
        self.shares.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl<'a> Keygen<'a> {
    fn run(
        t: &mut dyn Transport,
        params: ThresholdParams,
        session: &'a [u8],
        rng: &mut SecureRng,
        audit: &AuditContext<'_>,
    ) -> Result<KeyGeneration> {
        // party < n <= 1000, so the site index fits in u32.
        let me = t.party() as u32 + 1;
        let dealing = deal(params, me, session, rng)?;
        Self::complete(t, params, session, &dealing, &dealing.shares, audit)
    }

    /// Rounds 1 to 4 with this site's `dealing`, answering complaints with `answers` (the
    /// dealing's own shares for an honest site; tests pass others to play a cheat).
    fn complete(
        t: &mut dyn Transport,
        params: ThresholdParams,
        session: &'a [u8],
        dealing: &super::threshold::Dealing,
        answers: &[Scalar],
        audit: &AuditContext<'_>,
    ) -> Result<KeyGeneration> {
        let me = dealing.message.sender;
        if me as usize != t.party() + 1 {
            return Err(MpcError::InvalidInput("the dealing is not this site's".into()));
        }
        let mut state = Self::deal_round(t, params, session, me, dealing)?;
        let (complaints, complaints_digest) = state.complain_round(t)?;
        let (answers, answers_digest) =
            state.answer_round(t, &complaints, &complaints_digest, answers)?;
        confirm_round(t, &answers_digest)?;
        let disqualified = state.settle(&complaints, &answers);
        let (messages, shares): (Vec<DealerMessage>, Vec<Scalar>) = state
            .messages
            .iter()
            .zip(&state.shares)
            .filter(|(m, _)| !disqualified.contains(&m.sender))
            .map(|(m, s)| (m.clone(), *s))
            .unzip();
        let mut shares = shares;
        let share = finish_keygen_qualified(params, me, session, &messages, &shares, audit);
        shares.iter_mut().for_each(Zeroize::zeroize);
        if !disqualified.is_empty() {
            tracing::warn!(site = me, disqualified = ?disqualified, "dealers disqualified");
        }
        Ok(KeyGeneration { share: share?, disqualified })
    }

    /// Round 1: send every site the broadcast message and its private share.
    fn deal_round(
        t: &mut dyn Transport,
        params: ThresholdParams,
        session: &'a [u8],
        me: u32,
        dealing: &super::threshold::Dealing,
    ) -> Result<Self> {
        let header = agreement(params, session);
        let own = dealing.message.to_bytes();
        let mut outgoing: Vec<Vec<u8>> =
            dealing.shares.iter().map(|share| deal_message(&header, &own, share)).collect();
        let received = exchange_round(t, &outgoing);
        outgoing.iter_mut().for_each(Zeroize::zeroize);
        let received = received?;
        let n = params.sites() as usize;
        let (mut messages, mut message_bytes, mut shares) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for (party, bytes) in received.iter().enumerate() {
            if party + 1 == me as usize {
                messages.push(dealing.message.clone());
                message_bytes.push(own.clone());
                shares.push(dealing.shares[party]);
                continue;
            }
            let mut r = Reader::new(bytes, "threshold dealing");
            r.version(VERSION)?;
            r.expect(DEAL, "unexpected step")?;
            if r.array::<32>()? != header {
                return Err(MpcError::ProtocolMismatch("sites run different key generations"));
            }
            let len = r.u32()? as usize;
            if len > DEALER_MESSAGE_MAX_BYTES {
                return Err(MpcError::Malformed { what: "threshold dealing", reason: "length" });
            }
            let encoded = r.take(len)?;
            let message = DealerMessage::from_bytes(encoded)?;
            if message.sender as usize != party + 1 {
                return Err(MpcError::ProtocolMismatch("a dealing names another sender"));
            }
            let share = decode_scalar(r.take(32)?, "threshold dealing")?;
            r.finish()?;
            messages.push(message);
            message_bytes.push(encoded.to_vec());
            shares.push(share);
        }
        Ok(Self { params, session, me, messages, message_bytes, shares })
    }

    /// Whether dealer `i`'s broadcast is valid (the same verdict at every honest site).
    fn message_valid(&self, i: u32) -> bool {
        verify_message(self.params, self.session, &self.messages[i as usize - 1]).is_ok()
    }

    /// Round 2: complaints. Returns `complaints[j − 1]`, the dealers site j accused, and the
    /// digest of the round.
    fn complain_round(&self, t: &mut dyn Transport) -> Result<(Vec<Vec<u32>>, [u8; 32])> {
        let parts: Vec<&[u8]> = self.message_bytes.iter().map(Vec::as_slice).collect();
        let echo = digest(b"medi-privacy/v1/threshold-dkg/dealings", &parts);
        let mine: Vec<u32> = (1..=self.params.sites())
            .filter(|&i| i != self.me && self.message_valid(i))
            .filter(|&i| {
                let index = i as usize - 1;
                check_share_value(&self.messages[index], self.me, &self.shares[index]).is_err()
            })
            .collect();
        let mut w = Writer::with_capacity(40 + 4 * mine.len());
        w.u8(VERSION).u8(COMPLAIN).bytes(&echo);
        // At most n - 1 <= 999 complaints.
        w.u16(mine.len() as u16);
        mine.iter().for_each(|i| {
            w.u32(*i);
        });
        let own = w.finish();
        let received = broadcast_round(t, &own)?;
        let mut complaints = Vec::with_capacity(received.len());
        for (party, bytes) in received.iter().enumerate() {
            if party + 1 == self.me as usize {
                complaints.push(mine.clone());
                continue;
            }
            let mut r = Reader::new(bytes, "threshold complaints");
            r.version(VERSION)?;
            r.expect(COMPLAIN, "unexpected step")?;
            if r.array::<32>()? != echo {
                return Err(MpcError::ProtocolMismatch(
                    "a site sent different dealings to different sites",
                ));
            }
            let count = usize::from(r.u16()?);
            let accused = (0..count).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
            r.finish()?;
            let accuser = party as u32 + 1;
            let mut sorted = accused.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != accused.len()
                || accused.iter().any(|&i| i == 0 || i > self.params.sites() || i == accuser)
            {
                return Err(MpcError::Malformed { what: "threshold complaints", reason: "dealer" });
            }
            complaints.push(accused);
        }
        Ok((complaints, self.round_digest(&received, &own)))
    }

    /// Round 3: each dealer reveals the shares it was accused over, with the digest of the
    /// complaints round. Returns `answers[i − 1]`, the (accuser, revealed share) pairs of
    /// dealer i, and the digest of the round.
    fn answer_round(
        &self,
        t: &mut dyn Transport,
        complaints: &[Vec<u32>],
        echo: &[u8; 32],
        my_shares: &[Scalar],
    ) -> Result<(Vec<Answers>, [u8; 32])> {
        let accusers: Vec<u32> = complaints
            .iter()
            .enumerate()
            .filter(|(_, accused)| accused.contains(&self.me))
            .map(|(j, _)| j as u32 + 1)
            .collect();
        let mut w = Writer::with_capacity(40 + 36 * accusers.len());
        w.u8(VERSION).u8(ANSWER).bytes(echo);
        // At most n - 1 accusers.
        w.u16(accusers.len() as u16);
        for j in &accusers {
            w.u32(*j).bytes(my_shares[*j as usize - 1].as_bytes());
        }
        let own = w.finish();
        let received = broadcast_round(t, &own)?;
        let mut answers = Vec::with_capacity(received.len());
        for (party, bytes) in received.iter().enumerate() {
            if party + 1 == self.me as usize {
                answers.push(accusers.iter().map(|j| (*j, my_shares[*j as usize - 1])).collect());
                continue;
            }
            let mut r = Reader::new(bytes, "threshold answers");
            r.version(VERSION)?;
            r.expect(ANSWER, "unexpected step")?;
            if r.array::<32>()? != *echo {
                return Err(MpcError::ProtocolMismatch(
                    "a site sent different complaints to different sites",
                ));
            }
            let count = usize::from(r.u16()?);
            if count >= self.params.sites() as usize {
                return Err(MpcError::Malformed { what: "threshold answers", reason: "count" });
            }
            let revealed = (0..count)
                .map(|_| {
                    let j = r.u32()?;
                    Ok((j, decode_scalar(r.take(32)?, "threshold answers")?))
                })
                .collect::<Result<Vec<_>>>()?;
            r.finish()?;
            answers.push(revealed);
        }
        Ok((answers, self.round_digest(&received, &own)))
    }

    /// The digest of one round as this site saw it (its own message in its own slot), which
    /// the next round's messages carry so that every site can check the others saw the same.
    fn round_digest(&self, received: &[Vec<u8>], own: &[u8]) -> [u8; 32] {
        let me = self.me as usize - 1;
        let parts: Vec<&[u8]> = received
            .iter()
            .enumerate()
            .map(|(p, m)| if p == me { own } else { m.as_slice() })
            .collect();
        digest(b"medi-privacy/v1/threshold-dkg/round", &parts)
    }

    /// The verdict on the agreed views: the disqualified dealers. Replaces an accused share by
    /// the revealed one where the answer holds.
    fn settle(&mut self, complaints: &[Vec<u32>], answers: &[Answers]) -> Vec<u32> {
        let mut disqualified = Vec::new();
        for i in 1..=self.params.sites() {
            let index = i as usize - 1;
            if !self.message_valid(i) {
                disqualified.push(i);
                continue;
            }
            let accusers = complaints
                .iter()
                .enumerate()
                .filter(|(_, accused)| accused.contains(&i))
                .map(|(j, _)| j as u32 + 1);
            let mut upheld = false;
            for j in accusers {
                let revealed = answers[index].iter().find(|(k, _)| *k == j).map(|(_, s)| *s);
                match revealed {
                    Some(share) if check_share_value(&self.messages[index], j, &share).is_ok() => {
                        if j == self.me {
                            self.shares[index] = share;
                        }
                    }
                    _ => upheld = true,
                }
            }
            if upheld {
                disqualified.push(i);
            }
        }
        disqualified
    }
}

/// The round-1 message to one site: the broadcast part and that site's private share.
fn deal_message(header: &[u8; 32], message: &[u8], share: &Scalar) -> Vec<u8> {
    let mut w = Writer::with_capacity(80 + message.len());
    w.u8(VERSION).u8(DEAL).bytes(header);
    // A dealer message is at most DEALER_MESSAGE_MAX_BYTES < u32::MAX.
    w.u32(message.len() as u32).bytes(message).bytes(share.as_bytes());
    w.finish()
}

/// Sends the round-4 confirmation and checks everyone's.
fn confirm_round(t: &mut dyn Transport, echo: &[u8; 32]) -> Result<()> {
    let mut w = Writer::with_capacity(34);
    w.u8(VERSION).u8(CONFIRM).bytes(echo);
    let received = broadcast_round(t, &w.finish())?;
    for (party, bytes) in received.iter().enumerate() {
        if party == t.party() {
            continue;
        }
        let mut r = Reader::new(bytes, "threshold confirmation");
        r.version(VERSION)?;
        r.expect(CONFIRM, "unexpected step")?;
        if r.array::<32>()? != *echo {
            return Err(MpcError::ProtocolMismatch(
                "a site sent different answers to different sites",
            ));
        }
        r.finish()?;
    }
    Ok(())
}

/// Decrypts `ciphertexts` jointly with the other sites of `transport`, each holding a share
/// of the same key. Every site learns `m·G` of every ciphertext. Needs at least `t` sites with
/// valid shares (this one included). Records this site's `Decryption` event (one for the batch)
/// and a `ProtocolRun` event (`threshold-elgamal-decrypt`).
pub fn decrypt_jointly(
    transport: &mut dyn Transport,
    share: &KeyShare,
    ciphertexts: &[Ciphertext],
    rng: &mut SecureRng,
    audit: &AuditContext<'_>,
) -> Result<JointDecryption> {
    let context = RunContext { audit: audit.sink, principal: audit.principal };
    audited(&context, "threshold-elgamal-decrypt", THRESHOLD_THREAT_MODEL, transport, |t| {
        joint_decryption(t, share, ciphertexts, rng, audit)
    })
}

/// [`decrypt_jointly`], then the plaintexts in `[lo, lo + 2^bits)` from `table`
/// ([`DiscreteLogTable::solve_batch`]); any plaintext outside the range refuses the batch.
pub fn decrypt_jointly_values(
    transport: &mut dyn Transport,
    share: &KeyShare,
    ciphertexts: &[Ciphertext],
    table: &DiscreteLogTable,
    range: (i64, u32),
    rng: &mut SecureRng,
    audit: &AuditContext<'_>,
) -> Result<Vec<i64>> {
    let joint = decrypt_jointly(transport, share, ciphertexts, rng, audit)?;
    table.solve_batch(&joint.points, range.0, range.1)?.into_iter().collect()
}

fn joint_decryption(
    t: &mut dyn Transport,
    share: &KeyShare,
    ciphertexts: &[Ciphertext],
    rng: &mut SecureRng,
    audit: &AuditContext<'_>,
) -> Result<JointDecryption> {
    let public = share.public();
    let encoded: Vec<Vec<u8>> = ciphertexts.iter().map(Ciphertext::to_bytes).collect();
    let key = public.to_bytes();
    let mut parts: Vec<&[u8]> = vec![&key];
    parts.extend(encoded.iter().map(Vec::as_slice));
    let header = digest(b"medi-privacy/v1/threshold-decrypt/agreement", &parts);
    let own = share.decryption_shares(ciphertexts, rng, audit)?;
    let mut w = Writer::with_capacity(40 + ciphertexts.len() * (2 + DECRYPTION_SHARE_MAX_BYTES));
    w.u8(VERSION).u8(SHARES).bytes(&header);
    w.u64(own.len() as u64);
    for s in &own {
        let bytes = s.to_bytes();
        // A share encodes in at most DECRYPTION_SHARE_MAX_BYTES < u16::MAX bytes.
        w.u16(bytes.len() as u16).bytes(&bytes);
    }
    let received = broadcast_round(t, &w.finish())?;
    let mut accepted: Vec<(usize, Vec<DecryptionShare>)> = vec![(t.party(), own)];
    let mut refused = Vec::new();
    for (party, bytes) in received.iter().enumerate() {
        if party == t.party() {
            continue;
        }
        match read_shares(bytes, &header, ciphertexts) {
            Ok(shares) if shares_acceptable(public, ciphertexts, &shares, &accepted) => {
                accepted.push((party, shares));
            }
            Ok(_) | Err(_) => {
                tracing::warn!(party, "refused a site's decryption shares");
                refused.push(party);
            }
        }
    }
    let needed = public.params().threshold() as usize;
    if accepted.len() < needed {
        return Err(MpcError::TooFewShares { given: accepted.len(), needed });
    }
    accepted.sort_by_key(|(party, _)| *party);
    let used = &accepted[..needed];
    let points = (0..ciphertexts.len())
        .map(|k| {
            let chosen: Vec<DecryptionShare> = used.iter().map(|(_, s)| s[k].clone()).collect();
            public.interpolate(&ciphertexts[k], &chosen)
        })
        .collect();
    Ok(JointDecryption { points, refused })
}

fn read_shares(
    bytes: &[u8],
    header: &[u8; 32],
    ciphertexts: &[Ciphertext],
) -> Result<Vec<DecryptionShare>> {
    let mut r = Reader::new(bytes, "threshold decryption shares");
    r.version(VERSION)?;
    r.expect(SHARES, "unexpected step")?;
    if r.array::<32>()? != *header {
        return Err(MpcError::ProtocolMismatch("sites decrypt different ciphertexts or keys"));
    }
    // Each share takes at least 2 bytes of length prefix.
    let count = r.count(2)?;
    if count != ciphertexts.len() {
        return Err(MpcError::Malformed { what: "threshold decryption shares", reason: "count" });
    }
    let shares = (0..count)
        .map(|_| {
            let len = usize::from(r.u16()?);
            DecryptionShare::from_bytes(r.take(len)?)
        })
        .collect::<Result<Vec<_>>>()?;
    r.finish()?;
    Ok(shares)
}

/// One site's shares: one index throughout, not already used by an accepted site, every proof
/// valid.
fn shares_acceptable(
    public: &super::threshold::ThresholdPublicKey,
    ciphertexts: &[Ciphertext],
    shares: &[DecryptionShare],
    accepted: &[(usize, Vec<DecryptionShare>)],
) -> bool {
    let Some(index) = shares.first().map(|s| s.index) else {
        // No ciphertext: nothing to check, but also nothing contributed.
        return ciphertexts.is_empty();
    };
    let fresh = accepted.iter().all(|(_, theirs)| theirs.first().map(|s| s.index) != Some(index));
    fresh
        && shares.iter().all(|s| s.index == index)
        && shares.iter().zip(ciphertexts).all(|(s, c)| public.verify_share(c, s).is_ok())
}

#[cfg(test)]
mod tests;
