//! Helpers shared by the unit tests of the statistics: budgets and small tables.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use privacy_core::{EpsilonAmount, PrivacyCost};

use crate::noise::NoiseBudget;
use crate::table::{read_table_bytes, BoundedTable, ContributionBound, ReadOptions};

/// A pure ε budget and the matching cost.
pub(crate) fn pure(e: &str) -> (NoiseBudget, PrivacyCost) {
    let epsilon = EpsilonAmount::parse_decimal(e).unwrap();
    (NoiseBudget::Pure(epsilon), PrivacyCost { epsilon, delta: Default::default() })
}

/// A table from CSV text under a contribution bound.
pub(crate) fn table(csv: &str, bound: ContributionBound) -> BoundedTable {
    let df = read_table_bytes(csv.as_bytes().to_vec(), "t", ReadOptions::default()).unwrap();
    BoundedTable::new(df, bound).unwrap()
}

/// A one-column table `v`, one row per unit.
pub(crate) fn column_table(values: impl Iterator<Item = String>) -> BoundedTable {
    let csv = std::iter::once("v".to_owned()).chain(values).collect::<Vec<_>>().join("\n");
    table(&csv, ContributionBound::one_row_per_unit())
}
