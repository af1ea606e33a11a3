"""The printf-like formatter behind `format` and `formatlist`, with cty's verbs and rules.

Verbs: %% %v %#v %t %b %d %o %x %X %e %E %f %g %G %s %q; flags space + - 0 #; width and
precision; `%[n]` picks the n-th argument (1-based) and later verbs go on from n+1. Numbers are
formatted from their exact decimal value, as Go formats a big float.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from mlform.lang.convert import ConversionError, convert, format_number
from mlform.lang.functions._core import FunctionError
from mlform.lang.functions._util import graphemes
from mlform.lang.limits import MAX_FORMAT_WIDTH
from mlform.lang.types import BOOL, NUMBER, STRING
from mlform.lang.values import NUMBER_CONTEXT, Value


@dataclass
class _Verb:
    raw: str
    offset: int
    flags: str
    width: int | None
    prec: int | None
    mode: str

    @property
    def minus(self) -> bool:
        return "-" in self.flags

    @property
    def plus(self) -> bool:
        return "+" in self.flags

    @property
    def zero(self) -> bool:
        return "0" in self.flags and not self.minus

    @property
    def space(self) -> bool:
        return " " in self.flags

    @property
    def sharp(self) -> bool:
        return "#" in self.flags


def format_values(fmt: str, args: list[Value]) -> str:
    """`fmt` with its verbs replaced by the formatted `args`; FunctionError on a bad verb or a
    missing argument. Every argument must be wholly known."""
    out: list[str] = []
    pos = 0
    next_arg = 1
    used = verbs = 0  # the highest argument a verb consumed, and how many verbs there were
    n = len(fmt)
    while True:
        i = fmt.find("%", pos)
        if i < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:i])
        if fmt.startswith("%%", i):
            out.append("%")
            pos = i + 2
            continue
        # Scan flags, [argument index], width, .precision and the verb letter, as cty's
        # scanner does, with its messages for what does not fit.
        j = i + 1
        while j < n and fmt[j] in "0#-+ ":
            j += 1
        flags = fmt[i + 1 : j]
        argnum = None
        if j < n and fmt[j] == "[":
            j += 1
            k = j
            while j < n and fmt[j].isdigit() and not (j == k and fmt[j] == "0"):
                j += 1
            if j == k or j >= n or fmt[j] != "]":
                _bad_char(fmt, j)
            argnum = int(fmt[k:j])
            j += 1
        width = None
        if j < n and fmt[j] in "123456789":
            k = j
            while j < n and fmt[j].isdigit():
                j += 1
            width = _bounded(fmt, k, j, "width")
        prec = None
        if j < n and fmt[j] == ".":
            j += 1
            k = j
            while j < n and fmt[j].isdigit():
                j += 1
            prec = _bounded(fmt, k, j, "precision")
        if j >= n:
            raise FunctionError(f"invalid format string starting at offset {n}")
        if not ("a" <= fmt[j] <= "z" or "A" <= fmt[j] <= "Z"):
            _bad_char(fmt, j)
        if argnum is not None:
            next_arg = argnum
        verb = _Verb(raw=fmt[i : j + 1], offset=i, flags=flags, width=width, prec=prec, mode=fmt[j])
        out.append(_append(verb, next_arg, args))
        used = max(used, next_arg)
        verbs += 1
        next_arg += 1
        pos = j + 1
    if used < len(args):
        # cty refuses arguments that no verb consumes, naming the first one left over.
        why = f"only {used} used by format string" if verbs else "no verbs in format string"
        raise FunctionError(f"too many arguments; {why}", used + 1)
    return "".join(out)


def _bounded(fmt: str, k: int, j: int, what: str) -> int:
    """The width or precision written at fmt[k:j], refused past MAX_FORMAT_WIDTH (a width of a
    billion would build a string of a billion characters)."""
    text = fmt[k:j] or "0"
    if len(text) > 9 or int(text) > MAX_FORMAT_WIDTH:
        raise FunctionError(
            f"the {what} at offset {k} is too large: at most {MAX_FORMAT_WIDTH} is allowed"
        )
    return int(text)


def _bad_char(fmt: str, j: int) -> None:
    if j >= len(fmt):
        raise FunctionError(f"invalid format string starting at offset {len(fmt)}")
    raise FunctionError(f"unrecognized format character {_rune(fmt[j])} at offset {j}")


def _rune(ch: str) -> str:
    """A character quoted as Go's %q quotes a rune."""
    if ch == "'":
        return "'\\''"
    from mlform.lang.render import go_quote

    inner = go_quote(ch)[1:-1]
    return "'" + ('"' if inner == '\\"' else inner) + "'"


