"""`mlform show [PLANFILE] [--json]`: the current state (or a saved plan) for people or machines.

The human form is Terraform's `show`: each instance as a `resource "type" "name" { ... }` block
with its attributes aligned, sensitive values hidden, then the outputs. The JSON form is
Terraform's `values` representation (`format_version`, `values.outputs`,
`values.root_module.resources[]`, `child_modules`), so tools that read `terraform show -json`
read mlform's. `state show` reuses `render_instance` for one instance.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from mlform.cli.common import handle_errors, use_color
from mlform.diagnostics import DiagnosticsError, error
from mlform.lang.values import Value
from mlform.state.model import InstanceRecord, ResourceRecord, State

__all__ = [
    "command",
    "load_current_state",
    "render_attributes",
    "render_instance",
    "render_state",
    "show_json",
    "state_values_json",
]

INDENT = 4
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


# --- human form ------------------------------------------------------------------------------


def _key_text(key: str, quoted: bool) -> str:
    from mlform.lang.render import go_quote

    if not quoted and _IDENT.fullmatch(key):
        return key
    return go_quote(key)


def _render(v: Value, indent: int) -> str:
    """One value as Terraform's state view writes it: 4-space steps, aligned keys."""
    from mlform.lang.render import go_quote, number_text
    from mlform.lang.types import BOOL, NUMBER, STRING, MapType, ObjectType
    from mlform.lang.values import UNKNOWN

    if v.v is UNKNOWN:
        return "(known after apply)"
    if v.is_sensitive:
        return "(sensitive value)"
    if v.v is None:
        return "null"
    t = v.type
    if t == STRING:
        text: str = v.v
        if "\n" in text.rstrip("\n"):
            pad = " " * (indent + INDENT)
            lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
            body = "".join(f"{pad}{line}\n" if line else "\n" for line in lines)
            return f"<<-EOT\n{body}{' ' * indent}EOT"
        return go_quote(text)
    if t == NUMBER:
        return number_text(v.v)
    if t == BOOL:
        return "true" if v.v else "false"
    if isinstance(t, ObjectType | MapType) or isinstance(v.v, dict):
        quoted = isinstance(t, MapType)
        items = {k: e for k, e in v.v.items() if quoted or e.v is not None}
        return _mapping(items, indent, quoted)
    if isinstance(v.v, tuple):
        if not v.v:
            return "[]"
        pad = " " * (indent + INDENT)
        inner = "".join(f"{pad}{_render(e, indent + INDENT)},\n" for e in v.v)
        return "[\n" + inner + " " * indent + "]"
    return str(v.v)


def _mapping(items: dict[str, Value], indent: int, quoted: bool) -> str:
    if not items:
        return "{}"
    keys = {k: _key_text(k, quoted) for k in sorted(items)}
    width = max(len(k) for k in keys.values())
    pad = " " * (indent + INDENT)
    lines = [f"{pad}{keys[k].ljust(width)} = {_render(items[k], indent + INDENT)}\n" for k in keys]
    return "{\n" + "".join(lines) + " " * indent + "}"


def _attributes_value(inst: InstanceRecord) -> Value:
    from mlform.engine.bridge import data_to_value, mark_paths

    return mark_paths(data_to_value(inst.attributes), inst.sensitive_paths)


def render_attributes(inst: InstanceRecord) -> str:
    """An instance's attributes as the body of a block, `{ ... }` (null attributes left out)."""
    v = _attributes_value(inst)
    if v.is_sensitive:
        return "{\n    # (all attributes are sensitive)\n}"
    items = {k: e for k, e in (v.v or {}).items() if e.v is not None}
    return _mapping(items, 0, quoted=False)


def render_instance(res: ResourceRecord, inst: InstanceRecord) -> str:
    """`# addr:` and the `resource "type" "name" { ... }` block, as `terraform state show`."""
    addr = res.addr().instance(inst.index_key)
    head = f"# {addr}:" + (" (tainted)" if inst.tainted else "")
    word = "data" if res.mode == "data" else "resource"
    return f'{head}\n{word} "{res.type}" "{res.name}" {render_attributes(inst)}'


