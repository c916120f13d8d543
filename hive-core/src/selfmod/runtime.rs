//! [`SelfModifier`]: the change-set state machine. Each step runs as one
//! queue task of type [`STEP_TASK`]; a step reads the change set, does its
//! work, saves the change set with its log and the next step (compare and
//! set), then submits the next step's task under an idempotency key made
//! of the change set and the step. So a crash anywhere is a retried task:
//! a step whose save landed finds the change set already past it and only
//! makes sure the next task exists; a step whose save did not land runs
//! again from its start (every step is written to be re-run: the worktree
//! is recreated, test files restored again, commands run again).
//!
//! Nothing here touches the repository's own working tree: the change
//! lives on its branch in worktrees under the repository's git directory,
//! until the merge fast-forwards the target ref (see [`super::git`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::bench::BenchFigures;
use super::gate::{check_path, static_gate, RiskClass};
use super::git::Repo;
use super::policy::Policy;
use super::record::{
    ChangeDecision, ChangeSet, ChangeSetId, ChangeSource, ChangeStatus, DiffStats, NewChangeSet,
    Step, StepLog,
};
use super::sql_store::check_repository;
use super::store::ChangeSetStore;
use crate::error::{Error, Result};
use crate::queue::{NewTask, Queue, QueueExt, TaskPriority};
use crate::sandbox::{EnvPolicy, Isolation, ProcessOutcome, ScrubbedCommand};

/// The task type of a change set's steps.
pub const STEP_TASK: &str = "hive.change";
/// The capability the self-modifier's agent declares and its tasks require,
/// so no other agent takes them.
pub const CAPABILITY: &str = "hive.self-modify";
/// The most bytes of a command's output kept in a step's log.
pub const LOG_LIMIT: usize = 16 * 1024;

/// The events a change set emits (`subject`: its id).
pub mod kinds {
    /// A change set was proposed (`data`: `repository`, `title`).
    pub const PROPOSED: &str = "change.proposed";
    /// A step ended (`data`: `step`, `passed`, `summary`).
    pub const STEP: &str = "change.step";
    /// A critical change set waits for an approval (`data`: `deadline`).
    pub const AWAITING_APPROVAL: &str = "change.awaiting_approval";
    /// The target was fast-forwarded (`data`: `commit`, `rollback_tag`).
    pub const MERGED: &str = "change.merged";
    /// It was rejected (`data`: `reason`).
    pub const REJECTED: &str = "change.rejected";
    /// A merged change set was reverted (`data`: `commit`, `reason`).
    pub const REVERTED: &str = "change.reverted";
    /// It is done (`data`: `commit`).
    pub const DONE: &str = "change.done";
    /// Its revert failed: a person must look (`data`: `reason`).
    pub const FAILED: &str = "change.failed";
}

/// How events leave the self-modifier (the hive connects it to its feed).
pub type Notify = Arc<dyn Fn(&'static str, String, Value) + Send + Sync>;

/// A repository the self-modifier may change.
#[derive(Clone, Debug)]
pub struct RepositoryConfig {
    /// Its name in change sets and over the API.
    pub name: String,
    /// Its directory (the working tree's root, or a bare repository).
    pub path: PathBuf,
    /// The branch changes merge into. Default `main`.
    pub target: String,
    /// Its policy.
    pub policy: Policy,
    /// The coding command for [`ChangeSource::Agent`] change sets: a
    /// program and its arguments, `{prompt}` in any of them replaced by
    /// the prompt; run in the change's worktree, with the network (a
    /// coding CLI talks to its model) and [`RepositoryConfig::coder_env`].
    /// None: such change sets are refused.
    pub coder: Option<Vec<String>>,
    /// The coding command's environment. Default [`EnvPolicy::default`]
    /// (what Claude Code needs, its key included).
    pub coder_env: EnvPolicy,
    /// The coding command's timeout. Default 30 minutes.
    pub coder_timeout: Duration,
    /// Where worktrees go. Default `<git dir>/hive/changes`.
    pub work_dir: Option<PathBuf>,
}

impl RepositoryConfig {
    /// A repository at `path` merging into `target` under `policy`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, policy: Policy) -> Self {
        RepositoryConfig {
            name: name.into(),
            path: path.into(),
            target: "main".into(),
            policy,
            coder: None,
            coder_env: EnvPolicy::default(),
            coder_timeout: ScrubbedCommand::DEFAULT_TIMEOUT,
            work_dir: None,
        }
    }

    /// Sets the target branch.
    pub fn target(mut self, branch: impl Into<String>) -> Self {
        self.target = branch.into();
        self
    }

    /// Sets the coding command.
    pub fn coder(mut self, argv: Vec<String>) -> Self {
        self.coder = Some(argv);
        self
    }

    /// Sets the coding command's environment.
    pub fn coder_env(mut self, env: EnvPolicy) -> Self {
        self.coder_env = env;
        self
    }
}

/// A step's task payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StepTask {
    change_set: ChangeSetId,
    step: Step,
    /// The approval deadline's check rather than the step itself.
    #[serde(default)]
    approval_timeout: bool,
}

/// How far a gate's command is confined.
#[derive(Clone, Copy, Debug)]
enum Confine {
    /// Scrubbed environment, process group and timeout only.
    None,
    /// Also namespaces: no network, read-only outside its directories.
    Isolated,
    /// Namespaces with the network kept (a coding CLI talks to its model).
    FilesOnly,
}

impl Confine {
    /// Isolated when the policy isolates (or, with `network`, files only).
    fn by(policy: &Policy, network: bool) -> Confine {
        match (policy.sandbox.isolate, network) {
            (false, _) => Confine::None,
            (true, false) => Confine::Isolated,
            (true, true) => Confine::FilesOnly,
        }
    }
}

