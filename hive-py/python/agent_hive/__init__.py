"""Agent Hive from Python: a durable runtime for fleets of AI agents.

The runtime is Rust (the ``_native`` extension); this package re-exports it.
``Hive`` blocks, ``AsyncHive`` has the same methods as coroutines, and both
share one Tokio runtime. See ``docs/python.md`` in the repository.
"""

import atexit

from agent_hive._native import (
    AgentHandle,
    Attempt,
    AsyncHive,
    AsyncSubscription,
    BackendError,
    ClosedError,
    ConflictError,
    Found,
    Hive,
    HiveError,
    HiveTimeoutError,
    InvalidInputError,
    Message,
    NotFoundError,
    NotSupportedError,
    PermanentError,
    Priority,
    SetupError,
    StaleLeaseError,
    Subscription,
    Task,
    TaskFailedError,
    __version__,
    _close_all,
)

__all__ = [
    "AgentHandle",
    "Attempt",
    "AsyncHive",
    "AsyncSubscription",
    "BackendError",
    "ClosedError",
    "ConflictError",
    "Found",
    "Hive",
    "HiveError",
    "HiveTimeoutError",
    "InvalidInputError",
    "Message",
    "NotFoundError",
    "NotSupportedError",
    "PermanentError",
    "Priority",
    "SetupError",
    "StaleLeaseError",
    "Subscription",
    "Task",
    "TaskFailedError",
    "__version__",
]

# Hives left open stop their agents before the interpreter goes away, while
# Python can still run the agents' last calls.
atexit.register(_close_all)
