//! privacy-anon end to end on real data: the ARX reference on Adult, the t-closeness example of
//! Li, Li and Venkatasubramanian, Mondrian and MDAV, missing values, the suppression flag's
//! round trip, the audit event, and a property test that every output, re-measured
//! independently from its text, satisfies the models asked for.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use privacy_anon::encode::{column_text, encode_column, EncodedTable, MissingPolicy};
use privacy_anon::models::{Emd, EmdKind};
use privacy_anon::release::full_domain;
use privacy_anon::verify::SensitiveText;
use privacy_anon::*;
use privacy_core::{AuditEvent, AuditSink, CoreError};
use proptest::prelude::*;

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(relative)
}

const ADULT_QIS: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
];

fn adult_job(out: &Path, models: &str, extra: &str) -> String {
    let mut job = format!(
        "[data]\npath = {:?}\n[output]\npath = {:?}\nreport = {:?}\n",
        data("adult/adult.csv"),
        out.join("out.csv"),
        out.join("report.json")
    );
    for q in ADULT_QIS {
        let h = data(&format!("adult/hierarchies/adult_hierarchy_{q}.csv"));
        job += &format!(
            "[[attributes]]\nname = {q:?}\nkind = \"quasi-identifying\"\nhierarchy = {h:?}\n"
        );
    }
    job += "[[attributes]]\nname = \"salary-class\"\nkind = \"sensitive\"\n";
    job + models + extra
}

#[derive(Default)]
struct Recorder(RefCell<Vec<AuditEvent>>);

impl AuditSink for Recorder {
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
        self.0.borrow_mut().push(event.clone());
        Ok(())
    }
}

#[test]
fn adult_k5_with_4_percent_suppression_matches_arx() {
    let dir = tempfile::tempdir().unwrap();
    let text = adult_job(
        dir.path(),
        "[[models]]\ntype = \"k-anonymity\"\nk = 5\n",
        "[limits]\nsuppression = 0.04\n",
    );
    let job = Job::parse(&text, "adult.toml").unwrap();
    let audit = Recorder::default();
    let outcome = run_job(&job, &audit, "tester").unwrap();
    let report = &outcome.report;
    // ARX: levels (0,3,0,0,2,1,1,2), 1,038 suppressed, 327 classes, loss 0.2608.
    assert!(report.utility.loss <= 0.2608 + 5e-5, "loss {}", report.utility.loss);
    let search = report.search.as_ref().unwrap();
    assert!(search.optimal);
    assert_eq!(search.levels, vec![0, 3, 0, 0, 2, 1, 1, 2]);
    assert_eq!(report.suppressed, 1038);
    assert_eq!(report.risk.classes, 327);
    assert!((search.objective - report.utility.loss).abs() < 1e-9, "search and measures agree");
    assert!(report.verification.models.iter().all(|m| m.satisfied));
    assert_eq!(report.verification.k, 5);

    // The suppression flag survives writing and reading the table.
    let reread = privacy_dp::read_table(&dir.path().join("out.csv"), Default::default()).unwrap();
    let flags = reread.column(SUPPRESSED_COLUMN).unwrap().bool().unwrap().clone();
    assert_eq!(flags.sum().unwrap(), 1038);
    let quasi: Vec<Vec<String>> = ADULT_QIS
        .iter()
        .map(|q| column_text(&reread, q).unwrap().into_iter().map(Option::unwrap).collect())
        .collect();
    let suppressed: Vec<bool> = flags.iter().map(Option::unwrap).collect();
    let again = verify(&quasi, &[], &suppressed, None, &job.models);
    assert_eq!((again.k, again.classes, again.records), (5, 327, 30162 - 1038));

    // The audit event carries the run's figures and no data value.
    let events = audit.0.borrow();
    assert_eq!(events.len(), 1);
    let json = serde_json::to_string(&events[0]).unwrap();
    assert!(json.contains("anonymization_run") && json.contains("\"suppressed\":1038"), "{json}");
    for value in ["Bachelors", "Married-civ-spouse", "United-States", "<=50K"] {
        assert!(!json.contains(value), "the audit event leaks {value}");
    }
    assert!(std::fs::read_to_string(dir.path().join("report.json")).unwrap().contains("\"loss\""));
}

