//! Integration tests of [`SqliteLedger`]: the reserve → commit / cancel protocol, persistence,
//! refusals, concurrent reservations from independent connections, and a property test of the
//! budget invariant.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;

use privacy_budget::{BudgetError, ChargeState, SqliteLedger};
use privacy_core::{
    BudgetLedger, ChargeRequest, CoreError, DeltaAmount, EpsilonAmount, PrivacyCost, Reservation,
};
use proptest::prelude::*;
use tempfile::TempDir;

fn eps(text: &str) -> EpsilonAmount {
    EpsilonAmount::parse_decimal(text).unwrap()
}

fn delta(text: &str) -> DeltaAmount {
    DeltaAmount::parse_decimal(text).unwrap()
}

fn cost(epsilon: &str, d: &str) -> PrivacyCost {
    PrivacyCost { epsilon: eps(epsilon), delta: delta(d) }
}

fn request(dataset: &str, cost: PrivacyCost) -> ChargeRequest {
    ChargeRequest {
        dataset: dataset.to_owned(),
        principal: "analyst".to_owned(),
        description: "count(*)".to_owned(),
        cost,
    }
}

/// A fresh ledger file with one dataset, `icu`, whose budget is `total`.
fn ledger_with(total: PrivacyCost) -> (TempDir, PathBuf, SqliteLedger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = SqliteLedger::open(&path).unwrap();
    ledger.create_budget("icu", total).unwrap();
    (dir, path, ledger)
}

fn is_budget_exceeded(err: &BudgetError) -> bool {
    matches!(err, BudgetError::Core(CoreError::BudgetExceeded { .. }))
}

#[test]
fn k_charges_of_a_kth_exhaust_the_budget_and_the_next_is_refused() {
    let total = cost("1", "1e-5");
    let (_dir, _path, ledger) = ledger_with(total);
    let k = 7;
    let epsilons = total.epsilon.split(k).unwrap();
    let deltas = total.delta.split(k).unwrap();
    for (epsilon, delta) in epsilons.into_iter().zip(deltas) {
        let reservation = ledger.reserve(&request("icu", PrivacyCost { epsilon, delta })).unwrap();
        ledger.commit(reservation).unwrap();
    }
    assert_eq!(ledger.status("icu").unwrap().spent, total);
    assert_eq!(ledger.status("icu").unwrap().remaining(), PrivacyCost::ZERO);
    let smallest = PrivacyCost { epsilon: EpsilonAmount::from_units(1), delta: DeltaAmount::ZERO };
    let err = ledger.reserve(&request("icu", smallest)).unwrap_err();
    assert!(is_budget_exceeded(&err), "{err}");
}

#[test]
fn a_delta_overrun_is_refused_even_when_epsilon_fits() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "1e-6"));
    let err = ledger.reserve(&request("icu", cost("0.1", "2e-6"))).unwrap_err();
    assert!(is_budget_exceeded(&err), "{err}");
}

#[test]
fn a_refusal_is_recorded_with_what_was_asked_and_what_was_left() {
    let (_dir, _path, ledger) = ledger_with(cost("0.5", "0"));
    let granted = ledger.reserve(&request("icu", cost("0.3", "0"))).unwrap();
    ledger.commit(granted).unwrap();
    let err = ledger.reserve(&request("icu", cost("0.3", "0"))).unwrap_err();
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
    assert_eq!(refusals[0].requested, cost("0.3", "0"));
    assert_eq!(refusals[0].remaining, cost("0.2", "0"));
    assert_eq!(refusals[0].principal, "analyst");
    // The refusal charged nothing.
    assert_eq!(ledger.status("icu").unwrap().spent, cost("0.3", "0"));
}

