"""Typed views over raw AWS response shapes.

Each view keeps the raw dict it was built from (``raw``) because generic YAML checks query the raw
shapes with JMESPath, and because a finding's evidence should quote what AWS said, not our paraphrase.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any


_ELB_NAME = re.compile(r"\.elb\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$")


def norm_dns(name: str | None) -> str:
    """Normalise a DNS name for comparison: lower case, no trailing dot, no ``dualstack.`` prefix,
    and Route 53's octal escape for ``*`` decoded."""
    if not name:
        return ""
    name = name.strip().lower().rstrip(".").replace("\\052", "*")
    if _ELB_NAME.search(name):  # only load balancer names carry these prefixes (ALB and NLB forms)
        for prefix in ("dualstack.", "ipv6."):
            if name.startswith(prefix):
                name = name[len(prefix):]
    return name


# --------------------------------------------------------------------------- Route 53
@dataclass
class HostedZone:
    id: str
    name: str
    private: bool
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "HostedZone":
        return cls(id=raw["Id"].split("/")[-1], name=norm_dns(raw["Name"]),
                   private=bool(raw.get("Config", {}).get("PrivateZone")), raw=raw)


@dataclass
class RecordSet:
    zone_id: str
    name: str
    type: str
    alias_dns: str | None
    values: list[str]
    set_identifier: str | None
    weight: int | None
    routing: str  # simple | weighted | latency | failover | geolocation | multivalue | other
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, zone_id: str, raw: dict) -> "RecordSet":
        alias = raw.get("AliasTarget")
        routing = "simple"
        if "Weight" in raw:
            routing = "weighted"
        elif "Region" in raw:
            routing = "latency"
        elif "Failover" in raw:
            routing = "failover"
        elif "GeoLocation" in raw or "GeoProximityLocation" in raw:
            routing = "geolocation"
        elif "MultiValueAnswer" in raw:
            routing = "multivalue"
        elif "SetIdentifier" in raw:
            routing = "other"
        return cls(zone_id=zone_id, name=norm_dns(raw["Name"]), type=raw["Type"],
                   alias_dns=norm_dns(alias["DNSName"]) if alias else None,
                   values=[r["Value"] for r in raw.get("ResourceRecords", [])],
                   set_identifier=raw.get("SetIdentifier"), weight=raw.get("Weight"), routing=routing,
                   raw=raw)

    @property
    def label(self) -> str:
        base = f"{self.name} {self.type}"
        if self.set_identifier:
            base += f" [{self.set_identifier}]"
        return base

    @property
    def target(self) -> str:
        return f"alias {self.alias_dns}" if self.alias_dns else ", ".join(self.values)


# --------------------------------------------------------------------------- ELBv2
@dataclass
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    type: str
    scheme: str
    state: str
    vpc_id: str | None
    security_groups: list[str]
    subnets: list[str]
    canonical_zone_id: str | None
    attributes: dict[str, str] | None = None  # None: not collected
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "LoadBalancer":
        return cls(arn=raw["LoadBalancerArn"], name=raw["LoadBalancerName"], dns_name=norm_dns(raw["DNSName"]),
                   type=raw.get("Type", "application"), scheme=raw.get("Scheme", "internet-facing"),
                   state=raw.get("State", {}).get("Code", "unknown"), vpc_id=raw.get("VpcId"),
                   security_groups=list(raw.get("SecurityGroups", [])),
                   subnets=[az["SubnetId"] for az in raw.get("AvailabilityZones", []) if az.get("SubnetId")],
                   canonical_zone_id=raw.get("CanonicalHostedZoneId"), raw=raw)

    def attribute(self, key: str, default: str | None = None) -> str | None:
        return (self.attributes or {}).get(key, default)


