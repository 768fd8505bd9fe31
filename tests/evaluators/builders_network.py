"""Snapshots with the network between the load balancer and the tasks: subnets, security-group egress, ACLs.

Built over ``builders.build`` (the load balancer ``prod`` with ``sg-alb`` in front of service ``prod/api`` with
``sg-task`` on container port 8000); here the load balancer sits in two public subnets and the tasks in two
private ones, each subnet pair with its own network ACL.
"""

from __future__ import annotations

from shine_ops.evaluators import Context
from shine_ops.topology.model import NetworkAcl, SecurityGroup, Subnet
from tests.evaluators.builders import LB_ARN, build

PUBLIC = {"subnet-pub-a": "10.0.0.0/24", "subnet-pub-b": "10.0.1.0/24"}
PRIVATE = {"subnet-app-a": "10.0.10.0/24", "subnet-app-b": "10.0.11.0/24"}
ALLOW_ALL = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def acl_entry(num: int, action: str = "allow", *, egress: bool = False, cidr: str = "0.0.0.0/0",
              protocol: str = "-1", ports: tuple[int, int] | None = None) -> dict:
    e = {"RuleNumber": num, "RuleAction": action, "Egress": egress, "CidrBlock": cidr, "Protocol": protocol}
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    return e


def default_entries() -> list[dict]:
    """What describe_network_acls shows for a VPC's default ACL: 100 allow, * deny, both ways."""
    return [acl_entry(100, egress=True), acl_entry(32767, "deny", egress=True),
            acl_entry(100), acl_entry(32767, "deny")]


def net_ctx(*, alb_egress: list[dict] | None = None, task_ingress: list[dict] | None = None,
            public_acl: list[dict] | None = None, private_acl: list[dict] | None = None,
            container_port: int = 8000, same_subnets: bool = False) -> Context:
    ctx = build(container_port=container_port, ingress=task_ingress)
    s = ctx.snapshot
    s.security_groups["sg-alb"] = SecurityGroup.from_raw({
        "GroupId": "sg-alb", "GroupName": "alb",
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        "IpPermissionsEgress": ALLOW_ALL if alb_egress is None else alb_egress})
    s.subnets.clear()
    for sid, cidr in {**PUBLIC, **PRIVATE}.items():
        s.subnets[sid] = Subnet.from_raw({"SubnetId": sid, "VpcId": "vpc-1", "CidrBlock": cidr})
    s.load_balancers[LB_ARN].subnets = list(PUBLIC)
    ctx.path.service.subnets = list(PUBLIC if same_subnets else PRIVATE)
    s.network_acls["acl-public"] = NetworkAcl.from_raw({
        "NetworkAclId": "acl-public", "VpcId": "vpc-1", "IsDefault": True,
        "Associations": [{"SubnetId": x} for x in PUBLIC],
        "Entries": default_entries() if public_acl is None else public_acl})
    s.network_acls["acl-private"] = NetworkAcl.from_raw({
        "NetworkAclId": "acl-private", "VpcId": "vpc-1", "IsDefault": False,
        "Associations": [{"SubnetId": x} for x in PRIVATE],
        "Entries": default_entries() if private_acl is None else private_acl})
    return ctx
