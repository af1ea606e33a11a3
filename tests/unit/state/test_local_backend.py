"""The local backend against the backend conformance suite, plus what only files can show."""

from __future__ import annotations

from mlform.testing.backend_conformance import BackendConformance


class TestLocalBackend(BackendConformance):
    backend_type = "local"


class TestLocalBackendCustomPath(BackendConformance):
    backend_type = "local"

    def backend_config(self, workdir):
        return {"path": "state/main.json", "workspace_dir": "state/ws"}
