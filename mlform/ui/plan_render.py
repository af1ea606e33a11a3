"""The human plan: what `mlform plan` prints, in Terraform's format.

Users who know Terraform read mlform's plans without learning anything new, so the text follows
Terraform's renderer line for line: the symbol legend, one block per changed instance with a
`# ... will be created` comment, attribute lines aligned on `=`, `~ a = 1 -> 2`, nested maps,
lists and blocks shown element by element, `# forces replacement`, `(known after apply)`,
`(sensitive value)`, unchanged attributes folded into `# (3 unchanged attributes hidden)`, the
"Objects have changed outside of mlform" section for drift, "Changes to Outputs:", and the last
line `Plan: 2 to add, 1 to change, 0 to destroy.`. mlform adds one thing: each change's reasons,
as `# (because ...)` lines under its heading.

The renderer works from the plan's JSON-shaped data alone. When it is given the schemas of the
resource types (`schemas`, by type), nested blocks are drawn as blocks (`health_check {`) and
maps with quoted keys; without them, nested objects are drawn as objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from mlform.lang.types import ListType, MapType, ObjectType, SetType, TupleType, Type
from mlform.plans import Action, OutputChange, Plan, ResourceChange
from mlform.sdk.contract import UNKNOWN
from mlform.sdk.schema import BlockSchema, BodySchema

__all__ = ["DEFAULT_WIDTH", "Palette", "render_change", "render_plan", "word_wrap"]

DEFAULT_WIDTH = 78  # what Terraform assumes when the output is not a terminal
IMPORTANT = ("id", "name", "tags")  # always shown, changed or not

Path = tuple[str | int, ...]


class Palette:
    """ANSI codes, or empty strings when color is off."""

    def __init__(self, color: bool):
        on = color
        self.reset = "\x1b[0m" if on else ""
        self.bold = "\x1b[1m" if on else ""
        self.red = "\x1b[31m" if on else ""
        self.green = "\x1b[32m" if on else ""
        self.yellow = "\x1b[33m" if on else ""
        self.cyan = "\x1b[36m" if on else ""
        self.gray = "\x1b[90m" if on else ""


def symbol(action: Action, p: Palette) -> str:
    """The action's marker, three columns wide."""
    if action is Action.CREATE:
        return f"  {p.green}+{p.reset}"
    if action is Action.DELETE:
        return f"  {p.red}-{p.reset}"
    if action is Action.UPDATE:
        return f"  {p.yellow}~{p.reset}"
    if action is Action.READ:
        return f" {p.cyan}<={p.reset}"
    if action is Action.DELETE_THEN_CREATE:
        return f"{p.red}-{p.reset}/{p.green}+{p.reset}"
    if action is Action.CREATE_THEN_DELETE:
        return f"{p.green}+{p.reset}/{p.red}-{p.reset}"
    if action is Action.FORGET:
        return f"  {p.red}.{p.reset}"
    return "   "


def word_wrap(text: str, width: int = DEFAULT_WIDTH) -> str:
    """Wrap each line at spaces to fit `width - 1` columns; lines that start with a space are
    left alone (Terraform's rule, for literal snippets)."""
    limit = width - 1
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith(" ") or len(line) <= limit:
            out.append(line)
            continue
        current = ""
        for word in line.split(" "):
            if not current:
                current = word
            elif len(current) + 1 + len(word) <= limit:
                current += " " + word
            else:
                out.append(current)
                current = word
        out.append(current)
    return "\n".join(out)


def _indent(n: int) -> str:
    return "    " * n


def _is_identifier(name: str) -> bool:
    if not name or not (name[0].isalpha() or name[0] == "_"):
        return False
    return all(c.isalnum() or c in "_-" for c in name)


def _attr_name(name: str) -> str:
    return name if _is_identifier(name) else json.dumps(name, ensure_ascii=False)


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _number(v: Any) -> str:
    if isinstance(v, Decimal):
        return str(int(v)) if v == v.to_integral_value() else str(v.normalize())
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return json.dumps(v)


# -- the diff tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opts:
    p: Palette
    show_unchanged: bool = False
    override_null_suffix: bool = False
    override_forces_replacement: bool = False
    forbid_forces_replacement: bool = False


def _null_suffix(action: Action, o: Opts) -> str:
    if not o.override_null_suffix and action is Action.DELETE:
        return f" {o.p.gray}-> null{o.p.reset}"
    return ""


def _forces(replace_: bool, o: Opts) -> str:
    if o.forbid_forces_replacement:
        return ""
    if replace_ or o.override_forces_replacement:
        return f" {o.p.red}# forces replacement{o.p.reset}"
    return ""


def _unchanged(word: str, n: int, o: Opts) -> str:
    plural = "" if n == 1 else "s"
    return f"{o.p.gray}# ({n} unchanged {word}{plural} hidden){o.p.reset}"


class Node:
    """One value's change: an action, whether it forces replacement, and how it renders."""

    action: Action = Action.NOOP
    replace: bool = False

    def render(self, indent: int, o: Opts) -> str:
        raise NotImplementedError

    def warnings(self, indent: int, o: Opts) -> list[str]:
        return []


