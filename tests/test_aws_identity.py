"""The caller-identity probe (the first call of every run) retries a busy endpoint like every other call, and
gives up at once only on an endpoint that refuses the connection."""

from __future__ import annotations

import socket
import types
from typing import Iterator

import pytest

from shine_ops.aws import Aws, ConnectionOptions
from shine_ops.errors import AwsCallError, EndpointUnreachable
from shine_ops.testing.wire_proxy import WireProxy
from tests.e2e.conftest import moto_server  # noqa: F401  (shared fixture)


@pytest.fixture()
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry back-off waits up to seconds per attempt; the attempts themselves are what we test."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _s: None))


@pytest.fixture()
def sts_faults(moto_server: str) -> Iterator:  # noqa: F811
    proxies: list[WireProxy] = []

    def make(rate: float, seed: int = 0) -> WireProxy:
        p = WireProxy(moto_server, fault_rate=rate, seed=seed, services={"sts"}).start()
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.stop()


def test_identity_survives_thirty_percent_throttling_and_503s(sts_faults, no_backoff) -> None:
    proxy = sts_faults(0.3, seed=3)
    for _ in range(15):  # fifteen runs' first calls
        assert Aws(ConnectionOptions(endpoint_url=proxy.url, region="us-east-1")).identity()["Account"]
    assert sum(proxy.injected.values()) >= 3  # faults were answered, and retried past


def test_identity_retries_as_many_times_as_every_call(sts_faults, no_backoff, monkeypatch) -> None:
    monkeypatch.setenv("SHINE_OPS_MAX_ATTEMPTS", "4")
    proxy = sts_faults(1.0)
    aws = Aws(ConnectionOptions(endpoint_url=proxy.url, region="us-east-1"))
    with pytest.raises(AwsCallError) as err:
        aws.identity()
    assert err.value.code in ("Throttling", "ServiceUnavailable")
    assert proxy.injected["sts.GetCallerIdentity"] == 5  # 4 retries after the first attempt, as for ecs/elbv2 calls
    assert aws.calls.retries == 4


def test_a_refused_endpoint_fails_at_once() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    aws = Aws(ConnectionOptions(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1"))
    with pytest.raises(EndpointUnreachable, match="cannot reach"):
        aws.identity()
    # one attempt, no retry with back-off (counted, not timed: a loaded machine must not decide this test)
    assert aws.calls.to_json() == {"total": 1, "by_operation": {"sts.GetCallerIdentity": 1}, "retries": 0}
