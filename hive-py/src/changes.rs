//! The self-modifier as Python asks for it: a repository from
//! `add_repository`'s arguments (its policy read from TOML text), the
//! change set `propose_change` proposes, change-set ids and statuses from
//! their text.
//!
//! Every value Python gives is read here, holding the GIL; what hive-core
//! refuses later (a directory that is not a git repository, a target
//! branch it lacks, an unknown repository) comes back through
//! [`crate::errors`] like any other error.

use std::path::PathBuf;

use hive_core::selfmod::{
    ChangeSetId, ChangeSource, ChangeStatus, NewChangeSet, Policy, RepositoryConfig,
};
use pyo3::prelude::*;

use crate::errors::{IntoPy, InvalidInputError};
use crate::meta::parse_proposal_id;

/// A change-set id from its text (`InvalidInputError` unless a UUID).
pub fn parse_change_id(text: &str) -> PyResult<ChangeSetId> {
    text.parse::<ChangeSetId>().py_err()
}

/// A change-set status from its name, if given (`InvalidInputError` for
/// an unknown one).
pub fn parse_change_status(name: Option<&str>) -> PyResult<Option<ChangeStatus>> {
    name.map(|s| s.parse::<ChangeStatus>().py_err()).transpose()
}

/// The repository `add_repository` adds: `name` at `path`, merging into
/// `target` under the policy whose TOML text is `policy`, agent change
/// sets written by `coder` when given.
///
/// # Errors
/// `InvalidInputError` naming the key for a policy that does not read (an
/// unknown key, a wrong type, a check it fails).
pub fn repository_config(
    name: String,
    path: PathBuf,
    policy: &str,
    target: String,
    coder: Option<Vec<String>>,
) -> PyResult<RepositoryConfig> {
    let policy = Policy::from_toml(policy).py_err()?;
    let mut config = RepositoryConfig::new(name, path, policy).target(target);
    if let Some(argv) = coder {
        config = config.coder(argv);
    }
    Ok(config)
}

/// The change set `propose_change` proposes: exactly one of `patch` (a
/// unified diff) and `prompt` (for the repository's coding command).
///
/// # Errors
/// `InvalidInputError` when both or neither of `patch` and `prompt` are
/// given, or `proposal` is not a UUID.
pub fn new_change_set(
    repository: String,
    title: String,
    patch: Option<String>,
    prompt: Option<String>,
    description: String,
    proposal: Option<&str>,
) -> PyResult<NewChangeSet> {
    let source = match (patch, prompt) {
        (Some(patch), None) => ChangeSource::Patch { patch },
        (None, Some(prompt)) => ChangeSource::Agent { prompt },
        (Some(_), Some(_)) => {
            return Err(InvalidInputError::new_err(
                "give either patch or prompt, not both",
            ))
        }
        (None, None) => {
            return Err(InvalidInputError::new_err(
                "give the change: patch (a unified diff) or prompt (for the coding command)",
            ))
        }
    };
    Ok(NewChangeSet {
        repository,
        title,
        description,
        source,
        proposal: proposal.map(parse_proposal_id).transpose()?,
        requested_by: None,
    })
}
