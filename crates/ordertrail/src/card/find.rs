//! Finding a card-like number in text: [`next_card`], and [`may_hold_card`], the quick test
//! that spares it most texts.
//!
//! # What counts as card-like
//! A *run* is digit groups joined by separators (see [`super::separator`]); at most
//! [`MAX_SEPARATORS`] separators may stand between two groups. Inside a run, a *candidate* is
//! either one group of 13 to 19 digits, or consecutive groups of at least
//! [`MIN_GROUP`] digits each, 13 to 19 digits in all, not starting with 0 (no card number
//! does, while zero-padded ids like the invalid span id `0000000000000000` do): cards are written `4242 4242 4242 4242`
//! or `3782 822463 10005`, never in pairs, so `2026-12-02 06:40:09.123456789` (pairs) and
//! `10.0.0.1` (too few digits) are not candidates. A candidate is card-like when its digits
//! pass the Luhn check, and it is not part of an identifier:
//! - a hyphenated UUID (`8-4-4-4-12` hex digits), whose last two groups can be 16 digits;
//! - a hex id: a word of hex digits with at least one letter, 16 or 32 long (span and trace
//!   ids) or 40 and more (hashes).
//!
//! Letters next to the digits do not protect them: `card4242424242424242` and
//! `order-4242424242424242` are card-like. Nothing is allocated: this runs on every string
//! of every output.

use super::separator::separator_len;
use super::{DIGITS, luhn_valid};

/// The fewest digits a group must have to be part of a candidate of several groups.
const MIN_GROUP: usize = 3;

/// The most separators between two groups of one run (`4242 - 4242` has three).
const MAX_SEPARATORS: usize = 3;

/// The most groups of one run looked at; a longer run is read as several.
const MAX_GROUPS: usize = 24;

/// Whether some stretch of `bytes` that one candidate could span holds 13 digits: the quick
/// test that spares [`next_card`] most strings with many digits (paths and ids with UUIDs in
/// them, timestamps, trace ids).
///
/// A candidate spans only digits and separators: ASCII separators, percent-encodings (`%`,
/// then two hex digits) and non-ASCII separators. Any other ASCII byte (a letter, `,`, `=`,
/// `"`, ...) ends a stretch; hex letters do not when the text has a `%` anywhere. The test
/// counts the digits of percent-encodings too and lets every non-ASCII byte through, so it may
/// say yes where [`next_card`] finds nothing, never the reverse.
///
/// It does not read every byte. Any 13 bytes in a row include one whose index is 12 more than
/// a multiple of 13, so it probes every 13th byte; a probe that ends a stretch rules out every
/// stretch through it, and only a probe inside a stretch reads that stretch.
pub(super) fn may_hold_card(bytes: &[u8]) -> bool {
    let min = *DIGITS.start();
    let percent = bytes.contains(&b'%');
    let ends = |byte: &u8| ends_stretch(*byte, percent);
    let mut probe = min - 1;
    while probe < bytes.len() {
        if ends(&bytes[probe]) {
            probe += min;
            continue;
        }
        let start = bytes[..probe].iter().rposition(ends).map_or(0, |p| p + 1);
        let end = bytes[probe..]
            .iter()
            .position(ends)
            .map_or(bytes.len(), |p| probe + p);
        if bytes[start..end]
            .iter()
            .filter(|b| b.is_ascii_digit())
            .count()
            >= min
        {
            return true;
        }
        probe = end + min;
    }
    false
}

/// Whether `byte` cannot be inside a candidate; in a text with a `%` (`percent`), hex letters
/// can.
#[inline]
fn ends_stretch(byte: u8, percent: bool) -> bool {
    match byte {
        b'0'..=b'9' | b' ' | b'-' | b'.' | b'_' | b'/' | b'+' | b':' | b'\t' | 0x80.. => false,
        b'%' | b'a'..=b'f' | b'A'..=b'F' => !percent,
        _ => true,
    }
}

