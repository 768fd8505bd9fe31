"""Collectors: a few bulk, paginated describe calls, scoped to one target's request path.

The call count of one diagnosis is bounded whatever the account size (apart from pagination): we list
zones and load balancers (to match DNS names), then describe only what the path touches. Discovering
the service from a domain alone needs the ECS inventory, which costs ceil(services/10) describe calls;
naming ``--cluster/--service`` avoids it.

The calls run in dependency rounds (each costs 50-150 ms from a laptop: docs/aws-behaviour.md section 9): every read
whose inputs are known is issued at once, round after round - the caller's identity, the load balancers, the
zones and the ECS inventory; the domain's records; the listeners; their rules; the target groups and task
definitions; then the details (``collect_details``). The calls made, and the snapshot, are the same as one at a
time (``SHINE_OPS_WORKERS=1``).

Every collector declares the IAM actions it needs in ``PERMISSIONS`` (``shine-ops iam-policy`` later
turns them into a least-privilege policy). Where the reads come from is a source (``sources.LiveSource``: the
calls below; ``shared.AccountSource``: one account read shared by many paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shine_ops.aws import Aws
from shine_ops.errors import UsageError
from shine_ops.topology import path as P
from shine_ops.topology.collect_details import DetailSteps
from shine_ops.topology.model import norm_dns
from shine_ops.topology.parallel import Later, together
from shine_ops.topology.snapshot import Snapshot
from shine_ops.topology.sources import LiveSource

# Areas of the snapshot. Evaluators declare which they need; only those are collected.
AREAS = ("dns", "elbv2", "ecs", "task_definitions", "tasks", "target_health", "security_groups", "network",
         "subnets", "nacls", "route_tables", "lb_attributes", "certificates", "lb_metrics")
# An umbrella area stands for its parts (a check that declares ``network`` reads subnets, NACLs and route tables).
AREA_PARTS: dict[str, tuple[str, ...]] = {"network": ("subnets", "nacls", "route_tables")}
# Failures: the reads without which there is no request path (the load balancers, their listeners, rules and
# target groups, the domain's zones and records, the named or discovered service) raise and end the run (exit 3).
# Every other read runs inside ``_area``/``_contained``: its failure is kept in ``Snapshot.errors`` under its area
# (and resource), and errors only the checks whose ``needs`` name that area.

PERMISSIONS: dict[str, list[str]] = {
    "identity": ["sts:GetCallerIdentity"],
    "dns": ["route53:ListHostedZones", "route53:ListResourceRecordSets", "ec2:DescribeNetworkInterfaces"],
    "elbv2": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
              "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups"],
    "ecs": ["ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeTaskDefinition"],
    "tasks": ["ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition"],  # the running tasks' revisions
    "target_health": ["elasticloadbalancing:DescribeTargetHealth",
                      "elasticloadbalancing:DescribeTargetGroupAttributes"],
    "security_groups": ["ec2:DescribeSecurityGroups"],
    "network": ["ec2:DescribeSubnets", "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables"],
    "subnets": ["ec2:DescribeSubnets"],
    "nacls": ["ec2:DescribeNetworkAcls"],
    "route_tables": ["ec2:DescribeSubnets", "ec2:DescribeRouteTables"],
    "task_definitions": ["ecs:DescribeTaskDefinition"],
    "lb_attributes": ["elasticloadbalancing:DescribeLoadBalancerAttributes"],
    "certificates": ["elasticloadbalancing:DescribeListenerCertificates", "acm:DescribeCertificate"],
    "lb_metrics": ["cloudwatch:GetMetricData"],
}


@dataclass
class Target:
    """What to diagnose: any one of a domain or cluster+service is enough; the rest is discovered."""

    domain: str | None = None
    cluster: str | None = None
    service: str | None = None

    def __post_init__(self) -> None:
        if self.domain:
            self.domain = norm_dns(self.domain)
        if bool(self.cluster) != bool(self.service) and not self.domain:
            raise UsageError("give --cluster and --service together, or --domain")
        if not self.domain and not self.service:
            raise UsageError("nothing to diagnose", hint="give --domain, or --cluster and --service, "
                                                         "or put them in shine-ops.yaml")

    @property
    def service_key(self) -> str | None:
        return f"{self.cluster}/{self.service}" if self.cluster and self.service else None


class Collector(DetailSteps):
    """Fills a Snapshot for one target and resolves its RequestPath.

    ``source``: where the reads come from (default: the focused calls through ``aws``)."""

    def __init__(self, aws: Aws, areas: set[str] | None = None,
                 progress: Callable[[str], None] | None = None, service_paths: list[str] | None = None,
                 source: Any = None) -> None:
        self.aws = aws
        self.src = source if source is not None else LiveSource(aws)
        self.service_paths = service_paths  # declared: discovery from a domain follows these requests too
        self.areas = set(areas or AREAS) | {"elbv2", "ecs"}  # the path itself needs these
        self.areas |= {part for a in list(self.areas) for part in AREA_PARTS.get(a, ())}
        self.areas |= {a for a, parts in AREA_PARTS.items() if set(parts) & self.areas}
        self.progress = progress or (lambda _msg: None)
        self.snap: Snapshot | None = None
        self._listed_all_services = False
        self._record_tgs: list[str] = []  # target groups the domain's listeners name (described a round later)

    # -- entry point ---------------------------------------------------------------------------------------------
    def collect(self, target: Target) -> tuple[Snapshot, P.RequestPath]:
        snap = self.snap = Snapshot(region=self.src.region)
        path = P.RequestPath(domain=target.domain, requested_service=target.service_key)
        given = self._first_rounds(target, path)
        deferred: list[str] = []  # target groups named by listeners read so far and not described yet

        if target.service_key:
            svc = given.get()
            if svc:
                path.service, path.service_source = svc, "given"
            else:
                snap.missing_services.append(target.service_key)
        elif path.record_lb_arns:
            deferred = self._record_tgs
            # Only the services the domain's own requests reach (host = the domain): neighbours on a shared load
            # balancer (other hosts, header rules, weight-0 groups) are not candidates (docs/aws-behaviour.md
            # section 3).
            found, reaches = P.services_reached(snap, path.record_lb_arns, target.domain, self.service_paths)
            if len(found) == 1:
                path.service, path.service_source = found[0], "domain"
            elif len(found) > 1:
                how = "; ".join(f"{r.request} -> {r.rule} -> {', '.join(r.services)}"
                                + (f" (cannot judge {'; '.join(r.uncertain)})" if r.uncertain else "")
                                for r in reaches if r.services)
                raise UsageError(
                    f"{target.domain} leads to {len(found)} ECS services: "
                    + ", ".join(s.key for s in sorted(found, key=lambda s: s.key)),
                    hint=f"its requests: {how}. Pick one with --cluster and --service, or declare service_paths")
        if path.service is None and not target.service_key:
            deferred = self._candidates(target, path, deferred)

        reverse_dns = not target.domain and path.service is not None and "dns" in self.areas
        revisions = Later()  # the service's revisions are in (a running task's other revision is read after them)
        lanes: list[Callable[[], Any]] = []
        if path.service:
            lanes.append(lambda: self._collect_service_side(path, deferred, revisions))
        else:
            lanes.append(lambda: self._describe_tgs(deferred))
        if reverse_dns:  # no domain asked for: the zones are context, not the path
            lanes.append(lambda: self._read_records_contained())
        # The details need the final path; when nothing read from here on can change it (the service's target
        # groups known, every listener in front of it read, no domain to find), they start now.
        early = path.service is not None and not reverse_dns and self._path_settled(path)
        if early:
            lanes.append(lambda: self._collect_details(path, revisions))
        done = together(*lanes)
        read_records = bool(reverse_dns and done[1])
        self._collect_listeners(path.path_lb_arns(snap))
        if read_records:
            self._match_reverse_dns(path)
        if not early:
            self._collect_details(path)
        return snap, path

    def _read_records_contained(self) -> bool:
        """Every record of the account's zones; False (and the failure kept for ``dns``) when they could not be
        read."""
        with self._contained("dns"):
            self._read_all_records()
            return True
        return False

    def _path_settled(self, path: P.RequestPath) -> bool:
        """No read left before the details would change the path: the service's target groups are known and the
        listeners of every load balancer in front of it (and on the path) are read."""
        snap = self.snap
        assert snap and path.service
        tgs = path.service.target_group_arns
        if any(t not in snap.target_groups and t not in snap.missing_target_groups for t in tgs):
            return False
        lbs = sorted({arn for tg in tgs for arn in self._tg_lb_arns(tg)})
        return not self._unread_listeners(lbs) and not self._unread_listeners(path.path_lb_arns(snap))

    def _first_rounds(self, target: Target, path: P.RequestPath) -> Later:
        """Side by side: the caller's identity; the load balancers; the named service; the domain's zones, records
        and (without a named service) its load balancers' listeners and rules; the ECS inventory (without a named
        service). Returns the named service (``Later``)."""
        snap = self.snap
        assert snap
        lbs, given = Later(), Later()

        def identity() -> None:
            snap.account = self.src.identity().get("Account")

        def load_balancers() -> None:
            self.progress("load balancers")
            for lb in self.src.load_balancers():
                snap.load_balancers[lb.arn] = lb

        def named_service() -> Any:
            self.progress(f"ECS service {target.service_key}")
            return self._describe_service(target.cluster, target.service)  # type: ignore[arg-type]

        def domain() -> None:
            assert target.domain
            self.progress(f"DNS records of {target.domain}")
            self._zones()
            lbs.get()  # a chain ends at a load balancer's name
            self._collect_domain(target.domain)
            path.branches = P.branches(snap, target.domain)
            if not target.service_key and path.record_lb_arns:
                self.progress("services behind the domain's load balancer")
                self._record_tgs = self._collect_listeners(path.record_lb_arns, describe=False)

        lanes: list[Callable[[], Any]] = [identity, lambda: lbs.produce(load_balancers)]
        if target.service_key:
            lanes.append(lambda: given.produce(named_service))
        if target.domain:
            lanes.append(domain)
        if not target.service_key:
            lanes.append(self._collect_all_services)
        together(*lanes)
        return given

    def _candidates(self, target: Target, path: P.RequestPath, deferred: list[str]) -> list[str]:
        """The incident: the record reaches a load balancer that routes to no ECS service. The services behind other
        load balancers are candidates; the only one is diagnosed. Returns the target groups still to describe."""
        snap = self.snap
        assert snap
        self.progress("candidate services behind other load balancers")
        self._collect_all_services()
        tgs = sorted({tg for s in snap.services.values() for tg in s.target_group_arns})
        self._describe_tg_sets([deferred, tgs])
        lbs = {arn for tg in tgs for arn in self._tg_lb_arns(tg)}
        if any(not self._tg_lb_arns(tg) for tg in tgs if tg in snap.target_groups):
            # A group that names no load balancer may still be forwarded to (some emulators do not
            # record rules edited after creation): read every load balancer's listeners.
            lbs |= set(snap.load_balancers)
        wanted = self._collect_listeners(sorted(lbs - set(path.record_lb_arns)) + path.record_lb_arns,
                                         describe=False)
        cands = P.candidate_services(snap, path.record_lb_arns)
        path.candidates = [s.key for s in cands]
        if len(cands) == 1:
            path.service, path.service_source = cands[0], "only-candidate"
        elif len(cands) > 1:
            raise UsageError(
                f"{target.domain} reaches no ECS service; candidates behind other load balancers: "
                + ", ".join(path.candidates), hint="pick one with --cluster and --service")
        return wanted


def services_behind_load_balancers(aws: Aws) -> list[Target]:
    """Every ECS service whose target group some load balancer uses (``diagnose --all``)."""
    from shine_ops.topology.shared import AccountSource

    return AccountSource(aws).services_behind_load_balancers()
