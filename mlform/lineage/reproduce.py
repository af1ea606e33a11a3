"""Re-run a recorded training job with exactly its recorded inputs, and compare.

The run happens in a scratch folder (`<data dir>/reproduce/<run>`) that is its own provider data
dir, so neither the state nor the working directory's store changes: the dataset snapshots are
stored again there from the artifact store of the provider that made them (and must come out with
their recorded digests), the environment is rebuilt from the recorded lock (every distribution
pinned to its recorded version), the code comes from its stored snapshot (or `git archive` of its
recorded commit), and the job runs with the same params, seed and command. All of it goes through
the provider contract: the recorded inputs are read through `Provider.artifacts` (opened with the
identity the state recorded, so the store is the one the job used, on whichever provider), and the
provider's own `dataset`, `environment` and `training_job` kinds do the work, as in an apply.

Before anything runs, every input is checked: one that is gone (a snapshot garbage-collected, a
commit no longer in the repository, a record without a lock) is named and nothing runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.lineage.capture import gpu_facts, host_facts
from mlform.lineage.diff import Change, _compare
from mlform.lineage.query import instances, matches, upstream

if TYPE_CHECKING:
    from mlform.sdk.contract import ArtifactStore
    from mlform.state.model import State

__all__ = ["ReproduceError", "Recorded", "Outcome", "recorded_job", "check_inputs", "reproduce"]

LogFn = Callable[[str], None]


class ReproduceError(Exception):
    def __init__(self, summary: str, detail: str = ""):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


@dataclass
class Recorded:
    """A training job as one serial recorded it: what reproduce needs to run it again."""

    address: str
    serial: int
    provider: str
    attrs: dict[str, Any]
    lineage: dict[str, Any]
    lock: dict[str, str] | None
    # The working directory's data folder: reproduce's scratch runs go under it.
    data_dir: Path
    # The identity of the provider configuration that made the job (`Provider.identity()`).
    identity: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    _store: Any = field(default=None, repr=False)

    def artifacts(self) -> ArtifactStore | None:
        """The artifact store the job's inputs were kept in (None: its provider keeps none)."""
        if self._store is None:
            from mlform.lineage.gc import open_store

            workdir = self.workdir or self.data_dir.parent
            self._store = open_store(self.provider, self.identity, self.data_dir, workdir) or False
        return self._store or None

    @property
    def datasets(self) -> dict[str, str]:
        recorded = self.lineage.get("datasets") or self.attrs.get("datasets") or {}
        return {n: str(v.get("id") if isinstance(v, dict) else v) for n, v in recorded.items()}

    @property
    def code(self) -> dict[str, Any] | None:
        code = self.lineage.get("code")
        return code if isinstance(code, dict) and code.get("digest") else None

    @property
    def environment(self) -> dict[str, Any]:
        return dict(self.lineage.get("environment") or {})


@dataclass
class Outcome:
    """What the new run produced and how it compares with the record."""

    recorded: Recorded
    model_digest: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metric_changes: list[Change] = field(default_factory=list)
    host_differences: list[Change] = field(default_factory=list)
    lock_differences: list[Change] = field(default_factory=list)
    scratch: Path | None = None

    @property
    def match(self) -> bool:
        return self.model_digest == self.recorded.attrs.get("model_digest") and not (
            self.metric_changes
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.recorded.address,
            "serial": self.recorded.serial,
            "match": self.match,
            "recorded_model_digest": self.recorded.attrs.get("model_digest"),
            "model_digest": self.model_digest,
            "recorded_metrics": self.recorded.attrs.get("metrics") or {},
            "metrics": self.metrics,
            "metric_changes": [c.to_json() for c in self.metric_changes],
            "host_differences": [c.to_json() for c in self.host_differences],
            "lock_differences": [c.to_json() for c in self.lock_differences],
            "scratch": str(self.scratch) if self.scratch else None,
        }


# -- finding the record -------------------------------------------------------------------------


