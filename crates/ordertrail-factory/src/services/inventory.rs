//! inventory: a seeded catalog, and reservations against its stock.
//!
//! A reservation takes stock away at once (`held`); dispatch `commit`s it, a declined payment
//! `release`s it back. Both are idempotent, so a retried call does no harm.
//!
//! Only what can still change is kept for good: `held` reservations. A finished one moves to
//! a bounded memory of the last [`RECENT_FINISHED`], which is what makes retries answer as
//! before; so memory stays flat however many orders pass.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::api::{CatalogItem, Reservation, Reserve};
use crate::web::{AppError, AppJson, AppPath};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::web::instrument;

/// The items every inventory starts with: (sku, name, price in cents, stock).
pub const SEED: [(&str, &str, u64, u32); 5] = [
    ("mug-classic", "Classic mug", 1_200, 100_000),
    ("tee-logo", "Logo tee", 2_500, 100_000),
    ("beans-espresso", "Espresso beans, 1 kg", 1_800, 100_000),
    ("sticker-pack", "Sticker pack", 400, 1_000_000),
    ("poster-limited", "Limited poster", 9_900, 3),
];

/// How many finished (committed or released) reservations inventory remembers: the window in
/// which a retried `commit` or `release`, or a repeated `reserve`, answers as before.
///
/// One inventory process serves at most about 1,000 orders a second, so the window is at least
/// five seconds, and minutes at everyday rates; the orders service itself never retries these
/// calls. Older ones are forgotten: a `commit` or `release` for them answers 404, and a
/// `reserve` with their order id takes stock again, as for a new order. Each costs a few
/// hundred bytes, so the whole window stays near 2 MiB.
pub const RECENT_FINISHED: usize = 5_000;

/// Shared stock and reservations.
#[derive(Debug, Clone, Default)]
pub struct InventoryState {
    inner: Arc<Mutex<Stock>>,
}

/// The catalog and its reservations. Memory stays bounded under any number of orders: only
/// `held` reservations (at most one per order in flight) and the last [`RECENT_FINISHED`]
/// finished ones are kept.
#[derive(Debug, Default)]
struct Stock {
    items: BTreeMap<String, CatalogItem>,
    /// Reservations still `held`: the only ones that can change.
    held: HashMap<String, Reservation>,
    /// The last finished ones, so retries answer as before.
    finished: Recent,
}

/// Why stock could not be reserved or a reservation not finished. Mapped to the HTTP answer
/// at the handler edge (`services::edge`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StockError {
    /// The catalog has no item with this sku.
    #[error("unknown sku {0:?}")]
    UnknownSku(String),
    /// Fewer of the item are left than were asked for.
    #[error("only {available} of {sku} left")]
    OutOfStock {
        /// The item.
        sku: String,
        /// How many are left.
        available: u32,
    },
    /// The reservation already ended the other way (`committed` or `released`).
    #[error("reservation already {state}")]
    AlreadyFinished {
        /// How it ended.
        state: String,
    },
    /// No reservation is held for the order, nor recently finished.
    #[error("no reservation for order {0}")]
    NoReservation(String),
}

/// Where a `held` reservation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Dispatched: the stock is gone for good.
    Committed,
    /// Given back: the stock returns to the catalog.
    Released,
}

impl Outcome {
    fn state(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Released => "released",
        }
    }
}

/// The last `capacity` finished reservations by order id; the oldest goes first.
#[derive(Debug)]
struct Recent {
    capacity: usize,
    by_order: HashMap<String, Reservation>,
    oldest_first: VecDeque<String>,
}

impl Default for Recent {
    fn default() -> Self {
        Self::new(RECENT_FINISHED)
    }
}

impl Recent {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            by_order: HashMap::with_capacity(capacity),
            oldest_first: VecDeque::with_capacity(capacity),
        }
    }

    fn get(&self, order_id: &str) -> Option<&Reservation> {
        self.by_order.get(order_id)
    }

    /// Remembers `reservation`, forgetting the oldest one when full. Each order id finishes
    /// once (a reservation leaves `held` once), so the queue holds no duplicates.
    fn insert(&mut self, reservation: Reservation) {
        while self.oldest_first.len() >= self.capacity.max(1) {
            if let Some(old) = self.oldest_first.pop_front() {
                self.by_order.remove(&old);
            }
        }
        self.oldest_first.push_back(reservation.order_id.clone());
        self.by_order
            .insert(reservation.order_id.clone(), reservation);
    }
}

