"""Canonical whitespace for a token sequence: indentation, spacing and alignment.

This follows the layout rules of `terraform fmt` (HCL's hclwrite formatter), so that a file
formatted by mlform and by Terraform is the same byte for byte:

- the tokens are cut into lines at newlines (a `#` or `//` comment ends its line);
- each line is split into up to three cells: the lead, the assignment (from `=` to the end, when
  the brackets after `=` balance) and a trailing comment;
- indentation is two spaces per level, where a level opens on a line whose brackets open more
  than they close, and closes with the line that closes them;
- the spaces between two tokens come from a small table of rules (`_space_after`);
- the `=` of consecutive assignment lines line up, and so do their trailing comments.

Only whitespace between tokens changes; the text inside strings, heredocs and comments is kept.
"""

from __future__ import annotations

from mlform.config.fmt import tokens as T
from mlform.config.fmt.tokens import Token

try:  # extended grapheme clusters, as HCL counts columns
    import regex as _regex

    _GRAPHEME = _regex.compile(r"\X", _regex.DOTALL)

    def _graphemes(text: str) -> int:
        if text.isascii():
            return len(text) - text.count("\r\n")
        return len(_GRAPHEME.findall(text))

except ImportError:  # pragma: no cover - regex is a dependency of mlform
    import unicodedata

    def _graphemes(text: str) -> int:
        count = 0
        prev = ""
        for ch in text:
            if prev == "\r" and ch == "\n":
                pass
            elif prev == "\u200d" or unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e":
                pass
            else:
                count += 1
            prev = ch
        return count


_NIL = Token(T.NIL, "")

_OPEN = {T.OBRACE, T.OBRACK, T.OPAREN, T.TEMPLATE_CONTROL, T.TEMPLATE_INTERP}
_CLOSE = {T.CBRACE, T.CBRACK, T.CPAREN, T.TEMPLATE_SEQ_END}


def bracket_change(tok: Token) -> int:
    if tok.type in _OPEN:
        return 1
    if tok.type in _CLOSE:
        return -1
    return 0


def columns(toks: list[Token]) -> int:
    return sum(t.spaces + _graphemes(t.text) for t in toks)


class _Line:
    __slots__ = ("lead", "assign", "comment")

    def __init__(self, lead: list[Token]):
        self.lead = lead
        self.assign: list[Token] | None = None
        self.comment: list[Token] | None = None


def _lines(toks: list[Token]) -> list[_Line]:
    lines: list[_Line] = []
    current: list[Token] = []
    for tok in toks:
        if tok.type == T.EOF:
            break
        current.append(tok)
        if tok.ends_line:
            lines.append(_Line(current))
            current = []
    lines.append(_Line(current))

    for line in lines:
        lead = line.lead
        if not lead:
            continue
        if len(lead) > 1 and lead[-1].type == T.COMMENT:
            line.comment = lead[-1:]
            lead = line.lead = lead[:-1]
        for i, tok in enumerate(lead):
            if i > 0 and tok.type == T.EQUAL:
                # Only a right-hand side whose brackets balance on this line counts as an
                # assignment; one that opens a multi-line value does not take part in alignment.
                if sum(bracket_change(t) for t in lead[i:]) == 0:
                    line.assign = lead[i:]
                    line.lead = lead[:i]
                break
    return lines


def _indent(lines: list[_Line]) -> None:
    indents: list[int] = []
    for line in lines:
        if not line.lead:
            continue
        first = line.lead[0]
        if first.type == T.NEWLINE:
            first.spaces = 0
            continue
        net = 0
        for tok in line.lead:
            net += bracket_change(tok)
            if tok.type == T.OHEREDOC:
                break
        for tok in line.assign or ():
            net += bracket_change(tok)
        if net > 0:
            first.spaces = 2 * len(indents)
            indents.append(net)
        elif net < 0:
            closed = -net
            while closed > 0 and indents:
                top = indents[-1]
                if closed > top:
                    closed -= top
                    indents.pop()
                elif closed < top:
                    indents[-1] -= closed
                    closed = 0
                else:
                    indents.pop()
                    closed = 0
            first.spaces = 2 * len(indents)
        else:
            first.spaces = 2 * len(indents)


