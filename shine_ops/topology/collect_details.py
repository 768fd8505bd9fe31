"""The collector's last rounds: what the checks read about the path once it is resolved.

Each optional area records its own failure (``Snapshot.errors``) instead of ending the run, and the areas run
side by side (each fills its own part of the snapshot); inside an area the per-resource reads run at once.
Rounds: security groups, subnets, NACLs, the service's task listings, target health and attributes, load-balancer
attributes, listener certificates and metrics; then route tables (the subnets' VPCs), the tasks themselves and the
certificates; then any revision a running task uses that no deployment names.
"""

from __future__ import annotations

from typing import Any

from shine_ops.topology import path as P
from shine_ops.topology.collect_steps import PathSteps
from shine_ops.topology.model import LoadBalancer
from shine_ops.topology.parallel import Later, each, run_all, together


class DetailSteps(PathSteps):
    """The details rounds of ``collect.Collector`` (see the module docstring), after its path steps."""

    def _collect_details(self, path: P.RequestPath, revisions: Later | None = None) -> None:
        """``revisions``: told when the service's own revisions are in (the details may start beside that read)."""
        snap = self.snap
        assert snap
        lbs = [snap.load_balancers[a] for a in path.path_lb_arns(snap) if a in snap.load_balancers]
        svc = path.service
        together(lambda: self._area("security_groups", lambda: self._security_groups(lbs, svc)),
                 lambda: self._area("network", lambda: self._network(lbs, svc)),
                 lambda: self._area("tasks", lambda: self._tasks(path, revisions)),
                 lambda: self._area("target_health", lambda: self._target_health(svc)),
                 lambda: self._area("lb_attributes", lambda: self._lb_attributes(lbs)),
                 lambda: self._area("certificates", lambda: self._certificates(lbs)),
                 lambda: self._area("lb_metrics", lambda: self._collect_lb_metrics(lbs)))

    def _security_groups(self, lbs: list[LoadBalancer], svc: Any) -> None:
        snap = self.snap
        assert snap
        ids = sorted({g for lb in lbs for g in lb.security_groups} | set(svc.security_groups if svc else []))
        if ids:
            for g in self.src.security_groups(ids):
                snap.security_groups[g.id] = g

    def _network(self, lbs: list[LoadBalancer], svc: Any) -> None:
        """Three reads, three areas: unreadable NACLs error nacl.alb-to-task, not the security-group checks."""
        snap = self.snap
        assert snap
        ids = sorted({s for lb in lbs for s in lb.subnets} | set(svc.subnets if svc else []))
        if not ids:
            return

        def subnets() -> None:
            if {"subnets", "route_tables"} & self.areas:
                with self._contained("subnets"):
                    for s in self.src.subnets(ids):
                        snap.subnets[s.id] = s

        def nacls() -> None:
            if "nacls" in self.areas:
                with self._contained("nacls"):
                    for n in self.src.network_acls(ids):
                        snap.network_acls[n.id] = n

        run_all([subnets, nacls])
        vpcs = sorted({snap.subnets[i].vpc_id for i in ids if i in snap.subnets})
        if vpcs and "route_tables" in self.areas:  # explicit associations, and the VPC's main table
            with self._contained("route_tables"):
                for rt in self.src.route_tables(vpcs):
                    if rt.is_main or set(rt.subnet_ids) & set(ids):
                        snap.route_tables[rt.id] = rt

    def _tasks(self, path: P.RequestPath, revisions: Later | None = None) -> None:
        snap = self.snap
        assert snap
        svc = path.service
        if not svc:
            return
        # recently stopped tasks too (ECS keeps them about an hour): why tasks crash (ecs.tasks-not-crashing)
        for t in self.src.service_tasks(svc.cluster_arn, svc.name):
            snap.tasks[t.arn] = t
        if revisions is not None:
            revisions.get()  # the service's own revisions first: a running task's is read only if it is another
        # a revision a running task uses that no deployment names (rare on AWS): the checks judge what runs
        self._describe_task_definitions([t.task_definition for t in path.running_tasks(snap)])

    def _target_health(self, svc: Any) -> None:
        snap = self.snap
        assert snap
        tgs = [snap.target_groups[a] for a in (svc.target_group_arns if svc else []) if a in snap.target_groups]
        got = each(lambda tg: run_all([lambda: self.src.target_health(tg.arn),
                                       lambda: self.src.target_group_attributes(tg.arn)]), tgs)
        for tg, (health, attrs) in zip(tgs, got):
            tg.attributes = attrs
            tg.targets = health

    def _lb_attributes(self, lbs: list[LoadBalancer]) -> None:
        for lb, attrs in zip(lbs, each(lambda lb: self.src.lb_attributes(lb.arn), lbs)):
            lb.attributes = attrs

    def _certificates(self, lbs: list[LoadBalancer]) -> None:
        # DescribeListeners names only the default certificate; the SNI ones a listener also serves (and may pick
        # for the domain) come from DescribeListenerCertificates, one call per TLS listener.
        snap = self.snap
        assert snap
        tls = [lst for lb in lbs for lst in snap.listeners_of(lb.arn) if lst.protocol in ("HTTPS", "TLS")]
        for lst, arns in zip(tls, each(lambda lst: self.src.listener_certificates(lst.arn), tls)):
            for arn in arns:
                if arn not in lst.certificates:
                    lst.certificates.append(arn)
        arns = sorted({c for lb in lbs for lst in snap.listeners_of(lb.arn) for c in lst.certificates})
        for cert in each(self.src.certificate, arns):
            snap.certificates[cert.arn] = cert

    def _collect_lb_metrics(self, lbs: list[LoadBalancer]) -> None:
        """CloudWatch's recent ELB 504s and response times of each application load balancer on the path: the
        evidence alb.idle-timeout-covers-latency judges by when no latency_budget_s is declared. One GetMetricData
        call per load balancer; a failed read is kept on its entry (the check says so), never ends the run."""
        snap = self.snap
        assert snap
        albs = [lb for lb in lbs if lb.type == "application"]
        for lb, metrics in zip(albs, each(lambda lb: self.src.lb_metrics(lb.arn), albs)):
            snap.lb_metrics[lb.arn] = metrics