#[test]
fn cancel_returns_the_budget_and_commit_keeps_it() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    let first = ledger.reserve(&request("icu", cost("0.4", "0"))).unwrap();
    let second = ledger.reserve(&request("icu", cost("0.6", "0"))).unwrap();
    assert_eq!(ledger.status("icu").unwrap().spent, cost("1", "0"));
    ledger.cancel(first).unwrap();
    assert_eq!(ledger.status("icu").unwrap().spent, cost("0.6", "0"));
    ledger.commit(second).unwrap();
    assert_eq!(ledger.status("icu").unwrap().spent, cost("0.6", "0"));
    let states: Vec<_> = ledger.charges("icu").unwrap().iter().map(|c| c.state).collect();
    assert_eq!(states, [ChargeState::Cancelled, ChargeState::Committed]);
}

#[test]
fn only_a_reserved_charge_can_be_committed_or_cancelled() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    let granted = ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap();
    let forged =
        Reservation { id: granted.id, dataset: granted.dataset.clone(), cost: granted.cost };
    ledger.commit(granted).unwrap();
    let err = ledger.cancel(forged).unwrap_err();
    assert!(matches!(err, BudgetError::NotReserved { state: ChargeState::Committed, .. }), "{err}");
    let unknown = Reservation { id: 999, dataset: "icu".into(), cost: cost("0.1", "0") };
    assert!(matches!(ledger.commit(unknown).unwrap_err(), BudgetError::UnknownCharge(999)));
    let granted = ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap();
    let cheaper = Reservation { id: granted.id, dataset: "icu".into(), cost: cost("0.05", "0") };
    let err = ledger.cancel(cheaper).unwrap_err();
    assert!(matches!(err, BudgetError::ReservationMismatch(id) if id == granted.id), "{err}");
    ledger.cancel(granted).unwrap();
}

#[test]
fn state_persists_across_reopening_the_file() {
    let (_dir, path, ledger) = ledger_with(cost("1", "1e-6"));
    let committed = ledger.reserve(&request("icu", cost("0.25", "1e-7"))).unwrap();
    ledger.commit(committed).unwrap();
    // A reservation never committed stands for a crash between reserve and commit.
    let _crashed = ledger.reserve(&request("icu", cost("0.5", "0"))).unwrap();
    drop(ledger);

    let reopened = SqliteLedger::open(&path).unwrap();
    let status = reopened.status("icu").unwrap();
    assert_eq!(status.total, cost("1", "1e-6"));
    assert_eq!(status.spent, cost("0.75", "1e-7"), "the crashed reservation must stay counted");
    let charges = reopened.charges("icu").unwrap();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[0].state, ChargeState::Committed);
    assert_eq!(charges[1].state, ChargeState::Reserved);
    assert_eq!(charges[0].description, "count(*)");
    assert!(charges[0].created_at.ends_with('Z') && charges[0].created_at.contains('T'));
    assert_eq!(reopened.datasets().unwrap(), ["icu"]);
}

#[test]
fn an_unknown_dataset_is_reported_as_such() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    fn unknown(err: BudgetError) -> bool {
        matches!(err, BudgetError::Core(CoreError::UnknownDataset(name)) if name == "oncology")
    }
    assert!(unknown(ledger.reserve(&request("oncology", cost("0.1", "0"))).unwrap_err()));
    assert!(unknown(ledger.status("oncology").unwrap_err()));
    assert!(unknown(ledger.charges("oncology").unwrap_err()));
    assert!(unknown(ledger.refusals("oncology").unwrap_err()));
}

#[test]
fn an_existing_budget_is_never_replaced() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    let err = ledger.create_budget("icu", cost("100", "0")).unwrap_err();
    assert!(matches!(&err, BudgetError::DatasetExists(name) if name == "icu"), "{err}");
    assert_eq!(ledger.status("icu").unwrap().total, cost("1", "0"));
}

