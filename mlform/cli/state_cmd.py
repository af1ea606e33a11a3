"""`mlform state list|show|mv|rm|pull|push|rotate-key`: inspect and edit the state by hand.

Reads take no lock (a crashed run's journal is replayed in memory). Each edit locks the
workspace, changes the latest state through `mlform.state.edit` and writes one new serial whose
`meta.operation` names the command ("state mv", "state rm", "state push"), so the history shows
who changed what. The objects themselves are never touched: `rm` forgets, it does not destroy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlform.cli.common import handle_errors
from mlform.diagnostics import DiagnosticsError, error
from mlform.state.model import InstanceRecord, ResourceRecord, State

if TYPE_CHECKING:
    from mlform.addrs import AbsResourceInstance, Target
    from mlform.state.backends import Backend


# --- shared pieces ---------------------------------------------------------------------------


def lock_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--lock` and `--lock-timeout`, as every command that writes state takes them."""
    f = click.option(
        "--lock-timeout",
        default="0s",
        show_default=True,
        metavar="DURATION",
        help="How long to wait for the state lock held by another run: 0s fails at once "
        "(the default, as in Terraform); 30s, 2m wait.",
    )(f)
    f = click.option(
        "--lock",
        "use_lock",
        type=bool,
        default=True,
        show_default=True,
        metavar="BOOL",
        help="Lock the state while editing (--lock=false skips it: only when nothing else uses it).",
    )(f)
    return f


def lock_timeout_seconds(text: str) -> float:
    from mlform.cli.run_options import parse_duration

    try:
        return parse_duration(text)
    except click.BadParameter as exc:
        raise DiagnosticsError(
            [error("Invalid value for --lock-timeout", exc.format_message())]
        ) from None


def backend_and_workspace() -> tuple[Backend, str]:
    """The configured backend (local when there is no configuration) and the selected workspace."""
    from mlform.engine.operation import Operations

    ops = Operations()
    return ops.backend(), ops.workspace


def current_state(backend: Backend, workspace: str) -> State | None:
    """The latest state without a lock, or None when the workspace has none yet."""
    from mlform.state.session import StateSession

    with StateSession.open(backend, workspace, operation="read", lock=False) as sess:
        return sess.state if sess.existed or sess.recovered else None


def require_state(backend: Backend, workspace: str) -> State:
    state = current_state(backend, workspace)
    if state is None:
        raise DiagnosticsError(
            [
                error(
                    "No state file was found!",
                    f"Workspace {workspace!r} has no state yet ({backend.describe(workspace)}). "
                    "State commands need one: run them in the folder where `mlform apply` ran, "
                    "or select the workspace that holds it (`mlform workspace list`).",
                )
            ]
        )
    return state


def parse_address(text: str, what: str = "address") -> Target:
    from mlform.addrs import AddressError, parse_target

    try:
        return parse_target(text)
    except AddressError as exc:
        raise DiagnosticsError(
            [
                error(
                    f"Invalid {what}: {text}",
                    f"{str(exc).rstrip('.')}. Addresses look like training_job.digits, "
                    "dataset.raw[0], "
                    'module.team["a"].deployment.api or module.team.',
                )
            ]
        ) from None


def contains(target: Target, addr: AbsResourceInstance) -> bool:
    """Whether `target` selects `addr`, as Terraform's state commands match: a module address
    whose last step has no key (`module.team`) takes in every instance of that module."""
    from mlform.addrs import ModuleInstance, target_contains

    if isinstance(target, ModuleInstance) and target.steps and target.steps[-1].key is None:
        n = len(target.steps)
        steps = addr.module.steps
        return (
            len(steps) >= n
            and steps[: n - 1] == target.steps[:-1]
            and steps[n - 1].name == target.steps[-1].name
        )
    return target_contains(target, addr)


def _instances_matching(state: State, target: Target) -> list[str]:
    return [str(a) for a, _, _ in state.all_instances() if contains(target, a)]


# --- describing one instance -----------------------------------------------------------------


