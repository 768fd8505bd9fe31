"""export terraform: every value parses back (HCL) and equals what the account says. Not plan-verified here:
no Terraform provider can be fetched on this project's machines."""

from __future__ import annotations

import json

import boto3
import pytest

hcl2 = pytest.importorskip("hcl2")
pytestmark = pytest.mark.slow


def _client(endpoint, name):
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1")


def test_export_matches_the_account(cli, scenario_server, tmp_path):
    endpoint = scenario_server("healthy")
    out = tmp_path / "tf"
    proc = cli("export", "terraform", "--endpoint-url", endpoint, "--region", "us-east-1", "--domain",
               "api.shineskincollective.com", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    main = hcl2.loads((out / "main.tf").read_text())
    imports = hcl2.loads((out / "imports.tf").read_text())["import"]
    res = {(kind, name): body for r in main["resource"] for kind, named in r.items() for name, body in named.items()}
    assert {i["to"].strip("${}") for i in imports} == {f"{k}.{n}" for k, n in res}

    elb, ecs, ec2 = _client(endpoint, "elbv2"), _client(endpoint, "ecs"), _client(endpoint, "ec2")
    by_kind = lambda kind: {n: b for (k, n), b in res.items() if k == kind}  # noqa: E731
    ids = {i["to"].strip("${}"): i["id"] for i in imports}

    for name, body in by_kind("aws_lb_target_group").items():
        tg = elb.describe_target_groups(TargetGroupArns=[ids[f"aws_lb_target_group.{name}"]])["TargetGroups"][0]
        assert (body["name"], body["port"], body["protocol"], body["vpc_id"], body["target_type"]) == (
            tg["TargetGroupName"], tg["Port"], tg["Protocol"], tg["VpcId"], tg["TargetType"])
        hc = body["health_check"][0]
        assert (hc["path"], hc["port"], hc["matcher"]) == (tg["HealthCheckPath"], tg["HealthCheckPort"],
                                                         tg["Matcher"]["HttpCode"])
    (lb_name, lb_body), = by_kind("aws_lb").items()
    lb = elb.describe_load_balancers(LoadBalancerArns=[ids[f"aws_lb.{lb_name}"]])["LoadBalancers"][0]
    assert lb_body["name"] == lb["LoadBalancerName"] == "production-shine-skincare-alb"
    assert sorted(lb_body["subnets"]) == sorted(a["SubnetId"] for a in lb["AvailabilityZones"])
    for name, body in by_kind("aws_lb_listener").items():
        lst = elb.describe_listeners(ListenerArns=[ids[f"aws_lb_listener.{name}"]])["Listeners"][0]
        assert (body["port"], body["protocol"]) == (lst["Port"], lst["Protocol"])
    (rule_name, rule), = by_kind("aws_lb_listener_rule").items()
    live = elb.describe_rules(RuleArns=[ids[f"aws_lb_listener_rule.{rule_name}"]])["Rules"][0]
    assert rule["priority"] == int(live["Priority"])
    assert rule["condition"][0]["path_pattern"][0]["values"] == live["Conditions"][0]["PathPatternConfig"]["Values"]
    for name, body in by_kind("aws_security_group").items():
        g = ec2.describe_security_groups(GroupIds=[ids[f"aws_security_group.{name}"]])["SecurityGroups"][0]
        assert body["name"] == g["GroupName"]
        ports = sorted((r["from_port"], r["to_port"]) for r in body.get("ingress", []))
        assert ports == sorted((p.get("FromPort", 0), p.get("ToPort", 0)) for p in g["IpPermissions"])
    (svc_name, svc_body), = by_kind("aws_ecs_service").items()
    svc = ecs.describe_services(cluster="production-shine-cluster", services=["shine-api-gateway"])["services"][0]
    assert ids[f"aws_ecs_service.{svc_name}"] == "production-shine-cluster/shine-api-gateway"
    assert (svc_body["desired_count"], svc_body["health_check_grace_period_seconds"]) == (
        svc["desiredCount"], svc["healthCheckGracePeriodSeconds"])
    lbm = svc_body["load_balancer"][0]
    assert (lbm["container_name"], lbm["container_port"]) == (svc["loadBalancers"][0]["containerName"],
                                                              svc["loadBalancers"][0]["containerPort"])
    (td_name, td_body), = by_kind("aws_ecs_task_definition").items()
    td = ecs.describe_task_definition(taskDefinition=ids[f"aws_ecs_task_definition.{td_name}"])["taskDefinition"]
    assert json.loads(td_body["container_definitions"]) == json.loads(json.dumps(td["containerDefinitions"],
                                                                                 sort_keys=True))
    (rec_name, rec), = by_kind("aws_route53_record").items()
    assert rec["name"] == "api.shineskincollective.com" and rec["type"] == "A"
    assert rec["alias"][0]["name"] == f"${{aws_lb.{lb_name}.dns_name}}"  # the alias follows the exported ALB
