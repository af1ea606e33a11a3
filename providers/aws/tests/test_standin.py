"""`mlform-standin aws`: prints the export lines, serves AWS on loopback until SIGTERM/SIGINT,
and makes S3's conditional writes atomic as real S3 does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest


def script() -> list[str]:
    found = shutil.which("mlform-standin", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "mlform_aws.standin"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_console_script_prints_exports_and_stops_on_a_signal(stop: int) -> None:
    proc = subprocess.Popen(
        [*script(), "aws"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("#"):
                break
            assert line.startswith("export "), line
            k, _, v = line[len("export ") :].strip().partition("=")
            env[k] = v
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_REGION"] == "us-east-1"
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="standin-check")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["standin-check"]
        proc.send_signal(stop)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()


def test_help_describes_the_vm_emulator() -> None:
    out = subprocess.run([*script(), "--help"], capture_output=True, text=True, check=True)
    assert "export" in out.stdout and "VM emulator" in out.stdout


def test_conditional_writes_are_atomic(
    s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many clients create one key with If-None-Match "*" at once: exactly one succeeds. (The
    stand-in runs in this process: moto's lookup is slowed down so that a check-then-write
    would let several through.)"""
    import time

    from botocore.exceptions import ClientError
    from moto.s3.models import S3Backend

    lookup = S3Backend.get_object

    def slow(self: Any, *a: Any, **kw: Any) -> Any:
        found = lookup(self, *a, **kw)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(S3Backend, "get_object", slow)

    go = threading.Barrier(8)
    won: list[int] = []

    def put(i: int) -> None:
        go.wait()
        try:
            s3.put_object(Bucket=bucket, Key="once", Body=str(i).encode(), IfNoneMatch="*")
            won.append(i)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            )

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == str(won[0]).encode()
