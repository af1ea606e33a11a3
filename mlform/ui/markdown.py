"""A saved plan as Markdown, for a pull request comment: `mlform show --format markdown PLANFILE`.

The page is drawn by a jinja2 template (`mlform/ui/templates/plan.md.j2`, or the user's own
with `--template FILE`) from one context built here: the counts to add, change, replace and
destroy; the training runs that will run and why, the runs already up to date, the deployments
that will roll; what the plan says things cost; and one collapsible `<details>` per changed
instance holding the text plan's diff of it (the same renderer, without color, so sensitive
values are hidden exactly as `mlform plan` hides them).

Prices come from the planned objects: a numeric `price_per_hour` (USD per hour while the object
runs: a cluster) and `estimated_cost` (USD the planned operation will cost: a training run).
Providers fill them where they know them; the cost columns appear only when some instance has one.

A GitHub comment holds at most 65,536 characters. When the page is longer, the details are left
out from the last one up until it fits (the summary is always kept) and a note names the file
that holds the whole page (`--full-output FILE`, uploaded as a CI artifact).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from mlform.diagnostics import Diagnostic, Pos, Range, error
from mlform.plans import Action, Plan, ResourceChange
from mlform.sdk.contract import UNKNOWN
from mlform.sdk.schema import BodySchema

__all__ = [
    "COMMENT_LIMIT",
    "MarkdownPage",
    "TemplateProblem",
    "marker",
    "plan_context",
    "plan_markdown",
]

COMMENT_LIMIT = 65_536  # the most characters GitHub accepts in one issue or pull request comment
TEMPLATE_PACKAGE = "mlform.ui.templates"
DEFAULT_TEMPLATE = "plan.md.j2"
TRAINING_KINDS = ("training_job",)
DEPLOYMENT_KINDS = ("deployment",)
PRICE_FIELDS = ("price_per_hour", "estimated_cost")

_WORDS = {
    Action.CREATE: "create",
    Action.UPDATE: "update in-place",
    Action.DELETE: "destroy",
    Action.DELETE_THEN_CREATE: "replace (destroy, then create)",
    Action.CREATE_THEN_DELETE: "replace (create, then destroy)",
    Action.READ: "read",
    Action.NOOP: "no change",
    Action.FORGET: "forget (no longer managed, not destroyed)",
}


def marker(workspace: str) -> str:
    """The hidden line that finds this workspace's plan comment again: `mlform ci comment`
    updates the comment holding it rather than adding another."""
    return f"<!-- mlform:plan {workspace} -->"


class TemplateProblem(Exception):
    """A template that cannot be read or rendered; `diagnostic` says where and why."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.summary)
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class MarkdownPage:
    """What `plan_markdown` made: the page (cut to the limit) and the whole page."""

    text: str
    full_text: str
    omitted: int  # how many instances' details were left out of `text`

    @property
    def truncated(self) -> bool:
        return self.text != self.full_text


