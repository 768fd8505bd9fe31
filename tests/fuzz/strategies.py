"""Hypothesis strategies for whole AWS accounts, built from botocore's service models (issue 14 item 2).

Why from the models: moto and the recorded corpus show a few shapes each; botocore's ``service-2.json`` says every
member an operation may return, its type and its enum. For each operation the collectors call (``OPERATIONS``), a
response is generated from the operation's output shape: members present or absent as the model allows (required
members always), enums from the model (plus one value the model does not know yet: AWS adds values), strings,
numbers, timestamps and booleans of the member's type, lists empty, short or long (bounded), and unknown extra
members (a newer API than the installed botocore).

Why pools: a response built from a shape alone refers to nothing, so the collector would stop at the first hop.
Identifiers are drawn from small pools (``Pools``) shared by every operation, so resources refer to each other
often enough to build a request path: target group ARNs shared by DescribeTargetGroups, listener and rule actions
and services' ``loadBalancers``; security group ids by load balancers, services, network interfaces and
DescribeSecurityGroups; the domain's records aliased to the load balancers' DNS names; task definition ARNs by
services, deployments, task sets and tasks. A reference may also point at nothing (a deleted group, a ghost
revision): that is what accounts do.

``ALWAYS`` lists the members AWS returns on every item although the model marks almost no output member required
(the identifiers the replay and the collectors key on). ``PINNED`` lists members kept present only because
shine-ops crashes without them today: each is an open bug with a strict-xfail test in ``test_shape_fuzz.py``;
remove the pin when the bug is fixed. ``LIKELY`` members (what the checks read) are present more often than the
rest, and a few rules AWS enforces beyond the model are kept (a forward names a target group, a record holds a
value or an alias, a non-default rule has conditions): a world AWS could never answer proves nothing.

A world is ``{"responses": {...}, "target": {...}}``: the responses in ``tests/corpus/replay.py``'s world format
(``tests/fuzz/world.py`` serves them to the real Collector), and what to diagnose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.corpus.shapes import service_model

REGION = "us-west-2"
ACCOUNT = "123456789012"
DOMAIN = "api.example.com"

# Every operation shine-ops' request-path collector (shine_ops/topology/collect.py, metrics.py) calls.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "sts": ("GetCallerIdentity",),
    "elbv2": ("DescribeLoadBalancers", "DescribeListeners", "DescribeRules", "DescribeTargetGroups",
              "DescribeTargetHealth", "DescribeTargetGroupAttributes", "DescribeLoadBalancerAttributes",
              "DescribeListenerCertificates"),
    "acm": ("DescribeCertificate",),
    "route53": ("ListHostedZones", "ListResourceRecordSets"),
    "ecs": ("ListClusters", "ListServices", "DescribeServices", "DescribeTaskDefinition", "ListTasks",
            "DescribeTasks"),
    "ec2": ("DescribeSecurityGroups", "DescribeSubnets", "DescribeNetworkAcls", "DescribeRouteTables",
            "DescribeNetworkInterfaces"),
    "cloudwatch": ("GetMetricData",),
}

# Members AWS returns on every item (identifiers), though the output shapes mark almost nothing required.
ALWAYS: dict[str, frozenset[str]] = {
    "elbv2": frozenset({"LoadBalancer.LoadBalancerArn", "LoadBalancer.LoadBalancerName", "Listener.ListenerArn",
                        "Listener.LoadBalancerArn", "Rule.RuleArn", "TargetGroup.TargetGroupArn",
                        "TargetGroup.TargetGroupName", "TargetGroupTuple.TargetGroupArn",
                        "TargetGroupAttribute.Key", "TargetGroupAttribute.Value", "LoadBalancerAttribute.Key",
                        "LoadBalancerAttribute.Value", "RuleCondition.Field", "Certificate.CertificateArn",
                        "TargetHealthDescription.Target",
                        # a rule always has its conditions (empty on the default rule) and actions
                        "Rule.Conditions", "Rule.Actions", "Listener.DefaultActions", "Rule.Priority"}),
    "ecs": frozenset({"Service.serviceArn", "Service.serviceName", "Service.clusterArn",
                      "TaskDefinition.taskDefinitionArn", "TaskDefinition.family", "TaskDefinition.revision",
                      "ContainerDefinition.name", "Task.taskArn", "Task.clusterArn", "KeyValuePair.name",
                      "Failure.arn",
                      # CreateService requires both on every loadBalancers entry, so DescribeServices returns them
                      "LoadBalancer.containerName", "LoadBalancer.containerPort"}),
    "ec2": frozenset({"SecurityGroup.GroupId", "Subnet.SubnetId", "Subnet.VpcId", "NetworkAcl.NetworkAclId",
                      "NetworkAcl.VpcId", "RouteTable.RouteTableId", "RouteTable.VpcId",
                      "NetworkInterface.NetworkInterfaceId", "IpRange.CidrIp", "Ipv6Range.CidrIpv6",
                      "PrefixListId.PrefixListId", "GroupIdentifier.GroupId"}),
    "acm": frozenset({"CertificateDetail.CertificateArn"}),
    "route53": frozenset(),
    "cloudwatch": frozenset({"MetricDataResult.Id"}),
    "sts": frozenset({"GetCallerIdentityResponse.Account"}),
}

# Members kept present only because shine-ops crashes without them today (open bugs, reported to the lead; each has
# a strict-xfail regression test in test_shape_fuzz.py). AWS does omit them: drop the pin with the fix.
PINNED: dict[tuple[str, str], str] = {}  # none open: the last three (gateway LB DNSName, its listener Port, an
# IPv6-only subnet's CidrBlock) are fixed, with their worlds kept in test_shape_fuzz.py

# Members the checks read: present with 3/4 like pool-bound ones (else 1/3, so a path rarely forms).
LIKELY: dict[str, frozenset[str]] = {
    "elbv2": frozenset({
        "LoadBalancer.Type", "LoadBalancer.Scheme", "LoadBalancer.State", "LoadBalancer.AvailabilityZones",
        "LoadBalancerState.Code", "Listener.Protocol", "Action.ForwardConfig", "Action.RedirectConfig",
        "Action.FixedResponseConfig", "ForwardActionConfig.TargetGroups", "RuleCondition.PathPatternConfig",
        "RuleCondition.HostHeaderConfig", "TargetGroup.Protocol", "TargetGroup.TargetType", "TargetGroup.Matcher",
        "TargetGroup.HealthCheckProtocol", "TargetHealthDescription.TargetHealth", "TargetHealth.State",
        "TargetHealth.Reason", "TargetHealth.Description", "DescribeTargetHealthOutput.TargetHealthDescriptions",
        "DescribeTargetGroupAttributesOutput.Attributes", "DescribeLoadBalancerAttributesOutput.Attributes",
        "DescribeListenerCertificatesOutput.Certificates"}),
    "ecs": frozenset({
        "Service.launchType", "Service.networkConfiguration", "Service.deployments", "Service.deploymentController",
        "NetworkConfiguration.awsvpcConfiguration", "AwsVpcConfiguration.assignPublicIp", "Deployment.rolloutState",
        "Deployment.rolloutStateReason", "TaskDefinition.containerDefinitions", "TaskDefinition.networkMode",
        "TaskDefinition.status", "ContainerDefinition.portMappings", "ContainerDefinition.environment",
        "ContainerDefinition.healthCheck", "ContainerDefinition.essential", "ContainerDefinition.image",
        "Task.attachments", "Task.containers", "Task.healthStatus", "Task.stoppedReason", "Task.stopCode",
        "Task.startedAt", "Task.createdAt", "Task.stoppedAt", "Attachment.details", "Container.reason",
        "Container.networkInterfaces", "ServiceEvent.message", "ServiceEvent.createdAt"}),
    "ec2": frozenset({
        "SecurityGroup.IpPermissions", "SecurityGroup.IpPermissionsEgress", "SecurityGroup.GroupName",
        "IpPermission.UserIdGroupPairs", "NetworkAcl.Associations", "NetworkAcl.Entries", "NetworkAcl.IsDefault",
        "NetworkAclEntry.Egress", "NetworkAclEntry.RuleAction", "NetworkAclEntry.PortRange", "RouteTable.Associations",
        "RouteTable.Routes", "NetworkInterface.Groups", "NetworkInterface.Association",
        "NetworkInterface.PrivateIpAddresses", "NetworkInterface.InterfaceType", "Subnet.AvailabilityZone",
        "Subnet.MapPublicIpOnLaunch", "Route.State"}),
    "route53": frozenset({"ResourceRecordSet.AliasTarget", "ResourceRecordSet.ResourceRecords",
                          "ResourceRecordSet.TTL", "HostedZone.Config"}),
    "acm": frozenset({"CertificateDetail.Status", "CertificateDetail.NotAfter", "CertificateDetail.Type",
                      "CertificateDetail.InUseBy", "CertificateDetail.NotBefore"}),
    "cloudwatch": frozenset({"MetricDataResult.Timestamps", "GetMetricDataOutput.MetricDataResults"}),
    "sts": frozenset(),
}

UNKNOWN_MEMBER = "FuzzUnknownMember"  # a member a newer API returns that the installed model does not know
FUTURE_ENUM = "FutureValueTheModelDoesNotKnow"
MAX_DEPTH = 4  # below this depth of an item only required members are generated: bounded size, same shapes


# --------------------------------------------------------------------------- one strategy per shape
GENERIC_TEXT = st.one_of(
    st.sampled_from(["fuzz", "x-1", "a b", "ünïcödé ✓", "with, comma", "s" * 64, "0", "-", "/", "*"]),
    st.text(alphabet="abcXYZ019-_./:*", min_size=1, max_size=12))
TIMESTAMPS = st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2031, 1, 1),
                          timezones=st.just(dt.timezone.utc)).flatmap(
    lambda d: st.sampled_from([d.isoformat(), d.timestamp()]))  # as the XML and JSON protocols send them


@st.composite
def sized_list(draw: Any, elem: st.SearchStrategy, long: bool = False, max_short: int = 3,
               min_size: int = 0) -> list:
    """Empty (unless ``min_size``) or short, and (``long``) now and then long: 12 to 25 items."""
    if long and draw(st.integers(0, 7)) == 7:
        n = draw(st.integers(12, 25))
    else:
        n = draw(st.integers(min_size, max(min_size, max_short)))
    return [draw(elem) for _ in range(n)]


class ShapeGen:
    """Strategies for one service's shapes, with ``hints`` (``Shape.member`` -> strategy) for pool-bound members.

    A hinted member is present with 3/4; an ``ALWAYS``/``PINNED``/required member always; any other optional
    member with 1/3, and only above ``MAX_DEPTH``. ``long`` names list members that are sometimes long."""

    def __init__(self, service: str, hints: dict[str, st.SearchStrategy] | None = None,
                 long: frozenset[str] = frozenset()) -> None:
        self.service = service
        self.model = service_model(service)
        self.hints = hints or {}
        self.long = long
        self.always = ALWAYS.get(service, frozenset()) | {m for s, m in PINNED if s == service}
        self.likely = LIKELY.get(service, frozenset())

    def shape(self, name: str, depth: int = 0) -> st.SearchStrategy:
        return self.of(self.model.shape_for(name), depth)

    def of(self, shape: Any, depth: int = 0, member_key: str = "") -> st.SearchStrategy:
        return _shape_value(self, shape, depth, member_key)

    def draw(self, draw: Any, shape: Any, depth: int, member_key: str) -> Any:
        """One value of ``shape`` (plain recursion inside one composite: building a strategy per structure per
        example costs more than the diagnosis itself)."""
        kind = shape.type_name
        if kind == "structure":
            out: dict[str, Any] = {}
            required = set(shape.required_members)
            for name, member in shape.members.items():
                key = f"{shape.name}.{name}"
                hint = self.hints.get(key)
                if not (name in required or key in self.always):
                    if hint is None and depth >= MAX_DEPTH and key not in self.likely:
                        continue
                    if not draw(PRESENT_LIKELY if hint is not None or key in self.likely else PRESENT):
                        continue
                out[name] = draw(hint) if hint is not None else self.draw(draw, member, depth + 1, key)
            if draw(UNKNOWN_ODDS) == 9:
                out[UNKNOWN_MEMBER] = draw(UNKNOWN_VALUE)
            return out
        if kind == "list":
            if depth >= MAX_DEPTH:
                return []
            n = draw(LIST_SIZE)
            if member_key in self.long and draw(LONG_ODDS) == 7:
                n = draw(LONG_SIZE)
            return [self.draw(draw, shape.member, depth + 1, "") for _ in range(n)]
        if kind == "map":
            if depth >= MAX_DEPTH:
                return {}
            return {draw(GENERIC_TEXT): self.draw(draw, shape.value, depth + 1, "")
                    for _ in range(draw(st.integers(0, 2)))}
        return draw(_scalar(self.service, shape))


def _presence(likely: bool) -> st.SearchStrategy[bool]:
    """Present with 3/4 (pool-bound members) or 1/3 (the rest); shrinks towards absent."""
    return st.integers(0, 3).map(lambda i: i != 0) if likely else st.integers(0, 2).map(lambda i: i == 2)


PRESENT, PRESENT_LIKELY = _presence(False), _presence(True)
UNKNOWN_ODDS, LONG_ODDS = st.integers(0, 9), st.integers(0, 7)
LIST_SIZE, LONG_SIZE = st.integers(0, 3), st.integers(12, 25)
UNKNOWN_VALUE = st.one_of(GENERIC_TEXT, st.integers(), st.just({"nested": [1, "x"]}))
_SCALARS: dict[tuple[str, str], st.SearchStrategy] = {}


def _scalar(service: str, shape: Any) -> st.SearchStrategy:
    """The strategy of a scalar shape (cached: one per shape)."""
    key = (service, shape.name)
    if key not in _SCALARS:
        kind = shape.type_name
        if kind == "string":
            s = st.sampled_from(list(shape.enum) + [FUTURE_ENUM]) if shape.enum else GENERIC_TEXT
        elif kind in ("integer", "long"):
            lo = int(shape.metadata.get("min", 0))
            s = st.integers(lo, max(lo, int(shape.metadata.get("max", 100_000))))
        elif kind in ("double", "float"):
            s = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
        elif kind == "boolean":
            s = st.booleans()
        elif kind == "timestamp":
            s = TIMESTAMPS
        elif kind == "blob":
            s = st.binary(max_size=8)
        else:
            raise NotImplementedError(f"{service}: shape type {kind}")
        _SCALARS[key] = s
    return _SCALARS[key]


@st.composite
def _shape_value(draw: Any, gen: ShapeGen, shape: Any, depth: int, member_key: str) -> Any:
    return gen.draw(draw, shape, depth, member_key)


# --------------------------------------------------------------------------- the pools
def _hex(i: int, n: int = 16) -> str:
    return f"{(i + 1) * 0x9E3779B97F4A7C15 & (16 ** n - 1):0{n}x}"


@dataclass
class Lb:
    arn: str
    name: str
    kind: str  # app | net | gwy
    dns: str

    @property
    def type(self) -> str:
        return {"app": "application", "net": "network", "gwy": "gateway"}[self.kind]

    @property
    def ref(self) -> str:
        return self.arn.split("loadbalancer/", 1)[1]


@dataclass
class Pools:
    """The identifiers one world's responses share."""

    lbs: list[Lb]
    listeners: dict[str, list[str]]  # lb arn -> listener arns
    tgs: list[tuple[str, str]]  # (arn, name)
    ghost_tg: str  # a target group that DescribeTargetGroups does not know (deleted)
    vpcs: list[str]
    subnets: list[str]
    sgs: list[str]
    clusters: list[str]  # arns
    services: list[tuple[str, str]]  # (cluster arn, name)
    task_defs: list[str]  # arns family:revision
    ghost_td: str
    containers: list[str]
    ports: list[int]
    certs: list[str]
    zones: list[tuple[str, str]]  # (id, name with trailing dot)
    ips: list[str]
    enis: list[str]
    tasks: list[str]
    names: list[str] = field(default_factory=list)  # DNS names records may carry

    def tg_arns(self) -> list[str]:
        return [a for a, _ in self.tgs]

    def service_arn(self, cluster: str, name: str) -> str:
        return cluster.replace(":cluster/", ":service/") + "/" + name