def _append(verb: _Verb, argnum: int, args: list[Value]) -> str:
    if argnum - 1 >= len(args) or argnum < 1:
        raise FunctionError(
            f"not enough arguments for {_q(verb.raw)} at {verb.offset}: "
            f"need index {argnum} but have {len(args)} total"
        )
    arg = args[argnum - 1]
    if verb.mode != "v" and arg.is_null:
        raise FunctionError(
            f"unsupported value for {_q(verb.raw)} at {verb.offset}: null value cannot be formatted"
        )
    mode = verb.mode
    if mode == "v":
        return _as_is(verb, arg)
    if mode == "t":
        b = _conv(verb, arg, BOOL)
        return "true" if b.v else "false"
    if mode in "bdoxXeEfgG":
        n = _conv(verb, arg, NUMBER).v
        if mode in "bdoxX":
            if isinstance(n, Decimal):
                raise FunctionError(
                    f"unsupported value for {_q(verb.raw)} at {verb.offset}: an integer is required"
                )
            return _integer(verb, n)
        return _pad_number(verb, _float(verb, n))
    if mode in "sq":
        s = _conv(verb, arg, STRING).v
        if verb.prec is not None and verb.prec > 0:
            s = "".join(graphemes(s)[: verb.prec])
        if mode == "q":
            s = json_string(s)
        return _pad(verb, s)
    raise FunctionError(
        f"unsupported format verb {_rune(mode)} in {_q(verb.raw)} at offset {verb.offset}"
    )


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _conv(verb: _Verb, arg: Value, want: object) -> Value:
    try:
        return convert(arg, want)  # type: ignore[arg-type]
    except ConversionError as e:
        raise FunctionError(
            f"unsupported value for {_q(verb.raw)} at {verb.offset}: {e.message}"
        ) from None


def _as_is(verb: _Verb, arg: Value) -> str:
    if not verb.sharp and not arg.is_null:
        if arg.type == STRING:
            return _pad(verb, arg.v)
        if arg.type == NUMBER:
            return _pad(verb, _shortest_g(arg.v))
    return _pad(verb, json_dumps(arg))


def _pad(verb: _Verb, s: str) -> str:
    if verb.width is None:
        return s
    n = len(graphemes(s))
    if n >= verb.width:
        return s
    pad = ("0" if "0" in verb.flags else " ") * (verb.width - n)
    return s + pad if verb.minus else pad + s


def _pad_number(verb: _Verb, s: str) -> str:
    # Go pads numbers with zeros after the sign; spaces go before it.
    if verb.width is None or len(s) >= verb.width:
        return s
    fill = verb.width - len(s)
    if verb.minus:
        return s + " " * fill
    if verb.zero and s[-1].isdigit():
        sign = s[0] if s[0] in "+- " else ""
        return sign + "0" * fill + s[len(sign) :]
    return " " * fill + s


def _sign(verb: _Verb, negative: bool) -> str:
    if negative:
        return "-"
    if verb.plus:
        return "+"
    if verb.space:
        return " "
    return ""


def _integer(verb: _Verb, n: int) -> str:
    """An integer as Go's big.Int formats it: sign, prefix, zero padding, digits."""
    spec = {"b": "b", "d": "d", "o": "o", "x": "x", "X": "X"}[verb.mode]
    digits = format(abs(n), spec)
    zeros = 0
    if verb.prec is not None:
        if len(digits) < verb.prec:
            zeros = verb.prec - len(digits)
        elif digits == "0" and verb.prec == 0:
            return ""  # Go prints nothing at all for a zero value with zero precision
    sign = _sign(verb, n < 0)
    prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb.mode, "") if verb.sharp else ""
    length = len(sign) + len(prefix) + zeros + len(digits)
    left = right = 0
    if verb.width is not None and length < verb.width:
        d = verb.width - length
        if verb.minus:
            right = d
        elif "0" in verb.flags and verb.prec is None:
            zeros = d
        else:
            left = d
    return " " * left + sign + prefix + "0" * zeros + digits + " " * right


def _float(verb: _Verb, n: int | Decimal) -> str:
    d = Decimal(n)
    neg = d < 0 or (d == 0 and d.is_signed())
    d = d.copy_abs()
    mode = verb.mode
    if mode in "eE":
        body = _exp(d, 6 if verb.prec is None else verb.prec)
    elif mode == "f":
        body = _fixed(d, 6 if verb.prec is None else verb.prec)
    else:
        body = _shortest_g(d) if verb.prec is None else _g(d, verb.prec, verb.sharp)
    if mode in "EG":
        body = body.upper()
    return _sign(verb, neg) + body