def _default_action(before: Any, after: Any) -> Action:
    """Where a collection's action starts before its children are looked at."""
    if before is None and after is None:
        return Action.NOOP
    if before is None:
        return Action.CREATE
    if after is None:
        return Action.DELETE
    return Action.NOOP


def _combine(current: Action, child: Action) -> Action:
    """A collection's action given one more child: children that differ from it make it an
    update (a list that gains an element is updated, not created)."""
    if child is Action.NOOP or child is current:
        return current
    return Action.UPDATE


def _action_of(before: Any, after: Any) -> Action:
    if before is None and after is None:
        return Action.NOOP
    if before is None:
        return Action.CREATE
    if after is None:
        return Action.DELETE
    return Action.NOOP if _same(before, after) else Action.UPDATE


def _same(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return float(a) == float(b)
    return bool(a == b)


class Primitive(Node):
    def __init__(self, before: Any, after: Any, action: Action, replace_: bool):
        self.before, self.after, self.action, self.replace = before, after, action, replace_

    @staticmethod
    def _value(v: Any, o: Opts) -> str:
        if v is None:
            return f"{o.p.gray}null{o.p.reset}"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float | Decimal):
            return _number(v)
        if isinstance(v, str):
            return _quote(v)
        # A value whose type changed (a list where a string was): shown as JSON.
        return json.dumps(v, ensure_ascii=False, default=str)

    def render(self, indent: int, o: Opts) -> str:
        multiline = any(isinstance(v, str) and "\n" in v for v in (self.before, self.after))
        if multiline:
            return self._render_multiline(indent, o)
        b, a = self._value(self.before, o), self._value(self.after, o)
        f = _forces(self.replace, o)
        if self.action is Action.CREATE:
            return a + f
        if self.action is Action.DELETE:
            return b + _null_suffix(self.action, o) + f
        if self.action is Action.NOOP:
            return b + f
        return f"{b} {o.p.yellow}->{o.p.reset} {a}{f}"

    def _render_multiline(self, indent: int, o: Opts) -> str:
        lead = _indent(indent + 1) + symbol(Action.NOOP, o.p) + " "
        lines: list[str] = []
        if self.action in (Action.CREATE, Action.NOOP, Action.DELETE):
            text = self.before if self.action is Action.DELETE else self.after
            if not isinstance(text, str) or "\n" not in text:
                return (
                    self._value(text, o) + _null_suffix(self.action, o) + _forces(self.replace, o)
                )
            lines = [lead + line for line in text.split("\n")]
        else:
            before = self.before.split("\n") if isinstance(self.before, str) else []
            after = self.after.split("\n") if isinstance(self.after, str) else []
            for bi, ai in _slice_pairs(before, after, lambda x: False):
                if bi is None:
                    assert ai is not None  # _slice_pairs never yields (None, None)
                    lines.append(_indent(indent + 1) + symbol(Action.CREATE, o.p) + " " + after[ai])
                elif ai is None:
                    lines.append(
                        _indent(indent + 1) + symbol(Action.DELETE, o.p) + " " + before[bi]
                    )
                else:
                    lines.append(lead + before[bi])
        return (
            f"<<-EOT{_forces(self.replace, o)}\n"
            + "\n".join(lines)
            + f"\n{_indent(indent)}{symbol(Action.NOOP, o.p)} EOT{_null_suffix(self.action, o)}"
        )


class Unknown(Node):
    def __init__(self, before: Node | None, action: Action, replace_: bool):
        self.before, self.action, self.replace = before, action, replace_

    def render(self, indent: int, o: Opts) -> str:
        if self.action is Action.CREATE or self.before is None:
            return "(known after apply)" + _forces(self.replace, o)
        bo = replace(o, override_null_suffix=True, forbid_forces_replacement=self.replace)
        return (
            f"{self.before.render(indent, bo)} -> (known after apply)"
            f"{_forces(self.replace, replace(o, forbid_forces_replacement=False))}"
        )


class Sensitive(Node):
    def __init__(self, action: Action, replace_: bool, before_sens: bool, after_sens: bool):
        self.action, self.replace = action, replace_
        self.before_sens, self.after_sens = before_sens, after_sens

    def render(self, indent: int, o: Opts) -> str:
        return "(sensitive value)" + _null_suffix(self.action, o) + _forces(self.replace, o)

    def warnings(self, indent: int, o: Opts) -> list[str]:
        if self.before_sens == self.after_sens or self.action in (Action.CREATE, Action.DELETE):
            return []
        if self.before_sens:
            w = (
                f"  # {o.p.yellow}Warning{o.p.reset}: this attribute value will no longer be "
                f"marked as sensitive\n{_indent(indent)}  # after applying this change."
            )
        else:
            w = (
                f"  # {o.p.yellow}Warning{o.p.reset}: this attribute value will be marked as "
                f"sensitive and will not\n{_indent(indent)}  # display in UI output after "
                "applying this change."
            )
        if self.action is Action.NOOP:
            w += " The value is unchanged."
        return [w]