def _lock_in(state: State, env_id: str | None) -> dict[str, str] | None:
    for _a, _r, res, inst in instances(state):
        if res.type == "environment" and inst.id == env_id:
            lock = (inst.attributes or {}).get("lock")
            if isinstance(lock, dict):
                return dict(lock)
    return None


def recorded_job(
    state: State, address: str, default_data_dir: Path, workdir: Path | None = None
) -> Recorded:
    """The training job at `address` in `state`; a deployment or another consumer of one job is
    followed to the job that produced what it uses."""
    found = [(a, res, inst) for a, ra, res, inst in instances(state) if matches(address, a, ra)]
    if not found:
        raise ReproduceError(
            f"{address} is not in serial {state.serial}",
            "Check the address and serial with `mlform history`.",
        )
    addr, res, inst = found[0]
    if res.type != "training_job":
        g = upstream(state, addr)
        jobs = [n.addr for n in g.nodes.values() if n.kind == "training_job"]
        if len(jobs) != 1:
            what = "no training job" if not jobs else f"{len(jobs)} training jobs"
            raise ReproduceError(
                f"{addr} is a {res.type}, not a training job",
                f"Its lineage holds {what}; reproduce re-runs one training job: name it.",
            )
        return recorded_job(state, jobs[0], default_data_dir, workdir)
    lineage = dict(inst.lineage or {})
    attrs = dict(inst.attributes or {})
    if attrs.get("status") not in (None, "succeeded"):
        raise ReproduceError(
            f"{addr} did not succeed in serial {state.serial} (status {attrs.get('status')})",
            "Only a run that produced a model can be compared with a new one.",
        )
    env = lineage.get("environment") or {}
    lock = env.get("packages") if isinstance(env.get("packages"), dict) else None
    if lock is None:
        lock = _lock_in(state, env.get("id") or attrs.get("environment"))
    m = re.match(r'provider\["([^"]+)"\]', res.provider or "")
    rec = Recorded(
        address=addr,
        serial=state.serial,
        provider=m.group(1) if m else "local",
        attrs=attrs,
        lineage=lineage,
        lock=lock,
        data_dir=default_data_dir,
        identity=dict(inst.provider_identity or {}),
        workdir=workdir,
    )
    env_id = env.get("id") or attrs.get("environment")
    if lock is None and env_id:
        # Older records: the built environment, where its store keeps it, still has the lock.
        try:
            store = rec.artifacts()
        except Exception:  # noqa: BLE001 - then the check of the inputs names what is missing
            store = None
        if store is not None:
            rec.lock = store.environment_lock(str(env_id))
    return rec


# -- checking the inputs ------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _commit_available(code: dict[str, Any]) -> bool:
    commit, path = code.get("git_commit"), code.get("path")
    if not commit or not path or not Path(path).exists():
        return False
    out = _git(Path(path), "cat-file", "-e", f"{commit}^{{commit}}")
    return out is not None and out.returncode == 0


def check_inputs(rec: Recorded) -> list[str]:
    """Every recorded input that can no longer be had, in words; empty when all are there."""
    try:
        store = rec.artifacts()
    except Exception as e:  # noqa: BLE001 - a provider that cannot be asked is an input missing
        return [f'provider "{rec.provider}": its artifact store cannot be opened: {e}']
    if store is None:
        return [f'provider "{rec.provider}" keeps no artifact store to reproduce from']
    where = store.describe()
    missing = []
    for name, ds in rec.datasets.items():
        if not store.exists(ds):
            missing.append(
                f'dataset "{name}" {ds}: its snapshot is not in {where}; it was removed '
                "(mlform gc?) or never stored there"
            )
    code = rec.code
    if code is not None:
        if not store.exists(code["digest"]) and not (
            code.get("git_dirty_digest") is None and _commit_available(code)
        ):
            why = f"commit {code['git_commit']} is not in the repository at {code.get('path')}"
            if not code.get("git_commit"):
                why = "no git commit was recorded"
            elif code.get("git_dirty_digest"):
                why = "the tree had uncommitted changes, so its commit alone is not the code"
            missing.append(f"code {code['digest']}: its snapshot is not in {where} and {why}")
    env_id = rec.environment.get("id") or rec.attrs.get("environment")
    if env_id and rec.lock is None:
        missing.append(f"environment {env_id}: the record holds no package lock to rebuild it from")
    return missing


