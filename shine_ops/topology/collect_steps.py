"""The collector's steps along a request path: each reads through the source and fills the snapshot.

A step plans its reads from what the snapshot already holds (that decides which calls are made), issues them at
once (``parallel``) and applies the answers in plan order, so the snapshot and the calls are the same as when
the reads run one at a time. Steps that run in different lanes at the same time fill different parts of the
snapshot.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from shine_ops.errors import AwsCallError
from shine_ops.topology import path as P
from shine_ops.topology.model import HostedZone, RecordSet, Service, norm_dns
from shine_ops.topology.parallel import Later, each, together
from shine_ops.topology.snapshot import Snapshot
from shine_ops.topology.sources import TG_BATCH


class PathSteps:
    """DNS, ELBv2 and ECS steps of ``collect.Collector`` (``src``: where reads come from; ``snap``: what is known)."""

    src: Any
    snap: Snapshot | None
    areas: set[str]
    _listed_all_services: bool

    # -- contained failures --------------------------------------------------------------------------------------
    def _area(self, area: str, fn: Callable[[], None]) -> None:
        if area not in self.areas:
            return
        with self._contained(area):
            fn()

    @contextmanager
    def _contained(self, area: str, resource: str | None = None) -> Iterator[None]:
        """A failed AWS call inside is recorded for ``area`` (and ``resource``) in the snapshot, not raised."""
        try:
            yield
        except AwsCallError as err:
            assert self.snap
            self.snap.record_failure(area, err, resource)

    # -- DNS -----------------------------------------------------------------------------------------------------
    def _zones(self) -> list[HostedZone]:
        snap = self.snap
        assert snap
        if not snap.zones:
            for z in self.src.zones():
                snap.zones[z.id] = z
        return list(snap.zones.values())

    def _records_of_name(self, name: str) -> None:
        snap = self.snap
        assert snap
        self._zones()
        todo = [z for z in P.zones_covering(snap, name)
                if not any(r.zone_id == z and r.name == name for r in snap.records)]
        for recs in each(lambda zone_id: self.src.records_named(zone_id, name), todo):
            snap.records.extend(recs)

    def _collect_domain(self, domain: str) -> None:
        snap = self.snap
        assert snap
        todo, seen = [domain], set()
        while todo and len(seen) < P.MAX_CHAIN * 4:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            self._records_of_name(name)
            for rec in P.records_named(snap, name):
                for t in ([rec.alias_dns] if rec.alias_dns else rec.values if rec.type == "CNAME" else []):
                    t = norm_dns(t)
                    if not snap.lb_by_dns(t):
                        todo.append(t)
        ips = P.record_ips(snap, domain)
        if ips:
            with self._contained("dns"):  # which interfaces hold a plain record's addresses: dns checks only
                self._enis_with_ips(ips)

    def _enis_with_ips(self, ips: list[str]) -> None:
        snap = self.snap
        assert snap
        for eni in self.src.enis_with_ips(ips):
            snap.network_interfaces[eni.id] = eni

    def _read_all_records(self) -> None:
        """Without a domain: every record of the account's zones (the zones' listings at once)."""
        snap = self.snap
        assert snap
        zones = self._zones()
        found: list[list[RecordSet]] = each(lambda z: self.src.zone_records(z.id), zones)
        for recs in found:
            snap.records.extend(recs)

    def _match_reverse_dns(self, path: P.RequestPath) -> None:
        """The first record name (in order) whose resolution reaches the service's load balancers becomes the
        path's domain (pure: over the records ``_read_all_records`` read)."""
        snap = self.snap
        assert snap
        lb_arns = set(path.service_lb_arns(snap))
        names = sorted({r.name for r in snap.records if r.type in ("A", "AAAA", "CNAME")})
        # where each name resolves depends only on the records, load balancers and interfaces read: a source shared
        # by many paths (that all read the same) works it out once
        key = ("reach", len(snap.records), tuple(snap.load_balancers), tuple(snap.network_interfaces))
        reach = self.src.memo(key, lambda: {n: {b.lb_arn for b in P.branches(snap, n)} for n in names})
        for name in names:
            if reach.get(name, set()) & lb_arns:
                path.domain = name
                path.branches = P.branches(snap, name)
                return

    def _collect_reverse_dns(self, path: P.RequestPath) -> None:
        """Without a domain: every record of the account's zones that reaches the service's load balancers."""
        self._read_all_records()
        self._match_reverse_dns(path)

    # -- ELBv2 ---------------------------------------------------------------------------------------------------
    def _tg_lb_arns(self, tg_arn: str) -> list[str]:
        tg = self.snap.target_groups.get(tg_arn) if self.snap else None
        return tg.lb_arns if tg else []

    def _unread_listeners(self, lb_arns: list[str]) -> list[str]:
        """The load balancers among ``lb_arns`` whose listeners ``_collect_listeners`` would read."""
        snap = self.snap
        assert snap
        return [a for a in lb_arns
                if a in snap.load_balancers and not any(l.lb_arn == a for l in snap.listeners.values())]

    def _collect_listeners(self, lb_arns: list[str], describe: bool = True) -> list[str]:
        """Listeners and rules of each load balancer not read yet (the load balancers at once, each one's rules at
        once); returns the target groups they name, which are described unless ``describe`` is False (the caller
        then describes them with its next round)."""
        snap = self.snap
        assert snap
        todo = self._unread_listeners(lb_arns)

        def read(lb_arn: str) -> list[tuple[Any, list]]:
            listeners = self.src.listeners(lb_arn)
            return list(zip(listeners, each(lambda lst: self.src.rules(lst.arn), listeners)))

        wanted: set[str] = set()
        for pairs in each(read, todo):
            for lst, rules in pairs:
                snap.listeners[lst.arn] = lst
                snap.rules[lst.arn] = rules
                wanted.update(lst.default_action.target_groups)
                for r in rules:
                    wanted.update(r.action.target_groups)
        if describe:
            self._describe_tgs(sorted(wanted))
        return sorted(wanted)

    def _describe_tgs(self, arns: list[str]) -> None:
        self._describe_tg_sets([arns])

    def _describe_tg_sets(self, sets: list[list[str]]) -> None:
        """Describe each list of target groups (those not known yet, by 20), as one after the other would, with
        every batch at once."""
        snap = self.snap
        assert snap
        known = set(snap.target_groups) | set(snap.missing_target_groups)
        batches: list[list[str]] = []
        for arns in sets:
            todo = [a for a in arns if a not in known]
            batches += [todo[i:i + TG_BATCH] for i in range(0, len(todo), TG_BATCH)]
            known.update(todo)
        for found, missing in each(self.src.target_groups, batches):
            for tg in found:
                snap.target_groups[tg.arn] = tg
            snap.missing_target_groups.extend(missing)

    # -- ECS -----------------------------------------------------------------------------------------------------
    def _describe_service(self, cluster: str, service: str) -> Service | None:
        snap = self.snap
        assert snap
        svc = self.src.service(cluster, service)  # None when MISSING, INACTIVE or its cluster is unknown
        if svc:
            snap.services[svc.arn] = svc
        return svc

    def _collect_all_services(self) -> None:
        snap = self.snap
        assert snap
        if self._listed_all_services:
            return
        self._listed_all_services = True
        for svc in self.src.services():
            if svc.status != "INACTIVE" and svc.load_balancers:
                snap.services.setdefault(svc.arn, svc)

    def _describe_task_definitions(self, names: list[str]) -> None:
        """DescribeTaskDefinition once per revision not yet in the snapshot (no batch API exists; a service names
        one revision, two or three mid-rollout), all at once."""
        snap = self.snap
        assert snap
        todo = [n for n in dict.fromkeys(names) if n and n not in snap.task_definitions]

        def one(name: str) -> Any:
            with self._contained("task_definitions", resource=name):  # one unreadable revision errors its checks
                return self.src.task_definition(name)
            return None

        for name, td in zip(todo, each(one, todo)):
            if td is not None:
                snap.task_definitions[td.arn] = td
                snap.task_definitions.setdefault(name, td)

    def _collect_service_side(self, path: P.RequestPath, deferred: list[str] | None = None,
                              revisions: Later | None = None) -> None:
        """The service's target groups (after ``deferred`` ones a listener named), the revisions it names (the
        PRIMARY and every one a deployment or task set names: mid-rollout the older one serves) at once; then the
        listeners of the load balancers in front of it. ``revisions`` is told when the revisions are in."""
        snap = self.snap
        assert snap and path.service
        svc = path.service
        tds = revisions or Later()
        together(lambda: self._describe_tg_sets([deferred or [], svc.target_group_arns]),
                 lambda: tds.produce(lambda: self._describe_task_definitions(svc.named_revisions())))
        lb_arns = sorted({arn for tg in svc.target_group_arns for arn in self._tg_lb_arns(tg)})
        self._collect_listeners(lb_arns)
