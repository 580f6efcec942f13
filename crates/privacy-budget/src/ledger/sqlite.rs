//! [`SqliteLedger`]: the durable [`BudgetLedger`] over one SQLite file.
//!
//! Every state change is one SQLite transaction; every decision that depends on what has been
//! spent (a reservation, an allocation) reads and writes inside one `BEGIN IMMEDIATE`
//! transaction, so it holds the database's write lock from before the read until after the
//! write. The trade-off is that reservations on the same file, even for different budgets, are
//! serialized, and each costs one disk sync (`synchronous = FULL`); a commit, which cannot
//! turn into an overspend if lost, is not synced on its own (see [`SqliteLedger::commit_many`]);
//! [`SqliteLedger::reserve_many`] decides a batch under one sync for callers that charge at high
//! rates.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use privacy_core::{
    AuditSink, BudgetLedger, BudgetStatus, ChargeDetails, ChargeRequest, CoreError, PrivacyCost,
    Reservation,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{
    allocation_mechanism, check_charge, check_new_budget, cost_from_db, cost_to_db, exceeded, fits,
    log_refusal, log_reservation, BudgetInfo, BudgetStore, ChargeRecord, ChargeState, HistoryEntry,
    LedgerAudit, RefusalRecord,
};
use crate::error::BudgetError;
use crate::schema::open_connection;

/// A privacy-budget ledger stored in one SQLite file, shared safely between threads (through
/// one connection) and processes (each with its own connection).
///
/// The inherent methods return [`BudgetError`]; the [`BudgetLedger`] implementation calls them
/// and converts the error into [`CoreError`].
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    audit: LedgerAudit,
}

/// An event row to append to the journal.
struct Event<'a> {
    dataset: &'a str,
    action: &'a str,
    charge_id: Option<i64>,
    principal: &'a str,
    mechanism: &'a str,
    parameters: &'a str,
    cost: PrivacyCost,
}

