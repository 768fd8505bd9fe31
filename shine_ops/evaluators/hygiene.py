"""Hygiene (playbook ``tortoise``): what Operation Tortoise's cleanup rules look for, account-wide.

"Understand before deleting; remove truly unused": load balancers no record reaches, several load balancers in
front of one service, target groups nothing uses, old task definition revisions ("keep only the last 3-4"),
security groups attached to nothing, and what the idle ones cost a month. Pure over the account snapshot
(``topology/account.py``); a finding is ``fail`` (low or info severity: never exit 1 at the default --fail-on).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology import ownership as O

# "account" marks an account-wide check (the runner collects topology/account.py's snapshot for it); the
# "account.*" sub-areas name what each check reads, so a denied call errors only the checks that need it.
A = "account"


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _not_account(ctx: Context, items: Any = True, none: str = "") -> Outcome | None:
    """The skip of an account-wide check that cannot judge: run on one app's snapshot, or (``items`` empty) on an
    account with nothing of the kind it judges (``none`` says what)."""
    if not ctx.snapshot.account_wide:
        return skip("Needs the account-wide snapshot (run the tortoise playbook).")
    if not items:
        return skip(none)
    return None


def orphaned_lbs(snap, reached: dict[str, list[str]] | None = None) -> list:
    reached = O.records_reaching(snap) if reached is None else reached
    return sorted((lb for lb in snap.load_balancers.values() if not reached.get(lb.arn)), key=lambda l: l.name)


@evaluator("alb.orphaned", needs={A, "account.dns", "account.ec2"}, hop="account")
def orphaned(ctx: Context, params: dict) -> Outcome:
    """Every load balancer is reached by some record of the account's zones (alias, CNAME chain, A-record IPs)."""
    snap = ctx.snapshot
    if (s := _not_account(ctx, snap.load_balancers, "The account has no load balancer in this region.")):
        return s
    reached = O.records_reaching(snap)
    bad = orphaned_lbs(snap, reached)
    evidence = {"records_checked": len(O.record_names(snap)), "zones": sorted(z.name for z in snap.zones.values()),
                "load_balancers": [{"name": lb.name, "dns_name": lb.dns_name, "state": lb.state,
                                    "listeners": [l.label for l in snap.listeners_of(lb.arn)],
                                    "records": reached.get(lb.arn, [])}
                                   for lb in sorted(snap.load_balancers.values(), key=lambda l: l.name)]}
    expected = "every load balancer reached by a record of the account's zones"
    if not bad:
        return Outcome("pass", f"All {len(snap.load_balancers)} load balancers are reached by a record.",
                       resources=[lb.arn for lb in snap.load_balancers.values()], expected=expected,
                       actual="all reached", evidence=evidence)
    names = [lb.name for lb in bad]
    one = len(bad) == 1
    return Outcome("fail", f"{_names(names)} {'is' if one else 'are'} reached by no DNS record of the account's "
                           f"{len(snap.zones)} hosted zone{'s' if len(snap.zones) != 1 else ''}: unless something "
                           f"outside Route 53 uses {'it' if one else 'them'}, {'it' if one else 'they'} only cost"
                           f"{'s' if one else ''} money.",
                   resources=[lb.arn for lb in bad], expected=expected,
                   actual="no record reaches " + ", ".join(names), evidence=evidence)


