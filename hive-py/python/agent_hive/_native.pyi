"""Type stubs of the Rust extension (checked by mypy.stubtest)."""

import datetime
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, ClassVar, Final, TypeAlias, TypeVar, final

__version__: Final[str]
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
    "_close_all",
]

# A _JSON value: None, bool, int, float, str, list or dict with str keys.
_JSON: TypeAlias = Any

_F = TypeVar("_F", bound=Callable[..., Any])

@final
class Priority:
    CRITICAL: ClassVar[Priority]
    HIGH: ClassVar[Priority]
    NORMAL: ClassVar[Priority]
    LOW: ClassVar[Priority]
    BACKGROUND: ClassVar[Priority]
    @property
    def level(self) -> int: ...
    def __int__(self) -> int: ...

@final
class Task:
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> dict[str, _JSON]: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def capabilities(self) -> list[str]: ...
    @property
    def dependencies(self) -> list[str]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def result(self) -> _JSON: ...
    @property
    def error(self) -> str | None: ...
    @property
    def worker(self) -> str | None: ...
    @property
    def traceparent(self) -> str | None: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def updated_at(self) -> datetime.datetime: ...
    @property
    def finished_at(self) -> datetime.datetime | None: ...
    @property
    def inputs(self) -> list[_JSON]: ...

@final
class Attempt:
    @property
    def attempt(self) -> int: ...
    @property
    def worker(self) -> str: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def started_at(self) -> datetime.datetime: ...
    @property
    def finished_at(self) -> datetime.datetime | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def error(self) -> str | None: ...

@final
class AgentHandle:
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...

@final
class Message:
    @property
    def id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> _JSON: ...
    @property
    def offset(self) -> int: ...
    @property
    def sender(self) -> str | None: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def published_at(self) -> datetime.datetime: ...