#[test]
fn invalid_budgets_and_charges_are_refused() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    let invalid = |result: Result<(), BudgetError>, param: &str| {
        matches!(result, Err(BudgetError::Core(CoreError::InvalidParameter { name, .. }))
            if name == param)
    };
    assert!(invalid(ledger.create_budget("", cost("1", "0")), "dataset"));
    assert!(invalid(ledger.create_budget("ward", cost("0", "1e-6")), "epsilon"));
    let big_delta = PrivacyCost { epsilon: eps("1"), delta: delta("1") };
    assert!(invalid(ledger.create_budget("ward", big_delta), "delta"));
    let zero = ledger.reserve(&request("icu", PrivacyCost::ZERO)).map(|_| ());
    assert!(invalid(zero, "cost"));
    assert!(ledger.datasets().unwrap() == ["icu"]);
    assert!(ledger.charges("icu").unwrap().is_empty());
}

#[test]
fn amounts_beyond_the_integer_columns_are_refused() {
    let (_dir, _path, ledger) = ledger_with(cost("1", "0"));
    let huge =
        PrivacyCost { epsilon: EpsilonAmount::from_units(u64::MAX), delta: DeltaAmount::ZERO };
    let err = ledger.create_budget("ward", huge).unwrap_err();
    assert!(matches!(err, BudgetError::AmountTooLarge("epsilon")), "{err}");
    let err = ledger.reserve(&request("icu", huge)).unwrap_err();
    assert!(matches!(err, BudgetError::AmountTooLarge("epsilon")), "{err}");
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

#[test]
fn the_trait_reports_core_errors() {
    let (_dir, _path, ledger) = ledger_with(cost("0.1", "0"));
    let dyn_ledger: &dyn BudgetLedger = &ledger;
    let granted = dyn_ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap();
    let err = dyn_ledger.reserve(&request("icu", cost("0.1", "0"))).unwrap_err();
    assert!(matches!(err, CoreError::BudgetExceeded { .. }), "{err}");
    let forged = Reservation { id: granted.id, dataset: "icu".into(), cost: granted.cost };
    dyn_ledger.commit(granted).unwrap();
    let err = dyn_ledger.commit(forged).unwrap_err();
    assert!(matches!(err, CoreError::Ledger(_)), "{err}");
    assert_eq!(dyn_ledger.status("icu").unwrap().spent, cost("0.1", "0"));
}

/// Races `racers` threads, each with its own connection to `path`, to reserve ε = 0.1 once.
/// Returns how many reservations were granted.
fn race_reservations(path: &Path, racers: usize) -> usize {
    let start = Arc::new(Barrier::new(racers));
    let handles: Vec<_> = (0..racers)
        .map(|_| {
            let (path, start) = (path.to_owned(), Arc::clone(&start));
            thread::spawn(move || {
                let ledger = SqliteLedger::open(&path).unwrap();
                start.wait();
                match ledger.reserve(&request("icu", cost("0.1", "0"))) {
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

#[test]
fn concurrent_connections_never_overspend() {
    let (_dir, path, ledger) = ledger_with(cost("0.5", "0"));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (path, watching) = (path.clone(), Arc::clone(&watching));
        thread::spawn(move || {
            let observer = SqliteLedger::open(&path).unwrap();
            while watching.load(std::sync::atomic::Ordering::SeqCst) {
                let status = observer.status("icu").unwrap();
                assert!(status.spent.fits_within(status.total), "overspent: {:?}", status);
            }
        })
    };
    let granted = race_reservations(&path, 8);
    watching.store(false, std::sync::atomic::Ordering::SeqCst);
    watcher.join().unwrap();
    assert_eq!(granted, 5);
    assert_eq!(ledger.status("icu").unwrap().spent, cost("0.5", "0"));
    assert_eq!(ledger.charges("icu").unwrap().len(), 5);
    assert_eq!(ledger.refusals("icu").unwrap().len(), 3);
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
        let (_dir, _path, ledger) = ledger_with(total);
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
                            prop_assert!(is_budget_exceeded(&err), "{}", err);
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
