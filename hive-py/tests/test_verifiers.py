"""Verifiers through ``Hive`` and ``AsyncHive``: docs/python.md, "Verifiers".

A Python agent answers tasks of an ``answer`` type with ``{"text": "4"}`` or
``{"text": "5"}``; a verifier set for that type scores "4" as 1 and anything
else as 0. The completed tasks' results carry the score and the verifier's
kind, and the metrics' mean score is the mean of those scores. A Python
function, a command, and a judge model (the mock LLM server,
``$HIVE_TEST_LLM_URL``, taught a fixture matching the judge's system prompt and
a marker in the task's prompt) each score them. A verifier that raises, answers
something other than a number, or exits non-zero leaves the task completed and
unscored.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

import agent_hive
from conftest import Names, await_all, require_env, wait_all

TEXTS = ["4", "5", "4", "4", "5"]
EXPECTED = [1.0 if t == "4" else 0.0 for t in TEXTS]
GRADE_SH = 'case "$HIVE_RESULT_TEXT" in 4) echo 1;; *) echo 0;; esac'
JUDGE_SYSTEM = "You grade an AI agent's answer"


def answer(task: agent_hive.Task) -> dict[str, Any]:
    """The agent: answers the text its task carries (or "4")."""
    return {"text": task.payload.get("text", "4")}


def grade(task: agent_hive.Task, result: dict[str, Any]) -> float:
    """The verifier: 1 for "4", else 0; it sees the same task the agent saw."""
    assert isinstance(task, agent_hive.Task) and task.payload["text"] == result["text"]
    return 1.0 if result["text"] == "4" else 0.0


def run_answers(h: agent_hive.Hive, names: Names, task_type: str) -> list[agent_hive.Task]:
    """Tasks of ``task_type`` answered by a fresh agent, once final."""
    cap = names.cap(task_type)
    h.spawn_agent(answer, names.agent(task_type), [cap])
    ids = [h.submit(task_type, {"text": t}, capabilities=[cap]) for t in TEXTS]
    tasks = wait_all(h, ids)
    assert all(t.status == "completed" for t in tasks), [(t.status, t.error) for t in tasks]
    return tasks


def assert_scored(h: agent_hive.Hive, tasks: list[agent_hive.Task], task_type: str, kind: str) -> None:
    """Each result carries its expected score and ``kind``; the metrics agree."""
    assert [t.result["score"] for t in tasks] == EXPECTED
    assert {t.result["verifier"] for t in tasks} == {kind}
    [metrics] = h.metrics(task_type=task_type)
    assert metrics["scored"] == len(TEXTS)
    assert metrics["mean_score"] == pytest.approx(sum(EXPECTED) / len(EXPECTED))


def assert_unscored(h: agent_hive.Hive, tasks: list[agent_hive.Task], task_type: str) -> None:
    assert all("score" not in t.result and "verifier" not in t.result for t in tasks)
    [metrics] = h.metrics(task_type=task_type)
    assert (metrics["scored"], metrics["mean_score"]) == (0, None)


def test_a_python_function_scores_completed_tasks(hive: agent_hive.Hive, names: Names) -> None:
    task_type = names.type("answer")
    hive.set_verifier(task_type, grade)
    assert hive.verifiers() == [{"task_type": task_type, "kind": "function"}]
    assert_scored(hive, run_answers(hive, names, task_type), task_type, "function")


def test_a_failing_function_leaves_tasks_unscored(hive: agent_hive.Hive, names: Names) -> None:
    def raises(task: agent_hive.Task, result: dict[str, Any]) -> float:
        raise RuntimeError("cannot grade")

    def not_a_number(task: agent_hive.Task, result: dict[str, Any]) -> Any:
        return "1.0"

    def a_bool(task: agent_hive.Task, result: dict[str, Any]) -> Any:
        return True

    for base, verifier in (("raises", raises), ("text", not_a_number), ("bool", a_bool)):
        task_type = names.type(base)
        hive.set_verifier(task_type, verifier)
        assert_unscored(hive, run_answers(hive, names, task_type), task_type)


def test_a_command_scores_completed_tasks(hive: agent_hive.Hive, names: Names, tmp_path: Any) -> None:
    task_type = names.type("answer")
    hive.set_command_verifier(task_type, ["sh", "-c", GRADE_SH], cwd=tmp_path, timeout_secs=30)
    assert hive.verifiers() == [{"task_type": task_type, "kind": "command"}]
    assert_scored(hive, run_answers(hive, names, task_type), task_type, "command")

    failing = names.type("failing")
    hive.set_command_verifier(failing, ["sh", "-c", "echo nope >&2; exit 3"])
    assert_unscored(hive, run_answers(hive, names, failing), failing)


def teach_judge(marker: str, content: str) -> str:
    """Teaches the mock the judge's reply for prompts with ``marker``: the
    OpenAI base URL."""
    url = require_env("HIVE_TEST_LLM_URL").rstrip("/")
    fixture = {
        "match": {"systemMessage": JUDGE_SYSTEM, "userMessage": marker},
        "response": {"content": content},
    }
    request = urllib.request.Request(
        url.removesuffix("/v1") + "/__aimock/fixtures",
        data=json.dumps({"fixtures": [fixture]}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert 200 <= resp.status < 300
    return url


def test_a_judge_model_scores_completed_tasks(hive: agent_hive.Hive, names: Names) -> None:
    marker = f"judge-me-{names.uid}"
    llm = teach_judge(marker, "0.6 fine")
    task_type = names.type("answer")
    hive.set_judge_verifier(
        task_type,
        provider="openai",
        model="gpt-4o-mini",
        rubric="The answer is 4.",
        base_url=llm,
    )
    assert hive.verifiers() == [{"task_type": task_type, "kind": "judge"}]
    cap = names.cap()
    hive.spawn_agent(answer, names.agent(), [cap])
    task = wait_all(hive, [hive.submit(task_type, {"prompt": marker}, capabilities=[cap])])[0]
    assert task.status == "completed", task.error
    assert (task.result["score"], task.result["verifier"]) == (pytest.approx(0.6), "judge")
    [metrics] = hive.metrics(task_type=task_type)
    assert (metrics["scored"], metrics["mean_score"]) == (1, pytest.approx(0.6))


def test_verifiers_are_listed_removed_and_checked(hive: agent_hive.Hive, names: Names) -> None:
    a, b, c = names.type("a"), names.type("b"), names.type("c")
    hive.set_verifier(b, grade)
    hive.set_command_verifier(a, ["true"])
    hive.set_judge_verifier(c, provider="openai", model="m", rubric="r", base_url="http://127.0.0.1:9/v1")
    assert hive.verifiers() == [
        {"task_type": a, "kind": "command"},
        {"task_type": b, "kind": "function"},
        {"task_type": c, "kind": "judge"},
    ]
    hive.set_verifier(a, grade)  # replaces the command
    assert {v["task_type"]: v["kind"] for v in hive.verifiers()}[a] == "function"
    assert hive.remove_verifier(a) is True
    assert hive.remove_verifier(a) is False
    assert [v["task_type"] for v in hive.verifiers()] == [b, c]

    bad = agent_hive.InvalidInputError
    with pytest.raises(bad, match="task type"):
        hive.set_verifier("", grade)
    with pytest.raises(bad, match="task type"):
        hive.set_command_verifier("  ", ["true"])
    with pytest.raises(bad, match="timeout_secs"):
        hive.set_command_verifier(a, ["true"], timeout_secs=0)
    for nonsense in (-1.0, float("nan"), float("inf")):
        with pytest.raises(bad, match="timeout_secs"):
            hive.set_command_verifier(a, ["true"], timeout_secs=nonsense)
    with pytest.raises(bad):
        hive.set_command_verifier(a, [])
    with pytest.raises(bad, match="provider"):
        hive.set_judge_verifier(a, provider="nope", model="m", rubric="r")
    with pytest.raises(bad, match="rubric"):
        hive.set_judge_verifier(a, provider="openai", model="m", rubric=" ")
    with pytest.raises(TypeError):
        hive.set_verifier(a, "not a function")  # type: ignore[arg-type]
    assert [v["task_type"] for v in hive.verifiers()] == [b, c], "nothing bad was set"


async def test_the_async_hive_has_the_same_methods(ahive: agent_hive.AsyncHive, names: Names) -> None:
    calls: list[str] = []

    async def agrade(task: agent_hive.Task, result: dict[str, Any]) -> float:
        calls.append(task.id)
        return grade(task, result)

    task_type, other = names.type("answer"), names.type("other")
    await ahive.set_verifier(task_type, agrade)
    await ahive.set_command_verifier(other, ["sh", "-c", GRADE_SH], timeout_secs=30)
    await ahive.set_judge_verifier(
        names.type("judged"), provider="openai", model="m", rubric="r", base_url="http://127.0.0.1:9/v1"
    )
    assert await ahive.verifiers() == [
        {"task_type": task_type, "kind": "function"},
        {"task_type": names.type("judged"), "kind": "judge"},
        {"task_type": other, "kind": "command"},
    ]

    cap = names.cap()
    await ahive.spawn_agent(answer, names.agent(), [cap])
    ids = [await ahive.submit(t, {"text": x}, capabilities=[cap]) for t in (task_type, other) for x in TEXTS]
    tasks = await await_all(ahive, ids)
    assert all(t.status == "completed" for t in tasks), [(t.status, t.error) for t in tasks]
    assert [t.result["score"] for t in tasks] == EXPECTED * 2
    assert [t.result["verifier"] for t in tasks] == ["function"] * len(TEXTS) + ["command"] * len(TEXTS)
    assert sorted(calls) == sorted(ids[: len(TEXTS)])
    [metrics] = await ahive.metrics(task_type=task_type)
    assert metrics["mean_score"] == pytest.approx(sum(EXPECTED) / len(EXPECTED))

    assert await ahive.remove_verifier(other) is True
    assert await ahive.remove_verifier(other) is False
    with pytest.raises(agent_hive.InvalidInputError, match="task type"):
        await ahive.set_verifier("", agrade)
    with pytest.raises(agent_hive.InvalidInputError, match="timeout_secs"):
        await ahive.set_command_verifier(other, ["true"], timeout_secs=0)
    with pytest.raises(agent_hive.InvalidInputError, match="provider"):
        await ahive.set_judge_verifier(other, provider="nope", model="m", rubric="r")
