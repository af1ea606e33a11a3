"""A state file edited badly by hand is refused with a diagnostic naming what is wrong, and
left as it was; it never becomes an internal error or a plan that forgets recorded objects."""

from __future__ import annotations

import json

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""


def _instance(doc):
    return doc["resources"][0]["instances"][0]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: _instance(d).update(attributes="oops"), "`attributes` must be an object"),
        (
            lambda d: _instance(d).update(status="weird"),
            "`status` must be 'ready', 'tainted' or 'pending'",
        ),
        (lambda d: d["resources"][0].update(instances={}), "`instances` is a list"),
        (lambda d: d.update(resources={}), "`resources` must be a list"),
        (lambda d: d.update(outputs=[]), "`outputs` must be an object"),
    ],
)
def test_a_badly_edited_state_is_refused_and_kept(mlform, write, workdir, store, edit, says):
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    path = workdir / "mlform.state.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    before = path.read_bytes()
    for args in (("plan",), ("apply", "--auto-approve"), ("state", "list")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "is not a valid mlform state" in res.err, str(res)
        assert says in res.err, str(res)
        assert "Internal error" not in res.all and "Traceback" not in res.all
    assert path.read_bytes() == before
    assert store.count() == 1


def test_state_push_of_a_missing_file_reads_plainly(mlform, write, workdir) -> None:
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    before = (workdir / "mlform.state.json").read_bytes()
    res = mlform("state", "push", "nope.json")
    assert res.code == 1, str(res)
    assert "Error: Cannot read nope.json" in res.err
    assert "No such file or directory. Give the path of a state file" in res.err
    assert "[Errno" not in res.err
    assert (workdir / "mlform.state.json").read_bytes() == before


def test_a_deleted_state_file_with_its_history_kept_is_refused(mlform, write, workdir, store):
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    (workdir / "mlform.state.json").unlink()
    for args in (("plan",), ("apply", "--auto-approve"), ("state", "list")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "The state file mlform.state.json is missing, but its history holds serials" in (
            res.err
        )
        assert "cp mlform.state.json.history/00000001.json mlform.state.json" in res.err
    assert store.count() == 1  # nothing was created a second time
    (workdir / "mlform.state.json").write_bytes(
        (workdir / "mlform.state.json.history" / "00000001.json").read_bytes()
    )
    assert "No changes." in mlform.ok("plan").out
