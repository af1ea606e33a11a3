"""Hash and crypto, IP network and type conversion functions."""

from __future__ import annotations

import re

import bcrypt
import pytest
from fnhelp import call, err, ev, same

from mlform.lang.functions import TYPE_TYPE, is_type_value, type_string
from mlform.lang.types import STRING


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('md5("hello world")', '"5eb63bbbe01eeed093cb22bb8f5acdc3"'),
        ('sha1("hello world")', '"2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"'),
        (
            'sha256("hello world")',
            '"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"',
        ),
        (
            'sha512("hello world")',
            '"309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da'
            '34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"',
        ),
        ('base64sha256("hello world")', '"uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="'),
        (
            'base64sha512("hello world")',
            '"MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="',
        ),
        ('filemd5("hello.txt")', '"b10a8db164e0754105b7a99be72e3fe5"'),
        ('filemd5("hello.txt") == md5(file("hello.txt"))', "true"),
        ('filesha1("hello.txt") == sha1(file("hello.txt"))', "true"),
        ('filesha256("hello.txt") == sha256(file("hello.txt"))', "true"),
        ('filesha512("hello.txt") == sha512(file("hello.txt"))', "true"),
        ('filebase64sha256("hello.txt") == base64sha256(file("hello.txt"))', "true"),
        ('filebase64sha512("hello.txt") == base64sha512(file("hello.txt"))', "true"),
        ('uuidv5("dns", "www.terraform.io")', '"a5008fae-b28c-5ba5-96cd-82b4c53552d6"'),
        ('uuidv5("url", "https://www.terraform.io/")', '"9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"'),
        ('uuidv5("oid", "1.3.6.1.4")', '"af9d40a5-7a36-5c07-b23a-851cd99fbfa5"'),
        ('uuidv5("x500", "CN=Example,C=GB")', '"84e09961-4aa4-57f8-95b7-03edb1073253"'),
        (
            'uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")',
            '"a5008fae-b28c-5ba5-96cd-82b4c53552d6"',
        ),
        ('rsadecrypt(file("ciphertext.b64"), file("rsa_pkcs1.pem"))', '"Hello, world!"'),
        ('rsadecrypt(file("ciphertext.b64"), file("rsa_pkcs8.pem"))', '"Hello, world!"'),
    ],
)
def test_crypto(src: str, expected: str) -> None:
    same(src, expected)


def test_bcrypt() -> None:
    out = ev('bcrypt("hello world", 4)').v
    assert out.startswith("$2a$04$")
    assert bcrypt.checkpw(b"hello world", out.encode())
    assert ev('bcrypt("x")').v.startswith("$2a$10$")


def test_bcrypt_below_the_minimum_cost_uses_the_default() -> None:
    assert ev('bcrypt("x", 3)').v.startswith("$2a$10$")


def test_file_hash_of_a_missing_file() -> None:
    d = err('filesha256("missing")')
    assert d.detail.endswith("missing: no such file or directory.")


def test_uuid() -> None:
    u = ev("uuid()").v
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u)
    assert ev("uuid()").v != u


