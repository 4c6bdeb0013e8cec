//! [`RequestHead`]: a borrowed view of a request's head, what the pluggable hooks see.

use http::{Extensions, HeaderMap, Method, Request, Uri, Version};

/// The head of an incoming request — method, URI, version, headers, extensions — borrowed,
/// so hooks like [`MakeRequestId`](super::MakeRequestId) and [`MakeSpan`](super::MakeSpan)
/// can look at it whatever the body type.
///
/// ```
/// use ordertrail::correlation::RequestHead;
///
/// let req = http::Request::get("/orders/7").header("x-tenant", "acme").body(()).unwrap();
/// let head = RequestHead::of(&req);
/// assert_eq!(head.uri.path(), "/orders/7");
/// assert_eq!(head.headers["x-tenant"], "acme");
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URI as received (a path and query for HTTP/1.1 origin-form requests).
    pub uri: &'a Uri,
    /// The HTTP version.
    pub version: Version,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The extensions set by layers outside this one (axum's `MatchedPath`, `ConnectInfo`…).
    pub extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// The head of `req`.
    pub fn of<B>(req: &'a Request<B>) -> Self {
        Self {
            method: req.method(),
            uri: req.uri(),
            version: req.version(),
            headers: req.headers(),
            extensions: req.extensions(),
        }
    }
}
