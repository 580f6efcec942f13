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
    // One scalar draw: calibrated by the discrete Gaussian's exact privacy profile.
    assert_eq!(release["guarantee"]["kind"], "approximate");
    assert_eq!(release["guarantee"]["epsilon"], "1");
    assert_close(release, 30162.0);
    // σ ≈ 4.2 at (1, 10⁻⁶) and sensitivity 1, against ≈ 5.4 by the Bun–Steinke conversion.
    let sigma = release["noise_scale"].as_f64().unwrap();
    assert!(sigma < 4.5, "{release}");
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
        "var(col, lo, hi)",
        "std(col, lo, hi)",
        "median(col, lo, hi)",
        "quantile(col, 0.9, lo, hi)",
        "histogram(col)",
        "histogram(col, [a, b, c])",
        "count() by col",
        "mean(col, lo, hi) by col",
        "sum(col, lo, hi) by col",
        "epsilon=",
        "error=",
        "--privacy-unit",
        "--max-rows-per-unit",
        "--max-groups-per-unit",
        "--explain",
        "--split",
        "--assume-rows",
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
    // An empty file is refused too, and stays empty.
    std::fs::write(fx.path("empty.sqlite"), b"").unwrap();
    let empty = fx.path("empty.sqlite").display().to_string();
    let out = fx.run(&["budget", "show", "--ledger", &empty, "--dataset", "adult"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ledger at"));
    assert_eq!(std::fs::metadata(fx.path("empty.sqlite")).unwrap().len(), 0);
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

/// One text column of a delimited file.
fn text_column(path: &Path, delimiter: char, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(delimiter).collect();
    let index = header.iter().position(|h| *h == name).unwrap();
    lines.map(|l| l.split(delimiter).nth(index).unwrap().to_owned()).collect()
}

/// `max(0, L − t, t − R)` for a point `y`: how far `y` is from being an exact q-quantile.
fn rank_distance(sorted: &[f64], q: f64, y: f64) -> f64 {
    let t = (q * sorted.len() as f64).floor();
    let below = sorted.iter().filter(|&&v| v < y).count() as f64;
    let up_to = sorted.iter().filter(|&&v| v <= y).count() as f64;
    0f64.max(below - t).max(t - up_to)
}

#[test]
fn adult_variance_deviation_and_quantiles_are_close_to_the_truth() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    let mut ages = column(&adult, ';', "age");
    fx.init("adult", "10", "0");
    let out = fx.analyze_json(
        "adult",
        &adult,
        &[
            "--epsilon",
            "4",
            "--query",
            "var(age, 17, 90)",
            "--query",
            "std(age, 17, 90)",
            "--query",
            "median(age, 17, 90)",
            "--query",
            "quantile(age, 0.9, 17, 90)",
        ],
    );
    let n = ages.len() as f64;
    let mean = ages.iter().sum::<f64>() / n;
    let var = ages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
    let releases = out["releases"].as_array().unwrap();
    // Five half-widths of each (conservative, union-bound) interval: a miss is far rarer than
    // one in a million.
    assert_close(&releases[0], var);
    assert_close(&releases[1], var.sqrt());
    assert!(releases[0]["value"].as_f64().unwrap() <= (90.0f64 - 17.0).powi(2) / 4.0);
    ages.sort_by(f64::total_cmp);
    for (release, q) in [(&releases[2], 0.5), (&releases[3], 0.9)] {
        assert_eq!(release["mechanism"], "exponential");
        assert!(release["ci95"].is_null(), "{release}");
        let bound = release["rank_error95"].as_f64().unwrap();
        let y = release["value"].as_f64().unwrap();
        // Three times the 95% rank bound: a miss has probability below 10⁻¹⁵.
        let distance = rank_distance(&ages, q, y);
        assert!(distance <= 3.0 * bound, "{release}: {distance} ranks from the {q}-quantile");
        assert_eq!(release["guarantee"]["kind"], "pure");
    }
    assert_eq!(out["spent"]["epsilon"].as_f64().unwrap(), 4.0);
}

#[test]
fn adult_histograms_and_group_bys_are_close_to_the_truth() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    let ages = column(&adult, ';', "age");
    let sexes = text_column(&adult, ';', "sex");
    let races = text_column(&adult, ';', "race");
    fx.init("adult", "10", "0.00001");
    // Without δ, unknown keys are refused before anything is charged.
    let refused = fx.analyze("adult", &adult, &["--epsilon", "1", "--query", "count() by race"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("partition selection"), "{stderr}");
    assert_eq!(fx.budget("adult")["spent"]["epsilon"].as_f64().unwrap(), 0.0);
    let out = fx.analyze_json(
        "adult",
        &adult,
        &[
            "--epsilon",
            "6",
            "--delta",
            "0.000002",
            "--mechanism",
            "laplace",
            "--query",
            "histogram(sex, [Female, Male, Other])",
            "--query",
            "count() by race",
            "--query",
            "mean(age, 17, 90) by sex",
        ],
    );
    let releases = out["releases"].as_array().unwrap();
    let histogram = &releases[0];
    assert!(histogram["value"].is_null(), "{histogram}");
    assert_eq!(histogram["delta"].as_f64().unwrap(), 0.0, "declared bins spend no δ");
    assert_eq!(histogram["guarantee"]["kind"], "pure");
    let groups = histogram["groups"].as_array().unwrap();
    let keys: Vec<Option<&str>> = groups.iter().map(|g| g["key"].as_str()).collect();
    assert_eq!(keys, [Some("Female"), Some("Male"), Some("Other"), None]);
    for g in groups {
        let truth = match g["key"].as_str() {
            Some(k) => sexes.iter().filter(|s| *s == k).count(),
            None => 0,
        };
        assert_close(g, truth as f64);
    }
    let by_race = &releases[1];
    assert_eq!(by_race["by"], "race");
    assert_eq!(by_race["delta"].as_f64().unwrap(), 1e-6);
    assert_eq!(by_race["guarantee"]["kind"], "approximate");
    assert!(by_race["threshold"].as_u64().unwrap() > 1);
    let groups = by_race["groups"].as_array().unwrap();
    let mut distinct: Vec<&String> = races.iter().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(groups.len(), distinct.len(), "every race has hundreds of people: all released");
    for (g, race) in groups.iter().zip(&distinct) {
        assert_eq!(g["key"].as_str().unwrap(), race.as_str(), "sorted by key");
        assert_close(g, races.iter().filter(|r| r == race).count() as f64);
    }
    let by_sex = releases[2]["groups"].as_array().unwrap();
    for g in by_sex {
        let key = g["key"].as_str().unwrap();
        let (sum, count) = ages
            .iter()
            .zip(&sexes)
            .filter(|(_, s)| s.as_str() == key)
            .fold((0.0, 0.0), |(s, c), (a, _)| (s + a, c + 1.0));
        let (lower, upper) =
            (g["ci95"]["lower"].as_f64().unwrap(), g["ci95"]["upper"].as_f64().unwrap());
        let slack = 2.0 * (upper - lower);
        assert!(lower - slack <= sum / count && sum / count <= upper + slack, "{g}");
    }
    assert_eq!(out["spent"]["delta"].as_f64().unwrap(), 2e-6);
    // The audit log holds how many groups were released, never a key.
    let log = std::fs::read_to_string(fx.path("audit.jsonl")).unwrap();
    assert!(log.contains("groups_released"));
    for key in ["Amer-Indian-Eskimo", "Asian-Pac-Islander"] {
        assert!(!log.contains(key), "{key} in the log");
    }
}

#[test]
fn group_bounds_per_patient_are_enforced_and_required() {
    let fx = Fixture::new();
    // 200 patients, each with 3 visits in each of 4 wards; count at most 2 wards and 1 visit
    // per ward per patient.
    let mut csv = String::from("patient,ward,cost\n");
    for visit in 0..3 {
        for ward in ["a", "b", "c", "d"] {
            for patient in 0..200 {
                csv.push_str(&format!("p{patient},{ward},{}\n", visit + 1));
            }
        }
    }
    let data = fx.path("wards.csv");
    std::fs::write(&data, csv).unwrap();
    fx.init("wards", "20", "0.001");
    let base = [
        "--epsilon",
        "8",
        "--delta",
        "0.0001",
        "--privacy-unit",
        "patient",
        "--max-rows-per-unit",
        "1",
    ];
    let mut missing = base.to_vec();
    missing.extend(["--query", "count() by ward"]);
    let out = fx.analyze("wards", &data, &missing);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-groups-per-unit"));
    let mut args = base.to_vec();
    args.extend([
        "--max-groups-per-unit",
        "2",
        "--query",
        "count() by ward",
        "--query",
        "sum(cost, 0, 3) by ward",
    ]);
    let out = fx.analyze_json("wards", &data, &args);
    // Every patient keeps its first two wards (a and b, in file order), one visit each.
    let counts = out["releases"][0]["groups"].as_array().unwrap();
    let keys: Vec<&str> = counts.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "b"], "wards c and d have no kept row");
    for g in counts {
        assert_close(g, 200.0);
    }
    for g in out["releases"][1]["groups"].as_array().unwrap() {
        assert_close(g, 200.0);
    }
}