/// The byte range of the first card-like candidate in `text`, from its first digit to its last.
pub(super) fn next_card(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // A request id is most often a UUID alone: every candidate in it lies inside the UUID.
    if is_uuid(bytes) {
        return None;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += separator_len(&bytes[i..]).max(1);
            continue;
        }
        let run = Run::read(bytes, i);
        if let Some(found) = run.card(bytes) {
            return Some(found);
        }
        i = run.end();
    }
    None
}

/// One run: the byte ranges of its digit groups.
struct Run {
    groups: [(usize, usize); MAX_GROUPS],
    len: usize,
}

impl Run {
    /// The run whose first digit is at `start`.
    fn read(bytes: &[u8], start: usize) -> Self {
        let mut run = Self {
            groups: [(0, 0); MAX_GROUPS],
            len: 0,
        };
        let mut at = start;
        while run.len < MAX_GROUPS {
            let end = at
                + bytes[at..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            run.groups[run.len] = (at, end);
            run.len += 1;
            match next_group(bytes, end) {
                Some(next) => at = next,
                None => break,
            }
        }
        run
    }

    /// Where scanning resumes: after the last group.
    fn end(&self) -> usize {
        self.groups[self.len - 1].1
    }

    fn groups(&self) -> &[(usize, usize)] {
        &self.groups[..self.len]
    }

    /// The first card-like candidate, the longest one among those starting at the same group.
    fn card(&self, bytes: &[u8]) -> Option<(usize, usize)> {
        let groups = self.groups();
        (0..groups.len()).find_map(|first| {
            (first..groups.len())
                .rev()
                .map(|last| &groups[first..=last])
                .find(|candidate| is_card(bytes, candidate))
                .map(|candidate| (candidate[0].0, candidate[candidate.len() - 1].1))
        })
    }
}

/// Where the next group starts, if 1 to [`MAX_SEPARATORS`] separators lead from `at` to a digit.
fn next_group(bytes: &[u8], mut at: usize) -> Option<usize> {
    for _ in 0..MAX_SEPARATORS {
        match separator_len(bytes.get(at..)?) {
            0 => return None,
            len => at += len,
        }
        if bytes.get(at).is_some_and(u8::is_ascii_digit) {
            return Some(at);
        }
    }
    None
}

/// Whether the groups `candidate` are a card-like number (see the module docs).
fn is_card(bytes: &[u8], candidate: &[(usize, usize)]) -> bool {
    if bytes[candidate[0].0] == b'0' {
        return false;
    }
    let several = candidate.len() > 1;
    if several && candidate.iter().any(|(s, e)| e - s < MIN_GROUP) {
        return false;
    }
    let count: usize = candidate.iter().map(|(s, e)| e - s).sum();
    if !DIGITS.contains(&count) {
        return false;
    }
    let mut digits = [0u8; 19];
    let mut n = 0;
    for &(s, e) in candidate {
        digits[n..n + e - s].copy_from_slice(&bytes[s..e]);
        n += e - s;
    }
    let (start, end) = (candidate[0].0, candidate[candidate.len() - 1].1);
    luhn_valid(&digits[..n]) && !in_identifier(bytes, start, end)
}

/// Whether `start..end` lies inside a UUID or a hex id.
fn in_identifier(bytes: &[u8], start: usize, end: usize) -> bool {
    in_uuid(bytes, start, end) || in_hex_id(bytes, start) || in_hex_id(bytes, end - 1)
}

/// Bytes of a hyphenated UUID.
const UUID_LEN: usize = 36;

/// Whether `start..end` lies inside a hyphenated UUID (8-4-4-4-12 hex digits).
fn in_uuid(bytes: &[u8], start: usize, end: usize) -> bool {
    (end.saturating_sub(UUID_LEN)..=start).any(|w| bytes.get(w..w + UUID_LEN).is_some_and(is_uuid))
}

/// Whether `text` is exactly one hyphenated UUID: hex digits, and dashes at 8, 13, 18 and 23
/// only.
fn is_uuid(text: &[u8]) -> bool {
    text.len() == UUID_LEN
        && text.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// Whether the letters-and-digits word around the byte `at` is a hex id: hex digits only, at
/// least one of them a letter, 16 or 32 long, or 40 and more.
fn in_hex_id(bytes: &[u8], at: usize) -> bool {
    let start = bytes[..at]
        .iter()
        .rposition(|b| !b.is_ascii_alphanumeric())
        .map_or(0, |p| p + 1);
    let end = bytes[at..]
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .map_or(bytes.len(), |p| at + p);
    let word = &bytes[start..end];
    let hex = word.iter().all(u8::is_ascii_hexdigit) && word.iter().any(u8::is_ascii_alphabetic);
    hex && (word.len() == 16 || word.len() == 32 || word.len() >= 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_test_passes_every_card_and_stops_at_other_bytes() {
        for card in [
            "4242424242424242",
            "card4242424242424242x",
            "4242%204242%2D4242%2d4242",
            "4242%C2%A04242%C2%A04242%C2%A04242",
            "4242\u{2013}4242\u{2013}4242\u{2013}4242",
            "3782 822463 10005",
            // A stretch read and turned down, then the shortest card right after it.
            "12-34-56-78-90-1x4222222222222",
        ] {
            assert!(next_card(card).is_some(), "{card}");
            assert!(may_hold_card(card.as_bytes()), "{card}");
        }
        // The shortest card (13 digits, 13 bytes) at every offset between letters.
        for before in 0..30 {
            for after in 0..3 {
                let text = format!("{}4222222222222{}", "x".repeat(before), "y".repeat(after));
                assert!(next_card(&text).is_some(), "{text}");
                assert!(may_hold_card(text.as_bytes()), "{text}");
            }
        }
        for text in [
            "/reservations/01a23903-24b3-76ec-a5be-b5b0d906ff59/commit",
            "2026-12-02T23:07:17.938011Z",
            "4242424242,424242",
            "424242424242g4242",
        ] {
            assert!(!may_hold_card(text.as_bytes()), "{text}");
        }
    }

    /// The quick test never turns away a text in which [`next_card`] finds a candidate:
    /// checked on texts drawn from digits, every kind of separator and the bytes that end a
    /// stretch, with cards planted in some of them.
    #[test]
    fn the_quick_test_never_hides_a_card_from_the_search() {
        const PIECES: [&str; 16] = [
            "4242",
            "0002",
            "37",
            "8",
            " ",
            "-",
            "%20",
            "%2D",
            "%C2%A0",
            "\u{2013}",
            "a",
            "F",
            "%",
            ",",
            "=",
            "4000 0000 0000 0002",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut found = 0;
        for _ in 0..20_000 {
            let text: String = (0..rng.usize(1..=14))
                .map(|_| PIECES[rng.usize(..PIECES.len())])
                .collect();
            if next_card(&text).is_some() {
                found += 1;
                assert!(may_hold_card(text.as_bytes()), "{text:?}");
            }
        }
        assert!(found > 1_000, "the texts held cards: {found}");
    }

    #[test]
    fn a_uuid_is_hex_with_dashes_at_its_four_places_only() {
        assert!(is_uuid(b"01a20ef5-d329-7495-9954-361a3bc9daf6"));
        assert!(is_uuid(b"01A20EF5-D329-7495-9954-361A3BC9DAF6"));
        for not_one in [
            &b"01a20ef5-d329-7495-9954-361a3bc9daf"[..], // one short
            &b"01a20ef5-d329-7495-9954-361a3bc9daf6a"[..], // one long
            &b"01a20ef5d-329-7495-9954-361a3bc9daf6"[..], // a dash moved
            &b"01a20ef5-d329-7495-9954-361a3bc9-af6"[..], // a fifth dash
            &b"01a20ef5-d329-7495-9954-361a3bc9dag6"[..], // not hex
            &b"4242424242424242-4242-4242-424242424"[..], // digits where dashes go
        ] {
            assert!(!is_uuid(not_one), "{}", String::from_utf8_lossy(not_one));
        }
    }
}
