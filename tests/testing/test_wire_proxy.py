"""The wire proxy answers throttling and 503s in each service's own wire protocol, so that a real boto3 client
reads the error code a real endpoint would send, and botocore's retry logic retries it."""

from __future__ import annotations

import socket
import threading
import time
import types
import urllib.request
from typing import Any, Iterator

import pytest

from shine_ops.testing.wire_proxy import WireProxy
from tests.e2e.conftest import moto_server  # noqa: F401  (shared fixture: a plain ThreadedMotoServer)

# service -> (one read call, the wire protocol botocore speaks for it, the throttling code a client must read)
CASES: dict[str, tuple[str, dict, str, str]] = {
    "ec2": ("describe_vpcs", {}, "ec2", "RequestLimitExceeded"),
    "elbv2": ("describe_load_balancers", {}, "query", "Throttling"),
    "sts": ("get_caller_identity", {}, "query", "Throttling"),
    "ecs": ("list_clusters", {}, "json", "ThrottlingException"),
    "acm": ("list_certificates", {}, "json", "ThrottlingException"),
    "logs": ("describe_log_groups", {}, "json", "ThrottlingException"),
    # CloudWatch's model lists smithy-rpc-v2-cbor, json and query; botocore speaks json, query-compatible
    "cloudwatch": ("list_metrics", {}, "json", "Throttling"),
    "route53": ("list_hosted_zones", {}, "rest-xml", "Throttling"),
    "s3": ("list_buckets", {}, "rest-xml", "SlowDown"),
    "scheduler": ("list_schedules", {}, "rest-json", "ThrottlingException"),
}
UNAVAILABLE = {"ec2": "Unavailable", "elbv2": "ServiceUnavailable", "ecs": "ServiceUnavailableException",
               "cloudwatch": "ServiceUnavailable", "route53": "ServiceUnavailable", "logs": "ServiceUnavailableException"}
OPERATION = {"ec2": "ec2.DescribeVpcs", "elbv2": "elbv2.DescribeLoadBalancers", "sts": "sts.GetCallerIdentity",
             "ecs": "ecs.ListClusters", "acm": "acm.ListCertificates", "logs": "logs.DescribeLogGroups",
             "cloudwatch": "cloudwatch.ListMetrics", "route53": "route53.ListHostedZones", "s3": "s3.ListBuckets",
             "scheduler": "scheduler.ListSchedules"}


def _client(service: str, url: str, attempts: int = 1) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))


@pytest.fixture()
def proxy(moto_server: str) -> Iterator[Any]:  # noqa: F811
    started: list[WireProxy] = []

    def make(**kw: Any) -> WireProxy:
        p = WireProxy(moto_server, **kw).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def test_botocore_speaks_the_protocols_the_table_assumes() -> None:
    for service, (_, _, protocol, _) in CASES.items():
        assert _client(service, "http://127.0.0.1:1").meta.service_model.resolved_protocol == protocol, service


def _faulted_call(proxy, service: str, kind: str) -> tuple[dict, Any]:
    """Call ``service``'s case through a proxy that answers every call with a ``kind`` fault: (the error response
    botocore raised, the proxy)."""
    from botocore.exceptions import ClientError

    method, params, _, _ = CASES[service]
    p = proxy(fault_rate=1.0, kinds=(kind,))
    with pytest.raises(ClientError) as err:
        getattr(_client(service, p.url), method)(**params)
    return err.value.response, p


@pytest.mark.parametrize("service", sorted(CASES))
def test_throttling_reaches_the_client_as_the_services_own_code(proxy, service: str) -> None:
    response, p = _faulted_call(proxy, service, "throttle")
    assert response["Error"]["Code"] == CASES[service][3]
    assert p.injected == {OPERATION[service]: 1}
    assert not p.forwarded


@pytest.mark.parametrize("service", sorted(UNAVAILABLE))
def test_unavailable_is_a_503_with_the_services_own_code(proxy, service: str) -> None:
    response, _ = _faulted_call(proxy, service, "unavailable")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert response["Error"]["Code"] == UNAVAILABLE[service]


def test_botocore_retries_every_injected_fault(proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """With two attempts allowed, each call is tried twice: botocore took each answer for a retryable one."""
    import botocore.endpoint
    from botocore.exceptions import ClientError

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _s: None))  # no backoff wait
    p = proxy(fault_rate=1.0)
    for service, (method, params, _, _) in CASES.items():
        client = _client(service, p.url, attempts=2)
        with pytest.raises(ClientError):
            getattr(client, method)(**params)
    assert p.injected == {op: 2 for op in OPERATION.values()}
    assert set(p.injected_kinds) <= {"throttle", "unavailable"}


