//! [`EventedQueue`]: the queue, emitting `task.*` and `queue.*` events.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{clip, emit, event, Evented};
use crate::error::Result;
use crate::events::event::kinds;
use crate::events::NewEvent;
use crate::queue::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, NewTask, PurgeReport, Queue,
    QueueConfig, QueueStats, ReapReport, Submitted, SubmittedTask, Task, TaskAttempt, TaskFailure,
    TaskFilter, TaskId, TaskPriority, WorkerId,
};
use crate::trace::TraceParent;

/// A queue that reports its changes to an
/// [`EventHub`](crate::events::EventHub).
pub(crate) type EventedQueue = Evented<dyn Queue>;

impl EventedQueue {
    fn claimed(leases: &[Lease]) -> impl Iterator<Item = NewEvent> + '_ {
        leases.iter().map(|l| {
            let mut data = json!({
                "type": l.task.task_type,
                "worker": l.task.worker,
                "attempt": l.task.attempts,
            });
            traced(&mut data, l.task.traceparent.as_deref());
            event(kinds::TASK_CLAIMED, l.task.id, data)
        })
    }
}

/// The data of a `task.submitted` event, but for the status.
fn described(
    task_type: &str,
    priority: TaskPriority,
    capabilities: &impl serde::Serialize,
    dependencies: &[TaskId],
    traceparent: Option<&str>,
) -> Value {
    let mut data = json!({
        "type": task_type,
        "priority": priority,
        "capabilities": capabilities,
        "depends_on": dependencies,
    });
    traced(&mut data, traceparent);
    data
}

/// Adds the task's W3C trace context to an event's data, when it has one:
/// `traceparent` (version-00 form) and its `trace_id`, so one request can
/// be followed through the events of every process.
fn traced(data: &mut Value, traceparent: Option<&str>) {
    if let Some(tp) = traceparent.and_then(|t| t.parse::<TraceParent>().ok()) {
        data["traceparent"] = json!(tp.to_string());
        data["trace_id"] = json!(tp.trace_id());
    }
}

