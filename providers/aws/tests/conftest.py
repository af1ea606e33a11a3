"""Fixtures for the AWS provider's tests: a stand-in AWS on loopback for the whole session.

`standin` starts `mlform_aws.standin.StandIn` (moto's server on a free port of 127.0.0.1, S3
writes serialized so conditional writes are atomic, as on real S3) and points this process
and its children at it (AWS_ENDPOINT_URL, test credentials, AWS_REGION); `bucket` makes a
fresh versioned bucket for one test; `aws_env` is what a `mlform` subprocess needs.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlform_aws.standin import StandIn

_names = itertools.count()


@pytest.fixture(scope="session")
def standin() -> Iterator[StandIn]:
    saved = {k: os.environ.get(k) for k in StandIn().env()}
    # A profile or credentials of the machine running the tests must not leak in.
    saved.update({k: os.environ.get(k) for k in ("AWS_PROFILE", "AWS_CONFIG_FILE")})
    s = StandIn().start()
    os.environ.update(s.env())
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    try:
        yield s
    finally:
        s.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def s3(standin: StandIn) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=standin.endpoint, region_name=standin.region)


def new_bucket(s3: Any, versioning: bool = True) -> str:
    name = f"mlform-test-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket with versioning on."""
    return new_bucket(s3)


@pytest.fixture
def make_bucket(s3: Any) -> Callable[..., str]:
    """`make_bucket(versioning=True)`: another fresh bucket."""
    return lambda versioning=True: new_bucket(s3, versioning)


@pytest.fixture
def aws_env(standin: StandIn) -> dict[str, str]:
    """The environment a `mlform` subprocess needs to reach the stand-in."""
    return {**standin.env(), "AWS_CONFIG_FILE": os.devnull}


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return f"mlform {' '.join(self.args)} -> {self.code}\n--stdout--\n{self.out}\n--stderr--\n{self.err}"


class Checkout:
    """A working folder driven through the real `mlform` command, as CI would run it
    (no terminal, MLFORM_IN_AUTOMATION=1), pointed at the stand-in."""

    def __init__(self, path: Path, env: dict[str, str]):
        self.path = path
        self.env = env

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFORM_", "TF_"))}
        env.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1", "COLUMNS": "200"})
        env.update(self.env)
        env.update(extra or {})
        return env

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        proc = subprocess.run(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=self.path,
            env=self._env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kw: Any) -> Run:
        res = self(*args, **kw)
        assert res.code == 0, str(res)
        return res

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=self.path,
            env=self._env(None),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def write(self, text: str, name: str = "main.mlf.hcl") -> None:
        (self.path / name).write_text(text)


@pytest.fixture
def checkout(tmp_path: Path, aws_env: dict[str, str]) -> Callable[[str], Checkout]:
    """`checkout(name)`: a fresh working folder (another clone of the same project)."""

    def make(name: str) -> Checkout:
        d = tmp_path / name
        d.mkdir()
        return Checkout(d, aws_env)

    return make
