"""Fixtures shared by the hive-py tests: hives on both backends, names, a server.

Every test that takes ``hive`` (blocking ``Hive``) or ``ahive`` (``AsyncHive``)
runs twice:

- ``embedded``: ``Hive.embedded(<tmp>/hive.db)``, a fresh SQLite file per test;
- ``distributed``: ``Hive.connect(redis_url=$HIVE_TEST_REDIS_URL,
  database_url=$HIVE_TEST_DATABASE_URL)``. Skipped, with the missing variable
  named, when either is unset, unless ``HIVE_REQUIRE_SERVICES=1`` (what
  ``scripts/test`` sets): then a missing variable fails the test.

On the distributed backend every test shares one Redis and one Postgres, so
tests name their task types, capabilities, agents, topics and subscriptions
with the per-test ``uid`` (see ``Names``): no test ever claims, counts or
receives another test's work. Hives are always closed in teardown.

``hive_server`` starts the Rust ``hive serve`` binary (``$HIVE_BIN``, default
``<repo>/target/debug/hive``) on a free port over the same storage as the
test's hive, for tests that talk to Python from Rust.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import agent_hive

REPO = Path(__file__).resolve().parents[2]

REDIS_VAR = "HIVE_TEST_REDIS_URL"
DATABASE_VAR = "HIVE_TEST_DATABASE_URL"


def require_env(name: str) -> str:
    """The variable's value; skip (or fail under HIVE_REQUIRE_SERVICES=1) if unset."""
    value = os.environ.get(name)
    if value:
        return value
    reason = f"{name} is not set (source scripts/services to start Redis and Postgres)"
    if os.environ.get("HIVE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"HIVE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclasses.dataclass(frozen=True)
class Backend:
    """Where a test's hive keeps its state (what a second process needs to join it)."""

    kind: str  # "embedded" or "distributed"
    db_path: Path  # the SQLite file (embedded), or a scratch file for a server
    redis_url: str | None = None
    database_url: str | None = None

    def urls(self) -> tuple[str, str]:
        assert self.redis_url and self.database_url, "not a distributed backend"
        return self.redis_url, self.database_url

    def open(self) -> agent_hive.Hive:
        if self.kind == "embedded":
            return agent_hive.Hive.embedded(str(self.db_path))
        redis_url, database_url = self.urls()
        return agent_hive.Hive.connect(redis_url=redis_url, database_url=database_url)

    async def open_async(self) -> agent_hive.AsyncHive:
        if self.kind == "embedded":
            return await agent_hive.AsyncHive.embedded(str(self.db_path))
        redis_url, database_url = self.urls()
        return await agent_hive.AsyncHive.connect(redis_url=redis_url, database_url=database_url)


@pytest.fixture(params=["embedded", "distributed"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "embedded":
        return Backend("embedded", tmp_path / "hive.db")
    redis_url = require_env(REDIS_VAR)
    database_url = require_env(DATABASE_VAR)
    return Backend("distributed", tmp_path / "server.db", redis_url, database_url)


@pytest.fixture
def hive(backend: Backend) -> Iterator[agent_hive.Hive]:
    h = backend.open()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
async def ahive(backend: Backend) -> AsyncIterator[agent_hive.AsyncHive]:
    h = await backend.open_async()
    try:
        yield h
    finally:
        await h.close()


@dataclasses.dataclass(frozen=True)
class Names:
    """Names unique to one test, so tests on a shared Redis never meet."""

    uid: str

    def type(self, base: str) -> str:
        return f"{base}-{self.uid}"

    def cap(self, base: str = "cap") -> str:
        return f"{base}-{self.uid}"

    def agent(self, base: str = "agent") -> str:
        return f"{base}-{self.uid}"

    def topic(self, *tokens: str) -> str:
        return ".".join(("t" + self.uid, *tokens))

    def sub(self, base: str = "sub") -> str:
        return f"{base}-{self.uid}"


@pytest.fixture
def names() -> Names:
    return Names(uuid.uuid4().hex[:12])


async def maybe_await(value: Any) -> Any:
    """``value``, awaited if it is awaitable (for methods the spec leaves either way)."""
    if inspect.isawaitable(value):
        return await value
    return value


def wait_all(h: agent_hive.Hive, ids: list[str], timeout: float = 60.0) -> list[agent_hive.Task]:
    """Every task, once final, in the order of ``ids``."""
    deadline = time.monotonic() + timeout
    return [h.wait(i, timeout=max(0.1, deadline - time.monotonic())) for i in ids]


async def await_all(h: agent_hive.AsyncHive, ids: list[str], timeout: float = 60.0) -> list[agent_hive.Task]:
    return list(await asyncio.gather(*(h.wait(i, timeout=timeout) for i in ids)))


# ---------------------------------------------------------------- the server --


def hive_bin() -> Path:
    """The ``hive`` binary; fails with how to build it when it is missing."""
    configured = os.environ.get("HIVE_BIN")
    if configured:
        path = Path(configured)
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        if not target.is_absolute():
            target = REPO / target
        path = target / "debug" / "hive"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"the hive server binary {path} is missing: run `cargo build -p hive-server` "
            "(or point HIVE_BIN at it)",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class Server:
    """A running ``hive serve``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_server(backend: Backend, workdir: Path) -> Server:
    binary = hive_bin()
    port = free_port()
    args = [str(binary), "serve", "--addr", f"127.0.0.1:{port}", "--db", str(backend.db_path)]
    if backend.kind == "distributed":
        redis_url, database_url = backend.urls()
        args += ["--redis", redis_url, "--postgres", database_url]
    # Nothing from the caller's HIVE_… settings (a token, a config file) may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVE_")}
    env.setdefault("RUST_LOG", "warn")
    log = workdir / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"hive serve exited with {process.returncode} before answering:\n"
                + server.log_tail(),
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            pytest.fail("hive serve did not answer /health within 60 s:\n" + server.log_tail())
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture
def hive_server(backend: Backend, tmp_path: Path) -> Iterator[Server]:
    """``hive serve`` over the same storage as the test's hive."""
    workdir = tmp_path / "serve"
    workdir.mkdir()
    server = start_server(backend, workdir)
    try:
        yield server
    finally:
        stop_server(server)


def take(sub: agent_hive.Subscription, count: int, timeout: float = 30.0) -> list[agent_hive.Message]:
    """The first ``count`` messages of ``for message in sub``.

    A watchdog closes the subscription after ``timeout`` seconds, which ends
    the loop, so a lost message fails the test (too few) instead of hanging it.
    """
    got: list[agent_hive.Message] = []
    watchdog = threading.Timer(timeout, sub.close)
    watchdog.daemon = True
    watchdog.start()
    try:
        for message in sub:
            got.append(message)
            if len(got) == count:
                break
    finally:
        watchdog.cancel()
    return got


async def atake(
    sub: agent_hive.AsyncSubscription, count: int, timeout: float = 30.0
) -> list[agent_hive.Message]:
    """The first ``count`` messages of ``async for message in sub``, within ``timeout``."""
    got: list[agent_hive.Message] = []

    async def loop() -> None:
        async for message in sub:
            got.append(message)
            if len(got) == count:
                return

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(loop(), timeout)
    return got
