//! `medi-privacy anonymize --job job.toml` as a separate process, on the bundled Adult table:
//! the printed transformation and report, the written table with its suppression flag, the
//! JSON report, the audit log entry, and a typed failure for a bad job.

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

fn job(dir: &Path, extra: &str) -> PathBuf {
    let mut text = format!(
        "[data]\npath = {:?}\n[output]\npath = \"out.csv\"\nreport = \"report.json\"\n",
        repo_file("data/adult/adult.csv")
    );
    for q in [
        "sex",
        "age",
        "race",
        "marital-status",
        "education",
        "native-country",
        "workclass",
        "occupation",
    ] {
        let h = repo_file(&format!("data/adult/hierarchies/adult_hierarchy_{q}.csv"));
        text += &format!(
            "[[attributes]]\nname = {q:?}\nkind = \"quasi-identifying\"\nhierarchy = {h:?}\n"
        );
    }
    text += "[[models]]\ntype = \"k-anonymity\"\nk = 5\n[limits]\nsuppression = 0.04\n";
    text += extra;
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn anonymize_prints_the_transformation_and_writes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let job = job(dir.path(), "");
    let audit = dir.path().join("audit.jsonl");
    let out = run(
        dir.path(),
        &["anonymize", "--job", job.to_str().unwrap(), "--audit-log", audit.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("age") && stdout.contains("level 3"), "{stdout}");
    assert!(stdout.contains("suppressed: 1038 of 30162"), "{stdout}");
    assert!(stdout.contains("k-anonymity") && stdout.contains("holds"), "{stdout}");
    let table = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(table.lines().next().unwrap().ends_with("anon_suppressed"));
    assert_eq!(table.lines().filter(|l| l.ends_with("true")).count(), 1038);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["suppressed"], 1038);
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("anonymization_run"), "{log}");
    let verify = run(dir.path(), &["audit", "verify", "--audit-log", audit.to_str().unwrap()]);
    assert!(verify.status.success());
}

#[test]
fn anonymize_refuses_an_impossible_job_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let job = job(
        dir.path(),
        "[[models]]\ntype = \"distinct-l-diversity\"\nattribute = \"nope\"\nl = 2\n",
    );
    let out = run(dir.path(), &["anonymize", "--job", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("distinct-l-diversity") && stderr.contains("nope"), "{stderr}");
    assert!(!dir.path().join("out.csv").exists());
}
