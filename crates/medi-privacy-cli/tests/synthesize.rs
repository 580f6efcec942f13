//! `medi-privacy synthesize` as a separate process on the bundled Adult table: the synthetic
//! table, the utility report, the charge on the ledger, the audit entry, and refusal once the
//! budget is spent (with nothing written).

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
        .args(args)
        .current_dir(dir)
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn synthesize(dir: &Path, out: &str) -> Output {
    let adult = repo_file("data/adult/adult.csv");
    run(
        dir,
        &[
            "synthesize",
            "--data",
            adult.to_str().unwrap(),
            "--dataset",
            "adult",
            "--ledger",
            "ledger.sqlite",
            "--epsilon",
            "1",
            "--delta",
            "0.000001",
            "--columns",
            "age:17:90:4,sex,race,salary-class",
            "--rows",
            "2000",
            "--out",
            out,
            "--report",
            &format!("{out}.utility.json"),
            "--audit-log",
            "audit.jsonl",
            "--json",
        ],
    )
}

/// A ledger in `dir` with a budget of `epsilon` and δ = 10⁻⁵ for `adult`.
fn init_budget(dir: &Path, epsilon: &str) {
    let init = run(
        dir,
        &[
            "budget",
            "init",
            "--ledger",
            "ledger.sqlite",
            "--dataset",
            "adult",
            "--epsilon",
            epsilon,
            "--delta",
            "0.00001",
        ],
    );
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
}

#[test]
fn synthesize_charges_the_budget_writes_the_table_and_refuses_when_spent() {
    let dir = tempfile::tempdir().unwrap();
    init_budget(dir.path(), "1.5");
    let out = synthesize(dir.path(), "synthetic.csv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["rows"], 2000);
    assert_eq!(json["tree"].as_array().unwrap().len(), 3);
    let table = std::fs::read_to_string(dir.path().join("synthetic.csv")).unwrap();
    assert_eq!(table.lines().next().unwrap(), "age,sex,race,salary-class");
    assert_eq!(table.lines().count(), 2001);
    let report = std::fs::read_to_string(dir.path().join("synthetic.csv.utility.json")).unwrap();
    assert!(report.contains("total_variation") && report.contains("train_synthetic_accuracy"));
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.contains("synthetic_data") && !audit.contains("Married"), "{audit}");
    let show = run(
        dir.path(),
        &["budget", "show", "--ledger", "ledger.sqlite", "--dataset", "adult", "--json"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let charges = shown["charges"].as_array().unwrap();
    assert_eq!(charges.len(), 1, "{shown}");
    assert_eq!(charges[0]["epsilon"], 1.0);
    assert!(charges[0]["description"].as_str().unwrap().contains("synthetic"), "{shown}");
    // ε = 1.5 total: a second ε = 1 release does not fit; nothing is written for it.
    let again = synthesize(dir.path(), "second.csv");
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.to_lowercase().contains("budget"), "{stderr}");
    assert!(!dir.path().join("second.csv").exists());
}

/// Requests that cannot be carried out (no rows, more cells than the cap, an output folder
/// that does not exist) are refused before the ledger is touched: no panic, no charge, no file.
#[test]
fn impossible_requests_are_refused_before_any_charge() {
    let dir = tempfile::tempdir().unwrap();
    init_budget(dir.path(), "1");
    let adult = repo_file("data/adult/adult.csv");
    for (rows, out) in [
        ("0", "a.csv"),
        ("18446744073709551615", "b.csv"),
        ("1000000000000", "c.csv"),
        ("100", "no-such-folder/d.csv"),
        // Existing files are never replaced: not the ledger, not anything else.
        ("100", "ledger.sqlite"),
    ] {
        let result = run(
            dir.path(),
            &[
                "synthesize",
                "--data",
                adult.to_str().unwrap(),
                "--dataset",
                "adult",
                "--ledger",
                "ledger.sqlite",
                "--epsilon",
                "0.5",
                "--delta",
                "0.000001",
                "--columns",
                "sex,race",
                "--rows",
                rows,
                "--out",
                out,
            ],
        );
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "rows {rows}, out {out}: {stderr}");
        assert!(stderr.contains("nothing was charged"), "rows {rows}, out {out}: {stderr}");
        assert!(out == "ledger.sqlite" || !dir.path().join(out).exists());
    }
    let show = run(
        dir.path(),
        &["budget", "show", "--ledger", "ledger.sqlite", "--dataset", "adult", "--json"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["charges"].as_array().unwrap().len(), 0, "{shown}");
}
