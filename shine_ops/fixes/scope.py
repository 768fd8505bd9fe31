"""Scope guards for saved plans: a plan saved with ``--plan-out`` and applied later with ``--plan`` changes only
what today's diagnosis still covers.

- ``fix alb-ecs``: every change names only resources on today's request path (``path_resources``): its
  resource, and every AWS id in its call (ARNs, ``sg-``, ``vpc-``, ``subnet-``). A plan edited to reach
  another service's load balancer is refused whole.
- ``fix tortoise``: every change is one today's audit would plan again on the same resource, and a plan that
  deletes needs ``--allow-delete`` again.
"""

from __future__ import annotations

from typing import Any

from shine_ops.errors import UsageError
from shine_ops.fixes import Change, Plan


def path_resources(report: Any) -> list[str]:
    """Every resource id a ``fix alb-ecs`` change may name: the path's load balancers, their listeners, rules,
    security groups, certificates, subnets and VPC, the target groups they forward to, the service with its
    groups and subnets, and the DNS records that lead to it."""
    snap, path = report.snapshot, report.request_path
    out = list(path.path_lb_arns(snap))
    for lb in path.path_lb_arns(snap):
        out += [l.arn for l in snap.listeners_of(lb)] + [r.arn for l in snap.listeners_of(lb) for r in snap.rules_of(l.arn)]
        out += snap.load_balancers[lb].security_groups
    if path.service:
        out += [path.service.arn] + path.service.target_group_arns + path.service.security_groups
        out += [snap.tg_name(t) for t in path.service.target_group_arns]
    out += [f"{r.zone_id}/{r.name}" for b in path.branches for r in b.chain]
    for lb in path.path_lb_arns(snap):  # what the calls may name besides: groups, VPC, subnets, certificates
        for lst in snap.listeners_of(lb):
            out += lst.certificates
            for action in [lst.default_action] + [r.action for r in snap.rules_of(lst.arn)]:
                out += list(action.target_groups)
        out += snap.load_balancers[lb].subnets + [snap.load_balancers[lb].vpc_id or ""]
    out += [tg.vpc_id for tg in snap.target_groups.values() if tg.vpc_id]
    if path.service:
        out += path.service.subnets
    return [o for o in out if o]


def ids_in(value: Any) -> list[str]:
    """Every AWS id a call names (ARNs, sg-, subnet-, vpc-): each must be on the diagnosed path. References to
    earlier changes' results and free text (``Description``, ``Comment``) name nothing."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return []
        return [i for k, v in value.items() if k not in ("Description", "Comment") for i in ids_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in ids_in(v)]
    if isinstance(value, str) and (value.startswith("arn:") or value.split("-")[0] in ("sg", "vpc", "subnet")):
        return [value]
    return []


def off_path(changes: list[Change], allowed: list[str]) -> list[Change]:
    """The changes that touch something outside ``allowed``: no resource, a resource that is not (a prefix of,
    or prefixed by) an allowed one, or a call naming an id that is not allowed."""
    return [c for c in changes if not c.resource
            or not any(c.resource.startswith(a) or a.startswith(c.resource) for a in allowed)
            or any(i not in allowed for i in ids_in(c.call.params))]


def refuse_off_path(plan: Plan, report: Any) -> None:
    """Raise when the saved ``plan`` touches anything off the request path that ``report`` diagnosed today."""
    outside = off_path(plan.changes, path_resources(report))
    if outside:
        raise UsageError("the plan touches resources off the diagnosed request path: "
                         + ", ".join(sorted({c.resource for c in outside})))


def require_account_plan(plan: Plan, plan_file: str) -> None:
    """Raise when the saved ``plan`` was made by ``fix alb-ecs`` (checked before the audit runs again)."""
    if plan.target.get("scope") != "account":
        raise UsageError(f"{plan_file} is a plan of fix alb-ecs, not of fix tortoise",
                         hint="apply it with shine-ops fix alb-ecs --plan")


def refuse_stale_account_plan(plan: Plan, fresh: Plan, plan_file: str, *, allow_delete: bool) -> None:
    """Raise when the saved account ``plan`` changes something today's audit (``fresh``, planned with deletions
    allowed) no longer plans, or deletes without ``--allow-delete``."""
    today = {(c.fix, c.resource) for f in fresh.fixes for c in f.changes}
    stale = sorted({c.resource for c in plan.changes if (c.fix, c.resource) not in today})
    if stale:
        raise UsageError("the plan touches resources the audit no longer flags (or that something now "
                         "protects): " + ", ".join(stale), hint="plan again")
    deleting = [c for f in plan.fixes if not f.refused for c in f.changes if c.call.operation.startswith("Delete")]
    if deleting and not allow_delete:
        raise UsageError(f"{plan_file} deletes {len(deleting)} resource(s)", hint="add --allow-delete")
