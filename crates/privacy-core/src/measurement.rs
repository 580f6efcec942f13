//! The measurement abstraction: a release whose privacy cost is known before it runs.
//!
//! A [`Measurement`] carries everything needed to state its guarantee — the neighbouring
//! relation it protects, its sensitivity under that relation (derived from declared bounds,
//! never from the data), and the noise it will add — so a ledger can reserve its cost, and
//! refuse it, before any noise is drawn. Only then is [`Measurement::release`] called.

use crate::error::CoreError;
use crate::guarantee::{PrivacyCost, PrivacyGuarantee};
use crate::rng::SecureRng;

/// Which data sets count as neighbours: the unit whose presence the guarantee hides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NeighbouringRelation {
    /// Data sets that differ by adding or removing every row of one privacy unit (one patient),
    /// where each unit contributes at most `max_rows_per_unit` rows after truncation.
    AddRemoveUnit {
        /// The contribution bound enforced before aggregation.
        max_rows_per_unit: u64,
    },
    /// Data sets that differ by replacing the rows of one privacy unit with other rows.
    ReplaceUnit {
        /// The contribution bound enforced before aggregation.
        max_rows_per_unit: u64,
    },
}

/// An upper bound on how far one change under the neighbouring relation can move a query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sensitivity {
    l1: f64,
    l2: f64,
}

impl Sensitivity {
    /// A sensitivity with the given L1 and L2 bounds; both must be finite and ≥ 0, and
    /// `l2 ≤ l1` as for every vector.
    pub fn new(l1: f64, l2: f64) -> Result<Self, CoreError> {
        let valid = |x: f64| x.is_finite() && x >= 0.0;
        if !valid(l1) || !valid(l2) {
            return Err(CoreError::invalid("sensitivity", "must be finite and >= 0"));
        }
        if l2 > l1 {
            return Err(CoreError::invalid("sensitivity", "l2 cannot exceed l1"));
        }
        Ok(Self { l1, l2 })
    }

    /// The sensitivity of a scalar query, where L1 and L2 coincide.
    pub fn scalar(delta: f64) -> Result<Self, CoreError> {
        Self::new(delta, delta)
    }

    /// The L1 bound.
    pub fn l1(self) -> f64 {
        self.l1
    }

    /// The L2 bound.
    pub fn l2(self) -> f64 {
        self.l2
    }
}

/// A randomized release with a guarantee fixed before it runs.
pub trait Measurement {
    /// What the release reads, e.g. a column of a data frame.
    type Input: ?Sized;
    /// What it releases.
    type Output;
    /// What can go wrong while running it.
    type Error: From<CoreError>;

    /// The neighbouring relation the guarantee is stated for.
    fn relation(&self) -> NeighbouringRelation;

    /// The sensitivity under [`Self::relation`], from declared bounds only.
    fn sensitivity(&self) -> Sensitivity;

    /// The guarantee the release gives.
    fn guarantee(&self) -> PrivacyGuarantee;

    /// The (ε, δ) cost to reserve under basic composition.
    fn cost(&self) -> Result<PrivacyCost, CoreError>;

    /// Runs the release, drawing all noise from `rng`.
    fn release(
        &self,
        input: &Self::Input,
        rng: &mut SecureRng,
    ) -> Result<Self::Output, Self::Error>;
}
