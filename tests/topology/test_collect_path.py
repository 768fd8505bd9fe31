"""Collectors and request-path resolution against an in-process moto account.

Every test builds its own small account through plain boto3 clients (fixtures in conftest.py), runs
``Collector(aws).collect(Target(...))`` with the product's ``Aws`` and asserts on the resolved
``RequestPath`` and the ``Snapshot``.
"""

from __future__ import annotations

import pytest

from shine_ops.errors import AwsCallError, UsageError
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



def test_dualstack_alias_with_trailing_dot_and_mixed_case_resolves_to_the_alb(aws, acct):
    tg = acct.tg("api-tg")
    lb = acct.alb_to("Name", tg)
    assert lb["dns"] == "Name-1.us-east-1.elb.amazonaws.com"  # moto's DNS naming, as the notes say
    acct.service("api", [tg])
    acct.records(acct.alias("api.example.com", lb, dns="DUALSTACK.Name-1.US-EAST-1.elb.amazonaws.com."))

    snap, path = collect(aws, domain="API.Example.com.")

    assert path.domain == "api.example.com"
    [rec] = [r for r in snap.records if r.name == "api.example.com"]
    assert rec.alias_dns == "name-1.us-east-1.elb.amazonaws.com"
    assert rec.raw["AliasTarget"]["DNSName"] == "DUALSTACK.Name-1.US-EAST-1.elb.amazonaws.com."  # evidence kept verbatim
    assert [b.lb_arn for b in path.branches] == [lb["arn"]]
    assert path.branches[0].external is None
    assert path.service is not None and path.service.key == "prod/api"
    assert path.service_source == "domain"


def test_cname_chain_of_two_records_ends_at_the_alb(aws, acct):
    tg = acct.tg("api-tg")
    lb = acct.alb_to("edge-alb", tg)
    acct.service("api", [tg])
    acct.records(acct.cname("api.example.com", "edge.example.com"),
                 acct.cname("edge.example.com", lb["dns"] + "."))

    snap, path = collect(aws, domain="api.example.com")

    [branch] = P.branches(snap, "api.example.com")
    assert [(r.name, r.type) for r in branch.chain] == [("api.example.com", "CNAME"), ("edge.example.com", "CNAME")]
    assert branch.lb_arn == lb["arn"] and branch.external is None
    assert branch.label == "api.example.com CNAME -> edge.example.com CNAME"
    assert path.record_lb_arns == [lb["arn"]]
    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "domain"


def test_cname_to_a_name_outside_the_account_is_an_external_branch(aws, acct):
    acct.zone()
    acct.records(acct.cname("api.example.com", "shop.vendor.net."))

    snap, path = collect(aws, domain="api.example.com")

    [branch] = path.branches
    assert branch.lb_arn is None and branch.external == "shop.vendor.net"
    assert path.record_lb_arns == [] and path.service is None


def _weighted_pair(acct: Account, blue_tg: str, green_tg: str) -> tuple[dict, dict]:
    blue, green = acct.alb_to("blue-alb", blue_tg), acct.alb_to("green-alb", green_tg)
    acct.records(acct.alias("api.example.com", blue, SetIdentifier="blue", Weight=90),
                 acct.alias("api.example.com", green, SetIdentifier="green", Weight=10))
    return blue, green


def test_weighted_records_to_two_albs_give_two_branches(aws, acct):
    # Blue/green: the same service sits in a target group behind each of the two load balancers.
    blue_tg, green_tg = acct.tg("blue-tg"), acct.tg("green-tg")
    blue, green = _weighted_pair(acct, blue_tg, green_tg)
    acct.service("api", [blue_tg, green_tg])

    snap, path = collect(aws, domain="api.example.com")

    assert len(path.branches) == 2
    by_id = {b.chain[0].set_identifier: b for b in path.branches}
    assert by_id["blue"].lb_arn == blue["arn"] and by_id["green"].lb_arn == green["arn"]
    assert {b.chain[0].weight for b in path.branches} == {90, 10}
    assert all(b.chain[0].routing == "weighted" for b in path.branches)
    assert sorted(path.record_lb_arns) == sorted([blue["arn"], green["arn"]])
    assert by_id["blue"].label == "api.example.com A [blue]"
    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "domain"
    assert sorted(path.service_lb_arns(snap)) == sorted([blue["arn"], green["arn"]])


