"""Collectors: a few bulk, paginated describe calls, scoped to one target's request path.

The call count of one diagnosis is bounded whatever the account size (apart from pagination): we list
zones and load balancers (to match DNS names), then describe only what the path touches. Discovering
the service from a domain alone needs the ECS inventory, which costs ceil(services/10) describe calls;
naming ``--cluster/--service`` avoids it.

Every collector declares the IAM actions it needs in ``PERMISSIONS`` (``shine-ops iam-policy`` later
turns them into a least-privilege policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shine_ops.aws import Aws
from shine_ops.errors import AwsCallError, UsageError
from shine_ops.topology import path as P
from shine_ops.topology.model import (Certificate, HostedZone, Listener, LoadBalancer, NetworkAcl,
                                      NetworkInterface, RecordSet, RouteTable, Rule, SecurityGroup, Service, Subnet, Task,
                                      TaskDefinition, TargetGroup, TargetHealth, norm_dns)
from shine_ops.topology.snapshot import Snapshot

# Areas of the snapshot. Evaluators declare which they need; only those are collected.
AREAS = ("dns", "elbv2", "ecs", "tasks", "target_health", "security_groups", "network", "lb_attributes",
         "certificates")

PERMISSIONS: dict[str, list[str]] = {
    "identity": ["sts:GetCallerIdentity"],
    "dns": ["route53:ListHostedZones", "route53:ListResourceRecordSets", "ec2:DescribeNetworkInterfaces"],
    "elbv2": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
              "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups"],
    "ecs": ["ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeTaskDefinition"],
    "tasks": ["ecs:ListTasks", "ecs:DescribeTasks"],
    "target_health": ["elasticloadbalancing:DescribeTargetHealth",
                      "elasticloadbalancing:DescribeTargetGroupAttributes"],
    "security_groups": ["ec2:DescribeSecurityGroups"],
    "network": ["ec2:DescribeSubnets", "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables"],
    "lb_attributes": ["elasticloadbalancing:DescribeLoadBalancerAttributes"],
    "certificates": ["elasticloadbalancing:DescribeListenerCertificates", "acm:DescribeCertificate"],
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


class Collector:
    """Fills a Snapshot for one target and resolves its RequestPath."""

    def __init__(self, aws: Aws, areas: set[str] | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.aws = aws
        self.areas = set(areas or AREAS) | {"elbv2", "ecs"}  # the path itself needs these
        self.progress = progress or (lambda _msg: None)
        self.snap: Snapshot | None = None
        self._listed_all_services = False

    # -- entry point ---------------------------------------------------------------------------
    def collect(self, target: Target) -> tuple[Snapshot, P.RequestPath]:
        ident = self.aws.identity()
        snap = self.snap = Snapshot(region=self.aws.region, account=ident.get("Account"))
        path = P.RequestPath(domain=target.domain, requested_service=target.service_key)

        self.progress("load balancers")
        for raw in self.aws.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers"):
            lb = LoadBalancer.from_raw(raw)
            snap.load_balancers[lb.arn] = lb

        if target.domain:
            self.progress(f"DNS records of {target.domain}")
            self._collect_domain(target.domain)
            path.branches = P.branches(snap, target.domain)

        if target.service_key:
            self.progress(f"ECS service {target.service_key}")
            svc = self._describe_service(target.cluster, target.service)  # type: ignore[arg-type]
            if svc:
                path.service, path.service_source = svc, "given"
            else:
                snap.missing_services.append(target.service_key)
        elif path.record_lb_arns:
            self.progress("services behind the domain's load balancer")
            self._collect_listeners(path.record_lb_arns)
            self._collect_all_services()
            found = P.services_behind(snap, path.record_lb_arns)
            if len(found) == 1:
                path.service, path.service_source = found[0], "domain"
            elif len(found) > 1:
                raise UsageError(
                    f"{target.domain} leads to {len(found)} ECS services: "
                    + ", ".join(s.key for s in sorted(found, key=lambda s: s.key)),
                    hint="pick one with --cluster and --service")
        if path.service is None and not target.service_key:
            # The incident: the record reaches a load balancer that routes to no ECS service.
            self.progress("candidate services behind other load balancers")
            self._collect_all_services()
            tgs = sorted({tg for s in snap.services.values() for tg in s.target_group_arns})
            self._describe_tgs(tgs)
            lbs = {arn for tg in tgs for arn in self._tg_lb_arns(tg)}
            if any(not self._tg_lb_arns(tg) for tg in tgs if tg in snap.target_groups):
                # A group that names no load balancer may still be forwarded to (some emulators do not
                # record rules edited after creation): read every load balancer's listeners.
                lbs |= set(snap.load_balancers)
            self._collect_listeners(sorted(lbs - set(path.record_lb_arns)) + path.record_lb_arns)
            cands = P.candidate_services(snap, path.record_lb_arns)
            path.candidates = [s.key for s in cands]
            if len(cands) == 1:
                path.service, path.service_source = cands[0], "only-candidate"
            elif len(cands) > 1:
                raise UsageError(
                    f"{target.domain} reaches no ECS service; candidates behind other load balancers: "
                    + ", ".join(path.candidates), hint="pick one with --cluster and --service")

        if path.service:
            self._collect_service_side(path)
        self._collect_listeners(path.path_lb_arns(snap))
        if not target.domain and path.service and "dns" in self.areas:
            self._collect_reverse_dns(path)
        self._collect_details(path)
        return snap, path

    # -- DNS -----------------------------------------------------------------------------------
    def _zones(self) -> list[HostedZone]:
        snap = self.snap
        assert snap
        if not snap.zones:
            for raw in self.aws.paginate("route53", "ListHostedZones", "HostedZones"):
                z = HostedZone.from_raw(raw)
                snap.zones[z.id] = z
        return list(snap.zones.values())

    def _records_of_name(self, name: str) -> None:
        snap = self.snap
        assert snap
        self._zones()
        for zone_id in P.zones_covering(snap, name):
            if any(r.zone_id == zone_id and r.name == name for r in snap.records):
                continue
            token: dict = {"StartRecordName": name}
            while True:
                page = self.aws.call("route53", "ListResourceRecordSets", HostedZoneId=zone_id, MaxItems="100",
                                     **token)
                done = False
                for raw in page.get("ResourceRecordSets", []):
                    rec = RecordSet.from_raw(zone_id, raw)
                    if rec.name == name:
                        snap.records.append(rec)
                    else:  # the listing starts at our name, sorted: past it, nothing more to read
                        done = True
                        break
                if done or not page.get("IsTruncated"):
                    break
                token = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
                if "NextRecordIdentifier" in page:
                    token["StartRecordIdentifier"] = page["NextRecordIdentifier"]

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
            self._enis_with_ips(ips)

    def _enis_with_ips(self, ips: list[str]) -> None:
        snap = self.snap
        assert snap
        for flt in ("addresses.private-ip-address", "association.public-ip"):
            for raw in self.aws.paginate("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces",
                                         Filters=[{"Name": flt, "Values": ips}]):
                eni = NetworkInterface.from_raw(raw)
                snap.network_interfaces[eni.id] = eni

    def _collect_reverse_dns(self, path: P.RequestPath) -> None:
        """Without a domain: every record of the account's zones that reaches the service's load balancers."""
        snap = self.snap
        assert snap
        for zone in self._zones():
            for raw in self.aws.paginate("route53", "ListResourceRecordSets", "ResourceRecordSets",
                                         HostedZoneId=zone.id):
                snap.records.append(RecordSet.from_raw(zone.id, raw))
        lb_arns = set(path.service_lb_arns(snap))
        reaching = []
        for name in sorted({r.name for r in snap.records if r.type in ("A", "AAAA", "CNAME")}):
            if any(b.lb_arn in lb_arns for b in P.branches(snap, name)):
                reaching.append(name)
        if len(reaching) >= 1:
            path.domain = reaching[0]
            path.branches = P.branches(snap, reaching[0])

    # -- ELBv2 ---------------------------------------------------------------------------------
    def _tg_lb_arns(self, tg_arn: str) -> list[str]:
        tg = self.snap.target_groups.get(tg_arn) if self.snap else None
        return tg.lb_arns if tg else []

    def _collect_listeners(self, lb_arns: list[str]) -> None:
        snap = self.snap
        assert snap
        wanted_tgs: set[str] = set()
        for lb_arn in lb_arns:
            if lb_arn not in snap.load_balancers or any(l.lb_arn == lb_arn for l in snap.listeners.values()):
                continue
            for raw in self.aws.paginate("elbv2", "DescribeListeners", "Listeners", LoadBalancerArn=lb_arn):
                lst = Listener.from_raw(raw)
                snap.listeners[lst.arn] = lst
                rules = [Rule.from_raw(lst.arn, r) for r in
                         self.aws.paginate("elbv2", "DescribeRules", "Rules", ListenerArn=lst.arn)]
                snap.rules[lst.arn] = rules
                wanted_tgs.update(lst.default_action.target_groups)
                for r in rules:
                    wanted_tgs.update(r.action.target_groups)
        self._describe_tgs(sorted(wanted_tgs))

    def _describe_tgs(self, arns: list[str]) -> None:
        snap = self.snap
        assert snap
        missing = [a for a in arns if a not in snap.target_groups and a not in snap.missing_target_groups]
        for i in range(0, len(missing), 20):
            batch = missing[i:i + 20]
            try:
                raws = self.aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups", TargetGroupArns=batch)
            except AwsCallError as err:
                if err.code != "TargetGroupNotFound":
                    raise
                raws = []  # one deleted group fails the whole batch: ask one by one, note the missing
                for arn in batch:
                    try:
                        raws += self.aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups",
                                                  TargetGroupArns=[arn])
                    except AwsCallError as one:
                        if one.code != "TargetGroupNotFound":
                            raise
                        snap.missing_target_groups.append(arn)
            for raw in raws:
                tg = TargetGroup.from_raw(raw)
                snap.target_groups[tg.arn] = tg

    # -- ECS -----------------------------------------------------------------------------------
    def _describe_service(self, cluster: str, service: str) -> Service | None:
        snap = self.snap
        assert snap
        try:
            resp = self.aws.call("ecs", "DescribeServices", cluster=cluster, services=[service])
        except AwsCallError as err:
            if err.code != "ClusterNotFoundException":
                raise
            return None  # reported as a missing service by ecs.service-running
        for raw in resp.get("services", []):
            svc = Service.from_raw(raw)
            if svc.status != "INACTIVE":
                snap.services[svc.arn] = svc
                return svc
        return None

    def _collect_all_services(self) -> None:
        snap = self.snap
        assert snap
        if self._listed_all_services:
            return
        self._listed_all_services = True
        from shine_ops.topology.account import cluster_services

        for cluster in self.aws.paginate("ecs", "ListClusters", "clusterArns", PaginationConfig={"PageSize": 100}):
            for raw in cluster_services(self.aws, cluster):
                svc = Service.from_raw(raw)
                if svc.status != "INACTIVE" and svc.load_balancers:
                    snap.services.setdefault(svc.arn, svc)

    def _collect_service_side(self, path: P.RequestPath) -> None:
        snap = self.snap
        assert snap and path.service
        svc = path.service
        self._describe_tgs(svc.target_group_arns)
        if svc.task_definition and svc.task_definition not in snap.task_definitions:
            resp = self.aws.call("ecs", "DescribeTaskDefinition", taskDefinition=svc.task_definition)
            td = TaskDefinition.from_raw(resp["taskDefinition"])
            snap.task_definitions[td.arn] = td
            snap.task_definitions.setdefault(svc.task_definition, td)
        lb_arns = sorted({arn for tg in svc.target_group_arns for arn in self._tg_lb_arns(tg)})
        self._collect_listeners(lb_arns)

    # -- details: each optional area records its own failure instead of ending the run -----------
    def _area(self, area: str, fn: Callable[[], None]) -> None:
        if area not in self.areas:
            return
        try:
            fn()
        except AwsCallError as err:
            assert self.snap
            self.snap.errors[area] = err

    def _collect_details(self, path: P.RequestPath) -> None:
        snap = self.snap
        assert snap
        lb_arns = path.path_lb_arns(snap)
        lbs = [snap.load_balancers[a] for a in lb_arns if a in snap.load_balancers]
        svc = path.service

        def sgs() -> None:
            ids = sorted({g for lb in lbs for g in lb.security_groups} | set(svc.security_groups if svc else []))
            if ids:
                for raw in self.aws.paginate("ec2", "DescribeSecurityGroups", "SecurityGroups", GroupIds=ids):
                    g = SecurityGroup.from_raw(raw)
                    snap.security_groups[g.id] = g

        def network() -> None:
            ids = sorted({s for lb in lbs for s in lb.subnets} | set(svc.subnets if svc else []))
            if not ids:
                return
            for raw in self.aws.paginate("ec2", "DescribeSubnets", "Subnets", SubnetIds=ids):
                s = Subnet.from_raw(raw)
                snap.subnets[s.id] = s
            for raw in self.aws.paginate("ec2", "DescribeNetworkAcls", "NetworkAcls",
                                         Filters=[{"Name": "association.subnet-id", "Values": ids}]):
                n = NetworkAcl.from_raw(raw)
                snap.network_acls[n.id] = n
            vpcs = sorted({snap.subnets[i].vpc_id for i in ids if i in snap.subnets})
            if vpcs:  # explicit associations, and the VPC's main table for subnets without one
                for raw in self.aws.paginate("ec2", "DescribeRouteTables", "RouteTables",
                                             Filters=[{"Name": "vpc-id", "Values": vpcs}]):
                    rt = RouteTable.from_raw(raw)
                    if rt.is_main or set(rt.subnet_ids) & set(ids):
                        snap.route_tables[rt.id] = rt

        def tasks() -> None:
            if not svc:
                return
            arns = self.aws.paginate("ecs", "ListTasks", "taskArns", cluster=svc.cluster_arn, serviceName=svc.name)
            # recently stopped tasks too (ECS keeps them about an hour): why tasks crash (ecs.tasks-not-crashing)
            arns = list(dict.fromkeys(arns + self.aws.paginate("ecs", "ListTasks", "taskArns", cluster=svc.cluster_arn,
                                                                serviceName=svc.name, desiredStatus="STOPPED")))
            for i in range(0, len(arns), 100):
                resp = self.aws.call("ecs", "DescribeTasks", cluster=svc.cluster_arn, tasks=arns[i:i + 100])
                for raw in resp.get("tasks", []):
                    t = Task.from_raw(raw)
                    snap.tasks[t.arn] = t

        def target_health() -> None:
            for tg_arn in (svc.target_group_arns if svc else []):
                tg = snap.target_groups.get(tg_arn)
                if not tg:
                    continue
                resp = self.aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn)
                attrs = self.aws.call("elbv2", "DescribeTargetGroupAttributes", TargetGroupArn=tg_arn)
                tg.attributes = {a["Key"]: a["Value"] for a in attrs.get("Attributes", [])}
                tg.targets = [TargetHealth.from_raw(d) for d in resp.get("TargetHealthDescriptions", [])]

        def lb_attributes() -> None:
            for lb in lbs:
                resp = self.aws.call("elbv2", "DescribeLoadBalancerAttributes", LoadBalancerArn=lb.arn)
                lb.attributes = {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

        def certificates() -> None:
            # DescribeListeners names only the default certificate; the SNI ones a listener also serves (and may
            # pick for the domain) come from DescribeListenerCertificates, one call per TLS listener.
            for lb in lbs:
                for lst in snap.listeners_of(lb.arn):
                    if lst.protocol not in ("HTTPS", "TLS"):
                        continue
                    params: dict[str, Any] = {"ListenerArn": lst.arn, "PageSize": 400}
                    while True:
                        resp = self.aws.call("elbv2", "DescribeListenerCertificates", **params)
                        for c in resp.get("Certificates", []):
                            if c.get("CertificateArn") and c["CertificateArn"] not in lst.certificates:
                                lst.certificates.append(c["CertificateArn"])
                        if not resp.get("NextMarker"):
                            break
                        params["Marker"] = resp["NextMarker"]
            arns = sorted({c for lb in lbs for l in snap.listeners_of(lb.arn) for c in l.certificates})
            for arn in arns:
                resp = self.aws.call("acm", "DescribeCertificate", CertificateArn=arn)
                c = Certificate.from_raw(resp["Certificate"])
                snap.certificates[c.arn] = c

        self._area("security_groups", sgs)
        self._area("network", network)
        self._area("tasks", tasks)
        self._area("target_health", target_health)
        self._area("lb_attributes", lb_attributes)
        self._area("certificates", certificates)


def services_behind_load_balancers(aws: Aws) -> list[Target]:
    """Every ECS service whose target group some load balancer uses (``diagnose --all``)."""
    c = Collector(aws, areas={"ecs", "elbv2"})
    c.snap = Snapshot(region=aws.region)
    c._collect_all_services()
    c._describe_tgs(sorted({tg for s in c.snap.services.values() for tg in s.target_group_arns}))
    out = []
    for svc in sorted(c.snap.services.values(), key=lambda s: s.key):
        if any(c._tg_lb_arns(tg) for tg in svc.target_group_arns):
            out.append(Target(cluster=svc.cluster_name, service=svc.name))
    return out
