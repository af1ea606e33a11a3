"""Shared by the dataset, environment and cluster tests: a Context with real folders, a local
provider, and a way to put a recorded `nvidia-smi` first on PATH."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mlform_local.provider import LocalConfig, LocalProvider

from mlform.sdk import Context

DATA = Path(__file__).parent / "data"
NVIDIA_SMI_CASES = DATA / "nvidia-smi"


@dataclass
class Recorder:
    """Collects what a kind reports through the context."""

    logs: list[str] = field(default_factory=list)
    progress: list[tuple[float, float | None, str]] = field(default_factory=list)


def make_ctx(
    tmp_path: Path, module_dir: Path | None = None, address: str = "x.y"
) -> tuple[Context, Recorder]:
    rec = Recorder()
    module_dir = module_dir or tmp_path / "module"
    module_dir.mkdir(parents=True, exist_ok=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    ctx = Context(
        address=address,
        module_dir=module_dir,
        data_dir=tmp_path / ".mlform",
        scratch_dir=scratch,
        on_progress=lambda d, t, m: rec.progress.append((d, t, m)),
        on_log=rec.logs.append,
    )
    return ctx, rec


def make_provider(ctx: Context, data_dir: str | None = None) -> LocalProvider:
    p = LocalProvider()
    p.configure(LocalConfig(data_dir=data_dir), ctx)
    return p


def install_fake_nvidia_smi(bin_dir: Path, case: str) -> Path:
    """A real `nvidia-smi` executable in `bin_dir` that prints the recorded outputs of `case`
    (query CSV for --query-gpu, the banner otherwise) and exits as the recorded host did."""
    src = NVIDIA_SMI_CASES / case
    code_file = src / "exit_code"
    code = code_file.read_text().strip() if code_file.exists() else "0"
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  *--query-gpu*) cat "{src / "query.csv"}" ;;\n'
        f'  *) cat "{src / "banner.txt"}" ;;\n'
        "esac\n"
        f"exit {code}\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def path_without_nvidia_smi() -> str:
    """PATH with every folder that holds an nvidia-smi left out."""
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "nvidia-smi").exists()
    ]
    return os.pathsep.join(keep)
