//! The recorder's two flags in W3C `baggage`: `ordertrail.debug=1` (write this request's
//! detail at every hop) and `ordertrail.keep=1` (a caller already decided to keep it).
//!
//! Internal services read them from their trusted callers' `baggage`; the OpenTelemetry
//! propagator then passes them on with the rest of the baggage. The public edge never reads
//! them: it removes them from a caller's header before anything else sees it.

use http::{HeaderMap, HeaderValue};

use crate::propagation::{BAGGAGE, MAX_BAGGAGE_BYTES};

/// Write every hop's detail.
pub(crate) const DEBUG_FLAG: &str = "ordertrail.debug";
/// Keep the detail: an earlier hop decided.
pub(crate) const KEEP_FLAG: &str = "ordertrail.keep";

/// The flags a header carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) debug: bool,
    pub(crate) keep: bool,
}

/// The entries of every `baggage` header within the size limit, as `(key, value)`.
fn entries(value: &HeaderValue) -> impl Iterator<Item = (&str, &str)> {
    let text = value
        .to_str()
        .ok()
        .filter(|t| t.len() <= MAX_BAGGAGE_BYTES)
        .unwrap_or("");
    text.split(',').filter_map(|entry| {
        let pair = entry.split(';').next()?;
        let (key, value) = pair.split_once('=')?;
        Some((key.trim(), value.trim()))
    })
}

fn is_flag(key: &str) -> bool {
    key == DEBUG_FLAG || key == KEEP_FLAG
}

/// The flags set (`=1`) in `headers`.
pub(crate) fn read(headers: &HeaderMap) -> Flags {
    let mut flags = Flags::default();
    for (key, value) in headers.get_all(BAGGAGE).iter().flat_map(entries) {
        let set = value == "1";
        match key {
            DEBUG_FLAG => flags.debug |= set,
            KEEP_FLAG => flags.keep |= set,
            _ => {}
        }
    }
    flags
}

/// Removes the recorder's entries from every `baggage` header; true when there were any.
pub(crate) fn strip(headers: &mut HeaderMap) -> bool {
    let values: Vec<HeaderValue> = headers.get_all(BAGGAGE).iter().cloned().collect();
    if !values.iter().flat_map(entries).any(|(key, _)| is_flag(key)) {
        return false;
    }
    headers.remove(BAGGAGE);
    for value in values {
        let Ok(text) = value.to_str() else { continue };
        let kept: Vec<&str> = text
            .split(',')
            .filter(|entry| {
                let key = entry.split(['=', ';']).next().unwrap_or("").trim();
                !is_flag(key)
            })
            .collect();
        let rest = kept.join(",");
        if let Ok(value) = HeaderValue::from_str(rest.trim())
            && !value.is_empty()
        {
            headers.append(BAGGAGE, value);
        }
    }
    true
}

/// Adds `flag=1` to the outgoing `baggage`, unless a header already carries the flag.
pub(crate) fn append(headers: &mut HeaderMap, flag: &'static str) {
    let present = headers
        .get_all(BAGGAGE)
        .iter()
        .flat_map(entries)
        .any(|(key, _)| key == flag);
    if present {
        return;
    }
    let entry = format!("{flag}=1");
    let joined = match headers.get(BAGGAGE).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing},{entry}"),
        _ => entry,
    };
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(BAGGAGE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_baggage(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(BAGGAGE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn flags_are_read_with_spaces_and_properties() {
        let headers = with_baggage("tenant=acme, ordertrail.debug = 1;p=x,ordertrail.keep=0");
        assert_eq!(
            read(&headers),
            Flags {
                debug: true,
                keep: false
            }
        );
        assert_eq!(read(&HeaderMap::new()), Flags::default());
    }

    #[test]
    fn strip_removes_only_the_flags() {
        let mut headers = with_baggage("tenant=acme,ordertrail.debug=1,region=eu");
        assert!(strip(&mut headers));
        assert_eq!(headers[BAGGAGE], "tenant=acme,region=eu");
        let mut only = with_baggage("ordertrail.keep=1");
        assert!(strip(&mut only));
        assert!(only.get(BAGGAGE).is_none());
        let mut none = with_baggage("tenant=acme");
        assert!(!strip(&mut none));
        assert_eq!(none[BAGGAGE], "tenant=acme");
    }

    #[test]
    fn append_adds_once() {
        let mut headers = with_baggage("tenant=acme");
        append(&mut headers, DEBUG_FLAG);
        append(&mut headers, DEBUG_FLAG);
        assert_eq!(headers[BAGGAGE], "tenant=acme,ordertrail.debug=1");
        let mut empty = HeaderMap::new();
        append(&mut empty, KEEP_FLAG);
        assert_eq!(empty[BAGGAGE], "ordertrail.keep=1");
    }

    #[test]
    fn an_oversized_header_is_not_read() {
        let big = format!("ordertrail.debug=1,pad={}", "x".repeat(MAX_BAGGAGE_BYTES));
        assert_eq!(read(&with_baggage(&big)), Flags::default());
    }
}
