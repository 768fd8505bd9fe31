"""Per-check scenarios of the load-balancer and listener checks: each fails in the scenario named after it, with
the right resources, and is the only root cause there; healthy passes them; the incident's root causes stay."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

ALB = "production-shine-skincare-alb"
LEGACY = "awseb--AWSEB-ydAUJ3jj2fwA"
MINE = ("alb.active", "alb.sg-allows-listener", "listener.https-certificate", "listener.http-redirects-https",
        "alb.idle-timeout-covers-latency")
# what AWS's semantics support: the target group on 5000 is a warn (ECS registers the task on 8000)
INCIDENT_ROOT_CAUSES = ["dns.points-to-service-alb", "listener.routes-to-service", "sg.alb-to-task-ingress"]


def _by_id(report: dict) -> dict:
    return {f["check"]: f for f in report["findings"]}


def _client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _lb(endpoint: str, name: str) -> dict:
    return _client(endpoint, "elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]


def _listener(endpoint: str, lb_name: str, port: int) -> dict:
    lsts = _client(endpoint, "elbv2").describe_listeners(LoadBalancerArn=_lb(endpoint, lb_name)["LoadBalancerArn"])
    return next(l for l in lsts["Listeners"] if l["Port"] == port)


def _sg_id(endpoint: str, name: str) -> str:
    groups = _client(endpoint, "ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return groups["SecurityGroups"][0]["GroupId"]


def _only_root_cause(report: dict, check: str) -> None:
    """The scenario's fault is the only root cause; any other failing check is explained by it."""
    assert report["root_causes"] == [check], [(f["check"], f["summary"]) for f in report["findings"]
                                              if f["status"] == "fail"]
    for f in report["findings"]:
        if f["status"] == "fail" and f["check"] != check:
            assert check in f.get("explained_by", []), (f["check"], f["summary"])


def test_healthy_passes_the_load_balancer_and_listener_checks(cli, scenario_server):
    report = diagnose_json(cli, scenario_server("healthy"))
    by_id = _by_id(report)
    for check in MINE:
        assert by_id[check]["status"] == "pass", (check, by_id[check]["summary"])
    idle = by_id["alb.idle-timeout-covers-latency"]
    assert "AWS default" in idle["evidence"]["load_balancers"][0]["source"]  # moto returns no attribute: default 60 s
    assert idle["evidence"]["load_balancers"][0]["idle_timeout_s"] == 60
    cert = by_id["listener.https-certificate"]
    assert "ISSUED" in cert["summary"] and "api.shineskincollective.com" in cert["summary"]
    assert report["root_causes"] == [] and report["_exit"] == 0


def test_alb_active_fails_on_failed_load_balancer(cli, scenario_server):
    endpoint = scenario_server("alb.active")  # the daemon's after_seed sets the state moto cannot seed
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["alb.active"]
    assert f["status"] == "fail" and f["severity"] == "critical"
    assert ALB in f["summary"] and "failed" in f["summary"]
    assert _lb(endpoint, ALB)["LoadBalancerArn"] in f["resources"]
    _only_root_cause(report, "alb.active")
    assert report["_exit"] == 1


def test_alb_sg_allows_listener_fails_without_443_from_the_internet(cli, scenario_server):
    endpoint = scenario_server("alb.sg-allows-listener")
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["alb.sg-allows-listener"]
    sg = _sg_id(endpoint, "production-shine-alb-sg")
    assert f["status"] == "fail" and f["severity"] == "critical"
    assert sg in f["resources"] and sg in f["summary"] and "tcp/443" in f["summary"] and ALB in f["summary"]
    assert "tcp/80 " not in f["summary"]
    assert _lb(endpoint, ALB)["LoadBalancerArn"] in f["resources"]
    _only_root_cause(report, "alb.sg-allows-listener")
    assert report["_exit"] == 1


def test_listener_https_certificate_fails_on_pending_validation(cli, scenario_server):
    endpoint = scenario_server("listener.https-certificate")
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["listener.https-certificate"]
    https = _listener(endpoint, ALB, 443)
    cert_arn = https["Certificates"][0]["CertificateArn"]
    assert f["status"] == "fail" and f["severity"] == "high"
    assert "PENDING_VALIDATION" in f["summary"] and "HTTPS:443" in f["summary"]
    assert cert_arn in f["resources"] and https["ListenerArn"] in f["resources"]
    _only_root_cause(report, "listener.https-certificate")
    assert report["_exit"] == 1  # high fails at the default --fail-on high


def test_listener_http_redirects_https_fails_when_port_80_forwards(cli, scenario_server):
    endpoint = scenario_server("listener.http-redirects-https")
    report = diagnose_json(cli, endpoint)
    by_id = _by_id(report)
    f = by_id["listener.http-redirects-https"]
    http = _listener(endpoint, ALB, 80)
    tg_arn = http["DefaultActions"][0]["TargetGroupArn"]
    assert f["status"] == "fail" and f["severity"] == "medium"
    assert "HTTP:80 forwards plain HTTP to shine-api-tg-8000-fixed (the service's target group)" in f["summary"]
    assert http["ListenerArn"] in f["resources"] and tg_arn in f["resources"]
    assert by_id["listener.routes-to-service"]["status"] == "pass"  # port 80 still reaches the service
    _only_root_cause(report, "listener.http-redirects-https")
    assert report["_exit"] == 0  # medium stays under the default --fail-on high
    strict = diagnose_json(cli, endpoint, "--domain", "api.shineskincollective.com", "--fail-on", "medium")
    assert strict["_exit"] == 1


