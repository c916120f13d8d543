//! The benchmark gate's statistics: a bootstrap confidence interval on the
//! ratio of the candidate's median run time to the base's, from runs taken
//! alternately on the two builds.
//!
//! Why this shape: one timing of each build says nothing on a shared
//! machine; the median resists the odd slow run; alternating base and
//! candidate spreads the machine's drift over both; and the interval,
//! rather than the point ratio, is what keeps the gate from flapping — a
//! change is refused only when the whole interval lies above the allowed
//! slowdown, so a change that does nothing to speed passes however the
//! noise falls, while a 30 % slowdown measured ten times each does not.

use serde::{Deserialize, Serialize};

use crate::experiment::stats::SplitMix64;

/// How many bootstrap resamples the interval is drawn from.
pub const RESAMPLES: usize = 2000;

/// The figures a benchmark gate keeps with its change set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchFigures {
    /// The base's run times, in milliseconds, in the order they ran.
    pub base_ms: Vec<f64>,
    /// The candidate's run times, in milliseconds, in the order they ran.
    pub candidate_ms: Vec<f64>,
    /// Median of the candidate over median of the base: above 1 is slower.
    pub ratio: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
    /// Its confidence.
    pub confidence: f64,
    /// The slowdown allowed (0.1 = 10 %).
    pub max_slowdown: f64,
    /// False when the interval lies wholly above `1 + max_slowdown`.
    pub passed: bool,
}

impl BenchFigures {
    /// Judges the runs: the percentile bootstrap of the ratio of medians,
    /// resampling each side on its own, drawn from `seed` (so a change
    /// set's figures are reproducible from what it stores).
    ///
    /// ```
    /// use hive_core::selfmod::BenchFigures;
    ///
    /// let base = [100.0, 101.0, 99.0, 100.5, 102.0, 98.0, 100.0, 101.0, 99.5, 100.0];
    /// let slow: Vec<f64> = base.iter().map(|t| t * 1.3).collect();
    /// let same = BenchFigures::judge(base.to_vec(), base.to_vec(), 0.95, 0.1, 7);
    /// assert!(same.passed && same.low <= 1.0 && same.high >= 1.0);
    /// let worse = BenchFigures::judge(base.to_vec(), slow, 0.95, 0.1, 7);
    /// assert!(!worse.passed && worse.low > 1.1);
    /// ```
    pub fn judge(
        base_ms: Vec<f64>,
        candidate_ms: Vec<f64>,
        confidence: f64,
        max_slowdown: f64,
        seed: u64,
    ) -> BenchFigures {
        let ratio = ratio_of_medians(&base_ms, &candidate_ms);
        let mut rng = SplitMix64::new(seed);
        let mut ratios: Vec<f64> = (0..RESAMPLES)
            .map(|_| {
                let b = resample(&base_ms, &mut rng);
                let c = resample(&candidate_ms, &mut rng);
                ratio_of_medians(&b, &c)
            })
            .filter(|r| r.is_finite())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let tail = (1.0 - confidence) / 2.0;
        let (low, high) = if ratios.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (quantile(&ratios, tail), quantile(&ratios, 1.0 - tail))
        };
        // A NaN interval (no usable runs) passes nothing.
        let passed = low.is_finite() && low <= 1.0 + max_slowdown;
        BenchFigures {
            base_ms,
            candidate_ms,
            ratio,
            low,
            high,
            confidence,
            max_slowdown,
            passed,
        }
    }
}

fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn ratio_of_medians(base: &[f64], candidate: &[f64]) -> f64 {
    median(candidate) / median(base)
}

fn resample(xs: &[f64], rng: &mut SplitMix64) -> Vec<f64> {
    let n = xs.len() as u64;
    (0..xs.len())
        .map(|_| xs[usize::try_from(rng.next_u64() % n.max(1)).unwrap_or(0)])
        .collect()
}

/// The `q` quantile of sorted `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let last = xs.len() - 1;
    let rank = (q * last as f64).round() as usize;
    xs[rank.min(last)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
    }

    #[test]
    fn no_runs_fail_the_gate() {
        let f = BenchFigures::judge(vec![], vec![], 0.95, 0.1, 1);
        assert!(!f.passed);
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let b: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i)).collect();
        let c: Vec<f64> = (0..10).map(|i| 104.0 + f64::from(i)).collect();
        let one = BenchFigures::judge(b.clone(), c.clone(), 0.95, 0.1, 42);
        let two = BenchFigures::judge(b, c, 0.95, 0.1, 42);
        assert_eq!(one, two);
        assert!(one.low < one.ratio && one.ratio < one.high);
    }
}
