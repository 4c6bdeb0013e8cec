//! [`LoadConfig`]: what a load run does and when it stops, checked once.

use std::time::Duration;

/// The items of the seeded catalog that load orders pick from, uniformly.
pub const DEFAULT_SKUS: [&str; 4] = ["mug-classic", "tee-logo", "beans-espresso", "sticker-pack"];

/// The card payments approves.
pub const APPROVED_CARD: &str = "4242 4242 4242 4242";

/// The card payments always declines (402).
pub const DECLINED_CARD: &str = "4000 0000 0000 0002";

/// Orders placed when neither a count nor a duration is given.
pub const DEFAULT_ORDERS: u64 = 100;

/// The most orders of any run, whatever the rate and duration.
pub const DEFAULT_MAX_ORDERS: u64 = 1_000_000;

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadConfigError {
    /// The gateway URL does not parse or is not http(s).
    #[error("--gateway must be an http:// or https:// URL, got {0:?}")]
    Gateway(String),
    /// A count that must be positive is zero.
    #[error("--{0} must be more than 0")]
    Zero(&'static str),
    /// `--rate` is not a positive finite number.
    #[error("--rate must be a positive number of orders per second, got {0}")]
    Rate(f64),
    /// `--decline-rate` is outside 0.0..=1.0.
    #[error("--decline-rate must be between 0.0 and 1.0, got {0}")]
    DeclineRate(f64),
    /// No item to order.
    #[error("at least one SKU is needed")]
    NoSkus,
}

/// A load run. Build it with [`LoadConfig::new`] and the setters, then [`check`](Self::check).
///
/// It stops at whichever comes first: `orders` placed, `duration` elapsed, or `max_orders`;
/// with neither `orders` nor `duration` it places [`DEFAULT_ORDERS`]. Every request has a
/// `timeout`, so a run is bounded in time even against a stuck gateway.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoadConfig {
    /// Base URL of the gateway.
    pub gateway: String,
    /// Stop after this many orders.
    pub orders: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Orders in flight at once.
    pub concurrency: usize,
    /// Orders started per second, over all workers; `None`: as fast as they answer.
    pub rate: Option<f64>,
    /// Share of orders paid with [`DECLINED_CARD`].
    pub decline_rate: f64,
    /// Hard cap on the orders of the run.
    pub max_orders: u64,
    /// Timeout of one order.
    pub timeout: Duration,
    /// What to order, picked uniformly.
    pub skus: Vec<String>,
    /// Seed of the random choices, for a repeatable mix.
    pub seed: u64,
    /// Shipping's base URL: after the run, the confirmed orders' time from order to shipped
    /// is read there (see [`Shipped`](super::Shipped)); `None`: not measured.
    pub shipping: Option<String>,
}

impl LoadConfig {
    /// Defaults against `gateway`: 8 workers, no rate limit, 10 % declined, 10 s timeout.
    pub fn new(gateway: impl Into<String>) -> Self {
        Self {
            gateway: gateway.into(),
            orders: None,
            duration: None,
            concurrency: 8,
            rate: None,
            decline_rate: 0.1,
            max_orders: DEFAULT_MAX_ORDERS,
            timeout: Duration::from_secs(10),
            skus: DEFAULT_SKUS.iter().map(|s| (*s).to_owned()).collect(),
            seed: 0x6f72_6465_7273,
            shipping: None,
        }
    }

    /// Measures the time from order to shipped at shipping's base URL `url` after the run.
    #[must_use]
    pub fn shipping(mut self, url: impl Into<String>) -> Self {
        self.shipping = Some(url.into());
        self
    }

    /// Stops after `orders`.
    #[must_use]
    pub fn orders(mut self, orders: u64) -> Self {
        self.orders = Some(orders);
        self
    }

    /// Stops after `duration`.
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Runs `concurrency` workers.
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Starts at most `rate` orders per second.
    #[must_use]
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Pays `share` of the orders with the declined card.
    #[must_use]
    pub fn decline_rate(mut self, share: f64) -> Self {
        self.decline_rate = share;
        self
    }

    /// Caps the run at `max` orders.
    #[must_use]
    pub fn max_orders(mut self, max: u64) -> Self {
        self.max_orders = max;
        self
    }

    /// Gives each order `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Seeds the random choices.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The most orders this run places.
    pub fn order_limit(&self) -> u64 {
        let wanted = match (self.orders, self.duration) {
            (Some(n), _) => n,
            (None, Some(_)) => u64::MAX,
            (None, None) => DEFAULT_ORDERS,
        };
        wanted.min(self.max_orders)
    }

    /// Checks every setting.
    pub fn check(&self) -> Result<(), LoadConfigError> {
        if crate::http_url::parse(&self.gateway).is_none() {
            return Err(LoadConfigError::Gateway(self.gateway.clone()));
        }
        let zeros = [
            ("orders", self.orders == Some(0)),
            ("concurrency", self.concurrency == 0),
            ("max-orders", self.max_orders == 0),
            ("duration", self.duration.is_some_and(|d| d.is_zero())),
            ("timeout", self.timeout.is_zero()),
        ];
        if let Some((flag, _)) = zeros.into_iter().find(|(_, zero)| *zero) {
            return Err(LoadConfigError::Zero(flag));
        }
        if let Some(rate) = self.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
            return Err(LoadConfigError::Rate(rate));
        }
        if !(0.0..=1.0).contains(&self.decline_rate) {
            return Err(LoadConfigError::DeclineRate(self.decline_rate));
        }
        if self.skus.is_empty() {
            return Err(LoadConfigError::NoSkus);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_count_the_default_or_the_cap() {
        let base = LoadConfig::new("http://127.0.0.1:8080");
        assert_eq!(base.order_limit(), DEFAULT_ORDERS);
        assert_eq!(base.clone().orders(50).order_limit(), 50);
        let timed = base.clone().duration(Duration::from_secs(1));
        assert_eq!(timed.order_limit(), DEFAULT_MAX_ORDERS);
        assert_eq!(timed.max_orders(7).order_limit(), 7);
    }

    #[test]
    fn bad_settings_are_refused() {
        let base = LoadConfig::new("http://127.0.0.1:8080");
        assert_eq!(base.check(), Ok(()));
        let err = |c: LoadConfig| c.check().unwrap_err();
        assert_eq!(
            err(base.clone().concurrency(0)),
            LoadConfigError::Zero("concurrency")
        );
        assert_eq!(err(base.clone().rate(-1.0)), LoadConfigError::Rate(-1.0));
        assert_eq!(
            err(base.clone().decline_rate(1.5)),
            LoadConfigError::DeclineRate(1.5)
        );
        assert!(matches!(
            err(LoadConfig::new("gateway:8080")),
            LoadConfigError::Gateway(_)
        ));
    }
}
