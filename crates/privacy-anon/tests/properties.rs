//! End-to-end property test: every table `run_job` writes, re-read from the file and measured
//! independently from its text, satisfies each privacy model that was asked for — over
//! k-anonymity, distinct/entropy/recursive l-diversity, equal/ordered/hierarchical t-closeness,
//! average risk, sample uniqueness, k-map and δ-presence (with a population table), the optimal
//! and heuristic searches, Mondrian and MDAV, and the missing-value policies. Also: nothing is
//! written when the audit sink refuses the run.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::fmt::Write as _;
use std::path::Path;

use privacy_anon::encode::column_text;
use privacy_anon::verify::SensitiveText;
use privacy_anon::*;
use privacy_core::{AuditEvent, AuditSink, CoreError};
use proptest::prelude::*;

/// One generated record: three quasi-identifiers in 0..6, a sensitive value in 0..4, and
/// whether q0 and the sensitive value are missing.
type Row = (u8, u8, u8, u8, bool, bool);

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn model_toml(which: usize, k: u32, l: u32, t: f64) -> String {
    let lf = 1.0 + f64::from(l) / 2.0;
    match which {
        0 => String::new(),
        1 => format!("[[models]]\ntype = \"distinct-l-diversity\"\nattribute = \"s\"\nl = {l}\n"),
        2 => format!("[[models]]\ntype = \"entropy-l-diversity\"\nattribute = \"s\"\nl = {lf}\n"),
        3 => format!(
            "[[models]]\ntype = \"recursive-cl-diversity\"\nattribute = \"s\"\nc = 3.0\nl = {}\n",
            l.max(2)
        ),
        4 => format!(
            "[[models]]\ntype = \"t-closeness\"\nattribute = \"s\"\nt = {t}\ndistance = \"equal\"\n"
        ),
        5 => format!(
            "[[models]]\ntype = \"t-closeness\"\nattribute = \"s\"\nt = {t}\ndistance = \"ordered\"\n"
        ),
        6 => format!(
            "[[models]]\ntype = \"t-closeness\"\nattribute = \"s\"\nt = {t}\n\
             distance = \"hierarchical\"\n"
        ),
        7 => format!("[[models]]\ntype = \"average-risk\"\nmax = {}\n", 1.0 / f64::from(k + 1)),
        8 => format!("[[models]]\ntype = \"sample-uniqueness\"\nmax = {}\n", t / 4.0),
        9 => format!("[[models]]\ntype = \"k-map\"\nk = {}\n", k + 1),
        _ => format!(
            "[[models]]\ntype = \"delta-presence\"\ndelta_min = 0.0\ndelta_max = {}\n",
            0.5 + t / 2.0
        ),
    }
}

#[derive(Debug)]
struct Case {
    rows: Vec<Row>,
    extra: Vec<(u8, u8, u8)>,
    k: u32,
    l: u32,
    t: f64,
    which: usize,
    method: usize,
    missing: usize,
    limit_share: f64,
}

/// Writes the data, hierarchies, population and job of `case` into `dir`; returns the job.
fn build(dir: &Path, case: &Case) -> Job {
    let population = case.which >= 9;
    let mdav = case.method == 3 && !population;
    // MDAV needs numbers without missing values; a missing q0 needs a policy other than refuse.
    let missing = if mdav { 0 } else { case.missing };
    let policy = ["refuse", "own-category", "matches-anything"][missing];
    let cell = |v: u8| v.to_string();
    let mut data = String::from("q0,q1,q2,s\n");
    for r in &case.rows {
        let q0 = if missing > 0 && r.4 { String::new() } else { cell(r.0) };
        let s = if r.5 { String::new() } else { cell(r.3) };
        let _ = writeln!(data, "{q0},{},{},{s}", r.1, r.2);
    }
    write(&dir.join("data.csv"), &data);
    let qh: String = (0..6).map(|v| format!("{v};{};*\n", v / 2)).collect();
    write(&dir.join("q.csv"), &qh);
    // The sensitive hierarchy covers the values and the missing one ("" joins at the root).
    let sh: String =
        (0..4).map(|v| format!("{v};{};*\n", if v < 2 { "low" } else { "high" })).collect();
    write(&dir.join("s.csv"), &sh);
    let mut job = format!(
        "[data]\npath = {:?}\n[output]\npath = {:?}\n",
        dir.join("data.csv"),
        dir.join("out.csv")
    );
    if population {
        let mut p = String::from("q0,q1,q2\n");
        for r in &case.rows {
            let q0 = if missing > 0 && r.4 { String::new() } else { cell(r.0) };
            let _ = writeln!(p, "{q0},{},{}", r.1, r.2);
        }
        for e in &case.extra {
            let _ = writeln!(p, "{},{},{}", e.0, e.1, e.2);
        }
        write(&dir.join("population.csv"), &p);
        let _ = write!(job, "[population]\npath = {:?}\n", dir.join("population.csv"));
    }
    for q in ["q0", "q1", "q2"] {
        let hierarchy = if mdav {
            "{ type = \"intervals\", width = 2 }".to_owned()
        } else {
            format!("{:?}", dir.join("q.csv"))
        };
        let m = if q == "q0" { policy } else { "refuse" };
        let _ = write!(
            job,
            "[[attributes]]\nname = \"{q}\"\nkind = \"quasi-identifying\"\nhierarchy = {hierarchy}\n\
             missing = \"{m}\"\n"
        );
    }
    let _ = write!(
        job,
        "[[attributes]]\nname = \"s\"\nkind = \"sensitive\"\nhierarchy = {:?}\nmissing = \"own-category\"\n",
        dir.join("s.csv")
    );
    let _ = write!(job, "[[models]]\ntype = \"k-anonymity\"\nk = {}\n", case.k);
    job += &model_toml(case.which, case.k, case.l, case.t);
    let method = match case.method {
        0 => "optimal",
        1 => "heuristic",
        2 if !population => "mondrian",
        3 if !population => "mdav",
        _ => "optimal",
    };
    let _ = write!(
        job,
        "[limits]\nsuppression = {}\n[search]\nmethod = \"{method}\"\n",
        case.limit_share
    );
    Job::parse(&job, &dir.join("job.toml").display().to_string()).unwrap()
}

