//! Integration tests of the ledgers: the reserve → commit / cancel protocol, exact amounts,
//! refusals, the budget hierarchy, the event journal, batches, audit events, concurrent
//! reservations from independent connections, and a property test of the budget invariant.
//!
//! Every test in `suite` takes a [`Location`] and runs against SQLite here and, with the
//! `postgres` feature, against the database named by `MEDI_PRIVACY_TEST_POSTGRES_URL`
//! (skipped with a note when it is unset, unless `MEDI_PRIVACY_REQUIRE_POSTGRES` is set).

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod common;

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use common::{cost, delta, eps, is_budget_exceeded, request, Location};
use privacy_budget::{BudgetError, BudgetStore, ChargeState, SqliteLedger};
use privacy_core::{
    AuditEvent, AuditSink, ChargeDetails, ChargeRequest, CoreError, DeltaAmount, EpsilonAmount,
    PrivacyCost, Reservation,
};
use proptest::prelude::*;

/// The tests every backend must pass.
mod suite {
    use super::*;

    /// A new connection to `at` with one budget, `icu`, whose total is `total`.
    fn ledger_with(at: &Location, total: PrivacyCost) -> Box<dyn BudgetStore> {
        let ledger = at.open();
        ledger.create_budget("icu", total).unwrap();
        ledger
    }

    pub(super) fn k_charges_of_a_kth_exhaust_the_budget(at: &Location) {
        let total = cost("1", "1e-5");
        let ledger = ledger_with(at, total);
        let k = 7;
        let epsilons = total.epsilon.split(k).unwrap();
        let deltas = total.delta.split(k).unwrap();
        for (epsilon, delta) in epsilons.into_iter().zip(deltas) {
            let granted = ledger.reserve(&request("icu", PrivacyCost { epsilon, delta })).unwrap();
            ledger.commit(granted).unwrap();
        }
        assert_eq!(ledger.status("icu").unwrap().spent, total);
        assert_eq!(ledger.status("icu").unwrap().remaining(), PrivacyCost::ZERO);
        let smallest =
            PrivacyCost { epsilon: EpsilonAmount::from_units(1), delta: DeltaAmount::ZERO };
        let err = ledger.reserve_detailed(&request("icu", smallest), &Default::default());
        assert!(is_budget_exceeded(&err.unwrap_err()));
    }

    pub(super) fn a_tenth_and_a_fifth_of_three_tenths_is_exactly_all_of_it(at: &Location) {
        let ledger = ledger_with(at, cost("0.3", "0"));
        for part in ["0.1", "0.2"] {
            let granted = ledger.reserve(&request("icu", cost(part, "0"))).unwrap();
            ledger.commit(granted).unwrap();
        }
        let status = ledger.status("icu").unwrap();
        assert_eq!((status.spent, status.remaining()), (cost("0.3", "0"), PrivacyCost::ZERO));
        let tiny = PrivacyCost { epsilon: EpsilonAmount::from_units(1), delta: DeltaAmount::ZERO };
        assert!(matches!(
            ledger.reserve(&request("icu", tiny)),
            Err(CoreError::BudgetExceeded { .. })
        ));
    }

    pub(super) fn a_delta_overrun_is_refused_even_when_epsilon_fits(at: &Location) {
        let ledger = ledger_with(at, cost("1", "1e-6"));
        let err = ledger.reserve(&request("icu", cost("0.1", "2e-6"))).unwrap_err();
        assert!(matches!(err, CoreError::BudgetExceeded { .. }), "{err}");
    }

