//! The [`RequestId`] value and the rules an inbound id must follow.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

/// The header a request id travels in, unless configured otherwise.
pub const DEFAULT_HEADER: &str = "x-request-id";

/// The longest inbound id accepted, in bytes.
pub const MAX_LEN: usize = 128;

/// Why an inbound id was refused. The refused value itself is never kept: it may be hostile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequestId {
    /// The header was present but empty.
    #[error("request id is empty")]
    Empty,
    /// The value is longer than [`MAX_LEN`] bytes.
    #[error("request id is {len} bytes long, more than {MAX_LEN}")]
    TooLong {
        /// Length of the refused value in bytes.
        len: usize,
    },
    /// The value holds a byte outside letters, digits and `-._:@/+=`.
    #[error("request id has a byte outside the safe set at offset {offset}")]
    Forbidden {
        /// Offset of the first refused byte.
        offset: usize,
    },
    /// The value holds what looks like a card number, which must never reach a log line.
    #[error("request id looks like a card number")]
    CardNumber,
}

/// A validated correlation id: 1 to 128 bytes of letters, digits and `-._:@/+=`, holding no
/// card-like number (see [`crate::card::contains_card`]).
///
/// Such a value is safe in a header, a log line, a URL path segment and a shell command line,
/// so it can be echoed anywhere without escaping. Cloning is cheap (a reference count).
///
/// In an axum handler, `RequestId` is an extractor (feature `axum`):
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use ordertrail::correlation::RequestId;
///
/// async fn handler(id: RequestId) -> String {
///     format!("your request is {id}")
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Accepts `raw` if it follows the rules above.
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidRequestId> {
        validate(raw)?;
        // Every byte is ASCII, so this cannot fail; the error arm keeps the code panic-free.
        let text = std::str::from_utf8(raw).map_err(|e| InvalidRequestId::Forbidden {
            offset: e.valid_up_to(),
        })?;
        // Logged unmasked as the top-level `request_id`, so a card number must not get in.
        if crate::card::contains_card(text) {
            return Err(InvalidRequestId::CardNumber);
        }
        Ok(Self(Arc::from(text)))
    }

    /// Wraps text the caller knows to be in the safe set (generated ids).
    pub(crate) fn from_trusted(text: &str) -> Self {
        debug_assert!(validate(text.as_bytes()).is_ok());
        Self(Arc::from(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a header value (always valid: the safe set is visible ASCII).
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }
}

/// Checks the length and every byte of an inbound id.
fn validate(raw: &[u8]) -> Result<(), InvalidRequestId> {
    match raw.len() {
        0 => return Err(InvalidRequestId::Empty),
        len if len > MAX_LEN => return Err(InvalidRequestId::TooLong { len }),
        _ => {}
    }
    match raw.iter().position(|&b| !is_safe(b)) {
        Some(offset) => Err(InvalidRequestId::Forbidden { offset }),
        None => Ok(()),
    }
}

/// The safe set: ASCII letters, digits and `-._:@/+=`.
const fn is_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'@' | b'/' | b'+' | b'=')
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.0)
    }
}

impl AsRef<str> for RequestId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RequestId {
    type Err = InvalidRequestId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

/// Extracts the id that [`CorrelationLayer`](super::CorrelationLayer) put in the request's
/// extensions; without the layer, the id of the current scope, or a fresh one.
#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let found = parts.extensions.get::<RequestId>().cloned();
        Ok(found
            .or_else(super::current)
            .unwrap_or_else(RequestId::new_v7))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_safe_set() {
        let id = RequestId::parse(b"order-42_a.b:c@d/e+f=").unwrap();
        assert_eq!(id.as_str(), "order-42_a.b:c@d/e+f=");
        assert!(RequestId::parse(&[b'a'; MAX_LEN]).is_ok());
    }

    #[test]
    fn refuses_hostile_values() {
        assert_eq!(RequestId::parse(b""), Err(InvalidRequestId::Empty));
        assert_eq!(
            RequestId::parse(&[b'a'; MAX_LEN + 1]),
            Err(InvalidRequestId::TooLong { len: MAX_LEN + 1 })
        );
        for hostile in [
            &b"a\r\nSet-Cookie: x"[..],
            b"has space",
            b"quo\"te",
            b"back\\slash",
            b"tab\t",
            "caf\u{e9}".as_bytes(),
            b"nul\0",
            b"\xff\xfe",
            b"<script>",
        ] {
            assert!(
                matches!(
                    RequestId::parse(hostile),
                    Err(InvalidRequestId::Forbidden { .. })
                ),
                "{hostile:?} was accepted"
            );
        }
    }

    #[test]
    fn refuses_card_numbers() {
        for card in [
            "4242424242424242",
            "4000-0000-0000-0002",
            "order-4242424242424242",
            "4242.4242.4242.4242",
            "4242_4242_4242_4242",
            "4242:4242:4242:4242",
            "4242/4242/4242/4242",
            "4242+4242+4242+4242",
            "card4242424242424242",
        ] {
            assert_eq!(
                RequestId::parse(card.as_bytes()),
                Err(InvalidRequestId::CardNumber),
                "{card}"
            );
        }
        assert!(RequestId::parse(b"order-4242").is_ok());
        assert!(RequestId::parse(b"0193a5b2-7c1e-7d3a-9f00-424242424242").is_ok());
    }

    #[test]
    fn error_names_offset_not_value() {
        let err = RequestId::parse(b"ok\"secret").unwrap_err();
        assert_eq!(err, InvalidRequestId::Forbidden { offset: 2 });
        assert!(!err.to_string().contains("secret"));
    }
}
