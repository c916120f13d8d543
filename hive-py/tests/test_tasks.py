"""Tasks through the blocking ``Hive``: DAGs, agents, and the task methods.

docs/python.md, "Tasks" and "Agents written in Python". Each test runs on the
embedded and the distributed backend (see conftest.py); tasks always require
a capability unique to the test, so on a shared Redis only the test's own
agents claim them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

import pytest

import agent_hive
from conftest import Backend, Names, wait_all


def submit_diamond(h: agent_hive.Hive, names: Names, cap: str) -> dict[str, str]:
    """a → b, a → c, (b, c) → d."""
    ids: dict[str, str] = {}
    ids["a"] = h.submit(names.type("a"), {"step": "a"}, capabilities=[cap])
    ids["b"] = h.submit(names.type("b"), {"step": "b"}, capabilities=[cap], depends_on=[ids["a"]])
    ids["c"] = h.submit(names.type("c"), {"step": "c"}, capabilities=[cap], depends_on=[ids["a"]])
    ids["d"] = h.submit(
        names.type("d"), {"step": "d"}, capabilities=[cap], depends_on=[ids["b"], ids["c"]]
    )
    return ids


def diamond_result(task: agent_hive.Task) -> dict:
    """What the diamond's agents answer: their step and what they were given."""
    return {"step": task.payload["step"], "inputs": list(task.inputs)}


def check_diamond(h: agent_hive.Hive, ids: dict[str, str], seen: dict[str, list]) -> None:
    tasks = dict(zip(ids, wait_all(h, list(ids.values()))))
    for step, task in tasks.items():
        assert task.status == "completed", f"{step}: {task!r} error={task.error}"
        assert task.attempts == 1
    a_result = {"step": "a", "inputs": []}
    b_result = {"step": "b", "inputs": [a_result]}
    c_result = {"step": "c", "inputs": [a_result]}
    assert tasks["a"].result == a_result
    assert tasks["b"].result == b_result
    assert tasks["c"].result == c_result
    # d's inputs: its dependencies' results, in the order it named them.
    assert seen["d"] == [b_result, c_result]
    assert tasks["d"].result == {"step": "d", "inputs": [b_result, c_result]}
    assert tasks["d"].dependencies == [ids["b"], ids["c"]]
    # A task never runs before its dependencies completed.
    finished = {step: task.finished_at for step, task in tasks.items()}
    a, b, c, d = (finished[s] for s in "abcd")
    assert a is not None and b is not None and c is not None and d is not None
    assert a <= b <= d
    assert a <= c <= d


