//! How entries are found: filters shared by search, list and count, a
//! vector query with its top-k and threshold, and the counts per tier.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entry::{check_name, ContextEntry, Kind, ModelSpec, Tier};
use super::vector;
use crate::error::{Error, Result};
use crate::setters::setters;

/// The most results one search may ask for.
pub const MAX_K: usize = 1000;

/// Which entries an operation considers. Empty lists and `None` mean any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Only this agent's entries.
    pub agent: Option<String>,
    /// Only this session's entries.
    pub session: Option<String>,
    /// Only these tiers.
    pub tiers: Vec<Tier>,
    /// Only these kinds.
    pub kinds: Vec<Kind>,
    /// Only entries created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only entries created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Only pinned (`Some(true)`) or unpinned (`Some(false)`) entries.
    pub pinned: Option<bool>,
    /// List and count only: entries last accessed before this time.
    pub accessed_before: Option<DateTime<Utc>>,
    /// List and count only: entries at least this important.
    pub min_importance: Option<f32>,
    /// List and count only: entries less important than this.
    pub below_importance: Option<f32>,
    /// List and count only: entries found or used at least this often.
    pub min_access_count: Option<u64>,
}

impl Filter {
    /// Every entry.
    pub fn any() -> Self {
        Self::default()
    }

    setters! {
        /// Only this agent's entries.
        agent(agent: impl Into<String>) => Some(agent.into());
        /// Only this session's entries.
        session(session: impl Into<String>) => Some(session.into());
    }

    /// Adds a tier to those allowed.
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tiers.push(tier);
        self
    }

    /// Adds a kind to those allowed.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Only entries created in `[after, before)`.
    pub fn created_between(mut self, after: DateTime<Utc>, before: DateTime<Utc>) -> Self {
        self.created_after = Some(after);
        self.created_before = Some(before);
        self
    }

    setters! {
        /// Only entries last accessed before `at`.
        accessed_before(at: DateTime<Utc>) => Some(at);
        /// Only pinned or unpinned entries.
        pinned(pinned: bool) => Some(pinned);
        /// Only entries at least this important (list and count only).
        min_importance(importance: f32) => Some(importance);
        /// Only entries less important than this (list and count only).
        below_importance(importance: f32) => Some(importance);
        /// Only entries used at least this often (list and count only).
        min_access_count(count: u64) => Some(count);
    }

    /// True when a field that searches cannot apply is set: searches rank
    /// an index of vectors and filter fields, which holds neither access
    /// times, importance nor access counts.
    pub fn has_list_only_fields(&self) -> bool {
        self.accessed_before.is_some()
            || self.min_importance.is_some()
            || self.below_importance.is_some()
            || self.min_access_count.is_some()
    }

    /// True when nothing but the model narrows a search: the index alone
    /// answers it.
    pub fn is_empty(&self) -> bool {
        self.agent.is_none()
            && self.session.is_none()
            && self.tiers.is_empty()
            && self.kinds.is_empty()
            && self.created_after.is_none()
            && self.created_before.is_none()
            && self.pinned.is_none()
            && !self.has_list_only_fields()
    }

    /// Checks the names in it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad agent or session name.
    pub(crate) fn check(&self) -> Result<()> {
        check_name("agent", self.agent.as_deref())?;
        check_name("session", self.session.as_deref())?;
        for (what, v) in [
            ("min_importance", self.min_importance),
            ("below_importance", self.below_importance),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::invalid(format!("{what} {v} is outside [0, 1]")));
                }
            }
        }
        Ok(())
    }

    /// Whether `entry` passes, by everything but the model. Stores that
    /// filter in memory use this; SQL stores say the same in SQL.
    pub fn matches(&self, entry: &ContextEntry) -> bool {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        (self.agent.is_none() || self.agent == entry.agent)
            && (self.session.is_none() || self.session == entry.session)
            && (self.tiers.is_empty() || self.tiers.contains(&entry.tier))
            && (self.kinds.is_empty() || self.kinds.contains(&entry.kind))
            && self
                .created_after
                .is_none_or(|t| ms(entry.created_at) >= ms(t))
            && self
                .created_before
                .is_none_or(|t| ms(entry.created_at) < ms(t))
            && self
                .accessed_before
                .is_none_or(|t| ms(entry.accessed_at) < ms(t))
            && self.pinned.is_none_or(|p| p == entry.pinned)
            && self.min_importance.is_none_or(|i| entry.importance >= i)
            && self.below_importance.is_none_or(|i| entry.importance < i)
            && self
                .min_access_count
                .is_none_or(|n| entry.access_count >= n)
    }
}

/// A nearest-neighbour search.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorQuery {
    /// The query vector, of the store's dimension. Stores normalise it.
    pub vector: Vec<f32>,
    /// How many results at most (1–[`MAX_K`]).
    pub k: usize,
    /// Only results at least this similar (cosine, in [-1, 1]).
    pub min_similarity: Option<f32>,
    /// Which entries to consider.
    pub filter: Filter,
}

