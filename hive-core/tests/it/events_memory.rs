//! The event-log conformance suite on the in-process log.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hive_core::conformance::events::EventLogHarness;
use hive_core::events::{EventLog, MemoryLog};

/// One log per test: the first `open` makes it, later ones share it (the
/// memory log spans one process, so "two handles" are one log).
#[derive(Default)]
struct Memory {
    log: Mutex<Option<Arc<MemoryLog>>>,
}

#[async_trait]
impl EventLogHarness for Memory {
    async fn open(&self, retained: usize) -> Arc<dyn EventLog> {
        let mut log = self.log.lock().expect("lock");
        log.get_or_insert_with(|| Arc::new(MemoryLog::with_retention(retained)))
            .clone()
    }
}

mod conformance {
    use super::Memory;

    hive_core::event_log_conformance_tests!(Some(Memory::default()));
}
