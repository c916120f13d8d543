"""The asyncio API: ``AsyncHive`` with ``async def`` and plain function agents.

docs/python.md, "Two APIs over one runtime": ``AsyncHive`` has ``Hive``'s
methods as coroutines; an ``async def`` agent runs on the loop that
registered it, a plain function on a worker thread, and waiting never
blocks the loop.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

import agent_hive
from conftest import Backend, Names, await_all, maybe_await


async def submit_diamond(h: agent_hive.AsyncHive, names: Names, cap: str) -> dict[str, str]:
    """a → b, a → c, (b, c) → d."""
    ids: dict[str, str] = {}
    ids["a"] = await h.submit(names.type("a"), {"step": "a"}, capabilities=[cap])
    ids["b"] = await h.submit(
        names.type("b"), {"step": "b"}, capabilities=[cap], depends_on=[ids["a"]]
    )
    ids["c"] = await h.submit(
        names.type("c"), {"step": "c"}, capabilities=[cap], depends_on=[ids["a"]]
    )
    ids["d"] = await h.submit(
        names.type("d"), {"step": "d"}, capabilities=[cap], depends_on=[ids["b"], ids["c"]]
    )
    return ids


async def check_diamond(h: agent_hive.AsyncHive, ids: dict[str, str], seen: dict[str, list]) -> None:
    tasks = dict(zip(ids, await await_all(h, list(ids.values()))))
    for step, task in tasks.items():
        assert task.status == "completed", f"{step}: {task!r} error={task.error}"
    a_result = {"step": "a", "inputs": []}
    b_result = {"step": "b", "inputs": [a_result]}
    c_result = {"step": "c", "inputs": [a_result]}
    assert seen["d"] == [b_result, c_result]
    assert tasks["d"].result == {"step": "d", "inputs": [b_result, c_result]}
    assert await h.result(ids["b"], timeout=10) == b_result
    assert await h.result(ids["c"], timeout=10) == c_result


async def test_an_async_agent_processes_a_dag(ahive: agent_hive.AsyncHive, names: Names) -> None:
    cap = names.cap()
    seen: dict[str, list] = {}
    loops: set[object] = set()
    here = asyncio.get_running_loop()

    @ahive.agent(names.agent(), capabilities=[cap], concurrency=2)
    async def work(task: agent_hive.Task) -> dict:
        loops.add(asyncio.get_running_loop())
        await asyncio.sleep(0.01)
        seen[task.payload["step"]] = list(task.inputs)
        return {"step": task.payload["step"], "inputs": list(task.inputs)}

    assert callable(work) and work.__name__ == "work"
    ids = await submit_diamond(ahive, names, cap)
    await check_diamond(ahive, ids, seen)
    # Under AsyncHive an async agent runs on the loop that registered it.
    assert loops == {here}


async def test_a_plain_function_agent_under_async_hive(
    ahive: agent_hive.AsyncHive, names: Names
) -> None:
    cap = names.cap()
    seen: dict[str, list] = {}
    threads: set[int] = set()
    loop_thread = threading.get_ident()

    @ahive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        threads.add(threading.get_ident())
        seen[task.payload["step"]] = list(task.inputs)
        return {"step": task.payload["step"], "inputs": list(task.inputs)}

    ids = await submit_diamond(ahive, names, cap)
    await check_diamond(ahive, ids, seen)
    # A plain function runs on a worker thread, never on the event loop's.
    assert loop_thread not in threads


async def test_waiting_does_not_block_the_loop(ahive: agent_hive.AsyncHive, names: Names) -> None:
    tid = await ahive.submit(names.type("never"), {}, capabilities=[names.cap("nobody")])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    try:
        with pytest.raises(agent_hive.HiveTimeoutError):
            await ahive.wait(tid, timeout=0.5)
    finally:
        t.cancel()
    assert ticks >= 5, f"the loop ran only {ticks} times during a 0.5 s wait"


async def test_async_task_methods(ahive: agent_hive.AsyncHive, names: Names) -> None:
    cap = names.cap("nobody")
    ta = names.type("listed")
    ids = [await ahive.submit(ta, {"i": i}, capabilities=[cap]) for i in range(3)]
    task = await ahive.get(ids[0])
    assert isinstance(task, agent_hive.Task) and task.payload == {"i": 0}
    cancelled = await ahive.cancel(ids[1])
    assert cancelled.status == "cancelled"
    with pytest.raises(agent_hive.TaskFailedError) as info:
        await ahive.result(ids[1], timeout=10)
    assert info.value.task.id == ids[1]
    assert [t.id for t in await ahive.list_tasks(task_type=ta)] == ids
    assert [t.id for t in await ahive.list_tasks(task_type=ta, status="pending")] == [ids[0], ids[2]]
    stats = await ahive.stats()
    assert stats["pending"] >= 2 and stats["cancelled"] >= 1
    assert isinstance(await ahive.dead_letters(), list)
    with pytest.raises(agent_hive.HiveTimeoutError):
        await ahive.result(ids[0], timeout=0.2)
    with pytest.raises(agent_hive.NotFoundError):
        await ahive.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(agent_hive.InvalidInputError):
        await ahive.submit(ta, {}, priority=12)


async def test_async_spawn_agent_and_agents(ahive: agent_hive.AsyncHive, names: Names) -> None:
    cap = names.cap()

    async def work(task: agent_hive.Task) -> dict:
        return {"ok": True}

    handle = await ahive.spawn_agent(work, names.agent("spawned"), [cap])
    assert isinstance(handle, agent_hive.AgentHandle)
    assert handle.name == names.agent("spawned")
    tid = await ahive.submit(names.type("spawned"), {}, capabilities=[cap])
    assert await ahive.result(tid, timeout=30) == {"ok": True}
    agents = await ahive.agents()
    assert any(a.get("id") == handle.id for a in agents), agents
    await ahive.stop_agent(handle.id)
    second = await ahive.submit(names.type("spawned"), {}, capabilities=[cap])
    with pytest.raises(agent_hive.HiveTimeoutError):
        await ahive.wait(second, timeout=1.0)


async def test_async_hive_is_an_async_context_manager(backend: Backend, names: Names) -> None:
    cap = names.cap()
    async with await backend.open_async() as h:
        assert isinstance(h, agent_hive.AsyncHive)

        @h.agent(names.agent(), capabilities=[cap])
        async def echo(task: agent_hive.Task) -> dict:
            return task.payload

        tid = await h.submit(names.type("echo"), {"x": 1}, capabilities=[cap])
        task = await h.wait(tid, timeout=30)
        assert task.result == {"x": 1}
    with pytest.raises(agent_hive.ClosedError):
        await h.get(tid)
    # Closing again is fine.
    await h.close()


async def test_the_async_in_memory_hive(names: Names) -> None:
    h = await agent_hive.AsyncHive.memory()
    try:
        @h.agent(names.agent(), capabilities=["echo"])
        async def echo(task: agent_hive.Task) -> dict:
            return task.payload

        assert await h.result(await h.submit("echo", {"y": 2}, capabilities=["echo"])) == {"y": 2}
    finally:
        await h.close()


async def test_many_concurrent_submits(ahive: agent_hive.AsyncHive, names: Names) -> None:
    cap = names.cap()

    @ahive.agent(names.agent(), capabilities=[cap], concurrency=4)
    async def square(task: agent_hive.Task) -> int:
        return task.payload["n"] ** 2

    ids = await asyncio.gather(
        *(ahive.submit(names.type("sq"), {"n": n}, capabilities=[cap]) for n in range(50))
    )
    assert len(set(ids)) == 50
    tasks = await await_all(ahive, list(ids))
    assert [t.result for t in tasks] == [n * n for n in range(50)]