    pub(super) fn a_refusal_is_recorded_with_what_was_asked_and_what_was_left(at: &Location) {
        let ledger = ledger_with(at, cost("0.5", "0"));
        let granted = ledger.reserve(&request("icu", cost("0.3", "0"))).unwrap();
        ledger.commit(granted).unwrap();
        let details = ChargeDetails { mechanism: "laplace".into(), parameters: "scale=2".into() };
        let err = ledger.reserve_detailed(&request("icu", cost("0.3", "0")), &details).unwrap_err();
        match err {
            BudgetError::Core(CoreError::BudgetExceeded { dataset, requested, remaining }) => {
                assert_eq!(dataset, "icu");
                assert_eq!(requested, "ε=0.3, δ=0");
                assert_eq!(remaining, "ε=0.2, δ=0");
            }
            other => panic!("expected a budget refusal, got {other}"),
        }
        let refusals = ledger.refusals("icu").unwrap();
        assert_eq!(refusals.len(), 1);
        assert_eq!(
            (refusals[0].requested, refusals[0].remaining),
            (cost("0.3", "0"), cost("0.2", "0"))
        );
        assert_eq!(
            (refusals[0].principal.as_str(), refusals[0].mechanism.as_str()),
            ("analyst", "laplace")
        );
        assert_eq!(refusals[0].parameters, "scale=2");
        assert_eq!(ledger.status("icu").unwrap().spent, cost("0.3", "0"));
    }

    pub(super) fn cancel_returns_the_budget_and_commit_keeps_it(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let first = ledger.reserve(&request("icu", cost("0.4", "0"))).unwrap();
        let second = ledger.reserve(&request("icu", cost("0.6", "0"))).unwrap();
        assert_eq!(ledger.status("icu").unwrap().spent, cost("1", "0"));
        ledger.cancel(first).unwrap();
        assert_eq!(ledger.status("icu").unwrap().spent, cost("0.6", "0"));
        ledger.commit(second).unwrap();
        assert_eq!(ledger.status("icu").unwrap().spent, cost("0.6", "0"));
        let states: Vec<_> = ledger.charges("icu").unwrap().iter().map(|c| c.state).collect();
        assert_eq!(states, [ChargeState::Cancelled, ChargeState::Committed]);
        ledger.check_consistency().unwrap();
    }

    pub(super) fn only_a_reserved_charge_can_be_committed_or_cancelled(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let granted = ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap();
        let forged =
            Reservation { id: granted.id, dataset: granted.dataset.clone(), cost: granted.cost };
        ledger.commit(granted).unwrap();
        let err = ledger.commit_many(vec![forged]).unwrap_err();
        assert!(
            matches!(err, BudgetError::NotReserved { state: ChargeState::Committed, .. }),
            "{err}"
        );
        let unknown = Reservation { id: 999_999, dataset: "icu".into(), cost: cost("0.1", "0") };
        assert!(matches!(
            ledger.commit_many(vec![unknown]),
            Err(BudgetError::UnknownCharge(999_999))
        ));
        let granted = ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap();
        let cheaper =
            Reservation { id: granted.id, dataset: "icu".into(), cost: cost("0.05", "0") };
        let err = ledger.commit_many(vec![cheaper]).unwrap_err();
        assert!(matches!(err, BudgetError::ReservationMismatch(id) if id == granted.id), "{err}");
        ledger.cancel(granted).unwrap();
        ledger.check_consistency().unwrap();
    }

    pub(super) fn an_unknown_dataset_is_reported_as_such(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let unknown = |err: BudgetError| matches!(err, BudgetError::Core(CoreError::UnknownDataset(name)) if name == "oncology");
        let err =
            ledger.reserve_detailed(&request("oncology", cost("0.1", "0")), &Default::default());
        assert!(unknown(err.unwrap_err()));
        assert!(unknown(ledger.budget("oncology").unwrap_err()));
        assert!(unknown(ledger.charges("oncology").unwrap_err()));
        assert!(unknown(ledger.refusals("oncology").unwrap_err()));
        assert!(unknown(ledger.history("oncology", None).unwrap_err()));
        assert!(unknown(
            ledger.allocate("oncology", "a", &[("x".into(), cost("1", "0"))]).unwrap_err()
        ));
    }

    pub(super) fn an_existing_budget_is_never_replaced(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let err = ledger.create_budget("icu", cost("100", "0")).unwrap_err();
        assert!(matches!(&err, BudgetError::DatasetExists(name) if name == "icu"), "{err}");
        assert_eq!(ledger.status("icu").unwrap().total, cost("1", "0"));
    }