def test_weighted_records_to_albs_of_two_different_services_ask_which_one(aws, acct):
    blue_tg, green_tg = acct.tg("blue-tg"), acct.tg("green-tg")
    blue, green = _weighted_pair(acct, blue_tg, green_tg)
    acct.service("api-blue", [blue_tg])
    acct.service("api-green", [green_tg])

    with pytest.raises(UsageError) as err:
        collect(aws, domain="api.example.com")
    assert err.value.message == "api.example.com leads to 2 ECS services: prod/api-blue, prod/api-green"

    # Naming the service settles it; both weighted branches are still resolved.
    snap, path = collect(aws, domain="api.example.com", cluster=CLUSTER, service="api-green")
    assert path.service is not None and path.service.key == "prod/api-green" and path.service_source == "given"
    assert sorted(path.record_lb_arns) == sorted([blue["arn"], green["arn"]])
    assert [r.routing for r in snap.records if r.name == "api.example.com"] == ["weighted", "weighted"]


@pytest.fixture
def public_ip_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5 does not implement the ``association.public-ip`` filter of DescribeNetworkInterfaces
    (FilterNotImplementedError); the collector asks for it next to ``addresses.private-ip-address``."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    original = NetworkInterface.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == "association.public-ip":
            return self.public_ip
        return original(self, filter_name, method_name)

    monkeypatch.setattr(NetworkInterface, "get_filter_value", get_filter_value)


def test_plain_a_record_on_an_elb_network_interface_reaches_that_alb(aws, acct, public_ip_filter):
    tg = acct.tg("api-tg")
    lb = acct.alb_to("ip-alb", tg)
    decoy = acct.alb_to("decoy-alb", acct.tg("decoy-tg"))
    acct.service("api", [tg])
    # The ALB's node interfaces (real ELB ENIs describe themselves as "ELB app/<name>/<id>").
    acct.ec2.create_network_interface(SubnetId=acct.subnets[0], PrivateIpAddress="10.0.1.77",
                                      Description=f"ELB {lb['ref']}")
    acct.ec2.create_network_interface(SubnetId=acct.subnets[1], PrivateIpAddress="10.0.2.88",
                                      Description=f"ELB {decoy['ref']}")
    acct.ec2.create_network_interface(SubnetId=acct.subnets[1], PrivateIpAddress="10.0.2.99",
                                      Description="some instance")
    acct.records(acct.a("api.example.com", "10.0.1.77"))

    snap, path = collect(aws, domain="api.example.com")

    assert lb["ref"].startswith("app/ip-alb/")
    [branch] = path.branches
    assert branch.lb_arn == lb["arn"] and branch.external is None
    assert [(r.type, r.values) for r in branch.chain] == [("A", ["10.0.1.77"])]
    # Only the interface owning the record's IP was fetched.
    assert [e.load_balancer_ref for e in snap.network_interfaces.values()] == [lb["ref"]]
    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "domain"


def test_plain_a_record_on_no_known_interface_is_external(aws, acct, public_ip_filter):
    acct.alb_to("some-alb", acct.tg("some-tg"))
    acct.records(acct.a("api.example.com", "203.0.113.10", "203.0.113.11"))

    snap, path = collect(aws, domain="api.example.com")

    [branch] = path.branches
    assert branch.lb_arn is None and branch.external == "203.0.113.10, 203.0.113.11"


# --------------------------------------------------------------------------- service side
@pytest.mark.parametrize("layout", ["one-alb-default-and-rule", "two-listeners", "two-albs"])
def test_service_behind_two_target_groups(aws, acct, layout):
    tg_a, tg_b = acct.tg("svc-a-tg"), acct.tg("svc-b-tg", port=9000)
    other_tg = acct.tg("other-tg")
    if layout == "one-alb-default-and-rule":
        lb = acct.alb_to("svc-alb", tg_a)
        acct.rule(lb["listener"], 10, tg_b, paths=["/admin/*"])
        expected_lbs = [lb["arn"]]
    elif layout == "two-listeners":
        lb = acct.alb_to("svc-alb", tg_a)
        acct.listener(lb, 8080, tg_b)
        expected_lbs = [lb["arn"]]
    else:
        expected_lbs = [acct.alb_to("svc-alb", tg_a)["arn"], acct.alb_to("svc-admin-alb", tg_b)["arn"]]
    acct.alb_to("other-alb", other_tg)
    acct.service("svc", [tg_a, tg_b])
    acct.service("other", [other_tg])

    snap, path = collect(aws, cluster=CLUSTER, service="svc")

    assert path.service is not None and path.service.key == "prod/svc" and path.service_source == "given"
    assert path.service_tg_arns() == [tg_a, tg_b]
    assert {tg_a, tg_b} <= set(snap.target_groups)
    assert sorted(path.service_lb_arns(snap)) == sorted(expected_lbs)
    assert sorted(path.path_lb_arns(snap)) == sorted(expected_lbs)  # no domain: only the service side


