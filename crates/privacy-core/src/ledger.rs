//! The budget-ledger seam: reserve a cost before releasing, then commit it.
//!
//! The protocol every release follows is **reserve → release → commit**. A reservation counts
//! against the budget from the moment it is granted, so a crash between reservation and commit
//! leaves the budget charged (the safe side): an answer can be lost, a budget can never be
//! under-charged. [`BudgetLedger::cancel`] exists only for the case where no noise was drawn at
//! all (for instance the data could not be read after the reservation).

use crate::error::CoreError;
use crate::guarantee::PrivacyCost;

/// A request to charge a dataset's budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The dataset whose budget is charged.
    pub dataset: String,
    /// Who asks (an analyst or service name).
    pub principal: String,
    /// What the release will spend.
    pub cost: PrivacyCost,
    /// What the charge is for, e.g. the queries; never data values.
    pub description: String,
}

/// What a charge pays for, recorded by ledgers that keep a history: the mechanism and its
/// parameters (noise scale, sensitivity, sampling rate, steps…), never data values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChargeDetails {
    /// The mechanism, e.g. `discrete_gaussian` or `dp_sgd`.
    pub mechanism: String,
    /// Its parameters as text, e.g. `{"sigma":1.1,"sampling_rate":0.01,"steps":10000}`.
    pub parameters: String,
}

/// A granted reservation: the cost already counts against the budget.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation must be committed or cancelled"]
pub struct Reservation {
    /// The ledger's identifier of this charge.
    pub id: i64,
    /// The dataset charged.
    pub dataset: String,
    /// The cost reserved.
    pub cost: PrivacyCost,
}

/// A dataset's budget and what has been charged against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The total budget.
    pub total: PrivacyCost,
    /// Committed and reserved charges together.
    pub spent: PrivacyCost,
}

impl BudgetStatus {
    /// What is left: `total - spent`, never negative.
    pub fn remaining(&self) -> PrivacyCost {
        self.total.saturating_sub(self.spent)
    }
}

/// A store of budgets that grants or refuses charges atomically.
pub trait BudgetLedger {
    /// Reserves `request.cost`, or refuses with [`CoreError::BudgetExceeded`] (recording the
    /// refusal) when it does not fit in what is left. Atomic with respect to every other
    /// caller of the same ledger, in this process or another.
    fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, CoreError>;

    /// [`Self::reserve`], recording what the charge pays for. Ledgers without a history ignore
    /// `details`; the default does exactly that.
    fn reserve_with_details(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, CoreError> {
        let _ = details;
        self.reserve(request)
    }

    /// Marks a reservation as released; the cost stays charged.
    fn commit(&self, reservation: Reservation) -> Result<(), CoreError>;

    /// Returns a reservation's cost to the budget. Only call it when no noise was drawn.
    fn cancel(&self, reservation: Reservation) -> Result<(), CoreError>;

    /// The budget and what has been spent of it.
    fn status(&self, dataset: &str) -> Result<BudgetStatus, CoreError>;
}
