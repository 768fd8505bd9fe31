"""Account-wide collection: the whole account and region in one Snapshot (for the ``tortoise`` hygiene audit).

Where ``collect.Collector`` follows one request path, this lists everything, with bulk paginated calls at the
largest page size each API allows. The number of calls grows linearly with the resources divided by the page
sizes, plus one call per load balancer (its listeners), per listener (its rules) and per target group (its
target health), which AWS offers no bulk form for:

    sts:GetCallerIdentity                      1
    route53:ListHostedZones                    ceil(zones / 100)
    route53:ListResourceRecordSets             per zone, ceil(records / 300)
    elbv2:DescribeLoadBalancers                ceil(load balancers / 400)
    elbv2:DescribeListeners                    per load balancer (ceil(listeners / 400))
    elbv2:DescribeRules                        per listener (ceil(rules / 400))
    elbv2:DescribeTargetGroups                 ceil(target groups / 400)
    elbv2:DescribeTargetHealth                 per target group on a listener that no ECS service uses
    ecs:ListClusters / ListServices            ceil(clusters / 100) + per cluster ceil(services / 100)
    ecs:DescribeServices                       per cluster, ceil(services / 10)
    ecs:ListTaskDefinitions (status=ACTIVE)    ceil(ACTIVE revisions / 100)   (families come from the ARNs)
    ecs:DescribeTaskDefinition                 only for services with no traffic path (cost.idle-resources)
    ec2:DescribeSecurityGroups                 ceil(groups / 1000)
    ec2:DescribeNetworkInterfaces              ceil(interfaces / 1000)
    elbv2:DescribeLoadBalancerAttributes       per load balancer, only with ``lb_attributes=True``

Task definitions are listed, not described: ``Snapshot.task_definition_revisions`` holds family ->
{revision: ARN}. Only a service's task definition that a check reads (the size of an idle service's tasks) is
described.
"""

from __future__ import annotations

from typing import Callable

from shine_ops.aws import Aws
from shine_ops.errors import AwsCallError
from shine_ops.topology.model import (HostedZone, Listener, LoadBalancer, NetworkInterface, RecordSet, Rule,
                                      SecurityGroup, Service, TaskDefinition, TargetGroup, TargetHealth)
from shine_ops.topology.snapshot import Snapshot

# The IAM actions of collect_account(), flat (shine_ops/iam.py adds them to the read policy of an account-wide
# playbook); DescribeLoadBalancerAttributes only with lb_attributes=True, which no check asks for yet.
PERMISSIONS: list[str] = [
    "sts:GetCallerIdentity",
    "route53:ListHostedZones", "route53:ListResourceRecordSets",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:ListTaskDefinitions",
    "ecs:DescribeTaskDefinition",
    "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces",
]
OPTIONAL_PERMISSIONS: dict[str, list[str]] = {
    "lb_attributes": ["elasticloadbalancing:DescribeLoadBalancerAttributes"],
}


def task_definition_family_revision(arn: str) -> tuple[str, int]:
    """``arn:...:task-definition/family:12`` -> (``family``, 12)."""
    name = arn.split("/")[-1]
    family, _, rev = name.rpartition(":")
    return family, int(rev)


# Sub-areas of the account snapshot: a failed one (access denied, throttled) is recorded in Snapshot.errors
# under its name and only the checks that read it report ``error``; identity and DescribeLoadBalancers are
# essential (their failure ends the run: exit 3).
AREAS = ("account.dns", "account.listeners", "account.target_groups", "account.target_health", "account.ecs",
         "account.task_definitions", "account.task_sizes", "account.ec2")


