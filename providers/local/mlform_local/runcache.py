"""The run cache: every succeeded training run's result, kept in the content store by fingerprint.

`<data_dir>/store/runs/<fingerprint hex>.json` holds what a run produced (its attributes: the
model's folder and digest, metrics, timings; its lineage record) and when. A job whose
fingerprint has a kept result, whose model is still in the store, is satisfied from it without
training, in any workspace of the working directory (they share its `.mlform`). `mlform gc`
removes the records whose model it removes (a record without its model is never used).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from mlform.kinds.common import digest_hex

__all__ = ["find", "keep", "records", "remove"]


def _folder(data_dir: Path) -> Path:
    return Path(data_dir) / "store" / "runs"


def _path(data_dir: Path, fingerprint: str) -> Path:
    return _folder(data_dir) / f"{digest_hex(fingerprint)}.json"


def keep(data_dir: Path, fingerprint: str, record: dict[str, Any]) -> None:
    """Keep a succeeded run's result under its fingerprint (the latest run wins)."""
    path = _path(data_dir, fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps({**record, "fingerprint": fingerprint}, sort_keys=True, default=str))
    os.replace(tmp, path)


def _model_stored(data_dir: Path, record: dict[str, Any]) -> bool:
    digest = (record.get("attrs") or {}).get("model_digest")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        return False
    store = Path(data_dir) / "store"
    return (store / "models" / digest_hex(digest)).is_dir() and (
        store / "manifests" / f"{digest_hex(digest)}.json"
    ).is_file()


def find(data_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The kept result of a run with this fingerprint whose model is still stored, or None."""
    try:
        record = json.loads(_path(data_dir, fingerprint).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not _model_stored(data_dir, record):
        return None
    return record


def records(data_dir: Path) -> list[dict[str, Any]]:
    """Every kept record, newest first."""
    out = []
    folder = _folder(data_dir)
    if folder.is_dir():
        for p in folder.glob("*.json"):
            try:
                rec = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(rec, dict):
                out.append(rec)
    out.sort(key=lambda r: str((r.get("attrs") or {}).get("finished_at") or ""), reverse=True)
    return out


def remove(data_dir: Path, fingerprint: str) -> None:
    _path(data_dir, fingerprint).unlink(missing_ok=True)
