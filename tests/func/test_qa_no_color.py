"""`--no-color` works on every command, as Terraform's `-no-color` does, so that a script can
pass it to any of them; on a terminal it really turns color off."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""

COMMANDS = [
    ("fmt", "--check"),
    ("console",),
    ("import", "test_object.a", "nope"),
    ("graph",),
    ("taint", "test_object.zz"),
    ("untaint", "test_object.zz"),
    ("state", "list"),
    ("state", "show", "test_object.zz"),
    ("history",),
    ("workspace", "list"),
    ("workspace", "show"),
    ("providers",),
    ("providers", "schema", "--json"),
    ("force-unlock", "-force", "nope"),
    ("logs", "test_object.zz"),
    ("lineage", "test_object.zz"),
    ("output",),
    ("show",),
    ("validate",),
    ("init",),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_accepts_no_color(mlform, write, args) -> None:
    write(CONFIG)
    for flag in ("--no-color", "-no-color"):
        res = mlform(*args, flag)
        assert res.code in (0, 1), str(res)
        assert "No such option" not in res.err, str(res)


def _on_a_terminal(workdir, *args: str) -> bytes:
    """What `mlform ARGS` prints when stdout and stderr are a terminal, NO_COLOR unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFORM_", "NO_COLOR"))}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(leader)
    return out


def test_no_color_on_a_terminal_turns_color_off(workdir, write) -> None:
    write(CONFIG)
    colored = _on_a_terminal(workdir, "taint", "test_object.zz")
    assert b"\x1b[" in colored, colored  # the check below means something
    plain = _on_a_terminal(workdir, "taint", "test_object.zz", "--no-color")
    assert b"Error:" in plain and b"\x1b[" not in plain, plain
