//! Payment card numbers: validation (Luhn), the last four digits, and redaction for logs.
//!
//! A card number must never reach a log line. Services only ever log [`last4`]; as a second
//! line of defence the logging layer passes every string through [`redact`], which masks any
//! run of 13 to 19 digits (spaces and dashes allowed between them) that passes the Luhn check,
//! wherever it came from: a path, a header, a parser's error message.

use std::borrow::Cow;

/// Fewest and most digits of a card number.
const DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// The digits of `text` when it is a plausible card number: only digits, spaces and dashes,
/// 13 to 19 digits, Luhn-valid.
pub fn normalize(text: &str) -> Option<String> {
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (DIGITS.contains(&digits.len()) && luhn_valid(digits.as_bytes())).then_some(digits)
}

/// The Luhn checksum over ASCII digits.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                if d > 4 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The last four digits, the most of a card number that may be shown or logged.
pub fn last4(digits: &str) -> &str {
    &digits[digits.len().saturating_sub(4)..]
}

/// `text` with every card-like number masked as `[card ••••1234]`. Borrows when there is none.
pub fn redact(text: &str) -> Cow<'_, str> {
    if text.bytes().filter(u8::is_ascii_digit).count() < *DIGITS.start() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some((start, end, digits)) = next_card(rest) {
        out.push_str(&rest[..start]);
        out.push_str("[card ••••");
        out.push_str(last4(&digits));
        out.push(']');
        rest = &rest[end..];
        changed = true;
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The byte range and digits of the first card-like run in `text`.
fn next_card(text: &str) -> Option<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let (end, digits) = digit_run(bytes, i);
        if DIGITS.contains(&digits.len()) && luhn_valid(digits.as_bytes()) {
            return Some((i, end, digits));
        }
        i = end.max(i + 1);
    }
    None
}

/// From a digit at `start`: where the run of digits, spaces and dashes ends (after its last
/// digit) and the digits in it.
fn digit_run(bytes: &[u8], start: usize) -> (usize, String) {
    let mut digits = String::new();
    let mut end = start;
    for (offset, &b) in bytes[start..].iter().enumerate() {
        if b.is_ascii_digit() {
            digits.push(char::from(b));
            end = start + offset + 1;
        } else if b != b' ' && b != b'-' {
            break;
        }
    }
    (end, digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_refuses_typos() {
        assert_eq!(
            normalize("4242 4242 4242 4242").as_deref(),
            Some("4242424242424242")
        );
        assert_eq!(
            normalize("4000-0000-0000-0002").as_deref(),
            Some("4000000000000002")
        );
        assert_eq!(normalize("4242 4242 4242 4241"), None);
        assert_eq!(normalize("4242x4242424242424"), None);
        assert_eq!(normalize("42"), None);
    }

    #[test]
    fn redact_masks_cards_anywhere_in_text() {
        let text = "invalid type: integer `4242424242424242`, path /x/4000 0000 0000 0002/y";
        let out = redact(text);
        assert!(!out.contains("4242424242424242"), "{out}");
        assert!(!out.contains("4000 0000 0000 0002"), "{out}");
        assert!(
            out.contains("[card ••••4242]") && out.contains("[card ••••0002]"),
            "{out}"
        );
    }

    #[test]
    fn redact_leaves_other_numbers_alone() {
        for text in [
            "order 1234567890123",
            "0193a5b2-7c1e-7d3a-9f00-123456789012",
            "latency 12.5",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