def collect_account(aws: Aws, *, lb_attributes: bool = False,
                    progress: Callable[[str], None] | None = None) -> Snapshot:
    """Fill a Snapshot with the whole account and region (see the module docstring for the calls)."""
    say = progress or (lambda _msg: None)
    ident = aws.identity()
    snap = Snapshot(region=aws.region, account=ident.get("Account"), account_wide=True)

    def area(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except AwsCallError as err:
            snap.errors[name] = err

    def dns() -> None:
        say("hosted zones and records")
        for raw in aws.paginate("route53", "ListHostedZones", "HostedZones", PaginationConfig={"PageSize": 100}):
            z = HostedZone.from_raw(raw)
            snap.zones[z.id] = z
        for zone in snap.zones.values():
            for raw in aws.paginate("route53", "ListResourceRecordSets", "ResourceRecordSets", HostedZoneId=zone.id,
                                    PaginationConfig={"PageSize": 300}):
                snap.records.append(RecordSet.from_raw(zone.id, raw))

    def listeners() -> None:
        for lb in snap.load_balancers.values():
            for raw in aws.paginate("elbv2", "DescribeListeners", "Listeners", LoadBalancerArn=lb.arn,
                                    PaginationConfig={"PageSize": 400}):
                lst = Listener.from_raw(raw)
                snap.listeners[lst.arn] = lst
            if lb_attributes:
                resp = aws.call("elbv2", "DescribeLoadBalancerAttributes", LoadBalancerArn=lb.arn)
                lb.attributes = {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}
        for lst in snap.listeners.values():
            snap.rules[lst.arn] = [Rule.from_raw(lst.arn, r) for r in _rules(aws, lst.arn)]

    def target_groups() -> None:
        for raw in aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups", PaginationConfig={"PageSize": 400}):
            tg = TargetGroup.from_raw(raw)
            snap.target_groups[tg.arn] = tg

    page = {"PaginationConfig": {"PageSize": 100}}

    def ecs() -> None:
        say("ECS clusters and services")
        for cluster in aws.paginate("ecs", "ListClusters", "clusterArns", **page):
            for raw in cluster_services(aws, cluster):
                svc = Service.from_raw(raw)
                if svc.status != "INACTIVE":
                    snap.services[svc.arn] = svc

    def target_health() -> None:
        # Only where it decides something: a group on a listener that no ECS service with desired tasks registers
        # into (a group on no listener is orphaned anyway; a service's group is in use).
        from shine_ops.topology.ownership import referenced_tgs

        served = {tg for s in snap.services.values() if s.desired > 0 for tg in s.target_group_arns}
        on_listener = referenced_tgs(snap)
        for tg in snap.target_groups.values():
            if tg.arn in served or tg.arn not in on_listener:
                continue
            resp = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg.arn)
            tg.targets = [TargetHealth.from_raw(d) for d in resp.get("TargetHealthDescriptions", [])]

    def task_definitions() -> None:
        say("ACTIVE task definition revisions")
        for arn in aws.paginate("ecs", "ListTaskDefinitions", "taskDefinitionArns", status="ACTIVE", **page):
            family, rev = task_definition_family_revision(arn)
            snap.task_definition_revisions.setdefault(family, {})[rev] = arn
        for family in snap.task_definition_revisions:
            snap.task_definition_revisions[family] = dict(sorted(snap.task_definition_revisions[family].items()))

    def ec2() -> None:
        say("security groups and network interfaces")
        big = {"PaginationConfig": {"PageSize": 1000}}
        for raw in aws.paginate("ec2", "DescribeSecurityGroups", "SecurityGroups", **big):
            g = SecurityGroup.from_raw(raw)
            snap.security_groups[g.id] = g
        for raw in aws.paginate("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces", **big):
            eni = NetworkInterface.from_raw(raw)
            snap.network_interfaces[eni.id] = eni

    def task_sizes() -> None:
        # Only what a check reads: the task size of services that cost money and receive no traffic.
        from shine_ops.topology.ownership import services_without_traffic_path

        for td_arn in sorted({s.task_definition for s in services_without_traffic_path(snap) if s.task_definition}):
            resp = aws.call("ecs", "DescribeTaskDefinition", taskDefinition=td_arn)
            td = TaskDefinition.from_raw(resp["taskDefinition"])
            snap.task_definitions[td.arn] = td

    area("account.dns", dns)
    say("load balancers, listeners and rules")
    for raw in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers", PaginationConfig={"PageSize": 400}):
        lb = LoadBalancer.from_raw(raw)
        snap.load_balancers[lb.arn] = lb
    area("account.listeners", listeners)
    area("account.target_groups", target_groups)
    area("account.ecs", ecs)
    if "account.target_groups" not in snap.errors:
        area("account.target_health", target_health)
    area("account.task_definitions", task_definitions)
    area("account.ec2", ec2)
    if not {"account.dns", "account.listeners", "account.ecs"} & set(snap.errors):
        area("account.task_sizes", task_sizes)
    return snap


def cluster_services(aws: Aws, cluster: str) -> list[dict]:
    """Every service of one cluster as DescribeServices returns it (any status): ListServices at its largest
    page (AWS pages by 10 unless asked), then DescribeServices by 10, its limit."""
    arns = aws.paginate("ecs", "ListServices", "serviceArns", cluster=cluster, PaginationConfig={"PageSize": 100})
    out: list[dict] = []
    for i in range(0, len(arns), 10):
        out += aws.call("ecs", "DescribeServices", cluster=cluster, services=arns[i:i + 10]).get("services", [])
    return out


def _rules(aws: Aws, listener_arn: str) -> list[dict]:
    """DescribeRules has no botocore paginator: follow NextMarker by hand at the largest page size."""
    out: list[dict] = []
    params: dict = {"ListenerArn": listener_arn, "PageSize": 400}
    while True:
        resp = aws.call("elbv2", "DescribeRules", **params)
        out += resp.get("Rules", [])
        marker = resp.get("NextMarker")
        if not marker:
            return out
        params["Marker"] = marker
