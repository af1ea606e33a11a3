"""Conformance suites that every provider must pass (filled in below)."""

from __future__ import annotations

from pathlib import Path

from mlform.sdk.contract import Context


def make_context(workdir: Path, address: str = "test_object.x", **kwargs: object) -> Context:
    """A Context for calling a provider directly, rooted at `workdir` (its `.mlform` folder
    is the data folder; a scratch folder is made under it)."""
    data = Path(workdir) / ".mlform"
    scratch = data / "tmp" / address.replace("/", "_").replace('"', "")
    scratch.mkdir(parents=True, exist_ok=True)
    return Context(
        address=address, module_dir=Path(workdir), data_dir=data, scratch_dir=scratch, **kwargs
    )  # type: ignore[arg-type]
