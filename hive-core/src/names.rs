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

/// A UUID (v7, so ids sort by creation) newtype with `new`, `Default`,
/// `Display`, serde as the bare UUID and a `FromStr` that names `$what`
/// when it refuses. Sessions, utterances and change sets share it.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            /// A fresh id.
            pub fn new() -> Self {
                $name(::uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;

            fn from_str(s: &str) -> $crate::error::Result<Self> {
                ::uuid::Uuid::parse_str(s).map($name).map_err(|e| {
                    $crate::error::Error::invalid(format!(concat!("bad ", $what, " {:?}: {}"), s, e))
                })
            }
        }
    };
}

pub(crate) use uuid_id;
