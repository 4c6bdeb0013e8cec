//! [`OrderStore`]: orders in one SQLite table. Every statement runs on the blocking pool
//! through [`correlation::spawn_blocking`], in a span named after its operation.
//!
//! # What is stored
//! Only what the order needs: never the card number, only its last four digits. The two
//! fields that come from the client, `sku` and `request_id`, pass through the process's
//! redaction policy ([`ordertrail::redact`]) before they are written, so a card number typed
//! into them lands on disk masked (`[card ••••4242]`). Masking, not refusing: the store is the
//! last exit, below the checks at the edge (a request id holding a card is already replaced,
//! an unknown sku is rejected by inventory), so here it keeps the order's history, outcome
//! included, while no secret reaches the file or its write-ahead log.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::{self, OutboxRow};
use super::stamp;
use crate::services::api::{Order, OrderStatus};
use ordertrail::correlation;

/// Opening the store, or a statement on it, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database directory could not be created.
    #[error("cannot create the database directory {path}")]
    Directory {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused to open or set up the database.
    #[error("cannot open the order database")]
    Open(#[source] rusqlite::Error),
    /// A statement failed.
    #[error("database")]
    Database(#[source] rusqlite::Error),
    /// The blocking task running a statement panicked or was cancelled.
    #[error("background task")]
    Task(#[source] tokio::task::JoinError),
    /// There is no order with this id.
    #[error("no order {order_id}")]
    NotFound {
        /// The id asked for.
        order_id: String,
    },
}

/// A handle to the orders table; clones share one connection.
#[derive(Debug, Clone)]
pub struct OrderStore {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS orders (
        order_id     TEXT PRIMARY KEY,
        request_id   TEXT NOT NULL,
        sku          TEXT NOT NULL,
        quantity     INTEGER NOT NULL,
        amount_cents INTEGER NOT NULL,
        card_last4   TEXT NOT NULL,
        status       TEXT NOT NULL,
        updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );";

impl OrderStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.to_owned(),
                source,
            })?;
        }
        Self::setup(Connection::open(path).map_err(StoreError::Open)?)
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(StoreError::Open)?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| conn.execute_batch(SCHEMA))
            .and_then(|()| conn.execute_batch(outbox::SCHEMA))
            .map_err(StoreError::Open)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Stores a new order, its client-given text redacted (see the module docs).
    pub async fn insert(&self, order: Order) -> Result<(), StoreError> {
        let order = redacted(order);
        self.run("INSERT", move |conn| {
            conn.prepare_cached(
                "INSERT INTO orders (order_id, request_id, sku, quantity, amount_cents, card_last4, status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                    order.order_id,
                    order.request_id,
                    order.sku,
                    order.quantity,
                    order.amount_cents,
                    order.card_last4,
                    order.status.as_str(),
                    stamp::now()
                ])
            .map(drop)
        })
        .await
    }

    /// Moves an order to `status`, with its amount when known.
    pub async fn set_status(
        &self,
        order_id: String,
        status: OrderStatus,
        amount_cents: Option<u64>,
    ) -> Result<(), StoreError> {
        self.run("UPDATE", move |conn| {
            conn.prepare_cached(
                "UPDATE orders SET status = ?2, amount_cents = COALESCE(?3, amount_cents),
                 updated_at = ?4 WHERE order_id = ?1",
            )?
            .execute(params![
                order_id,
                status.as_str(),
                amount_cents,
                stamp::now()
            ])
            .map(drop)
        })
        .await
    }

    /// Confirms an order and writes its outbox row in one transaction: both or neither.
    pub async fn confirm(
        &self,
        order_id: String,
        amount_cents: u64,
        row: OutboxRow,
    ) -> Result<(), StoreError> {
        self.run("TRANSACTION", move |conn| {
            let tx = conn.unchecked_transaction()?;
            tx.prepare_cached(
                "UPDATE orders SET status = ?2, amount_cents = ?3, updated_at = ?4
                 WHERE order_id = ?1",
            )?
            .execute(params![
                order_id,
                OrderStatus::Confirmed.as_str(),
                amount_cents,
                stamp::now()
            ])?;
            outbox::insert(&tx, &row)?;
            tx.commit()
        })
        .await
    }

    /// The first `limit` outbox rows not yet sent, oldest first.
    ///
    /// Not traced: the relay reads the outbox outside any request, after each order and four
    /// times a second besides, and a trace of one `SELECT` per read would outnumber the
    /// orders' own. The deliveries it finds are traced, in their orders' traces.
    pub async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        self.execute(move |conn| outbox::pending(conn, limit)).await
    }

    /// Marks outbox row `seq` as sent, or as refused for good when `dead`.
    pub async fn outbox_mark(&self, seq: i64, dead: bool) -> Result<(), StoreError> {
        self.run("UPDATE outbox", move |conn| outbox::mark(conn, seq, dead))
            .await
    }

    /// Deletes the sent outbox rows but the newest `keep`; how many it deleted.
    pub async fn outbox_prune(&self, keep: usize) -> Result<usize, StoreError> {
        self.run("DELETE outbox", move |conn| outbox::prune_sent(conn, keep))
            .await
    }

    /// The order `order_id`, or [`StoreError::NotFound`].
    pub async fn get(&self, order_id: String) -> Result<Order, StoreError> {
        let id = order_id.clone();
        let found = self
            .run("SELECT", move |conn| {
                conn.prepare_cached(
                    "SELECT order_id, status, sku, quantity, amount_cents, card_last4, request_id
                     FROM orders WHERE order_id = ?1",
                )?
                .query_row(params![id], row_to_order)
                .optional()
            })
            .await?;
        found.ok_or(StoreError::NotFound { order_id })
    }

    /// Runs `statement` on the blocking pool, in a `db` span carrying the request id.
    /// `operation` is `"VERB"` on the orders table or `"VERB table"`.
    async fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        statement: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (operation, table) = match operation.split_once(' ') {
            Some((operation, table)) => (operation, table),
            None => (operation, "orders"),
        };
        let span = tracing::info_span!(
            "db",
            otel.name = format!("{operation} {table}"),
            db.system.name = "sqlite",
            db.operation.name = operation,
            db.collection.name = table,
        );
        span.in_scope(|| self.execute(statement)).await
    }

    /// Runs `statement` on the blocking pool with the current request id and span.
    fn execute<T, F>(&self, statement: F) -> impl Future<Output = Result<T, StoreError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let task = correlation::spawn_blocking(move || statement(&lock(&conn)));
        async move {
            task.await
                .map_err(StoreError::Task)?
                .map_err(StoreError::Database)
        }
    }
}

