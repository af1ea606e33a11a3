"""Loading stores freshly parsed files in the parse cache: in this process for small
configurations, from a forked writer for large ones; either way the next load reads them back
as the same trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hcl_tree_dump import dump_body

from mlform.config import loader, parser
from mlform.config.loader import load_config, wait_for_cache_writes


def write_config(folder: Path, resources: int) -> None:
    blocks = [
        f'resource "dataset" "d{i}" {{\n  source  = "./data/${{{i} % 4}}"\n'
        f'  include = [for e in ["a", "b"] : "**/${{e}}/*.csv" if e != "x{i}"]\n}}\n'
        for i in range(resources)
    ]
    (folder / "main.mlf.hcl").write_text("\n".join(blocks))


def cache_entries(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / ".mlform" / "cache" / "parse").rglob("*") if p.is_file())


def test_small_configuration_is_stored_before_load_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, 3)
    monkeypatch.chdir(tmp_path)
    root, diags = load_config(Path("."))
    assert not diags
    assert len(cache_entries(tmp_path)) == 1  # no waiting needed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="background writes need fork")
def test_large_configuration_is_stored_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, 1200)
    assert (tmp_path / "main.mlf.hcl").stat().st_size > loader._FORK_MIN_CHARS
    monkeypatch.chdir(tmp_path)
    first, diags = load_config(Path("."))
    assert not diags
    wait_for_cache_writes()
    assert not loader._writers
    assert len(cache_entries(tmp_path)) == 1

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file should come from the parse cache")

    monkeypatch.setattr(parser, "parse_file", no_parsing)
    second, diags = load_config(Path("."))
    assert not diags
    assert list(second.resources) == list(first.resources)
    for addr, res in first.resources.items():
        assert dump_body(second.resources[addr].body) == dump_body(res.body)


def test_without_the_cache_nothing_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, 1200)
    monkeypatch.chdir(tmp_path)
    _, diags = load_config(Path("."), use_cache=False)
    assert not diags
    wait_for_cache_writes()
    assert cache_entries(tmp_path) == []
