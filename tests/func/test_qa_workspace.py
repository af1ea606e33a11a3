"""A new user's broken workspace selection (`.mlform/workspace` edited by hand, not UTF-8 or a
bad name) is a diagnostic, and `mlform workspace select NAME`, which the hint names, repairs it."""

from __future__ import annotations

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\n", "Cannot read the selected workspace from .mlform/workspace"),
        (b"bad name\n", "Invalid workspace name 'bad name' in .mlform/workspace"),
    ],
)
def test_a_broken_selection_is_reported_and_select_repairs_it(
    mlform, write, workdir, content, says
):
    write(CONFIG)
    (workdir / ".mlform").mkdir(exist_ok=True)
    (workdir / ".mlform" / "workspace").write_bytes(content)
    for args in (("plan",), ("workspace", "list")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert says in res.err, str(res)
        assert "internal error" not in res.all
    assert "`mlform workspace select NAME`" in res.err
    fixed = mlform.ok("workspace", "select", "default")
    assert 'Switched to workspace "default".' in fixed.out
    assert "* default" in mlform.ok("workspace", "list").out
    mlform.ok("plan")
