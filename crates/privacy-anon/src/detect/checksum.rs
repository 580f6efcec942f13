//! Validity rules and check digits of identifier formats.
//!
//! A pattern alone over-matches: nine digits with dashes are not always a social security
//! number, sixteen digits not always a card. Where a format has a published validity rule or
//! check digit it is applied here, which is what keeps the free-text detector's precision high.
//!
//! | format | rule | source |
//! | --- | --- | --- |
//! | SSN | area ≠ 000, 666, 900–999; group ≠ 00; serial ≠ 0000; two known specimen numbers | SSA, "Social Security Number Randomization" (2011) and the Program Operations Manual System RM 10201.035 |
//! | payment card | Luhn mod 10 over 13–19 digits | ISO/IEC 7812-1, Annex B |
//! | NPI | Luhn over `80840` + the ten digits, first digit 1 or 2 | CMS, "Requirements for NPI check digit" (2005) |
//! | IMEI | Luhn over 15 digits | 3GPP TS 23.003 §6.2.1 |
//! | MBI | 11 characters, position classes, letters without S L O I B Z | CMS, "Understanding the MBI format" (2018) |
//! | VIN | 17 characters without I O Q; check digit at position 9 | 49 CFR 565.15 |

/// Whether `digits` (ASCII digits only) passes the Luhn mod-10 check.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The digits of `text`, dropping spaces and dashes; `None` if anything else occurs.
pub fn digits_only(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => out.push(b),
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// A payment card number: 13 to 19 digits (spaces or dashes allowed) passing Luhn.
pub fn card_number(text: &str) -> bool {
    digits_only(text).is_some_and(|d| (13..=19).contains(&d.len()) && luhn(&d))
}

/// A National Provider Identifier: ten digits starting with 1 or 2, check digit by Luhn over
/// the prefix `80840` and the number.
pub fn npi(text: &str) -> bool {
    let d = text.as_bytes();
    if d.len() != 10 || !d.iter().all(u8::is_ascii_digit) || !matches!(d[0], b'1' | b'2') {
        return false;
    }
    let mut full = b"80840".to_vec();
    full.extend_from_slice(d);
    luhn(&full)
}

/// An IMEI: 15 digits passing Luhn.
pub fn imei(text: &str) -> bool {
    digits_only(text).is_some_and(|d| d.len() == 15 && luhn(&d))
}

/// Whether `area-group-serial` could be an issued social security number.
pub fn ssn_valid(area: u16, group: u8, serial: u16) -> bool {
    let specimen = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !specimen
}

/// A social security number written `ddd-dd-dddd` (or `ddd dd dddd`); `strict` also applies the
/// SSA validity rules.
pub fn ssn(text: &str, strict: bool) -> bool {
    let b = text.as_bytes();
    if b.len() != 11 || !(b[3] == b[6] && matches!(b[3], b'-' | b' ')) {
        return false;
    }
    let digit_positions = [0, 1, 2, 4, 5, 7, 8, 9, 10];
    if !digit_positions.iter().all(|&i| b[i].is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<u16>().unwrap_or(0);
    !strict || ssn_valid(n(0..3), n(4..6) as u8, n(7..11))
}

/// A Medicare Beneficiary Identifier (11 characters; dashes after the 4th and 7th allowed).
pub fn mbi(text: &str) -> bool {
    let compact: Vec<u8> = match text.len() {
        11 => text.bytes().collect(),
        13 if text.as_bytes()[4] == b'-' && text.as_bytes()[8] == b'-' => {
            text.bytes().filter(|b| *b != b'-').collect()
        }
        _ => return false,
    };
    if compact.len() != 11 {
        return false;
    }
    let alpha = |b: u8| b.is_ascii_uppercase() && !b"SLOIBZ".contains(&b);
    let numeric = |b: u8| b.is_ascii_digit();
    let either = |b: u8| alpha(b) || numeric(b);
    let c = &compact;
    matches!(c[0], b'1'..=b'9')
        && alpha(c[1])
        && either(c[2])
        && numeric(c[3])
        && alpha(c[4])
        && either(c[5])
        && numeric(c[6])
        && alpha(c[7])
        && alpha(c[8])
        && numeric(c[9])
        && numeric(c[10])
}

/// A vehicle identification number with a valid check digit (49 CFR 565.15).
pub fn vin(text: &str) -> bool {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let b = text.as_bytes();
    if b.len() != 17 {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in b.iter().enumerate() {
        let Some(v) = vin_value(c) else { return false };
        sum += v * WEIGHTS[i];
    }
    let check = match sum % 11 {
        10 => b'X',
        d => b'0' + d as u8,
    };
    b[8] == check && b.iter().any(u8::is_ascii_digit) && b.iter().any(u8::is_ascii_uppercase)
}

fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // ISO/IEC 7812 test card numbers and the CMS NPI example 1234567893.
        assert!(card_number("4111 1111 1111 1111") && card_number("5500-0000-0000-0004"));
        assert!(!card_number("4111 1111 1111 1112") && !card_number("4111"));
        assert!(npi("1234567893") && !npi("1234567890") && !npi("3234567893"));
        assert!(imei("490154203237518") && !imei("490154203237519"));
        // The CMS MBI specimen 1EG4-TE5-MK73.
        assert!(mbi("1EG4TE5MK73") && mbi("1EG4-TE5-MK73"));
        assert!(!mbi("1SG4TE5MK73") && !mbi("0EG4TE5MK73") && !mbi("1EG4TE5MK7"));
        // 1M8GDM9AXKP042788 is the VIN of 49 CFR 565's worked example.
        assert!(vin("1M8GDM9AXKP042788") && !vin("1M8GDM9A1KP042788"));
        assert!(!vin("1M8GDM9AXKP04278I"));
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn("123-45-6789", true) && ssn("123 45 6789", true));
        assert!(ssn("999-76-6866", false) && !ssn("999-76-6866", true));
        for bad in ["000-12-3456", "666-12-3456", "123-00-4567", "123-45-0000", "078-05-1120"] {
            assert!(!ssn(bad, true), "{bad}");
        }
        assert!(!ssn("123-456-789", false) && !ssn("123-45 6789", false));
    }
}
