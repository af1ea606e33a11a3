"""Crash safety: `kill -9` of `mlform apply` midway, then force-unlock and plan: every object the
test provider holds is in state or adopted by its idempotency token; none is created twice.
Also: two applies at once (the second waits --lock-timeout, then names the holder's lock ID)."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

N = 40


def config(latency_ms: int) -> str:
    return f"""
provider "test" {{ store = "objects.json" }}
resource "test_object" "o" {{
  count      = {N}
  value      = "o-${{count.index}}"
  latency_ms = {latency_ms}
}}
"""


LOCK_ID = re.compile(r"ID:\s+([0-9a-f-]{36})")


def has_command(mlform, name: str) -> bool:
    return mlform(name, "--help").code == 0


def force_unlock(mlform, workdir: Path, lock_id: str) -> None:
    """`mlform force-unlock ID`; before that command exists, the backend's own call."""
    if has_command(mlform, "force-unlock"):
        mlform.ok("force-unlock", "--force", lock_id)
    else:
        from mlform.state.backends import load_backend

        load_backend("local", {}, workdir).force_unlock("default", lock_id)


def wait_for(pred, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def kill_midway(mlform, store, at_least: int) -> None:
    proc = mlform.popen("apply", "--auto-approve", "--parallelism", "5")
    try:
        wait_for(lambda: store.count() >= at_least or proc.poll() is not None)
        assert proc.poll() is None, "apply finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    assert store.count() < N, "apply finished before it was killed"


def drop_puts(journal: Path, how_many: int) -> list[str]:
    """Drop the journal entries recording the result of some creates whose start is journaled:
    the state of a crash after the provider answered but before mlform wrote that answer."""
    begun: set[str] = set()
    kept, dropped = [], []
    for line in journal.read_text().splitlines(keepends=True):
        rec = json.loads(line)
        if rec.get("op") == "begin_create":
            begun.add(rec["addr"])
        elif rec.get("op") == "put" and rec["addr"] in begun and len(dropped) < how_many:
            dropped.append(rec["addr"])
            continue
        kept.append(line)
    journal.write_text("".join(kept))
    return dropped


@pytest.mark.parametrize("lose_answers", [0, 3], ids=["kill", "kill-after-provider-answered"])
def test_kill_9_midway_loses_nothing_and_creates_nothing_twice(
    mlform, write, workdir, store, insts, lose_answers
) -> None:
    write(config(100))
    kill_midway(mlform, store, at_least=12)
    journal = workdir / "mlform.state.json.journal"
    assert journal.exists(), "the killed apply left no journal"
    dropped = drop_puts(journal, lose_answers) if lose_answers else []
    assert len(dropped) == lose_answers
    in_store = store.count()

    # The killed run's lock dies with it (the OS lock is the authority): the next run takes it
    # over at once, naming the dead holder and what its journal gave back.
    info = json.loads((workdir / "mlform.state.json.lock.info").read_text())
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "Replaced the lock of a run that ended without releasing it" in plan.err
    assert f"Lock ID {info['id']}" in plan.err and "Its journal was replayed" in plan.err
    assert not (workdir / "mlform.state.json.lock.info").exists()
    for addr in dropped:
        assert f"{addr}: found the object created before an interruption" in plan.out
    # nothing the store holds is planned again
    assert f"Plan: {N - in_store} to add, 0 to change, 0 to destroy." in plan.out

    res = mlform.ok("apply", "--auto-approve")
    recovered = [x for x in res.out.splitlines() if x.startswith("Recovered from an interrupted")]
    assert len(recovered) == 1, res.out
    # (an object may have reached the store just before the kill, its answer not yet journaled)
    recorded = int(re.search(r"(\d+) objects recorded", recovered[0]).group(1))
    assert 0 < recorded <= in_store - lose_answers
    assert f"Apply complete! Resources: {N - in_store} added" in res.out
    objects = store.objects()
    assert len(objects) == N
    assert sorted(o["value"] for o in objects.values()) == sorted(f"o-{i}" for i in range(N))
    state = insts()
    assert len(state) == N and {i["id"] for i in state.values()} == set(objects)
    for addr in dropped:
        assert state[addr]["private"]["token"] == objects[state[addr]["id"]]["token"]
    assert not journal.exists()
    assert mlform("plan", "--detailed-exitcode").code == 0


def test_second_apply_waits_for_the_lock_then_names_the_holder(
    mlform, write, workdir, store
) -> None:
    write(config(400))  # 40 x 400 ms / 5 at once: the first apply runs for 3 s
    first = mlform.popen("apply", "--auto-approve", "--parallelism", "5")
    try:
        info_path = workdir / "mlform.state.json.lock.info"
        wait_for(lambda: info_path.exists() and store.count() > 0)
        holder = json.loads(info_path.read_text())
        started = time.monotonic()
        second = mlform("apply", "--auto-approve", "--lock-timeout", "1s")
        waited = time.monotonic() - started
        assert first.poll() is None, "the first apply ended before the second gave up"
    finally:
        first.wait(timeout=60)
        first.stdout.close()  # type: ignore[union-attr]
        first.stderr.close()  # type: ignore[union-attr]
    assert first.returncode == 0
    assert second.code == 1, str(second)
    assert waited >= 1.0
    assert "Error acquiring the state lock" in second.err
    assert LOCK_ID.search(second.err).group(1) == holder["id"]
    assert "Operation: apply" in second.err
    assert store.count() == N  # the second apply did nothing

    # A record left behind with no process holding its OS lock (as by a killed run) is
    # replaced by the next run, which names it.
    stale = dict(holder, id="00000000-0000-4000-8000-000000000000", pid=2**22 + 7)
    info_path.write_text(json.dumps(stale))
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 0, str(plan)
    assert f"Lock ID {stale['id']}" in plan.err
    assert not info_path.exists()


def test_interrupt_stops_new_work_and_saves_what_was_done(mlform, write, workdir, store, insts):
    write(config(100).replace(f"count      = {N}", "count      = 200"))
    proc = mlform.popen("apply", "--auto-approve", "--parallelism", "5")
    try:
        wait_for(lambda: store.count() >= 10 or proc.poll() is not None)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "Gracefully shutting down" in err
    assert "Stopped early after an interrupt" in out
    done = store.count()
    assert done < 100, "the interrupt did not stop new work"
    # everything the provider holds is in the state, which was committed normally
    assert {i["id"] for i in insts().values()} == set(store.objects())
    assert not (workdir / "mlform.state.json.journal").exists()
    assert not (workdir / "mlform.state.json.lock.info").exists()
    plan = mlform.ok("plan")
    assert f"Plan: {200 - done} to add, 0 to change, 0 to destroy." in plan.out