# -- running ------------------------------------------------------------------------------------


def _code_dir(rec: Recorded, dest: Path) -> Path | None:
    code = rec.code
    if code is None:
        return None
    store = rec.artifacts()
    if store is not None and store.exists(code["digest"]):
        return store.get_tree(code["digest"], dest)
    # From the commit: the folder's files as committed.
    path = Path(code["path"])
    top = _git(path, "rev-parse", "--show-toplevel")
    assert top is not None and top.returncode == 0
    root = Path(top.stdout.decode().strip()).resolve()
    rel = path.resolve().relative_to(root)
    # Paths given to git archive are relative to where it runs: run it at the top.
    arch = _git(root, "archive", "--format=tar", code["git_commit"], "--", str(rel))
    if arch is None or arch.returncode != 0:
        err = arch.stderr.decode(errors="replace").strip() if arch is not None else ""
        raise ReproduceError(f"git archive of commit {code['git_commit']} failed", err)
    dest.mkdir(parents=True)
    with tempfile.TemporaryFile() as f:
        f.write(arch.stdout)
        f.seek(0)
        with tarfile.open(fileobj=f) as t:
            t.extractall(dest / "_git", filter="data")
    shutil.move(str(dest / "_git" / rel), str(dest / "src"))
    return dest / "src"


def _host_differences(rec: Recorded) -> list[Change]:
    host = rec.lineage.get("host") or {}
    hw = rec.lineage.get("hardware") or {}
    now_host, now_hw = host_facts(), gpu_facts()
    out = []
    for k in ("hostname", "os", "cpu_model"):
        if k in host and host.get(k) != now_host.get(k):
            out.append(Change(f"host.{k}", host.get(k), now_host.get(k)))
    for k in ("gpu_model", "gpu_count", "driver_version", "cuda_version"):
        if k in hw and hw.get(k) != now_hw.get(k):
            out.append(Change(f"hardware.{k}", hw.get(k), now_hw.get(k)))
    return out


