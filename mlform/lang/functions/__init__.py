"""mlform's standard function library: Terraform's functions, every family.

The evaluator calls `call_function(name, args, fctx)`; `FUNCTIONS` maps each name to its
`Function` description (parameters, return-type rule, implementation, documentation). Each family
lives in its own module and registers its functions on import. `try` and `can` are special forms
of the evaluator, not functions here.

The families are imported on first use, not with this package: together they take about a tenth
of a second to import (regular expressions, dates, hashing, YAML), which a command that calls no
function (`mlform version`, validating a configuration without function calls) should not pay.
Asking for `FUNCTIONS`, `lookup` or `call_function` loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlform.lang.functions import _core
from mlform.lang.functions._core import (
    FAMILIES,
    Function,
    FunctionContext,
    FunctionError,
    Param,
)

if TYPE_CHECKING:
    from mlform.lang.values import Value

# The modules that register functions, one per family.
FAMILY_MODULES = (
    "collection",
    "conversion",
    "crypto",
    "dates",
    "encoding",
    "filesystem",
    "network",
    "numeric",
    "strings",
)

_loaded = False


def load_all() -> dict[str, Function]:
    """Import every family (once) and return the registry of all functions."""
    global _loaded
    if not _loaded:
        for name in FAMILY_MODULES:
            importlib.import_module(f"{__name__}.{name}")
        _loaded = True
    return _core.FUNCTIONS


def lookup(name: str) -> Function | None:
    """The function called `name`, or None when there is none."""
    return load_all().get(name)


def call_function(name: str, args: list[Value], fctx: FunctionContext) -> Value:
    """Call the standard function `name` (see `_core.call_function`)."""
    if not _loaded:
        load_all()
    return _core.call_function(name, args, fctx)


_FROM_CONVERSION = ("TYPE_TYPE", "is_type_value", "type_string")


def __getattr__(name: str) -> Any:
    # `from mlform.lang.functions import FUNCTIONS` (or a name of the conversion family) is
    # what loads the families for code that asks for them by name.
    if name == "FUNCTIONS":
        return load_all()
    if name in _FROM_CONVERSION:
        load_all()
        return getattr(importlib.import_module(f"{__name__}.conversion"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FAMILIES",
    "FAMILY_MODULES",
    "FUNCTIONS",
    "TYPE_TYPE",
    "Function",
    "FunctionContext",
    "FunctionError",
    "Param",
    "call_function",
    "is_type_value",
    "load_all",
    "lookup",
    "type_string",
]
