//! [`parse`]: the one check every URL the factory calls passes, a peer's, the gateway's or
//! shipping's.

use reqwest::Url;

/// `text` as a URL when it is an absolute `http` or `https` URL with a host.
///
/// ```
/// use ordertrail_factory::http_url;
///
/// assert!(http_url::parse("http://127.0.0.1:8081").is_some());
/// assert!(http_url::parse("127.0.0.1:8081").is_none());
/// assert!(http_url::parse("nats://127.0.0.1:4222").is_none());
/// ```
pub fn parse(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_with_a_host_pass() {
        for ok in ["http://h", "https://h:1/api/", "http://127.0.0.1:8081"] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for refused in [
            "",
            "h:1",
            "mailto:a@b",
            "ftp://h/",
            "file:///tmp",
            "http://",
        ] {
            assert!(parse(refused).is_none(), "{refused}");
        }
    }
}