@dataclass
class Action:
    """A listener or rule action; ``target_groups`` maps TG ARN -> weight for forwards."""

    type: str
    target_groups: dict[str, int]
    redirect: dict | None
    fixed_response: dict | None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Action":
        tgs: dict[str, int] = {}
        if raw.get("TargetGroupArn"):
            tgs[raw["TargetGroupArn"]] = 1
        for tg in (raw.get("ForwardConfig") or {}).get("TargetGroups", []):
            tgs[tg["TargetGroupArn"]] = int(tg.get("Weight", 1))
        return cls(type=raw["Type"], target_groups=tgs, redirect=raw.get("RedirectConfig"),
                   fixed_response=raw.get("FixedResponseConfig"), raw=raw)

    @property
    def forwarded_tgs(self) -> list[str]:
        """Target groups that receive traffic (weight > 0)."""
        return [arn for arn, weight in self.target_groups.items() if weight > 0] if self.type == "forward" else []

    def describe(self, tg_names: dict[str, str]) -> str:
        if self.type == "forward":
            parts = [tg_names.get(arn, arn) + (f" ({w})" if len(self.target_groups) > 1 else "")
                     for arn, w in self.target_groups.items()]
            return "forward to " + ", ".join(parts)
        if self.type == "redirect" and self.redirect:
            r = self.redirect
            return f"redirect to {r.get('Protocol', '#{protocol}')}:{r.get('Port', '#{port}')} ({r.get('StatusCode')})"
        if self.type == "fixed-response" and self.fixed_response:
            return f"fixed response {self.fixed_response.get('StatusCode')}"
        return self.type


def _primary_action(actions: list[dict]) -> Action:
    """The terminal action (auth actions come first and are not where traffic ends)."""
    ordered = sorted(actions, key=lambda a: a.get("Order", 0))
    for raw in ordered:
        if raw["Type"] in ("forward", "redirect", "fixed-response"):
            return Action.from_raw(raw)
    return Action.from_raw(ordered[-1]) if ordered else Action("none", {}, None, None, {})


@dataclass
class Listener:
    arn: str
    lb_arn: str
    port: int
    protocol: str
    certificates: list[str]
    default_action: Action
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Listener":
        return cls(arn=raw["ListenerArn"], lb_arn=raw["LoadBalancerArn"], port=int(raw["Port"]),
                   protocol=raw.get("Protocol", "HTTP"),
                   certificates=[c["CertificateArn"] for c in raw.get("Certificates", []) if c.get("CertificateArn")],
                   default_action=_primary_action(raw.get("DefaultActions", [])), raw=raw)

    @property
    def label(self) -> str:
        return f"{self.protocol}:{self.port}"


@dataclass
class Condition:
    field: str
    values: list[str]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Condition":
        fld = raw.get("Field", "")
        cfg_key = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig",
                   "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig",
                   "http-header": "HttpHeaderConfig", "query-string": "QueryStringConfig"}.get(fld)
        values = list(raw.get("Values") or [])
        cfg = raw.get(cfg_key or "", {}) or {}
        if not values and "Values" in cfg:
            values = [v if isinstance(v, str) else f"{v.get('Key', '')}={v.get('Value', '')}" for v in cfg["Values"]]
        return cls(field=fld, values=values, raw=raw)


@dataclass
class Rule:
    arn: str
    listener_arn: str
    priority: int | None  # None: the default rule
    conditions: list[Condition]
    action: Action
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, listener_arn: str, raw: dict) -> "Rule":
        prio = raw.get("Priority", "default")
        return cls(arn=raw["RuleArn"], listener_arn=listener_arn,
                   priority=None if raw.get("IsDefault") or prio == "default" else int(prio),
                   conditions=[Condition.from_raw(c) for c in raw.get("Conditions", [])],
                   action=_primary_action(raw.get("Actions", [])), raw=raw)

    @property
    def is_default(self) -> bool:
        return self.priority is None

    def values(self, fld: str) -> list[str]:
        return [v for c in self.conditions if c.field == fld for v in c.values]

    @property
    def label(self) -> str:
        if self.is_default:
            return "default"
        conds = "; ".join(f"{c.field} {','.join(c.values)}" for c in self.conditions)
        return f"priority {self.priority} ({conds})"


