"""The package's surface: what it exports, and the exception hierarchy.

docs/python.md, "Errors": every error from Rust is one class below
``HiveError``; ``PermanentError`` is what an agent raises, not an error the
runtime reports, so it only has to be an ``Exception``.
"""

from __future__ import annotations

import pytest

import agent_hive

ERRORS = [
    "InvalidInputError",
    "NotFoundError",
    "ConflictError",
    "StaleLeaseError",
    "NotSupportedError",
    "BackendError",
    "ClosedError",
    "HiveTimeoutError",
    "TaskFailedError",
]


def test_the_package_exports_what_all_lists() -> None:
    for name in agent_hive.__all__:
        assert hasattr(agent_hive, name), name
    assert isinstance(agent_hive.__version__, str) and agent_hive.__version__


@pytest.mark.parametrize("name", ERRORS)
def test_every_error_class_is_a_hive_error(name: str) -> None:
    cls = getattr(agent_hive, name)
    assert isinstance(cls, type)
    assert issubclass(cls, agent_hive.HiveError)
    assert cls is not agent_hive.HiveError
    assert issubclass(cls, Exception)


def test_hive_error_is_an_exception() -> None:
    assert issubclass(agent_hive.HiveError, Exception)


def test_the_error_classes_are_distinct() -> None:
    classes = [getattr(agent_hive, n) for n in ERRORS]
    assert len(set(classes)) == len(classes)
    for a in classes:
        for b in classes:
            if a is not b:
                assert not issubclass(a, b), f"{a.__name__} is a {b.__name__}"


def test_the_timeout_error_is_not_the_builtin_one() -> None:
    # Catching TimeoutError must not silently swallow the hive's waits, and
    # the other way round; the spec names it HiveTimeoutError on purpose.
    assert agent_hive.HiveTimeoutError is not TimeoutError


def test_permanent_error_can_be_raised_with_a_message() -> None:
    assert issubclass(agent_hive.PermanentError, Exception)
    with pytest.raises(agent_hive.PermanentError, match="no such document"):
        raise agent_hive.PermanentError("no such document")


def test_priority_levels() -> None:
    P = agent_hive.Priority
    assert [int(p) for p in (P.CRITICAL, P.HIGH, P.NORMAL, P.LOW, P.BACKGROUND)] == [1, 3, 5, 7, 9]
