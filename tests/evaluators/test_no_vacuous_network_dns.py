"""Issue 14 item 3 for sg.task-not-open-to-world and the DNS checks: no verdict that looked at nothing.

A task with a public IP is judged on every port its groups admit from the internet; without one, on every port of
its containers; with neither, the check skips. A domain that reaches no load balancer of the account (or none with
an ECS service behind it) fails naming what it reaches."""

from __future__ import annotations

import pytest

from shine_ops.evaluators import REGISTRY
from shine_ops.topology import path as P
from shine_ops.topology.model import HostedZone, NetworkInterface, Task
from tests.evaluators.builders import LB_ARN, SVC_ARN, TG_OLD, build


def run(check: str, ctx):
    return REGISTRY[check].fn(ctx, {})


def tcp(port: int, cidr: str | None = None, *, to: int | None = None, v6: str | None = None, pl: str | None = None,
        proto: str = "tcp") -> dict:
    p = {"IpProtocol": proto, "FromPort": port, "ToPort": to if to is not None else port}
    if cidr:
        p["IpRanges"] = [{"CidrIp": cidr}]
    if v6:
        p["Ipv6Ranges"] = [{"CidrIpv6": v6}]
    if pl:
        p["PrefixListIds"] = [{"PrefixListId": pl}]
    return p


ALB_RULE = {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}


def public(assign: str = "ENABLED", lbs: bool = True) -> dict:
    svc = {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-task"],
                                                            "assignPublicIp": assign}}}
    if not lbs:
        svc["loadBalancers"] = []
    return svc


# --------------------------------------------------------------------------- sg.task-not-open-to-world
def test_public_task_without_load_balancer_fails_on_the_port_open_to_the_world():
    # the case: no load-balancer mapping, so the old check judged no port at all and passed
    ctx = build(service=public(lbs=False), ingress=[tcp(80, "0.0.0.0/0")])
    out = run("sg.task-not-open-to-world", ctx)
    assert out.status == "fail", out.summary
    assert "tcp/80 from 0.0.0.0/0" in out.summary and "sg-task" in out.summary and "assignPublicIp ENABLED" in out.summary
    assert out.resources == ["sg-task"] and out.evidence["public_ip"]


@pytest.mark.parametrize("perm,ports", [(tcp(22, "0.0.0.0/0"), "tcp/22"), (tcp(0, v6="::/0", to=65535), "tcp/0-65535"),
                                        ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "every port"),
                                        (tcp(53, "0.0.0.0/0", proto="udp"), "udp/53")])
def test_public_task_fails_on_any_port_the_world_reaches_not_only_the_container_port(perm, ports):
    out = run("sg.task-not-open-to-world", build(service=public(), ingress=[ALB_RULE, perm]))
    assert out.status == "fail" and ports in out.summary, out.summary


def test_public_task_passes_naming_what_it_judged_when_no_rule_admits_the_world():
    ingress = [ALB_RULE, tcp(22, "203.0.113.0/24"), tcp(8000, pl="pl-0123456789abcdef0"),
               {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    out = run("sg.task-not-open-to-world", build(service=public(), ingress=ingress))
    assert out.status == "pass", out.summary  # a prefix list is not the world; ICMP opens no port
    assert "public IP" in out.summary and "4 ingress rule(s) judged" in out.summary and out.resources == ["sg-task"]


def test_a_public_ip_on_the_task_interface_is_evidence_too():
    ctx = build(ingress=[ALB_RULE, tcp(8443, "0.0.0.0/0")])
    task = Task.from_raw({"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/abc", "lastStatus": "RUNNING",
                          "desiredStatus": "RUNNING", "group": "service:api",
                          "attachments": [{"type": "ElasticNetworkInterface", "details": [
                              {"name": "networkInterfaceId", "value": "eni-1"},
                              {"name": "privateIPv4Address", "value": "10.0.1.5"}]}]})
    ctx.snapshot.tasks[task.arn] = task
    ctx.snapshot.network_interfaces["eni-1"] = NetworkInterface.from_raw({
        "NetworkInterfaceId": "eni-1", "PrivateIpAddress": "10.0.1.5",
        "Association": {"PublicIp": "203.0.113.12", "IpOwnerId": "amazon"}})
    out = run("sg.task-not-open-to-world", ctx)
    assert out.status == "fail" and "203.0.113.12" in out.summary and "tcp/8443" in out.summary


def test_private_task_is_judged_on_every_container_port_even_without_a_load_balancer():
    ctx = build(service=public("DISABLED", lbs=False), ingress=[tcp(8000, "0.0.0.0/0"), tcp(22, "0.0.0.0/0")])
    out = run("sg.task-not-open-to-world", ctx)
    assert out.status == "fail" and "tcp/8000" in out.summary and "22" not in out.summary


def test_private_task_passes_naming_the_ports_it_judged():
    out = run("sg.task-not-open-to-world", build(ingress=[ALB_RULE, tcp(22, "0.0.0.0/0")]))
    assert out.status == "pass" and "tcp/8000" in out.summary and out.resources == ["sg-task"]


def test_no_public_ip_and_no_known_port_is_a_skip_never_a_pass():
    ctx = build(service=public("DISABLED", lbs=False), ingress=[tcp(80, "0.0.0.0/0")])
    ctx.snapshot.task_definitions.clear()  # the task definition was not read: no container port is known
    out = run("sg.task-not-open-to-world", ctx)
    assert out.status == "skip" and "no port to judge" in out.summary and "sg-task" in out.summary


# --------------------------------------------------------------------------- dns: what a domain reaches
def alias(name: str, zone: str = "Z2FDTNDATAQYW2", rtype: str = "A", z: str = "Z1") -> dict:
    return {"_zone": z, "Name": "api.example.com.", "Type": rtype,
            "AliasTarget": {"HostedZoneId": zone, "DNSName": name, "EvaluateTargetHealth": False}}


def cname(value: str) -> dict:
    return {"Name": "api.example.com.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": value}]}


