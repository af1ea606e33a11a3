"""State and plan encryption at rest, as OpenTofu's: key providers, methods, and the envelope.

Configured in the root module (or, with the same syntax, in the `MLFORM_ENCRYPTION`
environment variable, whose blocks override the configuration's):

    mlform {
      encryption {
        key_provider "pbkdf2" "main" { passphrase = var.state_passphrase }
        method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
        method "unencrypted" "migrate" {}
        state {
          method   = method.aes_gcm.main
          enforced = true
          fallback { method = method.unencrypted.migrate }
        }
        plan { method = method.aes_gcm.main }
      }
    }

A key provider turns a secret into a key: `pbkdf2` derives a 256-bit key from a passphrase
with PBKDF2-HMAC (600,000 rounds of SHA-256 by default, OWASP's figure) and a random salt,
recorded beside the ciphertext. A method encrypts: `aes_gcm` is AES-256-GCM with a random
96-bit nonce per encryption; `unencrypted` writes plain text (for migrations, as a fallback).
The `state` section's method encrypts the state, every history serial, the history index and
each journal line; the `plan` section's, saved plan files. A `fallback` method is tried for
reading only, so that state written before a key rotation (or before encryption) is read, and
written back with the primary method by the next operation that writes state.

The envelope is one JSON object: what is needed to find the key is in clear (format, purpose,
method, key provider, key id, KDF parameters and salt), and all of it is authenticated as the
associated data of the ciphertext:

    {"mlform_encrypted": 1, "purpose": "state", "method": "aes_gcm.main",
     "key_provider": "pbkdf2.main", "key_id": "<16 hex>",
     "kdf": {"name": "pbkdf2", "hash": "sha256", "iterations": 600000, "salt": "<base64>"},
     "nonce": "<base64>", "ciphertext": "<base64>"}

The key id is an HMAC of a fixed text under the derived key: it tells a wrong passphrase from
damaged data without revealing anything a guesser could not learn from the ciphertext itself.
The `cryptography` package does the AES (`pip install 'mlform[encryption]'`); it is imported
only when a file is encrypted or decrypted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.state.errors import StateError

if TYPE_CHECKING:
    from mlform.config.model import Module
    from mlform.config.syntax import Attribute, Block, Body

__all__ = [
    "ENV_VAR",
    "Codec",
    "Encryption",
    "EncryptionError",
    "EncryptionSpec",
    "WrongKeyError",
    "KeyMismatch",
    "check_block",
    "is_envelope",
    "key_provider_class",
    "load_encryption",
    "open_bytes",
    "parse_block",
    "register_key_provider",
]

ENV_VAR = "MLFORM_ENCRYPTION"
ENVELOPE_VERSION = 1
ENVELOPE_KEY = "mlform_encrypted"
INSTALL_HINT = "pip install 'mlform[encryption]'"

DEFAULT_ITERATIONS = 600_000  # OWASP's figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 200_000
DEFAULT_SALT_LENGTH = 32
MIN_SALT_LENGTH = 16
MIN_PASSPHRASE_LENGTH = 16
KEY_LENGTH = 32  # AES-256
NONCE_LENGTH = 12  # 96 bits, GCM's own size
HASH_FUNCTIONS = ("sha256", "sha512")
KEY_PROVIDER_TYPES = ("pbkdf2",)  # built in; others are plugins (below)
KEY_PROVIDER_GROUP = "mlform.key_providers"
# The packages that bring the key providers mlform knows of, for the "not installed" message.
KEY_PROVIDER_PACKAGES = {"aws_kms": "mlform-provider-aws"}
METHOD_TYPES = ("aes_gcm", "unencrypted")
_KEY_ID_TEXT = b"mlform key id v1"

# What each kind of file is called in messages; also the envelope's `purpose` (associated data,
# so that a journal line cannot pass for a state file, nor a plan for either).
PURPOSES = {
    "state": "state",
    "journal": "state journal",
    "history-index": "history index",
    "plan": "plan file",
}


class EncryptionError(StateError):
    """Encryption is misconfigured, a key is wrong or missing, or data failed authentication.

    Never carries a passphrase or a key: only provider and method names and key ids."""


class WrongKeyError(EncryptionError):
    """The configured keys do not fit what is stored: a wrong or missing passphrase, an
    encrypted file and no encryption configured, or a plain one where encryption is required.
    Unlike damage, this is never a reason to replace what is stored (`state push --force`)."""


class KeyMismatch(WrongKeyError):
    """Raised by a key provider's `key(meta)` when its key is not the one that wrote an
    envelope (a KMS key that refuses the data key): the next configured key is tried."""


# --- configuration as written ------------------------------------------------------------------


@dataclass(frozen=True)
class KeyProviderSpec:
    type: str
    name: str
    passphrase: Any  # the expression: a literal string or var.NAME
    iterations: int
    hash_function: str
    salt_length: int
    range: Range | None
    # A plugin key provider's arguments, as literal values (pbkdf2 uses the fields above).
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def addr(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class MethodSpec:
    type: str
    name: str
    keys: str | None  # the key provider's address, "pbkdf2.main"
    range: Range | None

    @property
    def addr(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class TargetSpec:
    method: str  # "aes_gcm.main"
    fallback: str | None
    enforced: bool
    range: Range | None


@dataclass
class EncryptionSpec:
    """An `encryption` block, checked but not evaluated (passphrases are expressions)."""

    key_providers: dict[str, KeyProviderSpec] = field(default_factory=dict)
    methods: dict[str, MethodSpec] = field(default_factory=dict)
    state: TargetSpec | None = None
    plan: TargetSpec | None = None

    def merged(self, over: EncryptionSpec) -> EncryptionSpec:
        """This configuration with `over`'s blocks replacing those of the same address."""
        return EncryptionSpec(
            {**self.key_providers, **over.key_providers},
            {**self.methods, **over.methods},
            over.state or self.state,
            over.plan or self.plan,
        )


