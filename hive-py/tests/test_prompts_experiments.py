"""The prompt registry and live experiments through ``Hive`` and ``AsyncHive``.

docs/python.md, "Prompts and experiments". Each test runs on the embedded and
the distributed backend (see conftest.py); every agent name carries the
test's uid, so on a shared Postgres no test sees another's prompts, labels or
experiments.
"""

from __future__ import annotations

import time
import uuid

import pytest

import agent_hive
from conftest import Names, wait_all

V1 = "You summarise documents.\nBe brief.\nAnswer in English."
V2 = "You summarise documents.\nBe thorough.\nAnswer in English."


def two_versions(h: agent_hive.Hive, agent: str) -> tuple[dict, dict]:
    """Two versions of ``agent``'s prompt, the second derived from the first."""
    v1 = h.create_prompt(agent, V1, "alice")
    v2 = h.create_prompt(agent, V2, "alice", parent=v1["id"], rationale="more detail")
    return v1, v2


def with_production(h: agent_hive.Hive, agent: str) -> tuple[str, str]:
    """Two versions, production at the first: their ids."""
    v1, v2 = two_versions(h, agent)
    h.move_label(agent, "production", v1["id"], "alice")
    return v1["id"], v2["id"]


def test_prompt_versions_read_back_and_diff(hive: agent_hive.Hive, names: Names) -> None:
    agent = names.agent("writer")
    v1 = hive.create_prompt(agent, V1, "alice")
    assert v1["agent"] == agent and v1["text"] == V1 and v1["author"] == "alice"
    assert v1["author_kind"] == "person" and v1["parent"] is None
    assert v1["hash"].startswith("sha256:")
    uuid.UUID(v1["id"])  # ids are UUIDs, as strings
    v2 = hive.create_prompt(
        agent, V2, "optimiser-1", parent=v1["id"], rationale="more detail", by_optimiser=True
    )
    assert v2["id"] != v1["id"]
    assert (v2["parent"], v2["rationale"], v2["author_kind"]) == (v1["id"], "more detail", "optimiser")

    got = hive.prompt(v2["id"])
    assert (got["id"], got["text"], got["parent"], got["hash"]) == (
        v2["id"],
        V2,
        v1["id"],
        v2["hash"],
    )
    listed = hive.prompts(agent)
    assert [v["id"] for v in listed["versions"]] == [v1["id"], v2["id"]], "oldest first"
    assert listed["labels"] == []

    # The same text is the same version, and nothing new is stored.
    again = hive.create_prompt(agent, V1, "bob")
    assert again["id"] == v1["id"]
    assert len(hive.prompts(agent)["versions"]) == 2

    diff = hive.diff_prompts(v1["id"], v2["id"])
    lines = diff.splitlines()
    assert "- Be brief." in lines and "+ Be thorough." in lines
    assert "  You summarise documents." in lines and "  Answer in English." in lines
    assert hive.diff_prompts(v1["id"], v1["id"]).splitlines() == ["  " + line for line in V1.splitlines()]

    assert hive.prompts(names.agent("nobody")) == {"versions": [], "labels": []}
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.prompt("not-a-uuid")
    missing = str(uuid.uuid4())
    with pytest.raises(agent_hive.NotFoundError, match=missing):
        hive.prompt(missing)
    with pytest.raises(agent_hive.NotFoundError):
        hive.diff_prompts(v1["id"], missing)
    with pytest.raises(agent_hive.InvalidInputError, match="empty"):
        hive.create_prompt(agent, "   ", "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.create_prompt(agent, "a third text", "alice", parent="v1")
    with pytest.raises(agent_hive.NotFoundError):
        hive.create_prompt(agent, "a third text", "alice", parent=missing)
    assert len(hive.prompts(agent)["versions"]) == 2, "refused versions store nothing"


def test_protected_label_moves_only_with_an_approval(hive: agent_hive.Hive, names: Names) -> None:
    agent = names.agent("writer")
    v1, v2 = two_versions(hive, agent)

    # The first move of production needs no approval; from then on it is protected.
    label = hive.move_label(agent, "production", v1["id"], "alice", reason="first")
    assert (label["agent"], label["name"], label["version"]) == (agent, "production", v1["id"])
    assert label["moves"] == 1 and label["protected"] is True

    with pytest.raises(agent_hive.InvalidInputError, match="approv"):
        hive.move_label(agent, "production", v2["id"], "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="someone other"):
        hive.move_label(agent, "production", v2["id"], "alice", approved_by="alice")
    [still] = hive.prompts(agent)["labels"]
    assert (still["version"], still["moves"]) == (v1["id"], 1), "a refused move changes nothing"

    moved = hive.move_label(agent, "production", v2["id"], "alice", approved_by="bob", reason="better")
    assert (moved["version"], moved["moves"]) == (v2["id"], 2)
    assert hive.prompts(agent)["labels"][0]["version"] == v2["id"]

    history = hive.label_history(agent, "production")
    assert [(m["seq"], m["from"], m["to"]) for m in history] == [
        (1, None, v1["id"]),
        (2, v1["id"], v2["id"]),
    ]
    assert (history[1]["by"], history[1]["approved_by"], history[1]["reason"]) == ("alice", "bob", "better")
    assert history[0]["approved_by"] is None and history[0]["reason"] == "first"

    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.move_label(agent, "production", "v2", "alice", approved_by="bob")
    with pytest.raises(agent_hive.NotFoundError):
        hive.label_history(agent, "candidate")


def test_experiment_start_refusals_report_and_stop(hive: agent_hive.Hive, names: Names) -> None:
    agent = names.agent("writer")
    v1, v2 = with_production(hive, agent)
    v3 = hive.create_prompt(agent, "A third prompt.", "alice")["id"]

    # Refused experiments: each says why, and nothing is stored.
    refused: list[tuple[type[Exception], str, dict]] = [
        (agent_hive.InvalidInputError, "alpha", {"alpha": 0.7}),
        (agent_hive.InvalidInputError, "min_samples", {"min_samples": 50, "max_samples": 10}),
        (agent_hive.InvalidInputError, "metric", {"metric": "latency"}),
        (agent_hive.InvalidInputError, "weights", {"weights": [1.0]}),
        (agent_hive.InvalidInputError, "thompson_burn_in", {"weights": [1, 1], "thompson_burn_in": 10}),
        (agent_hive.InvalidInputError, "max_cost_increase", {"max_cost_increase": -1.0}),
        (agent_hive.InvalidInputError, "starter", {"approved_by": "alice"}),
        (agent_hive.InvalidInputError, "is the control", {"control": v2}),
        (agent_hive.InvalidInputError, "not at the control", {"control": v3}),
    ]
    for error, message, kwargs in refused:
        with pytest.raises(error, match=message):
            hive.start_experiment(agent, [v2], "alice", **kwargs)
    unknown = str(uuid.uuid4())
    with pytest.raises(agent_hive.NotFoundError, match=unknown):
        hive.start_experiment(agent, [unknown], "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.start_experiment(agent, ["variant-two"], "alice")
    stranger = names.agent("stranger")
    with pytest.raises(agent_hive.NotFoundError, match=stranger):
        hive.start_experiment(stranger, [v2], "alice")
    with pytest.raises(TypeError):
        hive.start_experiment(agent, v2, "alice")  # type: ignore[arg-type]
    assert hive.experiments(agent) == []
    assert hive.experiments(stranger) == []

    e = hive.start_experiment(agent, [v2], "alice", seed=7, max_cost_increase=0.5)
    assert (e["agent"], e["label"], e["status"], e["started_by"]) == (agent, "production", "running", "alice")
    assert [(a["name"], a["version"], a["state"]) for a in e["arms"]] == [
        ("control", v1, "active"),
        ("variant-1", v2, "active"),
    ]
    assert (e["metric"], e["alpha"], e["min_samples"], e["max_samples"]) == ("success", 0.05, 20, 1000)
    assert (e["seed"], e["watch_samples"], e["watch_holdback"]) == (7, 200, 0.2)
    assert e["allocation"] == {"kind": "fixed", "weights": []}
    assert e["guardrails"]["max_cost_increase"] == 0.5
    assert e["decision"] is None

    with pytest.raises(agent_hive.ConflictError):
        hive.start_experiment(agent, [v2], "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="alpha"):
        hive.start_experiment(agent, [v2], "alice", alpha=0.7)
    assert [x["id"] for x in hive.experiments(agent)] == [e["id"]], "refusals store nothing"
    assert [x["id"] for x in hive.experiments(agent, active_only=True)] == [e["id"]]
    assert e["id"] in [x["id"] for x in hive.experiments(limit=1000)]

    report = hive.experiment(e["id"])
    assert report["experiment"]["id"] == e["id"]
    assert [(a["name"], a["samples"]) for a in report["arms"]] == [("control", 0), ("variant-1", 0)]
    assert (report["assigned"], report["observations"], report["watch"]) == (0, 0, None)
    assert hive.experiment_assignments(e["id"]) == []

    with pytest.raises(agent_hive.ConflictError, match="not awaiting approval"):
        hive.approve_experiment(e["id"], "bob")

    stopped = hive.stop_experiment(e["id"], "alice", reason="enough")
    assert stopped["status"] == "finished"
    assert stopped["decision"]["kind"] == "stopped"
    assert "enough" in stopped["decision"]["reason"]
    assert hive.experiment(e["id"])["experiment"]["status"] == "finished"
    assert hive.experiments(agent, active_only=True) == []
    with pytest.raises(agent_hive.ConflictError, match="already finished"):
        hive.stop_experiment(e["id"], "alice")
    assert hive.prompts(agent)["labels"][0]["version"] == v1, "stopping moves no label"

    # The label is free again: a Thompson-sampled experiment may start.
    t = hive.start_experiment(agent, [v2], "alice", thompson_burn_in=10, metric="score")
    assert t["allocation"] == {"kind": "thompson", "burn_in": 10}
    assert t["metric"] == "score"
    hive.stop_experiment(t["id"], "alice")

    missing = str(uuid.uuid4())
    with pytest.raises(agent_hive.NotFoundError, match=missing):
        hive.experiment(missing)
    with pytest.raises(agent_hive.NotFoundError):
        hive.experiment_assignments(missing)
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.stop_experiment("exp-1", "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="limit"):
        hive.experiments(agent, limit=0)


def test_an_agents_tasks_are_assigned_to_arms(hive: agent_hive.Hive, names: Names) -> None:
    agent = names.agent("writer")
    cap = names.cap()
    v1, v2 = with_production(hive, agent)
    e = hive.start_experiment(agent, [v2], "alice", seed=11)

    @hive.agent(agent, capabilities=[cap])
    def work(task: agent_hive.Task) -> dict:
        return {"n": task.payload["n"]}

    ids = [hive.submit(names.type("job"), {"n": n}, capabilities=[cap]) for n in range(6)]
    assert all(t.status == "completed" for t in wait_all(hive, ids))

    assignments = hive.experiment_assignments(e["id"])
    assert sorted(a["task_id"] for a in assignments) == sorted(ids)
    assert {a["arm"] for a in assignments} <= {"control", "variant-1"}

    # Outcomes are written behind the tasks; the report waits for this
    # process's, but a distributed store may take a moment to show them.
    deadline = time.monotonic() + 30
    while True:
        report = hive.experiment(e["id"])
        if report["observations"] == 6 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (report["assigned"], report["observations"]) == (6, 6)
    assert sum(a["samples"] for a in report["arms"]) == 6
    per_arm = {a["name"]: a["samples"] for a in report["arms"]}
    assert per_arm == {
        arm: sum(1 for a in assignments if a["arm"] == arm) for arm in ("control", "variant-1")
    }
    hive.stop_experiment(e["id"], "alice")


async def test_the_async_hive_has_the_same_methods(ahive: agent_hive.AsyncHive, names: Names) -> None:
    agent = names.agent("writer")
    v1 = await ahive.create_prompt(agent, V1, "alice")
    v2 = await ahive.create_prompt(agent, V2, "alice", parent=v1["id"])
    assert (await ahive.prompt(v2["id"]))["parent"] == v1["id"]
    assert [v["id"] for v in (await ahive.prompts(agent))["versions"]] == [v1["id"], v2["id"]]
    assert "+ Be thorough." in (await ahive.diff_prompts(v1["id"], v2["id"])).splitlines()

    await ahive.move_label(agent, "production", v1["id"], "alice")
    with pytest.raises(agent_hive.InvalidInputError, match="approv"):
        await ahive.move_label(agent, "production", v2["id"], "alice")
    moved = await ahive.move_label(agent, "production", v2["id"], "alice", approved_by="bob")
    assert moved["moves"] == 2
    assert len(await ahive.label_history(agent, "production")) == 2
    await ahive.move_label(agent, "production", v1["id"], "alice", approved_by="bob", reason="back")

    with pytest.raises(agent_hive.InvalidInputError, match="alpha"):
        await ahive.start_experiment(agent, [v2["id"]], "alice", alpha=0.7)
    assert await ahive.experiments(agent) == []
    e = await ahive.start_experiment(agent, [v2["id"]], "alice", weights=[3, 1])
    assert e["status"] == "running" and e["allocation"]["weights"] == [3.0, 1.0]
    with pytest.raises(agent_hive.ConflictError):
        await ahive.start_experiment(agent, [v2["id"]], "alice")
    report = await ahive.experiment(e["id"])
    assert [a["samples"] for a in report["arms"]] == [0, 0]
    assert await ahive.experiment_assignments(e["id"]) == []
    assert [x["id"] for x in await ahive.experiments(agent, active_only=True)] == [e["id"]]
    with pytest.raises(agent_hive.ConflictError):
        await ahive.approve_experiment(e["id"], "bob")
    stopped = await ahive.stop_experiment(e["id"], "alice", reason="enough")
    assert (stopped["status"], stopped["decision"]["kind"]) == ("finished", "stopped")
