//! The audit and report commands end to end, as separate processes of the real binary: signed
//! logs through the environment, verification of tampering and truncation, proofs checked
//! offline, the compliance report (and that it is deterministic), and the canary test that no
//! data value or secret reaches the log, its checkpoints, the traces or the report.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let fx = Self { dir: tempfile::tempdir().unwrap() };
        let out = fx.run(&["audit", "keygen", "--secret-key", "k.pem", "--public-key", "k.pub"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        fx
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Runs the binary in the fixture's folder, signing checkpoints with its key every 3
    /// entries, tracing everything to stderr.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "tester")
            .env("MEDI_PRIVACY_AUDIT_KEY", self.path("k.pem"))
            .env("MEDI_PRIVACY_AUDIT_CHECKPOINT_EVERY", "3")
            .env("MEDI_PRIVACY_LOG", "trace")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn verify_json(&self, extra: &[&str]) -> (Option<i32>, Value) {
        let mut args = vec!["audit", "verify", "--audit-log", "audit.jsonl", "--json"];
        args.extend(extra);
        let out = self.run(&args);
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap())
    }

    /// A budget and two analyses of the bundled Adult data, logged and signed: five entries
    /// (budget created, then a request and a release per analysis).
    fn history(&self) {
        let adult = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/adult/adult.csv");
        let adult = adult.display().to_string();
        self.ok(&[
            "budget",
            "init",
            "--ledger",
            "l.sqlite",
            "--dataset",
            "adult",
            "--epsilon",
            "2",
            "--audit-log",
            "audit.jsonl",
        ]);
        for query in ["count()", "mean(age, 17, 90)"] {
            self.ok(&[
                "analyze",
                "--ledger",
                "l.sqlite",
                "--dataset",
                "adult",
                "--data",
                &adult,
                "--epsilon",
                "0.5",
                "--query",
                query,
                "--audit-log",
                "audit.jsonl",
            ]);
        }
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_signed_log_verifies_and_tampering_and_truncation_are_named() {
    let fx = Fixture::new();
    fx.history();
    let out = fx.ok(&["audit", "verify", "--audit-log", "audit.jsonl", "--public-key", "k.pub"]);
    let stdout = text(&out);
    assert!(stdout.starts_with("ok: 5 entries, hash chain intact, last hash "), "{stdout}");
    assert!(stdout.contains("signatures: verified with key"), "{stdout}");
    let (code, json) = fx.verify_json(&["--public-key", "k.pub"]);
    assert_eq!(code, Some(0));
    for field in ["ok", "entries", "last_hash", "root", "checkpoints", "problems"] {
        assert!(json.get(field).is_some(), "{field} missing: {json}");
    }
    assert_eq!(json["checkpoints"]["latest_size"], 5, "closing the log signed a checkpoint");

    let log = std::fs::read_to_string(fx.path("audit.jsonl")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    std::fs::write(fx.path("audit.jsonl"), format!("{}\n", lines[..3].join("\n"))).unwrap();
    let (code, json) = fx.verify_json(&["--public-key", "k.pub"]);
    assert_eq!(code, Some(1));
    assert_eq!(json["problem"]["problem"], "truncated", "{json}");
    assert_eq!(json["problem"]["signed_size"], 5);
    let out = fx.run(&["audit", "verify", "--audit-log", "audit.jsonl", "--public-key", "k.pub"]);
    assert!(text(&out).starts_with("TAMPERED: the log was truncated"), "{}", text(&out));

    let edited = lines[2].replace("\"tester\"", "\"mallory\"");
    let mut all: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    all[2] = edited;
    std::fs::write(fx.path("audit.jsonl"), all.join("\n") + "\n").unwrap();
    let (_, json) = fx.verify_json(&["--public-key", "k.pub"]);
    assert_eq!(json["problem"], serde_json::json!({"problem": "edited", "seq": 3, "line": 3}));
    assert!(json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["problem"] == "checkpoint_mismatch"));
}

#[test]
fn missing_or_wrong_keys_are_clear_errors() {
    let fx = Fixture::new();
    fx.history();
    let out =
        fx.run(&["audit", "verify", "--audit-log", "audit.jsonl", "--public-key", "none.pub"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the public key file"));
    fx.ok(&["audit", "keygen", "--secret-key", "other.pem", "--public-key", "other.pub"]);
    let (code, json) = fx.verify_json(&["--public-key", "other.pub"]);
    assert_eq!(code, Some(1));
    assert_eq!(json["problem"]["problem"], "wrong_key");
    let again = fx.run(&["audit", "keygen", "--secret-key", "k.pem", "--public-key", "x.pub"]);
    assert!(!again.status.success(), "an existing key is never overwritten");
    let empty = fx.run(&["audit", "verify", "--audit-log", "k.pub"]);
    assert_eq!(empty.status.code(), Some(1), "a key file is not a log");
}

#[test]
fn proofs_are_checked_without_the_log() {
    let fx = Fixture::new();
    fx.history();
    let proof = fx.ok(&["audit", "prove", "--audit-log", "audit.jsonl", "--seq", "2"]);
    std::fs::write(fx.path("inclusion.json"), &proof.stdout).unwrap();
    let consistency =
        fx.ok(&["audit", "prove-consistency", "--audit-log", "audit.jsonl", "--from", "3"]);
    std::fs::write(fx.path("consistency.json"), &consistency.stdout).unwrap();
    std::fs::remove_file(fx.path("audit.jsonl")).unwrap();
    for file in ["inclusion.json", "consistency.json"] {
        let out = fx.ok(&["audit", "check-proof", "--proof", file, "--public-key", "k.pub"]);
        assert!(text(&out).contains("(signed tree heads)"), "{}", text(&out));
    }
    let bundle = std::fs::read_to_string(fx.path("inclusion.json")).unwrap();
    std::fs::write(fx.path("forged.json"), bundle.replace("\\\"tester\\\"", "\\\"eve\\\""))
        .unwrap();
    let forged =
        fx.run(&["audit", "check-proof", "--proof", "forged.json", "--public-key", "k.pub"]);
    assert_eq!(forged.status.code(), Some(1));
    assert!(text(&forged).starts_with("INVALID"));
}

const PROJECT: &str = r#"
[controller]
name = "St. Example Hospital"
dpo = "Dr. A. Officer"
[processing]
purposes = ["census statistics for service planning"]
retention = "deleted after 5 years"
"#;

const JOB: &str = r#"
name = "adult-k5"
purpose = "public-use extract"
[models]
k = 5
[columns]
quasi_identifying = ["age", "sex"]
"#;

const SAFE_HARBOR: &str = r#"{"table": "patients.csv", "rows": 10, "columns": [
  {"column": "zip", "identifiers": [{"kind": "geographic_subdivisions", "count": 10, "note": "by name"}]}
]}"#;

const RISK: &str = r#"{"job": "adult-k5", "models": ["5-anonymity"], "records": 30162,
  "suppressed": 1038, "prosecutor_max": 0.2, "prosecutor_avg": 0.03, "marketer": 0.03,
  "sample_uniques": 0.0, "population_uniques": 0.0}"#;

#[test]
fn the_report_is_complete_self_contained_and_deterministic() {
    let fx = Fixture::new();
    fx.history();
    for (name, content) in [
        ("project.toml", PROJECT),
        ("job.toml", JOB),
        ("sh.json", SAFE_HARBOR),
        ("risk.json", RISK),
    ] {
        std::fs::write(fx.path(name), content).unwrap();
    }
    let report = |out: &str| {
        fx.ok(&[
            "report",
            "--audit-log",
            "audit.jsonl",
            "--ledger",
            "l.sqlite",
            "--job",
            "job.toml",
            "--project",
            "project.toml",
            "--public-key",
            "k.pub",
            "--safe-harbor",
            "sh.json",
            "--risk-report",
            "risk.json",
            "--out",
            out,
        ]);
    };
    report("r1");
    report("r2");
    let read = |dir: &str, file: &str| std::fs::read_to_string(fx.path(dir).join(file)).unwrap();
    for file in ["report.html", "report.md", "gdpr-article-30.md", "gdpr-dpia.md", "budget-0.svg"] {
        assert_eq!(read("r1", file), read("r2", file), "{file} differs between runs");
    }
    let html = read("r1", "report.html");
    assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained");
    for expected in [
        "The log is intact: 5 entries",
        "verified with key",
        "<svg",
        "mean(age, 17, 90)",
        "pure ε = 0.5",
        "(B) geographic subdivisions smaller than a state",
        "ABOVE",
        "St. Example Hospital",
        "k = 5",
        "quasi-identifying: age, sex",
        "TO BE COMPLETED BY A PERSON",
        "Necessity and proportionality",
    ] {
        assert!(html.contains(expected), "{expected} missing from the HTML");
    }
    let markdown = read("r1", "report.md");
    assert!(markdown.contains("![") && markdown.contains("(budget-0.svg)"));
    assert!(markdown.contains("St. Example Hospital") && markdown.contains("mean(age, 17, 90)"));

    let log = std::fs::read_to_string(fx.path("audit.jsonl")).unwrap();
    std::fs::write(fx.path("audit.jsonl"), log.replacen("\"tester\"", "\"eve\"", 1)).unwrap();
    let damaged = fx.run(&["report", "--audit-log", "audit.jsonl", "--out", "r3"]);
    assert_eq!(damaged.status.code(), Some(1), "a damaged log is reported, loudly");
    assert!(read("r3", "report.html").contains("FAILED verification"));
}

// ---- The canary test: no data value or secret reaches the log, the traces or the report. ----

/// Values of the canary table, chosen so that none can appear by chance in a log.
const CANARIES: &[&str] = &["CANARY-ID-7Q3X", "31415926", "CANARY-DX-ZZ9K", "CANARY-ZIP-0451"];

/// Every command path that writes the audit log. Placeholders: `{data}` the canary table,
/// `{ledger}`, `{log}`, `{secret}` the audit secret key, `{dir}` the scratch folder. A new path is
/// one more line here (e.g. `deidentify`, `anonymize`, `mpc`, `fl` as they land).
const PATHS: &[(&str, &[&str])] = &[
    (
        "budget init",
        &[
            "budget",
            "init",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary",
            "--epsilon",
            "5",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "analyze",
        &[
            "analyze",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary",
            "--data",
            "{data}",
            "--epsilon",
            "1",
            "--query",
            "count()",
            "--query",
            "mean(age, 0, 100)",
            "--query",
            "sum(age, 0, 100)",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "analyze per patient",
        &[
            "analyze",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary",
            "--data",
            "{data}",
            "--epsilon",
            "1",
            "--privacy-unit",
            "patient_id",
            "--max-rows-per-unit",
            "1",
            "--query",
            "mean(age, 0, 100)",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "analyze refused: non-numeric column",
        &[
            "analyze",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary",
            "--data",
            "{data}",
            "--epsilon",
            "1",
            "--query",
            "mean(diagnosis, 0, 1)",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "analyze refused: budget",
        &[
            "analyze",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary",
            "--data",
            "{data}",
            "--epsilon",
            "50",
            "--query",
            "count()",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "audit keygen",
        &[
            "audit",
            "keygen",
            "--secret-key",
            "{dir}/k2.pem",
            "--public-key",
            "{dir}/k2.pub",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "audit checkpoint",
        &["audit", "checkpoint", "--audit-log", "{log}", "--secret-key", "{secret}"],
    ),
    (
        "deidentify",
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "{data}",
            "--out",
            "{dir}/deid.csv",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "pseudonym-key new",
        &["pseudonym-key", "new", "--key-file", "{dir}/pseudonym.key", "--audit-log", "{log}"],
    ),
    (
        "deidentify with pseudonyms",
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "{data}",
            "--out",
            "{dir}/deid-keyed.csv",
            "--key-file",
            "{dir}/pseudonym.key",
            "--audit-log",
            "{log}",
        ],
    ),
    (
        "report",
        &["report", "--audit-log", "{log}", "--ledger", "{ledger}", "--out", "{dir}/report"],
    ),
];

#[test]
fn no_data_value_or_secret_reaches_the_log_the_traces_or_the_report() {
    let fx = Fixture::new();
    let mut table = String::from("patient_id,age,diagnosis,zip\n");
    for i in 0..40 {
        table.push_str(&format!("CANARY-ID-7Q3X{i},45.31415926,CANARY-DX-ZZ9K,CANARY-ZIP-0451\n"));
    }
    std::fs::write(fx.path("canary.csv"), table).unwrap();
    let secret = std::fs::read_to_string(fx.path("k.pem")).unwrap();
    let secret_body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut canaries: Vec<String> = CANARIES.iter().map(|c| (*c).to_owned()).collect();
    canaries.push(secret_body[8..40].to_owned());
    let mut traces = String::new();
    for (name, args) in PATHS {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{data}", &fx.s("canary.csv"))
                    .replace("{ledger}", &fx.s("l.sqlite"))
                    .replace("{log}", &fx.s("audit.jsonl"))
                    .replace("{secret}", &fx.s("k.pem"))
                    .replace("{dir}", &fx.s(""))
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = fx.run(&args);
        traces.push_str(&String::from_utf8_lossy(&out.stderr));
        let log = std::fs::read_to_string(fx.path("audit.jsonl")).unwrap_or_default();
        assert!(log.lines().count() > 0, "{name} left no audit entry");
    }
    // The pseudonymization key ring is a secret too.
    let ring = std::fs::read_to_string(fx.path("pseudonym.key")).unwrap();
    canaries.push(ring.lines().last().unwrap().split(' ').nth(2).unwrap()[..32].to_owned());
    let mut written = vec![
        ("audit log", std::fs::read_to_string(fx.path("audit.jsonl")).unwrap()),
        ("checkpoints", std::fs::read_to_string(fx.path("audit.jsonl.checkpoints")).unwrap()),
        ("traces", traces),
    ];
    for file in ["report.html", "report.md", "gdpr-article-30.md", "gdpr-dpia.md"] {
        written.push((file, std::fs::read_to_string(fx.path("report").join(file)).unwrap()));
    }
    assert!(
        written[0].1.contains("\"kind\":\"refusal\"") && written[0].1.contains("key_generation")
    );
    for (what, content) in &written {
        for canary in &canaries {
            assert!(!content.contains(canary.as_str()), "{canary:?} reached the {what}");
        }
    }
}
