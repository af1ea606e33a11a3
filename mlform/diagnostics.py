"""Diagnostics: what mlform tells a user about a mistake, with where it is.

A diagnostic has a severity, a one-line summary, a detail, and the source range it is about.
Operations collect them (`Diagnostics`) instead of raising at the first problem, so that a
command can report every problem of a run together. `render` draws one the way Terraform does:

    Error: Unsupported argument

      on main.mlf.hcl line 12, column 3:
      12:   enviroment = "x"

    An argument named "enviroment" is not expected here. Did you mean "environment"?

A diagnostic about work in one instance of many (a module called twice, a resource with count)
names it (`with module.iris.test_object.o,`), and notes may point at other lines that explain it,
such as the caller's argument that gave a module the value at fault.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in a source file: 1-based line and column (in characters), 0-based offset."""

    line: int
    column: int
    byte: int


@dataclass(frozen=True, slots=True)
class Range:
    """A span of source text. `end` is exclusive."""

    filename: str
    start: Pos
    end: Pos

    def __str__(self) -> str:
        return f"{self.filename}:{self.start.line},{self.start.column}-{self.end.line},{self.end.column}"

    @staticmethod
    def between(a: Range, b: Range) -> Range:
        return Range(a.filename, a.start, b.end)

    def to_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "start": {
                "line": self.start.line,
                "column": self.start.column,
                "byte": self.start.byte,
            },
            "end": {"line": self.end.line, "column": self.end.column, "byte": self.end.byte},
        }


@dataclass(frozen=True, slots=True)
class Note:
    """Another place a diagnostic is about, shown under its snippet with one of its own: the
    caller's line that passed a module the value at fault."""

    text: str
    subject: Range

    def to_json(self) -> dict[str, object]:
        return {"message": self.text, "range": self.subject.to_json()}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    summary: str
    detail: str = ""
    subject: Range | None = None
    # A wider range that gives context (the whole block), shown in JSON output.
    context: Range | None = None
    # The object being worked on when the source line alone does not say which: an instance of
    # a module called more than once (`module.iris.test_object.o`), one of a count's instances
    # (`test_object.a[0]`). Shown as Terraform does: "with module.iris.test_object.o,".
    address: str | None = None
    notes: tuple[Note, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "severity": self.severity.value,
            "summary": self.summary,
            "detail": self.detail,
        }
        if self.address is not None:
            out["address"] = self.address
        if self.subject is not None:
            out["range"] = self.subject.to_json()
        if self.notes:
            out["notes"] = [n.to_json() for n in self.notes]
        return out


def error(summary: str, detail: str = "", subject: Range | None = None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, summary, detail, subject)


def warning(summary: str, detail: str = "", subject: Range | None = None) -> Diagnostic:
    return Diagnostic(Severity.WARNING, summary, detail, subject)


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics. Truthy when it holds any error."""

    items: list[Diagnostic] = field(default_factory=list)

    def append(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def error(self, summary: str, detail: str = "", subject: Range | None = None) -> None:
        self.items.append(error(summary, detail, subject))

    def warning(self, summary: str, detail: str = "", subject: Range | None = None) -> None:
        self.items.append(warning(summary, detail, subject))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        self.items.extend(other)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]


class DiagnosticsError(Exception):
    """Raised where an operation must stop; carries the diagnostics to report."""

    def __init__(self, diags: Iterable[Diagnostic]):
        self.diagnostics = list(diags)
        first = self.diagnostics[0].summary if self.diagnostics else "error"
        super().__init__(first)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `name`, if one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean "x"?' or the empty string."""
    best = did_you_mean(name, candidates)
    return f' Did you mean "{best}"?' if best else ""


def encoding_error(filename: str, data: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    """The diagnostic for a file that is not UTF-8, pointing at the first bad byte."""
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
    return error(
        "Invalid file encoding",
        f"{filename} is not valid UTF-8 ({exc.reason} at byte {exc.start}). All input files "
        "must be UTF-8 encoded. Ensure that UTF-8 encoding is selected in your editor.",
        Range(filename, Pos(line, col, exc.start), Pos(line, col + 1, exc.start + 1)),
    )


# --- rendering ---------------------------------------------------------------------------------

_source_cache: dict[str, list[str]] = {}


def register_source(filename: str, text: str) -> None:
    """Remember a file's text so that diagnostics about it can show snippets without a re-read."""
    _source_cache[filename] = text.splitlines()


def _source_lines(filename: str, sources: Mapping[str, str] | None) -> list[str] | None:
    if sources is not None and filename in sources:
        return sources[filename].splitlines()
    if filename in _source_cache:
        return _source_cache[filename]
    try:
        with open(filename, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    _source_cache[filename] = lines
    return lines


def snippet(rng: Range, sources: Mapping[str, str] | None = None) -> list[str]:
    """The source line(s) of a range with a marker line under the span, ready to print."""
    lines = _source_lines(rng.filename, sources)
    if not lines or rng.start.line < 1 or rng.start.line > len(lines):
        return []
    lineno = rng.start.line
    text = lines[lineno - 1].rstrip("\n").expandtabs(1)
    prefix = f"{lineno:>4}: "
    start_col = max(rng.start.column, 1)
    if rng.end.line == lineno:
        end_col = max(rng.end.column, start_col + 1)
    else:
        end_col = len(text) + 1
    width = max(1, min(end_col, len(text) + 1) - start_col) if text else 1
    if len(text) > _SNIPPET_WIDTH:
        # A very long line (generated or minified) is shown around the span, not whole: a
        # thousand diagnostics on one 40 KB line would print 40 MB.
        first = max(0, start_col - 1 - _SNIPPET_WIDTH // 4)
        shown = text[first : first + _SNIPPET_WIDTH]
        text = ("…" if first else "") + shown + ("…" if first + _SNIPPET_WIDTH < len(text) else "")
        start_col = start_col - first + (1 if first else 0)
        width = max(1, min(width, len(text) + 1 - start_col))
    marker = " " * (len(prefix) + start_col - 1) + "^" * width
    return [prefix + text, marker]


_SNIPPET_WIDTH = 240


def render(diag: Diagnostic, sources: Mapping[str, str] | None = None, color: bool = False) -> str:
    """A diagnostic as Terraform prints it: heading, location, snippet, detail."""
    label = "Error" if diag.is_error else "Warning"
    if color:
        tint = "\x1b[1;31m" if diag.is_error else "\x1b[1;33m"
        heading = f"{tint}{label}:\x1b[0m \x1b[1m{diag.summary}\x1b[0m"
    else:
        heading = f"{label}: {diag.summary}"
    out = [heading]
    if diag.subject is not None:
        rng = diag.subject
        out.append("")
        if diag.address is not None:
            out.append(f"  with {diag.address},")
        out.append(f"  on {rng.filename} line {rng.start.line}, column {rng.start.column}:")
        out.extend("  " + s for s in snippet(rng, sources))
        for note in diag.notes:
            at = note.subject
            out.append("")
            out.append(
                f"  {note.text}, on {at.filename} line {at.start.line}, column {at.start.column}:"
            )
            out.extend("  " + s for s in snippet(at, sources))
    if diag.detail:
        out.append("")
        out.append(diag.detail)
    return "\n".join(out) + "\n"


def render_all(
    diags: Iterable[Diagnostic], sources: Mapping[str, str] | None = None, color: bool = False
) -> str:
    return "\n".join(render(d, sources, color) for d in diags)
