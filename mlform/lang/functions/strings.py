"""String functions: chomp, endswith, format, formatlist, indent, join, lower, regex, regexall,
replace, split, startswith, strcontains, strrev, substr, templatestring, title, trim,
trimprefix, trimsuffix, trimspace, upper.

Lengths and offsets count user-perceived characters (grapheme clusters), as Terraform's do.
"""

from __future__ import annotations

import re

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._format import format_values
from mlform.lang.functions._regex import PatternError, compile_pattern, expand, iter_matches
from mlform.lang.functions._util import graphemes, whole
from mlform.lang.limits import MAX_FORMAT_WIDTH, MAX_RESULT_SIZE
from mlform.lang.types import BOOL, DYNAMIC, NUMBER, STRING, ListType, ObjectType, TupleType, Type
from mlform.lang.values import UNKNOWN, Value, list_of, null, string

S = Param("str", STRING)


def _s(args: list[Value], i: int = 0) -> str:
    return args[i].v


@register(
    "chomp",
    "string",
    [S],
    STRING,
    description="Removes newline characters at the end of a string.",
    examples=[('chomp("hello\\n")', '"hello"'), ('chomp("hello\\r\\n\\n")', '"hello"')],
    notes=["Every trailing newline (`\\n`, `\\r\\n` or `\\r`) is removed, not just one."],
)
def _chomp(args: list[Value], fctx: FunctionContext) -> Value:
    return string(re.sub(r"(?:\r\n|\r|\n)*\Z", "", _s(args), count=1))


@register(
    "endswith",
    "string",
    [S, Param("suffix", STRING)],
    BOOL,
    description="Takes two values: a string to check and a suffix string. Returns true if the "
    "first string ends with that exact suffix.",
    examples=[('endswith("hello world", "world")', "true"), ('endswith("hello", "x")', "false")],
)
def _endswith(args: list[Value], fctx: FunctionContext) -> Value:
    return _bool(_s(args).endswith(_s(args, 1)))


@register(
    "startswith",
    "string",
    [S, Param("prefix", STRING)],
    BOOL,
    description="Takes two values: a string to check and a prefix string. Returns true if the "
    "string begins with that exact prefix.",
    examples=[('startswith("hello world", "hello")', "true")],
)
def _startswith(args: list[Value], fctx: FunctionContext) -> Value:
    return _bool(_s(args).startswith(_s(args, 1)))


@register(
    "strcontains",
    "string",
    [S, Param("substr", STRING)],
    BOOL,
    description="Checks whether a substring is within another string.",
    examples=[('strcontains("hello world", "wor")', "true"), ('strcontains("a", "b")', "false")],
)
def _strcontains(args: list[Value], fctx: FunctionContext) -> Value:
    return _bool(_s(args, 1) in _s(args))


def _bool(b: bool) -> Value:
    from mlform.lang.values import boolean

    return boolean(b)


@register(
    "format",
    "string",
    [Param("format", STRING)],
    STRING,
    variadic=Param("args", DYNAMIC, allow_null=True),
    description="Produces a string by formatting a number of other values according to a "
    "specification string, like C's `printf`.",
    examples=[
        ('format("Hello, %s!", "Ander")', '"Hello, Ander!"'),
        ('format("There are %d lights", 4)', '"There are 4 lights"'),
        ('format("%5.2f", 3.14159)', '" 3.14"'),
        ('format("%-5s|", "ab")', '"ab   |"'),
        ('format("%03d", 7)', '"007"'),
        ('format("%x %X %o %b", 255, 255, 8, 5)', '"ff FF 10 101"'),
        ('format("%e", 1234.5678)', '"1.234568e+03"'),
        ('format("%q", "hi")', '"\\"hi\\""'),
        ('format("%v and %#v", "a", "a")', '"a and \\"a\\""'),
        ('format("%[2]s %[1]s", "a", "b")', '"b a"'),
        ('format("%t", true)', '"true"'),
        ('format("100%%")', '"100%"'),
    ],
    notes=[
        "Verbs: `%%`, `%v` (default format), `%#v` (JSON), `%t`, `%b` `%d` `%o` `%x` `%X` "
        "(whole numbers only), `%e` `%E` `%f` `%g` `%G`, `%s`, `%q` (JSON-quoted string).",
        "Flags: space, `+`, `-`, `0`, `#`; width and precision as in `%5.2f`; "
        "`%[n]` picks argument n (1-based), later verbs continue from n+1.",
        "Too few arguments, a null argument for a verb other than `%v`, a value that does not "
        "convert to what the verb needs, or an unknown verb is an error.",
    ],
)
def _format(args: list[Value], fctx: FunctionContext) -> Value:
    return string(format_values(_s(args), args[1:]))


