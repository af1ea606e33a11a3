"""The AWS provider's configuration: credentials from the standard chain or a role, identity
(account and region), account guards, endpoint overrides, and diagnostics instead of botocore
tracebacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlform_aws.aws import AwsSettings, describe_error
from mlform_aws.provider import AwsConfig, AwsProvider

from mlform.sdk import Context, ProviderError
from mlform.sdk.schema import parse_model

MOTO_ACCOUNT = "123456789012"


def configured(tmp_path: Path, **config: Any) -> AwsProvider:
    p = AwsProvider()
    ctx = Context(
        address='provider["aws"]',
        module_dir=tmp_path,
        data_dir=tmp_path / ".mlform",
        scratch_dir=tmp_path / "tmp",
    )
    p.configure(parse_model(AwsConfig, config), ctx)
    return p


def test_identity_is_the_account_and_the_region(standin: Any, tmp_path: Path) -> None:
    p = configured(tmp_path, region="eu-west-1")
    assert p.identity() == {"account": MOTO_ACCOUNT, "region": "eu-west-1"}
    assert p.session.source.startswith("the environment variables")
    # The region from the environment when the block names none.
    assert configured(tmp_path).identity()["region"] == standin.region


def test_assume_role(standin: Any, tmp_path: Path) -> None:
    role = "arn:aws:iam::111122223333:role/mlform-deploy"
    p = configured(
        tmp_path,
        region="us-east-1",
        assume_role={"role_arn": role, "session_name": "ci", "external_id": "x-1"},
    )
    assert p.identity() == {"account": "111122223333", "region": "us-east-1"}
    assert role in p.session.source


def test_account_guards(standin: Any, tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=f"account {MOTO_ACCOUNT} is not allowed"):
        configured(tmp_path, region="us-east-1", allowed_account_ids=["999999999999"])
    with pytest.raises(ProviderError, match="is forbidden"):
        configured(tmp_path, region="us-east-1", forbidden_account_ids=[MOTO_ACCOUNT])
    configured(tmp_path, region="us-east-1", allowed_account_ids=[MOTO_ACCOUNT])


def test_endpoint_override_is_used(standin: Any, tmp_path: Path) -> None:
    nowhere = "http://127.0.0.1:9"  # nothing listens there
    p = configured(
        tmp_path,
        region="us-east-1",
        endpoints={"sts": nowhere},
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
    )
    assert p.session.client("sts").meta.endpoint_url == nowhere
    assert p.identity() == {"region": "us-east-1"}
    with pytest.raises(ProviderError, match="Could not reach AWS") as err:
        configured(tmp_path, region="us-east-1", endpoints={"sts": nowhere}, max_retries=1)
    assert "mlform-standin aws" in err.value.detail


def test_default_tags(standin: Any, tmp_path: Path) -> None:
    p = configured(tmp_path, region="us-east-1", default_tags={"tags": {"team": "ml"}})
    assert p.tags("cluster.gpu", {"owner": "ana"}) == {
        "team": "ml",
        "owner": "ana",
        "mlform:address": "cluster.gpu",
    }


def test_missing_credentials_name_what_was_tried(
    standin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(ProviderError) as err:
        configured(tmp_path, region="us-east-1")
    e = err.value
    assert e.summary == "No AWS credentials found"
    for tried in ("AWS_ACCESS_KEY_ID", "profile 'default'", "instance metadata", "container"):
        assert tried in e.detail


def test_an_unknown_profile(standin: Any, tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="The AWS profile 'nope' was not found"):
        configured(tmp_path, region="us-east-1", profile="nope")


def test_a_profile_from_named_files(
    standin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    creds = tmp_path / "credentials"
    creds.write_text("[ml]\naws_access_key_id = AKIDML\naws_secret_access_key = s\n")
    p = configured(
        tmp_path, region="us-east-1", profile="ml", shared_credentials_files=[str(creds)]
    )
    assert p.identity()["account"] == MOTO_ACCOUNT
    assert "profile 'ml'" in p.session.source


def test_refused_credentials_say_where_they_came_from() -> None:
    from botocore.exceptions import ClientError

    exc = ClientError(
        {
            "Error": {"Code": "InvalidClientTokenId", "Message": "The security token is invalid."},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "GetCallerIdentity",
    )
    err = describe_error(exc, "checking the credentials", None)
    assert "refused (InvalidClientTokenId)" in err.summary
    assert "The security token is invalid." in err.detail and "renew them" in err.detail
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "no s3:GetObject"}}, "GetObject"
    )
    assert "Access denied" in describe_error(denied, "reading", None).summary
    assert AwsSettings().where == 'provider "aws"'


CONFIG = """
provider "aws" {
  region = "us-east-1"
}
provider "aws" {
  alias   = "west"
  region  = "us-west-2"
  profile = "%s"
}
resource "test_object" "a" { value = "x" }
"""


def test_aliases_through_the_cli(checkout: Any) -> None:
    c = checkout("p")
    c.write(CONFIG % "missing-profile")
    res = c("plan")
    assert res.code == 1 and "Traceback" not in res.all, str(res)
    assert "The AWS profile 'missing-profile' was not found" in res.err
    assert 'provider["aws"].west' in res.err and "line 5" in res.err
    # A named profile takes its credentials from the files, not from the environment.
    (c.path / "aws.ini").write_text(
        "[profile west]\naws_access_key_id = AKIDWEST\naws_secret_access_key = s\n"
    )
    c.write(CONFIG % "west")
    c.ok("plan", env={"AWS_CONFIG_FILE": str(c.path / "aws.ini")})