#[test]
fn adult_without_suppression_and_with_diversity() {
    let dir = tempfile::tempdir().unwrap();
    let models = "[[models]]\ntype = \"k-anonymity\"\nk = 5\n\
                  [[models]]\ntype = \"distinct-l-diversity\"\nattribute = \"salary-class\"\nl = 2\n";
    let job = Job::parse(&adult_job(dir.path(), models, ""), "j").unwrap();
    let report = run_job(&job, &privacy_core::NullAuditSink, "t").unwrap().report;
    assert_eq!(report.suppressed, 0);
    assert!(report.verification.models.iter().all(|m| m.satisfied));
    assert!(report.verification.distinct_l["salary-class"] >= 2);
    // The heuristic finds an acceptable node that is no better than the optimum.
    let heuristic = adult_job(dir.path(), models, "[search]\nmethod = \"heuristic\"\n");
    let h =
        run_job(&Job::parse(&heuristic, "j").unwrap(), &privacy_core::NullAuditSink, "t").unwrap();
    assert!(h.report.utility.loss >= report.utility.loss - 1e-12);
    assert!(!h.report.search.unwrap().optimal);
}

#[test]
fn mondrian_on_adult_keeps_k_and_beats_full_domain_loss() {
    let dir = tempfile::tempdir().unwrap();
    let models = "[[models]]\ntype = \"k-anonymity\"\nk = 5\n";
    let job = Job::parse(&adult_job(dir.path(), models, "[search]\nmethod = \"mondrian\"\n"), "j")
        .unwrap();
    let report = run_job(&job, &privacy_core::NullAuditSink, "t").unwrap().report;
    assert!(report.verification.k >= 5);
    assert_eq!(report.suppressed, 0);
    assert!(report.utility.loss < 0.2608, "local recoding keeps more: {}", report.utility.loss);
}

#[test]
fn mdav_on_breast_cancer_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        "[data]\npath = {:?}\n[output]\npath = {:?}\n\
         [[attributes]]\nname = \"mean_radius\"\nkind = \"quasi-identifying\"\nhierarchy = {{ type = \"intervals\", width = 1 }}\n\
         [[attributes]]\nname = \"mean_texture\"\nkind = \"quasi-identifying\"\nhierarchy = {{ type = \"intervals\", width = 1 }}\n\
         [[models]]\ntype = \"k-anonymity\"\nk = 4\n[search]\nmethod = \"mdav\"\n",
        data("breast_cancer/breast_cancer.csv"),
        dir.path().join("out.parquet")
    );
    let job = Job::parse(&job, "j").unwrap();
    let outcome = run_job(&job, &privacy_core::NullAuditSink, "t").unwrap();
    assert!(outcome.report.verification.k >= 4 && outcome.report.verification.k <= 7);
    let reread =
        privacy_dp::read_table(&dir.path().join("out.parquet"), Default::default()).unwrap();
    assert_eq!(reread.height(), 569);
    assert!(reread.column(SUPPRESSED_COLUMN).is_ok());
}

fn tclose_table() -> (EncodedTable, Vec<String>) {
    let frame =
        privacy_dp::read_table(&data("arx_tclose_example/test2.csv"), Default::default()).unwrap();
    let quasi = ["ZIPCode", "Age"]
        .iter()
        .map(|q| {
            let h = Hierarchy::from_csv_file(
                q,
                &data(&format!("arx_tclose_example/test2_hierarchy_{q}.csv")),
            )
            .unwrap();
            encode_column(&column_text(&frame, q).unwrap(), h, MissingPolicy::Refuse).unwrap()
        })
        .collect();
    let disease_h = Hierarchy::from_csv_file(
        "Disease",
        &data("arx_tclose_example/test2_hierarchy_Disease.csv"),
    )
    .unwrap();
    let disease = column_text(&frame, "Disease").unwrap();
    let salary_text = column_text(&frame, "Salary").unwrap();
    let salaries: Vec<String> = salary_text.iter().map(|v| v.clone().unwrap()).collect();
    let mut sorted = salaries.clone();
    sorted.sort_by_key(|s| s.parse::<u32>().unwrap());
    let sensitive = vec![
        encode_column(
            &salary_text,
            Hierarchy::flat("Salary", &sorted).unwrap(),
            MissingPolicy::Refuse,
        )
        .unwrap(),
        encode_column(&disease, disease_h, MissingPolicy::Refuse).unwrap(),
    ];
    (EncodedTable { rows: 9, quasi, sensitive, population: None }, salaries)
}

