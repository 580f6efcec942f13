//! The lattice search's claims, checked: the monotonicity that predictive tagging relies on
//! (per model, with suppression), exact optimality of the tagged and bound-pruned walk against
//! brute force, and the heuristic's budget, fallback and correctness with more than eleven
//! quasi-identifiers (where ARX's optimal search gives up).

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::{Path, PathBuf};

use privacy_anon::encode::{column_text, encode_column, EncodedTable, MissingPolicy};
use privacy_anon::groups::Groups;
use privacy_anon::release::full_domain;
use privacy_anon::search::{HeuristicLimits, NodeResult};
use privacy_anon::verify::SensitiveText;
use privacy_anon::*;
use proptest::prelude::*;

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(relative)
}

/// Three quasi-identifiers over 0..6 with hierarchy v → v/2 → *, a sensitive attribute over
/// 0..4, and a population of the data plus `extra` records.
fn small_table(rows: &[(u8, u8, u8, u8)], extra: &[(u8, u8, u8)]) -> EncodedTable {
    let hierarchy = |name: &str| {
        let csv: String = (0..6).map(|v| format!("{v};{};*\n", v / 2)).collect();
        Hierarchy::from_csv_bytes(name, csv.as_bytes()).unwrap()
    };
    let col = |i: usize| -> Vec<Option<String>> {
        rows.iter().map(|r| Some([r.0, r.1, r.2, r.3][i].to_string())).collect()
    };
    let quasi: Vec<_> = (0..3)
        .map(|i| {
            encode_column(&col(i), hierarchy(&format!("q{i}")), MissingPolicy::Refuse).unwrap()
        })
        .collect();
    let population = (!extra.is_empty()).then(|| {
        (0..3)
            .map(|i| {
                rows.iter()
                    .map(|r| [r.0, r.1, r.2][i])
                    .chain(extra.iter().map(|e| [e.0, e.1, e.2][i]))
                    .map(|v| quasi[i].hierarchy.leaf_code(&v.to_string()).unwrap())
                    .collect()
            })
            .collect()
    });
    let values: Vec<String> = (0..4).map(|v| v.to_string()).collect();
    let sensitive =
        vec![encode_column(&col(3), Hierarchy::flat("s", &values).unwrap(), MissingPolicy::Refuse)
            .unwrap()];
    EncodedTable { rows: rows.len(), quasi, sensitive, population }
}

fn judge(problem: &Problem<'_>, levels: &[usize]) -> NodeResult {
    problem.judge(&problem.groups(levels), levels).0
}

fn all_nodes() -> Vec<Vec<usize>> {
    (0..27).map(|i| vec![i % 3, (i / 3) % 3, i / 9]).collect()
}

fn successors(levels: &[usize]) -> Vec<Vec<usize>> {
    (0..3)
        .filter(|&d| levels[d] < 2)
        .map(|d| {
            let mut s = levels.to_vec();
            s[d] += 1;
            s
        })
        .collect()
}

