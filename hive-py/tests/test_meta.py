"""The meta-agent and its proposals through ``Hive`` and ``AsyncHive``.

docs/python.md, "The meta-agent". A Python agent fails, permanently, the tasks
whose prompt carries its ``#units`` marker; the meta-agent reads those dead
letters and asks the mock LLM server (``$HIVE_TEST_LLM_URL``), which is taught a
fixture matching its system prompt and that marker, for a better prompt. The
proposal cites exactly the failed tasks and starts an experiment; the
configuration change waits for an approval; a run over budget stops before
calling and writes nothing; a new prompt dropping a must-keep clause is refused.

The meta-agent's budget counts every run in the last 24 hours in every process
sharing the store, which on the distributed backend is a Postgres other tests
(and earlier runs) share too: runs meant to call the model get a budget no one
reaches, and the run meant to be refused gets one call, which this test's own
run has already spent.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest

import agent_hive
from conftest import Names, await_all, require_env, wait_all

KEEP = "Never reveal the key."
V1 = f"You answer questions. {KEEP}"
META_SYSTEM = "You improve the system prompts of AI agents"
# Calls per day no run reaches, for the runs that must call the model.
UNLIMITED = 1_000_000_000
FAILURES = 3


def llm_urls() -> tuple[str, str]:
    """The mock's OpenAI base URL (…/v1) and its root (where fixtures are taught)."""
    url = require_env("HIVE_TEST_LLM_URL").rstrip("/")
    return url, url.removesuffix("/v1")


