"""The body structure of a token sequence: which tokens are attributes, blocks and labels.

The formatter works on tokens, but `terraform fmt` also rewrites a few things that need to know
the structure: the value of each attribute (an interpolation-only string is unwrapped), the type
of a variable, and the labels of each block. This walks HCL's body grammar (attributes, blocks
with labels, one-line blocks) over the tokens, finds those spans, and reports structural syntax
errors with their position. Expressions are only delimited here (by balanced brackets and the
newline that ends them), not parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlform.config.fmt import tokens as T
from mlform.config.fmt.layout import bracket_change
from mlform.config.fmt.tokens import Token
from mlform.diagnostics import Diagnostic, error


@dataclass
class AttrSpan:
    """An attribute `name = expr`: `expr` covers tokens[start:end], comments at its edges excluded."""

    name: str
    start: int
    end: int
    blocks: tuple[str, ...]


@dataclass
class BlockSpan:
    type: str
    # index of the type name and of the opening brace; labels and comments lie between them
    type_index: int
    open_index: int = -1
    # (start, end) token index ranges of each label
    labels: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Structure:
    attrs: list[AttrSpan] = field(default_factory=list)
    blocks: list[BlockSpan] = field(default_factory=list)


class _Stop(Exception):
    pass


class _Walker:
    def __init__(self, toks: list[Token], index: T._PosIndex):
        self.toks = toks
        self.index = index
        self.out = Structure()
        self.diags: list[Diagnostic] = []

    def fail(self, summary: str, detail: str, tok: Token) -> None:
        self.diags.append(
            error(summary, detail, self.index.range(tok.start, max(tok.end, tok.start + 1)))
        )
        raise _Stop

    def sig(self, i: int) -> int:
        """The next token from i that matters to the body grammar (inline comments skipped)."""
        while self.toks[i].type == T.COMMENT and not self.toks[i].ends_line:
            i += 1
        return i

    def ends_line(self, tok: Token) -> bool:
        return tok.ends_line or tok.type == T.EOF

    def body(self, i: int, closing: bool, path: tuple[str, ...]) -> int:
        toks = self.toks
        while True:
            tok = toks[i]
            if tok.ends_line or tok.type == T.COMMENT:
                i += 1
                continue
            if tok.type == T.EOF:
                if closing:
                    self.fail(
                        "Unclosed configuration block",
                        "There is no closing brace for this block before the end of the file.",
                        tok,
                    )
                return i
            if tok.type == T.CBRACE and closing:
                return i
            if tok.type != T.IDENT:
                self.fail(
                    "Argument or block definition required",
                    "An argument or block definition is required here.",
                    tok,
                )
            i = self.item(i, path)

    def item(self, i: int, path: tuple[str, ...]) -> int:
        toks = self.toks
        name = toks[i]
        j = self.sig(i + 1)
        if toks[j].type == T.EQUAL:
            end = self.expression(j + 1, name.text, path, one_line=False)
            if not self.ends_line(toks[end]):
                self.fail(
                    "Missing newline after argument",
                    "An argument definition must end with a newline.",
                    toks[end],
                )
            return end
        block = BlockSpan(name.text, i)
        while toks[j].type in (T.IDENT, T.OQUOTE):
            if toks[j].type == T.IDENT:
                block.labels.append((j, j + 1))
                j = self.sig(j + 1)
                continue
            k = j + 1
            while toks[k].type == T.QUOTED_LIT:
                k += 1
            if toks[k].type != T.CQUOTE:
                self.fail(
                    "Invalid block label",
                    "A block label must be a quoted string without interpolation.",
                    toks[k],
                )
            block.labels.append((j, k + 1))
            j = self.sig(k + 1)
        if toks[j].type != T.OBRACE:
            what = "argument" if not block.labels else "block definition"
            self.fail(
                f"Invalid {what}",
                "An argument is a name followed by an equals sign; a block definition is a "
                "type, optional labels, and an opening brace.",
                toks[j],
            )
        block.open_index = j
        self.out.blocks.append(block)
        inner = path + (name.text,)
        k = self.sig(j + 1)
        if toks[k].ends_line:
            close = self.body(k, closing=True, path=inner)
        elif toks[k].type == T.CBRACE:
            close = k
        else:
            if toks[k].type != T.IDENT or toks[self.sig(k + 1)].type != T.EQUAL:
                self.fail(
                    "Invalid single-argument block definition",
                    "A single-line block definition may contain only a single argument. "
                    "Put nested blocks and further arguments on their own lines.",
                    toks[k],
                )
            close = self.expression(self.sig(k + 1) + 1, toks[k].text, inner, one_line=True)
            if toks[close].type != T.CBRACE:
                self.fail(
                    "Invalid single-argument block definition",
                    "A single-line block definition must end with a closing brace on the same line.",
                    toks[close],
                )
        after = self.sig(close + 1)
        if not self.ends_line(toks[after]):
            self.fail(
                "Missing newline after block definition",
                "A block definition must end with a newline.",
                toks[after],
            )
        return after

    def expression(self, i: int, name: str, path: tuple[str, ...], one_line: bool) -> int:
        """Walk an expression from i; return the index of the token that ends it."""
        toks = self.toks
        depth = 0
        j = i
        while True:
            tok = toks[j]
            if tok.type == T.EOF:
                break
            if depth == 0 and tok.ends_line:
                break
            if depth == 0 and one_line and tok.type == T.CBRACE:
                break
            depth += bracket_change(tok)
            if depth < 0:
                break
            j += 1
        start, end = i, j
        while start < end and toks[start].type == T.COMMENT:
            start += 1
        while end > start and toks[end - 1].type == T.COMMENT:
            end -= 1
        if start == end:
            self.fail(
                "Invalid expression",
                "Expected the start of an expression, but found an invalid expression token.",
                toks[j],
            )
        self.out.attrs.append(AttrSpan(name, start, end, path))
        return j


def scan(toks: list[Token], index: T._PosIndex) -> tuple[Structure, list[Diagnostic]]:
    """The attributes and blocks of a token sequence, or the first structural error."""
    walker = _Walker(toks, index)
    try:
        walker.body(0, closing=False, path=())
    except _Stop:
        pass
    return walker.out, walker.diags
