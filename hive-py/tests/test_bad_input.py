"""Bad input, unknown ids and closed hives: exceptions, never a crash.

docs/python.md: payloads are JSON values (anything else is a ``TypeError``
naming where it was found); a priority of the wrong type is a ``TypeError``,
out of range an ``InvalidInputError``; an unknown id is ``NotFoundError``, a
malformed one ``InvalidInputError``; every call on a closed hive raises
``ClosedError`` and ``close()`` is idempotent. The subprocess tests check the
interpreter survives use after close and exit with hives left open.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agent_hive
from conftest import Names, maybe_await

UNKNOWN = str(uuid.UUID(int=0x12345678_1234_4123_8123_123456789ABC))


class Opaque:
    pass


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        pytest.param([1, 2], ["payload", "dict", "list"], id="list"),
        pytest.param({1, 2}, ["payload", "dict", "set"], id="set"),
        pytest.param(object(), ["payload", "dict", "object"], id="object"),
        pytest.param(float("nan"), ["payload"], id="nan"),
        pytest.param("text", ["payload", "dict", "str"], id="str"),
        pytest.param({1: "one"}, ["payload", "key", "str"], id="int-key"),
        pytest.param({("a", "b"): 1}, ["payload", "key", "str"], id="tuple-key"),
        pytest.param({"nested": {2: "two"}}, ["payload", "nested", "key"], id="nested-int-key"),
        pytest.param({"tags": {"a", "b"}}, ["payload", "tags", "set"], id="nested-set"),
        pytest.param({"obj": Opaque()}, ["payload", "obj", "Opaque"], id="nested-object"),
        pytest.param({"when": dt.datetime(2025, 1, 1)}, ["payload", "when", "datetime"], id="datetime"),
        pytest.param({"deep": [1, [2, {"b": b"bytes"}]]}, ["payload", "deep", "bytes"], id="deep-bytes"),
    ],
)
def test_a_payload_that_is_not_json_is_a_type_error(
    hive: agent_hive.Hive, names: Names, payload: Any, words: list[str]
) -> None:
    with pytest.raises(TypeError) as info:
        hive.submit(names.type("bad"), payload, capabilities=[names.cap()])
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    # Nothing was submitted.
    assert hive.list_tasks(task_type=names.type("bad")) == []


@pytest.mark.parametrize(
    ("value", "word"),
    [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "inf")],
    ids=["nan", "inf", "-inf"],
)
def test_a_float_json_cannot_hold_is_a_value_error(
    hive: agent_hive.Hive, names: Names, value: float, word: str
) -> None:
    # The right type (a float) with a value JSON has no number for: ValueError,
    # as json.dumps(allow_nan=False) raises, naming where it was found.
    with pytest.raises(ValueError) as info:
        hive.submit(names.type("bad"), {"x": [1, value]}, capabilities=[names.cap()])
    message = str(info.value).lower()
    assert "payload" in message and "x" in message and word in message, message
    assert hive.list_tasks(task_type=names.type("bad")) == []


def test_the_type_error_names_the_path_as_the_docs_show(hive: agent_hive.Hive, names: Names) -> None:
    with pytest.raises(TypeError) as info:
        hive.submit(names.type("bad"), {"when": dt.datetime(2025, 1, 1)})
    message = str(info.value)
    # docs/python.md: `payload['when']: datetime is not JSON`
    assert "payload['when']" in message or 'payload["when"]' in message, message
    assert "datetime is not JSON" in message, message


def test_json_edge_values_go_through(hive: agent_hive.Hive, names: Names) -> None:
    payload = {
        "big": 2**63 - 1,
        "negative": -(2**63),
        "float": 1e300,
        "unicode": "ünïcödé ✓ 🐝",
        "empty": {},
        "nested": [[[]]],
        "bool": False,
    }
    tid = hive.submit(names.type("edge"), payload, capabilities=[names.cap()])
    assert hive.get(tid).payload == payload


def test_an_int_beyond_64_bits_is_refused(hive: agent_hive.Hive, names: Names) -> None:
    with pytest.raises((TypeError, ValueError, agent_hive.InvalidInputError)):
        hive.submit(names.type("big"), {"n": 2**200})


@pytest.mark.parametrize("priority", ["high", "3", 3.0, [1]], ids=["word", "digit", "float", "list"])
def test_a_priority_of_the_wrong_type_is_a_type_error(
    hive: agent_hive.Hive, names: Names, priority: Any
) -> None:
    with pytest.raises(TypeError, match="priority"):
        hive.submit(names.type("prio"), {}, priority=priority)


@pytest.mark.parametrize("priority", [0, 10, 12, -1, 2**40])
def test_a_priority_out_of_range_is_invalid_input(
    hive: agent_hive.Hive, names: Names, priority: int
) -> None:
    with pytest.raises(agent_hive.InvalidInputError):
        hive.submit(names.type("prio"), {}, priority=priority)


def test_other_bad_submit_arguments(hive: agent_hive.Hive, names: Names) -> None:
    with pytest.raises(agent_hive.InvalidInputError):
        hive.submit("", {})
    with pytest.raises(agent_hive.InvalidInputError):
        hive.submit(names.type("dep"), {}, depends_on=["not-a-uuid"])
    # An unknown dependency is refused at submit (the queue's contract).
    with pytest.raises(agent_hive.InvalidInputError):
        hive.submit(names.type("dep"), {}, depends_on=[UNKNOWN])
    with pytest.raises(TypeError):
        hive.submit(names.type("caps"), {}, capabilities=[1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        hive.submit(123, {})  # type: ignore[arg-type]
    with pytest.raises((agent_hive.InvalidInputError, ValueError)):
        hive.submit(names.type("delay"), {}, delay=-1.0)


@pytest.mark.parametrize("method", ["get", "wait", "result", "cancel"])
def test_an_unknown_task_id_is_not_found(hive: agent_hive.Hive, method: str) -> None:
    call: Callable[..., Any] = getattr(hive, method)
    args: dict[str, Any] = {"timeout": 1.0} if method in ("wait", "result") else {}
    with pytest.raises(agent_hive.NotFoundError):
        call(UNKNOWN, **args)


@pytest.mark.parametrize("method", ["get", "wait", "result", "cancel"])
def test_a_malformed_task_id_is_invalid_input(hive: agent_hive.Hive, method: str) -> None:
    call: Callable[..., Any] = getattr(hive, method)
    with pytest.raises(agent_hive.InvalidInputError):
        call("not-a-uuid")
    with pytest.raises(agent_hive.InvalidInputError):
        hive.list_tasks(after="not-a-uuid")


def test_a_task_id_of_the_wrong_type_is_a_type_error(hive: agent_hive.Hive) -> None:
    with pytest.raises(TypeError):
        hive.get(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hive.get(None)  # type: ignore[arg-type]


def test_a_bad_agent_function_is_refused(hive: agent_hive.Hive, names: Names) -> None:
    with pytest.raises(TypeError):
        hive.spawn_agent("not callable", names.agent(), [names.cap()])  # type: ignore[arg-type]


# The calls of each API, all of which must raise ClosedError once closed.
CALLS: dict[str, Callable[[Any, Names], Any]] = {
    "submit": lambda h, n: h.submit(n.type("t"), {}),
    "get": lambda h, n: h.get(UNKNOWN),
    "wait": lambda h, n: h.wait(UNKNOWN, timeout=1),
    "result": lambda h, n: h.result(UNKNOWN, timeout=1),
    "cancel": lambda h, n: h.cancel(UNKNOWN),
    "list_tasks": lambda h, n: h.list_tasks(),
    "stats": lambda h, n: h.stats(),
    "dead_letters": lambda h, n: h.dead_letters(),
    "agents": lambda h, n: h.agents(),
    "spawn_agent": lambda h, n: h.spawn_agent(lambda t: None, n.agent(), [n.cap()]),
    "agent": lambda h, n: h.agent(n.agent(), capabilities=[n.cap()])(lambda t: None),
    "publish": lambda h, n: h.publish(n.topic("x"), {}),
    "subscribe": lambda h, n: h.subscribe(n.sub(), [n.topic(">")]),
    "remember": lambda h, n: h.remember("something worth keeping"),
    "search": lambda h, n: h.search("something"),
    "forget": lambda h, n: h.forget(UNKNOWN),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_every_call_on_a_closed_hive_raises_closed_error(
    hive: agent_hive.Hive, names: Names, call: str
) -> None:
    hive.close()
    hive.close()  # twice is fine
    with pytest.raises(agent_hive.ClosedError):
        CALLS[call](hive, names)
    # The fixture closes it a third time.


@pytest.mark.parametrize("call", list(CALLS))
async def test_every_call_on_a_closed_async_hive_raises_closed_error(
    ahive: agent_hive.AsyncHive, names: Names, call: str
) -> None:
    await ahive.close()
    await ahive.close()
    with pytest.raises(agent_hive.ClosedError):
        await maybe_await(CALLS[call](ahive, names))


def test_close_stops_the_agents_and_ends_subscriptions(hive: agent_hive.Hive, names: Names) -> None:
    cap = names.cap()
    calls: list[str] = []

    @hive.agent(names.agent(), capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        calls.append(task.id)
        return {}

    done = hive.submit(names.type("t"), {}, capabilities=[cap])
    hive.wait(done, timeout=30)
    sub = hive.subscribe(names.sub(), [names.topic(">")])
    snapshot = hive.get(done)
    hive.close()
    # A snapshot taken before stays readable.
    assert snapshot.id == done and snapshot.status == "completed" and snapshot.result == {}
    # The subscription ended with the hive: no message, no hang, no crash.
    try:
        assert sub.next(timeout=1.0) is None
    except agent_hive.ClosedError:
        pass
    sub.close()


def run_python(script: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_use_after_close_never_crashes_the_interpreter(tmp_path: Path) -> None:
    proc = run_python(
        """
        import gc, sys
        import agent_hive as hive

        h = hive.Hive.embedded("hive.db")

        @h.agent("worker", capabilities=["work"])
        def work(task):
            return {"ok": task.payload["n"]}

        tid = h.submit("job", {"n": 1}, capabilities=["work"])
        task = h.wait(tid, timeout=30)
        sub = h.subscribe("s", ["news.>"])
        h.close()
        h.close()

        calls = {
            "submit": lambda: h.submit("job", {"n": 2}),
            "get": lambda: h.get(tid),
            "wait": lambda: h.wait(tid),
            "result": lambda: h.result(tid),
            "cancel": lambda: h.cancel(tid),
            "stats": lambda: h.stats(),
            "list_tasks": lambda: h.list_tasks(),
            "dead_letters": lambda: h.dead_letters(),
            "agents": lambda: h.agents(),
            "publish": lambda: h.publish("news.x", {}),
            "subscribe": lambda: h.subscribe("s2", ["news.>"]),
            "remember": lambda: h.remember("text"),
            "search": lambda: h.search("text"),
            "spawn_agent": lambda: h.spawn_agent(work, "w2", ["work"]),
        }
        for name, call in calls.items():
            try:
                call()
            except hive.ClosedError:
                pass
            else:
                print("no ClosedError from", name)
                sys.exit(3)

        # What was handed out before close stays usable as plain data.
        assert task.result == {"ok": 1} and task.status == "completed"
        try:
            m = sub.next(timeout=0.2)
            assert m is None
        except hive.ClosedError:
            pass
        sub.close()
        sub.close()
        for _ in sub:
            print("a closed subscription yielded a message")
            sys.exit(4)

        del h, sub
        gc.collect()

        # Async: closed twice, then used.
        import asyncio

        async def main():
            a = await hive.AsyncHive.embedded("hive.db")
            await a.close()
            await a.close()
            try:
                await a.stats()
            except hive.ClosedError:
                return
            print("no ClosedError from AsyncHive.stats")
            sys.exit(5)

        asyncio.run(main())
        print("survived")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "survived" in proc.stdout