class _Checker:
    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []

    def err(self, summary: str, detail: str, subject: Range | None) -> None:
        self.diags.append(error(summary, detail, subject))

    def only(self, body: Body, attrs: tuple[str, ...], blocks: tuple[str, ...], where: str) -> None:
        for a in body.attributes.values():
            if a.name not in attrs:
                self.err(
                    "Unsupported argument",
                    f'An argument named "{a.name}" is not expected {where}.'
                    + (
                        suggestion(a.name, attrs)
                        or (f" It takes {_names(attrs)}." if attrs else "")
                    ),
                    a.name_range,
                )
        for b in body.blocks:
            if b.type not in blocks:
                self.err(
                    "Unsupported block type",
                    f'Blocks of type "{b.type}" are not expected {where}.'
                    + suggestion(b.type, blocks),
                    b.type_range,
                )

    def labels(self, block: Block, n: int, example: str) -> bool:
        if len(block.labels) != n:
            self.err(
                f"Wrong labels for {block.type}",
                f"A {block.type} block has {n} label(s): {example}.",
                block.def_range,
            )
            return False
        return True

    def reference(self, attr: Attribute, root: str, what: str) -> str | None:
        """`root.TYPE.NAME` as "TYPE.NAME"."""
        from mlform.lang import ast

        expr = attr.expr
        steps = getattr(expr, "steps", None)
        if (
            isinstance(expr, ast.ScopeTraversal)
            and expr.root == root
            and steps is not None
            and len(steps) == 2
            and all(isinstance(s, ast.AttrStep) for s in steps)
        ):
            return f"{steps[0].name}.{steps[1].name}"
        self.err(
            f"Invalid {attr.name}",
            f"`{attr.name}` names a {what} by its address, such as {root}.TYPE.NAME.",
            attr.expr.range,
        )
        return None

    def integer(self, attr: Attribute, minimum: int) -> int | None:
        from mlform.config.decode import static_value

        v = static_value(attr.expr)
        n = v.v if v is not None else None
        if isinstance(n, bool) or not isinstance(n, int) and not _whole(n):
            self.err(
                f"Invalid {attr.name}", f"`{attr.name}` must be a whole number.", attr.expr.range
            )
            return None
        assert n is not None
        if int(n) < minimum:
            self.err(
                f"{attr.name} is too small",
                f"`{attr.name}` must be at least {minimum:,} (it is {int(n):,}).",
                attr.expr.range,
            )
            return None
        return int(n)

    def boolean(self, attr: Attribute) -> bool:
        from mlform.config.decode import static_value

        v = static_value(attr.expr)
        if v is None or not isinstance(v.v, bool):
            self.err(
                f"Invalid {attr.name}", f"`{attr.name}` must be true or false.", attr.expr.range
            )
            return False
        return bool(v.v)

    def string(self, attr: Attribute, allowed: tuple[str, ...]) -> str | None:
        from mlform.config.decode import static_value

        v = static_value(attr.expr)
        if v is None or v.v not in allowed:
            self.err(
                f"Invalid {attr.name}",
                f"`{attr.name}` is one of {_names(allowed)}.",
                attr.expr.range,
            )
            return None
        return str(v.v)


def _whole(n: object) -> bool:
    from decimal import Decimal

    return isinstance(n, Decimal) and n == n.to_integral_value()