def _b512(d: Decimal) -> Fraction:
    """The exact value of `d` as Terraform holds it: the nearest binary float with a 512-bit
    mantissa. Rounding for %e, %f and %g happens on that value, as Go's does."""
    f = Fraction(d)
    if f == 0:
        return f
    e = f.numerator.bit_length() - f.denominator.bit_length()
    if Fraction(2) ** e > abs(f):
        e -= 1
    elif Fraction(2) ** (e + 1) <= abs(f):
        e += 1
    scale = Fraction(2) ** (511 - e)
    return Fraction(round(f * scale)) / scale


def _fixed(d: Decimal, prec: int) -> str:
    n = round(_b512(d) * 10**prec)
    digits = _int_text(abs(n)).rjust(prec + 1, "0")
    body = digits[: len(digits) - prec] + ("." + digits[len(digits) - prec :] if prec else "")
    return ("-" if n < 0 else "") + body


def _exp_parts(d: Decimal, prec: int) -> tuple[str, int]:
    """The mantissa digits (prec + 1 of them) and decimal exponent of |d|, rounded."""
    fr = abs(_b512(d))
    if fr == 0:
        return "0" * (prec + 1), 0
    # An estimate from the bit lengths (the loops below correct it): printing the numerator of
    # 1e9999 would pass Python's limit on integer-to-text conversion.
    e = int((fr.numerator.bit_length() - fr.denominator.bit_length()) * 0.30103)
    while Fraction(10) ** e > fr:
        e -= 1
    while Fraction(10) ** (e + 1) <= fr:
        e += 1
    n = round(fr / Fraction(10) ** (e - prec))
    if n >= 10 ** (prec + 1):
        n //= 10
        e += 1
    return _int_text(n), e


def _int_text(n: int) -> str:
    """The decimal digits of a non-negative int, of any length (str() refuses over 4,300)."""
    if n.bit_length() < 10_000:
        return str(n)
    return format(Decimal(n), "f")


def _exp(d: Decimal, prec: int) -> str:
    ds, exp = _exp_parts(d, prec)
    mant = ds[0] + ("." + ds[1:] if prec else "")
    return f"{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _shortest_g(n: int | Decimal) -> str:
    """Go's %g with the shortest precision: %e when the exponent is < -4 or >= 6. The digits
    are the shortest that identify the number's 512-bit value, as Terraform's."""
    d = Decimal(format_number(n))
    if d == 0:
        return "0"
    neg = d < 0
    d = d.copy_abs().normalize(NUMBER_CONTEXT)
    sign_, digits, e = d.as_tuple()
    ds = "".join(map(str, digits))
    exp = e + len(ds) - 1  # type: ignore[operator]
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        body = f"{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    else:
        body = format_number(d)
    return ("-" if neg else "") + body


def _g(d: Decimal, prec: int, sharp: bool) -> str:
    if prec == 0:
        prec = 1
    if d == 0:
        return "0"
    _, exp = _exp_parts(d, prec - 1)
    if exp < -4 or exp >= prec:
        body = _exp(d, prec - 1)
        if not sharp:
            mant, _, ex = body.partition("e")
            if "." in mant:
                mant = mant.rstrip("0").rstrip(".")
            body = mant + "e" + ex
        return body
    body = _fixed(d, max(prec - 1 - exp, 0))
    if not sharp and "." in body:
        body = body.rstrip("0").rstrip(".")
    return body


# --- JSON as cty writes it (shared with jsonencode) -------------------------------------------


def json_string(s: str) -> str:
    """A JSON string literal as Go's encoder writes it: HTML-sensitive characters escaped."""
    out = json.dumps(s, ensure_ascii=False)
    return (
        out.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def json_dumps(v: Value) -> str:
    """A wholly known value as compact JSON: object keys sorted, numbers exact."""
    if v.v is None:
        return "null"
    t = v.type
    if t == STRING:
        return json_string(v.v)
    if t == NUMBER:
        return format_number(v.v)
    if t == BOOL:
        return "true" if v.v else "false"
    if isinstance(v.v, tuple):
        return "[" + ",".join(json_dumps(e) for e in v.v) + "]"
    if isinstance(v.v, dict):
        return "{" + ",".join(json_string(k) + ":" + json_dumps(v.v[k]) for k in sorted(v.v)) + "}"
    raise FunctionError(f"value of type {t.friendly()} cannot be encoded as JSON")
