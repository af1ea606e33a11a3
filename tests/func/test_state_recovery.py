"""Bad state and how to recover from it, through the CLI: every state read is validated, the
recovery each message suggests works, and a state that cannot be written or trusted is found
before any provider is called."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "a" }
resource "test_object" "b" { value = "b" }
"""

MORE = (
    CONFIG
    + """
resource "test_object" "c" { value = "c" }
"""
)


def _applied(mlform, write, times: int = 1) -> None:
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    for _ in range(1, times):
        mlform.ok("taint", "test_object.a")
        mlform.ok("apply", "--auto-approve")


def test_push_refuses_the_same_address_twice(mlform, write, workdir) -> None:
    _applied(mlform, write)
    data = json.loads(mlform.ok("state", "pull").out)
    data["resources"].append(json.loads(json.dumps(data["resources"][0])))
    (workdir / "twice.json").write_text(json.dumps(data))
    for args in (["state", "push", "twice.json"], ["state", "push", "--force", "twice.json"]):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "twice.json is not a valid mlform state" in res.err
        assert "test_object.a is recorded twice" in res.err
    # A state file edited that way by hand is refused by every read, not used.
    (workdir / "mlform.state.json").write_text(json.dumps(data))
    res = mlform("destroy", "--auto-approve")
    assert res.code == 1 and "test_object.a is recorded twice" in res.err, str(res)


@pytest.mark.parametrize(
    "change, says",
    [
        ({"serial": -1}, "`serial` must be a whole number from 0 up"),
        ({"serial": "3"}, "`serial` must be a whole number from 0 up"),
        ({"lineage": ""}, "`lineage` must be a non-empty string"),
        ({"format_version": 99}, "was written by a newer mlform"),
    ],
)
def test_push_checks_format_serial_and_lineage(mlform, write, workdir, change, says) -> None:
    _applied(mlform, write)
    data = json.loads(mlform.ok("state", "pull").out)
    data.update(change)
    (workdir / "bad.json").write_text(json.dumps(data))
    res = mlform("state", "push", "--force", "bad.json")
    assert res.code == 1 and says in res.err, str(res)


def test_a_corrupt_state_is_recovered_as_its_message_says(mlform, write, workdir, store) -> None:
    _applied(mlform, write, times=2)
    (workdir / "mlform.state.json").write_text('{"format_version": 1, "serial": ')
    res = mlform("plan")
    assert res.code == 1 and "is corrupt" in res.err, str(res)
    suggested = re.search(r"`(mlform state push --force [^`]+)`", res.err)
    assert suggested, res.err
    # Without --force it stays refused; with it, the suggested recovery works.
    assert mlform("state", "push", "mlform.state.json.history/00000003.json").code == 1
    pushed = mlform.ok("state", "push", "--force", "mlform.state.json.history/00000003.json")
    assert "serial 4" in pushed.out, str(pushed)  # above every serial kept
    assert mlform("plan", "--detailed-exitcode").code == 0
    assert store.count() == 2


def test_a_state_behind_its_history_is_refused_before_any_provider_call(
    mlform, write, workdir, store, insts
) -> None:
    _applied(mlform, write, times=3)
    hist = workdir / "mlform.state.json.history"
    assert sorted(p.name for p in hist.glob("0*.json"))[-1] == "00000005.json"
    shutil.copy(hist / "00000003.json", workdir / "mlform.state.json")  # restored by hand
    write(MORE)
    before = set(store.objects())
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert "has serial 3, but its history already holds serial 5" in res.err
    assert "mlform state push --force" in res.err and "00000005.json" in res.err
    assert set(store.objects()) == before  # no provider was called
    mlform.ok("state", "push", "--force", str(hist / "00000005.json"))
    done = mlform.ok("apply", "--auto-approve")
    assert "1 added, 0 changed, 0 destroyed" in done.out
    assert len(insts()) == 3 == store.count()


def _without_root_powers(tmp: Path) -> list[str]:
    """A command prefix that runs as root without the power to ignore file permissions."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        return []
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    secret = tmp / "unreadable-probe"
    secret.write_text("x")
    secret.chmod(0)
    probe = subprocess.run([*prefix, "cat", str(secret)], capture_output=True, check=False)
    if probe.returncode == 0:
        pytest.skip("setpriv cannot drop the capability to read any file here")
    return prefix


def test_an_unreadable_state_file_is_a_diagnostic(mlform, write, workdir) -> None:
    prefix = _without_root_powers(workdir.parent)
    _applied(mlform, write)
    state = workdir / "mlform.state.json"
    state.chmod(0)
    try:
        for args in (["plan"], ["state", "list"], ["apply", "--auto-approve"]):
            proc = subprocess.run(
                [*prefix, sys.executable, "-m", "mlform.cli.main", *args],
                cwd=workdir,
                env={**os.environ, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"},
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "Cannot read the state file" in proc.stderr, proc.stderr
            assert "Permission denied" in proc.stderr
            assert "internal error" not in proc.stderr.lower()
    finally:
        state.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _immutable(path: Path, on: bool) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    done = subprocess.run(
        [chattr, "+i" if on else "-i", str(path)], capture_output=True, check=False
    )
    return done.returncode == 0


def test_a_read_only_history_folder_is_found_before_any_provider_call(
    mlform, write, workdir, store
) -> None:
    _applied(mlform, write)
    hist = workdir / "mlform.state.json.history"
    if not _immutable(hist, True):
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        write(MORE)
        res = mlform("apply", "--auto-approve")
        assert res.code == 1, str(res)
        assert f"Cannot write to the history folder {hist.name}" in res.err or (
            f"Cannot write to the history folder {hist}" in res.err
        ), res.err
        assert "no provider was called" in res.err
        assert "internal error" not in res.all.lower()
        assert store.count() == 2  # test_object.c was not created
        assert not (workdir / "mlform.state.json.lock.info").exists()
    finally:
        _immutable(hist, False)
    done = mlform.ok("apply", "--auto-approve")
    assert "1 added" in done.out and store.count() == 3


def test_a_saved_plan_is_readable_by_its_owner_only(mlform, write, workdir) -> None:
    write(
        CONFIG
        + """
variable "secret" {
  default   = "hunter2"
  sensitive = true
}
resource "test_object" "s" { value = var.secret }
"""
    )
    old = os.umask(0o022)
    try:
        mlform.ok("plan", "--out", "tf.plan")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(workdir / "tf.plan").st_mode) == 0o600
    assert [p.name for p in workdir.iterdir() if p.name.endswith(".tmp")] == []


def test_the_lock_timeout_default_is_the_same_in_code_help_and_docs(mlform) -> None:
    import inspect

    from mlform.state.edit import commit_edit, push
    from mlform.state.session import StateSession

    docs = Path(__file__).resolve().parents[2] / "docs"
    for fn in (StateSession.open, commit_edit, push):
        assert inspect.signature(fn).parameters["lock_timeout"].default == 0.0
    for args in (["apply", "--help"], ["plan", "--help"], ["state", "rm", "--help"]):
        out = mlform.ok(*args).out
        assert re.search(r"--lock-timeout[\s\S]*?\[default: 0s\]", out), out
    for name in ("state.md", "guide.md", "commands.md"):
        text = (docs / name).read_text()
        defaults = re.findall(r"--lock-timeout`[^.]*?\(default\s+`([^`]+)`", text)
        assert defaults and set(defaults) == {"0s"}, (name, defaults)
