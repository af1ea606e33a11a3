"""The S3 backend passes the backend conformance suite, against the stand-in's S3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlform.testing.backend_conformance import BackendConformance


class TestS3Backend(BackendConformance):
    backend_type = "s3"

    @pytest.fixture(autouse=True)
    def _bucket(self, make_bucket: Callable[..., str]) -> None:
        self._bucket_name = make_bucket()

    def backend_config(self, workdir: Path) -> dict[str, Any]:
        return {"bucket": self._bucket_name, "key": "team/ml/mlform.state.json"}
