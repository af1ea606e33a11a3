"""The lineage unit tests' fixtures (the states themselves are built by lineage_states)."""

from __future__ import annotations

import pytest
from lineage_states import make_state

from mlform.state.model import State


@pytest.fixture
def serial1() -> State:
    return make_state(1)
