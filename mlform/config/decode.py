"""Decoding parsed files into the configuration model, reporting every misplaced piece.

The structure of a file is fixed (which blocks exist at the top level, which arguments each
takes), so it is checked here, before anything is evaluated: an unknown block type, an argument
where none is expected, a duplicate declaration or a meta-argument of the wrong shape is a
diagnostic with a suggestion where one exists. Resource bodies are left for the provider's
schema; only their meta-arguments are taken out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from mlform.config.model import (
    BackendConfig,
    Check,
    Import,
    Lifecycle,
    Local,
    Module,
    ModuleCall,
    Moved,
    Output,
    ProviderBlock,
    ProviderRef,
    ProviderRequirement,
    Removed,
    ResourceConfig,
    Variable,
)
from mlform.config.syntax import Attribute, Block, Body
from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.lang import ast
from mlform.lang.types import DYNAMIC

if TYPE_CHECKING:
    from mlform.config.syntax import File
    from mlform.lang.values import Value

# Top-level block types and the labels each takes.
TOP_LEVEL_BLOCKS: dict[str, tuple[str, ...]] = {
    "mlform": (),
    "terraform": (),
    "provider": ("name",),
    "resource": ("type", "name"),
    "data": ("type", "name"),
    "variable": ("name",),
    "locals": (),
    "output": ("name",),
    "module": ("name",),
    "moved": (),
    "removed": (),
    "import": (),
    "check": ("name",),
}

RESOURCE_META = ("count", "for_each", "depends_on", "provider")
MODULE_META = ("source", "version", "count", "for_each", "depends_on", "providers")
RESERVED_VARIABLE_NAMES = {
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "lifecycle",
    "depends_on",
    "locals",
}


class Decoder:
    def __init__(self, module: Module):
        self.module = module
        self.diags: list[Diagnostic] = []

    # -- helpers -------------------------------------------------------------------------------

    def err(self, summary: str, detail: str, subject: Range | None) -> None:
        self.diags.append(error(summary, detail, subject))

    def check_labels(self, block: Block, names: tuple[str, ...]) -> bool:
        if len(block.labels) != len(names):
            if len(block.labels) < len(names):
                missing = names[len(block.labels)]
                self.err(
                    f"Missing {missing} for {block.type}",
                    f"All {block.type} blocks must have {len(names)} label(s) ({', '.join(names)}).",
                    block.def_range,
                )
            else:
                extra = block.label_ranges[len(names)]
                self.err(
                    f"Extraneous label for {block.type}",
                    f"{'No' if not names else 'Only ' + str(len(names))} label(s) are expected for {block.type} blocks.",
                    extra,
                )
            return False
        for label, rng in zip(block.labels, block.label_ranges, strict=True):
            if block.type in (
                "resource",
                "data",
                "variable",
                "output",
                "module",
                "provider",
                "check",
            ) and not _valid_name(label):
                self.err(
                    "Invalid name",
                    f"A name must start with a letter or underscore and may contain only letters, digits, "
                    f"underscores, and dashes; {label!r} does not.",
                    rng,
                )
                return False
        return True

    def unexpected_attribute(
        self, attr: Attribute, expected: tuple[str, ...] | list[str], where: str
    ) -> None:
        self.err(
            "Unsupported argument",
            f'An argument named "{attr.name}" is not expected {where}.{suggestion(attr.name, expected)}',
            attr.name_range,
        )

    def unexpected_block(
        self, block: Block, expected: tuple[str, ...] | list[str], where: str
    ) -> None:
        self.err(
            "Unsupported block type",
            f'Blocks of type "{block.type}" are not expected {where}.{suggestion(block.type, expected)}',
            block.type_range,
        )

    def only(self, body: Body, attrs: tuple[str, ...], blocks: tuple[str, ...], where: str) -> None:
        for a in body.attributes.values():
            if a.name not in attrs:
                if a.name in blocks:
                    self.err(
                        "Unsupported argument",
                        f'An argument named "{a.name}" is not expected {where}. Did you mean to define a block of type "{a.name}"?',
                        a.name_range,
                    )
                else:
                    self.unexpected_attribute(a, attrs, where)
        for b in body.blocks:
            if b.type not in blocks:
                if b.type in attrs:
                    self.err(
                        "Unsupported block type",
                        f'Blocks of type "{b.type}" are not expected {where}. Did you mean to define argument "{b.type}"? If so, use the equals sign to assign it a value.',
                        b.type_range,
                    )
                else:
                    self.unexpected_block(b, blocks, where)

    def static_string(self, attr: Attribute) -> str | None:
        v = static_value(attr.expr)
        if v is None or not isinstance(v.v, str):
            self.err(
                "Invalid value",
                f'The value of "{attr.name}" must be a literal string here: it is read before anything is evaluated.',
                attr.expr.range,
            )
            return None
        return v.v

    def static_bool(self, attr: Attribute) -> bool:
        v = static_value(attr.expr)
        if v is None or not isinstance(v.v, bool):
            self.err(
                "Invalid value",
                f'The value of "{attr.name}" must be a literal true or false here.',
                attr.expr.range,
            )
            return False
        return v.v

    def traversal_list(self, attr: Attribute) -> list[ast.ScopeTraversal]:
        expr = attr.expr
        if not isinstance(expr, ast.TupleCons):
            self.err(
                "Invalid expression",
                f'"{attr.name}" must be a list of references, such as [dataset.digits, module.prep].',
                expr.range,
            )
            return []
        out = []
        for item in expr.items:
            if isinstance(item, ast.ScopeTraversal):
                out.append(item)
            else:
                self.err(
                    "Invalid reference",
                    f'Each item of "{attr.name}" must be a reference to a resource, data source or module, not an arbitrary expression.',
                    item.range,
                )
        return out

    def checks(self, body: Body, kind: str) -> list[Check]:
        out = []
        for b in body.blocks_of_type(kind):
            if not self.check_labels(b, ()):
                continue
            self.only(b.body, ("condition", "error_message"), (), f"in a {kind} block")
            cond = b.body.attributes.get("condition")
            if cond is None:
                self.err(
                    "Missing required argument",
                    f'The argument "condition" is required in a {kind} block.',
                    b.def_range,
                )
                continue
            msg = b.body.attributes.get("error_message")
            if msg is None and kind == "validation":
                self.err(
                    "Missing required argument",
                    'The argument "error_message" is required in a validation block.',
                    b.def_range,
                )
            out.append(Check(cond.expr, msg.expr if msg else None, b.def_range))
        return out

    def provider_ref(self, expr: ast.Expr) -> ProviderRef | None:
        if isinstance(expr, ast.ScopeTraversal) and len(expr.steps) <= 1:
            alias = None
            if expr.steps:
                step = expr.steps[0]
                if not isinstance(step, ast.AttrStep):
                    self.err(
                        "Invalid provider reference",
                        "A provider is named as TYPE or TYPE.ALIAS.",
                        expr.range,
                    )
                    return None
                alias = step.name
            return ProviderRef(expr.root, alias, expr.range)
        self.err(
            "Invalid provider reference",
            "A provider is named as TYPE or TYPE.ALIAS, without quotes, such as `local` or `aws.us_east_1`.",
            expr.range,
        )
        return None

    # -- file ----------------------------------------------------------------------------------

    def decode_file(self, file: File) -> None:
        body = file.body
        for attr in body.attributes.values():
            self.err(
                "Unsupported argument",
                f'An argument named "{attr.name}" is not expected at the top level of a configuration file. '
                "Arguments belong inside blocks such as resource, variable or locals.",
                attr.name_range,
            )
        for block in body.blocks:
            decode = getattr(self, "block_" + block.type, None)
            if block.type not in TOP_LEVEL_BLOCKS or decode is None:
                self.unexpected_block(block, list(TOP_LEVEL_BLOCKS), "here")
                continue
            if not self.check_labels(block, TOP_LEVEL_BLOCKS[block.type]):
                continue
            decode(block)

    # -- blocks --------------------------------------------------------------------------------

    def block_mlform(self, block: Block) -> None:
        settings = self.module.settings
        where = f"in a {block.type} block"
        self.only(
            block.body,
            ("required_version", "default_provider", "experiments"),
            ("required_providers", "backend", "cloud", "encryption", "guardrails"),
            where,
        )
        attrs = block.body.attributes
        if "required_version" in attrs:
            settings.required_version = self.static_string(attrs["required_version"])
            settings.required_version_range = attrs["required_version"].expr.range
        if "default_provider" in attrs:
            settings.default_provider = self.static_string(attrs["default_provider"])
        for rp in block.body.blocks_of_type("required_providers"):
            self.only(rp.body, tuple(rp.body.attributes), (), "in required_providers")
            for name, attr in rp.body.attributes.items():
                value = static_value(attr.expr)
                if value is not None and isinstance(value.v, str):
                    settings.required_providers[name] = ProviderRequirement(
                        name, name, value.v, attr.range
                    )
                elif value is not None and isinstance(value.v, dict):
                    src = value.v.get("source")
                    ver = value.v.get("version")
                    unknown = set(value.v) - {"source", "version", "configuration_aliases"}
                    if unknown:
                        self.err(
                            "Invalid required_providers object",
                            f"A provider requirement takes source and version; {', '.join(sorted(unknown))} is not expected.",
                            attr.expr.range,
                        )
                    settings.required_providers[name] = ProviderRequirement(
                        name,
                        src.v if src is not None and isinstance(src.v, str) else name,
                        ver.v if ver is not None and isinstance(ver.v, str) else None,
                        attr.range,
                    )
                else:
                    self.err(
                        "Invalid required_providers object",
                        'A provider requirement is an object such as { version = ">= 0.1" } or a version string.',
                        attr.expr.range,
                    )
        for bk in block.body.blocks_of_type("backend"):
            if not bk.labels or len(bk.labels) != 1:
                self.err(
                    "Missing backend type",
                    'A backend block has one label naming the backend type, such as backend "local" { }.',
                    bk.def_range,
                )
                continue
            if settings.backend is not None:
                self.err(
                    "Duplicate backend configuration",
                    "A module may declare only one backend.",
                    bk.def_range,
                )
                continue
            settings.backend = BackendConfig(bk.labels[0], bk.body, bk.def_range)
        for enc in block.body.blocks_of_type("encryption"):
            if settings.encryption is not None:
                self.err(
                    "Duplicate encryption configuration",
                    "A module may declare only one encryption block.",
                    enc.def_range,
                )
                continue
            from mlform.state.encryption import check_block

            self.check_labels(enc, ())
            self.diags.extend(check_block(enc))
            settings.encryption = enc
        for rails in block.body.blocks_of_type("guardrails"):
            if settings.guardrails is not None:
                self.err(
                    "Duplicate guardrails configuration",
                    "A module may declare only one guardrails block.",
                    rails.def_range,
                )
                continue
            from mlform.config.guardrails import check_block as check_guardrails

            self.check_labels(rails, ())
            self.diags.extend(check_guardrails(rails))
            settings.guardrails = rails

    block_terraform = block_mlform

    def block_provider(self, block: Block) -> None:
        name = block.labels[0]
        alias = None
        body = block.body
        if "alias" in body.attributes:
            alias = self.static_string(body.attributes["alias"])
        rest = Body(
            {k: v for k, v in body.attributes.items() if k not in ("alias", "version")},
            body.blocks,
            body.range,
            body.from_json,
        )
        pb = ProviderBlock(name, alias, rest, block.def_range)
        key = pb.local_name
        if key in self.module.providers:
            prev = self.module.providers[key].range
            self.err(
                "Duplicate provider configuration",
                f'A provider configuration for "{key}" was already given at {prev.filename}:{prev.start.line}. '
                "Each configuration of the same provider needs a distinct alias.",
                block.def_range,
            )
            return
        self.module.providers[key] = pb

    def block_resource(self, block: Block, mode: str = "managed") -> None:
        rtype, name = block.labels
        body = block.body
        attrs = body.attributes
        count = attrs["count"].expr if "count" in attrs else None
        for_each = attrs["for_each"].expr if "for_each" in attrs else None
        if count is not None and for_each is not None:
            self.err(
                'Invalid combination of "count" and "for_each"',
                'The "count" and "for_each" meta-arguments are mutually exclusive: only one may be used to be explicit about the number of instances to create.',
                attrs["for_each"].name_range,
            )
        depends_on = self.traversal_list(attrs["depends_on"]) if "depends_on" in attrs else []
        provider_ref = self.provider_ref(attrs["provider"].expr) if "provider" in attrs else None
        lifecycle = Lifecycle()
        kept_blocks = []
        for b in body.blocks:
            if b.type == "lifecycle":
                if mode == "data":
                    self.unexpected_block(b, ["dynamic"], "in a data block")
                    continue
                lifecycle = self.decode_lifecycle(b)
            elif b.type in ("provisioner", "connection"):
                self.err(
                    "Unsupported block type",
                    f'mlform has no "{b.type}" blocks: run work as a training_job or a deployment instead.',
                    b.type_range,
                )
            else:
                kept_blocks.append(b)
        rest = Body(
            {k: v for k, v in attrs.items() if k not in RESOURCE_META},
            kept_blocks,
            body.range,
            body.from_json,
        )
        res = ResourceConfig(
            mode=mode,
            type=rtype,
            name=name,
            body=rest,
            count=count,
            for_each=for_each,
            depends_on=depends_on,
            provider_ref=provider_ref,
            lifecycle=lifecycle,
            range=block.def_range,
            block=block,
        )
        if res.addr in self.module.resources:
            prev = self.module.resources[res.addr].range
            what = "data" if mode == "data" else "resource"
            self.err(
                f'Duplicate {what} "{rtype}" configuration',
                f'A {what} named "{name}" of type "{rtype}" was already declared at {prev.filename}:{prev.start.line},{prev.start.column}. '
                f"Names must be unique per type in a module.",
                block.def_range,
            )
            return
        self.module.resources[res.addr] = res

    def block_data(self, block: Block) -> None:
        self.block_resource(block, mode="data")

    def decode_lifecycle(self, block: Block) -> Lifecycle:
        lc = Lifecycle()
        allowed = (
            "create_before_destroy",
            "prevent_destroy",
            "ignore_changes",
            "replace_triggered_by",
        )
        self.only(block.body, allowed, ("precondition", "postcondition"), "in a lifecycle block")
        attrs = block.body.attributes
        if "create_before_destroy" in attrs:
            lc.create_before_destroy = self.static_bool(attrs["create_before_destroy"])
        if "prevent_destroy" in attrs:
            lc.prevent_destroy = self.static_bool(attrs["prevent_destroy"])
        if "ignore_changes" in attrs:
            expr = attrs["ignore_changes"].expr
            if isinstance(expr, ast.ScopeTraversal) and expr.root == "all" and not expr.steps:
                lc.ignore_all = True
                lc.ignore_changes = None
            elif isinstance(expr, ast.TupleCons):
                paths: list[list[str | int]] = []
                for item in expr.items:
                    path = attribute_path(item)
                    if path is None:
                        self.err(
                            "Invalid ignore_changes",
                            'Each item of ignore_changes is an attribute path such as params or tags["owner"].',
                            item.range,
                        )
                    else:
                        paths.append(path)
                lc.ignore_changes = paths
            else:
                self.err(
                    "Invalid ignore_changes",
                    'ignore_changes is a list of attribute paths, or the keyword "all".',
                    expr.range,
                )
        if "replace_triggered_by" in attrs:
            expr = attrs["replace_triggered_by"].expr
            if isinstance(expr, ast.TupleCons):
                lc.replace_triggered_by = list(expr.items)
            else:
                self.err(
                    "Invalid replace_triggered_by",
                    "replace_triggered_by is a list of references.",
                    expr.range,
                )
        lc.preconditions = self.checks(block.body, "precondition")
        lc.postconditions = self.checks(block.body, "postcondition")
        return lc

    def block_variable(self, block: Block) -> None:
        from mlform.lang.typeexpr import type_from_expr

        name = block.labels[0]
        if name in RESERVED_VARIABLE_NAMES:
            self.err(
                "Invalid variable name",
                f'The variable name "{name}" is reserved: it is a meta-argument of module blocks.',
                block.label_ranges[0],
            )
            return
        body = block.body
        allowed = ("type", "default", "description", "sensitive", "nullable")
        self.only(body, allowed, ("validation",), "in a variable block")
        attrs = body.attributes
        vtype = DYNAMIC
        type_given = False
        if "type" in attrs:
            t, tdiags = type_from_expr(attrs["type"].expr)
            self.diags.extend(tdiags)
            vtype = t
            type_given = True
        description = (
            self.static_string(attrs["description"]) or "" if "description" in attrs else ""
        )
        sensitive = self.static_bool(attrs["sensitive"]) if "sensitive" in attrs else False
        nullable = self.static_bool(attrs["nullable"]) if "nullable" in attrs else True
        var = Variable(
            name=name,
            type=vtype,
            default=attrs["default"].expr if "default" in attrs else None,
            description=description,
            sensitive=sensitive,
            nullable=nullable,
            validations=self.checks(body, "validation"),
            range=block.def_range,
            type_given=type_given,
        )
        from mlform.config.variables import check_default

        bad_default = check_default(var)
        if bad_default is not None:
            self.diags.append(bad_default)
        if name in self.module.variables:
            prev = self.module.variables[name].range
            self.err(
                "Duplicate variable declaration",
                f'A variable named "{name}" was already declared at {prev.filename}:{prev.start.line},{prev.start.column}. Variable names must be unique within a module.',
                block.def_range,
            )
            return
        self.module.variables[name] = var

    def block_locals(self, block: Block) -> None:
        for b in block.body.blocks:
            self.err(
                "Unsupported block type",
                f'A locals block holds only arguments (name = value); "{b.type}" is a block.',
                b.type_range,
            )
        for name, attr in block.body.attributes.items():
            if name in self.module.locals:
                prev = self.module.locals[name].range
                self.err(
                    "Duplicate local value definition",
                    f'A local value named "{name}" was already defined at {prev.filename}:{prev.start.line},{prev.start.column}. Local value names must be unique within a module.',
                    attr.name_range,
                )
                continue
            self.module.locals[name] = Local(name, attr.expr, attr.name_range)

    def block_output(self, block: Block) -> None:
        name = block.labels[0]
        body = block.body
        self.only(
            body,
            ("value", "description", "sensitive", "depends_on"),
            ("precondition",),
            "in an output block",
        )
        attrs = body.attributes
        if "value" not in attrs:
            self.err(
                "Missing required argument",
                'The argument "value" is required in an output block.',
                block.def_range,
            )
            return
        out = Output(
            name=name,
            expr=attrs["value"].expr,
            description=(self.static_string(attrs["description"]) or "")
            if "description" in attrs
            else "",
            sensitive=self.static_bool(attrs["sensitive"]) if "sensitive" in attrs else False,
            depends_on=self.traversal_list(attrs["depends_on"]) if "depends_on" in attrs else [],
            preconditions=self.checks(body, "precondition"),
            range=block.def_range,
        )
        if name in self.module.outputs:
            prev = self.module.outputs[name].range
            self.err(
                "Duplicate output definition",
                f'An output named "{name}" was already defined at {prev.filename}:{prev.start.line},{prev.start.column}. Output names must be unique within a module.',
                block.def_range,
            )
            return
        self.module.outputs[name] = out

    def block_module(self, block: Block) -> None:
        name = block.labels[0]
        body = block.body
        attrs = body.attributes
        for b in body.blocks:
            self.err(
                "Unsupported block type",
                f'A module block takes only arguments: its source, meta-arguments and the module\'s input variables; "{b.type}" is a block.',
                b.type_range,
            )
        if "source" not in attrs:
            self.err(
                "Missing required argument",
                'The argument "source" is required in a module block: a local path such as "./modules/train" or a git URL.',
                block.def_range,
            )
            return
        source = self.static_string(attrs["source"])
        if source is None:
            return
        if "\x00" in source:
            self.err(
                "Invalid module source",
                "A module source cannot contain a NUL character (\\u0000): it is neither a "
                "path nor an address.",
                attrs["source"].expr.range,
            )
            return
        count = attrs["count"].expr if "count" in attrs else None
        for_each = attrs["for_each"].expr if "for_each" in attrs else None
        if count is not None and for_each is not None:
            self.err(
                'Invalid combination of "count" and "for_each"',
                'The "count" and "for_each" meta-arguments are mutually exclusive.',
                attrs["for_each"].name_range,
            )
        providers: dict[str, ProviderRef] = {}
        if "providers" in attrs:
            expr = attrs["providers"].expr
            if not isinstance(expr, ast.ObjectCons):
                self.err(
                    "Invalid providers argument",
                    "providers is an object such as { aws = aws.east }.",
                    expr.range,
                )
            else:
                for item in expr.items:
                    key = item.key
                    key_name = None
                    if isinstance(key, ast.Literal) and isinstance(key.value.v, str):
                        key_name = key.value.v
                    elif isinstance(key, ast.ScopeTraversal):
                        key_name = key.root + "".join(
                            f".{s.name}" for s in key.steps if isinstance(s, ast.AttrStep)
                        )
                    ref = self.provider_ref(item.value)
                    if key_name and ref:
                        providers[key_name] = ref
        call = ModuleCall(
            name=name,
            source=source,
            source_range=attrs["source"].expr.range,
            version=(self.static_string(attrs["version"]) if "version" in attrs else None),
            body=Body(
                {k: v for k, v in attrs.items() if k not in MODULE_META},
                [],
                body.range,
                body.from_json,
            ),
            count=count,
            for_each=for_each,
            depends_on=self.traversal_list(attrs["depends_on"]) if "depends_on" in attrs else [],
            providers=providers,
            range=block.def_range,
        )
        if name in self.module.module_calls:
            prev = self.module.module_calls[name].range
            self.err(
                "Duplicate module call",
                f'A module call named "{name}" was already defined at {prev.filename}:{prev.start.line},{prev.start.column}. Module calls must have unique names within a module.',
                block.def_range,
            )
            return
        self.module.module_calls[name] = call

    def block_moved(self, block: Block) -> None:
        self.only(block.body, ("from", "to"), (), "in a moved block")
        attrs = block.body.attributes
        ends = []
        for key in ("from", "to"):
            if key not in attrs:
                self.err(
                    "Missing required argument",
                    f'The argument "{key}" is required in a moved block.',
                    block.def_range,
                )
                return
            expr = attrs[key].expr
            if not isinstance(expr, ast.ScopeTraversal):
                self.err(
                    "Invalid address",
                    f'"{key}" must be an address such as training_job.old or module.a.',
                    expr.range,
                )
                return
            ends.append(expr)
        self.module.moved.append(Moved(ends[0], ends[1], block.def_range))

    def block_removed(self, block: Block) -> None:
        self.only(block.body, ("from",), ("lifecycle",), "in a removed block")
        attr = block.body.attributes.get("from")
        if attr is None:
            self.err(
                "Missing required argument",
                'The argument "from" is required in a removed block: the address of the resource '
                "or module that left the configuration, such as training_job.old or module.a.",
                block.def_range,
            )
            return
        expr = attr.expr
        if not isinstance(expr, ast.ScopeTraversal) or any(
            not isinstance(s, ast.AttrStep) for s in expr.steps
        ):
            self.err(
                "Invalid address",
                '"from" must be the address of a resource or a module, without an instance key, '
                "such as training_job.old or module.a.",
                expr.range,
            )
            return
        destroy = True
        for lc in block.body.blocks_of_type("lifecycle"):
            self.only(lc.body, ("destroy",), (), "in a removed block's lifecycle")
            if "destroy" in lc.body.attributes:
                destroy = self.static_bool(lc.body.attributes["destroy"])
        self.module.removed.append(Removed(expr, destroy, block.def_range))

    def block_import(self, block: Block) -> None:
        self.only(block.body, ("to", "id", "provider", "for_each"), (), "in an import block")
        attrs = block.body.attributes
        if "for_each" in attrs:
            self.err(
                "Unsupported argument",
                "mlform's import blocks do not take for_each yet: write one import block per "
                "object.",
                attrs["for_each"].name_range,
            )
            return
        for key in ("to", "id"):
            if key not in attrs:
                self.err(
                    "Missing required argument",
                    f'The argument "{key}" is required in an import block.',
                    block.def_range,
                )
                return
        to = attrs["to"].expr
        if not isinstance(to, ast.ScopeTraversal):
            self.err(
                "Invalid address",
                '"to" must be a resource instance address, such as test_object.a or '
                'training_job.sweep["a"].',
                to.range,
            )
            return
        ref = self.provider_ref(attrs["provider"].expr) if "provider" in attrs else None
        self.module.imports.append(Import(to, attrs["id"].expr, ref, block.def_range))

    def block_check(self, block: Block) -> None:
        from mlform.config.checks import decode_check

        decode_check(self, block)


def decode_module(module: Module, files: list[File]) -> list[Diagnostic]:
    decoder = Decoder(module)
    for f in files:
        decoder.decode_file(f)
    module.files.extend(files)
    return decoder.diags


def _valid_name(name: str) -> bool:
    if not name or not (name[0].isalpha() or name[0] == "_"):
        return False
    return all(c.isalnum() or c in "_-" for c in name)


def static_value(expr: ast.Expr) -> Value | None:
    """The value of an expression made only of literals, or None when it needs evaluation."""
    from mlform.lang import values as V

    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.Template):
        if all(isinstance(p, ast.TemplateLiteral) for p in expr.parts):
            return V.string("".join(p.text for p in expr.parts))  # type: ignore[attr-defined]
        return None
    if isinstance(expr, ast.TemplateWrap | ast.Parens):
        return static_value(expr.expr)
    if isinstance(expr, ast.TupleCons):
        items = [static_value(i) for i in expr.items]
        if any(i is None for i in items):
            return None
        return V.tuple_of(items)  # type: ignore[arg-type]
    if isinstance(expr, ast.ObjectCons):
        out = {}
        for item in expr.items:
            k = static_value(item.key)
            if k is None and isinstance(item.key, ast.ScopeTraversal) and not item.key.steps:
                k = V.string(item.key.root)
            v = static_value(item.value)
            if k is None or v is None or not isinstance(k.v, str):
                return None
            out[k.v] = v
        return V.object_of(out)
    if isinstance(expr, ast.UnaryOp) and expr.op == "-":
        inner = static_value(expr.operand)
        if (
            inner is not None
            and isinstance(inner.v, int | Decimal)
            and not isinstance(inner.v, bool)
        ):
            return V.number(-inner.v)
    return None


def attribute_path(expr: ast.Expr) -> list[str | int] | None:
    """`params["c"]` or `tags.owner` as a path, for ignore_changes."""
    if isinstance(expr, ast.ScopeTraversal):
        path: list[str | int] = [expr.root]
        for step in expr.steps:
            if isinstance(step, ast.AttrStep):
                path.append(step.name)
            else:
                key = step.key.v  # type: ignore[attr-defined]
                if isinstance(key, int | str):
                    path.append(key)
                else:
                    return None
        return path
    if isinstance(expr, ast.Literal) and isinstance(expr.value.v, str):
        return [expr.value.v]
    return None
