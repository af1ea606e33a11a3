"""Go RE2 regular expressions on Python's `re`, for regex, regexall and replace.

Terraform's patterns are RE2 syntax. Most of it is Python syntax too; the differences handled
here: `(?<name>...)` groups, `\\z`, `\\Q...\\E` literals, POSIX classes such as `[[:alpha:]]`, `$`
(which in RE2 matches only at the very end unless `(?m)` is set), and how successive matches
are found (an empty match right after a match is skipped, as Go does). Of the Unicode
classes, only letters and decimal digits (`\\pL`, `\\p{L}`, `\\p{Nd}`, outside brackets) are
available.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


class PatternError(Exception):
    pass


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    in_class = False
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                lit = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(lit))
                i = n if end < 0 else end + 2
                continue
            if nxt == "z" and not in_class:
                out.append("\\Z")
            elif nxt in "pP":
                # Python's re has no Unicode classes; letters and decimal digits, the common
                # ones, can be written with \w and \d (outside a bracket class).
                m = re.match(r"\\[pP](L|\{L\}|\{Nd\})", pattern[i:])
                if m is None or in_class:
                    raise PatternError("Unicode character classes (\\p) are not supported")
                letters = m.group(1) in ("L", "{L}")
                if nxt == "p":
                    out.append("[^\\W\\d_]" if letters else "\\d")
                else:
                    out.append("[\\W\\d_]" if letters else "\\D")
                i += m.end()
                continue
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end > 0 else ""
                neg = name.startswith("^")
                if neg:
                    raise PatternError("negated POSIX classes are not supported")
                if name in _POSIX:
                    out.append(_POSIX[name])
                    i = end + 2
                    continue
            if c == "]":
                in_class = False
            elif c == "[":
                out.append("\\[")
                i += 1
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A leading ] (or ^]) is a literal in RE2 as in Python.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern compiled; PatternError with the reason when it is not valid."""
    try:
        return re.compile(_translate(pattern))
    except re.error as e:
        raise PatternError(str(e)) from None


def iter_matches(rx: re.Pattern[str], s: str) -> Iterator[re.Match[str]]:
    """Successive non-overlapping matches, skipping an empty match that abuts the previous one."""
    prev_end = -1
    for m in rx.finditer(s):
        if m.start() == m.end() and m.start() == prev_end:
            continue
        prev_end = m.end()
        yield m


_NAME = re.compile(r"[A-Za-z0-9_]+")


def expand(template: str, m: re.Match[str]) -> str:
    """Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown names give ''."""
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        name = None
        if nxt == "{":
            end = template.find("}", i + 2)
            cand = template[i + 2 : end] if end > 0 else ""
            if end > 0 and _NAME.fullmatch(cand):
                name, i = cand, end + 1
        else:
            nm = _NAME.match(template, i + 1)
            if nm:
                name, i = nm.group(0), nm.end()
        if name is None:
            out.append("$")
            i += 1
            continue
        out.append(_group(m, name))
    return "".join(out)


def _group(m: re.Match[str], name: str) -> str:
    try:
        if name.isdigit():
            g = m.group(int(name))
        else:
            g = m.group(name)
    except IndexError:
        return ""
    return g or ""