class ListNode(Node):
    def __init__(self, elements: list[Node], action: Action, replace_: bool, context: bool = True):
        self.elements, self.action, self.replace, self.context = elements, action, replace_, context

    def render(self, indent: int, o: Opts) -> str:
        f = _forces(self.replace, o)
        if not self.elements:
            return "[]" + _null_suffix(self.action, o) + f
        elem_o = replace(o, override_null_suffix=True)
        same_o = replace(o, show_unchanged=True)
        pad = _indent(indent + 1)
        out = [f"[{f}"]
        pending: list[Node] = []
        show_next = False
        for el in self.elements:
            if el.action is Action.NOOP and not show_next and not o.show_unchanged:
                pending.append(el)
                continue
            show_next = False
            use = elem_o
            if self.context:
                # Show one unchanged element on each side of a change, so that a reader can
                # tell where in the list it happens; count the rest.
                if len(pending) > 1:
                    out.append(
                        f"{pad}{symbol(Action.NOOP, o.p)} {_unchanged('element', len(pending) - 1, o)}"
                    )
                if pending:
                    last = pending[-1]
                    out.append(
                        f"{pad}{symbol(last.action, o.p)} {last.render(indent + 1, same_o)},"
                    )
                pending = []
                if el.action is Action.NOOP:
                    use = same_o
                else:
                    show_next = True
            for w in el.warnings(indent + 1, o):
                out.append(pad + w)
            out.append(f"{pad}{symbol(el.action, o.p)} {el.render(indent + 1, use)},")
        if pending:
            out.append(f"{pad}{symbol(Action.NOOP, o.p)} {_unchanged('element', len(pending), o)}")
        out.append(f"{_indent(indent)}{symbol(Action.NOOP, o.p)} ]{_null_suffix(self.action, o)}")
        return "\n".join(out)


class MapNode(Node):
    def __init__(self, elements: dict[str, Node], action: Action, replace_: bool):
        self.elements, self.action, self.replace = elements, action, replace_

    def render(self, indent: int, o: Opts) -> str:
        f = _forces(self.replace, o)
        if not self.elements:
            return "{}" + _null_suffix(self.action, o) + f
        width = max(len(_quote(k)) for k in self.elements)
        elem_o = replace(
            o,
            override_null_suffix=self.action is Action.DELETE,
            override_forces_replacement=False,
        )
        pad = _indent(indent + 1)
        out = [f"{{{f}"]
        hidden = 0
        for k in sorted(self.elements):
            el = self.elements[k]
            if el.action is Action.NOOP and not o.show_unchanged:
                hidden += 1
                continue
            for w in el.warnings(indent + 1, o):
                out.append(pad + w)
            comma = "," if isinstance(el, ObjectNode) else ""
            out.append(
                f"{pad}{symbol(el.action, o.p)} {_quote(k).ljust(width)} = "
                f"{el.render(indent + 1, elem_o)}{comma}"
            )
        if hidden:
            out.append(f"{pad}{symbol(Action.NOOP, o.p)} {_unchanged('element', hidden, o)}")
        out.append(f"{_indent(indent)}{symbol(Action.NOOP, o.p)} }}{_null_suffix(self.action, o)}")
        return "\n".join(out)


class ObjectNode(Node):
    def __init__(self, attrs: dict[str, Node], action: Action, replace_: bool):
        self.attrs, self.action, self.replace = attrs, action, replace_

    def render(self, indent: int, o: Opts) -> str:
        f = _forces(self.replace, o)
        if not self.attrs:
            return "{}" + _null_suffix(self.action, o) + f
        attr_o = replace(o, override_null_suffix=True)
        out = [f"{{{f}", *_attribute_lines(self.attrs, indent, o, attr_o)]
        out.append(f"{_indent(indent)}{symbol(Action.NOOP, o.p)} }}{_null_suffix(self.action, o)}")
        return "\n".join(out)


def _attribute_lines(attrs: dict[str, Node], indent: int, o: Opts, base: Opts) -> list[str]:
    """An object's or a block's attributes, one aligned line each (rendered with `base`);
    unchanged ones counted into a single line unless the options show them."""
    width = max((len(_attr_name(k)) for k in attrs), default=0)
    pad = _indent(indent + 1)
    out: list[str] = []
    hidden = 0
    for k in sorted(attrs):
        el = attrs[k]
        use = base
        if k in IMPORTANT:
            use = replace(base, show_unchanged=True)
        elif el.action is Action.NOOP and not o.show_unchanged:
            hidden += 1
            continue
        for w in el.warnings(indent + 1, o):
            out.append(pad + w)
        out.append(
            f"{pad}{symbol(el.action, o.p)} {_attr_name(k).ljust(width)} = "
            f"{el.render(indent + 1, use)}"
        )
    if hidden:
        out.append(f"{pad}{symbol(Action.NOOP, o.p)} {_unchanged('attribute', hidden, o)}")
    return out


@dataclass
class BlockEntry:
    name: str
    nodes: list[Node]
    replace: bool = False


