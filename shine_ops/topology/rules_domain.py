"""The requests that stand for a domain's traffic on a listener (``domain_paths``), and the rules a plain request
cannot reach (``forwarding_rules_out_of_reach``): built on ``rules``' evaluator, re-exported from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from shine_ops.topology.model import Listener, Rule
from shine_ops.topology.rules import Request, rule_chain, rule_verdict, sample_path

if TYPE_CHECKING:
    from shine_ops.topology.snapshot import Snapshot


@dataclass
class JudgedPath:
    """A path pattern whose sample request is judged, and why it is judged."""

    pattern: str
    source: str  # "declared" | "plain" | "rule"
    why: str  # "declared in service_paths" | "the domain's plain request" | "priority 30 (...) forwards it"
    rule: Rule | None = None  # for source "rule": the rule that routes this pattern

    def request(self, host: str | None) -> Request:
        return Request.plain(host, sample_path(self.pattern))


def domain_paths(snapshot: "Snapshot", listener: Listener, host: str | None, service_paths: Sequence[str] | None,
                 target_groups: Iterable[str] | None = None) -> list[JudgedPath]:
    """The paths whose plain requests (host = the domain) stand for the domain's traffic on ``listener``.

    Declared ``service_paths`` are the answer when given. Otherwise: the plain request ``GET /``, plus the path
    patterns of the listener's rules that a plain request for this host can match (the host's own rules, not the
    neighbours'), limited to rules forwarding to ``target_groups`` when given."""
    if service_paths is not None:
        return [JudgedPath(p, "declared", "declared in service_paths") for p in dict.fromkeys(service_paths)]
    out = [JudgedPath("/", "plain", "the domain's plain request")]
    seen = {"/"}
    wanted = set(target_groups) if target_groups is not None else None
    for rule in snapshot.rules_of(listener.arn):
        if rule.is_default:
            continue
        if wanted is not None and not set(rule_chain(rule).terminal.forwarded_tgs) & wanted:
            continue
        for pattern in rule.values("path-pattern"):
            if pattern in seen:
                continue
            if rule_verdict(rule, Request.plain(host, sample_path(pattern))).result is False:
                continue  # a plain request for this host never reaches this rule (another host, a header...)
            seen.add(pattern)
            out.append(JudgedPath(pattern, "rule", f"{rule.label} routes it", rule))
    return out


def forwarding_rules_out_of_reach(snapshot: "Snapshot", listener: Listener, host: str | None,
                                  target_groups: Iterable[str]) -> list[tuple[Rule, str]]:
    """Rules forwarding to ``target_groups`` for ``host`` that a plain request cannot match only because it lacks
    a header, a query string, a source address or another method, with why: traffic the service gets from
    particular clients only (a canary behind ``X-Canary``). Rules for other hosts are not among them."""
    wanted = set(target_groups)
    out = []
    for rule in snapshot.rules_of(listener.arn):
        if rule.is_default or not set(rule_chain(rule).terminal.forwarded_tgs) & wanted:
            continue
        paths = rule.values("path-pattern") or ["/"]
        v = rule_verdict(rule, Request.plain(host, sample_path(paths[0])))
        if v.result is False and v.note:  # a note: what the plain request lacks is all that kept it out
            out.append((rule, v.note))
        elif v.result is False and _matches_with_another_method(rule, host, sample_path(paths[0])):
            out.append((rule, "http-request-method condition does not match a plain GET"))
    return out


def _matches_with_another_method(rule: Rule, host: str | None, path: str) -> bool:
    methods = rule.values("http-request-method")
    return any(rule_verdict(rule, Request(host=host, path=path, method=m)).result for m in methods)