impl SqliteLedger {
    /// Opens the ledger at `path`, creating the file and its schema if needed.
    ///
    /// The connection uses WAL journaling, `synchronous = FULL` (a committed charge survives a
    /// power loss) and a 30-second busy timeout (a second process waits for the lock instead of
    /// failing). A file with a newer schema version is refused with
    /// [`BudgetError::UnsupportedSchema`]; a version-1 file is upgraded in place.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BudgetError> {
        let conn = Mutex::new(open_connection(path.as_ref())?);
        Ok(Self { conn, audit: LedgerAudit::default() })
    }

    /// Reports every charge (`BudgetCharge`: reserved, committed, cancelled, refused) and
    /// allocation (`BudgetAllocation`) to `sink` after the ledger has made it durable.
    ///
    /// If the event of a reservation cannot be recorded, the reservation is cancelled (no
    /// noise has been drawn) and the error returned; if that of a commit cannot, the charge
    /// stands and the error is returned.
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink + Send + Sync>) -> Self {
        self.audit = LedgerAudit::new(sink);
        self
    }

    /// Creates the root budget of `dataset`, refusing a dataset that already has one (budgets
    /// are never silently replaced), an empty name, ε = 0 and δ ≥ 1.
    pub fn create_budget(&self, dataset: &str, total: PrivacyCost) -> Result<(), BudgetError> {
        check_new_budget(dataset, total)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_budget(&tx, dataset, None, total, "ledger")?;
        tx.commit()?;
        tracing::info!(dataset, epsilon = %total.epsilon, delta = %total.delta, "privacy budget created");
        Ok(())
    }

    /// Hands budget from `parent` to new child budgets in one transaction; see
    /// [`BudgetStore::allocate`].
    pub fn allocate(
        &self,
        parent: &str,
        principal: &str,
        children: &[(String, PrivacyCost)],
    ) -> Result<(), BudgetError> {
        let mut sum = PrivacyCost::ZERO;
        for (child, cost) in children {
            check_new_budget(child, *cost)?;
            sum = sum.checked_add(*cost)?;
        }
        if children.is_empty() {
            return Err(CoreError::invalid("children", "allocate to at least one child").into());
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = require_status(&tx, parent)?;
        if !fits(status, sum) {
            let request = ChargeRequest {
                dataset: parent.to_owned(),
                principal: principal.to_owned(),
                cost: sum,
                description: "allocation".to_owned(),
            };
            insert_refusal(&tx, &request, &allocation_details(children), status.remaining())?;
            tx.commit()?;
            log_refusal(&request, status.remaining());
            return Err(exceeded(parent, sum, status.remaining()));
        }
        for (child, cost) in children {
            let mechanism = allocation_mechanism(child);
            let details = ChargeDetails { mechanism, parameters: String::new() };
            let request = ChargeRequest {
                dataset: parent.to_owned(),
                principal: principal.to_owned(),
                cost: *cost,
                description: format!("allocation to {child}"),
            };
            let id = insert_charge(&tx, &request, &details, "allocation", "committed")?;
            insert_event(&tx, &event_of(&request, &details, "allocated", Some(id)))?;
            insert_budget(&tx, child, Some(parent), *cost, principal)?;
        }
        add_spent(&tx, parent, sum, true)?;
        tx.commit()?;
        for (child, cost) in children {
            tracing::info!(parent, child = %child, epsilon = %cost.epsilon, "privacy budget allocated");
            self.audit.allocation(parent, principal, child, *cost)?;
        }
        Ok(())
    }

    /// Reserves `request.cost` against its budget, or refuses it; [`Self::reserve_detailed`]
    /// without details.
    pub fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, BudgetError> {
        self.reserve_detailed(request, &ChargeDetails::default())
    }

    /// Reserves `request.cost` against its budget, or refuses it, recording `details`.
    ///
    /// One `BEGIN IMMEDIATE` transaction reads the budget's total and running spent amount,
    /// then inserts the new charge as reserved (and raises the running amount) only if the sum
    /// stays within the total in both ε and δ. A refusal is recorded in the same transaction
    /// and returned as [`CoreError::BudgetExceeded`]. A budget that does not exist is refused
    /// with [`CoreError::UnknownDataset`] and not recorded. A cost of zero in both ε and δ is
    /// refused as an invalid parameter and changes nothing.
    ///
    /// If the process dies after this returns and before [`Self::commit`], the charge stays
    /// reserved and counted: the answer is lost, the budget is never under-charged.
    pub fn reserve_detailed(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, BudgetError> {
        check_charge(request.cost)?;
        let outcome = {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = decide(&tx, request, details)?;
            tx.commit()?;
            outcome
        };
        self.report(request, details, outcome)
    }

    /// Decides many charges in order in one transaction; see [`BudgetStore::reserve_many`].
    pub fn reserve_many(
        &self,
        requests: &[(ChargeRequest, ChargeDetails)],
    ) -> Result<Vec<Result<Reservation, BudgetError>>, BudgetError> {
        let outcomes = {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut outcomes = Vec::with_capacity(requests.len());
            for (request, details) in requests {
                outcomes.push(match check_charge(request.cost) {
                    Ok(_) => decide(&tx, request, details)?,
                    Err(error) => Err(error),
                });
            }
            tx.commit()?;
            outcomes
        };
        Ok(requests
            .iter()
            .zip(outcomes)
            .map(|((request, details), outcome)| self.report(request, details, outcome))
            .collect())
    }

    /// Logs and audits a decided charge; cancels a reservation whose event cannot be recorded.
    fn report(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
        outcome: Result<(Reservation, BudgetStatus), BudgetError>,
    ) -> Result<Reservation, BudgetError> {
        let mechanism = details.mechanism.as_str();
        let (reservation, after) = match outcome {
            Ok(granted) => granted,
            Err(error) => {
                if let BudgetError::Core(CoreError::BudgetExceeded { .. }) = &error {
                    let (dataset, principal) = (&request.dataset, &request.principal);
                    let cost = request.cost;
                    self.audit.charge("refused", dataset, principal, None, cost, mechanism)?;
                }
                return Err(error);
            }
        };
        log_reservation(request, reservation.id, after);
        let recorded = self.audit.charge(
            "reserved",
            &request.dataset,
            &request.principal,
            Some(reservation.id),
            request.cost,
            mechanism,
        );
        if let Err(error) = recorded {
            self.cancel(reservation)?;
            return Err(error.into());
        }
        Ok(reservation)
    }

    /// Marks a reservation as released. Its cost stays charged.
    pub fn commit(&self, reservation: Reservation) -> Result<(), BudgetError> {
        self.commit_many(vec![reservation])
    }

    /// Commits many reservations in one transaction, all or nothing.
    ///
    /// **Durability.** A commit only moves charges from reserved to committed, and both states
    /// count as spent; so a commit lost to a power failure leaves the budget exactly as charged
    /// (the safe side), and the commit needs no disk sync of its own. It is written to the
    /// write-ahead log with `synchronous = NORMAL` (it survives a crash of the process at once,
    /// and a power failure from the next synced transaction on, since the log is synced in
    /// order), which halves the syncs of a one-at-a-time reserve-and-commit. Reservations,
    /// cancellations and allocations, which a lost write would turn into an overspend, stay
    /// `synchronous = FULL`.
    pub fn commit_many(&self, reservations: Vec<Reservation>) -> Result<(), BudgetError> {
        let mut finished = Vec::with_capacity(reservations.len());
        {
            let mut conn = self.lock();
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            let committed = (|| -> Result<(), BudgetError> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for reservation in &reservations {
                    finished.push(finish(&tx, reservation, ChargeState::Committed)?);
                }
                tx.commit()?;
                Ok(())
            })();
            // Back to full syncs whatever happened, before the lock is released.
            let restored = conn.pragma_update(None, "synchronous", "FULL");
            committed?;
            restored?;
        }
        for (reservation, (principal, mechanism)) in reservations.iter().zip(finished) {
            tracing::info!(dataset = %reservation.dataset, charge_id = reservation.id, "privacy budget charge committed");
            let (dataset, id, cost) =
                (&reservation.dataset, Some(reservation.id), reservation.cost);
            self.audit.charge("committed", dataset, &principal, id, cost, &mechanism)?;
        }
        Ok(())
    }

    /// Returns a reservation's cost to the budget. Call it only when no noise was drawn.
    pub fn cancel(&self, reservation: Reservation) -> Result<(), BudgetError> {
        let (principal, mechanism) = {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let who = finish(&tx, &reservation, ChargeState::Cancelled)?;
            tx.commit()?;
            who
        };
        tracing::info!(dataset = %reservation.dataset, charge_id = reservation.id, "privacy budget reservation cancelled");
        let (dataset, id, cost) = (&reservation.dataset, Some(reservation.id), reservation.cost);
        self.audit.charge("cancelled", dataset, &principal, id, cost, &mechanism)?;
        Ok(())
    }

    /// The budget of `dataset` and what is spent of it (reserved and committed charges, and
    /// allocations to children).
    pub fn status(&self, dataset: &str) -> Result<BudgetStatus, BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        require_status(&tx, dataset)
    }

    /// A budget's total, spent amount, parent and children.
    pub fn budget(&self, dataset: &str) -> Result<BudgetInfo, BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let status = require_status(&tx, dataset)?;
        let parent: Option<String> =
            tx.query_row("SELECT parent FROM budgets WHERE dataset = ?1", [dataset], |r| r.get(0))?;
        let mut stmt =
            tx.prepare("SELECT dataset FROM budgets WHERE parent = ?1 ORDER BY dataset")?;
        let children = stmt.query_map([dataset], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(BudgetInfo { dataset: dataset.to_owned(), parent, status, children })
    }

    /// Every charge against `dataset`, oldest first, in every state.
    pub fn charges(&self, dataset: &str) -> Result<Vec<ChargeRecord>, BudgetError> {
        self.rows_of(
            dataset,
            "SELECT id, principal, description, epsilon_units, delta_units, state, created_at, \
             kind, mechanism, parameters FROM charges WHERE dataset = ?1 ORDER BY id",
            |row| {
                Ok(ChargeRecord {
                    id: row.get(0)?,
                    principal: row.get(1)?,
                    description: row.get(2)?,
                    cost: cost_from_db(row.get(3)?, row.get(4)?)?,
                    state: ChargeState::from_db(&row.get::<_, String>(5)?)?,
                    created_at: row.get(6)?,
                    kind: row.get(7)?,
                    mechanism: row.get(8)?,
                    parameters: row.get(9)?,
                })
            },
        )
    }

    /// Every refused charge against `dataset`, oldest first.
    pub fn refusals(&self, dataset: &str) -> Result<Vec<RefusalRecord>, BudgetError> {
        self.rows_of(
            dataset,
            "SELECT id, principal, description, epsilon_units, delta_units, \
             remaining_epsilon_units, remaining_delta_units, created_at, mechanism, parameters \
             FROM refusals WHERE dataset = ?1 ORDER BY id",
            |row| {
                Ok(RefusalRecord {
                    id: row.get(0)?,
                    principal: row.get(1)?,
                    description: row.get(2)?,
                    requested: cost_from_db(row.get(3)?, row.get(4)?)?,
                    remaining: cost_from_db(row.get(5)?, row.get(6)?)?,
                    created_at: row.get(7)?,
                    mechanism: row.get(8)?,
                    parameters: row.get(9)?,
                })
            },
        )
    }

    /// The event journal of `dataset`, oldest first; only the last `limit` entries if given.
    pub fn history(
        &self,
        dataset: &str,
        limit: Option<u32>,
    ) -> Result<Vec<HistoryEntry>, BudgetError> {
        let limit = limit.map_or(i64::MAX, i64::from);
        let sql = "SELECT * FROM (SELECT id, action, charge_id, principal, mechanism, \
                   parameters, epsilon_units, delta_units, created_at FROM events \
                   WHERE dataset = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id";
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        require_status(&tx, dataset)?;
        let mut stmt = tx.prepare(sql)?;
        let mut rows = stmt.query(params![dataset, limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(HistoryEntry {
                id: row.get(0)?,
                action: row.get(1)?,
                charge_id: row.get(2)?,
                principal: row.get(3)?,
                mechanism: row.get(4)?,
                parameters: row.get(5)?,
                cost: cost_from_db(row.get(6)?, row.get(7)?)?,
                created_at: row.get(8)?,
            });
        }
        Ok(out)
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
        require_status(&tx, dataset)?;
        let mut stmt = tx.prepare(sql)?;
        let mut rows = stmt.query([dataset])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read(row)?);
        }
        Ok(out)
    }

    /// The names of every budget, sorted.
    pub fn datasets(&self) -> Result<Vec<String>, BudgetError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT dataset FROM budgets ORDER BY dataset")?;
        let names = stmt.query_map([], |row| row.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }

    /// Checks every budget's running total against its charges; see
    /// [`BudgetStore::check_consistency`].
    pub fn check_consistency(&self) -> Result<(), BudgetError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mismatches: i64 = tx.query_row(
            "SELECT count(*) FROM budgets b WHERE \
             spent_epsilon_units > epsilon_units OR spent_delta_units > delta_units OR \
             spent_epsilon_units != (SELECT coalesce(sum(epsilon_units), 0) FROM charges c \
                 WHERE c.dataset = b.dataset AND state IN ('reserved', 'committed')) OR \
             spent_delta_units != (SELECT coalesce(sum(delta_units), 0) FROM charges c \
                 WHERE c.dataset = b.dataset AND state IN ('reserved', 'committed')) OR \
             (parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM charges c WHERE \
                 c.dataset = b.parent AND c.kind = 'allocation' AND \
                 c.mechanism = 'allocation:' || b.dataset AND c.epsilon_units = b.epsilon_units \
                 AND c.delta_units = b.delta_units))",
            [],
            |r| r.get(0),
        )?;
        if mismatches == 0 {
            Ok(())
        } else {
            Err(BudgetError::Corrupt("running totals disagree with the charges"))
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the guard was held cannot leave the database half-changed: every write
        // is a transaction, and rusqlite rolls an open transaction back when it is dropped
        // during unwinding. So the connection is safe to keep using.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Grants or refuses one charge inside an open write transaction. A refusal is recorded and
/// returned as the inner error; the outer error is a database failure.
fn decide(
    tx: &Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
) -> Result<Result<(Reservation, BudgetStatus), BudgetError>, BudgetError> {
    let dataset = request.dataset.as_str();
    let status = require_status(tx, dataset)?;
    if !fits(status, request.cost) {
        let remaining = status.remaining();
        insert_refusal(tx, request, details, remaining)?;
        log_refusal(request, remaining);
        return Ok(Err(exceeded(dataset, request.cost, remaining)));
    }
    let id = insert_charge(tx, request, details, "query", "reserved")?;
    insert_event(tx, &event_of(request, details, "reserved", Some(id)))?;
    add_spent(tx, dataset, request.cost, true)?;
    let after =
        BudgetStatus { total: status.total, spent: status.spent.checked_add(request.cost)? };
    Ok(Ok((Reservation { id, dataset: dataset.to_owned(), cost: request.cost }, after)))
}

/// Moves a reserved charge to `state`, after checking that the reservation is the one the
/// ledger granted (same dataset and cost) and that it is still reserved. Returns the charge's
/// principal and mechanism.
fn finish(
    tx: &Transaction<'_>,
    reservation: &Reservation,
    state: ChargeState,
) -> Result<(String, String), BudgetError> {
    type Row = (String, i64, i64, String, String, String, String);
    let row: Option<Row> = tx
        .query_row(
            "SELECT dataset, epsilon_units, delta_units, state, principal, mechanism, parameters \
             FROM charges WHERE id = ?1",
            [reservation.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .optional()?;
    let (dataset, epsilon, delta, current, principal, mechanism, parameters) =
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
    if state == ChargeState::Cancelled {
        add_spent(tx, &dataset, reservation.cost, false)?;
    }
    insert_event(
        tx,
        &Event {
            dataset: &dataset,
            action: state.as_str(),
            charge_id: Some(reservation.id),
            principal: &principal,
            mechanism: &mechanism,
            parameters: &parameters,
            cost: reservation.cost,
        },
    )?;
    Ok((principal, mechanism))
}

fn event_of<'a>(
    request: &'a ChargeRequest,
    details: &'a ChargeDetails,
    action: &'a str,
    charge_id: Option<i64>,
) -> Event<'a> {
    Event {
        dataset: &request.dataset,
        action,
        charge_id,
        principal: &request.principal,
        mechanism: &details.mechanism,
        parameters: &details.parameters,
        cost: request.cost,
    }
}

fn allocation_details(children: &[(String, PrivacyCost)]) -> ChargeDetails {
    let names: Vec<&str> = children.iter().map(|(name, _)| name.as_str()).collect();
    ChargeDetails { mechanism: "allocation".to_owned(), parameters: names.join(",") }
}

fn insert_budget(
    tx: &Transaction<'_>,
    dataset: &str,
    parent: Option<&str>,
    total: PrivacyCost,
    principal: &str,
) -> Result<(), BudgetError> {
    if load_status(tx, dataset)?.is_some() {
        return Err(BudgetError::DatasetExists(dataset.to_owned()));
    }
    let (epsilon, delta) = cost_to_db(total)?;
    tx.execute(
        "INSERT INTO budgets (dataset, epsilon_units, delta_units, parent) VALUES (?1, ?2, ?3, ?4)",
        params![dataset, epsilon, delta, parent],
    )?;
    let parameters = parent.map(|p| format!("parent={p}")).unwrap_or_default();
    insert_event(
        tx,
        &Event {
            dataset,
            action: "created",
            charge_id: None,
            principal,
            mechanism: "",
            parameters: &parameters,
            cost: total,
        },
    )
}

fn insert_charge(
    tx: &Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
    kind: &str,
    state: &str,
) -> Result<i64, BudgetError> {
    let (epsilon, delta) = cost_to_db(request.cost)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO charges (dataset, principal, description, epsilon_units, delta_units, \
         state, kind, mechanism, parameters) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    stmt.execute(params![
        request.dataset,
        request.principal,
        request.description,
        epsilon,
        delta,
        state,
        kind,
        details.mechanism,
        details.parameters
    ])?;
    Ok(tx.last_insert_rowid())
}

fn insert_event(tx: &Transaction<'_>, event: &Event<'_>) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(event.cost)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (dataset, action, charge_id, principal, mechanism, parameters, \
         epsilon_units, delta_units) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        event.dataset,
        event.action,
        event.charge_id,
        event.principal,
        event.mechanism,
        event.parameters,
        epsilon,
        delta
    ])?;
    Ok(())
}

