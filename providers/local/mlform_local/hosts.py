"""Facts about this host: CPUs, memory and the NVIDIA GPUs `nvidia-smi` reports.

No GPU (no `nvidia-smi`, or one that finds no device) is a normal answer: `gpus` is empty. The
GPU list comes from `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`; the CUDA version
(the highest the driver supports) from the banner of plain `nvidia-smi`, which is the only place
it is printed (as "CUDA Version: 12.4", or "CUDA UMD Version: 13.3" from driver 610 on).

Facts are read once per process (`host_facts()`); `host_facts(refresh=True)` reads them again.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field

QUERY_FIELDS = "index,name,memory.total,driver_version"
NVIDIA_SMI_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Gpu:
    """One GPU as nvidia-smi reports it."""

    index: int
    name: str
    memory_mb: int | None
    driver_version: str | None


@dataclass(frozen=True)
class HostFacts:
    """What this host offers. `gpu_error` says why GPUs could not be listed although
    `nvidia-smi` exists (a driver problem), else None."""

    hostname: str
    cpu_count: int
    memory_mb: int
    gpus: tuple[Gpu, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None
    gpu_error: str | None = None
    nvidia_smi: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        """One line for messages: "16 CPUs, 62.8 GiB memory, 2 × NVIDIA A10G (22731 MiB)"."""
        parts = [f"{self.cpu_count} CPUs", f"{self.memory_mb / 1024:.1f} GiB memory"]
        if not self.gpus:
            why = f" ({self.gpu_error})" if self.gpu_error else ""
            parts.append(f"no NVIDIA GPU{why}")
        else:
            by_model: dict[str, list[Gpu]] = {}
            for g in self.gpus:
                by_model.setdefault(g.name, []).append(g)
            for name, gs in by_model.items():
                mem = f" ({gs[0].memory_mb} MiB)" if gs[0].memory_mb else ""
                parts.append(f"{len(gs)} × {name}{mem}")
        return ", ".join(parts)


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    try:
        return int(float(text))
    except ValueError:
        return None  # "[N/A]" on unified-memory parts


def parse_gpu_query(text: str) -> list[Gpu]:
    """Rows of `nvidia-smi --query-gpu=index,name,memory.total,driver_version
    --format=csv,noheader,nounits`; lines that do not parse are skipped."""
    gpus: list[Gpu] = []
    for line in text.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 3 or not cols[0].isdigit():
            continue
        driver = cols[3] if len(cols) > 3 and cols[3] and not cols[3].startswith("[") else None
        gpus.append(Gpu(int(cols[0]), cols[1], _int_or_none(cols[2]), driver))
    return gpus


_CUDA_RE = re.compile(r"CUDA(?: UMD)? Version:\s*([0-9][0-9.]*)")
_DRIVER_RE = re.compile(r"(?:Driver|KMD) Version:\s*([0-9][0-9.]*)")


def parse_banner(text: str) -> tuple[str | None, str | None]:
    """(driver version, CUDA version) from the banner of plain `nvidia-smi` output."""
    cuda = _CUDA_RE.search(text)
    driver = _DRIVER_RE.search(text)
    return (driver.group(1) if driver else None, cuda.group(1) if cuda else None)


def find_nvidia_smi() -> str | None:
    return shutil.which("nvidia-smi")


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, str(e)
    return proc.returncode, proc.stdout + ("\n" + proc.stderr if proc.returncode else "")


def query_gpus(
    nvidia_smi: str | None = None,
) -> tuple[list[Gpu], str | None, str | None, str | None]:
    """(gpus, driver version, CUDA version, error) from nvidia-smi; no nvidia-smi on PATH gives
    ([], None, None, None)."""
    exe = nvidia_smi or find_nvidia_smi()
    if exe is None:
        return [], None, None, None
    rc, out = _run([exe, f"--query-gpu={QUERY_FIELDS}", "--format=csv,noheader,nounits"])
    if rc != 0:
        first = next((ln.strip() for ln in out.splitlines() if ln.strip()), f"exit status {rc}")
        return [], None, None, f"nvidia-smi failed: {first}"
    gpus = parse_gpu_query(out)
    if not gpus:
        return [], None, None, None
    rc, banner = _run([exe])
    driver, cuda = parse_banner(banner) if rc == 0 else (None, None)
    driver = driver or gpus[0].driver_version
    return gpus, driver, cuda, None


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cgroup_memory_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


def memory_mb() -> int:
    """Physical memory in MiB, or the container's memory limit when lower."""
    total: int | None = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
                        break
        except OSError:
            total = None
    limit = _cgroup_memory_limit()
    if total is None:
        total = limit or 0
    elif limit is not None and limit < total:
        total = limit
    return total // (1024 * 1024)


_cache: dict[str | None, HostFacts] = {}
_cache_lock = threading.Lock()


def read_host_facts(nvidia_smi: str | None = None) -> HostFacts:
    """Read the facts now (nothing cached)."""
    exe = nvidia_smi or find_nvidia_smi()
    gpus, driver, cuda, error = query_gpus(exe)
    return HostFacts(
        hostname=socket.gethostname(),
        cpu_count=cpu_count(),
        memory_mb=memory_mb(),
        gpus=tuple(gpus),
        driver_version=driver,
        cuda_version=cuda,
        gpu_error=error,
        nvidia_smi=exe,
    )


def host_facts(refresh: bool = False) -> HostFacts:
    """This host's facts, read once per process and `nvidia-smi` found on PATH (it takes a
    while to answer) unless `refresh`."""
    exe = find_nvidia_smi()
    with _cache_lock:
        facts = _cache.get(exe)
        if facts is None or refresh:
            facts = _cache[exe] = read_host_facts(exe)
        return facts
