//! [`Experiments`]: experiments run live — started against the prompt
//! registry, tasks assigned to arms when they are leased, and every
//! active experiment looked at again on each [`Experiments::tick`]: its
//! observations (assigned tasks' stored outcomes) replayed through the
//! rules of [`super::decide`], its split updated, and a decision applied —
//! a winner promoted by moving the label, then watched, and moved back on
//! a regression.
//!
//! Everything is rebuilt from the stores: the assignments and the outcomes
//! are the state, so a process that restarts (or another process of the
//! fleet) reaches the same decision. Saves compare revisions, so when two
//! processes look at once only one applies a decision.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::assign::{pick, position, weights};
use super::decide::{evaluate, evaluate_watch, variant_name, ArmSummary};
use super::record::{
    Arm, ArmState, Assignment, Decision, DecisionKind, Experiment, ExperimentId, ExperimentStatus,
    NewExperiment, Observation, Watch, WatchVerdict, CONTROL, WATCH,
};
use super::store::{ExperimentStore, MAX_LIST};
use crate::error::{Error, Result};
use crate::outcome::{OutcomeRecorder, OutcomeStatus, MAX_LIMIT};
use crate::prompt::{MoveLabel, PromptRegistry};
use crate::queue::TaskId;

/// The events experiments emit (the hive logs them in its event feed).
pub mod kinds {
    /// An experiment started (`subject`: its id; `data`: `agent`, `label`,
    /// `arms`).
    pub const STARTED: &str = "experiment.started";
    /// An experiment decided (`data`: `agent`, `kind`, `arm`, `reason`).
    pub const DECIDED: &str = "experiment.decided";
    /// A winner was promoted: its label moved (`data`: `agent`, `label`,
    /// `from`, `to`).
    pub const PROMOTED: &str = "experiment.promoted";
    /// The watch saw a regression and moved the label back (`data`:
    /// `agent`, `label`, `from`, `to`, `reason`).
    pub const ROLLED_BACK: &str = "experiment.rolled_back";
    /// The watch saw no regression: the promotion stays (`data`: `reason`).
    pub const KEPT: &str = "experiment.kept";
    /// Someone stopped an experiment (`data`: `by`, `reason`).
    pub const STOPPED: &str = "experiment.stopped";
}

/// Where experiments report what they did: the hive passes its event feed.
pub type Notify = Arc<dyn Fn(&'static str, String, serde_json::Value) + Send + Sync>;

/// Mixed into the seed for the holdback draw, so it is independent of the
/// experiment's own split.
const HOLDBACK_SALT: u64 = 0x005e_ed0f_4a7c_b0c5;

/// How long the list of active experiments is reused when tasks are
/// assigned, before it is read again.
const ACTIVE_TTL: Duration = Duration::from_millis(500);

/// An experiment with its figures on the latest look.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// The experiment as stored.
    pub experiment: Experiment,
    /// Per arm: samples, mean, the difference from the control with its
    /// confidence sequence, rates, cost and p95.
    pub arms: Vec<ArmSummary>,
    /// The promoted version's watched tasks against the replaced one.
    pub watch: Option<ArmSummary>,
    /// Tasks assigned so far (some may not have finished).
    pub assigned: u64,
    /// Assigned tasks that finished: the observations.
    pub observations: u64,
}

/// The live experiments of one hive.
pub struct Experiments {
    store: Arc<dyn ExperimentStore>,
    prompts: Arc<dyn PromptRegistry>,
    outcomes: OutcomeRecorder,
    notify: Option<Notify>,
    active: Mutex<Option<(Instant, Arc<Vec<Experiment>>)>>,
    /// Observations already read, per experiment (outcomes do not change
    /// once an experiment has read them).
    seen: Mutex<HashMap<ExperimentId, HashMap<TaskId, Observation>>>,
}

