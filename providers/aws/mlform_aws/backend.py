"""The S3 state backend: state in a versioned bucket, as Terraform's s3 backend keeps it.

    backend "s3" {
      bucket = "acme-mlform-state"
      key    = "ml/mlform.state.json"
      region = "eu-west-1"
      # workspace_key_prefix = "env:"   other workspaces: env:/<workspace>/<key>
    }

Objects, for the state at KEY (another workspace's KEY is `<workspace_key_prefix>/<ws>/<key>`):

    KEY                     the state; every serial is one object version (the history)
    KEY.lock                the lock: created with PutObject If-None-Match "*", holding the
                            holder's record; removed by deleting that very version
    KEY.journal/0000000000  the journal of the operation in progress: the header, then one
    KEY.journal/0000000001  object per group of entries (an append is a new object), so a run
    ...                     killed anywhere is replayed by the next run on any machine
    KEY.workspace           marks a workspace created before its first state

Writes are compare-and-swap: a state is written with If-Match on the ETag this backend read (or
If-None-Match "*" when there was none), so an update made since that read, with or without the
lock, refuses the write instead of being lost. Bucket versioning must be on: without it there
is no history, and the backend refuses to run.

boto3 is imported only when the backend talks to S3.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mlform.diagnostics import suggestion, warning
from mlform.state.backends import (
    DEFAULT_WORKSPACE,
    Backend,
    HistoryEntry,
    LockInfo,
    force_unlock_command,
    lock_error,
    validate_workspace_name,
)
from mlform.state.errors import JournalError, LockError, StateError, notify
from mlform.state.format import load_text, state_dumps
from mlform.state.journal import JOURNAL_VERSION, Journal, JournalContents
from mlform.state.model import State

if TYPE_CHECKING:
    from mlform_aws.aws import AwsSession, AwsSettings

__all__ = ["S3Backend", "S3Journal"]

ARGUMENTS = {
    "bucket": "the bucket (versioning on)",
    "key": "the state's object key",
    "region": "the bucket's region",
    "workspace_key_prefix": 'where other workspaces live (default "env:")',
    "endpoint": "another S3 URL (an S3-compatible store, a stand-in)",
    "endpoints": "endpoint overrides by service ({ s3 = ..., sts = ... })",
    "profile": "a named profile",
    "access_key": "a static access key ID",
    "secret_key": "the static secret key",
    "token": "a session token",
    "shared_config_files": "config files instead of ~/.aws/config",
    "shared_credentials_files": "credentials files instead of ~/.aws/credentials",
    "assume_role": "{ role_arn, session_name, external_id, duration_seconds }",
    "use_path_style": "path-style bucket addressing",
    "encrypt": "server-side encryption of every object",
    "kms_key_id": "the KMS key for server-side encryption",
    "max_retries": "attempts per S3 call",
}
DEFAULT_WORKSPACE_PREFIX = "env:"
LOCK_POLL_SECONDS = 0.2
SEQ_DIGITS = 10
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
# If-None-Match / If-Match refused (412), or a concurrent conditional write (409).
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class _S3Url(str):
    """Where a journal lives, for messages (`Journal.path` is a local path elsewhere)."""


def _code(exc: BaseException) -> str:
    from mlform_aws.aws import error_code

    return error_code(exc)


class S3Backend(Backend):
    """State in S3. Config: as Terraform's s3 backend (see ARGUMENTS)."""

    type_name = "s3"
    # A lock is an object: it outlives a killed holder and is removed by `force-unlock`.
    dead_holder_lock_is_released = False

    def __init__(self, config: dict[str, Any] | None = None, workdir: Path | str = "."):
        super().__init__(config, workdir)
        c = self.config
        unknown = sorted(set(c) - set(ARGUMENTS))
        if unknown:
            raise StateError(
                f"Unsupported argument {unknown[0]!r} in the s3 backend",
                "The s3 backend takes "
                + ", ".join(f"`{k}`" for k in ARGUMENTS)
                + "."
                + suggestion(unknown[0], list(ARGUMENTS)),
            )
        for required in ("bucket", "key"):
            if not isinstance(c.get(required), str) or not c[required]:
                raise StateError(
                    f"The s3 backend needs `{required}`",
                    'For example: backend "s3" { bucket = "acme-mlform-state", '
                    'key = "ml/mlform.state.json", region = "us-east-1" }',
                )
        self.bucket: str = c["bucket"]
        self.key: str = c["key"]
        if self.key.startswith("/") or self.key.endswith("/"):
            raise StateError(
                f"The s3 backend's key {self.key!r} must not start or end with `/`",
                'Name an object, for example key = "ml/mlform.state.json".',
            )
        self.workspace_prefix = str(c.get("workspace_key_prefix") or DEFAULT_WORKSPACE_PREFIX)
        if self.workspace_prefix.startswith("/") or self.workspace_prefix.endswith("/"):
            raise StateError(
                "The s3 backend's workspace_key_prefix must not start or end with `/`",
                f"It is {self.workspace_prefix!r}.",
            )
        self._settings = self._parse_settings(c)
        self._session: AwsSession | None = None
        self._ready = False
        self._mu = threading.Lock()
        # The ETag and serial of the state this backend last read or wrote, by workspace: the
        # condition its next write is made on (compare-and-swap).
        self._seen: dict[str, tuple[str | None, int]] = {}
        # The locks this process holds: lock id -> (object key, version id).
        self._locks: dict[str, tuple[str, str | None]] = {}
        # History entries by object version (versions never change).
        self._entries: dict[str, HistoryEntry] = {}
        self._versions: dict[str, dict[int, str]] = {}

    @staticmethod
    def _parse_settings(c: dict[str, Any]) -> AwsSettings:
        from mlform_aws.aws import AssumeRole, AwsSettings

        def strings(name: str) -> tuple[str, ...]:
            v = c.get(name) or []
            if isinstance(v, str) or not all(isinstance(x, str) for x in v):
                raise StateError(f"The s3 backend's `{name}` must be a list of strings")
            return tuple(v)

        role = None
        ar = c.get("assume_role")
        if ar is not None:
            if not isinstance(ar, dict) or not isinstance(ar.get("role_arn"), str):
                raise StateError(
                    "The s3 backend's `assume_role` needs `role_arn`",
                    'For example: assume_role = { role_arn = "arn:aws:iam::123456789012:role/'
                    'state", session_name = "mlform", external_id = "..." }',
                )
            extra = set(ar) - {"role_arn", "session_name", "external_id", "duration_seconds"}
            if extra:
                raise StateError(
                    f"Unsupported argument {sorted(extra)[0]!r} in the s3 backend's assume_role",
                    "It takes role_arn, session_name, external_id and duration_seconds.",
                )
            role = AssumeRole(
                ar["role_arn"],
                str(ar.get("session_name") or "mlform"),
                ar.get("external_id"),
                int(ar["duration_seconds"]) if ar.get("duration_seconds") else None,
            )
        endpoints = dict(c.get("endpoints") or {})
        if c.get("endpoint"):
            endpoints.setdefault("s3", str(c["endpoint"]))
        return AwsSettings(
            region=c.get("region"),
            profile=c.get("profile"),
            access_key=c.get("access_key"),
            secret_key=c.get("secret_key"),
            token=c.get("token"),
            shared_config_files=strings("shared_config_files"),
            shared_credentials_files=strings("shared_credentials_files"),
            assume_role=role,
            endpoints={str(k): str(v) for k, v in endpoints.items() if v},
            max_retries=int(c["max_retries"]) if c.get("max_retries") is not None else None,
            use_path_style=bool(c.get("use_path_style")),
            where='backend "s3"',
        )

    # --- where things are -------------------------------------------------------------------

    def state_key(self, workspace: str = DEFAULT_WORKSPACE) -> str:
        validate_workspace_name(workspace)
        if workspace == DEFAULT_WORKSPACE:
            return self.key
        return f"{self.workspace_prefix}/{workspace}/{self.key}"

    def lock_key(self, workspace: str) -> str:
        return self.state_key(workspace) + ".lock"

    def journal_prefix(self, workspace: str) -> str:
        return self.state_key(workspace) + ".journal/"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def describe(self, workspace: str = DEFAULT_WORKSPACE) -> str:
        return self.url(self.state_key(workspace))

    # --- talking to S3 ----------------------------------------------------------------------

    def s3(self) -> Any:
        """The S3 client, the session opened and the bucket checked on first use."""
        with self._mu:
            if self._session is None:
                from mlform_aws.aws import AwsError, open_session

                try:
                    self._session = open_session(self._settings)
                except AwsError as exc:
                    raise StateError(exc.summary, exc.detail) from None
            client = self._session.client("s3")
            if not self._ready:
                self._check_bucket(client)
                self._ready = True
            return client

    def _check_bucket(self, client: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = client.get_bucket_versioning(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) == "NoSuchBucket":
                raise StateError(
                    f"The state bucket {self.bucket!r} does not exist",
                    "Create it, with versioning on (every serial of the state is kept as an "
                    "object version):\n"
                    f"  aws s3api create-bucket --bucket {self.bucket}\n"
                    f"  aws s3api put-bucket-versioning --bucket {self.bucket} "
                    "--versioning-configuration Status=Enabled",
                ) from None
            self._fail(exc, f"checking the versioning of bucket {self.bucket}")
        if got.get("Status") != "Enabled":
            raise StateError(
                f"Versioning is not enabled on the state bucket {self.bucket!r}",
                "mlform keeps every serial of the state as an object version: that is its "
                "history (mlform history, lineage, diff, reproduce), and it will not write a "
                "state whose history would be lost. Turn versioning on, then run again:\n"
                f"  aws s3api put-bucket-versioning --bucket {self.bucket} "
                "--versioning-configuration Status=Enabled",
            )

    def _fail(self, exc: BaseException, doing: str) -> NoReturn:
        from mlform_aws.aws import describe_error

        err = describe_error(exc, doing, self._session)
        raise StateError(err.summary, err.detail) from None

    def _extra_put_args(self) -> dict[str, Any]:
        c = self.config
        if c.get("kms_key_id"):
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": str(c["kms_key_id"])}
        if c.get("encrypt"):
            return {"ServerSideEncryption": "AES256"}
        return {}

    def get(self, key: str, version: str | None = None) -> tuple[bytes, str, str | None] | None:
        """An object's body, ETag and version id; None when it does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.s3()
        kw: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version is not None:
            kw["VersionId"] = version
        try:
            got = client.get_object(**kw)
            return got["Body"].read(), str(got["ETag"]), got.get("VersionId")
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            self._fail(exc, f"reading {self.url(key)}")

    def put(self, key: str, body: bytes, **conditions: Any) -> dict[str, Any] | None:
        """PutObject with `conditions` (IfMatch=ETag, IfNoneMatch="*"): the response, or None
        when a condition refused the write (the object changed, or exists)."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.s3()
        try:
            out: dict[str, Any] = client.put_object(
                Bucket=self.bucket, Key=key, Body=body, **conditions, **self._extra_put_args()
            )
            return out
        except (ClientError, BotoCoreError) as exc:
            code = _code(exc)
            if code in _CONFLICT or (conditions.get("IfMatch") and code in _NOT_FOUND):
                return None
            self._fail(exc, f"writing {self.url(key)}")

    def delete_version(self, key: str, version: str | None) -> None:
        """Delete one version of an object for good (no delete marker left)."""
        from botocore.exceptions import BotoCoreError, ClientError

        kw: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version is not None:
            kw["VersionId"] = version
        try:
            self.s3().delete_object(**kw)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in _NOT_FOUND:
                return
            self._fail(exc, f"deleting {self.url(key)}")

    def versions(self, prefix: str, delimiter: str | None = None) -> list[dict[str, Any]]:
        """Every version and delete marker under `prefix`, newest first per key; delete markers
        carry `"DeleteMarker": True`."""
        from botocore.exceptions import BotoCoreError, ClientError

        kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kw["Delimiter"] = delimiter
        out: list[dict[str, Any]] = []
        try:
            for page in self.s3().get_paginator("list_object_versions").paginate(**kw):
                out.extend(page.get("Versions") or [])
                out.extend({**m, "DeleteMarker": True} for m in page.get("DeleteMarkers") or [])
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"listing the versions under {self.url(prefix)}")
        return out

    def keys(self, prefix: str, limit: int | None = None) -> list[str]:
        """The keys of the current objects under `prefix`, in order."""
        from botocore.exceptions import BotoCoreError, ClientError

        kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if limit is not None:
            kw["PaginationConfig"] = {"MaxItems": limit}
        out: list[str] = []
        try:
            for page in self.s3().get_paginator("list_objects_v2").paginate(**kw):
                out.extend(str(o["Key"]) for o in page.get("Contents") or [])
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"listing {self.url(prefix)}")
        return out[:limit] if limit is not None else out

    def delete_all(self, versions: list[dict[str, Any]]) -> None:
        """Delete these versions (and delete markers) for good, 1000 per request."""
        from botocore.exceptions import BotoCoreError, ClientError

        items = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
        for i in range(0, len(items), 1000):
            try:
                got = self.s3().delete_objects(
                    Bucket=self.bucket, Delete={"Objects": items[i : i + 1000], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                self._fail(exc, f"deleting objects under {self.url(items[i]['Key'])}")
            errors = [e for e in got.get("Errors") or [] if e.get("Code") not in _NOT_FOUND]
            if errors:
                e = errors[0]
                raise StateError(
                    f"Could not delete {self.url(e.get('Key', ''))}: {e.get('Code')}",
                    str(e.get("Message", "")),
                )

    # --- state ------------------------------------------------------------------------------

    def _seal(self, text: str) -> str:
        if self.encryption is None:
            return text
        return self.encryption.seal_text(text, "state") + "\n"

    def _parse(self, raw: bytes, where: str) -> State:
        from mlform.state.encryption import is_envelope, open_bytes

        if self.encryption is not None or is_envelope(raw):
            raw = open_bytes(raw, self.encryption, "state", where)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StateError(
                f"The state {where} is corrupt",
                "It is not UTF-8 text; mlform will not overwrite it.",
            ) from None
        return load_text(text, where)

    def read(self, workspace: str = DEFAULT_WORKSPACE) -> State | None:
        key = self.state_key(workspace)
        got = self.get(key)
        if got is None:
            self._refuse_lost_state(workspace)
            self._seen[workspace] = (None, 0)
            return None
        raw, etag, version = got
        state = self._parse(raw, self.url(key))
        self._seen[workspace] = (etag, state.serial)
        if version:
            self._entries.setdefault(version, HistoryEntry.from_state(state))
        return state

    def _refuse_lost_state(self, workspace: str) -> None:
        """A state object deleted (a delete marker on top) while its versions are kept:
        starting afresh would plan every object again."""
        key = self.state_key(workspace)
        kept = [v for v in self.versions(key, "/") if v["Key"] == key and not v.get("DeleteMarker")]
        if not kept:
            return
        newest = max(kept, key=lambda v: v.get("LastModified") or 0)
        raise StateError(
            f"The state {self.url(key)} is missing, but the bucket keeps {len(kept)} earlier "
            "version(s) of it",
            "mlform will not start a new state over a kept history: it would plan every object "
            "again. Restore the latest version with\n"
            f"  aws s3api copy-object --bucket {self.bucket} --key {key} "
            f"--copy-source '{self.bucket}/{key}?versionId={newest['VersionId']}'\n"
            "or, to really start over, delete its versions first.",
        )

    def check_writable(self, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Credentials, the bucket and its versioning are checked before any provider is
        called (and the encryption's key, when configured)."""
        if self.encryption is not None:
            self.encryption.check_ready()
        self.s3()

    def write(self, workspace: str, state: State) -> None:
        key = self.state_key(workspace)
        if workspace not in self._seen:
            # Written without being read first: the condition is the state as it is now.
            self.read(workspace)
        etag, serial = self._seen[workspace]
        if state.serial <= serial:
            raise StateError(
                f"The history of {self.url(key)} already holds serial {state.serial}",
                f"The state there is serial {serial}. History versions are never rewritten. "
                "The state was not written; another run may have written this workspace "
                "without its lock.",
            )
        # Sealed before anything is written: a refusal (enforced encryption) changes nothing.
        body = self._seal(state_dumps(state)).encode("utf-8")
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        got = self.put(key, body, ContentType="application/json", **condition)
        if got is None:
            raise StateError(
                f"The state {self.url(key)} changed since this run read it",
                f"This run read serial {serial} and would have written serial {state.serial}, "
                "but another run wrote the state in between (without holding the lock, or "
                "after a force-unlock). Its write was refused so that neither update is lost. "
                "What this run did is kept in its journal, beside the state; run the command "
                "again to replay it on top of the current state.",
            )
        self._seen[workspace] = (str(got["ETag"]), state.serial)
        version = got.get("VersionId")
        if version:
            self._entries[version] = HistoryEntry.from_state(state)
            self._versions.setdefault(workspace, {})[state.serial] = version

    # --- history: the state object's versions -----------------------------------------------

    def _cache_file(self) -> Path | None:
        if self.encryption is not None:
            return None  # the entries name who applied what: not kept in the clear
        digest = hashlib.sha256(f"{self.bucket}/{self.key}".encode()).hexdigest()[:16]
        return self.workdir / ".mlform" / "s3-history" / f"{digest}.json"

    def _load_cache(self) -> None:
        path = self._cache_file()
        if path is None or getattr(self, "_cache_loaded", False):
            return
        self._cache_loaded = True
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for version, d in data.items():
                self._entries.setdefault(version, HistoryEntry(**d))
        except (OSError, ValueError, TypeError):
            return

    def _save_cache(self) -> None:
        path = self._cache_file()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({v: e.to_json() for v, e in self._entries.items()}, f, default=str)
            os.replace(tmp, path)
        except OSError:
            return  # only a cache

    def history(self, workspace: str = DEFAULT_WORKSPACE) -> list[HistoryEntry]:
        key = self.state_key(workspace)
        kept = [v for v in self.versions(key, "/") if v["Key"] == key and not v.get("DeleteMarker")]
        self._load_cache()
        missing = [str(v["VersionId"]) for v in kept if str(v["VersionId"]) not in self._entries]
        if missing:

            def fetch(version: str) -> tuple[str, HistoryEntry]:
                got = self.get(key, version)
                if got is None:
                    raise StateError(f"Version {version} of {self.url(key)} vanished while read")
                return version, HistoryEntry.from_state(
                    self._parse(got[0], f"{self.url(key)} (version {version})")
                )

            with ThreadPoolExecutor(max_workers=8) as pool:
                for version, entry in pool.map(fetch, missing):
                    self._entries[version] = entry
            self._save_cache()
        by_serial: dict[int, str] = {}
        out: list[HistoryEntry] = []
        for v in sorted(kept, key=lambda v: v.get("LastModified") or 0):
            version = str(v["VersionId"])
            entry = self._entries[version]
            if entry.serial in by_serial:
                continue  # the same serial written twice (a copy restored by hand): the first
            by_serial[entry.serial] = version
            out.append(entry)
        self._versions[workspace] = by_serial
        return sorted(out, key=lambda e: e.serial)

    def read_serial(self, workspace: str, serial: int) -> State:
        version = self._versions.get(workspace, {}).get(serial)
        if version is None:
            kept = [e.serial for e in self.history(workspace)]
            version = self._versions.get(workspace, {}).get(serial)
            if version is None:
                have = (
                    f"Serials kept: {kept[0]} to {kept[-1]}." if kept else "No history is kept yet."
                )
                raise StateError(
                    f"Serial {serial} is not in the history of workspace {workspace!r}", have
                )
        key = self.state_key(workspace)
        got = self.get(key, version)
        if got is None:
            raise StateError(
                f"Serial {serial} is not in the history of workspace {workspace!r}",
                f"Its version {version} of {self.url(key)} was deleted.",
            )
        return self._parse(got[0], f"{self.url(key)} (version {version}, serial {serial})")

    # --- journal ----------------------------------------------------------------------------

    def journal(self, workspace: str = DEFAULT_WORKSPACE) -> Journal:
        return S3Journal(self, self.journal_prefix(workspace), self.encryption)

    # --- locking ----------------------------------------------------------------------------

    def lock(self, workspace: str, info: LockInfo, timeout: float = 0.0) -> LockInfo:
        key = self.lock_key(workspace)
        info.path = self.describe(workspace)
        body = json.dumps(info.to_json(), indent=2).encode("utf-8")
        start = time.monotonic()
        deadline = start + max(0.0, timeout)
        while True:
            got = self.put(key, body, ContentType="application/json", IfNoneMatch="*")
            if got is not None:
                self._locks[info.id] = (key, got.get("VersionId"))
                return info
            holder = self.lock_info(workspace)
            if holder is None:
                continue  # released between the two calls: try again at once
            now = time.monotonic()
            if now >= deadline:
                raise lock_error(holder, now - start, self.describe(workspace))
            time.sleep(min(LOCK_POLL_SECONDS, deadline - now))

    def unlock(self, workspace: str, lock_id: str) -> None:
        held = self._locks.pop(lock_id, None)
        if held is None:
            return
        key, version = held
        try:
            # That version only: a lock force-unlocked and taken by another run since is not
            # this run's to remove.
            self.delete_version(key, version)
        except StateError as exc:
            notify(
                warning(
                    f"Could not release the state lock on {self.describe(workspace)}",
                    f"{exc}\n\nThe lock stays until it is removed: run\n"
                    f"  {force_unlock_command(lock_id)}",
                )
            )

    def _lock_record(self, workspace: str) -> tuple[LockInfo, str | None] | None:
        key = self.lock_key(workspace)
        got = self.get(key)
        if got is None:
            return None
        raw, etag, version = got
        try:
            info = LockInfo.from_json(json.loads(raw.decode("utf-8")))
            if not info.id:
                raise ValueError("no id")
        except (ValueError, TypeError, AttributeError):
            info = LockInfo(
                id=version or etag.strip('"'),
                operation="unknown (the lock object is not an mlform lock record)",
                who="unknown",
                pid=0,
                host="",
                created="",
                path=self.url(key),
            )
        return info, version

    def lock_info(self, workspace: str = DEFAULT_WORKSPACE) -> LockInfo | None:
        found = self._lock_record(workspace)
        return found[0] if found is not None else None

    def force_unlock(self, workspace: str, lock_id: str) -> None:
        found = self._lock_record(workspace)
        if found is None:
            raise StateError(
                "The state is not locked",
                f"There is no lock to remove (no {self.url(self.lock_key(workspace))}).",
            )
        current, version = found
        if current.id != lock_id:
            raise LockError(
                f"Lock ID {lock_id!r} does not match the lock held",
                f"{current.describe()}\n\nTo remove that lock, run "
                f"`{force_unlock_command(current.id)}`.",
                info=current,
            )
        # The version read: if that lock was released and another taken meanwhile, the new one
        # stays.
        self.delete_version(self.lock_key(workspace), version)

    # --- workspaces -------------------------------------------------------------------------

    def _marker_key(self, workspace: str) -> str:
        return self.state_key(workspace) + ".workspace"

    def workspaces(self) -> list[str]:
        prefix = self.workspace_prefix + "/"
        names: set[str] = set()
        for k in self.keys(prefix):
            name, _, rest = k[len(prefix) :].partition("/")
            if rest in (self.key, self.key + ".workspace") and name != DEFAULT_WORKSPACE:
                try:
                    names.add(validate_workspace_name(name))
                except StateError:
                    continue
        return [DEFAULT_WORKSPACE, *sorted(names)]

    def create_workspace(self, name: str) -> None:
        validate_workspace_name(name)
        if name in self.workspaces():
            raise StateError(
                f"Workspace {name!r} already exists",
                f"Select it with `mlform workspace select {name}`.",
            )
        self.put(self._marker_key(name), b"{}\n", IfNoneMatch="*")

    def delete_workspace(self, name: str, force: bool = False) -> None:
        validate_workspace_name(name)
        if name == DEFAULT_WORKSPACE:
            raise StateError("The default workspace cannot be deleted")
        if name not in self.workspaces():
            raise StateError(f"Workspace {name!r} does not exist")
        info = self.lock_info(name)
        if info is not None:
            raise LockError(
                f"Workspace {name!r} is locked by {info.who} ({info.operation})",
                info.describe(),
                info=info,
            )
        state = self.read(name)
        if not force:
            if state is not None and len(state) > 0:
                raise StateError(
                    f"Workspace {name!r} is not empty",
                    f"It manages {len(state)} object(s). Destroy them first "
                    "(`mlform destroy` in that workspace), or delete it anyway with `--force`, "
                    "which forgets them without destroying them.",
                )
            if self.journal(name).exists():
                raise StateError(
                    f"Workspace {name!r} has an unfinished operation",
                    "Its journal holds operations not yet folded into its state. Run a plan or "
                    "apply in it first, or delete it anyway with `--force`.",
                )
        sk = self.state_key(name)
        mine = [
            v
            for v in self.versions(sk)
            if v["Key"] in (sk, sk + ".lock", sk + ".workspace")
            or str(v["Key"]).startswith(sk + ".journal/")
        ]
        self.delete_all(mine)
        self._seen.pop(name, None)
        self._versions.pop(name, None)


class S3Journal(Journal):
    """The journal of one workspace in S3: the header is object `<prefix>0000000000`, and each
    group of entries made durable together is the next object (`IfNoneMatch="*"`, so two
    writers never overwrite each other's entries). An S3 PUT is atomic, so no entry is ever
    torn; `valid_length` (for `resume`) is the number of objects."""

    def __init__(self, backend: S3Backend, prefix: str, encryption: Any = None):
        super().__init__(Path(prefix), encryption)
        self.backend = backend
        self.prefix = prefix
        self.path = _S3Url(backend.url(prefix))  # type: ignore[assignment]  # for messages
        self._open = False
        self._next = 0
        self._lines: list[bytes] = []
        self._count = 0
        self._done = 0

    def _key(self, seq: int) -> str:
        return f"{self.prefix}{seq:0{SEQ_DIGITS}d}"

    def exists(self) -> bool:
        return bool(self.backend.keys(self.prefix, limit=1))

    def read(self) -> JournalContents | None:
        keys = [k for k in self.backend.keys(self.prefix) if k[len(self.prefix) :].isdigit()]
        if not keys:
            return None
        keys.sort()

        def fetch(key: str) -> tuple[str, bytes | None]:
            got = self.backend.get(key)
            return key, got[0] if got is not None else None

        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = [(k, b) for k, b in pool.map(fetch, keys) if b is not None]
        if not bodies:
            return None
        items: list[dict[str, Any]] = []
        for key, body in bodies:
            for n, line in enumerate(body.split(b"\n"), start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict):
                        raise ValueError("not an object")
                    if "mlform_encrypted" in item or self.encryption is not None:
                        item = self._open_line(line, n)
                except ValueError as exc:
                    raise StateError(
                        f"The state journal {self.backend.url(key)} is damaged at line {n}",
                        f"That line is not a journal entry ({exc}). The journal holds "
                        "operations that were done but not yet folded into the state. Inspect "
                        "it, repair or move it away, then run again; objects it recorded may "
                        "need `mlform import`.",
                    ) from None
                items.append(item)
        first_key = bodies[0][0]
        header = items[0] if items else {}
        if first_key != self._key(0) or header.get("mlform_journal") != JOURNAL_VERSION:
            raise StateError(
                f"{self.path} is not an mlform state journal this version can read",
                f"Its first object {self.backend.url(first_key)} holds "
                f"{json.dumps(header)[:200]}. Move it away if it is not mlform's, or use the "
                "mlform that wrote it.",
            )
        if "lineage" not in header:
            raise StateError(f"{self.path} has no header naming its state")
        last = int(keys[-1][len(self.prefix) :])
        return JournalContents(header=header, entries=items[1:], valid_length=last + 1)

    def start(self, lineage: str, serial: int, **extra: Any) -> dict[str, Any]:
        import uuid

        from mlform.state.format import dumps

        header: dict[str, Any] = {
            "mlform_journal": JOURNAL_VERSION,
            "id": str(uuid.uuid4()),
            "lineage": lineage,
            "serial": serial,
            **extra,
        }
        self._opened_at(0)
        self._put([self._line(dumps(header, pretty=False))])
        return header

    def resume(self, valid_length: int) -> None:
        self._opened_at(valid_length)

    def _opened_at(self, seq: int) -> None:
        with self._mu:
            self._open = True
            self._next = seq
            self._lines = []
            self._count = self._done = 0
            self._failure = None

    @property
    def is_open(self) -> bool:
        return self._open

    def _line(self, line: str) -> bytes:
        if self.encryption is not None:
            line = self.encryption.seal_text(line, "journal")
        return (line + "\n").encode("utf-8")

    def queue(self, line: str) -> int:
        if not self._open:
            raise RuntimeError("journal is not open")
        data = self._line(line)
        with self._mu:
            self._lines.append(data)
            self._count += 1
            return self._count

    def _put(self, lines: list[bytes]) -> None:
        """Write one object holding `lines` as the next in sequence; JournalError if not."""
        seq = self._next
        try:
            got = self.backend.put(self._key(seq), b"".join(lines), IfNoneMatch="*")
        except StateError as exc:
            self._failure = OSError(errno.EIO, f"{exc.summary} ({exc.detail})")
            raise JournalError(self._failure, self.path) from None
        if got is None:
            self._failure = OSError(
                errno.EEXIST,
                f"{self.backend.url(self._key(seq))} was written by another run",
            )
            raise JournalError(self._failure, self.path)
        self._next = seq + 1

    def make_durable(self, end: int) -> None:
        # One PUT at a time; the lines queued while it runs go out together in the next
        # (group commit).
        with self._wlock:
            if self._done >= end:
                return
            if self._failure is not None:
                raise JournalError(self._failure, self.path)
            with self._mu:
                lines, self._lines = self._lines, []
                upto = self._count
            if lines:
                self._put(lines)
            self._done = upto

    def write_and_sync_soon(self, end: int) -> None:
        self.make_durable(end)

    def close(self, sync: bool = True) -> None:
        if self._open and sync:
            try:
                self.make_durable(self._count)
            except JournalError:
                pass
        with self._mu:
            self._open = False
            self._lines = []

    def remove(self) -> None:
        self.close(sync=False)
        found = [v for v in self.backend.versions(self.prefix) if v["Key"] != self._key(0)]
        header = [v for v in self.backend.versions(self._key(0)) if v["Key"] == self._key(0)]
        # Entries first, the header last: a removal cut short leaves a header (whose id the
        # state names as folded) and never entries without one.
        self.backend.delete_all(found)
        self.backend.delete_all(header)
