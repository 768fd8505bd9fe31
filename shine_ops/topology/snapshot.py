"""The snapshot: everything collected for one target, indexed for the pure checks that read it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from shine_ops.errors import AwsCallError
from shine_ops.topology.model import (Certificate, HostedZone, Listener, LoadBalancer, NetworkAcl,
                                      NetworkInterface, RecordSet, RouteTable, Rule, SecurityGroup, Service, Subnet,
                                      Task, TaskDefinition, TargetGroup)


_FAILURES = threading.Lock()  # collection lanes record failures at the same time


@dataclass
class Snapshot:
    region: str
    account: str | None = None
    zones: dict[str, HostedZone] = field(default_factory=dict)
    records: list[RecordSet] = field(default_factory=list)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    listeners: dict[str, Listener] = field(default_factory=dict)
    rules: dict[str, list[Rule]] = field(default_factory=dict)  # listener ARN -> rules (default last)
    target_groups: dict[str, TargetGroup] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    task_definitions: dict[str, TaskDefinition] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    network_acls: dict[str, NetworkAcl] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    network_interfaces: dict[str, NetworkInterface] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    # Areas whose collection failed (e.g. access denied): their checks report ``error``.
    errors: dict[str, AwsCallError] = field(default_factory=dict)
    # ``cluster/service`` names asked for that ECS reported as MISSING or INACTIVE.
    missing_services: list[str] = field(default_factory=list)
    # Target group ARNs that a service or rule names but that no longer exist.
    missing_target_groups: list[str] = field(default_factory=list)
    # Account-wide collection (topology/account.py): the whole account+region, not one request path.
    account_wide: bool = False
    # task definition family -> {ACTIVE revision: ARN} (listed, not described)
    task_definition_revisions: dict[str, dict[int, str]] = field(default_factory=dict)
    # load balancer ARN -> topology.metrics.LbMetrics: CloudWatch's recent 504s and response times (area
    # ``lb_metrics``, optional evidence: a failed read is kept on the entry, never in ``errors``)
    lb_metrics: dict[str, Any] = field(default_factory=dict)
    # record sets by name, rebuilt when the list changes (collection only adds to it)
    _records_index: Any = field(default=None, init=False, repr=False, compare=False)

    # -- contained failures ---------------------------------------------------------------------
    def record_failure(self, area: str, err: AwsCallError, resource: str | None = None) -> None:
        """Keep a failed read of ``area`` (for ``resource``, where reads are per resource) instead of ending the
        run: exactly the checks that declare ``area`` in their ``needs`` then report ``error`` naming the call."""
        with _FAILURES:
            kept = self.errors.setdefault(area, err)
            if resource and resource not in kept.resources:
                kept.resources.append(resource)

    @property
    def failed_areas(self) -> dict[str, AwsCallError]:
        """Area -> the error that stopped its collection (an alias of ``errors``)."""
        return self.errors

    # -- lookups --------------------------------------------------------------------------------
    def lb_by_dns(self, dns: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers.values() if lb.dns_name == dns), None)

    def records_by_name(self, name: str) -> list[RecordSet]:
        """The record sets called ``name`` (already normalised), in collection order. Indexed: resolving every
        name of a zone (a path found without a domain) would otherwise scan every record for each name."""
        key = (id(self.records), len(self.records))
        if self._records_index is None or self._records_index[0] != key:
            by_name: dict[str, list[RecordSet]] = {}
            for r in self.records:
                by_name.setdefault(r.name, []).append(r)
            self._records_index = (key, by_name)
        return self._records_index[1].get(name, [])

    def lb_by_ref(self, ref: str) -> LoadBalancer | None:
        """Find a load balancer by ``app/name/id`` (as ELB network interfaces describe themselves)."""
        return next((lb for lb in self.load_balancers.values() if lb.arn.endswith("loadbalancer/" + ref)), None)

    def listeners_of(self, lb_arn: str) -> list[Listener]:
        return sorted((lst for lst in self.listeners.values() if lst.lb_arn == lb_arn), key=lambda l: (l.port is None, l.port or 0))

    def rules_of(self, listener_arn: str) -> list[Rule]:
        """Rules in evaluation order: by priority, the default rule last."""
        return sorted(self.rules.get(listener_arn, []),
                      key=lambda r: (r.priority is None, r.priority if r.priority is not None else 0))

    def tg_name(self, arn: str) -> str:
        tg = self.target_groups.get(arn)
        return tg.name if tg else arn.split(":")[-1]

    def tg_names(self) -> dict[str, str]:
        return {arn: tg.name for arn, tg in self.target_groups.items()}

    def lbs_forwarding_to(self, tg_arn: str) -> list[LoadBalancer]:
        """Load balancers with a listener default action or rule that forwards to ``tg_arn``."""
        found: dict[str, LoadBalancer] = {}
        for lst in self.listeners.values():
            actions = [lst.default_action] + [r.action for r in self.rules.get(lst.arn, [])]
            if any(tg_arn in a.target_groups for a in actions):
                lb = self.load_balancers.get(lst.lb_arn)
                if lb:
                    found[lb.arn] = lb
        tg = self.target_groups.get(tg_arn)
        for arn in (tg.lb_arns if tg else []):
            if arn in self.load_balancers:
                found.setdefault(arn, self.load_balancers[arn])
        return list(found.values())

    def services_using(self, tg_arn: str) -> list[Service]:
        return [s for s in self.services.values() if tg_arn in s.target_group_arns]

    def raw_view(self) -> dict[str, Any]:
        """The raw AWS shapes per resource kind: what generic JMESPath checks query."""
        return {
            "hosted_zones": [z.raw for z in self.zones.values()],
            "record_sets": [r.raw for r in self.records],
            "load_balancers": [lb.raw | {"Attributes": lb.attributes} for lb in self.load_balancers.values()],
            "listeners": [l.raw for l in self.listeners.values()],
            "rules": [r.raw | {"ListenerArn": r.listener_arn} for rs in self.rules.values() for r in rs],
            "target_groups": [tg.raw | {"Attributes": tg.attributes} for tg in self.target_groups.values()],
            "services": [s.raw for s in self.services.values()],
            "task_definitions": [t.raw for t in self.task_definitions.values()],
            "tasks": [t.raw for t in self.tasks.values()],
            "security_groups": [g.raw for g in self.security_groups.values()],
            "subnets": [s.raw for s in self.subnets.values()],
            "network_acls": [n.raw for n in self.network_acls.values()],
            "route_tables": [r.raw for r in self.route_tables.values()],
            "network_interfaces": [n.raw for n in self.network_interfaces.values()],
            "certificates": [c.raw for c in self.certificates.values()],
        }
