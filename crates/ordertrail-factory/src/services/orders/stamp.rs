//! [`now`]: the time a row is written, in the form of the tables' `DEFAULT` timestamps.

use std::time::SystemTime;

/// The current time as the tables' defaults write it, `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`
/// (`2026-12-03T01:50:12.345Z`), made here and bound to the statement: SQLite's `strftime`
/// formats each part through its own `printf`, several times the work of formatting it once.
pub(super) fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn it_has_the_form_sqlite_writes() {
        let conn = Connection::open_in_memory().expect("in-memory database");
        let (ours, theirs): (String, String) = conn
            .query_row(
                "SELECT ?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                [now()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("query");
        let shape = |text: &str| -> String {
            text.chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect()
        };
        assert_eq!(shape(&ours), shape(&theirs), "{ours} against {theirs}");
        assert_eq!(shape(&ours), "9999-99-99T99:99:99.999Z");
        // Ours is made before the statement runs: its second is not after SQLite's.
        let seconds = |text: &str| text[..19].to_owned();
        let (a, b) = (seconds(&ours), seconds(&theirs));
        assert!(a <= b, "{ours} after {theirs}");
    }
}
