//! Free-text detection of identifiers: spans and kinds, and redaction.
//!
//! What it finds: social security numbers, telephone and fax numbers, email addresses, URLs,
//! IPv4 and IPv6 addresses, medical record numbers and health-plan numbers (Medicare MBIs and
//! numbers introduced by "member ID", "policy no." …), account and payment-card numbers,
//! dates (numeric and written out, and month-year), ZIP codes (after a state, after "ZIP", or in
//! the ZIP+4 form), NPIs, VINs, device serial numbers and ages over 89. Where a format has a
//! validity rule or check digit ([`checksum`]) a candidate must pass it: an SSN with area 666 or
//! a card number failing Luhn is not reported.
//!
//! Why this design: clinical notes run to millions of lines, most without any identifier. Each
//! line is first checked for the bytes every pattern needs (a digit, `@`, `:` or `www.`), then
//! matched once against a [`regex::RegexSet`] of all patterns; only the patterns that matched
//! somewhere are run again to find their spans, which are validated, resolved (overlapping
//! candidates: the longer, then the earlier pattern wins) and returned in order.
//!
//! What it cannot find (see `docs/limitations.md`): names of people and places in prose,
//! identifiers in formats it does not know (a hospital's own record-number scheme without a
//! "MRN" label), numbers split across lines, and images. It is a safety net and a scanner for
//! review, not a guarantee: free-text columns should be dropped unless reviewed.

pub mod checksum;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::safe_harbor::IdentifierKind;

/// What a span in free text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpanKind {
    /// A social security number (SSA validity rules applied).
    Ssn,
    /// A North American telephone number.
    Telephone,
    /// A telephone number introduced as a fax.
    Fax,
    /// An email address.
    Email,
    /// A URL.
    Url,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A number introduced as a medical record number.
    MedicalRecordNumber,
    /// A Medicare MBI or a number introduced as a member, policy or beneficiary number.
    HealthPlanNumber,
    /// A payment card number (Luhn) or a number introduced as an account number.
    AccountNumber,
    /// A calendar date, or a month with its year.
    Date,
    /// A ZIP code after a state, after "ZIP", or in ZIP+4 form.
    Zip,
    /// A National Provider Identifier introduced as "NPI" (check digit applied).
    Npi,
    /// A vehicle identification number (check digit applied).
    Vin,
    /// A number introduced as a serial number, UDI or IMEI.
    DeviceIdentifier,
    /// An age over 89 ("92-year-old", "aged 95").
    AgeOver89,
}

impl SpanKind {
    /// The Safe Harbor kind.
    pub fn identifier(self) -> IdentifierKind {
        use IdentifierKind as K;
        match self {
            Self::Ssn => K::SocialSecurityNumbers,
            Self::Telephone => K::TelephoneNumbers,
            Self::Fax => K::FaxNumbers,
            Self::Email => K::EmailAddresses,
            Self::Url => K::Urls,
            Self::IpAddress => K::IpAddresses,
            Self::MedicalRecordNumber => K::MedicalRecordNumbers,
            Self::HealthPlanNumber => K::HealthPlanBeneficiaryNumbers,
            Self::AccountNumber => K::AccountNumbers,
            Self::Date | Self::AgeOver89 => K::Dates,
            Self::Zip => K::GeographicSubdivisions,
            Self::Npi => K::OtherUniqueIdentifiers,
            Self::Vin => K::VehicleIdentifiers,
            Self::DeviceIdentifier => K::DeviceIdentifiers,
        }
    }

    /// The placeholder that replaces such a span on redaction.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Ssn => "[SSN]",
            Self::Telephone => "[PHONE]",
            Self::Fax => "[FAX]",
            Self::Email => "[EMAIL]",
            Self::Url => "[URL]",
            Self::IpAddress => "[IP]",
            Self::MedicalRecordNumber => "[MRN]",
            Self::HealthPlanNumber => "[HEALTH-PLAN-ID]",
            Self::AccountNumber => "[ACCOUNT]",
            Self::Date => "[DATE]",
            Self::Zip => "[ZIP]",
            Self::Npi => "[NPI]",
            Self::Vin => "[VIN]",
            Self::DeviceIdentifier => "[DEVICE-ID]",
            Self::AgeOver89 => "[AGE-90+]",
        }
    }
}

