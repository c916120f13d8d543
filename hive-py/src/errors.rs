//! The Python exception hierarchy, and the one place hive-core's errors
//! become Python exceptions.
//!
//! Every error the runtime reports is a subclass of `HiveError`, one per
//! [`hive_core::Error`] variant (`SetupError` for `Setup` and `NewerSchema`), plus the three that only exist at this
//! edge: `ClosedError` (the hive was closed), `HiveTimeoutError` (a wait
//! ran out of time) and `TaskFailedError` (the result of a task that did
//! not complete). Wrong Python types are `TypeError`s, raised where the
//! arguments are read, as Python programmers expect.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    HiveError,
    PyException,
    "Base class of every error Agent Hive reports."
);
create_exception!(
    _native,
    InvalidInputError,
    HiveError,
    "A value the runtime rejects."
);
create_exception!(
    _native,
    NotFoundError,
    HiveError,
    "An unknown task, entry, agent or subscription."
);
create_exception!(
    _native,
    ConflictError,
    HiveError,
    "An operation the current state forbids."
);
create_exception!(
    _native,
    StaleLeaseError,
    HiveError,
    "A task lease that is no longer held."
);
create_exception!(
    _native,
    NotSupportedError,
    HiveError,
    "An operation the backend does not have."
);
create_exception!(
    _native,
    BackendError,
    HiveError,
    "SQLite, Redis or Postgres failed; usually transient."
);
create_exception!(
    _native,
    SetupError,
    HiveError,
    "The stores given cannot make a hive as asked (a Postgres without pgvector, a database written by a newer Agent Hive)."
);
create_exception!(_native, ClosedError, HiveError, "The hive was closed.");
create_exception!(
    _native,
    HiveTimeoutError,
    HiveError,
    "A wait ran out of time."
);
create_exception!(
    _native,
    TaskFailedError,
    HiveError,
    "The task failed or was cancelled; `.task` holds it."
);
create_exception!(
    _native,
    PermanentError,
    PyException,
    "Raised by an agent to fail its task at once, without retries."
);

/// Converts hive-core's error into its Python exception.
pub fn to_py(error: hive_core::Error) -> PyErr {
    use hive_core::Error;
    let message = error.to_string();
    match error {
        Error::InvalidInput(_) => InvalidInputError::new_err(message),
        Error::NotFound { .. } => NotFoundError::new_err(message),
        Error::Conflict(_) => ConflictError::new_err(message),
        Error::StaleLease { .. } => StaleLeaseError::new_err(message),
        Error::NotSupported { .. } => NotSupportedError::new_err(message),
        Error::Backend { .. } => BackendError::new_err(message),
        Error::Setup(setup) => SetupError::new_err(setup_message(setup)),
        // The stores given cannot make a hive: one was written by a newer
        // Agent Hive. The message names it and the way out.
        Error::NewerSchema { .. } => SetupError::new_err(message),
        // A variant added to hive-core later is still a HiveError.
        _ => HiveError::new_err(message),
    }
}

/// What a configuration lacks, with the remedy in Python's words.
fn setup_message(setup: hive_core::Setup) -> String {
    use hive_core::Setup;
    let remedy = match setup {
        Setup::PgvectorMissing => {
            "the `vector` extension on the Postgres at database_url, or pass context=False"
        }
        Setup::BrokerMissing => "pass redis_url too",
        Setup::RedisEvicts { .. } => "or pass allow_redis_eviction=True to accept losing tasks",
        _ => "see the documentation",
    };
    format!("{}{} ({remedy})", setup.problem(), setup.detail())
}

/// `hive_core::Result` into `PyResult`.
pub trait IntoPy<T> {
    /// The same value, or the error as its Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for hive_core::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("HiveError", py.get_type::<HiveError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("StaleLeaseError", py.get_type::<StaleLeaseError>())?;
    m.add("NotSupportedError", py.get_type::<NotSupportedError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("SetupError", py.get_type::<SetupError>())?;
    m.add("ClosedError", py.get_type::<ClosedError>())?;
    m.add("HiveTimeoutError", py.get_type::<HiveTimeoutError>())?;
    m.add("TaskFailedError", py.get_type::<TaskFailedError>())?;
    m.add("PermanentError", py.get_type::<PermanentError>())?;
    Ok(())
}
