"""DNS hop: does the domain have a record, and does it reach the load balancer in front of the service?

A domain that reaches no load balancer of the account (a VPC endpoint, CloudFront, an S3 website, API Gateway, a
Global Accelerator, Elastic Beanstalk, an address or a name elsewhere) is a finding in itself, named by what it does
reach (docs/aws-behaviour.md section 6): a run never ends with every check skipped and exit 0 because the path led
nowhere shine-ops follows.
"""

from __future__ import annotations

import ipaddress
import re

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
    where = ", ".join(sorted(set(zone_names[r.zone_id] for r in recs)))
    private = sorted({r.zone_id for r in recs if snap.zones[r.zone_id].private})
    note = ""
    if private and len(private) == len({r.zone_id for r in recs}):
        evidence["private_zones"] = private
        note = (f" Only in private zone{'s' if len(private) > 1 else ''} {', '.join(private)}: it answers only inside "
                "the VPCs associated with the zone, not on the internet.")
    return Outcome("pass", f"{domain} is defined in zone {where}: {desc}.{note}",
                   resources=resources, expected=f"a record for {domain}", actual=desc, evidence=evidence)


@evaluator("dns.points-to-service-alb", needs={"dns"}, hop="dns")
def points_to_service_alb(ctx: Context, params: dict) -> Outcome:
    """Every resolution branch of the record reaches a load balancer that routes to the service; a domain that
    reaches no load balancer (or none with an ECS service behind it) fails, naming what it does reach."""
    snap, path = ctx.snapshot, ctx.path
    if not path.domain:
        return skip("No domain was given and no record of this account reaches the service.")
    if not path.branches:
        return skip(f"{path.domain} has no record to follow (see dns.record-exists).")
    evidence: dict = {"branches": [_branch_evidence(ctx, b) for b in path.branches]}
    private = _private_note(ctx, path.branches)
    if private:
        evidence["private_zones"] = private[1]
    if not path.service:
        return _reaches_no_service(ctx, evidence, private[0] if private else "")
    service_lbs = path.service_lb_arns(snap)
    svc = path.service
    evidence["service_load_balancers"] = [_lb_name(ctx, a) for a in service_lbs]
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
        return Outcome("pass", f"{path.domain} reaches {right}, which routes to {svc.key}.{_sentence(private)}",
                       resources=[path.domain] + service_lbs, expected=f"alias to {right_dns}",
                       actual=f"alias to {right_dns}", evidence=evidence)
    wrong = [(b, _lb_name(ctx, b.lb_arn) if b.lb_arn else reached(b.external or "")) for b in stray]
    wrong_txt = ", ".join(str(w) for _, w in wrong)
    resources = [path.domain] + [b.lb_arn for b, _ in wrong if b.lb_arn] + service_lbs
    what = "points at" if all(b.lb_arn for b in stray) else "resolves to"
    return Outcome("fail", f"{path.domain} {what} {wrong_txt}, but {svc.name} is behind {right}: "
                           f"traffic for the domain never reaches the service.{_sentence(private)}",
                   resources=resources, expected=f"{path.domain} aliases {right_dns}",
                   actual="; ".join(f"{b.label} -> {w}" for b, w in wrong), evidence=evidence)


def _reaches_no_service(ctx: Context, evidence: dict, private: str) -> Outcome:
    """No ECS service was found for the domain: what it reaches instead is the finding (contract: such a run has a
    failing finding that says what the domain does reach, never exit 0 with every check skipped)."""
    snap, path = ctx.snapshot, ctx.path
    domain = path.domain or ""
    lb_arns = path.record_lb_arns
    parts = [f"load balancer {_lb_name(ctx, a)}" for a in lb_arns]
    parts += [reached(b.external) for b in path.branches if not b.lb_arn and b.external]
    parts = list(dict.fromkeys(parts))
    what = "; ".join(parts) or "nothing shine-ops can follow"
    resources = [domain] + lb_arns + [f"{r.zone_id}/{r.name}/{r.type}" for b in path.branches for r in b.chain[:1]]
    resources = list(dict.fromkeys(resources))
    note = f" {private}" if private else ""
    if lb_arns:
        forwards = sorted({snap.tg_name(tg) for a in lb_arns for lst in snap.listeners_of(a)
                           for action in [lst.default_action] + [r.action for r in snap.rules_of(lst.arn)]
                           for tg in action.forwarded_tgs})
        evidence["target_groups_forwarded"] = forwards
        tail = (f"; its listeners forward to {', '.join(forwards)}, which no ECS service uses" if forwards
                else "; none of its listeners forwards to a target group")
        return Outcome("fail", f"{domain} reaches {what}, but no ECS service of this account is behind it{tail}: "
                               f"there is no service to diagnose on this path.{note}",
                       resources=resources, expected=f"{domain} reaches a load balancer that routes to an ECS service",
                       actual=what, evidence=evidence)
    return Outcome("fail", f"{domain} reaches no load balancer of this account: it resolves to {what}.{note}",
                   resources=resources, expected=f"{domain} reaches a load balancer of this account",
                   actual=what, evidence=evidence)


