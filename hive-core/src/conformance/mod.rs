//! Conformance suites: the executable specification of each storage trait.
//!
//! Each module holds one `pub async fn` per contract clause of its trait
//! (a few for a clause with several sides), taking a harness that opens the
//! backend under test. Each clause of the trait's `# Contract` ends with
//! the names of its functions, and every public function of a suite is
//! named by a clause (macro support is `#[doc(hidden)]`):
//! `contract_clauses_name_their_tests` in `tests/it/tidy.rs` checks both
//! ways. A backend's test file stamps them all into named `#[tokio::test]`s
//! with one macro call, so no backend can skip a clause without it showing:
//!
//! ```ignore
//! hive_core::queue_conformance_tests!(my_harness().await);
//! ```
//!
//! Services: a harness for a networked backend reads its URL from the
//! environment; when unset it prints why and returns `None` (the test passes
//! as skipped) — unless `HIVE_REQUIRE_SERVICES=1`, which the project's test
//! command sets, and which turns a missing URL into a failure.

pub mod agents;
pub mod broker;
#[cfg(feature = "selfmod")]
pub mod change_sets;
pub mod context;
pub mod events;
pub mod experiments;
pub mod history;
pub mod outcomes;
pub mod prompts;
pub mod proposals;
pub mod queue;
pub mod sessions;

use crate::error::Error;

/// Reads a service URL for tests from `var`.
///
/// Returns `None` (after printing why) when it is unset, so a developer
/// without the service can still run the rest.
///
/// # Panics
/// When the variable is unset and `HIVE_REQUIRE_SERVICES=1`: in the project's
/// test command a skipped service test would hide a failure.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("HIVE_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{var} is not set but HIVE_REQUIRE_SERVICES=1: run the tests through ./scripts/test");
            }
            eprintln!("skipping: {var} is not set (./scripts/test sets it)");
            None
        }
    }
}

/// A name no other test uses, for queues, topics and schemas.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

// The checks of an error every suite makes. Each reports the line of the
// clause that called it.

/// Fails unless `r` is [`Error::InvalidInput`] whose message mentions
/// `expected`.
#[track_caller]
pub(crate) fn assert_invalid<T: std::fmt::Debug>(r: crate::Result<T>, expected: &str) {
    match r {
        Err(Error::InvalidInput(msg)) => {
            assert!(
                msg.contains(expected),
                "{msg:?} does not mention {expected:?}"
            )
        }
        other => panic!("expected InvalidInput mentioning {expected:?}, got {other:?}"),
    }
}

/// Fails unless `r` is [`Error::Conflict`]; `what` names the call refused.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(r: crate::Result<T>, what: &str) {
    assert!(
        matches!(r, Err(Error::Conflict(_))),
        "{what}: expected Conflict, got {r:?}"
    );
}

/// Fails unless `r` is [`Error::NotFound`]; `what` names the call refused.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(r: crate::Result<T>, what: &str) {
    assert!(
        matches!(r, Err(Error::NotFound { .. })),
        "{what}: expected NotFound, got {r:?}"
    );
}