PORTS = [80, 443, 8000, 8080, 3000, 5000]
CONTAINER_NAMES = ["app", "web", "sidecar"]
ELB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
ECS_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
EXTERNAL_TARGETS = ["d111111abcdef8.cloudfront.net.",
                    "vpce-0a1b2c3d4e5f-abcd1234.vpce-svc-0123456789abcdef0.us-west-2.vpce.amazonaws.com.",
                    "s3-website-us-west-2.amazonaws.com.", "abc123.execute-api.us-west-2.amazonaws.com.",
                    "elsewhere.example.net."]


@st.composite
def pools(draw: Any) -> Pools:
    n_lb = draw(st.sampled_from([1, 1, 2, 3, 0]))
    lbs = []
    for i in range(n_lb):
        kind = draw(st.sampled_from(["app", "app", "app", "net", "gwy"]))
        name = f"lb-{i}"
        lbs.append(Lb(f"{ELB_ARN}:loadbalancer/{kind}/{name}/{_hex(i)}", name, kind,
                      f"{name}-{100 + i}.{REGION}.elb.amazonaws.com"))
    listeners = {lb.arn: [lb.arn.replace(":loadbalancer/", ":listener/") + "/" + _hex(10 * i + j)
                          for j in range(draw(st.sampled_from([1, 2, 1, 3, 2, 0])))] for i, lb in enumerate(lbs)}
    tgs = [(f"{ELB_ARN}:targetgroup/tg-{j}/{_hex(100 + j)}", f"tg-{j}")
           for j in range(draw(st.sampled_from([1, 1, 2, 4, 0])))]
    clusters = [f"{ECS_ARN}:cluster/c-{k}" for k in range(draw(st.integers(1, 2)))]
    services = [(draw(st.sampled_from(clusters)), f"svc-{n}") for n in range(draw(st.integers(1, 3)))]
    families = [f"fam-{f}" for f in range(draw(st.integers(1, 2)))]
    task_defs = [f"{ECS_ARN}:task-definition/{fam}:{rev}" for fam in families
                 for rev in range(1, draw(st.integers(1, 3)) + 1)]
    zone_names = draw(st.lists(st.sampled_from(["example.com.", "api.example.com.", "other.org."]),
                               min_size=0 if draw(st.integers(0, 7)) == 0 else 1, max_size=3))
    zones = [(f"Z{_hex(200 + z, 12).upper()}", name) for z, name in enumerate(zone_names)]  # same name: public+private
    return Pools(
        lbs=lbs, listeners=listeners, tgs=tgs, ghost_tg=f"{ELB_ARN}:targetgroup/deleted/{_hex(999)}",
        vpcs=["vpc-0a1b2c3d", "vpc-0e5f6a7b"][:draw(st.integers(1, 2))],
        subnets=[f"subnet-0{_hex(300 + s, 8)}" for s in range(draw(st.integers(1, 3)))],
        sgs=[f"sg-0{_hex(400 + g, 8)}" for g in range(draw(st.integers(1, 4)))],
        clusters=clusters, services=services, task_defs=task_defs,
        ghost_td=f"{ECS_ARN}:task-definition/ghost:9", containers=CONTAINER_NAMES, ports=PORTS,
        certs=[f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{_hex(500 + c, 8)}-1234-4abc-8def-{_hex(c, 12)}"
               for c in range(draw(st.integers(0, 2)))],
        zones=zones, ips=["10.0.1.10", "10.0.2.20", "203.0.113.10", "52.10.20.30"],
        enis=[f"eni-0{_hex(600 + e, 8)}" for e in range(3)],
        tasks=[f"{ECS_ARN}:task/{_hex(700 + t, 32)}" for t in range(draw(st.integers(0, 4)))],
        names=[DOMAIN + ".", "www.example.com.", "example.com.", "chain.example.com.", "*.example.com."])


