//! JSON strings and values for log lines, written straight into the line.
//!
//! `serde_json::to_writer` goes through a serializer and `io::Write` for every string, and a
//! line holds a dozen of them (target, message, service, request id, each field's name and
//! value). Here a string is checked a byte at a time against a table of the bytes JSON must
//! escape, and copied in runs between them. The output is byte for byte what serde_json
//! writes (the unit test compares every ASCII byte and some that are not).

use super::value::FieldValue;

/// What each byte becomes inside a JSON string: `0` for itself, `u` for `\u00XX`, or the
/// letter after the backslash of its short escape.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `text` as a quoted JSON string.
pub(crate) fn put_str(line: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    line.reserve(bytes.len() + 2);
    line.push(b'"');
    if !needs_escape(bytes) {
        // Nearly every string of a log line: copied whole.
        line.extend_from_slice(bytes);
        line.push(b'"');
        return;
    }
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        line.extend_from_slice(&bytes[run..at]);
        run = at + 1;
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
            line.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
        } else {
            line.extend_from_slice(&[b'\\', escape]);
        }
    }
    line.extend_from_slice(&bytes[run..]);
    line.push(b'"');
}

/// Whether a byte of `bytes` must be escaped (a control byte, a quote, a backslash), looked
/// for eight bytes at a time: a word has a byte below `n` when `(w - n·0x01…) & !w & 0x80…` is
/// not zero, and a byte equal to `c` when `w ^ c·0x01…` has a zero byte. Bytes of multibyte
/// UTF-8 characters (0x80 and up) are never flagged.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let w = u64::from_le_bytes(eight);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        if below(w, 0x20) || below(quote, 1) || below(backslash, 1) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&byte| ESCAPE[usize::from(byte)] != 0)
}

/// Appends `value`: a string as [`put_str`] writes it, an integer with itoa (what serde_json
/// uses, minus the serializer around it), a float as serde_json writes it (`null` when not
/// finite), a boolean as its word.
pub(crate) fn put_value(line: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Str(text) => put_str(line, text),
        FieldValue::I64(n) => line.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::U64(n) => line.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        FieldValue::Bool(true) => line.extend_from_slice(b"true"),
        FieldValue::Bool(false) => line.extend_from_slice(b"false"),
        float => {
            // Writing a number into a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut *line, float);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str) -> String {
        let mut line = Vec::new();
        put_str(&mut line, text);
        String::from_utf8(line).expect("UTF-8")
    }

    #[test]
    fn every_ascii_byte_is_written_as_serde_json_writes_it() {
        for byte in 0u8..0x80 {
            let text = format!("a{}b", char::from(byte));
            let expected = serde_json::to_string(&text).unwrap();
            assert_eq!(ours(&text), expected, "byte {byte:#04x}");
        }
    }

    #[test]
    fn every_ascii_byte_at_every_place_of_a_long_string_is_written_as_serde_json_writes_it() {
        for at in 0..20 {
            for byte in 0u8..0x80 {
                let text = format!(
                    "{}{}{}",
                    "x".repeat(at),
                    char::from(byte),
                    "y".repeat(19 - at)
                );
                let expected = serde_json::to_string(&text).unwrap();
                assert_eq!(ours(&text), expected, "byte {byte:#04x} at {at}");
            }
        }
    }

    #[test]
    fn runs_and_multibyte_text_are_copied_whole() {
        let cases = [
            "",
            "plain",
            "\"quoted\" and \\back\\slashed\\",
            "line\nbreak\ttab\r\u{1}\u{1f}",
            "grüße, 東京, 🦀",
            "\u{7f}\u{80}\u{2028}",
            "ÿÿÿÿÿÿÿÿ\"ÿÿÿÿÿÿÿÿ",
            "an eight-byte run, then a quote: 12345678\"",
        ];
        for text in cases {
            assert_eq!(ours(text), serde_json::to_string(text).unwrap(), "{text:?}");
            let parsed: String = serde_json::from_str(&ours(text)).unwrap();
            assert_eq!(parsed, text);
        }
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let values = [
            FieldValue::Str("a \"b\"".into()),
            FieldValue::I64(-7),
            FieldValue::U64(u64::MAX),
            FieldValue::I64(i64::MIN),
            FieldValue::F64(0.25),
            FieldValue::F64(1e21),
            FieldValue::F64(-0.0),
            FieldValue::F64(f64::NAN),
            FieldValue::F64(f64::INFINITY),
            FieldValue::Bool(true),
            FieldValue::Bool(false),
        ];
        for value in values {
            let mut line = Vec::new();
            put_value(&mut line, &value);
            let expected = serde_json::to_vec(&value).unwrap();
            assert_eq!(line, expected, "{value:?}");
        }
    }
}
