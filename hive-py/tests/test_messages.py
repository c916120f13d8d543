"""Publish and subscribe within Python, blocking and asyncio.

docs/python.md, "Messages": dot-separated topics, ``*`` and ``>`` patterns,
durable subscriptions that resume by name, ``next(timeout)`` answering
``None`` when nothing came, iteration, and ``close()``.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

import agent_hive
from conftest import Names, atake, maybe_await, take

WAIT = 30.0


def per_topic(messages: list) -> dict[str, list]:
    """Each topic's (kind, payload) pairs, in the order received."""
    out: dict[str, list] = {}
    for m in messages:
        out.setdefault(m.topic, []).append((m.kind, m.payload))
    return out


def per_topic_expected(sent: list[tuple[str, str, dict[str, Any]]]) -> dict[str, list]:
    out: dict[str, list] = {}
    for topic, kind, payload in sent:
        out.setdefault(topic, []).append((kind, payload))
    return out


def test_publish_then_subscribe(hive: agent_hive.Hive, names: Names) -> None:
    sub = hive.subscribe(names.sub(), [names.topic("news", "*")])
    assert isinstance(sub, agent_hive.Subscription)
    try:
        sent: list[tuple[str, str, dict[str, Any]]] = [
            (names.topic("news", "sports"), "score", {"home": 2, "away": 1}),
            (names.topic("elsewhere"), "message", {"ignored": True}),
            (names.topic("news", "weather"), "forecast", {"rain": 0.3, "tags": ["wet", None]}),
            (names.topic("news", "sports", "deep"), "message", {"ignored": True}),
            (names.topic("news", "sports"), "message", {}),
        ]
        offsets = []
        for topic, kind, payload in sent:
            if kind == "message":
                offset = hive.publish(topic, payload)  # kind defaults to "message"
            else:
                offset = hive.publish(topic, payload, kind=kind)
            assert isinstance(offset, int) and offset >= 0
            offsets.append(offset)
        # `*` is one token: neither `elsewhere` nor `sports.deep` match.
        wanted = [0, 2, 4]
        maybe = [sub.next(timeout=WAIT) for _ in wanted]
        got = [m for m in maybe if m is not None]
        assert len(got) == len(wanted), maybe
        # Order holds within a topic (across topics it need not: on Redis each
        # topic is a stream of its own).
        assert per_topic(got) == per_topic_expected([sent[i] for i in wanted])
        # Offsets grow within a topic; (topic, offset) names one message.
        at = {(m.topic, m.offset): m for m in got}
        for i in wanted:
            topic, kind, payload = sent[i]
            message = at[(topic, offsets[i])]
            assert (message.topic, message.kind, message.payload) == (topic, kind, payload)
        for message in got:
            assert isinstance(message, agent_hive.Message), message
            assert isinstance(message.id, str) and message.id
            assert message.sender is None
        assert len({m.id for m in got}) == 3
        assert sub.next(timeout=0.5) is None
    finally:
        sub.close()


def test_a_publish_with_no_payload_is_an_empty_dict(hive: agent_hive.Hive, names: Names) -> None:
    sub = hive.subscribe(names.sub(), [names.topic(">")])
    try:
        hive.publish(names.topic("ping"))
        message = sub.next(timeout=WAIT)
        assert message is not None
        assert message.payload == {}
        assert message.kind == "message"
    finally:
        sub.close()


def test_the_rest_pattern_and_iteration(hive: agent_hive.Hive, names: Names) -> None:
    sub = hive.subscribe(names.sub(), [names.topic("a", ">"), names.topic("b")])
    try:
        topics = [names.topic("a", "x"), names.topic("b"), names.topic("a", "x", "y", "z"),
                  names.topic("c")]
        for n, topic in enumerate(topics):
            hive.publish(topic, {"n": n})
        seen = [(m.topic, m.payload["n"]) for m in take(sub, 3, WAIT)]
        # Per-topic order is the guarantee; these are three topics.
        assert sorted(seen) == sorted([(topics[0], 0), (topics[1], 1), (topics[2], 2)])
        assert sub.next(timeout=0.5) is None  # `c` matched no pattern
    finally:
        sub.close()


