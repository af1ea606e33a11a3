"""The tokenizer for HCL's native syntax (`.mlf.hcl`, `.tf`, `.mlfvars.hcl`).

It turns source text into three parallel lists (token kinds, start offsets, end offsets), which
is much cheaper in Python than one object per token. Offsets are 0-based character offsets;
the parser turns them into line and column only where it builds a source range.

HCL's lexical structure has modes: ordinary expression tokens, quoted template strings, heredoc
templates and bare templates, with `${ ... }` and `%{ ... }` sequences switching back to
ordinary tokens until their closing brace. The tokenizer keeps a stack of open brackets to know
when a `}` closes a template sequence rather than an object or block.

Newlines matter in HCL only where they separate items: at the top level, in block bodies and in
object constructors. Inside parentheses, brackets, template sequences and `{ for ... }`
expressions they are ignored. The tokenizer applies this rule itself and emits `NL` tokens only
where they are significant, so the parser never has to skip them.

Line comments (`#`, `//`) end at the newline, which still counts as a newline; block comments
(`/* */`) vanish.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Token kinds. Punctuation and operators use their own text as kind ("=", "{", "==", "...").
NL = "NL"
IDENT = "IDENT"
NUMBER = "NUMBER"
OQUOTE = "OQUOTE"  # the opening `"` of a quoted template
CQUOTE = "CQUOTE"  # its closing `"` (zero width when the string is unterminated)
QLIT = "QLIT"  # literal text inside a quoted template, escapes not yet decoded
OHEREDOC = "OHEREDOC"  # `<<EOT` or `<<-EOT` (the newline after it is not part of the token)
CHEREDOC = "CHEREDOC"  # the closing marker line's marker (zero width when unterminated)
HLIT = "HLIT"  # literal text of a heredoc or bare template: one line at most, newline included
TINTERP = "TINTERP"  # `${` or `${~`
TCONTROL = "TCONTROL"  # `%{` or `%{~`
TSEQEND = "TSEQEND"  # `}` or `~}` closing a template sequence
INVALID = "INVALID"  # a character that cannot start any token (reported by the tokenizer)
EOF = "EOF"

# The ordinary-mode scanner: optional blanks, then exactly one token. Group numbers are read
# through `lastindex`, which is faster than named groups.
_NORMAL = re.compile(
    r"""[ \t\r]*(?:
     (\n)                                            # 1 newline
    |(\#[^\n]*|//[^\n]*)                             # 2 line comment
    |(/\*)                                           # 3 block comment opener
    |([^\W\d][\w-]*)                                 # 4 identifier
    |([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)       # 5 number
    |("[^"\\$%\n]*")                                # 6 a whole string without escapes or ${
    |(")                                             # 7 quoted template
    |(<<-?[^\W\d][\w-]*)(?=\r?\n)                     # 8 heredoc opener
    |(==|!=|<=|>=|&&|\|\||=>|\.\.\.|::|~\}|[-+*/%<>!=?:.,()\[\]{}])   # 9 operator
    |(\Z)                                            # 10 end of text
    |('[^'\n]*'?|.)                                 # 11 anything else (a 'string' at once)
    )""",
    re.X | re.S,
)

# Literal text inside a quoted template: everything up to a quote, a newline, or a `${` / `%{`
# that is not escaped as `$${` / `%%{`. Backslash escapes are decoded later by the parser.
_QUOTED_LIT = re.compile(r"""(?:[^"\\$%\n]+|\\[^\n]?|\$\$\{|%%\{|\$(?!\{)|%(?!\{))+""")
# Literal text of a heredoc or bare template, up to and including the end of the line.
_HEREDOC_LIT = re.compile(r"""(?:[^$%\n]+|\$\$\{|%%\{|\$(?!\{)|%(?!\{))*\n?""")
_TEMPLATE_OPEN = re.compile(r"[$%]\{~?")
_FOR_AHEAD = re.compile(r"\s*for\s")

_IDENT_RE = re.compile(r"[^\W\d][\w-]*\Z")
_IDENT_REST = re.compile(r"[\w-]*")


@dataclass(slots=True)
class LexError:
    summary: str
    detail: str
    start: int
    end: int


@dataclass(slots=True)
class Tokens:
    text: str
    kinds: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    errors: list[LexError] = field(default_factory=list)


def is_identifier(s: str) -> bool:
    """Whether `s` is a valid HCL identifier: a Unicode ID_Start character or `_`, then ID_Continue
    characters (letters, digits, combining marks, `_`) and `-`."""
    if _IDENT_RE.match(s) is not None:
        return True
    m = re.match(r"[^\W\d]", s)
    return m is not None and _ident_end(s, 1) == len(s)


def _is_continue(ch: str) -> bool:
    # Python identifiers follow Unicode's XID_Continue, which is what HCL's ID_Continue comes to
    # for the characters an identifier can hold.
    return ch == "-" or ("_" + ch).isidentifier()


def _ident_end(text: str, e: int) -> int:
    """Where an identifier whose first part ends at `e` really ends, taking in characters the
    ordinary scanner's word pattern leaves out (combining marks such as U+0301)."""
    n = len(text)
    while e < n and _is_continue(text[e]):
        m = _IDENT_REST.match(text, e + 1)
        e = m.end() if m is not None else e + 1
    return e


# Modes of the scanner, kept on the bracket stack: what the innermost open construct is.
_BRACE = "{"  # a block body or object constructor: newlines count
_FOR_BRACE = "f"  # `{ for ... }`: newlines do not count
_PAREN = "("
_BRACKET = "["
_INTERP_QUOTED = "q"  # a `${`/`%{` sequence inside a quoted template
_INTERP_HEREDOC = "h"  # ... inside a heredoc
_INTERP_TEMPLATE = "t"  # ... inside a bare template
_CLOSERS = {")": _PAREN, "]": _BRACKET}


def tokenize(text: str, *, newlines: bool = True) -> Tokens:
    """Tokens of HCL native syntax. With `newlines=False` (a lone expression) no `NL` tokens are
    produced at the top level."""
    return _Lexer(text).run("" if newlines else _PAREN)


def tokenize_template(text: str) -> Tokens:
    """Tokens of a bare template (the content of a `templatefile` file): literal text with
    `${ }` and `%{ }` sequences, ending with `EOF`."""
    return _Lexer(text).run("", template=True)


class _Lexer:
    __slots__ = ("text", "toks", "stack", "markers")

    def __init__(self, text: str):
        self.text = text
        self.toks = Tokens(text)
        self.stack: list[str] = []
        self.markers: list[tuple[str, int]] = []  # open heredocs: (marker, start offset)

    def error(self, summary: str, detail: str, start: int, end: int) -> None:
        self.toks.errors.append(LexError(summary, detail, start, end))

    def run(self, outer: str, template: bool = False) -> Tokens:
        if outer:
            self.stack.append(outer)
        pos = 0
        if template:
            pos = self.heredoc(pos, None, True)
        self.normal(pos)
        return self.toks

    # -- ordinary tokens ---------------------------------------------------------------------

    def normal(self, pos: int) -> int:
        """Scan ordinary tokens until the end of text. Quoted strings and heredocs are scanned
        by their own loops, which come back here."""
        text = self.text
        toks = self.toks
        kinds = toks.kinds
        starts = toks.starts
        ends = toks.ends
        stack = self.stack
        # _NORMAL always matches: group 10 takes the end of text, group 11 any other character.
        match: Callable[[str, int], re.Match[str]] = _NORMAL.match  # type: ignore[assignment]
        nl_on = not stack or stack[-1] == _BRACE
        n = len(text)
        while True:
            m = match(text, pos)
            g: int = m.lastindex  # type: ignore[assignment]  # exactly one group matched
            s, e = m.span(g)
            pos = e
            if g == 4:
                if e < n and text[e] > "\x7f":
                    # A combining mark (or another ID_Continue character the word pattern lacks) goes on
                    # the identifier, as HCL's Unicode identifiers allow.
                    e = pos = _ident_end(text, e)
                kinds.append(IDENT)
            elif g == 9:
                op = text[s:e]
                if op in "([{":
                    if op == "{" and _FOR_AHEAD.match(text, e):
                        stack.append(_FOR_BRACE)
                    else:
                        stack.append(op)
                    nl_on = op == "{" and stack[-1] == _BRACE
                    kinds.append(op)
                elif op == "}" or op == "~}":
                    # Brackets left open inside are dropped (the parser reports them), so a
                    # brace still closes what it belongs to.
                    while stack and stack[-1] in "([":
                        stack.pop()
                    top = stack[-1] if stack else ""
                    if top and top in "qht":
                        # The end of a template sequence: back to template text.
                        stack.pop()
                        kinds.append(TSEQEND)
                        starts.append(s)
                        ends.append(e)
                        if top == _INTERP_QUOTED:
                            pos = self.quoted(pos)
                        else:
                            marker = self.markers[-1][0] if top == _INTERP_HEREDOC else None
                            pos = self.heredoc(pos, marker, False)
                        nl_on = not stack or stack[-1] == _BRACE
                        continue
                    if op == "~}":
                        self.error(
                            "Invalid character",
                            'The "~" character is only allowed at the end of a template '
                            "interpolation or directive, as in `${ x ~}`.",
                            s,
                            s + 1,
                        )
                        kinds.append(INVALID)
                        starts.append(s)
                        ends.append(s + 1)
                        pos = s + 1
                        continue
                    if top:
                        stack.pop()
                    nl_on = not stack or stack[-1] == _BRACE
                    kinds.append(op)
                elif op == ")" or op == "]":
                    want = _CLOSERS[op]
                    # Close the matching bracket if it is open inside the innermost brace or
                    # template sequence, dropping any left open within it.
                    j = len(stack) - 1
                    while j >= 0 and stack[j] in "([" and stack[j] != want:
                        j -= 1
                    if j >= 0 and stack[j] == want:
                        del stack[j:]
                    nl_on = not stack or stack[-1] == _BRACE
                    kinds.append(op)
                else:
                    kinds.append(op)
            elif g == 1:
                if not nl_on:
                    continue
                kinds.append(NL)
            elif g == 2:
                continue  # the newline after it comes next
            elif g == 5:
                kinds.append(NUMBER)
            elif g == 6:
                # The common case, a plain string, in one match: its three tokens at once.
                if e - s > 2:
                    kinds += (OQUOTE, QLIT, CQUOTE)
                    starts += (s, s + 1, e - 1)
                    ends += (s + 1, e - 1, e)
                else:
                    kinds += (OQUOTE, CQUOTE)
                    starts += (s, s + 1)
                    ends += (s + 1, e)
                continue
            elif g == 7:
                kinds.append(OQUOTE)
                starts.append(s)
                ends.append(e)
                pos = self.quoted(e)
                nl_on = not stack or stack[-1] == _BRACE
                continue
            elif g == 8:
                kinds.append(OHEREDOC)
                starts.append(s)
                ends.append(e)
                marker = text[s + 3 : e] if text[s + 2] == "-" else text[s + 2 : e]
                self.markers.append((marker, s))
                nl = text.index("\n", e)
                pos = self.heredoc(nl + 1, marker, True)
                nl_on = not stack or stack[-1] == _BRACE
                continue
            elif g == 3:
                close = text.find("*/", e)
                if close < 0:
                    self.error(
                        "Unterminated comment",
                        'There is no "*/" closing this comment before the end of the file.',
                        s,
                        e,
                    )
                    pos = n
                else:
                    pos = close + 2
                continue
            elif g == 10:
                kinds.append(EOF)
                starts.append(s)
                ends.append(s)
                return pos
            else:
                ch = text[s]
                if ch == "'":
                    detail = (
                        'Single quotes are not valid. Use double quotes (") to enclose strings.'
                    )
                else:
                    detail = f"This character ({ch!r}) is not used within the language."
                self.error("Invalid character", detail, s, e)
                kinds.append(INVALID)
            starts.append(s)
            ends.append(e)

    # -- quoted templates --------------------------------------------------------------------

    def quoted(self, pos: int) -> int:
        """Scan the inside of a quoted template from `pos`, through the closing quote or up to
        the `${`/`%{` that leaves it. Returns where ordinary scanning continues."""
        text = self.text
        kinds = self.toks.kinds
        starts = self.toks.starts
        ends = self.toks.ends
        m = _QUOTED_LIT.match(text, pos)
        if m is not None:
            kinds.append(QLIT)
            starts.append(pos)
            pos = m.end()
            ends.append(pos)
        ch = text[pos : pos + 1]
        if ch == '"':
            kinds.append(CQUOTE)
            starts.append(pos)
            ends.append(pos + 1)
            return pos + 1
        if ch in ("$", "%"):
            m = _TEMPLATE_OPEN.match(text, pos)
            assert m is not None
            kinds.append(TINTERP if ch == "$" else TCONTROL)
            starts.append(pos)
            ends.append(m.end())
            self.stack.append(_INTERP_QUOTED)
            return m.end()
        # A newline or the end of the text: the string was never closed.
        opener = self._last_open_quote()
        self.error(
            "Unterminated template string",
            "No closing quote was found for this string on its line. A quoted string cannot "
            'span lines: use the "\\n" escape, or a heredoc (<<EOT) for text of several lines.',
            opener,
            pos,
        )
        kinds.append(CQUOTE)
        starts.append(pos)
        ends.append(pos)
        return pos

    def _last_open_quote(self) -> int:
        kinds = self.toks.kinds
        for i in range(len(kinds) - 1, -1, -1):
            if kinds[i] == OQUOTE:
                return self.toks.starts[i]
        return 0

    # -- heredocs and bare templates -----------------------------------------------------------

    def heredoc(self, pos: int, marker: str | None, line_start: bool) -> int:
        """Scan heredoc (or bare template, `marker` None) text from `pos` until its closing
        marker line or a `${`/`%{`. Returns where ordinary scanning continues."""
        text = self.text
        n = len(text)
        kinds = self.toks.kinds
        starts = self.toks.starts
        ends = self.toks.ends
        # _HEREDOC_LIT matches at every position (it may match the empty string).
        lit: Callable[[str, int], re.Match[str]] = _HEREDOC_LIT.match  # type: ignore[assignment]
        m: re.Match[str] | None
        while True:
            if line_start and marker is not None:
                # Is this the closing marker line? (It may be indented.)
                j = pos
                while j < n and text[j] in " \t":
                    j += 1
                if text.startswith(marker, j):
                    k = j + len(marker)
                    # Blanks may follow the marker on its line, as they may precede it.
                    t = k
                    while t < n and text[t] in " \t":
                        t += 1
                    if t == n or text[t] == "\n" or text.startswith("\r\n", t):
                        kinds.append(CHEREDOC)
                        starts.append(j)
                        ends.append(k)
                        self.markers.pop()
                        return k
            if pos >= n:
                if marker is not None:
                    _, opened = self.markers.pop()
                    self.error(
                        "Unterminated template string",
                        f'There is no line with the closing marker "{marker}" for this heredoc '
                        "before the end of the file.",
                        opened,
                        opened + len(marker) + 2,
                    )
                    kinds.append(CHEREDOC)
                    starts.append(n)
                    ends.append(n)
                return n
            m = lit(text, pos)
            e = m.end()
            if e > pos:
                kinds.append(HLIT)
                starts.append(pos)
                ends.append(e)
                line_start = text[e - 1] == "\n"
                pos = e
                if line_start:
                    continue
            if pos >= n:
                continue
            # A template sequence opener.
            m = _TEMPLATE_OPEN.match(text, pos)
            assert m is not None
            kinds.append(TINTERP if text[pos] == "$" else TCONTROL)
            starts.append(pos)
            ends.append(m.end())
            self.stack.append(_INTERP_HEREDOC if marker is not None else _INTERP_TEMPLATE)
            return m.end()
