"""Typed views over ELBv2 response shapes (load balancers, listeners, rules, target groups and their health)
and ACM certificates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shine_ops.topology.model_dns import norm_dns


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
        return cls(arn=raw["LoadBalancerArn"], name=raw["LoadBalancerName"], dns_name=norm_dns(raw.get("DNSName") or ""),  # a gateway LB has none
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
    order: int | None = None  # ``Order``: authenticate-* actions run first, the terminal action last

    @classmethod
    def from_raw(cls, raw: dict) -> "Action":
        tgs: dict[str, int] = {}
        if raw.get("TargetGroupArn"):
            tgs[raw["TargetGroupArn"]] = 1
        for tg in (raw.get("ForwardConfig") or {}).get("TargetGroups", []):
            tgs[tg["TargetGroupArn"]] = int(tg.get("Weight", 1))
        order = raw.get("Order")
        return cls(type=raw.get("Type", "unknown"), target_groups=tgs, redirect=raw.get("RedirectConfig"),
                   fixed_response=raw.get("FixedResponseConfig"), raw=raw,
                   order=int(order) if isinstance(order, (int, str)) and str(order).isdigit() else None)

    @classmethod
    def chain(cls, raws: list[dict]) -> list["Action"]:
        """Every action of a rule or listener, in ``Order`` (the topology.rules evaluator judges them)."""
        actions = [cls.from_raw(r) for r in raws]
        return sorted(actions, key=lambda a: (a.order is None, a.order or 0))

    @property
    def forwarded_tgs(self) -> list[str]:
        """Target groups that receive traffic (weight > 0)."""
        return [arn for arn, weight in self.target_groups.items() if weight > 0] if self.type == "forward" else []

    def describe(self, tg_names: dict[str, str], short: bool = False) -> str:
        """What the action does, in words (``tg_names``: target group ARN -> name). ``short``: the few words of a
        diagram box for a redirect (``redirect HTTPS:443``) or a fixed response (``fixed 404``)."""
        if self.type == "forward":
            parts = [tg_names.get(arn, arn) + (f" ({w})" if len(self.target_groups) > 1 else "")
                     for arn, w in self.target_groups.items()]
            return "forward to " + ", ".join(parts)
        if self.type == "redirect" and self.redirect:
            r = self.redirect
            to = f"{r.get('Protocol', '#{protocol}')}:{r.get('Port', '#{port}')}"
            return f"redirect {to}" if short else f"redirect to {to} ({r.get('StatusCode')})"
        if self.type == "fixed-response" and self.fixed_response:
            code = self.fixed_response.get("StatusCode")
            return f"fixed {code}" if short else f"fixed response {code}"
        return self.type


def _primary_action(actions: list[dict]) -> Action:
    """The terminal action (authenticate-* actions come first and are not where traffic ends; an action type
    the evaluator does not model, such as jwt-validation, is judged by topology.rules, not here)."""
    ordered = Action.chain(actions)
    for action in ordered:
        if action.type in ("forward", "redirect", "fixed-response"):
            return action
    return ordered[-1] if ordered else Action("none", {}, None, None, {})


@dataclass
class Listener:
    arn: str
    lb_arn: str
    port: int | None  # None: a gateway load balancer's listener (no Port, no Protocol: GENEVE on 6081)
    protocol: str
    certificates: list[str]
    default_action: Action
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Listener":
        return cls(arn=raw["ListenerArn"], lb_arn=raw["LoadBalancerArn"], port=int(raw["Port"]) if raw.get("Port") is not None else None,
                   protocol=raw.get("Protocol") or ("HTTP" if raw.get("Port") is not None else "GENEVE"),
                   certificates=[c["CertificateArn"] for c in raw.get("Certificates", []) if c.get("CertificateArn")],
                   default_action=_primary_action(raw.get("DefaultActions", [])), raw=raw)

    @property
    def label(self) -> str:
        return f"{self.protocol}:{self.port}" if self.port is not None else self.protocol


@dataclass
class Condition:
    """One rule condition, read from the legacy ``Values`` or the ``*Config`` shape (DescribeRules returns both).

    ``values`` are the match strings (query-string pairs as ``key=value``, or ``value`` without a key);
    ``pairs`` the query-string (key or None, value) pairs; ``header_name`` the http-header's name;
    ``regex_values`` any ``RegexValues`` (not modelled: topology.rules cannot judge them)."""

    field: str
    values: list[str]
    raw: dict = field(repr=False, default_factory=dict)
    header_name: str | None = None
    pairs: list[tuple[str | None, str]] = field(default_factory=list)
    regex_values: list[str] = field(default_factory=list)

    _CONFIG = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig",
               "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig",
               "http-header": "HttpHeaderConfig", "query-string": "QueryStringConfig"}

    @classmethod
    def from_raw(cls, raw: dict) -> "Condition":
        fld = raw.get("Field", "")
        cfg = raw.get(cls._CONFIG.get(fld, ""), {}) or {}
        values = list(raw.get("Values") or [])
        pairs: list[tuple[str | None, str]] = []
        if not values and "Values" in cfg:
            for v in cfg["Values"] or []:
                if isinstance(v, str):
                    values.append(v)
                else:  # QueryStringKeyValuePair: the key is optional
                    key = v.get("Key") or None
                    pairs.append((key, str(v.get("Value", ""))))
                    values.append(f"{key}={v.get('Value', '')}" if key else str(v.get("Value", "")))
        regex = list(raw.get("RegexValues") or []) + list(cfg.get("RegexValues") or [])
        return cls(field=fld, values=values, raw=raw, header_name=cfg.get("HttpHeaderName"), pairs=pairs,
                   regex_values=regex)

    @property
    def label(self) -> str:
        """``path-pattern /api/*``, ``http-header X-Canary=1``, ``host-header ~regex``; an empty match string
        reads ``(empty value)``, a condition without any reads as its field alone."""
        vals = ",".join([v or "(empty value)" for v in self.values] + [f"~{r}" for r in self.regex_values])
        if self.field == "http-header":
            return f"http-header {self.header_name or '?'}={vals}"
        return f"{self.field} {vals}".rstrip()


@dataclass
class Rule:
    arn: str
    listener_arn: str
    priority: int | None  # None: the default rule
    conditions: list[Condition]
    action: Action  # the terminal action (where traffic ends)
    raw: dict = field(repr=False, default_factory=dict)
    actions: list[Action] = field(default_factory=list)  # every action in ``Order`` (authenticate-* first)
    transforms: list[dict] = field(default_factory=list)  # ``Transforms`` (host/URL rewrites; not modelled)

    @classmethod
    def from_raw(cls, listener_arn: str, raw: dict) -> "Rule":
        prio = raw.get("Priority", "default")
        return cls(arn=raw["RuleArn"], listener_arn=listener_arn,
                   priority=None if raw.get("IsDefault") or prio == "default" else int(prio),
                   conditions=[Condition.from_raw(c) for c in raw.get("Conditions", [])],
                   action=_primary_action(raw.get("Actions", [])), raw=raw,
                   actions=Action.chain(raw.get("Actions", [])), transforms=list(raw.get("Transforms") or []))

    @property
    def is_default(self) -> bool:
        return self.priority is None

    def values(self, fld: str) -> list[str]:
        return [v for c in self.conditions if c.field == fld for v in c.values]

    @property
    def label(self) -> str:
        if self.is_default:
            return "default"
        conds = "; ".join(c.label for c in self.conditions)
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
