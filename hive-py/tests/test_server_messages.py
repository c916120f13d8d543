"""A Python subscriber receives messages published from Rust.

The Rust side is the real server binary, ``hive serve`` (``$HIVE_BIN``,
default ``target/debug/hive``; build it with ``cargo build -p hive-server``),
run on a free port over the same storage as the test's hive: the same SQLite
file (embedded), or the same Redis and Postgres (distributed). Messages go in
through its HTTP API (``POST /messages``, docs/server.md) and come out of the
Python ``Subscription``, opened before the first publish, in order (all on
one topic: order is per topic), with topic, kind, payload and sender intact.
"""

from __future__ import annotations

import agent_hive
from conftest import Names, Server, atake, maybe_await, take

WAIT = 30.0


def publish_over_http(server: Server, names: Names, count: int) -> list[dict]:
    """Publishes ``count`` messages through the server; answers what was sent and stored."""
    sent = []
    for n in range(count):
        body = {
            "topic": names.topic("rust", "events"),
            "kind": f"kind-{n}",
            "payload": {"n": n, "text": f"message {n} ✓", "nested": {"list": [1, 2.5, None, True]}},
        }
        if n == 0:
            body["from"] = f"rust-{names.uid}"
        status, answer = server.request("POST", "/messages", body)
        assert status == 201, (status, answer, server.log_tail())
        sent.append({**body, "offset": answer["offset"], "id": answer["id"]})
    return sent


def check(received: list, sent: list[dict], names: Names) -> None:
    assert len(received) == len(sent), f"{len(received)} of {len(sent)} messages arrived"
    for message, expected in zip(received, sent):
        assert isinstance(message, agent_hive.Message)
        assert message.topic == expected["topic"]
        assert message.kind == expected["kind"]
        assert message.payload == expected["payload"]
        assert message.offset == expected["offset"]
        assert str(message.id) == expected["id"]
    assert received[0].sender == f"rust-{names.uid}"
    assert all(m.sender is None for m in received[1:])


def test_a_subscriber_receives_messages_published_from_rust(
    hive: agent_hive.Hive, hive_server: Server, names: Names
) -> None:
    sub = hive.subscribe(names.sub(), [names.topic("rust", "*")])
    try:
        sent = publish_over_http(hive_server, names, 6)
        received = [sub.next(timeout=WAIT) for _ in sent]
        assert None not in received, f"got {received} ({hive_server.log_tail()})"
        check(received, sent, names)
        assert sub.next(timeout=0.5) is None
    finally:
        sub.close()


def test_a_subscriber_iterates_messages_published_from_rust(
    hive: agent_hive.Hive, hive_server: Server, names: Names
) -> None:
    sub = hive.subscribe(names.sub(), [names.topic("rust", ">")])
    try:
        sent = publish_over_http(hive_server, names, 4)
        received = take(sub, len(sent), WAIT)
        check(received, sent, names)
    finally:
        sub.close()


async def test_an_async_subscriber_receives_messages_published_from_rust(
    ahive: agent_hive.AsyncHive, hive_server: Server, names: Names
) -> None:
    sub = await ahive.subscribe(names.sub(), [names.topic("rust", "*")])
    try:
        # The blocking HTTP calls run before the loop waits; the subscription
        # already exists, so nothing published is missed.
        sent = publish_over_http(hive_server, names, 5)
        received = await atake(sub, len(sent), WAIT)
        check(received, sent, names)
        assert await sub.next(timeout=0.5) is None
    finally:
        await maybe_await(sub.close())


def test_rust_reads_what_python_published(
    hive: agent_hive.Hive, hive_server: Server, names: Names
) -> None:
    topic = names.topic("py")
    offsets = [hive.publish(topic, {"n": n}, kind="from-python") for n in range(3)]
    status, messages = hive_server.request("GET", f"/topics/{topic}/messages")
    assert status == 200, messages
    assert [m["message"]["payload"] for m in messages] == [{"n": n} for n in range(3)]
    assert [m["offset"] for m in messages] == offsets
    assert {m["message"]["kind"] for m in messages} == {"from-python"}
    assert {m["message"]["topic"] for m in messages} == {topic}
