//! The stored shape of a task, shared by the SQL backends and Redis.
//!
//! Backends read a task into a [`TaskRow`] (SQL through `FromRow`, Redis from
//! a hash) and convert it to the domain [`Task`] here, once, so that a
//! corrupt row is reported the same way everywhere.

#[cfg(feature = "redis")]
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use super::lease::{Lease, LeaseToken};
use super::task::{Task, TaskId, TaskPriority, TaskStatus};
use crate::error::{Error, Result};
use crate::time::{from_ms, opt_from_ms};

/// A task as stored: text and integers, before any parsing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TaskRow {
    /// Submit order; absent outside SQL. The embedded claim sorts by it.
    #[sqlx(default)]
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub seq: i64,
    pub id: String,
    pub task_type: String,
    pub payload: String,
    pub status: String,
    pub priority: i64,
    pub capabilities: String,
    pub dependencies: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub timeout_ms: i64,
    pub idempotency_key: Option<String>,
    /// Absent in stores written before it existed.
    #[sqlx(default)]
    pub traceparent: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub run_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub deadline: Option<i64>,
    pub lease_token: Option<String>,
    pub worker: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
}

fn corrupt(backend: &'static str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(
        backend,
        format!("stored task has an unreadable {what}: {e}"),
    )
}

impl TaskRow {
    /// Reads the fields of a Redis task hash.
    #[cfg(feature = "redis")]
    pub fn from_hash(backend: &'static str, mut h: HashMap<String, String>) -> Result<Self> {
        let mut text = |k: &str| h.remove(k).filter(|v| !v.is_empty());
        let int = |k: &str, v: Option<String>| -> Result<Option<i64>> {
            v.map(|s| s.parse::<i64>().map_err(|e| corrupt(backend, k, e)))
                .transpose()
        };
        let need = |k: &str, v: Option<String>| v.ok_or_else(|| corrupt(backend, k, "missing"));
        let id = need("id", text("id"))?;
        let task_type = need("task_type", text("task_type"))?;
        let payload = need("payload", text("payload"))?;
        let status = need("status", text("status"))?;
        let priority = need(
            "priority",
            int("priority", text("priority"))?.map(|v| v.to_string()),
        )?;
        let capabilities = text("capabilities").unwrap_or_else(|| "[]".into());
        let dependencies = text("dependencies").unwrap_or_else(|| "[]".into());
        Ok(TaskRow {
            seq: 0,
            id,
            task_type,
            payload,
            status,
            priority: priority
                .parse()
                .map_err(|e| corrupt(backend, "priority", e))?,
            capabilities,
            dependencies,
            attempts: int("attempts", text("attempts"))?.unwrap_or(0),
            max_attempts: int("max_attempts", text("max_attempts"))?.unwrap_or(1),
            timeout_ms: int("timeout_ms", text("timeout_ms"))?.unwrap_or(0),
            idempotency_key: text("idempotency_key"),
            traceparent: text("traceparent"),
            created_at: int("created_at", text("created_at"))?.unwrap_or(0),
            updated_at: int("updated_at", text("updated_at"))?.unwrap_or(0),
            run_at: int("run_at", text("run_at"))?,
            started_at: int("started_at", text("started_at"))?,
            finished_at: int("finished_at", text("finished_at"))?,
            lease_expires_at: int("lease_expires_at", text("lease_expires_at"))?,
            deadline: int("deadline", text("deadline"))?,
            lease_token: text("lease_token"),
            worker: text("worker"),
            result: text("result"),
            error: text("error"),
        })
    }

