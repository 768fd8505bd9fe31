"""Fixtures for the topology tests: an in-process moto account and plain boto3 clients to build it.

Seeding goes through boto3 clients (not the ``Aws`` under test) so that ``aws.calls`` counts only what the
collector itself does.
"""

from __future__ import annotations

import os

import pytest


_LOADERS: dict = {}


@pytest.fixture
def shared_botocore_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: every botocore Session (ours and the product's ``Aws``) gets the same data loader, so the
    service models (EC2's alone is megabytes of JSON) are parsed once per test run, not once per test.
    botocore already shares one loader between all clients of a session; this shares it between sessions."""
    import botocore.loaders
    import botocore.session

    def create_loader(search_path_string=None):
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return _LOADERS[search_path_string]

    monkeypatch.setattr(botocore.session, "create_loader", create_loader)


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch, shared_botocore_loader: None) -> None:
    """Dummy credentials; nothing configured that could route a call to a real account or endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "SHINE_OPS_MAX_ATTEMPTS", "MOTO_ECS_SERVICE_RUNNING", "MOTO_ECS_SERVICE_FAILED_TASKS"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def mocked(moto_env: None):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def aws(mocked: None):
    """The ``Aws`` the collector uses (a fresh call counter)."""
    from shine_ops.aws import Aws, ConnectionOptions

    return Aws(ConnectionOptions(region="us-east-1"))


@pytest.fixture
def clients(mocked: None) -> dict:
    """Plain boto3 clients for seeding (their calls are not counted in ``aws.calls``)."""
    import boto3

    return {name: boto3.client(name, region_name="us-east-1")
            for name in ("ec2", "elbv2", "ecs", "route53")}
