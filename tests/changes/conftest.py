"""In-process moto (no server, no subprocess): an account, a journal, and a recorder of mutating calls."""

from __future__ import annotations

import pytest
from moto import mock_aws

from shine_ops.fixes.journal import Journal

READS = ("Describe", "List", "Get")


@pytest.fixture()
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("SHINE_OPS_FAULT_AFTER_CHANGES", raising=False)
    monkeypatch.delenv("SHINE_OPS_KILL_AFTER_CALL", raising=False)
    with mock_aws():
        from shine_ops.aws import Aws, ConnectionOptions

        yield Aws(ConnectionOptions(region="us-east-1"))


@pytest.fixture()
def journal(tmp_path):
    return Journal(tmp_path / "journal.db")


@pytest.fixture()
def calls(aws, monkeypatch):
    """Every mutating call made through ``aws``, as ``service.Operation``, in order."""
    made: list[str] = []
    real = aws.call

    def call(service, operation, /, **params):
        if not operation.startswith(READS):
            made.append(f"{service}.{operation}")
        return real(service, operation, **params)

    monkeypatch.setattr(aws, "call", call)
    return made