def _is_list_like(t: Type) -> bool:
    return isinstance(t, ListType | TupleType)


@register(
    "formatlist",
    "string",
    [Param("format", STRING)],
    ListType(STRING),
    variadic=Param("args", DYNAMIC, allow_null=True, allow_unknown=True),
    description="Produces a list of strings by formatting a number of other values according "
    "to a specification string. List arguments are iterated together; other arguments are "
    "repeated for every element.",
    examples=[
        (
            'formatlist("Hello, %s!", ["Valentina", "Ander"])',
            '["Hello, Valentina!", "Hello, Ander!"]',
        ),
        (
            'formatlist("%s, %s!", "Salutations", ["Valentina", "Ander"])',
            '["Salutations, Valentina!", "Salutations, Ander!"]',
        ),
    ],
    notes=["All list arguments must have the same length."],
)
def _formatlist(args: list[Value], fctx: FunctionContext) -> Value:
    fmt = _s(args)
    vals = args[1:]
    length = -1
    set_from = -1
    for i, a in enumerate(vals):
        t = a.type
        if t is DYNAMIC and not a.is_known:
            return Value(ListType(STRING), UNKNOWN)
        if _is_list_like(t) and not a.is_null:
            if not a.is_known:
                if isinstance(t, TupleType):
                    n = len(t.elems)
                else:
                    return Value(ListType(STRING), UNKNOWN)
            else:
                n = a.length()
            if length == -1:
                length, set_from = n, i
            elif n != length:
                raise FunctionError(
                    f"argument {i + 1} has length {n}, which is inconsistent with "
                    f"argument {set_from + 1} of length {length}",
                    i + 1,
                )
    if any(_is_list_like(a.type) and not a.is_known for a in vals):
        return Value(ListType(STRING), UNKNOWN)
    if length == 0:
        return list_of(STRING, [])
    out: list[Value] = []
    for n in range(max(length, 1)):
        row = [a.elements()[n] if _is_list_like(a.type) and not a.is_null else a for a in vals]
        if not all(r.is_wholly_known() for r in row):
            out.append(Value(STRING, UNKNOWN))
            continue
        try:
            out.append(string(format_values(fmt, row)))
        except FunctionError as e:
            raise FunctionError(f"error on format iteration {n}: {e.message}") from None
    return list_of(STRING, out)


@register(
    "indent",
    "string",
    [Param("spaces", NUMBER), S],
    STRING,
    description="Adds a given number of spaces to the beginnings of all but the first line in "
    "a given multi-line string.",
    examples=[
        (
            '"items: ${indent(2, "[\\n  foo,\\n  bar,\\n]\\n")}"',
            '"items: [\\n    foo,\\n    bar,\\n  ]\\n  "',
        )
    ],
)
def _indent(args: list[Value], fctx: FunctionContext) -> Value:
    n = whole(args[0])
    if n < 0:  # Terraform fails here too (its implementation panics), as a call error
        raise FunctionError("the spaces argument must not be negative")
    text = _s(args, 1)
    if n > MAX_FORMAT_WIDTH or len(text) + n * text.count("\n") > MAX_RESULT_SIZE:
        raise FunctionError(
            f"the result would be too long: at most {MAX_FORMAT_WIDTH} spaces, and "
            f"{MAX_RESULT_SIZE} characters in all, are allowed",
            0,
        )
    return string(text.replace("\n", "\n" + " " * n))


@register(
    "join",
    "string",
    [Param("separator", STRING)],
    STRING,
    variadic=Param("lists", ListType(STRING)),
    description="Produces a string by concatenating together all elements of the given lists "
    "of strings with the given delimiter.",
    examples=[
        ('join("-", ["foo", "bar", "baz"])', '"foo-bar-baz"'),
        ('join(", ", ["foo"])', '"foo"'),
        ('join(",", ["a"], ["b", "c"])', '"a,b,c"'),
    ],
    notes=["At least one list is required; null elements are an error."],
)
def _join(args: list[Value], fctx: FunctionContext) -> Value:
    if len(args) < 2:
        raise FunctionError("at least one list is required")
    parts: list[str] = []
    lists = args[1:]
    for li, lst in enumerate(lists, start=1):
        for ei, e in enumerate(lst.elements()):
            if e.is_null:
                where = f"element {ei} of list {li}" if len(lists) > 1 else f"element {ei}"
                raise FunctionError(f"{where} is null; cannot concatenate null values", li)
            parts.append(e.v)
    return string(_s(args).join(parts))