@pytest.mark.parametrize(
    ("src", "summary", "detail_start"),
    [
        (
            'bcrypt("x", 32)',
            "Error in function call",
            'Call to function "bcrypt" failed: error occured generating password crypto/bcrypt: '
            "cost 32 is outside allowed range (4,31)",
        ),
        (
            'bcrypt("x", 4, 5)',
            "Error in function call",
            'Call to function "bcrypt" failed: bcrypt() takes no more than two arguments',
        ),
        (
            'uuidv5("nope", "x")',
            "Error in function call",
            'Call to function "uuidv5" failed: uuidv5() doesn\'t support namespace nope (invalid '
            "UUID length: 4)",
        ),
        (
            'rsadecrypt("%%%", file("rsa_pkcs1.pem"))',
            "Invalid function argument",
            'Invalid value for "ciphertext" parameter: failed to decode input',
        ),
        (
            'rsadecrypt(file("ciphertext.b64"), "nope")',
            "Invalid function argument",
            'Invalid value for "privatekey" parameter: invalid private key',
        ),
        (
            'rsadecrypt(base64encode("x"), file("rsa_pkcs1.pem"))',
            "Error in function call",
            'Call to function "rsadecrypt" failed: failed to decrypt',
        ),
        (
            'filemd5("missing")',
            "Error in function call",
            'Call to function "filemd5" failed: open ',
        ),
    ],
)
def test_crypto_errors(src: str, summary: str, detail_start: str) -> None:
    d = err(src)
    assert d.summary == summary
    assert d.detail.startswith(detail_start), d.detail


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('cidrhost("10.12.112.0/20", 16)', '"10.12.112.16"'),
        ('cidrhost("10.12.112.0/20", 268)', '"10.12.113.12"'),
        ('cidrhost("10.12.112.0/20", -1)', '"10.12.127.255"'),
        ('cidrhost("10.12.112.5/20", 0)', '"10.12.112.0"'),
        ('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)', '"fd00:fd12:3456:7890::22"'),
        ('cidrnetmask("172.16.0.0/12")', '"255.240.0.0"'),
        ('cidrnetmask("10.0.0.0/32")', '"255.255.255.255"'),
        ('cidrsubnet("172.16.0.0/12", 4, 2)', '"172.18.0.0/16"'),
        ('cidrsubnet("10.1.2.0/24", 4, 15)', '"10.1.2.240/28"'),
        ('cidrsubnet("10.1.2.3/24", 0, 0)', '"10.1.2.0/24"'),
        ('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', '"fd00:fd12:3456:7800:a200::/72"'),
        (
            'cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)',
            'tolist(["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"])',
        ),
        (
            'cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)',
            'tolist(["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", '
            '"fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"])',
        ),
        ('cidrsubnets("10.1.0.0/16", 8, 4)', 'tolist(["10.1.0.0/24", "10.1.16.0/20"])'),
        (
            '[for b in cidrsubnets("10.0.0.0/8", 8, 8) : cidrsubnets(b, 4, 4)]',
            '[tolist(["10.0.0.0/20", "10.0.16.0/20"]), tolist(["10.1.0.0/20", "10.1.16.0/20"])]',
        ),
    ],
)
def test_network(src: str, expected: str) -> None:
    same(src, expected)


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            'cidrsubnet("10.0.0.0/30", 4, 1)',
            "Error in function call",
            'Call to function "cidrsubnet" failed: insufficient address space to extend prefix of '
            "30 by 4.",
        ),
        (
            'cidrsubnet("10.0.0.0/24", 2, 4)',
            "Error in function call",
            'Call to function "cidrsubnet" failed: prefix extension of 2 does not accommodate a '
            "subnet numbered 4.",
        ),
        (
            'cidrhost("10.0.0.0/30", 4)',
            "Error in function call",
            'Call to function "cidrhost" failed: prefix of 30 bits cannot accommodate a host '
            "numbered 4.",
        ),
        (
            'cidrhost("10.0.0.0/33", 1)',
            "Error in function call",
            'Call to function "cidrhost" failed: invalid CIDR expression: invalid CIDR address: '
            "10.0.0.0/33.",
        ),
        (
            'cidrnetmask("fd00::/8")',
            "Error in function call",
            'Call to function "cidrnetmask" failed: IPv6 addresses cannot have a netmask: '
            "fd00::/8.",
        ),
        (
            'cidrsubnets("10.0.0.0/30", 1, 1, 1)',
            "Invalid function argument",
            'Invalid value for "newbits" parameter: not enough remaining address space for a subnet '
            "with a prefix of 31 bits after 10.0.0.2/31.",
        ),
        (
            'cidrsubnets("10.0.0.0/30", 3)',
            "Invalid function argument",
            'Invalid value for "newbits" parameter: would extend prefix to 33 bits, which is too '
            "long for an IPv4 address.",
        ),
    ],
)
def test_network_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("tobool(true)", "true"),
        ('tobool("true")', "true"),
        ('tobool("false")', "false"),
        ('tonumber("1")', "1"),
        ('tonumber("1.5e3")', "1500"),
        ("tonumber(5)", "5"),
        ('tostring("hello")', '"hello"'),
        ("tostring(1)", '"1"'),
        ("tostring(1.50)", '"1.5"'),
        ("tostring(true)", '"true"'),
        ('tolist(["a", "b", "c"])', 'tolist(["a", "b", "c"])'),
        ('tolist(["a", 1])', 'tolist(["a", "1"])'),
        ('tolist(toset(["b", "a"]))', 'tolist(["a", "b"])'),
        ('toset(["c", "b", "b"])', 'toset(["b", "c"])'),
        ('toset(["a", 1])', 'toset(["1", "a"])'),
        ('tomap({"a" = 1, "b" = 2})', "tomap({a = 1, b = 2})"),
        ('tomap({"a" = "foo", "b" = true})', 'tomap({a = "foo", b = "true"})'),
        ('nonsensitive(sensitive("x"))', '"x"'),
        ('nonsensitive("x")', '"x"'),
        ('issensitive(sensitive("x"))', "true"),
        ('issensitive("x")', "false"),
        ("issensitive(var.secret)", "true"),
        ('can(regex("^a", "abc"))', "true"),
        ('can(regex("^a", "xbc"))', "false"),
        ('try(tonumber("x"), 0)', "0"),
    ],
)
def test_conversion(src: str, expected: str) -> None:
    same(src, expected)


