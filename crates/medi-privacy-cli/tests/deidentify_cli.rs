//! `medi-privacy deidentify`, `hipaa-scan` and `pseudonym-key` as separate processes, on fake
//! patient tables built here: the exact command line of the issue, linked tables, the audit
//! entry (no values), the findings file for the compliance report, and refusals.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medi-privacy"))
        .args(args)
        .current_dir(dir)
        .env("USER", "tester")
        .env_remove("MEDI_PRIVACY_AUDIT_KEY")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?}\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

const PATIENTS: &str = "\
Id,BIRTHDATE,SSN,FIRST,LAST,ADDRESS,CITY,STATE,ZIP,phone,email
CANARY-ID-1,1930-02-11,123-45-6789,Ana,Gómez,427 Elm Way,Chicopee,Massachusetts,03601,(413) 555-0101,ana@example.org
CANARY-ID-2,1975-06-30,234-56-7890,Milo,Feil,1 Main St,Boston,Massachusetts,02118,617-555-0102,milo@example.org
";

const CONDITIONS: &str = "\
START,STOP,PATIENT,CODE
2001-05-01,2001-05-11,CANARY-ID-1,40055000
2010-02-03,,CANARY-ID-2,444814009
";

fn csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

#[test]
fn deidentify_linked_tables_with_a_key_and_record_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("patients.csv"), PATIENTS).unwrap();
    std::fs::write(d.join("conditions.csv"), CONDITIONS).unwrap();
    std::fs::write(
        d.join("p.toml"),
        "reference_date = \"2024-06-01\"\n[[columns]]\nname = \"Id\"\ndomain = \"patient\"\n",
    )
    .unwrap();
    std::fs::write(d.join("c.toml"), "[[columns]]\nname = \"PATIENT\"\ndomain = \"patient\"\n")
        .unwrap();
    let created =
        ok(d, &["pseudonym-key", "new", "--key-file", "k.key", "--audit-log", "audit.jsonl"]);
    assert!(created.contains("key id"), "{created}");
    let key_text = std::fs::read_to_string(d.join("k.key")).unwrap();
    let secret = key_text.lines().last().unwrap().split(' ').nth(2).unwrap().to_owned();
    assert!(!created.contains(&secret), "the key is never printed");

    let text = ok(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "p-out.csv",
            "--key-file",
            "k.key",
            "--job",
            "p.toml",
            "--audit-log",
            "audit.jsonl",
            "--report",
            "p-report.json",
            "--findings",
            "p-findings.json",
        ],
    );
    assert!(text.contains("pseudonymize (patient)") && text.contains("NOT met"), "{text}");
    ok(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "conditions.csv",
            "--out",
            "c-out.csv",
            "--key-file",
            "k.key",
            "--job",
            "c.toml",
            "--audit-log",
            "audit.jsonl",
            "--json",
        ],
    );

    let p = csv(&d.join("p-out.csv"));
    assert_eq!(p[0], ["Id", "BIRTHDATE", "STATE", "ZIP"]);
    assert_eq!(p[1][1..], ["90+", "Massachusetts", "000"]);
    assert_eq!(p[2][1..], ["1975", "Massachusetts", "021"]);
    let c = csv(&d.join("c-out.csv"));
    assert_eq!(c[0], ["START", "STOP", "PATIENT", "CODE"]);
    assert_eq!(c[1][..2], ["2001", "2001"]);
    assert_eq!(c[1][2], p[1][0], "the same patient has the same pseudonym in both tables");
    assert_eq!(c[2][2], p[2][0]);

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p-report.json")).unwrap()).unwrap();
    assert_eq!(report["zip3_table_version"], "hhs-2012-census2000");
    assert_eq!(report["safe_harbor"]["met"], false);
    let findings = std::fs::read_to_string(d.join("p-findings.json")).unwrap();
    assert!(findings.contains("\"table\": \"patients.csv\""), "{findings}");

    let log = std::fs::read_to_string(d.join("audit.jsonl")).unwrap();
    assert_eq!(log.matches("\"kind\":\"deidentification\"").count(), 2, "{log}");
    assert!(log.contains("key_generation") && log.contains("\"rule\":\"pseudonymize\""));
    for value in [
        "CANARY-ID",
        "123-45-6789",
        "Gómez",
        "427 Elm",
        "03601",
        "1930-02-11",
        "ana@example.org",
        secret.as_str(),
    ] {
        assert!(!log.contains(value), "{value} reached the audit log");
    }
    let verified = ok(d, &["audit", "verify", "--audit-log", "audit.jsonl"]);
    assert!(verified.contains("intact"), "{verified}");

    // Rotation: new pseudonyms, and the key holder's map from old to new.
    ok(d, &["pseudonym-key", "rotate", "--key-file", "k.key"]);
    ok(
        d,
        &[
            "pseudonym-key",
            "map",
            "--key-file",
            "k.key",
            "--data",
            "patients.csv",
            "--column",
            "Id",
            "--domain",
            "patient",
            "--from",
            "1",
            "--out",
            "map.csv",
        ],
    );
    let map = csv(&d.join("map.csv"));
    assert_eq!(map.len(), 3);
    assert!(map.iter().any(|row| row[0] == p[1][0]), "the map starts from the released pseudonyms");
    ok(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "p2.csv",
            "--key-file",
            "k.key",
            "--job",
            "p.toml",
        ],
    );
    let p2 = csv(&d.join("p2.csv"));
    let row = map.iter().find(|row| row[0] == p[1][0]).unwrap();
    assert_eq!(p2[1][0], row[1], "version 2 gives the mapped pseudonym");
}

