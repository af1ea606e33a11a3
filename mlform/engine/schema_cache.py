"""Providers' kind schemas kept on disk, so that `mlform validate` need not import providers.

Validate needs of a provider only what its kinds accept (each kind's `KindSchema`) and what its
configuration says when no provider block is written. Learning that means importing the
provider package, the SDK and pydantic, and deriving the schemas from pydantic models: most of
a small configuration's validation time. Those answers depend only on the provider's
distribution and mlform, so they are written once to a cache folder and read back as JSON by
later runs, which then import none of it.

A cache entry is keyed by the distribution's name and version, its metadata folder (path and
time written), the entry point, mlform's version and, for an editable install (a checkout being worked on, whose version does not move
when its code does), the size and modification time of its package's source files. Installed
providers are found by reading `entry_points.txt` files, as the validate cache does; anything
unusual (plugin autoloading turned off, a provider registered in the process, two
distributions claiming one name) goes the ordinary way, importing the provider.

The folder is `$MLFORM_CACHE_DIR/schemas`, by default `$XDG_CACHE_HOME/mlform/schemas` or
`~/.cache/mlform/schemas`. A cache that cannot be read or written is no error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform import __version__
from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.sdk.schema_types import KindSchema, kind_from_json, kind_to_json

if TYPE_CHECKING:
    from mlform.engine.providers import ProviderManager

FORMAT = 1
PROVIDER_GROUP = "mlform.providers"
DISABLE_ENV = "MLFORM_DISABLE_PLUGIN_AUTOLOAD"


def cache_dir() -> Path:
    base = os.environ.get("MLFORM_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "mlform")
    return Path(base) / "schemas"


def invalid_kind(
    ptype: str, rtype: str, mode: str, kinds: Iterable[tuple[str, bool]], subject: Range | None
) -> Diagnostic:
    """The error for a resource type the provider does not have; `kinds` gives each of the
    provider's kinds with whether it is a data source."""
    candidates = [k for k, is_data in kinds if is_data == (mode == "data")]
    what = "data source" if mode == "data" else "resource type"
    return error(
        f"Invalid {what}",
        f'The provider "{ptype}" does not support {what} "{rtype}".{suggestion(rtype, candidates)}',
        subject,
    )


# -- finding installed providers without importing importlib.metadata ------------------------------


def _headers(meta_dir: str) -> dict[str, str]:
    """Name and Version from a distribution's METADATA (or an egg's PKG-INFO)."""
    out: dict[str, str] = {}
    for fname in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(meta_dir, fname), "rb") as fh:
                head = fh.read(4096).decode("utf-8", "replace")
        except OSError:
            continue
        for line in head.splitlines():
            if not line:
                break
            key, sep, value = line.partition(":")
            if sep and key in ("Name", "Version") and key not in out:
                out[key] = value.strip()
        return out
    return out


def _entry_lines(text: str) -> list[tuple[str, str]]:
    from mlform.engine.validate_cache import _section

    out = []
    for line in _section(text, PROVIDER_GROUP).splitlines():
        name, sep, value = line.partition("=")
        if sep:
            out.append((name.strip(), value.strip()))
    return out


def _scan() -> dict[str, tuple[str, str, str, str] | None]:
    """Provider name -> (distribution, version, entry point, metadata folder); None for a
    name that two distributions claim."""
    found: dict[str, tuple[str, str, str, str] | None] = {}
    seen_dists: set[str] = set()
    for base in sys.path:
        folder = base or "."
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            meta_dir = os.path.join(folder, name)
            try:
                with open(os.path.join(meta_dir, "entry_points.txt"), "rb") as fh:
                    text = fh.read().decode("utf-8", "replace")
            except OSError:
                continue
            entries = _entry_lines(text)
            if not entries:
                continue
            head = _headers(meta_dir)
            dist = head.get("Name", "")
            norm = dist.lower().replace("-", "_").replace(".", "_")
            if norm in seen_dists:
                continue  # the same distribution further down sys.path: shadowed
            seen_dists.add(norm)
            for pname, value in entries:
                if pname in found:
                    found[pname] = None
                else:
                    found[pname] = (dist, head.get("Version", ""), value, meta_dir)
    return found


