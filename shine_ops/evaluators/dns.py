"""DNS hop: does the domain have a record, and does it reach the load balancer in front of the service?"""

from __future__ import annotations

from shine_ops.engine.finding import Outcome
from shine_ops.evaluators import Context, evaluator, skip
from shine_ops.topology import path as P


def _lb_name(ctx: Context, arn: str | None) -> str:
    lb = ctx.snapshot.load_balancers.get(arn or "")
    return lb.name if lb else str(arn)


@evaluator("dns.record-exists", needs={"dns"}, hop="dns")
def record_exists(ctx: Context, params: dict) -> Outcome:
    """A record for the domain exists in a hosted zone of this account, with no conflicting duplicate."""
    snap, domain = ctx.snapshot, ctx.path.domain
    if not domain:
        return skip("No domain was given and no record of this account reaches the service.")
    zones = P.zones_covering(snap, domain)
    if not zones:
        return Outcome("fail", f"No hosted zone in account {snap.account} covers {domain}, so shine-ops cannot "
                               "see which load balancer it points to.",
                       resources=[domain], expected=f"a hosted zone for {domain} or a parent domain",
                       actual="no such hosted zone",
                       evidence={"zones": sorted(z.name for z in snap.zones.values())})
    recs = P.records_named(snap, domain)
    zone_names = {z: snap.zones[z].name for z in zones}
    if not recs:
        return Outcome("fail", f"{domain} has no A, AAAA or CNAME record in hosted zone "
                               f"{', '.join(sorted(set(zone_names.values())))}.",
                       resources=[f"{z}/{domain}" for z in zones], expected=f"a record for {domain}",
                       actual="no record", evidence={"zones": zone_names})
    evidence = {"records": [{"zone": r.zone_id, "name": r.name, "type": r.type, "target": r.target,
                             "set_identifier": r.set_identifier, "routing": r.routing} for r in recs]}
    resources = [f"{r.zone_id}/{r.name}/{r.type}" + (f"/{r.set_identifier}" if r.set_identifier else "") for r in recs]
    public_zones_with_records = sorted({r.zone_id for r in recs if not snap.zones[r.zone_id].private})
    if len(public_zones_with_records) > 1:
        names = [f"{z} ({snap.zones[z].name})" for z in public_zones_with_records]
        return Outcome("fail", f"{domain} is defined in {len(names)} public hosted zones ({', '.join(names)}); "
                               "only the one the registrar delegates to answers, so the others mislead.",
                       resources=resources, expected="one public hosted zone answering for the domain",
                       actual=", ".join(names), evidence=evidence)
    by_zone: dict[str, list] = {}
    for r in recs:
        by_zone.setdefault(r.zone_id, []).append(r)
    for zone_id, zrecs in by_zone.items():
        simple = [r for r in zrecs if r.routing == "simple"]
        types = sorted({r.type for r in simple})
        if "CNAME" in types and len(simple) > 1:
            return Outcome("fail", f"{domain} has a CNAME next to other records in zone {zone_names.get(zone_id)}; "
                                   "resolvers will answer inconsistently.",
                           resources=resources, expected="a CNAME alone, or alias records",
                           actual=", ".join(r.label for r in simple), evidence=evidence)
    desc = "; ".join(f"{r.label} -> {r.target}" for r in recs)
    return Outcome("pass", f"{domain} is defined in zone {', '.join(sorted(set(zone_names[r.zone_id] for r in recs)))}: {desc}.",
                   resources=resources, expected=f"a record for {domain}", actual=desc, evidence=evidence)


@evaluator("dns.points-to-service-alb", needs={"dns"}, hop="dns")
def points_to_service_alb(ctx: Context, params: dict) -> Outcome:
    """Every resolution branch of the record reaches a load balancer that routes to the service."""
    snap, path = ctx.snapshot, ctx.path
    if not path.domain:
        return skip("No domain was given and no record of this account reaches the service.")
    if not path.branches:
        return skip(f"{path.domain} has no record to follow (see dns.record-exists).")
    if not path.service:
        return skip("No ECS service was found behind any load balancer, so there is no right target to compare with.")
    service_lbs = path.service_lb_arns(snap)
    svc = path.service
    evidence = {"branches": [{"records": b.label, "load_balancer": _lb_name(ctx, b.lb_arn) if b.lb_arn else None,
                              "external": b.external} for b in path.branches],
                "service_load_balancers": [_lb_name(ctx, a) for a in service_lbs]}
    if not service_lbs:
        return Outcome("fail", f"No load balancer forwards to the target groups of {svc.key}, so no record can reach it.",
                       resources=[svc.arn] + svc.target_group_arns,
                       expected="a load balancer forwarding to the service's target groups",
                       actual="none", evidence=evidence)
    stray = [b for b in path.branches if b.lb_arn not in service_lbs]
    right = ", ".join(_lb_name(ctx, a) for a in service_lbs)
    uncovered = [why for b in stray if (why := not_covered(ctx, b))]
    if stray and len(uncovered) == len(stray):
        return Outcome("warn", f"Not covered: {uncovered[0]}; shine-ops does not follow that hop yet, so it cannot "
                               f"tell whether {path.domain} reaches {right}. Diagnose the load balancer behind it "
                               "with --cluster/--service.", resources=[path.domain] + service_lbs,
                       expected=f"{path.domain} reaches {right}", actual="; ".join(uncovered), evidence=evidence)
    right_dns = ", ".join(snap.load_balancers[a].dns_name for a in service_lbs)
    if not stray:
        return Outcome("pass", f"{path.domain} reaches {right}, which routes to {svc.key}.",
                       resources=[path.domain] + service_lbs, expected=f"alias to {right_dns}",
                       actual=f"alias to {right_dns}", evidence=evidence)
    wrong = [(b, _lb_name(ctx, b.lb_arn) if b.lb_arn else b.external) for b in stray]
    wrong_txt = ", ".join(str(w) for _, w in wrong)
    resources = [path.domain] + [b.lb_arn for b, _ in wrong if b.lb_arn] + service_lbs
    what = "points at" if all(b.lb_arn for b in stray) else "resolves to"
    return Outcome("fail", f"{path.domain} {what} {wrong_txt}, but {svc.name} is behind {right}: "
                           f"traffic for the domain never reaches the service.",
                   resources=resources, expected=f"{path.domain} aliases {right_dns}",
                   actual="; ".join(f"{b.label} -> {w}" for b, w in wrong), evidence=evidence)


