"""tg.delete-orphaned: delete target groups no listener or rule forwards to and no ECS service registers into.

Only with ``--allow-delete``. A group a listener still forwards to cannot be deleted (AWS answers
ResourceInUse) and one an ECS service names would break that service's next deployment, so both are left alone
with the reason. AWS cannot undo a deletion: rollback recreates the group from the configuration saved before
(settings, non-default attributes, tags, registered targets) under a new ARN.
"""

from __future__ import annotations

from shine_ops.fixes import ApiCall, FixPlan, PlanContext, fix, undo_ref
from shine_ops.fixes.cleanup import deletion, deletions_plan, drop_empty, kept_by_tag, suppressed
from shine_ops.fixes.tg_replace_with_container_port import ATTRIBUTE_DEFAULTS

CHECK = "tg.orphaned"
FIX = "tg.delete-orphaned"
CREATE_KEYS = ("TargetGroupName", "Protocol", "ProtocolVersion", "Port", "VpcId", "HealthCheckProtocol",
               "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath", "HealthCheckIntervalSeconds",
               "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher",
               "TargetType", "IpAddressType")


@fix(FIX, checks=[CHECK], order=120, scope="account", deletes=True,
     iam=["elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:CreateTargetGroup",
          "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:ModifyTargetGroupAttributes",
          "elasticloadbalancing:DescribeTags", "elasticloadbalancing:AddTags",
          "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:RegisterTargets"])
def plan(pc: PlanContext) -> FixPlan | None:
    from shine_ops.topology.ownership import referenced_tgs

    snap, aws = pc.ctx.snapshot, pc.aws
    used = referenced_tgs(snap)
    changes, notes = [], []
    for item in pc.findings[CHECK].evidence.get("orphaned") or []:
        tg = snap.target_groups.get(item["arn"])
        if tg is None:
            continue
        services = [s.key for s in snap.services_using(tg.arn)]
        if tg.arn in used or tg.lb_arns:
            notes.append(f"{tg.name}: a listener or rule forwards to it ({', '.join(item['reasons'])}); remove the "
                         "rule or register targets")
            continue
        if services:
            notes.append(f"{tg.name}: ECS service {', '.join(services)} names it; deleting it would break the "
                         "service's next deployment")
            continue
        if (why := suppressed(pc, CHECK, tg.arn)):
            notes.append(f"{tg.name}: {why}")
            continue
        tags = aws.call("elbv2", "DescribeTags", ResourceArns=[tg.arn]).get("TagDescriptions", [{}])[0].get("Tags", [])
        if kept_by_tag(tags):
            notes.append(f"{tg.name}: tagged shine-ops:keep")
            continue
        attrs = {a["Key"]: a["Value"] for a in aws.call("elbv2", "DescribeTargetGroupAttributes",
                                                        TargetGroupArn=tg.arn).get("Attributes", [])}
        targets = [{"Id": d["Target"]["Id"], **({"Port": d["Target"]["Port"]} if d["Target"].get("Port") else {}),
                    **({"AvailabilityZone": d["Target"]["AvailabilityZone"]}
                       if d["Target"].get("AvailabilityZone") else {})}
                   for d in aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=tg.arn).get(
                       "TargetHealthDescriptions", [])
                   if d.get("TargetHealth", {}).get("State") != "draining"]
        create = drop_empty({("Name" if k == "TargetGroupName" else k): tg.raw.get(k) for k in CREATE_KEYS})
        if tags:
            create["Tags"] = tags
        changed = [{"Key": k, "Value": v} for k, v in attrs.items() if k in ATTRIBUTE_DEFAULTS
                   and ATTRIBUTE_DEFAULTS[k] != v]
        new_arn = undo_ref(0, "TargetGroupArn")
        inverse = [ApiCall("elbv2", "CreateTargetGroup", create,
                           results={"TargetGroupArn": "TargetGroups[0].TargetGroupArn"})]
        if changed:
            inverse.append(ApiCall("elbv2", "ModifyTargetGroupAttributes",
                                   {"TargetGroupArn": new_arn, "Attributes": changed}))
        if targets:
            inverse.append(ApiCall("elbv2", "RegisterTargets", {"TargetGroupArn": new_arn, "Targets": targets}))
        changes.append(deletion(
            FIX, len(changes) + 1, resource=tg.arn, label=f"{tg.name} ({len(targets)} target(s))",
            kind="target group", new_id="ARN", why="; ".join(item["reasons"]),
            call=ApiCall("elbv2", "DeleteTargetGroup", {"TargetGroupArn": tg.arn}), inverse=inverse,
            saved={"create": create, "attributes": attrs, "targets": targets, "arn": tg.arn},
            probe=ApiCall("elbv2", "DescribeTargetGroups", {"Names": [tg.name]}), probe_path="length(TargetGroups)"))
    return deletions_plan(pc, FIX, CHECK, f"Delete {len(changes)} target group(s) nothing forwards to and no service "
                                          "uses.", changes, notes)