def test_a_python_agent_processes_a_dag(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    seen: dict[str, list] = {}
    threads: set[str] = set()

    @hive.agent(names.agent(), capabilities=[cap], concurrency=2)
    def work(task: agent_hive.Task) -> dict:
        threads.add(threading.current_thread().name)
        seen[task.payload["step"]] = list(task.inputs)
        return diamond_result(task)

    # The decorator gives back the function itself.
    assert callable(work)
    assert work.__name__ == "work"

    ids = submit_diamond(hive, names, cap)
    check_diamond(hive, ids, seen)
    # A plain function runs on a worker thread, not the caller's.
    assert threading.main_thread().name not in threads


def test_an_async_agent_under_the_blocking_hive(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    seen: dict[str, list] = {}
    loops: set[int] = set()

    @hive.agent(names.agent(), capabilities=[cap])
    async def work(task: agent_hive.Task) -> dict:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0)
        seen[task.payload["step"]] = list(task.inputs)
        return diamond_result(task)

    ids = submit_diamond(hive, names, cap)
    check_diamond(hive, ids, seen)
    assert len(loops) == 1, "every call runs on the package's one background loop"


def test_the_first_program_of_the_docs(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap("summarise")

    @hive.agent(names.agent("summariser"), capabilities=[cap])
    def summarise(task: agent_hive.Task) -> dict:
        return {"words": len(task.payload["text"].split())}

    task_id = hive.submit(names.type("summarise"), {"text": "a b c"}, capabilities=[cap])
    assert isinstance(task_id, str)
    uuid.UUID(task_id)
    assert hive.result(task_id, timeout=30) == {"words": 3}


def test_a_task_snapshot_has_every_field(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    payload = {"s": "x", "n": 1, "f": 2.5, "b": True, "z": None, "l": [1, "two", [3]], "t": (4, 5)}
    before = dt.datetime.now(dt.timezone.utc)
    tid = hive.submit(
        names.type("fields"), payload, priority=agent_hive.Priority.HIGH, capabilities=[cap],
        max_attempts=5,
    )
    task = hive.get(tid)
    assert task.id == tid
    assert task.type == names.type("fields")
    # A tuple is a JSON list.
    assert task.payload == {**payload, "t": [4, 5]}
    assert task.status == "pending"
    assert task.priority == 3
    assert task.capabilities == [cap]
    assert task.dependencies == []
    assert task.attempts == 0
    assert task.max_attempts == 5
    assert task.result is None
    assert task.error is None
    assert task.worker is None
    assert task.finished_at is None
    for stamp in (task.created_at, task.updated_at):
        assert isinstance(stamp, dt.datetime)
        assert stamp.utcoffset() == dt.timedelta(0)
        assert before - dt.timedelta(minutes=5) <= stamp <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)

    @hive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        return {"echo": task.payload["l"]}

    done = hive.wait(tid, timeout=30)
    assert done.status == "completed"
    assert done.result == {"echo": [1, "two", [3]]}
    assert done.attempts == 1
    assert isinstance(done.finished_at, dt.datetime)
    assert done.finished_at.utcoffset() == dt.timedelta(0)
    assert done.worker  # who ran it
    assert done.traceparent is None


def test_a_traceparent_is_carried_with_the_task(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    seen: list[str | None] = []

    @hive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> None:
        seen.append(task.traceparent)

    tid = hive.submit(names.type("traced"), capabilities=[cap], traceparent=tp)
    assert hive.get(tid).traceparent == tp
    assert hive.wait(tid, timeout=30).status == "completed"
    assert seen == [tp], "the agent sees the trace it runs under"
    with pytest.raises(agent_hive.InvalidInputError, match="traceparent"):
        hive.submit(names.type("traced"), capabilities=[cap], traceparent="00-nope-01")


def test_a_payload_of_none_is_an_empty_dict(hive: agent_hive.Hive, names: Names) -> None:
    tid = hive.submit(names.type("empty"), capabilities=[names.cap()])
    assert hive.get(tid).payload == {}
    tid = hive.submit(names.type("empty"), None, capabilities=[names.cap()])
    assert hive.get(tid).payload == {}


def test_an_agent_may_return_none_or_any_json(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    answers = {"none": None, "list": [1, 2], "str": "done", "num": 1.5, "dict": {"k": {"v": [None]}}}

    @hive.agent(names.agent(), capabilities=[cap], concurrency=2)
    def work(task: agent_hive.Task) -> object:
        return answers[task.payload["what"]]

    ids = {k: hive.submit(names.type("ret"), {"what": k}, capabilities=[cap]) for k in answers}
    for what, tid in ids.items():
        task = hive.wait(tid, timeout=30)
        assert task.status == "completed", f"{what}: {task.error}"
        assert task.result == answers[what]


def test_wait_times_out_with_hive_timeout_error(hive: agent_hive.Hive, names: Names) -> None:
    # Nobody has this capability: the task stays pending.
    tid = hive.submit(names.type("never"), {}, capabilities=[names.cap("nobody")])
    with pytest.raises(agent_hive.HiveTimeoutError):
        hive.wait(tid, timeout=0.3)
    with pytest.raises(agent_hive.HiveTimeoutError):
        hive.result(tid, timeout=0.3)
    assert hive.get(tid).status == "pending"


def test_cancel(hive: agent_hive.Hive, names: Names) -> None:
    tid = hive.submit(names.type("cancel"), {"x": 1}, capabilities=[names.cap("nobody")])
    cancelled = hive.cancel(tid)
    assert isinstance(cancelled, agent_hive.Task)
    assert cancelled.id == tid
    assert cancelled.status == "cancelled"
    assert hive.get(tid).status == "cancelled"
    # A cancelled task is final: wait answers it at once.
    assert hive.wait(tid, timeout=10).status == "cancelled"
    with pytest.raises(agent_hive.TaskFailedError) as info:
        hive.result(tid, timeout=10)
    assert info.value.task.id == tid
    assert info.value.task.status == "cancelled"
    # Cancelling a finished task is a conflict.
    with pytest.raises(agent_hive.ConflictError):
        hive.cancel(tid)


def test_cancelling_a_dependency_fails_its_dependents(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap("nobody")
    first = hive.submit(names.type("first"), {}, capabilities=[cap])
    second = hive.submit(names.type("second"), {}, capabilities=[cap], depends_on=[first])
    assert hive.get(second).status == "waiting"
    hive.cancel(first)
    task = hive.wait(second, timeout=30)
    assert task.status == "failed"
    assert first in (task.error or "")


def test_list_tasks_filters_by_status_and_type(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap("nobody")
    ta, tb = names.type("listed"), names.type("other")
    a_ids = [hive.submit(ta, {"i": i}, capabilities=[cap]) for i in range(3)]
    b_id = hive.submit(tb, {}, capabilities=[cap])
    hive.cancel(a_ids[1])

    def ids(tasks: list[agent_hive.Task]) -> list[str]:
        assert all(isinstance(t, agent_hive.Task) for t in tasks)
        return [t.id for t in tasks]

    # Oldest first.
    assert ids(hive.list_tasks(task_type=ta)) == a_ids
    assert ids(hive.list_tasks(task_type=tb)) == [b_id]
    assert ids(hive.list_tasks(task_type=ta, status="pending")) == [a_ids[0], a_ids[2]]
    assert ids(hive.list_tasks(task_type=ta, status="cancelled")) == [a_ids[1]]
    assert ids(hive.list_tasks(task_type=ta, status=["pending", "cancelled"])) == a_ids
    assert ids(hive.list_tasks(task_type=ta, status="completed")) == []
    # Paging: limit, then on from the last one seen.
    first_page = hive.list_tasks(task_type=ta, limit=2)
    assert ids(first_page) == a_ids[:2]
    assert ids(hive.list_tasks(task_type=ta, limit=2, after=first_page[-1].id)) == a_ids[2:]
    # Newest first, paging on towards older tasks.
    newest = hive.list_tasks(task_type=ta, limit=2, newest_first=True)
    assert ids(newest) == a_ids[::-1][:2]
    older = hive.list_tasks(task_type=ta, limit=2, after=newest[-1].id, newest_first=True)
    assert ids(older) == [a_ids[0]]
    with pytest.raises(agent_hive.InvalidInputError):
        hive.list_tasks(status="no-such-status")


def test_stats_counts_every_status(hive: agent_hive.Hive, backend: Backend, names: Names) -> None:
    before = hive.stats()
    assert isinstance(before, dict)
    for status in ("pending", "waiting", "delayed", "assigned", "completed", "failed", "cancelled"):
        assert status in before, f"stats() lacks {status!r}: {before}"
    assert all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in before.items())

    cap = names.cap()
    nobody = names.cap("nobody")

    @hive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        return {}

    done = [hive.submit(names.type("done"), {}, capabilities=[cap]) for _ in range(2)]
    wait_all(hive, done)
    pending = [hive.submit(names.type("pending"), {}, capabilities=[nobody]) for _ in range(3)]
    hive.submit(names.type("waiting"), {}, capabilities=[nobody], depends_on=[pending[0]])
    hive.submit(names.type("delayed"), {}, capabilities=[nobody], delay=3600.0)
    hive.cancel(pending[2])
    after = hive.stats()
    expected = {"completed": 2, "pending": 2, "waiting": 1, "delayed": 1, "cancelled": 1}
    if backend.kind == "embedded":
        # A fresh file: the counts are exactly this test's.
        assert {k: v for k, v in after.items() if v} == expected
    else:
        # A shared queue: at least this test's work on top of what was there.
        for status, n in expected.items():
            assert after[status] >= before[status] + n, (status, before, after)


def test_priority_orders_the_claims(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    P = agent_hive.Priority
    # Submitted in this order with no agent running: the most urgent go first,
    # FIFO within a level; ints and Priority members are the same levels.
    plan: list[tuple[str, agent_hive.Priority | int | None]] = [
        ("low", P.LOW), ("background", 9), ("critical", P.CRITICAL), ("normal", None),
        ("high", 3), ("critical-2", 1),
    ]
    ids = []
    for label, priority in plan:
        if priority is None:  # the default, NORMAL
            ids.append(hive.submit(names.type("prio"), {"label": label}, capabilities=[cap]))
        else:
            ids.append(
                hive.submit(names.type("prio"), {"label": label}, capabilities=[cap], priority=priority)
            )
    assert [hive.get(i).priority for i in ids] == [7, 9, 1, 5, 3, 1]

    order: list[str] = []

    @hive.agent(names.agent(), capabilities=[cap], concurrency=1)
    def work(task: agent_hive.Task) -> None:
        order.append(task.payload["label"])

    wait_all(hive, ids)
    assert order == ["critical", "critical-2", "high", "normal", "low", "background"]


def test_spawn_agent_answers_a_handle_and_stop_agent_stops_it(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    calls: list[str] = []

    def work(task: agent_hive.Task) -> dict:
        calls.append(task.id)
        return {"n": len(calls)}

    handle = hive.spawn_agent(work, names.agent("spawned"), [cap], concurrency=1)
    assert isinstance(handle, agent_hive.AgentHandle)
    assert handle.name == names.agent("spawned")
    assert isinstance(handle.id, str) and handle.id
    first = hive.submit(names.type("spawned"), {}, capabilities=[cap])
    assert hive.result(first, timeout=30) == {"n": 1}

    mine = [a for a in hive.agents() if a.get("id") == handle.id]
    assert len(mine) == 1, hive.agents()
    assert isinstance(mine[0], dict)
    assert mine[0].get("name") == names.agent("spawned")

    hive.stop_agent(handle.id)
    assert [a for a in hive.agents() if a.get("id") == handle.id and a.get("status") != "stopped"] == []
    # Stopped: nothing claims the next task.
    second = hive.submit(names.type("spawned"), {}, capabilities=[cap])
    with pytest.raises(agent_hive.HiveTimeoutError):
        hive.wait(second, timeout=1.0)
    assert calls == [first]


def test_the_hive_is_a_context_manager(backend: Backend, names: Names) -> None:
    with backend.open() as h:
        assert isinstance(h, agent_hive.Hive)
        tid = h.submit(names.type("ctx"), {}, capabilities=[names.cap("nobody")])
        assert h.get(tid).id == tid
    with pytest.raises(agent_hive.ClosedError):
        h.get(tid)


def test_a_task_survives_reopening_the_embedded_file(tmp_path, names: Names) -> None:
    path = str(tmp_path / "durable.db")
    with agent_hive.Hive.embedded(path) as h:
        tid = h.submit(names.type("durable"), {"keep": True}, capabilities=[names.cap()])
    with agent_hive.Hive.embedded(path) as h:
        assert h.get(tid).payload == {"keep": True}

        @h.agent(names.agent(), capabilities=[names.cap()])
        def work(task: agent_hive.Task) -> dict:
            return {"kept": task.payload["keep"]}

        assert h.result(tid, timeout=30) == {"kept": True}


def test_the_in_memory_hive(names: Names) -> None:
    with agent_hive.Hive.memory() as h:
        @h.agent(names.agent(), capabilities=["echo"])
        def echo(task: agent_hive.Task) -> dict:
            return task.payload

        assert h.result(h.submit("echo", {"x": 1}, capabilities=["echo"]), timeout=30) == {"x": 1}


def test_an_agent_takes_only_the_task_types_it_names(hive: agent_hive.Hive, names: Names) -> None:
    # Routing is by capability: both tasks need only `cap`, so an agent
    # with it would take either — unless it names the types it takes.
    cap = names.cap()
    wanted, other = names.type("wanted"), names.type("other")
    seen: list[str] = []

    @hive.agent(names.agent(), capabilities=[cap], task_types=[wanted])
    def picky(task: agent_hive.Task) -> dict:
        seen.append(task.type)
        return {}

    skipped = hive.submit(other, {}, capabilities=[cap], priority=1)
    done = hive.submit(wanted, {}, capabilities=[cap])
    assert hive.wait(done, timeout=30).status == "completed"
    assert seen == [wanted]
    assert hive.get(skipped).status == "pending", "never handed to the picky agent"
    hive.cancel(skipped)
    with pytest.raises(agent_hive.InvalidInputError):
        hive.spawn_agent(lambda t: {}, names.agent("bad"), [cap], task_types=[""])
    with pytest.raises(TypeError):
        hive.spawn_agent(lambda t: {}, names.agent("bad2"), [cap], task_types=[1])  # type: ignore[list-item]


def test_outcomes_and_metrics_of_finished_tasks(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    agent = names.agent()
    ty = names.type("measured")

    @hive.agent(agent, capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        n = task.payload["n"]
        if n % 4 == 0:
            raise agent_hive.PermanentError("every fourth fails for good")
        return {
            "prompt_version": "v7",
            "usage": {"input_tokens": n, "output_tokens": 1},
            "cost_usd": 0.5,
        }

    ids = [hive.submit(ty, {"n": n}, capabilities=[cap], max_attempts=1) for n in range(8)]
    for tid in ids:
        hive.wait(tid, timeout=30)
    [m] = hive.metrics("agent", task_type=ty)
    assert m["key"] == agent
    assert (m["tasks"], m["succeeded"], m["dead_lettered"]) == (8, 6, 2)
    assert m["success_rate"] == 0.75
    assert m["input_tokens"] == sum(n for n in range(8) if n % 4)
    assert m["cost_usd"] == 3.0
    by_version = {v["key"]: v["tasks"] for v in hive.metrics("prompt_version", task_type=ty)}
    assert by_version == {None: 2, "v7": 6}
    listed = hive.outcomes(task_type=ty, limit=3)
    assert len(listed) == 3
    assert {o["task_id"] for o in listed} <= set(ids)
    assert all(o["agent"] == agent for o in listed)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert hive.outcomes(task_type=ty, since=later) == []
    with pytest.raises(agent_hive.InvalidInputError, match="group"):
        hive.metrics("colour")
    with pytest.raises(agent_hive.InvalidInputError, match="limit"):
        hive.outcomes(limit=0)
