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

The ``read_*`` functions are the bulk reads themselves; ``shared.AccountSource`` answers many request paths from
them. Reads that do not depend on each other run at once (``parallel``): the areas side by side, the listeners of
every load balancer, the rules of every listener, the record sets of every zone.
"""

from __future__ import annotations

from typing import Any, Callable

from shine_ops.aws import Aws
from shine_ops.errors import AwsCallError
from shine_ops.topology.model import (HostedZone, Listener, LoadBalancer, NetworkAcl, NetworkInterface, RecordSet,
                                      RouteTable, Rule, SecurityGroup, Service, Subnet, Task, TaskDefinition,
                                      TargetGroup, TargetHealth)
from shine_ops.topology.parallel import each, run_all, together
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
PAGE = {"PaginationConfig": {"PageSize": 100}}
BIG_PAGE = {"PaginationConfig": {"PageSize": 1000}}


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


# -- the bulk reads --------------------------------------------------------------------------------------------
def read_zones(aws: Any) -> list[HostedZone]:
    return [HostedZone.from_raw(r) for r in aws.paginate("route53", "ListHostedZones", "HostedZones", **PAGE)]


def read_zone_records(aws: Any, zone_id: str) -> list[RecordSet]:
    return [RecordSet.from_raw(zone_id, r) for r in aws.paginate(
        "route53", "ListResourceRecordSets", "ResourceRecordSets", HostedZoneId=zone_id,
        PaginationConfig={"PageSize": 300})]


def read_load_balancers(aws: Any) -> list[LoadBalancer]:
    return [LoadBalancer.from_raw(r) for r in aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers",
                                                            PaginationConfig={"PageSize": 400})]


def read_listeners(aws: Any, lb_arn: str) -> list[Listener]:
    return [Listener.from_raw(r) for r in aws.paginate("elbv2", "DescribeListeners", "Listeners",
                                                        LoadBalancerArn=lb_arn, PaginationConfig={"PageSize": 400})]


def read_rules(aws: Any, listener_arn: str) -> list[Rule]:
    return [Rule.from_raw(listener_arn, r) for r in _rules(aws, listener_arn)]


def read_target_groups(aws: Any) -> list[TargetGroup]:
    return [TargetGroup.from_raw(r) for r in aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups",
                                                           PaginationConfig={"PageSize": 400})]


def read_services(aws: Any) -> list[Service]:
    """Every service of every cluster, any status (the clusters at once)."""
    clusters = aws.paginate("ecs", "ListClusters", "clusterArns", **PAGE)
    return [Service.from_raw(r) for raws in each(lambda c: cluster_services(aws, c), clusters) for r in raws]


def read_security_groups(aws: Any) -> list[SecurityGroup]:
    return [SecurityGroup.from_raw(r) for r in aws.paginate("ec2", "DescribeSecurityGroups", "SecurityGroups",
                                                             **BIG_PAGE)]


def read_network_interfaces(aws: Any) -> list[NetworkInterface]:
    return [NetworkInterface.from_raw(r) for r in aws.paginate("ec2", "DescribeNetworkInterfaces",
                                                                "NetworkInterfaces", **BIG_PAGE)]


def read_subnets(aws: Any) -> list[Subnet]:
    return [Subnet.from_raw(r) for r in aws.paginate("ec2", "DescribeSubnets", "Subnets", **BIG_PAGE)]


def read_network_acls(aws: Any) -> list[NetworkAcl]:
    return [NetworkAcl.from_raw(r) for r in aws.paginate("ec2", "DescribeNetworkAcls", "NetworkAcls", **BIG_PAGE)]


def read_route_tables(aws: Any) -> list[RouteTable]:
    return [RouteTable.from_raw(r) for r in aws.paginate("ec2", "DescribeRouteTables", "RouteTables", **PAGE)]


def read_cluster_tasks(aws: Any, cluster_arn: str) -> list[Task]:
    """A cluster's running and recently stopped tasks: two listings at once, then DescribeTasks by 100 at once."""
    lists = run_all([lambda: aws.paginate("ecs", "ListTasks", "taskArns", cluster=cluster_arn, **PAGE),
                     lambda: aws.paginate("ecs", "ListTasks", "taskArns", cluster=cluster_arn,
                                          desiredStatus="STOPPED", **PAGE)])
    arns = list(dict.fromkeys(lists[0] + lists[1]))
    pages = each(lambda b: aws.call("ecs", "DescribeTasks", cluster=cluster_arn, tasks=b),
                 [arns[i:i + 100] for i in range(0, len(arns), 100)])
    return [Task.from_raw(r) for p in pages for r in p.get("tasks", [])]


def cluster_services(aws: Aws, cluster: str) -> list[dict]:
    """Every service of one cluster as DescribeServices returns it (any status): ListServices at its largest
    page (AWS pages by 10 unless asked), then DescribeServices by 10, its limit (the pages at once)."""
    arns = aws.paginate("ecs", "ListServices", "serviceArns", cluster=cluster, PaginationConfig={"PageSize": 100})
    pages = each(lambda i: aws.call("ecs", "DescribeServices", cluster=cluster, services=arns[i:i + 10]),
                 range(0, len(arns), 10))
    return [s for p in pages for s in p.get("services", [])]


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


