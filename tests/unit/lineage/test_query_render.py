from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lineage_states import CODE, D1, D2, M1, M2, make_state

from mlform.lineage.query import LineageError, downstream, upstream
from mlform.lineage.render import render
from mlform.state.model import State

GOLDEN = Path(__file__).parent / "golden"


def test_upstream_of_a_deployment_reaches_job_data_environment_and_code(serial1: State) -> None:
    g = upstream(serial1, "deployment.api")
    assert g.root == "deployment.api"
    assert set(g.nodes) == {
        "deployment.api",
        "training_job.digits",
        "dataset.digits",
        "environment.sk",
        "cluster.box",
        f"code:{CODE}",
    }
    assert ("deployment.api", "training_job.digits") in g.edges
    assert ("training_job.digits", "dataset.digits") in g.edges
    assert ("training_job.digits", f"code:{CODE}") in g.edges
    assert g.nodes["dataset.digits"].details["digest"] == D1


def test_unknown_address_names_what_the_serial_records(serial1: State) -> None:
    with pytest.raises(LineageError) as e:
        upstream(serial1, "deployment.nope")
    assert e.value.summary == "deployment.nope is not in serial 1"
    assert "training_job.digits" in e.value.detail


def test_downstream_follows_every_version_across_serials() -> None:
    states = [
        make_state(1, digest=D1, model=M1),
        make_state(2, digest=D2, model=M2, run_id="run-2"),
    ]
    g = downstream(states, "dataset.digits", latest_serial=2)
    # Version D2 was read by run-2 only, whose model only the serial-2 deployment served.
    assert g.children(f"dataset.digits#{D2}") == ["training_job.digits#run-2"]
    (served,) = g.children("training_job.digits#run-2")
    assert g.nodes[served].details["model_digest"] == M2
    assert "← in the latest serial" in render(g, "tree")
    deployments = [n for n in g.nodes.values() if n.kind == "deployment"]
    assert sorted(n.details["model_digest"] for n in deployments) == [M1, M2]
    serving = [n.details["model_digest"] for n in deployments if n.details["in_latest_serial"]]
    assert serving == [M2]
    assert g.nodes[g.root].details["versions"] == [D1, D2]
    with pytest.raises(LineageError):
        downstream(states, "dataset.other")


@pytest.mark.parametrize("fmt", ["tree", "dot", "mermaid"])
def test_rendered_views_match_golden_files(serial1: State, fmt: str) -> None:
    out = render(upstream(serial1, "deployment.api"), fmt)
    golden = GOLDEN / f"upstream.{fmt}"
    assert out == golden.read_text()


def test_json_and_html_hold_every_node(serial1: State) -> None:
    g = upstream(serial1, "deployment.api")
    data = json.loads(render(g, "json"))
    assert {n["key"] for n in data["nodes"]} == set(g.nodes)
    page = render(g, "html")
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert sorted(re.findall(r'data-address="([^"]+)"', svg)) == sorted(
        n.addr for n in g.nodes.values()
    )
    assert "<script" not in page and "<link" not in page
    # Every value is escaped: an address or detail cannot inject markup.
    g.nodes["dataset.digits"].details["source"] = "<b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in render(g, "html")
