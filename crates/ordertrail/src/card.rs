//! Payment card numbers: validation (Luhn), the last four digits, and redaction for logs.
//!
//! A card number must never reach a log line. Services only ever log [`last4`]; as a second
//! line of defence every string of every log output passes through the redaction policy
//! ([`crate::redact`]), whose default applies [`mask_cards`]: it masks any 13 to 19 digits
//! that pass the Luhn check, written in one piece or in groups joined by any common separator
//! (space, `-`, `.`, `_`, `/`, `+`, `:`, tab, no-break space, their percent-encodings),
//! even glued to letters (`card4242424242424242`), unless they are part of a UUID or a hex id,
//! wherever they came from: a path, a header, a parser's error message. The exact rules are in
//! `find.rs`; [`contains_card`] follows the same ones.
//!
//! # Layout
//! - `separator`: what may stand between digit groups.
//! - `find`: where the next card-like number is, and what is not one.

use std::borrow::Cow;

mod find;
mod separator;

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
    if too_few_digits(text) || !find::may_hold_card(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    let Some(mut found) = find::next_card(text) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let (start, end) = found;
        out.push_str(&rest[..start]);
        push_mask(&mut out, &rest[start..end]);
        rest = &rest[end..];
        match find::next_card(rest) {
            Some(next) => found = next,
            None => break,
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether `text` has fewer digits than the shortest card number (most strings: a method, a
/// route, a host), counted without a branch per byte.
fn too_few_digits(text: &str) -> bool {
    let min = *DIGITS.start();
    text.len() < min
        || text
            .bytes()
            .map(|b| usize::from(b.wrapping_sub(b'0') < 10))
            .sum::<usize>()
            < min
}

/// Appends `[card ••••1234]`, the last four digits of `number` as written.
fn push_mask(out: &mut String, number: &str) {
    let mut last = [b'0'; 4];
    for (slot, digit) in last
        .iter_mut()
        .rev()
        .zip(number.bytes().rev().filter(u8::is_ascii_digit))
    {
        *slot = digit;
    }
    out.push_str("[card ••••");
    out.extend(last.iter().map(|b| char::from(*b)));
    out.push(']');
}

/// Whether `text` holds a card-like number that [`mask_cards`] would mask.
pub fn contains_card(text: &str) -> bool {
    find::may_hold_card(text.as_bytes()) && find::next_card(text).is_some()
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
    fn only_strings_with_enough_digits_are_scanned() {
        assert!(too_few_digits("GET /orders/{id}"));
        assert!(too_few_digits("4242 4242 424"), "12 digits");
        assert!(!too_few_digits("4242 4242 4242 4"), "13 digits");
        assert!(
            !too_few_digits("a1b2c3d4e5f6g7h8i9j0k1l2m3"),
            "13 digits among letters"
        );
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

    #[test]
    fn masks_every_common_separator_and_its_percent_encoding() {
        for sep in [
            " ", "-", ".", "_", "/", "+", ":", "\t", "\u{a0}", "\u{2013}", "%20", "%2D", "%2F",
            "%2e", "%5F", "%3A", "%C2%A0", " - ",
        ] {
            let number = ["4242"; 4].join(sep);
            let text = format!("/pay/{number}?x=1");
            assert_eq!(mask_cards(&text), "/pay/[card ••••4242]?x=1", "{sep:?}");
            assert!(contains_card(&number), "{sep:?}");
        }
    }

    #[test]
    fn masks_cards_glued_to_letters_and_mixed_groupings() {
        for (text, masked) in [
            ("card4242424242424242", "card[card ••••4242]"),
            ("4242424242424242x", "[card ••••4242]x"),
            ("id=v2-4000.0000.0000.0002;", "id=v2-[card ••••0002];"),
            ("amex 3782 822463 10005", "amex [card ••••0005]"),
            ("qty 12 4242 4242 4242 4242", "qty 12 [card ••••4242]"),
            ("4242.4242.4242.4242", "[card ••••4242]"),
        ] {
            assert_eq!(mask_cards(text), masked, "{text}");
        }
    }

    #[test]
    fn masks_every_card_in_one_text() {
        let text = "a 4242_4242_4242_4242 b 4000:0000:0000:0002 c";
        assert_eq!(mask_cards(text), "a [card ••••4242] b [card ••••0002] c");
    }

    #[test]
    fn leaves_ids_timestamps_and_ordinary_numbers_alone() {
        // Each holds 13-19 digits that pass the Luhn check if read carelessly.
        for text in [
            // A trace id and a span id with a long decimal stretch.
            "trace 4bf92f3577b34da6a3ce929d0e0e4736 4242424242424242aa0e0e4736abcdef",
            "span ab42424242424242",
            // Nanosecond timestamps: digits in pairs.
            "2026-12-02T06:40:09.424242422Z",
            "at 06:40:09.4242424249",
            // An IP address and port, a version, a phone number, a date range (16 digits).
            "10.0.0.1:4242 v1.42.4242 +1 555 123 4567 2026-01-01/2026-12-14",
            // Too many digits in one piece, and too few.
            "42424242424242424242 424242424242",
            // Luhn fails; zero-padded (all zeros pass the Luhn check).
            "4242 4242 4242 4241",
            "parent 0000000000000000 0424242424242424",
        ] {
            assert_eq!(mask_cards(text), text, "{text}");
            assert!(!contains_card(text), "{text}");
        }
    }
}
