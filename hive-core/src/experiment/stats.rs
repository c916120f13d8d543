//! Always-valid statistics for online experiments: a confidence sequence
//! for the difference of two arms' means that may be looked at after every
//! observation without inflating the error rate.
//!
//! # Why not a t-test
//!
//! A fixed-sample test (a z- or t-test at α = 0.05) is valid only when it
//! is looked at once, at a sample size chosen in advance. An experiment
//! that watches live outcomes looks after every task; checking a z-test
//! that often and stopping at the first "significant" look declares a
//! winner between two identical arms in roughly a third of the runs
//! (`tests::a_a_experiments_rarely_declare_a_winner` prints both rates).
//!
//! # The confidence sequence
//!
//! The asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha,
//! Kennedy and Ramdas ("Time-uniform central limit theory and asymptotic
//! confidence sequences", 2023), in the form GrowthBook uses for its
//! sequential tests. With `N` observations in all, `Δ̂` the difference of
//! the arms' sample means (variant − control) and `V = s²_c/n_c + s²_v/n_v`
//! its estimated variance, the interval at every `N` is
//!
//! ```text
//! Δ̂ ± sqrt(V) · sqrt( 2(Nρ² + 1) / (Nρ²) · ln( sqrt(Nρ² + 1) / α ) )
//! ```
//!
//! and, with probability at least `1 − α` (asymptotically), it covers the
//! true difference at **every** `N` at once — so stopping the first time
//! it excludes zero keeps the false-winner rate at `α` however often it is
//! looked at. `ρ` tunes where the interval is tightest; it is chosen for
//! the experiment's planned size `n*` (its maximum sample) as
//! `ρ² = (−2 ln α + ln(−2 ln α + 1)) / n*`.
//!
//! The price of looking at will is width: at the planned size the interval
//! is roughly 1.5–2 times as wide as a fixed-sample one, so a real
//! difference takes somewhat more samples to show.

/// Running count, mean and variance of one arm's observations (Welford's
/// update), rebuildable from stored sums.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    n: u64,
    mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
}

impl Moments {
    /// No observations.
    pub fn new() -> Self {
        Moments::default()
    }

    /// Moments from stored aggregates: a count, the sum and the sum of
    /// squares of the observations.
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Self {
        if n == 0 {
            return Moments::default();
        }
        let mean = sum / n as f64;
        let m2 = (sum_sq - sum * mean).max(0.0);
        Moments { n, mean, m2 }
    }

    /// Adds one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Observations so far.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Their mean (0 with none).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Their sample variance (divisor `n − 1`; 0 with fewer than two).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }
}

/// An estimate of a difference with its interval.
// Named apart in the OpenAPI document: the server's `/metrics/series` has
// an `Interval` of its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ConfidenceInterval))]
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// The point estimate (variant − control).
    pub estimate: f64,
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

