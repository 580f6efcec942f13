//! [`SqliteLedger`]: the durable [`BudgetLedger`] over one SQLite file.
//!
//! Every state change is one SQLite transaction; every decision that depends on what has been
//! spent (a reservation) reads and writes inside one `BEGIN IMMEDIATE` transaction, so it holds
//! the database's write lock from before the read until after the write. The trade-off is that
//! reservations on the same file, even for different datasets, are serialized; they are a few
//! milliseconds each, far below the cost of the release they guard.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use privacy_core::{
    BudgetLedger, BudgetStatus, ChargeRequest, CoreError, DeltaAmount, EpsilonAmount, PrivacyCost,
    Reservation,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::BudgetError;
use crate::schema::open_connection;

/// Where a charge is in the reserve → commit / cancel protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChargeState {
    /// Granted and counted against the budget; the release may or may not have happened.
    Reserved,
    /// The release happened; counted against the budget for good.
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

    fn from_db(text: &str) -> Result<Self, BudgetError> {
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

/// One charge against a dataset's budget, as listed by [`SqliteLedger::charges`].
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
}

/// A refused charge, as listed by [`SqliteLedger::refusals`].
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
}

/// A privacy-budget ledger stored in one SQLite file, shared safely between threads (through
/// one connection) and processes (each with its own connection).
///
/// The inherent methods return [`BudgetError`]; the [`BudgetLedger`] implementation calls them
/// and converts the error into [`CoreError`].
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Mutex<Connection>,
}

