//! [`OrderMix`]: what each load order asks for.

use crate::services::api::PlaceOrder;

use super::config::{APPROVED_CARD, DECLINED_CARD, LoadConfig};

/// Picks an item uniformly, one unit, and the declined card for a share of orders.
#[derive(Debug, Clone)]
pub struct OrderMix {
    skus: Vec<String>,
    decline_rate: f64,
}

impl OrderMix {
    /// The mix of `config`.
    pub fn new(config: &LoadConfig) -> Self {
        Self {
            skus: config.skus.clone(),
            decline_rate: config.decline_rate,
        }
    }

    /// The next order, drawn from `rng`.
    pub fn next(&self, rng: &mut fastrand::Rng) -> PlaceOrder {
        let sku = self.skus[rng.usize(..self.skus.len())].clone();
        let declined = rng.f64() < self.decline_rate;
        PlaceOrder {
            sku,
            // One unit: the seeded stock lasts through a day of load.
            quantity: 1,
            card_number: if declined {
                DECLINED_CARD
            } else {
                APPROVED_CARD
            }
            .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decline_share_and_the_skus_follow_the_config() {
        let config = LoadConfig::new("http://x").decline_rate(0.25);
        let mix = OrderMix::new(&config);
        let mut rng = fastrand::Rng::with_seed(7);
        let orders: Vec<PlaceOrder> = (0..4_000).map(|_| mix.next(&mut rng)).collect();
        let declined = orders
            .iter()
            .filter(|o| o.card_number == DECLINED_CARD)
            .count();
        assert!(
            (800..1_200).contains(&declined),
            "{declined} of 4000 declined"
        );
        for sku in &config.skus {
            assert!(orders.iter().any(|o| &o.sku == sku), "{sku} never ordered");
        }
    }
}