impl Stock {
    fn seeded(finished: Recent) -> Self {
        let items = SEED
            .iter()
            .map(|&(sku, name, price_cents, stock)| {
                let item = CatalogItem {
                    sku: sku.into(),
                    name: name.into(),
                    price_cents,
                    stock,
                };
                (sku.to_owned(), item)
            })
            .collect();
        Self {
            items,
            held: HashMap::new(),
            finished,
        }
    }

    /// The reservation for `order_id`, held or recently finished.
    fn find(&self, order_id: &str) -> Option<&Reservation> {
        self.held
            .get(order_id)
            .or_else(|| self.finished.get(order_id))
    }

    /// Takes stock for a new `held` reservation (the caller checked `order_id` has none).
    fn reserve(&mut self, order_id: &str, body: Reserve) -> Result<Reservation, StockError> {
        let Some(item) = self.items.get_mut(&body.sku) else {
            return Err(StockError::UnknownSku(body.sku));
        };
        tracing::debug!(
            available = item.stock,
            wanted = body.quantity,
            price_cents = item.price_cents,
            "stock looked up"
        );
        if item.stock < body.quantity {
            return Err(StockError::OutOfStock {
                sku: body.sku,
                available: item.stock,
            });
        }
        item.stock -= body.quantity;
        let reservation = Reservation {
            order_id: order_id.to_owned(),
            sku: body.sku,
            quantity: body.quantity,
            amount_cents: item.price_cents * u64::from(body.quantity),
            state: "held".into(),
        };
        tracing::info!(remaining = item.stock, "stock reserved");
        self.held.insert(order_id.to_owned(), reservation.clone());
        Ok(reservation)
    }

    /// Ends a `held` reservation with `outcome` (idempotent: the same outcome again answers
    /// the finished reservation; the other one is a conflict).
    fn finish(&mut self, order_id: &str, outcome: Outcome) -> Result<Reservation, StockError> {
        if let Some(done) = self.finished.get(order_id) {
            if done.state == outcome.state() {
                return Ok(done.clone());
            }
            let state = done.state.clone();
            return Err(StockError::AlreadyFinished { state });
        }
        tracing::debug!(
            held = self.held.len(),
            outcome = outcome.state(),
            "finishing reservation"
        );
        let mut reservation = self
            .held
            .remove(order_id)
            .ok_or_else(|| StockError::NoReservation(order_id.to_owned()))?;
        if outcome == Outcome::Released
            && let Some(item) = self.items.get_mut(&reservation.sku)
        {
            item.stock += reservation.quantity;
        }
        reservation.state = outcome.state().into();
        let (sku, quantity) = (&reservation.sku, reservation.quantity);
        match outcome {
            Outcome::Committed => tracing::info!(%sku, quantity, "reservation committed"),
            Outcome::Released => tracing::info!(%sku, quantity, "reservation released"),
        }
        self.finished.insert(reservation.clone());
        Ok(reservation)
    }
}

impl InventoryState {
    /// An inventory holding [`SEED`].
    pub fn seeded() -> Self {
        Self::from_stock(Stock::seeded(Recent::default()))
    }