class BlockNode(Node):
    """A resource body or a nested block: attributes first, then blocks."""

    def __init__(
        self, attrs: dict[str, Node], blocks: list[BlockEntry], action: Action, replace_: bool
    ):
        self.attrs, self.blocks, self.action, self.replace = attrs, blocks, action, replace_

    def render(self, indent: int, o: Opts) -> str:
        f = _forces(self.replace, o)
        if not self.attrs and not any(b.nodes for b in self.blocks):
            return "{}" + f
        pad = _indent(indent + 1)
        out = [f"{{{f}", *_attribute_lines(self.attrs, indent, o, o)]
        hidden_blocks = 0
        for entry in sorted(self.blocks, key=lambda b: b.name):
            first = True
            for node in entry.nodes:
                if node.action is Action.NOOP and not o.show_unchanged:
                    hidden_blocks += 1
                    continue
                if first and self.attrs:
                    out.append("")  # a blank line between attributes and each group of blocks
                first = False
                bo = replace(o, override_forces_replacement=entry.replace)
                out.append(
                    f"{pad}{symbol(node.action, o.p)} {_attr_name(entry.name)} "
                    f"{node.render(indent + 1, bo)}"
                )
        if hidden_blocks:
            out.append("")
            out.append(f"{pad}{symbol(Action.NOOP, o.p)} {_unchanged('block', hidden_blocks, o)}")
        out.append(f"{_indent(indent)}{symbol(Action.NOOP, o.p)} }}")
        return "\n".join(out)


# -- computing the tree ----------------------------------------------------------------------------


def _slice_pairs(
    before: Sequence[Any], after: Sequence[Any], is_obj: Callable[[Any], bool]
) -> list[tuple[int | None, int | None]]:
    """Match two sequences along their longest common subsequence: (i, None) was removed,
    (None, j) was added, (i, j) is the same element (or, for two objects at the same place
    outside the common part, one element changed in place)."""
    n, m = len(before), len(after)
    # LCS table over equality; lists in plans are short, so the quadratic table is fine.
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if _same(before[i], after[j]):
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    common: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if _same(before[i], after[j]):
            common.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    out: list[tuple[int | None, int | None]] = []
    bi = ai = 0
    for ci, cj in [*common, (n, m)]:
        while bi < ci:
            if is_obj(before[bi]) and ai < cj and is_obj(after[ai]):
                out.append((bi, ai))
                ai += 1
            else:
                out.append((bi, None))
            bi += 1
        while ai < cj:
            out.append((None, ai))
            ai += 1
        if ci < n and cj < m:
            out.append((ci, cj))
            bi, ai = ci + 1, cj + 1
    return out


@dataclass
class Ctx:
    before_sensitive: set[Path]
    after_sensitive: set[Path]
    replace_paths: set[Path]

    def sensitive(self, path: Path) -> tuple[bool, bool]:
        return (
            any(path[: len(s)] == s for s in self.before_sensitive),
            any(path[: len(s)] == s for s in self.after_sensitive),
        )


def _as_delete(value: Any, typ: Type | None, path: Path, ctx: Ctx) -> Node:
    return diff_value(value, None, typ, path, ctx)


def diff_value(before: Any, after: Any, typ: Type | None, path: Path, ctx: Ctx) -> Node:
    """The change of one value from `before` to `after` (None: absent or null)."""
    rep = path in ctx.replace_paths
    bs, as_ = ctx.sensitive(path)
    if bs or as_:
        action = _action_of(before, None if after is UNKNOWN else after)
        if after is UNKNOWN:
            action = Action.CREATE if before is None else Action.UPDATE
        elif action is Action.NOOP and bs != as_:
            action = Action.UPDATE
        return Sensitive(action, rep, bs, as_)
    if after is UNKNOWN:
        if before is None:
            return Unknown(None, Action.CREATE, rep)
        return Unknown(_as_delete(before, typ, path, ctx), Action.UPDATE, rep)
    is_map = isinstance(typ, MapType)
    if isinstance(before, dict) or isinstance(after, dict):
        if (before is None or isinstance(before, dict)) and (
            after is None or isinstance(after, dict)
        ):
            return _diff_mapping(before, after, typ, path, ctx, is_map, rep)
    if isinstance(before, list | tuple) or isinstance(after, list | tuple):
        if (before is None or isinstance(before, list | tuple)) and (
            after is None or isinstance(after, list | tuple)
        ):
            return _diff_list(before, after, typ, path, ctx, rep)
    return Primitive(before, after, _action_of(before, after), rep)


def _elem_type(typ: Type | None, key: str | int) -> Type | None:
    if isinstance(typ, ListType | SetType | MapType):
        return typ.elem
    if isinstance(typ, ObjectType) and isinstance(key, str):
        return typ.attr(key)
    if isinstance(typ, TupleType) and isinstance(key, int) and key < len(typ.elems):
        return typ.elems[key]
    return None


