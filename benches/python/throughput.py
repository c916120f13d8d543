"""Tasks per second through a no-op Python agent, blocking and asyncio.

Run it (after ``pip install ./hive-py``, from the repository root):

    python benches/python/throughput.py                  # 5,000 tasks each way
    python benches/python/throughput.py --tasks 20000 --concurrency 8

Each run opens a fresh hive, starts one agent whose function does nothing
(``def`` under ``Hive``, ``async def`` under ``AsyncHive``), submits N tasks
and measures from just before the first submit to the last completion (the
latest ``finished_at`` the queue recorded). Submits are issued from
``--submitters`` threads (blocking API) or as that many concurrent coroutines
(asyncio API), so the embedded store can commit them in groups. The agent
runs while the submits go on, as in a live system.

Backends: the embedded default (a SQLite file in a temporary directory), and
Redis + Postgres too when ``HIVE_REDIS_URL`` and ``HIVE_DATABASE_URL`` are
set (``--backend`` picks one). Results are printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import agent_hive as hive


@dataclass
class Result:
    backend: str
    api: str
    tasks: int
    concurrency: int
    submit_s: float
    total_s: float

    @property
    def rate(self) -> float:
        return self.tasks / self.total_s if self.total_s > 0 else float("inf")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def elapsed(start: dt.datetime, tasks: list[hive.Task]) -> float:
    bad = [t for t in tasks if t.status != "completed"]
    if bad:
        raise SystemExit(f"{len(bad)} tasks did not complete, e.g. {bad[0]!r}: {bad[0].error}")
    last = max(t.finished_at for t in tasks if t.finished_at is not None)
    return (last - start).total_seconds()


def bench_sync(open_hive: Callable[[], hive.Hive], label: str, args: argparse.Namespace) -> Result:
    run = uuid.uuid4().hex[:8]
    cap, task_type = f"noop-{run}", f"noop-{run}"
    with open_hive() as h:

        @h.agent(f"noop-{run}", capabilities=[cap], concurrency=args.concurrency)
        def noop(task: hive.Task) -> None:
            return None

        def submit(n: int) -> str:
            return h.submit(task_type, {"n": n}, capabilities=[cap])

        start = utc_now()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.submitters) as pool:
            ids = list(pool.map(submit, range(args.tasks)))
        submit_s = time.perf_counter() - t0
        tasks = [h.wait(i, timeout=args.timeout) for i in ids]
        total_s = elapsed(start, tasks)
    return Result(label, "Hive (def)", args.tasks, args.concurrency, submit_s, total_s)


async def bench_async(
    open_hive: Callable[[], Awaitable[hive.AsyncHive]], label: str, args: argparse.Namespace
) -> Result:
    run = uuid.uuid4().hex[:8]
    cap, task_type = f"noop-{run}", f"noop-{run}"
    h = await open_hive()
    try:

        @h.agent(f"noop-{run}", capabilities=[cap], concurrency=args.concurrency)
        async def noop(task: hive.Task) -> None:
            return None

        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.tasks):
            queue.put_nowait(n)
        ids: list[str] = [""] * args.tasks

        async def submitter() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                ids[n] = await h.submit(task_type, {"n": n}, capabilities=[cap])

        start = utc_now()
        t0 = time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(args.submitters)))
        submit_s = time.perf_counter() - t0
        tasks = [await h.wait(i, timeout=args.timeout) for i in ids]
        total_s = elapsed(start, tasks)
    finally:
        await h.close()
    return Result(label, "AsyncHive (async def)", args.tasks, args.concurrency, submit_s, total_s)


def print_table(results: list[Result]) -> None:
    header = ("backend", "API", "tasks", "agent conc.", "submit s", "total s", "tasks/s")
    rows = [
        (r.backend, r.api, f"{r.tasks:,}", str(r.concurrency), f"{r.submit_s:.2f}",
         f"{r.total_s:.2f}", f"{r.rate:,.0f}")
        for r in results
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(  # noqa: E731
        str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5_000, help="tasks per run (default 5,000)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="the agent's concurrency (default 4)")
    parser.add_argument("--submitters", type=int, default=8,
                        help="threads (blocking) or coroutines (asyncio) submitting (default 8)")
    parser.add_argument("--backend", choices=["embedded", "distributed", "all"], default="all",
                        help="default: embedded, plus distributed when its variables are set")
    parser.add_argument("--api", choices=["sync", "async", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for any one task (default 600)")
    args = parser.parse_args()
    if args.tasks < 1 or args.concurrency < 1 or args.submitters < 1:
        parser.error("--tasks, --concurrency and --submitters must be at least 1")

    redis_url = os.environ.get("HIVE_REDIS_URL", "")
    database_url = os.environ.get("HIVE_DATABASE_URL", "")
    backends = []
    if args.backend in ("embedded", "all"):
        backends.append("embedded")
    if args.backend == "distributed" or (args.backend == "all" and redis_url and database_url):
        if not (redis_url and database_url):
            parser.error("--backend distributed needs HIVE_REDIS_URL and HIVE_DATABASE_URL")
        backends.append("distributed")

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="hive-bench-") as workdir:
        for n, backend in enumerate(backends):
            def path(api: str) -> str:
                return os.path.join(workdir, f"{api}-{n}.db")

            if backend == "embedded":
                label = "embedded SQLite"
                open_sync = lambda: hive.Hive.embedded(path("sync"))  # noqa: E731
                open_async = lambda: hive.AsyncHive.embedded(path("async"))  # noqa: E731
            else:
                label = "Redis + Postgres"
                open_sync = lambda: hive.Hive.connect(  # noqa: E731
                    redis_url=redis_url, database_url=database_url
                )
                open_async = lambda: hive.AsyncHive.connect(  # noqa: E731
                    redis_url=redis_url, database_url=database_url
                )
            if args.api in ("sync", "both"):
                print(f"running: {label}, Hive, {args.tasks:,} tasks…", file=sys.stderr)
                results.append(bench_sync(open_sync, label, args))
            if args.api in ("async", "both"):
                print(f"running: {label}, AsyncHive, {args.tasks:,} tasks…", file=sys.stderr)
                results.append(asyncio.run(bench_async(open_async, label, args)))

    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