    pub(super) fn invalid_budgets_and_charges_are_refused_and_change_nothing(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let invalid = |result: Result<(), BudgetError>, param: &str| {
            matches!(result, Err(BudgetError::Core(CoreError::InvalidParameter { name, .. }))
                if name == param)
        };
        assert!(invalid(ledger.create_budget("", cost("1", "0")), "dataset"));
        assert!(invalid(ledger.create_budget("ward", cost("0", "1e-6")), "epsilon"));
        let big_delta = PrivacyCost { epsilon: eps("1"), delta: delta("1") };
        assert!(invalid(ledger.create_budget("ward", big_delta), "delta"));
        let none = Default::default();
        let zero = ledger.reserve_detailed(&request("icu", PrivacyCost::ZERO), &none).map(|_| ());
        assert!(invalid(zero, "cost"));
        let bad = ledger.reserve_detailed(&request("icu", big_delta), &none).map(|_| ());
        assert!(invalid(bad, "delta"));
        let huge =
            PrivacyCost { epsilon: EpsilonAmount::from_units(u64::MAX), delta: DeltaAmount::ZERO };
        let err = ledger.reserve_detailed(&request("icu", huge), &none).unwrap_err();
        assert!(matches!(err, BudgetError::AmountTooLarge("epsilon")), "{err}");
        assert!(matches!(ledger.create_budget("ward", huge), Err(BudgetError::AmountTooLarge(_))));
        // A non-finite or negative ε never becomes an amount in the first place.
        for bad in [f64::NAN, f64::INFINITY, -0.5] {
            assert!(EpsilonAmount::from_f64_up(bad).is_err());
        }
        assert_eq!(ledger.datasets().unwrap(), ["icu"]);
        assert!(ledger.charges("icu").unwrap().is_empty());
        assert_eq!(ledger.status("icu").unwrap().spent, PrivacyCost::ZERO);
        assert_eq!(ledger.history("icu", None).unwrap().len(), 1, "only the creation");
    }

    pub(super) fn children_never_spend_more_than_their_parent_has_left(at: &Location) {
        let ledger = at.open();
        ledger.create_budget("hospital", cost("10", "1e-5")).unwrap();
        let projects =
            [("cardio".to_owned(), cost("6", "5e-6")), ("onco".to_owned(), cost("3", "0"))];
        ledger.allocate("hospital", "cpo", &projects).unwrap();
        let hospital = ledger.budget("hospital").unwrap();
        assert_eq!(hospital.status.spent, cost("9", "5e-6"));
        assert_eq!(hospital.children, ["cardio", "onco"]);
        // More than the ε = 1 left: refused, recorded, nothing changes.
        let err = ledger.allocate("hospital", "cpo", &[("neuro".into(), cost("1.5", "0"))]);
        assert!(is_budget_exceeded(&err.unwrap_err()));
        assert!(ledger.budget("neuro").is_err());
        assert_eq!(ledger.refusals("hospital").unwrap().len(), 1);
        // Two analysts under cardio; the second asks for more than is left.
        let analysts = [
            ("cardio/alice".to_owned(), cost("4", "0")),
            ("cardio/bob".to_owned(), cost("2", "0")),
        ];
        ledger.allocate("cardio", "lead", &analysts).unwrap();
        let err = ledger.allocate("cardio", "lead", &[("cardio/carol".into(), cost("0.1", "0"))]);
        assert!(is_budget_exceeded(&err.unwrap_err()));
        let alice = ledger.budget("cardio/alice").unwrap();
        assert_eq!((alice.parent.as_deref(), alice.status.total), (Some("cardio"), cost("4", "0")));
        let granted = ledger.reserve(&request("cardio/alice", cost("4", "0"))).unwrap();
        ledger.commit(granted).unwrap();
        assert!(matches!(
            ledger.reserve(&request("cardio/alice", cost("0.001", "0"))),
            Err(CoreError::BudgetExceeded { .. })
        ));
        // An allocation to an existing name is refused as a whole.
        let err = ledger.allocate(
            "hospital",
            "cpo",
            &[("x".into(), cost("0.5", "0")), ("onco".into(), cost("0.5", "0"))],
        );
        assert!(matches!(err, Err(BudgetError::DatasetExists(name)) if name == "onco"));
        assert!(ledger.budget("x").is_err());
        assert_eq!(ledger.status("hospital").unwrap().spent, cost("9", "5e-6"));
        ledger.check_consistency().unwrap();
    }

