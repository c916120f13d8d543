//! The [`OutcomeStore`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause records outcomes of its own task type and agent (named
//! with a unique prefix) and reads only those, so suites may share a
//! database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use super::{assert_invalid, assert_not_found, unique_name};
use crate::experiment::stats::SplitMix64;
use crate::outcome::{
    GroupBy, Metrics, Outcome, OutcomeFilter, OutcomeStatus, OutcomeStore, MAX_LIMIT,
};
use crate::queue::TaskId;

/// Opens the backend under test.
#[async_trait]
pub trait OutcomeHarness: Send + Sync {
    /// Opens a new handle on this test's database. Opening twice gives two
    /// handles on one database (as two processes would have).
    async fn open(&self) -> Arc<dyn OutcomeStore>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per outcome-store clause, each opening the
/// backend with `$harness` (an expression of type
/// `Option<impl OutcomeHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! outcome_conformance_tests {
    ($harness:expr) => {
        $crate::__outcome_clauses!($harness;
            record_then_get_round_trips,
            recording_again_replaces,
            get_many_answers_the_recorded_ones,
            bad_input_stores_nothing,
            list_filters_newest_first,
            metrics_equal_a_direct_count,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __outcome_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::outcomes::$clause(&harness).await;
                    $crate::conformance::outcomes::OutcomeHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// A whole-millisecond instant `ms` after a fixed start.
fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_780_000_000_000 + ms)
        .single()
        .expect("a valid instant")
}

/// A completed outcome of `task_type` by `agent`.
fn outcome(task_type: &str, agent: &str) -> Outcome {
    Outcome {
        task_id: TaskId::new(),
        queue: "default".into(),
        task_type: task_type.into(),
        agent: Some(agent.into()),
        prompt_version: Some("v1".into()),
        experiment: None,
        arm: None,
        status: OutcomeStatus::Completed,
        attempts: 1,
        wait_ms: 12,
        run_ms: 340,
        input_tokens: 100,
        output_tokens: 20,
        cost_usd: Some(0.0125),
        score: Some(0.75),
        finished_at: at(0),
    }
}

/// `record_many` stores outcomes that `get` answers as stored; an unknown
/// task is not found.
pub async fn record_then_get_round_trips(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("round-trip");
    let full = outcome(&ty, "a");
    let bare = Outcome {
        agent: None,
        prompt_version: None,
        experiment: None,
        arm: None,
        status: OutcomeStatus::DeadLettered,
        attempts: 3,
        cost_usd: None,
        score: None,
        input_tokens: 0,
        output_tokens: 0,
        finished_at: at(1),
        ..outcome(&ty, "a")
    };
    let in_experiment = Outcome {
        experiment: Some("exp-1".into()),
        arm: Some("variant".into()),
        ..outcome(&ty, "a")
    };
    store
        .record_many(&[full.clone(), bare.clone(), in_experiment.clone()])
        .await
        .expect("record");
    for o in [&full, &bare, &in_experiment] {
        assert_eq!(&store.get(o.task_id).await.expect("get"), o);
    }
    store.record_many(&[]).await.expect("nothing to record");
    assert_not_found(store.get(TaskId::new()).await, "outcome");
}

/// Recording a task again replaces its outcome.
pub async fn recording_again_replaces(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("again");
    let first = Outcome {
        status: OutcomeStatus::DeadLettered,
        ..outcome(&ty, "a")
    };
    store.record(&first).await.expect("record");
    let later = Outcome {
        status: OutcomeStatus::Completed,
        attempts: 1,
        finished_at: at(5_000),
        ..first.clone()
    };
    store.record(&later).await.expect("record again");
    assert_eq!(store.get(first.task_id).await.expect("get"), later);
    let all = store
        .list(&OutcomeFilter::new().task_type(&ty), 10)
        .await
        .expect("list");
    assert_eq!(all.len(), 1, "one outcome per task");
}

/// `get_many` answers the outcomes of the ids that have one.
pub async fn get_many_answers_the_recorded_ones(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("many");
    let recorded: Vec<Outcome> = (0..700).map(|_| outcome(&ty, "a")).collect();
    store.record_many(&recorded).await.expect("record");
    let mut ids: Vec<TaskId> = recorded.iter().map(|o| o.task_id).collect();
    ids.push(TaskId::new());
    ids.push(TaskId::new());
    let mut got = store.get_many(&ids).await.expect("get many");
    got.sort_by_key(|o| o.task_id);
    let mut want = recorded.clone();
    want.sort_by_key(|o| o.task_id);
    assert_eq!(got, want, "every recorded one, across chunks, and no other");
    assert!(store.get_many(&[]).await.expect("none").is_empty());
    let too_many = vec![TaskId::new(); MAX_LIMIT + 1];
    assert_invalid(store.get_many(&too_many).await, "at most");
}

/// A batch with one bad outcome, or too many, stores nothing.
pub async fn bad_input_stores_nothing(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("bad");
    let good = outcome(&ty, "a");
    let cases = [
        (
            Outcome {
                task_type: String::new(),
                ..outcome(&ty, "a")
            },
            "task type",
        ),
        (
            Outcome {
                agent: Some("x\ny".into()),
                ..outcome(&ty, "a")
            },
            "agent",
        ),
        (
            Outcome {
                attempts: 0,
                ..outcome(&ty, "a")
            },
            "attempts",
        ),
        (
            Outcome {
                cost_usd: Some(f64::NAN),
                ..outcome(&ty, "a")
            },
            "cost_usd",
        ),
        (
            Outcome {
                cost_usd: Some(-1.0),
                ..outcome(&ty, "a")
            },
            "cost_usd",
        ),
        (
            Outcome {
                score: Some(f64::INFINITY),
                ..outcome(&ty, "a")
            },
            "score",
        ),
        (
            Outcome {
                prompt_version: Some("v".repeat(201)),
                ..outcome(&ty, "a")
            },
            "prompt version",
        ),
    ];
    for (bad, named) in cases {
        assert_invalid(store.record_many(&[good.clone(), bad]).await, named);
    }
    let too_many = vec![good.clone(); MAX_LIMIT + 1];
    assert_invalid(store.record_many(&too_many).await, "at most");
    assert_not_found(store.get(good.task_id).await, "outcome");
    assert_invalid(store.list(&OutcomeFilter::new(), 0).await, "limit");
    assert_invalid(
        store.list(&OutcomeFilter::new(), MAX_LIMIT + 1).await,
        "limit",
    );
}

/// `list` narrows by each field of the filter and answers newest first.
pub async fn list_filters_newest_first(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("list");
    let other_ty = unique_name("list-other");
    let mut made = Vec::new();
    for i in 0..6i64 {
        let mut o = outcome(
            if i % 3 == 0 { &other_ty } else { &ty },
            if i % 2 == 0 { "even" } else { "odd" },
        );
        o.finished_at = at(i * 1000);
        o.prompt_version = Some(if i < 3 { "v1" } else { "v2" }.into());
        if i == 5 {
            o.experiment = Some(format!("{ty}-exp"));
        }
        made.push(o);
    }
    store.record_many(&made).await.expect("record");
    let ids = |list: Vec<Outcome>| list.iter().map(|o| o.task_id).collect::<Vec<_>>();
    let newest_first = |want: &[usize]| want.iter().map(|&i| made[i].task_id).collect::<Vec<_>>();

    let mine = OutcomeFilter::new().task_type(&ty);
    assert_eq!(
        ids(store.list(&mine, 100).await.expect("list")),
        newest_first(&[5, 4, 2, 1])
    );
    assert_eq!(
        ids(store.list(&mine, 2).await.expect("list")),
        newest_first(&[5, 4])
    );
    assert_eq!(
        ids(store
            .list(&mine.clone().agent("odd"), 100)
            .await
            .expect("list")),
        newest_first(&[5, 1])
    );
    assert_eq!(
        ids(store
            .list(&mine.clone().prompt_version("v1"), 100)
            .await
            .expect("list")),
        newest_first(&[2, 1])
    );
    assert_eq!(
        ids(store
            .list(&mine.clone().experiment(format!("{ty}-exp")), 100)
            .await
            .expect("list")),
        newest_first(&[5])
    );
    // The window is [since, until).
    assert_eq!(
        ids(store
            .list(&mine.clone().since(at(1000)).until(at(4000)), 100)
            .await
            .expect("list")),
        newest_first(&[2, 1])
    );
}

/// What the metrics of `outcomes` must be, counted directly.
fn direct(key: Option<String>, outcomes: &[&Outcome]) -> Metrics {
    let n = outcomes.len() as u64;
    let nearest_rank = |mut xs: Vec<u64>, p: u64| -> u64 {
        xs.sort_unstable();
        let rank = (xs.len() as u64 * p).div_ceil(100).max(1);
        xs[usize::try_from(rank - 1).expect("small")]
    };
    let succeeded = outcomes.iter().filter(|o| o.success()).count() as u64;
    let dead_lettered = n - succeeded;
    let cost: f64 = outcomes.iter().filter_map(|o| o.cost_usd).sum();
    let scores: Vec<f64> = outcomes.iter().filter_map(|o| o.score).collect();
    Metrics {
        key,
        tasks: n,
        succeeded,
        dead_lettered,
        success_rate: succeeded as f64 / n as f64,
        dead_letter_rate: dead_lettered as f64 / n as f64,
        retries: outcomes.iter().map(|o| u64::from(o.attempts) - 1).sum(),
        p50_run_ms: nearest_rank(outcomes.iter().map(|o| o.run_ms).collect(), 50),
        p95_run_ms: nearest_rank(outcomes.iter().map(|o| o.run_ms).collect(), 95),
        p50_wait_ms: nearest_rank(outcomes.iter().map(|o| o.wait_ms).collect(), 50),
        input_tokens: outcomes.iter().map(|o| o.input_tokens).sum(),
        output_tokens: outcomes.iter().map(|o| o.output_tokens).sum(),
        cost_usd: cost,
        priced: outcomes.iter().filter(|o| o.cost_usd.is_some()).count() as u64,
        cost_per_task: cost / n as f64,
        mean_score: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
        scored: scores.len() as u64,
    }
}

fn assert_close(got: &Metrics, want: &Metrics) {
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    assert_eq!(
        (
            got.key.as_ref(),
            got.tasks,
            got.succeeded,
            got.dead_lettered,
            got.retries
        ),
        (
            want.key.as_ref(),
            want.tasks,
            want.succeeded,
            want.dead_lettered,
            want.retries
        ),
        "{got:?}"
    );
    assert_eq!(
        (
            got.p50_run_ms,
            got.p95_run_ms,
            got.p50_wait_ms,
            got.input_tokens,
            got.output_tokens,
            got.scored,
            got.priced
        ),
        (
            want.p50_run_ms,
            want.p95_run_ms,
            want.p50_wait_ms,
            want.input_tokens,
            want.output_tokens,
            want.scored,
            want.priced
        ),
        "{got:?}"
    );
    for (a, b) in [
        (got.success_rate, want.success_rate),
        (got.dead_letter_rate, want.dead_letter_rate),
        (got.cost_usd, want.cost_usd),
        (got.cost_per_task, want.cost_per_task),
    ] {
        assert!(near(a, b), "{got:?} against {want:?}");
    }
    match (got.mean_score, want.mean_score) {
        (Some(a), Some(b)) => assert!(near(a, b), "{got:?}"),
        (a, b) => assert_eq!(a, b),
    }
}

/// The metrics of a few hundred varied outcomes equal a direct count, per
/// group and in all, inside a time window.
pub async fn metrics_equal_a_direct_count(h: &dyn OutcomeHarness) {
    let store = h.open().await;
    let ty = unique_name("metrics");
    let agents = ["alpha", "beta", "gamma"];
    let mut rng = SplitMix64::new(21);
    let mut made = Vec::new();
    for i in 0..400i64 {
        let pick = |rng: &mut SplitMix64, n: u64| rng.next_u64() % n;
        let mut o = outcome(
            &ty,
            agents[usize::try_from(pick(&mut rng, 3)).expect("small")],
        );
        o.status = if rng.next_f64() < 0.7 {
            OutcomeStatus::Completed
        } else {
            OutcomeStatus::DeadLettered
        };
        o.attempts = 1 + u32::try_from(pick(&mut rng, 3)).expect("small");
        o.run_ms = pick(&mut rng, 5000);
        o.wait_ms = pick(&mut rng, 800);
        o.input_tokens = pick(&mut rng, 2000);
        o.output_tokens = pick(&mut rng, 500);
        o.cost_usd = (i % 4 != 0)
            .then(|| f64::from(u32::try_from(pick(&mut rng, 1000)).expect("small")) / 1e4);
        o.score = (i % 5 != 0).then(|| rng.next_f64());
        o.prompt_version = (i % 7 != 0).then(|| format!("v{}", 1 + i % 2));
        o.arm = (i % 3 == 0)
            .then(|| ["control", "variant"][usize::try_from(i % 2).expect("small")].to_string());
        o.finished_at = at(i * 10);
        made.push(o);
    }
    store.record_many(&made).await.expect("record");
    let mine = OutcomeFilter::new().task_type(&ty);

    let all = store.metrics(&mine, GroupBy::All).await.expect("metrics");
    assert_eq!(all.len(), 1);
    assert_close(&all[0], &direct(None, &made.iter().collect::<Vec<_>>()));

    type Key = fn(&Outcome) -> Option<String>;
    let keys: [(GroupBy, Key); 3] = [
        (GroupBy::Agent, |o| o.agent.clone()),
        (GroupBy::PromptVersion, |o| o.prompt_version.clone()),
        (GroupBy::Arm, |o| o.arm.clone()),
    ];
    for (group_by, key) in keys {
        let got = store.metrics(&mine, group_by).await.expect("metrics");
        let mut want_keys: Vec<Option<String>> = made.iter().map(key).collect();
        want_keys.sort();
        want_keys.dedup();
        assert_eq!(
            got.iter().map(|m| m.key.clone()).collect::<Vec<_>>(),
            want_keys,
            "{group_by:?}"
        );
        for m in &got {
            let group: Vec<&Outcome> = made.iter().filter(|o| key(o) == m.key).collect();
            assert_close(m, &direct(m.key.clone(), &group));
        }
    }

    // A window and a narrower filter.
    let window = mine.clone().agent("beta").since(at(1000)).until(at(3000));
    let got = store
        .metrics(&window, GroupBy::TaskType)
        .await
        .expect("metrics");
    let group: Vec<&Outcome> = made
        .iter()
        .filter(|o| {
            o.agent.as_deref() == Some("beta")
                && o.finished_at >= at(1000)
                && o.finished_at < at(3000)
        })
        .collect();
    assert_eq!(got.len(), 1);
    assert_close(&got[0], &direct(Some(ty.clone()), &group));

    let none = store
        .metrics(&mine.clone().since(at(1_000_000)), GroupBy::Agent)
        .await
        .expect("metrics");
    assert!(none.is_empty(), "no outcome, no group: {none:?}");
}

/// Two handles see each other's writes; outcomes survive reopening.
pub async fn shared_and_durable(h: &dyn OutcomeHarness) {
    let ty = unique_name("shared");
    let (a, b) = (h.open().await, h.open().await);
    let o = outcome(&ty, "a");
    a.record(&o).await.expect("record");
    assert_eq!(b.get(o.task_id).await.expect("seen by the other"), o);
    drop((a, b));
    let again = h.open().await;
    assert_eq!(again.get(o.task_id).await.expect("after reopening"), o);
    let m = again
        .metrics(&OutcomeFilter::new().task_type(&ty), GroupBy::All)
        .await
        .expect("metrics");
    assert_eq!(m[0].tasks, 1);
}