def _diff_mapping(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    typ: Type | None,
    path: Path,
    ctx: Ctx,
    is_map: bool,
    rep: bool,
) -> Node:
    b = before or {}
    a = after or {}
    children: dict[str, Node] = {}
    action = _default_action(before, after)
    for k in [*b, *(k for k in a if k not in b)]:
        bv, av = b.get(k), a.get(k)
        node = diff_value(bv, av, _elem_type(typ, k), (*path, k), ctx)
        if not is_map and node.action is Action.NOOP and bv is None and av is None:
            continue
        children[k] = node
        action = _combine(action, node.action)
    if is_map:
        return MapNode(children, action, rep)
    return ObjectNode(children, action, rep)


def _diff_list(
    before: Sequence[Any] | None,
    after: Sequence[Any] | None,
    typ: Type | None,
    path: Path,
    ctx: Ctx,
    rep: bool,
) -> Node:
    b = list(before or [])
    a = list(after or [])
    elems: list[Node] = []
    action = _default_action(before, after)
    for bi, ai in _slice_pairs(b, a, lambda v: isinstance(v, dict)):
        idx = ai if ai is not None else bi
        assert idx is not None
        node = diff_value(
            b[bi] if bi is not None else None,
            a[ai] if ai is not None else None,
            _elem_type(typ, idx),
            (*path, idx),
            ctx,
        )
        elems.append(node)
        action = _combine(action, node.action)
    return ListNode(elems, action, rep)


def diff_body(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    schema: BodySchema | None,
    path: Path,
    ctx: Ctx,
) -> BlockNode:
    """A resource body (or nested block): attributes by name, blocks from the schema."""
    b = before or {}
    a = after if after is not None and after is not UNKNOWN else {}
    block_schemas: dict[str, BlockSchema] = dict(schema.blocks) if schema is not None else {}
    attrs: dict[str, Node] = {}
    blocks: list[BlockEntry] = []
    action = _default_action(before, after)
    for k in [*b, *(k for k in a if k not in b)]:
        bv, av = b.get(k), a.get(k)
        if k in block_schemas:
            entry = _diff_blocks(k, bv, av, block_schemas[k], (*path, k), ctx)
            if entry is not None:
                blocks.append(entry)
                for n in entry.nodes:
                    action = _combine(action, n.action)
            continue
        typ = None
        if schema is not None and k in schema.attributes:
            typ = schema.attributes[k].type
        node = diff_value(bv, av, typ, (*path, k), ctx)
        if node.action is Action.NOOP and bv is None and av is None:
            continue  # nulls are not shown in blocks
        attrs[k] = node
        action = _combine(action, node.action)
    return BlockNode(attrs, blocks, action, path in ctx.replace_paths)


def _diff_blocks(
    name: str, before: Any, after: Any, schema: BlockSchema, path: Path, ctx: Ctx
) -> BlockEntry | None:
    rep = path in ctx.replace_paths
    if schema.nesting == "single" or isinstance(before, dict) or isinstance(after, dict):
        if before is None and after is None:
            return None
        bv = before if isinstance(before, dict) else None
        av = after if isinstance(after, dict) else None
        return BlockEntry(name, [diff_body(bv, av, schema.body, path, ctx)], rep)
    b = list(before or [])
    a = list(after or [])
    if not b and not a:
        return None
    nodes: list[Node] = []
    for bi, ai in _slice_pairs(b, a, lambda v: isinstance(v, dict)):
        idx = ai if ai is not None else bi
        assert idx is not None
        nodes.append(
            diff_body(
                b[bi] if bi is not None else None,
                a[ai] if ai is not None else None,
                schema.body,
                (*path, idx),
                ctx,
            )
        )
    return BlockEntry(name, nodes, rep)


# -- resource changes ------------------------------------------------------------------------------


