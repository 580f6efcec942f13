//! The query language of `medi-privacy analyze`, parsed into typed [`Query`] values.
//!
//! ```text
//! count()
//! sum(column, lower, upper)
//! mean(column, lower, upper)
//! ```
//! Any query may end with named shares of the call's budget, `epsilon=0.2` and `delta=1e-7`,
//! e.g. `mean(age, 17, 90, epsilon=0.5)`. Column names are bare words of letters, digits, `_`,
//! `-` and `.`, or any text in double quotes or backticks. Bounds are finite decimal numbers.
//!
//! Query strings come from analysts and scripts, so the parser is total: any input yields a
//! [`Query`] or a [`QueryParseError`] with the byte position of the problem, never a panic
//! (a fuzz target and a property test check this). Shares are kept as exact decimal amounts,
//! never as `f64`, so that they add up exactly to the call's budget.

use std::fmt;

use privacy_core::{DeltaAmount, EpsilonAmount};
use thiserror::Error;

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;

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

/// The statistic a query asks for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Statistic {
    /// The number of rows (after per-unit truncation).
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
}

impl Statistic {
    /// The statistic's name as written in queries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum { .. } => "sum",
            Self::Mean { .. } => "mean",
        }
    }

    /// The column the statistic reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            Self::Count => None,
            Self::Sum { column, .. } | Self::Mean { column, .. } => Some(column),
        }
    }
}

/// One parsed query: a statistic and, optionally, its own share of the call's budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// What to compute.
    pub statistic: Statistic,
    /// The ε share this query asked for, if it named one.
    pub epsilon: Option<EpsilonAmount>,
    /// The δ share this query asked for, if it named one.
    pub delta: Option<DeltaAmount>,
}

/// A column name as the parser reads it back: bare when it is a word, else quoted with a mark
/// it does not contain (a name with both `"` and a backtick cannot be written).
fn format_column(c: &str) -> String {
    if !c.is_empty() && c.chars().all(is_word_char) {
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

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.statistic {
            Statistic::Count => write!(f, "count(")?,
            Statistic::Sum { column: c, lower, upper } => write!(
                f,
                "sum({}, {}, {}",
                format_column(c),
                format_bound(*lower),
                format_bound(*upper)
            )?,
            Statistic::Mean { column: c, lower, upper } => write!(
                f,
                "mean({}, {}, {}",
                format_column(c),
                format_bound(*lower),
                format_bound(*upper)
            )?,
        }
        let mut first = matches!(self.statistic, Statistic::Count);
        for (key, value) in [
            ("epsilon", self.epsilon.map(|e| e.to_string())),
            ("delta", self.delta.map(|d| d.to_string())),
        ] {
            if let Some(value) = value {
                write!(f, "{}{key}={value}", if first { "" } else { ", " })?;
                first = false;
            }
        }
        write!(f, ")")
    }
}

impl std::str::FromStr for Query {
    type Err = QueryParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_query(text)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// One argument between the parentheses.
#[derive(Debug)]
enum Arg {
    /// A bare word or quoted name, with its position.
    Word(String, usize),
    /// `key=value`, with the value's position.
    Named(String, String, usize),
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
    if lexer.pos != text.len() {
        return Err(fail(lexer.pos, "unexpected text after ')'".into()));
    }
    build_query(&name, name_at, args).map_err(|(p, r)| fail(p, r))
}

fn build_query(name: &str, name_at: usize, args: Vec<Arg>) -> Result<Query, (usize, String)> {
    let mut positional = Vec::new();
    let mut query = Query { statistic: Statistic::Count, epsilon: None, delta: None };
    for arg in args {
        match arg {
            Arg::Word(word, at) if query.epsilon.is_none() && query.delta.is_none() => {
                positional.push((word, at))
            }
            Arg::Word(_, at) => return Err((at, "positional argument after a named one".into())),
            Arg::Named(key, value, at) => set_share(&mut query, &key, &value, at)?,
        }
    }
    query.statistic = match (name, positional.as_slice()) {
        ("count", []) => Statistic::Count,
        ("count", [(_, at), ..]) => return Err((*at, "count() takes no column".into())),
        ("sum" | "mean", [(column, _), (lo, lo_at), (hi, hi_at)]) => {
            let lower = parse_bound(lo, *lo_at)?;
            let upper = parse_bound(hi, *hi_at)?;
            let column = column.clone();
            if name == "sum" {
                Statistic::Sum { column, lower, upper }
            } else {
                Statistic::Mean { column, lower, upper }
            }
        }
        ("sum" | "mean", _) => {
            return Err((name_at, format!("{name} takes (column, lower, upper)")));
        }
        _ => return Err((name_at, format!("unknown statistic {name:?}; known: count, sum, mean"))),
    };
    Ok(query)
}

fn set_share(query: &mut Query, key: &str, value: &str, at: usize) -> Result<(), (usize, String)> {
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
        "epsilon" | "delta" => return Err((at, format!("{key} given twice"))),
        _ => return Err((at, format!("unknown option {key:?}; known: epsilon, delta"))),
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
        let len: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_word_char(c) || c == '+')
            .map(char::len_utf8)
            .sum();
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

    fn args(&mut self) -> Result<Vec<Arg>, (usize, String)> {
        let mut args = Vec::new();
        self.skip_space();
        if self.eat(')') {
            return Ok(args);
        }
        loop {
            self.skip_space();
            let (word, at) = match self.quoted()? {
                Some(quoted) => quoted,
                None => self.word().ok_or_else(|| (self.pos, "expected an argument".to_owned()))?,
            };
            self.skip_space();
            if self.eat('=') {
                self.skip_space();
                let (value, value_at) = self
                    .word()
                    .ok_or_else(|| (self.pos, format!("expected a value for {word}")))?;
                args.push(Arg::Named(word, value, value_at));
                self.skip_space();
            } else {
                args.push(Arg::Word(word, at));
            }
            if self.eat(')') {
                return Ok(args);
            }
            if !self.eat(',') {
                return Err((self.pos, "expected ',' or ')'".into()));
            }
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
            ("median(age, 0, 1)", 0),
            ("mean(age, 0, 1", 14),
            ("mean(age, 0, 1) extra", 16),
            ("mean(age, 0, 1, epsilon=-1)", 24),
            ("mean(age, 0, 1, epsilon=0)", 24),
            ("mean(age, 0, 1, delta=1)", 22),
            ("mean(age, 0, 1, colour=1)", 23),
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
        fn never_panics_on_near_queries(text in "(count|sum|mean)\\([a-z\"` ,0-9.e=+-]{0,30}\\)?") {
            let _ = parse_query(&text);
        }
    }
}
