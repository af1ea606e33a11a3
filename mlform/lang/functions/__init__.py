"""mlform's standard function library: Terraform's functions, every family.

The evaluator calls `call_function(name, args, fctx)`; `FUNCTIONS` maps each name to its
`Function` description (parameters, return-type rule, implementation, documentation). Each family
lives in its own module and registers its functions on import. `try` and `can` are special forms
of the evaluator, not functions here.
"""

from __future__ import annotations

from mlform.lang.functions import (  # noqa: F401  (importing registers each family)
    collection,
    conversion,
    crypto,
    dates,
    encoding,
    filesystem,
    network,
    numeric,
    strings,
)
from mlform.lang.functions._core import (
    FAMILIES,
    FUNCTIONS,
    Function,
    FunctionContext,
    FunctionError,
    Param,
    call_function,
)
from mlform.lang.functions.conversion import TYPE_TYPE, is_type_value, type_string

__all__ = [
    "FAMILIES",
    "FUNCTIONS",
    "TYPE_TYPE",
    "Function",
    "FunctionContext",
    "FunctionError",
    "Param",
    "call_function",
    "is_type_value",
    "type_string",
]
