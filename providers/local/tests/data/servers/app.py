"""A tiny model server for the deployment tests: GET /health, GET / answers which model, revision
and replica served the request. SICK=1 makes /health answer 503 forever."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL = (Path(os.environ["MLFORM_MODEL_DIR"]) / "model.txt").read_text().strip()
INFO = {
    "model": MODEL,
    "revision": os.environ.get("MLFORM_REVISION"),
    "replica": os.environ.get("MLFORM_REPLICA"),
    "pid": os.getpid(),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health" and os.environ.get("SICK") == "1":
            code, body = 503, b"sick"
        else:
            code, body = 200, json.dumps(INFO).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


print(f"serving {MODEL} on {os.environ['PORT']}", flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
