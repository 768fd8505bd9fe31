"""A recorded-shape world answering the Collector's AWS calls: the same interface as ``shine_ops.aws.Aws``.

Why: moto never returns much of what real accounts return (rollouts, task sets, every target-health reason, prefix
lists, public-IP associations...). A world (``tests/data/aws/worlds/<name>/world.json``) holds responses in the shapes
AWS returns, assembled from the public recordings of ``tests/data/aws/<service>/<Operation>.json``. ``ReplayAws``
answers the real Collector from it the way AWS would: it filters describe calls by the request's IDs and filters,
raises the error AWS raises for a missing resource (as the ``AwsCallError`` shine-ops' own wrapper raises), rejects
parameters botocore would reject, counts every call like ``ApiCalls``, and hands timestamps back as ``datetime``.

World format (JSON): ``{"extends": "<other world>" (optional), "drop": [keys of the base to remove],
"responses": {KEY: response}}``. KEY is ``service.Operation`` for inventory calls (the response holds every item
of the account; the replay filters), or ``service.Operation Param=value`` for calls AWS answers per resource
(target health, attributes, certificates, record sets of a zone, task definitions, metrics of a load balancer).
Keys starting with ``_`` anywhere are annotations (``_from``: the corpus example an item was taken from).
"""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Any, Iterator

from shine_ops.aws import ApiCalls, ConnectionOptions, iam_action
from shine_ops.errors import AwsCallError, UsageError
from tests.corpus.shapes import as_parsed, service_model

WORLDS = Path(__file__).resolve().parents[1] / "data" / "aws" / "worlds"


class WorldIncomplete(AssertionError):
    """The world holds no answer for a call that AWS would answer: the world, not shine-ops, is wrong."""


def load_world(name: str) -> dict[str, Any]:
    """The world's responses, with its base world's merged under it (``extends``) and ``drop`` applied."""
    doc = json.loads((WORLDS / name / "world.json").read_text())
    responses: dict[str, Any] = {}
    if doc.get("extends"):
        responses.update(load_world(doc["extends"]))
    for key in doc.get("drop", []):
        responses.pop(key, None)
    responses.update(doc.get("responses", {}))
    return responses


def _arn_name(arn_or_name: str) -> str:
    return arn_or_name.rsplit("/", 1)[-1]


