"""A lossless HCL tokenizer for the formatter.

The formatter rewrites only the whitespace between tokens, so it needs every token of a file,
comments and newlines included, split exactly where HCL's own scanner splits them (a `#` comment
owns the newline that ends it; a heredoc's closing marker keeps its leading spaces; a quoted
literal is cut at every `$` and `%`). Each token records how many spaces or tabs preceded it,
which is all the whitespace the scanner skips; everything else, including the text inside
strings and heredocs, lives in the tokens themselves. Joining `" " * spaces + text` over the
tokens gives the source back.

Problems the scanner can see on its own (an unterminated string, heredoc or comment, a character
that cannot start a token, unbalanced brackets) become diagnostics with their position.
"""

from __future__ import annotations

import re

from mlform.diagnostics import Diagnostic, Pos, Range, error

# Token types, named after HCL's scanner.
OBRACE, CBRACE, OBRACK, CBRACK, OPAREN, CPAREN = "{", "}", "[", "]", "(", ")"
OQUOTE, CQUOTE, OHEREDOC, CHEREDOC = "OQuote", "CQuote", "OHeredoc", "CHeredoc"
STAR, SLASH, PLUS, MINUS, PERCENT = "*", "/", "+", "-", "%"
EQUAL, EQUAL_OP, NOT_EQUAL = "=", "==", "!="
LT, LTE, GT, GTE = "<", "<=", ">", ">="
AND, OR, BANG = "&&", "||", "!"
DOT, COMMA, ELLIPSIS, FAT_ARROW = ".", ",", "...", "=>"
QUESTION, COLON = "?", ":"
TEMPLATE_INTERP, TEMPLATE_CONTROL, TEMPLATE_SEQ_END = "${", "%{", "TemplateSeqEnd"
QUOTED_LIT, STRING_LIT, NUMBER_LIT, IDENT = "QuotedLit", "StringLit", "NumberLit", "Ident"
COMMENT, NEWLINE, EOF = "Comment", "Newline", "EOF"
QUOTED_NEWLINE, INVALID, NIL = "QuotedNewline", "Invalid", "Nil"

# Single characters that stand for themselves in HCL's scanner ("~", ";", "^" and friends are
# tokens too; the parser rejects them, but the scanner must not stop at them).
_SELF_TOKENS = set("[](),.*/%+-=<>!?:&|~^;`'")
_MULTI_OPS = ("...", "==", "!=", ">=", "<=", "&&", "||", "=>")

_NUMBER = re.compile(r"[0-9](?:[0-9.]|[eE][+-]?[0-9])*")
_HEREDOC_INTRO = re.compile(r"<<(-?)([^\W\d]|_)([\w-]*)(\r?\n)")
_LIT_RUN = re.compile(r'(?:\\[^\r\n]|[^$%"\\\r\n])+')
_HEREDOC_RUN = re.compile(r"[^$%\r\n]*")


class Token:
    """One token: its type, its exact text, and the spaces that preceded it."""

    __slots__ = ("type", "text", "spaces", "start", "end")

    def __init__(self, type: str, text: str, spaces: int = 0, start: int = 0, end: int = 0):
        self.type = type
        self.text = text
        self.spaces = spaces
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.text!r}, spaces={self.spaces})"

    @property
    def ends_line(self) -> bool:
        """True for a newline, and for a `#`/`//` comment, which owns the newline ending it."""
        return self.type == NEWLINE or (self.type == COMMENT and self.text.endswith("\n"))


def _is_ident_start(c: str) -> bool:
    return c == "_" or c.isidentifier()


def _is_ident_continue(c: str) -> bool:
    return c == "-" or ("a" + c).isidentifier()


class _PosIndex:
    """Turns character offsets into 1-based line and column numbers for diagnostics."""

    def __init__(self, src: str, filename: str):
        self.src = src
        self.filename = filename
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", src)]

    def pos(self, offset: int) -> Pos:
        import bisect

        i = bisect.bisect_right(self.starts, offset) - 1
        col = offset - self.starts[i] + 1
        byte = len(self.src[:offset].encode("utf-8", "surrogatepass"))
        return Pos(i + 1, col, byte)

    def range(self, start: int, end: int) -> Range:
        return Range(self.filename, self.pos(start), self.pos(max(end, start)))