def test_alb_idle_timeout_covers_latency_fails_at_15_seconds(cli, scenario_server):
    endpoint = scenario_server("alb.idle-timeout-covers-latency")
    report = diagnose_json(cli, endpoint)
    f = _by_id(report)["alb.idle-timeout-covers-latency"]
    assert f["status"] == "fail" and f["severity"] == "medium" and f["fix"] == "alb.set-idle-timeout"
    assert ALB in f["summary"] and "15 s" in f["summary"] and "30 s" in f["summary"]
    assert _lb(endpoint, ALB)["LoadBalancerArn"] in f["resources"]
    assert f["evidence"]["load_balancers"][0]["source"] == "attribute idle_timeout.timeout_seconds"
    _only_root_cause(report, "alb.idle-timeout-covers-latency")


def test_incident_scenario_keeps_its_root_causes_and_judges_both_load_balancers(cli, scenario_server):
    endpoint = scenario_server("shine-incident")
    report = diagnose_json(cli, endpoint)
    by_id = _by_id(report)
    assert report["root_causes"] == INCIDENT_ROOT_CAUSES
    for check in MINE:
        assert by_id[check]["status"] == "pass", (check, by_id[check]["summary"])
    legacy, alb = _lb(endpoint, LEGACY)["LoadBalancerArn"], _lb(endpoint, ALB)["LoadBalancerArn"]
    assert {legacy, alb} <= set(by_id["alb.active"]["resources"])
    assert {legacy, alb} <= set(by_id["alb.sg-allows-listener"]["resources"])
    # the legacy load balancer the record reaches has no HTTPS listener: named, not judged
    assert LEGACY in by_id["listener.https-certificate"]["summary"]
    assert by_id["listener.https-certificate"]["evidence"]["without_https"] == [LEGACY]


def _scenario_file(tmp_path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"base: healthy\nname: {name}\n{body}")
    return str(path)


def test_listener_https_certificate_an_sni_certificate_covering_the_domain_is_served(cli, scenario_server, tmp_path):
    """The default certificate waits for validation, but an ISSUED one added to the listener (SNI) covers the
    domain: the load balancer serves that one for it, so the check passes (DescribeListeners alone misses it)."""
    import boto3

    from shine_ops.sandbox.seed import self_signed_cert

    endpoint = scenario_server("listener.https-certificate")
    assert _by_id(diagnose_json(cli, endpoint))["listener.https-certificate"]["status"] == "fail"
    acm = boto3.client("acm", endpoint_url=endpoint, region_name="us-east-1")
    cert, key = self_signed_cert("api.shineskincollective.com", [])
    sni = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    boto3.client("elbv2", endpoint_url=endpoint, region_name="us-east-1").add_listener_certificates(
        ListenerArn=_listener(endpoint, ALB, 443)["ListenerArn"], Certificates=[{"CertificateArn": sni}])
    log = tmp_path / "calls.log"
    proc = cli("diagnose", "--no-probe", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain",
               "api.shineskincollective.com", "--format", "json", env={"SHINE_OPS_CALL_LOG": str(log)})
    f = _by_id(json.loads(proc.stdout))["listener.https-certificate"]
    assert f["status"] == "pass", f["summary"]
    assert sni in f["resources"]
    # AWS's DescribeListeners names only the default certificate (moto lists the SNI ones there too), so the
    # collector must ask DescribeListenerCertificates for the listener's full list:
    assert "elbv2.DescribeListenerCertificates" in log.read_text()


@pytest.mark.parametrize("days,status", [(10, "fail"), (20, "warn")])
def test_listener_https_certificate_expiry_through_the_seeder(cli, scenario_server, tmp_path, days, status):
    sc = _scenario_file(tmp_path, f"cert-{days}", f"certificates:\n  api:\n    valid_days: {days}\n")
    report = diagnose_json(cli, scenario_server(sc))
    f = _by_id(report)["listener.https-certificate"]
    assert f["status"] == status, f["summary"]
    assert f"expires in {days} days" in f["summary"] or f"expires in {days - 1} days" in f["summary"]
    assert report["_exit"] == (1 if status == "fail" else 0)


def test_alb_sg_allows_listener_internal_load_balancer_from_the_vpc(cli, scenario_server, tmp_path):
    sc = _scenario_file(tmp_path, "internal", "load_balancers:\n  production-shine-skincare-alb:\n    scheme: internal\n"
                        "security_groups:\n  alb:\n    ingress:\n      - {port: 443, cidr: 172.31.0.0/16}\n"
                        "      - {port: 80, cidr: 172.31.0.0/16}\n")
    report = diagnose_json(cli, scenario_server(sc))
    f = _by_id(report)["alb.sg-allows-listener"]
    assert f["status"] == "pass" and "(internal)" in f["summary"] and "172.31.0.0/16" in f["summary"]


def test_plain_moto_incident_closed_legacy_security_group_is_a_warning(cli, fresh_moto, tmp_path, monkeypatch):
    from tests.e2e.plain_seed import seed_incident, team_project

    ids = seed_incident(fresh_moto)
    monkeypatch.setattr(cli, "cwd", team_project(tmp_path))
    report = diagnose_json(cli, fresh_moto)
    f = _by_id(report)["alb.sg-allows-listener"]
    assert f["status"] == "warn" and LEGACY in f["summary"] and "tcp/80" in f["summary"]
    assert ids["eb"] in f["resources"]
    assert report["root_causes"] == INCIDENT_ROOT_CAUSES