/// The data of a `task.completed` event: `{}`, or `{"spend": …}` when the
/// result reports what the attempt spent in an LLM agent's shape (a
/// `usage` object with `input_tokens` and `output_tokens`, and
/// `cost_usd` when the price was known), so the dashboard's spend per
/// agent needs no read of each result.
fn completed(result: &Value) -> Value {
    let usage = result.get("usage");
    let tokens = |name: &str| usage.and_then(|u| u.get(name)).and_then(Value::as_u64);
    match (tokens("input_tokens"), tokens("output_tokens")) {
        (Some(input), Some(output)) => json!({
            "spend": {
                "input_tokens": input,
                "output_tokens": output,
                "cost_usd": result.get("cost_usd").and_then(Value::as_f64),
            }
        }),
        _ => json!({}),
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Queue for EventedQueue {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn config(&self) -> &QueueConfig {
        self.inner.config()
    }

    async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>> {
        let described: Vec<Value> = tasks
            .iter()
            .map(|t| {
                described(
                    &t.task_type,
                    t.priority,
                    &t.capabilities,
                    &t.dependencies,
                    t.traceparent.as_deref(),
                )
            })
            .collect();
        let ticket = self.hub.ticket();
        let submitted = self.inner.submit_batch(tasks).await?;
        let events = submitted
            .iter()
            .zip(described)
            .filter(|(s, _)| !s.deduplicated)
            .map(|(s, mut data)| {
                data["status"] = json!(s.status);
                event(kinds::TASK_SUBMITTED, s.id, data)
            });
        ticket.fill(events.collect());
        Ok(submitted)
    }

    async fn submit_and_get(&self, task: NewTask) -> Result<SubmittedTask> {
        let ticket = self.hub.ticket();
        let answer = self.inner.submit_and_get(task).await?;
        let t = &answer.task;
        ticket.fill(if answer.deduplicated {
            Vec::new()
        } else {
            let mut data = described(
                &t.task_type,
                t.priority,
                &t.capabilities,
                &t.dependencies,
                t.traceparent.as_deref(),
            );
            data["status"] = json!(t.status);
            vec![event(kinds::TASK_SUBMITTED, t.id, data)]
        });
        Ok(answer)
    }

    async fn get(&self, id: TaskId) -> Result<Task> {
        self.inner.get(id).await
    }

    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>> {
        self.inner.attempts(id).await
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>> {
        let leases = self.inner.claim(req).await?;
        if !leases.is_empty() {
            self.hub.ticket().fill(Self::claimed(&leases).collect());
        }
        Ok(leases)
    }

    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal> {
        self.inner.heartbeat(lease).await
    }

    async fn complete(&self, lease: LeaseKey, result: Value) -> Result<()> {
        let id = lease.task_id;
        let data = completed(&result);
        let ticket = self.hub.ticket();
        self.inner.complete(lease, result).await?;
        ticket.fill(vec![event(kinds::TASK_COMPLETED, id, data)]);
        Ok(())
    }

    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome> {
        let id = lease.task_id;
        let error = clip(&failure.error).to_string();
        let ticket = self.hub.ticket();
        let outcome = self.inner.fail(lease, failure).await?;
        ticket.fill(vec![match &outcome {
            FailOutcome::Retrying { run_at } => event(
                kinds::TASK_FAILED,
                id,
                json!({ "error": error, "retry_at": run_at }),
            ),
            FailOutcome::DeadLettered => {
                event(kinds::TASK_DEAD_LETTERED, id, json!({ "error": error }))
            }
        }]);
        Ok(outcome)
    }

    async fn release(&self, lease: LeaseKey) -> Result<()> {
        let id = lease.task_id;
        let ticket = self.hub.ticket();
        self.inner.release(lease).await?;
        ticket.fill(vec![event(kinds::TASK_RELEASED, id, json!({}))]);
        Ok(())
    }

    async fn cancel(&self, id: TaskId) -> Result<Task> {
        let ticket = self.hub.ticket();
        let task = self.inner.cancel(id).await?;
        ticket.fill(vec![event(
            kinds::TASK_CANCELLED,
            id,
            json!({ "type": task.task_type }),
        )]);
        Ok(task)
    }

    async fn reap(&self) -> Result<ReapReport> {
        let ticket = self.hub.ticket();
        let report = self.inner.reap().await?;
        if report.promoted + report.expired + report.timed_out > 0 {
            ticket.fill(vec![event(
                kinds::QUEUE_REAPED,
                &self.inner.config().name,
                json!({
                    "promoted": report.promoted,
                    "expired": report.expired,
                    "timed_out": report.timed_out,
                }),
            )]);
        }
        Ok(report)
    }

    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64> {
        let ticket = self.hub.ticket();
        let ended = self.inner.expire_worker(worker).await?;
        if ended > 0 {
            ticket.fill(vec![event(
                kinds::QUEUE_WORKER_EXPIRED,
                worker,
                json!({ "leases": ended }),
            )]);
        }
        Ok(ended)
    }

    async fn stats(&self) -> Result<QueueStats> {
        self.inner.stats().await
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.inner.list(filter).await
    }

    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>> {
        self.inner.dead_letters(limit, offset).await
    }

    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task> {
        let ticket = self.hub.ticket();
        let task = self.inner.retry_dead_letter(id).await?;
        ticket.fill(vec![event(
            kinds::TASK_RETRIED,
            id,
            json!({ "type": task.task_type }),
        )]);
        Ok(task)
    }

    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64> {
        let purged = self.inner.purge_dead_letters(ids).await?;
        if purged > 0 {
            emit(
                &self.hub,
                kinds::QUEUE_PURGED,
                &self.inner.config().name,
                json!({ "purged": purged }),
            );
        }
        Ok(purged)
    }

    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<PurgeReport> {
        let report = self.inner.purge_expired(now, limit).await?;
        if report.total() > 0 {
            emit(
                &self.hub,
                kinds::QUEUE_EXPIRED,
                &self.inner.config().name,
                json!({
                    "finished": report.finished,
                    "dead_letters": report.dead_letters,
                }),
            );
        }
        Ok(report)
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        self.inner.wait_for_work(timeout).await
    }

    async fn complete_and_claim(
        &self,
        lease: LeaseKey,
        result: Value,
        next: &ClaimRequest,
    ) -> Result<Vec<Lease>> {
        let id = lease.task_id;
        let data = completed(&result);
        let ticket = self.hub.ticket();
        let leases = self.inner.complete_and_claim(lease, result, next).await?;
        let completed = event(kinds::TASK_COMPLETED, id, data);
        ticket.fill(
            std::iter::once(completed)
                .chain(Self::claimed(&leases))
                .collect(),
        );
        Ok(leases)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::completed;

    #[test]
    fn a_completed_event_carries_the_spend_of_an_llm_result() {
        let result = json!({"text": "hi", "usage": {"input_tokens": 12, "output_tokens": 3}, "cost_usd": 0.5});
        assert_eq!(
            completed(&result),
            json!({"spend": {"input_tokens": 12, "output_tokens": 3, "cost_usd": 0.5}})
        );
        let unpriced = json!({"usage": {"input_tokens": 1, "output_tokens": 2}, "cost_usd": null});
        assert_eq!(
            completed(&unpriced)["spend"]["cost_usd"],
            serde_json::Value::Null
        );
        for plain in [
            json!(null),
            json!(7),
            json!({"usage": "many"}),
            json!({"usage": {"input_tokens": 1}}),
        ] {
            assert_eq!(completed(&plain), json!({}), "{plain}");
        }
    }
}