def _short(value: Any, limit: int = 72) -> str:
    from mlform.lang.render import go_quote

    if isinstance(value, str):
        text = go_quote(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, int | float):
        from decimal import Decimal

        from mlform.lang.render import number_text

        # As everywhere else in mlform: 1.0 prints as 1, as Terraform prints numbers.
        text = number_text(Decimal(repr(value))) if isinstance(value, float) else str(value)
    elif isinstance(value, dict):
        scalars = [(k, v) for k, v in value.items() if not isinstance(v, dict | list)]
        if scalars and len(scalars) == len(value) and len(value) <= 4:
            text = "{ " + ", ".join(f"{k} = {_short(v, 30)}" for k, v in scalars) + " }"
        else:
            keys = ", ".join(sorted(value)[:6]) + (", …" if len(value) > 6 else "")
            text = "{ " + keys + " }" if value else "{}"
    elif isinstance(value, list):
        text = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lineage_summary(lineage: dict[str, Any] | None) -> list[str]:
    """A few lines saying what produced an ML object: one per recorded fact, values shortened."""
    if not lineage:
        return []
    items = [(k, v) for k, v in lineage.items() if v is not None and k != "fingerprint_inputs"]
    if not items:
        return []
    width = max(len(k) for k, _ in items)
    return [f"{k.ljust(width)} = {_short(v)}" for k, v in items]


def describe_instance(res: ResourceRecord, inst: InstanceRecord) -> str:
    """`state show`: the instance's block, then its status, id, times and lineage as comments."""
    from mlform.cli.show_cmd import render_instance

    facts = [("status", inst.status)]
    if inst.id is not None:
        facts.append(("id", inst.id))
    if res.provider:
        facts.append(("provider", res.provider))
    if inst.created_at:
        facts.append(("created", inst.created_at))
    if inst.updated_at:
        facts.append(("updated", inst.updated_at))
    if inst.dependencies:
        facts.append(("depends on", ", ".join(inst.dependencies)))
    width = max(len(k) for k, _ in facts) + 1
    lines = [render_instance(res, inst), ""]
    lines += [f"# {(k + ':').ljust(width)} {v}" for k, v in facts]
    lineage = lineage_summary(inst.lineage)
    if lineage:
        lines.append("# lineage:")
        lines += [f"#   {line}" for line in lineage]
    return "\n".join(lines)


# --- the commands ----------------------------------------------------------------------------


@click.group("state")
def command() -> None:
    """Inspect and edit the state.

    Edits take the state lock and each writes a new serial to the history; the objects
    themselves are not touched.

    \b
    Examples:
      mlform state list
      mlform state show 'training_job.sweep["lr=0.1"]'
      mlform state mv dataset.raw dataset.digits
      mlform state rm deployment.old
      mlform state pull > backup.json
      mlform state rotate-key
    """


@command.command("list")
@click.argument("addresses", nargs=-1, metavar="[ADDR]...")
@click.option("--id", "object_id", metavar="ID", help="Only instances whose id is ID.")
def list_cmd(addresses: tuple[str, ...], object_id: str | None) -> None:
    """List the instances in state, one address per line.

    With ADDR arguments (resources, instances or modules), only the instances they contain.

    \b
    Examples:
      mlform state list
      mlform state list module.team
      mlform state list --id job-4f2a
    """
    with handle_errors():
        targets = [parse_address(a) for a in addresses]
        backend, ws = backend_and_workspace()
        state = require_state(backend, ws)
        for addr, _, inst in state.all_instances():
            if targets and not any(contains(t, addr) for t in targets):
                continue
            if object_id is not None and object_id not in (inst.id, inst.attributes.get("id")):
                continue
            click.echo(str(addr))


@command.command("show")
@click.argument("address", metavar="ADDR")
def show_cmd(address: str) -> None:
    """Show one instance: its attributes (sensitive ones hidden), status and lineage.

    \b
    Examples:
      mlform state show training_job.digits
      mlform state show 'module.team["a"].dataset.raw[0]'
    """
    from mlform.addrs import AbsResource, AbsResourceInstance

    with handle_errors():
        target = parse_address(address)
        backend, ws = backend_and_workspace()
        state = require_state(backend, ws)
        if not isinstance(target, AbsResource | AbsResourceInstance):
            raise _not_one_instance(address, state, target)
        addr = target.instance(None) if isinstance(target, AbsResource) else target
        res = state.resource(addr.abs_resource)
        inst = res.find(addr.key) if res is not None else None
        if res is None or inst is None:
            raise _not_one_instance(address, state, target)
        click.echo(describe_instance(res, inst))


