//! `medi-privacy budget allocate | history | plan` end to end, as separate processes of the
//! real binary over one ledger file.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "tester")
            .output()
            .unwrap()
    }

    /// Runs `budget SUBCOMMAND --ledger L ARGS…`, expecting success.
    fn ok(&self, subcommand: &str, args: &[&str]) -> String {
        let ledger = self.path("ledger.sqlite");
        let mut all = vec!["budget", subcommand, "--ledger", &ledger];
        all.extend(args);
        let out = self.run(&all);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, subcommand: &str, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(subcommand, &args)).unwrap()
    }

    fn fails(&self, subcommand: &str, args: &[&str]) -> String {
        let ledger = self.path("ledger.sqlite");
        let mut all = vec!["budget", subcommand, "--ledger", &ledger];
        all.extend(args);
        let out = self.run(&all);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }
}

fn adult_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/adult/adult.csv")
}

#[test]
fn allocation_hands_budget_down_and_refuses_more_than_is_left() {
    let fx = Fixture::new();
    let audit = fx.path("audit.jsonl");
    fx.ok("init", &["--dataset", "hospital", "--epsilon", "3", "--delta", "1e-6"]);
    let result = fx.json(
        "allocate",
        &[
            "--parent",
            "hospital",
            "--child",
            "cardio",
            "--child",
            "onco",
            "--epsilon",
            "2.4",
            "--weights",
            "2,1",
            "--audit-log",
            &audit,
        ],
    );
    assert_eq!(result["children"][0]["total"]["epsilon"].as_f64(), Some(1.6));
    assert_eq!(result["children"][1]["total"]["epsilon"].as_f64(), Some(0.8));
    assert!((result["parent_remaining"]["epsilon"].as_f64().unwrap() - 0.6).abs() < 1e-12);
    // 0.7 > 0.6 left: refused, nothing created, the refusal in the audit log.
    let err = fx.fails(
        "allocate",
        &["--parent", "hospital", "--child", "neuro", "--epsilon", "0.7", "--audit-log", &audit],
    );
    assert!(err.contains("budget exceeded"), "{err}");
    assert!(fx.fails("show", &["--dataset", "neuro"]).contains("no privacy budget"));
    let kinds: Vec<String> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(kinds, ["budget_allocation", "budget_allocation", "refusal"]);
    // `show` keeps its JSON shape and reports the allocation as a charge of the parent.
    let shown = fx.json("show", &["--dataset", "hospital"]);
    let keys: Vec<&str> = shown.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["charges", "dataset", "remaining", "spent", "total"]);
    assert_eq!(shown["charges"].as_array().unwrap().len(), 2);
    assert!(fx.ok("show", &["--dataset", "cardio"]).contains("allocated from \"hospital\""));
    // Weights must match the children; checked before anything is written.
    let err = fx.fails(
        "allocate",
        &["--parent", "hospital", "--child", "x", "--epsilon", "0.1", "--weights", "1,2"],
    );
    assert!(err.contains("one weight per child"), "{err}");
}

#[test]
fn a_child_budget_is_charged_by_analyze_and_its_history_says_so() {
    let fx = Fixture::new();
    fx.ok("init", &["--dataset", "adult", "--epsilon", "2"]);
    fx.ok("allocate", &["--parent", "adult", "--child", "adult/alice", "--epsilon", "1"]);
    let ledger = fx.path("ledger.sqlite");
    let data = adult_csv().display().to_string();
    let out = fx.run(&[
        "analyze",
        "--ledger",
        &ledger,
        "--dataset",
        "adult/alice",
        "--data",
        &data,
        "--epsilon",
        "0.5",
        "--query",
        "count()",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let history = fx.json("history", &["--dataset", "adult/alice"]);
    let actions: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "reserved", "committed"]);
    assert_eq!(history["events"][1]["principal"], "tester");
    assert_eq!(history["events"][1]["epsilon"].as_f64(), Some(0.5));
    let parent = fx.json("history", &["--dataset", "adult", "--limit", "1"]);
    assert_eq!(parent["events"].as_array().unwrap().len(), 1);
    assert_eq!(parent["events"][0]["mechanism"], "allocation:adult/alice");
    assert!(fx.ok("history", &["--dataset", "adult/alice"]).contains("reserved"));
    // The parent's remaining ε is what it did not hand down.
    assert_eq!(
        fx.json("show", &["--dataset", "adult"])["remaining"]["epsilon"].as_f64(),
        Some(1.0)
    );
}

#[test]
fn plan_reports_the_reference_epsilons() {
    let fx = Fixture::new();
    let plan = fx.json(
        "plan",
        &[
            "--sampling-rate",
            "0.01",
            "--steps",
            "10000",
            "--delta",
            "1e-5",
            "--noise-multiplier",
            "1.1",
        ],
    );
    let pld = plan["pld"]["epsilon"].as_f64().unwrap();
    let rdp = plan["rdp"]["epsilon"].as_f64().unwrap();
    assert!((pld - 5.1926).abs() <= 1e-3, "{plan}");
    assert!((rdp - 5.632).abs() <= 1e-3, "{plan}");
    assert!(plan["pld"]["epsilon_lower"].as_f64().unwrap() <= pld);
    let text = fx.ok(
        "plan",
        &[
            "--sampling-rate",
            "1",
            "--steps",
            "1",
            "--delta",
            "1e-5",
            "--noise-multiplier",
            "1",
            "--accountant",
            "pld",
        ],
    );
    assert!(text.contains("pld: ε = 4.3771"), "{text}");
}

#[test]
fn plan_calibrates_to_a_target_or_to_what_a_budget_has_left() {
    let fx = Fixture::new();
    let coarse = ["--discretization", "1e-3"];
    let mut args =
        vec!["--sampling-rate", "0.02", "--steps", "500", "--delta", "1e-6", "--epsilon", "2"];
    args.extend(coarse);
    let plan = fx.json("plan", &args);
    let sigma = plan["pld"]["noise_multiplier"].as_f64().unwrap();
    let rdp_sigma = plan["rdp"]["noise_multiplier"].as_f64().unwrap();
    assert!(sigma < rdp_sigma, "pld needs less noise: {plan}");
    // The calibrated σ meets the target when checked by `plan` itself.
    let sigma_text = sigma.to_string();
    let mut check = vec![
        "--sampling-rate",
        "0.02",
        "--steps",
        "500",
        "--delta",
        "1e-6",
        "--noise-multiplier",
        &sigma_text,
        "--accountant",
        "pld",
    ];
    check.extend(coarse);
    assert!(fx.json("plan", &check)["pld"]["epsilon"].as_f64().unwrap() <= 2.0);
    // From a ledger: ε and δ left in the budget are the target.
    fx.ok("init", &["--dataset", "icu", "--epsilon", "2", "--delta", "1e-6"]);
    let ledger = fx.path("ledger.sqlite");
    let mut from_budget = vec![
        "--sampling-rate",
        "0.02",
        "--steps",
        "500",
        "--dataset",
        "icu",
        "--ledger",
        &ledger,
        "--accountant",
        "pld",
        "--json",
    ];
    from_budget.extend(coarse);
    let out = fx.run(&[&["budget", "plan"][..], &from_budget].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let planned: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((planned["pld"]["noise_multiplier"].as_f64().unwrap() - sigma).abs() < 1e-3 * sigma);
    // Without a target there is nothing to plan.
    let out = fx.run(&["budget", "plan", "--sampling-rate", "0.02", "--steps", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--noise-multiplier, --epsilon or --dataset")
    );
}
