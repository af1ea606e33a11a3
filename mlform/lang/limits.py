"""The sizes past which mlform refuses an input with a diagnostic instead of working on it.

Terraform's limits are its machine's memory and Go's stack; mlform runs on Python, whose stack is
a fixed number of frames, and some inputs (a 20-digit exponent, a format width of a billion)
would take minutes or gigabytes. These limits are far above what a configuration needs, and
each one is documented in docs/language.md ("Limits"):

- `MAX_NESTING`: brackets, braces, parentheses, function calls, templates, conditionals,
  unary operators, splats and blocks nested inside one another. Long runs of binary operators
  (`a + b + c + ...`) are not nesting: they have no limit.
- `MAX_EXPONENT`: a number's magnitude is below 10^(MAX_EXPONENT + 1) and, unless it is zero, at
  least 10^-MAX_EXPONENT. Numbers keep Terraform's precision (512-bit binary floats).
- `MAX_RESULT_SIZE`: the characters of a string that one function call may build;
  `MAX_ELEMENTS`: the elements of the collections one function call may build (`setproduct`,
  `yamldecode` with aliases); `MAX_FORMAT_WIDTH`: a width or precision in a `format` verb, and
  the spaces of `indent`.
"""

from __future__ import annotations

import sys

MAX_NESTING = 128
MAX_EXPONENT = 9999
MAX_RESULT_SIZE = 10_000_000
MAX_ELEMENTS = 1_000_000
MAX_FORMAT_WIDTH = 10_000

# The parser and the recursive walkers (evaluator, type conversion, rendering, formatting, the
# cache encoder) use a handful of Python frames per nesting level; at MAX_NESTING they need
# more frames than Python's default limit of 1000 leaves once a command's own frames are on the
# stack. Pure Python calls do not grow the C stack, so a larger limit is safe.
_FRAMES = 5_000


def ensure_frames() -> None:
    """Make room on Python's stack for inputs nested up to MAX_NESTING."""
    if sys.getrecursionlimit() < _FRAMES:
        sys.setrecursionlimit(_FRAMES)


ensure_frames()
