"""Which workspace a folder uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlform.state import StateError
from mlform.state.workspace import current_workspace, select_workspace


def test_default_select_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFORM_WORKSPACE", raising=False)
    assert current_workspace(tmp_path) == "default"
    select_workspace(tmp_path, "dev_1")
    assert (tmp_path / ".mlform" / "workspace").read_text() == "dev_1\n"
    assert current_workspace(tmp_path) == "dev_1"
    monkeypatch.setenv("MLFORM_WORKSPACE", "ci-42")
    assert current_workspace(tmp_path) == "ci-42"
    monkeypatch.setenv("MLFORM_WORKSPACE", "no/slash")
    with pytest.raises(StateError, match="MLFORM_WORKSPACE"):
        current_workspace(tmp_path)


def test_invalid_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFORM_WORKSPACE", raising=False)
    with pytest.raises(StateError, match="Invalid workspace name"):
        select_workspace(tmp_path, "a b")
    (tmp_path / ".mlform").mkdir()
    (tmp_path / ".mlform" / "workspace").write_text("../etc\n")
    with pytest.raises(StateError, match=r"\.mlform/workspace"):
        current_workspace(tmp_path)
