"""1,000 tasks through a Python agent without leaking memory.

Warm up with 200 tasks (caches, pools, the SQLite page cache and the agent's
thread reach their working size), read the resident set size from
``/proc/self/statm`` (resident pages × page size), run 1,000 more, read it
again: the growth must stay under ``BOUND`` (20 MiB). Each payload carries a
24 KiB string, so keeping a single copy of every payload (in Rust or in
Python: a task snapshot, an argument, a result never freed) would exceed
it. Both figures are printed with the test's outcome.

What growth there is comes from caches still filling: on the embedded file
the SQLite page caches of the store's connections grow by up to ~10 MiB
over these 1,000 tasks (run alone, 2026-11-24), and a longer run flattens
out after ~3,000 (docs/benchmarks.md, "Python agents"); on Redis + Postgres
it stays within ±2 MiB. A leak of the payloads adds 24 MiB on top of that.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

import agent_hive
from conftest import Backend, Names

MiB = 1024 * 1024
BOUND = 20 * MiB
WARMUP = 200
TASKS = 1_000

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/statm").exists(), reason="needs /proc/self/statm (Linux)"
)


def rss() -> int:
    gc.collect()
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


BLOB = 24 * 1024


def payload(n: int) -> dict:
    # Distinct strings, so no copy is shared with another task's.
    return {"n": n, "blob": f"{n:08d}" + "x" * (BLOB - 8), "items": list(range(20))}


def report(capsys: pytest.CaptureFixture[str], label: str, before: int, after: int) -> None:
    with capsys.disabled():
        print(
            f"\n{label}: RSS after {WARMUP} warm-up tasks {before / MiB:.1f} MiB, "
            f"after {TASKS} more {after / MiB:.1f} MiB, "
            f"growth {(after - before) / MiB:+.1f} MiB (bound {BOUND / MiB:.0f} MiB)"
        )


def test_a_thousand_tasks_do_not_leak(
    hive: agent_hive.Hive, names: Names, backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    cap = names.cap()

    @hive.agent(names.agent(), capabilities=[cap], concurrency=4)
    def work(task: agent_hive.Task) -> dict:
        return {"n": task.payload["n"], "len": len(task.payload["blob"])}

    def run(first: int, count: int) -> None:
        ids = [hive.submit(names.type("mem"), payload(n), capabilities=[cap])
               for n in range(first, first + count)]
        # One task object at a time: holding all 1,000 (each with its payload)
        # would raise the peak, which the allocator need not give back.
        for n, task_id in zip(range(first, first + count), ids):
            task = hive.wait(task_id, timeout=120)
            assert task.status == "completed", task.error
            assert task.result == {"n": n, "len": BLOB}

    run(0, WARMUP)
    before = rss()
    run(WARMUP, TASKS)
    after = rss()
    report(capsys, f"blocking Hive, {backend.kind}", before, after)
    assert after - before < BOUND, (
        f"RSS grew by {(after - before) / MiB:.1f} MiB over {TASKS} tasks "
        f"({before / MiB:.1f} → {after / MiB:.1f} MiB)"
    )


async def test_a_thousand_async_tasks_do_not_leak(
    ahive: agent_hive.AsyncHive,
    names: Names,
    backend: Backend,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cap = names.cap()

    @ahive.agent(names.agent(), capabilities=[cap], concurrency=4)
    async def work(task: agent_hive.Task) -> dict:
        return {"n": task.payload["n"], "len": len(task.payload["blob"])}

    async def run(first: int, count: int) -> None:
        ids = [await ahive.submit(names.type("mem"), payload(n), capabilities=[cap])
               for n in range(first, first + count)]
        for n, task_id in zip(range(first, first + count), ids):
            task = await ahive.wait(task_id, timeout=120)
            assert task.status == "completed", task.error
            assert task.result == {"n": n, "len": BLOB}

    await run(0, WARMUP)
    before = rss()
    await run(WARMUP, TASKS)
    after = rss()
    report(capsys, f"AsyncHive, {backend.kind}", before, after)
    assert after - before < BOUND, (
        f"RSS grew by {(after - before) / MiB:.1f} MiB over {TASKS} tasks "
        f"({before / MiB:.1f} → {after / MiB:.1f} MiB)"
    )