def _mtime(meta_dir: str) -> int:
    try:
        return os.stat(os.path.join(meta_dir, "entry_points.txt")).st_mtime_ns
    except OSError:
        return 0


def _editable(meta_dir: str) -> bool:
    try:
        with open(os.path.join(meta_dir, "direct_url.json"), "rb") as fh:
            return bool(json.loads(fh.read()).get("dir_info", {}).get("editable"))
    except (OSError, ValueError, AttributeError):
        return False


def _source_fingerprint(top_module: str) -> str:
    """Sizes and modification times of a package's Python files (for editable installs)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(top_module)
    except (ImportError, ValueError):
        return "?"
    if spec is None:
        return "?"
    roots = list(spec.submodule_search_locations or ([spec.origin] if spec.origin else []))
    return _files_fingerprint(roots)


def _files_fingerprint(roots: Iterable[str]) -> str:
    h = hashlib.sha256()
    for root in sorted(roots):
        if os.path.isfile(root):
            st = os.stat(root)
            h.update(f"{root}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fname in sorted(filenames):
                if fname.endswith(".py"):
                    try:
                        st = os.stat(os.path.join(dirpath, fname))
                    except OSError:
                        continue
                    h.update(f"{dirpath}/{fname}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


# The parts of mlform that the cached answers come from: the SDK (contract, schema derivation,
# the messages of `validate_model`), the type system, the portable kinds and the built-in test
# provider. Other edits to a checkout leave the cache alone.
_MLFORM_SOURCES = ("sdk", "kinds", "testing", "lang/types.py", "diagnostics.py")

_mlform_key: str | None = None


def _mlform_part() -> str:
    """mlform's own share of every key: its version, and the sources the schemas come from when
    it runs from a checkout (whose version does not move when that code does)."""
    global _mlform_key
    if _mlform_key is None:
        import mlform

        package = os.path.dirname(os.path.abspath(mlform.__file__))
        checkout = os.path.exists(os.path.join(os.path.dirname(package), "pyproject.toml"))
        _mlform_key = f"{FORMAT}\0{__version__}\0" + (
            _files_fingerprint(os.path.join(package, p) for p in _MLFORM_SOURCES)
            if checkout
            else ""
        )
    return _mlform_key


# -- the cache files -------------------------------------------------------------------------------


def _read(name: str, key: str) -> dict[str, Any] | None:
    path = cache_dir() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != key:
        return None
    return doc


def _write(name: str, key: str, doc: dict[str, Any]) -> None:
    folder = cache_dir()
    path = folder / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps({**doc, "key": key}))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is no error


def _cached(
    name: str, key: str, build: Callable[[], dict[str, Any] | None]
) -> dict[str, Any] | None:
    doc = _read(name, key)
    if doc is None:
        doc = build()
        if doc is not None:
            _write(name, key, doc)
    return doc


# -- what validate asks ----------------------------------------------------------------------------


class ValidateProviders:
    """The provider questions `mlform validate` asks, answered from the schema cache where it
    can and by loading the provider (through a `ProviderManager`) where it cannot."""

    def __init__(self, root_dir: Path, data_dir: Path):
        self.root_dir = root_dir
        self.data_dir = data_dir
        self._manager: ProviderManager | None = None
        self._entries: dict[str, tuple[str, str, str, str] | None] | None = None
        self._docs: dict[str, dict[str, Any] | None] = {}
        self._schemas: dict[tuple[str, str], KindSchema] = {}

    @property
    def manager(self) -> ProviderManager:
        if self._manager is None:
            from mlform.engine.providers import ProviderManager

            self._manager = ProviderManager(self.root_dir, self.data_dir)
        return self._manager

    def provider_class(self, ptype: str) -> Any:
        """The provider's class, importing it (a provider block's configuration needs it)."""
        return self.manager.provider_class(ptype)

    def installed(self, ptype: str) -> bool:
        return self._doc(ptype) is not None or self.manager.provider_class(ptype) is not None

    def kind_schema(
        self, ptype: str, rtype: str, mode: str, subject: Range | None
    ) -> tuple[KindSchema | None, list[Diagnostic]]:
        """The kind's schema, or a diagnostic saying why there is none (as
        `ProviderManager.kind_info` answers)."""
        doc = self._doc(ptype)
        if doc is None:
            info, diags = self.manager.kind_info(ptype, rtype, mode, subject)
            return (info.schema if info is not None else None), diags
        kinds = doc["kinds"]
        entry = kinds.get(rtype)
        if entry is None or entry["is_data"] != (mode == "data"):
            pairs = [(k, v["is_data"]) for k, v in kinds.items()]
            return None, [invalid_kind(ptype, rtype, mode, pairs, subject)]
        key = (ptype, rtype)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = kind_from_json(entry)
        return schema, []

    def empty_config_problems(self, ptype: str) -> list[str] | None:
        """What the provider's configuration model says of an empty configuration; None when
        the provider cannot be loaded."""
        doc = self._doc(ptype)
        if doc is not None:
            return list(doc["empty_config"])
        cls = self.manager.provider_class(ptype)
        if cls is None:
            return None
        from mlform.sdk.schema import validate_model

        return [p.message for p in validate_model(cls.config, {})]

    def _doc(self, ptype: str) -> dict[str, Any] | None:
        if ptype not in self._docs:
            self._docs[ptype] = self._find_doc(ptype)
        return self._docs[ptype]

    def _find_doc(self, ptype: str) -> dict[str, Any] | None:
        if os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
            return None
        plugins = sys.modules.get("mlform.sdk.plugins")
        if plugins is not None and ptype in plugins._registered.get(PROVIDER_GROUP, {}):
            return None  # a class registered in this process wins over what is installed
        if self._entries is None:
            self._entries = _scan()
        entry = self._entries.get(ptype)
        if entry is None:
            return None
        dist, version, value, meta_dir = entry
        # The metadata folder and when it was written tell apart two environments, and a
        # reinstall of the same version.
        key = (
            f"{_mlform_part()}\0{ptype}\0{dist}\0{version}\0{value}\0{meta_dir}\0{_mtime(meta_dir)}"
        )
        if _editable(meta_dir):
            key += "\0" + _source_fingerprint(value.partition(":")[0].partition(".")[0])
        return _cached(f"{ptype}", key, lambda: self._build(ptype))

    def _build(self, ptype: str) -> dict[str, Any] | None:
        cls = self.manager.provider_class(ptype)
        if cls is None:
            return None
        from mlform.sdk.schema import kind_schema, validate_model

        return {
            "format": FORMAT,
            "kinds": {name: kind_to_json(kind_schema(k)) for name, k in cls.kinds.items()},
            "empty_config": [p.message for p in validate_model(cls.config, {})],
        }


_portable: dict[str, KindSchema] = {}


def portable_schema(kind: str) -> KindSchema:
    """A portable kind's schema (`mlform.kinds.<kind>`), which validate checks a resource
    against before its provider is installed; cached under mlform's own version."""
    schema = _portable.get(kind)
    if schema is not None:
        return schema

    def build() -> dict[str, Any]:
        from mlform.engine.validate import portable_kind_info

        return {"format": FORMAT, "kind": kind_to_json(portable_kind_info(kind).schema)}

    doc = _cached(f"portable.{kind}", f"{_mlform_part()}\0portable\0{kind}", build)
    assert doc is not None
    schema = _portable[kind] = kind_from_json(doc["kind"])
    return schema