/// What a step decided.
enum Next {
    /// Go on to this step.
    Step(Step),
    /// Refused: the target never moved.
    Reject(String),
    /// Saved as the step left it (waiting, watching, done): nothing to
    /// submit.
    Stop,
}

/// A step's result: its log line and what comes next.
struct Ran {
    passed: bool,
    summary: String,
    output: String,
    next: Next,
}

impl Ran {
    fn pass(summary: impl Into<String>, output: String, next: Step) -> Ran {
        Ran {
            passed: true,
            summary: summary.into(),
            output,
            next: Next::Step(next),
        }
    }

    fn refuse(summary: impl Into<String>, output: String) -> Ran {
        let summary = summary.into();
        Ran {
            passed: false,
            summary: summary.clone(),
            output,
            next: Next::Reject(summary),
        }
    }
}

/// The self-modifier: proposes change sets and runs their steps.
pub struct SelfModifier {
    store: Arc<dyn ChangeSetStore>,
    queue: Arc<dyn Queue>,
    repositories: RwLock<BTreeMap<String, Arc<RepositoryConfig>>>,
    notify: Option<Notify>,
    author: (String, String),
}

impl std::fmt::Debug for SelfModifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfModifier")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

fn outcome_text(o: &ProcessOutcome) -> String {
    let how = if o.timed_out {
        "timed out".to_string()
    } else if let Some(code) = o.exit_code {
        format!("exit {code}")
    } else if let Some(sig) = o.signal {
        format!("killed by signal {sig}")
    } else {
        "ended".to_string()
    };
    tail(
        &format!(
            "[{how} after {:.1} s]\n{}{}",
            o.duration.as_secs_f64(),
            o.stdout,
            o.stderr
        ),
        LOG_LIMIT,
    )
}

/// Runs blocking git work off the runtime's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend("git", format!("a git operation panicked: {e}")))?
}

/// The directories of one change set.
struct Dirs {
    root: PathBuf,
    candidate: PathBuf,
    base: PathBuf,
    watch: PathBuf,
    tmp: PathBuf,
}

