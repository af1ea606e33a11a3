"""Which workspace a working folder uses: `.mlform/workspace`, overridden by `MLFORM_WORKSPACE`.

The backend knows which workspaces exist; this module only remembers the selection, per working
folder, the way Terraform keeps `.terraform/environment`.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlform.state.backends import DEFAULT_WORKSPACE, validate_workspace_name
from mlform.state.errors import StateError

ENV_VAR = "MLFORM_WORKSPACE"


def workspace_file(workdir: Path | str) -> Path:
    return Path(workdir) / ".mlform" / "workspace"


def current_workspace(workdir: Path | str = ".") -> str:
    """The selected workspace: $MLFORM_WORKSPACE, else `.mlform/workspace`, else "default"."""
    env = os.environ.get(ENV_VAR)
    if env:
        try:
            return validate_workspace_name(env)
        except StateError as exc:
            raise StateError(f"Invalid workspace name {env!r} in ${ENV_VAR}", exc.detail) from None
    path = workspace_file(workdir)
    try:
        name = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return DEFAULT_WORKSPACE
    except (OSError, UnicodeDecodeError) as exc:
        why = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise StateError(
            f"Cannot read the selected workspace from {path}",
            f"{path} names the selected workspace, but {why}. Select a workspace with "
            f"`mlform workspace select NAME`, or remove {path} to use the default one.",
        ) from None
    if not name:
        return DEFAULT_WORKSPACE
    try:
        return validate_workspace_name(name)
    except StateError as exc:
        raise StateError(
            f"Invalid workspace name {name!r} in {path}",
            f"{exc.detail} Select a workspace with `mlform workspace select NAME`.",
        ) from None


def select_workspace(workdir: Path | str, name: str) -> None:
    """Remember `name` as this folder's workspace (the caller checks that it exists)."""
    validate_workspace_name(name)
    path = workspace_file(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, path)
