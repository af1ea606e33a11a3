"""The S3 backend through the CLI, against the stand-in: history from object versions, the
lock between two applies, a run killed mid-apply recovered from another checkout, and the
refusals a user can meet (no versioning, no bucket)."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlform.testing.provider import load_objects

KEY = "ml/mlform.state.json"
LOCK_ID = re.compile(r"ID:\s+([0-9a-f-]{36})")


def project(bucket: str, store: Path, count: int = 3, latency_ms: int = 0, value: str = "v") -> str:
    """A configuration with its state in S3 and its objects in one test store that every
    checkout shares (as they would share one cloud account)."""
    return f"""
mlform {{
  backend "s3" {{
    bucket = "{bucket}"
    key    = "{KEY}"
    region = "us-east-1"
  }}
}}
provider "test" {{ store = "{store}" }}
resource "test_object" "o" {{
  count      = {count}
  value      = "{value}-${{count.index}}"
  latency_ms = {latency_ms}
}}
"""


def count(store: Path) -> int:
    """How many objects the test store holds (its journal included)."""
    if not store.exists() and not store.with_name(store.name + ".journal").exists():
        return 0
    return len(load_objects(store))


def wait_for(pred: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def state_versions(s3: Any, bucket: str) -> list[dict[str, Any]]:
    got = s3.list_object_versions(Bucket=bucket, Prefix=KEY)
    return [v for v in got.get("Versions", []) if v["Key"] == KEY]


def current_state(s3: Any, bucket: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=KEY)["Body"].read())


def test_state_and_history_live_in_s3(checkout, bucket, s3, tmp_path) -> None:
    a = checkout("a")
    store = tmp_path / "objects.json"
    for count in (2, 3, 4):
        a.write(project(bucket, store, count=count))
        a.ok("apply", "--auto-approve")
    assert not (a.path / "mlform.state.json").exists(), "state was written locally"
    assert len(state_versions(s3, bucket)) == 3
    assert current_state(s3, bucket)["serial"] == 3

    # Another checkout sees every serial, read from the object's versions.
    b = checkout("b")
    b.write(project(bucket, store, count=4))
    hist = json.loads(b.ok("history", "--json").out)
    assert [e["serial"] for e in hist] == [1, 2, 3]
    assert {e["operation"] for e in hist} == {"apply"}
    diff = b.ok("diff", "1", "2")
    assert "test_object.o[2]" in diff.out and "added" in diff.out, diff.out
    assert "test_object.o[3]" not in diff.out
    shown = b.ok("history")
    assert all(f" {n} " in f" {shown.out} " or str(n) in shown.out for n in (1, 2, 3))
    plan = b("plan", "--detailed-exitcode")
    assert plan.code == 0, str(plan)
    # Nothing of the run is left beside the state: no journal, no lock.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == {KEY}


def test_a_second_apply_is_refused_naming_the_holder(checkout, bucket, s3, tmp_path) -> None:
    a, b = checkout("a"), checkout("b")
    store = tmp_path / "objects.json"
    for c in (a, b):
        c.write(project(bucket, store, count=3, latency_ms=1500))
    slow = a.popen("apply", "--auto-approve", "--parallelism", "1")

    def locked() -> bool:
        return s3.list_objects_v2(Bucket=bucket, Prefix=KEY + ".lock").get("KeyCount", 0) > 0

    try:
        wait_for(lambda: locked() or slow.poll() is not None)
        assert slow.poll() is None, "the first apply ended before the second started"
        res = b("apply", "--auto-approve")
        assert res.code == 1, str(res)
        assert "Error acquiring the state lock" in res.err
        assert "apply" in res.err and f"s3://{bucket}/{KEY}" in res.err
        lock_id = LOCK_ID.search(res.err)
        assert lock_id, res.err
        assert f"mlform force-unlock --force {lock_id.group(1)}" in res.err
        assert "Traceback" not in res.all
    finally:
        out, err = slow.communicate(timeout=60)
    assert slow.returncode == 0, out + err
    assert len(load_objects(store)) == 3


def test_kill_9_then_another_checkout_replays_the_journal_from_s3(
    checkout, bucket, s3, tmp_path
) -> None:
    n = 12
    a, b = checkout("a"), checkout("b")
    store = tmp_path / "objects.json"
    for c in (a, b):
        c.write(project(bucket, store, count=n, latency_ms=500))
    proc = a.popen("apply", "--auto-approve", "--parallelism", "3")
    try:
        wait_for(lambda: count(store) >= 4 or proc.poll() is not None)
        assert proc.poll() is None, "apply finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    in_store = count(store)
    assert 0 < in_store < n
    journal = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.startswith(KEY + ".journal/") for k in journal), journal

    # The other checkout finds the lock of the dead run, which it cannot see die: refused,
    # with the holder and the command to run.
    refused = b("plan")
    assert refused.code == 1 and "Error acquiring the state lock" in refused.err, str(refused)
    lock_id = LOCK_ID.search(refused.err)
    assert lock_id, refused.err
    b.ok("force-unlock", "--force", lock_id.group(1))

    res = b.ok("apply", "--auto-approve")
    recovered = [x for x in res.out.splitlines() if x.startswith("Recovered from an interrupted")]
    assert len(recovered) == 1, res.out
    objects = load_objects(store)
    assert len(objects) == n, "an object was created twice, or not at all"
    state = current_state(s3, bucket)
    ids = {i["id"] for r in state["resources"] for i in r["instances"]}
    assert ids == set(objects)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == {KEY}, "the journal or the lock was left behind"
    assert b("plan", "--detailed-exitcode").code == 0


def test_force_unlock_through_the_cli(checkout, bucket, tmp_path) -> None:
    from mlform.state.backends import LockInfo, load_backend

    a = checkout("a")
    a.write(project(bucket, tmp_path / "objects.json"))
    backend = load_backend("s3", {"bucket": bucket, "key": KEY, "region": "us-east-1"}, a.path)
    held = backend.lock("default", LockInfo.new("apply", who="ci@runner-3"), timeout=0)
    wrong = a("force-unlock", "--force", "not-the-id")
    assert wrong.code == 1 and "does not match" in wrong.err and held.id in wrong.err
    a.ok("force-unlock", "--force", held.id)
    assert backend.lock_info("default") is None
    again = a("force-unlock", "--force", held.id)
    assert again.code == 1 and "not locked" in again.err
    a.ok("apply", "--auto-approve")


def test_a_bucket_without_versioning_is_refused(checkout, make_bucket, tmp_path) -> None:
    plain = make_bucket(versioning=False)
    a = checkout("a")
    a.write(project(plain, tmp_path / "objects.json"))
    res = a("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert "Versioning is not enabled on the state bucket" in res.err
    assert "put-bucket-versioning" in res.err and "Traceback" not in res.all
    assert not (tmp_path / "objects.json").exists(), "a provider was called"


def test_a_missing_bucket_is_a_diagnostic(checkout, tmp_path) -> None:
    a = checkout("a")
    a.write(project("no-such-bucket-here", tmp_path / "objects.json"))
    res = a("plan")
    assert res.code == 1, str(res)
    assert "The state bucket 'no-such-bucket-here' does not exist" in res.err
    assert "Traceback" not in res.all


def test_missing_credentials_for_the_backend(checkout, bucket, tmp_path) -> None:
    a = checkout("a")
    a.write(project(bucket, tmp_path / "objects.json"))
    res = a(
        "plan",
        env={
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SESSION_TOKEN": "",
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        },
    )
    assert res.code == 1, str(res)
    assert "No AWS credentials found" in res.err and 'backend "s3"' in res.err
    assert "AWS_ACCESS_KEY_ID" in res.err and "instance metadata" in res.err
    assert "Traceback" not in res.all
