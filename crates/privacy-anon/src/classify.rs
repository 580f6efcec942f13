//! Train-on-synthetic, test-on-real: the classifier part of the synthetic data's utility report.
//!
//! The target column is predicted from the one-hot encoded other columns by a CART decision
//! tree (smartcore's `DecisionTreeClassifier`: Gini splits, depth ≤ 8, leaves of ≥ 20 rows),
//! trained once on the real training rows and once on the synthetic rows, and both tested on
//! held-out real rows (every `holdout`-th real row). The majority-class accuracy is the floor
//! a useless model reaches. (smartcore's logistic regression was tried first: about 50 s per
//! fit on Adult's 24,000 training rows in our test profile, too slow for a report; the tree
//! fits in about 3 s.) The synthetic rows were generated from all real rows, held-out ones
//! included, which favours the synthetic model slightly; the differentially private model
//! limits how much any one held-out row can matter.

use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};

use crate::error::AnonError;
use crate::synthetic::{CategoricalTable, ClassifierScore};

/// One-hot features of every column but `target`, row-major, and the target codes.
fn design(table: &CategoricalTable, target: usize, rows: &[usize]) -> (Vec<f64>, usize, Vec<u32>) {
    let widths: Vec<usize> =
        (0..table.names.len()).filter(|&c| c != target).map(|c| table.labels[c].len()).collect();
    let width: usize = widths.iter().sum::<usize>().max(1);
    let mut x = vec![0.0; rows.len() * width];
    for (i, &r) in rows.iter().enumerate() {
        let mut offset = 0;
        for c in (0..table.names.len()).filter(|&c| c != target) {
            x[i * width + offset + table.codes[c][r] as usize] = 1.0;
            offset += table.labels[c].len();
        }
    }
    let y = rows.iter().map(|&r| table.codes[target][r]).collect();
    (x, width, y)
}

fn failed(e: impl std::fmt::Display) -> AnonError {
    AnonError::InvalidParameter { name: "classifier".into(), reason: e.to_string() }
}

type Model = DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

/// The tree's depth limit and least leaf size: enough to use pairwise structure, small enough
/// not to memorize rare combinations.
const MAX_DEPTH: u16 = 8;
const MIN_LEAF: usize = 20;

fn fit(x: Vec<f64>, width: usize, y: Vec<u32>) -> Result<Option<Model>, AnonError> {
    // A single class cannot be fitted; prediction then is that class.
    if y.iter().all(|&v| v == y[0]) {
        return Ok(None);
    }
    let rows = y.len();
    let matrix = DenseMatrix::new(rows, width, x, false).map_err(failed)?;
    let parameters = DecisionTreeClassifierParameters::default()
        .with_max_depth(MAX_DEPTH)
        .with_min_samples_leaf(MIN_LEAF);
    Model::fit(&matrix, &y, parameters).map(Some).map_err(failed)
}

fn accuracy(
    model: &Option<Model>,
    fallback: u32,
    x: &[f64],
    width: usize,
    y: &[u32],
) -> Result<f64, AnonError> {
    if y.is_empty() {
        return Ok(0.0);
    }
    let predicted = match model {
        Some(m) => {
            let matrix = DenseMatrix::new(y.len(), width, x.to_vec(), false).map_err(failed)?;
            m.predict(&matrix).map_err(failed)?
        }
        None => vec![fallback; y.len()],
    };
    Ok(predicted.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64)
}

/// Compares logistic regression trained on `real` (all but every `holdout`-th row) with one
/// trained on `synthetic` (recoded to `real`'s labels), on the held-out real rows.
pub fn compare(
    real: &CategoricalTable,
    synthetic: &CategoricalTable,
    target: &str,
    holdout: usize,
) -> Result<ClassifierScore, AnonError> {
    let t = real
        .names
        .iter()
        .position(|n| n == target)
        .ok_or_else(|| AnonError::UnknownColumn(target.to_owned()))?;
    let synthetic = real.recode(synthetic)?;
    let (train, test): (Vec<usize>, Vec<usize>) = (0..real.rows()).partition(|r| r % holdout != 0);
    let (x_train, width, y_train) = design(real, t, &train);
    let (x_test, _, y_test) = design(real, t, &test);
    let all_synthetic: Vec<usize> = (0..synthetic.rows()).collect();
    let (x_syn, _, y_syn) = design(&synthetic, t, &all_synthetic);
    let majority = |y: &[u32]| {
        let mut counts = vec![0usize; real.labels[t].len()];
        y.iter().for_each(|&v| counts[v as usize] += 1);
        (0..counts.len()).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0) as u32
    };
    let real_majority = majority(&y_train);
    let real_model = fit(x_train, width, y_train)?;
    let synthetic_majority = majority(&y_syn);
    let synthetic_model = if y_syn.is_empty() { None } else { fit(x_syn, width, y_syn)? };
    let majority_accuracy =
        y_test.iter().filter(|&&v| v == real_majority).count() as f64 / y_test.len().max(1) as f64;
    Ok(ClassifierScore {
        target: target.to_owned(),
        model: format!(
            "decision tree (smartcore 0.7 CART, Gini, depth ≤ {MAX_DEPTH}, leaves ≥ {MIN_LEAF}), one-hot features"
        ),
        test_records: y_test.len(),
        train_real_accuracy: accuracy(&real_model, real_majority, &x_test, width, &y_test)?,
        train_synthetic_accuracy: accuracy(
            &synthetic_model,
            synthetic_majority,
            &x_test,
            width,
            &y_test,
        )?,
        majority_accuracy,
    })
}