/// Adds (or, with `add` false, removes) `cost` to a budget's running spent amount.
fn add_spent(
    tx: &Transaction<'_>,
    dataset: &str,
    cost: PrivacyCost,
    add: bool,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(cost)?;
    let sign: i64 = if add { 1 } else { -1 };
    let mut stmt = tx.prepare_cached(
        "UPDATE budgets SET spent_epsilon_units = spent_epsilon_units + ?1, \
         spent_delta_units = spent_delta_units + ?2 WHERE dataset = ?3",
    )?;
    stmt.execute(params![sign * epsilon, sign * delta, dataset])?;
    Ok(())
}

fn load_status(tx: &Transaction<'_>, dataset: &str) -> Result<Option<BudgetStatus>, BudgetError> {
    let mut stmt = tx.prepare_cached(
        "SELECT epsilon_units, delta_units, spent_epsilon_units, spent_delta_units \
         FROM budgets WHERE dataset = ?1",
    )?;
    let row: Option<(i64, i64, i64, i64)> = stmt
        .query_row([dataset], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    row.map(|(te, td, se, sd)| {
        Ok(BudgetStatus { total: cost_from_db(te, td)?, spent: cost_from_db(se, sd)? })
    })
    .transpose()
}

fn require_status(tx: &Transaction<'_>, dataset: &str) -> Result<BudgetStatus, BudgetError> {
    load_status(tx, dataset)?.ok_or_else(|| CoreError::UnknownDataset(dataset.to_owned()).into())
}

fn insert_refusal(
    tx: &Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
    remaining: PrivacyCost,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(request.cost)?;
    let (rem_epsilon, rem_delta) = cost_to_db(remaining)?;
    tx.execute(
        "INSERT INTO refusals (dataset, principal, description, epsilon_units, delta_units, \
         remaining_epsilon_units, remaining_delta_units, mechanism, parameters) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            request.dataset,
            request.principal,
            request.description,
            epsilon,
            delta,
            rem_epsilon,
            rem_delta,
            details.mechanism,
            details.parameters
        ],
    )?;
    insert_event(tx, &event_of(request, details, "refused", None))
}

