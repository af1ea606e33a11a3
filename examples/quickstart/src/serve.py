"""Serve the digit classifier over HTTP (standard library only, besides the model's own packages).

  GET  /health   200 {"status": "ok"} once the model is loaded
  POST /predict  {"instances": [[64 pixel values 0..16], ...]} -> {"predictions": [labels]}
                 (a bare list of rows is accepted too)

  python serve.py --model $MLFORM_MODEL_DIR --port $PORT
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.environ.get("MLFORM_MODEL_DIR", "out"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    ap.add_argument("--host", default="127.0.0.1")
    opts = ap.parse_args()

    model = pickle.loads((Path(opts.model) / "model.pkl").read_bytes())

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": f"no route {self.path}; try GET /health or POST /predict"})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._send(404, {"error": f"no route {self.path}; try POST /predict"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                rows = body.get("instances") if isinstance(body, dict) else body
                if not isinstance(rows, list) or not all(
                    isinstance(r, list) and len(r) == 64 for r in rows
                ):
                    raise ValueError("expected {\"instances\": [[64 numbers], ...]}")
                labels = model.predict([[float(v) for v in r] for r in rows])
            except (ValueError, TypeError) as e:
                self._send(400, {"error": str(e)})
                return
            self._send(200, {"predictions": [int(v) for v in labels]})

        def log_message(self, fmt: str, *args: object) -> None:
            print(f"{self.address_string()} {fmt % args}", flush=True)

    server = ThreadingHTTPServer((opts.host, opts.port), Handler)
    print(f"serving {opts.model} on http://{opts.host}:{opts.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
