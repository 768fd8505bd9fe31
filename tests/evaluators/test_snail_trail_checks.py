"""Each snail-trail check as a pure function: the healthy wiring passes, each recorded fault fails."""

from __future__ import annotations

from shine_ops.evaluators import REGISTRY
from tests.evaluators.builders import LEGACY_ARN, LB_ARN, TG_OLD, TG_SVC, build


def run(check: str, ctx) -> object:
    return REGISTRY[check].fn(ctx, {})


def test_dns_record_exists_passes_and_fails_without_record():
    assert run("dns.record-exists", build()).status == "pass"
    out = run("dns.record-exists", build(records=[]))
    assert out.status == "fail" and "api.example.com has no A, AAAA or CNAME record" in out.summary


def test_dns_record_exists_fails_on_two_public_zones():
    ctx = build(records=[{"Name": "api.example.com.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example.net"}]},
                         {"_zone": "Z2", "Name": "api.example.com.", "Type": "CNAME", "TTL": 60,
                          "ResourceRecords": [{"Value": "y.example.net"}]}])
    from shine_ops.topology.model import HostedZone
    ctx.snapshot.zones["Z2"] = HostedZone.from_raw({"Id": "/hostedzone/Z2", "Name": "example.com.", "Config": {}})
    out = run("dns.record-exists", ctx)
    assert out.status == "fail" and "2 public hosted zones" in out.summary


def test_dns_points_to_service_alb_passes_when_alias_reaches_service_alb():
    out = run("dns.points-to-service-alb", build())
    assert out.status == "pass" and LB_ARN in out.resources


def test_dns_points_to_service_alb_fails_on_legacy_alb():
    out = run("dns.points-to-service-alb", build(alias_to="legacy"))
    assert out.status == "fail"
    assert out.summary.startswith("api.example.com points at legacy, but api is behind prod")
    assert LEGACY_ARN in out.resources and LB_ARN in out.resources


def test_listener_routes_to_service_passes_on_default_forward():
    assert run("listener.routes-to-service", build()).status == "pass"


def test_listener_routes_to_service_fails_when_api_falls_to_legacy_default():
    ctx = build(default_tg=TG_OLD, rules=[(200, ["/health"], TG_SVC)])
    ctx.settings.service_paths = ["/health", "/api/*"]  # declared: /api/* is the service's (undeclared: a warn)
    out = run("listener.routes-to-service", ctx)
    assert out.status == "fail"
    assert "/api/shine-ops-probe -> default action -> forward to old" in out.summary
    assert TG_OLD in out.resources


def test_listener_routes_to_service_names_the_shadowing_rule():
    ctx = build(default_tg=TG_OLD, rules=[(10, ["/api/*"], TG_OLD), (20, ["/api/*", "/health"], TG_SVC)])
    out = run("listener.routes-to-service", ctx)
    assert out.status == "fail" and "shadows priority 20" in out.actual


def test_ecs_service_running_pass_and_failures():
    assert run("ecs.service-running", build()).status == "pass"
    out = run("ecs.service-running", build(service={"runningCount": 0, "pendingCount": 2}))
    assert out.status == "fail" and "runs 0 of the 2 tasks" in out.summary
    assert run("ecs.service-running", build(service={"desiredCount": 0, "runningCount": 0})).status == "fail"
    assert run("ecs.service-running", build(service={"status": "DRAINING"})).status == "fail"
    ctx = build()
    ctx.path.service = None
    ctx.path.requested_service = "prod/gone"
    ctx.snapshot.missing_services.append("prod/gone")
    out = run("ecs.service-running", ctx)
    assert out.status == "fail" and "MISSING" in out.summary


def test_sg_alb_to_task_ingress_pass_by_group_and_by_subnet_cidr():
    assert run("sg.alb-to-task-ingress", build()).status == "pass"
    by_cidr = build(ingress=[{"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    assert run("sg.alb-to-task-ingress", by_cidr).status == "pass"


def test_sg_alb_to_task_ingress_fails_on_wrong_port_or_unrelated_source():
    out = run("sg.alb-to-task-ingress", build(ingress=[{"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000,
                                                        "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]))
    assert out.status == "fail" and "tcp/8000" in out.summary and "sg-task" in out.resources and "sg-alb" in out.resources
    narrow = build(ingress=[{"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "IpRanges": [{"CidrIp": "192.168.0.0/24"}]}])
    assert run("sg.alb-to-task-ingress", narrow).status == "fail"


def test_dns_points_to_service_alb_reports_cloudfront_in_front_as_not_covered():
    ctx = build(records=[{"Name": "api.example.com.", "Type": "A",
                          "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net.",
                                          "EvaluateTargetHealth": False}}])
    out = run("dns.points-to-service-alb", ctx)
    assert out.status == "warn" and out.summary.startswith("Not covered: a CloudFront distribution")


def test_dns_points_to_service_alb_reports_nlb_in_front_of_alb_as_not_covered():
    from shine_ops.topology import path as P
    from shine_ops.topology.model import LoadBalancer, TargetGroup

    ctx = build(alias_to="legacy")
    legacy = ctx.snapshot.load_balancers[LEGACY_ARN]
    ctx.snapshot.load_balancers[LEGACY_ARN] = LoadBalancer(**{**legacy.__dict__, "type": "network"})
    ctx.snapshot.target_groups["arn:tg-alb"] = TargetGroup.from_raw({
        "TargetGroupArn": "arn:tg-alb", "TargetGroupName": "to-alb", "Port": 443, "Protocol": "TCP",
        "TargetType": "alb", "LoadBalancerArns": [LEGACY_ARN]})
    ctx.path.branches = P.branches(ctx.snapshot, "api.example.com")
    out = run("dns.points-to-service-alb", ctx)
    assert out.status == "warn" and "network load balancer legacy forwards to an application load balancer" in out.summary


def test_sg_alb_to_task_ingress_does_not_misjudge_an_nlb_without_security_groups():
    from shine_ops.topology.model import LoadBalancer

    ctx = build(ingress=[])
    lb = ctx.snapshot.load_balancers[LB_ARN]
    ctx.snapshot.load_balancers[LB_ARN] = LoadBalancer(**{**lb.__dict__, "type": "network", "security_groups": []})
    out = run("sg.alb-to-task-ingress", ctx)
    assert out.status == "warn" and out.summary.startswith("Not covered")