/// `order` with `sku` and `request_id` through the redaction policy.
fn redacted(order: Order) -> Order {
    let redact = |text: String| match ordertrail::redact::redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(masked) => masked,
    };
    Order {
        sku: redact(order.sku),
        request_id: redact(order.request_id),
        ..order
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn row_to_order(row: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    let status: String = row.get(1)?;
    Ok(Order {
        order_id: row.get(0)?,
        status: OrderStatus::parse(&status).unwrap_or(OrderStatus::Failed),
        sku: row.get(2)?,
        quantity: row.get(3)?,
        amount_cents: row.get(4)?,
        card_last4: row.get(5)?,
        request_id: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(order_id: &str) -> Order {
        Order {
            order_id: order_id.into(),
            status: OrderStatus::Pending,
            sku: "mug-classic".into(),
            quantity: 2,
            amount_cents: 0,
            card_last4: "4242".into(),
            request_id: "req-1".into(),
        }
    }

    /// The names (`otel.name`) of the spans made while `f` runs on this thread.
    async fn spans_made<F: Future>(f: F) -> (F::Output, Vec<String>) {
        use std::sync::Mutex;
        use tracing::field::{Field, Visit};
        use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

        #[derive(Clone, Default)]
        struct Names(Arc<Mutex<Vec<String>>>);
        impl Visit for Names {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "otel.name" {
                    self.0
                        .lock()
                        .unwrap()
                        .push(format!("{value:?}").replace('"', ""));
                }
            }
        }
        impl<S: tracing::Subscriber> Layer<S> for Names {
            fn on_new_span(
                &self,
                attrs: &tracing::span::Attributes<'_>,
                _: &tracing::span::Id,
                _: Context<'_, S>,
            ) {
                attrs.record(&mut self.clone());
            }
        }
        let names = Names::default();
        let subscriber = tracing_subscriber::registry().with(names.clone());
        let _default = tracing::subscriber::set_default(subscriber);
        let output = f.await;
        let made = names.0.lock().unwrap().clone();
        (output, made)
    }

    #[tokio::test]
    async fn the_relays_reads_of_the_outbox_make_no_span_and_its_writes_do() {
        let store = OrderStore::in_memory().unwrap();
        let (pending, made) = spans_made(store.outbox_pending(64)).await;
        assert!(pending.unwrap().is_empty());
        assert!(made.is_empty(), "a read of the outbox made spans: {made:?}");
        let (_, made) = spans_made(store.outbox_mark(1, false)).await;
        assert_eq!(made, ["UPDATE outbox"]);
    }

    #[tokio::test]
    async fn a_stored_order_is_found_with_its_new_status() {
        let store = OrderStore::in_memory().unwrap();
        store.insert(order("o-1")).await.unwrap();
        store
            .set_status("o-1".into(), OrderStatus::Confirmed, Some(2_400))
            .await
            .unwrap();
        let found = store.get("o-1".into()).await.unwrap();
        assert_eq!(
            (found.status, found.amount_cents),
            (OrderStatus::Confirmed, 2_400)
        );
    }

    #[tokio::test]
    async fn client_text_holding_a_card_is_stored_masked() {
        let store = OrderStore::in_memory().unwrap();
        let mut with_cards = order("o-2");
        with_cards.sku = "mug-4242.4242.4242.4242".into();
        with_cards.request_id = "card4000_0000_0000_0002".into();
        store.insert(with_cards).await.unwrap();
        let found = store.get("o-2".into()).await.unwrap();
        assert_eq!(found.sku, "mug-[card ••••4242]");
        assert_eq!(found.request_id, "card[card ••••0002]");
        let plain = order("o-3");
        store.insert(plain.clone()).await.unwrap();
        let found = store.get("o-3".into()).await.unwrap();
        assert_eq!((found.sku, found.request_id), (plain.sku, plain.request_id));
    }

    #[tokio::test]
    async fn an_unknown_order_is_not_found() {
        let store = OrderStore::in_memory().unwrap();
        let err = store.get("nope".into()).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::NotFound { order_id } if order_id == "nope"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_statement_keeps_the_sqlite_error_as_its_source() {
        let store = OrderStore::in_memory().unwrap();
        lock(&store.conn)
            .execute_batch("DROP TABLE orders")
            .unwrap();
        let err = store.get("o-1".into()).await.unwrap_err();
        let StoreError::Database(sqlite) = &err else {
            panic!("expected a database error, got {err:?}");
        };
        assert_eq!(sqlite.to_string(), "no such table: orders");
    }
}
