"""Typed views over Route 53 response shapes (hosted zones, record sets) and DNS-name normalisation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
