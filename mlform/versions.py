"""Version constraints as Terraform writes them: `>= 0.1`, `~> 1.2`, `= 1.0.3`, `!= 2.0`, `< 3`,
comma-separated; and the checks of `required_version` and `required_providers`."""

from __future__ import annotations

import re

_CONSTRAINT = re.compile(r"^\s*(>=|<=|!=|~>|=|>|<)?\s*v?(\d+(?:\.\d+)*)(?:[-+][0-9A-Za-z.-]+)?\s*$")


class ConstraintError(ValueError):
    pass


def _parse_version(text: str) -> tuple[int, ...]:
    m = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if not m:
        raise ConstraintError(f"{text!r} is not a version number")
    return tuple(int(p) for p in m.group(1).split("."))


def _pad(v: tuple[int, ...], n: int) -> tuple[int, ...]:
    return v + (0,) * (n - len(v))


def parse_constraints(text: str) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = _CONSTRAINT.match(part)
        if not m:
            raise ConstraintError(
                f'"{part.strip()}" is not a version constraint such as ">= 0.1", "~> 1.2" or "= 1.0.3"'
            )
        out.append((m.group(1) or "=", tuple(int(p) for p in m.group(2).split("."))))
    return out


def satisfies(version: str, constraints: str) -> bool:
    v = _parse_version(version)
    for op, want in parse_constraints(constraints):
        n = max(len(v), len(want))
        a, b = _pad(v, n), _pad(want, n)
        if op == "=" and a != b:
            return False
        if op == "!=" and a == b:
            return False
        if op == ">" and not a > b:
            return False
        if op == ">=" and not a >= b:
            return False
        if op == "<" and not a < b:
            return False
        if op == "<=" and not a <= b:
            return False
        if op == "~>":
            # ~> 1.2 allows >= 1.2, < 2.0; ~> 1.2.3 allows >= 1.2.3, < 1.3.0.
            if not a >= b:
                return False
            prefix = want[:-1] if len(want) > 1 else want
            if tuple(_pad(v, len(prefix))[: len(prefix)]) != prefix:
                return False
    return True