def test_domain_on_a_decoy_alb_picks_the_only_candidate_service(aws, acct):
    decoy_tg, api_tg = acct.tg("decoy-tg"), acct.tg("api-tg")
    decoy = acct.alb_to("decoy-alb", decoy_tg)  # its target group has no ECS service
    right = acct.alb_to("api-alb", api_tg)
    acct.service("api", [api_tg])
    acct.records(acct.alias("api.example.com", decoy))

    snap, path = collect(aws, domain="api.example.com")

    assert path.record_lb_arns == [decoy["arn"]]
    assert path.service is not None and path.service.key == "prod/api"
    assert path.service_source == "only-candidate"
    assert path.candidates == ["prod/api"]
    assert P.services_behind(snap, [decoy["arn"]]) == []
    # Both load balancers are on the path: the one the record reaches, then the one before the service.
    assert path.path_lb_arns(snap) == [decoy["arn"], right["arn"]]


def test_domain_on_a_decoy_alb_with_two_candidate_services_names_both(aws, acct):
    decoy_tg, api_tg, web_tg = acct.tg("decoy-tg"), acct.tg("api-tg"), acct.tg("web-tg")
    decoy = acct.alb_to("decoy-alb", decoy_tg)
    acct.alb_to("api-alb", api_tg)
    acct.alb_to("web-alb", web_tg)
    acct.service("web", [web_tg])
    acct.service("api", [api_tg])
    acct.records(acct.alias("api.example.com", decoy))

    with pytest.raises(UsageError) as err:
        collect(aws, domain="api.example.com")

    assert err.value.message == ("api.example.com reaches no ECS service; candidates behind other load balancers: "
                                 "prod/api, prod/web")
    assert err.value.hint == "pick one with --cluster and --service"


def test_cluster_and_service_without_domain_finds_the_domain_by_reverse_lookup(aws, acct):
    api_tg, other_tg = acct.tg("api-tg"), acct.tg("other-tg")
    lb = acct.alb_to("api-alb", api_tg)
    other = acct.alb_to("other-alb", other_tg)
    acct.service("api", [api_tg])
    acct.service("other", [other_tg])
    acct.records(acct.alias("aaa.example.com", other),           # sorts first but reaches another ALB
                 acct.cname("docs.example.com", "docs.vendor.net"),
                 acct.alias("www.example.com", lb),
                 acct.cname("zzz.example.com", "www.example.com"))  # reaches it too, but sorts after www

    snap, path = collect(aws, cluster=CLUSTER, service="api")

    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "given"
    assert path.requested_service == "prod/api"
    assert path.domain == "www.example.com"
    assert path.record_lb_arns == [lb["arn"]]
    assert [b.label for b in path.branches] == ["www.example.com A"]


def test_missing_service_is_recorded_not_raised(aws, acct):
    acct.ecs.create_cluster(clusterName="c")

    snap, path = collect(aws, cluster="c", service="nope")

    assert snap.missing_services == ["c/nope"]
    assert path.service is None
    assert path.requested_service == "c/nope"
    assert path.candidates == []  # a named service is never swapped for a candidate


def test_service_in_a_cluster_that_does_not_exist_is_recorded_as_missing(aws, acct):
    snap, path = collect(aws, cluster="c", service="nope")

    assert snap.missing_services == ["c/nope"]
    assert path.service is None


# --------------------------------------------------------------------------- bounded API calls
def _scale_account(acct: Account, extra: int) -> None:
    tg = acct.tg("api-tg")
    lb = acct.alb_to("api-alb", tg)
    acct.service("api", [tg])
    rrsets = [acct.alias("api.example.com", lb)]
    for i in range(extra):
        xtg = acct.tg(f"x{i}-tg")
        xlb = acct.alb_to(f"x{i}-alb", xtg)
        acct.service(f"x{i}", [xtg])
        rrsets.append(acct.alias(f"x{i}.example.com", xlb))
    acct.records(*rrsets)


def _calls_for(clients: dict, extra: int) -> tuple[int, dict]:
    from shine_ops.aws import Aws, ConnectionOptions

    _scale_account(Account(clients), extra)
    aws = Aws(ConnectionOptions(region="us-east-1"))
    snap, path = Collector(aws).collect(Target(cluster=CLUSTER, service="api"))
    assert path.service is not None and path.domain == "api.example.com"
    return aws.calls.total, dict(aws.calls.by_operation)


