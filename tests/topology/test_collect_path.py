"""Collectors and request-path resolution against an in-process moto account.

Every test builds its own small account through plain boto3 clients (fixtures in conftest.py), runs
``Collector(aws).collect(Target(...))`` with the product's ``Aws`` and asserts on the resolved
``RequestPath`` and the ``Snapshot``.
"""

from __future__ import annotations

import socket

import pytest

from shine_ops.errors import EndpointUnreachable, UsageError
from shine_ops.topology import path as P
from shine_ops.topology.collect import Collector, Target

CLUSTER = "prod"
ZONE = "example.com"


# --------------------------------------------------------------------------- account builder
class Account:
    """A tiny topology builder over boto3 clients: one VPC with two subnets and one security group."""

    def __init__(self, clients: dict) -> None:
        self.ec2, self.elbv2, self.ecs, self.r53 = (clients[n] for n in ("ec2", "elbv2", "ecs", "route53"))
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=self.vpc, EnableDnsHostnames={"Value": True})
        self.subnets = [self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
                        for cidr, az in (("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"))]
        self.sg = self.ec2.create_security_group(GroupName="web", Description="web", VpcId=self.vpc)["GroupId"]
        self._clusters: set[str] = set()
        self._task_def: str | None = None
        self.zones: dict[str, str] = {}

    # ELBv2
    def alb(self, name: str) -> dict:
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=self.subnets, SecurityGroups=[self.sg],
                                             Scheme="internet-facing", Type="application")["LoadBalancers"][0]
        return {"arn": lb["LoadBalancerArn"], "dns": lb["DNSName"], "zone": lb["CanonicalHostedZoneId"],
                "ref": lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]}

    def tg(self, name: str, port: int = 8000) -> str:
        return self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=port, VpcId=self.vpc,
                                              TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]

    def listener(self, lb: dict, port: int = 80, tg: str | None = None) -> str:
        action = ({"Type": "forward", "TargetGroupArn": tg} if tg else
                  {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}})
        return self.elbv2.create_listener(LoadBalancerArn=lb["arn"], Protocol="HTTP", Port=port,
                                          DefaultActions=[action])["Listeners"][0]["ListenerArn"]

    def rule(self, listener: str, priority: int, tg: str, *, paths: list[str] | None = None,
             hosts: list[str] | None = None, header: tuple[str, str] | None = None) -> str:
        conds: list[dict] = []
        if paths:
            conds.append({"Field": "path-pattern", "PathPatternConfig": {"Values": paths}})
        if hosts:
            conds.append({"Field": "host-header", "HostHeaderConfig": {"Values": hosts}})
        if header:
            conds.append({"Field": "http-header",
                          "HttpHeaderConfig": {"HttpHeaderName": header[0], "Values": [header[1]]}})
        return self.elbv2.create_rule(ListenerArn=listener, Priority=priority, Conditions=conds,
                                      Actions=[{"Type": "forward", "TargetGroupArn": tg}])["Rules"][0]["RuleArn"]

    def alb_to(self, name: str, tg: str) -> dict:
        """An ALB whose HTTP:80 listener forwards everything to ``tg``."""
        lb = self.alb(name)
        lb["listener"] = self.listener(lb, 80, tg)
        return lb

    # ECS
    def service(self, name: str, tgs: list[str], cluster: str = CLUSTER) -> str:
        if cluster not in self._clusters:
            self.ecs.create_cluster(clusterName=cluster)
            self._clusters.add(cluster)
        if self._task_def is None:
            self._task_def = self.ecs.register_task_definition(
                family="app", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": "app:1", "memory": 512, "essential": True,
                                       "portMappings": [{"containerPort": 8000, "protocol": "tcp"}]}],
            )["taskDefinition"]["taskDefinitionArn"]
        return self.ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=self._task_def, desiredCount=1, launchType="FARGATE",
            loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 8000} for tg in tgs],
            networkConfiguration={"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg],
                                                          "assignPublicIp": "DISABLED"}},
        )["service"]["serviceArn"]

    # Route 53
    def zone(self, name: str = ZONE) -> str:
        if name not in self.zones:
            self.zones[name] = self.r53.create_hosted_zone(Name=name, CallerReference=f"ref-{name}")[
                "HostedZone"]["Id"].split("/")[-1]
        return self.zones[name]

    def records(self, *rrsets: dict, zone: str = ZONE) -> None:
        self.r53.change_resource_record_sets(HostedZoneId=self.zone(zone), ChangeBatch={
            "Changes": [{"Action": "CREATE", "ResourceRecordSet": r} for r in rrsets]})

    @staticmethod
    def alias(name: str, lb: dict, dns: str | None = None, **extra) -> dict:
        return {"Name": name, "Type": "A", **extra,
                "AliasTarget": {"HostedZoneId": lb["zone"], "DNSName": dns or f"dualstack.{lb['dns']}.",
                                "EvaluateTargetHealth": True}}

    @staticmethod
    def cname(name: str, value: str) -> dict:
        return {"Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": value}]}

    @staticmethod
    def a(name: str, *ips: str) -> dict:
        return {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": ip} for ip in ips]}


@pytest.fixture
def acct(clients: dict) -> Account:
    return Account(clients)


def collect(aws, **target):
    return Collector(aws).collect(Target(**target))


# --------------------------------------------------------------------------- DNS -> ALB -> service
def test_domain_alias_in_multi_alb_account_resolves_the_service_behind_that_alb(aws, acct):
    api_tg, worker_tg = acct.tg("api-tg"), acct.tg("worker-tg")
    right = acct.alb_to("api-alb", api_tg)
    other = acct.alb_to("worker-alb", worker_tg)
    empty = acct.alb("empty-alb")
    acct.listener(empty, 80)  # fixed 404, no target group
    acct.service("api", [api_tg])
    acct.service("worker", [worker_tg])
    acct.records(acct.alias("api.example.com", right), acct.alias("worker.example.com", other),
                 acct.alias("old.example.com", empty))

    snap, path = collect(aws, domain="api.example.com")

    assert len(snap.load_balancers) == 3
    assert path.record_lb_arns == [right["arn"]]
    assert path.service is not None and path.service.key == "prod/api"
    assert path.service_source == "domain"
    assert path.candidates == []
    assert [b.lb_arn for b in path.branches] == [right["arn"]]
    assert path.branches[0].label == "api.example.com A"
    assert path.service_lb_arns(snap) == [right["arn"]]


def test_explore_stale(aws, acct):
    api_tg, stale_tg = acct.tg("api-tg"), acct.tg("stale-tg")
    right = acct.alb_to("api-alb", api_tg)
    acct.service("api", [api_tg])
    acct.service("legacy", [stale_tg])
    acct.elbv2.delete_target_group(TargetGroupArn=stale_tg)
    acct.records(acct.alias("api.example.com", right))
    snap, path = collect(aws, domain="api.example.com")
    print(path.service.key)


def test_explore_missing_cluster(aws, acct):
    snap, path = collect(aws, cluster="nocluster", service="nope")
    print(snap.missing_services)


def test_explore_ipv6(aws, acct):
    api_tg = acct.tg("api-tg")
    right = acct.alb_to("api-alb", api_tg)
    acct.service("api", [api_tg])
    acct.records(acct.alias("example.com", right), acct.cname("ipv6.example.com", "elsewhere.net"))
    snap, path = collect(aws, domain="ipv6.example.com")
    print(path.domain, path.branches, [r.name for r in snap.records])

def test_explore_header(aws, acct):
    api_tg = acct.tg("api-tg")
    right = acct.alb_to("api-alb", api_tg)
    acct.rule(right["listener"], 5, api_tg, header=("X-Canary", "1"))
    print(acct.elbv2.describe_rules(ListenerArn=right["listener"])["Rules"])