impl SqliteLedger {
    /// Opens the ledger at `path`, creating the file and its schema if needed.
    ///
    /// The connection uses WAL journaling, `synchronous = FULL` (a committed charge survives a
    /// power loss) and a 30-second busy timeout (a second process waits for the lock instead of
    /// failing). A file with a newer schema version is refused with
    /// [`BudgetError::UnsupportedSchema`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BudgetError> {
        Ok(Self { conn: Mutex::new(open_connection(path.as_ref())?) })
    }

    /// Creates the budget of `dataset`, refusing a dataset that already has one (budgets are
    /// never silently replaced), an empty name, ε = 0 and δ ≥ 1.
    pub fn create_budget(&self, dataset: &str, total: PrivacyCost) -> Result<(), BudgetError> {
        if dataset.trim().is_empty() {
            return Err(CoreError::invalid("dataset", "name must not be empty").into());
        }
        if total.epsilon.is_zero() {
            return Err(CoreError::invalid("epsilon", "a budget needs epsilon > 0").into());
        }
        check_delta(total.delta)?;
        let (epsilon, delta) = cost_to_db(total)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if load_total(&tx, dataset)?.is_some() {
            return Err(BudgetError::DatasetExists(dataset.to_owned()));
        }
        tx.execute(
            "INSERT INTO budgets (dataset, epsilon_units, delta_units) VALUES (?1, ?2, ?3)",
            params![dataset, epsilon, delta],
        )?;
        tx.commit()?;
        tracing::info!(
            dataset,
            epsilon = %total.epsilon,
            delta = %total.delta,
            "privacy budget created"
        );
        Ok(())
    }

    /// Reserves `request.cost` against its dataset's budget, or refuses it.
    ///
    /// One `BEGIN IMMEDIATE` transaction reads the total and every reserved or committed
    /// charge, then inserts the new charge as reserved only if the sum stays within the total
    /// in both ε and δ. A refusal is recorded in the same transaction and returned as
    /// [`CoreError::BudgetExceeded`]. A dataset without a budget is refused with
    /// [`CoreError::UnknownDataset`] and not recorded (there is no budget to record it
    /// against). A cost of zero in both ε and δ is refused as an invalid parameter: no
    /// mechanism of this workspace is free, so a zero charge is a caller bug.
    ///
    /// If the process dies after this returns and before [`Self::commit`], the charge stays
    /// reserved and counted: the answer is lost, the budget is never under-charged.
    pub fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, BudgetError> {
        let cost = request.cost;
        if cost == PrivacyCost::ZERO {
            return Err(CoreError::invalid("cost", "a charge must spend epsilon or delta").into());
        }
        check_delta(cost.delta)?;
        let (epsilon, delta) = cost_to_db(cost)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let dataset = request.dataset.as_str();
        let total =
            load_total(&tx, dataset)?.ok_or_else(|| CoreError::UnknownDataset(dataset.into()))?;
        let spent = load_spent(&tx, dataset)?;
        // An overflowing sum exceeds any total, so it is refused like any other excess.
        let fits = spent.checked_add(cost).is_ok_and(|after| after.fits_within(total));
        if !fits {
            let remaining = total.saturating_sub(spent);
            insert_refusal(&tx, request, remaining)?;
            tx.commit()?;
            log_refusal(request, remaining);
            return Err(CoreError::BudgetExceeded {
                dataset: dataset.to_owned(),
                requested: cost.to_string(),
                remaining: remaining.to_string(),
            }
            .into());
        }
        tx.execute(
            "INSERT INTO charges (dataset, principal, description, epsilon_units, delta_units, \
             state) VALUES (?1, ?2, ?3, ?4, ?5, 'reserved')",
            params![dataset, request.principal, request.description, epsilon, delta],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        log_reservation(request, id, total, spent);
        Ok(Reservation { id, dataset: dataset.to_owned(), cost })
    }

    /// Marks a reservation as released. Its cost stays charged.
    pub fn commit(&self, reservation: Reservation) -> Result<(), BudgetError> {
        self.finish(&reservation, ChargeState::Committed)?;
        tracing::info!(
            dataset = %reservation.dataset,
            charge_id = reservation.id,
            "privacy budget charge committed"
        );
        Ok(())
    }

    /// Returns a reservation's cost to the budget. Call it only when no noise was drawn.
    pub fn cancel(&self, reservation: Reservation) -> Result<(), BudgetError> {
        self.finish(&reservation, ChargeState::Cancelled)?;
        tracing::info!(
            dataset = %reservation.dataset,
            charge_id = reservation.id,
            "privacy budget reservation cancelled"
        );
        Ok(())
    }

    /// The budget of `dataset` and what is spent of it (reserved and committed charges), read
    /// from one consistent snapshot.
    pub fn status(&self, dataset: &str) -> Result<BudgetStatus, BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let total = require_total(&tx, dataset)?;
        let spent = load_spent(&tx, dataset)?;
        Ok(BudgetStatus { total, spent })
    }

    /// Every charge against `dataset`, oldest first, in every state.
    pub fn charges(&self, dataset: &str) -> Result<Vec<ChargeRecord>, BudgetError> {
        self.rows_of(
            dataset,
            "SELECT id, principal, description, epsilon_units, delta_units, state, created_at \
             FROM charges WHERE dataset = ?1 ORDER BY id",
            |row| {
                Ok(ChargeRecord {
                    id: row.get(0)?,
                    principal: row.get(1)?,
                    description: row.get(2)?,
                    cost: cost_from_db(row.get(3)?, row.get(4)?)?,
                    state: ChargeState::from_db(&row.get::<_, String>(5)?)?,
                    created_at: row.get(6)?,
                })
            },
        )
    }

    /// Every refused charge against `dataset`, oldest first.
    pub fn refusals(&self, dataset: &str) -> Result<Vec<RefusalRecord>, BudgetError> {
        self.rows_of(
            dataset,
            "SELECT id, principal, description, epsilon_units, delta_units, \
             remaining_epsilon_units, remaining_delta_units, created_at \
             FROM refusals WHERE dataset = ?1 ORDER BY id",
            |row| {
                Ok(RefusalRecord {
                    id: row.get(0)?,
                    principal: row.get(1)?,
                    description: row.get(2)?,
                    requested: cost_from_db(row.get(3)?, row.get(4)?)?,
                    remaining: cost_from_db(row.get(5)?, row.get(6)?)?,
                    created_at: row.get(7)?,
                })
            },
        )
    }

    /// The rows `sql` selects for `dataset` (bound as `?1`), each read by `read`, in one
    /// snapshot; an unknown dataset is an error rather than an empty list.
    fn rows_of<T>(
        &self,
        dataset: &str,
        sql: &str,
        read: impl Fn(&rusqlite::Row<'_>) -> Result<T, BudgetError>,
    ) -> Result<Vec<T>, BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        require_total(&tx, dataset)?;
        let mut stmt = tx.prepare(sql)?;
        let mut rows = stmt.query([dataset])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read(row)?);
        }
        Ok(out)
    }

    /// The names of every dataset with a budget, sorted.
    pub fn datasets(&self) -> Result<Vec<String>, BudgetError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT dataset FROM budgets ORDER BY dataset")?;
        let names = stmt.query_map([], |row| row.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }

    /// Moves a reserved charge to `state`, after checking that the reservation is the one the
    /// ledger granted (same dataset and cost) and that it is still reserved.
    fn finish(&self, reservation: &Reservation, state: ChargeState) -> Result<(), BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, i64, i64, String)> = tx
            .query_row(
                "SELECT dataset, epsilon_units, delta_units, state FROM charges WHERE id = ?1",
                [reservation.id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let (dataset, epsilon, delta, current) =
            row.ok_or(BudgetError::UnknownCharge(reservation.id))?;
        if dataset != reservation.dataset || cost_from_db(epsilon, delta)? != reservation.cost {
            return Err(BudgetError::ReservationMismatch(reservation.id));
        }
        let current = ChargeState::from_db(&current)?;
        if current != ChargeState::Reserved {
            return Err(BudgetError::NotReserved { id: reservation.id, state: current });
        }
        tx.execute(
            "UPDATE charges SET state = ?1, \
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?2",
            params![state.as_str(), reservation.id],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the guard was held cannot leave the database half-changed: every write
        // is a transaction, and rusqlite rolls an open transaction back when it is dropped
        // during unwinding. So the connection is safe to keep using.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BudgetLedger for SqliteLedger {
    fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, CoreError> {
        Ok(SqliteLedger::reserve(self, request)?)
    }

    fn commit(&self, reservation: Reservation) -> Result<(), CoreError> {
        Ok(SqliteLedger::commit(self, reservation)?)
    }

    fn cancel(&self, reservation: Reservation) -> Result<(), CoreError> {
        Ok(SqliteLedger::cancel(self, reservation)?)
    }

    fn status(&self, dataset: &str) -> Result<BudgetStatus, CoreError> {
        Ok(SqliteLedger::status(self, dataset)?)
    }
}

fn check_delta(delta: DeltaAmount) -> Result<(), CoreError> {
    if delta.is_valid_delta() {
        Ok(())
    } else {
        Err(CoreError::invalid("delta", "must be in [0, 1)"))
    }
}

fn cost_to_db(cost: PrivacyCost) -> Result<(i64, i64), BudgetError> {
    let epsilon = i64::try_from(cost.epsilon.units());
    let delta = i64::try_from(cost.delta.units());
    Ok((
        epsilon.map_err(|_| BudgetError::AmountTooLarge("epsilon"))?,
        delta.map_err(|_| BudgetError::AmountTooLarge("delta"))?,
    ))
}

fn cost_from_db(epsilon: i64, delta: i64) -> Result<PrivacyCost, BudgetError> {
    let units = |value: i64| {
        u64::try_from(value).map_err(|_| BudgetError::Corrupt("negative privacy amount"))
    };
    Ok(PrivacyCost {
        epsilon: EpsilonAmount::from_units(units(epsilon)?),
        delta: DeltaAmount::from_units(units(delta)?),
    })
}

fn load_total(tx: &Transaction<'_>, dataset: &str) -> Result<Option<PrivacyCost>, BudgetError> {
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT epsilon_units, delta_units FROM budgets WHERE dataset = ?1",
            [dataset],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    row.map(|(epsilon, delta)| cost_from_db(epsilon, delta)).transpose()
}

fn require_total(tx: &Transaction<'_>, dataset: &str) -> Result<PrivacyCost, BudgetError> {
    load_total(tx, dataset)?.ok_or_else(|| CoreError::UnknownDataset(dataset.to_owned()).into())
}

/// The sum of every reserved or committed charge, added in Rust with checked arithmetic (SQL
/// `SUM` would raise an untyped error on overflow).
fn load_spent(tx: &Transaction<'_>, dataset: &str) -> Result<PrivacyCost, BudgetError> {
    let mut stmt = tx.prepare_cached(
        "SELECT epsilon_units, delta_units FROM charges \
         WHERE dataset = ?1 AND state IN ('reserved', 'committed')",
    )?;
    let mut rows = stmt.query([dataset])?;
    let mut spent = PrivacyCost::ZERO;
    while let Some(row) = rows.next()? {
        spent = spent.checked_add(cost_from_db(row.get(0)?, row.get(1)?)?)?;
    }
    Ok(spent)
}

fn insert_refusal(
    tx: &Transaction<'_>,
    request: &ChargeRequest,
    remaining: PrivacyCost,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(request.cost)?;
    let (rem_epsilon, rem_delta) = cost_to_db(remaining)?;
    tx.execute(
        "INSERT INTO refusals (dataset, principal, description, epsilon_units, delta_units, \
         remaining_epsilon_units, remaining_delta_units) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            request.dataset,
            request.principal,
            request.description,
            epsilon,
            delta,
            rem_epsilon,
            rem_delta
        ],
    )?;
    Ok(())
}

fn log_refusal(request: &ChargeRequest, remaining: PrivacyCost) {
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

fn log_reservation(request: &ChargeRequest, id: i64, total: PrivacyCost, spent: PrivacyCost) {
    let cost = request.cost;
    tracing::info!(
        dataset = %request.dataset,
        principal = %request.principal,
        charge_id = id,
        epsilon = %cost.epsilon,
        delta = %cost.delta,
        "privacy budget reserved"
    );
    // total − spent − cost is non-negative because the charge fitted; saturating subtraction
    // only keeps this warning free of an error path.
    let left = total.epsilon.saturating_sub(spent.epsilon).saturating_sub(cost.epsilon);
    if left.units() <= total.epsilon.units() / 10 {
        tracing::warn!(
            dataset = %request.dataset,
            remaining_epsilon = %left,
            "privacy budget nearly spent"
        );
    }
}
