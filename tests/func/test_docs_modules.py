"""The reusable modules under modules/: each example validates, and each is applied for real
through the CLI with the local provider (standard-library scripts, environments with no
packages), checking what the module promises, then destroyed."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Mlform


ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "modules"

pytest.importorskip("mlform_local", reason="the local provider is not installed")


def _copy(name: str, mlform: Mlform) -> Mlform:
    """The whole module folder (the example loads it as `../`), without run leftovers; `mlform`
    then runs in its example."""
    dst = mlform.cwd / name
    shutil.copytree(
        MODULES / name,
        dst,
        ignore=shutil.ignore_patterns(".mlform", "mlform.state.json*", "__pycache__"),
    )
    mlform.cwd = dst / "example"
    return mlform


@pytest.mark.parametrize(
    "name", ["sweep", "serve", "train-and-serve", "gpu-cluster", "canary-deployment"]
)
def test_module_has_readme_example_and_validates(name: str, mlform: Mlform) -> None:
    assert (MODULES / name / "README.md").is_file()
    assert list((MODULES / name).glob("*.mlf.hcl"))
    res = _copy(name, mlform)("validate", "--json")
    assert res.code == 0, str(res)
    assert json.loads(res.out)["valid"] is True


def _outputs(mlform: Mlform) -> dict[str, object]:
    res = mlform.ok("output", "--json")
    return {k: v["value"] for k, v in json.loads(res.out).items()}


@pytest.mark.slow
def test_sweep_apply_picks_the_best_model(mlform: Mlform) -> None:
    mlform = _copy("sweep", mlform)
    mlform.ok("apply", "--auto-approve", timeout=300)
    out = _outputs(mlform)
    losses = out["losses"]
    assert isinstance(losses, dict) and set(losses) == {"slow", "medium", "fast"}
    best = min(losses, key=lambda k: losses[k])
    assert out["best"] == best == "medium"
    # The best model is that run's artifact: the weights fitted with its learning rate.
    model = json.loads((Path(str(out["best_model"])) / "model.json").read_text())
    assert model["lr"] == 0.5
    assert abs(model["a"] - 2) < 0.1 and abs(model["b"] - 1) < 0.1
    # Nothing changed: the sweep is up to date.
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)
    # Destroy removes every run.
    mlform.ok("destroy", "--auto-approve", timeout=300)
    assert mlform.ok("state", "list").out.strip() == ""


@pytest.mark.slow
def test_serve_apply_serves_the_model(mlform: Mlform) -> None:
    mlform = _copy("serve", mlform)
    try:
        mlform.ok("apply", "--auto-approve", timeout=300)
        endpoint = mlform.ok("output", "-raw", "endpoint").out.strip()
        assert endpoint.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{endpoint}/predict?x=3", timeout=10) as resp:
            assert json.loads(resp.read()) == {"prediction": 126.0}
    finally:
        mlform.ok("destroy", "--auto-approve", timeout=300)
    assert mlform.ok("state", "list").out.strip() == ""


def _served_by(endpoint: str, n: int) -> list[str]:
    """Which deployment answered each of n requests at the canary's endpoint."""
    out = []
    for _ in range(n):
        with urllib.request.urlopen(f"{endpoint}/predict?x=1", timeout=10) as resp:
            body = json.loads(resp.read())
            assert resp.headers["X-Mlform-Canary"] in ("stable", "candidate")
            out.append(body["model"])
    return out


@pytest.mark.slow
def test_canary_splits_the_traffic_then_promotes(mlform: Mlform) -> None:
    mlform = _copy("canary-deployment", mlform)
    try:
        mlform.ok("apply", "--auto-approve", timeout=300)
        endpoint = mlform.ok("output", "-raw", "endpoint").out.strip()
        # 25% of the requests, exactly, go to the candidate (v2).
        assert sorted(_served_by(endpoint, 8)) == ["v1"] * 6 + ["v2"] * 2
        assert _outputs(mlform)["promotable"] is True
        mlform.ok("apply", "--auto-approve", "--var", "promote=true", timeout=300)
        # The same endpoint now serves v2 only.
        assert mlform.ok("output", "-raw", "endpoint").out.strip() == endpoint
        assert _served_by(endpoint, 4) == ["v2"] * 4
    finally:
        mlform.ok("destroy", "--auto-approve", timeout=300)
    assert mlform.ok("state", "list").out.strip() == ""
