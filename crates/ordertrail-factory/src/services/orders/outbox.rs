//! The outbox: events written in the same SQLite transaction as the order they announce, and
//! read back later by the [relay](super::relay).
//!
//! A row holds what the journey needs to go on outside the request: the request id, the W3C
//! context of the span that wrote it (`traceparent`, `tracestate`, `baggage`) and the event.
//! The context fields pass through the redaction policy before they are written, like the
//! order row; the event holds no card data at all, and its one client text (the sku) was
//! redacted when the event was made. The payload is stored as made: masking inside JSON
//! could turn a number into text and break it.

use std::borrow::Cow;

use rusqlite::{Connection, params};

use super::stamp;
use crate::broker::Event;
use ordertrail::propagation::Carrier;

/// The outbox table; `sent_at` stays empty until the relay delivered the row, `dead_at` is
/// set when it was refused for good.
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id   TEXT NOT NULL,
        subject      TEXT NOT NULL,
        request_id   TEXT,
        traceparent  TEXT,
        tracestate   TEXT,
        baggage      TEXT,
        payload      TEXT NOT NULL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        sent_at      TEXT,
        dead_at      TEXT
    );
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE sent_at IS NULL AND dead_at IS NULL;";

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its position: rows are delivered in this order.
    pub seq: i64,
    /// The message id (the order id).
    pub message_id: String,
    /// Where it goes.
    pub subject: String,
    /// The request id and trace context of the span that wrote it.
    pub carrier: Carrier,
    /// The event, as JSON.
    pub payload: String,
}

impl OutboxRow {
    /// A new row for `event` on `subject`, with the current request id and `span`'s context.
    pub fn new(subject: &str, event: &Event, span: &tracing::Span) -> Self {
        Self {
            seq: 0,
            message_id: event.order_id.clone(),
            subject: subject.to_owned(),
            carrier: Carrier::capture(span),
            payload: String::from_utf8(event.to_payload()).unwrap_or_default(),
        }
    }
}

/// Inserts `row` (its `seq` is assigned) on `conn`, inside the caller's transaction.
pub(super) fn insert(conn: &Connection, row: &OutboxRow) -> rusqlite::Result<()> {
    let field = |name| row.carrier.get(name).map(redact);
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, subject, request_id, traceparent, tracestate, baggage, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
            row.message_id,
            row.subject,
            field("X-Request-ID"),
            field("traceparent"),
            field("tracestate"),
            field("baggage"),
            row.payload,
            stamp::now(),
        ])
    .map(drop)
}

/// The rows neither sent nor dead, oldest first.
const PENDING: &str =
    "SELECT seq, message_id, subject, request_id, traceparent, tracestate, baggage, payload
     FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY seq";

/// The first `limit` rows neither sent nor dead, oldest first.
///
/// The statement has no `LIMIT ?`: SQLite plans a `LIMIT` with the bound value, so binding it
/// marks the statement stale and every poll would compile it again. Rows are stepped lazily,
/// so taking `limit` of them reads no more than `LIMIT` would.
pub(super) fn pending(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut statement = conn.prepare_cached(PENDING)?;
    let rows = statement.query_map([], row_to_outbox)?;
    rows.take(limit).collect()
}

/// Marks row `seq` as sent, or as dead for good.
pub(super) fn mark(conn: &Connection, seq: i64, dead: bool) -> rusqlite::Result<()> {
    let sql = if dead {
        "UPDATE outbox SET dead_at = ?2 WHERE seq = ?1"
    } else {
        "UPDATE outbox SET sent_at = ?2 WHERE seq = ?1"
    };
    conn.prepare_cached(sql)?
        .execute(params![seq, stamp::now()])
        .map(drop)
}

/// Deletes the sent rows but the newest `keep`; how many it deleted. Pending rows stay, and so
/// do dead ones: they wait for a person.
pub(super) fn prune_sent(conn: &Connection, keep: usize) -> rusqlite::Result<usize> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "DELETE FROM outbox WHERE sent_at IS NOT NULL AND seq <= (
             SELECT seq FROM outbox WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute(params![keep])
}

fn row_to_outbox(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let fields: [Option<String>; 4] = [row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?];
    let carrier = Carrier::extract(|name| {
        let index = ordertrail::propagation::FIELDS
            .iter()
            .position(|f| *f == name)?;
        fields[index].as_deref()
    });
    Ok(OutboxRow {
        seq: row.get(0)?,
        message_id: row.get(1)?,
        subject: row.get(2)?,
        carrier,
        payload: row.get(7)?,
    })
}

fn redact(text: &str) -> String {
    match ordertrail::redact::redact(text) {
        Cow::Borrowed(text) => text.to_owned(),
        Cow::Owned(masked) => masked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(message_id: &str) -> OutboxRow {
        OutboxRow {
            seq: 0,
            message_id: message_id.to_owned(),
            subject: "orders.confirmed".to_owned(),
            carrier: Carrier::default(),
            payload: "{}".to_owned(),
        }
    }

    fn ids(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT message_id FROM outbox ORDER BY seq")
            .expect("prepare");
        let ids = statement.query_map([], |r| r.get(0)).expect("query");
        ids.collect::<rusqlite::Result<_>>().expect("ids")
    }

    #[test]
    fn pending_gives_the_oldest_rows_neither_sent_nor_dead_up_to_the_limit() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(SCHEMA).expect("schema");
        for id in ["sent", "dead", "a", "b", "c"] {
            insert(&conn, &row(id)).expect("insert");
        }
        mark(&conn, 1, false).expect("mark sent");
        mark(&conn, 2, true).expect("mark dead");
        let ids = |limit| -> Vec<String> {
            let rows = pending(&conn, limit).expect("pending");
            rows.into_iter().map(|r| r.message_id).collect()
        };
        assert_eq!(ids(2), ["a", "b"]);
        assert_eq!(ids(10), ["a", "b", "c"]);
        assert!(ids(0).is_empty());
    }

    #[test]
    fn polling_the_outbox_does_not_compile_its_statement_again() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(SCHEMA).expect("schema");
        insert(&conn, &row("a")).expect("insert");
        for limit in [1, 64, 1, 64] {
            pending(&conn, limit).expect("pending");
        }
        let statement = conn.prepare_cached(PENDING).expect("the cached statement");
        let reprepared = statement.get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(reprepared, 0, "the poll's statement was compiled again");
    }

    #[test]
    fn pruning_keeps_the_newest_sent_rows_and_every_pending_and_dead_one() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(SCHEMA).expect("schema");
        for id in ["s1", "dead", "s2", "pending", "s3", "s4"] {
            insert(&conn, &row(id)).expect("insert");
        }
        for (seq, dead) in [(1, false), (2, true), (3, false), (5, false), (6, false)] {
            mark(&conn, seq, dead).expect("mark");
        }
        assert_eq!(prune_sent(&conn, 2).expect("prune"), 2);
        assert_eq!(ids(&conn), ["dead", "pending", "s3", "s4"]);
        assert_eq!(prune_sent(&conn, 2).expect("prune again"), 0);
    }
}
