"""A local stand-in for the parts of GitHub's and GitLab's REST APIs that `mlform ci comment`
uses: a pull request's issue comments (list with Link pagination, create, edit) and a merge
request's notes (list with X-Next-Page pagination, create, edit). It checks the token and
records every request (method, path, query, headers, JSON body) for the tests to inspect.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_test_token_0123456789"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class Forge:
    """The fake's state: comments by (repository, number), and what it was asked."""

    url: str = ""
    token: str = TOKEN
    page_size: int = 2
    comments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    next_id: int = 1000

    def add(self, repo: str, number: int | str, body: str, user: str = "someone") -> int:
        self.next_id += 1
        self.comments.setdefault((repo, str(number)), []).append(
            {"id": self.next_id, "body": body, "user": {"login": user}}
        )
        return self.next_id

    def bodies(self, repo: str, number: int | str) -> list[str]:
        return [c["body"] for c in self.comments.get((repo, str(number)), [])]


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            forge.requests.append(
                Seen(
                    self.command,
                    parts.path,
                    query,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
            segs = [s for s in parts.path.split("/") if s]
            if segs[:2] == ["api", "v4"]:
                self._gitlab(segs[2:], query, body)
            else:
                self._github(segs, query, body)

        # GitHub: /repos/O/R/issues/N/comments, /repos/O/R/issues/comments/ID
        def _github(self, segs: list[str], query: dict[str, str], body: Any) -> None:
            if self.headers.get("Authorization") != f"Bearer {forge.token}":
                return self._send(401, {"message": "Bad credentials"})
            if (
                len(segs) == 6
                and segs[0] == "repos"
                and segs[3] == "issues"
                and segs[5] == "comments"
            ):
                repo, number = f"{segs[1]}/{segs[2]}", segs[4]
                if (repo, number) not in forge.comments:
                    return self._send(404, {"message": "Not Found"})
                items = forge.comments[(repo, number)]
                if self.command == "GET":
                    page = int(query.get("page", "1"))
                    chunk = items[(page - 1) * forge.page_size : page * forge.page_size]
                    headers = {}
                    if page * forge.page_size < len(items):
                        nxt = f"{forge.url}/repos/{repo}/issues/{number}/comments?per_page={forge.page_size}&page={page + 1}"
                        headers["Link"] = f'<{nxt}>; rel="next", <{nxt}>; rel="last"'
                    return self._send(200, chunk, headers)
                if self.command == "POST":
                    cid = forge.add(repo, number, body["body"], "github-actions[bot]")
                    return self._send(
                        201,
                        {
                            "id": cid,
                            "body": body["body"],
                            "html_url": f"https://gh/{repo}/pull/{number}#issuecomment-{cid}",
                        },
                    )
            if (
                len(segs) == 6
                and segs[0] == "repos"
                and segs[3:5] == ["issues", "comments"]
                and self.command == "PATCH"
            ):
                repo, cid = f"{segs[1]}/{segs[2]}", int(segs[5])
                for (r, n), items in forge.comments.items():
                    for c in items:
                        if r == repo and c["id"] == cid:
                            c["body"] = body["body"]
                            return self._send(
                                200,
                                {**c, "html_url": f"https://gh/{repo}/pull/{n}#issuecomment-{cid}"},
                            )
            return self._send(404, {"message": "Not Found"})

        # GitLab: /api/v4/projects/ID/merge_requests/IID/notes[/NOTE]
        def _gitlab(self, segs: list[str], query: dict[str, str], body: Any) -> None:
            given = self.headers.get("PRIVATE-TOKEN") or self.headers.get("JOB-TOKEN")
            if given != forge.token:
                return self._send(401, {"message": "401 Unauthorized"})
            if (
                len(segs) >= 5
                and segs[0] == "projects"
                and segs[2] == "merge_requests"
                and segs[4] == "notes"
            ):
                project, iid = segs[1], segs[3]
                from urllib.parse import unquote

                key = (unquote(project), iid)
                if key not in forge.comments:
                    return self._send(404, {"message": "404 Not found"})
                items = forge.comments[key]
                if len(segs) == 5 and self.command == "GET":
                    page = int(query.get("page", "1"))
                    chunk = items[(page - 1) * forge.page_size : page * forge.page_size]
                    more = page * forge.page_size < len(items)
                    return self._send(200, chunk, {"X-Next-Page": str(page + 1) if more else ""})
                if len(segs) == 5 and self.command == "POST":
                    nid = forge.add(key[0], iid, body["body"], "bot")
                    return self._send(201, {"id": nid, "body": body["body"]})
                if len(segs) == 6 and self.command == "PUT":
                    for c in items:
                        if c["id"] == int(segs[5]):
                            c["body"] = body["body"]
                            return self._send(200, c)
            return self._send(404, {"message": "404 Not found"})

        do_GET = do_POST = do_PATCH = do_PUT = _handle

    return Handler


@contextmanager
def serve(forge: Forge | None = None) -> Iterator[Forge]:
    """Run the fake on a free local port for the duration of the block."""
    forge = forge or Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forge))
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
