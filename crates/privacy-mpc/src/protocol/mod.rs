//! Protocols run by n parties over a [`Transport`]: secure sum, mean and variance,
//! Beaver-triple multiplication and secure comparison by bit decomposition.
//!
//! Every protocol here is **semi-honest secure against up to n − 1 colluding parties**: parties
//! that follow the protocol but pool everything they see learn nothing beyond their own inputs
//! and the declared output. The building blocks are additive sharing (any n − 1 shares are
//! uniform) and openings of values masked by uniformly random shares, so the simulation
//! argument is the textbook one (Goldreich, *Foundations of Cryptography* vol. 2, §7.3;
//! Beaver 1991 for multiplication triples; Damgård, Fitzi, Kiltz, Nielsen, Toft 2006 and
//! Escudero, Ghosh, Keller, Rachuri, Scholl 2020 for bit decomposition with edaBits).
//!
//! None of them is **malicious secure**: a party that deviates can make the output wrong without
//! being detected (there are no MACs on shares). Inputs of honest parties stay hidden even then,
//! because every message an honest party sends is masked by fresh randomness. The protocols
//! that use preprocessing ([`beaver`], [`compare`], [`stats::secure_variance`]) also assume a
//! dealer that follows the protocol and colludes with no party; [`preprocessing::Preprocessing`]
//! lets an OT- or Paillier-based generator replace it without changing the protocols.
//!
//! Each top-level run (sum, mean, variance, comparison) records one
//! [`privacy_core::AuditEventKind::ProtocolRun`] event: protocol, party count, this party's
//! number, threat model and outcome. Never an input, a share or an output value.

pub mod arith;
pub mod beaver;
pub mod compare;
pub mod dealer;
pub(crate) mod message;
pub mod preprocessing;
pub mod stats;

use privacy_core::{AuditEvent, AuditEventKind, AuditSink};

use crate::error::MpcError;
use crate::transport::Transport;

pub use preprocessing::{
    BitPreprocessing, DealRequest, DealerStock, Preprocessing, StockBinding, TrustedDealer,
};

/// Who the adversary may be, and how many parties it may control, for which a protocol keeps
/// its inputs private and its output correct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreatModel {
    /// `semi-honest` (follows the protocol, pools its views) or `malicious`.
    pub adversary: &'static str,
    /// How many of the n parties may be corrupted, as text (`n-1`).
    pub corrupted: &'static str,
    /// Further assumptions, e.g. a dealer that colludes with no party.
    pub assumptions: &'static str,
}

// FIXME: no protocol here detects a cheating party (no MACs on shares, as SPDZ has); a malicious
// party can change outputs undetected. Authenticated shares would make them malicious secure.

/// Semi-honest, up to n − 1 of n parties, no further trust.
pub const SEMI_HONEST_DISHONEST_MAJORITY: ThreatModel = ThreatModel {
    adversary: "semi-honest",
    corrupted: "n-1",
    assumptions: "authenticated private channels",
};

/// Semi-honest, up to n − 1 of n parties, with a trusted dealer for preprocessing.
pub const SEMI_HONEST_WITH_DEALER: ThreatModel = ThreatModel {
    adversary: "semi-honest",
    corrupted: "n-1",
    assumptions:
        "authenticated private channels; a preprocessing dealer that colludes with no party",
};

/// Where protocol runs are reported, and on whose behalf.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    /// The audit sink receiving one `ProtocolRun` event per run.
    pub audit: &'a dyn AuditSink,
    /// Who runs the protocol at this party.
    pub principal: &'a str,
}

/// Runs `body` and records its outcome. A run whose event cannot be recorded is reported as
/// failed, even if the protocol itself completed.
pub(crate) fn audited<T>(
    context: &RunContext<'_>,
    protocol: &str,
    threat: ThreatModel,
    transport: &mut dyn Transport,
    body: impl FnOnce(&mut dyn Transport) -> Result<T, MpcError>,
) -> Result<T, MpcError> {
    let (party, parties) = (transport.party(), transport.parties());
    let result = body(transport);
    let outcome = match &result {
        Ok(_) => "completed".to_owned(),
        Err(error) => format!("failed: {}", error_code(error)),
    };
    let event = run_event(context.principal, protocol, threat, party, parties, &outcome);
    tracing::info!(protocol, party, parties, outcome = %outcome, "protocol run");
    context.audit.record(&event).map_err(|e| MpcError::Audit(e.to_string()))?;
    result
}

