//! The query language of `medi-privacy analyze`, parsed into typed [`Query`] values.
//!
//! ```text
//! count()                          rows (after contribution bounds)
//! sum(column, lower, upper)        sum of the values clamped to [lower, upper]
//! mean(column, lower, upper)       mean of the non-missing clamped values
//! var(column, lower, upper)        variance (dividing by n) of the clamped values
//! std(column, lower, upper)        its square root
//! median(column, lower, upper)     the median, on a grid of [lower, upper]
//! quantile(column, q, lower, upper)  the q-quantile, 0 ≤ q ≤ 1
//! histogram(column, [a, b, c])     counts of the listed values, and of every other value
//! histogram(column)                counts per value, values found by partition selection
//! <statistic> by column            count, sum, mean, var, std, median or quantile per group
//! ```
//! Any query may end with options, `epsilon=0.2`, `delta=1e-7` (its own share of the call's
//! budget) and `error=1.5` (its target 95% half-width, for `--explain` and the accuracy split;
//! in ranks for median and quantile), e.g. `mean(age, 17, 90, epsilon=0.5) by sex`. Column names
//! and categories are bare words of letters, digits, `_`, `-`, `+` and `.`, or any text in
//! double quotes or backticks. Bounds are finite decimal numbers.
//!
//! Query strings come from analysts and scripts, so the parser is total: any input yields a
//! [`Query`] or a [`QueryParseError`] with the byte position of the problem, never a panic
//! (a fuzz target and a property test check this, and that a query's text parses back to the
//! same query). Shares are kept as exact decimal amounts, never as `f64`, so that they add up
//! exactly to the call's budget.

use std::fmt;

use privacy_core::{DeltaAmount, EpsilonAmount};
use thiserror::Error;

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;

/// The most categories a histogram may list.
pub const MAX_CATEGORIES: usize = 1000;

/// A query string that does not parse.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("cannot parse query {query:?} at byte {position}: {reason}")]
pub struct QueryParseError {
    /// The query text (as the analyst typed it; it names columns, not data values).
    pub query: String,
    /// Byte offset of the problem.
    pub position: usize,
    /// What is wrong.
    pub reason: String,
}

/// A column with declared clamping bounds, as the numeric statistics take it.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundedColumn {
    /// The column.
    pub column: String,
    /// Declared lower bound.
    pub lower: f64,
    /// Declared upper bound.
    pub upper: f64,
}

/// The statistic a query asks for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Statistic {
    /// The number of rows (after contribution bounds).
    Count,
    /// The sum of a column, each value clamped to `[lower, upper]`.
    Sum {
        /// The column.
        column: String,
        /// Declared lower bound.
        lower: f64,
        /// Declared upper bound.
        upper: f64,
    },
    /// The mean of a column's non-missing values, each clamped to `[lower, upper]`.
    Mean {
        /// The column.
        column: String,
        /// Declared lower bound.
        lower: f64,
        /// Declared upper bound.
        upper: f64,
    },
    /// The variance (dividing by the count) of a column's non-missing clamped values.
    Variance(BoundedColumn),
    /// The standard deviation: the square root of [`Statistic::Variance`].
    StdDev(BoundedColumn),
    /// The median of a column's non-missing clamped values.
    Median(BoundedColumn),
    /// The `q`-quantile of a column's non-missing clamped values.
    Quantile {
        /// The column and its bounds.
        values: BoundedColumn,
        /// The quantile, in `[0, 1]`.
        q: f64,
    },
    /// Counts of a column's values: of the listed categories (and one bin for every other
    /// value, missing included), or, with `None`, of the values that private partition
    /// selection finds.
    Histogram {
        /// The column.
        column: String,
        /// The declared categories, compared with the column's values as text.
        categories: Option<Vec<String>>,
    },
}