def test_typed_nulls() -> None:
    v = ev("tostring(null)")
    assert v.is_null and v.type == STRING
    assert ev("tonumber(null)").type.hcl() == "number"
    assert ev("tolist(null)").is_null


@pytest.mark.parametrize(
    ("src", "detail"),
    [
        (
            'tobool("yes")',
            'Invalid value for "v" parameter: cannot convert "yes" to bool; only the strings "true" '
            'or "false" are allowed.',
        ),
        ("tobool(1)", 'Invalid value for "v" parameter: cannot convert number to bool.'),
        (
            'tonumber("no")',
            'Invalid value for "v" parameter: cannot convert "no" to number; given string must be a '
            "decimal representation of a number.",
        ),
        ("tostring([])", 'Invalid value for "v" parameter: cannot convert tuple to string.'),
        ("tostring({})", 'Invalid value for "v" parameter: cannot convert object to string.'),
        (
            'tolist("a")',
            'Invalid value for "v" parameter: cannot convert string to list of any single type.',
        ),
        (
            "tobool(var.secret)",
            'Invalid value for "v" parameter: cannot convert this sensitive string to bool.',
        ),
    ],
)
def test_conversion_errors(src: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == ("Invalid function argument", detail)


def test_sensitive_marks() -> None:
    v = ev('sensitive("x")')
    assert v.v == "x" and v.is_sensitive
    assert ev("tostring(var.secret)").is_sensitive
    assert not ev("nonsensitive(var.secret)").is_sensitive
    # nonsensitive removes the mark on the value itself only.
    inner = ev('nonsensitive(sensitive({a = sensitive("x")})).a')
    assert inner.is_sensitive
    assert not ev("issensitive(var.later)").is_known
    assert ev("issensitive(sensitive(var.later))").v is True


def test_unknown() -> None:
    assert not ev("tostring(var.later_num)").is_known
    assert ev("tostring(var.later_num)").type == STRING
    assert ev("sensitive(var.later)").is_sensitive


def test_type_values() -> None:
    v = ev('type(["a", 1])')
    assert v.type is TYPE_TYPE and is_type_value(v)
    assert type_string(v.v) == "tuple([\n    string,\n    number,\n])"
    assert type_string(ev("type(1)").v) == "number"
    assert type_string(ev('type(tolist(["a"]))').v) == "list(string)"
    assert type_string(ev("type({a = 1, b = [true]})").v) == (
        "object({\n    a: number,\n    b: tuple([\n        bool,\n    ]),\n})"
    )
    assert type_string(call("type", None).v) == "dynamic"