# -- filters -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def md_escape(value: Any) -> str:
    """Text shown as itself in Markdown (table cells included): punctuation that Markdown or
    HTML would read is escaped, line breaks become `<br>`."""
    text = str(value).replace("&", "&amp;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return "<br>".join(text.splitlines()) if "\n" in text else text


def md_code(value: Any) -> str:
    """A code span holding `value` exactly, safe in a table cell."""
    text = str(value).replace("\n", " ")
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def code_block(text: str, lang: str = "") -> str:
    """A fenced block holding `text`, its fence longer than any run of backticks inside."""
    runs = [len(m) for m in re.findall(r"`{3,}", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{lang}\n{text.rstrip(chr(10))}\n{fence}"


def money(value: Any) -> str:
    """`$1.23`, `$0.0042`: cents for amounts of a cent or more, four significant places below."""
    if value is None:
        return ""
    amount = Decimal(str(value))
    if amount == 0:
        return "$0.00"
    if abs(amount) >= Decimal("0.01"):
        return f"${amount:,.2f}"
    return f"${float(amount):.2g}"


_DIFF_MARK = re.compile(r"^(\s*)(-/\+|\+/-|[-+~]|<=)(\s)")


def as_diff(text: str) -> str:
    """The text plan's lines with each change marker moved to the first column, so a ```diff
    block colors them (`~` becomes `!`, the marker diff highlighting knows for "changed")."""
    out = []
    for line in text.split("\n"):
        m = _DIFF_MARK.match(line)
        if m:
            mark = m.group(2)
            first = {"~": "!", "<=": "!", "-/+": "!", "+/-": "!"}.get(mark, mark)
            rest = line[m.end(2) :]
            line = first + m.group(1) + " " * (len(mark) - 1) + rest
        out.append(line)
    return "\n".join(out)


# -- the context ---------------------------------------------------------------------------------


def _price(rc: ResourceChange, name: str) -> float | None:
    """A planned object's price field when the plan knows it: a number, not sensitive."""
    if rc.action is Action.DELETE or not isinstance(rc.after, Mapping):
        return None
    sensitive = {tuple(p) for p in rc.after_sensitive}
    if () in sensitive or (name,) in sensitive:
        return None
    value = rc.after.get(name)
    if value is None or value is UNKNOWN or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def _reasons(rc: ResourceChange) -> list[str]:
    """The change's reasons as the text plan words them, without its `because `."""
    out = []
    for text in rc.reasons:
        out.append(text[len("because ") :] if text.startswith("because ") else text)
    if not out and rc.action_reason == "replace_because_tainted":
        out.append("it is tainted (a previous run failed)")
    elif not out and rc.action_reason == "replace_by_request":
        out.append("replacement was requested")
    return out


def _entry(rc: ResourceChange) -> dict[str, Any]:
    return {
        "address": str(rc.addr) + (f" (deposed {rc.deposed})" if rc.deposed else ""),
        "type": rc.addr.resource.type,
        "action": rc.action.value,
        "symbol": rc.action.symbol.strip() or " ",
        "word": _WORDS[rc.action],
        "replace": rc.action.is_replace,
        "reasons": _reasons(rc),
        "price_per_hour": _price(rc, "price_per_hour"),
        "estimated_cost": _price(rc, "estimated_cost"),
    }


def _shown(plan: Plan) -> list[ResourceChange]:
    """The changes the text plan shows, in its order."""
    return [
        rc
        for rc in sorted(plan.changes, key=lambda rc: (str(rc.addr), rc.deposed or ""))
        if (rc.action is not Action.NOOP or rc.moved or rc.importing is not None)
        and not (rc.action is Action.DELETE and rc.addr.resource.mode == "data")
    ]


def plan_context(
    plan: Plan, schemas: Mapping[str, BodySchema] | None = None, *, plan_file: str = ""
) -> dict[str, Any]:
    """Everything a template may use (docs/ci.md lists it)."""
    from mlform.ui.plan_render import Palette, _render_outputs, render_change

    schemas = schemas or {}
    shown = _shown(plan)
    counts = {"add": 0, "change": 0, "replace": 0, "destroy": 0, "import": 0, "move": 0, "read": 0}
    for rc in shown:
        if rc.action is Action.CREATE:
            counts["add"] += 1
        elif rc.action is Action.UPDATE:
            counts["change"] += 1
        elif rc.action.is_replace:
            counts["replace"] += 1
        elif rc.action is Action.DELETE:
            counts["destroy"] += 1
        elif rc.action is Action.READ:
            counts["read"] += 1
        if rc.importing is not None:
            counts["import"] += 1
        if rc.moved:
            counts["move"] += 1

    managed = [rc for rc in plan.changes if rc.addr.resource.mode == "managed" and not rc.deposed]
    ordered = sorted(managed, key=lambda rc: str(rc.addr))
    training = [
        {**_entry(rc), "retrain": rc.action.is_replace}
        for rc in ordered
        if rc.addr.resource.type in TRAINING_KINDS
        and (rc.action is Action.CREATE or rc.action.is_replace)
    ]
    up_to_date = [
        _entry(rc)
        for rc in ordered
        if rc.addr.resource.type in TRAINING_KINDS and rc.action is Action.NOOP
    ]
    deployments = [
        {
            **_entry(rc),
            "new": rc.action is Action.CREATE,
            "roll": "new"
            if rc.action is Action.CREATE
            else "replaced"
            if rc.action.is_replace
            else "rolls",
        }
        for rc in ordered
        if rc.addr.resource.type in DEPLOYMENT_KINDS
        and (rc.action in (Action.CREATE, Action.UPDATE) or rc.action.is_replace)
    ]

    priced = [e for e in map(_entry, ordered) if any(e[f] is not None for f in PRICE_FIELDS)]
    cost = {
        "shown": bool(priced),
        "resources": priced,
        "price_per_hour": sum(e["price_per_hour"] or 0.0 for e in priced),
        "estimated_cost": sum(e["estimated_cost"] or 0.0 for e in priced),
        "has_price_per_hour": any(e["price_per_hour"] is not None for e in priced),
        "has_estimated_cost": any(e["estimated_cost"] is not None for e in priced),
    }

    details = []
    for rc in shown:
        text = render_change(rc, color=False, schema=schemas.get(rc.addr.resource.type))
        details.append({**_entry(rc), "diff": as_diff(text)})
    drift = [
        {
            **_entry(d),
            "diff": as_diff(
                render_change(d, color=False, schema=schemas.get(d.addr.resource.type), drift=True)
            ),
        }
        for d in sorted(plan.drift, key=lambda rc: str(rc.addr))
        if d.action is not Action.NOOP
    ]
    outputs = _render_outputs(plan.output_changes, Palette(False))
    summary = plan.summary()
    return {
        "workspace": plan.workspace,
        "marker": marker(plan.workspace),
        "mode": plan.mode,
        "errored": plan.errored,
        "has_changes": plan.has_changes,
        "plan_file": plan_file,
        "plan_line": str(summary),
        "counts": counts,
        "training": training,
        "up_to_date": up_to_date,
        "deployments": deployments,
        "cost": cost,
        "details": details,
        "drift": drift,
        "outputs_diff": as_diff(outputs) if outputs else "",
        "truncated": False,
        "omitted": 0,
        "truncation_note": "",
        "limit": COMMENT_LIMIT,
        "full_output": "",
        "state_serial": plan.state_serial,
        "mlform_version": plan.mlform_version,
    }


# -- the template --------------------------------------------------------------------------------


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        autoescape=False,  # Markdown: the filters escape what needs it
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        {"md": md_escape, "code": md_code, "h": html.escape, "money": money, "fence": code_block}
    )
    return env


def default_template_text() -> str:
    from importlib.resources import files

    return (files(TEMPLATE_PACKAGE) / DEFAULT_TEMPLATE).read_text(encoding="utf-8")


def _template_error(filename: str, line: int | None, summary: str, detail: str) -> TemplateProblem:
    subject = None
    if line:
        pos = Pos(line, 1, 0)
        subject = Range(filename, pos, Pos(line, 2, 0))
    return TemplateProblem(error(summary, detail, subject))


def load_template(path: str | None) -> tuple[Any, str]:
    """The compiled template (the user's file, or the built-in one) and its name."""
    import jinja2

    env = _environment()
    if path is None:
        return env.from_string(default_template_text()), DEFAULT_TEMPLATE
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _template_error(
            path,
            None,
            f"Cannot read the template {path}",
            f"{reason}. Give a jinja2 template file with --template, or leave the option out "
            "to use the built-in one.",
        ) from None
    from mlform.diagnostics import register_source

    register_source(path, source)
    try:
        return env.from_string(source), path
    except jinja2.TemplateSyntaxError as exc:
        raise _template_error(
            path,
            exc.lineno,
            "Invalid template",
            f"{exc.message}. See docs/ci.md for what a plan template may use.",
        ) from None


def _render(template: Any, name: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return str(template.render(**context))
    except jinja2.TemplateError as exc:
        line = _template_line(exc, name)
        raise _template_error(
            name,
            line,
            "The template failed",
            f"{getattr(exc, 'message', None) or exc}. See docs/ci.md for the names a plan "
            "template may use.",
        ) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise _template_error(
            name, _template_line(exc, name), "The template failed", f"{exc}."
        ) from None


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line a rendering error happened on, read from jinja2's traceback frames."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _truncation_note(omitted: int, limit: int, full_output: str, plan_file: str) -> str:
    what = "one resource" if omitted == 1 else f"{omitted} resources"
    where = (
        f"full plan in the artifact `{full_output}`"
        if full_output
        else f"run `mlform show {plan_file or 'PLANFILE'}` for the full plan"
    )
    return f"The details of {what} are left out to fit the {limit:,}-character limit of a comment: {where}."


def plan_markdown(
    plan: Plan,
    schemas: Mapping[str, BodySchema] | None = None,
    *,
    template: str | None = None,
    limit: int = COMMENT_LIMIT,
    full_output: str = "",
    plan_file: str = "",
) -> MarkdownPage:
    """The plan's Markdown page. `limit` (0: none) caps its length by leaving details out;
    `full_output` is the name the note gives for the whole page."""
    tmpl, name = load_template(template)
    context = plan_context(plan, schemas, plan_file=plan_file)
    context["limit"] = limit
    context["full_output"] = full_output
    full = _render(tmpl, name, context)
    if not limit or len(full) <= limit:
        return MarkdownPage(full, full, 0)

    details = context["details"]
    drift = context["drift"]
    total = len(details) + len(drift) + (1 if context["outputs_diff"] else 0)

    def attempt(keep: int) -> str:
        kept_details = details[:keep]
        kept_drift = drift[: max(0, keep - len(details))]
        outputs = context["outputs_diff"] if keep >= len(details) + len(drift) + 1 else ""
        omitted = len(details) - len(kept_details)
        omitted += len(drift) - len(kept_drift)
        return _render(
            tmpl,
            name,
            {
                **context,
                "details": kept_details,
                "drift": kept_drift,
                "outputs_diff": outputs,
                "truncated": True,
                "omitted": omitted,
                "truncation_note": _truncation_note(omitted, limit, full_output, plan_file),
            },
        )

    # The most details that fit: a binary search, each try one render.
    lo, hi = 0, total - 1
    best: str | None = None
    best_keep = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        text = attempt(mid)
        if len(text) <= limit:
            best, best_keep, lo = text, mid, mid + 1
        else:
            hi = mid - 1
    if best is None:
        # Even the summary alone is too long: cut it at a line, and say so.
        text = attempt(0)
        note = "\n\n" + _truncation_note(len(details) + len(drift), limit, full_output, plan_file)
        note += " The summary is cut short too.\n"
        cut = text[: max(0, limit - len(note))]
        cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
        best, best_keep = cut + note, 0
    omitted = len(details) + len(drift) - min(best_keep, len(details) + len(drift))
    return MarkdownPage(best, full, omitted)
