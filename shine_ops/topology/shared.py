"""One account read shared by many request paths (``diagnose --all``, ``map --all``, ``audit`` of many targets).

Why: a focused collection costs about 20 calls per service, so an account of 300 services diagnosed one by one
costs 6,000 calls and gets throttled (docs/aws-behaviour.md section 9). ``AccountSource`` answers the collector's
questions instead from bulk, paginated reads of the whole account (the ones the ``tortoise`` collection makes,
``topology/account.py``), each made once, and from the per-resource reads no bulk form exists for (target health
and attributes of a target group, a task definition, a load balancer's attributes, a listener's certificates, a
certificate), each made once however many paths need it. CloudWatch metrics of every application load balancer
come in one ``GetMetricData`` call.

The collector walks each path over this source exactly as over the live one, so each path's snapshot holds what a
focused collection of that target holds (its own copies of the objects it fills in: target health, attributes,
certificates), and the checks judge the same evidence. Where the bulk read cannot answer exactly (a security
group or subnet it does not list), the source makes the focused call itself, so AWS's own answer (an error too)
decides. A failed read is kept and handed to every path that asks, as each focused run would have met it.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence, TypeVar

from shine_ops.topology import account as A
from shine_ops.topology.model import (Certificate, HostedZone, Listener, LoadBalancer, NetworkAcl, NetworkInterface,
                                      RecordSet, RouteTable, Rule, SecurityGroup, Service, Subnet, Task,
                                      TaskDefinition, TargetGroup, TargetHealth)
from shine_ops.topology.parallel import Once, run_all, workers
from shine_ops.topology.sources import LiveSource

T = TypeVar("T")


class AccountSource:
    """Answers ``collect.Collector`` from account-wide reads made once (thread-safe: paths may be walked at once).

    ``inventory``: read every cluster's services (ListClusters, ListServices, DescribeServices by 10) and answer
    a named service from it; otherwise a named service is one DescribeServices call, made once."""

    def __init__(self, aws: Any, *, inventory: bool = True) -> None:
        self.aws = aws
        self.inventory = inventory
        self.live = LiveSource(aws)
        self._once = Once()
        self.paths = 0  # request paths walked over this source (the reports that share its calls)

    @property
    def region(self) -> str:
        return self.aws.region

    def _get(self, key: Any, fn: Callable[[], T]) -> T:
        return self._once.get(key, fn)

    def memo(self, key: Any, fn: Callable[[], T]) -> T:
        """A pure result over reads every path shares (``key`` names its inputs), worked out once."""
        return self._get(("memo", key), fn)

    # -- identity, DNS ---------------------------------------------------------------------------------------------
    def identity(self) -> dict:
        return self._get("identity", self.aws.identity)

    def load_balancers(self) -> list[LoadBalancer]:
        return [copy.copy(lb) for lb in self._get("lbs", lambda: A.read_load_balancers(self.aws))]

    def zones(self) -> list[HostedZone]:
        return list(self._get("zones", lambda: A.read_zones(self.aws)))

    def zone_records(self, zone_id: str) -> list[RecordSet]:
        return list(self._get(("records", zone_id), lambda: A.read_zone_records(self.aws, zone_id)))

    def records_named(self, zone_id: str, name: str) -> list[RecordSet]:
        return [r for r in self.zone_records(zone_id) if r.name == name]

    def enis_with_ips(self, ips: list[str]) -> list[NetworkInterface]:
        wanted = set(ips)
        return [e for e in self._get("enis", lambda: A.read_network_interfaces(self.aws))
                if wanted & set(e.private_ips) or wanted & set(e.public_ips)]

    # -- ELBv2 -----------------------------------------------------------------------------------------------------
    def listeners(self, lb_arn: str) -> list[Listener]:
        found = self._get(("listeners", lb_arn), lambda: A.read_listeners(self.aws, lb_arn))
        return [_with_certificates(lst) for lst in found]

    def rules(self, listener_arn: str) -> list[Rule]:
        return list(self._get(("rules", listener_arn), lambda: A.read_rules(self.aws, listener_arn)))

    def _target_groups(self) -> dict[str, TargetGroup]:
        return self._get("tgs", lambda: {tg.arn: tg for tg in A.read_target_groups(self.aws)})

    def target_groups(self, batch: list[str]) -> tuple[list[TargetGroup], list[str]]:
        every = self._target_groups()
        return [copy.copy(every[a]) for a in batch if a in every], [a for a in batch if a not in every]

    def target_health(self, tg_arn: str) -> list[TargetHealth]:
        return list(self._get(("health", tg_arn), lambda: self.live.target_health(tg_arn)))

    def target_group_attributes(self, tg_arn: str) -> dict[str, str]:
        return dict(self._get(("tg-attributes", tg_arn), lambda: self.live.target_group_attributes(tg_arn)))

    def lb_attributes(self, lb_arn: str) -> dict[str, str]:
        return dict(self._get(("lb-attributes", lb_arn), lambda: self.live.lb_attributes(lb_arn)))

    def listener_certificates(self, listener_arn: str) -> list[str]:
        return list(self._get(("listener-certs", listener_arn),
                              lambda: self.live.listener_certificates(listener_arn)))

    def certificate(self, arn: str) -> Certificate:
        return self._get(("certificate", arn), lambda: self.live.certificate(arn))

    def lb_metrics(self, lb_arn: str) -> Any:
        """Every application load balancer's evidence in one GetMetricData call (500 queries a call)."""
        from shine_ops.topology.metrics import idle_timeout_evidence_many

        def read() -> dict[str, Any]:
            albs = [lb.arn for lb in self.load_balancers() if lb.type == "application"]
            return idle_timeout_evidence_many(self.aws, albs)

        got = self._get("metrics", read).get(lb_arn)
        return copy.copy(got) if got is not None else self._get(("metrics", lb_arn),
                                                                 lambda: self.live.lb_metrics(lb_arn))

    # -- ECS -------------------------------------------------------------------------------------------------------
    def services(self) -> list[Service]:
        return list(self._get("services", lambda: A.read_services(self.aws)))

    def service(self, cluster: str, name: str) -> Service | None:
        if not self.inventory:
            return self._get(("service", cluster, name), lambda: self.live.service(cluster, name))
        return next((s for s in self.services() if s.status != "INACTIVE" and cluster in (s.cluster_arn, s.cluster_name)
                     and name in (s.name, s.arn)), None)

    def task_definition(self, name: str) -> TaskDefinition:
        return self._get(("task-definition", name), lambda: self.live.task_definition(name))

    def service_tasks(self, cluster_arn: str, service: str) -> list[Task]:
        """The cluster's tasks read once (running and recently stopped); the service's are those ECS started for it
        (``group: service:<name>``; an emulator's task with no group could be anyone's, so it counts too)."""
        tasks = self._get(("tasks", cluster_arn), lambda: A.read_cluster_tasks(self.aws, cluster_arn))
        return [t for t in tasks if t.group in (None, "", f"service:{service}")]

    # -- EC2: from the bulk read when it lists every asked id, else the focused call (AWS's own answer) -------------
    def security_groups(self, ids: list[str]) -> list[SecurityGroup]:
        return self._listed("sgs", A.read_security_groups, ids, lambda g: g.id, self.live.security_groups)

    def subnets(self, ids: list[str]) -> list[Subnet]:
        return self._listed("subnets", A.read_subnets, ids, lambda s: s.id, self.live.subnets)

    def network_acls(self, subnet_ids: list[str]) -> list[NetworkAcl]:
        wanted = set(subnet_ids)
        return [n for n in self._get("nacls", lambda: A.read_network_acls(self.aws)) if wanted & set(n.subnet_ids)]

    def route_tables(self, vpc_ids: list[str]) -> list[RouteTable]:
        return [r for r in self._get("route-tables", lambda: A.read_route_tables(self.aws)) if r.vpc_id in vpc_ids]

    def _listed(self, key: str, read: Callable[[Any], list[T]], ids: list[str], id_of: Callable[[T], str],
                focused: Callable[[list[str]], list[T]]) -> list[T]:
        every = self._get(key, lambda: read(self.aws))
        known = {id_of(x) for x in every}
        if set(ids) <= known:
            return [x for x in every if id_of(x) in set(ids)]
        return self._get((key, tuple(ids)), lambda: focused(ids))

    # -- many paths ----------------------------------------------------------------------------------------------
    def services_behind_load_balancers(self) -> list[Any]:
        """Every ECS service whose target group a load balancer uses, as targets (``diagnose --all``)."""
        from shine_ops.topology.collect import Target

        tgs = self._target_groups()
        found = {s.arn: s for s in self.services() if s.status != "INACTIVE" and s.load_balancers}
        return [Target(cluster=s.cluster_name, service=s.name) for s in sorted(found.values(), key=lambda s: s.key)
                if any(tgs[t].lb_arns for t in s.target_group_arns if t in tgs)]

    def prefetch(self, areas: set[str]) -> None:
        """The bulk reads every path starts from, at once (load balancers, target groups, the service inventory,
        zones; the EC2 listings the areas ask for). Each is made once whether prefetched or asked for later."""
        reads: list[Callable[[], Any]] = [self.identity, self.load_balancers, self._target_groups]
        if "dns" in areas:
            reads.append(self.zones)
        if self.inventory:
            reads.append(self.services)
        if "security_groups" in areas:
            reads.append(lambda: self._get("sgs", lambda: A.read_security_groups(self.aws)))
        run_all(reads, limit=len(reads))


def _with_certificates(lst: Listener) -> Listener:
    out = copy.copy(lst)
    out.certificates = list(lst.certificates)
    return out


def shared_api_calls(aws: Any, targets: int) -> dict[str, Any]:
    """A shared collection's ``api_calls`` for each of its reports: the calls of the whole collection (every
    report's evidence came from them) and ``shared``: how many targets shared them, and their total."""
    calls = aws.calls.to_json()
    return {**calls, "shared": {"targets": targets, "total": calls["total"]}}


def for_each(fn: Callable[[T], Any], items: Sequence[T], *, limit: int | None = None,
             done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``fn`` over ``items``, at most ``limit`` (``workers()``) at once, results in order; ``done(i, result)`` is
    called as each finishes (a progress display). The first failure, in order, is raised once all have ended."""
    def one(i: int, item: T) -> Any:
        result = fn(item)
        if done:
            done(i, result)
        return result

    return run_all([(lambda i=i, item=item: one(i, item)) for i, item in enumerate(items)],
                   limit=limit or workers())