fn rows_strategy() -> impl Strategy<Value = Vec<(u8, u8, u8, u8)>> {
    prop::collection::vec((0u8..6, 0u8..6, 0u8..6, 0u8..4), 10..70)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The claim of `models.rs`: k-anonymity, distinct l-diversity and k-map stay satisfied
    /// within the suppression limit under generalization (a failing class of a generalization
    /// is a union of failing classes), so tagging may skip checks above and below.
    #[test]
    fn models_declared_monotone_with_suppression_are(
        rows in rows_strategy(),
        extra in prop::collection::vec((0u8..6, 0u8..6, 0u8..6), 1..30),
        k in 1u32..6,
        l in 1u32..4,
        limit_share in 0.0f64..0.3,
        which in 0usize..3,
    ) {
        let table = small_table(&rows, &extra);
        let model = match which {
            0 => PrivacyModel::KAnonymity { k },
            1 => PrivacyModel::DistinctLDiversity { attribute: "s".into(), l },
            _ => PrivacyModel::KMap { k },
        };
        prop_assert!(model.monotone(5));
        let limit = (limit_share * rows.len() as f64) as u64;
        let compiled = CompiledModels::compile(&[model], &table, limit).unwrap();
        prop_assert!(compiled.monotone());
        let metric = MetricTables::new(Metric::Loss, &table);
        let problem = Problem::new(&table, &compiled, &metric, limit);
        for node in all_nodes() {
            let here = judge(&problem, &node);
            for succ in successors(&node) {
                let there = judge(&problem, &succ);
                prop_assert!(there.suppressed <= here.suppressed, "{node:?} → {succ:?}");
                prop_assert!(!here.anonymous || there.anonymous);
            }
        }
    }

    /// The tagged, bound-pruned walk returns exactly the brute-force optimum (same objective;
    /// same node under the documented tie-break), for monotone and non-monotone model sets.
    #[test]
    fn optimal_search_equals_brute_force(
        rows in rows_strategy(),
        k in 1u32..6,
        l in 1.0f64..2.5,
        limit_share in 0.0f64..0.3,
        which in 0usize..3,
        metric in 0usize..3,
    ) {
        let table = small_table(&rows, &[]);
        let models = match which {
            0 => vec![PrivacyModel::KAnonymity { k }],
            1 => vec![
                PrivacyModel::KAnonymity { k },
                PrivacyModel::DistinctLDiversity { attribute: "s".into(), l: l as u32 },
            ],
            _ => vec![
                PrivacyModel::KAnonymity { k },
                PrivacyModel::EntropyLDiversity { attribute: "s".into(), l },
            ],
        };
        let metric = [Metric::Loss, Metric::Discernibility, Metric::Precision][metric];
        let limit = (limit_share * rows.len() as f64) as u64;
        let compiled = CompiledModels::compile(&models, &table, limit).unwrap();
        let tables = MetricTables::new(metric, &table);
        let problem = Problem::new(&table, &compiled, &tables, limit);
        let brute = all_nodes()
            .into_iter()
            .map(|n| (judge(&problem, &n), n))
            .filter(|(r, _)| r.anonymous)
            .min_by(|a, b| a.0.objective.total_cmp(&b.0.objective));
        match (problem.optimal(), brute) {
            (Ok(found), Some((best, _))) => {
                prop_assert!((found.objective - best.objective).abs() < 1e-9,
                    "search {} vs brute force {}", found.objective, best.objective);
                prop_assert!(judge(&problem, &found.levels).anonymous);
            }
            (Err(_), None) => {}
            (found, brute) => prop_assert!(false, "search {found:?} vs brute force {brute:?}"),
        }
    }
}

#[test]
fn entropy_diversity_is_not_monotone_with_suppression() {
    // Two classes at the bottom: {a, a, b, b} (entropy ln 2) and {a} (fails, suppressed, 1
    // record ≤ limit 1). Generalizing merges them: {a, a, a, b, b} has entropy < ln 2 and all
    // five records fail — the limit is exceeded. So tagging must not be used for it.
    let rows = [(0u8, 0u8, 0u8, 0u8), (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 0, 1), (1, 0, 0, 0)];
    let table = small_table(&rows, &[]);
    let model = PrivacyModel::EntropyLDiversity { attribute: "s".into(), l: 2.0 };
    assert!(!model.monotone(1));
    let compiled = CompiledModels::compile(&[model], &table, 1).unwrap();
    assert!(!compiled.monotone());
    let metric = MetricTables::new(Metric::Loss, &table);
    let problem = Problem::new(&table, &compiled, &metric, 1);
    assert!(judge(&problem, &[0, 0, 0]).anonymous);
    assert!(!judge(&problem, &[1, 0, 0]).anonymous);
}