/// One identifier found in a text: byte offsets `start..end` (on character boundaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub kind: SpanKind,
}

/// How a pattern's candidates are checked.
#[derive(Clone, Copy, Debug)]
enum Check {
    None,
    Ssn,
    Phone,
    Ipv4,
    Ipv6,
    Card,
    Mbi,
    Npi,
    Vin,
    NumericDate,
    HasDigit,
}

struct Pattern {
    kind: SpanKind,
    regex: Regex,
    check: Check,
}

/// The compiled detector. Build it once ([`Detector::global`]) and share it: it is `Sync`.
pub struct Detector {
    set: RegexSet,
    patterns: Vec<Pattern>,
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

/// `(kind, pattern, check)`; a pattern with a capture group reports the group's span (the
/// value after its label), otherwise the whole match. Earlier patterns win ties.
fn pattern_table() -> Vec<(SpanKind, String, Check)> {
    use SpanKind as S;
    let label_value = |labels: &str, width: &str| {
        format!(
            r"(?i)\b(?:{labels})\s*(?:number|num|no\.?|#|id)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{width})\b"
        )
    };
    vec![
        (S::Email, r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b".into(), Check::None),
        (S::Url, r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"']+"#.into(), Check::None),
        (S::Ssn, r"\b\d{3}([- ])\d{2}[- ]\d{4}\b".into(), Check::Ssn),
        (S::Ssn, r"(?i)\b(?:ssn|social security(?: number| no\.?| #)?)\s*[:#]?\s*(\d{9})\b".into(), Check::None),
        (S::Npi, r"(?i)\bNPI\s*[:#]?\s*(\d{10})\b".into(), Check::Npi),
        (S::MedicalRecordNumber, label_value(r"mrn|medical record|med\.? rec\.?|chart", "{3,19}"), Check::HasDigit),
        (S::HealthPlanNumber, r"\b[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}\b".into(), Check::Mbi),
        (S::HealthPlanNumber, label_value(r"member|subscriber|policy|beneficiary|medicaid|medicare|insurance|health plan", "{4,19}"), Check::HasDigit),
        (S::AccountNumber, r"\b\d(?:[ -]?\d){12,18}\b".into(), Check::Card),
        (S::AccountNumber, label_value(r"account|acct\.?", "{3,19}"), Check::HasDigit),
        (S::DeviceIdentifier, label_value(r"serial|s/n|udi|imei|device", "{4,39}"), Check::HasDigit),
        (S::Vin, r"\b[A-HJ-NPR-Z0-9]{17}\b".into(), Check::Vin),
        (S::Fax, r"(?i)\bfax\s*(?:number|no\.?|#)?\s*[:#]?\s*((?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4})\b".into(), Check::Phone),
        (S::Telephone, r"(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b".into(), Check::Phone),
        (S::IpAddress, r"\b(?:\d{1,3}\.){3}\d{1,3}\b".into(), Check::Ipv4),
        (S::IpAddress, r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:\.\d{1,3}){0,3}".into(), Check::Ipv6),
        (S::AgeOver89, r"(?i)\b(?:9\d|1[0-4]\d)[- ]?(?:years?[- ]old|y/?o|yrs?[- ]old|year-old)\b".into(), Check::None),
        (S::AgeOver89, r"(?i)\b(?:age|aged)\s*[:]?\s*(9\d|1[0-4]\d)\b".into(), Check::None),
        (S::Date, r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b".into(), Check::NumericDate),
        (S::Date, r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b".into(), Check::NumericDate),
        (S::Date, format!(r"(?i)\b{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"), Check::None),
        (S::Date, format!(r"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\.?,?\s+\d{{4}}\b"), Check::None),
        (S::Date, format!(r"(?i)\b{MONTH}\.?,?\s+(?:19|20)\d{{2}}\b"), Check::None),
        (S::Zip, format!(r"\b(?:{STATES}),?\s+(\d{{5}}(?:-\d{{4}})?)\b"), Check::None),
        (S::Zip, r"(?i)\bzip(?:\s*code)?\s*[:#]?\s*(\d{5}(?:-\d{4})?)\b".into(), Check::None),
        (S::Zip, r"\b\d{5}-\d{4}\b".into(), Check::None),
    ]
}

impl Detector {
    /// Compiles the patterns.
    pub fn new() -> Self {
        let table = pattern_table();
        let sources: Vec<&str> = table.iter().map(|(_, p, _)| p.as_str()).collect();
        // The patterns are constants; `detector_compiles` in the tests compiles every one, so
        // these cannot fail at run time.
        #[allow(clippy::expect_used)]
        let set = RegexSet::new(&sources).expect("the detector's patterns are valid");
        #[allow(clippy::expect_used)]
        let patterns = table
            .into_iter()
            .map(|(kind, source, check)| Pattern {
                kind,
                regex: Regex::new(&source).expect("the detector's patterns are valid"),
                check,
            })
            .collect();
        Self { set, patterns }
    }

    /// The process-wide detector, compiled on first use.
    pub fn global() -> &'static Self {
        static DETECTOR: OnceLock<Detector> = OnceLock::new();
        DETECTOR.get_or_init(Self::new)
    }

    /// The identifiers in `text`, in order, non-overlapping.
    pub fn find(&self, text: &str) -> Vec<Span> {
        if !might_hold_identifier(text) {
            return Vec::new();
        }
        let matched = self.set.matches(text);
        if !matched.matched_any() {
            return Vec::new();
        }
        let mut candidates: Vec<(Span, usize)> = Vec::new();
        for index in matched.iter() {
            let pattern = &self.patterns[index];
            for caps in pattern.regex.captures_iter(text) {
                let Some(m) =
                    caps.get(1).filter(|_| !matches!(pattern.check, Check::Ssn)).or(caps.get(0))
                else {
                    continue;
                };
                let (start, end) = trim_span(text, m.start(), m.end(), pattern.kind);
                if start < end && valid(pattern.check, text, start, end, &caps) {
                    candidates.push((Span { start, end, kind: pattern.kind }, index));
                }
            }
        }
        resolve(candidates)
    }

    /// [`Self::find`] without the byte scan and the `RegexSet` prefilter: every pattern is run
    /// over the whole text. For the benchmark that measures what the prefilter saves.
    #[doc(hidden)]
    pub fn find_without_prefilter(&self, text: &str) -> Vec<Span> {
        let mut candidates = Vec::new();
        for (index, pattern) in self.patterns.iter().enumerate() {
            for caps in pattern.regex.captures_iter(text) {
                let Some(m) =
                    caps.get(1).filter(|_| !matches!(pattern.check, Check::Ssn)).or(caps.get(0))
                else {
                    continue;
                };
                let (start, end) = trim_span(text, m.start(), m.end(), pattern.kind);
                if start < end && valid(pattern.check, text, start, end, &caps) {
                    candidates.push((Span { start, end, kind: pattern.kind }, index));
                }
            }
        }
        resolve(candidates)
    }

    /// Whether `text` holds any identifier.
    pub fn contains_identifier(&self, text: &str) -> bool {
        !self.find(text).is_empty()
    }

    /// `text` with every identifier replaced by its kind's placeholder, and the kinds replaced.
    pub fn redact(&self, text: &str) -> (String, Vec<SpanKind>) {
        let spans = self.find(text);
        if spans.is_empty() {
            return (text.to_owned(), Vec::new());
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in &spans {
            out.push_str(&text[at..span.start]);
            out.push_str(span.kind.placeholder());
            at = span.end;
        }
        out.push_str(&text[at..]);
        (out, spans.iter().map(|s| s.kind).collect())
    }
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

// FIXME: no pattern finds person or place names in prose; redacted free text still needs a
// human review. A named-entity model (or name lists with context rules) would close part of it.

/// Every pattern needs a digit, `@`, `:` (IPv6) or `www.`; most prose lines have none of the
/// first three only when they hold no identifier, so this byte scan skips them cheaply.
fn might_hold_identifier(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit() || b == b'@' || b == b':')
        || text.contains("www.")
        || text.contains("WWW.")
}

/// URLs lose trailing sentence punctuation; other spans are as matched.
fn trim_span(text: &str, start: usize, mut end: usize, kind: SpanKind) -> (usize, usize) {
    if kind == SpanKind::Url {
        while end > start && text[..end].ends_with(['.', ',', ';', ':', ')', '!', '?', ']']) {
            end -= 1;
        }
    }
    (start, end)
}

fn valid(check: Check, text: &str, start: usize, end: usize, caps: &regex::Captures<'_>) -> bool {
    let s = &text[start..end];
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    match check {
        Check::None => true,
        Check::HasDigit => s.bytes().any(|b| b.is_ascii_digit()),
        Check::Ssn => {
            let same_separator =
                caps.get(1).is_some_and(|sep| s.as_bytes()[6] == sep.as_str().as_bytes()[0]);
            same_separator && checksum::ssn(s, true)
        }
        Check::Phone => nanp(s),
        Check::Card => checksum::card_number(s),
        Check::Mbi => checksum::mbi(s),
        Check::Npi => checksum::npi(s),
        Check::Vin => checksum::vin(s),
        Check::Ipv4 => {
            // Part of a longer dotted number (an OID such as 1.2.840.10008.5.1.4.1) is not an
            // address.
            let dotted = |c: Option<char>| c.is_some_and(|c| c == '.' || c.is_ascii_digit());
            let continues = text[end..].starts_with('.')
                && text[end + 1..].starts_with(|c: char| c.is_ascii_digit());
            !dotted(before) && !continues && s.parse::<Ipv4Addr>().is_ok()
        }
        Check::Ipv6 => {
            // A candidate must stand alone (no hex digit, `:` or `.` on either side), hold a
            // digit and two non-empty groups (so `Code::` is not an address), and parse.
            let joined =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            let groups = s.split(':').filter(|g| !g.is_empty()).count();
            !joined(before)
                && !joined(after)
                && groups >= 2
                && s.bytes().any(|b| b.is_ascii_digit())
                && (s.contains("::") || s.matches(':').count() == 7)
                && s.parse::<Ipv6Addr>().is_ok()
        }
        Check::NumericDate => numeric_date(s),
    }
}

/// A NANP number: area code and exchange start with 2–9.
fn nanp(s: &str) -> bool {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    let local = match digits.len() {
        10 => &digits[..],
        11 if digits[0] == b'1' => &digits[1..],
        _ => return false,
    };
    matches!(local[0], b'2'..=b'9') && matches!(local[3], b'2'..=b'9')
}

/// `2001-07-04`, `2001/7/4`, `7/4/2001`, `4.7.01`: some reading is a calendar date.
fn numeric_date(s: &str) -> bool {
    let parts: Vec<u32> = s.split(['-', '/', '.']).filter_map(|p| p.parse().ok()).collect();
    let [a, b, c] = parts[..] else { return false };
    let ok = |y: u32, m: u32, d: u32| {
        let Ok(month) = time::Month::try_from(m as u8) else { return false };
        let y = if y < 100 { 2000 + y as i32 } else { y as i32 };
        m <= 12 && d <= 31 && time::Date::from_calendar_date(y, month, d as u8).is_ok()
    };
    if s.split(['-', '/', '.']).next().is_some_and(|p| p.len() == 4) {
        ok(a, b, c)
    } else {
        ok(c, a, b) || ok(c, b, a)
    }
}

/// Keeps the best non-overlapping spans: sorted by start; on overlap the longer span wins, on
/// equal length the earlier pattern.
fn resolve(mut candidates: Vec<(Span, usize)>) -> Vec<Span> {
    candidates.sort_by(|(a, ia), (b, ib)| {
        (b.end - b.start).cmp(&(a.end - a.start)).then(ia.cmp(ib)).then(a.start.cmp(&b.start))
    });
    let mut chosen: Vec<Span> = Vec::new();
    for (span, _) in candidates {
        if chosen.iter().all(|c| span.end <= c.start || span.start >= c.end) {
            chosen.push(span);
        }
    }
    chosen.sort_by_key(|s| s.start);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(SpanKind, String)> {
        Detector::global()
            .find(text)
            .into_iter()
            .map(|s| (s.kind, text[s.start..s.end].to_owned()))
            .collect()
    }

    #[test]
    fn detector_compiles() {
        for (_, source, _) in pattern_table() {
            Regex::new(&source).unwrap_or_else(|e| panic!("{source}: {e}"));
        }
        let _ = Detector::new();
    }

    #[test]
    fn finds_each_kind_with_its_span() {
        use SpanKind as S;
        let cases: &[(&str, S, &str)] = &[
            ("SSN 123-45-6789 on file", S::Ssn, "123-45-6789"),
            ("ssn: 123456789.", S::Ssn, "123456789"),
            ("call (617) 555-0142 today", S::Telephone, "(617) 555-0142"),
            ("call 617.555.0142", S::Telephone, "617.555.0142"),
            ("Fax: 617-555-0199", S::Fax, "617-555-0199"),
            ("mail j.doe@example.org now", S::Email, "j.doe@example.org"),
            ("see https://example.org/p?id=3.", S::Url, "https://example.org/p?id=3"),
            ("host 192.168.10.254 down", S::IpAddress, "192.168.10.254"),
            ("from 2001:db8::8a2e:370:7334 ok", S::IpAddress, "2001:db8::8a2e:370:7334"),
            ("MRN: 00123456", S::MedicalRecordNumber, "00123456"),
            ("medicare 1EG4-TE5-MK73", S::HealthPlanNumber, "1EG4-TE5-MK73"),
            ("Member ID: XJH123456", S::HealthPlanNumber, "XJH123456"),
            ("card 4111 1111 1111 1111 used", S::AccountNumber, "4111 1111 1111 1111"),
            ("acct # 99812", S::AccountNumber, "99812"),
            ("seen 2019-03-14 and", S::Date, "2019-03-14"),
            ("seen 3/14/2019 and", S::Date, "3/14/2019"),
            ("on March 14, 2019 the", S::Date, "March 14, 2019"),
            ("on 14th of March 2019", S::Date, "14th of March 2019"),
            ("since June 2018", S::Date, "June 2018"),
            ("Boston, MA 02118 USA", S::Zip, "02118"),
            ("zip code 02118", S::Zip, "02118"),
            ("NPI 1234567893", S::Npi, "1234567893"),
            ("VIN 1M8GDM9AXKP042788", S::Vin, "1M8GDM9AXKP042788"),
            ("pacemaker serial no. PX-99812A", S::DeviceIdentifier, "PX-99812A"),
            ("a 93-year-old woman", S::AgeOver89, "93-year-old"),
            ("aged 97, lives alone", S::AgeOver89, "97"),
        ];
        for (text, kind, span) in cases {
            let found = kinds(text);
            assert!(
                found.contains(&(*kind, (*span).to_owned())),
                "{text:?}: expected {kind:?} {span:?}, found {found:?}"
            );
        }
    }

    #[test]
    fn validity_rules_keep_precision() {
        for text in [
            "SSN 666-12-3456",
            "card 4111 1111 1111 1112",
            "NPI 1234567890",
            "OID 1.2.840.10008.5.1.4.1.1.1.1",
            "dose 2.5 mg at 10:30:00",
            "call 617-155-0142",
            "a 45-year-old man",
            "on 2019-02-30",
            "code 444814009 and 40055000",
            "version 300.1.2",
        ] {
            assert!(kinds(text).is_empty(), "{text:?}: {:?}", kinds(text));
        }
    }

    #[test]
    fn redaction_replaces_spans_in_order() {
        let (out, found) =
            Detector::global().redact("Pt seen 2019-03-14, call 617-555-0142 or mail a@b.org.");
        assert_eq!(out, "Pt seen [DATE], call [PHONE] or mail [EMAIL].");
        assert_eq!(found, [SpanKind::Date, SpanKind::Telephone, SpanKind::Email]);
        assert!(Detector::global().find(&out).is_empty());
    }
}
