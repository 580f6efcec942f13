//! The budget ledgers: what they record, the hierarchy of budgets, and the parts every backend
//! shares (validation, records, audit events).
//!
//! Two backends implement [`BudgetStore`]: [`SqliteLedger`] (the default, one file, processes
//! on one machine) and, behind the `postgres` cargo feature, `PostgresLedger` (a server shared
//! by analysts on many machines). They keep the same tables and make the same decisions; only
//! the locking differs (`BEGIN IMMEDIATE` against `SELECT … FOR UPDATE`).
//!
//! # Hierarchy
//!
//! A budget may be **allocated** from a parent (institution → project → analyst, or dataset →
//! study). Allocation hands budget over: in one transaction the parent is charged the child's
//! total as a committed charge of kind `allocation`, and the child is created with that total.
//! So the parent's spent amount includes everything handed down, a child can never be given
//! more than its parent has left, and by induction the charges of a whole tree never exceed the
//! root's total. **Invariant:** for every budget, `spent` (its own counted charges plus its
//! allocations) never exceeds `total`, in ε or in δ.
//!
//! # History
//!
//! Every creation, allocation, reservation, commit, cancellation and refusal appends one row to
//! an event journal in the same transaction as the change it records, with time, principal,
//! mechanism and parameters: the history cannot disagree with the state.

use std::fmt;
use std::sync::Arc;

use privacy_core::{
    AuditEvent, AuditEventKind, AuditSink, BudgetStatus, ChargeDetails, ChargeRequest, CoreError,
    DeltaAmount, EpsilonAmount, PrivacyCost, Reservation,
};

use crate::error::BudgetError;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// Where a charge is in the reserve → commit / cancel protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChargeState {
    /// Granted and counted against the budget; the release may or may not have happened.
    Reserved,
    /// The release happened (or the budget was handed to a child); counted for good.
    Committed,
    /// No noise was drawn; no longer counted.
    Cancelled,
}

impl ChargeState {
    /// The name stored in the database and shown to users.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Committed => "committed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether a charge in this state counts against the budget.
    pub const fn is_counted(self) -> bool {
        !matches!(self, Self::Cancelled)
    }

    pub(crate) fn from_db(text: &str) -> Result<Self, BudgetError> {
        match text {
            "reserved" => Ok(Self::Reserved),
            "committed" => Ok(Self::Committed),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(BudgetError::Corrupt("unknown charge state")),
        }
    }
}

impl fmt::Display for ChargeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One charge against a budget, as listed by [`BudgetStore::charges`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeRecord {
    /// The ledger's identifier (the [`Reservation::id`]).
    pub id: i64,
    /// Who asked.
    pub principal: String,
    /// What the charge was for.
    pub description: String,
    /// The ε and δ charged.
    pub cost: PrivacyCost,
    /// Where the charge is in the protocol.
    pub state: ChargeState,
    /// When it was reserved, RFC 3339 in UTC with millisecond precision.
    pub created_at: String,
    /// `query` for a release, `allocation` for budget handed to a child.
    pub kind: String,
    /// The mechanism, empty when the caller did not say.
    pub mechanism: String,
    /// The mechanism's parameters, empty when the caller did not say.
    pub parameters: String,
}

/// A refused charge, as listed by [`BudgetStore::refusals`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusalRecord {
    /// The ledger's identifier of the refusal.
    pub id: i64,
    /// Who asked.
    pub principal: String,
    /// What the charge would have been for.
    pub description: String,
    /// What was asked for.
    pub requested: PrivacyCost,
    /// What was left at the time.
    pub remaining: PrivacyCost,
    /// When it was refused, RFC 3339 in UTC with millisecond precision.
    pub created_at: String,
    /// The mechanism, empty when the caller did not say.
    pub mechanism: String,
    /// The mechanism's parameters, empty when the caller did not say.
    pub parameters: String,
}

/// One entry of a budget's event journal, as listed by [`BudgetStore::history`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// The journal's identifier, increasing with time.
    pub id: i64,
    /// `created`, `allocated`, `reserved`, `committed`, `cancelled` or `refused`.
    pub action: String,
    /// The charge concerned, when there is one.
    pub charge_id: Option<i64>,
    /// Who acted.
    pub principal: String,
    /// The mechanism (for an allocation, `allocation:` and the child's name).
    pub mechanism: String,
    /// The mechanism's parameters.
    pub parameters: String,
    /// The amount concerned (the total for `created`).
    pub cost: PrivacyCost,
    /// When, RFC 3339 in UTC with millisecond precision.
    pub created_at: String,
}

