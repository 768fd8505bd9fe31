"""The network checks and dns.resolves-to-alb end to end: per-check scenarios against a plain moto server, the
sandbox's DNS server queried with dnspython, and ``diagnose --sandbox`` resolving through it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import diagnose_json, sandbox_up

pytestmark = pytest.mark.slow

DOMAIN = "api.shineskincollective.com"
NETWORK_CHECKS = ("sg.alb-egress-to-task", "nacl.alb-to-task", "sg.task-not-open-to-world")


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _ids(endpoint: str) -> dict:
    """Security group ids by name, subnet ids by CIDR, network ACLs by id (read back through the AWS API)."""
    from shine_ops.aws import Aws, ConnectionOptions

    aws = Aws(ConnectionOptions(endpoint_url=endpoint, region="us-east-1"))
    sgs = {g["GroupName"]: g["GroupId"] for g in aws.paginate("ec2", "DescribeSecurityGroups", "SecurityGroups")}
    subnets = {s["CidrBlock"]: s["SubnetId"] for s in aws.paginate("ec2", "DescribeSubnets", "Subnets")}
    acls = {n["NetworkAclId"]: n for n in aws.paginate("ec2", "DescribeNetworkAcls", "NetworkAcls")}
    return {"sg": sgs, "subnet": subnets, "acl": acls}


def test_healthy_scenario_passes_the_network_checks(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy"))
    by_id = _by_id(report)
    for check in NETWORK_CHECKS:
        assert by_id[check]["status"] == "pass", by_id[check]
    assert by_id["dns.resolves-to-alb"]["status"] == "skip"  # --no-probe
    assert "--no-probe" in by_id["dns.resolves-to-alb"]["summary"]


def test_sg_alb_egress_to_task_scenario_fails_naming_both_groups(cli, scenario_server):
    endpoint = scenario_server("sg.alb-egress-to-task")
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["sg.alb-egress-to-task"]
    ids = _ids(endpoint)["sg"]
    alb_sg, ecs_sg = ids["production-shine-alb-sg"], ids["production-shine-ecs-sg"]
    assert f["status"] == "fail" and f["severity"] == "critical" and f["fix"] == "sg.allow-alb-egress"
    assert alb_sg in f["summary"] and ecs_sg in f["summary"] and "tcp/8000" in f["summary"]
    assert {alb_sg, ecs_sg} <= set(f["resources"])
    assert "sg.alb-egress-to-task" in report["root_causes"]
    assert report["_exit"] == 1
    others = {k: v["status"] for k, v in _by_id(report).items() if k in ("sg.alb-to-task-ingress", "nacl.alb-to-task")}
    assert set(others.values()) == {"pass"}


def test_nacl_alb_to_task_scenario_fails_naming_acl_and_rule(cli, scenario_server):
    endpoint = scenario_server("nacl.alb-to-task")
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["nacl.alb-to-task"]
    ids = _ids(endpoint)
    sub_b = ids["subnet"]["172.31.16.0/20"]
    fenced = next(a for a, n in ids["acl"].items() if any(x.get("SubnetId") == sub_b for x in n["Associations"]))
    assert not ids["acl"][fenced].get("IsDefault")
    assert f["status"] == "fail" and f["severity"] == "critical"
    assert f"{fenced} rule 90" in f["summary"] and "tcp/8000" in f["summary"] and sub_b in f["summary"]
    assert fenced in f["resources"] and sub_b in f["resources"]
    assert "nacl.alb-to-task" in report["root_causes"]
    assert report["_exit"] == 1


def test_sg_task_not_open_to_world_scenario_fails_naming_group_and_rule(cli, scenario_server):
    endpoint = scenario_server("sg.task-not-open-to-world")
    report = diagnose_json(cli, endpoint)
    by_id = _by_id(report)
    f = by_id["sg.task-not-open-to-world"]
    ecs_sg = _ids(endpoint)["sg"]["production-shine-ecs-sg"]
    assert f["status"] == "fail" and f["severity"] == "high" and f["fix"] is None
    assert ecs_sg in f["summary"] and "tcp/8000 from 0.0.0.0/0" in f["summary"]
    assert f["resources"] == [ecs_sg]
    assert by_id["sg.alb-to-task-ingress"]["status"] == "pass"  # reachable, just too open
    assert report["root_causes"] == ["sg.task-not-open-to-world"]


def test_dns_resolves_to_alb_scenario_seeds_a_correct_record(cli, scenario_server):
    # the disagreement lives only in the sandbox's DNS server (scaffolding): the account's own record is right
    report = diagnose_json(cli, scenario_server("dns.resolves-to-alb"))
    by_id = _by_id(report)
    assert by_id["dns.points-to-service-alb"]["status"] == "pass"
    assert by_id["dns.resolves-to-alb"]["status"] == "skip"


# --------------------------------------------------------------------------- the sandbox's DNS server
@pytest.fixture()
def dns_server(scenario_server):
    """Start a SandboxDns over a seeded scenario (in this process, against the plain moto server)."""
    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox.dns import SandboxDns
    from shine_ops.sandbox.scenario import load_scenario

    started = []

    def make(name: str, extra_records: list[dict] | None = None):
        endpoint = scenario_server(name)
        aws = Aws(ConnectionOptions(endpoint_url=endpoint, region="us-east-1"))
        if extra_records:
            zone = aws.paginate("route53", "ListHostedZones", "HostedZones")[0]["Id"].split("/")[-1]
            aws.call("route53", "ChangeResourceRecordSets", HostedZoneId=zone, ChangeBatch={"Changes": [
                {"Action": "CREATE", "ResourceRecordSet": r} for r in extra_records]})
        srv = SandboxDns(aws, load_scenario(name).get("sandbox_dns")).start()
        started.append(srv)
        lbs = {lb["LoadBalancerName"]: lb for lb in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers")}
        return srv, aws, lbs

    yield make
    for s in started:
        s.stop()


def _resolver(endpoint: str):
    import dns.resolver

    r = dns.resolver.Resolver(configure=False)
    host, port = endpoint.split(":")
    r.nameservers, r.port, r.lifetime = [host], int(port), 3
    return r


def test_dns_resolves_to_alb_sandbox_server_answers_alias_lb_names_and_chases_cnames(dns_server):
    import dns.message
    import dns.query
    import dns.resolver

    srv, aws, lbs = dns_server("healthy", [
        {"Name": "www-api.shineskincollective.com", "Type": "CNAME", "TTL": 60,
         "ResourceRecords": [{"Value": "edge.shineskincollective.com"}]},
        {"Name": "edge.shineskincollective.com", "Type": "CNAME", "TTL": 60,
         "ResourceRecords": [{"Value": DOMAIN}]},
        {"Name": "static.shineskincollective.com", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.7"}]}])
    r = _resolver(srv.endpoint)
    prod = lbs["production-shine-skincare-alb"]
    legacy = lbs["awseb--AWSEB-ydAUJ3jj2fwA"]
    alias = sorted(a.address for a in r.resolve(DOMAIN, "A"))
    assert alias and all(a.startswith("127.78.") for a in alias)
    assert sorted(a.address for a in r.resolve(prod["DNSName"], "A")) == alias
    assert sorted(a.address for a in r.resolve("dualstack." + prod["DNSName"], "A")) == alias
    assert set(a.address for a in r.resolve(legacy["DNSName"], "A")).isdisjoint(alias)  # stable, per load balancer
    chased = r.resolve("www-api.shineskincollective.com", "A")  # two in-zone CNAMEs, then the alias
    assert sorted(a.address for a in chased) == alias and str(chased.canonical_name).rstrip(".") == DOMAIN
    assert [a.address for a in r.resolve("static.shineskincollective.com", "A")] == ["192.0.2.7"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        r.resolve("nope.shineskincollective.com", "A")
    with pytest.raises(dns.resolver.NoAnswer):  # the name exists: NOERROR without data, not NXDOMAIN
        r.resolve(DOMAIN, "TXT")
    with pytest.raises(dns.resolver.NoNameservers):  # not a zone of this account: REFUSED
        r.resolve("example.org", "A")
    host, port = srv.endpoint.split(":")  # TCP too
    tcp = dns.query.tcp(dns.message.make_query(DOMAIN, "A"), host, port=int(port), timeout=3)
    assert sorted(x.address for rr in tcp.answer for x in rr) == alias
    # a record change (what `fix` does) shows within the refresh interval
    zone = aws.paginate("route53", "ListHostedZones", "HostedZones")[0]["Id"].split("/")[-1]
    aws.call("route53", "ChangeResourceRecordSets", HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": DOMAIN, "Type": "A", "AliasTarget": {
            "HostedZoneId": legacy["CanonicalHostedZoneId"], "DNSName": "dualstack." + legacy["DNSName"] + ".",
            "EvaluateTargetHealth": True}}}]})
    import time

    time.sleep(1.1)
    assert sorted(a.address for a in r.resolve(DOMAIN, "A")) == sorted(a.address for a in r.resolve(legacy["DNSName"], "A"))


def test_dns_resolves_to_alb_probe_and_check_through_the_sandbox_server(dns_server):
    """The probe + the pure check over a collected snapshot: pass on healthy, fail on the stale delegation."""
    from shine_ops.evaluators import Context, REGISTRY, load_builtin
    from shine_ops.probes.dns import names_to_resolve, probe_dns
    from shine_ops.topology.collect import Collector, Target

    load_builtin()
    for scenario, status in (("healthy", "pass"), ("dns.resolves-to-alb", "fail")):
        srv, aws, lbs = dns_server(scenario)
        snap, path = Collector(aws, areas={"dns"}).collect(Target(domain=DOMAIN))
        probe = probe_dns(DOMAIN, names_to_resolve(snap, path), resolver=srv.endpoint, timeout_s=4)
        out = REGISTRY["dns.resolves-to-alb"].fn(Context(snapshot=snap, path=path, probes={"dns": probe}), {})
        assert out.status == status, out.summary
        if status == "fail":
            assert "awseb--AWSEB-ydAUJ3jj2fwA" in out.summary and "production-shine-skincare-alb" in out.summary
        srv.stop()


def test_dns_resolves_to_alb_resolver_option(cli, scenario_server):
    bad = cli("diagnose", "--resolver", "dns.google", "--domain", DOMAIN)
    assert bad.returncode == 2 and "--resolver" in bad.stderr
    # nothing answers on this port: the DNS probe ends as an error within its budget, never a traceback
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        endpoint = scenario_server("healthy")
        proc = cli("diagnose", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain", DOMAIN,
                   "--resolver", f"127.0.0.1:{s.getsockname()[1]}", "--probe-timeout", "2", "--format", "json")
    finally:
        s.close()
    assert_no_traceback(proc)
    f = _by_id(json.loads(proc.stdout))["dns.resolves-to-alb"]
    assert f["status"] == "error" and "timed out" in f["summary"]


def test_dns_resolves_to_alb_diagnose_sandbox_resolves_through_the_sandbox_dns(cli):
    st = sandbox_up(cli, "dns.resolves-to-alb")
    try:
        assert st["dns_endpoint"].startswith("127.0.0.1:")
        proc = cli("diagnose", "--sandbox", "--format", "json")
        assert_no_traceback(proc)
        report = json.loads(proc.stdout)
        f = _by_id(report)["dns.resolves-to-alb"]
        assert f["status"] == "fail" and f["severity"] == "medium", f
        assert f["evidence"]["simulated"] is True and f["evidence"]["resolver"] == st["dns_endpoint"]
        assert "awseb--AWSEB-ydAUJ3jj2fwA" in f["summary"] and "production-shine-skincare-alb" in f["summary"]
        assert f["resources"][0] == DOMAIN
        assert report["root_causes"] == ["dns.resolves-to-alb"]
        assert proc.returncode == 0  # medium: below the default --fail-on high
        assert cli("diagnose", "--sandbox", "--fail-on", "medium", "--format", "json").returncode == 1
        table = cli("diagnose", "--sandbox")
        assert "dns.resolves-to-alb" in table.stdout and "(simulated)" in table.stdout
    finally:
        cli("sandbox", "down")
