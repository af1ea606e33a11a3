"""The parser for HCL's native syntax: source text to mlform's syntax tree.

`parse_hcl` reads a whole file into `mlform.config.syntax` (bodies, attributes, blocks) holding
`mlform.lang.ast` expressions; `parse_expression` reads one expression (the console, `--var`
values, addresses); `parse_template` reads a bare template (`templatefile`). `parse_file` picks
the native or the JSON syntax by file name.

The grammar and the error messages are HCL's (hashicorp/hcl, hclsyntax): users who know
Terraform get the same results and the same words. The parser is a hand-written recursive
descent over the token lists of `mlform.config.lexer`, with precedence climbing for binary
operators, because configurations get large and a generic parser generator is far too slow in
Python. Template whitespace stripping (`~`) and flush-heredoc indentation are applied here, so
the evaluator only concatenates.

Every node's range is a `SourceRange`: a `Range` that keeps character offsets and works out
line and column only when read, since a large file has hundreds of thousands of ranges and
only the few that a diagnostic shows are ever looked at.

Every syntax error is a `Diagnostic` with a precise range. After an error the parser skips to
the next line of the enclosing body and goes on, so one run reports several mistakes.
"""

from __future__ import annotations

import gc
import os
import re
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unicodedata import normalize

from mlform import diagnostics
from mlform.config.lexer import (
    CHEREDOC,
    CQUOTE,
    EOF,
    HLIT,
    IDENT,
    INVALID,
    NL,
    NUMBER,
    OHEREDOC,
    OQUOTE,
    QLIT,
    TCONTROL,
    TINTERP,
    TSEQEND,
    Tokens,
    tokenize,
    tokenize_template,
)
from mlform.config.syntax import Attribute, Block, Body, File
from mlform.diagnostics import Diagnostic, Pos, Range, Severity
from mlform.lang import values
from mlform.lang.ast import (
    AnonSymbol,
    AttrStep,
    BinaryChain,
    BinaryOp,
    Conditional,
    Expr,
    ForExpr,
    FunctionCall,
    GetAttr,
    Index,
    IndexStep,
    Literal,
    ObjectCons,
    ObjectItem,
    Parens,
    ScopeTraversal,
    Splat,
    Template,
    TemplateFor,
    TemplateIf,
    TemplateInterp,
    TemplateLiteral,
    TemplatePart,
    TemplateWrap,
    TupleCons,
    UnaryOp,
)
from mlform.lang.limits import MAX_NESTING

__all__ = [
    "parse_hcl",
    "parse_file",
    "parse_expression",
    "parse_template",
    "SourceLines",
    "SourceRange",
]

# Binary operators and their precedence (higher binds tighter), as in HCL.
_PREC = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}

# A run of more binary operators than this (at one level of an expression) is kept flat, as a
# `BinaryChain`; shorter runs are nested `BinaryOp`s.
_CHAIN_MIN = 8

