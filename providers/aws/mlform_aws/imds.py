"""An emulated EC2 instance metadata service (IMDS) for one instance of the stand-in's VM
emulator: a tiny HTTP server on the instance's loopback address.

It answers what programs on an instance ask IMDS (botocore when
`AWS_EC2_METADATA_SERVICE_ENDPOINT` points here, the runtime through `MLFORM_IMDS_URL`):

    PUT /latest/api/token                              an IMDSv2 session token
    GET /latest/meta-data/instance-id                  i-0123456789abcdef0
    GET /latest/meta-data/local-ipv4                   the instance's loopback address
    GET /latest/meta-data/instance-type, ami-id, hostname, local-hostname
    GET /latest/meta-data/placement/region             us-east-1
    GET /latest/meta-data/placement/availability-zone  us-east-1a
    GET /latest/meta-data/spot/instance-action         404, or {"action": ..., "time": ...}
                                                       once a spot interruption is injected
    GET /latest/meta-data/iam/security-credentials/[ROLE]   the stand-in's test credentials
    GET /latest/user-data                              the instance's user-data
    GET /latest/dynamic/instance-identity/document     the identity document (JSON)

A request carrying a token that this server did not issue is refused (401), as IMDSv2 does;
a request without one is answered (IMDSv1 allowed).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Imds", "InstanceFacts"]

ROLE = "mlform-standin"


@dataclass
class InstanceFacts:
    """What IMDS tells about one instance; `instance_action` is set by a spot interruption."""

    instance_id: str
    address: str
    region: str
    zone: str
    instance_type: str = ""
    image_id: str = ""
    user_data: bytes = b""
    credentials: dict[str, str] = field(default_factory=dict)
    instance_action: dict[str, str] | None = None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Imds:
    """`Imds(facts).start()` serves on (facts.address, a free port); `url`; `stop()`."""

    def __init__(self, facts: InstanceFacts, port: int = 0):
        self.facts = facts
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((facts.address, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Imds:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name=f"mlform-imds-{self.facts.instance_id}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # What the handler asks.

    def issue_token(self, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + ttl
        return token

    def token_ok(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and expires > time.monotonic()

    def answer(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a GET of `path`."""
        f = self.facts
        now = time.time()
        creds = {
            "Code": "Success",
            "LastUpdated": _iso(now),
            "Type": "AWS-HMAC",
            "AccessKeyId": f.credentials.get("AWS_ACCESS_KEY_ID", "testing"),
            "SecretAccessKey": f.credentials.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "Token": f.credentials.get("AWS_SESSION_TOKEN", "testing"),
            "Expiration": _iso(now + 6 * 3600),
        }
        identity = {
            "instanceId": f.instance_id,
            "instanceType": f.instance_type,
            "imageId": f.image_id,
            "region": f.region,
            "availabilityZone": f.zone,
            "privateIp": f.address,
            "accountId": "123456789012",
        }
        md = "/latest/meta-data/"
        text: dict[str, str] = {
            md + "instance-id": f.instance_id,
            md + "local-ipv4": f.address,
            md + "instance-type": f.instance_type,
            md + "ami-id": f.image_id,
            md + "hostname": f"ip-{f.address.replace('.', '-')}.ec2.internal",
            md + "local-hostname": f"ip-{f.address.replace('.', '-')}.ec2.internal",
            md + "placement/region": f.region,
            md + "placement/availability-zone": f.zone,
            md + "iam/security-credentials/": ROLE,
            md + "iam/security-credentials": ROLE,
        }
        if path in text:
            return 200, "text/plain", text[path]
        if path.endswith("/") and path.rstrip("/") in text:  # botocore asks for `.../`
            return 200, "text/plain", text[path.rstrip("/")]
        if path.rstrip("/") == md.rstrip("/"):
            listing = sorted({p[len(md) :].split("/")[0] for p in text} | {"spot"})
            return 200, "text/plain", "\n".join(listing)
        if path == md + f"iam/security-credentials/{ROLE}":
            return 200, "application/json", json.dumps(creds)
        if path == md + "spot/instance-action":
            if f.instance_action is None:
                return 404, "text/plain", "Not Found"
            return 200, "application/json", json.dumps(f.instance_action)
        if path == md + "spot/termination-time":
            if f.instance_action is None:
                return 404, "text/plain", "Not Found"
            return 200, "text/plain", f.instance_action["time"]
        if path == "/latest/user-data":
            if not f.user_data:
                return 404, "text/plain", "Not Found"
            return 200, "application/octet-stream", f.user_data.decode("utf-8", "replace")
        if path == "/latest/dynamic/instance-identity/document":
            return 200, "application/json", json.dumps(identity, indent=2)
        return 404, "text/plain", "Not Found"


def _handler(imds: Imds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "EC2ws"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

        def _send(self, status: int, ctype: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:  # noqa: N802
            if self.path != "/latest/api/token":
                self._send(404, "text/plain", "Not Found")
                return
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                self._send(400, "text/plain", "Bad Request")
                return
            self._send(200, "text/plain", imds.issue_token(int(ttl)))

        def do_GET(self) -> None:  # noqa: N802
            token = self.headers.get("X-aws-ec2-metadata-token")
            if token is not None and not imds.token_ok(token):
                self._send(401, "text/plain", "Unauthorized")
                return
            self._send(*imds.answer(self.path.split("?")[0]))

    return Handler
