//! Queue configuration, the retry policy and task retention, with their
//! documented defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How one queue behaves. Every backend honours every field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    /// Namespace: queues with different names share a database or a Redis
    /// without seeing each other's tasks. `[A-Za-z0-9_.-]`, 1–64 characters.
    /// Default `"default"`.
    pub name: String,
    /// Lease length for a claim that does not ask for one. Default 30 s.
    #[serde(with = "super::task::duration_ms")]
    pub lease: Duration,
    /// Hard limit on one attempt for tasks that do not set one. Default 30 min
    /// (coding agents run long).
    #[serde(with = "super::task::duration_ms")]
    pub task_timeout: Duration,
    /// Attempts before dead-lettering, for tasks that do not set it. Default 3.
    pub max_attempts: u32,
    /// Delay between attempts.
    pub retry: RetryPolicy,
    /// Largest payload (and result) accepted, as serialised JSON. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// How long finished tasks are kept before
    /// [`Queue::purge_expired`](super::Queue::purge_expired) deletes them.
    /// Default [`TaskRetention::default`]: a week, a month for dead letters.
    pub retention: TaskRetention,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: "default".into(),
            lease: Duration::from_secs(30),
            task_timeout: Duration::from_secs(30 * 60),
            max_attempts: 3,
            retry: RetryPolicy::default(),
            max_payload_bytes: 1024 * 1024,
            retention: TaskRetention::default(),
        }
    }
}

impl QueueConfig {
    /// The default configuration for a queue called `name`.
    pub fn named(name: impl Into<String>) -> Self {
        QueueConfig {
            name: name.into(),
            ..QueueConfig::default()
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !name_ok {
            return Err(Error::invalid(format!(
                "queue name {:?} must be 1-64 characters of [A-Za-z0-9_.-]",
                self.name
            )));
        }
        if self.lease < Duration::from_millis(10) {
            return Err(Error::invalid("lease must be at least 10 ms"));
        }
        if self.task_timeout < Duration::from_millis(10) {
            return Err(Error::invalid("task_timeout must be at least 10 ms"));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("max_attempts must be at least 1"));
        }
        if self.max_payload_bytes == 0 {
            return Err(Error::invalid("max_payload_bytes must be positive"));
        }
        self.retry.validate()
    }
}

/// How long a queue keeps the tasks that reached the end, counted from the
/// moment they did (their `finished_at`). `None` keeps them forever.
///
/// A task past its age goes with everything stored about it: its attempt
/// history, its dependency edges and its idempotency key (which a new submit
/// may then use again). A finished task that an unfinished (or
/// dead-lettered, so retryable) task depends on is kept until that
/// dependent finishes: the dependent may still read its result.
///
/// ```
/// use std::time::Duration;
/// use hive_core::queue::{QueueConfig, TaskRetention};
///
/// let config = QueueConfig {
///     retention: TaskRetention {
///         finished: Some(Duration::from_secs(24 * 3600)),
///         dead_letters: None,
///     },
///     ..QueueConfig::named("emails")
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskRetention {
    /// How long completed, failed and cancelled tasks are kept. Default 7
    /// days.
    #[serde(with = "crate::time::opt_millis")]
    pub finished: Option<Duration>,
    /// How long dead-lettered tasks are kept, from when they were
    /// dead-lettered. Default 30 days: long enough for someone to look at
    /// them and retry.
    #[serde(with = "crate::time::opt_millis")]
    pub dead_letters: Option<Duration>,
}

