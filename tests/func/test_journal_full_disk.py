"""A disk that fills up during apply: nothing is created twice.

The state (and its journal) lives on a small tmpfs filled to a few KB free; the test provider's
store lives elsewhere, so that only mlform's own writes fail. The apply must stop with a
diagnostic (not an internal error), release its lock and leave no temporary file; once space is
freed, a second apply finishes the work, and the store and the state hold the same objects.

Mounting needs root (or a user namespace); where it is impossible the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from cli_harness import Mlform, Store, instances, state_of

N = 200


def _mount_tmpfs(where: Path, size: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount_tmpfs(disk, "2m")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """A file that takes all but about `leave` bytes of the disk."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with filler.open("wb") as f:
        f.write(b"\0" * max(free - leave, 0))
    return filler


@pytest.mark.parametrize("leave", [48 * 1024, 20 * 1024])
def test_a_full_disk_stops_apply_and_nothing_is_created_twice(
    small_disk: Path, tmp_path: Path, leave: int
) -> None:
    work = small_disk / "work"
    work.mkdir()
    store_path = tmp_path / f"store-{uuid.uuid4().hex[:6]}" / "objects.json"
    store_path.parent.mkdir()
    (work / "main.mlf.hcl").write_text(
        f"""
provider "test" {{ store = "{store_path}" }}
resource "test_object" "o" {{
  count      = {N}
  value      = "o-${{count.index}}-{"x" * 200}"
  latency_ms = 5
}}
"""
    )
    mlform = Mlform(work)
    store = Store(store_path)
    filler = _fill(small_disk, leave)

    full = mlform("apply", "--auto-approve", "--parallelism", "8")
    assert full.code == 1, str(full)
    assert "No space left on device while writing the journal: nothing more was created" in (
        full.err
    ), str(full)
    assert "Free space and run apply again" in full.err
    assert "internal error" not in full.all.lower() and "Traceback" not in full.all
    assert full.err.count("No space left on device while writing the journal") == 1
    created = store.count()
    assert 0 < created < N, "the disk never filled up"
    # The lock is released and no temporary file is left behind.
    left = sorted(p.name for p in work.iterdir())
    assert "mlform.state.json.lock.info" not in left
    assert [n for n in left if n.endswith(".tmp")] == [], left
    history = work / "mlform.state.json.history"
    if history.exists():
        assert [p.name for p in history.iterdir() if p.name.endswith(".tmp")] == []

    filler.unlink()
    again = mlform("apply", "--auto-approve", "--parallelism", "8")
    assert again.code == 0, str(again)
    objects = store.objects()
    state = instances(state_of(work))
    assert len(objects) == len(state) == N
    assert {i["id"] for i in state.values()} == set(objects)
    assert not (work / "mlform.state.json.journal").exists()
    assert mlform("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("leave", [0, 4 * 1024, 8 * 1024])
@pytest.mark.parametrize("how", ["shrink", "destroy"])
def test_a_full_disk_stops_deletes_with_a_diagnostic(
    small_disk: Path, tmp_path: Path, how: str, leave: int
) -> None:
    """Deletes (a count that shrank, a destroy) meet a full disk as creates do: whichever write
    fails first (the lock, the journal or the final state) is one diagnostic, never an internal
    error; once space is freed the next run finishes, and the store and the state agree."""
    work = small_disk / "work"
    work.mkdir()
    store_path = tmp_path / f"store-{uuid.uuid4().hex[:6]}" / "objects.json"
    store_path.parent.mkdir()
    config = """
provider "test" {{ store = "{store}" }}
resource "test_object" "o" {{
  count      = {count}
  value      = "o-${{count.index}}-{pad}"
  latency_ms = 5
}}
"""
    main = work / "main.mlf.hcl"
    main.write_text(config.format(store=store_path, count=N, pad="x" * 200))
    mlform = Mlform(work)
    store = Store(store_path)
    mlform.ok("apply", "--auto-approve", "--parallelism", "8")
    if how == "shrink":
        main.write_text(config.format(store=store_path, count=0, pad="x" * 200))
        args: tuple[str, ...] = ("apply", "--auto-approve", "--parallelism", "8")
    else:
        args = ("destroy", "--auto-approve", "--parallelism", "8")
    filler = _fill(small_disk, leave)

    full = mlform(*args)
    assert full.code == 1, str(full)
    assert "internal error" not in full.all.lower() and "Unexpected error" not in full.all
    assert "Traceback" not in full.all
    assert "No space left on device" in full.err, str(full)
    assert full.err.count("Error:") == 1, str(full)

    filler.unlink()
    mlform.ok(*args)
    assert store.count() == 0
    assert instances(state_of(work)) == {}