def _not_one_instance(text: str, state: State, target: Target) -> DiagnosticsError:
    from mlform.diagnostics import suggestion

    hits = _instances_matching(state, target)
    if hits:
        shown = ", ".join(hits[:5]) + (", …" if len(hits) > 5 else "")
        hint = f"{text} contains {len(hits)} instance(s): {shown}. Name one of them."
    else:
        everything = [str(a) for a, _, _ in state.all_instances()]
        hint = "See the addresses in state with `mlform state list`." + suggestion(text, everything)
    return DiagnosticsError(
        [
            error(
                "No instance found for the given address",
                "This command needs an address that names one specific instance. " + hint,
            )
        ]
    )


@command.command("mv")
@click.argument("source", metavar="SOURCE")
@click.argument("destination", metavar="DESTINATION")
@click.option("--dry-run", is_flag=True, help="Say what would move, and change nothing.")
@lock_options
def mv_cmd(source: str, destination: str, dry_run: bool, use_lock: bool, lock_timeout: str) -> None:
    """Move an object in state to a new address (a rename; the object is not touched).

    SOURCE and DESTINATION are resources, instances or modules. A move never overwrites an
    address that exists, and a resource keeps its type.

    \b
    Examples:
      mlform state mv dataset.raw dataset.digits
      mlform state mv 'training_job.sweep[0]' 'training_job.sweep["lr=0.1"]'
      mlform state mv module.old module.new
      mlform state mv --dry-run deployment.api module.serving.deployment.api
    """
    from mlform.lang.render import go_quote
    from mlform.state.edit import commit_edit, move

    with handle_errors():
        src = parse_address(source, "source address")
        dst = parse_address(destination, "destination address")
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        if dry_run:
            state = require_state(backend, ws)
            move(state, src, dst)
            click.echo(f"Would move {go_quote(str(src))} to {go_quote(str(dst))}")
            return
        require_state(backend, ws)
        moved: list[int] = []

        def edit(state: State) -> State:
            from mlform.addrs import target_contains

            moved.append(sum(1 for a, _, _ in state.all_instances() if target_contains(src, a)))
            return move(state, src, dst)

        commit_edit(
            backend,
            ws,
            "state mv",
            edit,
            lock_timeout=timeout,
            summary=f"moved {src} to {dst}",
            lock=use_lock,
        )
        click.echo(f"Move {go_quote(str(src))} to {go_quote(str(dst))}")
        click.echo(f"Successfully moved {max(moved[0], 1)} object(s).")


@command.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDR...")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, and change nothing.")
@lock_options
def rm_cmd(addresses: tuple[str, ...], dry_run: bool, use_lock: bool, lock_timeout: str) -> None:
    """Forget objects: remove them from state without destroying them.

    Each ADDR is a resource (all its instances), an instance or a module. Nothing is removed
    unless every ADDR matches something. The next plan proposes to create what the
    configuration still declares; `mlform import` adopts an object again.

    \b
    Examples:
      mlform state rm deployment.old
      mlform state rm 'training_job.sweep["lr=0.3"]' module.legacy
      mlform state rm --dry-run module.legacy
    """
    from mlform.state.edit import commit_edit, remove

    with handle_errors():
        parsed = [parse_address(a) for a in addresses]
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        state = require_state(backend, ws)
        targets = _expand_modules(state, parsed)
        if dry_run:
            _, removed = remove(state, targets)
            for a in removed:
                click.echo(f"Would remove {a}")
            return
        result: list[str] = []

        def edit(current: State) -> State:
            new, removed = remove(current, targets)
            result.extend(removed)
            return new

        commit_edit(
            backend,
            ws,
            "state rm",
            edit,
            lock_timeout=timeout,
            summary="removed " + ", ".join(str(t) for t in parsed),
            lock=use_lock,
        )
        for a in result:
            click.echo(f"Removed {a}")
        click.echo(f"Successfully removed {len(result)} resource instance(s).")


def _expand_modules(state: State, targets: list[Target]) -> list[Target | str]:
    """`module.team` also names `module.team["a"]`, `module.team["b"]`: list their instances."""
    from mlform.addrs import ModuleInstance

    out: list[Target | str] = []
    for t in targets:
        hits = _instances_matching(state, t) if isinstance(t, ModuleInstance) else []
        out.extend(hits or [t])
    return out


