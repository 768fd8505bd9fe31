"""Typed views over EC2 networking response shapes (security groups, subnets, route tables, NACLs, ENIs)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


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


def _first_ipv6_block(raw: dict) -> str:
    blocks = [a.get("Ipv6CidrBlock") for a in raw.get("Ipv6CidrBlockAssociationSet") or []
              if (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"]
    return next((b for b in blocks if b), "")


@dataclass
class Subnet:
    id: str
    vpc_id: str
    cidr: str  # the IPv4 block, or for an IPv6-only subnet (Ipv6Native: no CidrBlock) its first IPv6 block
    az: str | None
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict) -> "Subnet":
        return cls(id=raw["SubnetId"], vpc_id=raw["VpcId"], cidr=raw.get("CidrBlock") or _first_ipv6_block(raw), az=raw.get("AvailabilityZone"),
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
