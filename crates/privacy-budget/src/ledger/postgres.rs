//! [`PostgresLedger`]: the same ledger as [`crate::SqliteLedger`], kept in a PostgreSQL
//! database so that analysts on many machines share one budget (cargo feature `postgres`).
//!
//! The tables, the decisions and the event journal are those of the SQLite ledger (see
//! `ledger/mod.rs`); what differs is how a check-then-charge is made atomic. PostgreSQL runs
//! transactions concurrently, so every decision first takes a row lock on the budget it
//! depends on (`SELECT … FOR UPDATE`, which also re-reads the latest committed row under READ
//! COMMITTED): two reservations on one budget are serialized exactly like SQLite's `BEGIN
//! IMMEDIATE` serializes them, while reservations on different budgets run in parallel. A
//! commit or cancel locks the charge row first; no transaction locks a charge and then a
//! budget it did not already hold in the opposite order, so locks cannot deadlock, and a batch
//! locks its charges in increasing id order.
//!
//! Durability is the server's: a transaction is durable once COMMIT returns, with the
//! server's default `synchronous_commit = on`.
//!
//! Trade-off: one connection per ledger value, guarded by a mutex, like the SQLite ledger; a
//! service with many threads should open several ledgers (connections).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use postgres::{Client, NoTls, Transaction};
use privacy_core::{
    AuditSink, BudgetLedger, BudgetStatus, ChargeDetails, ChargeRequest, CoreError, PrivacyCost,
    Reservation,
};

use super::{
    allocation_mechanism, check_charge, check_new_budget, cost_from_db, cost_to_db, exceeded, fits,
    log_refusal, log_reservation, BudgetInfo, BudgetStore, ChargeRecord, ChargeState, HistoryEntry,
    LedgerAudit, RefusalRecord,
};
use crate::error::BudgetError;

/// The schema version this build writes and reads.
const SCHEMA_VERSION: i32 = 2;

/// A key for `pg_advisory_xact_lock`, so that two processes creating the schema at once do not
/// race ("medipriv" in ASCII).
const SCHEMA_LOCK: i64 = 0x6d65_6469_7072_6976;

const NOW: &str =
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

/// The tables of schema version 2 (the SQLite ledger's, in PostgreSQL types).
fn schema() -> String {
    format!(
        "CREATE TABLE budgets (
            dataset TEXT PRIMARY KEY CHECK (length(dataset) > 0),
            epsilon_units BIGINT NOT NULL CHECK (epsilon_units > 0),
            delta_units BIGINT NOT NULL
                CHECK (delta_units >= 0 AND delta_units < 1000000000000000000),
            created_at TEXT NOT NULL DEFAULT {NOW},
            parent TEXT REFERENCES budgets (dataset),
            spent_epsilon_units BIGINT NOT NULL DEFAULT 0 CHECK (spent_epsilon_units >= 0),
            spent_delta_units BIGINT NOT NULL DEFAULT 0 CHECK (spent_delta_units >= 0));
        CREATE INDEX budgets_by_parent ON budgets (parent);
        CREATE TABLE charges (
            id BIGSERIAL PRIMARY KEY,
            dataset TEXT NOT NULL REFERENCES budgets (dataset),
            principal TEXT NOT NULL,
            description TEXT NOT NULL,
            epsilon_units BIGINT NOT NULL CHECK (epsilon_units >= 0),
            delta_units BIGINT NOT NULL CHECK (delta_units >= 0),
            state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'cancelled')),
            created_at TEXT NOT NULL DEFAULT {NOW},
            updated_at TEXT NOT NULL DEFAULT {NOW},
            kind TEXT NOT NULL DEFAULT 'query' CHECK (kind IN ('query', 'allocation')),
            mechanism TEXT NOT NULL DEFAULT '',
            parameters TEXT NOT NULL DEFAULT '');
        CREATE INDEX charges_by_dataset_state ON charges (dataset, state);
        CREATE TABLE refusals (
            id BIGSERIAL PRIMARY KEY,
            dataset TEXT NOT NULL REFERENCES budgets (dataset),
            principal TEXT NOT NULL,
            description TEXT NOT NULL,
            epsilon_units BIGINT NOT NULL CHECK (epsilon_units >= 0),
            delta_units BIGINT NOT NULL CHECK (delta_units >= 0),
            remaining_epsilon_units BIGINT NOT NULL CHECK (remaining_epsilon_units >= 0),
            remaining_delta_units BIGINT NOT NULL CHECK (remaining_delta_units >= 0),
            created_at TEXT NOT NULL DEFAULT {NOW},
            mechanism TEXT NOT NULL DEFAULT '',
            parameters TEXT NOT NULL DEFAULT '');
        CREATE INDEX refusals_by_dataset ON refusals (dataset);
        CREATE TABLE events (
            id BIGSERIAL PRIMARY KEY,
            dataset TEXT NOT NULL REFERENCES budgets (dataset),
            action TEXT NOT NULL CHECK (action IN
                ('created', 'reserved', 'committed', 'cancelled', 'refused', 'allocated')),
            charge_id BIGINT,
            principal TEXT NOT NULL,
            mechanism TEXT NOT NULL,
            parameters TEXT NOT NULL,
            epsilon_units BIGINT NOT NULL CHECK (epsilon_units >= 0),
            delta_units BIGINT NOT NULL CHECK (delta_units >= 0),
            created_at TEXT NOT NULL DEFAULT {NOW});
        CREATE INDEX events_by_dataset ON events (dataset, id);
        CREATE TABLE medi_privacy_schema (version INTEGER NOT NULL);
        INSERT INTO medi_privacy_schema (version) VALUES ({SCHEMA_VERSION});"
    )
}