#[test]
fn t_closeness_example_of_li_li_venkatasubramanian() {
    let (table, _) = tclose_table();
    let salary = &table.sensitive[0];
    let ordered = Emd::new(EmdKind::Ordered, &salary.hierarchy, &salary.codes).unwrap();
    let class: Vec<u32> =
        ["3", "4", "5"].iter().map(|v| salary.hierarchy.leaf_code(v).unwrap()).collect();
    assert!((ordered.distance(&class, &[1, 1, 1]) - 0.375).abs() < 1e-12);
    // {gastric ulcer, gastritis, stomach cancer} vs the table, by hand: leaf extras +2/9,
    // +1/9, +1/9 under "stomach disease" and −1/9, −2/9, −1/9 under "respiratory infection";
    // nothing cancels below the root, where 4/9 moves across the full height: 4/9.
    let disease = &table.sensitive[1];
    let hier = Emd::new(EmdKind::Hierarchical, &disease.hierarchy, &disease.codes).unwrap();
    let class: Vec<u32> = ["gastric ulcer", "gastritis", "stomach cancer"]
        .iter()
        .map(|v| disease.hierarchy.leaf_code(v).unwrap())
        .collect();
    let d = hier.distance(&class, &[1, 1, 1]);
    assert!((d - 4.0 / 9.0).abs() < 1e-9, "{d}");

    let models = [
        PrivacyModel::KAnonymity { k: 3 },
        PrivacyModel::TCloseness { attribute: "Salary".into(), t: 0.4, distance: EmdKind::Ordered },
        PrivacyModel::TCloseness {
            attribute: "Disease".into(),
            t: 0.5,
            distance: EmdKind::Hierarchical,
        },
    ];
    let (release, verification) = search_and_verify(&table, &models, 0);
    assert!(verification.models.iter().all(|m| m.satisfied), "{verification:?}");
    assert_eq!(release.suppressed_count(), 0);
}

/// Optimal search, then the release and its independent verification.
fn search_and_verify(
    table: &EncodedTable,
    models: &[PrivacyModel],
    limit: u64,
) -> (Release, Verification) {
    let compiled = CompiledModels::compile(models, table, limit).unwrap();
    let metric = MetricTables::new(Metric::Loss, table);
    let problem = Problem::new(table, &compiled, &metric, limit);
    let outcome = problem.optimal().unwrap();
    let (groups, class_of) = privacy_anon::groups::Groups::of_records(table, &outcome.levels, true);
    let (_, kept) = problem.judge(&groups, &outcome.levels);
    let suppressed: Vec<bool> = (0..table.rows).map(|r| !kept[class_of[r] as usize]).collect();
    let release = full_domain(table, &outcome.levels, suppressed, true);
    let verification = verify_release(table, &release, models);
    (release, verification)
}

fn verify_release(
    table: &EncodedTable,
    release: &Release,
    models: &[PrivacyModel],
) -> Verification {
    let quasi: Vec<Vec<String>> = (0..release.columns.len())
        .map(|c| (0..release.rows()).map(|r| release.text(c, r).to_owned()).collect())
        .collect();
    let texts: Vec<Vec<String>> = table
        .sensitive
        .iter()
        .map(|s| s.codes.iter().map(|&c| s.hierarchy.label(0, c).to_owned()).collect())
        .collect();
    let sensitive: Vec<SensitiveText<'_>> = table
        .sensitive
        .iter()
        .zip(&texts)
        .map(|(s, values)| SensitiveText { name: &s.name, values, hierarchy: Some(&s.hierarchy) })
        .collect();
    verify(&quasi, &sensitive, &release.suppressed, None, models)
}

