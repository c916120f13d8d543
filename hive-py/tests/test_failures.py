"""Python exceptions in agents: retries, dead letters, ``PermanentError``.

docs/python.md, "Agents written in Python": an exception fails the attempt
with its formatted traceback as the task's ``error``; the queue retries per
``max_attempts`` and dead-letters after the last; ``PermanentError`` fails at
once. A task out of attempts, or failed permanently, ends ``dead_lettered``
(it may be retried by hand); one whose dependency did not complete ends
``failed`` without running.
Retries back off (about 1 s, then 2 s), hence the generous waits.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

import agent_hive
from conftest import Names

RETRY_WAIT = 90.0


def test_an_exception_is_retried_then_dead_lettered(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    calls: list[str] = []

    @hive.agent(names.agent(), capabilities=[cap])
    def always_fails(task: agent_hive.Task) -> dict:
        calls.append(task.id)
        raise ValueError("boom")

    tid = hive.submit(names.type("boom"), {"n": 1}, capabilities=[cap], max_attempts=3)
    task = hive.wait(tid, timeout=RETRY_WAIT)
    # Out of attempts: dead-lettered (it can be retried by hand), not failed.
    assert task.status == "dead_lettered", f"{task!r}: {task.error}"
    assert task.attempts == 3
    assert task.max_attempts == 3
    assert calls == [tid] * 3
    assert task.error is not None
    assert "Traceback" in task.error
    assert "ValueError: boom" in task.error
    # The traceback names the function that raised.
    assert "always_fails" in task.error
    assert task.result is None

    dead = hive.dead_letters()
    assert isinstance(dead, list)
    assert tid in [t.id for t in dead]
    assert all(isinstance(t, agent_hive.Task) for t in dead)

    with pytest.raises(agent_hive.TaskFailedError) as info:
        hive.result(tid, timeout=10)
    assert isinstance(info.value.task, agent_hive.Task)
    assert info.value.task.id == tid
    assert info.value.task.attempts == 3
    assert "ValueError: boom" in (info.value.task.error or "")
    assert isinstance(info.value, agent_hive.HiveError)


def test_an_async_agents_exception_is_its_error(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()

    @hive.agent(names.agent(), capabilities=[cap])
    async def fails(task: agent_hive.Task) -> dict:
        await asyncio.sleep(0)
        raise KeyError("missing-key")

    tid = hive.submit(names.type("async-boom"), {}, capabilities=[cap], max_attempts=1)
    task = hive.wait(tid, timeout=RETRY_WAIT)
    assert task.status == "dead_lettered"
    assert task.attempts == 1
    assert "Traceback" in (task.error or "")
    assert "KeyError: 'missing-key'" in (task.error or "")


def test_a_task_that_fails_once_then_succeeds(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    lock = threading.Lock()
    calls = 0

    agent = names.agent()

    @hive.agent(agent, capabilities=[cap])
    def flaky(task: agent_hive.Task) -> dict:
        nonlocal calls
        with lock:
            calls += 1
            n = calls
        if n == 1:
            raise ConnectionError("transient")
        return {"call": n}

    tid = hive.submit(names.type("flaky"), {}, capabilities=[cap], max_attempts=3)
    task = hive.wait(tid, timeout=RETRY_WAIT)
    assert task.status == "completed", task.error
    assert task.attempts == 2
    assert task.result == {"call": 2}
    assert hive.result(tid) == {"call": 2}
    assert tid not in [t.id for t in hive.dead_letters()]
    # The first attempt's traceback is history, not the task's error.
    assert task.error is None
    assert task.worker is not None and task.worker.startswith("agent-")
    assert task.agent_name == agent
    attempts = hive.attempts(tid)
    assert [a.attempt for a in attempts] == [1, 2]
    assert [a.outcome for a in attempts] == ["failed", "completed"]
    assert all(a.agent_name == agent and a.worker == task.worker for a in attempts)
    assert "ConnectionError: transient" in (attempts[0].error or "")
    assert attempts[1].error is None
    assert attempts[0].finished_at is not None
    assert attempts[0].started_at <= attempts[0].finished_at <= attempts[1].started_at
    assert "outcome='failed'" in repr(attempts[0])
    with pytest.raises(agent_hive.NotFoundError):
        hive.attempts("0190a4f4-0000-7000-8000-000000000000")


async def test_attempts_from_asyncio(ahive: agent_hive.AsyncHive, names: Names) -> None:
    # A capability no agent has, so no other test's agent takes it.
    tid = await ahive.submit(names.type("never-run"), {}, capabilities=[names.cap()])
    assert await ahive.attempts(tid) == []
    task = await ahive.get(tid)
    assert task.agent_name is None and task.worker is None
    await ahive.cancel(tid)
    assert await ahive.attempts(tid) == [], "cancelling an unclaimed task ends no attempt"


def test_permanent_error_fails_at_once(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    calls: list[str] = []

    @hive.agent(names.agent(), capabilities=[cap])
    def refuses(task: agent_hive.Task) -> dict:
        calls.append(task.id)
        raise agent_hive.PermanentError("no such document")

    tid = hive.submit(names.type("perm"), {}, capabilities=[cap], max_attempts=5)
    task = hive.wait(tid, timeout=RETRY_WAIT)
    # Dead-lettered at once, with attempts to spare: not retried.
    assert task.status == "dead_lettered"
    assert task.attempts == 1
    assert calls == [tid]
    assert tid in [t.id for t in hive.dead_letters()]
    assert "no such document" in (task.error or "")
    with pytest.raises(agent_hive.TaskFailedError) as info:
        hive.result(tid)
    assert info.value.task.id == tid


def test_a_failed_dependency_fails_its_dependents(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()

    @hive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        if task.payload["fail"]:
            raise agent_hive.PermanentError("upstream broke")
        return {}

    first = hive.submit(names.type("up"), {"fail": True}, capabilities=[cap])
    second = hive.submit(names.type("down"), {"fail": False}, capabilities=[cap], depends_on=[first])
    task = hive.wait(second, timeout=RETRY_WAIT)
    assert task.status == "failed"
    assert task.attempts == 0, "a dependent of a failed task never runs"


def test_an_unserialisable_result_fails_the_attempt(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()

    @hive.agent(names.agent(), capabilities=[cap])
    def bad(task: agent_hive.Task) -> object:
        return {"when": {1, 2}}

    tid = hive.submit(names.type("badresult"), {}, capabilities=[cap], max_attempts=3)
    task = hive.wait(tid, timeout=RETRY_WAIT)
    # Not JSON is permanent: retrying would answer the same.
    assert task.status == "dead_lettered"
    assert task.attempts == 1
    assert "set" in (task.error or ""), task.error


async def test_async_hive_retries_and_dead_letters(ahive: agent_hive.AsyncHive, names: Names) -> None:
    cap = names.cap()
    attempts: list[int] = []

    @ahive.agent(names.agent(), capabilities=[cap])
    async def always_fails(task: agent_hive.Task) -> dict:
        attempts.append(1)
        raise ValueError("boom")

    tid = await ahive.submit(names.type("boom"), {}, capabilities=[cap], max_attempts=2)
    task = await ahive.wait(tid, timeout=RETRY_WAIT)
    assert task.status == "dead_lettered"
    assert task.attempts == 2
    assert "ValueError: boom" in (task.error or "")
    assert "Traceback" in (task.error or "")
    assert tid in [t.id for t in await ahive.dead_letters()]
    with pytest.raises(agent_hive.TaskFailedError) as info:
        await ahive.result(tid)
    assert info.value.task.status == "dead_lettered"
