//! [`MakeRequestId`]: how a request without a usable id gets one.

use uuid::Uuid;

use super::{RequestHead, RequestId};

/// Makes the id of a request that came without a valid one. It sees the request's head, so an
/// id can be derived from it (a tenant prefix, an upstream header of another name…).
///
/// Closures work too:
///
/// ```
/// use ordertrail::correlation::{CorrelationLayer, RequestHead, RequestId};
///
/// let layer = CorrelationLayer::new().make_request_id(|head: &RequestHead<'_>| {
///     let tenant = head.headers.get("x-tenant").and_then(|v| v.to_str().ok()).unwrap_or("anon");
///     RequestId::parse(format!("{tenant}-{}", uuid::Uuid::now_v7()).as_bytes())
///         .unwrap_or_else(|_| RequestId::new_v7())
/// });
/// # let _ = layer;
/// ```
pub trait MakeRequestId: Clone + Send + Sync + 'static {
    /// A fresh id for the request whose head is `request`.
    fn make_request_id(&self, request: &RequestHead<'_>) -> RequestId;
}

/// The default: a UUID v7, time-ordered, so ids sort by arrival.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeRequestUuidV7;

impl MakeRequestId for MakeRequestUuidV7 {
    fn make_request_id(&self, _request: &RequestHead<'_>) -> RequestId {
        RequestId::new_v7()
    }
}

impl RequestId {
    /// A fresh UUID v7 id.
    pub fn new_v7() -> Self {
        let mut buf = Uuid::encode_buffer();
        let text = Uuid::now_v7().hyphenated().encode_lower(&mut buf);
        Self::from_trusted(text)
    }
}

impl<F> MakeRequestId for F
where
    F: Fn(&RequestHead<'_>) -> RequestId + Clone + Send + Sync + 'static,
{
    fn make_request_id(&self, request: &RequestHead<'_>) -> RequestId {
        self(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_ids_are_valid_unique_and_time_ordered() {
        let req = http::Request::new(());
        let head = RequestHead::of(&req);
        let a = MakeRequestUuidV7.make_request_id(&head);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = MakeRequestUuidV7.make_request_id(&head);
        assert_ne!(a, b);
        assert!(a.as_str() < b.as_str(), "{a} !< {b}");
        let parsed = Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }

    #[test]
    fn a_closure_sees_the_request() {
        let make =
            |head: &RequestHead<'_>| RequestId::parse(&head.uri.path().as_bytes()[1..]).unwrap();
        let req = http::Request::get("/from-path").body(()).unwrap();
        assert_eq!(
            make.make_request_id(&RequestHead::of(&req)).as_str(),
            "from-path"
        );
    }
}
