"""The providers a walk uses: loaded by name, configured once per provider block, with schemas.

Provider packages are imported only when a configuration uses them, so that a cloud SDK is
never imported by a run that does not need it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.diagnostics import Diagnostic, Range, error
from mlform.sdk import Context, Kind, Provider, ProviderError
from mlform.sdk.plugins import PluginError, load_provider
from mlform.sdk.schema import KindSchema, kind_schema


@dataclass
class KindInfo:
    provider_type: str
    kind_cls: type[Kind]
    schema: KindSchema
    _arg_names: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def arg_names(self) -> frozenset[str]:
        """The names of the kind's arguments and blocks (asked once per instance applied)."""
        if self._arg_names is None:
            args = self.schema.args
            self._arg_names = frozenset(args.attributes.keys() | args.blocks.keys())
        return self._arg_names


class ProviderManager:
    def __init__(self, root_dir: Path, data_dir: Path):
        self.root_dir = root_dir
        self.data_dir = data_dir
        self._classes: dict[str, type[Provider] | None] = {}
        self._errors: dict[str, str] = {}
        self._instances: dict[str, Provider] = {}
        self._schemas: dict[tuple[str, str], KindSchema] = {}
        self._lock = threading.RLock()

    def provider_class(self, ptype: str) -> type[Provider] | None:
        with self._lock:
            if ptype not in self._classes:
                try:
                    self._classes[ptype] = load_provider(ptype)
                except PluginError as exc:
                    self._classes[ptype] = None
                    self._errors[ptype] = str(exc)
            return self._classes[ptype]

    def load_error(self, ptype: str) -> str:
        return self._errors.get(ptype, f'Provider "{ptype}" is not installed.')

    def kind_info(
        self, ptype: str, rtype: str, mode: str, subject: Range | None
    ) -> tuple[KindInfo | None, list[Diagnostic]]:
        """The kind class and schema for a resource type, or a diagnostic saying why not."""
        cls = self.provider_class(ptype)
        if cls is None:
            return None, [error("Provider not available", self.load_error(ptype), subject)]
        kinds = cls.kinds
        kind_cls = kinds.get(rtype)
        if kind_cls is None or bool(getattr(kind_cls, "is_data", False)) != (mode == "data"):
            from mlform.engine.schema_cache import invalid_kind

            pairs = [(k, bool(getattr(c, "is_data", False))) for k, c in kinds.items()]
            return None, [invalid_kind(ptype, rtype, mode, pairs, subject)]
        key = (ptype, rtype)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = kind_schema(kind_cls)
        return KindInfo(ptype, kind_cls, schema), []

    def configure(
        self, local_name: str, ptype: str, config: dict[str, Any], subject: Range | None
    ) -> list[Diagnostic]:
        from mlform.sdk.schema import parse_model, validate_model

        cls = self.provider_class(ptype)
        if cls is None:
            return [error("Provider not available", self.load_error(ptype), subject)]
        problems = validate_model(cls.config, config)
        if problems:
            return [
                error(
                    "Invalid provider configuration",
                    f'provider "{local_name}": {p.message}'
                    if not p.path
                    else f'provider "{local_name}", {".".join(map(str, p.path))}: {p.message}',
                    subject,
                )
                for p in problems
            ]
        inst = cls()
        ctx = Context(
            # The engine names provider configurations by address already (`provider["aws"].west`).
            address=local_name
            if local_name.startswith("provider[")
            else f'provider["{local_name}"]',
            module_dir=self.root_dir,
            data_dir=self.data_dir,
            scratch_dir=self.data_dir / "tmp",
        )
        try:
            inst.configure(parse_model(cls.config, config), ctx)
        except ProviderError as exc:
            return [error(exc.summary, exc.detail, subject)]
        with self._lock:
            self._instances[local_name] = inst
        return []

    def instance(self, local_name: str) -> Provider | None:
        with self._lock:
            return self._instances.get(local_name)

    def close(self) -> None:
        for inst in self._instances.values():
            try:
                inst.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
