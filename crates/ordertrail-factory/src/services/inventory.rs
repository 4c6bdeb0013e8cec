//! inventory: a seeded catalog, and reservations against its stock.
//!
//! A reservation takes stock away at once (`held`); dispatch `commit`s it, a declined payment
//! `release`s it back. Both are idempotent, so a retried call does no harm.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::api::{CatalogItem, Reservation, Reserve};
use crate::web::{AppError, AppJson};
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

/// Shared stock and reservations.
#[derive(Debug, Clone, Default)]
pub struct InventoryState {
    inner: Arc<Mutex<Stock>>,
}

#[derive(Debug, Default)]
struct Stock {
    items: BTreeMap<String, CatalogItem>,
    reservations: HashMap<String, Reservation>,
}

impl InventoryState {
    /// An inventory holding [`SEED`].
    pub fn seeded() -> Self {
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
            inner: Arc::new(Mutex::new(Stock {
                items,
                reservations: HashMap::new(),
            })),
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
    Path(order_id): Path<String>,
    AppJson(body): AppJson<Reserve>,
) -> Result<(StatusCode, Json<Reservation>), AppError> {
    let mut stock = state.lock();
    if let Some(existing) = stock.reservations.get(&order_id) {
        return Ok((StatusCode::OK, Json(existing.clone())));
    }
    let item = stock
        .items
        .get_mut(&body.sku)
        .ok_or_else(|| AppError::NotFound(format!("unknown sku {:?}", body.sku).into()))?;
    if item.stock < body.quantity {
        let message = format!("only {} of {} left", item.stock, body.sku);
        return Err(AppError::Conflict(message.into()));
    }
    item.stock -= body.quantity;
    let reservation = Reservation {
        order_id: order_id.clone(),
        sku: body.sku,
        quantity: body.quantity,
        amount_cents: item.price_cents * u64::from(body.quantity),
        state: "held".into(),
    };
    tracing::info!(remaining = item.stock, "stock reserved");
    stock.reservations.insert(order_id, reservation.clone());
    Ok((StatusCode::CREATED, Json(reservation)))
}

#[tracing::instrument(name = "release", skip_all, fields(order_id = %order_id))]
async fn release(
    State(state): State<InventoryState>,
    Path(order_id): Path<String>,
) -> Result<Json<Reservation>, AppError> {
    let mut stock = state.lock();
    let Stock {
        items,
        reservations,
    } = &mut *stock;
    let reservation = find(reservations, &order_id)?;
    match reservation.state.as_str() {
        "released" => {}
        "committed" => return Err(AppError::Conflict("reservation already committed".into())),
        _ => {
            if let Some(item) = items.get_mut(&reservation.sku) {
                item.stock += reservation.quantity;
            }
            reservation.state = "released".into();
            tracing::info!(sku = %reservation.sku, quantity = reservation.quantity, "reservation released");
        }
    }
    Ok(Json(reservation.clone()))
}

#[tracing::instrument(name = "commit", skip_all, fields(order_id = %order_id))]
async fn commit(
    State(state): State<InventoryState>,
    Path(order_id): Path<String>,
) -> Result<Json<Reservation>, AppError> {
    let mut stock = state.lock();
    let reservation = find(&mut stock.reservations, &order_id)?;
    match reservation.state.as_str() {
        "committed" => {}
        "released" => return Err(AppError::Conflict("reservation already released".into())),
        _ => {
            reservation.state = "committed".into();
            tracing::info!(sku = %reservation.sku, quantity = reservation.quantity, "reservation committed");
        }
    }
    Ok(Json(reservation.clone()))
}

fn find<'a>(
    reservations: &'a mut HashMap<String, Reservation>,
    order_id: &str,
) -> Result<&'a mut Reservation, AppError> {
    reservations
        .get_mut(order_id)
        .ok_or_else(|| AppError::NotFound(format!("no reservation for order {order_id}").into()))
}
