"""What people call a resource in a report: the name inside its ARN (or what the snapshot knows it by), never
the whole ARN."""

from __future__ import annotations

import re

from shine_ops.topology.snapshot import Snapshot

_ARN_SHORT = [
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:loadbalancer/(?:app|net|gwy)/([^/]+)/"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:targetgroup/([^/]+)/"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:listener/(?:app|net|gwy)/([^/]+)/[^/]+/([^/]+)$"),
     r"\1 listener \2"),
    (re.compile(r"^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:listener-rule/(?:app|net)/([^/]+)/[^/]+/[^/]+/"
                r"([^/]+)$"), r"\1 rule \2"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:task-definition/(.+)$"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:service/(.+)$"), r"\1"),
    (re.compile(r"^arn:aws[\w-]*:ecs:[^:]*:\d*:cluster/(.+)$"), r"cluster \1"),
    (re.compile(r"^arn:aws[\w-]*:acm:[^:]*:\d*:certificate/([0-9a-f]{8})[0-9a-f-]*$"), r"certificate \1"),
]


def short_name(ref: str, snap: Snapshot | None = None) -> str:
    """What people call a resource: the name inside its ARN (a listener as ``lb HTTPS:443`` when the snapshot
    knows it, a security group as its group name), never the whole ARN."""
    if snap is not None:
        if ref in snap.listeners:
            lst = snap.listeners[ref]
            lb = snap.load_balancers.get(lst.lb_arn)
            return f"{lb.name if lb else 'listener'} {lst.label}"
        if ref in snap.security_groups and snap.security_groups[ref].name:
            return snap.security_groups[ref].name
        for rules in snap.rules.values():
            for r in rules:
                if r.arn == ref:
                    lst = snap.listeners.get(r.listener_arn)
                    return f"{lst.label if lst else 'listener'} rule {'default' if r.is_default else r.priority}"
    for rx, repl in _ARN_SHORT:
        m = rx.match(ref)
        if m:
            return m.expand(repl)
    if ref.startswith("arn:"):
        return ref.split(":", 5)[-1].split("/")[-1] or ref
    return ref
