//! Hierarchical memory: the rules that move entries between short-, medium-
//! and long-term memory, and expire what short-term memory no longer needs.
//!
//! | from   | to     | when (defaults)                                                       |
//! |--------|--------|-----------------------------------------------------------------------|
//! | short  | —      | unpinned, unused for `short_ttl` (1 h), used < 3 times, importance < 0.7: **expires** |
//! | short  | medium | unpinned, unused for `short_ttl`, but used ≥ 3 times or importance ≥ 0.7 |
//! | medium | long   | used ≥ 5 times, or importance ≥ 0.8                                    |
//! | long   | medium | unpinned, unused for 90 days and importance < 0.5                      |
//!
//! Pinned entries never expire or fall back. "Used" means found by a
//! search or read through the engine (the store's access count and last
//! access time). The engine runs these rules on
//! [`ContextEngine::maintain`](super::ContextEngine::maintain); a server
//! calls it on a schedule.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entry::{EntryId, Patch, Tier};
use super::query::Filter;
use super::store::ContextStore;
use crate::error::{Error, Result};

/// Entries handled per store call while maintaining.
const BATCH: usize = 500;

/// The promotion, demotion and expiry rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierPolicy {
    /// Unpinned short-term entries unused this long leave short-term memory.
    #[serde(with = "crate::time::millis")]
    pub short_ttl: Duration,
    /// A short-term entry used this often is kept (promoted to medium).
    pub keep_after_uses: u64,
    /// A short-term entry this important is kept (promoted to medium).
    pub keep_importance: f32,
    /// A medium-term entry used this often is promoted to long-term.
    pub promote_after_uses: u64,
    /// A medium-term entry this important is promoted to long-term.
    pub promote_importance: f32,
    /// Unpinned long-term entries unused this long, and less important than
    /// `retain_importance`, fall back to medium-term.
    #[serde(with = "crate::time::millis")]
    pub demote_after: Duration,
    /// Long-term entries at least this important stay, however old.
    pub retain_importance: f32,
}

impl Default for TierPolicy {
    fn default() -> Self {
        TierPolicy {
            short_ttl: Duration::from_secs(3600),
            keep_after_uses: 3,
            keep_importance: 0.7,
            promote_after_uses: 5,
            promote_importance: 0.8,
            demote_after: Duration::from_secs(90 * 24 * 3600),
            retain_importance: 0.5,
        }
    }
}

/// What one maintenance pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceReport {
    /// Short-term entries deleted.
    pub expired: u64,
    /// Short-term entries moved to medium-term.
    pub kept: u64,
    /// Medium-term entries moved to long-term.
    pub promoted: u64,
    /// Long-term entries moved back to medium-term.
    pub demoted: u64,
}

impl TierPolicy {
    /// Checks the thresholds.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an importance outside [0, 1] or a zero
    /// duration.
    pub fn check(&self) -> Result<()> {
        for (what, v) in [
            ("keep_importance", self.keep_importance),
            ("promote_importance", self.promote_importance),
            ("retain_importance", self.retain_importance),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid(format!("{what} {v} is outside [0, 1]")));
            }
        }
        if self.short_ttl.is_zero() || self.demote_after.is_zero() {
            return Err(Error::invalid("tier durations must not be zero"));
        }
        Ok(())
    }

    /// Applies the rules to `store` at `now`.
    ///
    /// Each rule selects its entries with list-only filters and moves them
    /// out of the selection (to another tier, or deleted), so a pass ends
    /// however many entries there are, and an entry changed concurrently
    /// is at worst handled by the next pass.
    ///
    /// # Errors
    /// What the store answers; entries handled before the error stay
    /// handled.
    pub async fn apply(
        &self,
        store: &dyn ContextStore,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceReport> {
        self.check()?;
        let mut report = MaintenanceReport::default();
        let idle_short = Filter::any()
            .tier(Tier::Short)
            .pinned(false)
            .accessed_before(before(now, self.short_ttl));
        report.kept += self
            .move_all(
                store,
                idle_short
                    .clone()
                    .min_access_count(self.keep_after_uses.max(1)),
                Tier::Medium,
            )
            .await?;
        report.kept += self
            .move_all(
                store,
                idle_short.clone().min_importance(self.keep_importance),
                Tier::Medium,
            )
            .await?;
        loop {
            let gone = store.list(&idle_short, BATCH).await?;
            if gone.is_empty() {
                break;
            }
            let ids: Vec<EntryId> = gone.iter().map(|e| e.id).collect();
            report.expired += store.delete(&ids).await?;
        }
        let medium = Filter::any().tier(Tier::Medium);
        report.promoted += self
            .move_all(
                store,
                medium
                    .clone()
                    .min_access_count(self.promote_after_uses.max(1)),
                Tier::Long,
            )
            .await?;
        report.promoted += self
            .move_all(
                store,
                medium.min_importance(self.promote_importance),
                Tier::Long,
            )
            .await?;
        let stale_long = Filter::any()
            .tier(Tier::Long)
            .pinned(false)
            .accessed_before(before(now, self.demote_after))
            .below_importance(self.retain_importance);
        report.demoted += self.move_all(store, stale_long, Tier::Medium).await?;
        Ok(report)
    }

    /// Moves every entry passing `filter` (which must exclude `to`) to `to`.
    async fn move_all(&self, store: &dyn ContextStore, filter: Filter, to: Tier) -> Result<u64> {
        let patch = Patch {
            tier: Some(to),
            ..Patch::default()
        };
        let mut moved = 0;
        loop {
            let batch = store.list(&filter, BATCH).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            for e in batch {
                match store.update(e.id, &patch).await {
                    Ok(_) => moved += 1,
                    // Deleted meanwhile: nothing to move.
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

fn before(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_policies_are_refused() {
        assert!(TierPolicy::default().check().is_ok());
        let bad = TierPolicy {
            keep_importance: 1.2,
            ..TierPolicy::default()
        };
        assert!(bad.check().is_err());
        let bad = TierPolicy {
            short_ttl: Duration::ZERO,
            ..TierPolicy::default()
        };
        assert!(bad.check().is_err());
    }
}
