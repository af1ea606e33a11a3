"""A new user's mistakes with files: text that is not UTF-8 in a configuration or a variables
file is reported at the first bad byte, with a snippet, and nothing is planned."""

from __future__ import annotations

import re

BAD = b'provider "test" { store = "objects.json" }\nresource "test_object" "a" { value = "caf\xe9" }\n'


def test_non_utf8_configuration_points_at_the_bad_byte(mlform, workdir) -> None:
    (workdir / "main.mlf.hcl").write_bytes(BAD)
    for cmd in ("validate", "plan"):
        res = mlform(cmd)
        assert res.code == 1, str(res)
        assert "Error: Invalid file encoding" in res.err
        assert "on main.mlf.hcl line 2, column 42:" in res.err
        assert re.search(r"^\s+2: resource", res.err, re.M), str(res)
        assert "UTF-8 encoding is selected in your editor" in res.err
        assert "Traceback" not in res.all


def test_non_utf8_variables_file_points_at_the_bad_byte(mlform, write, workdir) -> None:
    write('variable "x" { default = "" }\n')
    (workdir / "bad.mlfvars.hcl").write_bytes(b'x = "\xff"\n')
    res = mlform("plan", "-var-file", "bad.mlfvars.hcl")
    assert res.code == 1, str(res)
    assert "on bad.mlfvars.hcl line 1, column 6:" in res.err
    assert "Traceback" not in res.all
