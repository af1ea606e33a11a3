"""Fixtures for the AWS provider's tests: a stand-in AWS on loopback for the whole session.

`standin` starts `mlform_aws.standin.StandIn` (moto's server on a free port of 127.0.0.1, S3
writes serialized so conditional writes are atomic, as on real S3) and points this process
and its children at it (AWS_ENDPOINT_URL, test credentials, AWS_REGION); `bucket` makes a
fresh versioned bucket for one test; `aws_env` is what a `mlform` subprocess needs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
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
