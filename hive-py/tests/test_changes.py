"""The self-modifier through ``Hive`` and ``AsyncHive``: change sets through gates.

docs/self-modification.md. A fixture git repository is made here with the
``git`` CLI (shell scripts: ``src/add.sh``, its test, a test runner) and added
with its policy's TOML text; patches are made in a scratch clone with
``git diff --cached``. A correct change (a new script and its test) merges with
a rollback tag; a change breaking ``add.sh`` is rejected by the tests with
``main`` unchanged; a change under a critical path waits for an approval, then
merges; bad input raises the mapped exceptions. The sandbox is on (the
policy's default), as in production.

On the distributed backend every test shares one Postgres, so repositories are
named with the per-test ``uid``.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import agent_hive
from conftest import Names

POLICY = """\
allowed = ["src/**", "tests/**"]
critical = ["src/auth/**"]
[test]
command = ["sh", "run-tests.sh"]
"""

ADD = "echo $(( $1 + $2 ))\n"
TEST_ADD = '[ "$(sh src/add.sh 2 3)" = 5 ]\n'
RUN_TESTS = 'for t in tests/*.sh; do sh "$t" || { echo "FAIL $t"; exit 1; }; done\n'

MUL = {
    "src/mul.sh": "echo $(( $1 * $2 ))\n",
    "tests/test_mul.sh": '[ "$(sh src/mul.sh 2 3)" = 6 ]\n',
}
BROKEN_ADD = {"src/add.sh": "echo $(( $1 - $2 ))\n"}
AUTH = {"src/auth/x.sh": "echo allowed\n"}

SETTLED = {"done", "rejected", "reverted", "failed", "awaiting_approval"}
TIMEOUT = 60.0


def git(cwd: Path, *args: str) -> str:
    """Runs git in ``cwd``; its stdout, stripped. Fails the test with its stderr."""
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, f"git {list(args)}: {out.stderr}"
    return out.stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)


class Fixture:
    """A repository on ``main`` with the policy, and a scratch clone to make patches in."""

    def __init__(self, root: Path, names: Names) -> None:
        self.name = f"app-{names.uid}"
        self.repo = root / "repo"
        self.repo.mkdir(parents=True)
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "config", "user.name", "Fixture")
        git(self.repo, "config", "user.email", "fixture@example.com")
        write(
            self.repo,
            {
                "src/add.sh": ADD,
                "tests/test_add.sh": TEST_ADD,
                "run-tests.sh": RUN_TESTS,
                "hive-policy.toml": POLICY,
            },
        )
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", "fixture")
        self.scratch = root / "scratch"
        git(root, "clone", "-q", str(self.repo), str(self.scratch))

    def policy(self) -> str:
        """The policy file's text, as a user reads it."""
        return (self.repo / "hive-policy.toml").read_text()

    def head(self) -> str:
        return git(self.repo, "rev-parse", "main")

    def patch(self, files: dict[str, str]) -> str:
        """The unified diff writing ``files`` over ``main``'s head."""
        git(self.scratch, "fetch", "-q", "origin")
        git(self.scratch, "reset", "-q", "--hard", "origin/main")
        write(self.scratch, files)
        git(self.scratch, "add", "-A")
        patch = git(self.scratch, "diff", "--cached")
        git(self.scratch, "reset", "-q", "--hard")
        return patch + "\n"


@pytest.fixture
def fixture(tmp_path: Path, names: Names) -> Fixture:
    return Fixture(tmp_path / "fixture", names)


def describe(change: dict[str, Any]) -> str:
    """Where a change set stands and its steps' logs, for a failure message."""
    lines = [f"status={change['status']} step={change['step']} reason={change['reason']!r}"]
    for log in change["logs"]:
        lines.append(f"- {log['step']} passed={log['passed']}: {log['summary']}")
        if not log["passed"]:
            lines.append(log["output"])
    return "\n".join(lines)