@evaluator("alb.overlapping", needs={A, "account.listeners", "account.ecs"}, hop="account")
def overlapping(ctx: Context, params: dict) -> Outcome:
    """No ECS service sits behind several load balancers (a blue-green leftover or a duplicate)."""
    snap = ctx.snapshot
    behind = [s for s in snap.services.values() if s.target_group_arns]
    if (s := _not_account(ctx, behind, "No ECS service of the account is behind a load balancer.")):
        return s
    reached = O.records_reaching(snap)
    overlaps = []
    for svc in sorted(behind, key=lambda s: s.key):
        lbs = O.lbs_routing_to(snap, svc)
        if len(lbs) > 1:
            overlaps.append({"service": svc.key, "service_arn": svc.arn, "load_balancers": [
                {"name": lb.name, "arn": lb.arn, "records": reached.get(lb.arn, []),
                 "target_groups": [snap.tg_name(t) for t in O.forwards_of(snap, lb.arn) if t in svc.target_group_arns]}
                for lb in lbs]})
    expected = "each service behind one load balancer"
    if not overlaps:
        return Outcome("pass", f"Each of the {len(behind)} services behind a load balancer has exactly one.",
                       resources=[s.arn for s in behind], expected=expected, actual="no overlap",
                       evidence={"services": len(behind)})
    o = overlaps[0]
    lb_names = [lb["name"] for lb in o["load_balancers"]]
    more = f" ({len(overlaps) - 1} more service{'s' if len(overlaps) > 2 else ''} too)" if len(overlaps) > 1 else ""
    resources = [x["service_arn"] for x in overlaps] + list(dict.fromkeys(
        lb["arn"] for x in overlaps for lb in x["load_balancers"]))
    live = [lb["name"] for lb in o["load_balancers"] if lb["records"]]
    advice = (f"keep {live[0]} (the one a record reaches) and retire the other{'s' if len(lb_names) > 2 else ''}"
              if len(live) == 1 else "keep the one the domain reaches and retire the others")
    return Outcome("fail", f"{len(lb_names)} load balancers ({', '.join(lb_names)}) route to service {o['service']}"
                           f"{more}: {advice}.",
                   resources=resources, expected=expected,
                   actual="; ".join(f"{x['service']} behind {', '.join(lb['name'] for lb in x['load_balancers'])}"
                                    for x in overlaps),
                   evidence={"overlaps": overlaps})


@evaluator("tg.orphaned", needs={A, "account.listeners", "account.target_groups", "account.target_health",
                                     "account.ecs"}, hop="account")
def tg_orphaned(ctx: Context, params: dict) -> Outcome:
    """Every target group is used by a listener or rule and has registered targets."""
    snap = ctx.snapshot
    if (s := _not_account(ctx, snap.target_groups, "The account has no target group in this region.")):
        return s
    used = O.referenced_tgs(snap)
    bad = []
    for tg in sorted(snap.target_groups.values(), key=lambda t: t.name):
        reasons = []
        if tg.arn not in used:
            reasons.append("no listener or rule forwards to it")
        if tg.targets is not None and not tg.targets:
            reasons.append("no registered targets")
        if reasons:
            bad.append({"name": tg.name, "arn": tg.arn, "reasons": reasons,
                        "services": [s.key for s in snap.services_using(tg.arn)]})
    expected = "every target group on a listener and with registered targets"
    if not bad:
        return Outcome("pass", f"All {len(snap.target_groups)} target groups are on a listener and have targets.",
                       resources=list(snap.target_groups), expected=expected, actual="none orphaned")
    first = bad[0]
    more = f" ({len(bad) - 1} more: {_names([b['name'] for b in bad[1:]], 4)})" if len(bad) > 1 else ""
    return Outcome("fail", f"Target group {first['name']} is orphaned ({' and '.join(first['reasons'])}){more}.",
                   resources=[b["arn"] for b in bad], expected=expected,
                   actual="; ".join(f"{b['name']}: {', '.join(b['reasons'])}" for b in bad),
                   evidence={"orphaned": bad})


def in_use_task_definitions(snap) -> set[str]:
    """Task definition ARNs services run: the current one and every deployment's (a rollout in progress)."""
    arns = set()
    for svc in snap.services.values():
        if svc.task_definition:
            arns.add(svc.task_definition)
        arns.update(d.get("taskDefinition") for d in svc.raw.get("deployments") or [] if d.get("taskDefinition"))
    return arns


@evaluator("taskdef.stale-revisions", needs={A, "account.task_definitions", "account.ecs"}, hop="account",
           params={"keep": {"type": "integer", "minimum": 1}})
