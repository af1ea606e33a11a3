"""Loading a configuration: the files of a folder, decoded, with their child modules.

Files are `*.mlf.hcl` and `*.mlf.json`, read in lexical order. Child modules come from a local
path (`./modules/x`, relative to the calling module) or, once `mlform init` has fetched them, from
a git source cached under `.mlform/modules/` (see `mlform.config.modules`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlform.addrs import ModulePath
from mlform.config.decode import decode_module
from mlform.config.model import Module
from mlform.config.modules import ModuleManifest, is_local_source, version_matches
from mlform.diagnostics import Diagnostic, error

if TYPE_CHECKING:
    from mlform.config.syntax import File

CONFIG_SUFFIXES = (".mlf.hcl", ".mlf.json")
MAX_MODULE_DEPTH = 32


def config_files(directory: Path) -> list[Path]:
    """The configuration files of a folder, in the order they are read."""
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except FileNotFoundError:
        return []
    return [directory / n for n in names if n.endswith(CONFIG_SUFFIXES) and not n.startswith(".")]


def load_config(
    root_dir: Path, *, use_cache: bool | str = True, load_children: bool = True
) -> tuple[Module, list[Diagnostic]]:
    """Load the root module in `root_dir` and, recursively, every module it calls.
    `use_cache`: True reads and fills the parse cache, "read" only reads it, False skips it."""
    root_dir = Path(root_dir)
    diags: list[Diagnostic] = []
    manifest = ModuleManifest.load(root_dir)
    files = config_files(root_dir)
    if not files:
        diags.append(
            error(
                "No configuration files",
                f"mlform found no *.mlf.hcl or *.mlf.json files in {root_dir.resolve()}. "
                "Run mlform in the folder that holds your configuration, or pass -C DIR.",
            )
        )
        return Module(dir=root_dir, path=ModulePath()), diags
    root = _load_one(root_dir, ModulePath(), use_cache, diags)
    if load_children:
        _load_children(root, root_dir, manifest, use_cache, diags, depth=0)
    return root, diags


def load_module_dir(
    directory: Path, path: ModulePath = ModulePath(), use_cache: bool | str = True
) -> tuple[Module, list[Diagnostic]]:
    """Load one folder as a module, without its children."""
    diags: list[Diagnostic] = []
    return _load_one(directory, path, use_cache, diags), diags


def _load_one(
    directory: Path, path: ModulePath, use_cache: bool | str, diags: list[Diagnostic]
) -> Module:
    module = Module(dir=directory, path=path)
    parsed: list[File] = []
    for f in config_files(directory):
        display = _display_path(f)
        file, fdiags = _parse_display(f, display, use_cache)
        diags.extend(fdiags)
        if file is not None:
            parsed.append(file)
    diags.extend(decode_module(module, parsed))
    return module


def _parse_display(
    path: Path, display: str, use_cache: bool | str
) -> tuple[File | None, list[Diagnostic]]:
    # Diagnostics name files relative to where the user stands, as Terraform does.
    from mlform.diagnostics import register_source

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        from mlform.diagnostics import encoding_error

        return None, [encoding_error(display, path.read_bytes(), exc)]
    except OSError as exc:
        return None, [error("Cannot read configuration file", f"{display}: {exc.strerror}")]
    register_source(display, text)
    if use_cache:
        from mlform.config.parse_cache import parse_file_cached

        return parse_file_cached(display, text, store=use_cache != "read")
    from mlform.config.parser import parse_file

    return parse_file(display, text)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _unfetchable(source: str) -> str:
    """Why `mlform init` cannot fetch a remote module source, or "" when it can."""
    from mlform.config.modules import GitSource
    from mlform.config.registry import is_registry_source

    if is_registry_source(source):
        return ""
    try:
        GitSource.parse(source)
    except ValueError as exc:
        return str(exc)
    return ""


def local_module_folder(path: Path) -> tuple[Path, str]:
    """A local module source's folder, resolved, and why it is no folder ("" when it is one).
    A path the system refuses (a name too long, a loop of links) is a user's mistake too, not
    an internal error."""
    try:
        resolved = path.resolve()
        if resolved.is_dir():
            return resolved, ""
        return resolved, "is a file, not a folder" if resolved.exists() else "does not exist"
    except OSError as exc:
        return path, f"cannot be read ({exc.strerror or exc})"


def _load_children(
    module: Module,
    root_dir: Path,
    manifest: ModuleManifest,
    use_cache: bool | str,
    diags: list[Diagnostic],
    depth: int,
) -> None:
    if depth > MAX_MODULE_DEPTH:
        diags.append(
            error(
                "Module nesting too deep",
                f"Modules nest more than {MAX_MODULE_DEPTH} levels deep; is a module calling itself?",
            )
        )
        return
    for name, call in module.module_calls.items():
        child_path = module.path.child(name)
        if is_local_source(call.source):
            child_dir, what = local_module_folder(module.dir / call.source)
            if what:
                diags.append(
                    error(
                        "Module not found",
                        f'The module folder "{call.source}" {what} (looked in {child_dir}).',
                        call.source_range,
                    )
                )
                continue
        else:
            entry = manifest.get(child_path)
            unfetchable = _unfetchable(call.source)
            if unfetchable:
                # `mlform init` cannot fetch it either: say so rather than send the user there.
                diags.append(error("Unsupported module source", unfetchable, call.source_range))
                continue
            if (
                entry is None
                or entry.source != call.source
                or not entry.dir(root_dir).is_dir()
                or not version_matches(entry, call.version)
            ):
                diags.append(
                    error(
                        "Module not installed",
                        f'The module "{name}" comes from "{call.source}", which is not installed (or has changed since). '
                        "Run `mlform init` to fetch it.",
                        call.source_range,
                    )
                )
                continue
            child_dir = entry.dir(root_dir)
        if not any(child_dir.glob("*.mlf.*")):
            diags.append(
                error(
                    "Empty module",
                    f'The module "{name}" ({call.source}) holds no *.mlf.hcl or *.mlf.json files.',
                    call.source_range,
                )
            )
            continue
        child = _load_one(child_dir, child_path, use_cache, diags)
        module.children[name] = child
        _load_children(child, root_dir, manifest, use_cache, diags, depth + 1)