def until(h: agent_hive.Hive, change_id: str, statuses: set[str]) -> dict[str, Any]:
    """The change set once in one of ``statuses``, polling for up to a minute."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        change = h.change(change_id)
        if change["status"] in statuses:
            return change
        if time.monotonic() > deadline:
            pytest.fail(f"change set {change_id} never reached {statuses}:\n{describe(change)}")
        time.sleep(0.2)


async def auntil(h: agent_hive.AsyncHive, change_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        change = await h.change(change_id)
        if change["status"] in statuses:
            return change
        if time.monotonic() > deadline:
            pytest.fail(f"change set {change_id} never reached {statuses}:\n{describe(change)}")
        await asyncio.sleep(0.2)


def test_a_correct_change_merges_with_a_rollback_tag(
    hive: agent_hive.Hive, fixture: Fixture
) -> None:
    hive.add_repository(fixture.name, str(fixture.repo), fixture.policy())
    [repo] = [r for r in hive.repositories() if r["name"] == fixture.name]
    assert repo["target"] == "main"
    assert repo["policy"]["allowed"] == ["src/**", "tests/**"]
    assert repo["policy"]["critical"] == ["src/auth/**"]
    assert repo["policy"]["test"]["command"] == ["sh", "run-tests.sh"]
    # Defaults are filled in: the sandbox isolates.
    assert repo["policy"]["sandbox"]["isolate"] is True

    base = fixture.head()
    proposed = hive.propose_change(
        fixture.name, "Add mul", patch=fixture.patch(MUL), description="multiplies"
    )
    assert proposed["status"] == "running"
    assert proposed["repository"] == fixture.name
    assert proposed["source"]["kind"] == "patch"
    assert proposed["description"] == "multiplies"

    done = until(hive, proposed["id"], SETTLED)
    assert done["status"] == "done", describe(done)
    head = fixture.head()
    assert head != base
    assert done["merged_commit"] == head
    assert done["base_commit"] == base
    assert done["rollback_tag"], describe(done)
    assert git(fixture.repo, "rev-parse", f"{done['rollback_tag']}^{{commit}}") == base
    assert git(fixture.repo, "show", f"{head}:src/mul.sh") == MUL["src/mul.sh"].strip()
    assert done["diff"]["files"] == 2
    assert done["risk"] is not None
    assert [log["step"] for log in done["logs"] if log["passed"]][:4] == [
        "prepare",
        "generate",
        "static_gate",
        "tests",
    ]

    listed = hive.changes(fixture.name)
    assert [c["id"] for c in listed] == [proposed["id"]]
    assert [c["id"] for c in hive.changes(fixture.name, "done", 10)] == [proposed["id"]]
    assert hive.changes(fixture.name, status="rejected") == []


def test_a_change_breaking_the_tests_is_rejected(hive: agent_hive.Hive, fixture: Fixture) -> None:
    hive.add_repository(fixture.name, fixture.repo, fixture.policy())
    base = fixture.head()
    proposed = hive.propose_change(fixture.name, "Break add", patch=fixture.patch(BROKEN_ADD))
    rejected = until(hive, proposed["id"], SETTLED)
    assert rejected["status"] == "rejected", describe(rejected)
    assert "tests" in rejected["reason"], describe(rejected)
    assert rejected["merged_commit"] is None
    assert rejected["rollback_tag"] is None
    assert fixture.head() == base
    # It has ended: neither an approval nor a rejection nor a revert applies.
    with pytest.raises(agent_hive.ConflictError, match="not awaiting approval"):
        hive.approve_change(proposed["id"], "ada")
    with pytest.raises(agent_hive.ConflictError):
        hive.reject_change(proposed["id"], "ada", "too late")
    with pytest.raises(agent_hive.ConflictError):
        hive.revert_change(proposed["id"], "ada")


def test_a_critical_change_waits_for_an_approval(hive: agent_hive.Hive, fixture: Fixture) -> None:
    hive.add_repository(fixture.name, fixture.repo, fixture.policy(), target="main")
    base = fixture.head()
    proposed = hive.propose_change(fixture.name, "Touch auth", patch=fixture.patch(AUTH))
    waiting = until(hive, proposed["id"], SETTLED)
    assert waiting["status"] == "awaiting_approval", describe(waiting)
    assert waiting["approval_deadline"] is not None
    assert fixture.head() == base
    assert [c["id"] for c in hive.changes(fixture.name, "awaiting_approval")] == [proposed["id"]]

    with pytest.raises(agent_hive.InvalidInputError, match="approver"):
        hive.approve_change(proposed["id"], "  ")
    approved = hive.approve_change(proposed["id"], "ada", "reviewed the auth script")
    assert approved["status"] == "running"
    assert approved["decision"]["by"] == "ada"
    assert approved["decision"]["reason"] == "reviewed the auth script"

    done = until(hive, proposed["id"], SETTLED - {"awaiting_approval"})
    assert done["status"] == "done", describe(done)
    assert fixture.head() == done["merged_commit"] != base
    assert done["rollback_tag"]


def test_bad_input_raises_the_mapped_errors(
    hive: agent_hive.Hive, fixture: Fixture, tmp_path: Path
) -> None:
    misspelt = fixture.policy().replace("critical", "critcal")
    with pytest.raises(agent_hive.InvalidInputError, match="critcal"):
        hive.add_repository(fixture.name, fixture.repo, misspelt)
    with pytest.raises(agent_hive.InvalidInputError, match="not a git repository"):
        hive.add_repository(fixture.name, tmp_path, fixture.policy())
    with pytest.raises(agent_hive.InvalidInputError, match="no target branch"):
        hive.add_repository(fixture.name, fixture.repo, fixture.policy(), target="nope")
    with pytest.raises(agent_hive.InvalidInputError, match="program"):
        hive.add_repository(fixture.name, fixture.repo, fixture.policy(), coder=[])
    with pytest.raises(agent_hive.InvalidInputError, match="repository name"):
        hive.add_repository("not a name", fixture.repo, fixture.policy())
    assert fixture.name not in [r["name"] for r in hive.repositories()]

    hive.add_repository(fixture.name, fixture.repo, fixture.policy())
    patch = fixture.patch(MUL)
    with pytest.raises(agent_hive.InvalidInputError, match="not both"):
        hive.propose_change(fixture.name, "Both", patch=patch, prompt="multiply")
    with pytest.raises(agent_hive.InvalidInputError, match="patch"):
        hive.propose_change(fixture.name, "Neither")
    with pytest.raises(agent_hive.InvalidInputError, match="coding command"):
        hive.propose_change(fixture.name, "By prompt", prompt="add mul.sh")
    with pytest.raises(agent_hive.InvalidInputError, match="title"):
        hive.propose_change(fixture.name, "two\nlines", patch=patch)
    with pytest.raises(agent_hive.InvalidInputError, match="empty"):
        hive.propose_change(fixture.name, "Empty", patch="  ")
    with pytest.raises(agent_hive.InvalidInputError):
        hive.propose_change(fixture.name, "Proposal", patch=patch, proposal="not-a-uuid")
    with pytest.raises(agent_hive.NotFoundError, match="nowhere"):
        hive.propose_change("nowhere", "Lost", patch=patch)

    with pytest.raises(agent_hive.InvalidInputError, match="status"):
        hive.changes(status="merged")
    with pytest.raises(agent_hive.InvalidInputError, match="limit"):
        hive.changes(limit=0)
    with pytest.raises(agent_hive.InvalidInputError):
        hive.change("not-a-uuid")
    missing = "0190a5a0-0000-7000-8000-000000000000"
    with pytest.raises(agent_hive.NotFoundError):
        hive.change(missing)
    with pytest.raises(agent_hive.NotFoundError):
        hive.approve_change(missing, "ada")
    # Nothing was proposed by the refused calls.
    assert hive.changes(fixture.name) == []
    # Every one of them is a HiveError.
    assert issubclass(agent_hive.InvalidInputError, agent_hive.HiveError)
    assert issubclass(agent_hive.NotFoundError, agent_hive.HiveError)


async def test_async_propose_merge_and_revert(ahive: agent_hive.AsyncHive, fixture: Fixture) -> None:
    await ahive.add_repository(fixture.name, fixture.repo, fixture.policy())
    assert fixture.name in [r["name"] for r in await ahive.repositories()]
    with pytest.raises(agent_hive.NotFoundError):
        await ahive.propose_change(f"{fixture.name}-missing", "Lost", patch=fixture.patch(MUL))
    with pytest.raises(agent_hive.InvalidInputError, match="not both"):
        await ahive.propose_change(fixture.name, "Both", patch="x", prompt="y")

    base = fixture.head()
    proposed = await ahive.propose_change(fixture.name, "Add mul", patch=fixture.patch(MUL))
    done = await auntil(ahive, proposed["id"], SETTLED)
    assert done["status"] == "done", describe(done)
    merged = fixture.head()
    assert merged == done["merged_commit"] != base
    assert done["rollback_tag"]
    assert [c["id"] for c in await ahive.changes(fixture.name, "done")] == [proposed["id"]]

    reverted = await ahive.revert_change(proposed["id"], "ada", "not wanted after all")
    assert reverted["status"] == "reverted", describe(reverted)
    assert reverted["revert_commit"] == fixture.head()
    assert git(fixture.repo, "rev-parse", "main^") == merged
    assert "not wanted after all" in reverted["reason"]
    with pytest.raises(agent_hive.ConflictError):
        await ahive.revert_change(proposed["id"], "ada")
