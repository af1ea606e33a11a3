"""The AWS provider class: its configuration (as AWS users expect it) and its table of kinds.

    provider "aws" {
      region  = "us-east-1"
      profile = "ml"                        # or the standard credential chain
      assume_role {
        role_arn     = "arn:aws:iam::123456789012:role/mlform"
        session_name = "ci"
        external_id  = "..."
      }
      default_tags { tags = { team = "ml" } }
      endpoints { s3 = "http://127.0.0.1:4566" }   # any service: s3, sts, ec2, iam, ...
      artifacts { bucket = "acme-ml-artifacts", prefix = "mlform/" }   # where datasets go
    }

`configure` finds the credentials and, unless `skip_credentials_validation`, proves them with
STS GetCallerIdentity, so wrong or missing credentials are a diagnostic at plan time naming
what was tried. The provider's identity is the account and the region.

boto3 is imported only when a configuration uses this provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from mlform.sdk import Context, Kind, Model, Provider, arg, block
from mlform.sdk.contract import ConfigError, ProviderError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mlform_aws.aws import AwsSession, AwsSettings


class AssumeRoleConfig(Model):
    """`assume_role { ... }`: act as this role, with the credentials found as the source."""

    role_arn: str = arg(description="The ARN of the role to assume.")
    session_name: str = arg("mlform", description="The role session's name (shown in CloudTrail).")
    external_id: str | None = arg(
        None, sensitive=True, description="The external ID the role's trust policy requires."
    )
    duration_seconds: int | None = arg(
        None, description="How long the role's credentials last (900 to 43200 seconds)."
    )


class DefaultTagsConfig(Model):
    """`default_tags { tags = {...} }`: tags on every object mlform creates on AWS."""

    tags: dict[str, str] = arg(default_factory=dict, description="Tag names and values.")


class EndpointsConfig(Model):
    """`endpoints { ... }`: another URL for a service (a stand-in, a VPC endpoint, LocalStack)."""

    s3: str | None = arg(None, description="S3.")
    sts: str | None = arg(None, description="STS (credentials checks, assume_role).")
    ec2: str | None = arg(None, description="EC2.")
    iam: str | None = arg(None, description="IAM.")
    elbv2: str | None = arg(None, description="Elastic Load Balancing v2.")
    autoscaling: str | None = arg(None, description="Auto Scaling.")
    pricing: str | None = arg(None, description="The Price List API.")
    ssm: str | None = arg(None, description="Systems Manager.")
    logs: str | None = arg(None, description="CloudWatch Logs.")


class ArtifactsConfig(Model):
    """`artifacts { bucket = "...", prefix = "mlform/" }`: where mlform keeps what it stores
    in S3 (dataset files by sha256, snapshot manifests)."""

    bucket: str = arg(description="The S3 bucket (it must exist; mlform does not create it).")
    prefix: str = arg("mlform/", description="The key prefix of everything mlform stores there.")


class AwsConfig(Model):
    """Settings of `provider "aws" { ... }`, named as in Terraform's AWS provider."""

    region: str | None = arg(
        None, description="The region. Unset: AWS_REGION, AWS_DEFAULT_REGION or the profile's."
    )
    profile: str | None = arg(
        None, description="A named profile of the shared config and credentials files."
    )
    access_key: str | None = arg(
        None, sensitive=True, description="A static access key ID (prefer a profile or a role)."
    )
    secret_key: str | None = arg(None, sensitive=True, description="The static secret key.")
    token: str | None = arg(None, sensitive=True, description="A session token for static keys.")
    shared_config_files: list[str] = arg(
        default_factory=list, description="Config files to read instead of ~/.aws/config."
    )
    shared_credentials_files: list[str] = arg(
        default_factory=list,
        description="Credentials files to read instead of ~/.aws/credentials.",
    )
    assume_role: AssumeRoleConfig | None = block(description="A role to assume.")
    default_tags: DefaultTagsConfig | None = block(
        description="Tags on every object mlform creates."
    )
    endpoints: EndpointsConfig | None = block(description="Endpoint overrides by service.")
    artifacts: ArtifactsConfig | None = block(
        description="The S3 bucket (and key prefix) where datasets are stored."
    )
    max_retries: int | None = arg(
        None, description="Attempts per AWS call on throttling and server errors."
    )
    allowed_account_ids: list[str] = arg(
        default_factory=list, description="Refuse to run in any other account."
    )
    forbidden_account_ids: list[str] = arg(
        default_factory=list, description="Refuse to run in these accounts."
    )
    skip_credentials_validation: bool = arg(
        False, description="Do not call STS GetCallerIdentity when configuring."
    )
    skip_requesting_account_id: bool = arg(
        False,
        description="Do not look up the account ID (the identity then names the region only).",
    )