def test_api_call_count_does_not_grow_with_the_account_when_the_service_is_named(moto_env):
    """1 service vs 12 services (11 extra, each behind its own ALB with its own record in the same zone).

    Every list call here fits one page either way (moto pages DescribeLoadBalancers by 50 and
    ListResourceRecordSets by 300; AWS by 400 and 300), so the counts must be exactly equal (17 today).
    They would differ only through pagination: past 50 (moto) / 400 (AWS) load balancers, or past 300
    records in a zone, since the no-domain reverse DNS lookup lists every record of every zone. That is why
    all records share one zone here; the next test pins the per-zone cost.
    """
    import boto3
    from moto import mock_aws

    def run(extra: int) -> tuple[int, dict]:
        with mock_aws():
            clients = {n: boto3.client(n, region_name="us-east-1") for n in ("ec2", "elbv2", "ecs", "route53")}
            return _calls_for(clients, extra)

    small_total, small_ops = run(0)
    large_total, large_ops = run(11)

    assert large_ops == small_ops
    assert large_total == small_total
    # Only the named service's hop was described, never the ECS inventory.
    assert "ecs.ListServices" not in large_ops and "ecs.ListClusters" not in large_ops
    assert large_ops["elbv2.DescribeListeners"] == 1


def test_api_calls_of_the_reverse_dns_lookup_grow_only_with_hosted_zones(moto_env):
    """Without a domain, the reverse lookup reads every record of every hosted zone: one
    ListResourceRecordSets page per zone (300 records a page). Spreading the 11 extra services' records
    over 11 extra zones therefore adds exactly 11 calls of that one operation, and nothing else."""
    import boto3
    from moto import mock_aws

    def run(extra_zones: int) -> dict:
        with mock_aws():
            clients = {n: boto3.client(n, region_name="us-east-1") for n in ("ec2", "elbv2", "ecs", "route53")}
            acct = Account(clients)
            tg = acct.tg("api-tg")
            acct.records(acct.alias("api.example.com", acct.alb_to("api-alb", tg)))
            acct.service("api", [tg])
            for i in range(11):
                xtg = acct.tg(f"x{i}-tg")
                xlb = acct.alb_to(f"x{i}-alb", xtg)
                acct.service(f"x{i}", [xtg])
                acct.records(acct.alias(f"x{i}.example{i}.net" if i < extra_zones else f"x{i}.example.com", xlb),
                             zone=f"example{i}.net" if i < extra_zones else ZONE)
            from shine_ops.aws import Aws, ConnectionOptions

            aws = Aws(ConnectionOptions(region="us-east-1"))
            _snap, path = Collector(aws).collect(Target(cluster=CLUSTER, service="api"))
            assert path.domain == "api.example.com"
            return dict(aws.calls.by_operation)

    one_zone, twelve_zones = run(0), run(11)
    lrrs = "route53.ListResourceRecordSets"
    assert twelve_zones[lrrs] - one_zone[lrrs] == 11
    assert {k: v for k, v in twelve_zones.items() if k != lrrs} == {k: v for k, v in one_zone.items() if k != lrrs}


# --------------------------------------------------------------------------- rule routing
def test_route_picks_the_first_matching_rule_by_priority(aws, acct):
    svc_tg, other_tg, admin_tg, canary_tg = (acct.tg("svc-tg"), acct.tg("other-tg"), acct.tg("admin-tg"),
                                             acct.tg("canary-tg"))
    lb = acct.alb("api-alb")
    lst = acct.listener(lb, 80)  # default: fixed 404
    # Created out of order: evaluation follows priority, not creation order.
    acct.rule(lst, 20, svc_tg, paths=["/api/*"])
    acct.rule(lst, 10, other_tg, paths=["/api/*"])     # shadows priority 20
    acct.rule(lst, 5, canary_tg, header=("X-Canary", "1"))
    acct.rule(lst, 30, admin_tg, hosts=["admin.example.com"])
    acct.rule(lst, 40, svc_tg, paths=["/v6/skin/*"], hosts=["*.example.com"])
    acct.service("svc", [svc_tg])

    snap, path = collect(aws, cluster=CLUSTER, service="svc")
    [listener] = snap.listeners_of(lb["arn"])
    assert [r.priority for r in snap.rules_of(listener.arn)] == [5, 10, 20, 30, 40, None]

    # /api/* goes to the higher-priority (lower number) rule, whose TG is not the service's.
    r = P.route(snap, listener, "api.example.com", "/api/shine-ops-probe")
    assert r.rule is not None and r.rule.priority == 10
    assert [m.priority for m in r.matching] == [10, 20]
    assert r.action.forwarded_tgs == [other_tg]
    assert r.rule_label == "priority 10 (path-pattern /api/*)"

    # The http-header rule never matches a plain request, and the route says why.
    assert all(m.priority != 5 for m in r.matching)
    assert any("http-header" in n and "priority 5" in n for n in r.notes)

    # Host-header conditions are honoured (case-insensitively, wildcards too).
    r = P.route(snap, listener, "ADMIN.example.com", "/")
    assert r.rule is not None and r.rule.priority == 30 and r.action.forwarded_tgs == [admin_tg]
    r = P.route(snap, listener, "www.example.com", "/")
    assert r.rule is None and r.action.type == "fixed-response" and r.rule_label == "default action"
    r = P.route(snap, listener, "shop.example.com", "/v6/skin/analyze")
    assert r.rule is not None and r.rule.priority == 40 and r.action.forwarded_tgs == [svc_tg]
    r = P.route(snap, listener, "shop.other.org", "/v6/skin/analyze")
    assert r.rule is None

    # Path patterns are case-sensitive.
    r = P.route(snap, listener, "api.example.com", "/API/x")
    assert r.rule is None

    # Without a host, host conditions are assumed to match, with a note.
    r = P.route(snap, listener, None, "/")
    assert r.rule is not None and r.rule.priority == 30
    assert any("priority 30" in n and "assumed" in n for n in r.notes)


