"""The provider conformance suite, run on the local dataset, environment and cluster kinds."""

from __future__ import annotations

import sys
from typing import ClassVar

import pytest
from mlform_local.cluster import ClusterKind
from mlform_local.dataset import DatasetKind
from mlform_local.environment import EnvironmentKind
from mlform_local.provider import LocalProvider

from mlform.sdk import Kind
from mlform.testing.conformance import ProviderConformance, Sample

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


class DataKindsProvider(LocalProvider):
    """The local provider with only the kinds these tests cover."""

    kinds: ClassVar[dict[str, type[Kind]]] = {
        "dataset": DatasetKind,
        "environment": EnvironmentKind,
        "cluster": ClusterKind,
    }


class TestLocalDataKindsConformance(ProviderConformance):
    provider_class = DataKindsProvider
    samples: ClassVar[dict[str, Sample]] = {
        "dataset": Sample(
            args={"source": "./data"}, update={"source": "./data", "exclude": ["*.tmp"]}
        ),
        # Every argument of an environment is part of its identity (cuda and image included):
        # a change replaces it, so there is no in-place update to check.
        "environment": Sample(args={"python": PY}),
        "cluster": Sample(args={"gpu": "any"}, update={"gpu": "none"}),
    }

    @pytest.fixture
    def workdir(self, tmp_path):
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "a.csv").write_text("x,y\n1,2\n")
        return tmp_path
