"""Snapshots for the load-balancer and listener checks: builders.build() plus an HTTP:80 listener, certificates,
load-balancer security-group rules, states, schemes and attributes."""

from __future__ import annotations

import datetime as dt

from shine_ops.topology.model import Certificate, Listener, SecurityGroup
from tests.evaluators.builders import ACCT, LB_ARN, LEGACY_ARN, LST, TG_SVC, build, forward

LST80 = f"arn:aws:elasticloadbalancing:us-east-1:{ACCT}:listener/app/prod/abc/l80"
CERT = f"arn:aws:acm:us-east-1:{ACCT}:certificate/11111111-aaaa"
CERT2 = f"arn:aws:acm:us-east-1:{ACCT}:certificate/22222222-bbbb"
WORLD_443_80 = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
REDIRECT = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
UNSET = object()


def cert(domain: str = "api.example.com", sans: tuple[str, ...] = (), *, status: str = "ISSUED",
         days: float | None = 365, arn: str = CERT, not_after=UNSET) -> Certificate:
    """A DescribeCertificate ``Certificate`` shape; ``days`` from now to NotAfter (None: no NotAfter)."""
    raw = {"CertificateArn": arn, "DomainName": domain, "SubjectAlternativeNames": [domain, *sans], "Status": status}
    if not_after is not UNSET:
        raw["NotAfter"] = not_after
    elif days is not None:
        raw["NotAfter"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    return Certificate.from_raw(raw)


def build_alb(*, alias_to: str = "prod", state: str = "active", scheme: str = "internet-facing",
              alb_ingress: list[dict] | None = None, https: bool = True, certs: list[Certificate] | None = None,
              listener_certs: list[str] | None = None, http80: list[dict] | None = REDIRECT,
              http80_rules: list[dict] | None = None, attributes: dict | None = None, lb_type: str = "application",
              legacy_state: str = "active", legacy_ingress: list[dict] | None = None):
    """``http80=None``: no HTTP:80 listener. ``https=False``: the 443 listener becomes HTTP. ``attributes=None``:
    the load balancer's attributes were collected and empty (as moto answers until one is modified)."""
    ctx = build(alias_to=alias_to)
    s = ctx.snapshot
    prod, legacy = s.load_balancers[LB_ARN], s.load_balancers[LEGACY_ARN]
    prod.state, prod.scheme, prod.type = state, scheme, lb_type
    prod.raw["State"] = {"Code": state}
    legacy.state = legacy_state
    prod.attributes = dict(attributes or {})
    legacy.attributes = {}
    certs = [cert()] if certs is None else certs
    for c in certs:
        s.certificates[c.arn] = c
    arns = [c.arn for c in certs[:1]] if listener_certs is None else listener_certs
    s.listeners[LST] = Listener.from_raw({
        "ListenerArn": LST, "LoadBalancerArn": LB_ARN, "Port": 443, "Protocol": "HTTPS" if https else "HTTP",
        "Certificates": [{"CertificateArn": a} for a in arns] if https else [], "DefaultActions": forward(TG_SVC)})
    if http80 is not None:
        s.listeners[LST80] = Listener.from_raw({"ListenerArn": LST80, "LoadBalancerArn": LB_ARN, "Port": 80,
                                                "Protocol": "HTTP", "DefaultActions": http80})
        from shine_ops.topology.model import Rule
        s.rules[LST80] = [Rule.from_raw(LST80, r) for r in (http80_rules or [])] + [
            Rule.from_raw(LST80, {"RuleArn": f"{LST80}/default", "Priority": "default", "IsDefault": True,
                                  "Conditions": [], "Actions": http80})]
    s.security_groups["sg-alb"] = SecurityGroup.from_raw({
        "GroupId": "sg-alb", "GroupName": "alb", "IpPermissions": WORLD_443_80 if alb_ingress is None else alb_ingress})
    s.security_groups["sg-legacy"] = SecurityGroup.from_raw({
        "GroupId": "sg-legacy", "GroupName": "legacy",
        "IpPermissions": WORLD_443_80[1:] if legacy_ingress is None else legacy_ingress})
    return ctx