def _heading(rc: ResourceChange, action: Action, drift: bool, p: Palette) -> list[str]:
    addr = str(rc.addr)
    if rc.deposed:
        addr = f"{addr} (deposed object {rc.deposed})"
    b, r = p.bold, p.reset
    lines: list[str] = []
    notes: list[str] = []
    if action is Action.CREATE:
        lines.append(f"{b}  # {addr}{r} will be created")
    elif action is Action.READ:
        lines.append(f"{b}  # {addr}{r} will be read during apply")
        if rc.action_reason == "read_because_config_unknown":
            notes.append("(config refers to values not yet known)")
        elif rc.action_reason == "read_because_dependency_pending":
            notes.append("(depends on a resource or a module with changes pending)")
    elif action is Action.UPDATE:
        what = "has changed" if drift else "will be updated in-place"
        lines.append(f"{b}  # {addr}{r} {what}")
    elif action.is_replace:
        reason = rc.action_reason
        if reason == "replace_because_tainted":
            lines.append(f"{b}  # {addr}{r} is tainted, so must be {b}{p.red}replaced{r}")
        elif reason == "replace_by_request":
            lines.append(f"{b}  # {addr}{r} will be {b}{p.red}replaced{r}, as requested")
        elif reason == "replace_by_triggers":
            lines.append(
                f"{b}  # {addr}{r} will be {b}{p.red}replaced{r} due to changes in "
                "replace_triggered_by"
            )
        else:
            lines.append(f"{b}  # {addr}{r} must be {b}{p.red}replaced{r}")
    elif action is Action.DELETE:
        if drift:
            lines.append(f"{b}  # {addr}{r} has been deleted")
        else:
            lines.append(f"{b}  # {addr}{r} will be {b}{p.red}destroyed{r}")
        reason = rc.action_reason
        key = rc.addr.key
        if reason == "delete_because_no_resource_config":
            notes.append(
                f"(because {rc.addr.resource.type}.{rc.addr.resource.name} is not in configuration)"
            )
        elif reason == "delete_because_no_module":
            notes.append(f"(because {rc.addr.module} is not in configuration)")
        elif reason == "delete_because_wrong_repetition":
            if key is None:
                notes.append("(because resource uses count or for_each)")
            elif isinstance(key, int):
                notes.append("(because resource does not use count)")
            else:
                notes.append("(because resource does not use for_each)")
        elif reason == "delete_because_count_index":
            notes.append(f"(because index [{key}] is out of range for count)")
        elif reason == "delete_because_each_key":
            notes.append(f"(because key [{_quote(str(key))}] is not in for_each map)")
        if rc.deposed:
            notes.append("(left over from a partially-failed replacement of this instance)")
    elif action is Action.FORGET:
        lines.append(
            f"{b}  # {addr}{r} will no longer be managed by mlform, but will {b}{p.red}not be "
            f"destroyed{r}"
        )
        notes.append("(destroy = false is set in the configuration)")
    elif action is Action.NOOP:
        if rc.moved:
            lines.append(f"{b}  # {rc.prev_addr}{r} has moved to {b}{addr}{r}")
        elif rc.importing is not None:
            lines.append(f"{b}  # {addr}{r} will be imported")
    for n in notes:
        lines.append(f"  # {n}")
    if rc.moved and action is not Action.NOOP:
        lines.append(f"  # {r}(moved from {rc.prev_addr})")
    if rc.importing is not None and not (action is Action.NOOP and not rc.moved):
        imp_id = rc.importing.get("id")
        lines.append(
            f'  # {r}(imported from "{imp_id}")' if imp_id else f"  # {r}(will be imported first)"
        )
    if rc.importing is not None and action.is_replace:
        lines.append(f"  # {r}{p.yellow}Warning: this will destroy the imported resource{r}")
    # mlform's reasons, one line each, unless the line above already says the same.
    said = {n.strip("()") for n in notes}
    for reason_text in rc.reasons:
        if reason_text.startswith("will be "):
            # What the provider will do instead of the usual ("will be restored from the run
            # of ..., no training"): said of the address, as a heading is.
            lines.append(f"  # {addr} {reason_text}")
            continue
        text = reason_text if reason_text.startswith("because ") else f"because {reason_text}"
        if text not in said:
            lines.append(f"  # ({text})")
    return lines


def pending_note(rc: ResourceChange) -> str:
    """One line on a job submitted earlier: `test_job.j is still running (started 2m ago;
    last line: "epoch 3/10")`, or that it finished and apply collects it."""
    info = rc.pending or {}
    parts = []
    elapsed = info.get("elapsed_s")
    if isinstance(elapsed, int | float):
        parts.append(f"started {_ago(float(elapsed))} ago")
    if info.get("last_line"):
        parts.append(f"last line: {_quote(str(info['last_line']))}")
    detail = f" ({'; '.join(parts)})" if parts else ""
    if info.get("status") == "succeeded":
        return f"{rc.addr} has finished{detail}; apply records its outputs"
    return f"{rc.addr} is still running{detail}; apply waits for it"


def _ago(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60}m"


def render_change(
    rc: ResourceChange,
    color: bool = False,
    schema: BodySchema | None = None,
    drift: bool = False,
) -> str:
    """One change as Terraform shows it: the comment lines, then the resource body."""
    p = Palette(color)
    action = rc.action
    ctx = Ctx(
        {tuple(x) for x in rc.before_sensitive},
        {tuple(x) for x in rc.after_sensitive},
        {tuple(x) for x in rc.replace_paths},
    )
    before = rc.before if isinstance(rc.before, dict) else None
    after = rc.after if isinstance(rc.after, dict) else None
    if action is Action.DELETE:
        after = None
    if action is Action.FORGET:
        after = before  # the object stays as it is
    if action in (Action.CREATE, Action.READ):
        before = None
    body = diff_body(before, after, schema, (), ctx)
    o = Opts(p, show_unchanged=rc.importing is not None)
    mode = "data" if rc.addr.resource.mode == "data" else "resource"
    head = "\n".join(_heading(rc, action, drift, p))
    header = f'{mode} "{rc.addr.resource.type}" "{rc.addr.resource.name}"'
    return f"{head}\n{symbol(action, p)} {header} {body.render(0, o)}"


def _output_node(oc: OutputChange) -> Node:
    ctx = Ctx(set(), set(), set())
    if oc.sensitive:
        return Sensitive(oc.action, False, True, True)
    before = oc.before if oc.action is not Action.CREATE else None
    after = oc.after if oc.action is not Action.DELETE else None
    node = diff_value(before, after, None, (), ctx)
    node.action = oc.action if oc.action is not Action.NOOP else node.action
    return node


