"""One AWS connection, as the provider and the S3 backend both need it: a boto3 session from
the settings an AWS user expects (region, profile, static keys, the standard credential chain,
an assumed role, endpoint overrides), and errors a user can act on instead of botocore
tracebacks.

boto3 is imported only inside these functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

# Services whose endpoint a user may override (`endpoints { s3 = "..." }`), by the name the
# setting takes; the value is boto3's client name.
ENDPOINT_SERVICES: dict[str, str] = {
    "s3": "s3",
    "sts": "sts",
    "ec2": "ec2",
    "iam": "iam",
    "elbv2": "elbv2",
    "autoscaling": "autoscaling",
    "pricing": "pricing",
    "ssm": "ssm",
    "logs": "logs",
}


class AwsError(Exception):
    """Talking to AWS failed in a way the user can fix: `summary` says what, `detail` what to
    do next. The provider turns it into a diagnostic, the backend into a StateError."""

    def __init__(self, summary: str, detail: str = "", *, retryable: bool = False):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.summary}\n\n{self.detail}" if self.detail else self.summary


@dataclass(frozen=True)
class AssumeRole:
    role_arn: str
    session_name: str = "mlform"
    external_id: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True)
class AwsSettings:
    """What a `provider "aws"` or `backend "s3"` block says about the connection."""

    region: str | None = None
    profile: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    shared_config_files: tuple[str, ...] = ()
    shared_credentials_files: tuple[str, ...] = ()
    assume_role: AssumeRole | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    max_retries: int | None = None
    use_path_style: bool = False
    # Where these settings come from, for messages: 'provider "aws"', 'backend "s3"'.
    where: str = 'provider "aws"'


def _expand(paths: tuple[str, ...]) -> str:
    return os.pathsep.join(os.path.expanduser(p) for p in paths)


def tried_sources(settings: AwsSettings) -> str:
    """The places the standard credential chain looked, in its order, for messages."""
    profile = settings.profile or os.environ.get("AWS_PROFILE") or "default"
    cred_files = (
        _expand(settings.shared_credentials_files)
        if settings.shared_credentials_files
        else os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    )
    conf_files = (
        _expand(settings.shared_config_files)
        if settings.shared_config_files
        else os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    )
    lines = []
    if settings.access_key or settings.secret_key:
        lines.append(f"- access_key / secret_key in {settings.where}")
    if not settings.profile:
        lines.append(
            "- environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            f"({'set' if os.environ.get('AWS_ACCESS_KEY_ID') else 'not set'})"
        )
    lines.append(f"- profile {profile!r} in the shared credentials file {cred_files}")
    lines.append(
        f"- profile {profile!r} in the config file {conf_files} (including SSO and process credentials)"
    )
    lines.append(
        "- web identity (AWS_WEB_IDENTITY_TOKEN_FILE "
        f"{'set' if os.environ.get('AWS_WEB_IDENTITY_TOKEN_FILE') else 'not set'})"
    )
    lines.append(
        "- container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI "
        f"{'set' if os.environ.get('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI') or os.environ.get('AWS_CONTAINER_CREDENTIALS_FULL_URI') else 'not set'})"
    )
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        lines.append("- EC2 instance metadata: skipped (AWS_EC2_METADATA_DISABLED=true)")
    else:
        lines.append("- EC2 instance metadata (IMDS): no instance role answered")
    return "\n".join(lines)


_METHODS = {
    "explicit": "access_key / secret_key in the configuration",
    "env": "the environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the config file",
    "custom-process": "a credential_process in the config file",
    "sso": "AWS SSO (IAM Identity Center)",
    "assume-role": "a role assumed by the profile",
    "assume-role-with-web-identity": "web identity",
    "container-role": "container credentials",
    "iam-role": "the EC2 instance role (instance metadata)",
}


class AwsSession:
    """A configured boto3 session: clients by service, with the endpoint overrides, path-style
    S3 addressing where an endpoint is overridden, and the configured retries."""

    def __init__(self, settings: AwsSettings, session: boto3.Session, source: str):
        self.settings = settings
        self.session = session
        # What the credentials came from, as a user would name it.
        self.source = source
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def endpoint(self, service: str) -> str | None:
        """The configured endpoint of a service; None: boto3's own resolution, which honours
        AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>."""
        return self.settings.endpoints.get(service) or None

    def client(self, service: str) -> Any:
        with self._lock:
            found = self._clients.get(service)
            if found is None:
                from botocore.config import Config

                options: dict[str, Any] = {"connect_timeout": 10, "read_timeout": 60}
                if self.settings.max_retries is not None:
                    options["retries"] = {
                        "max_attempts": self.settings.max_retries,
                        "mode": "standard",
                    }
                endpoint = self.endpoint(service)
                if service == "s3" and (
                    self.settings.use_path_style
                    or endpoint
                    or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL")
                ):
                    # A stand-in or an S3-compatible store on an address, not a bucket's
                    # virtual host name.
                    options["s3"] = {"addressing_style": "path"}
                found = self.session.client(
                    service,
                    endpoint_url=endpoint,
                    config=Config(**options),
                )
                self._clients[service] = found
            return found

    def caller_identity(self) -> dict[str, str]:
        """STS GetCallerIdentity: proves the credentials work; gives the account."""
        with aws_errors(self, "checking the credentials (sts:GetCallerIdentity)"):
            got = self.client("sts").get_caller_identity()
        return {"account": str(got["Account"]), "arn": str(got["Arn"])}


_SESSIONS: dict[str, AwsSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _session_key(settings: AwsSettings) -> str:
    # The settings and the environment the credential chain reads: the same key means the
    # same credentials and endpoints, so the session (and its clients, slow to make) is shared.
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))
    return repr((settings, env))


def open_session(settings: AwsSettings) -> AwsSession:
    """A boto3 session for `settings`, its credentials found (and a role assumed) now; one
    per process for the same settings and environment.

    Raises AwsError when there is no region, no profile of that name, or no credentials,
    naming what was tried."""
    key = _session_key(settings)
    with _SESSIONS_LOCK:
        found = _SESSIONS.get(key)
    if found is not None:
        return found
    made = _open_session(settings)
    if settings.assume_role is not None:
        return made  # a role's credentials expire: a later run assumes it afresh
    with _SESSIONS_LOCK:
        return _SESSIONS.setdefault(key, made)


def _open_session(settings: AwsSettings) -> AwsSession:
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    env_backup: dict[str, str | None] = {}
    if settings.shared_config_files:
        env_backup["AWS_CONFIG_FILE"] = os.environ.get("AWS_CONFIG_FILE")
        os.environ["AWS_CONFIG_FILE"] = _expand(settings.shared_config_files)
    if settings.shared_credentials_files:
        env_backup["AWS_SHARED_CREDENTIALS_FILE"] = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = _expand(settings.shared_credentials_files)
    try:
        try:
            session = boto3.Session(
                aws_access_key_id=settings.access_key,
                aws_secret_access_key=settings.secret_key,
                aws_session_token=settings.token,
                profile_name=settings.profile,
                region_name=settings.region,
            )
        except ProfileNotFound:
            raise AwsError(
                f"The AWS profile {settings.profile!r} was not found",
                f"{settings.where} names profile {settings.profile!r}, but no config or "
                "credentials file defines it. Profiles are read from "
                f"{os.environ.get('AWS_CONFIG_FILE', '~/.aws/config')} and "
                f"{os.environ.get('AWS_SHARED_CREDENTIALS_FILE', '~/.aws/credentials')}. "
                "Create it (`aws configure --profile NAME`) or fix the name.",
            ) from None
        if not session.region_name:
            raise AwsError(
                "The AWS region is not set",
                f'Set `region` in {settings.where} (for example region = "us-east-1"), the '
                "environment variable AWS_REGION, or a region in the profile's config.",
            )
        try:
            creds = session.get_credentials()
        except BotoCoreError as exc:
            raise AwsError(
                "The AWS credentials could not be loaded",
                f"{exc}\n\nmlform looked in:\n{tried_sources(settings)}",
            ) from None
        if creds is None:
            raise AwsError(
                "No AWS credentials found",
                f"mlform looked for credentials for {settings.where} in:\n"
                f"{tried_sources(settings)}\n\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "name a profile (`profile` or AWS_PROFILE; `aws sso login` for SSO profiles), "
                "or run where an instance or container role is available.",
            )
        method = str(getattr(creds, "method", "") or "")
        source = _METHODS.get(method, method or "the credential chain")
        if settings.profile and method in ("shared-credentials-file", "config-file"):
            source = f"profile {settings.profile!r} ({source})"
    finally:
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    base = AwsSession(settings, session, source)
    if settings.assume_role is None:
        return base
    return _assume(base, settings.assume_role)


def _assume(base: AwsSession, role: AssumeRole) -> AwsSession:
    import boto3

    kwargs: dict[str, Any] = {
        "RoleArn": role.role_arn,
        "RoleSessionName": role.session_name or "mlform",
    }
    if role.external_id:
        kwargs["ExternalId"] = role.external_id
    if role.duration_seconds:
        kwargs["DurationSeconds"] = role.duration_seconds
    with aws_errors(base, f"assuming the role {role.role_arn}"):
        got = base.client("sts").assume_role(**kwargs)
    c = got["Credentials"]
    session = boto3.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=base.region,
    )
    return AwsSession(base.settings, session, f"role {role.role_arn} (assumed with {base.source})")


# Error codes that mean the credentials themselves are wrong, expired or not allowed.
_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidToken",
}
_THROTTLING = {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded"}


def error_code(exc: BaseException) -> str:
    """A botocore ClientError's code ("NoSuchKey", "PreconditionFailed"), else ""."""
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", "") or "")
    return ""


