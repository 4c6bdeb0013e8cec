//! [`push_rfc3339_micros`]: a line's timestamp, `2026-12-02T06:40:09.123456Z`, written digit by
//! digit: every JSON line starts with one, and going through `Display` cost more than the
//! rest of the line's head.

use std::time::{SystemTime, UNIX_EPOCH};

/// Appends `time` in UTC as RFC 3339 with microseconds; a time before 1970 as the epoch.
pub(crate) fn push_rfc3339_micros(out: &mut Vec<u8>, time: SystemTime) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut text[0..4], year);
    digits(&mut text[5..7], month);
    digits(&mut text[8..10], day);
    digits(&mut text[11..13], of_day / 3_600);
    digits(&mut text[14..16], of_day / 60 % 60);
    digits(&mut text[17..19], of_day % 60);
    digits(&mut text[20..26], u64::from(since.subsec_micros()));
    out.extend_from_slice(&text);
}

/// Writes `value` in decimal into all of `out`, zero-padded on the left.
fn digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (the algorithm of
/// Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn written(time: SystemTime) -> String {
        let mut out = Vec::new();
        push_rfc3339_micros(&mut out, time);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_read_as_humantime_writes_them() {
        // Every day boundary from 1970 to past 2100 (leap years, the 2000 and 2100 rules),
        // with odd hours and microseconds in between.
        let mut seconds = 0_u64;
        while seconds < 4_200_000_000 {
            let time = UNIX_EPOCH + Duration::new(seconds, 123_456_789);
            let expected = humantime::format_rfc3339_micros(time).to_string();
            assert_eq!(written(time), expected, "{seconds}");
            seconds += 86_400 * 3 + 3_601;
        }
    }

    #[test]
    fn the_edges_of_a_day_and_of_a_year() {
        let at = |s: u64, micros: u32| UNIX_EPOCH + Duration::new(s, micros * 1_000);
        assert_eq!(written(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            written(at(951_868_799, 999_999)),
            "2000-02-29T23:59:59.999999Z"
        );
        assert_eq!(written(at(1_798_761_599, 1)), "2026-12-31T23:59:59.000001Z");
        assert_eq!(
            written(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