/// A budget and its place in the hierarchy, as listed by [`BudgetStore::budget`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetInfo {
    /// The budget's name.
    pub dataset: String,
    /// The budget it was allocated from, if any.
    pub parent: Option<String>,
    /// Its total and what is spent of it (own charges and allocations to children).
    pub status: BudgetStatus,
    /// The budgets allocated from it, sorted.
    pub children: Vec<String>,
}

/// The operations every ledger backend offers, beyond [`privacy_core::BudgetLedger`].
///
/// Every method is one transaction of the backend; see the crate docs for the guarantees.
pub trait BudgetStore: privacy_core::BudgetLedger + Send + Sync {
    /// Creates a root budget, refusing an existing name, an empty name, ε = 0 and δ ≥ 1.
    fn create_budget(&self, dataset: &str, total: PrivacyCost) -> Result<(), BudgetError>;

    /// Hands budget from `parent` to new child budgets, all or nothing: refused (and recorded
    /// as a refusal of the parent) when their sum does not fit in what the parent has left.
    fn allocate(
        &self,
        parent: &str,
        principal: &str,
        children: &[(String, PrivacyCost)],
    ) -> Result<(), BudgetError>;

    /// Reserves a charge, recording what it pays for; see [`crate::SqliteLedger::reserve_detailed`].
    fn reserve_detailed(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, BudgetError>;

    /// Decides many charges in order in one transaction (one disk sync for all): each is
    /// granted or refused exactly as if reserved alone, one after the other.
    fn reserve_many(
        &self,
        requests: &[(ChargeRequest, ChargeDetails)],
    ) -> Result<Vec<Result<Reservation, BudgetError>>, BudgetError>;

    /// Commits many reservations in one transaction, all or nothing.
    fn commit_many(&self, reservations: Vec<Reservation>) -> Result<(), BudgetError>;

    /// A budget's total, spent amount, parent and children.
    fn budget(&self, dataset: &str) -> Result<BudgetInfo, BudgetError>;

    /// Every charge against a budget, oldest first, in every state.
    fn charges(&self, dataset: &str) -> Result<Vec<ChargeRecord>, BudgetError>;

    /// Every refused charge against a budget, oldest first.
    fn refusals(&self, dataset: &str) -> Result<Vec<RefusalRecord>, BudgetError>;

    /// A budget's event journal, oldest first; the last `limit` entries when given.
    fn history(&self, dataset: &str, limit: Option<u32>) -> Result<Vec<HistoryEntry>, BudgetError>;

    /// The names of every budget, sorted.
    fn datasets(&self) -> Result<Vec<String>, BudgetError>;

    /// Checks that every budget's running total equals the sum of its counted charges and
    /// fits within its total: [`BudgetError::Corrupt`] otherwise.
    fn check_consistency(&self) -> Result<(), BudgetError>;
}

pub(crate) fn check_delta(delta: DeltaAmount) -> Result<(), CoreError> {
    if delta.is_valid_delta() {
        Ok(())
    } else {
        Err(CoreError::invalid("delta", "must be in [0, 1)"))
    }
}

/// Checks a new budget's name and total.
/// The longest dataset name a budget may have, in characters: well under what an audit log
/// accepts in one field, so a budget the ledger creates can always be recorded.
pub const MAX_DATASET_NAME_CHARS: usize = 256;

pub(crate) fn check_new_budget(dataset: &str, total: PrivacyCost) -> Result<(), BudgetError> {
    if dataset.trim().is_empty() {
        return Err(CoreError::invalid("dataset", "name must not be empty").into());
    }
    if dataset.chars().count() > MAX_DATASET_NAME_CHARS {
        return Err(CoreError::invalid("dataset", "name longer than 256 characters").into());
    }
    if dataset.chars().any(char::is_control) {
        return Err(CoreError::invalid("dataset", "name must not hold control characters").into());
    }
    if total.epsilon.is_zero() {
        return Err(CoreError::invalid("epsilon", "a budget needs epsilon > 0").into());
    }
    check_delta(total.delta)?;
    cost_to_db(total)?;
    Ok(())
}

/// Checks a charge: not zero in both ε and δ (no mechanism of this workspace is free, so a
/// zero charge is a caller bug), δ below 1, storable.
pub(crate) fn check_charge(cost: PrivacyCost) -> Result<(i64, i64), BudgetError> {
    if cost == PrivacyCost::ZERO {
        return Err(CoreError::invalid("cost", "a charge must spend epsilon or delta").into());
    }
    check_delta(cost.delta)?;
    cost_to_db(cost)
}

pub(crate) fn cost_to_db(cost: PrivacyCost) -> Result<(i64, i64), BudgetError> {
    let epsilon = i64::try_from(cost.epsilon.units());
    let delta = i64::try_from(cost.delta.units());
    Ok((
        epsilon.map_err(|_| BudgetError::AmountTooLarge("epsilon"))?,
        delta.map_err(|_| BudgetError::AmountTooLarge("delta"))?,
    ))
}

pub(crate) fn cost_from_db(epsilon: i64, delta: i64) -> Result<PrivacyCost, BudgetError> {
    let units = |value: i64| {
        u64::try_from(value).map_err(|_| BudgetError::Corrupt("negative privacy amount"))
    };
    Ok(PrivacyCost {
        epsilon: EpsilonAmount::from_units(units(epsilon)?),
        delta: DeltaAmount::from_units(units(delta)?),
    })
}

/// The refusal error for a charge that does not fit.
pub(crate) fn exceeded(dataset: &str, cost: PrivacyCost, remaining: PrivacyCost) -> BudgetError {
    CoreError::BudgetExceeded {
        dataset: dataset.to_owned(),
        requested: cost.to_string(),
        remaining: remaining.to_string(),
    }
    .into()
}

/// Whether `cost` fits in what `status` has left; an overflowing sum fits nothing.
pub(crate) fn fits(status: BudgetStatus, cost: PrivacyCost) -> bool {
    status.spent.checked_add(cost).is_ok_and(|after| after.fits_within(status.total))
}

/// The audit sink of a ledger, if it has one, and the events the ledger reports through it.
#[derive(Clone, Default)]
pub(crate) struct LedgerAudit(Option<Arc<dyn AuditSink + Send + Sync>>);

impl fmt::Debug for LedgerAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "LedgerAudit(sink)" } else { "LedgerAudit(none)" })
    }
}