def http_status(exc: BaseException) -> int:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return int(resp.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def describe_error(exc: BaseException, doing: str, session: AwsSession | None) -> AwsError:
    """A botocore exception as an AwsError saying what failed while `doing` what, and what to
    do next."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    settings = session.settings if session is not None else AwsSettings()
    source = session.source if session is not None else "the credential chain"
    if isinstance(exc, NoCredentialsError):
        return AwsError(
            "No AWS credentials found",
            f"While {doing}. mlform looked in:\n{tried_sources(settings)}",
        )
    if isinstance(exc, NoRegionError):
        return AwsError(
            "The AWS region is not set",
            f"While {doing}. Set `region` in {settings.where} or AWS_REGION.",
        )
    if isinstance(exc, EndpointConnectionError):
        return AwsError(
            f"Could not reach AWS while {doing}",
            f"{exc}. Check the network, the region, and any endpoint override "
            "(`endpoints`, AWS_ENDPOINT_URL). If you use `mlform-standin aws`, is it running?",
            retryable=True,
        )
    if isinstance(exc, ClientError):
        code = error_code(exc)
        msg = str(exc.response.get("Error", {}).get("Message", "") or code)
        if code in _CREDENTIAL_CODES:
            return AwsError(
                f"The AWS credentials were refused ({code}) while {doing}",
                f"{msg}\n\nThe credentials came from {source}. They are wrong, expired or "
                "revoked: renew them (`aws sso login`, new access keys, a fresh session "
                f"token), or point {settings.where} at other ones.\n\nThe credential chain "
                f"looks in:\n{tried_sources(settings)}",
            )
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return AwsError(
                f"Access denied while {doing}",
                f"{msg}\n\nThe credentials came from {source}. Grant that identity the "
                "permission named above (docs/providers/aws.md lists what mlform needs).",
            )
        if code in _THROTTLING or http_status(exc) >= 500:
            return AwsError(
                f"AWS answered {code or http_status(exc)} while {doing}",
                f"{msg}. This is usually temporary: run the command again.",
                retryable=True,
            )
        return AwsError(f"AWS refused the request while {doing}: {code}", msg)
    return AwsError(f"Talking to AWS failed while {doing}", str(exc) or type(exc).__name__)


@contextmanager
def aws_errors(session: AwsSession | None, doing: str) -> Iterator[None]:
    """Turn botocore's exceptions inside the block into an AwsError (see describe_error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise describe_error(exc, doing, session) from None