#[test]
fn adult_search_tags_failing_nodes_and_keeps_the_arx_result() {
    let table = adult_table(&[], usize::MAX);
    let limit = (0.04 * table.rows as f64) as u64;
    let models =
        CompiledModels::compile(&[PrivacyModel::KAnonymity { k: 5 }], &table, limit).unwrap();
    let metric = MetricTables::new(Metric::Loss, &table);
    let outcome = Problem::new(&table, &models, &metric, limit).optimal().unwrap();
    assert_eq!(outcome.levels, vec![0, 3, 0, 0, 2, 1, 1, 2]);
    assert_eq!(outcome.suppressed, 1038);
    assert!(outcome.objective <= 0.2608 + 5e-5);
    assert!(outcome.tagged > 0, "{outcome:?}");
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

/// Adult's first `rows` records with its eight quasi-identifiers and `synthetic` extra ones:
/// each a deterministic five-digit code per record (a ZIP-like value mixing the record's age,
/// education and a hash of its index) with a prefix hierarchy (5 digits → 4 → … → *).
fn adult_table(synthetic: &[&str], rows: usize) -> EncodedTable {
    let frame = privacy_dp::read_table(&data("adult/adult.csv"), Default::default()).unwrap();
    let frame = frame.head(Some(rows));
    let mut quasi: Vec<_> = ADULT_QIS
        .iter()
        .map(|q| {
            let path = data(&format!("adult/hierarchies/adult_hierarchy_{q}.csv"));
            let h = Hierarchy::from_csv_file(q, &path).unwrap();
            encode_column(&column_text(&frame, q).unwrap(), h, MissingPolicy::Refuse).unwrap()
        })
        .collect();
    let age = column_text(&frame, "age").unwrap();
    for (s, name) in synthetic.iter().enumerate() {
        let text: Vec<Option<String>> = (0..frame.height())
            .map(|i| {
                let a: u64 = age[i].as_deref().unwrap().parse().unwrap();
                let mix = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (40 + s);
                Some(format!("{:05}", (a * 1000 + mix % 7 * 100 + s as u64) % 100_000))
            })
            .collect();
        let values = privacy_anon::encode::distinct_values([text.as_slice()]);
        let h = privacy_anon::hierarchy_builder::prefix(name, &values).unwrap();
        quasi.push(encode_column(&text, h, MissingPolicy::Refuse).unwrap());
    }
    let salary = column_text(&frame, "salary-class").unwrap();
    let values = privacy_anon::encode::distinct_values([salary.as_slice()]);
    let flat = Hierarchy::flat("salary-class", &values).unwrap();
    let sensitive = vec![encode_column(&salary, flat, MissingPolicy::Refuse).unwrap()];
    EncodedTable { rows: frame.height(), quasi, sensitive, population: None }
}

/// The release of `levels` and its verification from the output text.
fn verify_levels(
    table: &EncodedTable,
    problem: &Problem<'_>,
    levels: &[usize],
    models: &[PrivacyModel],
) -> Verification {
    let (groups, class_of) = Groups::of_records(table, levels, true);
    let (_, kept) = problem.judge(&groups, levels);
    let suppressed: Vec<bool> = (0..table.rows).map(|r| !kept[class_of[r] as usize]).collect();
    let release = full_domain(table, levels, suppressed, false);
    let quasi: Vec<Vec<String>> = (0..release.columns.len())
        .map(|c| (0..release.rows()).map(|r| release.text(c, r).to_owned()).collect())
        .collect();
    let s = &table.sensitive[0];
    let text: Vec<String> = s.codes.iter().map(|&c| s.hierarchy.label(0, c).to_owned()).collect();
    let sensitive = [SensitiveText { name: &s.name, values: &text, hierarchy: None }];
    verify(&quasi, &sensitive, &release.suppressed, None, models)
}

#[test]
fn heuristic_with_fourteen_quasi_identifiers_respects_its_budget_and_the_models() {
    let table = adult_table(&["zip1", "zip2", "zip3", "zip4", "zip5", "zip6"], 6000);
    assert_eq!(table.quasi.len(), 14);
    let models = vec![
        PrivacyModel::KAnonymity { k: 5 },
        PrivacyModel::DistinctLDiversity { attribute: "salary-class".into(), l: 2 },
    ];
    let limit = (0.04 * table.rows as f64) as u64;
    let compiled = CompiledModels::compile(&models, &table, limit).unwrap();
    let metric = MetricTables::new(Metric::Loss, &table);
    let problem = Problem::new(&table, &compiled, &metric, limit);
    assert!(
        problem.lattice_size() > privacy_anon::search::MAX_OPTIMAL_NODES,
        "{}",
        problem.lattice_size()
    );
    let limits = HeuristicLimits { max_evaluations: 400, restarts: 3, ..Default::default() };
    let found = problem.heuristic_with(&limits).unwrap();
    assert!(found.evaluated <= 400, "{found:?}");
    assert!(!found.optimal);
    assert!(found.suppressed <= limit);
    let verification = verify_levels(&table, &problem, &found.levels, &models);
    assert!(verification.models.iter().all(|m| m.satisfied), "{verification:?}");
    // The found node is better than the fully generalized fallback.
    let top: Vec<usize> = table.quasi.iter().map(|c| c.hierarchy.levels() - 1).collect();
    assert!(found.objective < judge(&problem, &top).objective);
    // A budget of one evaluation still returns the acceptable fallback, the top node.
    let tiny = problem
        .heuristic_with(&HeuristicLimits { max_evaluations: 1, ..Default::default() })
        .unwrap();
    assert_eq!(tiny.levels, top);
    // An already passed deadline behaves the same: never NoSolution when the top is acceptable.
    let past =
        HeuristicLimits { deadline: Some(std::time::Instant::now()), ..HeuristicLimits::default() };
    assert_eq!(problem.heuristic_with(&past).unwrap().levels, top);
}