#[test]
fn missing_values_follow_the_policy_and_unknown_values_are_named() {
    let h = Hierarchy::from_csv_bytes("sex", b"Male;*\nFemale;*\n").unwrap();
    let text = vec![Some("Male".to_owned()), None, Some("Female".to_owned())];
    let refused = encode_column(&text, h.clone(), MissingPolicy::Refuse).unwrap_err();
    assert_eq!(refused.code(), "missing_values");
    let own = encode_column(&text, h.clone(), MissingPolicy::OwnCategory).unwrap();
    assert_eq!(own.missing_count, 1);
    let unknown = vec![Some("Mail".to_owned())];
    let e = encode_column(&unknown, h, MissingPolicy::Refuse).unwrap_err();
    assert!(e.to_string().contains("\"Mail\"") && e.to_string().contains("\"sex\""), "{e}");
}

/// A small random table: three quasi-identifiers with two-level hierarchies over small
/// domains, a sensitive attribute, random models.
fn small_table(rows: &[(u8, u8, u8, u8)]) -> EncodedTable {
    let hierarchy = |name: &str, values: u8| {
        let csv: String = (0..values).map(|v| format!("{v};{};*\n", v / 2)).collect();
        Hierarchy::from_csv_bytes(name, csv.as_bytes()).unwrap()
    };
    let col = |i: usize| -> Vec<Option<String>> {
        rows.iter().map(|r| Some([r.0, r.1, r.2, r.3][i].to_string())).collect()
    };
    let quasi = (0..3)
        .map(|i| {
            encode_column(&col(i), hierarchy(&format!("q{i}"), 6), MissingPolicy::Refuse).unwrap()
        })
        .collect();
    let values: Vec<String> = (0..4).map(|v| v.to_string()).collect();
    let sensitive =
        vec![encode_column(&col(3), Hierarchy::flat("s", &values).unwrap(), MissingPolicy::Refuse)
            .unwrap()];
    EncodedTable { rows: rows.len(), quasi, sensitive, population: None }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_output_satisfies_the_models_it_was_asked_for(
        rows in prop::collection::vec((0u8..6, 0u8..6, 0u8..6, 0u8..4), 12..80),
        k in 1u32..5,
        l in 1u32..3,
        t in 0.3f64..1.0,
        limit_share in 0.0f64..0.2,
        method in 0u8..3,
    ) {
        let table = small_table(&rows);
        let models = vec![
            PrivacyModel::KAnonymity { k },
            PrivacyModel::DistinctLDiversity { attribute: "s".into(), l },
            PrivacyModel::TCloseness { attribute: "s".into(), t, distance: EmdKind::Equal },
        ];
        let limit = (limit_share * rows.len() as f64) as u64;
        let compiled = CompiledModels::compile(&models, &table, limit).unwrap();
        let metric = MetricTables::new(Metric::Loss, &table);
        let release = match method {
            0 | 1 => {
                let problem = Problem::new(&table, &compiled, &metric, limit);
                let found = if method == 0 { problem.optimal() } else { problem.heuristic(std::time::Duration::from_secs(5)) };
                let Ok(outcome) = found else { return Ok(()) };
                let (groups, class_of) = privacy_anon::groups::Groups::of_records(&table, &outcome.levels, true);
                let (result, kept) = problem.judge(&groups, &outcome.levels);
                prop_assert!(result.anonymous);
                prop_assert!((result.objective - outcome.objective).abs() < 1e-9);
                let suppressed: Vec<bool> = (0..table.rows).map(|r| !kept[class_of[r] as usize]).collect();
                full_domain(&table, &outcome.levels, suppressed, true)
            }
            _ => match privacy_anon::mondrian::mondrian(&table, &compiled, limit) {
                Ok(release) => release,
                Err(_) => return Ok(()),
            },
        };
        prop_assert!(release.suppressed_count() <= limit);
        let verification = verify_release(&table, &release, &models);
        prop_assert!(verification.models.iter().all(|m| m.satisfied), "{:?}", verification.models);
    }
}
