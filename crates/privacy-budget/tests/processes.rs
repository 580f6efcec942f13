//! Ledger tests across real processes: a process killed between reservation and commit, a
//! process killed at random points while it charges in a loop, and eight processes racing to
//! spend one small budget. They run against SQLite and, with the `postgres` feature, against
//! the database named by `MEDI_PRIVACY_TEST_POSTGRES_URL` (see `common/mod.rs`).
//!
//! The binary has its own `main` (no libtest): started as `processes worker …`, it is a worker
//! that charges a ledger and reports each granted charge on stdout; started without arguments,
//! it runs the scenarios, starting itself as workers, and ends with the line
//! `N passed, N failed`.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use common::{cost, request, Location};
use privacy_budget::{BudgetError, ChargeState};
use privacy_core::{ChargeDetails, CoreError, EpsilonAmount, PrivacyCost};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        worker(&args[2..]);
        return ExitCode::SUCCESS;
    }
    let mut outcomes = Vec::new();
    for (name, scenario) in scenarios() {
        outcomes.push(run(&format!("sqlite::{name}"), || scenario(&common::fresh_sqlite())));
        #[cfg(feature = "postgres")]
        if let Some(fresh) = common::fresh_postgres(name) {
            outcomes.push(run(&format!("postgres::{name}"), || scenario(&fresh)));
        }
    }
    let failed = outcomes.iter().filter(|ok| !**ok).count();
    println!("\n{} passed, {failed} failed", outcomes.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Scenario = fn(&common::Fresh);

fn scenarios() -> [(&'static str, Scenario); 3] {
    [
        ("killed_between_reserve_and_commit", killed_between_reserve_and_commit),
        ("killed_mid_query_leaves_a_consistent_ledger", killed_mid_query),
        ("eight_processes_race_for_one_small_budget", eight_processes_race),
    ]
}

fn run(name: &str, scenario: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    let ok = std::panic::catch_unwind(scenario).is_ok();
    println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
    ok
}

/// Starts a worker process on `at` in `mode` with `extra` arguments, stdout piped.
fn spawn(at: &Location, mode: &str, extra: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("worker")
        .arg(at.to_arg())
        .arg(mode)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The worker side. Modes:
/// - `hold DATASET EPSILON`: reserve once, print `reserved ID`, then wait to be killed;
/// - `churn DATASET`: reserve and commit ε = 10⁻⁶ forever, printing `committed ID`;
/// - `race DATASET START_FILE`: wait for START_FILE, then reserve and commit ε = 0.01 until
///   refused, printing `granted ID` for each, and `refused` at the end.
fn worker(args: &[String]) {
    let at = Location::from_arg(&args[0]);
    let ledger = at.open();
    let dataset = args[2].as_str();
    let details = ChargeDetails { mechanism: "worker".into(), parameters: args[1].clone() };
    match args[1].as_str() {
        "hold" => {
            let charge = cost(&args[3], "0");
            let reservation = ledger.reserve_detailed(&request(dataset, charge), &details).unwrap();
            println!("reserved {}", reservation.id);
            std::thread::sleep(Duration::from_secs(600));
        }
        "churn" => loop {
            let charge = cost("0.000001", "0");
            let reservation = ledger.reserve_detailed(&request(dataset, charge), &details).unwrap();
            let id = reservation.id;
            ledger.commit(reservation).unwrap();
            println!("committed {id}");
        },
        "race" => {
            while !Path::new(&args[3]).exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            loop {
                let charge = cost("0.01", "0");
                match ledger.reserve_detailed(&request(dataset, charge), &details) {
                    Ok(reservation) => {
                        let id = reservation.id;
                        ledger.commit(reservation).unwrap();
                        println!("granted {id}");
                    }
                    Err(BudgetError::Core(CoreError::BudgetExceeded { .. })) => {
                        println!("refused");
                        return;
                    }
                    Err(other) => panic!("unexpected ledger error: {other}"),
                }
            }
        }
        other => panic!("unknown worker mode {other}"),
    }
}

/// Reads lines from a worker until one starts with `prefix`; returns its last word.
fn read_until(child: &mut Child, prefix: &str) -> i64 {
    let stdout = child.stdout.as_mut().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.starts_with(prefix), "worker said {line:?}");
    line.trim().rsplit(' ').next().unwrap().parse().unwrap()
}

fn killed_between_reserve_and_commit(fresh: &common::Fresh) {
    let ledger = fresh.location.open();
    ledger.create_budget("icu", cost("1", "0")).unwrap();
    let mut child = spawn(&fresh.location, "hold", &["icu", "0.4"]);
    let id = read_until(&mut child, "reserved");
    child.kill().unwrap();
    child.wait().unwrap();
    // The answer the process may have released is lost; its charge is not.
    let status = ledger.status("icu").unwrap();
    assert_eq!(status.spent, cost("0.4", "0"));
    let charge = ledger.charges("icu").unwrap().into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(charge.state, ChargeState::Reserved);
    ledger.check_consistency().unwrap();
    assert!(ledger
        .reserve_detailed(&request("icu", cost("0.7", "0")), &Default::default())
        .is_err());
    assert!(ledger
        .reserve_detailed(&request("icu", cost("0.6", "0")), &Default::default())
        .is_ok());
}

fn killed_mid_query(fresh: &common::Fresh) {
    let ledger = fresh.location.open();
    ledger.create_budget("icu", cost("1000", "0")).unwrap();
    let mut reported = Vec::new();
    // Kill after different delays so the kill lands at different points of a transaction.
    for delay_ms in [120, 173, 251, 307] {
        let mut child = spawn(&fresh.location, "churn", &["icu"]);
        let started = Instant::now();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while started.elapsed() < Duration::from_millis(delay_ms) {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            reported.push(line.trim().rsplit(' ').next().unwrap().parse::<i64>().unwrap());
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines already written but not yet read are still reported charges.
        for line in reader.lines() {
            reported.push(line.unwrap().rsplit(' ').next().unwrap().parse().unwrap());
        }
        ledger.check_consistency().unwrap();
    }
    let charges = ledger.charges("icu").unwrap();
    // Every charge a worker saw committed is there, committed; nothing is counted twice.
    for id in &reported {
        let charge = charges.iter().find(|c| c.id == *id).unwrap();
        assert_eq!(charge.state, ChargeState::Committed);
    }
    let counted = charges.iter().filter(|c| c.state.is_counted()).count() as u64;
    let unit = EpsilonAmount::parse_decimal("0.000001").unwrap().units();
    assert_eq!(ledger.status("icu").unwrap().spent.epsilon.units(), counted * unit);
    assert!(counted >= reported.len() as u64 && !reported.is_empty());
    if let Location::Sqlite(path) = &fresh.location {
        let conn = rusqlite::Connection::open(path).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
}

fn eight_processes_race(fresh: &common::Fresh) {
    let ledger = fresh.location.open();
    ledger.create_budget("icu", cost("0.5", "0")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start");
    let start_arg = start.display().to_string();
    let mut children: Vec<Child> =
        (0..8).map(|_| spawn(&fresh.location, "race", &["icu", &start_arg])).collect();
    std::fs::write(&start, b"go").unwrap();
    let mut granted = Vec::new();
    for child in &mut children {
        let reader = BufReader::new(child.stdout.take().unwrap());
        let lines: Vec<String> = reader.lines().map(Result::unwrap).collect();
        assert_eq!(lines.last().map(String::as_str), Some("refused"), "{lines:?}");
        granted.extend(
            lines
                .iter()
                .filter_map(|l| l.strip_prefix("granted "))
                .map(|id| id.parse::<i64>().unwrap()),
        );
        assert!(child.wait().unwrap().success());
    }
    // Fifty charges of 0.01 fit in 0.5; exactly fifty were granted, none twice.
    granted.sort_unstable();
    granted.dedup();
    assert_eq!(granted.len(), 50);
    let status = ledger.status("icu").unwrap();
    assert_eq!((status.spent, status.remaining()), (cost("0.5", "0"), PrivacyCost::ZERO));
    assert_eq!(ledger.refusals("icu").unwrap().len(), 8);
    ledger.check_consistency().unwrap();
}