_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.?))|\$\$\{|%%\{", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}

# Parts of a template before they become a tree: [kind, payload, start, end, extra]
_LIT, _INTERP, _IF, _ELSE, _ENDIF, _FOR, _ENDFOR = range(7)
_DIRECTIVE_NAMES = {_ELSE: "else", _ENDIF: "endif", _ENDFOR: "endfor"}


# Positions are made on demand: a parse creates a range for nearly every token, but line and
# column are read only for the few that a diagnostic is about.
_new = object.__new__
_set_line = Pos.line.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_column = Pos.column.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_byte = Pos.byte.__set__  # type: ignore[attr-defined, misc]  # slot descriptor


class SourceLines:
    """Where the lines of one source text start, to turn character offsets into positions.
    `base` is where the text begins in a larger file (line 1, column 1 by default)."""

    __slots__ = ("filename", "starts", "base", "_cache")

    def __init__(self, text: str, filename: str, base: Pos | None = None):
        self.filename = filename
        starts = [0]
        find = text.find
        j = find("\n")
        while j >= 0:
            starts.append(j + 1)
            j = find("\n", j + 1)
        self.starts = starts
        self.base = base
        self._cache: dict[int, Pos] = {}

    def pos(self, off: int) -> Pos:
        p = self._cache.get(off)
        if p is None:
            line = bisect_right(self.starts, off)
            col = off - self.starts[line - 1] + 1
            base = self.base
            if base is None:
                p = _new(Pos)
                _set_line(p, line)
                _set_column(p, col)
                _set_byte(p, off)
            elif line == 1:
                p = Pos(base.line, base.column + col - 1, base.byte + off)
            else:
                p = Pos(base.line + line - 1, col, base.byte + off)
            self._cache[off] = p
        return p

    def range(self, a: int, b: int) -> SourceRange:
        r = _new(SourceRange)
        _set_a(r, a)
        _set_b(r, b)
        _set_lines(r, self)
        return r


class SourceRange(Range):
    """A `Range` that keeps character offsets and works out line and column when they are
    read. It is a `Range` in every respect (equal to and hashing like the plain `Range` with
    the same positions, and pickled as one)."""

    __slots__ = ("_a", "_b", "_lines")
    _a: int
    _b: int
    _lines: SourceLines

    def __new__(cls, *args: Any, **kwargs: Any) -> Range:  # type: ignore[misc]
        # Built by its constructor (as `dataclasses.replace` does): a plain Range. The parser
        # makes source ranges with `SourceLines.range`.
        return Range(*args, **kwargs)

    @property  # type: ignore[misc]
    def filename(self) -> str:  # type: ignore[override]
        return self._lines.filename

    @property  # type: ignore[misc]
    def start(self) -> Pos:  # type: ignore[override]
        return self._lines.pos(self._a)

    @property  # type: ignore[misc]
    def end(self) -> Pos:  # type: ignore[override]
        return self._lines.pos(self._b)

    def offsets(self) -> tuple[int, int]:
        """Start and end as offsets into the file."""
        base = self._lines.base
        if base is None:
            return self._a, self._b
        return base.byte + self._a, base.byte + self._b

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return (self.filename, self.start, self.end) == (other.filename, other.start, other.end)

    def __hash__(self) -> int:
        return hash((self.filename, self.start, self.end))

    def __reduce__(self) -> tuple[type[Range], tuple[str, Pos, Pos]]:
        return (Range, (self.filename, self.start, self.end))

    def __repr__(self) -> str:
        return repr(Range(self.filename, self.start, self.end))


_set_a = SourceRange._a.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_b = SourceRange._b.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_lines = SourceRange._lines.__set__  # type: ignore[attr-defined, misc]  # slot descriptor


class _Fail(Exception):
    """Abandons the current body item after its error has been recorded."""


class _Parser:
    def __init__(self, text: str, filename: str, toks: Tokens, start: Pos | None = None):
        self.text = text
        self.filename = filename
        self.k = toks.kinds
        self.s = toks.starts
        self.e = toks.ends
        self.i = 0
        # How many expressions, blocks and other nested constructs enclose the current token:
        # past MAX_NESTING the input is refused, so no later walk of the tree runs out of stack.
        self.depth = 0
        self.diags: list[Diagnostic] = []
        self.lines = SourceLines(text, filename, start)
        for err in toks.errors:
            self.diags.append(
                Diagnostic(Severity.ERROR, err.summary, err.detail, self.rng(err.start, err.end))
            )

    # -- positions -------------------------------------------------------------------------

    def pos(self, off: int) -> Pos:
        return self.lines.pos(off)

    def rng(self, a: int, b: int) -> Range:
        r = _new(SourceRange)
        _set_a(r, a)
        _set_b(r, b)
        _set_lines(r, self.lines)
        return r

    def tok_rng(self, i: int) -> Range:
        r = _new(SourceRange)
        _set_a(r, self.s[i])
        _set_b(r, self.e[i])
        _set_lines(r, self.lines)
        return r

    def tok_text(self, i: int) -> str:
        return self.text[self.s[i] : self.e[i]]

    # -- errors ----------------------------------------------------------------------------

    def fail(self, i: int, summary: str, detail: str, subject: Range | None = None) -> _Fail:
        """Record an error at token `i` (unless the tokenizer already reported that token) and
        return the exception that abandons the current item."""
        if self.k[i] != INVALID:
            if subject is None:
                subject = self.tok_rng(i)
            self.diags.append(Diagnostic(Severity.ERROR, summary, detail, subject))
        return _Fail()

    def recover(self, start: int) -> None:
        """Skip from token `start` to the end of the body item it begins: the next newline
        outside any nested braces, or the brace that closes the enclosing body."""
        k = self.k
        i = start
        depth = 0
        n = len(k) - 1
        while i < n:
            kind = k[i]
            if kind == "{":
                depth += 1
            elif kind == "}":
                if depth == 0:
                    break
                depth -= 1
            elif kind == NL and depth == 0:
                break
            i += 1
        self.i = i if i > start else start + 1

    # -- bodies ----------------------------------------------------------------------------

    def body(self, closer: str) -> Body:
        k = self.k
        attrs: dict[str, Attribute] = {}
        blocks: list[Block] = []
        depth = self.depth
        while True:
            i = self.i
            kind = k[i]
            if kind == NL:
                self.i = i + 1
                continue
            if kind == closer or kind == EOF:
                break
            try:
                if kind == "}":
                    self.fail(
                        i,
                        "Unexpected closing brace",
                        "This closing brace has no corresponding opening brace. Check the "
                        "nesting of the blocks above it.",
                    )
                    self.i = i + 1
                    continue
                if kind != IDENT:
                    raise self.fail(
                        i,
                        "Argument or block definition required",
                        "An argument or block definition is required here.",
                    )
                nk = k[i + 1]
                if nk == "=":
                    attr = self.attribute()
                    after = k[self.i]
                    if after != NL and after != EOF:
                        raise self.fail(
                            self.i,
                            "Missing newline after argument",
                            "An argument definition must end with a newline.",
                        )
                    self.add_attribute(attrs, attr)
                elif nk == IDENT or nk == OQUOTE or nk == "{":
                    blocks.append(self.block())
                else:
                    raise self.fail(
                        i + 1,
                        "Argument or block definition required",
                        "An argument or block definition is required here. To set an argument, "
                        'use the equals sign "=" to introduce the argument value.',
                    )
            except _Fail:
                self.depth = depth
                self.recover(i)
            except RecursionError:
                self.depth = depth
                self.too_deep(i)
                self.recover(i)
        return Body(attrs, blocks)

    def too_deep(self, i: int) -> None:
        self.diags.append(
            Diagnostic(
                Severity.ERROR,
                "Expression nested too deeply",
                "This expression nests brackets, calls or conditionals more deeply than mlform "
                "can read. Split it up, for example by moving inner parts into locals.",
                self.tok_rng(i),
            )
        )

    def nested_too_deeply(self, i: int, what: str = "expression") -> _Fail:
        """The error for a construct that would be nested more than MAX_NESTING levels deep."""
        if what == "block":
            summary = "Blocks nested too deeply"
            detail = (
                f"Blocks can be nested at most {MAX_NESTING} levels deep. Flatten this "
                "configuration, for example by moving the inner blocks into a module."
            )
        else:
            summary = "Expression nested too deeply"
            detail = (
                "Brackets, braces, parentheses, function calls, templates, conditionals, unary "
                f"operators and splats can be nested at most {MAX_NESTING} levels deep. Split "
                "this expression up, for example by moving inner parts into locals."
            )
        return self.fail(i, summary, detail)

    def add_attribute(self, attrs: dict[str, Attribute], attr: Attribute) -> None:
        prev = attrs.get(attr.name)
        if prev is None:
            attrs[attr.name] = attr
            return
        where = prev.name_range
        self.diags.append(
            Diagnostic(
                Severity.ERROR,
                "Attribute redefined",
                f'The argument "{attr.name}" was already set at {where.filename} line '
                f"{where.start.line}. Each argument may be set only once.",
                attr.name_range,
            )
        )

    def attribute(self) -> Attribute:
        i = self.i
        self.i = i + 2
        expr = self.expr()
        name_range = self.tok_rng(i)
        return Attribute(
            self.tok_text(i),
            expr,
            self.rng(self.s[i], expr.range._b),  # type: ignore[attr-defined]
            name_range,
        )

    def block(self) -> Block:
        k = self.k
        i = self.i
        depth = self.depth = self.depth + 1
        if depth > MAX_NESTING:
            raise self.nested_too_deeply(i, "block")
        labels: list[str] = []
        label_ranges: list[Range] = []
        j = i + 1
        while True:
            kind = k[j]
            if kind == "{":
                break
            if kind == IDENT:
                labels.append(self.tok_text(j))
                label_ranges.append(self.tok_rng(j))
                j += 1
            elif kind == OQUOTE:
                if k[j + 1] == CQUOTE:
                    labels.append("")
                    end = j + 1
                elif k[j + 1] == QLIT and k[j + 2] == CQUOTE:
                    labels.append(self.decode_quoted(j + 1))
                    end = j + 2
                else:
                    raise self.fail(
                        j + 1,
                        "Invalid block label",
                        "A block label must be a plain quoted string: template sequences "
                        "(${ ... } and %{ ... }) are not allowed here.",
                    )
                if self.e[end] == self.s[end]:
                    raise _Fail()  # unterminated string, already reported
                label_ranges.append(self.rng(self.s[j], self.e[end]))
                j = end + 1
            else:
                if kind == "=":
                    detail = (
                        'The equals sign "=" indicates an argument definition, and must not be '
                        "used when defining a block."
                    )
                else:
                    detail = (
                        'Either a quoted string block label or an opening brace ("{") is '
                        "expected here."
                    )
                raise self.fail(j, "Invalid block definition", detail)
        open_i = j
        self.i = j + 1
        if k[self.i] == NL:
            body = self.body("}")
        elif k[self.i] == "}":
            body = Body()
        else:
            body = self.single_line_body()
        close = self.i
        if k[close] != "}":
            raise self.fail(
                close,
                "Unclosed configuration block",
                "There is no closing brace for this block before the end of the file. This may "
                "be caused by incorrect brace nesting elsewhere in this file.",
                self.tok_rng(open_i),
            )
        self.i = close + 1
        after = k[self.i]
        if after != NL and after != EOF and after != "}":
            raise self.fail(
                self.i,
                "Missing newline after block definition",
                "A block definition must end with a newline.",
            )
        body.range = self.rng(self.s[open_i], self.e[close])
        type_range = self.tok_rng(i)
        self.depth = depth - 1
        return Block(
            self.tok_text(i),
            labels,
            body,
            self.rng(self.s[i], self.e[close]),
            type_range,
            label_ranges,
        )

    def single_line_body(self) -> Body:
        """`name { arg = value }`: at most one argument, on the block's own line."""
        k = self.k
        i = self.i
        if k[i] == IDENT and k[i + 1] == "=":
            attr = self.attribute()
            if k[self.i] != "}":
                raise self.fail(
                    self.i,
                    "Invalid single-argument block definition",
                    "A single-line block definition must end with a closing brace immediately "
                    "after its single argument definition.",
                )
            return Body({attr.name: attr}, [])
        if k[i] == IDENT and k[i + 1] in (IDENT, OQUOTE, "{"):
            raise self.fail(
                i,
                "Invalid single-argument block definition",
                "A single-line block definition can contain only a single argument. To define "
                "a nested block, place it on a line of its own within its parent block.",
            )
        raise self.fail(
            i,
            "Argument or block definition required",
            "An argument or block definition is required here.",
        )

    # -- expressions -----------------------------------------------------------------------

    def expr(self) -> Expr:
        depth = self.depth = self.depth + 1
        if depth > MAX_NESTING:
            raise self.nested_too_deeply(self.i)
        e = self.conditional()
        self.depth = depth - 1
        return e

    def conditional(self) -> Expr:
        cond = self.binary(1)
        if self.k[self.i] != "?":
            return cond
        self.i += 1
        true = self.expr()
        if self.k[self.i] != ":":
            raise self.fail(
                self.i,
                "Missing false expression in conditional",
                "The conditional operator (...?...:...) requires a false expression, delimited "
                "by a colon.",
            )
        self.i += 1
        false = self.expr()
        return Conditional(
            cond,
            true,
            false,
            self.rng(cond.range._a, false.range._b),  # type: ignore[attr-defined]
        )

    def binary(self, min_prec: int) -> Expr:
        """Operators of precedence `min_prec` or higher, left-associative. A long run of them
        becomes one flat `BinaryChain` (the recursion here is per precedence level only)."""
        k = self.k
        op = k[self.i]
        left = self.unary() if op == "-" or op == "!" else self.term()
        ops: list[str] = []
        rights: list[Expr] = []
        while True:
            op = k[self.i]
            prec = _PREC.get(op)
            if prec is None or prec < min_prec:
                break
            self.i += 1
            ops.append(op)
            rights.append(self.binary(prec + 1))
        if not ops:
            return left
        a = left.range._a  # type: ignore[attr-defined]
        if len(ops) > _CHAIN_MIN:
            ranges = [self.rng(a, r.range._b) for r in rights]  # type: ignore[attr-defined]
            return BinaryChain(left, ops, rights, ranges, ranges[-1])
        for op, right in zip(ops, rights, strict=True):
            left = BinaryOp(op, left, right, self.rng(a, right.range._b))  # type: ignore[attr-defined]
        return left

    def unary(self) -> Expr:
        k = self.k
        first = self.i
        i = first
        while k[i] == "-" or k[i] == "!":
            i += 1
        if self.depth + i - first > MAX_NESTING:
            raise self.nested_too_deeply(first + MAX_NESTING - self.depth)
        self.i = i
        node = self.term()
        end = node.range._b  # type: ignore[attr-defined]
        for j in range(i - 1, first - 1, -1):
            node = UnaryOp(k[j], node, self.rng(self.s[j], end))
        return node

    def term(self) -> Expr:
        """A primary expression with any attribute access, index or splat after it."""
        node = self.primary()
        nk = self.k[self.i]
        if nk == "." or nk == "[":
            return self.postfix(node)
        return node

    def primary(self) -> Expr:
        k = self.k
        i = self.i
        kind = k[i]
        if kind == IDENT:
            nk = k[i + 1]
            if nk == "(" or nk == "::":
                return self.call()
            name = self.text[self.s[i] : self.e[i]]
            self.i = i + 1
            r = self.tok_rng(i)
            if name == "true":
                return Literal(values.TRUE, r)
            if name == "false":
                return Literal(values.FALSE, r)
            if name == "null":
                return Literal(values.NULL, r)
            return ScopeTraversal(name, [], r, r)
        if kind == OQUOTE:
            return self.quoted_template()
        if kind == NUMBER:
            self.i = i + 1
            return Literal(self.number(i), self.tok_rng(i))
        if kind == "{":
            return self.object_cons()
        if kind == "[":
            return self.tuple_cons()
        if kind == "(":
            self.i = i + 1
            inner = self.expr()
            if k[self.i] != ")":
                raise self.fail(
                    self.i,
                    "Unbalanced parentheses",
                    "Expected a closing parenthesis to terminate the expression.",
                )
            self.i += 1
            return Parens(inner, self.rng(self.s[i], self.e[self.i - 1]))
        if kind == OHEREDOC:
            return self.heredoc()
        if kind == EOF or kind == NL:
            where = "the end of the file" if kind == EOF else "the end of the line"
            raise self.fail(
                i,
                "Invalid expression",
                f"Expected the start of an expression, but found {where}.",
            )
        raise self.fail(
            i,
            "Invalid expression",
            "Expected the start of an expression, but found an invalid expression token.",
        )

    def number(self, i: int) -> values.Value:
        t = self.text[self.s[i] : self.e[i]]
        if len(t) <= 18 and t.isdigit():
            return values.Value(values.NUMBER, int(t))
        try:
            return values.number(t)
        except values.NumberRangeError as exc:
            raise self.fail(i, "Number out of range", f"{str(exc).capitalize()}.") from None

    def postfix(self, node: Expr) -> Expr:
        """Attribute access, indexing and splats after a term."""
        k = self.k
        s = self.s
        e = self.e
        while True:
            i = self.i
            kind = k[i]
            if kind == ".":
                nk = k[i + 1]
                if nk == IDENT:
                    name = self.text[s[i + 1] : e[i + 1]]
                    self.i = i + 2
                    end = e[i + 1]
                    if type(node) is ScopeTraversal:
                        node.steps.append(AttrStep(name, self.rng(s[i], end)))
                        node.range = self.rng(node.range._a, end)  # type: ignore[attr-defined]
                    else:
                        node = GetAttr(node, name, self.rng(node.range._a, end))  # type: ignore[attr-defined]
                elif nk == NUMBER:
                    # The legacy index syntax `list.0`; `a.0.1` scans as the number `0.1`.
                    t = self.tok_text(i + 1)
                    if "e" in t or "E" in t:
                        raise self.fail(
                            i + 1,
                            "Invalid legacy index syntax",
                            "The index after a dot must be a whole number.",
                        )
                    if len(t) > 18:
                        raise self.fail(
                            i + 1,
                            "Invalid legacy index syntax",
                            "The index after a dot is too large.",
                        )
                    off = s[i + 1]
                    for piece in t.split("."):
                        # The step spans the dot and the digits; the key just the digits.
                        end = off + len(piece)
                        lkey = Literal(values.Value(values.NUMBER, int(piece)), self.rng(off, end))
                        node = self.index_step(node, lkey, off - 1, end)
                        off = end + 1
                    self.i = i + 2
                elif nk == "*":
                    # The attribute-only splat `x.*.name`: only attribute steps follow it.
                    self.i = i + 2
                    each: Expr = AnonSymbol(self.rng(s[i], e[i + 1]))
                    while k[self.i] == "." and k[self.i + 1] == IDENT:
                        j = self.i
                        each = GetAttr(
                            each,
                            self.tok_text(j + 1),
                            self.rng(each.range._a, e[j + 1]),  # type: ignore[attr-defined]
                        )
                        self.i = j + 2
                    if k[self.i] == "." and k[self.i + 1] == "*":
                        raise self.fail(
                            self.i + 1,
                            "Nested splat expression not allowed",
                            "A splat expression (*) cannot be used inside another attribute-only "
                            "splat expression.",
                        )
                    node = Splat(node, each, False, self.rng(node.range._a, each.range._b))  # type: ignore[attr-defined]
                else:
                    raise self.fail(
                        i + 1,
                        "Invalid attribute name",
                        "An attribute name is required after a dot.",
                    )
            elif kind == "[":
                if k[i + 1] == "*" and k[i + 2] == "]":
                    self.i = i + 3
                    anon = AnonSymbol(self.rng(s[i], e[i + 2]))
                    depth = self.depth = self.depth + 1
                    if depth > MAX_NESTING:
                        raise self.nested_too_deeply(i)
                    each = self.postfix(anon)
                    self.depth = depth - 1
                    return Splat(node, each, True, self.rng(node.range._a, each.range._b))  # type: ignore[attr-defined]
                self.i = i + 1
                key = self.expr()
                close = self.i
                if k[close] != "]":
                    raise self.fail(
                        close,
                        "Missing close bracket on index",
                        'The index operator must end with a closing bracket ("]").',
                    )
                self.i = close + 1
                if type(key) is Literal:
                    node = self.index_step(node, key, s[i], e[close])
                else:
                    node = Index(node, key, self.rng(node.range._a, e[close]))  # type: ignore[attr-defined]
            else:
                return node

    def index_step(self, node: Expr, key: Literal, a: int, b: int) -> Expr:
        """`node[key]` with a literal key spanning source offsets a..b (brackets included)."""
        r = self.rng(a, b)
        if type(node) is ScopeTraversal:
            node.steps.append(IndexStep(key.value, r))
            node.range = self.rng(node.range._a, b)  # type: ignore[attr-defined]
            return node
        return Index(node, key, self.rng(node.range._a, b))  # type: ignore[attr-defined]

    def call(self) -> Expr:
        k = self.k
        i = self.i
        names = [self.tok_text(i)]
        j = i + 1
        while k[j] == "::":
            if k[j + 1] != IDENT:
                raise self.fail(
                    j + 1,
                    "Missing function name",
                    'A function name is required after "::".',
                )
            names.append(self.tok_text(j + 1))
            j += 2
        name_range = self.rng(self.s[i], self.e[j - 1])
        if k[j] != "(":
            raise self.fail(
                j,
                "Missing function call",
                'A namespaced function name must be followed by its arguments in parentheses: "name(...)".',
            )
        open_i = j
        self.i = j + 1
        args: list[Expr] = []
        expand = False
        while k[self.i] != ")":
            args.append(self.expr())
            kind = k[self.i]
            if kind == "...":
                expand = True
                self.i += 1
                if k[self.i] != ")":
                    raise self.fail(
                        self.i,
                        "Missing closing parenthesis",
                        "An expanded function argument (with ...) must be immediately followed by "
                        "closing parentheses.",
                    )
                break
            if kind == ",":
                self.i += 1
                continue
            if kind == ")":
                break
            if kind == EOF:
                raise self.fail(
                    self.i,
                    "Unterminated function call",
                    "There is no closing parenthesis for this function call before the end of "
                    "the file. This may be caused by incorrect parenthesis nesting elsewhere in "
                    "this file.",
                    self.tok_rng(open_i),
                )
            raise self.fail(
                self.i,
                "Missing argument separator",
                "A comma is required to separate each function argument from the next.",
            )
        close = self.i
        self.i = close + 1
        return FunctionCall(
            "::".join(names), args, expand, self.rng(self.s[i], self.e[close]), name_range
        )

    def is_keyword(self, i: int, word: str) -> bool:
        return self.k[i] == IDENT and self.text[self.s[i] : self.e[i]] == word

    def tuple_cons(self) -> Expr:
        k = self.k
        open_i = self.i
        self.i += 1
        if self.is_keyword(self.i, "for"):
            return self.for_expr(open_i, "]")
        items: list[Expr] = []
        while k[self.i] != "]":
            if k[self.i] == EOF:
                raise self.fail(
                    self.i,
                    "Unterminated tuple constructor expression",
                    "There is no corresponding closing bracket before the end of the file. This "
                    "may be caused by incorrect bracket nesting elsewhere in this file.",
                    self.tok_rng(open_i),
                )
            items.append(self.expr())
            kind = k[self.i]
            if kind == ",":
                self.i += 1
            elif kind != "]":
                if kind == EOF:
                    continue
                raise self.fail(
                    self.i,
                    "Missing item separator",
                    "Expected a comma to mark the beginning of the next item.",
                )
        close = self.i
        self.i = close + 1
        return TupleCons(items, self.rng(self.s[open_i], self.e[close]))

    def object_cons(self) -> Expr:
        k = self.k
        open_i = self.i
        self.i += 1
        if self.is_keyword(self.i, "for"):
            return self.for_expr(open_i, "}")
        items: list[ObjectItem] = []
        while True:
            kind = k[self.i]
            # Only newlines may stand between items; a comma is taken after an item alone, so
            # `{ a = 1\n, b = 2 }` and `{ , a = 1 }` are errors, as in Terraform.
            if kind == NL:
                self.i += 1
                continue
            if kind == "}":
                break
            if kind == EOF:
                raise self.fail(
                    self.i,
                    "Unterminated object constructor expression",
                    "There is no corresponding closing brace before the end of the file. This "
                    "may be caused by incorrect brace nesting elsewhere in this file.",
                    self.tok_rng(open_i),
                )
            key = self.expr()
            if type(key) is ScopeTraversal and not key.steps:
                # A bare name is the attribute's name, not a reference.
                key = Literal(values.string(key.root), key.range)
            kind = k[self.i]
            if kind != "=" and kind != ":":
                raise self.fail(
                    self.i,
                    "Missing key/value separator",
                    'Expected an equals sign ("=") to mark the beginning of the attribute value.',
                )
            self.i += 1
            value = self.expr()
            items.append(ObjectItem(key, value))
            kind = k[self.i]
            if kind == "," or kind == NL:
                self.i += 1
            elif kind != "}":
                if kind == EOF:
                    continue
                raise self.fail(
                    self.i,
                    "Missing attribute separator",
                    "Expected a newline or comma to mark the beginning of the next attribute.",
                )
        close = self.i
        self.i = close + 1
        return ObjectCons(items, self.rng(self.s[open_i], self.e[close]))

    def for_expr(self, open_i: int, closer: str) -> Expr:
        k = self.k
        self.i += 1  # "for"

        def bad(i: int, detail: str) -> _Fail:
            return self.fail(i, "Invalid 'for' expression", detail)

        if k[self.i] != IDENT:
            raise bad(self.i, "For expression requires variable name after 'for'.")
        value_var = self.tok_text(self.i)
        key_var: str | None = None
        self.i += 1
        if k[self.i] == ",":
            self.i += 1
            if k[self.i] != IDENT:
                raise bad(self.i, "For expression requires value variable name after comma.")
            key_var = value_var
            value_var = self.tok_text(self.i)
            self.i += 1
        if not self.is_keyword(self.i, "in"):
            raise bad(
                self.i, "For expression requires the 'in' keyword after its name declarations."
            )
        self.i += 1
        coll = self.expr()
        if k[self.i] != ":":
            raise bad(self.i, "For expression requires a colon after the collection expression.")
        self.i += 1
        key: Expr | None = None
        if closer == "}":
            key = self.expr()
            if k[self.i] != "=>":
                raise bad(
                    self.i,
                    "Key expression is required when building an object: the key and the value "
                    'are separated by "=>".',
                )
            self.i += 1
        value = self.expr()
        if k[self.i] == "=>":
            raise bad(self.i, "Key expression is not valid when building a tuple.")
        group = False
        if k[self.i] == "...":
            if closer != "}":
                raise bad(self.i, "Grouping ellipsis (...) cannot be used when building a tuple.")
            group = True
            self.i += 1
        cond: Expr | None = None
        if self.is_keyword(self.i, "if"):
            self.i += 1
            cond = self.expr()
        close = self.i
        if k[close] != closer:
            raise bad(
                close,
                f'Extra characters after the end of the "for" expression; expected "{closer}".',
            )
        self.i = close + 1
        return ForExpr(
            key_var,
            value_var,
            coll,
            key,
            value,
            cond,
            group,
            self.rng(self.s[open_i], self.e[close]),
        )

    # -- templates -------------------------------------------------------------------------

    def decode_quoted(self, i: int) -> str:
        raw = self.text[self.s[i] : self.e[i]]
        if "\\" not in raw and "$${" not in raw and "%%{" not in raw:
            # Strings are Unicode-normalized (NFC), as in HCL: "años" typed with a combining
            # tilde equals the precomposed one.
            return raw if raw.isascii() else normalize("NFC", raw)
        base = self.s[i]

        def repl(m: re.Match[str]) -> str:
            u4, u8, ch = m.group(1), m.group(2), m.group(3)
            if u4 is not None or u8 is not None:
                cp = int(u4 or u8, 16)
                if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                    self.diags.append(
                        Diagnostic(
                            Severity.ERROR,
                            "Invalid escape sequence",
                            "The escape sequence does not name a valid Unicode character.",
                            self.rng(base + m.start(), base + m.end()),
                        )
                    )
                    return ""
                return chr(cp)
            if ch is None:
                return m.group(0)[1:]  # $${ -> ${, %%{ -> %{
            simple = _SIMPLE_ESCAPES.get(ch)
            if simple is not None:
                return simple
            if ch in ("u", "U"):
                detail = (
                    f"The \\{ch} escape sequence must be followed by "
                    f"{'four' if ch == 'u' else 'eight'} hexadecimal digits."
                )
            else:
                detail = f'The symbol "{ch}" is not a valid escape sequence selector.'
            self.diags.append(
                Diagnostic(
                    Severity.ERROR,
                    "Invalid escape sequence",
                    detail,
                    self.rng(base + m.start(), base + m.end()),
                )
            )
            return ch

        text = _ESCAPE.sub(repl, raw)
        # Normalized after the escapes are decoded: "cafe\u0301" is "café" too.
        return text if text.isascii() else normalize("NFC", text)

    def decode_heredoc(self, i: int) -> str:
        raw = self.text[self.s[i] : self.e[i]]
        if not raw.isascii():
            raw = normalize("NFC", raw)
        if "$${" in raw or "%%{" in raw:
            raw = raw.replace("$${", "${").replace("%%{", "%{")
        return raw

    def quoted_template(self) -> Expr:
        k = self.k
        open_i = self.i
        i = open_i + 1
        kind = k[i]
        # Most strings have no interpolation at all.
        if kind == CQUOTE:
            self.i = i + 1
            return Literal(values.string(""), self.rng(self.s[open_i], self.e[i]))
        if kind == QLIT and k[i + 1] == CQUOTE:
            self.i = i + 2
            return Literal(
                values.string(self.decode_quoted(i)), self.rng(self.s[open_i], self.e[i + 1])
            )
        self.i = i
        parts = self.template_parts(CQUOTE, self.decode_quoted)
        close = self.i
        self.i = close + 1
        return self.build_template(parts, self.s[open_i], self.e[close])

    def heredoc(self) -> Expr:
        open_i = self.i
        flush = self.text[self.s[open_i] + 2] == "-"
        self.i += 1
        parts = self.template_parts(CHEREDOC, self.decode_heredoc)
        close = self.i
        self.i = close + 1
        if flush:
            _flush_heredoc(parts)
        return self.build_template(parts, self.s[open_i], self.e[close])

    def template_parts(self, end: str, decode: Callable[[int], str]) -> list[list[Any]]:
        """The flat parts of a template up to its `end` token, with `~` stripping applied."""
        k = self.k
        s = self.s
        e = self.e
        parts: list[list[Any]] = []
        ltrim = False
        while True:
            i = self.i
            kind = k[i]
            if kind == end:
                return parts
            if kind == QLIT or kind == HLIT:
                text = decode(i)
                if ltrim:
                    text = text.lstrip()
                    ltrim = False
                parts.append([_LIT, text, s[i], e[i], None])
                self.i = i + 1
                continue
            if kind != TINTERP and kind != TCONTROL:
                raise self.fail(
                    i,
                    "Unterminated template string",
                    "The template is not closed before the end of the file.",
                )
            ltrim = False
            if e[i] - s[i] == 3 and parts and parts[-1][0] == _LIT:
                parts[-1][1] = parts[-1][1].rstrip()
            self.i = i + 1
            if kind == TINTERP:
                ex = self.expr()
                close = self.close_sequence(i, end)
                parts.append([_INTERP, ex, s[i], e[close], None])
            else:
                parts.append(self.directive(i, end))
                close = self.i - 1
            if e[close] - s[close] == 2:
                ltrim = True

    def close_sequence(self, open_i: int, end: str) -> int:
        close = self.i
        kind = self.k[close]
        if kind != TSEQEND:
            if kind == EOF:
                raise self.fail(
                    open_i,
                    "Unclosed template interpolation sequence",
                    "There is no closing brace for this interpolation sequence before the end of "
                    "the file. This might be caused by incorrect nesting inside the given "
                    "expression.",
                )
            if kind == ":":
                raise self.fail(
                    close,
                    "Extra characters after interpolation expression",
                    "Template interpolation doesn't expect a colon at this location. Did you "
                    "intend this to be a literal sequence to be processed as part of another "
                    'language? If so, you can escape it by starting with "$${" instead of just '
                    '"${".',
                )
            raise self.fail(
                close,
                "Extra characters after interpolation expression",
                "Expected a closing brace to end the interpolation expression, but found extra "
                "characters.\n\nThis can happen when you include interpolation syntax for "
                "another language, such as shell scripting, but forget to escape the "
                "interpolation start token. If this is an embedded sequence for another "
                'language, escape it by starting with "$${" instead of just "${".',
            )
        self.i = close + 1
        return close

    def directive(self, open_i: int, end: str) -> list[Any]:
        k = self.k
        i = self.i
        if k[i] != IDENT:
            raise self.fail(
                i,
                "Invalid template directive",
                'A template directive keyword ("if", "for", etc) is expected at the beginning of '
                "a %{ sequence.",
            )
        word = self.tok_text(i)
        self.i = i + 1
        if word == "if":
            cond = self.expr()
            close = self.close_directive(open_i, "if")
            return [_IF, cond, self.s[open_i], self.e[close], None]
        if word == "for":
            if k[self.i] != IDENT:
                raise self.fail(
                    self.i,
                    "Invalid 'for' directive",
                    "For directive requires variable name after 'for'.",
                )
            value_var = self.tok_text(self.i)
            key_var = None
            self.i += 1
            if k[self.i] == ",":
                self.i += 1
                if k[self.i] != IDENT:
                    raise self.fail(
                        self.i,
                        "Invalid 'for' directive",
                        "For directive requires value variable name after comma.",
                    )
                key_var = value_var
                value_var = self.tok_text(self.i)
                self.i += 1
            if not self.is_keyword(self.i, "in"):
                raise self.fail(
                    self.i,
                    "Invalid 'for' directive",
                    "For directive requires 'in' keyword after names.",
                )
            self.i += 1
            coll = self.expr()
            close = self.close_directive(open_i, "for")
            return [_FOR, coll, self.s[open_i], self.e[close], (key_var, value_var)]
        kind = {"else": _ELSE, "endif": _ENDIF, "endfor": _ENDFOR}.get(word)
        if kind is None:
            raise self.fail(
                i,
                "Invalid template control keyword",
                f'"{word}" is not a valid template control keyword. Use "if", "else", "endif", '
                '"for" or "endfor".',
            )
        close = self.close_directive(open_i, word)
        return [kind, None, self.s[open_i], self.e[close], None]

    def close_directive(self, open_i: int, word: str) -> int:
        close = self.i
        if self.k[close] != TSEQEND:
            raise self.fail(
                close,
                f"Extra characters in {word} marker",
                f"Expected a closing brace to end the {word} directive.",
            )
        self.i = close + 1
        return close

    def build_template(self, parts: list[list[Any]], start: int, end: int) -> Expr:
        r = self.rng(start, end)
        if len(parts) == 1 and parts[0][0] == _INTERP:
            return TemplateWrap(parts[0][1], r)
        # Join neighbouring literals (stripping can leave several in a row).
        melded: list[list[Any]] = []
        for p in parts:
            if p[0] == _LIT and melded and melded[-1][0] == _LIT:
                prev = melded[-1]
                melded[-1] = [_LIT, prev[1] + p[1], prev[2], p[3], None]
            else:
                melded.append(p)
        if all(p[0] == _LIT for p in melded):
            return Literal(values.string("".join(p[1] for p in melded)), r)
        tree, pos, stop = self.template_tree(melded, 0)
        if stop is not None:
            p = melded[stop]
            raise self.fail_at(
                p[2],
                p[3],
                f"Unexpected {_DIRECTIVE_NAMES[p[0]]} directive",
                "The control directives within this template are unbalanced.",
            )
        return Template(tree, r)

    def fail_at(self, a: int, b: int, summary: str, detail: str) -> _Fail:
        self.diags.append(Diagnostic(Severity.ERROR, summary, detail, self.rng(a, b)))
        return _Fail()

    def template_tree(
        self, parts: list[list[Any]], pos: int, level: int = 0
    ) -> tuple[list[TemplatePart], int, int | None]:
        """Nest the flat parts from `pos`; returns the parts, the next position, and the index
        of the else/endif/endfor part that stopped it (None at the end). `level` counts the
        directives around these parts."""
        out: list[TemplatePart] = []
        n = len(parts)
        while pos < n:
            p = parts[pos]
            kind = p[0]
            if (kind == _IF or kind == _FOR) and self.depth + level >= MAX_NESTING:
                raise self.fail_at(
                    p[2],
                    p[3],
                    "Template directives nested too deeply",
                    f"Template directives (%{{ if }}, %{{ for }}) can be nested at most "
                    f"{MAX_NESTING} levels deep, counting the expressions around the template.",
                )
            if kind == _LIT:
                if p[1]:
                    out.append(TemplateLiteral(p[1], self.rng(p[2], p[3])))
                pos += 1
            elif kind == _INTERP:
                out.append(TemplateInterp(p[1], self.rng(p[2], p[3])))
                pos += 1
            elif kind == _IF:
                then, pos, stop = self.template_tree(parts, pos + 1, level + 1)
                else_: list[TemplatePart] | None = None
                if stop is not None and parts[stop][0] == _ELSE:
                    else_, pos, stop = self.template_tree(parts, pos, level + 1)
                    if stop is not None and parts[stop][0] == _ELSE:
                        q = parts[stop]
                        raise self.fail_at(
                            q[2],
                            q[3],
                            "Unexpected else directive",
                            "Already in the else clause for this if.",
                        )
                if stop is None or parts[stop][0] != _ENDIF:
                    if stop is None:
                        raise self.fail_at(
                            p[2],
                            p[3],
                            "Unexpected end of template",
                            "The if directive is missing its corresponding endif directive.",
                        )
                    q = parts[stop]
                    raise self.fail_at(
                        q[2],
                        q[3],
                        f"Unexpected {_DIRECTIVE_NAMES[q[0]]} directive",
                        "Expecting an endif directive for the if started here.",
                    )
                out.append(TemplateIf(p[1], then, else_, self.rng(p[2], parts[stop][3])))
            elif kind == _FOR:
                body, pos, stop = self.template_tree(parts, pos + 1, level + 1)
                if stop is None or parts[stop][0] != _ENDFOR:
                    if stop is None:
                        raise self.fail_at(
                            p[2],
                            p[3],
                            "Unexpected end of template",
                            "The for directive is missing its corresponding endfor directive.",
                        )
                    q = parts[stop]
                    raise self.fail_at(
                        q[2],
                        q[3],
                        f"Unexpected {_DIRECTIVE_NAMES[q[0]]} directive",
                        "Expecting an endfor directive corresponding to the for directive.",
                    )
                key_var, value_var = p[4]
                out.append(
                    TemplateFor(key_var, value_var, p[1], body, self.rng(p[2], parts[stop][3]))
                )
            else:
                return out, pos + 1, pos
        return out, pos, None


def _flush_heredoc(parts: list[list[Any]]) -> None:
    """Apply the `<<-` rule: remove from every line the smallest indentation among the lines
    (blank lines do not count). Only literal text at a line start is looked at, so interpolated
    values cannot change the result, as in HCL."""
    min_spaces = None
    newline = True
    adjust: list[list[Any]] = []
    for p in parts:
        if newline:
            newline = False
            if p[0] == _LIT:
                orig = p[1]
                trimmed = orig.lstrip()
                if not trimmed and orig.endswith("\n"):
                    pass  # a blank line
                else:
                    spaces = len(orig) - len(trimmed)
                    adjust.append(p)
                    if min_spaces is None or spaces < min_spaces:
                        min_spaces = spaces
            else:
                min_spaces = 0
        if p[0] == _LIT and p[1].endswith("\n"):
            newline = True
    if not min_spaces:
        return
    for p in adjust:
        p[1] = p[1][min_spaces:]
        p[2] += min_spaces


# -- entry points ---------------------------------------------------------------------------


class _GCPaused:
    """Pause the cyclic garbage collector while building a tree: a parse allocates hundreds of
    thousands of objects and no cycles, and collections triggered by those allocations would
    more than double the time. The new objects are frozen afterwards so later collections do
    not rescan them."""

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.freeze()
            gc.enable()


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: d.subject.start.byte if d.subject else -1)


def parse_hcl(text: str, filename: str) -> tuple[File, list[Diagnostic]]:
    """Parse a file of HCL native syntax."""
    if text.startswith("\ufeff"):
        text = text[1:]
    with _GCPaused():
        toks = tokenize(text)
        p = _Parser(text, filename, toks)
        body = p.body(EOF)
        body.range = p.rng(0, len(text))
    return File(filename, body, text), _sorted(p.diags)


def parse_expression(
    text: str, filename: str = "<expression>", start: Pos | None = None
) -> tuple[Expr | None, list[Diagnostic]]:
    """Parse one expression that must make up the whole text (newlines are allowed inside it).
    `start` is where the text begins in a larger file, for ranges; by default line 1, column 1."""
    toks = tokenize(text, newlines=False)
    p = _Parser(text, filename, toks, start)
    expr: Expr | None = None
    try:
        expr = p.expr()
        if p.k[p.i] != EOF:
            raise p.fail(
                p.i,
                "Extra characters after expression",
                "An expression was successfully parsed, but extra characters were found after it.",
            )
    except _Fail:
        expr = None
    except RecursionError:
        p.too_deep(0)
        expr = None
    return expr, _sorted(p.diags)


def parse_template(
    text: str, filename: str, start: Pos | None = None
) -> tuple[Expr | None, list[Diagnostic]]:
    """Parse a bare template (no quotes around it), such as a `templatefile` file."""
    toks = tokenize_template(text)
    p = _Parser(text, filename, toks, start)
    expr: Expr | None
    try:
        parts = p.template_parts(EOF, p.decode_heredoc)
        expr = p.build_template(parts, 0, len(text))
    except _Fail:
        expr = None
    except RecursionError:
        p.too_deep(0)
        expr = None
    return expr, _sorted(p.diags)


def parse_file(
    path: str | os.PathLike[str], text: str | None = None
) -> tuple[File, list[Diagnostic]]:
    """Parse a configuration file, reading it unless `text` is given: the JSON syntax for
    names ending in `.json`, the native syntax otherwise."""
    filename = os.fspath(path)
    if text is None:
        try:
            text = Path(filename).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            diag = diagnostics.encoding_error(filename, Path(filename).read_bytes(), exc)
            return File(filename, Body()), [diag]
        except OSError as exc:
            diag = Diagnostic(
                Severity.ERROR,
                "Failed to read file",
                f"The configuration file {filename} could not be read: {exc.strerror or exc}.",
            )
            return File(filename, Body()), [diag]
    diagnostics.register_source(filename, text)
    if filename.endswith(".json"):
        from mlform.config.json_parser import parse_json

        return parse_json(text, filename)
    return parse_hcl(text, filename)
