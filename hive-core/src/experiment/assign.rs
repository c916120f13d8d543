//! Which arm a task goes to: a pure function of the task's id, the
//! experiment's seed and its current weights — the same answer in every
//! process — and, for Thompson sampling, the weights themselves.

use super::decide::ArmSummary;
use super::record::{Allocation, ArmState, Experiment, Metric};
use super::stats::SplitMix64;
use crate::queue::TaskId;

/// The least share an active arm keeps under Thompson sampling, so that
/// the comparison with the control goes on.
pub const MIN_SHARE: f64 = 0.05;

/// Draws for estimating each arm's chance of being the best.
const DRAWS: usize = 4000;

/// A uniform number in `[0, 1)` from the task's id and the seed.
pub fn position(task: TaskId, seed: u64) -> f64 {
    let bits = task.0.as_u128();
    let folded = (bits as u64) ^ ((bits >> 64) as u64).rotate_left(17);
    SplitMix64::new(folded ^ seed).next_f64()
}

/// The index of the arm `task` goes to under `weights` (zero-weight arms
/// get nothing); `None` when every weight is 0.
pub fn pick(task: TaskId, seed: u64, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut at = position(task, seed) * total;
    let mut last = None;
    for (i, w) in weights.iter().enumerate() {
        if *w <= 0.0 {
            continue;
        }
        last = Some(i);
        if at < *w {
            return Some(i);
        }
        at -= w;
    }
    last
}