impl SelfModifier {
    /// A self-modifier keeping change sets in `store` and running their
    /// steps through `queue`.
    pub fn new(
        store: Arc<dyn ChangeSetStore>,
        queue: Arc<dyn Queue>,
        notify: Option<Notify>,
    ) -> Self {
        SelfModifier {
            store,
            queue,
            repositories: RwLock::new(BTreeMap::new()),
            notify,
            author: ("Agent Hive".into(), "hive@localhost".into()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ChangeSetStore> {
        &self.store
    }

    /// Adds (or replaces) a repository the self-modifier may change.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad name, a directory that is not a
    /// git repository, or a target branch it lacks.
    pub async fn add_repository(&self, config: RepositoryConfig) -> Result<()> {
        check_repository(&config.name)?;
        config.policy.check()?;
        if let Some(coder) = &config.coder {
            if coder.first().is_none_or(|p| p.is_empty()) {
                return Err(Error::invalid("the coding command needs a program"));
            }
        }
        let (path, target) = (config.path.clone(), config.target.clone());
        blocking(move || {
            let repo = Repo::open(&path)?;
            repo.resolve_branch(&target).map_err(|e| {
                Error::invalid(format!(
                    "repository {}: no target branch {target:?}: {e}",
                    path.display()
                ))
            })
        })
        .await?;
        if let Ok(mut repos) = self.repositories.write() {
            repos.insert(config.name.clone(), Arc::new(config));
        }
        Ok(())
    }

    /// The repositories it may change, by name.
    pub fn repositories(&self) -> Vec<Arc<RepositoryConfig>> {
        self.repositories
            .read()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default()
    }

    fn repository(&self, name: &str) -> Result<Arc<RepositoryConfig>> {
        self.repositories
            .read()
            .ok()
            .and_then(|r| r.get(name).cloned())
            .ok_or_else(|| Error::not_found("repository", name))
    }

    fn emit(&self, kind: &'static str, id: ChangeSetId, data: Value) {
        if let Some(notify) = &self.notify {
            notify(kind, id.to_string(), data);
        }
    }

    /// Stores a new change set and queues its first step.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad title or an empty change, an
    /// agent change set on a repository without a coding command;
    /// [`Error::NotFound`] for an unknown repository.
    pub async fn propose(&self, new: NewChangeSet) -> Result<ChangeSet> {
        new.check()?;
        let repo = self.repository(&new.repository)?;
        if matches!(new.source, ChangeSource::Agent { .. }) && repo.coder.is_none() {
            return Err(Error::invalid(format!(
                "repository {} has no coding command: supply a patch",
                repo.name
            )));
        }
        let now = Utc::now();
        let id = ChangeSetId::new();
        let change = ChangeSet {
            id,
            repository: repo.name.clone(),
            target: repo.target.clone(),
            title: new.title.trim().to_string(),
            description: new.description,
            source: new.source,
            proposal: new.proposal,
            requested_by: new.requested_by,
            status: ChangeStatus::Running,
            step: Step::Prepare,
            branch: format!("hive/change/{}", id.short()),
            base_commit: None,
            head_commit: None,
            diff: None,
            static_verdict: None,
            risk: None,
            bench: None,
            decision: None,
            approval_deadline: None,
            rollback_tag: None,
            merged_commit: None,
            revert_commit: None,
            reason: None,
            logs: Vec::new(),
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.store.create(&change).await?;
        self.emit(
            kinds::PROPOSED,
            id,
            json!({"repository": change.repository, "title": change.title}),
        );
        self.submit_step(id, Step::Prepare, None).await?;
        Ok(change)
    }

    /// One change set.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn get(&self, id: ChangeSetId) -> Result<ChangeSet> {
        self.store.get(id).await
    }

    /// Change sets, newest first.
    ///
    /// # Errors
    /// As [`ChangeSetStore::list`].
    pub async fn list(
        &self,
        repository: Option<&str>,
        status: Option<ChangeStatus>,
        limit: usize,
    ) -> Result<Vec<ChangeSet>> {
        self.store.list(repository, status, limit).await
    }

    async fn submit_step(
        &self,
        id: ChangeSetId,
        step: Step,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<()> {
        let timeout = at.is_some();
        let payload = serde_json::to_value(StepTask {
            change_set: id,
            step,
            approval_timeout: timeout,
        })
        .map_err(|e| Error::invalid(e.to_string()))?;
        let key = if timeout {
            format!("change:{id}:approval-timeout")
        } else {
            format!("change:{id}:{}", step.as_str())
        };
        let mut task = NewTask::new(STEP_TASK, payload)
            .requires([CAPABILITY])
            .priority(TaskPriority::HIGH)
            .idempotency_key(key)
            .max_attempts(5);
        if let Some(at) = at {
            task = task.run_at(at);
        }
        self.queue.submit(task).await?;
        Ok(())
    }

    /// Approves a change set waiting for one: it goes on to its merge.
    ///
    /// # Errors
    /// [`Error::Conflict`] when it is not waiting for an approval;
    /// [`Error::InvalidInput`] for an empty approver name.
    pub async fn approve(&self, id: ChangeSetId, by: &str, reason: &str) -> Result<ChangeSet> {
        if by.trim().is_empty() {
            return Err(Error::invalid("an approval needs the approver's name"));
        }
        let mut c = self.store.get(id).await?;
        if c.status != ChangeStatus::AwaitingApproval {
            return Err(Error::conflict(format!(
                "change set {id} is {}, not awaiting approval",
                c.status.as_str()
            )));
        }
        c.decision = Some(ChangeDecision {
            by: by.into(),
            at: Utc::now(),
            reason: reason.into(),
        });
        c.status = ChangeStatus::Running;
        c.step = Step::Merge;
        let saved = self.store.save(&c).await?;
        self.submit_step(id, Step::Merge, None).await?;
        Ok(saved)
    }

    /// Rejects a change set that has not merged.
    ///
    /// # Errors
    /// [`Error::Conflict`] when it has merged or already ended.
    pub async fn reject(&self, id: ChangeSetId, by: &str, reason: &str) -> Result<ChangeSet> {
        if by.trim().is_empty() {
            return Err(Error::invalid("a rejection needs the rejecter's name"));
        }
        let mut c = self.store.get(id).await?;
        if !matches!(
            c.status,
            ChangeStatus::Running | ChangeStatus::AwaitingApproval
        ) || c.merged_commit.is_some()
        {
            return Err(Error::conflict(format!(
                "change set {id} is {}: only one that has not merged can be rejected",
                c.status.as_str()
            )));
        }
        c.decision = Some(ChangeDecision {
            by: by.into(),
            at: Utc::now(),
            reason: reason.into(),
        });
        let why = format!("rejected by {by}: {reason}");
        self.finish_rejected(c, why).await
    }

    /// Reverts a merged change set by a new commit on its target.
    ///
    /// # Errors
    /// [`Error::Conflict`] when it has not merged, was reverted, or the
    /// revert does not apply cleanly.
    pub async fn revert(&self, id: ChangeSetId, by: &str, reason: &str) -> Result<ChangeSet> {
        if by.trim().is_empty() {
            return Err(Error::invalid("a revert needs the name of who asks"));
        }
        let c = self.store.get(id).await?;
        if !matches!(c.status, ChangeStatus::Done | ChangeStatus::Watching) {
            return Err(Error::conflict(format!(
                "change set {id} is {}: only a merged one can be reverted",
                c.status.as_str()
            )));
        }
        self.revert_merged(c, format!("reverted by {by}: {reason}"), false)
            .await
    }

    /// Runs the step a task names; what the self-modifier's agent calls.
    ///
    /// # Errors
    /// What a retry may fix (storage, git's own failures); refusals by a
    /// gate are not errors but a rejected change set.
    pub async fn run_task(&self, payload: &Value, cancel: &CancellationToken) -> Result<Value> {
        let task: StepTask = serde_json::from_value(payload.clone())
            .map_err(|e| Error::invalid(format!("not a change-set step: {e}")))?;
        let c = self.store.get(task.change_set).await?;
        if task.approval_timeout {
            return self.approval_timeout(c).await;
        }
        if c.status.is_final() {
            return Ok(json!({"change_set": c.id, "status": c.status, "skipped": true}));
        }
        if c.step != task.step {
            // An earlier run of this task saved and died before queueing
            // the next step: queue it now (the key makes it once).
            if c.status == ChangeStatus::Running || c.status == ChangeStatus::Watching {
                self.submit_step(c.id, c.step, None).await?;
            }
            return Ok(json!({"change_set": c.id, "step": c.step, "skipped": true}));
        }
        let repo = self.repository(&c.repository)?;
        let attempt = c.attempts(task.step) + 1;
        let started = Utc::now();
        let mut c = c;
        let ran = match task.step {
            Step::Prepare => self.prepare(&mut c, &repo).await?,
            Step::Generate => self.generate(&mut c, &repo, cancel).await?,
            Step::StaticGate => self.static_step(&mut c, &repo)?,
            Step::Tests => self.tests(&mut c, &repo, cancel).await?,
            Step::Bench => self.bench(&mut c, &repo, cancel).await?,
            Step::Review => return self.review(c, &repo).await,
            Step::Merge => return self.merge(c, &repo).await,
            Step::Watch => return self.watch(c, &repo, cancel).await,
        };
        self.conclude(c, task.step, attempt, started, ran).await
    }

    /// Records a step's log on the change set the step worked on, then
    /// moves it on (or rejects it). A save that finds the change set
    /// changed meanwhile (a person rejected it) does not overwrite it.
    async fn conclude(
        &self,
        mut c: ChangeSet,
        step: Step,
        attempt: u32,
        started: chrono::DateTime<Utc>,
        ran: Ran,
    ) -> Result<Value> {
        c.logs.push(StepLog {
            step,
            attempt,
            started_at: started,
            finished_at: Utc::now(),
            passed: ran.passed,
            summary: ran.summary.clone(),
            output: ran.output,
        });
        self.emit(
            kinds::STEP,
            c.id,
            json!({"step": step, "passed": ran.passed, "summary": ran.summary}),
        );
        match ran.next {
            Next::Step(next) => {
                c.step = next;
                let saved = self.save_or_yield(&c).await?;
                if let Some(saved) = saved {
                    self.submit_step(saved.id, next, None).await?;
                }
                Ok(json!({"change_set": c.id, "step": step, "next": next}))
            }
            Next::Reject(why) => {
                let done = self.finish_rejected(c, why).await?;
                Ok(json!({"change_set": done.id, "status": done.status}))
            }
            Next::Stop => {
                self.save_or_yield(&c).await?;
                Ok(json!({"change_set": c.id, "step": step, "status": c.status}))
            }
        }
    }

    /// Saves `c`; when it changed meanwhile and has ended (a person
    /// rejected it), cleans up and answers `None`; any other conflict is
    /// an error (the task runs the step again on what is stored).
    async fn save_or_yield(&self, c: &ChangeSet) -> Result<Option<ChangeSet>> {
        match self.store.save(c).await {
            Ok(saved) => Ok(Some(saved)),
            Err(Error::Conflict(why)) => {
                let stored = self.store.get(c.id).await?;
                if stored.status.is_final() {
                    self.cleanup(&stored).await;
                    Ok(None)
                } else {
                    Err(Error::Conflict(why))
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn finish_rejected(&self, mut c: ChangeSet, why: String) -> Result<ChangeSet> {
        c.status = ChangeStatus::Rejected;
        c.reason = Some(why.clone());
        self.cleanup(&c).await;
        let saved = self.store.save(&c).await?;
        self.emit(kinds::REJECTED, c.id, json!({"reason": why}));
        Ok(saved)
    }

    /// Removes the change set's worktrees, branches and directory — before
    /// its final status is saved, so whoever sees the status sees the
    /// repository as it stays. What a finished change set leaves is its
    /// record, its rollback tag and (when
    /// merged) its commit on the target.
    async fn cleanup(&self, c: &ChangeSet) {
        let Ok(repo) = self.repository(&c.repository) else {
            return;
        };
        let dirs = self.dirs(c, &repo);
        let (path, id, branch) = (repo.path.clone(), c.id, c.branch.clone());
        let done = blocking(move || {
            let git = Repo::open(&path)?;
            for (which, dir) in [
                ("candidate", &dirs.candidate),
                ("base", &dirs.base),
                ("watch", &dirs.watch),
            ] {
                git.remove_worktree(&worktree_name(id, which), dir)?;
            }
            for b in [
                branch.clone(),
                format!("{branch}-base"),
                format!("{branch}-watch"),
            ] {
                git.delete_branch(&b)?;
            }
            match std::fs::remove_dir_all(&dirs.root) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::backend(
                    "git",
                    format!("cannot remove {}: {e}", dirs.root.display()),
                )),
                _ => Ok(()),
            }
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(change_set = %c.id, error = %e, "a change set's worktrees were not all removed");
        }
    }

    /// A gate's command in `dir`, sandboxed as the policy says.
    fn gate_command(
        &self,
        policy: &Policy,
        argv: &[String],
        dir: &Path,
        tmp: &Path,
        timeout: Duration,
        confine: Confine,
    ) -> Result<ScrubbedCommand> {
        std::fs::create_dir_all(tmp).map_err(|e| {
            Error::backend("sandbox", format!("cannot create {}: {e}", tmp.display()))
        })?;
        let mut env = EnvPolicy::empty();
        for name in &policy.sandbox.env {
            env = env.allow(name.clone());
        }
        env = env.set("TMPDIR", tmp.display().to_string());
        let command = ScrubbedCommand::new(argv.to_vec(), dir)?
            .env(env)
            .timeout(timeout)
            .output_limit(LOG_LIMIT);
        let network = match confine {
            Confine::None => return Ok(command),
            Confine::Isolated => false,
            Confine::FilesOnly => true,
        };
        let mut writable = vec![dir.to_path_buf(), tmp.to_path_buf()];
        writable.extend(policy.sandbox.writable.iter().map(PathBuf::from));
        Ok(command.isolate(
            Isolation::new(writable)
                .network(network)
                .limits(policy.sandbox.limits.clone()),
        ))
    }

    /// Makes (or remakes) worktree `which` of the change set at `commit`.
    async fn worktree(
        &self,
        c: &ChangeSet,
        repo: &RepositoryConfig,
        which: &str,
        commit: &str,
    ) -> Result<PathBuf> {
        let dirs = self.dirs(c, repo);
        let dir = match which {
            "candidate" => dirs.candidate,
            "base" => dirs.base,
            _ => dirs.watch,
        };
        let branch = match which {
            "candidate" => c.branch.clone(),
            other => format!("{}-{other}", c.branch),
        };
        let (path, name, commit, at) = (
            repo.path.clone(),
            worktree_name(c.id, which),
            commit.to_string(),
            dir.clone(),
        );
        blocking(move || Repo::open(&path)?.add_worktree(&name, &at, &branch, &commit)).await?;
        Ok(dir)
    }

    async fn prepare(&self, c: &mut ChangeSet, repo: &RepositoryConfig) -> Result<Ran> {
        let (path, target) = (repo.path.clone(), c.target.clone());
        let base = blocking(move || Repo::open(&path)?.resolve_branch(&target)).await?;
        self.worktree(c, repo, "candidate", &base).await?;
        let summary = format!("worktree at {} ({} as it is now)", short(&base), c.target);
        c.base_commit = Some(base);
        Ok(Ran::pass(summary, String::new(), Step::Generate))
    }

    async fn generate(
        &self,
        c: &mut ChangeSet,
        repo: &RepositoryConfig,
        cancel: &CancellationToken,
    ) -> Result<Ran> {
        let base = required(&c.base_commit, "base commit")?;
        // From a clean worktree at the base, whatever an earlier run left.
        let dir = self.worktree(c, repo, "candidate", &base).await?;
        let mut output = String::new();
        match &c.source {
            ChangeSource::Patch { patch } => {
                let paths = match Repo::patch_paths(patch) {
                    Ok(p) => p,
                    Err(e) => return Ok(Ran::refuse(format!("not a patch: {e}"), output)),
                };
                let bad: Vec<String> = paths.iter().filter_map(|p| check_path(p)).collect();
                if !bad.is_empty() {
                    return Ok(Ran::refuse(
                        format!(
                            "the patch names paths no change may touch: {}",
                            bad.join("; ")
                        ),
                        output,
                    ));
                }
                let (at, text) = (dir.clone(), patch.clone());
                if let Err(e) = blocking(move || Repo::apply_patch(&at, &text)).await {
                    return Ok(Ran::refuse(
                        format!("the patch does not apply: {e}"),
                        output,
                    ));
                }
            }
            ChangeSource::Agent { prompt } => {
                let Some(coder) = &repo.coder else {
                    return Ok(Ran::refuse("the repository has no coding command", output));
                };
                let argv: Vec<String> = coder
                    .iter()
                    .map(|a| a.replace("{prompt}", prompt))
                    .collect();
                let tmp = self.dirs(c, repo).tmp;
                let mut command = self
                    .gate_command(
                        &repo.policy,
                        &argv,
                        &dir,
                        &tmp,
                        repo.coder_timeout,
                        Confine::by(&repo.policy, true),
                    )?
                    .env(
                        repo.coder_env
                            .clone()
                            .set("TMPDIR", tmp.display().to_string()),
                    );
                command = command.timeout(repo.coder_timeout);
                let done = command.run(cancel).await?;
                output = outcome_text(&done);
                if !done.success() {
                    return Ok(Ran::refuse("the coding command failed", output));
                }
            }
        }
        let message = commit_message(c);
        let author = self.author.clone();
        let at = dir.clone();
        let head = blocking(move || Repo::snapshot(&at, &message, (&author.0, &author.1))).await?;
        let Some(head) = head else {
            return Ok(Ran::refuse("the change is empty", output));
        };
        let (path, from, to) = (repo.path.clone(), base.clone(), head.clone());
        let changes = blocking(move || Repo::open(&path)?.diff(&from, &to)).await?;
        let stats = DiffStats::of(changes);
        let summary = format!(
            "commit {}: {} files, +{} -{}",
            short(&head),
            stats.files,
            stats.insertions,
            stats.deletions
        );
        c.head_commit = Some(head);
        c.diff = Some(stats);
        Ok(Ran::pass(summary, output, Step::StaticGate))
    }

    fn static_step(&self, c: &mut ChangeSet, repo: &RepositoryConfig) -> Result<Ran> {
        let diff = c.diff.clone().unwrap_or_default();
        let verdict = static_gate(&diff.changes, &repo.policy);
        c.risk = Some(verdict.risk());
        let ran = if verdict.passed() {
            let risk = match verdict.risk() {
                RiskClass::Normal => "normal".to_string(),
                RiskClass::Critical => format!("critical ({})", verdict.critical.join("; ")),
            };
            Ran::pass(
                format!("{} lines; risk {risk}", verdict.lines),
                String::new(),
                Step::Tests,
            )
        } else {
            Ran::refuse(verdict.refused.join("; "), String::new())
        };
        c.static_verdict = Some(verdict);
        Ok(ran)
    }

    async fn tests(
        &self,
        c: &mut ChangeSet,
        repo: &RepositoryConfig,
        cancel: &CancellationToken,
    ) -> Result<Ran> {
        let base = required(&c.base_commit, "base commit")?;
        let head = required(&c.head_commit, "head commit")?;
        let verdict = c.static_verdict.clone().unwrap_or_default();
        let policy = &repo.policy;
        let dirs = self.dirs(c, repo);
        let timeout = Duration::from_secs(policy.test.timeout_secs);
        let mut output = isolation_note(policy);

        // The change's tests, with every test file it touched put back as
        // the base has it: it cannot pass by editing a test.
        let dir = self.worktree(c, repo, "candidate", &head).await?;
        if !verdict.changed_tests.is_empty() {
            let (path, at, from, files) = (
                repo.path.clone(),
                dir.clone(),
                base.clone(),
                verdict.changed_tests.clone(),
            );
            blocking(move || Repo::open(&path)?.restore_files(&at, &from, &files)).await?;
            output.push_str(&format!(
                "restored from the base: {}\n",
                verdict.changed_tests.join(", ")
            ));
        }
        let run = self
            .gate_command(
                policy,
                &policy.test.command,
                &dir,
                &dirs.tmp,
                timeout,
                Confine::by(policy, false),
            )?
            .run(cancel)
            .await?;
        output.push_str(&format!("== the change\n{}\n", outcome_text(&run)));
        if !run.success() {
            return Ok(Ran::refuse(
                "the tests fail on the change",
                tail(&output, LOG_LIMIT),
            ));
        }

        // Tests the change adds must fail without it.
        if !verdict.added_tests.is_empty() {
            let base_dir = self.worktree(c, repo, "base", &base).await?;
            let (path, at, from, files) = (
                repo.path.clone(),
                base_dir.clone(),
                head.clone(),
                verdict.added_tests.clone(),
            );
            blocking(move || Repo::open(&path)?.restore_files(&at, &from, &files)).await?;
            let run = self
                .gate_command(
                    policy,
                    &policy.test.command,
                    &base_dir,
                    &dirs.tmp,
                    timeout,
                    Confine::by(policy, false),
                )?
                .run(cancel)
                .await?;
            output.push_str(&format!(
                "== the added tests ({}) on the base\n{}\n",
                verdict.added_tests.join(", "),
                outcome_text(&run)
            ));
            let (path, name, at) = (repo.path.clone(), worktree_name(c.id, "base"), base_dir);
            blocking(move || Repo::open(&path)?.remove_worktree(&name, &at)).await?;
            if run.success() {
                return Ok(Ran::refuse(
                    "the added tests pass on the base: they do not test the change",
                    tail(&output, LOG_LIMIT),
                ));
            }
        }
        let next = if policy.bench.is_some() {
            Step::Bench
        } else {
            Step::Review
        };
        let summary = if verdict.added_tests.is_empty() {
            "the tests pass".to_string()
        } else {
            "the tests pass; the added ones fail on the base".to_string()
        };
        Ok(Ran::pass(summary, tail(&output, LOG_LIMIT), next))
    }

    async fn bench(
        &self,
        c: &mut ChangeSet,
        repo: &RepositoryConfig,
        cancel: &CancellationToken,
    ) -> Result<Ran> {
        let policy = &repo.policy;
        let Some(bench) = &policy.bench else {
            return Ok(Ran::pass(
                "no benchmark in the policy",
                String::new(),
                Step::Review,
            ));
        };
        let base = required(&c.base_commit, "base commit")?;
        let head = required(&c.head_commit, "head commit")?;
        let tmp = self.dirs(c, repo).tmp;
        let timeout = Duration::from_secs(bench.timeout_secs);
        let sides = [
            ("base", self.worktree(c, repo, "base", &base).await?),
            (
                "candidate",
                self.worktree(c, repo, "candidate", &head).await?,
            ),
        ];
        let mut output = isolation_note(policy);
        if let Some(build) = &bench.build {
            for (name, dir) in &sides {
                let run = self
                    .gate_command(
                        policy,
                        build,
                        dir,
                        &tmp,
                        timeout,
                        Confine::by(policy, false),
                    )?
                    .run(cancel)
                    .await?;
                output.push_str(&format!("== build {name}\n{}\n", outcome_text(&run)));
                if !run.success() {
                    return Ok(Ran::refuse(
                        format!("the {name} does not build"),
                        tail(&output, LOG_LIMIT),
                    ));
                }
            }
        }
        let (mut base_ms, mut candidate_ms) = (Vec::new(), Vec::new());
        for round in 0..bench.runs {
            // Alternate which side goes first, so neither always runs on
            // a machine the other just warmed.
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let (name, dir) = &sides[i];
                let command = self.gate_command(
                    policy,
                    &timed(&bench.command),
                    dir,
                    &tmp,
                    timeout,
                    Confine::by(policy, false),
                )?;
                let started = Instant::now();
                let run = command.run(cancel).await?;
                // The benchmark's own time, taken inside the sandbox: the
                // namespaces' set-up is not the change's, and on a loaded
                // machine it is neither small nor steady.
                let ms = inner_ms(&run.stderr)
                    .unwrap_or_else(|| started.elapsed().as_secs_f64() * 1000.0);
                if !run.success() {
                    output.push_str(&format!(
                        "== {name} run {}\n{}\n",
                        round + 1,
                        outcome_text(&run)
                    ));
                    return Ok(Ran::refuse(
                        format!("the benchmark failed on the {name}"),
                        tail(&output, LOG_LIMIT),
                    ));
                }
                if i == 0 {
                    base_ms.push(ms);
                } else {
                    candidate_ms.push(ms);
                }
            }
        }
        let seed = c.id.0.as_u64_pair().1;
        let f = BenchFigures::judge(
            base_ms,
            candidate_ms,
            bench.confidence,
            bench.max_slowdown,
            seed,
        );
        let figures = format!(
            "ratio of medians {:.3}, {:.0} % interval [{:.3}, {:.3}], allowed up to {:.3}",
            f.ratio,
            f.confidence * 100.0,
            f.low,
            f.high,
            1.0 + f.max_slowdown
        );
        output.push_str(&format!(
            "base ms: {:?}\ncandidate ms: {:?}\n",
            f.base_ms.iter().map(|x| x.round()).collect::<Vec<_>>(),
            f.candidate_ms.iter().map(|x| x.round()).collect::<Vec<_>>()
        ));
        let passed = f.passed;
        c.bench = Some(f);
        let (path, name, at) = (
            repo.path.clone(),
            worktree_name(c.id, "base"),
            sides[0].1.clone(),
        );
        blocking(move || Repo::open(&path)?.remove_worktree(&name, &at)).await?;
        Ok(if passed {
            Ran::pass(
                format!("no slowdown shown: {figures}"),
                output,
                Step::Review,
            )
        } else {
            Ran::refuse(format!("slower: {figures}"), output)
        })
    }

    async fn review(&self, mut c: ChangeSet, repo: &RepositoryConfig) -> Result<Value> {
        let started = Utc::now();
        let attempt = c.attempts(Step::Review) + 1;
        if c.risk == Some(RiskClass::Critical) && c.decision.is_none() {
            let deadline = started
                + chrono::Duration::seconds(
                    i64::try_from(repo.policy.approval_timeout_secs).unwrap_or(i64::MAX / 1000),
                );
            c.status = ChangeStatus::AwaitingApproval;
            c.approval_deadline = Some(deadline);
            let ran = Ran {
                passed: true,
                summary: format!("critical: waiting for an approver until {deadline}"),
                output: String::new(),
                next: Next::Stop,
            };
            let id = c.id;
            let value = self
                .conclude(c, Step::Review, attempt, started, ran)
                .await?;
            self.emit(kinds::AWAITING_APPROVAL, id, json!({"deadline": deadline}));
            self.submit_step(id, Step::Review, Some(deadline)).await?;
            return Ok(value);
        }
        let summary = match &c.decision {
            Some(d) => format!("approved by {}", d.by),
            None => "normal risk: no approval needed".to_string(),
        };
        self.conclude(
            c,
            Step::Review,
            attempt,
            started,
            Ran::pass(summary, String::new(), Step::Merge),
        )
        .await
    }

    async fn approval_timeout(&self, c: ChangeSet) -> Result<Value> {
        let due = c.approval_deadline.is_some_and(|d| d <= Utc::now());
        if c.status == ChangeStatus::AwaitingApproval && due {
            let secs = self
                .repository(&c.repository)
                .map(|r| r.policy.approval_timeout_secs)
                .unwrap_or_default();
            let done = self
                .finish_rejected(c, format!("no approval within {secs} s"))
                .await?;
            return Ok(json!({"change_set": done.id, "status": done.status}));
        }
        Ok(json!({"change_set": c.id, "status": c.status, "skipped": true}))
    }

    async fn merge(&self, mut c: ChangeSet, repo: &RepositoryConfig) -> Result<Value> {
        let started = Utc::now();
        let attempt = c.attempts(Step::Merge) + 1;
        let base = required(&c.base_commit, "base commit")?;
        let head = required(&c.head_commit, "head commit")?;
        let tag = format!("hive/rollback/{}", c.id);
        let (path, target, t, b, h) = (
            repo.path.clone(),
            c.target.clone(),
            tag.clone(),
            base.clone(),
            head.clone(),
        );
        let merged = blocking(move || {
            let git = Repo::open(&path)?;
            let now = git.resolve_branch(&target)?;
            if now == h {
                // An earlier run of this step merged and died before saving.
                return Ok(Ok(()));
            }
            if now != b {
                return Ok(Err(format!(
                    "the target {target} moved since the change was made (base {}, now {}): propose it again",
                    short(&b),
                    short(&now)
                )));
            }
            git.tag(&t, &b)?;
            match git.fast_forward(&target, &b, &h) {
                Ok(()) => Ok(Ok(())),
                Err(Error::Conflict(why)) => Ok(Err(why)),
                Err(e) => Err(e),
            }
        })
        .await?;
        if let Err(why) = merged {
            let ran = Ran::refuse(why, String::new());
            return self.conclude(c, Step::Merge, attempt, started, ran).await;
        }
        c.rollback_tag = Some(tag.clone());
        c.merged_commit = Some(head.clone());
        let watch = repo.policy.watch.is_some();
        if watch {
            c.status = ChangeStatus::Watching;
        } else {
            c.status = ChangeStatus::Done;
        }
        let id = c.id;
        let summary = format!(
            "{} fast-forwarded to {}; rollback tag {tag}",
            c.target,
            short(&head)
        );
        let next = if watch {
            Next::Step(Step::Watch)
        } else {
            Next::Stop
        };
        let ran = Ran {
            passed: true,
            summary,
            output: String::new(),
            next,
        };
        if !watch {
            self.cleanup(&c).await;
        }
        let value = self.conclude(c, Step::Merge, attempt, started, ran).await?;
        self.emit(
            kinds::MERGED,
            id,
            json!({"commit": head, "rollback_tag": tag}),
        );
        if !watch {
            self.emit(kinds::DONE, id, json!({"commit": head}));
        }
        Ok(value)
    }

    async fn watch(
        &self,
        mut c: ChangeSet,
        repo: &RepositoryConfig,
        cancel: &CancellationToken,
    ) -> Result<Value> {
        let started = Utc::now();
        let attempt = c.attempts(Step::Watch) + 1;
        let Some(watch) = repo.policy.watch.clone() else {
            c.status = ChangeStatus::Done;
            let ran = Ran {
                passed: true,
                summary: "nothing to watch".into(),
                output: String::new(),
                next: Next::Stop,
            };
            return self.conclude(c, Step::Watch, attempt, started, ran).await;
        };
        let merged = required(&c.merged_commit, "merged commit")?;
        let dir = self.worktree(&c, repo, "watch", &merged).await?;
        let tmp = self.dirs(&c, repo).tmp;
        let window = Duration::from_secs(watch.window_secs);
        let clock = Instant::now();
        let mut runs = 0u32;
        let mut output = String::new();
        loop {
            let run = self
                .gate_command(
                    &repo.policy,
                    &watch.command,
                    &dir,
                    &tmp,
                    Duration::from_secs(watch.timeout_secs),
                    if watch.isolate {
                        Confine::by(&repo.policy, false)
                    } else {
                        Confine::None
                    },
                )?
                .run(cancel)
                .await?;
            runs += 1;
            if !run.success() {
                output.push_str(&outcome_text(&run));
                let why = format!(
                    "the health command failed {:.1} s after the merge (run {runs})",
                    clock.elapsed().as_secs_f64()
                );
                c.logs.push(StepLog {
                    step: Step::Watch,
                    attempt,
                    started_at: started,
                    finished_at: Utc::now(),
                    passed: false,
                    summary: why.clone(),
                    output,
                });
                return self
                    .revert_merged(c, why, true)
                    .await
                    .map(|d| json!({"change_set": d.id, "status": d.status}));
            }
            if clock.elapsed() >= window || cancel.is_cancelled() {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(watch.interval_secs)) => {}
                () = cancel.cancelled() => {}
            }
        }
        if cancel.is_cancelled() {
            return Err(Error::backend(
                "selfmod",
                "the watch was interrupted; it runs again",
            ));
        }
        c.status = ChangeStatus::Done;
        let id = c.id;
        let ran = Ran {
            passed: true,
            summary: format!("healthy for {} s ({runs} runs)", watch.window_secs),
            output: String::new(),
            next: Next::Stop,
        };
        self.cleanup(&c).await;
        let value = self.conclude(c, Step::Watch, attempt, started, ran).await?;
        self.emit(kinds::DONE, id, json!({"commit": merged}));
        Ok(value)
    }

    /// Undoes a merged change set by a revert commit on its target. A
    /// revert that does not apply is the caller's [`Error::Conflict`] when
    /// a person asked, and leaves it `failed` for a person when the watch
    /// did.
    async fn revert_merged(
        &self,
        mut c: ChangeSet,
        why: String,
        automatic: bool,
    ) -> Result<ChangeSet> {
        let merged = required(&c.merged_commit, "merged commit")?;
        let message = format!(
            "Revert \"{}\"\n\nChange set {} is reverted: {why}\n\nChange-Set: {}\n",
            c.title, c.id, c.id
        );
        let author = self.author.clone();
        let (path, target) = (
            self.repository(&c.repository)?.path.clone(),
            c.target.clone(),
        );
        let reverted = blocking(move || {
            Repo::open(&path)?.revert(&target, &merged, &message, (&author.0, &author.1))
        })
        .await;
        match reverted {
            Ok(commit) => {
                c.status = ChangeStatus::Reverted;
                c.revert_commit = Some(commit.clone());
                c.reason = Some(why.clone());
                self.cleanup(&c).await;
                let saved = self.store.save(&c).await?;
                self.emit(
                    kinds::REVERTED,
                    c.id,
                    json!({"commit": commit, "reason": why}),
                );
                Ok(saved)
            }
            Err(Error::Conflict(e)) if automatic => {
                c.status = ChangeStatus::Failed;
                let reason =
                    format!("{why}; the revert does not apply cleanly ({e}): a person must look");
                c.reason = Some(reason.clone());
                self.cleanup(&c).await;
                let saved = self.store.save(&c).await?;
                self.emit(kinds::FAILED, c.id, json!({"reason": reason}));
                Ok(saved)
            }
            Err(e) => Err(e),
        }
    }

    /// The change set's directories.
    fn dirs(&self, c: &ChangeSet, repo: &RepositoryConfig) -> Dirs {
        let root = repo
            .work_dir
            .clone()
            .unwrap_or_else(|| git_dir(&repo.path).join("hive").join("changes"))
            .join(c.id.short());
        Dirs {
            candidate: root.join("candidate"),
            base: root.join("base"),
            watch: root.join("watch"),
            tmp: root.join("tmp"),
            root,
        }
    }
}

/// The repository's git directory (`.git` of a working tree, or the bare
/// repository itself).
fn git_dir(path: &Path) -> PathBuf {
    let dot = path.join(".git");
    if dot.is_dir() {
        dot
    } else {
        path.to_path_buf()
    }
}

/// What a timed benchmark run prints last on stderr, before its
/// nanoseconds.
const TIMED_MARK: &str = "hive-bench-ns ";

/// `argv` run by a shell that prints how long it took ([`TIMED_MARK`]) on
/// stderr and exits as it did.
fn timed(argv: &[String]) -> Vec<String> {
    let script = format!(
        "s=$(date +%s%N); \"$@\"; r=$?; e=$(date +%s%N); echo \"{TIMED_MARK}$((e - s))\" >&2; exit $r"
    );
    ["sh".to_string(), "-c".to_string(), script, "sh".to_string()]
        .into_iter()
        .chain(argv.iter().cloned())
        .collect()
}

/// The milliseconds a [`timed`] run printed, if it did.
fn inner_ms(stderr: &str) -> Option<f64> {
    let line = stderr.lines().rev().find(|l| l.starts_with(TIMED_MARK))?;
    let ns: f64 = line[TIMED_MARK.len()..].trim().parse().ok()?;
    (ns.is_finite() && ns >= 0.0).then_some(ns / 1e6)
}

/// git's name for worktree `which` of change set `id`.
fn worktree_name(id: ChangeSetId, which: &str) -> String {
    format!("hive-{}-{which}", id.short())
}

/// A commit id's first ten digits.
fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn required(field: &Option<String>, what: &str) -> Result<String> {
    field
        .clone()
        .ok_or_else(|| Error::backend("selfmod", format!("the change set has no {what} yet")))
}

/// The commit message of a change set's change.
fn commit_message(c: &ChangeSet) -> String {
    let mut m = c.title.clone();
    if !c.description.trim().is_empty() {
        m.push_str("\n\n");
        m.push_str(c.description.trim());
    }
    m.push_str(&format!("\n\nChange-Set: {}\n", c.id));
    m
}

/// Said first in a gate's log when the policy turned isolation off.
fn isolation_note(policy: &Policy) -> String {
    if policy.sandbox.isolate {
        String::new()
    } else {
        "isolation is off by the policy (sandbox.isolate = false): no namespaces\n".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timed_run_reports_its_own_time() {
        let argv = timed(&["sleep".to_string(), "0.05".to_string()]);
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .expect("sh runs");
        assert!(out.status.success());
        let ms = inner_ms(&String::from_utf8_lossy(&out.stderr)).expect("a figure");
        assert!((45.0..1000.0).contains(&ms), "{ms}");
        assert_eq!(inner_ms("nothing here\n"), None);
        assert_eq!(inner_ms("hive-bench-ns x\n"), None);
        let failing = timed(&["false".to_string()]);
        let out = std::process::Command::new(&failing[0])
            .args(&failing[1..])
            .output()
            .expect("sh runs");
        assert_eq!(out.status.code(), Some(1), "the command's own exit");
    }
}
