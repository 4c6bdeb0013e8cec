//! [`OrderStore`]: orders in one SQLite table. Every statement runs on the blocking pool
//! through [`correlation::spawn_blocking`], in a span named after its operation.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use ordertrail::correlation;
use crate::services::api::{Order, OrderStatus};
use crate::web::AppError;

/// Opening the store failed.
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
    Sqlite(#[from] rusqlite::Error),
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
        Self::setup(Connection::open(path)?)
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Stores a new order.
    pub async fn insert(&self, order: Order) -> Result<(), AppError> {
        self.run("INSERT", move |conn| {
            conn.execute(
                "INSERT INTO orders (order_id, request_id, sku, quantity, amount_cents, card_last4, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    order.order_id,
                    order.request_id,
                    order.sku,
                    order.quantity,
                    order.amount_cents,
                    order.card_last4,
                    order.status.as_str()
                ],
            )
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
    ) -> Result<(), AppError> {
        self.run("UPDATE", move |conn| {
            conn.execute(
                "UPDATE orders SET status = ?2, amount_cents = COALESCE(?3, amount_cents),
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE order_id = ?1",
                params![order_id, status.as_str(), amount_cents],
            )
            .map(drop)
        })
        .await
    }

    /// The order `order_id`, or 404.
    pub async fn get(&self, order_id: String) -> Result<Order, AppError> {
        let id = order_id.clone();
        let found = self
            .run("SELECT", move |conn| {
                conn.query_row(
                    "SELECT order_id, status, sku, quantity, amount_cents, card_last4, request_id
                     FROM orders WHERE order_id = ?1",
                    params![id],
                    row_to_order,
                )
                .optional()
            })
            .await?;
        found.ok_or_else(|| AppError::NotFound(format!("no order {order_id}").into()))
    }

    /// Runs `statement` on the blocking pool, in a `db` span carrying the request id.
    async fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        statement: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, AppError> {
        let conn = Arc::clone(&self.conn);
        let span = tracing::info_span!(
            "db",
            otel.name = format!("{operation} orders"),
            db.system.name = "sqlite",
            db.operation.name = operation,
            db.collection.name = "orders",
        );
        let task = span.in_scope(|| correlation::spawn_blocking(move || statement(&lock(&conn))));
        Ok(task.await??)
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
