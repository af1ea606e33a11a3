"""`mlform init`: fetch modules, check providers against `required_providers`, write the lock
file, prepare the backend. Later runs check the lock so that a provider that changed since
`init` is noticed before it touches anything.

The lock file, `.mlform.lock.hcl`, records for each provider its distribution, version, the
constraints it was chosen under, and a hash of its installed files:

    provider "local" {
      distribution = "mlform-provider-local"
      version      = "0.1.0"
      constraints  = ">= 0.1"
      hashes       = ["sha256:..."]
    }
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mlform import __version__
from mlform.config.loader import load_module_dir, local_module_folder
from mlform.config.model import Module
from mlform.config.modules import (
    ManifestEntry,
    ModuleFetchError,
    ModuleManifest,
    fetch_git,
    is_local_source,
    version_matches,
)
from mlform.config.registry import RegistryError, fetch_registry, is_registry_source
from mlform.diagnostics import Diagnostic, error
from mlform.versions import ConstraintError, satisfies

LOCK_FILE = ".mlform.lock.hcl"


@dataclass
class LockedProvider:
    name: str
    distribution: str
    version: str
    constraints: str
    hash: str


def install_modules(
    root_dir: Path, upgrade: bool = False, log: Callable[[str], None] = print
) -> list[Diagnostic]:
    """Fetch every git module source the configuration calls, recursively."""
    diags: list[Diagnostic] = []
    manifest = ModuleManifest.load(root_dir)
    root, rd = load_module_dir(root_dir, use_cache=False)
    diags.extend(d for d in rd if d.is_error)
    if diags:
        return diags
    seen: dict[str, ManifestEntry] = {}
    _install(root, root_dir, manifest, seen, upgrade, log, diags, depth=0)
    manifest.entries = {k: v for k, v in manifest.entries.items() if k in seen}
    manifest.save(root_dir)
    return diags


def _install(
    module: Module,
    root_dir: Path,
    manifest: ModuleManifest,
    seen: dict[str, ManifestEntry],
    upgrade: bool,
    log: Callable[[str], None],
    diags: list[Diagnostic],
    depth: int,
) -> None:
    if depth > 32:
        return
    for name, call in module.module_calls.items():
        path = module.path.child(name)
        key = ".".join(path.names)
        if is_local_source(call.source):
            child_dir, what = local_module_folder(module.dir / call.source)
            if what:
                diags.append(
                    error(
                        "Module not found",
                        f'The module folder "{call.source}" {what}.',
                        call.source_range,
                    )
                )
                continue
        else:
            entry = manifest.entries.get(key)
            if (
                entry is None
                or entry.source != call.source
                or upgrade
                or not entry.dir(root_dir).is_dir()
                or not version_matches(entry, call.version)
            ):
                try:
                    if is_registry_source(call.source):
                        rel, version = fetch_registry(call.source, call.version, root_dir, key, log)
                        entry = ManifestEntry(key, call.source, rel, version)
                    else:
                        entry = fetch_git(call.source, root_dir, key, log)
                except (ModuleFetchError, RegistryError, ValueError) as exc:
                    diags.append(
                        error(
                            "Failed to fetch module", f'module "{name}": {exc}', call.source_range
                        )
                    )
                    continue
                log(f"- {key} from {call.source}" + (f" {entry.version}" if entry.version else ""))
            manifest.entries[key] = entry
            seen[key] = entry
            child_dir = entry.dir(root_dir)
        child, cd = load_module_dir(child_dir, path, use_cache=False)
        diags.extend(d for d in cd if d.is_error)
        _install(child, root_dir, manifest, seen, upgrade, log, diags, depth + 1)


def providers_used(root: Module) -> dict[str, str]:
    """Provider name -> version constraints (empty when none), from required_providers and
    from the resources and provider blocks of every module."""
    out: dict[str, str] = {}
    for m in root.walk():
        for name, req in m.settings.required_providers.items():
            prev = out.get(name, "")
            out[name] = ", ".join(c for c in (prev, req.version or "") if c)
        for pb in m.providers.values():
            out.setdefault(pb.type, "")
        for res in [*m.resources.values(), *(r for c in m.checks.values() for r in c.data)]:
            if res.provider_ref is not None:
                out.setdefault(res.provider_ref.type, "")
            elif res.is_portable:
                out.setdefault(m.settings.default_provider or root.default_provider(), "")
            else:
                out.setdefault(res.type.split("_", 1)[0], "")
    return out


def check_providers(root: Module) -> tuple[list[LockedProvider], list[Diagnostic]]:
    from mlform.sdk.plugins import distribution_hash, install_command, provider_info

    diags: list[Diagnostic] = []
    locked = []
    if root.settings.required_version:
        try:
            if not satisfies(__version__, root.settings.required_version):
                diags.append(
                    error(
                        "Unsupported mlform version",
                        f"This configuration requires mlform {root.settings.required_version}, but this is mlform {__version__}. "
                        "Install a matching version (pip install 'mlform"
                        + _pip_spec(root.settings.required_version)
                        + "').",
                        root.settings.required_version_range,
                    )
                )
        except ConstraintError as exc:
            diags.append(
                error("Invalid required_version", str(exc), root.settings.required_version_range)
            )
    for name, constraints in sorted(providers_used(root).items()):
        info = provider_info(name)
        req = root.settings.required_providers.get(name)
        subject = req.range if req else None
        if info is None:
            diags.append(
                error(
                    "Provider not installed",
                    f'The configuration uses provider "{name}", which is not installed. Install it with:\n  {install_command(name)}'
                    + (f"=='{constraints}'" if False else "")
                    + (f"\n(required version: {constraints})" if constraints else ""),
                    subject,
                )
            )
            continue
        try:
            ok = satisfies(info.version, constraints) if constraints else True
        except ConstraintError as exc:
            diags.append(error("Invalid provider version constraint", str(exc), subject))
            continue
        if not ok:
            diags.append(
                error(
                    "Provider version does not match",
                    f'Provider "{name}" {info.version} ({info.distribution}) is installed, but the configuration requires {constraints}. '
                    f"Install a matching version: pip install '{info.distribution}{_pip_spec(constraints)}'",
                    subject,
                )
            )
            continue
        digest = (
            distribution_hash(info.distribution)
            if info.distribution not in ("(registered)", "mlform")
            else ""
        )
        locked.append(LockedProvider(name, info.distribution, info.version, constraints, digest))
    return locked, diags


def _pip_spec(constraints: str) -> str:
    parts = []
    for part in constraints.split(","):
        p = part.strip()
        if p.startswith("~>"):
            p = "~=" + p[2:].strip()
        elif p.startswith("=") and not p.startswith("=="):
            p = "==" + p[1:].strip()
        parts.append(p.replace(" ", ""))
    return ",".join(parts)


def write_lock(root_dir: Path, locked: list[LockedProvider]) -> None:
    lines = [
        '# This file is maintained automatically by "mlform init".',
        "# Commit it: it records which provider versions this configuration was last prepared with.",
        "",
    ]
    for p in locked:
        lines.append(f'provider "{p.name}" {{')
        lines.append(f'  distribution = "{p.distribution}"')
        lines.append(f'  version      = "{p.version}"')
        if p.constraints:
            lines.append(f'  constraints  = "{p.constraints}"')
        if p.hash:
            lines.append(f'  hashes       = ["{p.hash}"]')
        lines.append("}")
        lines.append("")
    (root_dir / LOCK_FILE).write_text("\n".join(lines))


def read_lock(root_dir: Path) -> dict[str, LockedProvider] | None:
    from mlform.config.decode import static_value
    from mlform.config.parser import parse_file

    path = root_dir / LOCK_FILE
    if not path.is_file():
        return None
    f, diags = parse_file(path)
    if f is None or any(d.is_error for d in diags):
        return None
    out = {}
    for b in f.body.blocks_of_type("provider"):
        if len(b.labels) != 1:
            continue
        vals = {}
        for k, a in b.body.attributes.items():
            v = static_value(a.expr)
            vals[k] = v.to_python() if v is not None else None
        hashes = vals.get("hashes") or [""]
        out[b.labels[0]] = LockedProvider(
            b.labels[0],
            str(vals.get("distribution", "")),
            str(vals.get("version", "")),
            str(vals.get("constraints") or ""),
            str(hashes[0] if hashes else ""),
        )
    return out


def _constraint_diags(root: Module) -> tuple[list[Diagnostic], set[str]]:
    """Errors for installed providers outside the configuration's `required_providers`
    constraints, and the names they concern."""
    from mlform.sdk.plugins import provider_info

    diags: list[Diagnostic] = []
    names: set[str] = set()
    for name, constraints in sorted(providers_used(root).items()):
        info = provider_info(name) if constraints else None
        if info is None:
            continue  # no constraint, or not installed: reported where the provider is loaded
        req = root.settings.required_providers.get(name)
        subject = req.range if req else None
        try:
            ok = satisfies(info.version, constraints)
        except ConstraintError as exc:
            diags.append(error("Invalid provider version constraint", str(exc), subject))
            names.add(name)
            continue
        if not ok:
            diags.append(
                error(
                    "Provider version does not match",
                    f'Provider "{name}" {info.version} ({info.distribution}) is installed, but '
                    f"the configuration requires {constraints}. Install a matching version "
                    f"(pip install '{info.distribution}{_pip_spec(constraints)}') and run "
                    "mlform init.",
                    subject,
                )
            )
            names.add(name)
    return diags, names


def _unreadable_lock(root_dir: Path) -> list[Diagnostic]:
    from mlform.config.parser import parse_file

    path = root_dir / LOCK_FILE
    if not path.is_file():
        return []
    _f, diags = parse_file(path)
    errors = [d for d in diags if d.is_error]
    if not errors:
        return []
    return [
        *errors,
        error(
            f"The lock file {LOCK_FILE} cannot be read",
            f"mlform will not plan without the provider versions it records. Fix the syntax "
            f"error reported in it, or delete {LOCK_FILE} and run mlform init to write it again.",
        ),
    ]


def check_lock(root_dir: Path, root: Module) -> list[Diagnostic]:
    """Before plan or apply: every provider the configuration uses matches the lock file."""
    from mlform.sdk.plugins import distribution_hash, provider_info

    # The configuration's own constraints hold with or without a lock file: a plan must not
    # go ahead with a provider the configuration says it cannot use.
    diags, mismatched = _constraint_diags(root)
    lock = read_lock(root_dir)
    if lock is None:
        # No lock yet: `mlform init` is recommended, not required. A lock that exists but
        # cannot be read must not be skipped, though: it would silently stop pinning versions.
        return diags + _unreadable_lock(root_dir)
    for name in providers_used(root):
        if name in mismatched:
            continue
        locked = lock.get(name)
        info = provider_info(name)
        if locked is None:
            diags.append(
                error(
                    "Provider not in the lock file",
                    f'The configuration now uses provider "{name}", which {LOCK_FILE} does not record. Run mlform init to add it.',
                )
            )
            continue
        if info is None:
            diags.append(
                error(
                    "Locked provider not installed",
                    f'{LOCK_FILE} records provider "{name}" {locked.version} ({locked.distribution}), which is not installed. '
                    f"Install it with: pip install '{locked.distribution}=={locked.version}'",
                )
            )
            continue
        problem = lock_mismatch(
            locked,
            info.version,
            info.distribution,
            partial(distribution_hash, info.distribution),
        )
        if problem is not None:
            diags.append(problem)
    return diags


def lock_mismatch(
    locked: LockedProvider, version: str, distribution: str, current_hash: Callable[[], str]
) -> Diagnostic | None:
    """Why an installed provider no longer matches what the lock file records, or None.

    The hash is asked for only when the versions agree: computing it reads the RECORD."""
    name = locked.name
    if version != locked.version:
        return error(
            "Provider does not match the lock file",
            f'Provider "{name}" {version} is installed, but {LOCK_FILE} records {locked.version}. '
            f"Install the locked version (pip install '{locked.distribution}=={locked.version}'), or run "
            "mlform init --upgrade to record the installed one.",
        )
    if not locked.hash or distribution in ("(registered)", "mlform"):
        return None
    current = current_hash()
    if current and current != locked.hash:
        return error(
            "Provider files changed since init",
            f'The installed files of provider "{name}" ({distribution} {version}) no longer match the '
            f"hash {LOCK_FILE} records. Reinstall it (pip install --force-reinstall '{locked.distribution}=={locked.version}') "
            "or run mlform init --upgrade if the change is intended.",
        )
    return None
