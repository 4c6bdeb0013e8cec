//! Lowercase hex of ids, written byte by byte: `traceresponse` and every JSON log line write a
//! trace and a span id, where the formatting machinery (`{:032x}`) costs more than the rest of
//! the work.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as hex into the start of `out`, which holds at least twice as many bytes.
pub(crate) fn write(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// `hex`, written by [`write`], as text (empty if it held a byte that is not UTF-8, which
/// [`write`] never writes).
pub(crate) fn as_str(hex: &[u8]) -> &str {
    std::str::from_utf8(hex).unwrap_or_default()
}

/// Appends `bytes` as hex to `out`.
pub(crate) fn push(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    write(&mut out[start..], bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_their_lowercase_hex_display() {
        let trace: u128 = 0x0af7651916cd43dd8448eb211c80319c;
        let mut line = b"id=".to_vec();
        push(&mut line, &trace.to_be_bytes());
        assert_eq!(line, format!("id={trace:032x}").into_bytes());
        let mut out = [b'-'; 6];
        write(&mut out, &[0x00, 0xff]);
        assert_eq!(&out, b"00ff--");
        assert_eq!(as_str(&out[..4]), "00ff");
    }
}
