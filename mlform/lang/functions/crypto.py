"""Hash and crypto functions: md5, sha1, sha256, sha512, base64sha256, base64sha512, the file*
variants of each, bcrypt, rsadecrypt, uuid, uuidv5.

Strings are hashed as their UTF-8 bytes; hex digests are lowercase. `bcrypt` needs the `bcrypt`
package (installed with mlform's `crypto` extra). `rsadecrypt` decrypts PKCS #1 v1.5 with a PEM
RSA private key, in pure Python.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._util import whole
from mlform.lang.functions.filesystem import display_path, resolve
from mlform.lang.types import NUMBER, STRING
from mlform.lang.values import Value, string

S = Param("str", STRING)
P = Param("path", STRING)


def _os_error(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return "no such file or directory"
    if isinstance(e, IsADirectoryError):
        return "is a directory"
    if isinstance(e, PermissionError):
        return "permission denied"
    return (e.strerror or str(e)).lower()


def _hex(algo: str) -> Callable[[bytes], str]:
    def digest(data: bytes) -> str:
        import hashlib

        return hashlib.new(algo, data).hexdigest()

    return digest


def _b64(algo: str) -> Callable[[bytes], str]:
    def digest(data: bytes) -> str:
        import hashlib

        return base64.b64encode(hashlib.new(algo, data).digest()).decode("ascii")

    return digest


_EXAMPLE_INPUT = "hello world"


def _define(
    name: str, digest: Callable[[bytes], str], what: str, example: str, file_example: str
) -> None:
    @register(
        name,
        "crypto",
        [S],
        STRING,
        description=f"Computes the {what} of the given string (its UTF-8 bytes).",
        examples=[(f'{name}("{_EXAMPLE_INPUT}")', f'"{example}"')],
    )
    def _string_hash(args: list[Value], fctx: FunctionContext) -> Value:
        return string(digest(args[0].v.encode("utf-8")))

    fname = "file" + name

    @register(
        fname,
        "crypto",
        [P],
        STRING,
        description=f"Like `{name}`, but hashes the contents of the file at the given path "
        "(relative to the working directory), which need not be text.",
        examples=[(f'{fname}("${{path.module}}/hello.txt")', f'"{file_example}"')],
    )
    def _file_hash(args: list[Value], fctx: FunctionContext) -> Value:
        # Terraform reports a missing file here as the operating system words it.
        path = args[0].v
        full = resolve(path, fctx)
        try:
            data = full.read_bytes()
        except OSError as e:
            raise FunctionError(f"open {display_path(full)}: {_os_error(e)}") from None
        return string(digest(data))


_define(
    "md5",
    _hex("md5"),
    "MD5 hash, in hexadecimal",
    "5eb63bbbe01eeed093cb22bb8f5acdc3",
    "b10a8db164e0754105b7a99be72e3fe5",
)
_define(
    "sha1",
    _hex("sha1"),
    "SHA1 hash, in hexadecimal",
    "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
    "0a4d55a8d778e5022fab701977c5d840bbc486d0",
)
_define(
    "sha256",
    _hex("sha256"),
    "SHA256 hash, in hexadecimal",
    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e",
)
_define(
    "sha512",
    _hex("sha512"),
    "SHA512 hash, in hexadecimal",
    "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b"
    "45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
    "2c74fd17edafd80e8447b0d46741ee243b7eb74dd2149a0ab1b9246fb30382f27e853d8585719e0e67cbda0daa"
    "8f51671064615d645ae27acb15bfb1447f459b",
)
_define(
    "base64sha256",
    _b64("sha256"),
    "SHA256 hash, Base64-encoded",
    "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
    "pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=",
)
_define(
    "base64sha512",
    _b64("sha512"),
    "SHA512 hash, Base64-encoded",
    "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==",
    "LHT9F+2v2A6ER7DUZ0HuJDt+t03SFJoKsbkkb7MDgvJ+hT2FhXGeDmfL2g2qj1FnEGRhXWRa4nrLFb+xRH9Fmw==",
)


@register(
    "bcrypt",
    "crypto",
    [S],
    STRING,
    variadic=Param("cost", NUMBER),
    description="Computes a hash of the given string using the Blowfish cipher, returning a "
    "string in the Modular Crypt Format (`$2a$10$...`). The optional cost defaults to 10.",
    examples=[
        ('bcrypt("hello world")', '"$2a$10$D5grTTzcsqyvAeIAnY/mYOIqliCoG7eAMX0/oFcuD.iErkksEbcAa"')
    ],
    notes=[
        "The salt is random, so the result differs on every call.",
        "Strings longer than 72 bytes are an error.",
    ],
)
def _bcrypt(args: list[Value], fctx: FunctionContext) -> Value:
    cost = 10
    if len(args) > 1:
        cost = whole(args[1])
    if len(args) > 2:
        raise FunctionError("bcrypt() takes no more than two arguments")
    if cost < 4:
        cost = 10  # Go's bcrypt uses its default cost for anything below the minimum
    try:
        import bcrypt
    except ImportError:  # pragma: no cover - depends on the installation
        raise FunctionError(
            "bcrypt is not available: install mlform with the crypto extra "
            "(pip install 'mlform[crypto]')"
        ) from None
    if cost > 31:
        raise FunctionError(
            f"error occured generating password crypto/bcrypt: cost {cost} is "
            "outside allowed range (4,31)"
        )
    pw = args[0].v.encode("utf-8")
    if len(pw) > 72:
        raise FunctionError(
            "error occured generating password bcrypt: password length exceeds 72 bytes"
        )
    return string(bcrypt.hashpw(pw, bcrypt.gensalt(rounds=cost, prefix=b"2a")).decode("ascii"))


@register(
    "uuid",
    "crypto",
    [],
    STRING,
    description="Generates a unique identifier string: a random version 4 UUID.",
    examples=[("uuid()", '"b5ee72a3-54dd-c4b8-551c-4bdc0204cedb"')],
    notes=["The result differs on every call."],
)
def _uuid(args: list[Value], fctx: FunctionContext) -> Value:
    import uuid

    return string(str(uuid.uuid4()))


@register(
    "uuidv5",
    "crypto",
    [Param("namespace", STRING), Param("name", STRING)],
    STRING,
    description="Generates a name-based UUID (version 5, SHA-1). The namespace is one of "
    '"dns", "url", "oid", "x500", or a UUID string.',
    examples=[
        ('uuidv5("dns", "www.terraform.io")', '"a5008fae-b28c-5ba5-96cd-82b4c53552d6"'),
        ('uuidv5("url", "https://www.terraform.io/")', '"9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"'),
        (
            'uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")',
            '"a5008fae-b28c-5ba5-96cd-82b4c53552d6"',
        ),
    ],
)
def _uuidv5(args: list[Value], fctx: FunctionContext) -> Value:
    import uuid

    ns_name = args[0].v
    named = {
        "dns": uuid.NAMESPACE_DNS,
        "url": uuid.NAMESPACE_URL,
        "oid": uuid.NAMESPACE_OID,
        "x500": uuid.NAMESPACE_X500,
    }
    ns = named.get(ns_name)
    if ns is None:
        try:
            ns = uuid.UUID(ns_name)
        except ValueError:
            # google/uuid accepts 36 characters, 38 with braces, 45 as a URN, or 32 hex digits.
            why = (
                "invalid UUID format"
                if len(ns_name) in (32, 36, 38, 45)
                else f"invalid UUID length: {len(ns_name)}"
            )
            raise FunctionError(f"uuidv5() doesn't support namespace {ns_name} ({why})") from None
    return string(str(uuid.uuid5(ns, args[1].v)))


# --- rsadecrypt ------------------------------------------------------------------------------


def _der_read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER element at `pos`: its tag, its content and the position after it."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        nbytes = length & 0x7F
        if nbytes == 0 or nbytes > 4 or pos + nbytes > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + nbytes], "big")
        pos += nbytes
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos : pos + length], pos + length


def _der_sequence(content: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos < len(content):
        tag, body, pos = _der_read(content, pos)
        out.append((tag, body))
    return out


def _rsa_key(pem: str) -> tuple[int, int]:
    """(n, d) from a PEM RSA private key: PKCS #1 ("RSA PRIVATE KEY") or PKCS #8."""
    lines = [ln.strip() for ln in pem.strip().splitlines()]
    if not lines or not lines[0].startswith("-----BEGIN"):
        raise ValueError("ssh: no key found")
    label = lines[0]
    body = "".join(ln for ln in lines[1:] if not ln.startswith("-----") and ":" not in ln)
    der = base64.b64decode(body)
    _, seq, _ = _der_read(der, 0)
    items = _der_sequence(seq)
    if "RSA PRIVATE KEY" not in label:
        # PKCS #8: version, algorithm, OCTET STRING holding the PKCS #1 key.
        if len(items) < 3 or items[2][0] != 0x04:
            raise ValueError("unsupported private key type")
        _, seq, _ = _der_read(items[2][1], 0)
        items = _der_sequence(seq)
    ints = [int.from_bytes(b, "big") for tag, b in items if tag == 0x02]
    if len(ints) < 4:
        raise ValueError("malformed RSA private key")
    return ints[1], ints[3]


