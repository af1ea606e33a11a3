"""The distribution installs alone into a fresh venv and runs a job there, importing nothing
but the standard library."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from runtime_helpers import RUNTIME_ROOT, read_json

CHECK = r"""
import json, sys
before = set(sys.modules)  # what the interpreter's site imported (setuptools' .pth hack)
from mlform_runtime.cli import main
rc = main(["run", sys.argv[1]])
mods = {m.split(".")[0] for m in set(sys.modules) - before}
others = sorted(mods - set(sys.stdlib_module_names) - {"mlform_runtime", "__main__"})
print(json.dumps({"rc": rc, "others": others}))
"""


def _build_wheel(dest: Path) -> Path:
    """The runtime's wheel, built with the setuptools at hand when it can build wheels (70.1 or
    later), else in an isolated build (which downloads setuptools)."""
    tail = ""
    for isolation in (["--no-build-isolation"], []):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                *isolation,
                "-w",
                str(dest),
                str(RUNTIME_ROOT),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            return next(dest.glob("mlform_runtime-*.whl"))
        tail = (proc.stdout + proc.stderr)[-500:]
    pytest.skip(
        f"cannot build the runtime's wheel here (no setuptools that builds wheels, no "
        f"index): {tail}"
    )


@pytest.mark.slow
def test_installs_alone_and_runs_a_spec(tmp_path, make_spec):
    wheel = _build_wheel(tmp_path / "wheels")
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(fresh)
    py = fresh / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    listed = subprocess.run(
        [str(py), "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    names = {d["name"] for d in json.loads(listed)}
    assert "mlform-runtime" in names and "mlform" not in names

    spec = make_spec(command="echo hi > $MLFORM_OUTPUT_DIR/m")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MLFORM_RUNTIME_CACHE": str(tmp_path / "cache"),
        "MLFORM_RUNTIME_NO_UV": "1",
    }
    proc = subprocess.run(
        [str(py), "-c", CHECK, str(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "others": []}, proc.stdout + proc.stderr
    out = Path(json.loads(spec.read_text())["output"]["uri"])
    assert read_json(out / "result.json")["state"] == "succeeded"
    # The console script is installed too.
    version = subprocess.run(
        [str(fresh / "bin" / "mlform-runtime"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("mlform-runtime ")