/// The weights tasks are split by now: the configured split (or equal
/// shares) over the arms still active; under Thompson sampling, after the
/// burn-in, each active arm's chance of being the best given `summaries`
/// (a normal approximation of each arm's posterior mean, estimated from
/// draws seeded by the experiment's seed and the observation count, so
/// every process computes the same), floored at [`MIN_SHARE`].
pub fn weights(experiment: &Experiment, summaries: &[ArmSummary]) -> Vec<f64> {
    let active: Vec<bool> = experiment
        .arms
        .iter()
        .map(|a| a.state == ArmState::Active)
        .collect();
    let base: Vec<f64> = match &experiment.allocation {
        Allocation::Fixed { weights } if !weights.is_empty() => weights.clone(),
        _ => vec![1.0; experiment.arms.len()],
    };
    let observed: u64 = summaries.iter().map(|s| s.samples).sum();
    let adaptive = matches!(experiment.allocation, Allocation::Thompson { burn_in } if observed >= burn_in)
        && summaries.len() == experiment.arms.len();
    let raw: Vec<f64> = if adaptive {
        let mut rng =
            SplitMix64::new(experiment.seed ^ observed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let params: Vec<(f64, f64)> = summaries
            .iter()
            .map(|s| {
                let n = s.samples as f64;
                match experiment.metric {
                    // Beta(successes + 1, failures + 1), by its mean and
                    // variance.
                    Metric::Success => {
                        let p = (s.mean * n + 1.0) / (n + 2.0);
                        (p, (p * (1.0 - p) / (n + 3.0)).sqrt())
                    }
                    Metric::Score => (s.mean, (0.25 / (n + 1.0)).sqrt()),
                }
            })
            .collect();
        let mut wins = vec![0usize; params.len()];
        for _ in 0..DRAWS {
            let mut best = None;
            let mut best_draw = f64::NEG_INFINITY;
            for (i, (mean, sd)) in params.iter().enumerate() {
                if !active[i] {
                    continue;
                }
                let draw = mean + sd * normal(&mut rng);
                if draw > best_draw {
                    best_draw = draw;
                    best = Some(i);
                }
            }
            if let Some(i) = best {
                wins[i] += 1;
            }
        }
        wins.iter()
            .map(|w| (*w as f64 / DRAWS as f64).max(MIN_SHARE))
            .collect()
    } else {
        base
    };
    raw.iter()
        .zip(&active)
        .map(|(w, a)| if *a { *w } else { 0.0 })
        .collect()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::decide::{evaluate, variant_name};
    use crate::experiment::record::{
        Arm, ExperimentId, ExperimentStatus, Guardrails, Observation, CONTROL,
    };
    use crate::experiment::stats::SplitMix64;
    use crate::prompt::PromptVersionId;

    fn thompson(burn_in: u64) -> Experiment {
        let now = chrono::Utc::now();
        let arm = |name: String| Arm {
            name,
            version: PromptVersionId::new(),
            state: ArmState::Active,
            reason: None,
        };
        Experiment {
            id: ExperimentId::new(),
            agent: "a".into(),
            label: "production".into(),
            arms: vec![
                arm(CONTROL.into()),
                arm(variant_name(1)),
                arm(variant_name(2)),
            ],
            metric: Metric::Success,
            guardrails: Guardrails::default(),
            alpha: 0.05,
            min_samples: 1000,
            max_samples: 5000,
            allocation: Allocation::Thompson { burn_in },
            weights: vec![1.0; 3],
            seed: 5,
            watch_samples: 0,
            watch_holdback: 0.0,
            started_by: "alice".into(),
            approved_by: None,
            status: ExperimentStatus::Running,
            decision: None,
            watch: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Thompson sampling: equal shares during the burn-in, then each arm
    /// in proportion to its chance of being the best — the best arm gets
    /// most, none less than the floor — the same in every process, and an
    /// arm given up on gets nothing.
    #[test]
    fn thompson_sampling_favours_the_better_arm_after_the_burn_in() {
        let mut rng = SplitMix64::new(3);
        let mut obs = Vec::new();
        for _ in 0..100 {
            for (arm, p) in [
                (CONTROL.to_string(), 0.5),
                (variant_name(1), 0.55),
                (variant_name(2), 0.8),
            ] {
                obs.push(Observation {
                    task_id: TaskId::new(),
                    arm,
                    success: rng.next_f64() < p,
                    score: None,
                    tokens: 10,
                    cost_usd: None,
                    run_ms: 5,
                    finished_at: chrono::Utc::now(),
                });
            }
        }
        let early = thompson(10_000);
        let ev = evaluate(&early, &obs, chrono::Utc::now());
        assert_eq!(
            weights(&early, &ev.summaries),
            vec![1.0, 1.0, 1.0],
            "still burning in"
        );
        let e = thompson(100);
        let ev = evaluate(&e, &obs, chrono::Utc::now());
        let w = weights(&e, &ev.summaries);
        assert!(w[2] > 0.8 && w[2] > w[0] && w[2] > w[1], "{w:?}");
        assert!(w.iter().all(|x| *x >= MIN_SHARE), "{w:?}");
        assert_eq!(w, weights(&e, &ev.summaries), "deterministic");
        let mut out = e.clone();
        out.arms[1].state = ArmState::Futile;
        assert_eq!(weights(&out, &ev.summaries)[1], 0.0);
    }

    #[test]
    fn the_same_task_and_seed_pick_the_same_arm_and_the_split_follows_the_weights() {
        let weights = [1.0, 3.0];
        let ids: Vec<TaskId> = (0..20_000).map(|_| TaskId::new()).collect();
        let picks: Vec<usize> = ids
            .iter()
            .map(|t| pick(*t, 42, &weights).expect("an arm"))
            .collect();
        let again: Vec<usize> = ids
            .iter()
            .map(|t| pick(*t, 42, &weights).expect("an arm"))
            .collect();
        assert_eq!(picks, again, "sticky and deterministic");
        let share = picks.iter().filter(|p| **p == 1).count() as f64 / picks.len() as f64;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
        let other_seed = ids
            .iter()
            .filter(|t| pick(**t, 43, &weights) != pick(**t, 42, &weights))
            .count();
        assert!(other_seed > 1000, "another seed splits differently");
        assert_eq!(pick(ids[0], 1, &[0.0, 2.0]), Some(1));
        assert_eq!(pick(ids[0], 1, &[0.0, 0.0]), None);
    }
}