def _branch_evidence(ctx: Context, b: P.Branch) -> dict:
    out = {"records": b.label, "load_balancer": _lb_name(ctx, b.lb_arn) if b.lb_arn else None, "external": b.external}
    if b.external:
        out["reaches"] = reached(b.external)
    zones = sorted({r.zone_id for r in b.chain})
    out["zones"] = [{"id": z, "name": ctx.snapshot.zones[z].name, "private": ctx.snapshot.zones[z].private}
                    for z in zones if z in ctx.snapshot.zones]
    return out


def _private_note(ctx: Context, branches: list[P.Branch]) -> tuple[str, list[str]] | None:
    """When every branch starts in a private zone: the sentence saying so, and the zones."""
    zones = ctx.snapshot.zones
    first = {b.chain[0].zone_id for b in branches if b.chain}
    if not first or not all(z in zones and zones[z].private for z in first):
        return None
    ids = sorted(first)
    names = ", ".join(f"{z} ({zones[z].name})" for z in ids)
    return (f"The record is in private zone{'s' if len(ids) > 1 else ''} {names}: it answers only inside the VPCs "
            "associated with the zone.", ids)


def _sentence(private: tuple[str, list[str]] | None) -> str:
    return f" {private[0]}" if private else ""


_VPCE = re.compile(r"(vpce-[0-9a-f]+)")


def reached(name: str) -> str:
    """What a name or address outside the account's load balancers is, in words (docs/aws-behaviour.md section 6)."""
    name = name.strip().rstrip(".")
    if not name:  # a record that holds no value at all (its branch ends on nothing)
        return "a record with no value"
    if name.startswith("chain longer than"):
        return f"a record chain {name}"
    values = [v.strip() for v in name.split(",") if v.strip()]
    try:
        addrs = [ipaddress.ip_address(v) for v in values]
    except ValueError:
        addrs = []
    if addrs:
        return (f"the address{'es' if len(addrs) > 1 else ''} {', '.join(values)}, held by no load balancer of this "
                "account")
    low = name.lower()
    if ".vpce.amazonaws.com" in low or low.startswith("vpce-"):
        m = _VPCE.search(low)
        return f"the VPC endpoint {m.group(1) if m else name} ({name})"
    if low.endswith(".cloudfront.net"):
        return f"the CloudFront distribution {name}"
    if "s3-website" in low:
        return f"the S3 website endpoint {name}"
    if ".execute-api." in low:
        return f"the API Gateway endpoint {name}"
    if low.endswith(".awsglobalaccelerator.com"):
        return f"the Global Accelerator {name}"
    if low.endswith(".elasticbeanstalk.com"):
        return f"the Elastic Beanstalk environment {name}"
    if re.search(r"\.elb\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$", low):
        return f"the load balancer {name}, which is not in this account and region"
    return f"{name}, a name outside this account's hosted zones"


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
    """Why a resolution branch ends in something that may front the service's load balancer but that shine-ops does
    not follow (CloudFront's origin, a Global Accelerator's endpoints, an API Gateway VPC link, NLB -> ALB), or None.
    Only where the service was found behind a load balancer: then the hop is unjudged (``warn``), not wrong."""
    ext = (branch.external or "").lower()
    if ext and (ext.endswith(".cloudfront.net") or "cloudfront" in ext):
        return f"a CloudFront distribution ({branch.external}) is in front of {branch.chain[0].name}"
    if ext.endswith(".awsglobalaccelerator.com"):
        return f"a Global Accelerator ({branch.external}) is in front of {branch.chain[0].name}; its endpoints are not read"
    if ".execute-api." in ext:
        return (f"an API Gateway endpoint ({branch.external}) is in front of {branch.chain[0].name}; its VPC link is "
                "not read")
    lb = ctx.snapshot.load_balancers.get(branch.lb_arn or "")
    if lb is not None and lb.type == "network":
        tgs = [tg for tg in ctx.snapshot.target_groups.values() if lb.arn in tg.lb_arns]
        if any(tg.target_type == "alb" for tg in tgs):
            return f"the network load balancer {lb.name} forwards to an application load balancer"
    return None
