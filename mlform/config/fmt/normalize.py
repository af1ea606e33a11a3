"""The rewrites `terraform fmt` makes beyond whitespace, so that mlform's output matches it.

- An attribute whose whole value is one interpolation, `"${var.x}"`, becomes `var.x`; a value
  that then spans several lines is wrapped in parentheses so that it still parses.
- In a top-level `variable` block, a legacy quoted type (`"string"`, `"list"`, `"map"`) becomes
  the type expression (`string`, `list(string)`, `map(string)`), and a bare `list`, `map` or
  `set` becomes `list(any)` and so on.
- Block labels are written as quoted strings with canonical escapes: `resource aws_s3_bucket x`
  becomes `resource "aws_s3_bucket" "x"`.

Each rewrite replaces a span of tokens; the layout pass then sets all whitespace.
"""

from __future__ import annotations

from mlform.config.fmt import tokens as T
from mlform.config.fmt.structure import Structure
from mlform.config.fmt.tokens import Token


def _tok(ty: str, text: str) -> Token:
    return Token(ty, text)


def unwrap_interpolation(toks: list[Token]) -> list[Token]:
    """`"${ x }"` to `x`, when the string holds exactly one interpolation and nothing else."""
    if len(toks) < 5:
        return toks
    if (
        toks[0].type != T.OQUOTE
        or toks[1].type != T.TEMPLATE_INTERP
        or toks[-2].type != T.TEMPLATE_SEQ_END
        or toks[-1].type != T.CQUOTE
    ):
        return toks
    inside = toks[2:-2]
    quotes = 0
    for tok in inside:
        if tok.type == T.OQUOTE:
            quotes += 1
            continue
        if tok.type == T.CQUOTE:
            quotes -= 1
            continue
        if quotes > 0:
            continue  # interpolations of a nested string belong to a nested expression
        if tok.type in (T.TEMPLATE_INTERP, T.TEMPLATE_SEQ_END, T.QUOTED_LIT):
            return toks  # "${a}${b}" or "x${a}": not a single interpolation
    start, end = 0, len(inside)
    while start < end and inside[start].type == T.NEWLINE:
        start += 1
    while end > start and inside[end - 1].type == T.NEWLINE:
        end -= 1
    trimmed = inside[start:end]
    multi_line = False
    lead_paren = trail_paren = False
    for i, tok in enumerate(trimmed):
        if i == 0 and tok.type == T.OPAREN:
            lead_paren = True
        elif tok.type == T.NEWLINE:
            multi_line = True
        elif i == len(trimmed) - 1 and tok.type == T.CPAREN:
            trail_paren = True
    if multi_line and not (lead_paren and trail_paren):
        return [_tok(T.OPAREN, "("), *trimmed, _tok(T.CPAREN, ")")]
    return trimmed


def _ident_type(name: str, elem: str) -> list[Token]:
    return [_tok(T.IDENT, name), _tok(T.OPAREN, "("), _tok(T.IDENT, elem), _tok(T.CPAREN, ")")]


def normalize_type(toks: list[Token]) -> list[Token]:
    """A variable's `type`: legacy quoted types and bare collection kinds made explicit."""
    if len(toks) == 1:
        kw = toks[0]
        if kw.type == T.IDENT and kw.text in ("list", "map", "set"):
            return [kw, *_ident_type(kw.text, "any")[1:]]
        return toks
    if len(toks) == 3:
        if toks[0].type != T.OQUOTE or toks[1].type != T.QUOTED_LIT or toks[2].type != T.CQUOTE:
            return toks
        word = toks[1].text
        if word == "string":
            return [_tok(T.IDENT, "string")]
        if word in ("list", "map"):
            return _ident_type(word, "string")
    return toks


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(lit: str) -> str | None:
    out: list[str] = []
    i = 0
    while i < len(lit):
        c = lit[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = lit[i + 1] if i + 1 < len(lit) else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in ("u", "U"):
            width = 4 if e == "u" else 8
            digits = lit[i + 2 : i + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                return None
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            out.append(chr(code))
            i += 2 + width
        else:
            return None
    return "".join(out)


def _escape(value: str) -> str:
    out: list[str] = []
    for i, c in enumerate(value):
        if c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c in "$%":
            out.append(c * 2 if value[i + 1 : i + 2] == "{" else c)
        elif not c.isprintable():
            code = ord(c)
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(c)
    return "".join(out)


def canonical_label(toks: list[Token]) -> list[Token] | None:
    """A label as `"value"` with canonical escapes; None to leave it as written."""
    if len(toks) == 1 and toks[0].type == T.IDENT:
        value: str | None = toks[0].text
    elif len(toks) == 2:
        value = ""
    elif len(toks) == 3 and toks[1].type == T.QUOTED_LIT:
        value = _unescape(toks[1].text)
    else:
        # Terraform drops a label whose text holds "$" or "%"; mlform keeps it as written.
        return None
    if value is None:
        return None
    mid = [_tok(T.QUOTED_LIT, _escape(value))] if value else []
    return [_tok(T.OQUOTE, '"'), *mid, _tok(T.CQUOTE, '"')]


def apply(toks: list[Token], structure: Structure) -> list[Token]:
    """The token sequence with Terraform's rewrites applied."""
    edits: list[tuple[int, int, list[Token]]] = []
    for attr in structure.attrs:
        span = toks[attr.start : attr.end]
        if attr.name == "type" and attr.blocks == ("variable",):
            new = normalize_type(span)
        else:
            new = unwrap_interpolation(span)
        if new is not span:
            edits.append((attr.start, attr.end, new))
    for block in structure.blocks:
        labels = [canonical_label(toks[start:end]) for start, end in block.labels]
        if all(label is not None for label in labels):
            # Terraform rewrites everything between the type and the brace, comments included.
            new_span = [tok for label in labels for tok in label or ()]
            edits.append((block.type_index + 1, block.open_index, new_span))
        else:
            for (start, end), label in zip(block.labels, labels, strict=True):
                if label is not None:
                    edits.append((start, end, label))
    if not edits:
        return toks
    edits.sort(key=lambda e: e[0])
    out: list[Token] = []
    pos = 0
    for start, end, new in edits:
        out.extend(toks[pos:start])
        out.extend(new)
        pos = end
    out.extend(toks[pos:])
    return out
