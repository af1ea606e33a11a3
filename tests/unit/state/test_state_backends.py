"""Finding backends by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlform.state import StateError
from mlform.state.backends import available_backends, load_backend
from mlform.state.backends.local import LocalBackend


def test_local_is_found_with_and_without_plugin_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = load_backend("local", {"path": "x.json"}, tmp_path)
    assert isinstance(b, LocalBackend) and b.state_path() == tmp_path / "x.json"
    assert b.state_path("dev") == tmp_path / "mlform.state.d" / "dev" / "mlform.state.json"
    monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert available_backends() == ["local"]
    assert isinstance(load_backend("local", {}, tmp_path), LocalBackend)


def test_unknown_backend_and_bad_config(tmp_path: Path) -> None:
    with pytest.raises(StateError) as err:
        load_backend("lcoal", {}, tmp_path)
    assert "Unknown backend type 'lcoal'" in str(err.value) and 'Did you mean "local"' in str(
        err.value
    )
    with pytest.raises(StateError, match="Unsupported argument 'bucket'"):
        load_backend("local", {"bucket": "b"}, tmp_path)
