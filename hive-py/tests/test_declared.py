"""Declared agents from Python: ``spawn_llm_agent`` and ``spawn_cli_agent`` start
the same agents a ``[[agents]]`` entry of hive.toml does, in this process.

The LLM agent answers through the mock LLM server (``$HIVE_TEST_LLM_URL``) on
both wire formats; the CLI agent runs a fake ``claude`` put first on ``PATH``
in a fresh worktree of a real git repository. A key passed as an argument is
refused (keys come only from the environment), and so is an unknown setting.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import agent_hive
from conftest import Names, require_env

FAKE_CLAUDE = """#!/bin/sh
echo "$2" > answer.txt
printf '{"type":"result","is_error":false,"result":"wrote answer.txt","session_id":"py-1",'
printf '"total_cost_usd":0.0,"usage":{"input_tokens":3,"output_tokens":2},"num_turns":1}\\n'
"""


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_an_llm_agent_answers_on_both_wire_formats(
    hive: agent_hive.Hive, names: Names, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = require_env("HIVE_TEST_LLM_URL").rstrip("/")
    monkeypatch.setenv("HIVE_PY_DECLARED_KEY", "test-key")
    base_url = url.removesuffix("/v1") if provider == "anthropic" else url
    handle = hive.spawn_llm_agent(
        names.agent(provider),
        provider=provider,
        model="claude-sonnet-4-5" if provider == "anthropic" else "gpt-4o-mini",
        system_prompt="You answer briefly.",
        capabilities=[names.cap(provider)],
        base_url=base_url,
        api_key_env="HIVE_PY_DECLARED_KEY",
        prompt_version="py-v1",
    )
    assert handle.name == names.agent(provider)
    task_id = hive.submit(
        names.type("ask"),
        {"prompt": f"hive-declared-test:{provider}"},
        capabilities=[names.cap(provider)],
    )
    result = hive.result(task_id, timeout=30)
    wire = "Anthropic" if provider == "anthropic" else "OpenAI"
    assert result["text"] == f"Declared agent, {wire} wire: hello."
    assert result["usage"]["output_tokens"] > 0
    assert result["prompt_version"] == "py-v1"
    kinds = {a["name"]: a["kind"] for a in hive.agents()}
    assert kinds[names.agent(provider)] == "llm"
    hive.stop_agent(handle.id)


def test_a_cli_agent_works_in_a_worktree(
    hive: agent_hive.Hive, names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "README").write_text("hello\n")
    subprocess.run([*git, "add", "README"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], cwd=repo, check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(FAKE_CLAUDE)
    claude.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    handle = hive.spawn_cli_agent(
        names.agent("coder"), repo=repo, capabilities=[names.cap("code")], timeout_secs=60
    )
    task_id = hive.submit(
        names.type("code"), {"prompt": "from python"}, capabilities=[names.cap("code")]
    )
    result = hive.result(task_id, timeout=60)
    assert result["text"] == "wrote answer.txt"
    assert result["changed_files"] == ["answer.txt"]
    shown = subprocess.run(
        ["git", "show", f"{result['branch']}:answer.txt"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    assert shown.stdout.strip() == "from python"
    hive.stop_agent(handle.id)


def test_a_key_argument_and_an_unknown_setting_are_refused(
    hive: agent_hive.Hive, names: Names
) -> None:
    with pytest.raises(agent_hive.InvalidInputError) as refused:
        hive.spawn_llm_agent(
            names.agent("leaky"),
            provider="openai",
            model="gpt-4o-mini",
            system_prompt="x",
            api_key="sk-should-never-be-here",
        )
    message = str(refused.value)
    assert "`api_key` is refused" in message and "api_key_env" in message
    assert "sk-should-never-be-here" not in message
    with pytest.raises(agent_hive.InvalidInputError, match="unknown key `modle`"):
        hive.spawn_cli_agent(names.agent("typo"), repo=".", modle="x")


async def test_the_async_hive_spawns_them_too(
    ahive: agent_hive.AsyncHive, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = require_env("HIVE_TEST_LLM_URL").rstrip("/")
    handle = await ahive.spawn_llm_agent(
        names.agent("async"),
        provider="openai",
        model="gpt-4o-mini",
        system_prompt="You answer briefly.",
        capabilities=[names.cap("async")],
        base_url=url,
    )
    task_id = await ahive.submit(
        names.type("ask"), {"prompt": "hive-declared-test:openai"}, capabilities=[names.cap("async")]
    )
    result = await ahive.result(task_id, timeout=30)
    assert result["text"] == "Declared agent, OpenAI wire: hello."
    await ahive.stop_agent(handle.id)