    pub(super) fn the_history_records_every_change_with_mechanism_and_parameters(at: &Location) {
        let ledger = ledger_with(at, cost("1", "1e-6"));
        let details = ChargeDetails {
            mechanism: "sampled_gaussian".into(),
            parameters: "sigma=1.1,q=0.01,steps=100".into(),
        };
        let first =
            ledger.reserve_detailed(&request("icu", cost("0.5", "1e-7")), &details).unwrap();
        ledger.commit(first).unwrap();
        let second = ledger.reserve_detailed(&request("icu", cost("0.25", "0")), &details).unwrap();
        ledger.cancel(second).unwrap();
        let _ = ledger.reserve_detailed(&request("icu", cost("0.9", "0")), &details).unwrap_err();
        ledger.allocate("icu", "lead", &[("icu/a".into(), cost("0.1", "0"))]).unwrap();
        let history = ledger.history("icu", None).unwrap();
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["created", "reserved", "committed", "reserved", "cancelled", "refused", "allocated"]
        );
        assert!(history
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].created_at <= w[1].created_at));
        assert_eq!(history[1].mechanism, "sampled_gaussian");
        assert_eq!(history[2].parameters, "sigma=1.1,q=0.01,steps=100");
        assert_eq!(history[1].charge_id, history[2].charge_id);
        assert_eq!((history[0].cost, history[1].cost), (cost("1", "1e-6"), cost("0.5", "1e-7")));
        assert_eq!(history[6].mechanism, "allocation:icu/a");
        let last = ledger.history("icu", Some(2)).unwrap();
        assert_eq!(last, history[5..]);
        let charges = ledger.charges("icu").unwrap();
        assert_eq!((charges[0].kind.as_str(), charges[2].kind.as_str()), ("query", "allocation"));
        assert_eq!(ledger.history("icu/a", None).unwrap()[0].parameters, "parent=icu");
    }

    pub(super) fn a_batch_decides_like_reservations_one_after_another(at: &Location) {
        let ledger = ledger_with(at, cost("1", "0"));
        let none = ChargeDetails::default();
        let batch: Vec<(ChargeRequest, ChargeDetails)> = ["0.4", "0.5", "0.3", "0.1", "0"]
            .iter()
            .map(|e| (request("icu", cost(e, "0")), none.clone()))
            .collect();
        let outcomes = ledger.reserve_many(&batch).unwrap();
        let granted: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(granted, [true, true, false, true, false]);
        assert!(is_budget_exceeded(outcomes[2].as_ref().unwrap_err()));
        assert!(matches!(&outcomes[4], Err(BudgetError::Core(CoreError::InvalidParameter { .. }))));
        ledger.commit_many(outcomes.into_iter().filter_map(Result::ok).collect()).unwrap();
        assert_eq!(ledger.status("icu").unwrap().spent, cost("1", "0"));
        assert!(ledger.charges("icu").unwrap().iter().all(|c| c.state == ChargeState::Committed));
        assert_eq!(ledger.refusals("icu").unwrap().len(), 1);
        ledger.check_consistency().unwrap();
    }

    /// An audit sink that keeps events in memory and can be made to fail.
    #[derive(Default)]
    struct Recorder {
        events: Mutex<Vec<AuditEvent>>,
        broken: std::sync::atomic::AtomicBool,
    }

    impl AuditSink for Recorder {
        fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
            if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(CoreError::Audit("disk full".into()));
            }
            self.events.lock().unwrap().push(event.clone());
            Ok(())
        }
    }

    pub(super) fn charges_and_allocations_are_reported_to_the_audit_sink(at: &Location) {
        let recorder = Arc::new(Recorder::default());
        let ledger: Box<dyn BudgetStore> = match at {
            Location::Sqlite(path) => {
                Box::new(SqliteLedger::open(path).unwrap().with_audit(recorder.clone()))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Box::new(
                privacy_budget::PostgresLedger::connect(url).unwrap().with_audit(recorder.clone()),
            ),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => unreachable!(),
        };
        ledger.create_budget("icu", cost("1", "0")).unwrap();
        let granted = ledger.reserve(&request("icu", cost("0.5", "0"))).unwrap();
        ledger.commit(granted).unwrap();
        let _ = ledger.reserve(&request("icu", cost("0.9", "0"))).unwrap_err();
        ledger.allocate("icu", "lead", &[("icu/a".into(), cost("0.1", "0"))]).unwrap();
        let kinds: Vec<String> = recorder
            .events
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{:?}:{}",
                    e.kind,
                    e.details.get("action").and_then(|a| a.as_str()).unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "BudgetCharge:reserved",
                "BudgetCharge:committed",
                "BudgetCharge:refused",
                "BudgetAllocation:-"
            ]
        );
        // A reservation whose event cannot be written is cancelled: nothing stays charged.
        recorder.broken.store(true, std::sync::atomic::Ordering::SeqCst);
        let err = ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap_err();
        assert!(matches!(err, CoreError::Audit(_)), "{err}");
        assert_eq!(ledger.status("icu").unwrap().spent, cost("0.6", "0"));
        assert_eq!(ledger.charges("icu").unwrap().last().unwrap().state, ChargeState::Cancelled);
    }

    /// Races `racers` threads, each with its own connection to `at`, to reserve ε = 0.1 once.
    /// Returns how many reservations were granted.
    fn race_reservations(at: &Location, racers: usize) -> usize {
        let start = Arc::new(Barrier::new(racers));
        let handles: Vec<_> = (0..racers)
            .map(|_| {
                let (at, start) = (at.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    let ledger = at.open();
                    start.wait();
                    match ledger
                        .reserve_detailed(&request("icu", cost("0.1", "0")), &Default::default())
                    {
                        Ok(reservation) => {
                            ledger.commit(reservation).unwrap();
                            true
                        }
                        Err(err) if is_budget_exceeded(&err) => false,
                        Err(err) => panic!("unexpected ledger error: {err}"),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|&won| won).count()
    }

    pub(super) fn concurrent_connections_never_overspend(at: &Location) {
        let ledger = ledger_with(at, cost("0.5", "0"));
        let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (at, watching) = (at.clone(), Arc::clone(&watching));
            thread::spawn(move || {
                let observer = at.open();
                while watching.load(std::sync::atomic::Ordering::SeqCst) {
                    let status = observer.status("icu").unwrap();
                    assert!(status.spent.fits_within(status.total), "overspent: {status:?}");
                }
            })
        };
        let granted = race_reservations(at, 8);
        watching.store(false, std::sync::atomic::Ordering::SeqCst);
        watcher.join().unwrap();
        assert_eq!(granted, 5);
        assert_eq!(ledger.status("icu").unwrap().spent, cost("0.5", "0"));
        assert_eq!(ledger.charges("icu").unwrap().len(), 5);
        assert_eq!(ledger.refusals("icu").unwrap().len(), 3);
        ledger.check_consistency().unwrap();
    }
}

/// Expands to one `#[test]` per suite function, each on a fresh ledger from `$fresh`.
macro_rules! backend_tests {
    ($fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(fresh) = $fresh(stringify!($name)) {
                    suite::$name(&fresh.location);
                }
            }
        )*
    };
}

