"""A run killed with SIGKILL in the middle of recording: the next session has every fsync'd put."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession

WRITER = textwrap.dedent(
    """
    import sys
    from mlform.state import InstanceRecord
    from mlform.state.backends.local import LocalBackend
    from mlform.state.session import StateSession

    backend = LocalBackend({}, sys.argv[1])
    with StateSession.open(backend, operation="apply") as sess:
        i = 0
        while True:
            addr = f'test_object.o["{i}"]'
            sess.begin_create(addr, f"tok-{i}", 'provider["test"]')
            sess.put_instance(addr, 'provider["test"]',
                              InstanceRecord(id=f"id-{i}", attributes={"value": "v" * 200, "i": i}))
            print(i, flush=True)   # printed only once the put is durable
            i += 1
    """
)


def test_sigkill_mid_apply_loses_no_durable_put(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged = -1
    try:
        while acknowledged < 150:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            acknowledged = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "mlform.state.json").exists()

    # The dead run's lock record is still there: the next run needs force-unlock.
    info = backend.lock_info()
    assert info is not None and info.pid == proc.pid
    backend.force_unlock("default", info.id)

    with StateSession.open(backend, operation="plan") as sess:
        state = sess.state
        ids = {inst.attributes["i"] for _, _, inst in state.all_instances()}
        # Every acknowledged put, maybe one more that was durable but not yet printed, no gaps.
        assert ids == set(range(len(ids)))
        assert len(ids) >= acknowledged + 1
        for _, _, inst in state.all_instances():
            assert inst.id == f"id-{inst.attributes['i']}"
            assert inst.attributes["value"] == "v" * 200
        # At most the one create begun but never confirmed is pending, with its token.
        assert [p.token for p in state.pending] in ([], [f"tok-{len(ids)}"])
        assert sum(r.op == "put" for r in sess.recovered) == len(ids)
        written = sess.commit({"operation": "apply"})
    assert written.serial == 1 and len(written) == len(ids)
    assert not (tmp_path / "mlform.state.json.journal").exists()