def stale_revisions(ctx: Context, params: dict) -> Outcome:
    """No task definition family keeps more than ``keep`` (default 4) ACTIVE revisions beyond those in use."""
    snap = ctx.snapshot
    if (s := _not_account(ctx, snap.task_definition_revisions, "The account has no ACTIVE task definition.")):
        return s
    keep = int(params.get("keep", 4))
    in_use = in_use_task_definitions(snap)
    stale: dict[str, dict[str, Any]] = {}
    for family, revs in sorted(snap.task_definition_revisions.items()):
        ordered = sorted(revs)
        kept = ordered[-keep:] if keep > 0 else []
        old = [r for r in ordered if r not in kept and revs[r] not in in_use]
        if old:
            stale[family] = {"active": ordered, "kept": kept, "in_use": sorted(r for r in ordered if revs[r] in in_use),
                             "stale": old, "stale_arns": [revs[r] for r in old]}
    expected = f"at most the last {keep} ACTIVE revisions per family (plus any in use)"
    total = sum(len(v) for v in snap.task_definition_revisions.values())
    if not stale:
        return Outcome("pass", f"{len(snap.task_definition_revisions)} families, {total} ACTIVE revisions: none "
                               f"beyond the last {keep}.", expected=expected, actual="no stale revision",
                       evidence={"keep": keep})
    fam, v = next(iter(stale.items()))
    revs = ", ".join(str(r) for r in v["stale"])
    more = f" ({len(stale) - 1} more famil{'ies' if len(stale) > 2 else 'y'} too)" if len(stale) > 1 else ""
    return Outcome("fail", f"{fam} has {len(v['active'])} ACTIVE revisions: {len(v['stale'])} stale beyond the "
                           f"last {keep} and not in use (revision{'s' if len(v['stale']) > 1 else ''} {revs}){more}; "
                           f"deregister them.",
                   resources=[a for x in stale.values() for a in x["stale_arns"]], expected=expected,
                   actual="; ".join(f"{f}: stale {', '.join(str(r) for r in x['stale'])}" for f, x in stale.items()),
                   evidence={"keep": keep, "families": stale})


def unused_sgs(snap) -> list:
    used: set[str] = set()
    for eni in snap.network_interfaces.values():
        used.update(eni.groups)
    for lb in snap.load_balancers.values():
        used.update(lb.security_groups)
    for svc in snap.services.values():
        used.update(svc.security_groups)
    return sorted((g for g in snap.security_groups.values() if g.name != "default" and g.id not in used),
                  key=lambda g: g.id)


@evaluator("sg.unused", needs={A, "account.ec2", "account.ecs"}, hop="account")
def sg_unused(ctx: Context, params: dict) -> Outcome:
    """Every security group (but the VPC default) is attached to a network interface, load balancer or service."""
    snap = ctx.snapshot
    groups = [g for g in snap.security_groups.values() if g.name != "default"]
    if (s := _not_account(ctx, groups, "The account has no security group besides the VPC defaults.")):
        return s
    bad = unused_sgs(snap)
    referenced_by = {g.id: sorted(o.id for o in snap.security_groups.values()
                                  if any(g.id in r.groups for r in o.ingress + o.egress) and o.id != g.id)
                     for g in bad}
    expected = "every security group attached to a network interface, load balancer or service"
    if not bad:
        return Outcome("pass", f"All {len(groups)} security groups are in use.", resources=[g.id for g in groups],
                       expected=expected, actual="all attached")
    labels = [g.label for g in bad]
    return Outcome("fail", f"{_names(labels)} {'is' if len(bad) == 1 else 'are'} attached to no network interface, "
                           f"load balancer or ECS service.",
                   resources=[g.id for g in bad], expected=expected, actual="unused: " + ", ".join(labels),
                   evidence={"unused": [{"id": g.id, "name": g.name, "vpc": g.vpc_id,
                                         "referenced_by_rules_of": referenced_by[g.id]} for g in bad],
                             "network_interfaces": len(snap.network_interfaces)})


# --------------------------------------------------------------------------- cost
@lru_cache(maxsize=8)
def _load_prices(path: str | None) -> dict:
    import yaml

    p = Path(path) if path else Path(str(resources.files("shine_ops") / "data" / "prices.yaml"))
    return yaml.safe_load(p.read_text(encoding="utf-8"))