@command.command("pull")
def pull_cmd() -> None:
    """Print the current state as JSON (nothing when there is none yet).

    An encrypted state is printed decrypted: only with its key (see docs/state-encryption.md).

    \b
    Examples:
      mlform state pull > backup.json
      mlform state pull | jq '.resources[].type'
    """
    from mlform.state.format import dumps

    with handle_errors():
        backend, ws = backend_and_workspace()
        state = current_state(backend, ws)
        if state is not None:
            click.echo(dumps(state.to_json()), nl=False)


@command.command("push")
@click.argument("path", metavar="FILE")
@click.option(
    "--force",
    is_flag=True,
    help="Push even when the lineage differs or the serial is lower than the current state's.",
)
@lock_options
def push_cmd(path: str, force: bool, use_lock: bool, lock_timeout: str) -> None:
    """Replace the state with the one in FILE (`-` reads standard input).

    Refused when FILE holds a different history (another lineage) or an older serial, unless
    --force. The pushed state becomes a new serial; the history keeps what it replaced.

    \b
    Examples:
      mlform state push fixed.json
      mlform state push --force mlform.state.json.history/00000005.json
    """
    from mlform.state.edit import push

    with handle_errors():
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        new_state = _read_state_file(path, backend)
        if force:
            _refuse_wrong_key(backend, ws)
        written = push(backend, ws, new_state, force=force, lock_timeout=timeout, lock=use_lock)
        click.echo(
            f"Pushed the state to workspace {ws!r}: serial {written.serial}, "
            f"{len(written)} instance(s)."
        )


def _refuse_wrong_key(backend: Backend, workspace: str) -> None:
    """`--force` replaces a state that cannot be read because it is damaged, never one that
    the configured keys do not open: that is a wrong key, and the state is fine."""
    from mlform.state.encryption import WrongKeyError
    from mlform.state.errors import StateError

    try:
        backend.read(workspace)
    except WrongKeyError:
        raise
    except StateError:
        pass


def _read_state_file(path: str, backend: Backend | None = None) -> State:
    from mlform.state.encryption import is_envelope, open_bytes

    name = "standard input" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        if is_envelope(text):
            # A sealed copy (a history serial of an encrypted state): opened with the key.
            codec = backend.encryption if backend is not None else None
            text = open_bytes(text.encode("utf-8"), codec, "state", name).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiagnosticsError(
            [
                error(
                    f"Cannot read {name}",
                    (
                        f"{exc.strerror}."
                        if isinstance(exc, OSError) and exc.strerror
                        else f"It is not UTF-8 text ({exc})."
                        if isinstance(exc, UnicodeDecodeError)
                        else f"{exc}."
                    )
                    + " Give the path of a state file to push (one written by `mlform state pull`).",
                )
            ]
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DiagnosticsError(
            [
                error(
                    f"{name} is not a state file",
                    f"It is not valid JSON: {exc}. Push a file written by `mlform state pull`.",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise DiagnosticsError(
            [
                error(
                    f"{name} is not a state file",
                    "A state file is a JSON object. Push a file written by `mlform state pull`.",
                )
            ]
        )
    return State.from_json(data, name)


@command.command("rotate-key")
@lock_options
def rotate_key_cmd(use_lock: bool, lock_timeout: str) -> None:
    """Write the state again with the encryption method configured now.

    After a key rotation (a new key provider, the old one kept as the state section's
    fallback) or a migration (to or from encryption), the state is rewritten by the next
    operation that writes it; this command does it at once, as a new serial, without touching
    any object. The history keeps the serials written before with the key they were written
    with.

    \b
    Examples:
      mlform state rotate-key
    """
    from mlform.state.edit import commit_edit

    with handle_errors():
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        codec = backend.encryption
        if codec is None:
            raise DiagnosticsError(
                [
                    error(
                        "No state encryption is configured",
                        "`mlform state rotate-key` rewrites the state with the state section "
                        "of `mlform { encryption { ... } }` (or MLFORM_ENCRYPTION); there is "
                        "none. See docs/state-encryption.md.",
                    )
                ]
            )
        require_state(backend, ws)
        method = codec.primary.addr
        written = commit_edit(
            backend,
            ws,
            "state rotate-key",
            lambda state: state,
            lock_timeout=timeout,
            summary=f"rewritten with method {method}",
            lock=use_lock,
        )
        how = "encrypted" if codec.primary.encrypts else "written unencrypted"
        click.echo(
            f"Rewrote the state of workspace {ws!r} as serial {written.serial}, {how} with "
            f"method {method}."
        )