impl BudgetLedger for SqliteLedger {
    fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, CoreError> {
        Ok(SqliteLedger::reserve(self, request)?)
    }

    fn reserve_with_details(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, CoreError> {
        Ok(SqliteLedger::reserve_detailed(self, request, details)?)
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

impl BudgetStore for SqliteLedger {
    fn create_budget(&self, dataset: &str, total: PrivacyCost) -> Result<(), BudgetError> {
        SqliteLedger::create_budget(self, dataset, total)
    }

    fn allocate(
        &self,
        parent: &str,
        principal: &str,
        children: &[(String, PrivacyCost)],
    ) -> Result<(), BudgetError> {
        SqliteLedger::allocate(self, parent, principal, children)
    }

    fn reserve_detailed(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, BudgetError> {
        SqliteLedger::reserve_detailed(self, request, details)
    }

    fn reserve_many(
        &self,
        requests: &[(ChargeRequest, ChargeDetails)],
    ) -> Result<Vec<Result<Reservation, BudgetError>>, BudgetError> {
        SqliteLedger::reserve_many(self, requests)
    }

    fn commit_many(&self, reservations: Vec<Reservation>) -> Result<(), BudgetError> {
        SqliteLedger::commit_many(self, reservations)
    }

    fn budget(&self, dataset: &str) -> Result<BudgetInfo, BudgetError> {
        SqliteLedger::budget(self, dataset)
    }

    fn charges(&self, dataset: &str) -> Result<Vec<ChargeRecord>, BudgetError> {
        SqliteLedger::charges(self, dataset)
    }

    fn refusals(&self, dataset: &str) -> Result<Vec<RefusalRecord>, BudgetError> {
        SqliteLedger::refusals(self, dataset)
    }

    fn history(&self, dataset: &str, limit: Option<u32>) -> Result<Vec<HistoryEntry>, BudgetError> {
        SqliteLedger::history(self, dataset, limit)
    }

    fn datasets(&self) -> Result<Vec<String>, BudgetError> {
        SqliteLedger::datasets(self)
    }

    fn check_consistency(&self) -> Result<(), BudgetError> {
        SqliteLedger::check_consistency(self)
    }
}
