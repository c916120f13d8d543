//! Outcomes as Python asks for them: the filter of `metrics` and
//! `outcomes` from their keyword arguments.

use chrono::{DateTime, Utc};
use hive_core::outcome::OutcomeFilter;

/// The filter `metrics` and `outcomes` share.
pub fn outcome_filter(
    agent: Option<String>,
    task_type: Option<String>,
    prompt_version: Option<String>,
    experiment: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> OutcomeFilter {
    OutcomeFilter {
        agent,
        task_type,
        prompt_version,
        experiment,
        since,
        until,
    }
}