/// The bound on the inputs of the two-owner protocols (comparison, product): |v| < 2^62.
pub(crate) const OWNER_INPUT_BOUND: i64 = 1 << 62;

/// This party's inputs to a protocol where parties `owners.0` and `owners.1` each input
/// `count` integers in (−2^62, 2^62) and every other party inputs zeros. Refuses equal or
/// unknown owners, an owner with another count, and values outside the bound.
pub(crate) fn owner_inputs<R: crate::ring::Ring>(
    t: &dyn Transport,
    owners: (usize, usize),
    values: &[i64],
    count: usize,
    what: &'static str,
) -> Result<Vec<R>, MpcError> {
    let (a, b) = owners;
    if a == b || a >= t.parties() || b >= t.parties() {
        return Err(MpcError::InvalidInput("two distinct owners are needed".into()));
    }
    let owns = t.party() == a || t.party() == b;
    if owns && values.len() != count {
        return Err(MpcError::InvalidInput("an owner must input exactly count values".into()));
    }
    if values.iter().any(|v| v.unsigned_abs() >= OWNER_INPUT_BOUND as u64) {
        return Err(MpcError::OutOfRange { what, reason: "outside (-2^62, 2^62)" });
    }
    Ok(if owns {
        values.iter().map(|v| R::from_i128(i128::from(*v))).collect()
    } else {
        vec![R::ZERO; count]
    })
}

/// The audit event of one run: metadata only.
pub fn run_event(
    principal: &str,
    protocol: &str,
    threat: ThreatModel,
    party: usize,
    parties: usize,
    outcome: &str,
) -> AuditEvent {
    AuditEvent::new(AuditEventKind::ProtocolRun, principal)
        .with_detail("protocol", protocol)
        .with_detail("parties", parties)
        .with_detail("party", party)
        .with_detail("adversary", threat.adversary)
        .with_detail("corrupted_parties_tolerated", threat.corrupted)
        .with_detail("assumptions", threat.assumptions)
        .with_detail("outcome", outcome)
}

/// A short, data-free code for an error, for audit records.
pub fn error_code(error: &MpcError) -> &'static str {
    match error {
        MpcError::Malformed { .. }
        | MpcError::NonCanonical { .. }
        | MpcError::UnsupportedVersion { .. }
        | MpcError::WrongObjectType { .. } => "malformed_message",
        MpcError::Transport(_) | MpcError::Timeout(_) => "transport_failure",
        MpcError::Tls(_) => "authentication_failure",
        MpcError::ProtocolMismatch(_) => "protocol_mismatch",
        MpcError::OutOfRange { .. } => "out_of_range",
        MpcError::PreprocessingExhausted(_) => "preprocessing_exhausted",
        MpcError::InvalidInput(_) | MpcError::InvalidRecord { .. } => "invalid_input",
        MpcError::Audit(_) => "audit_failure",
        _ => "other",
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one closure per party of an in-process network, each on its own thread.

    use privacy_core::SecureRng;

    use crate::transport::memory::InProcessTransport;
    use crate::transport::InProcessNetwork;

    pub(crate) fn run_parties<T: Send + 'static>(
        parties: usize,
        seed: u64,
        body: impl Fn(usize, &mut InProcessTransport, &mut SecureRng) -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let body = std::sync::Arc::new(body);
        let handles: Vec<_> = InProcessNetwork::transports(parties)
            .into_iter()
            .enumerate()
            .map(|(party, mut transport)| {
                let body = std::sync::Arc::clone(&body);
                std::thread::spawn(move || {
                    let mut rng = SecureRng::seeded_for_tests_only(seed * 1000 + party as u64);
                    body(party, &mut transport, &mut rng)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("party thread panicked")).collect()
    }
}
