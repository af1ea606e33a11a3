"""What the stand-in adds in front of moto's EC2, at the wire level (WSGI middleware):

- injected capacity errors: a RunInstances that matches a rule (instance types, zones, spot or
  on-demand) is refused as AWS refuses it (HTTP 500, `InsufficientInstanceCapacity` or the code
  the rule names) without reaching moto. Moto has no way to inject errors; this does it for
  every client. The instance type, zone and market come from the request, or from its launch
  template and subnet. botocore retries a 5xx: a test that wants one attempt sets
  `Config(retries={"total_max_attempts": 1})`.
- GetConsoleOutput of an instance the VM emulator runs answers its console log (moto answers a
  fixed sample);
- the regions EC2, Auto Scaling and load balancers are called in, for the VM emulator to watch;
- the admin endpoint, under `/_mlform/` (S3 bucket names cannot start with `_`):

      GET    /_mlform/instances             the emulated instances (address, disk, log, pid, ...)
      GET    /_mlform/capacity-errors       the rules
      POST   /_mlform/capacity-errors       {"instance_types": [...], "zones": [...],
                                             "market": "spot"|"on-demand", "code": "...",
                                             "times": N}  (each key optional)
      DELETE /_mlform/capacity-errors       removes every rule
      POST   /_mlform/spot-interruptions    {"instance_id": "i-...", "after": 5,
                                             "action": "terminate"|"stop"}
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from mlform_aws.vmemu import VmEmulator

__all__ = ["CapacityRule", "Ec2Front", "Faults"]

ADMIN = "/_mlform/"
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_WATCHED = {"ec2", "autoscaling", "elasticloadbalancing"}
_MAX_FORM = 1 << 20


@dataclass
class CapacityRule:
    """RunInstances of these instance types (None: any), in these zones (None: any zone, or
    none given), of this market (None: either) is refused with `code`, `times` times (None:
    until the rules are cleared)."""

    instance_types: list[str] | None = None
    zones: list[str] | None = None
    market: str | None = None
    code: str = "InsufficientInstanceCapacity"
    times: int | None = None

    def matches(self, instance_type: str, zone: str | None, market: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.instance_types is not None and instance_type not in self.instance_types:
            return False
        if self.zones is not None and zone not in self.zones:
            return False
        return self.market is None or self.market == market


class Faults:
    """The injected faults, shared by the stand-in's Python API and its admin endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[CapacityRule] = []

    def add(self, rule: CapacityRule) -> CapacityRule:
        if rule.market not in (None, "spot", "on-demand"):
            raise ValueError(f"market must be spot or on-demand, not {rule.market!r}")
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def refuse(self, instance_type: str, zone: str | None, market: str) -> CapacityRule | None:
        """The rule that refuses this launch (using up one of its times), or None."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(instance_type, zone, market):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None


def _launch(form: dict[str, str], region: str) -> tuple[str, str | None, str]:
    """(instance type, zone, market) of a RunInstances request, completed from its launch
    template and subnet as moto records them."""
    instance_type = form.get("InstanceType", "")
    zone = form.get("Placement.AvailabilityZone")
    market = form.get("InstanceMarketOptions.MarketType", "")
    subnet = form.get("SubnetId") or form.get("NetworkInterface.1.SubnetId")
    try:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
        tid = form.get("LaunchTemplate.LaunchTemplateId")
        tname = form.get("LaunchTemplate.LaunchTemplateName")
        if tid or tname:
            template = (
                backend.get_launch_template(tid)
                if tid
                else backend.get_launch_template_by_name(tname or "")
            )
            data = template.get_version(form.get("LaunchTemplate.Version", "$Default")).data
            instance_type = instance_type or data.get("InstanceType", "")
            zone = zone or (data.get("Placement") or {}).get("AvailabilityZone")
            market = market or (data.get("InstanceMarketOptions") or {}).get("MarketType", "")
            nics = data.get("NetworkInterfaces") or [{}]
            subnet = subnet or nics[0].get("SubnetId")
        if zone is None and subnet:
            zone = backend.get_subnet(subnet).availability_zone
    except Exception:  # an unknown template or subnet: moto will refuse it itself
        pass
    return instance_type or "m1.small", zone, market or "on-demand"


class Ec2Front:
    """WSGI middleware in front of moto: see the module docstring."""

    def __init__(
        self,
        app: Callable[..., Any],
        faults: Faults,
        vms: Callable[[], VmEmulator | None],
    ):
        self.app = app
        self.faults = faults
        self.vms = vms

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN):
            return self._admin(environ, start_response, path[len(ADMIN) :].strip("/"))
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or scope.group(2) not in _WATCHED:
            return self.app(environ, start_response)
        region, service = scope.group(1), scope.group(2)
        vms = self.vms()
        if vms is not None:
            vms.watch_region(region)
        if service != "ec2":
            return self.app(environ, start_response)
        form = _form(environ)
        action = form.get("Action")
        if action == "RunInstances":
            instance_type, zone, market = _launch(form, region)
            rule = self.faults.refuse(instance_type, zone, market)
            if rule is not None:
                where = zone or region
                message = (
                    f"We currently do not have sufficient {instance_type} capacity in the "
                    f"Availability Zone you requested ({where}). Our system will be working on "
                    f"provisioning additional capacity. (Injected by mlform-standin.)"
                )
                return _ec2_error(start_response, rule.code, message)
        if action == "GetConsoleOutput" and vms is not None:
            iid = form.get("InstanceId", "")
            output = vms.console_output(iid)
            if output is not None:
                return _console_output(start_response, iid, output)
        return self.app(environ, start_response)

    def _admin(
        self, environ: dict[str, Any], start_response: Callable[..., Any], what: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            body = _json_body(environ) if method in ("POST", "PUT") else {}
        except ValueError as exc:
            return _json(start_response, 400, {"error": f"the body is not JSON: {exc}"})
        vms = self.vms()
        if what == "instances" and method == "GET":
            return _json(start_response, 200, vms.instances() if vms else [])
        if what == "capacity-errors":
            if method == "GET":
                return _json(start_response, 200, [asdict(r) for r in self.faults.rules])
            if method == "DELETE":
                self.faults.clear()
                return _json(start_response, 200, [])
            if method == "POST":
                try:
                    rule = self.faults.add(CapacityRule(**body))
                except (TypeError, ValueError) as exc:
                    return _json(start_response, 400, {"error": str(exc)})
                return _json(start_response, 201, asdict(rule))
        if what == "spot-interruptions" and method == "POST":
            if vms is None:
                return _json(start_response, 409, {"error": "the VM emulator is not running"})
            try:
                notice = vms.interrupt_spot(
                    str(body["instance_id"]),
                    after=float(body.get("after", 120)),
                    action=str(body.get("action", "terminate")),
                )
            except KeyError:
                return _json(start_response, 400, {"error": "instance_id is required"})
            except LookupError as exc:
                return _json(start_response, 404, {"error": str(exc)})
            except ValueError as exc:
                return _json(start_response, 400, {"error": str(exc)})
            return _json(start_response, 200, {"instance_id": body["instance_id"], **notice})
        return _json(start_response, 404, {"error": f"no {method} /_mlform/{what}"})


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """The EC2 query parameters, from the query string or a form body; the body is put back
    for moto to read."""
    form = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    ctype = environ.get("CONTENT_TYPE", "")
    if environ.get("REQUEST_METHOD") == "POST" and ctype.startswith(
        "application/x-www-form-urlencoded"
    ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if 0 < length <= _MAX_FORM:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            form.update(parse_qsl(body.decode("utf-8", "replace")))
    return form


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    data = json.loads(raw or b"{}")
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    return data


def _json(start_response: Callable[..., Any], status: int, data: Any) -> list[bytes]:
    body = json.dumps(data, indent=2).encode()
    reason = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}
    start_response(
        f"{status} {reason.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _ec2_error(start_response: Callable[..., Any], code: str, message: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _console_output(start_response: Callable[..., Any], iid: str, output: str) -> list[bytes]:
    import base64

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    encoded = base64.b64encode(output.encode()).decode()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{uuid.uuid4()}</requestId><instanceId>{escape(iid)}</instanceId>"
        f"<timestamp>{stamp}</timestamp><output>{encoded}</output>"
        "</GetConsoleOutputResponse>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]