def _render_outputs(outputs: list[OutputChange], p: Palette) -> str:
    changed = sorted((o for o in outputs if o.action is not Action.NOOP), key=lambda o: o.name)
    if not changed:
        return ""
    width = max(len(_attr_name(o.name)) for o in changed)
    lines = []
    for oc in changed:
        node = _output_node(oc)
        lines.append(
            f"{symbol(oc.action, p)} {_attr_name(oc.name).ljust(width)} = {node.render(0, Opts(p))}"
        )
    return "\n".join(lines)


def _sorted_changes(changes: list[ResourceChange]) -> list[ResourceChange]:
    return sorted(changes, key=lambda rc: (str(rc.addr), rc.deposed or ""))


_LEGEND = (
    (Action.CREATE, lambda p: f"  {p.green}+{p.reset} create"),
    (Action.UPDATE, lambda p: f"  {p.yellow}~{p.reset} update in-place"),
    (Action.DELETE, lambda p: f"  {p.red}-{p.reset} destroy"),
    (
        Action.DELETE_THEN_CREATE,
        lambda p: f"{p.red}-{p.reset}/{p.green}+{p.reset} destroy and then create replacement",
    ),
    (
        Action.CREATE_THEN_DELETE,
        lambda p: f"{p.green}+{p.reset}/{p.red}-{p.reset} create replacement and then destroy",
    ),
    (Action.READ, lambda p: f" {p.cyan}<={p.reset} read (data resources)"),
    (Action.FORGET, lambda p: f"  {p.red}.{p.reset} forget (no longer managed, not destroyed)"),
)


def _hours(hours: float) -> str:
    if hours * 3600 < 60:
        return f"{max(1, round(hours * 3600))}s"
    minutes = round(hours * 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}m" if h and m else (f"{h}h" if h else f"{m}m")


def render_cost(cost: Mapping[str, Any], p: Palette) -> str:
    """The plan's cost (`Plan.cost`, see mlform.engine.cost): a line per priced instance and
    the total, `Cost: $32.77/h while running; estimated $65.54 for the training runs in this
    plan.`"""
    from mlform.kinds.offers import money

    rows: list[tuple[str, str]] = []
    for e in cost.get("resources") or []:
        rate = e.get("price_per_hour")
        if e.get("kind") != "run":
            rows.append((e["address"], f"{money(rate)}/h"))
            continue
        paid = f"{money(rate)}/h" + (f" ({e['price_from']})" if e.get("price_from") else "")
        est = e.get("estimated_cost")
        basis = e.get("basis")
        if est is None:
            text = f"{paid}; estimated cost unknown: no timeout and no earlier run to go by"
        elif basis == "history":
            runs = e.get("runs") or 0
            text = (
                f"estimated {money(est)}: {paid} x {_hours(e['hours'])}, the median of "
                f"{runs} earlier run{'s' if runs != 1 else ''}"
            )
        elif basis == "timeout":
            text = f"estimated {money(est)}: {paid} x {_hours(e['hours'])}, its timeout"
        else:
            text = f"estimated {money(est)} (planned by the provider)"
        rows.append((e["address"], text))
    width = max((len(a) for a, _ in rows), default=0)
    lines = ["", f"{p.bold}Cost{p.reset} (USD, from the providers' price lists):"]
    lines += [f"  {a.ljust(width)}  {t}" for a, t in rows]
    total = (
        f"{p.bold}Cost:{p.reset} {money(cost.get('price_per_hour') or 0)}/h while running; "
        f"estimated {money(cost.get('estimated_cost') or 0)} for the training runs in this plan"
    )
    missing = cost.get("unestimated") or []
    if missing:
        total += f" (not counting {', '.join(missing)}: set a timeout)"
    lines.append(total + ".")
    return "\n".join(lines) + "\n"