macro_rules! all_suite_tests {
    ($fresh:expr) => {
        backend_tests!($fresh;
            k_charges_of_a_kth_exhaust_the_budget,
            a_tenth_and_a_fifth_of_three_tenths_is_exactly_all_of_it,
            a_delta_overrun_is_refused_even_when_epsilon_fits,
            a_refusal_is_recorded_with_what_was_asked_and_what_was_left,
            cancel_returns_the_budget_and_commit_keeps_it,
            only_a_reserved_charge_can_be_committed_or_cancelled,
            an_unknown_dataset_is_reported_as_such,
            an_existing_budget_is_never_replaced,
            invalid_budgets_and_charges_are_refused_and_change_nothing,
            children_never_spend_more_than_their_parent_has_left,
            the_history_records_every_change_with_mechanism_and_parameters,
            a_batch_decides_like_reservations_one_after_another,
            charges_and_allocations_are_reported_to_the_audit_sink,
            concurrent_connections_never_overspend,
        );
    };
}

mod sqlite {
    use super::*;

    all_suite_tests!(|_: &str| Some(common::fresh_sqlite()));

    #[test]
    fn state_persists_across_reopening_the_file() {
        let fresh = common::fresh_sqlite();
        let Location::Sqlite(path) = &fresh.location else { unreachable!() };
        let ledger = SqliteLedger::open(path).unwrap();
        ledger.create_budget("icu", cost("1", "1e-6")).unwrap();
        let committed = ledger.reserve(&request("icu", cost("0.25", "1e-7"))).unwrap();
        ledger.commit(committed).unwrap();
        // A reservation never committed stands for a crash between reserve and commit.
        let _crashed = ledger.reserve(&request("icu", cost("0.5", "0"))).unwrap();
        drop(ledger);
        let reopened = SqliteLedger::open(path).unwrap();
        let status = reopened.status("icu").unwrap();
        assert_eq!(status.total, cost("1", "1e-6"));
        assert_eq!(status.spent, cost("0.75", "1e-7"), "the crashed reservation must stay counted");
        let charges = reopened.charges("icu").unwrap();
        assert_eq!(
            (charges[0].state, charges[1].state),
            (ChargeState::Committed, ChargeState::Reserved)
        );
        assert_eq!(charges[0].description, "count(*)");
        assert!(charges[0].created_at.ends_with('Z') && charges[0].created_at.contains('T'));
    }