impl Interval {
    /// True when the interval holds `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// `ρ²` for an experiment planned to end at `n_star` observations in all:
/// the interval is tightest there.
pub fn tuning(alpha: f64, n_star: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    (l + (l + 1.0).ln()) / n_star.max(1.0)
}

/// The `1 − α` confidence sequence for `variant − control` after the
/// observations so far; `None` until each arm has two.
pub fn difference(control: &Moments, variant: &Moments, alpha: f64, rho2: f64) -> Option<Interval> {
    if control.n < 2 || variant.n < 2 {
        return None;
    }
    let v = control.variance() / control.n as f64 + variant.variance() / variant.n as f64;
    let n = (control.n + variant.n) as f64;
    let nr = n * rho2;
    let half = v.sqrt() * (2.0 * (nr + 1.0) / nr * ((nr + 1.0).sqrt() / alpha).ln()).sqrt();
    let estimate = variant.mean - control.mean;
    Some(Interval {
        estimate,
        lower: estimate - half,
        upper: estimate + half,
    })
}

/// The fixed-sample z-interval for `variant − control` — valid for one
/// look only. Kept to show what looking often does to it.
pub fn naive_difference(control: &Moments, variant: &Moments, alpha: f64) -> Option<Interval> {
    if control.n < 2 || variant.n < 2 {
        return None;
    }
    let v = control.variance() / control.n as f64 + variant.variance() / variant.n as f64;
    let half = normal_quantile(1.0 - alpha / 2.0) * v.sqrt();
    let estimate = variant.mean - control.mean;
    Some(Interval {
        estimate,
        lower: estimate - half,
        upper: estimate + half,
    })
}

/// The standard normal quantile (Acklam's rational approximation,
/// relative error below 1.2e-9), for `0 < p < 1`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A small, seedable generator (SplitMix64) for deterministic assignment
/// and the statistical tests: no global state, the same stream for the
/// same seed on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_match_the_textbook_and_rebuild_from_sums() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut m = Moments::new();
        for x in xs {
            m.push(x);
        }
        assert_eq!(m.n(), 8);
        assert!((m.mean() - 5.0).abs() < 1e-12);
        assert!((m.variance() - 32.0 / 7.0).abs() < 1e-12);
        let sum: f64 = xs.iter().sum();
        let sum_sq: f64 = xs.iter().map(|x| x * x).sum();
        let r = Moments::from_sums(8, sum, sum_sq);
        assert!((r.mean() - m.mean()).abs() < 1e-12);
        assert!((r.variance() - m.variance()).abs() < 1e-9);
        assert_eq!(Moments::from_sums(0, 0.0, 0.0), Moments::new());
    }

    #[test]
    fn the_normal_quantile_is_accurate() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.025, -1.959_963_984_540_054),
            (0.995, 2.575_829_303_548_901),
            (0.001, -3.090_232_306_167_813_5),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "{p}");
        }
    }

    #[test]
    fn the_sequence_is_wider_than_one_look_and_narrows_with_data() {
        let mut c = Moments::new();
        let mut v = Moments::new();
        let mut rng = SplitMix64::new(7);
        let rho2 = tuning(0.05, 1000.0);
        let mut widths = Vec::new();
        for i in 0..1000 {
            c.push(f64::from(u8::from(rng.next_f64() < 0.5)));
            v.push(f64::from(u8::from(rng.next_f64() < 0.5)));
            if i == 99 || i == 499 || i == 999 {
                let cs = difference(&c, &v, 0.05, rho2).expect("enough data");
                let z = naive_difference(&c, &v, 0.05).expect("enough data");
                assert!(cs.upper - cs.lower > z.upper - z.lower);
                assert!((cs.estimate - z.estimate).abs() < 1e-12);
                widths.push(cs.upper - cs.lower);
            }
        }
        assert!(widths[0] > widths[1] && widths[1] > widths[2], "{widths:?}");
        assert!(difference(&Moments::new(), &v, 0.05, rho2).is_none());
    }

    /// Runs `runs` A/A experiments of up to `max` observations per arm
    /// (success rate 0.5 in both), looking after every pair from
    /// `min` on; answers how many a looked-at test called for either arm.
    fn a_a(runs: u64, min: u64, max: u64, naive: bool) -> u64 {
        let alpha = 0.05;
        let rho2 = tuning(alpha, (2 * max) as f64);
        let mut false_winners = 0;
        for run in 0..runs {
            let mut rng = SplitMix64::new(run.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xa5a5);
            let (mut c, mut v) = (Moments::new(), Moments::new());
            for i in 1..=max {
                c.push(f64::from(u8::from(rng.next_f64() < 0.5)));
                v.push(f64::from(u8::from(rng.next_f64() < 0.5)));
                if i < min {
                    continue;
                }
                let interval = if naive {
                    naive_difference(&c, &v, alpha)
                } else {
                    difference(&c, &v, alpha, rho2)
                };
                if interval.is_some_and(|iv| !iv.contains(0.0)) {
                    false_winners += 1;
                    break;
                }
            }
        }
        false_winners
    }

    /// The property the experiments rest on: 1,000 A/A experiments, each
    /// looked at after every observation, declare a winner in at most 5 %
    /// of runs; a naive z-test looked at the same way does so far more
    /// often. Both rates are printed (`cargo nextest run -p hive-core
    /// a_a_experiments --no-capture`).
    #[test]
    fn a_a_experiments_rarely_declare_a_winner() {
        let runs = 1000;
        let sequential = a_a(runs, 10, 500, false);
        let naive = a_a(runs, 10, 500, true);
        println!(
            "A/A, {runs} runs, up to 500 tasks per arm, looked at after every task: \
             confidence sequence {:.1} % false winners, naive z-test {:.1} %",
            100.0 * sequential as f64 / runs as f64,
            100.0 * naive as f64 / runs as f64
        );
        assert!(
            sequential * 20 <= runs,
            "{sequential} of {runs} A/A runs declared a winner"
        );
        assert!(
            naive * 5 >= runs,
            "the naive test should fail often when looked at often: {naive} of {runs}"
        );
    }

    #[test]
    fn a_real_difference_is_found_within_a_few_hundred_tasks() {
        // 80 % against 50 %, the experiment of the live test.
        let rho2 = tuning(0.05, 400.0);
        let mut stopped_at = Vec::new();
        for run in 0..200u64 {
            let mut rng = SplitMix64::new(run + 1);
            let (mut c, mut v) = (Moments::new(), Moments::new());
            for i in 1..=200u64 {
                c.push(f64::from(u8::from(rng.next_f64() < 0.5)));
                v.push(f64::from(u8::from(rng.next_f64() < 0.8)));
                let iv = difference(&c, &v, 0.05, rho2);
                if i >= 10 && iv.is_some_and(|iv| iv.lower > 0.0) {
                    stopped_at.push(i);
                    break;
                }
            }
        }
        stopped_at.sort_unstable();
        assert!(
            stopped_at.len() >= 190,
            "found in {} of 200",
            stopped_at.len()
        );
        let median = stopped_at[stopped_at.len() / 2];
        println!(
            "80 % against 50 %: found in {} of 200 runs, at a median of {median} tasks per arm",
            stopped_at.len()
        );
        assert!(median <= 100, "median stop at {median} tasks per arm");
    }
}