@register(
    "lower",
    "string",
    [S],
    STRING,
    description="Converts all cased letters in the given string to lowercase.",
    examples=[('lower("HELLO")', '"hello"'), ('lower("АЛЛО!")', '"алло!"')],
)
def _lower(args: list[Value], fctx: FunctionContext) -> Value:
    return string("".join(_simple_lower(ch) for ch in _s(args)))


def _simple_lower(ch: str) -> str:
    # Go maps rune by rune (no final sigma); only U+0130 lowers to more than one character in
    # Python, and Go lowers it to a plain "i".
    low = ch.lower()
    return low if len(low) == 1 else low[0]


def _simple(ch: str, mapped: str) -> str:
    # Go's case mapping is one rune to one rune: where Python's full mapping would give several
    # characters ("ß" to "SS"), Go leaves the character as it is.
    return mapped if len(mapped) == 1 else ch


@register(
    "upper",
    "string",
    [S],
    STRING,
    description="Converts all cased letters in the given string to uppercase.",
    examples=[('upper("hello")', '"HELLO"'), ('upper("алло!")', '"АЛЛО!"')],
)
def _upper(args: list[Value], fctx: FunctionContext) -> Value:
    return string("".join(_simple(ch, ch.upper()) for ch in _s(args)))


def _title_sep(ch: str) -> bool:
    # Go's strings.Title: ASCII letters, digits and underscore join words; other ASCII separates;
    # beyond ASCII, letters and digits join and spaces separate.
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdigit():
        return False
    return ch.isspace()


@register(
    "title",
    "string",
    [S],
    STRING,
    description="Converts the first letter of each word in the given string to uppercase.",
    examples=[
        ('title("hello world")', '"Hello World"'),
        ('title("hello-world_x")', '"Hello-World_x"'),
    ],
)
def _title(args: list[Value], fctx: FunctionContext) -> Value:
    out: list[str] = []
    prev = " "
    for ch in _s(args):
        out.append(_simple(ch, ch.title()) if _title_sep(prev) else ch)
        prev = ch
    return string("".join(out))


def _pattern(text: str, arg_index: int | None) -> re.Pattern[str]:
    try:
        return compile_pattern(text)
    except PatternError as e:
        if arg_index is None:
            raise FunctionError(f"error parsing regexp: {e}") from None
        raise FunctionError(f"invalid regexp pattern: {e}", arg_index) from None


def _regex_type(rx: re.Pattern[str], arg_index: int = 0) -> Type:
    names = rx.groupindex
    if rx.groups == 0:
        return STRING
    if names:
        if len(names) != rx.groups:
            raise FunctionError(
                "invalid regexp pattern: cannot mix both named and unnamed capture groups",
                arg_index,
            )
        return ObjectType.of({n: STRING for n in names})
    return TupleType((STRING,) * rx.groups)


def _match_value(rx: re.Pattern[str], m: re.Match[str], ty: Type) -> Value:
    if rx.groups == 0:
        return string(m.group(0))

    def g(i: int | str) -> Value:
        s = m.group(i)
        return null(STRING) if s is None else string(s)

    if isinstance(ty, ObjectType):
        return Value(ty, {n: g(n) for n in rx.groupindex})
    return Value(ty, tuple(g(i) for i in range(1, rx.groups + 1)))


def _regex_return(args: list[Value]) -> Type:
    if not args[0].is_known:
        return DYNAMIC
    return _regex_type(_pattern(args[0].v, 0))


@register(
    "regex",
    "string",
    [Param("pattern", STRING), Param("string", STRING)],
    _regex_return,
    description="Applies a regular expression (RE2 syntax) to a string and returns the "
    "matching substring. With capture groups, returns a list of the groups' matches; with "
    "named capture groups (`(?P<name>...)`), a map of them.",
    examples=[
        ('regex("[a-z]+", "53453453.345345aaabbbccc23454")', '"aaabbbccc"'),
        (
            'regex("(\\\\d\\\\d\\\\d\\\\d)-(\\\\d\\\\d)-(\\\\d\\\\d)", "2019-02-01")',
            '["2019", "02", "01"]',
        ),
        (
            'regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", '
            '"https://terraform.io/docs/")',
            '{ "authority" = "terraform.io", "scheme" = "https" }',
        ),
    ],
    notes=[
        "It is an error if the pattern does not match; use `regexall` or `can(regex(...))` to test.",
        "A pattern may not mix named and unnamed capture groups.",
        "Go RE2 syntax is translated to Python's: of the Unicode classes only "
        "`\\pL`, `\\p{L}` and `\\p{Nd}` are supported.",
    ],
)
def _regex(args: list[Value], fctx: FunctionContext) -> Value:
    rx = _pattern(_s(args), 0)
    ty = _regex_type(rx)
    m = rx.search(_s(args, 1))
    if m is None:
        raise FunctionError("pattern did not match any part of the given string")
    return _match_value(rx, m, ty)