def render_state(state: State | None) -> str:
    """The whole state as `terraform show` prints it (ends with a newline)."""
    from mlform.cli.output_render import output_value

    if state is None:
        return "No state.\n"
    if len(state) == 0 and not state.outputs:
        return "The state file is empty. No resources are represented.\n"
    blocks = [render_instance(res, inst) for _, res, inst in state.all_instances()]
    text = "\n\n".join(blocks) + "\n" if blocks else ""
    if state.outputs:
        lines = []
        for name in sorted(state.outputs):
            rec = state.outputs[name]
            shown = (
                "(sensitive value)"
                if rec.sensitive
                else _render(output_value(rec.value, rec.type), 0)
            )
            lines.append(f"{name} = {shown}\n")
        text += ("\n\nOutputs:\n\n" if blocks else "Outputs:\n\n") + "".join(lines)
    return text


# --- JSON form -------------------------------------------------------------------------------


def show_json(state: State | None) -> dict[str, Any]:
    """`show --json` for a state: Terraform's values representation, the same one a JSON plan
    holds as `prior_state` (sensitive values left out, their places marked in
    `sensitive_values`), plus each resource's `depends_on` and `tainted` as Terraform writes
    them. `{"format_version": "1.0"}` alone when there is no state."""
    from mlform.ui.json_plan import state_values

    if state is None:
        return {"format_version": "1.0"}
    doc = state_values(state.to_json())
    extra = {
        str(addr): (inst.dependencies, inst.tainted) for addr, _, inst in state.all_instances()
    }
    _add_instance_facts(doc["values"].get("root_module", {}), extra)
    for out in doc["values"].get("outputs", {}).values():
        if "value" in out:
            out["value"] = _plain(out["value"])
    return doc


def state_values_json(state: State) -> dict[str, Any]:
    """The `values` object of `show --json`: `outputs` and `root_module`."""
    values: dict[str, Any] = show_json(state)["values"]
    return values


def _plain(data: Any) -> Any:
    """Attribute data as Go's encoder writes it: object keys sorted, floats as exact decimals
    (1.0 as 1), so the same state always gives the same JSON text."""
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, float):
        d = Decimal(repr(data))
        return int(d) if d == d.to_integral_value() else d
    if isinstance(data, dict):
        return {k: _plain(data[k]) for k in sorted(data)}
    if isinstance(data, list | tuple):
        return [_plain(e) for e in data]
    return data


def _add_instance_facts(module: dict[str, Any], facts: dict[str, tuple[list[str], bool]]) -> None:
    for res in module.get("resources", []):
        for key in ("values", "sensitive_values"):
            if key in res:
                res[key] = _plain(res[key])
        depends_on, tainted = facts.get(res["address"], ([], False))
        if depends_on:
            res["depends_on"] = list(depends_on)
        if tainted:
            res["tainted"] = True
    for child in module.get("child_modules", []):
        _add_instance_facts(child, facts)


# --- the command -----------------------------------------------------------------------------


def load_current_state() -> State | None:
    """The selected workspace's latest state (no lock; a crashed run's journal replayed), or
    None when it has none yet."""
    from mlform.cli.state_cmd import backend_and_workspace, current_state

    return current_state(*backend_and_workspace())