@dataclass
class HealthCheck:
    protocol: str
    port: str
    path: str | None
    matcher: str | None
    interval: int | None
    timeout: int | None
    healthy_threshold: int | None
    unhealthy_threshold: int | None


@dataclass
class TargetHealth:
    id: str
    port: int | None
    state: str
    reason: str | None
    description: str | None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "TargetHealth":
        """One entry of DescribeTargetHealth's ``TargetHealthDescriptions``."""
        health = raw.get("TargetHealth", {})
        return cls(id=raw["Target"]["Id"], port=raw["Target"].get("Port"), state=health.get("State", "unknown"),
                   reason=health.get("Reason"), description=health.get("Description"), raw=raw)

    @property
    def simulated(self) -> bool:
        """The sandbox marks health it computed (moto has no real health checks)."""
        return bool(self.description and self.description.startswith("[simulated]"))


@dataclass
class TargetGroup:
    arn: str
    name: str
    port: int | None
    protocol: str | None
    target_type: str
    vpc_id: str | None
    lb_arns: list[str]
    health_check: HealthCheck
    targets: list[TargetHealth] | None = None  # None: not collected
    attributes: dict[str, str] | None = None  # None: not collected
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "TargetGroup":
        hc = HealthCheck(protocol=raw.get("HealthCheckProtocol", "HTTP"),
                         port=str(raw.get("HealthCheckPort", "traffic-port")),
                         path=raw.get("HealthCheckPath"),
                         matcher=(raw.get("Matcher") or {}).get("HttpCode"),
                         interval=raw.get("HealthCheckIntervalSeconds"),
                         timeout=raw.get("HealthCheckTimeoutSeconds"),
                         healthy_threshold=raw.get("HealthyThresholdCount"),
                         unhealthy_threshold=raw.get("UnhealthyThresholdCount"))
        return cls(arn=raw["TargetGroupArn"], name=raw["TargetGroupName"], port=raw.get("Port"),
                   protocol=raw.get("Protocol"), target_type=raw.get("TargetType", "instance"),
                   vpc_id=raw.get("VpcId"), lb_arns=list(raw.get("LoadBalancerArns", [])),
                   health_check=hc, raw=raw)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.protocol or 'lambda'}:{self.port})"


# --------------------------------------------------------------------------- ECS
@dataclass
class ServiceLoadBalancer:
    target_group_arn: str | None
    container_name: str | None
    container_port: int | None


@dataclass
class Service:
    arn: str
    name: str
    cluster_arn: str
    status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    launch_type: str | None
    load_balancers: list[ServiceLoadBalancer]
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: str | None
    grace_period: int | None
    rollout_state: str | None
    events: list[dict]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Service":
        aws = (raw.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        deployments = raw.get("deployments") or []
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {})
        return cls(arn=raw["serviceArn"], name=raw["serviceName"], cluster_arn=raw["clusterArn"],
                   status=raw.get("status", "UNKNOWN"), desired=int(raw.get("desiredCount", 0)),
                   running=int(raw.get("runningCount", 0)), pending=int(raw.get("pendingCount", 0)),
                   task_definition=raw.get("taskDefinition", ""), launch_type=raw.get("launchType"),
                   load_balancers=[ServiceLoadBalancer(lb.get("targetGroupArn"), lb.get("containerName"),
                                                       lb.get("containerPort"))
                                   for lb in raw.get("loadBalancers", [])],
                   subnets=list(aws.get("subnets", [])), security_groups=list(aws.get("securityGroups", [])),
                   assign_public_ip=aws.get("assignPublicIp"),
                   grace_period=raw.get("healthCheckGracePeriodSeconds"),
                   rollout_state=primary.get("rolloutState"), events=list(raw.get("events", [])), raw=raw)

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.split("/")[-1]

    @property
    def key(self) -> str:
        return f"{self.cluster_name}/{self.name}"

    @property
    def target_group_arns(self) -> list[str]:
        return [lb.target_group_arn for lb in self.load_balancers if lb.target_group_arn]