/// Re-reads the written table and verifies it from its text.
fn reverify(dir: &Path, job: &Job, outcome: &RunOutcome) -> Verification {
    let out = privacy_dp::read_table(&dir.join("out.csv"), Default::default()).unwrap();
    let text = |frame: &polars::prelude::DataFrame, name: &str| -> Vec<String> {
        column_text(frame, name).unwrap().into_iter().map(Option::unwrap_or_default).collect()
    };
    let quasi: Vec<Vec<String>> = ["q0", "q1", "q2"].iter().map(|q| text(&out, q)).collect();
    let suppressed: Vec<bool> =
        out.column(SUPPRESSED_COLUMN).unwrap().bool().unwrap().iter().map(Option::unwrap).collect();
    let s = text(&out, "s");
    let hierarchy = Hierarchy::from_csv_file("s", &dir.join("s.csv")).unwrap();
    // The hierarchical distance needs the missing leaf that the run added.
    let hierarchy = if s.iter().any(String::is_empty) {
        privacy_anon::encode::prepare_hierarchy(hierarchy, MissingPolicy::OwnCategory, 1).unwrap()
    } else {
        hierarchy
    };
    let sensitive = [SensitiveText { name: "s", values: &s, hierarchy: Some(&hierarchy) }];
    // The population, generalized by the chosen levels, from its own text.
    let population: Option<Vec<Vec<String>>> = job.population.as_ref().map(|p| {
        let frame = privacy_dp::read_table(&p.path, Default::default()).unwrap();
        let levels = &outcome.report.search.as_ref().unwrap().levels;
        ["q0", "q1", "q2"]
            .iter()
            .zip(levels)
            .map(|(name, &level)| {
                // The hierarchy with the missing-value leaf the column's policy adds.
                let policy = job.attributes.iter().find(|a| a.name == *name).unwrap().missing;
                let q = Hierarchy::from_csv_file(name, &dir.join("q.csv")).unwrap();
                let q =
                    privacy_anon::encode::prepare_hierarchy(q, policy, 1).unwrap_or_else(|_| {
                        Hierarchy::from_csv_file(name, &dir.join("q.csv")).unwrap()
                    });
                column_text(&frame, name)
                    .unwrap()
                    .into_iter()
                    .map(|v| {
                        let leaf = q.leaf_code(v.as_deref().unwrap_or("")).unwrap();
                        q.label(level, q.generalize(level, leaf)).to_owned()
                    })
                    .collect()
            })
            .collect()
    });
    verify(&quasi, &sensitive, &suppressed, population.as_deref(), &job.models)
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(
            (0u8..6, 0u8..6, 0u8..6, 0u8..4, prop::bool::weighted(0.1), prop::bool::weighted(0.05)),
            15..60,
        ),
        prop::collection::vec((0u8..6, 0u8..6, 0u8..6), 0..40),
        (1u32..5, 1u32..3, 0.3f64..1.0),
        (0usize..11, 0usize..4, 0usize..3, 0.0f64..0.2),
    )
        .prop_map(|(rows, extra, (k, l, t), (which, method, missing, limit_share))| Case {
            rows,
            extra,
            k,
            l,
            t,
            which,
            method,
            missing,
            limit_share,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_written_output_satisfies_every_requested_model(case in case_strategy()) {
        let dir = tempfile::tempdir().unwrap();
        let job = build(dir.path(), &case);
        let outcome = match run_job(&job, &privacy_core::NullAuditSink, "t") {
            Ok(outcome) => outcome,
            // No transformation within the limit, or a method refusing the table: nothing
            // written, which is checked.
            Err(AnonError::NoSolution { .. }) | Err(AnonError::InvalidParameter { .. }) => {
                prop_assert!(!dir.path().join("out.csv").exists());
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let limit = (case.limit_share * case.rows.len() as f64).floor() as u64;
        prop_assert!(outcome.report.suppressed <= limit);
        let verification = reverify(dir.path(), &job, &outcome);
        prop_assert_eq!(verification.records, case.rows.len() as u64 - outcome.report.suppressed);
        for check in &verification.models {
            prop_assert!(check.satisfied, "{:?} on the re-read output: {:?}", check.model, verification);
        }
    }
}

struct Refusing;

impl AuditSink for Refusing {
    fn record(&self, _event: &AuditEvent) -> Result<(), CoreError> {
        Err(CoreError::invalid("audit", "the log is unavailable (test)"))
    }
}

#[test]
fn nothing_is_written_when_the_audit_sink_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = (0..30).map(|i| (i % 6, i % 3, 0, i % 4, false, false)).collect();
    let case = Case {
        rows,
        extra: Vec::new(),
        k: 2,
        l: 1,
        t: 1.0,
        which: 0,
        method: 0,
        missing: 0,
        limit_share: 0.0,
    };
    let mut job = build(dir.path(), &case);
    job.output.report = Some(dir.path().join("report.json"));
    let err = run_job(&job, &Refusing, "t").unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|n| n.contains("out.csv") || n.contains("report.json")), "{left:?}");
    // With a working sink the same job writes both.
    run_job(&job, &privacy_core::NullAuditSink, "t").unwrap();
    assert!(dir.path().join("out.csv").exists() && dir.path().join("report.json").exists());
}