@register(
    "regexall",
    "string",
    [Param("pattern", STRING), Param("string", STRING)],
    lambda args: ListType(_regex_return(args)),  # list(dynamic) while the pattern is unknown
    description="Applies a regular expression to a string and returns a list of all matches, "
    "each shaped as `regex` would return it.",
    examples=[
        ('regexall("[a-z]+", "1234abcd5678efgh9")', '["abcd", "efgh"]'),
        ('length(regexall("[a-z]+", "1234abcd5678efgh9"))', "2"),
        ('length(regexall("[a-z]+", "123456789")) > 0', "false"),
    ],
)
def _regexall(args: list[Value], fctx: FunctionContext) -> Value:
    rx = _pattern(_s(args), 0)
    ty = _regex_type(rx)
    return Value(
        ListType(ty), tuple(_match_value(rx, m, ty) for m in iter_matches(rx, _s(args, 1)))
    )


@register(
    "replace",
    "string",
    [S, Param("substr", STRING), Param("replace", STRING)],
    STRING,
    description="Searches a given string for another given substring, and replaces each "
    "occurrence with a given replacement string. A substring wrapped in forward slashes is a "
    "regular expression, and the replacement may then refer to its captures as `$1` or `$name`.",
    examples=[
        ('replace("1 + 2 + 3", "+", "-")', '"1 - 2 - 3"'),
        ('replace("hello world", "/w.*d/", "everybody")', '"hello everybody"'),
        ('replace("hello world", "/(h)(e)/", "$2$1")', '"ehllo world"'),
    ],
    notes=["Use `$$` for a literal `$` in a regular-expression replacement."],
)
def _replace(args: list[Value], fctx: FunctionContext) -> Value:
    s, sub, rep = _s(args), _s(args, 1), _s(args, 2)
    if len(sub) > 1 and sub.startswith("/") and sub.endswith("/"):
        rx = _pattern(sub[1:-1], None)
        out: list[str] = []
        pos = 0
        for m in iter_matches(rx, s):
            out.append(s[pos : m.start()])
            out.append(expand(rep, m))
            pos = m.end()
        out.append(s[pos:])
        return string("".join(out))
    if sub == "":
        # Go's strings.Replace with an empty old string inserts at every rune boundary.
        return string(rep + rep.join(s) + rep if s else rep)
    return string(s.replace(sub, rep))


@register(
    "split",
    "string",
    [Param("separator", STRING), S],
    ListType(STRING),
    description="Produces a list by dividing a given string at all occurrences of a given "
    "separator.",
    examples=[
        ('split(",", "foo,bar,baz")', '["foo", "bar", "baz"]'),
        ('split(",", "foo")', '["foo"]'),
        ('split(",", "")', '[""]'),
    ],
)
def _split(args: list[Value], fctx: FunctionContext) -> Value:
    sep, s = _s(args), _s(args, 1)
    parts = list(s) if sep == "" else s.split(sep)
    return list_of(STRING, [string(p) for p in parts])


@register(
    "strrev",
    "string",
    [S],
    STRING,
    description="Reverses the characters in a string, keeping combining characters with "
    "their base.",
    examples=[('strrev("hello")', '"olleh"'), ('strrev("a ☃")', '"☃ a"')],
)
def _strrev(args: list[Value], fctx: FunctionContext) -> Value:
    return string("".join(reversed(graphemes(_s(args)))))


@register(
    "substr",
    "string",
    [S, Param("offset", NUMBER), Param("length", NUMBER)],
    STRING,
    description="Extracts a substring from a given string by offset and (maximum) length, "
    "counted in characters.",
    examples=[
        ('substr("hello world", 1, 4)', '"ello"'),
        ('substr("🤔🤷", 0, 1)', '"🤔"'),
        ('substr("hello world", -5, -1)', '"world"'),
        ('substr("hello world", 6, 10)', '"world"'),
        ('substr("hello", 10, 2)', '""'),
    ],
    notes=[
        "A negative offset counts from the end; a negative length means up to the end.",
        "A length beyond the end is cut at the end; an offset past the end gives an empty string.",
    ],
)
def _substr(args: list[Value], fctx: FunctionContext) -> Value:
    chars = graphemes(_s(args))
    offset = whole(args[1])
    length = whole(args[2])
    if offset < 0:
        offset = max(len(chars) + offset, 0)
    if offset >= len(chars):
        return string("")
    end = len(chars) if length < 0 else min(offset + length, len(chars))
    return string("".join(chars[offset:end]))