@evaluator("dns.resolves-to-alb", needs={"dns"}, hop="dns")
def resolves_to_alb(ctx: Context, params: dict) -> Outcome:
    """Live resolution agrees with the record: the domain's addresses are those of the load balancer it aliases.

    Reads the DNS probe's answers (``ctx.probes["dns"]``); the probe ran before evaluation."""
    snap, path = ctx.snapshot, ctx.path
    probe = ctx.probes.get("dns")
    if not path.domain:
        return skip("No domain was given and no record of this account reaches the service.")
    if not probe:
        return skip("No live DNS probe ran.")
    if probe.get("skipped"):
        return skip(probe["skipped"])
    lb_arns = [a for a in path.record_lb_arns if a in snap.load_balancers]
    if not lb_arns:
        return skip(f"The record of {path.domain} reaches no load balancer of this account "
                    "(see dns.record-exists and dns.points-to-service-alb).")
    answers = probe.get("answers") or {}
    resolver = probe.get("resolver", "system")
    lbs = [snap.load_balancers[a] for a in lb_arns]
    evidence: dict = {"resolver": resolver, "answers": answers,
                      "record": "; ".join(b.label + f" -> {_lb_name(ctx, b.lb_arn) if b.lb_arn else b.external}"
                                          for b in path.branches)}
    if probe.get("simulated"):
        evidence["simulated"] = True
    resources = [path.domain] + lb_arns
    expected = "the addresses of " + ", ".join(lb.dns_name for lb in lbs)
    dom = answers.get(path.domain) or {"addresses": [], "error": "not probed", "error_kind": "other"}
    if dom.get("error"):
        if dom.get("error_kind") in ("nxdomain", "noanswer"):
            return Outcome("fail", f"{path.domain} does not resolve through {resolver} ({dom['error']}), although "
                                   f"this account's zone aliases it to {', '.join(lb.name for lb in lbs)}: the "
                                   "registrar delegates the domain to other name servers, or the record is not live.",
                           resources=resources, expected=expected, actual=dom["error"], evidence=evidence)
        return Outcome("error", f"Could not resolve {path.domain} through {resolver}: {dom['error']}.",
                       resources=resources, expected=expected, actual=dom["error"], evidence=evidence)
    want: set[str] = set()
    for lb in lbs:
        got = answers.get(lb.dns_name) or {"error": "not probed"}
        if got.get("error"):
            return Outcome("error", f"Could not resolve the load balancer name {lb.dns_name} through {resolver} "
                                    f"to compare with: {got['error']}.",
                           resources=resources, expected=expected, actual=got["error"], evidence=evidence)
        want |= set(got.get("addresses") or [])
    have = set(dom.get("addresses") or [])
    names = ", ".join(lb.name for lb in lbs)
    if have and have <= want:
        return Outcome("pass", f"{path.domain} resolves to {', '.join(sorted(have))}, addresses of {names}, "
                               "as the record says.",
                       resources=resources, expected=expected, actual=", ".join(sorted(have)), evidence=evidence)
    stray = sorted(have - want)
    others = [lb.name for lb in snap.load_balancers.values() if lb.arn not in lb_arns
              and set((answers.get(lb.dns_name) or {}).get("addresses") or []) & have]
    where = f" (those of {', '.join(others)})" if others else ""
    return Outcome("fail", f"{path.domain} resolves to {', '.join(stray)}{where} through {resolver}, not to {names} "
                           f"({', '.join(sorted(want))}) that the record in this account aliases: the answer on the "
                           "internet comes from another zone (a stale delegation or another account) or a cache.",
                   resources=resources, expected=expected + f" ({', '.join(sorted(want))})",
                   actual=", ".join(sorted(have)) + where, evidence=evidence)


def not_covered(ctx: Context, branch: P.Branch) -> str | None:
    """Why a resolution branch ends in something shine-ops does not follow (CloudFront, NLB -> ALB), or None."""
    if branch.external and (branch.external.endswith(".cloudfront.net") or "cloudfront" in branch.external):
        return f"a CloudFront distribution ({branch.external}) is in front of {branch.chain[0].name}"
    lb = ctx.snapshot.load_balancers.get(branch.lb_arn or "")
    if lb is not None and lb.type == "network":
        tgs = [tg for tg in ctx.snapshot.target_groups.values() if lb.arn in tg.lb_arns]
        if any(tg.target_type == "alb" for tg in tgs):
            return f"the network load balancer {lb.name} forwards to an application load balancer"
    return None