def test_calls_through_the_proxy_reach_moto_and_are_counted(proxy) -> None:
    p = proxy()
    ec2, r53 = _client("ec2", p.url), _client("route53", p.url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    assert vpc in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    zone = r53.create_hosted_zone(Name="proxy.example", CallerReference="x")["HostedZone"]["Id"]
    r53.list_resource_record_sets(HostedZoneId=zone)
    assert p.forwarded["ec2.CreateVpc"] == 1 and p.forwarded["ec2.DescribeVpcs"] == 1
    assert p.forwarded["route53.CreateHostedZone"] == 1 and p.forwarded["route53.ListResourceRecordSets"] == 1
    assert not p.injected


def test_same_seed_same_faults_and_retries_hide_them(proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _s: None))
    seen = []
    for _ in range(2):
        p = proxy(fault_rate=0.3, seed=11)
        ecs = _client("ecs", p.url, attempts=10)
        for _ in range(20):
            assert "clusterArns" in ecs.list_clusters()  # every call succeeds in the end
        seen.append(dict(p.injected))
    assert seen[0] == seen[1] and 2 <= seen[0]["ecs.ListClusters"] <= 18


def test_only_the_chosen_services_get_faults(proxy) -> None:
    p = proxy(fault_rate=1.0, services={"ecs"})
    _client("ec2", p.url).describe_vpcs()  # untouched
    with pytest.raises(Exception):
        _client("ecs", p.url).list_clusters()
    assert set(p.injected) == {"ecs.ListClusters"} and p.forwarded["ec2.DescribeVpcs"] == 1


def test_latency_is_added_to_every_exchange(proxy) -> None:
    p = proxy(latency_s=0.2)
    client = _client("sts", p.url)
    client.get_caller_identity()  # connection set up, models loaded
    started = time.monotonic()
    client.get_caller_identity()
    assert time.monotonic() - started >= 0.2


def test_unsigned_requests_pass_through_untouched(proxy, moto_server: str) -> None:  # noqa: F811
    p = proxy(fault_rate=1.0)
    with urllib.request.urlopen(f"{p.url}/moto-api/data.json", timeout=10) as resp:  # moto's own API, no SigV4
        assert resp.status == 200
    assert not p.injected


def test_starts_on_a_free_port_and_stops_cleanly_with_open_keepalive_connections(moto_server: str) -> None:  # noqa: F811
    before = threading.active_count()
    p = WireProxy(moto_server).start()
    port = p.port
    for _ in range(3):  # three clients, each keeping its connection open
        _client("sts", p.url).get_caller_identity()
    started = time.monotonic()
    p.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    deadline = time.monotonic() + 3
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before
    p.stop()  # a second stop is harmless


def test_a_cbor_speaking_client_reads_the_code_too() -> None:
    """No service the tool uses speaks smithy-rpc-v2-cbor in this botocore (CloudWatch could), but a newer one may:
    botocore's own CBOR parser reads the proxy's answer."""
    from botocore.parsers import create_parser

    from shine_ops.testing.aws_wire import Call, error_response

    status, headers, body, code = error_response(Call("cloudwatch", "ListMetrics", "smithy-rpc-v2-cbor"), "throttle")
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": status, "headers": dict(headers), "body": body}, None)
    assert status == 400 and parsed["Error"]["Code"] == code == "ThrottlingException"
    assert parsed["Error"]["Message"] == "Rate exceeded"


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        WireProxy("http://ec2.us-east-1.amazonaws.com")
    with pytest.raises(ValueError, match="loopback"):
        WireProxy("https://127.0.0.1:5000")
    with pytest.raises(ValueError, match="loopback"):
        WireProxy("http://127.0.0.1:5000", host="0.0.0.0")
    with pytest.raises(ValueError, match="fault_rate"):
        WireProxy("http://127.0.0.1:5000", fault_rate=1.5)


def test_connections_beyond_the_bound_wait_for_a_free_slot(moto_server: str) -> None:  # noqa: F811
    with WireProxy(moto_server, max_connections=1, idle_timeout_s=0.3) as p:
        results: list[str] = []

        def call() -> None:
            results.append(_client("sts", p.url).get_caller_identity()["Account"])

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert len(results) == 3
