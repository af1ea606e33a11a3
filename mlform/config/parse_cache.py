"""A cache of parsed configuration files, keyed by content, so unchanged files load fast.

`parse_file_cached` gives the same result as `mlform.config.parser.parse_file`. A file that
parsed without errors is stored under `.mlform/cache/parse/` (or the given folder), keyed by a
hash of its name, its text, mlform's version and this cache's format number; the next load of
the same text rebuilds the tree from the cache instead of parsing it.

The stored form is a compact nest of tuples written with `marshal`, not a pickle: unpickling
hundreds of thousands of small slotted objects is slower than parsing them. Ranges are stored
as pairs of character offsets and rebuilt, in bulk, as `SourceRange`s over the file's text,
which work out line and column only when something reads them.

The cache is an optimisation only: a cache that cannot be read or written, or holds something
unexpected, is ignored, never an error for the user. Files with syntax errors are not cached.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
import sys
import tempfile
from array import array
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any

from mlform import __version__, diagnostics
from mlform.config.parser import SourceLines, SourceRange
from mlform.config.syntax import Attribute, Block, Body, File
from mlform.diagnostics import Diagnostic, Range
from mlform.lang import ast, values
from mlform.lang.types import NUMBER, STRING

__all__ = ["parse_file_cached", "encode_file", "decode_file", "FORMAT", "DEFAULT_CACHE_DIR"]

# Bump when the stored form or the parser's output changes shape.
FORMAT = 7  # 7: long runs of binary operators as flat chains; NFC after escapes
DEFAULT_CACHE_DIR = Path(".mlform") / "cache" / "parse"

# Node tags of the stored form.
(
    _LITERAL,
    _TEMPLATE,
    _TWRAP,
    _SCOPE,
    _GETATTR,
    _INDEX,
    _ANON,
    _SPLAT,
    _CALL,
    _COND,
    _BINOP,
    _UNOP,
    _TUPLE,
    _OBJECT,
    _FOR,
    _PARENS,
    _CHAIN,
) = range(17)
_P_LIT, _P_INTERP, _P_IF, _P_FOR = range(4)
# Value tags.
_V_STR, _V_INT, _V_DEC, _V_TRUE, _V_FALSE, _V_NULL = range(6)


def _key(filename: str, text: str) -> str:
    h = hashlib.sha256()
    h.update(f"{FORMAT}\0{__version__}\0{sys.version_info[:2]}\0{filename}\0".encode())
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def parse_file_cached(
    path: str | os.PathLike[str],
    text: str | None = None,
    cache_dir: Path | None = None,
    store: bool = True,
) -> tuple[File, list[Diagnostic]]:
    """`parse_file`, through the parse cache. `store=False` reads the cache but does not add
    to it (for a caller with a cache of its own for the same run)."""
    from mlform.config.parser import parse_file

    filename = os.fspath(path)
    if text is None:
        try:
            text = Path(filename).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return parse_file(path)  # reports the problem
    folder = cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR
    key = _key(filename, text)
    entry = folder / key[:2] / key
    try:
        data = entry.read_bytes()
    except OSError:
        data = None
    if data is not None:
        enabled = gc.isenabled()
        gc.disable()  # loads makes many tuples; none are cyclic garbage
        try:
            f = decode_file(marshal.loads(data), filename, text)
        except Exception:  # noqa: BLE001  a damaged or foreign entry is just a miss
            f = None
        finally:
            if enabled:
                gc.enable()
        if f is not None:
            diagnostics.register_source(filename, text)
            return f, []
    f, diags = parse_file(path, text)
    if store and not diags:
        enabled = gc.isenabled()
        gc.disable()  # encoding makes many tuples; none are cyclic garbage
        try:
            _store(entry, marshal.dumps(encode_file(f)))
        except Exception:  # noqa: BLE001  an unwritable cache only costs speed
            pass
        finally:
            if enabled:
                gc.enable()
    return f, diags


def _store(entry: Path, data: bytes) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, entry)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- encoding -------------------------------------------------------------------------------


class _Encoder:
    def __init__(self, filename: str):
        self.filename = filename
        self.ranges: list[int] = []  # (start offset, end offset) pairs

    def r(self, rng: Range) -> int:
        rt = self.ranges
        idx = len(rt) >> 1
        if type(rng) is SourceRange and rng._lines.base is None:
            rt.append(rng._a)
            rt.append(rng._b)
        elif type(rng) is SourceRange:
            rt += rng.offsets()
        else:
            rt += (rng.start.byte, rng.end.byte)
        return idx

    def body(self, b: Body) -> tuple[Any, ...]:
        assert b.range is not None
        attrs = tuple(
            (a.name, self.r(a.range), self.r(a.name_range), self.expr(a.expr))
            for a in b.attributes.values()
        )
        blocks = tuple(
            (
                blk.type,
                tuple(blk.labels),
                self.body(blk.body),
                self.r(blk.range),
                self.r(blk.type_range),
                tuple(self.r(x) for x in blk.label_ranges),
            )
            for blk in b.blocks
        )
        return (attrs, blocks, self.r(b.range), b.from_json)

    def value(self, v: values.Value) -> tuple[int, Any]:
        x = v.v
        if x is None:
            return (_V_NULL, None)
        if x is True:
            return (_V_TRUE, None)
        if x is False:
            return (_V_FALSE, None)
        if isinstance(x, str):
            return (_V_STR, x)
        if isinstance(x, int):
            return (_V_INT, x)
        if isinstance(x, Decimal):
            return (_V_DEC, str(x))
        raise ValueError(f"unexpected literal {v!r}")

    def exprs(self, es: list[ast.Expr]) -> tuple[Any, ...]:
        return tuple(map(self.expr, es))

    def expr(self, e: ast.Expr | None) -> Any:
        if e is None:
            return None
        rng = e.range
        if type(rng) is SourceRange and rng._lines.base is None:
            # (r() inlined: this runs for every node)
            rt = self.ranges
            ri = len(rt) >> 1
            rt.append(rng._a)
            rt.append(rng._b)
        else:
            ri = self.r(rng)
        t = type(e)
        if t is ast.Literal:
            return (_LITERAL, ri, self.value(e.value))  # type: ignore[attr-defined]
        if t is ast.ScopeTraversal:
            steps = tuple(
                (s.name if type(s) is ast.AttrStep else self.value(s.key), self.r(s.range))  # type: ignore[attr-defined]
                for s in e.steps  # type: ignore[attr-defined]
            )
            return (_SCOPE, ri, e.root, steps, self.r(e.root_range))  # type: ignore[attr-defined]
        if t is ast.Template:
            return (_TEMPLATE, ri, self.parts(e.parts))  # type: ignore[attr-defined]
        if t is ast.TemplateWrap or t is ast.Parens:
            return (_TWRAP if t is ast.TemplateWrap else _PARENS, ri, self.expr(e.expr))  # type: ignore[attr-defined]
        if t is ast.GetAttr:
            return (_GETATTR, ri, self.expr(e.obj), e.name)  # type: ignore[attr-defined]
        if t is ast.Index:
            return (_INDEX, ri, self.expr(e.collection), self.expr(e.key))  # type: ignore[attr-defined]
        if t is ast.AnonSymbol:
            return (_ANON, ri)
        if t is ast.Splat:
            return (_SPLAT, ri, self.expr(e.source), self.expr(e.each), e.full)  # type: ignore[attr-defined]
        if t is ast.FunctionCall:
            return (
                _CALL,
                ri,
                e.name,  # type: ignore[attr-defined]
                self.exprs(e.args),  # type: ignore[attr-defined]
                e.expand_final,  # type: ignore[attr-defined]
                self.r(e.name_range),  # type: ignore[attr-defined]
            )
        if t is ast.Conditional:
            return (_COND, ri, self.expr(e.cond), self.expr(e.true), self.expr(e.false))  # type: ignore[attr-defined]
        if t is ast.BinaryOp:
            return (_BINOP, ri, e.op, self.expr(e.left), self.expr(e.right))  # type: ignore[attr-defined]
        if t is ast.UnaryOp:
            return (_UNOP, ri, e.op, self.expr(e.operand))  # type: ignore[attr-defined]
        if t is ast.BinaryChain:
            c: ast.BinaryChain = e  # type: ignore[assignment]
            ranges = tuple(self.r(r) for r in c.ranges)
            return (_CHAIN, ri, self.expr(c.first), tuple(c.ops), self.exprs(c.rights), ranges)
        if t is ast.TupleCons:
            return (_TUPLE, ri, self.exprs(e.items))  # type: ignore[attr-defined]
        if t is ast.ObjectCons:
            items = tuple((self.expr(i.key), self.expr(i.value)) for i in e.items)  # type: ignore[attr-defined]
            return (_OBJECT, ri, items)
        if t is ast.ForExpr:
            f: ast.ForExpr = e  # type: ignore[assignment]
            return (
                _FOR,
                ri,
                f.key_var,
                f.value_var,
                self.expr(f.collection),
                self.expr(f.key),
                self.expr(f.value),
                self.expr(f.cond),
                f.group,
            )
        raise ValueError(f"cannot store {t.__name__}")

    def parts(self, parts: list[ast.TemplatePart] | None) -> Any:
        if parts is None:
            return None
        out: list[tuple[Any, ...]] = []
        for p in parts:
            ri = self.r(p.range)
            t = type(p)
            if t is ast.TemplateLiteral:
                out.append((_P_LIT, ri, p.text))  # type: ignore[attr-defined]
            elif t is ast.TemplateInterp:
                out.append((_P_INTERP, ri, self.expr(p.expr)))  # type: ignore[attr-defined]
            elif t is ast.TemplateIf:
                out.append(
                    (_P_IF, ri, self.expr(p.cond), self.parts(p.then), self.parts(p.else_))  # type: ignore[attr-defined]
                )
            elif t is ast.TemplateFor:
                out.append(
                    (
                        _P_FOR,
                        ri,
                        p.key_var,  # type: ignore[attr-defined]
                        p.value_var,  # type: ignore[attr-defined]
                        self.expr(p.collection),  # type: ignore[attr-defined]
                        self.parts(p.body),  # type: ignore[attr-defined]
                    )
                )
            else:
                raise ValueError(f"cannot store {t.__name__}")
        return tuple(out)


def encode_file(f: File) -> tuple[Any, ...]:
    """The stored form of a parsed file (marshal-able nested tuples)."""
    enc = _Encoder(f.filename)
    body = enc.body(f.body)
    return (FORMAT, array("q", enc.ranges).tobytes(), body)


# -- decoding -------------------------------------------------------------------------------

_new = object.__new__
_set_a = SourceRange._a.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_b = SourceRange._b.__set__  # type: ignore[attr-defined, misc]  # slot descriptor
_set_lines = SourceRange._lines.__set__  # type: ignore[attr-defined, misc]  # slot descriptor


def _consume(it: Any) -> None:
    deque(it, 0)


class _Decoder:
    """Rebuilds a tree. Positions and ranges are made in bulk with C-level loops (`map` over
    slot setters), which is several times faster than calling their constructors."""

    def __init__(self, filename: str, text: str, range_bytes: bytes):
        offsets = array("q")
        offsets.frombytes(range_bytes)
        m = len(offsets) >> 1
        ranges = list(map(_new, repeat(SourceRange, m)))
        _consume(map(_set_a, ranges, offsets[0::2]))
        _consume(map(_set_b, ranges, offsets[1::2]))
        _consume(map(_set_lines, ranges, repeat(SourceLines(text, filename), m)))
        self.R = ranges

    def body(self, data: tuple[Any, ...]) -> Body:
        attrs_data, blocks_data, ri, from_json = data
        R = self.R
        expr = self.expr
        attrs = {}
        for name, ar, nr, ex in attrs_data:
            attrs[name] = Attribute(name, expr(ex), R[ar], R[nr])
        blocks = [
            Block(typ, list(labels), self.body(bd), R[br], R[tr], [R[x] for x in lrs])
            for typ, labels, bd, br, tr, lrs in blocks_data
        ]
        return Body(attrs, blocks, R[ri], from_json)

    def expr(self, d: Any) -> Any:
        if d is None:
            return None
        return _DECODERS[d[0]](self, d)

    def exprs(self, ds: tuple[Any, ...]) -> list[Any]:
        ex = self.expr
        return [ex(d) for d in ds]

    def parts(self, ds: Any) -> list[ast.TemplatePart] | None:
        if ds is None:
            return None
        out: list[ast.TemplatePart] = []
        R = self.R
        for d in ds:
            kind = d[0]
            if kind == _P_LIT:
                out.append(ast.TemplateLiteral(d[2], R[d[1]]))
            elif kind == _P_INTERP:
                out.append(ast.TemplateInterp(self.expr(d[2]), R[d[1]]))
            elif kind == _P_IF:
                then = self.parts(d[3]) or []
                out.append(ast.TemplateIf(self.expr(d[2]), then, self.parts(d[4]), R[d[1]]))
            else:
                body = self.parts(d[5]) or []
                out.append(ast.TemplateFor(d[2], d[3], self.expr(d[4]), body, R[d[1]]))
        return out


def _value(v: tuple[int, Any]) -> values.Value:
    tag, x = v
    if tag == _V_STR:
        return values.Value(STRING, x)
    if tag == _V_INT:
        return values.Value(NUMBER, x)
    if tag == _V_DEC:
        return values.Value(NUMBER, Decimal(x))
    if tag == _V_TRUE:
        return values.TRUE
    if tag == _V_FALSE:
        return values.FALSE
    if tag == _V_NULL:
        return values.NULL
    raise ValueError("bad value tag")


def _d_literal(dec: _Decoder, d: Any) -> Any:
    return ast.Literal(_value(d[2]), dec.R[d[1]])


def _d_scope(dec: _Decoder, d: Any) -> Any:
    R = dec.R
    steps: list[ast.Step] = []
    for s in d[3]:
        if type(s[0]) is str:
            steps.append(ast.AttrStep(s[0], R[s[1]]))
        else:
            steps.append(ast.IndexStep(_value(s[0]), R[s[1]]))
    return ast.ScopeTraversal(d[2], steps, R[d[1]], R[d[4]])


def _d_template(dec: _Decoder, d: Any) -> Any:
    return ast.Template(dec.parts(d[2]) or [], dec.R[d[1]])


def _d_twrap(dec: _Decoder, d: Any) -> Any:
    return ast.TemplateWrap(dec.expr(d[2]), dec.R[d[1]])


def _d_parens(dec: _Decoder, d: Any) -> Any:
    return ast.Parens(dec.expr(d[2]), dec.R[d[1]])


def _d_getattr(dec: _Decoder, d: Any) -> Any:
    return ast.GetAttr(dec.expr(d[2]), d[3], dec.R[d[1]])


def _d_index(dec: _Decoder, d: Any) -> Any:
    return ast.Index(dec.expr(d[2]), dec.expr(d[3]), dec.R[d[1]])


def _d_anon(dec: _Decoder, d: Any) -> Any:
    return ast.AnonSymbol(dec.R[d[1]])


def _d_splat(dec: _Decoder, d: Any) -> Any:
    return ast.Splat(dec.expr(d[2]), dec.expr(d[3]), d[4], dec.R[d[1]])


def _d_call(dec: _Decoder, d: Any) -> Any:
    return ast.FunctionCall(d[2], dec.exprs(d[3]), d[4], dec.R[d[1]], dec.R[d[5]])


def _d_cond(dec: _Decoder, d: Any) -> Any:
    return ast.Conditional(dec.expr(d[2]), dec.expr(d[3]), dec.expr(d[4]), dec.R[d[1]])


def _d_binop(dec: _Decoder, d: Any) -> Any:
    return ast.BinaryOp(d[2], dec.expr(d[3]), dec.expr(d[4]), dec.R[d[1]])


def _d_unop(dec: _Decoder, d: Any) -> Any:
    return ast.UnaryOp(d[2], dec.expr(d[3]), dec.R[d[1]])


def _d_chain(dec: _Decoder, d: Any) -> Any:
    R = dec.R
    return ast.BinaryChain(
        dec.expr(d[2]), list(d[3]), dec.exprs(d[4]), [R[i] for i in d[5]], R[d[1]]
    )


def _d_tuple(dec: _Decoder, d: Any) -> Any:
    return ast.TupleCons(dec.exprs(d[2]), dec.R[d[1]])


def _d_object(dec: _Decoder, d: Any) -> Any:
    ex = dec.expr
    items = [ast.ObjectItem(ex(k), ex(v)) for k, v in d[2]]
    return ast.ObjectCons(items, dec.R[d[1]])


def _d_for(dec: _Decoder, d: Any) -> Any:
    ex = dec.expr
    return ast.ForExpr(d[2], d[3], ex(d[4]), ex(d[5]), ex(d[6]), ex(d[7]), d[8], dec.R[d[1]])


_DECODERS: list[Callable[[_Decoder, Any], Any]] = [
    _d_literal,
    _d_template,
    _d_twrap,
    _d_scope,
    _d_getattr,
    _d_index,
    _d_anon,
    _d_splat,
    _d_call,
    _d_cond,
    _d_binop,
    _d_unop,
    _d_tuple,
    _d_object,
    _d_for,
    _d_parens,
    _d_chain,
]


def decode_file(data: tuple[Any, ...], filename: str, text: str) -> File | None:
    """The file stored by `encode_file`; None if `data` is of another format."""
    if not isinstance(data, tuple) or len(data) != 3 or data[0] != FORMAT:
        return None
    enabled = gc.isenabled()
    gc.disable()
    try:
        dec = _Decoder(filename, text, data[1])
        body = dec.body(data[2])
    finally:
        if enabled:
            gc.freeze()
            gc.enable()
    return File(filename, body, text)