def load_prices(path: str | None = None) -> dict:
    return _load_prices(path)


def _task_size(td) -> tuple[float, float] | None:
    """(vCPU, GB) of a task definition's task-level size (Fargate), or None when not set."""
    cpu, mem = (td.raw.get("cpu"), td.raw.get("memory")) if td else (None, None)
    try:
        return int(cpu) / 1024, int(mem) / 1024
    except (TypeError, ValueError):
        return None


@evaluator("cost.idle-resources", needs={A, "account.dns", "account.listeners", "account.ecs",
                                             "account.task_sizes"}, hop="account",
           params={"prices": {"type": "string", "minLength": 1}, "price_table": {"type": "object"}})
def idle_cost(ctx: Context, params: dict) -> Outcome:
    """A monthly estimate of what idle resources cost: orphaned load balancers, services no traffic reaches."""
    if (s := _not_account(ctx)):
        return s
    snap = ctx.snapshot
    prices = params.get("price_table") or load_prices(params.get("prices"))
    hours = float(prices["hours_per_month"])
    alb, fg = prices["alb"], prices["fargate"]
    lines: list[dict[str, Any]] = []
    for lb in orphaned_lbs(snap):
        lcus = float(alb.get("idle_lcus", 0))
        usd = hours * float(alb["hour"]) + hours * lcus * float(alb["lcu_hour"])
        lines.append({"resource": lb.name, "arn": lb.arn, "kind": "orphaned load balancer", "monthly_usd": round(usd, 2),
                      "arithmetic": f"{hours:g} h x ${alb['hour']}/ALB-hour + {hours:g} h x {lcus:g} LCU x "
                                    f"${alb['lcu_hour']}/LCU-hour = ${usd:.2f}"})
    unpriced = []
    for svc in O.services_without_traffic_path(snap):
        td = snap.task_definitions.get(svc.task_definition)
        size = _task_size(td)
        tasks = max(svc.running, svc.desired)
        if size is None or (svc.launch_type and svc.launch_type != "FARGATE"):
            unpriced.append({"resource": svc.key, "reason": "not a Fargate task size" if td else
                             "task definition not described"})
            continue
        vcpu, gb = size
        per_hour = vcpu * float(fg["vcpu_hour"]) + gb * float(fg["gb_hour"])
        usd = tasks * hours * per_hour
        lines.append({"resource": svc.key, "arn": svc.arn, "kind": "service no record reaches",
                      "monthly_usd": round(usd, 2),
                      "arithmetic": f"{tasks} task{'s' if tasks != 1 else ''} x {hours:g} h x ({vcpu:g} vCPU x "
                                    f"${fg['vcpu_hour']}/vCPU-hour + {gb:g} GB x ${fg['gb_hour']}/GB-hour) = ${usd:.2f}"})
    total = round(sum(l["monthly_usd"] for l in lines), 2)
    evidence = {"prices": {"as_of": prices.get("as_of"), "source": " ".join(str(prices.get("source", "")).split()),
                           "region": prices.get("region"), "hours_per_month": hours},
                "lines": lines, "total_monthly_usd": total}
    if unpriced:
        evidence["not_estimated"] = unpriced
    if prices.get("region") and prices["region"] != snap.region:
        evidence["note"] = f"prices are for {prices['region']}, the account is in {snap.region}"
    expected = "no idle resource that costs money"
    if not lines and not unpriced:
        return Outcome("pass", "No idle load balancer or unreachable service: nothing to save.",
                       expected=expected, actual="$0.00/month idle", evidence=evidence)
    parts = [f"{l['resource']} ${l['monthly_usd']:.2f}" for l in lines] + [u["resource"] for u in unpriced]
    return Outcome("fail", f"Idle resources cost about ${total:.2f} a month ({_names(parts)}; prices as of "
                           f"{prices.get('as_of')}).",
                   resources=[l["arn"] for l in lines], expected=expected,
                   actual=f"${total:.2f}/month idle: " + "; ".join(l["arithmetic"] for l in lines),
                   evidence=evidence)