def _names(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def parse_block(block: Block) -> tuple[EncryptionSpec, list[Diagnostic]]:
    """An `encryption { ... }` block as an EncryptionSpec, with every problem found."""
    return parse_body(block.body)


def check_block(block: Block) -> list[Diagnostic]:
    """The configuration errors in an `encryption` block (for the decoder: `mlform validate`)."""
    return parse_block(block)[1]


def parse_body(body: Body) -> tuple[EncryptionSpec, list[Diagnostic]]:
    c = _Checker()
    spec = EncryptionSpec()
    where = "in an encryption block"
    c.only(body, (), ("key_provider", "method", "state", "plan"), where)
    for b in body.blocks_of_type("key_provider"):
        if not c.labels(b, 2, 'key_provider "pbkdf2" "NAME" { passphrase = var.NAME }'):
            continue
        ktype, name = b.labels
        if ktype not in KEY_PROVIDER_TYPES:
            _parse_plugin_key_provider(c, b, spec)
            continue
        attrs = b.body.attributes
        c.only(
            b.body,
            ("passphrase", "iterations", "hash_function", "salt_length"),
            (),
            f'in key_provider "{ktype}"',
        )
        if "passphrase" not in attrs:
            c.err(
                "Missing passphrase",
                "A pbkdf2 key provider needs `passphrase`: `passphrase = var.NAME` (a variable "
                "declared with sensitive = true), or give the whole encryption block in the "
                f"{ENV_VAR} environment variable.",
                b.def_range,
            )
            continue
        iterations = (
            c.integer(attrs["iterations"], MIN_ITERATIONS)
            if "iterations" in attrs
            else DEFAULT_ITERATIONS
        )
        hash_function = (
            c.string(attrs["hash_function"], HASH_FUNCTIONS)
            if "hash_function" in attrs
            else "sha256"
        )
        salt_length = (
            c.integer(attrs["salt_length"], MIN_SALT_LENGTH)
            if "salt_length" in attrs
            else DEFAULT_SALT_LENGTH
        )
        _check_passphrase_expr(c, attrs["passphrase"])
        kp = KeyProviderSpec(
            ktype,
            name,
            attrs["passphrase"].expr,
            iterations or DEFAULT_ITERATIONS,
            hash_function or "sha256",
            salt_length or DEFAULT_SALT_LENGTH,
            b.def_range,
        )
        if kp.addr in spec.key_providers:
            c.err(
                "Duplicate key provider", f"key_provider.{kp.addr} is declared twice.", b.def_range
            )
        spec.key_providers[kp.addr] = kp
    for b in body.blocks_of_type("method"):
        if not c.labels(b, 2, 'method "aes_gcm" "NAME" { keys = key_provider.pbkdf2.NAME }'):
            continue
        mtype, name = b.labels
        if mtype not in METHOD_TYPES:
            c.err(
                "Unsupported encryption method",
                f'Method type "{mtype}" is not known; mlform has {_names(METHOD_TYPES)}.'
                + suggestion(mtype, METHOD_TYPES),
                b.label_ranges[0],
            )
            continue
        keys: str | None = None
        if mtype == "aes_gcm":
            c.only(b.body, ("keys",), (), 'in method "aes_gcm"')
            if "keys" not in b.body.attributes:
                c.err(
                    "Missing keys",
                    "An aes_gcm method needs `keys = key_provider.TYPE.NAME`.",
                    b.def_range,
                )
                continue
            keys = c.reference(b.body.attributes["keys"], "key_provider", "key provider")
            if keys is None:
                continue
            if keys not in spec.key_providers:
                c.err(
                    "Reference to undeclared key provider",
                    f"There is no key_provider.{keys} in this encryption block."
                    + suggestion(keys, list(spec.key_providers)),
                    b.body.attributes["keys"].expr.range,
                )
                continue
        else:
            c.only(b.body, (), (), 'in method "unencrypted"')
        m = MethodSpec(mtype, name, keys, b.def_range)
        if m.addr in spec.methods:
            c.err("Duplicate method", f"method.{m.addr} is declared twice.", b.def_range)
        spec.methods[m.addr] = m
    for section in ("state", "plan"):
        blocks = body.blocks_of_type(section)
        for extra in blocks[1:]:
            c.err(
                f"Duplicate {section} block",
                f"An encryption block has one {section} block.",
                extra.def_range,
            )
        if blocks:
            setattr(spec, section, _parse_target(c, blocks[0], spec))
    return spec, c.diags


def _parse_plugin_key_provider(c: _Checker, b: Block, spec: EncryptionSpec) -> None:
    """A key provider of a plugin's type: its class found, its arguments literal values."""
    from mlform.config.decode import static_value

    ktype, name = b.labels
    try:
        cls = key_provider_class(ktype)
    except EncryptionError as exc:
        c.err(exc.summary, exc.detail, b.label_ranges[0])
        return
    arguments: Mapping[str, bool] = getattr(cls, "arguments", {})
    c.only(b.body, tuple(arguments), (), f'in key_provider "{ktype}"')
    config: dict[str, Any] = {}
    for attr in b.body.attributes.values():
        if attr.name not in arguments:
            continue
        v = static_value(attr.expr)
        if v is None or v.v is None or isinstance(v.v, (list, dict, tuple)):
            c.err(
                f"Invalid {attr.name}",
                f"`{attr.name}` is read before the configuration is evaluated: give a literal "
                "value, or give the whole encryption block in the "
                f"{ENV_VAR} environment variable.",
                attr.expr.range,
            )
            continue
        config[attr.name] = int(v.v) if _whole(v.v) else v.v
    missing = [a for a, required in arguments.items() if required and a not in config]
    for a in missing:
        if a not in b.body.attributes:
            c.err(f"Missing {a}", f'A key_provider "{ktype}" block needs `{a}`.', b.def_range)
    if missing:
        return
    validate = getattr(cls, "validate", None)
    for arg, problem in validate(config) if validate is not None else ():
        where = b.body.attributes.get(arg)
        c.err(f"Invalid {arg}", problem, where.expr.range if where else b.def_range)
    kp = KeyProviderSpec(ktype, name, None, 0, "", 0, b.def_range, config)
    if kp.addr in spec.key_providers:
        c.err("Duplicate key provider", f"key_provider.{kp.addr} is declared twice.", b.def_range)
    spec.key_providers[kp.addr] = kp


def _check_passphrase_expr(c: _Checker, attr: Attribute) -> None:
    from mlform.config.decode import static_value
    from mlform.lang import ast

    expr = attr.expr
    if isinstance(expr, ast.ScopeTraversal) and expr.root == "var" and len(expr.steps) == 1:
        return
    v = static_value(expr)
    if v is not None and isinstance(v.v, str):
        if len(v.v) < MIN_PASSPHRASE_LENGTH:
            # The snippet would show it: say so without it.
            c.err(
                "Passphrase too short",
                f"A pbkdf2 passphrase has at least {MIN_PASSPHRASE_LENGTH} characters.",
                None,
            )
        return
    c.err(
        "Invalid passphrase",
        "`passphrase` is read before the configuration is evaluated: give a variable "
        "(`passphrase = var.NAME`, declared with sensitive = true) or a literal string.",
        expr.range,
    )


def _parse_target(c: _Checker, block: Block, spec: EncryptionSpec) -> TargetSpec | None:
    where = f"in the encryption block's {block.type} block"
    c.only(block.body, ("method", "enforced"), ("fallback",), where)
    attrs = block.body.attributes
    if "method" not in attrs:
        c.err(
            "Missing method",
            f"The {block.type} block needs `method = method.TYPE.NAME`.",
            block.def_range,
        )
        return None
    method = _method_ref(c, attrs["method"], spec)
    enforced = c.boolean(attrs["enforced"]) if "enforced" in attrs else False
    fallback = None
    fbs = block.body.blocks_of_type("fallback")
    for extra in fbs[1:]:
        c.err(
            "Duplicate fallback block", f"A {block.type} block has one fallback.", extra.def_range
        )
    if fbs:
        fb = fbs[0]
        c.only(fb.body, ("method",), (), "in a fallback block")
        if "method" not in fb.body.attributes:
            c.err(
                "Missing method",
                "A fallback block needs `method = method.TYPE.NAME`.",
                fb.def_range,
            )
        else:
            fallback = _method_ref(c, fb.body.attributes["method"], spec)
    if method is None:
        return None
    if enforced and method.startswith("unencrypted."):
        c.err(
            "Enforced encryption with an unencrypted method",
            f"The {block.type} block sets enforced = true, so its method must encrypt; "
            f"method.{method} writes plain text.",
            attrs["method"].expr.range,
        )
    return TargetSpec(method, fallback, enforced, block.def_range)


def _method_ref(c: _Checker, attr: Attribute, spec: EncryptionSpec) -> str | None:
    ref = c.reference(attr, "method", "method")
    if ref is not None and ref not in spec.methods:
        c.err(
            "Reference to undeclared method",
            f"There is no method.{ref} in this encryption block."
            + suggestion(ref, list(spec.methods)),
            attr.expr.range,
        )
        return None
    return ref


def parse_env(text: str) -> tuple[EncryptionSpec, list[Diagnostic]]:
    """The `MLFORM_ENCRYPTION` variable: the body of an encryption block, in HCL.

    Its diagnostics carry no source range (a snippet would print a passphrase)."""
    from mlform.config.parser import parse_hcl

    file, diags = parse_hcl(text, f"<{ENV_VAR}>")
    if any(d.is_error for d in diags):
        where = diags[0].subject
        at = f" (line {where.start.line}, column {where.start.column})" if where else ""
        return EncryptionSpec(), [
            error(
                f"Invalid {ENV_VAR}",
                f"The {ENV_VAR} environment variable holds the body of an encryption block in "
                f"HCL: key_provider, method, state and plan blocks. It could not be parsed{at}: "
                f"{diags[0].summary}.",
            )
        ]
    spec, diags = parse_body(file.body)
    return spec, [
        error(d.summary, f"In the {ENV_VAR} environment variable: {d.detail}") if d.is_error else d
        for d in diags
    ]


# --- key provider plugins ----------------------------------------------------------------------
#
# `pbkdf2` is built in; any other key provider type is a class named by an entry point in the
# group `mlform.key_providers` (`aws_kms = "mlform_aws.kms:AwsKmsKeyProvider"`), so that the
# core never imports a cloud SDK. Such a class has
#
#     arguments: Mapping[str, bool]       # the block's arguments: name -> required
#     validate(config) -> [(arg, problem)]  # optional classmethod: static checks, as diagnostics
#     __init__(addr: str, config: Mapping[str, Any])  # `config`: the arguments' literal values
#     kdf_name: str                       # the key provider type, recorded as `kdf.name`
#     kdf() -> dict                       # a new key's metadata (recorded in clear as `kdf`)
#     key(meta) -> bytes                  # the 32-byte key for an envelope's metadata
#     check_ready() -> None               # raise now what the first encryption would raise
#
# `key` raises ValueError for damaged metadata, KeyMismatch when its key did not write the
# envelope (the next configured key is tried), and EncryptionError for anything else (no
# credentials, no access, an unreachable service): never a third-party traceback.

_registered_key_providers: dict[str, type[Any]] = {}
_loaded_key_providers: dict[str, type[Any]] = {}


def register_key_provider(type_name: str, cls: type[Any]) -> type[Any]:
    """Make a key provider class available by type name, whether or not discovery is on."""
    _registered_key_providers[type_name] = cls
    return cls


def unregister_key_provider(type_name: str) -> None:
    _registered_key_providers.pop(type_name, None)
    _loaded_key_providers.pop(type_name, None)


def _key_provider_entry_points() -> dict[str, Any]:
    from mlform.sdk.plugins import discovered

    return discovered(KEY_PROVIDER_GROUP)


def key_provider_types() -> list[str]:
    """Every key provider type that can be used, without importing any plugin."""
    return sorted({*KEY_PROVIDER_TYPES, *_registered_key_providers, *_key_provider_entry_points()})


def key_provider_class(type_name: str) -> type[Any]:
    """The plugin class of a key provider type other than pbkdf2, imported now. EncryptionError
    when no installed package provides it (naming the package to install) or it fails to load."""
    cls = _registered_key_providers.get(type_name)
    if cls is not None:
        return cls
    ep = _key_provider_entry_points().get(type_name)
    if ep is not None and type_name in _loaded_key_providers:
        return _loaded_key_providers[type_name]
    if ep is None:
        known = key_provider_types()
        package = KEY_PROVIDER_PACKAGES.get(type_name)
        hint = (
            f" It comes with the {package} package: install it with\n  pip install {package}"
            if package
            else " A key provider type other than pbkdf2 comes with a package that declares it "
            f'(entry point group "{KEY_PROVIDER_GROUP}").' + suggestion(type_name, known)
        )
        raise EncryptionError(
            "Unsupported key provider",
            f'Key provider type "{type_name}" is not installed; mlform has {_names(known)}.' + hint,
        )
    try:
        loaded = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
        raise EncryptionError(
            f'The key provider "{type_name}" failed to load',
            f"{ep.value}: {type(exc).__name__}: {exc}. Reinstall the package that provides it.",
        ) from None
    if not isinstance(loaded, type):
        raise EncryptionError(
            f'The key provider "{type_name}" is not a class',
            f"The entry point {ep.value} in group {KEY_PROVIDER_GROUP} must name a class.",
        )
    _loaded_key_providers[type_name] = loaded
    return loaded


# --- evaluated: keys and methods --------------------------------------------------------------


class KeySource(Protocol):
    """What a method needs from a key provider (pbkdf2's KeyProvider, or a plugin's)."""

    addr: str
    kdf_name: str

    def kdf(self) -> dict[str, Any]: ...

    def key(self, kdf: Mapping[str, Any]) -> bytes: ...

    def check_ready(self) -> None: ...


class KeyProvider:
    """A pbkdf2 key provider with its passphrase: derives keys for given salts (cached, since a
    derivation costs about a fifth of a second by design) and one salt for this process's
    encryptions. The passphrase may be given as a function, called when a key is first needed
    (so that a fallback's passphrase is asked for only when something was written with it)."""

    def __init__(self, spec: KeyProviderSpec, passphrase: str | Callable[[], str]):
        self.addr = spec.addr
        self.iterations = spec.iterations
        self.hash_function = spec.hash_function
        self.salt_length = spec.salt_length
        self._passphrase = passphrase
        self._salt: bytes | None = None

    kdf_name = "pbkdf2"

    def _secret(self) -> str:
        if callable(self._passphrase):
            self._passphrase = self._passphrase()
        return self._passphrase

    def check_ready(self) -> None:
        self._secret()

    def __repr__(self) -> str:  # never the passphrase
        return f"KeyProvider({self.addr!r})"

    def kdf(self) -> dict[str, Any]:
        if self._salt is None:
            self._salt = secrets.token_bytes(self.salt_length)
        return {
            "name": "pbkdf2",
            "hash": self.hash_function,
            "iterations": self.iterations,
            "salt": _b64(self._salt),
        }

    def key(self, kdf: Mapping[str, Any]) -> bytes:
        """The key for an envelope's recorded KDF parameters (EncryptionError when unusable)."""
        try:
            name, hash_name = kdf["name"], kdf["hash"]
            iterations, salt = int(kdf["iterations"]), _unb64(kdf["salt"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("its key derivation parameters are damaged") from None
        if name != "pbkdf2" or hash_name not in HASH_FUNCTIONS or iterations < 1:
            raise ValueError(f"its key derivation ({name}, {hash_name}) is not one mlform knows")
        return _derive(self._secret(), salt, iterations, hash_name)


@functools.lru_cache(maxsize=32)
def _derive(passphrase: str, salt: bytes, iterations: int, hash_name: str) -> bytes:
    return hashlib.pbkdf2_hmac(hash_name, passphrase.encode("utf-8"), salt, iterations, KEY_LENGTH)


def key_id(key: bytes) -> str:
    return hmac.new(key, _KEY_ID_TEXT, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Method:
    addr: str  # "aes_gcm.main"
    type: str
    keys: KeySource | None = None

    @property
    def encrypts(self) -> bool:
        return self.type != "unencrypted"


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise EncryptionError(
            "Encryption needs the cryptography package, which is not installed",
            f"The configuration encrypts state or plans with AES-GCM. Install it with\n"
            f"  {INSTALL_HINT}\nand run the command again; nothing was changed.",
        ) from None
    return AESGCM(key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not base64 text") from None


def _associated_data(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def is_envelope(data: bytes | str) -> bool:
    """Whether `data` (a file's bytes, or a line) is an encryption envelope."""
    head = data[:64].lstrip()
    marker = f'{{"{ENVELOPE_KEY}"'
    return head.startswith(marker.encode() if isinstance(head, bytes) else marker)


def seal(method: Method, plaintext: bytes, purpose: str) -> bytes:
    """`plaintext` encrypted with `method` as one line of JSON (no newline)."""
    assert method.keys is not None
    kdf = method.keys.kdf()
    key = method.keys.key(kdf)
    header = {
        ENVELOPE_KEY: ENVELOPE_VERSION,
        "purpose": purpose,
        "method": method.addr,
        "key_provider": method.keys.addr,
        "key_id": key_id(key),
        "kdf": kdf,
    }
    nonce = secrets.token_bytes(NONCE_LENGTH)
    sealed = _aesgcm(key).encrypt(nonce, plaintext, _associated_data(header))
    out = {**header, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
    return json.dumps(out, separators=(",", ":")).encode("ascii")


def _describe(env: Mapping[str, Any]) -> str:
    return (
        f"method {env.get('method')!s}, key provider {env.get('key_provider')!s} "
        f"(key id {env.get('key_id')!s})"
    )


class Codec:
    """One section's methods (`state` or `plan`): the primary writes; it and the fallback read."""

    def __init__(self, section: str, primary: Method, fallback: Method | None, enforced: bool):
        self.section = section
        self.primary = primary
        self.fallback = fallback
        self.enforced = enforced

    @property
    def methods(self) -> list[Method]:
        return [self.primary] + ([self.fallback] if self.fallback else [])

    @property
    def encrypts(self) -> bool:
        return self.primary.encrypts

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """What is written for `plaintext`: an envelope, or the plain text when the primary
        method is `unencrypted` (refused when encryption is enforced)."""
        if not self.primary.encrypts:
            if self.enforced:
                raise EncryptionError(
                    f"Refusing to write an unencrypted {PURPOSES.get(purpose, purpose)}",
                    f"The encryption block's {self.section} section sets enforced = true, but "
                    f"its method {self.primary.addr} does not encrypt. Nothing was written.",
                )
            return plaintext
        return seal(self.primary, plaintext, purpose)

    def check_ready(self) -> None:
        """Raise now, before anything is done, what the first write would raise: a missing
        passphrase, a missing cryptography package, enforced encryption refused."""
        if not self.primary.encrypts:
            self.seal(b"", "state")
            return
        assert self.primary.keys is not None
        self.primary.keys.check_ready()
        _aesgcm(b"\0" * KEY_LENGTH)

    def seal_text(self, text: str, purpose: str) -> str:
        return self.seal(text.encode("utf-8"), purpose).decode("utf-8")

    def open(self, data: bytes, purpose: str, source: str) -> bytes:
        return open_bytes(data, self, purpose, source)


def open_bytes(data: bytes, codec: Codec | None, purpose: str, source: str) -> bytes:
    """The plain text of `data`, read with `codec`'s methods (None: no encryption configured).

    Plain `data` is returned as it is when no encryption is configured or a method of the
    section is `unencrypted`; an envelope is opened with the method that wrote it."""
    what = f"{PURPOSES.get(purpose, purpose)} {source}"
    if not is_envelope(data):
        if codec is None or any(not m.encrypts for m in codec.methods):
            return data
        raise WrongKeyError(
            f"The {what} is not encrypted, but the configuration encrypts {codec.section}",
            f"mlform reads unencrypted {codec.section} only through a fallback, so that "
            "nothing unencrypted is taken for encrypted by mistake; nothing was changed. To "
            "encrypt existing unencrypted state (a migration), add\n"
            '  method "unencrypted" "migrate" {}\n'
            f"and, in the {codec.section} block,\n"
            "  fallback { method = method.unencrypted.migrate }\n"
            "The next operation that writes it encrypts it.",
        )
    try:
        env = json.loads(data)
        if not isinstance(env, dict) or env.get(ENVELOPE_KEY) != ENVELOPE_VERSION:
            raise ValueError(f"it is not a version {ENVELOPE_VERSION} envelope")
        nonce, ciphertext = _unb64(env["nonce"]), _unb64(env["ciphertext"])
    except (ValueError, KeyError) as exc:
        raise EncryptionError(
            f"The {what} is damaged",
            f"It looks like an mlform encryption envelope, but {exc if isinstance(exc, ValueError) and str(exc) else 'a field is missing'}. "
            "Nothing was changed. Restore it from a copy (for state, the history folder).",
        ) from None
    if env.get("purpose") != purpose:
        raise EncryptionError(
            f"The {what} holds an encrypted {PURPOSES.get(str(env.get('purpose')), 'file')}",
            f"It was encrypted as a {env.get('purpose')!s}, not as a {purpose}; it is not the "
            "file mlform expects here. Nothing was changed.",
        )
    if codec is None:
        raise WrongKeyError(
            f"The {what} is encrypted, and no encryption is configured",
            f"It was encrypted with {_describe(env)}. To read it, configure the same "
            "encryption in `mlform { encryption { ... } }` (or the "
            f"{ENV_VAR} environment variable) with its passphrase. Nothing was changed.",
        )
    candidates = [m for m in codec.methods if m.encrypts and m.keys is not None]
    if not candidates:
        raise WrongKeyError(
            f"The {what} is encrypted, but the {codec.section} section's methods do not decrypt",
            f"It was encrypted with {_describe(env)}; the {codec.section} section names "
            f"{', '.join(m.addr for m in codec.methods)}. Add the encrypting method as the "
            "method or the fallback. Nothing was changed.",
        )
    # The method that wrote it first (by name), then any other that encrypts: a renamed key
    # provider with the same passphrase still opens it.
    candidates.sort(
        key=lambda m: (m.keys.addr != env.get("key_provider"), m.addr != env.get("method"))
    )  # type: ignore[union-attr]
    header = {k: v for k, v in env.items() if k not in ("nonce", "ciphertext")}
    kdf = env.get("kdf") or {}
    kdf_name = kdf.get("name") if isinstance(kdf, dict) else None
    mismatches: list[str] = []
    for m in candidates:
        assert m.keys is not None
        if isinstance(kdf_name, str) and kdf_name != m.keys.kdf_name:
            continue  # another kind of key provider wrote it (pbkdf2, aws_kms, ...)
        try:
            key = m.keys.key(kdf)
        except ValueError as exc:
            raise EncryptionError(f"The {what} is damaged", f"In its envelope, {exc}.") from None
        except KeyMismatch as exc:
            mismatches.append(f"{m.keys.addr}: {exc.summary}")
            continue
        if not hmac.compare_digest(key_id(key), str(env.get("key_id", ""))):
            continue
        aes = _aesgcm(key)
        from cryptography.exceptions import InvalidTag

        try:
            return bytes(aes.decrypt(nonce, ciphertext, _associated_data(header)))
        except InvalidTag:
            raise EncryptionError(
                f"The {what} failed authentication",
                f"The key is right (key provider {m.keys.addr}), but the data was changed or "
                "damaged after it was encrypted. Nothing was changed. Restore it from a copy "
                "(for state, the history folder beside it).",
            ) from None
    names = ", ".join(m.keys.addr for m in candidates if m.keys is not None)
    if any(m.keys is not None and m.keys.kdf_name != "pbkdf2" for m in candidates):
        refused = "".join(f"\n  {line}" for line in mismatches)
        raise WrongKeyError(
            f"Cannot decrypt the {what} with key provider {names}: wrong key?",
            f"It was encrypted with {_describe(env)}, and no configured key opens it."
            + (f" What the key providers said:{refused}" if refused else "")
            + "\nNothing was changed. Configure the key it was written with; after changing "
            f"keys, keep the old one as the {codec.section} section's fallback until everything "
            "was written again with the new one.",
        )
    raise WrongKeyError(
        f"Cannot decrypt the {what} with key provider {names}: wrong passphrase?",
        f"It was encrypted with {_describe(env)}, and no configured key derives that key. "
        "Nothing was changed. Give the passphrase it was written with; after changing the "
        f"passphrase, keep the old key as the {codec.section} section's fallback until "
        "everything was written again with the new one.",
    )


@dataclass
class Encryption:
    """What a run encrypts with: the state section's codec and the plan section's."""

    state: Codec | None = None
    plan: Codec | None = None
    # Root variables the configuration's passphrases come from: kept out of saved plans.
    variables: frozenset[str] = frozenset()


# --- loading ---------------------------------------------------------------------------------


def spec_of(root: Module | None, environ: Mapping[str, str]) -> EncryptionSpec | None:
    """The encryption configuration: the root module's block with MLFORM_ENCRYPTION over it."""
    from mlform.diagnostics import DiagnosticsError

    spec: EncryptionSpec | None = None
    block = getattr(root.settings, "encryption", None) if root is not None else None
    if block is not None:
        spec, diags = parse_block(block)
        if any(d.is_error for d in diags):
            raise DiagnosticsError(diags)
    text = environ.get(ENV_VAR, "")
    if text.strip():
        env_spec, diags = parse_env(text)
        if any(d.is_error for d in diags):
            raise DiagnosticsError(diags)
        spec = env_spec if spec is None else spec.merged(env_spec)
    return spec


def passphrase_variables(spec: EncryptionSpec | None) -> frozenset[str]:
    from mlform.lang import ast

    out = set()
    for kp in (spec.key_providers if spec else {}).values():
        expr = kp.passphrase
        if isinstance(expr, ast.ScopeTraversal) and expr.root == "var" and expr.steps:
            out.add(expr.steps[0].name)  # type: ignore[attr-defined]
    return frozenset(out)


def load_encryption(
    root: Module | None,
    workdir: Path,
    var_args: list[Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Encryption:
    """The encryption the configuration and the environment ask for (an empty Encryption when
    none): passphrases evaluated from variables (-var, var files, MLFORM_VAR_*, defaults)."""
    env = os.environ if environ is None else environ
    spec = spec_of(root, env)
    if spec is None or (spec.state is None and spec.plan is None):
        return Encryption(variables=passphrase_variables(spec))
    providers: dict[str, KeySource] = {}
    values: dict[str, str] | None = None

    def provider(addr: str) -> KeySource:
        if addr not in providers:
            kp = spec.key_providers[addr]
            if kp.type in KEY_PROVIDER_TYPES:
                providers[addr] = KeyProvider(kp, functools.partial(passphrase_of, addr))
            else:
                providers[addr] = key_provider_class(kp.type)(addr, dict(kp.config))
        return providers[addr]

    def passphrase_of(addr: str) -> str:
        nonlocal values
        kp = spec.key_providers[addr]
        from mlform.config.decode import static_value
        from mlform.lang import ast

        expr = kp.passphrase
        if isinstance(expr, ast.ScopeTraversal) and expr.root == "var":
            name = expr.steps[0].name  # type: ignore[attr-defined]
            if values is None:
                values = _variable_values(root, workdir, var_args, passphrase_variables(spec), env)
            if name not in values:
                raise WrongKeyError(
                    f"No passphrase for key provider {addr}: var.{name} has no value",
                    f"Give it with `-var {name}=...`, a var file, or the MLFORM_VAR_{name} "
                    "environment variable (declare the variable with sensitive = true). "
                    "Nothing was read or changed.",
                )
            passphrase = values[name]
        else:
            v = static_value(expr)
            passphrase = str(v.v) if v is not None else ""
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise EncryptionError(
                f"The passphrase of key provider {addr} is too short",
                f"A pbkdf2 passphrase has at least {MIN_PASSPHRASE_LENGTH} characters.",
            )
        return passphrase

    def method(addr: str) -> Method:
        ms = spec.methods[addr]
        return Method(ms.addr, ms.type, provider(ms.keys) if ms.keys else None)

    def codec(section: str, target: TargetSpec | None) -> Codec | None:
        if target is None:
            return None
        return Codec(
            section,
            method(target.method),
            method(target.fallback) if target.fallback else None,
            target.enforced,
        )

    return Encryption(
        codec("state", spec.state), codec("plan", spec.plan), passphrase_variables(spec)
    )


def _variable_values(
    root: Module | None,
    workdir: Path,
    var_args: list[Any] | None,
    names: frozenset[str],
    environ: Mapping[str, str],
) -> dict[str, str]:
    """The string values of the root variables `names`, from where variables come from."""
    if root is None:
        return {}
    from mlform.config.variables import collect, resolve
    from mlform.diagnostics import DiagnosticsError

    raw, _ = collect(workdir, list(var_args or []), environ)
    wanted = {n: rv for n, rv in raw.items() if n in names}
    values, diags = resolve(root, wanted, allow_missing=True)
    bad = [d for d in diags if d.is_error and any(f"var.{n}" in d.detail for n in names)]
    if bad:
        raise DiagnosticsError(bad)
    out = {}
    for n in names:
        v = values.get(n)
        if v is not None and v.is_known and not v.is_null:
            inner = v.unmark()
            if isinstance(inner.v, str):
                out[n] = inner.v
    return out