impl Default for TaskRetention {
    fn default() -> Self {
        TaskRetention {
            finished: Some(Duration::from_secs(7 * 24 * 3600)),
            dead_letters: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

impl TaskRetention {
    /// Keeps every task forever.
    pub const FOREVER: TaskRetention = TaskRetention {
        finished: None,
        dead_letters: None,
    };
}

/// Exponential backoff with jitter: attempt `n` (1-based) failed, so wait
/// `min(cap, base · 2^(n-1))`, scaled by a random factor in `1 ± jitter`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    /// Delay after the first failure. Default 1 s.
    #[serde(with = "super::task::duration_ms")]
    pub base: Duration,
    /// Longest delay. Default 5 min.
    #[serde(with = "super::task::duration_ms")]
    pub cap: Duration,
    /// Relative jitter, 0.0–1.0. Default 0.2 (±20 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based), with `sample`
    /// drawn from `[-1, 1]` (0 gives the exact exponential delay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hive_core::queue::RetryPolicy;
    ///
    /// let p = RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(10), jitter: 0.2 };
    /// assert_eq!(p.next_delay(1, 0.0), Duration::from_secs(1));
    /// assert_eq!(p.next_delay(3, 0.0), Duration::from_secs(4));
    /// assert_eq!(p.next_delay(10, 0.0), Duration::from_secs(10));
    /// assert_eq!(p.next_delay(1, 1.0), Duration::from_millis(1200));
    /// ```
    pub fn next_delay(&self, attempt: u32, sample: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(62);
        let raw = self.base.as_secs_f64() * 2f64.powi(exp as i32);
        let capped = raw.min(self.cap.as_secs_f64());
        let factor = 1.0 + self.jitter * sample.clamp(-1.0, 1.0);
        Duration::from_secs_f64((capped * factor).max(0.0))
    }

    /// [`next_delay`](Self::next_delay) with a random jitter sample.
    pub fn next_delay_jittered(&self, attempt: u32) -> Duration {
        self.next_delay(attempt, rand::random_range(-1.0..=1.0))
    }

    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(Error::invalid("retry jitter must be between 0 and 1"));
        }
        if self.cap < self.base {
            return Err(Error::invalid("retry cap must not be below retry base"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = QueueConfig::default();
        c.validate().expect("defaults are valid");
        assert_eq!(c.name, "default");
        assert_eq!(c.lease, Duration::from_secs(30));
        assert_eq!(c.max_attempts, 3);
        assert_eq!(c.max_payload_bytes, 1024 * 1024);
        assert_eq!(
            c.retention.finished,
            Some(Duration::from_secs(7 * 24 * 3600))
        );
        assert_eq!(
            c.retention.dead_letters,
            Some(Duration::from_secs(30 * 24 * 3600))
        );
        assert_eq!(QueueConfig::named("x").name, "x");
    }

    #[test]
    fn each_bad_field_is_named() {
        let check = |change: fn(&mut QueueConfig), expected: &str| {
            let mut c = QueueConfig::default();
            change(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        };
        check(|c| c.name = String::new(), "queue name");
        check(|c| c.name = "has space".into(), "queue name");
        check(|c| c.name = "x".repeat(65), "queue name");
        check(|c| c.lease = Duration::from_millis(1), "lease");
        check(|c| c.task_timeout = Duration::ZERO, "task_timeout");
        check(|c| c.max_attempts = 0, "max_attempts");
        check(|c| c.max_payload_bytes = 0, "max_payload_bytes");
        check(|c| c.retry.jitter = 1.5, "jitter");
        check(|c| c.retry.cap = Duration::ZERO, "cap");
    }

    #[test]
    fn jittered_delays_stay_within_bounds() {
        let p = RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            jitter: 0.5,
        };
        for _ in 0..200 {
            let d = p.next_delay_jittered(2);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(6),
                "{d:?}"
            );
        }
        assert_eq!(
            p.next_delay(u32::MAX, 0.0),
            Duration::from_secs(60),
            "huge attempt counts saturate"
        );
    }

    #[test]
    fn config_deserialises_with_defaults() {
        let c: QueueConfig = serde_json::from_str(r#"{"name": "q", "lease": 1000}"#).expect("de");
        assert_eq!(c.name, "q");
        assert_eq!(c.lease, Duration::from_secs(1));
        assert_eq!(c.max_attempts, 3);
        assert_eq!(c.retention, TaskRetention::default());
    }

    #[test]
    fn retention_is_in_milliseconds_and_null_keeps_forever() {
        let c: QueueConfig =
            serde_json::from_str(r#"{"retention": {"finished": 30000, "dead_letters": null}}"#)
                .expect("de");
        assert_eq!(c.retention.finished, Some(Duration::from_secs(30)));
        assert_eq!(c.retention.dead_letters, None);
        let c: QueueConfig =
            serde_json::from_str(r#"{"retention": {"finished": 1000}}"#).expect("de");
        assert_eq!(
            c.retention.dead_letters,
            TaskRetention::default().dead_letters,
            "a missing age keeps its default"
        );
        let json = serde_json::to_value(TaskRetention {
            finished: Some(Duration::from_millis(1500)),
            dead_letters: None,
        })
        .expect("ser");
        assert_eq!(
            json,
            serde_json::json!({"finished": 1500, "dead_letters": null})
        );
    }
}
