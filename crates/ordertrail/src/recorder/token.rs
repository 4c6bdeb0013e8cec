//! [`DebugKey`]: debug tokens — the HMAC-SHA256 of a request id under a configured secret.
//!
//! A client that may debug a request sends its id in `x-request-id` and the token in
//! [`DEBUG_HEADER`]. Only the holder of the secret can make a token, a token is good for its
//! one request id, and verifying it takes the same time whatever its bytes (`hmac`'s
//! `verify_slice` compares in constant time), so it cannot be guessed byte by byte.
//!
//! Crates: `hmac` and `sha2` from RustCrypto, the usual audited pure-Rust implementations.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The request header carrying a debug token, as lower-case hex.
pub const DEBUG_HEADER: &str = "x-ordertrail-debug";

/// [`DEBUG_HEADER`] as a `HeaderName`, for look-ups (a look-up by text parses the name first).
pub(crate) const DEBUG_HEADER_NAME: http::HeaderName = http::HeaderName::from_static(DEBUG_HEADER);

/// Bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// The secret debug tokens are made and checked with.
///
/// ```
/// use ordertrail::recorder::DebugKey;
///
/// let key = DebugKey::new(b"a long random secret".to_vec());
/// let token = key.token_for("order-42");
/// assert!(key.verify("order-42", token.as_bytes()));
/// assert!(!key.verify("order-43", token.as_bytes()));
/// ```
#[derive(Clone)]
pub struct DebugKey(Arc<[u8]>);

impl std::fmt::Debug for DebugKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DebugKey(<secret>)")
    }
}

impl DebugKey {
    /// A key over `secret` (use 32 random bytes or more).
    pub fn new(secret: impl Into<Arc<[u8]>>) -> Self {
        Self(secret.into())
    }

    fn mac(&self, request_id: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(request_id.as_bytes());
        mac
    }

    /// The token for `request_id`, as lower-case hex.
    pub fn token_for(&self, request_id: &str) -> String {
        let tag = self.mac(request_id).finalize().into_bytes();
        tag.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `token` (hex, either case) is the token of `request_id`. The comparison takes
    /// the same time whatever the token holds.
    pub fn verify(&self, request_id: &str, token: &[u8]) -> bool {
        match decode_hex(token) {
            Some(tag) => self.mac(request_id).verify_slice(&tag).is_ok(),
            None => false,
        }
    }
}

/// The 32 bytes of a 64-digit hex string; `None` for anything else.
fn decode_hex(text: &[u8]) -> Option<[u8; TAG_LEN]> {
    if text.len() != TAG_LEN * 2 {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = [0u8; TAG_LEN];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DebugKey {
        DebugKey::new(b"test secret".to_vec())
    }

    #[test]
    fn the_token_matches_the_rfc_4231_construction() {
        // HMAC-SHA256 with key "key" over the classic sentence (Wikipedia's HMAC example).
        let token =
            DebugKey::new(b"key".to_vec()).token_for("The quick brown fox jumps over the lazy dog");
        assert_eq!(
            token,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn a_token_verifies_for_its_id_only_and_in_either_case() {
        let token = key().token_for("order-42");
        assert!(key().verify("order-42", token.to_uppercase().as_bytes()));
        assert!(!key().verify("order-4", token.as_bytes()));
        assert!(!DebugKey::new(b"other".to_vec()).verify("order-42", token.as_bytes()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = key().token_for("order-42");
        for bad in [&token[..63], "", "zz", &format!("{token}00")] {
            assert!(!key().verify("order-42", bad.as_bytes()), "{bad:?}");
        }
        let mut flipped = token.into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!key().verify("order-42", &flipped));
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        assert_eq!(format!("{:?}", key()), "DebugKey(<secret>)");
    }
}