#[test]
fn explain_reports_the_plan_and_charges_nothing() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "1", "0");
    let out = fx.analyze_json(
        "adult",
        &adult,
        &[
            "--epsilon",
            "1",
            "--explain",
            "--assume-rows",
            "30000",
            "--query",
            "count(error=5)",
            "--query",
            "mean(age, 17, 90, error=0.05)",
            "--query",
            "median(age, 17, 90)",
        ],
    );
    assert_eq!(out["explain"], true);
    let queries = out["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 3);
    let count = &queries[0];
    assert_eq!(count["mechanism"], "discrete_laplace");
    assert_eq!(count["sensitivity"].as_f64().unwrap(), 1.0);
    // Laplace of scale 3 at ε = 1/3: a 95% half-width of about 3·ln 20 ≈ 9.
    let w = count["half_width95"].as_f64().unwrap();
    assert!((8.0..11.0).contains(&w), "{count}");
    let needed = count["epsilon_for_target"].as_f64().unwrap();
    assert!(needed > 0.33 && needed < 1.0, "{count}");
    assert!(queries[1]["half_width95"].as_f64().unwrap() > 0.0);
    assert_eq!(queries[2]["error_unit"], "rank");
    // Nothing charged, nothing logged; the file was not even needed.
    assert_eq!(fx.budget("adult")["spent"]["epsilon"].as_f64().unwrap(), 0.0);
    assert!(fx.audit_lines().is_empty(), "explain writes no audit entry");
    let ledger = fx.ledger();
    let text = fx.run(&[
        "analyze",
        "--ledger",
        &ledger,
        "--dataset",
        "adult",
        "--epsilon",
        "1",
        "--explain",
        "--query",
        "sum(age, 17, 90)",
        "--query",
        "count() by sex",
    ]);
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert_eq!(text.status.code(), Some(1), "count() by needs δ: {stderr}");
    let text = fx.run(&[
        "analyze",
        "--ledger",
        &ledger,
        "--dataset",
        "adult",
        "--epsilon",
        "1",
        "--delta",
        "1e-6",
        "--explain",
        "--query",
        "sum(age, 17, 90)",
        "--query",
        "count() by sex",
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    assert!(
        stdout.contains("nothing is charged") && stdout.contains("noisy number of patients"),
        "{stdout}"
    );
}

#[test]
fn accuracy_split_gives_each_query_the_share_its_target_needs() {
    let fx = Fixture::new();
    let adult = repo_file("data/adult/adult.csv");
    fx.init("adult", "2", "0");
    let queries = ["--query", "count(error=20)", "--query", "sum(age, 17, 90, error=2000)"];
    let mut args = vec!["--epsilon", "1", "--split", "accuracy"];
    args.extend(queries);
    let out = fx.analyze_json("adult", &adult, &args);
    assert_eq!(out["split"]["strategy"], "accuracy");
    let ratio = out["split"]["accuracy_ratio"].as_f64().unwrap();
    let releases = out["releases"].as_array().unwrap();
    let shares: Vec<f64> = releases.iter().map(|r| r["epsilon"].as_f64().unwrap()).collect();
    assert!((shares[0] + shares[1] - 1.0).abs() < 1e-12, "{shares:?}");
    // Both reach the same fraction of their targets: half-widths ∝ targets.
    let widths: Vec<f64> = releases.iter().map(half_width).collect();
    let fractions = [widths[0] / 20.0, widths[1] / 2000.0];
    assert!((fractions[0] / fractions[1] - 1.0).abs() < 0.05, "{fractions:?}");
    assert!((fractions[0] / ratio - 1.0).abs() < 0.05, "{fractions:?} vs {ratio}");
    assert!(ratio < 1.0, "both targets are easy at ε = 1");
    // A query without a target cannot be split by accuracy.
    let out = fx.analyze(
        "adult",
        &adult,
        &["--epsilon", "0.5", "--split", "accuracy", "--query", "count()"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error="));
    assert!((fx.budget("adult")["spent"]["epsilon"].as_f64().unwrap() - 1.0).abs() < 1e-12);
}