@register(
    "templatestring",
    "string",
    [Param("template", STRING), Param("vars", DYNAMIC)],
    DYNAMIC,
    description="Renders a template given as a string value, with the given variables.",
    examples=[
        ('templatestring(local.greeting, { name = "Jodie" })', '"Hello, Jodie!"'),
        ('templatestring("Hello, $${name}!", { name = "Jodie" })', '"Hello, Jodie!"'),
    ],
    notes=[
        "`vars` must be a map or an object; the template sees only those variables.",
        "Here `local.greeting` holds `Hello, ${name}!`; in a quoted literal, write `$${` so "
        "that the interpolation is left to the template.",
    ],
)
def _templatestring(args: list[Value], fctx: FunctionContext) -> Value:
    return render_template(_s(args), "<templatestring>", args[1], 1, fctx)


def render_template(
    text: str, filename: str, vars_: Value, arg_index: int, fctx: FunctionContext
) -> Value:
    """Render `text` through the evaluator with the variables in `vars_` (a map or object),
    after Terraform's checks: variable names must be identifiers, and every variable the
    template refers to must be given."""
    from mlform.lang.render import go_quote

    if not vars_.type.is_mapping():
        raise FunctionError("invalid vars value: must be a map", arg_index)
    names = vars_.items()
    for k in names:
        if not _is_identifier(k):
            raise FunctionError(
                f"invalid template variable name {go_quote(k)}: must start with a letter, "
                "followed by zero or more letters, digits, and underscores",
                arg_index,
            )
    missing = _missing_reference(text, filename, names)
    if missing is not None:
        root, where = missing
        raise FunctionError(
            f"vars map does not contain key {go_quote(root)}, referenced at {where}", arg_index
        )
    if fctx.evaluate_template is None:
        raise FunctionError("templates cannot be rendered in this context")
    return fctx.evaluate_template(text, filename, dict(names))


def _is_identifier(name: str) -> bool:
    # HCL identifiers: a letter or underscore, then letters, digits, underscores and dashes.
    return (
        bool(name)
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c in "_-" for c in name)
    )


def _missing_reference(text: str, filename: str, names: dict[str, Value]) -> tuple[str, str] | None:
    """The first variable the template refers to that `names` lacks, with where it is."""
    from mlform.config.parser import parse_template
    from mlform.lang.ast import traversals

    expr, diags = parse_template(text, filename)
    if expr is None or any(d.is_error for d in diags):
        return None  # the evaluator reports syntax errors with their places
    for t in traversals(expr):
        if t.root not in names:
            r = t.root_range
            if r.start.line == r.end.line:
                where = f"{r.filename}:{r.start.line},{r.start.column}-{r.end.column}"
            else:
                where = f"{r.filename}:{r.start.line},{r.start.column}-{r.end.line},{r.end.column}"
            return t.root, where
    return None


def _trim_space(s: str) -> str:
    return s.strip(
        " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
        "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    )


@register(
    "trim",
    "string",
    [S, Param("cutset", STRING)],
    STRING,
    description="Removes the specified set of characters from the start and end of the given "
    "string.",
    examples=[('trim("?!hello?!", "!?")', '"hello"'), ('trim("foobar", "far")', '"oob"')],
)
def _trim(args: list[Value], fctx: FunctionContext) -> Value:
    return string(_s(args).strip(_s(args, 1)))


@register(
    "trimprefix",
    "string",
    [S, Param("prefix", STRING)],
    STRING,
    description="Removes the specified prefix from the start of the given string, once.",
    examples=[('trimprefix("helloworld", "hello")', '"world"'), ('trimprefix("hh", "h")', '"h"')],
)
def _trimprefix(args: list[Value], fctx: FunctionContext) -> Value:
    return string(_s(args).removeprefix(_s(args, 1)))


@register(
    "trimsuffix",
    "string",
    [S, Param("suffix", STRING)],
    STRING,
    description="Removes the specified suffix from the end of the given string, once.",
    examples=[('trimsuffix("helloworld", "world")', '"hello"')],
)
def _trimsuffix(args: list[Value], fctx: FunctionContext) -> Value:
    return string(_s(args).removesuffix(_s(args, 1)))


@register(
    "trimspace",
    "string",
    [S],
    STRING,
    description="Removes any space characters (Unicode white space) from the start and end of "
    "the given string.",
    examples=[('trimspace("  hello\\n\\n")', '"hello"')],
)
def _trimspace(args: list[Value], fctx: FunctionContext) -> Value:
    return string(_trim_space(_s(args)))
