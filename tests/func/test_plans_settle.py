"""Plans that settle: after an apply, an unchanged configuration plans no changes, with and
without refresh, and applying it again writes no new serial. Checked for every kind of the local
provider (the environment, training job and deployment case in one slow test)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TINY = (
    Path(__file__).resolve().parents[2] / "providers" / "local" / "tests" / "e2e_projects" / "tiny"
)


def serial(workdir: Path) -> int:
    return int(json.loads((workdir / "mlform.state.json").read_text())["serial"])


def assert_settled(mlform: Any, workdir: Path) -> None:
    """Two plans of each flavour say "no changes" (exit 0 under -detailed-exitcode), and an
    apply changes nothing."""
    before = serial(workdir)
    for args in (("-refresh=false",), (), ("-refresh=false",), ()):
        res = mlform("plan", "-detailed-exitcode", *args)
        assert res.code == 0, str(res)
        assert "No changes." in res.out, str(res)
    res = mlform.ok("apply", "-auto-approve")
    assert "0 added, 0 changed, 0 destroyed" in res.out or "No changes." in res.out, str(res)
    assert serial(workdir) == before


def test_cluster_and_dataset_settle(
    mlform: Any, workdir: Path, write: Callable[[str, str], Path]
) -> None:
    write("1 2 3\n", "data/rows.txt")
    write(
        'resource "cluster" "c" {}\n'
        'resource "cluster" "cpu" {\n  gpu = "none"\n}\n'
        'resource "dataset" "rows" {\n  source = "./data"\n}\n'
    )
    mlform.ok("init")
    mlform.ok("apply", "-auto-approve")
    assert_settled(mlform, workdir)


@pytest.mark.slow
def test_every_local_kind_settles(mlform: Any, workdir: Path) -> None:
    shutil.copytree(TINY, workdir, dirs_exist_ok=True)
    mlform.ok("init")
    try:
        mlform.ok("apply", "-auto-approve", timeout=600)
        assert_settled(mlform, workdir)
    finally:
        mlform("destroy", "-auto-approve", timeout=300)
