"""The schema cache `mlform validate` reads instead of importing providers and pydantic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlform.engine import schema_cache
from mlform.sdk.plugins import load_provider
from mlform.sdk.schema import kind_schema
from mlform.sdk.schema_types import kind_from_json, kind_to_json

CASE = Path(__file__).parents[2] / "testdata" / "schema_cache"

# Validate the case in a fresh process and say whether pydantic was imported.
SCRIPT = """
import json, sys
from pathlib import Path
from mlform.engine.validate import validate
_, diags = validate(Path(sys.argv[1]))
print(json.dumps({
    "pydantic": "pydantic" in sys.modules,
    "provider": "mlform_local" in sys.modules,
    "diags": [[d.severity.value, d.summary, d.detail, str(d.subject)] for d in diags],
}))
"""


def _run(workdir: Path, cache: Path) -> dict:
    env = {**os.environ, "MLFORM_CACHE_DIR": str(cache)}
    env.pop("MLFORM_DISABLE_PLUGIN_AUTOLOAD", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("provider", ["local", "test"])
def test_every_kind_schema_round_trips_through_json(provider: str) -> None:
    cls = load_provider(provider)
    assert cls.kinds
    for kind in cls.kinds.values():
        schema = kind_schema(kind)
        assert kind_from_json(json.loads(json.dumps(kind_to_json(schema)))) == schema


def test_portable_schema_matches_the_kind_modules(tmp_path: Path, monkeypatch) -> None:
    from mlform.engine.validate import portable_kind_info

    monkeypatch.setenv("MLFORM_CACHE_DIR", str(tmp_path))
    for kind in ("dataset", "environment", "training_job", "deployment"):
        schema_cache._portable.pop(kind, None)
        assert schema_cache.portable_schema(kind) == portable_kind_info(kind).schema
    assert len(list((tmp_path / "schemas").glob("portable.*.json"))) == 4


def test_schema_types_need_no_pydantic() -> None:
    code = "import sys, mlform.sdk.schema_types; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_cached_run_imports_no_provider_and_reports_the_same(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(CASE, workdir)
    cache = tmp_path / "cache"
    first = _run(workdir, cache)
    assert first["pydantic"] and first["provider"]
    assert {p.name.split("-")[0] for p in (cache / "schemas").glob("*.json")} >= {"local", "test"}
    second = _run(workdir, cache)
    assert not second["pydantic"] and not second["provider"]
    assert second["diags"] == first["diags"]
    summaries = [d[1] for d in first["diags"]]
    # The misspelt argument, the wrong type, the unknown resource type and the data source the
    # provider does not have are all reported, from the cache as from the provider.
    assert "Unsupported argument" in summaries
    assert "Invalid resource type" in summaries
    assert "Invalid data source" in summaries
    assert any('"version"' in d[2] for d in first["diags"]), first["diags"]


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(CASE, workdir)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    out = _run(workdir, blocked)
    reference = _run(workdir, tmp_path / "cache")
    assert out["diags"] == reference["diags"] and out["diags"]


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(CASE, workdir)
    cache = tmp_path / "cache"
    first = _run(workdir, cache)
    for f in (cache / "schemas").glob("*.json"):
        f.write_text("{broken")
    again = _run(workdir, cache)
    assert again["pydantic"] and again["diags"] == first["diags"]
    assert not _run(workdir, cache)["pydantic"]