@dataclass
class ContainerDef:
    name: str
    image: str
    port_mappings: list[dict]
    environment: dict[str, str]
    health_check: dict | None
    essential: bool
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "ContainerDef":
        return cls(name=raw["name"], image=raw.get("image", ""), port_mappings=list(raw.get("portMappings", [])),
                   environment={e["name"]: e.get("value", "") for e in raw.get("environment", [])},
                   health_check=raw.get("healthCheck"), essential=raw.get("essential", True), raw=raw)

    @property
    def container_ports(self) -> list[int]:
        return [int(p["containerPort"]) for p in self.port_mappings if "containerPort" in p]


@dataclass
class TaskDefinition:
    arn: str
    family: str
    revision: int
    network_mode: str
    containers: list[ContainerDef]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "TaskDefinition":
        return cls(arn=raw["taskDefinitionArn"], family=raw["family"], revision=int(raw.get("revision", 0)),
                   network_mode=raw.get("networkMode", "bridge"),
                   containers=[ContainerDef.from_raw(c) for c in raw.get("containerDefinitions", [])], raw=raw)

    def container(self, name: str | None) -> ContainerDef | None:
        return next((c for c in self.containers if c.name == name), None)

    @property
    def label(self) -> str:
        return f"{self.family}:{self.revision}"


@dataclass
class Task:
    arn: str
    task_definition: str
    last_status: str
    desired_status: str
    group: str | None
    health: str | None
    stopped_reason: str | None
    addresses: list[str]
    eni_ids: list[str]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Task":
        addrs: list[str] = []
        enis: list[str] = []
        for att in raw.get("attachments", []):
            details = {d["name"]: d.get("value") for d in att.get("details", [])}
            if details.get("privateIPv4Address"):
                addrs.append(details["privateIPv4Address"])
            if details.get("networkInterfaceId"):
                enis.append(details["networkInterfaceId"])
        for c in raw.get("containers", []):
            for ni in c.get("networkInterfaces", []):
                if ni.get("privateIpv4Address") and ni["privateIpv4Address"] not in addrs:
                    addrs.append(ni["privateIpv4Address"])
        return cls(arn=raw["taskArn"], task_definition=raw.get("taskDefinitionArn", ""),
                   last_status=raw.get("lastStatus", ""), desired_status=raw.get("desiredStatus", ""),
                   group=raw.get("group"), health=raw.get("healthStatus"), stopped_reason=raw.get("stoppedReason"),
                   addresses=addrs, eni_ids=enis, raw=raw)