/// A privacy-budget ledger in a PostgreSQL database, over one connection.
pub struct PostgresLedger {
    client: Mutex<Client>,
    audit: LedgerAudit,
}

impl std::fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLedger").field("audit", &self.audit).finish_non_exhaustive()
    }
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

impl PostgresLedger {
    /// Connects to the database at `url` (e.g. `postgres://user@host:5432/db`; TLS is not
    /// used, so keep the server on loopback or a trusted network) and creates the schema in
    /// the connection's current schema (`search_path`) if it is not there, or checks its
    /// version ([`BudgetError::UnsupportedSchema`] for a newer one).
    pub fn connect(url: &str) -> Result<Self, BudgetError> {
        let mut client = Client::connect(url, NoTls)?;
        migrate(&mut client)?;
        Ok(Self { client: Mutex::new(client), audit: LedgerAudit::default() })
    }

    /// Reports charges and allocations to `sink`; see [`crate::SqliteLedger::with_audit`].
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink + Send + Sync>) -> Self {
        self.audit = LedgerAudit::new(sink);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        // Every write is a transaction that the postgres crate rolls back when dropped, so a
        // panic while the guard was held leaves no partial change behind.
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` in one transaction and commits it.
    fn in_transaction<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, BudgetError>,
    ) -> Result<T, BudgetError> {
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        let value = work(&mut tx)?;
        tx.commit()?;
        Ok(value)
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
            BudgetLedger::cancel(self, reservation)?;
            return Err(error.into());
        }
        Ok(reservation)
    }

    fn finish_all(
        &self,
        mut reservations: Vec<Reservation>,
        state: ChargeState,
    ) -> Result<(), BudgetError> {
        reservations.sort_by_key(|r| r.id);
        let who = self.in_transaction(|tx| {
            reservations.iter().map(|r| finish(tx, r, state)).collect::<Result<Vec<_>, _>>()
        })?;
        let action = state.as_str();
        for (reservation, (principal, mechanism)) in reservations.iter().zip(who) {
            tracing::info!(dataset = %reservation.dataset, charge_id = reservation.id, action, "privacy budget charge finished");
            let (dataset, id, cost) =
                (&reservation.dataset, Some(reservation.id), reservation.cost);
            self.audit.charge(action, dataset, &principal, id, cost, &mechanism)?;
        }
        Ok(())
    }
}

fn migrate(client: &mut Client) -> Result<(), BudgetError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    let exists: bool =
        tx.query_one("SELECT to_regclass('medi_privacy_schema') IS NOT NULL", &[])?.get(0);
    if exists {
        let found: i32 = tx.query_one("SELECT max(version) FROM medi_privacy_schema", &[])?.get(0);
        if found > SCHEMA_VERSION {
            return Err(BudgetError::UnsupportedSchema {
                found: i64::from(found),
                supported: i64::from(SCHEMA_VERSION),
            });
        }
    } else {
        tx.batch_execute(&schema())?;
    }
    tx.commit()?;
    Ok(())
}

/// Grants or refuses one charge inside an open transaction, after locking its budget row.
fn decide(
    tx: &mut Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
) -> Result<Result<(Reservation, BudgetStatus), BudgetError>, BudgetError> {
    let dataset = request.dataset.as_str();
    let status = require_status(tx, dataset, true)?;
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

/// Moves a reserved charge to `state` (locking it), checking that it is the one granted.
fn finish(
    tx: &mut Transaction<'_>,
    reservation: &Reservation,
    state: ChargeState,
) -> Result<(String, String), BudgetError> {
    let row = tx
        .query_opt(
            "SELECT dataset, epsilon_units, delta_units, state, principal, mechanism, parameters \
             FROM charges WHERE id = $1 FOR UPDATE",
            &[&reservation.id],
        )?
        .ok_or(BudgetError::UnknownCharge(reservation.id))?;
    let dataset: String = row.get(0);
    if dataset != reservation.dataset || cost_from_db(row.get(1), row.get(2))? != reservation.cost {
        return Err(BudgetError::ReservationMismatch(reservation.id));
    }
    let current = ChargeState::from_db(row.get(3))?;
    if current != ChargeState::Reserved {
        return Err(BudgetError::NotReserved { id: reservation.id, state: current });
    }
    let (principal, mechanism, parameters): (String, String, String) =
        (row.get(4), row.get(5), row.get(6));
    tx.execute(
        &format!("UPDATE charges SET state = $1, updated_at = {NOW} WHERE id = $2"),
        &[&state.as_str(), &reservation.id],
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

fn insert_budget(
    tx: &mut Transaction<'_>,
    dataset: &str,
    parent: Option<&str>,
    total: PrivacyCost,
    principal: &str,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(total)?;
    let inserted = tx.execute(
        "INSERT INTO budgets (dataset, epsilon_units, delta_units, parent) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (dataset) DO NOTHING",
        &[&dataset, &epsilon, &delta, &parent],
    )?;
    if inserted == 0 {
        return Err(BudgetError::DatasetExists(dataset.to_owned()));
    }
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
    tx: &mut Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
    kind: &str,
    state: &str,
) -> Result<i64, BudgetError> {
    let (epsilon, delta) = cost_to_db(request.cost)?;
    let row = tx.query_one(
        "INSERT INTO charges (dataset, principal, description, epsilon_units, delta_units, \
         state, kind, mechanism, parameters) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
        &[
            &request.dataset,
            &request.principal,
            &request.description,
            &epsilon,
            &delta,
            &state,
            &kind,
            &details.mechanism,
            &details.parameters,
        ],
    )?;
    Ok(row.get(0))
}

fn insert_event(tx: &mut Transaction<'_>, event: &Event<'_>) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(event.cost)?;
    tx.execute(
        "INSERT INTO events (dataset, action, charge_id, principal, mechanism, parameters, \
         epsilon_units, delta_units) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &event.dataset,
            &event.action,
            &event.charge_id,
            &event.principal,
            &event.mechanism,
            &event.parameters,
            &epsilon,
            &delta,
        ],
    )?;
    Ok(())
}

fn add_spent(
    tx: &mut Transaction<'_>,
    dataset: &str,
    cost: PrivacyCost,
    add: bool,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(cost)?;
    let sign: i64 = if add { 1 } else { -1 };
    tx.execute(
        "UPDATE budgets SET spent_epsilon_units = spent_epsilon_units + $1, \
         spent_delta_units = spent_delta_units + $2 WHERE dataset = $3",
        &[&(sign * epsilon), &(sign * delta), &dataset],
    )?;
    Ok(())
}

/// The budget's status; with `lock`, its row is locked until the transaction ends.
fn require_status(
    tx: &mut Transaction<'_>,
    dataset: &str,
    lock: bool,
) -> Result<BudgetStatus, BudgetError> {
    let sql = format!(
        "SELECT epsilon_units, delta_units, spent_epsilon_units, spent_delta_units \
         FROM budgets WHERE dataset = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = tx
        .query_opt(&sql, &[&dataset])?
        .ok_or_else(|| CoreError::UnknownDataset(dataset.to_owned()))?;
    Ok(BudgetStatus {
        total: cost_from_db(row.get(0), row.get(1))?,
        spent: cost_from_db(row.get(2), row.get(3))?,
    })
}

fn insert_refusal(
    tx: &mut Transaction<'_>,
    request: &ChargeRequest,
    details: &ChargeDetails,
    remaining: PrivacyCost,
) -> Result<(), BudgetError> {
    let (epsilon, delta) = cost_to_db(request.cost)?;
    let (rem_epsilon, rem_delta) = cost_to_db(remaining)?;
    tx.execute(
        "INSERT INTO refusals (dataset, principal, description, epsilon_units, delta_units, \
         remaining_epsilon_units, remaining_delta_units, mechanism, parameters) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &request.dataset,
            &request.principal,
            &request.description,
            &epsilon,
            &delta,
            &rem_epsilon,
            &rem_delta,
            &details.mechanism,
            &details.parameters,
        ],
    )?;
    insert_event(tx, &event_of(request, details, "refused", None))
}

impl BudgetLedger for PostgresLedger {
    fn reserve(&self, request: &ChargeRequest) -> Result<Reservation, CoreError> {
        Ok(self.reserve_detailed(request, &ChargeDetails::default())?)
    }

    fn reserve_with_details(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, CoreError> {
        Ok(self.reserve_detailed(request, details)?)
    }

    fn commit(&self, reservation: Reservation) -> Result<(), CoreError> {
        Ok(self.finish_all(vec![reservation], ChargeState::Committed)?)
    }

    fn cancel(&self, reservation: Reservation) -> Result<(), CoreError> {
        Ok(self.finish_all(vec![reservation], ChargeState::Cancelled)?)
    }

    fn status(&self, dataset: &str) -> Result<BudgetStatus, CoreError> {
        Ok(self.in_transaction(|tx| require_status(tx, dataset, false))?)
    }
}

impl BudgetStore for PostgresLedger {
    fn create_budget(&self, dataset: &str, total: PrivacyCost) -> Result<(), BudgetError> {
        check_new_budget(dataset, total)?;
        self.in_transaction(|tx| insert_budget(tx, dataset, None, total, "ledger"))?;
        tracing::info!(dataset, epsilon = %total.epsilon, delta = %total.delta, "privacy budget created");
        Ok(())
    }

    fn allocate(
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
        let refused = self.in_transaction(|tx| {
            let status = require_status(tx, parent, true)?;
            if !fits(status, sum) {
                let request = ChargeRequest {
                    dataset: parent.to_owned(),
                    principal: principal.to_owned(),
                    cost: sum,
                    description: "allocation".to_owned(),
                };
                let names: Vec<&str> = children.iter().map(|(n, _)| n.as_str()).collect();
                let details = ChargeDetails {
                    mechanism: "allocation".to_owned(),
                    parameters: names.join(","),
                };
                insert_refusal(tx, &request, &details, status.remaining())?;
                log_refusal(&request, status.remaining());
                return Ok(Some(status.remaining()));
            }
            for (child, cost) in children {
                let details = ChargeDetails {
                    mechanism: allocation_mechanism(child),
                    parameters: String::new(),
                };
                let request = ChargeRequest {
                    dataset: parent.to_owned(),
                    principal: principal.to_owned(),
                    cost: *cost,
                    description: format!("allocation to {child}"),
                };
                let id = insert_charge(tx, &request, &details, "allocation", "committed")?;
                insert_event(tx, &event_of(&request, &details, "allocated", Some(id)))?;
                insert_budget(tx, child, Some(parent), *cost, principal)?;
            }
            add_spent(tx, parent, sum, true)?;
            Ok(None)
        })?;
        if let Some(remaining) = refused {
            return Err(exceeded(parent, sum, remaining));
        }
        for (child, cost) in children {
            tracing::info!(parent, child = %child, epsilon = %cost.epsilon, "privacy budget allocated");
            self.audit.allocation(parent, principal, child, *cost)?;
        }
        Ok(())
    }

    fn reserve_detailed(
        &self,
        request: &ChargeRequest,
        details: &ChargeDetails,
    ) -> Result<Reservation, BudgetError> {
        check_charge(request.cost)?;
        let outcome = self.in_transaction(|tx| decide(tx, request, details))?;
        self.report(request, details, outcome)
    }

    fn reserve_many(
        &self,
        requests: &[(ChargeRequest, ChargeDetails)],
    ) -> Result<Vec<Result<Reservation, BudgetError>>, BudgetError> {
        let outcomes = self.in_transaction(|tx| {
            let mut outcomes = Vec::with_capacity(requests.len());
            for (request, details) in requests {
                outcomes.push(match check_charge(request.cost) {
                    Ok(_) => decide(tx, request, details)?,
                    Err(error) => Err(error),
                });
            }
            Ok(outcomes)
        })?;
        Ok(requests
            .iter()
            .zip(outcomes)
            .map(|((request, details), outcome)| self.report(request, details, outcome))
            .collect())
    }

    fn commit_many(&self, reservations: Vec<Reservation>) -> Result<(), BudgetError> {
        self.finish_all(reservations, ChargeState::Committed)
    }

    fn budget(&self, dataset: &str) -> Result<BudgetInfo, BudgetError> {
        self.in_transaction(|tx| {
            let status = require_status(tx, dataset, false)?;
            let parent: Option<String> =
                tx.query_one("SELECT parent FROM budgets WHERE dataset = $1", &[&dataset])?.get(0);
            let children = tx
                .query(
                    "SELECT dataset FROM budgets WHERE parent = $1 ORDER BY dataset",
                    &[&dataset],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(BudgetInfo { dataset: dataset.to_owned(), parent, status, children })
        })
    }

    fn charges(&self, dataset: &str) -> Result<Vec<ChargeRecord>, BudgetError> {
        self.in_transaction(|tx| {
            require_status(tx, dataset, false)?;
            let rows = tx.query(
                "SELECT id, principal, description, epsilon_units, delta_units, state, \
                 created_at, kind, mechanism, parameters FROM charges WHERE dataset = $1 \
                 ORDER BY id",
                &[&dataset],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(ChargeRecord {
                        id: row.get(0),
                        principal: row.get(1),
                        description: row.get(2),
                        cost: cost_from_db(row.get(3), row.get(4))?,
                        state: ChargeState::from_db(row.get(5))?,
                        created_at: row.get(6),
                        kind: row.get(7),
                        mechanism: row.get(8),
                        parameters: row.get(9),
                    })
                })
                .collect()
        })
    }

    fn refusals(&self, dataset: &str) -> Result<Vec<RefusalRecord>, BudgetError> {
        self.in_transaction(|tx| {
            require_status(tx, dataset, false)?;
            let rows = tx.query(
                "SELECT id, principal, description, epsilon_units, delta_units, \
                 remaining_epsilon_units, remaining_delta_units, created_at, mechanism, \
                 parameters FROM refusals WHERE dataset = $1 ORDER BY id",
                &[&dataset],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(RefusalRecord {
                        id: row.get(0),
                        principal: row.get(1),
                        description: row.get(2),
                        requested: cost_from_db(row.get(3), row.get(4))?,
                        remaining: cost_from_db(row.get(5), row.get(6))?,
                        created_at: row.get(7),
                        mechanism: row.get(8),
                        parameters: row.get(9),
                    })
                })
                .collect()
        })
    }

    fn history(&self, dataset: &str, limit: Option<u32>) -> Result<Vec<HistoryEntry>, BudgetError> {
        let limit = limit.map_or(i64::MAX, i64::from);
        self.in_transaction(|tx| {
            require_status(tx, dataset, false)?;
            let rows = tx.query(
                "SELECT * FROM (SELECT id, action, charge_id, principal, mechanism, parameters, \
                 epsilon_units, delta_units, created_at FROM events WHERE dataset = $1 \
                 ORDER BY id DESC LIMIT $2) AS last ORDER BY id",
                &[&dataset, &limit],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(HistoryEntry {
                        id: row.get(0),
                        action: row.get(1),
                        charge_id: row.get(2),
                        principal: row.get(3),
                        mechanism: row.get(4),
                        parameters: row.get(5),
                        cost: cost_from_db(row.get(6), row.get(7))?,
                        created_at: row.get(8),
                    })
                })
                .collect()
        })
    }

    fn datasets(&self) -> Result<Vec<String>, BudgetError> {
        self.in_transaction(|tx| {
            let rows = tx.query("SELECT dataset FROM budgets ORDER BY dataset", &[])?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn check_consistency(&self) -> Result<(), BudgetError> {
        let mismatches: i64 = self.in_transaction(|tx| {
            Ok(tx
                .query_one(
                    "SELECT count(*) FROM budgets b WHERE \
                     spent_epsilon_units > epsilon_units OR spent_delta_units > delta_units OR \
                     spent_epsilon_units != (SELECT coalesce(sum(epsilon_units), 0) FROM \
                         charges c WHERE c.dataset = b.dataset AND state <> 'cancelled') OR \
                     spent_delta_units != (SELECT coalesce(sum(delta_units), 0) FROM \
                         charges c WHERE c.dataset = b.dataset AND state <> 'cancelled')",
                    &[],
                )?
                .get(0))
        })?;
        if mismatches == 0 {
            Ok(())
        } else {
            Err(BudgetError::Corrupt("running totals disagree with the charges"))
        }
    }
}
