"""The load-balancer and listener checks as pure functions: alb.active, alb.sg-allows-listener,
listener.https-certificate, listener.http-redirects-https (alb.idle-timeout-covers-latency: test_alb_idle_timeout.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from shine_ops.evaluators import REGISTRY
from shine_ops.evaluators.tls import name_matches
from tests.evaluators.builders import LB_ARN, LEGACY_ARN, LST, TG_OLD, TG_SVC
from tests.evaluators.builders_alb import CERT, CERT2, LST80, build_alb, cert


def run(check: str, ctx, params: dict | None = None):
    return REGISTRY[check].fn(ctx, params or {})


def world(port: int, cidr: str = "0.0.0.0/0", to_port: int | None = None) -> dict:
    key, item = ("Ipv6Ranges", {"CidrIpv6": cidr}) if ":" in cidr else ("IpRanges", {"CidrIp": cidr})
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": to_port or port, key: [item]}


# --------------------------------------------------------------------------- alb.active
def test_alb_active_passes_when_every_load_balancer_on_the_path_is_active():
    out = run("alb.active", build_alb())
    assert out.status == "pass" and out.summary == "prod is active."
    assert out.resources == [LB_ARN]


@pytest.mark.parametrize("state,words", [("provisioning", "still provisioning"), ("failed", "failed to provision"),
                                         ("weird", "'weird'")])
def test_alb_active_fails_when_not_active(state, words):
    ctx = build_alb(state=state)
    ctx.snapshot.load_balancers[LB_ARN].raw["State"] = {"Code": state, "Reason": "subnet out of addresses"}
    out = run("alb.active", ctx)
    assert out.status == "fail"
    assert out.summary.startswith("Load balancer prod ") and words in out.summary
    assert "subnet out of addresses" in out.summary and LB_ARN in out.resources
    assert out.evidence["load_balancers"][0]["state"] == state


def test_alb_active_warns_when_active_impaired():
    out = run("alb.active", build_alb(state="active_impaired"))
    assert out.status == "warn" and "impaired" in out.summary


def test_alb_active_judges_the_record_load_balancer_too_as_a_warning_when_it_is_off_the_service():
    # the record reaches legacy, which does not forward to the service: dns.points-to-service-alb is the root
    # cause, and legacy's own fault is a warning (it leaves the path once the record points at prod)
    out = run("alb.active", build_alb(alias_to="legacy", legacy_state="failed"))
    assert out.status == "warn" and out.summary.startswith("Load balancer legacy failed to provision")
    assert "pointing the record at prod takes it off the path" in out.summary
    assert out.resources[0] == LEGACY_ARN and LB_ARN in out.resources
    roles = {e["name"]: e["role"] for e in out.evidence["load_balancers"]}
    assert roles == {"legacy": "the domain's record reaches it", "prod": "it forwards to the service"}


def test_alb_active_fails_on_the_service_load_balancer_even_when_the_record_misses_it():
    out = run("alb.active", build_alb(alias_to="legacy", legacy_state="failed", state="failed"))
    assert out.status == "fail" and out.summary.startswith("Load balancer prod failed")
    assert "legacy: failed" in out.actual


def test_alb_active_skips_without_load_balancer_on_the_path():
    ctx = build_alb()
    ctx.snapshot.load_balancers.clear()
    assert run("alb.active", ctx).status == "skip"


# --------------------------------------------------------------------------- alb.sg-allows-listener
def test_alb_sg_allows_listener_passes_when_both_ports_are_open_to_the_internet():
    out = run("alb.sg-allows-listener", build_alb())
    assert out.status == "pass" and "prod :443 open to the internet by sg-alb" in out.summary
    assert LB_ARN in out.resources and "sg-alb" in out.resources


def test_alb_sg_allows_listener_fails_naming_the_group_and_the_missing_port():
    out = run("alb.sg-allows-listener", build_alb(alb_ingress=[world(80)]))
    assert out.status == "fail"
    assert out.summary.startswith("Security group sg-alb (alb) of internet-facing load balancer prod does not admit "
                                  "tcp/443 from the internet")
    assert "sg-alb" in out.resources and LB_ARN in out.resources
    assert out.evidence["load_balancers"][0]["ports"][443] == "not admitted"


def test_alb_sg_allows_listener_accepts_ipv6_ranges_and_all_traffic():
    assert run("alb.sg-allows-listener", build_alb(alb_ingress=[world(443, "::/0"), world(80, "::/0")])).status == "pass"
    assert run("alb.sg-allows-listener", build_alb(alb_ingress=[world(1, to_port=65535)])).status == "pass"
    all_traffic = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    assert run("alb.sg-allows-listener", build_alb(alb_ingress=all_traffic)).status == "pass"


def test_alb_sg_allows_listener_fails_on_udp_only_rule():
    udp = [{"IpProtocol": "udp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, world(80)]
    out = run("alb.sg-allows-listener", build_alb(alb_ingress=udp))
    assert out.status == "fail" and "tcp/443" in out.summary


def test_alb_sg_allows_listener_warns_when_only_some_sources_are_admitted():
    cloudfront = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-3b927c52"}]},
                  world(80, "203.0.113.0/24")]
    out = run("alb.sg-allows-listener", build_alb(alb_ingress=cloudfront))
    assert out.status == "warn" and "only from" in out.summary
    assert "203.0.113.0/24" in out.actual and "pl-3b927c52" in out.actual


def test_alb_sg_allows_listener_internal_any_source_passes_with_note():
    from_vpc = [world(443, "10.0.0.0/8"), world(80, "10.0.0.0/8")]
    out = run("alb.sg-allows-listener", build_alb(scheme="internal", alb_ingress=from_vpc))
    assert out.status == "pass" and "(internal)" in out.summary and "10.0.0.0/8" in out.summary


def test_alb_sg_allows_listener_internal_fails_when_nothing_is_admitted():
    out = run("alb.sg-allows-listener", build_alb(scheme="internal", alb_ingress=[world(80, "10.0.0.0/8")]))
    assert out.status == "fail" and "internal load balancer prod admits nothing on tcp/443" in out.summary


def test_alb_sg_allows_listener_deleted_group_admits_nothing():
    ctx = build_alb()
    del ctx.snapshot.security_groups["sg-alb"]
    out = run("alb.sg-allows-listener", ctx)
    assert out.status == "fail" and "sg-alb (not found)" in out.summary


def test_alb_sg_allows_listener_checks_the_legacy_record_load_balancer():
    out = run("alb.sg-allows-listener", build_alb(alias_to="legacy", legacy_ingress=[]))
    assert out.status == "warn" and "legacy does not admit tcp/80" in out.summary and "sg-legacy" in out.resources
    assert "see dns.points-to-service-alb" in out.summary
    both = run("alb.sg-allows-listener", build_alb(alias_to="legacy", legacy_ingress=[], alb_ingress=[world(80)]))
    assert both.status == "fail" and "prod does not admit tcp/443" in both.summary


def test_alb_sg_allows_listener_skips_load_balancer_without_security_groups():
    ctx = build_alb()
    ctx.snapshot.load_balancers[LB_ARN].security_groups = []
    out = run("alb.sg-allows-listener", ctx)
    assert out.status == "skip" and "no security groups" in out.summary


# --------------------------------------------------------------------------- listener.https-certificate
@pytest.mark.parametrize("pattern,domain,ok", [
    ("api.example.com", "api.example.com", True), ("API.Example.com.", "api.example.com", True),
    ("*.example.com", "api.example.com", True), ("*.example.com", "a.b.example.com", False),
    ("*.example.com", "example.com", False), ("*.example.com", "api.example.org", False),
    ("example.com", "api.example.com", False), ("*.api.example.com", "v2.api.example.com", True),
    ("*.example.com", "xexample.com", False),
])
def test_listener_https_certificate_name_matching(pattern, domain, ok):
    assert name_matches(pattern, domain) is ok


def test_listener_https_certificate_passes_on_issued_exact_name():
    out = run("listener.https-certificate", build_alb())
    assert out.status == "pass" and "prod HTTPS:443 serves api.example.com" in out.summary
    assert "ISSUED" in out.summary and {LB_ARN, LST, CERT} <= set(out.resources)


def test_listener_https_certificate_passes_on_wildcard_san():
    out = run("listener.https-certificate", build_alb(certs=[cert("example.com", ("*.example.com",))]))
    assert out.status == "pass"


def test_listener_https_certificate_fails_when_wildcard_does_not_cover_two_labels():
    ctx = build_alb(certs=[cert("example.com", ("*.example.com",))])
    ctx.path.domain = "v2.api.example.com"
    out = run("listener.https-certificate", ctx)
    assert out.status == "fail" and "names example.com, *.example.com, not v2.api.example.com" in out.summary
    assert CERT in out.resources


def test_listener_https_certificate_fails_on_certificate_for_another_domain():
    out = run("listener.https-certificate", build_alb(certs=[cert("www.other.org")]))
    assert out.status == "fail" and "www.other.org" in out.summary and "browsers reject" in out.summary


def test_listener_https_certificate_fails_on_pending_validation():
    out = run("listener.https-certificate", build_alb(certs=[cert(status="PENDING_VALIDATION", days=None)]))
    assert out.status == "fail" and "PENDING_VALIDATION" in out.summary and "validation" in out.summary
    assert CERT in out.resources


def test_listener_https_certificate_fails_without_certificate():
    out = run("listener.https-certificate", build_alb(listener_certs=[]))
    assert out.status == "fail" and out.summary.startswith("HTTPS listener prod HTTPS:443 has no certificate")


@pytest.mark.parametrize("days,status", [(-3, "fail"), (0.5, "fail"), (13.5, "fail"), (14.5, "warn"), (29.5, "warn"),
                                         (30.5, "pass"), (365, "pass")])
def test_listener_https_certificate_expiry_thresholds(days, status):
    out = run("listener.https-certificate", build_alb(certs=[cert(days=days)]))
    assert out.status == status, out.summary
    if days < 0:
        assert "expired" in out.summary
    elif status != "pass":
        assert "expires in" in out.summary


def test_listener_https_certificate_thresholds_are_params():
    out = run("listener.https-certificate", build_alb(certs=[cert(days=40)]), {"warn_days": 45})
    assert out.status == "warn"


def test_listener_https_certificate_reads_iso_and_naive_dates():
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)).isoformat()
    assert run("listener.https-certificate", build_alb(certs=[cert(not_after=soon)])).status == "fail"
    naive = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=100)
    assert run("listener.https-certificate", build_alb(certs=[cert(not_after=naive)])).status == "pass"


def test_listener_https_certificate_serves_the_best_covering_certificate():
    certs = [cert(arn=CERT, status="EXPIRED", days=-1), cert(arn=CERT2, days=200)]
    out = run("listener.https-certificate", build_alb(certs=certs, listener_certs=[CERT, CERT2]))
    assert out.status == "pass" and out.evidence["listeners"][0]["serving"] == CERT2


def test_listener_https_certificate_warns_when_certificate_cannot_be_described():
    iam = "arn:aws:iam::123456789012:server-certificate/legacy"
    out = run("listener.https-certificate", build_alb(certs=[], listener_certs=[iam]))
    assert out.status == "warn" and iam in out.summary


def test_listener_https_certificate_warns_when_domain_is_served_over_http_only():
    out = run("listener.https-certificate", build_alb(https=False, http80=None))
    assert out.status == "warn" and "plain HTTP only" in out.summary and "prod has no HTTPS listener" in out.summary


def test_listener_https_certificate_skips_internal_http_only():
    out = run("listener.https-certificate", build_alb(https=False, scheme="internal"))
    assert out.status == "skip" and "internal" in out.summary


def test_listener_https_certificate_names_http_only_record_load_balancer():
    out = run("listener.https-certificate", build_alb(alias_to="legacy"))
    assert out.status == "pass" and "legacy has no HTTPS listener" in out.summary
    assert out.evidence["without_https"] == ["legacy"]


def test_listener_https_certificate_without_domain_does_not_compare_names():
    ctx = build_alb(certs=[cert("www.other.org")])
    ctx.path.domain = None
    out = run("listener.https-certificate", ctx)
    assert out.status == "pass" and "not compared" in out.evidence["note"]


# --------------------------------------------------------------------------- listener.http-redirects-https
def test_listener_http_redirects_https_passes_on_301_to_443():
    out = run("listener.http-redirects-https", build_alb())
    assert out.status == "pass" and "prod HTTP:80 redirect to HTTPS:443 (HTTP_301)" in out.summary
    assert LST80 in out.resources


def test_listener_http_redirects_https_fails_when_port_80_forwards_to_the_service():
    out = run("listener.http-redirects-https", build_alb(http80=[{"Type": "forward", "TargetGroupArn": TG_SVC}]))
    assert out.status == "fail"
    assert out.summary.startswith("prod HTTP:80 forwards plain HTTP to svc (the service's target group) instead of "
                                  "redirecting to HTTPS:443")
    assert LST80 in out.resources and TG_SVC in out.resources


def test_listener_http_redirects_https_fails_on_a_forwarding_rule():
    rule = {"RuleArn": f"{LST80}/r10", "Priority": "10", "Conditions": [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/health"]}}],
        "Actions": [{"Type": "forward", "TargetGroupArn": TG_OLD}]}
    out = run("listener.http-redirects-https", build_alb(http80_rules=[rule]))
    assert out.status == "fail" and "rule priority 10 (path-pattern /health) forwards plain HTTP to old" in out.summary
    assert f"{LST80}/r10" in out.resources


@pytest.mark.parametrize("cfg,words", [
    ({"Protocol": "HTTP", "Port": "8080", "StatusCode": "HTTP_301"}, "redirects to HTTP, not HTTPS"),
    ({"StatusCode": "HTTP_302"}, "not HTTPS"),
    ({"Protocol": "HTTPS", "StatusCode": "HTTP_301"}, "on port 80, where no HTTPS listener is"),
    ({"Protocol": "HTTPS", "Port": "8443", "StatusCode": "HTTP_302"}, "on port 8443"),
])
def test_listener_http_redirects_https_fails_on_a_redirect_that_misses_https(cfg, words):
    out = run("listener.http-redirects-https", build_alb(http80=[{"Type": "redirect", "RedirectConfig": cfg}]))
    assert out.status == "fail" and words in out.summary


def test_listener_http_redirects_https_warns_on_fixed_response():
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}]
    out = run("listener.http-redirects-https", build_alb(http80=fixed))
    assert out.status == "warn" and "fixed response 403" in out.summary


def test_listener_http_redirects_https_skips_without_https_listener():
    out = run("listener.http-redirects-https", build_alb(https=False, http80=None))
    assert out.status == "skip" and out.summary.startswith("No load balancer on the path has an HTTPS listener")


def test_listener_http_redirects_https_passes_without_port_80_with_note():
    out = run("listener.http-redirects-https", build_alb(http80=None))
    assert out.status == "pass" and "no HTTP:80 listener" in out.summary


def test_listener_http_redirects_https_does_not_judge_http_only_record_load_balancer():
    out = run("listener.http-redirects-https", build_alb(alias_to="legacy"))
    assert out.status == "pass" and "legacy has no HTTPS listener (not judged)" in out.summary


# alb.idle-timeout-covers-latency: tests/evaluators/test_alb_idle_timeout.py
