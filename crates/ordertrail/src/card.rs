//! Payment card numbers: validation (Luhn), the last four digits, and redaction for logs.
//!
//! A card number must never reach a log line. Services only ever log [`last4`]; as a second
//! line of defence every string of every log output passes through the redaction policy
//! ([`crate::redact`]), whose default applies [`mask_cards`]: it masks any run of 13 to 19
//! digits (spaces, dashes and `%20` allowed between them) that passes the Luhn check and is a
//! word of its own (not inside a UUID or a hex string), wherever it came from: a path, a
//! header, a parser's error message.

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
    let mut any = false;
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            any = true;
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                if d > 4 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    any && sum.is_multiple_of(10)
}

/// The last four digits, the most of a card number that may be shown or logged.
pub fn last4(digits: &str) -> &str {
    &digits[digits.len().saturating_sub(4)..]
}

/// `text` with every card-like number masked as `[card ••••1234]`. Borrows when there is none.
pub fn mask_cards(text: &str) -> Cow<'_, str> {
    if text.bytes().filter(u8::is_ascii_digit).count() < *DIGITS.start() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some((start, end)) = next_card(rest) {
        let (_, run) = digit_run(rest.as_bytes(), start);
        let digits = String::from_utf8_lossy(&run.digits[..run.count.min(19)]).into_owned();
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

/// The byte range of the first card-like run in `text`. A run that touches a letter or digit
/// is part of a longer word (a UUID, a hex string) and is left alone. Nothing is allocated:
/// this runs on every string a log line holds.
fn next_card(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += separator_len(&bytes[i..]).max(1);
            continue;
        }
        let (end, digits) = digit_run(bytes, i);
        if digits.is_card() && stands_alone(bytes, i, end) {
            return Some((i, end));
        }
        i = end.max(i + 1);
    }
    None
}

/// The digits of one run, kept on the stack: a card has at most 19.
struct RunDigits {
    digits: [u8; 20],
    count: usize,
}

impl RunDigits {
    fn push(&mut self, digit: u8) {
        if let Some(slot) = self.digits.get_mut(self.count) {
            *slot = digit;
        }
        self.count += 1;
    }

    /// 13 to 19 digits passing the Luhn check.
    fn is_card(&self) -> bool {
        DIGITS.contains(&self.count) && luhn_valid(&self.digits[..self.count])
    }
}

/// From a digit at `start`: where the run of digits and separators ends (after its last
/// digit), and its digits.
fn digit_run(bytes: &[u8], start: usize) -> (usize, RunDigits) {
    let mut digits = RunDigits {
        digits: [0; 20],
        count: 0,
    };
    let (mut i, mut end) = (start, start);
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            digits.push(bytes[i]);
            i += 1;
            end = i;
        } else {
            match separator_len(&bytes[i..]) {
                0 => break,
                len => i += len,
            }
        }
    }
    (end, digits)
}

/// Length of the separator `rest` starts with: a space, a dash, or a space percent-encoded in
/// a path (`%20`); 0 when it starts with none.
fn separator_len(rest: &[u8]) -> usize {
    match rest {
        [b' ' | b'-', ..] => 1,
        [b'%', b'2', b'0', ..] => 3,
        _ => 0,
    }
}

/// Whether `start..end` is a word of its own: no letter or digit right before or after it,
/// and not inside a UUID.
fn stands_alone(bytes: &[u8], start: usize, end: usize) -> bool {
    let before =
        start == 0 || bytes[..start].ends_with(b"%20") || !bytes[start - 1].is_ascii_alphanumeric();
    let after = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
    before && after && !in_uuid(bytes, start, end)
}

/// Whether `start..end` lies inside a hyphenated UUID (8-4-4-4-12 hex digits), whose last two
/// groups can be 16 decimal digits.
fn in_uuid(bytes: &[u8], start: usize, end: usize) -> bool {
    const LEN: usize = 36;
    let is_uuid = |s: &[u8]| {
        s.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    };
    (end.saturating_sub(LEN)..=start).any(|w| bytes.get(w..w + LEN).is_some_and(is_uuid))
}

/// Whether `text` holds a card-like number that [`mask_cards`] would mask.
pub fn contains_card(text: &str) -> bool {
    next_card(text).is_some()
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
        let out = mask_cards(text);
        assert!(!out.contains("4242424242424242"), "{out}");
        assert!(!out.contains("4000 0000 0000 0002"), "{out}");
        assert!(
            out.contains("[card ••••4242]") && out.contains("[card ••••0002]"),
            "{out}"
        );
    }

    #[test]
    fn redact_masks_cards_in_percent_encoded_paths_and_ids() {
        assert_eq!(
            mask_cards("/orders/4242%204242%204242%204242"),
            "/orders/[card ••••4242]"
        );
        assert_eq!(
            mask_cards("order-4242424242424242"),
            "order-[card ••••4242]"
        );
        assert!(contains_card("4000-0000-0000-0002") && !contains_card("order-42"));
    }

    #[test]
    fn redact_leaves_uuids_alone() {
        // 329-7495-9954-361 is 14 Luhn-valid digits, and 9954-424242424249 is 16 of them with
        // dashes around: both are parts of UUIDs, not cards.
        for uuid in [
            "01a20ef5-d329-7495-9954-361a3bc9daf6",
            "/orders/01a20ef5-d3a9-749a-9954-424242424249/x",
        ] {
            assert_eq!(mask_cards(uuid), uuid);
            assert!(!contains_card(uuid));
        }
        assert!(
            contains_card("9954-424242424249"),
            "the same digits alone are card-like"
        );
    }

    #[test]
    fn redact_leaves_other_numbers_alone() {
        for text in [
            "order 1234567890123",
            "0193a5b2-7c1e-7d3a-9f00-123456789012",
            "latency 12.5",
        ] {
            assert_eq!(mask_cards(text), text);
        }
    }
}
