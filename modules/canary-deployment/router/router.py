"""The canary's router: one HTTP endpoint that sends a share of the requests to the candidate.

Standard library only; configured by its environment:

- PORT: where to listen (on HOST, 127.0.0.1 unless set);
- STABLE_URL: the stable deployment's endpoint;
- CANDIDATE_URL: the candidate's endpoint, empty when there is none;
- CANDIDATE_PERCENT: the share of requests (0 to 100) the candidate gets;
- HEALTH_PATH: answered with the stable endpoint's health, whatever the split.

The split is exact, not random: of every 100 requests in a row, CANDIDATE_PERCENT go to the
candidate, spread evenly, so that a canary's share is what the configuration says even over a few
requests. Each answer carries `X-Mlform-Canary: stable` or `candidate`.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STABLE = os.environ["STABLE_URL"].rstrip("/")
CANDIDATE = os.environ.get("CANDIDATE_URL", "").rstrip("/")
PERCENT = max(0, min(100, int(float(os.environ.get("CANDIDATE_PERCENT") or 0)))) if CANDIDATE else 0
HEALTH_PATH = os.environ.get("HEALTH_PATH", "/health")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}

_lock = threading.Lock()
_count = 0


def choose() -> tuple[str, str]:
    """The next request's backend: request n goes to the candidate when the running total of
    its share, n * PERCENT / 100, crosses a whole number."""
    global _count
    with _lock:
        n = _count
        _count += 1
    if (n + 1) * PERCENT // 100 > n * PERCENT // 100:
        return "candidate", CANDIDATE
    return "stable", STABLE


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        if self.path.split("?", 1)[0] == HEALTH_PATH:
            name, base = "stable", STABLE
        else:
            name, base = choose()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        req = urllib.request.Request(
            base + self.path, data=body, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, rheaders, data = resp.status, resp.headers.items(), resp.read()
        except urllib.error.HTTPError as exc:
            status, rheaders, data = exc.code, exc.headers.items(), exc.read()
        except OSError as exc:
            status, rheaders, data = 502, [], f"{name} backend unreachable: {exc}\n".encode()
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Mlform-Canary", name)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(
        (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler
    ).serve_forever()
