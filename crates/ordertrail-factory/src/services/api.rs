//! The JSON bodies the services exchange, shared by servers and clients.

use serde::{Deserialize, Serialize};

/// `POST /orders` at the gateway and at orders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// What to order (see `GET /catalog`).
    pub sku: String,
    /// How many, 1 to 100.
    pub quantity: u32,
    /// The card to charge: 13 to 19 digits, spaces or dashes allowed, Luhn-valid.
    pub card_number: String,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stored, not yet reserved or charged.
    Pending,
    /// Reserved and charged; dispatch runs in the background.
    Confirmed,
    /// Dispatched: the reservation is committed.
    Dispatched,
    /// The card was declined; the reservation was released.
    Declined,
    /// Refused: unknown item or not enough stock.
    Rejected,
    /// A downstream service failed; any reservation was released.
    Failed,
}

impl OrderStatus {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Dispatched => "dispatched",
            Self::Declined => "declined",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    /// The status stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Confirmed,
            Self::Dispatched,
            Self::Declined,
            Self::Rejected,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Order {
    /// The order id (a UUID v7).
    pub order_id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// What was ordered.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// The total charged, in cents (0 until priced).
    pub amount_cents: u64,
    /// Last four digits of the card.
    pub card_last4: String,
    /// The request id the order was placed with.
    pub request_id: String,
}

/// One line of `GET /catalog`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CatalogItem {
    /// Stock-keeping unit, the item's id.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Unit price in cents.
    pub price_cents: u64,
    /// Units available (not reserved).
    pub stock: u32,
}

/// `POST /reservations/{order_id}` at inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    /// What to reserve.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// A reservation held for an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reservation {
    /// The order it is for.
    pub order_id: String,
    /// What is reserved.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Price of the whole reservation in cents.
    pub amount_cents: u64,
    /// `held`, `committed` or `released`.
    pub state: String,
}

/// `POST /charges/{order_id}` at payments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// Amount in cents.
    pub amount_cents: u64,
    /// Card digits.
    pub card_number: String,
}

/// An approved charge.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    /// The charge id.
    pub charge_id: String,
    /// The order charged.
    pub order_id: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Last four digits of the card.
    pub card_last4: String,
}