def no_service(ctx):
    ctx.path.service = None
    return ctx


@pytest.mark.parametrize("record,words", [
    (alias("vpce-1a2b3c4d5e6f1a2b3-9hnenorg.s3.us-east-1.vpce.amazonaws.com.", "Z7HUB22UULQXV"),
     ["VPC endpoint vpce-1a2b3c4d5e6f1a2b3"]),
    (alias("d111111abcdef8.cloudfront.net."), ["CloudFront distribution d111111abcdef8.cloudfront.net"]),
    (alias("s3-website-us-west-2.amazonaws.com.", "Z3BJ6K6RIION7M"), ["S3 website endpoint"]),
    (alias("d-abcde12345.execute-api.us-west-2.amazonaws.com.", "Z2OJLYMUO9EFXC"), ["API Gateway endpoint"]),
    (alias("a1234567890abcdef.awsglobalaccelerator.com.", "Z2BJ6XQ5FK7U4H"), ["Global Accelerator"]),
    (cname("my-env.eba-abcd1234.us-west-2.elasticbeanstalk.com"), ["Elastic Beanstalk environment"]),
    ({"Name": "api.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.44"}]},
     ["the address 192.0.2.44"]),
    (cname("other.example.net"), ["other.example.net, a name outside"]),
    (cname("k8s-other-1234.us-east-1.elb.amazonaws.com"), ["not in this account and region"]),
])
def test_a_domain_that_reaches_no_load_balancer_fails_naming_what_it_reaches(record, words):
    ctx = no_service(build(records=[record]))
    out = run("dns.points-to-service-alb", ctx)
    assert out.status == "fail", out.summary
    assert "reaches no load balancer of this account" in out.summary
    for w in words:
        assert w in out.summary, out.summary
    assert "api.example.com" in out.resources


def test_a_private_zone_is_named_and_record_exists_says_it_answers_only_inside_its_vpcs():
    ctx = no_service(build(records=[alias("vpce-0abc-1.s3.us-east-1.vpce.amazonaws.com.", "Z7HUB22UULQXV", z="ZP")]))
    ctx.snapshot.zones.pop("Z1")
    ctx.snapshot.zones["ZP"] = HostedZone.from_raw({"Id": "/hostedzone/ZP", "Name": "example.com.",
                                                    "Config": {"PrivateZone": True}})
    ctx.path.branches = P.branches(ctx.snapshot, "api.example.com")
    out = run("dns.points-to-service-alb", ctx)
    assert out.status == "fail" and "private zone ZP" in out.summary and out.evidence["private_zones"] == ["ZP"]
    rec = run("dns.record-exists", ctx)
    assert rec.status == "pass" and "Only in private zone ZP" in rec.summary


def test_a_domain_on_a_load_balancer_with_no_ecs_service_fails_naming_it_and_its_target_groups():
    ctx = no_service(build(alias_to="legacy"))
    out = run("dns.points-to-service-alb", ctx)
    assert out.status == "fail"
    assert "reaches load balancer legacy" in out.summary and "forward to old" in out.summary
    assert "no ECS service" in out.summary and out.evidence["target_groups_forwarded"] == ["old"]


def test_with_the_service_found_a_vpc_endpoint_fails_and_cloudfront_stays_unjudged():
    out = run("dns.points-to-service-alb", build(records=[alias("vpce-0abc-1.s3.us-east-1.vpce.amazonaws.com.")]))
    assert out.status == "fail" and "resolves to the VPC endpoint vpce-0abc" in out.summary and "behind prod" in out.summary
    out = run("dns.points-to-service-alb", build(records=[alias("d111111abcdef8.cloudfront.net.")]))
    assert out.status == "warn" and out.summary.startswith("Not covered: a CloudFront distribution")
    out = run("dns.points-to-service-alb", build(records=[alias("a1.awsglobalaccelerator.com.")]))
    assert out.status == "warn" and "Global Accelerator" in out.summary


def test_points_to_service_alb_pass_names_the_load_balancer():
    out = run("dns.points-to-service-alb", build())
    assert out.status == "pass" and LB_ARN in out.resources and "prod" in out.summary
    assert TG_OLD not in out.resources and SVC_ARN not in out.resources
