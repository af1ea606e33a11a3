"""A new user meets a held lock: the error says how long it waited in plain seconds, a wrong
lock ID given to force-unlock is refused and leaves the lock, and nothing in state changes."""

from __future__ import annotations

import re
import time

SLOW = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  value      = "x"
  latency_ms = 8000
}
"""


def test_held_lock_messages(mlform, write, workdir) -> None:
    write(SLOW)
    holder = mlform.popen("apply", "--auto-approve")
    info = workdir / "mlform.state.json.lock.info"
    try:
        deadline = time.monotonic() + 30
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert info.exists(), "the apply never took the lock"
        waited = mlform("plan", "--lock-timeout", "1s")
        assert waited.code == 1, str(waited)
        assert "Error acquiring the state lock" in waited.err
        assert re.search(r"Waited 1\.\ds for it\.", waited.err), str(waited)
        at_once = mlform("state", "rm", "test_object.a")
        assert at_once.code == 1, str(at_once)
        assert "Waited 0s for it." in at_once.err, str(at_once)
        assert "e-0" not in at_once.err
        wrong = mlform("force-unlock", "--force", "not-the-id")
        assert wrong.code == 1, str(wrong)
        assert "does not match the lock held" in wrong.err
        assert info.exists()
    finally:
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, out + err
    assert "Apply complete! Resources: 1 added" in out


def test_lock_timeout_syntax(mlform, write) -> None:
    """--lock-timeout takes seconds, or numbers with ms, s, m, h (mlform.durations); anything else
    is refused before any work, naming the value, in plan and in the state commands alike."""
    write(
        'provider "test" { store = "objects.json" }\nresource "test_object" "a" { value = "x" }\n'
    )
    mlform.ok("init")
    for good in ("0", "1m30s", " 2s ", "1.5"):
        mlform.ok("plan", "--lock-timeout", good)
    for bad in ("1d", "30S", "1 m", "", "-5s"):
        res = mlform("plan", "--lock-timeout", bad)
        assert res.code != 0, str(res)
        assert f"{bad.strip()!r} is not a duration such as 30s, 2m or 1h30m" in res.err, str(res)
    res = mlform("state", "rm", "--lock-timeout", "2x", "test_object.a")
    assert res.code == 1, str(res)
    assert "Invalid value for --lock-timeout" in res.err
    assert "'2x' is not a duration such as 30s, 2m or 1h30m" in res.err