@register(
    "rsadecrypt",
    "crypto",
    [Param("ciphertext", STRING), Param("privatekey", STRING)],
    STRING,
    description="Decrypts an RSA-encrypted ciphertext (Base64, PKCS #1 v1.5 padding) with a "
    "PEM-encoded RSA private key, returning the cleartext string.",
    examples=[
        (
            'rsadecrypt(filebase64("${path.module}/ciphertext"), file("privatekey.pem"))',
            '"Hello, world!"',
        )
    ],
    notes=["Keys protected by a passphrase are not supported."],
)
def _rsadecrypt(args: list[Value], fctx: FunctionContext) -> Value:
    try:
        ct = base64.b64decode(args[0].v, validate=True)
    except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
        raise FunctionError(
            f"failed to decode input {_go_quote(args[0].v)}: cipher text must be base64-encoded",
            0,
        ) from None
    try:
        n, d = _rsa_key(args[1].v)
    except (ValueError, IndexError) as e:
        raise FunctionError(f"invalid private key: {e}", 1) from None
    k = (n.bit_length() + 7) // 8
    if len(ct) != k:
        raise FunctionError("failed to decrypt: crypto/rsa: decryption error")
    em = pow(int.from_bytes(ct, "big"), d, n).to_bytes(k, "big")
    if em[0] != 0 or em[1] != 2:
        raise FunctionError("failed to decrypt: crypto/rsa: decryption error")
    sep = em.find(b"\x00", 2)
    if sep < 10:
        raise FunctionError("failed to decrypt: crypto/rsa: decryption error")
    try:
        return string(em[sep + 1 :].decode("utf-8"))
    except UnicodeDecodeError:
        raise FunctionError("the decrypted text is not valid UTF-8") from None


def _go_quote(s: str) -> str:
    from mlform.lang.render import go_quote

    return go_quote(s)