class ReplayAws:
    """``call``/``call_quick``/``paginate``/``iter_pages``/``identity``/``region``/``calls`` over one world."""

    def __init__(self, world: str | dict[str, Any], region: str = "us-west-2") -> None:
        self.responses = load_world(world) if isinstance(world, str) else dict(world)
        self.world = world if isinstance(world, str) else "<inline>"
        self.options = ConnectionOptions(region=region)
        self.calls = ApiCalls()
        self._region = region
        self.log: list[tuple[str, dict]] = []  # every call as made: (service.Operation, params)

    @property
    def region(self) -> str:
        return self._region

    # -- the Aws interface ---------------------------------------------------------------------
    def identity(self) -> dict:
        return self.call("sts", "GetCallerIdentity")

    def call(self, service: str, operation: str, /, **params: Any) -> dict:
        self._validate(service, operation, params)
        self.calls.record(f"{service}.{operation}", 0)
        self.log.append((f"{service}.{operation}", copy.deepcopy(params)))
        handler = getattr(self, f"_{service}_{operation}", None)
        raw = handler(params) if handler else self._plain(service, operation, params)
        out = as_parsed(service, operation, copy.deepcopy(raw))
        out["ResponseMetadata"] = {"RequestId": "replay", "HTTPStatusCode": 200, "RetryAttempts": 0}
        return out

    call_quick = call

    def paginate(self, service: str, operation: str, result_key: str, /, **params: Any) -> list[Any]:
        return list(self.iter_pages(service, operation, result_key, **params))

    def iter_pages(self, service: str, operation: str, result_key: str, /, **params: Any) -> Iterator[Any]:
        params.pop("PaginationConfig", None)  # a paginator option, not an API parameter
        yield from self.call(service, operation, **params).get(result_key, [])

    # -- helpers -------------------------------------------------------------------------------
    def _validate(self, service: str, operation: str, params: dict) -> None:
        """Reject what botocore rejects before sending (as ``Aws`` turns ParamValidationError into UsageError)."""
        from botocore.validate import ParamValidator

        shape = service_model(service).operation_model(operation).input_shape
        report = ParamValidator().validate(params, shape) if shape is not None else None
        if report is not None and report.has_errors():
            raise UsageError(f"{service}.{operation}: {report.generate_report()}")

    def _error(self, service: str, operation: str, code: str, message: str) -> AwsCallError:
        return AwsCallError(f"{service}.{operation}", code, message,
                            iam_action=iam_action(service_model(service), operation))

    def _get(self, key: str) -> Any:
        if key not in self.responses:
            raise WorldIncomplete(f"world {self.world} has no answer for {key}")
        return self.responses[key]

    def _keyed(self, service: str, operation: str, param: str, value: str) -> Any:
        return self._get(f"{service}.{operation} {param}={value}")

    def _inventory(self, service: str, operation: str, result_key: str) -> list[dict]:
        return list(self.responses.get(f"{service}.{operation}", {}).get(result_key, []))

    def _plain(self, service: str, operation: str, params: dict) -> dict:
        return self._get(f"{service}.{operation}")

    # -- STS -----------------------------------------------------------------------------------
    def _sts_GetCallerIdentity(self, params: dict) -> dict:
        return self._get("sts.GetCallerIdentity")

    # -- ELBv2 ---------------------------------------------------------------------------------
    def _elbv2_DescribeLoadBalancers(self, p: dict) -> dict:
        lbs = self._inventory("elbv2", "DescribeLoadBalancers", "LoadBalancers")
        for key, field in (("LoadBalancerArns", "LoadBalancerArn"), ("Names", "LoadBalancerName")):
            lbs = self._by_ids("DescribeLoadBalancers", lbs, p.get(key), field, "LoadBalancerNotFound",
                               "load balancer", service="elbv2", message="One or more load balancers not found")
        return {"LoadBalancers": lbs}

    # An ELBv2 resource kind: the call that lists them, its result key, their id field, AWS's error code, a noun.
    _ELBV2_KINDS = {"lb": ("DescribeLoadBalancers", "LoadBalancers", "LoadBalancerArn", "LoadBalancerNotFound",
                           "Load balancer"),
                    "listener": ("DescribeListeners", "Listeners", "ListenerArn", "ListenerNotFound", "Listener"),
                    "tg": ("DescribeTargetGroups", "TargetGroups", "TargetGroupArn", "TargetGroupNotFound",
                           "Target group")}

    def _must_exist(self, kind: str, op: str, arn: str) -> dict:
        """The ``kind`` resource ``arn`` of the world; AWS's not-found error for ``op`` when there is none."""
        listing, key, field, code, noun = self._ELBV2_KINDS[kind]
        found = next((x for x in self._inventory("elbv2", listing, key) if x[field] == arn), None)
        if found is None:
            raise self._error("elbv2", op, code, f"{noun} '{arn}' not found")
        return found

    def _elbv2_DescribeListeners(self, p: dict) -> dict:
        listeners = self._inventory("elbv2", "DescribeListeners", "Listeners")
        if "LoadBalancerArn" in p:
            self._must_exist("lb", "DescribeListeners", p["LoadBalancerArn"])
            listeners = [l for l in listeners if l["LoadBalancerArn"] == p["LoadBalancerArn"]]
        listeners = self._by_ids("DescribeListeners", listeners, p.get("ListenerArns"), "ListenerArn",
                                 "ListenerNotFound", "listener", service="elbv2",
                                 message="One or more listeners not found")
        return {"Listeners": listeners}

    def _elbv2_DescribeRules(self, p: dict) -> dict:
        rules = self._inventory("elbv2", "DescribeRules", "Rules")
        if "ListenerArn" in p:
            arn = p["ListenerArn"]
            self._must_exist("listener", "DescribeRules", arn)
            # a rule's ARN is its listener's, with ``listener-rule/`` for ``listener/`` and one more segment
            prefix = arn.replace(":listener/", ":listener-rule/", 1) + "/"
            rules = [r for r in rules if r["RuleArn"].startswith(prefix)]
        if "RuleArns" in p:
            rules = [r for r in rules if r["RuleArn"] in p["RuleArns"]]
        return {"Rules": rules}

    def _elbv2_DescribeTargetGroups(self, p: dict) -> dict:
        tgs = self._inventory("elbv2", "DescribeTargetGroups", "TargetGroups")
        tgs = self._by_ids("DescribeTargetGroups", tgs, p.get("TargetGroupArns"), "TargetGroupArn",
                           "TargetGroupNotFound", "target group", service="elbv2",
                           message="One or more target groups not found")
        if "LoadBalancerArn" in p:
            self._must_exist("lb", "DescribeTargetGroups", p["LoadBalancerArn"])
            tgs = [tg for tg in tgs if p["LoadBalancerArn"] in tg.get("LoadBalancerArns", [])]
        if "Names" in p:
            tgs = [tg for tg in tgs if tg["TargetGroupName"] in p["Names"]]
        return {"TargetGroups": tgs}

    def _elbv2_DescribeTargetHealth(self, p: dict) -> dict:
        self._must_exist("tg", "DescribeTargetHealth", p["TargetGroupArn"])
        return self._keyed("elbv2", "DescribeTargetHealth", "TargetGroupArn", p["TargetGroupArn"])

    def _elbv2_DescribeTargetGroupAttributes(self, p: dict) -> dict:
        self._must_exist("tg", "DescribeTargetGroupAttributes", p["TargetGroupArn"])
        return self._keyed("elbv2", "DescribeTargetGroupAttributes", "TargetGroupArn", p["TargetGroupArn"])

    def _elbv2_DescribeLoadBalancerAttributes(self, p: dict) -> dict:
        self._must_exist("lb", "DescribeLoadBalancerAttributes", p["LoadBalancerArn"])
        return self._keyed("elbv2", "DescribeLoadBalancerAttributes", "LoadBalancerArn", p["LoadBalancerArn"])

    def _elbv2_DescribeListenerCertificates(self, p: dict) -> dict:
        arn = p["ListenerArn"]
        listener = self._must_exist("listener", "DescribeListenerCertificates", arn)
        key = f"elbv2.DescribeListenerCertificates ListenerArn={arn}"
        if key in self.responses:
            return self.responses[key]
        # AWS lists the default certificate too, marked IsDefault
        return {"Certificates": [{"CertificateArn": c["CertificateArn"], "IsDefault": True}
                                 for c in listener.get("Certificates", [])]}

    # -- ACM -----------------------------------------------------------------------------------
    def _acm_DescribeCertificate(self, p: dict) -> dict:
        key = f"acm.DescribeCertificate CertificateArn={p['CertificateArn']}"
        if key not in self.responses:
            raise self._error("acm", "DescribeCertificate", "ResourceNotFoundException",
                              f"Could not find certificate {p['CertificateArn']}.")
        return self.responses[key]

    # -- Route 53 --------------------------------------------------------------------------------
    def _route53_ListHostedZones(self, p: dict) -> dict:
        return {"HostedZones": self._inventory("route53", "ListHostedZones", "HostedZones"), "IsTruncated": False,
                "MaxItems": str(p.get("MaxItems", "100")), "Marker": ""}

    @staticmethod
    def _dns_order(name: str) -> tuple[str, ...]:
        """Route 53 lists records by name with the labels reversed (``com.example.www.``), then by type."""
        return tuple(reversed(name.lower().rstrip(".").split(".")))

    def _route53_ListResourceRecordSets(self, p: dict) -> dict:
        zone = p["HostedZoneId"].rsplit("/", 1)[-1]
        if not any(z["Id"].rsplit("/", 1)[-1] == zone for z in self._inventory("route53", "ListHostedZones",
                                                                                "HostedZones")):
            raise self._error("route53", "ListResourceRecordSets", "NoSuchHostedZone",
                              f"No hosted zone found with ID: {zone}")
        recs = sorted(self._keyed("route53", "ListResourceRecordSets", "HostedZoneId", zone)["ResourceRecordSets"],
                      key=lambda r: (self._dns_order(r["Name"]), r["Type"], r.get("SetIdentifier", "")))
        if "StartRecordType" in p and "StartRecordName" not in p:
            raise self._error("route53", "ListResourceRecordSets", "InvalidInput",
                              "StartRecordType requires StartRecordName")
        if "StartRecordName" in p:
            start = (self._dns_order(p["StartRecordName"]), p.get("StartRecordType", ""))
            recs = [r for r in recs if (self._dns_order(r["Name"]), r["Type"]) >= start]
        size = int(p.get("MaxItems", "300"))
        page, rest = recs[:size], recs[size:]
        out: dict[str, Any] = {"ResourceRecordSets": page, "IsTruncated": bool(rest), "MaxItems": str(size)}
        if rest:
            out["NextRecordName"], out["NextRecordType"] = rest[0]["Name"], rest[0]["Type"]
            if rest[0].get("SetIdentifier"):
                out["NextRecordIdentifier"] = rest[0]["SetIdentifier"]
        return out

    # -- ECS -----------------------------------------------------------------------------------
    def _services(self) -> list[dict]:
        return self._inventory("ecs", "DescribeServices", "services")

    def _clusters(self) -> list[str]:
        listed = self.responses.get("ecs.ListClusters", {}).get("clusterArns")
        if listed is not None:
            return list(listed)
        return list(dict.fromkeys(s["clusterArn"] for s in self._services()))

    def _cluster_arn(self, op: str, cluster: str | None) -> str:
        name = _arn_name(cluster or "default")
        arn = next((c for c in self._clusters() if _arn_name(c) == name), None)
        if arn is None:
            raise self._error("ecs", op, "ClusterNotFoundException", "Cluster not found.")
        return arn

    def _ecs_ListClusters(self, p: dict) -> dict:
        return {"clusterArns": self._clusters()}

    def _ecs_ListServices(self, p: dict) -> dict:
        arn = self._cluster_arn("ListServices", p.get("cluster"))
        return {"serviceArns": [s["serviceArn"] for s in self._services()
                                if s["clusterArn"] == arn and s.get("status") != "INACTIVE"]}

    def _ecs_DescribeServices(self, p: dict) -> dict:
        arn = self._cluster_arn("DescribeServices", p.get("cluster"))
        found, failures = [], []
        for ref in p["services"]:
            svc = next((s for s in self._services() if s["clusterArn"] == arn
                        and ref in (s["serviceArn"], s["serviceName"])), None)
            if svc is None:
                failures.append({"arn": ref if ref.startswith("arn:") else
                                 arn.replace(":cluster/", ":service/") + "/" + ref, "reason": "MISSING"})
            else:
                found.append(svc)
        return {"services": found, "failures": failures}

    def _tasks(self) -> list[dict]:
        return self._inventory("ecs", "DescribeTasks", "tasks")

    def _ecs_ListTasks(self, p: dict) -> dict:
        arn = self._cluster_arn("ListTasks", p.get("cluster"))
        wanted = p.get("desiredStatus", "RUNNING")
        tasks = [t for t in self._tasks() if t["clusterArn"] == arn and t.get("desiredStatus") == wanted]
        if "serviceName" in p:
            tasks = [t for t in tasks if t.get("group") == f"service:{_arn_name(p['serviceName'])}"]
        return {"taskArns": [t["taskArn"] for t in tasks]}

    def _ecs_DescribeTasks(self, p: dict) -> dict:
        arn = self._cluster_arn("DescribeTasks", p.get("cluster"))
        found, failures = [], []
        for ref in p["tasks"]:
            task = next((t for t in self._tasks() if t["clusterArn"] == arn
                         and ref in (t["taskArn"], _arn_name(t["taskArn"]))), None)
            if task is None:
                failures.append({"arn": ref, "reason": "MISSING"})
            else:
                found.append(task)
        return {"tasks": found, "failures": failures}

    def _ecs_DescribeTaskDefinition(self, p: dict) -> dict:
        ref = p["taskDefinition"]
        prefix = "ecs.DescribeTaskDefinition "
        tds = [v for k, v in self.responses.items() if k.startswith(prefix)]
        family, _, rev = _arn_name(ref).partition(":")
        match = [td for td in tds if td["taskDefinition"]["family"] == family
                 and (not rev or str(td["taskDefinition"]["revision"]) == rev)]
        if ref.startswith("arn:"):
            match = [td for td in match if td["taskDefinition"]["taskDefinitionArn"] == ref]
        if not match:
            raise self._error("ecs", "DescribeTaskDefinition", "ClientException", "Unable to describe task definition.")
        return max(match, key=lambda td: td["taskDefinition"]["revision"])

    def _ecs_ListTaskDefinitions(self, p: dict) -> dict:
        tds = [v["taskDefinition"] for k, v in self.responses.items() if k.startswith("ecs.DescribeTaskDefinition ")]
        tds = [td for td in tds if td.get("status", "ACTIVE") == p.get("status", "ACTIVE")
               and td["family"].startswith(p.get("familyPrefix", ""))]
        arns = sorted(td["taskDefinitionArn"] for td in tds)
        return {"taskDefinitionArns": arns[::-1] if p.get("sort") == "DESC" else arns}

    # -- EC2 -----------------------------------------------------------------------------------
    @staticmethod
    def _filter(items: list[dict], filters: list[dict], fields: dict[str, Any]) -> list[dict]:
        """EC2 ``Filters``: every filter must match (any of its values, ``*`` wildcards allowed)."""
        for flt in filters:
            getter = fields.get(flt["Name"])
            if getter is None:
                raise WorldIncomplete(f"the replay does not model the EC2 filter {flt['Name']!r}")
            items = [i for i in items if any(fnmatch.fnmatchcase(str(have), want)
                                             for have in getter(i) for want in flt["Values"])]
        return items

    def _by_ids(self, op: str, items: list[dict], ids: list[str] | None, field: str, code: str, what: str, *,
                service: str = "ec2", message: str | None = None) -> list[dict]:
        """The items whose ``field`` is one of ``ids`` (all of them when ``ids`` is None); the service's ``code``
        error when one of ``ids`` is missing (EC2 names it; ELBv2 says ``message``)."""
        if ids is None:
            return items
        for i in ids:
            if not any(x[field] == i for x in items):
                raise self._error(service, op, code, message or f"The {what} '{i}' does not exist")
        return [x for x in items if x[field] in ids]

    def _ec2_DescribeSecurityGroups(self, p: dict) -> dict:
        groups = self._inventory("ec2", "DescribeSecurityGroups", "SecurityGroups")
        groups = self._by_ids("DescribeSecurityGroups", groups, p.get("GroupIds"), "GroupId", "InvalidGroup.NotFound",
                              "security group")
        groups = self._filter(groups, p.get("Filters", []), {"vpc-id": lambda g: [g.get("VpcId")],
                                                             "group-id": lambda g: [g["GroupId"]]})
        return {"SecurityGroups": groups}

    def _ec2_DescribeSubnets(self, p: dict) -> dict:
        subnets = self._inventory("ec2", "DescribeSubnets", "Subnets")
        subnets = self._by_ids("DescribeSubnets", subnets, p.get("SubnetIds"), "SubnetId", "InvalidSubnetID.NotFound",
                               "subnet ID")
        subnets = self._filter(subnets, p.get("Filters", []), {"vpc-id": lambda s: [s["VpcId"]],
                                                               "subnet-id": lambda s: [s["SubnetId"]]})
        return {"Subnets": subnets}

    def _ec2_DescribeNetworkAcls(self, p: dict) -> dict:
        acls = self._inventory("ec2", "DescribeNetworkAcls", "NetworkAcls")
        acls = self._by_ids("DescribeNetworkAcls", acls, p.get("NetworkAclIds"), "NetworkAclId",
                            "InvalidNetworkAclID.NotFound", "network ACL")
        acls = self._filter(acls, p.get("Filters", []), {
            "association.subnet-id": lambda n: [a.get("SubnetId") for a in n.get("Associations", [])],
            "vpc-id": lambda n: [n["VpcId"]], "default": lambda n: [str(n.get("IsDefault", False)).lower()]})
        return {"NetworkAcls": acls}

    def _ec2_DescribeRouteTables(self, p: dict) -> dict:
        tables = self._inventory("ec2", "DescribeRouteTables", "RouteTables")
        tables = self._filter(tables, p.get("Filters", []), {
            "vpc-id": lambda t: [t["VpcId"]],
            "association.subnet-id": lambda t: [a.get("SubnetId") for a in t.get("Associations", [])],
            "association.main": lambda t: [str(any(a.get("Main") for a in t.get("Associations", []))).lower()]})
        return {"RouteTables": tables}

    def _ec2_DescribeNetworkInterfaces(self, p: dict) -> dict:
        enis = self._inventory("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces")
        enis = self._by_ids("DescribeNetworkInterfaces", enis, p.get("NetworkInterfaceIds"), "NetworkInterfaceId",
                            "InvalidNetworkInterfaceID.NotFound", "network interface")
        enis = self._filter(enis, p.get("Filters", []), {
            "addresses.private-ip-address": lambda e: [a.get("PrivateIpAddress") for a in e.get("PrivateIpAddresses", [])],
            "association.public-ip": lambda e: [e.get("Association", {}).get("PublicIp")]
            + [a.get("Association", {}).get("PublicIp") for a in e.get("PrivateIpAddresses", [])],
            "network-interface-id": lambda e: [e["NetworkInterfaceId"]],
            "subnet-id": lambda e: [e.get("SubnetId")], "vpc-id": lambda e: [e.get("VpcId")]})
        return {"NetworkInterfaces": enis}

    # -- CloudWatch ------------------------------------------------------------------------------
    def _cloudwatch_GetMetricData(self, p: dict) -> dict:
        """Per load balancer: the world's results by metric label; a metric with no datapoints answers empty, as
        CloudWatch does for a count that stayed 0 or a load balancer without traffic."""
        results = []
        for q in p["MetricDataQueries"]:
            stat = q.get("MetricStat", {})
            metric = stat.get("Metric", {})
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            key = f"cloudwatch.GetMetricData LoadBalancer={dims.get('LoadBalancer')}"
            have = self.responses.get(key, {}).get("MetricDataResults", [])
            label = f"{metric.get('MetricName')} {stat.get('Stat')}"
            hit = next((r for r in have if r.get("Label") == label), None)
            results.append({"Id": q["Id"], "Label": metric.get("MetricName", q["Id"]),
                            "Timestamps": list(hit["Timestamps"]) if hit else [],
                            "Values": list(hit["Values"]) if hit else [], "StatusCode": "Complete"})
        return {"MetricDataResults": results, "Messages": []}
