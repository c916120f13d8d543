//! The decision rules, as pure functions of an experiment and its
//! observations in the order they finished: replayed from the first
//! observation on every look, so the same stored outcomes always give the
//! same decision — in this process or in one restarted after a crash.
//!
//! After each observation, once the control and a variant each have
//! `min_samples`, the variant is tested against the control at `α / k`
//! (`k` variants; Bonferroni), guardrails first:
//!
//! - **cost**: the confidence sequence for `cost_v − (1 + t)·cost_c` lies
//!   above 0 → stopped on the cost guardrail;
//! - **errors**: the one for `err_v − err_c` lies above `t` → stopped on
//!   the error guardrail;
//! - **winner**: the one for `metric_v − metric_c` lies above 0;
//! - **futility**: it lies below 0;
//! - **exhausted**: the variant reached `max_samples` undecided.
//!
//! The first look with a winner ends the experiment (the winner with the
//! largest estimate, should several cross at once); so does a look that
//! leaves no variant active. The p95 guardrail compares the arms' plain
//! 95th percentiles of run time on the latest look (a percentile has no
//! confidence sequence here; it is a limit, not a test).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::record::{
    Arm, ArmState, Decision, DecisionKind, Experiment, Metric, Observation, WatchVerdict, WATCH,
};
use super::stats::{difference, tuning, Interval, Moments};

/// One arm's figures on the latest look.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// The arm.
    pub name: String,
    /// Its prompt version.
    pub version: crate::prompt::PromptVersionId,
    /// Where it stands.
    pub state: ArmState,
    /// Why it left, for a variant that did.
    pub reason: Option<String>,
    /// Observations.
    pub samples: u64,
    /// The primary metric's mean.
    pub mean: f64,
    /// `variant − control` with its confidence sequence at `α / k` (none
    /// for the control, or before each has two observations).
    pub difference: Option<Interval>,
    /// Completed share.
    pub success_rate: f64,
    /// Dead-lettered share.
    pub error_rate: f64,
    /// Mean model tokens per task.
    pub tokens_per_task: f64,
    /// Mean dollars per task, when every task was priced.
    pub cost_per_task: Option<f64>,
    /// Nearest-rank 95th percentile of run time.
    pub p95_run_ms: Option<u64>,
}

/// What a look concluded.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The arms, their states brought up to date.
    pub arms: Vec<Arm>,
    /// The decision, when there is one.
    pub decision: Option<Decision>,
    /// Figures per arm.
    pub summaries: Vec<ArmSummary>,
}