def test_exit_with_a_hive_still_open_and_an_agent_busy(tmp_path: Path) -> None:
    # The atexit hook closes the hive while its agent is mid-task and a
    # background async agent is registered; the process must exit cleanly.
    proc = run_python(
        """
        import threading, time
        import agent_hive as hive

        h = hive.Hive.embedded("hive.db")
        started = threading.Event()

        @h.agent("slow", capabilities=["slow"])
        def slow(task):
            started.set()
            time.sleep(0.5)
            return {"slept": True}

        @h.agent("async", capabilities=["async"])
        async def fast(task):
            return {}

        h.submit("nap", {}, capabilities=["slow"])
        h.result(h.submit("quick", {}, capabilities=["async"]), timeout=30)
        assert started.wait(30)
        h.publish("news.x", {})
        sub = h.subscribe("open", ["news.>"])
        print("leaving")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "leaving" in proc.stdout


def test_exit_with_an_async_hive_left_open(tmp_path: Path) -> None:
    # asyncio.run closes its loop; the async agent registered on it and the
    # hive never closed are left to the atexit hook.
    proc = run_python(
        """
        import asyncio
        import agent_hive as hive

        async def main():
            h = await hive.AsyncHive.embedded("hive.db")

            @h.agent("a", capabilities=["a"])
            async def work(task):
                return {"n": task.payload["n"]}

            ids = [await h.submit("t", {"n": n}, capabilities=["a"]) for n in range(5)]
            for i in ids:
                await h.wait(i, timeout=30)
            # More work queued, the hive never closed.
            for n in range(5):
                await h.submit("t", {"n": n}, capabilities=["a"])

        asyncio.run(main())
        print("leaving")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "leaving" in proc.stdout