def settings_of(config: AwsConfig, where: str = 'provider "aws"') -> AwsSettings:
    from mlform_aws.aws import AssumeRole, AwsSettings

    role = None
    if config.assume_role is not None:
        r = config.assume_role
        role = AssumeRole(r.role_arn, r.session_name, r.external_id, r.duration_seconds)
    endpoints = (
        {k: v for k, v in config.endpoints.model_dump().items() if v}
        if config.endpoints is not None
        else {}
    )
    return AwsSettings(
        region=config.region,
        profile=config.profile,
        access_key=config.access_key,
        secret_key=config.secret_key,
        token=config.token,
        shared_config_files=tuple(config.shared_config_files),
        shared_credentials_files=tuple(config.shared_credentials_files),
        assume_role=role,
        endpoints=endpoints,
        max_retries=config.max_retries,
        where=where,
    )


def _kinds() -> dict[str, type[Kind]]:
    # A portable kind is registered here only once it works on AWS (environment, cluster,
    # training_job and deployment are not built yet). The kinds' modules import no boto3.
    from mlform_aws.dataset import DatasetKind

    return {"dataset": DatasetKind}


# The docstring opens this provider's section of docs/resources.md.
class AwsProvider(Provider):
    """Amazon Web Services: S3, EC2 and load balancers, through boto3.

    Its configuration follows Terraform's AWS provider (region, profile, the standard
    credential chain, assume_role, default_tags, endpoints). A `dataset` is stored in the
    bucket named by `artifacts { bucket = "..." }`: a local folder uploaded content-addressed
    (only the files not there yet), an `s3://` source listed at plan (key, size, ETag, version
    id) and never downloaded. The other portable kinds are not implemented on AWS yet. Its
    guide: [docs/providers/aws.md](providers/aws.md).
    """

    name = "aws"
    version = "0.1.0"
    config = AwsConfig
    kinds: ClassVar[Mapping[str, type[Kind]]] = _kinds()

    def __init__(self) -> None:
        super().__init__()
        self._session: AwsSession | None = None
        self._account: str | None = None
        self._arn: str | None = None
        self._default_tags: dict[str, str] = {}

    def configure(self, config: BaseModel, ctx: Context) -> None:
        from mlform_aws.aws import AwsError, open_session

        super().configure(config, ctx)
        assert isinstance(config, AwsConfig)
        self._default_tags = dict(config.default_tags.tags) if config.default_tags else {}
        name = ctx.address
        try:
            self._session = open_session(settings_of(config, where=name))
        except AwsError as exc:
            raise ProviderError(exc.summary, exc.detail, retryable=exc.retryable) from None
        if not (config.skip_credentials_validation and config.skip_requesting_account_id):
            try:
                who = self._session.caller_identity()
            except AwsError as exc:
                if not config.skip_credentials_validation:
                    raise ProviderError(exc.summary, exc.detail, retryable=exc.retryable) from None
            else:
                self._account, self._arn = who["account"], who["arn"]
        account = self._account
        if account is not None:
            if config.allowed_account_ids and account not in config.allowed_account_ids:
                raise ConfigError(
                    f"AWS account {account} is not allowed by {name}",
                    f"The credentials ({self._session.source}) act in account {account} as "
                    f"{self._arn}; allowed_account_ids lists "
                    f"{', '.join(config.allowed_account_ids)}. Use credentials for an allowed "
                    "account.",
                    attribute="allowed_account_ids",
                )
            if account in config.forbidden_account_ids:
                raise ConfigError(
                    f"AWS account {account} is forbidden by {name}",
                    f"The credentials ({self._session.source}) act in account {account} as "
                    f"{self._arn}, which forbidden_account_ids lists.",
                    attribute="forbidden_account_ids",
                )

    @property
    def session(self) -> AwsSession:
        """The configured AWS session (clients: `provider.session.client("s3")`)."""
        if self._session is None:
            raise ProviderError("The AWS provider is not configured")
        return self._session

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def identity(self) -> dict[str, str]:
        """The account (from STS GetCallerIdentity) and the region."""
        if self._session is None:
            return {}
        out = {"region": self._session.region}
        if self._account:
            out["account"] = self._account
        return out

    def offers(self) -> list[Any]:
        """The EC2 instance types of the catalog shipped with this package, with their prices
        (`mlform_aws.offers`); read without boto3 or credentials."""
        from mlform_aws.offers import load_offers

        return list(load_offers())

    def tags(self, address: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The tags an object made for `address` carries: the default tags, the object's own,
        and `mlform:address`, so that what mlform made is found (and removed) by its tags."""
        out = dict(self._default_tags)
        out.update(extra or {})
        out["mlform:address"] = address
        return out
