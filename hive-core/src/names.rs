//! Names shared across the hive's rooms and the checks that keep them
//! valid: agent names and kinds (which sessions hold too) and capability
//! names (which tasks require and agents declare). They live here, below
//! every room that uses them, so that a session or a task need not reach
//! into the agent registry or the queue to check a name.

use crate::error::{Error, Result};

/// The longest agent name or kind, in bytes.
pub const MAX_AGENT_NAME: usize = 128;

/// Longest capability name accepted.
pub const MAX_CAPABILITY_LEN: usize = 100;

/// Checks a name or kind: 1–[`MAX_AGENT_NAME`] bytes, not blank, no
/// control characters. Sessions check the agent names they hold with it too,
/// so a name valid in the registry is valid in a session.
pub(crate) fn check_label(what: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > MAX_AGENT_NAME || s.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "bad {what} {s:?}: use 1-{MAX_AGENT_NAME} bytes without control characters"
        )));
    }
    Ok(())
}

/// Checks a capability name: what tasks require and agents declare.
///
/// # Errors
/// [`Error::InvalidInput`] for an empty or long name, or one with spaces,
/// control characters or commas.
pub(crate) fn check_capability(cap: &str) -> Result<()> {
    let ok = !cap.is_empty()
        && cap.len() <= MAX_CAPABILITY_LEN
        && !cap
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if !ok {
        return Err(Error::invalid(format!(
            "capability {cap:?} must be 1-{MAX_CAPABILITY_LEN} bytes without spaces or commas"
        )));
    }
    Ok(())
}