def lex(src: str, filename: str = "<input>") -> tuple[list[Token], list[Diagnostic]]:
    """Split `src` into tokens, ending with an EOF token. Never raises on bad input."""
    diags: list[Diagnostic] = []
    index = _PosIndex(src, filename)
    tokens: list[Token] = []
    n = len(src)
    pos = 0
    # HCL counts byte offsets and strips a byte order mark before scanning, so the first token
    # sees the mark's three bytes as leading space.
    last_end_adjust = 0
    if src.startswith("\ufeff"):
        pos = 1
        last_end_adjust = 3
    last_end = pos

    modes: list[str] = ["main"]
    braces = 0
    ret_braces: list[int] = []
    heredocs: list[list] = []  # [marker, at_start_of_line, start offset]

    def emit(ty: str, start: int, end: int) -> None:
        nonlocal last_end, last_end_adjust
        tokens.append(Token(ty, src[start:end], start - last_end + last_end_adjust, start, end))
        last_end_adjust = 0
        last_end = end

    def err(summary: str, detail: str, start: int, end: int) -> None:
        diags.append(error(summary, detail, index.range(start, end)))

    string_starts: list[int] = []

    while pos < n:
        mode = modes[-1]
        c = src[pos]
        if mode == "main":
            if c in " \t":
                while pos < n and src[pos] in " \t":
                    pos += 1
                continue
            if c.isdigit() and c.isascii():
                m = _NUMBER.match(src, pos)
                assert m
                end = m.end()
                while src[end - 1] == ".":  # a number never ends with a dot
                    end -= 1
                emit(NUMBER_LIT, pos, end)
                pos = end
                continue
            if _is_ident_start(c):
                end = pos + 1
                while end < n and _is_ident_continue(src[end]):
                    end += 1
                emit(IDENT, pos, end)
                pos = end
                continue
            if c == "#" or src.startswith("//", pos):
                nl = src.find("\n", pos)
                end = n if nl < 0 else nl + 1
                emit(COMMENT, pos, end)
                pos = end
                continue
            if src.startswith("/*", pos):
                close = src.find("*/", pos + 2)
                if close < 0:
                    err(
                        "Unterminated comment",
                        "This multi-line comment has no closing */ before the end of the file.",
                        pos,
                        pos + 2,
                    )
                    emit(COMMENT, pos, n)
                    pos = n
                    continue
                emit(COMMENT, pos, close + 2)
                pos = close + 2
                continue
            if c == "\n":
                emit(NEWLINE, pos, pos + 1)
                pos += 1
                continue
            if c == "\r" and src.startswith("\r\n", pos):
                emit(NEWLINE, pos, pos + 2)
                pos += 2
                continue
            if c == "<" and src.startswith("<<", pos):
                m = _HEREDOC_INTRO.match(src, pos)
                if m and all(_is_ident_continue(ch) for ch in m.group(3)):
                    marker = m.group(2) + m.group(3)
                    emit(OHEREDOC, pos, m.end())
                    heredocs.append([marker, True, pos])
                    modes.append("heredoc")
                    pos = m.end()
                    continue
            if c == "{":
                emit(OBRACE, pos, pos + 1)
                braces += 1
                pos += 1
                continue
            if c == "}" or src.startswith("~}", pos):
                width = 1 if c == "}" else 2
                if ret_braces and ret_braces[-1] == braces:
                    emit(TEMPLATE_SEQ_END, pos, pos + width)
                    braces -= 1
                    ret_braces.pop()
                    modes.pop()
                else:
                    emit(CBRACE if width == 1 else TEMPLATE_SEQ_END, pos, pos + width)
                    braces -= 1
                pos += width
                continue
            if c == '"':
                emit(OQUOTE, pos, pos + 1)
                modes.append("string")
                string_starts.append(pos)
                pos += 1
                continue
            op = next((o for o in _MULTI_OPS if src.startswith(o, pos)), None)
            if op is not None:
                emit(op, pos, pos + len(op))
                pos += len(op)
                continue
            if c in _SELF_TOKENS:
                emit(c, pos, pos + 1)
                pos += 1
                continue
            emit(INVALID, pos, pos + 1)
            err(
                "Invalid character",
                f"This character is not used within the language: {c!r}.",
                pos,
                pos + 1,
            )
            pos += 1
            continue

        # Inside a quoted string or a heredoc.
        if src.startswith("${", pos) or src.startswith("%{", pos):
            end = pos + 2
            if end < n and src[end] == "~":
                end += 1
            emit(TEMPLATE_INTERP if c == "$" else TEMPLATE_CONTROL, pos, end)
            braces += 1
            ret_braces.append(braces)
            if heredocs and mode == "heredoc":
                heredocs[-1][1] = False
            modes.append("main")
            pos = end
            continue
        lit_type = QUOTED_LIT if mode == "string" else STRING_LIT
        if c in "$%":
            # "$${" and "%%{" are escapes; a lone "$" or "%" is literal text.
            end = pos + 1
            if src.startswith(c + "{", pos + 1):
                end = pos + 3
                if end < n and src[end] == "~":
                    end += 1
            elif pos + 1 >= n:
                break
            emit(lit_type, pos, end)
            if mode == "heredoc":
                heredocs[-1][1] = False
            pos = end
            continue
        if mode == "string":
            if c == '"':
                emit(CQUOTE, pos, pos + 1)
                modes.pop()
                string_starts.pop()
                pos += 1
                continue
            if c in "\r\n":
                end = pos
                while end < n and src[end] in "\r\n":
                    end += 1
                emit(QUOTED_NEWLINE, pos, end)
                err(
                    "Unterminated template string",
                    "No closing marker was found for the string.",
                    string_starts[-1],
                    pos,
                )
                pos = end
                continue
            m = _LIT_RUN.match(src, pos)
            if m is None:  # a backslash right before a newline or the end of the file
                emit(INVALID, pos, pos + 1)
                err(
                    "Invalid escape sequence",
                    "A backslash must be followed by a character.",
                    pos,
                    pos + 1,
                )
                pos += 1
                continue
            emit(QUOTED_LIT, pos, m.end())
            pos = m.end()
            continue

        # heredoc
        m = _HEREDOC_RUN.match(src, pos)
        assert m
        run_end = m.end()
        eol_end = -1
        if src.startswith("\n", run_end):
            eol_end = run_end + 1
        elif src.startswith("\r\n", run_end):
            eol_end = run_end + 2
        doc = heredocs[-1]
        if eol_end >= 0:
            if doc[1] and src[pos:run_end].strip() == doc[0]:
                nl_start = run_end
                emit(CHEREDOC, pos, nl_start)
                emit(NEWLINE, nl_start, eol_end)
                heredocs.pop()
                modes.pop()
            else:
                doc[1] = True
                emit(STRING_LIT, pos, eol_end)
            pos = eol_end
            continue
        if run_end > pos:
            doc[1] = False
            emit(STRING_LIT, pos, run_end)
            pos = run_end
            continue
        if run_end >= n:
            break
        # A carriage return not followed by a newline.
        emit(INVALID, pos, pos + 1)
        err("Invalid character", "A carriage return must be followed by a newline.", pos, pos + 1)
        pos += 1

    # Whatever is still open at the end of the file.
    while len(modes) > 1:
        mode = modes.pop()
        if mode == "string":
            start = string_starts.pop()
            err(
                "Unterminated template string",
                "No closing marker was found for the string.",
                start,
                start + 1,
            )
        elif mode == "heredoc":
            marker, _, start = heredocs.pop()
            err(
                "Unterminated template string",
                f"No closing marker was found for the heredoc; it must be a line holding only {marker}.",
                start,
                start + 2,
            )
        if pos < n:
            emit(INVALID, pos, n)
            pos = n
    tokens.append(Token(EOF, "", n - last_end + last_end_adjust, n, n))
    if not diags:
        diags.extend(_check_brackets(tokens, index))
    return tokens, diags