def test_a_subscription_is_durable(hive: agent_hive.Hive, names: Names) -> None:
    topic = names.topic("durable")
    sub = hive.subscribe(names.sub(), [topic])
    hive.publish(topic, {"n": 1})
    first = sub.next(timeout=WAIT)
    assert first is not None and first.payload == {"n": 1}
    sub.close()
    # Published while nobody listens: the reopened subscription resumes there,
    # and the message handed to Python before (hence acknowledged) is not repeated.
    hive.publish(topic, {"n": 2})
    hive.publish(topic, {"n": 3})
    sub = hive.subscribe(names.sub(), [topic])
    try:
        got = [sub.next(timeout=WAIT) for _ in range(2)]
        assert [m.payload for m in got if m is not None] == [{"n": 2}, {"n": 3}]
        assert sub.next(timeout=0.5) is None
    finally:
        sub.close()


def test_from_beginning(hive: agent_hive.Hive, names: Names) -> None:
    topic = names.topic("history")
    for n in range(3):
        hive.publish(topic, {"n": n})
    late = hive.subscribe(names.sub("late"), [topic])
    replay = hive.subscribe(names.sub("replay"), [topic], from_beginning=True)
    try:
        assert late.next(timeout=0.5) is None
        got = [replay.next(timeout=WAIT) for _ in range(3)]
        assert [m.payload for m in got if m is not None] == [{"n": 0}, {"n": 1}, {"n": 2}]
    finally:
        late.close()
        replay.close()


def test_a_subscriber_on_another_thread(hive: agent_hive.Hive, names: Names) -> None:
    topic = names.topic("threaded")
    sub = hive.subscribe(names.sub(), [topic])
    received: list[dict] = []

    def consume() -> None:
        for message in sub:
            received.append(message.payload)
            if len(received) == 20:
                return

    t = threading.Thread(target=consume)
    t.start()
    try:
        for n in range(20):
            hive.publish(topic, {"n": n})
        t.join(timeout=WAIT)
        assert not t.is_alive(), f"only {len(received)} of 20 messages arrived"
        assert received == [{"n": n} for n in range(20)]
    finally:
        sub.close()
        t.join(timeout=WAIT)


def test_closing_a_subscription_ends_the_iteration(hive: agent_hive.Hive, names: Names) -> None:
    sub = hive.subscribe(names.sub(), [names.topic("quiet")])
    done = threading.Event()
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for _ in sub:
                pass
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)
        done.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    assert not done.wait(0.3)
    # Closed from another thread while the loop waits (on a daemon thread, so
    # a close that blocks behind the waiting `next` fails the test, not hangs it).
    closer = threading.Thread(target=sub.close, daemon=True)
    closer.start()
    closer.join(WAIT)
    assert not closer.is_alive(), "close() blocked while another thread waited for a message"
    assert done.wait(WAIT), "a `for` loop over a closed subscription did not end"
    assert not errors or isinstance(errors[0], agent_hive.HiveError), errors


def test_bad_topics_and_patterns(hive: agent_hive.Hive, names: Names) -> None:
    for topic in ["", "a..b", "a.*", "a.>", "has space"]:
        with pytest.raises(agent_hive.InvalidInputError):
            hive.publish(topic, {})
    with pytest.raises(agent_hive.InvalidInputError):
        hive.subscribe(names.sub(), ["a.>.b"])
    with pytest.raises(TypeError):
        hive.publish(names.topic("x"), {"bad": {1, 2}})


async def test_async_publish_then_subscribe(ahive: agent_hive.AsyncHive, names: Names) -> None:
    sub = await ahive.subscribe(names.sub(), [names.topic("news", "*")])
    assert isinstance(sub, agent_hive.AsyncSubscription)
    try:
        offsets = []
        for n in range(5):
            offsets.append(await ahive.publish(names.topic("news", "feed"), {"n": n}, kind="k"))
        got = await atake(sub, 5, WAIT)
        assert [m.payload for m in got] == [{"n": n} for n in range(5)]
        assert {m.topic for m in got} == {names.topic("news", "feed")}
        assert [m.offset for m in got] == offsets
        assert {m.kind for m in got} == {"k"}
        assert await sub.next(timeout=0.5) is None
        await ahive.publish(names.topic("news", "last"), {"last": True})
        last = await sub.next(timeout=WAIT)
        assert last is not None and last.payload == {"last": True}
    finally:
        await maybe_await(sub.close())
