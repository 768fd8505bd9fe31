"""Where the request-path collector's reads come from: one method per kind of read, each returning typed views.

``LiveSource`` makes exactly the AWS calls the focused collection of one target makes (their parameters and page
sizes included: the IAM declarations in ``collect.PERMISSIONS`` and the call counts depend on them).
``shared.AccountSource`` answers the same questions from one account-wide read shared by many targets. The
collector (``collect.Collector``) walks the request path once, whichever source it reads from, so a path
resolved from a shared snapshot holds what a focused collection of that target would hold.

Reads that take several calls (pages aside) issue the independent ones at once (``parallel``).
"""

from __future__ import annotations

from typing import Any, Callable

from shine_ops.errors import AwsCallError
from shine_ops.topology.model import (Certificate, HostedZone, Listener, LoadBalancer, NetworkAcl, NetworkInterface,
                                      RecordSet, RouteTable, Rule, SecurityGroup, Service, Subnet, Task,
                                      TaskDefinition, TargetGroup, TargetHealth)
from shine_ops.topology.parallel import each, run_all

TG_BATCH = 20  # DescribeTargetGroups takes at most 20 ARNs
TASK_BATCH = 100  # DescribeTasks takes at most 100 ARNs


class LiveSource:
    """The focused collection's AWS calls, one method per read (``aws``: ``shine_ops.aws.Aws`` or a stand-in)."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws

    @property
    def region(self) -> str:
        return self.aws.region

    def memo(self, key: Any, fn: Callable[[], Any]) -> Any:
        """A pure result over what was read (one path: worked out each time)."""
        return fn()

    # -- identity, DNS ---------------------------------------------------------------------------------------------
    def identity(self) -> dict:
        return self.aws.identity()

    def load_balancers(self) -> list[LoadBalancer]:
        return [LoadBalancer.from_raw(r) for r in self.aws.paginate("elbv2", "DescribeLoadBalancers",
                                                                     "LoadBalancers")]

    def zones(self) -> list[HostedZone]:
        return [HostedZone.from_raw(r) for r in self.aws.paginate("route53", "ListHostedZones", "HostedZones")]

    def records_named(self, zone_id: str, name: str) -> list[RecordSet]:
        """The record sets called ``name`` in one zone: the listing from ``StartRecordName``, read until past it."""
        out: list[RecordSet] = []
        token: dict = {"StartRecordName": name}
        while True:
            page = self.aws.call("route53", "ListResourceRecordSets", HostedZoneId=zone_id, MaxItems="100", **token)
            for raw in page.get("ResourceRecordSets", []):
                rec = RecordSet.from_raw(zone_id, raw)
                if rec.name != name:  # the listing is sorted: past our name, nothing more to read
                    return out
                out.append(rec)
            if not page.get("IsTruncated"):
                return out
            token = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
            if "NextRecordIdentifier" in page:
                token["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def zone_records(self, zone_id: str) -> list[RecordSet]:
        return [RecordSet.from_raw(zone_id, r) for r in self.aws.paginate(
            "route53", "ListResourceRecordSets", "ResourceRecordSets", HostedZoneId=zone_id)]

    def enis_with_ips(self, ips: list[str]) -> list[NetworkInterface]:
        """Interfaces holding these private or public addresses (two filtered reads, at once)."""
        pages = each(lambda flt: self.aws.paginate("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces",
                                                   Filters=[{"Name": flt, "Values": ips}]),
                     ["addresses.private-ip-address", "association.public-ip"])
        return [NetworkInterface.from_raw(r) for page in pages for r in page]

    # -- ELBv2 -----------------------------------------------------------------------------------------------------
    def listeners(self, lb_arn: str) -> list[Listener]:
        return [Listener.from_raw(r) for r in self.aws.paginate("elbv2", "DescribeListeners", "Listeners",
                                                                 LoadBalancerArn=lb_arn)]

    def rules(self, listener_arn: str) -> list[Rule]:
        return [Rule.from_raw(listener_arn, r) for r in self.aws.paginate("elbv2", "DescribeRules", "Rules",
                                                                           ListenerArn=listener_arn)]

    def target_groups(self, batch: list[str]) -> tuple[list[TargetGroup], list[str]]:
        """Up to ``TG_BATCH`` groups by ARN: (found, ARNs that no longer exist). One deleted group fails the whole
        batch, so then each is asked alone."""
        try:
            raws = self.aws.paginate("elbv2", "DescribeTargetGroups", "TargetGroups", TargetGroupArns=batch)
            return [TargetGroup.from_raw(r) for r in raws], []
        except AwsCallError as err:
            if err.code != "TargetGroupNotFound":
                raise
        found, missing = [], []
        for arn in batch:
            try:
                found += [TargetGroup.from_raw(r) for r in self.aws.paginate(
                    "elbv2", "DescribeTargetGroups", "TargetGroups", TargetGroupArns=[arn])]
            except AwsCallError as one:
                if one.code != "TargetGroupNotFound":
                    raise
                missing.append(arn)
        return found, missing

    def target_health(self, tg_arn: str) -> list[TargetHealth]:
        resp = self.aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg_arn)
        return [TargetHealth.from_raw(d) for d in resp.get("TargetHealthDescriptions", [])]

    def target_group_attributes(self, tg_arn: str) -> dict[str, str]:
        resp = self.aws.call("elbv2", "DescribeTargetGroupAttributes", TargetGroupArn=tg_arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def lb_attributes(self, lb_arn: str) -> dict[str, str]:
        resp = self.aws.call("elbv2", "DescribeLoadBalancerAttributes", LoadBalancerArn=lb_arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def listener_certificates(self, listener_arn: str) -> list[str]:
        """Every certificate a TLS listener serves (SNI ones too; DescribeListeners names only the default)."""
        out: list[str] = []
        params: dict[str, Any] = {"ListenerArn": listener_arn, "PageSize": 400}
        while True:
            resp = self.aws.call("elbv2", "DescribeListenerCertificates", **params)
            out += [c["CertificateArn"] for c in resp.get("Certificates", []) if c.get("CertificateArn")]
            if not resp.get("NextMarker"):
                return out
            params["Marker"] = resp["NextMarker"]

    def certificate(self, arn: str) -> Certificate:
        return Certificate.from_raw(self.aws.call("acm", "DescribeCertificate", CertificateArn=arn)["Certificate"])

    def lb_metrics(self, lb_arn: str) -> Any:
        from shine_ops.topology.metrics import idle_timeout_evidence

        return idle_timeout_evidence(self.aws, lb_arn)

    # -- ECS -------------------------------------------------------------------------------------------------------
    def service(self, cluster: str, name: str) -> Service | None:
        """The named service unless MISSING or INACTIVE (None then, and for an unknown cluster)."""
        try:
            resp = self.aws.call("ecs", "DescribeServices", cluster=cluster, services=[name])
        except AwsCallError as err:
            if err.code != "ClusterNotFoundException":
                raise
            return None
        return next((s for s in (Service.from_raw(r) for r in resp.get("services", [])) if s.status != "INACTIVE"),
                    None)

    def services(self) -> list[Service]:
        """Every service of every cluster, any status (clusters at once, each cluster's pages of 10 at once)."""
        from shine_ops.topology.account import read_services

        return read_services(self.aws)

    def task_definition(self, name: str) -> TaskDefinition:
        return TaskDefinition.from_raw(self.aws.call("ecs", "DescribeTaskDefinition",
                                                     taskDefinition=name)["taskDefinition"])

    def service_tasks(self, cluster_arn: str, service: str) -> list[Task]:
        """The service's tasks, running and recently stopped (ECS keeps those about an hour: why tasks crash)."""
        lists = run_all([
            lambda: self.aws.paginate("ecs", "ListTasks", "taskArns", cluster=cluster_arn, serviceName=service),
            lambda: self.aws.paginate("ecs", "ListTasks", "taskArns", cluster=cluster_arn, serviceName=service,
                                      desiredStatus="STOPPED")])
        arns = list(dict.fromkeys(lists[0] + lists[1]))
        batches = [arns[i:i + TASK_BATCH] for i in range(0, len(arns), TASK_BATCH)]
        pages = each(lambda b: self.aws.call("ecs", "DescribeTasks", cluster=cluster_arn, tasks=b), batches)
        return [Task.from_raw(r) for p in pages for r in p.get("tasks", [])]

    # -- EC2 -------------------------------------------------------------------------------------------------------
    def security_groups(self, ids: list[str]) -> list[SecurityGroup]:
        return [SecurityGroup.from_raw(r) for r in self.aws.paginate("ec2", "DescribeSecurityGroups",
                                                                      "SecurityGroups", GroupIds=ids)]

    def subnets(self, ids: list[str]) -> list[Subnet]:
        return [Subnet.from_raw(r) for r in self.aws.paginate("ec2", "DescribeSubnets", "Subnets", SubnetIds=ids)]

    def network_acls(self, subnet_ids: list[str]) -> list[NetworkAcl]:
        return [NetworkAcl.from_raw(r) for r in self.aws.paginate(
            "ec2", "DescribeNetworkAcls", "NetworkAcls", Filters=[{"Name": "association.subnet-id",
                                                                   "Values": subnet_ids}])]

    def route_tables(self, vpc_ids: list[str]) -> list[RouteTable]:
        """Every route table of these VPCs (the caller keeps the main ones and those of its subnets)."""
        return [RouteTable.from_raw(r) for r in self.aws.paginate(
            "ec2", "DescribeRouteTables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": vpc_ids}])]
