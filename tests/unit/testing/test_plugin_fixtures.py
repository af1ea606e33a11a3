"""The pytest plugin's fixtures, used as a provider's or the engine's tests would."""

from __future__ import annotations

import json
from pathlib import Path

from mlform import __version__
from mlform.testing.conformance import make_context
from mlform.testing.plugin import CliResult, Workdir
from mlform.testing.provider import ObjectStore, TestProvider, load_objects


def test_workdir_writes_configuration(workdir: Workdir) -> None:
    path = workdir.write(
        "main",
        """
        resource "test_object" "a" {
          value = 1
        }
        """,
    )
    assert path == workdir.path / "main.mlf.hcl"
    assert path.read_text().startswith('resource "test_object" "a" {\n  value = 1')
    workdir.write("sub/vars.json", "{}")
    assert (workdir / "sub" / "vars.json").exists()
    workdir.remove("main")
    assert not path.exists()


def test_workdir_store_helpers(workdir: Workdir) -> None:
    p = TestProvider()
    ctx = make_context(workdir.path)
    p.configure(TestProvider.config(), ctx)
    k = p.kind("test_object")
    s = k.create(k.plan(None, {"value": "v"}, ctx), ctx)  # no close: a journal remains
    assert list(workdir.objects()) == [s.id]
    workdir.edit_object(s.id, value="by hand")
    assert k.read(s, ctx).args["value"] == "by hand"
    workdir.delete_object(s.id)
    assert k.read(s, ctx) is None
    assert workdir.objects() == {}


def test_test_store_is_fresh(test_store: Path) -> None:
    assert not test_store.exists()
    st = ObjectStore(test_store)
    st.create({"value": 1}, "t")
    st.compact()
    assert len(json.loads(test_store.read_text())["objects"]) == 1
    assert len(load_objects(test_store)) == 1


def test_cli_in_process_and_as_subprocess(mlform_cli, workdir: Workdir) -> None:
    here = Path.cwd()
    inproc = mlform_cli("version")
    assert isinstance(inproc, CliResult)
    assert inproc.exit_code == 0, inproc
    assert __version__ in inproc.stdout
    assert Path.cwd() == here  # -C did not leak into the test process
    sub = mlform_cli("version", subprocess=True)
    assert sub.exit_code == 0 and __version__ in sub.stdout
    bad = mlform_cli("no-such-command")
    assert bad.exit_code == 1 and "no-such-command" in bad.stderr
