//! [`instructions`]: what a `valgrind --tool=callgrind` output file says was executed.

/// The `summary:` (or `totals:`) line of a callgrind output's text: instructions executed.
pub fn instructions(callgrind_out: &str) -> Option<u64> {
    callgrind_out
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_or_the_totals_line() {
        assert_eq!(instructions("events: Ir\nsummary: 1234\n"), Some(1234));
        assert_eq!(instructions("events: Ir\ntotals: 99\n"), Some(99));
        assert_eq!(instructions("events: Ir\n"), None);
    }
}
