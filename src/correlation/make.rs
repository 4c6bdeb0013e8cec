//! How a fresh request id is made when the inbound one is missing or refused.

use uuid::Uuid;

use super::RequestId;

/// Makes a new request id. Implement it to plug in another scheme; closures work too:
///
/// ```
/// use ordertrail::correlation::{CorrelationLayer, RequestId};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// static NEXT: AtomicU64 = AtomicU64::new(1);
/// let layer = CorrelationLayer::new().make_request_id(|| {
///     let n = NEXT.fetch_add(1, Ordering::Relaxed);
///     RequestId::parse(format!("req-{n}").as_bytes()).expect("safe characters")
/// });
/// # let _ = layer;
/// ```
pub trait MakeRequestId: Clone + Send + Sync + 'static {
    /// Returns a new id; called once per request that needs one.
    fn make_request_id(&self) -> RequestId;
}

/// The default: a UUID v7, time-ordered, so ids sort by creation time in logs and indexes.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id(&self) -> RequestId {
        let mut buf = Uuid::encode_buffer();
        let text = Uuid::now_v7().hyphenated().encode_lower(&mut buf);
        // A hyphenated UUID is 36 bytes of hex digits and dashes: always in the safe set.
        RequestId::from_trusted(text)
    }
}

impl<F> MakeRequestId for F
where
    F: Fn() -> RequestId + Clone + Send + Sync + 'static,
{
    fn make_request_id(&self) -> RequestId {
        self()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_ids_are_valid_unique_and_time_ordered() {
        let a = MakeRequestUuidV7.make_request_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = MakeRequestUuidV7.make_request_id();
        assert_ne!(a, b);
        assert!(a.as_str() < b.as_str(), "{a} !< {b}");
        let parsed = Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }
}