@final
class Found:
    @property
    def id(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def similarity(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def importance(self) -> float: ...
    @property
    def metadata(self) -> _JSON: ...

@final
class Subscription:
    def next(self, timeout: float | None = None) -> Message | None: ...
    def __iter__(self) -> Iterator[Message]: ...
    def __next__(self) -> Message: ...
    def close(self) -> None: ...
    def __enter__(self) -> Subscription: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

@final
class AsyncSubscription:
    def next(self, timeout: float | None = None) -> Awaitable[Message | None]: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    def __anext__(self) -> Awaitable[Message]: ...
    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable[AsyncSubscription]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]: ...

@final
class Hive:
    @classmethod
    def embedded(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Hive: ...
    @classmethod
    def memory(
        cls,
        *,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Hive: ...
    @classmethod
    def connect(
        cls,
        *,
        redis_url: str,
        database_url: str,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        allow_redis_eviction: bool = False,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Hive: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Hive: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def submit(
        self,
        task_type: str,
        payload: dict[str, _JSON] | None = None,
        *,
        priority: Priority | int | None = None,
        capabilities: str | list[str] | None = None,
        depends_on: list[str] | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        traceparent: str | None = None,
    ) -> str: ...
    def get(self, task_id: str) -> Task: ...
    def wait(self, task_id: str, timeout: float = 30.0) -> Task: ...
    def result(self, task_id: str, timeout: float = 30.0) -> _JSON: ...
    def attempts(self, task_id: str) -> list[Attempt]: ...
    def cancel(self, task_id: str) -> Task: ...
    def list_tasks(
        self,
        *,
        status: str | list[str] | None = None,
        task_type: str | None = None,
        limit: int = 100,
        after: str | None = None,
        newest_first: bool = False,
    ) -> list[Task]: ...
    def stats(self) -> dict[str, int]: ...
    def dead_letters(self, limit: int = 100) -> list[Task]: ...
    def spawn_agent(
        self,
        function: Callable[[Task], Any],
        name: str,
        capabilities: str | list[str],
        *,
        concurrency: int = 1,
        task_types: str | list[str] | None = None,
    ) -> AgentHandle: ...
    def agent(
        self,
        name: str,
        capabilities: str | list[str],
        *,
        concurrency: int = 1,
        task_types: str | list[str] | None = None,
    ) -> Callable[[_F], _F]: ...
    def spawn_llm_agent(
        self,
        name: str,
        *,
        provider: str,
        model: str,
        system_prompt: str | None = None,
        capabilities: list[str] | None = None,
        **settings: _JSON,
    ) -> AgentHandle: ...
    def spawn_cli_agent(
        self,
        name: str,
        *,
        repo: str | os.PathLike[str],
        capabilities: list[str] | None = None,
        **settings: _JSON,
    ) -> AgentHandle: ...
    def purge_expired(self) -> dict[str, int]: ...
    def stop_agent(self, agent_id: str) -> None: ...
    def metrics(
        self,
        group_by: str = "all",
        *,
        agent: str | None = None,
        task_type: str | None = None,
        prompt_version: str | None = None,
        experiment: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
    ) -> list[dict[str, _JSON]]: ...
    def outcomes(
        self,
        *,
        agent: str | None = None,
        task_type: str | None = None,
        prompt_version: str | None = None,
        experiment: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, _JSON]]: ...
    def create_prompt(
        self,
        agent: str,
        text: str,
        author: str,
        *,
        parent: str | None = None,
        rationale: str | None = None,
        by_optimiser: bool = False,
    ) -> dict[str, _JSON]: ...
    def prompt(self, version_id: str) -> dict[str, _JSON]: ...
    def prompts(self, agent: str) -> dict[str, list[dict[str, _JSON]]]: ...
    def move_label(
        self,
        agent: str,
        label: str,
        version: str,
        by: str,
        *,
        approved_by: str | None = None,
        reason: str | None = None,
    ) -> dict[str, _JSON]: ...
    def label_history(self, agent: str, label: str) -> list[dict[str, _JSON]]: ...
    def diff_prompts(self, old_version_id: str, new_version_id: str) -> str: ...
    def start_experiment(
        self,
        agent: str,
        variants: list[str],
        started_by: str,
        *,
        label: str = "production",
        control: str | None = None,
        metric: str = "success",
        alpha: float = 0.05,
        min_samples: int = 20,
        max_samples: int = 1000,
        watch_samples: int = 200,
        watch_holdback: float = 0.2,
        max_cost_increase: float | None = None,
        max_p95_increase: float | None = None,
        max_error_rate_increase: float | None = None,
        thompson_burn_in: int | None = None,
        weights: list[float] | None = None,
        seed: int | None = None,
        approved_by: str | None = None,
    ) -> dict[str, _JSON]: ...
    def experiment(self, experiment_id: str) -> dict[str, _JSON]: ...
    def experiments(
        self, agent: str | None = None, *, active_only: bool = False, limit: int = 100
    ) -> list[dict[str, _JSON]]: ...
    def stop_experiment(
        self, experiment_id: str, by: str, *, reason: str | None = None
    ) -> dict[str, _JSON]: ...
    def approve_experiment(self, experiment_id: str, by: str) -> dict[str, _JSON]: ...
    def experiment_assignments(self, experiment_id: str) -> list[dict[str, str]]: ...
    def set_verifier(
        self, task_type: str, function: Callable[[Task, dict[str, _JSON]], Any]
    ) -> None: ...
    def set_command_verifier(
        self,
        task_type: str,
        argv: list[str],
        *,
        cwd: str | os.PathLike[str] = ...,
        timeout_secs: float = 60.0,
    ) -> None: ...
    def set_judge_verifier(
        self,
        task_type: str,
        *,
        provider: str,
        model: str,
        rubric: str,
        base_url: str | None = None,
        api_key_env: str | None = None,
    ) -> None: ...
    def remove_verifier(self, task_type: str) -> bool: ...
    def verifiers(self) -> list[dict[str, _JSON]]: ...
    def run_meta_agent(
        self,
        agent: str,
        *,
        provider: str,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout_secs: float | None = None,
        calls_per_day: int = 20,
        usd_per_day: float | None = None,
        must_keep: list[str] | None = None,
        label: str = "production",
        min_samples: int = 20,
        max_samples: int = 500,
    ) -> dict[str, _JSON]: ...
    def proposals(
        self, agent: str | None = None, *, status: str | None = None, limit: int = 100
    ) -> list[dict[str, _JSON]]: ...
    def proposal(self, proposal_id: str) -> dict[str, _JSON]: ...
    def approve_proposal(self, proposal_id: str, by: str) -> dict[str, _JSON]: ...
    def reject_proposal(
        self, proposal_id: str, by: str, *, reason: str | None = None
    ) -> dict[str, _JSON]: ...
    def add_repository(
        self,
        name: str,
        path: str | os.PathLike[str],
        policy: str,
        target: str = "main",
        coder: list[str] | None = None,
    ) -> None: ...
    def repositories(self) -> list[dict[str, _JSON]]: ...
    def propose_change(
        self,
        repository: str,
        title: str,
        *,
        patch: str | None = None,
        prompt: str | None = None,
        description: str = "",
        proposal: str | None = None,
    ) -> dict[str, _JSON]: ...
    def changes(
        self, repository: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, _JSON]]: ...
    def change(self, change_id: str) -> dict[str, _JSON]: ...
    def approve_change(self, change_id: str, by: str, reason: str = "") -> dict[str, _JSON]: ...
    def reject_change(self, change_id: str, by: str, reason: str = "") -> dict[str, _JSON]: ...
    def revert_change(self, change_id: str, by: str, reason: str = "") -> dict[str, _JSON]: ...
    def agents(self) -> list[dict[str, _JSON]]: ...
    def publish(
        self, topic: str, payload: dict[str, _JSON] | None = None, *, kind: str = "message"
    ) -> int: ...
    def subscribe(
        self, name: str, patterns: str | list[str], *, from_beginning: bool = False
    ) -> Subscription: ...
    def remember(
        self,
        content: str,
        *,
        kind: str | None = None,
        importance: float | None = None,
        agent: str | None = None,
        session: str | None = None,
        metadata: dict[str, _JSON] | None = None,
    ) -> str: ...
    def search(
        self,
        text: str,
        k: int = 5,
        *,
        min_similarity: float | None = None,
        agent: str | None = None,
        session: str | None = None,
        kinds: str | list[str] | None = None,
        tiers: str | list[str] | None = None,
        created_after: datetime.datetime | None = None,
        created_before: datetime.datetime | None = None,
        pinned: bool | None = None,
    ) -> list[Found]: ...
    def forget(self, entry_id: str) -> None: ...

@final
class AsyncHive:
    @classmethod
    def embedded(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Awaitable[AsyncHive]: ...
    @classmethod
    def memory(
        cls,
        *,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Awaitable[AsyncHive]: ...
    @classmethod
    def connect(
        cls,
        *,
        redis_url: str,
        database_url: str,
        context: bool = True,
        lease: float | None = None,
        heartbeat_every: float | None = None,
        unhealthy_after: float | None = None,
        dead_after: float | None = None,
        allow_redis_eviction: bool = False,
        retain_finished: float | None = None,
        retain_dead_letters: float | None = None,
    ) -> Awaitable[AsyncHive]: ...
    def close(self) -> Awaitable[None]: ...
    @property
    def closed(self) -> bool: ...
    def __aenter__(self) -> Awaitable[AsyncHive]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[None]: ...
    def submit(
        self,
        task_type: str,
        payload: dict[str, _JSON] | None = None,
        *,
        priority: Priority | int | None = None,
        capabilities: str | list[str] | None = None,
        depends_on: list[str] | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        traceparent: str | None = None,
    ) -> Awaitable[str]: ...
    def get(self, task_id: str) -> Awaitable[Task]: ...
    def wait(self, task_id: str, timeout: float = 30.0) -> Awaitable[Task]: ...
    def result(self, task_id: str, timeout: float = 30.0) -> Awaitable[_JSON]: ...
    def attempts(self, task_id: str) -> Awaitable[list[Attempt]]: ...
    def cancel(self, task_id: str) -> Awaitable[Task]: ...
    def list_tasks(
        self,
        *,
        status: str | list[str] | None = None,
        task_type: str | None = None,
        limit: int = 100,
        after: str | None = None,
        newest_first: bool = False,
    ) -> Awaitable[list[Task]]: ...
    def stats(self) -> Awaitable[dict[str, int]]: ...
    def dead_letters(self, limit: int = 100) -> Awaitable[list[Task]]: ...
    def spawn_agent(
        self,
        function: Callable[[Task], Any],
        name: str,
        capabilities: str | list[str],
        *,
        concurrency: int = 1,
        task_types: str | list[str] | None = None,
    ) -> Awaitable[AgentHandle]: ...
    def agent(
        self,
        name: str,
        capabilities: str | list[str],
        *,
        concurrency: int = 1,
        task_types: str | list[str] | None = None,
    ) -> Callable[[_F], _F]: ...
    def spawn_llm_agent(
        self,
        name: str,
        *,
        provider: str,
        model: str,
        system_prompt: str | None = None,
        capabilities: list[str] | None = None,
        **settings: _JSON,
    ) -> Awaitable[AgentHandle]: ...
    def spawn_cli_agent(
        self,
        name: str,
        *,
        repo: str | os.PathLike[str],
        capabilities: list[str] | None = None,
        **settings: _JSON,
    ) -> Awaitable[AgentHandle]: ...
    def purge_expired(self) -> Awaitable[dict[str, int]]: ...
    def stop_agent(self, agent_id: str) -> Awaitable[None]: ...
    def metrics(
        self,
        group_by: str = "all",
        *,
        agent: str | None = None,
        task_type: str | None = None,
        prompt_version: str | None = None,
        experiment: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
    ) -> Awaitable[list[dict[str, _JSON]]]: ...
    def outcomes(
        self,
        *,
        agent: str | None = None,
        task_type: str | None = None,
        prompt_version: str | None = None,
        experiment: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
        limit: int = 100,
    ) -> Awaitable[list[dict[str, _JSON]]]: ...
    def create_prompt(
        self,
        agent: str,
        text: str,
        author: str,
        *,
        parent: str | None = None,
        rationale: str | None = None,
        by_optimiser: bool = False,
    ) -> Awaitable[dict[str, _JSON]]: ...
    def prompt(self, version_id: str) -> Awaitable[dict[str, _JSON]]: ...
    def prompts(self, agent: str) -> Awaitable[dict[str, list[dict[str, _JSON]]]]: ...
    def move_label(
        self,
        agent: str,
        label: str,
        version: str,
        by: str,
        *,
        approved_by: str | None = None,
        reason: str | None = None,
    ) -> Awaitable[dict[str, _JSON]]: ...
    def label_history(self, agent: str, label: str) -> Awaitable[list[dict[str, _JSON]]]: ...
    def diff_prompts(self, old_version_id: str, new_version_id: str) -> Awaitable[str]: ...
    def start_experiment(
        self,
        agent: str,
        variants: list[str],
        started_by: str,
        *,
        label: str = "production",
        control: str | None = None,
        metric: str = "success",
        alpha: float = 0.05,
        min_samples: int = 20,
        max_samples: int = 1000,
        watch_samples: int = 200,
        watch_holdback: float = 0.2,
        max_cost_increase: float | None = None,
        max_p95_increase: float | None = None,
        max_error_rate_increase: float | None = None,
        thompson_burn_in: int | None = None,
        weights: list[float] | None = None,
        seed: int | None = None,
        approved_by: str | None = None,
    ) -> Awaitable[dict[str, _JSON]]: ...
    def experiment(self, experiment_id: str) -> Awaitable[dict[str, _JSON]]: ...
    def experiments(
        self, agent: str | None = None, *, active_only: bool = False, limit: int = 100
    ) -> Awaitable[list[dict[str, _JSON]]]: ...
    def stop_experiment(
        self, experiment_id: str, by: str, *, reason: str | None = None
    ) -> Awaitable[dict[str, _JSON]]: ...
    def approve_experiment(self, experiment_id: str, by: str) -> Awaitable[dict[str, _JSON]]: ...
    def experiment_assignments(self, experiment_id: str) -> Awaitable[list[dict[str, str]]]: ...
    def set_verifier(
        self, task_type: str, function: Callable[[Task, dict[str, _JSON]], Any]
    ) -> Awaitable[None]: ...
    def set_command_verifier(
        self,
        task_type: str,
        argv: list[str],
        *,
        cwd: str | os.PathLike[str] = ...,
        timeout_secs: float = 60.0,
    ) -> Awaitable[None]: ...
    def set_judge_verifier(
        self,
        task_type: str,
        *,
        provider: str,
        model: str,
        rubric: str,
        base_url: str | None = None,
        api_key_env: str | None = None,
    ) -> Awaitable[None]: ...
    def remove_verifier(self, task_type: str) -> Awaitable[bool]: ...
    def verifiers(self) -> Awaitable[list[dict[str, _JSON]]]: ...
    def run_meta_agent(
        self,
        agent: str,
        *,
        provider: str,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout_secs: float | None = None,
        calls_per_day: int = 20,
        usd_per_day: float | None = None,
        must_keep: list[str] | None = None,
        label: str = "production",
        min_samples: int = 20,
        max_samples: int = 500,
    ) -> Awaitable[dict[str, _JSON]]: ...
    def proposals(
        self, agent: str | None = None, *, status: str | None = None, limit: int = 100
    ) -> Awaitable[list[dict[str, _JSON]]]: ...
    def proposal(self, proposal_id: str) -> Awaitable[dict[str, _JSON]]: ...
    def approve_proposal(self, proposal_id: str, by: str) -> Awaitable[dict[str, _JSON]]: ...
    def reject_proposal(
        self, proposal_id: str, by: str, *, reason: str | None = None
    ) -> Awaitable[dict[str, _JSON]]: ...
    def add_repository(
        self,
        name: str,
        path: str | os.PathLike[str],
        policy: str,
        target: str = "main",
        coder: list[str] | None = None,
    ) -> Awaitable[None]: ...
    def repositories(self) -> Awaitable[list[dict[str, _JSON]]]: ...
    def propose_change(
        self,
        repository: str,
        title: str,
        *,
        patch: str | None = None,
        prompt: str | None = None,
        description: str = "",
        proposal: str | None = None,
    ) -> Awaitable[dict[str, _JSON]]: ...
    def changes(
        self, repository: str | None = None, status: str | None = None, limit: int = 100
    ) -> Awaitable[list[dict[str, _JSON]]]: ...
    def change(self, change_id: str) -> Awaitable[dict[str, _JSON]]: ...
    def approve_change(
        self, change_id: str, by: str, reason: str = ""
    ) -> Awaitable[dict[str, _JSON]]: ...
    def reject_change(
        self, change_id: str, by: str, reason: str = ""
    ) -> Awaitable[dict[str, _JSON]]: ...
    def revert_change(
        self, change_id: str, by: str, reason: str = ""
    ) -> Awaitable[dict[str, _JSON]]: ...
    def agents(self) -> Awaitable[list[dict[str, _JSON]]]: ...
    def publish(
        self, topic: str, payload: dict[str, _JSON] | None = None, *, kind: str = "message"
    ) -> Awaitable[int]: ...
    def subscribe(
        self, name: str, patterns: str | list[str], *, from_beginning: bool = False
    ) -> Awaitable[AsyncSubscription]: ...
    def remember(
        self,
        content: str,
        *,
        kind: str | None = None,
        importance: float | None = None,
        agent: str | None = None,
        session: str | None = None,
        metadata: dict[str, _JSON] | None = None,
    ) -> Awaitable[str]: ...
    def search(
        self,
        text: str,
        k: int = 5,
        *,
        min_similarity: float | None = None,
        agent: str | None = None,
        session: str | None = None,
        kinds: str | list[str] | None = None,
        tiers: str | list[str] | None = None,
        created_after: datetime.datetime | None = None,
        created_before: datetime.datetime | None = None,
        pinned: bool | None = None,
    ) -> Awaitable[list[Found]]: ...
    def forget(self, entry_id: str) -> Awaitable[None]: ...

class HiveError(Exception): ...
class InvalidInputError(HiveError): ...
class NotFoundError(HiveError): ...
class ConflictError(HiveError): ...
class StaleLeaseError(HiveError): ...
class NotSupportedError(HiveError): ...
class BackendError(HiveError): ...
class SetupError(HiveError): ...
class ClosedError(HiveError): ...
class HiveTimeoutError(HiveError): ...

class TaskFailedError(HiveError):
    task: Task

class PermanentError(Exception): ...

def _close_all() -> None: ...
