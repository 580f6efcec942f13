//! Dates written as text: recognising a cell that holds one date, and writing a changed date
//! back in the cell's own layout.
//!
//! Safe Harbor reduces dates to their year and date shifting moves them by whole days; both must
//! read the formats hospital exports use and, for shifting, write the result exactly as the
//! input was laid out (`2001-07-04T08:42:44Z` shifted by 3 days is `2001-07-07T08:42:44Z`). The
//! accepted layouts are deliberately few and unambiguous:
//!
//! | layout | example | note |
//! | --- | --- | --- |
//! | ISO 8601 | `2001-07-04`, `2001-07-04T08:42:44Z`, `2001-07-04 08:42` | time and zone kept verbatim |
//! | ISO with slashes | `2001/07/04` | |
//! | US | `7/4/2001`, `07/04/2001 08:42` | month first, as US exports write it |
//! | European | `4.7.2001` | day first, dot-separated |
//! | compact | `20010704` | only where the column is declared a date (8 digits are often codes) |
//!
//! Every date is checked against the calendar (`time::Date`), so `2001-02-30` is not a date.
//! The time-of-day suffix must itself look like a time (`HH:MM`, optional seconds, fraction and
//! zone): a cell such as `2001-07-04 and more` is text, not a date.

use time::{Date, Month};

/// How a date was laid out, so that a changed date can be written the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `YYYY-MM-DD` (separator `-` or `/`).
    Iso(char),
    /// `M/D/YYYY`; whether month and day were zero-padded.
    Us {
        /// Month and day written with two digits.
        padded: bool,
    },
    /// `D.M.YYYY`; whether day and month were zero-padded.
    European {
        /// Day and month written with two digits.
        padded: bool,
    },
    /// `YYYYMMDD`.
    Compact,
}

/// A cell holding one date, possibly followed by a time of day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateCell {
    /// The calendar date.
    pub date: Date,
    /// Its layout.
    pub layout: Layout,
    /// What followed the date (a time of day and zone, with its separator), kept verbatim.
    pub suffix: String,
}

impl DateCell {
    /// Parses `text` (trimmed) as one date; `compact` also accepts `YYYYMMDD`.
    pub fn parse(text: &str, compact: bool) -> Option<Self> {
        let text = text.trim();
        let bytes = text.as_bytes();
        if compact && bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) {
            let date = calendar(num(&text[..4])?, num(&text[4..6])?, num(&text[6..8])?)?;
            return Some(Self { date, layout: Layout::Compact, suffix: String::new() });
        }
        let end = bytes.iter().position(|b| *b == b' ' || *b == b'T').unwrap_or(bytes.len());
        let (head, suffix) = text.split_at(end);
        if !suffix.is_empty() && !is_time_suffix(suffix) {
            return None;
        }
        let (date, layout) = parse_head(head)?;
        Some(Self { date, layout, suffix: suffix.to_owned() })
    }

    /// The text of `date` in this cell's layout, with its suffix.
    pub fn render(&self, date: Date) -> String {
        let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
        let head = match self.layout {
            Layout::Iso(sep) => format!("{y:04}{sep}{m:02}{sep}{d:02}"),
            Layout::Us { padded: true } => format!("{m:02}/{d:02}/{y:04}"),
            Layout::Us { padded: false } => format!("{m}/{d}/{y:04}"),
            Layout::European { padded: true } => format!("{d:02}.{m:02}.{y:04}"),
            Layout::European { padded: false } => format!("{d}.{m}.{y:04}"),
            Layout::Compact => format!("{y:04}{m:02}{d:02}"),
        };
        format!("{head}{}", self.suffix)
    }
}

fn parse_head(head: &str) -> Option<(Date, Layout)> {
    let parts: Vec<&str> = head.split(['-', '/', '.']).collect();
    if parts.len() != 3
        || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let sep = head.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    if head.chars().filter(|c| *c == sep).count() != 2 {
        return None;
    }
    let padded = parts[0].len() == 2 && parts[1].len() == 2;
    match (sep, parts[0].len(), parts[1].len(), parts[2].len()) {
        ('-' | '/', 4, 2, 2) => {
            Some((calendar(num(parts[0])?, num(parts[1])?, num(parts[2])?)?, Layout::Iso(sep)))
        }
        ('/', 1..=2, 1..=2, 4) => {
            let date = calendar(num(parts[2])?, num(parts[0])?, num(parts[1])?)?;
            Some((date, Layout::Us { padded }))
        }
        ('.', 1..=2, 1..=2, 4) => {
            let date = calendar(num(parts[2])?, num(parts[1])?, num(parts[0])?)?;
            Some((date, Layout::European { padded }))
        }
        _ => None,
    }
}

/// ` 08:42`, `T08:42:44Z`, `T08:42:44.123+01:00`, ` 8:42:44 PM`.
fn is_time_suffix(suffix: &str) -> bool {
    let rest = &suffix[1..];
    let mut chars = rest.chars().peekable();
    let mut digits = 0;
    while chars.peek().is_some_and(char::is_ascii_digit) {
        chars.next();
        digits += 1;
    }
    if !(1..=2).contains(&digits) || chars.next() != Some(':') {
        return false;
    }
    let tail: String = chars.collect();
    let tail = tail.trim_end_matches([' ', 'A', 'P', 'M', 'a', 'p', 'm']);
    !tail.is_empty()
        && tail.len() <= 24
        && tail.bytes().all(|b| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'+' | b'-' | b'Z'))
        && tail.as_bytes()[0].is_ascii_digit()
}

fn num(text: &str) -> Option<u32> {
    text.parse().ok()
}

fn calendar(year: u32, month: u32, day: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

/// A cell holding only a four-digit year (the Safe Harbor output of a date).
pub fn is_year(text: &str) -> Option<i32> {
    let t = text.trim();
    (t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        for text in [
            "2001-07-04",
            "2001-07-04T08:42:44Z",
            "2001/07/04",
            "2001-07-04T15:35:36.123+01:00",
            "2001-07-04 08:42",
            "7/4/2001",
            "07/04/2001 08:42 PM",
            "4.7.2001",
            "04.07.2001",
        ] {
            let cell = DateCell::parse(text, false).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(cell.render(cell.date), text);
            assert_eq!((cell.date.year(), cell.date.day()), (2001, 4), "{text}");
        }
        let cell = DateCell::parse("20010704", true).unwrap();
        assert_eq!(cell.render(cell.date.next_day().unwrap()), "20010705");
    }

    #[test]
    fn non_dates_are_refused() {
        for text in [
            "2001-02-30",
            "2001-13-01",
            "20010704",
            "1.2.840.10008",
            "999-76-6866",
            "2001-07-04 and more",
            "12/31/99",
            "2001-07",
            "",
            "2001--07-04",
        ] {
            assert!(DateCell::parse(text, false).is_none(), "{text}");
        }
        assert_eq!(is_year(" 1989 "), Some(1989));
        assert_eq!(is_year("89"), None);
    }
}
