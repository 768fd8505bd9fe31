"""Build snapshots from raw AWS shapes, so evaluators are tested as the pure functions they are."""

from __future__ import annotations

from shine_ops.evaluators import Context, Settings, load_builtin
from shine_ops.topology import path as P
from shine_ops.topology.model import (HostedZone, Listener, LoadBalancer, RecordSet, Rule, SecurityGroup, Service,
                                      Subnet, TaskDefinition, TargetGroup)
from shine_ops.topology.snapshot import Snapshot

ACCT = "123456789012"
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:loadbalancer/app/prod/abc"
LEGACY_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:loadbalancer/app/legacy/def"
TG_SVC = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/svc/1"
TG_OLD = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:targetgroup/old/2"
LST = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener/app/prod/abc/l1"
LST_LEGACY = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener/app/legacy/def/l2"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/api:3"
SVC_ARN = f"arn:aws:ecs:us-east-1:{ACCT}:service/prod/api"


def lb(arn: str, name: str, sgs: list[str]) -> LoadBalancer:
    return LoadBalancer.from_raw({"LoadBalancerArn": arn, "LoadBalancerName": name, "DNSName": f"{name}-1.us-east-1.elb.amazonaws.com",
                                  "Type": "application", "Scheme": "internet-facing", "State": {"Code": "active"},
                                  "SecurityGroups": sgs, "AvailabilityZones": [{"SubnetId": "subnet-a"}],
                                  "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K"})


def forward(tg: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": tg}]


def rule(arn: str, prio: int | str, paths: list[str] | None, tg: str, listener: str = LST) -> Rule:
    conds = [{"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}] if paths else []
    return Rule.from_raw(listener, {"RuleArn": arn, "Priority": str(prio), "IsDefault": prio == "default",
                                    "Conditions": conds, "Actions": forward(tg)})


def build(*, alias_to: str = "prod", default_tg: str = TG_SVC, rules: list[tuple[int, list[str], str]] = (),
          tg_port: int = 8000, container_port: int = 8000, ingress: list[dict] | None = None,
          service: dict | None = None, records: list[dict] | None = None) -> Context:
    load_builtin()
    s = Snapshot(region="us-east-1", account=ACCT)
    for l in (lb(LB_ARN, "prod", ["sg-alb"]), lb(LEGACY_ARN, "legacy", ["sg-legacy"])):
        s.load_balancers[l.arn] = l
    s.listeners[LST] = Listener.from_raw({"ListenerArn": LST, "LoadBalancerArn": LB_ARN, "Port": 443, "Protocol": "HTTPS",
                                          "DefaultActions": forward(default_tg)})
    s.listeners[LST_LEGACY] = Listener.from_raw({"ListenerArn": LST_LEGACY, "LoadBalancerArn": LEGACY_ARN, "Port": 80,
                                                 "Protocol": "HTTP", "DefaultActions": forward(TG_OLD)})
    s.rules[LST] = [rule(f"{LST}/r{p}", p, paths, tg) for p, paths, tg in rules] + [rule(f"{LST}/default", "default", None, default_tg)]
    s.rules[LST_LEGACY] = [rule(f"{LST_LEGACY}/default", "default", None, TG_OLD, LST_LEGACY)]
    for arn, name, port, lbs in ((TG_SVC, "svc", tg_port, [LB_ARN]), (TG_OLD, "old", 8080, [LEGACY_ARN])):
        s.target_groups[arn] = TargetGroup.from_raw({"TargetGroupArn": arn, "TargetGroupName": name, "Port": port,
                                                      "Protocol": "HTTP", "TargetType": "ip", "LoadBalancerArns": lbs,
                                                      "HealthCheckPath": "/health", "HealthCheckPort": "traffic-port"})
    svc_raw = {"serviceArn": SVC_ARN, "serviceName": "api", "clusterArn": f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod",
               "status": "ACTIVE", "desiredCount": 2, "runningCount": 2, "pendingCount": 0, "taskDefinition": TD_ARN,
               "loadBalancers": [{"targetGroupArn": TG_SVC, "containerName": "api", "containerPort": container_port}],
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-task"]}}}
    svc_raw.update(service or {})
    svc = Service.from_raw(svc_raw)
    s.services[svc.arn] = svc
    s.task_definitions[TD_ARN] = TaskDefinition.from_raw({
        "taskDefinitionArn": TD_ARN, "family": "api", "revision": 3, "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "api", "image": "api:1", "portMappings": [{"containerPort": container_port}],
                                  "environment": [{"name": "PORT", "value": str(container_port)}]}]})
    s.security_groups["sg-alb"] = SecurityGroup.from_raw({"GroupId": "sg-alb", "GroupName": "alb", "IpPermissions": []})
    s.security_groups["sg-task"] = SecurityGroup.from_raw({
        "GroupId": "sg-task", "GroupName": "task",
        "IpPermissions": ingress if ingress is not None else [
            {"IpProtocol": "tcp", "FromPort": container_port, "ToPort": container_port,
             "UserIdGroupPairs": [{"GroupId": "sg-alb"}]}]})
    s.subnets["subnet-a"] = Subnet.from_raw({"SubnetId": "subnet-a", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"})
    s.zones["Z1"] = HostedZone.from_raw({"Id": "/hostedzone/Z1", "Name": "example.com.", "Config": {"PrivateZone": False}})
    target_lb = s.load_balancers[LB_ARN if alias_to == "prod" else LEGACY_ARN]
    for raw in records if records is not None else [
            {"Name": "api.example.com.", "Type": "A",
             "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"dualstack.{target_lb.dns_name}.",
                             "EvaluateTargetHealth": True}}]:
        s.records.append(RecordSet.from_raw(raw.pop("_zone", "Z1"), raw))
    path = P.RequestPath(domain="api.example.com", branches=P.branches(s, "api.example.com"), service=svc,
                         service_source="given")
    return Context(snapshot=s, path=path, settings=Settings())
