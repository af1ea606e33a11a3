"""The quickstart's loop through the local provider's kinds, in the order apply runs them: data,
environment (scikit-learn, built once), cluster, training, serving; then a parameter change (only
the job and the deployment change), a data change (the dataset too, with reasons), a no-op, and
destroy. Slow: it builds a real environment with scikit-learn (from the network or uv's cache)."""

from __future__ import annotations

import csv
import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jobhelpers import Recorder, provider
from mlform_local import process

from mlform.sdk import ResourceState

QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart"

pytestmark = pytest.mark.slow


class Loop:
    def __init__(self, rec: Recorder):
        self.rec = rec
        self.prov = provider()
        self.states: dict[str, ResourceState] = {}
        self.actions: dict[str, tuple[str, list[str]]] = {}

    def step(self, kind: str, address: str, desired: dict[str, Any]) -> ResourceState:
        k = self.prov.kind(kind)
        ctx = self.rec.ctx(address)
        prior = self.states.get(address)
        if prior is not None:
            prior = k.read(prior, ctx)
        p = k.plan(prior, desired, ctx)
        self.actions[address] = (p.action, p.reasons)
        if p.action == "create":
            st = k.create(p, ctx)
        elif p.action == "update":
            st = k.update(prior, p, ctx)
        elif p.action == "replace":
            k.delete(prior, ctx)
            st = k.create(p, ctx)
        else:
            st = prior
        self.states[address] = st
        return st

    def run(self, c: float) -> None:
        ds = self.step(
            "dataset", "dataset.digits", {"source": "./data/digits", "include": ["*.csv"]}
        )
        env = self.step(
            "environment",
            "environment.sk",
            {"python": "3.11", "packages": ["scikit-learn==1.5.2", "joblib==1.4.2"]},
        )
        cl = self.step("cluster", "cluster.box", {"gpu": "any"})
        job = self.step(
            "training_job",
            "training_job.digits",
            {
                "cluster": cl.attrs["id"],
                "environment": env.attrs["id"],
                "code": "./src",
                "command": "python train.py",
                "datasets": {"digits": ds.attrs["id"]},
                "params": {"c": c},
                "seed": 42,
                "timeout": "30m",
            },
        )
        self.step(
            "deployment",
            "deployment.api",
            {
                "cluster": cl.attrs["id"],
                "environment": env.attrs["id"],
                "model": job.attrs["model"],
                "code": "./src",
                "command": "python serve.py --model $MLFORM_MODEL_DIR --port $PORT",
                "health_check": {"path": "/health"},
            },
        )

    def changed(self) -> dict[str, str]:
        return {a: act for a, (act, _r) in self.actions.items() if act != "noop"}


def _predict(endpoint: str, data: Path, n: int = 20) -> tuple[list[int], list[int]]:
    with data.open(newline="") as f:
        rows = list(csv.reader(f))[1 : n + 1]
    body = json.dumps({"instances": [[float(v) for v in r[:64]] for r in rows]}).encode()
    req = urllib.request.Request(endpoint + "/predict", data=body)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as resp:
        return json.load(resp)["predictions"], [int(r[64]) for r in rows]


def test_the_quickstart_loop(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    shutil.rmtree(rec.module_dir)
    shutil.copytree(
        QUICKSTART,
        rec.module_dir,
        ignore=shutil.ignore_patterns(".mlform", "*.tfstate*", "mlform.state*"),
    )
    loop = Loop(rec)
    try:
        loop.run(1.0)
        job = loop.states["training_job.digits"]
        assert job.attrs["metrics"]["accuracy"] > 0.9
        endpoint = loop.states["deployment.api"].attrs["endpoint"]
        predicted, truth = _predict(endpoint, rec.module_dir / "data/digits/digits.csv")
        assert sum(p == t for p, t in zip(predicted, truth, strict=True)) >= 18

        # Unchanged: nothing to do.
        loop.run(1.0)
        assert loop.changed() == {}

        # Retraining the same inputs gives a byte-identical model.
        k = loop.prov.kind("training_job")
        ctx = rec.ctx("training_job.digits")
        again = k.create(k.plan(None, job.args, ctx), ctx)
        assert again.attrs["model_digest"] == job.attrs["model_digest"]

        # A parameter: only the job and the deployment change.
        loop.run(0.1)
        assert loop.changed() == {"training_job.digits": "replace", "deployment.api": "update"}
        assert loop.actions["training_job.digits"][1] == ["params.c changed 1 → 0.1"]
        assert loop.states["deployment.api"].attrs["endpoint"] == endpoint
        assert loop.states["deployment.api"].attrs["revision"] == 2

        # A data file: the dataset, the job and the deployment, each with its reason.
        data = rec.module_dir / "data/digits/digits.csv"
        data.write_text("".join(data.read_text().splitlines(keepends=True)[:-1]))
        old_ds = loop.states["dataset.digits"].attrs["digest"]
        loop.run(0.1)
        assert loop.changed() == {
            "dataset.digits": "update",
            "training_job.digits": "replace",
            "deployment.api": "update",
        }
        new_ds = loop.states["dataset.digits"].attrs["digest"]
        (reason,) = loop.actions["training_job.digits"][1]
        assert reason == f'dataset "digits" changed {old_ds[:15]}… → {new_ds[:15]}…'
        assert loop.actions["deployment.api"][1][0].startswith("model changed sha256:")
        predicted, truth = _predict(endpoint, data)
        assert sum(p == t for p, t in zip(predicted, truth, strict=True)) >= 18
    finally:
        dep = loop.states.get("deployment.api")
        if dep is not None:
            loop.prov.kind("deployment").delete(dep, rec.ctx("deployment.api"))
    p = dep.private
    for pid, start in [(p["proxy"]["pid"], p["proxy"]["start_time"])] + [
        (r["pid"], r["start_time"]) for r in p["replicas"]
    ]:
        assert not process.is_alive(pid, start)
