//! Token and cost accounting: every model call an LLM agent makes is
//! recorded by agent and by task, so a caller (the meta-agent to come, a
//! dashboard) can ask what an agent or a task has cost so far.
//!
//! The ledger lives in the process that made the calls; what each task
//! cost is also stored durably in the task's result (`usage`, `cost_usd`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::llm::Usage;
use crate::queue::TaskId;

/// What a set of calls used and cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Model calls made.
    pub calls: u64,
    /// Tokens used.
    pub usage: Usage,
    /// Dollars, summed over the calls whose model had a price.
    pub cost_usd: f64,
    /// Calls whose model had no known price (their cost is not in
    /// `cost_usd`).
    pub unpriced_calls: u64,
}

impl Spend {
    fn add(&mut self, usage: Usage, cost: Option<f64>) {
        self.calls += 1;
        self.usage += usage;
        match cost {
            Some(c) => self.cost_usd += c,
            None => self.unpriced_calls += 1,
        }
    }
}

/// Spend by agent name and by task, for one process.
#[derive(Debug, Default)]
pub struct UsageLedger {
    inner: Mutex<Books>,
}

#[derive(Debug, Default)]
struct Books {
    by_agent: BTreeMap<String, Spend>,
    by_task: BTreeMap<TaskId, Spend>,
    total: Spend,
}

impl UsageLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        // Every update is a few additions that cannot panic midway.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one call by `agent` for `task`.
    pub fn record(&self, agent: &str, task: Option<TaskId>, usage: Usage, cost: Option<f64>) {
        let mut books = self.books();
        books
            .by_agent
            .entry(agent.to_string())
            .or_default()
            .add(usage, cost);
        if let Some(task) = task {
            books.by_task.entry(task).or_default().add(usage, cost);
        }
        books.total.add(usage, cost);
    }

    /// What `agent` has spent.
    pub fn agent(&self, agent: &str) -> Spend {
        self.books()
            .by_agent
            .get(agent)
            .copied()
            .unwrap_or_default()
    }

    /// What `task` has cost, over all its attempts.
    pub fn task(&self, task: TaskId) -> Spend {
        self.books().by_task.get(&task).copied().unwrap_or_default()
    }

    /// Everything recorded.
    pub fn total(&self) -> Spend {
        self.books().total
    }

    /// Spend per agent, by name.
    pub fn agents(&self) -> BTreeMap<String, Spend> {
        self.books().by_agent.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_adds_up_by_agent_and_task() {
        let ledger = UsageLedger::new();
        let t = TaskId::new();
        let u = Usage {
            input_tokens: 10,
            output_tokens: 5,
        };
        ledger.record("a", Some(t), u, Some(0.5));
        ledger.record("a", Some(t), u, None);
        ledger.record("b", None, u, Some(0.25));
        assert_eq!(ledger.agent("a").calls, 2);
        assert_eq!(ledger.agent("a").unpriced_calls, 1);
        assert_eq!(ledger.task(t).usage.input_tokens, 20);
        assert_eq!(ledger.total().cost_usd, 0.75);
        assert_eq!(ledger.agents().len(), 2);
        assert_eq!(ledger.agent("nobody"), Spend::default());
    }
}
