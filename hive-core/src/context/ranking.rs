//! How the engine ranks what a search finds: similarity, recency and
//! importance, weighed together.
//!
//! A store answers by similarity alone. What an agent should see first is
//! also what it used lately and what matters: the score is
//!
//! ```text
//! score = w_s · max(similarity, 0) + w_r · 0.5^(age / half_life) + w_i · importance
//! ```
//!
//! with `age` the time since the entry was last found or used, and by
//! default `w_s = 0.5`, `w_r = 0.3`, `w_i = 0.2` and a 30-day half-life
//! (the starting point of the design notes, after the Generative Agents
//! retrieval function). The engine asks the store for more candidates than
//! it returns (`oversample`), so a recent or important entry a little less
//! similar than the k-th can still rise into the top k.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entry::ContextEntry;
use super::query::MAX_K;
use crate::error::{Error, Result};

/// The ranking of [`ContextEngine::search`](super::ContextEngine::search).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SemanticSearch {
    /// Weight of cosine similarity (negative similarity counts as 0).
    pub similarity_weight: f32,
    /// Weight of recency.
    pub recency_weight: f32,
    /// Weight of importance.
    pub importance_weight: f32,
    /// After this long without use, recency counts half.
    #[serde(with = "crate::time::millis")]
    pub half_life: Duration,
    /// Candidates fetched per result wanted, before ranking (at least 1).
    pub oversample: usize,
}

impl Default for SemanticSearch {
    fn default() -> Self {
        SemanticSearch {
            similarity_weight: 0.5,
            recency_weight: 0.3,
            importance_weight: 0.2,
            half_life: Duration::from_secs(30 * 24 * 3600),
            oversample: 4,
        }
    }
}

impl SemanticSearch {
    /// Ranking by similarity only: what the store answers.
    pub fn similarity_only() -> Self {
        SemanticSearch {
            similarity_weight: 1.0,
            recency_weight: 0.0,
            importance_weight: 0.0,
            oversample: 1,
            ..Self::default()
        }
    }

    /// Checks the weights and half-life.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a negative or non-finite weight, weights
    /// that are all zero, a zero half-life or a zero oversample.
    pub fn check(&self) -> Result<()> {
        let weights = [
            self.similarity_weight,
            self.recency_weight,
            self.importance_weight,
        ];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::invalid(format!(
                "ranking weights must be finite and not negative, got {weights:?}"
            )));
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err(Error::invalid("ranking weights are all zero"));
        }
        if self.half_life.is_zero() {
            return Err(Error::invalid("the recency half-life must not be zero"));
        }
        if self.oversample == 0 {
            return Err(Error::invalid("oversample must be at least 1"));
        }
        Ok(())
    }

    /// How many candidates to fetch for `k` results.
    pub fn candidates(&self, k: usize) -> usize {
        k.saturating_mul(self.oversample).clamp(k, MAX_K.max(k))
    }

    /// Recency in (0, 1]: 1 when used just now, ½ one half-life ago.
    pub fn recency(&self, last_used: DateTime<Utc>, now: DateTime<Utc>) -> f32 {
        let age = (now - last_used).num_milliseconds().max(0) as f64;
        let half = self.half_life.as_millis().max(1) as f64;
        0.5_f64.powf(age / half) as f32
    }

    /// The score of `entry` found with `similarity`, at `now`.
    pub fn score(&self, entry: &ContextEntry, similarity: f32, now: DateTime<Utc>) -> f32 {
        self.similarity_weight * similarity.max(0.0)
            + self.recency_weight * self.recency(entry.accessed_at, now)
            + self.importance_weight * entry.importance
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration as Span;

    use super::*;
    use crate::context::{EntryId, Kind, Tier};

    fn entry(importance: f32, last_used: DateTime<Utc>) -> ContextEntry {
        ContextEntry {
            id: EntryId::new(),
            content: "x".into(),
            embedding: vec![1.0],
            model: "m".into(),
            agent: None,
            session: None,
            kind: Kind::note(),
            tier: Tier::Medium,
            importance,
            pinned: false,
            metadata: serde_json::json!({}),
            created_at: last_used,
            accessed_at: last_used,
            access_count: 0,
        }
    }

    #[test]
    fn recency_halves_every_half_life() {
        let r = SemanticSearch::default();
        let now = Utc::now();
        assert!((r.recency(now, now) - 1.0).abs() < 1e-6);
        assert!((r.recency(now - Span::days(30), now) - 0.5).abs() < 1e-4);
        assert!((r.recency(now - Span::days(60), now) - 0.25).abs() < 1e-4);
        assert!((r.recency(now + Span::days(1), now) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_score_weighs_the_three_parts() {
        let r = SemanticSearch::default();
        let now = Utc::now();
        let fresh = entry(1.0, now);
        assert!((r.score(&fresh, 1.0, now) - 1.0).abs() < 1e-5);
        let old = entry(0.0, now - Span::days(30));
        assert!((r.score(&old, 0.8, now) - (0.4 + 0.15)).abs() < 1e-4);
        assert!((r.score(&old, -0.5, now) - 0.15).abs() < 1e-4);
        // A fresh, important entry outranks a slightly more similar stale one.
        let stale = entry(0.1, now - Span::days(300));
        assert!(r.score(&fresh, 0.7, now) > r.score(&stale, 0.75, now));
        let only = SemanticSearch::similarity_only();
        assert!(only.score(&fresh, 0.7, now) < only.score(&stale, 0.75, now));
    }

    #[test]
    fn bad_rankings_are_refused() {
        assert!(SemanticSearch::default().check().is_ok());
        let bad = [
            SemanticSearch {
                recency_weight: -0.1,
                ..Default::default()
            },
            SemanticSearch {
                similarity_weight: 0.0,
                recency_weight: 0.0,
                importance_weight: 0.0,
                ..Default::default()
            },
            SemanticSearch {
                half_life: Duration::ZERO,
                ..Default::default()
            },
            SemanticSearch {
                oversample: 0,
                ..Default::default()
            },
        ];
        for r in bad {
            assert!(r.check().is_err(), "{r:?}");
        }
        assert_eq!(SemanticSearch::default().candidates(10), 40);
        assert_eq!(SemanticSearch::default().candidates(900), 1000);
    }
}