def render_plan(
    plan: Plan,
    color: bool = False,
    schemas: Mapping[str, BodySchema] | None = None,
    width: int = DEFAULT_WIDTH,
) -> str:
    """The whole plan as `mlform plan` prints it. `schemas` maps resource types to their
    body schema (arguments and attributes), for drawing nested blocks as blocks."""
    p = Palette(color)
    schemas = schemas or {}
    out: list[str] = []

    def put(text: str) -> None:
        out.append(text)

    # Which changes are shown: no-ops only when they move or import something; deleted data
    # sources never.
    changes = [
        rc
        for rc in _sorted_changes(plan.changes)
        if (rc.action is not Action.NOOP or rc.moved or rc.importing is not None)
        and not (rc.action is Action.DELETE and rc.addr.resource.mode == "data")
    ]
    counts: dict[Action, int] = {}
    importing = 0
    for rc in changes:
        if rc.importing is not None:
            importing += 1
        if rc.action is not Action.NOOP:
            counts[rc.action] = counts.get(rc.action, 0) + 1
    outputs = _render_outputs(plan.output_changes, p)

    # Drift first, in its own section.
    if plan.mode == "refresh_only":
        drift = _sorted_changes(plan.drift)
    else:
        drift = [d for d in _sorted_changes(plan.drift) if d.action is not Action.NOOP]
    have_drift = bool(drift) and (plan.mode == "refresh_only" or bool(changes) or bool(outputs))
    if have_drift:
        put(
            f"\n{p.bold}{p.cyan}Note:{p.reset}{p.bold} Objects have changed outside of mlform{p.reset}\n"
        )
        put("\n")
        put(
            word_wrap(
                "mlform detected the following changes made outside of mlform since the last "
                '"mlform apply" which may have affected this plan:\n',
                width,
            )
        )
        for d in drift:
            put("\n")
            put(render_change(d, color, schemas.get(d.addr.resource.type), drift=True) + "\n")
        if plan.mode == "refresh_only":
            tail = (
                "\n\nThis is a refresh-only plan, so mlform will not take any actions to undo "
                "these. If you were expecting these changes then you can apply this plan to "
                "record the updated values in the mlform state without changing any remote "
                "objects."
            )
        else:
            tail = (
                "\n\nUnless you have made equivalent changes to your configuration, or ignored "
                "the relevant attributes using ignore_changes, the following plan may include "
                "actions to undo or respond to these changes."
            )
        put(word_wrap(tail, width) + "\n")

    rule = f"{p.gray}\n" + "─" * (width - 1) + p.reset

    pending = [rc for rc in plan.pending] if plan.mode == "normal" else []
    if pending:
        put(f"\n{p.bold}Jobs submitted earlier:{p.reset}\n")
        for rc in pending:
            put(f"  {p.bold}# {pending_note(rc)}{p.reset}\n")
        if not changes and not outputs:
            put(
                f"\n{p.reset}{p.bold}{p.green}No changes.{p.reset}{p.bold} Your infrastructure "
                f"matches the configuration.{p.reset}\n\n"
            )
            put(
                word_wrap(
                    "mlform apply waits for the jobs above and records their outputs in the "
                    "state; nothing else needs to change.",
                    width,
                )
                + "\n"
            )
            return "".join(out)

    if not changes and not outputs:
        if plan.errored:
            if have_drift:
                put(rule + "\n")
            put(
                f"\n{p.reset}{p.bold}{p.red}Planning failed.{p.reset}{p.bold} mlform encountered "
                f"an error while generating this plan.{p.reset}\n\n"
            )
        elif plan.mode == "refresh_only":
            if have_drift:
                return "".join(out)
            put(
                f"\n{p.reset}{p.bold}{p.green}No changes.{p.reset}{p.bold} Your infrastructure "
                f"still matches the configuration.{p.reset}\n\n"
            )
            put(
                word_wrap(
                    "mlform has checked that the real remote objects still match the result of "
                    "your most recent changes, and found no differences.",
                    width,
                )
                + "\n"
            )
        elif plan.mode == "destroy":
            if have_drift:
                put(rule + "\n")
            put(
                f"\n{p.reset}{p.bold}{p.green}No changes.{p.reset}{p.bold} No objects need to be "
                f"destroyed.{p.reset}\n\n"
            )
            put(
                word_wrap(
                    "Either you have not created any objects yet or the existing objects were "
                    "already deleted outside of mlform.",
                    width,
                )
                + "\n"
            )
        else:
            if have_drift:
                put(rule + "\n")
            put(
                f"\n{p.reset}{p.bold}{p.green}No changes.{p.reset}{p.bold} Your infrastructure "
                f"matches the configuration.{p.reset}\n\n"
            )
            put(
                word_wrap(
                    "mlform has compared your real infrastructure against your configuration and "
                    "found no differences, so no changes are needed.",
                    width,
                )
                + "\n"
            )
        return "".join(out)

    if have_drift:
        put(rule + "\n")

    if counts:
        put(
            word_wrap(
                "\nmlform used the selected providers to generate the following execution plan. "
                "Resource actions are indicated with the following symbols:",
                width,
            )
            + "\n"
        )
        for action, text in _LEGEND:
            if counts.get(action):
                put(text(p) + "\n")

    if changes:
        if plan.errored:
            put("\nmlform planned the following actions, but then encountered a problem:\n")
        else:
            put("\nmlform will perform the following actions:\n")
        for rc in changes:
            put("\n")
            put(render_change(rc, color, schemas.get(rc.addr.resource.type)) + "\n")
        add = sum(
            counts.get(a, 0)
            for a in (Action.CREATE, Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)
        )
        destroy = sum(
            counts.get(a, 0)
            for a in (Action.DELETE, Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)
        )
        head = f"{importing} to import, " if importing else ""
        forget = counts.get(Action.FORGET, 0)
        tail = f", {forget} to forget" if forget else ""
        put(
            f"\n{p.bold}Plan:{p.reset} {head}{add} to add, {counts.get(Action.UPDATE, 0)} to "
            f"change, {destroy} to destroy{tail}.\n"
        )
        if plan.cost:
            put(render_cost(plan.cost, p))

    if outputs:
        put("\nChanges to Outputs:\n")
        put(outputs + "\n")
        if not counts:
            put(
                word_wrap(
                    "\nYou can apply this plan to save these new output values to the mlform "
                    "state, without changing any real infrastructure.",
                    width,
                )
                + "\n"
            )
    return "".join(out)
