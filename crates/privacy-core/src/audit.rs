//! The audit seam: every crate reports what it released or refused through [`AuditSink`].
//!
//! Events carry metadata only — mechanism, guarantee, parameters, principal, outcome — and
//! never a data value, a secret, a share or a gradient. Released values are allowed: they are
//! the differentially private output itself, which is public by design.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::guarantee::GuaranteeRecord;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEventKind {
    /// A dataset's budget was created.
    BudgetCreated,
    /// A costed request is about to be charged. Recorded before the ledger reservation, so a
    /// log that cannot be written stops the request before it costs anything.
    Request,
    /// A differentially private result left the system.
    Release,
    /// A request was refused; nothing was released.
    Refusal,
    /// The ledger granted, committed or cancelled a charge against a budget.
    BudgetCharge,
    /// Budget was handed from a parent budget to a child (institution → project → analyst).
    BudgetAllocation,
    /// A table was anonymized: job, privacy models, chosen transformation, risk figures.
    AnonymizationRun,
    /// Direct identifiers were removed, masked or pseudonymized: profile and rule per column.
    Deidentification,
    /// A key was generated: algorithm, size and public fingerprint, never the key itself.
    KeyGeneration,
    /// A secure-computation protocol ran: protocol, parties, threat model, outcome.
    ProtocolRun,
    /// A federated-learning round finished: round, sites, aggregation, DP parameters.
    FederatedRound,
    /// The audit log itself was maintained: a torn last line set aside after a crash, a signing
    /// key rotated. Written by `privacy-audit` only.
    LogMaintenance,
    /// Ciphertexts were decrypted (or a threshold decryption share was produced): algorithm,
    /// public key fingerprint and how many, never a plaintext.
    Decryption,
}

/// One event for the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditEventKind,
    /// Who asked.
    pub principal: String,
    /// The dataset concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dataset: Option<String>,
    /// The guarantee of the release, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub guarantee: Option<GuaranteeRecord>,
    /// Further metadata (mechanism, parameters, reason of a refusal): never data values.
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    /// An event with no dataset, guarantee or details yet.
    pub fn new(kind: AuditEventKind, principal: impl Into<String>) -> Self {
        Self {
            kind,
            principal: principal.into(),
            dataset: None,
            guarantee: None,
            details: serde_json::Map::new(),
        }
    }

    /// Sets the dataset.
    pub fn with_dataset(mut self, dataset: impl Into<String>) -> Self {
        self.dataset = Some(dataset.into());
        self
    }

    /// Sets the guarantee.
    pub fn with_guarantee(mut self, guarantee: GuaranteeRecord) -> Self {
        self.guarantee = Some(guarantee);
        self
    }

    /// Adds one detail.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Somewhere audit events are durably recorded.
///
/// `record` returns only once the event is durable; an operation whose event could not be
/// recorded must not be reported as done.
pub trait AuditSink {
    /// Records one event.
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError>;
}

/// A sink that drops every event, for library users who keep no audit log.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullAuditSink;

impl AuditSink for NullAuditSink {
    fn record(&self, _event: &AuditEvent) -> Result<(), CoreError> {
        Ok(())
    }
}