_TEMPLATE_TEXT = {T.QUOTED_LIT, T.STRING_LIT}
_NEG_BEFORE = {
    T.NIL,
    T.OPAREN,
    T.OBRACE,
    T.OBRACK,
    T.EQUAL,
    T.COLON,
    T.COMMA,
    T.QUESTION,
    T.PLUS,
    T.STAR,
    T.SLASH,
    T.PERCENT,
    T.MINUS,
    T.EQUAL_OP,
    T.NOT_EQUAL,
    T.GT,
    T.GTE,
    T.LT,
    T.LTE,
    T.AND,
    T.OR,
    T.BANG,
}


def _space_after(subject: Token, before: Token, after: Token) -> bool:
    """Whether one space separates `subject` from the token `after` it."""
    s, a = subject.type, after.type
    if a in (T.NEWLINE, T.NIL):
        return False
    if s == T.IDENT and a == T.OPAREN:
        return False  # a function name stays on its parenthesis
    if s == T.DOT or a == T.DOT:
        return False
    if a in (T.COMMA, T.ELLIPSIS):
        return False
    if s == T.COMMA:
        return True
    if (
        s in _TEMPLATE_TEXT
        or s in (T.OQUOTE, T.OHEREDOC)
        or a in _TEMPLATE_TEXT
        or a in (T.CQUOTE, T.CHEREDOC)
    ):
        return False  # never inside template text
    if s == T.IDENT and subject.text == "in" and before.type == T.IDENT:
        return True  # `for x in [..]` keeps its space before a tuple
    if a == T.OBRACK and (s in (T.IDENT, T.NUMBER_LIT) or bracket_change(subject) < 0):
        return False  # an index
    if s == T.BANG:
        return False
    if s == T.MINUS:
        # Negation, when what comes before cannot end an expression.
        return before.type not in _NEG_BEFORE
    if s == T.OBRACE or a == T.CBRACE:
        return not (s == T.OBRACE and a == T.CBRACE)
    if s in (T.TEMPLATE_INTERP, T.TEMPLATE_CONTROL) and a == T.OBRACE:
        return True
    if s == T.CBRACE and a == T.TEMPLATE_SEQ_END:
        return True
    if s == T.TEMPLATE_SEQ_END and a in (T.TEMPLATE_INTERP, T.TEMPLATE_CONTROL):
        return False
    if bracket_change(subject) > 0:
        return False
    if bracket_change(after) < 0:
        return False
    return True


def _space_cell(cell: list[Token]) -> None:
    last = len(cell) - 1
    for i, tok in enumerate(cell):
        if i == last:
            break
        before = cell[i - 1] if i > 0 else _NIL
        after = cell[i + 1]
        after.spaces = 1 if _space_after(tok, before, after) else 0


def _spaces(lines: list[_Line]) -> None:
    for line in lines:
        _space_cell(line.lead)
        if line.assign:
            line.assign[0].spaces = 1
            _space_cell(line.assign)


def _align(lines: list[_Line]) -> None:
    def run(cell: str, width_of) -> None:  # type: ignore[no-untyped-def]
        chain: list[_Line] = []

        def close() -> None:
            widest = max(width_of(ln) for ln in chain)
            for ln in chain:
                getattr(ln, cell)[0].spaces = widest - width_of(ln) + 1
            chain.clear()

        for line in lines:
            if getattr(line, cell) is None:
                if chain:
                    close()
            else:
                chain.append(line)
        if chain:
            close()

    run("assign", lambda ln: columns(ln.lead))
    run("comment", lambda ln: columns(ln.lead) + columns(ln.assign or []))


def layout(toks: list[Token]) -> None:
    """Set `spaces` on every token (but the final EOF) to the canonical layout, in place."""
    lines = _lines(toks)
    _indent(lines)
    _spaces(lines)
    _align(lines)


def render(toks: list[Token]) -> str:
    return "".join(" " * t.spaces + t.text for t in toks)
