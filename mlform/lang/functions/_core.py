"""The function description type, the registry and the generic call path.

Every standard function is a `Function`: its parameters (with their types and what they accept),
an optional variadic parameter, a rule for its return type, the implementation, and the text that
docs/functions.md is generated from. `call_function` does for every function what Terraform's
function layer does: arity checks, argument conversion to the parameter types, short-circuiting
unknown arguments to an unknown result of the return type, and carrying sensitive marks from the
arguments to the result. Implementations therefore see known, unmarked, converted arguments
unless a parameter says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.lang.convert import ConversionError, convert
from mlform.lang.types import DYNAMIC, Type
from mlform.lang.values import NO_MARKS, Value, unknown

if TYPE_CHECKING:
    from datetime import datetime


class FunctionError(Exception):
    """A function call failed.

    Implementations raise it with the bare reason (`"item not found"`) and, when the reason is
    about one argument, that argument's index. `call_function` re-raises it with `summary` and
    `detail` worded as Terraform words them, ready to become a diagnostic:

    - summary "Invalid function argument",
      detail `Invalid value for "list" parameter: element 0: string required.`
    - summary "Error in function call",
      detail `Call to function "element" failed: cannot use element function with an empty list.`
    - summary "Not enough function arguments" / "Too many function arguments" /
      "Call to unknown function" for calls that do not fit the signature.
    """

    def __init__(
        self,
        message: str,
        arg_index: int | None = None,
        *,
        summary: str | None = None,
        detail: str | None = None,
        function: str | None = None,
    ) -> None:
        self.message = message
        self.arg_index = arg_index
        self.summary = summary or (
            "Invalid function argument" if arg_index is not None else "Error in function call"
        )
        self.detail = detail or message
        self.function = function
        super().__init__(self.detail)


@dataclass
class FunctionContext:
    """What functions may need from their surroundings.

    `base_dir` is the working directory, the root module's folder: file functions resolve relative
    paths against it in every module, as Terraform does (a module names its own files with
    `path.module`). `evaluate_template(text, filename, vars)` renders a template, supplied by the
    evaluator for `templatefile` and `templatestring`. `plan_timestamp` is what `plantimestamp()`
    returns; the current time when not given.
    """

    base_dir: Path = field(default_factory=Path.cwd)
    evaluate_template: Callable[[str, str, dict[str, Value]], Value] | None = None
    plan_timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter. By default a parameter refuses null, and an unknown or marked argument is
    handled by `call_function` (unknown result, marks carried) without calling the function.

    `allow_marked` hands the argument to the function with all its marks. `nested_marks` takes
    only the argument's own marks off (they go on the result) and leaves the marks of values
    inside it in place, for functions that pick elements out of a collection (`element`,
    `lookup`, `merge`): an element that was not sensitive does not become sensitive.
    """

    name: str
    type: Type = DYNAMIC
    allow_null: bool = False
    allow_unknown: bool = False
    allow_marked: bool = False
    nested_marks: bool = False
    description: str = ""


# The return type: fixed, or computed from the converted arguments (which may be unknown).
ReturnRule = Type | Callable[[list[Value]], Type]
Impl = Callable[[list[Value], FunctionContext], Value]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    family: str
    params: tuple[Param, ...]
    impl: Impl
    returns: ReturnRule = DYNAMIC
    variadic: Param | None = None
    description: str = ""
    examples: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def signature(self) -> str:
        parts = [p.name for p in self.params]
        if self.variadic is not None:
            parts.append(f"{self.variadic.name}...")
        return f"{self.name}({', '.join(parts)})"

    def param_for(self, index: int) -> Param:
        if index < len(self.params):
            return self.params[index]
        assert self.variadic is not None
        return self.variadic

    def return_type(self, args: list[Value]) -> Type:
        if isinstance(self.returns, Type):
            return self.returns
        return self.returns(args)


FUNCTIONS: dict[str, Function] = {}

FAMILIES: dict[str, str] = {
    "numeric": "Numeric functions",
    "string": "String functions",
    "collection": "Collection functions",
    "encoding": "Encoding functions",
    "filesystem": "Filesystem functions",
    "datetime": "Date and time functions",
    "crypto": "Hash and crypto functions",
    "network": "IP network functions",
    "conversion": "Type conversion functions",
}


