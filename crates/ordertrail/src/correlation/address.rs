//! [`AddressText`]: a client's IP address as text for the request span, an IPv4 address
//! written digit by digit (the common case: `Display` for `Ipv4Addr` goes through the
//! formatting machinery, about 1.3k instructions a request).

use std::net::IpAddr;

/// The text of an IP address, on the stack for IPv4.
#[derive(Debug)]
pub(super) enum AddressText {
    /// Up to `255.255.255.255`.
    V4 { text: [u8; 15], len: usize },
    /// IPv6, as `Display` writes it (brackets-free, compressed).
    Other(String),
}

impl AddressText {
    pub(super) fn of(ip: IpAddr) -> Self {
        let IpAddr::V4(v4) = ip else {
            return Self::Other(ip.to_string());
        };
        let mut text = [0u8; 15];
        let mut len = 0;
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                text[len] = b'.';
                len += 1;
            }
            len += write_octet(&mut text[len..], octet);
        }
        Self::V4 { text, len }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and dots were written.
            Self::V4 { text, len } => std::str::from_utf8(&text[..*len]).unwrap_or_default(),
            Self::Other(text) => text,
        }
    }
}

/// Writes `octet` in decimal at the start of `out`; returns the digits written (1 to 3).
fn write_octet(out: &mut [u8], octet: u8) -> usize {
    let digits = [octet / 100, octet / 10 % 10, octet % 10];
    let skip = match octet {
        100.. => 0,
        10.. => 1,
        _ => 2,
    };
    for (slot, digit) in out.iter_mut().zip(&digits[skip..]) {
        *slot = b'0' + digit;
    }
    3 - skip
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn ipv4_text_is_what_display_writes() {
        let samples = [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(127, 0, 0, 1),
            Ipv4Addr::new(255, 255, 255, 255),
            Ipv4Addr::new(10, 20, 30, 4),
            Ipv4Addr::new(9, 99, 100, 199),
        ];
        for ip in samples {
            assert_eq!(AddressText::of(IpAddr::V4(ip)).as_str(), ip.to_string());
        }
    }

    #[test]
    fn ipv6_text_is_what_display_writes() {
        let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(AddressText::of(ip).as_str(), "2001:db8::1");
    }
}
