//! What may stand between the digit groups of a written card number.
//!
//! People and programs write `4242 4242 4242 4242` in many ways: with a space, a dash, a dot,
//! an underscore, a slash, a plus, a colon, a tab, a no-break space or a typographic dash,
//! and, once it has been through a URL, with any of those percent-encoded (`%20`, `%2D`,
//! `%2F`, `%C2%A0`…). [`separator_len`] recognises one such separator at the start of a byte
//! slice, without allocating and without decoding the whole text.

/// Length in bytes of the separator `rest` starts with; 0 when it starts with none.
pub(super) fn separator_len(rest: &[u8]) -> usize {
    match rest {
        [b' ' | b'-' | b'.' | b'_' | b'/' | b'+' | b':' | b'\t', ..] => 1,
        [b'%', ..] => percent_encoded_len(rest),
        [first, ..] if *first >= 0x80 => unicode_len(rest),
        _ => 0,
    }
}

/// A percent-encoded separator: `%` and two hex digits naming an ASCII separator (`%20`,
/// `%2D`, `%2e`…), or `%C2%A0`, the no-break space.
fn percent_encoded_len(rest: &[u8]) -> usize {
    match (
        decode_percent(rest),
        decode_percent(rest.get(3..).unwrap_or_default()),
    ) {
        (Some(0xC2), Some(0xA0)) => 6,
        (Some(byte), _) if byte < 0x80 && separator_len(&[byte]) == 1 => 3,
        _ => 0,
    }
}

/// The byte `%XX` at the start of `rest` encodes.
fn decode_percent(rest: &[u8]) -> Option<u8> {
    let [b'%', high, low, ..] = rest else {
        return None;
    };
    let hex = |b: u8| (b as char).to_digit(16);
    Some((hex(*high)? * 16 + hex(*low)?) as u8)
}

/// A Unicode space or dash, as UTF-8: no-break space (U+00A0), the spaces U+2000-U+200A,
/// the hyphens and dashes U+2010-U+2015, narrow no-break space (U+202F), medium mathematical
/// space (U+205F), minus (U+2212), ideographic space (U+3000), fullwidth hyphen (U+FF0D).
fn unicode_len(rest: &[u8]) -> usize {
    match rest {
        [0xC2, 0xA0, ..] => 2,
        [0xE2, 0x80, 0x80..=0x8A | 0x90..=0x95 | 0xAF, ..] => 3,
        [0xE2, 0x81, 0x9F, ..] | [0xE2, 0x88, 0x92, ..] => 3,
        [0xE3, 0x80, 0x80, ..] | [0xEF, 0xBC, 0x8D, ..] => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_separator_is_recognised() {
        for sep in [
            " ", "-", ".", "_", "/", "+", ":", "\t", "\u{a0}", "\u{2009}", "\u{2013}", "\u{202f}",
            "\u{2212}", "\u{3000}", "%20", "%2D", "%2d", "%2F", "%2E", "%5F", "%2B", "%3A", "%09",
            "%C2%A0",
        ] {
            assert_eq!(separator_len(sep.as_bytes()), sep.len(), "{sep:?}");
        }
    }

    #[test]
    fn letters_digits_and_other_escapes_are_not_separators() {
        for text in [
            "a", "4", ",", ";", "%41", "%34", "%", "%2", "%C2", "é", "\u{2028}",
        ] {
            assert_eq!(separator_len(text.as_bytes()), 0, "{text:?}");
        }
    }
}
