//! What model calls cost: dollars per million input and output tokens, per
//! model id, with the list prices of common models built in and room for
//! the caller's own (a private deployment, a discount, a new model).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Usage;

/// Dollars per million tokens of one model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Per million prompt tokens.
    pub input_per_mtok: f64,
    /// Per million answer tokens.
    pub output_per_mtok: f64,
}

/// Prices by model id. A model is priced by the longest known id that its
/// own id starts with, so `claude-sonnet-4-20250514` finds
/// `claude-sonnet-4`. Unknown models have no price (and no cost).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    prices: BTreeMap<String, ModelPrice>,
}

impl Pricing {
    /// No prices at all.
    pub fn none() -> Self {
        Pricing::default()
    }

    /// List prices (USD) of common models as published in 2025; check
    /// them against your provider's page before relying on them.
    pub fn list_prices() -> Self {
        let table: [(&str, f64, f64); 10] = [
            ("claude-opus-4", 15.0, 75.0),
            ("claude-sonnet-4", 3.0, 15.0),
            ("claude-3-7-sonnet", 3.0, 15.0),
            ("claude-3-5-sonnet", 3.0, 15.0),
            ("claude-3-5-haiku", 0.8, 4.0),
            ("claude-haiku-4", 1.0, 5.0),
            ("gpt-4o-mini", 0.15, 0.6),
            ("gpt-4o", 2.5, 10.0),
            ("gpt-4.1-mini", 0.4, 1.6),
            ("gpt-4.1", 2.0, 8.0),
        ];
        let mut p = Pricing::none();
        for (model, input, output) in table {
            p = p.with(model, input, output);
        }
        p
    }

    /// Adds or replaces a model's price.
    pub fn with(mut self, model: &str, input_per_mtok: f64, output_per_mtok: f64) -> Self {
        self.prices.insert(
            model.to_string(),
            ModelPrice {
                input_per_mtok,
                output_per_mtok,
            },
        );
        self
    }

    /// The price of `model`, if known.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.prices
            .iter()
            .filter(|(id, _)| model.starts_with(id.as_str()))
            .max_by_key(|(id, _)| id.len())
            .map(|(_, p)| *p)
    }

    /// What `usage` of `model` cost, if its price is known.
    pub fn cost(&self, model: &str, usage: Usage) -> Option<f64> {
        self.price(model).map(|p| {
            (usage.input_tokens as f64 * p.input_per_mtok
                + usage.output_tokens as f64 * p.output_per_mtok)
                / 1_000_000.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_id_prices_a_model() {
        let p = Pricing::list_prices();
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
        };
        assert_eq!(p.cost("claude-sonnet-4-20250514", usage), Some(4.5));
        // gpt-4o-mini is not priced as gpt-4o.
        let mini = p.cost("gpt-4o-mini-2024-07-18", usage).unwrap_or_default();
        assert!((mini - 0.21).abs() < 1e-9, "{mini}");
        assert_eq!(p.cost("llama3.2", usage), None);
        assert_eq!(
            Pricing::none()
                .with("llama3.2", 1.0, 1.0)
                .cost("llama3.2:8b", usage),
            Some(1.1)
        );
    }
}