_OPENERS = {OBRACE: CBRACE, OBRACK: CBRACK, OPAREN: CPAREN}
_CLOSERS = {CBRACE, CBRACK, CPAREN, TEMPLATE_SEQ_END}


def _check_brackets(tokens: list[Token], index: _PosIndex) -> list[Diagnostic]:
    """Every bracket closed by its own kind, in order."""
    stack: list[Token] = []
    for tok in tokens:
        if tok.type in _OPENERS or tok.type in (TEMPLATE_INTERP, TEMPLATE_CONTROL):
            stack.append(tok)
        elif tok.type in _CLOSERS:
            if not stack:
                return [
                    error(
                        "Unexpected closing bracket",
                        f"There is no opening bracket for this {tok.text!r}.",
                        index.range(tok.start, tok.end),
                    )
                ]
            opener = stack.pop()
            want = _OPENERS.get(opener.type, TEMPLATE_SEQ_END)
            if tok.type != want:
                return [
                    error(
                        "Mismatched brackets",
                        f"This {tok.text!r} does not match the {opener.text!r} opened at line "
                        f"{index.pos(opener.start).line}, column {index.pos(opener.start).column}.",
                        index.range(tok.start, tok.end),
                    )
                ]
    if stack:
        opener = stack[-1]
        return [
            error(
                "Unclosed bracket",
                f"This {opener.text!r} is never closed.",
                index.range(opener.start, opener.end),
            )
        ]
    return []


def position_index(src: str, filename: str) -> _PosIndex:
    return _PosIndex(src, filename)