    fn from_stock(stock: Stock) -> Self {
        Self {
            inner: Arc::new(Mutex::new(stock)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Stock> {
        // A panic while holding the lock leaves consistent data (every update is one step).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `GET /catalog`, `POST /reservations/{order_id}`, `.../release`, `.../commit`, `GET /healthz`.
pub fn router(state: InventoryState) -> Router {
    let routes = Router::new()
        .route("/catalog", get(catalog))
        .route("/reservations/{order_id}", post(reserve))
        .route("/reservations/{order_id}/release", post(release))
        .route("/reservations/{order_id}/commit", post(commit))
        .with_state(state);
    instrument(routes, CorrelationLayer::new().service("inventory"))
}

async fn catalog(State(state): State<InventoryState>) -> Json<Vec<CatalogItem>> {
    Json(state.lock().items.values().cloned().collect())
}

#[tracing::instrument(name = "reserve", skip_all, fields(order_id = %order_id, sku = %body.sku, quantity = body.quantity))]
async fn reserve(
    State(state): State<InventoryState>,
    AppPath(order_id): AppPath<String>,
    AppJson(body): AppJson<Reserve>,
) -> Result<(StatusCode, Json<Reservation>), AppError> {
    let mut stock = state.lock();
    if let Some(existing) = stock.find(&order_id) {
        return Ok((StatusCode::OK, Json(existing.clone())));
    }
    let reservation = stock.reserve(&order_id, body)?;
    Ok((StatusCode::CREATED, Json(reservation)))
}

#[tracing::instrument(name = "release", skip_all, fields(order_id = %order_id))]
async fn release(
    State(state): State<InventoryState>,
    AppPath(order_id): AppPath<String>,
) -> Result<Json<Reservation>, AppError> {
    Ok(Json(state.lock().finish(&order_id, Outcome::Released)?))
}

#[tracing::instrument(name = "commit", skip_all, fields(order_id = %order_id))]
async fn commit(
    State(state): State<InventoryState>,
    AppPath(order_id): AppPath<String>,
) -> Result<Json<Reservation>, AppError> {
    Ok(Json(state.lock().finish(&order_id, Outcome::Committed)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: usize = 100;

    fn stock() -> Stock {
        Stock::seeded(Recent::new(WINDOW))
    }

    fn one_mug() -> Reserve {
        Reserve {
            sku: "mug-classic".into(),
            quantity: 1,
        }
    }

    fn mugs_left(stock: &Stock) -> u32 {
        stock.items["mug-classic"].stock
    }

    /// `cycles` orders reserved then finished with `outcome`, ids `order-0`, `order-1`, ...
    fn run(stock: &mut Stock, cycles: usize, outcome: Outcome) {
        for n in 0..cycles {
            let id = format!("order-{n}");
            stock.reserve(&id, one_mug()).expect("reserve");
            stock.finish(&id, outcome).expect("finish");
        }
    }

    #[test]
    fn committed_reservations_leave_memory_beyond_the_window() {
        let mut stock = stock();
        run(&mut stock, 50 * WINDOW, Outcome::Committed);
        assert!(stock.held.is_empty());
        assert_eq!(stock.finished.by_order.len(), WINDOW);
        assert_eq!(stock.finished.oldest_first.len(), WINDOW);
        assert_eq!(mugs_left(&stock), 100_000 - 50 * 100);
    }

    #[test]
    fn released_reservations_leave_memory_and_give_stock_back() {
        let mut stock = stock();
        run(&mut stock, 50 * WINDOW, Outcome::Released);
        assert!(stock.held.is_empty());
        assert_eq!(stock.finished.by_order.len(), WINDOW);
        assert_eq!(mugs_left(&stock), 100_000);
    }

    #[test]
    fn the_default_window_is_recent_finished() {
        let mut stock = Stock::seeded(Recent::default());
        run(&mut stock, RECENT_FINISHED + 500, Outcome::Committed);
        assert_eq!(stock.finished.by_order.len(), RECENT_FINISHED);
    }

    #[test]
    fn retries_within_the_window_answer_as_before() {
        let mut stock = stock();
        run(&mut stock, WINDOW, Outcome::Committed);
        let oldest = "order-0";
        let again = stock
            .finish(oldest, Outcome::Committed)
            .expect("commit again");
        assert_eq!(again.state, "committed");
        let conflict = stock.finish(oldest, Outcome::Released);
        assert!(
            matches!(&conflict, Err(StockError::AlreadyFinished { state }) if state == "committed"),
            "{conflict:?}"
        );
        assert_eq!(
            stock.find(oldest).map(|r| r.state.as_str()),
            Some("committed")
        );
    }

    #[test]
    fn a_retry_beyond_the_window_is_not_found() {
        let mut stock = stock();
        run(&mut stock, WINDOW + 1, Outcome::Released);
        let forgotten = stock.finish("order-0", Outcome::Released);
        assert!(
            matches!(&forgotten, Err(StockError::NoReservation(id)) if id == "order-0"),
            "{forgotten:?}"
        );
        assert!(stock.finish("order-1", Outcome::Released).is_ok());
    }

    #[test]
    fn an_unknown_sku_or_too_few_left_is_refused_and_takes_no_stock() {
        let mut stock = stock();
        let nope = Reserve {
            sku: "nope".into(),
            quantity: 1,
        };
        let unknown = stock.reserve("order-1", nope);
        assert!(
            matches!(&unknown, Err(StockError::UnknownSku(sku)) if sku == "nope"),
            "{unknown:?}"
        );
        let posters = Reserve {
            sku: "poster-limited".into(),
            quantity: 4,
        };
        let short = stock.reserve("order-2", posters);
        assert!(
            matches!(&short, Err(StockError::OutOfStock { available: 3, .. })),
            "{short:?}"
        );
        assert!(stock.held.is_empty());
        assert_eq!(stock.items["poster-limited"].stock, 3);
    }

    #[test]
    fn held_reservations_are_never_forgotten() {
        let mut stock = stock();
        stock.reserve("kept", one_mug()).expect("reserve");
        run(&mut stock, 10 * WINDOW, Outcome::Committed);
        assert_eq!(stock.held.len(), 1);
        let committed = stock.finish("kept", Outcome::Committed).expect("commit");
        assert_eq!(committed.state, "committed");
    }
}
