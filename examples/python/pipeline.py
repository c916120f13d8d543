"""A fetch → summarise → report pipeline of Python agents on Agent Hive.

Run it (after ``pip install ./hive-py``, from the repository root):

    python examples/python/pipeline.py

It runs on the embedded default, one SQLite file, here in a temporary
directory. With ``HIVE_REDIS_URL`` and ``HIVE_DATABASE_URL`` set it runs on
Redis + Postgres instead, as a fleet of many processes would:

    HIVE_REDIS_URL=redis://127.0.0.1:6379 \\
    HIVE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/hive_test \\
        python examples/python/pipeline.py

The work is a small DAG: three ``fetch`` tasks, a ``summarise`` task for each
that depends on its fetch, and one ``report`` that depends on the three
summaries and receives their results, in order, as ``task.inputs``. The
fetcher is a plain function (it runs on a worker thread), the summariser an
``async def`` (it runs on the package's background event loop). Fetching
``notes.txt`` fails the first time, as a flaky network would: the queue
retries it (after about a second) and the pipeline goes on. The script prints
each task's status, attempts and result, and exits 1 if anything did not
complete.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import uuid

import agent_hive as hive

DOCUMENTS = {
    "readme.md": "Agent Hive runs fleets of agents. Tasks wait in a durable queue. "
    "Agents claim the tasks their capabilities allow.",
    "notes.txt": "Retries back off exponentially. A task out of attempts is dead-lettered. "
    "Dependencies form a DAG.",
    "todo.txt": "Write the Python bindings. Benchmark them. Ship.",
}


def open_hive(workdir: str) -> tuple[hive.Hive, str]:
    """The hive, and a line saying which one it is."""
    redis_url = os.environ.get("HIVE_REDIS_URL")
    database_url = os.environ.get("HIVE_DATABASE_URL")
    if redis_url and database_url:
        return (
            hive.Hive.connect(redis_url=redis_url, database_url=database_url),
            "Redis + Postgres (HIVE_REDIS_URL, HIVE_DATABASE_URL)",
        )
    path = os.path.join(workdir, "hive.db")
    return hive.Hive.embedded(path), f"embedded SQLite ({path})"


def run(h: hive.Hive) -> bool:
    # A Redis shared with other runs may hold their tasks: capabilities
    # unique to this run keep its agents to its own work.
    run_id = uuid.uuid4().hex[:8]
    fetch_cap, summarise_cap, report_cap = (f"{c}-{run_id}" for c in ("fetch", "summarise", "report"))

    failed_once: set[str] = set()
    lock = threading.Lock()

    @h.agent(f"fetcher-{run_id}", capabilities=[fetch_cap], concurrency=3)
    def fetch(task: hive.Task) -> dict:
        name = task.payload["doc"]
        with lock:
            first_time = task.id not in failed_once
            failed_once.add(task.id)
        if name == "notes.txt" and first_time:
            raise ConnectionError(f"could not reach the server holding {name}")
        return {"doc": name, "text": DOCUMENTS[name]}

    @h.agent(f"summariser-{run_id}", capabilities=[summarise_cap], concurrency=3)
    async def summarise(task: hive.Task) -> dict:
        (fetched,) = task.inputs  # the result of the fetch this task depends on
        await asyncio.sleep(0.01)  # stands in for a call to a model
        sentences = [s.strip() for s in fetched["text"].split(".") if s.strip()]
        return {
            "doc": fetched["doc"],
            "summary": sentences[0] + ".",
            "sentences": len(sentences),
            "words": len(fetched["text"].split()),
        }

    @h.agent(f"reporter-{run_id}", capabilities=[report_cap])
    def report(task: hive.Task) -> dict:
        summaries = task.inputs  # in the order of depends_on
        return {
            "documents": [s["doc"] for s in summaries],
            "total_words": sum(s["words"] for s in summaries),
            "headline": " ".join(s["summary"] for s in summaries),
        }

    steps: list[tuple[str, str]] = []
    summaries = []
    for doc in DOCUMENTS:
        fetch_id = h.submit("fetch", {"doc": doc}, capabilities=[fetch_cap], max_attempts=3)
        summary_id = h.submit(
            "summarise", {"doc": doc}, capabilities=[summarise_cap], depends_on=[fetch_id]
        )
        steps += [(f"fetch {doc}", fetch_id), (f"summarise {doc}", summary_id)]
        summaries.append(summary_id)
    report_id = h.submit(
        "report", {}, capabilities=[report_cap], depends_on=summaries,
        priority=hive.Priority.HIGH,
    )
    steps.append(("report", report_id))

    ok = True
    for label, task_id in steps:
        task = h.wait(task_id, timeout=60)
        ok = ok and task.status == "completed"
        outcome = task.result if task.status == "completed" else task.error
        print(f"{label:<22} {task.status:<10} attempts={task.attempts}  {outcome}")

    if ok:
        final = h.result(report_id)
        print(f"\nreport: {final['total_words']} words in {len(final['documents'])} documents")
        print(f"headline: {final['headline']}")
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hive-pipeline-") as workdir:
        h, where = open_hive(workdir)
        print(f"hive: {where}\n")
        with h:
            ok = run(h)
    print("\npipeline ok" if ok else "\npipeline FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