impl VectorQuery {
    /// The `k` nearest entries to `vector`, unfiltered, any similarity.
    pub fn new(vector: Vec<f32>, k: usize) -> Self {
        VectorQuery {
            vector,
            k,
            min_similarity: None,
            filter: Filter::default(),
        }
    }

    setters! {
        /// Only results at least this similar.
        min_similarity(threshold: f32) => Some(threshold);
        /// Only entries passing `filter`.
        filter(filter: Filter);
    }

    /// Checks the query and returns its unit vector.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a vector of the wrong dimension or with a
    /// non-finite component, `k` outside 1–[`MAX_K`], a threshold outside
    /// [-1, 1], a bad name in the filter, or a list-only filter field.
    pub(crate) fn checked_vector(&self, model: &ModelSpec) -> Result<Vec<f32>> {
        if self.filter.has_list_only_fields() {
            return Err(Error::invalid(
                "searches cannot filter by access time, importance or access count: \
                 list and count can",
            ));
        }
        if self.k == 0 || self.k > MAX_K {
            return Err(Error::invalid(format!(
                "k = {} is outside 1-{MAX_K}",
                self.k
            )));
        }
        if let Some(t) = self.min_similarity {
            check_threshold(t)?;
        }
        self.filter.check()?;
        let mut v = self.vector.clone();
        vector::check(&v, model.dimension)?;
        vector::normalize(&mut v)?;
        Ok(v)
    }
}

/// Checks a similarity threshold: cosine similarity lies in [-1, 1].
///
/// # Errors
/// [`Error::InvalidInput`] for anything else, NaN included.
pub fn check_threshold(t: f32) -> Result<()> {
    if !(-1.0..=1.0).contains(&t) {
        return Err(Error::invalid(format!(
            "similarity threshold {t} is outside [-1, 1]"
        )));
    }
    Ok(())
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The entry found.
    pub entry: ContextEntry,
    /// Its cosine similarity to the query, in [-1, 1].
    pub similarity: f32,
}

/// How many entries each tier holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCounts {
    /// Short-term entries.
    pub short: u64,
    /// Medium-term entries.
    pub medium: u64,
    /// Long-term entries.
    pub long: u64,
}

impl TierCounts {
    /// All tiers together.
    pub fn total(&self) -> u64 {
        self.short + self.medium + self.long
    }

    /// The count of one tier.
    pub fn of(&self, tier: Tier) -> u64 {
        match tier {
            Tier::Short => self.short,
            Tier::Medium => self.medium,
            Tier::Long => self.long,
        }
    }

    /// Counts from SQL rows of (tier code, count).
    ///
    /// # Errors
    /// [`Error::Backend`] for a tier code no build of hive wrote.
    pub(crate) fn from_rows(rows: Vec<(i64, i64)>, backend: &'static str) -> Result<Self> {
        let mut counts = TierCounts::default();
        for (tier, n) in rows {
            counts.add(
                Tier::from_code(tier, backend)?,
                u64::try_from(n).unwrap_or(0),
            );
        }
        Ok(counts)
    }

    /// Adds `n` to one tier.
    pub(crate) fn add(&mut self, tier: Tier, n: u64) {
        match tier {
            Tier::Short => self.short += n,
            Tier::Medium => self.medium += n,
            Tier::Long => self.long += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_queries_say_what_is_wrong() {
        let model = ModelSpec::new("m", 2).expect("model");
        let ok = VectorQuery::new(vec![1.0, 1.0], 5);
        let v = ok.checked_vector(&model).expect("valid");
        assert!((v[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        let cases = [
            (VectorQuery::new(vec![1.0, 1.0], 0), "k = 0"),
            (VectorQuery::new(vec![1.0, 1.0], MAX_K + 1), "k = 1001"),
            (ok.clone().min_similarity(1.5), "threshold 1.5"),
            (ok.clone().min_similarity(f32::NAN), "threshold NaN"),
            (VectorQuery::new(vec![1.0], 1), "has 1 dimensions"),
            (VectorQuery::new(vec![1.0, f32::NAN], 1), "NaN"),
            (ok.clone().filter(Filter::any().agent("")), "agent name"),
            (
                ok.clone().filter(Filter::any().min_access_count(2)),
                "list and count can",
            ),
            (
                ok.clone().filter(Filter::any().min_importance(1.5)),
                "list and count can",
            ),
        ];
        for (q, expected) in cases {
            let err = q.checked_vector(&model).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
    }

    #[test]
    fn counts_add_up() {
        let mut c = TierCounts::default();
        c.add(Tier::Short, 2);
        c.add(Tier::Long, 3);
        assert_eq!(
            (c.total(), c.of(Tier::Short), c.of(Tier::Medium)),
            (5, 2, 0)
        );
        assert!(Filter::any().is_empty());
        assert!(!Filter::any().pinned(true).is_empty());
    }
}
