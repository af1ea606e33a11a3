from __future__ import annotations

import pytest

from mlform.versions import ConstraintError, satisfies


@pytest.mark.parametrize(
    ("version", "constraints", "expected"),
    [
        ("0.1.0", ">= 0.1", True),
        ("0.0.9", ">= 0.1", False),
        ("1.2.5", "~> 1.2", True),
        ("2.0.0", "~> 1.2", False),
        ("1.2.9", "~> 1.2.3", True),
        ("1.3.0", "~> 1.2.3", False),
        ("1.0.3", "= 1.0.3", True),
        ("1.0.3", "1.0.3", True),
        ("1.0.4", "= 1.0.3", False),
        ("2.0.0", "!= 2.0", False),
        ("1.5.0", ">= 1.0, < 2.0", True),
        ("2.5.0", ">= 1.0, < 2.0", False),
    ],
)
def test_constraints(version: str, constraints: str, expected: bool) -> None:
    assert satisfies(version, constraints) is expected


def test_bad_constraint() -> None:
    with pytest.raises(ConstraintError):
        satisfies("1.0", "about one")
