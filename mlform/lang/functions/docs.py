"""docs/functions.md, generated from the function registry.

Run `python -m mlform.lang.functions.docs > docs/functions.md` after changing a function; a test
checks that the committed file is what this module renders.
"""

from __future__ import annotations

from mlform.lang.functions import FAMILIES, FUNCTIONS, Function
from mlform.lang.types import DYNAMIC, Type

_INTRO = """\
# Functions

mlform's expression language has Terraform's built-in functions, with the same names,
arguments, results and errors. Call them as in Terraform: `upper("abc")`, and expand a list
into arguments with `...`: `max([1, 2, 3]...)`.

What holds for every function:

- **Arguments are converted** to the parameter's type first, as Terraform converts them:
  `upper(5)` is `"5"`, `abs("-3")` is `3`. A value that cannot be converted is an
  `Invalid function argument` error naming the parameter.
- **Null** is refused unless a parameter says it is accepted.
- **Unknown values** ("known after apply") give an unknown result of the function's result type,
  except where a function can answer anyway (`length` of a tuple whose elements are unknown).
- **Sensitive values**: the result is sensitive when an argument was (functions that pick
  elements out of a collection, such as `element`, `lookup` and `merge`, keep the marks of the
  elements instead); `nonsensitive` removes the mark.
- **Numbers are exact** decimals; only `log` and `pow` compute in floating point, as Terraform's
  do.

Where mlform cannot match Terraform exactly, it says so:

- `regex`, `regexall` and `replace` take Go RE2 patterns and run them on Python's `re`; named
  groups (`(?P<name>...)` and `(?<name>...)`), `\\z`, `\\Q...\\E` and POSIX classes
  (`[[:alpha:]]`) are translated, but of the Unicode classes only `\\pL`/`\\p{L}` and
  `\\p{Nd}` (outside brackets) are supported.
- Numbers are always finite: where Terraform would produce an infinity (`log(0, 10)`,
  `yamldecode(".inf")`), mlform reports an error.
- `base64gzip` produces valid gzip data whose bytes may differ from Terraform's, since the
  compressors differ; decompressed, the text is the same.
- `rsadecrypt` reads unencrypted PEM RSA keys (PKCS #1 and PKCS #8), not OpenSSH-format keys.
- `bcrypt` needs the `bcrypt` package (`pip install 'mlform[crypto]'`).
- Characters are counted as user-perceived characters (combining marks, emoji sequences and
  flags stay whole); rarer scripts' clustering rules (Hangul syllable parts, Indic conjuncts)
  are not applied.

This file is generated from the function registry by
`python -m mlform.lang.functions.docs > docs/functions.md`.
"""

_SPECIAL = """\
### `can(expression)`

Evaluates the given expression and returns a boolean value indicating whether the expression
produced a result without any errors. It is a special form of the language, not an ordinary
function: errors inside its argument do not stop evaluation.

- `can(regex("^ami-", var.image_id))` → `true` when the pattern matches, `false` otherwise
- `can(local.foo.bar)` → `false` when `local.foo` has no attribute `bar`

References to things that do not exist at all (an undeclared variable) are still errors.

### `try(expressions...)`

Evaluates all of its argument expressions in turn and returns the result of the first one that
does not produce any errors. Like `can`, it is a special form of the language.

- `try(local.config.name, "default")` → the name, or `"default"` when it is missing
- `try(tonumber(var.x), 0)` → the number, or `0`

When every argument fails, the error of the last one is reported.
"""


def _type_name(t: Type) -> str:
    return "any" if t is DYNAMIC else t.hcl()


def _signature(f: Function) -> str:
    parts = [f"{p.name} {_type_name(p.type)}" for p in f.params]
    if f.variadic is not None:
        parts.append(f"{f.variadic.name}... {_type_name(f.variadic.type)}")
    ret = f.returns
    ret_s = _type_name(ret) if isinstance(ret, Type) else "(depends on the arguments)"
    return f"{f.name}({', '.join(parts)}) → {ret_s}"


def _render_function(f: Function) -> list[str]:
    out = [f"### `{f.name}`", "", "```", _signature(f), "```", "", f.description, ""]
    if f.examples:
        out.append("Examples:")
        out.append("")
        out.append("```")
        for expr, result in f.examples:
            res = result.replace("\n", "\n  ")
            out.append(f"> {expr}")
            out.append(res)
        out.append("```")
        out.append("")
    for note in f.notes:
        out.append(f"- {note}")
    if f.notes:
        out.append("")
    return out


def render_markdown() -> str:
    """The whole of docs/functions.md."""
    out = [_INTRO]
    out.append("## Contents")
    out.append("")
    for family, title in FAMILIES.items():
        names = sorted(n for n, f in FUNCTIONS.items() if f.family == family)
        if family == "conversion":
            names = sorted([*names, "can", "try"])
        links = ", ".join(f"`{n}`" for n in names)
        out.append(f"- [{title}](#{title.lower().replace(' ', '-')}): {links}")
    out.append("")
    for family, title in FAMILIES.items():
        out.append(f"## {title}")
        out.append("")
        for name in sorted(n for n, f in FUNCTIONS.items() if f.family == family):
            out.extend(_render_function(FUNCTIONS[name]))
        if family == "conversion":
            out.append(_SPECIAL)
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_markdown())