/// Running figures of one arm.
#[derive(Clone, Debug, Default)]
struct Tally {
    metric: Moments,
    errors: Moments,
    tokens: Moments,
    dollars: Moments,
    priced: bool,
    binary: bool,
    run_ms: Vec<u64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            priced: true,
            ..Tally::default()
        }
    }

    fn push(&mut self, metric: Metric, o: &Observation) {
        self.metric.push(value(metric, o));
        self.binary = metric == Metric::Success;
        self.errors.push(if o.success { 0.0 } else { 1.0 });
        self.tokens.push(o.tokens as f64);
        match o.cost_usd {
            Some(c) => self.dollars.push(c),
            None => self.priced = false,
        }
        self.run_ms.push(o.run_ms);
    }

    /// The primary metric's moments as the tests read them: for a success
    /// rate, the variance is at least that of the smoothed rate
    /// `(s + 1) / (n + 2)`, so that a few tasks that all succeeded (or all
    /// failed) — a sample variance of 0 — do not make an interval collapse.
    fn tested(&self) -> Moments {
        reg(&self.metric, self.binary)
    }

    fn p95(&self) -> Option<u64> {
        if self.run_ms.is_empty() {
            return None;
        }
        let mut v = self.run_ms.clone();
        v.sort_unstable();
        let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

/// An observation's value on the primary metric.
fn value(metric: Metric, o: &Observation) -> f64 {
    match metric {
        Metric::Success => {
            if o.success {
                1.0
            } else {
                0.0
            }
        }
        Metric::Score => o.score.unwrap_or(0.0),
    }
}

/// `m` with its variance floored at that of the smoothed rate when the
/// observations are 0/1 (see [`Tally::tested`]).
fn reg(m: &Moments, binary: bool) -> Moments {
    let n = m.n();
    if !binary || n < 2 {
        return *m;
    }
    let p = (m.mean() * n as f64 + 1.0) / (n as f64 + 2.0);
    let var = m.variance().max(p * (1.0 - p));
    let mean = m.mean();
    Moments::from_sums(
        n,
        mean * n as f64,
        var * (n - 1) as f64 + mean * mean * n as f64,
    )
}

/// `x` scaled by `c`: the moments of `c·x`.
fn scaled(m: &Moments, c: f64) -> Moments {
    let n = m.n();
    let mean = m.mean() * c;
    let var = m.variance() * c * c;
    let sum = mean * n as f64;
    let sum_sq = var * (n.saturating_sub(1)) as f64 + mean * mean * n as f64;
    Moments::from_sums(n, sum, sum_sq)
}

/// The `α` each comparison of `experiment` is tested at, and the tuning
/// of its confidence sequences.
fn level(experiment: &Experiment) -> (f64, f64) {
    let k = experiment.arms.len().saturating_sub(1).max(1) as f64;
    let alpha = experiment.alpha / k;
    (alpha, tuning(alpha, 2.0 * experiment.max_samples as f64))
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// Replays `observations` (in finishing order) through `experiment`'s
/// rules and answers where its arms stand and what, if anything, is
/// decided. Observations of arms it does not have are skipped.
pub fn evaluate(
    experiment: &Experiment,
    observations: &[Observation],
    now: DateTime<Utc>,
) -> Evaluation {
    let (alpha, rho2) = level(experiment);
    // Each stop is one-sided — a winner only above, futility only below, a
    // guardrail only above its limit — so each reads one side of the
    // two-sided sequence at 2α: the chance of a false stop of each kind
    // stays at most α.
    let side = (2.0 * alpha).min(1.0);
    let g = &experiment.guardrails;
    let mut arms: Vec<Arm> = experiment
        .arms
        .iter()
        .map(|a| Arm {
            state: ArmState::Active,
            reason: None,
            ..a.clone()
        })
        .collect();
    let mut tallies: Vec<Tally> = arms.iter().map(|_| Tally::new()).collect();
    let min = experiment.min_samples;
    let mut decision = None;
    for (seen, o) in observations.iter().enumerate() {
        let Some(i) = arms.iter().position(|a| a.name == o.arm) else {
            continue;
        };
        tallies[i].push(experiment.metric, o);
        if i != 0 && arms[i].state != ArmState::Active {
            continue;
        }
        let c = &tallies[0];
        let mut winners: Vec<(usize, f64)> = Vec::new();
        for v in 1..arms.len() {
            if arms[v].state != ArmState::Active {
                continue;
            }
            let t = &tallies[v];
            if c.metric.n() < min || t.metric.n() < min {
                continue;
            }
            if let Some(limit) = g.max_cost_increase {
                let (cc, vc, unit) = if c.priced && t.priced {
                    (&c.dollars, &t.dollars, "$")
                } else {
                    (&c.tokens, &t.tokens, "tokens")
                };
                if let Some(iv) = difference(&scaled(cc, 1.0 + limit), vc, side, rho2) {
                    if iv.lower > 0.0 {
                        arms[v].state = ArmState::Guardrail;
                        arms[v].reason = Some(format!(
                            "cost guardrail: {:.4} {unit} per task against the control's {:.4}, over the allowed +{}",
                            vc.mean(),
                            cc.mean(),
                            pct(limit)
                        ));
                        continue;
                    }
                }
            }
            if let Some(limit) = g.max_error_rate_increase {
                if let Some(iv) =
                    difference(&reg(&c.errors, true), &reg(&t.errors, true), alpha, rho2)
                {
                    if iv.lower > limit {
                        arms[v].state = ArmState::Guardrail;
                        arms[v].reason = Some(format!(
                            "error-rate guardrail: {} dead-lettered against the control's {}, over the allowed +{} points",
                            pct(t.errors.mean()),
                            pct(c.errors.mean()),
                            100.0 * limit
                        ));
                        continue;
                    }
                }
            }
            if let Some(iv) = difference(&c.tested(), &t.tested(), side, rho2) {
                if iv.lower > 0.0 {
                    winners.push((v, iv.estimate));
                    continue;
                }
                if iv.upper < 0.0 {
                    arms[v].state = ArmState::Futile;
                    arms[v].reason = Some(format!(
                        "worse than the control: {:.3} against {:.3}, difference in [{:.3}, {:.3}], one-sided at α = {alpha:.4}",
                        t.metric.mean(),
                        c.metric.mean(),
                        iv.lower,
                        iv.upper
                    ));
                    continue;
                }
            }
            if t.metric.n() >= experiment.max_samples {
                arms[v].state = ArmState::Exhausted;
                arms[v].reason = Some(format!(
                    "reached max_samples ({}) without a decision",
                    experiment.max_samples
                ));
            }
        }
        let observations = (seen + 1) as u64;
        if let Some(&(w, _)) = winners
            .iter()
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        {
            let (c, t) = (&tallies[0], &tallies[w]);
            let iv = difference(&c.tested(), &t.tested(), side, rho2);
            arms[w].state = ArmState::Winner;
            let reason = format!(
                "{} beats the control: {:.3} against {:.3} after {} and {} tasks, difference in [{:.3}, {:.3}], one-sided at α = {alpha:.4}",
                arms[w].name,
                t.metric.mean(),
                c.metric.mean(),
                t.metric.n(),
                c.metric.n(),
                iv.map_or(f64::NAN, |i| i.lower),
                iv.map_or(f64::NAN, |i| i.upper),
            );
            arms[w].reason = Some(reason.clone());
            decision = Some(Decision {
                kind: DecisionKind::Winner,
                arm: Some(arms[w].name.clone()),
                reason,
                observations,
                at: now,
            });
            break;
        }
        if let Some(d) = all_out(&arms, observations, now) {
            decision = Some(d);
            break;
        }
    }
    if decision.is_none() {
        if let Some(limit) = g.max_p95_increase {
            let c = tallies[0].clone();
            for v in 1..arms.len() {
                let t = &tallies[v];
                if arms[v].state != ArmState::Active || c.metric.n() < min || t.metric.n() < min {
                    continue;
                }
                if let (Some(cp), Some(tp)) = (c.p95(), t.p95()) {
                    if tp as f64 > cp as f64 * (1.0 + limit) {
                        arms[v].state = ArmState::Guardrail;
                        arms[v].reason = Some(format!(
                            "p95 guardrail: {tp} ms against the control's {cp} ms, over the allowed +{}",
                            pct(limit)
                        ));
                    }
                }
            }
            decision = all_out(&arms, observations.len() as u64, now);
        }
    }
    let summaries = summarise(&arms, &tallies, alpha, rho2);
    Evaluation {
        arms,
        decision,
        summaries,
    }
}

/// The decision when no variant is left active: futility when every one
/// was worse, guardrail when every one broke a guardrail, else
/// inconclusive.
fn all_out(arms: &[Arm], observations: u64, now: DateTime<Utc>) -> Option<Decision> {
    let variants = &arms[1..];
    if variants.iter().any(|a| a.state == ArmState::Active) {
        return None;
    }
    let all = |s: ArmState| variants.iter().all(|a| a.state == s);
    let kind = if all(ArmState::Futile) {
        DecisionKind::Futility
    } else if all(ArmState::Guardrail) {
        DecisionKind::Guardrail
    } else {
        DecisionKind::Inconclusive
    };
    let reason = variants
        .iter()
        .map(|a| format!("{}: {}", a.name, a.reason.as_deref().unwrap_or("out")))
        .collect::<Vec<_>>()
        .join("; ");
    Some(Decision {
        kind,
        arm: None,
        reason,
        observations,
        at: now,
    })
}

fn summarise(arms: &[Arm], tallies: &[Tally], alpha: f64, rho2: f64) -> Vec<ArmSummary> {
    arms.iter()
        .zip(tallies)
        .enumerate()
        .map(|(i, (a, t))| ArmSummary {
            name: a.name.clone(),
            version: a.version,
            state: a.state,
            reason: a.reason.clone(),
            samples: t.metric.n(),
            mean: t.metric.mean(),
            difference: if i == 0 {
                None
            } else {
                difference(&tallies[0].tested(), &t.tested(), alpha, rho2)
            },
            success_rate: if t.errors.n() == 0 {
                0.0
            } else {
                1.0 - t.errors.mean()
            },
            error_rate: t.errors.mean(),
            tokens_per_task: t.tokens.mean(),
            cost_per_task: (t.priced && t.dollars.n() > 0).then(|| t.dollars.mean()),
            p95_run_ms: t.p95(),
        })
        .collect()
}

/// What the post-promotion watch says after `observations` (in finishing
/// order): the promoted version's tasks (arm [`WATCH`]) against the
/// replaced version's tasks (the watch's baseline arm: those of the
/// experiment and the share of the watch's tasks held back for it),
/// at the experiment's α. A regression — the confidence sequence for
/// `watched − baseline` wholly below 0, once `min_samples` were watched —
/// rolls back; `watch_samples` without one keeps the promotion. `None`
/// while undecided (or when there is no watch). Also answers the watched
/// arm's figures.
pub fn evaluate_watch(
    experiment: &Experiment,
    observations: &[Observation],
) -> (Option<(WatchVerdict, String)>, Option<ArmSummary>) {
    let Some(watch) = &experiment.watch else {
        return (None, None);
    };
    let alpha = experiment.alpha;
    let mut base = Tally::new();
    for o in observations.iter().filter(|o| o.arm == watch.baseline_arm) {
        base.push(experiment.metric, o);
    }
    let rho2 = tuning(alpha, (base.metric.n() + experiment.watch_samples) as f64);
    let mut watched = Tally::new();
    let mut verdict = None;
    for o in observations.iter().filter(|o| o.arm == WATCH) {
        watched.push(experiment.metric, o);
        if watched.metric.n() < experiment.min_samples.min(experiment.watch_samples) {
            continue;
        }
        if let Some(iv) = difference(&base.tested(), &watched.tested(), alpha, rho2) {
            if iv.upper < 0.0 {
                verdict = Some((
                    WatchVerdict::RolledBack,
                    format!(
                        "regression after promotion: {:.3} over {} tasks against {:.3} of the replaced version ({} tasks), difference in [{:.3}, {:.3}] at α = {alpha}",
                        watched.metric.mean(),
                        watched.metric.n(),
                        base.metric.mean(),
                        base.metric.n(),
                        iv.lower,
                        iv.upper
                    ),
                ));
                break;
            }
        }
        if watched.metric.n() >= experiment.watch_samples {
            verdict = Some((
                WatchVerdict::Kept,
                format!(
                    "no regression in {} watched tasks: {:.3} against {:.3} of the replaced version",
                    watched.metric.n(),
                    watched.metric.mean(),
                    base.metric.mean()
                ),
            ));
            break;
        }
    }
    let arm = Arm {
        name: WATCH.to_string(),
        version: watch.promoted,
        state: ArmState::Active,
        reason: None,
    };
    let summary = summarise(
        &[
            Arm {
                name: watch.baseline_arm.clone(),
                version: watch.replaced,
                state: ArmState::Active,
                reason: None,
            },
            arm,
        ],
        &[base, watched],
        alpha,
        rho2,
    )
    .pop();
    (verdict, summary)
}

/// The arm name of variant `i` (from 1).
pub fn variant_name(i: usize) -> String {
    format!("variant-{i}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::{
        Allocation, ExperimentId, ExperimentStatus, Guardrails, Watch, CONTROL,
    };
    use crate::experiment::stats::SplitMix64;
    use crate::prompt::PromptVersionId;
    use crate::queue::TaskId;

    fn experiment(variants: usize) -> Experiment {
        let now = Utc::now();
        let mut arms = vec![Arm {
            name: CONTROL.into(),
            version: PromptVersionId::new(),
            state: ArmState::Active,
            reason: None,
        }];
        for i in 1..=variants {
            arms.push(Arm {
                name: variant_name(i),
                version: PromptVersionId::new(),
                state: ArmState::Active,
                reason: None,
            });
        }
        Experiment {
            id: ExperimentId::new(),
            agent: "a".into(),
            label: "production".into(),
            weights: vec![1.0; arms.len()],
            arms,
            metric: Metric::Success,
            guardrails: Guardrails::default(),
            alpha: 0.05,
            min_samples: 20,
            max_samples: 500,
            allocation: Allocation::default(),
            seed: 1,
            watch_samples: 200,
            watch_holdback: 0.2,
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

    /// Alternating observations of the arms with the given success rates
    /// and tokens per task.
    fn observations(rates: &[(f64, u64)], per_arm: usize, seed: u64) -> Vec<Observation> {
        let mut rng = SplitMix64::new(seed);
        let mut out = Vec::new();
        for _ in 0..per_arm {
            for (i, (p, tokens)) in rates.iter().enumerate() {
                out.push(Observation {
                    task_id: TaskId::new(),
                    arm: if i == 0 {
                        CONTROL.into()
                    } else {
                        variant_name(i)
                    },
                    success: rng.next_f64() < *p,
                    score: None,
                    tokens: *tokens,
                    cost_usd: None,
                    run_ms: 100,
                    finished_at: Utc::now(),
                });
            }
        }
        out
    }

    #[test]
    fn a_better_variant_wins_and_a_worse_one_is_futile() {
        let e = experiment(1);
        let ev = evaluate(
            &e,
            &observations(&[(0.5, 10), (0.8, 10)], 200, 7),
            Utc::now(),
        );
        let d = ev.decision.expect("decided");
        assert_eq!(d.kind, DecisionKind::Winner);
        assert_eq!(d.arm.as_deref(), Some("variant-1"));
        assert!(d.observations <= 400, "{d:?}");
        assert_eq!(ev.arms[1].state, ArmState::Winner);

        let ev = evaluate(
            &e,
            &observations(&[(0.5, 10), (0.2, 10)], 200, 8),
            Utc::now(),
        );
        let d = ev.decision.expect("decided");
        assert_eq!(d.kind, DecisionKind::Futility, "{d:?}");
        assert_eq!(ev.arms[1].state, ArmState::Futile);
    }

    /// The live test's experiment — 80 % against 50 %, α = 0.05, 20 to
    /// 100 tasks per arm — replayed 1,000 times: how often the winner is
    /// found within 200 tasks, and how soon (printed with `--no-capture`).
    #[test]
    fn the_live_experiment_finds_its_winner_within_200_tasks() {
        let e = Experiment {
            max_samples: 100,
            ..experiment(1)
        };
        let runs = 1000;
        let mut at = Vec::new();
        for run in 0..runs {
            let ev = evaluate(
                &e,
                &observations(&[(0.5, 10), (0.8, 10)], 100, run + 100),
                Utc::now(),
            );
            if let Some(d) = ev.decision.filter(|d| d.kind == DecisionKind::Winner) {
                at.push(d.observations);
            }
        }
        at.sort_unstable();
        let median = at.get(at.len() / 2).copied().unwrap_or(0);
        println!(
            "80 % against 50 %: the winner found within 200 tasks in {} of {runs} runs, median {median} tasks",
            at.len()
        );
        assert!(at.len() >= 950, "found in {} of {runs}", at.len());
    }

    /// The decision rules themselves, on 1,000 A/A experiments (50 %
    /// against 50 %, 20 to 500 tasks per arm, a look after every task):
    /// a winner is declared in at most 5 % of them (printed with
    /// `--no-capture`).
    #[test]
    fn a_a_experiments_rarely_crown_a_winner() {
        let e = experiment(1);
        let runs = 1000;
        let mut winners = 0;
        let mut futile = 0;
        for run in 0..runs {
            let ev = evaluate(
                &e,
                &observations(&[(0.5, 10), (0.5, 10)], 500, run + 5000),
                Utc::now(),
            );
            match ev.decision.map(|d| d.kind) {
                Some(DecisionKind::Winner) => winners += 1,
                Some(DecisionKind::Futility) => futile += 1,
                _ => {}
            }
        }
        println!(
            "A/A through the decision rules, {runs} runs: {winners} false winners, {futile} false futility stops"
        );
        assert!(winners <= runs / 20, "{winners} false winners in {runs}");
    }

    #[test]
    fn nothing_is_decided_before_the_minimum_sample() {
        let e = Experiment {
            min_samples: 150,
            ..experiment(1)
        };
        let ev = evaluate(
            &e,
            &observations(&[(0.0, 10), (1.0, 10)], 149, 1),
            Utc::now(),
        );
        assert!(ev.decision.is_none());
        assert_eq!(ev.summaries[1].samples, 149);
        assert!((ev.summaries[1].mean - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_costlier_better_variant_is_stopped_by_the_cost_guardrail() {
        let e = Experiment {
            guardrails: Guardrails {
                max_cost_increase: Some(0.5),
                ..Guardrails::default()
            },
            ..experiment(1)
        };
        let ev = evaluate(
            &e,
            &observations(&[(0.5, 100), (0.8, 200)], 200, 3),
            Utc::now(),
        );
        let d = ev.decision.expect("decided");
        assert_eq!(d.kind, DecisionKind::Guardrail, "{d:?}");
        assert!(d.reason.contains("cost guardrail"), "{}", d.reason);
        assert_eq!(
            d.observations,
            2 * e.min_samples,
            "stopped at the first look"
        );
    }

    #[test]
    fn the_error_and_p95_guardrails_stop_a_variant() {
        let e = Experiment {
            metric: Metric::Score,
            guardrails: Guardrails {
                max_error_rate_increase: Some(0.05),
                ..Guardrails::default()
            },
            ..experiment(1)
        };
        let ev = evaluate(
            &e,
            &observations(&[(0.95, 10), (0.3, 10)], 200, 4),
            Utc::now(),
        );
        assert_eq!(ev.decision.expect("decided").kind, DecisionKind::Guardrail);

        let e = Experiment {
            guardrails: Guardrails {
                max_p95_increase: Some(0.2),
                ..Guardrails::default()
            },
            ..experiment(1)
        };
        let mut obs = observations(&[(0.5, 10), (0.5, 10)], 30, 5);
        for o in obs.iter_mut().filter(|o| o.arm != CONTROL) {
            o.run_ms = 300;
        }
        let ev = evaluate(&e, &obs, Utc::now());
        let d = ev.decision.expect("decided");
        assert_eq!(d.kind, DecisionKind::Guardrail);
        assert!(d.reason.contains("p95"), "{}", d.reason);
    }

    #[test]
    fn an_undecided_variant_is_exhausted_at_the_maximum() {
        let e = Experiment {
            max_samples: 60,
            ..experiment(1)
        };
        let ev = evaluate(
            &e,
            &observations(&[(0.5, 10), (0.5, 10)], 60, 9),
            Utc::now(),
        );
        let d = ev.decision.expect("decided");
        assert_eq!(d.kind, DecisionKind::Inconclusive, "{d:?}");
    }

    #[test]
    fn the_same_observations_give_the_same_decision() {
        let e = experiment(2);
        let obs = observations(&[(0.5, 10), (0.55, 10), (0.85, 10)], 150, 11);
        let a = evaluate(&e, &obs, Utc::now());
        let b = evaluate(&e, &obs, Utc::now());
        assert_eq!(a.arms, b.arms);
        assert_eq!(a.decision.map(|d| d.arm), b.decision.map(|d| d.arm));
    }

    #[test]
    fn the_watch_rolls_back_a_regression_and_keeps_a_steady_winner() {
        let mut e = experiment(1);
        let baseline = observations(&[(0.5, 10)], 60, 12);
        e.watch = Some(Watch {
            promoted: e.arms[1].version,
            replaced: e.arms[0].version,
            baseline_arm: CONTROL.into(),
            since: Utc::now(),
            verdict: None,
            reason: None,
            at: None,
        });
        let watched = |p: f64, n: usize, seed: u64| {
            let mut obs = baseline.clone();
            obs.extend(observations(&[(p, 10)], n, seed).into_iter().map(|mut o| {
                o.arm = WATCH.into();
                o
            }));
            obs
        };
        let (verdict, summary) = evaluate_watch(&e, &watched(0.1, 200, 13));
        let (v, why) = verdict.expect("a verdict");
        assert_eq!(v, WatchVerdict::RolledBack, "{why}");
        assert!(summary.expect("figures").samples < 200);

        let (verdict, _) = evaluate_watch(&e, &watched(0.8, 200, 14));
        assert_eq!(verdict.expect("a verdict").0, WatchVerdict::Kept);
        let (verdict, _) = evaluate_watch(&e, &watched(0.8, 50, 15));
        assert!(verdict.is_none(), "undecided before watch_samples");
    }
}
