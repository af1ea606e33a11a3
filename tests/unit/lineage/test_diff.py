from __future__ import annotations

import pytest
from lineage_states import D1, D2, M1, M2, make_state

from mlform.lineage.diff import diff_states, package_changes, render_text, to_json


def test_package_changes_sorts_added_removed_upgraded_downgraded() -> None:
    a = {"numpy": "1.26.4", "scipy": "1.13.0", "torch": "2.3.0", "six": "1.16.0"}
    b = {"numpy": "2.0.0", "scipy": "1.9.0", "torch": "2.3.0", "rich": "13.7.1"}
    assert package_changes(a, b) == {
        "added": [{"name": "rich", "version": "13.7.1"}],
        "removed": [{"name": "six", "version": "1.16.0"}],
        "upgraded": [{"name": "numpy", "from": "1.26.4", "to": "2.0.0"}],
        "downgraded": [{"name": "scipy", "from": "1.13.0", "to": "1.9.0"}],
    }
    # 1.10 is newer than 1.9: versions compare as versions, not as text
    assert package_changes({"x": "1.9"}, {"x": "1.10"}) == {
        "upgraded": [{"name": "x", "from": "1.9", "to": "1.10"}]
    }
    assert package_changes({}, {}) == {}


def test_job_inputs_and_outputs_with_deltas() -> None:
    a = make_state(1, digest=D1, model=M1, params={"c": 1}, metrics={"accuracy": 0.9})
    b = make_state(
        3,
        digest=D2,
        model=M2,
        params={"c": 0.1},
        metrics={"accuracy": 0.95},
        lock={"numpy": "2.1.0", "scikit-learn": "1.5.2", "rich": "13.0"},
        driver="550.54",
    )
    (job,) = diff_states(a, b, "training_job.digits")
    assert job.status == "changed"
    changes = {c.path: c for c in job.inputs + job.outputs}
    assert (changes["datasets.digits"].before, changes["datasets.digits"].after) == (D1, D2)
    assert changes["params.c"].after == 0.1
    assert changes["hardware.driver_version"].after == "550.54"
    assert changes["metrics.accuracy"].delta == pytest.approx(0.05)
    assert changes["model_digest"].after == M2
    assert "seed" not in changes and "command" not in changes
    assert job.packages == {
        "added": [{"name": "rich", "version": "13.0"}],
        "upgraded": [{"name": "numpy", "from": "2.0.0", "to": "2.1.0"}],
    }
    text = render_text(1, 3, [job])
    assert f"datasets.digits: {D1} → {D2}" in text
    assert "metrics.accuracy: 0.9 → 0.95 (+0.05)" in text
    assert "package upgraded: numpy 2.0.0 → 2.1.0" in text
    assert "package added: rich 13.0" in text
    assert to_json(1, 3, [job])["instances"][0]["packages"] == job.packages


def test_equal_serials_and_added_instances() -> None:
    a = make_state(1)
    assert all(d.status == "unchanged" for d in diff_states(a, make_state(2)))
    assert "No differences." in render_text(1, 2, diff_states(a, make_state(2)))
    b = make_state(2)
    b.resources = [r for r in b.resources if r.type != "deployment"]
    b.reindex()
    dep = [d for d in diff_states(a, b) if d.address == "deployment.api"]
    assert [d.status for d in dep] == ["removed"]
    assert [d.status for d in diff_states(b, a) if d.address == "deployment.api"] == ["added"]