# --------------------------------------------------------------------------- EC2 networking
@dataclass
class SgRule:
    """One permission of a security group, flattened: protocol, port range and every source."""

    protocol: str  # "-1" for all
    from_port: int | None
    to_port: int | None
    cidrs: list[str]
    ipv6_cidrs: list[str]
    groups: list[str]
    prefix_lists: list[str]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "SgRule":
        return cls(protocol=str(raw.get("IpProtocol", "-1")), from_port=raw.get("FromPort"), to_port=raw.get("ToPort"),
                   cidrs=[r["CidrIp"] for r in raw.get("IpRanges", [])],
                   ipv6_cidrs=[r["CidrIpv6"] for r in raw.get("Ipv6Ranges", [])],
                   groups=[g["GroupId"] for g in raw.get("UserIdGroupPairs", []) if g.get("GroupId")],
                   prefix_lists=[p["PrefixListId"] for p in raw.get("PrefixListIds", [])], raw=raw)

    def covers_tcp_port(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        if self.protocol not in ("tcp", "6"):
            return False
        lo = self.from_port if self.from_port is not None else 0
        hi = self.to_port if self.to_port is not None else 65535
        return lo <= port <= hi

    def describe(self) -> str:
        ports = "all" if self.protocol in ("-1", "all") else f"{self.protocol}/{self.from_port}" + (
            f"-{self.to_port}" if self.to_port != self.from_port else "")
        sources = self.groups + self.cidrs + self.ipv6_cidrs + self.prefix_lists
        return f"{ports} from {', '.join(sources) or 'nothing'}"


@dataclass
class SecurityGroup:
    id: str
    name: str
    vpc_id: str | None
    ingress: list[SgRule]
    egress: list[SgRule]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "SecurityGroup":
        return cls(id=raw["GroupId"], name=raw.get("GroupName", ""), vpc_id=raw.get("VpcId"),
                   ingress=[SgRule.from_raw(p) for p in raw.get("IpPermissions", [])],
                   egress=[SgRule.from_raw(p) for p in raw.get("IpPermissionsEgress", [])], raw=raw)

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id


@dataclass
class Subnet:
    id: str
    vpc_id: str
    cidr: str
    az: str | None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Subnet":
        return cls(id=raw["SubnetId"], vpc_id=raw["VpcId"], cidr=raw["CidrBlock"], az=raw.get("AvailabilityZone"),
                   raw=raw)

    def contains(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(self.cidr, strict=False)
        except ValueError:
            return False


@dataclass
class RouteTable:
    id: str
    vpc_id: str
    subnet_ids: list[str]
    is_main: bool
    routes: list[dict]
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "RouteTable":
        assocs = raw.get("Associations", [])
        return cls(id=raw["RouteTableId"], vpc_id=raw.get("VpcId", ""),
                   subnet_ids=[a["SubnetId"] for a in assocs if a.get("SubnetId")],
                   is_main=any(a.get("Main") for a in assocs), routes=list(raw.get("Routes", [])), raw=raw)


@dataclass
class NetworkAcl:
    id: str
    vpc_id: str
    subnet_ids: list[str]
    entries: list[dict]
    is_default: bool
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "NetworkAcl":
        return cls(id=raw["NetworkAclId"], vpc_id=raw["VpcId"],
                   subnet_ids=[a["SubnetId"] for a in raw.get("Associations", []) if a.get("SubnetId")],
                   entries=list(raw.get("Entries", [])), is_default=bool(raw.get("IsDefault")), raw=raw)


@dataclass
class NetworkInterface:
    id: str
    subnet_id: str | None
    vpc_id: str | None
    private_ips: list[str]
    public_ips: list[str]
    groups: list[str]
    description: str
    interface_type: str | None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "NetworkInterface":
        privs = [a["PrivateIpAddress"] for a in raw.get("PrivateIpAddresses", []) if a.get("PrivateIpAddress")]
        if raw.get("PrivateIpAddress") and raw["PrivateIpAddress"] not in privs:
            privs.insert(0, raw["PrivateIpAddress"])
        pubs = [a["Association"]["PublicIp"] for a in raw.get("PrivateIpAddresses", [])
                if a.get("Association", {}).get("PublicIp")]
        if raw.get("Association", {}).get("PublicIp") and raw["Association"]["PublicIp"] not in pubs:
            pubs.append(raw["Association"]["PublicIp"])
        return cls(id=raw["NetworkInterfaceId"], subnet_id=raw.get("SubnetId"), vpc_id=raw.get("VpcId"),
                   private_ips=privs, public_ips=pubs, groups=[g["GroupId"] for g in raw.get("Groups", [])],
                   description=raw.get("Description", ""), interface_type=raw.get("InterfaceType"), raw=raw)

    @property
    def load_balancer_ref(self) -> str | None:
        """``app/name/id`` for an ELB-owned interface (description ``ELB app/name/id``), else None."""
        if self.description.startswith("ELB "):
            return self.description[4:].strip()
        return None


@dataclass
class Certificate:
    arn: str
    domain: str
    sans: list[str]
    status: str
    not_after: Any
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Certificate":
        return cls(arn=raw["CertificateArn"], domain=raw.get("DomainName", ""),
                   sans=list(raw.get("SubjectAlternativeNames", [])), status=raw.get("Status", "UNKNOWN"),
                   not_after=raw.get("NotAfter"), raw=raw)
