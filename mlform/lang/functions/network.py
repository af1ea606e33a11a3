"""IP network functions: cidrhost, cidrnetmask, cidrsubnet, cidrsubnets.

Prefixes are IPv4 or IPv6 CIDR strings; host bits in the given prefix are ignored, as Go's
ParseCIDR ignores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._util import whole
from mlform.lang.types import NUMBER, STRING, ListType
from mlform.lang.values import Value, list_of, string

if TYPE_CHECKING:
    import ipaddress

    Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(text: str, arg_index: int | None = None) -> Network:
    import ipaddress  # imported on use: startup stays light

    try:
        if "/" not in text:
            raise ValueError
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FunctionError(
            f"invalid CIDR expression: invalid CIDR address: {text}", arg_index
        ) from None


def _subnet(net: Network, newbits: int, num: int) -> Network:
    """The `num`-th subnet of `net` with a prefix `newbits` longer."""
    if newbits < 0:
        raise FunctionError("may not extend prefix by a negative number of bits")
    new_len = net.prefixlen + newbits
    if new_len > net.max_prefixlen:
        raise FunctionError(
            f"insufficient address space to extend prefix of {net.prefixlen} by {newbits}"
        )
    if num < 0 or num >= 1 << newbits:
        raise FunctionError(
            f"prefix extension of {newbits} does not accommodate a subnet numbered {num}"
        )
    import ipaddress

    base = int(net.network_address) | (num << (net.max_prefixlen - new_len))
    return ipaddress.ip_network((base, new_len))


@register(
    "cidrhost",
    "network",
    [Param("prefix", STRING), Param("hostnum", NUMBER)],
    STRING,
    description="Calculates a full host IP address for a given host number within a given IP "
    "network address prefix.",
    examples=[
        ('cidrhost("10.12.112.0/20", 16)', '"10.12.112.16"'),
        ('cidrhost("10.12.112.0/20", 268)', '"10.12.113.12"'),
        ('cidrhost("10.12.112.0/20", -1)', '"10.12.127.255"'),
        ('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)', '"fd00:fd12:3456:7890::22"'),
    ],
    notes=["A negative host number counts back from the end of the range."],
)
def _cidrhost(args: list[Value], fctx: FunctionContext) -> Value:
    net = parse_cidr(args[0].v)
    num = whole(args[1], bounded=False)
    size = net.num_addresses
    host_bits = net.max_prefixlen - net.prefixlen
    idx = num if num >= 0 else size + num
    if idx < 0 or idx >= size:
        raise FunctionError(
            f"prefix of {net.prefixlen} bits cannot accommodate a host numbered {num}"
        )
    del host_bits
    return string(str(net.network_address + idx))


@register(
    "cidrnetmask",
    "network",
    [Param("prefix", STRING)],
    STRING,
    description="Converts an IPv4 address prefix given in CIDR notation into a subnet mask "
    "address.",
    examples=[('cidrnetmask("172.16.0.0/12")', '"255.240.0.0"')],
    notes=["IPv6 prefixes are an error: they have no netmask notation."],
)
def _cidrnetmask(args: list[Value], fctx: FunctionContext) -> Value:
    net = parse_cidr(args[0].v)
    if net.version != 4:
        raise FunctionError(f"IPv6 addresses cannot have a netmask: {args[0].v}")
    return string(str(net.netmask))


@register(
    "cidrsubnet",
    "network",
    [Param("prefix", STRING), Param("newbits", NUMBER), Param("netnum", NUMBER)],
    STRING,
    description="Calculates a subnet address within a given IP network address prefix.",
    examples=[
        ('cidrsubnet("172.16.0.0/12", 4, 2)', '"172.18.0.0/16"'),
        ('cidrsubnet("10.1.2.0/24", 4, 15)', '"10.1.2.240/28"'),
        ('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', '"fd00:fd12:3456:7800:a200::/72"'),
    ],
    notes=[
        "A prefix extended past the address length, or a netnum that does not fit in "
        "newbits, is an error."
    ],
)
def _cidrsubnet(args: list[Value], fctx: FunctionContext) -> Value:
    net = parse_cidr(args[0].v)
    newbits = whole(args[1])
    num = whole(args[2], bounded=False)
    return string(str(_subnet(net, newbits, num)))


@register(
    "cidrsubnets",
    "network",
    [Param("prefix", STRING)],
    ListType(STRING),
    variadic=Param("newbits", NUMBER),
    description="Calculates a sequence of consecutive IP address ranges within a particular "
    "CIDR prefix, one for each newbits argument.",
    examples=[
        (
            'cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)',
            '["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]',
        ),
        (
            'cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)',
            '["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", '
            '"fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]',
        ),
    ],
)
def _cidrsubnets(args: list[Value], fctx: FunctionContext) -> Value:
    import ipaddress

    net = parse_cidr(args[0].v, 0)
    out: list[Value] = []
    nxt = int(net.network_address)
    end = int(net.broadcast_address)
    for i, a in enumerate(args[1:], start=1):
        bits = whole(a, i)
        if bits < 1:
            raise FunctionError("must extend prefix by at least one bit", i)
        if bits > 32:
            raise FunctionError("may not extend prefix by more than 32 bits", i)
        new_len = net.prefixlen + bits
        if new_len > net.max_prefixlen:
            raise FunctionError(
                f"would extend prefix to {new_len} bits, which is too long for an "
                f"IPv{net.version} address",
                i,
            )
        size = 1 << (net.max_prefixlen - new_len)
        start = (nxt + size - 1) // size * size
        if start + size - 1 > end:
            raise FunctionError(
                f"not enough remaining address space for a subnet with a prefix of {new_len} "
                f"bits after {out[-1].v if out else net}",
                i,
            )
        out.append(string(str(ipaddress.ip_network((start, new_len)))))
        nxt = start + size
    return list_of(STRING, out)