impl Statistic {
    /// The statistic's name as written in queries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum { .. } => "sum",
            Self::Mean { .. } => "mean",
            Self::Variance(_) => "var",
            Self::StdDev(_) => "std",
            Self::Median(_) => "median",
            Self::Quantile { .. } => "quantile",
            Self::Histogram { .. } => "histogram",
        }
    }

    /// The column the statistic reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            Self::Count => None,
            Self::Sum { column, .. } | Self::Mean { column, .. } => Some(column),
            Self::Histogram { column, .. } => Some(column),
            Self::Variance(c) | Self::StdDev(c) | Self::Median(c) => Some(&c.column),
            Self::Quantile { values, .. } => Some(&values.column),
        }
    }

    /// The numeric column and bounds the statistic reads, if it reads one.
    pub fn bounded_column(&self) -> Option<BoundedColumn> {
        match self {
            Self::Sum { column, lower, upper } | Self::Mean { column, lower, upper } => {
                Some(BoundedColumn { column: column.clone(), lower: *lower, upper: *upper })
            }
            Self::Variance(c) | Self::StdDev(c) | Self::Median(c) => Some(c.clone()),
            Self::Quantile { values, .. } => Some(values.clone()),
            Self::Count | Self::Histogram { .. } => None,
        }
    }
}

/// One parsed query: a statistic and, optionally, its own share of the call's budget, a
/// target error, and a grouping column.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// What to compute.
    pub statistic: Statistic,
    /// The ε share this query asked for, if it named one.
    pub epsilon: Option<EpsilonAmount>,
    /// The δ share this query asked for, if it named one.
    pub delta: Option<DeltaAmount>,
    /// The target 95% half-width (in the statistic's units; ranks for quantiles), if any.
    pub error: Option<f64>,
    /// The column whose values define the groups (`... by column`), if any.
    pub group_by: Option<String>,
}

impl Query {
    /// A query for `statistic` with no options and no grouping.
    pub fn new(statistic: Statistic) -> Self {
        Self { statistic, epsilon: None, delta: None, error: None, group_by: None }
    }

    /// Whether the query releases one value per group: a `by` query or a histogram.
    pub fn is_grouped(&self) -> bool {
        self.group_by.is_some() || matches!(self.statistic, Statistic::Histogram { .. })
    }

    /// The column that defines the groups: the `by` column, or a histogram's column.
    pub fn group_column(&self) -> Option<&str> {
        match (&self.group_by, &self.statistic) {
            (Some(by), _) => Some(by),
            (None, Statistic::Histogram { column, .. }) => Some(column),
            _ => None,
        }
    }

    /// Whether the groups are found by private partition selection (unknown keys), which
    /// spends δ.
    pub fn selects_partitions(&self) -> bool {
        !matches!(&self.statistic, Statistic::Histogram { categories: Some(_), .. })
            && self.is_grouped()
    }
}

/// A column name as the parser reads it back: bare when it is a word, else quoted with a mark
/// it does not contain (a name with both `"` and a backtick cannot be written).
fn format_column(c: &str) -> String {
    if !c.is_empty() && c.chars().all(is_word_char) && c != "by" {
        c.to_owned()
    } else if c.contains('"') {
        format!("`{c}`")
    } else {
        format!("\"{c}\"")
    }
}

