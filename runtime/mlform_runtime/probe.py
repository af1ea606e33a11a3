"""The lineage facts of the worker a job runs on, read there: run by the job's own interpreter,
in the job's environment and variables (`python -c <this file's source>`), it prints one JSON
object

    {"host": {hostname, os, machine, python, cpu_model, cpu_count},
     "hardware": {gpu_model, gpu_count, driver_version, cuda_version,
                  cudnn_version, torch_cuda_version, torch_version},
     "packages": {distribution name: version, ...}}

GPU facts come from the `nvidia-smi` on the job's PATH, limited to the GPUs the job sees
(CUDA_VISIBLE_DEVICES, when it lists indices); cuDNN and torch's CUDA from the job's torch, when
the environment has one. GPU fields are always present, empty (null, 0) without a GPU.
`packages` are the distributions installed where the job's Python imports from.

A copy of mlform's `mlform/lineage/probe.py` (the runtime depends on nothing but the standard
library), with `packages` added; keep the two in step. Plain enough for any Python 3 a job uses.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys

GPU_FIELDS = (
    "gpu_model",
    "gpu_count",
    "driver_version",
    "cuda_version",
    "cudnn_version",
    "torch_cuda_version",
)
HOST_FIELDS = ("hostname", "os", "machine", "python", "cpu_model", "cpu_count")


def _run(cmd: list, timeout: float = 20.0):  # type: ignore[type-arg]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def host_facts() -> dict:  # type: ignore[type-arg]
    """This machine: name, OS, machine, this interpreter's Python, CPU model and count."""
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
    }


def _visible(indices: list, visible: str | None) -> list:  # type: ignore[type-arg]
    """The positions in `indices` (nvidia-smi's GPU indices) a job with CUDA_VISIBLE_DEVICES =
    `visible` sees: all when unset or not a list of indices (UUIDs), none when empty."""
    if visible is None:
        return list(range(len(indices)))
    tokens = [t.strip() for t in visible.split(",") if t.strip()]
    if not tokens:
        return []
    if not all(t.isdigit() for t in tokens):
        return list(range(len(indices)))
    wanted = {int(t) for t in tokens}
    return [i for i, idx in enumerate(indices) if idx in wanted]


def parse_nvidia_smi(query: str, banner: str, visible: str | None = None) -> dict:  # type: ignore[type-arg]
    """GPU facts from `nvidia-smi --query-gpu=index,name,memory.total,driver_version
    --format=csv,noheader,nounits` (or `name,driver_version`) and the banner of plain `nvidia-smi` (the only place the CUDA
    version is printed), limited to the GPUs CUDA_VISIBLE_DEVICES = `visible` shows."""
    rows = []
    for line in query.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) >= 4 and cols[0].isdigit():
            rows.append((int(cols[0]), cols[1], cols[3]))
        elif len(cols) >= 2 and cols[0]:
            rows.append((len(rows), cols[0], cols[1]))
    rows = [rows[i] for i in _visible([r[0] for r in rows], visible)]
    cuda = None
    for token in ("CUDA Version:", "CUDA UMD Version:"):
        if token in banner:
            cuda = banner.split(token, 1)[1].split()[0].strip("|") or None
            break
    return {
        "gpu_model": rows[0][1] if rows else None,
        "gpu_count": len(rows),
        "driver_version": rows[0][2] if rows else None,
        "cuda_version": cuda if rows else None,
    }


def gpu_facts(visible: str | None = None) -> dict:  # type: ignore[type-arg]
    """GPU model and count, driver and CUDA version from the `nvidia-smi` on PATH; empty (None,
    0) without one."""
    empty = {"gpu_model": None, "gpu_count": 0, "driver_version": None, "cuda_version": None}
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return empty
    query = _run(
        [smi, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"]
    )
    if query is None:
        return empty
    return parse_nvidia_smi(query, _run([smi]) or "", visible)


def torch_facts() -> dict | None:  # type: ignore[type-arg]
    """torch's version and the CUDA and cuDNN it was built with; None without torch (torch is
    imported only when it is installed: importing it takes a while)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - a broken torch is no torch
        return None
    c = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": str(c) if c else None}


def installed_packages() -> dict:  # type: ignore[type-arg]
    """{name: version} of the distributions this interpreter imports from (names lower-cased)."""
    try:
        from importlib import metadata
    except ImportError:  # Python before 3.8
        return {}
    out = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:  # noqa: BLE001 - a broken distribution is left out
            continue
        if name:
            out.setdefault(str(name).lower(), dist.version)
    return dict(sorted(out.items()))


def worker_facts() -> dict:  # type: ignore[type-arg]
    hw = gpu_facts(os.environ.get("CUDA_VISIBLE_DEVICES"))
    torch = torch_facts()
    hw["cudnn_version"] = torch.get("cudnn") if torch else None
    hw["torch_cuda_version"] = torch.get("cuda") if torch else None
    if torch:
        hw["torch_version"] = torch.get("torch")
    return {"host": host_facts(), "hardware": hw, "packages": installed_packages()}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(worker_facts()) + "\n")
