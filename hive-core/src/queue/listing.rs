//! Listing tasks: the filter [`Queue::list`](super::Queue::list) takes, and
//! the one `SELECT` both SQL backends build from it.
//!
//! The HTTP API's `GET /tasks?status=&type=&agent=&limit=&after=&order=`
//! needs to browse a queue, not just fetch one id. The listing order is the
//! id order (ascending, or descending for [`TaskOrder::NewestFirst`]):
//! ids made by [`TaskId::new`] are UUID v7 (time first, then a per-process
//! counter), so id order is submit order, and a plain id comparison is a
//! paging cursor every backend can answer from an index without keeping
//! any state between pages. A caller-chosen id
//! ([`NewTask::with_id`](super::NewTask::with_id)) sorts where its value
//! puts it, which is the one case where listing order and submit order part.
//!
//! Why the `WHERE` clause is assembled in code, as in
//! `broker/history/plan.rs`: a filter names any subset of four conditions,
//! and the single-statement alternative (`(? IS NULL OR col = ?)`) hides the
//! indexes from the planners. The fixed part (`list.sql`) lives in a file
//! per backend; each condition adds one short, bound term, never a value
//! pasted into the text.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::task::{TaskId, TaskStatus};
use crate::error::{Error, Result};

/// Tasks per page when the caller does not say.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Most tasks one [`Queue::list`](super::Queue::list) call returns.
pub const MAX_LIST_LIMIT: usize = 1000;

/// The order [`Queue::list`](super::Queue::list) answers tasks in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TaskOrder {
    /// Ascending id order: submit order for ids from [`TaskId::new`]. The
    /// default.
    #[default]
    OldestFirst,
    /// Descending id order: the most recently submitted first. The `after`
    /// cursor then continues towards older tasks.
    NewestFirst,
}

/// Which tasks [`Queue::list`](super::Queue::list) answers, and which page.
///
/// ```
/// use hive_core::queue::{TaskFilter, TaskOrder, TaskStatus};
///
/// let filter = TaskFilter::new()
///     .status(TaskStatus::Pending)
///     .status(TaskStatus::Delayed)
///     .task_type("fetch")
///     .order(TaskOrder::NewestFirst)
///     .limit(20);
/// assert!(filter.validate().is_ok());
/// assert!(TaskFilter::new().limit(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFilter {
    /// Tasks in any of these statuses; empty means any status.
    pub statuses: Vec<TaskStatus>,
    /// Tasks of this type.
    pub task_type: Option<String>,
    /// Tasks whose lease this worker holds or last held ([`Task::worker`](super::Task::worker)).
    pub worker: Option<String>,
    /// The paging cursor: only tasks whose id comes after this one in the
    /// listing [`order`](TaskFilter::order) (greater for oldest first, smaller
    /// for newest first). Pass the last task of the previous page. The id
    /// need not exist any more (a purged task still marks a place in the
    /// order).
    pub after: Option<TaskId>,
    /// Oldest first (the default) or newest first.
    pub order: TaskOrder,
    /// Most tasks returned: 1 to [`MAX_LIST_LIMIT`]. Default [`DEFAULT_LIST_LIMIT`].
    pub limit: usize,
}

impl Default for TaskFilter {
    fn default() -> Self {
        TaskFilter {
            statuses: Vec::new(),
            task_type: None,
            worker: None,
            after: None,
            order: TaskOrder::OldestFirst,
            limit: DEFAULT_LIST_LIMIT,
        }
    }
}

impl TaskFilter {
    /// Every task, [`DEFAULT_LIST_LIMIT`] at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts tasks in `status` (the first call narrows from "any").
    pub fn status(mut self, status: TaskStatus) -> Self {
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
        self
    }

    /// Only tasks of `task_type`.
    pub fn task_type(mut self, task_type: impl Into<String>) -> Self {
        self.task_type = Some(task_type.into());
        self
    }

    /// Only tasks `worker` holds or last held.
    pub fn worker(mut self, worker: impl Into<String>) -> Self {
        self.worker = Some(worker.into());
        self
    }

