from __future__ import annotations

import json

import pytest
from mlform_runtime import EXIT_USAGE
from mlform_runtime.spec import JOB, SERVER, SpecError, parse_spec, parse_spec_text
from runtime_helpers import cli

D = "sha256:" + "0" * 64


def minimal(**extra):
    doc = {
        "format": 1,
        "run_id": "r1",
        "command": "python train.py",
        "output": {"uri": "/tmp/out"},
        "store": {"uri": "/tmp/store"},
    }
    doc.update(extra)
    return doc


def problems(doc, kind=None):
    with pytest.raises(SpecError) as e:
        parse_spec(doc, kind)
    return e.value.problems


def test_minimal_spec_has_the_documented_defaults():
    spec = parse_spec(minimal())
    assert spec.kind == JOB
    assert (spec.nodes, spec.rank, spec.timeout_s, spec.heartbeat_s) == (1, None, None, 5.0)
    assert spec.environment is None and spec.datasets == {} and spec.params == {}


def test_full_spec_round_trips_its_fields():
    spec = parse_spec(
        minimal(
            code={"digest": D},
            environment={
                "python": "3.11",
                "lock": ["numpy==2.1.0", "Foo_Bar[x]==1.0"],
                "env": {"A": "1"},
            },
            datasets={"train": {"digest": D, "uri": "/data"}},
            params={"lr": 0.1, "layers": [1, 2], "opt": {"name": "adam"}},
            seed=3,
            nodes=2,
            timeout_s=60,
            env={"X": "y"},
        )
    )
    assert spec.code is not None and spec.code.digest == D
    assert spec.environment is not None and spec.environment.lock[1] == "Foo_Bar[x]==1.0"
    assert spec.datasets["train"].uri == "/data"
    assert spec.params["layers"] == [1, 2]
    assert (spec.seed, spec.nodes, spec.timeout_s) == (3, 2, 60.0)


def test_every_problem_is_listed_with_its_path():
    found = problems(
        {
            "format": 2,
            "run_id": "../x",
            "output": {},
            "environment": {"lock": ["numpy>=1", 3]},
            "datasets": {"train": {"digest": "sha256:nothex"}},
            "nodes": 0,
            "timeout_s": "1h",
            "params": [1],
            "env": {"1BAD": "x"},
        }
    )
    text = "\n".join(found)
    for path in (
        "format:",
        "run_id:",
        "command:",
        "output.uri:",
        "environment.lock[0]:",
        "environment.lock[1]:",
        "datasets.train.digest:",
        "nodes:",
        "timeout_s:",
        "params:",
        "env.1BAD:",
        "store:",
    ):
        assert path in text, (path, text)


def test_rank_must_be_below_nodes_and_needs_the_master():
    found = problems(minimal(nodes=2, rank=2))
    assert any(p.startswith("rank:") for p in found)
    found = problems(minimal(nodes=2, rank=1))
    assert any(p.startswith("master_addr:") for p in found)
    assert parse_spec(minimal(nodes=2, rank=1, master_addr="10.0.0.1", master_port=29500))


def test_kind_must_match_the_command():
    found = problems(minimal(kind="server"), JOB)
    assert any("mlform-runtime serve" in p for p in found)
    spec = parse_spec(minimal(kind="server", store=None, model={"uri": "/m"}), SERVER)
    assert spec.kind == SERVER and spec.model is not None


def test_a_server_fetching_by_digest_needs_a_store():
    found = problems(minimal(store=None, model={"digest": D}), SERVER)
    assert any("store:" in p and "model" in p for p in found)


def test_invalid_json_names_line_and_column():
    with pytest.raises(SpecError) as e:
        parse_spec_text('{\n  "format": 1,\n  oops\n}')
    assert "line 3, column 3" in e.value.problems[0]


def test_cli_reports_an_invalid_spec_with_exit_status_2(tmp_path, runtime_env):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"format": 1, "run_id": "r"}))
    proc = cli(["run", str(path)], runtime_env)
    assert proc.returncode == EXIT_USAGE
    assert "command: is required" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_reports_a_missing_spec_file(tmp_path, runtime_env):
    proc = cli(["run", str(tmp_path / "nope.json")], runtime_env)
    assert proc.returncode == 3 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
