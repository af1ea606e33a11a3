"""Small helpers the portable kinds share: digest strings, durations, sizes, timestamps.

Every kind formats digests the same way (`sha256:<64 hex>`) and shortens them the same way in
messages (`sha256:ab12cd34…`), so a digest read in a plan can be found in the state and the store.
Durations ("90s", "2h") and sizes ("16Gi") are parsed here once so every provider reads them alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mlform.durations import DurationError, duration_seconds

DIGEST_PREFIX = "sha256:"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def format_digest(hexdigest: str) -> str:
    """`sha256:<hex>` from a bare hex digest."""
    return DIGEST_PREFIX + hexdigest


def is_digest(value: object) -> bool:
    """True for a well-formed `sha256:<64 hex>` string."""
    return isinstance(value, str) and bool(_DIGEST_RE.match(value))


def digest_hex(digest: str) -> str:
    """The hex part of `sha256:<hex>`; ValueError when malformed."""
    if not is_digest(digest):
        raise ValueError(f"not a sha256 digest: {digest!r} (expected sha256: and 64 hex digits)")
    return digest[len(DIGEST_PREFIX) :]


def short_digest(value: object, n: int = 8) -> str:
    """`sha256:ab12cd34…` for messages; anything that is not a digest is returned as text."""
    if (
        isinstance(value, str)
        and value.startswith(DIGEST_PREFIX)
        and len(value) > len(DIGEST_PREFIX) + n
    ):
        return value[: len(DIGEST_PREFIX) + n] + "…"
    return str(value)


def plain(value: Any) -> Any:
    """A value reduced to JSON-stable plain data: integral numbers become int (so `1`, `1.0` and
    `Decimal("1.0")` hash alike), other Decimals become float, tuples become lists, mapping keys
    become strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if value == value and value not in (float("inf"), float("-inf")) and value == int(value):
            return int(value)
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        if isinstance(value, set | frozenset):
            items.sort(key=canonical_json)
        return items
    return str(value)


def canonical_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, numbers normalized by `plain`)."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_json(value: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of a value."""
    return format_digest(hashlib.sha256(canonical_json(value).encode()).hexdigest())


def now_iso() -> str:
    """The current UTC time as RFC 3339 with seconds precision (`2026-01-02T03:04:05Z`)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_duration(value: str | int | float | Decimal | None) -> float | None:
    """Seconds from `90`, `"90s"`, `"1h30m"`, `"500ms"`, `"2d"`; None stays None.
    A bare number is seconds; case and blanks in a string are ignored. ValueError on anything
    else. (The grammar is `mlform.durations.duration_seconds`, shared with the CLI.)"""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float | Decimal):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return float(value)
    try:
        return duration_seconds(value.lower().replace(" ", ""), days=True)
    except DurationError:
        raise ValueError(
            f'not a duration: "{value}" (use a number of seconds or units like "90s", "15m", "2h", "1h30m")'
        ) from None


_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)$", re.IGNORECASE)
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(
    value: str | int | float | Decimal | None, *, bare_unit: int = 1024**3
) -> int | None:
    """Bytes from `"16Gi"`, `"16GiB"`, `"16G"`, `"512Mi"`, `"1.5Ti"`; a trailing `+` ("at least")
    is accepted. A bare number is multiplied by `bare_unit` (GiB by default, as SkyPilot reads
    memory). Binary (Ki, Mi, Gi) and decimal (k, M, G) units as Kubernetes reads them."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int | float | Decimal):
        return int(Decimal(str(value)) * bare_unit)
    text = value.strip().rstrip("+").strip()
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f'not a size: "{value}" (use units like "512Mi", "16Gi", "2Ti")')
    number, prefix, binary, _b = m.groups()
    if not prefix:
        return int(Decimal(number) * bare_unit)
    base = 1024 if binary else 1000
    return int(Decimal(number) * base ** _SIZE_POWERS[prefix.lower()])


def parse_at_least(value: str | int | None) -> int | None:
    """An integer count from `8` or `"8+"` (both mean "at least 8")."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a count: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip().rstrip("+").strip()
    if not text.isdigit():
        raise ValueError(f'not a count: "{value}" (use a whole number such as 8 or "8+")')
    return int(text)


def planned_attrs(attrs_model: type, **known: Any) -> dict[str, Any]:
    """Every attribute of `attrs_model` (a pydantic model class): the given ones as they are, the
    rest UNKNOWN. What a kind's plan returns for an object it has yet to create."""
    from mlform.sdk import UNKNOWN

    fields = attrs_model.model_fields  # type: ignore[attr-defined]
    unknown = set(known) - set(fields)
    if unknown:
        raise KeyError(f"{attrs_model.__name__} has no attribute(s) {sorted(unknown)}")
    return {name: known.get(name, UNKNOWN) for name in fields}