def reproduce(
    rec: Recorded,
    *,
    log: LogFn = lambda line: None,
    keep: bool = False,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Run the recorded job again in a scratch data dir and compare. The caller has checked the
    inputs (`check_inputs`). The scratch folder is removed unless `keep` or the result differs."""
    from mlform.sdk import Context, ProviderError
    from mlform.sdk.plugins import load_provider
    from mlform.sdk.schema import parse_model

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    scratch = rec.data_dir / "reproduce" / stamp
    data = scratch / "data"
    data.mkdir(parents=True)
    cancel = cancel or threading.Event()
    outcome = Outcome(recorded=rec, scratch=scratch)
    ok = False
    try:
        cls = load_provider(rec.provider)
        provider = cls()

        def ctx(address: str) -> Context:
            return Context(
                address=address,
                module_dir=scratch,
                data_dir=data,
                scratch_dir=scratch / "tmp",
                on_log=lambda line: log(f"{address}: {line}"),
                cancel_event=cancel,
            )

        provider.configure(parse_model(cls.config, {}), ctx('provider["reproduce"]'))

        def run(kind: str, address: str, args: dict[str, Any]) -> Any:
            c = ctx(address)
            k = provider.kind(kind)
            planned = k.plan(None, args, c)
            return k.create(planned, c)

        src_store = rec.artifacts()
        assert src_store is not None  # check_inputs said so
        datasets = {}
        for name, ds in rec.datasets.items():
            log(f"dataset {name}: restoring {ds} from {src_store.describe()}")
            st = run("dataset", f"dataset.{name}", {"source": src_store.uri(ds)})
            if st.id != ds:
                raise ReproduceError(
                    f'dataset "{name}" no longer matches its digest',
                    f"recorded {ds}, the stored snapshot now digests to {st.id}: the content "
                    "store was changed by hand.",
                )
            datasets[name] = st.id

        env_id = ""
        recorded_env = rec.environment.get("id") or rec.attrs.get("environment")
        if recorded_env:
            pins = [f"{n}=={v}" for n, v in sorted((rec.lock or {}).items())]
            python = rec.environment.get("python") or ""
            log(f"environment: rebuilding Python {python} with {len(pins)} pinned packages")
            env_args: dict[str, Any] = {"packages": pins}
            if python:
                env_args["python"] = python
            st = run("environment", "environment.reproduce", env_args)
            env_id = st.id
            new_lock = st.attrs.get("lock") or {}
            outcome.lock_differences = _compare(rec.lock or {}, new_lock)

        code_dir = _code_dir(rec, scratch / "code")
        job_args = {
            "cluster": rec.attrs.get("cluster"),
            "environment": env_id,
            "code": str(code_dir) if code_dir else None,
            "command": rec.lineage.get("command", rec.attrs.get("command")),
            "datasets": datasets,
            "params": rec.lineage.get("params", rec.attrs.get("params")) or {},
            "seed": rec.lineage.get("seed", rec.attrs.get("seed")),
            "nodes": rec.lineage.get("nodes", rec.attrs.get("nodes")) or 1,
            "timeout": rec.attrs.get("timeout") or "24h",
            "retries": 0,
        }
        log(f"{rec.address}: running `{job_args['command']}` with the recorded params and seed")
        st = run("training_job", rec.address, job_args)
        outcome.model_digest = st.attrs.get("model_digest")
        outcome.metrics = dict(st.attrs.get("metrics") or {})
        outcome.metric_changes = [
            c
            for c in _compare(rec.attrs.get("metrics") or {}, outcome.metrics)
            if not c.path.endswith(("duration_s", "time_s"))
        ]
        outcome.host_differences = _host_differences(rec)
        ok = outcome.match
        return outcome
    except ProviderError as exc:
        raise ReproduceError(exc.summary, exc.detail) from exc
    finally:
        if ok and not keep:
            _remove_scratch(scratch)
            outcome.scratch = None


def _remove_scratch(path: Path) -> None:
    """Remove a scratch run, read-only snapshots included."""
    import os
    import stat

    def writable(func: Any, p: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(p), stat.S_IRWXU)
        if os.path.isdir(p) and not os.path.islink(p):
            os.chmod(p, stat.S_IRWXU)
        else:
            os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)
        func(p)

    if path.exists():
        shutil.rmtree(path, onerror=writable)  # onexc from Python 3.12 only


def render_text(o: Outcome) -> str:
    rec = o.recorded
    lines = []
    recorded_digest = rec.attrs.get("model_digest")
    if o.match:
        lines.append(f"Match: {rec.address} from serial {rec.serial} was reproduced.")
        lines.append(f"  model digest {o.model_digest} (as recorded)")
    else:
        lines.append(f"Mismatch: {rec.address} from serial {rec.serial} was not reproduced.")
        if o.model_digest != recorded_digest:
            lines.append(f"  model digest: recorded {recorded_digest}")
            lines.append(f"                now      {o.model_digest}")
        for c in o.metric_changes:
            delta = f" ({c.delta:+})" if c.delta is not None else ""
            lines.append(f"  metrics.{c.path}: recorded {c.before}, now {c.after}{delta}")
    if not o.metric_changes and o.metrics:
        shown = ", ".join(f"{k}={v}" for k, v in o.metrics.items())
        lines.append(f"  metrics equal: {shown}")
    if o.lock_differences:
        lines.append("  The rebuilt environment differs from the recorded lock:")
        for c in o.lock_differences:
            lines.append(f"    {c.path}: recorded {c.before}, now {c.after}")
    if o.host_differences:
        lines.append("  This host differs from the one that ran it:")
        for c in o.host_differences:
            lines.append(f"    {c.path}: recorded {c.before}, here {c.after}")
    else:
        lines.append("  This host matches the recorded host facts.")
    if o.scratch is not None:
        lines.append(f"  The new run is kept in {o.scratch} for inspection.")
    return "\n".join(lines) + "\n"
