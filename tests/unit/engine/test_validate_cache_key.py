"""The validate cache's key changes with what can change validation's result outside the files:
mlform's version, the variables given, and the provider distributions installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlform.engine import validate_cache


def fake_dist(site: Path, name: str, providers: str) -> Path:
    info = site / f"{name}.dist-info"
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text(
        f"[console_scripts]\nx = y:z\n\n[mlform.providers]\n{providers}\n\n[other]\na = b:c\n"
    )
    return info


def test_installing_or_upgrading_a_provider_changes_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    before = validate_cache.base_key([])
    info = fake_dist(site, "mlform_provider_acme-1.0", "acme = acme.provider:Acme")
    installed = validate_cache.base_key([])
    assert installed != before
    assert validate_cache.base_key([]) == installed  # stable while nothing changes
    info.rename(site / "mlform_provider_acme-1.1.dist-info")
    assert validate_cache.base_key([]) not in (before, installed)


def test_distributions_without_providers_do_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    before = validate_cache.base_key([])
    other = site / "requests-2.0.dist-info"
    other.mkdir()
    (other / "entry_points.txt").write_text("[console_scripts]\nr = r:main\n")
    (site / "plain-1.0.dist-info").mkdir()
    assert validate_cache.base_key([]) == before


def test_the_entry_point_section_is_read_alone() -> None:
    text = "[a]\nx = 1\n[mlform.providers]\n# comment\nlocal = m:P\n\n[b]\ny = 2\n"
    assert validate_cache._section(text, "mlform.providers") == "local = m:P"


def test_variables_and_environment_change_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    base = validate_cache.base_key([])
    assert validate_cache.base_key([("var", "seed=1")]) != base
    monkeypatch.setenv("MLFORM_VAR_seed", "7")
    assert validate_cache.base_key([]) != base