impl std::fmt::Debug for Experiments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiments")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Experiments {
    /// Experiments kept in `store`, on the prompts of `prompts`, reading
    /// the outcomes `outcomes` stores, reporting to `notify`.
    pub fn new(
        store: Arc<dyn ExperimentStore>,
        prompts: Arc<dyn PromptRegistry>,
        outcomes: OutcomeRecorder,
        notify: Option<Notify>,
    ) -> Self {
        Experiments {
            store,
            prompts,
            outcomes,
            notify,
            active: Mutex::new(None),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ExperimentStore> {
        &self.store
    }

    fn note(&self, kind: &'static str, e: &Experiment, data: serde_json::Value) {
        if let Some(n) = &self.notify {
            n(kind, e.id.to_string(), data);
        }
    }

    fn forget_active(&self) {
        if let Ok(mut a) = self.active.lock() {
            *a = None;
        }
    }

    /// Starts an experiment.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for what [`NewExperiment::check`] refuses, a
    /// control other than the version the label points at, or a version of
    /// another agent; [`Error::NotFound`] for an unset label (an agent
    /// without prompts) or an unknown version; [`Error::Conflict`] when the
    /// label already has an active experiment. Nothing is stored then.
    pub async fn start(&self, new: NewExperiment) -> Result<Experiment> {
        new.check()?;
        let label = self.prompts.label(&new.agent, &new.label).await?;
        let control = new.control.unwrap_or(label.version);
        if control != label.version {
            return Err(Error::invalid(format!(
                "label {:?} of agent {:?} points at {}, not at the control {control}: \
                 the control is the version the label points at",
                new.label, new.agent, label.version
            )));
        }
        if new.variants.contains(&control) {
            return Err(Error::invalid(format!("variant {control} is the control")));
        }
        for v in std::iter::once(control).chain(new.variants.iter().copied()) {
            let version = self.prompts.get(v).await?;
            if version.agent != new.agent {
                return Err(Error::invalid(format!(
                    "version {v} is a prompt of agent {:?}, not of {:?}",
                    version.agent, new.agent
                )));
            }
        }
        let mut arms = vec![Arm {
            name: CONTROL.to_string(),
            version: control,
            state: ArmState::Active,
            reason: None,
        }];
        for (i, v) in new.variants.iter().enumerate() {
            arms.push(Arm {
                name: variant_name(i + 1),
                version: *v,
                state: ArmState::Active,
                reason: None,
            });
        }
        let now = Utc::now();
        let mut e = Experiment {
            id: ExperimentId::new(),
            agent: new.agent,
            label: new.label,
            weights: Vec::new(),
            arms,
            metric: new.metric,
            guardrails: new.guardrails,
            alpha: new.alpha,
            min_samples: new.min_samples,
            max_samples: new.max_samples,
            allocation: new.allocation,
            seed: new.seed.unwrap_or_else(|| {
                let id = uuid::Uuid::new_v4().as_u128();
                (id as u64) ^ ((id >> 64) as u64)
            }),
            watch_samples: new.watch_samples,
            watch_holdback: new.watch_holdback,
            started_by: new.started_by,
            approved_by: new.approved_by,
            status: ExperimentStatus::Running,
            decision: None,
            watch: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        e.weights = weights(&e, &[]);
        self.store.create(&e).await?;
        self.forget_active();
        self.note(
            kinds::STARTED,
            &e,
            json!({
                "agent": e.agent,
                "label": e.label,
                "arms": e.arms.iter().map(|a| json!({"name": a.name, "version": a.version})).collect::<Vec<_>>(),
            }),
        );
        Ok(e)
    }

    /// One experiment with its figures on a look taken now (after the
    /// outcomes this process has handed over are stored).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id; [`Error::Backend`].
    pub async fn report(&self, id: ExperimentId) -> Result<ExperimentReport> {
        self.outcomes.flush().await;
        let e = self.store.get(id).await?;
        let (assigned, obs) = self.observations(&e).await?;
        let ev = evaluate(&e, &obs, Utc::now());
        let watch = evaluate_watch(&e, &obs).1;
        // A finished experiment's arms are as it left them; a running
        // one's are as this look finds them.
        let arms = ev
            .summaries
            .into_iter()
            .zip(&e.arms)
            .map(|(mut s, a)| {
                if e.status != ExperimentStatus::Running {
                    s.state = a.state;
                    s.reason.clone_from(&a.reason);
                }
                s
            })
            .collect();
        Ok(ExperimentReport {
            observations: obs.len() as u64,
            assigned,
            arms,
            watch,
            experiment: e,
        })
    }

    /// Experiments of `agent` (all when `None`), only the active ones when
    /// `active_only`, newest first.
    ///
    /// # Errors
    /// As [`ExperimentStore::list`].
    pub async fn list(
        &self,
        agent: Option<&str>,
        active_only: bool,
        limit: usize,
    ) -> Result<Vec<Experiment>> {
        self.store.list(agent, active_only, limit).await
    }

    /// Stops an active experiment by hand: no label moves.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] when it is already
    /// finished; [`Error::InvalidInput`] for a bad name or reason.
    pub async fn stop(
        &self,
        id: ExperimentId,
        by: &str,
        reason: Option<&str>,
    ) -> Result<Experiment> {
        crate::names::check_label("stopper", by)?;
        let reason = reason.unwrap_or("stopped by hand");
        if reason.len() > crate::prompt::MAX_RATIONALE_BYTES {
            return Err(Error::invalid("the reason is too long"));
        }
        let mut e = self.store.get(id).await?;
        if e.status == ExperimentStatus::Finished {
            return Err(Error::conflict(format!(
                "experiment {id} is already finished"
            )));
        }
        let now = Utc::now();
        let observed = self.observations(&e).await?.1.len() as u64;
        if e.status == ExperimentStatus::Watching {
            if let Some(w) = &mut e.watch {
                w.reason = Some(format!("watch stopped by {by}: {reason}"));
                w.at = Some(now);
            }
        } else {
            e.decision = Some(Decision {
                kind: DecisionKind::Stopped,
                arm: None,
                reason: format!("stopped by {by}: {reason}"),
                observations: observed,
                at: now,
            });
        }
        e.status = ExperimentStatus::Finished;
        let e = self.store.save(&e).await?;
        self.forget_active();
        self.note(
            kinds::STOPPED,
            &e,
            json!({"agent": e.agent, "by": by, "reason": reason}),
        );
        Ok(e)
    }

    /// Approves the promotion of a winner waiting for it: the label moves,
    /// approved by `by`, and the watch begins.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] unless it awaits approval;
    /// [`Error::InvalidInput`] when `by` started it.
    pub async fn approve(&self, id: ExperimentId, by: &str) -> Result<Experiment> {
        crate::names::check_label("approver", by)?;
        let mut e = self.store.get(id).await?;
        if e.status != ExperimentStatus::AwaitingApproval {
            return Err(Error::conflict(format!(
                "experiment {id} is {}, not awaiting approval",
                e.status
            )));
        }
        if by == e.started_by {
            return Err(Error::invalid(format!(
                "the promotion must be approved by someone other than the starter {by:?}"
            )));
        }
        e.approved_by = Some(by.to_string());
        let arm = e
            .decision
            .as_ref()
            .and_then(|d| d.arm.clone())
            .ok_or_else(|| Error::backend("experiment", "a winner without an arm"))?;
        self.promote(e, &arm).await
    }

    /// The arm `task` of `agent` runs in, if one of the agent's
    /// experiments assigns it: decided by its id and the experiment's seed
    /// on its first lease and kept (a retry keeps its arm). During a
    /// watch, tasks are recorded in the watch arm with the promoted
    /// version.
    ///
    /// # Errors
    /// [`Error::Backend`] when the store fails.
    pub async fn assign(&self, agent: &str, task: TaskId) -> Result<Option<Assignment>> {
        let active = self.active().await?;
        for e in active.iter().filter(|e| e.agent == agent) {
            let arm = match e.status {
                ExperimentStatus::Running => match pick(task, e.seed, &e.weights) {
                    Some(i) => e.arms[i].name.clone(),
                    None => continue,
                },
                ExperimentStatus::Watching => match &e.watch {
                    // A share of the watch's tasks keeps going to the
                    // replaced version, so the comparison has a concurrent
                    // baseline, not only the experiment's.
                    Some(w) if position(task, e.seed ^ HOLDBACK_SALT) < e.watch_holdback => {
                        w.baseline_arm.clone()
                    }
                    _ => WATCH.to_string(),
                },
                _ => continue,
            };
            let stored = self.store.assign(e.id, task, &arm).await?;
            let version = if stored == WATCH {
                match &e.watch {
                    Some(w) => w.promoted,
                    None => continue,
                }
            } else {
                match e.arm(&stored) {
                    Some(a) => a.version,
                    None => continue,
                }
            };
            return Ok(Some(Assignment {
                experiment: e.id,
                arm: stored,
                version,
            }));
        }
        Ok(None)
    }

    async fn active(&self) -> Result<Arc<Vec<Experiment>>> {
        if let Ok(a) = self.active.lock() {
            if let Some((at, list)) = a.as_ref() {
                if at.elapsed() < ACTIVE_TTL {
                    return Ok(list.clone());
                }
            }
        }
        let list = Arc::new(self.store.list(None, true, MAX_LIST).await?);
        if let Ok(mut a) = self.active.lock() {
            *a = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// The experiment's assignments counted, and its observations (the
    /// assigned tasks that have an outcome) in finishing order.
    async fn observations(&self, e: &Experiment) -> Result<(u64, Vec<Observation>)> {
        let assigned = self.store.assignments(e.id).await?;
        let missing: Vec<(TaskId, String)> = {
            let seen = self.seen.lock().map_err(|_| poisoned())?;
            let known = seen.get(&e.id);
            assigned
                .iter()
                .filter(|(t, _)| known.is_none_or(|k| !k.contains_key(t)))
                .cloned()
                .collect()
        };
        let mut found = Vec::new();
        for chunk in missing.chunks(MAX_LIMIT) {
            let ids: Vec<TaskId> = chunk.iter().map(|(t, _)| *t).collect();
            let arms: HashMap<TaskId, &str> = chunk.iter().map(|(t, a)| (*t, a.as_str())).collect();
            for o in self.outcomes.store().get_many(&ids).await? {
                let Some(arm) = arms.get(&o.task_id) else {
                    continue;
                };
                found.push(Observation {
                    task_id: o.task_id,
                    arm: (*arm).to_string(),
                    success: o.status == OutcomeStatus::Completed,
                    score: o.score,
                    tokens: o.input_tokens + o.output_tokens,
                    cost_usd: o.cost_usd,
                    run_ms: o.run_ms,
                    finished_at: o.finished_at,
                });
            }
        }
        let mut seen = self.seen.lock().map_err(|_| poisoned())?;
        let known = seen.entry(e.id).or_default();
        for o in found {
            known.insert(o.task_id, o);
        }
        let mut obs: Vec<Observation> = known.values().cloned().collect();
        obs.sort_by_key(|o| (o.finished_at, o.task_id));
        Ok((assigned.len() as u64, obs))
    }

    /// Looks at every active experiment once: replays its observations,
    /// updates its arms and split, and applies what is decided. Answers
    /// how many experiments changed.
    ///
    /// # Errors
    /// [`Error::Backend`] when a store fails (the other experiments are
    /// still looked at; the first error is answered).
    pub async fn tick(&self) -> Result<usize> {
        let active = self.store.list(None, true, MAX_LIST).await?;
        let mut changed = 0;
        let mut first_error = None;
        for e in active {
            match self.look(e).await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                // Someone else saved first: the next look starts from theirs.
                Err(Error::Conflict(_)) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "an experiment could not be looked at");
                    first_error.get_or_insert(err);
                }
            }
        }
        if changed > 0 {
            self.forget_active();
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    async fn look(&self, mut e: Experiment) -> Result<bool> {
        match e.status {
            ExperimentStatus::Running => {
                let (_, obs) = self.observations(&e).await?;
                let ev = evaluate(&e, &obs, Utc::now());
                let before = (e.arms.clone(), e.weights.clone());
                e.arms = ev.arms;
                e.weights = weights(&e, &ev.summaries);
                match ev.decision {
                    None => {
                        if (e.arms.clone(), e.weights.clone()) == before {
                            return Ok(false);
                        }
                        self.store.save(&e).await?;
                        Ok(true)
                    }
                    Some(d) => {
                        self.decided(e, d).await?;
                        Ok(true)
                    }
                }
            }
            ExperimentStatus::Watching => {
                let (_, obs) = self.observations(&e).await?;
                let (verdict, _) = evaluate_watch(&e, &obs);
                let Some((verdict, reason)) = verdict else {
                    return Ok(false);
                };
                let Some(watch) = e.watch.clone() else {
                    return Ok(false);
                };
                let now = Utc::now();
                e.watch = Some(Watch {
                    verdict: Some(verdict),
                    reason: Some(reason.clone()),
                    at: Some(now),
                    ..watch.clone()
                });
                e.status = ExperimentStatus::Finished;
                // The label moves back before the status says so: whoever
                // reads `rolled_back` finds the label where it says.
                if verdict == WatchVerdict::RolledBack {
                    self.move_label_once(&e, watch.replaced, &reason).await?;
                }
                let e = self.store.save(&e).await?;
                match verdict {
                    WatchVerdict::RolledBack => {
                        self.note(
                            kinds::ROLLED_BACK,
                            &e,
                            json!({
                                "agent": e.agent, "label": e.label,
                                "from": watch.promoted, "to": watch.replaced, "reason": reason,
                            }),
                        );
                    }
                    WatchVerdict::Kept => {
                        self.note(kinds::KEPT, &e, json!({"agent": e.agent, "reason": reason}));
                    }
                }
                Ok(true)
            }
            ExperimentStatus::AwaitingApproval | ExperimentStatus::Finished => Ok(false),
        }
    }

    /// Applies a decision: a winner is promoted (or waits for approval of
    /// a protected label); any other decision finishes the experiment.
    async fn decided(&self, mut e: Experiment, d: Decision) -> Result<()> {
        let data = json!({
            "agent": e.agent, "kind": d.kind, "arm": d.arm, "reason": d.reason,
        });
        let winner = d.arm.clone().filter(|_| d.kind == DecisionKind::Winner);
        e.decision = Some(d);
        match winner {
            Some(arm) => {
                let label = self.prompts.label(&e.agent, &e.label).await?;
                if label.protected && e.approved_by.is_none() {
                    e.status = ExperimentStatus::AwaitingApproval;
                    let e = self.store.save(&e).await?;
                    self.note(kinds::DECIDED, &e, data);
                } else {
                    self.note(kinds::DECIDED, &e, data);
                    self.promote(e, &arm).await?;
                }
            }
            None => {
                e.status = ExperimentStatus::Finished;
                let e = self.store.save(&e).await?;
                self.note(kinds::DECIDED, &e, data);
            }
        }
        Ok(())
    }

    /// Claims the promotion (a compare-and-set save), then moves the label
    /// to the winner and starts the watch (or finishes, without one).
    async fn promote(&self, mut e: Experiment, arm: &str) -> Result<Experiment> {
        let winner = e
            .arm(arm)
            .map(|a| a.version)
            .ok_or_else(|| Error::backend("experiment", format!("no arm {arm}")))?;
        let baseline = e.arms[0].clone();
        let reason = e
            .decision
            .as_ref()
            .map_or_else(String::new, |d| d.reason.clone());
        // The label moves before the status says so: whoever reads
        // `watching` (or a finished winner) finds the label on the winner.
        // A process that dies in between leaves the experiment running;
        // the next look decides the same and finds the label moved.
        self.move_label_once(&e, winner, &reason).await?;
        e.status = if e.watch_samples > 0 {
            ExperimentStatus::Watching
        } else {
            ExperimentStatus::Finished
        };
        e.watch = (e.watch_samples > 0).then(|| Watch {
            promoted: winner,
            replaced: baseline.version,
            baseline_arm: baseline.name.clone(),
            since: Utc::now(),
            verdict: None,
            reason: None,
            at: None,
        });
        let e = self.store.save(&e).await?;
        self.forget_active();
        self.note(
            kinds::PROMOTED,
            &e,
            json!({
                "agent": e.agent, "label": e.label, "from": baseline.version, "to": winner,
            }),
        );
        Ok(e)
    }

    /// Moves the label to `to` unless it is there already (another process
    /// of the fleet, or this one before a crash, moved it).
    async fn move_label_once(
        &self,
        e: &Experiment,
        to: crate::prompt::PromptVersionId,
        reason: &str,
    ) -> Result<()> {
        match self.prompts.label(&e.agent, &e.label).await {
            Ok(l) if l.version == to => Ok(()),
            _ => self.move_label(e, to, reason).await,
        }
    }

    async fn move_label(
        &self,
        e: &Experiment,
        to: crate::prompt::PromptVersionId,
        reason: &str,
    ) -> Result<()> {
        let mut request = MoveLabel::new(&e.agent, &e.label, to, format!("experiment {}", e.id))
            .reason(truncate(reason));
        request.approved_by.clone_from(&e.approved_by);
        self.prompts.move_label(request).await?;
        Ok(())
    }
}

fn truncate(s: &str) -> String {
    let max = crate::prompt::MAX_RATIONALE_BYTES;
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn poisoned() -> Error {
    Error::backend("experiment", "a lock was poisoned by a panic")
}