/// A bound in the shortest form that parses back to the same `f64`, without a trailing `.0`
/// (so `17`, `0.5`, `1e-300`).
fn format_bound(x: f64) -> String {
    let text = format!("{x:?}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

fn format_bounded(c: &BoundedColumn) -> String {
    format!("{}, {}, {}", format_column(&c.column), format_bound(c.lower), format_bound(c.upper))
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.statistic.name();
        let mut args: Vec<String> = match &self.statistic {
            Statistic::Count => vec![],
            Statistic::Sum { .. }
            | Statistic::Mean { .. }
            | Statistic::Variance(_)
            | Statistic::StdDev(_)
            | Statistic::Median(_) => {
                self.statistic.bounded_column().iter().map(format_bounded).collect()
            }
            Statistic::Quantile { values, q } => vec![format!(
                "{}, {}, {}, {}",
                format_column(&values.column),
                format_bound(*q),
                format_bound(values.lower),
                format_bound(values.upper)
            )],
            Statistic::Histogram { column, categories } => {
                let mut args = vec![format_column(column)];
                if let Some(categories) = categories {
                    let items: Vec<String> = categories.iter().map(|c| format_column(c)).collect();
                    args.push(format!("[{}]", items.join(", ")));
                }
                args
            }
        };
        if let Some(e) = self.epsilon {
            args.push(format!("epsilon={e}"));
        }
        if let Some(d) = self.delta {
            args.push(format!("delta={d}"));
        }
        if let Some(e) = self.error {
            args.push(format!("error={}", format_bound(e)));
        }
        write!(f, "{name}({})", args.join(", "))?;
        if let Some(by) = &self.group_by {
            write!(f, " by {}", format_column(by))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Query {
    type Err = QueryParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_query(text)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

/// One argument between the parentheses.
#[derive(Debug)]
enum Arg {
    /// A bare word or quoted name, with its position.
    Word(String, usize),
    /// `key=value`, with the value's position.
    Named(String, String, usize),
    /// `[a, b, c]`, each item with its position, and the list's position.
    List(Vec<(String, usize)>, usize),
}

/// Parses one query string.
pub fn parse_query(text: &str) -> Result<Query, QueryParseError> {
    let fail = |position: usize, reason: String| QueryParseError {
        query: text.chars().take(200).collect(),
        position,
        reason,
    };
    if text.len() > MAX_QUERY_LEN {
        return Err(fail(MAX_QUERY_LEN, format!("longer than {MAX_QUERY_LEN} bytes")));
    }
    let mut lexer = Lexer { text, pos: 0 };
    lexer.skip_space();
    let (name, name_at) = lexer.word().ok_or_else(|| {
        fail(lexer.pos, "expected a statistic name such as count, sum or mean".into())
    })?;
    lexer.skip_space();
    if !lexer.eat('(') {
        return Err(fail(lexer.pos, format!("expected '(' after {name:?}")));
    }
    let args = lexer.args().map_err(|(p, r)| fail(p, r))?;
    lexer.skip_space();
    let group_by = lexer.group_by().map_err(|(p, r)| fail(p, r))?;
    lexer.skip_space();
    if lexer.pos != text.len() {
        return Err(fail(lexer.pos, "unexpected text after the query".into()));
    }
    let mut query = build_query(&name, name_at, args).map_err(|(p, r)| fail(p, r))?;
    if let Some((by, at)) = group_by {
        if matches!(query.statistic, Statistic::Histogram { .. }) {
            return Err(fail(at, "a histogram is already grouped by its column".into()));
        }
        query.group_by = Some(by);
    }
    Ok(query)
}

/// The statistics that take `(column, lower, upper)`.
const BOUNDED: [&str; 5] = ["sum", "mean", "var", "std", "median"];

fn build_query(name: &str, name_at: usize, args: Vec<Arg>) -> Result<Query, (usize, String)> {
    let mut positional = Vec::new();
    let mut list = None;
    let mut query = Query::new(Statistic::Count);
    let mut named_seen = false;
    for arg in args {
        match arg {
            Arg::Word(_, at) | Arg::List(_, at) if named_seen => {
                return Err((at, "positional argument after a named one".into()))
            }
            Arg::Word(word, at) => positional.push((word, at)),
            Arg::List(_, at) if list.is_some() => return Err((at, "more than one list".into())),
            Arg::List(items, at) => list = Some((items, at, positional.len())),
            Arg::Named(key, value, at) => {
                named_seen = true;
                set_option(&mut query, &key, &value, at)?;
            }
        }
    }
    if let Some((_, at, _)) = &list {
        if name != "histogram" {
            return Err((*at, format!("{name} takes no list")));
        }
    }
    if let Some((_, at, position)) = &list {
        if *position != 1 {
            return Err((*at, "the list of categories comes after the column".into()));
        }
    }
    let bounded = |column: &str, lo: &(String, usize), hi: &(String, usize)| {
        Ok::<_, (usize, String)>(BoundedColumn {
            column: column.to_owned(),
            lower: parse_bound(&lo.0, lo.1)?,
            upper: parse_bound(&hi.0, hi.1)?,
        })
    };
    query.statistic = match (name, positional.as_slice()) {
        ("count", []) => Statistic::Count,
        ("count", [(_, at), ..]) => return Err((*at, "count() takes no column".into())),
        (n, [(column, _), lo, hi]) if BOUNDED.contains(&n) => {
            let c = bounded(column, lo, hi)?;
            match n {
                "sum" => Statistic::Sum { column: c.column, lower: c.lower, upper: c.upper },
                "mean" => Statistic::Mean { column: c.column, lower: c.lower, upper: c.upper },
                "var" => Statistic::Variance(c),
                "std" => Statistic::StdDev(c),
                _ => Statistic::Median(c),
            }
        }
        (n, _) if BOUNDED.contains(&n) => {
            return Err((name_at, format!("{name} takes (column, lower, upper)")));
        }
        ("quantile", [(column, _), (q, q_at), lo, hi]) => {
            let q_value = parse_bound(q, *q_at)?;
            if !(0.0..=1.0).contains(&q_value) {
                return Err((*q_at, format!("quantile {q:?} is not in [0, 1]")));
            }
            Statistic::Quantile { values: bounded(column, lo, hi)?, q: q_value }
        }
        ("quantile", _) => {
            return Err((name_at, "quantile takes (column, q, lower, upper)".into()));
        }
        ("histogram", [(column, _)]) => Statistic::Histogram {
            column: column.clone(),
            categories: list.map(|(items, at, _)| categories(items, at)).transpose()?,
        },
        ("histogram", _) => {
            return Err((name_at, "histogram takes (column) or (column, [a, b, ...])".into()));
        }
        _ => {
            return Err((
                name_at,
                format!(
                    "unknown statistic {name:?}; known: count, sum, mean, var, std, median, \
                     quantile, histogram"
                ),
            ))
        }
    };
    Ok(query)
}

/// The declared categories: at least one, at most [`MAX_CATEGORIES`], no repeats.
fn categories(items: Vec<(String, usize)>, at: usize) -> Result<Vec<String>, (usize, String)> {
    if items.is_empty() {
        return Err((at, "the list of categories is empty".into()));
    }
    if items.len() > MAX_CATEGORIES {
        return Err((at, format!("more than {MAX_CATEGORIES} categories")));
    }
    let mut seen = std::collections::HashSet::new();
    for (item, item_at) in &items {
        if !seen.insert(item.as_str()) {
            return Err((*item_at, format!("category {item:?} is listed twice")));
        }
    }
    Ok(items.into_iter().map(|(item, _)| item).collect())
}

fn set_option(query: &mut Query, key: &str, value: &str, at: usize) -> Result<(), (usize, String)> {
    match key {
        "epsilon" if query.epsilon.is_none() => {
            let e = EpsilonAmount::parse_decimal(value).map_err(|e| (at, e.to_string()))?;
            if e.is_zero() {
                return Err((at, "epsilon share must be > 0".into()));
            }
            query.epsilon = Some(e);
        }
        "delta" if query.delta.is_none() => {
            let d = DeltaAmount::parse_decimal(value).map_err(|e| (at, e.to_string()))?;
            if !d.is_valid_delta() {
                return Err((at, "delta share must be in [0, 1)".into()));
            }
            query.delta = Some(d);
        }
        "error" if query.error.is_none() => {
            let e = parse_bound(value, at)?;
            if e <= 0.0 {
                return Err((at, "target error must be > 0".into()));
            }
            query.error = Some(e);
        }
        "epsilon" | "delta" | "error" => return Err((at, format!("{key} given twice"))),
        _ => return Err((at, format!("unknown option {key:?}; known: epsilon, delta, error"))),
    }
    Ok(())
}

fn parse_bound(text: &str, at: usize) -> Result<f64, (usize, String)> {
    let is_number =
        text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match text.parse::<f64>() {
        Ok(v) if is_number && v.is_finite() => Ok(v),
        _ => Err((at, format!("bound {text:?} is not a finite number"))),
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A bare word (letters, digits, `_-.+`, the last for exponents such as `1e+3`).
    fn word(&mut self) -> Option<(String, usize)> {
        let start = self.pos;
        let len: usize =
            self.rest().chars().take_while(|&c| is_word_char(c)).map(char::len_utf8).sum();
        self.pos += len;
        (len > 0).then(|| (self.text[start..self.pos].to_owned(), start))
    }

    /// A name in double quotes or backticks; no escapes, so the closing mark cannot appear.
    fn quoted(&mut self) -> Result<Option<(String, usize)>, (usize, String)> {
        let start = self.pos;
        let Some(mark) = self.rest().chars().next().filter(|c| matches!(c, '"' | '`')) else {
            return Ok(None);
        };
        self.pos += 1;
        let Some(len) = self.rest().find(mark) else {
            return Err((start, "unterminated quoted name".into()));
        };
        let name = self.rest()[..len].to_owned();
        self.pos += len + 1;
        if name.is_empty() {
            return Err((start, "empty quoted name".into()));
        }
        Ok(Some((name, start)))
    }

    /// A quoted name or a bare word.
    fn name(&mut self) -> Result<(String, usize), (usize, String)> {
        match self.quoted()? {
            Some(quoted) => Ok(quoted),
            None => self.word().ok_or_else(|| (self.pos, "expected an argument".to_owned())),
        }
    }

    /// `[a, b, c]`, after the opening bracket has been seen at `at`.
    fn list(&mut self, at: usize) -> Result<Arg, (usize, String)> {
        let mut items = Vec::new();
        self.skip_space();
        if self.eat(']') {
            return Ok(Arg::List(items, at));
        }
        loop {
            self.skip_space();
            items.push(self.name()?);
            self.skip_space();
            if self.eat(']') {
                return Ok(Arg::List(items, at));
            }
            if !self.eat(',') {
                return Err((self.pos, "expected ',' or ']'".into()));
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Arg>, (usize, String)> {
        let mut args = Vec::new();
        self.skip_space();
        if self.eat(')') {
            return Ok(args);
        }
        loop {
            self.skip_space();
            let at = self.pos;
            if self.eat('[') {
                args.push(self.list(at)?);
            } else {
                let (word, at) = self.name()?;
                self.skip_space();
                if self.eat('=') {
                    self.skip_space();
                    let (value, value_at) = self
                        .word()
                        .ok_or_else(|| (self.pos, format!("expected a value for {word}")))?;
                    args.push(Arg::Named(word, value, value_at));
                } else {
                    args.push(Arg::Word(word, at));
                }
            }
            self.skip_space();
            if self.eat(')') {
                return Ok(args);
            }
            if !self.eat(',') {
                return Err((self.pos, "expected ',' or ')'".into()));
            }
        }
    }

    /// An optional `by column` after the closing parenthesis.
    fn group_by(&mut self) -> Result<Option<(String, usize)>, (usize, String)> {
        if self.pos == self.text.len() {
            return Ok(None);
        }
        let start = self.pos;
        match self.word() {
            Some((word, at)) if word == "by" => {
                if !self.rest().starts_with(char::is_whitespace) {
                    return Err((self.pos, "expected a space after 'by'".into()));
                }
                self.skip_space();
                let (column, _) =
                    self.name().map_err(|(p, _)| (p, "expected a column after 'by'".to_owned()))?;
                Ok(Some((column, at)))
            }
            _ => Err((start, "unexpected text after ')'; only 'by column' may follow".into())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    #[test]
    fn parses_each_statistic() {
        assert_eq!(parse_query("count()").unwrap().statistic, Statistic::Count);
        let q = parse_query(" mean( age , 17, 90 ) ").unwrap();
        assert_eq!(q.statistic, Statistic::Mean { column: "age".into(), lower: 17.0, upper: 90.0 });
        let q = parse_query("sum(\"mean radius\", -1.5e1, 2E2, epsilon=0.25)").unwrap();
        assert_eq!(
            q.statistic,
            Statistic::Sum { column: "mean radius".into(), lower: -15.0, upper: 200.0 }
        );
        assert_eq!(q.epsilon.unwrap().to_string(), "0.25");
        let q = parse_query("count(delta=1e-7, epsilon=1)").unwrap();
        assert_eq!(q.delta.unwrap().to_string(), "0.0000001");
        assert_eq!(
            parse_query("mean(marital-status, 0, 1)").unwrap().statistic.column(),
            Some("marital-status")
        );
    }

    #[test]
    fn parses_the_new_statistics_and_groups() {
        let bounded = |c: &str, lower, upper| BoundedColumn { column: c.into(), lower, upper };
        assert_eq!(
            parse_query("var(bmi, 10, 60)").unwrap().statistic,
            Statistic::Variance(bounded("bmi", 10.0, 60.0))
        );
        assert_eq!(
            parse_query("std(bmi, 10, 60)").unwrap().statistic,
            Statistic::StdDev(bounded("bmi", 10.0, 60.0))
        );
        assert_eq!(
            parse_query("median(age, 17, 90)").unwrap().statistic,
            Statistic::Median(bounded("age", 17.0, 90.0))
        );
        let q = parse_query("quantile(age, 0.9, 17, 90, error=25)").unwrap();
        assert_eq!(q.statistic, Statistic::Quantile { values: bounded("age", 17.0, 90.0), q: 0.9 });
        assert_eq!(q.error, Some(25.0));
        let h = parse_query("histogram(salary-class, [\"<=50K\", >50K])");
        assert!(h.is_err(), "'>' is not a word character");
        let h = parse_query("histogram(salary-class, [\"<=50K\", \">50K\"], epsilon=0.1)").unwrap();
        assert_eq!(
            h.statistic,
            Statistic::Histogram {
                column: "salary-class".into(),
                categories: Some(vec!["<=50K".into(), ">50K".into()])
            }
        );
        assert!(h.is_grouped() && !h.selects_partitions());
        assert_eq!(h.group_column(), Some("salary-class"));
        let open = parse_query("histogram(race)").unwrap();
        assert!(open.selects_partitions());
        let by = parse_query("mean(age, 17, 90) by `marital status`").unwrap();
        assert_eq!(by.group_by.as_deref(), Some("marital status"));
        assert!(by.selects_partitions());
        assert_eq!(parse_query("count()  by   sex ").unwrap().group_by.as_deref(), Some("sex"));
        assert!(!parse_query("count()").unwrap().is_grouped());
    }

    #[test]
    fn display_round_trips() {
        assert_eq!(parse_query("mean(a, 0, 1e-300)").unwrap().to_string(), "mean(a, 0, 1e-300)");
        assert_eq!(
            parse_query("sum(`a\"b`, -1.5, 17)").unwrap().to_string(),
            "sum(`a\"b`, -1.5, 17)"
        );
        for text in [
            "count()",
            "sum(`a\"b`, 0, 1)",
            "mean(x, 1e-300, 1e300)",
            "sum(age, 0, 100)",
            "mean(\"a b\", -1, 1, epsilon=0.5, delta=0.001)",
            "count(epsilon=2)",
            "var(x, -1, 1)",
            "std(\"a b\", 0, 10, error=0.5)",
            "median(age, 17, 90)",
            "quantile(age, 0.9, 17, 90, epsilon=0.1)",
            "histogram(sex, [Male, Female, \"a b\", `x\"y`, 1.5])",
            "histogram(race)",
            "count() by sex",
            "mean(age, 17, 90, delta=0.000001) by \"marital status\"",
            "count() by \"by\"",
            "quantile(v, 0, 0, 1) by by",
        ] {
            let q = parse_query(text).unwrap();
            assert_eq!(parse_query(&q.to_string()).unwrap(), q, "{text}");
        }
    }

    #[test]
    fn refuses_malformed_queries_with_a_position() {
        let cases = [
            ("", 0),
            ("count", 5),
            ("count(age)", 6),
            ("mean(age, 0)", 0),
            ("mean(age, 0, x)", 13),
            ("mean(age, 0, inf)", 13),
            ("mean(age, 0, NaN)", 13),
            ("median(age, 0)", 0),
            ("quantile(age, 1.5, 0, 1)", 14),
            ("quantile(age, 0, 1)", 0),
            ("histogram(sex, [])", 15),
            ("histogram(sex, [a, a])", 19),
            ("histogram(sex, [a, b)", 20),
            ("histogram(sex, [a]) by race", 20),
            ("mean(age, [a], 0, 1)", 10),
            ("count() by", 10),
            ("count() by ", 11),
            ("count() byx", 8),
            ("count() by sex extra", 15),
            ("mean(age, 0, 1, error=0)", 22),
            ("mean(age, 0, 1, error=-1)", 22),
            ("mean(age, 0, 1", 14),
            ("mean(age, 0, 1) extra", 16),
            ("mean(age, 0, 1, epsilon=-1)", 24),
            ("mean(age, 0, 1, epsilon=0)", 24),
            ("mean(age, 0, 1, delta=1)", 22),
            ("mean(age, 0, 1, colour=1)", 23),
            ("mean(age, 0, 1, error=1, error=2)", 31),
            ("mean(\"age, 0, 1)", 5),
            ("count(epsilon=1, epsilon=2)", 25),
        ];
        for (text, position) in cases {
            let err = parse_query(text).unwrap_err();
            assert_eq!(err.position, position, "{text}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,60}") {
            let _ = parse_query(&text);
        }

        #[test]
        fn never_panics_on_near_queries(text in "(count|sum|mean|var|std|median|quantile|histogram)\\([a-z\"` ,0-9.e=+\\[\\]-]{0,30}\\)?( by [a-z\"`]{0,5})?") {
            if let Ok(q) = parse_query(&text) {
                proptest::prop_assert_eq!(parse_query(&q.to_string()).unwrap(), q);
            }
        }
    }
}