    /// The domain task.
    pub fn into_task(self, backend: &'static str) -> Result<Task> {
        let json = |what: &str, s: &str| -> Result<serde_json::Value> {
            serde_json::from_str(s).map_err(|e| corrupt(backend, what, e))
        };
        let dependencies: Vec<String> = serde_json::from_str(&self.dependencies)
            .map_err(|e| corrupt(backend, "dependencies", e))?;
        Ok(Task {
            id: TaskId::from_str(&self.id).map_err(|e| corrupt(backend, "id", e))?,
            payload: json("payload", &self.payload)?,
            status: TaskStatus::from_str(&self.status)
                .map_err(|e| corrupt(backend, "status", e))?,
            priority: u8::try_from(self.priority)
                .map_err(|e| corrupt(backend, "priority", e))
                .and_then(|p| TaskPriority::new(p).map_err(|e| corrupt(backend, "priority", e)))?,
            capabilities: serde_json::from_str(&self.capabilities)
                .map_err(|e| corrupt(backend, "capabilities", e))?,
            dependencies: dependencies
                .iter()
                .map(|d| TaskId::from_str(d).map_err(|e| corrupt(backend, "dependency", e)))
                .collect::<Result<_>>()?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(1),
            timeout: Duration::from_millis(u64::try_from(self.timeout_ms).unwrap_or(0)),
            idempotency_key: self.idempotency_key,
            traceparent: self.traceparent,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            run_at: opt_from_ms(self.run_at),
            started_at: opt_from_ms(self.started_at),
            finished_at: opt_from_ms(self.finished_at),
            lease_expires_at: opt_from_ms(self.lease_expires_at),
            worker: self.worker,
            result: self
                .result
                .as_deref()
                .map(|r| json("result", r))
                .transpose()?,
            error: self.error,
            task_type: self.task_type,
        })
    }

    /// The lease this row describes, right after a claim.
    pub fn into_lease(self, backend: &'static str) -> Result<Lease> {
        let token = self
            .lease_token
            .as_deref()
            .ok_or_else(|| corrupt(backend, "lease token", "missing on a claimed task"))?;
        let token = LeaseToken(
            uuid::Uuid::parse_str(token).map_err(|e| corrupt(backend, "lease token", e))?,
        );
        let expires_at = from_ms(self.lease_expires_at.unwrap_or(0));
        let deadline = from_ms(self.deadline.unwrap_or(0));
        Ok(Lease {
            task: self.into_task(backend)?,
            token,
            expires_at,
            deadline,
        })
    }
}

// The tests read Redis task hashes.
#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn good() -> Vec<(&'static str, String)> {
        vec![
            ("id", TaskId::new().to_string()),
            ("task_type", "t".into()),
            ("payload", "{\"a\":1}".into()),
            ("status", "assigned".into()),
            ("priority", "3".into()),
            ("attempts", "1".into()),
            ("max_attempts", "3".into()),
            ("timeout_ms", "1000".into()),
            ("created_at", "5".into()),
            ("updated_at", "6".into()),
            ("lease_token", uuid::Uuid::new_v4().to_string()),
            ("lease_expires_at", "100".into()),
            ("deadline", "200".into()),
        ]
    }

    fn from(fields: &[(&'static str, String)]) -> Result<TaskRow> {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        TaskRow::from_hash("test", hash(&pairs))
    }

    #[test]
    fn a_complete_hash_becomes_a_lease() {
        let lease = from(&good())
            .expect("row")
            .into_lease("test")
            .expect("lease");
        assert_eq!(lease.task.status, TaskStatus::Assigned);
        assert_eq!(lease.task.payload, serde_json::json!({"a": 1}));
        assert_eq!(
            lease.task.capabilities,
            Vec::<String>::new(),
            "absent lists are empty"
        );
        assert_eq!(lease.expires_at.timestamp_millis(), 100);
        assert_eq!(lease.deadline.timestamp_millis(), 200);
    }

    #[test]
    fn corrupt_fields_are_backend_errors_naming_the_field() {
        let cases: [(&str, &str, &str); 7] = [
            ("id", "not-a-uuid", "id"),
            ("payload", "{broken", "payload"),
            ("status", "sleeping", "status"),
            ("priority", "12", "priority"),
            ("attempts", "many", "attempts"),
            ("lease_token", "nope", "lease token"),
            ("task_type", "", "task_type"),
        ];
        for (field, value, named) in cases {
            let mut fields = good();
            fields.retain(|(k, _)| *k != field);
            if !value.is_empty() {
                fields.push((field, value.to_string()));
            }
            let err = from(&fields)
                .and_then(|r| r.into_lease("test"))
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Backend {
                        backend: "test",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains(named), "{err} should name {named}");
        }
        let mut no_token = good();
        no_token.retain(|(k, _)| *k != "lease_token");
        let err = from(&no_token)
            .expect("row")
            .into_lease("test")
            .unwrap_err();
        assert!(err.to_string().contains("lease token"), "{err}");
    }
}