impl LedgerAudit {
    pub(crate) fn new(sink: Arc<dyn AuditSink + Send + Sync>) -> Self {
        Self(Some(sink))
    }

    /// Records a `BudgetCharge` event for `action` on a charge.
    pub(crate) fn charge(
        &self,
        action: &str,
        dataset: &str,
        principal: &str,
        id: Option<i64>,
        cost: PrivacyCost,
        mechanism: &str,
    ) -> Result<(), CoreError> {
        let Some(sink) = &self.0 else { return Ok(()) };
        let mut event = AuditEvent::new(AuditEventKind::BudgetCharge, principal)
            .with_dataset(dataset)
            .with_detail("action", action)
            .with_detail("epsilon", cost.epsilon.to_string())
            .with_detail("delta", cost.delta.to_string())
            .with_detail("mechanism", mechanism);
        if let Some(id) = id {
            event = event.with_detail("charge_id", id);
        }
        sink.record(&event)
    }

    /// Records a `BudgetAllocation` event for budget handed from `parent` to `child`.
    pub(crate) fn allocation(
        &self,
        parent: &str,
        principal: &str,
        child: &str,
        cost: PrivacyCost,
    ) -> Result<(), CoreError> {
        let Some(sink) = &self.0 else { return Ok(()) };
        let event = AuditEvent::new(AuditEventKind::BudgetAllocation, principal)
            .with_dataset(parent)
            .with_detail("child", child)
            .with_detail("epsilon", cost.epsilon.to_string())
            .with_detail("delta", cost.delta.to_string());
        sink.record(&event)
    }
}

/// The mechanism recorded for an allocation to `child`.
pub(crate) fn allocation_mechanism(child: &str) -> String {
    format!("allocation:{child}")
}

pub(crate) fn log_refusal(request: &ChargeRequest, remaining: PrivacyCost) {
    tracing::info!(
        dataset = %request.dataset,
        principal = %request.principal,
        epsilon = %request.cost.epsilon,
        delta = %request.cost.delta,
        remaining_epsilon = %remaining.epsilon,
        remaining_delta = %remaining.delta,
        "privacy budget charge refused"
    );
}

pub(crate) fn log_reservation(request: &ChargeRequest, id: i64, after: BudgetStatus) {
    let cost = request.cost;
    tracing::info!(
        dataset = %request.dataset,
        principal = %request.principal,
        charge_id = id,
        epsilon = %cost.epsilon,
        delta = %cost.delta,
        "privacy budget reserved"
    );
    let left = after.remaining().epsilon;
    if left.units() <= after.total.epsilon.units() / 10 {
        tracing::warn!(dataset = %request.dataset, remaining_epsilon = %left, "privacy budget nearly spent");
    }
}
