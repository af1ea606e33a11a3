"""A small ML project written as a new user would (e2e_projects/sweep): two datasets, a local
training module, a `for_each` sweep of three runs over data and step size, and a deployment of the
run with the lowest loss, chosen by an expression over the runs' metrics. Applied through the real
`mlform` command line; then one dataset is edited and exactly the runs that read it retrain."""

from __future__ import annotations

import re
from pathlib import Path

from e2e_cli import http, project

RUNS = {
    name: f'module.train["{name}"].training_job.this'
    for name in ("clean_slow", "clean_fast", "noisy_fast")
}


def test_a_sweep_retrains_only_the_runs_whose_data_changed(tmp_path: Path) -> None:
    with project("sweep", tmp_path) as p:
        plan, r = p.plan()
        assert r.code == 2, r.explain()
        assert plan.actions() == {
            "dataset.clean": "create",
            "dataset.noisy": "create",
            "environment.py": "create",
            "cluster.box": "create",
            **{addr: "create" for addr in RUNS.values()},
            "deployment.best": "create",
        }

        r = p.ok("apply", "-auto-approve")
        assert "Resources: 8 added, 0 changed, 0 destroyed." in r.out
        assert f"{RUNS['clean_fast']}: lr=0.1 epochs=20 on 3 rows: w=2.0000 loss=0.0" in r.out
        assert p.output("best") == "clean_fast"
        endpoint = p.output("endpoint")
        served = http(endpoint + "/predict", {"x": [10]})
        assert served["model"] == {"lr": 0.1, "rows": 3, "w": 2.0}
        before = {name: p.resource(addr)["run_id"] for name, addr in RUNS.items()}

        plan, r = p.plan()
        assert r.code == 0 and "No changes." in r.out, r.explain()

        # One more row in the clean data: only the two runs that read it retrain.
        with (p.root / "data/clean/points.csv").open("a") as f:
            f.write("4,8\n")
        old = p.resource("dataset.clean")["digest"]
        plan, r = p.plan()
        assert r.code == 2, r.explain()
        assert plan.actions() == {
            "dataset.clean": "update",
            RUNS["clean_slow"]: "replace",
            RUNS["clean_fast"]: "replace",
            # Which run is best is known only once the new runs report their loss.
            "deployment.best": "update",
        }
        assert plan.summary == "Plan: 2 to add, 2 to change, 2 to destroy."
        (ds_reason,) = plan.reasons("dataset.clean")
        assert ds_reason.startswith(f"content changed {old[:15]}… → sha256:")
        assert ds_reason.endswith("(1 file changed, 0 added, 0 removed)")
        new = ds_reason.split(" → ")[1][:15]
        for name in ("clean_slow", "clean_fast"):
            assert plan.reasons(RUNS[name]) == [f'dataset "train" changed {old[:15]}… → {new}…']
        assert RUNS["noisy_fast"] not in r.out and "dataset.noisy" not in r.out

        r = p.ok("apply", "-auto-approve")
        assert "Resources: 2 added, 2 changed, 2 destroyed." in r.out
        assert f"{RUNS['clean_fast']}: lr=0.1 epochs=20 on 4 rows" in r.out
        assert RUNS["noisy_fast"] not in r.out
        after = {name: p.resource(addr)["run_id"] for name, addr in RUNS.items()}
        assert after["noisy_fast"] == before["noisy_fast"]
        assert after["clean_slow"] != before["clean_slow"]
        assert after["clean_fast"] != before["clean_fast"]

        # The same endpoint now serves the best run trained on four rows.
        assert p.output("endpoint") == endpoint
        assert http(endpoint + "/predict", {"x": [10]})["model"]["rows"] == 4
        assert p.resource("deployment.best")["revision"] == 2

        plan, r = p.plan()
        assert r.code == 0 and "No changes." in r.out, r.explain()


def _depends_on(show: str) -> str:
    m = re.search(r"^# depends on: *(.*)$", show, re.M)
    return m[1] if m else ""


def test_dependencies_reach_through_the_module_and_locals(tmp_path: Path) -> None:
    """The deployment reads its model through `local.best` and the module's outputs, the runs
    read their data through the module's variables: the state records those resources as
    their dependencies, so destroy stops the server before the runs and lineage finds them."""
    with project("sweep", tmp_path) as p:
        p.ok("apply", "-auto-approve")
        deployment = _depends_on(p.ok("state", "show", "deployment.best").out)
        for addr in RUNS.values():
            assert addr in deployment
            assert "dataset.clean" in _depends_on(p.ok("state", "show", addr).out)
        lineage = p.ok("lineage", "deployment.best").out
        assert RUNS["clean_fast"] in lineage and "dataset.clean" in lineage
        r = p.ok("destroy", "-auto-approve")
        lines = r.out.splitlines()
        (done,) = [
            i
            for i, line in enumerate(lines)
            if line.startswith("deployment.best: Destruction complete")
        ]
        assert all(lines.index(f"{a}: Destroying...") > done for a in RUNS.values())


def test_lineage_names_only_the_inputs_a_model_was_made_from(tmp_path: Path) -> None:
    with project("sweep", tmp_path) as p:
        p.ok("apply", "-auto-approve")
        lineage = p.ok("lineage", RUNS["noisy_fast"]).out
        assert "dataset.noisy" in lineage and "dataset.clean" not in lineage
        lineage = p.ok("lineage", "deployment.best").out
        assert RUNS["clean_fast"] in lineage and RUNS["noisy_fast"] not in lineage
