"""A new user's mistakes in module sources: validate and plan say what is wrong with the
source itself, instead of sending the user to `mlform init`, which cannot fetch it either."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("source", ["https://example.com/x.zip", "hashicorp/consul/aws", ""])
def test_a_source_init_cannot_fetch_is_named_as_such(mlform, write, source) -> None:
    write(f'module "m" {{\n  source = "{source}"\n}}\n')
    for cmd in ("validate", "plan"):
        res = mlform(cmd)
        assert res.code == 1, str(res)
        assert "Error: Unsupported module source" in res.err, str(res)
        assert "on main.mlf.hcl line 2, column 12:" in res.err
        assert "is not a module source mlform can fetch" in res.err
        assert "Run `mlform init`" not in res.err


def test_a_module_source_that_is_a_file(mlform, write, workdir) -> None:
    (workdir / "file.txt").write_text("hi\n")
    write('module "m" {\n  source = "./file.txt"\n}\n')
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert 'The module folder "./file.txt" is a file, not a folder' in res.err


def test_a_git_source_not_yet_fetched_sends_the_user_to_init(mlform, write) -> None:
    write('module "m" {\n  source = "github.com/org/repo?ref=v1"\n}\n')
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert "Run `mlform init` to fetch it." in res.err
