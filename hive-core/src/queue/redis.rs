//! The Redis queue backend (being written).

use std::sync::Arc;

use super::{Queue, QueueConfig};
use crate::error::{Error, Result};

/// Opens the Redis queue at `url` as a trait object (used by [`super::open`]).
pub(super) async fn open_dyn(_url: &str, _config: QueueConfig) -> Result<Arc<dyn Queue>> {
    Err(Error::NotSupported {
        operation: "open",
        backend: "redis",
    })
}