#[test]
fn without_a_key_identifier_codes_are_removed_and_the_release_meets_safe_harbor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("patients.csv"), PATIENTS).unwrap();
    std::fs::write(d.join("j.toml"), "reference_date = \"2024-06-01\"\n").unwrap();
    let text = ok(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "out.csv",
            "--job",
            "j.toml",
        ],
    );
    assert!(text.contains("Safe Harbor: met"), "{text}");
    assert_eq!(csv(&d.join("out.csv"))[0], ["BIRTHDATE", "STATE", "ZIP"]);
    let scan_in = run(d, &["hipaa-scan", "--data", "patients.csv", "--fail-on-findings"]);
    assert_eq!(scan_in.status.code(), Some(1), "identifiers remain in the input");
    let listing = String::from_utf8_lossy(&scan_in.stdout);
    assert!(
        listing.contains("(G) social security numbers") && !listing.contains("123-45-6789"),
        "{listing}"
    );
    ok(
        d,
        &[
            "hipaa-scan",
            "--data",
            "out.csv",
            "--job",
            "j.toml",
            "--fail-on-findings",
            "--findings",
            "f.json",
        ],
    );
    // The findings feed the compliance report.
    ok(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "out2.csv",
            "--job",
            "j.toml",
            "--audit-log",
            "log.jsonl",
            "--findings",
            "f2.json",
        ],
    );
    ok(d, &["report", "--audit-log", "log.jsonl", "--safe-harbor", "f2.json", "--out", "rep"]);
    let html = std::fs::read_to_string(d.join("rep/report.html")).unwrap();
    assert!(html.contains("Safe Harbor"), "the report has the findings section");
}

#[test]
fn refused_runs_write_nothing_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("patients.csv"), PATIENTS).unwrap();
    std::fs::write(
        d.join("mask.toml"),
        "[[columns]]\nname = \"SSN\"\nrule = \"mask\"\nkeep_last = 4\n",
    )
    .unwrap();
    let out = run(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "out.csv",
            "--job",
            "mask.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("still contains identifiers") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!err.contains("6789"));
    assert!(!d.join("out.csv").exists());
    assert!(
        std::fs::read_dir(d).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".deidentify-")),
        "no temporary file is left"
    );
    let out = run(
        d,
        &[
            "deidentify",
            "--profile",
            "safe-harbor",
            "--data",
            "patients.csv",
            "--out",
            "out.csv",
            "--key-file",
            "missing.key",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.key"));
    let out = run(
        d,
        &["deidentify", "--profile", "expert", "--data", "patients.csv", "--out", "out.csv"],
    );
    assert_eq!(out.status.code(), Some(2), "a malformed command line");
    ok(d, &["pseudonym-key", "new", "--key-file", "k.key"]);
    let again = run(d, &["pseudonym-key", "new", "--key-file", "k.key"]);
    assert_eq!(again.status.code(), Some(1), "a key file is never overwritten");
}
