//! The `medi-privacy` binary end to end, on the bundled real data sets.
//!
//! Released values are random, so every closeness check allows five 95%-half-widths: for the
//! discrete Laplace that is a tail probability below e⁻¹⁴ per check, so these tests do not
//! flake. Truths are computed here from the files themselves.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ledger(&self) -> String {
        self.path("ledger.sqlite").display().to_string()
    }

    fn audit(&self) -> String {
        self.path("audit.jsonl").display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "tester")
            .output()
            .unwrap()
    }

    fn init(&self, dataset: &str, epsilon: &str, delta: &str) {
        let out = self.run(&[
            "budget",
            "init",
            "--ledger",
            &self.ledger(),
            "--dataset",
            dataset,
            "--epsilon",
            epsilon,
            "--delta",
            delta,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn analyze(&self, dataset: &str, data: &Path, extra: &[&str]) -> Output {
        let data = data.display().to_string();
        let ledger = self.ledger();
        let mut args = vec!["analyze", "--ledger", &ledger, "--dataset", dataset, "--data", &data];
        let audit = self.audit();
        args.extend(["--audit-log", audit.as_str()]);
        args.extend(extra);
        self.run(&args)
    }

    fn analyze_json(&self, dataset: &str, data: &Path, extra: &[&str]) -> Value {
        let mut extra = extra.to_vec();
        extra.push("--json");
        let out = self.analyze(dataset, data, &extra);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn budget(&self, dataset: &str) -> Value {
        let out = self.run(&[
            "budget",
            "show",
            "--ledger",
            &self.ledger(),
            "--dataset",
            dataset,
            "--json",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn audit_lines(&self) -> Vec<Value> {
        match std::fs::read_to_string(self.path("audit.jsonl")) {
            Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// One column of a delimited file as numbers.
fn column(path: &Path, delimiter: char, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(delimiter).collect();
    let index = header.iter().position(|h| *h == name).unwrap();
    lines.map(|l| l.split(delimiter).nth(index).unwrap().parse().unwrap()).collect()
}

fn half_width(release: &Value) -> f64 {
    (release["ci95"]["upper"].as_f64().unwrap() - release["ci95"]["lower"].as_f64().unwrap()) / 2.0
}

fn assert_close(release: &Value, truth: f64) {
    let value = release["value"].as_f64().unwrap();
    let allowed = 5.0 * half_width(release);
    assert!((value - truth).abs() <= allowed, "{release} is not within {allowed} of {truth}");
}

#[test]
fn adult_count_mean_and_sum_are_close_to_the_truth_and_charged() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    let ages = column(&adult, ';', "age");
    fx.init("adult", "10", "0");
    let out = fx.analyze_json(
        "adult",
        &adult,
        &[
            "--epsilon",
            "3",
            "--query",
            "count()",
            "--query",
            "mean(age, 17, 90)",
            "--query",
            "sum(age, 17, 90)",
        ],
    );
    let releases = out["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 3);
    let n = ages.len() as f64;
    let total: f64 = ages.iter().sum();
    assert_close(&releases[0], n);
    assert_close(&releases[2], total);
    let mean = &releases[1];
    let (lower, upper) =
        (mean["ci95"]["lower"].as_f64().unwrap(), mean["ci95"]["upper"].as_f64().unwrap());
    let slack = 2.0 * (upper - lower);
    assert!(lower - slack <= total / n && total / n <= upper + slack, "{mean}");
    for r in releases {
        assert_eq!(r["epsilon"].as_f64().unwrap(), 1.0);
        assert_eq!(r["mechanism"], "discrete_laplace");
        assert!(r["noise_scale"].as_f64().unwrap() > 0.0);
        assert_eq!(r["guarantee"]["kind"], "pure");
    }
    assert_eq!(out["spent"]["epsilon"].as_f64().unwrap(), 3.0);
    assert_eq!(out["remaining"]["epsilon"].as_f64().unwrap(), 7.0);
    assert_eq!(out["remaining"]["delta"].as_f64().unwrap(), 0.0);
    let budget = fx.budget("adult");
    assert_eq!(budget["spent"]["epsilon"].as_f64().unwrap(), 3.0);
    assert_eq!(budget["charges"].as_array().unwrap().len(), 1);
    let log = fx.audit_lines();
    assert_eq!(log.len(), 6, "a request, the reserved and committed charge, a release per query");
    assert_eq!(log[0]["event"]["kind"], "request");
    assert_eq!(log[1]["event"]["details"]["action"], "reserved");
    assert_eq!(log[2]["event"]["details"]["action"], "committed");
    assert!(log[3..].iter().all(|e| e["event"]["kind"] == "release"));
}

#[test]
fn breast_cancer_csv_and_parquet_give_the_same_truth() {
    use polars::prelude::*;
    let fx = Fixture::new();
    let csv = repo_file("data/breast_cancer/breast_cancer.csv");
    let radius = column(&csv, ',', "mean_radius");
    let truth = radius.iter().sum::<f64>() / radius.len() as f64;
    let parquet = fx.path("breast_cancer.parquet");
    let mut frame = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(csv.clone()))
        .unwrap()
        .finish()
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap()).finish(&mut frame).unwrap();
    fx.init("wdbc", "20", "0");
    for data in [&csv, &parquet] {
        let out = fx.analyze_json(
            "wdbc",
            data,
            &["--epsilon", "8", "--query", "mean(mean_radius, 5, 30)", "--query", "count()"],
        );
        let mean = &out["releases"][0];
        let (lower, upper) =
            (mean["ci95"]["lower"].as_f64().unwrap(), mean["ci95"]["upper"].as_f64().unwrap());
        let slack = 2.0 * (upper - lower);
        assert!(lower - slack <= truth && truth <= upper + slack, "{mean} vs {truth}");
        assert_close(&out["releases"][1], 569.0);
    }
    assert_eq!(fx.budget("wdbc")["remaining"]["epsilon"].as_f64().unwrap(), 4.0);
}

#[test]
fn the_split_is_shown_and_named_shares_are_honoured() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "1", "0");
    let out = fx.analyze_json(
        "adult",
        &adult,
        &[
            "--epsilon",
            "1",
            "--query",
            "count(epsilon=0.7)",
            "--query",
            "mean(age, 17, 90)",
            "--query",
            "sum(age, 17, 90)",
        ],
    );
    let shares: Vec<f64> = out["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["epsilon"].as_f64().unwrap())
        .collect();
    assert_eq!(shares, vec![0.7, 0.15, 0.15]);
    let fx = Fixture::new();
    fx.init("adult", "1", "0");
    let out = fx.analyze(
        "adult",
        &adult,
        &["--epsilon", "0.5", "--query", "count()", "--query", "mean(age, 17, 90)"],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0.2500"), "{text}");
    assert!(text.contains("remaining ε=0.5"), "{text}");
}

#[test]
fn gaussian_noise_is_used_and_charged_when_delta_is_given() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "2", "0.00001");
    let out = fx.analyze_json(
        "adult",
        &adult,
        &["--epsilon", "1", "--delta", "1e-6", "--query", "count()"],
    );
    let release = &out["releases"][0];
    assert_eq!(release["mechanism"], "discrete_gaussian");
    assert_eq!(release["guarantee"]["kind"], "zcdp");
    assert_close(release, 30162.0);
    assert_eq!(out["spent"]["delta"].as_f64().unwrap(), 1e-6);
}

#[test]
fn per_unit_truncation_bounds_each_patients_rows() {
    let fx = Fixture::new();
    // 300 patients with 5 visits each; only 2 visits per patient may count.
    let mut csv = String::from("patient,visit_cost\n");
    for _visit in 0..5 {
        for patient in 0..300 {
            csv.push_str(&format!("p{patient},1\n"));
        }
    }
    let data = fx.path("visits.csv");
    std::fs::write(&data, csv).unwrap();
    fx.init("visits", "20", "0");
    let out = fx.analyze_json(
        "visits",
        &data,
        &[
            "--epsilon",
            "10",
            "--privacy-unit",
            "patient",
            "--max-rows-per-unit",
            "2",
            "--query",
            "sum(visit_cost, 0, 1)",
            "--query",
            "count()",
        ],
    );
    assert_close(&out["releases"][0], 600.0);
    assert_close(&out["releases"][1], 600.0);
}

#[test]
fn bad_input_is_refused_charges_nothing_and_is_recorded() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "1", "0");
    let write = |name: &str, text: &str| {
        let path = fx.path(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let malformed = write("malformed.csv", "age,sex\n30,Male\n40,Female,extra,fields\n");
    let nan = write("nan.csv", "age\n30\nNaN\n40\n");
    let inf = write("inf.csv", "age\n30\ninf\n40\n");
    let empty = write("empty.csv", "");
    // polars panics inside its CSV reader on this one (found by fuzzing); it must still end as
    // a clean refusal, without a panic report.
    let lone_quote = write("lone_quote.csv", ",\n4,e\"\n\"");
    let adult = adult.display().to_string();
    let q = "mean(age, 17, 90)";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data", "missing.csv", "--epsilon", "0.1", "--query", q], "cannot read data file"),
        (vec!["--data", &malformed, "--epsilon", "0.1", "--query", q], "malformed data"),
        (
            vec!["--data", &adult, "--epsilon", "0.1", "--query", "mean(nope, 0, 1)"],
            "unknown column",
        ),
        (
            vec!["--data", &adult, "--epsilon", "0.1", "--query", "mean(sex, 0, 1)"],
            "needs a numeric column",
        ),
        (vec!["--data", &nan, "--epsilon", "0.1", "--query", q], "NaN or infinite"),
        (vec!["--data", &inf, "--epsilon", "0.1", "--query", q], "NaN or infinite"),
        (vec!["--data", &empty, "--epsilon", "0.1", "--query", q], "is empty"),
        (vec!["--data", &lone_quote, "--epsilon", "0.1", "--query", "count()"], "malformed data"),
        (vec!["--data", &adult, "--epsilon", "0", "--query", q], "epsilon"),
        (vec!["--data", &adult, "--epsilon=-1", "--query", q], "epsilon"),
        (vec!["--data", &adult, "--epsilon", "NaN", "--query", q], "epsilon"),
        (vec!["--data", &adult, "--epsilon", "inf", "--query", q], "epsilon"),
        (vec!["--data", &adult, "--epsilon", "0.1", "--delta", "1", "--query", q], "delta"),
        (vec!["--data", &adult, "--epsilon", "0.1", "--delta=-0.5", "--query", q], "delta"),
        (
            vec!["--data", &adult, "--epsilon", "0.1", "--query", "mean(age, 90, 17)"],
            "not below upper bound",
        ),
        (
            vec!["--data", &adult, "--epsilon", "0.1", "--query", "mean(age, 17"],
            "cannot parse query",
        ),
        (vec!["--data", &adult, "--epsilon", "5", "--query", q], "budget exceeded"),
    ];
    for (i, (args, expected)) in cases.iter().enumerate() {
        let ledger = fx.ledger();
        let mut full = vec!["analyze", "--ledger", &ledger, "--dataset", "adult"];
        let audit = fx.audit();
        full.extend(["--audit-log", audit.as_str()]);
        full.extend(args.iter().copied());
        let before = fx.audit_lines().len();
        let out = fx.run(&full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "case {i} ({args:?}): {stderr}");
        assert!(stderr.contains(expected), "case {i}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "case {i}: {stderr}");
        let log = fx.audit_lines();
        let new = &log[before..];
        assert!(!new.is_empty(), "case {i}: a refusal entry");
        assert_eq!(new[new.len() - 1]["event"]["kind"], "refusal", "case {i}");
        assert_eq!(new.iter().filter(|e| e["event"]["kind"] == "refusal").count(), 1, "case {i}");
        assert!(new.iter().all(|e| e["event"]["kind"] != "release"), "case {i}");
        let reason = new[new.len() - 1]["event"]["details"].to_string();
        assert!(!reason.contains("Male") && !reason.contains("Female"), "case {i}: {reason}");
    }
    let unknown = fx.run(&[
        "analyze",
        "--ledger",
        &fx.ledger(),
        "--dataset",
        "nope",
        "--data",
        &adult,
        "--epsilon",
        "0.1",
        "--query",
        q,
    ]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr.contains("no privacy budget") && stderr.contains("budget init"), "{stderr}");
    let budget = fx.budget("adult");
    assert_eq!(budget["spent"]["epsilon"].as_f64().unwrap(), 0.0, "{budget}");
    assert!(budget["charges"].as_array().unwrap().is_empty());
}

#[test]
fn concurrent_processes_never_overspend() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv").display().to_string();
    fx.init("adult", "1", "0");
    let ledger = fx.ledger();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
                .args([
                    "analyze",
                    "--ledger",
                    &ledger,
                    "--dataset",
                    "adult",
                    "--data",
                    &adult,
                    "--epsilon",
                    "0.3",
                    "--query",
                    "count()",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> =
        children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let granted = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(granted, 3, "exactly three charges of 0.3 fit in 1");
    for refused in outputs.iter().filter(|o| !o.status.success()) {
        assert!(String::from_utf8_lossy(&refused.stderr).contains("budget exceeded"));
    }
    let budget = fx.budget("adult");
    assert!((budget["spent"]["epsilon"].as_f64().unwrap() - 0.9).abs() < 1e-12);
}

#[test]
fn audit_verify_finds_an_edited_entry() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "5", "0");
    fx.analyze_json(
        "adult",
        &adult,
        &["--epsilon", "1", "--query", "count()", "--query", "mean(age, 17, 90)"],
    );
    fx.analyze_json("adult", &adult, &["--epsilon", "1", "--query", "count()"]);
    let audit = fx.audit();
    let ok = fx.run(&["audit", "verify", "--audit-log", &audit]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("9 entries"));
    let text = std::fs::read_to_string(&audit).unwrap();
    let edited = text.replacen("\"mean(age, 17, 90)\"", "\"mean(age, 18, 90)\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&audit, edited).unwrap();
    let bad = fx.run(&["audit", "verify", "--audit-log", &audit]);
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(stdout.contains("line 1") && stdout.contains("edited"), "{stdout}");
}

#[test]
fn demo_runs_the_whole_path() {
    let fx = Fixture::new();
    let out = fx.run(&["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "budget ε=1 δ=0 created",
        "mean(age, 17, 90)",
        "refused: nothing was released",
        "budget exceeded",
        "ok: 10 entries",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from:\n{stdout}");
    }
}

#[test]
fn help_lists_the_queries() {
    let fx = Fixture::new();
    let out = fx.run(&["analyze", "--help"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for q in [
        "count()",
        "sum(col, lo, hi)",
        "mean(col, lo, hi)",
        "--privacy-unit",
        "--max-rows-per-unit",
    ] {
        assert!(stdout.contains(q), "{q} missing from --help");
    }
}

#[test]
fn a_mistyped_ledger_path_is_refused_not_created() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv").display().to_string();
    let missing = fx.path("typo.sqlite").display().to_string();
    for args in [
        vec!["budget", "show", "--ledger", &missing, "--dataset", "adult"],
        vec![
            "analyze",
            "--ledger",
            &missing,
            "--dataset",
            "adult",
            "--data",
            &adult,
            "--epsilon",
            "1",
            "--query",
            "count()",
        ],
    ] {
        let out = fx.run(&args);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no ledger at"));
        assert!(!fx.path("typo.sqlite").exists(), "a ledger was created by {args:?}");
    }
}

#[test]
fn an_unwritable_audit_log_stops_the_call_before_any_charge() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv").display().to_string();
    fx.init("adult", "1", "0");
    // A directory where the log should be, and a log whose chain is broken.
    std::fs::create_dir(fx.path("dir.jsonl")).unwrap();
    let broken = fx.path("broken.jsonl");
    std::fs::write(&broken, "{\"not\": \"an entry\"}\n").unwrap();
    for log in [fx.path("dir.jsonl"), broken, PathBuf::from("/dev/null")] {
        let log = log.display().to_string();
        let out = fx.run(&[
            "analyze",
            "--ledger",
            &fx.ledger(),
            "--dataset",
            "adult",
            "--data",
            &adult,
            "--epsilon",
            "0.5",
            "--query",
            "count()",
            "--audit-log",
            &log,
        ]);
        assert_eq!(out.status.code(), Some(1), "{log}");
    }
    let budget = fx.budget("adult");
    assert_eq!(budget["spent"]["epsilon"].as_f64().unwrap(), 0.0, "{budget}");
    let out = fx.run(&[
        "budget",
        "init",
        "--ledger",
        &fx.ledger(),
        "--dataset",
        "other",
        "--epsilon",
        "1",
        "--audit-log",
        &fx.path("broken.jsonl").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = fx.run(&["budget", "show", "--ledger", &fx.ledger(), "--dataset", "other"]);
    assert_eq!(out.status.code(), Some(1), "the budget was created despite the broken log");
}

#[test]
fn blank_lines_are_not_patients_and_names_are_checked() {
    let fx = Fixture::new();
    let data = fx.path("blank.csv");
    std::fs::write(&data, "x,y\n1,2\n\n3,4\n\n\n\n").unwrap();
    fx.init("q", "2000", "0");
    let out = fx.analyze_json("q", &data, &["--epsilon", "1000", "--query", "count()"]);
    assert_close(&out["releases"][0], 2.0);
    let out = fx.analyze(
        "q",
        &data,
        &["--epsilon", "1", "--query", "count()", "--principal", "evil\n#99 forged"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control characters"));
    assert_eq!(fx.budget("q")["spent"]["epsilon"].as_f64().unwrap(), 1000.0);
}

#[test]
fn a_refused_budget_init_is_recorded() {
    let fx = Fixture::new();
    let audit = fx.audit();
    let init = |epsilon: &str| {
        fx.run(&[
            "budget",
            "init",
            "--ledger",
            &fx.ledger(),
            "--dataset",
            "d",
            "--epsilon",
            epsilon,
            "--audit-log",
            &audit,
        ])
    };
    assert!(init("1").status.success());
    assert_eq!(init("1").status.code(), Some(1), "a second budget for the same dataset");
    assert_eq!(init("0").status.code(), Some(1));
    let kinds: Vec<Value> = fx.audit_lines().iter().map(|e| e["event"]["kind"].clone()).collect();
    assert_eq!(kinds, vec!["budget_created", "refusal", "refusal"]);
}
