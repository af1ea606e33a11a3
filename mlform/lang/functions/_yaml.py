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
from mlform.lang.limits import MAX_ELEMENTS, MAX_NESTING
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


# --- reading --------------------------------------------------------------------------------------

_BOOLS = {
    **dict.fromkeys(
        ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True
    ),
    **dict.fromkeys(
        ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False
    ),
}
_NULLS = {"", "~", "null", "Null", "NULL"}
_TAG = "tag:yaml.org,2002:"


class YamlError(Exception):
    pass


def load(text: str) -> Value:
    """One YAML document as Terraform's yamldecode reads it (cty-yaml's rules): mappings become
    objects, sequences tuples; plain scalars resolve as YAML 1.1 booleans (`yes`, `on`, `y`),
    nulls, decimal numbers (exact) and timestamps (rewritten as RFC 3339 strings)."""
    import yaml

    try:
        nodes = list(yaml.compose_all(text, Loader=_loader()))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"on line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = str(getattr(e, "problem", None) or e)
        if problem.startswith("found undefined alias"):
            name = problem.split("'")[1] if "'" in problem else ""
            problem = f"reference to undefined anchor {_quote(name)}"
        raise YamlError(where + problem) from None
    if len(nodes) > 1:
        raise YamlError("unexpected extra content after value")
    if not nodes:
        from mlform.lang.values import NULL

        return NULL
    return _node(nodes[0], set(), [0])


def _node(node: object, open_nodes: set[int], made: list[int]) -> Value:
    """The value of `node`; `open_nodes` are the collections around it, `made[0]` counts the
    elements made so far."""
    import yaml

    from mlform.lang.values import object_of, tuple_of

    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in open_nodes:
            # An alias to an anchor from inside its own definition: values must be finite.
            name = getattr(node, "anchor_name", "")
            raise YamlError(f"cannot refer to anchor {_quote(name)} from inside its own definition")
        open_nodes.add(id(node))
        if len(open_nodes) > MAX_NESTING:
            raise YamlError(f"the document is nested more than {MAX_NESTING} levels deep")
        made[0] += len(node.value)
        if made[0] > MAX_ELEMENTS:
            # Aliases can make a short document stand for an enormous value.
            raise YamlError(f"the document holds more than {MAX_ELEMENTS} values")
        try:
            if isinstance(node, yaml.MappingNode):
                items: dict[str, Value] = {}
                for knode, vnode in node.value:
                    key = _node(knode, open_nodes, made)
                    items[_key_text(key)] = _node(vnode, open_nodes, made)
                return object_of(items)
            return tuple_of(_node(n, open_nodes, made) for n in node.value)
        finally:
            open_nodes.discard(id(node))
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == _PLAIN:
        return _resolve("", node.value)
    if node.tag == _TAG + "str":
        return _string(node.value)
    return _resolve(node.tag, node.value)


_PLAIN = "!mlform-plain"


def _loader() -> type:
    """A SafeLoader that leaves plain scalars unresolved: cty-yaml resolves them its own way."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: object, index: object) -> object:
            event = self.peek_event()
            anchor = None if isinstance(event, yaml.AliasEvent) else getattr(event, "anchor", None)
            node = super().compose_node(parent, index)  # type: ignore[no-untyped-call]
            if anchor:
                node.anchor_name = anchor  # for messages about aliases
            return node

        def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:  # type: ignore[override]
            if kind is yaml.ScalarNode and implicit[0]:
                return _PLAIN
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]

    return Loader


def _string(s: str) -> Value:
    from mlform.lang.values import string

    return string(s)


def _key_text(key: Value) -> str:
    if key.v is None:
        return "null"
    if key.type == BOOL:
        return "true" if key.v else "false"
    if key.type == NUMBER:
        return format_number(key.v)
    if key.type == STRING:
        return key.v
    raise YamlError("mapping keys must be strings, numbers or booleans")


def _resolve(tag: str, src: str) -> Value:
    import re

    from mlform.lang.values import NULL, boolean, number

    short = tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    if short not in ("", "str", "bool", "int", "float", "null", "timestamp", "binary"):
        raise YamlError(f"unsupported tag {_quote(tag)}")
    if short in ("", "bool", "int", "float", "null", "timestamp"):
        if src in _BOOLS and short in ("", "bool"):
            return boolean(_BOOLS[src])
        if src in _NULLS and short in ("", "null"):
            return NULL
        if src in (".nan", ".NaN", ".NAN"):
            raise YamlError("floating point NaN is not supported")
        if src.lower() in (".inf", "+.inf", "-.inf"):
            raise YamlError("infinite numbers are not supported")
        head = src[:1]
        if short in ("", "timestamp") and (head.isdigit() or head in "+-"):
            ts = _timestamp(src)
            if ts is not None:
                return _string(ts)
        plain = src.replace("_", "") if (head.isdigit() or head in "+-") else src
        if head in ".+-" or head.isdigit() or short in ("int", "float"):
            if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", plain):
                return number(plain)
            # Untagged, Terraform reads 0x and 0o integers (lowercase prefix, any sign) but
            # leaves 0b as a string; with !!int the binary form counts too.
            m = re.fullmatch(r"([+-]?)0(x[0-9a-fA-F]+|o[0-7]+)", plain)
            if m:
                base = 16 if m.group(2)[0] == "x" else 8
                return number(int(m.group(1) + m.group(2)[1:], base))
            m = re.fullmatch(r"(-?)0b([01]+)", plain)
            if m and short in ("int", "float"):
                return number(int(m.group(1) + m.group(2), 2))
            if short in ("int", "float"):
                m = re.fullmatch(r"([+-]?)0([xXoO]?)([0-9a-fA-F]+)", plain)
                if m:
                    base = {"x": 16, "o": 8, "": 8}[m.group(2).lower()]
                    return number(int(m.group(1) + m.group(3), base))
    if short == "binary":
        import base64
        import binascii

        try:
            base64.b64decode(src, validate=True)
        except (binascii.Error, ValueError):
            raise YamlError(f"cannot parse {_quote(src)} as {tag}: not valid base64") from None
        return _string(src)
    if short in ("", "str"):
        return _string(src)
    raise YamlError(f"cannot parse {_quote(src)} as {tag}")


def _quote(s: str) -> str:
    from mlform.lang.render import go_quote

    return go_quote(s)


def _timestamp(src: str) -> str | None:
    """The forms cty-yaml reads as timestamps, written back as RFC 3339; None otherwise."""
    import re
    from datetime import UTC, datetime, timedelta, timezone

    m = re.fullmatch(
        r"(\d{4})-(\d{1,2})-(\d{1,2})"
        r"(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(Z|[+-]\d\d:\d\d)"
        r"| (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?)?",
        src,
    )
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    clock = m.group(4, 5, 6) if m.group(4) else m.group(8, 9, 10)
    h, mi, s = (int(x) for x in clock) if clock[0] else (0, 0, 0)
    zone = m.group(7)
    tz = UTC
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        dt = datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None
    off = dt.utcoffset()
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if not off:
        return text + "Z"
    total = int(off.total_seconds())
    sign_s = "-" if total < 0 else "+"
    total = abs(total)
    return f"{text}{sign_s}{total // 3600:02d}:{(total % 3600) // 60:02d}"