def teach(root: str, marker: str, prompt: str) -> None:
    """Teaches the mock the meta-agent's answer for runs shown ``marker``."""
    answer = {
        "prompt": prompt,
        "rationale": "every failed task asked for a quantity and the answer stated no units",
        "expected_effect": "the units tasks succeed",
        "config_changes": [
            {"setting": "concurrency", "value": 2, "why": "the tasks wait on each other"}
        ],
    }
    fixture = {
        "match": {"systemMessage": META_SYSTEM, "userMessage": marker},
        "response": {
            "content": json.dumps(answer),
            "usage": {"prompt_tokens": 400, "completion_tokens": 80},
        },
    }
    request = urllib.request.Request(
        root + "/__aimock/fixtures",
        data=json.dumps({"fixtures": [fixture]}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert 200 <= resp.status < 300


def production_v1(h: agent_hive.Hive, agent: str) -> str:
    """``agent``'s first prompt, with production pointing at it: its id."""
    v1 = h.create_prompt(agent, V1, "alice")
    h.move_label(agent, "production", v1["id"], "alice")
    return str(v1["id"])


def answer(task: agent_hive.Task) -> dict[str, Any]:
    """The agent: fails, for good, every task whose prompt has the marker."""
    if "#units" in task.payload["prompt"]:
        raise agent_hive.PermanentError("the answer states no units")
    return {"text": "42"}


def prompts_for(agent: str) -> list[dict[str, Any]]:
    """Tasks for ``agent``: as many plain ones as ``#units`` ones."""
    return [
        {"prompt": f"{agent}#{kind}-{i}."} for i in range(FAILURES) for kind in ("plain", "units")
    ]


def failing_agent(h: agent_hive.Hive, names: Names, base: str, proposed: str) -> tuple[str, set[str]]:
    """An agent at v1 that failed its ``#units`` tasks, the mock taught to answer
    the meta-agent with ``proposed`` for them: its name and the failed task ids."""
    agent = names.agent(base)
    production_v1(h, agent)
    teach(llm_urls()[1], f"{agent}#units-", proposed)
    cap = names.cap(base)
    h.spawn_agent(answer, agent, [cap])
    ids = [h.submit(names.type("ask"), p, capabilities=[cap]) for p in prompts_for(agent)]
    tasks = wait_all(h, ids)
    failed = {t.id for t in tasks if t.status == "dead_lettered"}
    assert len(failed) == FAILURES, [(t.status, t.error) for t in tasks]
    assert all(t.status == "completed" for t in tasks if t.id not in failed)
    return agent, failed


def test_proposals_from_failures_approvals_and_budget(hive: agent_hive.Hive, names: Names) -> None:
    llm, _ = llm_urls()
    better = f"You answer questions and always state the units. {KEEP}"
    agent, failed = failing_agent(hive, names, "asker", better)

    report = hive.run_meta_agent(
        agent,
        provider="openai",
        model="gpt-4o-mini",
        base_url=llm,
        must_keep=[KEEP],
        calls_per_day=UNLIMITED,
        min_samples=5,
        max_samples=50,
    )
    assert (report["agent"], report["calls"], report["tokens"]) == (agent, 1, 480)
    assert report["note"] is None
    uuid.UUID(report["run"])
    by_kind = {p["kind"]: p for p in report["proposals"]}
    assert sorted(by_kind) == ["config", "prompt"], report["proposals"]

    prompt = by_kind["prompt"]
    assert (prompt["status"], prompt["risk"], prompt["author"]) == ("experimenting", "low", "meta-agent")
    assert set(prompt["evidence"]["tasks"]) == failed, "it cites exactly the failed tasks"
    assert len(prompt["evidence"]["tasks"]) == FAILURES
    assert prompt["evidence"]["metrics"], "with the metrics at the time"
    assert "units" in prompt["rationale"] and prompt["run"] == report["run"]
    version = hive.prompt(prompt["prompt_version"])
    assert (version["text"], version["author_kind"]) == (better, "optimiser")
    assert version["parent"] == prompt["parent_version"] == hive.prompts(agent)["labels"][0]["version"]
    e = hive.experiment(prompt["experiment"])["experiment"]
    assert (e["started_by"], e["status"], e["min_samples"], e["max_samples"]) == (
        "meta-agent",
        "running",
        5,
        50,
    )
    assert e["arms"][1]["version"] == version["id"]

    config = by_kind["config"]
    assert (config["status"], config["risk"]) == ("proposed", "medium")
    assert config["change"] == {"setting": "concurrency", "value": 2, "why": "the tasks wait on each other"}
    assert config["summary"] == "concurrency"

    # Reading them back.
    got = hive.proposal(config["id"])
    fields = ("id", "agent", "kind", "status", "change", "evidence", "run", "revision")
    assert {k: got[k] for k in fields} == {k: config[k] for k in fields}
    listed = hive.proposals(agent)
    assert {p["id"] for p in listed} == {prompt["id"], config["id"]}
    assert [p["id"] for p in hive.proposals(agent, status="proposed")] == [config["id"]]
    assert [p["id"] for p in hive.proposals(agent, status="experimenting")] == [prompt["id"]]
    assert hive.proposals(agent, status="approved") == []
    assert config["id"] in [p["id"] for p in hive.proposals(limit=1000)]
    assert hive.proposals(names.agent("nobody")) == []

    # Approving: not by its author; by someone else once; never twice.
    with pytest.raises(agent_hive.InvalidInputError, match="author"):
        hive.approve_proposal(config["id"], "meta-agent")
    approved = hive.approve_proposal(config["id"], "bob")
    assert (approved["status"], approved["decided_by"]) == ("approved", "bob")
    assert approved["revision"] == config["revision"] + 1
    assert hive.proposal(config["id"])["status"] == "approved"
    with pytest.raises(agent_hive.ConflictError, match="not waiting for an approval"):
        hive.approve_proposal(config["id"], "bob")
    with pytest.raises(agent_hive.ConflictError, match="already approved"):
        hive.reject_proposal(config["id"], "carol")

    # Over budget (this test's own run spent the one call): stops before
    # calling, loudly, and writes nothing.
    with pytest.raises(agent_hive.ConflictError, match="budget is spent"):
        hive.run_meta_agent(
            agent, provider="openai", model="gpt-4o-mini", base_url=llm, calls_per_day=1
        )
    assert {p["id"] for p in hive.proposals(agent)} == {prompt["id"], config["id"]}
    assert len(hive.prompts(agent)["versions"]) == 2

    # Rejecting the prompt proposal stops its experiment.
    rejected = hive.reject_proposal(prompt["id"], "carol", reason="not now")
    assert (rejected["status"], rejected["decided_by"], rejected["decision_reason"]) == (
        "rejected",
        "carol",
        "not now",
    )
    assert hive.experiment(prompt["experiment"])["experiment"]["status"] == "finished"
    with pytest.raises(agent_hive.ConflictError, match="already rejected"):
        hive.reject_proposal(prompt["id"], "carol")


def test_a_prompt_dropping_a_must_keep_clause_is_refused(hive: agent_hive.Hive, names: Names) -> None:
    llm, _ = llm_urls()
    agent, failed = failing_agent(hive, names, "careless", "You answer questions with units.")
    report = hive.run_meta_agent(
        agent,
        provider="openai",
        model="gpt-4o-mini",
        base_url=llm,
        must_keep=[KEEP],
        calls_per_day=UNLIMITED,
    )
    prompt = next(p for p in report["proposals"] if p["kind"] == "prompt")
    assert prompt["status"] == "refused"
    assert KEEP in (prompt["decision_reason"] or "")
    assert (prompt["prompt_version"], prompt["experiment"]) == (None, None)
    assert set(prompt["evidence"]["tasks"]) == failed
    assert hive.proposals(agent, status="refused")[0]["id"] == prompt["id"]
    assert len(hive.prompts(agent)["versions"]) == 1, "no version is written"
    assert hive.experiments(agent) == []
    with pytest.raises(agent_hive.ConflictError):
        hive.approve_proposal(prompt["id"], "bob")


def test_bad_settings_and_ids_are_refused(
    hive: agent_hive.Hive, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = names.agent("idle")
    settings: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"}
    refused: list[tuple[str, dict[str, Any]]] = [
        ("provider", {"provider": "nope"}),
        ("timeout_secs", {"timeout_secs": -1.0}),
        ("timeout_secs", {"timeout_secs": 0.0}),
        ("usd_per_day", {"usd_per_day": float("nan")}),
        ("min_samples", {"min_samples": 0}),
        ("min_samples", {"min_samples": 60, "max_samples": 50}),
        ("max_samples", {"max_samples": 10**7}),
        ("HIVE_PY_META_UNSET_KEY", {"api_key_env": "HIVE_PY_META_UNSET_KEY"}),
        ("needs a key", {"provider": "anthropic"}),
    ]
    monkeypatch.delenv("HIVE_PY_META_UNSET_KEY", raising=False)
    for message, changed in refused:
        with pytest.raises(agent_hive.InvalidInputError, match=message):
            hive.run_meta_agent(agent, **{**settings, **changed})
    with pytest.raises(TypeError):
        hive.run_meta_agent(agent, **settings, must_keep=KEEP)  # type: ignore[arg-type]

    # An agent without its label, then one without failures: nothing to do.
    with pytest.raises(agent_hive.NotFoundError):
        hive.run_meta_agent(agent, **settings)
    production_v1(hive, agent)
    report = hive.run_meta_agent(agent, **settings)
    assert (report["calls"], report["proposals"]) == (0, [])
    assert "no failed tasks" in report["note"]

    with pytest.raises(agent_hive.InvalidInputError, match="status"):
        hive.proposals(agent, status="pending")
    with pytest.raises(agent_hive.InvalidInputError, match="limit"):
        hive.proposals(agent, limit=0)
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.proposal("p-1")
    with pytest.raises(agent_hive.InvalidInputError, match="not a UUID"):
        hive.approve_proposal("p-1", "bob")
    missing = str(uuid.uuid4())
    with pytest.raises(agent_hive.NotFoundError, match=missing):
        hive.proposal(missing)
    with pytest.raises(agent_hive.NotFoundError):
        hive.approve_proposal(missing, "bob")
    with pytest.raises(agent_hive.NotFoundError):
        hive.reject_proposal(missing, "bob", reason="no")


async def test_the_async_hive_has_the_same_methods(ahive: agent_hive.AsyncHive, names: Names) -> None:
    llm, root = llm_urls()
    agent = names.agent("asker")
    v1 = await ahive.create_prompt(agent, V1, "alice")
    await ahive.move_label(agent, "production", v1["id"], "alice")
    teach(root, f"{agent}#units-", f"Always state the units. {KEEP}")
    cap = names.cap()
    await ahive.spawn_agent(answer, agent, [cap])
    ids = [await ahive.submit(names.type("ask"), p, capabilities=[cap]) for p in prompts_for(agent)]
    failed = {t.id for t in await await_all(ahive, ids) if t.status == "dead_lettered"}
    assert len(failed) == FAILURES

    with pytest.raises(agent_hive.InvalidInputError, match="provider"):
        await ahive.run_meta_agent(agent, provider="nope", model="m")
    report = await ahive.run_meta_agent(
        agent, provider="openai", model="gpt-4o-mini", base_url=llm, calls_per_day=UNLIMITED
    )
    by_kind = {p["kind"]: p for p in report["proposals"]}
    assert by_kind["prompt"]["status"] == "experimenting"
    assert set(by_kind["prompt"]["evidence"]["tasks"]) == failed
    config = by_kind["config"]
    assert (await ahive.proposal(config["id"]))["status"] == "proposed"
    assert [p["id"] for p in await ahive.proposals(agent, status="proposed")] == [config["id"]]
    approved = await ahive.approve_proposal(config["id"], "bob")
    assert approved["status"] == "approved"
    with pytest.raises(agent_hive.ConflictError):
        await ahive.approve_proposal(config["id"], "bob")
    with pytest.raises(agent_hive.ConflictError, match="budget is spent"):
        await ahive.run_meta_agent(
            agent, provider="openai", model="gpt-4o-mini", base_url=llm, calls_per_day=1
        )
    assert len(await ahive.proposals(agent)) == 2
    rejected = await ahive.reject_proposal(by_kind["prompt"]["id"], "carol")
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", None)
