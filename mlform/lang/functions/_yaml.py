"""YAML output in the exact style of Terraform's `yamlencode`.

Terraform writes YAML with go-yaml's emitter through cty-yaml: block collections with two-space
indentation (sequences inside mappings are not indented), every string and key double-quoted,
multi-line strings as literal blocks (`|`, `|-`, `|+`) where a literal block can hold them, long
double-quoted strings folded at spaces past column 80, characters outside go-yaml's printable set
escaped (`\\t`, `\\x7F`, `\\U0001F600`), and `...` after a document that is a plain scalar. This
module reproduces that byte for byte for the values mlform has.
"""

from __future__ import annotations

from mlform.lang.convert import format_number
from mlform.lang.types import BOOL, NUMBER, STRING
from mlform.lang.values import Value

_BEST_WIDTH = 80
_BREAKS = "\r\n\x85\u2028\u2029"
_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\u2028": "L",
    "\u2029": "P",
}


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        ch == "\n"
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.column = 0
        self.open_ended = False

    def write(self, s: str) -> None:
        self.open_ended = False  # as go-yaml: only the very last thing written can leave it open
        self.parts.append(s)
        nl = s.rfind("\n")
        self.column = len(s) - nl - 1 if nl >= 0 else self.column + len(s)

    def line(self, indent: int) -> None:
        self.write("\n" + " " * indent)

    def text(self) -> str:
        out = "".join(self.parts) + "\n"
        return out + "...\n" if self.open_ended else out


def dump(v: Value) -> str:
    """A wholly known value as Terraform's yamlencode writes it."""
    w = _Writer()
    if _is_block(v):
        if isinstance(v.v, dict):
            _mapping(w, v, 0, first_inline=True)
        else:
            _sequence(w, v, 0, first_inline=True)
    else:
        _scalar(w, v, 2, root=True)
    return w.text()


def _is_block(v: Value) -> bool:
    return isinstance(v.v, tuple | dict) and bool(v.v)


def _mapping(w: _Writer, v: Value, indent: int, first_inline: bool) -> None:
    items = v.v
    for i, key in enumerate(sorted(items)):
        if i or not first_inline:
            w.line(indent)
        _double_quoted(w, key, indent + 2, allow_breaks=False)
        w.write(":")
        e = items[key]
        if _is_block(e):
            if isinstance(e.v, dict):
                _mapping(w, e, indent + 2, first_inline=False)
            else:
                _sequence(w, e, indent, first_inline=False)  # not indented inside a mapping
        else:
            w.write(" ")
            _scalar(w, e, indent + 2)


def _sequence(w: _Writer, v: Value, indent: int, first_inline: bool) -> None:
    for i, e in enumerate(v.v):
        if i or not first_inline:
            w.line(indent)
        w.write("- ")
        if _is_block(e):
            if isinstance(e.v, dict):
                _mapping(w, e, indent + 2, first_inline=True)
            else:
                _sequence(w, e, indent + 2, first_inline=True)
        else:
            _scalar(w, e, indent + 2)


def _scalar(w: _Writer, v: Value, indent: int, root: bool = False) -> None:
    if v.v is None or v.type in (BOOL, NUMBER):
        if v.v is None:
            w.write("null")
        elif v.type == BOOL:
            w.write("true" if v.v else "false")
        else:
            w.write(format_number(v.v))
        w.open_ended = root
        return
    if isinstance(v.v, tuple):
        w.write("[]")
        return
    if isinstance(v.v, dict):
        w.write("{}")
        return
    assert v.type == STRING
    s = v.v
    if "\n" in s and _block_allowed(s):
        _literal(w, s, indent)
    else:
        _double_quoted(w, s, indent, allow_breaks=True)


def _block_allowed(s: str) -> bool:
    if s.endswith(" "):
        return False
    prev_space = False
    for ch in s:
        if not _printable(ch) or ch == "\ufeff":
            return False
        if ch in _BREAKS:
            if prev_space:
                return False  # a space right before a line break
            prev_space = False
        else:
            prev_space = ch == " "
    return True


def _double_quoted(w: _Writer, s: str, indent: int, allow_breaks: bool) -> None:
    w.write('"')
    spaces = False
    last = len(s) - 1
    for i, ch in enumerate(s):
        if not _printable(ch) or ch in _BREAKS or ch in '"\\' or ch == "\ufeff":
            code = _ESCAPES.get(ch)
            if code is None:
                o = ord(ch)
                code = f"x{o:02X}" if o <= 0xFF else f"u{o:04X}" if o <= 0xFFFF else f"U{o:08X}"
            w.write("\\" + code)
            spaces = False
        elif ch == " ":
            if allow_breaks and not spaces and w.column > _BEST_WIDTH and 0 < i < last:
                w.line(indent)
                if s[i + 1] == " ":
                    w.write("\\")
            else:
                w.write(" ")
            spaces = True
        else:
            w.write(ch)
            spaces = False
    w.write('"')


def _literal(w: _Writer, s: str, indent: int) -> None:
    header = "|"
    if s[0] == " " or s[0] in _BREAKS:
        header += "2"
    if not s.endswith("\n"):
        header += "-"
        body = s
    elif len(s) == 1 or s[-2] in _BREAKS:
        header += "+"
        body = s[:-1]
    else:
        body = s[:-1]
    w.write(header)
    for text in body.split("\n"):
        if text:
            w.line(indent)
            w.write(text)
        else:
            w.write("\n")
    w.open_ended = header.endswith("+")
