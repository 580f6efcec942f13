//! The audit and report commands end to end, as separate processes of the real binary: signed
//! logs through the environment, verification of tampering and truncation, proofs checked
//! offline, the compliance report (and that it is deterministic), and the canary test that no
//! data value or secret reaches the log, its checkpoints, the traces or the report.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

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

    /// The binary in the fixture's folder, signing checkpoints with its key every 3 entries,
    /// tracing everything to stderr.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medi-privacy"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "tester")
            .env("MEDI_PRIVACY_AUDIT_KEY", self.path("k.pem"))
            .env("MEDI_PRIVACY_AUDIT_CHECKPOINT_EVERY", "3")
            .env("MEDI_PRIVACY_LOG", "trace");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The events of the log, in order.
    fn events(&self) -> Vec<Value> {
        let log = std::fs::read_to_string(self.path("audit.jsonl")).unwrap_or_default();
        // Complete lines only: a torn last line (written on purpose below) is no entry.
        let complete = log.rsplit_once('\n').map_or("", |(lines, _)| lines);
        complete
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
            .collect()
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

    /// A budget and two analyses of the bundled Adult data, logged and signed: nine entries
    /// (budget created, then per analysis a request, the ledger's reserved and committed
    /// charges, and the release).
    fn history(&self) {
        let adult = repo_file("data/adult/adult.csv").display().to_string();
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
    assert!(stdout.starts_with("ok: 9 entries, hash chain intact, last hash "), "{stdout}");
    assert!(stdout.contains("signatures: verified with key"), "{stdout}");
    let (code, json) = fx.verify_json(&["--public-key", "k.pub"]);
    assert_eq!(code, Some(0));
    for field in ["ok", "entries", "last_hash", "root", "checkpoints", "problems"] {
        assert!(json.get(field).is_some(), "{field} missing: {json}");
    }
    assert_eq!(json["checkpoints"]["latest_size"], 9, "closing the log signed a checkpoint");

    let log = std::fs::read_to_string(fx.path("audit.jsonl")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    std::fs::write(fx.path("audit.jsonl"), format!("{}\n", lines[..3].join("\n"))).unwrap();
    let (code, json) = fx.verify_json(&["--public-key", "k.pub"]);
    assert_eq!(code, Some(1));
    assert_eq!(json["problem"]["problem"], "truncated", "{json}");
    assert_eq!(json["problem"]["signed_size"], 9);
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
        fx.ok(&["audit", "prove-consistency", "--audit-log", "audit.jsonl", "--from", "4"]);
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
[jobs.adult-k5]
purpose = "public-use extract"
retention = "extract kept 10 years"
"#;

/// An anonymization job on the bundled Adult table (k = 5 over age and sex, as ARX's example
/// does), written to `dir/NAME.toml`; its output and report go beside it.
fn adult_job(dir: &Path, name: &str) -> PathBuf {
    let mut text = format!(
        "[data]\npath = {:?}\n[output]\npath = \"{name}.csv\"\nreport = \"{name}-report.json\"\n",
        repo_file("data/adult/adult.csv")
    );
    for q in ["age", "sex", "race"] {
        let h = repo_file(&format!("data/adult/hierarchies/adult_hierarchy_{q}.csv"));
        text += &format!(
            "[[attributes]]\nname = {q:?}\nkind = \"quasi-identifying\"\nhierarchy = {h:?}\n"
        );
    }
    text += "[[attributes]]\nname = \"salary-class\"\nkind = \"sensitive\"\n";
    text += "[[models]]\ntype = \"k-anonymity\"\nk = 5\n[limits]\nsuppression = 0.04\n";
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

const SAFE_HARBOR: &str = r#"{"table": "patients.csv", "rows": 10, "columns": [
  {"column": "zip", "identifiers": [{"kind": "geographic_subdivisions", "count": 10, "note": "by name"}]}
]}"#;

const RISK: &str = r#"{"job": "hand-made", "models": ["5-anonymity"], "records": 30162,
  "suppressed": 1038, "prosecutor_max": 0.2, "prosecutor_avg": 0.03, "marketer": 0.03,
  "sample_uniques": 0.0, "population_uniques": 0.0}"#;

#[test]
fn the_report_is_complete_self_contained_and_deterministic() {
    let fx = Fixture::new();
    fx.history();
    adult_job(fx.dir.path(), "adult-k5");
    for (name, content) in
        [("project.toml", PROJECT), ("sh.json", SAFE_HARBOR), ("risk.json", RISK)]
    {
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
            "adult-k5.toml",
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
        "The log is intact: 9 entries",
        "verified with key",
        "<svg",
        "mean(age, 17, 90)",
        "pure ε = 0.5",
        "(B) geographic subdivisions smaller than a state",
        "ABOVE",
        "St. Example Hospital",
        "k-anonymity (k = 5)",
        "quasi-identifying: age, sex, race",
        "sensitive: salary-class",
        "public-use extract (job adult-k5.toml)",
        "extract kept 10 years (job adult-k5.toml)",
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
    std::fs::write(fx.path("bad.toml"), "name = \"x\"\n[columns]\nk = 5\n").unwrap();
    let stale =
        fx.run(&["report", "--audit-log", "audit.jsonl", "--job", "bad.toml", "--out", "r4"]);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(stderr.contains("bad.toml is not an anonymization job file"), "{stderr}");
    std::fs::write(fx.path("empty.json"), "{\"job\": \"x\"}").unwrap();
    let args =
        ["report", "--audit-log", "audit.jsonl", "--risk-report", "empty.json", "--out", "r5"];
    let empty = fx.run(&args);
    assert_eq!(empty.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(stderr.contains("holds no risk figure"), "{stderr}");
}

#[test]
fn analyze_records_each_budget_charge_before_its_release() {
    let fx = Fixture::new();
    fx.history();
    let events = fx.events();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let action = e["details"]["action"].as_str().map(|a| format!(":{a}"));
            format!("{}{}", e["kind"].as_str().unwrap(), action.unwrap_or_default())
        })
        .collect();
    let one = ["request", "budget_charge:reserved", "budget_charge:committed", "release"];
    let mut expected = vec!["budget_created".to_owned()];
    for _ in 0..2 {
        expected.extend(one.iter().map(|k| (*k).to_owned()));
    }
    assert_eq!(kinds, expected);
    for charge in events.iter().filter(|e| e["kind"] == "budget_charge") {
        assert_eq!(charge["dataset"], "adult");
        assert_eq!(charge["principal"], "tester");
        assert_eq!(charge["details"]["epsilon"], "0.5");
        assert!(
            charge["details"]["charge_id"].is_u64() && charge["details"]["mechanism"].is_string()
        );
    }
    // A refused charge is recorded too, as refused, and nothing is released.
    let adult = repo_file("data/adult/adult.csv").display().to_string();
    let refused = fx.run(&[
        "analyze",
        "--ledger",
        "l.sqlite",
        "--dataset",
        "adult",
        "--data",
        &adult,
        "--epsilon",
        "5",
        "--query",
        "count()",
        "--audit-log",
        "audit.jsonl",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let after = fx.events();
    let new: Vec<&Value> = after[events.len()..].iter().collect();
    assert!(new
        .iter()
        .any(|e| e["kind"] == "budget_charge" && e["details"]["action"] == "refused"));
    assert!(new.iter().any(|e| e["kind"] == "refusal"));
    assert!(!new.iter().any(|e| e["kind"] == "release"));
}

#[test]
fn an_anonymization_run_on_adult_is_assessed_on_all_five_criteria() {
    let fx = Fixture::new();
    std::fs::write(fx.path("project.toml"), PROJECT).unwrap();
    let job = adult_job(fx.dir.path(), "adult-k5");
    let job = job.display().to_string();
    fx.ok(&["anonymize", "--job", &job, "--audit-log", "audit.jsonl"]);
    let run = fx.events().into_iter().find(|e| e["kind"] == "anonymization_run").unwrap();
    assert!(run["details"]["risk"]["prosecutor_highest"].is_number(), "{run}");
    assert_eq!(run["details"]["job"], "adult-k5", "{run}");
    fx.ok(&[
        "report",
        "--audit-log",
        "audit.jsonl",
        "--job",
        &job,
        "--project",
        "project.toml",
        "--risk-report",
        "adult-k5-report.json",
        "--out",
        "r",
    ]);
    let markdown = std::fs::read_to_string(fx.path("r/report.md")).unwrap();
    let expert = markdown.split("<a id=\"expert-determination\"></a>").nth(1).unwrap();
    let expert = expert.split("<a id=").next().unwrap();
    // The logged run (named after its job file) and the job's own report.json.
    for job in ["adult-k5, entry 1", "adult-k5-report"] {
        assert!(expert.contains(job), "{job} missing from {expert}");
    }
    for criterion in [
        "highest prosecutor risk",
        "average prosecutor risk",
        "marketer risk",
        "sample uniques",
        "population uniques (estimated)",
    ] {
        assert_eq!(expert.matches(criterion).count(), 2, "{criterion} in {expert}");
    }
    let measured = expert.matches(" within |").count() + expert.matches(" ABOVE |").count();
    assert_eq!(measured, 10, "every criterion is measured: {expert}");
    assert!(!expert.contains(" not measured |"), "{expert}");
    let anonymization = markdown.split("<a id=\"anonymization\"></a>").nth(1).unwrap();
    assert!(anonymization.contains("k-anonymity (k = 5)"), "{anonymization}");
    assert!(anonymization.contains("full-domain (levels = "), "{anonymization}");
}

// ---- The canary test: no data value or secret reaches the log, the traces or the report. ----

/// Values of the canary tables and secrets, chosen so that none can appear by chance in a log.
const CANARIES: &[&str] = &[
    "CANARY-ID-7Q3X",
    "canaryid7q3x",
    "31415926",
    "CANARY-DX-ZZ9K",
    "CANARY-ZIP-0451",
    "canarysurnameqq",
    "CANARY-PPRL-SECRET-5F2M",
    "CANARY-TORN-8H1",
    "2718281",
];

/// A serving process (`psi serve`, `secure-sum serve`) and the address it announced.
struct Server {
    child: Child,
    addr: String,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Server {
    fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut line = String::new();
        let mut seen = String::new();
        while Instant::now() < deadline {
            line.clear();
            if stderr.read_line(&mut line).unwrap() == 0 {
                break;
            }
            seen.push_str(&line);
            if let Some(addr) = line.trim().strip_prefix("medi-privacy: listening on ") {
                return Self { child, addr: addr.to_owned(), stderr: { stderr } };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server never announced its address: {seen}");
    }

    /// Waits for the server; returns its standard error (the traces).
    fn finish(mut self) -> String {
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "server failed: {rest}");
        rest
    }
}

/// The canary run: every command path, each checked to have written its own entry.
struct Canary {
    fx: Fixture,
    traces: String,
    seen: usize,
}

impl Canary {
    fn arg(&self, a: &str) -> String {
        a.replace("{log}", &self.fx.s("audit.jsonl"))
            .replace("{ledger}", &self.fx.s("l.sqlite"))
            .replace("{data}", &self.fx.s("canary.csv"))
            .replace("{dir}", &self.fx.s(""))
    }

    fn command(&self, args: &[&str]) -> Command {
        let args: Vec<String> = args.iter().map(|a| self.arg(a)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.fx.command(&args)
    }

    /// Runs one path to completion (`ok`: whether it must succeed).
    fn run(&mut self, args: &[&str], ok: bool) -> Output {
        self.seen = self.fx.events().len();
        let out = self.command(args).output().unwrap();
        self.traces.push_str(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.success(), ok, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Asserts that the entries written by the latest path include one of `kind` whose details
    /// hold `detail` (key, value).
    fn wrote(&mut self, path: &str, kind: &str, detail: Option<(&str, &str)>) {
        let events = self.fx.events();
        let new = &events[self.seen.min(events.len())..];
        let found = new.iter().any(|e| {
            e["kind"] == kind && detail.is_none_or(|(k, v)| e["details"][k].as_str() == Some(v))
        });
        assert!(found, "{path} wrote no {kind} {detail:?} entry: {new:?}");
    }
}

/// A two-party TLS run (`psi`, `secure-sum`): the server, then the joining site.
fn two_party(c: &mut Canary, serve: &[&str], join: &[&str]) {
    let before = c.fx.events().len();
    let server = Server::start(c.command(serve));
    let mut join: Vec<String> = join.iter().map(|a| (*a).to_owned()).collect();
    join.extend(["--connect".to_owned(), server.addr.clone()]);
    let join: Vec<&str> = join.iter().map(String::as_str).collect();
    c.run(&join, true);
    let traces = server.finish();
    c.traces.push_str(&traces);
    c.seen = before;
}

fn tls(name: &str) -> Vec<String> {
    [
        "--name".to_owned(),
        name.to_owned(),
        "--cert".to_owned(),
        format!("{{dir}}/net/{name}.pem"),
        "--key".to_owned(),
        format!("{{dir}}/net/{name}.key"),
        "--ca".to_owned(),
        "{dir}/net/ca.pem".to_owned(),
    ]
    .to_vec()
}

fn with(base: &[&str], extra: &[String]) -> Vec<String> {
    base.iter().map(|a| (*a).to_owned()).chain(extra.iter().cloned()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Writes the canary tables: patients (identifiers, ages, diagnoses, ZIP codes), a linkage
/// table in the FEBRL schema's columns, an anonymization job and a PPRL secret.
fn canary_files(fx: &Fixture) {
    let mut table = String::from("patient_id,age,diagnosis,zip\n");
    for i in 0..40 {
        table.push_str(&format!("CANARY-ID-7Q3X{i},45.31415926,CANARY-DX-ZZ9K,CANARY-ZIP-0451\n"));
    }
    std::fs::write(fx.path("canary.csv"), table).unwrap();
    let febrl = std::fs::read_to_string(repo_file("data/febrl1/dataset1.csv")).unwrap();
    let mut linkage = String::new();
    for (i, line) in febrl.lines().take(21).enumerate() {
        let mut fields: Vec<String> = line.split(',').map(|f| f.trim().to_owned()).collect();
        if i > 0 {
            fields[2] = format!("canarysurnameqq{i}");
        }
        linkage.push_str(&fields.join(","));
        linkage.push('\n');
    }
    std::fs::write(fx.path("linkage.csv"), linkage).unwrap();
    std::fs::write(fx.path("pprl.secret"), "CANARY-PPRL-SECRET-5F2M-0123456789\n").unwrap();
    let job =
        "[data]\npath = \"canary.csv\"\n[output]\npath = \"anon.csv\"\nreport = \"anon.json\"\n\
         [[attributes]]\nname = \"patient_id\"\nkind = \"identifying\"\n\
         [[attributes]]\nname = \"zip\"\nkind = \"quasi-identifying\"\n\
         hierarchy = { type = \"prefix\" }\n\
         [[attributes]]\nname = \"diagnosis\"\nkind = \"sensitive\"\n\
         [[models]]\ntype = \"k-anonymity\"\nk = 5\n";
    std::fs::write(fx.path("anon-job.toml"), job).unwrap();
    let sites = "site_value\n2718281.5\n2718281.25\n";
    std::fs::write(fx.path("sum-a.csv"), sites).unwrap();
    std::fs::write(fx.path("sum-b.csv"), sites).unwrap();
}

/// The base64 and hex forms of a 24-byte window of a secret file: if a secret reached the log
/// in either encoding, some such window would appear.
fn secret_windows(bytes: &[u8]) -> Vec<String> {
    let body: Vec<u8> = bytes.to_vec();
    let mid = body.len() / 2;
    let window = &body[mid.saturating_sub(12)..(mid + 12).min(body.len())];
    let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
    let text = String::from_utf8_lossy(window).into_owned();
    vec![hex, text]
}

#[test]
fn no_data_value_or_secret_reaches_the_log_the_traces_or_the_report() {
    let fx = Fixture::new();
    canary_files(&fx);
    let mut c = Canary { fx, traces: String::new(), seen: 0 };

    c.run(
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
        true,
    );
    c.wrote("budget init", "budget_created", None);
    c.run(
        &[
            "budget",
            "allocate",
            "--ledger",
            "{ledger}",
            "--parent",
            "canary",
            "--child",
            "canary/alice",
            "--epsilon",
            "1",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.wrote("budget allocate", "budget_allocation", None);
    c.run(
        &[
            "budget",
            "allocate",
            "--ledger",
            "{ledger}",
            "--parent",
            "canary",
            "--child",
            "canary/bob",
            "--epsilon",
            "99",
            "--audit-log",
            "{log}",
        ],
        false,
    );
    c.wrote("budget allocate refused", "refusal", Some(("reason_code", "allocation_refused")));
    c.run(
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
        true,
    );
    c.wrote("analyze", "release", None);
    c.wrote("analyze", "budget_charge", Some(("action", "committed")));
    c.run(
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
        true,
    );
    c.wrote("analyze per patient", "release", None);
    c.run(
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
        false,
    );
    c.wrote("analyze refused: non-numeric column", "refusal", None);
    c.run(
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
        false,
    );
    c.wrote("analyze refused: budget", "budget_charge", Some(("action", "refused")));
    c.run(&["anonymize", "--job", "{dir}/anon-job.toml", "--audit-log", "{log}"], true);
    c.wrote("anonymize", "anonymization_run", None);
    // Synthetic data: the categorical domains come from the data (canary values), the release
    // and its charge reach the log, the domains must not. Its own budget, with a δ.
    c.run(
        &[
            "budget",
            "init",
            "--ledger",
            "{ledger}",
            "--dataset",
            "canary-synthetic",
            "--epsilon",
            "1",
            "--delta",
            "0.00001",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.run(
        &[
            "synthesize",
            "--data",
            "{data}",
            "--dataset",
            "canary-synthetic",
            "--ledger",
            "{ledger}",
            "--epsilon",
            "0.25",
            "--delta",
            "0.000001",
            "--columns",
            "age:0:100:4,diagnosis,zip",
            "--rows",
            "50",
            "--out",
            "{dir}/synthetic.csv",
            "--report",
            "{dir}/synthetic-utility.json",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.wrote("synthesize", "release", None);
    c.wrote("synthesize", "budget_charge", None);

    c.run(
        &[
            "certs",
            "init",
            "--dir",
            "{dir}/net",
            "--party",
            "site-a",
            "--party",
            "site-b",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.wrote("certs init", "key_generation", Some(("purpose", "network_ca")));
    let mut secrets: Vec<Vec<u8>> = ["net/site-a.key", "net/site-b.key", "k.pem"]
        .iter()
        .map(|f| std::fs::read(c.fx.path(f)).unwrap())
        .collect();
    let psi = ["--data", "{data}", "--column", "patient_id", "--audit-log", "{log}"];
    let serve = with(&["psi", "serve", "--listen", "127.0.0.1:0"], &tls("site-a"));
    let join = with(&["psi", "join", "--server-name", "site-a"], &tls("site-b"));
    let (serve, join) =
        (with(&strs(&serve), &psi.map(str::to_owned)), with(&strs(&join), &psi.map(str::to_owned)));
    two_party(&mut c, &strs(&serve), &strs(&join));
    c.wrote("psi", "protocol_run", Some(("protocol", "ecdh-psi/intersection")));
    let sum = |site: &str| {
        [
            "--data".to_owned(),
            format!("{{dir}}/sum-{site}.csv"),
            "--column".to_owned(),
            "site_value".to_owned(),
            "--decimals".to_owned(),
            "2".to_owned(),
            "--audit-log".to_owned(),
            "{log}".to_owned(),
        ]
    };
    let serve =
        with(&["secure-sum", "serve", "--listen", "127.0.0.1:0", "--parties", "2"], &tls("site-a"));
    let join = with(&["secure-sum", "join", "--server-name", "site-a"], &tls("site-b"));
    two_party(
        &mut c,
        &strs(&with(&strs(&serve), &sum("a"))),
        &strs(&with(&strs(&join), &sum("b"))),
    );
    c.wrote("secure-sum", "protocol_run", None);

    let schema = repo_file("data/febrl1/linkage-schema.json").display().to_string();
    for (side, out) in [("a", "clks-a.json"), ("b", "clks-b.json")] {
        let _ = side;
        c.run(
            &[
                "pprl",
                "encode",
                "--schema",
                &schema,
                "--secret-file",
                "{dir}/pprl.secret",
                "--data",
                "{dir}/linkage.csv",
                "--output",
                &format!("{{dir}}/{out}"),
                "--audit-log",
                "{log}",
            ],
            true,
        );
        c.wrote("pprl encode", "protocol_run", Some(("protocol", "pprl_encode")));
    }
    c.run(
        &[
            "pprl",
            "match",
            "--a",
            "{dir}/clks-a.json",
            "--b",
            "{dir}/clks-b.json",
            "--output",
            "{dir}/links.csv",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.wrote("pprl match", "protocol_run", Some(("protocol", "pprl_match")));

    c.run(
        &[
            "paillier",
            "keygen",
            "--public-key",
            "{dir}/pk",
            "--secret-key",
            "{dir}/sk",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    c.wrote("paillier keygen", "key_generation", None);
    secrets.push(std::fs::read(c.fx.path("sk")).unwrap());
    for (value, file) in [("2718281", "x.ct"), ("2718282", "y.ct")] {
        c.run(
            &[
                "paillier",
                "encrypt",
                "--public-key",
                "{dir}/pk",
                "--value",
                value,
                "--out",
                &format!("{{dir}}/{file}"),
            ],
            true,
        );
    }
    c.run(
        &[
            "paillier",
            "add",
            "--public-key",
            "{dir}/pk",
            "--out",
            "{dir}/sum.ct",
            "{dir}/x.ct",
            "{dir}/y.ct",
        ],
        true,
    );
    let total = c.run(
        &[
            "paillier",
            "decrypt",
            "--secret-key",
            "{dir}/sk",
            "--in",
            "{dir}/sum.ct",
            "--audit-log",
            "{log}",
        ],
        true,
    );
    assert!(String::from_utf8_lossy(&total.stdout).contains("5436563"));
    c.wrote("paillier decrypt", "decryption", None);

    c.run(
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
        true,
    );
    c.wrote("audit keygen", "key_generation", Some(("purpose", "audit_checkpoints")));
    secrets.push(std::fs::read(c.fx.path("k2.pem")).unwrap());
    let checkpoints = std::fs::read_to_string(c.fx.path("audit.jsonl.checkpoints")).unwrap();
    c.run(&["audit", "checkpoint", "--audit-log", "{log}", "--secret-key", "{dir}/k.pem"], true);
    let after = std::fs::read_to_string(c.fx.path("audit.jsonl.checkpoints")).unwrap();
    assert_eq!(after.lines().count(), checkpoints.lines().count() + 1, "audit checkpoint signed");
    let mut log = std::fs::OpenOptions::new().append(true).open(c.fx.path("audit.jsonl")).unwrap();
    std::io::Write::write_all(&mut log, b"{\"v\":2,\"seq\":999,\"note\":\"CANARY-TORN-8H1")
        .unwrap();
    drop(log);
    c.run(&["audit", "recover", "--audit-log", "{log}"], true);
    c.wrote("audit recover", "log_maintenance", Some(("action", "torn_tail_set_aside")));
    let deidentify = [
        "deidentify",
        "--profile",
        "safe-harbor",
        "--data",
        "{data}",
        "--out",
        "{dir}/deid.csv",
        "--audit-log",
        "{log}",
    ];
    c.run(&deidentify, true);
    c.wrote("deidentify", "deidentification", None);
    c.run(
        &["pseudonym-key", "new", "--key-file", "{dir}/pseudonym.key", "--audit-log", "{log}"],
        true,
    );
    c.wrote("pseudonym-key new", "key_generation", None);
    secrets.push(std::fs::read(c.fx.path("pseudonym.key")).unwrap());
    let keyed = with(&deidentify, &["--key-file".to_owned(), "{dir}/pseudonym.key".to_owned()]);
    let keyed: Vec<String> =
        keyed.into_iter().map(|a| a.replace("deid.csv", "deid-keyed.csv")).collect();
    c.run(&strs(&keyed), true);
    c.wrote("deidentify with pseudonyms", "deidentification", None);
    c.run(
        &[
            "report",
            "--audit-log",
            "{log}",
            "--ledger",
            "{ledger}",
            "--job",
            "{dir}/anon-job.toml",
            "--risk-report",
            "{dir}/anon.json",
            "--out",
            "{dir}/report",
        ],
        true,
    );

    let mut canaries: Vec<String> = CANARIES.iter().map(|c| (*c).to_owned()).collect();
    for secret in &secrets {
        canaries.extend(secret_windows(secret));
        // Text secrets (PEM keys): a window of their body. Binary ones (a Paillier key) are
        // covered by the hex and text windows above; slicing their lossy text by bytes could
        // cut a replacement character in half.
        if let Ok(text) = std::str::from_utf8(secret) {
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            if body.len() > 40 && body.is_char_boundary(8) && body.is_char_boundary(40) {
                canaries.push(body[8..40].to_owned());
            }
        }
    }
    // The pseudonymization key ring's key material (the third field of its last line).
    let ring = std::fs::read_to_string(c.fx.path("pseudonym.key")).unwrap();
    canaries.push(ring.lines().last().unwrap().split(' ').nth(2).unwrap()[..32].to_owned());
    let fx = &c.fx;
    let mut written = vec![
        ("audit log", std::fs::read_to_string(fx.path("audit.jsonl")).unwrap()),
        ("checkpoints", std::fs::read_to_string(fx.path("audit.jsonl.checkpoints")).unwrap()),
        ("traces", c.traces.clone()),
    ];
    for file in ["report.html", "report.md", "gdpr-article-30.md", "gdpr-dpia.md"] {
        written.push((file, std::fs::read_to_string(fx.path("report").join(file)).unwrap()));
    }
    assert!(written[2].1.contains("audit event recorded"), "the traces were captured");
    for (what, content) in &written {
        for canary in &canaries {
            assert!(!content.contains(canary.as_str()), "{canary:?} reached the {what}");
        }
    }
}
