"""sg.delete-unused: delete security groups attached to no network interface, load balancer or ECS service.

Only with ``--allow-delete``. A group another group's rules name is left alone (AWS refuses to delete it with
DependencyViolation, and the reference may be the point). AWS cannot undo a deletion: rollback recreates the
group from its saved configuration (name, description, VPC, tags, every ingress and egress rule) under a new id.
"""

from __future__ import annotations

from typing import Any

from shine_ops.fixes import ApiCall, FixPlan, PlanContext, fix, undo_ref
from shine_ops.fixes.cleanup import deletion, deletions_plan, drop_empty, kept_by_tag, suppressed

CHECK = "sg.unused"
FIX = "sg.delete-unused"
# What CreateSecurityGroup puts in every new VPC group: rollback removes it when the saved group did not have it
DEFAULT_EGRESS = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _rules(perms: list[dict], old_id: str) -> list[dict]:
    """Described rules as Authorize* takes them; a rule naming the group itself names the recreated group."""
    out = []
    for p in perms:
        p = drop_empty(dict(p))
        pairs = []
        for pair in p.get("UserIdGroupPairs", []):
            pair = {k: v for k, v in pair.items() if k in ("GroupId", "UserId", "Description", "VpcId")}
            if pair.get("GroupId") == old_id:
                pair = {"GroupId": undo_ref(0, "GroupId"), **{k: v for k, v in pair.items() if k == "Description"}}
            pairs.append(pair)
        if pairs:
            p["UserIdGroupPairs"] = pairs
        out.append(p)
    return out


def _is_default_egress(p: dict[str, Any]) -> bool:
    return (p.get("IpProtocol") == "-1" and [r.get("CidrIp") for r in p.get("IpRanges", [])] == ["0.0.0.0/0"]
            and not p.get("UserIdGroupPairs") and not p.get("Ipv6Ranges") and not p.get("PrefixListIds"))


@fix(FIX, checks=[CHECK], order=130, scope="account", deletes=True,
     iam=["ec2:DeleteSecurityGroup", "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
          "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags",
          "ec2:DescribeSecurityGroups"])
def plan(pc: PlanContext) -> FixPlan | None:
    snap = pc.ctx.snapshot
    changes, notes = [], []
    for item in pc.findings[CHECK].evidence.get("unused") or []:
        g = snap.security_groups.get(item["id"])
        if g is None:
            continue
        if item.get("referenced_by_rules_of"):
            notes.append(f"{g.label}: the rules of {', '.join(item['referenced_by_rules_of'])} name it; AWS would "
                         "refuse the deletion (remove those rules first if they are obsolete too)")
            continue
        if (why := suppressed(pc, CHECK, g.id)) or (why := suppressed(pc, CHECK, g.name)):
            notes.append(f"{g.label}: {why}")
            continue
        tags = g.raw.get("Tags") or []
        if kept_by_tag(tags):
            notes.append(f"{g.label}: tagged shine-ops:keep")
            continue
        create: dict[str, Any] = {"GroupName": g.name, "Description": g.raw.get("Description") or g.name}
        if g.vpc_id:
            create["VpcId"] = g.vpc_id
        if tags:
            create["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tags}]
        ingress = _rules(g.raw.get("IpPermissions") or [], g.id)
        egress = _rules(g.raw.get("IpPermissionsEgress") or [], g.id)
        new_id = undo_ref(0, "GroupId")
        inverse = [ApiCall("ec2", "CreateSecurityGroup", create, results={"GroupId": "GroupId"})]
        if ingress:
            inverse.append(ApiCall("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": new_id, "IpPermissions": ingress}))
        if g.vpc_id and not any(_is_default_egress(p) for p in egress):
            inverse.append(ApiCall("ec2", "RevokeSecurityGroupEgress", {"GroupId": new_id,
                                                                         "IpPermissions": [DEFAULT_EGRESS]}))
        extra = [p for p in egress if not _is_default_egress(p)]
        if extra:
            inverse.append(ApiCall("ec2", "AuthorizeSecurityGroupEgress", {"GroupId": new_id, "IpPermissions": extra}))
        filters = [{"Name": "group-name", "Values": [g.name]}] + (
            [{"Name": "vpc-id", "Values": [g.vpc_id]}] if g.vpc_id else [])
        changes.append(deletion(
            FIX, len(changes) + 1, resource=g.id, label=g.label, kind="security group", new_id="id",
            why=f"attached to nothing; {len(ingress)} ingress and {len(egress)} egress rule(s) saved",
            call=ApiCall("ec2", "DeleteSecurityGroup", {"GroupId": g.id}), inverse=inverse,
            saved={"create": create, "ingress": ingress, "egress": egress, "id": g.id},
            probe=ApiCall("ec2", "DescribeSecurityGroups", {"Filters": filters}), probe_path="length(SecurityGroups)"))
    return deletions_plan(pc, FIX, CHECK, f"Delete {len(changes)} security group(s) attached to nothing.", changes,
                          notes)