# --------------------------------------------------------------------------- regressions and known bugs
# Deleted target groups and "ipv6."/"dualstack." names ended the run / confused names until 6f4527d.
def test_stale_target_group_of_an_unrelated_service_does_not_break_domain_discovery(aws, acct):
    api_tg, stale_tg = acct.tg("api-tg"), acct.tg("stale-tg")
    lb = acct.alb_to("api-alb", api_tg)
    acct.service("api", [api_tg])
    acct.service("legacy", [stale_tg])
    acct.elbv2.delete_target_group(TargetGroupArn=stale_tg)  # the legacy service still names it
    acct.records(acct.alias("api.example.com", lb))

    snap, path = collect(aws, domain="api.example.com")

    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "domain"
    assert path.record_lb_arns == [lb["arn"]]


def test_stale_target_group_on_an_unrelated_service_does_not_break_the_candidate_search(aws, acct):
    decoy_tg, api_tg, stale_tg = acct.tg("decoy-tg"), acct.tg("api-tg"), acct.tg("stale-tg")
    decoy = acct.alb_to("decoy-alb", decoy_tg)
    acct.alb_to("api-alb", api_tg)
    acct.service("api", [api_tg])
    acct.service("legacy", [stale_tg])
    acct.elbv2.delete_target_group(TargetGroupArn=stale_tg)
    acct.records(acct.alias("api.example.com", decoy))

    snap, path = collect(aws, domain="api.example.com")

    # The deleted group is noted, and "legacy" (behind no load balancer any more) is no candidate.
    assert snap.missing_target_groups == [stale_tg]
    assert path.candidates == ["prod/api"]
    assert path.service is not None and path.service.key == "prod/api" and path.service_source == "only-candidate"


def test_named_service_with_a_deleted_target_group_still_resolves(aws, acct):
    live_tg, stale_tg = acct.tg("live-tg"), acct.tg("stale-tg")
    acct.alb_to("api-alb", live_tg)
    acct.service("api", [stale_tg])
    acct.elbv2.delete_target_group(TargetGroupArn=stale_tg)

    snap, path = collect(aws, cluster=CLUSTER, service="api")

    assert path.service is not None and path.service.key == "prod/api"
    assert stale_tg not in snap.target_groups
    assert snap.missing_target_groups == [stale_tg]


def test_domain_whose_first_label_is_ipv6_is_not_confused_with_the_apex(aws, acct):
    tg = acct.tg("api-tg")
    lb = acct.alb_to("api-alb", tg)
    acct.service("api", [tg])
    acct.records(acct.alias("example.com", lb), acct.cname("ipv6.example.com", "v6.vendor.net"))

    snap, path = collect(aws, domain="ipv6.example.com")

    assert path.domain == "ipv6.example.com"
    assert [(b.lb_arn, b.external) for b in path.branches] == [(None, "v6.vendor.net")]


def test_a_domain_without_records_costs_one_record_listing_call(aws, acct):
    acct.zone()
    filler = [acct.a(f"host{i:03d}.example.com", "10.0.0.1") for i in range(250)]  # all sort after "api"
    acct.records(*filler)

    snap, path = collect(aws, domain="api.example.com")

    assert path.branches == [] and [r for r in snap.records if r.name == "api.example.com"] == []
    assert aws.calls.by_operation["route53.ListResourceRecordSets"] == 1