# --------------------------------------------------------------------------- hints: pool-bound members
def _some(values: list) -> st.SearchStrategy:
    return st.sampled_from(values) if values else st.nothing()


def _subset(values: list, max_size: int = 3) -> st.SearchStrategy[list]:
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True) if values else st.just([])


def hints(p: Pools) -> dict[str, dict[str, st.SearchStrategy]]:
    """Per service, ``Shape.member`` -> the strategy that ties it to the pools (or to the values AWS uses where the
    model only says "string": priorities, ports as text, protocols, CIDRs)."""
    tg_refs = p.tg_arns() + [p.ghost_tg]
    lb_dns = [lb.dns + "." for lb in p.lbs] + [f"dualstack.{lb.dns}." for lb in p.lbs]
    ips = p.ips + ["2600:1f14::10"]
    cidrs = ["0.0.0.0/0", "10.0.0.0/16", "10.0.1.0/24", "203.0.113.0/24", "10.0.2.20/32"]
    hosts = [DOMAIN, "*.example.com", "www.example.com", "other.org", "API.EXAMPLE.COM"]
    paths = ["/", "/*", "/health", "/api/*", "/api/v4/*", "*", "/static/*"]
    ports_text = ["traffic-port"] + [str(x) for x in p.ports]
    td_refs = p.task_defs + [p.ghost_td]
    lb_ports = st.sampled_from([80, 443, 8080, 8443, 1, 65535])
    # shapes drawn inside a hint use the same hints (a forward inside a listener's actions names pool groups)
    elb, ecs = ShapeGen("elbv2"), ShapeGen("ecs")
    out = {
        "elbv2": {
            "LoadBalancer.DNSName": st.just(""),  # replaced per load balancer (elbv2_world)
            "LoadBalancer.SecurityGroups": _subset(p.sgs),
            "LoadBalancer.VpcId": _some(p.vpcs),
            "AvailabilityZone.SubnetId": _some(p.subnets),
            "LoadBalancer.CanonicalHostedZoneId": st.sampled_from(["Z1H1FL5HABSF5", "Z18D5FSROUN65G"]),
            "Listener.Port": lb_ports,
            "Listener.Certificates": sized_list(st.builds(lambda a, d: {"CertificateArn": a, "IsDefault": d},
                                                          _some(p.certs + [f"arn:aws:iam::{ACCOUNT}:server-certificate/legacy-cert"]),
                                                          st.booleans())) if p.certs else st.just([]),
            # every type the model knows (and one it does not), forwards the most often: they build the path
            "Action.Type": st.sampled_from(["forward"] * 3 + _enum("elbv2", "ActionTypeEnum") + [FUTURE_ENUM]),
            "Listener.DefaultActions": sized_list(elb.shape("Action", 1), min_size=1, max_short=2),
            "Rule.Actions": sized_list(elb.shape("Action", 1), min_size=1, max_short=2),
            "Rule.Conditions": sized_list(elb.shape("RuleCondition", 1), min_size=1, max_short=3),
            "Action.TargetGroupArn": _some(tg_refs),
            "Action.Order": st.integers(1, 50000),
            "TargetGroupTuple.TargetGroupArn": _some(tg_refs),
            "TargetGroupTuple.Weight": st.sampled_from([0, 1, 50, 100, 999]),
            "RedirectActionConfig.Protocol": st.sampled_from(["HTTPS", "HTTP", "#{protocol}"]),
            "RedirectActionConfig.Port": st.sampled_from(["443", "80", "#{port}"]),
            "Rule.Priority": st.sampled_from(["1", "10", "100", "50000"]),  # the default rule: worlds()
            "Rule.IsDefault": st.just(False),
            "RuleCondition.Field": st.sampled_from(["path-pattern", "host-header", "http-header", "query-string",
                                                    "http-request-method", "source-ip", "future-field"]),
            "RuleCondition.Values": st.lists(st.sampled_from(paths + hosts), max_size=3),
            "PathPatternConditionConfig.Values": st.lists(st.sampled_from(paths), max_size=3),
            "HostHeaderConditionConfig.Values": st.lists(st.sampled_from(hosts), max_size=3),
            "HttpRequestMethodConditionConfig.Values": st.lists(st.sampled_from(["GET", "POST", "HEAD"]),
                                                                max_size=2),
            "SourceIpConditionConfig.Values": st.lists(st.sampled_from(cidrs), max_size=2),
            "TargetGroup.Port": st.sampled_from(p.ports),
            "TargetGroup.VpcId": _some(p.vpcs),
            "TargetGroup.LoadBalancerArns": _subset([lb.arn for lb in p.lbs], 2),
            "TargetGroup.HealthCheckPort": st.sampled_from(ports_text),
            "TargetGroup.HealthCheckPath": st.sampled_from(paths[:5] + ["/ready"]),
            "Matcher.HttpCode": st.sampled_from(["200", "200-299", "200,302", "200-399", "301"]),
            "TargetGroup.HealthCheckIntervalSeconds": st.integers(5, 300),
            "TargetGroup.HealthCheckTimeoutSeconds": st.integers(2, 120),
            "TargetGroup.HealthyThresholdCount": st.integers(2, 10),
            "TargetGroup.UnhealthyThresholdCount": st.integers(2, 10),
            "TargetDescription.Id": st.sampled_from(p.ips[:3] + ["i-0123456789abcdef0"]),
            "TargetDescription.Port": st.sampled_from(p.ports),
            "TargetHealthDescription.HealthCheckPort": st.sampled_from([str(x) for x in p.ports]),
            "TargetGroupAttribute.Key": st.sampled_from([
                "deregistration_delay.timeout_seconds", "slow_start.duration_seconds", "stickiness.enabled",
                "load_balancing.algorithm.type", "target_group_health.dns_failover.minimum_healthy_targets.count",
                "future.attribute"]),
            "TargetGroupAttribute.Value": st.sampled_from(["0", "30", "300", "true", "false", "off", ""]),
            "LoadBalancerAttribute.Key": st.sampled_from([
                "idle_timeout.timeout_seconds", "routing.http2.enabled", "deletion_protection.enabled",
                "access_logs.s3.enabled", "client_keep_alive.seconds", "future.attribute"]),
            "LoadBalancerAttribute.Value": st.sampled_from(["1", "30", "60", "4000", "true", "false", "", "abc"]),
            "Certificate.CertificateArn": _some(p.certs + [f"arn:aws:iam::{ACCOUNT}:server-certificate/legacy-cert"]),
        },
        "ecs": {
            "Service.clusterArn": st.just(""),  # set per service (ecs_world)
            "Service.status": st.sampled_from(["ACTIVE", "ACTIVE", "DRAINING", "INACTIVE"]),
            "Service.taskDefinition": _some(td_refs),
            "Service.desiredCount": st.integers(0, 4),
            "Service.runningCount": st.integers(0, 4),
            "Service.pendingCount": st.integers(0, 2),
            "Service.healthCheckGracePeriodSeconds": st.integers(0, 600),
            "Service.events": sized_list(ShapeGen("ecs").shape("ServiceEvent", 2), long=True),
            "Service.loadBalancers": sized_list(ecs.shape("LoadBalancer", 1), min_size=1, max_short=2),
            "LoadBalancer.targetGroupArn": _some(tg_refs),
            "LoadBalancer.containerName": st.sampled_from(p.containers),
            "LoadBalancer.containerPort": st.sampled_from(p.ports),
            "AwsVpcConfiguration.subnets": _subset(p.subnets),
            "AwsVpcConfiguration.securityGroups": st.lists(st.sampled_from(p.sgs), min_size=1, max_size=3,
                                                           unique=True),  # awsvpc: at least the default group
            "Deployment.status": st.sampled_from(["PRIMARY", "ACTIVE", "INACTIVE"]),
            "Deployment.taskDefinition": _some(td_refs),
            "Deployment.desiredCount": st.integers(0, 4),
            "Deployment.runningCount": st.integers(0, 4),
            "Deployment.failedTasks": st.integers(0, 5),
            "TaskSet.status": st.sampled_from(["PRIMARY", "ACTIVE", "DRAINING"]),
            "TaskSet.taskDefinition": _some(td_refs),
            "TaskSet.runningCount": st.integers(0, 4),
            "TaskSet.computedDesiredCount": st.integers(0, 4),
            "ContainerDefinition.name": st.sampled_from(p.containers),
            "PortMapping.containerPort": st.sampled_from(p.ports),
            "PortMapping.hostPort": st.sampled_from([0] + p.ports),
            "KeyValuePair.name": st.sampled_from(["PORT", "HOST", "CORS_ORIGINS", "FUZZ", "networkInterfaceId",
                                                  "privateIPv4Address", "subnetId", "macAddress"]),
            "KeyValuePair.value": st.sampled_from([str(x) for x in p.ports] + p.ips + p.enis + p.subnets
                                                  + ["", "0.0.0.0", "not-a-port", "https://app.example.com"]),
            "Task.clusterArn": _some(p.clusters),
            "Task.group": st.sampled_from([f"service:{n}" for _, n in p.services] + ["family:fam-0", ""]),
            "Task.desiredStatus": st.sampled_from(["RUNNING", "RUNNING", "STOPPED", "PENDING"]),
            "Task.lastStatus": st.sampled_from(["RUNNING", "RUNNING", "STOPPED", "PENDING", "PROVISIONING",
                                                "DEPROVISIONING"]),
            "Task.taskDefinitionArn": _some(td_refs),
            "Container.name": st.sampled_from(p.containers),
            "Container.exitCode": st.sampled_from([0, 1, 137, 139, 255]),
            "Container.lastStatus": st.sampled_from(["RUNNING", "STOPPED", "PENDING"]),
            "NetworkInterface.privateIpv4Address": _some(p.ips),
            "Attachment.type": st.sampled_from(["ElasticNetworkInterface", "Service Connect", "future"]),
            "HealthCheck.command": st.sampled_from([["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                                                    ["CMD", "true"], []]),
        },
        "ec2": {
            "SecurityGroup.VpcId": _some(p.vpcs),
            "IpPermission.IpProtocol": st.sampled_from(["tcp", "tcp", "-1", "udp", "icmp", "6", "17", "icmpv6"]),
            "IpPermission.FromPort": st.sampled_from([-1, 0, 1, 80, 443, 1024, 8000, 8080]),
            "IpPermission.ToPort": st.sampled_from([-1, 80, 443, 8000, 8080, 9000, 65535]),
            "IpPermission.IpRanges": sized_list(ShapeGen("ec2", {"IpRange.CidrIp": st.sampled_from(cidrs)})
                                                .shape("IpRange", 3), max_short=2),
            "IpPermission.Ipv6Ranges": sized_list(ShapeGen("ec2", {"Ipv6Range.CidrIpv6": st.sampled_from(
                ["::/0", "2600:1f14::/56"])}).shape("Ipv6Range", 3), max_short=2),
            "UserIdGroupPair.GroupId": _some(p.sgs + ["sg-0other0account"]),
            "UserIdGroupPair.UserId": st.sampled_from([ACCOUNT, "210987654321"]),
            "PrefixListId.PrefixListId": st.sampled_from(["pl-0a1b2c3d", "pl-63a5400a"]),
            "Subnet.VpcId": _some(p.vpcs),
            "Subnet.CidrBlock": st.sampled_from(["10.0.1.0/24", "10.0.2.0/24", "10.0.0.0/16", "10.9.0.0/24"]),
            "NetworkAclAssociation.SubnetId": _some(p.subnets),
            "NetworkAclEntry.CidrBlock": st.sampled_from(cidrs),
            "NetworkAclEntry.Protocol": st.sampled_from(["-1", "6", "17", "1", "58"]),
            "NetworkAclEntry.RuleNumber": st.sampled_from([1, 100, 200, 32766, 32767]),
            "PortRange.From": st.sampled_from([0, 80, 443, 1024, 8000]),
            "PortRange.To": st.sampled_from([80, 443, 8080, 65535]),
            "RouteTableAssociation.SubnetId": _some(p.subnets),
            "Route.DestinationCidrBlock": st.sampled_from(["0.0.0.0/0", "10.0.0.0/16"]),
            "Route.GatewayId": st.sampled_from(["local", "igw-0a1b2c3d", "vgw-0a1b"]),
            "NetworkInterface.PrivateIpAddress": _some(p.ips),
            "NetworkInterfacePrivateIpAddress.PrivateIpAddress": _some(p.ips),
            "NetworkInterfaceAssociation.PublicIp": _some(p.ips[2:]),
            "NetworkInterface.Description": st.sampled_from(
                [f"ELB {lb.ref}" for lb in p.lbs] + ["", "arn:aws:ecs:us-west-2:123456789012:attachment/x",
                                                     "ELB app/unknown/0000"]),
            "NetworkInterface.SubnetId": _some(p.subnets),
            "NetworkInterface.VpcId": _some(p.vpcs),
            "GroupIdentifier.GroupId": _some(p.sgs),
        },
        "route53": {
            "HostedZoneConfig.PrivateZone": st.booleans(),
            "ResourceRecordSet.Type": st.sampled_from(["A", "A", "CNAME", "AAAA", "TXT", "NS", "SOA", "MX"]),
            "ResourceRecordSet.Weight": st.sampled_from([0, 1, 10, 255]),
            "ResourceRecordSet.SetIdentifier": st.sampled_from(["blue", "green", "primary"]),
            "AliasTarget.DNSName": st.sampled_from(lb_dns + EXTERNAL_TARGETS + ["chain.example.com."]),
            "AliasTarget.HostedZoneId": st.sampled_from(["Z1H1FL5HABSF5", "Z2FDTNDATAQYW2"]),
            "ResourceRecord.Value": st.sampled_from(ips + [lb.dns for lb in p.lbs] + ["chain.example.com",
                                                                                    "elsewhere.example.net"]),
        },
        "acm": {
            "CertificateDetail.DomainName": st.sampled_from(hosts),
            "CertificateDetail.SubjectAlternativeNames": st.lists(st.sampled_from(hosts), max_size=3),
        },
        "cloudwatch": {
            "MetricDataResult.Id": st.sampled_from(["m0", "m1", "m2", "m9"]),
            "MetricDataResult.Values": st.lists(st.sampled_from([0.0, 0.25, 3.0, 29.5, 61.0, 1e6]), max_size=4),
        },
        "sts": {
            "GetCallerIdentityResponse.Account": st.just(ACCOUNT),
        },
    }
    elb.hints, ecs.hints = out["elbv2"], out["ecs"]
    return out


def _enum(service: str, shape: str) -> list[str]:
    return list(service_model(service).shape_for(shape).enum)


# Lists that are sometimes long: many rules, many targets, many permissions.
LONG: dict[str, frozenset[str]] = {
    "elbv2": frozenset({"DescribeTargetHealthOutput.TargetHealthDescriptions"}),
    "ecs": frozenset({"Service.events", "Service.deployments"}),
    "ec2": frozenset({"SecurityGroup.IpPermissions", "NetworkAcl.Entries"}),
    "route53": frozenset(),
}


# --------------------------------------------------------------------------- the world
def _item(gen: ShapeGen, shape: str, fixed: dict[str, Any]) -> st.SearchStrategy[dict]:
    """An item of ``shape`` with the ``fixed`` members set (identity and links)."""
    return gen.shape(shape).map(lambda d: {**d, **fixed})


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    """A whole account and region, as the replay serves it, and what to diagnose."""
    p = draw(pools())
    h = hints(p)
    gen = {svc: ShapeGen(svc, h.get(svc, {}), LONG.get(svc, frozenset())) for svc in OPERATIONS}
    r: dict[str, Any] = {}

    r["sts.GetCallerIdentity"] = draw(gen["sts"].of(service_model("sts").operation_model(
        "GetCallerIdentity").output_shape))

    # -- ELBv2 ---------------------------------------------------------------------------------------------------
    lbs = [draw(_item(gen["elbv2"], "LoadBalancer", {
        "LoadBalancerArn": lb.arn, "LoadBalancerName": lb.name, "DNSName": lb.dns,
        **({"Type": lb.type} if draw(st.booleans()) else {})})) for lb in p.lbs]
    for raw in lbs:  # a load balancer's type decides whether it has security groups
        if raw.get("Type") in ("gateway",) and "SecurityGroups" in raw:
            raw.pop("SecurityGroups")
    r["elbv2.DescribeLoadBalancers"] = {"LoadBalancers": lbs}
    listeners, rules = [], []
    for lb in p.lbs:
        for l_arn in p.listeners[lb.arn]:
            listener = draw(_item(gen["elbv2"], "Listener", {"ListenerArn": l_arn, "LoadBalancerArn": lb.arn}))
            if p.tgs and draw(st.booleans()):  # half the listeners forward to a pool group first: a path forms
                listener["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": draw(_some(p.tg_arns()))}] \
                    + listener.get("DefaultActions", [])[1:]
            listeners.append(listener)
            n_rules = draw(st.integers(0, 3)) if draw(st.integers(0, 7)) else draw(st.integers(10, 20))
            for k in range(n_rules):
                r_arn = l_arn.replace(":listener/", ":listener-rule/", 1) + "/" + _hex(1000 + k)
                rules.append(draw(_item(gen["elbv2"], "Rule", {"RuleArn": r_arn})))
            if draw(st.booleans()):  # the default rule AWS lists on every listener
                r_arn = l_arn.replace(":listener/", ":listener-rule/", 1) + "/" + _hex(2000)
                rules.append(draw(_item(gen["elbv2"], "Rule", {"RuleArn": r_arn, "Priority": "default",
                                                                "IsDefault": True, "Conditions": []})))
            if draw(st.integers(0, 3)) == 0:  # SNI certificates beside the default one, over two pages
                certs = draw(sized_list(gen["elbv2"].shape("Certificate")))
                r[f"elbv2.DescribeListenerCertificates ListenerArn={l_arn}"] = {
                    "Certificates": certs, **({"NextMarker": "page-2"} if certs and draw(st.booleans()) else {})}
        r[f"elbv2.DescribeLoadBalancerAttributes LoadBalancerArn={lb.arn}"] = draw(
            gen["elbv2"].of(service_model("elbv2").operation_model("DescribeLoadBalancerAttributes").output_shape))
        r[f"cloudwatch.GetMetricData LoadBalancer={lb.ref}"] = draw(
            gen["cloudwatch"].of(service_model("cloudwatch").operation_model("GetMetricData").output_shape))
    for item in listeners + rules:
        for action in item.get("DefaultActions", []) + item.get("Actions", []):
            _coherent_action(draw, action, p)
    r["elbv2.DescribeListeners"] = {"Listeners": listeners}
    r["elbv2.DescribeRules"] = {"Rules": rules}
    tgs = []
    for arn, name in p.tgs:
        tgs.append(draw(_item(gen["elbv2"], "TargetGroup", {"TargetGroupArn": arn, "TargetGroupName": name})))
        for op in ("DescribeTargetHealth", "DescribeTargetGroupAttributes"):
            r[f"elbv2.{op} TargetGroupArn={arn}"] = draw(
                gen["elbv2"].of(service_model("elbv2").operation_model(op).output_shape))
    r["elbv2.DescribeTargetGroups"] = {"TargetGroups": tgs}
    for arn in p.certs:
        if draw(st.integers(0, 5)):  # now and then a certificate ACM cannot find (deleted, another account)
            r[f"acm.DescribeCertificate CertificateArn={arn}"] = {"Certificate": draw(
                _item(gen["acm"], "CertificateDetail", {"CertificateArn": arn}))}

    # -- Route 53 ------------------------------------------------------------------------------------------------
    zones = [draw(_item(gen["route53"], "HostedZone", {"Id": f"/hostedzone/{zid}", "Name": zname}))
             for zid, zname in p.zones]
    r["route53.ListHostedZones"] = {"HostedZones": zones}
    for zid, zname in p.zones:
        names = [n for n in p.names if n == zname or n.endswith("." + zname)] or [zname]
        recs = [draw(_item(gen["route53"], "ResourceRecordSet", {"Name": draw(st.sampled_from(names))}))
                for _ in range(draw(st.integers(0, 5)))]
        if DOMAIN + "." in names and p.lbs and draw(st.integers(0, 3)):  # the domain aliased to a load balancer
            lb = draw(st.sampled_from(p.lbs))
            recs.append(draw(_item(gen["route53"], "ResourceRecordSet", {
                "Name": DOMAIN + ".", "Type": draw(st.sampled_from(["A", "AAAA"])),
                "AliasTarget": {"HostedZoneId": "Z1H1FL5HABSF5", "EvaluateTargetHealth": draw(st.booleans()),
                                "DNSName": draw(st.sampled_from([lb.dns + ".", f"dualstack.{lb.dns}."]))}})))
        for rec in recs:  # a record is an alias or holds values (at least one), never both; an alias has no TTL
            if "AliasTarget" in rec:
                rec.pop("ResourceRecords", None)
                rec.pop("TTL", None)
            elif not rec.get("ResourceRecords"):
                rec["ResourceRecords"] = [{"Value": draw(h["route53"]["ResourceRecord.Value"])}]
        r[f"route53.ListResourceRecordSets HostedZoneId={zid}"] = {"ResourceRecordSets": recs}

    # -- ECS -----------------------------------------------------------------------------------------------------
    r["ecs.ListClusters"] = {"clusterArns": list(p.clusters)}
    services = [draw(_item(gen["ecs"], "Service", {"serviceArn": p.service_arn(c, n), "serviceName": n,
                                                   "clusterArn": c})) for c, n in p.services]
    r["ecs.DescribeServices"] = {"services": services}
    for arn in p.task_defs:
        family, rev = arn.rsplit("/", 1)[1].split(":")
        td = draw(_item(gen["ecs"], "TaskDefinition", {"taskDefinitionArn": arn, "family": family,
                                                        "revision": int(rev)}))
        r[f"ecs.DescribeTaskDefinition taskDefinition={arn}"] = {"taskDefinition": td}
    tasks = []
    for t in p.tasks:  # mostly a service's own tasks (ListTasks finds them by cluster and group)
        cluster, name = draw(st.sampled_from(p.services))
        own = {"clusterArn": cluster, "group": f"service:{name}"} if draw(st.integers(0, 3)) else {}
        tasks.append(draw(_item(gen["ecs"], "Task", {"taskArn": t, **own})))
    r["ecs.DescribeTasks"] = {"tasks": tasks}

    # -- EC2 -----------------------------------------------------------------------------------------------------
    r["ec2.DescribeSecurityGroups"] = {"SecurityGroups": [
        draw(_item(gen["ec2"], "SecurityGroup", {"GroupId": g})) for g in p.sgs]}
    r["ec2.DescribeSubnets"] = {"Subnets": [draw(_item(gen["ec2"], "Subnet", {"SubnetId": s})) for s in p.subnets]}
    r["ec2.DescribeNetworkAcls"] = {"NetworkAcls": [
        draw(_item(gen["ec2"], "NetworkAcl", {"NetworkAclId": f"acl-0{_hex(800 + i, 8)}"}))
        for i in range(draw(st.integers(0, 2)))]}
    r["ec2.DescribeRouteTables"] = {"RouteTables": [
        draw(_item(gen["ec2"], "RouteTable", {"RouteTableId": f"rtb-0{_hex(900 + i, 8)}"}))
        for i in range(draw(st.integers(0, 2)))]}
    r["ec2.DescribeNetworkInterfaces"] = {"NetworkInterfaces": [
        draw(_item(gen["ec2"], "NetworkInterface", {"NetworkInterfaceId": e})) for e in p.enis]}

    # -- what to diagnose ----------------------------------------------------------------------------------------
    if draw(st.integers(0, 3)):
        target = {"domain": DOMAIN}
    else:
        cluster, name = draw(st.sampled_from(p.services + [(p.clusters[0], "missing-svc")]))
        target = {"cluster": cluster.rsplit("/", 1)[1], "service": name}
    return {"responses": r, "target": target}


def _coherent_action(draw: Any, action: dict, p: Pools) -> None:
    """What ELBv2 enforces on every action it stores: a forward names at least one target group, a redirect or
    fixed response carries its configuration (the model leaves all three optional)."""
    kind = action.get("Type")
    if kind == "forward" and not action.get("TargetGroupArn") and not (action.get("ForwardConfig") or {}).get(
            "TargetGroups"):
        action["TargetGroupArn"] = draw(_some(p.tg_arns() + [p.ghost_tg]))
    elif kind == "redirect" and "RedirectConfig" not in action:
        action["RedirectConfig"] = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    elif kind == "fixed-response" and "FixedResponseConfig" not in action:
        action["FixedResponseConfig"] = {"StatusCode": "404"}


# --------------------------------------------------------------------------- coverage
def response_shapes() -> dict[str, Any]:
    """``service.Operation`` -> output shape, for every operation the collectors call."""
    return {f"{svc}.{op}": service_model(svc).operation_model(op).output_shape
            for svc, ops in OPERATIONS.items() for op in ops}


def reachable_shapes() -> set[tuple[str, str]]:
    """Every (service, shape) reachable from the collectors' output shapes: what the fuzzer could cover."""
    seen: set[tuple[str, str]] = set()

    def walk(svc: str, shape: Any) -> None:
        if (svc, shape.name) in seen:
            return
        seen.add((svc, shape.name))
        if shape.type_name == "structure":
            for m in shape.members.values():
                walk(svc, m)
        elif shape.type_name == "list":
            walk(svc, shape.member)
        elif shape.type_name == "map":
            walk(svc, shape.value)

    for key, shape in response_shapes().items():
        walk(key.split(".")[0], shape)
    return seen


def covered_shapes(world: dict[str, Any], into: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """The (service, shape) pairs that appear in one generated world's responses."""
    out = into if into is not None else set()
    shapes = response_shapes()

    def walk(svc: str, shape: Any, value: Any) -> None:
        out.add((svc, shape.name))
        if shape.type_name == "structure" and isinstance(value, dict):
            for k, v in value.items():
                if k in shape.members:
                    walk(svc, shape.members[k], v)
        elif shape.type_name == "list" and isinstance(value, list):
            for v in value:
                walk(svc, shape.member, v)
        elif shape.type_name == "map" and isinstance(value, dict):
            for v in value.values():
                walk(svc, shape.value, v)

    for key, resp in world["responses"].items():
        op = key.split(" ", 1)[0]
        if op in shapes:
            walk(op.split(".")[0], shapes[op], resp)
    return out




@st.composite
def declared_settings(draw: Any) -> Any:
    """The user's declarations, each declared or not (``None``): the checks judge both ways."""
    from shine_ops.evaluators import Settings

    return Settings(
        health_path=draw(st.sampled_from([None, "/health", "/", "/ready"])),
        service_paths=draw(st.sampled_from([None, ["/health", "/api/*"], ["/"], ["/static/*"]])),
        startup_budget_s=draw(st.sampled_from([None, 0, 60, 600])),
        latency_budget_s=draw(st.sampled_from([None, 1, 30, 4000])),
        frontend_origins=draw(st.sampled_from([None, ["https://app.example.com"]])))