    /// Continue after task `id`.
    pub fn after(mut self, id: TaskId) -> Self {
        self.after = Some(id);
        self
    }

    /// Lists in `order` (the `after` cursor follows it).
    pub fn order(mut self, order: TaskOrder) -> Self {
        self.order = order;
        self
    }

    /// At most `n` tasks.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }

    /// Checks the limit.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a limit outside 1 to [`MAX_LIST_LIMIT`].
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_LIST_LIMIT {
            return Err(Error::invalid(format!(
                "task list limit must be 1 to {MAX_LIST_LIMIT}, not {}",
                self.limit
            )));
        }
        Ok(())
    }

    /// Whether `status` passes the status condition.
    pub fn admits_status(&self, status: TaskStatus) -> bool {
        self.statuses.is_empty() || self.statuses.contains(&status)
    }
}

/// The listing statement for one queue: `select` (a backend's
/// `SELECT <TaskRow columns> FROM hive_tasks`) plus bound conditions, in id
/// order, ascending or descending as the filter says. `uuid_cast` turns a bound text parameter into the id column's type
/// (`::uuid` on Postgres, nothing on SQLite, whose ids are lowercase text
/// and so compare in the same order as the UUIDs).
pub(crate) fn list_statement<'a, DB>(
    select: &'static str,
    uuid_cast: &'static str,
    queue: &str,
    filter: &TaskFilter,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    DB::Arguments<'a>: Default,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut b = QueryBuilder::new(select);
    b.push(" WHERE queue = ").push_bind(queue.to_owned());
    if !filter.statuses.is_empty() {
        b.push(" AND status IN (");
        let mut terms = b.separated(", ");
        for status in &filter.statuses {
            terms.push_bind(status.as_str().to_owned());
        }
        b.push(")");
    }
    if let Some(task_type) = &filter.task_type {
        b.push(" AND task_type = ").push_bind(task_type.clone());
    }
    if let Some(worker) = &filter.worker {
        b.push(" AND worker = ").push_bind(worker.clone());
    }
    let (past, direction) = match filter.order {
        TaskOrder::OldestFirst => (" AND id > ", " ORDER BY id ASC LIMIT "),
        TaskOrder::NewestFirst => (" AND id < ", " ORDER BY id DESC LIMIT "),
    };
    if let Some(after) = filter.after {
        b.push(past).push_bind(after.to_string()).push(uuid_cast);
    }
    b.push(direction)
        .push_bind(i64::try_from(filter.limit).unwrap_or(i64::MAX));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_every_field_and_validates_the_limit() {
        let id = TaskId::new();
        let f = TaskFilter::new()
            .status(TaskStatus::Failed)
            .status(TaskStatus::Failed)
            .task_type("t")
            .worker("w")
            .after(id)
            .order(TaskOrder::NewestFirst)
            .limit(7);
        assert_eq!(f.statuses, vec![TaskStatus::Failed]);
        assert_eq!(f.task_type.as_deref(), Some("t"));
        assert_eq!(f.worker.as_deref(), Some("w"));
        assert_eq!(f.after, Some(id));
        assert_eq!(f.order, TaskOrder::NewestFirst);
        assert_eq!(TaskFilter::new().order, TaskOrder::OldestFirst);
        assert!(f.validate().is_ok());
        assert!(f.admits_status(TaskStatus::Failed));
        assert!(!f.admits_status(TaskStatus::Pending));
        assert!(TaskFilter::new().admits_status(TaskStatus::Pending));
        assert_eq!(TaskFilter::new().limit, DEFAULT_LIST_LIMIT);
        for bad in [0, MAX_LIST_LIMIT + 1] {
            assert!(matches!(
                TaskFilter::new().limit(bad).validate(),
                Err(Error::InvalidInput(_))
            ));
        }
        assert!(TaskFilter::new().limit(MAX_LIST_LIMIT).validate().is_ok());
    }
}
