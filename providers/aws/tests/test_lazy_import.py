"""boto3 is imported only when AWS is used: not by `mlform version`, nor by a plan of a
configuration without AWS, even with this package installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

RUN = textwrap.dedent(
    """
    import sys
    from mlform.cli.main import main
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
    loaded = sorted(m for m in ("boto3", "botocore", "moto") if m in sys.modules)
    print("LOADED", loaded, file=sys.stderr)
    """
)


def loaded(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"},
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("LOADED")]
    assert line, proc.stdout + proc.stderr
    return line[-1]


def test_version_and_a_local_plan_import_no_boto3(tmp_path: Path) -> None:
    assert loaded(["version"], tmp_path) == "LOADED []"
    (tmp_path / "main.mlf.hcl").write_text('resource "test_object" "a" { value = "x" }\n')
    assert loaded(["plan"], tmp_path) == "LOADED []"
    assert loaded(["providers"], tmp_path) == "LOADED []"
