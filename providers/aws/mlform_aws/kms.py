"""The `aws_kms` key provider of state encryption, as OpenTofu's (docs/state-encryption.md).

    key_provider "aws_kms" "main" {
      kms_key_id = "alias/mlform-state"    # a key id, key ARN, alias name or alias ARN
      region     = "us-east-1"             # else AWS_REGION or the profile's region
      key_spec   = "AES_256"               # the data key's size; AES-GCM needs 256 bits
      profile    = "ops"                   # optional; else the standard credential chain
      endpoint   = "https://kms.example"   # optional; else AWS_ENDPOINT_URL(_KMS)
    }

Encrypting, it asks KMS for a data key (GenerateDataKey, once per run): the plain key encrypts,
and the data key's ciphertext blob is recorded in clear in the envelope as the key's metadata
(`"kdf": {"name": "aws_kms", "key": "<ARN>", "blob": "<base64>"}`). Reading, it gives the blob
back to KMS (Decrypt, naming the configured key, so that a blob of another key is refused) and
gets the plain key. Plain keys live in this process's memory only. boto3 is imported when a key
is first needed, and every AWS error is a WrongKeyError saying what to do (never a botocore
traceback, and never a reason to take the state for damaged and replace it).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from typing import Any

from mlform.state.encryption import KeyMismatch, WrongKeyError
from mlform_aws.aws import AwsError, AwsSession, AwsSettings, describe_error, error_code

__all__ = ["AwsKmsKeyProvider"]

KEY_SPECS = {"AES_256": 32}
# What KMS answers when a blob was not made by the key named in Decrypt (AccessDenied: what it
# answers, and moto's stand-in too, when the blob's key is one the caller may not use).
_MISMATCH_CODES = {"IncorrectKeyException", "AccessDeniedException", "AccessDenied"}


class AwsKmsKeyProvider:
    """A key provider whose keys are data keys of an AWS KMS key."""

    kdf_name = "aws_kms"
    arguments: Mapping[str, bool] = {
        "kms_key_id": True,
        "region": False,
        "key_spec": False,
        "profile": False,
        "endpoint": False,
    }

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = [
            (name, f"`{name}` is a string.")
            for name in cls.arguments
            if name in config and not isinstance(config[name], str)
        ]
        if problems:
            return problems
        if not str(config.get("kms_key_id", "")).strip():
            problems.append(
                (
                    "kms_key_id",
                    "`kms_key_id` names a KMS key: a key id, a key ARN, an alias name "
                    '("alias/NAME") or an alias ARN.',
                )
            )
        spec = config.get("key_spec", "AES_256")
        if spec not in KEY_SPECS:
            problems.append(
                (
                    "key_spec",
                    f'`key_spec` is "AES_256" (it is "{spec}"): AES-GCM encrypts with 256-bit keys.',
                )
            )
        return problems

    def __init__(self, addr: str, config: Mapping[str, Any]):
        self.addr = addr
        self.kms_key_id = str(config["kms_key_id"])
        self.key_spec = str(config.get("key_spec") or "AES_256")
        endpoint = config.get("endpoint")
        self.settings = AwsSettings(
            region=config.get("region") or None,
            profile=config.get("profile") or None,
            endpoints={"kms": str(endpoint)} if endpoint else {},
            where=f'key_provider "aws_kms" "{addr.split(".", 1)[-1]}"',
        )
        self._session: AwsSession | None = None
        self._new: tuple[bytes, dict[str, Any]] | None = None
        self._keys: dict[str, bytes] = {}  # blob (base64) -> plain data key
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never a key
        return f"AwsKmsKeyProvider({self.addr!r}, {self.kms_key_id!r})"

    # -- the key provider protocol of mlform.state.encryption ------------------------------

    def check_ready(self) -> None:
        self.kdf()

    def kdf(self) -> dict[str, Any]:
        """The metadata of this run's data key, made now (GenerateDataKey) if not yet."""
        with self._lock:
            if self._new is None:
                doing = (
                    f"making a data key with the KMS key {self.kms_key_id} (kms:GenerateDataKey)"
                )
                got = self._call(
                    doing,
                    "generate_data_key",
                    KeyId=self.kms_key_id,
                    KeySpec=self.key_spec,
                )
                plain, blob = bytes(got["Plaintext"]), bytes(got["CiphertextBlob"])
                meta = {
                    "name": self.kdf_name,
                    "key": str(got.get("KeyId") or self.kms_key_id),
                    "blob": base64.b64encode(blob).decode("ascii"),
                }
                self._keys[meta["blob"]] = plain
                self._new = (plain, meta)
            return dict(self._new[1])

    def key(self, kdf: Mapping[str, Any]) -> bytes:
        """The plain data key of an envelope's metadata (KMS Decrypt with the configured key)."""
        blob_text = kdf.get("blob")
        if kdf.get("name") != self.kdf_name or not isinstance(blob_text, str):
            raise ValueError("its KMS data key is missing")
        try:
            blob = base64.b64decode(blob_text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("its KMS data key is not base64 text") from None
        with self._lock:
            found = self._keys.get(blob_text)
            if found is not None:
                return found
            doing = (
                f"decrypting the data key of {kdf.get('key', 'a KMS key')!s} with the KMS key "
                f"{self.kms_key_id} (kms:Decrypt)"
            )
            got = self._call(
                doing,
                "decrypt",
                mismatch=str(kdf.get("key", "another KMS key")),
                KeyId=self.kms_key_id,
                CiphertextBlob=blob,
            )
            plain = bytes(got["Plaintext"])
            self._keys[blob_text] = plain
            return plain

    # -- AWS -----------------------------------------------------------------------------------

    def _client(self) -> Any:
        from mlform_aws.aws import open_session

        if self._session is None:
            self._session = open_session(self.settings)
        return self._session.client("kms")

    def _call(self, doing: str, operation: str, mismatch: str = "", **kwargs: Any) -> Any:
        """`operation` of the KMS client; `mismatch`: the KMS key that made the data key being
        decrypted, when a refusal means that this is not that key (KeyMismatch)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client(), operation)(**kwargs)
        except AwsError as exc:
            raise WrongKeyError(
                f"Key provider {self.addr}: {exc.summary}",
                f"{exc.detail}\n\nNothing was read or changed.",
            ) from None
        except ClientError as exc:
            code = error_code(exc)
            err = describe_error(exc, doing, self._session)
            if mismatch and code in _MISMATCH_CODES:
                raise KeyMismatch(
                    f"KMS refused the data key ({code}): it was made by {mismatch}, not by "
                    f"{self.kms_key_id}, or this identity may not use it",
                    err.detail,
                ) from None
            if code in ("NotFoundException", "InvalidKeyUsageException", "DisabledException"):
                raise WrongKeyError(
                    f"Key provider {self.addr}: the KMS key {self.kms_key_id} cannot be used "
                    f"({code})",
                    f"While {doing}: {err.detail}\n\nCheck `kms_key_id` and `region` (a key "
                    "and its aliases live in one region); the key must be an enabled "
                    "symmetric encryption key. Nothing was read or changed.",
                ) from None
            raise WrongKeyError(
                f"Key provider {self.addr}: {err.summary}",
                f"{err.detail}\n\nmlform needs kms:GenerateDataKey (to write) and kms:Decrypt "
                "(to read) on the key. Nothing was read or changed.",
            ) from None
        except BotoCoreError as exc:
            # Not a reason to think the state damaged (`state push --force`): the key is
            # out of reach, which is a key problem.
            err = describe_error(exc, doing, self._session)
            raise WrongKeyError(
                f"Key provider {self.addr}: {err.summary}",
                f"{err.detail}\n\nNothing was read or changed.",
            ) from None
