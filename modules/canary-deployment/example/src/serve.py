"""Serve the model from MLFORM_MODEL_DIR on PORT: /health, and /predict?x=N -> answer * N."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

with open(os.path.join(os.environ["MLFORM_MODEL_DIR"], "model.json")) as f:
    MODEL = json.load(f)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            body: dict[str, object] = {"ok": True}
        elif url.path == "/predict":
            x = float(parse_qs(url.query).get("x", ["1"])[0])
            body = {"prediction": MODEL["answer"] * x, "model": MODEL["version"]}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
