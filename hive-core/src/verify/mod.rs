//! Verifiers: a score for a completed task's result, configured per task
//! type — a function, a command, or a judge model — recorded in the
//! task's outcome (`score`), where experiments on the `score` metric and
//! the metrics' mean score read it.
//!
//! The score is written into the result (`"score"`, with `"verifier"`
//! naming the kind) when the result is a JSON object, before the task
//! completes. A verifier that fails (a command that exits non-zero, a
//! judge whose answer holds no number) leaves the task unscored and is
//! logged: it never fails the task.

mod command;
mod judge;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value;

pub use command::CommandVerifier;
pub use judge::JudgeVerifier;

use crate::error::{Error, Result};
use crate::queue::Task;

/// Scores completed tasks' results.
#[async_trait]
pub trait Verifier: Send + Sync {
    /// `function`, `command` or `judge`.
    fn kind(&self) -> &'static str;

    /// The score of `result`, the answer to `task`: a finite number
    /// (conventionally in [0, 1]).
    ///
    /// # Errors
    /// Whatever kept it from scoring.
    async fn score(&self, task: &Task, result: &Value) -> Result<f64>;
}

/// A verifier from a function.
pub struct FnVerifier<F>(pub F);

#[async_trait]
impl<F> Verifier for FnVerifier<F>
where
    F: Fn(&Task, &Value) -> f64 + Send + Sync,
{
    fn kind(&self) -> &'static str {
        "function"
    }

    async fn score(&self, task: &Task, result: &Value) -> Result<f64> {
        Ok((self.0)(task, result))
    }
}

/// The verifiers of a hive, by task type.
#[derive(Default)]
pub struct Verifiers {
    by_type: RwLock<HashMap<String, Arc<dyn Verifier>>>,
}

impl std::fmt::Debug for Verifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifiers")
            .field("task_types", &self.task_types())
            .finish()
    }
}

impl Verifiers {
    /// None yet.
    pub fn new() -> Self {
        Verifiers::default()
    }

    /// Scores tasks of `task_type` with `verifier` from now on (replacing
    /// any before).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty task type.
    pub fn set(&self, task_type: &str, verifier: Arc<dyn Verifier>) -> Result<()> {
        if task_type.trim().is_empty() {
            return Err(Error::invalid("a verifier needs a task type"));
        }
        if let Ok(mut m) = self.by_type.write() {
            m.insert(task_type.to_string(), verifier);
        }
        Ok(())
    }

    /// Stops scoring tasks of `task_type`; answers whether one was set.
    pub fn remove(&self, task_type: &str) -> bool {
        self.by_type
            .write()
            .map(|mut m| m.remove(task_type).is_some())
            .unwrap_or(false)
    }

    /// The verifier of `task_type`.
    pub fn get(&self, task_type: &str) -> Option<Arc<dyn Verifier>> {
        self.by_type.read().ok()?.get(task_type).cloned()
    }

    /// The task types with a verifier, sorted, with its kind.
    pub fn task_types(&self) -> Vec<(String, &'static str)> {
        let mut v: Vec<(String, &'static str)> = self
            .by_type
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.kind())).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// `result` with its score written in, when `task`'s type has a
    /// verifier and the result is an object; else as it was.
    pub async fn apply(&self, task: &Task, mut result: Value) -> Value {
        let Some(v) = self.get(&task.task_type) else {
            return result;
        };
        if !result.is_object() {
            return result;
        }
        match v.score(task, &result).await {
            Ok(s) if s.is_finite() => {
                if let Some(o) = result.as_object_mut() {
                    o.insert("score".into(), Value::from(s));
                    o.insert("verifier".into(), Value::from(v.kind()));
                }
            }
            Ok(s) => {
                tracing::warn!(task = %task.id, score = s, "the verifier's score is not a finite number")
            }
            Err(e) => {
                tracing::warn!(task = %task.id, error = %e, "the verifier could not score the task")
            }
        }
        result
    }
}

/// The first number in `text` (`0.8`, `1`, `.5`, `-2e-1`…).
pub(crate) fn first_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            || (c == b'-'
                && bytes
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == b'.'));
        if starts {
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_digit()
                    || bytes[j] == b'.'
                    || ((bytes[j] == b'e' || bytes[j] == b'E')
                        && bytes
                            .get(j + 1)
                            .is_some_and(|n| n.is_ascii_digit() || *n == b'-')))
            {
                if bytes[j] == b'e' || bytes[j] == b'E' {
                    j += 1;
                }
                j += 1;
            }
            if let Ok(n) = text[i..j].parse::<f64>() {
                return Some(n);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn task(ty: &str) -> Task {
        serde_json::from_value(json!({
            "id": crate::queue::TaskId::new(), "task_type": ty, "payload": {"prompt": "2+2?"},
            "status": "in_progress", "priority": 5, "capabilities": [], "dependencies": [],
            "attempts": 1, "max_attempts": 3, "timeout": 1000, "idempotency_key": null,
            "traceparent": null, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "run_at": null, "started_at": null,
            "finished_at": null, "lease_expires_at": null, "worker": null, "result": null,
            "error": null
        }))
        .expect("a task")
    }

    #[tokio::test]
    async fn a_function_scores_objects_of_its_type_only() {
        let v = Verifiers::new();
        v.set(
            "sum",
            Arc::new(FnVerifier(
                |_t: &Task, r: &Value| {
                    if r["text"] == "4" {
                        1.0
                    } else {
                        0.0
                    }
                },
            )),
        )
        .expect("set");
        assert!(v
            .set(" ", Arc::new(FnVerifier(|_: &Task, _: &Value| 1.0)))
            .is_err());
        let scored = v.apply(&task("sum"), json!({"text": "4"})).await;
        assert_eq!(scored["score"], 1.0);
        assert_eq!(scored["verifier"], "function");
        let other = v.apply(&task("other"), json!({"text": "4"})).await;
        assert!(other.get("score").is_none());
        assert_eq!(v.apply(&task("sum"), json!("4")).await, json!("4"));
        assert_eq!(v.task_types(), vec![("sum".to_string(), "function")]);
        assert!(v.remove("sum") && !v.remove("sum"));
    }

    #[test]
    fn the_first_number_is_read_from_text() {
        assert_eq!(first_number("Score: 0.8/1"), Some(0.8));
        assert_eq!(first_number("1"), Some(1.0));
        assert_eq!(first_number("about .5 I think"), Some(0.5));
        assert_eq!(first_number("-2e-1"), Some(-0.2));
        assert_eq!(first_number("none"), None);
    }
}
