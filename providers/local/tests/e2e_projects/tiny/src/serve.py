"""Serve the fitted model: GET /health, POST /predict {"x": [..]} -> {"y": [..], "model": {...}}."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

model = json.loads((Path(os.environ["MLFORM_MODEL_DIR"]) / "model.json").read_text())


class Handler(BaseHTTPRequestHandler):
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply({"status": "ok", "model": model})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.reply({"y": [model["w"] * x for x in body["x"]], "model": model})


print(f"serving w={model['w']} on port {os.environ['PORT']}", flush=True)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
