"""Context: ``remember``, ``search`` and ``forget``.

docs/python.md, "Context". The embedded hive uses the offline embedder built
into the runtime; the distributed one keeps entries in Postgres (pgvector),
shared by every test, so each text carries the test's uid, each entry is
remembered under an agent named for the test (near-duplicates merge only
within one agent), and the entries are forgotten at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest

import agent_hive
from conftest import Names


@contextlib.contextmanager
def forgetting(h: agent_hive.Hive, ids: list[str]) -> Iterator[None]:
    try:
        yield
    finally:
        for entry_id in ids:
            with contextlib.suppress(agent_hive.NotFoundError):
                h.forget(entry_id)


def texts(names: Names) -> list[str]:
    return [
        f"The staging cluster {names.uid} runs in the Frankfurt data centre.",
        f"Bananas {names.uid} are rich in potassium and taste sweet when ripe.",
        f"The quarterly sales report {names.uid} is due to the board on Friday.",
    ]


def test_search_finds_what_was_remembered(hive: agent_hive.Hive, names: Names) -> None:
    ids: list[str] = []
    with forgetting(hive, ids):
        stored = texts(names)
        for n, text in enumerate(stored):
            entry_id = hive.remember(text, agent=names.agent(), metadata={"n": n})
            assert isinstance(entry_id, str) and entry_id
            ids.append(entry_id)
        assert len(set(ids)) == 3

        # The exact text: its entry comes first, intact.
        found = hive.search(stored[0], k=5)
        assert isinstance(found, list) and found
        assert all(isinstance(f, agent_hive.Found) for f in found)
        top = found[0]
        assert top.id == ids[0]
        assert top.content == stored[0]
        assert top.metadata == {"n": 0}
        assert top.similarity > 0.9
        assert isinstance(top.score, float)
        # Best first.
        scores = [f.score for f in found]
        assert scores == sorted(scores, reverse=True)

        # By meaning: a question about the fruit finds the fruit first of the three.
        found = hive.search(f"which fruit {names.uid} contains potassium?", k=10)
        mine = [f.id for f in found if f.id in ids]
        assert mine and mine[0] == ids[1], [(f.content, f.similarity) for f in found]

        # k bounds the answer.
        assert len(hive.search(stored[2], k=1)) == 1
        assert hive.search(stored[2], k=1)[0].id == ids[2]

        # Forgotten: gone from the answers.
        assert hive.forget(ids[0]) is None  # type: ignore[func-returns-value]
        found = hive.search(stored[0], k=10)
        assert ids[0] not in [f.id for f in found]
        with pytest.raises(agent_hive.NotFoundError):
            hive.forget(ids[0])


def test_search_filters(hive: agent_hive.Hive, names: Names) -> None:
    ids: list[str] = []
    with forgetting(hive, ids):
        stored = texts(names)
        ids.append(hive.remember(stored[0], agent=names.agent("a"), kind="fact"))
        ids.append(hive.remember(stored[1], agent=names.agent("b"), kind="observation"))
        ids.append(hive.remember(stored[2], agent=names.agent("a"), session=names.uid))

        def found(**filters: object) -> set[str]:
            return {f.id for f in hive.search(f"{names.uid} report", k=10, **filters)} & set(ids)  # type: ignore[arg-type]

        assert found(agent=names.agent("a")) == {ids[0], ids[2]}
        assert found(agent=names.agent("b")) == {ids[1]}
        assert found(kinds="observation") == {ids[1]}
        assert found(kinds=["fact", "observation"], agent=names.agent("a")) == {ids[0]}
        assert found(session=names.uid) == {ids[2]}
        assert found(pinned=True) == set()
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        assert found(created_after=later) == set()
        assert found(created_before=later) == set(ids)
        # The exact text is the only one this similar.
        exact = hive.search(stored[2], k=10, min_similarity=0.99)
        assert [f.id for f in exact if f.id in ids] == [ids[2]]
        for bad in ({"min_similarity": 1.5}, {"min_similarity": -2}, {"kinds": ["no such kind!"]}):
            with pytest.raises(agent_hive.InvalidInputError):
                hive.search("x", **bad)  # type: ignore[arg-type]
        with pytest.raises(agent_hive.InvalidInputError):
            hive.search("x", tiers="nowhere")


def test_a_near_duplicate_is_merged(hive: agent_hive.Hive, names: Names) -> None:
    ids: list[str] = []
    with forgetting(hive, ids):
        text = f"Deployments {names.uid} happen every Tuesday at noon"
        first = hive.remember(text, agent=names.agent(), kind="fact", importance=0.4)
        ids.append(first)
        # The same sentence with a full stop scores above the 0.95 threshold.
        again = hive.remember(text + ".", agent=names.agent(), kind="fact", importance=0.9)
        assert again == first


def test_bad_context_input(hive: agent_hive.Hive, names: Names) -> None:
    with pytest.raises(agent_hive.InvalidInputError):
        hive.remember("", agent=names.agent())
    with pytest.raises(agent_hive.InvalidInputError):
        hive.remember("importance out of range", agent=names.agent(), importance=1.5)
    with pytest.raises(TypeError):
        hive.remember("bad metadata", agent=names.agent(), metadata={"x": object()})
    with pytest.raises(agent_hive.InvalidInputError):
        hive.search("anything", k=0)
    with pytest.raises(agent_hive.NotFoundError):
        hive.forget("00000000-0000-4000-8000-000000000000")


async def test_async_context(ahive: agent_hive.AsyncHive, names: Names) -> None:
    stored = texts(names)
    ids = [await ahive.remember(t, agent=names.agent()) for t in stored]
    try:
        found = await ahive.search(stored[2], k=3)
        assert found[0].id == ids[2]
        assert found[0].content == stored[2]
    finally:
        for entry_id in ids:
            with contextlib.suppress(agent_hive.NotFoundError):
                await ahive.forget(entry_id)
    assert ids[2] not in [f.id for f in await ahive.search(stored[2], k=3)]