    #[test]
    fn connections_racing_to_create_a_new_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let start = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let ledger = SqliteLedger::open(&path).unwrap();
                    ledger.create_budget(&format!("ward-{i}"), cost("1", "0")).unwrap();
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(SqliteLedger::open(&path).unwrap().datasets().unwrap().len(), 8);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    all_suite_tests!(common::fresh_postgres);
}

#[derive(Clone, Debug)]
enum Op {
    Reserve { epsilon_units: u64, delta_units: u64 },
    Commit(usize),
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..400, 0u64..400)
            .prop_map(|(e, d)| Op::Reserve { epsilon_units: e, delta_units: d }),
        1 => any::<usize>().prop_map(Op::Commit),
        1 => any::<usize>().prop_map(Op::Cancel),
    ]
}

proptest! {
    // Each case opens a fresh file and every step is a synced transaction: keep the count low.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn spent_never_exceeds_total_and_equals_the_live_charges(
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        let total = PrivacyCost {
            epsilon: EpsilonAmount::from_units(1000),
            delta: DeltaAmount::from_units(1000),
        };
        let fresh = common::fresh_sqlite();
        let ledger = fresh.location.open();
        ledger.create_budget("icu", total).unwrap();
        let mut open: Vec<Reservation> = Vec::new();
        let mut live = PrivacyCost::ZERO;
        for op in ops {
            match op {
                Op::Reserve { epsilon_units, delta_units } => {
                    let cost = PrivacyCost {
                        epsilon: EpsilonAmount::from_units(epsilon_units),
                        delta: DeltaAmount::from_units(delta_units),
                    };
                    match ledger.reserve(&request("icu", cost)) {
                        Ok(reservation) => {
                            live = live.checked_add(cost).unwrap();
                            open.push(reservation);
                        }
                        Err(err) => {
                            prop_assert!(matches!(err, CoreError::BudgetExceeded { .. }), "{}", err);
                            prop_assert!(!live.checked_add(cost).unwrap().fits_within(total));
                        }
                    }
                }
                Op::Commit(i) if !open.is_empty() => {
                    let reservation = open.swap_remove(i % open.len());
                    ledger.commit(reservation).unwrap();
                }
                Op::Cancel(i) if !open.is_empty() => {
                    let reservation = open.swap_remove(i % open.len());
                    live = PrivacyCost {
                        epsilon: live.epsilon.checked_sub(reservation.cost.epsilon).unwrap(),
                        delta: live.delta.checked_sub(reservation.cost.delta).unwrap(),
                    };
                    ledger.cancel(reservation).unwrap();
                }
                Op::Commit(_) | Op::Cancel(_) => {}
            }
            let status = ledger.status("icu").unwrap();
            prop_assert!(status.spent.fits_within(status.total));
            prop_assert_eq!(status.spent, live);
            let recorded = ledger
                .charges("icu")
                .unwrap()
                .into_iter()
                .filter(|c| c.state.is_counted())
                .try_fold(PrivacyCost::ZERO, |sum, c| sum.checked_add(c.cost))
                .unwrap();
            prop_assert_eq!(recorded, live);
        }
    }
}