def _state_file(path: Path) -> State | None:
    """A state file given to `show` in place of a plan (as Terraform allows), else None."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and "lineage" in data and "resources" in data:
        return State.from_json(data, str(path))
    return None


@click.command("show")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default=None,
    help="text (the default), json (as --json), or markdown (a saved plan, for a pull request).",
)
@click.option(
    "--template",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --format markdown: a jinja2 template of your own (see docs/ci.md).",
)
@click.option(
    "--full-output",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --format markdown: also write the whole page, never shortened, to this file.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=0),
    default=None,
    help="With --format markdown: the most characters printed (default 65536, what a GitHub "
    "comment holds; 0: no limit). Details are left out to fit.",
)
@click.option("--no-color", is_flag=True, help="Print without colors.")
def command(
    planfile: str | None,
    as_json: bool,
    fmt: str | None,
    template: str | None,
    full_output: str | None,
    max_length: int | None,
    no_color: bool,
) -> None:
    """Show the current state, or a saved plan file.

    With no argument, prints every instance in state with its attributes (sensitive values
    hidden), then the outputs. With PLANFILE (written by `mlform plan --out`), shows that plan;
    `--format markdown` draws it for a pull request comment (docs/ci.md).

    \b
    Examples:
      mlform show
      mlform show --json | jq '.values.root_module.resources[].address'
      mlform show tfplan
      mlform show --format markdown --full-output plan-full.md tfplan > plan.md
    """
    from mlform.cli.output_render import json_indent

    with handle_errors():
        if as_json and fmt not in (None, "json"):
            raise DiagnosticsError(
                [error("Conflicting options", f"--json and --format {fmt} ask for two formats.")]
            )
        fmt = "json" if as_json else (fmt or "text")
        as_json = fmt == "json"
        markdown_only = [
            name
            for name, given in (
                ("--template", template),
                ("--full-output", full_output),
                ("--max-length", max_length),
            )
            if given is not None
        ]
        if markdown_only and fmt != "markdown":
            raise DiagnosticsError(
                [
                    error(
                        f"{markdown_only[0]} needs --format markdown",
                        "It shapes the Markdown page of a saved plan: add --format markdown.",
                    )
                ]
            )
        if fmt == "markdown" and planfile is None:
            raise DiagnosticsError(
                [
                    error(
                        "--format markdown shows a saved plan",
                        "Give the plan file: `mlform plan -out tfplan`, then "
                        "`mlform show --format markdown tfplan`.",
                    )
                ]
            )
        if planfile is None:
            state = load_current_state()
        else:
            path = Path(planfile)
            if not path.exists():
                raise DiagnosticsError(
                    [
                        error(
                            f"No such file: {planfile}",
                            "Give the path of a plan saved with `mlform plan --out FILE`, or "
                            "no argument to show the current state.",
                        )
                    ]
                )
            state = _state_file(path) if fmt != "markdown" else None
            if state is None:
                from mlform.cli.flows import show_plan_file
                from mlform.plans import PlanFileError

                try:
                    if fmt == "markdown":
                        _show_markdown(planfile, template, full_output, max_length)
                    else:
                        show_plan_file(planfile, as_json, use_color(no_color))
                except PlanFileError as exc:
                    summary, _, detail = str(exc).partition(". ")
                    raise DiagnosticsError([error(summary, detail)]) from None
                return
        if as_json:
            click.echo(json_indent(show_json(state), compact=True))
        else:
            click.echo(render_state(state), nl=False)


def _show_markdown(
    planfile: str, template: str | None, full_output: str | None, max_length: int | None
) -> None:
    """A saved plan as the Markdown page of mlform.ui.markdown; the whole page to
    `full_output` when given."""
    from mlform.cli.flows import _read_saved_plan, plan_schemas
    from mlform.ui.markdown import COMMENT_LIMIT, TemplateProblem, plan_markdown

    saved = _read_saved_plan(planfile)  # opened with the plan encryption, when configured
    try:
        page = plan_markdown(
            saved.plan,
            plan_schemas(saved.plan),
            template=template,
            limit=COMMENT_LIMIT if max_length is None else max_length,
            full_output=full_output or "",
            plan_file=planfile,
        )
    except TemplateProblem as exc:
        raise DiagnosticsError([exc.diagnostic]) from None
    if full_output:
        try:
            Path(full_output).write_text(page.full_text, encoding="utf-8")
        except OSError as exc:
            raise DiagnosticsError(
                [
                    error(
                        f"Cannot write {full_output}",
                        f"{exc.strerror or exc}. Choose a file in a folder that exists.",
                    )
                ]
            ) from None
    click.echo(page.text, nl=False)