def register(
    name: str,
    family: str,
    params: list[Param] | tuple[Param, ...],
    returns: ReturnRule = DYNAMIC,
    *,
    variadic: Param | None = None,
    description: str = "",
    examples: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    notes: list[str] | tuple[str, ...] = (),
) -> Callable[[Impl], Impl]:
    """Decorator: register the decorated implementation as the function `name`."""
    assert family in FAMILIES, family

    def deco(impl: Impl) -> Impl:
        FUNCTIONS[name] = Function(
            name=name,
            family=family,
            params=tuple(params),
            impl=impl,
            returns=returns,
            variadic=variadic,
            description=description.strip(),
            examples=tuple(examples),
            notes=tuple(notes),
        )
        return impl

    return deco


def call_function(name: str, args: list[Value], fctx: FunctionContext) -> Value:
    """Call the standard function `name` with `args`, as Terraform does.

    Raises FunctionError (with Terraform's summary and detail) for an unknown function, a wrong
    number of arguments, an argument of the wrong type, or a failure inside the function.
    """
    f = FUNCTIONS.get(name)
    if f is None:
        raise FunctionError(
            f'There is no function named "{name}".',
            summary="Call to unknown function",
            function=name,
        )
    _check_arity(f, args)

    marks: set[str] = set()
    hidden_marks: set[str] = set()
    converted: list[Value] = []
    short_circuit = False
    for i, arg in enumerate(args):
        spec = f.param_for(i)
        if spec.nested_marks:
            marks |= arg.marks
            arg = arg.unmark()
        elif not spec.allow_marked:
            arg, found = arg.unmark_deep()
            marks |= found
        else:
            # The function sees the marks; an unknown result still carries them.
            hidden_marks |= arg.unmark_deep()[1]
        if arg.is_null and not spec.allow_null:
            raise _arg_error(f, i, "argument must not be null")
        try:
            arg = convert(arg, spec.type)
        except ConversionError as e:
            raise _arg_error(f, i, _conversion_message(e)) from None
        if not spec.allow_unknown and not arg.is_wholly_known():
            short_circuit = True
        converted.append(arg)

    result_marks = frozenset(marks) if marks else NO_MARKS
    try:
        ret = f.return_type(converted)
        if short_circuit:
            return unknown(ret).with_marks(result_marks | frozenset(hidden_marks))
        result = f.impl(converted, fctx)
    except FunctionError as e:
        if e.function is not None:
            raise
        if e.arg_index is not None:
            raise _arg_error(f, e.arg_index, e.message) from None
        raise FunctionError(
            e.message,
            detail=f'Call to function "{f.name}" failed: {_sentence(e.message)}',
            function=f.name,
        ) from None
    except ConversionError as e:
        # A conversion inside the function that the argument checks could not foresee.
        message = e.full_message()
        raise FunctionError(
            message,
            detail=f'Call to function "{f.name}" failed: {_sentence(message)}',
            function=f.name,
        ) from None
    except (ArithmeticError, ValueError, MemoryError, RecursionError) as e:
        # Extreme inputs (huge numbers, deep nesting) must end as a diagnostic, not a traceback.
        message = str(e) or type(e).__name__
        raise FunctionError(
            message,
            detail=f'Call to function "{f.name}" failed: {_sentence(message)}',
            function=f.name,
        ) from None
    return result.with_marks(result_marks)


def _check_arity(f: Function, args: list[Value]) -> None:
    n = len(f.params)
    if len(args) < n:
        missing = f.params[len(args)].name
        raise FunctionError(
            f"missing value for {missing!r}",
            summary="Not enough function arguments",
            detail=f'Function "{f.name}" expects {n} argument(s). Missing value for "{missing}".',
            function=f.name,
        )
    if f.variadic is None and len(args) > n:
        raise FunctionError(
            "too many arguments",
            len(args) - 1,
            summary="Too many function arguments",
            detail=f'Function "{f.name}" expects only {n} argument(s).',
            function=f.name,
        )


def _arg_error(f: Function, index: int, message: str) -> FunctionError:
    pname = f.param_for(index).name if index < len(f.params) or f.variadic else "?"
    return FunctionError(
        message,
        index,
        detail=f'Invalid value for "{pname}" parameter: {_sentence(message)}',
        function=f.name,
    )


def _sentence(message: str) -> str:
    return message if message.endswith((".", "?", "!")) else message + "."


def _conversion_message(e: ConversionError) -> str:
    path: Any = getattr(e, "path", None)
    message = getattr(e, "message", None) or str(e)
    if path:
        prefix = _format_path(path)
        if prefix and not message.startswith(prefix):
            return f"{prefix}: {message}"
    return message


def _format_path(path: Any) -> str:
    if isinstance(path, str):
        return path
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"element {step}")
        elif isinstance(step, str):
            parts.append(f"attribute {step!r}".replace("'", '"'))
        else:
            parts.append(str(step))
    return ", ".join(parts)