# -- the tortoise's snapshot ---------------------------------------------------------------------------------
def collect_account(aws: Aws, *, lb_attributes: bool = False,
                    progress: Callable[[str], None] | None = None) -> Snapshot:
    """Fill a Snapshot with the whole account and region (see the module docstring for the calls).

    Rounds: the caller's identity; then the areas side by side (DNS, load balancers -> listeners -> rules, target
    groups, ECS, task definitions, EC2), each filling only its own part of the snapshot; then what reads across
    them (target health of unserved groups, the size of idle services' tasks)."""
    say = progress or (lambda _msg: None)
    ident = aws.identity()
    snap = Snapshot(region=aws.region, account=ident.get("Account"), account_wide=True)

    def area(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except AwsCallError as err:
            snap.record_failure(name, err)

    def dns() -> None:
        say("hosted zones and records")
        for z in read_zones(aws):
            snap.zones[z.id] = z
        for recs in each(lambda z: read_zone_records(aws, z.id), list(snap.zones.values())):
            snap.records.extend(recs)

    def load_balancers() -> None:
        say("load balancers, listeners and rules")
        for lb in read_load_balancers(aws):
            snap.load_balancers[lb.arn] = lb

    def listeners() -> None:
        lbs = list(snap.load_balancers.values())
        for found in each(lambda lb: read_listeners(aws, lb.arn), lbs):
            for lst in found:
                snap.listeners[lst.arn] = lst
        if lb_attributes:
            for lb, attrs in zip(lbs, each(lambda lb: aws.call("elbv2", "DescribeLoadBalancerAttributes",
                                                               LoadBalancerArn=lb.arn), lbs)):
                lb.attributes = {a["Key"]: a["Value"] for a in attrs.get("Attributes", [])}
        lsts = list(snap.listeners.values())
        for lst, rules in zip(lsts, each(lambda l: read_rules(aws, l.arn), lsts)):
            snap.rules[lst.arn] = rules

    def elb() -> None:
        load_balancers()  # essential: its failure ends the run
        area("account.listeners", listeners)

    def target_groups() -> None:
        for tg in read_target_groups(aws):
            snap.target_groups[tg.arn] = tg

    def ecs() -> None:
        say("ECS clusters and services")
        for svc in read_services(aws):
            if svc.status != "INACTIVE":
                snap.services[svc.arn] = svc

    def task_definitions() -> None:
        say("ACTIVE task definition revisions")
        for arn in aws.paginate("ecs", "ListTaskDefinitions", "taskDefinitionArns", status="ACTIVE", **PAGE):
            family, rev = task_definition_family_revision(arn)
            snap.task_definition_revisions.setdefault(family, {})[rev] = arn
        for family in snap.task_definition_revisions:
            snap.task_definition_revisions[family] = dict(sorted(snap.task_definition_revisions[family].items()))

    def ec2() -> None:
        say("security groups and network interfaces")
        groups, enis = run_all([lambda: read_security_groups(aws), lambda: read_network_interfaces(aws)])
        for g in groups:
            snap.security_groups[g.id] = g
        for eni in enis:
            snap.network_interfaces[eni.id] = eni

    def target_health() -> None:
        # Only where it decides something: a group on a listener that no ECS service with desired tasks registers
        # into (a group on no listener is orphaned anyway; a service's group is in use).
        from shine_ops.topology.ownership import referenced_tgs

        served = {tg for s in snap.services.values() if s.desired > 0 for tg in s.target_group_arns}
        on_listener = referenced_tgs(snap)
        tgs = [tg for tg in snap.target_groups.values() if tg.arn not in served and tg.arn in on_listener]
        for tg, resp in zip(tgs, each(lambda tg: aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg.arn),
                                      tgs)):
            tg.targets = [TargetHealth.from_raw(d) for d in resp.get("TargetHealthDescriptions", [])]

    def task_sizes() -> None:
        # Only what a check reads: the task size of services that cost money and receive no traffic.
        from shine_ops.topology.ownership import services_without_traffic_path

        arns = sorted({s.task_definition for s in services_without_traffic_path(snap) if s.task_definition})
        for resp in each(lambda arn: aws.call("ecs", "DescribeTaskDefinition", taskDefinition=arn), arns):
            td = TaskDefinition.from_raw(resp["taskDefinition"])
            snap.task_definitions[td.arn] = td

    together(elb, lambda: area("account.dns", dns), lambda: area("account.target_groups", target_groups),
             lambda: area("account.ecs", ecs), lambda: area("account.task_definitions", task_definitions),
             lambda: area("account.ec2", ec2))
    after = []
    if "account.target_groups" not in snap.errors:
        after.append(lambda: area("account.target_health", target_health))
    if not {"account.dns", "account.listeners", "account.ecs"} & set(snap.errors):
        after.append(lambda: area("account.task_sizes", task_sizes))
    together(*after)
    return snap
