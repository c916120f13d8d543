"""How a hive is opened: without the context store, and with its liveness tuned.

docs/python.md, "Opening a hive". A Postgres without pgvector
(``$HIVE_TEST_NOVECTOR_DATABASE_URL``, made by ``scripts/pg-without-vector``)
refuses the context store with ``SetupError`` naming the remedy in Python's
words, and runs everything else with ``context=False``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

import agent_hive
from conftest import Names, require_env


def test_a_postgres_without_pgvector_needs_context_false(names: Names) -> None:
    redis_url = require_env("HIVE_TEST_REDIS_URL")
    database_url = require_env("HIVE_TEST_NOVECTOR_DATABASE_URL")
    with pytest.raises(agent_hive.SetupError) as refused:
        agent_hive.Hive.connect(redis_url=redis_url, database_url=database_url)
    message = str(refused.value)
    assert message.startswith("pgvector is missing — install it, or run without the context store")
    assert "context=False" in message and "without_context" not in message

    cap = names.cap()
    with agent_hive.Hive.connect(
        redis_url=redis_url, database_url=database_url, context=False
    ) as h:

        @h.agent(names.agent(), capabilities=[cap])
        def echo(task: agent_hive.Task) -> dict:
            return {"echo": task.payload["n"]}

        task_id = h.submit(names.type("echo"), {"n": 7}, capabilities=[cap])
        assert h.result(task_id, timeout=30) == {"echo": 7}
        with pytest.raises(agent_hive.NotSupportedError):
            h.remember("no context store here")


def test_liveness_and_lease_take_seconds_and_check_their_order(tmp_path: Path) -> None:
    for kwargs in (
        {"lease": 0},
        {"heartbeat_every": -1.0},
        {"dead_after": float("nan")},
        {"heartbeat_every": 10, "dead_after": 5},
        {"unhealthy_after": 3, "dead_after": 3},
    ):
        with pytest.raises(agent_hive.InvalidInputError):
            agent_hive.Hive.embedded(str(tmp_path / "hive.db"), **kwargs)  # type: ignore[arg-type]


def test_agents_beat_as_often_as_asked(tmp_path: Path, names: Names) -> None:
    with agent_hive.Hive.embedded(
        str(tmp_path / "hive.db"), heartbeat_every=0.1, unhealthy_after=0.5, dead_after=1.0, lease=2
    ) as h:

        @h.agent(names.agent(), capabilities=[names.cap()])
        def idle(task: agent_hive.Task) -> dict:
            return {}

        time.sleep(0.6)
        (record,) = [a for a in h.agents() if a["name"] == names.agent()]
        created = dt.datetime.fromisoformat(str(record["created_at"]))
        beat = dt.datetime.fromisoformat(str(record["last_heartbeat"]))
        # With the default (30 s) no beat would have come yet.
        assert (beat - created).total_seconds() >= 0.3, record
        assert record["status"] == "healthy"


def test_a_redis_that_evicts_keys_needs_allow_redis_eviction(tmp_path: Path) -> None:
    import socket
    import subprocess

    redis_bin = require_env("HIVE_REDIS_SERVER_BIN")
    database_url = require_env("HIVE_TEST_DATABASE_URL")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
        + ["--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}"
        with pytest.raises(agent_hive.SetupError) as refused:
            agent_hive.Hive.connect(redis_url=url, database_url=database_url, context=False)
        message = str(refused.value)
        assert "maxmemory-policy allkeys-lru" in message, message
        assert "allow_redis_eviction=True" in message, message
        with agent_hive.Hive.connect(
            redis_url=url, database_url=database_url, context=False, allow_redis_eviction=True
        ) as h:
            assert h.stats()["pending"] >= 0
    finally:
        server.terminate()
        server.wait()


def test_retention_ages_take_seconds_and_purge_expired_deletes_what_is_old(
    tmp_path: Path, names: Names
) -> None:
    with agent_hive.Hive.embedded(str(tmp_path / "hive.db"), retain_finished=0.5, retain_dead_letters=0) as h:

        @h.agent(names.agent(), capabilities=[names.cap()])
        def work(task: agent_hive.Task) -> dict[str, int]:
            return {"n": task.payload["n"]}

        old = h.submit(names.type("t"), {"n": 1}, capabilities=[names.cap()])
        assert h.result(old, timeout=30) == {"n": 1}
        time.sleep(0.7)
        young = h.submit(names.type("t"), {"n": 2}, capabilities=[names.cap()])
        assert h.result(young, timeout=30) == {"n": 2}
        report = h.purge_expired()
        assert report == {"finished": 1, "dead_letters": 0, "messages": 0}
        with pytest.raises(agent_hive.NotFoundError):
            h.get(old)
        assert h.get(young).status == "completed"
    with pytest.raises(agent_hive.InvalidInputError, match="retain_finished"):
        agent_hive.Hive.memory(retain_finished=-1)
